//! Model server doubles: Ollama, OpenAI-compatible and Anthropic wire formats, answering from per-test scripts.
//!
//! Each double is an in-process HTTP server on a random 127.0.0.1 port that
//! answers like the real server: same paths, JSON shapes, status codes and
//! error bodies, and the same checks (Anthropic's `x-api-key` and
//! `anthropic-version`, OpenAI's bearer key when one is configured, unknown
//! models). Ollama's silent truncation is simulated: when `options.num_ctx`
//! is missing or smaller than the prompt, `prompt_eval_count` reports
//! `num_ctx` (2048 by default), as the real server does after cutting the
//! prompt. Completion requests take the next [`Step`] of the script; every
//! request is recorded.
//!
//! ```no_run
//! # async fn example() {
//! use gitkeeper_e2e::models::{ModelDouble, Step};
//! let ollama = ModelDouble::ollama(&["qwen2.5-coder:7b"]).await;
//! ollama.push(Step::server_error());
//! ollama.push(Step::reply("FILE: src/a.ts\n...").usage(1200, 80));
//! // point [models.local-small] endpoint at ollama.url(), run, then:
//! assert_eq!(ollama.completion_requests().len(), 2);
//! # }
//! ```

mod anthropic;
mod ollama;
mod openai;
mod record;
pub mod relay;
mod script;
mod tokens;
mod tools;

use std::collections::{BTreeMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::Value;
use tokio::sync::oneshot;

pub use record::RecordedRequest;
pub use script::{Action, Failure, Reply, Script, ScriptedCall, Step, UsageReport};
pub use tokens::{count_tokens, prompt_tokens};

/// The local models the tests' Ollama doubles serve (the default ladder's local tiers).
pub const QWEN_7B: &str = "qwen2.5-coder:7b";
/// The larger local model.
pub const QWEN_14B: &str = "qwen2.5-coder:14b";
/// The Anthropic model the tests' cloud tiers name.
pub const CLAUDE: &str = "claude-sonnet-4-5";

/// Which server a double imitates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    /// Ollama's native API: `/api/chat`, `/api/tags`.
    Ollama,
    /// OpenAI-compatible: `/v1/chat/completions`, `/v1/models` (OpenAI,
    /// DeepSeek, LM Studio, llama.cpp, vLLM).
    OpenAi,
    /// Anthropic's Messages API: `/v1/messages`, `/v1/models`.
    Anthropic,
}

/// How a double is set up.
#[derive(Debug, Clone)]
pub struct ModelDoubleOptions {
    /// Models the server has; others are refused with the server's "not found".
    pub models: Vec<String>,
    /// OpenAI: bearer key required when set. Anthropic: the `x-api-key` that
    /// is accepted (a key is always required). Ollama: bearer required when
    /// set (an Ollama behind an authenticating proxy).
    pub api_key: Option<String>,
    /// Ollama: the context size when a request sends no `options.num_ctx`.
    pub default_num_ctx: u32,
    /// Ollama: model tokens per cl100k token, to imitate a model whose
    /// tokenizer counts more than the client's (1.0 = the same).
    pub prompt_token_factor: f64,
    /// Ollama: fail with 400 instead of truncating when the request says
    /// `"truncate": false` (newer Ollama). Off: the server ignores the flag.
    pub honors_truncate_flag: bool,
    /// OpenAI flavor: behave like LM Studio with no model loaded.
    pub no_model_loaded: bool,
    /// Answered when the script is empty; `None` answers 500 "script exhausted".
    pub default_step: Option<Step>,
}

impl Default for ModelDoubleOptions {
    fn default() -> Self {
        Self {
            models: Vec::new(),
            api_key: None,
            default_num_ctx: 2048,
            prompt_token_factor: 1.0,
            honors_truncate_flag: false,
            no_model_loaded: false,
            default_step: None,
        }
    }
}

/// State shared by the server task and the test.
pub(crate) struct Shared {
    pub flavor: Flavor,
    pub options: Mutex<ModelDoubleOptions>,
    script: Mutex<VecDeque<Step>>,
    log: Mutex<Vec<RecordedRequest>>,
    completions: Mutex<u64>,
}

impl Shared {
    pub fn options(&self) -> ModelDoubleOptions {
        self.options.lock().expect("options lock").clone()
    }

    /// True when the server has `model` (Ollama: `name` means `name:latest`).
    pub fn has_model(&self, model: &str) -> bool {
        let options = self.options.lock().expect("options lock");
        let normalize = |m: &str| {
            if self.flavor == Flavor::Ollama && !m.contains(':') {
                format!("{m}:latest")
            } else {
                m.to_string()
            }
        };
        let wanted = normalize(model);
        options.models.iter().any(|m| normalize(m) == wanted)
    }

