//! Pull requests: create (with GitHub's 422s for a duplicate, a missing head
//! branch and a head with no commits over base), list filtered by `head` and
//! `state`, get, update, and request reviewers. Heads are real branches in the
//! bare repository; `head.sha` is read from git at answer time.

use std::path::PathBuf;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use chrono::Utc;
use serde::Deserialize;
use serde_json::{Value, json};

use super::auth::{Level, repo_access};
use super::error::{ApiError, json_object, json_response, path_number, required_string};
use super::git_store::{git, rev_parse};
use super::pages::{paginate, with_link};
use super::shapes;
use super::state::{Ctx, GithubState, Issue, Permission, Pull, RepoKey};

const CREATE_DOCS: &str = "https://docs.github.com/rest/pulls/pulls#create-a-pull-request";
const LIST_DOCS: &str = "https://docs.github.com/rest/pulls/pulls#list-pull-requests";
const GET_DOCS: &str = "https://docs.github.com/rest/pulls/pulls#get-a-pull-request";
const UPDATE_DOCS: &str = "https://docs.github.com/rest/pulls/pulls#update-a-pull-request";
const REVIEWERS_DOCS: &str =
    "https://docs.github.com/rest/pulls/review-requests#request-reviewers-for-a-pull-request";

const PULLS_READ: (&str, Level) = ("pull_requests", Level::Read);
const PULLS_WRITE: (&str, Level) = ("pull_requests", Level::Write);

pub(crate) fn routes() -> Router<Arc<Ctx>> {
    Router::new()
        .route(
            "/repos/{owner}/{repo}/pulls",
            get(list_pulls).post(create_pull),
        )
        .route(
            "/repos/{owner}/{repo}/pulls/{pull_number}",
            get(get_pull).patch(update_pull).post(update_pull),
        )
        .route(
            "/repos/{owner}/{repo}/pulls/{pull_number}/requested_reviewers",
            post(request_reviewers),
        )
}

fn bare_path(ctx: &Ctx, st: &GithubState, key: &RepoKey) -> PathBuf {
    let repo = &st.repos[key];
    ctx.git_root
        .join(&repo.owner)
        .join(format!("{}.git", repo.name))
}

fn pull_error(code: &str, field: Option<&str>, message: &str, docs: &str) -> ApiError {
    let mut error = ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "Validation Failed", docs);
    let mut detail = json!({"resource": "PullRequest", "code": code, "message": message});
    if let Some(field) = field {
        detail["field"] = json!(field);
    }
    error.errors = Some(json!([detail]));
    error
}

/// `owner:branch` or `branch` → the branch, when it is in this repository.
fn head_branch<'a>(head: &'a str, owner: &str) -> Option<&'a str> {
    match head.split_once(':') {
        Some((head_owner, branch)) if head_owner.eq_ignore_ascii_case(owner) => Some(branch),
        Some(_) => None,
        None => Some(head),
    }
}

/// The pull request schema (the fields a client reads).
async fn pull_shape(ctx: &Ctx, key: &RepoKey, pull: &Pull) -> Value {
    let (bare, owner, name, author, reviewers, labels) = {
        let mut st = ctx.lock();
        let author = st.user(&pull.author);
        let reviewers: Vec<Value> = pull
            .requested_reviewers
            .iter()
            .map(|login| {
                let user = st.user(login);
                shapes::user(&ctx.origin, &user)
            })
            .collect();
        let repo = &st.repos[key];
        let labels: Vec<Value> = repo
            .labels
            .get(&pull.number)
            .into_iter()
            .flatten()
            .map(|l| json!({"name": l}))
            .collect();
        (
            bare_path(ctx, &st, key),
            repo.owner.clone(),
            repo.name.clone(),
            shapes::user(&ctx.origin, &author),
            reviewers,
            labels,
        )
    };
    let head_sha = rev_parse(&bare, &format!("refs/heads/{}", pull.head))
        .await
        .unwrap_or_default();
    let base_sha = rev_parse(&bare, &format!("refs/heads/{}", pull.base))
        .await
        .unwrap_or_default();
    let api = format!("{}/repos/{owner}/{name}", ctx.origin);
    let repo_shape = json!({
        "name": name,
        "full_name": format!("{owner}/{name}"),
        "fork": false,
        "url": api,
    });
    json!({
        "id": pull.id,
        "node_id": shapes::node_id("PR", pull.id),
        "number": pull.number,
        "url": format!("{api}/pulls/{}", pull.number),
        "html_url": format!("{}/{owner}/{name}/pull/{}", ctx.origin, pull.number),
        "issue_url": format!("{api}/issues/{}", pull.number),
        "state": if pull.open { "open" } else { "closed" },
        "locked": false,
        "title": pull.title,
        "body": pull.body,
        "user": author,
        "labels": labels,
        "draft": pull.draft,
        "merged": false,
        "requested_reviewers": reviewers,
        "head": {"ref": pull.head, "sha": head_sha, "label": format!("{owner}:{}", pull.head), "repo": repo_shape.clone()},
        "base": {"ref": pull.base, "sha": base_sha, "label": format!("{owner}:{}", pull.base), "repo": repo_shape},
        "created_at": shapes::timestamp(pull.created_at),
        "updated_at": shapes::timestamp(pull.updated_at),
        "closed_at": null,
        "merged_at": null,
        "author_association": "NONE",
    })
}

