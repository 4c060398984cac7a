//! What goes into a model call and what comes out: plain values shared by
//! every backend, the router and the attempt records. No I/O here.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Who speaks in a chat message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    System,
    User,
    Assistant,
}

impl Role {
    /// The wire name every supported API uses.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::System => "system",
            Role::User => "user",
            Role::Assistant => "assistant",
        }
    }
}

/// One message of a conversation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatMessage {
    pub role: Role,
    pub content: String,
}

impl ChatMessage {
    pub fn system(content: impl Into<String>) -> Self {
        Self {
            role: Role::System,
            content: content.into(),
        }
    }

    pub fn user(content: impl Into<String>) -> Self {
        Self {
            role: Role::User,
            content: content.into(),
        }
    }

    pub fn assistant(content: impl Into<String>) -> Self {
        Self {
            role: Role::Assistant,
            content: content.into(),
        }
    }
}

/// One call to a model. `None` fields take the model's configured value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CompletionRequest {
    pub messages: Vec<ChatMessage>,
    /// Most tokens the answer may take (`[models.<name>] max_tokens` when `None`).
    #[serde(default)]
    pub max_tokens: Option<u32>,
    /// Sampling temperature (`[models.<name>] temperature`, default 0.1, when `None`).
    #[serde(default)]
    pub temperature: Option<f32>,
    /// Strings that end the answer early.
    #[serde(default)]
    pub stop: Vec<String>,
}

impl CompletionRequest {
    pub fn new(messages: Vec<ChatMessage>) -> Self {
        Self {
            messages,
            max_tokens: None,
            temperature: None,
            stop: Vec::new(),
        }
    }

    pub fn with_max_tokens(mut self, max_tokens: u32) -> Self {
        self.max_tokens = Some(max_tokens);
        self
    }

    pub fn with_temperature(mut self, temperature: f32) -> Self {
        self.temperature = Some(temperature);
        self
    }

    pub fn with_stop(mut self, stop: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.stop = stop.into_iter().map(Into::into).collect();
        self
    }
}

/// Tokens one call used.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    pub prompt_tokens: u32,
    pub completion_tokens: u32,
    /// True when the server did not report usage and it was counted locally
    /// (cl100k_base), so cost and records are approximate.
    pub estimated: bool,
}

impl Usage {
    pub fn total(&self) -> u32 {
        self.prompt_tokens.saturating_add(self.completion_tokens)
    }

    /// Cost in USD at `price_in`/`price_out` USD per million tokens.
    pub fn cost_usd(&self, price_in: f64, price_out: f64) -> f64 {
        (f64::from(self.prompt_tokens) * price_in + f64::from(self.completion_tokens) * price_out)
            / 1_000_000.0
    }
}

/// Why the model stopped writing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FinishReason {
    /// It finished (end of turn or a stop sequence).
    Stop,
    /// It hit `max_tokens`: the answer is cut off.
    Length,
    /// Something else the server named (content filter, refusal, ...).
    Other(String),
    /// The server did not say.
    Unknown,
}

impl FinishReason {
    /// Map the reason strings of Ollama, OpenAI and Anthropic.
    pub fn from_wire(reason: Option<&str>) -> Self {
        match reason {
            None | Some("") => FinishReason::Unknown,
            Some("stop" | "end_turn" | "stop_sequence") => FinishReason::Stop,
            Some("length" | "max_tokens" | "model_context_window_exceeded") => FinishReason::Length,
            Some(other) => FinishReason::Other(other.to_string()),
        }
    }
}

/// A model's answer with what it cost.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Completion {
    pub text: String,
    pub usage: Usage,
    /// From the model's `price_in`/`price_out`; 0 for local models.
    pub cost_usd: f64,
    /// Wall time of the whole call, retries and their waits included.
    pub latency: Duration,
    /// The model that answered, as the server names it.
    pub model: String,
    pub finish: FinishReason,
    /// HTTP requests sent (1 when no retry was needed).
    pub attempts: u32,
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
        }
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
        }
    }

    #[test]
    fn cost_is_per_million_tokens() {
        let usage = Usage {
            prompt_tokens: 10_000,
            completion_tokens: 2_000,
            estimated: false,
        };
        let cost = usage.cost_usd(3.0, 15.0);
        assert!((cost - 0.06).abs() < 1e-12, "{cost}");
        assert_eq!(usage.cost_usd(0.0, 0.0), 0.0);
        assert_eq!(usage.total(), 12_000);
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

    #[test]
    fn finish_reasons_of_every_api_map() {
        assert_eq!(FinishReason::from_wire(Some("stop")), FinishReason::Stop);
        assert_eq!(
            FinishReason::from_wire(Some("end_turn")),
            FinishReason::Stop
        );
        assert_eq!(
            FinishReason::from_wire(Some("max_tokens")),
            FinishReason::Length
        );
        assert_eq!(
            FinishReason::from_wire(Some("length")),
            FinishReason::Length
        );
        assert_eq!(FinishReason::from_wire(None), FinishReason::Unknown);
        assert_eq!(
            FinishReason::from_wire(Some("refusal")),
            FinishReason::Other("refusal".into())
        );
    }

    #[test]
    fn request_serializes_with_lowercase_roles() {
        let r = CompletionRequest::new(vec![ChatMessage::system("s"), ChatMessage::user("u")])
            .with_max_tokens(10)
            .with_stop(["END"]);
        let v = serde_json::to_value(&r).unwrap();
        assert_eq!(v["messages"][0]["role"], "system");
        assert_eq!(v["messages"][1]["role"], "user");
        assert_eq!(v["stop"][0], "END");
        let back: CompletionRequest = serde_json::from_value(v).unwrap();
        assert_eq!(back, r);
    }
}
