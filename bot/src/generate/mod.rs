//! The generation loop: for each tier of the route, up to its attempts,
//! render the prompt, call the model, parse and apply the edits in the work
//! dir, validate, and on failure feed the errors back and retry, then
//! escalate. A tier whose edits fail to parse or apply twice switches to
//! whole-file answers; a failing paid tier falls back to the local model
//! when configured; `CLARIFICATION_NEEDED:` stops with a question; the cost
//! guard skips paid calls that could pass a budget; approval parks the job
//! before the first paid call; an optional checker reviews the final diff
//! (always, when validation proved nothing about it).
//! Each tier's prompts are sized to its model's context window (`fit`): the
//! package is trimmed once per tier and kept for its retries unless a retry
//! must shrink it; a tier whose window cannot hold even a package without
//! files is skipped with the reason in the trail. A tier in agent mode
//! (`agent/`) works through tools and passes the same gate when it
//! finishes; one whose model cannot call tools goes on in edit mode.
//!
//! Every attempt records where its prompt went (provider, paid or not, the
//! repository paths in it); once the task's context or an answer touches a
//! `local_only_paths` glob, no paid call is sent for it.
//!
//! It must never send a paid call the budget does not cover, never send a
//! paid call for a task that touches local-only paths, never send a
//! prompt the model's window cannot hold, never keep a failed attempt's
//! edits in the work dir, and never log prompts or answers.

mod agent;
mod answer;
mod budget;
mod checker;
mod fit;
mod outcome;
mod pool;
mod progress;
mod workdir;

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use gitkeeper::context::ContextPackage;
use gitkeeper::edits::{AppliedEdits, PathPolicy};

pub use agent::activity as agent_activity;
pub use budget::{CostGuard, utc_day_start};
pub use checker::{CheckerVerdict, parse_verdict};
pub use fit::PackageFit;
pub use outcome::{Closest, Generation, GenerationOutcome};
pub use pool::ModelPool;
pub use progress::{Progress, ProgressSender};
pub use workdir::{RevertError, revert};

use crate::models::tokens::count_text;
use crate::models::{Completion, CompletionRequest, EditFormat, ModelSettings};
use crate::prompts::{
    CheckerPrompt, GenerationPrompt, Prompt, PromptError, Prompts, RetryPrompt, RevisePrompt,
};
use crate::queue::now_ms;
use crate::route::privacy::{LocalOnly, diff_paths, list, provider};
use crate::route::{Route, RouteSettings, RouteTier, TierMode};
use crate::trail::{Attempt, AttemptOutcome, AttemptRole, CallSlot};
use crate::validate::{ValidationReport, Validator};
use answer::{Judged, judge};
use fit::Window;

/// What one run of the loop is about.
#[derive(Debug, Clone)]
pub struct GenerateInput<'a> {
    /// The checkout the edits are applied to.
    pub work_dir: &'a Path,
    /// The issue title and body, untrusted.
    pub title: &'a str,
    pub body: &'a str,
    pub context: &'a ContextPackage,
    pub route: &'a Route,
    pub policy: &'a PathPolicy,
    /// Operator-written constraints for the prompt.
    pub constraints: &'a [String],
    /// A maintainer approved paid tiers for this job.
    pub cloud_approved: bool,
    /// What the repository spent today before this task (USD).
    pub spent_today_usd: f64,
    /// A revision of an existing change instead of the original task.
    pub revision: Option<Revision<'a>>,
    /// Where to say which model is working on which attempt.
    pub progress: Option<&'a ProgressSender>,
    /// Paths that never go to a paid model.
    pub local_only: &'a LocalOnly,
}

/// A maintainer's request to change a pull request.
#[derive(Debug, Clone, Copy)]
pub struct Revision<'a> {
    /// The pull request's diff against its base.
    pub diff: &'a str,
    /// The maintainer's words, untrusted.
    pub comment: &'a str,
    /// For a review comment: the file and line it is on.
    pub file: Option<&'a str>,
    pub line: Option<u64>,
}

