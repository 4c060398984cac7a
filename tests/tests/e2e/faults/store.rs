//! The database unreachable for a while (PostgreSQL behind a proxy the test
//! cuts): webhooks are answered 503 so GitHub delivers them again, workers
//! wait instead of working, nothing half-written is left behind, and once
//! the database is back the redelivered webhook runs its job exactly once.

use std::time::Duration;

use gitkeeper_e2e::bot::{BotProcess, fresh_postgres_url};
use gitkeeper_e2e::models::Step;
use gitkeeper_e2e::net::CuttableProxy;
use gitkeeper_e2e::world::{ISSUE, OWNER, REPO, World, good_answer, labeled, settled};
use serde_json::Value;

// Multi-threaded: the proxy keeps forwarding while `bot.jobs()` blocks a thread.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_the_database_gone_webhooks_get_503_and_the_redelivery_runs_once() {
    let world = World::start().await;
    world.default_answer(Step::reply(good_answer()));
    let (proxy, database_url) =
        CuttableProxy::in_front_of_postgres(&fresh_postgres_url().await).await;
    let mut options = world.options();
    options.database_url = Some(database_url);
    let bot = BotProcess::start(&options, world.dir.path()).await;

    proxy.cut();
    let r = bot.webhook("issues", "d-outage", &labeled(ISSUE)).await;
    assert_eq!(r.status(), 503, "{}", bot.log());
    let body: Value = r.json().await.unwrap();
    assert!(
        body["error"]
            .as_str()
            .unwrap_or_default()
            .contains("redeliver"),
        "{body}"
    );
    let ready = bot.get("/readyz").await;
    assert_eq!(ready.status(), 503);
    // The workers cannot claim and say so; nothing reaches GitHub.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while !bot.log().contains("cannot claim jobs") {
        assert!(tokio::time::Instant::now() < deadline, "{}", bot.log());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(world.gh.requests().is_empty(), "{:#?}", world.gh.requests());

    proxy.restore();
    // GitHub delivers again: the first try left no trace, so it is new work.
    let r = bot.webhook("issues", "d-outage", &labeled(ISSUE)).await;
    assert_eq!(r.status(), 202, "{}", bot.log());
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["status"], "queued", "{body}");
    let jobs = settled(&bot, 1).await;
    assert_eq!(jobs.len(), 1, "{jobs:#?}");
    assert_eq!(jobs[0]["state"], "succeeded", "{jobs:#?}\n{}", bot.log());
    assert_eq!(jobs[0]["attempts"], 1, "{jobs:#?}");
    assert_eq!(world.status_comments(ISSUE).len(), 1);
    assert_eq!(world.gh.pulls(OWNER, REPO).len(), 1);
}
