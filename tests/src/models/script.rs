//! What a model double answers, step by step: each completion request that
//! passes the double's checks takes the next step. Steps say what to answer
//! (text, tool calls, an error, broken JSON) and how (after a delay, with or
//! without usage, whole or cut off mid-body); the double renders them in its
//! server's exact wire format.

use std::collections::VecDeque;
use std::time::Duration;

use serde_json::Value;

/// How a reply reports token usage.
#[derive(Debug, Clone, PartialEq)]
pub enum UsageReport {
    /// Count the prompt and the answer like the server would (the default).
    Counted,
    /// Report exactly these numbers.
    Fixed { prompt: u32, completion: u32 },
    /// Leave usage out of the answer (some servers and proxies do).
    Omitted,
}

/// A successful answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Reply {
    pub text: String,
    pub usage: UsageReport,
    /// The answer was cut by the token limit (`length` / `max_tokens`).
    pub hit_max_tokens: bool,
    /// Tool calls the answer makes (agent mode), in order: several are
    /// parallel calls in one turn.
    pub tool_calls: Vec<ScriptedCall>,
}

/// One scripted tool call.
#[derive(Debug, Clone, PartialEq)]
pub struct ScriptedCall {
    pub name: String,
    /// The arguments as the model writes them: JSON text, possibly broken
    /// (OpenAI-compatible servers pass it on as text; Anthropic and Ollama
    /// send objects, so their doubles send `{}` for text that is not one).
    pub arguments: String,
}

impl ScriptedCall {
    /// A call of `name` with `arguments`.
    pub fn new(name: &str, arguments: Value) -> Self {
        Self {
            name: name.into(),
            arguments: arguments.to_string(),
        }
    }

    /// A call with exactly this argument text (e.g. malformed JSON).
    pub fn raw(name: &str, arguments: &str) -> Self {
        Self {
            name: name.into(),
            arguments: arguments.into(),
        }
    }

    /// The arguments as a JSON object, for the servers that send objects.
    pub fn object(&self) -> Value {
        serde_json::from_str::<Value>(&self.arguments)
            .ok()
            .filter(Value::is_object)
            .unwrap_or_else(|| Value::Object(serde_json::Map::new()))
    }
}

/// An error answer, rendered in the flavor's error shape.
#[derive(Debug, Clone, PartialEq)]
pub enum Failure {
    /// 429 with `retry-after` when given.
    RateLimited { retry_after_secs: Option<u64> },
    /// 500 with the server's internal-error body.
    ServerError,
    /// Anthropic 529 `overloaded_error`; Ollama and OpenAI 503.
    Overloaded,
    /// Exactly this status, body and headers.
    Raw {
        status: u16,
        body: Value,
        headers: Vec<(String, String)>,
    },
}

/// What one step does.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    Reply(Reply),
    Fail(Failure),
    /// 200 with this body (not valid JSON, or not the right shape).
    Malformed(String),
}

/// One scripted answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    pub action: Action,
    /// Wait this long before answering (to trip client timeouts).
    pub delay: Duration,
    /// Send the status, the headers and half the body, then drop the
    /// connection (a server that dies or a proxy that cuts mid-answer).
    pub cut_off: bool,
}

impl Step {
    fn of(action: Action) -> Self {
        Self {
            action,
            delay: Duration::ZERO,
            cut_off: false,
        }
    }

    /// Answer `text`, usage counted like the real server.
    pub fn reply(text: impl Into<String>) -> Self {
        Self::of(Action::Reply(Reply {
            text: text.into(),
            usage: UsageReport::Counted,
            hit_max_tokens: false,
            tool_calls: Vec::new(),
        }))
    }

    /// Call the tools `calls` in one turn (parallel calls when several).
    pub fn calls(calls: Vec<ScriptedCall>) -> Self {
        Self::of(Action::Reply(Reply {
            text: String::new(),
            usage: UsageReport::Counted,
            hit_max_tokens: false,
            tool_calls: calls,
        }))
    }

    /// Call one tool.
    pub fn call(name: &str, arguments: Value) -> Self {
        Self::calls(vec![ScriptedCall::new(name, arguments)])
    }

    /// Say `text` besides the tool calls.
    pub fn saying(mut self, said: &str) -> Self {
        if let Action::Reply(reply) = &mut self.action {
            reply.text = said.into();
        }
        self
    }

    /// Answer `CLARIFICATION_NEEDED: <question>`.
    pub fn clarification(question: &str) -> Self {
        Self::reply(format!("CLARIFICATION_NEEDED: {question}"))
    }

    /// 429, with `retry-after: <secs>` when given.
    pub fn rate_limited(retry_after_secs: Option<u64>) -> Self {
        Self::of(Action::Fail(Failure::RateLimited { retry_after_secs }))
    }

    /// 500 internal error.
    pub fn server_error() -> Self {
        Self::of(Action::Fail(Failure::ServerError))
    }

    /// Overloaded: 529 for Anthropic, 503 elsewhere.
    pub fn overloaded() -> Self {
        Self::of(Action::Fail(Failure::Overloaded))
    }

    /// Any status with this JSON body.
    pub fn status(status: u16, body: Value) -> Self {
        Self::of(Action::Fail(Failure::Raw {
            status,
            body,
            headers: Vec::new(),
        }))
    }

    /// 200 with a body that is not what the API promises.
    pub fn malformed(body: impl Into<String>) -> Self {
        Self::of(Action::Malformed(body.into()))
    }

    /// Wait before answering.
    pub fn delay(mut self, delay: Duration) -> Self {
        self.delay = delay;
        self
    }

    /// Drop the connection halfway through the answer's body.
    pub fn cut_off(mut self) -> Self {
        self.cut_off = true;
        self
    }

    /// Report these token counts instead of counting.
    pub fn usage(mut self, prompt: u32, completion: u32) -> Self {
        if let Action::Reply(reply) = &mut self.action {
            reply.usage = UsageReport::Fixed { prompt, completion };
        }
        self
    }

    /// Leave usage out of the answer.
    pub fn without_usage(mut self) -> Self {
        if let Action::Reply(reply) = &mut self.action {
            reply.usage = UsageReport::Omitted;
        }
        self
    }

    /// Say the answer stopped at the token limit.
    pub fn hit_max_tokens(mut self) -> Self {
        if let Action::Reply(reply) = &mut self.action {
            reply.hit_max_tokens = true;
        }
        self
    }

    /// Add a response header (for `Raw` and rate-limit failures).
    pub fn header(mut self, name: &str, value: &str) -> Self {
        match &mut self.action {
            Action::Fail(Failure::Raw { headers, .. }) => {
                headers.push((name.to_string(), value.to_string()));
            }
            other => panic!("Step::header only applies to Step::status, not {other:?}"),
        }
        self
    }
}

/// Steps in the order completion requests will get them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Script {
    pub(crate) steps: VecDeque<Step>,
}

impl Script {
    pub fn new() -> Self {
        Self::default()
    }

    /// Append a step.
    pub fn then(mut self, step: Step) -> Self {
        self.steps.push_back(step);
        self
    }

    pub fn len(&self) -> usize {
        self.steps.len()
    }

    pub fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }
}

impl FromIterator<Step> for Script {
    fn from_iter<I: IntoIterator<Item = Step>>(iter: I) -> Self {
        Self {
            steps: iter.into_iter().collect(),
        }
    }
}
