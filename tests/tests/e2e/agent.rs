//! Agent mode end to end: the real `gitkeeper-bot serve` with a ladder tier
//! in `mode = "agent"` on the DeepSeek double (OpenAI-compatible tool calls),
//! the GitHub double and the repository's own check in the sandbox; and the
//! generation loop against the Anthropic (`tool_use`/`tool_result`) and
//! Ollama (`/api/chat` tools) doubles. Scripts are the models' tool calls;
//! every assertion reads what GitHub, the repository or the model servers
//! saw.

use std::collections::BTreeMap;
use std::sync::Arc;

use gitkeeper::context::{ContextOptions, ContextPackage};
use gitkeeper_bot::generate::{GenerateInput, GenerationOutcome, Generator, ModelPool};
use gitkeeper_bot::models::{ModelEntry, ModelsSettings};
use gitkeeper_bot::prompts::Prompts;
use gitkeeper_bot::route::{
    LadderSettings, RouteSettings, TaskInput, TierMode, TierSpec, ValidationLevel, route,
};
use gitkeeper_bot::trail::AttemptOutcome;
use gitkeeper_bot::validate::EditsValidator;
use gitkeeper_e2e::models::{CLAUDE, ModelDouble, QWEN_14B, ScriptedCall, Step};
use gitkeeper_e2e::world::{
    GREET, GREET_FIXED, ISSUE, OWNER, REPO, World, good_answer, labeled, settled, with_deepseek,
};
use serde_json::{Value, json};

/// The agent tier: DeepSeek, two gate attempts, working through tools.
const AGENT_LADDER: &str = "[[route.ladder]]\nname = \"agentic\"\ntiers = [{ model = \"cloud-deepseek\", attempts = 2, mode = \"agent\" }]\nvalidation = \"standard\"\n";
/// The repository's one check (`.github/gitkeeper.yml` in the world).
const CHECK: &str = "greet is still exported";

const INDEX: &str = "export { greet } from './greet';\n";
const MULTI_ISSUE: u64 = 8;
const MULTI_TITLE: &str = "Add a farewell helper beside greet and export it from src/index.ts";
const MULTI_BODY: &str = "Add `farewell(name)` returning `Goodbye, <name>!` in its own file, and export it from src/index.ts like greet.";

fn call(name: &str, arguments: Value) -> ScriptedCall {
    ScriptedCall::new(name, arguments)
}

/// The edit the scripted agent makes: a new file and a change to another.
fn multi_file_edit() -> String {
    "FILE: src/farewell.ts\n```ts\nexport function farewell(name: string): string {\n  return `Goodbye, ${name}!`;\n}\n```\n\nsrc/index.ts\n<<<<<<< SEARCH\nexport { greet } from './greet';\n=======\nexport { greet } from './greet';\nexport { farewell } from './farewell';\n>>>>>>> REPLACE\n".to_string()
}

/// The tool messages (`tool_call_id` → content) of an OpenAI request.
fn tool_results(request: &Value) -> Vec<String> {
    request["messages"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|m| m["role"] == "tool")
        .map(|m| m["content"].as_str().unwrap_or_default().to_string())
        .collect()
}

/// The tool calls of a transcript, one line each, for the report.
fn transcript(requests: &[gitkeeper_e2e::models::RecordedRequest]) -> String {
    let Some(last) = requests.last().and_then(|r| r.json()) else {
        return String::new();
    };
    let mut lines = Vec::new();
    let mut results = BTreeMap::new();
    for m in last["messages"].as_array().into_iter().flatten() {
        if m["role"] == "tool" {
            let text = m["content"].as_str().unwrap_or_default();
            results.insert(
                m["tool_call_id"].as_str().unwrap_or_default().to_string(),
                text.lines().next().unwrap_or_default().to_string(),
            );
        }
    }
    for m in last["messages"].as_array().into_iter().flatten() {
        for c in m["tool_calls"].as_array().into_iter().flatten() {
            let id = c["id"].as_str().unwrap_or_default();
            let args = c["function"]["arguments"].as_str().unwrap_or_default();
            let args: String = args.chars().take(90).collect();
            lines.push(format!(
                "{}({args}) -> {}",
                c["function"]["name"].as_str().unwrap_or_default(),
                results
                    .get(id)
                    .map(String::as_str)
                    .unwrap_or("(answered by the gate)")
            ));
        }
    }
    lines.join("\n")
}

