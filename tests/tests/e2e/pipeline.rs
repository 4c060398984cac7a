//! End-to-end: the real `gitkeeper-bot serve` turns a labelled issue into a
//! validated pull request on the GitHub double, with the local models on the
//! Ollama double, and answers maintainers' follow-ups (a question answered,
//! `retry`, `revise`) on it. Everything GitHub holds afterwards is read back:
//! the pull request, the commits as real git objects, check runs, labels and
//! the one status comment per job.

use gitkeeper_e2e::models::Step;
use gitkeeper_e2e::world::{
    BRANCH, GREET, GREET_FIXED, ISSUE, OWNER, REPO, World, breaking_answer, comment, good_answer,
    labeled, settled, with_deepseek,
};

#[tokio::test]
async fn a_labelled_issue_becomes_a_validated_pull_request() {
    let world = World::start().await;
    world.default_answer(Step::reply(good_answer()));
    let base = world.gh.branch_sha(OWNER, REPO, "main").await.unwrap();
    let bot = world.start_bot().await;
    assert_eq!(
        bot.webhook("issues", "d-label", &labeled(ISSUE))
            .await
            .status(),
        202
    );
    let jobs = settled(&bot, 1).await;
    assert_eq!(jobs[0]["state"], "succeeded", "{jobs:#?}\n{}", bot.log());

    // The pull request: the bot's branch into main, reviewed by the asker.
    let pulls = world.gh.pulls(OWNER, REPO);
    assert_eq!(pulls.len(), 1, "{pulls:#?}");
    let pull = &pulls[0];
    assert_eq!(pull.head, BRANCH);
    assert_eq!(pull.base, "main");
    assert_eq!(pull.title, "Fix the greeting punctuation in src/greet.ts");
    assert!(!pull.draft);
    assert_eq!(pull.requested_reviewers, ["Codertocat"]);
    for part in [
        "Closes #7",
        "<!-- gitkeeper:issue=7 -->",
        "`src/greet.ts`: modified (+1 −1)",
        "| check | result | duration |",
        "greet is still exported",
        "✅ passed",
        "- **Succeeded with**: `local-small`",
        "| 1 | 1 | `local-small` | passed |",
    ] {
        assert!(
            pull.body.contains(part),
            "missing {part:?} in:\n{}",
            pull.body
        );
    }

    // One commit on top of main, made through the Git Data API, with trailers.
    let head = world.gh.branch_sha(OWNER, REPO, BRANCH).await.unwrap();
    assert_eq!(
        world
            .gh
            .file_at(OWNER, REPO, &head, "src/greet.ts")
            .await
            .as_deref(),
        Some(GREET_FIXED)
    );
    assert_eq!(
        world
            .gh
            .git(OWNER, REPO, &["rev-parse", &format!("{head}^")])
            .await,
        base
    );
    let message = world
        .gh
        .git(OWNER, REPO, &["log", "-1", "--format=%B", &head])
        .await;
    assert!(
        message.starts_with("fix: Fix the greeting punctuation in src/greet.ts (#7)"),
        "{message}"
    );
    for trailer in [
        "Gitkeeper-Model: local-small",
        "Gitkeeper-Tier: 1",
        "Gitkeeper-Attempts: 1",
        "Gitkeeper-Prompt-SHA256: ",
    ] {
        assert!(message.contains(trailer), "{message}");
    }
    assert_eq!(
        world
            .gh
            .file_at(OWNER, REPO, "main", "src/greet.ts")
            .await
            .as_deref(),
        Some(GREET),
        "main is untouched"
    );

    // A completed check run on the pull request's head: neutral, since the
    // repository's only check (a grep) could not exercise the change.
    let checks = world.gh.check_runs(OWNER, REPO);
    assert_eq!(checks.len(), 1, "{checks:#?}");
    assert_eq!(checks[0].name, "Gitkeeper");
    assert_eq!(checks[0].head_sha, head);
    assert_eq!(checks[0].status, "completed");
    assert_eq!(checks[0].conclusion.as_deref(), Some("neutral"));
    assert!(
        checks[0]
            .title
            .as_deref()
            .unwrap_or("")
            .ends_with("not proven"),
        "{checks:#?}"
    );
    assert!(
        checks[0]
            .text
            .as_deref()
            .unwrap_or("")
            .contains("**Not proven.** The checks passed, but they could not exercise this change: no test command ran; no typecheck ran."),
        "{checks:#?}"
    );
    assert!(
        checks[0]
            .text
            .as_deref()
            .unwrap_or("")
            .contains("greet is still exported"),
        "{checks:#?}"
    );

    // `gitkeeper:working` came and went; one status comment tells the story.
    let label_posts = world
        .gh
        .requests_matching("POST", "/repos/*/*/issues/7/labels");
    assert_eq!(label_posts.len(), 1);
    assert!(world.gh.labels(OWNER, REPO, ISSUE).is_empty());
    let status = world.status_comments(ISSUE);
    assert_eq!(status.len(), 1, "{status:#?}");
    for part in [
        &format!("✅ **Opened #{}.**", pull.number),
        "- ✅ Reading the repository",
        "- ✅ Committing and opening the pull request",
        BRANCH,
    ] {
        assert!(
            status[0].contains(part),
            "missing {part:?} in:\n{}",
            status[0]
        );
    }

    // The model saw the issue as the task, with the file it names.
    let prompts = world.ollama.prompts();
    assert_eq!(prompts.len(), 1);
    assert!(prompts[0].contains("with a comma and an exclamation mark"));
    assert!(prompts[0].contains("return `Hello ${name}`;"));
}

