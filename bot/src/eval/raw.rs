//! The raw baseline (`eval --baseline raw`): the model the bot would start
//! with, asked once for whole files, given only the task text and the files
//! the task's reference solution touches (as they are in the fixture). No
//! context package, no validation, no retry: what the bot's machinery adds
//! is measured against it, on the same tasks and the same hidden checks.
//!
//! Must never: go around the model backends or the cost guard (the call is
//! the one the bot would send, through [`ModelPool`], refused when a budget
//! cap could be passed or a paid model is not approved), or show the model
//! the reference's content or the hidden check.

use std::path::{Path, PathBuf};
use std::time::Duration;

use gitkeeper::edits::{PathPolicy, WHOLE_FILE_DOC, apply_edits, parse_edits};

use crate::config::Settings;
use crate::generate::{CostGuard, ModelPool};
use crate::models::{ChatMessage, Completion, CompletionRequest};
use crate::route::privacy::LocalOnly;
use crate::route::{TaskInput, is_paid, route};

/// The label of the raw baseline's runs.
pub const RAW_LABEL: &str = "raw";

/// Largest file shown to the model.
const MAX_FILE_BYTES: u64 = 256 * 1024;

const SYSTEM: &str = "You are a software engineer. Change the files below so that the task is done. Answer with the complete new content of every file you change or create, in this format:";

/// What the one raw call came to.
#[derive(Debug)]
pub struct RawRun {
    /// The `[models.<name>]` asked.
    pub model: String,
    pub completion: Option<Completion>,
    /// The answer's files were written to the repository.
    pub applied: bool,
    /// Why nothing (or not everything) was applied, or why no call was sent.
    pub failure: Option<String>,
}

