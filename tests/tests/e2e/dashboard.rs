//! End-to-end: `GET /dashboard` in a real browser (Debian's `chromium`,
//! headless). The bot serves the page from a database seeded through the
//! job store (three tasks, their attempts, a merged pull request, a runner);
//! the page shows the seeded figures, charts and links, a wrong token is
//! refused, and a screenshot is written beside the test's target directory.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use gitkeeper_bot::ids::{DeliveryId, InstallationId, IssueNumber, JobId, RepoId};
use gitkeeper_bot::intent::{Intent, RepoRef, Sender};
use gitkeeper_bot::queue::{self, Delivery, Finish, JobStore, now_ms};
use gitkeeper_bot::trail::{
    Attempt, AttemptOutcome, AttemptRole, PullOutcome, TaskOutcome, TaskRecord, TaskType,
};
use gitkeeper_e2e::bot::{BotOptions, BotProcess};
use gitkeeper_e2e::github::{GithubDouble, GithubDoubleOptions};
use gitkeeper_runner_protocol::{
    BackendReport, Hardware, LocalBackend, PROTOCOL_VERSION, RegisterRequest,
};

const TOKEN: &str = "dash-admin-7c1e93";
const MINUTE: i64 = 60_000;

fn intent(number: u64) -> Intent {
    Intent::Generate {
        installation: InstallationId(42),
        repo: RepoRef {
            id: RepoId(1),
            owner: "octo".into(),
            name: "app".into(),
        },
        issue: IssueNumber(number),
        title: format!("Task {number}"),
        body: String::new(),
        sender: Sender {
            login: "Codertocat".into(),
            id: 1,
        },
        answer: None,
        labels: None,
    }
}

fn attempt(seq: u32, model: &str, outcome: AttemptOutcome, cost: f64, at: i64) -> Attempt {
    Attempt {
        seq,
        tier: seq,
        role: AttemptRole::Worker,
        model: model.into(),
        served_model: model.into(),
        edit_format: gitkeeper_bot::models::EditFormat::WholeFile,
        prompt_sha256: "ab".repeat(32),
        prompt_tokens: 2000,
        completion_tokens: 400,
        usage_estimated: false,
        cost_usd: cost,
        latency_ms: 5000,
        validation_ms: 800,
        outcome,
        error: None,
        created_at: at,
        provider: if cost > 0.0 {
            "openai api.deepseek.com".into()
        } else {
            "ollama 127.0.0.1:11434".into()
        },
        paid: cost > 0.0,
        sent_paths: vec!["src/greet.ts".into()],
        mode: gitkeeper_bot::trail::TierMode::Edits,
        tool_calls: Vec::new(),
    }
}

/// One finished task: its job, attempts, record and pull request.
async fn task(
    store: &dyn JobStore,
    number: u64,
    kind: TaskType,
    attempts: &[Attempt],
    pull: Option<(u64, bool)>,
) -> JobId {
    let queued = attempts[0].created_at - MINUTE;
    let delivery = Delivery {
        id: DeliveryId(format!("seed-{number}")),
        event: "issues".into(),
        outcome: "queued".into(),
    };
    store
        .accept(&delivery, Some(&intent(number)), queued)
        .await
        .unwrap();
    // Claimed and finished here, so the bot under test runs nothing.
    let job = store
        .claim("seed", Duration::from_secs(60), queued)
        .await
        .unwrap()
        .unwrap();
    let passed = attempts.iter().any(|a| a.outcome == AttemptOutcome::Passed);
    let finish = if passed {
        Finish::Succeeded
    } else {
        Finish::Failed("every tier failed".into())
    };
    assert!(store.finish(job.id, "seed", &finish, queued).await.unwrap());
    for a in attempts {
        store.record_attempt(job.id, "octo/app", a).await.unwrap();
    }
    let last = attempts.last().unwrap();
    let record = TaskRecord {
        task_id: job.id.to_string(),
        repo: "octo/app".into(),
        task_type: kind,
        description: format!("Task {number}"),
        complexity: 3,
        worker: Some(last.model.clone()),
        checker: None,
        outcome: if passed {
            TaskOutcome::Pass
        } else {
            TaskOutcome::Fail
        },
        attempts: u32::try_from(attempts.len()).unwrap(),
        escalations: u32::from(attempts.len() > 1),
        validation_method: "quick".into(),
        latency_ms: 10_000,
        tokens_in: 2000 * attempts.len() as u64,
        tokens_out: 400 * attempts.len() as u64,
        cost_usd: attempts.iter().map(|a| a.cost_usd).sum(),
        prompt_sha256: None,
        created_at: last.created_at,
        ladder: "quick-edit".into(),
        local_only: false,
    };
    store
        .record_task(job.id, &record, last.created_at)
        .await
        .unwrap();
    if let Some((pull_number, merged)) = pull {
        store
            .record_published(job.id, pull_number, last.created_at + MINUTE)
            .await
            .unwrap();
        store
            .record_pull_outcome(
                &PullOutcome {
                    repo: "octo/app".into(),
                    pull_number,
                    merged,
                    pull_key: format!("1#{pull_number}"),
                    issue_key: intent(number).target_key(),
                },
                last.created_at + 10 * MINUTE,
            )
            .await
            .unwrap();
    }
    job.id
}