/// The loop could not go on (not a model's failure: those are attempts).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GenerateError {
    #[error(transparent)]
    Prompt(#[from] PromptError),
    #[error(transparent)]
    Revert(#[from] RevertError),
    #[error(
        "the route names model `{0}`, which is not configured: add [models.{0}] to gitkeeper.toml"
    )]
    UnknownModel(String),
}

impl GenerateError {
    /// True when the loop may go through if run again later: only a work
    /// dir that could not be restored for a passing reason.
    pub fn is_transient(&self) -> bool {
        match self {
            GenerateError::Revert(e) => io_is_transient(&e.source),
            GenerateError::Prompt(_) | GenerateError::UnknownModel(_) => false,
        }
    }
}

/// True for I/O failures that pass by themselves (interrupted, timed out,
/// busy for a moment), not for a missing, denied or full-disk one.
pub(crate) fn io_is_transient(e: &std::io::Error) -> bool {
    use std::io::ErrorKind::*;
    matches!(e.kind(), Interrupted | TimedOut | WouldBlock | ResourceBusy)
}

/// Runs the loop; one per process, shared by jobs.
pub struct Generator {
    models: ModelPool,
    prompts: Prompts,
    validator: Arc<dyn Validator>,
    settings: RouteSettings,
}

/// The state of one run.
struct Run<'a> {
    input: &'a GenerateInput<'a>,
    guard: CostGuard,
    attempts: Vec<Attempt>,
    last_error: Option<String>,
    closest: Option<Box<Closest>>,
    /// Packages trimmed to fit a tier's window.
    packages: Vec<PackageFit>,
    /// The local-only paths the task's context, the revised diff or an
    /// answer touched so far: while any, no paid call is sent.
    private: Vec<String>,
    /// The context package the kept answer's prompt carried, rendered.
    kept_context: Option<String>,
}

/// A tier's context package and the first prompt built on it; its retries
/// extend that prompt, so the package stays the same unless one must shrink it.
struct TierBase {
    package: ContextPackage,
    prompt: Prompt,
}

/// What one model call and its judgement came to.
enum Step {
    Done(GenerationOutcome),
    Failed {
        outcome: AttemptOutcome,
        answer: String,
        errors: Vec<String>,
        files: Vec<String>,
    },
    /// The call itself failed; retrying this tier won't help.
    CallFailed,
    /// The cost guard or the privacy rule refused the call; the tier is skipped.
    Refused,
}

/// Why a call brought no answer.
enum NoAnswer {
    Failed,
    Refused,
}

/// What the checker decided about a validated change.
enum Review {
    /// Keep it (`None`: no checker ran).
    Keep(Option<CheckerVerdict>),
    /// Reject it, with notes for the worker.
    Reject(String),
    /// The checker is paid and not yet approved.
    Park { model: String },
}

impl Generator {
    pub fn new(
        models: ModelPool,
        prompts: Prompts,
        validator: Arc<dyn Validator>,
        settings: RouteSettings,
    ) -> Self {
        Self {
            models,
            prompts,
            validator,
            settings,
        }
    }

