//! The durable job store: webhook deliveries (for dedupe), installations and
//! jobs with leases, runners and their generation requests, and the attempt
//! trail, each kept as long as [`retention`] says. One trait, one SQL implementation ([`SqlStore`]) over a small
//! [`Dialect`]: SQLite by default, PostgreSQL for several replicas. A job is
//! never run by two workers at once, and jobs for the same issue or PR run one
//! at a time, in arrival order.
//!
//! Must never: import a stage of the job path (ingress, routing, the
//! pipeline, generation, publishing). The queue is a leaf: it stores the
//! values the other stages give it ([`Intent`], [`crate::trail`]) and nothing
//! here knows what runs a job.

mod dialect;
mod group_commit;
mod records;
pub mod retention;
mod runners;
mod sql;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::ids::{DeliveryId, InstallationId, JobId};
use crate::intent::{InstallationChange, Intent};

pub use dialect::{Affected, Dialect};
pub use group_commit::{CommitError, Committer};
pub use records::TrailStore;
pub use retention::{Cutoffs, Pruned, Retention};
pub use runners::{GenerationRecord, GenerationState, RunnerStore};
pub use sql::{PostgresStore, SqlStore, SqliteStore};

/// Where a job is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobState {
    Queued,
    Running,
    /// Parked until a maintainer answers (clarification, approval).
    Waiting,
    Succeeded,
    Failed,
    Cancelled,
}

impl JobState {
    pub const ALL: [JobState; 6] = [
        JobState::Queued,
        JobState::Running,
        JobState::Waiting,
        JobState::Succeeded,
        JobState::Failed,
        JobState::Cancelled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Queued => "queued",
            JobState::Running => "running",
            JobState::Waiting => "waiting",
            JobState::Succeeded => "succeeded",
            JobState::Failed => "failed",
            JobState::Cancelled => "cancelled",
        }
    }

    /// True once nothing more will happen to the job.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            JobState::Succeeded | JobState::Failed | JobState::Cancelled
        )
    }
}

impl std::str::FromStr for JobState {
    type Err = StoreError;
    fn from_str(s: &str) -> Result<Self, StoreError> {
        JobState::ALL
            .into_iter()
            .find(|state| state.as_str() == s)
            .ok_or_else(|| StoreError::Corrupt(format!("unknown job state {s:?}; expected one of queued, running, waiting, succeeded, failed, cancelled")))
    }
}

impl std::fmt::Display for JobState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A job as stored.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Job {
    pub id: JobId,
    pub target_key: String,
    pub kind: String,
    pub delivery_id: Option<DeliveryId>,
    pub intent: Intent,
    pub state: JobState,
    /// How many times a worker has started it.
    pub attempts: u32,
    pub lease_owner: Option<String>,
    pub lease_expires_at: Option<i64>,
    pub last_error: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
    /// Later deliveries of the same request this job absorbed (see [`Submission`]).
    #[serde(default)]
    pub coalesced: u32,
}

/// One webhook delivery as received.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub id: DeliveryId,
    pub event: String,
    pub outcome: String,
}

/// A delivery to store, with the job it asks for.
#[derive(Debug, Clone)]
pub struct Submission {
    pub delivery: Delivery,
    pub intent: Option<Intent>,
    /// Names the request: a queued or running job on the same target with
    /// the same key absorbs this delivery instead of a second job being
    /// queued behind it. `None`: never coalesced.
    pub coalesce_key: Option<String>,
}

/// What storing a delivery did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Accepted {
    /// Seen before: nothing was stored.
    Duplicate,
    /// Stored; a job was queued when the delivery asked for work.
    Stored(Option<JobId>),
    /// Stored; the job it asked for was already queued or running (this one).
    Coalesced(JobId),
}

/// What `finish` records for a job a maintainer stopped.
pub const CANCELLED_BY_REQUEST: &str = "cancelled by /gitkeeper cancel";

/// How a worker ends its run of a job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Finish {
    Succeeded,
    Failed(String),
    Cancelled(String),
    /// Park until a maintainer acts.
    Waiting(String),
    /// Put back in the queue to run again no sooner than `after`.
    Retry {
        after: Duration,
        error: String,
    },
}

/// The queue and spend as every replica sees them, for `/metrics`.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct OpsSnapshot {
    /// Queued jobs whose `run_after` has come (a retry's delay has passed).
    pub runnable: i64,
    /// When the longest-waiting runnable job became runnable (ms), if any.
    pub oldest_runnable_since: Option<i64>,
    /// The most one repository spent on models since the day start (USD).
    pub top_repo_spend_usd: f64,
}

/// An installation as recorded.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct InstallationRow {
    pub id: InstallationId,
    pub account: String,
    pub suspended: bool,
}

/// Something went wrong talking to the job store.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    #[error(
        "cannot open the job store at {url}: {source}. Check [database] url in gitkeeper.toml (or GITKEEPER_DATABASE__URL) and that the database server is running"
    )]
    Connect { url: String, source: sqlx::Error },
    #[error(
        "cannot create the data directory {path}: {source}. Check [data] dir and its permissions"
    )]
    DataDir {
        path: String,
        source: std::io::Error,
    },
    #[error(
        "migrating the job store failed: {0}. If the database was created by a newer Gitkeeper, upgrade this one"
    )]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("job store query failed: {0}")]
    Query(#[from] sqlx::Error),
    #[error("job store holds data this version cannot read: {0}")]
    Corrupt(String),
    #[error("job store holds data this version cannot read: {what}: {source}")]
    Decode {
        /// What was being read, e.g. `job 7 payload`.
        what: String,
        source: serde_json::Error,
    },
    #[error(
        "the database file {path} was deleted or replaced while the bot ran, so what it writes now would be lost: restore the file, or restart the bot to start a new one"
    )]
    Gone { path: String },
    #[error("job store cannot encode {what}: {source}")]
    Encode {
        /// What was being written, e.g. `intent`.
        what: String,
        source: serde_json::Error,
    },
}