async fn seed(data_dir: &Path) {
    let url = format!("sqlite://{}", data_dir.join("gitkeeper.db").display());
    let store = queue::open(&url, None).await.unwrap();
    let t = now_ms() - 60 * MINUTE;
    use AttemptOutcome::*;
    task(
        store.as_ref(),
        7,
        TaskType::Fix,
        &[
            attempt(1, "local-small", ValidationFailed, 0.0, t),
            attempt(2, "local-small", Passed, 0.0, t + MINUTE),
        ],
        Some((8, true)),
    )
    .await;
    task(
        store.as_ref(),
        9,
        TaskType::Implement,
        &[
            attempt(1, "local-large", ValidationFailed, 0.0, t + 2 * MINUTE),
            attempt(2, "cloud-deepseek", Passed, 0.012, t + 3 * MINUTE),
        ],
        Some((10, false)),
    )
    .await;
    task(
        store.as_ref(),
        11,
        TaskType::Docs,
        &[attempt(1, "local-small", ParseFailed, 0.0, t + 4 * MINUTE)],
        None,
    )
    .await;
    store
        .register_runner(
            "mac-mini",
            &RegisterRequest {
                protocol: PROTOCOL_VERSION,
                version: "0.1.0".into(),
                hardware: Hardware::default(),
                backends: vec![BackendReport {
                    kind: LocalBackend::Ollama,
                    endpoint: "http://127.0.0.1:11434".into(),
                    models: vec!["qwen2.5-coder:7b".into()],
                    error: None,
                }],
                max_concurrency: 2,
            },
            now_ms(),
        )
        .await
        .unwrap();
}

/// Chromium, headless, as the test's one browser; the test fails without it.
fn chromium(args: &[&str]) -> String {
    let profile = tempfile::tempdir().unwrap();
    let out = Command::new("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            &format!("--user-data-dir={}", profile.path().display()),
        ])
        .args(args)
        .output()
        .expect(
            "the dashboard test needs Chromium: apt-get install -y chromium (.ci/run installs it)",
        );
    assert!(out.status.success(), "chromium {args:?}: {out:?}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn screenshot_path() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("dashboard.png")
}

#[tokio::test]
async fn the_dashboard_shows_the_seeded_figures_in_a_browser_and_refuses_a_wrong_token() {
    let gh = GithubDouble::start(GithubDoubleOptions::default()).await;
    let dir = tempfile::tempdir().unwrap();
    seed(dir.path()).await;
    let mut options = BotOptions::new(&gh.url(), gh.app_id());
    options.extra_env.extend([
        ("GITKEEPER_DASHBOARD__ADMIN_TOKEN".into(), TOKEN.into()),
        // The seeded runner stays online however slow the machine is.
        (
            "GITKEEPER_RUNNER__OFFLINE_AFTER_SECS".into(),
            "86400".into(),
        ),
    ]);
    let bot = BotProcess::start(&options, dir.path()).await;
    let page = format!(
        "{}/dashboard?token={TOKEN}",
        bot.url().trim_end_matches('/')
    );

    let dom = chromium(&["--dump-dom", &page]);
    for shown in [
        "<b id=\"tasks\">3 tasks</b>",
        // Two passed, the first on a local tier.
        "finished on local tiers: 1/2 (50%)",
        "spent $0.0120",
        "fallback: 0/0",
        // The charts, drawn.
        "id=\"success-by-tier\"",
        "id=\"cost-over-time\"",
        "id=\"time-to-pr\"",
        ">local-small quick-edit#1</text>",
        "<title>1/1 100%</title>",
        // Links to the issues and the pull requests on GitHub.
        "/octo/app/issues/7\"",
        "/octo/app/pull/8\"",
        "/octo/app/pull/10\"",
        // The merged and the closed pull request.
        "<td>local-small</td><td>fix</td><td class=\"num\">1</td><td class=\"num\">1</td>",
        // The runner, online, with its model and load.
        "<td>mac-mini</td><td>online</td><td class=\"num\">0/2</td><td>qwen2.5-coder:7b</td>",
    ] {
        assert!(dom.contains(shown), "{shown} is not on the page:\n{dom}");
    }
    assert!(!dom.contains("<script"), "{dom}");

    // A wrong token sees nothing but the refusal.
    let refused = chromium(&["--dump-dom", &page.replace(TOKEN, "not-the-token")]);
    assert!(refused.contains("Token not accepted"), "{refused}");
    assert!(!refused.contains("tasks"), "{refused}");
    let status = reqwest::get(page.replace(TOKEN, "not-the-token"))
        .await
        .unwrap()
        .status();
    assert_eq!(status, 401);

    let shot = screenshot_path();
    let _ = std::fs::remove_file(&shot);
    chromium(&[
        &format!("--screenshot={}", shot.display()),
        "--window-size=1200,2200",
        &page,
    ]);
    let png = std::fs::read(&shot).expect("chromium wrote the screenshot");
    assert!(
        png.starts_with(b"\x89PNG"),
        "not a PNG: {} bytes",
        png.len()
    );
    assert!(png.len() > 10_000, "an empty page? {} bytes", png.len());
}
