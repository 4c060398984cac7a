//! The data dir's disk full: the bot runs with its data dir on a small
//! tmpfs of its own (a user and mount namespace, so no root is needed), the
//! job store elsewhere (PostgreSQL). A fetch that runs out of space fails
//! the job with the reason, the mirror stays a valid repository, and once
//! space is freed the next job fetches into it and publishes.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use gitkeeper_e2e::bot::{BotProcess, fresh_postgres_url};
use gitkeeper_e2e::models::Step;
use gitkeeper_e2e::world::{BODY, ISSUE, OWNER, REPO, TITLE, World, good_answer, labeled, settled};
use serde_json::Value;

/// Run the bot with a tmpfs of `size` mounted on `data`, seen only by it.
fn on_a_small_disk(data: &Path, size: &str) -> Vec<String> {
    let unshare = std::process::Command::new("unshare")
        .arg("--version")
        .output();
    assert!(
        unshare.is_ok_and(|o| o.status.success()),
        "this test needs `unshare` (util-linux) and unprivileged user namespaces"
    );
    vec![
        "unshare".into(),
        "--user".into(),
        "--map-root-user".into(),
        "--mount".into(),
        "sh".into(),
        "-c".into(),
        format!("mount -t tmpfs -o size={size} gitkeeper-disk \"$0\" && exec \"$@\""),
        data.display().to_string(),
    ]
}

/// Fill the filesystem of `path`'s directory, leaving about `free` bytes.
fn fill_leaving(path: &Path, free: u64) {
    let mut file = std::fs::File::create(path).unwrap();
    let chunk = vec![0x5a_u8; 64 * 1024];
    let mut written = 0u64;
    loop {
        match file.write_all(&chunk) {
            Ok(()) => written += chunk.len() as u64,
            Err(e) => {
                assert_eq!(e.raw_os_error(), Some(28), "ENOSPC expected: {e}");
                break;
            }
        }
    }
    let _ = file.flush();
    file.set_len(written.saturating_sub(free)).unwrap();
}

/// `git --git-dir <mirror> args`, asserting success. The mirror is copied
/// out of the bot's namespace first: git resolves `/proc/<pid>/root` to
/// this namespace's root, where the tmpfs is not mounted.
fn git(mirror: &Path, args: &[&str]) -> String {
    let copy = tempfile::tempdir().unwrap();
    let status = std::process::Command::new("cp")
        .arg("-a")
        .arg(mirror)
        .arg(copy.path().join("mirror.git"))
        .status()
        .unwrap();
    assert!(status.success(), "cp -a {}", mirror.display());
    let out = std::process::Command::new("git")
        .arg("--git-dir")
        .arg(copy.path().join("mirror.git"))
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "git {args:?} in {}: {}",
        mirror.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn job_of<'a>(jobs: &'a [Value], delivery: &str) -> &'a Value {
    jobs.iter()
        .find(|j| j["delivery_id"] == delivery)
        .unwrap_or_else(|| panic!("no job for {delivery}: {jobs:#?}"))
}

/// Random hex: barely compressible, so its pack takes room.
fn noise(bytes: usize) -> String {
    (0..bytes / 2)
        .map(|_| format!("{:02x}", rand::random::<u8>()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_fails_the_fetch_with_the_reason_and_leaves_the_mirror_whole() {
    let world = World::start().await;
    world.default_answer(Step::reply(good_answer()));
    for number in [8, 9] {
        world
            .gh
            .add_issue(OWNER, REPO, number, TITLE, BODY, "Codertocat");
    }
    let data = world.dir.path().join("data");
    std::fs::create_dir(&data).unwrap();
    let mut options = world.options();
    options.database_url = Some(fresh_postgres_url().await);
    options
        .extra_env
        .push(("GITKEEPER_DATA__DIR".into(), data.display().to_string()));
    options.launcher = on_a_small_disk(&data, "6m");
    let bot = BotProcess::start(&options, world.dir.path()).await;
    // The bot's view of its data dir, from outside its mount namespace.
    let seen = PathBuf::from(format!("/proc/{}/root", bot.pid().unwrap()))
        .join(data.strip_prefix("/").unwrap());

    bot.webhook("issues", "d-disk-1", &labeled(ISSUE)).await;
    let jobs = settled(&bot, 1).await;
    assert_eq!(jobs[0]["state"], "succeeded", "{jobs:#?}\n{}", bot.log());
    let mirror = seen.join("repos/codertocat/hello-world.git");
    let before = git(
        &mirror,
        &["for-each-ref", "--format=%(objectname) %(refname)"],
    );
    assert!(!before.is_empty(), "the first job made a mirror");

    // The disk fills up; then the repository grows by more than is left.
    let filler = seen.join("filler");
    fill_leaving(&filler, 256 * 1024);
    world
        .gh
        .push_files(
            OWNER,
            REPO,
            "main",
            &[("assets/noise.txt", &noise(2 * 1024 * 1024))],
            "Add a large asset",
        )
        .await;
    let grown = world.gh.branch_sha(OWNER, REPO, "main").await.unwrap();
    bot.webhook("issues", "d-disk-2", &labeled(8)).await;
    let jobs = settled(&bot, 2).await;
    let full = job_of(&jobs, "d-disk-2");
    assert_eq!(full["state"], "failed", "{jobs:#?}\n{}", bot.log());
    let error = full["last_error"].as_str().unwrap_or_default();
    assert!(error.contains("the disk is full"), "{error}");
    assert!(error.contains("free space under the data dir"), "{error}");
    let told = world.status_comments(8);
    assert_eq!(told.len(), 1, "{told:#?}");
    assert!(told[0].contains("the disk is full"), "{}", told[0]);
    assert!(
        world.gh.pulls(OWNER, REPO).len() == 1,
        "nothing published for #8"
    );

    // The mirror is whole: every object reachable, refs where they were.
    git(&mirror, &["fsck", "--full", "--no-dangling"]);
    let after = git(
        &mirror,
        &["for-each-ref", "--format=%(objectname) %(refname)"],
    );
    assert_eq!(after, before, "a failed fetch moves no ref");

    // Space comes back: the next job fetches into the same mirror.
    std::fs::remove_file(&filler).unwrap();
    bot.webhook("issues", "d-disk-3", &labeled(9)).await;
    let jobs = settled(&bot, 3).await;
    let freed = job_of(&jobs, "d-disk-3");
    assert_eq!(freed["state"], "succeeded", "{jobs:#?}\n{}", bot.log());
    git(&mirror, &["fsck", "--full", "--no-dangling"]);
    git(&mirror, &["cat-file", "-e", &format!("{grown}^{{commit}}")]);
    assert_eq!(world.gh.pulls(OWNER, REPO).len(), 2);
}
