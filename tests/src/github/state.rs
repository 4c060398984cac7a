//! The double's memory: the App, installations, repositories, issues, comments,
//! reactions, tokens, the request log and scheduled failures, all behind one
//! mutex. Handlers lock it briefly and never hold the guard across an `.await`.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::PathBuf;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use chrono::{DateTime, Utc};
use jsonwebtoken::DecodingKey;

use super::failures::ScheduledFailure;
use super::holds::ScheduledHold;
use super::log::RecordedRequest;
use super::rate_limit::{RateKey, RateWindow};

/// Everything a handler needs: the locked state plus facts fixed at start.
pub(crate) struct Ctx {
    state: Mutex<GithubState>,
    /// `http://127.0.0.1:PORT`, without a trailing slash.
    pub origin: String,
    /// Directory holding `{owner}/{repo}.git` bare repositories.
    pub git_root: PathBuf,
}

impl Ctx {
    pub fn new(state: GithubState, origin: String, git_root: PathBuf) -> Self {
        Self {
            state: Mutex::new(state),
            origin,
            git_root,
        }
    }

    /// Lock the state; a panic in another handler must not wedge every later test assertion.
    pub fn lock(&self) -> MutexGuard<'_, GithubState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Case-insensitive `owner/name`, the way GitHub resolves repositories.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct RepoKey(String);

impl RepoKey {
    pub fn new(owner: &str, name: &str) -> Self {
        Self(format!("{}/{}", owner.to_lowercase(), name.to_lowercase()))
    }
}

pub(crate) struct App {
    pub id: u64,
    pub slug: String,
    pub name: String,
    pub client_id: String,
    pub owner: String,
    pub key: DecodingKey,
    pub permissions: BTreeMap<String, String>,
    pub events: Vec<String>,
    pub created_at: DateTime<Utc>,
}

impl App {
    pub fn bot_login(&self) -> String {
        format!("{}[bot]", self.slug)
    }
}

pub(crate) struct Installation {
    pub account: String,
    pub permissions: BTreeMap<String, String>,
}

pub(crate) struct Repo {
    pub id: u64,
    pub owner: String,
    pub name: String,
    pub installation_id: u64,
    pub issues: BTreeMap<u64, Issue>,
    /// Lower-cased login → permission on this repository.
    pub permissions: HashMap<String, Permission>,
    /// Pull requests by number (numbers are shared with issues).
    pub pulls: BTreeMap<u64, Pull>,
    /// Labels on issues and pull requests, by number.
    pub labels: BTreeMap<u64, BTreeSet<String>>,
}

impl Repo {
    /// The next issue or pull request number.
    pub fn next_number(&self) -> u64 {
        let last_issue = self.issues.keys().next_back().copied().unwrap_or(0);
        let last_pull = self.pulls.keys().next_back().copied().unwrap_or(0);
        last_issue.max(last_pull) + 1
    }
}

#[derive(Clone)]
pub(crate) struct Pull {
    pub id: u64,
    pub number: u64,
    pub title: String,
    pub body: String,
    pub head: String,
    pub base: String,
    pub draft: bool,
    pub open: bool,
    pub author: String,
    pub requested_reviewers: Vec<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Clone)]
pub(crate) struct CheckRun {
    pub id: u64,
    pub repo: RepoKey,
    pub name: String,
    pub head_sha: String,
    pub status: String,
    pub conclusion: Option<String>,
    pub title: Option<String>,
    pub summary: Option<String>,
    pub text: Option<String>,
    pub details_url: Option<String>,
    pub started_at: DateTime<Utc>,
    pub completed_at: Option<DateTime<Utc>>,
}

#[derive(Clone)]
pub(crate) struct Issue {
    pub id: u64,
    pub number: u64,
    pub title: String,
    pub body: String,
    pub author: String,
    pub created_at: DateTime<Utc>,
    /// Every pull request is also an issue (comments, labels, reactions).
    pub pull_request: bool,
}

pub(crate) struct Token {
    pub installation_id: u64,
    pub expires_at: DateTime<Utc>,
    pub permissions: BTreeMap<String, String>,
    /// `None` = every repository of the installation.
    pub repositories: Option<BTreeSet<RepoKey>>,
}

