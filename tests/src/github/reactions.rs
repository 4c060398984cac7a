//! Reactions on issues and issue comments. Only GitHub's eight contents are
//! accepted; a repeated reaction by the same user answers 200 with the existing
//! one instead of creating a second, as GitHub does.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::post;
use chrono::Utc;

use super::ReactionTarget;
use super::auth::{Level, repo_access};
use super::error::{ApiError, json_object, json_response, path_number, required_string};
use super::shapes;
use super::state::{Ctx, StoredReaction};

const ISSUE_DOCS: &str =
    "https://docs.github.com/rest/reactions/reactions#create-reaction-for-an-issue";
const COMMENT_DOCS: &str =
    "https://docs.github.com/rest/reactions/reactions#create-reaction-for-an-issue-comment";

/// The reaction contents GitHub accepts.
pub(crate) const CONTENTS: [&str; 8] = [
    "+1", "-1", "laugh", "confused", "heart", "hooray", "rocket", "eyes",
];

pub(crate) fn routes() -> Router<Arc<Ctx>> {
    Router::new()
        .route(
            "/repos/{owner}/{repo}/issues/{issue_number}/reactions",
            post(create_for_issue),
        )
        .route(
            "/repos/{owner}/{repo}/issues/comments/{comment_id}/reactions",
            post(create_for_comment),
        )
        .route(
            "/repos/{owner}/{repo}/pulls/comments/{comment_id}/reactions",
            post(create_for_review_comment),
        )
}

const REVIEW_COMMENT_DOCS: &str = "https://docs.github.com/rest/reactions/reactions#create-reaction-for-a-pull-request-review-comment";

async fn create_for_review_comment(
    State(ctx): State<Arc<Ctx>>,
    Path((owner, repo, comment_id)): Path<(String, String, String)>,
    headers: HeaderMap,
    request: Bytes,
) -> Result<Response, ApiError> {
    let id = path_number(&comment_id, REVIEW_COMMENT_DOCS)?;
    create(
        &ctx,
        &owner,
        &repo,
        ReactionTarget::ReviewComment(id),
        &headers,
        &request,
        REVIEW_COMMENT_DOCS,
    )
}

async fn create_for_issue(
    State(ctx): State<Arc<Ctx>>,
    Path((owner, repo, number)): Path<(String, String, String)>,
    headers: HeaderMap,
    request: Bytes,
) -> Result<Response, ApiError> {
    let number = path_number(&number, ISSUE_DOCS)?;
    create(
        &ctx,
        &owner,
        &repo,
        ReactionTarget::Issue(number),
        &headers,
        &request,
        ISSUE_DOCS,
    )
}

async fn create_for_comment(
    State(ctx): State<Arc<Ctx>>,
    Path((owner, repo, comment_id)): Path<(String, String, String)>,
    headers: HeaderMap,
    request: Bytes,
) -> Result<Response, ApiError> {
    let id = path_number(&comment_id, COMMENT_DOCS)?;
    create(
        &ctx,
        &owner,
        &repo,
        ReactionTarget::Comment(id),
        &headers,
        &request,
        COMMENT_DOCS,
    )
}

fn create(
    ctx: &Ctx,
    owner: &str,
    repo: &str,
    target: ReactionTarget,
    headers: &HeaderMap,
    request: &[u8],
    docs: &str,
) -> Result<Response, ApiError> {
    let mut st = ctx.lock();
    let key = repo_access(&st, headers, owner, repo, ("issues", Level::Write), docs)?;
    let exists = match target {
        ReactionTarget::Issue(number) => st.repos[&key].issues.contains_key(&number),
        ReactionTarget::Comment(id) => st.comments.get(&id).is_some_and(|c| c.repo == key),
        ReactionTarget::ReviewComment(id) => {
            st.review_comments.get(&id).is_some_and(|c| c.repo == key)
        }
    };
    if !exists {
        return Err(ApiError::not_found(docs));
    }
    let request = json_object(request, docs)?;
    let content = required_string(&request, "content", docs)?;
    if !CONTENTS.contains(&content.as_str()) {
        let allowed = CONTENTS.map(|c| format!("\"{c}\"")).join(", ");
        return Err(ApiError::invalid_request(
            &format!("For 'properties/content', \"{content}\" is not one of [{allowed}]."),
            docs,
        ));
    }

    let user = st.app.bot_login();
    let existing = st
        .reactions
        .iter()
        .find(|r| r.repo == key && r.target == target && r.user == user && r.content == content)
        .cloned();
    let (status, reaction) = match existing {
        Some(reaction) => (StatusCode::OK, reaction),
        None => {
            let reaction = StoredReaction {
                id: st.next_id(),
                repo: key,
                target,
                user,
                content,
                created_at: Utc::now(),
            };
            st.reactions.push(reaction.clone());
            (StatusCode::CREATED, reaction)
        }
    };
    let json = shapes::reaction(&ctx.origin, &mut st, &reaction);
    Ok(json_response(status, &json))
}
