//! `RunnerStore` on SQLite. SQLite serializes writers, so a claim is one
//! `UPDATE … RETURNING` statement; lists of models and ids go in as JSON
//! arrays read with `json_each`.

use super::super::runners::*;
use super::*;
use gitkeeper_runner_protocol::{
    ErrorReport, GenerationRequest, GenerationSpec, RegisterRequest, RequestId, ResultReport,
    RunnerInfo,
};

#[async_trait]
impl RunnerStore for SqliteStore {
    async fn create_runner_token(
        &self,
        name: &str,
        token_sha256: &str,
        now: i64,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "INSERT INTO runner_tokens (name, token_sha256, created_at) VALUES (?1, ?2, ?3) ON CONFLICT (name) DO UPDATE SET token_sha256 = excluded.token_sha256, created_at = excluded.created_at, revoked_at = NULL WHERE runner_tokens.revoked_at IS NOT NULL",
        )
        .bind(name)
        .bind(token_sha256)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn revoke_runner_token(&self, name: &str, now: i64) -> Result<bool, StoreError> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let done = sqlx::query(
            "UPDATE runner_tokens SET revoked_at = ?2 WHERE name = ?1 AND revoked_at IS NULL",
        )
        .bind(name)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        sqlx::query("UPDATE runners SET online = FALSE WHERE name = ?1")
            .bind(name)
            .execute(&mut *tx)
            .await?;
        sqlx::query("UPDATE generation_requests SET state = 'queued', runner = NULL, updated_at = ?2 WHERE state = 'claimed' AND runner = ?1")
            .bind(name)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(done.rows_affected() == 1)
    }

    async fn runner_for_token(&self, token_sha256: &str) -> Result<Option<String>, StoreError> {
        let row: Option<(String,)> = sqlx::query_as(
            "SELECT name FROM runner_tokens WHERE token_sha256 = ?1 AND revoked_at IS NULL",
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
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        sqlx::query(
            "INSERT INTO runners (name, version, info, max_concurrency, online, draining, registered_at, last_seen_at) VALUES (?1, ?2, ?3, ?4, TRUE, FALSE, ?5, ?5) ON CONFLICT (name) DO UPDATE SET version = excluded.version, info = excluded.info, max_concurrency = excluded.max_concurrency, online = TRUE, draining = FALSE, registered_at = excluded.registered_at, last_seen_at = excluded.last_seen_at",
        )
        .bind(name)
        .bind(&registration.version)
        .bind(info)
        .bind(i64::from(registration.max_concurrency))
        .bind(now)
        .execute(&mut *tx)
        .await?;
        sqlx::query("DELETE FROM runner_models WHERE runner = ?1")
            .bind(name)
            .execute(&mut *tx)
            .await?;
        for model in registration.models() {
            sqlx::query("INSERT INTO runner_models (runner, model) VALUES (?1, ?2)")
                .bind(name)
                .bind(model)
                .execute(&mut *tx)
                .await?;
        }
        let requeued = sqlx::query("UPDATE generation_requests SET state = 'queued', runner = NULL, updated_at = ?2 WHERE state = 'claimed' AND runner = ?1")
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
            "UPDATE runners SET online = TRUE, draining = ?2, last_seen_at = ?3 WHERE name = ?1",
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
        let models = encode("model list", &models)?;
        let row: Option<(i64, String)> = sqlx::query_as(
            "UPDATE generation_requests SET state = 'claimed', runner = ?1, attempts = attempts + 1, claimed_at = ?3, updated_at = ?3 WHERE id = (SELECT g.id FROM generation_requests g WHERE g.state = 'queued' AND g.model IN (SELECT value FROM json_each(?2)) AND g.model IN (SELECT model FROM runner_models WHERE runner = ?1) AND EXISTS (SELECT 1 FROM runners r WHERE r.name = ?1 AND r.online AND NOT r.draining) ORDER BY g.id LIMIT 1) RETURNING id, payload",
        )
        .bind(runner)
        .bind(models)
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
        let held: Vec<(i64,)> = sqlx::query_as(
            "SELECT id FROM generation_requests WHERE id IN (SELECT value FROM json_each(?2)) AND runner = ?1 AND state = 'claimed'",
        )
        .bind(runner)
        .bind(id_list(active))
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
        let done = sqlx::query(
            "UPDATE generation_requests SET state = 'queued', runner = NULL, updated_at = ?4 WHERE runner = ?1 AND state = 'claimed' AND claimed_at < ?3 AND id NOT IN (SELECT value FROM json_each(?2))",
        )
        .bind(runner)
        .bind(id_list(active))
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
            "INSERT INTO generation_requests (tier, model, payload, state, created_at, updated_at) VALUES (?1, ?2, ?3, 'queued', ?4, ?4) RETURNING id",
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
        let row: Option<GenerationRow> = sqlx::query_as(concat!(
            "SELECT ",
            generation_columns!(),
            " FROM generation_requests WHERE id = ?1"
        ))
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
            "UPDATE generation_requests SET state = 'succeeded', result = ?3, updated_at = ?4 WHERE id = ?1 AND runner = ?2 AND state = 'claimed'",
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
            "UPDATE generation_requests SET state = 'queued', runner = NULL, error = ?3, updated_at = ?4 WHERE id = ?1 AND runner = ?2 AND state = 'claimed'"
        } else {
            "UPDATE generation_requests SET state = 'failed', error = ?3, updated_at = ?4 WHERE id = ?1 AND runner = ?2 AND state = 'claimed'"
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
            "UPDATE generation_requests SET state = 'cancelled', updated_at = ?2 WHERE id = ?1 AND state IN ('queued', 'claimed')",
        )
        .bind(id.0)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn sweep_runners(&self, offline_after: Duration, now: i64) -> Result<u64, StoreError> {
        let cutoff = cutoff(offline_after, now);
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let requeued = sqlx::query(
            "UPDATE generation_requests SET state = 'queued', runner = NULL, updated_at = ?2 WHERE state = 'claimed' AND runner IN (SELECT name FROM runners WHERE last_seen_at < ?1)",
        )
        .bind(cutoff)
        .bind(now)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        sqlx::query("UPDATE runners SET online = FALSE WHERE online AND last_seen_at < ?1")
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
            "SELECT COUNT(*) FROM runners r JOIN runner_models m ON m.runner = r.name JOIN runner_tokens t ON t.name = r.name AND t.revoked_at IS NULL WHERE m.model = ?1 AND r.online AND NOT r.draining AND r.last_seen_at >= ?2",
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
