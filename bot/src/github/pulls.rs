//! Pull requests, their labels and check runs: what publishing and progress
//! reporting call. Only reads and PATCHes are resent after a 5xx; a POST that
//! creates something is sent once.

use http::{Method, StatusCode};
use serde::Deserialize;
use serde_json::json;

use super::GithubError;
use super::client::Installation;
use super::git_data::Sha;
use crate::ids::{CommentId, IssueNumber, ReviewId};
use crate::intent::RepoRef;

/// A pull request (the fields the bot reads).
#[derive(Debug, Clone, Deserialize)]
pub struct PullRequest {
    pub number: IssueNumber,
    pub html_url: String,
    pub state: String,
    #[serde(default)]
    pub draft: bool,
    #[serde(default)]
    pub body: Option<String>,
    pub title: String,
    pub head: PullHead,
    pub base: PullHead,
}

#[derive(Debug, Clone, Deserialize)]
pub struct PullHead {
    #[serde(rename = "ref")]
    pub branch: String,
    pub sha: String,
    /// The repository the branch is in (`None` when it was deleted).
    #[serde(default)]
    pub repo: Option<PullRepo>,
}

/// A comment on a line of a pull request's diff.
#[derive(Debug, Clone, Deserialize)]
pub struct ReviewComment {
    pub id: CommentId,
    pub path: String,
    #[serde(default)]
    pub line: Option<u64>,
    #[serde(default)]
    pub body: String,
}

/// The repository of a pull request's head or base.
#[derive(Debug, Clone, Deserialize)]
pub struct PullRepo {
    pub full_name: String,
}

impl PullRequest {
    /// True when the head branch is in another repository than the base
    /// (a fork, or a deleted one): the App cannot push there.
    pub fn from_fork(&self) -> bool {
        match (&self.head.repo, &self.base.repo) {
            (Some(head), Some(base)) => !head.full_name.eq_ignore_ascii_case(&base.full_name),
            _ => true,
        }
    }
}

/// What a new pull request says.
#[derive(Debug, Clone)]
pub struct NewPull<'a> {
    pub title: &'a str,
    pub body: &'a str,
    pub head: &'a str,
    pub base: &'a str,
    pub draft: bool,
}

/// How a finished check run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckConclusion {
    Success,
    Failure,
    Neutral,
    Cancelled,
}

impl CheckConclusion {
    fn as_str(self) -> &'static str {
        match self {
            CheckConclusion::Success => "success",
            CheckConclusion::Failure => "failure",
            CheckConclusion::Neutral => "neutral",
            CheckConclusion::Cancelled => "cancelled",
        }
    }
}

/// The report a check run shows.
#[derive(Debug, Clone)]
pub struct CheckOutput<'a> {
    pub title: &'a str,
    pub summary: &'a str,
    pub text: Option<&'a str>,
}

#[derive(Deserialize)]
struct IdOnly {
    id: u64,
}

fn repo_path(repo: &RepoRef, rest: &str) -> String {
    format!("repos/{}/{}/{rest}", repo.owner, repo.name)
}

impl Installation {
    /// The open pull request whose head is `branch` in this repository.
    pub async fn open_pull_for_branch(
        &self,
        repo: &RepoRef,
        branch: &str,
    ) -> Result<Option<PullRequest>, GithubError> {
        let path = repo_path(
            repo,
            &format!("pulls?state=open&head={}:{branch}", repo.owner),
        );
        self.find_in_list(&path, |p: &PullRequest| p.head.branch == branch)
            .await
    }

    /// The open pull request Gitkeeper made for `issue` (its branch starts
    /// with `gitkeeper/<issue>` and its body ends with the issue's marker),
    /// whatever the issue's title is now.
    pub async fn open_pull_for_issue(
        &self,
        repo: &RepoRef,
        issue: IssueNumber,
    ) -> Result<Option<PullRequest>, GithubError> {
        let path = repo_path(repo, "pulls?state=open");
        let exact = format!("gitkeeper/{issue}");
        let prefix = format!("gitkeeper/{issue}-");
        self.find_in_list(&path, |p: &PullRequest| {
            (p.head.branch == exact || p.head.branch.starts_with(&prefix))
                && p.body.as_deref().and_then(crate::markers::marked_issue) == Some(issue)
        })
        .await
    }

    /// One pull request by number.
    pub async fn pull(
        &self,
        repo: &RepoRef,
        number: IssueNumber,
    ) -> Result<PullRequest, GithubError> {
        let path = repo_path(repo, &format!("pulls/{number}"));
        self.call(Method::GET, &path, None).await?.json(&path)
    }

    /// Reply in the thread of review comment `comment` on pull request `number`.
    pub async fn reply_to_review_comment(
        &self,
        repo: &RepoRef,
        number: IssueNumber,
        comment: CommentId,
        body: &str,
    ) -> Result<(), GithubError> {
        let path = repo_path(repo, &format!("pulls/{number}/comments/{comment}/replies"));
        self.call(Method::POST, &path, Some(&json!({ "body": body })))
            .await?;
        Ok(())
    }

    /// The line comments of review `review` on pull request `number`.
    pub async fn review_comments(
        &self,
        repo: &RepoRef,
        number: IssueNumber,
        review: ReviewId,
    ) -> Result<Vec<ReviewComment>, GithubError> {
        let path = repo_path(repo, &format!("pulls/{number}/reviews/{review}/comments"));
        self.list_all(&path).await
    }

