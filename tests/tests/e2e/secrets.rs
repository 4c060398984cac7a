//! End-to-end: secrets never leak. Whole flows run with distinctive test
//! secrets — a labelled issue whose first tier fails and whose cloud tier
//! passes, with the local tier served by a real runner, then a revise
//! command — and every place a secret could end up is searched: everything
//! the GitHub double received (bodies and headers; `Authorization` is kept
//! only as its scheme), the repository's history, every line the bot and
//! the runner logged at debug level, every row of the bot's SQLite
//! database, every file in its data dir, what the maintainer reads on GitHub, and what the model
//! doubles received (an API key only in its authentication header).

use std::path::Path;
use std::time::Duration;

use gitkeeper_e2e::bot::{BotProcess, WEBHOOK_SECRET};
use gitkeeper_e2e::github::test_app_key_path;
use gitkeeper_e2e::models::{ModelDouble, Step};
use gitkeeper_e2e::runner::{RunnerOptions, RunnerProcess};
use gitkeeper_e2e::world::{
    BRANCH, GREET_FIXED, ISSUE, OWNER, REPO, World, breaking_answer, comment, good_answer, labeled,
    settled,
};
use gitkeeper_runner_protocol::paths;

const DEEPSEEK_KEY: &str = "sk-ds-leakcheck-5f2a9c71";
const ANTHROPIC_KEY: &str = "sk-ant-leakcheck-81d3e0b4";
const ADMIN_TOKEN: &str = "leakcheck-admin-6e0b93";

