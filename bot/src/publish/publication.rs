//! A validated change made public: one commit on the bot's branch, the pull
//! request opened or updated for it, the check run with its validation, and
//! the labels the pull request needs. The result is a [`Publication`], and
//! the lines that tell the maintainer about it are written here too.
//!
//! Must never: reset a branch whose head someone else committed meanwhile,
//! or push a revision over commits the bot has not seen.

use gitkeeper::edits::AppliedEdits;

use super::branch::{BranchOwner, OnDiverged, branch_owner, short, update_branch};
use super::check_run::{checks_summary, report_check_run};
use super::message::{CommitKind, CommitMessage, Trailers, first_line};
use super::pull_request::{PublishedPull, PullPlan, open_or_update};
use super::report::{attempt_table, file_lines, pr_body};
use super::{FileUpdate, PublishError, commit_updates};
use crate::generate::{CheckerVerdict, Generation};
use crate::github::{GitCommit, Installation, PullRequest, Sha};
use crate::ids::IssueNumber;
use crate::intent::{HUMAN_REVIEW_LABEL, NEEDS_HUMAN_LABEL, RepoRef};
use crate::prompts::Prompts;
use crate::route::{Route, ValidationLevel};
use crate::trail::AttemptOutcome;
use crate::validate::ValidationReport;

/// What publishing left on GitHub.
#[derive(Debug, Clone)]
pub struct Publication {
    /// The branch the commit is on.
    pub branch: String,
    /// The commit made for the change.
    pub commit: GitCommit,
    /// The pull request opened, updated, or (for a revision) pushed to.
    pub pull: PublishedPull,
    /// The check run that reports the validation on the commit.
    pub check_run: u64,
    /// Labels added to the pull request.
    pub labels: Vec<&'static str>,
}

/// A change to publish and what is known about how it was made.
pub struct Work<'a> {
    /// The files as they are to be committed.
    pub updates: Vec<FileUpdate>,
    pub applied: &'a AppliedEdits,
    pub validation: &'a ValidationReport,
    pub checker: Option<&'a CheckerVerdict>,
    /// The model that wrote the change.
    pub worker: &'a str,
    pub prompt_sha256: &'a str,
    pub route: &'a Route,
    pub generation: &'a Generation,
    /// The closest failed attempt, opened as a draft.
    pub draft: bool,
}

impl Work<'_> {
    fn message(&self, summary: String, issue: IssueNumber, body: Option<String>) -> String {
        CommitMessage {
            kind: CommitKind::for_task(self.route.classification.task_type),
            summary,
            issue,
            body,
            trailers: Trailers::of(self.generation, self.worker, self.prompt_sha256),
        }
        .render()
    }
}

/// Where a task's pull request goes and who asked for it.
pub struct PullTask<'a> {
    pub issue: IssueNumber,
    /// The issue's title: the commit's subject and the pull request's title.
    pub title: &'a str,
    /// Who asked; asked to review.
    pub requester: &'a str,
    pub branch: &'a str,
    /// The branch the pull request goes into.
    pub base: &'a str,
    /// The commit the change was made on.
    pub parent: Sha,
    /// What a redo may do to the branch, as its owner was when the job began.
    pub on_diverged: OnDiverged,
}

/// Commit `work` on `task.branch` (on top of `task.parent`), open or update
/// its pull request, report the validation in a check run and label the
/// pull request (human review for critical changes, needs-human for a draft).
pub async fn publish_pull(
    github: &Installation,
    repo: &RepoRef,
    prompts: &Prompts,
    task: &PullTask<'_>,
    work: &Work<'_>,
) -> Result<Publication, PublishError> {
    let body = work.draft.then(|| {
        "Draft: the closest attempt, which does not pass the repository's checks.".to_string()
    });
    let message = work.message(task.title.to_string(), task.issue, body);
    let commit = commit_updates(github, repo, &task.parent, &work.updates, &message).await?;
    // Someone may have pushed while the models worked: reset only a
    // branch whose head is still the bot's own commit.
    let on_diverged = match task.on_diverged {
        OnDiverged::Reset => match branch_owner(github, repo, task.branch).await? {
            BranchOwner::Bot => OnDiverged::Reset,
            BranchOwner::Absent | BranchOwner::Someone(_) => OnDiverged::Refuse,
        },
        refuse => refuse,
    };
    update_branch(github, repo, task.branch, &commit, on_diverged).await?;
    let description = pr_body(prompts, task.issue, task.title, work)?;
    let pull = open_or_update(
        github,
        repo,
        &PullPlan {
            issue: task.issue,
            branch: task.branch,
            base: task.base,
            title: task.title,
            body: &description,
            draft: work.draft,
            reviewer: Some(task.requester),
        },
    )
    .await?;
    let check_run = report_check_run(github, repo, &commit, work.validation, work.route).await?;
    let mut labels = Vec::new();
    if work.route.validation == ValidationLevel::Critical {
        labels.push(HUMAN_REVIEW_LABEL);
    }
    if work.draft {
        labels.push(NEEDS_HUMAN_LABEL);
    }
    for label in &labels {
        github.add_labels(repo, pull.pull.number, &[label]).await?;
    }
    Ok(Publication {
        branch: task.branch.to_string(),
        commit,
        pull,
        check_run,
        labels,
    })
}

