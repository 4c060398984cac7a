//! The attempt trail as plain data: every model call of a job ([`Attempt`]),
//! one [`TaskRecord`] per job with the fields of seed 004's task log, how
//! the bot's pull requests ended ([`PullOutcome`]), and a task with all of
//! that as `stats`, `tune` and `export` read it ([`TaskHistory`]). `generate/`
//! produces these values and the job store persists them.
//!
//! Must never: talk to a database or import a stage of the job path (it is a
//! leaf that the queue, routing and generation all read), or hold prompts or
//! answers in an attempt or task record (only their hash, counts, cost, the
//! paths sent and a trimmed error summary). The one value with code in it,
//! [`TaskSample`] (a task's context and final diff for `export`), is stored
//! apart and deleted with stored prompts.

use std::fmt;
use std::str::FromStr;

use gitkeeper_backends::{Completion, EditFormat};
use serde::{Deserialize, Serialize};

/// What kind of change a task asks for. Routing classifies a task into one;
/// the task record keeps it, so it lives with the trail.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskType {
    Implement,
    Fix,
    Refactor,
    Test,
    Docs,
}

impl TaskType {
    pub const ALL: [TaskType; 5] = [
        TaskType::Implement,
        TaskType::Fix,
        TaskType::Refactor,
        TaskType::Test,
        TaskType::Docs,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            TaskType::Implement => "implement",
            TaskType::Fix => "fix",
            TaskType::Refactor => "refactor",
            TaskType::Test => "test",
            TaskType::Docs => "docs",
        }
    }
}

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
    /// Not sent: the model's context window cannot hold the prompt, even
    /// with no files in the context package.
    SkippedWindow,
    /// Not sent: the model is paid and the task touches paths the
    /// repository or the operator keeps local (`local_only_paths`).
    SkippedPrivacy,
    /// Agent mode: stopped by a hard cap (tool calls, tokens) or the cost
    /// guard before the agent finished.
    StoppedBudget,
    /// Agent mode: too many malformed tool calls; the tier went on in edit mode.
    MalformedToolCalls,
}

impl AttemptOutcome {
    pub const ALL: [AttemptOutcome; 13] = [
        AttemptOutcome::Passed,
        AttemptOutcome::ModelFailed,
        AttemptOutcome::Truncated,
        AttemptOutcome::ParseFailed,
        AttemptOutcome::ApplyFailed,
        AttemptOutcome::ValidationFailed,
        AttemptOutcome::CheckerRejected,
        AttemptOutcome::Clarification,
        AttemptOutcome::SkippedBudget,
        AttemptOutcome::SkippedWindow,
        AttemptOutcome::SkippedPrivacy,
        AttemptOutcome::StoppedBudget,
        AttemptOutcome::MalformedToolCalls,
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
            AttemptOutcome::SkippedWindow => "skipped_window",
            AttemptOutcome::SkippedPrivacy => "skipped_privacy",
            AttemptOutcome::StoppedBudget => "stopped_budget",
            AttemptOutcome::MalformedToolCalls => "malformed_tool_calls",
        }
    }

    /// True when no call was made (a budget cap, the context window or
    /// the repository's local-only paths).
    pub fn is_skipped(self) -> bool {
        matches!(
            self,
            AttemptOutcome::SkippedBudget
                | AttemptOutcome::SkippedWindow
                | AttemptOutcome::SkippedPrivacy
        )
    }

    /// True when the answer was not in the edit format or did not apply.
    pub fn is_malformed(self) -> bool {
        matches!(
            self,
            AttemptOutcome::ParseFailed | AttemptOutcome::ApplyFailed
        )
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

/// A stored name that is not one of a trail enum's values.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {what} {value:?}")]
pub struct UnknownName {
    /// The enum that was read.
    pub what: &'static str,
    /// The text that named none of its values.
    pub value: String,
}

macro_rules! str_enum {
    ($($t:ty),*) => {$(
        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $t {
            type Err = UnknownName;
            fn from_str(s: &str) -> Result<Self, UnknownName> {
                <$t>::ALL
                    .into_iter()
                    .find(|v| v.as_str() == s)
                    .ok_or_else(|| UnknownName { what: stringify!($t), value: s.to_string() })
            }
        }
    )*};
}
str_enum!(TaskType, AttemptOutcome, TaskOutcome);

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

/// How a ladder tier works: one answer with edits from the context
/// package, or a tool-calling agent that looks around before it edits.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TierMode {
    #[default]
    Edits,
    Agent,
}

impl TierMode {
    pub const ALL: [TierMode; 2] = [TierMode::Edits, TierMode::Agent];

    pub fn as_str(self) -> &'static str {
        match self {
            TierMode::Edits => "edits",
            TierMode::Agent => "agent",
        }
    }
}
str_enum!(TierMode);

/// One tool call of an agent-mode attempt, as the trail keeps it: never the
/// file contents an edit wrote or a read returned, only their size.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ToolCallRecord {
    /// The tool named (as the model spelled it, for an unknown one).
    pub tool: String,
    /// The arguments, trimmed; an edit's only as the files it names.
    pub arguments: String,
    /// Characters of the result the model read back.
    pub result_chars: u64,
    /// Wall time of the tool.
    pub ms: u64,
    /// False when the call was malformed or the tool refused or failed.
    pub ok: bool,
}

