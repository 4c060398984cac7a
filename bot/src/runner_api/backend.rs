//! `RunnerBackend`: a `ModelBackend` for local tiers that puts the call in the
//! job store as a generation request and waits (polling the store) for a
//! runner's answer, so the generation loop uses local tiers unchanged. With no
//! online runner serving the model it fails fast with `ErrorKind::NoRunner`
//! (after `[runner] wait_for_runner`), so the router skips the tier and says
//! why. It never leaves a request behind: a call that gives up or is dropped
//! cancels its request.

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use gitkeeper_runner_protocol::{ErrorKind, GenerationSpec, RequestId};

use crate::config::RunnerSettings;
use crate::models::{Completion, CompletionRequest, ModelBackend, ModelError, ModelSettings};
use crate::queue::{GenerationState, JobStore, StoreError, now_ms};

/// A local tier served through runners.
pub struct RunnerBackend {
    name: String,
    settings: ModelSettings,
    store: Arc<dyn JobStore>,
    runner: RunnerSettings,
}

impl std::fmt::Debug for RunnerBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunnerBackend")
            .field("name", &self.name)
            .field("model", &self.settings.model)
            .finish_non_exhaustive()
    }
}

fn relay_error(model: &str, e: StoreError) -> ModelError {
    ModelError::Runner {
        runner: "(none yet)".into(),
        model: model.to_string(),
        message: format!("the job store that relays requests to runners failed: {e}"),
        kind: ErrorKind::Unavailable,
    }
}

/// Cancels the request when the waiting call ends without an outcome
/// (dropped by a cancelled job, or gave up).
struct CancelOnDrop {
    store: Arc<dyn JobStore>,
    id: RequestId,
    armed: bool,
}

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        let (store, id) = (self.store.clone(), self.id);
        if let Ok(handle) = tokio::runtime::Handle::try_current() {
            handle.spawn(async move {
                if let Err(e) = store.cancel_generation(id, now_ms()).await {
                    tracing::warn!(%id, error = %e, "could not cancel an abandoned generation request");
                }
            });
        }
    }
}

impl RunnerBackend {
    pub fn new(
        name: &str,
        settings: &ModelSettings,
        store: Arc<dyn JobStore>,
        runner: RunnerSettings,
    ) -> Result<Self, ModelError> {
        settings.validate(name)?;
        Ok(Self {
            name: name.to_string(),
            settings: settings.clone(),
            store,
            runner,
        })
    }

    fn no_runner(&self, waited: Duration) -> ModelError {
        ModelError::NoRunner {
            name: self.name.clone(),
            model: self.settings.model.clone(),
            waited_secs: waited.as_secs(),
        }
    }

    async fn serving(&self) -> Result<u32, ModelError> {
        self.store
            .runners_serving(&self.settings.model, self.runner.offline_after(), now_ms())
            .await
            .map_err(|e| relay_error(&self.settings.model, e))
    }

    /// Wait up to `wait_for_runner` for a runner serving the model.
    async fn wait_for_runner(&self) -> Result<(), ModelError> {
        let start = Instant::now();
        loop {
            if self.serving().await? > 0 {
                return Ok(());
            }
            if start.elapsed() >= self.runner.wait_for_runner() {
                return Err(self.no_runner(start.elapsed()));
            }
            tokio::time::sleep(self.runner.poll_interval()).await;
        }
    }

    fn spec(&self, request: &CompletionRequest) -> GenerationSpec {
        GenerationSpec {
            tier: self.name.clone(),
            model: self.settings.model.clone(),
            context_window: self.settings.context_window,
            max_tokens: request.max_tokens.unwrap_or(self.settings.max_tokens),
            temperature: request.temperature.unwrap_or(self.settings.temperature),
            timeout_secs: self.settings.timeout_secs,
            // The runner's own settings for the model know no seed: the
            // bot's goes with the request.
            request: CompletionRequest {
                seed: request.seed.or(self.settings.seed),
                ..request.clone()
            },
        }
    }
}

#[async_trait]
impl ModelBackend for RunnerBackend {
    fn name(&self) -> &str {
        &self.name
    }

    fn model(&self) -> &str {
        &self.settings.model
    }

