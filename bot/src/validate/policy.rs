//! The validation policy: the one place that decides what model-written
//! code may do. Built once per task, before any edit, from the operator's
//! settings and the base commit (its `.github/gitkeeper.yml` and gitkeeper
//! doc): the commands that judge every attempt, the host variables that
//! reach them, the isolation they run under, the paths they must not see,
//! and the paths no model edit may touch. The build validator, the sandbox
//! and the edit applier all read it from one [`ValidationPolicy`].
//!
//! Must never: read anything from an attempt's tree (the value is made
//! before the first attempt and never changes); pass a host variable the
//! operator's `[validate] pass_env` does not list or that is a secret of the
//! bot's; settle for less isolation than the operator requires, silently.

use std::path::{Path, PathBuf};

use gitkeeper::context::GitkeeperDoc;
use gitkeeper::edits::PathPolicy;
use gitkeeper::validate::CommandPlan;

use super::sandbox::{Isolation, SandboxError, secret_paths};
use crate::config::{Settings, ValidateSettings};

/// Paths no model edit may touch, whatever the repository says: the
/// repository's validation config and the workflows that judge its pull
/// requests, and the gitkeeper doc (its default locations and the files
/// read for this task).
pub const PROTECTED_BY_DEFAULT: &[&str] = &[
    gitkeeper::validate::CONFIG_PATH,
    ".github/gitkeeper.yaml",
    ".github/gitkeeper/",
    ".github/workflows/",
];

/// Variables a repository may never have passed in, whatever its config
/// and the operator's list say (besides Gitkeeper's own `GITKEEPER_*`).
const NEVER_PASSED: &[&str] = &[
    "ANTHROPIC_API_KEY",
    "OPENAI_API_KEY",
    "DEEPSEEK_API_KEY",
    "GITHUB_TOKEN",
    "GH_TOKEN",
];

/// Why a task's validation policy could not be made: nothing would judge
/// an attempt as the operator and the repository require, so none is made.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ValidationPolicyError {
    /// The base commit's `.github/gitkeeper.yml` cannot be used.
    #[error(transparent)]
    RepoConfig(#[from] gitkeeper::validate::CommandsError),
    /// A protected-path pattern of the repository is not a glob.
    #[error(transparent)]
    Protected(#[from] gitkeeper::edits::PolicyError),
    /// The repository's commands cannot run as isolated as the operator requires.
    #[error(transparent)]
    Isolation(#[from] SandboxError),
    #[error(
        "reading the validation policy (command plan, sandbox probe) stopped unexpectedly: {0}"
    )]
    Interrupted(#[source] tokio::task::JoinError),
}

impl ValidationPolicyError {
    /// True when making the policy again later may succeed without anyone
    /// changing anything (the runtime was shutting down).
    pub fn is_transient(&self) -> bool {
        matches!(self, ValidationPolicyError::Interrupted(e) if e.is_cancelled())
    }
}

/// Which host variables reach repository commands: those the repository
/// asks for (`validate.env`) *and* the operator allows (`[validate]
/// pass_env`), never Gitkeeper's own, model API keys or GitHub tokens.
/// Names only: values are read from the host when a sandbox is made.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EnvPolicy {
    passed: Vec<String>,
    withheld: Vec<String>,
}

impl EnvPolicy {
    /// The intersection of what the operator allows and the repository asks for.
    pub fn new(operator_allows: &[String], repository_asks: &[String]) -> Self {
        let (passed, withheld): (Vec<String>, Vec<String>) = repository_asks
            .iter()
            .cloned()
            .partition(|name| operator_allows.contains(name) && !never_passed(name));
        Self { passed, withheld }
    }

    /// Names whose host values reach commands.
    pub fn passed(&self) -> &[String] {
        &self.passed
    }

    /// Names the repository asked for that do not reach commands.
    pub fn withheld(&self) -> &[String] {
        &self.withheld
    }

    /// What to tell a maintainer about [`Self::withheld`] (`None` when
    /// every variable the repository asked for is passed).
    pub fn withheld_note(&self) -> Option<String> {
        withheld_note(&self.withheld)
    }
}

/// Gitkeeper's own settings, model API keys and GitHub tokens.
fn never_passed(name: &str) -> bool {
    name.starts_with("GITKEEPER_") || NEVER_PASSED.contains(&name)
}

