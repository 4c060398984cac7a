//! A task from an issue (a labelled issue, `retry`, `escalate`, `approve`,
//! an answered question): check the branch may be redone, check out the
//! default branch, run the task path, and hand a result to `publish`, or
//! ask the model's question, wait for approval, or say every tier failed.
//!
//! Must never: start work on a branch whose head someone else committed;
//! keep the status comment silent about why the work stopped.

use tokio_util::sync::CancellationToken;

use super::status::{StatusComment, failure_report};
use super::work::{cleanup, quote};
use super::{Outcome, Pipeline, PipelineError};
use crate::checkout::{Checkout, Want};
use crate::generate::GenerationOutcome;
use crate::github::{Installation, Sha};
use crate::ids::IssueNumber;
use crate::intent::{CLARIFICATION_LABEL, NEEDS_HUMAN_LABEL, RepoRef, WORKING_LABEL};
use crate::markers;
use crate::publish::{
    BranchOwner, OnDiverged, PullTask, Work, branch_owner, not_overwritten, publish_pull,
    task_branch, updates_from_applied, updates_from_work_dir,
};
use crate::queue::{Job, now_ms};
use crate::task::{TaskRun, TaskSpec};

/// A task to carry out from the issue.
#[derive(Debug, Clone)]
pub struct Request {
    pub issue: IssueNumber,
    pub title: String,
    pub body: String,
    /// The issue's labels (`gitkeeper:local` / `gitkeeper:cloud` route the work).
    pub labels: Vec<String>,
    /// Who asked; asked to review the pull request.
    pub sender: String,
    pub escalations: u32,
    pub cloud_approved: bool,
    /// `approve`: start at the first paid tier, where the job waited.
    pub from_first_paid: bool,
    /// The maintainer's answer to the model's question.
    pub answer: Option<String>,
}

impl Request {
    /// Where the request's pull request goes, built on `checkout`.
    fn pull_task<'a>(
        &'a self,
        checkout: &'a Checkout,
        branch: &'a str,
        on_diverged: OnDiverged,
    ) -> PullTask<'a> {
        PullTask {
            issue: self.issue,
            title: &self.title,
            requester: &self.sender,
            branch,
            base: checkout.branch().unwrap_or("main"),
            parent: Sha(checkout.commit().to_string()),
            on_diverged,
        }
    }
}

impl Pipeline {
    /// Carry out `request` on a fresh checkout of the default branch.
    pub(super) async fn generate(
        &self,
        gh: &Installation,
        job: &Job,
        status: &StatusComment,
        request: &Request,
        cancel: &CancellationToken,
    ) -> Result<Outcome, PipelineError> {
        let repo = job.intent.repo();
        // A branch someone else pushed to is never overwritten: say so
        // before spending anything on models.
        let branch = task_branch(gh, repo, request.issue, &request.title).await?;
        let owner = branch_owner(gh, repo, &branch).await?;
        let Some(on_diverged) = owner.redo() else {
            if let BranchOwner::Someone(head) = &owner {
                let (headline, details) = not_overwritten(&branch, head, self.prefix());
                status.finish(&headline, &details).await?;
            }
            return Ok(Outcome::Failed(format!(
                "{branch} has commits the bot did not make"
            )));
        };
        gh.add_labels(repo, request.issue, &[WORKING_LABEL]).await?;
        status.step("Reading the repository").await?;
        let checkout = self.checkout(job, &Want::DefaultBranch).await?;
        let body = match &request.answer {
            Some(answer) => self.with_answer(gh, repo, request, answer).await?,
            None => request.body.clone(),
        };
        let spec = TaskSpec {
            title: &request.title,
            body: &body,
            labels: &request.labels,
            escalations: request.escalations,
            cloud_approved: request.cloud_approved,
            from_first_paid: request.from_first_paid,
            spent_today_usd: self.spent_today(repo).await?,
            revision: None,
        };
        let Some(run) = self
            .run_task(job, status, &checkout, &spec, &request.title, cancel)
            .await?
        else {
            return self.stopped(gh, job, status, Some(request.issue)).await;
        };
        let outcome = self
            .conclude(
                gh,
                job,
                status,
                request,
                &checkout,
                &run,
                &branch,
                on_diverged,
            )
            .await?;
        cleanup(checkout).await;
        Ok(outcome)
    }

    /// The issue's body with the model's question and the maintainer's
    /// answer; the clarification label comes off.
    async fn with_answer(
        &self,
        gh: &Installation,
        repo: &RepoRef,
        request: &Request,
        answer: &str,
    ) -> Result<String, PipelineError> {
        let question = gh
            .find_comment(repo, request.issue, markers::QUESTION)
            .await?
            .and_then(|c| c.body)
            .map(|b| b.replace(markers::QUESTION, "").trim().to_string())
            .unwrap_or_default();
        if let Err(e) = gh
            .remove_label(repo, request.issue, CLARIFICATION_LABEL)
            .await
        {
            tracing::warn!(error = %e, "cannot remove the clarification label");
        }
        Ok(format!(
            "{}\n\n## Clarification\n\n{question}\n\nThe maintainer's answer:\n\n{answer}",
            request.body
        ))
    }

