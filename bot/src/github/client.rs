//! One HTTP client for every GitHub call, authenticated per call as the App
//! (JWT) or as an installation (cached token), with the retry policy applied.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use chrono::{DateTime, Utc};
use http::{HeaderMap, HeaderValue, Method, StatusCode};
use http_body_util::BodyExt;
use octocrab::Octocrab;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use tokio_util::sync::CancellationToken;

use super::GithubError;
use super::auth::{AppCredentials, TokenCache};
use super::retry::{self, Decision, Policy};
use crate::config::Settings;
use crate::ids::InstallationId;

const USER_AGENT: &str = concat!("gitkeeper/", env!("CARGO_PKG_VERSION"));

/// A successful answer.
pub(crate) struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Answer {
    pub fn json<T: DeserializeOwned>(&self, path: &str) -> Result<T, GithubError> {
        serde_json::from_slice(&self.body).map_err(|e| GithubError::Decode {
            path: path.to_string(),
            message: e.to_string(),
        })
    }
}

/// How a call authenticates.
enum Auth<'a> {
    App,
    Installation(&'a SecretString),
}

/// The App's access to GitHub: shared by all jobs.
pub struct GithubApp {
    http: Octocrab,
    api_base: String,
    credentials: AppCredentials,
    tokens: TokenCache,
    policy: Policy,
    timeout: Duration,
    /// `<slug>[bot]`, the App's bot user, read once from `GET /app`.
    bot_login: tokio::sync::OnceCell<String>,
    /// Pages read from one list at most.
    max_pages: usize,
}

impl GithubApp {
    /// Build from settings; fails with the missing key named when the App is not configured.
    pub fn from_settings(settings: &Settings) -> Result<Arc<Self>, GithubError> {
        crate::tls::install_crypto_provider();
        let credentials = AppCredentials::from_settings(&settings.github)?;
        let timeout = Duration::from_secs(settings.github.timeout_secs.max(1));
        let http = Octocrab::builder()
            .base_uri(settings.api_base())
            .map_err(|e| {
                GithubError::NotConfigured(format!("github.api_url is not a valid URL ({e})"))
            })?
            .set_connect_timeout(Some(Duration::from_secs(10)))
            .set_read_timeout(Some(timeout))
            .build()
            .map_err(|e| {
                GithubError::NotConfigured(format!("cannot build the HTTP client ({e})"))
            })?;
        Ok(Arc::new(Self {
            http,
            api_base: settings.api_base(),
            credentials,
            tokens: TokenCache::default(),
            policy: Policy {
                max_retries: settings.github.max_retries,
                max_wait: Duration::from_secs(settings.github.max_rate_limit_wait_secs),
                base_backoff: Duration::from_millis(500),
            },
            timeout,
            bot_login: tokio::sync::OnceCell::new(),
            max_pages: super::pages::MAX_PAGES,
        }))
    }

    /// Shorten retry backoff (tests against the double).
    pub fn with_backoff(mut self: Arc<Self>, base: Duration) -> Arc<Self> {
        if let Some(app) = Arc::get_mut(&mut self) {
            app.policy.base_backoff = base;
        }
        self
    }

    /// Lower the bound on pages read from one list (tests of the bound).
    pub fn with_max_pages(mut self: Arc<Self>, pages: usize) -> Arc<Self> {
        if let Some(app) = Arc::get_mut(&mut self) {
            app.max_pages = pages.max(1);
        }
        self
    }

    pub fn app_id(&self) -> u64 {
        self.credentials.app_id
    }

    /// Calls made on behalf of one installation.
    pub fn installation(self: &Arc<Self>, id: InstallationId) -> Installation {
        Installation {
            app: self.clone(),
            id,
            fence: None,
        }
    }

    /// The login of the App's bot user (`<slug>[bot]`), who authors and
    /// commits what the App makes; asked of GitHub once.
    pub async fn bot_login(&self) -> Result<String, GithubError> {
        self.bot_login
            .get_or_try_init(|| async {
                #[derive(Deserialize)]
                struct AppAnswer {
                    slug: String,
                }
                let path = "app";
                let app: AppAnswer = self
                    .send(Method::GET, path, None, Auth::App, true)
                    .await?
                    .json(path)?;
                Ok::<_, GithubError>(format!("{}[bot]", app.slug))
            })
            .await
            .cloned()
    }

