//! A worker that loses its lease stops its job before anything more reaches
//! GitHub, and the job is run again by whoever takes it next.

use std::time::Duration;

use gitkeeper_bot::github::GithubError;
use gitkeeper_bot::ids::{InstallationId, IssueNumber, RepoId};
use gitkeeper_bot::intent::RepoRef;
use gitkeeper_e2e::bot::{BotProcess, fresh_postgres_url};
use gitkeeper_e2e::models::Step;
use gitkeeper_e2e::net::CuttableProxy;
use gitkeeper_e2e::world::{
    BRANCH, INSTALLATION, ISSUE, OWNER, REPO, World, github_app, good_answer, labeled, settled,
};
use tokio_util::sync::CancellationToken;

/// Poll `done` every 100 ms until it holds, or panic saying `what`.
async fn wait_until(what: &str, timeout: Duration, mut done: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + timeout;
    while !done() {
        assert!(tokio::time::Instant::now() < deadline, "timed out: {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

// Multi-threaded: the proxy keeps forwarding while `bot.jobs()` blocks a thread.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_cut_off_from_the_store_for_a_lease_stops_before_publishing() {
    let world = World::start().await;
    // The first model call outlasts the lease; the run after it answers at once.
    let slow = Duration::from_secs(7);
    world.ollama.push(Step::reply(good_answer()).delay(slow));
    world.ollama.push(Step::reply(good_answer()));
    let (proxy, database_url) =
        CuttableProxy::in_front_of_postgres(&fresh_postgres_url().await).await;
    let mut options = world.options();
    options.database_url = Some(database_url);
    options.lease_secs = 3;
    options.concurrency = 1;
    let bot = BotProcess::start(&options, world.dir.path()).await;
    bot.webhook("issues", "d-lease", &labeled(ISSUE)).await;

    wait_until("the job asks the model", Duration::from_secs(30), || {
        !world.ollama.completion_requests().is_empty()
    })
    .await;
    let asked = tokio::time::Instant::now();
    proxy.cut();
    wait_until(
        "the worker gives the job up",
        Duration::from_secs(10),
        || {
            bot.log()
                .contains("lease lost: no heartbeat reached the job store")
        },
    )
    .await;
    let before = world.gh.requests().len();
    // The model's answer comes while the store is still unreachable: the
    // job would publish now if it were still running.
    tokio::time::sleep_until(asked + slow + Duration::from_secs(2)).await;
    let after: Vec<String> = world.gh.requests()[before..]
        .iter()
        .map(|r| format!("{} {}", r.method, r.path))
        .collect();
    assert!(
        after.is_empty(),
        "nothing reaches GitHub once the lease is lost: {after:#?}\n{}",
        bot.log()
    );
    assert!(world.gh.pulls(OWNER, REPO).is_empty());
    assert_eq!(world.gh.branch_sha(OWNER, REPO, BRANCH).await, None);
    let commits = format!("/repos/{OWNER}/{REPO}/git/commits");
    assert!(world.gh.requests_matching("POST", &commits).is_empty());

    // The store comes back: the job, not marked done, is taken again.
    proxy.restore();
    let jobs = settled(&bot, 1).await;
    assert_eq!(jobs.len(), 1);
    assert_eq!(jobs[0]["state"], "succeeded", "{jobs:#?}\n{}", bot.log());
    assert_eq!(jobs[0]["attempts"], 2, "{jobs:#?}");
    assert_eq!(world.gh.pulls(OWNER, REPO).len(), 1);
}

#[tokio::test]
async fn a_fenced_installation_sends_nothing_once_the_lease_is_lost() {
    let world = World::start().await;
    let lease_lost = CancellationToken::new();
    let gh = github_app(&world.gh)
        .installation(InstallationId(INSTALLATION))
        .fenced(lease_lost.clone());
    let repo = RepoRef {
        id: RepoId(1),
        owner: OWNER.into(),
        name: REPO.into(),
    };
    gh.create_comment(&repo, IssueNumber(ISSUE), "while the lease holds")
        .await
        .unwrap();
    lease_lost.cancel();
    let before = world.gh.requests().len();
    let err = gh
        .create_comment(&repo, IssueNumber(ISSUE), "after")
        .await
        .unwrap_err();
    assert!(matches!(err, GithubError::LeaseLost { .. }), "{err}");
    assert!(err.to_string().contains("lost the job's lease"), "{err}");
    let err = gh
        .add_labels(&repo, IssueNumber(ISSUE), &["gitkeeper:working"])
        .await
        .unwrap_err();
    assert!(matches!(err, GithubError::LeaseLost { .. }), "{err}");
    assert_eq!(world.gh.requests().len(), before, "nothing was sent");
    assert_eq!(world.gh.comments(OWNER, REPO, ISSUE).len(), 1);
}