/// What to tell a maintainer when the repository asked for variables in
/// `withheld` that are not passed to its commands: which ones (names only)
/// and how to allow them; `None` when there are none.
pub fn withheld_note(withheld: &[String]) -> Option<String> {
    if withheld.is_empty() {
        return None;
    }
    let (never, unlisted): (Vec<&String>, Vec<&String>) =
        withheld.iter().partition(|name| never_passed(name));
    let list = |names: &[&String]| {
        names
            .iter()
            .map(|n| format!("`{n}`"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut parts = Vec::new();
    if !unlisted.is_empty() {
        parts.push(format!(
            "{} not passed to its commands: the operator has not allowed them; \
             to pass them, add them to `[validate] pass_env` in gitkeeper.toml",
            list(&unlisted)
        ));
    }
    if !never.is_empty() {
        parts.push(format!(
            "{} never passed (Gitkeeper's own settings, model API keys and GitHub tokens)",
            list(&never)
        ));
    }
    Some(format!(
        "the repository's validate.env asks for host variables; {}",
        parts.join("; ")
    ))
}

/// The edit policy of a task: [`PROTECTED_BY_DEFAULT`], the gitkeeper doc's
/// own files, and the protected paths its rules add. `doc` must be read from
/// the base commit, so an attempt cannot loosen the policy that judges it.
pub fn protected_paths(doc: &GitkeeperDoc) -> Result<PathPolicy, gitkeeper::edits::PolicyError> {
    let mut patterns: Vec<String> = doc.rules.protected.iter().map(|r| r.glob.clone()).collect();
    let defaults = PROTECTED_BY_DEFAULT
        .iter()
        .chain(gitkeeper::context::doc::DEFAULT_DOC_PATHS)
        .map(|p| (*p).to_string())
        .chain(doc.paths.iter().cloned());
    for pattern in defaults {
        if !patterns.contains(&pattern) {
            patterns.push(pattern);
        }
    }
    PathPolicy::new(patterns)
}

/// Everything that decides what a task's model-written code may do, made
/// once from the operator's settings and the base commit.
#[derive(Debug, Clone)]
pub struct ValidationPolicy {
    plan: CommandPlan,
    env: EnvPolicy,
    isolation: Isolation,
    hidden: Vec<PathBuf>,
    protected: PathPolicy,
}

impl ValidationPolicy {
    /// The policy of a task on the base commit checked out in `work`,
    /// before any edit; `doc` is the gitkeeper doc read there. Fails when
    /// the base commit's `.github/gitkeeper.yml` is invalid, a protected
    /// pattern is no glob, or `bwrap` is required and cannot run.
    pub async fn for_base_commit(
        settings: &Settings,
        work: &Path,
        doc: &GitkeeperDoc,
    ) -> Result<Self, ValidationPolicyError> {
        let work = work.to_path_buf();
        // Reading the plan walks the disk: off the runtime. The probe is
        // awaited (once per process).
        let plan = tokio::task::spawn_blocking(move || gitkeeper::validate::plan_commands(&work))
            .await
            .map_err(ValidationPolicyError::Interrupted)?;
        let detected = Isolation::detect().await;
        Self::new(
            &settings.validate,
            secret_paths(settings),
            plan?,
            doc,
            detected,
        )
    }

    /// The policy from its parts: the operator's `[validate]` settings,
    /// the paths commands must not see, the `plan` made on the base commit,
    /// its gitkeeper `doc`, and the isolation this machine has (`detected`).
    pub fn new(
        validate: &ValidateSettings,
        hidden: Vec<PathBuf>,
        plan: CommandPlan,
        doc: &GitkeeperDoc,
        detected: Isolation,
    ) -> Result<Self, ValidationPolicyError> {
        let isolation = Isolation::required(validate.isolation, detected)?;
        Ok(Self {
            env: EnvPolicy::new(&validate.pass_env, &plan.env),
            plan,
            isolation,
            hidden,
            protected: protected_paths(doc)?,
        })
    }

    /// The commands that judge every attempt, planned on the base commit.
    pub fn plan(&self) -> &CommandPlan {
        &self.plan
    }

    /// The host variables that reach repository commands.
    pub fn env(&self) -> &EnvPolicy {
        &self.env
    }

    /// The isolation repository commands run under.
    pub fn isolation(&self) -> &Isolation {
        &self.isolation
    }

    /// Paths repository commands must not see (hidden under `bwrap`).
    pub fn hidden(&self) -> &[PathBuf] {
        &self.hidden
    }

    /// Paths no model edit may touch.
    pub fn protected(&self) -> &PathPolicy {
        &self.protected
    }

    /// What to tell a maintainer about variables the repository asked for
    /// that its commands do not get (see [`EnvPolicy::withheld_note`]).
    pub fn withheld_note(&self) -> Option<String> {
        self.env.withheld_note()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::IsolationSetting;

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|n| (*n).to_string()).collect()
    }

    fn repo(files: &[(&str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for (path, content) in files {
            let full = dir.path().join(path);
            std::fs::create_dir_all(full.parent().unwrap()).unwrap();
            std::fs::write(full, content).unwrap();
        }
        dir
    }

    fn settings(isolation: IsolationSetting, pass_env: &[&str]) -> ValidateSettings {
        ValidateSettings {
            isolation,
            pass_env: names(pass_env),
        }
    }

    fn policy_on(
        dir: &Path,
        validate: &ValidateSettings,
        doc: &GitkeeperDoc,
    ) -> Result<ValidationPolicy, ValidationPolicyError> {
        let plan = gitkeeper::validate::plan_commands(dir)?;
        let bwrap = Isolation::Bwrap(PathBuf::from("/usr/bin/bwrap"));
        ValidationPolicy::new(validate, Vec::new(), plan, doc, bwrap)
    }

    #[test]
    fn only_variables_both_the_operator_and_the_repository_name_are_passed() {
        let env = EnvPolicy::new(
            &names(&["NODE_OPTIONS", "NPM_TOKEN", "ANTHROPIC_API_KEY"]),
            &names(&["NODE_OPTIONS", "MY_SECRET", "ANTHROPIC_API_KEY"]),
        );
        assert_eq!(env.passed(), ["NODE_OPTIONS"]);
        assert_eq!(env.withheld(), ["MY_SECRET", "ANTHROPIC_API_KEY"]);
        let note = env.withheld_note().unwrap();
        assert!(
            note.contains("`MY_SECRET` not passed") && note.contains("[validate] pass_env"),
            "{note}"
        );
        assert!(note.contains("`ANTHROPIC_API_KEY` never passed"), "{note}");
        // The operator's list alone passes nothing the repository did not ask for.
        let env = EnvPolicy::new(&names(&["NPM_TOKEN"]), &[]);
        assert!(env.passed().is_empty() && env.withheld_note().is_none());
        // Gitkeeper's own settings never, listed or not.
        let own = names(&["GITKEEPER_GITHUB__WEBHOOK_SECRET"]);
        assert!(EnvPolicy::new(&own, &own).passed().is_empty());
    }

    #[test]
    fn the_env_of_the_policy_is_the_operators_list_cut_to_the_base_commits_validate_env() {
        let dir = repo(&[(
            ".github/gitkeeper.yml",
            "validate:\n  setup: []\n  checks:\n    - run: \"true\"\n      stage: test\n  env:\n    - NODE_OPTIONS\n    - DEPLOY_KEY\n",
        )]);
        let policy = policy_on(
            dir.path(),
            &settings(
                IsolationSetting::Bwrap,
                &["NODE_OPTIONS", "AWS_SECRET_ACCESS_KEY"],
            ),
            &GitkeeperDoc::default(),
        )
        .unwrap();
        assert_eq!(policy.env().passed(), ["NODE_OPTIONS"]);
        assert_eq!(policy.env().withheld(), ["DEPLOY_KEY"]);
        assert!(policy.withheld_note().unwrap().contains("`DEPLOY_KEY`"));
    }

    #[test]
    fn isolation_is_required_unless_the_operator_says_none() {
        let dir = repo(&[]);
        let plan = || gitkeeper::validate::plan_commands(dir.path()).unwrap();
        let doc = GitkeeperDoc::default();
        let err = ValidationPolicy::new(
            &settings(IsolationSetting::Bwrap, &[]),
            Vec::new(),
            plan(),
            &doc,
            Isolation::None,
        )
        .unwrap_err();
        assert!(
            matches!(
                err,
                ValidationPolicyError::Isolation(SandboxError::NoIsolation)
            ),
            "{err}"
        );
        assert!(err.to_string().contains("isolation = \"none\""), "{err}");
        let bwrap = Isolation::Bwrap(PathBuf::from("/usr/bin/bwrap"));
        let required = ValidationPolicy::new(
            &settings(IsolationSetting::Bwrap, &[]),
            Vec::new(),
            plan(),
            &doc,
            bwrap.clone(),
        )
        .unwrap();
        assert_eq!(required.isolation(), &bwrap);
        let off = ValidationPolicy::new(
            &settings(IsolationSetting::None, &[]),
            Vec::new(),
            plan(),
            &doc,
            bwrap,
        )
        .unwrap();
        assert_eq!(off.isolation(), &Isolation::None);
    }

    #[test]
    fn the_bots_own_files_and_workflows_are_protected_by_default() {
        let doc = gitkeeper::context::doc::parse_doc(
            "team/rules.md",
            "# Rules\n\n## Protected paths\n\n- `prisma/migrations/`\n",
        );
        let policy = protected_paths(&doc).unwrap();
        for path in [
            ".github/workflows/ci.yml",
            ".github/gitkeeper.yml",
            ".github/gitkeeper/prompts/generate.md",
            "docs/gitkeeper.md",
            "GITKEEPER.md",
            "team/rules.md",
            "prisma/migrations/001/migration.sql",
        ] {
            assert!(policy.check(path).is_err(), "{path} is editable");
        }
        let err = policy
            .check(".github/workflows/ci.yml")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("protected") && err.contains(".github/workflows"),
            "{err}"
        );
        assert_eq!(policy.check("src/greet.ts").unwrap(), "src/greet.ts");
        assert!(policy.check(".github/CODEOWNERS").is_ok());
        // With no doc at all the defaults still hold.
        let policy = protected_paths(&GitkeeperDoc::default()).unwrap();
        assert!(policy.check(".github/workflows/release.yml").is_err());
    }

    #[test]
    fn the_policy_protects_the_defaults_and_the_base_docs_paths() {
        let dir = repo(&[]);
        let doc = gitkeeper::context::doc::parse_doc(
            "docs/gitkeeper.md",
            "# Shop\n\n## Protected paths\n\n- `*.pem`\n",
        );
        let policy = policy_on(dir.path(), &settings(IsolationSetting::Bwrap, &[]), &doc).unwrap();
        for path in [
            ".github/workflows/ci.yml",
            "keys/server.pem",
            "docs/gitkeeper.md",
        ] {
            assert!(
                policy.protected().check(path).is_err(),
                "{path} is editable"
            );
        }
        assert!(policy.protected().check("src/a.ts").is_ok());
    }

    #[test]
    fn an_attempt_rewriting_the_config_changes_neither_plan_nor_env() {
        let dir = repo(&[(
            ".github/gitkeeper.yml",
            "validate:\n  setup: []\n  checks:\n    - run: grep -q tax src/total.txt\n      stage: test\n  env:\n    - NODE_OPTIONS\n",
        )]);
        let validate = settings(IsolationSetting::Bwrap, &["NODE_OPTIONS", "NPM_TOKEN"]);
        let policy = policy_on(dir.path(), &validate, &GitkeeperDoc::default()).unwrap();
        let base_plan = policy.plan().clone();
        // The attempt writes checks that always pass and asks for a token.
        std::fs::write(
            dir.path().join(".github/gitkeeper.yml"),
            "validate:\n  setup: []\n  checks:\n    - run: \"true\"\n      stage: test\n  env:\n    - NPM_TOKEN\n",
        )
        .unwrap();
        assert_ne!(
            gitkeeper::validate::plan_commands(dir.path()).unwrap(),
            base_plan,
            "the attempt's tree plans differently"
        );
        assert_eq!(policy.plan(), &base_plan);
        assert_eq!(policy.plan().checks[0].name, "grep -q tax src/total.txt");
        assert_eq!(policy.env().passed(), ["NODE_OPTIONS"]);
    }

    #[test]
    fn an_invalid_base_config_makes_no_policy() {
        let dir = repo(&[(
            ".github/gitkeeper.yml",
            "validate:\n  env:\n    - \"NOT A NAME\"\n",
        )]);
        let err = policy_on(
            dir.path(),
            &settings(IsolationSetting::Bwrap, &[]),
            &GitkeeperDoc::default(),
        )
        .unwrap_err();
        assert!(matches!(err, ValidationPolicyError::RepoConfig(_)), "{err}");
        assert!(err.to_string().contains("NOT A NAME"), "{err}");
    }
}