impl StoreError {
    /// True when the same call may succeed later (the database was
    /// unreachable or a query failed); false for what a retry cannot change
    /// (data this version cannot read, a failed migration, a bad data dir).
    pub fn is_transient(&self) -> bool {
        matches!(self, StoreError::Connect { .. } | StoreError::Query(_))
    }
}

impl From<crate::trail::UnknownName> for StoreError {
    fn from(unknown: crate::trail::UnknownName) -> Self {
        StoreError::Corrupt(unknown.to_string())
    }
}

/// The queue and the records around it (runners and their generation
/// requests included, see [`RunnerStore`]).
#[async_trait]
pub trait JobStore: TrailStore + RunnerStore + Send + Sync {
    /// Which backend this is, for logs and readiness.
    fn backend(&self) -> &'static str;
    /// Create or upgrade the tables.
    async fn migrate(&self) -> Result<(), StoreError>;
    /// Cheap query proving the database answers.
    async fn ping(&self) -> Result<(), StoreError>;
    /// How many commits may usefully run at once: 1 where the database
    /// serializes writers, else half the pool (the rest serves workers).
    fn writers(&self) -> usize;
    /// Proof the store takes a write now: the database file is the one
    /// opened, and a one-row write commits.
    async fn check_writable(&self, now: i64) -> Result<(), StoreError>;
    /// Record a delivery and, in the same transaction, queue its job.
    async fn accept(
        &self,
        delivery: &Delivery,
        intent: Option<&Intent>,
        now: i64,
    ) -> Result<Accepted, StoreError>;
    /// Record every submission in one transaction (one commit, one fsync),
    /// answering for each in order; all or none are stored. A delivery id
    /// seen earlier, in the store or in the batch, is a duplicate.
    async fn accept_batch(
        &self,
        batch: &[Submission],
        now: i64,
    ) -> Result<Vec<Accepted>, StoreError>;
    /// Record an installation change.
    async fn record_installation(
        &self,
        change: &InstallationChange,
        now: i64,
    ) -> Result<(), StoreError>;
    async fn installations(&self) -> Result<Vec<InstallationRow>, StoreError>;
    /// Lease the oldest runnable job whose target has no earlier unfinished job.
    async fn claim(
        &self,
        worker: &str,
        lease: Duration,
        now: i64,
    ) -> Result<Option<Job>, StoreError>;
    /// Extend the lease; false when the lease is no longer ours.
    async fn heartbeat(
        &self,
        id: JobId,
        worker: &str,
        lease: Duration,
        now: i64,
    ) -> Result<bool, StoreError>;
    /// End our run of a job; false when the lease was no longer ours.
    async fn finish(
        &self,
        id: JobId,
        worker: &str,
        finish: &Finish,
        now: i64,
    ) -> Result<bool, StoreError>;
    /// Give the lease back without counting the run (shutdown).
    async fn release(&self, id: JobId, worker: &str, now: i64) -> Result<bool, StoreError>;
    /// Stop the jobs on `target_key` other than `except`: queued and waiting
    /// ones are cancelled at once, running ones are flagged for their worker
    /// (see [`JobStore::cancel_requested`]). Returns (flagged, cancelled).
    async fn request_cancel(
        &self,
        target_key: &str,
        except: JobId,
        reason: &str,
        now: i64,
    ) -> Result<(u64, u64), StoreError>;
    /// True when a maintainer asked job `id` to stop.
    async fn cancel_requested(&self, id: JobId) -> Result<bool, StoreError>;
    async fn job(&self, id: JobId) -> Result<Option<Job>, StoreError>;
    /// Newest first.
    async fn jobs(&self, state: Option<JobState>, limit: u32) -> Result<Vec<Job>, StoreError>;
    async fn count_by_state(&self) -> Result<Vec<(JobState, i64)>, StoreError>;
    /// What the metrics show of the shared queue and spend (see [`OpsSnapshot`]).
    async fn ops_snapshot(&self, now: i64, day_start: i64) -> Result<OpsSnapshot, StoreError>;
    /// Delete the deliveries, finished jobs and finished generation requests
    /// older than `cutoffs` (see [`retention`]); with `dry_run`, only count
    /// them. Attempts and task records are never deleted.
    async fn prune(&self, cutoffs: &Cutoffs, dry_run: bool) -> Result<Pruned, StoreError>;
}

/// Open the store `url` names (`sqlite:` or `postgres:`), creating what is missing.
pub async fn open(
    url: &str,
    max_connections: Option<u32>,
) -> Result<Arc<dyn JobStore>, StoreError> {
    let store: Arc<dyn JobStore> = if url.starts_with("postgres:") || url.starts_with("postgresql:")
    {
        Arc::new(PostgresStore::connect(url, max_connections).await?)
    } else {
        Arc::new(SqliteStore::connect(url, max_connections).await?)
    };
    store.migrate().await?;
    Ok(store)
}

/// Milliseconds since the Unix epoch; all store timestamps use it.
pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

fn duration_ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod ops_tests;
#[cfg(test)]
mod retention_tests;
#[cfg(test)]
pub(crate) mod runner_tests;
#[cfg(test)]
pub(crate) mod tests;