    /// Climb the route's ladder until an answer passes, a question is
    /// asked, approval is needed or every tier ran out.
    pub async fn run(&self, input: &GenerateInput<'_>) -> Result<Generation, GenerateError> {
        let started = Instant::now();
        let mut run = Run {
            input,
            guard: CostGuard::new(
                self.settings.max_usd_per_task,
                self.settings.max_usd_per_repo_per_day,
                input.spent_today_usd,
            ),
            attempts: Vec::new(),
            last_error: None,
            closest: None,
            packages: Vec::new(),
            private: Vec::new(),
            kept_context: None,
        };
        let mut touched = input.context.sent_paths();
        if let Some(revision) = &input.revision {
            touched.extend(diff_paths(revision.diff));
        }
        run.note_touched(touched.iter().map(String::as_str));
        let route = input.route;
        let mut escalations = 0;
        let mut outcome = None;
        for (index, tier) in route.tiers.iter().enumerate().skip(route.start) {
            if index > route.start {
                escalations += 1;
                tracing::info!(tier = index + 1, model = %tier.model, "escalating");
            }
            let tier_no = u32::try_from(index + 1).unwrap_or(u32::MAX);
            if tier.paid && self.settings.require_approval_for_cloud && !input.cloud_approved {
                outcome = Some(GenerationOutcome::Parked {
                    model: tier.model.clone(),
                    tier: tier_no,
                });
                break;
            }
            if let Some(done) = self.climb_tier(&mut run, tier, tier_no).await? {
                outcome = Some(done);
                break;
            }
        }
        let outcome = outcome.unwrap_or(GenerationOutcome::Exhausted {
            last_error: run.last_error.clone(),
            closest: run.closest.take(),
        });
        Ok(Generation {
            outcome,
            attempts: run.attempts,
            packages: run.packages,
            escalations,
            latency: started.elapsed(),
            local_only: run.private,
            context: run.kept_context,
        })
    }

    /// Up to the tier's attempts; `Some` ends the loop.
    async fn climb_tier(
        &self,
        run: &mut Run<'_>,
        tier: &RouteTier,
        tier_no: u32,
    ) -> Result<Option<GenerationOutcome>, GenerateError> {
        // A paid agent reads whatever it asks for, past the ledger's
        // local-only check: where local-only paths are set, a paid tier works
        // in edit mode, whose every call is checked.
        let agent_may_read = !tier.paid || run.input.local_only.is_empty();
        if tier.mode == TierMode::Agent && !agent_may_read {
            tracing::info!(model = %tier.model, "local-only paths are set: the paid tier works in edit mode");
        }
        if tier.mode == TierMode::Agent && agent_may_read {
            match self.climb_agent(run, tier, tier_no).await? {
                agent::AgentTier::Done(outcome) => return Ok(Some(*outcome)),
                agent::AgentTier::Spent => return Ok(None),
                agent::AgentTier::EditMode => {
                    tracing::info!(model = %tier.model, "the agent tier goes on in edit mode");
                }
            }
        }
        let settings = self.model_settings(&tier.model)?;
        let mut format = settings.edit_format;
        let sizing = Sizing {
            model: &tier.model,
            settings: &settings,
            tier: tier_no,
            role: AttemptRole::Worker,
        };
        let Some(mut base) = self.fit_base(run, &sizing, run.input.context, format)? else {
            return Ok(None);
        };
        let mut prompt = base.prompt.clone();
        let mut format_failures = 0;
        // What the retries add to the package: the files of earlier answers.
        let mut answered: Vec<String> = Vec::new();
        for n in 1..=tier.attempts {
            let sent = run.sent_paths(&base.package, &answered);
            let call = Call {
                model: &tier.model,
                settings: &settings,
                tier: tier_no,
                role: AttemptRole::Worker,
                prompt: &prompt,
                format,
                sent: &sent,
                context: Some(&base.package),
            };
            progress::send(
                run.input.progress,
                Progress::Calling {
                    model: tier.model.clone(),
                    tier: tier_no,
                    attempt: n,
                    of: tier.attempts,
                },
            );
            let step = self.attempt(run, &call).await?;
            let step = match step {
                Step::CallFailed if tier.paid && self.settings.fallback_to_local => {
                    self.fallback(run, tier_no).await?
                }
                other => other,
            };
            match step {
                Step::Done(outcome) => return Ok(Some(outcome)),
                Step::CallFailed | Step::Refused => return Ok(None),
                Step::Failed {
                    outcome,
                    answer,
                    errors,
                    files,
                } => {
                    answered.extend(files.iter().cloned());
                    if matches!(
                        outcome,
                        AttemptOutcome::ParseFailed | AttemptOutcome::ApplyFailed
                    ) {
                        format_failures += 1;
                    }
                    if n == tier.attempts {
                        break;
                    }
                    let whole_file = format == EditFormat::WholeFile
                        || format_failures >= self.settings.whole_file_after_failures;
                    if whole_file && format != EditFormat::WholeFile {
                        tracing::info!(model = %tier.model, "switching the tier to whole-file answers");
                        format = EditFormat::WholeFile;
                        let package = base.package.clone();
                        let Some(switched) = self.fit_base(run, &sizing, &package, format)? else {
                            return Ok(None);
                        };
                        base = switched;
                    }
                    let retry = RetryPrompt {
                        attempt: n,
                        previous_answer: &answer,
                        errors: &errors,
                        whole_file,
                        files: &files,
                    };
                    let Some(next) = self.fit_retry(run, &sizing, &mut base, format, &retry)?
                    else {
                        return Ok(None);
                    };
                    prompt = next;
                }
            }
        }
        Ok(None)
    }

