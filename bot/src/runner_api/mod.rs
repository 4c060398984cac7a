//! The bot's side of the runner protocol: the `/api/runner/v1/*` routes that
//! runners (on the Mac, connecting out) call, runner tokens, the sweep that
//! marks silent runners offline and requeues their requests, and
//! `RunnerBackend`, the `ModelBackend` that relays local-tier calls to them
//! through the job store. It never calls a runner: runners always call in.

pub mod auth;
mod backend;
mod routes;

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

pub use backend::{RunnerBackend, backend_for};
pub use routes::{RunnerApi, router};

/// Process-local wake-ups between the waiting `RunnerBackend`s and the open
/// claims of this bot process: a request queued here wakes this process's
/// long-polls at once, and an answer posted here wakes the calls waiting for
/// it. Other replicas (and other processes on the same database) are reached
/// by polling the store every `[runner] poll_interval_ms`, so a missed or
/// foreign wake-up only costs latency, never a request.
pub(crate) struct Wakeups {
    pub enqueued: tokio::sync::Notify,
    pub finished: tokio::sync::Notify,
}

pub(crate) static WAKEUPS: Wakeups = Wakeups {
    enqueued: tokio::sync::Notify::const_new(),
    finished: tokio::sync::Notify::const_new(),
};

use crate::queue::{JobStore, now_ms};

/// Until `shutdown`, mark runners unseen for `offline_after` offline and
/// queue their requests again. Safe to run on every replica at once.
pub async fn sweep(store: Arc<dyn JobStore>, offline_after: Duration, shutdown: CancellationToken) {
    let every = (offline_after / 3).max(Duration::from_millis(200));
    loop {
        match store.sweep_runners(offline_after, now_ms()).await {
            Ok(0) => {}
            Ok(requeued) => {
                tracing::warn!(
                    requeued,
                    "runners went silent: their generation requests are queued again"
                )
            }
            Err(e) => tracing::error!(error = %e, "runner sweep failed; will try again"),
        }
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = shutdown.cancelled() => return,
        }
    }
}

#[cfg(test)]
mod tests;