#[tokio::test]
async fn when_every_tier_fails_the_issue_is_labelled_for_a_human_and_nothing_is_pushed() {
    let world = World::start().await;
    world.default_answer(Step::reply(breaking_answer()));
    let bot = world.start_bot().await;
    bot.webhook("issues", "d-fail", &labeled(ISSUE)).await;
    let jobs = settled(&bot, 1).await;
    assert_eq!(jobs[0]["state"], "failed", "{jobs:#?}\n{}", bot.log());
    assert!(
        jobs[0]["last_error"]
            .as_str()
            .unwrap_or("")
            .contains("every tier failed"),
        "{jobs:#?}"
    );

    assert!(world.gh.pulls(OWNER, REPO).is_empty());
    assert_eq!(world.gh.branch_sha(OWNER, REPO, BRANCH).await, None);
    assert!(world.gh.check_runs(OWNER, REPO).is_empty());
    assert_eq!(
        world.gh.labels(OWNER, REPO, ISSUE),
        ["gitkeeper:needs-human"]
    );
    let status = world.status_comments(ISSUE);
    assert_eq!(status.len(), 1);
    for part in [
        "could not make a change that passes the checks",
        "- ❌ Validating",
        "/gitkeeper escalate",
        "validation_failed",
        "| greet is still exported failed: ",
    ] {
        assert!(
            status[0].contains(part),
            "missing {part:?} in:\n{}",
            status[0]
        );
    }
    // The failed attempts' edits never reached GitHub.
    assert!(
        world
            .gh
            .requests_matching("POST", "/repos/*/*/git/blobs")
            .is_empty(),
        "no blob was created"
    );
}

#[tokio::test]
async fn a_question_waits_for_an_answer_and_the_answer_resumes_the_work() {
    let world = World::start().await;
    world
        .ollama
        .push(Step::clarification("Should it say Hello or Hi?"));
    world.default_answer(Step::reply(good_answer()));
    let bot = world.start_bot().await;
    bot.webhook("issues", "d-ask", &labeled(ISSUE)).await;
    let jobs = settled(&bot, 1).await;
    assert_eq!(jobs[0]["state"], "waiting", "{jobs:#?}\n{}", bot.log());
    assert_eq!(
        world.gh.labels(OWNER, REPO, ISSUE),
        ["gitkeeper:clarification-needed"]
    );
    let question = world
        .gh
        .comments(OWNER, REPO, ISSUE)
        .into_iter()
        .find(|c| c.body.contains("<!-- gitkeeper:question -->"))
        .expect("the question is posted on the issue");
    assert!(
        question.body.contains("> Should it say Hello or Hi?"),
        "{}",
        question.body
    );
    assert!(world.gh.pulls(OWNER, REPO).is_empty());

    // The maintainer answers in a plain comment on the still-labelled issue.
    let id = world
        .gh
        .add_comment(OWNER, REPO, ISSUE, "Codertocat", "Hello, with a comma.");
    let mut answer = comment(ISSUE, id, "Hello, with a comma.", false);
    answer["issue"]["labels"] = serde_json::json!([{"name": "gitkeeper:clarification-needed"}]);
    assert_eq!(
        bot.webhook("issue_comment", "d-answer", &answer)
            .await
            .status(),
        202
    );
    let jobs = settled(&bot, 2).await;
    let resumed = jobs
        .iter()
        .find(|j| j["intent"]["answer"] == "Hello, with a comma.")
        .expect("the answer queued a job");
    assert_eq!(resumed["state"], "succeeded", "{jobs:#?}\n{}", bot.log());
    assert_eq!(world.gh.pulls(OWNER, REPO).len(), 1);
    assert!(world.gh.labels(OWNER, REPO, ISSUE).is_empty());
    let last = world.ollama.prompts().pop().unwrap();
    assert!(last.contains("Should it say Hello or Hi?"), "{last}");
    assert!(last.contains("Hello, with a comma."), "{last}");
}

#[tokio::test]
async fn retry_on_the_pull_request_redoes_the_task_on_the_same_branch_and_pull_request() {
    let world = World::start().await;
    world.default_answer(Step::reply(good_answer()));
    let base = world.gh.branch_sha(OWNER, REPO, "main").await.unwrap();
    let bot = world.start_bot().await;
    bot.webhook("issues", "d-first", &labeled(ISSUE)).await;
    settled(&bot, 1).await;
    let number = world.gh.pulls(OWNER, REPO)[0].number;
    let first_head = world.gh.branch_sha(OWNER, REPO, BRANCH).await.unwrap();

    let id = world
        .gh
        .add_comment(OWNER, REPO, number, "Codertocat", "/gitkeeper retry");
    bot.webhook(
        "issue_comment",
        "d-retry",
        &comment(number, id, "/gitkeeper retry", true),
    )
    .await;
    let jobs = settled(&bot, 2).await;
    assert!(
        jobs.iter().all(|j| j["state"] == "succeeded"),
        "{jobs:#?}\n{}",
        bot.log()
    );
    // Both jobs started from main: the retry took the check's outcome there
    // from the cache the first job left in the data dir.
    let cached = world
        .dir
        .path()
        .join("cache/baseline/codertocat/hello-world");
    assert_eq!(std::fs::read_dir(&cached).map_or(0, Iterator::count), 1);
    assert_eq!(
        bot.log()
            .matches("the base commit's outcomes come from the cache")
            .count(),
        1,
        "{}",
        bot.log()
    );

    // Redone from main, so the bot's own branch was reset, not stacked.
    let pulls = world.gh.pulls(OWNER, REPO);
    assert_eq!(pulls.len(), 1, "{pulls:#?}");
    let head = world.gh.branch_sha(OWNER, REPO, BRANCH).await.unwrap();
    assert_ne!(head, first_head);
    assert_eq!(
        world
            .gh
            .git(OWNER, REPO, &["rev-parse", &format!("{head}^")])
            .await,
        base
    );
    let status = world.status_comments(number);
    assert_eq!(status.len(), 1, "{status:#?}");
    assert!(
        status[0].contains(&format!("✅ **Updated #{number}.**")),
        "{}",
        status[0]
    );
    let reactions = world.gh.reactions(
        OWNER,
        REPO,
        gitkeeper_e2e::github::ReactionTarget::Comment(id),
    );
    assert_eq!(reactions.len(), 1);
    assert_eq!(world.gh.check_runs(OWNER, REPO).len(), 2);
}

