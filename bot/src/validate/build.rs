//! The repository's own commands at the route's validation level, run in the
//! [`Sandbox`]: from `.github/gitkeeper.yml` or detected (package manager
//! and scripts, Cargo, Python tools, `make check`). Each command is one
//! check; a failure's output tail is what the model reads next.
//!
//! With a [`ValidationCache`], the setup is copied from an earlier job with
//! the same lock files instead of run, and a base commit's outcomes are
//! reused by the next job on that commit. The cache is only ever filled from
//! the base commit, never from an attempt's files, and it can never fail a
//! validation: when it does not work the commands run as without it.

use std::collections::{BTreeSet, HashMap};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use gitkeeper::edits::AppliedEdits;
use gitkeeper::validate::{self as checks};

use super::cache::{self, BaselineOutcome, Saved, Snapshot, ValidationCache};
use super::policy::ValidationPolicy;
use super::sandbox::{Sandbox, SandboxCommand};
use super::{CheckResult, FAILED_BEFORE_SUFFIX, ValidationReport, Validator};
use crate::route::ValidationLevel;

/// A command's limit when the repository sets none.
pub const DEFAULT_COMMAND_TIMEOUT: Duration = Duration::from_secs(600);
/// All commands of one validation together, when the repository sets none.
pub const DEFAULT_TOTAL_TIMEOUT: Duration = Duration::from_secs(1800);
/// Most characters of a failed command's output fed back to a model (its end).
const MAX_FEEDBACK_CHARS: usize = 3000;
/// Characters of the dependency key shown in a report.
const KEY_PREFIX_CHARS: usize = 12;

/// Runs the repository's commands for the level: always the commands of
/// the plan it was made with (from the base commit), never ones read from
/// the work dir an attempt left.
pub struct BuildValidator {
    sandbox: Arc<dyn Sandbox>,
    plan: checks::CommandPlan,
    /// Variables the repository asked for that commands do not get, named
    /// in every report.
    withheld_env: Vec<String>,
    baseline: Option<Baseline>,
    cache: Option<Arc<ValidationCache>>,
}

impl BuildValidator {
    /// The commands of `policy`'s plan (made on the base commit, before any
    /// edit: an attempt may change `.github/gitkeeper.yml`, but never the
    /// checks judging it), run in `sandbox`.
    pub fn new(sandbox: Arc<dyn Sandbox>, policy: &ValidationPolicy) -> Self {
        Self {
            sandbox,
            plan: policy.plan().clone(),
            withheld_env: policy.env().withheld().to_vec(),
            baseline: None,
            cache: None,
        }
    }

    /// Reuse installs and base-commit outcomes of earlier jobs of the repository.
    pub fn with_cache(mut self, cache: ValidationCache) -> Self {
        self.cache = Some(Arc::new(cache));
        self
    }
}

fn failed(name: &str, detail: String, duration: Duration) -> CheckResult {
    CheckResult {
        name: name.into(),
        passed: false,
        detail,
        duration_ms: millis(duration),
        failed_before: false,
    }
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
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
    /// The command's place in the level's plan, when it ran to an end (an
    /// outcome worth remembering for the base commit).
    command: Option<usize>,
}

/// What every command of one validation shares.
struct Limits {
    deadline: Instant,
    per_command: Duration,
    /// Go on after a failure (the base commit: every outcome is wanted).
    keep_going: bool,
    /// Variables pointing commands at the repository's shared caches.
    env: Vec<(String, String)>,
    /// The repository's shared cache dirs: setup writes them, checks read them.
    shared: Vec<std::path::PathBuf>,
}

/// Whether the commands run on the base commit (whose setup may fill the
/// dependency cache) or on an attempt (which only ever reads it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum On {
    Base,
    Attempt,
}

/// Run blocking cache work off the runtime; a panic is an error like any other.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, cache::CacheError> + Send + 'static,
) -> Result<T, String> {
    match tokio::task::spawn_blocking(work).await {
        Ok(result) => result.map_err(|e| e.to_string()),
        Err(e) => Err(format!("the cache worker stopped: {e}")),
    }
}

