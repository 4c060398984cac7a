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
