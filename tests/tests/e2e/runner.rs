//! The runner against the bot, both real binaries, with Ollama and
//! OpenAI-compatible model doubles. The waiting side is a `RunnerBackend` in
//! this process on the bot's own database, as the generation loop uses it.

use std::path::Path;
use std::time::Duration;

use gitkeeper_bot::config::RunnerSettings;
use gitkeeper_bot::models::{ChatMessage, CompletionRequest, ErrorKind, ModelBackend};
use gitkeeper_bot::queue::GenerationState;
use gitkeeper_e2e::bot::fresh_postgres_url;
use gitkeeper_e2e::models::{ModelDouble, Step};
use gitkeeper_e2e::net::ClosedPort;
use gitkeeper_e2e::runner::{
    RunnerOptions, RunnerProcess, RunnerRig, finish, runner_settings, start_rig, wait_for_calls,
};
use gitkeeper_runner_protocol::{RequestId, paths};

const SMALL: &str = "qwen2.5-coder:7b";
const LARGE: &str = "qwen2.5-coder:14b";

async fn setup(database_url: Option<String>) -> RunnerRig {
    start_rig(database_url, runner_settings()).await
}
#[tokio::test]
async fn local_tier_call_is_served_by_the_runner_from_ollama() {
    let s = setup(None).await;
    let ollama = ModelDouble::ollama(&[SMALL]).await;
    ollama.push(Step::reply("FILE: src/a.ts\nexport const a = 1;\n").usage(900, 12));
    let runner = s.runner("mac", &ollama);
    s.wait_online("mac", SMALL, &runner).await;

    let list = s.runners().await;
    let mac = &list["runners"][0];
    assert_eq!(mac["max_concurrency"], 1);
    assert_eq!(mac["backends"][0]["kind"], "ollama");
    assert_eq!(mac["hardware"]["os"], std::env::consts::OS);

    let call = s.call("local-small", "add a constant");
    let answer = finish(call, || format!("{}\n{}", runner.log(), s.bot.log())).await;
    assert_eq!(answer.text, "FILE: src/a.ts\nexport const a = 1;\n");
    assert_eq!(answer.usage.prompt_tokens, 900);
    assert_eq!(answer.usage.completion_tokens, 12);
    assert_eq!(answer.cost_usd, 0.0);

    // The runner called Ollama with the bot's wire code: num_ctx sized to the
    // prompt, the answer budget, the runner's keep_alive.
    let calls = ollama.completion_requests();
    assert_eq!(calls.len(), 1);
    let body = calls[0].json().unwrap();
    assert_eq!(body["model"], SMALL);
    assert_eq!(body["stream"], false);
    assert_eq!(body["keep_alive"], "30m");
    assert_eq!(body["options"]["num_ctx"], 8192);
    assert_eq!(body["messages"][0]["content"], "add a constant");
    let record = s.request_for("add a constant").await;
    assert_eq!(record.state, GenerationState::Succeeded);
    assert_eq!(record.runner.as_deref(), Some("mac"));

    // `gitkeeper-bot runners` shows it too.
    let out = s.bot.cli(&["runners"]);
    let table = String::from_utf8_lossy(&out.stdout);
    println!("gitkeeper-bot runners:\n{table}");
    assert!(
        table.contains("mac") && table.contains("online") && table.contains(SMALL),
        "{table}"
    );
}

