//! Every request a model double receives, kept for assertions: what was
//! sent (headers, raw body, parsed JSON) and when.

use std::collections::BTreeMap;
use std::time::Instant;

use serde_json::Value;

/// One request as the double received it.
#[derive(Debug, Clone)]
pub struct RecordedRequest {
    pub method: String,
    /// Path with query, e.g. `/api/chat` or `/v1/models?limit=1000`.
    pub path: String,
    /// Header names lowercased; repeated headers joined with ", ".
    pub headers: BTreeMap<String, String>,
    pub body: String,
    pub received_at: Instant,
}

impl RecordedRequest {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .get(&name.to_ascii_lowercase())
            .map(String::as_str)
    }

    /// The body as JSON, if it is JSON.
    pub fn json(&self) -> Option<Value> {
        serde_json::from_str(&self.body).ok()
    }

    /// The path without its query.
    pub fn route(&self) -> &str {
        self.path.split('?').next().unwrap_or(&self.path)
    }

    /// True for `/api/chat`, `/v1/chat/completions` and `/v1/messages`.
    pub fn is_completion(&self) -> bool {
        self.method == "POST"
            && matches!(
                self.route(),
                "/api/chat" | "/v1/chat/completions" | "/v1/messages"
            )
    }

    /// `(role, text)` of every message, Anthropic's top-level `system` first.
    pub fn messages(&self) -> Vec<(String, String)> {
        let Some(json) = self.json() else {
            return Vec::new();
        };
        let mut out = Vec::new();
        match json.get("system") {
            Some(Value::String(s)) => out.push(("system".to_string(), s.clone())),
            Some(Value::Array(blocks)) => out.push(("system".to_string(), blocks_text(blocks))),
            _ => {}
        }
        for message in json
            .get("messages")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let role = message
                .get("role")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string();
            let text = match message.get("content") {
                Some(Value::String(s)) => s.clone(),
                Some(Value::Array(blocks)) => blocks_text(blocks),
                _ => String::new(),
            };
            out.push((role, text));
        }
        out
    }

    /// All message text joined: for "did the prompt mention X" assertions.
    pub fn prompt_text(&self) -> String {
        self.messages()
            .into_iter()
            .map(|(_, text)| text)
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// The model the request asked for.
    pub fn model(&self) -> Option<String> {
        self.json()?.get("model")?.as_str().map(str::to_string)
    }

    /// Ollama's `options.num_ctx`, if sent.
    pub fn num_ctx(&self) -> Option<u64> {
        self.json()?.get("options")?.get("num_ctx")?.as_u64()
    }
}

/// The text of content blocks (`[{"type":"text","text":...}]`), tool
/// results' text included.
pub(crate) fn blocks_text(blocks: &[Value]) -> String {
    blocks
        .iter()
        .filter_map(|b| {
            b.get("text").and_then(Value::as_str).or_else(|| {
                (b.get("type").and_then(Value::as_str) == Some("tool_result"))
                    .then(|| b.get("content").and_then(Value::as_str))
                    .flatten()
            })
        })
        .collect::<Vec<_>>()
        .join("")
}
