//! Publishing through the Git Data API against the GitHub double, whose
//! blobs, trees, commits and refs are real git objects: what the bot commits
//! is read back with `git log` / `git show`.

use gitkeeper_bot::github::{
    CheckConclusion, CheckOutput, GitCommit, GithubError, Installation, NewPull, Sha,
};
use gitkeeper_bot::ids::{InstallationId, IssueNumber, RepoId};
use gitkeeper_bot::intent::RepoRef;
use gitkeeper_bot::publish::{
    BranchUpdate, CommitKind, CommitMessage, FileUpdate, OnDiverged, PublishError, PullPlan,
    Trailers, branch_name, commit_updates, marker, open_or_update, update_branch,
};
use gitkeeper_e2e::github::{Failure, GithubDouble, GithubDoubleOptions, Permission};
use gitkeeper_e2e::world::github_app;

const INSTALLATION: u64 = 7;

async fn double() -> GithubDouble {
    let gh = GithubDouble::start(GithubDoubleOptions::default()).await;
    gh.add_installation(INSTALLATION, "acme");
    gh.add_repo(INSTALLATION, "acme", "shop").await;
    gh.push_files(
        "acme",
        "shop",
        "main",
        &[
            ("src/orders.ts", "export const total = (a: number) => a;\n"),
            ("src/legacy.ts", "export {};\n"),
            ("README.md", "# shop\n"),
        ],
        "init",
    )
    .await;
    gh
}

fn installation(gh: &GithubDouble) -> Installation {
    github_app(gh).installation(InstallationId(INSTALLATION))
}

fn shop() -> RepoRef {
    RepoRef {
        id: RepoId(1),
        owner: "acme".into(),
        name: "shop".into(),
    }
}

fn message(summary: &str, attempts: u32) -> String {
    CommitMessage {
        kind: CommitKind::Fix,
        summary: summary.into(),
        issue: IssueNumber(42),
        body: None,
        trailers: Trailers {
            model: "qwen2.5-coder:14b".into(),
            tier: "local-large".into(),
            attempts,
            prompt_sha256: "0f".repeat(32),
        },
    }
    .render()
}

/// Commit one file on `parent`.
async fn commit_one(
    github: &Installation,
    parent: &Sha,
    path: &str,
    content: &str,
    summary: &str,
    attempts: u32,
) -> GitCommit {
    commit_updates(
        github,
        &shop(),
        parent,
        &[FileUpdate::write(path, content)],
        &message(summary, attempts),
    )
    .await
    .expect("the commit is made")
}

async fn main_head(gh: &GithubDouble) -> Sha {
    Sha(gh
        .branch_sha("acme", "shop", "main")
        .await
        .expect("main exists"))
}

#[tokio::test]
async fn changes_become_one_signed_commit_on_the_bot_branch() {
    let gh = double().await;
    let github = installation(&gh);
    let base = main_head(&gh).await;
    let binary: Vec<u8> = vec![0x89, b'P', b'N', b'G', 0, 0xff, 0xfe, 1];
    let updates = vec![
        FileUpdate::write(
            "src/orders.ts",
            "export const total = (a: number) => Math.round(a * 1.2);\n",
        ),
        FileUpdate::write("src/tax/rates.ts", "export const VAT = 0.2;\n"),
        FileUpdate::write("public/logo.png", binary.clone()),
        FileUpdate::delete("src/legacy.ts"),
    ];
    let commit = commit_updates(
        &github,
        &shop(),
        &base,
        &updates,
        &message("Order totals ignore tax", 2),
    )
    .await
    .unwrap();
    assert!(
        commit.verified,
        "the App's own commits are signed by GitHub"
    );
    assert_eq!(commit.parents, vec![base.clone()]);

    let branch = branch_name(IssueNumber(42), "Order totals ignore tax");
    assert_eq!(branch, "gitkeeper/42-order-totals-ignore-tax");
    let moved = update_branch(&github, &shop(), &branch, &commit, OnDiverged::Refuse)
        .await
        .unwrap();
    assert_eq!(moved, BranchUpdate::Created);

    // Read back with git itself.
    let log = gh
        .git("acme", "shop", &["log", "--format=%an|%s|%P", &branch])
        .await;
    let mut lines = log.lines();
    assert_eq!(
        lines.next().unwrap(),
        format!("gitkeeper[bot]|fix: Order totals ignore tax (#42)|{base}")
    );
    let body = gh
        .git("acme", "shop", &["show", "-s", "--format=%B", &branch])
        .await;
    assert!(
        body.contains("Gitkeeper-Model: qwen2.5-coder:14b"),
        "{body}"
    );
    assert!(body.contains("Gitkeeper-Attempts: 2"), "{body}");
    let trailers = gh
        .git(
            "acme",
            "shop",
            &[
                "show",
                "-s",
                "--format=%(trailers:key=Gitkeeper-Tier,valueonly)",
                &branch,
            ],
        )
        .await;
    assert_eq!(trailers, "local-large");
    let files = gh
        .git("acme", "shop", &["ls-tree", "-r", "--name-only", &branch])
        .await;
    assert_eq!(
        files.lines().collect::<Vec<_>>(),
        vec![
            "README.md",
            "public/logo.png",
            "src/orders.ts",
            "src/tax/rates.ts"
        ]
    );
    assert_eq!(
        gh.file_at("acme", "shop", &branch, "src/orders.ts")
            .await
            .unwrap(),
        "export const total = (a: number) => Math.round(a * 1.2);\n"
    );
    let blob = gh
        .git(
            "acme",
            "shop",
            &["rev-parse", &format!("{branch}:public/logo.png")],
        )
        .await;
    let size = gh.git("acme", "shop", &["cat-file", "-s", &blob]).await;
    assert_eq!(
        size,
        binary.len().to_string(),
        "binary content survives base64"
    );
    // main is untouched.
    assert_eq!(main_head(&gh).await, base);
}

