//! Model backends: the `gitkeeper-backends` crate (shared with the runner, so
//! both call Ollama and OpenAI-compatible servers with the same wire code),
//! re-exported under `gitkeeper_bot::models`.

pub use gitkeeper_backends::*;