#[tokio::test]
async fn revise_on_the_pull_request_adds_a_commit_on_top_of_its_head() {
    let world = World::start().await;
    world.ollama.push(Step::reply(good_answer()));
    let documented = format!("/** Greets someone by name. */\n{GREET_FIXED}");
    world.ollama.push(Step::reply(format!(
        "FILE: src/greet.ts\n```ts\n{documented}```\n"
    )));
    let bot = world.start_bot().await;
    bot.webhook("issues", "d-first", &labeled(ISSUE)).await;
    settled(&bot, 1).await;
    let number = world.gh.pulls(OWNER, REPO)[0].number;
    let first_head = world.gh.branch_sha(OWNER, REPO, BRANCH).await.unwrap();

    let ask = "/gitkeeper revise add a doc comment to greet";
    let id = world.gh.add_comment(OWNER, REPO, number, "Codertocat", ask);
    bot.webhook("issue_comment", "d-revise", &comment(number, id, ask, true))
        .await;
    let jobs = settled(&bot, 2).await;
    assert!(
        jobs.iter().all(|j| j["state"] == "succeeded"),
        "{jobs:#?}\n{}",
        bot.log()
    );

    let head = world.gh.branch_sha(OWNER, REPO, BRANCH).await.unwrap();
    assert_eq!(
        world
            .gh
            .git(OWNER, REPO, &["rev-parse", &format!("{head}^")])
            .await,
        first_head,
        "the revision sits on top of the pull request's head"
    );
    assert_eq!(
        world.gh.file_at(OWNER, REPO, &head, "src/greet.ts").await,
        Some(documented)
    );
    let message = world
        .gh
        .git(OWNER, REPO, &["log", "-1", "--format=%s", &head])
        .await;
    assert!(
        message.contains("revise: add a doc comment to greet (#7)"),
        "{message}"
    );

    // The model saw the instructions and the pull request's diff.
    let last = world.ollama.prompts().pop().unwrap();
    assert!(last.contains("add a doc comment to greet"), "{last}");
    assert!(last.contains("+  return `Hello, ${name}!`;"), "{last}");
    let status = world.status_comments(number);
    assert_eq!(status.len(), 1);
    assert!(status[0].contains("✅ **Pushed "), "{}", status[0]);
    let checks = world.gh.check_runs(OWNER, REPO);
    assert_eq!(
        checks.last().map(|c| c.head_sha.as_str()),
        Some(head.as_str())
    );
}

#[tokio::test]
async fn explain_answers_with_the_models_explanation_and_commits_nothing() {
    let world = World::start().await;
    world.ollama.push(Step::reply(good_answer()));
    world.ollama.push(Step::reply(
        "It adds the comma and the exclamation mark, as @octocat asked. <!-- gitkeeper:question -->",
    ));
    let bot = world.start_bot().await;
    bot.webhook("issues", "d-first", &labeled(ISSUE)).await;
    settled(&bot, 1).await;
    let number = world.gh.pulls(OWNER, REPO)[0].number;
    let head = world.gh.branch_sha(OWNER, REPO, BRANCH).await.unwrap();

    let id = world
        .gh
        .add_comment(OWNER, REPO, number, "Codertocat", "/gitkeeper explain");
    bot.webhook(
        "issue_comment",
        "d-explain",
        &comment(number, id, "/gitkeeper explain", true),
    )
    .await;
    let jobs = settled(&bot, 2).await;
    assert!(
        jobs.iter().all(|j| j["state"] == "succeeded"),
        "{jobs:#?}\n{}",
        bot.log()
    );
    let status = world.status_comments(number);
    assert_eq!(status.len(), 1);
    let text = &status[0];
    assert!(
        text.contains(&format!("💬 **What #{number} does**")),
        "{text}"
    );
    assert!(
        text.contains("It adds the comma and the exclamation mark"),
        "{text}"
    );
    assert!(text.contains("@\u{200b}octocat"), "no mention: {text}");
    assert!(!text.contains("<!-- gitkeeper:question -->"), "{text}");
    assert!(text.contains("Written by `local-large`"), "{text}");
    // The model read the task and the pull request's diff; nothing was pushed.
    let last = world.ollama.prompts().pop().unwrap();
    assert!(
        last.contains("with a comma and an exclamation mark"),
        "{last}"
    );
    assert!(last.contains("+  return `Hello, ${name}!`;"), "{last}");
    assert_eq!(
        world.gh.branch_sha(OWNER, REPO, BRANCH).await.unwrap(),
        head
    );
    assert_eq!(world.gh.check_runs(OWNER, REPO).len(), 1);
}

#[tokio::test]
async fn with_no_runner_online_the_local_tier_is_skipped_and_the_report_says_why() {
    let world = World::start().await;
    let deepseek =
        gitkeeper_e2e::models::ModelDouble::openai(&["deepseek-chat"], Some("sk-ds-test")).await;
    deepseek.update_options(|o| o.default_step = Some(Step::reply(good_answer())));
    let mut options = world.options();
    // Local tiers go to runners (the default), and none is connected.
    options.config_toml = Some(format!(
        "[models.cloud-deepseek]\nendpoint = \"{}\"\nmax_retries = 0\n\n[runner]\ntiers = [\"local-small\", \"local-large\"]\n",
        deepseek.url()
    ));
    options
        .extra_env
        .push(("DEEPSEEK_API_KEY".into(), "sk-ds-test".into()));
    let bot = gitkeeper_e2e::bot::BotProcess::start(&options, world.dir.path()).await;
    bot.webhook("issues", "d-norunner", &labeled(ISSUE)).await;
    let jobs = settled(&bot, 1).await;
    assert_eq!(jobs[0]["state"], "succeeded", "{jobs:#?}\n{}", bot.log());

    let pulls = world.gh.pulls(OWNER, REPO);
    assert_eq!(pulls.len(), 1);
    let body = &pulls[0].body;
    for part in [
        "| 1 | 1 | `local-small` | model_failed |",
        "no runner online serves qwen2.5-coder:7b",
        "- **Succeeded with**: `cloud-deepseek`",
        "| 2 | 2 | `cloud-deepseek` | passed |",
    ] {
        assert!(body.contains(part), "missing {part:?} in:\n{body}");
    }
    assert!(
        world.ollama.prompts().is_empty(),
        "the local model was never called directly"
    );
    let head = world.gh.branch_sha(OWNER, REPO, BRANCH).await.unwrap();
    let message = world
        .gh
        .git(OWNER, REPO, &["log", "-1", "--format=%B", &head])
        .await;
    assert!(
        message.contains("Gitkeeper-Model: cloud-deepseek"),
        "{message}"
    );
    assert!(message.contains("Gitkeeper-Tier: 2"), "{message}");
}

