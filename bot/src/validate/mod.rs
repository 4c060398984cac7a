//! Validation of applied edits, behind the `Validator` trait the generation
//! loop calls. This module ships the first validator, [`EditsValidator`]:
//! the edits are on disk as planned and every changed file parses (JSON
//! with serde_json; other files must be non-empty UTF-8). The validation
//! issue plugs in the real one (syntax, imports, schema, the repository's
//! own build in a sandbox). A validator must never modify the work dir.

pub mod build;
pub mod cache;
pub mod policy;
pub mod proof;
pub mod sandbox;

use std::path::Path;
use std::time::Instant;

use async_trait::async_trait;
use gitkeeper::edits::{AppliedEdits, FileChange};
use serde::{Deserialize, Serialize};

use crate::route::ValidationLevel;

/// Most characters of one check's detail fed back to a model.
const MAX_DETAIL_CHARS: usize = 2000;

/// One check and what it found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckResult {
    pub name: String,
    pub passed: bool,
    /// What failed, addressed to the model; empty when it passed.
    pub detail: String,
    pub duration_ms: u64,
    /// The command failed on the attempt as it already did on the base
    /// commit: it does not count against the attempt (`passed` is true), but
    /// it proved nothing, and every report must say so (never green).
    #[serde(default)]
    pub failed_before: bool,
}

/// Added to a check's name when it failed before the change too.
pub const FAILED_BEFORE_SUFFIX: &str = " (failed before this change too)";

impl CheckResult {
    /// The command's name without [`FAILED_BEFORE_SUFFIX`].
    pub fn command(&self) -> &str {
        self.name
            .strip_suffix(FAILED_BEFORE_SUFFIX)
            .unwrap_or(&self.name)
    }
}

/// What validation concluded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ValidationReport {
    pub passed: bool,
    /// What ran, e.g. `edits-applied+parse`; goes into the task record.
    pub method: String,
    pub checks: Vec<CheckResult>,
    /// Host variables the repository's `validate.env` asked for that its
    /// commands did not get (names only, never values): a maintainer reads
    /// why a command lacked one.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub withheld_env: Vec<String>,
    /// Likely mistakes the checks saw without failing on them (a new file
    /// named like an existing one elsewhere: `src/lib/a.ts: … \`src/a.ts\` …`),
    /// told to the model first and shown to the maintainer.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// Why the checks could not exercise the change, when they could not
    /// (a test script that runs nothing, zero tests, no test importing the
    /// changed module, no typecheck): passing, they proved nothing about it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unproven: Vec<String>,
}

impl ValidationReport {
    pub fn new(method: impl Into<String>, checks: Vec<CheckResult>) -> Self {
        Self {
            passed: checks.iter().all(|c| c.passed),
            method: method.into(),
            checks,
            withheld_env: Vec::new(),
            notes: Vec::new(),
            unproven: Vec::new(),
        }
    }

    /// The same report saying why its checks could not exercise the change.
    pub fn with_unproven(mut self, reasons: &[String]) -> Self {
        for reason in reasons {
            if !self.unproven.contains(reason) {
                self.unproven.push(reason.clone());
            }
        }
        self
    }

    /// Every check passed, but none could exercise the change: validation
    /// ran and proved nothing about it (never reported as plain green).
    pub fn proved_nothing(&self) -> bool {
        self.passed && !self.unproven.is_empty()
    }

    /// The same report with `notes` added (each once).
    pub fn with_notes(mut self, notes: &[String]) -> Self {
        for note in notes {
            if !self.notes.contains(note) {
                self.notes.push(note.clone());
            }
        }
        self
    }

    /// The same report naming `names` as withheld from its commands.
    pub fn with_withheld_env(mut self, names: &[String]) -> Self {
        for name in names {
            if !self.withheld_env.contains(name) {
                self.withheld_env.push(name.clone());
            }
        }
        self
    }

    /// The failed checks' details, for the retry prompt; the notes first,
    /// since a file at a wrong path is what usually made the checks fail.
    pub fn errors(&self) -> Vec<String> {
        let failed: Vec<String> = self
            .checks
            .iter()
            .filter(|c| !c.passed)
            .map(|c| format!("{} failed:\n{}", c.name, c.detail))
            .collect();
        if failed.is_empty() {
            return failed;
        }
        self.notes
            .iter()
            .map(|n| format!("Likely wrong path: {n}"))
            .chain(failed)
            .collect()
    }

    /// Checks that failed on the attempt as on the base commit: they did
    /// not fail it, and they proved nothing about it.
    pub fn failing_before(&self) -> Vec<&CheckResult> {
        self.checks.iter().filter(|c| c.failed_before).collect()
    }

