//! The bot's branch: its name, who owns its head, and moving it to a new
//! commit (create, fast-forward, or, only when the caller allows it, reset).
//!
//! Must never: reset a branch whose head commit someone else made (a redo
//! never runs over a human's commit), nor take text in a commit (trailers a
//! human can copy) as proof that the bot made it: only GitHub's signature
//! check and the App's bot user as author and committer count.

use http::StatusCode;

use super::PublishError;
use crate::github::{GitCommit, GitIdentity, GithubError, Installation, Sha};
use crate::ids::IssueNumber;
use crate::intent::RepoRef;

/// Most characters of the title kept in the branch name.
const MAX_SLUG_CHARS: usize = 40;

/// `gitkeeper/<issue>-<slug>`: the slug is the title's ASCII letters and
/// digits, lower-cased, words joined by `-`.
pub fn branch_name(issue: IssueNumber, title: &str) -> String {
    let mut slug = String::new();
    for word in title
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
    {
        let word = word.to_ascii_lowercase();
        let extra = if slug.is_empty() { 0 } else { 1 };
        if slug.len() + extra + word.len() > MAX_SLUG_CHARS {
            if slug.is_empty() {
                slug.push_str(&word[..MAX_SLUG_CHARS]);
            }
            break;
        }
        if extra == 1 {
            slug.push('-');
        }
        slug.push_str(&word);
    }
    if slug.is_empty() {
        format!("gitkeeper/{issue}")
    } else {
        format!("gitkeeper/{issue}-{slug}")
    }
}

/// The branch of `issue`'s pull request: the one already open for the
/// issue, even if the issue was renamed since; else one named after `title`.
pub async fn task_branch(
    github: &Installation,
    repo: &RepoRef,
    issue: IssueNumber,
    title: &str,
) -> Result<String, PublishError> {
    Ok(match github.open_pull_for_issue(repo, issue).await? {
        Some(pull) => pull.head.branch,
        None => branch_name(issue, title),
    })
}

/// Who made a branch's head commit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BranchOwner {
    /// There is no such branch.
    Absent,
    /// Its head is the bot's own commit (signed by GitHub, made by the App's bot user).
    Bot,
    /// Someone else committed its head.
    Someone(Sha),
}

impl BranchOwner {
    /// What a redo from scratch may do to the branch: reset only the bot's
    /// own; `None` when its head is someone else's commit.
    pub fn redo(&self) -> Option<OnDiverged> {
        match self {
            BranchOwner::Absent => Some(OnDiverged::Refuse),
            BranchOwner::Bot => Some(OnDiverged::Reset),
            BranchOwner::Someone(_) => None,
        }
    }
}

/// Who made the head commit of `branch`: the bot's branch may be reset
/// for a redo only when its head is the bot's own commit.
pub async fn branch_owner(
    github: &Installation,
    repo: &RepoRef,
    branch: &str,
) -> Result<BranchOwner, PublishError> {
    let Some(head) = github.branch_head(repo, branch).await? else {
        return Ok(BranchOwner::Absent);
    };
    let commit = github.get_commit(repo, &head).await?;
    let bot_login = github.bot_login().await?;
    Ok(if made_by_app(&commit, &bot_login) {
        BranchOwner::Bot
    } else {
        tracing::info!(
            branch,
            commit = %head,
            verified = commit.verified,
            reason = %commit.verification_reason,
            committer = %commit.committer.name,
            "branch head is not the App's own commit"
        );
        BranchOwner::Someone(head)
    })
}

/// Whether GitHub vouches that the App made `commit`: GitHub verified its
/// signature, and both author and committer are the App's bot user
/// `bot_login` (name and `<id>+<login>@users.noreply.github.com`, an address
/// only GitHub hands out). A human's commit that copies the bot's trailers,
/// name or address is unsigned or fails verification, so it is never the bot's.
pub(crate) fn made_by_app(commit: &GitCommit, bot_login: &str) -> bool {
    let is_bot = |who: &GitIdentity| {
        who.name == bot_login
            && who
                .email
                .strip_suffix(&format!("+{bot_login}@users.noreply.github.com"))
                .is_some_and(|id| !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()))
    };
    commit.verified && is_bot(&commit.author) && is_bot(&commit.committer)
}

/// The status comment's headline and details when a redo would run over
/// `head`, a commit on `branch` the bot did not make. `prefix` is the command prefix.
pub fn not_overwritten(branch: &str, head: &Sha, prefix: &str) -> (String, String) {
    (
        "✋ **Gitkeeper will not overwrite this branch.**".to_string(),
        format!(
            "`{branch}` ends with commit {} that Gitkeeper did not make, and starting over would replace it. Ask for changes on the pull request with `{prefix} revise <instructions>` (they build on that commit), or delete the branch and retry.",
            short(head),
        ),
    )
}

/// A commit's short id, as GitHub shows it.
pub fn short(sha: &Sha) -> String {
    sha.0.chars().take(7).collect()
}

/// What to do when the branch moved on without the bot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnDiverged {
    /// Stop and say so (someone else may have pushed to it).
    Refuse,
    /// Point it at the new commit anyway (the caller knows it holds only the bot's work).
    Reset,
}

