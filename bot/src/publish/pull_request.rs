//! Open the pull request for the bot's branch, or update the one already
//! open (found by branch and a hidden marker in its body), so a redelivered
//! or retried job never opens a second one. Review is requested from the
//! person who asked for the work.

use http::StatusCode;

use super::PublishError;
use crate::github::{GithubError, Installation, NewPull, PullRequest};
use crate::ids::IssueNumber;
use crate::intent::RepoRef;

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

/// What happened on GitHub.
#[derive(Debug, Clone)]
pub struct PullOutcome {
    pub pull: PullRequest,
    /// False when the pull request was already open and was updated.
    pub opened: bool,
    /// Why review could not be requested, if it could not.
    pub review_not_requested: Option<String>,
}

/// The hidden line that marks a pull request as the bot's for `issue`.
pub fn marker(issue: IssueNumber) -> String {
    format!("<!-- gitkeeper:issue={issue} -->")
}

/// The issue number in a pull request body's marker: the last one, which
/// the bot appends after everything else in the body.
pub fn marked_issue(body: &str) -> Option<IssueNumber> {
    let (_, rest) = body.rsplit_once("<!-- gitkeeper:issue=")?;
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok().map(IssueNumber)
}

fn body_with_marker(plan: &PullPlan<'_>) -> String {
    let marker = marker(plan.issue);
    let room = MAX_BODY_CHARS.saturating_sub(marker.chars().count() + 2);
    let body = crate::github::cap_head(plan.body, room);
    format!("{body}\n\n{marker}")
}

/// Open or update the pull request for `plan.branch`.
pub async fn open_or_update(
    github: &Installation,
    repo: &RepoRef,
    plan: &PullPlan<'_>,
) -> Result<PullOutcome, PublishError> {
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
    Ok(PullOutcome {
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
        .is_some_and(|b| b.contains(&marker(plan.issue)));
    if ours {
        Ok(Some(pull))
    } else {
        Err(PublishError::ForeignPull {
            branch: plan.branch.to_string(),
            number: pull.number,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_issue_is_read_back_from_the_marker() {
        assert_eq!(
            marked_issue("text\n\n<!-- gitkeeper:issue=42 -->"),
            Some(IssueNumber(42))
        );
        assert_eq!(marked_issue("no marker"), None);
        assert_eq!(marked_issue("<!-- gitkeeper:issue=x -->"), None);
        assert_eq!(marked_issue(&marker(IssueNumber(7))), Some(IssueNumber(7)));
        // Text quoted into the body cannot redirect it: the bot's marker is last.
        assert_eq!(
            marked_issue("<!-- gitkeeper:issue=99 --> quoted\n\n<!-- gitkeeper:issue=7 -->"),
            Some(IssueNumber(7))
        );
    }
}
