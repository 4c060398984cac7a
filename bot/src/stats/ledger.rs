//! Where the code went (`stats --privacy`): per task, which repository
//! paths and how many tokens went to which provider and model, from the
//! attempts' ledger; and whether the task touched local-only paths (then
//! no paid model may appear under it).

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::trail::TaskHistory;

/// The ledger of the tasks in a window.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Ledger {
    pub tasks: Vec<TaskLedger>,
    /// Every provider and model over all tasks.
    pub totals: Vec<Destination>,
}

/// One task's destinations.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TaskLedger {
    pub job_id: i64,
    pub repo: String,
    /// The first line of the task, as recorded.
    pub task: String,
    /// The task touched `local_only_paths`.
    pub local_only: bool,
    pub sent_to: Vec<Destination>,
}

/// What went to one model at one provider.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Destination {
    pub provider: String,
    pub model: String,
    pub paid: bool,
    pub calls: usize,
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    /// Repository paths whose content went there, sorted.
    pub paths: Vec<String>,
}

type Key = (String, String);

fn add(map: &mut BTreeMap<Key, (Destination, BTreeSet<String>)>, a: &crate::trail::Attempt) {
    let (d, paths) = map
        .entry((a.provider.clone(), a.model.clone()))
        .or_insert_with(|| {
            (
                Destination {
                    provider: a.provider.clone(),
                    model: a.model.clone(),
                    paid: a.paid,
                    ..Destination::default()
                },
                BTreeSet::new(),
            )
        });
    d.calls += 1;
    d.prompt_tokens += u64::from(a.prompt_tokens);
    d.completion_tokens += u64::from(a.completion_tokens);
    paths.extend(a.sent_paths.iter().cloned());
}

fn finish(map: BTreeMap<Key, (Destination, BTreeSet<String>)>) -> Vec<Destination> {
    map.into_values()
        .map(|(mut d, paths)| {
            d.paths = paths.into_iter().collect();
            d
        })
        .collect()
}

impl Ledger {
    /// The ledger of `histories`: only calls that were sent count.
    pub fn of(histories: &[TaskHistory]) -> Ledger {
        let mut totals = BTreeMap::new();
        let tasks = histories
            .iter()
            .map(|h| {
                let mut sent = BTreeMap::new();
                for a in h.attempts.iter().filter(|a| !a.outcome.is_skipped()) {
                    add(&mut sent, a);
                    add(&mut totals, a);
                }
                TaskLedger {
                    job_id: h.job_id,
                    repo: h.record.repo.clone(),
                    task: h
                        .record
                        .description
                        .lines()
                        .next()
                        .unwrap_or("")
                        .to_string(),
                    local_only: h.record.local_only,
                    sent_to: finish(sent),
                }
            })
            .collect();
        Ledger {
            tasks,
            totals: finish(totals),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::figures::tests::{attempt, history};
    use crate::trail::{AttemptOutcome::*, AttemptRole::*, TaskOutcome, TaskType};

    #[test]
    fn each_task_lists_paths_and_tokens_per_provider_and_skipped_calls_send_nothing() {
        let mut private = history(
            4,
            TaskType::Fix,
            TaskOutcome::Fail,
            vec![
                attempt(Worker, 1, "local-small", ValidationFailed, false),
                attempt(Worker, 2, "cloud-deepseek", SkippedPrivacy, true),
            ],
        );
        private.record.local_only = true;
        private.attempts[1].sent_paths.clear();
        let mut cloud = history(
            5,
            TaskType::Fix,
            TaskOutcome::Pass,
            vec![attempt(Worker, 2, "cloud-claude", Passed, true)],
        );
        cloud.attempts[0].sent_paths = vec!["src/a.ts".into(), "src/greet.ts".into()];
        let ledger = Ledger::of(&[private, cloud]);
        let first = &ledger.tasks[0];
        assert!(first.local_only);
        assert_eq!(first.sent_to.len(), 1, "{:?}", first.sent_to);
        assert_eq!(first.sent_to[0].model, "local-small");
        assert!(!first.sent_to[0].paid);
        assert_eq!(first.sent_to[0].paths, ["src/greet.ts"]);
        let second = &ledger.tasks[1];
        assert_eq!(
            (
                second.sent_to[0].provider.as_str(),
                second.sent_to[0].prompt_tokens
            ),
            ("anthropic api.anthropic.com", 1000)
        );
        assert_eq!(ledger.totals.len(), 2);
        assert_eq!(ledger.totals[0].paths, ["src/a.ts", "src/greet.ts"]);
    }
}