#[tokio::test]
async fn escalate_redoes_the_task_one_tier_up_the_ladder() {
    let world = World::start().await;
    world.default_answer(Step::reply(good_answer()));
    let (deepseek, options) = with_deepseek(&world, Step::reply(good_answer()), "").await;
    let bot = gitkeeper_e2e::bot::BotProcess::start(&options, world.dir.path()).await;
    bot.webhook("issues", "d-first", &labeled(ISSUE)).await;
    settled(&bot, 1).await;
    assert_eq!(world.ollama.completion_requests().len(), 1);
    assert_eq!(deepseek.completion_requests().len(), 0);
    let number = world.gh.pulls(OWNER, REPO)[0].number;

    let id = world
        .gh
        .add_comment(OWNER, REPO, number, "Codertocat", "/gitkeeper escalate");
    bot.webhook(
        "issue_comment",
        "d-escalate",
        &comment(number, id, "/gitkeeper escalate", true),
    )
    .await;
    let jobs = settled(&bot, 2).await;
    assert!(
        jobs.iter().all(|j| j["state"] == "succeeded"),
        "{jobs:#?}\n{}",
        bot.log()
    );
    // The quick-edit ladder is local-small → cloud-deepseek: escalated, the
    // local model is not asked again.
    assert_eq!(world.ollama.completion_requests().len(), 1);
    assert_eq!(deepseek.completion_requests().len(), 1);
    let head = world.gh.branch_sha(OWNER, REPO, BRANCH).await.unwrap();
    let message = world
        .gh
        .git(OWNER, REPO, &["log", "-1", "--format=%B", &head])
        .await;
    assert!(
        message.contains("Gitkeeper-Model: cloud-deepseek"),
        "{message}"
    );
    assert!(message.contains("Gitkeeper-Tier: 2"), "{message}");
    let pulls = world.gh.pulls(OWNER, REPO);
    assert_eq!(pulls.len(), 1);
    assert!(
        pulls[0]
            .body
            .contains("escalated 1× → starting at tier 2 (cloud-deepseek)"),
        "{}",
        pulls[0].body
    );
}

#[tokio::test]
async fn a_paid_tier_waits_for_approve_and_approve_goes_on_from_there() {
    let world = World::start().await;
    world.default_answer(Step::reply(breaking_answer()));
    let (deepseek, options) = with_deepseek(
        &world,
        Step::reply(good_answer()),
        "[route]\nrequire_approval_for_cloud = true\n",
    )
    .await;
    let bot = gitkeeper_e2e::bot::BotProcess::start(&options, world.dir.path()).await;
    bot.webhook("issues", "d-park", &labeled(ISSUE)).await;
    let jobs = settled(&bot, 1).await;
    assert_eq!(jobs[0]["state"], "waiting", "{jobs:#?}\n{}", bot.log());
    assert_eq!(
        deepseek.completion_requests().len(),
        0,
        "no paid call before approval"
    );
    let local_calls = world.ollama.completion_requests().len();
    assert_eq!(local_calls, 2, "local-small tried its two attempts");
    let status = world.status_comments(ISSUE);
    assert!(
        status[0].contains("Waiting for approval of a paid model"),
        "{}",
        status[0]
    );
    assert!(status[0].contains("/gitkeeper approve"), "{}", status[0]);
    assert!(world.gh.pulls(OWNER, REPO).is_empty());

    let id = world
        .gh
        .add_comment(OWNER, REPO, ISSUE, "Codertocat", "/gitkeeper approve");
    bot.webhook(
        "issue_comment",
        "d-approve",
        &comment(ISSUE, id, "/gitkeeper approve", false),
    )
    .await;
    let jobs = settled(&bot, 2).await;
    let approved = jobs
        .iter()
        .find(|j| j["intent"]["intent"] == "command")
        .expect("the approve job");
    assert_eq!(approved["state"], "succeeded", "{jobs:#?}\n{}", bot.log());
    assert_eq!(deepseek.completion_requests().len(), 1);
    assert_eq!(
        world.ollama.completion_requests().len(),
        local_calls,
        "the free tiers that failed are not run again"
    );
    let pulls = world.gh.pulls(OWNER, REPO);
    assert_eq!(pulls.len(), 1);
    assert!(
        pulls[0].body.contains("`cloud-deepseek`"),
        "{}",
        pulls[0].body
    );
}

#[tokio::test]
async fn a_critical_route_labels_its_pull_request_for_human_review() {
    let world = World::start().await;
    world.default_answer(Step::reply(good_answer()));
    let mut options = world.options();
    options.config_toml = Some(format!(
        "{}\n[[route.ladder]]\nname = \"everything-critical\"\ntiers = [\"local-small\"]\nvalidation = \"critical\"\n",
        gitkeeper_e2e::world::config_toml(&world.ollama.url())
    ));
    let bot = gitkeeper_e2e::bot::BotProcess::start(&options, world.dir.path()).await;
    bot.webhook("issues", "d-critical", &labeled(ISSUE)).await;
    let jobs = settled(&bot, 1).await;
    assert_eq!(jobs[0]["state"], "succeeded", "{jobs:#?}\n{}", bot.log());
    let number = world.gh.pulls(OWNER, REPO)[0].number;
    assert_eq!(
        world.gh.labels(OWNER, REPO, number),
        ["gitkeeper:human-review"]
    );
}

