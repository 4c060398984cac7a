//! Issues and issue comments: get an issue, create / list (paginated with a
//! `Link` header) / get / update comments. Comments are written as the App's
//! bot user, since only installation tokens reach these endpoints.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use axum::routing::get;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::Value;

use super::auth::{Level, repo_access};
use super::error::{ApiError, json_object, json_response, path_number, required_string};
use super::pages::{paginate, with_link};
use super::shapes;
use super::state::{Comment, Ctx};

const GET_ISSUE_DOCS: &str = "https://docs.github.com/rest/issues/issues#get-an-issue";
const CREATE_DOCS: &str = "https://docs.github.com/rest/issues/comments#create-an-issue-comment";
const LIST_DOCS: &str = "https://docs.github.com/rest/issues/comments#list-issue-comments";
const GET_DOCS: &str = "https://docs.github.com/rest/issues/comments#get-an-issue-comment";
const UPDATE_DOCS: &str = "https://docs.github.com/rest/issues/comments#update-an-issue-comment";

/// GitHub rejects comment bodies longer than this many characters.
pub(crate) const MAX_BODY_CHARS: usize = 65_536;

const ISSUES_READ: (&str, Level) = ("issues", Level::Read);
const ISSUES_WRITE: (&str, Level) = ("issues", Level::Write);

pub(crate) fn routes() -> Router<Arc<Ctx>> {
    Router::new()
        .route(
            "/repos/{owner}/{repo}/issues/{issue_number}",
            get(get_issue),
        )
        .route(
            "/repos/{owner}/{repo}/issues/{issue_number}/comments",
            get(list_comments).post(create_comment),
        )
        // GitHub accepts POST wherever it accepts PATCH (octocrab's update_comment relies on it).
        .route(
            "/repos/{owner}/{repo}/issues/comments/{comment_id}",
            get(get_comment).patch(update_comment).post(update_comment),
        )
}

async fn get_issue(
    State(ctx): State<Arc<Ctx>>,
    Path((owner, repo, number)): Path<(String, String, String)>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let mut st = ctx.lock();
    let key = repo_access(&st, &headers, &owner, &repo, ISSUES_READ, GET_ISSUE_DOCS)?;
    let number = path_number(&number, GET_ISSUE_DOCS)?;
    let issue = st.repos[&key]
        .issues
        .get(&number)
        .cloned()
        .ok_or_else(|| ApiError::not_found(GET_ISSUE_DOCS))?;
    let body = shapes::issue(&ctx.origin, &mut st, &key, &issue);
    Ok(json_response(StatusCode::OK, &body))
}

/// Check a comment body the way GitHub validates it.
fn comment_body(request: &[u8], docs: &str) -> Result<String, ApiError> {
    let request = json_object(request, docs)?;
    let body = required_string(&request, "body", docs)?;
    if body.trim().is_empty() {
        return Err(ApiError::validation_failed(
            "IssueComment",
            "body",
            "missing_field",
            "body cannot be blank",
            docs,
        ));
    }
    if body.chars().count() > MAX_BODY_CHARS {
        return Err(ApiError::validation_failed(
            "IssueComment",
            "body",
            "custom",
            &format!("Body is too long (maximum is {MAX_BODY_CHARS} characters)"),
            docs,
        ));
    }
    Ok(body)
}

async fn create_comment(
    State(ctx): State<Arc<Ctx>>,
    Path((owner, repo, number)): Path<(String, String, String)>,
    headers: HeaderMap,
    request: Bytes,
) -> Result<Response, ApiError> {
    let mut st = ctx.lock();
    let key = repo_access(&st, &headers, &owner, &repo, ISSUES_WRITE, CREATE_DOCS)?;
    let number = path_number(&number, CREATE_DOCS)?;
    if !st.repos[&key].issues.contains_key(&number) {
        return Err(ApiError::not_found(CREATE_DOCS));
    }
    let body = comment_body(&request, CREATE_DOCS)?;
    let now = Utc::now();
    let comment = Comment {
        id: st.next_id(),
        repo: key,
        issue_number: number,
        body,
        author: st.app.bot_login(),
        created_at: now,
        updated_at: now,
    };
    st.comments.insert(comment.id, comment.clone());
    let json = shapes::comment(&ctx.origin, &mut st, &comment);
    let mut response = json_response(StatusCode::CREATED, &json);
    if let Some(url) = json["url"]
        .as_str()
        .and_then(|u| HeaderValue::from_str(u).ok())
    {
        response.headers_mut().insert(header::LOCATION, url);
    }
    Ok(response)
}

