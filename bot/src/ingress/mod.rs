//! The HTTP front door: `POST /webhooks` (verify the signature over the raw
//! body before parsing, dedupe by delivery id, turn the event into an intent,
//! commit the job, answer 202), plus `/healthz`, `/readyz` and `/metrics`.
//! It never does the work itself: answers come in milliseconds.

pub mod bounds;
pub mod command;
pub mod events;
pub mod fuzzing;
pub mod server;
pub mod signature;

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use secrecy::{ExposeSecret, SecretString};
use serde_json::json;
use tokio::sync::{Notify, Semaphore};

use crate::config::{ServerSettings, TriggerSettings};
use crate::ids::DeliveryId;
use crate::metrics::Metrics;
use crate::queue::{Accepted, Committer, Delivery, JobStore, Submission, now_ms};
use events::Parsed;

/// What the handlers share.
#[derive(Clone)]
pub struct Ingress {
    pub store: Arc<dyn JobStore>,
    /// Stores deliveries, several per commit.
    pub committer: Committer,
    pub metrics: Arc<Metrics>,
    pub wake: Arc<Notify>,
    pub webhook_secret: Option<SecretString>,
    pub trigger: TriggerSettings,
    /// `Err(what is missing)` when the GitHub App cannot authenticate.
    pub github_ready: Result<(), String>,
    pub limits: Limits,
}

/// What one request may cost the process.
#[derive(Clone)]
pub struct Limits {
    /// Largest body read.
    pub max_body_bytes: usize,
    /// Body bytes in memory over all requests, in KiB permits.
    body_room: Arc<Semaphore>,
    /// How long a body may take to arrive, room to arrive in included.
    pub body_timeout: Duration,
    /// How long a request waits for the job store.
    pub store_timeout: Duration,
}

impl Limits {
    pub fn new(
        max_body_bytes: usize,
        max_inflight_body_bytes: usize,
        body_timeout: Duration,
        store_timeout: Duration,
    ) -> Limits {
        Limits {
            max_body_bytes,
            body_room: Arc::new(Semaphore::new(kib(max_inflight_body_bytes) as usize)),
            body_timeout,
            store_timeout,
        }
    }

    pub fn from_settings(server: &ServerSettings) -> Limits {
        Limits::new(
            server.max_body_bytes,
            server.max_inflight_body_bytes,
            server.body_timeout(),
            server.store_timeout(),
        )
    }
}

/// `bytes` in KiB permits, rounded up (a semaphore counts in `u32`).
fn kib(bytes: usize) -> u32 {
    u32::try_from(bytes.div_ceil(1024)).unwrap_or(u32::MAX)
}

/// The bot's HTTP routes.
pub fn router(state: Ingress) -> Router {
    Router::new()
        .route(
            "/webhooks",
            post(webhook).layer(middleware::from_fn_with_state(
                state.clone(),
                refuse_declared_oversize,
            )),
        )
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .layer(middleware::from_fn_with_state(state.clone(), observe))
        .with_state(state)
}

async fn observe(State(state): State<Ingress>, request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_string(), |p| p.as_str().to_string());
    let start = Instant::now();
    let response = next.run(request).await;
    state.metrics.request(
        &route,
        response.status().as_u16(),
        start.elapsed().as_secs_f64(),
    );
    response
}

/// A header value as it may appear in a log line: at most 64 characters,
/// control characters (terminal escapes) escaped. Headers come from anyone.
fn shown(value: &str) -> String {
    let mut out: String = value
        .chars()
        .take(64)
        .flat_map(char::escape_debug)
        .collect();
    if value.chars().nth(64).is_some() {
        out.push('…');
    }
    out
}

fn header<'h>(headers: &'h HeaderMap, name: &str) -> &'h str {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}

/// A body whose `Content-Length` already exceeds the limit is refused before
/// a byte of it is read; bodies without one are cut off while read.
async fn refuse_declared_oversize(
    State(state): State<Ingress>,
    request: Request,
    next: Next,
) -> Response {
    let limit = state.limits.max_body_bytes;
    match declared_length(request.headers()) {
        Some(length) if length > limit as u64 => too_large(&state, request.headers(), Some(length)),
        _ => next.run(request).await,
    }
}

