//! The PostgreSQL job store, for several bot replicas sharing one queue. A
//! claim locks its row with `FOR UPDATE SKIP LOCKED`, so concurrent workers
//! never wait on, or take, each other's job.

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::PgPool;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

use super::*;

mod runners;

/// The job store for replicas.
pub struct PostgresStore {
    pool: PgPool,
}

impl PostgresStore {
    /// Connect to the server `url` names.
    pub async fn connect(url: &str, max_connections: u32) -> Result<Self, StoreError> {
        let shown = crate::config::redact_url(url);
        let options = PgConnectOptions::from_str(url).map_err(|source| StoreError::Connect {
            url: shown.clone(),
            source,
        })?;
        let pool = PgPoolOptions::new()
            .max_connections(max_connections)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(options)
            .await
            .map_err(|source| StoreError::Connect { url: shown, source })?;
        Ok(Self { pool })
    }
}

records::record_methods!(PostgresStore);

#[async_trait]
impl JobStore for PostgresStore {
    fn backend(&self) -> &'static str {
        "postgres"
    }

    async fn migrate(&self) -> Result<(), StoreError> {
        sqlx::migrate!("./migrations/postgres")
            .run(&self.pool)
            .await?;
        Ok(())
    }

    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    async fn accept(
        &self,
        delivery: &Delivery,
        intent: Option<&Intent>,
        now: i64,
    ) -> Result<Accepted, StoreError> {
        let mut tx = self.pool.begin().await?;
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
            tx.rollback().await?;
            return Ok(Accepted::Duplicate);
        }
        let mut job_id = None;
        if let Some(intent) = intent {
            let (id,): (i64,) = sqlx::query_as(
                "INSERT INTO jobs (target_key, kind, delivery_id, payload, state, run_after, created_at, updated_at) VALUES ($1, $2, $3, $4, 'queued', $5, $5, $5) RETURNING id",
            )
            .bind(intent.target_key())
            .bind(intent.kind())
            .bind(&delivery.id.0)
            .bind(intent_json(intent)?)
            .bind(now)
            .fetch_one(&mut *tx)
            .await?;
            sqlx::query("UPDATE deliveries SET job_id = $1 WHERE delivery_id = $2")
                .bind(id)
                .bind(&delivery.id.0)
                .execute(&mut *tx)
                .await?;
            job_id = Some(JobId(id));
        }
        tx.commit().await?;
        Ok(Accepted::Stored(job_id))
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
        let sql = concat!(
            "UPDATE jobs SET state = 'running', lease_owner = $1, lease_expires_at = $2, attempts = attempts + 1, updated_at = $3
             WHERE id = (
                SELECT j.id FROM jobs j
                WHERE j.run_after <= $3
                  AND (j.state = 'queued' OR (j.state = 'running' AND j.lease_expires_at < $3))
                  AND NOT EXISTS (
                    SELECT 1 FROM jobs k
                    WHERE k.target_key = j.target_key AND k.id < j.id AND k.state IN ('queued', 'running'))
                ORDER BY j.id LIMIT 1
                FOR UPDATE SKIP LOCKED)
             RETURNING ",
            job_columns!()
        );
        let row: Option<JobRow> = sqlx::query_as(sql)
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
        let done = sqlx::query(
            "UPDATE jobs SET state = 'queued', attempts = GREATEST(attempts - 1, 0), lease_owner = NULL, lease_expires_at = NULL, updated_at = $1
             WHERE id = $2 AND lease_owner = $3 AND state = 'running'",
        )
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
        request_cancel_in(&self.pool, target_key, except, reason, now).await
    }

    async fn cancel_requested(&self, id: JobId) -> Result<bool, StoreError> {
        cancel_requested_in(&self.pool, id).await
    }

    async fn job(&self, id: JobId) -> Result<Option<Job>, StoreError> {
        let row: Option<JobRow> = sqlx::query_as(concat!(
            "SELECT ",
            job_columns!(),
            " FROM jobs WHERE id = $1"
        ))
        .bind(id.0)
        .fetch_optional(&self.pool)
        .await?;
        row.map(Job::try_from).transpose()
    }

    async fn jobs(&self, state: Option<JobState>, limit: u32) -> Result<Vec<Job>, StoreError> {
        let rows: Vec<JobRow> = sqlx::query_as(concat!(
            "SELECT ",
            job_columns!(),
            " FROM jobs WHERE ($1::text IS NULL OR state = $1::text) ORDER BY id DESC LIMIT $2"
        ))
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
}

super::cancel_functions!(sqlx::PgPool);
