//! Strings the stages of one job together; it holds no stage logic of its own.
//! Every side effect on GitHub is idempotent (find before create), so a job
//! re-run after a crash leaves exactly one trace.

use std::sync::Arc;

use tokio_util::sync::CancellationToken;

use crate::config::{RepoRole, TriggerSettings};
use crate::github::{GithubApp, GithubError, Installation, Reaction};
use crate::intent::{Command, Intent, ReviseScope};
use crate::queue::Job;

/// What running a job came to.
#[derive(Debug)]
pub enum Outcome {
    Done,
    Cancelled,
}

/// A job that could not be completed.
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    #[error(transparent)]
    Github(#[from] GithubError),
}

impl PipelineError {
    /// True when running the job again later may succeed.
    pub fn is_transient(&self) -> bool {
        match self {
            PipelineError::Github(e) => e.is_transient(),
        }
    }
}

/// The marker that finds this job's status comment again after a restart.
pub fn status_marker(job: &Job) -> String {
    format!("<!-- gitkeeper:job={} -->", job.id)
}

/// Everything a job needs from the outside.
pub struct Pipeline {
    github: Arc<GithubApp>,
    command_prefix: String,
    min_role: RepoRole,
}

impl Pipeline {
    pub fn new(github: Arc<GithubApp>, trigger: &TriggerSettings) -> Self {
        Self {
            github,
            command_prefix: trigger.command.clone(),
            min_role: trigger.min_permission,
        }
    }

    /// True when the sender may start work; otherwise they get one polite
    /// comment on the issue or pull request (one per person, edited in place
    /// on repeats) and nothing else happens.
    async fn authorized(&self, gh: &Installation, job: &Job) -> Result<bool, PipelineError> {
        let repo = job.intent.repo();
        let login = &job.intent.sender().login;
        let role = gh.role_of(repo, login).await?;
        if role >= self.min_role {
            return Ok(true);
        }
        tracing::info!(job = %job.id, sender = %login, role = role.as_str(), "sender may not start work");
        let marker = format!("<!-- gitkeeper:refused={} -->", login.to_lowercase());
        let text = format!(
            "Thanks, @{login}. Gitkeeper starts work only for people with **{}** access or more to this repository, and yours is **{}**. A maintainer can add the label or write the command instead.",
            self.min_role.as_str(),
            role.as_str()
        );
        gh.upsert_comment(repo, job.intent.number(), &marker, &text)
            .await?;
        Ok(false)
    }

    /// Run one job to its end.
    pub async fn run(
        &self,
        job: &Job,
        cancel: &CancellationToken,
    ) -> Result<Outcome, PipelineError> {
        if cancel.is_cancelled() {
            return Ok(Outcome::Cancelled);
        }
        let gh = self.github.installation(job.intent.installation());
        let repo = job.intent.repo();
        let number = job.intent.number();
        if !self.authorized(&gh, job).await? {
            return Ok(Outcome::Done);
        }
        let marker = status_marker(job);
        match &job.intent {
            Intent::Generate { issue, .. } => {
                gh.react_to_issue(repo, *issue, Reaction::Eyes).await?;
                gh.upsert_comment(
                    repo,
                    *issue,
                    &marker,
                    "👀 **Gitkeeper picked this up.** This comment will show progress as the work goes on.",
                )
                .await?;
            }
            Intent::Command {
                comment_id,
                command,
                ..
            } => {
                gh.react_to_comment(repo, *comment_id, Reaction::Eyes)
                    .await?;
                let text = match command {
                    Command::Help { unknown } => {
                        help_text(&self.command_prefix, unknown.as_deref())
                    }
                    other => format!(
                        "👀 **Gitkeeper picked up `{} {}`.**",
                        self.command_prefix,
                        command_word(other)
                    ),
                };
                gh.upsert_comment(repo, number, &marker, &text).await?;
            }
            Intent::Revise { scope, .. } => {
                if let ReviseScope::Line { comment_id, .. } = scope {
                    gh.react_to_review_comment(repo, *comment_id, Reaction::Eyes)
                        .await?;
                }
                gh.upsert_comment(
                    repo,
                    number,
                    &marker,
                    "👀 **Gitkeeper picked up the requested changes.**",
                )
                .await?;
            }
        }
        Ok(Outcome::Done)
    }
}

fn command_word(command: &Command) -> &'static str {
    match command {
        Command::Revise { .. } => "revise",
        Command::Retry => "retry",
        Command::Escalate => "escalate",
        Command::Approve => "approve",
        Command::Explain => "explain",
        Command::Cancel => "cancel",
        Command::Help { .. } => "help",
    }
}

/// The reply to `help` and to anything that is not a command.
pub fn help_text(prefix: &str, unknown: Option<&str>) -> String {
    let mut text = String::new();
    if let Some(word) = unknown {
        text.push_str(&format!("I don't know the command `{word}`. "));
    }
    text.push_str(&format!(
        "Gitkeeper understands these commands in a comment:\n\n\
         | command | what it does |\n|---|---|\n\
         | `{prefix} revise <instructions>` | push a new commit to this PR that follows the instructions |\n\
         | `{prefix} retry` | redo the original task from a fresh base |\n\
         | `{prefix} escalate` | retry starting one model tier higher |\n\
         | `{prefix} approve` | allow a paid model tier that is waiting for approval |\n\
         | `{prefix} explain` | explain the change in a comment, without a commit |\n\
         | `{prefix} cancel` | stop the running job and leave the branch as it is |\n\
         | `{prefix} help` | show this list |\n\n\
         A review comment on a line of a Gitkeeper pull request is a revision request for that line."
    ));
    text
}