fn declared_length(headers: &HeaderMap) -> Option<u64> {
    headers
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
}

fn too_large(state: &Ingress, headers: &HeaderMap, declared: Option<u64>) -> Response {
    let limit = state.limits.max_body_bytes;
    let event = header(headers, "x-github-event");
    tracing::warn!(event = %shown(event), delivery = %shown(header(headers, "x-github-delivery")), ?declared, limit, "webhook refused (413): body larger than the limit");
    state.metrics.webhook(event, "too_large");
    answer(
        StatusCode::PAYLOAD_TOO_LARGE,
        json!({"error": format!("webhook body is larger than {limit} bytes; GitHub caps payloads at 25 MiB, so this did not come from GitHub")}),
    )
}

fn answer(status: StatusCode, body: serde_json::Value) -> Response {
    (status, Json(body)).into_response()
}

/// Read `body` within the limits: wait for room among the bodies in
/// memory, then for the bytes, both within `body_timeout`.
async fn read_body<'s>(
    state: &'s Ingress,
    headers: &HeaderMap,
    body: Body,
) -> Result<(Bytes, tokio::sync::SemaphorePermit<'s>), Response> {
    let limits = &state.limits;
    let event = header(headers, "x-github-event");
    let delivery = header(headers, "x-github-delivery");
    let deadline = tokio::time::Instant::now() + limits.body_timeout;
    let wanted = declared_length(headers)
        .map_or(limits.max_body_bytes, |n| {
            usize::try_from(n).unwrap_or(usize::MAX)
        })
        .min(limits.max_body_bytes);
    let room = match tokio::time::timeout_at(deadline, limits.body_room.acquire_many(kib(wanted)))
        .await
    {
        Ok(Ok(room)) => room,
        _ => {
            tracing::warn!(event = %shown(event), delivery = %shown(delivery), wanted, "webhook refused (503): too many webhook bodies in memory at once");
            state.metrics.webhook(event, "busy");
            return Err(answer(
                StatusCode::SERVICE_UNAVAILABLE,
                json!({"error": "too many webhook bodies are being received at once; redeliver this one later"}),
            ));
        }
    };
    match tokio::time::timeout_at(deadline, axum::body::to_bytes(body, limits.max_body_bytes)).await
    {
        Ok(Ok(bytes)) => Ok((bytes, room)),
        Ok(Err(e)) => {
            let over = std::error::Error::source(&e)
                .is_some_and(|s| s.is::<http_body_util::LengthLimitError>());
            if over {
                return Err(too_large(state, headers, None));
            }
            tracing::warn!(event = %shown(event), delivery = %shown(delivery), error = %e, "webhook refused (400): the body could not be read");
            state.metrics.webhook(event, "unreadable");
            Err(answer(
                StatusCode::BAD_REQUEST,
                json!({"error": "the request body could not be read"}),
            ))
        }
        Err(_) => {
            tracing::warn!(event = %shown(event), delivery = %shown(delivery), timeout = ?limits.body_timeout, "webhook refused (408): the body did not arrive in time");
            state.metrics.webhook(event, "body_timeout");
            Err(answer(
                StatusCode::REQUEST_TIMEOUT,
                json!({"error": format!("the body did not arrive within {:?}", limits.body_timeout)}),
            ))
        }
    }
}