    /// A paid tier's call failed: let the local fallback model answer once.
    async fn fallback(&self, run: &mut Run<'_>, tier_no: u32) -> Result<Step, GenerateError> {
        let name = self.settings.fallback_model.clone();
        let settings = self.model_settings(&name)?;
        tracing::info!(model = %name, "paid tier failed; falling back to the local model");
        let sizing = Sizing {
            model: &name,
            settings: &settings,
            tier: tier_no,
            role: AttemptRole::Fallback,
        };
        let Some(TierBase { prompt, package }) =
            self.fit_base(run, &sizing, run.input.context, settings.edit_format)?
        else {
            return Ok(Step::CallFailed);
        };
        let sent = run.sent_paths(&package, &[]);
        let call = Call {
            model: &name,
            settings: &settings,
            tier: tier_no,
            role: AttemptRole::Fallback,
            prompt: &prompt,
            format: settings.edit_format,
            sent: &sent,
            context: Some(&package),
        };
        progress::send(
            run.input.progress,
            Progress::Calling {
                model: name.clone(),
                tier: tier_no,
                attempt: 1,
                of: 1,
            },
        );
        self.attempt(run, &call).await
    }

    /// The tier's first prompt on the largest trim of `package` that its
    /// model's window holds; `None` (with the skip in the trail) when not
    /// even the package without files fits.
    fn fit_base(
        &self,
        run: &mut Run<'_>,
        sizing: &Sizing<'_>,
        package: &ContextPackage,
        format: EditFormat,
    ) -> Result<Option<TierBase>, GenerateError> {
        let input = run.input;
        let window = Window::of(sizing.settings);
        let fitted = fit::fit_package(package, window, window.retry_headroom(), |pkg| {
            self.base_prompt(input, pkg, format)
        })?;
        if let Some((package, prompt)) = fitted {
            run.note_package(sizing, window, &package);
            return Ok(Some(TierBase { package, prompt }));
        }
        let bare = self.base_prompt(input, &package.trimmed(0), format)?;
        let reason = format!(
            "the prompt needs {} tokens with no files in the context package, but context_window {} leaves {} after max_tokens {} for the answer: raise [models.{}] context_window or lower its max_tokens",
            fit::tokens(&bare),
            window.context_window,
            window.max_prompt(),
            window.max_tokens,
            sizing.model
        );
        run.skip_for_window(sizing, &bare, format, reason);
        Ok(None)
    }