impl BuildValidator {
    /// Run the plan (made on the base commit) on the work dir as it is,
    /// before the first attempt, and remember what already fails. With a
    /// cache and `base_commit`, a job on a commit an earlier job ran every
    /// check of (within [`cache::MAX_AGE`]) takes their outcomes instead of
    /// running.
    pub async fn baseline(
        &self,
        work_dir: &Path,
        level: ValidationLevel,
        base_commit: Option<&str>,
    ) -> Baseline {
        let plan = &self.plan;
        let commands = plan.for_level(level).commands;
        let remembered = match (&self.cache, base_commit) {
            (Some(cache), Some(commit)) => {
                let dependency_key = plan.dependency_cache_key();
                let keys: Vec<String> = commands
                    .iter()
                    .map(|c| cache::baseline_key(commit, dependency_key.as_deref(), c))
                    .collect();
                Some((cache.clone(), keys))
            }
            _ => None,
        };
        if let Some((cache, keys)) = &remembered {
            if let Some(failed) = cached_baseline(cache, &commands, keys).await {
                tracing::info!(
                    commit = base_commit.unwrap_or_default(),
                    "the base commit's outcomes come from the cache"
                );
                return Baseline { failed };
            }
        }
        let (_, runs) = self.run_level(work_dir, level, true, On::Base).await;
        if let Some((cache, keys)) = remembered {
            let outcomes: Vec<(String, BaselineOutcome)> = runs
                .iter()
                .filter_map(|r| {
                    let key = keys.get(r.command?)?.clone();
                    let error_lines = if r.result.passed {
                        BTreeSet::new()
                    } else {
                        error_lines(r.output.as_deref().unwrap_or(""))
                    };
                    let outcome =
                        BaselineOutcome::new(r.result.name.clone(), r.result.passed, error_lines);
                    Some((key, outcome))
                })
                .collect();
            let stored = blocking(move || {
                for (key, outcome) in outcomes {
                    cache.store_baseline_outcome(&key, &outcome)?;
                }
                cache.prune_baseline_outcomes();
                Ok(())
            })
            .await;
            if let Err(error) = stored {
                tracing::warn!(%error, "the base commit's outcomes were not cached");
            }
        }
        Baseline {
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

    /// The limits of one validation running `level_plan`, with the shared
    /// dependency caches prepared when there are commands to run.
    async fn limits(&self, level_plan: &checks::LevelPlan, keep_going: bool) -> Limits {
        let plan = &self.plan;
        let mut limits = Limits {
            deadline: Instant::now() + plan.total_timeout.unwrap_or(DEFAULT_TOTAL_TIMEOUT),
            per_command: plan.command_timeout.unwrap_or(DEFAULT_COMMAND_TIMEOUT),
            keep_going,
            env: Vec::new(),
            shared: Vec::new(),
        };
        if let Some(cache) = self
            .cache
            .clone()
            .filter(|_| !level_plan.commands.is_empty())
        {
            let shared = cache.clone();
            match blocking(move || shared.prepare()).await {
                Ok(()) => {
                    limits.env = cache.sandbox_env();
                    limits.shared = cache.shared_dirs();
                }
                Err(error) => {
                    tracing::warn!(%error, "commands run without the shared dependency caches");
                }
            }
        }
        limits
    }

    async fn run_level(
        &self,
        work_dir: &Path,
        level: ValidationLevel,
        keep_going: bool,
        on: On,
    ) -> (String, Vec<Ran>) {
        let method = format!("commands:{}", level.as_str());
        let plan = &self.plan;
        let level_plan = plan.for_level(level);
        let limits = self.limits(&level_plan, keep_going).await;
        let setups = setup_count(&level_plan);
        let (setup, rest) = level_plan.commands.split_at(setups);
        let mut runs = Vec::new();
        if self
            .setup(work_dir, plan, setup, on, &limits, &mut runs)
            .await
        {
            self.run_commands(work_dir, rest, setups, &limits, &mut runs)
                .await;
        }
        (method, runs)
    }

    /// The setup commands, or their result copied from the dependency cache;
    /// on the base commit a passing setup is saved there. False when the
    /// run stops here.
    async fn setup(
        &self,
        work_dir: &Path,
        plan: &checks::CommandPlan,
        setup: &[checks::Command],
        on: On,
        limits: &Limits,
        runs: &mut Vec<Ran>,
    ) -> bool {
        let cached = match &self.cache {
            Some(cache) if !setup.is_empty() && cache::setup_is_relocatable(setup) => {
                // The work dir's lock files now: an attempt may have changed them.
                let dir = work_dir.to_path_buf();
                let locks = blocking(move || Ok(checks::lock_files(&dir))).await;
                locks
                    .ok()
                    .and_then(|locks| plan.dependency_cache_key_with(&locks))
                    .map(|key| (cache.clone(), key))
            }
            _ => None,
        };
        let Some((cache, key)) = cached else {
            return self.run_commands(work_dir, setup, 0, limits, runs).await;
        };
        let started = Instant::now();
        let restore = {
            let (cache, key, dir) = (cache.clone(), key.clone(), work_dir.to_path_buf());
            blocking(move || cache.restore_dependencies(&key, &dir)).await
        };
        match restore {
            Ok(true) => {
                runs.push(Ran {
                    result: CheckResult {
                        name: format!(
                            "setup (cached: {})",
                            key.get(..KEY_PREFIX_CHARS).unwrap_or(&key)
                        ),
                        passed: true,
                        detail: String::new(),
                        duration_ms: millis(started.elapsed()),
                        failed_before: false,
                    },
                    output: None,
                    command: None,
                });
                return true;
            }
            Ok(false) => {}
            Err(error) => tracing::warn!(%error, "the setup runs instead of its cached result"),
        }
        let before = match on {
            On::Attempt => None,
            On::Base => {
                let dir = work_dir.to_path_buf();
                blocking(move || Snapshot::take(&dir))
                    .await
                    .inspect_err(|error| tracing::warn!(%error, "the setup will not be cached"))
                    .ok()
            }
        };
        let first = runs.len();
        let go_on = self.run_commands(work_dir, setup, 0, limits, runs).await;
        let all_passed =
            runs.len() - first == setup.len() && runs[first..].iter().all(|r| r.result.passed);
        if let Some(before) = before.filter(|_| all_passed) {
            let (dir, saving) = (work_dir.to_path_buf(), key.clone());
            match blocking(move || cache.save_dependencies(&saving, &dir, &before)).await {
                Ok(Saved::Stored) => tracing::info!(key, "the setup's result is cached"),
                Ok(Saved::AlreadyCached) => {}
                Err(error) => tracing::warn!(%error, "the setup's result is not cached"),
            }
        }
        go_on
    }

    /// Run `commands` (from position `offset` in the level's plan) in order;
    /// false when the run stopped (a failure, or the total time limit).
    async fn run_commands(
        &self,
        work_dir: &Path,
        commands: &[checks::Command],
        offset: usize,
        limits: &Limits,
        runs: &mut Vec<Ran>,
    ) -> bool {
        for (index, command) in commands.iter().enumerate() {
            let left = limits.deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                let result = failed(
                    &command.name,
                    "not run: the validation's total time limit was reached".into(),
                    Duration::ZERO,
                );
                runs.push(Ran {
                    result,
                    output: None,
                    command: None,
                });
                return false;
            }
            let timeout = command.timeout.unwrap_or(limits.per_command).min(left);
            let run = SandboxCommand {
                argv: command.argv.clone(),
                network: command.network,
                timeout,
                env: limits.env.clone(),
                // Installs fill the shared caches; checks only read them.
                writable: if command.network {
                    limits.shared.clone()
                } else {
                    Vec::new()
                },
                readable: if command.network {
                    Vec::new()
                } else {
                    limits.shared.clone()
                },
            };
            let ran = match self.sandbox.run(work_dir, &run).await {
                Ok(outcome) if outcome.passed() => Ran {
                    result: CheckResult {
                        name: command.name.clone(),
                        passed: true,
                        detail: String::new(),
                        duration_ms: millis(outcome.duration),
                        failed_before: false,
                    },
                    // Read for a test run that reports no test.
                    output: Some(outcome.output),
                    command: Some(offset + index),
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
                        command: Some(offset + index),
                    }
                }
                Err(e) => Ran {
                    result: failed(&command.name, e.to_string(), Duration::ZERO),
                    output: None,
                    command: None,
                },
            };
            let stop = !ran.result.passed && !limits.keep_going;
            runs.push(ran);
            // A failed install or check makes the rest meaningless.
            if stop {
                return false;
            }
        }
        true
    }

