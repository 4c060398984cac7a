//! `gitkeeper-bot solve`: context → route → generation loop on a local git
//! repository, without GitHub. The work happens in a temporary `git
//! worktree` of HEAD, so the user's checkout is never touched; the result
//! becomes one commit on a new branch `gitkeeper/solve-<slug>` (or, with
//! `--dry-run`, a printed diff). It must never write to the user's working
//! tree, never move an existing branch, and never leave a worktree behind.

use std::fmt;
use std::path::{Path, PathBuf};

use tokio::process::Command;

use crate::config::Settings;
use crate::generate::{Generation, GenerationOutcome, ModelPool};
use crate::route::Route;
use crate::task::{TaskError, TaskRun, TaskSpec, run_task};

/// What to solve and how.
#[derive(Debug, Clone)]
pub struct SolveOptions {
    pub repo_dir: PathBuf,
    /// The task: first line is the title, the rest the body.
    pub task: String,
    pub labels: Vec<String>,
    /// Start this many tiers higher (`/gitkeeper escalate`).
    pub escalations: u32,
    pub dry_run: bool,
    /// Allow paid tiers when `require_approval_for_cloud` is set.
    pub approve_cloud: bool,
}

/// What a solve run did.
#[derive(Debug)]
pub struct SolveReport {
    pub route: Route,
    pub generation: Generation,
    /// The branch written (not for dry runs or failures).
    pub branch: Option<String>,
    /// The unified diff of the kept change.
    pub diff: Option<String>,
    pub dry_run: bool,
}

/// Why `solve` could not run.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SolveError {
    #[error("{0} is not inside a git repository with a commit: run `git init` and commit first")]
    NotARepository(PathBuf),
    #[error("`git {args}` failed: {detail}")]
    Git { args: String, detail: String },
    #[error("cannot run git: {0}; install git and make sure it is on PATH")]
    NoGit(std::io::Error),
    #[error("the branch {0} exists already: delete it (`git branch -D {0}`) or change the task")]
    BranchExists(String),
    #[error("the task is empty: pass what to do with --task \"...\"")]
    EmptyTask,
    #[error("cannot create a temporary directory: {0}")]
    TempDir(std::io::Error),
    #[error(transparent)]
    Task(#[from] TaskError),
}

/// The branch name for a task title: `gitkeeper/solve-<slug>`.
pub fn branch_name(title: &str) -> String {
    let mut slug = String::new();
    for c in title.chars().flat_map(char::to_lowercase) {
        if c.is_ascii_alphanumeric() {
            slug.push(c);
        } else if !slug.is_empty() && !slug.ends_with('-') {
            slug.push('-');
        }
        if slug.len() >= 48 {
            break;
        }
    }
    let slug = slug.trim_end_matches('-');
    format!(
        "gitkeeper/solve-{}",
        if slug.is_empty() { "task" } else { slug }
    )
}

async fn git(dir: &Path, args: &[&str]) -> Result<String, SolveError> {
    let output = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .env("GIT_TERMINAL_PROMPT", "0")
        .output()
        .await
        .map_err(SolveError::NoGit)?;
    if output.status.success() {
        Ok(String::from_utf8_lossy(&output.stdout)
            .trim_end()
            .to_string())
    } else {
        Err(SolveError::Git {
            args: args.join(" "),
            detail: String::from_utf8_lossy(&output.stderr).trim().to_string(),
        })
    }
}

/// A temporary worktree of HEAD, removed when the run ends.
struct Worktree {
    repo: PathBuf,
    path: PathBuf,
    _dir: tempfile::TempDir,
}

impl Worktree {
    async fn add(repo: &Path) -> Result<Worktree, SolveError> {
        let dir = tempfile::tempdir().map_err(SolveError::TempDir)?;
        let path = dir.path().join("work");
        let path_text = path.to_string_lossy().to_string();
        git(
            repo,
            &["worktree", "add", "--detach", "--quiet", &path_text, "HEAD"],
        )
        .await?;
        Ok(Worktree {
            repo: repo.to_path_buf(),
            path,
            _dir: dir,
        })
    }

    async fn remove(self) {
        let path = self.path.to_string_lossy().to_string();
        if let Err(e) = git(&self.repo, &["worktree", "remove", "--force", &path]).await {
            tracing::warn!(error = %e, "could not remove the temporary worktree; run `git worktree prune`");
        }
    }
}

/// Run context → route → generation on `options.repo_dir`.
pub async fn solve(settings: &Settings, options: &SolveOptions) -> Result<SolveReport, SolveError> {
    let task = options.task.trim();
    if task.is_empty() {
        return Err(SolveError::EmptyTask);
    }
    let (title, body) = task.split_once('\n').unwrap_or((task, ""));
    let repo = match git(&options.repo_dir, &["rev-parse", "--show-toplevel"]).await {
        Ok(top) => PathBuf::from(top),
        Err(SolveError::NoGit(e)) => return Err(SolveError::NoGit(e)),
        Err(_) => return Err(SolveError::NotARepository(options.repo_dir.clone())),
    };
    if git(&repo, &["rev-parse", "--verify", "--quiet", "HEAD"])
        .await
        .is_err()
    {
        return Err(SolveError::NotARepository(options.repo_dir.clone()));
    }
    let branch = branch_name(title);
    if !options.dry_run
        && git(
            &repo,
            &[
                "rev-parse",
                "--verify",
                "--quiet",
                &format!("refs/heads/{branch}"),
            ],
        )
        .await
        .is_ok()
    {
        return Err(SolveError::BranchExists(branch));
    }
    let worktree = Worktree::add(&repo).await?;
    let result = run_in(settings, options, &worktree.path, title, body, &branch).await;
    worktree.remove().await;
    result
}