    /// The retry prompt within the tier's window: on the tier's package when
    /// it fits, else on a smaller one (kept for the tier's later attempts),
    /// else on one without files with the previous answer cut, then the errors.
    fn fit_retry(
        &self,
        run: &mut Run<'_>,
        sizing: &Sizing<'_>,
        base: &mut TierBase,
        format: EditFormat,
        retry: &RetryPrompt<'_>,
    ) -> Result<Option<Prompt>, GenerateError> {
        let window = Window::of(sizing.settings);
        let max = window.max_prompt();
        let prompt = self.prompts.retry(&base.prompt, retry)?;
        if fit::tokens(&prompt) <= max {
            return Ok(Some(prompt));
        }
        let input = run.input;
        let fitted = fit::fit_package(&base.package, window, 0, |pkg| {
            let first = self.base_prompt(input, pkg, format)?;
            Ok::<_, GenerateError>(self.prompts.retry(&first, retry)?)
        })?;
        if let Some((package, prompt)) = fitted {
            base.prompt = self.base_prompt(input, &package, format)?;
            base.package = package;
            run.note_package(sizing, window, &base.package);
            return Ok(Some(prompt));
        }
        let bare = base.package.trimmed(0);
        let first = self.base_prompt(input, &bare, format)?;
        let mut answer = retry.previous_answer.to_string();
        let mut errors = retry.errors.to_vec();
        for cutting_answer in [true, false] {
            for _ in 0..4 {
                let prompt = self.prompts.retry(
                    &first,
                    &RetryPrompt {
                        previous_answer: &answer,
                        errors: &errors,
                        ..*retry
                    },
                )?;
                let used = fit::tokens(&prompt);
                if used <= max {
                    base.package = bare;
                    base.prompt = first;
                    run.note_package(sizing, window, &base.package);
                    return Ok(Some(prompt));
                }
                let over = used - max + 16;
                if cutting_answer {
                    let cut = fit::cut_text(
                        &answer,
                        count_text(&answer).saturating_sub(over),
                        "previous answer",
                    );
                    if cut == answer {
                        break;
                    }
                    answer = cut;
                } else {
                    let total = errors
                        .iter()
                        .map(|e| count_text(e).saturating_add(2))
                        .fold(0, u32::saturating_add);
                    let cut = fit::cut_errors(&errors, total.saturating_sub(over));
                    if cut == errors {
                        break;
                    }
                    errors = cut;
                }
            }
        }
        let reason = format!(
            "the retry prompt does not fit context_window {} (max_tokens {} kept for the answer) even with no files in the context package and the previous answer and errors cut: raise [models.{}] context_window or lower its max_tokens",
            window.context_window, window.max_tokens, sizing.model
        );
        run.skip_for_window(sizing, &first, format, reason);
        Ok(None)
    }

    fn base_prompt(
        &self,
        input: &GenerateInput<'_>,
        package: &ContextPackage,
        format: EditFormat,
    ) -> Result<Prompt, GenerateError> {
        if let Some(revision) = &input.revision {
            return Ok(self.prompts.revise(&RevisePrompt {
                context: package,
                diff: revision.diff,
                comment: revision.comment,
                file: revision.file,
                line: revision.line,
                edit_format: format,
            })?);
        }
        Ok(self.prompts.generation(&GenerationPrompt {
            context: package,
            title: input.title,
            body: input.body,
            edit_format: format,
            constraints: input.constraints,
        })?)
    }