    /// The installation's token, from the cache or freshly minted.
    pub async fn installation_token(
        &self,
        id: InstallationId,
    ) -> Result<SecretString, GithubError> {
        self.tokens
            .get(id, || async move {
                #[derive(Deserialize)]
                struct TokenAnswer {
                    token: String,
                    expires_at: DateTime<Utc>,
                }
                let path = format!("app/installations/{id}/access_tokens");
                // Minting a token twice is harmless, so this POST may be retried.
                let answer = self
                    .send(Method::POST, &path, None, Auth::App, true)
                    .await?;
                let t: TokenAnswer = answer.json(&path)?;
                Ok((SecretString::from(t.token), t.expires_at))
            })
            .await
    }

    /// A new token in place of the cached one, which GitHub refused (revoked,
    /// or ended early by a clock that disagrees with GitHub's).
    pub async fn renew_installation_token(
        &self,
        id: InstallationId,
    ) -> Result<SecretString, GithubError> {
        self.tokens.invalidate(id).await;
        self.installation_token(id).await
    }

    async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<&serde_json::Value>,
        auth: Auth<'_>,
        idempotent: bool,
    ) -> Result<Answer, GithubError> {
        let url = format!("{}{}", self.api_base, path.trim_start_matches('/'));
        let authorization = match auth {
            Auth::App => format!("Bearer {}", self.credentials.jwt()?.expose_secret()),
            Auth::Installation(token) => format!("token {}", token.expose_secret()),
        };
        let body_bytes = match body {
            Some(v) => serde_json::to_vec(v).map_err(|e| GithubError::Decode {
                path: path.into(),
                message: e.to_string(),
            })?,
            None => Vec::new(),
        };
        let mut retries = 0;
        loop {
            let outcome = self
                .send_once(&method, &url, &authorization, &body_bytes, body.is_some())
                .await;
            let decision = match &outcome {
                Ok(answer) => {
                    let text = String::from_utf8_lossy(&answer.body);
                    retry::after_response(
                        &self.policy,
                        idempotent,
                        answer.status,
                        &answer.headers,
                        &text,
                        retries,
                        Utc::now().timestamp().max(0) as u64,
                    )
                }
                Err(_) => retry::after_transport_error(&self.policy, idempotent, retries),
            };
            match decision {
                Decision::Retry(wait) => {
                    tracing::warn!(%method, path, retries, wait_ms = wait.as_millis() as u64, "GitHub call will be retried");
                    tokio::time::sleep(wait).await;
                    retries += 1;
                }
                Decision::RateLimited(wait) => {
                    return Err(GithubError::RateLimited {
                        method,
                        path: path.into(),
                        wait_secs: wait.as_secs(),
                    });
                }
                Decision::Accept => {
                    let answer = outcome.map_err(|message| match message {
                        SendFailure::Timeout => GithubError::Timeout {
                            method: method.clone(),
                            path: path.into(),
                            secs: self.timeout.as_secs(),
                        },
                        SendFailure::Transport(message) => GithubError::Transport {
                            method: method.clone(),
                            path: path.into(),
                            message,
                        },
                    })?;
                    if answer.status.is_success() {
                        return Ok(answer);
                    }
                    return Err(GithubError::Status {
                        method,
                        path: path.into(),
                        status: answer.status,
                        message: error_message(&answer.body),
                    });
                }
            }
        }
    }

    async fn send_once(
        &self,
        method: &Method,
        url: &str,
        authorization: &str,
        body: &[u8],
        has_body: bool,
    ) -> Result<Answer, SendFailure> {
        let mut auth = HeaderValue::from_str(authorization)
            .map_err(|_| SendFailure::Transport("invalid credentials header".into()))?;
        auth.set_sensitive(true);
        let mut builder = http::Request::builder()
            .method(method.clone())
            .uri(url)
            .header(http::header::USER_AGENT, USER_AGENT)
            .header(http::header::ACCEPT, "application/vnd.github+json")
            .header("x-github-api-version", "2022-11-28")
            .header(http::header::AUTHORIZATION, auth);
        if has_body {
            builder = builder.header(http::header::CONTENT_TYPE, "application/json");
        }
        let request = builder
            .body(body.to_vec())
            .map_err(|e| SendFailure::Transport(e.to_string()))?;
        let call = async {
            let response = self
                .http
                .execute(request)
                .await
                .map_err(|e| SendFailure::Transport(e.to_string()))?;
            let status = response.status();
            let headers = response.headers().clone();
            let body = response
                .into_body()
                .collect()
                .await
                .map_err(|e| SendFailure::Transport(e.to_string()))?
                .to_bytes();
            Ok(Answer {
                status,
                headers,
                body,
            })
        };
        tokio::time::timeout(self.timeout, call)
            .await
            .map_err(|_| SendFailure::Timeout)?
    }
}

