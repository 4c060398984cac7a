//! `gitkeeper-bot tune`: proposes changes to the escalation ladders and the
//! model settings from what the task records and `eval` results show, each
//! with its reason, its evidence and its expected effect on cost and
//! success; `--apply` writes them to the configuration file ([`apply`]).
//!
//! The rules: a tier that fails most of a ladder's tasks is skipped for
//! them; a model whose answers are often malformed answers with whole
//! files; a context window that truncates answers is lowered to what the
//! server really holds.
//!
//! Must never: propose from fewer records than [`MIN_TASKS`] /
//! [`MIN_CALLS`], drop a ladder's last tier, or change the file without
//! saying what changed (see [`apply`]).

pub mod apply;

use std::collections::BTreeMap;
use std::path::Path;

use gitkeeper_backends::EditFormat;
use serde::Serialize;

use crate::config::Settings;
use crate::eval::TaskResult;
use crate::trail::{AttemptOutcome, AttemptRole, TaskHistory};

/// Tasks on a tier before its pass rate is judged.
pub const MIN_TASKS: usize = 5;
/// Model calls before a model's answers are judged.
pub const MIN_CALLS: usize = 5;
/// A tier passing less than this share of its tasks is skipped.
pub const SKIP_BELOW: f64 = 0.5;
/// A model with at least this share of malformed answers answers whole files.
pub const MALFORMED_SHARE: f64 = 0.3;
/// Window-truncated answers (at least this many) lower the context window.
pub const MIN_TRUNCATED: usize = 2;

/// One change to the configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "change", rename_all = "snake_case")]
pub enum Change {
    /// Remove `model` from `[[route.ladder]] name = ladder`'s tiers.
    SkipTier { ladder: String, model: String },
    /// `[models.<model>] edit_format = "whole_file"`.
    WholeFile { model: String },
    /// `[models.<model>] context_window = to`.
    ContextWindow { model: String, from: u32, to: u32 },
}

impl std::fmt::Display for Change {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Change::SkipTier { ladder, model } => {
                write!(f, "[[route.ladder]] `{ladder}`: skip tier `{model}`")
            }
            Change::WholeFile { model } => {
                write!(f, "[models.{model}] edit_format = \"whole_file\"")
            }
            Change::ContextWindow { model, from, to } => {
                write!(f, "[models.{model}] context_window = {to} (was {from})")
            }
        }
    }
}

/// A change with why and what it should do.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Proposal {
    pub change: Change,
    /// What the records show.
    pub evidence: String,
    /// The expected effect on success and cost, estimated from the records.
    pub effect: String,
}

/// Why eval results could not be read (writing the file is [`apply::ApplyError`]).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TuneError {
    #[error(
        "cannot read eval results {path}: {source}; pass the results.jsonl an eval run wrote (or its folder)"
    )]
    ReadResults {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "{path}:{line}: not an eval result: {source}; pass the results.jsonl an eval run wrote"
    )]
    ParseResults {
        path: String,
        line: usize,
        #[source]
        source: serde_json::Error,
    },
}

/// The results of `eval` runs at `path` (a results.jsonl, or the folder holding one).
pub fn read_results(path: &Path) -> Result<Vec<TaskResult>, TuneError> {
    let file = if path.is_dir() {
        path.join("results.jsonl")
    } else {
        path.to_path_buf()
    };
    let shown = file.display().to_string();
    let text = std::fs::read_to_string(&file).map_err(|source| TuneError::ReadResults {
        path: shown.clone(),
        source,
    })?;
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            serde_json::from_str(l).map_err(|source| TuneError::ParseResults {
                path: shown.clone(),
                line: i + 1,
                source,
            })
        })
        .collect()
}

/// How one model did on one ladder: over tasks, and over its calls.
#[derive(Debug, Clone, Copy, Default)]
struct TierRecord {
    /// Tasks that reached the tier and whether it passed them.
    tasks: usize,
    passed: usize,
    /// Calls (from the trail; eval runs do not say).
    calls: usize,
    cost_usd: f64,
}

impl TierRecord {
    fn rate(&self) -> Option<f64> {
        (self.tasks > 0).then(|| self.passed as f64 / self.tasks as f64)
    }
}

