//! The model backends (`gitkeeper_bot::models`) against the model doubles:
//! real HTTP on 127.0.0.1, the real wire formats, scripted answers. If these
//! pass, a backend reads usage and cost, retries what is worth retrying,
//! refuses truncated or oversized prompts, and says how to fix what it cannot.

use std::time::{Duration, Instant};

use gitkeeper_bot::models::{
    BackendKind, ChatMessage, CompletionRequest, ErrorKind, FinishReason, ModelBackend, ModelError,
    ModelSettings, build_backend_with_env, default_models,
};
use gitkeeper_e2e::models::{
    CLAUDE, Flavor, ModelDouble, ModelDoubleOptions, QWEN_7B, QWEN_14B, Step, count_tokens,
};
use gitkeeper_e2e::net::ClosedPort;
use serde_json::{Value, json};

const DEEPSEEK: &str = "deepseek-chat";
const ANTHROPIC_KEY: &str = "sk-ant-api03-test-key-0123456789";
const OPENAI_KEY: &str = "sk-test-deepseek-key-0123456789";

/// Settings pointing at `endpoint` with quick retries, so tests stay fast.
fn settings(backend: BackendKind, model: &str, endpoint: &str) -> ModelSettings {
    let mut s = ModelSettings::new(backend, model);
    s.endpoint = Some(endpoint.to_string());
    s.timeout_secs = 10;
    s.max_retries = 3;
    s.backoff_ms = 20;
    if backend == BackendKind::Ollama {
        s.context_window = 32768;
    }
    s
}

/// The test's environment: the two keys, nothing else.
fn env(var: &str) -> Option<String> {
    match var {
        "ANTHROPIC_API_KEY" => Some(ANTHROPIC_KEY.to_string()),
        "TEST_OPENAI_KEY" => Some(OPENAI_KEY.to_string()),
        _ => None,
    }
}

fn backend(name: &str, s: &ModelSettings) -> std::sync::Arc<dyn ModelBackend> {
    build_backend_with_env(name, s, &env).expect("backend builds")
}

async fn ollama_backend(double: &ModelDouble, model: &str) -> std::sync::Arc<dyn ModelBackend> {
    backend(
        "local-small",
        &settings(BackendKind::Ollama, model, &double.url()),
    )
}

fn openai_settings(double: &ModelDouble) -> ModelSettings {
    let mut s = settings(BackendKind::Openai, DEEPSEEK, &double.url());
    s.api_key_env = Some("TEST_OPENAI_KEY".into());
    s.price_in = 0.27;
    s.price_out = 1.10;
    s
}

fn anthropic_settings(double: &ModelDouble) -> ModelSettings {
    let mut s = settings(BackendKind::Anthropic, CLAUDE, &double.url());
    s.price_in = 3.0;
    s.price_out = 15.0;
    s
}

fn request(user: &str) -> CompletionRequest {
    CompletionRequest::new(vec![
        ChatMessage::system("You are a senior TypeScript engineer. Output only edits."),
        ChatMessage::user(user),
    ])
}

/// A prompt of roughly `lines` × 12 tokens.
fn big_prompt(lines: usize) -> String {
    (0..lines)
        .map(|i| format!("export const value{i} = compute({i}, \"item-{i}\");\n"))
        .collect()
}