/// One model call of a job (in agent mode: one agent session, its calls
/// summed and its tool calls listed).
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
    /// The model call's wall time.
    pub latency_ms: u64,
    /// Parsing, applying and validating the answer (0 when none came).
    #[serde(default)]
    pub validation_ms: u64,
    pub outcome: AttemptOutcome,
    /// What went wrong, trimmed.
    pub error: Option<String>,
    pub created_at: i64,
    /// Where the prompt went: the backend and its host (`anthropic
    /// api.anthropic.com`); empty when nothing was sent.
    #[serde(default)]
    pub provider: String,
    /// The model has a price (a cloud tier).
    #[serde(default)]
    pub paid: bool,
    /// Repository paths whose content was in the prompt (the privacy
    /// ledger); empty when nothing was sent.
    #[serde(default)]
    pub sent_paths: Vec<String>,
    /// How the tier worked.
    #[serde(default)]
    pub mode: TierMode,
    /// Agent mode: every tool call, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tool_calls: Vec<ToolCallRecord>,
}

/// Which model call an [`Attempt`] records, as known before its answer.
#[derive(Debug, Clone, Copy)]
pub struct CallSlot<'a> {
    /// 1-based order within the job.
    pub seq: u32,
    pub tier: u32,
    pub role: AttemptRole,
    /// The `[models.<name>]` entry.
    pub model: &'a str,
    pub edit_format: EditFormat,
    pub prompt_sha256: &'a str,
    /// The backend and its host (see [`Attempt::provider`]).
    pub provider: &'a str,
    pub paid: bool,
    /// Repository paths whose content is in the prompt.
    pub sent_paths: &'a [String],
}

impl Attempt {
    /// The attempt the call `slot` came to. `completion` is the server's
    /// answer (`None` when the call failed or was not sent): its usage,
    /// cost, latency and served model are kept. `validation_ms` starts at 0.
    /// The ledger (provider, paths) is kept whenever the call was made, even
    /// when it failed (the server may have read the prompt); a skipped call
    /// sent nothing.
    pub fn of_call(
        slot: CallSlot<'_>,
        completion: Option<&Completion>,
        outcome: AttemptOutcome,
        error: Option<String>,
        created_at: i64,
    ) -> Attempt {
        let usage = completion.map(|c| c.usage).unwrap_or_default();
        let sent = !outcome.is_skipped();
        Attempt {
            seq: slot.seq,
            tier: slot.tier,
            role: slot.role,
            model: slot.model.to_string(),
            served_model: completion.map(|c| c.model.clone()).unwrap_or_default(),
            edit_format: slot.edit_format,
            prompt_sha256: slot.prompt_sha256.to_string(),
            prompt_tokens: usage.prompt_tokens,
            completion_tokens: usage.completion_tokens,
            usage_estimated: usage.estimated,
            cost_usd: completion.map_or(0.0, |c| c.cost_usd),
            latency_ms: completion.map_or(0, |c| {
                u64::try_from(c.latency.as_millis()).unwrap_or(u64::MAX)
            }),
            validation_ms: 0,
            outcome,
            error,
            created_at,
            provider: if sent {
                slot.provider.to_string()
            } else {
                String::new()
            },
            paid: slot.paid,
            sent_paths: if sent {
                slot.sent_paths.to_vec()
            } else {
                Vec::new()
            },
            mode: TierMode::Edits,
            tool_calls: Vec::new(),
        }
    }
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
    /// The `[[route.ladder]]` the task climbed.
    #[serde(default)]
    pub ladder: String,
    /// The task's context or change touched `local_only_paths`: no paid
    /// tier was called for it, and `export` leaves it out unless asked.
    #[serde(default)]
    pub local_only: bool,
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

/// One task as `stats`, `tune` and `export` read it: its record, its
/// attempts, and what became of its pull request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskHistory {
    pub job_id: i64,
    pub record: TaskRecord,
    /// In the order they were recorded.
    pub attempts: Vec<Attempt>,
    /// When the job was queued (the label or command), ms since the epoch.
    pub queued_at: Option<i64>,
    /// When the task's pull request was opened or updated, ms since the epoch.
    pub published_at: Option<i64>,
    pub pull_number: Option<u64>,
    /// Whether the pull request this task opened (or wrote the last change
    /// of) was merged; `None` while it is open or when there is none.
    pub merged: Option<bool>,
    /// Set when this task wrote the final change of a closed pull request
    /// (the model the outcome is credited to: the last passing run's).
    pub closed_pull: Option<ClosedPull>,
}

/// How a closed pull request ended, for the task credited with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClosedPull {
    pub merged: bool,
    /// Model runs on the pull request after it opened.
    pub revision_rounds: u32,
}

/// What a finished task leaves for `export`: the context package as its
/// model saw it and the final diff.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskSample {
    pub context: String,
    pub diff: String,
}
