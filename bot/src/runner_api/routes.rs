//! `/api/runner/v1/*` on the bot's server: register, long-poll claim, result,
//! error, heartbeat (runner token) and the runner listing (admin token).
//! Handlers only read and write the job store: the generation itself happens
//! on the runner, and the waiting pipeline reads the outcome from the store.

use std::sync::Arc;

use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use gitkeeper_runner_protocol::{
    ApiError, ClaimRequest, ClaimResponse, ErrorReport, HeartbeatRequest, HeartbeatResponse,
    PROTOCOL_VERSION, RegisterRequest, RegisterResponse, RequestId, ResultReport, RunnerList,
    paths,
};
use secrecy::{ExposeSecret, SecretString};
use serde_json::json;
use tokio_util::sync::CancellationToken;

use super::auth;
use crate::config::RunnerSettings;
use crate::queue::{JobStore, StoreError, now_ms};

/// Generation requests carry whole prompts (context packages): allow 32 MiB.
const MAX_BODY: usize = 32 * 1024 * 1024;

/// What the runner handlers share.
#[derive(Clone)]
pub struct RunnerApi {
    pub store: Arc<dyn JobStore>,
    pub settings: RunnerSettings,
    /// Open claims answer 204 at once when the bot shuts down.
    pub shutdown: CancellationToken,
}

/// The runner routes, to merge into the bot's router.
pub fn router(state: RunnerApi) -> Router {
    Router::new()
        .route(paths::REGISTER, post(register))
        .route(paths::CLAIM, post(claim))
        .route(paths::HEARTBEAT, post(heartbeat))
        .route("/api/runner/v1/requests/{id}/result", post(result))
        .route("/api/runner/v1/requests/{id}/error", post(error))
        .route(paths::RUNNERS, get(runners))
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .with_state(state)
}

/// A refusal with a JSON body saying what happened and the fix.
fn refuse(status: StatusCode, message: impl Into<String>) -> Response {
    (
        status,
        Json(ApiError {
            error: message.into(),
        }),
    )
        .into_response()
}

fn unauthorized(message: &str) -> Response {
    let mut response = refuse(StatusCode::UNAUTHORIZED, message);
    response
        .headers_mut()
        .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    response
}

fn store_failed(e: StoreError) -> Response {
    tracing::error!(error = %e, "runner API: job store failed");
    refuse(
        StatusCode::SERVICE_UNAVAILABLE,
        format!("the bot's job store failed: {e}; the runner will retry"),
    )
}

/// The runner the bearer token belongs to, or the 401/503 to answer.
async fn runner_name(state: &RunnerApi, headers: &HeaderMap) -> Result<String, Response> {
    let Some(token) = auth::bearer(headers) else {
        return Err(unauthorized(
            "missing runner token: send Authorization: Bearer <token>, with a token from `gitkeeper-bot runner-token create <name>` (GITKEEPER_RUNNER__TOKEN on the runner)",
        ));
    };
    match state
        .store
        .runner_for_token(&auth::token_hash(token.expose_secret()))
        .await
    {
        Ok(Some(name)) => Ok(name),
        Ok(None) => {
            tracing::warn!("runner API: refused an unknown or revoked runner token");
            Err(unauthorized(
                "runner token not accepted: it is unknown or was revoked; create a new one with `gitkeeper-bot runner-token create <name>` and set GITKEEPER_RUNNER__TOKEN on the runner",
            ))
        }
        Err(e) => Err(store_failed(e)),
    }
}

async fn register(
    State(state): State<RunnerApi>,
    headers: HeaderMap,
    Json(registration): Json<RegisterRequest>,
) -> Response {
    let name = match runner_name(&state, &headers).await {
        Ok(name) => name,
        Err(response) => return response,
    };
    if registration.protocol != PROTOCOL_VERSION {
        return refuse(
            StatusCode::BAD_REQUEST,
            format!(
                "runner protocol v{} is not spoken here (the bot speaks v{PROTOCOL_VERSION}): install the gitkeeper-runner that matches this bot's version",
                registration.protocol
            ),
        );
    }
    match state
        .store
        .register_runner(&name, &registration, now_ms())
        .await
    {
        Ok(requeued) => {
            tracing::info!(
                runner = %name,
                version = %registration.version,
                hardware = %registration.hardware,
                models = ?registration.models(),
                requeued,
                "runner registered"
            );
            Json(RegisterResponse {
                protocol: PROTOCOL_VERSION,
                runner: name,
                heartbeat_secs: secs(state.settings.heartbeat_secs),
                offline_after_secs: secs(state.settings.offline_after_secs),
                claim_wait_secs: secs(state.settings.claim_wait_secs),
            })
            .into_response()
        }
        Err(e) => store_failed(e),
    }
}

fn secs(value: u64) -> u32 {
    u32::try_from(value).unwrap_or(u32::MAX)
}

