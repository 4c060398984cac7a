//! The GitHub double: an in-process HTTP server on 127.0.0.1 that speaks
//! GitHub's REST API (same paths, methods, status codes, response shapes and
//! error bodies), checks App JWTs and installation tokens like GitHub, and
//! serves real git repositories over smart HTTP on the same origin.
//!
//! It must never accept what GitHub would refuse: a test passing against the
//! double should mean the bot works against GitHub. Each API area lives in its
//! own file (`issues.rs`, `reactions.rs`, `git_data.rs`, ...) exposing `routes()`; add new
//! endpoints the same way and merge them in `router()`. A handler locks the
//! state, calls `auth::repo_access` with the permission GitHub requires, answers
//! with `error::ApiError` or `shapes::*` JSON; the middleware does the rest
//! (request log, injected failures, rate-limit headers). GitHub accepts POST
//! wherever it accepts PATCH, and octocrab relies on it: route both.
//!
//! ```no_run
//! # async fn example() {
//! use gitkeeper_e2e::github::{GithubDouble, GithubDoubleOptions, Permission};
//! let github = GithubDouble::start(GithubDoubleOptions::default()).await;
//! github.add_installation(7, "acme");
//! github.add_repo(7, "acme", "widgets").await;
//! github.add_issue("acme", "widgets", 1, "Add a button", "Please", "alice");
//! github.set_permission("acme", "widgets", "alice", Permission::Write);
//! github.push_files("acme", "widgets", "main", &[("README.md", "hi\n")], "init").await;
//! // point the bot at github.url() with app id github.app_id() and test_app_key_path()
//! # }
//! ```

mod app_jwt;
mod auth;
mod checks;
mod collaborators;
mod error;
mod failures;
mod git_data;
mod git_http;
mod git_store;
mod holds;
mod issues;
mod labels;
mod log;
mod middleware;
mod pages;
mod pulls;
mod rate_limit;
mod reactions;
mod reviews;
mod shapes;
mod state;

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use chrono::{DateTime, Utc};
use jsonwebtoken::DecodingKey;
use tokio::sync::oneshot;

pub use app_jwt::{
    mint_app_jwt, other_test_key_path, sign_jwt, test_app_key_path, test_app_public_key_path,
};
pub use failures::Failure;
pub use holds::Hold;
pub use log::RecordedRequest;
pub use state::{Permission, ReactionTarget};

use state::{App, Ctx, GithubState, Installation, Issue, Repo, RepoKey};

/// A pull request as the double holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PullView {
    pub number: u64,
    pub title: String,
    pub body: String,
    pub head: String,
    pub base: String,
    pub draft: bool,
    pub open: bool,
    pub author: String,
    pub requested_reviewers: Vec<String>,
}

/// A review comment (on a line of a pull request) as the double holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReviewCommentView {
    pub id: u64,
    pub review_id: u64,
    pub in_reply_to: Option<u64>,
    pub path: String,
    pub line: Option<u64>,
    pub body: String,
    pub author: String,
}

/// A check run as the double holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckRunView {
    pub name: String,
    pub head_sha: String,
    pub status: String,
    pub conclusion: Option<String>,
    pub title: Option<String>,
    pub summary: Option<String>,
    pub text: Option<String>,
}

/// How to configure the double's GitHub App.
#[derive(Debug, Clone)]
pub struct GithubDoubleOptions {
    pub app_id: u64,
    /// The App's slug; its bot user is `<slug>[bot]`.
    pub app_slug: String,
    pub app_name: String,
    /// Also accepted as a JWT `iss`, as GitHub does.
    pub client_id: String,
    /// The account that owns the App.
    pub app_owner: String,
    /// PEM of the App's RSA public key (SPKI or PKCS#1).
    pub public_key_pem: String,
    /// Permissions every installation grants, e.g. `issues → write`.
    pub permissions: BTreeMap<String, String>,
    /// Lifetime of installation tokens (GitHub: one hour).
    pub token_lifetime: Duration,
}

