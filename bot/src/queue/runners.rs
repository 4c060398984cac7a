//! Runners and their generation requests in the job store: runner tokens
//! (SHA-256 only, never the token), registrations with the models each runner
//! serves, and local-tier generation requests that a runner claims, answers or
//! fails. Rows, not memory, so a request survives a bot restart and several
//! bot replicas sharing PostgreSQL see the same queue. A request is only ever
//! claimed by an online runner that registered its model; a runner that stops
//! heartbeating has its claimed requests put back in the queue.

use std::time::Duration;

use async_trait::async_trait;
use gitkeeper_runner_protocol::{
    ErrorReport, GenerationRequest, GenerationSpec, RegisterRequest, RequestId, ResultReport,
    RunnerInfo,
};
use serde::{Deserialize, Serialize};
use sqlx::{AssertSqlSafe, ColumnIndex, Encode, Executor, Type};

use super::sql::{SqlStore, Value};
use super::{Affected, Dialect, StoreError};

/// Where a generation request is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GenerationState {
    Queued,
    Claimed,
    Succeeded,
    Failed,
    Cancelled,
}

impl GenerationState {
    pub const ALL: [GenerationState; 5] = [
        GenerationState::Queued,
        GenerationState::Claimed,
        GenerationState::Succeeded,
        GenerationState::Failed,
        GenerationState::Cancelled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            GenerationState::Queued => "queued",
            GenerationState::Claimed => "claimed",
            GenerationState::Succeeded => "succeeded",
            GenerationState::Failed => "failed",
            GenerationState::Cancelled => "cancelled",
        }
    }

    /// True once nothing more will happen to the request.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            GenerationState::Succeeded | GenerationState::Failed | GenerationState::Cancelled
        )
    }
}

impl std::str::FromStr for GenerationState {
    type Err = StoreError;
    fn from_str(s: &str) -> Result<Self, StoreError> {
        GenerationState::ALL
            .into_iter()
            .find(|state| state.as_str() == s)
            .ok_or_else(|| StoreError::Corrupt(format!("unknown generation state {s:?}")))
    }
}

/// A generation request as stored, with its outcome once there is one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GenerationRecord {
    pub id: RequestId,
    pub spec: GenerationSpec,
    pub state: GenerationState,
    /// The runner holding it (claimed) or that answered it.
    pub runner: Option<String>,
    /// How many times a runner claimed it.
    pub attempts: u32,
    pub result: Option<ResultReport>,
    pub error: Option<ErrorReport>,
    pub created_at: i64,
    pub updated_at: i64,
}

