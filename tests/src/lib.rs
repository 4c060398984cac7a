//! Test doubles for Gitkeeper's end-to-end tests: a GitHub double (REST API,
//! App auth, smart-HTTP git) and helpers to start the real bot against it.
//! Doubles must check what the real service checks; a double that accepts
//! anything is not a test.

pub mod bot;
pub mod github;
pub mod models;
pub mod runner;
pub mod world;