impl Default for GithubDoubleOptions {
    /// The test App (id 4242, slug `gitkeeper`) with the fixture public key.
    fn default() -> Self {
        let key_path = test_app_public_key_path();
        let public_key_pem = std::fs::read_to_string(&key_path)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", key_path.display()));
        let permissions = [
            ("checks", "write"),
            ("contents", "write"),
            ("issues", "write"),
            ("metadata", "read"),
            ("pull_requests", "write"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        Self {
            app_id: 4242,
            app_slug: "gitkeeper".to_string(),
            app_name: "Gitkeeper".to_string(),
            client_id: "Iv23liGitkeeperTest01".to_string(),
            app_owner: "gitkeeper".to_string(),
            public_key_pem,
            permissions,
            token_lifetime: Duration::from_secs(3600),
        }
    }
}

/// A comment as the double stores it, for assertions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssueComment {
    pub id: u64,
    pub issue_number: u64,
    pub author: String,
    pub body: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A reaction as the double stores it, for assertions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reaction {
    pub id: u64,
    pub target: ReactionTarget,
    pub user: String,
    pub content: String,
}

/// A running GitHub double; the server stops and its repositories are deleted when it is dropped.
pub struct GithubDouble {
    ctx: Arc<Ctx>,
    addr: SocketAddr,
    shutdown: Option<oneshot::Sender<()>>,
    // Dropped last: repositories live here.
    _git_root: tempfile::TempDir,
}

impl GithubDouble {
    /// Start the double on a random 127.0.0.1 port.
    pub async fn start(options: GithubDoubleOptions) -> GithubDouble {
        let key =
            DecodingKey::from_rsa_pem(options.public_key_pem.as_bytes()).unwrap_or_else(|e| {
                panic!("GithubDoubleOptions::public_key_pem is not an RSA public key PEM: {e}")
            });
        let git_root = tempfile::Builder::new()
            .prefix("github-double-")
            .tempdir()
            .expect("cannot create a temporary directory for the double's repositories");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("cannot bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("listener has no address");
        let app = App {
            id: options.app_id,
            slug: options.app_slug,
            name: options.app_name,
            client_id: options.client_id,
            owner: options.app_owner,
            key,
            permissions: options.permissions,
            events: [
                "issue_comment",
                "issues",
                "pull_request",
                "pull_request_review",
                "pull_request_review_comment",
            ]
            .map(String::from)
            .to_vec(),
            created_at: Utc::now(),
        };
        let ctx = Arc::new(Ctx::new(
            GithubState::new(app, options.token_lifetime),
            format!("http://{addr}"),
            git_root.path().to_path_buf(),
        ));
        let (shutdown, stop) = oneshot::channel::<()>();
        let router = router(ctx.clone());
        tokio::spawn(async move {
            let server = axum::serve(listener, router).with_graceful_shutdown(async {
                let _ = stop.await;
            });
            if let Err(error) = server.await {
                tracing::error!(%error, "GitHub double stopped");
            }
        });
        GithubDouble {
            ctx,
            addr,
            shutdown: Some(shutdown),
            _git_root: git_root,
        }
    }

    /// Base URL with a trailing slash (`http://127.0.0.1:PORT/`): the bot's `api_url`.
    pub fn url(&self) -> String {
        format!("{}/", self.ctx.origin)
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn app_id(&self) -> u64 {
        self.ctx.lock().app.id
    }

    /// The login comments and reactions by the App carry: `<slug>[bot]`.
    pub fn bot_login(&self) -> String {
        self.ctx.lock().app.bot_login()
    }

    /// `{url}{owner}/{repo}.git`, as a repository's `clone_url`.
    pub fn clone_url(&self, owner: &str, repo: &str) -> String {
        format!("{}/{owner}/{repo}.git", self.ctx.origin)
    }

    /// The clone URL with `x-access-token:TOKEN@` credentials in it.
    pub fn authenticated_clone_url(&self, owner: &str, repo: &str, token: &str) -> String {
        format!(
            "http://{}:{token}@{}/{owner}/{repo}.git",
            git_http::TOKEN_USER,
            self.addr
        )
    }

    /// Register an installation of the App on `account_login`, granting the App's permissions.
    pub fn add_installation(&self, id: u64, account_login: &str) {
        let mut st = self.ctx.lock();
        st.user(account_login);
        let permissions = st.app.permissions.clone();
        st.installations.insert(
            id,
            Installation {
                account: account_login.to_string(),
                permissions,
            },
        );
    }

    /// Register `owner/name` under an installation and create its bare repository on disk.
    /// Panics if the installation is unknown or belongs to another account (as on GitHub,
    /// an installation covers only its own account's repositories).
    pub async fn add_repo(&self, installation_id: u64, owner: &str, name: &str) {
        {
            let st = self.ctx.lock();
            let installation = st.installations.get(&installation_id).unwrap_or_else(|| {
                panic!("add_repo: installation {installation_id} was not added")
            });
            assert!(
                installation.account.eq_ignore_ascii_case(owner),
                "add_repo: installation {installation_id} is on {}, not on {owner}",
                installation.account
            );
        }
        let path = self.ctx.git_root.join(owner).join(format!("{name}.git"));
        git_store::init_bare(&path)
            .await
            .unwrap_or_else(|e| panic!("add_repo: cannot create {}: {e:#}", path.display()));
        let mut st = self.ctx.lock();
        st.user(owner);
        let id = st.next_id();
        st.repos.insert(
            RepoKey::new(owner, name),
            Repo {
                id,
                owner: owner.to_string(),
                name: name.to_string(),
                installation_id,
                issues: BTreeMap::new(),
                permissions: Default::default(),
                pulls: BTreeMap::new(),
                labels: BTreeMap::new(),
            },
        );
    }

    /// Seed an open issue.
    pub fn add_issue(
        &self,
        owner: &str,
        repo: &str,
        number: u64,
        title: &str,
        body: &str,
        author: &str,
    ) {
        let mut st = self.ctx.lock();
        st.user(author);
        let id = st.next_id();
        let repo = st
            .repos
            .get_mut(&RepoKey::new(owner, repo))
            .unwrap_or_else(|| panic!("add_issue: {owner}/{repo} was not added"));
        repo.issues.insert(
            number,
            Issue {
                id,
                number,
                title: title.to_string(),
                body: body.to_string(),
                author: author.to_string(),
                created_at: Utc::now(),
                pull_request: false,
            },
        );
    }

    /// Seed an open pull request from `head` into `main` that `author` opened
    /// on github.com (the branch must exist for its head to resolve); returns its number.
    pub fn add_pull(
        &self,
        owner: &str,
        repo: &str,
        head: &str,
        title: &str,
        body: &str,
        author: &str,
    ) -> u64 {
        let mut st = self.ctx.lock();
        st.user(author);
        let id = st.next_id();
        let repo = st
            .repos
            .get_mut(&RepoKey::new(owner, repo))
            .unwrap_or_else(|| panic!("add_pull: {owner}/{repo} was not added"));
        let now = Utc::now();
        let number = repo.next_number();
        repo.pulls.insert(
            number,
            state::Pull {
                id,
                number,
                title: title.to_string(),
                body: body.to_string(),
                head: head.to_string(),
                base: "main".to_string(),
                draft: false,
                open: true,
                author: author.to_string(),
                requested_reviewers: Vec::new(),
                created_at: now,
                updated_at: now,
            },
        );
        repo.issues.insert(
            number,
            Issue {
                id,
                number,
                title: title.to_string(),
                body: body.to_string(),
                author: author.to_string(),
                created_at: now,
                pull_request: true,
            },
        );
        number
    }

    /// Seed a comment by someone else (e.g. a maintainer's `/gitkeeper` command); returns its id.
    pub fn add_comment(
        &self,
        owner: &str,
        repo: &str,
        number: u64,
        author: &str,
        body: &str,
    ) -> u64 {
        let mut st = self.ctx.lock();
        let key = RepoKey::new(owner, repo);
        assert!(
            st.repos
                .get(&key)
                .is_some_and(|r| r.issues.contains_key(&number)),
            "add_comment: issue {owner}/{repo}#{number} was not added"
        );
        st.user(author);
        let now = Utc::now();
        let id = st.next_id();
        st.comments.insert(
            id,
            state::Comment {
                id,
                repo: key,
                issue_number: number,
                body: body.to_string(),
                author: author.to_string(),
                created_at: now,
                updated_at: now,
            },
        );
        id
    }

    /// Set `username`'s permission on `owner/repo` (unset users have `Permission::None`).
    pub fn set_permission(&self, owner: &str, repo: &str, username: &str, permission: Permission) {
        let mut st = self.ctx.lock();
        st.user(username);
        let repo = st
            .repos
            .get_mut(&RepoKey::new(owner, repo))
            .unwrap_or_else(|| panic!("set_permission: {owner}/{repo} was not added"));
        repo.permissions.insert(username.to_lowercase(), permission);
    }

    /// Lifetime of tokens issued from now on.
    pub fn set_token_lifetime(&self, lifetime: Duration) {
        self.ctx.lock().token_lifetime = lifetime;
    }

    /// Make every installation token issued so far expire now.
    pub fn expire_tokens(&self) {
        let now = Utc::now();
        for token in self.ctx.lock().tokens.values_mut() {
            token.expires_at = now;
        }
    }

    /// An installation token for `installation_id` minted directly, without a request and
    /// without counting in `tokens_issued` (for tests that exercise something else).
    pub fn mint_installation_token(&self, installation_id: u64) -> String {
        let mut st = self.ctx.lock();
        let permissions = st
            .installations
            .get(&installation_id)
            .unwrap_or_else(|| {
                panic!("mint_installation_token: installation {installation_id} was not added")
            })
            .permissions
            .clone();
        auth::mint_token(
            &mut st,
            installation_id,
            permissions,
            None::<BTreeSet<RepoKey>>,
        )
    }

    /// How many installation tokens `POST /app/installations/{id}/access_tokens` handed out.
    pub fn tokens_issued(&self) -> usize {
        self.ctx.lock().tokens_issued
    }

    /// Every installation token handed out so far (issued or minted), for
    /// tests that look for them where they must never be.
    pub fn issued_tokens(&self) -> Vec<String> {
        self.ctx.lock().tokens.keys().cloned().collect()
    }

    /// Every request received so far, oldest first.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.ctx.lock().requests.clone()
    }

    /// Requests whose method (`*` for any) and path match; the pattern syntax is `fail_next`'s.
    pub fn requests_matching(&self, method: &str, path_pattern: &str) -> Vec<RecordedRequest> {
        self.ctx
            .lock()
            .requests
            .iter()
            .filter(|r| method == "*" || r.method.eq_ignore_ascii_case(method))
            .filter(|r| failures::path_matches(path_pattern, &r.path))
            .cloned()
            .collect()
    }

    /// Comments on an issue or pull request, oldest first.
    pub fn comments(&self, owner: &str, repo: &str, number: u64) -> Vec<IssueComment> {
        let key = RepoKey::new(owner, repo);
        self.ctx
            .lock()
            .comments
            .values()
            .filter(|c| c.repo == key && c.issue_number == number)
            .map(|c| IssueComment {
                id: c.id,
                issue_number: c.issue_number,
                author: c.author.clone(),
                body: c.body.clone(),
                created_at: c.created_at,
                updated_at: c.updated_at,
            })
            .collect()
    }

    /// Seed a review comment by `author` on `path`, `line` of pull request
    /// `number`, as part of review `review_id` (a new review when `None`).
    /// Returns (comment id, review id).
    #[allow(clippy::too_many_arguments)]
    pub fn add_review_comment(
        &self,
        owner: &str,
        repo: &str,
        number: u64,
        review_id: Option<u64>,
        author: &str,
        path: &str,
        line: Option<u64>,
        body: &str,
    ) -> (u64, u64) {
        let mut st = self.ctx.lock();
        let key = RepoKey::new(owner, repo);
        assert!(
            st.repos
                .get(&key)
                .is_some_and(|r| r.pulls.contains_key(&number)),
            "add_review_comment: pull request {owner}/{repo}#{number} does not exist"
        );
        st.user(author);
        let id = st.next_id();
        let review_id = review_id.unwrap_or_else(|| st.next_id());
        st.review_comments.insert(
            id,
            state::ReviewComment {
                id,
                repo: key,
                pull_number: number,
                review_id,
                in_reply_to: None,
                path: path.to_string(),
                line,
                body: body.to_string(),
                author: author.to_string(),
                created_at: Utc::now(),
            },
        );
        (id, review_id)
    }

    /// Review comments on pull request `number`, oldest first.
    pub fn review_comments(&self, owner: &str, repo: &str, number: u64) -> Vec<ReviewCommentView> {
        let key = RepoKey::new(owner, repo);
        self.ctx
            .lock()
            .review_comments
            .values()
            .filter(|c| c.repo == key && c.pull_number == number)
            .map(|c| ReviewCommentView {
                id: c.id,
                review_id: c.review_id,
                in_reply_to: c.in_reply_to,
                path: c.path.clone(),
                line: c.line,
                body: c.body.clone(),
                author: c.author.clone(),
            })
            .collect()
    }

    /// Reactions on an issue or a comment, oldest first.
    pub fn reactions(&self, owner: &str, repo: &str, target: ReactionTarget) -> Vec<Reaction> {
        let key = RepoKey::new(owner, repo);
        self.ctx
            .lock()
            .reactions
            .iter()
            .filter(|r| r.repo == key && r.target == target)
            .map(|r| Reaction {
                id: r.id,
                target: r.target,
                user: r.user.clone(),
                content: r.content.clone(),
            })
            .collect()
    }

    /// Answer the next request matching `method` (`*` for any) and `path_pattern`
    /// (`*` = within one segment, `**` = any segments) with `failure`.
    pub fn fail_next(&self, method: &str, path_pattern: &str, failure: Failure) {
        self.fail_next_n(method, path_pattern, failure, 1);
    }

    /// Like `fail_next`, for the next `times` matching requests.
    pub fn fail_next_n(&self, method: &str, path_pattern: &str, failure: Failure, times: usize) {
        self.ctx
            .lock()
            .failures
            .push(failures::ScheduledFailure::new(
                method,
                path_pattern,
                failure,
                times,
            ));
    }

    /// Hold the next request matching `method` (`*` for any) and
    /// `path_pattern` (as `fail_next`) until the returned [`Hold`] is
    /// released or dropped; it is then served, whether or not its caller
    /// is still there.
    pub fn hold_next(&self, method: &str, path_pattern: &str) -> Hold {
        let (scheduled, hold) = holds::schedule(method, path_pattern);
        self.ctx.lock().holds.push(scheduled);
        hold
    }

    /// The bare repository of `owner/repo` on disk.
    pub fn repo_path(&self, owner: &str, repo: &str) -> PathBuf {
        let st = self.ctx.lock();
        let repo = st
            .repo(owner, repo)
            .unwrap_or_else(|| panic!("repo_path: {owner}/{repo} was not added"));
        self.ctx
            .git_root
            .join(&repo.owner)
            .join(format!("{}.git", repo.name))
    }

    /// Commit `files` (path, content) on `branch` directly in the bare repository
    /// (starting from the branch, else the default branch, else an empty history).
    /// Returns the new commit id.
    pub async fn push_files(
        &self,
        owner: &str,
        repo: &str,
        branch: &str,
        files: &[(&str, &str)],
        message: &str,
    ) -> String {
        let path = self.repo_path(owner, repo);
        git_store::push_files(&path, branch, files, message)
            .await
            .unwrap_or_else(|e| panic!("push_files to {owner}/{repo} {branch}: {e:#}"))
    }

    /// The commit `branch` points at, if the branch exists.
    pub async fn branch_sha(&self, owner: &str, repo: &str, branch: &str) -> Option<String> {
        git_store::rev_parse(
            &self.repo_path(owner, repo),
            &format!("refs/heads/{branch}"),
        )
        .await
    }

    /// A file's content at `rev` (branch, tag or commit id), if both exist.
    pub async fn file_at(&self, owner: &str, repo: &str, rev: &str, path: &str) -> Option<String> {
        git_store::show_file(&self.repo_path(owner, repo), rev, path).await
    }

    /// The repository's pull requests, oldest first.
    pub fn pulls(&self, owner: &str, repo: &str) -> Vec<PullView> {
        let st = self.ctx.lock();
        st.repo(owner, repo)
            .map(|r| {
                r.pulls
                    .values()
                    .map(|p| PullView {
                        number: p.number,
                        title: p.title.clone(),
                        body: p.body.clone(),
                        head: p.head.clone(),
                        base: p.base.clone(),
                        draft: p.draft,
                        open: p.open,
                        author: p.author.clone(),
                        requested_reviewers: p.requested_reviewers.clone(),
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Put labels on issue or pull request `number`, as a person does on GitHub.
    pub fn add_labels(&self, owner: &str, repo: &str, number: u64, labels: &[&str]) {
        let mut st = self.ctx.lock();
        let repo = st
            .repos
            .get_mut(&RepoKey::new(owner, repo))
            .unwrap_or_else(|| panic!("add_labels: {owner}/{repo} was not added"));
        repo.labels
            .entry(number)
            .or_default()
            .extend(labels.iter().map(|l| (*l).to_string()));
    }

    /// Labels on issue or pull request `number`, sorted.
    pub fn labels(&self, owner: &str, repo: &str, number: u64) -> Vec<String> {
        let st = self.ctx.lock();
        st.repo(owner, repo)
            .and_then(|r| r.labels.get(&number))
            .map(|l| l.iter().cloned().collect())
            .unwrap_or_default()
    }

    /// Check runs created on the repository, oldest first.
    pub fn check_runs(&self, owner: &str, repo: &str) -> Vec<CheckRunView> {
        let st = self.ctx.lock();
        let key = RepoKey::new(owner, repo);
        st.check_runs
            .values()
            .filter(|r| r.repo == key)
            .map(|r| CheckRunView {
                name: r.name.clone(),
                head_sha: r.head_sha.clone(),
                status: r.status.clone(),
                conclusion: r.conclusion.clone(),
                title: r.title.clone(),
                summary: r.summary.clone(),
                text: r.text.clone(),
            })
            .collect()
    }

    /// Run `git ARGS` in the repository's bare directory (e.g. `log`,
    /// `show`, `cat-file`) and return its trimmed output; panics if git fails.
    pub async fn git(&self, owner: &str, repo: &str, args: &[&str]) -> String {
        git_store::git(&self.repo_path(owner, repo), args)
            .await
            .unwrap_or_else(|e| panic!("{e:#}"))
    }
}

impl Drop for GithubDouble {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
    }
}

fn router(ctx: Arc<Ctx>) -> Router {
    Router::new()
        .merge(auth::routes())
        .merge(issues::routes())
        .merge(reactions::routes())
        .merge(collaborators::routes())
        .merge(git_data::routes())
        .merge(pulls::routes())
        .merge(labels::routes())
        .merge(checks::routes())
        .merge(reviews::routes())
        .fallback(middleware::not_found)
        .method_not_allowed_fallback(middleware::not_found)
        .layer(axum::middleware::from_fn_with_state(
            ctx.clone(),
            middleware::observe,
        ))
        .layer(DefaultBodyLimit::disable())
        .with_state(ctx)
}
