//! `gitkeeper-bot export`: finished tasks as JSON Lines for fine-tuning the
//! local model on the project's own work: the task, the context package its
//! model saw, the final diff, how it was validated, and whether its pull
//! request was merged (when known).
//!
//! Must never: export a task that touched `local_only_paths` unless asked
//! (`--include-local-only`), or a task without a kept change.

use serde::Serialize;

use crate::trail::{TaskHistory, TaskOutcome, TaskSample};

/// One line of the export.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ExportLine {
    pub job_id: i64,
    pub repo: String,
    pub task_type: String,
    pub complexity: u8,
    /// The title and body, sanitized as recorded.
    pub task: String,
    /// The context package as the kept answer's prompt carried it.
    pub context: String,
    /// The final change, as a unified diff.
    pub diff: String,
    /// The validation level and the checks that ran.
    pub validation: String,
    /// The model whose answer was kept.
    pub worker: Option<String>,
    /// Its pull request was merged (`true`), closed unmerged (`false`), or
    /// is open or unknown (`null`).
    pub merged: Option<bool>,
    pub local_only: bool,
    /// When the task was recorded, ms since the epoch.
    pub created_at: i64,
}

/// What was left out, and why.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Skipped {
    /// Passing tasks that touched local-only paths.
    pub local_only: usize,
    /// Passing tasks without a stored sample (recorded before samples were
    /// kept, `[privacy] keep_samples = false`, or pruned by retention).
    pub no_sample: usize,
}

/// The export lines of the passing tasks among `histories` that have a
/// sample in `samples` (by job id).
pub fn lines(
    histories: &[TaskHistory],
    samples: &[(i64, TaskSample)],
    include_local_only: bool,
) -> (Vec<ExportLine>, Skipped) {
    let mut skipped = Skipped::default();
    let mut out = Vec::new();
    for h in histories
        .iter()
        .filter(|h| h.record.outcome == TaskOutcome::Pass)
    {
        if h.record.local_only && !include_local_only {
            skipped.local_only += 1;
            continue;
        }
        let Some((_, sample)) = samples.iter().find(|(job, _)| *job == h.job_id) else {
            skipped.no_sample += 1;
            continue;
        };
        let r = &h.record;
        out.push(ExportLine {
            job_id: h.job_id,
            repo: r.repo.clone(),
            task_type: r.task_type.to_string(),
            complexity: r.complexity,
            task: r.description.clone(),
            context: sample.context.clone(),
            diff: sample.diff.clone(),
            validation: r.validation_method.clone(),
            worker: r.worker.clone(),
            merged: h.merged,
            local_only: r.local_only,
            created_at: r.created_at,
        });
    }
    (out, skipped)
}

/// `lines` as JSON Lines.
pub fn jsonl(lines: &[ExportLine]) -> Result<String, serde_json::Error> {
    let mut out = String::new();
    for line in lines {
        out.push_str(&serde_json::to_string(line)?);
        out.push('\n');
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::figures::tests::{attempt, history};
    use crate::trail::{AttemptOutcome::*, AttemptRole::*, TaskType};

    fn sample(n: &str) -> TaskSample {
        TaskSample {
            context: format!("# Project\ncontext {n}"),
            diff: format!("--- a/src/greet.ts\n+++ b/src/greet.ts\n@@ {n}"),
        }
    }

    #[test]
    fn passing_tasks_with_samples_export_and_local_only_ones_only_when_asked() {
        let pass = |id| {
            history(
                id,
                TaskType::Fix,
                TaskOutcome::Pass,
                vec![attempt(Worker, 1, "local-small", Passed, false)],
            )
        };
        let mut merged = pass(1);
        merged.merged = Some(true);
        let mut private = pass(2);
        private.record.local_only = true;
        let unsampled = pass(3);
        let failed = history(
            4,
            TaskType::Fix,
            TaskOutcome::Fail,
            vec![attempt(Worker, 1, "local-small", ValidationFailed, false)],
        );
        let histories = [merged, private, unsampled, failed];
        let samples = [(1, sample("1")), (2, sample("2")), (4, sample("4"))];

        let (lines, skipped) = lines(&histories, &samples, false);
        assert_eq!(lines.len(), 1);
        assert_eq!(lines[0].job_id, 1);
        assert_eq!(lines[0].merged, Some(true));
        assert!(lines[0].diff.contains("+++ b/src/greet.ts"));
        assert_eq!(
            skipped,
            Skipped {
                local_only: 1,
                no_sample: 1
            }
        );
        let text = jsonl(&lines).unwrap();
        let parsed: serde_json::Value = serde_json::from_str(text.trim()).unwrap();
        assert_eq!(parsed["context"], "# Project\ncontext 1");
        assert_eq!(parsed["task_type"], "fix");

        let (with_private, _) = super::lines(&histories, &samples, true);
        assert_eq!(
            with_private.iter().map(|l| l.job_id).collect::<Vec<_>>(),
            [1, 2]
        );
        assert!(with_private[1].local_only);
    }
}
