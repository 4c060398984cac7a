//! `gitkeeper-bot eval`: the real binary runs the selftest suite
//! (tests/eval/selftest, two tasks on a tiny fixture with sh hidden checks)
//! against scripted Ollama doubles and reports resolved, validated and
//! false-pass runs as a table, JSONL and an HTML report.

use std::path::{Path, PathBuf};

use gitkeeper_e2e::models::{ModelDouble, QWEN_7B, QWEN_14B, Step};
use serde_json::Value;

fn selftest() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("eval/selftest")
}

/// A config whose one ladder climbs `model` (twice) at `url`.
fn config(dir: &Path, name: &str, model: &str, url: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(
        &path,
        format!(
            "[models.local-small]\nendpoint = \"{url}\"\nmax_retries = 0\n\n\
             [models.local-large]\nendpoint = \"{url}\"\nmax_retries = 0\n\n\
             [[route.ladder]]\nname = \"eval\"\ntiers = [{{ model = \"{model}\", attempts = 2 }}]\nvalidation = \"standard\"\n"
        ),
    )
    .unwrap();
    path
}

/// The double's answer to the punctuation task: right.
fn punctuate() -> Step {
    Step::reply(
        "src/greet.ts\n<<<<<<< SEARCH\n  return `Hello ${name}`;\n=======\n  return `Hello, ${name}!`;\n>>>>>>> REPLACE\n",
    )
}

/// The double's answer to the farewell task: it parses, applies and passes
/// the fixture's own check, but says "Bye" where the task asked "Goodbye, <name>.".
fn farewell_wrong() -> Step {
    Step::reply(
        "src/greet.ts\n<<<<<<< SEARCH\n  return `Hello ${name}`;\n}\n=======\n  return `Hello ${name}`;\n}\n\nexport function farewell(name: string): string {\n  return `Bye ${name}`;\n}\n>>>>>>> REPLACE\n",
    )
}

async fn run_eval(args: &[&str], config: &Path, out: &Path) -> (bool, String, String) {
    let output = gitkeeper_e2e::bot::command_with_config(config)
        .arg("eval")
        .arg(selftest())
        .arg("--out")
        .arg(out)
        .args(args)
        .output()
        .await
        .unwrap();
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

fn lines(text: &str) -> Vec<Value> {
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

fn find<'a>(runs: &'a [Value], task: &str, config: &str) -> &'a Value {
    runs.iter()
        .find(|r| r["task"] == task && r["config"] == config)
        .unwrap_or_else(|| panic!("no run of {task} with {config}: {runs:#?}"))
}

#[tokio::test]
async fn eval_counts_a_resolved_task_and_a_false_pass() {
    let ollama = ModelDouble::ollama(&[QWEN_7B, QWEN_14B]).await;
    // Tasks run in id order: add-farewell, then punctuate-greeting.
    ollama.push(farewell_wrong());
    ollama.push(punctuate());
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), "small.toml", "local-small", &ollama.url());
    let out = dir.path().join("out");
    let (ok, stdout, stderr) = run_eval(&["--json"], &cfg, &out).await;
    assert!(ok, "{stdout}\n{stderr}");

    let runs = lines(&stdout);
    assert_eq!(runs.len(), 2, "{stdout}");
    let solved = find(&runs, "punctuate-greeting", "small");
    assert_eq!(solved["resolved"], true, "{solved:#}");
    assert_eq!(solved["validated"], true);
    assert_eq!(solved["false_pass"], false);
    assert_eq!(solved["outcome"], "pass");
    assert_eq!(solved["level"], "quick");
    assert_eq!(solved["first_try_well_formed"], true);
    assert_eq!(solved["attempts"], 1);
    assert_eq!(solved["model"], "local-small");
    assert_eq!(solved["route"], "eval");
    assert!(solved["failure"].is_null(), "{solved:#}");
    assert!(solved["prompt_tokens"].as_u64().unwrap() > 0);
    assert!(
        solved["seconds"]["validation"].as_f64().unwrap() > 0.0,
        "{solved:#}"
    );
    assert!(solved["seconds"]["wall"].as_f64().unwrap() > 0.0);

    let false_pass = find(&runs, "add-farewell", "small");
    assert_eq!(false_pass["validated"], true, "{false_pass:#}");
    assert_eq!(false_pass["resolved"], false);
    assert_eq!(false_pass["false_pass"], true);
    assert_eq!(false_pass["level"], "standard");
    let why = false_pass["failure"].as_str().unwrap();
    assert!(
        why.contains("hidden check failed") && why.contains("farewell does not say Goodbye"),
        "{why}"
    );

    // The bot never saw the hidden checks or the reference.
    for request in ollama.completion_requests() {
        for (_, content) in request.messages() {
            assert!(!content.contains("check-farewell"), "{content}");
            assert!(!content.contains("Goodbye, ${name}."), "{content}");
        }
    }
    // The same lines are in results.jsonl, and the report is there.
    let file = std::fs::read_to_string(out.join("results.jsonl")).unwrap();
    assert_eq!(lines(&file), runs);
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(
        html.contains("<svg") && html.contains("false pass"),
        "{html}"
    );
}

