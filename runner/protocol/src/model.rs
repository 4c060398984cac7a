//! What a model call asks for and what comes back, as plain values: the chat,
//! its settings, token usage, why the model stopped, and what to do after a
//! failure, and the tools a model may call (agent mode) with its calls. The
//! bot, the runner and every model backend share these exact types (the
//! backends crate re-exports them); never copy them. No I/O here, and nothing
//! beyond serde and serde_json (a tool's parameters are a JSON Schema).

use serde::{Deserialize, Serialize};

/// Who speaks in a chat message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Instructions that frame the whole conversation.
    System,
    /// The task, retry feedback or a maintainer's words.
    User,
    /// What the model answered earlier.
    Assistant,
    /// What a tool the model called answered (agent mode).
    Tool,
}

impl Role {
    /// The wire name every supported API uses.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::System => "system",
            Role::User => "user",
            Role::Assistant => "assistant",
            Role::Tool => "tool",
        }
    }
}

/// One message of a conversation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatMessage {
    /// Who speaks.
    pub role: Role,
    /// What is said, as plain text.
    pub content: String,
    /// The tools an assistant message called, in order (agent mode).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tool_calls: Vec<ToolCall>,
    /// For a [`Role::Tool`] message: the call it answers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_call_id: Option<String>,
    /// For a [`Role::Tool`] message: the tool that answered (Ollama names it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_name: Option<String>,
}

impl ChatMessage {
    fn of(role: Role, content: String) -> Self {
        Self {
            role,
            content,
            tool_calls: Vec::new(),
            tool_call_id: None,
            tool_name: None,
        }
    }

    /// A system message.
    pub fn system(content: impl Into<String>) -> Self {
        Self::of(Role::System, content.into())
    }

    /// A user message.
    pub fn user(content: impl Into<String>) -> Self {
        Self::of(Role::User, content.into())
    }

    /// An assistant message (an earlier answer).
    pub fn assistant(content: impl Into<String>) -> Self {
        Self::of(Role::Assistant, content.into())
    }

    /// An assistant message that called `calls` (with any text it wrote).
    pub fn assistant_calls(content: impl Into<String>, calls: Vec<ToolCall>) -> Self {
        let mut message = Self::of(Role::Assistant, content.into());
        message.tool_calls = calls;
        message
    }

    /// The answer to `call`.
    pub fn tool_result(call: &ToolCall, content: impl Into<String>) -> Self {
        let mut message = Self::of(Role::Tool, content.into());
        message.tool_call_id = Some(call.id.clone());
        message.tool_name = Some(call.name.clone());
        message
    }
}

/// A tool the model may call: its name, what it does, and its arguments as
/// a JSON Schema object. Each API wraps it in its own shape.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolSpec {
    /// The name the model calls it by.
    pub name: String,
    /// What it does, for the model.
    pub description: String,
    /// JSON Schema of the arguments object.
    pub parameters: serde_json::Value,
}

/// One tool call the model made.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ToolCall {
    /// The API's id for the call, echoed in its result (made up when the
    /// server gives none, as older Ollama versions do).
    pub id: String,
    /// The tool named.
    pub name: String,
    /// The arguments as the model wrote them: JSON text, possibly malformed,
    /// so the error can be shown to the model.
    pub arguments: String,
}

/// One call to a model. `None` fields take the model's configured value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CompletionRequest {
    /// The conversation, oldest first.
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
    /// Sampling seed, for servers that take one (`[models.<name>] seed` when
    /// `None`): with temperature 0 it makes a local model's answer repeatable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
    /// Tools the model may call instead of answering (agent mode); empty
    /// for a plain completion.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tools: Vec<ToolSpec>,
}

impl CompletionRequest {
    /// A request for `messages` with every setting left to the model's config.
    pub fn new(messages: Vec<ChatMessage>) -> Self {
        Self {
            messages,
            max_tokens: None,
            temperature: None,
            stop: Vec::new(),
            seed: None,
            tools: Vec::new(),
        }
    }

