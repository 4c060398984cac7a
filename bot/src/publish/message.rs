//! The commit message: `<type>: <summary> (#<issue>)`, an optional body, and
//! trailers that say how the change was made (`Gitkeeper-Model`,
//! `Gitkeeper-Tier`, `Gitkeeper-Attempts`, `Gitkeeper-Prompt-SHA256`).
//! The last trailer is how the bot knows a commit is its own.
//!
//! Must never: let a subject or trailer span more than one line, or carry
//! a CI skip directive (`[skip ci]`, `skip-checks: true`, …) from the
//! issue's or a model's words: the repository's own CI must judge the change.

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
        let summary = defuse_skip_directives(&one_line(&self.summary));
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
            out.push_str(&defuse_skip_directives(body));
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

/// Words in brackets that make a CI skip the commit (`[skip ci]`, `[ci
/// skip]`, `[no ci]`, `[skip actions]`, `[skip travis]`, …): any bracketed
/// text naming `skip` or `no ci`, compared without case, spaces or dashes.
fn is_skip_words(inner: &str) -> bool {
    let words: String = inner
        .chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect();
    words.contains("skip") || words == "noci"
}

/// `text` with every CI skip directive made inert: `[skip ci]` becomes
/// `(skip ci)`, a `skip-checks:` line loses its colon, `***NO_CI***` its
/// stars. GitHub skips the workflows of a pull request whose head commit
/// says so, and the summary and body come from untrusted text.
pub(crate) fn defuse_skip_directives(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(open) = rest.find('[') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        match after.find(']') {
            Some(close) if !after[..close].contains('[') && is_skip_words(&after[..close]) => {
                out.push('(');
                out.push_str(&after[..close]);
                out.push(')');
                rest = &after[close + 1..];
            }
            _ => {
                out.push('[');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    let lines: Vec<String> = out
        .split('\n')
        .map(|line| {
            let key: String = line
                .chars()
                .take_while(|c| *c != ':')
                .filter(|c| c.is_alphanumeric())
                .flat_map(char::to_lowercase)
                .collect();
            if key == "skipchecks" && line.contains(':') {
                line.replacen(':', " -", 1)
            } else {
                line.to_string()
            }
        })
        .collect();
    let joined = lines.join("\n");
    let mut cleaned = String::with_capacity(joined.len());
    let lower = joined.to_ascii_lowercase();
    let mut i = 0;
    while let Some(found) = lower[i..].find("***no_ci***") {
        cleaned.push_str(&joined[i..i + found]);
        cleaned.push_str("NO_CI");
        i += found + "***no_ci***".len();
    }
    cleaned.push_str(&joined[i..]);
    cleaned
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
    fn ci_skip_directives_from_the_issue_never_reach_the_commit() {
        let mut hostile = message("Fix greeting [skip ci] [CI-Skip] [no ci] [skip actions]");
        hostile.body = Some(
            "Done [Skip Travis].\nskip-checks: true\n Skip-Checks:true\n***NO_CI*** and [links](x) [1]".into(),
        );
        let text = hostile.render();
        assert!(
            text.starts_with(
                "fix: Fix greeting (skip ci) (CI-Skip) (no ci) (skip actions) (#42)\n\nDone (Skip Travis).\nskip-checks - true\n Skip-Checks -true\nNO_CI and [links](x) [1]\n"
            ),
            "{text}"
        );
        let lower = text.to_lowercase();
        for directive in ["[skip", "[ci", "[no ci", "skip-checks:", "***no_ci"] {
            assert!(!lower.contains(directive), "{directive} in {text}");
        }
        // Ordinary brackets and text are untouched.
        assert_eq!(defuse_skip_directives("a[0] [wip] b]"), "a[0] [wip] b]");
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