#[tokio::test]
async fn eval_compare_alternates_configurations_and_reports_b_against_a() {
    let small = ModelDouble::ollama(&[QWEN_7B, QWEN_14B]).await;
    let large = ModelDouble::ollama(&[QWEN_7B, QWEN_14B]).await;
    small.push(farewell_wrong());
    small.push(punctuate());
    // B answers the farewell task out of format twice, then solves punctuation.
    large.push(Step::reply("I would add a farewell function."));
    large.push(Step::reply("Still no edit blocks, sorry."));
    large.push(punctuate());
    let dir = tempfile::tempdir().unwrap();
    let a = config(dir.path(), "small.toml", "local-small", &small.url());
    let b = config(dir.path(), "large.toml", "local-large", &large.url());
    let out = dir.path().join("out");
    let (ok, stdout, stderr) = run_eval(&["--compare", b.to_str().unwrap()], &a, &out).await;
    assert!(ok, "{stdout}\n{stderr}");

    let runs = lines(&std::fs::read_to_string(out.join("results.jsonl")).unwrap());
    let order: Vec<(String, String)> = runs
        .iter()
        .map(|r| {
            (
                r["task"].as_str().unwrap().into(),
                r["config"].as_str().unwrap().into(),
            )
        })
        .collect();
    let expected = [
        ("add-farewell", "small"),
        ("add-farewell", "large"),
        ("punctuate-greeting", "large"),
        ("punctuate-greeting", "small"),
    ]
    .map(|(t, c)| (t.to_string(), c.to_string()));
    assert_eq!(order, expected, "A and B alternate which goes first");
    let b_farewell = find(&runs, "add-farewell", "large");
    assert_eq!(b_farewell["validated"], false, "{b_farewell:#}");
    assert_eq!(b_farewell["false_pass"], false);
    assert_eq!(b_farewell["first_try_well_formed"], false);
    assert_eq!(b_farewell["attempts"], 2);
    assert_eq!(b_farewell["outcome"], "fail");
    assert!(
        b_farewell["failure"]
            .as_str()
            .unwrap()
            .contains("local-large"),
        "{b_farewell:#}"
    );
    let a_farewell = find(&runs, "add-farewell", "small");
    assert_eq!(a_farewell["false_pass"], true, "{a_farewell:#}");
    assert_eq!(find(&runs, "punctuate-greeting", "large")["resolved"], true);
    assert_eq!(find(&runs, "punctuate-greeting", "small")["resolved"], true);
    assert_eq!(small.completion_requests().len(), 2);
    assert_eq!(large.completion_requests().len(), 3);

    // The table: per task, totals per config, and B as a ratio of A.
    assert!(
        stdout.contains("Totals for small:") && stdout.contains("Totals for large:"),
        "{stdout}"
    );
    let row = |prefix: &str| {
        stdout
            .lines()
            .find(|l| l.trim_start().starts_with(prefix))
            .unwrap_or_else(|| panic!("no {prefix} row: {stdout}"))
            .to_string()
    };
    assert!(row("add-farewell").contains("FALSE"), "{stdout}");
    assert!(stdout.contains("large against small (B/A):"), "{stdout}");
    assert!(row("resolved ").contains("1.00×"), "{stdout}");
    assert!(row("validated ").contains("0.50×"), "{stdout}");
    assert!(row("false passes").contains("0.00×"), "{stdout}");
    // Small's totals: 1 of 2 resolved, 2 of 2 validated, 1 false pass.
    let all_small = stdout
        .lines()
        .find(|l| l.trim_start().starts_with("all "))
        .unwrap();
    assert!(
        all_small.contains("1/2 50%") && all_small.contains("2/2 100%"),
        "{all_small}"
    );
    assert!(stdout.contains("Report:  "), "{stdout}");
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(html.contains("large against small (B/A)"), "{html}");
}

