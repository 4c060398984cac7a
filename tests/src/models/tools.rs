//! Tool calling as each server speaks it: the checks the real APIs make on
//! `tools` and on the calls and results in a conversation (each refusal
//! with the server's own words), and the shapes the doubles answer calls in.
//!
//! - OpenAI-compatible: `tools: [{"type": "function", "function": {...}}]`;
//!   an assistant message's `tool_calls` must each be answered by a `tool`
//!   message naming its id before any other message, and a `tool` message
//!   must answer one; calls come back with `arguments` as JSON text.
//! - Anthropic: `tools: [{name, input_schema}]`; every `tool_use` block must
//!   be answered by a `tool_result` block in the next (user) message, and a
//!   `tool_result` must answer a `tool_use` of the previous message.
//! - Ollama: OpenAI's `tools` shape; an assistant's call arguments must be
//!   an object (Go unmarshals them into a map); calls come back with
//!   `arguments` as an object and no id (older servers).

use serde_json::{Value, json};

use super::random_id;
use super::script::ScriptedCall;

/// OpenAI's refusal of a request's `tools` or tool messages, if any.
pub(crate) fn openai_refusal(body: &Value) -> Option<String> {
    if let Some(tools) = body.get("tools") {
        let Some(tools) = tools.as_array() else {
            return Some("Invalid type for 'tools': expected an array.".into());
        };
        for (i, tool) in tools.iter().enumerate() {
            if tool.get("type").and_then(Value::as_str) != Some("function") {
                return Some(format!("Missing required parameter: 'tools[{i}].type'."));
            }
            if tool["function"]["name"].as_str().is_none_or(str::is_empty) {
                return Some(format!(
                    "Missing required parameter: 'tools[{i}].function.name'."
                ));
            }
            if tool["function"]
                .get("parameters")
                .is_some_and(|p| !p.is_object())
            {
                return Some(format!(
                    "Invalid type for 'tools[{i}].function.parameters': expected an object."
                ));
            }
        }
    }
    let messages = body.get("messages")?.as_array()?;
    let mut pending: Vec<String> = Vec::new();
    for (i, message) in messages.iter().enumerate() {
        let role = message.get("role").and_then(Value::as_str).unwrap_or("");
        if role == "tool" {
            let id = message.get("tool_call_id").and_then(Value::as_str);
            match id.and_then(|id| pending.iter().position(|p| p == id)) {
                Some(at) => {
                    pending.remove(at);
                }
                None => {
                    return Some("Invalid parameter: messages with role 'tool' must be a response to a preceeding message with 'tool_calls'.".into());
                }
            }
            continue;
        }
        if !pending.is_empty() {
            return Some(unanswered(&pending));
        }
        if role != "assistant" {
            continue;
        }
        for (j, call) in message
            .get("tool_calls")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .enumerate()
        {
            let Some(id) = call.get("id").and_then(Value::as_str) else {
                return Some(format!(
                    "Missing required parameter: 'messages[{i}].tool_calls[{j}].id'."
                ));
            };
            if call.get("type").and_then(Value::as_str) != Some("function") {
                return Some(format!(
                    "Missing required parameter: 'messages[{i}].tool_calls[{j}].type'."
                ));
            }
            if !call["function"]["arguments"].is_string() {
                return Some(format!(
                    "Invalid type for 'messages[{i}].tool_calls[{j}].function.arguments': expected a string, but got an object instead."
                ));
            }
            pending.push(id.to_string());
        }
    }
    (!pending.is_empty()).then(|| unanswered(&pending))
}

fn unanswered(pending: &[String]) -> String {
    format!(
        "An assistant message with 'tool_calls' must be followed by tool messages responding to each 'tool_call_id'. The following tool_call_ids did not have response messages: {}",
        pending.join(", ")
    )
}

/// OpenAI's `message.tool_calls` for `calls`.
pub(crate) fn openai_calls(calls: &[ScriptedCall]) -> Value {
    Value::Array(
        calls
            .iter()
            .map(|c| {
                json!({
                    "id": format!("call_{}", random_id(24)),
                    "type": "function",
                    "function": {"name": c.name, "arguments": c.arguments}
                })
            })
            .collect(),
    )
}

