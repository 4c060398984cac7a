//! A recording relay in front of a REAL model server (the local model that
//! `tests/model/setup.sh --serve` starts): every request is forwarded
//! unchanged and both sides are kept, so a test can compare what the bot
//! recorded (tokens, the answer) with what the server really said.
//!
//! Must never: answer anything itself. A relay that cannot reach the server
//! answers 502, as a real reverse proxy would, and the test sees the failure.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::Response;
use serde_json::Value;
use tokio::sync::oneshot;

use super::RecordedRequest;

/// Where the project's model server answers: `GITKEEPER_TEST_MODEL_URL`, or
/// the default port of `tests/model/setup.sh --serve`.
pub fn real_model_url() -> String {
    std::env::var("GITKEEPER_TEST_MODEL_URL")
        .unwrap_or_else(|_| "http://127.0.0.1:18181".to_string())
        .trim_end_matches('/')
        .to_string()
}

/// The model id the real server serves (its `/v1/models` list). Panics with
/// the command that starts it when nothing answers: these tests need it.
pub async fn real_model_id() -> String {
    crate::bot::install_crypto_provider();
    let url = real_model_url();
    let fail = |why: String| -> ! {
        panic!(
            "the real local model server is not answering at {url} ({why}); start it with \
             `tests/model/setup.sh --serve` (or set GITKEEPER_TEST_MODEL_URL)"
        )
    };
    let response = match reqwest::Client::new()
        .get(format!("{url}/v1/models"))
        .timeout(Duration::from_secs(10))
        .send()
        .await
    {
        Ok(r) => r,
        Err(e) => fail(e.to_string()),
    };
    let body: Value = match response.json().await {
        Ok(v) => v,
        Err(e) => fail(format!("/v1/models is not JSON: {e}")),
    };
    match body["data"][0]["id"].as_str() {
        Some(id) => id.to_string(),
        None => fail(format!("/v1/models lists no model: {body}")),
    }
}

/// One exchange through the relay.
#[derive(Debug, Clone)]
pub struct Exchange {
    pub request: RecordedRequest,
    pub status: u16,
    pub response: String,
}

impl Exchange {
    /// The response as JSON, if it is JSON (a non-streaming answer).
    pub fn json(&self) -> Option<Value> {
        serde_json::from_str(&self.response).ok()
    }
}

struct Shared {
    upstream: String,
    client: reqwest::Client,
    log: Mutex<Vec<Exchange>>,
}

/// A running relay; it stops when dropped.
pub struct RecordingRelay {
    shared: Arc<Shared>,
    addr: SocketAddr,
    shutdown: Option<oneshot::Sender<()>>,
}

impl RecordingRelay {
    /// Relay 127.0.0.1:<random> to `upstream` (e.g. [`real_model_url`]).
    pub async fn start(upstream: &str) -> RecordingRelay {
        crate::bot::install_crypto_provider();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("cannot bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("listener has no address");
        let shared = Arc::new(Shared {
            upstream: upstream.trim_end_matches('/').to_string(),
            client: reqwest::Client::new(),
            log: Mutex::new(Vec::new()),
        });
        let router = Router::new().fallback(relay).with_state(shared.clone());
        let (shutdown, stop) = oneshot::channel::<()>();
        tokio::spawn(async move {
            let server = axum::serve(listener, router).with_graceful_shutdown(async {
                let _ = stop.await;
            });
            if let Err(error) = server.await {
                tracing::error!(%error, "relay stopped");
            }
        });
        RecordingRelay {
            shared,
            addr,
            shutdown: Some(shutdown),
        }
    }

    /// Base URL without a trailing slash: the model's `endpoint`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Every exchange so far, in order.
    pub fn exchanges(&self) -> Vec<Exchange> {
        self.shared.log.lock().expect("relay log").clone()
    }

    /// The chat completions (`POST /v1/chat/completions`) so far.
    pub fn completions(&self) -> Vec<Exchange> {
        self.exchanges()
            .into_iter()
            .filter(|e| e.request.is_completion())
            .collect()
    }
}

impl Drop for RecordingRelay {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

async fn relay(
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
    let mut kept = BTreeMap::new();
    let mut forward = reqwest::header::HeaderMap::new();
    for (name, value) in &headers {
        kept.insert(
            name.as_str().to_string(),
            String::from_utf8_lossy(value.as_bytes()).into_owned(),
        );
        if matches!(name.as_str(), "content-type" | "authorization" | "accept") {
            forward.insert(name.clone(), value.clone());
        }
    }
    let request = RecordedRequest {
        method: method.to_string(),
        path: path.clone(),
        headers: kept,
        body: String::from_utf8_lossy(&body).into_owned(),
        received_at: Instant::now(),
    };
    let sent = shared
        .client
        .request(method, format!("{}{path}", shared.upstream))
        .headers(forward)
        .body(body)
        .send()
        .await;
    let (status, content_type, text) = match sent {
        Ok(r) => {
            let status = r.status().as_u16();
            let content_type = r
                .headers()
                .get("content-type")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("application/json")
                .to_string();
            match r.text().await {
                Ok(text) => (status, content_type, text),
                Err(e) => (502, "text/plain".to_string(), format!("relay: {e}")),
            }
        }
        Err(e) => (502, "text/plain".to_string(), format!("relay: {e}")),
    };
    shared.log.lock().expect("relay log").push(Exchange {
        request,
        status,
        response: text.clone(),
    });
    Response::builder()
        .status(StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_GATEWAY))
        .header("content-type", content_type)
        .body(Body::from(text))
        .unwrap_or_else(|_| Response::new(Body::from("relay: bad response")))
}
