//! Group commit: deliveries that arrive while a commit runs are stored
//! together by the next one, in one transaction with one fsync, instead of
//! each waiting for a commit of its own. Where the database takes several
//! writers (PostgreSQL), [`JobStore::writers`] commits run side by side, each
//! taking the batch waiting when it is free. Each submitter is answered only
//! after the commit that holds its delivery, so an answer of "stored" still
//! means durable (and a process killed mid-commit answered no one).
//!
//! Must never: answer a submission before its batch committed, or let one
//! failed batch stop later ones (the next batch opens a fresh transaction).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::sync::{mpsc, oneshot};

use super::{Accepted, JobStore, StoreError, Submission, now_ms};

/// How many submissions may wait for a commit before submitters wait too.
const WAITING: usize = 4096;

/// Why a submission was not stored.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CommitError {
    /// The batch holding it failed; nothing of that batch is stored.
    #[error(transparent)]
    Store(Arc<StoreError>),
    #[error("the job store's committer has stopped (the bot is shutting down)")]
    Stopped,
}

type Answer = oneshot::Sender<Result<Accepted, CommitError>>;

/// A handle to submit deliveries to the committer task; cheap to clone.
#[derive(Clone)]
pub struct Committer {
    queue: mpsc::Sender<(Submission, Answer)>,
    counts: Arc<Counts>,
}

/// What the committer did so far.
#[derive(Default)]
struct Counts {
    commits: AtomicU64,
    submissions: AtomicU64,
}

impl Committer {
    /// Start the committer task on `store`; it stores at most `max_batch`
    /// submissions per transaction (1: one transaction each, in turn) and
    /// ends when every handle is dropped.
    pub fn spawn(store: Arc<dyn JobStore>, max_batch: usize) -> Committer {
        let (queue, waiting) = mpsc::channel(WAITING);
        let waiting = Arc::new(tokio::sync::Mutex::new(waiting));
        let counts = Arc::new(Counts::default());
        for _ in 0..store.writers() {
            tokio::spawn(run(
                store.clone(),
                waiting.clone(),
                max_batch.max(1),
                counts.clone(),
            ));
        }
        Committer { queue, counts }
    }

    /// Store `submission` with whatever else is waiting; answers once the
    /// commit holding it is done.
    pub async fn submit(&self, submission: Submission) -> Result<Accepted, CommitError> {
        let (answer, answered) = oneshot::channel();
        self.queue
            .send((submission, answer))
            .await
            .map_err(|_| CommitError::Stopped)?;
        answered.await.unwrap_or(Err(CommitError::Stopped))
    }

    /// Commits made so far (batches, failed ones included).
    pub fn commits(&self) -> u64 {
        self.counts.commits.load(Ordering::Relaxed)
    }

    /// Submissions stored so far.
    pub fn stored(&self) -> u64 {
        self.counts.submissions.load(Ordering::Relaxed)
    }
}

/// One committer: take what waits (up to `max_batch`), commit it, answer.
async fn run(
    store: Arc<dyn JobStore>,
    waiting: Arc<tokio::sync::Mutex<mpsc::Receiver<(Submission, Answer)>>>,
    max_batch: usize,
    counts: Arc<Counts>,
) {
    let mut batch = Vec::with_capacity(max_batch);
    loop {
        // The lock is held only while taking a batch, not while committing it.
        let taken = waiting.lock().await.recv_many(&mut batch, max_batch).await;
        if taken == 0 {
            break;
        }
        let (submissions, answers): (Vec<_>, Vec<_>) = std::mem::take(&mut batch)
            .into_iter()
            // A submitter that gave up (timed out) is no longer waiting, but
            // its delivery is stored all the same: a redelivery dedupes it.
            .unzip();
        let result = store.accept_batch(&submissions, now_ms()).await;
        counts.commits.fetch_add(1, Ordering::Relaxed);
        match result {
            Ok(accepted) => {
                counts
                    .submissions
                    .fetch_add(accepted.len() as u64, Ordering::Relaxed);
                for (answer, accepted) in answers.into_iter().zip(accepted) {
                    let _ = answer.send(Ok(accepted));
                }
            }
            Err(e) => {
                tracing::error!(deliveries = answers.len(), error = %e, "cannot store a batch of deliveries");
                let e = Arc::new(e);
                for answer in answers {
                    let _ = answer.send(Err(CommitError::Store(e.clone())));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::queue::tests::{delivery, intent, stores};

    fn submission(id: &str, number: u64) -> Submission {
        Submission {
            delivery: delivery(id),
            intent: Some(intent(1, number)),
            coalesce_key: None,
        }
    }

    #[tokio::test(flavor = "current_thread")]
    async fn concurrent_deliveries_share_commits_and_each_is_stored_once() {
        for (store, _dir) in stores().await {
            let backend = store.backend();
            let committer = Committer::spawn(store.clone(), 256);
            let mut tasks = Vec::new();
            for i in 0..60u64 {
                let committer = committer.clone();
                // Every tenth delivery is a redelivery of the one before.
                let id = format!("g-{}", if i % 10 == 9 { i - 1 } else { i });
                tasks.push(tokio::spawn(async move {
                    committer.submit(submission(&id, i)).await
                }));
            }
            let mut stored = 0;
            let mut duplicates = 0;
            for task in tasks {
                match task.await.unwrap().unwrap() {
                    Accepted::Stored(Some(_)) => stored += 1,
                    Accepted::Duplicate => duplicates += 1,
                    other => panic!("{backend}: {other:?}"),
                }
            }
            assert_eq!((stored, duplicates), (54, 6), "{backend}");
            assert_eq!(store.jobs(None, 1000).await.unwrap().len(), 54, "{backend}");
            // The sixty submissions arrived while the first commit ran.
            assert!(
                committer.commits() < 60,
                "{backend}: {}",
                committer.commits()
            );
            assert_eq!(committer.stored(), 60, "{backend}");
        }
    }

    #[tokio::test]
    async fn one_transaction_each_when_the_batch_is_one() {
        let (store, _dir) = stores().await.swap_remove(0);
        let committer = Committer::spawn(store, 1);
        for i in 0..5u64 {
            committer
                .submit(submission(&format!("s-{i}"), i))
                .await
                .unwrap();
        }
        assert_eq!(committer.commits(), 5);
    }
}
