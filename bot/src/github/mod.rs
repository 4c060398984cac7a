//! GitHub access as the App: JWT and installation-token auth, one HTTP client
//! (octocrab's) shared by every call, retries that never hammer a failing
//! GitHub nor duplicate a POST, and the REST calls the pipeline makes. The
//! private key and tokens never appear in logs or errors.

mod auth;
mod client;
mod collaborators;
mod git_data;
mod issues;
mod pages;
mod pulls;
pub mod retry;

pub use auth::{AppCredentials, TokenCache};
pub use client::{GithubApp, Installation};
pub use git_data::{FileMode, GitCommit, GitIdentity, Sha, TreeChange};
pub use issues::{Issue, IssueComment, Reaction};
pub(crate) use pulls::cap_head;
pub use pulls::{
    CheckConclusion, CheckOutput, NewPull, PullHead, PullRepo, PullRequest, ReviewComment,
};

use http::{Method, StatusCode};

/// A GitHub call that did not give the bot what it needed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GithubError {
    #[error("GitHub App is not configured: {0}")]
    NotConfigured(String),
    #[error(
        "cannot use the App private key: {what} ({source}). Download a new key from the App's settings page and point [github] private_key_path at it"
    )]
    Key {
        /// What was being done with the key.
        what: String,
        /// Why it failed (never key material).
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error(
        "cannot reach GitHub for {method} {path}: {message}. Check [github] api_url and the network"
    )]
    Transport {
        method: Method,
        path: String,
        message: String,
    },
    #[error("GitHub did not answer {method} {path} within {secs} s")]
    Timeout {
        method: Method,
        path: String,
        secs: u64,
    },
    #[error("GitHub answered {status} to {method} {path}: {message}")]
    Status {
        method: Method,
        path: String,
        status: StatusCode,
        message: String,
    },
    #[error(
        "GitHub rate limit on {method} {path}: it asks to wait {wait_secs} s, longer than [github] max_rate_limit_wait_secs"
    )]
    RateLimited {
        method: Method,
        path: String,
        wait_secs: u64,
    },
    #[error("unexpected answer from GitHub to {path}: {message}")]
    Decode { path: String, message: String },
    #[error(
        "the GitHub list {path} goes on past {pages} pages of {per_page}; Gitkeeper does not act on part of a list. Close or delete what has piled up there (old pull requests, comments), then retry"
    )]
    TooManyPages {
        path: String,
        pages: usize,
        per_page: usize,
    },
    #[error(
        "not sending {method} {path}: this worker lost the job's lease (the job store did not answer its heartbeats), so another worker may run the job; check the database connection"
    )]
    LeaseLost { method: Method, path: String },
}

impl GithubError {
    /// True when trying the whole job again later may succeed.
    pub fn is_transient(&self) -> bool {
        match self {
            GithubError::Transport { .. }
            | GithubError::Timeout { .. }
            | GithubError::RateLimited { .. } => true,
            GithubError::Status { status, .. } => status.is_server_error(),
            _ => false,
        }
    }

    /// How long GitHub asked to be left alone, when it rate-limited the call.
    pub fn retry_after(&self) -> Option<std::time::Duration> {
        match self {
            GithubError::RateLimited { wait_secs, .. } => {
                Some(std::time::Duration::from_secs(*wait_secs))
            }
            _ => None,
        }
    }

    pub fn status(&self) -> Option<StatusCode> {
        match self {
            GithubError::Status { status, .. } => Some(*status),
            _ => None,
        }
    }
}
