//! The work itself: a task (a labelled issue, `retry`, `escalate`,
//! `approve`, an answered question) becomes a commit on the bot's branch
//! and a pull request; a revision (a `revise` command, a review) becomes a
//! new commit on the pull request's branch. Both run the same task path as
//! `solve` (context → route → generation with validation) in a checkout of
//! the job's own, and publish through the Git Data API.
//!
//! Must never: push to a fork or to a branch whose head someone else
//! committed (unless it is the bot's branch being redone from scratch);
//! keep the status comment silent about why the work stopped.

use std::path::Path;

use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use super::report::{self, Described};
use super::status::StatusComment;
use super::{Outcome, Pipeline, PipelineError, for_comment};
use crate::checkout::{Checkout, Want};
use crate::generate::{
    CheckerVerdict, Generation, GenerationOutcome, Progress, Revision, utc_day_start,
};
use crate::github::{CheckConclusion, CheckOutput, GitCommit, Installation, PullRequest, Sha};
use crate::ids::{CommentId, IssueNumber};
use crate::intent::{
    CLARIFICATION_LABEL, HUMAN_REVIEW_LABEL, NEEDS_HUMAN_LABEL, RepoRef, Target, WORKING_LABEL,
    target_key,
};
use crate::prompts::Prompts;
use crate::publish::{
    CommitKind, CommitMessage, FileUpdate, OnDiverged, PullPlan, Trailers, branch_name,
    commit_updates, marked_issue, open_or_update, update_branch, updates_from_applied,
    updates_from_work_dir,
};
use crate::queue::{CANCELLED_BY_REQUEST, Job, now_ms};
use crate::route::{Route, TaskType, ValidationLevel};
use crate::task::{TaskRun, TaskSpec, run_task};
use crate::trail::{AttemptOutcome, AttemptRole};
use crate::validate::ValidationReport;
use gitkeeper::edits::AppliedEdits;

/// The check run's name on the pull request's head commit.
pub const CHECK_NAME: &str = "Gitkeeper";
/// Marks the comment that asks the model's question on the issue.
const QUESTION_MARKER: &str = "<!-- gitkeeper:question -->";

/// A task to carry out from the issue.
#[derive(Debug, Clone)]
pub struct Request {
    pub issue: IssueNumber,
    pub title: String,
    pub body: String,
    /// Who asked; asked to review the pull request.
    pub sender: String,
    pub escalations: u32,
    pub cloud_approved: bool,
    /// `approve`: start at the first paid tier, where the job waited.
    pub from_first_paid: bool,
    /// The maintainer's answer to the model's question.
    pub answer: Option<String>,
}

/// A revision asked for on a pull request.
#[derive(Debug, Clone)]
pub struct Ask {
    pub comment: String,
    pub file: Option<String>,
    pub line: Option<u64>,
    /// The review comment whose thread gets the answer too.
    pub thread: Option<CommentId>,
}

/// A change to publish and what is known about it.
struct Change<'a> {
    updates: Vec<FileUpdate>,
    applied: &'a AppliedEdits,
    validation: &'a ValidationReport,
    checker: Option<&'a CheckerVerdict>,
    worker: &'a str,
    prompt_sha256: &'a str,
    /// The closest failed attempt, opened as a draft.
    draft: bool,
}

/// Who made a branch's head commit.
enum BranchOwner {
    Absent,
    Bot,
    Someone(Sha),
}

/// The status comment plus, for a line comment, a reply in its thread.
pub(super) struct Answer<'a> {
    gh: &'a Installation,
    repo: &'a RepoRef,
    status: &'a StatusComment,
    number: IssueNumber,
    thread: Option<CommentId>,
}