#[tokio::test]
async fn cancel_stops_the_running_job_and_leaves_everything_as_it_was() {
    let world = World::start().await;
    // The model takes its time: long enough to be stopped mid-answer.
    world
        .ollama
        .push(Step::reply(good_answer()).delay(std::time::Duration::from_secs(25)));
    let bot = world.start_bot().await;
    bot.webhook("issues", "d-slow", &labeled(ISSUE)).await;
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(20);
    while world.ollama.completion_requests().is_empty() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the model was never asked:\n{}",
            bot.log()
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }

    let id = world
        .gh
        .add_comment(OWNER, REPO, ISSUE, "Codertocat", "/gitkeeper cancel");
    bot.webhook(
        "issue_comment",
        "d-cancel",
        &comment(ISSUE, id, "/gitkeeper cancel", false),
    )
    .await;
    let jobs = settled(&bot, 2).await;
    let generate = jobs
        .iter()
        .find(|j| j["intent"]["intent"] == "generate")
        .unwrap();
    let cancel = jobs
        .iter()
        .find(|j| j["intent"]["intent"] == "command")
        .unwrap();
    assert_eq!(generate["state"], "cancelled", "{jobs:#?}\n{}", bot.log());
    assert_eq!(generate["last_error"], "cancelled by /gitkeeper cancel");
    assert_eq!(cancel["state"], "succeeded", "{jobs:#?}");

    assert!(world.gh.pulls(OWNER, REPO).is_empty());
    assert_eq!(world.gh.branch_sha(OWNER, REPO, BRANCH).await, None);
    assert!(world.gh.labels(OWNER, REPO, ISSUE).is_empty());
    let status = world.status_comments(ISSUE);
    assert_eq!(status.len(), 2, "{status:#?}");
    assert!(
        status
            .iter()
            .any(|s| s.contains("🛑 **Stopped** by `/gitkeeper cancel`")),
        "{status:#?}"
    );
    assert!(
        status
            .iter()
            .any(|s| s.contains("1 running job(s) will stop")),
        "{status:#?}"
    );
}

/// The pull request the first job opened, with the model's next answer queued.
async fn opened_pull(world: &World, bot: &gitkeeper_e2e::bot::BotProcess) -> (u64, String) {
    bot.webhook("issues", "d-first", &labeled(ISSUE)).await;
    let jobs = settled(bot, 1).await;
    assert_eq!(jobs[0]["state"], "succeeded", "{}", bot.log());
    let number = world.gh.pulls(OWNER, REPO)[0].number;
    let head = world.gh.branch_sha(OWNER, REPO, BRANCH).await.unwrap();
    (number, head)
}

fn documented_answer() -> (String, String) {
    let documented = format!("/** Greets someone by name. */\n{GREET_FIXED}");
    let answer = format!("FILE: src/greet.ts\n```ts\n{documented}```\n");
    (documented, answer)
}

/// A world whose first job opened the pull request and whose model then
/// answers with the documented file.
async fn revision_world() -> (World, gitkeeper_e2e::bot::BotProcess, u64, String, String) {
    let world = World::start().await;
    let (documented, answer) = documented_answer();
    world.ollama.push(Step::reply(good_answer()));
    world.ollama.push(Step::reply(answer));
    let bot = world.start_bot().await;
    let (number, first_head) = opened_pull(&world, &bot).await;
    (world, bot, number, first_head, documented)
}

/// The branch moved by one commit on top of `first_head`, holding `documented`.
async fn assert_revised_on_top(world: &World, first_head: &str, documented: String) {
    let head = world.gh.branch_sha(OWNER, REPO, BRANCH).await.unwrap();
    assert_eq!(
        world
            .gh
            .git(OWNER, REPO, &["rev-parse", &format!("{head}^")])
            .await,
        first_head
    );
    assert_eq!(
        world.gh.file_at(OWNER, REPO, &head, "src/greet.ts").await,
        Some(documented)
    );
}

#[tokio::test]
async fn a_line_comment_is_revised_and_answered_in_its_thread() {
    let (world, bot, number, first_head, documented) = revision_world().await;

    let (comment_id, _) = world.gh.add_review_comment(
        OWNER,
        REPO,
        number,
        None,
        "Codertocat",
        "src/greet.ts",
        Some(1),
        "Document this function.",
    );
    let mut event =
        gitkeeper_e2e::bot::webhook_fixture("pull_request_review_comment.created.json", 42);
    event["pull_request"]["number"] = serde_json::json!(number);
    event["pull_request"]["head"]["ref"] = serde_json::json!(BRANCH);
    event["comment"]["id"] = serde_json::json!(comment_id);
    event["comment"]["path"] = serde_json::json!("src/greet.ts");
    event["comment"]["line"] = serde_json::json!(1);
    event["comment"]["body"] = serde_json::json!("Document this function.");
    assert_eq!(
        bot.webhook("pull_request_review_comment", "d-line", &event)
            .await
            .status(),
        202
    );
    let jobs = settled(&bot, 2).await;
    assert!(
        jobs.iter().all(|j| j["state"] == "succeeded"),
        "{jobs:#?}\n{}",
        bot.log()
    );

    assert_revised_on_top(&world, &first_head, documented).await;
    // Answered where it was asked: a reply in the comment's thread, by the App.
    let thread: Vec<_> = world
        .gh
        .review_comments(OWNER, REPO, number)
        .into_iter()
        .filter(|c| c.in_reply_to == Some(comment_id))
        .collect();
    assert_eq!(thread.len(), 1, "{thread:#?}");
    assert_eq!(thread[0].author, world.gh.bot_login());
    assert!(
        thread[0].body.contains("✅ **Pushed "),
        "{}",
        thread[0].body
    );
    let eyes = world.gh.reactions(
        OWNER,
        REPO,
        gitkeeper_e2e::github::ReactionTarget::ReviewComment(comment_id),
    );
    assert_eq!(eyes.len(), 1);
    // The model was told the file and line the comment is on.
    let last = world.ollama.prompts().pop().unwrap();
    assert!(last.contains("Document this function."), "{last}");
    assert!(last.contains("src/greet.ts"), "{last}");
}

