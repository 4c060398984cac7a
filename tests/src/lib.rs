//! Test doubles for Gitkeeper's end-to-end tests: a GitHub double (REST API,
//! App auth, smart-HTTP git), helpers to start the real bot against it, and
//! a check of the requests it sent against GitHub's REST API description.
//! Doubles must check what the real service checks; a double that accepts
//! anything is not a test.

// Test code: a failed unwrap is a failing test with its message.
#![allow(clippy::unwrap_used)]

pub mod bot;
pub mod github;
pub mod models;
pub mod net;
pub mod openapi;
pub mod runner;
pub mod world;
