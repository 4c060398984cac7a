//! The runner's HTTP client for the bot: every protocol call, with a timeout,
//! the bearer token, and errors that separate "try again" (network, 5xx) from
//! "someone must fix this" (401) and "drop it" (409). The token is never
//! logged or put in an error.

use std::time::Duration;

use gitkeeper_runner_protocol::{
    ApiError, ClaimRequest, ClaimResponse, ErrorReport, HeartbeatRequest, HeartbeatResponse,
    RegisterRequest, RegisterResponse, RequestId, ResultReport, paths,
};
use reqwest::StatusCode;
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;
use serde::de::DeserializeOwned;

/// Seconds added to the long-poll wait before a claim is abandoned.
const CLAIM_SLACK: Duration = Duration::from_secs(15);
/// Timeout of every other call.
const CALL_TIMEOUT: Duration = Duration::from_secs(30);

/// Why a call to the bot failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    #[error(
        "cannot reach the bot at {url}: {detail}; check bot_url (GITKEEPER_RUNNER__BOT_URL) and this machine's network — the runner keeps retrying"
    )]
    Unreachable { url: String, detail: String },
    #[error("the bot refused the runner token: {0}")]
    Unauthorized(String),
    #[error("the bot says the request is no longer ours: {0}")]
    Conflict(String),
    #[error("the bot answered HTTP {status}: {message}")]
    Status { status: u16, message: String },
    #[error(
        "the bot sent an answer this runner cannot read: {0}; install the runner that matches the bot's version"
    )]
    Malformed(String),
    /// A success answer whose body does not decode; the parser's error (with
    /// line and column) is the source.
    #[error(
        "the bot sent an answer this runner cannot read: {path}: {source}; install the runner that matches the bot's version"
    )]
    Undecodable {
        /// The API path that answered.
        path: String,
        source: serde_json::Error,
    },
}

impl ClientError {
    /// True when waiting and trying again may help.
    pub fn is_transient(&self) -> bool {
        match self {
            ClientError::Unreachable { .. } => true,
            ClientError::Status { status, .. } => *status >= 500 || *status == 429,
            _ => false,
        }
    }
}

fn unreachable(url: &str, e: reqwest::Error) -> ClientError {
    ClientError::Unreachable {
        url: url.to_string(),
        detail: e.without_url().to_string(),
    }
}

/// A connection to one bot.
#[derive(Clone)]
pub struct BotClient {
    http: reqwest::Client,
    base: String,
    token: SecretString,
}

impl std::fmt::Debug for BotClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BotClient")
            .field("base", &self.base)
            .finish_non_exhaustive()
    }
}

impl BotClient {
    pub fn new(base: &url::Url, token: SecretString) -> Result<Self, ClientError> {
        gitkeeper_backends::tls::install_crypto_provider();
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .user_agent(concat!("gitkeeper-runner/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| ClientError::Unreachable {
                url: base.to_string(),
                detail: format!("cannot build an HTTP client: {e}"),
            })?;
        Ok(Self {
            http,
            base: base.as_str().trim_end_matches('/').to_string(),
            token,
        })
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    async fn post<B: Serialize, R: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
        timeout: Duration,
    ) -> Result<Option<R>, ClientError> {
        let url = format!("{}{path}", self.base);
        let response = self
            .http
            .post(&url)
            .bearer_auth(self.token.expose_secret())
            .timeout(timeout)
            .json(body)
            .send()
            .await
            .map_err(|e| unreachable(&url, e))?;
        let status = response.status();
        let text = response.text().await.map_err(|e| unreachable(&url, e))?;
        let message = || {
            serde_json::from_str::<ApiError>(&text)
                .map(|e| e.error)
                .unwrap_or_else(|_| text.chars().take(300).collect())
        };
        match status {
            StatusCode::NO_CONTENT => Ok(None),
            s if s.is_success() => {
                serde_json::from_str(&text)
                    .map(Some)
                    .map_err(|source| ClientError::Undecodable {
                        path: path.to_owned(),
                        source,
                    })
            }
            StatusCode::UNAUTHORIZED => Err(ClientError::Unauthorized(message())),
            StatusCode::CONFLICT => Err(ClientError::Conflict(message())),
            s => Err(ClientError::Status {
                status: s.as_u16(),
                message: message(),
            }),
        }
    }

    fn expect<R>(path: &str, reply: Option<R>) -> Result<R, ClientError> {
        reply.ok_or_else(|| ClientError::Malformed(format!("{path} answered 204 with no body")))
    }

    pub async fn register(
        &self,
        registration: &RegisterRequest,
    ) -> Result<RegisterResponse, ClientError> {
        let reply = self
            .post(paths::REGISTER, registration, CALL_TIMEOUT)
            .await?;
        Self::expect(paths::REGISTER, reply)
    }

    /// Long-poll; `None` when the bot had nothing within `wait`.
    pub async fn claim(
        &self,
        claim: &ClaimRequest,
        wait: Duration,
    ) -> Result<Option<ClaimResponse>, ClientError> {
        self.post(paths::CLAIM, claim, wait + CLAIM_SLACK).await
    }

    pub async fn heartbeat(
        &self,
        beat: &HeartbeatRequest,
    ) -> Result<HeartbeatResponse, ClientError> {
        let reply = self.post(paths::HEARTBEAT, beat, CALL_TIMEOUT).await?;
        Self::expect(paths::HEARTBEAT, reply)
    }

    pub async fn result(&self, id: RequestId, result: &ResultReport) -> Result<(), ClientError> {
        self.post::<_, serde_json::Value>(&paths::result(id), result, CALL_TIMEOUT)
            .await
            .map(drop)
    }

    pub async fn error(&self, id: RequestId, error: &ErrorReport) -> Result<(), ClientError> {
        self.post::<_, serde_json::Value>(&paths::error(id), error, CALL_TIMEOUT)
            .await
            .map(drop)
    }

    /// `GET /healthz`: is the bot's server up at all.
    pub async fn healthy(&self) -> Result<(), ClientError> {
        let url = format!("{}/healthz", self.base);
        let response = self
            .http
            .get(&url)
            .timeout(CALL_TIMEOUT)
            .send()
            .await
            .map_err(|e| unreachable(&url, e))?;
        if response.status().is_success() {
            Ok(())
        } else {
            Err(ClientError::Status {
                status: response.status().as_u16(),
                message: format!("{url} is not a Gitkeeper bot's health endpoint"),
            })
        }
    }
}