#[tokio::test]
async fn a_changes_requested_review_is_one_revision_covering_all_its_comments() {
    let (world, bot, number, first_head, documented) = revision_world().await;

    let (_, review) = world.gh.add_review_comment(
        OWNER,
        REPO,
        number,
        None,
        "Codertocat",
        "src/greet.ts",
        Some(1),
        "Add a doc comment.",
    );
    world.gh.add_review_comment(
        OWNER,
        REPO,
        number,
        Some(review),
        "Codertocat",
        "src/greet.ts",
        Some(2),
        "Keep the exclamation mark.",
    );
    let mut event = gitkeeper_e2e::bot::webhook_fixture("pull_request_review.submitted.json", 42);
    event["pull_request"]["number"] = serde_json::json!(number);
    event["pull_request"]["head"]["ref"] = serde_json::json!(BRANCH);
    event["review"]["id"] = serde_json::json!(review);
    event["review"]["state"] = serde_json::json!("changes_requested");
    event["review"]["body"] = serde_json::json!("Two small things.");
    assert_eq!(
        bot.webhook("pull_request_review", "d-review", &event)
            .await
            .status(),
        202
    );
    let jobs = settled(&bot, 2).await;
    assert!(
        jobs.iter().all(|j| j["state"] == "succeeded"),
        "{jobs:#?}\n{}",
        bot.log()
    );
    assert_eq!(
        world.ollama.completion_requests().len(),
        2,
        "one revision for the whole review"
    );
    assert_revised_on_top(&world, &first_head, documented).await;
    let last = world.ollama.prompts().pop().unwrap();
    for part in [
        "Two small things.",
        "`src/greet.ts` line 1: Add a doc comment.",
        "`src/greet.ts` line 2: Keep the exclamation mark.",
    ] {
        assert!(last.contains(part), "missing {part:?} in:\n{last}");
    }
    let status = world.status_comments(number);
    assert_eq!(status.len(), 1);
    assert!(status[0].contains("✅ **Pushed "), "{}", status[0]);
}

#[tokio::test]
async fn after_a_human_pushes_revisions_build_on_their_commit_and_retry_never_overwrites_it() {
    let (world, bot, number, _, documented) = revision_world().await;
    let human = world
        .gh
        .push_files(
            OWNER,
            REPO,
            BRANCH,
            &[("NOTES.md", "Reviewed by a human.\n")],
            "Add review notes",
        )
        .await;

    let ask = "/gitkeeper revise add a doc comment to greet";
    let id = world.gh.add_comment(OWNER, REPO, number, "Codertocat", ask);
    bot.webhook("issue_comment", "d-revise", &comment(number, id, ask, true))
        .await;
    let jobs = settled(&bot, 2).await;
    assert!(
        jobs.iter().all(|j| j["state"] == "succeeded"),
        "{jobs:#?}\n{}",
        bot.log()
    );
    assert_revised_on_top(&world, &human, documented).await;
    let revised = world.gh.branch_sha(OWNER, REPO, BRANCH).await.unwrap();
    assert_eq!(
        world
            .gh
            .file_at(OWNER, REPO, &revised, "NOTES.md")
            .await
            .as_deref(),
        Some("Reviewed by a human.\n"),
        "the human's file is kept"
    );

    // A human pushes again: their commit is the head, and a retry (which
    // starts over from main) must not run over it, nor spend a model call.
    let human_again = world
        .gh
        .push_files(
            OWNER,
            REPO,
            BRANCH,
            &[("NOTES.md", "Still mine.\n")],
            "More notes",
        )
        .await;
    assert_retry_refused(&world, &bot, number, &human_again, "d-retry", 3, 2).await;
    assert!(world.gh.labels(OWNER, REPO, ISSUE).is_empty());
}

#[tokio::test]
async fn a_human_commit_copying_the_bots_trailers_is_still_theirs_and_retry_refuses_it() {
    let (world, bot, number, bots_head, _) = revision_world().await;
    // The bot's own head commit: GitHub signed it for the App's bot user.
    let bots_message = world
        .gh
        .git(OWNER, REPO, &["log", "-1", "--format=%B", &bots_head])
        .await;
    assert!(
        bots_message.contains("Gitkeeper-Prompt-SHA256: "),
        "{bots_message}"
    );
    // A human pushes a commit whose message is the bot's, trailers and all.
    let human = world
        .gh
        .push_files(
            OWNER,
            REPO,
            BRANCH,
            &[("NOTES.md", "Mine, whatever the message says.\n")],
            &bots_message,
        )
        .await;
    assert_retry_refused(&world, &bot, number, &human, "d-retry-copied", 2, 1).await;
    assert!(world.gh.labels(OWNER, REPO, ISSUE).is_empty());
}

/// `/gitkeeper retry` on the pull request fails without a model call and
/// leaves `human`'s commit at the head of the branch, saying why; `jobs` is
/// how many jobs there are then, `model_calls` how many calls came before.
async fn assert_retry_refused(
    world: &World,
    bot: &gitkeeper_e2e::bot::BotProcess,
    number: u64,
    human: &str,
    delivery: &str,
    jobs: usize,
    model_calls: usize,
) {
    let id = world
        .gh
        .add_comment(OWNER, REPO, number, "Codertocat", "/gitkeeper retry");
    bot.webhook(
        "issue_comment",
        delivery,
        &comment(number, id, "/gitkeeper retry", true),
    )
    .await;
    let jobs = settled(bot, jobs).await;
    let retry = jobs
        .iter()
        .find(|j| j["intent"]["command"]["command"] == "retry")
        .unwrap();
    assert_eq!(retry["state"], "failed", "{jobs:#?}\n{}", bot.log());
    assert_eq!(
        world.gh.branch_sha(OWNER, REPO, BRANCH).await.unwrap(),
        human,
        "never force-pushed over the human's commit"
    );
    assert_eq!(
        retry["last_error"],
        format!("{BRANCH} has commits the bot did not make")
    );
    assert_eq!(
        world.ollama.completion_requests().len(),
        model_calls,
        "no model call for the refused retry"
    );
    let status = world.status_comments(number);
    assert!(
        status
            .iter()
            .any(|s| s.contains("✋ **Gitkeeper will not overwrite this branch.**")),
        "{status:#?}"
    );
}

