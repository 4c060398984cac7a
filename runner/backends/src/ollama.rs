//! Ollama's native API: `POST /api/chat` (never streamed) and `GET /api/tags`.
//!
//! Ollama silently drops the start of a prompt that does not fit `num_ctx`
//! (2048 tokens unless told otherwise), so every call sends `options.num_ctx`
//! sized to the prompt plus the answer, refuses a prompt that cannot fit the
//! model's window, asks newer servers to fail rather than truncate
//! (`truncate: false`), and rejects an answer whose `prompt_eval_count` shows
//! the model saw less than the whole prompt. It must never return an answer
//! to a prompt the model did not fully read.
//!
//! Tools (agent mode) go out in the OpenAI shape (`tools: [{"type":
//! "function", ...}]`); calls come back in `message.tool_calls` with
//! `function.arguments` as a JSON object (and no id on older servers), and
//! results go back as `{"role": "tool", "content", "tool_name"}` messages.

use std::time::{Duration, Instant};

use async_trait::async_trait;
use secrecy::SecretString;
use serde::Deserialize;
use serde_json::{Value, json};

use super::ModelBackend;
use super::config::ModelSettings;
use super::error::ModelError;
use super::openai::{WireToolCall, read_tool_calls};
use super::tokens::count_request;
use super::transport::{
    HttpReply, Transport, TransportConfig, error_message, is_loopback, says_context_exceeded,
};
use super::types::{Completion, Reported};
use super::{ChatMessage, CompletionRequest, FinishReason, Role};

/// `num_ctx` is rounded up to a multiple of this, so consecutive prompts of
/// similar size reuse the loaded model instead of reloading it with a new
/// context size.
pub const NUM_CTX_STEP: u32 = 4096;
/// An answer needs at least this many tokens (or `max_tokens`, if smaller)
/// of room, or the prompt is refused as too large.
pub const MIN_ANSWER_TOKENS: u32 = 512;
/// Below this many prompt tokens the truncation ratio check is too noisy.
const MIN_TOKENS_FOR_RATIO_CHECK: u32 = 64;

/// How one call uses the model's context.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ContextPlan {
    /// The prompt as counted locally (cl100k_base plus template overhead).
    pub prompt_tokens: u32,
    /// `options.num_ctx` sent.
    pub num_ctx: u32,
    /// `options.num_predict` sent.
    pub num_predict: u32,
}

/// The margin added to a locally counted prompt: the model's own tokenizer
/// may count an eighth more, plus its chat template.
pub fn prompt_margin(prompt_tokens: u32) -> u32 {
    prompt_tokens / 8 + 64
}

/// Size `num_ctx` for a prompt of `prompt_tokens` and an answer of up to
/// `max_tokens`, within `context_window`; refuse prompts that cannot fit.
pub fn plan_context(
    model: &str,
    prompt_tokens: u32,
    max_tokens: u32,
    context_window: u32,
) -> Result<ContextPlan, ModelError> {
    let padded = prompt_tokens.saturating_add(prompt_margin(prompt_tokens));
    let min_answer = max_tokens.clamp(1, MIN_ANSWER_TOKENS);
    let room = context_window.saturating_sub(padded);
    if room < min_answer {
        return Err(ModelError::ContextOverflow {
            model: model.to_string(),
            prompt_tokens,
            answer_tokens: min_answer,
            context_window,
        });
    }
    let num_predict = max_tokens.min(room);
    let needed = padded + num_predict;
    let num_ctx = needed
        .div_ceil(NUM_CTX_STEP)
        .saturating_mul(NUM_CTX_STEP)
        .min(context_window);
    Ok(ContextPlan {
        prompt_tokens,
        num_ctx,
        num_predict,
    })
}

