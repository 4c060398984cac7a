//! Group commit against one commit per delivery, in the same run, on SQLite
//! and PostgreSQL: `CONCURRENCY` submitters store `DELIVERIES` deliveries
//! (each queuing a job) three ways: each calling the store on its own (how
//! ingress stored before group commit), through the committer with batches
//! of one (one commit per delivery: serialized on SQLite, as many at once as
//! the store has writers on PostgreSQL), and through the committer with
//! batches of up to 256 (group commit). Every delivery is checked stored exactly once.
//! Run: `cargo bench -p gitkeeper-bot --bench group_commit [-- DELIVERIES CONCURRENCY]`.
//! PostgreSQL: `GITKEEPER_TEST_POSTGRES_URL` or postgres://postgres@127.0.0.1:5432/test.

// Bench code: a failed unwrap is a failed run with its message.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use gitkeeper_bot::ids::{CommentId, DeliveryId, InstallationId, IssueNumber, RepoId};
use gitkeeper_bot::intent::{Command, Intent, RepoRef, Sender, Target};
use gitkeeper_bot::queue::{self, Accepted, Committer, Delivery, JobStore, Submission};

#[derive(Clone, Copy, PartialEq)]
enum Way {
    /// Each submitter commits on its own, as ingress did.
    Direct,
    /// Through the committer, batches of at most this many.
    Committer(usize),
}

fn submission(run: usize, i: usize) -> Submission {
    let intent = Intent::Command {
        installation: InstallationId(1),
        repo: RepoRef {
            id: RepoId(1),
            owner: "octo".into(),
            name: "app".into(),
        },
        target: Target::PullRequest(IssueNumber((run * 1_000_000 + i) as u64)),
        comment_id: CommentId(i as u64),
        sender: Sender {
            login: "octo".into(),
            id: 1,
        },
        command: Command::Retry,
    };
    Submission {
        delivery: Delivery {
            id: DeliveryId(format!("bench-{run}-{i}")),
            event: "issue_comment".into(),
            outcome: "queued".into(),
        },
        coalesce_key: intent.coalesce_key(),
        intent: Some(intent),
    }
}

async fn drive(
    store: Arc<dyn JobStore>,
    way: Way,
    run: usize,
    deliveries: usize,
    concurrency: usize,
) -> (Duration, u64) {
    let committer = match way {
        Way::Committer(batch) => Some(Committer::spawn(store.clone(), batch)),
        Way::Direct => None,
    };
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let (store, committer, next) = (store.clone(), committer.clone(), next.clone());
        tasks.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if i >= deliveries {
                    break;
                }
                let s = submission(run, i);
                let accepted = match &committer {
                    Some(c) => c.submit(s).await.unwrap(),
                    None => store
                        .accept(&s.delivery, s.intent.as_ref(), queue::now_ms())
                        .await
                        .unwrap(),
                };
                assert!(
                    matches!(accepted, Accepted::Stored(Some(_))),
                    "{accepted:?}"
                );
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let elapsed = start.elapsed();
    (
        elapsed,
        committer.map_or(deliveries as u64, |c| c.commits()),
    )
}

async fn bench(name: &str, url: &str, deliveries: usize, concurrency: usize) {
    let store = queue::open(url, Some(20)).await.unwrap();
    let ways = [
        ("each submitter commits (before)", Way::Direct),
        ("committer, batches of 1", Way::Committer(1)),
        ("group commit, batches <= 256", Way::Committer(256)),
    ];
    // Warm up, then alternate the three twice so noise hits all of them.
    for (run, (_, way)) in ways.iter().enumerate() {
        drive(store.clone(), *way, 100 + run, 100, concurrency).await;
    }
    let mut best = [Duration::MAX; 3];
    let mut commits = [0u64; 3];
    for round in 0..2 {
        for (k, (_, way)) in ways.iter().enumerate() {
            let (t, c) = drive(store.clone(), *way, 10 * round + k, deliveries, concurrency).await;
            best[k] = best[k].min(t);
            commits[k] = c;
        }
    }
    let jobs = store.jobs(None, u32::MAX).await.unwrap();
    assert_eq!(
        jobs.len(),
        300 + 6 * deliveries,
        "{name}: every delivery stored once"
    );
    println!("{name}: {deliveries} deliveries, {concurrency} concurrent submitters (best of 2)");
    for (k, (label, _)) in ways.iter().enumerate() {
        println!(
            "  {label:<30} {:>9.0} deliveries/s  {:>6} commits",
            deliveries as f64 / best[k].as_secs_f64(),
            commits[k]
        );
    }
    let rate = |k: usize| deliveries as f64 / best[k].as_secs_f64();
    println!(
        "  group commit / batches of 1: {:.2}x   group commit / each submitter commits: {:.2}x",
        rate(2) / rate(1),
        rate(2) / rate(0)
    );
}

fn main() {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let deliveries = args.first().copied().unwrap_or(2000);
    let concurrency = args.get(1).copied().unwrap_or(50);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async move {
        let dir = tempfile::tempdir().unwrap();
        let sqlite = format!("sqlite://{}", dir.path().join("bench.db").display());
        bench("SQLite (WAL)", &sqlite, deliveries, concurrency).await;
        let base = std::env::var("GITKEEPER_TEST_POSTGRES_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
        let schema = format!("gk_bench_{}", std::process::id());
        let pool = sqlx::PgPool::connect(&base).await.unwrap();
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}")))
            .execute(&pool)
            .await
            .unwrap();
        let sep = if base.contains('?') { '&' } else { '?' };
        let pg = format!("{base}{sep}options[search_path]={schema}");
        bench("PostgreSQL", &pg, deliveries, concurrency).await;
        sqlx::query(sqlx::AssertSqlSafe(format!("DROP SCHEMA {schema} CASCADE")))
            .execute(&pool)
            .await
            .unwrap();
    });
}