async fn create_pull(
    State(ctx): State<Arc<Ctx>>,
    Path((owner, repo)): Path<(String, String)>,
    headers: HeaderMap,
    request: Bytes,
) -> Result<Response, ApiError> {
    let (key, bare, bot) = {
        let st = ctx.lock();
        let key = repo_access(&st, &headers, &owner, &repo, PULLS_WRITE, CREATE_DOCS)?;
        (key.clone(), bare_path(&ctx, &st, &key), st.app.bot_login())
    };
    let request = json_object(&request, CREATE_DOCS)?;
    let title = required_string(&request, "title", CREATE_DOCS)?;
    let head = required_string(&request, "head", CREATE_DOCS)?;
    let base = required_string(&request, "base", CREATE_DOCS)?;
    let body = request
        .get("body")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let draft = request
        .get("draft")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let Some(branch) = head_branch(&head, &owner).map(str::to_string) else {
        return Err(pull_error("invalid", Some("head"), "", CREATE_DOCS));
    };
    let Some(head_sha) = rev_parse(&bare, &format!("refs/heads/{branch}")).await else {
        return Err(pull_error("invalid", Some("head"), "", CREATE_DOCS));
    };
    let Some(base_sha) = rev_parse(&bare, &format!("refs/heads/{base}")).await else {
        return Err(pull_error("invalid", Some("base"), "", CREATE_DOCS));
    };
    let ahead = git(
        &bare,
        &["rev-list", "--count", &format!("{base_sha}..{head_sha}")],
    )
    .await
    .unwrap_or_default();
    if ahead == "0" {
        return Err(pull_error(
            "custom",
            None,
            &format!("No commits between {base} and {branch}"),
            CREATE_DOCS,
        ));
    }
    let pull = {
        let mut st = ctx.lock();
        let id = st.next_id();
        let repo = st
            .repos
            .get_mut(&key)
            .ok_or_else(|| ApiError::not_found(CREATE_DOCS))?;
        if repo.pulls.values().any(|p| p.open && p.head == branch) {
            return Err(pull_error(
                "custom",
                None,
                &format!("A pull request already exists for {owner}:{branch}."),
                CREATE_DOCS,
            ));
        }
        let now = Utc::now();
        let pull = Pull {
            id,
            number: repo.next_number(),
            title,
            body,
            head: branch,
            base,
            draft,
            open: true,
            author: bot,
            requested_reviewers: Vec::new(),
            created_at: now,
            updated_at: now,
        };
        repo.pulls.insert(pull.number, pull.clone());
        // On GitHub a pull request is an issue too: it takes comments and labels.
        repo.issues.insert(
            pull.number,
            Issue {
                id: pull.id,
                number: pull.number,
                title: pull.title.clone(),
                body: pull.body.clone(),
                author: pull.author.clone(),
                created_at: now,
                pull_request: true,
            },
        );
        pull
    };
    let shape = pull_shape(&ctx, &key, &pull).await;
    Ok(json_response(StatusCode::CREATED, &shape))
}

#[derive(Deserialize)]
struct ListQuery {
    head: Option<String>,
    state: Option<String>,
}

