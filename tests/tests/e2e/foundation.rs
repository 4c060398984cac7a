//! End-to-end: the real `gitkeeper-bot serve` against the GitHub double, with
//! SQLite and with PostgreSQL, driven by signed webhook payloads of the shapes
//! GitHub sends.

use std::time::Duration;

use gitkeeper_e2e::bot::{BotProcess, WEBHOOK_SECRET, fresh_postgres_url, sign, webhook_fixture};
use gitkeeper_e2e::github::{Failure, Permission, ReactionTarget};
use gitkeeper_e2e::models::Step;
use gitkeeper_e2e::world::{INSTALLATION, ISSUE, OWNER, REPO, World, good_answer, labeled};
use serde_json::{Value, json};

/// The world of every test here: a repository with a small TypeScript file,
/// issue #7 about it, and local models that answer with the fix.
async fn double() -> World {
    let world = World::start().await;
    world.default_answer(Step::reply(good_answer()));
    world
}

fn status_comments(world: &World, number: u64) -> Vec<String> {
    world.status_comments(number)
}

async fn labeled_issue_yields_one_job_and_one_acknowledgement(database_url: Option<String>) {
    let world = double().await;
    let gh = &world.gh;
    let dir = tempfile::tempdir().unwrap();
    let mut options = world.options();
    options.database_url = database_url;
    let bot = BotProcess::start(&options, dir.path()).await;

    let response = bot
        .webhook(
            "issues",
            "11111111-aaaa-4bbb-8ccc-000000000001",
            &labeled(ISSUE),
        )
        .await;
    assert_eq!(response.status(), 202);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["status"], "queued");

    let jobs = bot.wait_for_jobs(1, Duration::from_secs(20)).await;
    assert_eq!(jobs.len(), 1);
    assert_eq!(jobs[0]["state"], "succeeded", "{jobs:#?}\n{}", bot.log());
    assert_eq!(jobs[0]["intent"]["intent"], "generate");

    let comments = status_comments(&world, ISSUE);
    assert_eq!(comments.len(), 1, "{comments:#?}");
    assert!(comments[0].contains("✅ **Opened #"), "{}", comments[0]);
    assert_eq!(gh.pulls(OWNER, REPO).len(), 1);
    let reactions = gh.reactions(OWNER, REPO, ReactionTarget::Issue(ISSUE));
    assert_eq!(reactions.len(), 1);
    assert_eq!(reactions[0].content, "eyes");
    assert_eq!(reactions[0].user, gh.bot_login());
    // The App authenticated with a JWT for its token and used the token for the rest.
    let token_calls = gh.requests_matching("POST", "/app/installations/*/access_tokens");
    assert!(!token_calls.is_empty());
    assert!(
        token_calls
            .iter()
            .all(|r| r.header("authorization") == Some("Bearer"))
    );
    // The status comment is created once and then edited in place.
    let comment_calls = gh.requests_matching("POST", "/repos/*/*/issues/*/comments");
    assert_eq!(comment_calls.len(), 1);
    assert!(
        !gh.requests_matching("PATCH", "/repos/*/*/issues/comments/*")
            .is_empty()
    );
    assert_eq!(comment_calls[0].header("authorization"), Some("token"));
}

#[tokio::test]
async fn labeled_issue_yields_one_job_and_one_acknowledgement_on_sqlite() {
    labeled_issue_yields_one_job_and_one_acknowledgement(None).await;
}

#[tokio::test]
async fn labeled_issue_yields_one_job_and_one_acknowledgement_on_postgres() {
    labeled_issue_yields_one_job_and_one_acknowledgement(Some(fresh_postgres_url().await)).await;
}

