//! Every hidden marker the bot writes into GitHub text (`<!-- gitkeeper:… -->`)
//! and reads back: the job's status comment, the one-time reply to someone
//! who may not start work, the model's question on an issue, and the issue a
//! pull request is for. Also the one way untrusted text (a model's answer, a
//! build log) is made safe to show in a comment, so it can never forge one.
//!
//! A leaf: it imports nothing but the id types, so every stage (ingress,
//! github, pipeline, publish) can read markers without importing a later
//! stage. It must never write a marker that a later read could confuse with
//! another kind.

use crate::ids::{IssueNumber, JobId};

/// Marks the comment that asks the model's question on the issue.
pub const QUESTION: &str = "<!-- gitkeeper:question -->";

/// What starts the marker of the issue a pull request is for.
const ISSUE_PREFIX: &str = "<!-- gitkeeper:issue=";

/// The marker that finds job `job`'s status comment again after a restart.
pub fn job_status(job: JobId) -> String {
    format!("<!-- gitkeeper:job={job} -->")
}

/// The marker of the one reply to `login`, who may not start work (one per
/// person, edited in place on repeats).
pub fn refused(login: &str) -> String {
    format!("<!-- gitkeeper:refused={} -->", login.to_lowercase())
}

/// The hidden line that marks a pull request as the bot's for `issue`.
pub fn issue(issue: IssueNumber) -> String {
    format!("{ISSUE_PREFIX}{issue} -->")
}

/// The issue number in a pull request body's marker: the last one, which
/// the bot appends after everything else in the body.
pub fn marked_issue(body: &str) -> Option<IssueNumber> {
    let (_, rest) = body.rsplit_once(ISSUE_PREFIX)?;
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok().map(IssueNumber)
}

/// A model's or a build's text made safe for a comment: it cannot mention
/// anyone or carry HTML comments (where the bot keeps its markers), and
/// terminal escape sequences are gone.
pub fn for_comment(text: &str) -> String {
    gitkeeper::sanitize::strip_ansi(text)
        .replace('@', "@\u{200b}")
        .replace("<!--", "&lt;!--")
        .replace("-->", "--&gt;")
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
        assert_eq!(marked_issue(&issue(IssueNumber(7))), Some(IssueNumber(7)));
        // Text quoted into the body cannot redirect it: the bot's marker is last.
        assert_eq!(
            marked_issue("<!-- gitkeeper:issue=99 --> quoted\n\n<!-- gitkeeper:issue=7 -->"),
            Some(IssueNumber(7))
        );
    }

    #[test]
    fn markers_keep_their_shapes() {
        assert_eq!(job_status(JobId(12)), "<!-- gitkeeper:job=12 -->");
        assert_eq!(refused("OctoCat"), "<!-- gitkeeper:refused=octocat -->");
        assert_eq!(issue(IssueNumber(3)), "<!-- gitkeeper:issue=3 -->");
    }

    #[test]
    fn model_text_in_comments_mentions_nobody_and_hides_no_marker() {
        let text = for_comment("ask @octocat <!-- gitkeeper:question --> ok");
        assert_eq!(
            text,
            "ask @\u{200b}octocat &lt;!-- gitkeeper:question --&gt; ok"
        );
        assert!(!text.contains("<!--"));
        assert_eq!(
            for_comment("\u{1b}[31m✗ greet\u{1b}[39m trims"),
            "✗ greet trims"
        );
    }
}
