//! Retention: what the job store deletes once it is old enough, and the sweep
//! that does it while `serve` runs (`gitkeeper-bot prune` does it once).
//! Webhook deliveries, finished jobs (their payload is the text) and
//! finished generation requests (each carries a whole prompt and its answer)
//! and task samples (a task's context and final diff, for `export`; they go
//! with the prompts) go; the attempt trail and task records, which hold
//! hashes, counts, costs and the paths sent, stay.
//!
//! Must never: delete a job that is queued, running or waiting, a generation
//! request a runner may still claim or answer, or the delivery whose id
//! dedupes a job still in flight (a redelivered webhook would queue it twice).

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::{JobStore, now_ms};

/// Deliveries received before `$1` whose job is not in flight.
pub(super) const OLD_DELIVERIES: &str = "FROM deliveries WHERE received_at < $1 AND (job_id IS NULL OR job_id NOT IN (SELECT id FROM jobs WHERE state IN ('queued', 'running', 'waiting')))";
/// Jobs that ended before `$1`.
pub(super) const OLD_JOBS: &str =
    "FROM jobs WHERE state IN ('succeeded', 'failed', 'cancelled') AND updated_at < $1";
/// Generation requests (prompt and answer) that ended before `$1`.
pub(super) const OLD_PROMPTS: &str = "FROM generation_requests WHERE state IN ('succeeded', 'failed', 'cancelled') AND updated_at < $1";
/// Task samples (a task's context and diff, kept for `export`) go with the
/// stored prompts: they hold the repository's code too.
pub(super) const OLD_SAMPLES: &str = "FROM task_samples WHERE created_at < $1";

/// How long each kind of row is kept; `None` keeps it forever.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Retention {
    pub deliveries: Option<Duration>,
    pub finished_jobs: Option<Duration>,
    pub prompts: Option<Duration>,
}

impl Retention {
    /// Periods in days, 0 meaning forever (as `[retention]` sets them).
    pub fn from_days(deliveries: u32, finished_jobs: u32, prompts: u32) -> Self {
        let days = |n: u32| (n > 0).then(|| Duration::from_secs(u64::from(n) * 24 * 60 * 60));
        Self {
            deliveries: days(deliveries),
            finished_jobs: days(finished_jobs),
            prompts: days(prompts),
        }
    }

    /// True when nothing is ever deleted.
    pub fn keeps_everything(&self) -> bool {
        self.deliveries.is_none() && self.finished_jobs.is_none() && self.prompts.is_none()
    }

    /// The times (ms) before which rows go, as of `now`.
    pub fn cutoffs(&self, now: i64) -> Cutoffs {
        let before = |keep: Option<Duration>| {
            keep.map(|d| now.saturating_sub(i64::try_from(d.as_millis()).unwrap_or(i64::MAX)))
        };
        Cutoffs {
            deliveries: before(self.deliveries),
            finished_jobs: before(self.finished_jobs),
            prompts: before(self.prompts),
        }
    }
}

/// Rows older than these times (ms since the epoch) are deleted; `None`
/// deletes none of that kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Cutoffs {
    pub deliveries: Option<i64>,
    pub finished_jobs: Option<i64>,
    pub prompts: Option<i64>,
}

/// How many rows a prune deleted (or, dry, would delete).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Pruned {
    pub deliveries: u64,
    pub finished_jobs: u64,
    pub generation_requests: u64,
    /// Task samples (context and final diff kept for `export`).
    pub samples: u64,
}

impl Pruned {
    pub fn total(&self) -> u64 {
        self.deliveries + self.finished_jobs + self.generation_requests + self.samples
    }
}

impl std::fmt::Display for Pruned {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} webhook deliveries, {} finished jobs, {} stored prompts (generation requests), {} task samples",
            self.deliveries, self.finished_jobs, self.generation_requests, self.samples
        )
    }
}

/// The first wait after a failed sweep; it doubles up to the sweep interval.
const FIRST_BACKOFF: Duration = Duration::from_secs(5);

/// Prune `store` now and then every `interval` until `shutdown`; a failed
/// prune is tried again after a backoff (5 s, doubling up to `interval`).
pub async fn sweep(
    store: Arc<dyn JobStore>,
    retention: Retention,
    interval: Duration,
    shutdown: CancellationToken,
) {
    if retention.keeps_everything() {
        return;
    }
    let mut backoff = FIRST_BACKOFF.min(interval);
    loop {
        let wait = match store.prune(&retention.cutoffs(now_ms()), false).await {
            Ok(pruned) => {
                if pruned.total() > 0 {
                    tracing::info!(%pruned, "retention: deleted old rows");
                }
                backoff = FIRST_BACKOFF.min(interval);
                interval
            }
            Err(error) => {
                let wait = backoff;
                tracing::warn!(%error, retry_in = ?wait, "retention sweep failed");
                backoff = (backoff * 2).min(interval);
                wait
            }
        };
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(wait) => {}
        }
    }
}