#[tokio::test]
async fn a_scripted_agent_solves_a_multi_file_task_behind_the_same_gate() {
    let world = World::start().await;
    world
        .gh
        .push_files(OWNER, REPO, "main", &[("src/index.ts", INDEX)], "Add index")
        .await;
    world.gh.add_issue(
        OWNER,
        REPO,
        MULTI_ISSUE,
        MULTI_TITLE,
        MULTI_BODY,
        "Codertocat",
    );
    let (deepseek, options) = with_deepseek(&world, Step::server_error(), AGENT_LADDER).await;
    for step in [
        Step::call("list_files", json!({"path": ".", "depth": 2})).saying("Looking around."),
        // Two reads in one turn: parallel tool calls.
        Step::calls(vec![
            call("read_file", json!({"path": "src/greet.ts"})),
            call("read_file", json!({"path": "src/index.ts"})),
        ]),
        Step::call("read_file", json!({"path": "../../etc/passwd"})),
        Step::call(
            "search",
            json!({"pattern": "export function", "path_glob": "src/**/*.ts"}),
        ),
        Step::call("edit", json!({"edits": multi_file_edit()})),
        Step::call("run_check", json!({"name": "deploy"})),
        Step::call("run_check", json!({"name": CHECK})),
        Step::call(
            "finish",
            json!({"summary": "Added farewell in src/farewell.ts and exported it."}),
        ),
    ] {
        deepseek.push(step);
    }
    let bot = gitkeeper_e2e::bot::BotProcess::start(&options, world.dir.path()).await;
    let mut payload = labeled(MULTI_ISSUE);
    payload["issue"]["title"] = json!(MULTI_TITLE);
    payload["issue"]["body"] = json!(MULTI_BODY);
    bot.webhook("issues", "d-agent", &payload).await;
    let jobs = settled(&bot, 1).await;
    assert_eq!(jobs[0]["state"], "succeeded", "{jobs:#?}\n{}", bot.log());

    // What the model server saw: tools offered on every call, each result
    // answered in OpenAI's shape, refusals included.
    let requests = deepseek.completion_requests();
    assert_eq!(requests.len(), 8, "one call per scripted turn");
    let first = requests[0].json().unwrap();
    let tools: Vec<&str> = first["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["function"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        tools,
        [
            "list_files",
            "read_file",
            "search",
            "edit",
            "run_check",
            "ask",
            "finish"
        ]
    );
    assert_eq!(
        first["tools"][4]["function"]["parameters"]["properties"]["name"]["enum"],
        json!([CHECK]),
        "run_check offers the plan's checks from the base commit"
    );
    let last = requests[7].json().unwrap();
    let results = tool_results(&last);
    assert_eq!(results.len(), 8, "every call answered: {results:#?}");
    let passed = format!("{CHECK} passed");
    for (index, expected) in [
        (0, "src/index.ts"),
        (1, "1: export function greet"),
        (2, "1: export { greet }"),
        (3, "cannot be used"),
        (4, "src/greet.ts:1: export function greet"),
        (
            5,
            "Applied: src/farewell.ts (created), src/index.ts (changed).",
        ),
        (6, "`deploy` is not a check"),
        (7, passed.as_str()),
    ] {
        assert!(
            results[index].contains(expected),
            "result {index} lacks {expected:?}: {}",
            results[index]
        );
    }

    // GitHub: one pull request with both files, the agent's work folded in.
    let pulls = world.gh.pulls(OWNER, REPO);
    assert_eq!(pulls.len(), 1, "{pulls:#?}");
    let head = world
        .gh
        .branch_sha(OWNER, REPO, &pulls[0].head)
        .await
        .unwrap();
    assert_eq!(
        world
            .gh
            .file_at(OWNER, REPO, &head, "src/farewell.ts")
            .await
            .as_deref(),
        Some(
            "export function farewell(name: string): string {\n  return `Goodbye, ${name}!`;\n}\n"
        )
    );
    assert_eq!(
        world
            .gh
            .file_at(OWNER, REPO, &head, "src/index.ts")
            .await
            .as_deref(),
        Some("export { greet } from './greet';\nexport { farewell } from './farewell';\n")
    );
    let body = &pulls[0].body;
    for part in [
        "<details><summary>What the agent did</summary>",
        "read 2 files, listed 1 directory, searched once, edited 2 files, ran greet is still exported once, 2 call(s) refused or failed",
        "9 tool calls, passed",
        "| 6 | edit | `{\"files\":[\"src/farewell.ts\",\"src/index.ts\"]}` |",
        "`cloud-deepseek`×2 (agent) ($)",
        CHECK,
    ] {
        assert!(body.contains(part), "missing {part:?} in:\n{body}");
    }
    // The trail never holds file contents: the edit is named by its files.
    assert!(!body.contains("Goodbye"), "{body}");
    eprintln!(
        "transcript of the scripted agent:\n{}",
        transcript(&requests)
    );
}