    /// The next step, after its delay. `None` when the script is exhausted
    /// and there is no default step.
    pub async fn take_step(&self) -> Result<Step, u64> {
        let count = {
            let mut completions = self.completions.lock().expect("count lock");
            *completions += 1;
            *completions
        };
        let step = self.script.lock().expect("script lock").pop_front();
        let step = match step.or_else(|| self.options().default_step) {
            Some(step) => step,
            None => return Err(count),
        };
        if !step.delay.is_zero() {
            tokio::time::sleep(step.delay).await;
        }
        Ok(step)
    }
}

/// A request as the flavor handlers see it.
pub(crate) struct Incoming {
    pub method: Method,
    pub path: String,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Incoming {
    pub fn route(&self) -> &str {
        self.path.split('?').next().unwrap_or(&self.path)
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The bearer token of `Authorization`, if any.
    pub fn bearer(&self) -> Option<&str> {
        let value = self.header("authorization")?;
        let (scheme, token) = value.split_once(' ')?;
        scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
    }
}

/// A running model double; it stops when dropped.
pub struct ModelDouble {
    shared: Arc<Shared>,
    addr: SocketAddr,
    shutdown: Option<oneshot::Sender<()>>,
}

impl ModelDouble {
    /// Start a double of `flavor` on a random 127.0.0.1 port.
    pub async fn start(flavor: Flavor, options: ModelDoubleOptions) -> ModelDouble {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("cannot bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("listener has no address");
        let shared = Arc::new(Shared {
            flavor,
            options: Mutex::new(options),
            script: Mutex::new(VecDeque::new()),
            log: Mutex::new(Vec::new()),
            completions: Mutex::new(0),
        });
        let router = Router::new().fallback(handle).with_state(shared.clone());
        let (shutdown, stop) = oneshot::channel::<()>();
        tokio::spawn(async move {
            let server = axum::serve(listener, router).with_graceful_shutdown(async {
                let _ = stop.await;
            });
            if let Err(error) = server.await {
                tracing::error!(%error, "model double stopped");
            }
        });
        ModelDouble {
            shared,
            addr,
            shutdown: Some(shutdown),
        }
    }

    /// An Ollama double that has `models` pulled.
    pub async fn ollama(models: &[&str]) -> ModelDouble {
        Self::start(Flavor::Ollama, with_models(models, None)).await
    }

    /// An OpenAI-compatible double serving `models`; with `api_key`, every
    /// request must carry `Authorization: Bearer <api_key>`.
    pub async fn openai(models: &[&str], api_key: Option<&str>) -> ModelDouble {
        Self::start(Flavor::OpenAi, with_models(models, api_key)).await
    }

    /// An Anthropic double serving `models` to requests with `x-api-key: <api_key>`.
    pub async fn anthropic(models: &[&str], api_key: &str) -> ModelDouble {
        Self::start(Flavor::Anthropic, with_models(models, Some(api_key))).await
    }

    /// Base URL without a trailing slash (`http://127.0.0.1:PORT`): the model's `endpoint`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn flavor(&self) -> Flavor {
        self.shared.flavor
    }

    /// Append one step to the script.
    pub fn push(&self, step: Step) -> &Self {
        self.shared
            .script
            .lock()
            .expect("script lock")
            .push_back(step);
        self
    }

    /// Append every step of `script`.
    pub fn enqueue(&self, script: Script) -> &Self {
        self.shared
            .script
            .lock()
            .expect("script lock")
            .extend(script.steps);
        self
    }

    /// Steps not yet taken.
    pub fn pending_steps(&self) -> usize {
        self.shared.script.lock().expect("script lock").len()
    }

    /// Replace the model list (e.g. after an `ollama pull`).
    pub fn set_models(&self, models: &[&str]) {
        self.shared.options.lock().expect("options lock").models =
            models.iter().map(|m| m.to_string()).collect();
    }

    /// Change the options while running.
    pub fn update_options(&self, change: impl FnOnce(&mut ModelDoubleOptions)) {
        change(&mut self.shared.options.lock().expect("options lock"));
    }

    /// Every request received, in order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.shared.log.lock().expect("log lock").clone()
    }

    /// Only chat/message completion requests, in order.
    pub fn completion_requests(&self) -> Vec<RecordedRequest> {
        self.requests()
            .into_iter()
            .filter(RecordedRequest::is_completion)
            .collect()
    }

    /// The prompt text of every completion request, in order.
    pub fn prompts(&self) -> Vec<String> {
        self.completion_requests()
            .iter()
            .map(RecordedRequest::prompt_text)
            .collect()
    }
}

impl Drop for ModelDouble {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
    }
}

fn with_models(models: &[&str], api_key: Option<&str>) -> ModelDoubleOptions {
    ModelDoubleOptions {
        models: models.iter().map(|m| m.to_string()).collect(),
        api_key: api_key.map(str::to_string),
        ..ModelDoubleOptions::default()
    }
}

