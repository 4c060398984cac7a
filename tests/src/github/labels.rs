//! Labels on issues and pull requests: add (`POST .../issues/{n}/labels`,
//! creating unknown labels as GitHub does) and remove one
//! (`DELETE .../issues/{n}/labels/{name}`, 404 when it is not there).

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::{delete, post};
use serde_json::{Value, json};

use super::auth::{Level, repo_access};
use super::error::{ApiError, json_object, json_response, path_number};
use super::state::{Ctx, GithubState, RepoKey};

const ADD_DOCS: &str = "https://docs.github.com/rest/issues/labels#add-labels-to-an-issue";
const REMOVE_DOCS: &str = "https://docs.github.com/rest/issues/labels#remove-a-label-from-an-issue";

const ISSUES_WRITE: (&str, Level) = ("issues", Level::Write);

pub(crate) fn routes() -> Router<Arc<Ctx>> {
    Router::new()
        .route(
            "/repos/{owner}/{repo}/issues/{issue_number}/labels",
            post(add_labels),
        )
        .route(
            "/repos/{owner}/{repo}/issues/{issue_number}/labels/{name}",
            delete(remove_label),
        )
}

fn label_list(st: &GithubState, key: &RepoKey, number: u64) -> Value {
    let labels: Vec<Value> = st.repos[key]
        .labels
        .get(&number)
        .into_iter()
        .flatten()
        .map(|name| json!({"name": name, "color": "ededed", "default": false}))
        .collect();
    Value::Array(labels)
}

/// The issue or pull request `number`, if it exists.
fn target(st: &GithubState, key: &RepoKey, number: &str, docs: &str) -> Result<u64, ApiError> {
    let number = path_number(number, docs)?;
    let repo = &st.repos[key];
    if repo.issues.contains_key(&number) || repo.pulls.contains_key(&number) {
        Ok(number)
    } else {
        Err(ApiError::not_found(docs))
    }
}

async fn add_labels(
    State(ctx): State<Arc<Ctx>>,
    Path((owner, repo, number)): Path<(String, String, String)>,
    headers: HeaderMap,
    request: Bytes,
) -> Result<Response, ApiError> {
    let mut st = ctx.lock();
    let key = repo_access(&st, &headers, &owner, &repo, ISSUES_WRITE, ADD_DOCS)?;
    let number = target(&st, &key, &number, ADD_DOCS)?;
    let request = json_object(&request, ADD_DOCS)?;
    let names: Vec<String> = request
        .get("labels")
        .and_then(Value::as_array)
        .ok_or_else(|| ApiError::invalid_request("\"labels\" wasn't supplied.", ADD_DOCS))?
        .iter()
        .map(|v| v.as_str().map(str::to_string))
        .collect::<Option<_>>()
        .ok_or_else(|| ApiError::invalid_request("labels must be strings", ADD_DOCS))?;
    if let Some(repo) = st.repos.get_mut(&key) {
        repo.labels.entry(number).or_default().extend(names);
    }
    Ok(json_response(
        StatusCode::OK,
        &label_list(&st, &key, number),
    ))
}

async fn remove_label(
    State(ctx): State<Arc<Ctx>>,
    Path((owner, repo, number, name)): Path<(String, String, String, String)>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let mut st = ctx.lock();
    let key = repo_access(&st, &headers, &owner, &repo, ISSUES_WRITE, REMOVE_DOCS)?;
    let number = target(&st, &key, &number, REMOVE_DOCS)?;
    let removed = st
        .repos
        .get_mut(&key)
        .and_then(|r| r.labels.get_mut(&number))
        .is_some_and(|labels| labels.remove(&name));
    if !removed {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "Label does not exist",
            REMOVE_DOCS,
        ));
    }
    Ok(json_response(
        StatusCode::OK,
        &label_list(&st, &key, number),
    ))
}
