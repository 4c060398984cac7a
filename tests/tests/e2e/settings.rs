//! End-to-end: settings do on GitHub what the README says. The
//! `gitkeeper:local` / `gitkeeper:cloud` labels on an issue route its work
//! (from the webhook, and for a `retry` as the labels are when the job
//! runs); `/gitkeeper explain` goes through the cost guard like every other
//! model call, and what it cost counts toward the repository's day.

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

/// A world whose first job opened a pull request (by the local model), and
/// a bot that explains with `cloud-deepseek` under `route` settings.
async fn explained_with_deepseek(
    route: &str,
    answer: Step,
) -> (
    World,
    gitkeeper_e2e::models::ModelDouble,
    gitkeeper_e2e::bot::BotProcess,
    u64,
) {
    let world = World::start().await;
    world.default_answer(Step::reply(good_answer()));
    let (deepseek, options) = with_deepseek(
        &world,
        answer,
        &format!("[route]\nfallback_model = \"cloud-deepseek\"\n{route}"),
    )
    .await;
    let bot = gitkeeper_e2e::bot::BotProcess::start(&options, world.dir.path()).await;
    bot.webhook("issues", "d-first", &labeled(ISSUE)).await;
    let jobs = settled(&bot, 1).await;
    assert_eq!(jobs[0]["state"], "succeeded", "{jobs:#?}\n{}", bot.log());
    let number = world.gh.pulls(OWNER, REPO)[0].number;
    (world, deepseek, bot, number)
}

/// Comment `/gitkeeper explain` on pull request `number` (delivery
/// `delivery`) and wait for `jobs` jobs; the status comments on it.
async fn explain(
    world: &World,
    bot: &gitkeeper_e2e::bot::BotProcess,
    number: u64,
    delivery: &str,
    jobs: usize,
) -> Vec<String> {
    let id = world
        .gh
        .add_comment(OWNER, REPO, number, "Codertocat", "/gitkeeper explain");
    bot.webhook(
        "issue_comment",
        delivery,
        &comment(number, id, "/gitkeeper explain", true),
    )
    .await;
    settled(bot, jobs).await;
    world.status_comments(number)
}

#[tokio::test]
async fn an_explanation_that_could_pass_the_task_budget_is_never_sent() {
    let (world, deepseek, bot, number) = explained_with_deepseek(
        "max_usd_per_task = 0.0001\n",
        Step::reply("It adds the punctuation."),
    )
    .await;
    let status = explain(&world, &bot, number, "d-explain", 2).await;
    assert!(
        deepseek.completion_requests().is_empty(),
        "the paid model was asked: {:#?}",
        deepseek.completion_requests()
    );
    let text = status.last().unwrap();
    for part in [
        "💸 **The explanation was not asked for: it could pass the budget.**",
        "`cloud-deepseek` was not called: the call could cost up to $",
        "[route] max_usd_per_task",
        "raise `[route] max_usd_per_task` or `[route] max_usd_per_repo_per_day` in gitkeeper.toml",
    ] {
        assert!(text.contains(part), "missing {part:?} in:\n{text}");
    }
}

#[tokio::test]
async fn what_an_explanation_cost_counts_toward_the_daily_budget() {
    // The first explanation's worst case (about $0.002) fits the $0.05 day;
    // it reports 200k prompt tokens ($0.054), so the second cannot fit.
    let (world, deepseek, bot, number) = explained_with_deepseek(
        "max_usd_per_repo_per_day = 0.05\n",
        Step::reply("It adds the punctuation.").usage(200_000, 10),
    )
    .await;
    let status = explain(&world, &bot, number, "d-explain-1", 2).await;
    assert_eq!(deepseek.completion_requests().len(), 1);
    assert!(
        status.last().unwrap().contains("It adds the punctuation."),
        "{status:#?}\n{}",
        bot.log()
    );

    let status = explain(&world, &bot, number, "d-explain-2", 3).await;
    assert_eq!(
        deepseek.completion_requests().len(),
        1,
        "the second explanation was sent over the day's budget"
    );
    let text = status.last().unwrap();
    assert!(text.contains("[route] max_usd_per_repo_per_day"), "{text}");
}
