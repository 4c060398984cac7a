//! Which commands prove a change in this repository: the ones
//! `.github/gitkeeper.yml` lists, otherwise the ones its manifests imply
//! (package.json scripts with the package manager its lock file names,
//! Cargo, Python tools configured in pyproject.toml, a Makefile `check`
//! target), each typed by stage and by whether it needs the network, and the
//! validation level that picks which of them run. Pure: it reads files and
//! never runs anything.

use std::fmt;
use std::io::{self, Read};
use std::path::Path;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::config::{self, CONFIG_PATH, ConfigError, ConfiguredCommand, ValidateConfig};
use crate::SharedIoError;
use crate::context::manifest::{self, ManagerSource, Manifest, PackageManager};
use crate::context::read::{RepoRoot, Skip};

/// What a command proves, in the order they run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    /// Installs dependencies (the only stage with network access).
    Setup,
    /// Parses the changed files.
    Syntax,
    /// Compiles or type-checks.
    Typecheck,
    /// Runs the linters.
    Lint,
    /// Builds the project.
    Build,
    /// Runs the tests.
    Test,
}

impl Stage {
    /// The name used in configuration and reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Setup => "setup",
            Stage::Syntax => "syntax",
            Stage::Typecheck => "typecheck",
            Stage::Lint => "lint",
            Stage::Build => "build",
            Stage::Test => "test",
        }
    }

    /// The stage a command most likely belongs to, from its words (used for
    /// configured checks that name none): `tsc`/`typecheck`/`mypy` → typecheck,
    /// `lint`/`eslint`/`ruff`/`clippy` → lint, `build` → build, otherwise test.
    pub fn infer(argv: &[String]) -> Stage {
        let words: Vec<String> = argv
            .iter()
            .flat_map(|a| {
                a.split(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_'))
                    .map(str::to_ascii_lowercase)
                    .collect::<Vec<_>>()
            })
            .collect();
        let has = |names: &[&str]| words.iter().any(|w| names.contains(&w.as_str()));
        if has(&[
            "typecheck",
            "type-check",
            "tsc",
            "mypy",
            "pyright",
            "check",
            "vue-tsc",
        ]) {
            Stage::Typecheck
        } else if has(&[
            "lint",
            "eslint",
            "ruff",
            "clippy",
            "biome",
            "prettier",
            "stylelint",
        ]) {
            Stage::Lint
        } else if has(&["build"]) {
            Stage::Build
        } else {
            Stage::Test
        }
    }
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How thoroughly a change is validated (seed 004, "Verifiable Outcomes").
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ValidationLevel {
    /// Quick edits: syntax only (`syntax` in a route's config).
    #[serde(alias = "syntax")]
    Quick,
    /// Standard development: syntax, compilation and tests (`tests`).
    #[serde(alias = "tests")]
    Standard,
    /// Complex work: standard plus the semantic (model) checker (`semantic`).
    #[serde(alias = "semantic")]
    Complex,
    /// Critical work: every stage, the checker, and a human review label (`full`).
    #[serde(alias = "full")]
    Critical,
}

impl ValidationLevel {
    /// The level's name in configuration and reports.
    pub fn as_str(self) -> &'static str {
        match self {
            ValidationLevel::Quick => "quick",
            ValidationLevel::Standard => "standard",
            ValidationLevel::Complex => "complex",
            ValidationLevel::Critical => "critical",
        }
    }

    /// The stages whose commands run at this level.
    pub fn stages(self) -> &'static [Stage] {
        match self {
            ValidationLevel::Quick => &[Stage::Syntax],
            ValidationLevel::Standard | ValidationLevel::Complex => {
                &[Stage::Syntax, Stage::Typecheck, Stage::Test]
            }
            ValidationLevel::Critical => &[
                Stage::Syntax,
                Stage::Typecheck,
                Stage::Lint,
                Stage::Build,
                Stage::Test,
            ],
        }
    }

    /// True when the semantic checker (a second model) must approve.
    pub fn semantic_check(self) -> bool {
        self >= ValidationLevel::Complex
    }

    /// True when the pull request must carry the human review label.
    pub fn human_review(self) -> bool {
        self == ValidationLevel::Critical
    }
}

