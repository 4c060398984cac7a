//! A model server that hangs, drops the connection halfway through its
//! answer, answers 200 with something that is not JSON, or answers 200 with
//! no choice: the attempt fails with the reason in the report, the model is
//! not asked again behind the ladder's back, and the next tier publishes.

use std::time::Duration;

use gitkeeper_e2e::bot::BotProcess;
use gitkeeper_e2e::models::{ModelDouble, QWEN_7B, QWEN_14B, Step};
use gitkeeper_e2e::world::{ISSUE, OWNER, REPO, World, good_answer, labeled, settled};

/// Both local tiers on a llama.cpp-like server (OpenAI wire format) whose
/// first answer is `fault`, with a short timeout; every later answer fixes
/// the issue. Returns the pull request's body once the job is done.
async fn first_answer_is(fault: Step) -> (World, ModelDouble, String) {
    let world = World::start().await;
    let llama = ModelDouble::openai(&[QWEN_7B, QWEN_14B], None).await;
    llama.push(fault);
    llama.update_options(|o| o.default_step = Some(Step::reply(good_answer())));
    let mut options = world.options();
    options.config_toml = Some(format!(
        "[models.local-small]\nbackend = \"openai\"\nendpoint = \"{0}\"\nmodel = \"{QWEN_7B}\"\n\
         max_retries = 0\ntimeout_secs = 2\n\n\
         [models.local-large]\nbackend = \"openai\"\nendpoint = \"{0}\"\nmodel = \"{QWEN_14B}\"\n\
         max_retries = 0\ntimeout_secs = 2\n\n[runner]\ntiers = []\n\n\
         [[route.ladder]]\nname = \"local\"\ntiers = [\"local-small\", \"local-large\"]\n",
        llama.url()
    ));
    let bot = BotProcess::start(&options, world.dir.path()).await;
    assert_eq!(
        bot.webhook("issues", "d-model-fault", &labeled(ISSUE))
            .await
            .status(),
        202
    );
    let jobs = settled(&bot, 1).await;
    assert_eq!(jobs.len(), 1);
    assert_eq!(jobs[0]["state"], "succeeded", "{jobs:#?}\n{}", bot.log());
    assert_eq!(jobs[0]["attempts"], 1, "one run of the job: {jobs:#?}");
    let pulls = world.gh.pulls(OWNER, REPO);
    assert_eq!(pulls.len(), 1, "{pulls:#?}");
    let body = pulls[0].body.clone();
    (world, llama, body)
}

/// The report names the failed first attempt with `reason`, then the pass
/// one tier up (a server that failed is not asked the same again).
fn assert_reported(body: &str, reason: &str) {
    for part in [
        "| 1 | 1 | `local-small` | model_failed |",
        reason,
        "| 2 | 2 | `local-large` | passed |",
    ] {
        assert!(body.contains(part), "missing {part:?} in:\n{body}");
    }
}

#[tokio::test]
async fn a_model_server_that_hangs_times_out_and_the_next_attempt_publishes() {
    let (_world, llama, body) =
        first_answer_is(Step::reply(good_answer()).delay(Duration::from_secs(60))).await;
    assert_reported(&body, "did not answer within 2s");
    // Not resent: the server may still be working on the first request.
    assert_eq!(llama.completion_requests().len(), 2);
}

#[tokio::test]
async fn an_answer_cut_off_mid_body_fails_the_attempt_with_the_reason() {
    let (_world, llama, body) = first_answer_is(Step::reply(good_answer()).cut_off()).await;
    assert_reported(
        &body,
        "broke while reading the answer: error decoding response body",
    );
    assert_eq!(llama.completion_requests().len(), 2);
}

#[tokio::test]
async fn an_answer_that_is_not_json_fails_the_attempt_with_the_reason() {
    let (_world, llama, body) =
        first_answer_is(Step::malformed("<html><body>502 Bad Gateway</body></html>")).await;
    assert_reported(&body, "sent a malformed response");
    assert_eq!(llama.completion_requests().len(), 2);
}

#[tokio::test]
async fn an_answer_with_no_choice_fails_the_attempt_with_the_reason() {
    let empty = format!(
        "{{\"id\":\"chatcmpl-empty\",\"object\":\"chat.completion\",\"created\":1733200000,\"model\":\"{QWEN_7B}\",\"choices\":[],\"usage\":{{\"prompt_tokens\":900,\"completion_tokens\":0,\"total_tokens\":900}}}}"
    );
    let (_world, llama, body) = first_answer_is(Step::malformed(empty)).await;
    assert_reported(&body, "chat completion has no choices");
    assert_eq!(llama.completion_requests().len(), 2);
}