#[tokio::test]
async fn a_revision_fast_forwards_and_a_retried_job_changes_nothing() {
    let gh = double().await;
    let github = installation(&gh);
    let branch = "gitkeeper/42-tax";
    let base = main_head(&gh).await;
    let first = commit_one(
        &github,
        &base,
        "src/orders.ts",
        "export const total = 1;\n",
        "first",
        1,
    )
    .await;
    update_branch(&github, &shop(), branch, &first, OnDiverged::Refuse)
        .await
        .unwrap();
    let second = commit_one(
        &github,
        &first.sha,
        "src/orders.ts",
        "export const total = 2;\n",
        "second",
        1,
    )
    .await;
    let moved = update_branch(&github, &shop(), branch, &second, OnDiverged::Refuse)
        .await
        .unwrap();
    assert_eq!(moved, BranchUpdate::FastForwarded);
    let again = update_branch(&github, &shop(), branch, &second, OnDiverged::Refuse)
        .await
        .unwrap();
    assert_eq!(again, BranchUpdate::Unchanged);
    let count = gh
        .git("acme", "shop", &["rev-list", "--count", branch])
        .await;
    assert_eq!(count, "3");
}

#[tokio::test]
async fn a_branch_someone_else_moved_is_not_overwritten_unless_reset_is_allowed() {
    let gh = double().await;
    let github = installation(&gh);
    let branch = "gitkeeper/42-tax";
    let base = main_head(&gh).await;
    let ours = commit_one(
        &github,
        &base,
        "src/orders.ts",
        "export const total = 1;\n",
        "ours",
        1,
    )
    .await;
    update_branch(&github, &shop(), branch, &ours, OnDiverged::Refuse)
        .await
        .unwrap();
    // A maintainer pushes to the bot's branch.
    gh.push_files(
        "acme",
        "shop",
        branch,
        &[("NOTES.md", "mine\n")],
        "human work",
    )
    .await;
    let human_head = gh.branch_sha("acme", "shop", branch).await.unwrap();

    let redo = commit_one(
        &github,
        &base,
        "src/orders.ts",
        "export const total = 3;\n",
        "redo",
        2,
    )
    .await;
    let err = update_branch(&github, &shop(), branch, &redo, OnDiverged::Refuse)
        .await
        .unwrap_err();
    assert!(matches!(err, PublishError::Diverged { .. }), "{err}");
    assert!(err.to_string().contains("will not overwrite"), "{err}");
    assert_eq!(
        gh.branch_sha("acme", "shop", branch).await.unwrap(),
        human_head
    );

    let moved = update_branch(&github, &shop(), branch, &redo, OnDiverged::Reset)
        .await
        .unwrap();
    assert_eq!(moved, BranchUpdate::Reset);
    assert_eq!(
        gh.branch_sha("acme", "shop", branch).await.unwrap(),
        redo.sha.0
    );
}

