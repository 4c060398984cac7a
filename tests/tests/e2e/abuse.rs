//! End-to-end: the webhook endpoint driven black-box by clients without the
//! secret (wrong signatures, invented event names, huge bodies, slow or
//! silent connections) and against a sick store (its data directory
//! deleted). Nothing an unauthenticated request sends becomes state, memory
//! stays bounded, slow clients are cut off, and no delivery is answered 202
//! unless it is stored.

use std::path::Path;
use std::time::Duration;

use gitkeeper_e2e::bot::{BotOptions, BotProcess, WEBHOOK_SECRET, sign};
use gitkeeper_e2e::models::Step;
use gitkeeper_e2e::world::{
    INSTALLATION, ISSUE, OWNER, REPO, World, comment, good_answer, labeled, settled,
};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The bot's options with `settings` as `GITKEEPER_…` variables.
fn with_env(mut options: BotOptions, settings: &[(&str, &str)]) -> BotOptions {
    options.extra_env.extend(
        settings
            .iter()
            .map(|(k, v)| ((*k).to_string(), (*v).to_string())),
    );
    options
}

/// A bot whose GitHub App key is missing: it accepts webhooks and runs no
/// job, so what ingress stored stays queued for the test to read.
fn without_workers(world: &World, dir: &Path) -> BotOptions {
    with_env(
        world.options(),
        &[(
            "GITKEEPER_GITHUB__PRIVATE_KEY_PATH",
            &dir.join("missing.pem").display().to_string(),
        )],
    )
}

/// How many deliveries the bot's SQLite store holds.
async fn stored_deliveries(data_dir: &Path) -> i64 {
    let url = format!("sqlite://{}", data_dir.join("gitkeeper.db").display());
    let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
    let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM deliveries")
        .fetch_one(&pool)
        .await
        .unwrap();
    n
}

/// A field of `/proc/<pid>/status` in KiB (`VmRSS`, `VmHWM`).
fn proc_kib(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or_else(|| panic!("no {field} in /proc/{pid}/status"))
}

/// POST `body` to the bot's webhook URL with these headers; the status.
async fn post(
    client: reqwest::Client,
    url: String,
    event: String,
    delivery: String,
    signature: String,
    body: Vec<u8>,
) -> u16 {
    client
        .post(url)
        .header("x-github-event", event)
        .header("x-github-delivery", delivery)
        .header("x-hub-signature-256", signature)
        .body(body)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test]
async fn unsigned_requests_leave_no_metric_label_no_row_and_no_long_log_line() {
    let world = World::start().await;
    let dir = tempfile::tempdir().unwrap();
    let bot = BotProcess::start(&world.options(), dir.path()).await;
    let before = bot.get("/metrics").await.text().await.unwrap().len();
    let body = serde_json::to_vec(&labeled(ISSUE)).unwrap();
    let wrong = sign("not-the-secret", &body);
    let client = reqwest::Client::new();
    for round in 0..20 {
        let mut requests = tokio::task::JoinSet::new();
        for i in 0..50 {
            let (client, body, wrong) = (client.clone(), body.clone(), wrong.clone());
            let url = format!("{}webhooks", bot.url());
            let n = round * 50 + i;
            requests.spawn(post(
                client,
                url,
                format!("evil-{n}-{}", "e".repeat(300)),
                format!("d-{n}-{}", "d".repeat(300)),
                wrong,
                body,
            ));
        }
        while let Some(status) = requests.join_next().await {
            assert_eq!(status.unwrap(), 401);
        }
    }
    let metrics = bot.get("/metrics").await.text().await.unwrap();
    assert!(!metrics.contains("evil-"), "{metrics}");
    assert!(
        metrics.contains(
            "gitkeeper_webhooks_received_total{event=\"other\",outcome=\"bad_signature\"} 1000"
        ),
        "{metrics}"
    );
    // Only the counters of the routes and statuses seen so far were added.
    assert!(
        metrics.len() < before + 8 * 1024,
        "{before} -> {}",
        metrics.len()
    );
    assert!(bot.jobs().is_empty());
    assert_eq!(stored_deliveries(dir.path()).await, 0);
    let log = bot.log();
    let refused = log
        .lines()
        .filter(|l| l.contains("webhook refused (401)"))
        .count();
    assert_eq!(refused, 1000, "{log}");
    assert!(
        !log.contains(&"e".repeat(100)),
        "a header reached the log whole"
    );
    let longest = log.lines().map(str::len).max().unwrap_or(0);
    assert!(longest < 600, "a log line of {longest} bytes");
}

