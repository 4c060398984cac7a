//! The commit message: `<type>: <summary> (#<issue>)`, an optional body, and
//! trailers that say how the change was made (`Gitkeeper-Model`,
//! `Gitkeeper-Tier`, `Gitkeeper-Attempts`, `Gitkeeper-Prompt-SHA256`).
//! The last trailer is how the bot knows a commit is its own.
//!
//! Must never: let a subject or trailer span more than one line.

use crate::generate::Generation;
use crate::ids::IssueNumber;
use crate::route::TaskType;
use crate::trail::{AttemptOutcome, AttemptRole};

/// The trailer only the bot's commits carry; a branch whose head has it is the bot's.
const PROMPT_TRAILER: &str = "Gitkeeper-Prompt-SHA256";

/// Conventional-commit type, from the routed task type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommitKind {
    Feat,
    Fix,
    Refactor,
    Test,
    Docs,
    Chore,
}

impl CommitKind {
    /// The kind of commit for a routed task type.
    pub fn for_task(task: TaskType) -> Self {
        match task {
            TaskType::Implement => CommitKind::Feat,
            TaskType::Fix => CommitKind::Fix,
            TaskType::Refactor => CommitKind::Refactor,
            TaskType::Test => CommitKind::Test,
            TaskType::Docs => CommitKind::Docs,
        }
    }

    /// The conventional-commit word.
    pub fn as_str(self) -> &'static str {
        match self {
            CommitKind::Feat => "feat",
            CommitKind::Fix => "fix",
            CommitKind::Refactor => "refactor",
            CommitKind::Test => "test",
            CommitKind::Docs => "docs",
            CommitKind::Chore => "chore",
        }
    }
}

/// How the change was made, recorded in the commit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trailers {
    pub model: String,
    pub tier: String,
    pub attempts: u32,
    pub prompt_sha256: String,
}

impl Trailers {
    /// The trailers of `generation`'s kept change: the model that wrote it,
    /// its tier, the worker attempts, the prompt hash.
    pub fn of(generation: &Generation, worker: &str, prompt_sha256: &str) -> Self {
        let tier = generation
            .attempts
            .iter()
            .rev()
            .find(|a| a.role != AttemptRole::Checker && a.outcome == AttemptOutcome::Passed)
            .map(|a| a.tier.to_string())
            .unwrap_or_default();
        let attempts = generation
            .attempts
            .iter()
            .filter(|a| a.role != AttemptRole::Checker && !a.outcome.is_skipped())
            .count();
        Trailers {
            model: worker.to_string(),
            tier,
            attempts: u32::try_from(attempts).unwrap_or(u32::MAX),
            prompt_sha256: prompt_sha256.to_string(),
        }
    }
}

/// Everything in one commit message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommitMessage {
    pub kind: CommitKind,
    pub summary: String,
    pub issue: IssueNumber,
    pub body: Option<String>,
    pub trailers: Trailers,
}

/// Subjects longer than this are cut (git's and GitHub's display limit is ~72).
const MAX_SUBJECT_CHARS: usize = 72;

impl CommitMessage {
    /// The message as git stores it: subject, body, trailers.
    pub fn render(&self) -> String {
        let suffix = format!(" (#{})", self.issue);
        let prefix = format!("{}: ", self.kind.as_str());
        let room = MAX_SUBJECT_CHARS.saturating_sub(prefix.len() + suffix.len());
        let summary = one_line(&self.summary);
        let summary = if summary.chars().count() > room {
            let cut: String = summary.chars().take(room.saturating_sub(1)).collect();
            format!("{}…", cut.trim_end())
        } else {
            summary
        };
        let mut out = format!("{prefix}{summary}{suffix}\n");
        if let Some(body) = self
            .body
            .as_deref()
            .map(str::trim)
            .filter(|b| !b.is_empty())
        {
            out.push('\n');
            out.push_str(body);
            out.push('\n');
        }
        let t = &self.trailers;
        out.push_str(&format!(
            "\nGitkeeper-Model: {}\nGitkeeper-Tier: {}\nGitkeeper-Attempts: {}\n{PROMPT_TRAILER}: {}\n",
            one_line(&t.model),
            one_line(&t.tier),
            t.attempts,
            one_line(&t.prompt_sha256)
        ));
        out
    }
}

/// Collapse whitespace (newlines included) to single spaces; a trailer or
/// subject must stay on one line.
pub(crate) fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The first non-blank line of `text`, trimmed.
pub(crate) fn first_line(text: &str) -> String {
    text.lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("")
        .trim()
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(summary: &str) -> CommitMessage {
        CommitMessage {
            kind: CommitKind::Fix,
            summary: summary.into(),
            issue: IssueNumber(42),
            body: Some("Round totals to cents.".into()),
            trailers: Trailers {
                model: "qwen2.5-coder:14b".into(),
                tier: "local-large".into(),
                attempts: 2,
                prompt_sha256: "ab".repeat(32),
            },
        }
    }

    #[test]
    fn subject_body_and_trailers() {
        let text = message("Order totals ignore tax").render();
        let expected = format!(
            "fix: Order totals ignore tax (#42)\n\nRound totals to cents.\n\nGitkeeper-Model: qwen2.5-coder:14b\nGitkeeper-Tier: local-large\nGitkeeper-Attempts: 2\nGitkeeper-Prompt-SHA256: {}\n",
            "ab".repeat(32)
        );
        assert_eq!(text, expected);
    }

    #[test]
    fn commit_kinds_follow_the_task_type() {
        assert_eq!(CommitKind::for_task(TaskType::Fix).as_str(), "fix");
        assert_eq!(CommitKind::for_task(TaskType::Implement).as_str(), "feat");
        assert_eq!(CommitKind::for_task(TaskType::Docs).as_str(), "docs");
    }

    #[test]
    fn long_or_multiline_summaries_stay_one_short_line() {
        let text = message(&format!("{}\nsecond line", "word ".repeat(40))).render();
        let subject = text.lines().next().unwrap();
        assert!(subject.chars().count() <= MAX_SUBJECT_CHARS, "{subject}");
        assert!(subject.ends_with("… (#42)"), "{subject}");
        assert!(!subject.contains("second line"));
    }
}
