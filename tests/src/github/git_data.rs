//! The Git Data API over the double's real bare repositories: blobs, trees,
//! commits and branch refs are real git objects and refs (made with git's
//! plumbing), so tests can `git log` / `git show` what the bot committed.
//!
//! As on GitHub: writing needs `contents: write`; a tree entry with
//! `sha: null` deletes the path; a commit made by the App without an explicit
//! author or committer is signed by GitHub (`verification.verified = true`,
//! `reason: "valid"`, remembered for every later read of the commit) and
//! authored by the App's bot user (`<user id>+<slug>[bot]@users.noreply.github.com`);
//! commits pushed over git smart HTTP are `unsigned`; a ref update that is not a fast-forward
//! is refused unless `force` is set.

use std::path::{Path as FsPath, PathBuf};
use std::process::Stdio;
use std::sync::Arc;

use anyhow::Context as _;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use base64::Engine as _;
use chrono::Utc;
use serde_json::{Map, Value, json};
use tokio::io::AsyncWriteExt;

use super::auth::{Level, repo_access};
use super::error::{ApiError, json_object, json_response, required_string};
use super::git_store::{git, git_command};
use super::state::Ctx;

const BLOB_DOCS: &str = "https://docs.github.com/rest/git/blobs#create-a-blob";
const TREE_DOCS: &str = "https://docs.github.com/rest/git/trees#create-a-tree";
const COMMIT_DOCS: &str = "https://docs.github.com/rest/git/commits#create-a-commit";
const GET_COMMIT_DOCS: &str = "https://docs.github.com/rest/git/commits#get-a-commit-object";
const GET_REF_DOCS: &str = "https://docs.github.com/rest/git/refs#get-a-reference";
const CREATE_REF_DOCS: &str = "https://docs.github.com/rest/git/refs#create-a-reference";
const UPDATE_REF_DOCS: &str = "https://docs.github.com/rest/git/refs#update-a-reference";

const CONTENTS_READ: (&str, Level) = ("contents", Level::Read);
const CONTENTS_WRITE: (&str, Level) = ("contents", Level::Write);

const ZERO_OID: &str = "0000000000000000000000000000000000000000";

pub(crate) fn routes() -> Router<Arc<Ctx>> {
    Router::new()
        .route("/repos/{owner}/{repo}/git/blobs", post(create_blob))
        .route("/repos/{owner}/{repo}/git/trees", post(create_tree))
        .route("/repos/{owner}/{repo}/git/commits", post(create_commit))
        .route("/repos/{owner}/{repo}/git/commits/{sha}", get(get_commit))
        .route("/repos/{owner}/{repo}/git/ref/{*name}", get(get_ref))
        .route("/repos/{owner}/{repo}/git/refs", post(create_ref))
        // GitHub accepts POST wherever it accepts PATCH.
        .route(
            "/repos/{owner}/{repo}/git/refs/{*name}",
            axum::routing::patch(update_ref).post(update_ref),
        )
}

/// Authorise, then find the repository's bare directory (the lock is released
/// before any git process runs).
fn bare_repo(
    ctx: &Ctx,
    headers: &HeaderMap,
    owner: &str,
    repo: &str,
    need: (&str, Level),
    docs: &str,
) -> Result<(PathBuf, String), ApiError> {
    let st = ctx.lock();
    let key = repo_access(&st, headers, owner, repo, need, docs)?;
    let repo = &st.repos[&key];
    let path = ctx
        .git_root
        .join(&repo.owner)
        .join(format!("{}.git", repo.name));
    let api = format!("{}/repos/{}/{}", ctx.origin, repo.owner, repo.name);
    Ok((path, api))
}

fn internal(error: anyhow::Error) -> ApiError {
    ApiError::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        format!("double: {error:#}"),
        "",
    )
}

