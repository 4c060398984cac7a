//! Issue and pull request conversation: comments and reactions.

use http::Method;
use serde::Deserialize;
use serde_json::json;

use super::GithubError;
use super::client::Installation;
use crate::ids::{CommentId, IssueNumber};
use crate::intent::RepoRef;

/// An issue comment as GitHub returns it (the fields the bot reads).
#[derive(Debug, Clone, Deserialize)]
pub struct IssueComment {
    pub id: CommentId,
    #[serde(default)]
    pub body: Option<String>,
    pub html_url: String,
    /// Set when a GitHub App made the comment.
    #[serde(default)]
    pub performed_via_github_app: Option<AppRef>,
}

/// The App a comment was made through.
#[derive(Debug, Clone, Deserialize)]
pub struct AppRef {
    pub id: u64,
}

/// An issue as GitHub returns it (the fields the bot reads).
#[derive(Debug, Clone, Deserialize)]
pub struct Issue {
    pub number: IssueNumber,
    pub title: String,
    #[serde(default)]
    pub body: Option<String>,
    pub state: String,
    /// Present when the issue is a pull request.
    #[serde(default)]
    pub pull_request: Option<serde_json::Value>,
    /// The labels on it now (they route the work: `gitkeeper:local`, `gitkeeper:cloud`).
    #[serde(default)]
    pub labels: Vec<IssueLabel>,
}

impl Issue {
    /// The names of its labels.
    pub fn label_names(&self) -> Vec<String> {
        self.labels
            .iter()
            .map(|l| match l {
                IssueLabel::Name(name) | IssueLabel::Object { name } => name.clone(),
            })
            .collect()
    }
}

/// One label of an issue: GitHub's schema allows a bare name or an object.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum IssueLabel {
    Name(String),
    Object { name: String },
}

/// Reactions the bot uses.
#[derive(Debug, Clone, Copy)]
pub enum Reaction {
    Eyes,
    Rocket,
    Confused,
}

impl Reaction {
    fn content(self) -> &'static str {
        match self {
            Reaction::Eyes => "eyes",
            Reaction::Rocket => "rocket",
            Reaction::Confused => "confused",
        }
    }
}

impl Installation {
    /// One issue (or pull request, as an issue) by number.
    pub async fn issue(&self, repo: &RepoRef, number: IssueNumber) -> Result<Issue, GithubError> {
        let path = format!("repos/{}/{}/issues/{number}", repo.owner, repo.name);
        self.call(Method::GET, &path, None).await?.json(&path)
    }

    pub async fn create_comment(
        &self,
        repo: &RepoRef,
        number: IssueNumber,
        body: &str,
    ) -> Result<IssueComment, GithubError> {
        let path = format!(
            "repos/{}/{}/issues/{number}/comments",
            repo.owner, repo.name
        );
        self.call(Method::POST, &path, Some(&json!({ "body": body })))
            .await?
            .json(&path)
    }

    pub async fn update_comment(
        &self,
        repo: &RepoRef,
        id: CommentId,
        body: &str,
    ) -> Result<IssueComment, GithubError> {
        let path = format!("repos/{}/{}/issues/comments/{id}", repo.owner, repo.name);
        self.call(Method::PATCH, &path, Some(&json!({ "body": body })))
            .await?
            .json(&path)
    }

    /// The first comment this App made on the issue whose body contains
    /// `marker` (anyone can write a marker; only the App's own count).
    pub async fn find_comment(
        &self,
        repo: &RepoRef,
        number: IssueNumber,
        marker: &str,
    ) -> Result<Option<IssueComment>, GithubError> {
        let path = format!(
            "repos/{}/{}/issues/{number}/comments",
            repo.owner, repo.name
        );
        let app_id = self.app_id();
        self.find_in_list(&path, |c: &IssueComment| {
            c.performed_via_github_app
                .as_ref()
                .is_some_and(|a| a.id == app_id)
                && c.body.as_deref().is_some_and(|b| b.contains(marker))
        })
        .await
    }

    /// Create the comment carrying `marker`, or update the one that already does.
    pub async fn upsert_comment(
        &self,
        repo: &RepoRef,
        number: IssueNumber,
        marker: &str,
        body: &str,
    ) -> Result<IssueComment, GithubError> {
        let full = format!("{body}\n\n{marker}");
        match self.find_comment(repo, number, marker).await? {
            Some(existing) if existing.body.as_deref() == Some(full.as_str()) => Ok(existing),
            Some(existing) => self.update_comment(repo, existing.id, &full).await,
            None => self.create_comment(repo, number, &full).await,
        }
    }

    /// React to an issue or pull request (GitHub answers 200 when the reaction exists already).
    pub async fn react_to_issue(
        &self,
        repo: &RepoRef,
        number: IssueNumber,
        reaction: Reaction,
    ) -> Result<(), GithubError> {
        self.react(
            format!(
                "repos/{}/{}/issues/{number}/reactions",
                repo.owner, repo.name
            ),
            reaction,
        )
        .await
    }

    /// React to an issue comment.
    pub async fn react_to_comment(
        &self,
        repo: &RepoRef,
        id: CommentId,
        reaction: Reaction,
    ) -> Result<(), GithubError> {
        self.react(
            format!(
                "repos/{}/{}/issues/comments/{id}/reactions",
                repo.owner, repo.name
            ),
            reaction,
        )
        .await
    }

    /// React to a pull request review comment.
    pub async fn react_to_review_comment(
        &self,
        repo: &RepoRef,
        id: CommentId,
        reaction: Reaction,
    ) -> Result<(), GithubError> {
        self.react(
            format!(
                "repos/{}/{}/pulls/comments/{id}/reactions",
                repo.owner, repo.name
            ),
            reaction,
        )
        .await
    }

    async fn react(&self, path: String, reaction: Reaction) -> Result<(), GithubError> {
        self.call(
            Method::POST,
            &path,
            Some(&json!({ "content": reaction.content() })),
        )
        .await
        .map(|_| ())
    }
}
