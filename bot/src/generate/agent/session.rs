//! One agent session: the conversation with a model that calls tools, run
//! turn by turn until it finishes, asks, runs out of a budget, makes too
//! many malformed calls, or its call fails. Every call's result goes back to
//! the model; every tool call is recorded for the trail.
//!
//! Must never: send a call the cost guard, the token cap or the model's
//! window does not allow; run a tool call past the call cap; run a check
//! that is not in the validation plan; log the conversation.

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use gitkeeper::edits::{AppliedEdits, PathPolicy};
use serde_json::Value;

use super::budget::Budget;
use super::tools::{self, Malformed, Request};
use crate::generate::CostGuard;
use crate::generate::answer::trim_errors;
use crate::generate::progress::{self, Progress, ProgressSender};
use crate::models::tokens::count_request;
use crate::models::{
    ChatMessage, Completion, CompletionRequest, ModelBackend, ModelSettings, ToolCall, ToolSpec,
};
use crate::route::{AgentSettings, ValidationLevel};
use crate::trail::ToolCallRecord;
use crate::validate::Validator;

/// Characters of a call's arguments the trail keeps.
const MAX_TRAIL_ARGUMENT_CHARS: usize = 300;

/// How a session stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum End {
    /// The agent called `finish`: the change goes to the gate.
    Finished { summary: String },
    /// The agent asked the maintainer.
    Asked { question: String },
    /// A cap (tool calls, tokens, the window) or the cost guard stopped it.
    Stopped { reason: String },
    /// Too many malformed calls: the tier goes on in edit mode.
    Malformed { reason: String },
    /// The model call failed.
    CallFailed { error: String },
}

/// What the model calls of one segment (the turns up to a `finish` or an
/// end) used, for its attempt record.
#[derive(Debug, Clone, Default)]
pub struct Segment {
    pub prompt_tokens: u32,
    pub completion_tokens: u32,
    pub estimated: bool,
    pub cost_usd: f64,
    pub latency_ms: u64,
    pub served_model: String,
    pub tool_calls: Vec<ToolCallRecord>,
}

impl Segment {
    fn add(&mut self, completion: &Completion) {
        self.prompt_tokens = self
            .prompt_tokens
            .saturating_add(completion.usage.prompt_tokens);
        self.completion_tokens = self
            .completion_tokens
            .saturating_add(completion.usage.completion_tokens);
        self.estimated |= completion.usage.estimated;
        self.cost_usd += completion.cost_usd;
        self.latency_ms = self
            .latency_ms
            .saturating_add(u64::try_from(completion.latency.as_millis()).unwrap_or(u64::MAX));
        self.served_model = completion.model.clone();
    }
}

/// Where the session works and what it may use.
pub struct Workspace<'a> {
    pub work_dir: &'a Path,
    pub policy: &'a PathPolicy,
    pub validator: &'a Arc<dyn Validator>,
    pub level: ValidationLevel,
    /// The checks `run_check` accepts (the plan's, from the base commit).
    pub checks: Vec<String>,
}

/// Who works, for the status comment.
pub struct Worker<'a> {
    pub model: &'a str,
    pub settings: &'a ModelSettings,
    pub backend: Arc<dyn ModelBackend>,
    pub tier: u32,
    pub progress: Option<&'a ProgressSender>,
}

/// A running agent conversation.
pub struct Session<'a> {
    space: Workspace<'a>,
    worker: Worker<'a>,
    tools: Vec<ToolSpec>,
    messages: Vec<ChatMessage>,
    pub budget: Budget,
    /// Everything the agent's edits changed so far, one entry per file.
    pub applied: AppliedEdits,
    /// Every tool call of the session (for the progress line).
    all_calls: Vec<ToolCallRecord>,
    segment: Segment,
    /// A `finish` waiting for the gate's verdict.
    pending_finish: Option<ToolCall>,
}

impl<'a> Session<'a> {
    /// A session starting from `messages` (system and task).
    pub fn new(
        space: Workspace<'a>,
        worker: Worker<'a>,
        agent: &AgentSettings,
        messages: Vec<ChatMessage>,
    ) -> Self {
        let tools = tools::specs(&space.checks);
        Self {
            space,
            worker,
            tools,
            messages,
            budget: Budget::new(agent),
            applied: AppliedEdits::default(),
            all_calls: Vec::new(),
            segment: Segment::default(),
            pending_finish: None,
        }
    }

    /// What the segment since the last call used; starts the next one.
    pub fn take_segment(&mut self) -> Segment {
        std::mem::take(&mut self.segment)
    }

    /// The gate refused the change `finish` offered: the model reads why
    /// as the answer to its `finish`, and goes on.
    pub fn reject_finish(&mut self, errors: &[String]) {
        let feedback = format!(
            "The change is not done: the repository's checks failed.\n\n{}\n\nFix these problems with `edit` (check with `run_check`), then call `finish` again.",
            errors.join("\n\n")
        );
        match self.pending_finish.take() {
            Some(call) => self
                .messages
                .push(ChatMessage::tool_result(&call, feedback)),
            None => self.messages.push(ChatMessage::user(feedback)),
        }
    }

