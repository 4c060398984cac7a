//! The job store over sqlx, written once for every [`Dialect`]: the same `$N`
//! SQL on SQLite and PostgreSQL, with the dialect supplying the few fragments
//! that differ. This file holds the store and its jobs; the runner and trail
//! halves are beside their traits (`runners.rs`, `records.rs`).
//!
//! Must never: branch on which database it runs on (ask the [`Dialect`]), or
//! let a claim hand one job to two workers.

use std::time::Duration;

use async_trait::async_trait;
use sqlx::{
    AssertSqlSafe, ColumnIndex, Decode, Encode, Executor, Pool, Postgres, Sqlite, Transaction, Type,
};

use super::*;

/// The job store on SQLite: one file under the data dir.
pub type SqliteStore = SqlStore<Sqlite>;
/// The job store on PostgreSQL, for replicas sharing one queue.
pub type PostgresStore = SqlStore<Postgres>;

/// The job store on database `D`.
pub struct SqlStore<D: Dialect> {
    pub(super) pool: Pool<D>,
    /// The database file as opened, when there is one (SQLite).
    file: Option<OpenedFile>,
}

/// A database file and its identity (device, inode) when it was opened:
/// deleted or replaced under a running process, SQLite would go on writing
/// to the old, unlinked file, and every write after that would be lost.
struct OpenedFile {
    path: std::path::PathBuf,
    identity: (u64, u64),
}

async fn file_identity(path: &std::path::Path) -> Option<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    let meta = tokio::fs::metadata(path).await.ok()?;
    Some((meta.dev(), meta.ino()))
}

/// A Rust value the store both binds and reads on `D` (`i64`, `f64`,
/// `bool`, `String`), so a store impl's bounds take one line a type.
///
/// Rust does not carry a trait's where-clauses over to the places that use
/// the trait (rust-lang/rust#20671), so no helper trait can stand for the
/// whole list: the three impls of [`SqlStore`] (`JobStore` here,
/// `RunnerStore` in `runners.rs`, `TrailStore` in `records.rs`) repeat the
/// same list, and must, since `JobStore` needs the other two.
pub trait Value<D: sqlx::Database>:
    Type<D> + for<'q> Encode<'q, D> + for<'r> Decode<'r, D>
{
}

impl<D: sqlx::Database, T> Value<D> for T where
    T: Type<D> + for<'q> Encode<'q, D> + for<'r> Decode<'r, D>
{
}

impl<D: Dialect> SqlStore<D> {
    /// Open the database `url` names (SQLite creates the file and its
    /// directory; PostgreSQL uses at most `max_connections`, 10 by default).
    pub async fn connect(url: &str, max_connections: Option<u32>) -> Result<Self, StoreError> {
        let pool = D::connect(url, max_connections).await?;
        let file = match D::database_file(url) {
            Some(path) => file_identity(&path)
                .await
                .map(|identity| OpenedFile { path, identity }),
            None => None,
        };
        Ok(Self { pool, file })
    }

    /// Fails when the database file is no longer the one opened.
    pub(super) async fn intact(&self) -> Result<(), StoreError> {
        match &self.file {
            Some(file) if file_identity(&file.path).await != Some(file.identity) => {
                Err(StoreError::Gone {
                    path: file.path.display().to_string(),
                })
            }
            _ => Ok(()),
        }
    }

    /// A transaction that will write, begun the way `D` wants it.
    pub(super) async fn begin_write(&self) -> Result<Transaction<'static, D>, StoreError> {
        Ok(match D::BEGIN_WRITE {
            Some(begin) => self.pool.begin_with(begin).await?,
            None => self.pool.begin().await?,
        })
    }
}

