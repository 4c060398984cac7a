//! Agent mode: a ladder tier whose model works through tools (list, read,
//! search, edit, run one planned check, ask, finish) instead of answering
//! once with edits from a fixed context package (seed 003). The change it
//! makes passes the same gate as edit mode when it calls `finish`: the
//! validator (static checks, the repository's commands) and the checker
//! where the route names one; a failing gate's errors go back to the agent
//! as the answer to its `finish`, up to the tier's attempts. Each segment
//! (the turns up to a `finish`, or up to the end) is one attempt in the
//! trail, with its tool calls.
//!
//! It must never keep an unfinished or failed session's edits in the work
//! dir, let the agent's own `run_check` stand in for the gate, or go past a
//! budget: the cost guard before every paid call, the token and call caps of
//! `[route.agent]`. Too many malformed calls send the tier to edit mode.

mod budget;
mod session;
mod tools;

use std::collections::BTreeMap;

use gitkeeper::edits::AppliedEdits;

use super::answer::trim_errors;
use super::progress::{self, Progress};
use super::{Closest, GenerateError, GenerationOutcome, Generator, Review, Run, revert, summarize};
use crate::prompts::AgentPrompt;
use crate::queue::now_ms;
use crate::route::RouteTier;
use crate::trail::{Attempt, AttemptOutcome, AttemptRole, CallSlot, TierMode, ToolCallRecord};
use crate::validate::ValidationReport;
use session::{End, Session, Workspace};

/// How an agent tier ended.
pub(super) enum AgentTier {
    /// The loop ends (a change, a question, parked for approval).
    Done(Box<GenerationOutcome>),
    /// The tier is spent: the ladder goes on.
    Spent,
    /// Too many malformed calls: the tier goes on in edit mode.
    EditMode,
}

/// What the gate said about the change a `finish` offered.
enum Gate {
    Passed(ValidationReport, Option<super::CheckerVerdict>),
    Park(String),
    Failed(AttemptOutcome, Vec<String>),
}

