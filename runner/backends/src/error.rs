//! Why a model call failed, in words that name the fix, and what the router
//! should do about it (`kind()`). Messages never contain an API key: server
//! text is scrubbed before it gets here.

use std::time::Duration;

use gitkeeper_runner_protocol::ErrorKind;

/// A failed model call.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ModelError {
    #[error("connection refused at {endpoint}: {hint}")]
    ConnectionRefused { endpoint: String, hint: String },

    #[error("cannot connect to {provider} at {endpoint}: {detail}")]
    Connect {
        provider: String,
        endpoint: String,
        detail: String,
    },

    #[error(
        "{provider} at {endpoint} did not answer within {}s: raise timeout_secs in [models.{name}] or send a smaller prompt",
        after.as_secs()
    )]
    Timeout {
        provider: String,
        endpoint: String,
        name: String,
        after: Duration,
    },

    #[error("{provider} rate-limited the request{}: {message}", retry_after_text(*retry_after))]
    RateLimited {
        provider: String,
        message: String,
        retry_after: Option<Duration>,
    },

    #[error("{provider} is overloaded (HTTP {status}): {message}")]
    Overloaded {
        provider: String,
        status: u16,
        message: String,
        retry_after: Option<Duration>,
    },

    #[error("{provider} at {endpoint} failed with HTTP {status}: {message}")]
    Server {
        provider: String,
        endpoint: String,
        status: u16,
        message: String,
    },

    #[error("model {model} not found on {provider} at {endpoint}: {fix}")]
    ModelNotFound {
        provider: String,
        model: String,
        endpoint: String,
        fix: String,
    },

    #[error(
        "no model loaded in LM Studio at {endpoint}: load {model} in LM Studio's Developer tab or run `lms load {model}`"
    )]
    NoModelLoaded { endpoint: String, model: String },

    #[error("{provider} rejected the API key: {fix}")]
    Unauthorized { provider: String, fix: String },

    #[error(
        "{provider} refused the call for billing reasons: {message} (check the account's credit or quota)"
    )]
    Billing { provider: String, message: String },

    #[error("no API key for [models.{name}]: set the environment variable {env_var}")]
    MissingApiKey { name: String, env_var: String },

    #[error(
        "prompt is {prompt_tokens} tokens but {model}'s context window is {context_window} (with room for {answer_tokens} answer tokens): send less context or use a model with a larger window"
    )]
    ContextOverflow {
        model: String,
        prompt_tokens: u32,
        answer_tokens: u32,
        context_window: u32,
    },

    #[error("{provider} says the prompt is too long for {model}: {message}")]
    PromptTooLong {
        provider: String,
        model: String,
        message: String,
    },

    #[error(
        "Ollama truncated the prompt for {model}: it evaluated {evaluated} tokens of a prompt of about {sent} (num_ctx {num_ctx}); the model did not see all of it, so its answer is not used"
    )]
    Truncated {
        model: String,
        sent: u32,
        evaluated: u32,
        num_ctx: u32,
    },

    #[error("{provider} at {endpoint} sent a malformed response: {detail}")]
    Malformed {
        provider: String,
        endpoint: String,
        detail: String,
    },

    #[error("{provider} rejected the request (HTTP {status}): {message}")]
    Rejected {
        provider: String,
        status: u16,
        message: String,
    },

    #[error(
        "no runner online serves {model} for [models.{name}] (waited {waited_secs}s): start `gitkeeper-runner` on the machine with the model (`ollama pull {model}` there), check `gitkeeper-bot runners`, or raise [runner] wait_for_runner"
    )]
    NoRunner {
        name: String,
        model: String,
        waited_secs: u64,
    },

    #[error("runner {runner} could not serve {model}: {message}")]
    Runner {
        runner: String,
        model: String,
        message: String,
        kind: ErrorKind,
    },

    #[error("invalid model configuration [models.{name}] {key}: {fix}")]
    Config {
        name: String,
        key: &'static str,
        fix: String,
    },
}

fn retry_after_text(wait: Option<Duration>) -> String {
    match wait {
        Some(wait) => format!(" (retry after {}s)", wait.as_secs_f64().ceil() as u64),
        None => String::new(),
    }
}