async fn json_post(url: &str, headers: &[(&str, &str)], body: &Value) -> (u16, Value) {
    gitkeeper_bot::tls::install_crypto_provider();
    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    let mut r = client.post(url).json(body);
    for (k, v) in headers {
        r = r.header(*k, *v);
    }
    let response = r.send().await.expect("request to the double");
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

// ---------------------------------------------------------------- successes

#[tokio::test]
async fn ollama_completes_and_reads_usage_from_the_server() {
    let double = ModelDouble::ollama(&[QWEN_7B]).await;
    double.push(Step::reply("FILE: src/a.ts\nexport const a = 1;\n").usage(321, 17));
    let b = ollama_backend(&double, QWEN_7B).await;

    let done = b.complete(&request("Add a constant a.")).await.unwrap();

    assert_eq!(done.text, "FILE: src/a.ts\nexport const a = 1;\n");
    assert_eq!(done.usage.prompt_tokens, 321);
    assert_eq!(done.usage.completion_tokens, 17);
    assert!(!done.usage.estimated);
    assert_eq!(done.cost_usd, 0.0);
    assert_eq!(done.model, QWEN_7B);
    assert_eq!(done.finish, FinishReason::Stop);
    assert_eq!(done.attempts, 1);
    assert!(done.latency > Duration::ZERO);
}

#[tokio::test]
async fn ollama_request_sizes_num_ctx_and_sends_options() {
    let double = ModelDouble::ollama(&[QWEN_7B]).await;
    double.push(Step::reply("ok"));
    let b = ollama_backend(&double, QWEN_7B).await;
    let prompt = big_prompt(400);
    let prompt_tokens = count_tokens(&prompt);
    assert!(
        prompt_tokens > 2048,
        "the prompt must exceed Ollama's default num_ctx"
    );

    let done = b
        .complete(&request(&prompt).with_max_tokens(2000))
        .await
        .unwrap();

    let sent = &double.completion_requests()[0];
    let body = sent.json().unwrap();
    assert_eq!(sent.route(), "/api/chat");
    assert_eq!(body["stream"], false);
    let num_ctx = sent.num_ctx().expect("options.num_ctx is always sent");
    assert!(
        num_ctx >= u64::from(prompt_tokens) + 2000,
        "num_ctx {num_ctx} must hold the prompt ({prompt_tokens}) and the answer"
    );
    assert!(num_ctx <= 32768);
    assert_eq!(num_ctx % 4096, 0);
    assert_eq!(body["options"]["num_predict"], 2000);
    assert!((body["options"]["temperature"].as_f64().unwrap() - 0.1).abs() < 1e-6);
    assert_eq!(body["keep_alive"], "10m");
    // The double evaluated the whole prompt, so no truncation was reported.
    assert!(done.usage.prompt_tokens >= prompt_tokens);
    assert!(!done.usage.estimated);
}

#[tokio::test]
async fn openai_compatible_completes_with_bearer_usage_and_cost() {
    let double = ModelDouble::openai(&[DEEPSEEK], Some(OPENAI_KEY)).await;
    double.push(Step::reply("SEARCH/REPLACE ...").usage(10_000, 2_000));
    let b = backend("cloud-deepseek", &openai_settings(&double));

    let done = b.complete(&request("Fix the bug.")).await.unwrap();

    assert_eq!(done.text, "SEARCH/REPLACE ...");
    assert_eq!(done.usage.prompt_tokens, 10_000);
    assert_eq!(done.usage.completion_tokens, 2_000);
    assert!(!done.usage.estimated);
    let expected = (10_000.0 * 0.27 + 2_000.0 * 1.10) / 1_000_000.0;
    assert!(
        (done.cost_usd - expected).abs() < 1e-12,
        "{}",
        done.cost_usd
    );
    assert_eq!(done.model, DEEPSEEK);
    let sent = &double.completion_requests()[0];
    assert_eq!(sent.route(), "/v1/chat/completions");
    assert_eq!(
        sent.header("authorization"),
        Some(format!("Bearer {OPENAI_KEY}").as_str())
    );
    let body = sent.json().unwrap();
    assert_eq!(body["stream"], false);
    assert_eq!(body["max_tokens"], 4096);
    assert_eq!(body["messages"][0]["role"], "system");
}

#[tokio::test]
async fn local_openai_compatible_server_gets_no_key() {
    let double = ModelDouble::openai(&["qwen2.5-coder-7b-instruct"], None).await;
    double.push(Step::reply("ok"));
    let s = settings(
        BackendKind::Openai,
        "qwen2.5-coder-7b-instruct",
        &format!("{}/v1", double.url()),
    );
    let done = backend("lmstudio", &s)
        .complete(&request("hi"))
        .await
        .unwrap();
    assert_eq!(done.text, "ok");
    assert_eq!(
        double.completion_requests()[0].header("authorization"),
        None
    );
}

#[tokio::test]
async fn anthropic_completes_with_its_headers_and_top_level_system() {
    let double = ModelDouble::anthropic(&[CLAUDE], ANTHROPIC_KEY).await;
    double.push(Step::reply("done").usage(1_000_000, 100_000));
    let b = backend("cloud-claude", &anthropic_settings(&double));

    let done = b.complete(&request("Refactor.")).await.unwrap();

    assert_eq!(done.text, "done");
    assert_eq!(done.usage.prompt_tokens, 1_000_000);
    assert!(
        (done.cost_usd - (3.0 + 1.5)).abs() < 1e-9,
        "{}",
        done.cost_usd
    );
    let sent = &double.completion_requests()[0];
    assert_eq!(sent.route(), "/v1/messages");
    assert_eq!(sent.header("x-api-key"), Some(ANTHROPIC_KEY));
    assert_eq!(sent.header("anthropic-version"), Some("2023-06-01"));
    let body = sent.json().unwrap();
    assert_eq!(
        body["system"],
        "You are a senior TypeScript engineer. Output only edits."
    );
    assert_eq!(body["messages"].as_array().unwrap().len(), 1);
    assert_eq!(body["max_tokens"], 4096);
}

#[tokio::test]
async fn missing_usage_is_estimated_with_the_tokenizer() {
    let text = "export function add(a: number, b: number) { return a + b; }";
    let ollama = ModelDouble::ollama(&[QWEN_7B]).await;
    let openai = ModelDouble::openai(&[DEEPSEEK], Some(OPENAI_KEY)).await;
    let anthropic = ModelDouble::anthropic(&[CLAUDE], ANTHROPIC_KEY).await;
    for double in [&ollama, &openai, &anthropic] {
        double.push(Step::reply(text).without_usage());
    }
    let backends = [
        ollama_backend(&ollama, QWEN_7B).await,
        backend("cloud-deepseek", &openai_settings(&openai)),
        backend("cloud-claude", &anthropic_settings(&anthropic)),
    ];
    for b in backends {
        let done = b.complete(&request("Write add().")).await.unwrap();
        assert!(
            done.usage.estimated,
            "{}: usage must be marked estimated",
            b.name()
        );
        assert_eq!(
            done.usage.completion_tokens,
            count_tokens(text),
            "{}",
            b.name()
        );
        assert!(done.usage.prompt_tokens > 10, "{}", b.name());
        if b.name() == "cloud-claude" {
            let expected = (f64::from(done.usage.prompt_tokens) * 3.0
                + f64::from(done.usage.completion_tokens) * 15.0)
                / 1e6;
            assert!((done.cost_usd - expected).abs() < 1e-12);
        }
    }
}

#[tokio::test]
async fn clarification_request_is_recognised() {
    let double = ModelDouble::ollama(&[QWEN_7B]).await;
    double.push(Step::clarification("Which table stores sessions?"));
    let done = ollama_backend(&double, QWEN_7B)
        .await
        .complete(&request("Add logout."))
        .await
        .unwrap();
    assert_eq!(done.clarification(), Some("Which table stores sessions?"));
}

#[tokio::test]
async fn answer_cut_by_max_tokens_is_flagged() {
    let double = ModelDouble::anthropic(&[CLAUDE], ANTHROPIC_KEY).await;
    double.push(Step::reply("FILE: a.ts\nexport const").hit_max_tokens());
    let done = backend("cloud-claude", &anthropic_settings(&double))
        .complete(&request("x"))
        .await
        .unwrap();
    assert_eq!(done.finish, FinishReason::Length);
    assert!(done.is_truncated());
}

#[tokio::test]
async fn second_prompt_carries_the_first_error() {
    let double = ModelDouble::ollama(&[QWEN_7B]).await;
    double.push(Step::reply("FILE: a.ts\nconst x: number = \"s\";"));
    double.push(Step::reply("FILE: a.ts\nconst x: number = 1;"));
    let b = ollama_backend(&double, QWEN_7B).await;
    let first = b.complete(&request("Declare x.")).await.unwrap();
    let error = "a.ts(1,7): error TS2322: Type 'string' is not assignable to type 'number'.";
    let retry = CompletionRequest::new(vec![
        ChatMessage::user("Declare x."),
        ChatMessage::assistant(first.text),
        ChatMessage::user(format!("The build failed:\n{error}\nFix it.")),
    ]);
    b.complete(&retry).await.unwrap();
    let sent = double.completion_requests();
    assert_eq!(sent.len(), 2);
    assert!(!sent[0].prompt_text().contains("TS2322"));
    assert!(sent[1].prompt_text().contains(error));
}

#[tokio::test]
async fn list_models_reads_tags_and_model_lists() {
    let ollama = ModelDouble::ollama(&[QWEN_7B, QWEN_14B]).await;
    let listed = ollama_backend(&ollama, QWEN_7B)
        .await
        .list_models()
        .await
        .unwrap();
    assert_eq!(listed, [QWEN_7B, QWEN_14B]);

    let openai = ModelDouble::openai(&[DEEPSEEK, "deepseek-reasoner"], Some(OPENAI_KEY)).await;
    let listed = backend("cloud-deepseek", &openai_settings(&openai))
        .list_models()
        .await
        .unwrap();
    assert_eq!(listed, [DEEPSEEK, "deepseek-reasoner"]);

    let anthropic = ModelDouble::anthropic(&[CLAUDE], ANTHROPIC_KEY).await;
    let listed = backend("cloud-claude", &anthropic_settings(&anthropic))
        .list_models()
        .await
        .unwrap();
    assert_eq!(listed, [CLAUDE]);
    assert_eq!(
        anthropic.requests()[0].header("x-api-key"),
        Some(ANTHROPIC_KEY)
    );
}

#[tokio::test]
async fn ollama_host_without_scheme_is_honoured() {
    let double = ModelDouble::ollama(&[QWEN_7B]).await;
    double.push(Step::reply("hi"));
    let host = double.addr().to_string(); // "127.0.0.1:PORT", no scheme
    let models = default_models();
    let b = build_backend_with_env("local-small", &models["local-small"], &|var| {
        (var == "OLLAMA_HOST").then(|| host.clone())
    })
    .unwrap();
    assert_eq!(b.complete(&request("hi")).await.unwrap().text, "hi");
    assert_eq!(
        double.completion_requests()[0].model().as_deref(),
        Some(QWEN_7B)
    );
}

// ------------------------------------------------------------------ retries

#[tokio::test]
async fn rate_limit_with_retry_after_is_retried_once_after_the_wait() {
    let double = ModelDouble::openai(&[DEEPSEEK], Some(OPENAI_KEY)).await;
    double.push(Step::rate_limited(Some(1)));
    double.push(Step::reply("after the wait"));
    let b = backend("cloud-deepseek", &openai_settings(&double));

    let started = Instant::now();
    let done = b.complete(&request("x")).await.unwrap();

    assert_eq!(done.text, "after the wait");
    assert_eq!(done.attempts, 2);
    let sent = double.completion_requests();
    assert_eq!(sent.len(), 2);
    let gap = sent[1].received_at - sent[0].received_at;
    assert!(gap >= Duration::from_secs(1), "waited only {gap:?}");
    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(
        done.latency >= Duration::from_secs(1),
        "latency covers the wait"
    );
}

#[tokio::test]
async fn server_error_twice_then_success() {
    let double = ModelDouble::ollama(&[QWEN_7B]).await;
    double.push(Step::server_error());
    double.push(Step::server_error());
    double.push(Step::reply("third time"));
    let done = ollama_backend(&double, QWEN_7B)
        .await
        .complete(&request("x"))
        .await
        .unwrap();
    assert_eq!(done.text, "third time");
    assert_eq!(done.attempts, 3);
    assert_eq!(double.completion_requests().len(), 3);
}

#[tokio::test]
async fn anthropic_overloaded_is_retried() {
    let double = ModelDouble::anthropic(&[CLAUDE], ANTHROPIC_KEY).await;
    double.push(Step::overloaded());
    double.push(Step::reply("ok"));
    let done = backend("cloud-claude", &anthropic_settings(&double))
        .complete(&request("x"))
        .await
        .unwrap();
    assert_eq!(done.text, "ok");
    assert_eq!(done.attempts, 2);
}

#[tokio::test]
async fn retries_run_out_and_the_last_error_is_reported() {
    let double = ModelDouble::anthropic(&[CLAUDE], ANTHROPIC_KEY).await;
    for _ in 0..4 {
        double.push(Step::overloaded());
    }
    let mut s = anthropic_settings(&double);
    s.max_retries = 2;
    let err = backend("cloud-claude", &s)
        .complete(&request("x"))
        .await
        .unwrap_err();
    assert!(
        matches!(err, ModelError::Overloaded { status: 529, .. }),
        "{err}"
    );
    assert_eq!(err.kind(), ErrorKind::Unavailable);
    assert!(err.is_retryable());
    assert!(err.to_string().contains("Anthropic is overloaded"), "{err}");
    assert_eq!(double.completion_requests().len(), 3);
}

#[tokio::test]
async fn rate_limit_longer_than_we_wait_fails_at_once() {
    let double = ModelDouble::anthropic(&[CLAUDE], ANTHROPIC_KEY).await;
    double.push(Step::rate_limited(Some(3600)));
    let err = backend("cloud-claude", &anthropic_settings(&double))
        .complete(&request("x"))
        .await
        .unwrap_err();
    assert!(matches!(err, ModelError::RateLimited { .. }), "{err}");
    assert_eq!(err.retry_after(), Some(Duration::from_secs(3600)));
    assert_eq!(double.completion_requests().len(), 1);
}

// ------------------------------------------------------------- clear errors

#[tokio::test]
async fn unknown_ollama_model_says_to_pull_it() {
    let double = ModelDouble::ollama(&[QWEN_7B]).await;
    let err = ollama_backend(&double, QWEN_14B)
        .await
        .complete(&request("x"))
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "model qwen2.5-coder:14b not found on Ollama at {}: run `ollama pull qwen2.5-coder:14b`",
            double.url()
        )
    );
    assert_eq!(err.kind(), ErrorKind::Misconfigured);
    assert_eq!(double.completion_requests().len(), 1, "not retried");
}

