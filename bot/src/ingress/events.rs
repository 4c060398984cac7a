//! Webhook payloads → what the bot should do. Only the fields the bot needs
//! are read; a known event whose required fields are missing is malformed.

use serde::Deserialize;

use crate::config::TriggerSettings;
use crate::ids::{CommentId, InstallationId, IssueNumber, RepoId, ReviewId};
use crate::ingress::command;
use crate::intent::{
    CLARIFICATION_LABEL, InstallationChange, Intent, RepoRef, ReviseScope, Sender, Target,
};
use crate::markers::marked_issue;

/// Branches the bot writes to start with this; review comments elsewhere are not for us.
pub const BOT_BRANCH_PREFIX: &str = "gitkeeper/";

/// What one delivery means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Parsed {
    /// Work to queue.
    Work(Intent),
    /// An installation appeared, changed or went away.
    Installation(InstallationChange),
    /// One of the bot's pull requests was closed (merged or not).
    PullClosed(PullClosed),
    /// GitHub's `ping` when the webhook is set up.
    Ping,
    /// Nothing to do; the reason is logged and counted.
    Ignored(&'static str),
}

/// A closed pull request of the bot's, for the outcome statistics.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PullClosed {
    pub repo: RepoRef,
    pub pull: IssueNumber,
    /// The issue it was for, from the marker in its body.
    pub issue: IssueNumber,
    pub merged: bool,
}

/// A payload that cannot be read as the event it claims to be.
#[derive(Debug, thiserror::Error)]
#[error("malformed {event} payload: {source}")]
pub struct MalformedPayload {
    pub event: String,
    #[source]
    pub source: serde_json::Error,
}

#[derive(Deserialize)]
struct Account {
    login: String,
    id: u64,
    #[serde(rename = "type", default)]
    kind: String,
}

impl Account {
    fn is_bot(&self) -> bool {
        self.kind == "Bot" || self.login.ends_with("[bot]")
    }

    fn sender(&self) -> Sender {
        Sender {
            login: self.login.clone(),
            id: self.id,
        }
    }
}

#[derive(Deserialize)]
struct Repository {
    id: u64,
    name: String,
    owner: Owner,
}

#[derive(Deserialize)]
struct Owner {
    login: String,
}

impl Repository {
    fn to_ref(&self) -> RepoRef {
        RepoRef {
            id: RepoId(self.id),
            owner: self.owner.login.clone(),
            name: self.name.clone(),
        }
    }
}

#[derive(Deserialize)]
struct InstallationField {
    id: u64,
}

#[derive(Deserialize)]
struct Label {
    name: String,
}

#[derive(Deserialize)]
struct Issue {
    number: u64,
    #[serde(default)]
    title: String,
    body: Option<String>,
    pull_request: Option<serde_json::Value>,
    #[serde(default)]
    labels: Vec<Label>,
}

#[derive(Deserialize)]
struct IssuesEvent {
    action: String,
    issue: Issue,
    label: Option<Label>,
    repository: Repository,
    sender: Account,
    installation: Option<InstallationField>,
}

#[derive(Deserialize)]
struct Comment {
    id: u64,
    body: Option<String>,
    user: Account,
}

#[derive(Deserialize)]
struct IssueCommentEvent {
    action: String,
    issue: Issue,
    comment: Comment,
    repository: Repository,
    sender: Account,
    installation: Option<InstallationField>,
}

#[derive(Deserialize)]
struct BranchRef {
    #[serde(rename = "ref")]
    name: String,
}

#[derive(Deserialize)]
struct PullRequest {
    number: u64,
    head: BranchRef,
}

#[derive(Deserialize)]
struct ReviewComment {
    id: u64,
    body: Option<String>,
    path: String,
    line: Option<u64>,
    original_line: Option<u64>,
    user: Account,
}

#[derive(Deserialize)]
struct ReviewCommentEvent {
    action: String,
    comment: ReviewComment,
    pull_request: PullRequest,
    repository: Repository,
    sender: Account,
    installation: Option<InstallationField>,
}

#[derive(Deserialize)]
struct Review {
    id: u64,
    body: Option<String>,
    state: String,
    user: Account,
}

#[derive(Deserialize)]
struct ReviewEvent {
    action: String,
    review: Review,
    pull_request: PullRequest,
    repository: Repository,
    sender: Account,
    installation: Option<InstallationField>,
}

#[derive(Deserialize)]
struct PullRequestEvent {
    action: String,
    pull_request: ClosedPull,
    repository: Repository,
}