impl Answer<'_> {
    pub(super) async fn finish(&self, headline: &str, details: &str) -> Result<(), PipelineError> {
        self.status.finish(headline, details).await?;
        self.reply(headline, details).await
    }

    /// Like [`Answer::finish`] for a revision that failed.
    pub(super) async fn fail(&self, headline: &str, details: &str) -> Result<(), PipelineError> {
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

/// The issue a Gitkeeper pull request is for, from its body's marker.
pub fn issue_of(pull: &PullRequest) -> Option<IssueNumber> {
    pull.body.as_deref().and_then(marked_issue)
}

impl Pipeline {
    /// Commit `change` on `branch` (on top of the checkout's commit), open or
    /// update its pull request, and report the validation in a check run.
    #[allow(clippy::too_many_arguments)]
    async fn publish_pull(
        &self,
        gh: &Installation,
        repo: &RepoRef,
        request: &Request,
        checkout: &Checkout,
        run: &TaskRun,
        branch: &str,
        on_diverged: OnDiverged,
        change: &Change<'_>,
    ) -> Result<(crate::publish::PullOutcome, GitCommit), PipelineError> {
        let message = CommitMessage {
            kind: commit_kind(run.route.classification.task_type),
            summary: request.title.clone(),
            issue: request.issue,
            body: change.draft.then(|| {
                "Draft: the closest attempt, which does not pass the repository's checks."
                    .to_string()
            }),
            trailers: trailers(&run.generation, change.worker, change.prompt_sha256),
        }
        .render();
        let parent = Sha(checkout.commit().to_string());
        let commit = commit_updates(gh, repo, &parent, &change.updates, &message).await?;
        // Someone may have pushed while the models worked: reset only a
        // branch whose head is still the bot's own commit.
        let on_diverged = match on_diverged {
            OnDiverged::Reset => match self.branch_owner(gh, repo, branch).await? {
                BranchOwner::Bot => OnDiverged::Reset,
                BranchOwner::Absent | BranchOwner::Someone(_) => OnDiverged::Refuse,
            },
            refuse => refuse,
        };
        update_branch(gh, repo, branch, &commit, on_diverged).await?;
        let body = report::pr_body(
            &run.prompts,
            &Described {
                issue: request.issue.0,
                title: &request.title,
                applied: change.applied,
                validation: change.validation,
                checker: change.checker,
                worker: change.worker,
                route: &run.route,
                generation: &run.generation,
                draft: change.draft,
            },
        )?;
        let base = checkout.branch().unwrap_or("main");
        let pull = open_or_update(
            gh,
            repo,
            &PullPlan {
                issue: request.issue,
                branch,
                base,
                title: &request.title,
                body: &body,
                draft: change.draft,
                reviewer: Some(&request.sender),
            },
        )
        .await?;
        self.check_run(gh, repo, &commit, change.validation, &run.route)
            .await?;
        if run.route.validation == ValidationLevel::Critical {
            gh.add_labels(repo, pull.pull.number, &[HUMAN_REVIEW_LABEL])
                .await?;
        }
        Ok((pull, commit))
    }

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
        // The branch of the pull request already open for the issue, even if
        // the issue was renamed since; else one named after the title.
        let branch = match gh.open_pull_for_issue(repo, request.issue).await? {
            Some(pull) => pull.head.branch,
            None => branch_name(request.issue, &request.title),
        };
        let on_diverged = match self.branch_owner(gh, repo, &branch).await? {
            BranchOwner::Absent => OnDiverged::Refuse,
            BranchOwner::Bot => OnDiverged::Reset,
            BranchOwner::Someone(head) => {
                status
                    .finish(
                        "✋ **Gitkeeper will not overwrite this branch.**",
                        &format!(
                            "`{branch}` ends with commit {} that Gitkeeper did not make, and starting over would replace it. Ask for changes on the pull request with `{} revise <instructions>` (they build on that commit), or delete the branch and retry.",
                            short(&head),
                            self.prefix()
                        ),
                    )
                    .await?;
                return Ok(Outcome::Failed(format!(
                    "{branch} has commits the bot did not make"
                )));
            }
        };
        gh.add_labels(repo, request.issue, &[WORKING_LABEL]).await?;
        status.step("Reading the repository").await?;
        let checkout = self.checkout(job, &Want::DefaultBranch).await?;
        let mut body = request.body.clone();
        if let Some(answer) = &request.answer {
            let question = gh
                .find_comment(repo, request.issue, QUESTION_MARKER)
                .await?
                .and_then(|c| c.body)
                .map(|b| b.replace(QUESTION_MARKER, "").trim().to_string())
                .unwrap_or_default();
            body = format!(
                "{body}\n\n## Clarification\n\n{question}\n\nThe maintainer's answer:\n\n{answer}"
            );
            if let Err(e) = gh
                .remove_label(repo, request.issue, CLARIFICATION_LABEL)
                .await
            {
                tracing::warn!(error = %e, "cannot remove the clarification label");
            }
        }
        let labels: Vec<String> = Vec::new();
        let spec = TaskSpec {
            title: &request.title,
            body: &body,
            labels: &labels,
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
        let outcome = match &run.generation.outcome {
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
                let change = Change {
                    updates: updates_from_work_dir(checkout.dir(), applied)?,
                    applied,
                    validation,
                    checker: checker.as_ref(),
                    worker,
                    prompt_sha256,
                    draft: false,
                };
                let (pull, _) = self
                    .publish_pull(
                        gh,
                        repo,
                        request,
                        &checkout,
                        &run,
                        &branch,
                        on_diverged,
                        &change,
                    )
                    .await?;
                gh.remove_label(repo, request.issue, WORKING_LABEL).await?;
                // Whatever waited or failed before is settled now.
                for label in [NEEDS_HUMAN_LABEL, CLARIFICATION_LABEL] {
                    gh.remove_label(repo, request.issue, label).await?;
                }
                let verb = if pull.opened { "Opened" } else { "Updated" };
                let mut details = format!(
                    "{verb} {} on `{branch}`: {}. `{worker}` wrote it; {} passed.",
                    pull.pull.html_url,
                    applied.diff().summary(),
                    checks_summary(validation)
                );
                if let Some(why) = &pull.review_not_requested {
                    details.push_str(&format!(
                        "\n\nReview could not be requested from @{}: {why}",
                        request.sender
                    ));
                }
                status
                    .finish(&format!("✅ **{verb} #{}.**", pull.pull.number), &details)
                    .await?;
                Outcome::Done
            }
            GenerationOutcome::Clarify { question, model } => {
                let text = format!(
                    "❓ **Gitkeeper needs an answer before it can go on.** `{model}` asked:\n\n{}\n\nReply in a comment on this issue: the next comment from someone with **{}** access or more resumes the work with the answer.",
                    quote(question),
                    self.settings.trigger.min_permission.as_str()
                );
                gh.upsert_comment(repo, request.issue, QUESTION_MARKER, &text)
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
                            report::failure_report(&run.route, &run.generation, None)
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
                    let change = Change {
                        updates: updates_from_applied(&closest.applied)?,
                        applied: &closest.applied,
                        validation: &closest.validation,
                        checker: None,
                        worker: &closest.model,
                        prompt_sha256: &closest.prompt_sha256,
                        draft: true,
                    };
                    let (pull, _) = self
                        .publish_pull(
                            gh,
                            repo,
                            request,
                            &checkout,
                            &run,
                            &branch,
                            on_diverged,
                            &change,
                        )
                        .await?;
                    gh.add_labels(repo, pull.pull.number, &[NEEDS_HUMAN_LABEL])
                        .await?;
                    headline = format!(
                        "📝 **Opened draft #{} with the closest attempt; it does not pass the checks.**",
                        pull.pull.number
                    );
                    draft_note = format!(
                        "The draft holds `{}`'s last change that applied; its failing checks are in the pull request and its check run. ",
                        closest.model
                    );
                }
                gh.remove_label(repo, request.issue, WORKING_LABEL).await?;
                status
                    .conclude(
                        &headline,
                        &format!(
                            "Every tier of the ladder was tried. {draft_note}Comment `{p} escalate` to start one tier higher, or make the issue more precise and comment `{p} retry`.\n\n{}",
                            report::failure_report(&run.route, &run.generation, last_error.as_deref()),
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
        };
        cleanup(checkout).await;
        Ok(outcome)
    }

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
        let pull = gh.pull(repo, number).await?;
        let Some(issue_number) = issue_of(&pull) else {
            self.answer(gh, job, status, number, ask)
                .finish(
                    "🤔 **This pull request was not opened by Gitkeeper.**",
                    "Gitkeeper revises only its own pull requests.",
                )
                .await?;
            return Ok(Outcome::Done);
        };
        if pull.state != "open" {
            self.answer(gh, job, status, number, ask)
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
            self.answer(gh, job, status, number, ask)
                .finish(
                    "🔒 **Gitkeeper cannot push to this pull request's branch.**",
                    "Its head branch is in another repository (a fork), where the App has no write access. Push the change yourself, or let Gitkeeper open its own pull request from an issue.",
                )
                .await?;
            return Ok(Outcome::Done);
        }
        let (checkout, diff) = self.read_pull(job, status, &pull).await?;
        let issue = gh.issue(repo, issue_number).await?;
        let issue_body = issue.body.unwrap_or_default();
        let labels: Vec<String> = Vec::new();
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
                let message = CommitMessage {
                    kind: commit_kind(run.route.classification.task_type),
                    summary: format!("revise: {}", first_line(&ask.comment)),
                    issue: issue_number,
                    body: None,
                    trailers: trailers(&run.generation, worker, prompt_sha256),
                }
                .render();
                let updates = updates_from_work_dir(checkout.dir(), applied)?;
                let parent = Sha(checkout.commit().to_string());
                let commit = commit_updates(gh, repo, &parent, &updates, &message).await?;
                update_branch(gh, repo, &pull.head.branch, &commit, OnDiverged::Refuse).await?;
                self.check_run(gh, repo, &commit, validation, &run.route)
                    .await?;
                self.answer(gh, job, status, number, ask)
                    .finish(
                        &format!("✅ **Pushed {} to this pull request.**", short(&commit.sha)),
                        &format!(
                            "{}. `{worker}` wrote it; {} passed.\n\n{}",
                            applied.diff().summary(),
                            checks_summary(validation),
                            report::file_lines(applied)
                                .iter()
                                .map(|l| format!("- {l}"))
                                .collect::<Vec<_>>()
                                .join("\n")
                        ),
                    )
                    .await?;
                Outcome::Done
            }
            GenerationOutcome::Clarify { question, model } => {
                self.answer(gh, job, status, number, ask)
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
                self.answer(gh, job, status, number, ask)
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
                self.answer(gh, job, status, number, ask)
                    .fail(
                        "❌ **Gitkeeper could not make a revision that passes the checks.**",
                        &format!(
                            "The branch is unchanged.\n\n{}",
                            report::failure_report(
                                &run.route,
                                &run.generation,
                                last_error.as_deref()
                            )
                        ),
                    )
                    .await?;
                Outcome::Failed("every tier failed on the revision".into())
            }
        };
        cleanup(checkout).await;
        Ok(outcome)
    }

    /// Where a revision's result is told: the status comment, and the
    /// review thread when the request came from a line comment.
    fn answer<'a>(
        &'a self,
        gh: &'a Installation,
        job: &'a Job,
        status: &'a StatusComment,
        number: IssueNumber,
        ask: &'a Ask,
    ) -> Answer<'a> {
        Answer {
            gh,
            repo: job.intent.repo(),
            status,
            number,
            thread: ask.thread,
        }
    }

    /// The job was stopped mid-task: by a maintainer (say so, leave the
    /// branch), or because another worker took it over (say nothing).
    async fn stopped(
        &self,
        gh: &Installation,
        job: &Job,
        status: &StatusComment,
        issue: Option<IssueNumber>,
    ) -> Result<Outcome, PipelineError> {
        if self.store.cancel_requested(job.id).await? {
            status
                .finish(
                    &format!("🛑 **Stopped** by `{} cancel`.", self.prefix()),
                    "Nothing was pushed by this job; branches and pull requests are left as they were.",
                )
                .await?;
            if let Some(issue) = issue {
                gh.remove_label(job.intent.repo(), issue, WORKING_LABEL)
                    .await?;
            }
        }
        Ok(Outcome::Cancelled)
    }

    /// Stop the other jobs on the issue and its pull request (or the pull
    /// request and its issue), and say what was stopped.
    pub(super) async fn cancel(
        &self,
        gh: &Installation,
        job: &Job,
        status: &StatusComment,
        target: Target,
    ) -> Result<Outcome, PipelineError> {
        let repo = job.intent.repo();
        let mut numbers = vec![target.number()];
        match target {
            Target::PullRequest(n) => {
                if let Some(issue) = issue_of(&gh.pull(repo, n).await?) {
                    numbers.push(issue);
                }
            }
            Target::Issue(n) => {
                let issue = gh.issue(repo, n).await?;
                if issue.pull_request.is_none() {
                    if let Some(pull) = gh.open_pull_for_issue(repo, n).await? {
                        numbers.push(pull.number);
                    }
                }
            }
        }
        let (mut running, mut pending) = (0, 0);
        for number in numbers {
            let (flagged, cancelled) = self
                .store
                .request_cancel(
                    &target_key(repo, number),
                    job.id,
                    CANCELLED_BY_REQUEST,
                    now_ms(),
                )
                .await?;
            running += flagged;
            pending += cancelled;
        }
        let text = match (running, pending) {
            (0, 0) => "Nothing was running or waiting here.".to_string(),
            (r, p) => format!(
                "{r} running job(s) will stop at their next heartbeat (within {}s) and {p} waiting job(s) were cancelled. Branches and pull requests are left as they are.",
                (self.settings.worker.lease_secs / 3).max(1)
            ),
        };
        status.finish("🛑 **Cancel requested.**", &text).await?;
        Ok(Outcome::Done)
    }

    /// Check out the pull request's head and diff it against its base.
    pub(super) async fn read_pull(
        &self,
        job: &Job,
        status: &StatusComment,
        pull: &PullRequest,
    ) -> Result<(Checkout, String), PipelineError> {
        status.step("Reading the pull request").await?;
        let checkout = self
            .checkout(job, &Want::Branch(pull.head.branch.clone()))
            .await?;
        let diff = self
            .pull_diff(job.intent.repo(), &pull.base.sha, checkout.commit())
            .await;
        Ok((checkout, diff))
    }

    /// Fetch and check out `want` into the job's directory.
    async fn checkout(&self, job: &Job, want: &Want) -> Result<Checkout, PipelineError> {
        let token = self
            .github
            .installation_token(job.intent.installation())
            .await?;
        Ok(self
            .checkouts
            .checkout(job.intent.repo(), &token, want, job.id)
            .await?)
    }

    /// Run the task with progress shown in the status comment and its trail
    /// recorded; `None` when the job was cancelled meanwhile.
    async fn run_task(
        &self,
        job: &Job,
        status: &StatusComment,
        checkout: &Checkout,
        spec: &TaskSpec<'_>,
        description: &str,
        cancel: &CancellationToken,
    ) -> Result<Option<TaskRun>, PipelineError> {
        let (progress, watcher) = watch::channel(Progress::Starting);
        let follower = status.follow(watcher);
        let result = tokio::select! {
            r = run_task(&self.settings, self.models(), checkout.dir(), spec, Some(&progress), Some(checkout.commit())) => Some(r),
            _ = cancel.cancelled() => None,
        };
        drop(progress);
        if let Err(e) = follower.await {
            tracing::warn!(error = %e, "the progress writer stopped abnormally");
        }
        let Some(run) = result else {
            return Ok(None);
        };
        let run = run?;
        let repo = job.intent.repo().full_name();
        let record = run.generation.task_record(
            &run.route,
            &repo,
            &format!("{description}\n{}", spec.body),
            &job.id.to_string(),
        );
        run.generation
            .record(self.store.as_ref(), job.id, &record)
            .await?;
        Ok(Some(run))
    }

    async fn spent_today(&self, repo: &RepoRef) -> Result<f64, PipelineError> {
        let now = now_ms();
        Ok(self
            .store
            .spent_since(&repo.full_name(), utc_day_start(now))
            .await?)
    }

    pub(super) fn prompts(&self, work: &Path) -> Result<Prompts, PipelineError> {
        let prompts = Prompts::load(&self.settings.prompts)?;
        Ok(if self.settings.prompts.repo_overrides {
            prompts.with_repo_overrides(work)?
        } else {
            prompts
        })
    }

    /// Who made the head commit of `branch`: the bot's branch may be reset
    /// for a redo only when its head is the bot's own commit.
    async fn branch_owner(
        &self,
        gh: &Installation,
        repo: &RepoRef,
        branch: &str,
    ) -> Result<BranchOwner, PipelineError> {
        let Some(head) = gh.branch_head(repo, branch).await? else {
            return Ok(BranchOwner::Absent);
        };
        let commit = gh.get_commit(repo, &head).await?;
        Ok(if commit.message.contains("\nGitkeeper-Prompt-SHA256: ") {
            BranchOwner::Bot
        } else {
            BranchOwner::Someone(head)
        })
    }

    /// A completed check run on `commit` with the validation report.
    async fn check_run(
        &self,
        gh: &Installation,
        repo: &RepoRef,
        commit: &GitCommit,
        validation: &ValidationReport,
        route: &Route,
    ) -> Result<(), PipelineError> {
        let title = format!("{} passed", checks_summary(validation));
        let summary = format!(
            "Validation level **{}**; the repository's checks ran in Gitkeeper's sandbox before this commit was made.",
            route.validation.as_str()
        );
        let text = report::validation_section(validation);
        let started = CheckOutput {
            title: "Validating",
            summary: &summary,
            text: None,
        };
        let id = gh
            .start_check_run(repo, CHECK_NAME, &commit.sha, &started)
            .await?;
        let conclusion = if validation.passed {
            CheckConclusion::Success
        } else {
            CheckConclusion::Failure
        };
        gh.finish_check_run(
            repo,
            id,
            conclusion,
            &CheckOutput {
                title: &title,
                summary: &summary,
                text: Some(&text),
            },
        )
        .await?;
        Ok(())
    }

    /// `git diff base..head` from the repository's mirror (both commits are
    /// in it after the checkout's fetch); empty, with a warning, when git fails.
    async fn pull_diff(&self, repo: &RepoRef, base: &str, head: &str) -> String {
        let mirror = match self.checkouts.mirror_path(repo) {
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
}

pub(super) async fn cleanup(checkout: Checkout) {
    if let Err(e) = checkout.cleanup().await {
        tracing::warn!(error = %e, "cannot remove the job directory; it goes at the next start");
    }
}

/// The commit trailers: the kept model, its tier, the worker attempts, the prompt hash.
fn trailers(g: &Generation, worker: &str, prompt_sha256: &str) -> Trailers {
    let tier = g
        .attempts
        .iter()
        .rev()
        .find(|a| a.role != AttemptRole::Checker && a.outcome == AttemptOutcome::Passed)
        .map(|a| a.tier.to_string())
        .unwrap_or_default();
    let attempts = g
        .attempts
        .iter()
        .filter(|a| a.role != AttemptRole::Checker && a.outcome != AttemptOutcome::SkippedBudget)
        .count();
    Trailers {
        model: worker.to_string(),
        tier,
        attempts: u32::try_from(attempts).unwrap_or(u32::MAX),
        prompt_sha256: prompt_sha256.to_string(),
    }
}

fn commit_kind(task: TaskType) -> CommitKind {
    match task {
        TaskType::Implement => CommitKind::Feat,
        TaskType::Fix => CommitKind::Fix,
        TaskType::Refactor => CommitKind::Refactor,
        TaskType::Test => CommitKind::Test,
        TaskType::Docs => CommitKind::Docs,
    }
}

/// "3 checks" / "1 check".
fn checks_summary(report: &ValidationReport) -> String {
    let n = report.checks.len();
    format!("{n} check{}", if n == 1 { "" } else { "s" })
}

fn short(sha: &Sha) -> String {
    sha.0.chars().take(7).collect()
}

fn first_line(text: &str) -> String {
    text.lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("")
        .trim()
        .to_string()
}

/// A model's text as a quote that cannot mention anyone or hide a marker.
fn quote(text: &str) -> String {
    for_comment(text)
        .lines()
        .map(|l| format!("> {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_questions_mention_nobody() {
        assert_eq!(
            quote("Ask @octocat?\nOr me"),
            "> Ask @\u{200b}octocat?\n> Or me"
        );
    }

    #[test]
    fn commit_kinds_follow_the_task_type() {
        assert_eq!(commit_kind(TaskType::Fix).as_str(), "fix");
        assert_eq!(commit_kind(TaskType::Implement).as_str(), "feat");
        assert_eq!(commit_kind(TaskType::Docs).as_str(), "docs");
    }
}
