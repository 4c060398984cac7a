//! Whether a repository's checks could exercise a change at all: a test
//! script that runs nothing (`echo`, `exit 0`, `true`), a test run that
//! reports zero tests, or no test file importing the changed modules means
//! a row of passing checks proved nothing about what the change does.
//! Pure functions of text and the repository's files; running the commands
//! is the bot's job. Never claims proof it cannot see: unknown is not proven.

use super::changes::{ChangeKind, ChangedFile};
use super::contract::Contract;
use super::syntax::Grammar;
use crate::context::imports::{ImportTarget, extract_imports};
use crate::context::rank::FileClass;

/// Most files read to follow imports from the tests to the change.
const MAX_SCAN: usize = 20_000;
/// Largest file read for that.
const MAX_BYTES: u64 = 256 * 1024;
/// Import hops followed from a changed module (a test importing an index
/// that re-exports it is one hop more).
const MAX_HOPS: usize = 3;

/// True when a package.json script body runs no test: only `echo`, `exit 0`,
/// `true` or `:` (npm's "no test specified" script ends in `exit 1`, which
/// fails and is reported as a failure, not here).
pub fn runs_no_test(script: &str) -> bool {
    let separated = script
        .replace("&&", ";")
        .replace("||", ";")
        .replace(['|', '\n'], ";");
    separated
        .split(';')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .all(|segment| {
            let first = segment.split_whitespace().next().unwrap_or("");
            matches!(first, "echo" | "true" | ":" | "printf") || segment == "exit 0"
        })
}

/// True when a test run's output says it ran no test: a "no tests found"
/// line, or counts that are all zero (`# tests 0`, `running 0 tests`,
/// `Tests: 0 total`, `0 passing`, `Ran 0 tests`, `collected 0 items`).
pub fn reports_no_tests(output: &str) -> bool {
    let lower = output.to_ascii_lowercase();
    const NONE: &[&str] = &[
        "no tests found",
        "no test files found",
        "no tests ran",
        "no tests to run",
        "no test suites found",
        "collected 0 items",
    ];
    if NONE.iter().any(|n| lower.contains(n)) {
        return true;
    }
    let mut counts = Vec::new();
    for line in lower.lines().map(str::trim) {
        let words: Vec<&str> = line.split_whitespace().collect();
        let number = |w: Option<&&str>| w.and_then(|w| w.parse::<u64>().ok());
        match words.as_slice() {
            ["#", "tests", n, ..] | ["running", n, "test" | "tests", ..] => {
                counts.extend(number(Some(n)));
            }
            ["ran", n, "test" | "tests", ..] => counts.extend(number(Some(n))),
            ["tests:", rest @ ..] => {
                if let Some(i) = rest.iter().position(|w| w.starts_with("total")) {
                    counts.extend(number(i.checked_sub(1).and_then(|j| rest.get(j))));
                }
            }
            [n, "passing", ..] => counts.extend(number(Some(n))),
            _ => {}
        }
    }
    !counts.is_empty() && counts.iter().all(|c| *c == 0)
}