/// Run git with `input` on stdin; trimmed stdout, or git's stderr as the error.
async fn git_with_input(
    cwd: &FsPath,
    envs: &[(&str, &str)],
    args: &[&str],
    input: &[u8],
) -> anyhow::Result<String> {
    let mut command = git_command(cwd);
    command
        .args(args)
        .envs(envs.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command.spawn().context("could not run git")?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin.write_all(input).await?;
    }
    let output = child.wait_with_output().await?;
    anyhow::ensure!(
        output.status.success(),
        "`git {}` failed: {}",
        args.join(" "),
        String::from_utf8_lossy(&output.stderr).trim()
    );
    Ok(String::from_utf8_lossy(&output.stdout).trim().to_string())
}

/// The type of object `sha` names (`blob`, `tree`, `commit`), if it exists.
async fn object_type(bare: &FsPath, sha: &str) -> Option<String> {
    if sha.len() != 40 || !sha.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    git(bare, &["cat-file", "-t", sha]).await.ok()
}

async fn create_blob(
    State(ctx): State<Arc<Ctx>>,
    Path((owner, repo)): Path<(String, String)>,
    headers: HeaderMap,
    request: Bytes,
) -> Result<Response, ApiError> {
    let (bare, api) = bare_repo(&ctx, &headers, &owner, &repo, CONTENTS_WRITE, BLOB_DOCS)?;
    let request = json_object(&request, BLOB_DOCS)?;
    let content = required_string(&request, "content", BLOB_DOCS)?;
    let bytes = match request
        .get("encoding")
        .and_then(Value::as_str)
        .unwrap_or("utf-8")
    {
        "utf-8" | "utf8" => content.into_bytes(),
        "base64" => base64::engine::general_purpose::STANDARD
            .decode(content.replace(['\n', '\r'], ""))
            .map_err(|_| {
                ApiError::validation_failed(
                    "Blob",
                    "content",
                    "invalid",
                    "content is not valid Base64",
                    BLOB_DOCS,
                )
            })?,
        other => {
            return Err(ApiError::validation_failed(
                "Blob",
                "encoding",
                "invalid",
                &format!("encoding {other:?} is not supported: use utf-8 or base64"),
                BLOB_DOCS,
            ));
        }
    };
    let sha = git_with_input(&bare, &[], &["hash-object", "-w", "--stdin"], &bytes)
        .await
        .map_err(internal)?;
    let body = json!({"sha": sha, "url": format!("{api}/git/blobs/{sha}")});
    Ok(json_response(StatusCode::CREATED, &body))
}

/// One entry of a create-tree request, checked.
struct TreeEntry {
    path: String,
    mode: String,
    /// `None`: delete the path.
    sha: Option<String>,
}

/// 422 with GitHub's message for a request it understood but refuses.
fn unprocessable(message: &str, docs: &str) -> ApiError {
    ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, message, docs)
}

/// `sha` must name a commit, as a ref's target.
async fn require_commit(bare: &FsPath, sha: &str, docs: &str) -> Result<(), ApiError> {
    if object_type(bare, sha).await.as_deref() == Some("commit") {
        Ok(())
    } else {
        Err(unprocessable("Object does not exist", docs))
    }
}

fn tree_error(message: &str) -> ApiError {
    unprocessable(message, TREE_DOCS)
}

fn valid_tree_path(path: &str) -> bool {
    !path.is_empty()
        && !path.starts_with('/')
        && !path.ends_with('/')
        && path
            .split('/')
            .all(|s| !s.is_empty() && s != "." && s != ".." && s != ".git")
}