    /// One call, recorded, and its answer judged.
    async fn attempt(&self, run: &mut Run<'_>, call: &Call<'_>) -> Result<Step, GenerateError> {
        let completion = match self.call(run, call).await {
            Ok(completion) => completion,
            Err(NoAnswer::Failed) => return Ok(Step::CallFailed),
            Err(NoAnswer::Refused) => return Ok(Step::Refused),
        };
        let mark = run.attempts.len();
        let input = run.input;
        progress::send(
            input.progress,
            Progress::Validating {
                model: call.model.to_string(),
            },
        );
        let judging = Instant::now();
        let judged = judge(
            &completion,
            input.work_dir,
            input.policy,
            &self.validator,
            input.route.validation,
        )
        .await?;
        let validation_ms = u64::try_from(judging.elapsed().as_millis()).unwrap_or(u64::MAX);
        // What the answer touched counts before anything else is sent (the checker).
        match &judged {
            Judged::Failed { files, .. } => run.note_touched(files.iter().map(String::as_str)),
            Judged::Passed { applied, .. } => {
                run.note_touched(applied.changes.iter().map(|c| c.path.as_str()))
            }
            Judged::Question(_) => {}
        }
        let (outcome, error, step) = match judged {
            Judged::Question(question) => (
                AttemptOutcome::Clarification,
                None,
                Step::Done(GenerationOutcome::Clarify {
                    question,
                    model: call.model.to_string(),
                }),
            ),
            Judged::Failed {
                outcome,
                errors,
                files,
                rejected,
            } => {
                if let Some(rejected) = rejected {
                    let (applied, validation) = *rejected;
                    run.closest = Some(Box::new(Closest {
                        applied,
                        validation,
                        model: call.model.to_string(),
                        prompt_sha256: call.prompt.sha256.clone(),
                    }));
                }
                (
                    outcome,
                    errors.first().map(|e| summarize(e)),
                    Step::Failed {
                        outcome,
                        answer: completion.text.clone(),
                        errors,
                        files,
                    },
                )
            }
            Judged::Passed { applied, report } => {
                match self.check(run, &applied, &report, call.tier).await? {
                    Review::Park { model } => {
                        revert(input.work_dir, &applied).await?;
                        (
                            AttemptOutcome::Passed,
                            None,
                            Step::Done(GenerationOutcome::Parked {
                                model,
                                tier: call.tier,
                            }),
                        )
                    }
                    Review::Reject(notes) => {
                        revert(input.work_dir, &applied).await?;
                        run.closest = Some(Box::new(Closest {
                            applied: applied.clone(),
                            validation: report.clone(),
                            model: call.model.to_string(),
                            prompt_sha256: call.prompt.sha256.clone(),
                        }));
                        (
                            AttemptOutcome::CheckerRejected,
                            Some(summarize(&notes)),
                            Step::Failed {
                                outcome: AttemptOutcome::CheckerRejected,
                                answer: completion.text.clone(),
                                errors: vec![format!("A reviewer rejected the change: {notes}")],
                                files: applied.changes.iter().map(|c| c.path.clone()).collect(),
                            },
                        )
                    }
                    Review::Keep(verdict) => {
                        run.kept_context = call.context.map(ContextPackage::render_for_prompt);
                        (
                            AttemptOutcome::Passed,
                            None,
                            Step::Done(GenerationOutcome::Succeeded {
                                applied,
                                validation: report,
                                checker: verdict,
                                worker: call.model.to_string(),
                                prompt_sha256: call.prompt.sha256.clone(),
                            }),
                        )
                    }
                }
            }
        };
        run.record(call, Some(&completion), outcome, error);
        if let Some(attempt) = run.attempts.last_mut() {
            attempt.validation_ms = validation_ms;
        }
        // The worker's attempt goes before the checker's it caused.
        run.attempts[mark..].rotate_right(1);
        for (i, attempt) in run.attempts.iter_mut().enumerate().skip(mark) {
            attempt.seq = u32::try_from(i + 1).unwrap_or(u32::MAX);
        }
        Ok(step)
    }

