//! The attempt trail in the job store: each job's [`Attempt`]s, its
//! [`TaskRecord`] and how the bot's pull requests ended. The values are
//! [`crate::trail`]'s; this file is how they are stored (the same `$N` SQL
//! on every [`Dialect`]).
//!
//! Must never: store prompts or answers (only their hash, counts, cost and a
//! trimmed error summary), or decide what goes into a record (`generate/`
//! does).

use async_trait::async_trait;
use gitkeeper_backends::EditFormat;
use sqlx::{ColumnIndex, Encode, Executor, Type};

use super::sql::{SqlStore, Value};
use super::{Dialect, StoreError};
use crate::ids::JobId;
use crate::trail::{
    Attempt, ClosedPull, PullOutcome, TaskHistory, TaskRecord, TaskSample, TaskType, ToolCallRecord,
};

/// The attempt trail of the job store (every `JobStore` is one).
#[async_trait]
pub trait TrailStore: Send + Sync {
    /// Append one attempt to a job's trail.
    async fn record_attempt(
        &self,
        job: JobId,
        repo: &str,
        attempt: &Attempt,
    ) -> Result<(), StoreError>;
    /// A job's attempts, in the order they were recorded.
    async fn attempts(&self, job: JobId) -> Result<Vec<Attempt>, StoreError>;
    /// Store the job's task record, replacing an earlier run's.
    async fn record_task(&self, job: JobId, task: &TaskRecord, now: i64) -> Result<(), StoreError>;
    async fn task_record(&self, job: JobId) -> Result<Option<TaskRecord>, StoreError>;
    /// USD that `repo`'s attempts cost since `since` (ms), for the daily budget.
    async fn spent_since(&self, repo: &str, since: i64) -> Result<f64, StoreError>;
    /// Record how a Gitkeeper pull request ended (a later close replaces an earlier one).
    async fn record_pull_outcome(&self, outcome: &PullOutcome, now: i64) -> Result<(), StoreError>;
    /// Note that the job's task opened or updated pull request `pull_number`.
    async fn record_published(
        &self,
        job: JobId,
        pull_number: u64,
        now: i64,
    ) -> Result<(), StoreError>;
    /// Keep a finished task's context and final diff for `export`.
    async fn record_sample(
        &self,
        job: JobId,
        sample: &TaskSample,
        now: i64,
    ) -> Result<(), StoreError>;
    /// The tasks recorded since `since` (ms), of `repo` only when given,
    /// with their attempts and pull request outcomes, oldest first.
    async fn history(&self, since: i64, repo: Option<&str>)
    -> Result<Vec<TaskHistory>, StoreError>;
    /// The samples of the tasks recorded since `since` (ms), by job id.
    async fn samples(&self, since: i64) -> Result<Vec<(i64, TaskSample)>, StoreError>;
}

