//! Open the pull request for the bot's branch, or update the one already
//! open (found by branch and a hidden marker in its body), so a redelivered
//! or retried job never opens a second one. Review is requested from the
//! person who asked for the work.
//!
//! Must never: update a pull request that does not carry the bot's marker
//! for the issue.

use http::StatusCode;

use super::PublishError;
use crate::github::{GithubError, Installation, NewPull, PullRequest};
use crate::ids::IssueNumber;
use crate::intent::RepoRef;
use crate::markers;

/// GitHub rejects pull request bodies longer than this many characters.
const MAX_BODY_CHARS: usize = 65_536;

/// What the pull request should say.
#[derive(Debug, Clone)]
pub struct PullPlan<'a> {
    pub issue: IssueNumber,
    pub branch: &'a str,
    pub base: &'a str,
    pub title: &'a str,
    /// The rendered description, without the marker.
    pub body: &'a str,
    pub draft: bool,
    /// Who asked for the work; asked to review.
    pub reviewer: Option<&'a str>,
}

/// The pull request as publishing left it.
#[derive(Debug, Clone)]
pub struct PublishedPull {
    pub pull: PullRequest,
    /// False when the pull request was already open and was updated.
    pub opened: bool,
    /// Why review could not be requested, if it could not.
    pub review_not_requested: Option<String>,
}

/// The issue a Gitkeeper pull request is for, from its body's marker.
pub fn issue_of(pull: &PullRequest) -> Option<IssueNumber> {
    pull.body.as_deref().and_then(markers::marked_issue)
}

fn body_with_marker(plan: &PullPlan<'_>) -> String {
    let marker = markers::issue(plan.issue);
    let room = MAX_BODY_CHARS.saturating_sub(marker.chars().count() + 2);
    let body = crate::github::cap_head(plan.body, room);
    format!("{body}\n\n{marker}")
}

/// Open or update the pull request for `plan.branch`.
pub async fn open_or_update(
    github: &Installation,
    repo: &RepoRef,
    plan: &PullPlan<'_>,
) -> Result<PublishedPull, PublishError> {
    let body = body_with_marker(plan);
    let (pull, opened) = match find_ours(github, repo, plan).await? {
        Some(existing) => (
            github
                .update_pull(repo, existing.number, plan.title, &body)
                .await?,
            false,
        ),
        None => {
            let new = NewPull {
                title: plan.title,
                body: &body,
                head: plan.branch,
                base: plan.base,
                draft: plan.draft,
            };
            match github.create_pull(repo, &new).await {
                Ok(pull) => (pull, true),
                // Opened meanwhile by another replica or a redelivery.
                Err(e) if e.status() == Some(StatusCode::UNPROCESSABLE_ENTITY) => {
                    match find_ours(github, repo, plan).await? {
                        Some(existing) => (
                            github
                                .update_pull(repo, existing.number, plan.title, &body)
                                .await?,
                            false,
                        ),
                        None => return Err(e.into()),
                    }
                }
                Err(e) => return Err(e.into()),
            }
        }
    };
    let review_not_requested = match plan.reviewer {
        Some(login) => match github.request_reviewers(repo, pull.number, &[login]).await {
            Ok(()) => None,
            // GitHub refuses authors and non-collaborators; the PR still stands.
            Err(GithubError::Status {
                status: StatusCode::UNPROCESSABLE_ENTITY,
                message,
                ..
            }) => Some(message),
            Err(e) => return Err(e.into()),
        },
        None => None,
    };
    Ok(PublishedPull {
        pull,
        opened,
        review_not_requested,
    })
}

/// The open pull request on the branch, if it carries the bot's marker.
async fn find_ours(
    github: &Installation,
    repo: &RepoRef,
    plan: &PullPlan<'_>,
) -> Result<Option<PullRequest>, PublishError> {
    let Some(pull) = github.open_pull_for_branch(repo, plan.branch).await? else {
        return Ok(None);
    };
    let ours = pull
        .body
        .as_deref()
        .is_some_and(|b| b.contains(&markers::issue(plan.issue)));
    if ours {
        Ok(Some(pull))
    } else {
        Err(PublishError::ForeignPull {
            branch: plan.branch.to_string(),
            number: pull.number,
        })
    }
}
