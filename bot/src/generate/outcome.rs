//! What a run of the generation loop came to: the outcome, the attempt
//! trail, and the task record (seed 004's task log) made from them. Plain
//! values; storing them is the job store's.

use std::time::Duration;

use gitkeeper::edits::AppliedEdits;

use super::CheckerVerdict;
use crate::queue::now_ms;
use crate::route::Route;
use crate::trail::{Attempt, AttemptRole, TaskOutcome, TaskRecord};
use crate::validate::ValidationReport;

/// How the loop ended.
#[derive(Debug, Clone, PartialEq)]
pub enum GenerationOutcome {
    /// Edits applied in the work dir and validated.
    Succeeded {
        applied: AppliedEdits,
        validation: ValidationReport,
        checker: Option<CheckerVerdict>,
        /// The model whose answer was kept.
        worker: String,
        prompt_sha256: String,
    },
    /// The model needs a maintainer's answer first.
    Clarify { question: String, model: String },
    /// Waiting for `/gitkeeper approve` before the paid tier `model`.
    Parked { model: String, tier: u32 },
    /// Every tier ran out: manual review or a skip decision.
    Exhausted {
        last_error: Option<String>,
        /// The last answer whose edits applied but did not pass (validation
        /// or the checker), for a draft pull request; not on disk.
        closest: Option<Box<Closest>>,
    },
}

/// An answer that applied but did not pass.
#[derive(Debug, Clone, PartialEq)]
pub struct Closest {
    pub applied: AppliedEdits,
    pub validation: ValidationReport,
    pub model: String,
    pub prompt_sha256: String,
}

/// The loop's result with its attempt trail.
#[derive(Debug, Clone, PartialEq)]
pub struct Generation {
    pub outcome: GenerationOutcome,
    pub attempts: Vec<Attempt>,
    /// The tiers whose context package was trimmed to fit their model's window.
    pub packages: Vec<super::PackageFit>,
    /// Tiers climbed past the first.
    pub escalations: u32,
    pub latency: Duration,
    /// The `local_only_paths` the task touched (no paid call was sent).
    pub local_only: Vec<String>,
    /// The context package the kept answer's prompt carried, rendered (for `export`).
    pub context: Option<String>,
}

impl Generation {
    pub fn tokens_in(&self) -> u64 {
        self.attempts
            .iter()
            .map(|a| u64::from(a.prompt_tokens))
            .sum()
    }

    pub fn tokens_out(&self) -> u64 {
        self.attempts
            .iter()
            .map(|a| u64::from(a.completion_tokens))
            .sum()
    }

    pub fn cost_usd(&self) -> f64 {
        self.attempts.iter().map(|a| a.cost_usd).sum()
    }

    /// The task record (seed 004's task log) of this run.
    pub fn task_record(
        &self,
        route: &Route,
        repo: &str,
        description: &str,
        task_id: &str,
    ) -> TaskRecord {
        let (outcome, worker, sha, validation) = match &self.outcome {
            GenerationOutcome::Succeeded {
                worker,
                prompt_sha256,
                validation,
                ..
            } => (
                TaskOutcome::Pass,
                Some(worker.clone()),
                Some(prompt_sha256.clone()),
                validation.method.clone(),
            ),
            GenerationOutcome::Clarify { model, .. } => (
                TaskOutcome::Clarify,
                Some(model.clone()),
                None,
                String::new(),
            ),
            GenerationOutcome::Parked { .. } => {
                (TaskOutcome::Parked, self.last_worker(), None, String::new())
            }
            GenerationOutcome::Exhausted { .. } => {
                (TaskOutcome::Fail, self.last_worker(), None, String::new())
            }
        };
        let validation_method = if validation.is_empty() {
            route.validation.as_str().to_string()
        } else {
            format!("{} ({})", route.validation.as_str(), validation)
        };
        TaskRecord {
            task_id: task_id.to_string(),
            repo: repo.to_string(),
            task_type: route.classification.task_type,
            description: gitkeeper::sanitize::sanitize_untrusted(description).text,
            complexity: route.classification.complexity,
            worker,
            checker: route.checker.clone(),
            outcome,
            attempts: u32::try_from(
                self.attempts
                    .iter()
                    .filter(|a| a.role != AttemptRole::Checker)
                    .filter(|a| !a.outcome.is_skipped())
                    .count(),
            )
            .unwrap_or(u32::MAX),
            escalations: self.escalations,
            validation_method,
            latency_ms: u64::try_from(self.latency.as_millis()).unwrap_or(u64::MAX),
            tokens_in: self.tokens_in(),
            tokens_out: self.tokens_out(),
            cost_usd: self.cost_usd(),
            prompt_sha256: sha,
            created_at: now_ms(),
            ladder: route.ladder.clone(),
            local_only: !self.local_only.is_empty(),
        }
    }

    /// Store the attempt trail and the task record of this run for `job`.
    pub async fn record(
        &self,
        store: &dyn crate::queue::TrailStore,
        job: crate::ids::JobId,
        task: &TaskRecord,
    ) -> Result<(), crate::queue::StoreError> {
        for attempt in &self.attempts {
            store.record_attempt(job, &task.repo, attempt).await?;
        }
        store.record_task(job, task, now_ms()).await
    }

    /// What `export` keeps of a passing run: its context and final diff.
    pub fn sample(&self) -> Option<crate::trail::TaskSample> {
        match (&self.outcome, &self.context) {
            (GenerationOutcome::Succeeded { applied, .. }, Some(context)) => {
                Some(crate::trail::TaskSample {
                    context: context.clone(),
                    diff: applied.diff().text,
                })
            }
            _ => None,
        }
    }

    fn last_worker(&self) -> Option<String> {
        self.attempts
            .iter()
            .rev()
            .find(|a| a.role != AttemptRole::Checker && !a.outcome.is_skipped())
            .map(|a| a.model.clone())
    }
}