#[async_trait]
impl<D: Dialect> TrailStore for SqlStore<D>
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
    async fn record_attempt(&self, job: JobId, repo: &str, a: &Attempt) -> Result<(), StoreError> {
        sqlx::query(INSERT_ATTEMPT)
            .bind(job.0)
            .bind(repo)
            .bind(i64::from(a.seq))
            .bind(i64::from(a.tier))
            .bind(a.role.as_str())
            .bind(&a.model)
            .bind(&a.served_model)
            .bind(format_str(a.edit_format))
            .bind(&a.prompt_sha256)
            .bind(i64::from(a.prompt_tokens))
            .bind(i64::from(a.completion_tokens))
            .bind(a.usage_estimated)
            .bind(a.cost_usd)
            .bind(to_i64(a.latency_ms))
            .bind(to_i64(a.validation_ms))
            .bind(a.outcome.as_str())
            .bind(a.error.as_deref())
            .bind(a.created_at)
            .bind(&a.provider)
            .bind(a.paid)
            .bind(paths_json(&a.sent_paths)?)
            .bind(a.mode.as_str())
            .bind(tool_calls_json(&a.tool_calls)?)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn attempts(&self, job: JobId) -> Result<Vec<Attempt>, StoreError> {
        let rows: Vec<AttemptRow> = sqlx::query_as(SELECT_ATTEMPTS)
            .bind(job.0)
            .fetch_all(&self.pool)
            .await?;
        rows.into_iter().map(Attempt::try_from).collect()
    }

    async fn record_task(&self, job: JobId, t: &TaskRecord, now: i64) -> Result<(), StoreError> {
        sqlx::query(UPSERT_TASK)
            .bind(job.0)
            .bind(&t.task_id)
            .bind(&t.repo)
            .bind(t.task_type.as_str())
            .bind(&t.description)
            .bind(i64::from(t.complexity))
            .bind(t.worker.as_deref())
            .bind(t.checker.as_deref())
            .bind(t.outcome.as_str())
            .bind(i64::from(t.attempts))
            .bind(i64::from(t.escalations))
            .bind(&t.validation_method)
            .bind(to_i64(t.latency_ms))
            .bind(to_i64(t.tokens_in))
            .bind(to_i64(t.tokens_out))
            .bind(t.cost_usd)
            .bind(t.prompt_sha256.as_deref())
            .bind(t.created_at)
            .bind(now)
            .bind(&t.ladder)
            .bind(t.local_only)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn task_record(&self, job: JobId) -> Result<Option<TaskRecord>, StoreError> {
        let row: Option<TaskRow> = sqlx::query_as(SELECT_TASK)
            .bind(job.0)
            .fetch_optional(&self.pool)
            .await?;
        row.map(TaskRecord::try_from).transpose()
    }

    async fn record_pull_outcome(&self, o: &PullOutcome, now: i64) -> Result<(), StoreError> {
        sqlx::query(UPSERT_PULL_OUTCOME)
            .bind(&o.repo)
            .bind(to_i64(o.pull_number))
            .bind(o.merged)
            .bind(&o.pull_key)
            .bind(&o.issue_key)
            .bind(now)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn record_published(
        &self,
        job: JobId,
        pull_number: u64,
        now: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE task_records SET pull_number = $1, published_at = $2 WHERE job_id = $3",
        )
        .bind(to_i64(pull_number))
        .bind(now)
        .bind(job.0)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn record_sample(
        &self,
        job: JobId,
        sample: &TaskSample,
        now: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(UPSERT_SAMPLE)
            .bind(job.0)
            .bind(&sample.context)
            .bind(&sample.diff)
            .bind(now)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn history(
        &self,
        since: i64,
        repo: Option<&str>,
    ) -> Result<Vec<TaskHistory>, StoreError> {
        let rows: Vec<HistoryRow> = sqlx::query_as(SELECT_HISTORY)
            .bind(since)
            .bind(repo)
            .fetch_all(&self.pool)
            .await?;
        let attempts: Vec<JobAttemptRow> = sqlx::query_as(SELECT_HISTORY_ATTEMPTS)
            .bind(since)
            .bind(repo)
            .fetch_all(&self.pool)
            .await?;
        let mut by_job: std::collections::HashMap<i64, Vec<Attempt>> =
            std::collections::HashMap::new();
        for row in attempts {
            by_job
                .entry(row.job_id)
                .or_default()
                .push(Attempt::try_from(row.attempt)?);
        }
        rows.into_iter()
            .map(|row| {
                Ok(TaskHistory {
                    job_id: row.job_id,
                    attempts: by_job.remove(&row.job_id).unwrap_or_default(),
                    queued_at: row.queued_at,
                    published_at: row.published_at,
                    pull_number: row.pull_number.map(from_i64),
                    merged: row.opened_merged.or(row.credited_merged),
                    closed_pull: row.credited_merged.map(|merged| ClosedPull {
                        merged,
                        revision_rounds: row.revision_rounds.map(from_i64).unwrap_or_default(),
                    }),
                    record: TaskRecord::try_from(row.task)?,
                })
            })
            .collect()
    }

    async fn samples(&self, since: i64) -> Result<Vec<(i64, TaskSample)>, StoreError> {
        let rows: Vec<(i64, String, String)> = sqlx::query_as(
            "SELECT s.job_id, s.context, s.diff FROM task_samples s JOIN task_records t ON t.job_id = s.job_id WHERE t.created_at >= $1 ORDER BY s.job_id",
        )
        .bind(since)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(job, context, diff)| (job, TaskSample { context, diff }))
            .collect())
    }

    async fn spent_since(&self, repo: &str, since: i64) -> Result<f64, StoreError> {
        let (spent,): (f64,) = sqlx::query_as(SPENT_SINCE)
            .bind(repo)
            .bind(since)
            .fetch_one(&self.pool)
            .await?;
        Ok(spent)
    }
}

fn format_str(format: EditFormat) -> &'static str {
    match format {
        EditFormat::SearchReplace => "search_replace",
        EditFormat::WholeFile => "whole_file",
    }
}