async fn tree_entry(bare: &FsPath, raw: &Value) -> Result<TreeEntry, ApiError> {
    let entry = raw
        .as_object()
        .ok_or_else(|| ApiError::invalid_request("tree entries must be objects", TREE_DOCS))?;
    let path = entry
        .get("path")
        .and_then(Value::as_str)
        .ok_or_else(|| ApiError::invalid_request("\"path\" wasn't supplied.", TREE_DOCS))?;
    if !valid_tree_path(path) {
        return Err(tree_error(&format!("tree.path {path:?} is invalid")));
    }
    let mode = entry.get("mode").and_then(Value::as_str).unwrap_or("");
    if !matches!(mode, "100644" | "100755" | "120000" | "160000" | "040000") {
        return Err(ApiError::invalid_request(
            &format!("mode {mode:?} is not one of 100644, 100755, 040000, 160000, 120000."),
            TREE_DOCS,
        ));
    }
    if mode == "040000" {
        return Err(tree_error(
            "the double does not support tree entries of mode 040000; send the files instead",
        ));
    }
    let sha = match (entry.get("sha"), entry.get("content")) {
        (Some(_), Some(_)) => {
            return Err(ApiError::invalid_request(
                "only one of \"sha\" and \"content\" may be given",
                TREE_DOCS,
            ));
        }
        (Some(Value::Null), None) => None,
        (Some(Value::String(sha)), None) => {
            let want = if mode == "160000" { "commit" } else { "blob" };
            if mode != "160000" && object_type(bare, sha).await.as_deref() != Some(want) {
                return Err(tree_error(&format!("tree.sha {sha} is not a valid {want}")));
            }
            Some(sha.clone())
        }
        (None, Some(Value::String(content))) => Some(
            git_with_input(
                bare,
                &[],
                &["hash-object", "-w", "--stdin"],
                content.as_bytes(),
            )
            .await
            .map_err(internal)?,
        ),
        _ => {
            return Err(ApiError::invalid_request(
                "each tree entry needs \"sha\" (a string, or null to delete) or \"content\"",
                TREE_DOCS,
            ));
        }
    };
    Ok(TreeEntry {
        path: path.to_string(),
        mode: mode.to_string(),
        sha,
    })
}

async fn create_tree(
    State(ctx): State<Arc<Ctx>>,
    Path((owner, repo)): Path<(String, String)>,
    headers: HeaderMap,
    request: Bytes,
) -> Result<Response, ApiError> {
    let (bare, api) = bare_repo(&ctx, &headers, &owner, &repo, CONTENTS_WRITE, TREE_DOCS)?;
    let request = json_object(&request, TREE_DOCS)?;
    let raw_entries = request
        .get("tree")
        .and_then(Value::as_array)
        .ok_or_else(|| ApiError::invalid_request("\"tree\" wasn't supplied.", TREE_DOCS))?;
    let base_tree = match request.get("base_tree") {
        None | Some(Value::Null) => None,
        Some(Value::String(sha)) => {
            if object_type(&bare, sha).await.as_deref() != Some("tree") {
                return Err(tree_error("base_tree is not a valid tree oid"));
            }
            Some(sha.clone())
        }
        Some(_) => {
            return Err(ApiError::invalid_request(
                "base_tree must be a string",
                TREE_DOCS,
            ));
        }
    };
    let mut entries = Vec::new();
    for raw in raw_entries {
        entries.push(tree_entry(&bare, raw).await?);
    }

    let index_dir = tempfile::tempdir().map_err(|e| internal(e.into()))?;
    let index = index_dir.path().join("index");
    let index = index.to_str().unwrap_or_default().to_string();
    let env = [("GIT_INDEX_FILE", index.as_str())];
    let read_tree: Vec<&str> = match &base_tree {
        Some(sha) => vec!["read-tree", sha.as_str()],
        None => vec!["read-tree", "--empty"],
    };
    git_with_input(&bare, &env, &read_tree, b"")
        .await
        .map_err(internal)?;
    let mut info = String::new();
    for entry in &entries {
        match &entry.sha {
            Some(sha) => info.push_str(&format!("{} {sha}\t{}\n", entry.mode, entry.path)),
            None => {
                let listed = git_with_input(&bare, &env, &["ls-files", "--", &entry.path], b"")
                    .await
                    .map_err(internal)?;
                if listed.is_empty() {
                    return Err(tree_error(&format!(
                        "tree.path {} cannot be deleted: it is not in base_tree",
                        entry.path
                    )));
                }
                info.push_str(&format!("0 {ZERO_OID}\t{}\n", entry.path));
            }
        }
    }
    git_with_input(
        &bare,
        &env,
        &["update-index", "--index-info"],
        info.as_bytes(),
    )
    .await
    .map_err(internal)?;
    let sha = git_with_input(&bare, &env, &["write-tree"], b"")
        .await
        .map_err(internal)?;
    let listing = git(&bare, &["ls-tree", &sha]).await.map_err(internal)?;
    let tree: Vec<Value> = listing
        .lines()
        .filter_map(|line| {
            let (meta, path) = line.split_once('\t')?;
            let mut parts = meta.split(' ');
            let (mode, kind, oid) = (parts.next()?, parts.next()?, parts.next()?);
            Some(json!({
                "path": path, "mode": mode, "type": kind, "sha": oid,
                "url": format!("{api}/git/{kind}s/{oid}"),
            }))
        })
        .collect();
    let body = json!({
        "sha": sha,
        "url": format!("{api}/git/trees/{sha}"),
        "tree": tree,
        "truncated": false,
    });
    Ok(json_response(StatusCode::CREATED, &body))
}