impl std::str::FromStr for ValidationLevel {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "quick" => Ok(ValidationLevel::Quick),
            "standard" => Ok(ValidationLevel::Standard),
            "complex" => Ok(ValidationLevel::Complex),
            "critical" => Ok(ValidationLevel::Critical),
            other => Err(format!(
                "`{other}` is not a validation level; use quick, standard, complex or critical"
            )),
        }
    }
}

/// Where a command came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "from", content = "detail")]
pub enum Origin {
    /// Listed in `.github/gitkeeper.yml`.
    Config,
    /// Detected; the detail says from what (`package.json script "lint"`).
    Detected(String),
}

/// One command to run in the work directory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Command {
    /// What it proves.
    pub stage: Stage,
    /// Program and arguments (never through a shell unless written as `sh -c`).
    pub argv: Vec<String>,
    /// True for setup commands only: they may reach package registries.
    pub network: bool,
    /// A label for reports (`npm run lint`, or the configured `name`).
    pub name: String,
    /// Its own time limit, when configured.
    pub timeout: Option<Duration>,
    /// Configured or detected, and from what.
    pub origin: Origin,
}

impl Command {
    fn detected(stage: Stage, argv: &[&str], why: impl Into<String>) -> Self {
        let argv: Vec<String> = argv.iter().map(|s| s.to_string()).collect();
        Self {
            stage,
            name: argv.join(" "),
            network: stage == Stage::Setup,
            argv,
            timeout: None,
            origin: Origin::Detected(why.into()),
        }
    }

    fn configured(c: &ConfiguredCommand, setup: bool) -> Self {
        let stage = if setup {
            Stage::Setup
        } else {
            c.stage
                .filter(|s| *s != Stage::Setup)
                .unwrap_or_else(|| Stage::infer(&c.argv))
        };
        Self {
            stage,
            argv: c.argv.clone(),
            network: setup,
            name: c.name.clone().unwrap_or_else(|| c.text.clone()),
            timeout: c.timeout,
            origin: Origin::Config,
        }
    }
}

/// A lock file and the SHA-256 of its bytes, for keying dependency caches.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockFile {
    /// Repository-relative path.
    pub path: String,
    /// Lowercase hex SHA-256 of the file.
    pub sha256: String,
}

/// Where the plan's commands came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PlanSource {
    /// `.github/gitkeeper.yml` listed them.
    Config,
    /// Detected from the repository's manifests.
    Detected,
}

/// Every command that could validate a change, before a level is chosen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommandPlan {
    /// Install commands, in order (network allowed).
    pub setup: Vec<Command>,
    /// Check commands, in order (no network).
    pub checks: Vec<Command>,
    /// Time limit per command, when configured.
    pub command_timeout: Option<Duration>,
    /// Time limit for all commands together, when configured.
    pub total_timeout: Option<Duration>,
    /// Environment variables the repository allows into the sandbox.
    pub env: Vec<String>,
    /// Configured or detected.
    pub source: PlanSource,
    /// Lock files present, with their hashes.
    pub lock_files: Vec<LockFile>,
    /// Things worth telling a maintainer (no lock file, several lock files, …).
    pub notes: Vec<String>,
}

/// The commands that run at one validation level.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LevelPlan {
    /// The level.
    pub level: ValidationLevel,
    /// Setup then checks, in run order; setup only when a check runs.
    pub commands: Vec<Command>,
    /// True when the semantic checker must approve too.
    pub semantic_check: bool,
    /// True when the pull request gets the human review label.
    pub human_review: bool,
}

impl CommandPlan {
    /// The commands for `level`: the checks of its stages, preceded by setup
    /// when at least one check runs.
    pub fn for_level(&self, level: ValidationLevel) -> LevelPlan {
        let stages = level.stages();
        let checks: Vec<Command> = self
            .checks
            .iter()
            .filter(|c| stages.contains(&c.stage))
            .cloned()
            .collect();
        let mut commands = Vec::new();
        if !checks.is_empty() {
            commands.extend(self.setup.iter().cloned());
        }
        commands.extend(checks);
        LevelPlan {
            level,
            commands,
            semantic_check: level.semantic_check(),
            human_review: level.human_review(),
        }
    }