#[tokio::test]
async fn slow_and_silent_clients_are_cut_off() {
    let world = World::start().await;
    let dir = tempfile::tempdir().unwrap();
    let options = with_env(
        world.options(),
        &[
            ("GITKEEPER_SERVER__HEADER_TIMEOUT_SECS", "1"),
            ("GITKEEPER_SERVER__BODY_TIMEOUT_SECS", "1"),
        ],
    );
    let bot = BotProcess::start(&options, dir.path()).await;
    // What the bot sends back before it closes the connection; a test
    // failure (not a hang) if it is still open after a generous wait.
    async fn until_closed(stream: &mut tokio::net::TcpStream) -> String {
        let mut answer = Vec::new();
        let read = tokio::time::timeout(Duration::from_secs(30), stream.read_to_end(&mut answer));
        match read.await {
            Ok(_) => String::from_utf8_lossy(&answer).into_owned(),
            Err(_) => panic!("the connection is still open after 30 s"),
        }
    }

    // Connects and says nothing.
    let mut silent = tokio::net::TcpStream::connect(bot.addr()).await.unwrap();
    until_closed(&mut silent).await;

    // Half the headers, then nothing.
    let mut partial = tokio::net::TcpStream::connect(bot.addr()).await.unwrap();
    partial
        .write_all(b"POST /webhooks HTTP/1.1\r\nhost: bot\r\nx-github-event: iss")
        .await
        .unwrap();
    until_closed(&mut partial).await;

    // All the headers, a tenth of the body, then nothing.
    let mut slow = tokio::net::TcpStream::connect(bot.addr()).await.unwrap();
    let head = format!(
        "POST /webhooks HTTP/1.1\r\nhost: bot\r\nx-github-event: issues\r\nx-github-delivery: d-slow\r\nx-hub-signature-256: sha256={}\r\ncontent-length: 1000\r\n\r\n{{\"action\":",
        "0".repeat(64)
    );
    slow.write_all(head.as_bytes()).await.unwrap();
    let answer = until_closed(&mut slow).await;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");

    // The server still answers everyone else.
    let r = bot.webhook("issues", "d-after", &labeled(ISSUE)).await;
    assert_eq!(r.status(), 202);
    assert!(bot.log().contains("webhook refused (408)"), "{}", bot.log());
}

#[tokio::test]
async fn large_unsigned_bodies_are_read_a_few_at_a_time() {
    let world = World::start().await;
    let dir = tempfile::tempdir().unwrap();
    let limit = 25 * 1024 * 1024;
    // Room for one largest body at a time.
    let options = with_env(
        world.options(),
        &[(
            "GITKEEPER_SERVER__MAX_INFLIGHT_BODY_BYTES",
            &limit.to_string(),
        )],
    );
    let bot = BotProcess::start(&options, dir.path()).await;
    let pid = bot.pid().unwrap();
    let before = proc_kib(pid, "VmRSS");

    // Without a signature header the body is not read at all.
    assert_eq!(
        bot.post_declaring_length("issues", "d-unsigned", limit)
            .await,
        401
    );

    let body = vec![b'x'; limit];
    let wrong = sign("not-the-secret", &body);
    let client = reqwest::Client::new();
    let mut requests = tokio::task::JoinSet::new();
    for i in 0..8 {
        let (client, body, wrong) = (client.clone(), body.clone(), wrong.clone());
        let url = format!("{}webhooks", bot.url());
        requests.spawn(post(
            client,
            url,
            "issues".into(),
            format!("d-big-{i}"),
            wrong,
            body,
        ));
    }
    while let Some(status) = requests.join_next().await {
        assert_eq!(status.unwrap(), 401);
    }
    // The peak over the whole burst: eight bodies at once would be 200 MiB
    // and more (the issue measured 161 MiB growth); one at a time is one body
    // and its copy.
    let peak = proc_kib(pid, "VmHWM");
    let grown_mib = peak.saturating_sub(before) / 1024;
    assert!(grown_mib < 110, "resident memory grew by {grown_mib} MiB");
}

