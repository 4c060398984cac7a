//! One task in one work dir: the context package, the route, the prompts
//! (with the repository's overrides), the validators (static checks, then
//! the repository's own commands judged against the base commit), and the
//! generation loop. `solve` and the GitHub pipeline both run tasks this way;
//! only where the work dir comes from and where the result goes differ.
//!
//! What judges attempts and what they may touch is the task's
//! [`ValidationPolicy`], made once on the base commit before any model is
//! called; every validator, the sandbox and the edit applier read it there.
//!
//! Must never: plan the build commands from an attempt's files (the policy
//! reads them once, on the base commit, before any edit; an invalid
//! `.github/gitkeeper.yml` there fails the task before any model is
//! called), or leave a failed attempt's edits in the work dir (the loop
//! reverts them).

use std::path::Path;
use std::sync::Arc;

use gitkeeper::context::ContextPackage;

use crate::config::Settings;
use crate::generate::{GenerateInput, Generation, Generator, ModelPool, ProgressSender, Revision};
use crate::prompts::Prompts;
use crate::route::privacy::{LocalOnly, LocalOnlyError, diff_paths};
use crate::route::{Route, TaskInput, route};
use crate::validate::StaticValidator;
use crate::validate::build::{BuildValidator, Chain};
use crate::validate::cache::ValidationCache;
use crate::validate::policy::{ValidationPolicy, ValidationPolicyError};
use crate::validate::sandbox::{DEFAULT_OUTPUT_CAP, ProcessSandbox};

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
    /// What judged the attempts and what they could touch.
    pub policy: ValidationPolicy,
}

