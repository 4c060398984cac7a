//! `GET /dashboard`: the `stats` figures as a web page with charts, the
//! recent jobs linking to their issues and pull requests, and the runners
//! online with their models and load. Off (404) until `[dashboard]
//! admin_token` is set; then the token is asked for as `Authorization:
//! Bearer` or `?token=` (compared in constant time).
//!
//! Must never: answer without the token, let the page be cached or leak the
//! token to the sites it links to (`Cache-Control: no-store`,
//! `Referrer-Policy: no-referrer`), or run a script (the page has none and
//! its Content-Security-Policy allows none).

pub mod page;

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use secrecy::SecretString;
use serde::Deserialize;

use crate::config::Settings;
use crate::queue::{JobStore, now_ms};
use crate::runner_api::auth::{bearer, is_admin};
use crate::stats::{self, Stats};
use crate::trail::TaskHistory;
use page::{JobLine, View};

/// Recent jobs the page lists.
const RECENT_JOBS: u32 = 25;

/// What the dashboard reads.
#[derive(Clone)]
pub struct Dashboard {
    pub store: Arc<dyn JobStore>,
    pub settings: Arc<Settings>,
}

/// `GET /dashboard`.
pub fn router(state: Dashboard) -> Router {
    Router::new()
        .route("/dashboard", get(show))
        .with_state(state)
}

#[derive(Deserialize)]
struct Params {
    token: Option<String>,
    since: Option<String>,
    repo: Option<String>,
}

fn plain(status: StatusCode, text: &str) -> Response {
    let body = format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Gitkeeper dashboard</title></head><body><p id=\"refused\">{}</p></body></html>\n",
        page::escape(text)
    );
    secured((status, Html(body)).into_response())
}

fn secured(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; style-src 'unsafe-inline'"),
    );
    response
}

async fn show(
    State(d): State<Dashboard>,
    headers: HeaderMap,
    Query(params): Query<Params>,
) -> Response {
    let Some(admin) = d.settings.dashboard.admin_token.as_ref() else {
        return plain(
            StatusCode::NOT_FOUND,
            "The dashboard is off: set [dashboard] admin_token (GITKEEPER_DASHBOARD__ADMIN_TOKEN) on the bot.",
        );
    };
    let given = bearer(&headers).or_else(|| params.token.clone().map(SecretString::from));
    if !given.is_some_and(|g| is_admin(&g, admin)) {
        return plain(
            StatusCode::UNAUTHORIZED,
            "Token not accepted: open /dashboard?token=<[dashboard] admin_token>, or send Authorization: Bearer <token>.",
        );
    }
    let since = match stats::parse_since(params.since.as_deref()) {
        Ok(since) => since,
        Err(e) => return plain(StatusCode::BAD_REQUEST, &e.to_string()),
    };
    match view(&d, since, params.repo.as_deref()).await {
        Ok(view) => secured(Html(page::render(&view)).into_response()),
        Err(e) => {
            tracing::warn!(error = %e, "the dashboard cannot read the job store");
            plain(
                StatusCode::SERVICE_UNAVAILABLE,
                &format!("The job store cannot be read: {e}"),
            )
        }
    }
}

async fn view(
    d: &Dashboard,
    since: Option<std::time::Duration>,
    repo: Option<&str>,
) -> Result<View, crate::queue::StoreError> {
    let now = now_ms();
    let histories = d.store.history(stats::since_ms(since, now), repo).await?;
    let reference = &d.settings.stats.reference_model;
    let prices = d.settings.models.get(reference);
    let stats = Stats::of(
        &histories,
        stats::figures::Reference {
            model: reference.clone(),
            price_in: prices.map_or(0.0, |m| m.price_in),
            price_out: prices.map_or(0.0, |m| m.price_out),
        },
    );
    let base = d.settings.git_base();
    let pulls: HashMap<i64, (String, u64)> = histories
        .iter()
        .filter_map(|h| {
            h.pull_number
                .map(|n| (h.job_id, (h.record.repo.clone(), n)))
        })
        .collect();
    let jobs = d
        .store
        .jobs(None, RECENT_JOBS)
        .await?
        .into_iter()
        .filter(|j| repo.is_none_or(|r| j.intent.repo().full_name() == r))
        .map(|j| {
            let full = j.intent.repo().full_name();
            let number = j.intent.number();
            JobLine {
                id: j.id.0,
                state: j.state.to_string(),
                kind: j.kind.clone(),
                target: format!("{full}#{number}"),
                target_url: format!("{base}{full}/issues/{number}"),
                pull_url: pulls
                    .get(&j.id.0)
                    .map(|(repo, n)| format!("{base}{repo}/pull/{n}")),
                last_error: j.last_error.clone(),
            }
        })
        .collect();
    let runners = d
        .store
        .runner_list(d.settings.runner.offline_after(), now)
        .await?;
    let window = match (&since, repo) {
        (None, None) => "all repositories, all time".to_string(),
        (s, r) => format!(
            "{}, {}",
            r.unwrap_or("all repositories"),
            s.map_or("all time".to_string(), |d| format!("last {}s", d.as_secs()))
        ),
    };
    Ok(View {
        window,
        stats,
        daily_cost: daily_cost(&histories),
        waits: histories
            .iter()
            .filter_map(|h| Some((h.published_at? - h.queued_at?).max(0) as f64 / 1000.0))
            .collect(),
        jobs,
        runners,
    })
}

