//! Webhook ingress benchmark: signed `issues.labeled` deliveries through
//! signature check + dedupe + enqueue on SQLite, against a baseline handler
//! that only answers 200, in the same run and over the same loopback HTTP.
//! Run: `cargo bench -p gitkeeper-bot --bench ingress [-- REQUESTS CONCURRENCY]`.

// Test code: a failed unwrap is a failing test with its message.
#![allow(clippy::unwrap_used)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::routing::post;
use gitkeeper_bot::config::{ServerSettings, TriggerSettings};
use gitkeeper_bot::ingress::{self, Ingress, signature};
use gitkeeper_bot::metrics::Metrics;
use gitkeeper_bot::queue;
use secrecy::SecretString;
use tokio::sync::Notify;

const SECRET: &str = "bench-secret";

fn payload(i: usize) -> Vec<u8> {
    serde_json::json!({
        "action": "labeled",
        "issue": {"number": i, "title": format!("Add field {i}"), "body": "Add an `archived` flag to Project and filter archived projects out of the list page.", "user": {"login": "octo", "id": 1, "type": "User"}},
        "label": {"id": 1, "name": "gitkeeper"},
        "repository": {"id": 1296269, "name": "app", "full_name": "octo/app", "owner": {"login": "octo", "id": 1}},
        "sender": {"login": "octo", "id": 1, "type": "User"},
        "installation": {"id": 42}
    })
    .to_string()
    .into_bytes()
}

async fn start(router: Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind loopback");
    let addr = listener.local_addr().expect("local addr");
    tokio::spawn(async move { axum::serve(listener, router).await });
    addr
}

struct Run {
    elapsed: Duration,
    latencies: Vec<Duration>,
}

impl Run {
    fn throughput(&self) -> f64 {
        self.latencies.len() as f64 / self.elapsed.as_secs_f64()
    }
    fn percentile(&self, p: f64) -> Duration {
        let mut sorted = self.latencies.clone();
        sorted.sort();
        let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
        sorted[idx]
    }
}

async fn drive(addr: SocketAddr, requests: usize, concurrency: usize, offset: usize) -> Run {
    let client = reqwest::Client::new();
    let bodies: Arc<Vec<(Vec<u8>, String)>> = Arc::new(
        (0..requests)
            .map(|i| {
                let body = payload(i + offset);
                let sig = signature::sign(SECRET.as_bytes(), &body);
                (body, sig)
            })
            .collect(),
    );
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let client = client.clone();
        let bodies = bodies.clone();
        let next = next.clone();
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some((body, sig)) = bodies.get(i) else {
                    break;
                };
                let t = Instant::now();
                let response = client
                    .post(format!("http://{addr}/webhooks"))
                    .header("x-github-event", "issues")
                    .header("x-github-delivery", format!("bench-{}", i + offset))
                    .header("x-hub-signature-256", sig)
                    .header("content-type", "application/json")
                    .body(body.clone())
                    .send()
                    .await
                    .expect("request");
                assert!(
                    response.status().is_success(),
                    "status {}",
                    response.status()
                );
                latencies.push(t.elapsed());
            }
            latencies
        }));
    }
    let mut latencies = Vec::new();
    for t in tasks {
        latencies.extend(t.await.expect("task"));
    }
    Run {
        elapsed: start.elapsed(),
        latencies,
    }
}

fn main() {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let requests = args.first().copied().unwrap_or(4000);
    let concurrency = args.get(1).copied().unwrap_or(8);
    gitkeeper_bot::tls::install_crypto_provider();
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async move {
        let dir = tempfile::tempdir().expect("tempdir");
        let url = format!("sqlite://{}", dir.path().join("bench.db").display());
        let store = queue::open(&url, None).await.expect("store");
        let state = Ingress {
            committer: queue::Committer::spawn(store.clone(), 256),
            store,
            metrics: Arc::new(Metrics::default()),
            wake: Arc::new(Notify::new()),
            webhook_secret: Some(SecretString::from(SECRET)),
            trigger: TriggerSettings::default(),
            github_ready: Ok(()),
            limits: ingress::Limits::from_settings(&ServerSettings::default()),
        };
        let real = start(ingress::router(state)).await;
        let baseline = start(Router::new().route("/webhooks", post(|| async { "ok" }))).await;

        // Warm both, then measure alternately so machine noise hits both.
        drive(baseline, 200, concurrency, 10_000_000).await;
        drive(real, 200, concurrency, 20_000_000).await;
        let base = drive(baseline, requests, concurrency, 0).await;
        let ingest = drive(real, requests, concurrency, 0).await;

        println!("webhook ingress, {requests} signed issues.labeled deliveries, {concurrency} concurrent clients, SQLite (WAL) job store");
        println!("{:<28} {:>12} {:>10} {:>10}", "", "req/s", "p50", "p99");
        for (name, run) in [("baseline (200 only)", &base), ("verify+dedupe+enqueue", &ingest)] {
            println!(
                "{:<28} {:>12.0} {:>10.2?} {:>10.2?}",
                name,
                run.throughput(),
                run.percentile(0.50),
                run.percentile(0.99)
            );
        }
        println!(
            "ratio (ingress / baseline): throughput {:.2}x, p50 {:.2}x, p99 {:.2}x",
            ingest.throughput() / base.throughput(),
            ingest.percentile(0.50).as_secs_f64() / base.percentile(0.50).as_secs_f64(),
            ingest.percentile(0.99).as_secs_f64() / base.percentile(0.99).as_secs_f64()
        );
    });
}