/// A whole-file answer to the farewell task that is right.
fn farewell_whole_file() -> Step {
    Step::reply(
        "FILE: src/greet.ts\n```ts\nexport function greet(name: string): string {\n  return `Hello ${name}`;\n}\n\nexport function farewell(name: string): string {\n  return `Goodbye, ${name}.`;\n}\n```\n",
    )
}

#[tokio::test]
async fn eval_baseline_raw_asks_the_same_model_once_and_reports_the_bot_against_it() {
    let ollama = ModelDouble::ollama(&[QWEN_7B, QWEN_14B]).await;
    // add-farewell: the bot, then raw; punctuate-greeting: raw, then the bot.
    ollama.push(farewell_wrong());
    ollama.push(farewell_whole_file());
    ollama.push(Step::reply("I would add punctuation to the greeting."));
    ollama.push(punctuate());
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), "small.toml", "local-small", &ollama.url());
    let out = dir.path().join("out");
    let (ok, stdout, stderr) = run_eval(&["--baseline", "raw"], &cfg, &out).await;
    assert!(ok, "{stdout}\n{stderr}");

    let runs = lines(&std::fs::read_to_string(out.join("results.jsonl")).unwrap());
    let order: Vec<(&str, &str)> = runs
        .iter()
        .map(|r| (r["task"].as_str().unwrap(), r["config"].as_str().unwrap()))
        .collect();
    assert_eq!(
        order,
        [
            ("add-farewell", "small"),
            ("add-farewell", "raw"),
            ("punctuate-greeting", "raw"),
            ("punctuate-greeting", "small"),
        ]
    );
    let raw_farewell = find(&runs, "add-farewell", "raw");
    assert_eq!(raw_farewell["resolved"], true, "{raw_farewell:#}");
    assert_eq!(raw_farewell["validated"], false, "raw runs no check");
    assert_eq!(raw_farewell["false_pass"], false);
    assert_eq!(raw_farewell["attempts"], 1);
    assert_eq!(raw_farewell["route"], "raw");
    assert_eq!(raw_farewell["model"], "local-small");
    assert!(raw_farewell["prompt_tokens"].as_u64().unwrap() > 0);
    let raw_punctuate = find(&runs, "punctuate-greeting", "raw");
    assert_eq!(raw_punctuate["resolved"], false, "{raw_punctuate:#}");
    assert_eq!(raw_punctuate["first_try_well_formed"], false);
    assert_eq!(raw_punctuate["attempts"], 1, "asked once, no retry");
    assert!(
        raw_punctuate["failure"]
            .as_str()
            .unwrap()
            .contains("no edit blocks"),
        "{raw_punctuate:#}"
    );
    // The bot's runs are as without the baseline; its false pass proved nothing.
    let bot_farewell = find(&runs, "add-farewell", "small");
    assert_eq!(bot_farewell["false_pass"], true, "{bot_farewell:#}");
    assert_eq!(bot_farewell["proved_nothing"], true, "{bot_farewell:#}");
    assert_eq!(find(&runs, "punctuate-greeting", "small")["resolved"], true);

    // The raw prompt: the task and the reference's files as they are in the
    // fixture, whole-file format; no context package, no reference content.
    let requests = ollama.completion_requests();
    assert_eq!(requests.len(), 4, "one call per raw run");
    let raw_prompt = requests[1].prompt_text();
    assert!(raw_prompt.contains("## src/greet.ts"), "{raw_prompt}");
    assert!(
        raw_prompt.contains("return `Hello ${name}`;"),
        "{raw_prompt}"
    );
    assert!(
        raw_prompt.contains("Add a farewell function"),
        "{raw_prompt}"
    );
    assert!(raw_prompt.contains("FILE:"), "{raw_prompt}");
    assert!(!raw_prompt.contains("Goodbye, ${name}."), "{raw_prompt}");
    assert!(!raw_prompt.contains("check-farewell"), "{raw_prompt}");
    assert!(!raw_prompt.contains("# Project context"), "{raw_prompt}");
    let bot_prompt = requests[0].prompt_text();
    assert!(bot_prompt.contains("# Project context"), "{bot_prompt}");

    // The table: the bot against raw, resolved as a ratio.
    assert!(stdout.contains("small against raw (B/A):"), "{stdout}");
    let resolved = stdout
        .lines()
        .find(|l| l.trim_start().starts_with("resolved "))
        .unwrap();
    assert!(resolved.contains("1.00×"), "{resolved}");
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(html.contains("small against raw (B/A)"), "{html}");
}