async fn webhook(State(state): State<Ingress>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let headers = parts.headers;
    let event = header(&headers, "x-github-event").to_string();
    let Some(secret) = &state.webhook_secret else {
        tracing::error!("webhook refused (503): github.webhook_secret is not set");
        state.metrics.webhook(&event, "no_secret");
        return answer(
            StatusCode::SERVICE_UNAVAILABLE,
            json!({"error": "webhook secret is not set: put it in gitkeeper.toml [github] webhook_secret or GITKEEPER_GITHUB__WEBHOOK_SECRET"}),
        );
    };
    let claimed = headers
        .get("x-hub-signature-256")
        .and_then(|v| v.to_str().ok());
    // No body is read for a request that cannot be signed.
    if !signature::well_formed(claimed) {
        return bad_signature(&state, &headers);
    }
    let (body, room) = match read_body(&state, &headers, body).await {
        Ok(read) => read,
        Err(refused) => return refused,
    };
    if !signature::verify(secret.expose_secret().as_bytes(), &body, claimed) {
        return bad_signature(&state, &headers);
    }
    if event.is_empty() {
        tracing::warn!(delivery = %shown(header(&headers, "x-github-delivery")), "webhook refused (400): X-GitHub-Event header is missing");
        state.metrics.webhook("", "malformed");
        return answer(
            StatusCode::BAD_REQUEST,
            json!({"error": "X-GitHub-Event header is missing"}),
        );
    }
    let delivery_id = header(&headers, "x-github-delivery");
    if delivery_id.is_empty() || delivery_id.len() > 100 {
        tracing::warn!(event = %shown(&event), delivery = %shown(delivery_id), "webhook refused (400): X-GitHub-Delivery header is missing or longer than 100 characters");
        state.metrics.webhook(&event, "malformed");
        return answer(
            StatusCode::BAD_REQUEST,
            json!({"error": "X-GitHub-Delivery header is missing or longer than 100 characters"}),
        );
    }
    let delivery_id = DeliveryId(delivery_id.to_string());
    let parsed = match events::parse(&event, &body, &state.trigger) {
        Ok(parsed) => parsed,
        Err(e) => {
            tracing::warn!(delivery = %delivery_id, error = %e, "webhook refused (400): malformed payload");
            state.metrics.webhook(&event, "malformed");
            return answer(StatusCode::BAD_REQUEST, json!({"error": e.to_string()}));
        }
    };
    // The intent holds what is kept of the body; the room goes to others.
    drop(body);
    drop(room);
    let delivery = |outcome: &str| Delivery {
        id: delivery_id.clone(),
        event: event.clone(),
        outcome: outcome.to_string(),
    };
    let now = now_ms();
    match parsed {
        Parsed::Ping => {
            state.metrics.webhook(&event, "pong");
            answer(StatusCode::OK, json!({"status": "pong"}))
        }
        Parsed::Ignored(reason) => {
            tracing::debug!(delivery = %delivery_id, event = %event, reason, "webhook ignored");
            state.metrics.webhook(&event, "ignored");
            answer(
                StatusCode::ACCEPTED,
                json!({"status": "ignored", "reason": reason}),
            )
        }
        Parsed::Installation(change) => {
            let result = record_once(
                &state,
                &delivery("installation"),
                Record::Installation(change),
                now,
            )
            .await;
            store_answer(&state, &event, &delivery_id, result.map(|s| (s, None)))
        }
        Parsed::PullClosed(closed) => {
            let outcome = crate::trail::PullOutcome {
                repo: closed.repo.full_name(),
                pull_number: closed.pull.0,
                merged: closed.merged,
                pull_key: crate::intent::target_key(&closed.repo, closed.pull),
                issue_key: crate::intent::target_key(&closed.repo, closed.issue),
            };
            let result =
                record_once(&state, &delivery("outcome"), Record::Outcome(outcome), now).await;
            store_answer(&state, &event, &delivery_id, result.map(|s| (s, None)))
        }
        Parsed::Work(intent) => {
            let intent = bounds::bound(intent);
            let (kind, repo, number) = (intent.kind(), intent.repo().full_name(), intent.number());
            let submission = Submission {
                delivery: delivery("queued"),
                coalesce_key: intent.coalesce_key(),
                intent: Some(intent),
            };
            let result = submit(&state, submission)
                .await
                .map(|accepted| match accepted {
                    Accepted::Duplicate => ("duplicate", None),
                    Accepted::Stored(job) => ("queued", job),
                    Accepted::Coalesced(job) => ("coalesced", Some(job)),
                });
            match &result {
                Ok(("queued", Some(job))) => {
                    tracing::info!(delivery = %delivery_id, job_id = %job, intent = kind, repo = %repo, number = %number, "job queued");
                    state.wake.notify_one();
                }
                Ok(("coalesced", Some(job))) => {
                    tracing::info!(delivery = %delivery_id, job_id = %job, intent = kind, repo = %repo, number = %number, "the same request is already queued or running: delivery joined that job");
                }
                _ => {}
            }
            store_answer(&state, &event, &delivery_id, result)
        }
    }
}