#[tokio::test]
async fn connection_refused_says_to_start_ollama() {
    let closed = ClosedPort::reserve();
    let addr = closed.addr();
    let mut s = settings(BackendKind::Ollama, QWEN_7B, &format!("http://{addr}"));
    s.max_retries = 1;
    let err = backend("local-small", &s)
        .complete(&request("x"))
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("connection refused at http://{addr}: is `ollama serve` running?")
    );
    assert_eq!(err.kind(), ErrorKind::Unavailable);
}

#[tokio::test]
async fn truncation_is_detected_when_the_server_read_less_than_the_prompt() {
    // The model's tokenizer counts three times what ours does, so the prompt
    // overflows the num_ctx we sent and Ollama silently cuts it.
    let double = ModelDouble::start(
        Flavor::Ollama,
        ModelDoubleOptions {
            models: vec![QWEN_7B.into()],
            prompt_token_factor: 3.0,
            ..ModelDoubleOptions::default()
        },
    )
    .await;
    double.push(Step::reply("an answer to half a prompt"));
    let err = ollama_backend(&double, QWEN_7B)
        .await
        .complete(&request(&big_prompt(250)).with_max_tokens(1024))
        .await
        .unwrap_err();
    let ModelError::Truncated {
        evaluated, num_ctx, ..
    } = &err
    else {
        panic!("expected truncation, got {err}");
    };
    assert_eq!(
        u64::from(*num_ctx),
        double.completion_requests()[0].num_ctx().unwrap()
    );
    assert_eq!(
        evaluated, num_ctx,
        "the double reports num_ctx after truncating"
    );
    assert_eq!(err.kind(), ErrorKind::TooLarge);
    assert!(err.to_string().contains("truncated the prompt"), "{err}");
}

