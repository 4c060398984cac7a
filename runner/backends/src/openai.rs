//! OpenAI-compatible servers: `POST /v1/chat/completions` and `GET /v1/models`.
//! One client for OpenAI, DeepSeek, LM Studio, llama.cpp's server and vLLM;
//! the differences it knows are the error words they use (LM Studio's "no
//! models loaded", OpenAI's "insufficient_quota") and that api.openai.com
//! wants `max_completion_tokens`. A key is sent only when one is configured.
//!
//! Tools (agent mode) go out as `tools: [{"type": "function", "function":
//! {name, description, parameters}}]`; the model's calls come back in
//! `message.tool_calls` with `function.arguments` as JSON text, and their
//! results go back as `{"role": "tool", "tool_call_id", "content"}` messages
//! after the assistant message that carries the calls. LM Studio and
//! llama.cpp's server speak the same shape.

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
    HttpReply, Transport, TransportConfig, error_code, error_message, is_loopback,
    says_context_exceeded,
};
use super::types::{Completion, Reported};
use super::{ChatMessage, CompletionRequest, FinishReason, Role, ToolCall, ToolSpec};

/// Which server this probably is, from its address: only used for wording.
fn provider_for(endpoint: &str) -> &'static str {
    let url = url::Url::parse(endpoint).ok();
    let host = url
        .as_ref()
        .and_then(|u| u.host_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    if host == "api.openai.com" {
        "OpenAI"
    } else if host == "deepseek.com" || host.ends_with(".deepseek.com") {
        "DeepSeek"
    } else if url.as_ref().and_then(|u| u.port()) == Some(1234) {
        "LM Studio"
    } else {
        "OpenAI-compatible server"
    }
}

fn connect_hint(provider: &str, endpoint: &str) -> String {
    match provider {
        "LM Studio" => {
            "is LM Studio's server running? Start it in the Developer tab or with `lms server start`".into()
        }
        _ if is_loopback(endpoint) => {
            "is the server running? (LM Studio: `lms server start`; llama.cpp: `llama-server`; vLLM: `vllm serve`)".into()
        }
        _ => "check the endpoint and this machine's network".into(),
    }
}

/// The `/v1/chat/completions` body.
pub fn chat_body(
    settings: &ModelSettings,
    request: &CompletionRequest,
    max_tokens: u32,
    provider: &str,
) -> Value {
    let messages: Vec<Value> = request.messages.iter().map(wire_message).collect();
    let mut body = json!({
        "model": settings.model,
        "messages": messages,
        "temperature": request.temperature.unwrap_or(settings.temperature),
        "stream": false,
    });
    if !request.tools.is_empty() {
        body["tools"] = wire_tools(&request.tools);
    }
    if let Some(seed) = request.seed.or(settings.seed) {
        body["seed"] = json!(seed);
    }
    // OpenAI deprecated `max_tokens` (newer models refuse it); every other
    // compatible server still reads `max_tokens`.
    let key = if provider == "OpenAI" {
        "max_completion_tokens"
    } else {
        "max_tokens"
    };
    body[key] = json!(max_tokens);
    if !request.stop.is_empty() {
        body["stop"] = json!(request.stop);
    }
    body
}

/// `tools` as OpenAI-compatible servers (and Ollama) take them.
pub(crate) fn wire_tools(tools: &[ToolSpec]) -> Value {
    Value::Array(
        tools
            .iter()
            .map(|t| {
                json!({"type": "function", "function": {
                    "name": t.name,
                    "description": t.description,
                    "parameters": t.parameters,
                }})
            })
            .collect(),
    )
}

/// One message as `/v1/chat/completions` takes it: tool calls on the
/// assistant message (content `null` when it wrote nothing), results as
/// `tool` messages naming the call.
fn wire_message(m: &ChatMessage) -> Value {
    match m.role {
        Role::Tool => json!({
            "role": "tool",
            "tool_call_id": m.tool_call_id.as_deref().unwrap_or_default(),
            "content": m.content,
        }),
        Role::Assistant if !m.tool_calls.is_empty() => {
            let calls: Vec<Value> = m
                .tool_calls
                .iter()
                .map(|c| {
                    json!({"id": c.id, "type": "function", "function": {
                        "name": c.name,
                        "arguments": c.arguments,
                    }})
                })
                .collect();
            let content = if m.content.is_empty() {
                Value::Null
            } else {
                json!(m.content)
            };
            json!({"role": "assistant", "content": content, "tool_calls": calls})
        }
        _ => json!({"role": m.role.as_str(), "content": m.content}),
    }
}

