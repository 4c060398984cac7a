//! The whole loop with a REAL model: Qwen2.5-Coder served by llama.cpp
//! (`tests/model/setup.sh --serve`, which `.ci/run` starts), once called
//! directly through the OpenAI-compatible backend and once through
//! `gitkeeper-runner`. A recording relay sits in front of the server, so the
//! tests compare what the bot recorded with what the server really said.
//!
//! These assert mechanics that hold for any model (the request reached the
//! server, the real answer was parsed or its failure reported with the
//! model's text, the recorded usage is the server's, validation ran, the job
//! ended with a pull request or a needs-human report), never one model's
//! wording. A small model on 2 cores takes tens of seconds per call: keep
//! these few. They run one at a time (`.config/nextest.toml`, group
//! `real-model`): the server answers one request at a time anyway.

use std::time::Duration;

use gitkeeper_bot::ids::JobId;
use gitkeeper_bot::queue::GenerationState;
use gitkeeper_bot::trail::{Attempt, AttemptOutcome};
use gitkeeper_e2e::bot::{BotProcess, fresh_postgres_url};
use gitkeeper_e2e::models::relay::{Exchange, RecordingRelay, real_model_id, real_model_url};
use gitkeeper_e2e::runner::{RunnerOptions, RunnerProcess};
use gitkeeper_e2e::world::{ISSUE, OWNER, REPO, World, labeled};
use gitkeeper_runner_protocol::RequestId;
use serde_json::Value;

/// Long enough for a few calls of a 1.5B model on 2 busy cores.
const PATIENCE: Duration = Duration::from_secs(900);

/// One tier on the real model, one attempt, whole files (what small models
/// follow best), temperature 0 and a fixed seed; a small package so a call
/// costs seconds, not minutes. A failed attempt opens a draft for a human.
fn config(tier_toml: &str) -> String {
    format!(
        "{tier_toml}\n\
         [context]\nmax_tokens = 1200\n\n\
         [route]\nchecker_min_complexity = 11\n\n\
         [[route.ladder]]\nname = \"real\"\ntiers = [{{ model = \"local-small\", attempts = 1 }}]\nvalidation = \"quick\"\n\n\
         [publish]\nopen_draft_on_failure = true\n"
    )
}

fn model_toml(endpoint: &str, model: &str, runner: bool) -> String {
    format!(
        "[models.local-small]\nbackend = \"openai\"\nendpoint = \"{endpoint}\"\nmodel = \"{model}\"\n\
         context_window = 8192\nmax_tokens = 384\ntemperature = 0.0\nseed = 42\n\
         timeout_secs = 800\nmax_retries = 0\nedit_format = \"whole_file\"\n\n\
         [runner]\ntiers = [{}]\nwait_for_runner = {}\n",
        if runner { "\"local-small\"" } else { "" },
        if runner { 120 } else { 0 },
    )
}

/// The job's stored attempts, read from the bot's database.
async fn attempts(database_url: &str, job: i64) -> Vec<Attempt> {
    let store = gitkeeper_bot::queue::open(database_url, Some(1))
        .await
        .expect("open the bot's store");
    store.attempts(JobId(job)).await.expect("read attempts")
}

/// What every real-model run must show, whatever the model wrote.
async fn assert_mechanics(world: &World, bot: &BotProcess, relay: &RecordingRelay, db: &str) {
    let jobs = bot.wait_for_jobs(1, PATIENCE).await;
    let job = &jobs[0];
    assert!(
        matches!(
            job["state"].as_str(),
            Some("succeeded" | "failed" | "waiting")
        ),
        "{job:#?}\n{}",
        bot.log()
    );

    // The request reached the real server, and the server answered.
    let calls = relay.completions();
    assert_eq!(calls.len(), 1, "one attempt, one call:\n{}", bot.log());
    let call: &Exchange = &calls[0];
    assert_eq!(call.status, 200, "{}", call.response);
    let sent = call.request.json().expect("the bot sent JSON");
    assert_eq!(sent["temperature"], 0.0);
    assert_eq!(sent["seed"], 42);
    let prompt = call.request.messages();
    assert!(
        prompt.iter().any(|(_, text)| text.contains("src/greet.ts")),
        "the task and its file are in the prompt: {prompt:#?}"
    );
    let answer: Value = call.json().expect("the server answered JSON");
    let text = answer["choices"][0]["message"]["content"]
        .as_str()
        .expect("the answer has content")
        .to_string();

    // The usage the bot recorded is the server's, not an estimate.
    let id = job["id"].as_i64().expect("job id");
    let stored = attempts(db, id).await;
    let worker: Vec<&Attempt> = stored.iter().filter(|a| a.model == "local-small").collect();
    assert_eq!(worker.len(), 1, "{stored:#?}");
    let attempt = worker[0];
    assert!(!attempt.usage_estimated, "{attempt:#?}");
    assert_eq!(
        u64::from(attempt.prompt_tokens),
        answer["usage"]["prompt_tokens"].as_u64().unwrap(),
        "{attempt:#?}"
    );
    assert_eq!(
        u64::from(attempt.completion_tokens),
        answer["usage"]["completion_tokens"].as_u64().unwrap(),
        "{attempt:#?}"
    );

    // The answer was parsed (and, if it applied, validated), or its failure
    // is reported to the maintainer with what the model wrote.
    let pulls = world.gh.pulls(OWNER, REPO);
    match attempt.outcome {
        AttemptOutcome::Passed => {
            assert_eq!(job["state"], "succeeded", "{job:#?}");
            assert_eq!(pulls.len(), 1, "{pulls:#?}");
            assert!(!pulls[0].draft);
            let checks = world.gh.check_runs(OWNER, REPO);
            // The world repository's one check (a grep) cannot exercise the
            // change: validation passed but proved nothing.
            assert_eq!(checks[0].conclusion.as_deref(), Some("neutral"));
            assert!(
                pulls[0].body.contains("greet is still exported"),
                "validation ran: {}",
                pulls[0].body
            );
        }
        AttemptOutcome::ValidationFailed => {
            // The closest attempt, as a draft for a human, with the failed check.
            assert_eq!(pulls.len(), 1, "{pulls:#?}\n{}", bot.log());
            assert!(pulls[0].draft);
            let labels = world.gh.labels(OWNER, REPO, pulls[0].number);
            assert!(
                labels.iter().any(|l| l == "gitkeeper:needs-human"),
                "{labels:?}"
            );
            assert!(pulls[0].body.contains("greet is still exported"));
        }
        AttemptOutcome::ParseFailed | AttemptOutcome::ApplyFailed | AttemptOutcome::Truncated => {
            assert_eq!(job["state"], "failed", "{job:#?}");
            assert!(pulls.is_empty(), "{pulls:#?}");
            assert_shows_models_text(world, &text, "CLARIFICATION_NEEDED:");
        }
        AttemptOutcome::Clarification => {
            // The model asked: the job waits for a maintainer, and the issue
            // carries the model's own question.
            assert_eq!(job["state"], "waiting", "{job:#?}");
            assert!(pulls.is_empty(), "{pulls:#?}");
            assert_shows_models_text(world, &text, "CLARIFICATION_NEEDED:");
        }
        other => panic!("unexpected outcome {other:?}: {attempt:#?}\n{}", bot.log()),
    }
    println!(
        "real model: outcome {} in {} ms, {} prompt + {} answer tokens",
        attempt.outcome, attempt.latency_ms, attempt.prompt_tokens, attempt.completion_tokens
    );
}

