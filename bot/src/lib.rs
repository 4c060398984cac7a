//! The Gitkeeper GitHub App. Each folder is one stage of the job path in
//! DESIGN.md; `pipeline.rs` strings them together.