#[tokio::test]
async fn changes_that_change_nothing_are_not_committed() {
    let gh = double().await;
    let github = installation(&gh);
    let base = main_head(&gh).await;
    let err = commit_updates(
        &github,
        &shop(),
        &base,
        &[FileUpdate::write("README.md", "# shop\n")],
        &message("noop", 1),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, PublishError::NothingToCommit), "{err}");
    let err = commit_updates(&github, &shop(), &base, &[], &message("noop", 1))
        .await
        .unwrap_err();
    assert!(matches!(err, PublishError::NothingToCommit), "{err}");
}

#[tokio::test]
async fn deleting_a_file_that_is_not_there_is_refused_by_github() {
    let gh = double().await;
    let github = installation(&gh);
    let base = main_head(&gh).await;
    let err = commit_updates(
        &github,
        &shop(),
        &base,
        &[FileUpdate::delete("src/never.ts")],
        &message("delete", 1),
    )
    .await
    .unwrap_err();
    let PublishError::Github(GithubError::Status { status, .. }) = err else {
        panic!("expected GitHub's 422, got {err}");
    };
    assert_eq!(status.as_u16(), 422);
}

#[tokio::test]
async fn blob_creation_is_retried_after_a_server_error_but_ref_creation_is_not() {
    let gh = double().await;
    let github = installation(&gh);
    let base = main_head(&gh).await;
    gh.fail_next("POST", "/repos/*/*/git/blobs", Failure::Status(502));
    let commit = commit_one(&github, &base, "src/new.ts", "export {};\n", "retry", 1).await;
    assert_eq!(
        gh.requests_matching("POST", "/repos/*/*/git/blobs").len(),
        2
    );

    gh.fail_next("POST", "/repos/*/*/git/refs", Failure::Status(502));
    let err = update_branch(
        &github,
        &shop(),
        "gitkeeper/1-x",
        &commit,
        OnDiverged::Refuse,
    )
    .await
    .unwrap_err();
    assert!(err.to_string().contains("502"), "{err}");
    assert_eq!(gh.requests_matching("POST", "/repos/*/*/git/refs").len(), 1);
}

#[tokio::test]
async fn a_token_without_contents_write_cannot_commit() {
    let mut options = GithubDoubleOptions::default();
    options.permissions.insert("contents".into(), "read".into());
    let gh = GithubDouble::start(options).await;
    gh.add_installation(INSTALLATION, "acme");
    gh.add_repo(INSTALLATION, "acme", "shop").await;
    gh.push_files("acme", "shop", "main", &[("README.md", "x\n")], "init")
        .await;
    let github = installation(&gh);
    let base = main_head(&gh).await;
    let err = commit_updates(
        &github,
        &shop(),
        &base,
        &[FileUpdate::write("a.txt", "a\n")],
        &message("nope", 1),
    )
    .await
    .unwrap_err();
    assert!(
        err.to_string()
            .contains("Resource not accessible by integration"),
        "{err}"
    );
}

/// The double with a bot branch one commit ahead of main, and alice a writer.
async fn double_with_branch(branch: &str) -> (GithubDouble, Installation, GitCommit) {
    let gh = double().await;
    gh.set_permission("acme", "shop", "alice", Permission::Write);
    gh.add_issue(
        "acme",
        "shop",
        42,
        "Order totals ignore tax",
        "Please",
        "alice",
    );
    let github = installation(&gh);
    let base = main_head(&gh).await;
    let commit = commit_one(
        &github,
        &base,
        "src/orders.ts",
        "export const t = 2;\n",
        "tax",
        1,
    )
    .await;
    update_branch(&github, &shop(), branch, &commit, OnDiverged::Refuse)
        .await
        .unwrap();
    (gh, github, commit)
}

fn plan<'a>(branch: &'a str, body: &'a str, reviewer: Option<&'a str>) -> PullPlan<'a> {
    PullPlan {
        issue: IssueNumber(42),
        branch,
        base: "main",
        title: "fix: Order totals ignore tax",
        body,
        draft: false,
        reviewer,
    }
}