#[tokio::test]
async fn the_raw_baseline_is_refused_by_the_cost_guard_like_the_bot() {
    let ollama = ModelDouble::ollama(&[QWEN_7B, QWEN_14B]).await;
    let dir = tempfile::tempdir().unwrap();
    // A priced model and a task budget its worst case passes.
    let cfg = dir.path().join("paid.toml");
    std::fs::write(
        &cfg,
        format!(
            "[models.local-small]\nendpoint = \"{}\"\nmax_retries = 0\nprice_in = 1000.0\nprice_out = 1000.0\n\n\
             [models.local-large]\nendpoint = \"{}\"\nmax_retries = 0\n\n\
             [route]\nmax_usd_per_task = 0.01\nfallback_to_local = false\n\n\
             [[route.ladder]]\nname = \"eval\"\ntiers = [{{ model = \"local-small\", attempts = 1 }}]\nvalidation = \"standard\"\n",
            ollama.url(),
            ollama.url()
        ),
    )
    .unwrap();
    let out = dir.path().join("out");
    let (ok, stdout, stderr) = run_eval(
        &["--baseline", "raw", "--only", "punctuate-greeting"],
        &cfg,
        &out,
    )
    .await;
    assert!(ok, "{stdout}\n{stderr}");
    let runs = lines(&std::fs::read_to_string(out.join("results.jsonl")).unwrap());
    let raw = find(&runs, "punctuate-greeting", "raw");
    assert_eq!(raw["attempts"], 0, "{raw:#}");
    assert!(
        raw["failure"].as_str().unwrap().contains("cost guard"),
        "{raw:#}"
    );
    assert!(ollama.completion_requests().is_empty(), "nothing was sent");
}

#[tokio::test]
async fn eval_compare_runs_an_agent_config_against_the_same_model_in_edit_mode() {
    use gitkeeper_e2e::models::ScriptedCall;
    use serde_json::json;
    let edits = ModelDouble::ollama(&[QWEN_7B, QWEN_14B]).await;
    let agent = ModelDouble::ollama(&[QWEN_7B, QWEN_14B]).await;
    edits.push(farewell_wrong());
    edits.push(punctuate());
    let farewell = "src/greet.ts\n<<<<<<< SEARCH\n  return `Hello ${name}`;\n}\n=======\n  return `Hello ${name}`;\n}\n\nexport function farewell(name: string): string {\n  return `Goodbye, ${name}.`;\n}\n>>>>>>> REPLACE\n";
    let punctuation = "src/greet.ts\n<<<<<<< SEARCH\n  return `Hello ${name}`;\n=======\n  return `Hello, ${name}!`;\n>>>>>>> REPLACE\n";
    // B (agent) runs the farewell task, then the punctuation task: read, then edit and finish in one turn.
    for (read, edit) in [("src/greet.ts", farewell), ("src/greet.ts", punctuation)] {
        agent.push(Step::call("read_file", json!({"path": read})));
        agent.push(Step::calls(vec![
            ScriptedCall::new("edit", json!({"edits": edit})),
            ScriptedCall::new("finish", json!({"summary": "done"})),
        ]));
    }
    let dir = tempfile::tempdir().unwrap();
    let a = config(dir.path(), "edits.toml", "local-large", &edits.url());
    let b = dir.path().join("agent.toml");
    std::fs::write(
        &b,
        std::fs::read_to_string(config(dir.path(), "tmp.toml", "local-large", &agent.url()))
            .unwrap()
            .replace("attempts = 2 }", "attempts = 2, mode = \"agent\" }"),
    )
    .unwrap();
    let out = dir.path().join("out");
    let (ok, stdout, stderr) = run_eval(&["--compare", b.to_str().unwrap()], &a, &out).await;
    assert!(ok, "{stdout}\n{stderr}");
    let runs = lines(&std::fs::read_to_string(out.join("results.jsonl")).unwrap());
    assert_eq!(runs.len(), 4, "{runs:#?}");
    let agent_farewell = find(&runs, "add-farewell", "agent");
    assert_eq!(agent_farewell["resolved"], true, "{agent_farewell:#}");
    assert_eq!(find(&runs, "punctuate-greeting", "agent")["resolved"], true);
    assert_eq!(find(&runs, "add-farewell", "edits")["false_pass"], true);
    assert_eq!(agent.completion_requests().len(), 4, "two turns per task");
    assert!(
        agent
            .completion_requests()
            .iter()
            .all(|r| r.json().unwrap()["tools"].is_array())
    );
    assert!(
        edits
            .completion_requests()
            .iter()
            .all(|r| r.json().unwrap().get("tools").is_none())
    );
    assert!(stdout.contains("Totals for agent:"), "{stdout}");
}