/// How one model's answers came out.
#[derive(Debug, Clone, Copy, Default)]
struct AnswerRecord {
    /// Answers asked for in search/replace blocks.
    calls: usize,
    malformed: usize,
    passed: usize,
    completion_tokens: u64,
    /// All its calls, and those cut off below `max_tokens` (the window).
    all_calls: usize,
    window_cut: usize,
    /// The smallest prompt + answer at which an answer was cut off.
    cut_at: Option<u64>,
}

fn is_worker(role: AttemptRole) -> bool {
    matches!(role, AttemptRole::Worker | AttemptRole::Fallback)
}

fn pct(x: f64) -> String {
    format!("{:.0}%", 100.0 * x)
}

/// The proposals the records and eval results support, in config order.
pub fn propose(
    settings: &Settings,
    histories: &[TaskHistory],
    results: &[TaskResult],
) -> Vec<Proposal> {
    let mut tiers: BTreeMap<(String, String), TierRecord> = BTreeMap::new();
    let mut answers: BTreeMap<String, AnswerRecord> = BTreeMap::new();
    let ladder_models = |name: &str| -> Vec<String> {
        settings
            .route
            .ladder
            .iter()
            .find(|l| l.name == name)
            .map(|l| l.tiers.iter().map(|t| t.model().to_string()).collect())
            .unwrap_or_default()
    };
    for h in histories {
        let models = ladder_models(&h.record.ladder);
        let mut on_task: BTreeMap<&str, TierRecord> = BTreeMap::new();
        for a in &h.attempts {
            if !is_worker(a.role) || a.outcome.is_skipped() {
                continue;
            }
            let passed = a.outcome == AttemptOutcome::Passed;
            let answer = answers.entry(a.model.clone()).or_default();
            answer.all_calls += 1;
            let max_tokens = settings.models.get(&a.model).map_or(0, |m| m.max_tokens);
            if a.outcome == AttemptOutcome::Truncated && a.completion_tokens < max_tokens {
                answer.window_cut += 1;
                let at = u64::from(a.prompt_tokens) + u64::from(a.completion_tokens);
                answer.cut_at = Some(answer.cut_at.map_or(at, |c| c.min(at)));
            }
            if a.edit_format == EditFormat::SearchReplace
                && a.outcome != AttemptOutcome::ModelFailed
            {
                answer.calls += 1;
                answer.malformed += usize::from(a.outcome.is_malformed());
                answer.passed += usize::from(passed);
                answer.completion_tokens += u64::from(a.completion_tokens);
            }
            if a.role == AttemptRole::Worker && models.contains(&a.model) {
                let t = on_task.entry(a.model.as_str()).or_default();
                t.tasks = 1;
                t.passed = t.passed.max(usize::from(passed));
                t.calls += 1;
                t.cost_usd += a.cost_usd;
            }
        }
        for (model, t) in on_task {
            let all = tiers
                .entry((h.record.ladder.clone(), model.to_string()))
                .or_default();
            all.tasks += t.tasks;
            all.passed += t.passed;
            all.calls += t.calls;
            all.cost_usd += t.cost_usd;
        }
    }
    // Eval: the tiers before the one that ended the task failed it; the
    // first tier's first answer says whether it was well formed.
    for r in results.iter().filter(|r| r.outcome != "error") {
        let (Some(ladder), Some(model)) = (&r.route, &r.model) else {
            continue;
        };
        let models = ladder_models(ladder);
        let Some(end) = models.iter().position(|m| m == model) else {
            continue;
        };
        for (i, m) in models.iter().enumerate().take(end + 1) {
            let t = tiers.entry((ladder.clone(), m.clone())).or_default();
            t.tasks += 1;
            t.passed += usize::from(i == end && r.outcome == "pass");
        }
        let first = &models[0];
        if r.attempts > 0
            && settings
                .models
                .get(first)
                .is_some_and(|m| m.edit_format == EditFormat::SearchReplace)
        {
            let answer = answers.entry(first.clone()).or_default();
            answer.calls += 1;
            answer.malformed += usize::from(!r.first_try_well_formed);
        }
    }

    let mut out = Vec::new();
    for ladder in &settings.route.ladder {
        let models: Vec<&str> = ladder.tiers.iter().map(|t| t.model()).collect();
        let mut kept = models.len();
        for (i, model) in models.iter().enumerate() {
            let Some(t) = tiers.get(&(ladder.name.clone(), model.to_string())) else {
                continue;
            };
            let Some(rate) = t.rate() else { continue };
            if kept <= 1 || i + 1 == models.len() || t.tasks < MIN_TASKS || rate >= SKIP_BELOW {
                continue;
            }
            kept -= 1;
            let next = models[i + 1];
            let after = tiers
                .get(&(ladder.name.clone(), next.to_string()))
                .copied()
                .unwrap_or_default();
            let success = match after.rate() {
                Some(next_rate) => format!(
                    "success on these tasks {:+.0} pp (the {} it passed go to `{next}`, which passed {})",
                    // `+ 0.0` turns -0 into 0.
                    -100.0 * rate * (1.0 - next_rate) + 0.0,
                    t.passed,
                    pct(next_rate)
                ),
                None => format!(
                    "success: the {} tasks it passed go to `{next}`, which has no record on this ladder yet",
                    t.passed
                ),
            };
            let per_try = |r: &TierRecord| {
                if r.calls > 0 {
                    r.cost_usd / r.tasks.max(1) as f64
                } else {
                    0.0
                }
            };
            let cost = rate * per_try(&after) - per_try(t);
            let calls = if t.calls > 0 {
                format!(
                    ", {:.1} fewer model calls per task",
                    t.calls as f64 / t.tasks as f64
                )
            } else {
                String::new()
            };
            out.push(Proposal {
                change: Change::SkipTier {
                    ladder: ladder.name.clone(),
                    model: model.to_string(),
                },
                evidence: format!(
                    "`{model}` passed {} of the {} `{}` tasks that reached it ({})",
                    t.passed,
                    t.tasks,
                    ladder.name,
                    pct(rate)
                ),
                effect: format!("{success}; cost {cost:+.4} USD per task{calls}"),
            });
        }
    }
    for (model, a) in &answers {
        let Some(settings) = settings.models.get(model) else {
            continue;
        };
        if settings.edit_format == EditFormat::SearchReplace
            && a.calls >= MIN_CALLS
            && a.malformed as f64 / a.calls as f64 >= MALFORMED_SHARE
        {
            let share = a.malformed as f64 / a.calls as f64;
            let judged = a.calls - a.malformed;
            let well_formed_pass = (judged > 0).then(|| a.passed as f64 / judged as f64);
            let success = match well_formed_pass {
                Some(p) => format!(
                    "success per call {:+.0} pp if whole-file answers pass like its well-formed ones ({})",
                    100.0 * share * p,
                    pct(p)
                ),
                None => "success: none of its answers has been judged yet".to_string(),
            };
            let cost = if crate::route::is_paid(settings) && a.calls > 0 {
                let per_call = a.completion_tokens as f64 / a.calls as f64;
                format!(
                    "cost up to {:+.4} USD per call (answers about twice as long)",
                    per_call * settings.price_out / 1_000_000.0
                )
            } else {
                "cost: none (a local model); answers get longer".to_string()
            };
            out.push(Proposal {
                change: Change::WholeFile {
                    model: model.clone(),
                },
                evidence: format!(
                    "{} of its {} search/replace answers did not parse or apply ({})",
                    a.malformed,
                    a.calls,
                    pct(share)
                ),
                effect: format!("{success}; {cost}"),
            });
        }
        if let Some(cut_at) = a.cut_at.filter(|_| a.window_cut >= MIN_TRUNCATED) {
            let to = u32::try_from(cut_at / 512 * 512).unwrap_or(u32::MAX);
            if to > 0 && to < settings.context_window {
                let from = settings.context_window;
                out.push(Proposal {
                    change: Change::ContextWindow {
                        model: model.clone(),
                        from,
                        to,
                    },
                    evidence: format!(
                        "{} of its {} answers were cut off before max_tokens ({}), the smallest at {cut_at} tokens of prompt and answer: the server holds less than context_window {from}",
                        a.window_cut, a.all_calls, settings.max_tokens
                    ),
                    effect: format!(
                        "success: prompts are trimmed to fit, so those {} calls get whole answers; cost: prompts up to {} smaller",
                        a.window_cut,
                        pct(1.0 - f64::from(to) / f64::from(from))
                    ),
                });
            }
        }
    }
    out
}

#[cfg(test)]
mod tests;