    /// One line per check: `✓ edits applied (2 ms)`; a last line when the
    /// checks proved nothing about the change.
    pub fn summary(&self) -> String {
        let mut lines: Vec<String> = self
            .checks
            .iter()
            .map(|c| {
                format!(
                    "{} {} ({} ms)",
                    match (c.passed, c.failed_before) {
                        (_, true) => "⚠",
                        (true, false) => "✓",
                        (false, false) => "✗",
                    },
                    c.name,
                    c.duration_ms
                )
            })
            .collect();
        if self.proved_nothing() {
            lines.push(format!(
                "⚠ not proven: the checks passed but could not exercise the change ({})",
                self.unproven.join("; ")
            ));
        }
        lines.join("\n")
    }
}

/// Checks a work dir after edits were applied.
#[async_trait]
pub trait Validator: Send + Sync {
    async fn validate(
        &self,
        work_dir: &Path,
        applied: &AppliedEdits,
        level: ValidationLevel,
    ) -> ValidationReport;

    /// The checks an agent may run one at a time at `level`, by name: the
    /// repository's planned commands (from the base commit), setup excluded.
    fn check_names(&self, _level: ValidationLevel) -> Vec<String> {
        Vec::new()
    }

    /// Run the check `name` of [`Validator::check_names`] on the work dir as
    /// it is, with its time limit and output cap; `None` when this validator
    /// has no such check. It never replaces [`Validator::validate`].
    async fn run_check(
        &self,
        _work_dir: &Path,
        _name: &str,
        _level: ValidationLevel,
    ) -> Option<CheckResult> {
        None
    }
}

/// The edits are on disk and the changed files parse.
#[derive(Debug, Clone, Copy, Default)]
pub struct EditsValidator;

/// Files that are legitimately empty.
const MAY_BE_EMPTY: &[&str] = &["__init__.py", ".gitkeep", ".keep", "py.typed"];

#[async_trait]
impl Validator for EditsValidator {
    async fn validate(
        &self,
        work_dir: &Path,
        applied: &AppliedEdits,
        _level: ValidationLevel,
    ) -> ValidationReport {
        let root = work_dir.to_path_buf();
        let changes = applied.changes.clone();
        let checks = tokio::task::spawn_blocking(move || check_changes(&root, &changes))
            .await
            .unwrap_or_else(|e| {
                vec![CheckResult {
                    name: "edits applied".into(),
                    passed: false,
                    detail: format!("the check could not run: {e}"),
                    duration_ms: 0,
                    failed_before: false,
                }]
            });
        ValidationReport::new("edits-applied+parse", checks)
    }
}

fn check_changes(root: &Path, changes: &[FileChange]) -> Vec<CheckResult> {
    let started = Instant::now();
    let mut applied_problems = Vec::new();
    let mut parse_problems = Vec::new();
    if changes.is_empty() {
        applied_problems.push("The answer changed no file.".to_string());
    }
    for change in changes {
        let on_disk = std::fs::read(root.join(&change.path));
        match (&change.after, on_disk) {
            (None, Err(e)) if e.kind() == std::io::ErrorKind::NotFound => {}
            (None, _) => {
                applied_problems.push(format!("`{}` should be deleted but exists", change.path))
            }
            (Some(_), Err(e)) => {
                applied_problems.push(format!("`{}` cannot be read: {e}", change.path))
            }
            (Some(after), Ok(bytes)) => {
                if bytes != after.as_bytes() {
                    applied_problems.push(format!(
                        "`{}` does not hold the edited content",
                        change.path
                    ));
                }
                if let Some(problem) = parse_problem(&change.path, &bytes) {
                    parse_problems.push(problem);
                }
            }
        }
    }
    let elapsed = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    let check = |name: &str, problems: Vec<String>| CheckResult {
        name: name.into(),
        passed: problems.is_empty(),
        detail: trim(&problems.join("\n")),
        duration_ms: elapsed,
        failed_before: false,
    };
    vec![
        check("edits applied", applied_problems),
        check("files parse", parse_problems),
    ]
}

/// Why a file's content does not parse, if it does not.
fn parse_problem(path: &str, bytes: &[u8]) -> Option<String> {
    let name = path.rsplit('/').next().unwrap_or(path);
    let Ok(text) = std::str::from_utf8(bytes) else {
        return Some(format!("`{path}` is not UTF-8 text"));
    };
    if text.trim().is_empty() && !MAY_BE_EMPTY.contains(&name) {
        return Some(format!("`{path}` is empty: write its complete content"));
    }
    let ext = name.rsplit_once('.').map_or("", |(_, e)| e);
    if ext.eq_ignore_ascii_case("json") {
        if let Err(e) = serde_json::from_str::<serde_json::Value>(text) {
            return Some(format!("`{path}` is not valid JSON: {e}"));
        }
    }
    None
}

