//! The Ollama double: `POST /api/chat` (JSON or NDJSON stream, like Ollama's
//! default `stream: true`), `GET /api/tags`, `GET /api/version`, `GET /`.
//! Unknown models get Ollama's 404 `model "x" not found, try pulling it first`.
//! A prompt longer than `options.num_ctx` (default 2048) is "truncated":
//! `prompt_eval_count` reports `num_ctx`, as the real server does.

use axum::response::Response;
use serde_json::{Value, json};

use super::script::{Action, Failure, UsageReport};
use super::tokens::{count_tokens, prompt_tokens};
use super::{Incoming, Shared, json_response, parse_messages, retry_after_header, text_response};

/// The version the double claims (one that ignores `truncate`).
const VERSION: &str = "0.11.4";

pub(crate) async fn handle(shared: &Shared, req: &Incoming) -> Response {
    let options = shared.options();
    if let Some(key) = options.api_key.as_deref() {
        if req.bearer() != Some(key) {
            return error(401, "unauthorized");
        }
    }
    match (req.method.as_str(), req.route()) {
        ("GET" | "HEAD", "/") => {
            text_response(200, "text/plain; charset=utf-8", "Ollama is running".into())
        }
        ("GET", "/api/version") => json_response(200, &json!({"version": VERSION}), &[]),
        ("GET", "/api/tags") => tags(shared),
        ("POST", "/api/chat") => chat(shared, req).await,
        (_, "/api/chat" | "/api/tags" | "/api/version") => {
            text_response(405, "text/plain", "405 method not allowed".into())
        }
        _ => text_response(404, "text/plain", "404 page not found".into()),
    }
}

fn error(status: u16, message: &str) -> Response {
    json_response(status, &json!({"error": message}), &[])
}

fn tags(shared: &Shared) -> Response {
    let models: Vec<Value> = shared
        .options()
        .models
        .iter()
        .map(|name| {
            let name = if name.contains(':') {
                name.clone()
            } else {
                format!("{name}:latest")
            };
            json!({
                "name": name,
                "model": name,
                "modified_at": "2025-01-15T10:00:00.000000000Z",
                "size": 4_683_087_332u64,
                "digest": format!("{:0>64}", super::random_id(12)),
                "details": {
                    "parent_model": "",
                    "format": "gguf",
                    "family": "qwen2",
                    "families": ["qwen2"],
                    "parameter_size": "7.6B",
                    "quantization_level": "Q4_K_M"
                }
            })
        })
        .collect();
    json_response(200, &json!({"models": models}), &[])
}