    /// Send the call unless the budget forbids it (the attempt is recorded
    /// either way when no answer comes).
    async fn call(&self, run: &mut Run<'_>, call: &Call<'_>) -> Result<Completion, NoAnswer> {
        if crate::route::is_paid(call.settings) && !run.private.is_empty() {
            let refusal = format!(
                "not sent: `{}` is a paid model and the task touches local-only paths ({})",
                call.model,
                list(&run.private)
            );
            tracing::warn!(model = call.model, %refusal, "privacy: a paid call was refused");
            run.record(call, None, AttemptOutcome::SkippedPrivacy, Some(refusal));
            return Err(NoAnswer::Refused);
        }
        let prompt_tokens = crate::models::tokens::count_messages(&call.prompt.messages);
        let worst = CostGuard::worst_case(call.settings, prompt_tokens, call.settings.max_tokens);
        if let Some(refusal) = run.guard.refusal(worst) {
            tracing::warn!(model = call.model, %refusal, "cost guard skipped a paid call");
            run.record(call, None, AttemptOutcome::SkippedBudget, Some(refusal));
            return Err(NoAnswer::Refused);
        }
        let result = match self.models.backend(call.model) {
            Ok(backend) => {
                let request = CompletionRequest::new(call.prompt.messages.clone())
                    .with_max_tokens(call.settings.max_tokens);
                backend.complete(&request).await.map_err(|e| {
                    tracing::warn!(model = call.model, error = %e, kind = ?e.kind(), "model call failed");
                    e.to_string()
                })
            }
            Err(e) => Err(e),
        };
        match result {
            Ok(completion) => {
                run.guard.spend(completion.cost_usd);
                Ok(completion)
            }
            Err(e) => {
                run.record(call, None, AttemptOutcome::ModelFailed, Some(e));
                Err(NoAnswer::Failed)
            }
        }
    }

    /// Ask the route's checker about the applied change.
    async fn check(
        &self,
        run: &mut Run<'_>,
        applied: &AppliedEdits,
        report: &ValidationReport,
        tier: u32,
    ) -> Result<Review, GenerateError> {
        // A change the checks could not exercise is reviewed whatever the complexity.
        let route = run.input.route;
        let checker = match &route.checker {
            Some(name) => Some(name),
            None if report.proved_nothing() => route.unproven_checker.as_ref(),
            None => None,
        };
        let Some(name) = checker.cloned() else {
            return Ok(Review::Keep(None));
        };
        let settings = self.model_settings(&name)?;
        if crate::route::is_paid(&settings)
            && self.settings.require_approval_for_cloud
            && !run.input.cloud_approved
        {
            return Ok(Review::Park { model: name });
        }
        let diff = applied.diff().text;
        let prompt = self.prompts.checker(&CheckerPrompt {
            title: run.input.title,
            body: run.input.body,
            diff: &diff,
            validation: &report.summary(),
            min_confidence: self.settings.min_confidence,
        })?;
        let sent: Vec<String> = applied.changes.iter().map(|c| c.path.clone()).collect();
        let call = Call {
            model: &name,
            settings: &settings,
            tier,
            role: AttemptRole::Checker,
            prompt: &prompt,
            format: settings.edit_format,
            sent: &sent,
            context: None,
        };
        let Ok(completion) = self.call(run, &call).await else {
            // No checker answer (down, over budget, or kept off a paid
            // model by local-only paths): keep the validated change, say so.
            tracing::warn!(checker = %name, "the checker did not answer; keeping the validated change unchecked");
            return Ok(Review::Keep(None));
        };
        let min = self.settings.min_confidence;
        let verdict = match parse_verdict(&completion.text) {
            Ok(v) if v.accepts(min) => Ok(Some(v)),
            Ok(v) => Err(format!(
                "verdict {} with confidence {:.2} (at least {min:.2} needed): {}",
                if v.pass { "pass" } else { "fail" },
                v.confidence,
                v.notes
            )),
            Err(e) => Err(e),
        };
        let (outcome, error) = match &verdict {
            Ok(_) => (AttemptOutcome::Passed, None),
            Err(e) => (AttemptOutcome::CheckerRejected, Some(summarize(e))),
        };
        run.record(&call, Some(&completion), outcome, error);
        Ok(match verdict {
            Ok(v) => Review::Keep(v),
            Err(notes) => Review::Reject(notes),
        })
    }

    fn model_settings(&self, name: &str) -> Result<ModelSettings, GenerateError> {
        self.models
            .settings(name)
            .cloned()
            .ok_or_else(|| GenerateError::UnknownModel(name.to_string()))
    }
}