fn parse_format(s: &str) -> Result<EditFormat, StoreError> {
    match s {
        "search_replace" => Ok(EditFormat::SearchReplace),
        "whole_file" => Ok(EditFormat::WholeFile),
        other => Err(StoreError::Corrupt(format!(
            "unknown edit format {other:?}"
        ))),
    }
}

fn paths_json(paths: &[String]) -> Result<String, StoreError> {
    serde_json::to_string(paths).map_err(|source| StoreError::Encode {
        what: "sent paths".into(),
        source,
    })
}

fn parse_paths(text: &str) -> Result<Vec<String>, StoreError> {
    serde_json::from_str(text).map_err(|source| StoreError::Decode {
        what: "an attempt's sent paths".into(),
        source,
    })
}

fn parse_task_type(s: &str) -> Result<TaskType, StoreError> {
    serde_json::from_value(serde_json::Value::String(s.to_string()))
        .map_err(|_| StoreError::Corrupt(format!("unknown task type {s:?}")))
}

fn to_i64<T: TryInto<i64>>(v: T) -> i64 {
    v.try_into().unwrap_or(i64::MAX)
}

fn from_i64<T: TryFrom<i64> + Default>(v: i64) -> T {
    T::try_from(v).unwrap_or_default()
}

#[derive(sqlx::FromRow)]
struct AttemptRow {
    seq: i64,
    tier: i64,
    role: String,
    model: String,
    served_model: String,
    edit_format: String,
    prompt_sha256: String,
    prompt_tokens: i64,
    completion_tokens: i64,
    usage_estimated: bool,
    cost_usd: f64,
    latency_ms: i64,
    validation_ms: i64,
    outcome: String,
    error: Option<String>,
    created_at: i64,
    provider: String,
    paid: bool,
    sent_paths: String,
    mode: String,
    tool_calls: String,
}

/// An attempt with the job it belongs to.
#[derive(sqlx::FromRow)]
struct JobAttemptRow {
    job_id: i64,
    #[sqlx(flatten)]
    attempt: AttemptRow,
}

/// A task record with what `history` adds to it.
#[derive(sqlx::FromRow)]
struct HistoryRow {
    job_id: i64,
    #[sqlx(flatten)]
    task: TaskRow,
    queued_at: Option<i64>,
    published_at: Option<i64>,
    pull_number: Option<i64>,
    /// The pull request the task opened, once closed.
    opened_merged: Option<bool>,
    /// The closed pull request the task wrote the final change of.
    credited_merged: Option<bool>,
    revision_rounds: Option<i64>,
}

/// An attempt's tool calls as the JSON text the `tool_calls` column holds.
fn tool_calls_json(calls: &[ToolCallRecord]) -> Result<String, StoreError> {
    serde_json::to_string(calls)
        .map_err(|e| StoreError::Corrupt(format!("cannot encode an attempt's tool calls: {e}")))
}

