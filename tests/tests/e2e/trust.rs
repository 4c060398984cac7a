//! End-to-end: the validation policy never fails open. What judges an
//! attempt comes from the base commit only, and an invalid
//! `.github/gitkeeper.yml` there stops the job before any model is called,
//! telling the maintainer which file, line and key to fix. A check that
//! fails after the change as it did before is never reported green.
//! Without `bwrap` a job fails unless the operator turned isolation off.
//! Variables the repository asks for that the operator does not pass are
//! named (never their values) where the maintainer reads the result.

use gitkeeper_e2e::models::Step;
use gitkeeper_e2e::world::{
    ISSUE, OWNER, REPO, World, breaking_answer, good_answer, labeled, settled,
};

/// A base config whose second `validate.env` entry is no variable name.
const INVALID_ENV: &str = "validate:\n  setup: []\n  checks:\n    - run: [grep, -q, \"export function greet\", src/greet.ts]\n      stage: syntax\n  env:\n    - NODE_OPTIONS\n    - \"NOT A NAME\"\n";

/// A base config with a check that fails before any change.
const FAILING_BEFORE: &str = "validate:\n  setup: []\n  checks:\n    - run: [grep, -q, \"export function greet\", src/greet.ts]\n      name: greet is still exported\n      stage: syntax\n    - run: [sh, -c, \"echo 'error: the snapshot server is down'; exit 1\"]\n      name: snapshot test\n      stage: syntax\n";

/// The World with `config` as the base commit's `.github/gitkeeper.yml`
/// (committed as `message`) and models that answer with the fix.
async fn world_with_config(config: &str, message: &str) -> World {
    let world = World::start().await;
    world.default_answer(Step::reply(good_answer()));
    world
        .gh
        .push_files(
            OWNER,
            REPO,
            "main",
            &[(".github/gitkeeper.yml", config)],
            message,
        )
        .await;
    world
}

#[tokio::test]
async fn an_invalid_base_config_fails_the_job_before_any_model_call_naming_file_line_and_key() {
    let world = world_with_config(INVALID_ENV, "Pass more variables to the checks").await;
    let bot = world.start_bot().await;
    bot.webhook("issues", "d-bad-config", &labeled(ISSUE)).await;
    let jobs = settled(&bot, 1).await;
    assert_eq!(jobs[0]["state"], "failed", "{jobs:#?}\n{}", bot.log());

    let status = world.status_comments(ISSUE);
    assert_eq!(status.len(), 1, "{status:#?}");
    for part in [
        "Gitkeeper could not finish this.",
        ".github/gitkeeper.yml:8:",
        "key `validate.env[1]`",
        "NOT A NAME",
    ] {
        assert!(
            status[0].contains(part),
            "missing {part:?} in:\n{}",
            status[0]
        );
    }
    assert!(
        world.ollama.completion_requests().is_empty(),
        "no model may be asked when nothing could judge its answer: {:#?}",
        world.ollama.completion_requests()
    );
    assert!(world.gh.pulls(OWNER, REPO).is_empty());
    assert!(world.gh.check_runs(OWNER, REPO).is_empty());
}

#[tokio::test]
async fn a_check_failing_before_and_after_the_change_is_a_neutral_check_run_and_named_in_the_pr() {
    let world = world_with_config(FAILING_BEFORE, "Add the snapshot test").await;
    let bot = world.start_bot().await;
    bot.webhook("issues", "d-failing-before", &labeled(ISSUE))
        .await;
    let jobs = settled(&bot, 1).await;
    // It did not make things worse, so it is still published…
    assert_eq!(jobs[0]["state"], "succeeded", "{jobs:#?}\n{}", bot.log());
    let pulls = world.gh.pulls(OWNER, REPO);
    assert_eq!(pulls.len(), 1, "{pulls:#?}");

    // …but the check that failed before and after proved nothing: never green.
    let checks = world.gh.check_runs(OWNER, REPO);
    assert_eq!(checks.len(), 1, "{checks:#?}");
    assert_eq!(checks[0].status, "completed");
    assert_eq!(
        checks[0].conclusion.as_deref(),
        Some("neutral"),
        "{checks:#?}"
    );
    let body = &pulls[0].body;
    for part in [
        "| snapshot test (failed before this change too) | ⚠️ failing before and after this change |",
        "⚠️ `snapshot test` failed before this change and fails after it the same way",
        "| greet is still exported | ✅ passed |",
    ] {
        assert!(body.contains(part), "missing {part:?} in:\n{body}");
    }
}

/// A `PATH` with the tools the World's jobs use but no `bwrap`.
fn path_without_bwrap(dir: &std::path::Path) -> String {
    for tool in ["git", "grep", "sh"] {
        let found = std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
            .map(|d| d.join(tool))
            .find(|p| p.is_file())
            .unwrap_or_else(|| panic!("this test needs `{tool}` on PATH"));
        std::os::unix::fs::symlink(found, dir.join(tool)).unwrap();
    }
    dir.display().to_string()
}

