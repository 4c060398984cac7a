//! The Anthropic double: `POST /v1/messages` and `GET /v1/models`, with the
//! API's checks: `x-api-key` (401 `authentication_error`), `anthropic-version`
//! (400 `invalid_request_error`), required `model`/`max_tokens`/`messages`,
//! no `system` role inside `messages`, temperature within 0..=1, unknown
//! models (404 `not_found_error`). Errors carry `request_id` like the API's.
//! Streaming is not simulated (answered with 400 saying so).

use axum::response::Response;
use serde_json::{Value, json};

use super::script::{Action, Failure, UsageReport};
use super::tokens::{count_tokens, prompt_tokens};
use super::{Incoming, Shared, json_response, parse_messages, random_id, text_response};

/// API versions the API accepts.
const VERSIONS: &[&str] = &["2023-06-01", "2023-01-01"];

pub(crate) async fn handle(shared: &Shared, req: &Incoming) -> Response {
    if let Some(refusal) = check_headers(shared, req) {
        return refusal;
    }
    match (req.method.as_str(), req.route()) {
        ("POST", "/v1/messages") => messages(shared, req).await,
        ("GET", "/v1/models") => list(shared),
        _ => error(404, "not_found_error", "Not Found", &[]),
    }
}

fn request_id() -> String {
    format!("req_011C{}", random_id(20))
}

/// `{"type":"error","error":{"type","message"},"request_id"}` with a `request-id` header.
fn error(status: u16, kind: &str, message: &str, headers: &[(String, String)]) -> Response {
    let id = request_id();
    let mut headers = headers.to_vec();
    headers.push(("request-id".into(), id.clone()));
    json_response(
        status,
        &json!({"type": "error", "error": {"type": kind, "message": message}, "request_id": id}),
        &headers,
    )
}

fn check_headers(shared: &Shared, req: &Incoming) -> Option<Response> {
    let expected = shared.options().api_key.unwrap_or_default();
    match req.header("x-api-key") {
        None | Some("") => {
            return Some(error(
                401,
                "authentication_error",
                "x-api-key header is required",
                &[],
            ));
        }
        Some(given) if given != expected => {
            return Some(error(401, "authentication_error", "invalid x-api-key", &[]));
        }
        Some(_) => {}
    }
    match req.header("anthropic-version") {
        None | Some("") => Some(error(
            400,
            "invalid_request_error",
            "anthropic-version: header is required",
            &[],
        )),
        Some(v) if !VERSIONS.contains(&v) => Some(error(
            400,
            "invalid_request_error",
            &format!("anthropic-version: invalid version {v:?}"),
            &[],
        )),
        Some(_) => None,
    }
}

fn list(shared: &Shared) -> Response {
    let models = shared.options().models;
    let data: Vec<Value> = models
        .iter()
        .map(|id| {
            json!({"type": "model", "id": id, "display_name": id, "created_at": "2025-09-29T00:00:00Z"})
        })
        .collect();
    json_response(
        200,
        &json!({
            "data": data,
            "has_more": false,
            "first_id": models.first(),
            "last_id": models.last()
        }),
        &[],
    )
}

fn invalid(message: &str) -> Response {
    error(400, "invalid_request_error", message, &[])
}