#[tokio::test]
async fn a_pull_request_is_opened_once_and_updated_after() {
    let branch = "gitkeeper/42-order-totals-ignore-tax";
    let (gh, github, _) = double_with_branch(branch).await;
    let first = open_or_update(
        &github,
        &shop(),
        &plan(branch, "First description.\n\nCloses #42", Some("alice")),
    )
    .await
    .unwrap();
    assert!(first.opened);
    assert_eq!(first.review_not_requested, None);
    assert_eq!(
        first.pull.number,
        IssueNumber(43),
        "numbers are shared with issues"
    );
    let pulls = gh.pulls("acme", "shop");
    assert_eq!(pulls.len(), 1);
    assert_eq!(pulls[0].head, branch);
    assert_eq!(pulls[0].author, "gitkeeper[bot]");
    assert_eq!(pulls[0].requested_reviewers, vec!["alice"]);
    assert!(pulls[0].body.contains("Closes #42"));
    assert!(pulls[0].body.ends_with(&marker(IssueNumber(42))));

    // A redelivered or retried job updates the same pull request.
    let again = open_or_update(
        &github,
        &shop(),
        &plan(branch, "Second description.", Some("alice")),
    )
    .await
    .unwrap();
    assert!(!again.opened);
    assert_eq!(again.pull.number, first.pull.number);
    let pulls = gh.pulls("acme", "shop");
    assert_eq!(pulls.len(), 1);
    assert!(pulls[0].body.starts_with("Second description."));
    assert_eq!(gh.requests_matching("POST", "/repos/*/*/pulls").len(), 1);
}

#[tokio::test]
async fn a_draft_is_a_draft_and_a_reviewer_github_refuses_does_not_stop_the_pull_request() {
    let branch = "gitkeeper/42-tax";
    let (gh, github, _) = double_with_branch(branch).await;
    let mut draft = plan(branch, "Validation failed.", Some("mallory"));
    draft.draft = true;
    let outcome = open_or_update(&github, &shop(), &draft).await.unwrap();
    assert!(outcome.pull.draft);
    let why = outcome
        .review_not_requested
        .expect("mallory is not a collaborator");
    assert!(why.contains("collaborators"), "{why}");
    assert!(gh.pulls("acme", "shop")[0].draft);
}

#[tokio::test]
async fn a_pull_request_the_bot_did_not_open_is_left_alone() {
    let branch = "gitkeeper/42-tax";
    let (gh, github, _) = double_with_branch(branch).await;
    github
        .create_pull(
            &shop(),
            &NewPull {
                title: "someone's own",
                body: "no marker here",
                head: branch,
                base: "main",
                draft: false,
            },
        )
        .await
        .unwrap();
    let err = open_or_update(&github, &shop(), &plan(branch, "ours", None))
        .await
        .unwrap_err();
    assert!(matches!(err, PublishError::ForeignPull { .. }), "{err}");
    assert_eq!(gh.pulls("acme", "shop")[0].body, "no marker here");
}

#[tokio::test]
async fn a_branch_with_nothing_new_gets_githubs_refusal() {
    let gh = double().await;
    let github = installation(&gh);
    let base = main_head(&gh).await;
    github
        .create_branch(&shop(), "gitkeeper/1-empty", &base)
        .await
        .unwrap();
    let err = open_or_update(&github, &shop(), &plan("gitkeeper/1-empty", "x", None))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("422"), "{err}");
    assert!(gh.pulls("acme", "shop").is_empty());
}

#[tokio::test]
async fn labels_are_added_once_and_removed() {
    let gh = double().await;
    gh.add_issue("acme", "shop", 42, "Tax", "Please", "alice");
    let github = installation(&gh);
    let issue = IssueNumber(42);
    github
        .add_labels(&shop(), issue, &["gitkeeper:working"])
        .await
        .unwrap();
    github
        .add_labels(
            &shop(),
            issue,
            &["gitkeeper:working", "gitkeeper:needs-human"],
        )
        .await
        .unwrap();
    assert_eq!(
        gh.labels("acme", "shop", 42),
        vec!["gitkeeper:needs-human", "gitkeeper:working"]
    );
    assert!(
        github
            .remove_label(&shop(), issue, "gitkeeper:working")
            .await
            .unwrap()
    );
    assert!(
        !github
            .remove_label(&shop(), issue, "gitkeeper:working")
            .await
            .unwrap()
    );
    assert_eq!(gh.labels("acme", "shop", 42), vec!["gitkeeper:needs-human"]);
    let err = github
        .add_labels(&shop(), IssueNumber(999), &["x"])
        .await
        .unwrap_err();
    assert_eq!(err.status().map(|s| s.as_u16()), Some(404));
}