impl Generator {
    /// Run the tier `tier` as an agent session.
    pub(super) async fn climb_agent(
        &self,
        run: &mut Run<'_>,
        tier: &RouteTier,
        tier_no: u32,
    ) -> Result<AgentTier, GenerateError> {
        let settings = self.model_settings(&tier.model)?;
        let input = run.input;
        let level = input.route.validation;
        let checks = self.validator.check_names(level);
        // The task, the gitkeeper doc and rules and the tree: the agent reads files itself.
        let package = input.context.trimmed(0);
        let prompt = self.prompts.agent(&AgentPrompt {
            context: &package,
            title: input.title,
            body: input.body,
            revision: input.revision.map(|r| (r.diff, r.comment)),
            edit_format: settings.edit_format,
            checks: &checks,
            constraints: input.constraints,
        })?;
        let record =
            |run: &mut Run<'_>, segment: session::Segment, outcome, error: Option<String>| {
                run.record_agent(
                    &tier.model,
                    &settings,
                    tier_no,
                    &prompt.sha256,
                    segment,
                    outcome,
                    error,
                );
            };
        let backend = match self.models.backend(&tier.model) {
            Ok(backend) => backend,
            Err(error) => {
                record(
                    run,
                    session::Segment::default(),
                    AttemptOutcome::ModelFailed,
                    Some(error),
                );
                // A paid tier that cannot be called (no key, bad endpoint)
                // falls back to the local model, as in edit mode.
                return Ok(after_failed_call(tier, self.settings.fallback_to_local));
            }
        };
        let mut session = Session::new(
            Workspace {
                work_dir: input.work_dir,
                policy: input.policy,
                validator: &self.validator,
                level,
                checks,
            },
            session::Worker {
                model: &tier.model,
                settings: &settings,
                backend,
                tier: tier_no,
                progress: input.progress,
            },
            &self.settings.agent,
            prompt.messages.clone(),
        );
        progress::send(
            input.progress,
            Progress::Agent {
                model: tier.model.clone(),
                tier: tier_no,
                did: activity(&[]),
            },
        );
        let mut gates = 0;
        loop {
            let end = session.run(&mut run.guard).await;
            if let Some((outcome, error, next)) = unfinished(end, &tier.model) {
                revert(input.work_dir, &session.applied).await?;
                let segment = session.take_segment();
                let failed_call = outcome == AttemptOutcome::ModelFailed;
                record(run, segment, outcome, error);
                if failed_call {
                    return Ok(after_failed_call(tier, self.settings.fallback_to_local));
                }
                return Ok(next);
            }
            gates += 1;
            let mark = run.attempts.len();
            let judging = std::time::Instant::now();
            let gate = self
                .gate(run, &session.applied, tier_no, &tier.model, &prompt.sha256)
                .await?;
            let validation_ms = u64::try_from(judging.elapsed().as_millis()).unwrap_or(u64::MAX);
            let segment = session.take_segment();
            let (done, outcome, error) = match gate {
                Gate::Passed(report, checker) => (
                    Some(AgentTier::Done(Box::new(GenerationOutcome::Succeeded {
                        applied: session.applied.clone(),
                        validation: report,
                        checker,
                        worker: tier.model.clone(),
                        prompt_sha256: prompt.sha256.clone(),
                    }))),
                    AttemptOutcome::Passed,
                    None,
                ),
                Gate::Park(model) => {
                    revert(input.work_dir, &session.applied).await?;
                    (
                        Some(AgentTier::Done(Box::new(GenerationOutcome::Parked {
                            model,
                            tier: tier_no,
                        }))),
                        AttemptOutcome::Passed,
                        None,
                    )
                }
                Gate::Failed(outcome, errors) => {
                    let error = errors.first().map(|e| summarize(e));
                    if gates >= tier.attempts {
                        revert(input.work_dir, &session.applied).await?;
                        (Some(AgentTier::Spent), outcome, error)
                    } else {
                        session.reject_finish(&errors);
                        (None, outcome, error)
                    }
                }
            };
            record(run, segment, outcome, error);
            if let Some(attempt) = run.attempts.last_mut() {
                attempt.validation_ms = validation_ms;
            }
            // The worker's attempt goes before the checker's it caused.
            run.attempts[mark..].rotate_right(1);
            for (i, attempt) in run.attempts.iter_mut().enumerate().skip(mark) {
                attempt.seq = u32::try_from(i + 1).unwrap_or(u32::MAX);
            }
            if let Some(done) = done {
                return Ok(done);
            }
        }
    }

    /// The gate of edit mode for the agent's change: the validator, then
    /// the checker where the route names one.
    async fn gate(
        &self,
        run: &mut Run<'_>,
        applied: &AppliedEdits,
        tier_no: u32,
        model: &str,
        prompt_sha256: &str,
    ) -> Result<Gate, GenerateError> {
        if applied.is_empty() {
            return Ok(Gate::Failed(
                AttemptOutcome::ValidationFailed,
                vec![
                    "You changed no file: make the change with `edit`, then call `finish`.".into(),
                ],
            ));
        }
        let input = run.input;
        progress::send(
            input.progress,
            Progress::Validating {
                model: model.to_string(),
            },
        );
        let report = self
            .validator
            .validate(input.work_dir, applied, input.route.validation)
            .await;
        let closest = |report: &ValidationReport| {
            Some(Box::new(Closest {
                applied: applied.clone(),
                validation: report.clone(),
                model: model.to_string(),
                prompt_sha256: prompt_sha256.to_string(),
            }))
        };
        if !report.passed {
            run.closest = closest(&report);
            return Ok(Gate::Failed(
                AttemptOutcome::ValidationFailed,
                trim_errors(report.errors()),
            ));
        }
        Ok(match self.check(run, applied, &report, tier_no).await? {
            Review::Keep(verdict) => Gate::Passed(report, verdict),
            Review::Park { model } => Gate::Park(model),
            Review::Reject(notes) => {
                run.closest = closest(&report);
                Gate::Failed(
                    AttemptOutcome::CheckerRejected,
                    vec![format!("A reviewer rejected the change: {notes}")],
                )
            }
        })
    }
}