    /// One key for the dependency cache: SHA-256 over every lock file's path
    /// and hash and the setup commands (a changed install command invalidates
    /// the cache too); `None` without lock files, which makes caching unsafe.
    pub fn dependency_cache_key(&self) -> Option<String> {
        self.dependency_cache_key_with(&self.lock_files)
    }

    /// [`Self::dependency_cache_key`] with `lock_files` instead of the
    /// plan's own: the key of a work dir whose lock files changed since the
    /// plan was made (an attempt that adds a dependency), see [`lock_files`].
    pub fn dependency_cache_key_with(&self, lock_files: &[LockFile]) -> Option<String> {
        if lock_files.is_empty() {
            return None;
        }
        let mut hasher = Sha256::new();
        for lock in lock_files {
            hasher.update(lock.path.as_bytes());
            hasher.update([0]);
            hasher.update(lock.sha256.as_bytes());
            hasher.update([0]);
        }
        for c in &self.setup {
            for a in &c.argv {
                hasher.update(a.as_bytes());
                hasher.update([0]);
            }
            hasher.update([1]);
        }
        Some(hex(&hasher.finalize()))
    }
}

/// Why the commands could not be worked out. `Clone` (the I/O error is
/// shared) because a validator reports the same failure on every attempt.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CommandsError {
    /// The repository configuration is invalid.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The work directory cannot be read.
    #[error("cannot read work directory {dir}: {source}; check that the checkout exists")]
    WorkDir {
        /// The directory.
        dir: String,
        /// Why it could not be opened (missing, not a directory, no permission).
        #[source]
        source: SharedIoError,
    },
}

impl CommandsError {
    fn work_dir(work_dir: &Path, source: io::Error) -> Self {
        CommandsError::WorkDir {
            dir: work_dir.display().to_string(),
            source: source.into(),
        }
    }
}

/// Largest manifest (package.json, pyproject.toml, Makefile) read.
const MAX_MANIFEST_BYTES: u64 = 1024 * 1024;

/// Lock files whose hashes key the dependency cache.
const HASHED_LOCK_FILES: &[&str] = &[
    "package-lock.json",
    "npm-shrinkwrap.json",
    "pnpm-lock.yaml",
    "yarn.lock",
    "bun.lock",
    "bun.lockb",
    "Cargo.lock",
    "uv.lock",
    "poetry.lock",
    "Pipfile.lock",
];

/// Works out the repository's validation commands from the checkout at
/// `work_dir`: `.github/gitkeeper.yml` when it has `validate.checks`,
/// detection otherwise.
pub fn plan_commands(work_dir: &Path) -> Result<CommandPlan, CommandsError> {
    let root = RepoRoot::new(work_dir).map_err(|e| CommandsError::work_dir(work_dir, e))?;
    let config = load_config(&root)?;
    let lock_files = hash_lock_files(&root);
    let Some(cfg) = config else {
        let mut plan = detect(&root);
        plan.lock_files = lock_files;
        return Ok(plan);
    };
    let configured = |list: &[ConfiguredCommand], setup: bool| -> Vec<Command> {
        list.iter().map(|c| Command::configured(c, setup)).collect()
    };
    let use_config_checks = !cfg.checks.is_empty() || cfg.detect == Some(false);
    // Detection fills what the file leaves out: the checks when none are
    // listed, the setup when the `setup` key is absent.
    let detected = (!use_config_checks || cfg.setup.is_none()).then(|| detect(&root));
    let mut plan = CommandPlan {
        setup: match (&cfg.setup, &detected) {
            (Some(setup), _) => configured(setup, true),
            (None, Some(d)) => d.setup.clone(),
            (None, None) => Vec::new(),
        },
        checks: match &detected {
            Some(d) if !use_config_checks => d.checks.clone(),
            _ => configured(&cfg.checks, false),
        },
        command_timeout: cfg.timeout,
        total_timeout: cfg.total_timeout,
        env: cfg.env,
        source: if use_config_checks {
            PlanSource::Config
        } else {
            PlanSource::Detected
        },
        lock_files: Vec::new(),
        notes: detected
            .filter(|_| !use_config_checks)
            .map(|d| d.notes)
            .unwrap_or_default(),
    };
    plan.lock_files = lock_files;
    Ok(plan)
}

