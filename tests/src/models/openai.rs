//! The OpenAI-compatible double: `POST /v1/chat/completions` (JSON, or SSE
//! when `stream: true`), `GET /v1/models`, `GET /v1/models/{id}`. With a key
//! configured it refuses requests without the right bearer like OpenAI does
//! (401 `invalid_api_key`, the key masked in the message). With
//! `no_model_loaded` it answers like LM Studio with nothing loaded.

use axum::response::Response;
use serde_json::{Value, json};

use super::script::{Action, Failure, UsageReport};
use super::tokens::{count_tokens, prompt_tokens};
use super::{
    Incoming, Shared, json_response, parse_messages, random_id, retry_after_header, text_response,
    unix_now,
};

pub(crate) async fn handle(shared: &Shared, req: &Incoming) -> Response {
    if let Some(refusal) = check_key(shared, req) {
        return refusal;
    }
    match (req.method.as_str(), req.route()) {
        ("GET", "/v1/models") => list(shared),
        ("GET", route) if route.starts_with("/v1/models/") => {
            let id = &route["/v1/models/".len()..];
            if shared.has_model(id) {
                json_response(200, &model_object(id), &[])
            } else {
                model_not_found(id)
            }
        }
        ("POST", "/v1/chat/completions") => chat(shared, req).await,
        (method, route) => error(
            404,
            &format!("Invalid URL ({method} {route})"),
            "invalid_request_error",
            Value::Null,
        ),
    }
}

/// `{"error": {"message", "type", "param", "code"}}`.
fn error(status: u16, message: &str, kind: &str, code: Value) -> Response {
    json_response(
        status,
        &json!({"error": {"message": message, "type": kind, "param": null, "code": code}}),
        &[],
    )
}

fn check_key(shared: &Shared, req: &Incoming) -> Option<Response> {
    let expected = shared.options().api_key?;
    match req.bearer() {
        None => Some(error(
            401,
            "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
            "invalid_request_error",
            Value::Null,
        )),
        Some(given) if given != expected => Some(error(
            401,
            &format!(
                "Incorrect API key provided: {}. You can find your API key at https://platform.openai.com/account/api-keys.",
                mask(given)
            ),
            "invalid_request_error",
            json!("invalid_api_key"),
        )),
        Some(_) => None,
    }
}

/// OpenAI's masking: the first 3 and last 4 characters.
fn mask(key: &str) -> String {
    let chars: Vec<char> = key.chars().collect();
    if chars.len() <= 8 {
        return "*".repeat(chars.len());
    }
    let head: String = chars[..3].iter().collect();
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("{head}{}{tail}", "*".repeat(chars.len() - 7))
}

fn model_object(id: &str) -> Value {
    json!({"id": id, "object": "model", "created": 1_715_367_049u64, "owned_by": "organization-owner"})
}

fn model_not_found(model: &str) -> Response {
    error(
        404,
        &format!("The model `{model}` does not exist or you do not have access to it."),
        "invalid_request_error",
        json!("model_not_found"),
    )
}

fn list(shared: &Shared) -> Response {
    let options = shared.options();
    let data: Vec<Value> = if options.no_model_loaded {
        Vec::new()
    } else {
        options.models.iter().map(|m| model_object(m)).collect()
    };
    json_response(200, &json!({"object": "list", "data": data}), &[])
}

