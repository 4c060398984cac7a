//! Anthropic's Messages API: `POST /v1/messages` and `GET /v1/models`, with
//! `x-api-key` and `anthropic-version: 2023-06-01`. System messages go into
//! the top-level `system` field; consecutive turns of one role are joined,
//! since the API wants user and assistant to alternate.
//!
//! Tools (agent mode) go out as `tools: [{name, description, input_schema}]`;
//! the model's calls come back as `tool_use` content blocks (`id`, `name`,
//! `input` object) with `stop_reason: "tool_use"`, and their results go back
//! as `tool_result` blocks in the next user turn (all results of one turn in
//! one message, as the API requires).

use std::time::{Duration, Instant};

use async_trait::async_trait;
use secrecy::SecretString;
use serde::Deserialize;
use serde_json::{Value, json};

use super::ModelBackend;
use super::config::ModelSettings;
use super::error::ModelError;
use super::tokens::count_request;
use super::transport::{
    HttpReply, Transport, TransportConfig, error_code, error_message, says_context_exceeded,
};
use super::types::{Completion, Reported};
use super::{ChatMessage, CompletionRequest, FinishReason, Role, ToolCall};

/// The API version every request names.
pub const ANTHROPIC_VERSION: &str = "2023-06-01";
const PROVIDER: &str = "Anthropic";