/// The calls of `message.tool_calls` (OpenAI's and Ollama's); arguments
/// kept as the model wrote them (Ollama's objects, or a server that sends an
/// object instead of text, re-encoded as text), ids made up where the server
/// sent none (older Ollama).
pub(crate) fn read_tool_calls(calls: Vec<WireToolCall>) -> Vec<ToolCall> {
    calls
        .into_iter()
        .enumerate()
        .map(|(i, c)| ToolCall {
            id: c
                .id
                .filter(|id| !id.is_empty())
                .unwrap_or_else(|| format!("gitkeeper_call_{i}")),
            name: c.function.name,
            arguments: match c.function.arguments {
                Value::String(text) => text,
                Value::Null => String::new(),
                other => other.to_string(),
            },
        })
        .collect()
}

#[derive(Debug, Deserialize)]
pub(crate) struct WireToolCall {
    #[serde(default)]
    id: Option<String>,
    function: WireFunction,
}

#[derive(Debug, Deserialize)]
struct WireFunction {
    name: String,
    #[serde(default)]
    arguments: Value,
}

#[derive(Debug, Deserialize)]
struct ChatCompletion {
    #[serde(default)]
    model: Option<String>,
    choices: Vec<Choice>,
    #[serde(default)]
    usage: Option<WireUsage>,
}

#[derive(Debug, Deserialize)]
struct Choice {
    #[serde(default)]
    message: Option<ChoiceMessage>,
    #[serde(default)]
    finish_reason: Option<String>,
}

#[derive(Debug, Deserialize)]
struct ChoiceMessage {
    #[serde(default)]
    content: Option<String>,
    #[serde(default)]
    refusal: Option<String>,
    #[serde(default)]
    tool_calls: Option<Vec<WireToolCall>>,
}

#[derive(Debug, Deserialize)]
struct WireUsage {
    #[serde(default)]
    prompt_tokens: Option<u32>,
    #[serde(default)]
    completion_tokens: Option<u32>,
}

#[derive(Debug, Deserialize)]
struct ModelList {
    data: Vec<ModelEntry>,
}

#[derive(Debug, Deserialize)]
struct ModelEntry {
    id: String,
}

/// A model behind an OpenAI-compatible API.
#[derive(Debug)]
pub struct OpenAiBackend {
    settings: ModelSettings,
    api_key_var: Option<String>,
    transport: Transport,
}

impl OpenAiBackend {
    /// `endpoint` is resolved (see `ModelSettings::resolved_endpoint`); `api_key`
    /// is `(variable name, key)`, `None` for a local server that asks for none.
    pub fn new(
        name: &str,
        settings: &ModelSettings,
        endpoint: String,
        api_key: Option<(String, SecretString)>,
    ) -> Result<Self, ModelError> {
        let provider = provider_for(&endpoint);
        let (api_key_var, secret) = match api_key {
            Some((var, key)) => (Some(var), Some(key)),
            None => (None, None),
        };
        let transport = Transport::new(TransportConfig {
            connect_hint: connect_hint(provider, &endpoint),
            endpoint,
            provider: provider.into(),
            name: name.to_string(),
            timeout: Duration::from_secs(settings.timeout_secs),
            policy: settings.retry_policy(),
            secret,
        })?;
        Ok(Self {
            settings: settings.clone(),
            api_key_var,
            transport,
        })
    }

    fn provider(&self) -> String {
        self.transport.provider.clone()
    }