async fn list_pulls(
    State(ctx): State<Arc<Ctx>>,
    Path((owner, repo)): Path<(String, String)>,
    Query(query): Query<ListQuery>,
    RawQuery(raw_query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let (key, pulls, url) = {
        let st = ctx.lock();
        let key = repo_access(&st, &headers, &owner, &repo, PULLS_READ, LIST_DOCS)?;
        let state = query.state.as_deref().unwrap_or("open");
        let head = query.head.as_deref().map(|h| head_branch(h, &owner));
        let pulls: Vec<Pull> = st.repos[&key]
            .pulls
            .values()
            .rev()
            .filter(|p| match state {
                "open" => p.open,
                "closed" => !p.open,
                _ => true,
            })
            .filter(|p| match head {
                None => true,
                Some(Some(branch)) => p.head == branch,
                // A head in another owner's fork matches nothing here.
                Some(None) => false,
            })
            .cloned()
            .collect();
        let repo = &st.repos[&key];
        let url = format!("{}/repos/{}/{}/pulls", ctx.origin, repo.owner, repo.name);
        (key, pulls, url)
    };
    let (page, link) = paginate(pulls, &url, raw_query.as_deref());
    let mut shapes = Vec::new();
    for pull in &page {
        shapes.push(pull_shape(&ctx, &key, pull).await);
    }
    Ok(with_link(
        json_response(StatusCode::OK, &Value::Array(shapes)),
        link,
    ))
}

fn find_pull(st: &GithubState, key: &RepoKey, number: &str, docs: &str) -> Result<Pull, ApiError> {
    let number = path_number(number, docs)?;
    st.repos[key]
        .pulls
        .get(&number)
        .cloned()
        .ok_or_else(|| ApiError::not_found(docs))
}

async fn get_pull(
    State(ctx): State<Arc<Ctx>>,
    Path((owner, repo, number)): Path<(String, String, String)>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let (key, pull) = {
        let st = ctx.lock();
        let key = repo_access(&st, &headers, &owner, &repo, PULLS_READ, GET_DOCS)?;
        let pull = find_pull(&st, &key, &number, GET_DOCS)?;
        (key, pull)
    };
    let shape = pull_shape(&ctx, &key, &pull).await;
    Ok(json_response(StatusCode::OK, &shape))
}

async fn update_pull(
    State(ctx): State<Arc<Ctx>>,
    Path((owner, repo, number)): Path<(String, String, String)>,
    headers: HeaderMap,
    request: Bytes,
) -> Result<Response, ApiError> {
    let request = json_object(&request, UPDATE_DOCS)?;
    let (key, pull) = {
        let mut st = ctx.lock();
        let key = repo_access(&st, &headers, &owner, &repo, PULLS_WRITE, UPDATE_DOCS)?;
        let mut pull = find_pull(&st, &key, &number, UPDATE_DOCS)?;
        if let Some(title) = request.get("title").and_then(Value::as_str) {
            pull.title = title.to_string();
        }
        if let Some(body) = request.get("body").and_then(Value::as_str) {
            pull.body = body.to_string();
        }
        match request.get("state").and_then(Value::as_str) {
            Some("open") => pull.open = true,
            Some("closed") => pull.open = false,
            Some(other) => {
                return Err(ApiError::invalid_request(
                    &format!("state {other:?} is not one of open, closed"),
                    UPDATE_DOCS,
                ));
            }
            None => {}
        }
        pull.updated_at = Utc::now();
        if let Some(repo) = st.repos.get_mut(&key) {
            repo.pulls.insert(pull.number, pull.clone());
        }
        (key, pull)
    };
    let shape = pull_shape(&ctx, &key, &pull).await;
    Ok(json_response(StatusCode::OK, &shape))
}

async fn request_reviewers(
    State(ctx): State<Arc<Ctx>>,
    Path((owner, repo, number)): Path<(String, String, String)>,
    headers: HeaderMap,
    request: Bytes,
) -> Result<Response, ApiError> {
    let request = json_object(&request, REVIEWERS_DOCS)?;
    let reviewers: Vec<String> = request
        .get("reviewers")
        .and_then(Value::as_array)
        .map(|list| {
            list.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default();
    let (key, pull) = {
        let mut st = ctx.lock();
        let key = repo_access(&st, &headers, &owner, &repo, PULLS_WRITE, REVIEWERS_DOCS)?;
        let mut pull = find_pull(&st, &key, &number, REVIEWERS_DOCS)?;
        for login in &reviewers {
            if login.eq_ignore_ascii_case(&pull.author) {
                return Err(ApiError::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "Review cannot be requested from pull request author.",
                    REVIEWERS_DOCS,
                ));
            }
            if st.permission_of(&key, login) == Permission::None {
                return Err(ApiError::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "Reviews may only be requested from collaborators. One or more of the users or teams you specified is not a collaborator of the repository.",
                    REVIEWERS_DOCS,
                ));
            }
            if !pull
                .requested_reviewers
                .iter()
                .any(|r| r.eq_ignore_ascii_case(login))
            {
                pull.requested_reviewers.push(login.clone());
            }
        }
        if let Some(repo) = st.repos.get_mut(&key) {
            repo.pulls.insert(pull.number, pull.clone());
        }
        (key, pull)
    };
    let shape = pull_shape(&ctx, &key, &pull).await;
    Ok(json_response(StatusCode::CREATED, &shape))
}