/// The job columns in `JobRow` order.
const JOB_COLUMNS: &str = "id, target_key, kind, delivery_id, payload, state, attempts, lease_owner, lease_expires_at, last_error, created_at, updated_at, coalesced";
/// Flag the running jobs of a target (`$1` now, `$2` key, `$3` the asking job).
const FLAG_CANCEL: &str = "UPDATE jobs SET cancel_requested = TRUE, updated_at = $1 WHERE target_key = $2 AND id <> $3 AND state = 'running'";
/// Cancel the jobs of a target that are not running yet (`$4` the reason).
const CANCEL_PENDING: &str = "UPDATE jobs SET state = 'cancelled', last_error = $4, lease_owner = NULL, lease_expires_at = NULL, updated_at = $1 WHERE target_key = $2 AND id <> $3 AND state IN ('queued', 'waiting')";

impl<D: Dialect> SqlStore<D>
where
    for<'c> &'c mut D::Connection: Executor<'c, Database = D>,
    for<'r> &'r str: ColumnIndex<D::Row>,
    usize: ColumnIndex<D::Row>,
    i64: Value<D>,
    String: Value<D>,
    for<'q> &'q str: Encode<'q, D> + Type<D>,
    for<'q> Option<&'q str>: Encode<'q, D>,
{
    /// Stores a batch of deliveries in one transaction, one answer each.
    async fn accept_in_one_transaction(
        &self,
        batch: &[Submission],
        now: i64,
    ) -> Result<Vec<Accepted>, StoreError> {
        let payloads = batch
            .iter()
            .map(|s| s.intent.as_ref().map(intent_json).transpose())
            .collect::<Result<Vec<_>, _>>()?;
        let mut tx = self.begin_write().await?;
        let mut answers = Vec::with_capacity(batch.len());
        for (submission, payload) in batch.iter().zip(payloads) {
            let delivery = &submission.delivery;
            let inserted = sqlx::query(
                "INSERT INTO deliveries (delivery_id, event, outcome, received_at) VALUES ($1, $2, $3, $4) ON CONFLICT (delivery_id) DO NOTHING",
            )
            .bind(&delivery.id.0)
            .bind(&delivery.event)
            .bind(&delivery.outcome)
            .bind(now)
            .execute(&mut *tx)
            .await?;
            if inserted.rows_affected() == 0 {
                answers.push(Accepted::Duplicate);
                continue;
            }
            let (Some(intent), Some(payload)) = (&submission.intent, payload) else {
                answers.push(Accepted::Stored(None));
                continue;
            };
            let target = intent.target_key();
            let joined: Option<(i64,)> = match &submission.coalesce_key {
                Some(key) => sqlx::query_as(
                    "SELECT id FROM jobs WHERE target_key = $1 AND coalesce_key = $2 AND state IN ('queued', 'running') ORDER BY id LIMIT 1",
                )
                .bind(&target)
                .bind(key.as_str())
                .fetch_optional(&mut *tx)
                .await?,
                None => None,
            };
            let (id, answer) = match joined {
                Some((id,)) => {
                    sqlx::query(
                        "UPDATE jobs SET coalesced = coalesced + 1, updated_at = $1 WHERE id = $2",
                    )
                    .bind(now)
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                    (id, Accepted::Coalesced(JobId(id)))
                }
                None => {
                    let (id,): (i64,) = sqlx::query_as(
                        "INSERT INTO jobs (target_key, kind, delivery_id, payload, state, run_after, created_at, updated_at, coalesce_key) VALUES ($1, $2, $3, $4, 'queued', $5, $5, $5, $6) RETURNING id",
                    )
                    .bind(&target)
                    .bind(intent.kind())
                    .bind(&delivery.id.0)
                    .bind(payload)
                    .bind(now)
                    .bind(submission.coalesce_key.as_deref())
                    .fetch_one(&mut *tx)
                    .await?;
                    (id, Accepted::Stored(Some(JobId(id))))
                }
            };
            let outcome = match answer {
                Accepted::Coalesced(_) => "coalesced",
                _ => delivery.outcome.as_str(),
            };
            sqlx::query("UPDATE deliveries SET job_id = $1, outcome = $2 WHERE delivery_id = $3")
                .bind(id)
                .bind(outcome)
                .bind(&delivery.id.0)
                .execute(&mut *tx)
                .await?;
            answers.push(answer);
        }
        tx.commit().await?;
        Ok(answers)
    }
}