#[tokio::test]
async fn short_prompt_eval_count_is_treated_as_truncation() {
    let double = ModelDouble::ollama(&[QWEN_7B]).await;
    double.push(Step::reply("partial").usage(1024, 5));
    let err = ollama_backend(&double, QWEN_7B)
        .await
        .complete(&request(&big_prompt(300)))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            ModelError::Truncated {
                evaluated: 1024,
                ..
            }
        ),
        "{err}"
    );
}

#[tokio::test]
async fn newer_ollama_refusing_an_oversized_prompt_is_too_large() {
    let double = ModelDouble::start(
        Flavor::Ollama,
        ModelDoubleOptions {
            models: vec![QWEN_7B.into()],
            prompt_token_factor: 3.0,
            honors_truncate_flag: true,
            ..ModelDoubleOptions::default()
        },
    )
    .await;
    double.push(Step::reply("never sent"));
    let err = ollama_backend(&double, QWEN_7B)
        .await
        .complete(&request(&big_prompt(250)).with_max_tokens(1024))
        .await
        .unwrap_err();
    assert!(matches!(err, ModelError::PromptTooLong { .. }), "{err}");
    assert_eq!(err.kind(), ErrorKind::TooLarge);
    assert_eq!(double.pending_steps(), 1);
}

#[tokio::test]
async fn prompt_larger_than_the_window_is_refused_before_sending() {
    let double = ModelDouble::ollama(&[QWEN_7B]).await;
    let mut s = settings(BackendKind::Ollama, QWEN_7B, &double.url());
    s.context_window = 4096;
    s.max_tokens = 1024;
    let err = backend("local-small", &s)
        .complete(&request(&big_prompt(400)))
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(text.starts_with("prompt is "), "{text}");
    assert!(
        text.contains("tokens but qwen2.5-coder:7b's context window is 4096"),
        "{text}"
    );
    assert_eq!(err.kind(), ErrorKind::TooLarge);
    assert!(double.requests().is_empty());
}