    /// Offer `tools` to the model.
    pub fn with_tools(mut self, tools: Vec<ToolSpec>) -> Self {
        self.tools = tools;
        self
    }

    /// Cap the answer at `max_tokens`.
    pub fn with_max_tokens(mut self, max_tokens: u32) -> Self {
        self.max_tokens = Some(max_tokens);
        self
    }

    /// Sample at `temperature` instead of the model's configured one.
    pub fn with_temperature(mut self, temperature: f32) -> Self {
        self.temperature = Some(temperature);
        self
    }

    /// Sample with `seed` instead of the model's configured one.
    pub fn with_seed(mut self, seed: u64) -> Self {
        self.seed = Some(seed);
        self
    }

    /// End the answer at any of `stop`.
    pub fn with_stop(mut self, stop: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.stop = stop.into_iter().map(Into::into).collect();
        self
    }
}

/// Tokens one call used.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    /// Tokens of the prompt the model read.
    pub prompt_tokens: u32,
    /// Tokens of the answer.
    pub completion_tokens: u32,
    /// True when the server did not report usage and it was counted locally
    /// (cl100k_base), so cost and records are approximate.
    pub estimated: bool,
}

impl Usage {
    /// Prompt and answer tokens together.
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
    /// It called tools and waits for their results.
    ToolCalls,
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
            Some("tool_calls" | "tool_use" | "function_call") => FinishReason::ToolCalls,
            Some(other) => FinishReason::Other(other.to_string()),
        }
    }
}

/// What the caller should do after a failed call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// Down, slow, overloaded or rate limited: try the next tier now; this
    /// model may work again later.
    Unavailable,
    /// Someone must fix the setup (API key, model not pulled or not loaded,
    /// endpoint, config): try the next tier and tell the operator.
    Misconfigured,
    /// The prompt does not fit this model's context: escalate to a model with
    /// a larger window or send less context.
    TooLarge,
    /// The server answered with something unusable: try again or move on.
    BadResponse,
    /// A local model is reached through a runner and no runner online serves
    /// it: skip the tier now and say why in the report.
    NoRunner,
}

#[cfg(test)]
mod tests {
    use super::*;

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
        assert!(v.get("tools").is_none(), "no tools key without tools: {v}");
        let back: CompletionRequest = serde_json::from_value(v).unwrap();
        assert_eq!(back, r);
    }

    #[test]
    fn tool_calls_and_results_round_trip_and_old_messages_still_read() {
        let call = ToolCall {
            id: "call_1".into(),
            name: "read_file".into(),
            arguments: r#"{"path":"src/a.ts"}"#.into(),
        };
        let r = CompletionRequest::new(vec![
            ChatMessage::user("u"),
            ChatMessage::assistant_calls("", vec![call.clone()]),
            ChatMessage::tool_result(&call, "1: x"),
        ])
        .with_tools(vec![ToolSpec {
            name: "read_file".into(),
            description: "Read a file".into(),
            parameters: serde_json::json!({"type": "object"}),
        }]);
        let v = serde_json::to_value(&r).unwrap();
        assert_eq!(v["messages"][2]["role"], "tool");
        assert_eq!(v["messages"][2]["tool_call_id"], "call_1");
        assert_eq!(v["tools"][0]["name"], "read_file");
        let back: CompletionRequest = serde_json::from_value(v).unwrap();
        assert_eq!(back, r);
        // A runner of the previous protocol sends messages without the new keys.
        let old: ChatMessage =
            serde_json::from_str(r#"{"role":"assistant","content":"hi"}"#).unwrap();
        assert_eq!(old, ChatMessage::assistant("hi"));
        assert_eq!(
            FinishReason::from_wire(Some("tool_use")),
            FinishReason::ToolCalls
        );
        assert_eq!(
            FinishReason::from_wire(Some("tool_calls")),
            FinishReason::ToolCalls
        );
    }
}