/// The issue's comments show (a stretch of) what the model wrote, after
/// `marker` when the answer has one. Compared on letters and digits only:
/// the bot defuses mentions and markup in model text before posting it.
fn assert_shows_models_text(world: &World, text: &str, marker: &str) {
    let said = text.split_once(marker).map_or(text, |(_, rest)| rest);
    let letters = |s: &str| -> String {
        s.chars()
            .filter(|c| c.is_alphanumeric())
            .flat_map(char::to_lowercase)
            .collect()
    };
    let shown: String = letters(said).chars().take(24).collect();
    let comments = letters(
        &world
            .gh
            .comments(OWNER, REPO, ISSUE)
            .into_iter()
            .map(|c| c.body)
            .collect::<Vec<_>>()
            .join("\n"),
    );
    assert!(
        !shown.is_empty() && comments.contains(&shown),
        "the issue shows the model's text {said:?}; comments: {:#?}",
        world.gh.comments(OWNER, REPO, ISSUE)
    );
}

#[tokio::test]
async fn real_model_answers_a_labelled_issue_through_the_openai_backend() {
    let model = real_model_id().await;
    let relay = RecordingRelay::start(&real_model_url()).await;
    let world = World::start().await;
    let db = fresh_postgres_url().await;
    let mut options = world.options();
    options.database_url = Some(db.clone());
    options.config_toml = Some(config(&model_toml(&relay.url(), &model, false)));
    let bot = BotProcess::start(&options, world.dir.path()).await;
    assert_eq!(
        bot.webhook("issues", "d-real", &labeled(ISSUE))
            .await
            .status(),
        202
    );
    assert_mechanics(&world, &bot, &relay, &db).await;
    assert!(world.ollama.completion_requests().is_empty());
}

#[tokio::test]
async fn real_model_answers_a_labelled_issue_through_the_runner() {
    let model = real_model_id().await;
    let relay = RecordingRelay::start(&real_model_url()).await;
    let world = World::start().await;
    let db = fresh_postgres_url().await;
    let mut options = world.options();
    options.database_url = Some(db.clone());
    options.config_toml = Some(config(&model_toml(&relay.url(), &model, true)));
    let bot = BotProcess::start(&options, world.dir.path()).await;
    let mut runner_options = RunnerOptions::new(&bot.url(), &bot.runner_token("real-mac"), "");
    runner_options.backends = vec![("openai".into(), relay.url())];
    let runner = RunnerProcess::start(&runner_options, world.dir.path(), "real-mac");
    assert_eq!(
        bot.webhook("issues", "d-real-runner", &labeled(ISSUE))
            .await
            .status(),
        202
    );
    assert_mechanics(&world, &bot, &relay, &db).await;
    // The runner, not the bot, called the server: the bot's one generation
    // request was claimed and answered by it, with the bot's seed.
    let store = gitkeeper_bot::queue::open(&db, Some(1)).await.unwrap();
    let request = store
        .generation(RequestId(1))
        .await
        .unwrap()
        .expect("the local tier's call became a generation request");
    assert_eq!(
        request.state,
        GenerationState::Succeeded,
        "{}",
        runner.log()
    );
    assert_eq!(request.runner.as_deref(), Some("real-mac"));
    assert_eq!(request.spec.model, model);
    assert_eq!(request.spec.request.seed, Some(42));
    assert!(store.generation(RequestId(2)).await.unwrap().is_none());
}
