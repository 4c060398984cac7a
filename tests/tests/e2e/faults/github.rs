//! GitHub failing under the bot: 500/502, a secondary rate limit with
//! `Retry-After`, a 401 for an installation token that expired early, and
//! answers slower than `[github] timeout_secs`. Reads are retried in the
//! call; a write that may have landed is never sent twice; a refused token
//! is replaced once, for the API and for git alike.

use std::sync::Arc;
use std::time::Duration;

use gitkeeper_bot::github::{GithubApp, GithubError};
use gitkeeper_bot::ids::{InstallationId, IssueNumber, RepoId};
use gitkeeper_bot::intent::RepoRef;
use gitkeeper_e2e::github::{Failure, GithubDouble};
use gitkeeper_e2e::models::Step;
use gitkeeper_e2e::world::{
    INSTALLATION, ISSUE, OWNER, REPO, World, good_answer, labeled, settled,
};

fn repo() -> RepoRef {
    RepoRef {
        id: RepoId(1),
        owner: OWNER.into(),
        name: REPO.into(),
    }
}

/// The bot's GitHub client for `gh` with a `timeout_secs` timeout and short backoff.
fn app_with_timeout(gh: &GithubDouble, timeout_secs: u64) -> Arc<GithubApp> {
    let mut settings = gitkeeper_bot::config::Settings::default();
    settings.github.app_id = Some(gh.app_id());
    settings.github.private_key_path = Some(gitkeeper_e2e::github::test_app_key_path());
    settings.github.api_url = gh.url();
    settings.github.timeout_secs = timeout_secs;
    GithubApp::from_settings(&settings)
        .unwrap()
        .with_backoff(Duration::from_millis(5))
}

/// Statuses the double answered to `method path`, in order.
fn statuses(gh: &GithubDouble, method: &str, path: &str) -> Vec<Option<u16>> {
    gh.requests_matching(method, path)
        .iter()
        .map(|r| r.status)
        .collect()
}

#[tokio::test]
async fn reads_answered_500_then_502_are_retried_within_the_job() {
    let world = World::start().await;
    world.default_answer(Step::reply(good_answer()));
    let permission = "/repos/*/*/collaborators/*/permission";
    world.gh.fail_next("GET", permission, Failure::Status(500));
    world.gh.fail_next("GET", permission, Failure::Status(502));
    let bot = world.start_bot().await;
    bot.webhook("issues", "d-5xx", &labeled(ISSUE)).await;
    let jobs = settled(&bot, 1).await;
    assert_eq!(jobs[0]["state"], "succeeded", "{jobs:#?}\n{}", bot.log());
    // Retried inside the call: the job ran once.
    assert_eq!(jobs[0]["attempts"], 1, "{jobs:#?}");
    assert_eq!(
        statuses(&world.gh, "GET", permission),
        [Some(500), Some(502), Some(200)]
    );
    assert_eq!(world.gh.pulls(OWNER, REPO).len(), 1);
}

#[tokio::test]
async fn an_expired_installation_token_is_replaced_once_and_the_call_sent_again() {
    let world = World::start().await;
    let app = app_with_timeout(&world.gh, 10);
    let gh = app.installation(InstallationId(INSTALLATION));
    gh.create_comment(&repo(), IssueNumber(ISSUE), "first")
        .await
        .unwrap();
    assert_eq!(world.gh.tokens_issued(), 1);
    // GitHub ends the cached token early (revoked, or the clock was off).
    world.gh.expire_tokens();
    gh.create_comment(&repo(), IssueNumber(ISSUE), "second")
        .await
        .unwrap();
    assert_eq!(world.gh.tokens_issued(), 2, "one new token");
    // A 401 was not processed, so sending the POST again duplicates nothing.
    assert_eq!(
        statuses(&world.gh, "POST", "/repos/*/*/issues/*/comments"),
        [Some(201), Some(401), Some(201)]
    );
    let bodies: Vec<String> = world
        .gh
        .comments(OWNER, REPO, ISSUE)
        .into_iter()
        .map(|c| c.body)
        .collect();
    assert_eq!(bodies, ["first", "second"]);
}

#[tokio::test]
async fn a_token_refused_twice_is_replaced_only_once_and_the_401_reported() {
    let world = World::start().await;
    let app = app_with_timeout(&world.gh, 10);
    let gh = app.installation(InstallationId(INSTALLATION));
    world.gh.fail_next_n(
        "POST",
        "/repos/*/*/issues/*/comments",
        Failure::Status(401),
        2,
    );
    let err = gh
        .create_comment(&repo(), IssueNumber(ISSUE), "refused")
        .await
        .unwrap_err();
    assert_eq!(err.status().map(|s| s.as_u16()), Some(401), "{err}");
    assert!(!err.is_transient(), "{err}");
    assert!(err.to_string().contains("Bad credentials"), "{err}");
    assert_eq!(world.gh.tokens_issued(), 2, "the first and one replacement");
    assert_eq!(
        statuses(&world.gh, "POST", "/repos/*/*/issues/*/comments"),
        [Some(401), Some(401)]
    );
    assert!(world.gh.comments(OWNER, REPO, ISSUE).is_empty());
}