async fn handle(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri
        .path_and_query()
        .map(|pq| pq.as_str().to_string())
        .unwrap_or_else(|| uri.path().to_string());
    let mut recorded_headers: BTreeMap<String, String> = BTreeMap::new();
    for (name, value) in &headers {
        let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
        recorded_headers
            .entry(name.as_str().to_string())
            .and_modify(|v| {
                v.push_str(", ");
                v.push_str(&value);
            })
            .or_insert(value);
    }
    shared.log.lock().expect("log lock").push(RecordedRequest {
        method: method.to_string(),
        path: path.clone(),
        headers: recorded_headers,
        body: String::from_utf8_lossy(&body).into_owned(),
        received_at: Instant::now(),
    });
    let incoming = Incoming {
        method,
        path,
        headers,
        body,
    };
    match shared.flavor {
        Flavor::Ollama => ollama::handle(&shared, &incoming).await,
        Flavor::OpenAi => openai::handle(&shared, &incoming).await,
        Flavor::Anthropic => anthropic::handle(&shared, &incoming).await,
    }
}

/// `status` with a JSON body and extra headers.
pub(crate) fn json_response(status: u16, body: &Value, headers: &[(String, String)]) -> Response {
    let mut response = Response::new(Body::from(body.to_string()));
    *response.status_mut() = StatusCode::from_u16(status).expect("valid status");
    response.headers_mut().insert(
        axum::http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    add_headers(&mut response, headers);
    response
}

/// `response` as is, or, when `cut_off`, its head and the first half of its
/// body followed by a dropped connection (the declared length never arrives).
pub(crate) async fn cut_off_if(response: Response, cut_off: bool) -> Response {
    if !cut_off {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let bytes = axum::body::to_bytes(body, usize::MAX)
        .await
        .expect("the double's own body is readable");
    let half = Bytes::copy_from_slice(&bytes[..bytes.len() / 2]);
    parts.headers.insert(
        axum::http::header::CONTENT_LENGTH,
        HeaderValue::from(bytes.len()),
    );
    // The first half goes out; a moment later the body fails, and hyper
    // drops the connection with the rest of the declared length unsent.
    let chunks = futures::stream::unfold(Some(half), |half| async move {
        match half {
            Some(half) => Some((Ok(half), None)),
            None => {
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                let cut = std::io::Error::new(
                    std::io::ErrorKind::ConnectionReset,
                    "model double: connection cut off mid-answer",
                );
                Some((Err::<Bytes, _>(cut), None))
            }
        }
    });
    Response::from_parts(parts, Body::from_stream(chunks))
}

/// `status` with a body of `content_type`.
pub(crate) fn text_response(status: u16, content_type: &'static str, body: String) -> Response {
    let mut response = (StatusCode::from_u16(status).expect("valid status"), body).into_response();
    response.headers_mut().insert(
        axum::http::header::CONTENT_TYPE,
        HeaderValue::from_static(content_type),
    );
    response
}

fn add_headers(response: &mut Response, headers: &[(String, String)]) {
    for (name, value) in headers {
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(value),
        ) {
            response.headers_mut().append(name, value);
        }
    }
}

/// `retry-after` when a wait is given.
pub(crate) fn retry_after_header(secs: Option<u64>) -> Vec<(String, String)> {
    secs.map(|s| vec![("retry-after".to_string(), s.to_string())])
        .unwrap_or_default()
}

/// Seconds since the Unix epoch.
pub(crate) fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// A random lowercase-alphanumeric id of `len` characters.
pub(crate) fn random_id(len: usize) -> String {
    const CHARS: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    (0..len)
        .map(|_| CHARS[rand::random_range(0..CHARS.len())] as char)
        .collect()
}

/// The `(role, content)` pairs of a request body's `messages` (string or
/// block content), or why they are not valid.
pub(crate) fn parse_messages(body: &Value) -> Result<Vec<(String, String)>, String> {
    let Some(messages) = body.get("messages") else {
        return Ok(Vec::new());
    };
    let Some(array) = messages.as_array() else {
        return Err("messages must be an array".into());
    };
    array
        .iter()
        .enumerate()
        .map(|(i, m)| {
            let role = m
                .get("role")
                .and_then(Value::as_str)
                .ok_or_else(|| format!("messages.{i}.role: Field required"))?;
            let content = match m.get("content") {
                Some(Value::String(s)) => s.clone(),
                Some(Value::Array(blocks)) => record::blocks_text(blocks),
                Some(Value::Null) | None => String::new(),
                Some(_) => {
                    return Err(format!(
                        "messages.{i}.content: Input should be a valid string"
                    ));
                }
            };
            Ok((role.to_string(), content))
        })
        .collect()
}
