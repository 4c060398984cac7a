//! The repository's own commands at the route's validation level, run in the
//! [`Sandbox`]: from `.github/gitkeeper.yml` or detected (package manager
//! and scripts, Cargo, Python tools, `make check`). Each command is one
//! check; a failure's output tail is what the model reads next.

use std::collections::{BTreeSet, HashMap};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use gitkeeper::edits::AppliedEdits;
use gitkeeper::validate::{self as checks};

use super::sandbox::{Sandbox, SandboxCommand};
use super::{CheckResult, ValidationReport, Validator};
use crate::route::ValidationLevel;

/// A command's limit when the repository sets none.
pub const DEFAULT_COMMAND_TIMEOUT: Duration = Duration::from_secs(600);
/// All commands of one validation together, when the repository sets none.
pub const DEFAULT_TOTAL_TIMEOUT: Duration = Duration::from_secs(1800);
/// Most characters of a failed command's output fed back to a model (its end).
const MAX_FEEDBACK_CHARS: usize = 3000;

/// Runs the repository's commands for the level.
pub struct BuildValidator {
    sandbox: Arc<dyn Sandbox>,
    baseline: Option<Baseline>,
}

impl BuildValidator {
    pub fn new(sandbox: Arc<dyn Sandbox>) -> Self {
        Self {
            sandbox,
            baseline: None,
        }
    }
}

fn failed(name: &str, detail: String, duration: Duration) -> CheckResult {
    CheckResult {
        name: name.into(),
        passed: false,
        detail,
        duration_ms: u64::try_from(duration.as_millis()).unwrap_or(u64::MAX),
    }
}

/// The last `max` characters of `text`.
fn tail(text: &str, max: usize) -> String {
    let count = text.chars().count();
    if count <= max {
        return text.to_string();
    }
    let kept: String = text.chars().skip(count - max).collect();
    format!("…{kept}")
}

/// What the repository's commands did on the base commit, before any change:
/// which failed, and the error lines each printed. A failure an attempt did
/// not cause is reported as pre-existing instead of failing it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Baseline {
    /// The commands as planned on the base commit; attempts are judged by
    /// these, so a change cannot edit the checks it is judged by.
    plan: checks::CommandPlan,
    /// Command name → the error lines of its failure on the base commit.
    failed: HashMap<String, BTreeSet<String>>,
}

impl Baseline {
    /// Commands that already failed before the change.
    pub fn failing(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self.failed.keys().map(String::as_str).collect();
        names.sort_unstable();
        names
    }
}

/// Lines that report a problem, normalised for comparison between runs.
fn error_lines(output: &str) -> BTreeSet<String> {
    output
        .lines()
        .map(str::trim)
        .filter(|l| {
            let lower = l.to_ascii_lowercase();
            ["error", "fail", "panicked", "✗", "✕"]
                .iter()
                .any(|w| lower.contains(w))
        })
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect()
}

/// One command's run.
struct Ran {
    result: CheckResult,
    output: Option<String>,
}

impl BuildValidator {
    /// Run `plan` (made on the base commit) on the work dir as it is, before
    /// the first attempt, and remember what already fails.
    pub async fn baseline(
        &self,
        work_dir: &Path,
        level: ValidationLevel,
        plan: checks::CommandPlan,
    ) -> Baseline {
        let (_, runs) = self.run_level(work_dir, level, true, Ok(&plan)).await;
        Baseline {
            plan,
            failed: runs
                .into_iter()
                .filter(|r| !r.result.passed)
                .map(|r| {
                    let lines = error_lines(r.output.as_deref().unwrap_or(""));
                    (r.result.name, lines)
                })
                .collect(),
        }
    }

    /// Judge attempts against `baseline`: only failures the change caused count.
    pub fn with_baseline(mut self, baseline: Baseline) -> Self {
        self.baseline = Some(baseline);
        self
    }