fn trim(text: &str) -> String {
    match text.char_indices().nth(MAX_DETAIL_CHARS) {
        Some((cut, _)) => format!("{}\n… (cut)", &text[..cut]),
        None => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(path: &str, after: Option<&str>) -> FileChange {
        FileChange {
            path: path.into(),
            before: None,
            after: after.map(str::to_string),
            renamed_from: None,
        }
    }

    async fn run(files: &[(&str, &str)], changes: Vec<FileChange>) -> ValidationReport {
        let dir = tempfile::tempdir().unwrap();
        for (path, text) in files {
            std::fs::write(dir.path().join(path), text).unwrap();
        }
        EditsValidator
            .validate(
                dir.path(),
                &AppliedEdits { changes },
                ValidationLevel::Quick,
            )
            .await
    }

    #[tokio::test]
    async fn applied_parsing_files_pass() {
        let report = run(
            &[("a.json", "{\"ok\": true}"), ("b.ts", "export {};\n")],
            vec![
                change("a.json", Some("{\"ok\": true}")),
                change("b.ts", Some("export {};\n")),
                change("gone.ts", None),
            ],
        )
        .await;
        assert!(report.passed, "{report:?}");
        assert_eq!(report.method, "edits-applied+parse");
    }

    #[tokio::test]
    async fn broken_json_and_empty_files_fail_with_the_reason() {
        let report = run(
            &[("a.json", "{\"ok\": }"), ("b.ts", "")],
            vec![
                change("a.json", Some("{\"ok\": }")),
                change("b.ts", Some("")),
            ],
        )
        .await;
        assert!(!report.passed);
        let errors = report.errors().join("\n");
        assert!(errors.contains("`a.json` is not valid JSON"), "{errors}");
        assert!(errors.contains("`b.ts` is empty"), "{errors}");
    }

    #[tokio::test]
    async fn content_that_differs_from_the_plan_fails() {
        let report = run(&[("a.ts", "old")], vec![change("a.ts", Some("new"))]).await;
        assert!(report.errors()[0].contains("does not hold the edited content"));
        let report = run(&[], vec![]).await;
        assert!(report.errors()[0].contains("changed no file"));
    }
}

/// [`EditsValidator`], then the static checks of the `gitkeeper` crate
/// (syntax with tree-sitter, imports and exports that exist, Prisma models,
/// fields and operations that exist, API routes, the gitkeeper doc's rules).
/// The rules come from the package built on the base commit, so an attempt
/// cannot relax the rules it is judged by; everything else is read from the
/// work dir as the attempt left it.
pub struct StaticValidator {
    options: gitkeeper::context::ContextOptions,
    base: std::sync::Arc<gitkeeper::context::ContextPackage>,
    checked_scripts: Vec<String>,
}

/// Most characters of static-check findings fed back to a model.
const MAX_FINDINGS_CHARS: usize = 4000;

impl StaticValidator {
    pub fn new(
        options: gitkeeper::context::ContextOptions,
        base: std::sync::Arc<gitkeeper::context::ContextPackage>,
    ) -> Self {
        Self {
            options,
            base,
            checked_scripts: Vec::new(),
        }
    }

    /// Refuse changes to these root package.json scripts: the validation
    /// runs them (`gitkeeper::validate::scripts_run_by` on the base plan).
    pub fn guarding_scripts(mut self, scripts: Vec<String>) -> Self {
        self.checked_scripts = scripts;
        self
    }
}

#[async_trait]
impl Validator for StaticValidator {
    async fn validate(
        &self,
        work_dir: &Path,
        applied: &AppliedEdits,
        level: ValidationLevel,
    ) -> ValidationReport {
        let mut report = EditsValidator.validate(work_dir, applied, level).await;
        let root = work_dir.to_path_buf();
        let changes = gitkeeper::validate::ChangedFile::from_applied(applied);
        let (options, base) = (self.options.clone(), self.base.clone());
        let checked_scripts = self.checked_scripts.clone();
        let check = tokio::task::spawn_blocking(move || {
            let started = Instant::now();
            let (detail, notes) =
                match gitkeeper::validate::Contract::from_package(&root, &options, &base) {
                    Ok(mut contract) => {
                        contract.checked_scripts = checked_scripts;
                        let found = gitkeeper::validate::check_changes(&root, &changes, &contract);
                        let notes: Vec<String> =
                            found.notes.iter().map(|n| n.to_string()).collect();
                        (
                            (!found.passed()).then(|| found.feedback(MAX_FINDINGS_CHARS)),
                            notes,
                        )
                    }
                    Err(e) => (
                        Some(format!(
                            "the static checks could not read the repository: {e}"
                        )),
                        Vec::new(),
                    ),
                };
            let check = CheckResult {
                name: "static checks".into(),
                passed: detail.is_none(),
                detail: detail.unwrap_or_default(),
                duration_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
                failed_before: false,
            };
            (check, notes)
        })
        .await
        .unwrap_or_else(|e| {
            let check = CheckResult {
                name: "static checks".into(),
                passed: false,
                detail: format!("the static checks could not run: {e}"),
                duration_ms: 0,
                failed_before: false,
            };
            (check, Vec::new())
        });
        let (check, notes) = check;
        report.checks.push(check);
        ValidationReport::new(format!("{}+static", report.method), report.checks)
            .with_withheld_env(&report.withheld_env)
            .with_notes(&report.notes)
            .with_notes(&notes)
            .with_unproven(&report.unproven)
    }
}

#[cfg(test)]
mod static_validator_tests {
    use super::*;
    use gitkeeper::edits::FileChange;
    use std::sync::Arc;

    fn write(root: &Path, path: &str, content: &str) {
        let full = root.join(path);
        std::fs::create_dir_all(full.parent().unwrap()).unwrap();
        std::fs::write(full, content).unwrap();
    }

    #[tokio::test]
    async fn invented_imports_and_broken_rules_fail_with_feedback_for_the_model() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        write(
            root,
            "package.json",
            r#"{"name":"shop","dependencies":{"zod":"3.0.0"}}"#,
        );
        write(
            root,
            "docs/gitkeeper.md",
            "# Shop\n\n## Forbidden patterns\n\n- `console.log(` — use the logger\n",
        );
        write(root, "src/util.ts", "export const one = 1;\n");
        let options = gitkeeper::context::ContextOptions::default();
        let base = gitkeeper::context::build(root, "add a helper", &options).unwrap();
        let validator = StaticValidator::new(options, Arc::new(base));

        let good = "import { z } from 'zod';\nimport { one } from './util';\nexport const two = one + 1;\n";
        write(root, "src/two.ts", good);
        let applied = AppliedEdits {
            changes: vec![FileChange {
                path: "src/two.ts".into(),
                before: None,
                after: Some(good.into()),
                renamed_from: None,
            }],
        };
        let report = validator
            .validate(root, &applied, ValidationLevel::Standard)
            .await;
        assert!(report.passed, "{report:#?}");
        assert_eq!(report.method, "edits-applied+parse+static");

        let bad = "import { left } from 'left-pad-pro';\nimport { nope } from './missing';\nconsole.log(nope);\n";
        write(root, "src/two.ts", bad);
        let applied = AppliedEdits {
            changes: vec![FileChange {
                path: "src/two.ts".into(),
                before: None,
                after: Some(bad.into()),
                renamed_from: None,
            }],
        };
        let report = validator
            .validate(root, &applied, ValidationLevel::Standard)
            .await;
        assert!(!report.passed);
        let errors = report.errors().join("\n");
        assert!(errors.contains("left-pad-pro"), "{errors}");
        assert!(errors.contains("./missing"), "{errors}");
        assert!(errors.contains("console.log("), "{errors}");
        assert!(errors.contains("src/two.ts:"), "{errors}");
    }

    #[tokio::test]
    async fn a_new_copy_of_an_existing_file_is_fed_back_with_the_real_path_first() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        write(root, "package.json", r#"{"name":"defu"}"#);
        write(
            root,
            "src/defu.ts",
            "export function defu() { return {}; }\n",
        );
        write(root, "src/_utils.ts", "export const isObject = 1;\n");
        let options = gitkeeper::context::ContextOptions::default();
        let base = gitkeeper::context::build(root, "fix defu", &options).unwrap();
        let validator = StaticValidator::new(options, Arc::new(base));
        // The whole file again one folder down: its relative import breaks.
        let copy =
            "import { isObject } from './_utils';\nexport function defu() { return isObject; }\n";
        write(root, "src/lib/defu.ts", copy);
        let applied = AppliedEdits {
            changes: vec![FileChange {
                path: "src/lib/defu.ts".into(),
                before: None,
                after: Some(copy.into()),
                renamed_from: None,
            }],
        };
        let report = validator
            .validate(root, &applied, ValidationLevel::Standard)
            .await;
        assert!(!report.passed);
        let errors = report.errors();
        assert!(
            errors[0].starts_with("Likely wrong path: src/lib/defu.ts:"),
            "{errors:?}"
        );
        assert!(errors[0].contains("`src/defu.ts`"), "{errors:?}");
        assert!(errors[1].contains("./_utils"), "{errors:?}");
        assert_eq!(report.notes.len(), 1);
    }
}
