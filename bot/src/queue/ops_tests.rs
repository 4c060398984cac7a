//! [`JobStore::ops_snapshot`] on SQLite and PostgreSQL: what `/metrics`
//! shows of the shared queue and the day's spend.

use super::tests::{LEASE, attempt, delivery, intent, stores};
use super::*;
use crate::trail::AttemptOutcome;

#[tokio::test]
async fn the_snapshot_counts_runnable_jobs_their_oldest_wait_and_the_top_spender() {
    for (store, _dir) in stores().await {
        let empty = store.ops_snapshot(1_000, 0).await.unwrap();
        assert_eq!(empty, OpsSnapshot::default(), "{}", store.backend());

        for (n, at) in [(1, 100), (2, 200), (3, 300)] {
            store
                .accept(&delivery(&format!("d-ops-{n}")), Some(&intent(n, n)), at)
                .await
                .unwrap();
        }
        // The oldest is claimed (running, not waiting), then put back with a
        // retry delay: queued, but not runnable until the delay has passed.
        let job = store.claim("w", LEASE, 400).await.unwrap().unwrap();
        let retry = Finish::Retry {
            after: Duration::from_secs(10),
            error: "passing".into(),
        };
        assert!(store.finish(job.id, "w", &retry, 500).await.unwrap());

        for (repo, cost, at) in [
            ("octo/app", 0.25, 600),
            ("octo/app", 0.5, 700),
            ("octo/other", 0.5, 700),
            ("octo/old", 9.0, 50),
        ] {
            store
                .record_attempt(
                    job.id,
                    repo,
                    &attempt(1, "cloud-claude", AttemptOutcome::Passed, cost, at),
                )
                .await
                .unwrap();
        }
        let snapshot = store.ops_snapshot(1_000, 100).await.unwrap();
        assert_eq!(
            snapshot,
            OpsSnapshot {
                runnable: 2,
                oldest_runnable_since: Some(200),
                top_repo_spend_usd: 0.75,
            },
            "{}",
            store.backend()
        );
        // Once its retry delay has passed, the put-back job is runnable too.
        let later = store.ops_snapshot(20_000, 100).await.unwrap();
        assert_eq!(later.runnable, 3, "{}", store.backend());
        assert_eq!(
            later.oldest_runnable_since,
            Some(200),
            "{}",
            store.backend()
        );
    }
}
