//! The figures of `stats`, computed from task histories (records, attempts
//! and pull request outcomes). Pure: the same histories give the same
//! figures; `tune` reads them too.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::trail::{AttemptOutcome, AttemptRole, TaskHistory, TaskOutcome};

/// The reference cloud model "cost saved" is measured against.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Reference {
    /// The `[models.<name>]`.
    pub model: String,
    /// USD per million prompt tokens.
    pub price_in: f64,
    /// USD per million answer tokens.
    pub price_out: f64,
}

/// Everything `stats` prints.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Stats {
    pub tasks: usize,
    pub by_type: Vec<TypeRow>,
    pub by_model: Vec<ModelRow>,
    /// Passing tasks whose kept answer came from a local (free) tier.
    pub finished_local: usize,
    pub finished: usize,
    pub by_kind: Vec<KindRow>,
    pub by_repo: Vec<RepoRow>,
    pub savings: Savings,
    pub time_to_pr: TimeToPr,
    pub fallback: Rate,
    pub outcomes: Vec<OutcomeRow>,
    pub pairs: Vec<PairRow>,
}

/// A count of successes out of tries.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Rate {
    pub tries: usize,
    pub passed: usize,
}

impl Rate {
    /// The share that passed, `None` over no tries.
    pub fn ratio(&self) -> Option<f64> {
        (self.tries > 0).then(|| self.passed as f64 / self.tries as f64)
    }

    fn add(&mut self, passed: bool) {
        self.tries += 1;
        self.passed += usize::from(passed);
    }
}

/// Tasks of one type: how they ended and what they took.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct TypeRow {
    pub task_type: String,
    pub tasks: usize,
    pub pass: usize,
    pub fail: usize,
    pub clarify: usize,
    pub parked: usize,
    pub avg_attempts: f64,
    pub avg_escalations: f64,
    pub tokens: u64,
    pub cost_usd: f64,
}

/// One model on one tier of one ladder: its worker (and fallback) calls.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ModelRow {
    pub model: String,
    /// `<ladder>#<tier>` (`fallback` for the local fallback's answers).
    pub tier: String,
    pub paid: bool,
    pub calls: Rate,
    /// Answers not in the edit format or that did not apply.
    pub malformed: usize,
    /// Answers cut off.
    pub truncated: usize,
    pub tokens_in: u64,
    pub tokens_out: u64,
    pub cost_usd: f64,
}

/// Tokens and cost of local or paid calls (every role).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct KindRow {
    /// `local` or `paid`.
    pub kind: String,
    pub calls: usize,
    pub tokens_in: u64,
    pub tokens_out: u64,
    pub cost_usd: f64,
}

/// Tokens and cost of one repository.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct RepoRow {
    pub repo: String,
    pub tasks: usize,
    pub tokens_in: u64,
    pub tokens_out: u64,
    pub cost_usd: f64,
}

/// What the calls cost against what they would have cost on the reference.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Savings {
    pub reference: Reference,
    pub actual_usd: f64,
    pub reference_usd: f64,
    pub saved_usd: f64,
}

/// Time from the label (the job queued) to the pull request opening.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct TimeToPr {
    pub pulls: usize,
    pub p50_secs: Option<f64>,
    pub p95_secs: Option<f64>,
}

/// How the closed pull requests whose final change one model wrote, for one
/// task type, ended.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct OutcomeRow {
    pub worker: String,
    pub task_type: String,
    pub pulls: usize,
    pub merged: usize,
    pub closed_unmerged: usize,
    /// Model runs on the pull request after it opened, on average.
    pub avg_revision_rounds: f64,
}

/// A worker and the checker that reviewed its change.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct PairRow {
    pub worker: String,
    pub checker: String,
    /// Tasks the checker reviewed; passed: the change was kept.
    pub tasks: Rate,
    /// Of their closed pull requests, how many were merged.
    pub pulls: Rate,
}

fn is_worker(role: AttemptRole) -> bool {
    matches!(role, AttemptRole::Worker | AttemptRole::Fallback)
}

