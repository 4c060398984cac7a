//! End-to-end: every request the real `gitkeeper-bot serve` sends to the
//! GitHub double, through a pull request's whole life (opened from a labelled
//! issue, revised, explained, retried, revised from a line comment and from a
//! changes-requested review), a question and its answer, a failure at the end
//! of the ladder and `/gitkeeper cancel`, is a documented operation of
//! GitHub's REST API description, with documented query parameters and every
//! required body field (`gitkeeper_e2e::openapi`).

use std::time::Duration;

use gitkeeper_e2e::bot::BotProcess;
use gitkeeper_e2e::models::Step;
use gitkeeper_e2e::openapi;
use gitkeeper_e2e::world::{
    GREET_FIXED, ISSUE, OWNER, REPO, World, breaking_answer, comment, good_answer, labeled, review,
    review_comment, settled,
};
use serde_json::json;

/// Every request the double has received so far conforms, and more than
/// `more_than` of them were checked (so the check cannot pass on nothing).
/// Returns how many were checked.
fn assert_conforms(world: &World, flow: &str, more_than: usize) -> usize {
    let requests = world.gh.requests();
    let report = openapi::report(&requests);
    assert!(
        report.problems.is_empty(),
        "after {flow}: {} of {} checked requests break GitHub's REST API description:\n{}",
        report.problems.len(),
        report.checked,
        report.problems.join("\n")
    );
    assert!(
        report.checked > more_than,
        "after {flow}: only {} requests checked ({} skipped), expected more than {more_than}: {:#?}",
        report.checked,
        report.skipped,
        report.operations
    );
    println!(
        "after {flow}: {} requests checked, {} skipped",
        report.checked, report.skipped
    );
    report.checked
}

/// All `n` jobs so far are in `state`.
async fn all_in(bot: &BotProcess, n: usize, state: &str) {
    let jobs = settled(bot, n).await;
    assert_eq!(jobs.len(), n, "{jobs:#?}");
    assert!(
        jobs.iter().all(|j| j["state"] == state),
        "expected every job {state}: {jobs:#?}\n{}",
        bot.log()
    );
}

/// The model's whole-file answer with `doc` as a comment above `greet`.
fn documented(doc: &str) -> Step {
    Step::reply(format!(
        "FILE: src/greet.ts\n```ts\n/** {doc} */\n{GREET_FIXED}```\n"
    ))
}

/// `/gitkeeper …` said by Codertocat on `number`, delivered as a webhook.
async fn say(world: &World, bot: &BotProcess, number: u64, on_pull: bool, text: &str) {
    let id = world
        .gh
        .add_comment(OWNER, REPO, number, "Codertocat", text);
    let delivery = format!("d-{id}");
    let status = bot
        .webhook(
            "issue_comment",
            &delivery,
            &comment(number, id, text, on_pull),
        )
        .await
        .status();
    assert_eq!(status, 202, "{text}");
}

/// Codertocat's comment on `src/greet.ts` line `line` of pull request
/// `number`, in review `review` (a new one when `None`): (comment id, review id).
fn comment_on_line(
    world: &World,
    number: u64,
    review: Option<u64>,
    line: u64,
    text: &str,
) -> (u64, u64) {
    world.gh.add_review_comment(
        OWNER,
        REPO,
        number,
        review,
        "Codertocat",
        "src/greet.ts",
        Some(line),
        text,
    )
}