impl ModelError {
    /// What the router should do.
    pub fn kind(&self) -> ErrorKind {
        match self {
            ModelError::ConnectionRefused { .. }
            | ModelError::Connect { .. }
            | ModelError::Timeout { .. }
            | ModelError::RateLimited { .. }
            | ModelError::Overloaded { .. }
            | ModelError::Server { .. } => ErrorKind::Unavailable,
            ModelError::ModelNotFound { .. }
            | ModelError::NoModelLoaded { .. }
            | ModelError::Unauthorized { .. }
            | ModelError::Billing { .. }
            | ModelError::MissingApiKey { .. }
            | ModelError::Rejected { .. }
            | ModelError::Config { .. } => ErrorKind::Misconfigured,
            ModelError::ContextOverflow { .. }
            | ModelError::PromptTooLong { .. }
            | ModelError::Truncated { .. } => ErrorKind::TooLarge,
            ModelError::Malformed { .. } => ErrorKind::BadResponse,
            ModelError::NoRunner { .. } => ErrorKind::NoRunner,
            ModelError::Runner { kind, .. } => *kind,
        }
    }

    /// True when the same call to the same model may succeed later
    /// (failed, try the next tier) rather than needing a fix (misconfigured)
    /// or a bigger model.
    pub fn is_retryable(&self) -> bool {
        matches!(self.kind(), ErrorKind::Unavailable | ErrorKind::BadResponse)
    }

    /// True when the HTTP layer should send the same request again at once
    /// (after a wait): rate limits, overload, 5xx and connection failures.
    /// Timeouts are not resent: the server may still be working on it.
    pub(crate) fn resend(&self) -> bool {
        matches!(
            self,
            ModelError::ConnectionRefused { .. }
                | ModelError::Connect { .. }
                | ModelError::RateLimited { .. }
                | ModelError::Overloaded { .. }
                | ModelError::Server { .. }
        )
    }

    /// The wait the server asked for, if any.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            ModelError::RateLimited { retry_after, .. }
            | ModelError::Overloaded { retry_after, .. } => *retry_after,
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_separate_try_next_tier_from_fix_setup() {
        let refused = ModelError::ConnectionRefused {
            endpoint: "http://127.0.0.1:11434".into(),
            hint: "is `ollama serve` running?".into(),
        };
        assert_eq!(refused.kind(), ErrorKind::Unavailable);
        assert!(refused.is_retryable());
        assert!(refused.resend());
        assert_eq!(
            refused.to_string(),
            "connection refused at http://127.0.0.1:11434: is `ollama serve` running?"
        );

        let missing = ModelError::MissingApiKey {
            name: "cloud-claude".into(),
            env_var: "ANTHROPIC_API_KEY".into(),
        };
        assert_eq!(missing.kind(), ErrorKind::Misconfigured);
        assert!(!missing.is_retryable());
        assert!(missing.to_string().contains("ANTHROPIC_API_KEY"));

        let overflow = ModelError::ContextOverflow {
            model: "qwen2.5-coder:7b".into(),
            prompt_tokens: 40000,
            answer_tokens: 4096,
            context_window: 32768,
        };
        assert_eq!(overflow.kind(), ErrorKind::TooLarge);
        assert!(
            overflow.to_string().starts_with(
                "prompt is 40000 tokens but qwen2.5-coder:7b's context window is 32768"
            )
        );

        let timeout = ModelError::Timeout {
            provider: "Ollama".into(),
            endpoint: "http://x".into(),
            name: "local-large".into(),
            after: Duration::from_secs(600),
        };
        assert!(timeout.is_retryable());
        assert!(!timeout.resend());
        assert!(timeout.to_string().contains("600s"), "{timeout}");
    }

    #[test]
    fn rate_limit_message_names_the_wait() {
        let e = ModelError::RateLimited {
            provider: "Anthropic".into(),
            message: "slow down".into(),
            retry_after: Some(Duration::from_millis(1500)),
        };
        assert_eq!(
            e.to_string(),
            "Anthropic rate-limited the request (retry after 2s): slow down"
        );
        assert_eq!(e.retry_after(), Some(Duration::from_millis(1500)));
    }
}
