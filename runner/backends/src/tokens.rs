//! Counting tokens locally (cl100k_base, built once per process by the
//! `gitkeeper-tokens` crate, the same counter as the context budgets): to
//! size Ollama's context, to refuse a prompt that cannot fit a window, to spot
//! truncation, and to estimate usage when a server does not report it. Never
//! exact for a given model; callers leave margin.

use super::{ChatMessage, CompletionRequest};

/// Tokens a chat template adds around each message (role markers, separators).
pub const PER_MESSAGE_OVERHEAD: u32 = 4;
/// Tokens that prime the assistant's reply.
pub const REPLY_PRIMING: u32 = 3;

/// cl100k_base tokens in `text`.
pub fn count_text(text: &str) -> u32 {
    u32::try_from(gitkeeper_tokens::count_tokens(text)).unwrap_or(u32::MAX)
}

/// Tokens a whole conversation takes as a prompt, template overhead and
/// the tool calls of assistant messages included.
pub fn count_messages(messages: &[ChatMessage]) -> u32 {
    messages
        .iter()
        .map(|m| {
            m.tool_calls
                .iter()
                .map(|c| count_text(&c.name).saturating_add(count_text(&c.arguments)))
                .fold(count_text(&m.content), u32::saturating_add)
                .saturating_add(PER_MESSAGE_OVERHEAD)
        })
        .fold(REPLY_PRIMING, u32::saturating_add)
}

/// Tokens a request's prompt takes: its messages and the tools it offers
/// (their JSON, as the server puts them into the model's prompt).
pub fn count_request(request: &CompletionRequest) -> u32 {
    let tools = if request.tools.is_empty() {
        0
    } else {
        serde_json::to_string(&request.tools)
            .map(|json| count_text(&json))
            .unwrap_or(u32::MAX)
    };
    count_messages(&request.messages).saturating_add(tools)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_are_cl100k_plus_template_overhead() {
        assert_eq!(count_text(""), 0);
        assert_eq!(count_text("hello world"), 2);
        let messages = [ChatMessage::system("hello world"), ChatMessage::user("hi")];
        assert_eq!(count_messages(&messages), 3 + (2 + 4) + (1 + 4));
        assert_eq!(count_messages(&[]), REPLY_PRIMING);
    }
}