/// Whose window a tier's prompts are sized to.
struct Sizing<'a> {
    model: &'a str,
    settings: &'a ModelSettings,
    tier: u32,
    role: AttemptRole,
}

/// One model call: who, for which tier, with what.
struct Call<'p> {
    model: &'p str,
    settings: &'p ModelSettings,
    tier: u32,
    role: AttemptRole,
    prompt: &'p Prompt,
    format: EditFormat,
    /// Repository paths whose content the prompt carries (the ledger).
    sent: &'p [String],
    /// The context package the prompt carries, if any.
    context: Option<&'p ContextPackage>,
}

impl Run<'_> {
    /// Note paths the task touched; the local-only ones keep it off paid models.
    fn note_touched<'p>(&mut self, paths: impl IntoIterator<Item = &'p str>) {
        let hits = self.input.local_only.matching(paths);
        if hits.is_empty() {
            return;
        }
        self.private.extend(hits);
        self.private.sort();
        self.private.dedup();
    }

    /// The paths a prompt on `package` carries, with the revised diff's and
    /// the `answered` files of earlier attempts.
    fn sent_paths(&self, package: &ContextPackage, answered: &[String]) -> Vec<String> {
        let mut paths = package.sent_paths();
        if let Some(revision) = &self.input.revision {
            paths.extend(diff_paths(revision.diff));
        }
        paths.extend(answered.iter().cloned());
        paths.sort();
        paths.dedup();
        paths
    }

    /// Note a package trimmed to fit `sizing`'s window (once per change).
    fn note_package(&mut self, sizing: &Sizing<'_>, window: Window, package: &ContextPackage) {
        let full = self.input.context;
        if package.budget.used_tokens >= full.budget.used_tokens {
            return;
        }
        let fit = PackageFit::of(sizing.tier, sizing.model, window, package, full);
        if self.packages.last() != Some(&fit) {
            tracing::info!(%fit, "context package trimmed to the model's window");
            self.packages.push(fit);
        }
    }

    /// Record that `sizing`'s tier was not called: its window cannot hold the prompt.
    fn skip_for_window(
        &mut self,
        sizing: &Sizing<'_>,
        prompt: &Prompt,
        format: EditFormat,
        reason: String,
    ) {
        tracing::warn!(model = sizing.model, tier = sizing.tier, %reason, "tier skipped: its context window is too small");
        let call = Call {
            model: sizing.model,
            settings: sizing.settings,
            tier: sizing.tier,
            role: sizing.role,
            prompt,
            format,
            sent: &[],
            context: None,
        };
        self.record(&call, None, AttemptOutcome::SkippedWindow, Some(reason));
    }

    /// Append the attempt `call` came to.
    fn record(
        &mut self,
        call: &Call<'_>,
        completion: Option<&Completion>,
        outcome: AttemptOutcome,
        error: Option<String>,
    ) {
        if let Some(e) = &error {
            self.last_error = Some(format!("{}: {e}", call.model));
        }
        let slot = CallSlot {
            seq: u32::try_from(self.attempts.len() + 1).unwrap_or(u32::MAX),
            tier: call.tier,
            role: call.role,
            model: call.model,
            edit_format: call.format,
            prompt_sha256: &call.prompt.sha256,
            provider: &provider(call.settings),
            paid: crate::route::is_paid(call.settings),
            sent_paths: call.sent,
        };
        self.attempts
            .push(Attempt::of_call(slot, completion, outcome, error, now_ms()));
    }
}

/// The first line of an error, at most 300 characters, for the trail.
fn summarize(error: &str) -> String {
    // "<check> failed:" says little without the lines after it: join lines
    // while they end in a colon (at most three).
    let mut line = String::new();
    for next in error
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .take(3)
    {
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(next);
        if !next.ends_with(':') {
            break;
        }
    }
    match line.char_indices().nth(300) {
        Some((cut, _)) => format!("{}…", &line[..cut]),
        None => line,
    }
}
