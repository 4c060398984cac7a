//! Publishing through the Git Data API against the GitHub double, whose
//! blobs, trees, commits and refs are real git objects: what the bot commits
//! is read back with `git log` / `git show`.

use std::sync::Arc;
use std::time::Duration;

use gitkeeper_bot::config::Settings;
use gitkeeper_bot::github::{GitCommit, GithubApp, GithubError, Installation, Sha};
use gitkeeper_bot::ids::{InstallationId, IssueNumber, RepoId};
use gitkeeper_bot::intent::RepoRef;
use gitkeeper_bot::publish::{
    BranchUpdate, CommitKind, CommitMessage, FileUpdate, OnDiverged, PublishError, Trailers,
    branch_name, commit_updates, update_branch,
};
use gitkeeper_e2e::github::{Failure, GithubDouble, GithubDoubleOptions, test_app_key_path};

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
    let mut settings = Settings::default();
    settings.github.app_id = Some(gh.app_id());
    settings.github.private_key_path = Some(test_app_key_path());
    settings.github.api_url = gh.url();
    let app: Arc<GithubApp> = GithubApp::from_settings(&settings)
        .expect("the double's settings are valid")
        .with_backoff(Duration::from_millis(5));
    app.installation(InstallationId(INSTALLATION))
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
