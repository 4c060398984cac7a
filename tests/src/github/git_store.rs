//! The bare repositories behind the double, made and seeded with the real `git`
//! CLI (run through `tokio::process`, never blocking the runtime). Seeding
//! writes straight to the bare repository on disk, not over HTTP, so it does
//! not show up in the request log.

use std::path::Path;
use std::process::Stdio;

use anyhow::{Context as _, bail};
use tokio::process::Command;

/// A `git` command isolated from the machine's and the user's configuration.
pub(crate) fn git_command(cwd: &Path) -> Command {
    let mut command = Command::new("git");
    command
        .current_dir(cwd)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_TERMINAL_PROMPT", "0")
        .env("GIT_AUTHOR_NAME", "Gitkeeper Test")
        .env("GIT_AUTHOR_EMAIL", "test@gitkeeper.invalid")
        .env("GIT_COMMITTER_NAME", "Gitkeeper Test")
        .env("GIT_COMMITTER_EMAIL", "test@gitkeeper.invalid")
        .stdin(Stdio::null())
        .kill_on_drop(true);
    command
}

/// Run git and return its trimmed stdout; a failure carries git's stderr.
pub(crate) async fn git(cwd: &Path, args: &[&str]) -> anyhow::Result<String> {
    let output = git_command(cwd)
        .args(args)
        .output()
        .await
        .with_context(|| format!("could not run `git {}`: is git installed?", args.join(" ")))?;
    if !output.status.success() {
        bail!(
            "`git {}` in {} failed: {}",
            args.join(" "),
            cwd.display(),
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&output.stdout).trim().to_string())
}

/// Create a bare repository whose default branch is `main` and that accepts pushes over HTTP.
pub(crate) async fn init_bare(path: &Path) -> anyhow::Result<()> {
    let parent = path.parent().context("repository path has no parent")?;
    tokio::fs::create_dir_all(parent)
        .await
        .with_context(|| format!("could not create {}", parent.display()))?;
    let path_str = path.to_str().context("repository path is not UTF-8")?;
    git(
        parent,
        &[
            "init",
            "--quiet",
            "--bare",
            "--initial-branch=main",
            path_str,
        ],
    )
    .await?;
    git(path, &["config", "http.receivepack", "true"]).await?;
    Ok(())
}

/// Commit `files` on top of `branch` (or of the default branch, or as a root
/// commit when the repository is empty) and update the branch. Returns the commit id.
pub(crate) async fn push_files(
    bare: &Path,
    branch: &str,
    files: &[(&str, &str)],
    message: &str,
) -> anyhow::Result<String> {
    let work = tempfile::tempdir().context("could not create a temporary worktree")?;
    let dir = work.path();
    git(dir, &["init", "--quiet", "--initial-branch=gitkeeper-seed"]).await?;
    let bare_str = bare.to_str().context("repository path is not UTF-8")?;
    let start = if rev_parse(bare, &format!("refs/heads/{branch}"))
        .await
        .is_some()
    {
        Some(format!("refs/heads/{branch}"))
    } else if rev_parse(bare, "HEAD").await.is_some() {
        Some("HEAD".to_string())
    } else {
        None
    };
    if let Some(start) = start {
        git(dir, &["fetch", "--quiet", bare_str, &start]).await?;
        git(
            dir,
            &["checkout", "--quiet", "-B", "gitkeeper-seed", "FETCH_HEAD"],
        )
        .await?;
    }
    for (path, content) in files {
        let relative = Path::new(path);
        if relative.is_absolute() || relative.components().any(|c| c.as_os_str() == "..") {
            bail!("push_files: {path:?} must be a relative path inside the repository");
        }
        let target = dir.join(relative);
        if let Some(parent) = target.parent() {
            tokio::fs::create_dir_all(parent).await?;
        }
        tokio::fs::write(&target, content)
            .await
            .with_context(|| format!("could not write {}", target.display()))?;
    }
    git(dir, &["add", "--all"]).await?;
    git(
        dir,
        &[
            "commit",
            "--quiet",
            "--allow-empty",
            "--no-gpg-sign",
            "-m",
            message,
        ],
    )
    .await?;
    git(
        dir,
        &[
            "push",
            "--quiet",
            bare_str,
            &format!("HEAD:refs/heads/{branch}"),
        ],
    )
    .await?;
    git(dir, &["rev-parse", "HEAD"]).await
}

/// The commit id `rev` names in the bare repository, if it exists.
pub(crate) async fn rev_parse(bare: &Path, rev: &str) -> Option<String> {
    git(
        bare,
        &[
            "rev-parse",
            "--verify",
            "--quiet",
            &format!("{rev}^{{commit}}"),
        ],
    )
    .await
    .ok()
    .filter(|sha| !sha.is_empty())
}

/// A file's exact content at `rev`, if both exist.
pub(crate) async fn show_file(bare: &Path, rev: &str, path: &str) -> Option<String> {
    let output = git_command(bare)
        .args(["show", &format!("{rev}:{path}")])
        .output()
        .await
        .ok()?;
    output
        .status
        .success()
        .then(|| String::from_utf8_lossy(&output.stdout).into_owned())
}