/// Anthropic's refusal of a request's `tools` or tool blocks, if any.
pub(crate) fn anthropic_refusal(body: &Value) -> Option<String> {
    for (i, tool) in body
        .get("tools")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
    {
        if tool.get("name").and_then(Value::as_str).is_none() {
            return Some(format!("tools.{i}.custom.name: Field required"));
        }
        if !tool.get("input_schema").is_some_and(Value::is_object) {
            return Some(format!("tools.{i}.custom.input_schema: Field required"));
        }
    }
    let messages = body.get("messages")?.as_array()?;
    let mut asked: Vec<String> = Vec::new();
    for (i, message) in messages.iter().enumerate() {
        let blocks: Vec<&Value> = match message.get("content") {
            Some(Value::Array(blocks)) => blocks.iter().collect(),
            _ => Vec::new(),
        };
        let mut answered = Vec::new();
        for (j, block) in blocks.iter().enumerate() {
            match block.get("type").and_then(Value::as_str) {
                Some("tool_result") => {
                    let id = block
                        .get("tool_use_id")
                        .and_then(Value::as_str)
                        .unwrap_or("");
                    if !asked.iter().any(|a| a == id) {
                        return Some(format!(
                            "messages.{i}.content.{j}: unexpected `tool_use_id` found in `tool_result` blocks: {id}. Each `tool_result` block must have a corresponding `tool_use` block in the previous message."
                        ));
                    }
                    answered.push(id.to_string());
                }
                Some("text") if block["text"].as_str().is_none_or(str::is_empty) => {
                    return Some(format!(
                        "messages.{i}.content.{j}.text: text content blocks must be non-empty"
                    ));
                }
                _ => {}
            }
        }
        let missing: Vec<&String> = asked.iter().filter(|a| !answered.contains(a)).collect();
        if !missing.is_empty() {
            let ids: Vec<&str> = missing.iter().map(|s| s.as_str()).collect();
            return Some(format!(
                "messages.{i}: `tool_use` ids were found without `tool_result` blocks immediately after: {}. Each `tool_use` block must have a corresponding `tool_result` block in the next message.",
                ids.join(", ")
            ));
        }
        asked.clear();
        for (j, block) in blocks.iter().enumerate() {
            if block.get("type").and_then(Value::as_str) != Some("tool_use") {
                continue;
            }
            if !block.get("input").is_some_and(Value::is_object) {
                return Some(format!(
                    "messages.{i}.content.{j}.tool_use.input: Input should be a valid dictionary"
                ));
            }
            asked.push(block["id"].as_str().unwrap_or("").to_string());
        }
    }
    None
}

/// Anthropic's `tool_use` content blocks for `calls`.
pub(crate) fn anthropic_blocks(calls: &[ScriptedCall]) -> Vec<Value> {
    calls
        .iter()
        .map(|c| {
            json!({
                "type": "tool_use",
                "id": format!("toolu_01{}", random_id(22)),
                "name": c.name,
                "input": c.object()
            })
        })
        .collect()
}

/// Ollama's refusal of a request's `tools` or tool calls, if any (Go's
/// unmarshalling words).
pub(crate) fn ollama_refusal(body: &Value) -> Option<String> {
    if let Some(tools) = body.get("tools") {
        if !tools.is_array() {
            return Some("json: cannot unmarshal object into Go struct field ChatRequest.tools of type api.Tools".into());
        }
    }
    for message in body.get("messages")?.as_array()? {
        for call in message
            .get("tool_calls")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if !call["function"]["arguments"].is_object() {
                return Some("json: cannot unmarshal string into Go struct field ToolCallFunction.messages.tool_calls.function.arguments of type api.ToolCallFunctionArguments".into());
            }
        }
    }
    None
}

/// Ollama's `message.tool_calls` for `calls` (no ids, as older servers send).
pub(crate) fn ollama_calls(calls: &[ScriptedCall]) -> Value {
    Value::Array(
        calls
            .iter()
            .enumerate()
            .map(
                |(i, c)| json!({"function": {"index": i, "name": c.name, "arguments": c.object()}}),
            )
            .collect(),
    )
}

/// Tokens a reply's calls take, as the server would count its answer.
pub(crate) fn calls_text(calls: &[ScriptedCall]) -> String {
    calls
        .iter()
        .map(|c| format!("{}{}", c.name, c.arguments))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn openai_refuses_unanswered_and_stray_tool_messages() {
        let call = json!({"id": "call_1", "type": "function", "function": {"name": "f", "arguments": "{}"}});
        let ok = json!({"messages": [
            {"role": "user", "content": "u"},
            {"role": "assistant", "content": null, "tool_calls": [call]},
            {"role": "tool", "tool_call_id": "call_1", "content": "r"},
            {"role": "user", "content": "go on"}
        ]});
        assert_eq!(openai_refusal(&ok), None);
        let unanswered = json!({"messages": [
            {"role": "assistant", "content": null, "tool_calls": [call]},
            {"role": "user", "content": "go on"}
        ]});
        assert!(openai_refusal(&unanswered).unwrap().contains("call_1"));
        let stray = json!({"messages": [{"role": "tool", "tool_call_id": "x", "content": "r"}]});
        assert!(
            openai_refusal(&stray)
                .unwrap()
                .contains("must be a response")
        );
        let bad_tool = json!({"tools": [{"function": {"name": "f"}}], "messages": []});
        assert!(openai_refusal(&bad_tool).unwrap().contains("tools[0].type"));
    }

    #[test]
    fn anthropic_refuses_tool_use_without_its_result() {
        let ok = json!({"messages": [
            {"role": "user", "content": "u"},
            {"role": "assistant", "content": [{"type": "tool_use", "id": "t1", "name": "f", "input": {}}]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1", "content": "r"}]}
        ]});
        assert_eq!(anthropic_refusal(&ok), None);
        let missing = json!({"messages": [
            {"role": "assistant", "content": [{"type": "tool_use", "id": "t1", "name": "f", "input": {}}]},
            {"role": "user", "content": "next"}
        ]});
        assert!(anthropic_refusal(&missing).unwrap().contains("t1"));
        let stray = json!({"messages": [
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t9", "content": "r"}]}
        ]});
        assert!(
            anthropic_refusal(&stray)
                .unwrap()
                .contains("unexpected `tool_use_id`")
        );
    }

    #[test]
    fn ollama_refuses_text_arguments() {
        let text = json!({"messages": [{"role": "assistant", "content": "", "tool_calls": [{"function": {"name": "f", "arguments": "{}"}}]}]});
        assert!(
            ollama_refusal(&text)
                .unwrap()
                .contains("cannot unmarshal string")
        );
    }
}