/// USD spent per UTC day (`MM-DD`), oldest first, days without calls left out.
fn daily_cost(histories: &[TaskHistory]) -> Vec<(String, f64)> {
    let mut days: BTreeMap<String, f64> = BTreeMap::new();
    for a in histories.iter().flat_map(|h| &h.attempts) {
        let Some(day) = chrono::DateTime::from_timestamp_millis(a.created_at) else {
            continue;
        };
        *days.entry(day.format("%Y-%m-%d").to_string()).or_default() += a.cost_usd;
    }
    days.into_iter()
        .map(|(day, usd)| (day.get(5..).unwrap_or(&day).to_string(), usd))
        .collect()
}

#[cfg(test)]
mod tests {
    use axum::body::Body;
    use axum::http::Request;
    use http_body_util::BodyExt;
    use tower::ServiceExt;

    use super::*;

    async fn app(token: Option<&str>) -> (Router, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("jobs.db").display());
        let store = crate::queue::open(&url, None).await.unwrap();
        let mut settings = Settings::default();
        settings.dashboard.admin_token = token.map(|t| SecretString::from(t.to_string()));
        (
            router(Dashboard {
                store,
                settings: Arc::new(settings),
            }),
            dir,
        )
    }

    async fn get(app: &Router, uri: &str, bearer: Option<&str>) -> (StatusCode, HeaderMap, String) {
        let mut request = Request::get(uri);
        if let Some(token) = bearer {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        let response = app
            .clone()
            .oneshot(request.body(Body::empty()).unwrap())
            .await
            .unwrap();
        let (parts, body) = response.into_parts();
        let body = body.collect().await.unwrap().to_bytes();
        (
            parts.status,
            parts.headers,
            String::from_utf8_lossy(&body).into_owned(),
        )
    }

    #[tokio::test]
    async fn the_dashboard_is_off_without_a_token_and_refuses_a_wrong_one() {
        let (off, _dir) = app(None).await;
        let (status, _, body) = get(&off, "/dashboard?token=anything", None).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert!(body.contains("[dashboard] admin_token"), "{body}");

        let (on, _dir) = app(Some("s3cret")).await;
        for (uri, bearer) in [
            ("/dashboard", None),
            ("/dashboard?token=wrong", None),
            ("/dashboard", Some("wrong")),
        ] {
            let (status, _, body) = get(&on, uri, bearer).await;
            assert_eq!(status, StatusCode::UNAUTHORIZED, "{uri} {bearer:?}");
            assert!(body.contains("Token not accepted"), "{body}");
            assert!(!body.contains("tasks"), "{body}");
        }
        for (uri, bearer) in [
            ("/dashboard?token=s3cret", None),
            ("/dashboard", Some("s3cret")),
        ] {
            let (status, headers, body) = get(&on, uri, bearer).await;
            assert_eq!(status, StatusCode::OK, "{body}");
            assert!(body.contains("<b id=\"tasks\">0 tasks</b>"), "{body}");
            assert!(!body.contains("<script"), "{body}");
            assert_eq!(headers[header::CACHE_CONTROL], "no-store");
            assert_eq!(headers[header::REFERRER_POLICY], "no-referrer");
        }
        let (status, _, body) = get(&on, "/dashboard?token=s3cret&since=7%20days", None).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    }
}
