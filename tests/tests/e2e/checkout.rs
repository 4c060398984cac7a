//! Checkout against the GitHub double's real smart-HTTP git server: the bare
//! mirror is cloned, then fetched; the wanted commit lands in the job's
//! directory and leaves with it; the token never touches the disk.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use gitkeeper_bot::checkout::{Checkout, CheckoutError, Checkouts, Want, clean_stale_work_dirs};
use gitkeeper_bot::ids::{IssueNumber, JobId, RepoId};
use gitkeeper_bot::intent::RepoRef;
use gitkeeper_e2e::github::{Failure, GithubDouble, GithubDoubleOptions};
use gitkeeper_e2e::net::ClosedPort;
use secrecy::SecretString;

const INSTALLATION: u64 = 7;
const OTHER_INSTALLATION: u64 = 8;

/// A double with installation 7 on `acme` (repo `widgets`, one commit on
/// `main`) and installation 8 on `other` (repo `secret`).
async fn github() -> GithubDouble {
    github_with(GithubDoubleOptions::default()).await
}

async fn github_with(options: GithubDoubleOptions) -> GithubDouble {
    let gh = GithubDouble::start(options).await;
    gh.add_installation(INSTALLATION, "acme");
    gh.add_installation(OTHER_INSTALLATION, "other");
    gh.add_repo(INSTALLATION, "acme", "widgets").await;
    gh.add_repo(OTHER_INSTALLATION, "other", "secret").await;
    gh.push_files(
        "acme",
        "widgets",
        "main",
        &[("README.md", "hi\n"), ("src/lib.rs", "pub fn one() {}\n")],
        "init",
    )
    .await;
    gh.push_files("other", "secret", "main", &[("README.md", "x\n")], "init")
        .await;
    gh
}

fn widgets() -> RepoRef {
    repo("acme", "widgets")
}

fn repo(owner: &str, name: &str) -> RepoRef {
    RepoRef {
        id: RepoId(1),
        owner: owner.into(),
        name: name.into(),
    }
}

fn token(gh: &GithubDouble) -> SecretString {
    SecretString::from(gh.mint_installation_token(INSTALLATION))
}

fn checkouts(gh: &GithubDouble, data: &Path) -> Checkouts {
    Checkouts::new(data, &gh.url()).expect("the double's URL is a valid clone base")
}

fn read(checkout: &Checkout, path: &str) -> String {
    std::fs::read_to_string(checkout.dir().join(path))
        .unwrap_or_else(|e| panic!("{path} in {}: {e}", checkout.dir().display()))
}

/// Run git in `dir` without the machine's or the user's configuration.
fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .output()
        .expect("git runs");
    assert!(
        out.status.success(),
        "git {args:?} in {}: {}",
        dir.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

async fn eventually_gone(path: &Path) -> bool {
    let until = Instant::now() + Duration::from_secs(5);
    while Instant::now() < until {
        if !path.exists() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    !path.exists()
}

/// Every file under `dir`, recursively.
fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            let kind = entry.file_type().unwrap();
            if kind.is_dir() {
                stack.push(entry.path());
            } else if kind.is_file() {
                out.push(entry.path());
            }
        }
    }
    out
}

#[tokio::test]
async fn first_checkout_clones_a_mirror_and_checks_out_the_default_branch() {
    let gh = github().await;
    let data = tempfile::tempdir().unwrap();
    let checkouts = checkouts(&gh, data.path());

    let checkout = checkouts
        .checkout(&widgets(), &token(&gh), &Want::DefaultBranch, JobId(1))
        .await
        .expect("checkout");

    assert_eq!(checkout.dir(), data.path().join("work").join("1"));
    assert_eq!(
        Some(checkout.commit().to_string()),
        gh.branch_sha("acme", "widgets", "main").await
    );
    assert_eq!(checkout.branch(), Some("main"));
    assert_eq!(read(&checkout, "README.md"), "hi\n");
    assert_eq!(read(&checkout, "src/lib.rs"), "pub fn one() {}\n");
    assert!(
        !checkout.dir().join(".git").exists(),
        "the job dir holds files only"
    );

    let mirror = data.path().join("repos/acme/widgets.git");
    assert_eq!(checkouts.mirror_path(&widgets()).unwrap(), mirror);
    assert_eq!(git(&mirror, &["rev-parse", "--is-bare-repository"]), "true");
    assert_eq!(
        git(&mirror, &["rev-parse", "refs/heads/main"]),
        checkout.commit()
    );
    assert_eq!(git(&mirror, &["tag", "--list"]), "", "tags are not fetched");
}

