//! The texts a delivery carries (issue title and body, instructions, review
//! comments, answers) cut to what the work can use before they are stored: a
//! job row holds its intent whole, and a 25 MiB issue body is 25 MiB in every
//! row, read and prompt after it. What is cut is said in the text itself, so
//! the model and the maintainer reading the trail both see it.
//!
//! Must never: cut a text that fits, or split a UTF-8 character.

use crate::intent::{Command, Intent, ReviseScope};

/// An issue body or a review's body: far more than a prompt's budget for it.
pub const MAX_BODY_BYTES: usize = 64 * 1024;
/// Instructions (`revise <text>`), a line comment, an answer to a question.
pub const MAX_INSTRUCTIONS_BYTES: usize = 16 * 1024;
/// A title, a path, a label, a word typed after the command.
pub const MAX_LINE_BYTES: usize = 1024;
/// Labels kept from one delivery.
pub const MAX_LABELS: usize = 100;

/// `intent` with every text within its bound.
pub fn bound(intent: Intent) -> Intent {
    match intent {
        Intent::Generate {
            installation,
            repo,
            issue,
            title,
            body,
            sender,
            answer,
            labels,
        } => Intent::Generate {
            installation,
            repo,
            issue,
            title: cut(title, MAX_LINE_BYTES),
            body: cut(body, MAX_BODY_BYTES),
            sender,
            answer: answer.map(|a| cut(a, MAX_INSTRUCTIONS_BYTES)),
            labels: labels.map(|labels| {
                labels
                    .into_iter()
                    .take(MAX_LABELS)
                    .map(|l| cut(l, MAX_LINE_BYTES))
                    .collect()
            }),
        },
        Intent::Command {
            installation,
            repo,
            target,
            comment_id,
            sender,
            command,
        } => Intent::Command {
            installation,
            repo,
            target,
            comment_id,
            sender,
            command: match command {
                Command::Revise { instructions } => Command::Revise {
                    instructions: cut(instructions, MAX_INSTRUCTIONS_BYTES),
                },
                Command::Help { unknown } => Command::Help {
                    unknown: unknown.map(|u| cut(u, MAX_LINE_BYTES)),
                },
                other => other,
            },
        },
        Intent::Revise {
            installation,
            repo,
            pull_request,
            sender,
            scope,
        } => Intent::Revise {
            installation,
            repo,
            pull_request,
            sender,
            scope: match scope {
                ReviseScope::Line {
                    comment_id,
                    path,
                    line,
                    body,
                } => ReviseScope::Line {
                    comment_id,
                    path: cut(path, MAX_LINE_BYTES),
                    line,
                    body: cut(body, MAX_INSTRUCTIONS_BYTES),
                },
                ReviseScope::Review { review_id, body } => ReviseScope::Review {
                    review_id,
                    body: cut(body, MAX_BODY_BYTES),
                },
            },
        },
    }
}

/// `text` whole when it fits in `max` bytes, else its first part and a note.
fn cut(text: String, max: usize) -> String {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!(
        "{}\n\n[gitkeeper: the text was cut here; {} more bytes were not kept (at most {max} bytes are)]",
        &text[..end],
        text.len() - end
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::{CommentId, InstallationId, IssueNumber, RepoId};
    use crate::intent::{RepoRef, Sender, Target};

    fn repo() -> RepoRef {
        RepoRef {
            id: RepoId(1),
            owner: "octo".into(),
            name: "shop".into(),
        }
    }

    fn sender() -> Sender {
        Sender {
            login: "octo".into(),
            id: 1,
        }
    }

    #[test]
    fn a_huge_issue_body_is_cut_with_a_note_and_a_short_one_is_kept() {
        let generate = |body: String| Intent::Generate {
            installation: InstallationId(1),
            repo: repo(),
            issue: IssueNumber(7),
            title: "Fix it".into(),
            body,
            sender: sender(),
            answer: None,
            labels: Some(vec!["gitkeeper".into()]),
        };
        let huge = format!("Fix the greeting.\n{}", "é".repeat(13 * 1024 * 1024));
        let Intent::Generate { body, title, .. } = bound(generate(huge.clone())) else {
            panic!()
        };
        assert!(body.len() < MAX_BODY_BYTES + 200, "{}", body.len());
        assert!(body.starts_with("Fix the greeting.\n"));
        assert!(
            body.contains("[gitkeeper: the text was cut here;"),
            "{}",
            &body[body.len() - 200..]
        );
        assert_eq!(title, "Fix it");
        let short = "Fix the greeting.".to_string();
        assert_eq!(bound(generate(short.clone())), generate(short));
    }

    #[test]
    fn long_revise_instructions_are_cut() {
        let intent = Intent::Command {
            installation: InstallationId(1),
            repo: repo(),
            target: Target::PullRequest(IssueNumber(9)),
            comment_id: CommentId(3),
            sender: sender(),
            command: Command::Revise {
                instructions: "a".repeat(100 * 1024),
            },
        };
        let Intent::Command {
            command: Command::Revise { instructions },
            ..
        } = bound(intent)
        else {
            panic!()
        };
        assert!(instructions.len() < MAX_INSTRUCTIONS_BYTES + 200);
        assert!(
            instructions.ends_with("(at most 16384 bytes are)]"),
            "{instructions}"
        );
    }
}