async fn chat(shared: &Shared, req: &Incoming) -> Response {
    let body: Value = match serde_json::from_slice(&req.body) {
        Ok(body) => body,
        Err(_) => {
            return error(
                400,
                "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP library correctly. The OpenAI API expects a JSON payload, but what was sent was not valid JSON.)",
                "invalid_request_error",
                Value::Null,
            );
        }
    };
    if shared.options().no_model_loaded {
        // LM Studio's answer when nothing is loaded.
        return json_response(
            400,
            &json!({"error": {"message": "No models loaded. Please load a model in the developer page or use the `lms load` command."}}),
            &[],
        );
    }
    let model = match body.get("model").and_then(Value::as_str) {
        Some(m) if !m.is_empty() => m.to_string(),
        _ => {
            return error(
                400,
                "you must provide a model parameter",
                "invalid_request_error",
                Value::Null,
            );
        }
    };
    let messages = match parse_messages(&body) {
        Ok(m) if !m.is_empty() => m,
        Ok(_) => {
            return error(
                400,
                "Missing required parameter: 'messages'.",
                "invalid_request_error",
                json!("missing_required_parameter"),
            );
        }
        Err(e) => return error(400, &e, "invalid_request_error", Value::Null),
    };
    if let Some(refusal) = super::tools::openai_refusal(&body) {
        return error(400, &refusal, "invalid_request_error", Value::Null);
    }
    if !shared.has_model(&model) {
        return model_not_found(&model);
    }
    let stream = body.get("stream").and_then(Value::as_bool).unwrap_or(false);
    let step = match shared.take_step().await {
        Ok(step) => step,
        Err(n) => {
            return error(
                500,
                &format!("model double: script exhausted at completion request {n}"),
                "server_error",
                Value::Null,
            );
        }
    };
    let cut_off = step.cut_off;
    let response = match step.action {
        Action::Reply(reply) => {
            let id = format!("chatcmpl-{}", random_id(24));
            let calling = !reply.tool_calls.is_empty();
            let finish = if reply.hit_max_tokens {
                "length"
            } else if calling {
                "tool_calls"
            } else {
                "stop"
            };
            let usage = match reply.usage {
                UsageReport::Counted => {
                    let p = prompt_tokens(&messages);
                    let c = count_tokens(&format!(
                        "{}{}",
                        reply.text,
                        super::tools::calls_text(&reply.tool_calls)
                    ));
                    Some(json!({"prompt_tokens": p, "completion_tokens": c, "total_tokens": p + c}))
                }
                UsageReport::Fixed { prompt, completion } => Some(json!({
                    "prompt_tokens": prompt,
                    "completion_tokens": completion,
                    "total_tokens": prompt + completion
                })),
                UsageReport::Omitted => None,
            };
            if stream && calling {
                return error(
                    400,
                    "model double: streamed tool calls are not simulated",
                    "invalid_request_error",
                    Value::Null,
                );
            }
            if stream {
                sse(&id, &model, &reply.text, finish)
            } else {
                let mut completion = json!({
                    "id": id,
                    "object": "chat.completion",
                    "created": unix_now(),
                    "model": model,
                    "choices": [{
                        "index": 0,
                        "message": {"role": "assistant", "content": reply.text, "refusal": null},
                        "logprobs": null,
                        "finish_reason": finish
                    }],
                    "system_fingerprint": "fp_double"
                });
                if calling {
                    let message = &mut completion["choices"][0]["message"];
                    message["tool_calls"] = super::tools::openai_calls(&reply.tool_calls);
                    if reply.text.is_empty() {
                        message["content"] = Value::Null;
                    }
                }
                if let Some(usage) = usage {
                    completion["usage"] = usage;
                }
                json_response(200, &completion, &[])
            }
        }
        Action::Fail(failure) => match failure {
            Failure::RateLimited { retry_after_secs } => json_response(
                429,
                &json!({"error": {
                    "message": "Rate limit reached for requests per min (RPM): Limit 3, Used 3, Requested 1. Please try again later.",
                    "type": "requests",
                    "param": null,
                    "code": "rate_limit_exceeded"
                }}),
                &retry_after_header(retry_after_secs),
            ),
            Failure::ServerError => error(
                500,
                "The server had an error while processing your request. Sorry about that!",
                "server_error",
                Value::Null,
            ),
            Failure::Overloaded => error(
                503,
                "The engine is currently overloaded, please try again later",
                "server_error",
                Value::Null,
            ),
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

/// `text/event-stream` chunks ending with `data: [DONE]`.
fn sse(id: &str, model: &str, text: &str, finish: &str) -> Response {
    let created = unix_now();
    let mut out = String::new();
    let mut push = |delta: Value, finish: Value| {
        let chunk = json!({
            "id": id, "object": "chat.completion.chunk", "created": created, "model": model,
            "choices": [{"index": 0, "delta": delta, "logprobs": null, "finish_reason": finish}]
        });
        out.push_str(&format!("data: {chunk}\n\n"));
    };
    push(json!({"role": "assistant", "content": ""}), Value::Null);
    for piece in text.split_inclusive(' ') {
        push(json!({"content": piece}), Value::Null);
    }
    push(json!({}), json!(finish));
    out.push_str("data: [DONE]\n\n");
    text_response(200, "text/event-stream; charset=utf-8", out)
}

#[cfg(test)]
mod tests {
    use super::mask;

    #[test]
    fn keys_are_masked_like_openai_does() {
        assert_eq!(mask("sk-wrong-key-1234"), "sk-**********1234");
        assert_eq!(mask("short"), "*****");
    }
}
