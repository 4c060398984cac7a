//! End-to-end: what the bot does when something it depends on misbehaves —
//! a model server that hangs, cuts its answer off or answers nonsense;
//! GitHub answering 5xx, rate limits, 401 for an expired token, or too
//! slowly; the bot killed at each stage of a job; the database gone for a
//! while; the data dir's disk full. Each fault is one test, and each test
//! reads back what GitHub, the job store and the disk hold afterwards.

mod disk;
mod github;
mod kill;
mod models;
mod store;