    async fn run_level(
        &self,
        work_dir: &Path,
        level: ValidationLevel,
        keep_going: bool,
        plan: Result<&checks::CommandPlan, checks::CommandsError>,
    ) -> (String, Vec<Ran>) {
        let method = format!("commands:{}", level.as_str());
        let plan = match plan {
            Ok(plan) => plan,
            Err(e) => {
                let result = failed("validation commands", e.to_string(), Duration::ZERO);
                return (
                    method,
                    vec![Ran {
                        result,
                        output: None,
                    }],
                );
            }
        };
        let level_plan = plan.for_level(level);
        let per_command = plan.command_timeout.unwrap_or(DEFAULT_COMMAND_TIMEOUT);
        let deadline = Instant::now() + plan.total_timeout.unwrap_or(DEFAULT_TOTAL_TIMEOUT);
        let mut runs = Vec::new();
        for command in &level_plan.commands {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                let result = failed(
                    &command.name,
                    "not run: the validation's total time limit was reached".into(),
                    Duration::ZERO,
                );
                runs.push(Ran {
                    result,
                    output: None,
                });
                break;
            }
            let timeout = command.timeout.unwrap_or(per_command).min(left);
            let run = SandboxCommand {
                argv: command.argv.clone(),
                network: command.network,
                timeout,
            };
            let ran = match self.sandbox.run(work_dir, &run).await {
                Ok(outcome) if outcome.passed() => Ran {
                    result: CheckResult {
                        name: command.name.clone(),
                        passed: true,
                        detail: String::new(),
                        duration_ms: u64::try_from(outcome.duration.as_millis())
                            .unwrap_or(u64::MAX),
                    },
                    output: None,
                },
                Ok(outcome) => {
                    let why = if outcome.timed_out {
                        format!(
                            "`{}` did not finish within {}s",
                            command.name,
                            timeout.as_secs()
                        )
                    } else {
                        match outcome.exit_code {
                            Some(code) => format!("`{}` exited with {code}", command.name),
                            None => format!("`{}` was killed", command.name),
                        }
                    };
                    Ran {
                        result: failed(
                            &command.name,
                            format!(
                                "{why}:\n{}",
                                tail(outcome.output.trim_end(), MAX_FEEDBACK_CHARS)
                            ),
                            outcome.duration,
                        ),
                        output: Some(outcome.output),
                    }
                }
                Err(e) => Ran {
                    result: failed(&command.name, e.to_string(), Duration::ZERO),
                    output: None,
                },
            };
            let stop = !ran.result.passed && !keep_going;
            runs.push(ran);
            // A failed install or check makes the rest meaningless.
            if stop {
                break;
            }
        }
        (method, runs)
    }

    /// A failure that also happened on the base commit passes when it prints
    /// no error line the base did not; otherwise only the new lines are fed back.
    fn judge(&self, ran: Ran) -> CheckResult {
        let Some(before) = self
            .baseline
            .as_ref()
            .and_then(|b| b.failed.get(&ran.result.name))
        else {
            return ran.result;
        };
        let mut result = ran.result;
        if result.passed {
            return result;
        }
        let after = error_lines(ran.output.as_deref().unwrap_or(""));
        let new: Vec<&String> = after.difference(before).collect();
        if new.is_empty() {
            result.passed = true;
            result.name = format!("{} (failed before this change too)", result.name);
            result.detail.clear();
        } else {
            result.detail = format!(
                "`{}` already failed before this change; these errors are new:\n{}",
                result.name,
                new.iter()
                    .map(|l| l.as_str())
                    .collect::<Vec<_>>()
                    .join("\n")
            );
        }
        result
    }
}

#[async_trait]
impl Validator for BuildValidator {
    async fn validate(
        &self,
        work_dir: &Path,
        _applied: &AppliedEdits,
        level: ValidationLevel,
    ) -> ValidationReport {
        let keep_going = self.baseline.is_some();
        let planned;
        let plan = match &self.baseline {
            Some(baseline) => Ok(&baseline.plan),
            None => {
                planned = checks::plan_commands(work_dir);
                planned.as_ref().map_err(Clone::clone)
            }
        };
        let (method, runs) = self.run_level(work_dir, level, keep_going, plan).await;
        let mut results = Vec::new();
        for ran in runs {
            let result = self.judge(ran);
            let stop = !result.passed;
            results.push(result);
            if stop {
                break;
            }
        }
        ValidationReport::new(method, results)
    }
}

/// Several validators in order; later ones run only when earlier ones passed
/// (a build is pointless when the edits did not even parse).
pub struct Chain(pub Vec<Arc<dyn Validator>>);