impl TryFrom<AttemptRow> for Attempt {
    type Error = StoreError;
    fn try_from(r: AttemptRow) -> Result<Attempt, StoreError> {
        Ok(Attempt {
            seq: from_i64(r.seq),
            tier: from_i64(r.tier),
            role: r.role.parse()?,
            model: r.model,
            served_model: r.served_model,
            edit_format: parse_format(&r.edit_format)?,
            prompt_sha256: r.prompt_sha256,
            prompt_tokens: from_i64(r.prompt_tokens),
            completion_tokens: from_i64(r.completion_tokens),
            usage_estimated: r.usage_estimated,
            cost_usd: r.cost_usd,
            latency_ms: from_i64(r.latency_ms),
            validation_ms: from_i64(r.validation_ms),
            outcome: r.outcome.parse()?,
            error: r.error,
            created_at: r.created_at,
            provider: r.provider,
            paid: r.paid,
            sent_paths: parse_paths(&r.sent_paths)?,
            mode: r.mode.parse()?,
            tool_calls: serde_json::from_str(&r.tool_calls).map_err(|e| {
                StoreError::Corrupt(format!(
                    "an attempt's tool_calls is not the JSON Gitkeeper writes: {e}"
                ))
            })?,
        })
    }
}

#[derive(sqlx::FromRow)]
struct TaskRow {
    task_id: String,
    repo: String,
    task_type: String,
    description: String,
    complexity: i64,
    worker: Option<String>,
    checker: Option<String>,
    outcome: String,
    attempts: i64,
    escalations: i64,
    validation_method: String,
    latency_ms: i64,
    tokens_in: i64,
    tokens_out: i64,
    cost_usd: f64,
    prompt_sha256: Option<String>,
    created_at: i64,
    ladder: String,
    local_only: bool,
}

impl TryFrom<TaskRow> for TaskRecord {
    type Error = StoreError;
    fn try_from(r: TaskRow) -> Result<TaskRecord, StoreError> {
        Ok(TaskRecord {
            task_id: r.task_id,
            repo: r.repo,
            task_type: parse_task_type(&r.task_type)?,
            description: r.description,
            complexity: from_i64(r.complexity),
            worker: r.worker,
            checker: r.checker,
            outcome: r.outcome.parse()?,
            attempts: from_i64(r.attempts),
            escalations: from_i64(r.escalations),
            validation_method: r.validation_method,
            latency_ms: from_i64(r.latency_ms),
            tokens_in: from_i64(r.tokens_in),
            tokens_out: from_i64(r.tokens_out),
            cost_usd: r.cost_usd,
            prompt_sha256: r.prompt_sha256,
            created_at: r.created_at,
            ladder: r.ladder,
            local_only: r.local_only,
        })
    }
}

