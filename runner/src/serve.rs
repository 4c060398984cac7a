//! `gitkeeper-runner` (run): register with the bot, long-poll for generation
//! requests for models with a free slot, serve each from the local server,
//! post the answer or the error, and heartbeat meanwhile. It only ever
//! connects out. Network errors never end it: it waits (with backoff) and
//! tries again. SIGTERM drains: no new claims, requests in progress finish
//! and are reported, then it exits.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use gitkeeper_backends::backoff;
use gitkeeper_runner_protocol::{
    BackendReport, ClaimRequest, ErrorKind, ErrorReport, GenerationRequest, HeartbeatRequest,
    PROTOCOL_VERSION, RegisterRequest, RegisterResponse, RequestId, ResultReport, Timings,
};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::client::{BotClient, ClientError};
use crate::config::{Backend, ConfigError, RunnerConfig};
use crate::{hardware, local};

/// First wait after a failed call to the bot; doubles up to `max_backoff_secs`.
const BASE_BACKOFF: Duration = Duration::from_millis(500);
/// How long an answer is offered to an unreachable bot before it is dropped
/// (by then the bot has requeued the request for another runner).
const REPORT_PATIENCE: Duration = Duration::from_secs(120);

/// What the claim loop, the heartbeat and the request tasks share.
struct Shared {
    config: RunnerConfig,
    client: BotClient,
    backends: Vec<Backend>,
    reports: Mutex<Vec<BackendReport>>,
    /// Requests in progress and how to stop each.
    active: Mutex<HashMap<RequestId, (String, CancellationToken)>>,
    /// A request finished: a slot may be free.
    freed: Notify,
}

impl Shared {
    fn active_ids(&self) -> Vec<RequestId> {
        let mut ids: Vec<RequestId> = lock(&self.active).keys().copied().collect();
        ids.sort();
        ids
    }

    /// Models with a free slot: under their own concurrency and the total.
    fn free_models(&self) -> Vec<String> {
        let active = lock(&self.active);
        if active.len() >= self.config.max_concurrency as usize {
            return Vec::new();
        }
        let mut models: Vec<String> = lock(&self.reports)
            .iter()
            .flat_map(|r| r.models.iter().cloned())
            .filter(|model| {
                let busy = active.values().filter(|(m, _)| m == model).count();
                busy < self.config.concurrency(model) as usize
            })
            .collect();
        models.sort();
        models.dedup();
        models
    }

    fn cancel(&self, ids: &[RequestId]) {
        let active = lock(&self.active);
        for id in ids {
            if let Some((_, token)) = active.get(id) {
                tracing::info!(%id, "the bot cancelled or took back this request: stopping it");
                token.cancel();
            }
        }
    }
}

/// A poisoned lock only means another task panicked; the data is still usable.
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn wait_after(config: &RunnerConfig, failures: u32) -> Duration {
    backoff(BASE_BACKOFF, failures).min(config.max_backoff())
}

/// Sleep, unless `stop` fires first; false when it did.
async fn pause(wait: Duration, stop: &CancellationToken) -> bool {
    tokio::select! {
        _ = tokio::time::sleep(wait) => true,
        _ = stop.cancelled() => false,
    }
}

/// Run until `shutdown`, then drain. Only a configuration error ends it early.
pub async fn run(config: RunnerConfig, shutdown: CancellationToken) -> Result<(), ConfigError> {
    let client =
        BotClient::new(&config.bot_url()?, config.token()?).map_err(ConfigError::Client)?;
    let backends = config.backends(&|var| std::env::var(var).ok());
    let shared = Arc::new(Shared {
        config,
        client,
        backends,
        reports: Mutex::new(Vec::new()),
        active: Mutex::new(HashMap::new()),
        freed: Notify::new(),
    });
    let hardware = hardware::detect().await;
    tracing::info!(bot = %shared.client.base(), %hardware, "runner starting");
    while !shutdown.is_cancelled() {
        let Some(session) = register(&shared, &hardware, &shutdown).await else {
            break;
        };
        let beat_stop = shutdown.child_token();
        let beat = tokio::spawn(heartbeat(
            shared.clone(),
            Duration::from_secs(u64::from(session.heartbeat_secs.max(1))),
            beat_stop.clone(),
        ));
        claim_loop(&shared, &session, &shutdown).await;
        beat_stop.cancel();
        let _ = beat.await;
    }
    drain(&shared).await;
    Ok(())
}