    /// A failure that also happened on the base commit does not fail the
    /// attempt when it prints no error line the base did not, but it is
    /// marked `failed_before` (never reported green); otherwise only the new
    /// lines are fed back.
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
            result.failed_before = true;
            result.name = format!("{}{FAILED_BEFORE_SUFFIX}", result.name);
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

/// How many of the level's commands, from the first, are setup.
fn setup_count(level_plan: &checks::LevelPlan) -> usize {
    level_plan
        .commands
        .iter()
        .take_while(|c| c.stage == checks::Stage::Setup)
        .count()
}

/// The base commit's failures from the cache, when every check of `commands`
/// has an outcome there (a setup's outcome counts when there is one): all or
/// nothing, since a check may need what an earlier one built.
async fn cached_baseline(
    cache: &Arc<ValidationCache>,
    commands: &[checks::Command],
    keys: &[String],
) -> Option<HashMap<String, BTreeSet<String>>> {
    if commands.iter().all(|c| c.stage == checks::Stage::Setup) {
        return None;
    }
    let lookups = {
        let (cache, keys) = (cache.clone(), keys.to_vec());
        blocking(move || {
            Ok(keys
                .iter()
                .map(|key| {
                    cache.baseline_outcome(key).unwrap_or_else(|error| {
                        tracing::warn!(%error, "a cached base-commit outcome is not used");
                        None
                    })
                })
                .collect::<Vec<_>>())
        })
        .await
        .ok()?
    };
    let mut failed = HashMap::new();
    for (command, outcome) in commands.iter().zip(lookups) {
        match outcome {
            Some(outcome) if !outcome.passed => {
                failed.insert(command.name.clone(), outcome.error_lines);
            }
            Some(_) => {}
            None if command.stage == checks::Stage::Setup => {}
            None => return None,
        }
    }
    Some(failed)
}

#[async_trait]
impl Validator for BuildValidator {
    async fn validate(
        &self,
        work_dir: &Path,
        applied: &AppliedEdits,
        level: ValidationLevel,
    ) -> ValidationReport {
        let keep_going = self.baseline.is_some();
        let (method, runs) = self
            .run_level(work_dir, level, keep_going, On::Attempt)
            .await;
        let mut results = Vec::new();
        let mut outputs = Vec::new();
        for ran in runs {
            if let (Some(i), Some(output)) = (ran.command, &ran.output) {
                outputs.push((i, output.clone()));
            }
            let result = self.judge(ran);
            let stop = !result.passed;
            results.push(result);
            if stop {
                break;
            }
        }
        let report = ValidationReport::new(method, results).with_withheld_env(&self.withheld_env);
        if !report.passed {
            return report;
        }
        let commands = self.plan.for_level(level).commands;
        let (dir, applied) = (work_dir.to_path_buf(), applied.clone());
        let reasons = tokio::task::spawn_blocking(move || {
            super::proof::unproven(&dir, &applied, &commands, &outputs)
        })
        .await
        .unwrap_or_else(|e| {
            vec![format!(
                "whether the checks reach the change is unknown: {e}"
            )]
        });
        report.with_unproven(&reasons)
    }