fn cost_of(tokens_in: u64, tokens_out: u64, price_in: f64, price_out: f64) -> f64 {
    (tokens_in as f64 * price_in + tokens_out as f64 * price_out) / 1_000_000.0
}

/// The value at nearest rank `p` (0..=1) of `sorted`.
fn percentile(sorted: &[f64], p: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (p * sorted.len() as f64).ceil() as usize;
    Some(sorted[rank.clamp(1, sorted.len()) - 1])
}

impl Stats {
    /// Passing tasks, and those of them finished on a local tier.
    pub fn local_share(&self) -> Rate {
        Rate {
            tries: self.finished,
            passed: self.finished_local,
        }
    }

    /// The figures of `histories`, with savings against `reference`.
    pub fn of(histories: &[TaskHistory], reference: Reference) -> Stats {
        let mut types: BTreeMap<String, TypeRow> = BTreeMap::new();
        let mut models: BTreeMap<(String, String), ModelRow> = BTreeMap::new();
        let mut kinds: BTreeMap<&'static str, KindRow> = BTreeMap::new();
        let mut repos: BTreeMap<String, RepoRow> = BTreeMap::new();
        let mut outcomes: BTreeMap<(String, String), (OutcomeRow, u64)> = BTreeMap::new();
        let mut pairs: BTreeMap<(String, String), PairRow> = BTreeMap::new();
        let mut fallback = Rate::default();
        let mut waits = Vec::new();
        let (mut finished, mut finished_local) = (0, 0);
        let (mut actual, mut referenced) = (0.0, 0.0);
        for h in histories {
            let r = &h.record;
            let row = types.entry(r.task_type.to_string()).or_default();
            row.tasks += 1;
            match r.outcome {
                TaskOutcome::Pass => row.pass += 1,
                TaskOutcome::Fail => row.fail += 1,
                TaskOutcome::Clarify => row.clarify += 1,
                TaskOutcome::Parked => row.parked += 1,
            }
            row.avg_attempts += f64::from(r.attempts);
            row.avg_escalations += f64::from(r.escalations);
            row.tokens += r.tokens_in + r.tokens_out;
            row.cost_usd += r.cost_usd;

            let repo = repos.entry(r.repo.clone()).or_default();
            repo.tasks += 1;
            repo.tokens_in += r.tokens_in;
            repo.tokens_out += r.tokens_out;
            repo.cost_usd += r.cost_usd;

            for a in &h.attempts {
                let sent = !a.outcome.is_skipped();
                let (tin, tout) = (u64::from(a.prompt_tokens), u64::from(a.completion_tokens));
                if sent {
                    let kind = kinds
                        .entry(if a.paid { "paid" } else { "local" })
                        .or_default();
                    kind.calls += 1;
                    kind.tokens_in += tin;
                    kind.tokens_out += tout;
                    kind.cost_usd += a.cost_usd;
                    actual += a.cost_usd;
                    referenced += cost_of(tin, tout, reference.price_in, reference.price_out);
                }
                if !is_worker(a.role) || !sent {
                    continue;
                }
                let passed = a.outcome == AttemptOutcome::Passed;
                if a.role == AttemptRole::Fallback {
                    fallback.add(passed);
                }
                let tier = match a.role {
                    AttemptRole::Fallback => "fallback".to_string(),
                    _ if r.ladder.is_empty() => format!("#{}", a.tier),
                    _ => format!("{}#{}", r.ladder, a.tier),
                };
                let m = models
                    .entry((a.model.clone(), tier.clone()))
                    .or_insert_with(|| ModelRow {
                        model: a.model.clone(),
                        tier,
                        paid: a.paid,
                        ..ModelRow::default()
                    });
                m.calls.add(passed);
                m.malformed += usize::from(a.outcome.is_malformed());
                m.truncated += usize::from(a.outcome == AttemptOutcome::Truncated);
                m.tokens_in += tin;
                m.tokens_out += tout;
                m.cost_usd += a.cost_usd;
            }

            if r.outcome == TaskOutcome::Pass {
                finished += 1;
                let kept = h
                    .attempts
                    .iter()
                    .rev()
                    .find(|a| is_worker(a.role) && a.outcome == AttemptOutcome::Passed);
                if kept.is_some_and(|a| !a.paid) {
                    finished_local += 1;
                }
            }
            if let (Some(queued), Some(published)) = (h.queued_at, h.published_at) {
                waits.push((published - queued).max(0) as f64 / 1000.0);
            }
            if let Some(closed) = &h.closed_pull {
                let worker = r.worker.clone().unwrap_or_default();
                let (o, rounds) = outcomes
                    .entry((worker.clone(), r.task_type.to_string()))
                    .or_insert_with(|| {
                        (
                            OutcomeRow {
                                worker,
                                task_type: r.task_type.to_string(),
                                ..OutcomeRow::default()
                            },
                            0,
                        )
                    });
                o.pulls += 1;
                if closed.merged {
                    o.merged += 1;
                } else {
                    o.closed_unmerged += 1;
                }
                *rounds += u64::from(closed.revision_rounds);
            }
            let reviewed = h
                .attempts
                .iter()
                .any(|a| a.role == AttemptRole::Checker && !a.outcome.is_skipped());
            if let (Some(worker), Some(checker), true) = (&r.worker, &r.checker, reviewed) {
                let pair = pairs
                    .entry((worker.clone(), checker.clone()))
                    .or_insert_with(|| PairRow {
                        worker: worker.clone(),
                        checker: checker.clone(),
                        ..PairRow::default()
                    });
                pair.tasks.add(r.outcome == TaskOutcome::Pass);
                if let Some(merged) = h.merged {
                    pair.pulls.add(merged);
                }
            }
        }
        for (task_type, row) in types.iter_mut() {
            row.task_type = task_type.clone();
            row.avg_attempts /= row.tasks as f64;
            row.avg_escalations /= row.tasks as f64;
        }
        waits.sort_by(f64::total_cmp);
        let mut pairs: Vec<PairRow> = pairs.into_values().collect();
        // Best first: merged share, then kept share, then experience.
        pairs.sort_by(|a, b| {
            let key = |p: &PairRow| {
                (
                    p.pulls.ratio().unwrap_or(-1.0),
                    p.tasks.ratio().unwrap_or(-1.0),
                    p.tasks.tries,
                )
            };
            let (ka, kb) = (key(a), key(b));
            kb.0.total_cmp(&ka.0)
                .then(kb.1.total_cmp(&ka.1))
                .then(kb.2.cmp(&ka.2))
        });
        Stats {
            tasks: histories.len(),
            by_type: types.into_values().collect(),
            by_model: models.into_values().collect(),
            finished,
            finished_local,
            by_kind: kinds
                .into_iter()
                .map(|(kind, mut row)| {
                    row.kind = kind.to_string();
                    row
                })
                .collect(),
            by_repo: repos
                .into_iter()
                .map(|(repo, mut row)| {
                    row.repo = repo;
                    row
                })
                .collect(),
            savings: Savings {
                reference,
                actual_usd: actual,
                reference_usd: referenced,
                saved_usd: referenced - actual,
            },
            time_to_pr: TimeToPr {
                pulls: waits.len(),
                p50_secs: percentile(&waits, 0.5),
                p95_secs: percentile(&waits, 0.95),
            },
            fallback,
            outcomes: outcomes
                .into_values()
                .map(|(mut row, rounds)| {
                    row.avg_revision_rounds = rounds as f64 / row.pulls as f64;
                    row
                })
                .collect(),
            pairs,
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::trail::{Attempt, ClosedPull, TaskRecord, TaskType};
    use gitkeeper_backends::EditFormat;

    pub(crate) fn attempt(
        role: AttemptRole,
        tier: u32,
        model: &str,
        outcome: AttemptOutcome,
        paid: bool,
    ) -> Attempt {
        Attempt {
            seq: 1,
            tier,
            role,
            model: model.into(),
            served_model: model.into(),
            edit_format: EditFormat::SearchReplace,
            prompt_sha256: String::new(),
            prompt_tokens: 1000,
            completion_tokens: 200,
            usage_estimated: false,
            cost_usd: if paid { 0.006 } else { 0.0 },
            latency_ms: 1000,
            validation_ms: 100,
            outcome,
            error: None,
            created_at: 0,
            provider: if paid {
                "anthropic api.anthropic.com".into()
            } else {
                "ollama 127.0.0.1:11434".into()
            },
            paid,
            sent_paths: vec!["src/greet.ts".into()],
            mode: crate::trail::TierMode::Edits,
            tool_calls: Vec::new(),
        }
    }

    pub(crate) fn history(
        job_id: i64,
        task_type: TaskType,
        outcome: TaskOutcome,
        attempts: Vec<Attempt>,
    ) -> TaskHistory {
        let worker = attempts
            .iter()
            .rev()
            .find(|a| is_worker(a.role))
            .map(|a| a.model.clone());
        TaskHistory {
            job_id,
            record: TaskRecord {
                task_id: job_id.to_string(),
                repo: "octo/app".into(),
                task_type,
                description: "Fix the greeting".into(),
                complexity: 2,
                worker,
                checker: None,
                outcome,
                attempts: u32::try_from(attempts.len()).unwrap(),
                escalations: 0,
                validation_method: "quick".into(),
                latency_ms: 1000,
                tokens_in: attempts.iter().map(|a| u64::from(a.prompt_tokens)).sum(),
                tokens_out: attempts
                    .iter()
                    .map(|a| u64::from(a.completion_tokens))
                    .sum(),
                cost_usd: attempts.iter().map(|a| a.cost_usd).sum(),
                prompt_sha256: None,
                created_at: 0,
                ladder: "quick-edit".into(),
                local_only: false,
            },
            attempts,
            queued_at: None,
            published_at: None,
            pull_number: None,
            merged: None,
            closed_pull: None,
        }
    }

    fn reference() -> Reference {
        Reference {
            model: "cloud-claude".into(),
            price_in: 3.0,
            price_out: 15.0,
        }
    }

    #[test]
    fn figures_count_types_models_local_share_savings_and_time_to_pr() {
        use AttemptOutcome::*;
        use AttemptRole::*;
        let mut local_pass = history(
            1,
            TaskType::Fix,
            TaskOutcome::Pass,
            vec![
                attempt(Worker, 1, "local-small", ParseFailed, false),
                attempt(Worker, 1, "local-small", Passed, false),
            ],
        );
        local_pass.queued_at = Some(0);
        local_pass.published_at = Some(60_000);
        local_pass.merged = Some(true);
        local_pass.closed_pull = Some(ClosedPull {
            merged: true,
            revision_rounds: 2,
        });
        let mut cloud_pass = history(
            2,
            TaskType::Fix,
            TaskOutcome::Pass,
            vec![
                attempt(Worker, 1, "local-small", ValidationFailed, false),
                attempt(Worker, 2, "cloud-deepseek", ModelFailed, true),
                attempt(Fallback, 2, "local-large", Passed, false),
            ],
        );
        cloud_pass.record.escalations = 1;
        cloud_pass.queued_at = Some(0);
        cloud_pass.published_at = Some(180_000);
        cloud_pass.closed_pull = Some(ClosedPull {
            merged: false,
            revision_rounds: 0,
        });
        let failed = history(
            3,
            TaskType::Docs,
            TaskOutcome::Fail,
            vec![
                attempt(Worker, 1, "local-small", Truncated, false),
                attempt(Worker, 2, "cloud-deepseek", SkippedPrivacy, true),
            ],
        );
        let stats = Stats::of(&[local_pass, cloud_pass, failed], reference());

        assert_eq!(stats.tasks, 3);
        let fix = &stats.by_type[1];
        assert_eq!(
            (fix.task_type.as_str(), fix.tasks, fix.pass, fix.fail),
            ("fix", 2, 2, 0)
        );
        assert_eq!(fix.avg_attempts, 2.5);
        assert_eq!(fix.avg_escalations, 0.5);
        assert_eq!(
            (stats.by_type[0].task_type.as_str(), stats.by_type[0].fail),
            ("docs", 1)
        );

        let small = stats
            .by_model
            .iter()
            .find(|m| m.model == "local-small")
            .unwrap();
        assert_eq!(small.tier, "quick-edit#1");
        assert_eq!((small.calls.tries, small.calls.passed), (4, 1));
        assert_eq!((small.malformed, small.truncated), (1, 1));
        // The skipped paid call was never sent: it counts nowhere.
        let deepseek = stats
            .by_model
            .iter()
            .find(|m| m.model == "cloud-deepseek")
            .unwrap();
        assert_eq!(deepseek.calls.tries, 1);
        assert_eq!((stats.fallback.tries, stats.fallback.passed), (1, 1));
        // Both passes were written by local models (one as the fallback).
        assert_eq!((stats.finished, stats.finished_local), (2, 2));

        // 6 calls sent, 1000 in / 200 out each (0.006 USD on the reference);
        // only the deepseek call cost money.
        let s = &stats.savings;
        assert!((s.actual_usd - 0.006).abs() < 1e-9, "{s:?}");
        assert!((s.reference_usd - 6.0 * 0.006).abs() < 1e-9, "{s:?}");
        assert!((s.saved_usd - 5.0 * 0.006).abs() < 1e-9, "{s:?}");
        let paid = stats.by_kind.iter().find(|k| k.kind == "paid").unwrap();
        assert_eq!((paid.calls, paid.tokens_in), (1, 1000));

        assert_eq!(stats.time_to_pr.pulls, 2);
        assert_eq!(stats.time_to_pr.p50_secs, Some(60.0));
        assert_eq!(stats.time_to_pr.p95_secs, Some(180.0));

        assert_eq!(stats.outcomes.len(), 2);
        let merged = stats
            .outcomes
            .iter()
            .find(|o| o.worker == "local-small")
            .unwrap();
        assert_eq!(
            (merged.pulls, merged.merged, merged.avg_revision_rounds),
            (1, 1, 2.0)
        );
        let closed = stats
            .outcomes
            .iter()
            .find(|o| o.worker == "local-large")
            .unwrap();
        assert_eq!((closed.pulls, closed.closed_unmerged), (1, 1));
    }

    #[test]
    fn pairs_rank_by_merged_then_kept_share() {
        use AttemptOutcome::*;
        use AttemptRole::*;
        let task = |id, worker: &str, checker: &str, verdict, merged| {
            let mut h = history(
                id,
                TaskType::Implement,
                if verdict == Passed {
                    TaskOutcome::Pass
                } else {
                    TaskOutcome::Fail
                },
                vec![
                    attempt(Worker, 1, worker, Passed, false),
                    attempt(Checker, 1, checker, verdict, false),
                ],
            );
            h.record.worker = Some(worker.into());
            h.record.checker = Some(checker.into());
            h.merged = merged;
            h
        };
        let stats = Stats::of(
            &[
                task(1, "local-large", "local-large", Passed, Some(false)),
                task(2, "local-large", "local-large", Passed, Some(true)),
                task(3, "cloud-deepseek", "local-large", Passed, Some(true)),
                task(4, "cloud-deepseek", "local-large", CheckerRejected, None),
                task(5, "local-small", "cloud-claude", Passed, None),
            ],
            reference(),
        );
        let order: Vec<(&str, &str)> = stats
            .pairs
            .iter()
            .map(|p| (p.worker.as_str(), p.checker.as_str()))
            .collect();
        assert_eq!(
            order,
            [
                ("cloud-deepseek", "local-large"),
                ("local-large", "local-large"),
                ("local-small", "cloud-claude"),
            ]
        );
        assert_eq!(
            (stats.pairs[0].tasks.tries, stats.pairs[0].tasks.passed),
            (2, 1)
        );
        assert_eq!(stats.pairs[2].pulls.ratio(), None);
    }

    #[test]
    fn no_tasks_gives_no_rates() {
        let stats = Stats::of(&[], reference());
        assert_eq!(stats.tasks, 0);
        assert_eq!(stats.time_to_pr.p50_secs, None);
        assert_eq!(stats.fallback.ratio(), None);
        assert_eq!(stats.savings.saved_usd, 0.0);
    }
}
