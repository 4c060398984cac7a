//! `gitkeeper-bot eval <suite>`: measure what the bot resolves. Each task
//! of a suite runs on a fresh copy of its fixture through the same task
//! path as `solve` and the worker; a hidden check then judges the tree the
//! bot left. The results go to a terminal table, `results.jsonl` and
//! `report.html` in the output folder.
//!
//! With `--baseline raw`, the raw baseline ([`raw`]) runs beside the bot on
//! the same tasks: the same model asked once, judged by the same hidden check.
//!
//! A composition root: it may import any stage, and no module imports it.
//! Must never: shortcut the bot's task path (no direct model call, no
//! skipped validation; the raw baseline is a different prompt through the
//! same backends and cost guard, and says so), or show the bot a task's
//! hidden files or reference.

pub mod html;
pub mod raw;
pub mod record;
pub mod report;
pub mod run;
pub mod suite;

use std::path::{Path, PathBuf};

pub use record::{Stages, TaskResult, Verdict};
pub use run::{ConfigKind, EvalConfig, EvalError, run_suite};
pub use suite::{EvalTask, Level, Suite, SuiteError, load_suite};

/// What to run and where the results go.
#[derive(Debug, Clone)]
pub struct EvalOptions {
    pub suite_dir: PathBuf,
    /// A, and B when comparing.
    pub configs: Vec<EvalConfig>,
    /// Task ids to run (all when empty).
    pub only: Vec<String>,
    pub out_dir: PathBuf,
}

/// What a run produced.
#[derive(Debug)]
pub struct EvalRun {
    pub suite: Suite,
    pub results: Vec<TaskResult>,
    pub jsonl_path: PathBuf,
    pub html_path: PathBuf,
}

/// Why `eval` failed as a whole.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EvalRunError {
    #[error(transparent)]
    Eval(#[from] EvalError),
    #[error(transparent)]
    Suite(#[from] SuiteError),
    #[error("cannot write {path}: {source}; pass a writable folder with --out")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("reading the suite stopped unexpectedly: {0}")]
    Interrupted(#[source] tokio::task::JoinError),
}

/// The default output folder: `./eval-out/<timestamp>/`.
pub fn default_out_dir() -> PathBuf {
    Path::new("eval-out").join(chrono::Utc::now().format("%Y%m%d-%H%M%S").to_string())
}

/// Labels for configuration files: their file stems, or A and B when those are equal.
pub fn labels(a: &Path, b: Option<&Path>) -> (String, Option<String>) {
    let stem = |p: &Path| {
        p.file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| p.display().to_string())
    };
    match b {
        None => (stem(a), None),
        Some(b) if stem(a) == stem(b) => ("A".into(), Some("B".into())),
        Some(b) => (stem(a), Some(stem(b))),
    }
}

/// Load the suite, run it with every configuration, write `results.jsonl`
/// (one line per run, as each ends) and `report.html`.
pub async fn eval(
    options: &EvalOptions,
    mut each: impl FnMut(&TaskResult),
) -> Result<EvalRun, EvalRunError> {
    let started = chrono::Utc::now().format("%Y-%m-%d %H:%M UTC").to_string();
    let suite_dir = options.suite_dir.clone();
    let mut suite = tokio::task::spawn_blocking(move || load_suite(&suite_dir))
        .await
        .map_err(EvalRunError::Interrupted)??;
    suite.select(&options.only)?;
    let out = &options.out_dir;
    let write_err = |path: &Path| {
        let path = path.to_path_buf();
        move |source| EvalRunError::Write { path, source }
    };
    tokio::fs::create_dir_all(out)
        .await
        .map_err(write_err(out))?;
    let jsonl_path = out.join("results.jsonl");
    // Each line is appended as its run ends, so a stopped run keeps what it measured.
    tokio::fs::write(&jsonl_path, "")
        .await
        .map_err(write_err(&jsonl_path))?;
    let results = run_suite(&suite, &options.configs, Some(&jsonl_path), &mut each).await?;
    let html_path = out.join("report.html");
    let page = html::render(
        &html::PageInfo {
            suite: &suite.name,
            description: &suite.description,
            started: &started,
        },
        &results,
    );
    tokio::fs::write(&html_path, page)
        .await
        .map_err(write_err(&html_path))?;
    Ok(EvalRun {
        suite,
        results,
        jsonl_path,
        html_path,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn configurations_are_labelled_by_file_name_or_a_and_b() {
        assert_eq!(
            labels(
                Path::new("cfg/qwen-1.5b.toml"),
                Some(Path::new("x/qwen-7b.toml"))
            ),
            ("qwen-1.5b".into(), Some("qwen-7b".into()))
        );
        assert_eq!(
            labels(
                Path::new("a/gitkeeper.toml"),
                Some(Path::new("b/gitkeeper.toml"))
            ),
            ("A".into(), Some("B".into()))
        );
        assert_eq!(
            labels(Path::new("gitkeeper.toml"), None),
            ("gitkeeper".into(), None)
        );
    }
}
