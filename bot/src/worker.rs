//! The worker pool: N workers lease jobs, keep their leases alive with a
//! heartbeat, run the pipeline, and record how it ended. On shutdown they stop
//! claiming, give running jobs a grace period, then release their leases so
//! another process picks them up.
//!
//! Must never: run a job whose lease it lost, or record an outcome after
//! another worker took the job over. It sits after the queue and drives the
//! pipeline; the queue knows nothing of it.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio::sync::Notify;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use crate::config::WorkerSettings;
use crate::metrics::Metrics;
use crate::pipeline::{Outcome, Pipeline};
use crate::queue::{CANCELLED_BY_REQUEST, Finish, Job, JobState, JobStore, now_ms};

/// Why a running job's token fired, when a maintainer asked (a lost lease
/// shows in [`JobTokens::lease_lost`]).
#[derive(Debug, Default)]
struct StopReason {
    /// A maintainer asked the job to stop.
    requested: AtomicBool,
}

/// Runs jobs from the store until shut down.
#[derive(Clone)]
pub struct WorkerPool {
    pub store: Arc<dyn JobStore>,
    pub pipeline: Arc<Pipeline>,
    pub settings: WorkerSettings,
    pub metrics: Arc<Metrics>,
    /// Ingress pokes this when it queues a job, so idle workers start at once.
    pub wake: Arc<Notify>,
    /// Names this process in lease owners.
    pub instance: String,
}

impl WorkerPool {
    /// Run `settings.concurrency` workers until `shutdown` fires and they have drained.
    pub async fn run(self, shutdown: CancellationToken) {
        let mut handles = Vec::new();
        for i in 0..self.settings.concurrency {
            let pool = self.clone();
            let name = format!("{}/w{i}", self.instance);
            let shutdown = shutdown.clone();
            handles.push(tokio::spawn(
                async move { pool.worker(name, shutdown).await },
            ));
        }
        for handle in handles {
            if let Err(e) = handle.await {
                tracing::error!(error = %e, "worker task ended abnormally");
            }
        }
    }

    async fn worker(&self, name: String, shutdown: CancellationToken) {
        let lease = Duration::from_secs(self.settings.lease_secs);
        let poll = Duration::from_millis(self.settings.poll_interval_ms.max(10));
        let mut backoff = Duration::from_millis(500);
        while !shutdown.is_cancelled() {
            // The lease runs from before the claim was asked for, so the
            // worker never thinks it holds the job longer than the store does.
            let claimed_at = Instant::now();
            match self.store.claim(&name, lease, now_ms()).await {
                Ok(Some(job)) => {
                    backoff = Duration::from_millis(500);
                    self.run_job(&name, job, claimed_at, &shutdown).await;
                }
                Ok(None) => {
                    tokio::select! {
                        _ = self.wake.notified() => {}
                        _ = tokio::time::sleep(poll) => {}
                        _ = shutdown.cancelled() => {}
                    }
                }
                Err(e) => {
                    tracing::error!(worker = %name, error = %e, "cannot claim jobs; retrying");
                    tokio::select! {
                        _ = tokio::time::sleep(backoff) => {}
                        _ = shutdown.cancelled() => {}
                    }
                    backoff = (backoff * 2).min(Duration::from_secs(30));
                }
            }
        }
    }

    async fn run_job(
        &self,
        worker: &str,
        job: Job,
        claimed_at: Instant,
        shutdown: &CancellationToken,
    ) {
        let span = tracing::info_span!(
            "job",
            job_id = %job.id,
            kind = %job.kind,
            repo = %job.intent.repo().full_name(),
            number = %job.intent.number(),
            delivery = job.delivery_id.as_ref().map(|d| d.0.as_str()).unwrap_or(""),
            attempt = job.attempts,
        );
        self.run_job_inner(worker, job, claimed_at, shutdown)
            .instrument(span)
            .await
    }

    async fn run_job_inner(
        &self,
        worker: &str,
        job: Job,
        claimed_at: Instant,
        shutdown: &CancellationToken,
    ) {
        if job.attempts > self.settings.max_attempts {
            let error = format!(
                "gave up after {} runs; last error: {}",
                job.attempts - 1,
                job.last_error
                    .as_deref()
                    .unwrap_or("the worker stopped mid-run")
            );
            tracing::error!(%error, "job abandoned");
            self.finish(worker, &job, Finish::Failed(error)).await;
            return;
        }
        tracing::info!("job started");
        let job_cancel = CancellationToken::new();
        let lease_lost = CancellationToken::new();
        let stop = Arc::new(StopReason::default());
        let heartbeat = self.spawn_heartbeat(
            worker.to_string(),
            &job,
            claimed_at,
            JobTokens {
                cancel: job_cancel.clone(),
                lease_lost: lease_lost.clone(),
            },
            stop.clone(),
        );
        let started = now_ms();
        let run = self.pipeline.run(&job, &job_cancel, &lease_lost);
        tokio::pin!(run);
        let grace = Duration::from_secs(self.settings.shutdown_grace_secs);
        let result = tokio::select! {
            r = &mut run => Some(r),
            _ = shutdown.cancelled() => {
                tracing::info!(grace_secs = grace.as_secs(), "shutting down: waiting for the running job");
                tokio::time::timeout(grace, &mut run).await.ok()
            }
        };
        heartbeat.cancel();
        self.count_attempts(&job, started).await;
        let lease_lost = lease_lost.is_cancelled();
        let Some(result) = result else {
            job_cancel.cancel();
            match self.store.release(job.id, worker, now_ms()).await {
                Ok(_) => tracing::info!("job released for another worker"),
                Err(e) => tracing::error!(error = %e, "cannot release job; its lease will expire"),
            }
            return;
        };
        if lease_lost {
            tracing::warn!("lease lost while running; another worker owns the job now");
            return;
        }
        let finish = match result {
            Ok(Outcome::Done) => Finish::Succeeded,
            Ok(Outcome::Cancelled) if stop.requested.load(Ordering::SeqCst) => {
                Finish::Cancelled(CANCELLED_BY_REQUEST.into())
            }
            Ok(Outcome::Cancelled) => Finish::Cancelled("cancelled".into()),
            Ok(Outcome::Waiting(why)) => Finish::Waiting(why),
            Ok(Outcome::Failed(why)) => Finish::Failed(why),
            Err(e) if e.is_transient() && job.attempts < self.settings.max_attempts => {
                // Never sooner than a rate limit asks: coming back early only
                // meets the limit again, and GitHub lengthens secondary limits
                // for callers that do.
                let backoff = Duration::from_secs(5 * 2u64.pow(job.attempts.min(6)));
                let after = backoff.max(e.retry_after().unwrap_or_default());
                tracing::warn!(error = %e, retry_in_secs = after.as_secs(), "job failed for a passing reason; will retry");
                Finish::Retry {
                    after,
                    error: e.to_string(),
                }
            }
            Err(e) => {
                tracing::error!(error = %e, "job failed");
                Finish::Failed(e.to_string())
            }
        };
        self.finish(worker, &job, finish).await;
    }

