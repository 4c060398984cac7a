//! The repository's own commands at the route's validation level, run in the
//! [`Sandbox`]: from `.github/gitkeeper.yml` or detected (package manager
//! and scripts, Cargo, Python tools, `make check`). Each command is one
//! check; a failure's output tail is what the model reads next.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use gitkeeper::edits::AppliedEdits;
use gitkeeper::validate::{self as checks, ValidationLevel as Level};

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
}

impl BuildValidator {
    pub fn new(sandbox: Arc<dyn Sandbox>) -> Self {
        Self { sandbox }
    }
}

/// The route's level as the command planner names it.
pub fn planner_level(level: ValidationLevel) -> Level {
    match level {
        ValidationLevel::Syntax => Level::Quick,
        ValidationLevel::Tests => Level::Standard,
        ValidationLevel::Semantic => Level::Complex,
        ValidationLevel::Full => Level::Critical,
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

#[async_trait]
impl Validator for BuildValidator {
    async fn validate(
        &self,
        work_dir: &Path,
        _applied: &AppliedEdits,
        level: ValidationLevel,
    ) -> ValidationReport {
        let method = format!("commands:{}", planner_level(level).as_str());
        let plan = match checks::plan_commands(work_dir) {
            Ok(plan) => plan,
            Err(e) => {
                return ValidationReport::new(
                    method,
                    vec![failed("validation commands", e.to_string(), Duration::ZERO)],
                );
            }
        };
        let level_plan = plan.for_level(planner_level(level));
        let per_command = plan.command_timeout.unwrap_or(DEFAULT_COMMAND_TIMEOUT);
        let deadline = Instant::now() + plan.total_timeout.unwrap_or(DEFAULT_TOTAL_TIMEOUT);
        let mut results = Vec::new();
        for command in &level_plan.commands {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                results.push(failed(
                    &command.name,
                    "not run: the validation's total time limit was reached".into(),
                    Duration::ZERO,
                ));
                break;
            }
            let timeout = command.timeout.unwrap_or(per_command).min(left);
            let run = SandboxCommand {
                argv: command.argv.clone(),
                network: command.network,
                timeout,
            };
            let result = match self.sandbox.run(work_dir, &run).await {
                Ok(outcome) if outcome.passed() => CheckResult {
                    name: command.name.clone(),
                    passed: true,
                    detail: String::new(),
                    duration_ms: u64::try_from(outcome.duration.as_millis()).unwrap_or(u64::MAX),
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
                    failed(
                        &command.name,
                        format!(
                            "{why}:\n{}",
                            tail(outcome.output.trim_end(), MAX_FEEDBACK_CHARS)
                        ),
                        outcome.duration,
                    )
                }
                Err(e) => failed(&command.name, e.to_string(), Duration::ZERO),
            };
            let stop = !result.passed;
            results.push(result);
            // A failed install or check makes the rest meaningless.
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
            .validate(dir.path(), &AppliedEdits::default(), ValidationLevel::Tests)
            .await;
        assert!(!report.passed);
        assert_eq!(report.method, "commands:standard");
        let errors = report.errors().join("\n");
        assert!(errors.contains("`make check` exited with 2"), "{errors}");
        assert!(errors.contains("tax is missing"), "{errors}");

        std::fs::write(dir.path().join("src/total.txt"), "sum + tax\n").unwrap();
        let report = validator()
            .validate(dir.path(), &AppliedEdits::default(), ValidationLevel::Tests)
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
            .validate(dir.path(), &AppliedEdits::default(), ValidationLevel::Tests)
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
            .validate(dir.path(), &AppliedEdits::default(), ValidationLevel::Tests)
            .await;
        assert!(!report.passed);
        assert!(
            report.checks[0].detail.contains("did not finish within 1s"),
            "{report:#?}"
        );
    }

    #[tokio::test]
    async fn the_quick_level_runs_no_build_and_the_chain_stops_early() {
        let dir = repo(&[("Makefile", MAKEFILE), ("src/total.txt", "sum\n")]);
        let report = validator()
            .validate(
                dir.path(),
                &AppliedEdits::default(),
                ValidationLevel::Syntax,
            )
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
            .validate(dir.path(), &AppliedEdits::default(), ValidationLevel::Tests)
            .await;
        assert_eq!(report.method, "fails");
        assert_eq!(report.checks.len(), 1);
    }
}
