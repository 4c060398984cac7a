//! The diff of a published pull request, read from the repository's mirror,
//! for a revision or an explanation to build on.
//!
//! Must never: block the async runtime (git runs as a `tokio` child process)
//! or let git prompt for anything.

use crate::checkout::Checkouts;
use crate::intent::RepoRef;

/// `git diff base..head` in `repo`'s mirror (both commits are in it after
/// the checkout's fetch); empty, with a warning, when there is no mirror or git fails.
pub async fn pull_diff(checkouts: &Checkouts, repo: &RepoRef, base: &str, head: &str) -> String {
    let mirror = match checkouts.mirror_path(repo) {
        Ok(path) => path,
        Err(e) => {
            tracing::warn!(error = %e, "no mirror for the pull request's diff");
            return String::new();
        }
    };
    let output = tokio::process::Command::new("git")
        .arg("--git-dir")
        .arg(&mirror)
        .args(["diff", "--no-color", "--no-ext-diff", base, head])
        .env("GIT_TERMINAL_PROMPT", "0")
        .output()
        .await;
    match output {
        Ok(o) if o.status.success() => String::from_utf8_lossy(&o.stdout).into_owned(),
        Ok(o) => {
            tracing::warn!(stderr = %String::from_utf8_lossy(&o.stderr).trim(), "git diff of the pull request failed");
            String::new()
        }
        Err(e) => {
            tracing::warn!(error = %e, "cannot run git for the pull request's diff");
            String::new()
        }
    }
}
