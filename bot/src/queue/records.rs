//! The attempt trail: every model call of a job ([`Attempt`]) and one
//! [`TaskRecord`] per job with the fields of seed 004's task log. Stored by
//! both backends with the same SQL (`$N` placeholders read the same in
//! SQLite and PostgreSQL). Never stores prompts or answers: only their
//! hash, counts, cost and a trimmed error summary.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::StoreError;
use crate::ids::JobId;
use crate::models::EditFormat;
use crate::route::TaskType;

/// What one attempt's model call was for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AttemptRole {
    /// A ladder tier producing edits.
    Worker,
    /// The local model answering for a paid tier that failed.
    Fallback,
    /// The checker model reviewing the final diff.
    Checker,
    /// A model explaining a pull request (`/gitkeeper explain`).
    Explainer,
}

/// How one attempt ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AttemptOutcome {
    /// Edits applied and validated (or the checker approved).
    Passed,
    /// The model call failed (down, misconfigured, too large).
    ModelFailed,
    /// The answer was cut off by max_tokens.
    Truncated,
    /// The answer was not in the edit format.
    ParseFailed,
    /// Edits were rejected (unsafe path, SEARCH not found, ...).
    ApplyFailed,
    /// Edits applied but validation failed.
    ValidationFailed,
    /// The checker's verdict was fail or below min_confidence.
    CheckerRejected,
    /// The model asked a question.
    Clarification,
    /// Not sent: the call could pass a budget cap.
    SkippedBudget,
}

impl AttemptOutcome {
    pub const ALL: [AttemptOutcome; 9] = [
        AttemptOutcome::Passed,
        AttemptOutcome::ModelFailed,
        AttemptOutcome::Truncated,
        AttemptOutcome::ParseFailed,
        AttemptOutcome::ApplyFailed,
        AttemptOutcome::ValidationFailed,
        AttemptOutcome::CheckerRejected,
        AttemptOutcome::Clarification,
        AttemptOutcome::SkippedBudget,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            AttemptOutcome::Passed => "passed",
            AttemptOutcome::ModelFailed => "model_failed",
            AttemptOutcome::Truncated => "truncated",
            AttemptOutcome::ParseFailed => "parse_failed",
            AttemptOutcome::ApplyFailed => "apply_failed",
            AttemptOutcome::ValidationFailed => "validation_failed",
            AttemptOutcome::CheckerRejected => "checker_rejected",
            AttemptOutcome::Clarification => "clarification",
            AttemptOutcome::SkippedBudget => "skipped_budget",
        }
    }
}

/// How a task ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskOutcome {
    Pass,
    /// Every tier ran out: manual review or a skip decision.
    Fail,
    Clarify,
    /// Waiting for a maintainer's approval of a paid tier.
    Parked,
}

impl TaskOutcome {
    pub const ALL: [TaskOutcome; 4] = [
        TaskOutcome::Pass,
        TaskOutcome::Fail,
        TaskOutcome::Clarify,
        TaskOutcome::Parked,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            TaskOutcome::Pass => "pass",
            TaskOutcome::Fail => "fail",
            TaskOutcome::Clarify => "clarify",
            TaskOutcome::Parked => "parked",
        }
    }
}

macro_rules! str_enum {
    ($($t:ty),*) => {$(
        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $t {
            type Err = StoreError;
            fn from_str(s: &str) -> Result<Self, StoreError> {
                <$t>::ALL
                    .into_iter()
                    .find(|v| v.as_str() == s)
                    .ok_or_else(|| StoreError::Corrupt(format!("unknown {} {s:?}", stringify!($t))))
            }
        }
    )*};
}
str_enum!(AttemptOutcome, TaskOutcome);

impl AttemptRole {
    pub const ALL: [AttemptRole; 4] = [
        AttemptRole::Worker,
        AttemptRole::Fallback,
        AttemptRole::Checker,
        AttemptRole::Explainer,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            AttemptRole::Worker => "worker",
            AttemptRole::Fallback => "fallback",
            AttemptRole::Checker => "checker",
            AttemptRole::Explainer => "explainer",
        }
    }
}
str_enum!(AttemptRole);

pub(super) fn format_str(format: EditFormat) -> &'static str {
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

fn parse_task_type(s: &str) -> Result<TaskType, StoreError> {
    serde_json::from_value(serde_json::Value::String(s.to_string()))
        .map_err(|_| StoreError::Corrupt(format!("unknown task type {s:?}")))
}

/// One model call of a job.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Attempt {
    /// 1-based order within the job.
    pub seq: u32,
    /// 1-based tier of the route (the checker carries the tier it checked).
    pub tier: u32,
    pub role: AttemptRole,
    /// The `[models.<name>]` entry.
    pub model: String,
    /// The model as the server named it (empty when no call was made).
    pub served_model: String,
    pub edit_format: EditFormat,
    pub prompt_sha256: String,
    pub prompt_tokens: u32,
    pub completion_tokens: u32,
    pub usage_estimated: bool,
    pub cost_usd: f64,
    pub latency_ms: u64,
    pub outcome: AttemptOutcome,
    /// What went wrong, trimmed.
    pub error: Option<String>,
    pub created_at: i64,
}

