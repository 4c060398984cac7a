//! The Gitkeeper GitHub App. Each folder is one stage of the job path in
//! DESIGN.md; `pipeline.rs` strings them together.

pub mod checkout;
pub mod config;
pub mod generate;
pub mod github;
pub mod ids;
pub mod ingress;
pub mod intent;
pub mod markers;
pub mod metrics;
pub mod models;
pub mod pipeline;
pub mod prompts;
pub mod publish;
pub mod queue;
pub mod route;
pub mod runner_api;
pub mod serve;
pub mod solve;
pub mod task;
pub mod telemetry;
pub mod tls;
pub mod trail;
pub mod validate;
pub mod worker;