async fn claim(
    State(state): State<RunnerApi>,
    headers: HeaderMap,
    Json(claim): Json<ClaimRequest>,
) -> Response {
    let name = match runner_name(&state, &headers).await {
        Ok(name) => name,
        Err(response) => return response,
    };
    let wait = match claim.wait_secs {
        Some(secs) => state
            .settings
            .claim_wait()
            .min(std::time::Duration::from_secs(u64::from(secs))),
        None => state.settings.claim_wait(),
    };
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        // Listen before looking, so a request queued meanwhile is not missed.
        let enqueued = super::WAKEUPS.enqueued.notified();
        tokio::pin!(enqueued);
        enqueued.as_mut().enable();
        let now = now_ms();
        if let Err(e) = state.store.runner_seen(&name, false, now).await {
            return store_failed(e);
        }
        if !claim.models.is_empty() {
            match state
                .store
                .claim_generation(&name, &claim.models, now)
                .await
            {
                Ok(Some(request)) => {
                    let cancel = match state.store.released_from(&name, &claim.active).await {
                        Ok(cancel) => cancel,
                        Err(e) => return store_failed(e),
                    };
                    tracing::info!(runner = %name, id = %request.id, model = %request.spec.model, tier = %request.spec.tier, "generation request claimed");
                    return Json(ClaimResponse { request, cancel }).into_response();
                }
                Ok(None) => {}
                Err(e) => return store_failed(e),
            }
        }
        if tokio::time::Instant::now() >= deadline {
            return StatusCode::NO_CONTENT.into_response();
        }
        let nap = state
            .settings
            .poll_interval()
            .min(deadline.saturating_duration_since(tokio::time::Instant::now()));
        tokio::select! {
            _ = tokio::time::sleep(nap) => {}
            _ = &mut enqueued => {}
            _ = state.shutdown.cancelled() => return StatusCode::NO_CONTENT.into_response(),
        }
    }
}

async fn heartbeat(
    State(state): State<RunnerApi>,
    headers: HeaderMap,
    Json(beat): Json<HeartbeatRequest>,
) -> Response {
    let name = match runner_name(&state, &headers).await {
        Ok(name) => name,
        Err(response) => return response,
    };
    if beat.probe {
        return Json(HeartbeatResponse::default()).into_response();
    }
    let now = now_ms();
    if let Err(e) = state.store.runner_seen(&name, beat.draining, now).await {
        return store_failed(e);
    }
    // A claim whose answer never reached the runner: give it to someone else.
    let lost_before = now.saturating_sub(
        i64::try_from(state.settings.offline_after().as_millis()).unwrap_or(i64::MAX),
    );
    match state
        .store
        .requeue_unheld(&name, &beat.active, lost_before, now)
        .await
    {
        Ok(0) => {}
        Ok(n) => {
            tracing::warn!(runner = %name, requeued = n, "runner never received claimed requests: queued again")
        }
        Err(e) => return store_failed(e),
    }
    match state.store.released_from(&name, &beat.active).await {
        Ok(cancel) => Json(HeartbeatResponse { cancel }).into_response(),
        Err(e) => store_failed(e),
    }
}

/// What `result`/`error` answer when the runner no longer holds the request.
fn not_yours(id: RequestId) -> Response {
    refuse(
        StatusCode::CONFLICT,
        format!(
            "request {id} is no longer this runner's: it was cancelled, or requeued and given to another runner after this one missed heartbeats; drop it"
        ),
    )
}

/// What a runner reports about a request it held.
enum Outcome {
    Answer(ResultReport),
    Failure(ErrorReport),
}

async fn finish(state: RunnerApi, id: i64, headers: HeaderMap, outcome: Outcome) -> Response {
    let name = match runner_name(&state, &headers).await {
        Ok(name) => name,
        Err(response) => return response,
    };
    let id = RequestId(id);
    let stored = match &outcome {
        Outcome::Answer(report) => {
            state
                .store
                .complete_generation(id, &name, report, now_ms())
                .await
        }
        Outcome::Failure(report) => {
            state
                .store
                .fail_generation(id, &name, report, now_ms())
                .await
        }
    };
    match stored {
        Ok(true) => {
            super::WAKEUPS.finished.notify_waiters();
            match outcome {
                Outcome::Answer(r) => {
                    tracing::info!(runner = %name, %id, tokens = r.usage.total(), ms = r.timings.total_ms, "generation request answered")
                }
                Outcome::Failure(r) => {
                    tracing::warn!(runner = %name, %id, kind = ?r.kind, requeue = r.requeue, error = %r.message, "runner reported a failed generation")
                }
            }
            Json(json!({})).into_response()
        }
        Ok(false) => not_yours(id),
        Err(e) => store_failed(e),
    }
}

async fn result(
    State(state): State<RunnerApi>,
    Path(id): Path<i64>,
    headers: HeaderMap,
    Json(report): Json<ResultReport>,
) -> Response {
    finish(state, id, headers, Outcome::Answer(report)).await
}

async fn error(
    State(state): State<RunnerApi>,
    Path(id): Path<i64>,
    headers: HeaderMap,
    Json(report): Json<ErrorReport>,
) -> Response {
    finish(state, id, headers, Outcome::Failure(report)).await
}

async fn runners(State(state): State<RunnerApi>, headers: HeaderMap) -> Response {
    let Some(admin) = state.settings.admin_token.as_ref() else {
        return refuse(
            StatusCode::SERVICE_UNAVAILABLE,
            "the runner listing is off: set [runner] admin_token (GITKEEPER_RUNNER__ADMIN_TOKEN) on the bot, or run `gitkeeper-bot runners` where the bot runs",
        );
    };
    let given: Option<SecretString> = auth::bearer(&headers);
    if !given.is_some_and(|g| auth::is_admin(&g, admin)) {
        return unauthorized(
            "admin token not accepted: send Authorization: Bearer <[runner] admin_token>",
        );
    }
    match state
        .store
        .runner_list(state.settings.offline_after(), now_ms())
        .await
    {
        Ok(runners) => Json(RunnerList { runners }).into_response(),
        Err(e) => store_failed(e),
    }
}
