//! What wraps every request: record it in the log, apply a scheduled failure
//! or hold, route API paths to the REST handlers and `*.git` paths to the git
//! backend, and stamp GitHub's `x-github-request-id` and rate-limit headers on the answer.

use std::sync::Arc;

use axum::body::{Body, Bytes, to_bytes};
use axum::extract::{Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse as _, Response};
use rand::Rng as _;

use super::error::{ApiError, REST_DOCS};
use super::failures::{self, Failure};
use super::git_http;
use super::holds;
use super::log::RecordedRequest;
use super::rate_limit::{RateKey, count_and_annotate};
use super::state::Ctx;

/// Bodies above this are refused (GitHub's own API limit is far lower; pushes need room).
const MAX_REQUEST_BYTES: usize = 256 * 1024 * 1024;

/// A request id in the shape GitHub uses (`XXXX:XXXX:XXXXXX:XXXXXX:XXXXXXXX`).
fn request_id() -> String {
    let mut rng = rand::rng();
    format!(
        "{:04X}:{:04X}:{:06X}:{:06X}:{:08X}",
        rng.random::<u16>(),
        rng.random::<u16>(),
        rng.random_range(0..0x0100_0000u32),
        rng.random_range(0..0x0100_0000u32),
        rng.random::<u32>()
    )
}

pub(crate) async fn observe(State(ctx): State<Arc<Ctx>>, request: Request, next: Next) -> Response {
    let (parts, body) = request.into_parts();
    let Ok(body) = to_bytes(body, MAX_REQUEST_BYTES).await else {
        return ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "Request body too large",
            REST_DOCS,
        )
        .into_response();
    };
    let request_id = request_id();
    let is_git = git_http::parse_path(parts.uri.path()).is_some();

    let (index, failure, hold, rate_key, who) = {
        let mut st = ctx.lock();
        let index = st.requests.len();
        st.requests.push(RecordedRequest::new(&parts, &body));
        let failure = failures::take(&mut st.failures, parts.method.as_str(), parts.uri.path());
        let hold = holds::take(&mut st.holds, parts.method.as_str(), parts.uri.path());
        let rate_key = RateKey::of(&st, &parts.headers);
        let who = rate_key.describe(st.app.id);
        (index, failure, hold, rate_key, who)
    };

    let injected = failure
        .as_ref()
        .and_then(|f| failures::response(f, &request_id, &who));
    let injected_failure = failure.is_some();
    let mut response = match injected {
        Some(response) => response,
        None => {
            if let Some(Failure::Delay(delay)) = failure {
                tokio::time::sleep(delay).await;
            }
            match hold {
                // Served in a task of its own: a caller that hangs up while
                // held does not stop the request from taking effect.
                Some(gate) => {
                    let ctx = ctx.clone();
                    let served = tokio::spawn(async move {
                        gate.hold().await;
                        let response = serve(&ctx, parts, body, next).await;
                        // Logged here too: the caller may be gone, and the
                        // rest of this function with it.
                        if let Some(entry) = ctx.lock().requests.get_mut(index) {
                            entry.status = Some(response.status().as_u16());
                        }
                        response
                    });
                    served.await.unwrap_or_else(|e| {
                        ApiError::new(
                            StatusCode::INTERNAL_SERVER_ERROR,
                            format!("the held request failed: {e}"),
                            REST_DOCS,
                        )
                        .into_response()
                    })
                }
                None => serve(&ctx, parts, body, next).await,
            }
        }
    };

    if let Ok(value) = HeaderValue::from_str(&request_id) {
        response.headers_mut().insert("x-github-request-id", value);
    }
    let mut st = ctx.lock();
    if !is_git {
        let headers = response.headers_mut();
        headers.insert(
            "x-github-api-version-selected",
            HeaderValue::from_static("2022-11-28"),
        );
        headers.insert(
            "x-github-media-type",
            HeaderValue::from_static("github.v3; format=json"),
        );
        count_and_annotate(&mut st, rate_key, headers);
    }
    if let Some(entry) = st.requests.get_mut(index) {
        entry.status = Some(response.status().as_u16());
        entry.injected_failure = injected_failure;
    }
    response
}

/// The answer of the git backend or the REST handlers.
async fn serve(ctx: &Ctx, parts: Parts, body: Bytes, next: Next) -> Response {
    match git_http::parse_path(parts.uri.path()) {
        Some(git_path) => {
            git_http::serve(
                ctx,
                &parts.method,
                git_path,
                parts.uri.query(),
                &parts.headers,
                body,
            )
            .await
        }
        None => next.run(Request::from_parts(parts, Body::from(body))).await,
    }
}

/// Unknown routes and wrong methods: GitHub answers both with its 404 body.
pub(crate) async fn not_found() -> Response {
    ApiError::not_found(REST_DOCS).into_response()
}