#[tokio::test]
async fn a_sender_without_write_access_gets_one_polite_comment_and_no_work() {
    let world = double().await;
    let gh = &world.gh;
    gh.set_permission(OWNER, REPO, "mallory", Permission::Read);
    let dir = tempfile::tempdir().unwrap();
    let bot = BotProcess::start(&world.options(), dir.path()).await;
    let mut event = labeled(ISSUE);
    event["sender"]["login"] = json!("mallory");
    event["sender"]["id"] = json!(9_001);
    for (n, delivery) in ["d-mallory-1", "d-mallory-2"].into_iter().enumerate() {
        // A second labelling after the first job ended is a new delivery and
        // a new job (while it is queued or running, it would join it): still
        // one comment.
        event["label"]["id"] = json!(delivery.len());
        assert_eq!(bot.webhook("issues", delivery, &event).await.status(), 202);
        bot.wait_for_jobs(n + 1, Duration::from_secs(20)).await;
    }
    let jobs = bot.wait_for_jobs(2, Duration::from_secs(20)).await;
    assert!(jobs.iter().all(|j| j["state"] == "succeeded"), "{jobs:#?}");

    let comments = gh.comments(OWNER, REPO, ISSUE);
    assert_eq!(comments.len(), 1, "{comments:#?}");
    assert!(
        comments[0].body.contains("@mallory"),
        "{}",
        comments[0].body
    );
    assert!(comments[0].body.contains("**write**") && comments[0].body.contains("**read**"));
    assert!(
        status_comments(&world, ISSUE).is_empty(),
        "no work was acknowledged"
    );
    assert!(
        gh.reactions(OWNER, REPO, ReactionTarget::Issue(ISSUE))
            .is_empty()
    );
    let asked = gh.requests_matching("GET", "/repos/*/*/collaborators/mallory/permission");
    assert_eq!(asked.len(), 2);
}

#[tokio::test]
async fn bad_signature_is_refused_and_queues_nothing() {
    let world = double().await;
    let gh = &world.gh;
    let dir = tempfile::tempdir().unwrap();
    let bot = BotProcess::start(&world.options(), dir.path()).await;
    let body = serde_json::to_vec(&labeled(ISSUE)).unwrap();

    let wrong = sign("not-the-secret", &body);
    let r = bot
        .webhook_raw("issues", "d-bad-1", body.clone(), Some(&wrong))
        .await;
    assert_eq!(r.status(), 401);
    let r = bot
        .webhook_raw("issues", "d-bad-2", body.clone(), None)
        .await;
    assert_eq!(r.status(), 401);
    // A valid signature over other bytes does not pass either.
    let mut tampered = body.clone();
    tampered.extend_from_slice(b" ");
    let r = bot
        .webhook_raw(
            "issues",
            "d-bad-3",
            tampered,
            Some(&sign(WEBHOOK_SECRET, &body)),
        )
        .await;
    assert_eq!(r.status(), 401);

    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(bot.jobs().is_empty());
    assert!(gh.requests().is_empty(), "{:#?}", gh.requests());
}

#[tokio::test]
async fn redelivered_webhook_creates_no_second_job() {
    let world = double().await;
    let gh = &world.gh;
    let dir = tempfile::tempdir().unwrap();
    let bot = BotProcess::start(&world.options(), dir.path()).await;
    let first = bot.webhook("issues", "d-redeliver", &labeled(ISSUE)).await;
    assert_eq!(first.status(), 202);
    let again = bot.webhook("issues", "d-redeliver", &labeled(ISSUE)).await;
    assert_eq!(again.status(), 202);
    let body: Value = again.json().await.unwrap();
    assert_eq!(body["status"], "duplicate");
    let jobs = bot.wait_for_jobs(1, Duration::from_secs(20)).await;
    assert_eq!(jobs.len(), 1);
    assert_eq!(status_comments(&world, ISSUE).len(), 1);
    assert_eq!(gh.pulls(OWNER, REPO).len(), 1);
}

