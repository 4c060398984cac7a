//! The Git Data API: blobs, trees on a base tree, commits and branch refs.
//! Commits made this way are signed by GitHub as the App, and nothing is
//! pushed, so no credentials ever reach git. Creating blobs, trees and
//! commits is content-addressed, so those POSTs may be resent safely.

use base64::Engine as _;
use http::{Method, StatusCode};
use serde::Deserialize;
use serde_json::{Value, json};

use super::GithubError;
use super::client::Installation;
use crate::intent::RepoRef;

/// A 40-character git object id as GitHub returns it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Deserialize, serde::Serialize)]
#[serde(transparent)]
pub struct Sha(pub String);

impl std::fmt::Display for Sha {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// File modes a tree entry can have for a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileMode {
    Regular,
    Executable,
    Symlink,
}

impl FileMode {
    fn as_str(self) -> &'static str {
        match self {
            FileMode::Regular => "100644",
            FileMode::Executable => "100755",
            FileMode::Symlink => "120000",
        }
    }
}

/// One path in a new tree: set to a blob, or deleted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TreeChange {
    Blob {
        path: String,
        mode: FileMode,
        sha: Sha,
    },
    Delete {
        path: String,
    },
}

/// A commit as the bot needs it back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GitCommit {
    pub sha: Sha,
    pub tree: Sha,
    pub parents: Vec<Sha>,
    /// GitHub's signature check (true for commits the App made without an author).
    pub verified: bool,
    /// Why GitHub did or did not verify it (`valid`, `unsigned`, `bad_email`, …).
    pub verification_reason: String,
    pub author: GitIdentity,
    pub committer: GitIdentity,
    pub message: String,
}

/// A commit's author or committer as git records it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct GitIdentity {
    pub name: String,
    pub email: String,
}

#[derive(Deserialize)]
struct ShaOnly {
    sha: Sha,
}

#[derive(Deserialize)]
struct CommitAnswer {
    sha: Sha,
    tree: ShaOnly,
    #[serde(default)]
    parents: Vec<ShaOnly>,
    #[serde(default)]
    verification: Option<Verification>,
    #[serde(default)]
    author: GitIdentity,
    #[serde(default)]
    committer: GitIdentity,
    #[serde(default)]
    message: String,
}

#[derive(Deserialize)]
struct Verification {
    verified: bool,
    #[serde(default)]
    reason: String,
}

#[derive(Deserialize)]
struct RefAnswer {
    object: ShaOnly,
}

impl From<CommitAnswer> for GitCommit {
    fn from(c: CommitAnswer) -> Self {
        GitCommit {
            sha: c.sha,
            tree: c.tree.sha,
            parents: c.parents.into_iter().map(|p| p.sha).collect(),
            verified: c.verification.as_ref().is_some_and(|v| v.verified),
            verification_reason: c.verification.map(|v| v.reason).unwrap_or_default(),
            author: c.author,
            committer: c.committer,
            message: c.message,
        }
    }
}

fn repo_path(repo: &RepoRef, rest: &str) -> String {
    format!("repos/{}/{}/{rest}", repo.owner, repo.name)
}

impl Installation {
    /// Store `content` as a blob: UTF-8 text as is, anything else as base64.
    pub async fn create_blob(&self, repo: &RepoRef, content: &[u8]) -> Result<Sha, GithubError> {
        let body = match std::str::from_utf8(content) {
            Ok(text) => json!({"content": text, "encoding": "utf-8"}),
            Err(_) => json!({
                "content": base64::engine::general_purpose::STANDARD.encode(content),
                "encoding": "base64",
            }),
        };
        let path = repo_path(repo, "git/blobs");
        let answer: ShaOnly = self
            .call_idempotent(Method::POST, &path, Some(&body))
            .await?
            .json(&path)?;
        Ok(answer.sha)
    }

    /// A tree that is `base` with `changes` applied (deletions as `sha: null`).
    pub async fn create_tree(
        &self,
        repo: &RepoRef,
        base: &Sha,
        changes: &[TreeChange],
    ) -> Result<Sha, GithubError> {
        let entries: Vec<Value> = changes
            .iter()
            .map(|change| match change {
                TreeChange::Blob { path, mode, sha } => {
                    json!({"path": path, "mode": mode.as_str(), "type": "blob", "sha": sha})
                }
                TreeChange::Delete { path } => {
                    json!({"path": path, "mode": "100644", "type": "blob", "sha": null})
                }
            })
            .collect();
        let body = json!({"base_tree": base, "tree": entries});
        let path = repo_path(repo, "git/trees");
        let answer: ShaOnly = self
            .call_idempotent(Method::POST, &path, Some(&body))
            .await?
            .json(&path)?;
        Ok(answer.sha)
    }

    /// A commit of `tree` on `parents`, authored by the App (so GitHub signs it).
    pub async fn create_commit(
        &self,
        repo: &RepoRef,
        message: &str,
        tree: &Sha,
        parents: &[Sha],
    ) -> Result<GitCommit, GithubError> {
        let body = json!({"message": message, "tree": tree, "parents": parents});
        let path = repo_path(repo, "git/commits");
        let answer: CommitAnswer = self
            .call_idempotent(Method::POST, &path, Some(&body))
            .await?
            .json(&path)?;
        Ok(answer.into())
    }

    pub async fn get_commit(&self, repo: &RepoRef, sha: &Sha) -> Result<GitCommit, GithubError> {
        let path = repo_path(repo, &format!("git/commits/{sha}"));
        let answer: CommitAnswer = self.call(Method::GET, &path, None).await?.json(&path)?;
        Ok(answer.into())
    }

    /// The commit `branch` points at, or `None` when there is no such branch.
    pub async fn branch_head(
        &self,
        repo: &RepoRef,
        branch: &str,
    ) -> Result<Option<Sha>, GithubError> {
        let path = repo_path(repo, &format!("git/ref/heads/{branch}"));
        match self.call(Method::GET, &path, None).await {
            Ok(answer) => Ok(Some(answer.json::<RefAnswer>(&path)?.object.sha)),
            Err(e) if e.status() == Some(StatusCode::NOT_FOUND) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Create `branch` at `sha`; fails with 422 if it already exists.
    pub async fn create_branch(
        &self,
        repo: &RepoRef,
        branch: &str,
        sha: &Sha,
    ) -> Result<(), GithubError> {
        let path = repo_path(repo, "git/refs");
        let body = json!({"ref": format!("refs/heads/{branch}"), "sha": sha});
        self.call(Method::POST, &path, Some(&body)).await?;
        Ok(())
    }

    /// Move `branch` to `sha`; without `force` only a fast-forward is accepted.
    pub async fn move_branch(
        &self,
        repo: &RepoRef,
        branch: &str,
        sha: &Sha,
        force: bool,
    ) -> Result<(), GithubError> {
        let path = repo_path(repo, &format!("git/refs/heads/{branch}"));
        let body = json!({"sha": sha, "force": force});
        self.call(Method::PATCH, &path, Some(&body)).await?;
        Ok(())
    }
}
