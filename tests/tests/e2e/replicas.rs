//! Several replicas: two real `gitkeeper-bot serve` processes on one
//! PostgreSQL database and one data dir (the layout of replicas sharing a
//! volume). Every delivery, whichever replica receives it, becomes one job
//! that runs exactly once; a replica killed mid-job leaves its job to the
//! other once the lease expires, with nothing done twice on GitHub.

use std::collections::BTreeMap;
use std::time::Duration;

use gitkeeper_e2e::bot::{BotOptions, BotProcess, fresh_postgres_url};
use gitkeeper_e2e::github::{Permission, ReactionTarget};
use gitkeeper_e2e::models::Step;
use gitkeeper_e2e::world::{BODY, ISSUE, OWNER, REPO, TITLE, World, good_answer, labeled};
use serde_json::{Value, json};

/// The lease both replicas hold jobs under: short, so a take-over is quick.
const LEASE_SECS: u64 = 3;

/// A world whose `mallory` may only read: her labelled issues each make a
/// light job (check her role, leave one polite comment, no model call).
async fn world() -> World {
    let world = World::start().await;
    world.default_answer(Step::reply(good_answer()));
    world
        .gh
        .set_permission(OWNER, REPO, "mallory", Permission::Read);
    world
}

fn options(world: &World, database_url: &str) -> BotOptions {
    let mut options = world.options();
    options.database_url = Some(database_url.to_string());
    options.lease_secs = LEASE_SECS;
    options.concurrency = 2;
    // JSON lines, so the test reads which replica started which job.
    options
        .extra_env
        .push(("GITKEEPER_LOG__FORMAT".into(), "json".into()));
    options
}

/// Issue `number` (created on the double), labelled by read-only `mallory`.
fn light_delivery(world: &World, number: u64) -> Value {
    world
        .gh
        .add_issue(OWNER, REPO, number, TITLE, BODY, "Codertocat");
    let mut event = labeled(number);
    event["sender"]["login"] = json!("mallory");
    event["sender"]["id"] = json!(9_001);
    event
}

/// How many times each job was started, by job id, from the replicas'
/// logs (JSON lines: the `job` span carries the id).
fn starts(bots: &[&BotProcess]) -> BTreeMap<i64, usize> {
    let mut starts = BTreeMap::new();
    for bot in bots {
        for line in bot.log().lines() {
            let Ok(event) = serde_json::from_str::<Value>(line) else {
                continue;
            };
            if event["fields"]["message"] != "job started" {
                continue;
            }
            let id = match &event["span"]["job_id"] {
                Value::String(id) => id.parse().ok(),
                id => id.as_i64(),
            };
            let id = id.unwrap_or_else(|| panic!("no job id in {line}"));
            *starts.entry(id).or_default() += 1;
        }
    }
    starts
}

/// The value of the sample `series` (exact name and labels) in `/metrics`.
async fn metric(bot: &BotProcess, series: &str) -> Option<f64> {
    let text = bot.get("/metrics").await.text().await.unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
        .map(|v| v.trim().parse().unwrap())
}