#[tokio::test]
async fn a_check_run_goes_from_in_progress_to_its_conclusion_with_the_report() {
    let branch = "gitkeeper/42-tax";
    let (gh, github, commit) = double_with_branch(branch).await;
    let id = github
        .start_check_run(
            &shop(),
            "gitkeeper",
            &commit.sha,
            &CheckOutput {
                title: "Validating",
                summary: "Running the repository's checks",
                text: None,
            },
        )
        .await
        .unwrap();
    let runs = gh.check_runs("acme", "shop");
    assert_eq!(runs[0].status, "in_progress");
    assert_eq!(runs[0].head_sha, commit.sha.0);
    let log = format!(
        "{}tsc: error TS2304 at the end",
        "npm noise\n".repeat(8_000)
    );
    github
        .finish_check_run(
            &shop(),
            id,
            CheckConclusion::Failure,
            &CheckOutput {
                title: "1 check failed",
                summary: "| stage | result |\n|---|---|\n| typecheck | failed |",
                text: Some(&log),
            },
        )
        .await
        .unwrap();
    let runs = gh.check_runs("acme", "shop");
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].status, "completed");
    assert_eq!(runs[0].conclusion.as_deref(), Some("failure"));
    let text = runs[0].text.clone().unwrap();
    assert!(
        text.ends_with("tsc: error TS2304 at the end"),
        "the end of the log is kept"
    );
    assert!(text.chars().count() <= 65_535);
}

#[tokio::test]
async fn review_threads_are_read_per_review_and_answered_in_place() {
    let branch = "gitkeeper/42-tax";
    let (gh, github, _) = double_with_branch(branch).await;
    let pull = open_or_update(&github, &shop(), &plan(branch, "Body", None))
        .await
        .unwrap()
        .pull;
    let n = pull.number.0;
    let (first, review) = gh.add_review_comment(
        "acme",
        "shop",
        n,
        None,
        "alice",
        "src/orders.ts",
        Some(1),
        "Round to cents.",
    );
    gh.add_review_comment(
        "acme",
        "shop",
        n,
        Some(review),
        "alice",
        "src/orders.ts",
        None,
        "And name it total.",
    );
    let (other, _) = gh.add_review_comment(
        "acme",
        "shop",
        n,
        None,
        "alice",
        "README.md",
        Some(1),
        "Unrelated.",
    );

    let comments = github
        .review_comments(&shop(), pull.number, gitkeeper_bot::ids::ReviewId(review))
        .await
        .unwrap();
    let bodies: Vec<_> = comments
        .iter()
        .map(|c| (c.path.as_str(), c.line, c.body.as_str()))
        .collect();
    assert_eq!(
        bodies,
        [
            ("src/orders.ts", Some(1), "Round to cents."),
            ("src/orders.ts", None, "And name it total."),
        ]
    );

    github
        .reply_to_review_comment(
            &shop(),
            pull.number,
            gitkeeper_bot::ids::CommentId(first),
            "Done in abc1234.",
        )
        .await
        .unwrap();
    let replies: Vec<_> = gh
        .review_comments("acme", "shop", n)
        .into_iter()
        .filter(|c| c.in_reply_to == Some(first))
        .collect();
    assert_eq!(replies.len(), 1);
    assert_eq!(replies[0].author, "gitkeeper[bot]");
    assert_eq!(replies[0].body, "Done in abc1234.");
    assert_eq!(replies[0].path, "src/orders.ts");

    // GitHub's refusals: a comment of another pull request, an unknown review, a blank reply.
    let wrong_pull = github
        .reply_to_review_comment(
            &shop(),
            IssueNumber(42),
            gitkeeper_bot::ids::CommentId(other),
            "x",
        )
        .await
        .unwrap_err();
    assert_eq!(wrong_pull.status().map(|s| s.as_u16()), Some(404));
    let unknown = github
        .review_comments(&shop(), pull.number, gitkeeper_bot::ids::ReviewId(999_999))
        .await
        .unwrap_err();
    assert_eq!(unknown.status().map(|s| s.as_u16()), Some(404));
    let blank = github
        .reply_to_review_comment(
            &shop(),
            pull.number,
            gitkeeper_bot::ids::CommentId(first),
            "  ",
        )
        .await
        .unwrap_err();
    assert_eq!(blank.status().map(|s| s.as_u16()), Some(422));
}