/// Runner tokens, registrations and generation requests.
#[async_trait]
pub trait RunnerStore: Send + Sync {
    /// Store a new token's hash for `name`; false when `name` already has an
    /// unrevoked token (revoke it first).
    async fn create_runner_token(
        &self,
        name: &str,
        token_sha256: &str,
        now: i64,
    ) -> Result<bool, StoreError>;
    /// Revoke `name`'s token and put back what it held; false when it had none.
    async fn revoke_runner_token(&self, name: &str, now: i64) -> Result<bool, StoreError>;
    /// The runner name an unrevoked token hash belongs to.
    async fn runner_for_token(&self, token_sha256: &str) -> Result<Option<String>, StoreError>;
    /// Record (or replace) a registration. A runner that registers again has
    /// restarted, so what it had claimed is queued again; returns how many.
    async fn register_runner(
        &self,
        name: &str,
        registration: &RegisterRequest,
        now: i64,
    ) -> Result<u64, StoreError>;
    /// The runner is alive; `draining` stops it from being counted as serving.
    async fn runner_seen(&self, name: &str, draining: bool, now: i64) -> Result<(), StoreError>;
    /// Take the oldest queued request for one of `models` that `runner`
    /// registered. Never hands one request to two runners.
    async fn claim_generation(
        &self,
        runner: &str,
        models: &[String],
        now: i64,
    ) -> Result<Option<GenerationRequest>, StoreError>;
    /// Of `active`, the requests `runner` no longer holds (cancelled, or
    /// requeued after it was thought gone): it must stop them.
    async fn released_from(
        &self,
        runner: &str,
        active: &[RequestId],
    ) -> Result<Vec<RequestId>, StoreError>;
    /// Queue again what `runner` holds without listing it in `active`, if it
    /// was claimed before `claimed_before`: the claim's answer was lost on the
    /// way, so the runner never started it. Returns how many.
    async fn requeue_unheld(
        &self,
        runner: &str,
        active: &[RequestId],
        claimed_before: i64,
        now: i64,
    ) -> Result<u64, StoreError>;
    /// Queue a request for a runner.
    async fn enqueue_generation(
        &self,
        spec: &GenerationSpec,
        now: i64,
    ) -> Result<RequestId, StoreError>;
    async fn generation(&self, id: RequestId) -> Result<Option<GenerationRecord>, StoreError>;
    /// Store the answer; false when `runner` no longer holds the request.
    async fn complete_generation(
        &self,
        id: RequestId,
        runner: &str,
        result: &ResultReport,
        now: i64,
    ) -> Result<bool, StoreError>;
    /// Fail the request (or queue it again when `error.requeue`); false when
    /// `runner` no longer holds it.
    async fn fail_generation(
        &self,
        id: RequestId,
        runner: &str,
        error: &ErrorReport,
        now: i64,
    ) -> Result<bool, StoreError>;
    /// Cancel a request that has not finished; false when it already had.
    async fn cancel_generation(&self, id: RequestId, now: i64) -> Result<bool, StoreError>;
    /// Mark runners unseen for `offline_after` offline and queue again what
    /// they held; returns how many requests were requeued.
    async fn sweep_runners(&self, offline_after: Duration, now: i64) -> Result<u64, StoreError>;
    /// Online, non-draining runners that registered `model`.
    async fn runners_serving(
        &self,
        model: &str,
        offline_after: Duration,
        now: i64,
    ) -> Result<u32, StoreError>;
    /// Every registered runner with its load and last-seen time.
    async fn runner_list(
        &self,
        offline_after: Duration,
        now: i64,
    ) -> Result<Vec<RunnerInfo>, StoreError>;
}

/// What `runners.info` holds: the parts of a registration only shown in listings.
#[derive(Serialize, Deserialize)]
pub(super) struct StoredInfo {
    pub hardware: gitkeeper_runner_protocol::Hardware,
    pub backends: Vec<gitkeeper_runner_protocol::BackendReport>,
}

pub(super) fn encode<T: Serialize>(what: &str, value: &T) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|source| StoreError::Encode {
        what: what.into(),
        source,
    })
}

pub(super) fn decode<T: serde::de::DeserializeOwned>(
    what: &str,
    text: &str,
) -> Result<T, StoreError> {
    serde_json::from_str(text).map_err(|source| StoreError::Decode {
        what: what.into(),
        source,
    })
}

