//! End-to-end: `local_only_paths` (read from the base commit's
//! `.github/gitkeeper.yml`). A task whose context, or a local model's
//! change, touches one never reaches the paid tier's double, though the
//! ladder would escalate there; the issue's report says why; and `stats
//! --privacy` lists what went where. The same flow without the setting
//! reaches the paid tier (`pipeline::` escalation tests), so the double
//! being silent here is the privacy rule, not a broken route.

use gitkeeper_e2e::bot::BotProcess;
use gitkeeper_e2e::models::Step;
use gitkeeper_e2e::world::{
    ISSUE, OWNER, REPO, World, breaking_answer, good_answer, labeled, settled, with_deepseek,
};
use serde_json::Value;

/// The world's repository config with a `privacy:` section.
fn repo_config(local_only: &str) -> String {
    format!(
        "validate:\n  setup: []\n  checks:\n    - run: [grep, -q, \"export function greet\", src/greet.ts]\n      name: greet is still exported\n      stage: syntax\nprivacy:\n  local_only_paths: [\"{local_only}\"]\n"
    )
}

async fn with_local_only(world: &World, pattern: &str) {
    world
        .gh
        .push_files(
            OWNER,
            REPO,
            "main",
            &[(".github/gitkeeper.yml", repo_config(pattern).as_str())],
            "Keep some paths local",
        )
        .await;
}

/// Run issue #7 with `pattern` local-only and every local answer `answer`,
/// on the quick-edit ladder (local-small ×2, then the paid cloud-deepseek,
/// whose double would fix it): the job fails after both local attempts and
/// the paid tier's server hears nothing.
async fn run_private(pattern: &str, answer: String) -> (World, BotProcess) {
    let world = World::start().await;
    with_local_only(&world, pattern).await;
    world.default_answer(Step::reply(answer));
    let (deepseek, options) = with_deepseek(&world, Step::reply(good_answer()), "").await;
    let bot = BotProcess::start(&options, world.dir.path()).await;
    bot.webhook("issues", "d-private", &labeled(ISSUE)).await;
    let jobs = settled(&bot, 1).await;
    assert_eq!(jobs[0]["state"], "failed", "{jobs:#?}\n{}", bot.log());
    assert_eq!(world.ollama.completion_requests().len(), 2);
    assert!(
        deepseek.requests().is_empty(),
        "the paid tier was called: {:?}",
        deepseek.requests()
    );
    (world, bot)
}

/// `stats --privacy --json` of the bot's database.
fn ledger(bot: &BotProcess) -> Value {
    let out = bot.cli(&["stats", "--privacy", "--json"]);
    assert!(out.status.success(), "{out:?}");
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The issue's status comment (the report of the failed task).
fn report(world: &World) -> String {
    world.status_comments(ISSUE).join("\n")
}

#[tokio::test]
async fn a_task_whose_context_holds_a_local_only_path_never_reaches_the_paid_tier() {
    // Every local answer breaks the check; the paid tier would fix it.
    let (world, bot) = run_private("src/greet.ts", breaking_answer()).await;
    assert!(world.gh.pulls(OWNER, REPO).is_empty());
    let report = report(&world);
    assert!(
        report.contains("local-only paths (`src/greet.ts`) → local tiers only"),
        "{report}"
    );
    assert!(report.contains("**Kept local**"), "{report}");
    assert!(!report.contains("cloud-deepseek"), "{report}");

    // The ledger: the task touched a local-only path, its code went only
    // to the local server, and it says which file.
    let ledger = ledger(&bot);
    let task = &ledger["tasks"][0];
    assert_eq!(task["local_only"], true, "{ledger:#}");
    let sent = task["sent_to"].as_array().unwrap();
    assert_eq!(sent.len(), 1, "{ledger:#}");
    assert_eq!(sent[0]["model"], "local-small");
    assert_eq!(sent[0]["paid"], false);
    assert_eq!(sent[0]["calls"], 2);
    assert!(
        sent[0]["provider"]
            .as_str()
            .unwrap()
            .starts_with("ollama 127.0.0.1:"),
        "{ledger:#}"
    );
    assert!(
        sent[0]["paths"]
            .as_array()
            .unwrap()
            .contains(&Value::from("src/greet.ts")),
        "{ledger:#}"
    );
    let text = bot.cli(&["stats", "--privacy"]);
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(
        text.contains("[touches local-only paths: kept off paid models]"),
        "{text}"
    );
}

#[tokio::test]
async fn a_local_change_to_a_local_only_path_keeps_the_escalation_off_the_paid_tier() {
    // The local model writes into secrets/ (and breaks the check), so the
    // ladder escalates to the paid tier, which must not be sent anything.
    let answer = format!(
        "FILE: secrets/token.ts\n```ts\nexport const token = 'local';\n```\n\n{}",
        breaking_answer()
    );
    let (world, bot) = run_private("secrets/", answer).await;
    let report = report(&world);
    assert!(report.contains("skipped_privacy"), "{report}");
    assert!(
        report.contains("`cloud-deepseek` is a paid model and the task touches local-only paths (`secrets/token.ts`)"),
        "{report}"
    );
    assert!(report.contains("**Kept local**"), "{report}");

    let ledger = ledger(&bot);
    let task = &ledger["tasks"][0];
    assert_eq!(task["local_only"], true, "{ledger:#}");
    assert!(
        task["sent_to"]
            .as_array()
            .unwrap()
            .iter()
            .all(|d| d["paid"] == false),
        "{ledger:#}"
    );
}