#[tokio::test]
async fn slow_answer_times_out_without_a_resend() {
    let double = ModelDouble::ollama(&[QWEN_7B]).await;
    double.push(Step::reply("too late").delay(Duration::from_secs(3)));
    let mut s = settings(BackendKind::Ollama, QWEN_7B, &double.url());
    s.timeout_secs = 1;
    let started = Instant::now();
    let err = backend("local-large", &s)
        .complete(&request("x"))
        .await
        .unwrap_err();
    assert!(started.elapsed() < Duration::from_millis(2500));
    assert!(matches!(err, ModelError::Timeout { .. }), "{err}");
    assert_eq!(
        err.to_string(),
        format!(
            "Ollama at {} did not answer within 1s: raise timeout_secs in [models.local-large] or send a smaller prompt",
            double.url()
        )
    );
    assert_eq!(double.completion_requests().len(), 1);
    assert_eq!(err.kind(), ErrorKind::Unavailable);
}

#[tokio::test]
async fn malformed_json_is_a_clear_error() {
    let ollama = ModelDouble::ollama(&[QWEN_7B]).await;
    let openai = ModelDouble::openai(&[DEEPSEEK], Some(OPENAI_KEY)).await;
    let anthropic = ModelDouble::anthropic(&[CLAUDE], ANTHROPIC_KEY).await;
    ollama.push(Step::malformed(
        "{\"model\": \"qwen2.5-coder:7b\", \"message\": {",
    ));
    openai.push(Step::malformed("<html>502 Bad Gateway</html>"));
    anthropic.push(Step::malformed(
        "{\"type\": \"message\", \"content\": \"not blocks\"}",
    ));
    let cases = [
        (
            ollama_backend(&ollama, QWEN_7B).await,
            ollama.url(),
            "Ollama",
        ),
        (
            backend("cloud-deepseek", &openai_settings(&openai)),
            openai.url(),
            "OpenAI-compatible server",
        ),
        (
            backend("cloud-claude", &anthropic_settings(&anthropic)),
            anthropic.url(),
            "Anthropic",
        ),
    ];
    for (b, url, provider) in cases {
        let err = b.complete(&request("x")).await.unwrap_err();
        let text = err.to_string();
        assert!(matches!(err, ModelError::Malformed { .. }), "{text}");
        assert!(
            text.starts_with(&format!("{provider} at {url} sent a malformed response")),
            "{text}"
        );
        assert_eq!(err.kind(), ErrorKind::BadResponse);
    }
    assert_eq!(ollama.completion_requests().len(), 1, "not resent");
}

