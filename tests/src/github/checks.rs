//! Check runs: create on a commit and update (`checks: write`). As on
//! GitHub, a completed run needs a conclusion, and output texts are capped.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::{patch, post};
use chrono::Utc;
use serde_json::{Map, Value, json};

use super::auth::{Level, repo_access};
use super::error::{ApiError, json_object, json_response, path_number, required_string};
use super::shapes;
use super::state::{CheckRun, Ctx};

const CREATE_DOCS: &str = "https://docs.github.com/rest/checks/runs#create-a-check-run";
const UPDATE_DOCS: &str = "https://docs.github.com/rest/checks/runs#update-a-check-run";

const CHECKS_WRITE: (&str, Level) = ("checks", Level::Write);

/// GitHub's limit on `output.summary` and `output.text`.
pub(crate) const MAX_OUTPUT_CHARS: usize = 65_535;

const CONCLUSIONS: &[&str] = &[
    "action_required",
    "cancelled",
    "failure",
    "neutral",
    "success",
    "skipped",
    "stale",
    "timed_out",
];

pub(crate) fn routes() -> Router<Arc<Ctx>> {
    Router::new()
        .route("/repos/{owner}/{repo}/check-runs", post(create_run))
        .route(
            "/repos/{owner}/{repo}/check-runs/{check_run_id}",
            patch(update_run).post(update_run),
        )
}

fn invalid(message: &str, docs: &str) -> ApiError {
    ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, message, docs)
}

/// Apply status, conclusion and output from `request` to `run`, checking them.
fn apply(run: &mut CheckRun, request: &Map<String, Value>, docs: &str) -> Result<(), ApiError> {
    if let Some(status) = request.get("status").and_then(Value::as_str) {
        if !matches!(status, "queued" | "in_progress" | "completed") {
            return Err(invalid(&format!("Invalid status: {status}"), docs));
        }
        run.status = status.to_string();
    }
    if let Some(conclusion) = request.get("conclusion").and_then(Value::as_str) {
        if !CONCLUSIONS.contains(&conclusion) {
            return Err(invalid(&format!("Invalid conclusion: {conclusion}"), docs));
        }
        run.conclusion = Some(conclusion.to_string());
        run.status = "completed".into();
    }
    if run.status == "completed" && run.conclusion.is_none() {
        return Err(invalid(
            "Conclusion is required when status is completed",
            docs,
        ));
    }
    if run.status == "completed" && run.completed_at.is_none() {
        run.completed_at = Some(Utc::now());
    }
    if let Some(output) = request.get("output").and_then(Value::as_object) {
        let text = |field: &str| {
            output
                .get(field)
                .and_then(Value::as_str)
                .map(str::to_string)
        };
        for field in ["summary", "text"] {
            if text(field).is_some_and(|t| t.chars().count() > MAX_OUTPUT_CHARS) {
                return Err(invalid(
                    &format!(
                        "output.{field} is too long (maximum is {MAX_OUTPUT_CHARS} characters)"
                    ),
                    docs,
                ));
            }
        }
        let (Some(title), Some(summary)) = (text("title"), text("summary")) else {
            return Err(invalid("output needs title and summary", docs));
        };
        run.title = Some(title);
        run.summary = Some(summary);
        run.text = text("text");
    }
    if let Some(url) = request.get("details_url").and_then(Value::as_str) {
        run.details_url = Some(url.to_string());
    }
    Ok(())
}

fn run_shape(origin: &str, owner: &str, repo: &str, run: &CheckRun) -> Value {
    json!({
        "id": run.id,
        "node_id": shapes::node_id("CR", run.id),
        "head_sha": run.head_sha,
        "name": run.name,
        "status": run.status,
        "conclusion": run.conclusion,
        "details_url": run.details_url,
        "url": format!("{origin}/repos/{owner}/{repo}/check-runs/{}", run.id),
        "html_url": format!("{origin}/{owner}/{repo}/runs/{}", run.id),
        "started_at": shapes::timestamp(run.started_at),
        "completed_at": run.completed_at.map(shapes::timestamp),
        "output": {
            "title": run.title,
            "summary": run.summary,
            "text": run.text,
            "annotations_count": 0,
        },
    })
}

async fn create_run(
    State(ctx): State<Arc<Ctx>>,
    Path((owner, repo)): Path<(String, String)>,
    headers: HeaderMap,
    request: Bytes,
) -> Result<Response, ApiError> {
    let mut st = ctx.lock();
    let key = repo_access(&st, &headers, &owner, &repo, CHECKS_WRITE, CREATE_DOCS)?;
    let request = json_object(&request, CREATE_DOCS)?;
    let name = required_string(&request, "name", CREATE_DOCS)?;
    let head_sha = required_string(&request, "head_sha", CREATE_DOCS)?;
    if head_sha.len() != 40 || !head_sha.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(invalid(
            &format!("No commit found for SHA: {head_sha}"),
            CREATE_DOCS,
        ));
    }
    let mut run = CheckRun {
        id: st.next_id(),
        repo: key,
        name,
        head_sha,
        status: "queued".into(),
        conclusion: None,
        title: None,
        summary: None,
        text: None,
        details_url: None,
        started_at: Utc::now(),
        completed_at: None,
    };
    apply(&mut run, &request, CREATE_DOCS)?;
    st.check_runs.insert(run.id, run.clone());
    Ok(json_response(
        StatusCode::CREATED,
        &run_shape(&ctx.origin, &owner, &repo, &run),
    ))
}

async fn update_run(
    State(ctx): State<Arc<Ctx>>,
    Path((owner, repo, id)): Path<(String, String, String)>,
    headers: HeaderMap,
    request: Bytes,
) -> Result<Response, ApiError> {
    let mut st = ctx.lock();
    let key = repo_access(&st, &headers, &owner, &repo, CHECKS_WRITE, UPDATE_DOCS)?;
    let id = path_number(&id, UPDATE_DOCS)?;
    let mut run = st
        .check_runs
        .get(&id)
        .filter(|r| r.repo == key)
        .cloned()
        .ok_or_else(|| ApiError::not_found(UPDATE_DOCS))?;
    let request = json_object(&request, UPDATE_DOCS)?;
    apply(&mut run, &request, UPDATE_DOCS)?;
    st.check_runs.insert(run.id, run.clone());
    Ok(json_response(
        StatusCode::OK,
        &run_shape(&ctx.origin, &owner, &repo, &run),
    ))
}
