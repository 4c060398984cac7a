//! Why a model call failed, in words that name the fix, and what the router
//! should do about it (`kind()`). Messages never contain an API key: server
//! text is scrubbed before it gets here.

use std::time::Duration;

use gitkeeper_runner_protocol::ErrorKind;

/// A failed model call.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ModelError {
    /// Nothing listens at the endpoint: the server is not running or the port is wrong.
    #[error("connection refused at {endpoint}: {hint}")]
    ConnectionRefused {
        /// The base URL that refused.
        endpoint: String,
        /// How to start that kind of server, or what to check.
        hint: String,
    },

    /// The server could not be reached for another reason (DNS, TLS, a reset connection).
    #[error("cannot connect to {provider} at {endpoint}: {detail}")]
    Connect {
        /// Who was called, e.g. `Ollama`, `LM Studio`, `DeepSeek` or `Anthropic`.
        provider: String,
        /// The base URL called.
        endpoint: String,
        /// The transport error with its causes, key scrubbed, plus the hint when connecting failed.
        detail: String,
    },

    /// The server began to answer, then the connection broke before the answer was whole.
    #[error(
        "the connection to {provider} at {endpoint} broke while reading the answer: {detail} (did the server crash or restart, or does a proxy cut long responses?)"
    )]
    CutOff {
        /// Who was called, e.g. `Ollama`, `LM Studio`, `DeepSeek` or `Anthropic`.
        provider: String,
        /// The base URL called.
        endpoint: String,
        /// The transport error with its causes, key scrubbed.
        detail: String,
    },

    /// No answer within `timeout_secs`; not resent, since the server may still be working on it.
    #[error(
        "{provider} at {endpoint} did not answer within {}s: raise timeout_secs in [models.{name}] or send a smaller prompt",
        after.as_secs()
    )]
    Timeout {
        /// Who was called, e.g. `Ollama`, `LM Studio`, `DeepSeek` or `Anthropic`.
        provider: String,
        /// The base URL called.
        endpoint: String,
        /// The `[models.<name>]` entry whose `timeout_secs` to raise.
        name: String,
        /// The timeout that ran out.
        after: Duration,
    },

    /// HTTP 429: too many requests or tokens for now; resent after the wait.
    #[error("{provider} rate-limited the request{}: {message}", retry_after_text(*retry_after))]
    RateLimited {
        /// Who was called, e.g. `Ollama`, `LM Studio`, `DeepSeek` or `Anthropic`.
        provider: String,
        /// The server's own words, key scrubbed and length capped.
        message: String,
        /// The wait the server asked for (`retry-after-ms`, `retry-after`), if it named one.
        retry_after: Option<Duration>,
    },

    /// HTTP 503 or 529: the server is too busy for now; resent after a wait.
    #[error("{provider} is overloaded (HTTP {status}): {message}")]
    Overloaded {
        /// Who was called, e.g. `Ollama`, `LM Studio`, `DeepSeek` or `Anthropic`.
        provider: String,
        /// 503, or 529 (Anthropic's overload status).
        status: u16,
        /// The server's own words, key scrubbed and length capped.
        message: String,
        /// The wait the server asked for, if it named one.
        retry_after: Option<Duration>,
    },

    /// HTTP 408 or another 5xx: the server failed this time; resent after a wait.
    #[error("{provider} at {endpoint} failed with HTTP {status}: {message}")]
    Server {
        /// Who was called, e.g. `Ollama`, `LM Studio`, `DeepSeek` or `Anthropic`.
        provider: String,
        /// The base URL called.
        endpoint: String,
        /// The HTTP status the server answered with.
        status: u16,
        /// The server's own words, key scrubbed and length capped.
        message: String,
    },

    /// The server does not have the model: not pulled, not downloaded, or a name it does not know.
    #[error("model {model} not found on {provider} at {endpoint}: {fix}")]
    ModelNotFound {
        /// Who was called, e.g. `Ollama`, `LM Studio`, `DeepSeek` or `Anthropic`.
        provider: String,
        /// The model as `[models.<name>]` names it.
        model: String,
        /// The base URL called.
        endpoint: String,
        /// How to get the model or what to set instead, e.g. run `ollama pull <model>`.
        fix: String,
    },

    /// LM Studio is running but has no model loaded to answer with.
    #[error(
        "no model loaded in LM Studio at {endpoint}: load {model} in LM Studio's Developer tab or run `lms load {model}`"
    )]
    NoModelLoaded {
        /// LM Studio's base URL.
        endpoint: String,
        /// The model to load.
        model: String,
    },

    /// HTTP 401 or 403 where it means the key: missing, wrong or revoked.
    #[error("{provider} rejected the API key: {fix}")]
    Unauthorized {
        /// Who was called, e.g. `Ollama`, `LM Studio`, `DeepSeek` or `Anthropic`.
        provider: String,
        /// Which environment variable to set, or `api_key_env` when none was expected.
        fix: String,
    },

    /// The account cannot pay: HTTP 402, OpenAI's `insufficient_quota`, Anthropic's credit balance.
    #[error(
        "{provider} refused the call for billing reasons: {message} (check the account's credit or quota)"
    )]
    Billing {
        /// Who was called, e.g. `Ollama`, `LM Studio`, `DeepSeek` or `Anthropic`.
        provider: String,
        /// The server's own words, key scrubbed and length capped.
        message: String,
    },

    /// The key a model needs is not in the environment; found when the backend is built, before any call.
    #[error("no API key for [models.{name}]: set the environment variable {env_var}")]
    MissingApiKey {
        /// The `[models.<name>]` entry that needs it.
        name: String,
        /// The environment variable to set.
        env_var: String,
    },

    /// The prompt, counted locally, leaves no room for an answer in the window; refused before sending.
    #[error(
        "prompt is {prompt_tokens} tokens but {model}'s context window is {context_window} (with room for {answer_tokens} answer tokens): send less context or use a model with a larger window"
    )]
    ContextOverflow {
        /// The model as `[models.<name>]` names it.
        model: String,
        /// The prompt as counted locally (cl100k_base plus template overhead).
        prompt_tokens: u32,
        /// The answer room the call needed (`max_tokens`, or Ollama's minimum).
        answer_tokens: u32,
        /// The model's configured `context_window`.
        context_window: u32,
    },

    /// The server says the prompt is over the model's limit (HTTP 413 or a context-length message).
    #[error("{provider} says the prompt is too long for {model}: {message}")]
    PromptTooLong {
        /// Who was called, e.g. `Ollama`, `LM Studio`, `DeepSeek` or `Anthropic`.
        provider: String,
        /// The model as `[models.<name>]` names it.
        model: String,
        /// The server's own words, key scrubbed and length capped.
        message: String,
    },

    /// Ollama evaluated clearly fewer prompt tokens than were sent: it cut the prompt to fit, so the answer is discarded.
    #[error(
        "Ollama truncated the prompt for {model}: it evaluated {evaluated} tokens of a prompt of about {sent} (num_ctx {num_ctx}); the model did not see all of it, so its answer is not used"
    )]
    Truncated {
        /// The model as `[models.<name>]` names it.
        model: String,
        /// The prompt as counted locally.
        sent: u32,
        /// Prompt tokens Ollama reports it read (`prompt_eval_count`).
        evaluated: u32,
        /// The context size (`options.num_ctx`) the call asked for.
        num_ctx: u32,
    },

    /// A 2xx reply that is not what the API promises (bad JSON, no text).
    #[error("{provider} at {endpoint} sent a malformed response: {detail}")]
    Malformed {
        /// Who was called, e.g. `Ollama`, `LM Studio`, `DeepSeek` or `Anthropic`.
        provider: String,
        /// The base URL called.
        endpoint: String,
        /// What was wrong, with the start of the body, key scrubbed.
        detail: String,
    },

    /// Any other refusal: a 4xx no other variant names, a model's refusal, Ollama out of memory.
    #[error("{provider} rejected the request (HTTP {status}): {message}")]
    Rejected {
        /// Who was called, e.g. `Ollama`, `LM Studio`, `DeepSeek` or `Anthropic`.
        provider: String,
        /// The HTTP status the server answered with.
        status: u16,
        /// The server's words, with what to check where known.
        message: String,
    },

    /// A tier served through runners found none online serving its model within `[runner] wait_for_runner`.
    #[error(
        "no runner online serves {model} for [models.{name}] (waited {waited_secs}s): start `gitkeeper-runner` on the machine with the model (`ollama pull {model}` there), check `gitkeeper-bot runners`, or raise [runner] wait_for_runner"
    )]
    NoRunner {
        /// The `[models.<name>]` tier.
        name: String,
        /// The model no runner serves.
        model: String,
        /// How long the call waited for a runner.
        waited_secs: u64,
    },

    /// A runner reported a failure for the request, or the bot's relay to runners failed.
    #[error("runner {runner} could not serve {model}: {message}")]
    Runner {
        /// The runner that held it (`(none yet)` when the relay failed first).
        runner: String,
        /// The model the request was for.
        model: String,
        /// What the runner said (its backend's error), or why the relay failed.
        message: String,
        /// What to do about it, as the runner's backend classified it.
        kind: ErrorKind,
    },

    /// A `[models.<name>]` value that cannot work; found on load, before any call.
    #[error("invalid model configuration [models.{name}] {key}: {fix}")]
    Config {
        /// The `[models.<name>]` entry.
        name: String,
        /// The key at fault, e.g. `max_tokens`.
        key: &'static str,
        /// What is wrong with the value and what to set.
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
            | ModelError::CutOff { .. }
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
                | ModelError::CutOff { .. }
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