async fn chat(shared: &Shared, req: &Incoming) -> Response {
    if req.body.is_empty() {
        return error(400, "missing request body");
    }
    let body: Value = match serde_json::from_slice(&req.body) {
        Ok(body) => body,
        Err(e) => return error(400, &format!("invalid character in request body: {e}")),
    };
    let model = match body.get("model").and_then(Value::as_str) {
        Some(m) if !m.is_empty() => m.to_string(),
        _ => return error(400, "model is required"),
    };
    if !shared.has_model(&model) {
        return error(
            404,
            &format!("model \"{model}\" not found, try pulling it first"),
        );
    }
    let messages = match parse_messages(&body) {
        Ok(m) => m,
        Err(e) => return error(400, &e),
    };
    if let Some(refusal) = super::tools::ollama_refusal(&body) {
        return error(400, &refusal);
    }
    let model_options = body.get("options").cloned().unwrap_or(Value::Null);
    let num_ctx = match model_options.get("num_ctx") {
        None | Some(Value::Null) => None,
        Some(v) => match v.as_u64() {
            Some(n) => Some(n),
            None => {
                return error(
                    400,
                    "json: cannot unmarshal into Go struct field Options.num_ctx of type int",
                );
            }
        },
    };
    let stream = body.get("stream").and_then(Value::as_bool).unwrap_or(true);
    if messages.is_empty() {
        // An empty chat only loads the model.
        return json_response(
            200,
            &json!({
                "model": model,
                "created_at": created_at(),
                "message": {"role": "assistant", "content": ""},
                "done_reason": "load",
                "done": true
            }),
            &[],
        );
    }

    let options = shared.options();
    let num_ctx = num_ctx.unwrap_or(u64::from(options.default_num_ctx));
    let counted = (f64::from(prompt_tokens(&messages)) * options.prompt_token_factor).ceil() as u64;
    let truncated = counted > num_ctx;
    if truncated
        && options.honors_truncate_flag
        && body.get("truncate").and_then(Value::as_bool) == Some(false)
    {
        return error(
            400,
            &format!(
                "the input length ({counted} tokens) exceeds the context length ({num_ctx} tokens)"
            ),
        );
    }
    let prompt_eval_count = if truncated { num_ctx } else { counted };

    let step = match shared.take_step().await {
        Ok(step) => step,
        Err(n) => {
            return error(
                500,
                &format!("model double: script exhausted at completion request {n}"),
            );
        }
    };
    let cut_off = step.cut_off;
    let response = match step.action {
        Action::Reply(reply) => {
            let eval_count = u64::from(count_tokens(&format!(
                "{}{}",
                reply.text,
                super::tools::calls_text(&reply.tool_calls)
            )));
            let (prompt, completion) = match reply.usage {
                UsageReport::Counted => (Some(prompt_eval_count), Some(eval_count)),
                UsageReport::Fixed { prompt, completion } => {
                    (Some(u64::from(prompt)), Some(u64::from(completion)))
                }
                UsageReport::Omitted => (None, None),
            };
            let done_reason = if reply.hit_max_tokens {
                "length"
            } else {
                "stop"
            };
            let mut last = json!({
                "model": model,
                "created_at": created_at(),
                "message": {"role": "assistant", "content": reply.text},
                "done_reason": done_reason,
                "done": true,
                "total_duration": 4_883_583_458u64,
                "load_duration": 1_334_875u64,
                "prompt_eval_duration": 342_546_000u64,
                "eval_duration": 4_535_599_000u64
            });
            if !reply.tool_calls.is_empty() {
                last["message"]["tool_calls"] = super::tools::ollama_calls(&reply.tool_calls);
            }
            if let Some(p) = prompt {
                last["prompt_eval_count"] = json!(p);
            }
            if let Some(c) = completion {
                last["eval_count"] = json!(c);
            }
            if stream {
                ndjson(&model, &reply.text, last)
            } else {
                json_response(200, &last, &[])
            }
        }
        Action::Fail(failure) => match failure {
            Failure::RateLimited { retry_after_secs } => json_response(
                429,
                &json!({"error": "too many requests, please slow down"}),
                &retry_after_header(retry_after_secs),
            ),
            Failure::ServerError => {
                error(500, "llama runner process has terminated: exit status 2")
            }
            Failure::Overloaded => error(
                503,
                "server busy, please try again.  maximum pending requests exceeded",
            ),
            Failure::Raw {
                status,
                body,
                headers,
            } => json_response(status, &body, &headers),
        },
        Action::Malformed(text) => text_response(200, "application/json; charset=utf-8", text),
    };
    super::cut_off_if(response, cut_off).await
}

/// The streamed form: one chunk per word, then the final object with an
/// empty message and the statistics.
fn ndjson(model: &str, text: &str, mut last: Value) -> Response {
    let mut lines = String::new();
    for piece in text.split_inclusive(' ') {
        let chunk = json!({
            "model": model,
            "created_at": created_at(),
            "message": {"role": "assistant", "content": piece},
            "done": false
        });
        lines.push_str(&chunk.to_string());
        lines.push('\n');
    }
    last["message"]["content"] = json!("");
    lines.push_str(&last.to_string());
    lines.push('\n');
    text_response(200, "application/x-ndjson", lines)
}

fn created_at() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Nanos, true)
}