#[tokio::test]
async fn a_deleted_data_directory_refuses_deliveries_and_readiness_says_so() {
    let world = World::start().await;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let options = with_env(
        world.options(),
        &[("GITKEEPER_DATA__DIR", &data.display().to_string())],
    );
    let bot = BotProcess::start(&options, dir.path()).await;
    assert_eq!(bot.get("/readyz").await.status(), 200);
    std::fs::remove_dir_all(&data).unwrap();
    for i in 0..6 {
        let r = bot
            .webhook("issues", &format!("d-lost-{i}"), &labeled(ISSUE))
            .await;
        assert_eq!(r.status(), 503, "delivery {i} would be lost");
    }
    let ready = bot.get("/readyz").await;
    assert_eq!(ready.status(), 503);
    let body: Value = ready.json().await.unwrap();
    assert!(
        body["checks"]["database"]
            .as_str()
            .unwrap()
            .contains("was deleted or replaced"),
        "{body}"
    );
}

#[tokio::test]
async fn refused_requests_are_logged_in_plain_text_and_413s_are_counted() {
    let world = World::start().await;
    let dir = tempfile::tempdir().unwrap();
    let bot = BotProcess::start(&world.options(), dir.path()).await;
    let junk = b"{\"action\": \"labeled\"".to_vec();
    let r = bot
        .webhook_raw(
            "",
            "d-no-event",
            junk.clone(),
            Some(&sign(WEBHOOK_SECRET, &junk)),
        )
        .await;
    assert_eq!(r.status(), 400);
    assert_eq!(
        bot.post_declaring_length("issues", "d-huge", 26 * 1024 * 1024)
            .await,
        413
    );
    let log = bot.log();
    assert!(
        log.contains("webhook refused (400): X-GitHub-Event header is missing"),
        "{log}"
    );
    assert!(log.contains("webhook refused (413)"), "{log}");
    assert!(
        !log.contains('\u{1b}'),
        "colour codes in a log file:\n{log}"
    );
    let metrics = bot.get("/metrics").await.text().await.unwrap();
    assert!(
        metrics.contains(
            "gitkeeper_webhooks_received_total{event=\"issues\",outcome=\"too_large\"} 1"
        ),
        "{metrics}"
    );
}

#[tokio::test]
async fn a_huge_issue_body_is_stored_cut_with_a_note() {
    let world = World::start().await;
    let dir = tempfile::tempdir().unwrap();
    let bot = BotProcess::start(&without_workers(&world, dir.path()), dir.path()).await;
    let mut event = labeled(ISSUE);
    event["issue"]["body"] = json!(format!("Fix the greeting.\n{}", "x".repeat(2 << 20)));
    let r = bot.webhook("issues", "d-huge-body", &event).await;
    assert_eq!(r.status(), 202);
    let jobs = bot.jobs();
    assert_eq!(jobs.len(), 1, "{jobs:#?}");
    let body = jobs[0]["intent"]["body"].as_str().unwrap();
    assert!(body.starts_with("Fix the greeting.\n"));
    assert!(body.len() < 70 * 1024, "{} bytes stored", body.len());
    assert!(body.contains("[gitkeeper: the text was cut here;"));
}

