//! The end-to-end tests, one binary with a module per area (as gitoxide's
//! `tests/<crate>/main.rs` and zero2prod's `tests/api/main.rs`): the bot and
//! the doubles are linked once, not once per area. Run one area with
//! `cargo nextest run -p gitkeeper-e2e --test e2e <area>::`.
//!
//! Never put test helpers here: what two areas share lives in the
//! `gitkeeper_e2e` library (`tests/src`).

// Test code: a failed unwrap is a failing test with its message.
#![allow(clippy::unwrap_used)]

mod abuse;
mod agent;
mod api_conformance;
mod checkout;
mod dashboard;
mod deploy;
mod eval;
mod eval_suite;
mod faults;
mod foundation;
mod generate;
mod github_double;
mod hostile;
mod lease;
mod models;
mod pagination;
mod pipeline;
mod privacy;
mod publish;
mod real_build;
mod real_model;
mod replicas;
mod runner;
mod secrets;
mod settings;
mod trust;
