//! End-to-end: settings do on GitHub what the README says. The
//! `gitkeeper:local` / `gitkeeper:cloud` labels on an issue route its work
//! (from the webhook, and for a `retry` as the labels are when the job
//! runs).

use gitkeeper_e2e::models::Step;
use gitkeeper_e2e::world::{
    ISSUE, OWNER, REPO, World, breaking_answer, comment, good_answer, labeled, labeled_with,
    settled, with_deepseek,
};

#[tokio::test]
async fn a_local_label_on_github_routes_to_local_tiers_only() {
    let world = World::start().await;
    // The local model's answer breaks the check: the ladder would climb to
    // the paid tier, but the label keeps the work local.
    world.default_answer(Step::reply(breaking_answer()));
    let (deepseek, options) = with_deepseek(&world, Step::reply(good_answer()), "").await;
    let bot = gitkeeper_e2e::bot::BotProcess::start(&options, world.dir.path()).await;
    bot.webhook(
        "issues",
        "d-local",
        &labeled_with(ISSUE, &["gitkeeper:local"]),
    )
    .await;
    let jobs = settled(&bot, 1).await;
    assert_eq!(jobs[0]["state"], "failed", "{jobs:#?}\n{}", bot.log());
    assert!(
        deepseek.completion_requests().is_empty(),
        "the cloud model was asked: {:#?}",
        deepseek.completion_requests()
    );
    assert!(!world.ollama.completion_requests().is_empty());
    let status = world.status_comments(ISSUE);
    assert!(
        status[0].contains("label `gitkeeper:local` → local tiers only"),
        "{}",
        status[0]
    );
}

#[tokio::test]
async fn a_cloud_label_on_github_skips_the_local_tiers() {
    let world = World::start().await;
    world.default_answer(Step::reply(good_answer()));
    let (deepseek, options) = with_deepseek(&world, Step::reply(good_answer()), "").await;
    let bot = gitkeeper_e2e::bot::BotProcess::start(&options, world.dir.path()).await;
    bot.webhook(
        "issues",
        "d-cloud",
        &labeled_with(ISSUE, &["gitkeeper:cloud"]),
    )
    .await;
    let jobs = settled(&bot, 1).await;
    assert_eq!(jobs[0]["state"], "succeeded", "{jobs:#?}\n{}", bot.log());
    assert!(
        world.ollama.completion_requests().is_empty(),
        "a local model was asked: {:#?}",
        world.ollama.completion_requests()
    );
    assert_eq!(deepseek.completion_requests().len(), 1);
    let body = &world.gh.pulls(OWNER, REPO)[0].body;
    for part in [
        "label `gitkeeper:cloud` → paid (cloud) tiers only",
        "- **Succeeded with**: `cloud-deepseek`",
    ] {
        assert!(body.contains(part), "missing {part:?} in:\n{body}");
    }
}

#[tokio::test]
async fn retry_routes_by_the_issues_labels_as_they_are_when_the_job_runs() {
    let world = World::start().await;
    world.default_answer(Step::reply(good_answer()));
    let (deepseek, options) = with_deepseek(&world, Step::reply(good_answer()), "").await;
    let bot = gitkeeper_e2e::bot::BotProcess::start(&options, world.dir.path()).await;
    bot.webhook("issues", "d-first", &labeled(ISSUE)).await;
    settled(&bot, 1).await;
    assert_eq!(world.ollama.completion_requests().len(), 1);
    assert!(deepseek.completion_requests().is_empty());

    // A maintainer labels the issue for the cloud, then asks for a retry:
    // the comment's payload says nothing about it, GitHub does.
    world
        .gh
        .add_labels(OWNER, REPO, ISSUE, &["gitkeeper", "gitkeeper:cloud"]);
    let id = world
        .gh
        .add_comment(OWNER, REPO, ISSUE, "Codertocat", "/gitkeeper retry");
    bot.webhook(
        "issue_comment",
        "d-retry",
        &comment(ISSUE, id, "/gitkeeper retry", false),
    )
    .await;
    let jobs = settled(&bot, 2).await;
    assert!(
        jobs.iter().all(|j| j["state"] == "succeeded"),
        "{jobs:#?}\n{}",
        bot.log()
    );
    assert_eq!(
        world.ollama.completion_requests().len(),
        1,
        "the retry asked a local model"
    );
    assert_eq!(deepseek.completion_requests().len(), 1);
}