    pub async fn create_pull(
        &self,
        repo: &RepoRef,
        pull: &NewPull<'_>,
    ) -> Result<PullRequest, GithubError> {
        let path = repo_path(repo, "pulls");
        let body = json!({
            "title": pull.title,
            "body": pull.body,
            "head": pull.head,
            "base": pull.base,
            "draft": pull.draft,
            "maintainer_can_modify": true,
        });
        self.call(Method::POST, &path, Some(&body))
            .await?
            .json(&path)
    }

    pub async fn update_pull(
        &self,
        repo: &RepoRef,
        number: IssueNumber,
        title: &str,
        body: &str,
    ) -> Result<PullRequest, GithubError> {
        let path = repo_path(repo, &format!("pulls/{number}"));
        self.call(
            Method::PATCH,
            &path,
            Some(&json!({"title": title, "body": body})),
        )
        .await?
        .json(&path)
    }

    /// Ask `logins` to review; asking again is harmless.
    pub async fn request_reviewers(
        &self,
        repo: &RepoRef,
        number: IssueNumber,
        logins: &[&str],
    ) -> Result<(), GithubError> {
        let path = repo_path(repo, &format!("pulls/{number}/requested_reviewers"));
        self.call_idempotent(Method::POST, &path, Some(&json!({"reviewers": logins})))
            .await?;
        Ok(())
    }

    /// Add labels to an issue or pull request (adding one twice is harmless).
    pub async fn add_labels(
        &self,
        repo: &RepoRef,
        number: IssueNumber,
        labels: &[&str],
    ) -> Result<(), GithubError> {
        let path = repo_path(repo, &format!("issues/{number}/labels"));
        self.call_idempotent(Method::POST, &path, Some(&json!({"labels": labels})))
            .await?;
        Ok(())
    }

    /// Remove a label; `false` when it was not there.
    pub async fn remove_label(
        &self,
        repo: &RepoRef,
        number: IssueNumber,
        label: &str,
    ) -> Result<bool, GithubError> {
        let path = repo_path(
            repo,
            &format!("issues/{number}/labels/{}", encode_segment(label)),
        );
        match self.call(Method::DELETE, &path, None).await {
            Ok(_) => Ok(true),
            Err(e) if e.status() == Some(StatusCode::NOT_FOUND) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Start a check run on `head_sha`; returns its id.
    pub async fn start_check_run(
        &self,
        repo: &RepoRef,
        name: &str,
        head_sha: &Sha,
        output: &CheckOutput<'_>,
    ) -> Result<u64, GithubError> {
        let path = repo_path(repo, "check-runs");
        let body = json!({
            "name": name,
            "head_sha": head_sha,
            "status": "in_progress",
            "output": output_json(output),
        });
        let run: IdOnly = self
            .call(Method::POST, &path, Some(&body))
            .await?
            .json(&path)?;
        Ok(run.id)
    }

    /// Complete check run `id` with a conclusion and its report.
    pub async fn finish_check_run(
        &self,
        repo: &RepoRef,
        id: u64,
        conclusion: CheckConclusion,
        output: &CheckOutput<'_>,
    ) -> Result<(), GithubError> {
        let path = repo_path(repo, &format!("check-runs/{id}"));
        let body = json!({
            "status": "completed",
            "conclusion": conclusion.as_str(),
            "output": output_json(output),
        });
        self.call(Method::PATCH, &path, Some(&body)).await?;
        Ok(())
    }
}

/// GitHub caps check run summaries and texts at 65,535 characters.
const MAX_CHECK_TEXT: usize = 65_535;

fn output_json(output: &CheckOutput<'_>) -> serde_json::Value {
    let mut value = json!({
        "title": output.title,
        "summary": cap(output.summary, MAX_CHECK_TEXT),
    });
    if let Some(text) = output.text {
        value["text"] = json!(cap(text, MAX_CHECK_TEXT));
    }
    value
}

/// `text` cut to `max` characters, keeping the end (where build errors are)
/// and saying so at the top.
pub(crate) fn cap(text: &str, max: usize) -> String {
    let count = text.chars().count();
    if count <= max {
        return text.to_string();
    }
    let note = "…(the beginning was cut to fit GitHub's limit)\n";
    let keep = max.saturating_sub(note.chars().count());
    let tail: String = text.chars().skip(count - keep).collect();
    format!("{note}{tail}")
}

/// `text` cut to `max` characters, keeping the beginning (for descriptions).
pub(crate) fn cap_head(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let note = "\n\n…(cut to fit GitHub's limit)";
    let keep = max.saturating_sub(note.chars().count());
    let head: String = text.chars().take(keep).collect();
    format!("{head}{note}")
}

/// Percent-encode a label name for a URL path segment.
fn encode_segment(segment: &str) -> String {
    let mut out = String::new();
    for byte in segment.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_reports_keep_their_end_within_the_limit() {
        let text = format!("{}ERROR at the end", "x".repeat(70_000));
        let capped = cap(&text, MAX_CHECK_TEXT);
        assert_eq!(capped.chars().count(), MAX_CHECK_TEXT);
        assert!(capped.ends_with("ERROR at the end"));
        assert!(capped.starts_with("…(the beginning was cut"));
        assert_eq!(cap("short", 10), "short");
    }

    #[test]
    fn label_names_are_encoded_for_the_path() {
        assert_eq!(encode_segment("gitkeeper:working"), "gitkeeper%3Aworking");
        assert_eq!(encode_segment("needs human"), "needs%20human");
    }
}