/// Reads `.github/gitkeeper.yml`; `Ok(None)` when absent or without `validate:`.
pub fn load_config_file(work_dir: &Path) -> Result<Option<ValidateConfig>, CommandsError> {
    let root = RepoRoot::new(work_dir).map_err(|e| CommandsError::work_dir(work_dir, e))?;
    Ok(load_config(&root)?)
}

/// The repository's context paths from `.github/gitkeeper.yml` put over
/// `options` (the bot's defaults); `options` unchanged when there is no file
/// or no `context:` section.
pub fn repo_context_options(
    work_dir: &Path,
    options: crate::context::ContextOptions,
) -> Result<crate::context::ContextOptions, CommandsError> {
    let root = RepoRoot::new(work_dir).map_err(|e| CommandsError::work_dir(work_dir, e))?;
    match read_config_text(&root)? {
        Some((path, text)) => Ok(match config::parse_context_config(path, &text)? {
            Some(context) => context.apply(options),
            None => options,
        }),
        None => Ok(options),
    }
}

fn load_config(root: &RepoRoot) -> Result<Option<ValidateConfig>, ConfigError> {
    match read_config_text(root)? {
        Some((path, text)) => config::parse_config(path, &text),
        None => Ok(None),
    }
}

/// The repository's `privacy.local_only_paths` from `.github/gitkeeper.yml`
/// (empty when there is no file or no `privacy:` section).
pub fn repo_local_only_paths(work_dir: &Path) -> Result<Vec<String>, CommandsError> {
    let root = RepoRoot::new(work_dir).map_err(|e| CommandsError::work_dir(work_dir, e))?;
    match read_config_text(&root)? {
        Some((path, text)) => Ok(config::parse_privacy_config(path, &text)?
            .map(|p| p.local_only_paths)
            .unwrap_or_default()),
        None => Ok(Vec::new()),
    }
}

/// The first of `.github/gitkeeper.yml` / `.yaml` and its text.
fn read_config_text(root: &RepoRoot) -> Result<Option<(&'static str, String)>, ConfigError> {
    let mut found = None;
    for path in [CONFIG_PATH, ".github/gitkeeper.yaml"] {
        match root.read_text(path, config::MAX_CONFIG_BYTES) {
            Ok(text) => {
                found = Some((path, text));
                break;
            }
            Err(Skip::Missing) => continue,
            Err(Skip::TooLarge(size)) => {
                return Err(ConfigError::TooLarge {
                    file: path.to_string(),
                    size,
                    max: config::MAX_CONFIG_BYTES,
                });
            }
            Err(other) => {
                return Err(ConfigError::Unreadable {
                    file: path.to_string(),
                    reason: other.describe(),
                    source: match other {
                        Skip::Io(e) => Some(e),
                        _ => None,
                    },
                });
            }
        }
    }
    Ok(found)
}

/// Detects commands from the manifests present at the repository root.
fn detect(root: &RepoRoot) -> CommandPlan {
    let mut plan = CommandPlan {
        setup: Vec::new(),
        checks: Vec::new(),
        command_timeout: None,
        total_timeout: None,
        env: Vec::new(),
        source: PlanSource::Detected,
        lock_files: Vec::new(),
        notes: Vec::new(),
    };
    match manifest::load(root, "package.json") {
        Some(Ok(m)) => detect_node(root, &m, &mut plan),
        Some(Err(err)) => plan.notes.push(format!(
            "{err}; no JavaScript commands were detected until it is fixed"
        )),
        None => {}
    }
    if root.is_file("Cargo.toml") {
        detect_cargo(root, &mut plan);
    }
    if let Ok(text) = root.read_text("pyproject.toml", MAX_MANIFEST_BYTES) {
        detect_python(root, &text, &mut plan);
    }
    if plan.checks.is_empty() {
        if let Some(makefile) = ["Makefile", "makefile", "GNUmakefile"]
            .into_iter()
            .find(|m| {
                root.read_text(m, MAX_MANIFEST_BYTES)
                    .is_ok_and(|t| has_make_target(&t, "check"))
            })
        {
            plan.checks.push(Command::detected(
                Stage::Test,
                &["make", "check"],
                format!("{makefile} target `check`"),
            ));
        }
    }
    if plan.checks.is_empty() {
        plan.notes.push(format!(
            "no validation commands were found (no package.json scripts, Cargo.toml, configured Python tools or Makefile `check` target); list them under `validate.checks` in {CONFIG_PATH}"
        ));
    }
    plan
}