/// Fail when the reported `prompt_eval_count` shows the prompt was cut: it
/// filled the whole context, or it is clearly smaller than what was sent.
/// A missing or zero count (old servers with a cached prompt) proves nothing.
pub fn check_truncation(
    model: &str,
    plan: &ContextPlan,
    prompt_eval_count: Option<u32>,
) -> Result<(), ModelError> {
    let Some(evaluated) = prompt_eval_count.filter(|n| *n > 0) else {
        return Ok(());
    };
    let filled_context = evaluated >= plan.num_ctx;
    let clearly_short = plan.prompt_tokens >= MIN_TOKENS_FOR_RATIO_CHECK
        && u64::from(evaluated) * 10 < u64::from(plan.prompt_tokens) * 6;
    if filled_context || clearly_short {
        return Err(ModelError::Truncated {
            model: model.to_string(),
            sent: plan.prompt_tokens,
            evaluated,
            num_ctx: plan.num_ctx,
        });
    }
    Ok(())
}

/// The `/api/chat` body.
pub fn chat_body(
    settings: &ModelSettings,
    request: &CompletionRequest,
    plan: &ContextPlan,
) -> Value {
    let temperature = request.temperature.unwrap_or(settings.temperature);
    let messages: Vec<Value> = request.messages.iter().map(wire_message).collect();
    let mut options = json!({
        "num_ctx": plan.num_ctx,
        "num_predict": plan.num_predict,
        "temperature": temperature,
    });
    if !request.stop.is_empty() {
        options["stop"] = json!(request.stop);
    }
    if let Some(seed) = request.seed.or(settings.seed) {
        options["seed"] = json!(seed);
    }
    if let Some(threads) = settings.num_thread.filter(|n| *n > 0) {
        options["num_thread"] = json!(threads);
    }
    let mut body = json!({
        "model": settings.model,
        "messages": messages,
        "stream": false,
        "options": options,
        // Ollama versions that know this flag fail instead of truncating;
        // older ones ignore it and are caught by `check_truncation`.
        "truncate": false,
    });
    if let Some(keep_alive) = settings.keep_alive.as_deref().filter(|k| !k.is_empty()) {
        body["keep_alive"] = json!(keep_alive);
    }
    if !request.tools.is_empty() {
        body["tools"] = super::openai::wire_tools(&request.tools);
    }
    body
}

/// One message as `/api/chat` takes it: an assistant's calls with their
/// arguments as objects (text that is not a JSON object goes as `{}`: the
/// model was already told its call was malformed), results as `tool`
/// messages naming the tool.
fn wire_message(m: &ChatMessage) -> Value {
    match m.role {
        Role::Tool => json!({
            "role": "tool",
            "content": m.content,
            "tool_name": m.tool_name.as_deref().unwrap_or_default(),
        }),
        Role::Assistant if !m.tool_calls.is_empty() => {
            let calls: Vec<Value> = m
                .tool_calls
                .iter()
                .map(|c| {
                    let arguments = serde_json::from_str::<Value>(&c.arguments)
                        .ok()
                        .filter(Value::is_object)
                        .unwrap_or_else(|| json!({}));
                    json!({"function": {"name": c.name, "arguments": arguments}})
                })
                .collect();
            json!({"role": "assistant", "content": m.content, "tool_calls": calls})
        }
        _ => json!({"role": m.role.as_str(), "content": m.content}),
    }
}

#[derive(Debug, Deserialize)]
struct ChatResponse {
    #[serde(default)]
    model: Option<String>,
    #[serde(default)]
    message: Option<ResponseMessage>,
    #[serde(default)]
    done_reason: Option<String>,
    #[serde(default)]
    prompt_eval_count: Option<u32>,
    #[serde(default)]
    eval_count: Option<u32>,
    #[serde(default)]
    error: Option<String>,
}

#[derive(Debug, Deserialize)]
struct ResponseMessage {
    #[serde(default)]
    content: String,
    #[serde(default)]
    tool_calls: Vec<WireToolCall>,
}

#[derive(Debug, Deserialize)]
struct TagsResponse {
    models: Vec<TagModel>,
}

#[derive(Debug, Deserialize)]
struct TagModel {
    name: String,
}

/// A model served by Ollama.
#[derive(Debug)]
pub struct OllamaBackend {
    settings: ModelSettings,
    api_key_var: Option<String>,
    transport: Transport,
}

