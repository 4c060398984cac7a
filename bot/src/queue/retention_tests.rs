//! Retention, the same on SQLite and PostgreSQL: old rows go, fresh ones,
//! unfinished jobs with their deliveries, attempts and task records stay.

use gitkeeper_runner_protocol::{ChatMessage, CompletionRequest, GenerationSpec};

use super::tests::{LEASE, attempt, delivery, intent, stores, task};
use super::*;
use crate::trail::{AttemptOutcome, PullOutcome, TaskOutcome, TaskType};

const DAY: i64 = 24 * 60 * 60 * 1000;
/// "Now" in these tests, and a time long before it.
const NOW: i64 = 1000 * DAY;
const OLD: i64 = NOW - 200 * DAY;
const WORKER: &str = "w";

fn spec() -> GenerationSpec {
    GenerationSpec {
        tier: "local-small".into(),
        model: "qwen".into(),
        context_window: 32768,
        max_tokens: 4096,
        temperature: 0.1,
        timeout_secs: 600,
        request: CompletionRequest::new(vec![ChatMessage::user("the whole prompt")]),
    }
}

/// Accept delivery `id` with a job on issue `number` at `at`.
async fn accept_job(store: &Arc<dyn JobStore>, id: &str, number: u64, at: i64) -> JobId {
    match store
        .accept(&delivery(id), Some(&intent(1, number)), at)
        .await
        .unwrap()
    {
        Accepted::Stored(Some(job)) => job,
        other => panic!("no job stored: {other:?}"),
    }
}

/// Claim the next job at `at` and end it with `finish`; returns its id.
async fn claim_and(store: &Arc<dyn JobStore>, at: i64, finish: Option<Finish>) -> JobId {
    let job = store.claim(WORKER, LEASE, at).await.unwrap().unwrap();
    if let Some(finish) = finish {
        assert!(store.finish(job.id, WORKER, &finish, at).await.unwrap());
    }
    job.id
}

