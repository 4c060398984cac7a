//! HTTP for every backend: one `reqwest` client per model, a timeout per
//! request, resending after rate limits, overload, 5xx and connection
//! failures (see `retry.rs`), and turning transport failures into messages
//! that name the fix. It never logs a request body or an API key, and scrubs
//! keys out of any server text it passes on.

use std::fmt;
use std::time::{Duration, SystemTime};

use http::{HeaderMap, StatusCode};
use secrecy::{ExposeSecret, SecretString};

use super::error::ModelError;
use super::retry::{self, Decision, RetryPolicy};

/// How long establishing a connection may take, separate from the request timeout.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Most characters of server text quoted in an error.
const MAX_QUOTE: usize = 400;

/// One HTTP answer, read in full.
#[derive(Debug, Clone)]
pub(crate) struct HttpReply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

impl HttpReply {
    pub fn retry_after(&self) -> Option<Duration> {
        retry::retry_after(&self.headers, SystemTime::now())
    }
}

/// The HTTP side of one configured model.
pub(crate) struct Transport {
    client: reqwest::Client,
    /// Base URL without trailing slash.
    pub endpoint: String,
    /// Human name of the server kind, e.g. "Ollama", "LM Studio", "Anthropic".
    pub provider: String,
    /// The `[models.<name>]` entry.
    pub name: String,
    connect_hint: String,
    timeout: Duration,
    policy: RetryPolicy,
    secret: Option<SecretString>,
}

impl fmt::Debug for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Transport")
            .field("endpoint", &self.endpoint)
            .field("provider", &self.provider)
            .field("name", &self.name)
            .field("timeout", &self.timeout)
            .field("policy", &self.policy)
            .field("api_key", &self.secret.as_ref().map(|_| "[redacted]"))
            .finish()
    }
}

/// What a transport needs to be built.
pub(crate) struct TransportConfig {
    pub endpoint: String,
    pub provider: String,
    pub name: String,
    /// Appended to "connection refused at <endpoint>: ".
    pub connect_hint: String,
    pub timeout: Duration,
    pub policy: RetryPolicy,
    /// Scrubbed from every message; never sent by the transport itself.
    pub secret: Option<SecretString>,
}

impl Transport {
    pub fn new(config: TransportConfig) -> Result<Self, ModelError> {
        crate::tls::install_crypto_provider();
        let mut builder = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .user_agent(concat!("gitkeeper/", env!("CARGO_PKG_VERSION")));
        if is_loopback(&config.endpoint) {
            // A proxy from the environment must not swallow calls to a local server.
            builder = builder.no_proxy();
        }
        let client = builder.build().map_err(|e| ModelError::Config {
            name: config.name.clone(),
            key: "endpoint",
            fix: format!("cannot build an HTTP client: {e}"),
        })?;
        Ok(Self {
            client,
            endpoint: config.endpoint,
            provider: config.provider,
            name: config.name,
            connect_hint: config.connect_hint,
            timeout: config.timeout,
            policy: config.policy,
            secret: config.secret,
        })
    }