/// After a failed call: a paid tier that `fallback_to_local` covers goes on
/// in edit mode, whose every attempt falls back to the local model when the
/// paid call fails (as a tier in edit mode always did); otherwise the tier
/// is spent.
fn after_failed_call(tier: &RouteTier, fallback_to_local: bool) -> AgentTier {
    if tier.paid && fallback_to_local {
        tracing::info!(model = %tier.model, "the agent's model could not be called; the tier goes on in edit mode with the local fallback");
        AgentTier::EditMode
    } else {
        AgentTier::Spent
    }
}

/// How a session that did not `finish` ends the tier: the attempt's
/// outcome and error, and what comes next; `None` for a `finish`.
fn unfinished(end: End, model: &str) -> Option<(AttemptOutcome, Option<String>, AgentTier)> {
    Some(match end {
        End::Finished { .. } => return None,
        End::Asked { question } => (
            AttemptOutcome::Clarification,
            None,
            AgentTier::Done(Box::new(GenerationOutcome::Clarify {
                question,
                model: model.to_string(),
            })),
        ),
        End::Stopped { reason } => (
            AttemptOutcome::StoppedBudget,
            Some(format!("agent stopped: {reason}")),
            AgentTier::Spent,
        ),
        End::Malformed { reason } => (
            AttemptOutcome::MalformedToolCalls,
            Some(format!("{reason}; the tier goes on in edit mode")),
            AgentTier::EditMode,
        ),
        End::CallFailed { error } => (AttemptOutcome::ModelFailed, Some(error), AgentTier::Spent),
    })
}

impl Run<'_> {
    /// Append the attempt an agent segment came to.
    #[allow(clippy::too_many_arguments)]
    fn record_agent(
        &mut self,
        model: &str,
        settings: &crate::models::ModelSettings,
        tier: u32,
        prompt_sha256: &str,
        segment: session::Segment,
        outcome: AttemptOutcome,
        error: Option<String>,
    ) {
        if let Some(e) = &error {
            self.last_error = Some(format!("{model}: {e}"));
        }
        // The ledger: the files whose content the agent read back to the model.
        let read = read_paths(&segment.tool_calls);
        let provider = crate::route::privacy::provider(settings);
        let slot = CallSlot {
            seq: u32::try_from(self.attempts.len() + 1).unwrap_or(u32::MAX),
            tier,
            role: AttemptRole::Worker,
            model,
            edit_format: settings.edit_format,
            prompt_sha256,
            provider: &provider,
            paid: crate::route::is_paid(settings),
            sent_paths: &read,
        };
        let mut attempt = Attempt::of_call(slot, None, outcome, error, now_ms());
        attempt.served_model = segment.served_model;
        attempt.prompt_tokens = segment.prompt_tokens;
        attempt.completion_tokens = segment.completion_tokens;
        attempt.usage_estimated = segment.estimated;
        attempt.cost_usd = segment.cost_usd;
        attempt.latency_ms = segment.latency_ms;
        attempt.mode = TierMode::Agent;
        attempt.tool_calls = segment.tool_calls;
        self.attempts.push(attempt);
    }
}

/// The paths of the agent's successful `read_file` calls, sorted, once each.
fn read_paths(calls: &[ToolCallRecord]) -> Vec<String> {
    let paths: std::collections::BTreeSet<String> = calls
        .iter()
        .filter(|call| call.ok && call.tool == "read_file")
        .filter_map(|call| argument(call, "path"))
        .collect();
    paths.into_iter().collect()
}