/// The `TaskRow` columns of `task_records t`, as a literal for `concat!`.
macro_rules! task_columns {
    () => {
        "t.task_id, t.repo, t.task_type, t.description, t.complexity, t.worker, t.checker, t.outcome, t.attempts, t.escalations, t.validation_method, t.latency_ms, t.tokens_in, t.tokens_out, t.cost_usd, t.prompt_sha256, t.created_at, t.ladder, t.local_only"
    };
}
/// The `AttemptRow` columns of `attempts a`.
macro_rules! attempt_columns {
    () => {
        "a.seq, a.tier, a.role, a.model, a.served_model, a.edit_format, a.prompt_sha256, a.prompt_tokens, a.completion_tokens, a.usage_estimated, a.cost_usd, a.latency_ms, a.validation_ms, a.outcome, a.error, a.created_at, a.provider, a.paid, a.sent_paths, a.mode, a.tool_calls"
    };
}
/// The task records `history` reads: since `$1`, of repository `$2` when not null.
macro_rules! history_filter {
    () => {
        "t.created_at >= $1 AND (CAST($2 AS TEXT) IS NULL OR t.repo = CAST($2 AS TEXT))"
    };
}
const INSERT_ATTEMPT: &str = "INSERT INTO attempts (job_id, repo, seq, tier, role, model, served_model, edit_format, prompt_sha256, prompt_tokens, completion_tokens, usage_estimated, cost_usd, latency_ms, validation_ms, outcome, error, created_at, provider, paid, sent_paths, mode, tool_calls) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23)";
const SELECT_ATTEMPTS: &str = concat!(
    "SELECT ",
    attempt_columns!(),
    " FROM attempts a WHERE a.job_id = $1 ORDER BY a.id"
);
const UPSERT_TASK: &str = "INSERT INTO task_records (job_id, task_id, repo, task_type, description, complexity, worker, checker, outcome, attempts, escalations, validation_method, latency_ms, tokens_in, tokens_out, cost_usd, prompt_sha256, created_at, updated_at, ladder, local_only, target_key, queued_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, (SELECT target_key FROM jobs WHERE id = $1), (SELECT created_at FROM jobs WHERE id = $1)) ON CONFLICT (job_id) DO UPDATE SET ladder = excluded.ladder, local_only = excluded.local_only, queued_at = COALESCE(excluded.queued_at, task_records.queued_at), task_id = excluded.task_id, repo = excluded.repo, task_type = excluded.task_type, description = excluded.description, complexity = excluded.complexity, worker = excluded.worker, checker = excluded.checker, outcome = excluded.outcome, attempts = excluded.attempts, escalations = excluded.escalations, validation_method = excluded.validation_method, latency_ms = excluded.latency_ms, tokens_in = excluded.tokens_in, tokens_out = excluded.tokens_out, cost_usd = excluded.cost_usd, prompt_sha256 = excluded.prompt_sha256, updated_at = excluded.updated_at, target_key = COALESCE(excluded.target_key, task_records.target_key)";
const SELECT_TASK: &str = concat!(
    "SELECT ",
    task_columns!(),
    " FROM task_records t WHERE t.job_id = $1"
);
const SELECT_HISTORY: &str = concat!(
    "SELECT t.job_id, ",
    task_columns!(),
    ", t.queued_at, t.published_at, t.pull_number, q.merged AS opened_merged, p.merged AS credited_merged, p.revision_rounds FROM task_records t LEFT JOIN pull_outcomes q ON q.repo = t.repo AND q.pull_number = t.pull_number LEFT JOIN pull_outcomes p ON p.task_job_id = t.job_id WHERE ",
    history_filter!(),
    " ORDER BY t.job_id"
);
const SELECT_HISTORY_ATTEMPTS: &str = concat!(
    "SELECT a.job_id, ",
    attempt_columns!(),
    " FROM attempts a JOIN task_records t ON t.job_id = a.job_id WHERE ",
    history_filter!(),
    " ORDER BY a.id"
);
const UPSERT_SAMPLE: &str = "INSERT INTO task_samples (job_id, context, diff, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT (job_id) DO UPDATE SET context = excluded.context, diff = excluded.diff, created_at = excluded.created_at";
const UPSERT_PULL_OUTCOME: &str = "INSERT INTO pull_outcomes (repo, pull_number, merged, revision_rounds, task_job_id, closed_at) VALUES ($1, $2, $3, (SELECT COUNT(*) FROM task_records t WHERE t.target_key = $4), (SELECT MAX(t.job_id) FROM task_records t WHERE (t.target_key = $5 OR t.target_key = $4) AND t.outcome = 'pass'), $6) ON CONFLICT (repo, pull_number) DO UPDATE SET merged = excluded.merged, revision_rounds = excluded.revision_rounds, task_job_id = excluded.task_job_id, closed_at = excluded.closed_at";
const SPENT_SINCE: &str = "SELECT CAST(COALESCE(SUM(cost_usd), 0) AS DOUBLE PRECISION) FROM attempts WHERE repo = $1 AND created_at >= $2";