/// Why the task could not run (a model's failure is not this: it is an
/// attempt in the generation's trail).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TaskError {
    #[error(transparent)]
    Context(#[from] gitkeeper::context::ContextError),
    /// The base commit's `.github/gitkeeper.yml` cannot be read.
    #[error(transparent)]
    RepoConfig(#[from] gitkeeper::validate::CommandsError),
    /// No validation policy could be made (an invalid base config, a
    /// protected pattern that is no glob, `bwrap` required and missing):
    /// nothing would judge an attempt, so none is made.
    #[error(transparent)]
    Policy(#[from] ValidationPolicyError),
    /// A `local_only_paths` pattern (operator's or base commit's) is no glob.
    #[error(transparent)]
    LocalOnly(#[from] LocalOnlyError),
    #[error(transparent)]
    Route(#[from] crate::route::RouteError),
    #[error(transparent)]
    Prompt(#[from] crate::prompts::PromptError),
    #[error(transparent)]
    Generate(#[from] crate::generate::GenerateError),
    #[error("preparing the task (context package) stopped unexpectedly: {0}")]
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
            TaskError::Policy(e) => e.is_transient(),
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
    let Prepared {
        context_options,
        package,
        prompts,
        local_only,
    } = prepare(settings, work, spec).await?;
    // What judges every attempt and what it may touch, from the base commit
    // only, before any model is called.
    let policy = ValidationPolicy::for_base_commit(settings, work, &package.gitkeeper_doc).await?;
    if let Some(note) = policy.withheld_note() {
        tracing::warn!("{note}");
    }
    // Local-only paths in the context or the revised diff keep the task local.
    let mut touched = package.sent_paths();
    if let Some(revision) = &spec.revision {
        touched.extend(diff_paths(revision.diff));
    }
    let task = TaskInput {
        title: spec.title.to_string(),
        body: spec.body.to_string(),
        labels: spec.labels.to_vec(),
        local_only: local_only.matching(touched.iter().map(String::as_str)),
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
    let checked_scripts = gitkeeper::validate::scripts_run_by(policy.plan());
    let build = build_validator(work, &policy, &route, settings, base_commit).await;
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
            policy: policy.protected(),
            constraints: &[],
            cloud_approved: spec.cloud_approved,
            spent_today_usd: spec.spent_today_usd,
            revision: spec.revision,
            progress,
            local_only: &local_only,
        })
        .await?;
    Ok(TaskRun {
        route,
        generation,
        package,
        prompts,
        policy,
    })
}

/// What a task reads before any model is called, besides its validation
/// policy: the base commit's context options, the context package and the
/// prompt templates.
struct Prepared {
    context_options: gitkeeper::context::ContextOptions,
    package: ContextPackage,
    prompts: Prompts,
    /// The operator's `local_only_paths` and the base commit's.
    local_only: LocalOnly,
}

/// Read what the task needs from `work` and the operator's prompts dir, in
/// one section off the async runtime: it walks the repository and reads
/// files, which would stall every other job on the runtime's threads.
async fn prepare(
    settings: &Settings,
    work: &Path,
    spec: &TaskSpec<'_>,
) -> Result<Prepared, TaskError> {
    let text = match &spec.revision {
        Some(r) => format!("{}\n{}\n{}", spec.title, spec.body, r.comment),
        None => format!("{}\n{}", spec.title, spec.body),
    };
    let (work, options, prompt_settings, operator_local_only) = (
        work.to_path_buf(),
        settings.context.options(),
        settings.prompts.clone(),
        settings.privacy.local_only_paths.clone(),
    );
    tokio::task::spawn_blocking(move || -> Result<Prepared, TaskError> {
        let context_options = gitkeeper::validate::repo_context_options(&work, options)?;
        let package = gitkeeper::context::build(&work, &text, &context_options)?;
        let prompts = Prompts::load_for_checkout(&prompt_settings, &work)?;
        let repo_local_only = gitkeeper::validate::repo_local_only_paths(&work)?;
        let local_only = LocalOnly::new(operator_local_only.iter().chain(&repo_local_only))?;
        Ok(Prepared {
            context_options,
            package,
            prompts,
            local_only,
        })
    })
    .await
    .map_err(TaskError::Interrupted)?
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

/// The repository's own commands, as the task's `policy` has them: planned
/// once on the base commit, so attempts are judged by them (an attempt
/// cannot edit its own checks), and what already fails there does not count
/// against attempts. A job's checkout gets the repository's cache under
/// `<data.dir>/cache`; `solve`'s worktree is no job checkout and runs
/// without one. Commands run in the sandbox the policy describes: its
/// variables, its isolation, the bot's secrets hidden.
async fn build_validator(
    work: &Path,
    policy: &ValidationPolicy,
    route: &Route,
    settings: &Settings,
    base_commit: Option<&str>,
) -> BuildValidator {
    let sandbox = ProcessSandbox::for_policy(policy, DEFAULT_OUTPUT_CAP);
    let mut build = BuildValidator::new(Arc::new(sandbox), policy);
    if let Some(cache) = ValidationCache::for_checkout(&settings.data.dir.join("cache"), work) {
        build = build.with_cache(cache);
    }
    let baseline = build.baseline(work, route.validation, base_commit).await;
    if !baseline.failing().is_empty() {
        tracing::info!(failing = ?baseline.failing(), "these commands fail on the base commit already");
    }
    build.with_baseline(baseline)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn task_preparation_reads_files_off_the_runtime() {
        // Context and prompts are read in one section; its
        // read of the operator's system.md waits on a pipe that only a task
        // beside it on the same one-thread runtime writes.
        let prompts = tempfile::tempdir().unwrap();
        let fifo = prompts.path().join("system.md");
        crate::testing::mkfifo(&fifo);
        let repo = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(repo.path().join("src")).unwrap();
        std::fs::write(
            repo.path().join("src/total.ts"),
            "export const total = 1;\n",
        )
        .unwrap();
        let mut settings = Settings::default();
        settings.prompts.dir = Some(prompts.path().to_path_buf());
        let work = repo.path().to_path_buf();
        let (prepared, turns) = crate::testing::run_beside_feeder(
            &fifo,
            "Piped system prompt.\n",
            move || async move {
                let spec = TaskSpec {
                    title: "Fix the total",
                    body: "src/total.ts is off by one",
                    labels: &[],
                    escalations: 0,
                    cloud_approved: false,
                    from_first_paid: false,
                    spent_today_usd: 0.0,
                    revision: None,
                };
                prepare(&settings, &work, &spec).await.map(|p| {
                    p.prompts
                        .origin(crate::prompts::Template::System)
                        .to_string()
                })
            },
        );
        assert_eq!(prepared.unwrap(), fifo.display().to_string());
        assert!(turns >= 1, "the task beside the preparation never ran");
    }
}