/// A `generation_requests` row as both backends return it.
#[derive(sqlx::FromRow)]
pub(super) struct GenerationRow {
    pub id: i64,
    pub payload: String,
    pub state: String,
    pub runner: Option<String>,
    pub attempts: i64,
    pub result: Option<String>,
    pub error: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

/// Queue again what runner `$1` holds (`$2` now).
const REQUEUE_HELD: &str = "UPDATE generation_requests SET state = 'queued', runner = NULL, updated_at = $2 WHERE state = 'claimed' AND runner = $1";

/// The columns in `GenerationRow` order.
const GENERATION_COLUMNS: &str =
    "id, payload, state, runner, attempts, result, error, created_at, updated_at";

impl TryFrom<GenerationRow> for GenerationRecord {
    type Error = StoreError;
    fn try_from(row: GenerationRow) -> Result<Self, StoreError> {
        let what = format!("generation request {}", row.id);
        Ok(GenerationRecord {
            id: RequestId(row.id),
            spec: decode(&what, &row.payload)?,
            state: row.state.parse()?,
            runner: row.runner,
            attempts: u32::try_from(row.attempts).unwrap_or(u32::MAX),
            result: row
                .result
                .as_deref()
                .map(|r| decode(&what, r))
                .transpose()?,
            error: row.error.as_deref().map(|e| decode(&what, e)).transpose()?,
            created_at: row.created_at,
            updated_at: row.updated_at,
        })
    }
}

/// A `runners` row with its load, as both backends return it.
#[derive(sqlx::FromRow)]
pub(super) struct RunnerRow {
    pub name: String,
    pub version: String,
    pub info: String,
    pub max_concurrency: i64,
    pub online: bool,
    pub draining: bool,
    pub last_seen_at: i64,
    pub active: i64,
}

impl RunnerRow {
    pub fn into_info(self, models: Vec<String>, cutoff: i64) -> Result<RunnerInfo, StoreError> {
        let info: StoredInfo = decode(&format!("runner {}", self.name), &self.info)?;
        Ok(RunnerInfo {
            online: self.online && self.last_seen_at >= cutoff,
            name: self.name,
            version: self.version,
            hardware: info.hardware,
            backends: info.backends,
            models,
            max_concurrency: u32::try_from(self.max_concurrency).unwrap_or(0),
            active: u32::try_from(self.active).unwrap_or(0),
            draining: self.draining,
            last_seen_ms: self.last_seen_at,
        })
    }
}

/// Runner rows and `(runner, model)` pairs into listings.
pub(super) fn assemble_runners(
    rows: Vec<RunnerRow>,
    models: Vec<(String, String)>,
    cutoff: i64,
) -> Result<Vec<RunnerInfo>, StoreError> {
    rows.into_iter()
        .map(|row| {
            let mine = models
                .iter()
                .filter(|(runner, _)| *runner == row.name)
                .map(|(_, model)| model.clone())
                .collect();
            row.into_info(mine, cutoff)
        })
        .collect()
}

/// The last-seen time before which a runner is offline.
pub(super) fn cutoff(offline_after: Duration, now: i64) -> i64 {
    now.saturating_sub(super::duration_ms(offline_after))
}

#[async_trait]
impl<D: Dialect> RunnerStore for SqlStore<D>
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
    async fn create_runner_token(
        &self,
        name: &str,
        token_sha256: &str,
        now: i64,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "INSERT INTO runner_tokens (name, token_sha256, created_at) VALUES ($1, $2, $3) ON CONFLICT (name) DO UPDATE SET token_sha256 = excluded.token_sha256, created_at = excluded.created_at, revoked_at = NULL WHERE runner_tokens.revoked_at IS NOT NULL",
        )
        .bind(name)
        .bind(token_sha256)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn revoke_runner_token(&self, name: &str, now: i64) -> Result<bool, StoreError> {
        let mut tx = self.begin_write().await?;
        let done = sqlx::query(
            "UPDATE runner_tokens SET revoked_at = $2 WHERE name = $1 AND revoked_at IS NULL",
        )
        .bind(name)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        sqlx::query("UPDATE runners SET online = FALSE WHERE name = $1")
            .bind(name)
            .execute(&mut *tx)
            .await?;
        sqlx::query(REQUEUE_HELD)
            .bind(name)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(done.rows_affected() == 1)
    }