#[tokio::test]
async fn retention_deletes_old_deliveries_jobs_and_prompts_and_keeps_the_trail() {
    for (store, _dir) in stores().await {
        let backend = store.backend();
        // Old and finished, with its trail: the job goes, the trail stays.
        let done = accept_job(&store, "old-done", 7, OLD).await;
        assert_eq!(claim_and(&store, OLD, Some(Finish::Succeeded)).await, done);
        let trail = [attempt(1, "local-small", AttemptOutcome::Passed, 0.0, OLD)];
        store
            .record_attempt(done, "octo/app", &trail[0])
            .await
            .unwrap();
        let record = task("local-small", TaskType::Fix, TaskOutcome::Pass);
        store.record_task(done, &record, OLD).await.unwrap();
        // Old but waiting for a maintainer, running, queued: all in flight.
        let waiting = accept_job(&store, "old-waiting", 11, OLD).await;
        let parked = Some(Finish::Waiting("approval".into()));
        assert_eq!(claim_and(&store, OLD, parked).await, waiting);
        let running = accept_job(&store, "old-running", 12, OLD).await;
        assert_eq!(claim_and(&store, NOW, None).await, running);
        // A fresh finished job (claimed before the queued one below exists).
        let fresh = accept_job(&store, "fresh-done", 14, NOW - DAY).await;
        let cancelled = Some(Finish::Cancelled("stop".into()));
        assert_eq!(claim_and(&store, NOW - DAY, cancelled).await, fresh);
        let queued = accept_job(&store, "old-queued", 13, OLD).await;
        // An old delivery that asked for no work.
        store
            .accept(&delivery("old-nothing"), None, OLD)
            .await
            .unwrap();
        // Stored prompts: an old answered one, an old one still queued, a fresh one.
        let answered = store.enqueue_generation(&spec(), OLD).await.unwrap();
        assert!(store.cancel_generation(answered, OLD).await.unwrap());
        let unclaimed = store.enqueue_generation(&spec(), OLD).await.unwrap();
        let recent = store.enqueue_generation(&spec(), NOW - DAY).await.unwrap();
        assert!(store.cancel_generation(recent, NOW - DAY).await.unwrap());

        // Task samples (context and diff for export) go with stored prompts.
        let sample = |n: &str| crate::trail::TaskSample {
            context: format!("context {n}"),
            diff: format!("diff {n}"),
        };
        store
            .record_sample(JobId(9001), &sample("old"), OLD)
            .await
            .unwrap();
        store
            .record_sample(JobId(9002), &sample("recent"), NOW - DAY)
            .await
            .unwrap();

        let cutoffs = Retention::from_days(30, 90, 14).cutoffs(NOW);
        let expected = Pruned {
            deliveries: 2,
            finished_jobs: 1,
            generation_requests: 1,
            samples: 1,
        };
        // A dry run counts and deletes nothing.
        assert_eq!(
            store.prune(&cutoffs, true).await.unwrap(),
            expected,
            "{backend}"
        );
        assert!(store.job(done).await.unwrap().is_some(), "{backend}");
        assert_eq!(
            store.prune(&cutoffs, false).await.unwrap(),
            expected,
            "{backend}"
        );
        assert_eq!(
            store.prune(&cutoffs, false).await.unwrap(),
            Pruned::default()
        );

        assert!(store.job(done).await.unwrap().is_none(), "{backend}");
        for kept in [waiting, running, queued, fresh] {
            assert!(
                store.job(kept).await.unwrap().is_some(),
                "{backend}: {kept:?}"
            );
        }
        assert_eq!(store.attempts(done).await.unwrap(), trail, "{backend}");
        assert_eq!(
            store.task_record(done).await.unwrap(),
            Some(record),
            "{backend}"
        );
        assert!(
            store.generation(answered).await.unwrap().is_none(),
            "{backend}"
        );
        assert!(
            store.generation(unclaimed).await.unwrap().is_some(),
            "{backend}"
        );
        assert!(
            store.generation(recent).await.unwrap().is_some(),
            "{backend}"
        );
        // The deliveries of jobs in flight still dedupe; the pruned ones are forgotten.
        for in_flight in ["old-waiting", "old-running", "old-queued", "fresh-done"] {
            let again = store
                .accept(&delivery(in_flight), Some(&intent(1, 99)), NOW)
                .await
                .unwrap();
            assert_eq!(again, Accepted::Duplicate, "{backend}: {in_flight}");
        }
        let forgotten = store.accept(&delivery("old-nothing"), None, NOW).await;
        assert_eq!(forgotten.unwrap(), Accepted::Stored(None), "{backend}");
        // A pull request's rounds are still counted from the kept task record.
        store
            .record_pull_outcome(
                &PullOutcome {
                    repo: "octo/app".into(),
                    pull_number: 8,
                    merged: true,
                    pull_key: intent(1, 8).target_key(),
                    issue_key: intent(1, 7).target_key(),
                },
                NOW,
            )
            .await
            .unwrap();
        let credited: Vec<_> = store
            .history(0, None)
            .await
            .unwrap()
            .into_iter()
            .filter_map(|h| h.closed_pull)
            .collect();
        assert_eq!(credited.len(), 1, "{backend}: {credited:?}");
        assert!(credited[0].merged, "{backend}");
    }
}

#[tokio::test]
async fn zero_days_keeps_rows_forever() {
    for (store, _dir) in stores().await {
        let done = accept_job(&store, "ancient", 7, 0).await;
        claim_and(&store, 0, Some(Finish::Failed("no".into()))).await;
        let forever = Retention::from_days(0, 0, 0);
        assert!(forever.keeps_everything());
        let pruned = store.prune(&forever.cutoffs(NOW), false).await.unwrap();
        assert_eq!(pruned, Pruned::default(), "{}", store.backend());
        assert!(store.job(done).await.unwrap().is_some());
    }
}

#[tokio::test]
async fn the_sweep_prunes_at_once_and_stops_on_shutdown() {
    for (store, _dir) in stores().await {
        let now = now_ms();
        let old = now - 200 * DAY;
        let done = accept_job(&store, "swept", 7, old).await;
        claim_and(&store, old, Some(Finish::Succeeded)).await;
        let shutdown = tokio_util::sync::CancellationToken::new();
        let sweep = tokio::spawn(retention::sweep(
            store.clone(),
            Retention::from_days(30, 90, 14),
            Duration::from_secs(3600),
            shutdown.clone(),
        ));
        // The first sweep runs at start; poll (bounded) until it has.
        let mut gone = false;
        for _ in 0..200 {
            if store.job(done).await.unwrap().is_none() {
                gone = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        assert!(
            gone,
            "{}: the sweep did not delete the old job",
            store.backend()
        );
        shutdown.cancel();
        tokio::time::timeout(Duration::from_secs(10), sweep)
            .await
            .expect("the sweep stops on shutdown")
            .unwrap();
    }
}