#[tokio::test]
async fn an_agent_that_never_finishes_is_stopped_by_its_call_budget() {
    let world = World::start().await;
    let forever = Step::call("read_file", json!({"path": "src/greet.ts"}));
    let (deepseek, options) = with_deepseek(
        &world,
        forever,
        &format!("{AGENT_LADDER}\n[route.agent]\nmax_tool_calls = 3\nwarn_at = [2]\n"),
    )
    .await;
    let bot = gitkeeper_e2e::bot::BotProcess::start(&options, world.dir.path()).await;
    bot.webhook("issues", "d-budget", &labeled(ISSUE)).await;
    let jobs = settled(&bot, 1).await;
    assert_eq!(jobs[0]["state"], "failed", "{jobs:#?}\n{}", bot.log());
    let requests = deepseek.completion_requests();
    assert_eq!(
        requests.len(),
        4,
        "three calls run, the fourth answer's call is refused and the session ends"
    );
    // The convergence warning came after the second call.
    let third = requests[2].prompt_text();
    assert!(
        third.contains("you have made 2 tool calls (warning at 2)"),
        "{third}"
    );
    assert!(world.gh.pulls(OWNER, REPO).is_empty());
    let status = world.status_comments(ISSUE);
    let text = &status[0];
    for part in [
        "stopped_budget",
        "max_tool_calls",
        "What the agent did",
        "read 1 file",
    ] {
        assert!(text.contains(part), "missing {part:?} in:\n{text}");
    }
    // Nothing the agent did is left behind: no branch.
    assert!(
        world
            .gh
            .branch_sha(OWNER, REPO, gitkeeper_e2e::world::BRANCH)
            .await
            .is_none()
    );
}

#[tokio::test]
async fn malformed_tool_calls_send_the_tier_to_edit_mode() {
    let world = World::start().await;
    let (deepseek, options) = with_deepseek(&world, Step::reply(good_answer()), AGENT_LADDER).await;
    deepseek.push(Step::calls(vec![ScriptedCall::raw(
        "read_file",
        "{\"path\": \"src/greet.ts\"",
    )]));
    deepseek.push(Step::call("write_file", json!({"path": "src/greet.ts"})));
    deepseek.push(Step::call("search", json!({"path_glob": "*.ts"})));
    let bot = gitkeeper_e2e::bot::BotProcess::start(&options, world.dir.path()).await;
    bot.webhook("issues", "d-fallback", &labeled(ISSUE)).await;
    let jobs = settled(&bot, 1).await;
    assert_eq!(jobs[0]["state"], "succeeded", "{jobs:#?}\n{}", bot.log());
    let requests = deepseek.completion_requests();
    assert_eq!(
        requests.len(),
        4,
        "three agent turns, then one edit-mode answer"
    );
    let errors = tool_results(&requests[2].json().unwrap());
    assert!(errors[0].contains("not valid JSON"), "{errors:#?}");
    assert!(errors[1].contains("no tool `write_file`"), "{errors:#?}");
    let edit_mode = requests[3].json().unwrap();
    assert!(
        edit_mode.get("tools").is_none(),
        "edit mode offers no tools"
    );
    assert!(requests[3].prompt_text().contains("# Edit format"));
    let pulls = world.gh.pulls(OWNER, REPO);
    assert_eq!(pulls.len(), 1);
    let head = world
        .gh
        .branch_sha(OWNER, REPO, &pulls[0].head)
        .await
        .unwrap();
    assert_eq!(
        world
            .gh
            .file_at(OWNER, REPO, &head, "src/greet.ts")
            .await
            .as_deref(),
        Some(GREET_FIXED)
    );
    let body = &pulls[0].body;
    for part in [
        "malformed_tool_calls",
        "the tier fell back to edit mode",
        "the tier goes on in edit mode",
    ] {
        assert!(body.contains(part), "missing {part:?} in:\n{body}");
    }
}

/// A small repository for the loop-level tests.
fn repo() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("src")).unwrap();
    std::fs::write(dir.path().join("src/greet.ts"), GREET).unwrap();
    std::fs::write(dir.path().join("src/index.ts"), INDEX).unwrap();
    dir
}

const ANTHROPIC_KEY: &str = "sk-ant-api03-agent-test-key";

