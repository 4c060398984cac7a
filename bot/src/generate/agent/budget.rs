//! An agent attempt's budgets besides money (the cost guard is the loop's):
//! tool calls, tokens, malformed calls, and the convergence warnings at the
//! configured call counts. Every cap fails closed: a call that could pass the
//! token cap is not sent, a tool call past the call cap is not run.

use crate::route::AgentSettings;

/// What an agent attempt has used.
#[derive(Debug, Clone)]
pub struct Budget {
    settings: AgentSettings,
    /// Tool calls made (malformed ones included: they cost a turn too).
    pub calls: u32,
    /// Prompt and answer tokens of every model call so far.
    pub tokens: u64,
    /// Calls that could not be read, and answers without a tool call.
    pub malformed: u32,
    /// Warnings already given (thresholds are sorted).
    warned: usize,
}

impl Budget {
    pub fn new(settings: &AgentSettings) -> Self {
        let mut settings = settings.clone();
        settings.warn_at.sort_unstable();
        settings.warn_at.dedup();
        Self {
            settings,
            calls: 0,
            tokens: 0,
            malformed: 0,
            warned: 0,
        }
    }

    /// `None` when a model call with a prompt of `prompt_tokens` and an
    /// answer of up to `max_tokens` stays within the token cap, else why not.
    pub fn refuse_call(&self, prompt_tokens: u32, max_tokens: u32) -> Option<String> {
        let worst = self.tokens + u64::from(prompt_tokens) + u64::from(max_tokens);
        let cap = self.settings.max_tokens_per_attempt;
        (worst > cap).then(|| {
            format!(
                "the next call could take the attempt to {worst} tokens ({} used, a prompt of {prompt_tokens}, an answer of up to {max_tokens}), past its cap of {cap} ([route.agent] max_tokens_per_attempt)",
                self.tokens
            )
        })
    }

    /// Count a model call's tokens.
    pub fn spend_tokens(&mut self, tokens: u32) {
        self.tokens += u64::from(tokens);
    }

    /// Count one tool call; `Err` (and the call is not run) when the cap is reached.
    pub fn take_call(&mut self) -> Result<(), String> {
        if self.calls >= self.settings.max_tool_calls {
            return Err(format!(
                "the attempt made {} tool calls, its cap ([route.agent] max_tool_calls)",
                self.calls
            ));
        }
        self.calls += 1;
        Ok(())
    }

    /// Count a malformed call; true when there were too many and the tier
    /// should go on in edit mode.
    pub fn malformed_call(&mut self) -> bool {
        self.malformed += 1;
        self.malformed >= self.settings.max_malformed_calls
    }

    /// The convergence warning due now, if the call count passed a threshold
    /// since the last one (seed 003: 50, 100, 200, 500 by default).
    pub fn warning(&mut self) -> Option<String> {
        let mut due = None;
        while let Some(&at) = self.settings.warn_at.get(self.warned) {
            if self.calls < at {
                break;
            }
            due = Some(at);
            self.warned += 1;
        }
        let at = due?;
        let left = self.settings.max_tool_calls.saturating_sub(self.calls);
        let last = self.warned == self.settings.warn_at.len();
        Some(if last {
            format!(
                "Note: you have made {} tool calls (warning at {at}); at most {left} remain. Stop exploring now: make the remaining edits and call `finish`.",
                self.calls
            )
        } else {
            format!(
                "Note: you have made {} tool calls (warning at {at}); at most {left} remain. You have looked around enough: converge on the change and call `finish` when it is complete.",
                self.calls
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(warn_at: &[u32], max_tool_calls: u32, tokens: u64) -> AgentSettings {
        AgentSettings {
            warn_at: warn_at.to_vec(),
            max_tool_calls,
            max_tokens_per_attempt: tokens,
            max_malformed_calls: 2,
        }
    }

    #[test]
    fn warnings_come_once_at_each_threshold_and_the_last_says_stop() {
        let mut budget = Budget::new(&settings(&[3, 1, 5], 6, 1000));
        let mut seen = Vec::new();
        for _ in 0..6 {
            budget.take_call().unwrap();
            if let Some(w) = budget.warning() {
                seen.push((budget.calls, w));
            }
        }
        let at: Vec<u32> = seen.iter().map(|(n, _)| *n).collect();
        assert_eq!(at, vec![1, 3, 5]);
        assert!(seen[0].1.contains("converge"), "{}", seen[0].1);
        assert!(seen[2].1.contains("Stop exploring now"), "{}", seen[2].1);
        assert!(seen[2].1.contains("at most 1 remain"), "{}", seen[2].1);
        let cap = budget.take_call().unwrap_err();
        assert!(cap.contains("max_tool_calls"), "{cap}");
        assert_eq!(budget.calls, 6);
    }

    #[test]
    fn several_thresholds_passed_in_one_turn_give_one_warning() {
        let mut budget = Budget::new(&settings(&[2, 3], 10, 1000));
        for _ in 0..4 {
            budget.take_call().unwrap();
        }
        assert!(budget.warning().unwrap().contains("warning at 3"));
        assert_eq!(budget.warning(), None);
    }

    #[test]
    fn a_call_that_could_pass_the_token_cap_is_refused() {
        let mut budget = Budget::new(&settings(&[], 10, 1000));
        assert_eq!(budget.refuse_call(400, 600), None);
        budget.spend_tokens(1);
        let refusal = budget.refuse_call(400, 600).unwrap();
        assert!(refusal.contains("max_tokens_per_attempt"), "{refusal}");
    }

    #[test]
    fn malformed_calls_count_to_the_fallback() {
        let mut budget = Budget::new(&settings(&[], 10, 1000));
        assert!(!budget.malformed_call());
        assert!(budget.malformed_call());
    }
}