#[tokio::test]
async fn wrong_or_revoked_token_is_refused_with_401() {
    let s = setup(None).await;
    let client = reqwest::Client::new();
    let register = format!("{}{}", s.bot.url().trim_end_matches('/'), paths::REGISTER);
    let body = serde_json::json!({"protocol": 1, "version": "x", "hardware": {}, "backends": [], "max_concurrency": 1});
    let r = client
        .post(&register)
        .bearer_auth("gkr_guess")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(r.headers()["www-authenticate"], "Bearer");
    let text = r.text().await.unwrap();
    assert!(text.contains("runner-token create"), "{text}");
    let r = client.post(&register).json(&body).send().await.unwrap();
    assert_eq!(r.status(), 401);

    let token = s.token("mac");
    let register_as = |token: String| {
        let request = client.post(&register).bearer_auth(token).json(&body);
        async move { request.send().await.unwrap().status() }
    };
    assert_eq!(register_as(token.clone()).await, 200);
    let out = s.bot.cli(&["runner-token", "revoke", "mac"]);
    assert!(out.status.success());
    assert_eq!(register_as(token.clone()).await, 401, "revoked token");
    // The token never reaches the bot's log, and the database holds only its hash.
    assert!(!s.bot.log().contains(&token));
    let runners = s.runners().await;
    assert!(!runners.to_string().contains(&token));
    // The listing wants the admin token.
    let r = client
        .get(format!(
            "{}{}",
            s.bot.url().trim_end_matches('/'),
            paths::RUNNERS
        ))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
}

#[tokio::test]
async fn killed_runner_request_is_requeued_and_a_second_runner_finishes_it() {
    // PostgreSQL here: the claim path with FOR UPDATE SKIP LOCKED.
    let s = setup(Some(fresh_postgres_url().await)).await;
    let ollama = ModelDouble::ollama(&[SMALL]).await;
    // The first runner's call hangs (the Mac dies mid-generation); the second answers.
    ollama.push(Step::reply("never delivered").delay(Duration::from_secs(600)));
    ollama.push(Step::reply("from the second runner"));
    let mut first = s.runner("first", &ollama);
    s.wait_online("first", SMALL, &first).await;
    // `[runner] wait_for_runner = 30`: a call whose runner died waits for another.
    let waiting = RunnerSettings {
        wait_for_runner: 30,
        ..runner_settings()
    };
    let call = s.call_with("local-small", "requeue me", waiting);
    wait_for_calls(&ollama, 1, "the first runner never called Ollama").await;
    first.kill9();

    let second = s.runner("second", &ollama);
    let answer = finish(call, || format!("{}\n{}", second.log(), s.bot.log())).await;
    assert_eq!(answer.text, "from the second runner");
    let record = s.request_for("requeue me").await;
    assert_eq!(record.runner.as_deref(), Some("second"));
    assert_eq!(record.attempts, 2);
    let list = s.runners().await;
    let first_row = list["runners"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "first")
        .unwrap()
        .clone();
    assert_eq!(first_row["online"], false);
}

#[tokio::test]
async fn bot_restart_mid_request_loses_nothing() {
    let mut s = setup(None).await;
    let ollama = ModelDouble::ollama(&[SMALL]).await;
    ollama.push(Step::reply("answered across a bot restart").delay(Duration::from_secs(2)));
    let runner = s.runner("mac", &ollama);
    s.wait_online("mac", SMALL, &runner).await;
    let call = s.call("local-small", "survive a restart");
    wait_for_calls(&ollama, 1, "the runner never called Ollama").await;
    // The bot dies while the runner works; the runner reports to the new bot.
    s.bot.restart().await;
    let answer = finish(call, || format!("{}\n{}", runner.log(), s.bot.log())).await;
    assert_eq!(answer.text, "answered across a bot restart");
    assert_eq!(ollama.completion_requests().len(), 1, "served exactly once");
}

