//! A revision asked for on a Gitkeeper pull request (a `revise` command, a
//! review, a line comment): check out the pull request's head, run the task
//! path with the request and the diff, and hand the result to `publish` as
//! a new commit on the same branch. The answer goes to the status comment
//! and, for a line comment, into its thread.
//!
//! Must never: push to a fork, to a closed pull request, or to one the bot
//! did not open.

use tokio_util::sync::CancellationToken;

use super::status::{StatusComment, failure_report};
use super::work::{cleanup, quote};
use super::{Outcome, Pipeline, PipelineError};
use crate::generate::{GenerationOutcome, Revision};
use crate::github::{Installation, Sha};
use crate::ids::{CommentId, IssueNumber};
use crate::intent::RepoRef;
use crate::publish::{Work, issue_of, push_revision, updates_from_work_dir};
use crate::queue::Job;
use crate::task::TaskSpec;

/// A revision asked for on a pull request.
#[derive(Debug, Clone)]
pub struct Ask {
    pub comment: String,
    pub file: Option<String>,
    pub line: Option<u64>,
    /// The review comment whose thread gets the answer too.
    pub thread: Option<CommentId>,
}

/// The status comment plus, for a line comment, a reply in its thread.
struct Answer<'a> {
    gh: &'a Installation,
    repo: &'a RepoRef,
    status: &'a StatusComment,
    number: IssueNumber,
    thread: Option<CommentId>,
}

impl Answer<'_> {
    async fn finish(&self, headline: &str, details: &str) -> Result<(), PipelineError> {
        self.status.finish(headline, details).await?;
        self.reply(headline, details).await
    }

    /// Like [`Answer::finish`] for a revision that failed.
    async fn fail(&self, headline: &str, details: &str) -> Result<(), PipelineError> {
        self.status.fail(headline, details).await?;
        self.reply(headline, details).await
    }

    async fn reply(&self, headline: &str, details: &str) -> Result<(), PipelineError> {
        if let Some(comment) = self.thread {
            let text = format!("{headline}\n\n{}", details.trim());
            self.gh
                .reply_to_review_comment(self.repo, self.number, comment, text.trim_end())
                .await?;
        }
        Ok(())
    }
}

impl Pipeline {
    /// Revise pull request `number` as `ask` says, on top of its head.
    pub(super) async fn revise(
        &self,
        gh: &Installation,
        job: &Job,
        status: &StatusComment,
        number: IssueNumber,
        ask: &Ask,
        cancel: &CancellationToken,
    ) -> Result<Outcome, PipelineError> {
        let repo = job.intent.repo();
        let answer = Answer {
            gh,
            repo,
            status,
            number,
            thread: ask.thread,
        };
        let pull = gh.pull(repo, number).await?;
        let Some(issue_number) = issue_of(&pull) else {
            answer
                .finish(
                    "🤔 **This pull request was not opened by Gitkeeper.**",
                    "Gitkeeper revises only its own pull requests.",
                )
                .await?;
            return Ok(Outcome::Done);
        };
        if pull.state != "open" {
            answer
                .finish(
                    "🤔 **This pull request is closed.**",
                    &format!(
                        "Reopen it to revise it, or comment `{} retry` on the issue for a new one.",
                        self.prefix()
                    ),
                )
                .await?;
            return Ok(Outcome::Done);
        }
        if pull.from_fork() {
            answer
                .finish(
                    "🔒 **Gitkeeper cannot push to this pull request's branch.**",
                    "Its head branch is in another repository (a fork), where the App has no write access. Push the change yourself, or let Gitkeeper open its own pull request from an issue.",
                )
                .await?;
            return Ok(Outcome::Done);
        }
        let (checkout, diff) = self.read_pull(job, status, &pull).await?;
        let issue = gh.issue(repo, issue_number).await?;
        let labels = issue.label_names();
        let issue_body = issue.body.unwrap_or_default();
        let spec = TaskSpec {
            title: &issue.title,
            body: &issue_body,
            labels: &labels,
            escalations: 0,
            cloud_approved: false,
            from_first_paid: false,
            spent_today_usd: self.spent_today(repo).await?,
            revision: Some(Revision {
                diff: &diff,
                comment: &ask.comment,
                file: ask.file.as_deref(),
                line: ask.line,
            }),
        };
        let Some(run) = self
            .run_task(job, status, &checkout, &spec, &issue.title, cancel)
            .await?
        else {
            return self.stopped(gh, job, status, None).await;
        };
        let outcome = match &run.generation.outcome {
            GenerationOutcome::Succeeded {
                applied,
                validation,
                worker,
                prompt_sha256,
                ..
            } => {
                status.step("Committing the revision").await?;
                let work = Work {
                    updates: updates_from_work_dir(checkout.dir(), applied).await?,
                    applied,
                    validation,
                    checker: None,
                    worker,
                    prompt_sha256,
                    route: &run.route,
                    generation: &run.generation,
                    draft: false,
                };
                let parent = Sha(checkout.commit().to_string());
                let published =
                    push_revision(gh, repo, &pull, issue_number, parent, &ask.comment, &work)
                        .await?;
                let (headline, details) = published.announce_revision(&work);
                answer.finish(&headline, &details).await?;
                Outcome::Done
            }
            GenerationOutcome::Clarify { question, model } => {
                answer
                    .finish(
                        &format!("❓ **`{model}` needs more to go on.**"),
                        &format!(
                            "It asked:\n\n{}\n\nComment `{} revise <instructions>` with the answer.",
                            quote(question),
                            self.prefix()
                        ),
                    )
                    .await?;
                Outcome::Done
            }
            GenerationOutcome::Parked { model, tier } => {
                answer
                    .finish(
                        "⏸️ **The revision needs a paid model.**",
                        &format!(
                            "Tier {tier} (`{model}`) is paid and `[route] require_approval_for_cloud` is set; revisions do not ask for approval. Revise by hand or change the setting."
                        ),
                    )
                    .await?;
                Outcome::Done
            }
            GenerationOutcome::Exhausted { last_error, .. } => {
                answer
                    .fail(
                        "❌ **Gitkeeper could not make a revision that passes the checks.**",
                        &format!(
                            "The branch is unchanged.\n\n{}",
                            failure_report(&run.route, &run.generation, last_error.as_deref())
                        ),
                    )
                    .await?;
                Outcome::Failed("every tier failed on the revision".into())
            }
        };
        cleanup(checkout).await;
        Ok(outcome)
    }
}