    /// The full URL of `path` (which starts with `/`).
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.endpoint, path)
    }

    /// A request to `path`, with the API key as a bearer token when there is
    /// one (Ollama behind a proxy, OpenAI-compatible servers).
    pub fn bearer_request(
        &self,
        client: &reqwest::Client,
        method: reqwest::Method,
        path: &str,
    ) -> reqwest::RequestBuilder {
        let builder = client.request(method, self.url(path));
        match self.secret() {
            Some(key) => builder.bearer_auth(key),
            None => builder,
        }
    }

    /// The API key, for backends that put it in a header.
    pub fn secret(&self) -> Option<&str> {
        self.secret.as_ref().map(|s| s.expose_secret())
    }

    /// Send what `build` makes until it succeeds, a retry would not help, or
    /// the retries run out. Returns the successful reply and how many requests
    /// were sent. `map_error` turns a non-2xx reply into an error.
    pub async fn call<B, M>(&self, build: B, map_error: M) -> Result<(HttpReply, u32), ModelError>
    where
        B: Fn(&reqwest::Client) -> reqwest::RequestBuilder,
        M: Fn(&HttpReply) -> ModelError,
    {
        let mut retries = 0u32;
        loop {
            let error = match self.once(&build).await {
                Ok(reply) if reply.status.is_success() => return Ok((reply, retries + 1)),
                Ok(reply) => map_error(&reply),
                Err(error) => error,
            };
            match retry::decide(&self.policy, &error, retries) {
                Decision::Retry(wait) => {
                    tracing::warn!(
                        model = %self.name,
                        endpoint = %self.endpoint,
                        retry = retries + 1,
                        wait_ms = wait.as_millis() as u64,
                        %error,
                        "model call failed; retrying"
                    );
                    tokio::time::sleep(wait).await;
                    retries += 1;
                }
                Decision::GiveUp => return Err(error),
            }
        }
    }

    async fn once<B>(&self, build: &B) -> Result<HttpReply, ModelError>
    where
        B: Fn(&reqwest::Client) -> reqwest::RequestBuilder,
    {
        let response = build(&self.client)
            .timeout(self.timeout)
            .send()
            .await
            .map_err(|e| self.transport_error(&e))?;
        let status = response.status();
        let headers = response.headers().clone();
        let body = response.text().await.map_err(|e| self.body_error(&e))?;
        Ok(HttpReply {
            status,
            headers,
            body,
        })
    }

    /// A failure below HTTP (refused, unreachable, timed out, cut off).
    pub fn transport_error(&self, error: &reqwest::Error) -> ModelError {
        if error.is_timeout() {
            return ModelError::Timeout {
                provider: self.provider.clone(),
                endpoint: self.endpoint.clone(),
                name: self.name.clone(),
                after: self.timeout,
            };
        }
        if is_connection_refused(error) {
            return ModelError::ConnectionRefused {
                endpoint: self.endpoint.clone(),
                hint: self.connect_hint.clone(),
            };
        }
        let mut detail = self.scrub(&error_chain(error));
        if error.is_connect() {
            detail = format!("{detail}; {}", self.connect_hint);
        }
        ModelError::Connect {
            provider: self.provider.clone(),
            endpoint: self.endpoint.clone(),
            detail,
        }
    }

    /// A failure while reading an answer that had begun: timed out, or cut off.
    fn body_error(&self, error: &reqwest::Error) -> ModelError {
        if error.is_timeout() {
            return self.transport_error(error);
        }
        ModelError::CutOff {
            provider: self.provider.clone(),
            endpoint: self.endpoint.clone(),
            detail: self.scrub(&error_chain(error)),
        }
    }

    /// The error for statuses every API uses alike: 429, overload, 5xx,
    /// anything else as a rejection.
    pub fn status_error(&self, reply: &HttpReply, message: String) -> ModelError {
        let status = reply.status.as_u16();
        match status {
            429 => ModelError::RateLimited {
                provider: self.provider.clone(),
                message,
                retry_after: reply.retry_after(),
            },
            503 | 529 => ModelError::Overloaded {
                provider: self.provider.clone(),
                status,
                message,
                retry_after: reply.retry_after(),
            },
            408 | 500..=599 => ModelError::Server {
                provider: self.provider.clone(),
                endpoint: self.endpoint.clone(),
                status,
                message,
            },
            _ => ModelError::Rejected {
                provider: self.provider.clone(),
                status,
                message,
            },
        }
    }

    /// A 2xx body that is not what the API promises.
    pub fn malformed(&self, what: &str, detail: impl fmt::Display, body: &str) -> ModelError {
        ModelError::Malformed {
            provider: self.provider.clone(),
            endpoint: self.endpoint.clone(),
            detail: format!(
                "{what}: {detail} (body starts with {:?})",
                self.scrub(&quote(body, 120))
            ),
        }
    }

    /// Server text made safe to show: the API key replaced, length capped.
    pub fn scrub(&self, text: &str) -> String {
        let mut text = quote(text, MAX_QUOTE);
        if let Some(secret) = &self.secret {
            let key = secret.expose_secret();
            if key.len() >= 4 {
                text = text.replace(key, "[redacted]");
            }
        }
        text
    }
}

/// At most `max` characters of `text`, trimmed, marked when cut.
fn quote(text: &str, max: usize) -> String {
    let text = text.trim();
    match text.char_indices().nth(max) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_string(),
    }
}

/// The error's message with its causes, "a: b: c".
fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let part = cause.to_string();
        if !text.contains(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        source = cause.source();
    }
    text
}

fn is_connection_refused(error: &reqwest::Error) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(cause) = source {
        if let Some(io) = cause.downcast_ref::<std::io::Error>() {
            if io.kind() == std::io::ErrorKind::ConnectionRefused {
                return true;
            }
        }
        source = cause.source();
    }
    false
}

