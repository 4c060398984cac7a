//! What comes out of a model call: the answer with its usage, cost and
//! latency, as every backend, the router and the attempt records see it.
//! What goes in (`ChatMessage`, `CompletionRequest`) and `Usage` and
//! `FinishReason` are the runner protocol's types, re-used here, never copied.
//! No I/O here.

use std::time::Duration;

use gitkeeper_runner_protocol::{FinishReason, ToolCall, Usage};
use serde::{Deserialize, Serialize};

/// A model's answer with what it cost.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Completion {
    /// The answer as the model wrote it.
    pub text: String,
    /// Tokens the call used: as reported, or counted locally and marked estimated.
    pub usage: Usage,
    /// From the model's `price_in`/`price_out`; 0 for local models.
    pub cost_usd: f64,
    /// Wall time of the whole call, retries and their waits included.
    pub latency: Duration,
    /// The model that answered, as the server names it.
    pub model: String,
    /// Why the model stopped; `Length` means the answer is cut off.
    pub finish: FinishReason,
    /// HTTP requests sent (1 when no retry was needed).
    pub attempts: u32,
    /// The tools the model called instead of (or besides) answering, in
    /// order; empty for a plain answer.
    #[serde(default)]
    pub tool_calls: Vec<ToolCall>,
}

/// What a server reported about one answer; `None` where it said nothing.
pub(crate) struct Reported {
    pub prompt_tokens: Option<u32>,
    pub completion_tokens: Option<u32>,
    pub model: Option<String>,
}

impl Completion {
    /// Assemble an answer: usage as reported (counted locally where the
    /// server said nothing, and then marked estimated), priced with the
    /// model's prices, timed from `started`.
    pub(crate) fn assemble(
        settings: &super::config::ModelSettings,
        text: String,
        reported: Reported,
        counted_prompt: u32,
        finish: FinishReason,
        attempts: u32,
        started: std::time::Instant,
    ) -> Completion {
        let usage = Usage {
            prompt_tokens: reported.prompt_tokens.unwrap_or(counted_prompt),
            completion_tokens: reported
                .completion_tokens
                .unwrap_or_else(|| super::tokens::count_text(&text)),
            estimated: reported.prompt_tokens.is_none() || reported.completion_tokens.is_none(),
        };
        Completion {
            cost_usd: settings.cost_usd(&usage),
            text,
            usage,
            latency: started.elapsed(),
            model: reported
                .model
                .filter(|m| !m.is_empty())
                .unwrap_or_else(|| settings.model.clone()),
            finish,
            attempts,
            tool_calls: Vec::new(),
        }
    }

    /// The same answer with the tool calls the server reported.
    pub(crate) fn with_tool_calls(mut self, calls: Vec<ToolCall>) -> Completion {
        self.tool_calls = calls;
        self
    }
}

/// The marker a model answers with when it needs a maintainer's answer first.
pub const CLARIFICATION_MARKER: &str = "CLARIFICATION_NEEDED:";

impl Completion {
    /// The question, when the model answered `CLARIFICATION_NEEDED: <question>`
    /// at the start of a line instead of doing the task.
    pub fn clarification(&self) -> Option<&str> {
        let mut offset = 0;
        for line in self.text.split_inclusive('\n') {
            let trimmed = line.trim_start();
            if trimmed.starts_with(CLARIFICATION_MARKER) {
                let start = offset + (line.len() - trimmed.len()) + CLARIFICATION_MARKER.len();
                let question = self.text[start..].trim();
                return (!question.is_empty()).then_some(question);
            }
            offset += line.len();
        }
        None
    }

    /// True when the answer was cut off by `max_tokens`.
    pub fn is_truncated(&self) -> bool {
        self.finish == FinishReason::Length
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn completion(text: &str) -> Completion {
        Completion {
            text: text.into(),
            usage: Usage::default(),
            cost_usd: 0.0,
            latency: Duration::ZERO,
            model: "m".into(),
            finish: FinishReason::Stop,
            attempts: 1,
            tool_calls: Vec::new(),
        }
    }

    #[test]
    fn clarification_is_found_at_a_line_start() {
        let c = completion("CLARIFICATION_NEEDED: Which table holds users?");
        assert_eq!(c.clarification(), Some("Which table holds users?"));
        let c = completion("Let me think.\n  CLARIFICATION_NEEDED: Which one?\nA or B?\n");
        assert_eq!(c.clarification(), Some("Which one?\nA or B?"));
        assert_eq!(
            completion("use CLARIFICATION_NEEDED: in prompts").clarification(),
            None
        );
        assert_eq!(completion("CLARIFICATION_NEEDED:   ").clarification(), None);
    }
}