    /// Turns until the session ends. `guard` is the task's cost guard.
    pub async fn run(&mut self, guard: &mut CostGuard) -> End {
        loop {
            let completion = match self.call(guard).await {
                Ok(completion) => completion,
                Err(end) => return end,
            };
            if let Some(end) = self.answer(completion).await {
                self.show_progress();
                return end;
            }
            if let Some(warning) = self.budget.warning() {
                self.messages.push(ChatMessage::user(warning));
            }
            self.show_progress();
        }
    }

    /// One model call, if every budget allows it.
    async fn call(&mut self, guard: &mut CostGuard) -> Result<Completion, End> {
        let settings = self.worker.settings;
        let max_tokens = settings.max_tokens;
        let request = CompletionRequest::new(self.messages.clone())
            .with_max_tokens(max_tokens)
            .with_tools(self.tools.clone());
        let prompt_tokens = count_request(&request);
        if u64::from(prompt_tokens) + u64::from(max_tokens) > u64::from(settings.context_window) {
            return Err(End::Stopped {
                reason: format!(
                    "the conversation ({prompt_tokens} tokens) and an answer of up to {max_tokens} no longer fit the model's context window of {}",
                    settings.context_window
                ),
            });
        }
        if let Some(reason) = self.budget.refuse_call(prompt_tokens, max_tokens) {
            return Err(End::Stopped { reason });
        }
        let worst = CostGuard::worst_case(settings, prompt_tokens, max_tokens);
        if let Some(reason) = guard.refusal(worst) {
            tracing::warn!(model = self.worker.model, %reason, "cost guard stopped an agent");
            return Err(End::Stopped { reason });
        }
        match self.worker.backend.complete(&request).await {
            Ok(completion) => {
                guard.spend(completion.cost_usd);
                self.budget.spend_tokens(completion.usage.total());
                self.segment.add(&completion);
                Ok(completion)
            }
            Err(e) => {
                tracing::warn!(model = self.worker.model, error = %e, kind = ?e.kind(), "agent model call failed");
                Err(End::CallFailed {
                    error: e.to_string(),
                })
            }
        }
    }

    /// Handle one answer: run its tool calls; `Some` when the session ends.
    async fn answer(&mut self, completion: Completion) -> Option<End> {
        if completion.tool_calls.is_empty() {
            self.messages
                .push(ChatMessage::assistant(completion.text.clone()));
            if self.budget.malformed_call() {
                return Some(End::Malformed {
                    reason: format!(
                        "{} answers or calls the tools could not read (the last: an answer without a tool call)",
                        self.budget.malformed
                    ),
                });
            }
            let cut = if completion.is_truncated() {
                " Your answer was cut off at the token limit."
            } else {
                ""
            };
            self.messages.push(ChatMessage::user(format!(
                "Error: you answered without calling a tool.{cut} Work only through the tools: read with `read_file`, change files with `edit`, and call `finish` when the change is complete."
            )));
            return None;
        }
        let calls = completion.tool_calls.clone();
        self.messages.push(ChatMessage::assistant_calls(
            completion.text.clone(),
            calls.clone(),
        ));
        let mut end = None;
        for call in &calls {
            if end.is_some() {
                self.reply(
                    call,
                    "Not run: an earlier call of this turn ended the work.",
                );
                continue;
            }
            if let Err(reason) = self.budget.take_call() {
                self.reply(call, &format!("Not run: {reason}."));
                end = Some(End::Stopped { reason });
                continue;
            }
            end = self.one_call(call).await;
        }
        end
    }