    fn check_names(&self, level: ValidationLevel) -> Vec<String> {
        self.plan
            .for_level(level)
            .commands
            .into_iter()
            .filter(|c| c.stage != checks::Stage::Setup)
            .map(|c| c.name)
            .collect()
    }

    /// The level's setup (cached where it can be), then the one check,
    /// judged against the base commit like in [`Validator::validate`]; a
    /// failed setup is the answer when the check could not run.
    async fn run_check(
        &self,
        work_dir: &Path,
        name: &str,
        level: ValidationLevel,
    ) -> Option<CheckResult> {
        let level_plan = self.plan.for_level(level);
        let index = level_plan
            .commands
            .iter()
            .position(|c| c.name == name && c.stage != checks::Stage::Setup)?;
        let limits = self.limits(&level_plan, false).await;
        let setups = setup_count(&level_plan);
        let mut runs = Vec::new();
        let setup = &level_plan.commands[..setups];
        if self
            .setup(work_dir, &self.plan, setup, On::Attempt, &limits, &mut runs)
            .await
        {
            let command = &level_plan.commands[index..=index];
            self.run_commands(work_dir, command, index, &limits, &mut runs)
                .await;
        }
        runs.pop().map(|ran| self.judge(ran))
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
        let mut withheld = Vec::new();
        let mut notes = Vec::new();
        let mut unproven = Vec::new();
        for validator in &self.0 {
            let report = validator.validate(work_dir, applied, level).await;
            methods.push(report.method);
            all.extend(report.checks);
            withheld.extend(report.withheld_env);
            notes.extend(report.notes);
            unproven.extend(report.unproven);
            if !report.passed {
                break;
            }
        }
        ValidationReport::new(methods.join("+"), all)
            .with_withheld_env(&withheld)
            .with_notes(&notes)
            .with_unproven(&unproven)
    }

