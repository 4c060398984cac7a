//! Runs a suite's tasks: each on a fresh copy of its fixture committed as
//! the base, through [`crate::task::run_task`] (the path `solve` and the
//! worker take: context, route, generation loop, validation), then the
//! hidden check on the tree the bot left. With two configurations they
//! alternate per task (A then B, then B then A), so neither always meets a
//! warm model cache.
//!
//! Must never: let the bot see the hidden files or the reference before it
//! is done, run the fixture's setup or the hidden check outside the
//! sandbox the bot's own checks use, or stop the whole run because one task
//! could not run (that task is recorded as an error).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::process::Command;

use super::record::{
    Stages, TaskResult, Verdict, first_try_well_formed, last_worker, worker_attempts,
};
use super::suite::{EvalTask, Suite};
use crate::config::Settings;
use crate::generate::{Generation, GenerationOutcome, ModelPool};
use crate::task::{TaskSpec, run_task};
use crate::validate::policy::EnvPolicy;
use crate::validate::sandbox::{
    DEFAULT_OUTPUT_CAP, Isolation, ProcessSandbox, Sandbox, SandboxCommand, SandboxError,
    secret_paths,
};

/// How long one setup command (a dependency install) may take.
const SETUP_TIMEOUT: Duration = Duration::from_secs(900);
/// Most characters of a hidden check's output kept as the failure reason.
const MAX_FAILURE_CHARS: usize = 600;

/// One configuration under test.
#[derive(Debug, Clone)]
pub struct EvalConfig {
    /// How the report names it.
    pub label: String,
    pub settings: Settings,
    /// The bot's task path, or the raw baseline on the same settings.
    pub kind: ConfigKind,
}

/// What answers a task.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfigKind {
    /// The bot: context, route, generation loop, validation.
    Bot,
    /// The model asked once with the task and the reference's files ([`super::raw`]).
    Raw,
}

impl EvalConfig {
    /// The bot with `settings`.
    pub fn bot(label: impl Into<String>, settings: Settings) -> Self {
        Self {
            label: label.into(),
            settings,
            kind: ConfigKind::Bot,
        }
    }

    /// The raw baseline on `settings`' models and budget, labelled [`super::raw::RAW_LABEL`].
    pub fn raw(settings: Settings) -> Self {
        Self {
            label: super::raw::RAW_LABEL.into(),
            settings,
            kind: ConfigKind::Raw,
        }
    }
}

