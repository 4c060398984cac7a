//! One task run's result as plain data (a JSONL line), and the pure rules
//! that classify it: resolved, validated, false pass, a well-formed first
//! answer, and why it failed.
//!
//! Must never: call a false pass anything but a false pass (validated and
//! the hidden check failing), or count a run that could not start as a
//! resolved or validated one.

use serde::{Deserialize, Serialize};

use super::suite::Level;
use crate::trail::{Attempt, AttemptOutcome, AttemptRole};

/// What one configuration did on one task.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskResult {
    pub suite: String,
    pub task: String,
    pub level: Level,
    pub fixture: String,
    /// The configuration's label (`A`'s and `B`'s file names).
    pub config: String,
    /// How the task ended: pass, fail, clarify, parked, or error (it could not run).
    pub outcome: String,
    /// The hidden check passes on the bot's final tree.
    pub resolved: bool,
    /// The bot's own checks passed: it would open a pull request.
    pub validated: bool,
    /// Validated, but the hidden check fails.
    pub false_pass: bool,
    /// Validated, but the bot's checks could not exercise the change (a
    /// test script that runs nothing, zero tests, no test importing it):
    /// they proved nothing; with a failing hidden check, a false pass.
    #[serde(default)]
    pub proved_nothing: bool,
    /// The first attempt's edits parsed and applied.
    pub first_try_well_formed: bool,
    /// Worker and fallback model calls.
    pub attempts: u32,
    pub escalations: u32,
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    /// The ladder climbed.
    pub route: Option<String>,
    /// The model whose answer was kept, or the last one tried.
    pub model: Option<String>,
    /// Why it failed: the trail's last error, the question asked, or the hidden check's output.
    pub failure: Option<String>,
    pub seconds: Stages,
}

/// Where the wall time went, in seconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Stages {
    /// Copying the fixture, its setup commands, the base commit.
    pub setup: f64,
    /// Context package, command plan and the base commit's checks.
    pub prepare: f64,
    /// Model calls (every role).
    pub model: f64,
    /// Parsing, applying and validating answers.
    pub validation: f64,
    /// The rest of the generation loop (prompts, reverts).
    pub overhead: f64,
    /// The hidden check.
    pub hidden: f64,
    pub wall: f64,
}

impl Stages {
    /// The stages in the order they run, with their names (for charts).
    pub fn parts(&self) -> [(&'static str, f64); 6] {
        [
            ("setup", self.setup),
            ("prepare", self.prepare),
            ("model", self.model),
            ("validation", self.validation),
            ("overhead", self.overhead),
            ("hidden", self.hidden),
        ]
    }
}

/// What the bot and the hidden check said, combined.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verdict {
    pub resolved: bool,
    pub validated: bool,
    pub false_pass: bool,
}

impl Verdict {
    /// `validated`: the bot kept a change; `hidden_passed`: the hidden check
    /// passed on the tree the bot left (`None`: it could not run).
    pub fn of(validated: bool, hidden_passed: Option<bool>) -> Verdict {
        let hidden = hidden_passed == Some(true);
        Verdict {
            resolved: hidden,
            validated,
            false_pass: validated && !hidden,
        }
    }
}

/// True when the first worker answer's edits parsed and applied (its
/// validation may still have failed).
pub fn first_try_well_formed(attempts: &[Attempt]) -> bool {
    attempts
        .iter()
        .find(|a| matches!(a.role, AttemptRole::Worker | AttemptRole::Fallback))
        .is_some_and(|a| {
            matches!(
                a.outcome,
                AttemptOutcome::Passed
                    | AttemptOutcome::ValidationFailed
                    | AttemptOutcome::CheckerRejected
            )
        })
}

/// The model calls that wrote edits (not the checker's reviews).
pub fn worker_attempts(attempts: &[Attempt]) -> u32 {
    let n = attempts
        .iter()
        .filter(|a| matches!(a.role, AttemptRole::Worker | AttemptRole::Fallback))
        .count();
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// The last worker model tried.
pub fn last_worker(attempts: &[Attempt]) -> Option<String> {
    attempts
        .iter()
        .rev()
        .find(|a| matches!(a.role, AttemptRole::Worker | AttemptRole::Fallback))
        .map(|a| a.model.clone())
}

/// A percentage of `part` in `whole` (0 for an empty whole).
pub fn percent(part: usize, whole: usize) -> f64 {
    if whole == 0 {
        0.0
    } else {
        100.0 * part as f64 / whole as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attempt(role: AttemptRole, outcome: AttemptOutcome, model: &str) -> Attempt {
        Attempt {
            seq: 1,
            tier: 1,
            role,
            model: model.into(),
            served_model: String::new(),
            edit_format: gitkeeper_backends::EditFormat::SearchReplace,
            prompt_sha256: String::new(),
            prompt_tokens: 10,
            completion_tokens: 5,
            usage_estimated: false,
            cost_usd: 0.0,
            latency_ms: 100,
            validation_ms: 50,
            outcome,
            error: None,
            created_at: 0,
            provider: String::new(),
            paid: false,
            sent_paths: Vec::new(),
            mode: crate::trail::TierMode::Edits,
            tool_calls: Vec::new(),
        }
    }

    #[test]
    fn a_validated_change_the_hidden_check_rejects_is_a_false_pass() {
        let v = Verdict::of(true, Some(false));
        assert_eq!(
            v,
            Verdict {
                resolved: false,
                validated: true,
                false_pass: true
            }
        );
        // The hidden check could not run: not resolved, and still a false pass.
        assert!(Verdict::of(true, None).false_pass);
    }

    #[test]
    fn validated_and_hidden_passing_is_resolved_without_false_pass() {
        assert_eq!(
            Verdict::of(true, Some(true)),
            Verdict {
                resolved: true,
                validated: true,
                false_pass: false
            }
        );
    }

    #[test]
    fn an_unvalidated_run_is_never_a_false_pass() {
        let v = Verdict::of(false, Some(false));
        assert!(!v.resolved && !v.validated && !v.false_pass);
        // The hidden check passes on what the bot left although it kept no change.
        let v = Verdict::of(false, Some(true));
        assert!(v.resolved && !v.validated && !v.false_pass);
    }

    #[test]
    fn the_first_worker_answer_decides_well_formedness() {
        use AttemptOutcome::*;
        use AttemptRole::*;
        let ok = [
            attempt(Worker, ValidationFailed, "a"),
            attempt(Worker, Passed, "a"),
        ];
        assert!(first_try_well_formed(&ok));
        let bad = [
            attempt(Worker, ParseFailed, "a"),
            attempt(Worker, Passed, "a"),
        ];
        assert!(!first_try_well_formed(&bad));
        assert!(!first_try_well_formed(&[attempt(Worker, ApplyFailed, "a")]));
        assert!(!first_try_well_formed(&[attempt(Worker, ModelFailed, "a")]));
        assert!(!first_try_well_formed(&[]));
        let checked = [
            attempt(Worker, Passed, "small"),
            attempt(Checker, CheckerRejected, "judge"),
            attempt(Worker, Truncated, "large"),
        ];
        assert!(first_try_well_formed(&checked));
        assert_eq!(worker_attempts(&checked), 2);
        assert_eq!(last_worker(&checked).as_deref(), Some("large"));
    }

    #[test]
    fn percentages_of_nothing_are_zero() {
        assert_eq!(percent(1, 4), 25.0);
        assert_eq!(percent(0, 0), 0.0);
    }
}
