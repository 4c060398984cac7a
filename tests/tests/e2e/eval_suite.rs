//! The bundled eval suite (`tests/eval/bundled`, read by `gitkeeper-bot
//! eval`) is honest: every task's hidden check fails on its fixture as it is
//! and passes once the reference solution is applied, and every reference
//! passes the fixture's own `typecheck` and `test` scripts (a change a
//! maintainer would merge). The suite's shape is checked too: at least 30
//! tasks on three fixtures, at least 8 per routing level, every `task.toml`
//! well-formed.
//!
//! Needs `node` and `npm`, and the npm registry once per fixture per run for
//! the fixtures' `.eval/setup.toml` (`.ci/run` installs Node). Never skips:
//! a missing tool is a failure.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde::Deserialize;

/// Folders of a fixture that are never part of the repository under test:
/// installed dependencies, build output and the suite's own metadata.
const NOT_COPIED: &[&str] = &["node_modules", "dist", ".build", ".eval"];

#[derive(Debug, Deserialize, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
#[serde(rename_all = "lowercase")]
enum Level {
    Quick,
    Standard,
    Complex,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Suite {
    name: String,
    description: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TaskFile {
    fixture: String,
    level: Level,
    title: String,
    body: String,
    hidden: Hidden,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Hidden {
    run: Vec<String>,
    timeout_secs: u64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Setup {
    setup: Vec<Vec<String>>,
}

/// One task of the suite, read from `bundled/<id>/task.toml`.
struct Task {
    id: String,
    dir: PathBuf,
    file: TaskFile,
}

fn eval_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("eval")
}

fn read_toml<T: serde::de::DeserializeOwned>(path: &Path) -> T {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    toml::from_str(&text).unwrap_or_else(|e| panic!("{} is not well-formed: {e}", path.display()))
}

fn bundled_tasks() -> Vec<Task> {
    let bundled = eval_dir().join("bundled");
    let mut tasks: Vec<Task> = std::fs::read_dir(&bundled)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.is_dir())
        .map(|dir| Task {
            id: dir.file_name().unwrap().to_string_lossy().into_owned(),
            file: read_toml(&dir.join("task.toml")),
            dir,
        })
        .collect();
    tasks.sort_by(|a, b| a.id.cmp(&b.id));
    tasks
}

/// The relative paths of the files under `dir`.
fn files_under(dir: &Path) -> Vec<PathBuf> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(root, &path, out);
            } else {
                out.push(path.strip_prefix(root).unwrap().to_path_buf());
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

/// Copies the tree `from` into `to`, leaving out top-level `skip` names.
fn copy_tree(from: &Path, to: &Path, skip: &[&str]) {
    for rel in files_under(from) {
        let top = rel.components().next().unwrap().as_os_str();
        if skip.iter().any(|s| top == *s) {
            continue;
        }
        let dest = to.join(&rel);
        std::fs::create_dir_all(dest.parent().unwrap()).unwrap();
        std::fs::copy(from.join(&rel), &dest).unwrap();
    }
}

/// A task id is `<fixture-short>-<nn>-<slug>`.
fn id_is_well_formed(id: &str) -> bool {
    let mut parts = id.splitn(3, '-');
    let (Some(short), Some(nn), Some(slug)) = (parts.next(), parts.next(), parts.next()) else {
        return false;
    };
    !short.is_empty()
        && short.chars().all(|c| c.is_ascii_lowercase())
        && nn.len() == 2
        && nn.chars().all(|c| c.is_ascii_digit())
        && !slug.is_empty()
        && slug
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

#[test]
fn bundled_suite_has_thirty_tasks_on_three_fixtures_over_every_level() {
    let suite: Suite = read_toml(&eval_dir().join("bundled/suite.toml"));
    assert_eq!(suite.name, "bundled");
    assert!(!suite.description.trim().is_empty());

    let tasks = bundled_tasks();
    assert!(
        tasks.len() >= 30,
        "{} tasks, at least 30 wanted",
        tasks.len()
    );
    let mut per_level: BTreeMap<Level, usize> = BTreeMap::new();
    let mut fixtures = BTreeSet::new();
    let mut shorts: BTreeMap<String, String> = BTreeMap::new();
    for task in &tasks {
        let t = &task.file;
        assert!(
            id_is_well_formed(&task.id),
            "{}: id is not <fixture-short>-<nn>-<slug>",
            task.id
        );
        let short = task.id.split('-').next().unwrap().to_string();
        let fixture_of_short = shorts
            .entry(short.clone())
            .or_insert_with(|| t.fixture.clone());
        assert_eq!(
            fixture_of_short, &t.fixture,
            "{}: id prefix {short} names two fixtures",
            task.id
        );
        let fixture = eval_dir().join("fixtures").join(&t.fixture);
        assert!(
            fixture.join("package.json").is_file(),
            "{}: fixture {} does not exist",
            task.id,
            t.fixture
        );
        assert!(!t.title.trim().is_empty(), "{}: empty title", task.id);
        assert!(
            t.body.trim().len() >= 20,
            "{}: the body says too little",
            task.id
        );
        assert!(!t.hidden.run.is_empty(), "{}: hidden.run is empty", task.id);
        assert!(
            (1..=600).contains(&t.hidden.timeout_secs),
            "{}: timeout_secs out of 1..=600",
            task.id
        );
        let hidden = files_under(&task.dir.join("hidden"));
        assert!(!hidden.is_empty(), "{}: hidden/ is empty", task.id);
        for rel in &hidden {
            assert!(
                !fixture.join(rel).exists(),
                "{}: hidden file {} would overwrite a file of the fixture",
                task.id,
                rel.display()
            );
        }
        assert!(
            !files_under(&task.dir.join("reference")).is_empty(),
            "{}: reference/ is empty",
            task.id
        );
        *per_level.entry(t.level).or_default() += 1;
        fixtures.insert(t.fixture.clone());
    }
    assert_eq!(fixtures.len(), 3, "tasks on three fixtures: {fixtures:?}");
    for level in [Level::Quick, Level::Standard, Level::Complex] {
        let n = per_level.get(&level).copied().unwrap_or(0);
        assert!(n >= 8, "{n} {level:?} tasks, at least 8 wanted");
    }
    for fixture in &fixtures {
        let dir = eval_dir().join("fixtures").join(fixture);
        if dir.join(".eval/setup.toml").exists() {
            let setup: Setup = read_toml(&dir.join(".eval/setup.toml"));
            assert!(
                setup.setup.iter().all(|argv| !argv.is_empty()),
                "{fixture}: empty setup command"
            );
            let ignore = std::fs::read_to_string(dir.join(".gitignore")).unwrap_or_default();
            assert!(
                ignore.lines().any(|l| l.trim() == "node_modules"),
                "{fixture}: installs dependencies, so its .gitignore must list node_modules"
            );
        }
    }
}

fn read_all(mut from: impl Read) -> Vec<u8> {
    let mut out = Vec::new();
    from.read_to_end(&mut out).unwrap();
    out
}

/// What a command printed, for a failure message (the end matters most).
fn tail(stdout: &[u8], stderr: &[u8]) -> String {
    let mut text = String::from_utf8_lossy(stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(stderr));
    let start = text.len().saturating_sub(3000);
    let start = (start..text.len())
        .find(|i| text.is_char_boundary(*i))
        .unwrap_or(0);
    text[start..].to_string()
}

/// Runs `argv` in `dir` without colour; `Err` says why it did not succeed.
fn run(dir: &Path, argv: &[String], timeout: Duration) -> Result<(), String> {
    let (program, args) = argv.split_first().ok_or("empty command")?;
    let mut child = Command::new(program)
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .env("FORCE_COLOR", "0")
        .env("CI", "true")
        .env("npm_config_update_notifier", "false")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start {program} (node and npm are needed): {e}"))?;
    // Drain the pipes while waiting, so a chatty command never blocks.
    let stdout = child.stdout.take().unwrap();
    let stderr = child.stderr.take().unwrap();
    let out_reader = std::thread::spawn(move || read_all(stdout));
    let err_reader = std::thread::spawn(move || read_all(stderr));
    let deadline = Instant::now() + timeout;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break Some(status);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let printed = tail(&out_reader.join().unwrap(), &err_reader.join().unwrap());
    match status {
        None => Err(format!(
            "`{}` timed out after {timeout:?}:\n{printed}",
            argv.join(" ")
        )),
        Some(s) if s.success() => Ok(()),
        Some(s) => Err(format!("`{}` failed ({s}):\n{printed}", argv.join(" "))),
    }
}

/// Installs each fixture's setup once into a scratch copy; the tasks link its
/// `node_modules` instead of installing again.
fn install_fixtures(scratch: &Path, fixtures: &BTreeSet<String>) -> BTreeMap<String, PathBuf> {
    let mut installed = BTreeMap::new();
    for fixture in fixtures {
        let src = eval_dir().join("fixtures").join(fixture);
        let setup_file = src.join(".eval/setup.toml");
        if !setup_file.exists() {
            continue;
        }
        let setup: Setup = read_toml(&setup_file);
        let dir = scratch.join(fixture);
        copy_tree(&src, &dir, NOT_COPIED);
        for argv in &setup.setup {
            run(&dir, argv, Duration::from_secs(600)).unwrap_or_else(|e| {
                panic!("{fixture}: setup failed (is the npm registry reachable?): {e}")
            });
        }
        installed.insert(fixture.clone(), dir.join("node_modules"));
    }
    installed
}

/// A fresh copy of the task's fixture, with the installed dependencies linked.
fn checkout(task: &Task, installed: &BTreeMap<String, PathBuf>) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    copy_tree(
        &eval_dir().join("fixtures").join(&task.file.fixture),
        dir.path(),
        NOT_COPIED,
    );
    if let Some(modules) = installed.get(&task.file.fixture) {
        std::os::unix::fs::symlink(modules, dir.path().join("node_modules")).unwrap();
    }
    dir
}

/// The fixture's own checks a maintainer runs before merging.
fn own_checks(repo: &Path) -> Vec<Vec<String>> {
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(repo.join("package.json")).unwrap()).unwrap();
    ["typecheck", "test"]
        .into_iter()
        .filter(|script| manifest["scripts"].get(script).is_some())
        .map(|script| {
            ["npm", "run", "--silent", script]
                .map(String::from)
                .to_vec()
        })
        .collect()
}

/// A task's id, how long judging it took, and what makes it dishonest.
type Judged = (String, Duration, Result<(), String>);

/// Checks one task; `Err` says what makes it dishonest.
fn check_task(task: &Task, installed: &BTreeMap<String, PathBuf>) -> Result<(), String> {
    let timeout = Duration::from_secs(task.file.hidden.timeout_secs);

    let base = checkout(task, installed);
    copy_tree(&task.dir.join("hidden"), base.path(), &[]);
    if run(base.path(), &task.file.hidden.run, timeout).is_ok() {
        return Err("the hidden check passes on the fixture as it is".into());
    }

    let solved = checkout(task, installed);
    copy_tree(&task.dir.join("reference"), solved.path(), &[]);
    for argv in own_checks(solved.path()) {
        run(solved.path(), &argv, Duration::from_secs(300))
            .map_err(|e| format!("the reference fails the fixture's own checks: {e}"))?;
    }
    copy_tree(&task.dir.join("hidden"), solved.path(), &[]);
    run(solved.path(), &task.file.hidden.run, timeout)
        .map_err(|e| format!("the hidden check fails with the reference solution: {e}"))
}

#[test]
fn every_bundled_task_fails_on_its_fixture_and_passes_with_its_reference() {
    for tool in ["node", "npm"] {
        let version = Command::new(tool).arg("--version").output();
        assert!(
            version.is_ok_and(|o| o.status.success()),
            "{tool} is needed to judge the bundled eval suite (.ci/run installs Node)"
        );
    }
    let started = Instant::now();
    let tasks = bundled_tasks();
    let fixtures: BTreeSet<String> = tasks.iter().map(|t| t.file.fixture.clone()).collect();
    let scratch = tempfile::tempdir().unwrap();
    let installed = install_fixtures(scratch.path(), &fixtures);
    let installed_in = started.elapsed();

    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Judged>> = Mutex::new(Vec::new());
    let workers = std::thread::available_parallelism()
        .map_or(2, |n| n.get())
        .clamp(1, 4);
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| {
                while let Some(task) = tasks.get(next.fetch_add(1, Ordering::SeqCst)) {
                    let t = Instant::now();
                    let result = check_task(task, &installed);
                    results
                        .lock()
                        .unwrap()
                        .push((task.id.clone(), t.elapsed(), result));
                }
            });
        }
    });

    let mut results = results.into_inner().unwrap();
    results.sort_by(|a, b| a.0.cmp(&b.0));
    for (id, took, result) in &results {
        println!(
            "{id}: {} in {took:.1?}",
            if result.is_ok() {
                "honest"
            } else {
                "DISHONEST"
            }
        );
    }
    println!(
        "{} tasks judged in {:.1?} (setup {installed_in:.1?}, {workers} at a time)",
        results.len(),
        started.elapsed()
    );
    let failures: Vec<String> = results
        .into_iter()
        .filter_map(|(id, _, r)| r.err().map(|e| format!("{id}: {e}")))
        .collect();
    assert!(
        failures.is_empty(),
        "dishonest tasks:\n\n{}",
        failures.join("\n\n")
    );
}