/// True for 127.0.0.0/8, ::1 and localhost.
pub(crate) fn is_loopback(endpoint: &str) -> bool {
    let Ok(url) = url::Url::parse(endpoint) else {
        return false;
    };
    match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

/// The `message` of the error bodies the supported APIs send:
/// `{"error": "..."}` (Ollama, LM Studio), `{"error": {"message": ...}}`
/// (OpenAI, llama.cpp, vLLM), `{"type":"error","error":{...}}` (Anthropic),
/// `{"message": ...}`; else the raw body.
pub(crate) fn error_message(body: &str) -> String {
    let parsed: Option<serde_json::Value> = serde_json::from_str(body).ok();
    let found = parsed.as_ref().and_then(|v| {
        let error = v.get("error");
        error
            .and_then(|e| e.as_str())
            .or_else(|| {
                error
                    .and_then(|e| e.get("message"))
                    .and_then(|m| m.as_str())
            })
            .or_else(|| v.get("message").and_then(|m| m.as_str()))
            .or_else(|| v.get("detail").and_then(|m| m.as_str()))
    });
    match found {
        Some(message) => message.to_string(),
        None if body.trim().is_empty() => "(empty body)".to_string(),
        None => body.to_string(),
    }
}

/// The machine-readable code or type of an error body, if any
/// (`error.code`, `error.type`).
pub(crate) fn error_code(body: &str) -> Option<String> {
    let v: serde_json::Value = serde_json::from_str(body).ok()?;
    let error = v.get("error")?;
    error
        .get("code")
        .and_then(|c| c.as_str())
        .or_else(|| error.get("type").and_then(|t| t.as_str()))
        .map(str::to_string)
}

/// True when a server's words say the prompt did not fit the context.
pub(crate) fn says_context_exceeded(message: &str) -> bool {
    let m = message.to_ascii_lowercase();
    m.contains("context length")
        || m.contains("context size")
        || m.contains("context window")
        || m.contains("maximum context")
        || m.contains("prompt is too long")
        || m.contains("too many tokens")
        || m.contains("context_length_exceeded")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn transport(secret: Option<&str>) -> Transport {
        Transport::new(TransportConfig {
            endpoint: "http://127.0.0.1:1".into(),
            provider: "Ollama".into(),
            name: "local-small".into(),
            connect_hint: "is `ollama serve` running?".into(),
            timeout: Duration::from_secs(5),
            policy: RetryPolicy {
                max_retries: 0,
                base_backoff: Duration::from_millis(1),
                max_wait: Duration::from_secs(1),
            },
            secret: secret.map(|s| SecretString::from(s.to_string())),
        })
        .unwrap()
    }

    #[test]
    fn error_bodies_of_every_api_yield_their_message() {
        assert_eq!(
            error_message(r#"{"error":"model \"x\" not found, try pulling it first"}"#),
            "model \"x\" not found, try pulling it first"
        );
        assert_eq!(
            error_message(
                r#"{"error":{"message":"Rate limit","type":"requests","code":"rate_limit_exceeded"}}"#
            ),
            "Rate limit"
        );
        assert_eq!(
            error_message(
                r#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#
            ),
            "Overloaded"
        );
        assert_eq!(error_message("Bad Gateway"), "Bad Gateway");
        assert_eq!(error_message(""), "(empty body)");
        assert_eq!(
            error_code(r#"{"error":{"message":"m","type":"t","code":"insufficient_quota"}}"#)
                .as_deref(),
            Some("insufficient_quota")
        );
        assert_eq!(
            error_code(r#"{"type":"error","error":{"type":"overloaded_error","message":"m"}}"#)
                .as_deref(),
            Some("overloaded_error")
        );
        assert_eq!(error_code(r#"{"error":"plain"}"#), None);
    }

    #[test]
    fn scrub_removes_the_key_and_caps_length() {
        let t = transport(Some("sk-secret-123456"));
        assert_eq!(
            t.scrub("Incorrect API key provided: sk-secret-123456."),
            "Incorrect API key provided: [redacted]."
        );
        let long = "x".repeat(1000);
        assert!(t.scrub(&long).chars().count() <= MAX_QUOTE + 1);
        assert!(!format!("{t:?}").contains("sk-secret"));
    }

    #[test]
    fn statuses_map_to_retryable_or_not() {
        let t = transport(None);
        let reply = |status: u16| HttpReply {
            status: StatusCode::from_u16(status).unwrap(),
            headers: HeaderMap::new(),
            body: String::new(),
        };
        assert!(matches!(
            t.status_error(&reply(429), "m".into()),
            ModelError::RateLimited { .. }
        ));
        assert!(matches!(
            t.status_error(&reply(529), "m".into()),
            ModelError::Overloaded { status: 529, .. }
        ));
        assert!(t.status_error(&reply(502), "m".into()).resend());
        assert!(!t.status_error(&reply(400), "m".into()).resend());
    }

    #[test]
    fn loopback_endpoints_are_recognised() {
        assert!(is_loopback("http://127.0.0.1:11434"));
        assert!(is_loopback("http://localhost:1234"));
        assert!(is_loopback("http://[::1]:8080"));
        assert!(!is_loopback("https://api.anthropic.com"));
        assert!(!is_loopback("http://192.168.1.20:11434"));
    }

    #[test]
    fn context_errors_are_recognised() {
        assert!(says_context_exceeded(
            "prompt is too long: 210000 tokens > 200000 maximum"
        ));
        assert!(says_context_exceeded(
            "This model's maximum context length is 65536 tokens"
        ));
        assert!(says_context_exceeded(
            "the request exceeds the available context size, try increasing it"
        ));
        assert!(!says_context_exceeded("invalid x-api-key"));
    }
}
