//! How the doubles count tokens: cl100k_base plus a chat template's overhead
//! per message (about what Qwen's `<|im_start|>role … <|im_end|>` costs), so
//! a double's prompt counts are a little above a client's own estimate, as
//! real servers' are.

/// Tokens a chat template adds around one message.
const PER_MESSAGE: u32 = 5;
/// Tokens that open the assistant's turn.
const REPLY_PRIMER: u32 = 3;

/// cl100k_base tokens in `text`.
pub fn count_tokens(text: &str) -> u32 {
    u32::try_from(
        tiktoken_rs::cl100k_base_singleton()
            .encode_ordinary(text)
            .len(),
    )
    .unwrap_or(u32::MAX)
}

/// Tokens a server evaluates for these `(role, content)` messages.
pub fn prompt_tokens(messages: &[(String, String)]) -> u32 {
    messages
        .iter()
        .map(|(_, content)| count_tokens(content) + PER_MESSAGE)
        .sum::<u32>()
        + REPLY_PRIMER
}
