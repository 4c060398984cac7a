//! The runner protocol: the JSON types the bot and the runner exchange over
//! `/api/runner/v1/*`. Both sides depend on this crate; never copy these types.
//!
//! The runner always connects out to the bot (no inbound port, no SSH
//! tunnel): it registers, long-polls `claim` for generation requests, posts a
//! `result` or an `error` for each, and heartbeats; cancellations come back in
//! the heartbeat and claim replies. Every call carries
//! `Authorization: Bearer <runner token>`. What a request asks of the model
//! and what comes back (`CompletionRequest`, `Usage`, `FinishReason`,
//! `ErrorKind`, in [`model`]) are defined here once and re-used by
//! `gitkeeper-backends`, so there is one definition of a chat on both sides.
//!
//! Depends on serde (and serde_json) only: the runner, the bot and the model clients all
//! build it, so it must never pull in a model client, a tokenizer or the
//! `gitkeeper` library.

#![warn(missing_docs)]

use std::fmt;

use serde::{Deserialize, Serialize};

pub mod model;

pub use model::{
    ChatMessage, CompletionRequest, ErrorKind, FinishReason, Role, ToolCall, ToolSpec, Usage,
};

/// Version of the protocol spoken by this build; sent by the runner on register.
pub const PROTOCOL_VERSION: u32 = 1;
/// Every route lives under this prefix.
pub const API_PREFIX: &str = "/api/runner/v1";
/// How long the bot holds a claim open before answering 204 No Content.
pub const DEFAULT_CLAIM_WAIT_SECS: u32 = 25;

/// The paths of the protocol, relative to the bot's base URL.
pub mod paths {
    /// `POST` on start, and again when the local model lists change: who the runner is.
    pub const REGISTER: &str = "/api/runner/v1/register";
    /// `POST` to long-poll for the next generation request.
    pub const CLAIM: &str = "/api/runner/v1/claim";
    /// `POST` every `heartbeat_secs` to stay online and learn of cancellations.
    pub const HEARTBEAT: &str = "/api/runner/v1/heartbeat";
    /// `GET` with the admin token: every runner the bot knows and its load.
    pub const RUNNERS: &str = "/api/runner/v1/runners";

    /// `POST` the answer to request `id`.
    pub fn result(id: super::RequestId) -> String {
        format!("/api/runner/v1/requests/{id}/result")
    }

    /// `POST` why request `id` failed.
    pub fn error(id: super::RequestId) -> String {
        format!("/api/runner/v1/requests/{id}/error")
    }
}

/// A generation request's id in the bot's job store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RequestId(pub i64);

impl fmt::Display for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// Which kind of local server a runner backend is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LocalBackend {
    /// Ollama's native API (`/api/tags`, `/api/chat`).
    Ollama,
    /// An OpenAI-compatible server such as LM Studio (`/v1/models`, `/v1/chat/completions`).
    Openai,
}

impl fmt::Display for LocalBackend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            LocalBackend::Ollama => "ollama",
            LocalBackend::Openai => "openai",
        })
    }
}

/// What the runner's machine is; every field may be unknown.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hardware {
    /// e.g. `Apple M4 Pro`, or the CPU model on Linux.
    #[serde(default)]
    pub chip: Option<String>,
    /// Physical (unified) memory in bytes.
    #[serde(default)]
    pub memory_bytes: Option<u64>,
    /// Logical cores the OS reports (hardware threads).
    #[serde(default)]
    pub cpu_cores: Option<u32>,
    /// `macos`, `linux`, ...
    #[serde(default)]
    pub os: String,
    /// CPU architecture as Rust names it: `aarch64`, `x86_64`, ...
    #[serde(default)]
    pub arch: String,
}

impl fmt::Display for Hardware {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let chip = self.chip.as_deref().unwrap_or("unknown chip");
        match self.memory_bytes {
            Some(bytes) => write!(f, "{chip}, {} GiB", bytes / (1 << 30)),
            None => write!(f, "{chip}, memory unknown"),
        }
    }
}

/// One local server the runner talks to, and the models it offers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackendReport {
    /// Which API the server speaks, so the runner calls it the right way.
    pub kind: LocalBackend,
    /// The server's base URL as the runner's config names it.
    pub endpoint: String,
    /// From Ollama `/api/tags` or OpenAI-compatible `/v1/models`.
    pub models: Vec<String>,
    /// Why the list is empty when the server could not be asked.
    #[serde(default)]
    pub error: Option<String>,
}