#[tokio::test]
async fn lm_studio_without_a_loaded_model_says_how_to_load_one() {
    let double = ModelDouble::start(
        Flavor::OpenAi,
        ModelDoubleOptions {
            models: vec!["qwen2.5-coder-14b-instruct".into()],
            no_model_loaded: true,
            ..ModelDoubleOptions::default()
        },
    )
    .await;
    let s = settings(
        BackendKind::Openai,
        "qwen2.5-coder-14b-instruct",
        &double.url(),
    );
    let err = backend("lmstudio", &s)
        .complete(&request("x"))
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "no model loaded in LM Studio at {}: load qwen2.5-coder-14b-instruct in LM Studio's Developer tab or run `lms load qwen2.5-coder-14b-instruct`",
            double.url()
        )
    );
    assert_eq!(err.kind(), ErrorKind::Misconfigured);
}

#[tokio::test]
async fn unknown_openai_and_anthropic_models_are_misconfiguration() {
    let openai = ModelDouble::openai(&[DEEPSEEK], Some(OPENAI_KEY)).await;
    let mut s = openai_settings(&openai);
    s.model = "deepseek-coder-v9".into();
    let err = backend("cloud-deepseek", &s)
        .complete(&request("x"))
        .await
        .unwrap_err();
    assert!(matches!(err, ModelError::ModelNotFound { .. }), "{err}");
    assert!(err.to_string().contains("GET /v1/models"), "{err}");

    let anthropic = ModelDouble::anthropic(&[CLAUDE], ANTHROPIC_KEY).await;
    let mut s = anthropic_settings(&anthropic);
    s.model = "claude-nonexistent".into();
    let err = backend("cloud-claude", &s)
        .complete(&request("x"))
        .await
        .unwrap_err();
    assert!(matches!(err, ModelError::ModelNotFound { .. }), "{err}");
    assert_eq!(err.kind(), ErrorKind::Misconfigured);
}