    fn check_names(&self, level: ValidationLevel) -> Vec<String> {
        let mut names = Vec::new();
        for validator in &self.0 {
            for name in validator.check_names(level) {
                if !names.contains(&name) {
                    names.push(name);
                }
            }
        }
        names
    }

    async fn run_check(
        &self,
        work_dir: &Path,
        name: &str,
        level: ValidationLevel,
    ) -> Option<CheckResult> {
        for validator in &self.0 {
            if let Some(result) = validator.run_check(work_dir, name, level).await {
                return Some(result);
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::validate::policy::EnvPolicy;
    use crate::validate::sandbox::{
        CommandOutcome, DEFAULT_OUTPUT_CAP, Isolation, ProcessSandbox, SandboxError,
    };

    fn repo(files: &[(&str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for (path, content) in files {
            let full = dir.path().join(path);
            std::fs::create_dir_all(full.parent().unwrap()).unwrap();
            std::fs::write(full, content).unwrap();
        }
        dir
    }

    /// The policy of a task on `dir` as it is now (the base).
    fn policy(dir: &Path) -> ValidationPolicy {
        let validate = crate::config::ValidateSettings {
            isolation: crate::config::IsolationSetting::None,
            pass_env: Vec::new(),
        };
        let plan = checks::plan_commands(dir).unwrap();
        let doc = gitkeeper::context::GitkeeperDoc::default();
        ValidationPolicy::new(&validate, Vec::new(), plan, &doc, Isolation::None).unwrap()
    }

    /// A validator with the commands planned on `dir` as it is now (the base).
    fn validator(dir: &Path) -> BuildValidator {
        BuildValidator::new(
            Arc::new(ProcessSandbox::new(
                Isolation::detected_for_tests(),
                &EnvPolicy::default(),
                DEFAULT_OUTPUT_CAP,
            )),
            &policy(dir),
        )
    }

    const MAKEFILE: &str = "check:\n\t@grep -q 'tax' src/total.txt || (echo 'src/total.txt: tax is missing' && exit 1)\n";

    #[tokio::test]
    async fn the_detected_make_check_runs_and_its_failure_is_fed_back() {
        let dir = repo(&[("Makefile", MAKEFILE), ("src/total.txt", "sum\n")]);
        let report = validator(dir.path())
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
        let report = validator(dir.path())
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
        let report = validator(dir.path())
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
        let report = validator(dir.path())
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

    #[tokio::test]
    async fn one_planned_check_runs_alone_on_the_work_dir_as_it_is() {
        let dir = repo(&[("Makefile", MAKEFILE), ("src/total.txt", "sum\n")]);
        let build = validator(dir.path());
        assert_eq!(build.check_names(ValidationLevel::Standard), ["make check"]);
        assert!(build.check_names(ValidationLevel::Quick).is_empty());
        let failed = build
            .run_check(dir.path(), "make check", ValidationLevel::Standard)
            .await
            .unwrap();
        assert!(!failed.passed);
        assert!(
            failed.detail.contains("tax is missing"),
            "{}",
            failed.detail
        );
        std::fs::write(dir.path().join("src/total.txt"), "sum + tax\n").unwrap();
        let passed = build
            .run_check(dir.path(), "make check", ValidationLevel::Standard)
            .await
            .unwrap();
        assert!(passed.passed, "{passed:?}");
        // Only the plan's checks: not another command, not one of another level.
        assert_eq!(
            build
                .run_check(dir.path(), "rm -rf /", ValidationLevel::Standard)
                .await,
            None
        );
        assert_eq!(
            build
                .run_check(dir.path(), "make check", ValidationLevel::Quick)
                .await,
            None
        );
        let chain = Chain(vec![
            Arc::new(crate::validate::EditsValidator),
            Arc::new(build),
        ]);
        assert_eq!(chain.check_names(ValidationLevel::Standard), ["make check"]);
        assert!(
            chain
                .run_check(dir.path(), "make check", ValidationLevel::Standard)
                .await
                .is_some_and(|r| r.passed)
        );
    }

    const NOISY: &str = "check:\n\t@cat errors.txt; test ! -s errors.txt\n";

    #[tokio::test]
    async fn failures_already_on_the_base_commit_do_not_fail_an_attempt() {
        let dir = repo(&[
            ("Makefile", NOISY),
            ("errors.txt", "error: flaky network test timed out\n"),
        ]);
        let build = validator(dir.path());
        let baseline = build
            .baseline(dir.path(), ValidationLevel::Standard, None)
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
        // …and never green: it is marked as proving nothing.
        assert!(report.checks[0].failed_before, "{report:#?}");
        assert_eq!(report.checks[0].command(), "make check");
        assert_eq!(report.failing_before().len(), 1);
        assert!(
            report.summary().starts_with("⚠ make check"),
            "{}",
            report.summary()
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
        assert!(!report.checks[0].failed_before, "a new error is a failure");
        let detail = &report.checks[0].detail;
        assert!(
            detail.contains("already failed before this change"),
            "{detail}"
        );
        assert!(detail.contains("TS2304"), "{detail}");
        assert!(!detail.contains("flaky network"), "{detail}");
    }

    /// An attempt that drops the tax and rewrites the base's check into one
    /// that passes, validated with or without a baseline.
    async fn an_attempt_rewriting_its_check(with_baseline: bool) -> ValidationReport {
        let dir = repo(&[
            (
                ".github/gitkeeper.yml",
                "validate:\n  setup: []\n  checks:\n    - run: grep -q tax src/total.txt\n      stage: test\n",
            ),
            ("src/total.txt", "sum + tax\n"),
        ]);
        let mut build = validator(dir.path());
        if with_baseline {
            let baseline = build
                .baseline(dir.path(), ValidationLevel::Standard, None)
                .await;
            build = build.with_baseline(baseline);
        }
        std::fs::write(dir.path().join("src/total.txt"), "sum\n").unwrap();
        std::fs::write(
            dir.path().join(".github/gitkeeper.yml"),
            "validate:\n  setup: []\n  checks:\n    - run: \"true\"\n      stage: test\n",
        )
        .unwrap();
        build
            .validate(
                dir.path(),
                &AppliedEdits::default(),
                ValidationLevel::Standard,
            )
            .await
    }

    #[tokio::test]
    async fn an_attempt_is_judged_by_the_base_commits_commands_not_its_own() {
        let report = an_attempt_rewriting_its_check(true).await;
        assert!(!report.passed, "{report:#?}");
        assert_eq!(report.checks[0].name, "grep -q tax src/total.txt");
    }

    #[tokio::test]
    async fn without_a_baseline_the_attempt_is_still_judged_by_the_base_plan() {
        let report = an_attempt_rewriting_its_check(false).await;
        assert!(!report.passed, "{report:#?}");
        assert_eq!(report.checks[0].name, "grep -q tax src/total.txt");
    }

    #[tokio::test]
    async fn a_clean_base_keeps_every_failure_an_attempt_causes() {
        let dir = repo(&[("Makefile", NOISY), ("errors.txt", "")]);
        let build = validator(dir.path());
        let baseline = build
            .baseline(dir.path(), ValidationLevel::Standard, None)
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
        let report = validator(dir.path())
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
        let chain = Chain(vec![Arc::new(Fails), Arc::new(validator(dir.path()))]);
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

    /// The real sandbox, counting what it is asked to run.
    struct Counting {
        inner: ProcessSandbox,
        ran: std::sync::Mutex<Vec<String>>,
    }

    impl Counting {
        fn new() -> Arc<Self> {
            Arc::new(Self {
                inner: ProcessSandbox::new(
                    Isolation::detected_for_tests(),
                    &EnvPolicy::default(),
                    DEFAULT_OUTPUT_CAP,
                ),
                ran: Default::default(),
            })
        }

        /// How often a command whose arguments contain `word` ran.
        fn times(&self, word: &str) -> usize {
            let ran = self.ran.lock().unwrap();
            ran.iter().filter(|argv| argv.contains(word)).count()
        }
    }

    #[async_trait]
    impl Sandbox for Counting {
        async fn run(
            &self,
            work_dir: &Path,
            command: &SandboxCommand,
        ) -> Result<CommandOutcome, SandboxError> {
            self.ran.lock().unwrap().push(command.argv.join(" "));
            self.inner.run(work_dir, command).await
        }
    }

    /// One job of `acme/shop`: a checkout of `files`, its baseline on
    /// `commit`, and the validation of an attempt that changed nothing.
    struct Job {
        dir: tempfile::TempDir,
        sandbox: Arc<Counting>,
        build: BuildValidator,
    }

    async fn job(cache_root: &Path, files: &[(&str, &str)], commit: Option<&str>) -> Job {
        let dir = repo(files);
        let sandbox = Counting::new();
        let cache = ValidationCache::new(cache_root, "acme", "shop").unwrap();
        let build = BuildValidator::new(sandbox.clone(), &policy(dir.path())).with_cache(cache);
        let baseline = build
            .baseline(dir.path(), ValidationLevel::Standard, commit)
            .await;
        Job {
            dir,
            sandbox,
            build: build.with_baseline(baseline),
        }
    }

    impl Job {
        async fn validate(&self) -> ValidationReport {
            self.build
                .validate(
                    self.dir.path(),
                    &AppliedEdits::default(),
                    ValidationLevel::Standard,
                )
                .await
        }
    }

    const INSTALLING: &str = "validate:\n  setup:\n    - sh -c 'mkdir -p node_modules/left-pad && echo installed > node_modules/left-pad/index.js && echo installing-left-pad'\n  checks:\n    - run: sh -c 'grep -q installed node_modules/left-pad/index.js'\n      name: uses left-pad\n      stage: test\n";

    fn shop(lock: &'static str) -> [(&'static str, &'static str); 3] {
        [
            (".github/gitkeeper.yml", INSTALLING),
            ("package.json", "{\"name\":\"shop\"}"),
            ("package-lock.json", lock),
        ]
    }

    #[tokio::test]
    async fn a_second_job_with_the_same_lock_file_restores_the_install_instead_of_running_it() {
        let cache = tempfile::tempdir().unwrap();
        let first = job(cache.path(), &shop("{\"v\":1}"), Some("c1")).await;
        assert_eq!(first.sandbox.times("installing-left-pad"), 1);

        let second = job(cache.path(), &shop("{\"v\":1}"), Some("c2")).await;
        let report = second.validate().await;
        assert!(report.passed, "{report:#?}");
        assert_eq!(second.sandbox.times("installing-left-pad"), 0);
        assert!(second.sandbox.times("grep -q installed") >= 1);
        assert!(
            report.checks[0].name.starts_with("setup (cached: ") && report.checks[0].passed,
            "{report:#?}"
        );
        assert_eq!(report.checks[1].name, "uses left-pad");
        assert_eq!(
            std::fs::read_to_string(second.dir.path().join("node_modules/left-pad/index.js"))
                .unwrap(),
            "installed\n"
        );
    }

    #[tokio::test]
    async fn a_changed_lock_file_runs_the_setup_again() {
        let cache = tempfile::tempdir().unwrap();
        job(cache.path(), &shop("{\"v\":1}"), Some("c1")).await;
        let bumped = job(cache.path(), &shop("{\"v\":2}"), Some("c2")).await;
        assert_eq!(bumped.sandbox.times("installing-left-pad"), 1);

        // An attempt that changes the lock file installs again, from its own files.
        let same = job(cache.path(), &shop("{\"v\":1}"), Some("c3")).await;
        assert_eq!(same.sandbox.times("installing-left-pad"), 0);
        std::fs::write(same.dir.path().join("package-lock.json"), "{\"v\":3}").unwrap();
        let report = same.validate().await;
        assert!(report.passed, "{report:#?}");
        assert_eq!(report.checks[0].name, INSTALLING_NAME);
        assert_eq!(same.sandbox.times("installing-left-pad"), 1);
        // What an attempt installed is never saved.
        let lock_three = job(cache.path(), &shop("{\"v\":3}"), Some("c4")).await;
        assert_eq!(lock_three.sandbox.times("installing-left-pad"), 1);
    }

    const INSTALLING_NAME: &str = "sh -c 'mkdir -p node_modules/left-pad && echo installed > node_modules/left-pad/index.js && echo installing-left-pad'";

    #[tokio::test]
    async fn a_failed_setup_is_not_cached() {
        let cache = tempfile::tempdir().unwrap();
        let config = "validate:\n  setup:\n    - sh -c 'mkdir -p node_modules/half && echo registry-down && exit 1'\n  checks:\n    - run: sh -c 'test -d node_modules/half'\n      stage: test\n";
        let files = [
            (".github/gitkeeper.yml", config),
            ("package.json", "{}"),
            ("package-lock.json", "{}"),
        ];
        let first = job(cache.path(), &files, Some("c1")).await;
        assert_eq!(first.sandbox.times("registry-down"), 1);
        let second = job(cache.path(), &files, Some("c2")).await;
        assert_eq!(second.sandbox.times("registry-down"), 1);
        let deps = cache.path().join("deps/acme/shop");
        let entries = std::fs::read_dir(&deps).map_or(0, |d| d.count());
        assert_eq!(entries, 0, "nothing under {}", deps.display());
    }

    #[tokio::test]
    async fn a_second_baseline_on_the_same_commit_runs_nothing() {
        let cache = tempfile::tempdir().unwrap();
        let config = "validate:\n  setup: []\n  checks:\n    - run: sh -c 'echo typecheck-ran'\n      stage: typecheck\n    - run: sh -c 'echo the flaky test hit an error; exit 1'\n      name: flaky test\n      stage: test\n";
        let files = [(".github/gitkeeper.yml", config)];
        let first = job(cache.path(), &files, Some("c1")).await;
        assert_eq!(first.sandbox.times("typecheck-ran"), 1);

        let again = job(cache.path(), &files, Some("c1")).await;
        assert_eq!(again.sandbox.ran.lock().unwrap().len(), 0);
        // The cached failure is still pre-existing for the attempts.
        assert_eq!(
            again.build.baseline.as_ref().unwrap().failing(),
            vec!["flaky test"]
        );
        let report = again.validate().await;
        assert!(report.passed, "{report:#?}");
        assert_eq!(
            report.checks[1].name,
            "flaky test (failed before this change too)"
        );

        let other_commit = job(cache.path(), &files, Some("c2")).await;
        assert_eq!(other_commit.sandbox.times("typecheck-ran"), 1);
        let unknown_commit = job(cache.path(), &files, None).await;
        assert_eq!(unknown_commit.sandbox.times("typecheck-ran"), 1);
    }
}
