//! One task in one work dir: the context package, the route, the prompts
//! (with the repository's overrides), the validators (static checks, then
//! the repository's own commands judged against the base commit), and the
//! generation loop. `solve` and the GitHub pipeline both run tasks this way;
//! only where the work dir comes from and where the result goes differ.
//!
//! Must never: plan the build commands from an attempt's files (they are
//! read once, on the base commit, before any edit; an invalid
//! `.github/gitkeeper.yml` there fails the task before any model is
//! called), or leave a failed attempt's edits in the work dir (the loop
//! reverts them).

use std::path::Path;
use std::sync::Arc;

use gitkeeper::context::ContextPackage;
use gitkeeper::edits::PathPolicy;

use crate::config::Settings;
use crate::generate::{GenerateInput, Generation, Generator, ModelPool, ProgressSender, Revision};
use crate::prompts::Prompts;
use crate::route::{Route, TaskInput, route};
use crate::validate::StaticValidator;
use crate::validate::build::{BuildValidator, Chain};
use crate::validate::cache::ValidationCache;
use crate::validate::sandbox::{DEFAULT_OUTPUT_CAP, Isolation, ProcessSandbox, secret_paths};

/// What to do, as the maintainer asked it.
#[derive(Debug, Clone)]
pub struct TaskSpec<'a> {
    /// The issue title and body, untrusted.
    pub title: &'a str,
    pub body: &'a str,
    pub labels: &'a [String],
    /// Start this many tiers higher (`/gitkeeper escalate`).
    pub escalations: u32,
    /// A maintainer allowed paid tiers (`/gitkeeper approve`).
    pub cloud_approved: bool,
    /// Start at the ladder's first paid tier: the free tiers before it ran
    /// out already and the job waited for approval there.
    pub from_first_paid: bool,
    /// What the repository spent today before this task (USD).
    pub spent_today_usd: f64,
    /// Revise an existing change instead of starting from the task.
    pub revision: Option<Revision<'a>>,
}

/// What running the task came to.
#[derive(Debug)]
pub struct TaskRun {
    pub route: Route,
    pub generation: Generation,
    pub package: ContextPackage,
    /// The templates the task used (with the repository's overrides), for
    /// rendering what is published about it.
    pub prompts: Prompts,
}