#[tokio::test]
async fn killed_bot_finishes_the_job_exactly_once_after_restart() {
    let world = double().await;
    let gh = &world.gh;
    let dir = tempfile::tempdir().unwrap();
    let options = world.options();
    // The status comment hangs long enough for the bot to die in the middle of the job.
    gh.fail_next(
        "POST",
        "/repos/*/*/issues/*/comments",
        Failure::Delay(Duration::from_secs(2)),
    );
    let mut bot = BotProcess::start(&options, dir.path()).await;
    assert_eq!(
        bot.webhook("issues", "d-crash", &labeled(ISSUE))
            .await
            .status(),
        202
    );

    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while gh
        .requests_matching("POST", "/repos/*/*/issues/*/comments")
        .is_empty()
    {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the bot never tried to comment:\n{}",
            bot.log()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    bot.kill9();
    let running = bot.jobs();
    assert_eq!(running.len(), 1);
    assert_eq!(running[0]["state"], "running", "{running:#?}");
    // Let the hung request end on the double's side before the restart.
    tokio::time::sleep(Duration::from_secs(3)).await;

    let bot = BotProcess::start(&options, dir.path()).await;
    let jobs = bot.wait_for_jobs(1, Duration::from_secs(30)).await;
    assert_eq!(jobs.len(), 1);
    assert_eq!(jobs[0]["state"], "succeeded", "{}", bot.log());
    assert_eq!(jobs[0]["attempts"], 2, "{jobs:#?}");
    assert_eq!(
        status_comments(&world, ISSUE).len(),
        1,
        "{:#?}",
        gh.comments(OWNER, REPO, ISSUE)
    );
    assert_eq!(
        gh.reactions(OWNER, REPO, ReactionTarget::Issue(ISSUE))
            .len(),
        1
    );
    // Run twice, published once: one branch, one pull request.
    assert_eq!(gh.pulls(OWNER, REPO).len(), 1, "{}", bot.log());
}

#[tokio::test]
async fn comments_by_bots_are_ignored() {
    let world = double().await;
    let gh = &world.gh;
    let dir = tempfile::tempdir().unwrap();
    let bot = BotProcess::start(&world.options(), dir.path()).await;
    let mut payload = webhook_fixture("issue_comment.created.json", INSTALLATION);
    payload["comment"]["body"] = json!("/gitkeeper retry");
    payload["comment"]["user"]["login"] = json!("gitkeeper[bot]");
    payload["comment"]["user"]["type"] = json!("Bot");
    payload["sender"] = payload["comment"]["user"].clone();
    let r = bot.webhook("issue_comment", "d-bot", &payload).await;
    assert_eq!(r.status(), 202);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["status"], "ignored");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(bot.jobs().is_empty());
    assert!(gh.requests().is_empty());
}

#[tokio::test]
async fn secondary_rate_limit_is_waited_out_without_duplicating_the_comment() {
    let world = double().await;
    let gh = &world.gh;
    gh.fail_next(
        "POST",
        "/repos/*/*/issues/*/comments",
        Failure::SecondaryRateLimit {
            retry_after_secs: 1,
        },
    );
    let dir = tempfile::tempdir().unwrap();
    let bot = BotProcess::start(&world.options(), dir.path()).await;
    assert_eq!(
        bot.webhook("issues", "d-rate", &labeled(ISSUE))
            .await
            .status(),
        202
    );
    let jobs = bot.wait_for_jobs(1, Duration::from_secs(20)).await;
    assert_eq!(jobs[0]["state"], "succeeded", "{}", bot.log());
    let posts = gh.requests_matching("POST", "/repos/*/*/issues/*/comments");
    assert_eq!(
        posts.iter().map(|r| r.status).collect::<Vec<_>>(),
        [Some(403), Some(201)]
    );
    assert_eq!(status_comments(&world, ISSUE).len(), 1);
}

