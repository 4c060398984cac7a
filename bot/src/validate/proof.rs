//! Whether a passing validation proved anything about the change: the
//! repository's test commands must run real tests (not a script that only
//! prints, not a run that reports zero tests) and, for JavaScript and
//! TypeScript, some test file must import the changed modules. When they
//! cannot, the report says why (and whether a typecheck ran), so the check
//! run and the pull request say "not proven" instead of a row of ✓.
//!
//! Must never: call a validation proven that it cannot see proof of, or
//! fail a change by itself (it only describes what the checks showed).

use std::path::Path;

use gitkeeper::edits::AppliedEdits;
use gitkeeper::validate::proof::{reports_no_tests, runs_no_test, tests_reaching};
use gitkeeper::validate::{ChangedFile, Command, Contract, Stage};

/// Most changed modules named in a reason.
const MAX_NAMED: usize = 3;

/// Why the `commands` of a passing validation (those that ran: their index
/// in `commands` with their output) could not exercise `applied` in
/// `work_dir`; empty when a real test run reaches the change.
pub fn unproven(
    work_dir: &Path,
    applied: &AppliedEdits,
    commands: &[Command],
    outputs: &[(usize, String)],
) -> Vec<String> {
    let ran = |i: usize| {
        outputs
            .iter()
            .find(|(j, _)| *j == i)
            .map(|(_, o)| o.as_str())
    };
    let scripts = package_scripts(work_dir);
    let mut reasons = Vec::new();
    let mut real_tests = 0;
    let mut any_test = false;
    for (i, command) in commands.iter().enumerate() {
        if command.stage != Stage::Test {
            continue;
        }
        any_test = true;
        let Some(output) = ran(i) else { continue };
        if let Some(script) = script_of(command, &scripts) {
            if runs_no_test(script) {
                reasons.push(format!(
                    "`{}` runs no test (its script is `{}`)",
                    command.name,
                    script.trim()
                ));
                continue;
            }
        }
        if reports_no_tests(output) {
            reasons.push(format!("`{}` reported 0 tests", command.name));
            continue;
        }
        real_tests += 1;
    }
    if !any_test {
        reasons.push("no test command ran".to_string());
    }
    if real_tests > 0 {
        match reaching(work_dir, applied) {
            Some((tests, modules)) if tests.is_empty() => reasons.push(format!(
                "no test file imports {}",
                modules
                    .iter()
                    .take(MAX_NAMED)
                    .map(|m| format!("`{m}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
            _ => return Vec::new(),
        }
    }
    let typechecked = commands
        .iter()
        .enumerate()
        .any(|(i, c)| matches!(c.stage, Stage::Typecheck | Stage::Build) && ran(i).is_some());
    if !typechecked {
        reasons.push("no typecheck ran".to_string());
    }
    reasons
}

/// The root package.json's scripts, by name.
fn package_scripts(work_dir: &Path) -> serde_json::Map<String, serde_json::Value> {
    std::fs::read_to_string(work_dir.join("package.json"))
        .ok()
        .and_then(|text| serde_json::from_str::<serde_json::Value>(&text).ok())
        .and_then(|v| v.get("scripts").and_then(|s| s.as_object()).cloned())
        .unwrap_or_default()
}

/// The body of the package script `command` runs (`npm test`, `pnpm run test`, …).
fn script_of<'a>(
    command: &Command,
    scripts: &'a serde_json::Map<String, serde_json::Value>,
) -> Option<&'a str> {
    let program = command.argv.first()?.rsplit('/').next()?;
    if !matches!(program, "npm" | "pnpm" | "yarn" | "bun") {
        return None;
    }
    let name = command.argv[1..]
        .iter()
        .map(String::as_str)
        .find(|w| *w != "run" && *w != "run-script" && !w.starts_with('-'))?;
    scripts.get(name)?.as_str()
}

/// The test files that import the changed JavaScript/TypeScript modules,
/// with those modules; `None` when there are none (or the files cannot be read).
fn reaching(work_dir: &Path, applied: &AppliedEdits) -> Option<(Vec<String>, Vec<String>)> {
    let changes = ChangedFile::from_applied(applied);
    let contract = Contract::load(work_dir, &gitkeeper::context::ContextOptions::default()).ok()?;
    let mut read = |path: &str, max: u64| {
        let full = work_dir.join(path);
        let size = std::fs::metadata(&full).ok()?.len();
        (size <= max).then(|| std::fs::read_to_string(&full).ok())?
    };
    let tests = tests_reaching(&changes, &contract, &mut read)?;
    let modules = changes.into_iter().map(|c| c.path).collect();
    Some((tests, modules))
}

#[cfg(test)]
mod tests {
    use super::*;
    use gitkeeper::edits::FileChange;
    use gitkeeper::validate::Origin;

    fn command(stage: Stage, argv: &[&str]) -> Command {
        Command {
            stage,
            argv: argv.iter().map(|s| s.to_string()).collect(),
            network: false,
            name: argv.join(" "),
            timeout: None,
            origin: Origin::Detected("test".into()),
        }
    }

    fn repo(test_script: &str, files: &[(&str, &str)]) -> (tempfile::TempDir, AppliedEdits) {
        let dir = tempfile::tempdir().unwrap();
        let write = |path: &str, text: &str| {
            let full = dir.path().join(path);
            std::fs::create_dir_all(full.parent().unwrap()).unwrap();
            std::fs::write(full, text).unwrap();
        };
        write(
            "package.json",
            &format!(r#"{{"name":"greet","scripts":{{"test":{test_script:?}}}}}"#),
        );
        let greet = "export const greet = (n: string) => n.trim();\n";
        write("src/greet.ts", greet);
        for (path, text) in files {
            write(path, text);
        }
        let applied = AppliedEdits {
            changes: vec![FileChange {
                path: "src/greet.ts".into(),
                before: Some("export const greet = (n: string) => n;\n".into()),
                after: Some(greet.into()),
                renamed_from: None,
            }],
        };
        (dir, applied)
    }

    #[test]
    fn a_test_script_that_only_echoes_proves_nothing() {
        let (dir, applied) = repo("echo \"no tests\" && exit 0", &[]);
        let commands = [command(Stage::Test, &["npm", "test"])];
        let reasons = unproven(dir.path(), &applied, &commands, &[(0, "no tests\n".into())]);
        assert_eq!(
            reasons,
            [
                "`npm test` runs no test (its script is `echo \"no tests\" && exit 0`)",
                "no typecheck ran"
            ]
        );
    }

    #[test]
    fn zero_tests_or_no_test_importing_the_change_prove_nothing() {
        let (dir, applied) = repo("node --test", &[]);
        let commands = [
            command(Stage::Typecheck, &["npx", "tsc", "--noEmit"]),
            command(Stage::Test, &["npm", "test"]),
        ];
        let outputs = [(0, String::new()), (1, "# tests 0\n# pass 0\n".into())];
        assert_eq!(
            unproven(dir.path(), &applied, &commands, &outputs),
            ["`npm test` reported 0 tests"]
        );
        let outputs = [(0, String::new()), (1, "# tests 2\n# pass 2\n".into())];
        assert_eq!(
            unproven(dir.path(), &applied, &commands, &outputs),
            ["no test file imports `src/greet.ts`"]
        );
    }

    #[test]
    fn tests_that_import_the_change_prove_it() {
        let (dir, applied) = repo(
            "node --test",
            &[(
                "test/greet.test.ts",
                "import { greet } from '../src/greet';\ngreet(' a ');\n",
            )],
        );
        let commands = [command(Stage::Test, &["npm", "test"])];
        let outputs = [(0, "# tests 2\n# pass 2\n".into())];
        assert!(unproven(dir.path(), &applied, &commands, &outputs).is_empty());
        // No test command at all.
        assert_eq!(
            unproven(dir.path(), &applied, &[], &[]),
            ["no test command ran", "no typecheck ran"]
        );
    }
}