    async fn runner_for_token(&self, token_sha256: &str) -> Result<Option<String>, StoreError> {
        let row: Option<(String,)> = sqlx::query_as(
            "SELECT name FROM runner_tokens WHERE token_sha256 = $1 AND revoked_at IS NULL",
        )
        .bind(token_sha256)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|(name,)| name))
    }

    async fn register_runner(
        &self,
        name: &str,
        registration: &RegisterRequest,
        now: i64,
    ) -> Result<u64, StoreError> {
        let info = encode(
            "runner registration",
            &StoredInfo {
                hardware: registration.hardware.clone(),
                backends: registration.backends.clone(),
            },
        )?;
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "INSERT INTO runners (name, version, info, max_concurrency, online, draining, registered_at, last_seen_at) VALUES ($1, $2, $3, $4, TRUE, FALSE, $5, $5) ON CONFLICT (name) DO UPDATE SET version = excluded.version, info = excluded.info, max_concurrency = excluded.max_concurrency, online = TRUE, draining = FALSE, registered_at = excluded.registered_at, last_seen_at = excluded.last_seen_at",
        )
        .bind(name)
        .bind(&registration.version)
        .bind(info)
        .bind(i64::from(registration.max_concurrency))
        .bind(now)
        .execute(&mut *tx)
        .await?;
        sqlx::query("DELETE FROM runner_models WHERE runner = $1")
            .bind(name)
            .execute(&mut *tx)
            .await?;
        for model in registration.models() {
            sqlx::query("INSERT INTO runner_models (runner, model) VALUES ($1, $2)")
                .bind(name)
                .bind(model)
                .execute(&mut *tx)
                .await?;
        }
        let requeued = sqlx::query(REQUEUE_HELD)
            .bind(name)
            .bind(now)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        tx.commit().await?;
        Ok(requeued)
    }

    async fn runner_seen(&self, name: &str, draining: bool, now: i64) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE runners SET online = TRUE, draining = $2, last_seen_at = $3 WHERE name = $1",
        )
        .bind(name)
        .bind(draining)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn claim_generation(
        &self,
        runner: &str,
        models: &[String],
        now: i64,
    ) -> Result<Option<GenerationRequest>, StoreError> {
        // The pieces are constants of this file and of `D`, not input.
        let sql = format!(
            "UPDATE generation_requests SET state = 'claimed', runner = $1, attempts = attempts + 1, claimed_at = $3, updated_at = $3 WHERE id = (SELECT g.id FROM generation_requests g WHERE g.state = 'queued' AND g.model {in_models} AND g.model IN (SELECT model FROM runner_models WHERE runner = $1) AND EXISTS (SELECT 1 FROM runners r WHERE r.name = $1 AND r.online AND NOT r.draining) ORDER BY g.id LIMIT 1{skip_locked}) RETURNING id, payload",
            in_models = D::IN_LIST_2,
            skip_locked = D::SKIP_LOCKED,
        );
        let row: Option<(i64, String)> = sqlx::query_as(AssertSqlSafe(sql))
            .bind(runner)
            .bind(D::name_list(models)?)
            .bind(now)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|(id, payload)| {
            Ok(GenerationRequest {
                id: RequestId(id),
                spec: decode(&format!("generation request {id}"), &payload)?,
            })
        })
        .transpose()
    }

    async fn released_from(
        &self,
        runner: &str,
        active: &[RequestId],
    ) -> Result<Vec<RequestId>, StoreError> {
        if active.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!(
            "SELECT id FROM generation_requests WHERE id {} AND runner = $1 AND state = 'claimed'",
            D::IN_LIST_2
        );
        let held: Vec<(i64,)> = sqlx::query_as(AssertSqlSafe(sql))
            .bind(runner)
            .bind(D::id_list(active))
            .fetch_all(&self.pool)
            .await?;
        Ok(active
            .iter()
            .filter(|id| !held.iter().any(|(h,)| *h == id.0))
            .copied()
            .collect())
    }

    async fn requeue_unheld(
        &self,
        runner: &str,
        active: &[RequestId],
        claimed_before: i64,
        now: i64,
    ) -> Result<u64, StoreError> {
        let sql = format!(
            "UPDATE generation_requests SET state = 'queued', runner = NULL, updated_at = $4 WHERE runner = $1 AND state = 'claimed' AND claimed_at < $3 AND NOT (id {})",
            D::IN_LIST_2
        );
        let done = sqlx::query(AssertSqlSafe(sql))
            .bind(runner)
            .bind(D::id_list(active))
            .bind(claimed_before)
            .bind(now)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }

    async fn enqueue_generation(
        &self,
        spec: &GenerationSpec,
        now: i64,
    ) -> Result<RequestId, StoreError> {
        let (id,): (i64,) = sqlx::query_as(
            "INSERT INTO generation_requests (tier, model, payload, state, created_at, updated_at) VALUES ($1, $2, $3, 'queued', $4, $4) RETURNING id",
        )
        .bind(&spec.tier)
        .bind(&spec.model)
        .bind(encode("generation request", spec)?)
        .bind(now)
        .fetch_one(&self.pool)
        .await?;
        Ok(RequestId(id))
    }

    async fn generation(&self, id: RequestId) -> Result<Option<GenerationRecord>, StoreError> {
        let sql = format!("SELECT {GENERATION_COLUMNS} FROM generation_requests WHERE id = $1");
        let row: Option<GenerationRow> = sqlx::query_as(AssertSqlSafe(sql))
            .bind(id.0)
            .fetch_optional(&self.pool)
            .await?;
        row.map(GenerationRecord::try_from).transpose()
    }

    async fn complete_generation(
        &self,
        id: RequestId,
        runner: &str,
        result: &ResultReport,
        now: i64,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE generation_requests SET state = 'succeeded', result = $3, updated_at = $4 WHERE id = $1 AND runner = $2 AND state = 'claimed'",
        )
        .bind(id.0)
        .bind(runner)
        .bind(encode("result", result)?)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn fail_generation(
        &self,
        id: RequestId,
        runner: &str,
        error: &ErrorReport,
        now: i64,
    ) -> Result<bool, StoreError> {
        let query = if error.requeue {
            "UPDATE generation_requests SET state = 'queued', runner = NULL, error = $3, updated_at = $4 WHERE id = $1 AND runner = $2 AND state = 'claimed'"
        } else {
            "UPDATE generation_requests SET state = 'failed', error = $3, updated_at = $4 WHERE id = $1 AND runner = $2 AND state = 'claimed'"
        };
        let done = sqlx::query(query)
            .bind(id.0)
            .bind(runner)
            .bind(encode("error", error)?)
            .bind(now)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn cancel_generation(&self, id: RequestId, now: i64) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE generation_requests SET state = 'cancelled', updated_at = $2 WHERE id = $1 AND state IN ('queued', 'claimed')",
        )
        .bind(id.0)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn sweep_runners(&self, offline_after: Duration, now: i64) -> Result<u64, StoreError> {
        let cutoff = cutoff(offline_after, now);
        let mut tx = self.begin_write().await?;
        let requeued = sqlx::query(
            "UPDATE generation_requests SET state = 'queued', runner = NULL, updated_at = $2 WHERE state = 'claimed' AND runner IN (SELECT name FROM runners WHERE last_seen_at < $1)",
        )
        .bind(cutoff)
        .bind(now)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        sqlx::query("UPDATE runners SET online = FALSE WHERE online AND last_seen_at < $1")
            .bind(cutoff)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(requeued)
    }

    async fn runners_serving(
        &self,
        model: &str,
        offline_after: Duration,
        now: i64,
    ) -> Result<u32, StoreError> {
        let (count,): (i64,) = sqlx::query_as(
            "SELECT COUNT(*) FROM runners r JOIN runner_models m ON m.runner = r.name JOIN runner_tokens t ON t.name = r.name AND t.revoked_at IS NULL WHERE m.model = $1 AND r.online AND NOT r.draining AND r.last_seen_at >= $2",
        )
        .bind(model)
        .bind(cutoff(offline_after, now))
        .fetch_one(&self.pool)
        .await?;
        Ok(u32::try_from(count).unwrap_or(0))
    }

    async fn runner_list(
        &self,
        offline_after: Duration,
        now: i64,
    ) -> Result<Vec<RunnerInfo>, StoreError> {
        let rows: Vec<RunnerRow> = sqlx::query_as(
            "SELECT r.name, r.version, r.info, r.max_concurrency, r.online, r.draining, r.last_seen_at, (SELECT COUNT(*) FROM generation_requests g WHERE g.runner = r.name AND g.state = 'claimed') AS active FROM runners r ORDER BY r.name",
        )
        .fetch_all(&self.pool)
        .await?;
        let models: Vec<(String, String)> =
            sqlx::query_as("SELECT runner, model FROM runner_models ORDER BY runner, model")
                .fetch_all(&self.pool)
                .await?;
        assemble_runners(rows, models, cutoff(offline_after, now))
    }
}