/// Wait until the bot lists runner `name` online.
async fn wait_online(bot: &BotProcess, runner: &RunnerProcess) {
    let client = reqwest::Client::new();
    let url = format!("{}{}", bot.url().trim_end_matches('/'), paths::RUNNERS);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let list: serde_json::Value = client
            .get(&url)
            .bearer_auth(ADMIN_TOKEN)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let online = list["runners"]
            .as_array()
            .is_some_and(|r| r.iter().any(|r| r["online"] == true));
        if online {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the runner never came online: {list}\n{}",
            runner.log()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Every row of every table of the SQLite database at `db`.
fn dump(db: &Path) -> String {
    let out = std::process::Command::new("sqlite3")
        .arg(db)
        .arg(".dump")
        .output()
        .expect("this test reads the bot's database with the sqlite3 tool");
    assert!(out.status.success(), "sqlite3 .dump: {out:?}");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        text.contains("INSERT INTO"),
        "an empty database proves nothing"
    );
    text
}

/// Lines of the App's private key long enough to be unmistakable.
fn key_lines() -> Vec<String> {
    let pem = std::fs::read_to_string(test_app_key_path()).unwrap();
    let lines: Vec<String> = pem
        .lines()
        .filter(|l| !l.starts_with("-----") && l.len() >= 40)
        .map(str::to_string)
        .collect();
    assert!(lines.len() >= 10, "{pem}");
    lines
}

/// `(place, needle)` for each secret found in `text`, also hex-encoded
/// (SQLite dumps blobs as hex).
fn hits(place: &str, text: &str, needles: &[String]) -> Vec<String> {
    let lower = text.to_lowercase();
    needles
        .iter()
        .filter(|n| text.contains(n.as_str()) || lower.contains(&hex::encode(n.as_bytes())))
        .map(|n| format!("{place}: {n}"))
        .collect()
}

/// Everything a model double received but its authentication headers.
fn model_traffic(model: &ModelDouble) -> String {
    model
        .requests()
        .iter()
        .map(|r| {
            let headers: String = r
                .headers
                .iter()
                .filter(|(k, _)| !matches!(k.as_str(), "authorization" | "x-api-key"))
                .map(|(k, v)| format!("{k}: {v}\n"))
                .collect();
            format!("{} {}\n{headers}\n{}\n", r.method, r.path, r.body)
        })
        .collect()
}

#[tokio::test]
async fn no_secret_reaches_github_the_logs_the_database_or_a_prompt() {
    let world = World::start().await;
    // Every local answer breaks the check; the cloud tier fixes, then revises.
    world.default_answer(Step::reply(breaking_answer()));
    let deepseek = ModelDouble::openai(&["deepseek-chat"], Some(DEEPSEEK_KEY)).await;
    let documented = format!("/** Greets someone by name. */\n{GREET_FIXED}");
    deepseek.push(Step::reply(good_answer()));
    deepseek.push(Step::reply(format!(
        "FILE: src/greet.ts\n```ts\n{documented}```\n"
    )));
    let claude = ModelDouble::anthropic(&["claude-sonnet-4-5"], ANTHROPIC_KEY).await;
    let mut options = world.options();
    let ollama = world.ollama.url();
    options.config_toml = Some(format!(
        "[models.local-small]\nendpoint = \"{ollama}\"\nmax_retries = 0\ntimeout_secs = 30\n\n\
         [models.local-large]\nendpoint = \"{ollama}\"\nmax_retries = 0\ntimeout_secs = 30\n\n\
         [models.cloud-deepseek]\nendpoint = \"{}\"\nmax_retries = 0\n\n\
         [models.cloud-claude]\nendpoint = \"{}\"\nmax_retries = 0\n\n\
         [runner]\ntiers = [\"local-small\"]\nwait_for_runner = 30\n",
        deepseek.url(),
        claude.url()
    ));
    options.extra_env.extend([
        ("DEEPSEEK_API_KEY".into(), DEEPSEEK_KEY.into()),
        ("ANTHROPIC_API_KEY".into(), ANTHROPIC_KEY.into()),
        ("GITKEEPER_RUNNER__ADMIN_TOKEN".into(), ADMIN_TOKEN.into()),
        ("RUST_LOG".into(), "debug".into()),
    ]);
    let bot = BotProcess::start(&options, world.dir.path()).await;

    // A runner serves the local-small tier from the Ollama double.
    let out = bot.cli(&["runner-token", "create", "mac"]);
    assert!(out.status.success(), "{out:?}");
    let runner_token = String::from_utf8_lossy(&out.stdout)
        .trim()
        .strip_prefix("GITKEEPER_RUNNER__TOKEN=")
        .unwrap()
        .to_string();
    let runner_dir = tempfile::tempdir().unwrap();
    let runner = RunnerProcess::start(
        &RunnerOptions::new(&bot.url(), &runner_token, &ollama),
        runner_dir.path(),
        "mac",
    );
    wait_online(&bot, &runner).await;

    // The issue: local attempts fail, the cloud tier passes.
    bot.webhook("issues", "d-leak-label", &labeled(ISSUE)).await;
    let jobs = settled(&bot, 1).await;
    assert_eq!(jobs[0]["state"], "succeeded", "{jobs:#?}\n{}", bot.log());
    let number = world.gh.pulls(OWNER, REPO)[0].number;
    // A revise command on the pull request.
    let ask = "/gitkeeper revise add a doc comment to greet";
    let id = world.gh.add_comment(OWNER, REPO, number, "Codertocat", ask);
    bot.webhook(
        "issue_comment",
        "d-leak-revise",
        &comment(number, id, ask, true),
    )
    .await;
    let jobs = settled(&bot, 2).await;
    assert!(
        jobs.iter().all(|j| j["state"] == "succeeded"),
        "{jobs:#?}\n{}",
        bot.log()
    );

    // The flows really ran through every secret: the runner served local
    // calls, the cloud tier was called with its key, tokens were issued.
    let head = world.gh.branch_sha(OWNER, REPO, BRANCH).await.unwrap();
    assert_eq!(
        world.gh.file_at(OWNER, REPO, &head, "src/greet.ts").await,
        Some(documented)
    );
    assert!(
        world.ollama.completion_requests().len() >= 2,
        "the local tier failed first"
    );
    let cloud_calls = deepseek.completion_requests();
    assert_eq!(cloud_calls.len(), 2);
    for call in &cloud_calls {
        assert_eq!(
            call.header("authorization"),
            Some(format!("Bearer {DEEPSEEK_KEY}").as_str()),
            "the key goes in its header"
        );
    }
    let tokens = world.gh.issued_tokens();
    assert!(world.gh.tokens_issued() > 0 && !tokens.is_empty());

    let mut needles: Vec<String> = vec![
        WEBHOOK_SECRET.into(),
        DEEPSEEK_KEY.into(),
        ANTHROPIC_KEY.into(),
        ADMIN_TOKEN.into(),
        runner_token.clone(),
    ];
    needles.extend(tokens);
    needles.extend(key_lines());

    let mut found = Vec::new();
    // Everything GitHub received.
    for r in world.gh.requests() {
        let auth = r.header("authorization").unwrap_or_default();
        assert!(
            matches!(auth, "" | "Bearer" | "token" | "Basic"),
            "the double keeps only the scheme: {auth}"
        );
        let headers: String = r
            .headers
            .iter()
            .map(|(k, v)| format!("{k}: {v}\n"))
            .collect();
        let text = format!(
            "{} {}?{}\n{headers}\n{}\n{}",
            r.method,
            r.path,
            r.query.clone().unwrap_or_default(),
            r.body.as_ref().map(ToString::to_string).unwrap_or_default(),
            r.body_text.clone().unwrap_or_default()
        );
        found.extend(hits(
            &format!("GitHub {} {}", r.method, r.path),
            &text,
            &needles,
        ));
    }
    // What GitHub holds: the history, the pull request, comments, checks.
    let history = world
        .gh
        .git(OWNER, REPO, &["log", "--all", "-p", "--format=%H%n%B"])
        .await;
    found.extend(hits("the repository's history", &history, &needles));
    let mut shown = String::new();
    for pull in world.gh.pulls(OWNER, REPO) {
        shown.push_str(&format!("{}\n{}\n", pull.title, pull.body));
    }
    for n in [ISSUE, number] {
        for c in world.gh.comments(OWNER, REPO, n) {
            shown.push_str(&c.body);
        }
        for c in world.gh.review_comments(OWNER, REPO, n) {
            shown.push_str(&c.body);
        }
    }
    for c in world.gh.check_runs(OWNER, REPO) {
        shown.push_str(&format!("{:?} {:?} {:?}\n", c.title, c.summary, c.text));
    }
    assert!(shown.contains("Closes #7"), "{shown}");
    found.extend(hits("what GitHub shows", &shown, &needles));
    // Every log line, at debug level.
    let log = bot.log();
    assert!(
        log.contains("DEBUG"),
        "the bot logged at debug level:\n{log}"
    );
    found.extend(hits("the bot's log", &log, &needles));
    found.extend(hits("the runner's log", &runner.log(), &needles));
    // Every stored row.
    let db = dump(&world.dir.path().join("gitkeeper.db"));
    assert!(
        db.contains("add a doc comment to greet"),
        "the jobs are stored"
    );
    found.extend(hits("the database", &db, &needles));
    // Every file the bot keeps on disk: mirrors, job directories (what the
    // sandbox sees), caches, the database file.
    let mut files = vec![world.dir.path().to_path_buf()];
    let mut read = 0;
    while let Some(path) = files.pop() {
        let Ok(meta) = std::fs::symlink_metadata(&path) else {
            continue;
        };
        if meta.is_dir() {
            files.extend(
                std::fs::read_dir(&path)
                    .unwrap()
                    .flatten()
                    .map(|e| e.path()),
            );
        } else if meta.is_file() {
            let bytes = std::fs::read(&path).unwrap_or_default();
            read += 1;
            found.extend(hits(
                &path.display().to_string(),
                &String::from_utf8_lossy(&bytes),
                &needles,
            ));
        }
    }
    assert!(read > 10, "the data dir holds the mirror and the database");
    // What the models received, but their authentication headers.
    for (name, model) in [
        ("Ollama", &world.ollama),
        ("DeepSeek", &deepseek),
        ("Claude", &claude),
    ] {
        found.extend(hits(name, &model_traffic(model), &needles));
    }
    assert!(found.is_empty(), "secrets leaked:\n{}", found.join("\n"));
}