/// Which Yarn: Berry (2+) writes `__metadata:` into yarn.lock, v1 a
/// `# yarn lockfile v1` header; the `packageManager` version decides first.
fn yarn_is_berry(root: &RepoRoot, m: &Manifest) -> bool {
    if let Some(version) = m
        .package_manager
        .as_ref()
        .filter(|p| p.kind == PackageManager::Yarn)
        .and_then(|p| p.version.as_deref())
    {
        return version
            .split('.')
            .next()
            .and_then(|major| major.parse::<u32>().ok())
            .is_some_and(|major| major >= 2);
    }
    if let Some(head) = read_head(root, "yarn.lock", 4096) {
        if head.contains("__metadata:") {
            return true;
        }
        if head.contains("yarn lockfile v1") {
            return false;
        }
    }
    root.is_file(".yarnrc.yml")
}

fn read_head(root: &RepoRoot, rel: &str, max: usize) -> Option<String> {
    let path = root.join(rel)?;
    let meta = std::fs::symlink_metadata(&path).ok()?;
    if !meta.is_file() {
        return None;
    }
    let mut buf = vec![0u8; max];
    let mut file = std::fs::File::open(path).ok()?;
    let mut filled = 0;
    while filled < max {
        match file.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(_) => return None,
        }
    }
    Some(String::from_utf8_lossy(&buf[..filled]).into_owned())
}

/// The placeholder `npm init` writes as the test script.
fn is_placeholder_test(script: &str) -> bool {
    script.contains("no test specified") && script.contains("exit 1")
}

fn detect_node(root: &RepoRoot, m: &Manifest, plan: &mut CommandPlan) {
    let pm = m
        .package_manager
        .as_ref()
        .map_or(PackageManager::Npm, |p| p.kind);
    let lock = m.package_manager.as_ref().and_then(|p| match &p.source {
        ManagerSource::LockFile(name) => Some(name.clone()),
        ManagerSource::PackageManagerField => None,
    });
    let lock_present = lock.is_some()
        || manifest_lock_files(pm)
            .iter()
            .any(|name| root.is_file(name));
    plan.notes.extend(m.warnings.iter().cloned());
    let why_pm = match (&m.package_manager, &lock) {
        (_, Some(lock)) => format!("package.json with {lock}"),
        (Some(_), None) => "package.json `packageManager` field".to_string(),
        (None, None) => "package.json without a lock file".to_string(),
    };
    let install: Vec<&str> = match (pm, lock_present) {
        (PackageManager::Npm, true) => vec!["npm", "ci"],
        (PackageManager::Npm, false) => vec!["npm", "install"],
        (PackageManager::Pnpm, true) => vec!["pnpm", "install", "--frozen-lockfile"],
        (PackageManager::Pnpm, false) => vec!["pnpm", "install"],
        (PackageManager::Yarn, true) if yarn_is_berry(root, m) => {
            vec!["yarn", "install", "--immutable"]
        }
        (PackageManager::Yarn, true) => vec!["yarn", "install", "--frozen-lockfile"],
        (PackageManager::Yarn, false) => vec!["yarn", "install"],
        (PackageManager::Bun, true) => vec!["bun", "install", "--frozen-lockfile"],
        (PackageManager::Bun, false) => vec!["bun", "install"],
    };
    if !lock_present {
        plan.notes.push(format!(
            "package.json has no lock file: dependencies are resolved afresh on every run and cannot be cached; commit the lock file of {}",
            pm.command()
        ));
    }
    plan.setup
        .push(Command::detected(Stage::Setup, &install, why_pm));
    if m.has_dependency("prisma") && has_prisma_schema(root, m) {
        // The client must match the schema before anything type-checks
        // against it; `generate` may fetch engines, so it is setup.
        plan.setup.push(Command::detected(
            Stage::Setup,
            &exec(pm, &["prisma", "generate"]),
            "`prisma` dependency and a Prisma schema",
        ));
    }
    let has_script = |name: &str| {
        m.scripts
            .get(name)
            .is_some_and(|s| !(name == "test" && is_placeholder_test(s)))
    };
    let typecheck_script = ["typecheck", "type-check", "check-types", "tsc"]
        .into_iter()
        .find(|s| has_script(s));
    match typecheck_script {
        Some(script) => plan.checks.push(Command::detected(
            Stage::Typecheck,
            &[pm.command(), "run", script],
            format!("package.json script \"{script}\""),
        )),
        None if m.has_dependency("typescript") && root.is_file("tsconfig.json") => {
            plan.checks.push(Command::detected(
                Stage::Typecheck,
                &exec(pm, &["tsc", "--noEmit"]),
                "`typescript` dependency and tsconfig.json, no typecheck script",
            ));
        }
        None => {}
    }
    for (script, stage) in [
        ("lint", Stage::Lint),
        ("build", Stage::Build),
        ("test", Stage::Test),
    ] {
        if has_script(script) {
            plan.checks.push(Command::detected(
                stage,
                &[pm.command(), "run", script],
                format!("package.json script \"{script}\""),
            ));
        }
    }
}