#[tokio::test]
async fn a_slow_read_is_sent_again_and_a_slow_write_is_not() {
    let world = World::start().await;
    let app = app_with_timeout(&world.gh, 1);
    let gh = app.installation(InstallationId(INSTALLATION));
    world.gh.fail_next(
        "GET",
        "/repos/*/*/issues/*",
        Failure::Delay(Duration::from_secs(3)),
    );
    let issue = gh.issue(&repo(), IssueNumber(ISSUE)).await.unwrap();
    assert_eq!(issue.number, IssueNumber(ISSUE));
    assert_eq!(
        world
            .gh
            .requests_matching("GET", "/repos/*/*/issues/*")
            .len(),
        2
    );

    // A fresh client for the write: the read's timed-out connection may be
    // closed by the double while pooled, and which request meets that close
    // is a race this test is not about.
    let app = app_with_timeout(&world.gh, 1);
    let gh = app.installation(InstallationId(INSTALLATION));
    world.gh.fail_next(
        "POST",
        "/repos/*/*/issues/*/comments",
        Failure::Delay(Duration::from_secs(3)),
    );
    let err = gh
        .create_comment(&repo(), IssueNumber(ISSUE), "slow")
        .await
        .unwrap_err();
    assert!(matches!(err, GithubError::Timeout { .. }), "{err}");
    assert!(err.is_transient(), "{err}");
    assert!(err.to_string().contains("within 1 s"), "{err}");
    assert_eq!(
        world
            .gh
            .requests_matching("POST", "/repos/*/*/issues/*/comments")
            .len(),
        1,
        "a write that may have landed is not sent twice"
    );
}

#[tokio::test]
async fn a_token_refused_by_git_is_replaced_once_and_the_fetch_sent_again() {
    let world = World::start().await;
    world.default_answer(Step::reply(good_answer()));
    let bot = world.start_bot().await;
    // The first fetch of the job waits at GitHub's door while the token
    // the bot holds stops being valid.
    let fetch = world
        .gh
        .hold_next("GET", &format!("/{OWNER}/{REPO}.git/info/refs"));
    bot.webhook("issues", "d-git-401", &labeled(ISSUE)).await;
    fetch.reached(Duration::from_secs(30)).await;
    assert_eq!(world.gh.tokens_issued(), 1);
    world.gh.expire_tokens();
    fetch.release();
    let jobs = settled(&bot, 1).await;
    assert_eq!(jobs[0]["state"], "succeeded", "{jobs:#?}\n{}", bot.log());
    assert_eq!(jobs[0]["attempts"], 1, "{jobs:#?}");
    assert_eq!(world.gh.tokens_issued(), 2, "one new token");
    let fetches = statuses(&world.gh, "GET", &format!("/{OWNER}/{REPO}.git/info/refs"));
    assert_eq!(fetches.first(), Some(&Some(401)), "{fetches:?}");
    assert_eq!(world.gh.pulls(OWNER, REPO).len(), 1);
}

#[tokio::test]
async fn a_rate_limit_longer_than_the_bot_waits_requeues_the_job_no_sooner_than_github_asks() {
    let world = World::start().await;
    world.default_answer(Step::reply(good_answer()));
    let reactions = "/repos/*/*/issues/*/reactions";
    // The harness lets the bot wait 5 s in a call; GitHub asks for an hour.
    world.gh.fail_next(
        "POST",
        reactions,
        Failure::SecondaryRateLimit {
            retry_after_secs: 3600,
        },
    );
    let bot = world.start_bot().await;
    bot.webhook("issues", "d-limited", &labeled(ISSUE)).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let job = loop {
        let jobs = bot.jobs();
        if let Some(job) = jobs.iter().find(|j| j["last_error"].is_string()) {
            break job.clone();
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{jobs:#?}\n{}",
            bot.log()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(job["state"], "queued", "requeued, not failed: {job:#}");
    let error = job["last_error"].as_str().unwrap();
    assert!(error.contains("wait 3600 s"), "{error}");
    let db = format!(
        "sqlite://{}?mode=ro",
        world.dir.path().join("gitkeeper.db").display()
    );
    let pool = sqlx::SqlitePool::connect(&db).await.unwrap();
    let run_after: i64 = sqlx::query_scalar("SELECT run_after FROM jobs")
        .fetch_one(&pool)
        .await
        .unwrap();
    let now_ms = chrono::Utc::now().timestamp_millis();
    assert!(
        run_after >= now_ms + 3_500_000,
        "the job runs again in {} s, before GitHub's hour is up",
        (run_after - now_ms) / 1000
    );
    // Sent once: the limit was not hammered.
    assert_eq!(statuses(&world.gh, "POST", reactions), [Some(403)]);
}
