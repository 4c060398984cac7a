//! The cost guard: per-task and per-repository-per-day budgets for paid
//! tiers. It fails closed: a call is allowed only when its worst case
//! (the prompt's tokens plus the model's whole `max_tokens` answer) stays
//! under both caps, so a call that could pass a cap is never sent.

use crate::models::{ModelSettings, Usage};

/// What a task may still spend.
#[derive(Debug, Clone, PartialEq)]
pub struct CostGuard {
    pub max_per_task: f64,
    pub max_per_day: f64,
    /// The repository's spend today before this task.
    pub spent_today: f64,
    /// This task's spend so far.
    pub spent_task: f64,
}

impl CostGuard {
    pub fn new(max_per_task: f64, max_per_day: f64, spent_today: f64) -> Self {
        Self {
            max_per_task,
            max_per_day,
            spent_today,
            spent_task: 0.0,
        }
    }

    /// The most one call to `model` with a prompt of `prompt_tokens` can cost.
    pub fn worst_case(model: &ModelSettings, prompt_tokens: u32, max_tokens: u32) -> f64 {
        Usage {
            prompt_tokens,
            completion_tokens: max_tokens,
            estimated: true,
        }
        .cost_usd(model.price_in, model.price_out)
    }

    /// `None` when a call costing up to `worst_case` may be sent, else why not.
    pub fn refusal(&self, worst_case: f64) -> Option<String> {
        if worst_case <= 0.0 {
            return None;
        }
        let task_after = self.spent_task + worst_case;
        if task_after > self.max_per_task {
            return Some(format!(
                "the call could cost up to ${worst_case:.4}, and this task has ${:.4} of its ${:.2} budget left ([route] max_usd_per_task)",
                (self.max_per_task - self.spent_task).max(0.0),
                self.max_per_task
            ));
        }
        let day_after = self.spent_today + task_after;
        if day_after > self.max_per_day {
            return Some(format!(
                "the call could cost up to ${worst_case:.4}, and the repository has ${:.4} of its ${:.2} daily budget left ([route] max_usd_per_repo_per_day)",
                (self.max_per_day - self.spent_today - self.spent_task).max(0.0),
                self.max_per_day
            ));
        }
        None
    }

    pub fn spend(&mut self, usd: f64) {
        self.spent_task += usd;
    }
}

/// The start (ms since the epoch) of the UTC day holding `now_ms`: where a
/// repository's daily spend is counted from.
pub fn utc_day_start(now_ms: i64) -> i64 {
    const DAY_MS: i64 = 24 * 60 * 60 * 1000;
    now_ms - now_ms.rem_euclid(DAY_MS)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::default_models;

    #[test]
    fn worst_case_counts_the_whole_answer_budget() {
        let claude = &default_models()["cloud-claude"];
        // 10k prompt tokens at $3/M + 16384 answer tokens at $15/M.
        let cost = CostGuard::worst_case(claude, 10_000, claude.max_tokens);
        assert!((cost - (0.03 + 0.24576)).abs() < 1e-9, "{cost}");
        assert_eq!(
            CostGuard::worst_case(&default_models()["local-small"], 10_000, 4096),
            0.0
        );
    }

    #[test]
    fn the_day_starts_at_utc_midnight() {
        // 2026-11-23T13:45:00Z
        assert_eq!(utc_day_start(1_795_441_500_000), 1_795_392_000_000);
        assert_eq!(utc_day_start(1_795_392_000_000), 1_795_392_000_000);
    }

    #[test]
    fn a_call_that_could_pass_either_cap_is_refused() {
        let mut guard = CostGuard::new(1.0, 5.0, 4.5);
        assert_eq!(guard.refusal(0.4), None);
        guard.spend(0.4);
        let day = guard.refusal(0.2).unwrap();
        assert!(day.contains("max_usd_per_repo_per_day"), "{day}");
        let task = CostGuard::new(0.1, 100.0, 0.0).refusal(0.2).unwrap();
        assert!(task.contains("max_usd_per_task"), "{task}");
        // Free calls always pass, even with no budget.
        assert_eq!(CostGuard::new(0.0, 0.0, 0.0).refusal(0.0), None);
    }
}