#[tokio::test]
async fn a_branch_is_checked_out_with_its_name() {
    let gh = github().await;
    let sha = gh
        .push_files(
            "acme",
            "widgets",
            "gitkeeper/3-fix",
            &[("fix.txt", "fixed\n")],
            "fix",
        )
        .await;
    let data = tempfile::tempdir().unwrap();

    let checkout = checkouts(&gh, data.path())
        .checkout(
            &widgets(),
            &token(&gh),
            &Want::Branch("gitkeeper/3-fix".into()),
            JobId(1),
        )
        .await
        .expect("checkout");

    assert_eq!(checkout.commit(), sha);
    assert_eq!(checkout.branch(), Some("gitkeeper/3-fix"));
    assert_eq!(read(&checkout, "fix.txt"), "fixed\n");
    assert_eq!(read(&checkout, "README.md"), "hi\n");
}

#[tokio::test]
async fn a_pull_request_head_is_checked_out_even_from_a_fork() {
    let gh = github().await;
    // A fork's PR: the commit is reachable only from refs/pull/5/head.
    let sha = gh
        .push_files(
            "acme",
            "widgets",
            "fork-branch",
            &[("pr.txt", "from a fork\n")],
            "pr",
        )
        .await;
    let bare = gh.repo_path("acme", "widgets");
    git(&bare, &["update-ref", "refs/pull/5/head", &sha]);
    git(&bare, &["update-ref", "-d", "refs/heads/fork-branch"]);
    let data = tempfile::tempdir().unwrap();

    let checkout = checkouts(&gh, data.path())
        .checkout(
            &widgets(),
            &token(&gh),
            &Want::PullHead(IssueNumber(5)),
            JobId(1),
        )
        .await
        .expect("checkout");

    assert_eq!(checkout.commit(), sha);
    assert_eq!(checkout.branch(), None);
    assert_eq!(read(&checkout, "pr.txt"), "from a fork\n");
}