/// How the branch was moved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BranchUpdate {
    /// It did not exist.
    Created,
    FastForwarded,
    Reset,
    /// It already pointed at the commit (a retried job).
    Unchanged,
}

/// Point `branch` at `commit`, whose first parent is where the bot built it.
pub async fn update_branch(
    github: &Installation,
    repo: &RepoRef,
    branch: &str,
    commit: &GitCommit,
    on_diverged: OnDiverged,
) -> Result<BranchUpdate, PublishError> {
    let Some(head) = github.branch_head(repo, branch).await? else {
        match github.create_branch(repo, branch, &commit.sha).await {
            Ok(()) => return Ok(BranchUpdate::Created),
            // Created meanwhile (another replica, a redelivery): treat as existing.
            Err(GithubError::Status {
                status: StatusCode::UNPROCESSABLE_ENTITY,
                ..
            }) => {
                return Box::pin(update_branch(github, repo, branch, commit, on_diverged)).await;
            }
            Err(e) => return Err(e.into()),
        }
    };
    if head == commit.sha {
        return Ok(BranchUpdate::Unchanged);
    }
    if commit.parents.first() == Some(&head) {
        github.move_branch(repo, branch, &commit.sha, false).await?;
        return Ok(BranchUpdate::FastForwarded);
    }
    match on_diverged {
        OnDiverged::Reset => {
            github.move_branch(repo, branch, &commit.sha, true).await?;
            Ok(BranchUpdate::Reset)
        }
        OnDiverged::Refuse => Err(PublishError::Diverged {
            branch: branch.to_string(),
            head,
            expected: commit
                .parents
                .first()
                .cloned()
                .unwrap_or(commit.sha.clone()),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_bots_own_branch_is_reset_for_a_redo() {
        assert_eq!(BranchOwner::Absent.redo(), Some(OnDiverged::Refuse));
        assert_eq!(BranchOwner::Bot.redo(), Some(OnDiverged::Reset));
        assert_eq!(BranchOwner::Someone(Sha("abc".into())).redo(), None);
        let (_, details) = not_overwritten("gitkeeper/1-x", &Sha("0123456789".into()), "/gk");
        assert!(details.contains("commit 0123456 that"), "{details}");
        assert!(details.contains("`/gk revise <instructions>`"), "{details}");
    }

    fn commit(verified: bool, author: (&str, &str), committer: (&str, &str)) -> GitCommit {
        let who = |(name, email): (&str, &str)| GitIdentity {
            name: name.into(),
            email: email.into(),
        };
        GitCommit {
            sha: Sha("c".repeat(40)),
            tree: Sha("t".repeat(40)),
            parents: Vec::new(),
            verified,
            verification_reason: if verified { "valid" } else { "unsigned" }.into(),
            author: who(author),
            committer: who(committer),
            message: "fix: x (#1)\n\nGitkeeper-Prompt-SHA256: ab\n".into(),
        }
    }

    #[test]
    fn only_a_verified_commit_by_the_apps_bot_user_is_the_bots() {
        let bot = ("gk[bot]", "41+gk[bot]@users.noreply.github.com");
        let human = ("Ann", "ann@example.com");
        assert!(made_by_app(&commit(true, bot, bot), "gk[bot]"));
        // Copied trailers, name and address, pushed unsigned.
        assert!(!made_by_app(&commit(false, bot, bot), "gk[bot]"));
        // Signed by GitHub for a human (web edit) or co-authored.
        assert!(!made_by_app(&commit(true, human, bot), "gk[bot]"));
        assert!(!made_by_app(
            &commit(true, bot, ("GitHub", "noreply@github.com")),
            "gk[bot]"
        ));
        // Another App's bot, or an address GitHub would not hand out.
        assert!(!made_by_app(&commit(true, bot, bot), "other[bot]"));
        let forged = ("gk[bot]", "x+gk[bot]@users.noreply.github.com");
        assert!(!made_by_app(&commit(true, forged, forged), "gk[bot]"));
    }

    #[test]
    fn branch_names_are_short_ascii_slugs() {
        assert_eq!(
            branch_name(IssueNumber(12), "Add a tax line to order totals!"),
            "gitkeeper/12-add-a-tax-line-to-order-totals"
        );
        assert_eq!(
            branch_name(IssueNumber(3), "Ünïcode — ümlauts & émoji 🚀 ok"),
            "gitkeeper/3-n-code-mlauts-moji-ok"
        );
        assert_eq!(branch_name(IssueNumber(7), "!!!"), "gitkeeper/7");
        let long = branch_name(IssueNumber(9), &"word ".repeat(30));
        assert!(
            long.len() <= "gitkeeper/9-".len() + MAX_SLUG_CHARS,
            "{long}"
        );
        assert!(!long.ends_with('-'));
        let one = branch_name(IssueNumber(1), &"x".repeat(100));
        assert_eq!(one, format!("gitkeeper/1-{}", "x".repeat(MAX_SLUG_CHARS)));
    }
}