#[derive(Clone)]
pub(crate) struct Comment {
    pub id: u64,
    pub repo: RepoKey,
    pub issue_number: u64,
    pub body: String,
    pub author: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A comment on a line of a pull request's diff.
#[derive(Clone)]
pub(crate) struct ReviewComment {
    pub id: u64,
    pub repo: RepoKey,
    pub pull_number: u64,
    /// The review it belongs to (replies and single comments have their own).
    pub review_id: u64,
    pub in_reply_to: Option<u64>,
    pub path: String,
    pub line: Option<u64>,
    pub body: String,
    pub author: String,
    pub created_at: DateTime<Utc>,
}

#[derive(Clone)]
pub(crate) struct StoredReaction {
    pub id: u64,
    pub repo: RepoKey,
    pub target: ReactionTarget,
    pub user: String,
    pub content: String,
    pub created_at: DateTime<Utc>,
}

/// What a reaction is attached to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReactionTarget {
    /// An issue or pull request, by number.
    Issue(u64),
    /// An issue comment, by id.
    Comment(u64),
    /// A pull request review comment (on a line of the diff), by id.
    ReviewComment(u64),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum UserKind {
    User,
    Bot,
}

#[derive(Debug, Clone)]
pub(crate) struct User {
    pub login: String,
    pub id: u64,
    pub kind: UserKind,
}

/// A user's role on a repository, as the collaborators API reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permission {
    Admin,
    Maintain,
    Write,
    Triage,
    Read,
    None,
}

impl Permission {
    /// The coarse `permission` field: GitHub folds maintain into write and triage into read.
    pub fn legacy_name(self) -> &'static str {
        match self {
            Permission::Admin => "admin",
            Permission::Maintain | Permission::Write => "write",
            Permission::Triage | Permission::Read => "read",
            Permission::None => "none",
        }
    }

    /// The `role_name` field.
    pub fn role_name(self) -> &'static str {
        match self {
            Permission::Admin => "admin",
            Permission::Maintain => "maintain",
            Permission::Write => "write",
            Permission::Triage => "triage",
            Permission::Read => "read",
            Permission::None => "none",
        }
    }
}

pub(crate) struct GithubState {
    pub app: App,
    pub token_lifetime: Duration,
    pub installations: BTreeMap<u64, Installation>,
    pub repos: BTreeMap<RepoKey, Repo>,
    pub tokens: HashMap<String, Token>,
    pub tokens_issued: usize,
    users: BTreeMap<String, User>,
    pub comments: BTreeMap<u64, Comment>,
    pub review_comments: BTreeMap<u64, ReviewComment>,
    pub reactions: Vec<StoredReaction>,
    pub check_runs: BTreeMap<u64, CheckRun>,
    pub requests: Vec<RecordedRequest>,
    pub failures: Vec<ScheduledFailure>,
    pub holds: Vec<ScheduledHold>,
    pub rate: HashMap<RateKey, RateWindow>,
    /// Commits GitHub signed (made by the App through the Git Data API), by
    /// id, with when they were verified; anything pushed over git is unsigned.
    pub signed_commits: HashMap<String, DateTime<Utc>>,
    next_id: u64,
}

impl GithubState {
    pub fn new(app: App, token_lifetime: Duration) -> Self {
        Self {
            app,
            token_lifetime,
            installations: BTreeMap::new(),
            repos: BTreeMap::new(),
            tokens: HashMap::new(),
            tokens_issued: 0,
            users: BTreeMap::new(),
            comments: BTreeMap::new(),
            review_comments: BTreeMap::new(),
            reactions: Vec::new(),
            check_runs: BTreeMap::new(),
            requests: Vec::new(),
            failures: Vec::new(),
            holds: Vec::new(),
            rate: HashMap::new(),
            signed_commits: HashMap::new(),
            next_id: 1_000,
        }
    }

    /// A fresh id, unique across every kind of object in this double.
    pub fn next_id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    /// The user with this login, created on first sight (GitHub logins are case-insensitive).
    pub fn user(&mut self, login: &str) -> User {
        let key = login.to_lowercase();
        if let Some(user) = self.users.get(&key) {
            return user.clone();
        }
        let kind = if login.eq_ignore_ascii_case(&self.app.bot_login()) {
            UserKind::Bot
        } else {
            UserKind::User
        };
        let user = User {
            login: login.to_string(),
            id: self.next_id(),
            kind,
        };
        self.users.insert(key, user.clone());
        user
    }

    pub fn repo(&self, owner: &str, name: &str) -> Option<&Repo> {
        self.repos.get(&RepoKey::new(owner, name))
    }

    /// A token that exists and has not expired.
    pub fn live_token(&self, token: &str) -> Option<&Token> {
        self.tokens.get(token).filter(|t| t.expires_at > Utc::now())
    }

    /// A set permission, else admin for the owning account (as on GitHub), else none.
    pub fn permission_of(&self, repo: &RepoKey, login: &str) -> Permission {
        let Some(r) = self.repos.get(repo) else {
            return Permission::None;
        };
        match r.permissions.get(&login.to_lowercase()) {
            Some(permission) => *permission,
            None if r.owner.eq_ignore_ascii_case(login) => Permission::Admin,
            None => Permission::None,
        }
    }

    /// GitHub's `author_association` for `login` on `repo`.
    pub fn author_association(&self, repo: &RepoKey, login: &str) -> &'static str {
        match self.repos.get(repo) {
            Some(r) if r.owner.eq_ignore_ascii_case(login) => "OWNER",
            Some(_) if self.permission_of(repo, login) != Permission::None => "COLLABORATOR",
            _ => "NONE",
        }
    }
}