fn bad_signature(state: &Ingress, headers: &HeaderMap) -> Response {
    let event = header(headers, "x-github-event");
    tracing::warn!(event = %shown(event), delivery = %shown(header(headers, "x-github-delivery")), "webhook refused (401): signature missing or wrong");
    state.metrics.webhook(event, "bad_signature");
    answer(
        StatusCode::UNAUTHORIZED,
        json!({"error": "X-Hub-Signature-256 is missing or does not match: the App's webhook secret and [github] webhook_secret must be the same"}),
    )
}

/// Why the store did not take a delivery in time.
#[derive(Debug, thiserror::Error)]
enum Unstored {
    #[error(transparent)]
    Commit(#[from] crate::queue::CommitError),
    #[error(transparent)]
    Store(#[from] crate::queue::StoreError),
    #[error("the job store did not answer within {0:?}")]
    TimedOut(Duration),
}

/// Hand `submission` to the committer, waiting at most `store_timeout`.
async fn submit(state: &Ingress, submission: Submission) -> Result<Accepted, Unstored> {
    within(state, state.committer.submit(submission)).await
}

/// `work` if it ends within `store_timeout`.
async fn within<T, E: Into<Unstored>>(
    state: &Ingress,
    work: impl std::future::Future<Output = Result<T, E>>,
) -> Result<T, Unstored> {
    match tokio::time::timeout(state.limits.store_timeout, work).await {
        Ok(result) => result.map_err(Into::into),
        Err(_) => Err(Unstored::TimedOut(state.limits.store_timeout)),
    }
}

/// What a delivery that queues no job records.
enum Record {
    Installation(crate::intent::InstallationChange),
    Outcome(crate::trail::PullOutcome),
}

/// Record `record`, then remember `delivery`. Both records are upserts, so
/// recording a redelivery again is harmless, while a record that failed is
/// not lost: the delivery is not marked seen and GitHub's redelivery retries it.
async fn record_once(
    state: &Ingress,
    delivery: &Delivery,
    record: Record,
    now: i64,
) -> Result<&'static str, Unstored> {
    match record {
        Record::Installation(change) => {
            within(state, state.store.record_installation(&change, now)).await?
        }
        Record::Outcome(outcome) => {
            within(state, state.store.record_pull_outcome(&outcome, now)).await?
        }
    }
    let submission = Submission {
        delivery: delivery.clone(),
        intent: None,
        coalesce_key: None,
    };
    Ok(match submit(state, submission).await? {
        Accepted::Duplicate => "duplicate",
        Accepted::Stored(_) | Accepted::Coalesced(_) => "recorded",
    })
}

fn store_answer(
    state: &Ingress,
    event: &str,
    delivery: &DeliveryId,
    result: Result<(&'static str, Option<crate::ids::JobId>), Unstored>,
) -> Response {
    match result {
        Ok((status, job)) => {
            state.metrics.webhook(event, status);
            answer(
                StatusCode::ACCEPTED,
                json!({"status": status, "job_id": job}),
            )
        }
        Err(e) => {
            tracing::error!(delivery = %delivery, error = %e, "webhook refused (503): cannot store it");
            state.metrics.webhook(event, "store_error");
            answer(
                StatusCode::SERVICE_UNAVAILABLE,
                json!({"error": format!("the job store is unavailable ({e}); GitHub can redeliver this webhook once it is back")}),
            )
        }
    }
}

async fn healthz() -> Response {
    answer(StatusCode::OK, json!({"status": "ok"}))
}

async fn readyz(State(state): State<Ingress>) -> Response {
    // Ready means a delivery would be stored: a write commits, in time, to
    // the file that was opened.
    let database = match within(&state, state.store.check_writable(now_ms())).await {
        Ok(()) => "ok".to_string(),
        Err(e) => e.to_string(),
    };
    let github = match &state.github_ready {
        Ok(()) => "ok".to_string(),
        Err(missing) => missing.clone(),
    };
    let secret = if state.webhook_secret.is_some() {
        "ok".to_string()
    } else {
        "github.webhook_secret is not set: put it in gitkeeper.toml [github] webhook_secret or GITKEEPER_GITHUB__WEBHOOK_SECRET".to_string()
    };
    let ready = database == "ok" && github == "ok" && secret == "ok";
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    answer(
        status,
        json!({"ready": ready, "checks": {"database": database, "github_app": github, "webhook_secret": secret}}),
    )
}

async fn metrics(State(state): State<Ingress>) -> Response {
    let counts = within(&state, state.store.count_by_state())
        .await
        .unwrap_or_default();
    (
        StatusCode::OK,
        [(
            axum::http::header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        state.metrics.render(&counts),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use tower::ServiceExt;

    const LIMIT: usize = 1024;

    async fn state(dir: &std::path::Path, limits: Limits) -> Ingress {
        let url = format!("sqlite://{}", dir.join("jobs.db").display());
        let store = crate::queue::open(&url, None).await.unwrap();
        Ingress {
            committer: Committer::spawn(store.clone(), 64),
            store,
            metrics: Arc::new(Metrics::default()),
            wake: Arc::new(Notify::new()),
            webhook_secret: Some(SecretString::from("s3cret")),
            trigger: TriggerSettings::default(),
            github_ready: Ok(()),
            limits,
        }
    }

    /// Short waits, so the tests that wait them out end quickly.
    fn limits() -> Limits {
        Limits::new(
            LIMIT,
            4 * LIMIT,
            Duration::from_millis(300),
            Duration::from_millis(300),
        )
    }

    async fn app(dir: &std::path::Path) -> Router {
        router(state(dir, limits()).await)
    }

    fn signed(event: &str, delivery: &str, body: &[u8]) -> Request {
        Request::post("/webhooks")
            .header("x-github-event", event)
            .header("x-github-delivery", delivery)
            .header("x-hub-signature-256", signature::sign(b"s3cret", body))
            .body(Body::from(body.to_vec()))
            .unwrap()
    }

    async fn text(response: Response) -> String {
        let body = axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .unwrap();
        String::from_utf8_lossy(&body).into_owned()
    }

    #[tokio::test]
    async fn a_body_waits_for_room_and_gets_503_when_none_comes() {
        let dir = tempfile::tempdir().unwrap();
        let state = state(dir.path(), limits()).await;
        // Bodies in flight hold all the room there is.
        let held = state
            .limits
            .body_room
            .acquire_many(kib(4 * LIMIT))
            .await
            .unwrap();
        let response = router(state.clone())
            .oneshot(post(Body::from(vec![b' '; 10]), Some(10)))
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert!(text(response).await.contains("too many webhook bodies"));
        drop(held);
        let response = router(state)
            .oneshot(post(Body::from(vec![b' '; 10]), Some(10)))
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    }

    #[tokio::test]
    async fn a_body_that_does_not_arrive_in_time_gets_408() {
        let dir = tempfile::tempdir().unwrap();
        let state = state(dir.path(), limits()).await;
        let stalled =
            Body::from_stream(futures::stream::pending::<Result<Bytes, std::io::Error>>());
        let response = router(state.clone())
            .oneshot(post(stalled, Some(100)))
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::REQUEST_TIMEOUT);
        // Its room is given back.
        assert_eq!(
            state.limits.body_room.available_permits(),
            kib(4 * LIMIT) as usize
        );
    }

    #[tokio::test]
    async fn a_locked_store_answers_503_within_the_store_timeout() {
        let dir = tempfile::tempdir().unwrap();
        let state = state(dir.path(), limits()).await;
        // Another process holds the database's write lock, longer than the
        // store's own busy timeout would wait.
        let url = format!("sqlite://{}", dir.path().join("jobs.db").display());
        let mut locker = <sqlx::SqliteConnection as sqlx::Connection>::connect(&url)
            .await
            .unwrap();
        sqlx::query("BEGIN EXCLUSIVE")
            .execute(&mut locker)
            .await
            .unwrap();
        let body = serde_json::to_vec(&labeled()).unwrap();
        let response = router(state.clone())
            .oneshot(signed("issues", "d-locked", &body))
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        let said = text(response).await;
        assert!(said.contains("did not answer within 300ms"), "{said}");
        let ready = router(state.clone())
            .oneshot(Request::get("/readyz").body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert_eq!(ready.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert!(text(ready).await.contains("did not answer within"));
        sqlx::query("ROLLBACK").execute(&mut locker).await.unwrap();
    }

    #[tokio::test]
    async fn a_deleted_data_dir_answers_503_and_is_not_ready() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let state = state(&data, limits()).await;
        let app = router(state);
        let ready = |app: Router| async move {
            app.oneshot(Request::get("/readyz").body(Body::empty()).unwrap())
                .await
                .unwrap()
        };
        assert_eq!(ready(app.clone()).await.status(), StatusCode::OK);
        std::fs::remove_dir_all(&data).unwrap();
        let body = serde_json::to_vec(&labeled()).unwrap();
        let response = app
            .clone()
            .oneshot(signed("issues", "d-gone", &body))
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        let not_ready = ready(app).await;
        assert_eq!(not_ready.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert!(text(not_ready).await.contains("was deleted or replaced"));
    }

    #[tokio::test]
    async fn a_second_label_while_the_job_waits_joins_it() {
        let dir = tempfile::tempdir().unwrap();
        let state = state(dir.path(), limits()).await;
        let body = serde_json::to_vec(&labeled()).unwrap();
        let first = router(state.clone())
            .oneshot(signed("issues", "d-first", &body))
            .await
            .unwrap();
        assert_eq!(first.status(), StatusCode::ACCEPTED);
        let again = router(state.clone())
            .oneshot(signed("issues", "d-again", &body))
            .await
            .unwrap();
        assert_eq!(again.status(), StatusCode::ACCEPTED);
        assert!(text(again).await.contains("\"coalesced\""));
        assert_eq!(state.store.jobs(None, 10).await.unwrap().len(), 1);
    }

    #[test]
    fn header_values_in_logs_are_short_and_escaped() {
        let hostile = format!("\u{1b}[31mred{}", "x".repeat(10_000));
        let shown = shown(&hostile);
        assert!(shown.starts_with("\\u{1b}[31mred"), "{shown}");
        assert!(shown.chars().count() < 80, "{shown}");
        assert!(!shown.contains('\u{1b}'));
    }

    fn labeled() -> serde_json::Value {
        json!({
            "action": "labeled",
            "issue": {"number": 7, "title": "Fix it", "body": "Fix the greeting.", "user": {"login": "octo", "id": 1, "type": "User"}, "labels": [{"name": "gitkeeper"}]},
            "label": {"id": 1, "name": "gitkeeper"},
            "repository": {"id": 1296269, "name": "app", "full_name": "octo/app", "owner": {"login": "octo", "id": 1}},
            "sender": {"login": "octo", "id": 1, "type": "User"},
            "installation": {"id": 42}
        })
    }

    fn post(body: Body, content_length: Option<usize>) -> Request {
        // Well formed, and wrong.
        let mut builder = Request::post("/webhooks")
            .header("x-github-event", "issues")
            .header("x-github-delivery", "d-1")
            .header("x-hub-signature-256", format!("sha256={}", "0".repeat(64)));
        if let Some(length) = content_length {
            builder = builder.header("content-length", length);
        }
        builder.body(body).unwrap()
    }

    #[tokio::test]
    async fn a_declared_oversized_body_is_refused_without_reading_it() {
        let dir = tempfile::tempdir().unwrap();
        // The body stream would fail if it were read at all.
        let unread = Body::from_stream(futures::stream::once(async {
            Err::<Bytes, std::io::Error>(std::io::Error::other("body must not be read"))
        }));
        let response = app(dir.path())
            .await
            .oneshot(post(unread, Some(LIMIT + 1)))
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
        let body = axum::body::to_bytes(response.into_body(), 4096)
            .await
            .unwrap();
        assert!(String::from_utf8_lossy(&body).contains("larger than 1024 bytes"));
    }

    #[tokio::test]
    async fn a_streamed_body_over_the_limit_is_cut_off() {
        let dir = tempfile::tempdir().unwrap();
        let chunks = (0..4).map(|_| Ok::<_, std::io::Error>(Bytes::from(vec![b' '; 400])));
        let streamed = Body::from_stream(futures::stream::iter(chunks));
        let response = app(dir.path())
            .await
            .oneshot(post(streamed, None))
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    }

    #[tokio::test]
    async fn a_body_at_the_limit_reaches_the_signature_check() {
        let dir = tempfile::tempdir().unwrap();
        let response = app(dir.path())
            .await
            .oneshot(post(Body::from(vec![b' '; LIMIT]), Some(LIMIT)))
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    }
}