    fn map_error(&self, reply: &HttpReply) -> ModelError {
        let message = self.transport.scrub(&error_message(&reply.body));
        let code = error_code(&reply.body).unwrap_or_default();
        let lower = message.to_ascii_lowercase();
        let status = reply.status.as_u16();
        if lower.contains("no models loaded") || lower.contains("model is unloaded") {
            return ModelError::NoModelLoaded {
                endpoint: self.transport.endpoint.clone(),
                model: self.settings.model.clone(),
            };
        }
        match status {
            401 | 403 => ModelError::Unauthorized {
                provider: self.provider(),
                fix: match &self.api_key_var {
                    Some(var) => format!("set {var} to a valid key"),
                    None => format!(
                        "this server wants a key: set api_key_env in [models.{}] to the variable that holds it",
                        self.transport.name
                    ),
                },
            },
            402 => ModelError::Billing {
                provider: self.provider(),
                message,
            },
            429 if code == "insufficient_quota" => ModelError::Billing {
                provider: self.provider(),
                message,
            },
            404 if code == "model_not_found"
                || (lower.contains("model")
                    && (lower.contains("not found") || lower.contains("not exist"))) =>
            {
                ModelError::ModelNotFound {
                    provider: self.provider(),
                    model: self.settings.model.clone(),
                    endpoint: self.transport.endpoint.clone(),
                    fix: if self.transport.provider == "LM Studio" {
                        format!(
                            "download and load it in LM Studio (`lms get {0}`, `lms load {0}`), or set model in [models.{1}] to one GET /v1/models lists",
                            self.settings.model, self.transport.name
                        )
                    } else {
                        format!(
                            "set model in [models.{}] to one the server lists at GET /v1/models",
                            self.transport.name
                        )
                    },
                }
            }
            400 | 413 if code == "context_length_exceeded" || says_context_exceeded(&message) => {
                ModelError::PromptTooLong {
                    provider: self.provider(),
                    model: self.settings.model.clone(),
                    message,
                }
            }
            _ => self.transport.status_error(reply, message),
        }
    }
}