#[tokio::test]
async fn without_bwrap_a_job_fails_and_says_how_to_fix_it_unless_isolation_is_turned_off() {
    let world = World::start().await;
    world.default_answer(Step::reply(good_answer()));
    let bin = tempfile::tempdir().unwrap();
    let mut options = world.options();
    options
        .extra_env
        .push(("PATH".into(), path_without_bwrap(bin.path())));
    let bot = gitkeeper_e2e::bot::BotProcess::start(&options, world.dir.path()).await;
    bot.webhook("issues", "d-no-bwrap", &labeled(ISSUE)).await;
    let jobs = settled(&bot, 1).await;
    assert_eq!(jobs[0]["state"], "failed", "{jobs:#?}\n{}", bot.log());
    let status = world.status_comments(ISSUE);
    assert_eq!(status.len(), 1, "{status:#?}");
    assert!(
        status[0].contains("install bubblewrap (apt install bubblewrap) or set [validate] isolation = \"none\" to run repository commands without isolation"),
        "{}",
        status[0]
    );
    assert!(world.ollama.completion_requests().is_empty());
    assert!(world.gh.pulls(OWNER, REPO).is_empty());
    drop(bot);

    // The operator's explicit choice runs the same job without isolation.
    let world = World::start().await;
    world.default_answer(Step::reply(good_answer()));
    let mut options = world.options();
    options.extra_env.extend([
        ("PATH".into(), bin.path().display().to_string()),
        ("GITKEEPER_VALIDATE__ISOLATION".into(), "none".into()),
    ]);
    let bot = gitkeeper_e2e::bot::BotProcess::start(&options, world.dir.path()).await;
    bot.webhook("issues", "d-isolation-none", &labeled(ISSUE))
        .await;
    let jobs = settled(&bot, 1).await;
    assert_eq!(jobs[0]["state"], "succeeded", "{jobs:#?}\n{}", bot.log());
    assert_eq!(world.gh.pulls(OWNER, REPO).len(), 1);
}

/// A base config asking for two host variables, one the operator passes.
const ASKS_FOR_ENV: &str = "validate:\n  setup: []\n  checks:\n    - run: [grep, -q, \"export function greet\", src/greet.ts]\n      name: greet is still exported\n      stage: syntax\n    - run: [sh, -c, \"echo deploy=${DEPLOY_KEY:-unset} node=${NODE_OPTIONS:-unset}\"]\n      name: deploy smoke\n      stage: syntax\n  env:\n    - NODE_OPTIONS\n    - DEPLOY_KEY\n";

/// The value of the withheld variable on the bot's host: never in GitHub text.
const DEPLOY_KEY_VALUE: &str = "dk-live-5f1e2d";

/// A bot whose operator passes `NODE_OPTIONS` only, on a host that has both.
async fn bot_passing_node_options_only(world: &World) -> gitkeeper_e2e::bot::BotProcess {
    let mut options = world.options();
    let config = options.config_toml.take().unwrap_or_default();
    options.config_toml = Some(format!(
        "{config}\n[validate]\npass_env = [\"NODE_OPTIONS\"]\n"
    ));
    options.extra_env.extend([
        ("DEPLOY_KEY".into(), DEPLOY_KEY_VALUE.into()),
        ("NODE_OPTIONS".into(), "--no-warnings".into()),
    ]);
    gitkeeper_e2e::bot::BotProcess::start(&options, world.dir.path()).await
}

/// Everything a maintainer reads on GitHub about the job.
fn github_text(world: &World) -> String {
    let mut text: Vec<String> = world
        .gh
        .comments(OWNER, REPO, ISSUE)
        .into_iter()
        .map(|c| c.body)
        .collect();
    text.extend(world.gh.pulls(OWNER, REPO).into_iter().map(|p| p.body));
    for run in world.gh.check_runs(OWNER, REPO) {
        text.extend([run.summary, run.text].into_iter().flatten());
    }
    text.join("\n")
}

#[tokio::test]
async fn withheld_variables_are_named_in_the_pull_request_and_check_run_without_values() {
    let world = world_with_config(ASKS_FOR_ENV, "Ask for the deploy key").await;
    let bot = bot_passing_node_options_only(&world).await;
    bot.webhook("issues", "d-withheld", &labeled(ISSUE)).await;
    let jobs = settled(&bot, 1).await;
    assert_eq!(jobs[0]["state"], "succeeded", "{jobs:#?}\n{}", bot.log());

    let pulls = world.gh.pulls(OWNER, REPO);
    assert_eq!(pulls.len(), 1, "{pulls:#?}");
    let note = "`DEPLOY_KEY` not passed to its commands: the operator has not allowed them; to pass them, add them to `[validate] pass_env` in gitkeeper.toml";
    assert!(
        pulls[0].body.contains(note),
        "missing {note:?} in:\n{}",
        pulls[0].body
    );
    let checks = world.gh.check_runs(OWNER, REPO);
    let check_text = checks[0].text.clone().unwrap_or_default();
    assert!(
        check_text.contains(note),
        "missing {note:?} in:\n{check_text}"
    );
    // The passed variable is not named as withheld; no value ever shows.
    assert!(
        !pulls[0].body.contains("`NODE_OPTIONS` not passed"),
        "{}",
        pulls[0].body
    );
    let all = github_text(&world);
    assert!(!all.contains(DEPLOY_KEY_VALUE), "{all}");
}

#[tokio::test]
async fn when_every_tier_fails_the_issue_names_the_withheld_variables() {
    let world = world_with_config(ASKS_FOR_ENV, "Ask for the deploy key").await;
    world.default_answer(Step::reply(breaking_answer()));
    let bot = bot_passing_node_options_only(&world).await;
    bot.webhook("issues", "d-withheld-failed", &labeled(ISSUE))
        .await;
    let jobs = settled(&bot, 1).await;
    assert_eq!(jobs[0]["state"], "failed", "{jobs:#?}\n{}", bot.log());
    let status = world.status_comments(ISSUE);
    assert_eq!(status.len(), 1, "{status:#?}");
    assert!(
        status[0].contains("❌ **Gitkeeper could not make a change that passes the checks.**"),
        "{}",
        status[0]
    );
    assert!(
        status[0].contains("ℹ️ Note: the repository's validate.env asks for host variables; `DEPLOY_KEY` not passed to its commands"),
        "{}",
        status[0]
    );
    let all = github_text(&world);
    assert!(!all.contains(DEPLOY_KEY_VALUE), "{all}");
}