enum SendFailure {
    Timeout,
    Transport(String),
}

/// GitHub's `{"message": …}`, or the start of the body.
fn error_message(body: &[u8]) -> String {
    #[derive(Deserialize)]
    struct GithubMessage {
        message: String,
    }
    match serde_json::from_slice::<GithubMessage>(body) {
        Ok(m) => m.message,
        Err(_) => String::from_utf8_lossy(&body[..body.len().min(200)]).into_owned(),
    }
}

/// Calls on behalf of one installation.
#[derive(Clone)]
pub struct Installation {
    app: Arc<GithubApp>,
    id: InstallationId,
    /// Fires when the job these calls are for lost its lease: from then on
    /// no call is sent (another worker may own the job).
    fence: Option<CancellationToken>,
}

impl Installation {
    pub fn id(&self) -> InstallationId {
        self.id
    }

    /// These calls, refused once `lease_lost` fires: every comment, commit,
    /// branch move, pull request, check run and label of a job goes through
    /// here, so a worker that lost its job's lease changes nothing more.
    pub fn fenced(&self, lease_lost: CancellationToken) -> Installation {
        Installation {
            fence: Some(lease_lost),
            ..self.clone()
        }
    }

    /// The App's id (to tell its own comments from anyone's).
    pub fn app_id(&self) -> u64 {
        self.app.app_id()
    }

    /// The login of the App's bot user (`<slug>[bot]`).
    pub async fn bot_login(&self) -> Result<String, GithubError> {
        self.app.bot_login().await
    }

    /// Pages read from one list at most.
    pub(crate) fn max_pages(&self) -> usize {
        self.app.max_pages
    }

    /// `url` as a path under the API origin, or `None` when it points elsewhere.
    pub(crate) fn api_path(&self, url: &str) -> Option<String> {
        super::pages::path_under(&self.app.api_base, url)
    }

    /// Send with the installation token; a 401 drops the cached token and tries once more.
    /// POSTs are never resent after a 5xx or a broken connection.
    pub(crate) async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<&serde_json::Value>,
    ) -> Result<Answer, GithubError> {
        let idempotent = method != Method::POST;
        self.call_with(method, path, body, idempotent).await
    }

    /// [`Self::call`] for a POST that is safe to send twice (creating a
    /// content-addressed git blob, tree or commit).
    pub(crate) async fn call_idempotent(
        &self,
        method: Method,
        path: &str,
        body: Option<&serde_json::Value>,
    ) -> Result<Answer, GithubError> {
        self.call_with(method, path, body, true).await
    }

    async fn call_with(
        &self,
        method: Method,
        path: &str,
        body: Option<&serde_json::Value>,
        idempotent: bool,
    ) -> Result<Answer, GithubError> {
        if self.fence.as_ref().is_some_and(|f| f.is_cancelled()) {
            return Err(GithubError::LeaseLost {
                method,
                path: path.to_string(),
            });
        }
        let token = self.app.installation_token(self.id).await?;
        let first = self
            .app
            .send(
                method.clone(),
                path,
                body,
                Auth::Installation(&token),
                idempotent,
            )
            .await;
        match first {
            Err(GithubError::Status {
                status: StatusCode::UNAUTHORIZED,
                ..
            }) => {
                let token = self.app.renew_installation_token(self.id).await?;
                self.app
                    .send(method, path, body, Auth::Installation(&token), idempotent)
                    .await
            }
            other => other,
        }
    }
}