#[async_trait]
impl ModelBackend for OpenAiBackend {
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
        let body = chat_body(
            &self.settings,
            request,
            max_tokens,
            &self.transport.provider,
        );
        let (reply, attempts) = self
            .transport
            .call(
                |client| {
                    self.transport
                        .bearer_request(client, reqwest::Method::POST, "/v1/chat/completions")
                        .json(&body)
                },
                |reply| self.map_error(reply),
            )
            .await?;
        let value: Value = serde_json::from_str(&reply.body).map_err(|e| {
            self.transport
                .malformed("chat completion is not JSON", e, &reply.body)
        })?;
        if value.get("error").is_some_and(|e| !e.is_null()) && value.get("choices").is_none() {
            // Some proxies answer 200 with an error object.
            return Err(self.map_error(&HttpReply {
                status: http::StatusCode::BAD_GATEWAY,
                ..reply.clone()
            }));
        }
        let parsed: ChatCompletion = serde_json::from_value(value).map_err(|e| {
            self.transport
                .malformed("chat completion lacks the OpenAI fields", e, &reply.body)
        })?;
        let Some(choice) = parsed.choices.into_iter().next() else {
            return Err(self.transport.malformed(
                "chat completion has no choices",
                "`choices` is empty",
                &reply.body,
            ));
        };
        let finish = FinishReason::from_wire(choice.finish_reason.as_deref());
        let mut message = choice.message;
        let calls = read_tool_calls(
            message
                .as_mut()
                .and_then(|m| m.tool_calls.take())
                .unwrap_or_default(),
        );
        let text = match message {
            Some(ChoiceMessage {
                content: Some(text),
                ..
            }) => text,
            Some(ChoiceMessage { content: None, .. }) if !calls.is_empty() => String::new(),
            Some(ChoiceMessage {
                refusal: Some(refusal),
                ..
            }) => {
                return Err(ModelError::Rejected {
                    provider: self.provider(),
                    status: reply.status.as_u16(),
                    message: format!("the model refused: {}", self.transport.scrub(&refusal)),
                });
            }
            _ => {
                return Err(self.transport.malformed(
                    "chat completion has no text",
                    format!("message.content is missing (finish_reason {finish:?})"),
                    &reply.body,
                ));
            }
        };
        let reported = parsed.usage.as_ref();
        Ok(Completion::assemble(
            &self.settings,
            text,
            Reported {
                prompt_tokens: reported.and_then(|u| u.prompt_tokens),
                completion_tokens: reported.and_then(|u| u.completion_tokens),
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
                |client| {
                    self.transport
                        .bearer_request(client, reqwest::Method::GET, "/v1/models")
                },
                |reply| self.map_error(reply),
            )
            .await?;
        let list: ModelList = serde_json::from_str(&reply.body).map_err(|e| {
            self.transport.malformed(
                "/v1/models answer is not an OpenAI model list",
                e,
                &reply.body,
            )
        })?;
        Ok(list.data.into_iter().map(|m| m.id).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ChatMessage;
    use crate::config::BackendKind;

    fn backend(endpoint: &str, key: Option<&str>) -> OpenAiBackend {
        let settings = ModelSettings::new(BackendKind::Openai, "deepseek-chat");
        OpenAiBackend::new(
            "cloud-deepseek",
            &settings,
            endpoint.into(),
            key.map(|k| {
                (
                    "DEEPSEEK_API_KEY".to_string(),
                    SecretString::from(k.to_string()),
                )
            }),
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
    fn provider_is_named_from_the_endpoint() {
        assert_eq!(provider_for("https://api.openai.com"), "OpenAI");
        assert_eq!(provider_for("https://api.deepseek.com"), "DeepSeek");
        assert_eq!(provider_for("http://127.0.0.1:1234"), "LM Studio");
        assert_eq!(provider_for("http://gpu:8000"), "OpenAI-compatible server");
    }

    #[test]
    fn chat_body_has_the_openai_fields() {
        let settings = ModelSettings::new(BackendKind::Openai, "qwen2.5-coder-7b-instruct");
        let request =
            CompletionRequest::new(vec![ChatMessage::system("s"), ChatMessage::user("u")])
                .with_temperature(0.3)
                .with_stop(["STOP"]);
        let body = chat_body(&settings, &request, 1000, "LM Studio");
        assert_eq!(body["model"], "qwen2.5-coder-7b-instruct");
        assert_eq!(body["stream"], false);
        assert_eq!(body["max_tokens"], 1000);
        assert!(body.get("max_completion_tokens").is_none());
        assert!((body["temperature"].as_f64().unwrap() - 0.3).abs() < 1e-6);
        assert_eq!(body["stop"][0], "STOP");
        assert_eq!(body["messages"][0]["role"], "system");
        let openai = chat_body(&settings, &request, 1000, "OpenAI");
        assert_eq!(openai["max_completion_tokens"], 1000);
        assert!(openai.get("max_tokens").is_none());
    }

    #[test]
    fn tools_calls_and_results_have_the_openai_shape() {
        let settings = ModelSettings::new(BackendKind::Openai, "m");
        let call = ToolCall {
            id: "call_abc".into(),
            name: "read_file".into(),
            arguments: r#"{"path":"a.ts"}"#.into(),
        };
        let request = CompletionRequest::new(vec![
            ChatMessage::user("u"),
            ChatMessage::assistant_calls("", vec![call.clone()]),
            ChatMessage::tool_result(&call, "1: x"),
        ])
        .with_tools(vec![ToolSpec {
            name: "read_file".into(),
            description: "Read".into(),
            parameters: json!({"type": "object", "properties": {"path": {"type": "string"}}}),
        }]);
        let body = chat_body(&settings, &request, 10, "LM Studio");
        assert_eq!(body["tools"][0]["type"], "function");
        assert_eq!(body["tools"][0]["function"]["name"], "read_file");
        assert_eq!(
            body["tools"][0]["function"]["parameters"]["properties"]["path"]["type"],
            "string"
        );
        let assistant = &body["messages"][1];
        assert_eq!(assistant["content"], Value::Null);
        assert_eq!(assistant["tool_calls"][0]["id"], "call_abc");
        assert_eq!(assistant["tool_calls"][0]["type"], "function");
        assert_eq!(
            assistant["tool_calls"][0]["function"]["arguments"],
            r#"{"path":"a.ts"}"#
        );
        assert_eq!(
            body["messages"][2],
            json!({"role": "tool", "tool_call_id": "call_abc", "content": "1: x"})
        );
        let plain = chat_body(
            &settings,
            &CompletionRequest::new(vec![ChatMessage::user("u")]),
            10,
            "LM Studio",
        );
        assert!(plain.get("tools").is_none());
    }

    #[test]
    fn tool_calls_are_read_as_written_with_ids_made_up_when_missing() {
        let calls: Vec<WireToolCall> = serde_json::from_value(json!([
            {"id": "call_1", "type": "function", "function": {"name": "search", "arguments": "{\"pattern\": \"x\""}},
            {"type": "function", "function": {"name": "finish", "arguments": {"summary": "done"}}}
        ]))
        .unwrap();
        let calls = read_tool_calls(calls);
        assert_eq!(calls[0].id, "call_1");
        // Malformed JSON text is kept for the error the model will read.
        assert_eq!(calls[0].arguments, "{\"pattern\": \"x\"");
        assert_eq!(calls[1].id, "gitkeeper_call_1");
        assert_eq!(calls[1].arguments, r#"{"summary":"done"}"#);
    }

    #[test]
    fn seed_is_sent_from_the_request_or_the_model_setting() {
        let mut settings = ModelSettings::new(BackendKind::Openai, "m");
        let request = CompletionRequest::new(vec![ChatMessage::user("u")]);
        assert!(
            chat_body(&settings, &request, 10, "LM Studio")
                .get("seed")
                .is_none()
        );
        settings.seed = Some(7);
        assert_eq!(chat_body(&settings, &request, 10, "LM Studio")["seed"], 7);
        let request = request.with_seed(42);
        assert_eq!(chat_body(&settings, &request, 10, "LM Studio")["seed"], 42);
    }

    #[test]
    fn lm_studio_without_a_loaded_model_says_how_to_load_it() {
        let b = backend("http://127.0.0.1:1234", None);
        let err = b.map_error(&reply(
            400,
            r#"{"error":{"message":"No models loaded. Please load a model in the developer page or use the `lms load` command."}}"#,
        ));
        let text = err.to_string();
        assert!(text.contains("no model loaded"), "{text}");
        assert!(text.contains("Developer tab"), "{text}");
        assert!(text.contains("lms load deepseek-chat"), "{text}");
    }

    #[test]
    fn rejected_key_names_the_variable_and_is_not_echoed() {
        let b = backend("https://api.deepseek.com", Some("sk-live-abcdef123456"));
        let err = b.map_error(&reply(
            401,
            r#"{"error":{"message":"Authentication Fails, Your api key: sk-live-abcdef123456 is invalid","type":"authentication_error","code":"invalid_request_error"}}"#,
        ));
        let text = err.to_string();
        assert_eq!(
            text,
            "DeepSeek rejected the API key: set DEEPSEEK_API_KEY to a valid key"
        );
        assert!(!format!("{err:?}").contains("abcdef"));
        assert!(!format!("{b:?}").contains("abcdef"));
    }

    #[test]
    fn quota_model_and_context_errors_are_told_apart() {
        let b = backend("https://api.openai.com", Some("sk-x"));
        assert!(matches!(
            b.map_error(&reply(429, r#"{"error":{"message":"You exceeded your current quota","type":"insufficient_quota","code":"insufficient_quota"}}"#)),
            ModelError::Billing { .. }
        ));
        assert!(matches!(
            b.map_error(&reply(429, r#"{"error":{"message":"Rate limit reached","type":"requests","code":"rate_limit_exceeded"}}"#)),
            ModelError::RateLimited { .. }
        ));
        assert!(matches!(
            b.map_error(&reply(404, r#"{"error":{"message":"The model `gpt-9` does not exist or you do not have access to it.","type":"invalid_request_error","code":"model_not_found"}}"#)),
            ModelError::ModelNotFound { .. }
        ));
        assert!(matches!(
            b.map_error(&reply(400, r#"{"error":{"message":"This model's maximum context length is 128000 tokens.","type":"invalid_request_error","code":"context_length_exceeded"}}"#)),
            ModelError::PromptTooLong { .. }
        ));
        assert!(matches!(
            b.map_error(&reply(
                402,
                r#"{"error":{"message":"Insufficient Balance","type":"unknown_error"}}"#
            )),
            ModelError::Billing { .. }
        ));
        assert!(
            b.map_error(&reply(
                500,
                r#"{"error":{"message":"The server had an error","type":"server_error"}}"#
            ))
            .resend()
        );
    }
}
