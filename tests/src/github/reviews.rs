//! Review comments (comments on lines of a pull request's diff): replies in
//! their thread, and the comments of one review. Comments are seeded by the
//! test (what a maintainer wrote); the App can reply and list, as on GitHub.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use chrono::Utc;
use serde_json::{Value, json};

use super::auth::{Level, repo_access};
use super::error::{ApiError, json_object, json_response, path_number, required_string};
use super::pages::{paginate, with_link};
use super::shapes;
use super::state::{Ctx, GithubState, ReviewComment};

const REPLY_DOCS: &str =
    "https://docs.github.com/rest/pulls/comments#create-a-reply-for-a-review-comment";
const LIST_DOCS: &str =
    "https://docs.github.com/rest/pulls/reviews#list-comments-for-a-pull-request-review";

const PULLS_READ: (&str, Level) = ("pull_requests", Level::Read);
const PULLS_WRITE: (&str, Level) = ("pull_requests", Level::Write);

pub(crate) fn routes() -> Router<Arc<Ctx>> {
    Router::new()
        .route(
            "/repos/{owner}/{repo}/pulls/{pull_number}/comments/{comment_id}/replies",
            post(reply),
        )
        .route(
            "/repos/{owner}/{repo}/pulls/{pull_number}/reviews/{review_id}/comments",
            get(list_for_review),
        )
}

/// The `review-comment` schema (the fields a client reads).
pub(crate) fn shape(origin: &str, st: &mut GithubState, c: &ReviewComment) -> Value {
    let author = st.user(&c.author);
    let repo = &st.repos[&c.repo];
    let api = format!("{origin}/repos/{}/{}", repo.owner, repo.name);
    let mut value = json!({
        "id": c.id,
        "node_id": shapes::node_id("PRRC", c.id),
        "url": format!("{api}/pulls/comments/{}", c.id),
        "pull_request_review_id": c.review_id,
        "path": c.path,
        "line": c.line,
        "side": "RIGHT",
        "body": c.body,
        "user": shapes::user(origin, &author),
        "created_at": shapes::timestamp(c.created_at),
        "updated_at": shapes::timestamp(c.created_at),
        "html_url": format!("{origin}/{}/{}/pull/{}#discussion_r{}", repo.owner, repo.name, c.pull_number, c.id),
        "pull_request_url": format!("{api}/pulls/{}", c.pull_number),
        "author_association": st.author_association(&c.repo, &c.author),
    });
    if let Some(parent) = c.in_reply_to {
        value["in_reply_to_id"] = json!(parent);
    }
    value
}

async fn reply(
    State(ctx): State<Arc<Ctx>>,
    Path((owner, repo, number, comment_id)): Path<(String, String, String, String)>,
    headers: HeaderMap,
    request: Bytes,
) -> Result<Response, ApiError> {
    let mut st = ctx.lock();
    let key = repo_access(&st, &headers, &owner, &repo, PULLS_WRITE, REPLY_DOCS)?;
    let number = path_number(&number, REPLY_DOCS)?;
    let parent_id = path_number(&comment_id, REPLY_DOCS)?;
    let Some(parent) = st
        .review_comments
        .get(&parent_id)
        .filter(|c| c.repo == key && c.pull_number == number)
        .cloned()
    else {
        return Err(ApiError::not_found(REPLY_DOCS));
    };
    let request = json_object(&request, REPLY_DOCS)?;
    let body = required_string(&request, "body", REPLY_DOCS)?;
    if body.trim().is_empty() {
        return Err(ApiError::validation_failed(
            "PullRequestReviewComment",
            "body",
            "missing_field",
            "body cannot be blank",
            REPLY_DOCS,
        ));
    }
    let id = st.next_id();
    let review_id = st.next_id();
    let comment = ReviewComment {
        id,
        repo: key,
        pull_number: number,
        review_id,
        // Replies always attach to the thread's first comment.
        in_reply_to: Some(parent.in_reply_to.unwrap_or(parent.id)),
        path: parent.path.clone(),
        line: parent.line,
        body,
        author: st.app.bot_login(),
        created_at: Utc::now(),
    };
    st.review_comments.insert(id, comment.clone());
    let json = shape(&ctx.origin, &mut st, &comment);
    Ok(json_response(StatusCode::CREATED, &json))
}

async fn list_for_review(
    State(ctx): State<Arc<Ctx>>,
    Path((owner, repo, number, review_id)): Path<(String, String, String, String)>,
    RawQuery(raw_query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let mut st = ctx.lock();
    let key = repo_access(&st, &headers, &owner, &repo, PULLS_READ, LIST_DOCS)?;
    let number = path_number(&number, LIST_DOCS)?;
    let review_id = path_number(&review_id, LIST_DOCS)?;
    let comments: Vec<ReviewComment> = st
        .review_comments
        .values()
        .filter(|c| c.repo == key && c.pull_number == number && c.review_id == review_id)
        .cloned()
        .collect();
    if comments.is_empty() {
        return Err(ApiError::not_found(LIST_DOCS));
    }
    let listed = &st.repos[&key];
    let url = format!(
        "{}/repos/{}/{}/pulls/{number}/reviews/{review_id}/comments",
        ctx.origin, listed.owner, listed.name
    );
    let (page, link) = paginate(comments, &url, raw_query.as_deref());
    let shapes: Vec<Value> = page
        .iter()
        .map(|c| shape(&ctx.origin, &mut st, c))
        .collect();
    Ok(with_link(
        json_response(StatusCode::OK, &Value::Array(shapes)),
        link,
    ))
}
