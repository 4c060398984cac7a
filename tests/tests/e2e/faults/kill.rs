//! The bot killed with SIGKILL at each stage of a job in turn, then started
//! again: the job ends exactly once, and GitHub holds one reaction, one
//! status comment, one branch with one commit, one check run on it and one
//! pull request. The bot is stopped at an exact point: the GitHub double holds
//! the stage's request at its door until the bot is dead, then serves it,
//! as GitHub finishes a request whose caller hung up (so the side effect
//! lands but the bot never hears of it). The model stage is a model call
//! still unanswered when the bot dies.

use std::time::Duration;

use gitkeeper_e2e::bot::BotProcess;
use gitkeeper_e2e::models::Step;
use gitkeeper_e2e::world::{
    BRANCH, GREET_FIXED, ISSUE, OWNER, REPO, World, good_answer, labeled, settled,
};

/// Where the bot dies.
enum Stage {
    /// While GitHub serves this request (method, path pattern).
    Github(&'static str, &'static str),
    /// While the model is answering.
    Model,
}

/// Poll `done` every 50 ms until it holds, or panic saying `what`.
async fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while !done() {
        assert!(tokio::time::Instant::now() < deadline, "timed out: {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn killed_during(stage: Stage) {
    let world = World::start().await;
    world.default_answer(Step::reply(good_answer()));
    let base = world.gh.branch_sha(OWNER, REPO, "main").await.unwrap();
    let mut bot = BotProcess::start(&world.options(), world.dir.path()).await;
    let held = match &stage {
        Stage::Github(method, path) => Some((world.gh.hold_next(method, path), *method, *path)),
        Stage::Model => {
            // Answered long after the bot is gone; the restarted bot gets the default.
            world
                .ollama
                .push(Step::reply(good_answer()).delay(Duration::from_secs(120)));
            None
        }
    };
    assert_eq!(
        bot.webhook("issues", "d-kill", &labeled(ISSUE))
            .await
            .status(),
        202
    );
    match &held {
        Some((hold, _, _)) => hold.reached(Duration::from_secs(60)).await,
        None => {
            wait_until("the job asks the model", || {
                !world.ollama.completion_requests().is_empty()
            })
            .await
        }
    }
    bot.kill9();
    if let Some((hold, method, path)) = held {
        // GitHub finishes what the dead bot asked for.
        hold.release();
        wait_until("the held request is served", || {
            world
                .gh
                .requests_matching(method, path)
                .first()
                .is_some_and(|r| r.status.is_some())
        })
        .await;
    }

    bot.restart().await;
    let jobs = settled(&bot, 1).await;
    let gh = &world.gh;
    assert_eq!(jobs.len(), 1, "{jobs:#?}");
    assert_eq!(jobs[0]["state"], "succeeded", "{jobs:#?}\n{}", bot.log());
    assert_eq!(jobs[0]["attempts"], 2, "{jobs:#?}");

    let status_comments = world.status_comments(ISSUE);
    assert_eq!(status_comments.len(), 1, "{status_comments:#?}");
    let reactions = gh.reactions(
        OWNER,
        REPO,
        gitkeeper_e2e::github::ReactionTarget::Issue(ISSUE),
    );
    assert_eq!(reactions.len(), 1, "{reactions:#?}");
    let pulls = gh.pulls(OWNER, REPO);
    assert_eq!(pulls.len(), 1, "{pulls:#?}");
    assert_eq!(pulls[0].head, BRANCH);
    let head = gh.branch_sha(OWNER, REPO, BRANCH).await.unwrap();
    let commits = gh
        .git(OWNER, REPO, &["rev-list", &format!("{base}..{head}")])
        .await;
    assert_eq!(
        commits.lines().count(),
        1,
        "one commit on the branch: {commits}"
    );
    assert_eq!(
        gh.file_at(OWNER, REPO, &head, "src/greet.ts")
            .await
            .as_deref(),
        Some(GREET_FIXED)
    );
    // One check run on the pull request's head, finished. A run killed after
    // publishing is redone on a new commit: what the first run started stays
    // on its commit, which the branch no longer holds.
    let runs = gh.check_runs(OWNER, REPO);
    let (on_head, elsewhere): (Vec<_>, Vec<_>) = runs.iter().partition(|r| r.head_sha == head);
    assert_eq!(on_head.len(), 1, "{runs:#?}");
    // Finished: the world repository's one check cannot exercise the change,
    // so the run says "not proven" (neutral) rather than success.
    assert_eq!(on_head[0].status, "completed", "{runs:#?}");
    assert_eq!(
        on_head[0].conclusion.as_deref(),
        Some("neutral"),
        "{runs:#?}"
    );
    assert!(
        elsewhere.iter().all(|r| !commits.contains(&r.head_sha)),
        "{runs:#?}"
    );
    let labels = gh.labels(OWNER, REPO, ISSUE);
    assert!(
        !labels.iter().any(|l| l == "gitkeeper:working"),
        "{labels:?}"
    );
}

macro_rules! killed_during {
    ($($name:ident => $stage:expr;)*) => {$(
        #[tokio::test]
        async fn $name() {
            killed_during($stage).await;
        }
    )*};
}

killed_during! {
    killed_while_authorizing_the_sender =>
        Stage::Github("GET", "/repos/*/*/collaborators/*/permission");
    killed_while_reacting_to_the_issue =>
        Stage::Github("POST", "/repos/*/*/issues/*/reactions");
    killed_while_posting_the_status_comment =>
        Stage::Github("POST", "/repos/*/*/issues/*/comments");
    killed_while_fetching_the_repository =>
        Stage::Github("POST", "/Codertocat/Hello-World.git/git-upload-pack");
    killed_while_the_model_answers => Stage::Model;
    killed_while_creating_the_commit =>
        Stage::Github("POST", "/repos/*/*/git/commits");
    killed_while_creating_the_branch =>
        Stage::Github("POST", "/repos/*/*/git/refs");
    killed_while_opening_the_pull_request =>
        Stage::Github("POST", "/repos/*/*/pulls");
    killed_while_creating_the_check_run =>
        Stage::Github("POST", "/repos/*/*/check-runs");
    killed_while_updating_the_status_comment =>
        Stage::Github("PATCH", "/repos/*/*/issues/comments/*");
}
