//! `gitkeeper-runner`: serves Gitkeeper's local-tier generation requests from
//! Ollama or LM Studio on the team's own machine. It connects out to the bot
//! (no inbound port, no SSH tunnel) and calls the local servers with the same
//! `gitkeeper-backends` clients the bot uses. It never exits on a network
//! error and never logs the runner token.

pub mod client;
pub mod config;
pub mod doctor;
pub mod hardware;
pub mod local;
pub mod serve;
