//! The durable job store: webhook deliveries (for dedupe), installations and
//! jobs with leases. One trait, two implementations (SQLite by default,
//! PostgreSQL for several replicas). A job is never run by two workers at once,
//! and jobs for the same issue or PR run one at a time, in arrival order.

/// The job columns in `JobRow` order, for `concat!` into static SQL.
macro_rules! job_columns {
    () => {
        "id, target_key, kind, delivery_id, payload, state, attempts, lease_owner, lease_expires_at, last_error, created_at, updated_at"
    };
}

/// Flag the running jobs of a target (`$1` now, `$2` key, `$3` the asking job).
const FLAG_CANCEL: &str = "UPDATE jobs SET cancel_requested = TRUE, updated_at = $1 WHERE target_key = $2 AND id <> $3 AND state = 'running'";
/// Cancel the jobs of a target that are not running yet (`$4` the reason).
const CANCEL_PENDING: &str = "UPDATE jobs SET state = 'cancelled', last_error = $4, lease_owner = NULL, lease_expires_at = NULL, updated_at = $1 WHERE target_key = $2 AND id <> $3 AND state IN ('queued', 'waiting')";
const CANCEL_REQUESTED: &str = "SELECT cancel_requested FROM jobs WHERE id = $1";

/// Free functions behind [`JobStore::request_cancel`] and
/// [`JobStore::cancel_requested`] for a backend's pool type: the same SQL for both.
macro_rules! cancel_functions {
    ($pool:ty) => {
        async fn request_cancel_in(
            pool: &$pool,
            target_key: &str,
            except: JobId,
            reason: &str,
            now: i64,
        ) -> Result<(u64, u64), StoreError> {
            let mut tx = pool.begin().await?;
            let flagged = sqlx::query(super::FLAG_CANCEL)
                .bind(now)
                .bind(target_key)
                .bind(except.0)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            let cancelled = sqlx::query(super::CANCEL_PENDING)
                .bind(now)
                .bind(target_key)
                .bind(except.0)
                .bind(reason)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            tx.commit().await?;
            Ok((flagged, cancelled))
        }

        async fn cancel_requested_in(pool: &$pool, id: JobId) -> Result<bool, StoreError> {
            let flag: Option<(bool,)> = sqlx::query_as(super::CANCEL_REQUESTED)
                .bind(id.0)
                .fetch_optional(pool)
                .await?;
            Ok(flag.is_some_and(|(f,)| f))
        }
    };
}
pub(crate) use cancel_functions;

mod postgres;
mod records;
pub mod runners;
mod sqlite;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::ids::{DeliveryId, InstallationId, JobId};
use crate::intent::{InstallationChange, Intent};

pub use postgres::PostgresStore;
pub use records::TrailStore;
pub use runners::{GenerationRecord, GenerationState, RunnerStore};
pub use sqlite::SqliteStore;

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
}

/// One webhook delivery as received.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub id: DeliveryId,
    pub event: String,
    pub outcome: String,
}

/// What storing a delivery did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Accepted {
    /// Seen before: nothing was stored.
    Duplicate,
    /// Stored; a job was queued when the delivery asked for work.
    Stored(Option<JobId>),
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

/// An installation as recorded.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct InstallationRow {
    pub id: InstallationId,
    pub account: String,
    pub suspended: bool,
}

/// Something went wrong talking to the job store.
#[derive(Debug, thiserror::Error)]
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
    /// Record a delivery and, in the same transaction, queue its job.
    async fn accept(
        &self,
        delivery: &Delivery,
        intent: Option<&Intent>,
        now: i64,
    ) -> Result<Accepted, StoreError>;
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
}

/// Open the store `url` names (`sqlite:` or `postgres:`), creating what is missing.
pub async fn open(
    url: &str,
    max_connections: Option<u32>,
) -> Result<Arc<dyn JobStore>, StoreError> {
    let store: Arc<dyn JobStore> = if url.starts_with("postgres:") || url.starts_with("postgresql:")
    {
        Arc::new(PostgresStore::connect(url, max_connections.unwrap_or(10)).await?)
    } else {
        Arc::new(SqliteStore::connect(url).await?)
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

/// A row as both backends return it.
#[derive(sqlx::FromRow)]
struct JobRow {
    id: i64,
    target_key: String,
    kind: String,
    delivery_id: Option<String>,
    payload: String,
    state: String,
    attempts: i64,
    lease_owner: Option<String>,
    lease_expires_at: Option<i64>,
    last_error: Option<String>,
    created_at: i64,
    updated_at: i64,
}

impl TryFrom<JobRow> for Job {
    type Error = StoreError;
    fn try_from(row: JobRow) -> Result<Job, StoreError> {
        let intent = serde_json::from_str(&row.payload)
            .map_err(|e| StoreError::Corrupt(format!("job {} payload: {e}", row.id)))?;
        Ok(Job {
            id: JobId(row.id),
            target_key: row.target_key,
            kind: row.kind,
            delivery_id: row.delivery_id.map(DeliveryId),
            intent,
            state: row.state.parse()?,
            attempts: u32::try_from(row.attempts).unwrap_or(u32::MAX),
            lease_owner: row.lease_owner,
            lease_expires_at: row.lease_expires_at,
            last_error: row.last_error,
            created_at: row.created_at,
            updated_at: row.updated_at,
        })
    }
}

/// The columns `finish` writes for each outcome: state, error, run_after delay.
fn finish_columns(finish: &Finish) -> (JobState, Option<&str>, i64) {
    match finish {
        Finish::Succeeded => (JobState::Succeeded, None, 0),
        Finish::Failed(e) => (JobState::Failed, Some(e), 0),
        Finish::Cancelled(e) => (JobState::Cancelled, Some(e), 0),
        Finish::Waiting(e) => (JobState::Waiting, Some(e), 0),
        Finish::Retry { after, error } => (JobState::Queued, Some(error), duration_ms(*after)),
    }
}

fn intent_json(intent: &Intent) -> Result<String, StoreError> {
    serde_json::to_string(intent)
        .map_err(|e| StoreError::Corrupt(format!("cannot encode intent: {e}")))
}

#[cfg(test)]
pub(crate) mod runner_tests;
#[cfg(test)]
pub(crate) mod tests;