#[tokio::test]
async fn missing_api_key_names_the_variable() {
    let models = default_models();
    let err =
        build_backend_with_env("cloud-claude", &models["cloud-claude"], &|_| None).unwrap_err();
    assert_eq!(
        err.to_string(),
        "no API key for [models.cloud-claude]: set the environment variable ANTHROPIC_API_KEY"
    );
    let err =
        build_backend_with_env("cloud-deepseek", &models["cloud-deepseek"], &|_| None).unwrap_err();
    assert!(err.to_string().contains("DEEPSEEK_API_KEY"), "{err}");
}

// ------------------------------------------------------------------ secrets

#[tokio::test]
async fn api_key_never_appears_in_errors_or_debug_output() {
    let wrong = "sk-ant-api03-WRONG-secret-value-987654321";

    // Anthropic refuses the key.
    let anthropic = ModelDouble::anthropic(&[CLAUDE], ANTHROPIC_KEY).await;
    let s = anthropic_settings(&anthropic);
    let b = build_backend_with_env("cloud-claude", &s, &|var| {
        (var == "ANTHROPIC_API_KEY").then(|| wrong.to_string())
    })
    .unwrap();
    let err = b.complete(&request("x")).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "Anthropic rejected the API key: set ANTHROPIC_API_KEY"
    );
    assert_eq!(err.kind(), ErrorKind::Misconfigured);
    assert_eq!(anthropic.completion_requests().len(), 1, "not retried");
    for text in [err.to_string(), format!("{err:?}"), format!("{b:?}")] {
        assert!(!text.contains(wrong), "key leaked: {text}");
        assert!(!text.contains("WRONG-secret"), "key leaked: {text}");
    }

    // A server that echoes the key back in an error body.
    let openai = ModelDouble::openai(&[DEEPSEEK], None).await;
    for _ in 0..4 {
        openai.push(Step::status(
            500,
            json!({"error": {"message": format!("upstream rejected key {OPENAI_KEY}"), "type": "server_error"}}),
        ));
    }
    let mut s = openai_settings(&openai);
    s.max_retries = 1;
    let b = backend("cloud-deepseek", &s);
    let err = b.complete(&request("x")).await.unwrap_err();
    for text in [err.to_string(), format!("{err:?}"), format!("{b:?}")] {
        assert!(!text.contains(OPENAI_KEY), "key leaked: {text}");
    }
    assert!(err.to_string().contains("[redacted]"), "{err}");

    // OpenAI refuses a wrong bearer and masks it itself.
    let strict = ModelDouble::openai(&[DEEPSEEK], Some("sk-the-right-key-000")).await;
    let b = backend("cloud-deepseek", &openai_settings(&strict));
    let err = b.complete(&request("x")).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "OpenAI-compatible server rejected the API key: set TEST_OPENAI_KEY to a valid key"
    );
    assert!(!format!("{err:?}").contains(OPENAI_KEY));
}

// -------------------------------------------------- the doubles themselves