/// Register (retrying until it works or `shutdown`), with fresh model lists.
async fn register(
    shared: &Shared,
    hardware: &gitkeeper_runner_protocol::Hardware,
    shutdown: &CancellationToken,
) -> Option<RegisterResponse> {
    let mut failures = 0;
    loop {
        let reports = local::discover_all(&shared.backends).await;
        for r in &reports {
            if let Some(error) = &r.error {
                tracing::warn!(%error, fix = local::start_fix(r.kind), "a local model server is not answering");
            }
        }
        let registration = RegisterRequest {
            protocol: PROTOCOL_VERSION,
            version: env!("CARGO_PKG_VERSION").to_string(),
            hardware: hardware.clone(),
            backends: reports.clone(),
            max_concurrency: shared.config.max_concurrency,
        };
        match shared.client.register(&registration).await {
            Ok(session) => {
                tracing::info!(runner = %session.runner, models = ?registration.models(), "registered with the bot");
                *lock(&shared.reports) = reports;
                return Some(session);
            }
            Err(e @ ClientError::Unauthorized(_)) => {
                tracing::error!(error = %e, "fix: create a token with `gitkeeper-bot runner-token create <name>` on the bot and set GITKEEPER_RUNNER__TOKEN; retrying")
            }
            Err(e) => tracing::warn!(error = %e, "cannot register with the bot; retrying"),
        }
        failures += 1;
        if !pause(wait_after(&shared.config, failures), shutdown).await {
            return None;
        }
    }
}

/// Claim requests for free models until `shutdown`, or until the session
/// must be renewed (token refused, model lists changed while idle).
async fn claim_loop(
    shared: &Arc<Shared>,
    session: &RegisterResponse,
    shutdown: &CancellationToken,
) {
    let wait = Duration::from_secs(u64::from(session.claim_wait_secs.max(1)));
    let refresh = Duration::from_secs(shared.config.refresh_models_secs.max(5));
    let mut last_refresh = Instant::now();
    let mut failures = 0;
    while !shutdown.is_cancelled() {
        let models = shared.free_models();
        if models.is_empty() {
            // Every slot is busy (or nothing is served): wait for one to free.
            let idle = shared.active_ids().is_empty();
            let wait_for = if idle { refresh } else { wait };
            tokio::select! {
                _ = shared.freed.notified() => {}
                _ = tokio::time::sleep(wait_for) => {}
                _ = shutdown.cancelled() => return,
            }
            if idle {
                return; // re-register: maybe a model was pulled meanwhile
            }
            continue;
        }
        if last_refresh.elapsed() >= refresh && shared.active_ids().is_empty() {
            last_refresh = Instant::now();
            let fresh = local::discover_all(&shared.backends).await;
            if fresh != *lock(&shared.reports) {
                tracing::info!("the local model lists changed: registering again");
                return;
            }
        }
        let claim = ClaimRequest {
            models,
            wait_secs: Some(session.claim_wait_secs),
            active: shared.active_ids(),
        };
        let answer = tokio::select! {
            answer = shared.client.claim(&claim, wait) => answer,
            _ = shutdown.cancelled() => return,
        };
        match answer {
            Ok(Some(reply)) => {
                failures = 0;
                shared.cancel(&reply.cancel);
                start(shared, reply.request);
            }
            Ok(None) => failures = 0,
            Err(e) if e.is_transient() => {
                failures += 1;
                tracing::warn!(error = %e, "claim failed; retrying");
                if !pause(wait_after(&shared.config, failures), shutdown).await {
                    return;
                }
            }
            Err(e) => {
                tracing::error!(error = %e, "the bot refused the claim; registering again");
                failures += 1;
                let _ = pause(wait_after(&shared.config, failures), shutdown).await;
                return;
            }
        }
    }
}

/// Take a slot for `request` and serve it in its own task.
fn start(shared: &Arc<Shared>, request: GenerationRequest) {
    let token = CancellationToken::new();
    lock(&shared.active).insert(request.id, (request.spec.model.clone(), token.clone()));
    let shared = shared.clone();
    tokio::spawn(async move {
        let id = request.id;
        serve_one(&shared, request, token).await;
        lock(&shared.active).remove(&id);
        shared.freed.notify_waiters();
    });
}

async fn serve_one(shared: &Shared, request: GenerationRequest, cancel: CancellationToken) {
    let id = request.id;
    let spec = &request.spec;
    let server = {
        let reports = lock(&shared.reports);
        local::server_for(&shared.backends, &reports, &spec.model).cloned()
    };
    let Some(server) = server else {
        let report = ErrorReport {
            kind: ErrorKind::Misconfigured,
            message: format!(
                "this runner no longer has {}: `ollama pull {}` on it, or let another runner take it",
                spec.model, spec.model
            ),
            requeue: true,
        };
        deliver(shared, id, Err(report), &cancel).await;
        return;
    };
    tracing::info!(%id, model = %spec.model, tier = %spec.tier, server = %server.endpoint, "serving a generation request");
    let started = Instant::now();
    let outcome = tokio::select! {
        outcome = local::generate(&shared.config, &server, spec) => outcome,
        _ = cancel.cancelled() => return,
    };
    let outcome = outcome
        .map(|c| ResultReport {
            text: c.text,
            usage: c.usage,
            model: c.model,
            finish: c.finish,
            timings: Timings {
                total_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
                attempts: c.attempts,
            },
            tool_calls: c.tool_calls,
        })
        .map_err(|e| {
            tracing::warn!(%id, error = %e, "the local model server failed");
            ErrorReport {
                kind: e.kind(),
                message: e.to_string(),
                requeue: false,
            }
        });
    deliver(shared, id, outcome, &cancel).await;
}