/// Why the task could not run (a model's failure is not this: it is an
/// attempt in the generation's trail).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TaskError {
    #[error(transparent)]
    Context(#[from] gitkeeper::context::ContextError),
    /// The base commit's `.github/gitkeeper.yml` cannot be used: nothing
    /// would judge an attempt, so none is made.
    #[error(transparent)]
    RepoConfig(#[from] gitkeeper::validate::CommandsError),
    #[error("{0}")]
    Policy(#[from] gitkeeper::edits::PolicyError),
    /// The repository's commands cannot run as isolated as the operator requires.
    #[error(transparent)]
    Sandbox(#[from] crate::validate::sandbox::SandboxError),
    #[error(transparent)]
    Route(#[from] crate::route::RouteError),
    #[error(transparent)]
    Prompt(#[from] crate::prompts::PromptError),
    #[error(transparent)]
    Generate(#[from] crate::generate::GenerateError),
    #[error(
        "preparing the task (context package, command plan, sandbox probe) stopped unexpectedly: {0}"
    )]
    Interrupted(#[source] tokio::task::JoinError),
}

impl TaskError {
    /// True when running the task again later may succeed without anyone
    /// changing anything: the repository could not be read for a reason that
    /// passes (an interrupted or timed-out read), the work dir could not be
    /// restored for such a reason, or the runtime was shutting down.
    pub fn is_transient(&self) -> bool {
        match self {
            TaskError::Context(gitkeeper::context::ContextError::Unreadable { source, .. }) => {
                crate::generate::io_is_transient(source)
            }
            TaskError::Generate(e) => e.is_transient(),
            TaskError::Interrupted(e) => e.is_cancelled(),
            _ => false,
        }
    }
}

/// Run `spec` in `work` with the models in `models`. `base_commit`, the
/// commit `work` holds, lets the build reuse an earlier job's outcomes on it.
pub async fn run_task(
    settings: &Settings,
    models: ModelPool,
    work: &Path,
    spec: &TaskSpec<'_>,
    progress: Option<&ProgressSender>,
    base_commit: Option<&str>,
) -> Result<TaskRun, TaskError> {
    let context_options =
        gitkeeper::validate::repo_context_options(work, settings.context.options())?;
    // The commands that judge every attempt, from the base commit only.
    let plan = {
        let work = work.to_path_buf();
        tokio::task::spawn_blocking(move || gitkeeper::validate::plan_commands(&work))
            .await
            .map_err(TaskError::Interrupted)??
    };
    let package = {
        let (work, options) = (work.to_path_buf(), context_options.clone());
        let text = match &spec.revision {
            Some(r) => format!("{}\n{}\n{}", spec.title, spec.body, r.comment),
            None => format!("{}\n{}", spec.title, spec.body),
        };
        tokio::task::spawn_blocking(move || gitkeeper::context::build(&work, &text, &options))
            .await
            .map_err(TaskError::Interrupted)??
    };
    let policy = edit_policy(&package.gitkeeper_doc)?;
    let task = TaskInput {
        title: spec.title.to_string(),
        body: spec.body.to_string(),
        labels: spec.labels.to_vec(),
    };
    let mut route = route(
        &task,
        Some(&package),
        &settings.route,
        &settings.models,
        spec.escalations,
    )?;
    if spec.from_first_paid {
        start_at_first_paid(&mut route);
    }
    let mut prompts = Prompts::load(&settings.prompts)?;
    if settings.prompts.repo_overrides {
        prompts = prompts.with_repo_overrides(work)?;
    }
    let checked_scripts = gitkeeper::validate::scripts_run_by(&plan);
    let build = build_validator(work, plan, &route, settings, base_commit).await?;
    let generator = Generator::new(
        models,
        prompts.clone(),
        Arc::new(Chain(vec![
            Arc::new(
                StaticValidator::new(context_options, Arc::new(package.clone()))
                    .guarding_scripts(checked_scripts),
            ),
            Arc::new(build),
        ])),
        settings.route.clone(),
    );
    let generation = generator
        .run(&GenerateInput {
            work_dir: work,
            title: spec.title,
            body: spec.body,
            context: &package,
            route: &route,
            policy: &policy,
            constraints: &[],
            cloud_approved: spec.cloud_approved,
            spent_today_usd: spec.spent_today_usd,
            revision: spec.revision,
            progress,
        })
        .await?;
    Ok(TaskRun {
        route,
        generation,
        package,
        prompts,
    })
}

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

/// The edit policy of a task: [`PROTECTED_BY_DEFAULT`], the gitkeeper doc's
/// own files, and the protected paths its rules add. `doc` is read from the
/// base commit, so an attempt cannot loosen the policy that judges it.
pub fn edit_policy(
    doc: &gitkeeper::context::GitkeeperDoc,
) -> Result<PathPolicy, gitkeeper::edits::PolicyError> {
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

/// Move the route's start to its first paid tier, when that is later.
fn start_at_first_paid(route: &mut Route) {
    if let Some(first) = route.tiers.iter().position(|t| t.paid) {
        if first > route.start {
            route.start = first;
            route.reasons.push(format!(
                "paid tiers approved → starting at tier {} ({}), where the job waited",
                first + 1,
                route.tiers[first].model
            ));
        }
    }
}

/// The repository's own commands, `plan`ned once on the base commit:
/// attempts are judged by them (an attempt cannot edit its own checks), and
/// what already fails there does not count against attempts. A job's
/// checkout gets the repository's cache under `<data.dir>/cache`; `solve`'s
/// worktree is no job checkout and runs without one. Host variables reach
/// commands only where the repository asks for them and the operator's
/// `[validate] pass_env` lists them (the job log names the others). Every command runs
/// with the bot's secrets hidden ([`secret_paths`]), under `bwrap` unless
/// the operator set `[validate] isolation = "none"`: without a working
/// `bwrap` the task fails here, before any model is called.
async fn build_validator(
    work: &Path,
    plan: gitkeeper::validate::CommandPlan,
    route: &Route,
    settings: &Settings,
    base_commit: Option<&str>,
) -> Result<BuildValidator, TaskError> {
    // The probe runs `bwrap` once per process: off the runtime.
    let detected = tokio::task::spawn_blocking(Isolation::detect)
        .await
        .map_err(TaskError::Interrupted)?;
    let isolation = Isolation::required(settings.validate.isolation, detected)?;
    let sandbox = ProcessSandbox::new(&settings.validate.pass_env, &plan.env, DEFAULT_OUTPUT_CAP)
        .with_isolation(isolation)
        .with_hidden(secret_paths(settings));
    if let Some(note) = sandbox.withheld_note() {
        tracing::warn!("{note}");
    }
    let mut build = BuildValidator::new(Arc::new(sandbox), plan);
    if let Some(cache) = ValidationCache::for_checkout(&settings.data.dir.join("cache"), work) {
        build = build.with_cache(cache);
    }
    let baseline = build.baseline(work, route.validation, base_commit).await;
    if !baseline.failing().is_empty() {
        tracing::info!(failing = ?baseline.failing(), "these commands fail on the base commit already");
    }
    Ok(build.with_baseline(baseline))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bots_own_files_and_workflows_are_protected_by_default() {
        let doc = gitkeeper::context::doc::parse_doc(
            "team/rules.md",
            "# Rules\n\n## Protected paths\n\n- `prisma/migrations/`\n",
        );
        let policy = edit_policy(&doc).unwrap();
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
        let policy = edit_policy(&gitkeeper::context::GitkeeperDoc::default()).unwrap();
        assert!(policy.check(".github/workflows/release.yml").is_err());
    }
}