#[tokio::test]
async fn cancelled_request_stops_on_the_runner_and_frees_its_slot() {
    let s = setup(None).await;
    let ollama = ModelDouble::ollama(&[SMALL]).await;
    ollama.push(Step::reply("too late").delay(Duration::from_secs(600)));
    ollama.push(Step::reply("the next one"));
    let runner = s.runner("mac", &ollama);
    s.wait_online("mac", SMALL, &runner).await;
    let abandoned = s.call("local-small", "abandon me");
    wait_for_calls(&ollama, 1, "the runner never called Ollama").await;
    // The job is cancelled: its waiting call is dropped.
    abandoned.abort();
    let _ = abandoned.await;
    // The runner has one slot; the next request is only served once the
    // cancellation reached it through a heartbeat and stopped the first.
    let next = s.call("local-small", "after the cancel");
    let answer = finish(next, || format!("{}\n{}", runner.log(), s.bot.log())).await;
    assert_eq!(answer.text, "the next one");
    assert_eq!(
        s.request_for("abandon me").await.state,
        GenerationState::Cancelled
    );
    assert!(runner.log().contains("stopping it"), "{}", runner.log());
}

#[tokio::test]
async fn sigterm_drains_the_request_in_progress_then_exits() {
    let s = setup(None).await;
    let ollama = ModelDouble::ollama(&[SMALL]).await;
    ollama.push(Step::reply("finished while draining").delay(Duration::from_secs(2)));
    let mut runner = s.runner("mac", &ollama);
    s.wait_online("mac", SMALL, &runner).await;
    let call = s.call("local-small", "drain me");
    wait_for_calls(&ollama, 1, "the runner never called Ollama").await;
    let exited_cleanly = runner.terminate().await;
    assert!(exited_cleanly, "runner log:\n{}", runner.log());
    let answer = finish(call, || s.bot.log()).await;
    assert_eq!(answer.text, "finished while draining");
    let log = runner.log();
    assert!(
        log.contains("draining") && log.contains("drained; exiting"),
        "{log}"
    );
    let list = s.runners().await;
    assert_eq!(list["runners"][0]["draining"], true);
}

#[tokio::test]
async fn each_request_goes_only_to_a_runner_that_has_its_model() {
    let s = setup(None).await;
    let small_box = ModelDouble::ollama(&[SMALL]).await;
    let large_box = ModelDouble::ollama(&[LARGE]).await;
    small_box.push(Step::reply("small answer"));
    large_box.push(Step::reply("large answer"));
    let a = s.runner("small-box", &small_box);
    let b = s.runner("large-box", &large_box);
    s.wait_online("small-box", SMALL, &a).await;
    s.wait_online("large-box", LARGE, &b).await;
    let logs = || format!("{}\n{}\n{}", a.log(), b.log(), s.bot.log());
    let large = finish(s.call("local-large", "needs the 14b"), logs).await;
    let small = finish(s.call("local-small", "needs the 7b"), logs).await;
    assert_eq!(large.text, "large answer");
    assert_eq!(small.text, "small answer");
    assert_eq!(
        s.request_for("needs the 14b").await.runner.as_deref(),
        Some("large-box")
    );
    // Neither box was ever asked for a model it does not have.
    assert!(
        small_box
            .completion_requests()
            .iter()
            .all(|r| r.model().as_deref() == Some(SMALL))
    );
    assert!(
        large_box
            .completion_requests()
            .iter()
            .all(|r| r.model().as_deref() == Some(LARGE))
    );
    assert_eq!(small_box.completion_requests().len(), 1);
    assert_eq!(large_box.completion_requests().len(), 1);
}

#[tokio::test]
async fn model_without_a_runner_fails_fast_so_the_tier_is_skipped() {
    let s = setup(None).await;
    let ollama = ModelDouble::ollama(&[SMALL]).await;
    let runner = s.runner("mac", &ollama);
    s.wait_online("mac", SMALL, &runner).await;
    // Only the 7b is served; local-large asks for the 14b.
    let err = s
        .backend("local-large", runner_settings())
        .complete(&CompletionRequest::new(vec![ChatMessage::user("big task")]))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NoRunner);
    let why = err.to_string();
    assert!(
        why.contains(&format!("no runner online serves {LARGE}")),
        "{why}"
    );
    assert!(why.contains(&format!("ollama pull {LARGE}")), "{why}");
    // Nothing was queued for a runner to pick up later, and Ollama was not asked.
    assert!(s.store.generation(RequestId(1)).await.unwrap().is_none());
    assert!(ollama.completion_requests().is_empty());
}