#[tokio::test]
async fn a_merged_pull_request_counts_for_its_model_and_task_type() {
    let (world, bot, number, _, _) = revision_world().await;
    let ask = "/gitkeeper revise add a doc comment to greet";
    let id = world.gh.add_comment(OWNER, REPO, number, "Codertocat", ask);
    bot.webhook("issue_comment", "d-revise", &comment(number, id, ask, true))
        .await;
    settled(&bot, 2).await;

    let mut closed = gitkeeper_e2e::bot::webhook_fixture("pull_request.closed.json", 42);
    closed["pull_request"]["number"] = serde_json::json!(number);
    closed["pull_request"]["head"]["ref"] = serde_json::json!(BRANCH);
    closed["pull_request"]["body"] = serde_json::json!(world.gh.pulls(OWNER, REPO)[0].body);
    closed["pull_request"]["merged"] = serde_json::json!(true);
    let answer = bot.webhook("pull_request", "d-merged", &closed).await;
    assert_eq!(answer.status(), 202);
    let answer: serde_json::Value = answer.json().await.unwrap();
    assert_eq!(answer["status"], "recorded");

    let out = bot.cli(&["stats", "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stats: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    // The merge is credited to the last passing run (the revision).
    assert_eq!(
        stats["outcomes"],
        serde_json::json!([{
            "worker": "local-small",
            "task_type": "fix",
            "pulls": 1,
            "merged": 1,
            "closed_unmerged": 0,
            "avg_revision_rounds": 1.0,
        }]),
        "{stats:#}"
    );
    // The issue's task and the revision, both passing on the local tier.
    assert_eq!(stats["tasks"], 2, "{stats:#}");
    assert_eq!(
        (&stats["finished"], &stats["finished_local"]),
        (&serde_json::json!(2), &serde_json::json!(2)),
        "{stats:#}"
    );
    assert_eq!(stats["by_type"][0]["task_type"], "fix", "{stats:#}");
    assert_eq!(stats["by_type"][0]["pass"], 2, "{stats:#}");
    // One pull request opened from a label: its time is measured.
    assert_eq!(stats["time_to_pr"]["pulls"], 1, "{stats:#}");
    assert!(
        stats["time_to_pr"]["p50_secs"].as_f64().unwrap() > 0.0,
        "{stats:#}"
    );
    assert_eq!(stats["savings"]["actual_usd"], 0.0, "{stats:#}");
    assert!(
        stats["savings"]["saved_usd"].as_f64().unwrap() > 0.0,
        "{stats:#}"
    );
    let small = &stats["by_model"][0];
    assert_eq!(small["model"], "local-small", "{stats:#}");
    assert_eq!(small["calls"]["passed"], 2, "{stats:#}");
    let table = bot.cli(&["stats"]);
    let text = String::from_utf8_lossy(&table.stdout);
    assert!(
        text.contains("local-small") && text.contains("100%"),
        "{text}"
    );
    // Other repositories and a recent window.
    let none = bot.cli(&["stats", "--repo", "someone/else", "--json"]);
    let none: serde_json::Value = serde_json::from_slice(&none.stdout).unwrap();
    assert_eq!(none["tasks"], 0);
    let bad = bot.cli(&["stats", "--since", "7 days"]);
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("7d"));

    // Export: both passing tasks, with their context and diff, merged.
    let out = bot.cli(&["export", "--since", "1d"]);
    assert!(out.status.success(), "{out:?}");
    let lines: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2, "{lines:#?}");
    for line in &lines {
        assert_eq!(line["merged"], true, "{line:#}");
        assert!(
            line["context"].as_str().unwrap().contains("src/greet.ts"),
            "{line:#}"
        );
        assert!(
            line["diff"]
                .as_str()
                .unwrap()
                .contains("+++ b/src/greet.ts"),
            "{line:#}"
        );
        assert_eq!(line["local_only"], false);
    }
    assert!(
        lines[0]["task"]
            .as_str()
            .unwrap()
            .contains("Fix the greeting")
    );

    // Tune: two records are too few; eval results where the quick-edit
    // ladder's first tier failed five tasks propose skipping it, and
    // --apply writes that into the bot's configuration file.
    let out = bot.cli(&["tune"]);
    assert!(out.status.success(), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("No change to propose from 2 task records"),
        "{out:?}"
    );
    let results = world.dir.path().join("results.jsonl");
    let result = serde_json::json!({
        "suite": "s", "task": "t", "level": "quick", "fixture": "f", "config": "A",
        "outcome": "pass", "resolved": true, "validated": true, "false_pass": false,
        "first_try_well_formed": true, "attempts": 2, "escalations": 1,
        "prompt_tokens": 100, "completion_tokens": 10, "route": "quick-edit",
        "model": "cloud-deepseek", "failure": null,
        "seconds": {"setup": 0.0, "prepare": 0.0, "model": 0.0, "validation": 0.0,
                    "overhead": 0.0, "hidden": 0.0, "wall": 0.0}
    });
    std::fs::write(&results, format!("{result}\n").repeat(5)).unwrap();
    let results = results.display().to_string();
    let out = bot.cli(&["tune", "--eval", &results]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("[[route.ladder]] `quick-edit`: skip tier `local-small`"),
        "{out:?}"
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("nothing was changed"));
    let config = world.dir.path().join("gitkeeper.toml");
    let before = std::fs::read_to_string(&config).unwrap();
    let out = bot.cli(&["tune", "--eval", &results, "--apply"]);
    assert!(out.status.success(), "{out:?}");
    let after = std::fs::read_to_string(&config).unwrap();
    assert!(
        after.starts_with(&before),
        "the file's own text stays:\n{after}"
    );
    assert!(after.contains("→ skipped tier `local-small`"), "{after}");
    let shown = bot.cli(&["check-config"]);
    assert!(shown.status.success(), "{shown:?}");
    let shown: toml::Value = toml::from_str(&String::from_utf8_lossy(&shown.stdout)).unwrap();
    let quick = shown["route"]["ladder"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["name"].as_str() == Some("quick-edit"))
        .unwrap();
    assert_eq!(quick["tiers"].as_array().unwrap().len(), 1, "{quick:#?}");
}