/// Lock files that belong to a package manager.
fn manifest_lock_files(pm: PackageManager) -> &'static [&'static str] {
    match pm {
        PackageManager::Npm => &["package-lock.json", "npm-shrinkwrap.json"],
        PackageManager::Pnpm => &["pnpm-lock.yaml"],
        PackageManager::Yarn => &["yarn.lock"],
        PackageManager::Bun => &["bun.lock", "bun.lockb"],
    }
}

/// Runs an installed binary through the package manager, never downloading it.
fn exec<'a>(pm: PackageManager, args: &[&'a str]) -> Vec<&'a str> {
    let mut argv: Vec<&str> = match pm {
        PackageManager::Npm => vec!["npx", "--no-install"],
        PackageManager::Pnpm => vec!["pnpm", "exec"],
        PackageManager::Yarn => vec!["yarn", "run"],
        PackageManager::Bun => vec!["bun", "x", "--no-install"],
    };
    argv.extend_from_slice(args);
    argv
}

fn has_prisma_schema(root: &RepoRoot, m: &Manifest) -> bool {
    m.prisma_schema
        .as_deref()
        .is_some_and(|p| root.join(p).is_some_and(|abs| abs.exists()))
        || root.is_file("prisma/schema.prisma")
        || root.is_file("schema.prisma")
        || root.join("prisma/schema").is_some_and(|p| p.is_dir())
}

fn detect_cargo(root: &RepoRoot, plan: &mut CommandPlan) {
    let locked = root.is_file("Cargo.lock");
    let mut fetch = vec!["cargo", "fetch"];
    let mut offline = vec!["--offline"];
    if locked {
        fetch.push("--locked");
        offline.push("--locked");
    } else {
        plan.notes.push(
            "Cargo.toml has no Cargo.lock: dependencies resolve afresh each run; commit Cargo.lock"
                .to_string(),
        );
    }
    plan.setup
        .push(Command::detected(Stage::Setup, &fetch, "Cargo.toml"));
    let mut check = vec!["cargo", "check", "--all-targets"];
    check.extend(&offline);
    plan.checks
        .push(Command::detected(Stage::Typecheck, &check, "Cargo.toml"));
    let mut test = vec!["cargo", "test"];
    test.extend(&offline);
    plan.checks
        .push(Command::detected(Stage::Test, &test, "Cargo.toml"));
}