    async fn complete(&self, request: &CompletionRequest) -> Result<Completion, ModelError> {
        let start = Instant::now();
        let model = self.settings.model.as_str();
        self.wait_for_runner().await?;
        let id = self
            .store
            .enqueue_generation(&self.spec(request), now_ms())
            .await
            .map_err(|e| relay_error(model, e))?;
        tracing::debug!(tier = %self.name, %model, %id, "generation request queued for a runner");
        super::WAKEUPS.enqueued.notify_waiters();
        let mut guard = CancelOnDrop {
            store: self.store.clone(),
            id,
            armed: true,
        };
        // The runner has the model's own timeout per HTTP call; the relay
        // allows that plus the wait in the queue before giving up.
        let deadline = Duration::from_secs(self.settings.timeout_secs)
            .saturating_mul(2)
            .saturating_add(self.runner.offline_after());
        let mut unserved_since: Option<Instant> = None;
        loop {
            // Listen before looking, so an answer posted meanwhile is not missed.
            let finished = super::WAKEUPS.finished.notified();
            tokio::pin!(finished);
            finished.as_mut().enable();
            let record = self
                .store
                .generation(id)
                .await
                .map_err(|e| relay_error(model, e))?
                .ok_or_else(|| {
                    relay_error(
                        model,
                        StoreError::Corrupt(format!("generation request {id} vanished")),
                    )
                })?;
            let runner = record.runner.clone().unwrap_or_default();
            match record.state {
                GenerationState::Succeeded => {
                    guard.armed = false;
                    let Some(result) = record.result else {
                        return Err(relay_error(
                            model,
                            StoreError::Corrupt(format!("request {id} succeeded without a result")),
                        ));
                    };
                    return Ok(Completion {
                        cost_usd: self.settings.cost_usd(&result.usage),
                        text: result.text,
                        usage: result.usage,
                        latency: start.elapsed(),
                        model: result.model,
                        finish: result.finish,
                        attempts: result.timings.attempts.max(1),
                        tool_calls: result.tool_calls,
                    });
                }
                GenerationState::Failed => {
                    guard.armed = false;
                    let (kind, message) = record
                        .error
                        .map(|e| (e.kind, e.message))
                        .unwrap_or((ErrorKind::BadResponse, "no reason given".into()));
                    return Err(ModelError::Runner {
                        runner,
                        model: model.to_string(),
                        message,
                        kind,
                    });
                }
                GenerationState::Cancelled => {
                    guard.armed = false;
                    return Err(ModelError::Runner {
                        runner,
                        model: model.to_string(),
                        message: format!("request {id} was cancelled before it was answered"),
                        kind: ErrorKind::Unavailable,
                    });
                }
                GenerationState::Queued => {
                    // Its runner went away: wait for another, as at the start.
                    if self.serving().await? > 0 {
                        unserved_since = None;
                    } else {
                        let since = *unserved_since.get_or_insert_with(Instant::now);
                        if since.elapsed() >= self.runner.wait_for_runner() {
                            return Err(self.no_runner(since.elapsed()));
                        }
                    }
                }
                GenerationState::Claimed => unserved_since = None,
            }
            if start.elapsed() >= deadline {
                return Err(ModelError::Timeout {
                    provider: format!("runner {runner}"),
                    endpoint: "the runner relay".into(),
                    name: self.name.clone(),
                    after: start.elapsed(),
                });
            }
            tokio::select! {
                _ = tokio::time::sleep(self.runner.poll_interval()) => {}
                _ = &mut finished => {}
            }
        }
    }

    async fn list_models(&self) -> Result<Vec<String>, ModelError> {
        let runners = self
            .store
            .runner_list(self.runner.offline_after(), now_ms())
            .await
            .map_err(|e| relay_error(&self.settings.model, e))?;
        let mut models: Vec<String> = runners
            .into_iter()
            .filter(|r| r.online && !r.draining)
            .flat_map(|r| r.models)
            .collect();
        models.sort();
        models.dedup();
        Ok(models)
    }
}

/// The backend for `[models.<name>]`: through runners when `[runner] tiers`
/// names it, else the direct HTTP backend.
pub fn backend_for(
    name: &str,
    settings: &ModelSettings,
    runner: &RunnerSettings,
    store: &Arc<dyn JobStore>,
) -> Result<Arc<dyn ModelBackend>, ModelError> {
    if runner.tiers.iter().any(|t| t == name) {
        Ok(Arc::new(RunnerBackend::new(
            name,
            settings,
            store.clone(),
            runner.clone(),
        )?))
    } else {
        crate::models::build_backend(name, settings)
    }
}
