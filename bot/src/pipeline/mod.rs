//! Strings the stages of one job together: authorization, the status
//! comment, checkout → context → route → generate → validate → publish, and
//! the answers to maintainers' commands. Every side effect on GitHub is
//! idempotent (find before create), so a job re-run after a crash leaves
//! exactly one trace.

mod explain;
mod revise;
mod status;
mod task;
mod work;

use std::sync::Arc;

use tokio_util::sync::CancellationToken;

use crate::checkout::{CheckoutError, Checkouts};
use crate::config::{RepoRole, Settings};
use crate::generate::ModelPool;
use crate::github::{GithubApp, GithubError, Installation, Reaction};
use crate::intent::{Command, Intent, ReviseScope, Target, WORKING_LABEL};
use crate::markers;
use crate::publish::issue_of;
use crate::queue::{Job, JobStore, StoreError};
use revise::Ask;
use status::StatusComment;
use task::Request;

/// What running a job came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Done,
    Cancelled,
    /// Parked until a maintainer answers or approves.
    Waiting(String),
    /// The work ended without a result; the maintainer was told why.
    Failed(String),
}

/// A job that could not be completed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PipelineError {
    #[error(transparent)]
    Github(#[from] GithubError),
    #[error(transparent)]
    Checkout(#[from] CheckoutError),
    #[error(transparent)]
    Task(#[from] crate::task::TaskError),
    #[error(transparent)]
    Publish(#[from] crate::publish::PublishError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Prompt(#[from] crate::prompts::PromptError),
}

impl PipelineError {
    /// True when running the job again later may succeed.
    pub fn is_transient(&self) -> bool {
        match self {
            PipelineError::Github(e) => e.is_transient(),
            PipelineError::Checkout(e) => e.is_transient(),
            PipelineError::Publish(e) => e.is_transient(),
            PipelineError::Store(e) => e.is_transient(),
            PipelineError::Task(e) => e.is_transient(),
            PipelineError::Prompt(_) => false,
        }
    }

    /// How long GitHub asked to be left alone, when it rate-limited a call:
    /// the job must not run again sooner.
    pub fn retry_after(&self) -> Option<std::time::Duration> {
        match self {
            PipelineError::Github(e) => e.retry_after(),
            PipelineError::Publish(e) => e.retry_after(),
            _ => None,
        }
    }
}

/// Everything a job needs from the outside.
pub struct Pipeline {
    github: Arc<GithubApp>,
    settings: Arc<Settings>,
    store: Arc<dyn JobStore>,
    checkouts: Checkouts,
}

impl Pipeline {
    pub fn new(
        github: Arc<GithubApp>,
        settings: Arc<Settings>,
        store: Arc<dyn JobStore>,
    ) -> Result<Self, CheckoutError> {
        let checkouts = Checkouts::new(&settings.data.dir, &settings.git_base())?;
        Ok(Self {
            github,
            settings,
            store,
            checkouts,
        })
    }

    fn prefix(&self) -> &str {
        &self.settings.trigger.command
    }

    /// The models a job may call: runner tiers through the runners, the rest directly.
    fn models(&self) -> ModelPool {
        ModelPool::build_with(&self.settings.models, &|name, settings| {
            crate::runner_api::backend_for(name, settings, &self.settings.runner, &self.store)
                .map_err(|e| e.to_string())
        })
    }

    /// True when the sender may start work; otherwise they get one polite
    /// comment on the issue or pull request (one per person, edited in place
    /// on repeats) and nothing else happens.
    async fn authorized(&self, gh: &Installation, job: &Job) -> Result<bool, PipelineError> {
        let repo = job.intent.repo();
        let login = &job.intent.sender().login;
        let role = gh.role_of(repo, login).await?;
        let min_role: RepoRole = self.settings.trigger.min_permission;
        if role >= min_role {
            return Ok(true);
        }
        tracing::info!(job = %job.id, sender = %login, role = role.as_str(), "sender may not start work");
        let marker = markers::refused(login);
        let text = format!(
            "Thanks, @{login}. Gitkeeper starts work only for people with **{}** access or more to this repository, and yours is **{}**. A maintainer can add the label or write the command instead.",
            min_role.as_str(),
            role.as_str()
        );
        gh.upsert_comment(repo, job.intent.number(), &marker, &text)
            .await?;
        Ok(false)
    }

    /// Run one job to its end. `cancel` stops the work; `lease_lost` (which
    /// fires together with it) also refuses every GitHub call from then on,
    /// since another worker may own the job.
    pub async fn run(
        &self,
        job: &Job,
        cancel: &CancellationToken,
        lease_lost: &CancellationToken,
    ) -> Result<Outcome, PipelineError> {
        if cancel.is_cancelled() || lease_lost.is_cancelled() {
            return Ok(Outcome::Cancelled);
        }
        let gh = self
            .github
            .installation(job.intent.installation())
            .fenced(lease_lost.clone());
        if !self.authorized(&gh, job).await? {
            return Ok(Outcome::Done);
        }
        let status = StatusComment::new(
            gh.clone(),
            job.intent.repo().clone(),
            job.intent.number(),
            markers::job_status(job.id),
        );
        let result = self.dispatch(&gh, job, &status, cancel).await;
        if lease_lost.is_cancelled() {
            // Not ours to report: the worker that owns the job now will.
            return result;
        }
        if let Err(e) = &result {
            let final_run = job.attempts >= self.settings.worker.max_attempts;
            if !e.is_transient() || final_run {
                self.report_error(&gh, job, &status, e).await;
            }
        }
        result
    }

    /// Tell the maintainer a job failed for a reason outside the models.
    async fn report_error(
        &self,
        gh: &Installation,
        job: &Job,
        status: &StatusComment,
        error: &PipelineError,
    ) {
        let details = format!(
            "{error}\n\nWhen the cause is fixed, comment `{} retry`.",
            self.prefix()
        );
        if let Err(e) = status
            .fail("❌ **Gitkeeper could not finish this.**", &details)
            .await
        {
            tracing::warn!(error = %e, "cannot report the failure on GitHub");
        }
        if let Intent::Generate { issue, .. } = &job.intent {
            if let Err(e) = gh
                .remove_label(job.intent.repo(), *issue, WORKING_LABEL)
                .await
            {
                tracing::warn!(error = %e, "cannot remove the working label");
            }
        }
    }

    async fn dispatch(
        &self,
        gh: &Installation,
        job: &Job,
        status: &StatusComment,
        cancel: &CancellationToken,
    ) -> Result<Outcome, PipelineError> {
        let repo = job.intent.repo();
        match &job.intent {
            Intent::Generate {
                issue,
                title,
                body,
                sender,
                answer,
                labels,
                ..
            } => {
                gh.react_to_issue(repo, *issue, Reaction::Eyes).await?;
                if let Some(note) = coalesced_note(job) {
                    status.note(note).await;
                }
                status
                    .headline("👀 **Gitkeeper picked this up.** This comment will show progress as the work goes on.")
                    .await?;
                // Labels the job does not carry are read as they are now.
                let labels = match labels {
                    Some(labels) => labels.clone(),
                    None => gh.issue(repo, *issue).await?.label_names(),
                };
                let request = Request {
                    issue: *issue,
                    title: title.clone(),
                    body: body.clone(),
                    labels,
                    sender: sender.login.clone(),
                    escalations: 0,
                    cloud_approved: false,
                    from_first_paid: false,
                    answer: answer.clone(),
                };
                self.generate(gh, job, status, &request, cancel).await
            }
            Intent::Command {
                comment_id,
                command,
                target,
                sender,
                ..
            } => {
                gh.react_to_comment(repo, *comment_id, Reaction::Eyes)
                    .await?;
                if let Some(note) = coalesced_note(job) {
                    status.note(note).await;
                }
                if let Command::Help { unknown } = command {
                    status
                        .headline(&help_text(self.prefix(), unknown.as_deref()))
                        .await?;
                    return Ok(Outcome::Done);
                }
                status
                    .headline(&format!(
                        "👀 **Gitkeeper picked up `{} {}`.**",
                        self.prefix(),
                        command_word(command)
                    ))
                    .await?;
                match command {
                    Command::Retry | Command::Escalate | Command::Approve => {
                        let Some(mut request) =
                            self.original_task(gh, job, status, *target).await?
                        else {
                            return Ok(Outcome::Done);
                        };
                        request.sender = sender.login.clone();
                        request.escalations = u32::from(*command == Command::Escalate);
                        request.cloud_approved = *command == Command::Approve;
                        request.from_first_paid = *command == Command::Approve;
                        self.generate(gh, job, status, &request, cancel).await
                    }
                    Command::Revise { instructions } => {
                        let Target::PullRequest(number) = target else {
                            status
                                .finish(
                                    "🤔 **`revise` works on Gitkeeper's pull requests.**",
                                    &format!(
                                        "Write `{} revise <instructions>` on the pull request itself; on an issue, `{} retry` starts over.",
                                        self.prefix(),
                                        self.prefix()
                                    ),
                                )
                                .await?;
                            return Ok(Outcome::Done);
                        };
                        let ask = Ask {
                            comment: instructions.clone(),
                            file: None,
                            line: None,
                            thread: None,
                        };
                        self.revise(gh, job, status, *number, &ask, cancel).await
                    }
                    Command::Cancel => self.cancel(gh, job, status, *target).await,
                    Command::Explain => self.explain(gh, job, status, *target).await,
                    Command::Help { .. } => Ok(Outcome::Done),
                }
            }
            Intent::Revise {
                pull_request,
                scope,
                ..
            } => {
                let ask = match scope {
                    ReviseScope::Line {
                        comment_id,
                        path,
                        line,
                        body,
                    } => {
                        gh.react_to_review_comment(repo, *comment_id, Reaction::Eyes)
                            .await?;
                        Ask {
                            comment: body.clone(),
                            file: Some(path.clone()),
                            line: *line,
                            thread: Some(*comment_id),
                        }
                    }
                    ReviseScope::Review { review_id, body } => {
                        let comments = gh.review_comments(repo, *pull_request, *review_id).await?;
                        Ask {
                            comment: review_request(body, &comments),
                            file: None,
                            line: None,
                            thread: None,
                        }
                    }
                };
                status
                    .headline("👀 **Gitkeeper picked up the requested changes.**")
                    .await?;
                self.revise(gh, job, status, *pull_request, &ask, cancel)
                    .await
            }
        }
    }

    /// The issue a command is about: the issue itself, or the one a
    /// Gitkeeper pull request closes. `None` (after saying why) when there is none.
    async fn original_task(
        &self,
        gh: &Installation,
        job: &Job,
        status: &StatusComment,
        target: Target,
    ) -> Result<Option<Request>, PipelineError> {
        let repo = job.intent.repo();
        let issue_number = match target {
            Target::Issue(n) => n,
            Target::PullRequest(n) => {
                let pull = gh.pull(repo, n).await?;
                match issue_of(&pull) {
                    Some(issue) => issue,
                    None => {
                        status
                            .finish(
                                "🤔 **This pull request was not opened by Gitkeeper.**",
                                "There is no task to redo here. Label an issue with the trigger label to start one.",
                            )
                            .await?;
                        return Ok(None);
                    }
                }
            }
        };
        let issue = gh.issue(repo, issue_number).await?;
        if issue.pull_request.is_some() {
            // A command written on a pull request's conversation arrives as an
            // issue: look again as a pull request, once. A marker that points
            // at a pull request is no task (and must not loop).
            if matches!(target, Target::Issue(_)) {
                return Box::pin(self.original_task(
                    gh,
                    job,
                    status,
                    Target::PullRequest(issue_number),
                ))
                .await;
            }
            status
                .finish(
                    "🤔 **This pull request does not point at a Gitkeeper task.**",
                    "Its marker names another pull request, not an issue. Label an issue with the trigger label to start one.",
                )
                .await?;
            return Ok(None);
        }
        Ok(Some(Request {
            issue: issue_number,
            labels: issue.label_names(),
            title: issue.title,
            body: issue.body.unwrap_or_default(),
            sender: job.intent.sender().login.clone(),
            escalations: 0,
            cloud_approved: false,
            from_first_paid: false,
            answer: None,
        }))
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

/// Says on the issue that later deliveries of the same request (a re-label,
/// the command repeated) joined this job instead of queuing copies of it.
fn coalesced_note(job: &Job) -> Option<String> {
    match job.coalesced {
        0 => None,
        1 => Some("Asked once more while it waited: this one run answers both.".into()),
        n => Some(format!(
            "Asked {n} more times while it waited: this one run answers them all."
        )),
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
         | `{prefix} cancel` | stop the running job and leave the branch as it is |\n\
         | `{prefix} explain` | explain the change in a comment, without a commit |\n\
         | `{prefix} help` | show this list |\n\n\
         A review comment on a line of a Gitkeeper pull request is a revision request for that line."
    ));
    text
}

/// One revision request from a review: its summary and every line comment.
fn review_request(body: &str, comments: &[crate::github::ReviewComment]) -> String {
    let mut text = body.trim().to_string();
    if !comments.is_empty() {
        if !text.is_empty() {
            text.push_str("\n\n");
        }
        text.push_str("Comments on lines of the diff:");
        for c in comments {
            let at = match c.line {
                Some(line) => format!("`{}` line {line}", c.path),
                None => format!("`{}`", c.path),
            };
            text.push_str(&format!("\n- {at}: {}", c.body.trim()));
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn retry_decisions_read_each_error_itself() {
        // A task stopped by a runtime shutdown runs again later; a panic does not.
        let stopped = tokio::spawn(std::future::pending::<()>());
        stopped.abort();
        let cancelled = stopped.await.expect_err("aborted task");
        assert!(PipelineError::from(crate::task::TaskError::Interrupted(cancelled)).is_transient());
        let panicked = tokio::spawn(async { panic!("boom") })
            .await
            .expect_err("panicked task");
        assert!(!PipelineError::from(crate::task::TaskError::Interrupted(panicked)).is_transient());

        // A repository read that timed out passes; one that was denied does not.
        let unreadable = |kind| {
            crate::task::TaskError::Context(gitkeeper::context::ContextError::Unreadable {
                path: "/work".into(),
                source: std::io::Error::from(kind),
            })
        };
        assert!(PipelineError::from(unreadable(std::io::ErrorKind::TimedOut)).is_transient());
        assert!(
            !PipelineError::from(unreadable(std::io::ErrorKind::PermissionDenied)).is_transient()
        );

        // The store: a failed query may pass, data it cannot read will not.
        assert!(PipelineError::from(StoreError::Query(sqlx::Error::PoolTimedOut)).is_transient());
        assert!(
            !PipelineError::from(StoreError::Corrupt("unknown job state".into())).is_transient()
        );
        let bad_json = serde_json::from_str::<u8>("x").expect_err("not a number");
        let decode = StoreError::Decode {
            what: "job 7 payload".into(),
            source: bad_json,
        };
        assert!(decode.to_string().contains("job 7 payload"));
        assert!(std::error::Error::source(&decode).is_some());
        assert!(!PipelineError::from(decode).is_transient());
    }

    #[test]
    fn a_review_becomes_one_request_with_every_line_comment() {
        let comment = |path: &str, line: Option<u64>, body: &str| crate::github::ReviewComment {
            id: crate::ids::CommentId(1),
            path: path.into(),
            line,
            body: body.into(),
        };
        let text = review_request(
            "Two things. ",
            &[
                comment("src/a.ts", Some(3), "Use cents."),
                comment("src/b.ts", None, " Rename this. "),
            ],
        );
        assert_eq!(
            text,
            "Two things.\n\nComments on lines of the diff:\n- `src/a.ts` line 3: Use cents.\n- `src/b.ts`: Rename this."
        );
        assert_eq!(review_request("Only this.", &[]), "Only this.");
    }
}
