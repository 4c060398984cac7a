//! End-to-end: the validation policy never fails open. What judges an
//! attempt comes from the base commit only, and an invalid
//! `.github/gitkeeper.yml` there stops the job before any model is called,
//! telling the maintainer which file, line and key to fix.

use gitkeeper_e2e::models::Step;
use gitkeeper_e2e::world::{ISSUE, OWNER, REPO, World, good_answer, labeled, settled};

#[tokio::test]
async fn an_invalid_base_config_fails_the_job_before_any_model_call_naming_file_line_and_key() {
    let world = World::start().await;
    world.default_answer(Step::reply(good_answer()));
    world
        .gh
        .push_files(
            OWNER,
            REPO,
            "main",
            &[(
                ".github/gitkeeper.yml",
                "validate:\n  setup: []\n  checks:\n    - run: [grep, -q, \"export function greet\", src/greet.ts]\n      stage: syntax\n  env:\n    - NODE_OPTIONS\n    - \"NOT A NAME\"\n",
            )],
            "Pass more variables to the checks",
        )
        .await;
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
