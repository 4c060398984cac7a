//! Model backends: Ollama, OpenAI-compatible and Anthropic behind one
//! `ModelBackend` trait. Each call has a timeout, resends after rate limits,
//! overload, 5xx and connection failures, reads token usage (or estimates it),
//! prices it and times it. Errors name the fix and say, through `kind()`,
//! whether to try the next tier or to tell the operator.
//!
//! Never logs prompts, answers or API keys; keys live in `SecretString` and are
//! scrubbed from any server text quoted in an error.
//!
//! A crate of its own so the bot (cloud tiers) and the runner (local tiers on
//! the Mac) call model servers with the same wire code; the bot re-exports it
//! as `gitkeeper_bot::models`. The chat types are the runner protocol's,
//! re-exported here. It must never depend on the `gitkeeper` library (the
//! runner would compile its parsers): tokens are counted by `gitkeeper-tokens`.
//!
//! ```no_run
//! # async fn example() -> Result<(), gitkeeper_backends::ModelError> {
//! use gitkeeper_backends::{build_backend, default_models, ChatMessage, CompletionRequest};
//! let models = default_models();
//! let backend = build_backend("local-small", &models["local-small"])?;
//! let answer = backend
//!     .complete(&CompletionRequest::new(vec![ChatMessage::user("Say hi")]))
//!     .await?;
//! println!("{} ({} tokens, ${:.4})", answer.text, answer.usage.total(), answer.cost_usd);
//! # Ok(()) }
//! ```

#![warn(missing_docs)]

mod anthropic;
pub mod config;
mod error;
mod ollama;
mod openai;
mod retry;
pub mod tls;
pub mod tokens;
mod transport;
mod types;

use std::sync::Arc;

use async_trait::async_trait;
use secrecy::SecretString;

pub use anthropic::{ANTHROPIC_VERSION, AnthropicBackend};
pub use config::{
    BackendKind, DEFAULT_OLLAMA_ENDPOINT, EditFormat, ModelEntry, ModelSettings, ModelsSettings,
    default_models, parse_ollama_host,
};
pub use error::ModelError;
pub use gitkeeper_runner_protocol::{
    ChatMessage, CompletionRequest, ErrorKind, FinishReason, Role, ToolCall, ToolSpec, Usage,
};
pub use ollama::{ContextPlan, OllamaBackend, check_truncation, plan_context, prompt_margin};
pub use openai::OpenAiBackend;
pub use retry::{RetryPolicy, backoff};
pub use types::{CLARIFICATION_MARKER, Completion};

/// A model server that completes chats. Implemented by the HTTP backends
/// here, by the runner relay, and by test doubles.
#[async_trait]
pub trait ModelBackend: Send + Sync + std::fmt::Debug {
    /// The `[models.<name>]` entry this backend serves, e.g. `local-small`.
    fn name(&self) -> &str;

    /// The model the server is asked for, e.g. `qwen2.5-coder:7b`.
    fn model(&self) -> &str;

    /// Complete one chat: text, usage, cost and latency.
    async fn complete(&self, request: &CompletionRequest) -> Result<Completion, ModelError>;

    /// The models the server has (pulled, loaded or offered).
    async fn list_models(&self) -> Result<Vec<String>, ModelError>;
}

/// Build the backend for `[models.<name>]`, reading `OLLAMA_HOST` and API
/// keys from the process environment.
pub fn build_backend(
    name: &str,
    settings: &ModelSettings,
) -> Result<Arc<dyn ModelBackend>, ModelError> {
    build_backend_with_env(name, settings, &|var| std::env::var(var).ok())
}

/// [`build_backend`] with an explicit environment, for tests and embedders.
/// A required API key that is missing is an error naming the variable.
pub fn build_backend_with_env(
    name: &str,
    settings: &ModelSettings,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Arc<dyn ModelBackend>, ModelError> {
    settings.validate(name)?;
    let endpoint = settings.resolved_endpoint(env);
    let api_key = match settings.api_key_var(&endpoint) {
        Some(var) => match env(&var).map(|v| v.trim().to_string()) {
            Some(key) if !key.is_empty() => Some((var, SecretString::from(key))),
            _ => {
                return Err(ModelError::MissingApiKey {
                    name: name.to_string(),
                    env_var: var,
                });
            }
        },
        None => None,
    };
    Ok(match settings.backend {
        BackendKind::Ollama => Arc::new(OllamaBackend::new(name, settings, endpoint, api_key)?),
        BackendKind::Openai => Arc::new(OpenAiBackend::new(name, settings, endpoint, api_key)?),
        BackendKind::Anthropic => {
            let Some(api_key) = api_key else {
                return Err(ModelError::MissingApiKey {
                    name: name.to_string(),
                    env_var: "ANTHROPIC_API_KEY".into(),
                });
            };
            Arc::new(AnthropicBackend::new(name, settings, endpoint, api_key)?)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_api_key_names_the_variable() {
        let models = default_models();
        let err =
            build_backend_with_env("cloud-claude", &models["cloud-claude"], &|_| None).unwrap_err();
        assert_eq!(
            err.to_string(),
            "no API key for [models.cloud-claude]: set the environment variable ANTHROPIC_API_KEY"
        );
        assert_eq!(err.kind(), ErrorKind::Misconfigured);
        let err = build_backend_with_env("cloud-deepseek", &models["cloud-deepseek"], &|_| {
            Some("  ".into())
        })
        .unwrap_err();
        assert!(err.to_string().contains("DEEPSEEK_API_KEY"), "{err}");
    }

    #[test]
    fn local_models_need_no_key_and_debug_hides_keys() {
        let models = default_models();
        let small =
            build_backend_with_env("local-small", &models["local-small"], &|_| None).unwrap();
        assert_eq!(small.name(), "local-small");
        assert_eq!(small.model(), "qwen2.5-coder:7b");
        let env = |var: &str| (var == "ANTHROPIC_API_KEY").then(|| "sk-ant-hidden-1".to_string());
        let claude = build_backend_with_env("cloud-claude", &models["cloud-claude"], &env).unwrap();
        let debug = format!("{claude:?}");
        assert!(!debug.contains("sk-ant-hidden-1"), "{debug}");
        assert!(debug.contains("cloud-claude"), "{debug}");
    }
}