fn detect_python(root: &RepoRoot, text: &str, plan: &mut CommandPlan) {
    let value: toml::Table = match text.parse() {
        Ok(v) => v,
        Err(err) => {
            plan.notes.push(format!(
                "pyproject.toml is not valid TOML ({}); no Python commands were detected until it is fixed",
                err.message()
            ));
            return;
        }
    };
    let tool = value.get("tool").and_then(toml::Value::as_table);
    let configured = |name: &str, files: &[&str]| {
        tool.is_some_and(|t| t.contains_key(name)) || files.iter().any(|f| root.is_file(f))
    };
    let runner: Vec<&str> = if root.is_file("uv.lock") {
        plan.setup.push(Command::detected(
            Stage::Setup,
            &["uv", "sync", "--frozen"],
            "pyproject.toml with uv.lock",
        ));
        vec!["uv", "run", "--frozen", "--offline"]
    } else if root.is_file("poetry.lock") {
        plan.setup.push(Command::detected(
            Stage::Setup,
            &["poetry", "install", "--no-interaction"],
            "pyproject.toml with poetry.lock",
        ));
        vec!["poetry", "run"]
    } else {
        if value.contains_key("project") || value.contains_key("build-system") {
            plan.setup.push(Command::detected(
                Stage::Setup,
                &["python3", "-m", "pip", "install", "-e", "."],
                "pyproject.toml without a lock file",
            ));
        }
        vec!["python3", "-m"]
    };
    let with = |args: &[&'static str]| -> Vec<&str> {
        let mut argv = runner.clone();
        argv.extend_from_slice(args);
        argv
    };
    if configured("mypy", &["mypy.ini", ".mypy.ini"]) {
        plan.checks.push(Command::detected(
            Stage::Typecheck,
            &with(&["mypy", "."]),
            "mypy configuration",
        ));
    }
    if configured("ruff", &["ruff.toml", ".ruff.toml"]) {
        plan.checks.push(Command::detected(
            Stage::Lint,
            &with(&["ruff", "check", "."]),
            "ruff configuration",
        ));
    }
    let pytest_section = tool
        .and_then(|t| t.get("pytest"))
        .and_then(toml::Value::as_table)
        .is_some_and(|p| p.contains_key("ini_options"));
    if pytest_section || root.is_file("pytest.ini") || root.is_file("conftest.py") {
        plan.checks.push(Command::detected(
            Stage::Test,
            &with(&["pytest"]),
            "pytest configuration",
        ));
    }
}

/// True when the Makefile defines `target` (`check:` at the start of a line).
fn has_make_target(text: &str, target: &str) -> bool {
    text.lines().any(|line| {
        line.strip_prefix(target).is_some_and(|rest| {
            let rest = rest.trim_start();
            rest.starts_with(':') && !rest.starts_with(":=")
        })
    })
}

/// Hashes every lock file at the repository root.
fn hash_lock_files(root: &RepoRoot) -> Vec<LockFile> {
    HASHED_LOCK_FILES
        .iter()
        .filter_map(|name| {
            lock_file_hash_in(root, name).map(|sha256| LockFile {
                path: (*name).to_string(),
                sha256,
            })
        })
        .collect()
}

/// The root lock files of the checkout at `work_dir` with their hashes, as
/// [`plan_commands`] records them; empty when the directory cannot be read.
pub fn lock_files(work_dir: &Path) -> Vec<LockFile> {
    RepoRoot::new(work_dir)
        .map(|root| hash_lock_files(&root))
        .unwrap_or_default()
}

/// SHA-256 (lowercase hex) of the lock file at `rel` in `work_dir`, when it
/// is a regular file inside the checkout.
pub fn lock_file_hash(work_dir: &Path, rel: &str) -> Option<String> {
    let root = RepoRoot::new(work_dir).ok()?;
    lock_file_hash_in(&root, rel)
}

fn lock_file_hash_in(root: &RepoRoot, rel: &str) -> Option<String> {
    let path = root.join(rel)?;
    let meta = std::fs::symlink_metadata(&path).ok()?;
    if !meta.is_file() {
        return None;
    }
    let mut file = std::fs::File::open(path).ok()?;
    let mut hasher = Sha256::new();
    std::io::copy(&mut file, &mut hasher).ok()?;
    Some(hex(&hasher.finalize()))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
