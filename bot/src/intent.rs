//! What a webhook asks the bot to do, as a typed value. Ingress produces an
//! `Intent`; the job store keeps it; the pipeline acts on it.

use serde::{Deserialize, Serialize};

use crate::ids::{CommentId, InstallationId, IssueNumber, RepoId, ReviewId};

/// On an issue while the bot works on it.
pub const WORKING_LABEL: &str = "gitkeeper:working";
/// On an issue when every tier of the ladder failed.
pub const NEEDS_HUMAN_LABEL: &str = "gitkeeper:needs-human";
/// On a pull request whose route is critical: a human must review it.
pub const HUMAN_REVIEW_LABEL: &str = "gitkeeper:human-review";
/// On an issue while the model's question waits for an answer.
pub const CLARIFICATION_LABEL: &str = "gitkeeper:clarification-needed";

/// The key of the jobs on issue or pull request `number` of `repo`.
pub fn target_key(repo: &RepoRef, number: IssueNumber) -> String {
    format!("{}#{}", repo.id, number)
}

/// A repository as the webhook names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RepoRef {
    pub id: RepoId,
    pub owner: String,
    pub name: String,
}

impl RepoRef {
    /// `owner/name`.
    pub fn full_name(&self) -> String {
        format!("{}/{}", self.owner, self.name)
    }
}

/// The person whose action triggered the work.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sender {
    pub login: String,
    pub id: u64,
}

/// A maintainer's `/gitkeeper <command>`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "command", rename_all = "snake_case")]
pub enum Command {
    /// Push a new commit revising the PR according to the instructions.
    Revise { instructions: String },
    /// Redo the original task from a fresh base.
    Retry,
    /// Retry starting one tier higher on the escalation ladder.
    Escalate,
    /// Allow a parked paid tier to run.
    Approve,
    /// Explain the change in a comment, without a commit.
    Explain,
    /// Stop the running job, leaving the branch as it is.
    Cancel,
    /// Show the commands; `unknown` holds what was typed if it was not a command.
    Help { unknown: Option<String> },
}

/// Where a command was written: an issue or a pull request (by number).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "number", rename_all = "snake_case")]
pub enum Target {
    Issue(IssueNumber),
    PullRequest(IssueNumber),
}

impl Target {
    pub fn number(self) -> IssueNumber {
        match self {
            Target::Issue(n) | Target::PullRequest(n) => n,
        }
    }
}

/// The part of a pull request a revision is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "scope", rename_all = "snake_case")]
pub enum ReviseScope {
    /// A review comment on one line of one file.
    Line {
        comment_id: CommentId,
        path: String,
        line: Option<u64>,
        body: String,
    },
    /// A "changes requested" review: one revision covering all its comments.
    Review { review_id: ReviewId, body: String },
}

/// The work one webhook asks for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "intent", rename_all = "snake_case")]
pub enum Intent {
    /// A labelled issue: write the change and open a pull request.
    Generate {
        installation: InstallationId,
        repo: RepoRef,
        issue: IssueNumber,
        title: String,
        body: String,
        sender: Sender,
        /// A maintainer's answer to the model's question, resuming a job
        /// that waited for clarification.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        answer: Option<String>,
        /// The issue's labels as the webhook delivered them (they route the
        /// work: `gitkeeper:local`, `gitkeeper:cloud`). `None` (an answer
        /// resuming a job, or a job stored before labels were carried): the
        /// job reads them from GitHub when it runs.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        labels: Option<Vec<String>>,
    },
    /// A `/gitkeeper` command in a comment.
    Command {
        installation: InstallationId,
        repo: RepoRef,
        target: Target,
        comment_id: CommentId,
        sender: Sender,
        command: Command,
    },
    /// A review on a pull request asking for changes.
    Revise {
        installation: InstallationId,
        repo: RepoRef,
        pull_request: IssueNumber,
        sender: Sender,
        scope: ReviseScope,
    },
}

impl Intent {
    pub fn installation(&self) -> InstallationId {
        match self {
            Intent::Generate { installation, .. }
            | Intent::Command { installation, .. }
            | Intent::Revise { installation, .. } => *installation,
        }
    }

    pub fn repo(&self) -> &RepoRef {
        match self {
            Intent::Generate { repo, .. }
            | Intent::Command { repo, .. }
            | Intent::Revise { repo, .. } => repo,
        }
    }