async fn run_in(
    settings: &Settings,
    options: &SolveOptions,
    work: &Path,
    title: &str,
    body: &str,
    branch: &str,
) -> Result<SolveReport, SolveError> {
    let env = |var: &str| std::env::var(var).ok();
    let spec = TaskSpec {
        title,
        body,
        labels: &options.labels,
        escalations: options.escalations,
        cloud_approved: options.approve_cloud,
        from_first_paid: false,
        spent_today_usd: 0.0,
        revision: None,
    };
    let TaskRun {
        route, generation, ..
    } = run_task(
        settings,
        ModelPool::build(&settings.models, &env),
        work,
        &spec,
        None,
        // No job checkout, so no cache whose baseline a commit would key.
        None,
    )
    .await?;
    let mut report = SolveReport {
        route,
        generation,
        branch: None,
        diff: None,
        dry_run: options.dry_run,
    };
    if let GenerationOutcome::Succeeded {
        applied,
        worker,
        prompt_sha256,
        ..
    } = &report.generation.outcome
    {
        report.diff = Some(applied.diff().text);
        if !options.dry_run {
            let message = format!(
                "{title}\n\nRoute: {}\n\nGitkeeper-Model: {worker}\nGitkeeper-Prompt-SHA256: {prompt_sha256}\n",
                report.route
            );
            git(work, &["switch", "--quiet", "-c", branch]).await?;
            git(work, &["add", "--all"]).await?;
            git(
                work,
                &[
                    "-c",
                    "user.name=Gitkeeper",
                    "-c",
                    "user.email=gitkeeper@localhost",
                    "-c",
                    "commit.gpgsign=false",
                    "commit",
                    "--quiet",
                    "--no-verify",
                    "-m",
                    &message,
                ],
            )
            .await?;
            report.branch = Some(branch.to_string());
        }
    }
    Ok(report)
}

impl SolveReport {
    /// True when a change was made (or, for a dry run, would be).
    pub fn succeeded(&self) -> bool {
        matches!(self.generation.outcome, GenerationOutcome::Succeeded { .. })
    }
}

impl fmt::Display for SolveReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "Route: {}", self.route)?;
        for reason in &self.route.reasons {
            writeln!(f, "  - {reason}")?;
        }
        for fit in &self.generation.packages {
            writeln!(f, "  - {fit}")?;
        }
        writeln!(f, "\nAttempts:")?;
        writeln!(
            f,
            "  {:>3}  {:>4}  {:<8} {:<16} {:<17} {:>7} {:>7} {:>9} {:>8}  ERROR",
            "#", "TIER", "ROLE", "MODEL", "OUTCOME", "IN", "OUT", "COST", "MS"
        )?;
        for a in &self.generation.attempts {
            writeln!(
                f,
                "  {:>3}  {:>4}  {:<8} {:<16} {:<17} {:>7} {:>7} {:>9} {:>8}  {}",
                a.seq,
                a.tier,
                a.role.as_str(),
                a.model,
                a.outcome.as_str(),
                a.prompt_tokens,
                a.completion_tokens,
                format!("${:.4}", a.cost_usd),
                a.latency_ms,
                a.error.as_deref().unwrap_or("")
            )?;
        }
        let g = &self.generation;
        writeln!(
            f,
            "\nTokens: {} in, {} out; cost ${:.4}; escalations {}",
            g.tokens_in(),
            g.tokens_out(),
            g.cost_usd(),
            g.escalations
        )?;
        match &g.outcome {
            GenerationOutcome::Succeeded {
                validation,
                checker,
                worker,
                prompt_sha256,
                applied,
            } => {
                writeln!(
                    f,
                    "\nValidation ({}):\n{}",
                    validation.method,
                    validation.summary()
                )?;
                if let Some(v) = checker {
                    writeln!(
                        f,
                        "Checker: {} (confidence {:.2}): {}",
                        if v.pass { "pass" } else { "fail" },
                        v.confidence,
                        v.notes
                    )?;
                }
                writeln!(
                    f,
                    "\nResult: {} by {worker} (prompt sha256 {prompt_sha256})",
                    applied.diff().summary()
                )?;
                match (&self.branch, &self.diff) {
                    (Some(branch), _) => writeln!(f, "Committed on branch {branch}")?,
                    (None, Some(diff)) if self.dry_run => {
                        writeln!(f, "Dry run, nothing committed. The diff:\n\n{diff}")?
                    }
                    _ => {}
                }
            }
            GenerationOutcome::Clarify { question, model } => writeln!(
                f,
                "\nResult: {model} needs an answer first:\n  {question}\nAdd the answer to --task and run again."
            )?,
            GenerationOutcome::Parked { model, tier } => writeln!(
                f,
                "\nResult: tier {tier} ({model}) is paid and [route] require_approval_for_cloud is set: run again with --approve-cloud to allow it."
            )?,
            GenerationOutcome::Exhausted { last_error, .. } => writeln!(
                f,
                "\nResult: every tier failed; last error: {}",
                last_error.as_deref().unwrap_or("none")
            )?,
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn branch_names_are_short_slugs() {
        assert_eq!(
            branch_name("Fix typo in src/greet.ts"),
            "gitkeeper/solve-fix-typo-in-src-greet-ts"
        );
        assert_eq!(branch_name("  ¿Qué?  "), "gitkeeper/solve-qu");
        assert_eq!(branch_name("!!!"), "gitkeeper/solve-task");
        assert!(branch_name(&"word ".repeat(40)).len() <= "gitkeeper/solve-".len() + 48);
    }
}