/// Name, email and date of a commit's author or committer.
fn identity(value: Option<&Value>) -> Option<(String, String)> {
    let object = value?.as_object()?;
    Some((
        object.get("name")?.as_str()?.to_string(),
        object.get("email")?.as_str()?.to_string(),
    ))
}

async fn create_commit(
    State(ctx): State<Arc<Ctx>>,
    Path((owner, repo)): Path<(String, String)>,
    headers: HeaderMap,
    request: Bytes,
) -> Result<Response, ApiError> {
    let (bare, api) = bare_repo(&ctx, &headers, &owner, &repo, CONTENTS_WRITE, COMMIT_DOCS)?;
    let (bot_login, bot_id) = {
        let mut st = ctx.lock();
        let login = st.app.bot_login();
        let id = st.user(&login).id;
        (login, id)
    };
    let request = json_object(&request, COMMIT_DOCS)?;
    let message = required_string(&request, "message", COMMIT_DOCS)?;
    let tree = required_string(&request, "tree", COMMIT_DOCS)?;
    if object_type(&bare, &tree).await.as_deref() != Some("tree") {
        return Err(unprocessable("Tree SHA does not exist", COMMIT_DOCS));
    }
    let parents: Vec<String> = match request.get("parents") {
        None => Vec::new(),
        Some(Value::Array(list)) => list
            .iter()
            .map(|p| p.as_str().map(str::to_string))
            .collect::<Option<_>>()
            .ok_or_else(|| {
                ApiError::invalid_request("parents must be an array of strings", COMMIT_DOCS)
            })?,
        Some(_) => {
            return Err(ApiError::invalid_request(
                "parents must be an array of strings",
                COMMIT_DOCS,
            ));
        }
    };
    for parent in &parents {
        if object_type(&bare, parent).await.as_deref() != Some("commit") {
            return Err(unprocessable(
                "Parent SHA does not exist or is not a commit object",
                COMMIT_DOCS,
            ));
        }
    }
    let bot = (
        bot_login.clone(),
        format!("{bot_id}+{bot_login}@users.noreply.github.com"),
    );
    let author = identity(request.get("author"));
    let committer = identity(request.get("committer"));
    // GitHub signs what the App commits under its own identity.
    let verified = author.is_none() && committer.is_none() && request.get("signature").is_none();
    let author = author.unwrap_or_else(|| bot.clone());
    let committer = committer.unwrap_or_else(|| bot.clone());
    let mut args = vec!["commit-tree".to_string(), tree.clone()];
    for parent in &parents {
        args.push("-p".into());
        args.push(parent.clone());
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let env = [
        ("GIT_AUTHOR_NAME", author.0.as_str()),
        ("GIT_AUTHOR_EMAIL", author.1.as_str()),
        ("GIT_COMMITTER_NAME", committer.0.as_str()),
        ("GIT_COMMITTER_EMAIL", committer.1.as_str()),
    ];
    let sha = git_with_input(&bare, &env, &args, message.as_bytes())
        .await
        .map_err(internal)?;
    let verified_at = {
        let mut st = ctx.lock();
        match st.signed_commits.get(&sha) {
            Some(at) => Some(*at),
            None if verified => {
                let now = Utc::now();
                st.signed_commits.insert(sha.clone(), now);
                Some(now)
            }
            None => None,
        }
    };
    let body = commit_shape(&bare, &api, &sha, verified_at)
        .await
        .map_err(internal)?;
    Ok(json_response(StatusCode::CREATED, &body))
}

/// GitHub's commit object for `sha`, read back from the repository;
/// `verified_at` is when GitHub signed it (`None`: unsigned).
async fn commit_shape(
    bare: &FsPath,
    api: &str,
    sha: &str,
    verified_at: Option<chrono::DateTime<Utc>>,
) -> anyhow::Result<Value> {
    let fields = git(
        bare,
        &[
            "show",
            "-s",
            "--format=%T%n%P%n%an%n%ae%n%aI%n%cn%n%ce%n%cI",
            sha,
        ],
    )
    .await?;
    let lines: Vec<&str> = fields.lines().collect();
    anyhow::ensure!(lines.len() >= 8, "unexpected git show output for {sha}");
    let message = git(bare, &["show", "-s", "--format=%B", sha]).await?;
    let parents: Vec<Value> = lines[1]
        .split_whitespace()
        .map(|p| json!({"sha": p, "url": format!("{api}/git/commits/{p}")}))
        .collect();
    let person = |name: &str, email: &str, date: &str| {
        let date = chrono::DateTime::parse_from_rfc3339(date)
            .map(|d| {
                d.with_timezone(&Utc)
                    .format("%Y-%m-%dT%H:%M:%SZ")
                    .to_string()
            })
            .unwrap_or_default();
        json!({"name": name, "email": email, "date": date})
    };
    let verified = verified_at.is_some();
    let mut verification = Map::new();
    verification.insert("verified".into(), json!(verified));
    verification.insert(
        "reason".into(),
        json!(if verified { "valid" } else { "unsigned" }),
    );
    // GitHub signs with its own key; the double has none, so it leaves the
    // armour out (the schema allows null) but keeps the signed payload.
    verification.insert("signature".into(), Value::Null);
    verification.insert(
        "payload".into(),
        if verified {
            json!(git(bare, &["cat-file", "commit", sha]).await?)
        } else {
            Value::Null
        },
    );
    verification.insert(
        "verified_at".into(),
        json!(verified_at.map(super::shapes::timestamp)),
    );
    Ok(json!({
        "sha": sha,
        "node_id": format!("C_{sha}"),
        "url": format!("{api}/git/commits/{sha}"),
        "html_url": format!("{api}/commit/{sha}"),
        "author": person(lines[2], lines[3], lines[4]),
        "committer": person(lines[5], lines[6], lines[7]),
        "message": message,
        "tree": {"sha": lines[0], "url": format!("{api}/git/trees/{}", lines[0])},
        "parents": parents,
        "verification": verification,
    }))
}

async fn get_commit(
    State(ctx): State<Arc<Ctx>>,
    Path((owner, repo, sha)): Path<(String, String, String)>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let (bare, api) = bare_repo(
        &ctx,
        &headers,
        &owner,
        &repo,
        CONTENTS_READ,
        GET_COMMIT_DOCS,
    )?;
    if object_type(&bare, &sha).await.as_deref() != Some("commit") {
        return Err(ApiError::not_found(GET_COMMIT_DOCS));
    }
    let verified_at = ctx.lock().signed_commits.get(&sha).copied();
    let body = commit_shape(&bare, &api, &sha, verified_at)
        .await
        .map_err(internal)?;
    Ok(json_response(StatusCode::OK, &body))
}

fn ref_shape(api: &str, name: &str, sha: &str) -> Value {
    json!({
        "ref": name,
        "node_id": format!("REF_{sha}"),
        "url": format!("{api}/git/{name}"),
        "object": {"sha": sha, "type": "commit", "url": format!("{api}/git/commits/{sha}")},
    })
}

async fn ref_target(bare: &FsPath, name: &str) -> Option<String> {
    git(
        bare,
        &[
            "rev-parse",
            "--verify",
            "--quiet",
            &format!("{name}^{{commit}}"),
        ],
    )
    .await
    .ok()
    .filter(|s| !s.is_empty())
}

async fn get_ref(
    State(ctx): State<Arc<Ctx>>,
    Path((owner, repo, name)): Path<(String, String, String)>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let (bare, api) = bare_repo(&ctx, &headers, &owner, &repo, CONTENTS_READ, GET_REF_DOCS)?;
    let full = format!("refs/{name}");
    if git(&bare, &["check-ref-format", &full]).await.is_err() {
        return Err(ApiError::not_found(GET_REF_DOCS));
    }
    match ref_target(&bare, &full).await {
        Some(sha) => Ok(json_response(StatusCode::OK, &ref_shape(&api, &full, &sha))),
        None => Err(ApiError::not_found(GET_REF_DOCS)),
    }
}

async fn create_ref(
    State(ctx): State<Arc<Ctx>>,
    Path((owner, repo)): Path<(String, String)>,
    headers: HeaderMap,
    request: Bytes,
) -> Result<Response, ApiError> {
    let (bare, api) = bare_repo(
        &ctx,
        &headers,
        &owner,
        &repo,
        CONTENTS_WRITE,
        CREATE_REF_DOCS,
    )?;
    let request = json_object(&request, CREATE_REF_DOCS)?;
    let name = required_string(&request, "ref", CREATE_REF_DOCS)?;
    let sha = required_string(&request, "sha", CREATE_REF_DOCS)?;
    if !name.starts_with("refs/")
        || name.matches('/').count() < 2
        || git(&bare, &["check-ref-format", &name]).await.is_err()
    {
        return Err(unprocessable(
            "Reference name must start with 'refs/' and have at least two slashes.",
            CREATE_REF_DOCS,
        ));
    }
    require_commit(&bare, &sha, CREATE_REF_DOCS).await?;
    // Compare-and-swap against "must not exist yet".
    if git(&bare, &["update-ref", &name, &sha, ZERO_OID])
        .await
        .is_err()
    {
        return Err(unprocessable("Reference already exists", CREATE_REF_DOCS));
    }
    Ok(json_response(
        StatusCode::CREATED,
        &ref_shape(&api, &name, &sha),
    ))
}

async fn update_ref(
    State(ctx): State<Arc<Ctx>>,
    Path((owner, repo, name)): Path<(String, String, String)>,
    headers: HeaderMap,
    request: Bytes,
) -> Result<Response, ApiError> {
    let (bare, api) = bare_repo(
        &ctx,
        &headers,
        &owner,
        &repo,
        CONTENTS_WRITE,
        UPDATE_REF_DOCS,
    )?;
    let request = json_object(&request, UPDATE_REF_DOCS)?;
    let sha = required_string(&request, "sha", UPDATE_REF_DOCS)?;
    let force = request
        .get("force")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let full = format!("refs/{name}");
    let Some(current) = ref_target(&bare, &full).await else {
        return Err(unprocessable("Reference does not exist", UPDATE_REF_DOCS));
    };
    require_commit(&bare, &sha, UPDATE_REF_DOCS).await?;
    let fast_forward = git(&bare, &["merge-base", "--is-ancestor", &current, &sha])
        .await
        .is_ok();
    if !fast_forward && !force {
        return Err(unprocessable(
            "Update is not a fast forward",
            UPDATE_REF_DOCS,
        ));
    }
    if git(&bare, &["update-ref", &full, &sha, &current])
        .await
        .is_err()
    {
        return Err(unprocessable(
            "Reference cannot be updated",
            UPDATE_REF_DOCS,
        ));
    }
    Ok(json_response(StatusCode::OK, &ref_shape(&api, &full, &sha)))
}