#[derive(Deserialize)]
struct ClosedPull {
    number: u64,
    head: BranchRef,
    body: Option<String>,
    #[serde(default)]
    merged: Option<bool>,
}

#[derive(Deserialize)]
struct InstallationObject {
    id: u64,
    account: Owner,
    suspended_at: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct InstallationEvent {
    action: String,
    installation: InstallationObject,
}

/// Read one delivery. `event` is the `X-GitHub-Event` header.
pub fn parse(
    event: &str,
    body: &[u8],
    trigger: &TriggerSettings,
) -> Result<Parsed, MalformedPayload> {
    let malformed = |source| MalformedPayload {
        event: event.to_string(),
        source,
    };
    match event {
        "ping" => Ok(Parsed::Ping),
        "issues" => issues(serde_json::from_slice(body).map_err(malformed)?, trigger),
        "issue_comment" => issue_comment(serde_json::from_slice(body).map_err(malformed)?, trigger),
        "pull_request_review_comment" => {
            review_comment(serde_json::from_slice(body).map_err(malformed)?)
        }
        "pull_request_review" => review(serde_json::from_slice(body).map_err(malformed)?),
        "pull_request" => Ok(pull_request(
            serde_json::from_slice(body).map_err(malformed)?,
        )),
        "installation" | "installation_repositories" => {
            installation(serde_json::from_slice(body).map_err(malformed)?)
        }
        _ => Ok(Parsed::Ignored("event not handled")),
    }
}

fn installation_id(field: Option<InstallationField>) -> Option<InstallationId> {
    field.map(|i| InstallationId(i.id))
}

fn issues(e: IssuesEvent, trigger: &TriggerSettings) -> Result<Parsed, MalformedPayload> {
    if e.action != "labeled" {
        return Ok(Parsed::Ignored("issue action not handled"));
    }
    if !e
        .label
        .as_ref()
        .is_some_and(|l| l.name.eq_ignore_ascii_case(&trigger.label))
    {
        return Ok(Parsed::Ignored("not the trigger label"));
    }
    if e.sender.is_bot() {
        return Ok(Parsed::Ignored("sent by a bot"));
    }
    if e.issue.pull_request.is_some() {
        return Ok(Parsed::Ignored("label on a pull request"));
    }
    let Some(installation) = installation_id(e.installation) else {
        return Ok(Parsed::Ignored("no installation in payload"));
    };
    Ok(generate(
        installation,
        &e.repository,
        e.issue,
        &e.sender,
        None,
    ))
}

/// Work on `issue`; `answer` resumes a job that waited for one. The labels
/// come along, except with an answer (see [`Intent::Generate`]).
fn generate(
    installation: InstallationId,
    repository: &Repository,
    issue: Issue,
    sender: &Account,
    answer: Option<String>,
) -> Parsed {
    // An answer may come long after the labels were set: the job reads
    // them when it runs instead.
    let labels = answer
        .is_none()
        .then(|| issue.labels.iter().map(|l| l.name.clone()).collect());
    Parsed::Work(Intent::Generate {
        installation,
        repo: repository.to_ref(),
        issue: IssueNumber(issue.number),
        title: issue.title,
        body: issue.body.unwrap_or_default(),
        sender: sender.sender(),
        answer,
        labels,
    })
}

fn issue_comment(
    e: IssueCommentEvent,
    trigger: &TriggerSettings,
) -> Result<Parsed, MalformedPayload> {
    if e.action != "created" {
        return Ok(Parsed::Ignored("comment action not handled"));
    }
    if e.sender.is_bot() || e.comment.user.is_bot() {
        return Ok(Parsed::Ignored("sent by a bot"));
    }
    let text = e.comment.body.clone().unwrap_or_default();
    let Some(command) = command::parse(&trigger.command, &text) else {
        return Ok(answer(e, &text));
    };
    let Some(installation) = installation_id(e.installation) else {
        return Ok(Parsed::Ignored("no installation in payload"));
    };
    let number = IssueNumber(e.issue.number);
    let target = if e.issue.pull_request.is_some() {
        Target::PullRequest(number)
    } else {
        Target::Issue(number)
    };
    Ok(Parsed::Work(Intent::Command {
        installation,
        repo: e.repository.to_ref(),
        target,
        comment_id: CommentId(e.comment.id),
        sender: e.sender.sender(),
        command,
    }))
}

/// A plain comment on an issue that waits for an answer to the model's
/// question resumes the work with it; any other plain comment is ignored.
fn answer(e: IssueCommentEvent, text: &str) -> Parsed {
    let waiting = e
        .issue
        .labels
        .iter()
        .any(|l| l.name.eq_ignore_ascii_case(CLARIFICATION_LABEL));
    if !waiting || e.issue.pull_request.is_some() || text.trim().is_empty() {
        return Parsed::Ignored("comment is not a command");
    }
    let Some(installation) = installation_id(e.installation) else {
        return Parsed::Ignored("no installation in payload");
    };
    generate(
        installation,
        &e.repository,
        e.issue,
        &e.sender,
        Some(text.to_string()),
    )
}

/// A closed pull request on the bot's branch, with the bot's marker.
fn pull_request(e: PullRequestEvent) -> Parsed {
    if e.action != "closed" {
        return Parsed::Ignored("pull request action not handled");
    }
    if !e.pull_request.head.name.starts_with(BOT_BRANCH_PREFIX) {
        return Parsed::Ignored("pull request the bot did not open");
    }
    let Some(issue) = e.pull_request.body.as_deref().and_then(marked_issue) else {
        return Parsed::Ignored("pull request without the bot's marker");
    };
    Parsed::PullClosed(PullClosed {
        repo: e.repository.to_ref(),
        pull: IssueNumber(e.pull_request.number),
        issue,
        merged: e.pull_request.merged.unwrap_or(false),
    })
}

fn review_comment(e: ReviewCommentEvent) -> Result<Parsed, MalformedPayload> {
    if e.action != "created" {
        return Ok(Parsed::Ignored("review comment action not handled"));
    }
    if e.sender.is_bot() || e.comment.user.is_bot() {
        return Ok(Parsed::Ignored("sent by a bot"));
    }
    if !e.pull_request.head.name.starts_with(BOT_BRANCH_PREFIX) {
        return Ok(Parsed::Ignored(
            "review comment on a pull request the bot did not open",
        ));
    }
    let Some(installation) = installation_id(e.installation) else {
        return Ok(Parsed::Ignored("no installation in payload"));
    };
    Ok(Parsed::Work(Intent::Revise {
        installation,
        repo: e.repository.to_ref(),
        pull_request: IssueNumber(e.pull_request.number),
        sender: e.sender.sender(),
        scope: ReviseScope::Line {
            comment_id: CommentId(e.comment.id),
            path: e.comment.path,
            line: e.comment.line.or(e.comment.original_line),
            body: e.comment.body.unwrap_or_default(),
        },
    }))
}

fn review(e: ReviewEvent) -> Result<Parsed, MalformedPayload> {
    if e.action != "submitted" {
        return Ok(Parsed::Ignored("review action not handled"));
    }
    if !e.review.state.eq_ignore_ascii_case("changes_requested") {
        return Ok(Parsed::Ignored("review does not request changes"));
    }
    if e.sender.is_bot() || e.review.user.is_bot() {
        return Ok(Parsed::Ignored("sent by a bot"));
    }
    if !e.pull_request.head.name.starts_with(BOT_BRANCH_PREFIX) {
        return Ok(Parsed::Ignored(
            "review on a pull request the bot did not open",
        ));
    }
    let Some(installation) = installation_id(e.installation) else {
        return Ok(Parsed::Ignored("no installation in payload"));
    };
    Ok(Parsed::Work(Intent::Revise {
        installation,
        repo: e.repository.to_ref(),
        pull_request: IssueNumber(e.pull_request.number),
        sender: e.sender.sender(),
        scope: ReviseScope::Review {
            review_id: ReviewId(e.review.id),
            body: e.review.body.unwrap_or_default(),
        },
    }))
}

fn installation(e: InstallationEvent) -> Result<Parsed, MalformedPayload> {
    let removed = e.action == "deleted";
    let suspended = match e.action.as_str() {
        "suspend" => true,
        "unsuspend" => false,
        _ => e
            .installation
            .suspended_at
            .as_ref()
            .is_some_and(|v| !v.is_null()),
    };
    Ok(Parsed::Installation(InstallationChange {
        id: InstallationId(e.installation.id),
        account: e.installation.account.login,
        removed,
        suspended,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::intent::Command;
    use serde_json::{Value, json};

    fn fixture(name: &str) -> Value {
        let path = format!(
            "{}/../../shared/fixtures/github-webhooks/{name}",
            env!("CARGO_MANIFEST_DIR")
        );
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        let mut v: Value = serde_json::from_str(&text).unwrap();
        // App deliveries carry the installation; the octokit examples mostly don't.
        if v.get("installation").is_none() {
            v["installation"] =
                json!({"id": 42, "node_id": "MDIzOkludGVncmF0aW9uSW5zdGFsbGF0aW9uNDI="});
        }
        v
    }

    fn run(event: &str, v: &Value) -> Parsed {
        parse(event, v.to_string().as_bytes(), &TriggerSettings::default()).unwrap()
    }

    #[test]
    fn trigger_label_yields_generate() {
        let mut v = fixture("issues.labeled.json");
        v["label"]["name"] = json!("gitkeeper");
        let Parsed::Work(Intent::Generate {
            installation,
            repo,
            issue,
            sender,
            ..
        }) = run("issues", &v)
        else {
            panic!("expected Generate");
        };
        assert_eq!(installation, InstallationId(42));
        assert_eq!(repo.full_name(), "Codertocat/Hello-World");
        assert_eq!(issue, IssueNumber(v["issue"]["number"].as_u64().unwrap()));
        assert_eq!(sender.login, "Codertocat");
    }

    #[test]
    fn a_labelled_issue_carries_all_its_labels_into_the_job() {
        let mut v = fixture("issues.labeled.json");
        v["label"]["name"] = json!("gitkeeper");
        v["issue"]["labels"] = json!([
            {"name": "gitkeeper", "color": "ededed"},
            {"name": "gitkeeper:local", "color": "ededed"}
        ]);
        let Parsed::Work(Intent::Generate { labels, .. }) = run("issues", &v) else {
            panic!("expected Generate");
        };
        assert_eq!(
            labels,
            Some(vec!["gitkeeper".to_string(), "gitkeeper:local".to_string()])
        );
    }

    #[test]
    fn other_label_is_ignored() {
        let v = fixture("issues.labeled.json");
        assert_eq!(run("issues", &v), Parsed::Ignored("not the trigger label"));
    }

    #[test]
    fn missing_installation_is_ignored_not_queued() {
        let mut v = fixture("issues.labeled.json");
        v["label"]["name"] = json!("gitkeeper");
        v.as_object_mut().unwrap().remove("installation");
        assert_eq!(
            run("issues", &v),
            Parsed::Ignored("no installation in payload")
        );
    }

    #[test]
    fn retry_comment_on_pr_is_a_command_on_the_pr() {
        let mut v = fixture("issue_comment.created.json");
        v["comment"]["body"] = json!("/gitkeeper retry");
        v["issue"]["pull_request"] = json!({"url": "https://api.github.com/repos/o/r/pulls/1"});
        let Parsed::Work(Intent::Command {
            target,
            command,
            comment_id,
            ..
        }) = run("issue_comment", &v)
        else {
            panic!("expected Command");
        };
        assert_eq!(command, Command::Retry);
        assert!(matches!(target, Target::PullRequest(_)));
        assert_eq!(comment_id, CommentId(v["comment"]["id"].as_u64().unwrap()));
    }

    #[test]
    fn a_plain_comment_answers_a_waiting_question_and_is_otherwise_ignored() {
        let mut v = fixture("issue_comment.created.json");
        v["comment"]["body"] = json!("Use cents, not floats.");
        v["issue"].as_object_mut().unwrap().remove("pull_request");
        v["issue"]["labels"] = json!([]);
        assert_eq!(
            run("issue_comment", &v),
            Parsed::Ignored("comment is not a command")
        );
        v["issue"]["labels"] = json!([{"name": "gitkeeper:clarification-needed"}]);
        let Parsed::Work(Intent::Generate { issue, answer, .. }) = run("issue_comment", &v) else {
            panic!("expected Generate");
        };
        assert_eq!(issue, IssueNumber(v["issue"]["number"].as_u64().unwrap()));
        assert_eq!(answer.as_deref(), Some("Use cents, not floats."));
        // The labels are read when the job runs, not when the answer came.
        let Parsed::Work(Intent::Generate { labels, .. }) = run("issue_comment", &v) else {
            panic!("expected Generate");
        };
        assert_eq!(labels, None);
        // Not on pull requests, and not from bots.
        v["issue"]["pull_request"] = json!({"url": "https://api.github.com/repos/o/r/pulls/1"});
        assert!(matches!(run("issue_comment", &v), Parsed::Ignored(_)));
        v["issue"].as_object_mut().unwrap().remove("pull_request");
        v["sender"]["type"] = json!("Bot");
        assert_eq!(run("issue_comment", &v), Parsed::Ignored("sent by a bot"));
    }

    #[test]
    fn a_closed_bot_pull_request_is_an_outcome() {
        let mut v = fixture("pull_request.closed.json");
        v["pull_request"]["head"]["ref"] = json!("gitkeeper/7-fix-it");
        v["pull_request"]["body"] = json!("Text\n\n<!-- gitkeeper:issue=7 -->");
        v["pull_request"]["merged"] = json!(true);
        let Parsed::PullClosed(closed) = run("pull_request", &v) else {
            panic!("expected PullClosed");
        };
        assert_eq!(closed.issue, IssueNumber(7));
        assert!(closed.merged);
        assert_eq!(
            closed.pull,
            IssueNumber(v["pull_request"]["number"].as_u64().unwrap())
        );
        v["pull_request"]["merged"] = json!(false);
        assert!(matches!(
            run("pull_request", &v),
            Parsed::PullClosed(PullClosed { merged: false, .. })
        ));
        // Not the bot's: another branch, or no marker; not closed.
        v["pull_request"]["body"] = json!("no marker");
        assert!(matches!(run("pull_request", &v), Parsed::Ignored(_)));
        v["pull_request"]["head"]["ref"] = json!("feature/x");
        assert!(matches!(run("pull_request", &v), Parsed::Ignored(_)));
        let opened = fixture("pull_request.opened.json");
        assert!(matches!(run("pull_request", &opened), Parsed::Ignored(_)));
    }

    #[test]
    fn bot_comments_are_ignored() {
        let mut v = fixture("issue_comment.created.json");
        v["comment"]["body"] = json!("/gitkeeper retry");
        v["sender"]["type"] = json!("Bot");
        v["sender"]["login"] = json!("gitkeeper[bot]");
        v["comment"]["user"]["type"] = json!("Bot");
        assert_eq!(run("issue_comment", &v), Parsed::Ignored("sent by a bot"));
    }

    #[test]
    fn review_comment_on_bot_branch_is_a_line_revision() {
        let mut v = fixture("pull_request_review_comment.created.json");
        v["pull_request"]["head"]["ref"] = json!("gitkeeper/12-add-login");
        let Parsed::Work(Intent::Revise {
            scope: ReviseScope::Line { path, line, .. },
            ..
        }) = run("pull_request_review_comment", &v)
        else {
            panic!("expected Revise");
        };
        assert_eq!(path, v["comment"]["path"].as_str().unwrap());
        assert!(line.is_some());
    }

    #[test]
    fn review_comment_on_human_branch_is_ignored() {
        let v = fixture("pull_request_review_comment.created.json");
        assert!(matches!(
            run("pull_request_review_comment", &v),
            Parsed::Ignored(_)
        ));
    }

    #[test]
    fn changes_requested_review_is_a_review_revision() {
        let mut v = fixture("pull_request_review.submitted.json");
        v["pull_request"]["head"]["ref"] = json!("gitkeeper/3-x");
        v["review"]["state"] = json!("changes_requested");
        assert!(matches!(
            run("pull_request_review", &v),
            Parsed::Work(Intent::Revise {
                scope: ReviseScope::Review { .. },
                ..
            })
        ));
        v["review"]["state"] = json!("approved");
        assert!(matches!(run("pull_request_review", &v), Parsed::Ignored(_)));
    }

    #[test]
    fn installation_events_are_recorded() {
        let v = fixture("installation.created.json");
        assert!(matches!(
            run("installation", &v),
            Parsed::Installation(InstallationChange { removed: false, .. })
        ));
        let v = fixture("installation.deleted.json");
        assert!(matches!(
            run("installation", &v),
            Parsed::Installation(InstallationChange { removed: true, .. })
        ));
        let v = fixture("installation_repositories.added.json");
        assert!(matches!(
            run("installation_repositories", &v),
            Parsed::Installation(_)
        ));
    }

    #[test]
    fn malformed_known_event_is_an_error_and_unknown_event_is_ignored() {
        let err = parse("issues", b"{not json", &TriggerSettings::default()).unwrap_err();
        assert!(err.to_string().contains("malformed issues payload"));
        assert!(
            parse(
                "issues",
                b"{\"action\":\"labeled\"}",
                &TriggerSettings::default()
            )
            .is_err()
        );
        assert_eq!(
            parse("star", b"whatever", &TriggerSettings::default()).unwrap(),
            Parsed::Ignored("event not handled")
        );
        assert_eq!(
            parse("ping", b"{}", &TriggerSettings::default()).unwrap(),
            Parsed::Ping
        );
    }
}