    /// Run one call and record it; `Some` when it ends the session.
    async fn one_call(&mut self, call: &ToolCall) -> Option<End> {
        let started = Instant::now();
        let request = match tools::parse(call) {
            Ok(request) => request,
            Err(Malformed(text)) => {
                self.record(call, None, &text, false, started);
                self.reply(call, &text);
                return self.budget.malformed_call().then(|| End::Malformed {
                    reason: format!(
                        "{} answers or calls the tools could not read (the last: {})",
                        self.budget.malformed,
                        first_line(&text)
                    ),
                });
            }
        };
        match request {
            Request::Finish { summary } => {
                self.record(call, Some(request_of(&summary).as_str()), "", true, started);
                self.pending_finish = Some(call.clone());
                Some(End::Finished { summary })
            }
            Request::Ask { question } if question.contains('?') => {
                let answer = "Asked; the maintainer's answer starts a new attempt.";
                self.record(call, None, answer, true, started);
                self.reply(call, answer);
                Some(End::Asked { question })
            }
            Request::Ask { .. } => {
                let answer = "Error: `ask` is for a question the maintainer must answer, ending with a question mark; to go on, use the other tools.";
                self.record(call, None, answer, false, started);
                self.reply(call, answer);
                None
            }
            Request::Edit { edits } => {
                let files = tools::edited_paths(&edits);
                let (root, policy) = (self.space.work_dir.to_path_buf(), self.space.policy.clone());
                let mut applied = self.applied.clone();
                let joined = tokio::task::spawn_blocking(move || {
                    let result = tools::edit(&root, &edits, &policy, &mut applied);
                    (result, applied)
                })
                .await;
                let result = match joined {
                    Ok((result, applied)) => {
                        self.applied = applied;
                        result
                    }
                    Err(e) => Err(format!(
                        "Error: applying the edits failed inside Gitkeeper ({e}); this is not your fault."
                    )),
                };
                let shown = serde_json::json!({ "files": files }).to_string();
                self.finish_call(call, Some(shown.as_str()), result, started);
                None
            }
            Request::RunCheck { name } => {
                let result = self.run_check(&name).await;
                self.finish_call(call, None, result, started);
                None
            }
            other => {
                let root = self.space.work_dir.to_path_buf();
                let result = tokio::task::spawn_blocking(move || look(&root, other))
                    .await
                    .unwrap_or_else(|e| {
                        Err(format!("Error: the tool failed inside Gitkeeper ({e})."))
                    });
                self.finish_call(call, None, result, started);
                None
            }
        }
    }

    /// `run_check`: only a check of the plan, output trimmed as the retry
    /// prompt trims errors.
    async fn run_check(&self, name: &str) -> Result<String, String> {
        if !self.space.checks.iter().any(|c| c == name) {
            return Err(if self.space.checks.is_empty() {
                format!(
                    "Error: `{name}` is not a check of this repository, which has none to run one by one; call `finish` and the repository's validation runs."
                )
            } else {
                format!(
                    "Error: `{name}` is not a check of this repository. The checks are: {}.",
                    self.space.checks.join(", ")
                )
            });
        }
        let space = &self.space;
        match space
            .validator
            .run_check(space.work_dir, name, space.level)
            .await
        {
            Some(result) if result.passed && result.failed_before => Ok(format!(
                "{name}: it fails on the base commit as well, with no new errors ({} ms).",
                result.duration_ms
            )),
            Some(result) if result.passed => {
                Ok(format!("{name} passed ({} ms).", result.duration_ms))
            }
            Some(result) => Err(trim_errors(vec![format!(
                "{} failed:\n{}",
                result.name, result.detail
            )])
            .join("\n")),
            None => Err(format!("Error: `{name}` could not be run.")),
        }
    }

    fn finish_call(
        &mut self,
        call: &ToolCall,
        shown: Option<&str>,
        result: Result<String, String>,
        started: Instant,
    ) {
        let (ok, text) = match result {
            Ok(text) => (true, text),
            Err(text) => (false, text),
        };
        self.record(call, shown, &text, ok, started);
        self.reply(call, &text);
    }

    fn reply(&mut self, call: &ToolCall, text: &str) {
        self.messages.push(ChatMessage::tool_result(call, text));
    }

    fn record(
        &mut self,
        call: &ToolCall,
        shown: Option<&str>,
        result: &str,
        ok: bool,
        started: Instant,
    ) {
        let record = ToolCallRecord {
            tool: call.name.chars().take(64).collect(),
            arguments: match shown {
                Some(shown) => shown.to_string(),
                None => trail_arguments(&call.arguments),
            },
            result_chars: u64::try_from(result.chars().count()).unwrap_or(u64::MAX),
            ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
            ok,
        };
        self.all_calls.push(record.clone());
        self.segment.tool_calls.push(record);
    }

    fn show_progress(&self) {
        progress::send(
            self.worker.progress,
            Progress::Agent {
                model: self.worker.model.to_string(),
                tier: self.worker.tier,
                did: super::activity(&self.all_calls),
            },
        );
    }
}

/// The tools that only look (and cannot end the session).
fn look(root: &Path, request: Request) -> Result<String, String> {
    match request {
        Request::ListFiles { path, depth } => tools::list_files(root, &path, depth),
        Request::ReadFile { path, start, end } => tools::read_file(root, &path, start, end),
        Request::Search { pattern, glob } => tools::search(root, &pattern, glob.as_deref()),
        other => Err(format!("Error: {other:?} is not a looking tool.")),
    }
}

/// A finish's arguments for the trail: the summary, trimmed.
fn request_of(summary: &str) -> String {
    trail_arguments(&serde_json::json!({ "summary": summary }).to_string())
}

/// A call's arguments for the trail: compact JSON, trimmed.
fn trail_arguments(arguments: &str) -> String {
    let compact = serde_json::from_str::<Value>(arguments)
        .map(|v| v.to_string())
        .unwrap_or_else(|_| arguments.trim().to_string());
    match compact.char_indices().nth(MAX_TRAIL_ARGUMENT_CHARS) {
        Some((cut, _)) => format!("{}…", &compact[..cut]),
        None => compact,
    }
}

fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or(text)
}