#[async_trait]
impl<D: Dialect> JobStore for SqlStore<D>
where
    for<'c> &'c mut D::Connection: Executor<'c, Database = D>,
    for<'r> &'r str: ColumnIndex<D::Row>,
    usize: ColumnIndex<D::Row>,
    i64: Value<D>,
    f64: Value<D>,
    bool: Value<D>,
    String: Value<D>,
    for<'q> &'q str: Encode<'q, D> + Type<D>,
    for<'q> Option<&'q str>: Encode<'q, D>,
{
    fn backend(&self) -> &'static str {
        D::BACKEND
    }

    async fn migrate(&self) -> Result<(), StoreError> {
        D::migrator().run(&self.pool).await?;
        Ok(())
    }

    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    fn writers(&self) -> usize {
        if D::ONE_WRITER {
            1
        } else {
            (self.pool.options().get_max_connections() as usize / 2).max(1)
        }
    }

    async fn check_writable(&self, now: i64) -> Result<(), StoreError> {
        self.intact().await?;
        let mut tx = self.begin_write().await?;
        sqlx::query("INSERT INTO store_probe (id, written_at) VALUES (1, $1) ON CONFLICT (id) DO UPDATE SET written_at = excluded.written_at")
            .bind(now)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        self.intact().await
    }

    async fn accept(
        &self,
        delivery: &Delivery,
        intent: Option<&Intent>,
        now: i64,
    ) -> Result<Accepted, StoreError> {
        let one = Submission {
            delivery: delivery.clone(),
            intent: intent.cloned(),
            coalesce_key: None,
        };
        let mut answers = self.accept_batch(std::slice::from_ref(&one), now).await?;
        answers
            .pop()
            .ok_or_else(|| StoreError::Corrupt("a batch of one was answered with nothing".into()))
    }

    async fn accept_batch(
        &self,
        batch: &[Submission],
        now: i64,
    ) -> Result<Vec<Accepted>, StoreError> {
        match self.accept_in_one_transaction(batch, now).await {
            // Committed to a file that is no longer there is not stored.
            Ok(answers) => self.intact().await.map(|()| answers),
            // A write that failed because the file went away says so, not
            // "unable to open database file" (which one it is depends on
            // whether SQLite still had the file open).
            Err(err) => Err(self.intact().await.err().unwrap_or(err)),
        }
    }

    async fn record_installation(
        &self,
        change: &InstallationChange,
        now: i64,
    ) -> Result<(), StoreError> {
        if change.removed {
            sqlx::query("DELETE FROM installations WHERE id = $1")
                .bind(change.id.0 as i64)
                .execute(&self.pool)
                .await?;
        } else {
            sqlx::query(
                "INSERT INTO installations (id, account, suspended, updated_at) VALUES ($1, $2, $3, $4) ON CONFLICT (id) DO UPDATE SET account = excluded.account, suspended = excluded.suspended, updated_at = excluded.updated_at",
            )
            .bind(change.id.0 as i64)
            .bind(&change.account)
            .bind(change.suspended)
            .bind(now)
            .execute(&self.pool)
            .await?;
        }
        Ok(())
    }

    async fn installations(&self) -> Result<Vec<InstallationRow>, StoreError> {
        let rows: Vec<(i64, String, bool)> =
            sqlx::query_as("SELECT id, account, suspended FROM installations ORDER BY id")
                .fetch_all(&self.pool)
                .await?;
        Ok(rows
            .into_iter()
            .map(|(id, account, suspended)| InstallationRow {
                id: InstallationId(id as u64),
                account,
                suspended,
            })
            .collect())
    }

    async fn claim(
        &self,
        worker: &str,
        lease: Duration,
        now: i64,
    ) -> Result<Option<Job>, StoreError> {
        // The pieces are constants of this file and of `D`, not input.
        let sql = format!(
            "UPDATE jobs SET state = 'running', lease_owner = $1, lease_expires_at = $2, attempts = attempts + 1, updated_at = $3
             WHERE id = (
                SELECT j.id FROM jobs j
                WHERE j.run_after <= $3
                  AND (j.state = 'queued' OR (j.state = 'running' AND j.lease_expires_at < $3))
                  AND NOT EXISTS (
                    SELECT 1 FROM jobs k
                    WHERE k.target_key = j.target_key AND k.id < j.id AND k.state IN ('queued', 'running'))
                ORDER BY j.id LIMIT 1{skip_locked})
             RETURNING {JOB_COLUMNS}",
            skip_locked = D::SKIP_LOCKED,
        );
        let row: Option<JobRow> = sqlx::query_as(AssertSqlSafe(sql))
            .bind(worker)
            .bind(now + duration_ms(lease))
            .bind(now)
            .fetch_optional(&self.pool)
            .await?;
        row.map(Job::try_from).transpose()
    }

    async fn heartbeat(
        &self,
        id: JobId,
        worker: &str,
        lease: Duration,
        now: i64,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE jobs SET lease_expires_at = $1, updated_at = $2 WHERE id = $3 AND lease_owner = $4 AND state = 'running'",
        )
        .bind(now + duration_ms(lease))
        .bind(now)
        .bind(id.0)
        .bind(worker)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn finish(
        &self,
        id: JobId,
        worker: &str,
        finish: &Finish,
        now: i64,
    ) -> Result<bool, StoreError> {
        let (state, error, delay) = finish_columns(finish);
        let done = sqlx::query(
            "UPDATE jobs SET state = $1, last_error = $2, run_after = $3, lease_owner = NULL, lease_expires_at = NULL, updated_at = $4
             WHERE id = $5 AND lease_owner = $6 AND state = 'running'",
        )
        .bind(state.as_str())
        .bind(error)
        .bind(now + delay)
        .bind(now)
        .bind(id.0)
        .bind(worker)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn release(&self, id: JobId, worker: &str, now: i64) -> Result<bool, StoreError> {
        let sql = format!(
            "UPDATE jobs SET state = 'queued', attempts = {greatest}(attempts - 1, 0), lease_owner = NULL, lease_expires_at = NULL, updated_at = $1
             WHERE id = $2 AND lease_owner = $3 AND state = 'running'",
            greatest = D::GREATEST,
        );
        let done = sqlx::query(AssertSqlSafe(sql))
            .bind(now)
            .bind(id.0)
            .bind(worker)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn request_cancel(
        &self,
        target_key: &str,
        except: JobId,
        reason: &str,
        now: i64,
    ) -> Result<(u64, u64), StoreError> {
        let mut tx = self.pool.begin().await?;
        let flagged = sqlx::query(FLAG_CANCEL)
            .bind(now)
            .bind(target_key)
            .bind(except.0)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        let cancelled = sqlx::query(CANCEL_PENDING)
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

    async fn cancel_requested(&self, id: JobId) -> Result<bool, StoreError> {
        let flag: Option<(bool,)> =
            sqlx::query_as("SELECT cancel_requested FROM jobs WHERE id = $1")
                .bind(id.0)
                .fetch_optional(&self.pool)
                .await?;
        Ok(flag.is_some_and(|(f,)| f))
    }

    async fn job(&self, id: JobId) -> Result<Option<Job>, StoreError> {
        let sql = format!("SELECT {JOB_COLUMNS} FROM jobs WHERE id = $1");
        let row: Option<JobRow> = sqlx::query_as(AssertSqlSafe(sql))
            .bind(id.0)
            .fetch_optional(&self.pool)
            .await?;
        row.map(Job::try_from).transpose()
    }

    async fn jobs(&self, state: Option<JobState>, limit: u32) -> Result<Vec<Job>, StoreError> {
        // `CAST` types the parameter for PostgreSQL, which cannot infer it from `IS NULL`.
        let sql = format!(
            "SELECT {JOB_COLUMNS} FROM jobs WHERE (CAST($1 AS TEXT) IS NULL OR state = CAST($1 AS TEXT)) ORDER BY id DESC LIMIT $2"
        );
        let rows: Vec<JobRow> = sqlx::query_as(AssertSqlSafe(sql))
            .bind(state.map(JobState::as_str))
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await?;
        rows.into_iter().map(Job::try_from).collect()
    }

    async fn count_by_state(&self) -> Result<Vec<(JobState, i64)>, StoreError> {
        let rows: Vec<(String, i64)> =
            sqlx::query_as("SELECT state, COUNT(*) FROM jobs GROUP BY state")
                .fetch_all(&self.pool)
                .await?;
        rows.into_iter()
            .map(|(state, n)| Ok((state.parse()?, n)))
            .collect()
    }

    async fn ops_snapshot(&self, now: i64, day_start: i64) -> Result<OpsSnapshot, StoreError> {
        let (runnable, oldest_runnable_since): (i64, Option<i64>) = sqlx::query_as(
            "SELECT COUNT(*), MIN(run_after) FROM jobs WHERE state = 'queued' AND run_after <= $1",
        )
        .bind(now)
        .fetch_one(&self.pool)
        .await?;
        let (top_repo_spend_usd,): (f64,) = sqlx::query_as(
            "SELECT CAST(COALESCE(MAX(spent), 0) AS DOUBLE PRECISION) FROM (SELECT SUM(cost_usd) AS spent FROM attempts WHERE created_at >= $1 GROUP BY repo) AS per_repo",
        )
        .bind(day_start)
        .fetch_one(&self.pool)
        .await?;
        Ok(OpsSnapshot {
            runnable,
            oldest_runnable_since,
            top_repo_spend_usd,
        })
    }

    async fn prune(&self, cutoffs: &Cutoffs, dry_run: bool) -> Result<Pruned, StoreError> {
        use super::retention::{OLD_DELIVERIES, OLD_JOBS, OLD_PROMPTS, OLD_SAMPLES};
        let mut pruned = Pruned::default();
        let mut tx = self.begin_write().await?;
        // Jobs first: a delivery is judged by the jobs that remain.
        for (from, cutoff, count) in [
            (OLD_JOBS, cutoffs.finished_jobs, &mut pruned.finished_jobs),
            (OLD_DELIVERIES, cutoffs.deliveries, &mut pruned.deliveries),
            (
                OLD_PROMPTS,
                cutoffs.prompts,
                &mut pruned.generation_requests,
            ),
            (OLD_SAMPLES, cutoffs.prompts, &mut pruned.samples),
        ] {
            let Some(cutoff) = cutoff else { continue };
            // The pieces are constants of `retention`, not input.
            *count = if dry_run {
                let (n,): (i64,) = sqlx::query_as(AssertSqlSafe(format!("SELECT COUNT(*) {from}")))
                    .bind(cutoff)
                    .fetch_one(&mut *tx)
                    .await?;
                u64::try_from(n).unwrap_or(0)
            } else {
                sqlx::query(AssertSqlSafe(format!("DELETE {from}")))
                    .bind(cutoff)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected()
            };
        }
        if dry_run {
            tx.rollback().await?;
        } else {
            tx.commit().await?;
        }
        Ok(pruned)
    }
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
    coalesced: i64,
}

impl TryFrom<JobRow> for Job {
    type Error = StoreError;
    fn try_from(row: JobRow) -> Result<Job, StoreError> {
        let intent = serde_json::from_str(&row.payload).map_err(|source| StoreError::Decode {
            what: format!("job {} payload", row.id),
            source,
        })?;
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
            coalesced: u32::try_from(row.coalesced).unwrap_or(u32::MAX),
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
    serde_json::to_string(intent).map_err(|source| StoreError::Encode {
        what: "intent".into(),
        source,
    })
}