/// The loop with one agent tier on `model`, against the doubles.
async fn run_agent(
    model: &str,
    entries: BTreeMap<String, ModelEntry>,
    dir: &std::path::Path,
    settings: RouteSettings,
) -> gitkeeper_bot::generate::Generation {
    let models = ModelsSettings::merged(entries).unwrap();
    let task = TaskInput {
        title: "Fix the greeting".into(),
        body: "Say `Hello, name!` in src/greet.ts.".into(),
        labels: vec![],
        local_only: vec![],
    };
    let mut settings = settings;
    let mut ladder = LadderSettings::new("agentic", &[(model, 1)], None, ValidationLevel::Quick);
    if let TierSpec::Table { mode, .. } = &mut ladder.tiers[0] {
        *mode = Some(TierMode::Agent);
    }
    settings.ladder = vec![ladder];
    let package: ContextPackage =
        gitkeeper::context::build(dir, &task.title, &ContextOptions::default()).unwrap();
    let route = route(&task, Some(&package), &settings, &models, 0).unwrap();
    assert_eq!(route.tiers[0].mode, TierMode::Agent);
    let policy = gitkeeper_bot::validate::policy::protected_paths(&package.gitkeeper_doc).unwrap();
    let env = |var: &str| (var == "ANTHROPIC_API_KEY").then(|| ANTHROPIC_KEY.to_string());
    Generator::new(
        ModelPool::build(&models, &env),
        Prompts::builtin().unwrap(),
        Arc::new(EditsValidator),
        settings,
    )
    .run(&GenerateInput {
        work_dir: dir,
        title: &task.title,
        body: &task.body,
        context: &package,
        route: &route,
        policy: &policy,
        constraints: &[],
        cloud_approved: true,
        spent_today_usd: 0.0,
        revision: None,
        progress: None,
        local_only: &gitkeeper_bot::route::privacy::LocalOnly::default(),
    })
    .await
    .unwrap()
}

fn entry(endpoint: &str) -> ModelEntry {
    ModelEntry {
        endpoint: Some(endpoint.to_string()),
        max_retries: Some(0),
        backoff_ms: Some(10),
        timeout_secs: Some(30),
        ..ModelEntry::default()
    }
}

fn fix_edit() -> String {
    "src/greet.ts\n<<<<<<< SEARCH\n  return `Hello ${name}`;\n=======\n  return `Hello, ${name}!`;\n>>>>>>> REPLACE\n".into()
}