#[async_trait]
impl Validator for Chain {
    async fn validate(
        &self,
        work_dir: &Path,
        applied: &AppliedEdits,
        level: ValidationLevel,
    ) -> ValidationReport {
        let mut methods = Vec::new();
        let mut all = Vec::new();
        for validator in &self.0 {
            let report = validator.validate(work_dir, applied, level).await;
            methods.push(report.method);
            all.extend(report.checks);
            if !report.passed {
                break;
            }
        }
        ValidationReport::new(methods.join("+"), all)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::validate::sandbox::{DEFAULT_OUTPUT_CAP, ProcessSandbox};

    fn repo(files: &[(&str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for (path, content) in files {
            let full = dir.path().join(path);
            std::fs::create_dir_all(full.parent().unwrap()).unwrap();
            std::fs::write(full, content).unwrap();
        }
        dir
    }

    fn validator() -> BuildValidator {
        BuildValidator::new(Arc::new(ProcessSandbox::new(&[], DEFAULT_OUTPUT_CAP)))
    }

    const MAKEFILE: &str = "check:\n\t@grep -q 'tax' src/total.txt || (echo 'src/total.txt: tax is missing' && exit 1)\n";

    #[tokio::test]
    async fn the_detected_make_check_runs_and_its_failure_is_fed_back() {
        let dir = repo(&[("Makefile", MAKEFILE), ("src/total.txt", "sum\n")]);
        let report = validator()
            .validate(
                dir.path(),
                &AppliedEdits::default(),
                ValidationLevel::Standard,
            )
            .await;
        assert!(!report.passed);
        assert_eq!(report.method, "commands:standard");
        let errors = report.errors().join("\n");
        assert!(errors.contains("`make check` exited with 2"), "{errors}");
        assert!(errors.contains("tax is missing"), "{errors}");

        std::fs::write(dir.path().join("src/total.txt"), "sum + tax\n").unwrap();
        let report = validator()
            .validate(
                dir.path(),
                &AppliedEdits::default(),
                ValidationLevel::Standard,
            )
            .await;
        assert!(report.passed, "{report:#?}");
        assert_eq!(report.checks.len(), 1);
    }

    #[tokio::test]
    async fn configured_commands_run_in_order_and_stop_at_the_first_failure() {
        let dir = repo(&[(
            ".github/gitkeeper.yml",
            "validate:\n  setup: []\n  checks:\n    - run: sh -c 'echo typecheck ok'\n      stage: typecheck\n    - run: sh -c 'echo broken test >&2; exit 4'\n      stage: test\n    - run: sh -c 'touch never-ran'\n      stage: test\n  timeout: 30s\n",
        )]);
        let report = validator()
            .validate(
                dir.path(),
                &AppliedEdits::default(),
                ValidationLevel::Standard,
            )
            .await;
        assert!(!report.passed);
        assert_eq!(report.checks.len(), 2, "{report:#?}");
        assert!(report.checks[0].passed);
        assert!(report.checks[1].detail.contains("broken test"));
        assert!(!dir.path().join("never-ran").exists());
    }

    #[tokio::test]
    async fn a_command_over_its_time_limit_fails_and_says_so() {
        let dir = repo(&[(
            ".github/gitkeeper.yml",
            "validate:\n  setup: []\n  checks:\n    - run: sleep 30\n      stage: test\n      timeout: 1s\n",
        )]);
        let report = validator()
            .validate(
                dir.path(),
                &AppliedEdits::default(),
                ValidationLevel::Standard,
            )
            .await;
        assert!(!report.passed);
        assert!(
            report.checks[0].detail.contains("did not finish within 1s"),
            "{report:#?}"
        );
    }

    const NOISY: &str = "check:\n\t@cat errors.txt; test ! -s errors.txt\n";

    #[tokio::test]
    async fn failures_already_on_the_base_commit_do_not_fail_an_attempt() {
        let dir = repo(&[
            ("Makefile", NOISY),
            ("errors.txt", "error: flaky network test timed out\n"),
        ]);
        let build = validator();
        let plan = checks::plan_commands(dir.path()).unwrap();
        let baseline = build
            .baseline(dir.path(), ValidationLevel::Standard, plan)
            .await;
        assert_eq!(baseline.failing(), vec!["make check"]);
        let build = build.with_baseline(baseline);

        // The same failure after the change: pre-existing, not the attempt's fault.
        let report = build
            .validate(
                dir.path(),
                &AppliedEdits::default(),
                ValidationLevel::Standard,
            )
            .await;
        assert!(report.passed, "{report:#?}");
        assert_eq!(
            report.checks[0].name,
            "make check (failed before this change too)"
        );

        // A new error on top: the attempt fails and only the new line is fed back.
        std::fs::write(
            dir.path().join("errors.txt"),
            "error: flaky network test timed out\nerror TS2304: Cannot find name 'taxRate'.\n",
        )
        .unwrap();
        let report = build
            .validate(
                dir.path(),
                &AppliedEdits::default(),
                ValidationLevel::Standard,
            )
            .await;
        assert!(!report.passed);
        let detail = &report.checks[0].detail;
        assert!(
            detail.contains("already failed before this change"),
            "{detail}"
        );
        assert!(detail.contains("TS2304"), "{detail}");
        assert!(!detail.contains("flaky network"), "{detail}");
    }

    #[tokio::test]
    async fn an_attempt_is_judged_by_the_base_commits_commands_not_its_own() {
        let dir = repo(&[
            (
                ".github/gitkeeper.yml",
                "validate:\n  setup: []\n  checks:\n    - run: grep -q tax src/total.txt\n      stage: test\n",
            ),
            ("src/total.txt", "sum + tax\n"),
        ]);
        let build = validator();
        let plan = checks::plan_commands(dir.path()).unwrap();
        let baseline = build
            .baseline(dir.path(), ValidationLevel::Standard, plan)
            .await;
        let build = build.with_baseline(baseline);
        // The attempt drops the tax and rewrites the check into one that passes.
        std::fs::write(dir.path().join("src/total.txt"), "sum\n").unwrap();
        std::fs::write(
            dir.path().join(".github/gitkeeper.yml"),
            "validate:\n  setup: []\n  checks:\n    - run: \"true\"\n      stage: test\n",
        )
        .unwrap();
        let report = build
            .validate(
                dir.path(),
                &AppliedEdits::default(),
                ValidationLevel::Standard,
            )
            .await;
        assert!(!report.passed, "{report:#?}");
        assert_eq!(report.checks[0].name, "grep -q tax src/total.txt");
    }

    #[tokio::test]
    async fn a_clean_base_keeps_every_failure_an_attempt_causes() {
        let dir = repo(&[("Makefile", NOISY), ("errors.txt", "")]);
        let build = validator();
        let plan = checks::plan_commands(dir.path()).unwrap();
        let baseline = build
            .baseline(dir.path(), ValidationLevel::Standard, plan)
            .await;
        assert!(baseline.failing().is_empty());
        let build = build.with_baseline(baseline);
        std::fs::write(dir.path().join("errors.txt"), "error: broke it\n").unwrap();
        let report = build
            .validate(
                dir.path(),
                &AppliedEdits::default(),
                ValidationLevel::Standard,
            )
            .await;
        assert!(!report.passed);
        assert!(report.checks[0].detail.contains("error: broke it"));
    }

    #[tokio::test]
    async fn the_quick_level_runs_no_build_and_the_chain_stops_early() {
        let dir = repo(&[("Makefile", MAKEFILE), ("src/total.txt", "sum\n")]);
        let report = validator()
            .validate(dir.path(), &AppliedEdits::default(), ValidationLevel::Quick)
            .await;
        assert!(report.passed, "make check is a test stage: {report:#?}");
        assert!(report.checks.is_empty());

        struct Fails;
        #[async_trait]
        impl Validator for Fails {
            async fn validate(
                &self,
                _: &Path,
                _: &AppliedEdits,
                _: ValidationLevel,
            ) -> ValidationReport {
                ValidationReport::new("fails", vec![failed("first", "no".into(), Duration::ZERO)])
            }
        }
        let chain = Chain(vec![Arc::new(Fails), Arc::new(validator())]);
        let report = chain
            .validate(
                dir.path(),
                &AppliedEdits::default(),
                ValidationLevel::Standard,
            )
            .await;
        assert_eq!(report.method, "fails");
        assert_eq!(report.checks.len(), 1);
    }
}