    /// Publish, ask, park or report failure, as the task run came out.
    #[allow(clippy::too_many_arguments)]
    async fn conclude(
        &self,
        gh: &Installation,
        job: &Job,
        status: &StatusComment,
        request: &Request,
        checkout: &Checkout,
        run: &TaskRun,
        branch: &str,
        on_diverged: OnDiverged,
    ) -> Result<Outcome, PipelineError> {
        let repo = job.intent.repo();
        Ok(match &run.generation.outcome {
            GenerationOutcome::Succeeded {
                applied,
                validation,
                checker,
                worker,
                prompt_sha256,
            } => {
                status
                    .step("Committing and opening the pull request")
                    .await?;
                let work = Work {
                    updates: updates_from_work_dir(checkout.dir(), applied).await?,
                    applied,
                    validation,
                    checker: checker.as_ref(),
                    worker,
                    prompt_sha256,
                    route: &run.route,
                    generation: &run.generation,
                    draft: false,
                };
                let task = request.pull_task(checkout, branch, on_diverged);
                let published = publish_pull(gh, repo, &run.prompts, &task, &work).await?;
                // When the pull request opened: `stats` measures time from label to it.
                self.store
                    .record_published(job.id, published.pull.pull.number.0, now_ms())
                    .await?;
                gh.remove_label(repo, request.issue, WORKING_LABEL).await?;
                // Whatever waited or failed before is settled now.
                for label in [NEEDS_HUMAN_LABEL, CLARIFICATION_LABEL] {
                    gh.remove_label(repo, request.issue, label).await?;
                }
                let (headline, details) = published.announce(&work, &request.sender);
                status.finish(&headline, &details).await?;
                Outcome::Done
            }
            GenerationOutcome::Clarify { question, model } => {
                let text = format!(
                    "❓ **Gitkeeper needs an answer before it can go on.** `{model}` asked:\n\n{}\n\nReply in a comment on this issue: the next comment from someone with **{}** access or more resumes the work with the answer.",
                    quote(question),
                    self.settings.trigger.min_permission.as_str()
                );
                gh.upsert_comment(repo, request.issue, markers::QUESTION, &text)
                    .await?;
                gh.add_labels(repo, request.issue, &[CLARIFICATION_LABEL])
                    .await?;
                gh.remove_label(repo, request.issue, WORKING_LABEL).await?;
                status
                    .finish("❓ **Waiting for an answer** to the question below.", "")
                    .await?;
                Outcome::Waiting(format!("{model} asked a question"))
            }
            GenerationOutcome::Parked { model, tier } => {
                gh.remove_label(repo, request.issue, WORKING_LABEL).await?;
                status
                    .finish(
                        "⏸️ **Waiting for approval of a paid model.**",
                        &format!(
                            "Tier {tier} (`{model}`) is a paid cloud model and `[route] require_approval_for_cloud` is set. Comment `{} approve` to allow it; the work then goes on from that tier.\n\n{}",
                            self.prefix(),
                            failure_report(&run.route, &run.generation, None)
                        ),
                    )
                    .await?;
                Outcome::Waiting(format!("tier {tier} ({model}) needs approval"))
            }
            GenerationOutcome::Exhausted {
                last_error,
                closest,
            } => {
                gh.add_labels(repo, request.issue, &[NEEDS_HUMAN_LABEL])
                    .await?;
                let mut headline =
                    "❌ **Gitkeeper could not make a change that passes the checks.**".to_string();
                let mut draft_note = String::new();
                if let Some(closest) = closest
                    .as_deref()
                    .filter(|_| self.settings.publish.open_draft_on_failure)
                {
                    status
                        .step("Opening the closest attempt as a draft")
                        .await?;
                    let work = Work {
                        updates: updates_from_applied(&closest.applied)?,
                        applied: &closest.applied,
                        validation: &closest.validation,
                        checker: None,
                        worker: &closest.model,
                        prompt_sha256: &closest.prompt_sha256,
                        route: &run.route,
                        generation: &run.generation,
                        draft: true,
                    };
                    let task = request.pull_task(checkout, branch, on_diverged);
                    let published = publish_pull(gh, repo, &run.prompts, &task, &work).await?;
                    (headline, draft_note) = published.announce_draft(&closest.model);
                }
                gh.remove_label(repo, request.issue, WORKING_LABEL).await?;
                status
                    .conclude(
                        &headline,
                        &format!(
                            "Every tier of the ladder was tried. {draft_note}Comment `{p} escalate` to start one tier higher, or make the issue more precise and comment `{p} retry`.{}\n\n{}",
                            withheld_env_note(run),
                            failure_report(&run.route, &run.generation, last_error.as_deref()),
                            p = self.prefix()
                        ),
                        draft_note.is_empty(),
                    )
                    .await?;
                Outcome::Failed(format!(
                    "every tier failed; last error: {}",
                    last_error.as_deref().unwrap_or("none")
                ))
            }
        })
    }
}

/// The variables the repository asked for that its commands did not get,
/// by name, as a paragraph for the maintainer (a failing command may have
/// needed one); empty when there are none.
fn withheld_env_note(run: &TaskRun) -> String {
    run.policy
        .withheld_note()
        .map(|note| format!("\n\nℹ️ Note: {}.", crate::markers::for_comment(&note)))
        .unwrap_or_default()
}