    /// Count the model attempts this run recorded (those since `started`,
    /// not an earlier run's) in the metrics.
    async fn count_attempts(&self, job: &Job, started: i64) {
        match self.store.attempts(job.id).await {
            Ok(attempts) => attempts
                .iter()
                .filter(|a| a.created_at >= started)
                .for_each(|a| self.metrics.attempt(a)),
            Err(e) => {
                tracing::warn!(error = %e, "cannot read the job's attempts for the metrics")
            }
        }
    }

    async fn finish(&self, worker: &str, job: &Job, finish: Finish) {
        let state = match &finish {
            Finish::Succeeded => JobState::Succeeded,
            Finish::Failed(_) => JobState::Failed,
            Finish::Cancelled(_) => JobState::Cancelled,
            Finish::Waiting(_) => JobState::Waiting,
            Finish::Retry { .. } => JobState::Queued,
        };
        match self.store.finish(job.id, worker, &finish, now_ms()).await {
            Ok(true) => {
                self.metrics.job_finished(state);
                tracing::info!(state = %state, "job finished");
            }
            Ok(false) => tracing::warn!("job was taken over before it finished; result dropped"),
            Err(e) => {
                tracing::error!(error = %e, "cannot record the job's end; its lease will expire and it will run again")
            }
        }
    }

    /// Extend the lease every third of its length. When the lease is lost
    /// (the store says another worker has it, or no heartbeat has reached
    /// the store for a whole lease since the last one that did), fire
    /// `tokens.lease_lost` and `tokens.cancel`; cancel the job when a
    /// maintainer asks. `reason` says which.
    fn spawn_heartbeat(
        &self,
        worker: String,
        job: &Job,
        claimed_at: Instant,
        tokens: JobTokens,
        reason: Arc<StopReason>,
    ) -> CancellationToken {
        let stop = CancellationToken::new();
        let store = self.store.clone();
        let lease = Duration::from_secs(self.settings.lease_secs);
        let id = job.id;
        let stop_child = stop.clone();
        tokio::spawn(async move {
            let every = lease / 3;
            // The store's lease runs out at `held_until` unless a heartbeat extends it.
            let mut held_until = claimed_at + lease;
            loop {
                let wait = every.min(held_until.saturating_duration_since(Instant::now()));
                tokio::select! {
                    _ = stop_child.cancelled() => break,
                    _ = tokio::time::sleep(wait) => {}
                }
                let sent_at = Instant::now();
                let left = held_until.saturating_duration_since(sent_at);
                let beat =
                    tokio::time::timeout(left, store.heartbeat(id, &worker, lease, now_ms())).await;
                match beat {
                    Ok(Ok(true)) => held_until = sent_at + lease,
                    Ok(Ok(false)) => {
                        tracing::warn!("lease lost: another worker owns the job now");
                        tokens.lose_lease();
                        break;
                    }
                    Ok(Err(_)) | Err(_) if Instant::now() >= held_until => {
                        tracing::error!(
                            lease_secs = lease.as_secs(),
                            "lease lost: no heartbeat reached the job store for a whole lease; stopping the job before anything more reaches GitHub"
                        );
                        tokens.lose_lease();
                        break;
                    }
                    Ok(Err(e)) => {
                        tracing::warn!(error = %e, "heartbeat failed; will try again");
                        continue;
                    }
                    Err(_) => {
                        tracing::warn!("heartbeat timed out; will try again");
                        continue;
                    }
                }
                match store.cancel_requested(id).await {
                    Ok(true) if !tokens.cancel.is_cancelled() => {
                        tracing::info!("a maintainer asked to stop this job");
                        reason.requested.store(true, Ordering::SeqCst);
                        tokens.cancel.cancel();
                    }
                    Ok(_) => {}
                    Err(e) => {
                        tracing::warn!(error = %e, "cannot read the job's cancel flag; will try again")
                    }
                }
            }
        });
        stop
    }
}

/// The tokens of one running job.
struct JobTokens {
    /// Stops the work.
    cancel: CancellationToken,
    /// Fences GitHub: nothing more is sent for the job.
    lease_lost: CancellationToken,
}

impl JobTokens {
    fn lose_lease(&self) {
        self.lease_lost.cancel();
        self.cancel.cancel();
    }
}