#[tokio::test]
async fn with_drafts_on_failure_the_closest_attempt_becomes_a_draft_for_a_human() {
    let world = World::start().await;
    world.default_answer(Step::reply(breaking_answer()));
    let mut options = world.options();
    options.config_toml = Some(format!(
        "{}\n[publish]\nopen_draft_on_failure = true\n",
        gitkeeper_e2e::world::config_toml(&world.ollama.url())
    ));
    let bot = gitkeeper_e2e::bot::BotProcess::start(&options, world.dir.path()).await;
    bot.webhook("issues", "d-draft", &labeled(ISSUE)).await;
    let jobs = settled(&bot, 1).await;
    assert_eq!(jobs[0]["state"], "failed", "{jobs:#?}\n{}", bot.log());

    let pulls = world.gh.pulls(OWNER, REPO);
    assert_eq!(pulls.len(), 1, "{pulls:#?}");
    let pull = &pulls[0];
    assert!(pull.draft);
    assert!(
        pull.body
            .contains("**Draft: this change does not pass the repository's checks.**"),
        "{}",
        pull.body
    );
    assert!(pull.body.contains("❌ failed"), "{}", pull.body);
    assert!(pull.body.contains("Closes #7"));
    assert!(!pull.body.contains("Succeeded with"), "{}", pull.body);
    assert_eq!(
        world.gh.labels(OWNER, REPO, pull.number),
        ["gitkeeper:needs-human"]
    );
    assert_eq!(
        world.gh.labels(OWNER, REPO, ISSUE),
        ["gitkeeper:needs-human"]
    );
    // The draft's commit holds the failing attempt; its check run says so.
    let head = world.gh.branch_sha(OWNER, REPO, BRANCH).await.unwrap();
    let content = world
        .gh
        .file_at(OWNER, REPO, &head, "src/greet.ts")
        .await
        .unwrap();
    assert!(content.contains("export const greeting"), "{content}");
    let message = world
        .gh
        .git(OWNER, REPO, &["log", "-1", "--format=%B", &head])
        .await;
    assert!(message.contains("Draft: the closest attempt"), "{message}");
    let checks = world.gh.check_runs(OWNER, REPO);
    assert_eq!(checks.len(), 1);
    assert_eq!(checks[0].conclusion.as_deref(), Some("failure"));
    let status = world.status_comments(ISSUE);
    assert!(
        status[0].contains(&format!("📝 **Opened draft #{}", pull.number)),
        "{}",
        status[0]
    );
}

#[tokio::test]
async fn a_marker_in_someone_elses_comment_is_never_taken_for_the_bots() {
    let world = World::start().await;
    world.default_answer(Step::reply(good_answer()));
    // Job ids are sequential: someone plants the first job's marker ahead of time.
    let planted = "Fake progress <!-- gitkeeper:job=1 -->";
    let spoof = world.gh.add_comment(OWNER, REPO, ISSUE, "mallory", planted);
    let bot = world.start_bot().await;
    bot.webhook("issues", "d-spoof", &labeled(ISSUE)).await;
    let jobs = settled(&bot, 1).await;
    assert_eq!(jobs[0]["state"], "succeeded", "{jobs:#?}\n{}", bot.log());
    let comments = world.gh.comments(OWNER, REPO, ISSUE);
    let theirs = comments.iter().find(|c| c.id == spoof).unwrap();
    assert_eq!(theirs.body, planted, "the planted comment was not touched");
    let ours: Vec<_> = comments
        .iter()
        .filter(|c| c.author == world.gh.bot_login())
        .collect();
    assert_eq!(ours.len(), 1, "{comments:#?}");
    assert!(ours[0].body.contains("✅ **Opened #"), "{}", ours[0].body);
}

#[tokio::test]
async fn a_renamed_issue_keeps_its_branch_and_pull_request() {
    let world = World::start().await;
    world.ollama.push(Step::reply(good_answer()));
    // The renamed title routes to the standard ladder, whose checker reviews
    // the change the repository's one check (a grep) cannot exercise.
    world.ollama.push(Step::reply(good_answer()));
    world.ollama.push(Step::reply(
        r#"{"verdict": "pass", "confidence": 0.9, "notes": "adds the punctuation"}"#,
    ));
    let bot = world.start_bot().await;
    bot.webhook("issues", "d-first", &labeled(ISSUE)).await;
    settled(&bot, 1).await;
    // The maintainer renames the issue and labels it again.
    let mut renamed = labeled(ISSUE);
    renamed["issue"]["title"] = serde_json::json!("Greeting: use a comma and an exclamation mark");
    renamed["label"]["id"] = serde_json::json!(4242);
    bot.webhook("issues", "d-renamed", &renamed).await;
    let jobs = settled(&bot, 2).await;
    assert!(
        jobs.iter().all(|j| j["state"] == "succeeded"),
        "{jobs:#?}\n{}",
        bot.log()
    );
    let pulls = world.gh.pulls(OWNER, REPO);
    assert_eq!(pulls.len(), 1, "{pulls:#?}");
    assert_eq!(pulls[0].head, BRANCH);
    assert_eq!(
        pulls[0].title,
        "Greeting: use a comma and an exclamation mark"
    );
    assert_eq!(
        world
            .gh
            .git(
                OWNER,
                REPO,
                &[
                    "for-each-ref",
                    "--format=%(refname)",
                    "refs/heads/gitkeeper/"
                ]
            )
            .await,
        format!("refs/heads/{BRANCH}")
    );
}