/// Poll `check` every 100 ms until it is true; panic saying `what` after `cap`.
async fn poll(what: &str, cap: Duration, mut check: impl AsyncFnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + cap;
    while !check().await {
        assert!(tokio::time::Instant::now() < deadline, "timed out: {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_run_each_of_200_deliveries_exactly_once() {
    const JOBS: u64 = 200;
    let world = world().await;
    let database = fresh_postgres_url().await;
    let options = options(&world, &database);
    let a = BotProcess::start(&options, world.dir.path()).await;
    let b = BotProcess::start(&options, world.dir.path()).await;
    let replicas = [&a, &b];

    let started = std::time::Instant::now();
    for n in 0..JOBS {
        let number = 1_000 + n;
        let event = light_delivery(&world, number);
        let delivery = format!("d-replica-{n}");
        let to = replicas[(n % 2) as usize];
        assert_eq!(to.webhook("issues", &delivery, &event).await.status(), 202);
        // Every tenth delivery comes again, to the other replica: GitHub
        // redelivers, and whichever replica gets it knows it.
        if n % 10 == 0 {
            let other = replicas[((n + 1) % 2) as usize];
            let again = other.webhook("issues", &delivery, &event).await;
            let body: Value = again.json().await.unwrap();
            assert_eq!(body["status"], "duplicate", "{n}");
        }
    }
    let jobs = a
        .wait_for_jobs(JOBS as usize, Duration::from_secs(240))
        .await;
    let elapsed = started.elapsed();
    assert_eq!(jobs.len(), JOBS as usize, "one job per delivery");
    let not_done: Vec<&Value> = jobs.iter().filter(|j| j["state"] != "succeeded").collect();
    assert!(not_done.is_empty(), "{not_done:#?}\n{}", a.log());
    assert!(jobs.iter().all(|j| j["attempts"] == 1), "{jobs:#?}");

    // Each job started once, on one replica; both replicas worked.
    let per_replica = [starts(&[&a]), starts(&[&b])];
    let all = starts(&replicas);
    let duplicates = all.values().filter(|n| **n > 1).count();
    let lost = jobs
        .iter()
        .filter(|j| !all.contains_key(&j["id"].as_i64().unwrap()))
        .count();
    println!(
        "replicas: {} jobs in {elapsed:.1?}, {} on A, {} on B, {duplicates} run twice, {lost} lost",
        jobs.len(),
        per_replica[0].len(),
        per_replica[1].len()
    );
    assert_eq!(all.len(), JOBS as usize, "{all:?}");
    assert_eq!(duplicates, 0, "{all:?}");
    assert_eq!(lost, 0);
    assert!(
        per_replica.iter().all(|r| !r.is_empty()),
        "one replica ran nothing: {per_replica:?}"
    );

    // On GitHub: each run asked the role once and left one comment.
    let asked = world
        .gh
        .requests_matching("GET", "/repos/*/*/collaborators/mallory/permission");
    assert_eq!(asked.len(), JOBS as usize);
    for n in 0..JOBS {
        let comments = world.gh.comments(OWNER, REPO, 1_000 + n);
        assert_eq!(comments.len(), 1, "issue {}: {comments:#?}", 1_000 + n);
    }

    // The metrics agree: the replicas' finished jobs add up to one each, and
    // both read the same shared queue, empty now.
    let finished = "gitkeeper_jobs_finished_total{state=\"succeeded\"}";
    let counted =
        metric(&a, finished).await.unwrap_or(0.0) + metric(&b, finished).await.unwrap_or(0.0);
    assert_eq!(counted, JOBS as f64);
    for bot in replicas {
        assert_eq!(
            metric(bot, "gitkeeper_jobs{state=\"succeeded\"}").await,
            Some(JOBS as f64)
        );
        poll(
            "the queue gauges read the empty queue",
            Duration::from_secs(30),
            async || {
                metric(bot, "gitkeeper_queue_depth").await == Some(0.0)
                    && metric(bot, "gitkeeper_queue_oldest_seconds").await == Some(0.0)
            },
        )
        .await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_killed_mid_job_leaves_its_jobs_to_the_other_after_the_lease() {
    const LIGHT: u64 = 20;
    let world = world().await;
    let gh = &world.gh;
    let database = fresh_postgres_url().await;
    let options = options(&world, &database);
    // The first model call hangs: the replica running the labelled issue's
    // job is waiting for it when it is killed (nothing of it in flight to
    // GitHub). The run after the take-over gets the default answer at once.
    world
        .ollama
        .push(Step::reply(good_answer()).delay(Duration::from_secs(15)));
    let mut a = BotProcess::start(&options, world.dir.path()).await;
    let mut b = BotProcess::start(&options, world.dir.path()).await;
    assert_eq!(
        a.webhook("issues", "d-full", &labeled(ISSUE))
            .await
            .status(),
        202
    );
    for n in 0..LIGHT {
        let event = light_delivery(&world, 2_000 + n);
        let to = if n % 2 == 0 { &a } else { &b };
        to.webhook("issues", &format!("d-light-{n}"), &event).await;
    }

    poll(
        "a replica asks the model",
        Duration::from_secs(60),
        async || !world.ollama.completion_requests().is_empty(),
    )
    .await;
    let full = a
        .jobs()
        .into_iter()
        .find(|j| j["delivery_id"] == "d-full")
        .expect("the labelled issue's job");
    let owner = full["lease_owner"].as_str().unwrap_or_default().to_string();
    // Kill whichever replica holds it (lease owners are `host-pid-…/wN`).
    let a_holds = owner.contains(&format!("-{}-", a.pid().unwrap()));
    let b_holds = owner.contains(&format!("-{}-", b.pid().unwrap()));
    assert!(a_holds != b_holds, "{owner:?} is neither replica's");
    let (victim, survivor) = if a_holds {
        (&mut a, &mut b)
    } else {
        (&mut b, &mut a)
    };
    victim.kill9();
    let killed = std::time::Instant::now();
    let survivor: &BotProcess = survivor;

    // The survivor claims the job once its lease has expired, and finishes it.
    let id = full["id"].as_i64().unwrap();
    poll(
        "the survivor takes the job over",
        Duration::from_secs(60),
        async || starts(&[survivor]).contains_key(&id),
    )
    .await;
    let take_over = killed.elapsed();
    let jobs = survivor
        .wait_for_jobs(1 + LIGHT as usize, Duration::from_secs(120))
        .await;
    println!("replicas: job {id} taken over {take_over:.1?} after the kill (lease {LEASE_SECS} s)");
    assert!(
        jobs.iter().all(|j| j["state"] == "succeeded"),
        "{jobs:#?}\n{}",
        survivor.log()
    );
    let full = jobs.iter().find(|j| j["id"] == id).unwrap();
    assert_eq!(full["attempts"], 2, "{full:#?}");

    // Run twice, done once on GitHub.
    assert_eq!(
        world.status_comments(ISSUE).len(),
        1,
        "{:#?}",
        gh.comments(OWNER, REPO, ISSUE)
    );
    assert_eq!(gh.pulls(OWNER, REPO).len(), 1);
    let commits = gh.requests_matching("POST", &format!("/repos/{OWNER}/{REPO}/git/commits"));
    assert_eq!(commits.len(), 1, "one commit, by the survivor");
    assert_eq!(
        gh.reactions(OWNER, REPO, ReactionTarget::Issue(ISSUE))
            .len(),
        1
    );
    for n in 0..LIGHT {
        assert_eq!(
            gh.comments(OWNER, REPO, 2_000 + n).len(),
            1,
            "issue {}",
            2_000 + n
        );
    }

    // The survivor's metrics show the model call it made for the job (the
    // victim's call never ended).
    let text = survivor.get("/metrics").await.text().await.unwrap();
    let passed = sum(
        &text,
        "gitkeeper_model_attempts_total{",
        "outcome=\"passed\"",
    );
    assert_eq!(passed, 1.0, "{text}");
    let answered = sum(&text, "gitkeeper_model_call_duration_seconds_count{", "");
    assert_eq!(answered, 1.0, "{text}");
    let prompt = sum(&text, "gitkeeper_model_tokens_total{", "kind=\"prompt\"");
    assert!(prompt > 0.0, "{text}");
}

/// The sum of the samples in `text` whose series starts with `prefix` and
/// contains `label`.
fn sum(text: &str, prefix: &str, label: &str) -> f64 {
    text.lines()
        .filter(|l| l.starts_with(prefix) && l.contains(label))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}