/// Why the run cannot go on at all.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EvalError {
    #[error(transparent)]
    Suite(#[from] super::suite::SuiteError),
    #[error("configuration {label}: {source}")]
    Sandbox {
        label: String,
        #[source]
        source: SandboxError,
    },
    #[error("cannot create a temporary directory: {0}; check TMPDIR has space")]
    TempDir(#[source] std::io::Error),
    #[error("cannot write {path}: {source}; pass a writable folder with --out")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot encode a result as JSON: {0}")]
    Json(#[from] serde_json::Error),
    #[error("the eval stopped unexpectedly: {0}")]
    Interrupted(#[source] tokio::task::JoinError),
}

/// Why one task could not run (recorded as its failure, the run goes on).
#[derive(Debug, thiserror::Error)]
enum RunError {
    #[error("copying {from} failed: {source}")]
    Copy {
        from: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("setup `{command}` failed: {detail}")]
    Setup { command: String, detail: String },
    #[error("`git {args}` failed: {detail}")]
    Git { args: String, detail: String },
    #[error(transparent)]
    Task(#[from] crate::task::TaskError),
    #[error(transparent)]
    Raw(#[from] super::raw::RawError),
    #[error("cannot create a temporary directory: {0}")]
    TempDir(#[source] std::io::Error),
    #[error("interrupted: {0}")]
    Interrupted(#[source] tokio::task::JoinError),
}

/// Run every task of `suite` with each of `configs` (alternating), calling
/// `each` with every result as it comes and appending it to `jsonl` as one line.
pub async fn run_suite(
    suite: &Suite,
    configs: &[EvalConfig],
    jsonl: Option<&Path>,
    mut each: impl FnMut(&TaskResult),
) -> Result<Vec<TaskResult>, EvalError> {
    let mut sandboxes = Vec::new();
    let detected = Isolation::detect().await;
    for config in configs {
        let isolation = Isolation::required(config.settings.validate.isolation, detected.clone())
            .map_err(|source| EvalError::Sandbox {
            label: config.label.clone(),
            source,
        })?;
        // Setup and hidden checks get no host variable: the suite asks for none.
        let sandbox = ProcessSandbox::new(isolation, &EnvPolicy::default(), DEFAULT_OUTPUT_CAP)
            .with_hidden(secret_paths(&config.settings));
        sandboxes.push(Arc::new(sandbox));
    }
    // Dependency downloads are shared by the run's tasks.
    let cache = tempfile::tempdir().map_err(EvalError::TempDir)?;
    let mut results = Vec::new();
    for (i, task) in suite.tasks.iter().enumerate() {
        let mut order: Vec<usize> = (0..configs.len()).collect();
        if i % 2 == 1 {
            order.reverse();
        }
        for c in order {
            let result = run_one(suite, task, &configs[c], &*sandboxes[c], cache.path()).await;
            each(&result);
            if let Some(path) = jsonl {
                append_line(path, &result).await?;
            }
            results.push(result);
        }
    }
    Ok(results)
}

async fn append_line(path: &Path, result: &TaskResult) -> Result<(), EvalError> {
    use tokio::io::AsyncWriteExt;
    let mut line = serde_json::to_string(result)?;
    line.push('\n');
    let write_err = |source| EvalError::Write {
        path: path.to_path_buf(),
        source,
    };
    let mut file = tokio::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(path)
        .await
        .map_err(write_err)?;
    file.write_all(line.as_bytes()).await.map_err(write_err)?;
    file.flush().await.map_err(write_err)
}

/// The variables every eval command gets besides the sandbox's own (a CI
/// machine, no colour): caches in the run's dir.
fn command_env(cache: &Path) -> Vec<(String, String)> {
    let dir = |name: &str| cache.join(name).to_string_lossy().into_owned();
    [("HOME", dir("home")), ("npm_config_cache", dir("npm"))]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect()
}

fn seconds(d: Duration) -> f64 {
    d.as_secs_f64()
}

/// One configuration on one task; never fails: what went wrong is its failure.
async fn run_one(
    suite: &Suite,
    task: &EvalTask,
    config: &EvalConfig,
    sandbox: &dyn Sandbox,
    cache: &Path,
) -> TaskResult {
    let started = Instant::now();
    let mut result = TaskResult {
        suite: suite.name.clone(),
        task: task.id.clone(),
        level: task.level,
        fixture: task.fixture.clone(),
        config: config.label.clone(),
        outcome: "error".into(),
        resolved: false,
        validated: false,
        false_pass: false,
        proved_nothing: false,
        first_try_well_formed: false,
        attempts: 0,
        escalations: 0,
        prompt_tokens: 0,
        completion_tokens: 0,
        route: None,
        model: None,
        failure: None,
        seconds: Stages::default(),
    };
    tracing::info!(task = %task.id, config = %config.label, "eval task starting");
    if let Err(e) = run_into(task, config, sandbox, cache, &mut result).await {
        result.outcome = "error".into();
        result.failure = Some(trim(&e.to_string()));
    }
    result.seconds.wall = seconds(started.elapsed());
    tracing::info!(task = %task.id, config = %config.label, resolved = result.resolved, validated = result.validated, false_pass = result.false_pass, "eval task done");
    result
}

async fn run_into(
    task: &EvalTask,
    config: &EvalConfig,
    sandbox: &dyn Sandbox,
    cache: &Path,
    result: &mut TaskResult,
) -> Result<(), RunError> {
    let setup_started = Instant::now();
    let dir = tempfile::tempdir().map_err(RunError::TempDir)?;
    let repo = dir.path().join("repo");
    copy_tree(&task.fixture_dir, &repo, true).await?;
    for argv in &task.setup {
        let command = SandboxCommand {
            argv: argv.clone(),
            network: true,
            timeout: SETUP_TIMEOUT,
            env: command_env(cache),
            writable: vec![cache.to_path_buf()],
            readable: Vec::new(),
        };
        let fail = |detail: String| RunError::Setup {
            command: argv.join(" "),
            detail,
        };
        match sandbox.run(&repo, &command).await {
            Ok(outcome) if outcome.passed() => {}
            Ok(outcome) => return Err(fail(tail(&outcome.output))),
            Err(e) => return Err(fail(e.to_string())),
        }
    }
    commit_base(&repo).await?;
    result.seconds.setup = seconds(setup_started.elapsed());

    let settings = &config.settings;
    if config.kind == ConfigKind::Raw {
        let task_started = Instant::now();
        let run = super::raw::run_raw(
            settings,
            &task.title,
            &task.body,
            task.reference_dir.as_deref(),
            &repo,
        )
        .await?;
        record_raw(&run, task_started.elapsed(), result);
    } else {
        run_bot(task, settings, &repo, result).await?;
    }
    hidden_check(task, sandbox, cache, &repo, result).await
}

/// The bot's task path on `repo`, into `result`.
async fn run_bot(
    task: &EvalTask,
    settings: &Settings,
    repo: &Path,
    result: &mut TaskResult,
) -> Result<(), RunError> {
    let env = |var: &str| std::env::var(var).ok();
    let spec = TaskSpec {
        title: &task.title,
        body: &task.body,
        labels: &[],
        escalations: 0,
        cloud_approved: false,
        from_first_paid: false,
        spent_today_usd: 0.0,
        revision: None,
    };
    let task_started = Instant::now();
    let run = run_task(
        settings,
        ModelPool::build(&settings.models, &env),
        repo,
        &spec,
        None,
        None,
    )
    .await?;
    let task_time = task_started.elapsed();
    record_generation(&run.generation, task_time, result);
    result.route = Some(run.route.ladder.clone());
    Ok(())
}

/// The hidden check, on what the bot (or the raw baseline) left, with the
/// hidden files added; its verdict into `result`.
async fn hidden_check(
    task: &EvalTask,
    sandbox: &dyn Sandbox,
    cache: &Path,
    repo: &Path,
    result: &mut TaskResult,
) -> Result<(), RunError> {
    let hidden_started = Instant::now();
    if let Some(hidden) = &task.hidden_dir {
        copy_tree(hidden, repo, false).await?;
    }
    let command = SandboxCommand {
        argv: task.hidden.run.clone(),
        network: false,
        timeout: Duration::from_secs(task.hidden.timeout_secs),
        env: command_env(cache),
        writable: Vec::new(),
        readable: vec![cache.to_path_buf()],
    };
    let (passed, output) = match sandbox.run(repo, &command).await {
        Ok(outcome) if outcome.timed_out => (
            Some(false),
            format!(
                "timed out after {}s; {}",
                task.hidden.timeout_secs,
                tail(&outcome.output)
            ),
        ),
        Ok(outcome) => (Some(outcome.passed()), tail(&outcome.output)),
        Err(e) => (None, e.to_string()),
    };
    result.seconds.hidden = seconds(hidden_started.elapsed());
    let verdict = Verdict::of(result.validated, passed);
    result.resolved = verdict.resolved;
    result.false_pass = verdict.false_pass;
    if !verdict.resolved && (verdict.validated || result.failure.is_none()) {
        let why = match passed {
            None => format!("the hidden check could not run: {output}"),
            Some(_) => format!("hidden check failed: {output}"),
        };
        result.failure = Some(trim(&why));
    }
    Ok(())
}

/// Fill `result` from the raw baseline's one call: never validated (it
/// runs no check), well-formed when its files were written.
fn record_raw(run: &super::raw::RawRun, task_time: Duration, result: &mut TaskResult) {
    let model = super::raw::model_time(run);
    result.seconds.model = seconds(model);
    result.seconds.prepare = seconds(task_time.saturating_sub(model));
    result.attempts = u32::from(run.completion.is_some());
    result.prompt_tokens = run
        .completion
        .as_ref()
        .map_or(0, |c| u64::from(c.usage.prompt_tokens));
    result.completion_tokens = run
        .completion
        .as_ref()
        .map_or(0, |c| u64::from(c.usage.completion_tokens));
    result.first_try_well_formed = run.applied;
    result.model = Some(run.model.clone());
    result.route = Some(super::raw::RAW_LABEL.into());
    result.outcome = if run.applied { "answered" } else { "fail" }.into();
    result.validated = false;
    result.failure = run.failure.as_deref().map(trim);
}

/// Fill `result` from the generation's trail.
fn record_generation(generation: &Generation, task_time: Duration, result: &mut TaskResult) {
    let attempts = &generation.attempts;
    let ms = |f: fn(&crate::trail::Attempt) -> u64| {
        Duration::from_millis(attempts.iter().map(f).sum::<u64>())
    };
    let model = ms(|a| a.latency_ms);
    let validation = ms(|a| a.validation_ms);
    result.seconds.prepare = seconds(task_time.saturating_sub(generation.latency));
    result.seconds.model = seconds(model);
    result.seconds.validation = seconds(validation);
    result.seconds.overhead = seconds(generation.latency.saturating_sub(model + validation));
    result.attempts = worker_attempts(attempts);
    result.escalations = generation.escalations;
    result.prompt_tokens = generation.tokens_in();
    result.completion_tokens = generation.tokens_out();
    result.first_try_well_formed = first_try_well_formed(attempts);
    result.model = last_worker(attempts);
    let (outcome, failure) = match &generation.outcome {
        GenerationOutcome::Succeeded {
            worker, validation, ..
        } => {
            result.model = Some(worker.clone());
            result.proved_nothing = validation.proved_nothing();
            ("pass", None)
        }
        GenerationOutcome::Clarify { question, model } => {
            ("clarify", Some(format!("{model} asked: {question}")))
        }
        GenerationOutcome::Parked { model, tier } => (
            "parked",
            Some(format!(
                "tier {tier} ({model}) is paid and [route] require_approval_for_cloud is set"
            )),
        ),
        GenerationOutcome::Exhausted { last_error, .. } => (
            "fail",
            Some(
                last_error
                    .clone()
                    .unwrap_or_else(|| "every tier failed without an error".into()),
            ),
        ),
    };
    result.outcome = outcome.into();
    result.validated = outcome == "pass";
    result.failure = failure.map(|f| trim(&f));
}

/// The last lines of a command's output, without colour codes.
fn tail(output: &str) -> String {
    let clean = gitkeeper::sanitize::strip_ansi(output);
    let lines: Vec<&str> = clean.lines().filter(|l| !l.trim().is_empty()).collect();
    let start = lines.len().saturating_sub(8);
    lines[start..].join("\n")
}

fn trim(text: &str) -> String {
    match text.char_indices().nth(MAX_FAILURE_CHARS) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_string(),
    }
}

/// Copy `from` into `to` (made if missing); `fixture` leaves out the
/// fixture's `.eval/` and any `.git` at the top.
async fn copy_tree(from: &Path, to: &Path, fixture: bool) -> Result<(), RunError> {
    let (from, to) = (from.to_path_buf(), to.to_path_buf());
    let source = from.clone();
    tokio::task::spawn_blocking(move || copy_dir(&from, &to, fixture))
        .await
        .map_err(RunError::Interrupted)?
        .map_err(|source_err| RunError::Copy {
            from: source,
            source: source_err,
        })
}

fn copy_dir(from: &Path, to: &Path, top: bool) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let name = entry.file_name();
        if top && (name == ".eval" || name == ".git") {
            continue;
        }
        let (src, dst) = (entry.path(), to.join(&name));
        let kind = entry.file_type()?;
        if kind.is_dir() {
            copy_dir(&src, &dst, false)?;
        } else if kind.is_symlink() {
            let target = std::fs::read_link(&src)?;
            if dst.symlink_metadata().is_ok() {
                std::fs::remove_file(&dst)?;
            }
            std::os::unix::fs::symlink(target, &dst)?;
        } else {
            std::fs::copy(&src, &dst)?;
        }
    }
    Ok(())
}

/// `git init` the copy and commit it as the task's base.
async fn commit_base(repo: &Path) -> Result<(), RunError> {
    for args in [
        &["init", "--quiet", "--initial-branch=main"][..],
        &["add", "--all"],
        &[
            "-c",
            "user.name=Gitkeeper eval",
            "-c",
            "user.email=eval@localhost",
            "-c",
            "commit.gpgsign=false",
            "commit",
            "--quiet",
            "--no-verify",
            "-m",
            "base",
        ],
    ] {
        let output = Command::new("git")
            .arg("-C")
            .arg(repo)
            .args(args)
            .env("GIT_TERMINAL_PROMPT", "0")
            .output()
            .await
            .map_err(|e| RunError::Git {
                args: args.join(" "),
                detail: format!("{e}; install git and make sure it is on PATH"),
            })?;
        if !output.status.success() {
            return Err(RunError::Git {
                args: args.join(" "),
                detail: String::from_utf8_lossy(&output.stderr).trim().to_string(),
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failure_text_loses_colour_codes_and_keeps_the_tail() {
        let out = "\u{1b}[31mnot ok\u{1b}[39m 1 - greet\n\n".to_string()
            + &(1..=20).map(|i| format!("line {i}\n")).collect::<String>();
        let t = tail(&out);
        assert!(!t.contains('\u{1b}'), "{t}");
        assert!(t.starts_with("line 13") && t.ends_with("line 20"), "{t}");
    }

    #[test]
    fn a_fixture_copy_leaves_out_its_eval_folder_and_git() {
        let from = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(from.path().join(".eval")).unwrap();
        std::fs::create_dir_all(from.path().join(".git")).unwrap();
        std::fs::create_dir_all(from.path().join("src/.eval")).unwrap();
        std::fs::write(from.path().join(".eval/setup.toml"), "").unwrap();
        std::fs::write(from.path().join("src/a.ts"), "a").unwrap();
        let to = tempfile::tempdir().unwrap();
        copy_dir(from.path(), &to.path().join("repo"), true).unwrap();
        let repo = to.path().join("repo");
        assert!(repo.join("src/a.ts").is_file());
        assert!(
            repo.join("src/.eval").is_dir(),
            "only the top .eval is the suite's"
        );
        assert!(!repo.join(".eval").exists());
        assert!(!repo.join(".git").exists());
    }
}