/// One job's task, as seed 004's task log has it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskRecord {
    pub task_id: String,
    /// `owner/name`.
    pub repo: String,
    pub task_type: TaskType,
    /// The issue title, sanitized.
    pub description: String,
    pub complexity: u8,
    /// The model whose answer was kept (or the last one tried).
    pub worker: Option<String>,
    pub checker: Option<String>,
    pub outcome: TaskOutcome,
    pub attempts: u32,
    pub escalations: u32,
    pub validation_method: String,
    pub latency_ms: u64,
    pub tokens_in: u64,
    pub tokens_out: u64,
    pub cost_usd: f64,
    /// The prompt of the kept answer (the commit trailer).
    pub prompt_sha256: Option<String>,
    pub created_at: i64,
}

pub(super) fn to_i64<T: TryInto<i64>>(v: T) -> i64 {
    v.try_into().unwrap_or(i64::MAX)
}

fn from_i64<T: TryFrom<i64> + Default>(v: i64) -> T {
    T::try_from(v).unwrap_or_default()
}

#[derive(sqlx::FromRow)]
pub(super) struct AttemptRow {
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
    outcome: String,
    error: Option<String>,
    created_at: i64,
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
            outcome: r.outcome.parse()?,
            error: r.error,
            created_at: r.created_at,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(super) struct TaskRow {
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
        })
    }
}

pub(super) const INSERT_ATTEMPT: &str = "INSERT INTO attempts (job_id, repo, seq, tier, role, model, served_model, edit_format, prompt_sha256, prompt_tokens, completion_tokens, usage_estimated, cost_usd, latency_ms, outcome, error, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)";
pub(super) const SELECT_ATTEMPTS: &str = "SELECT seq, tier, role, model, served_model, edit_format, prompt_sha256, prompt_tokens, completion_tokens, usage_estimated, cost_usd, latency_ms, outcome, error, created_at FROM attempts WHERE job_id = $1 ORDER BY id";
pub(super) const UPSERT_TASK: &str = "INSERT INTO task_records (job_id, task_id, repo, task_type, description, complexity, worker, checker, outcome, attempts, escalations, validation_method, latency_ms, tokens_in, tokens_out, cost_usd, prompt_sha256, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19) ON CONFLICT (job_id) DO UPDATE SET task_id = excluded.task_id, repo = excluded.repo, task_type = excluded.task_type, description = excluded.description, complexity = excluded.complexity, worker = excluded.worker, checker = excluded.checker, outcome = excluded.outcome, attempts = excluded.attempts, escalations = excluded.escalations, validation_method = excluded.validation_method, latency_ms = excluded.latency_ms, tokens_in = excluded.tokens_in, tokens_out = excluded.tokens_out, cost_usd = excluded.cost_usd, prompt_sha256 = excluded.prompt_sha256, updated_at = excluded.updated_at";
pub(super) const SELECT_TASK: &str = "SELECT task_id, repo, task_type, description, complexity, worker, checker, outcome, attempts, escalations, validation_method, latency_ms, tokens_in, tokens_out, cost_usd, prompt_sha256, created_at FROM task_records WHERE job_id = $1";
pub(super) const UPSERT_PULL_OUTCOME: &str = "INSERT INTO pull_outcomes (repo, pull_number, merged, revision_rounds, task_job_id, closed_at) VALUES ($1, $2, $3, (SELECT COUNT(*) FROM task_records t JOIN jobs j ON j.id = t.job_id WHERE j.target_key = $4), (SELECT MAX(t.job_id) FROM task_records t JOIN jobs j ON j.id = t.job_id WHERE (j.target_key = $5 OR j.target_key = $4) AND t.outcome = 'pass'), $6) ON CONFLICT (repo, pull_number) DO UPDATE SET merged = excluded.merged, revision_rounds = excluded.revision_rounds, task_job_id = excluded.task_job_id, closed_at = excluded.closed_at";
pub(super) const PULL_STATS: &str = "SELECT COALESCE(t.worker, ''), t.task_type, COUNT(*), SUM(CASE WHEN p.merged THEN 1 ELSE 0 END), CAST(AVG(p.revision_rounds) AS DOUBLE PRECISION) FROM pull_outcomes p JOIN task_records t ON t.job_id = p.task_job_id GROUP BY t.worker, t.task_type ORDER BY 1, 2";
pub(super) const SPENT_SINCE: &str = "SELECT CAST(COALESCE(SUM(cost_usd), 0) AS DOUBLE PRECISION) FROM attempts WHERE repo = $1 AND created_at >= $2";

