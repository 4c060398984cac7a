//! What every kind of work shares: checking out the job's commit, running
//! the task path with its progress in the status comment and its trail
//! recorded, reading a pull request back, and stopping (by `cancel`, or
//! when another worker took the job over).
//!
//! Must never: keep the status comment silent about why the work stopped,
//! or leave a job's directory behind when the work is done.

use std::path::Path;

use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use super::status::StatusComment;
use super::{Outcome, Pipeline, PipelineError};
use crate::checkout::{Checkout, CheckoutError, Want};
use crate::generate::{Progress, utc_day_start};
use crate::github::{Installation, PullRequest};
use crate::ids::IssueNumber;
use crate::intent::{RepoRef, Target, WORKING_LABEL, target_key};
use crate::markers::for_comment;
use crate::prompts::Prompts;
use crate::publish::{issue_of, pull_diff};
use crate::queue::{CANCELLED_BY_REQUEST, Job, now_ms};
use crate::task::{TaskRun, TaskSpec, run_task};

impl Pipeline {
    /// The job was stopped mid-task: by a maintainer (say so, leave the
    /// branch), or because another worker took it over (say nothing).
    pub(super) async fn stopped(
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
        let diff = pull_diff(
            &self.checkouts,
            job.intent.repo(),
            &pull.base.sha,
            checkout.commit(),
        )
        .await;
        Ok((checkout, diff))
    }

    /// Fetch and check out `want` into the job's directory. A token git
    /// refuses is replaced once, as for API calls: GitHub may end a cached
    /// token before the bot expects it to.
    pub(super) async fn checkout(&self, job: &Job, want: &Want) -> Result<Checkout, PipelineError> {
        let installation = job.intent.installation();
        let repo = job.intent.repo();
        let token = self.github.installation_token(installation).await?;
        match self.checkouts.checkout(repo, &token, want, job.id).await {
            Err(CheckoutError::AuthRefused { .. }) => {
                tracing::warn!("git refused the installation token; fetching again with a new one");
                let token = self.github.renew_installation_token(installation).await?;
                Ok(self.checkouts.checkout(repo, &token, want, job.id).await?)
            }
            other => Ok(other?),
        }
    }

    /// Run the task with progress shown in the status comment and its trail
    /// recorded; `None` when the job was cancelled meanwhile.
    pub(super) async fn run_task(
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
        if self.settings.privacy.keep_samples {
            if let Some(sample) = run.generation.sample() {
                self.store.record_sample(job.id, &sample, now_ms()).await?;
            }
        }
        Ok(Some(run))
    }

    pub(super) async fn spent_today(&self, repo: &RepoRef) -> Result<f64, PipelineError> {
        let now = now_ms();
        Ok(self
            .store
            .spent_since(&repo.full_name(), utc_day_start(now))
            .await?)
    }

    /// The templates with `work`'s overrides, read off the async runtime.
    pub(super) async fn prompts(&self, work: &Path) -> Result<Prompts, PipelineError> {
        Ok(Prompts::load_for_checkout_async(&self.settings.prompts, work).await?)
    }
}

pub(super) async fn cleanup(checkout: Checkout) {
    if let Err(e) = checkout.cleanup().await {
        tracing::warn!(error = %e, "cannot remove the job directory; it goes at the next start");
    }
}

/// A model's text as a quote that cannot mention anyone or hide a marker.
pub(super) fn quote(text: &str) -> String {
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
}