    pub fn sender(&self) -> &Sender {
        match self {
            Intent::Generate { sender, .. }
            | Intent::Command { sender, .. }
            | Intent::Revise { sender, .. } => sender,
        }
    }

    /// The issue or PR number this intent is about.
    pub fn number(&self) -> IssueNumber {
        match self {
            Intent::Generate { issue, .. } => *issue,
            Intent::Command { target, .. } => target.number(),
            Intent::Revise { pull_request, .. } => *pull_request,
        }
    }

    /// Jobs with the same key run one at a time, in arrival order. A
    /// `cancel` has a key of its own: it must not wait for the job it stops.
    pub fn target_key(&self) -> String {
        match self {
            Intent::Command {
                command: Command::Cancel,
                comment_id,
                ..
            } => format!(
                "{}#cancel-{comment_id}",
                target_key(self.repo(), self.number())
            ),
            _ => target_key(self.repo(), self.number()),
        }
    }

    /// What makes two deliveries the same request: the intent without who
    /// sent it or which comment carried it (a re-label, a repeated command).
    /// A job queued or running with this key absorbs the later delivery.
    /// `None` for what must never be merged: `cancel`, and revisions from
    /// reviews (each review comment is work of its own).
    pub fn coalesce_key(&self) -> Option<String> {
        use sha2::Digest;
        match self {
            Intent::Revise { .. }
            | Intent::Command {
                command: Command::Cancel,
                ..
            } => return None,
            Intent::Generate { .. } | Intent::Command { .. } => {}
        }
        let mut value = serde_json::to_value(self).ok()?;
        if let Some(fields) = value.as_object_mut() {
            fields.remove("sender");
            fields.remove("comment_id");
        }
        Some(hex::encode(sha2::Sha256::digest(value.to_string())))
    }

    /// A short name for logs and metrics.
    pub fn kind(&self) -> &'static str {
        match self {
            Intent::Generate { .. } => "generate",
            Intent::Command { .. } => "command",
            Intent::Revise { .. } => "revise",
        }
    }
}

/// An installation event the store records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstallationChange {
    pub id: InstallationId,
    pub account: String,
    pub removed: bool,
    pub suspended: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_generate_job_stored_before_labels_were_carried_still_decodes() {
        let stored = serde_json::json!({
            "intent": "generate",
            "installation": 42,
            "repo": {"id": 1, "owner": "octo", "name": "shop"},
            "issue": 7,
            "title": "Fix it",
            "body": "",
            "sender": {"login": "octo", "id": 1}
        });
        let intent: Intent = serde_json::from_value(stored).unwrap();
        let Intent::Generate { labels, answer, .. } = &intent else {
            panic!("expected Generate: {intent:?}");
        };
        assert_eq!((labels, answer), (&None, &None));
        // And a job without labels is stored as before.
        let again = serde_json::to_value(&intent).unwrap();
        assert!(again.get("labels").is_none(), "{again}");
    }

    fn command(comment: u64, login: &str, command: Command) -> Intent {
        Intent::Command {
            installation: InstallationId(42),
            repo: RepoRef {
                id: RepoId(1),
                owner: "octo".into(),
                name: "shop".into(),
            },
            target: Target::PullRequest(IssueNumber(9)),
            comment_id: CommentId(comment),
            sender: Sender {
                login: login.into(),
                id: 1,
            },
            command,
        }
    }

    #[test]
    fn a_repeated_command_is_the_same_request_and_a_cancel_never_is() {
        let revise = |text: &str| Command::Revise {
            instructions: text.into(),
        };
        let first = command(1, "octo", revise("Use cents."));
        let again = command(2, "hubot", revise("Use cents."));
        let other = command(3, "octo", revise("Use floats."));
        assert!(first.coalesce_key().is_some());
        assert_eq!(first.coalesce_key(), again.coalesce_key());
        assert_ne!(first.coalesce_key(), other.coalesce_key());
        assert_ne!(
            command(1, "octo", Command::Retry).coalesce_key(),
            command(1, "octo", Command::Escalate).coalesce_key()
        );
        assert_eq!(command(4, "octo", Command::Cancel).coalesce_key(), None);
    }
}
