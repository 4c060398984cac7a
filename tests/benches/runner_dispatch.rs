//! Dispatch overhead of the runner relay: a generation request through
//! bot → runner → Ollama double against the same request sent straight to
//! the double with the same Ollama client, in the same run, at 1 and 8
//! concurrent requests. The bot runs in this process (as in production, where
//! the pipeline's `RunnerBackend` and the runner API share the bot process);
//! the runner is the real binary. Prints p50/p99 of both and the added latency.
//! Run: `cargo bench -p gitkeeper-e2e --bench runner_dispatch [-- REQUESTS POLL_MS]`
//! (build `gitkeeper-runner` in the same profile first).

// Test code: a failed unwrap is a failing test with its message.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use gitkeeper_bot::config::Settings;
use gitkeeper_bot::models::{
    ChatMessage, CompletionRequest, ModelBackend, build_backend_with_env, default_models,
};
use gitkeeper_bot::queue::{self, now_ms};
use gitkeeper_bot::runner_api::{RunnerBackend, auth};
use gitkeeper_e2e::models::{Flavor, ModelDouble, ModelDoubleOptions, Step};
use gitkeeper_e2e::runner::{PATIENCE, RunnerOptions, RunnerProcess};
use secrecy::ExposeSecret;
use tokio_util::sync::CancellationToken;

const MODEL: &str = "qwen2.5-coder:7b";

fn percentile(latencies: &[Duration], p: f64) -> Duration {
    let mut sorted = latencies.to_vec();
    sorted.sort();
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[idx]
}

/// Send `requests` calls through `backend`, `concurrency` at a time.
async fn drive(
    backend: Arc<dyn ModelBackend>,
    requests: usize,
    concurrency: usize,
) -> Vec<Duration> {
    let per_worker = requests.div_ceil(concurrency);
    let mut workers = Vec::new();
    for w in 0..concurrency {
        let backend = backend.clone();
        workers.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            for i in 0..per_worker {
                let request = CompletionRequest::new(vec![ChatMessage::user(format!(
                    "request {w}-{i}: write a function that adds two numbers"
                ))]);
                let start = Instant::now();
                if let Err(e) = backend.complete(&request).await {
                    panic!("call failed: {e}");
                }
                latencies.push(start.elapsed());
            }
            latencies
        }));
    }
    let mut all = Vec::new();
    for w in workers {
        all.extend(w.await.expect("worker"));
    }
    all
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let requests: usize = args.first().and_then(|a| a.parse().ok()).unwrap_or(40);
    let poll_ms: u64 = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(250);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    gitkeeper_bot::tls::install_crypto_provider();
    runtime.block_on(async move {
        let ollama = ModelDouble::start(
            Flavor::Ollama,
            ModelDoubleOptions {
                models: vec![MODEL.into()],
                default_step: Some(Step::reply("fn add(a: i32, b: i32) -> i32 { a + b }")),
                ..ModelDoubleOptions::default()
            },
        )
        .await;
        let dir = tempfile::tempdir().expect("temp dir");
        // The bot serves on this very listener: no free port to race for.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1:0");
        let bot_addr = listener.local_addr().expect("listener has an address");
        let database = format!("sqlite://{}", dir.path().join("gitkeeper.db").display());
        let env = [
            ("GITKEEPER_DATABASE__URL", database.clone()),
            ("GITKEEPER_DATA__DIR", dir.path().display().to_string()),
            ("GITKEEPER_RUNNER__POLL_INTERVAL_MS", poll_ms.to_string()),
            ("GITKEEPER_RUNNER__CLAIM_WAIT_SECS", "5".into()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        let settings = Settings::load_with_env(&dir.path().join("absent.toml"), Some(env))
            .expect("bench settings");
        let runner_settings = settings.runner.clone();
        let shutdown = CancellationToken::new();
        let bot = tokio::spawn(gitkeeper_bot::serve::serve_on(listener, settings, shutdown.clone()));
        let bot_url = format!("http://{bot_addr}");
        let store = loop {
            if reqwest::get(format!("{bot_url}/healthz")).await.is_ok() {
                break queue::open(&database, None).await.expect("open the store");
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        let token = auth::new_token();
        store
            .create_runner_token("bench", &auth::token_hash(token.expose_secret()), now_ms())
            .await
            .expect("token");
        let mut options = RunnerOptions::new(&bot_url, token.expose_secret(), &ollama.url());
        options.max_concurrency = 8;
        options.extra_toml = "model_concurrency = 8\n".into();
        let runner = RunnerProcess::start(&options, dir.path(), "bench");
        let deadline = Instant::now() + PATIENCE;
        while store
            .runners_serving(MODEL, runner_settings.offline_after(), now_ms())
            .await
            .expect("store")
            == 0
        {
            assert!(Instant::now() < deadline, "runner never came online:\n{}", runner.log());
            tokio::time::sleep(Duration::from_millis(20)).await;
        }

        let models = default_models();
        let mut direct_settings = models["local-small"].clone();
        direct_settings.endpoint = Some(ollama.url());
        let direct: Arc<dyn ModelBackend> =
            build_backend_with_env("local-small", &direct_settings, &|_| None).expect("direct backend");
        let relay: Arc<dyn ModelBackend> = Arc::new(
            RunnerBackend::new("local-small", &models["local-small"], store.clone(), runner_settings)
                .expect("relay backend"),
        );

        println!(
            "runner dispatch overhead ({requests} requests per row, [runner] poll_interval_ms = {poll_ms}, profile: {})",
            if cfg!(debug_assertions) { "dev" } else { "release" }
        );
        println!(
            "{:>11}  {:>10} {:>10}  {:>10} {:>10}  {:>12} {:>12}",
            "concurrency", "direct p50", "direct p99", "relay p50", "relay p99", "added p50", "added p99"
        );
        for concurrency in [1, 8] {
            // Warm both paths (connections, the runner's first claim).
            drive(direct.clone(), concurrency, concurrency).await;
            drive(relay.clone(), concurrency, concurrency).await;
            let d = drive(direct.clone(), requests, concurrency).await;
            let r = drive(relay.clone(), requests, concurrency).await;
            let (d50, d99, r50, r99) = (
                percentile(&d, 0.5),
                percentile(&d, 0.99),
                percentile(&r, 0.5),
                percentile(&r, 0.99),
            );
            println!(
                "{:>11}  {:>8.1}ms {:>8.1}ms  {:>8.1}ms {:>8.1}ms  {:>10.1}ms {:>10.1}ms",
                concurrency,
                ms(d50),
                ms(d99),
                ms(r50),
                ms(r99),
                ms(r50.saturating_sub(d50)),
                ms(r99.saturating_sub(d99)),
            );
        }
        drop(runner);
        shutdown.cancel();
        let _ = bot.await;
    });
}