#[tokio::test]
async fn the_same_request_again_joins_the_queued_job() {
    let world = World::start().await;
    let dir = tempfile::tempdir().unwrap();
    let bot = BotProcess::start(&without_workers(&world, dir.path()), dir.path()).await;
    let first = bot.webhook("issues", "d-label-1", &labeled(ISSUE)).await;
    assert_eq!(first.status(), 202);
    let first: Value = first.json().await.unwrap();
    assert_eq!(first["status"], "queued");
    // Unlabelled and labelled again: a new delivery, the same request.
    let again = bot.webhook("issues", "d-label-2", &labeled(ISSUE)).await;
    let again: Value = again.json().await.unwrap();
    assert_eq!(again["status"], "coalesced", "{again}");
    assert_eq!(again["job_id"], first["job_id"]);
    // A repeated command, twice; another command is work of its own.
    for (delivery, id, text) in [
        ("d-c1", 11, "/gitkeeper retry"),
        ("d-c2", 12, "/gitkeeper retry"),
        ("d-c3", 13, "/gitkeeper escalate"),
    ] {
        let r = bot
            .webhook("issue_comment", delivery, &comment(ISSUE, id, text, false))
            .await;
        assert_eq!(r.status(), 202);
    }
    let jobs = bot.jobs();
    assert_eq!(jobs.len(), 3, "{jobs:#?}");
    assert!(
        bot.log()
            .contains("the same request is already queued or running"),
        "{}",
        bot.log()
    );
}

#[tokio::test]
async fn the_issue_is_told_when_a_job_answers_a_repeated_request() {
    let world = World::start().await;
    world.default_answer(Step::reply(good_answer()));
    let dir = tempfile::tempdir().unwrap();
    let mut idle = BotProcess::start(&without_workers(&world, dir.path()), dir.path()).await;
    for delivery in ["d-twice-1", "d-twice-2", "d-twice-3"] {
        let r = bot_webhook(&idle, delivery).await;
        assert_eq!(r.status(), 202);
    }
    assert!(idle.terminate().await, "{}", idle.log());
    // Workers start on the same store: one job, and the issue says why.
    let bot = BotProcess::start(&world.options(), dir.path()).await;
    let jobs = settled(&bot, 1).await;
    assert_eq!(jobs.len(), 1, "{jobs:#?}");
    let comments = world.status_comments(ISSUE);
    assert_eq!(comments.len(), 1, "{comments:#?}");
    assert!(
        comments[0].contains("Asked 2 more times while it waited"),
        "{comments:#?}"
    );
}

async fn bot_webhook(bot: &BotProcess, delivery: &str) -> reqwest::Response {
    bot.webhook("issues", delivery, &labeled(ISSUE)).await
}

/// One request of a burst.
#[derive(Clone)]
struct Shot {
    event: &'static str,
    delivery: String,
    body: Vec<u8>,
    signature: String,
    /// Signed with the right secret.
    valid: bool,
    /// Queues a job (a `/gitkeeper help` on an issue of its own).
    job: bool,
}

/// `n` deliveries named `<prefix>-<i>`: a third `/gitkeeper help` comments
/// (a job each, on issues added to the double), a third closed Gitkeeper
/// pull requests and a third installations (recorded, no job); every tenth
/// repeats the delivery before it (same id and body), one in twenty is
/// signed with the wrong secret.
fn burst(world: &World, prefix: &str, n: usize, first_issue: u64) -> Vec<Shot> {
    let mut shots: Vec<Shot> = Vec::with_capacity(n);
    for i in 0..n {
        if i % 10 == 9 {
            let again = shots[i - 1].clone();
            shots.push(again);
            continue;
        }
        let (event, body, job) = match i % 3 {
            0 => {
                let number = first_issue + i as u64;
                world.gh.add_issue(
                    OWNER,
                    REPO,
                    number,
                    "A question",
                    "What can you do?",
                    "Codertocat",
                );
                let id = world
                    .gh
                    .add_comment(OWNER, REPO, number, "Codertocat", "/gitkeeper help");
                (
                    "issue_comment",
                    comment(number, id, "/gitkeeper help", false),
                    true,
                )
            }
            1 => {
                let mut v =
                    gitkeeper_e2e::bot::webhook_fixture("pull_request.closed.json", INSTALLATION);
                v["pull_request"]["number"] = json!(100_000 + i);
                v["pull_request"]["head"]["ref"] = json!(format!("gitkeeper/{i}-a-change"));
                v["pull_request"]["body"] = json!(format!(
                    "A change.\n\n<!-- gitkeeper:issue={} -->",
                    1 + i % 50
                ));
                ("pull_request", v, false)
            }
            _ => (
                "installation",
                gitkeeper_e2e::bot::webhook_fixture(
                    "installation.created.json",
                    1_000_000 + i as u64,
                ),
                false,
            ),
        };
        let body = serde_json::to_vec(&body).unwrap();
        let valid = i % 20 != 7;
        let secret = if valid {
            WEBHOOK_SECRET
        } else {
            "not-the-secret"
        };
        shots.push(Shot {
            event,
            delivery: format!("{prefix}-{i}"),
            signature: sign(secret, &body),
            body,
            valid,
            job: job && valid,
        });
    }
    shots
}

