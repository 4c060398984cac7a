//! Anthropic's Messages API: `POST /v1/messages` and `GET /v1/models`, with
//! `x-api-key` and `anthropic-version: 2023-06-01`. System messages go into
//! the top-level `system` field; consecutive turns of one role are joined,
//! since the API wants user and assistant to alternate.

use std::time::{Duration, Instant};

use async_trait::async_trait;
use secrecy::SecretString;
use serde::Deserialize;
use serde_json::{Value, json};

use super::ModelBackend;
use super::config::ModelSettings;
use super::error::ModelError;
use super::tokens::count_messages;
use super::transport::{
    HttpReply, Transport, TransportConfig, error_code, error_message, says_context_exceeded,
};
use super::types::{Completion, Reported};
use super::{CompletionRequest, FinishReason, Role};

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
    let mut turns: Vec<(Role, String)> = Vec::new();
    for message in request.messages.iter().filter(|m| m.role != Role::System) {
        match turns.last_mut() {
            Some((role, text)) if *role == message.role => {
                text.push_str("\n\n");
                text.push_str(&message.content);
            }
            _ => turns.push((message.role, message.content.clone())),
        }
    }
    let messages: Vec<Value> = turns
        .into_iter()
        .map(|(role, text)| json!({"role": role.as_str(), "content": text}))
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
    body
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
        let prompt_tokens = count_messages(&request.messages);
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
        ))
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