/// A task on the dependency-free `cli-service` fixture, written into `dir`.
fn synthetic_task(dir: &Path, hidden: &[(&str, &str)], reference: &[(&str, &str)]) -> Task {
    for (part, files) in [("hidden", hidden), ("reference", reference)] {
        for (rel, text) in files {
            let path = dir.join(part).join(rel);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
    }
    Task {
        id: "cli-99-synthetic".into(),
        dir: dir.to_path_buf(),
        file: TaskFile {
            fixture: "cli-service".into(),
            level: Level::Quick,
            title: "synthetic".into(),
            body: "a task made up to show what the honesty test rejects".into(),
            hidden: Hidden {
                run: ["node", "--test", "hidden-tests/"]
                    .map(String::from)
                    .to_vec(),
                timeout_secs: 60,
            },
        },
    }
}

const NEEDS_SOLVED: &str = "import test from \"node:test\";\nimport assert from \"node:assert/strict\";\nimport { existsSync } from \"node:fs\";\ntest(\"solved\", () => assert.ok(existsSync(\"solved.txt\")));\n";

#[test]
fn honesty_check_rejects_a_hidden_check_that_passes_on_the_fixture() {
    let dir = tempfile::tempdir().unwrap();
    let always = "import test from \"node:test\";\ntest(\"always\", () => {});\n";
    let task = synthetic_task(
        dir.path(),
        &[("hidden-tests/always.test.js", always)],
        &[("solved.txt", "yes\n")],
    );
    let verdict = check_task(&task, &BTreeMap::new());
    assert!(
        verdict
            .as_ref()
            .is_err_and(|e| e.contains("passes on the fixture as it is")),
        "{verdict:?}"
    );
}

#[test]
fn honesty_check_rejects_a_reference_that_breaks_the_fixture_tests() {
    let dir = tempfile::tempdir().unwrap();
    let broken = "import test from \"node:test\";\nimport assert from \"node:assert/strict\";\ntest(\"broken\", () => assert.fail(\"the reference broke me\"));\n";
    let task = synthetic_task(
        dir.path(),
        &[("hidden-tests/solved.test.js", NEEDS_SOLVED)],
        &[("solved.txt", "yes\n"), ("test/args.test.js", broken)],
    );
    let verdict = check_task(&task, &BTreeMap::new());
    assert!(
        verdict
            .as_ref()
            .is_err_and(|e| e.contains("own checks") && e.contains("the reference broke me")),
        "{verdict:?}"
    );
}

#[test]
fn honesty_check_accepts_a_task_that_fails_then_passes() {
    let dir = tempfile::tempdir().unwrap();
    let task = synthetic_task(
        dir.path(),
        &[("hidden-tests/solved.test.js", NEEDS_SOLVED)],
        &[("solved.txt", "yes\n")],
    );
    assert_eq!(check_task(&task, &BTreeMap::new()), Ok(()));
}