/// The test files whose imports reach a changed JavaScript/TypeScript
/// module (directly or through up to [`MAX_HOPS`] importers), or `None` when
/// no changed file is one (imports of other languages are not followed, so
/// nothing can be said). An empty list: no test imports the change.
pub fn tests_reaching(
    changes: &[ChangedFile],
    contract: &Contract,
    read: &mut dyn FnMut(&str, u64) -> Option<String>,
) -> Option<Vec<String>> {
    let mut reached: Vec<String> = changes
        .iter()
        .filter(|c| c.kind != ChangeKind::Deleted)
        .filter(|c| Grammar::for_path(&c.path).is_some())
        .filter(|c| FileClass::of(&c.path) != FileClass::Test)
        .map(|c| c.path.clone())
        .collect();
    if reached.is_empty() {
        return None;
    }
    // Who imports whom, among the code files.
    let imports: Vec<(String, Vec<String>)> = contract
        .files
        .iter()
        .filter(|f| Grammar::for_path(f).is_some())
        .take(MAX_SCAN)
        .filter_map(|file| {
            let text = read(file, MAX_BYTES)?;
            let targets = extract_imports(&text)
                .into_iter()
                .filter_map(|r| match contract.resolver.resolve(file, &r.specifier) {
                    ImportTarget::File(target) => Some(target),
                    _ => None,
                })
                .collect();
            Some((file.clone(), targets))
        })
        .collect();
    let mut tests = Vec::new();
    for _ in 0..MAX_HOPS {
        let mut next = Vec::new();
        for (file, targets) in &imports {
            if reached.contains(file) || next.contains(file) {
                continue;
            }
            if targets.iter().any(|t| reached.contains(t)) {
                next.push(file.clone());
            }
        }
        if next.is_empty() {
            break;
        }
        for file in next {
            if FileClass::of(&file) == FileClass::Test {
                tests.push(file.clone());
            }
            reached.push(file);
        }
    }
    Some(tests)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::context::ContextOptions;

    #[test]
    fn scripts_that_only_print_or_exit_zero_run_no_test() {
        for script in [
            "echo \"no tests yet\"",
            "exit 0",
            "true",
            "echo ok && exit 0",
            ":",
        ] {
            assert!(runs_no_test(script), "{script}");
        }
        for script in [
            "node --test",
            "vitest run",
            "echo start && node --test",
            "tsc && node --test test/",
            "echo \"Error: no test specified\" && exit 1",
        ] {
            assert!(!runs_no_test(script), "{script}");
        }
    }

    #[test]
    fn zero_test_counts_are_read_from_the_usual_runners() {
        for output in [
            "TAP version 13\n# tests 0\n# pass 0\n",
            "running 0 tests\n\ntest result: ok. 0 passed\n",
            "Tests:       0 total\n",
            "  0 passing (2ms)\n",
            "Ran 0 tests in 0.000s\n\nOK\n",
            "No test files found, exiting with code 0\n",
            "collected 0 items\n",
        ] {
            assert!(reports_no_tests(output), "{output}");
        }
        for output in [
            "# tests 3\n# pass 3\n",
            "running 0 tests\nrunning 4 tests\n",
            "Tests:       1 passed, 1 total\n",
            "  5 passing (10ms)\n",
            "all good\n",
        ] {
            assert!(!reports_no_tests(output), "{output}");
        }
    }

    fn repo(files: &[(&str, &str)]) -> (tempfile::TempDir, Contract) {
        let dir = tempfile::tempdir().unwrap();
        for (path, text) in files {
            let full = dir.path().join(path);
            std::fs::create_dir_all(full.parent().unwrap()).unwrap();
            std::fs::write(full, text).unwrap();
        }
        let contract = Contract::load(dir.path(), &ContextOptions::default()).unwrap();
        (dir, contract)
    }

    fn reaching(dir: &tempfile::TempDir, contract: &Contract, path: &str) -> Option<Vec<String>> {
        let changes = [ChangedFile::new(path, ChangeKind::Modified)];
        let mut read = |p: &str, _: u64| std::fs::read_to_string(dir.path().join(p)).ok();
        tests_reaching(&changes, contract, &mut read)
    }

    #[test]
    fn tests_are_found_through_their_imports() {
        let (dir, contract) = repo(&[
            ("src/greet.ts", "export const greet = (n: string) => n;\n"),
            ("src/index.ts", "export { greet } from './greet';\n"),
            ("src/other.ts", "export const other = 1;\n"),
            (
                "test/index.test.ts",
                "import { greet } from '../src/index';\ngreet('x');\n",
            ),
            ("README.md", "# x\n"),
        ]);
        assert_eq!(
            reaching(&dir, &contract, "src/greet.ts"),
            Some(vec!["test/index.test.ts".to_string()])
        );
        assert_eq!(reaching(&dir, &contract, "src/other.ts"), Some(vec![]));
        assert_eq!(reaching(&dir, &contract, "README.md"), None);
    }
}
