//! The HTTP front door: `POST /webhooks` (verify the signature over the raw
//! body before parsing, dedupe by delivery id, turn the event into an intent,
//! commit the job, answer 202), plus `/healthz`, `/readyz` and `/metrics`.
//! It never does the work itself: answers come in milliseconds.

pub mod command;
pub mod events;
pub mod fuzzing;
pub mod signature;

use std::sync::Arc;
use std::time::Instant;

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use secrecy::{ExposeSecret, SecretString};
use serde_json::json;
use tokio::sync::Notify;

use crate::config::TriggerSettings;
use crate::ids::DeliveryId;
use crate::metrics::Metrics;
use crate::queue::{Accepted, Delivery, JobStore, now_ms};
use events::Parsed;

/// What the handlers share.
#[derive(Clone)]
pub struct Ingress {
    pub store: Arc<dyn JobStore>,
    pub metrics: Arc<Metrics>,
    pub wake: Arc<Notify>,
    pub webhook_secret: Option<SecretString>,
    pub trigger: TriggerSettings,
    /// `Err(what is missing)` when the GitHub App cannot authenticate.
    pub github_ready: Result<(), String>,
}

/// The bot's HTTP routes.
pub fn router(state: Ingress, max_body_bytes: usize) -> Router {
    Router::new()
        .route(
            "/webhooks",
            post(webhook)
                .layer(DefaultBodyLimit::max(max_body_bytes))
                .layer(middleware::from_fn(move |request, next| {
                    refuse_declared_oversize(max_body_bytes, request, next)
                })),
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

/// A body whose `Content-Length` already exceeds the limit is refused before
/// a byte of it is read; bodies without one are cut off by `DefaultBodyLimit`.
async fn refuse_declared_oversize(limit: usize, request: Request, next: Next) -> Response {
    let declared = request
        .headers()
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    match declared {
        Some(length) if length > limit as u64 => too_large(limit),
        _ => {
            let response = next.run(request).await;
            if response.status() == StatusCode::PAYLOAD_TOO_LARGE {
                too_large(limit)
            } else {
                response
            }
        }
    }
}

fn too_large(limit: usize) -> Response {
    answer(
        StatusCode::PAYLOAD_TOO_LARGE,
        json!({"error": format!("webhook body is larger than {limit} bytes; GitHub caps payloads at 25 MiB, so this did not come from GitHub")}),
    )
}

fn answer(status: StatusCode, body: serde_json::Value) -> Response {
    (status, Json(body)).into_response()
}

async fn webhook(State(state): State<Ingress>, headers: HeaderMap, body: Bytes) -> Response {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let event = header("x-github-event").unwrap_or("").to_string();
    let Some(secret) = &state.webhook_secret else {
        tracing::error!("webhook refused: github.webhook_secret is not set");
        state.metrics.webhook(&event, "no_secret");
        return answer(
            StatusCode::SERVICE_UNAVAILABLE,
            json!({"error": "webhook secret is not set: put it in gitkeeper.toml [github] webhook_secret or GITKEEPER_GITHUB__WEBHOOK_SECRET"}),
        );
    };
    if !signature::verify(
        secret.expose_secret().as_bytes(),
        &body,
        header("x-hub-signature-256"),
    ) {
        tracing::warn!(event = %event, "webhook refused: signature missing or wrong");
        state.metrics.webhook(&event, "bad_signature");
        return answer(
            StatusCode::UNAUTHORIZED,
            json!({"error": "X-Hub-Signature-256 is missing or does not match: the App's webhook secret and [github] webhook_secret must be the same"}),
        );
    }
    if event.is_empty() {
        state.metrics.webhook("", "malformed");
        return answer(
            StatusCode::BAD_REQUEST,
            json!({"error": "X-GitHub-Event header is missing"}),
        );
    }
    let Some(delivery_id) = header("x-github-delivery").filter(|d| !d.is_empty() && d.len() <= 100)
    else {
        state.metrics.webhook(&event, "malformed");
        return answer(
            StatusCode::BAD_REQUEST,
            json!({"error": "X-GitHub-Delivery header is missing"}),
        );
    };
    let delivery_id = DeliveryId(delivery_id.to_string());
    let parsed = match events::parse(&event, &body, &state.trigger) {
        Ok(parsed) => parsed,
        Err(e) => {
            tracing::warn!(delivery = %delivery_id, error = %e, "webhook refused");
            state.metrics.webhook(&event, "malformed");
            return answer(StatusCode::BAD_REQUEST, json!({"error": e.to_string()}));
        }
    };
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
            let result = state
                .store
                .accept(&delivery("queued"), Some(&intent), now)
                .await
                .map(|accepted| match accepted {
                    Accepted::Duplicate => ("duplicate", None),
                    Accepted::Stored(job) => ("queued", job),
                });
            if let Ok((_, Some(job))) = &result {
                tracing::info!(delivery = %delivery_id, job_id = %job, intent = intent.kind(), repo = %intent.repo().full_name(), number = %intent.number(), "job queued");
                state.wake.notify_one();
            }
            store_answer(&state, &event, &delivery_id, result)
        }
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
) -> Result<&'static str, crate::queue::StoreError> {
    match record {
        Record::Installation(change) => state.store.record_installation(&change, now).await?,
        Record::Outcome(outcome) => state.store.record_pull_outcome(&outcome, now).await?,
    }
    Ok(match state.store.accept(delivery, None, now).await? {
        Accepted::Duplicate => "duplicate",
        Accepted::Stored(_) => "recorded",
    })
}

fn store_answer(
    state: &Ingress,
    event: &str,
    delivery: &DeliveryId,
    result: Result<(&str, Option<crate::ids::JobId>), crate::queue::StoreError>,
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
            tracing::error!(delivery = %delivery, error = %e, "cannot store webhook");
            state.metrics.webhook(event, "store_error");
            answer(
                StatusCode::SERVICE_UNAVAILABLE,
                json!({"error": "the job store is unavailable; GitHub can redeliver this webhook once it is back"}),
            )
        }
    }
}

async fn healthz() -> Response {
    answer(StatusCode::OK, json!({"status": "ok"}))
}

async fn readyz(State(state): State<Ingress>) -> Response {
    let database = match state.store.ping().await {
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
    let counts = state.store.count_by_state().await.unwrap_or_default();
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

    async fn app(dir: &std::path::Path) -> Router {
        let url = format!("sqlite://{}", dir.join("jobs.db").display());
        let state = Ingress {
            store: crate::queue::open(&url, None).await.unwrap(),
            metrics: Arc::new(Metrics::default()),
            wake: Arc::new(Notify::new()),
            webhook_secret: Some(SecretString::from("s3cret")),
            trigger: TriggerSettings::default(),
            github_ready: Ok(()),
        };
        router(state, LIMIT)
    }

    fn post(body: Body, content_length: Option<usize>) -> Request {
        let mut builder = Request::post("/webhooks")
            .header("x-github-event", "issues")
            .header("x-github-delivery", "d-1");
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