/// `POST /register`: who the runner is and what it serves.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegisterRequest {
    /// [`PROTOCOL_VERSION`] of the runner's build; the bot refuses any other.
    pub protocol: u32,
    /// The runner program's version.
    pub version: String,
    /// The machine, shown to operators (`gitkeeper-bot runners`, logs).
    pub hardware: Hardware,
    /// Every local server the runner reaches; their models are what it may claim.
    pub backends: Vec<BackendReport>,
    /// Requests the runner serves at once, all models together.
    pub max_concurrency: u32,
}

impl RegisterRequest {
    /// Every model any backend serves, sorted, without repeats.
    pub fn models(&self) -> Vec<String> {
        let mut models: Vec<String> = self
            .backends
            .iter()
            .flat_map(|b| b.models.iter().cloned())
            .collect();
        models.sort();
        models.dedup();
        models
    }
}

/// The bot's answer to a registration: the runner's name (from its token) and
/// the timings it expects.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegisterResponse {
    /// [`PROTOCOL_VERSION`] the bot speaks (equal to the runner's, or it refused).
    pub protocol: u32,
    /// The name the bot knows this runner by, taken from its token.
    pub runner: String,
    /// How often the runner must heartbeat (`[runner] heartbeat_secs` on the bot).
    pub heartbeat_secs: u32,
    /// Missing heartbeats for this long makes the runner offline.
    pub offline_after_secs: u32,
    /// How long the bot holds a claim open; the runner asks for this wait in each claim.
    pub claim_wait_secs: u32,
}

/// `POST /claim`: long-poll for one request for a model with a free slot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClaimRequest {
    /// Models with a free slot now (a subset of the registered ones).
    pub models: Vec<String>,
    /// Longest wait wanted, capped by the bot.
    #[serde(default)]
    pub wait_secs: Option<u32>,
    /// Requests the runner is working on, so their cancellations come back.
    #[serde(default)]
    pub active: Vec<RequestId>,
}

/// What the model is asked for, with the settings the bot holds for it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GenerationSpec {
    /// `[models.<tier>]` on the bot, e.g. `local-small`, for logs.
    pub tier: String,
    /// The model the local server knows, e.g. `qwen2.5-coder:7b`.
    pub model: String,
    /// Tokens the bot's `[models.<tier>]` says the model holds; the runner may cap it lower.
    pub context_window: u32,
    /// Most answer tokens: the request's own cap, else the tier's `max_tokens`.
    pub max_tokens: u32,
    /// Sampling temperature: the request's own, else the tier's.
    pub temperature: f32,
    /// Seconds the whole call may take.
    pub timeout_secs: u64,
    /// The chat itself, exactly as the bot's caller built it.
    pub request: CompletionRequest,
}

/// A queued generation: its id and what it asks for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GenerationRequest {
    /// The id to post the result or error under.
    pub id: RequestId,
    /// What to generate; its fields sit beside `id` on the wire.
    #[serde(flatten)]
    pub spec: GenerationSpec,
}

/// `200` reply to a claim: one request, plus cancellations of active ones.
/// With nothing to do the bot answers `204 No Content` instead.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClaimResponse {
    /// The request this runner now holds and must answer.
    pub request: GenerationRequest,
    /// Requests from the claim's `active` to stop working on.
    #[serde(default)]
    pub cancel: Vec<RequestId>,
}

/// How long serving a request took on the runner.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Timings {
    /// From claim to the local server's answer, in milliseconds.
    pub total_ms: u64,
    /// HTTP requests sent to the local server (1 when no retry was needed).
    pub attempts: u32,
}

/// `POST /requests/{id}/result`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResultReport {
    /// The model's answer, unchanged.
    pub text: String,
    /// Tokens as the local server reported them, or counted by the runner (then marked estimated).
    pub usage: Usage,
    /// The model that answered, as the local server names it.
    pub model: String,
    /// Why the model stopped; `Length` means the answer is cut off.
    pub finish: FinishReason,
    /// How long it took and how many tries it needed, for the attempt records.
    pub timings: Timings,
    /// The tools the model called (agent mode), unchanged; absent from a
    /// runner of an earlier build, which then relays text only.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tool_calls: Vec<ToolCall>,
}

/// `POST /requests/{id}/error`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorReport {
    /// What the bot's caller should do next (next tier, tell the operator, ...).
    pub kind: ErrorKind,
    /// What happened and the fix, as the runner's backend said it.
    pub message: String,
    /// Put the request back for another runner (this one is draining or lost
    /// the model) instead of failing it.
    #[serde(default)]
    pub requeue: bool,
}