/// Why the raw baseline could not run at all on a task.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RawError {
    #[error("the raw baseline cannot list the reference solution's files in {dir}: {source}")]
    Reference {
        dir: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the task has no reference/ folder: the raw baseline needs the files it touches")]
    NoReference,
    #[error(transparent)]
    Context(#[from] gitkeeper::context::ContextError),
    #[error(transparent)]
    Route(#[from] crate::route::RouteError),
    #[error(transparent)]
    Privacy(#[from] crate::route::privacy::LocalOnlyError),
    #[error("the raw baseline stopped unexpectedly: {0}")]
    Interrupted(#[source] tokio::task::JoinError),
}

/// Ask the model the bot would start with to do `title`/`body` in `repo`
/// (a fixture copy) from the files under `reference` only, once, and write
/// its whole files into `repo`.
pub async fn run_raw(
    settings: &Settings,
    title: &str,
    body: &str,
    reference: Option<&Path>,
    repo: &Path,
) -> Result<RawRun, RawError> {
    let reference = reference.ok_or(RawError::NoReference)?.to_path_buf();
    let (root, text, options) = (
        repo.to_path_buf(),
        format!("{title}\n{body}"),
        settings.context.options(),
    );
    let (files, package) = tokio::task::spawn_blocking(move || {
        let files = touched_files(&reference, &root)?;
        let package = gitkeeper::context::build(&root, &text, &options)?;
        Ok::<_, RawError>((files, package))
    })
    .await
    .map_err(RawError::Interrupted)??;
    // The model the bot's route starts with for this task; the operator's
    // local-only paths keep it off paid tiers as they keep the bot.
    let local_only = LocalOnly::new(&settings.privacy.local_only_paths)?;
    let task = TaskInput {
        title: title.to_string(),
        body: body.to_string(),
        labels: Vec::new(),
        local_only: local_only.matching(files.iter().map(|(path, _)| path.as_str())),
    };
    let chosen = route(&task, Some(&package), &settings.route, &settings.models, 0)?;
    let Some(tier) = chosen.tiers.get(chosen.start).or(chosen.tiers.first()) else {
        return Ok(RawRun {
            model: String::new(),
            completion: None,
            applied: false,
            failure: Some(format!("ladder `{}` has no tier", chosen.ladder)),
        });
    };
    let model = tier.model.clone();
    let messages = vec![
        ChatMessage::system(format!("{SYSTEM}\n\n{WHOLE_FILE_DOC}")),
        ChatMessage::user(user_message(title, body, &files)),
    ];
    let mut run = RawRun {
        model: model.clone(),
        completion: None,
        applied: false,
        failure: None,
    };
    let env = |var: &str| std::env::var(var).ok();
    let pool = ModelPool::build(&settings.models, &env);
    let Some(model_settings) = pool.settings(&model).cloned() else {
        run.failure = Some(format!(
            "model `{model}` is not configured: add [models.{model}] to gitkeeper.toml"
        ));
        return Ok(run);
    };
    if is_paid(&model_settings) && settings.route.require_approval_for_cloud {
        run.failure = Some(format!(
            "`{model}` is paid and [route] require_approval_for_cloud is set"
        ));
        return Ok(run);
    }
    let prompt_tokens = crate::models::tokens::count_messages(&messages);
    let worst = CostGuard::worst_case(&model_settings, prompt_tokens, model_settings.max_tokens);
    let guard = CostGuard::new(
        settings.route.max_usd_per_task,
        settings.route.max_usd_per_repo_per_day,
        0.0,
    );
    if let Some(refusal) = guard.refusal(worst) {
        run.failure = Some(format!("the cost guard refused the call: {refusal}"));
        return Ok(run);
    }
    let request = CompletionRequest::new(messages).with_max_tokens(model_settings.max_tokens);
    let completion = match pool.backend(&model) {
        Ok(backend) => backend.complete(&request).await.map_err(|e| e.to_string()),
        Err(e) => Err(e),
    };
    let completion = match completion {
        Ok(completion) => completion,
        Err(e) => {
            run.failure = Some(format!("{model}: {e}"));
            return Ok(run);
        }
    };
    let outcome = write_answer(repo, &completion).await;
    run.completion = Some(completion);
    match outcome {
        Ok(()) => run.applied = true,
        Err(why) => run.failure = Some(format!("{model}: {why}")),
    }
    Ok(run)
}

/// The files under `reference` (repository-relative), each with its content
/// in `repo` (`None`: the reference creates it).
fn touched_files(reference: &Path, repo: &Path) -> Result<Vec<(String, Option<String>)>, RawError> {
    let mut paths = Vec::new();
    list(reference, "", &mut paths).map_err(|source| RawError::Reference {
        dir: reference.to_path_buf(),
        source,
    })?;
    paths.sort();
    Ok(paths
        .into_iter()
        .map(|path| {
            let full = repo.join(&path);
            let content = std::fs::metadata(&full)
                .ok()
                .filter(|m| m.is_file() && m.len() <= MAX_FILE_BYTES)
                .and_then(|_| std::fs::read_to_string(&full).ok());
            (path, content)
        })
        .collect())
}

fn list(dir: &Path, prefix: &str, out: &mut Vec<String>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let rel = if prefix.is_empty() {
            name
        } else {
            format!("{prefix}/{name}")
        };
        if entry.file_type()?.is_dir() {
            list(&entry.path(), &rel, out)?;
        } else {
            out.push(rel);
        }
    }
    Ok(())
}

/// The task, framed as untrusted data like the bot's, then the files.
fn user_message(title: &str, body: &str, files: &[(String, Option<String>)]) -> String {
    let mut text = format!(
        "# Task\n\n{}\n# Files\n",
        gitkeeper::sanitize::frame_as_task(title, body)
    );
    for (path, content) in files {
        match content {
            Some(content) => {
                let fence = if content.contains("```") {
                    "````"
                } else {
                    "```"
                };
                text.push_str(&format!("\n## {path}\n\n{fence}\n{content}"));
                if !content.ends_with('\n') {
                    text.push('\n');
                }
                text.push_str(fence);
                text.push('\n');
            }
            None => text.push_str(&format!("\n## {path}\n\n(does not exist yet)\n")),
        }
    }
    text.push_str("\nAnswer only with FILE blocks.\n");
    text
}

/// Parse the answer and write its files into `repo`; why not, if not.
async fn write_answer(repo: &Path, completion: &Completion) -> Result<(), String> {
    if completion.is_truncated() {
        return Err("the answer was cut off at max_tokens".into());
    }
    let edits = match parse_edits(&completion.text) {
        Ok(gitkeeper::edits::ParsedEdits::Edits(edits)) => edits,
        Ok(gitkeeper::edits::ParsedEdits::ClarificationNeeded { question, .. }) => {
            return Err(format!("asked instead of answering: {question}"));
        }
        Err(e) => return Err(e.to_string()),
    };
    let root = repo.to_path_buf();
    let applied =
        tokio::task::spawn_blocking(move || apply_edits(&root, &edits, &PathPolicy::default()))
            .await
            .map_err(|e| format!("applying stopped unexpectedly: {e}"))?;
    match applied {
        Ok(applied) if applied.is_empty() => Err("the answer changed no file".into()),
        Ok(_) => Ok(()),
        Err(e) => Err(e.to_string()),
    }
}

/// The call's wall time.
pub fn model_time(run: &RawRun) -> Duration {
    run.completion
        .as_ref()
        .map(|c| c.latency)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_raw_prompt_holds_the_task_and_the_touched_files_only() {
        let repo = tempfile::tempdir().unwrap();
        let reference = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(repo.path().join("src")).unwrap();
        std::fs::write(repo.path().join("src/greet.ts"), "export const a = 1;\n").unwrap();
        std::fs::write(repo.path().join("src/other.ts"), "export const b = 2;\n").unwrap();
        std::fs::create_dir_all(reference.path().join("src")).unwrap();
        std::fs::write(reference.path().join("src/greet.ts"), "SOLUTION\n").unwrap();
        std::fs::write(reference.path().join("src/new.ts"), "SOLUTION\n").unwrap();
        let files = touched_files(reference.path(), repo.path()).unwrap();
        assert_eq!(
            files,
            [
                (
                    "src/greet.ts".to_string(),
                    Some("export const a = 1;\n".to_string())
                ),
                ("src/new.ts".to_string(), None)
            ]
        );
        let text = user_message("Fix greet", "It is wrong.", &files);
        assert!(
            text.contains("## src/greet.ts\n\n```\nexport const a = 1;\n```\n"),
            "{text}"
        );
        assert!(
            text.contains("## src/new.ts\n\n(does not exist yet)"),
            "{text}"
        );
        assert!(text.contains("Fix greet"), "{text}");
        assert!(
            !text.contains("SOLUTION") && !text.contains("src/other.ts"),
            "{text}"
        );
    }
}