/// Send `shots` over `connections` concurrent connections; the status each
/// got, `None` when the connection failed (the bot was killed). `sent`
/// counts answers as they come.
async fn fire(
    url: String,
    shots: Vec<Shot>,
    connections: usize,
    sent: std::sync::Arc<std::sync::atomic::AtomicUsize>,
) -> Vec<(Shot, Option<u16>)> {
    let shots = std::sync::Arc::new(shots);
    let next = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut senders = tokio::task::JoinSet::new();
    for _ in 0..connections {
        let (url, shots, next, sent) = (url.clone(), shots.clone(), next.clone(), sent.clone());
        senders.spawn(async move {
            // One connection each, kept alive, as GitHub's senders do.
            let client = reqwest::Client::builder()
                .pool_max_idle_per_host(1)
                .timeout(Duration::from_secs(60))
                .build()
                .unwrap();
            let mut answers = Vec::new();
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some(shot) = shots.get(i) else { break };
                let status = client
                    .post(format!("{url}webhooks"))
                    .header("x-github-event", shot.event)
                    .header("x-github-delivery", &shot.delivery)
                    .header("x-hub-signature-256", &shot.signature)
                    .header("content-type", "application/json")
                    .body(shot.body.clone())
                    .send()
                    .await
                    .ok()
                    .map(|r| r.status().as_u16());
                sent.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                answers.push((shot.clone(), status));
            }
            answers
        });
    }
    let mut answers = Vec::new();
    while let Some(done) = senders.join_next().await {
        answers.extend(done.unwrap());
    }
    answers
}

/// The delivery ids in the store, and the delivery ids with more than one job.
async fn store_contents(data_dir: &Path) -> (std::collections::BTreeSet<String>, Vec<String>) {
    let url = format!("sqlite://{}", data_dir.join("gitkeeper.db").display());
    let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
    let ids: Vec<(String,)> = sqlx::query_as("SELECT delivery_id FROM deliveries")
        .fetch_all(&pool)
        .await
        .unwrap();
    let twice: Vec<(String,)> =
        sqlx::query_as("SELECT delivery_id FROM jobs GROUP BY delivery_id HAVING COUNT(*) > 1")
            .fetch_all(&pool)
            .await
            .unwrap();
    pool.close().await;
    (
        ids.into_iter().map(|(id,)| id).collect(),
        twice.into_iter().map(|(id,)| id).collect(),
    )
}

/// Wait (bounded) until no job is queued or running; the jobs then.
async fn drained(bot: &BotProcess, jobs: usize) -> Vec<Value> {
    let jobs = bot.wait_for_jobs(jobs, Duration::from_secs(180)).await;
    assert!(
        jobs.iter()
            .all(|j| !matches!(j["state"].as_str(), Some("queued" | "running"))),
        "{jobs:#?}"
    );
    jobs
}