impl OllamaBackend {
    /// `endpoint` is resolved (see `ModelSettings::resolved_endpoint`); `api_key`
    /// is only for an Ollama behind an authenticating proxy.
    pub fn new(
        name: &str,
        settings: &ModelSettings,
        endpoint: String,
        api_key: Option<(String, SecretString)>,
    ) -> Result<Self, ModelError> {
        let connect_hint = if is_loopback(&endpoint) {
            "is `ollama serve` running?".to_string()
        } else {
            "is `ollama serve` running there, listening on the network (OLLAMA_HOST=0.0.0.0 on that machine)?"
                .to_string()
        };
        let (api_key_var, secret) = match api_key {
            Some((var, key)) => (Some(var), Some(key)),
            None => (None, None),
        };
        let transport = Transport::new(TransportConfig {
            endpoint,
            provider: "Ollama".into(),
            name: name.to_string(),
            connect_hint,
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

    fn map_error(&self, reply: &HttpReply) -> ModelError {
        let message = self.transport.scrub(&error_message(&reply.body));
        let lower = message.to_ascii_lowercase();
        match reply.status.as_u16() {
            404 if lower.contains("not found") => ModelError::ModelNotFound {
                provider: "Ollama".into(),
                model: self.settings.model.clone(),
                endpoint: self.transport.endpoint.clone(),
                fix: format!("run `ollama pull {}`", self.settings.model),
            },
            400 if says_context_exceeded(&message) => ModelError::PromptTooLong {
                provider: "Ollama".into(),
                model: self.settings.model.clone(),
                message,
            },
            401 | 403 => ModelError::Unauthorized {
                provider: "Ollama".into(),
                fix: match &self.api_key_var {
                    Some(var) => format!("set {var} to a key the server accepts"),
                    None => format!(
                        "this server wants a key: set api_key_env in [models.{}] to the variable that holds it",
                        self.transport.name
                    ),
                },
            },
            500 if lower.contains("memory") => ModelError::Rejected {
                provider: "Ollama".into(),
                status: 500,
                message: format!(
                    "{message} (the machine lacks memory for {}: close other apps, lower context_window or use a smaller model)",
                    self.settings.model
                ),
            },
            _ => self.transport.status_error(reply, message),
        }
    }
}

#[async_trait]
impl ModelBackend for OllamaBackend {
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
        let plan = plan_context(
            &self.settings.model,
            prompt_tokens,
            max_tokens,
            self.settings.context_window,
        )?;
        let body = chat_body(&self.settings, request, &plan);
        let (reply, attempts) = self
            .transport
            .call(
                |client| {
                    self.transport
                        .bearer_request(client, reqwest::Method::POST, "/api/chat")
                        .json(&body)
                },
                |reply| self.map_error(reply),
            )
            .await?;
        let parsed: ChatResponse = serde_json::from_str(&reply.body).map_err(|e| {
            self.transport.malformed(
                "/api/chat answer is not the JSON Ollama sends",
                e,
                &reply.body,
            )
        })?;
        if let Some(error) = parsed.error.as_deref().filter(|e| !e.is_empty()) {
            return Err(self.transport.status_error(
                &HttpReply {
                    status: http::StatusCode::INTERNAL_SERVER_ERROR,
                    ..reply.clone()
                },
                self.transport.scrub(error),
            ));
        }
        let Some(message) = parsed.message else {
            return Err(self.transport.malformed(
                "/api/chat answer has no message",
                "missing `message`",
                &reply.body,
            ));
        };
        check_truncation(&self.settings.model, &plan, parsed.prompt_eval_count)?;
        let calls = read_tool_calls(message.tool_calls);
        let finish = match FinishReason::from_wire(parsed.done_reason.as_deref()) {
            // Ollama says `stop` after tool calls too.
            FinishReason::Stop if !calls.is_empty() => FinishReason::ToolCalls,
            other => other,
        };
        Ok(Completion::assemble(
            &self.settings,
            message.content,
            Reported {
                prompt_tokens: parsed.prompt_eval_count.filter(|n| *n > 0),
                completion_tokens: parsed.eval_count,
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
                        .bearer_request(client, reqwest::Method::GET, "/api/tags")
                },
                |reply| {
                    let message = self.transport.scrub(&error_message(&reply.body));
                    self.transport.status_error(reply, message)
                },
            )
            .await?;
        let tags: TagsResponse = serde_json::from_str(&reply.body).map_err(|e| {
            self.transport.malformed(
                "/api/tags answer is not the JSON Ollama sends",
                e,
                &reply.body,
            )
        })?;
        Ok(tags.models.into_iter().map(|m| m.name).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ChatMessage;
    use crate::config::BackendKind;

    fn settings() -> ModelSettings {
        let mut s = ModelSettings::new(BackendKind::Ollama, "qwen2.5-coder:7b");
        s.context_window = 32768;
        s
    }

    fn backend() -> OllamaBackend {
        OllamaBackend::new(
            "local-small",
            &settings(),
            "http://127.0.0.1:11434".into(),
            None,
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
    fn num_ctx_covers_prompt_margin_and_answer_in_steps() {
        let plan = plan_context("m", 1000, 4096, 32768).unwrap();
        // 1000 + 125 + 64 + 4096 = 5285 → 8192.
        assert_eq!(plan.num_ctx, 8192);
        assert_eq!(plan.num_predict, 4096);
        assert_eq!(plan.prompt_tokens, 1000);
        assert!(
            plan.num_ctx > 2048,
            "must never fall back to Ollama's default"
        );

        let small = plan_context("m", 10, 100, 32768).unwrap();
        assert_eq!(small.num_ctx, NUM_CTX_STEP);
    }

    #[test]
    fn num_ctx_is_capped_at_the_window_and_the_answer_shrinks_to_fit() {
        let plan = plan_context("m", 20000, 8192, 32768).unwrap();
        // padded 20000 + 2500 + 64 = 22564; room 10204 ≥ 8192.
        assert_eq!(plan.num_predict, 8192);
        assert_eq!(plan.num_ctx, 32768);
        let tight = plan_context("m", 26000, 8192, 32768).unwrap();
        // padded 29314; room 3454 < 8192 → answer shrinks.
        assert_eq!(tight.num_predict, 3454);
        assert_eq!(tight.num_ctx, 32768);
    }

    #[test]
    fn prompt_that_cannot_fit_names_sizes_and_model() {
        let err = plan_context("qwen2.5-coder:7b", 30000, 4096, 32768).unwrap_err();
        let text = err.to_string();
        assert!(
            text.starts_with(
                "prompt is 30000 tokens but qwen2.5-coder:7b's context window is 32768"
            ),
            "{text}"
        );
        assert_eq!(err.kind(), crate::ErrorKind::TooLarge);
    }

    #[test]
    fn truncation_is_detected_from_prompt_eval_count() {
        let plan = ContextPlan {
            prompt_tokens: 3000,
            num_ctx: 8192,
            num_predict: 4096,
        };
        assert!(check_truncation("m", &plan, Some(3100)).is_ok());
        assert!(
            check_truncation("m", &plan, Some(2500)).is_ok(),
            "tokenizers differ a little"
        );
        assert!(check_truncation("m", &plan, None).is_ok());
        assert!(check_truncation("m", &plan, Some(0)).is_ok());
        let err = check_truncation("m", &plan, Some(1024)).unwrap_err();
        assert!(
            matches!(
                err,
                ModelError::Truncated {
                    evaluated: 1024,
                    ..
                }
            ),
            "{err}"
        );
        assert!(check_truncation("m", &plan, Some(8192)).is_err());
        // Tiny prompts are not judged by ratio.
        let tiny = ContextPlan {
            prompt_tokens: 20,
            num_ctx: 4096,
            num_predict: 100,
        };
        assert!(check_truncation("m", &tiny, Some(5)).is_ok());
    }

    #[test]
    fn tools_and_tool_messages_have_the_ollama_shape() {
        let settings = ModelSettings::new(crate::config::BackendKind::Ollama, "qwen2.5-coder:7b");
        let call = crate::ToolCall {
            id: "gitkeeper_call_0".into(),
            name: "read_file".into(),
            arguments: r#"{"path":"a.ts"}"#.into(),
        };
        let broken = crate::ToolCall {
            id: "gitkeeper_call_1".into(),
            name: "search".into(),
            arguments: "{not json".into(),
        };
        let request = CompletionRequest::new(vec![
            ChatMessage::user("u"),
            ChatMessage::assistant_calls("", vec![call.clone(), broken]),
            ChatMessage::tool_result(&call, "1: x"),
        ])
        .with_tools(vec![crate::ToolSpec {
            name: "read_file".into(),
            description: "Read".into(),
            parameters: json!({"type": "object"}),
        }]);
        let plan = plan_context("m", 100, 100, 8192).unwrap();
        let body = chat_body(&settings, &request, &plan);
        assert_eq!(body["tools"][0]["type"], "function");
        assert_eq!(body["tools"][0]["function"]["name"], "read_file");
        let calls = &body["messages"][1]["tool_calls"];
        assert_eq!(calls[0]["function"]["arguments"], json!({"path": "a.ts"}));
        assert_eq!(calls[1]["function"]["arguments"], json!({}));
        assert_eq!(
            body["messages"][2],
            json!({"role": "tool", "content": "1: x", "tool_name": "read_file"})
        );
        let read: Vec<WireToolCall> = serde_json::from_value(json!([
            {"function": {"name": "list_files", "arguments": {"path": ".", "depth": 2}}}
        ]))
        .unwrap();
        let read = read_tool_calls(read);
        assert_eq!(read[0].id, "gitkeeper_call_0");
        assert_eq!(read[0].name, "list_files");
        let args: Value = serde_json::from_str(&read[0].arguments).unwrap();
        assert_eq!(args, json!({"path": ".", "depth": 2}));
    }

    #[test]
    fn chat_body_sends_num_ctx_temperature_num_predict_and_keep_alive() {
        let request = CompletionRequest::new(vec![
            ChatMessage::system("be brief"),
            ChatMessage::user("hi"),
        ])
        .with_stop(["</edits>"]);
        let plan = ContextPlan {
            prompt_tokens: 20,
            num_ctx: 4096,
            num_predict: 512,
        };
        let body = chat_body(&settings(), &request, &plan);
        assert_eq!(body["model"], "qwen2.5-coder:7b");
        assert_eq!(body["stream"], false);
        assert_eq!(body["truncate"], false);
        assert_eq!(body["keep_alive"], "10m");
        assert_eq!(body["options"]["num_ctx"], 4096);
        assert_eq!(body["options"]["num_predict"], 512);
        assert!((body["options"]["temperature"].as_f64().unwrap() - 0.1).abs() < 1e-6);
        assert_eq!(body["options"]["stop"][0], "</edits>");
        assert_eq!(body["messages"][0]["role"], "system");
        assert_eq!(body["messages"][1]["content"], "hi");
        assert!(body["options"].get("num_thread").is_none());
        let mut threaded = settings();
        threaded.num_thread = Some(8);
        let body = chat_body(&threaded, &request, &plan);
        assert_eq!(body["options"]["num_thread"], 8);
        assert!(body["options"].get("seed").is_none());
        threaded.seed = Some(3);
        assert_eq!(chat_body(&threaded, &request, &plan)["options"]["seed"], 3);
    }

    #[test]
    fn unknown_model_says_how_to_pull_it() {
        let err = backend().map_error(&reply(
            404,
            r#"{"error":"model \"qwen2.5-coder:7b\" not found, try pulling it first"}"#,
        ));
        assert_eq!(
            err.to_string(),
            "model qwen2.5-coder:7b not found on Ollama at http://127.0.0.1:11434: run `ollama pull qwen2.5-coder:7b`"
        );
        assert!(!err.is_retryable());
    }

    #[test]
    fn errors_map_by_status_and_words() {
        let b = backend();
        assert!(matches!(
            b.map_error(&reply(500, r#"{"error":"model requires more system memory (9.0 GiB) than is available (6.1 GiB)"}"#)),
            ModelError::Rejected { .. }
        ));
        assert!(
            b.map_error(&reply(
                500,
                r#"{"error":"llama runner process has terminated"}"#
            ))
            .resend()
        );
        assert!(matches!(
            b.map_error(&reply(
                503,
                r#"{"error":"server busy, please try again.  maximum pending requests exceeded"}"#
            )),
            ModelError::Overloaded { .. }
        ));
        assert!(matches!(
            b.map_error(&reply(
                400,
                r#"{"error":"the input length exceeds the context length"}"#
            )),
            ModelError::PromptTooLong { .. }
        ));
    }
}