/// Post the outcome, retrying while the bot is unreachable.
async fn deliver(
    shared: &Shared,
    id: RequestId,
    outcome: Result<ResultReport, ErrorReport>,
    cancel: &CancellationToken,
) {
    let started = Instant::now();
    let mut failures = 0;
    loop {
        let sent = match &outcome {
            Ok(result) => shared.client.result(id, result).await,
            Err(error) => shared.client.error(id, error).await,
        };
        match sent {
            Ok(()) => return,
            Err(ClientError::Conflict(why)) => {
                tracing::info!(%id, %why, "answer dropped");
                return;
            }
            Err(e) if e.is_transient() && started.elapsed() < REPORT_PATIENCE => {
                failures += 1;
                tracing::warn!(%id, error = %e, "cannot report to the bot; retrying");
                if !pause(wait_after(&shared.config, failures), cancel).await {
                    return;
                }
            }
            Err(e) => {
                tracing::error!(%id, error = %e, "giving up reporting this request; the bot will requeue it");
                return;
            }
        }
    }
}

/// Heartbeat every `every` until `stop`; cancellations in the reply stop
/// their requests.
async fn heartbeat(shared: Arc<Shared>, every: Duration, stop: CancellationToken) {
    loop {
        if !pause(every, &stop).await {
            return;
        }
        beat(&shared, false).await;
    }
}

async fn beat(shared: &Shared, draining: bool) {
    let beat = HeartbeatRequest {
        active: shared.active_ids(),
        draining,
        probe: false,
    };
    match shared.client.heartbeat(&beat).await {
        Ok(reply) => shared.cancel(&reply.cancel),
        Err(e) => tracing::warn!(error = %e, "heartbeat failed"),
    }
}

/// Tell the bot we are draining and let requests in progress finish (up to
/// `drain_secs`, heartbeating meanwhile); what is still running then is
/// stopped and given back.
async fn drain(shared: &Arc<Shared>) {
    let pending = shared.active_ids();
    tracing::info!(
        in_progress = pending.len(),
        "draining: no new requests will be claimed"
    );
    beat(shared, true).await;
    let deadline = Instant::now() + Duration::from_secs(shared.config.drain_secs);
    while !shared.active_ids().is_empty() && Instant::now() < deadline {
        tokio::select! {
            _ = shared.freed.notified() => {}
            _ = tokio::time::sleep(Duration::from_secs(5)) => beat(shared, true).await,
        }
    }
    let left = shared.active_ids();
    shared.cancel(&left);
    for id in left {
        let report = ErrorReport {
            kind: ErrorKind::Unavailable,
            message: "the runner shut down before finishing; another runner can take it".into(),
            requeue: true,
        };
        let _ = shared.client.error(id, &report).await;
    }
    tracing::info!("drained; exiting");
}

#[cfg(test)]
mod tests {
    use super::*;
    use gitkeeper_runner_protocol::LocalBackend;

    fn shared(config: RunnerConfig, models: &[&str]) -> Shared {
        let url = url::Url::parse("http://127.0.0.1:9").unwrap();
        Shared {
            client: BotClient::new(&url, secrecy::SecretString::from("gkr_t".to_string())).unwrap(),
            backends: config.backends(&|_| None),
            config,
            reports: Mutex::new(vec![BackendReport {
                kind: LocalBackend::Ollama,
                endpoint: "http://127.0.0.1:11434".into(),
                models: models.iter().map(|m| m.to_string()).collect(),
                error: None,
            }]),
            active: Mutex::new(HashMap::new()),
            freed: Notify::new(),
        }
    }

    fn busy(shared: &Shared, id: i64, model: &str) -> CancellationToken {
        let token = CancellationToken::new();
        lock(&shared.active).insert(RequestId(id), (model.to_string(), token.clone()));
        token
    }

    #[test]
    fn a_model_is_offered_only_while_it_has_a_free_slot() {
        let mut config = RunnerConfig {
            max_concurrency: 3,
            ..RunnerConfig::default()
        };
        config.models.insert(
            "big".into(),
            crate::config::ModelTuning {
                concurrency: Some(2),
                ..Default::default()
            },
        );
        let s = shared(config, &["big", "small"]);
        assert_eq!(s.free_models(), ["big", "small"]);
        busy(&s, 1, "small");
        // `small` has the default one slot; `big` has two.
        assert_eq!(s.free_models(), ["big"]);
        busy(&s, 2, "big");
        assert_eq!(s.free_models(), ["big"]);
        // Three requests in progress is the runner's total.
        busy(&s, 3, "big");
        assert!(s.free_models().is_empty());
        assert_eq!(s.active_ids(), [RequestId(1), RequestId(2), RequestId(3)]);
    }

    #[test]
    fn cancellation_stops_only_the_named_requests() {
        let s = shared(
            RunnerConfig {
                max_concurrency: 2,
                model_concurrency: 2,
                ..RunnerConfig::default()
            },
            &["m"],
        );
        let first = busy(&s, 1, "m");
        let second = busy(&s, 2, "m");
        s.cancel(&[RequestId(2), RequestId(99)]);
        assert!(!first.is_cancelled());
        assert!(second.is_cancelled());
    }
}