#[tokio::test]
async fn a_burst_of_two_thousand_deliveries_is_stored_exactly_once_in_bounded_memory() {
    let world = World::start().await;
    let dir = tempfile::tempdir().unwrap();
    let mut options = world.options();
    options.concurrency = 4;
    let bot = BotProcess::start(&options, dir.path()).await;
    let pid = bot.pid().unwrap();
    let before = proc_kib(pid, "VmRSS");
    let shots = burst(&world, "load", 2000, 10_000);
    let sent = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let answers = fire(bot.url(), shots, 50, sent).await;
    assert_eq!(answers.len(), 2000);
    for (shot, status) in &answers {
        let expected = if shot.valid { 202 } else { 401 };
        assert_eq!(*status, Some(expected), "{}\n{}", shot.delivery, bot.log());
    }
    let valid: std::collections::BTreeSet<String> = answers
        .iter()
        .filter(|(s, _)| s.valid)
        .map(|(s, _)| s.delivery.clone())
        .collect();
    let (stored, twice) = store_contents(dir.path()).await;
    assert_eq!(stored, valid, "every valid delivery stored, nothing else");
    assert!(twice.is_empty(), "deliveries with two jobs: {twice:?}");
    let jobs: std::collections::BTreeSet<&str> = answers
        .iter()
        .filter(|(s, _)| s.job)
        .map(|(s, _)| s.delivery.as_str())
        .collect();
    let grown_mib = proc_kib(pid, "VmHWM").saturating_sub(before) / 1024;
    assert!(grown_mib < 100, "resident memory grew by {grown_mib} MiB");
    let finished = drained(&bot, jobs.len()).await;
    assert_eq!(finished.len(), jobs.len());
}

#[tokio::test]
async fn a_burst_killed_midway_keeps_every_acknowledged_delivery_exactly_once() {
    let world = World::start().await;
    let dir = tempfile::tempdir().unwrap();
    let mut options = world.options();
    options.concurrency = 4;
    let mut bot = BotProcess::start(&options, dir.path()).await;
    let shots = burst(&world, "kill", 2000, 20_000);
    let sent = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let burst = tokio::spawn(fire(bot.url(), shots.clone(), 50, sent.clone()));
    // Bounded: at most 20 s of polling for the middle of the burst.
    for _ in 0..2000 {
        if sent.load(std::sync::atomic::Ordering::Relaxed) >= 800 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    bot.kill9();
    let answers = burst.await.unwrap();
    let acknowledged: std::collections::BTreeSet<String> = answers
        .iter()
        .filter(|(_, status)| *status == Some(202))
        .map(|(s, _)| s.delivery.clone())
        .collect();
    let refused = answers
        .iter()
        .filter(|(_, status)| status.is_none())
        .count();
    assert!(
        refused > 0,
        "the bot was killed after the burst, not during it"
    );
    assert!(
        answers
            .iter()
            .all(|(s, status)| s.valid || *status != Some(202)),
        "a badly signed delivery was acknowledged"
    );

    bot.restart().await;
    let (stored, twice) = store_contents(dir.path()).await;
    let lost: Vec<&String> = acknowledged.difference(&stored).collect();
    assert!(lost.is_empty(), "acknowledged and lost: {lost:?}");
    assert!(twice.is_empty(), "deliveries with two jobs: {twice:?}");

    // GitHub's redelivery of what got no answer: then everything valid is
    // stored once, and the queue drains.
    let unanswered: Vec<Shot> = answers
        .iter()
        .filter(|(_, status)| status.is_none())
        .map(|(s, _)| s.clone())
        .collect();
    let again = fire(
        bot.url(),
        unanswered,
        50,
        std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0)),
    )
    .await;
    for (shot, status) in &again {
        let expected = if shot.valid { 202 } else { 401 };
        assert_eq!(*status, Some(expected), "{}", shot.delivery);
    }
    let valid: std::collections::BTreeSet<String> = shots
        .iter()
        .filter(|s| s.valid)
        .map(|s| s.delivery.clone())
        .collect();
    let (stored, twice) = store_contents(dir.path()).await;
    assert_eq!(stored, valid);
    assert!(twice.is_empty(), "deliveries with two jobs: {twice:?}");
    let jobs = shots
        .iter()
        .filter(|s| s.job)
        .map(|s| s.delivery.as_str())
        .collect::<std::collections::BTreeSet<_>>()
        .len();
    drained(&bot, jobs).await;
}