#[derive(Deserialize)]
struct ListQuery {
    since: Option<String>,
}

async fn list_comments(
    State(ctx): State<Arc<Ctx>>,
    Path((owner, repo, number)): Path<(String, String, String)>,
    Query(query): Query<ListQuery>,
    RawQuery(raw_query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let mut st = ctx.lock();
    let key = repo_access(&st, &headers, &owner, &repo, ISSUES_READ, LIST_DOCS)?;
    let number = path_number(&number, LIST_DOCS)?;
    if !st.repos[&key].issues.contains_key(&number) {
        return Err(ApiError::not_found(LIST_DOCS));
    }
    let since = match query.since {
        None => None,
        Some(since) => Some(
            DateTime::parse_from_rfc3339(&since)
                .map_err(|_| {
                    ApiError::invalid_request(
                        &format!("For 'properties/since', \"{since}\" is not a date-time."),
                        LIST_DOCS,
                    )
                })?
                .with_timezone(&Utc),
        ),
    };

    let matching: Vec<Comment> = st
        .comments
        .values()
        .filter(|c| c.repo == key && c.issue_number == number)
        .filter(|c| since.is_none_or(|since| c.updated_at >= since))
        .cloned()
        .collect();
    let repo = &st.repos[&key];
    let url = format!(
        "{}/repos/{}/{}/issues/{number}/comments",
        ctx.origin, repo.owner, repo.name
    );
    let (page, link) = paginate(matching, &url, raw_query.as_deref());
    let items: Vec<Value> = page
        .iter()
        .map(|c| shapes::comment(&ctx.origin, &mut st, c))
        .collect();
    Ok(with_link(
        json_response(StatusCode::OK, &Value::Array(items)),
        link,
    ))
}

/// Find a comment by id on the repository `key`.
fn find_comment(
    st: &super::state::GithubState,
    key: &super::state::RepoKey,
    id: u64,
) -> Option<Comment> {
    st.comments.get(&id).filter(|c| &c.repo == key).cloned()
}

async fn get_comment(
    State(ctx): State<Arc<Ctx>>,
    Path((owner, repo, comment_id)): Path<(String, String, String)>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let mut st = ctx.lock();
    let key = repo_access(&st, &headers, &owner, &repo, ISSUES_READ, GET_DOCS)?;
    let id = path_number(&comment_id, GET_DOCS)?;
    let comment = find_comment(&st, &key, id).ok_or_else(|| ApiError::not_found(GET_DOCS))?;
    let json = shapes::comment(&ctx.origin, &mut st, &comment);
    Ok(json_response(StatusCode::OK, &json))
}

async fn update_comment(
    State(ctx): State<Arc<Ctx>>,
    Path((owner, repo, comment_id)): Path<(String, String, String)>,
    headers: HeaderMap,
    request: Bytes,
) -> Result<Response, ApiError> {
    let mut st = ctx.lock();
    let key = repo_access(&st, &headers, &owner, &repo, ISSUES_WRITE, UPDATE_DOCS)?;
    let id = path_number(&comment_id, UPDATE_DOCS)?;
    let mut comment =
        find_comment(&st, &key, id).ok_or_else(|| ApiError::not_found(UPDATE_DOCS))?;
    // Like GitHub, issues:write lets an installation edit any comment in the repository.
    comment.body = comment_body(&request, UPDATE_DOCS)?;
    comment.updated_at = Utc::now();
    st.comments.insert(id, comment.clone());
    let json = shapes::comment(&ctx.origin, &mut st, &comment);
    Ok(json_response(StatusCode::OK, &json))
}
