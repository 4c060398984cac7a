//! Publishing: the job's changes become one commit made through the Git Data
//! API (blobs → tree on the base tree → commit → branch ref), so GitHub signs
//! it as the App and no credentials ever reach git. The branch is the bot's
//! own, `gitkeeper/<issue>-<slug>`, created or fast-forwarded; it is reset
//! only when its head is the bot's own commit. Publishing owns the whole
//! pull-request flow and returns a [`Publication`]: the commit and its
//! trailers, the branch, the pull request and its description, the check
//! run, the labels, and the pull request's diff for later revisions.
//!
//! Must never: push; move a branch someone else has committed to without
//! being told to; commit paths outside the repository or into `.git/`.

mod branch;
mod changes;
mod check_run;
mod diff;
mod message;
mod publication;
mod pull_request;
mod report;

pub use branch::{
    BranchOwner, BranchUpdate, OnDiverged, branch_name, branch_owner, not_overwritten, short,
    task_branch, update_branch,
};
pub use changes::{FileUpdate, updates_from_applied, updates_from_work_dir};
pub use check_run::{CHECK_NAME, checks_summary, report_check_run};
pub use diff::pull_diff;
pub(crate) use message::one_line;
pub use message::{CommitKind, CommitMessage, Trailers};
pub use publication::{Publication, PullTask, Work, publish_pull, push_revision};
pub use pull_request::{PublishedPull, PullPlan, issue_of, open_or_update};
pub use report::{
    agent_section, attempt_rows, attempt_table, file_lines, pr_body, route_section,
    validation_section,
};

/// The hidden line that marks a pull request as the bot's for `issue`
/// (kept here for callers of [`open_or_update`]; markers live in [`crate::markers`]).
pub use crate::markers::issue as marker;

use crate::github::{FileMode, GitCommit, GithubError, Installation, Sha, TreeChange};
use crate::ids::IssueNumber;
use crate::intent::RepoRef;

/// Why publishing did not happen.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PublishError {
    #[error(transparent)]
    Github(#[from] GithubError),
    /// The pull request description could not be rendered.
    #[error(transparent)]
    Describe(#[from] crate::prompts::PromptError),
    #[error("cannot read the changed file {path} from the job's work dir: {source}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("refusing to commit {path}: paths must stay inside the repository and out of .git/")]
    UnsafePath { path: String },
    #[error("there is nothing to commit: the changes leave every file as it was")]
    NothingToCommit,
    #[error(
        "pull request #{number} is open on {branch} but was not opened by Gitkeeper for this issue; \
         the bot leaves it alone: close it or rename its branch, then run `/gitkeeper retry`"
    )]
    ForeignPull { branch: String, number: IssueNumber },
    #[error(
        "branch {branch} has commits the bot did not make (it is at {head}, the bot expected {expected}); \
         the bot will not overwrite them: merge or close that work, or delete the branch and run `/gitkeeper retry`"
    )]
    Diverged {
        branch: String,
        head: Sha,
        expected: Sha,
    },
}

impl PublishError {
    /// True when publishing again later may succeed (GitHub was briefly unavailable).
    pub fn is_transient(&self) -> bool {
        match self {
            PublishError::Github(e) => e.is_transient(),
            _ => false,
        }
    }

    /// How long GitHub asked to be left alone, when it rate-limited a call.
    pub fn retry_after(&self) -> Option<std::time::Duration> {
        match self {
            PublishError::Github(e) => e.retry_after(),
            _ => None,
        }
    }
}

/// Commit `updates` on top of `parent` as one commit with `message`.
pub async fn commit_updates(
    github: &Installation,
    repo: &RepoRef,
    parent: &Sha,
    updates: &[FileUpdate],
    message: &str,
) -> Result<GitCommit, PublishError> {
    if updates.is_empty() {
        return Err(PublishError::NothingToCommit);
    }
    let base = github.get_commit(repo, parent).await?;
    let mut tree_changes = Vec::with_capacity(updates.len());
    for update in updates {
        if !changes::is_safe_path(&update.path) {
            return Err(PublishError::UnsafePath {
                path: update.path.clone(),
            });
        }
        tree_changes.push(match &update.content {
            Some(bytes) => TreeChange::Blob {
                path: update.path.clone(),
                mode: update.mode,
                sha: github.create_blob(repo, bytes).await?,
            },
            None => TreeChange::Delete {
                path: update.path.clone(),
            },
        });
    }
    let tree = github.create_tree(repo, &base.tree, &tree_changes).await?;
    if tree == base.tree {
        return Err(PublishError::NothingToCommit);
    }
    Ok(github
        .create_commit(repo, message, &tree, std::slice::from_ref(parent))
        .await?)
}

impl FileUpdate {
    /// A regular file with `content`.
    pub fn write(path: &str, content: impl Into<Vec<u8>>) -> Self {
        Self {
            path: path.to_string(),
            content: Some(content.into()),
            mode: FileMode::Regular,
        }
    }

    /// Delete `path`.
    pub fn delete(path: &str) -> Self {
        Self {
            path: path.to_string(),
            content: None,
            mode: FileMode::Regular,
        }
    }
}