/// A string argument of a recorded tool call (its arguments are JSON).
fn argument(call: &ToolCallRecord, key: &str) -> Option<String> {
    let value: serde_json::Value = serde_json::from_str(&call.arguments).ok()?;
    value.get(key)?.as_str().map(str::to_string)
}

/// What an agent did, in a few words: "read 6 files, searched twice, edited
/// 2 files, ran typecheck twice".
pub fn activity(calls: &[ToolCallRecord]) -> String {
    let mut read = std::collections::BTreeSet::new();
    let mut edited = std::collections::BTreeSet::new();
    let (mut listed, mut searched, mut failed) = (0usize, 0u32, 0u32);
    let mut checks: BTreeMap<String, u32> = BTreeMap::new();
    for call in calls {
        if !call.ok {
            failed += 1;
        }
        match call.tool.as_str() {
            tools::READ_FILE if call.ok => {
                read.insert(argument(call, "path").unwrap_or_default());
            }
            tools::LIST_FILES if call.ok => listed += 1,
            tools::SEARCH if call.ok => searched += 1,
            tools::EDIT if call.ok => {
                let files: Vec<String> = serde_json::from_str::<serde_json::Value>(&call.arguments)
                    .ok()
                    .and_then(|v| serde_json::from_value(v["files"].clone()).ok())
                    .unwrap_or_default();
                edited.extend(files);
            }
            tools::RUN_CHECK if call.ok => {
                *checks
                    .entry(argument(call, "name").unwrap_or_default())
                    .or_default() += 1;
            }
            _ => {}
        }
    }
    let count = |n: usize, one: &str, many: &str| {
        if n == 1 {
            format!("1 {one}")
        } else {
            format!("{n} {many}")
        }
    };
    let mut parts = Vec::new();
    if !read.is_empty() {
        parts.push(format!("read {}", count(read.len(), "file", "files")));
    }
    if listed > 0 {
        parts.push(format!(
            "listed {}",
            count(listed, "directory", "directories")
        ));
    }
    if searched > 0 {
        parts.push(format!("searched {}", times(searched)));
    }
    if !edited.is_empty() {
        parts.push(format!("edited {}", count(edited.len(), "file", "files")));
    }
    for (name, n) in checks {
        parts.push(format!("ran {name} {}", times(n)));
    }
    if failed > 0 {
        parts.push(format!("{failed} call(s) refused or failed"));
    }
    if parts.is_empty() {
        return "starting".into();
    }
    parts.join(", ")
}

fn times(n: u32) -> String {
    match n {
        1 => "once".into(),
        2 => "twice".into(),
        n => format!("{n} times"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(tool: &str, arguments: &str, ok: bool) -> ToolCallRecord {
        ToolCallRecord {
            tool: tool.into(),
            arguments: arguments.into(),
            result_chars: 10,
            ms: 1,
            ok,
        }
    }

    #[test]
    fn activity_says_what_the_agent_did_in_a_few_words() {
        assert_eq!(activity(&[]), "starting");
        let calls = [
            call("list_files", r#"{"path":"."}"#, true),
            call("read_file", r#"{"path":"src/a.ts"}"#, true),
            call("read_file", r#"{"path":"src/a.ts","start_line":40}"#, true),
            call("read_file", r#"{"path":"src/b.ts"}"#, true),
            call("search", r#"{"pattern":"total"}"#, true),
            call("edit", r#"{"files":["src/a.ts","src/c.ts"]}"#, true),
            call("run_check", r#"{"name":"typecheck"}"#, false),
            call("run_check", r#"{"name":"typecheck"}"#, true),
            call("read_file", r#"{"path":"../x"}"#, false),
        ];
        assert_eq!(
            activity(&calls),
            "read 2 files, listed 1 directory, searched once, edited 2 files, ran typecheck once, 2 call(s) refused or failed"
        );
    }
}