#[tokio::test]
async fn server_errors_on_a_post_are_not_retried_blindly_and_the_job_retries_later() {
    let world = double().await;
    let gh = &world.gh;
    gh.fail_next(
        "POST",
        "/repos/*/*/issues/*/reactions",
        Failure::Status(502),
    );
    let dir = tempfile::tempdir().unwrap();
    let bot = BotProcess::start(&world.options(), dir.path()).await;
    assert_eq!(
        bot.webhook("issues", "d-502", &labeled(ISSUE))
            .await
            .status(),
        202
    );
    // The job is requeued with a delay (5 s × 2^attempt); it then succeeds.
    let jobs = bot.wait_for_jobs(1, Duration::from_secs(40)).await;
    assert_eq!(jobs[0]["state"], "succeeded", "{}", bot.log());
    assert_eq!(jobs[0]["attempts"], 2);
    let reacts = gh.requests_matching("POST", "/repos/*/*/issues/*/reactions");
    assert_eq!(
        reacts.iter().map(|r| r.status).collect::<Vec<_>>(),
        [Some(502), Some(201)]
    );
}

#[tokio::test]
async fn malformed_oversized_and_unknown_deliveries_get_the_right_status() {
    let world = double().await;
    let dir = tempfile::tempdir().unwrap();
    let bot = BotProcess::start(&world.options(), dir.path()).await;

    let junk = b"{\"action\": \"labeled\"".to_vec();
    let r = bot
        .webhook_raw(
            "issues",
            "d-junk",
            junk.clone(),
            Some(&sign(WEBHOOK_SECRET, &junk)),
        )
        .await;
    assert_eq!(r.status(), 400);

    let r = bot
        .webhook("star", "d-star", &json!({"action": "created"}))
        .await;
    assert_eq!(r.status(), 202);

    let r = bot
        .webhook(
            "ping",
            "d-ping",
            &webhook_fixture("ping.json", INSTALLATION),
        )
        .await;
    assert_eq!(r.status(), 200);

    // GitHub never sends more than 25 MiB; a larger declared body is refused
    // before it is read.
    assert_eq!(
        bot.post_declaring_length("issues", "d-huge", 26 * 1024 * 1024)
            .await,
        413
    );

    let installed = webhook_fixture("installation.created.json", INSTALLATION);
    assert_eq!(
        bot.webhook("installation", "d-install", &installed)
            .await
            .status(),
        202
    );
    assert!(bot.jobs().is_empty());

    let metrics = bot.get("/metrics").await.text().await.unwrap();
    assert!(
        metrics.contains(
            "gitkeeper_webhooks_received_total{event=\"issues\",outcome=\"malformed\"} 1"
        ),
        "{metrics}"
    );
    assert!(
        metrics.contains("gitkeeper_webhooks_received_total{event=\"ping\",outcome=\"pong\"} 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("gitkeeper_http_request_duration_seconds"),
        "{metrics}"
    );
}

#[tokio::test]
async fn readiness_names_what_is_missing_and_sigterm_stops_cleanly() {
    let world = double().await;
    let dir = tempfile::tempdir().unwrap();
    let mut bot = BotProcess::start(&world.options(), dir.path()).await;
    let ready = bot.get("/readyz").await;
    assert_eq!(ready.status(), 200);
    assert!(bot.terminate().await, "{}", bot.log());

    // A bot whose key file is missing still serves, and says why it is not ready.
    let dir = tempfile::tempdir().unwrap();
    let mut options_without_app = world.options();
    options_without_app.extra_env = vec![(
        "GITKEEPER_GITHUB__PRIVATE_KEY_PATH".into(),
        dir.path().join("missing.pem").display().to_string(),
    )];
    let bot = BotProcess::start(&options_without_app, dir.path()).await;
    let r = bot.get("/readyz").await;
    assert_eq!(r.status(), 503);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["checks"]["database"], "ok");
    assert!(
        body["checks"]["github_app"]
            .as_str()
            .unwrap()
            .contains("missing.pem"),
        "{body}"
    );
}