#[tokio::test]
async fn anthropic_double_checks_headers_like_the_api() {
    let double = ModelDouble::anthropic(&[CLAUDE], ANTHROPIC_KEY).await;
    let url = format!("{}/v1/messages", double.url());
    let body =
        json!({"model": CLAUDE, "max_tokens": 10, "messages": [{"role": "user", "content": "hi"}]});

    let (status, answer) = json_post(&url, &[("anthropic-version", "2023-06-01")], &body).await;
    assert_eq!(status, 401);
    assert_eq!(answer["type"], "error");
    assert_eq!(answer["error"]["type"], "authentication_error");

    let (status, answer) = json_post(
        &url,
        &[
            ("x-api-key", "sk-ant-wrong"),
            ("anthropic-version", "2023-06-01"),
        ],
        &body,
    )
    .await;
    assert_eq!(status, 401);
    assert_eq!(answer["error"]["message"], "invalid x-api-key");

    let (status, answer) = json_post(&url, &[("x-api-key", ANTHROPIC_KEY)], &body).await;
    assert_eq!(status, 400);
    assert_eq!(answer["error"]["type"], "invalid_request_error");
    assert!(
        answer["error"]["message"]
            .as_str()
            .unwrap()
            .contains("anthropic-version")
    );

    let headers = [
        ("x-api-key", ANTHROPIC_KEY),
        ("anthropic-version", "2023-06-01"),
    ];
    let (status, answer) = json_post(
        &url,
        &headers,
        &json!({"model": CLAUDE, "messages": [{"role": "user", "content": "hi"}]}),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(answer["error"]["message"], "max_tokens: Field required");

    let (status, answer) = json_post(
        &url,
        &headers,
        &json!({"model": CLAUDE, "max_tokens": 5, "messages": [{"role": "system", "content": "s"}, {"role": "user", "content": "hi"}]}),
    )
    .await;
    assert_eq!(status, 400);
    assert!(
        answer["error"]["message"]
            .as_str()
            .unwrap()
            .contains("Unexpected role \"system\"")
    );

    let (status, answer) = json_post(
        &url,
        &headers,
        &json!({"model": "claude-nope", "max_tokens": 5, "messages": [{"role": "user", "content": "hi"}]}),
    )
    .await;
    assert_eq!(status, 404);
    assert_eq!(answer["error"]["type"], "not_found_error");

    double.push(Step::overloaded());
    let (status, answer) = json_post(&url, &headers, &body).await;
    assert_eq!(status, 529);
    assert_eq!(answer["error"]["type"], "overloaded_error");
}

#[tokio::test]
async fn openai_double_requires_the_configured_bearer() {
    let double = ModelDouble::openai(&[DEEPSEEK], Some(OPENAI_KEY)).await;
    let url = format!("{}/v1/chat/completions", double.url());
    let body = json!({"model": DEEPSEEK, "messages": [{"role": "user", "content": "hi"}]});
    let (status, answer) = json_post(&url, &[], &body).await;
    assert_eq!(status, 401);
    assert!(
        answer["error"]["message"]
            .as_str()
            .unwrap()
            .contains("didn't provide an API key")
    );
    let (status, answer) = json_post(
        &url,
        &[("authorization", "Bearer sk-wrong-key-1234")],
        &body,
    )
    .await;
    assert_eq!(status, 401);
    assert_eq!(answer["error"]["code"], "invalid_api_key");
    assert!(
        !answer["error"]["message"]
            .as_str()
            .unwrap()
            .contains("sk-wrong-key-1234")
    );

    double.push(Step::reply("hello").without_usage());
    let bearer = format!("Bearer {OPENAI_KEY}");
    let (status, answer) = json_post(&url, &[("authorization", &bearer)], &body).await;
    assert_eq!(status, 200);
    assert_eq!(answer["object"], "chat.completion");
    assert_eq!(answer["choices"][0]["message"]["content"], "hello");
    assert!(answer.get("usage").is_none());
}

#[tokio::test]
async fn ollama_double_truncates_without_num_ctx_and_404s_unknown_models() {
    let double = ModelDouble::ollama(&[QWEN_7B]).await;
    let url = format!("{}/api/chat", double.url());
    let prompt = big_prompt(400);
    double.push(Step::reply("ok"));
    let (status, answer) = json_post(
        &url,
        &[],
        &json!({"model": QWEN_7B, "stream": false, "messages": [{"role": "user", "content": prompt}]}),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        answer["prompt_eval_count"], 2048,
        "silently truncated to the default num_ctx"
    );
    assert_eq!(answer["done"], true);

    double.push(Step::reply("ok"));
    let (_, answer) = json_post(
        &url,
        &[],
        &json!({"model": QWEN_7B, "stream": false, "options": {"num_ctx": 16384},
                "messages": [{"role": "user", "content": prompt}]}),
    )
    .await;
    assert!(answer["prompt_eval_count"].as_u64().unwrap() > 2048);

    let (status, answer) = json_post(
        &url,
        &[],
        &json!({"model": "qwen2.5-coder:14b", "stream": false, "messages": [{"role": "user", "content": "hi"}]}),
    )
    .await;
    assert_eq!(status, 404);
    assert_eq!(
        answer["error"],
        "model \"qwen2.5-coder:14b\" not found, try pulling it first"
    );
    assert_eq!(double.pending_steps(), 0);
}
