//! The Gitkeeper GitHub App. Each folder is one stage of the job path in
//! DESIGN.md; `pipeline/` strings them together.
//!
//! # Module map
//!
//! Data flows forward as typed values. **Stages**, in the order of the job
//! path, import only from earlier stages and from the leaves:
//!
//! | stage | module | what it does |
//! |---|---|---|
//! | front door | [`ingress`] | verify, dedupe and parse a webhook into an [`intent::Intent`]; store the job; answer 202 |
//! | checkout | [`checkout`] | mirror per repository, the wanted commit in a job dir |
//! | models | [`models`], [`runner_api`] | model backends and their settings; the runner relay for local tiers |
//! | route | [`route`] | classify the task, pick the escalation ladder |
//! | prompts | [`prompts`] | minijinja templates and the prompts built from them |
//! | validate | [`validate`] | static checks, then the repository's commands in the sandbox |
//! | generate | [`generate`] | the loop over the ladder: call, parse, apply, judge, retry, escalate |
//! | publish | [`publish`] | commit, branch ownership, pull request, check run, labels → `Publication` |
//!
//! **Leaves**, which any module may use and which import no stage: [`ids`]
//! (newtypes), [`intent`] (what a webhook asks, `InstallationChange`),
//! [`trail`] (attempts and task records as plain data), [`markers`] (every
//! hidden marker the bot writes into GitHub text), [`queue`] (the job store:
//! one SQL implementation over a `Dialect`), [`metrics`], [`github`] (REST
//! access as the App), [`telemetry`] and [`tls`]; in tests, `testing` (proof
//! that a step's blocking I/O stays off the runtime).
//!
//! **Sequencers** call the stages in order and are imported by none of them:
//! [`worker`] (lease, heartbeat, run the pipeline, record the end),
//! [`pipeline`] (authorize, status comment, checkout, task, publish) and
//! [`task`] (context → route → prompts → generation loop in one work dir,
//! shared by the worker and [`solve`]). **Composition roots**: [`serve`],
//! [`solve`], [`eval`] (a suite's tasks through [`task`], judged by hidden
//! checks), [`stats`] (figures and the privacy ledger from the attempt
//! trail), [`tune`] (ladder and model changes from the trail and eval
//! results), [`export`] (finished tasks for fine-tuning), [`dashboard`]
//! (the same figures as a web page) and `main.rs`.
//!
//! One exception, on purpose: [`config`] is a leaf that imports the settings
//! types of [`models`], [`prompts`] and [`route`], because one file holds
//! every stage's section and is validated as a whole at start-up.

pub mod checkout;
pub mod config;
pub mod dashboard;
pub mod eval;
pub mod export;
pub mod generate;
pub mod github;
pub mod ids;
pub mod ingress;
pub mod intent;
pub mod markers;
pub mod metrics;
pub mod models;
pub mod pipeline;
pub mod prompts;
pub mod publish;
pub mod queue;
pub mod route;
pub mod runner_api;
pub mod serve;
pub mod solve;
pub mod stats;
pub mod task;
pub mod telemetry;
pub mod tls;
pub mod trail;
pub mod tune;
pub mod validate;
pub mod worker;

#[cfg(test)]
mod layering;
#[cfg(test)]
mod testing;