async fn messages(shared: &Shared, req: &Incoming) -> Response {
    let body: Value = match serde_json::from_slice(&req.body) {
        Ok(Value::Object(map)) => Value::Object(map),
        _ => {
            return invalid(
                "There was an error parsing the body of your request. Please make sure the request body is valid JSON.",
            );
        }
    };
    let Some(model) = body
        .get("model")
        .and_then(Value::as_str)
        .map(str::to_string)
    else {
        return invalid("model: Field required");
    };
    if body.get("max_tokens").and_then(Value::as_u64).is_none() {
        return invalid("max_tokens: Field required");
    }
    if body.get("messages").is_none() {
        return invalid("messages: Field required");
    }
    let turns = match parse_messages(&body) {
        Ok(t) => t,
        Err(e) => return invalid(&e),
    };
    if turns.is_empty() {
        return invalid("messages: at least one message is required");
    }
    for (role, _) in &turns {
        match role.as_str() {
            "user" | "assistant" => {}
            "system" => {
                return invalid(
                    "messages: Unexpected role \"system\". The Messages API accepts a top-level `system` parameter, not \"system\" as an input message role.",
                );
            }
            other => {
                return invalid(&format!(
                    "messages: Input tag '{other}' found using 'role' does not match any of the expected tags: 'user', 'assistant'"
                ));
            }
        }
    }
    if let Some(t) = body.get("temperature").and_then(Value::as_f64) {
        if !(0.0..=1.0).contains(&t) {
            return invalid(if t > 1.0 {
                "temperature: Input should be less than or equal to 1"
            } else {
                "temperature: Input should be greater than or equal to 0"
            });
        }
    }
    if let Some(refusal) = super::tools::anthropic_refusal(&body) {
        return invalid(&refusal);
    }
    if body.get("stream").and_then(Value::as_bool) == Some(true) {
        return invalid("stream: the model double does not simulate streaming");
    }
    if !shared.has_model(&model) {
        return error(404, "not_found_error", &format!("model: {model}"), &[]);
    }
    let mut all = Vec::new();
    if let Some(system) = body.get("system") {
        let text = match system {
            Value::String(s) => s.clone(),
            Value::Array(blocks) => super::record::blocks_text(blocks),
            _ => String::new(),
        };
        all.push(("system".to_string(), text));
    }
    all.extend(turns);

    let step = match shared.take_step().await {
        Ok(step) => step,
        Err(n) => {
            return error(
                500,
                "api_error",
                &format!("model double: script exhausted at completion request {n}"),
                &[],
            );
        }
    };
    let cut_off = step.cut_off;
    let response = match step.action {
        Action::Reply(reply) => {
            let calling = !reply.tool_calls.is_empty();
            let stop_reason = if reply.hit_max_tokens {
                "max_tokens"
            } else if calling {
                "tool_use"
            } else {
                "end_turn"
            };
            let mut content = Vec::new();
            if !reply.text.is_empty() || !calling {
                content.push(json!({"type": "text", "text": reply.text}));
            }
            content.extend(super::tools::anthropic_blocks(&reply.tool_calls));
            let mut message = json!({
                "id": format!("msg_01{}", random_id(22)),
                "type": "message",
                "role": "assistant",
                "model": model,
                "content": content,
                "stop_reason": stop_reason,
                "stop_sequence": null
            });
            match reply.usage {
                UsageReport::Counted => {
                    message["usage"] = json!({
                        "input_tokens": prompt_tokens(&all),
                        "cache_creation_input_tokens": 0,
                        "cache_read_input_tokens": 0,
                        "output_tokens": count_tokens(&format!(
                            "{}{}",
                            reply.text,
                            super::tools::calls_text(&reply.tool_calls)
                        )),
                        "service_tier": "standard"
                    });
                }
                UsageReport::Fixed { prompt, completion } => {
                    message["usage"] = json!({"input_tokens": prompt, "output_tokens": completion});
                }
                UsageReport::Omitted => {}
            }
            json_response(200, &message, &[("request-id".into(), request_id())])
        }
        Action::Fail(failure) => match failure {
            Failure::RateLimited { retry_after_secs } => error(
                429,
                "rate_limit_error",
                "Number of request tokens has exceeded your per-minute rate limit; see the response headers for current usage. Please reduce the prompt length or the maximum tokens requested, or try again later.",
                &super::retry_after_header(retry_after_secs),
            ),
            Failure::ServerError => error(500, "api_error", "Internal server error", &[]),
            Failure::Overloaded => error(529, "overloaded_error", "Overloaded", &[]),
            Failure::Raw {
                status,
                body,
                headers,
            } => json_response(status, &body, &headers),
        },
        Action::Malformed(text) => text_response(200, "application/json", text),
    };
    super::cut_off_if(response, cut_off).await
}