#[tokio::test]
async fn every_request_of_a_pull_requests_life_is_documented() {
    let world = World::start().await;
    world.default_answer(Step::reply(good_answer()));
    let bot = world.start_bot().await;

    bot.webhook("issues", "d-label", &labeled(ISSUE)).await;
    all_in(&bot, 1, "succeeded").await;
    let opened = assert_conforms(&world, "a labelled issue became a pull request", 20);
    let number = world.gh.pulls(OWNER, REPO)[0].number;

    world.ollama.push(documented("Greets someone by name."));
    say(
        &world,
        &bot,
        number,
        true,
        "/gitkeeper revise add a doc comment to greet",
    )
    .await;
    all_in(&bot, 2, "succeeded").await;
    let revised = assert_conforms(&world, "/gitkeeper revise", opened);

    world
        .ollama
        .push(Step::reply("It adds the comma and the exclamation mark."));
    say(&world, &bot, number, true, "/gitkeeper explain").await;
    all_in(&bot, 3, "succeeded").await;
    let explained = assert_conforms(&world, "/gitkeeper explain", revised);

    say(&world, &bot, number, true, "/gitkeeper retry").await;
    all_in(&bot, 4, "succeeded").await;
    let retried = assert_conforms(&world, "/gitkeeper retry", explained);

    // A line comment: revised, and answered in its thread.
    world.ollama.push(documented("Says hello to someone."));
    let text = "Document this function.";
    let (line_comment, _) = comment_on_line(&world, number, None, 1, text);
    let event = review_comment(number, line_comment, 1, text);
    bot.webhook("pull_request_review_comment", "d-line", &event)
        .await;
    all_in(&bot, 5, "succeeded").await;
    let answered = world
        .gh
        .review_comments(OWNER, REPO, number)
        .iter()
        .any(|c| c.in_reply_to == Some(line_comment));
    assert!(answered, "the line comment was answered in its thread");
    let lined = assert_conforms(&world, "a line review comment", retried);

    // A changes-requested review with two line comments: one revision.
    world.ollama.push(documented("Greets a person by name."));
    let (_, id) = comment_on_line(&world, number, None, 1, "Add a doc comment.");
    comment_on_line(&world, number, Some(id), 2, "Keep the exclamation mark.");
    let event = review(number, id, "changes_requested", "Two small things.");
    bot.webhook("pull_request_review", "d-review", &event).await;
    all_in(&bot, 6, "succeeded").await;
    let total = assert_conforms(&world, "a changes-requested review", lined);

    let report = openapi::report(&world.gh.requests());
    println!(
        "{total} requests checked, {} skipped, operations: {:?}",
        report.skipped, report.operations
    );
    for id in [
        "apps/create-installation-access-token",
        "issues/get",
        "issues/create-comment",
        "issues/update-comment",
        "git/create-blob",
        "git/create-tree",
        "git/create-commit",
        "git/get-ref",
        "git/create-ref",
        "git/update-ref",
        "pulls/create",
        "pulls/update",
        "pulls/request-reviewers",
        "pulls/create-reply-for-review-comment",
        "pulls/list-comments-for-review",
        "checks/create",
        "checks/update",
        "reactions/create-for-issue-comment",
        "reactions/create-for-pull-request-review-comment",
    ] {
        assert!(
            report.operations.contains(id),
            "{id} was never called: {:?}",
            report.operations
        );
    }
}

#[tokio::test]
async fn a_question_and_its_answer_send_only_documented_requests() {
    let world = World::start().await;
    world
        .ollama
        .push(Step::clarification("Should it say Hello or Hi?"));
    world.default_answer(Step::reply(good_answer()));
    let bot = world.start_bot().await;
    bot.webhook("issues", "d-ask", &labeled(ISSUE)).await;
    all_in(&bot, 1, "waiting").await;
    let asked = assert_conforms(&world, "a clarification question", 10);

    let id = world
        .gh
        .add_comment(OWNER, REPO, ISSUE, "Codertocat", "Hello, with a comma.");
    let mut answer = comment(ISSUE, id, "Hello, with a comma.", false);
    answer["issue"]["labels"] = json!([{"name": "gitkeeper:clarification-needed"}]);
    bot.webhook("issue_comment", "d-answer", &answer).await;
    let jobs = settled(&bot, 2).await;
    assert!(
        jobs.iter().any(|j| j["state"] == "succeeded"),
        "the answer resumed the work: {jobs:#?}\n{}",
        bot.log()
    );
    assert_eq!(world.gh.pulls(OWNER, REPO).len(), 1);
    assert_conforms(&world, "the answer", asked + 15);
}

#[tokio::test]
async fn a_failure_at_the_end_of_the_ladder_sends_only_documented_requests() {
    let world = World::start().await;
    world.default_answer(Step::reply(breaking_answer()));
    let bot = world.start_bot().await;
    bot.webhook("issues", "d-fail", &labeled(ISSUE)).await;
    all_in(&bot, 1, "failed").await;
    assert_eq!(
        world.gh.labels(OWNER, REPO, ISSUE),
        ["gitkeeper:needs-human"]
    );
    assert_conforms(&world, "every tier failed", 10);
}

#[tokio::test]
async fn cancel_sends_only_documented_requests() {
    let world = World::start().await;
    world
        .ollama
        .push(Step::reply(good_answer()).delay(Duration::from_secs(25)));
    let bot = world.start_bot().await;
    bot.webhook("issues", "d-slow", &labeled(ISSUE)).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while !world.ollama.requests().iter().any(|r| r.is_completion()) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the model was never asked:\n{}",
            bot.log()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    say(&world, &bot, ISSUE, false, "/gitkeeper cancel").await;
    let jobs = settled(&bot, 2).await;
    assert!(
        jobs.iter().any(|j| j["state"] == "cancelled"),
        "{jobs:#?}\n{}",
        bot.log()
    );
    assert!(world.gh.pulls(OWNER, REPO).is_empty());
    assert_conforms(&world, "/gitkeeper cancel", 10);
}