/// `POST /heartbeat`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeartbeatRequest {
    /// Requests the runner works on; one it claimed over `offline_after_secs`
    /// ago and does not list here never reached it and is queued again.
    pub active: Vec<RequestId>,
    /// Shutting down: finishing `active`, claiming nothing new.
    #[serde(default)]
    pub draining: bool,
    /// Only check the token (`doctor`): the bot records and changes nothing.
    #[serde(default)]
    pub probe: bool,
}

/// Reply to a heartbeat: active requests to stop (cancelled, or no longer
/// this runner's).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeartbeatResponse {
    /// Requests from the heartbeat's `active` to stop working on.
    pub cancel: Vec<RequestId>,
}

/// One runner as `GET /runners` lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunnerInfo {
    /// The name from its token.
    pub name: String,
    /// The runner program's version it registered with.
    pub version: String,
    /// The machine, as it registered.
    pub hardware: Hardware,
    /// Its local servers as it last registered them, errors included.
    pub backends: Vec<BackendReport>,
    /// Every model it registered as served, sorted.
    pub models: Vec<String>,
    /// Requests it serves at once, as it registered.
    pub max_concurrency: u32,
    /// Requests it holds now.
    pub active: u32,
    /// Heard from within `offline_after_secs`; otherwise its requests go to others.
    pub online: bool,
    /// Said in its last heartbeat that it is shutting down and claims nothing new.
    pub draining: bool,
    /// Milliseconds since the Unix epoch.
    pub last_seen_ms: i64,
}

/// `GET /runners` reply.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunnerList {
    /// Every registered runner, online or not, by name.
    pub runners: Vec<RunnerInfo>,
}

/// The body of every error the bot answers with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiError {
    /// What went wrong and what to do; the runner quotes it in its own errors.
    pub error: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn claim_reply_round_trips_with_the_chat() {
        let reply = ClaimResponse {
            request: GenerationRequest {
                id: RequestId(7),
                spec: GenerationSpec {
                    tier: "local-small".into(),
                    model: "qwen2.5-coder:7b".into(),
                    context_window: 32768,
                    max_tokens: 4096,
                    temperature: 0.1,
                    timeout_secs: 600,
                    request: CompletionRequest::new(vec![ChatMessage::user("hi")]),
                },
            },
            cancel: vec![RequestId(3)],
        };
        let json = serde_json::to_value(&reply).unwrap();
        assert_eq!(json["request"]["id"], 7);
        assert_eq!(json["request"]["model"], "qwen2.5-coder:7b");
        assert_eq!(json["request"]["request"]["messages"][0]["role"], "user");
        assert_eq!(json["cancel"][0], 3);
        let back: ClaimResponse = serde_json::from_value(json).unwrap();
        assert_eq!(back, reply);
    }

    #[test]
    fn error_kind_and_backend_names_are_snake_case_on_the_wire() {
        let report = ErrorReport {
            kind: ErrorKind::Misconfigured,
            message: "model x not found".into(),
            requeue: false,
        };
        let json = serde_json::to_string(&report).unwrap();
        assert!(json.contains("\"misconfigured\""), "{json}");
        let b = serde_json::to_string(&LocalBackend::Openai).unwrap();
        assert_eq!(b, "\"openai\"");
        // Older runners may omit optional fields.
        let h: HeartbeatRequest = serde_json::from_str(r#"{"active":[1,2]}"#).unwrap();
        assert_eq!(h.active, [RequestId(1), RequestId(2)]);
        assert!(!h.draining);
    }

    #[test]
    fn register_lists_each_model_once() {
        let r = RegisterRequest {
            protocol: PROTOCOL_VERSION,
            version: "0.1.0".into(),
            hardware: Hardware::default(),
            backends: vec![
                BackendReport {
                    kind: LocalBackend::Ollama,
                    endpoint: "http://127.0.0.1:11434".into(),
                    models: vec!["b".into(), "a".into()],
                    error: None,
                },
                BackendReport {
                    kind: LocalBackend::Openai,
                    endpoint: "http://127.0.0.1:1234".into(),
                    models: vec!["a".into()],
                    error: None,
                },
            ],
            max_concurrency: 1,
        };
        assert_eq!(r.models(), ["a", "b"]);
        assert_eq!(
            paths::result(RequestId(4)),
            "/api/runner/v1/requests/4/result"
        );
        let hw = Hardware {
            chip: Some("Apple M4 Pro".into()),
            memory_bytes: Some(64 << 30),
            ..Hardware::default()
        };
        assert_eq!(hw.to_string(), "Apple M4 Pro, 64 GiB");
    }
}