/// The `/v1/messages` body.
pub fn messages_body(
    settings: &ModelSettings,
    request: &CompletionRequest,
    max_tokens: u32,
) -> Value {
    let system: Vec<&str> = request
        .messages
        .iter()
        .filter(|m| m.role == Role::System)
        .map(|m| m.content.as_str())
        .collect();
    let mut turns: Vec<(&'static str, Vec<Value>)> = Vec::new();
    for message in request.messages.iter().filter(|m| m.role != Role::System) {
        let (role, blocks) = blocks(message);
        match turns.last_mut() {
            Some((last, existing)) if *last == role => existing.extend(blocks),
            _ => turns.push((role, blocks)),
        }
    }
    let messages: Vec<Value> = turns
        .into_iter()
        .map(|(role, blocks)| json!({"role": role, "content": content(blocks)}))
        .collect();
    let temperature = request
        .temperature
        .unwrap_or(settings.temperature)
        .clamp(0.0, 1.0);
    let mut body = json!({
        "model": settings.model,
        "max_tokens": max_tokens,
        "messages": messages,
        "temperature": temperature,
    });
    if !system.is_empty() {
        body["system"] = json!(system.join("\n\n"));
    }
    // The API refuses stop sequences that are only whitespace.
    let stop: Vec<&String> = request
        .stop
        .iter()
        .filter(|s| !s.trim().is_empty())
        .collect();
    if !stop.is_empty() {
        body["stop_sequences"] = json!(stop);
    }
    if !request.tools.is_empty() {
        let tools: Vec<Value> = request
            .tools
            .iter()
            .map(|t| json!({"name": t.name, "description": t.description, "input_schema": t.parameters}))
            .collect();
        body["tools"] = Value::Array(tools);
    }
    body
}

/// The turn role and content blocks of one message: tool results are user
/// blocks, an assistant's calls are `tool_use` blocks after its text.
fn blocks(message: &ChatMessage) -> (&'static str, Vec<Value>) {
    let text = |t: &str| json!({"type": "text", "text": t});
    match message.role {
        Role::Tool => (
            "user",
            vec![json!({
                "type": "tool_result",
                "tool_use_id": message.tool_call_id.as_deref().unwrap_or_default(),
                "content": message.content,
            })],
        ),
        Role::Assistant => {
            let mut out = Vec::new();
            if !message.content.is_empty() || message.tool_calls.is_empty() {
                out.push(text(&message.content));
            }
            for call in &message.tool_calls {
                // The API wants an object; a malformed call (already
                // answered with its error) goes as an empty one.
                let input = serde_json::from_str::<Value>(&call.arguments)
                    .ok()
                    .filter(Value::is_object)
                    .unwrap_or_else(|| json!({}));
                out.push(
                    json!({"type": "tool_use", "id": call.id, "name": call.name, "input": input}),
                );
            }
            ("assistant", out)
        }
        Role::User | Role::System => ("user", vec![text(&message.content)]),
    }
}

/// A turn's content: plain text when it is only text (joined by blank
/// lines), else its blocks.
fn content(blocks: Vec<Value>) -> Value {
    let only_text = blocks.iter().all(|b| b["type"] == "text");
    if only_text {
        let texts: Vec<&str> = blocks.iter().filter_map(|b| b["text"].as_str()).collect();
        return json!(texts.join("\n\n"));
    }
    // Text blocks must not be empty.
    Value::Array(
        blocks
            .into_iter()
            .filter(|b| b["type"] != "text" || b["text"].as_str().is_some_and(|t| !t.is_empty()))
            .collect(),
    )
}

#[derive(Debug, Deserialize)]
struct MessageResponse {
    #[serde(default)]
    model: Option<String>,
    content: Vec<ContentBlock>,
    #[serde(default)]
    stop_reason: Option<String>,
    #[serde(default)]
    usage: Option<WireUsage>,
}

#[derive(Debug, Deserialize)]
struct ContentBlock {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    input: Option<Value>,
}

/// The `tool_use` blocks of an answer, their input as JSON text.
fn read_tool_calls(content: &[ContentBlock]) -> Vec<ToolCall> {
    content
        .iter()
        .filter(|b| b.kind == "tool_use")
        .enumerate()
        .map(|(i, b)| ToolCall {
            id: b
                .id
                .clone()
                .filter(|id| !id.is_empty())
                .unwrap_or_else(|| format!("gitkeeper_call_{i}")),
            name: b.name.clone().unwrap_or_default(),
            arguments: b.input.as_ref().map(Value::to_string).unwrap_or_default(),
        })
        .collect()
}

#[derive(Debug, Deserialize)]
struct WireUsage {
    #[serde(default)]
    input_tokens: Option<u32>,
    #[serde(default)]
    output_tokens: Option<u32>,
    #[serde(default)]
    cache_creation_input_tokens: Option<u32>,
    #[serde(default)]
    cache_read_input_tokens: Option<u32>,
}

#[derive(Debug, Deserialize)]
struct ModelList {
    data: Vec<ModelInfo>,
}

#[derive(Debug, Deserialize)]
struct ModelInfo {
    id: String,
}

/// A Claude model.
#[derive(Debug)]
pub struct AnthropicBackend {
    settings: ModelSettings,
    api_key_var: String,
    transport: Transport,
}

impl AnthropicBackend {
    /// `api_key` is `(variable name, key)`; the API cannot be called without one.
    pub fn new(
        name: &str,
        settings: &ModelSettings,
        endpoint: String,
        api_key: (String, SecretString),
    ) -> Result<Self, ModelError> {
        let (api_key_var, secret) = api_key;
        let transport = Transport::new(TransportConfig {
            endpoint,
            provider: PROVIDER.into(),
            name: name.to_string(),
            connect_hint: "check the endpoint and this machine's network".into(),
            timeout: Duration::from_secs(settings.timeout_secs),
            policy: settings.retry_policy(),
            secret: Some(secret),
        })?;
        Ok(Self {
            settings: settings.clone(),
            api_key_var,
            transport,
        })
    }

    fn request(
        &self,
        client: &reqwest::Client,
        method: reqwest::Method,
        path: &str,
    ) -> reqwest::RequestBuilder {
        let mut key = http::HeaderValue::from_str(self.transport.secret().unwrap_or_default())
            .unwrap_or_else(|_| http::HeaderValue::from_static(""));
        key.set_sensitive(true);
        client
            .request(method, self.transport.url(path))
            .header("x-api-key", key)
            .header("anthropic-version", ANTHROPIC_VERSION)
    }

    fn map_error(&self, reply: &HttpReply) -> ModelError {
        let message = self.transport.scrub(&error_message(&reply.body));
        let kind = error_code(&reply.body).unwrap_or_default();
        let lower = message.to_ascii_lowercase();
        match (reply.status.as_u16(), kind.as_str()) {
            (401, _) | (_, "authentication_error") => ModelError::Unauthorized {
                provider: PROVIDER.into(),
                fix: format!("set {}", self.api_key_var),
            },
            (403, _) | (_, "permission_error") => ModelError::Rejected {
                provider: PROVIDER.into(),
                status: reply.status.as_u16(),
                message: format!(
                    "{message} (the key in {} may not use {})",
                    self.api_key_var, self.settings.model
                ),
            },
            (404, _) | (_, "not_found_error") => ModelError::ModelNotFound {
                provider: PROVIDER.into(),
                model: self.settings.model.clone(),
                endpoint: self.transport.endpoint.clone(),
                fix: format!(
                    "set model in [models.{}] to a current Claude model, e.g. claude-sonnet-4-5",
                    self.transport.name
                ),
            },
            (413, _) | (_, "request_too_large") => ModelError::PromptTooLong {
                provider: PROVIDER.into(),
                model: self.settings.model.clone(),
                message,
            },
            (400, _) if says_context_exceeded(&message) => ModelError::PromptTooLong {
                provider: PROVIDER.into(),
                model: self.settings.model.clone(),
                message,
            },
            (400, _) if lower.contains("credit balance") => ModelError::Billing {
                provider: PROVIDER.into(),
                message,
            },
            _ => self.transport.status_error(reply, message),
        }
    }
}

#[async_trait]
impl ModelBackend for AnthropicBackend {
    fn name(&self) -> &str {
        &self.transport.name
    }

    fn model(&self) -> &str {
        &self.settings.model
    }

    async fn complete(&self, request: &CompletionRequest) -> Result<Completion, ModelError> {
        let started = Instant::now();
        let max_tokens = request.max_tokens.unwrap_or(self.settings.max_tokens);
        let prompt_tokens = count_request(request);
        self.settings.check_window(prompt_tokens, max_tokens)?;
        let body = messages_body(&self.settings, request, max_tokens);
        let (reply, attempts) = self
            .transport
            .call(
                |client| {
                    self.request(client, reqwest::Method::POST, "/v1/messages")
                        .json(&body)
                },
                |reply| self.map_error(reply),
            )
            .await?;
        let parsed: MessageResponse = serde_json::from_str(&reply.body).map_err(|e| {
            self.transport
                .malformed("/v1/messages answer is not a Message", e, &reply.body)
        })?;
        let text: String = parsed
            .content
            .iter()
            .filter(|b| b.kind == "text")
            .filter_map(|b| b.text.as_deref())
            .collect();
        let calls = read_tool_calls(&parsed.content);
        let finish = FinishReason::from_wire(parsed.stop_reason.as_deref());
        if finish == FinishReason::Other("refusal".into()) && text.trim().is_empty() {
            return Err(ModelError::Rejected {
                provider: PROVIDER.into(),
                status: reply.status.as_u16(),
                message: "the model refused to answer (stop_reason \"refusal\")".into(),
            });
        }
        let reported_prompt = parsed.usage.as_ref().and_then(|u| {
            u.input_tokens.map(|n| {
                n.saturating_add(u.cache_creation_input_tokens.unwrap_or(0))
                    .saturating_add(u.cache_read_input_tokens.unwrap_or(0))
            })
        });
        let reported_completion = parsed.usage.as_ref().and_then(|u| u.output_tokens);
        Ok(Completion::assemble(
            &self.settings,
            text,
            Reported {
                prompt_tokens: reported_prompt,
                completion_tokens: reported_completion,
                model: parsed.model,
            },
            prompt_tokens,
            finish,
            attempts,
            started,
        )
        .with_tool_calls(calls))
    }

    async fn list_models(&self) -> Result<Vec<String>, ModelError> {
        let (reply, _) = self
            .transport
            .call(
                |client| self.request(client, reqwest::Method::GET, "/v1/models?limit=1000"),
                |reply| self.map_error(reply),
            )
            .await?;
        let list: ModelList = serde_json::from_str(&reply.body).map_err(|e| {
            self.transport
                .malformed("/v1/models answer is not a model list", e, &reply.body)
        })?;
        Ok(list.data.into_iter().map(|m| m.id).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ChatMessage;
    use crate::config::BackendKind;

    fn backend() -> AnthropicBackend {
        let settings = ModelSettings::new(BackendKind::Anthropic, "claude-sonnet-4-5");
        AnthropicBackend::new(
            "cloud-claude",
            &settings,
            "https://api.anthropic.com".into(),
            (
                "ANTHROPIC_API_KEY".into(),
                SecretString::from("sk-ant-secret-key".to_string()),
            ),
        )
        .unwrap()
    }

    fn reply(status: u16, body: &str) -> HttpReply {
        HttpReply {
            status: http::StatusCode::from_u16(status).unwrap(),
            headers: http::HeaderMap::new(),
            body: body.into(),
        }
    }

    #[test]
    fn system_is_top_level_and_turns_alternate() {
        let settings = ModelSettings::new(BackendKind::Anthropic, "claude-sonnet-4-5");
        let request = CompletionRequest::new(vec![
            ChatMessage::system("rules"),
            ChatMessage::user("context"),
            ChatMessage::user("task"),
            ChatMessage::assistant("draft"),
            ChatMessage::system("more rules"),
            ChatMessage::user("fix it"),
        ])
        .with_stop(["\n", "END"])
        .with_temperature(1.7);
        let body = messages_body(&settings, &request, 2048);
        assert_eq!(body["system"], "rules\n\nmore rules");
        assert_eq!(body["max_tokens"], 2048);
        assert_eq!(body["model"], "claude-sonnet-4-5");
        assert_eq!(body["temperature"], 1.0);
        let messages = body["messages"].as_array().unwrap();
        assert_eq!(messages.len(), 3);
        assert_eq!(messages[0]["role"], "user");
        assert_eq!(messages[0]["content"], "context\n\ntask");
        assert_eq!(messages[1]["role"], "assistant");
        assert_eq!(body["stop_sequences"], json!(["END"]));
        let plain = messages_body(
            &settings,
            &CompletionRequest::new(vec![ChatMessage::user("u")]),
            10,
        );
        assert!(plain.get("system").is_none());
        assert!(plain.get("stop_sequences").is_none());
    }

    #[test]
    fn tools_become_tool_use_and_tool_result_blocks() {
        let settings = ModelSettings::new(BackendKind::Anthropic, "claude-sonnet-4-5");
        let call = |id: &str, name: &str, args: &str| ToolCall {
            id: id.into(),
            name: name.into(),
            arguments: args.into(),
        };
        let (a, b) = (
            call("toolu_1", "read_file", r#"{"path":"a.ts"}"#),
            call("toolu_2", "search", "{broken"),
        );
        let request = CompletionRequest::new(vec![
            ChatMessage::system("rules"),
            ChatMessage::user("task"),
            ChatMessage::assistant_calls("Let me look.", vec![a.clone(), b.clone()]),
            ChatMessage::tool_result(&a, "1: x"),
            ChatMessage::tool_result(&b, "error: bad JSON"),
            ChatMessage::user("Note: 50 tool calls so far."),
        ])
        .with_tools(vec![crate::ToolSpec {
            name: "read_file".into(),
            description: "Read".into(),
            parameters: json!({"type": "object"}),
        }]);
        let body = messages_body(&settings, &request, 100);
        assert_eq!(
            body["tools"][0],
            json!({"name": "read_file", "description": "Read", "input_schema": {"type": "object"}})
        );
        let messages = body["messages"].as_array().unwrap();
        assert_eq!(messages.len(), 3, "{body}");
        assert_eq!(messages[0]["content"], "task");
        let assistant = messages[1]["content"].as_array().unwrap();
        assert_eq!(
            assistant[0],
            json!({"type": "text", "text": "Let me look."})
        );
        assert_eq!(
            assistant[1],
            json!({"type": "tool_use", "id": "toolu_1", "name": "read_file", "input": {"path": "a.ts"}})
        );
        assert_eq!(assistant[2]["input"], json!({}));
        // Both results and the note go back in one user turn.
        assert_eq!(messages[2]["role"], "user");
        let results = messages[2]["content"].as_array().unwrap();
        assert_eq!(
            results[0],
            json!({"type": "tool_result", "tool_use_id": "toolu_1", "content": "1: x"})
        );
        assert_eq!(results[1]["tool_use_id"], "toolu_2");
        assert_eq!(results[2]["type"], "text");
        let answer: MessageResponse = serde_json::from_value(json!({
            "content": [
                {"type": "text", "text": "Reading."},
                {"type": "tool_use", "id": "toolu_9", "name": "read_file", "input": {"path": "b.ts"}}
            ],
            "stop_reason": "tool_use"
        }))
        .unwrap();
        let calls = read_tool_calls(&answer.content);
        assert_eq!(
            calls,
            vec![call("toolu_9", "read_file", r#"{"path":"b.ts"}"#)]
        );
    }

    #[test]
    fn errors_map_by_status_and_type() {
        let b = backend();
        let auth = b.map_error(&reply(
            401,
            r#"{"type":"error","error":{"type":"authentication_error","message":"invalid x-api-key"}}"#,
        ));
        assert_eq!(
            auth.to_string(),
            "Anthropic rejected the API key: set ANTHROPIC_API_KEY"
        );
        let overloaded = b.map_error(&reply(
            529,
            r#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#,
        ));
        assert!(matches!(
            overloaded,
            ModelError::Overloaded { status: 529, .. }
        ));
        assert!(overloaded.resend());
        assert!(matches!(
            b.map_error(&reply(400, r#"{"type":"error","error":{"type":"invalid_request_error","message":"prompt is too long: 210000 tokens > 200000 maximum"}}"#)),
            ModelError::PromptTooLong { .. }
        ));
        assert!(matches!(
            b.map_error(&reply(400, r#"{"type":"error","error":{"type":"invalid_request_error","message":"Your credit balance is too low to access the Anthropic API."}}"#)),
            ModelError::Billing { .. }
        ));
        assert!(matches!(
            b.map_error(&reply(404, r#"{"type":"error","error":{"type":"not_found_error","message":"model: claude-nope"}}"#)),
            ModelError::ModelNotFound { .. }
        ));
        assert!(matches!(
            b.map_error(&reply(
                429,
                r#"{"type":"error","error":{"type":"rate_limit_error","message":"slow down"}}"#
            )),
            ModelError::RateLimited { .. }
        ));
        assert!(!format!("{b:?}").contains("sk-ant-secret"));
    }
}