#[tokio::test]
async fn a_missing_pull_request_head_names_the_number() {
    let gh = github().await;
    let data = tempfile::tempdir().unwrap();

    let err = checkouts(&gh, data.path())
        .checkout(
            &widgets(),
            &token(&gh),
            &Want::PullHead(IssueNumber(99)),
            JobId(1),
        )
        .await
        .expect_err("no such pull request");

    assert!(
        matches!(err, CheckoutError::PullHeadNotFound { number: 99, .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("#99"), "{err}");
}

#[tokio::test]
async fn an_older_commit_can_be_checked_out_by_id() {
    let gh = github().await;
    let old = gh.branch_sha("acme", "widgets", "main").await.unwrap();
    gh.push_files(
        "acme",
        "widgets",
        "main",
        &[("README.md", "changed\n")],
        "second",
    )
    .await;
    let data = tempfile::tempdir().unwrap();

    let checkout = checkouts(&gh, data.path())
        .checkout(
            &widgets(),
            &token(&gh),
            &Want::Commit(old.clone()),
            JobId(1),
        )
        .await
        .expect("checkout");

    assert_eq!(checkout.commit(), old);
    assert_eq!(checkout.branch(), None);
    assert_eq!(read(&checkout, "README.md"), "hi\n");
}

#[tokio::test]
async fn an_unknown_commit_is_not_found() {
    let gh = github().await;
    let data = tempfile::tempdir().unwrap();
    let sha = "0123456789abcdef0123456789abcdef01234567";

    let err = checkouts(&gh, data.path())
        .checkout(&widgets(), &token(&gh), &Want::Commit(sha.into()), JobId(1))
        .await
        .expect_err("no such commit");

    assert!(
        matches!(err, CheckoutError::CommitNotFound { .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains(sha), "{err}");
    assert!(!data.path().join("work/1").exists());
}

#[tokio::test]
async fn wrong_token_is_a_clear_auth_error() {
    let gh = github().await;
    let data = tempfile::tempdir().unwrap();
    let wrong = "ghs_thisTokenWasNeverIssued000000000000";

    let err = checkouts(&gh, data.path())
        .checkout(
            &widgets(),
            &SecretString::from(wrong),
            &Want::DefaultBranch,
            JobId(1),
        )
        .await
        .expect_err("the double refuses the token");

    assert!(matches!(err, CheckoutError::AuthRefused { .. }), "{err:?}");
    let message = err.to_string();
    assert!(
        message.contains("the installation token was refused")
            && message.contains("is the App installed on acme/widgets with contents permission?"),
        "{message}"
    );
    assert!(!err.is_transient());
    assert!(!format!("{err:?}").contains(wrong), "{err:?}");
    assert!(!data.path().join("work/1").exists());
}

#[tokio::test]
async fn token_without_contents_permission_is_a_clear_auth_error() {
    let mut options = GithubDoubleOptions::default();
    options.permissions.remove("contents");
    let gh = github_with(options).await;
    let data = tempfile::tempdir().unwrap();

    let err = checkouts(&gh, data.path())
        .checkout(&widgets(), &token(&gh), &Want::DefaultBranch, JobId(1))
        .await
        .expect_err("403 without contents permission");

    assert!(matches!(err, CheckoutError::AuthRefused { .. }), "{err:?}");
    assert!(err.to_string().contains("contents permission"), "{err}");
}

#[tokio::test]
async fn a_repository_the_token_cannot_see_is_not_found() {
    let gh = github().await;
    let data = tempfile::tempdir().unwrap();
    let checkouts = checkouts(&gh, data.path());

    for name in [("other", "secret"), ("acme", "deleted")] {
        let err = checkouts
            .checkout(
                &repo(name.0, name.1),
                &token(&gh),
                &Want::DefaultBranch,
                JobId(1),
            )
            .await
            .expect_err("404");
        assert!(matches!(err, CheckoutError::RepoNotFound { .. }), "{err:?}");
        let message = err.to_string();
        assert!(
            message.contains(&format!("{}/{} was not found", name.0, name.1)),
            "{message}"
        );
    }
}

#[tokio::test]
async fn missing_branch_names_the_branch() {
    let gh = github().await;
    let data = tempfile::tempdir().unwrap();

    let err = checkouts(&gh, data.path())
        .checkout(
            &widgets(),
            &token(&gh),
            &Want::Branch("no-such-branch".into()),
            JobId(1),
        )
        .await
        .expect_err("no such branch");

    assert!(
        matches!(err, CheckoutError::BranchNotFound { .. }),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        "branch no-such-branch not found in acme/widgets: was it deleted or renamed?"
    );
    assert!(!data.path().join("work/1").exists());
}

#[tokio::test]
async fn new_commits_are_fetched_into_the_existing_mirror() {
    let gh = github().await;
    let data = tempfile::tempdir().unwrap();
    let checkouts = checkouts(&gh, data.path());
    let first = checkouts
        .checkout(&widgets(), &token(&gh), &Want::DefaultBranch, JobId(1))
        .await
        .expect("first checkout");
    let mirror = checkouts.mirror_path(&widgets()).unwrap();
    let packs_before = git(&mirror, &["count-objects", "-v"]);

    let second_sha = gh
        .push_files(
            "acme",
            "widgets",
            "main",
            &[("README.md", "second\n"), ("new.txt", "new\n")],
            "second",
        )
        .await;
    let second = checkouts
        .checkout(&widgets(), &token(&gh), &Want::DefaultBranch, JobId(2))
        .await
        .expect("second checkout");

    assert_eq!(second.commit(), second_sha);
    assert_ne!(second.commit(), first.commit());
    assert_eq!(git(&mirror, &["rev-parse", "refs/heads/main"]), second_sha);
    assert_eq!(read(&second, "README.md"), "second\n");
    assert_eq!(read(&second, "new.txt"), "new\n");
    // The first job's files are untouched by the second.
    assert_eq!(read(&first, "README.md"), "hi\n");
    // The same mirror, fetched into (the first commit is still there), not cloned anew.
    assert_eq!(git(&mirror, &["cat-file", "-t", first.commit()]), "commit");
    assert_ne!(git(&mirror, &["count-objects", "-v"]), packs_before);
    // Nothing new: the same commit again.
    let third = checkouts
        .checkout(&widgets(), &token(&gh), &Want::DefaultBranch, JobId(3))
        .await
        .expect("warm checkout");
    assert_eq!(third.commit(), second_sha);
}

#[tokio::test]
async fn two_concurrent_checkouts_of_one_repo_both_succeed() {
    let gh = github().await;
    let data = tempfile::tempdir().unwrap();
    let checkouts = checkouts(&gh, data.path());
    let token = token(&gh);

    // Both start on an empty data dir, so both want to create the mirror.
    let (repo, main) = (widgets(), Want::Branch("main".into()));
    let (a, b) = tokio::join!(
        checkouts.checkout(&repo, &token, &Want::DefaultBranch, JobId(1)),
        checkouts.checkout(&repo, &token, &main, JobId(2)),
    );
    let (a, b) = (a.expect("first"), b.expect("second"));
    assert_eq!(a.commit(), b.commit());
    assert_eq!(read(&a, "README.md"), "hi\n");
    assert_eq!(read(&b, "README.md"), "hi\n");
    let mirror = checkouts.mirror_path(&widgets()).unwrap();
    git(&mirror, &["fsck", "--no-progress"]);
}

#[tokio::test]
async fn two_processes_sharing_a_data_dir_take_turns_on_the_mirror() {
    let gh = github().await;
    let data = tempfile::tempdir().unwrap();
    // Two `Checkouts` share no in-process lock, as two bot processes would not:
    // only the file lock keeps them apart.
    let one = checkouts(&gh, data.path());
    let two = checkouts(&gh, data.path());
    let token = token(&gh);

    for round in 0..3 {
        gh.push_files(
            "acme",
            "widgets",
            "main",
            &[("round.txt", &format!("{round}\n"))],
            "round",
        )
        .await;
        let repo = widgets();
        let (a, b) = tokio::join!(
            one.checkout(&repo, &token, &Want::DefaultBranch, JobId(10 + round)),
            two.checkout(&repo, &token, &Want::DefaultBranch, JobId(20 + round)),
        );
        let (a, b) = (a.expect("process one"), b.expect("process two"));
        assert_eq!(a.commit(), b.commit());
        assert_eq!(read(&b, "round.txt"), format!("{round}\n"));
    }
    git(
        &one.mirror_path(&widgets()).unwrap(),
        &["fsck", "--no-progress"],
    );
}

#[tokio::test]
async fn token_never_reaches_disk() {
    let gh = github().await;
    let data = tempfile::tempdir().unwrap();
    let checkouts = checkouts(&gh, data.path());
    let secret = gh.mint_installation_token(INSTALLATION);
    let token = SecretString::from(secret.clone());

    let first = checkouts
        .checkout(&widgets(), &token, &Want::DefaultBranch, JobId(1))
        .await
        .expect("clone");
    gh.push_files("acme", "widgets", "main", &[("b.txt", "b\n")], "b")
        .await;
    let second = checkouts
        .checkout(&widgets(), &token, &Want::DefaultBranch, JobId(2))
        .await
        .expect("fetch");
    let missing = checkouts
        .checkout(&widgets(), &token, &Want::Branch("nope".into()), JobId(3))
        .await
        .expect_err("missing branch");
    assert!(!format!("{missing:?}").contains(&secret));

    let files = files_under(data.path());
    assert!(
        files.iter().any(|f| f.ends_with("config")),
        "the mirror exists"
    );
    for file in &files {
        let bytes = std::fs::read(file).unwrap();
        assert!(
            !bytes.windows(secret.len()).any(|w| w == secret.as_bytes()),
            "the token is in {}",
            file.display()
        );
    }
    let mirror = checkouts.mirror_path(&widgets()).unwrap();
    let config = std::fs::read_to_string(mirror.join("config")).unwrap();
    assert!(!config.contains("x-access-token"), "{config}");
    assert!(
        !config.contains("url ="),
        "no remote URL is stored: {config}"
    );
    drop((first, second));
}

#[tokio::test]
async fn job_dir_is_removed_when_the_checkout_is_dropped() {
    let gh = github().await;
    let data = tempfile::tempdir().unwrap();
    let checkouts = checkouts(&gh, data.path());

    let checkout = checkouts
        .checkout(&widgets(), &token(&gh), &Want::DefaultBranch, JobId(1))
        .await
        .expect("checkout");
    let dir = checkout.dir().to_path_buf();
    assert!(dir.join("README.md").exists());
    drop(checkout);
    assert!(eventually_gone(&dir).await, "{} remains", dir.display());

    let checkout = checkouts
        .checkout(&widgets(), &token(&gh), &Want::DefaultBranch, JobId(2))
        .await
        .expect("checkout");
    let dir = checkout.dir().to_path_buf();
    checkout.cleanup().await.expect("cleanup");
    assert!(
        !dir.exists(),
        "cleanup removes the directory before it returns"
    );
    assert!(
        checkouts.mirror_path(&widgets()).unwrap().exists(),
        "the mirror stays"
    );
}

#[tokio::test]
async fn a_job_run_again_starts_from_a_fresh_directory() {
    let gh = github().await;
    let data = tempfile::tempdir().unwrap();
    let leftover = data.path().join("work/1/leftover.txt");
    std::fs::create_dir_all(leftover.parent().unwrap()).unwrap();
    std::fs::write(&leftover, "from a crashed run").unwrap();

    let checkout = checkouts(&gh, data.path())
        .checkout(&widgets(), &token(&gh), &Want::DefaultBranch, JobId(1))
        .await
        .expect("checkout");

    assert!(!leftover.exists());
    assert_eq!(read(&checkout, "README.md"), "hi\n");
}

#[tokio::test]
async fn stale_job_dirs_are_cleaned() {
    let data = tempfile::tempdir().unwrap();
    assert_eq!(
        clean_stale_work_dirs(data.path(), &[]).await.unwrap(),
        0,
        "no work dir yet"
    );
    for job in ["41", "42", "43"] {
        let dir = data.path().join("work").join(job).join("src");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("main.rs"), "fn main() {}").unwrap();
    }
    let mirror_file = data.path().join("repos/acme/widgets.git/HEAD");
    std::fs::create_dir_all(mirror_file.parent().unwrap()).unwrap();
    std::fs::write(&mirror_file, "ref: refs/heads/main\n").unwrap();

    // Job 43 is running (on another replica sharing the data dir): kept.
    assert_eq!(
        clean_stale_work_dirs(data.path(), &[JobId(43)])
            .await
            .unwrap(),
        2
    );

    let left: Vec<_> = std::fs::read_dir(data.path().join("work"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(left, ["43"]);
    assert!(data.path().join("work/43/src/main.rs").exists());
    assert!(mirror_file.exists(), "mirrors are kept");
}

#[tokio::test]
async fn an_unreachable_server_is_a_transient_network_error() {
    // A port nothing listens on.
    let closed = ClosedPort::reserve();
    let port = closed.addr().port();
    let data = tempfile::tempdir().unwrap();
    let checkouts = Checkouts::new(data.path(), &format!("http://127.0.0.1:{port}/")).unwrap();

    let err = checkouts
        .checkout(
            &widgets(),
            &SecretString::from("t"),
            &Want::DefaultBranch,
            JobId(1),
        )
        .await
        .expect_err("connection refused");

    assert!(matches!(err, CheckoutError::Network { .. }), "{err:?}");
    assert!(err.is_transient());
    assert!(err.to_string().contains("could not reach"), "{err}");
}

#[tokio::test]
async fn a_server_error_is_a_transient_network_error() {
    let gh = github().await;
    let data = tempfile::tempdir().unwrap();
    gh.fail_next("*", "/acme/widgets.git/**", Failure::Status(502));

    let err = checkouts(&gh, data.path())
        .checkout(&widgets(), &token(&gh), &Want::DefaultBranch, JobId(1))
        .await
        .expect_err("502");

    assert!(matches!(err, CheckoutError::Network { .. }), "{err:?}");
    assert!(err.is_transient());
}

#[tokio::test]
async fn a_slow_server_times_out() {
    let gh = github().await;
    let data = tempfile::tempdir().unwrap();
    gh.fail_next(
        "*",
        "/acme/widgets.git/**",
        Failure::Delay(Duration::from_secs(3)),
    );
    let checkouts = checkouts(&gh, data.path()).with_timeout(Duration::from_millis(500));

    let started = Instant::now();
    let err = checkouts
        .checkout(&widgets(), &token(&gh), &Want::DefaultBranch, JobId(1))
        .await
        .expect_err("time-out");

    assert!(matches!(err, CheckoutError::Timeout { .. }), "{err:?}");
    assert!(err.is_transient());
    assert!(started.elapsed() < Duration::from_secs(30));
    assert!(!data.path().join("work/1").exists());
}