/// The attempt trail of the job store (every `JobStore` is one).
#[async_trait::async_trait]
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
    /// Merge rate and revision rounds by the model that wrote the change and the task type.
    async fn pull_stats(&self) -> Result<Vec<PullStat>, StoreError>;
}

/// How one of the bot's pull requests ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PullOutcome {
    /// `owner/name`.
    pub repo: String,
    pub pull_number: u64,
    pub merged: bool,
    /// The job key of the pull request (its revision rounds run there).
    pub pull_key: String,
    /// The job key of the issue it closes (where the task ran).
    pub issue_key: String,
}

/// Outcomes of the pull requests one model wrote for one task type.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PullStat {
    /// The `[models.<name>]` whose change was kept.
    pub worker: String,
    pub task_type: String,
    pub pulls: i64,
    pub merged: i64,
    /// Model runs on the pull request after it opened (revise, reviews, redo), on average.
    pub avg_revision_rounds: f64,
}

/// [`TrailStore`] for a store with a `pool`: the same text for both backends.
macro_rules! record_methods {
    ($store:ty) => {
        #[async_trait::async_trait]
        impl records::TrailStore for $store {
            async fn record_attempt(
                &self,
                job: JobId,
                repo: &str,
                a: &records::Attempt,
            ) -> Result<(), StoreError> {
                sqlx::query(records::INSERT_ATTEMPT)
                    .bind(job.0)
                    .bind(repo)
                    .bind(i64::from(a.seq))
                    .bind(i64::from(a.tier))
                    .bind(a.role.as_str())
                    .bind(&a.model)
                    .bind(&a.served_model)
                    .bind(records::format_str(a.edit_format))
                    .bind(&a.prompt_sha256)
                    .bind(i64::from(a.prompt_tokens))
                    .bind(i64::from(a.completion_tokens))
                    .bind(a.usage_estimated)
                    .bind(a.cost_usd)
                    .bind(records::to_i64(a.latency_ms))
                    .bind(a.outcome.as_str())
                    .bind(a.error.as_deref())
                    .bind(a.created_at)
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }

            async fn attempts(&self, job: JobId) -> Result<Vec<records::Attempt>, StoreError> {
                let rows: Vec<records::AttemptRow> = sqlx::query_as(records::SELECT_ATTEMPTS)
                    .bind(job.0)
                    .fetch_all(&self.pool)
                    .await?;
                rows.into_iter().map(records::Attempt::try_from).collect()
            }

            async fn record_task(
                &self,
                job: JobId,
                t: &records::TaskRecord,
                now: i64,
            ) -> Result<(), StoreError> {
                sqlx::query(records::UPSERT_TASK)
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
                    .bind(records::to_i64(t.latency_ms))
                    .bind(records::to_i64(t.tokens_in))
                    .bind(records::to_i64(t.tokens_out))
                    .bind(t.cost_usd)
                    .bind(t.prompt_sha256.as_deref())
                    .bind(t.created_at)
                    .bind(now)
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }

            async fn task_record(
                &self,
                job: JobId,
            ) -> Result<Option<records::TaskRecord>, StoreError> {
                let row: Option<records::TaskRow> = sqlx::query_as(records::SELECT_TASK)
                    .bind(job.0)
                    .fetch_optional(&self.pool)
                    .await?;
                row.map(records::TaskRecord::try_from).transpose()
            }

            async fn record_pull_outcome(
                &self,
                o: &records::PullOutcome,
                now: i64,
            ) -> Result<(), StoreError> {
                sqlx::query(records::UPSERT_PULL_OUTCOME)
                    .bind(&o.repo)
                    .bind(records::to_i64(o.pull_number))
                    .bind(o.merged)
                    .bind(&o.pull_key)
                    .bind(&o.issue_key)
                    .bind(now)
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }

            async fn pull_stats(&self) -> Result<Vec<records::PullStat>, StoreError> {
                let rows: Vec<(String, String, i64, i64, f64)> =
                    sqlx::query_as(records::PULL_STATS)
                        .fetch_all(&self.pool)
                        .await?;
                Ok(rows
                    .into_iter()
                    .map(|(worker, task_type, pulls, merged, avg_revision_rounds)| {
                        records::PullStat {
                            worker,
                            task_type,
                            pulls,
                            merged,
                            avg_revision_rounds,
                        }
                    })
                    .collect())
            }

            async fn spent_since(&self, repo: &str, since: i64) -> Result<f64, StoreError> {
                let (spent,): (f64,) = sqlx::query_as(records::SPENT_SINCE)
                    .bind(repo)
                    .bind(since)
                    .fetch_one(&self.pool)
                    .await?;
                Ok(spent)
            }
        }
    };
}
pub(super) use record_methods;
