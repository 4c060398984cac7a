//! Repository permissions of a user (`GET .../collaborators/{username}/permission`),
//! set per test with `GithubDouble::set_permission`; users nobody set answer "none".

use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::get;
use serde_json::json;

use super::auth::{Level, repo_access};
use super::error::{ApiError, json_response};
use super::shapes;
use super::state::{Ctx, Permission};

const DOCS: &str = "https://docs.github.com/rest/collaborators/collaborators#get-repository-permissions-for-a-user";

pub(crate) fn routes() -> Router<Arc<Ctx>> {
    Router::new().route(
        "/repos/{owner}/{repo}/collaborators/{username}/permission",
        get(get_permission),
    )
}

async fn get_permission(
    State(ctx): State<Arc<Ctx>>,
    Path((owner, repo, username)): Path<(String, String, String)>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let mut st = ctx.lock();
    let key = repo_access(
        &st,
        &headers,
        &owner,
        &repo,
        ("metadata", Level::Read),
        DOCS,
    )?;
    let permission = st.permission_of(&key, &username);
    let user = st.user(&username);
    let mut user_json = shapes::user(&ctx.origin, &user);
    let at_least = |wanted: Permission| {
        let rank = |p: Permission| match p {
            Permission::None => 0,
            Permission::Read => 1,
            Permission::Triage => 2,
            Permission::Write => 3,
            Permission::Maintain => 4,
            Permission::Admin => 5,
        };
        rank(permission) >= rank(wanted)
    };
    user_json["permissions"] = json!({
        "admin": at_least(Permission::Admin),
        "maintain": at_least(Permission::Maintain),
        "push": at_least(Permission::Write),
        "triage": at_least(Permission::Triage),
        "pull": at_least(Permission::Read),
    });
    user_json["role_name"] = json!(permission.role_name());
    Ok(json_response(
        StatusCode::OK,
        &json!({
            "permission": permission.legacy_name(),
            "role_name": permission.role_name(),
            "user": user_json,
        }),
    ))
}