/// Commit `work` on top of `parent`, the head of `pull` (a Gitkeeper pull
/// request for `issue`) the revision was made on, move its branch there
/// (never over commits pushed meanwhile) and report the validation.
/// `instructions` are the maintainer's; their first line is the subject.
pub async fn push_revision(
    github: &Installation,
    repo: &RepoRef,
    pull: &PullRequest,
    issue: IssueNumber,
    parent: Sha,
    instructions: &str,
    work: &Work<'_>,
) -> Result<Publication, PublishError> {
    let summary = format!("revise: {}", first_line(instructions));
    let message = work.message(summary, issue, None);
    let commit = commit_updates(github, repo, &parent, &work.updates, &message).await?;
    update_branch(github, repo, &pull.head.branch, &commit, OnDiverged::Refuse).await?;
    let check_run = report_check_run(github, repo, &commit, work.validation, work.route).await?;
    Ok(Publication {
        branch: pull.head.branch.clone(),
        commit,
        pull: PublishedPull {
            pull: pull.clone(),
            opened: false,
            review_not_requested: None,
        },
        check_run,
        labels: Vec::new(),
    })
}

impl Publication {
    /// The status comment's headline and details for a task's pull request;
    /// `requester` is who review was asked from.
    pub fn announce(&self, work: &Work<'_>, requester: &str) -> (String, String) {
        let verb = if self.pull.opened {
            "Opened"
        } else {
            "Updated"
        };
        let mut details = format!(
            "{verb} {} on `{}`: {}. `{}` wrote it; {} passed.",
            self.pull.pull.html_url,
            self.branch,
            work.applied.diff().summary(),
            work.worker,
            checks_summary(work.validation)
        );
        if let Some(why) = &self.pull.review_not_requested {
            details.push_str(&format!(
                "\n\nReview could not be requested from @{requester}: {why}"
            ));
        }
        (
            format!("✅ **{verb} #{}.**", self.pull.pull.number),
            details,
        )
    }

    /// The headline and the note for a failed task whose closest attempt
    /// (by `model`) was opened as a draft.
    pub fn announce_draft(&self, model: &str) -> (String, String) {
        (
            format!(
                "📝 **Opened draft #{} with the closest attempt; it does not pass the checks.**",
                self.pull.pull.number
            ),
            format!(
                "The draft holds `{model}`'s last change that applied; its failing checks are in the pull request and its check run. "
            ),
        )
    }

    /// The headline and details for a revision pushed to a pull request.
    /// The reply to a revision request: what was pushed, and every attempt
    /// when one failed first (what was refused, such as an edit of a
    /// protected path the request asked for, and why).
    pub fn announce_revision(&self, work: &Work<'_>) -> (String, String) {
        let mut details = format!(
            "{}. `{}` wrote it; {} passed.\n\n{}",
            work.applied.diff().summary(),
            work.worker,
            checks_summary(work.validation),
            file_lines(work.applied)
                .iter()
                .map(|l| format!("- {l}"))
                .collect::<Vec<_>>()
                .join("\n")
        );
        let refused = work
            .generation
            .attempts
            .iter()
            .any(|a| a.outcome != AttemptOutcome::Passed);
        if refused {
            details.push_str(&format!(
                "\n\nNot every attempt passed; what was refused and why:\n\n{}",
                attempt_table(work.generation)
            ));
        }
        (
            format!(
                "✅ **Pushed {} to this pull request.**",
                short(&self.commit.sha)
            ),
            details,
        )
    }
}