#[tokio::test]
async fn an_anthropic_agent_works_through_tool_use_and_tool_result_blocks() {
    let claude = ModelDouble::anthropic(&[CLAUDE], ANTHROPIC_KEY).await;
    claude.push(
        Step::calls(vec![
            call("read_file", json!({"path": "src/greet.ts"})),
            call("list_files", json!({"path": "src"})),
        ])
        .saying("Reading first."),
    );
    // Missing argument: the error goes back as a tool_result.
    claude.push(Step::call("read_file", json!({})));
    claude.push(Step::call("edit", json!({"edits": fix_edit()})));
    claude.push(Step::call("finish", json!({"summary": "Fixed."})));
    let dir = repo();
    let mut entries = BTreeMap::new();
    entries.insert("cloud-claude".to_string(), entry(&claude.url()));
    let generation = run_agent(
        "cloud-claude",
        entries,
        dir.path(),
        RouteSettings::default(),
    )
    .await;
    assert!(
        matches!(generation.outcome, GenerationOutcome::Succeeded { .. }),
        "{:#?}",
        generation.attempts
    );
    assert_eq!(
        std::fs::read_to_string(dir.path().join("src/greet.ts")).unwrap(),
        GREET_FIXED
    );
    let requests = claude.completion_requests();
    assert_eq!(requests.len(), 4);
    let first = requests[0].json().unwrap();
    assert_eq!(first["tools"][0]["name"], "list_files");
    assert!(first["tools"][0]["input_schema"].is_object());
    // The second request: the assistant's tool_use blocks, then both results in one user turn.
    let second = requests[1].json().unwrap();
    let messages = second["messages"].as_array().unwrap();
    let assistant = &messages[messages.len() - 2]["content"];
    assert_eq!(assistant[0]["text"], "Reading first.");
    assert_eq!(assistant[1]["type"], "tool_use");
    assert_eq!(assistant[2]["type"], "tool_use");
    let results = messages.last().unwrap()["content"].as_array().unwrap();
    assert_eq!(results.len(), 2);
    assert_eq!(results[0]["tool_use_id"], assistant[1]["id"]);
    assert!(
        results[0]["content"]
            .as_str()
            .unwrap()
            .starts_with("1: export function greet")
    );
    let third = requests[2].json().unwrap();
    let error = third["messages"].as_array().unwrap().last().unwrap()["content"][0]["content"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(error.contains("needs the argument `path`"), "{error}");
    let attempt = &generation.attempts[0];
    assert_eq!(attempt.mode, TierMode::Agent);
    assert_eq!(attempt.outcome, AttemptOutcome::Passed);
    let tools: Vec<&str> = attempt.tool_calls.iter().map(|c| c.tool.as_str()).collect();
    assert_eq!(
        tools,
        ["read_file", "list_files", "read_file", "edit", "finish"]
    );
    assert!(!attempt.tool_calls[2].ok);
    assert!(
        attempt.cost_usd > 0.0,
        "four paid calls summed: {attempt:?}"
    );
}

#[tokio::test]
async fn an_ollama_agent_works_through_api_chat_tools() {
    let ollama = ModelDouble::ollama(&[QWEN_14B]).await;
    ollama.push(Step::call(
        "search",
        json!({"pattern": "Hello", "path_glob": "src/*.ts"}),
    ));
    ollama.push(Step::call("edit", json!({"edits": fix_edit()})));
    ollama.push(Step::call(
        "ask",
        json!({"question": "Should farewell get the same punctuation?"}),
    ));
    let dir = repo();
    let mut entries = BTreeMap::new();
    entries.insert("local-large".to_string(), entry(&ollama.url()));
    let generation = run_agent("local-large", entries, dir.path(), RouteSettings::default()).await;
    match &generation.outcome {
        GenerationOutcome::Clarify { question, .. } => {
            assert_eq!(question, "Should farewell get the same punctuation?")
        }
        other => panic!("expected a question: {other:#?}"),
    }
    // The edit of a session that ends in a question is not left behind.
    assert_eq!(
        std::fs::read_to_string(dir.path().join("src/greet.ts")).unwrap(),
        GREET
    );
    let requests = ollama.completion_requests();
    assert_eq!(requests.len(), 3);
    let second = requests[1].json().unwrap();
    assert_eq!(second["tools"][2]["function"]["name"], "search");
    let messages = second["messages"].as_array().unwrap();
    let assistant = &messages[messages.len() - 2];
    assert_eq!(
        assistant["tool_calls"][0]["function"]["arguments"]["pattern"],
        "Hello"
    );
    let result = messages.last().unwrap();
    assert_eq!(result["role"], "tool");
    assert_eq!(result["tool_name"], "search");
    assert!(
        result["content"]
            .as_str()
            .unwrap()
            .contains("src/greet.ts:2:"),
        "{result}"
    );
    assert_eq!(
        generation.attempts[0].outcome,
        AttemptOutcome::Clarification
    );
}

#[tokio::test]
async fn the_cost_guard_stops_an_agent_before_a_call_it_cannot_pay() {
    let claude = ModelDouble::anthropic(&[CLAUDE], ANTHROPIC_KEY).await;
    claude.update_options(|o| {
        o.default_step = Some(Step::call("read_file", json!({"path": "src/greet.ts"})))
    });
    let dir = repo();
    let mut entries = BTreeMap::new();
    let mut claude_entry = entry(&claude.url());
    claude_entry.max_tokens = Some(1000);
    entries.insert("cloud-claude".to_string(), claude_entry);
    // Each call can cost up to ~$0.02 at Claude's prices (an answer of up
    // to 1000 tokens at $15/M): $0.05 pays a few, never one past the cap.
    let settings = RouteSettings {
        max_usd_per_task: 0.05,
        fallback_to_local: false,
        ..RouteSettings::default()
    };
    let generation = run_agent("cloud-claude", entries, dir.path(), settings).await;
    assert!(matches!(
        generation.outcome,
        GenerationOutcome::Exhausted { .. }
    ));
    let attempt = &generation.attempts[0];
    assert_eq!(attempt.outcome, AttemptOutcome::StoppedBudget);
    assert!(
        attempt
            .error
            .as_deref()
            .unwrap()
            .contains("max_usd_per_task"),
        "{attempt:?}"
    );
    let sent = claude.completion_requests().len();
    assert!(sent >= 2, "{sent} calls");
    assert_eq!(attempt.tool_calls.len(), sent, "each call sent was a read");
    assert!(
        generation.cost_usd() <= 0.05,
        "never past the cap: {}",
        generation.cost_usd()
    );
    assert_eq!(
        std::fs::read_to_string(dir.path().join("src/greet.ts")).unwrap(),
        GREET
    );
}