#[tokio::test]
async fn two_runners_share_the_load_and_lm_studio_serves_through_openai() {
    let s = setup(None).await;
    let ollama = ModelDouble::ollama(&[SMALL]).await;
    let lm_studio = ModelDouble::openai(&[SMALL], None).await;
    ollama.push(Step::reply("from ollama").delay(Duration::from_secs(3)));
    lm_studio.push(Step::reply("from lm studio").delay(Duration::from_secs(3)));
    let a = s.runner("ollama-box", &ollama);
    let mut options = RunnerOptions::new(&s.bot.url(), &s.token("lmstudio-box"), &lm_studio.url());
    options.backends = vec![("openai".into(), lm_studio.url())];
    let b = RunnerProcess::start(&options, s.dir.path(), "lmstudio-box");
    s.wait_online("ollama-box", SMALL, &a).await;
    s.wait_online("lmstudio-box", SMALL, &b).await;
    // Each runner serves one at a time, so two calls at once need both.
    let one = s.call("local-small", "first of two");
    let two = s.call("local-small", "second of two");
    let logs = || format!("{}\n{}\n{}", a.log(), b.log(), s.bot.log());
    let mut texts = vec![finish(one, logs).await.text, finish(two, logs).await.text];
    texts.sort();
    assert_eq!(texts, ["from lm studio", "from ollama"]);
    assert_eq!(
        lm_studio.completion_requests()[0].route(),
        "/v1/chat/completions"
    );
}

#[tokio::test]
async fn doctor_names_the_fix_for_each_failure_and_measures_speed() {
    let s = setup(None).await;
    let ollama = ModelDouble::ollama(&[SMALL]).await;
    ollama.push(Step::reply("fn add(a: i32, b: i32) -> i32 { a + b }").usage(30, 16));
    let mut options = RunnerOptions::new(&s.bot.url(), &s.token("mac"), &ollama.url());
    // LM Studio is not running: nothing listens on this port.
    let lm_studio = ClosedPort::reserve();
    let closed = lm_studio.addr();
    options
        .backends
        .push(("openai".into(), format!("http://{closed}")));
    options.required_models = vec![SMALL.into(), LARGE.into()];
    let (ok, out) = options.doctor(s.dir.path()).await;
    println!("gitkeeper-runner doctor against the doubles:\n{out}");
    assert!(!ok, "doctor must fail:\n{out}");
    assert!(
        out.contains(&format!(
            "ok    bot at {}",
            s.bot.url().trim_end_matches('/')
        )),
        "{out}"
    );
    assert!(out.contains("ok    bot accepts the runner token"), "{out}");
    assert!(
        out.contains(&format!(
            "ok    ollama at {} answers (1 models)",
            ollama.url().trim_end_matches('/')
        )),
        "{out}"
    );
    assert!(out.contains("lms server start"), "{out}");
    assert!(
        out.contains(&format!("ok    {SMALL} is available on ollama")),
        "{out}"
    );
    assert!(
        out.contains(&format!(
            "FAIL  required model {LARGE} is missing\n      fix: ollama pull {LARGE}"
        )),
        "{out}"
    );
    assert!(
        out.contains(&format!("{SMALL}: ")) && out.contains("tokens/s (16 tokens in"),
        "{out}"
    );
    assert!(out.contains("2 check(s) failed"), "{out}");

    // A wrong token is named too.
    let mut wrong = options.clone();
    wrong.token = "gkr_wrong".into();
    wrong.required_models.clear();
    let (_, out) = wrong.doctor(Path::new(s.dir.path())).await;
    assert!(out.contains("FAIL  bot refuses the runner token"), "{out}");
    assert!(out.contains("runner-token create"), "{out}");
}
