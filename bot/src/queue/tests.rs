//! The same behaviour tests run against SQLite and PostgreSQL.

use super::*;
use crate::ids::{CommentId, IssueNumber, RepoId};
use crate::intent::{Command, RepoRef, Sender, Target};
use crate::trail::{
    Attempt, AttemptOutcome, AttemptRole, ClosedPull, PullOutcome, TaskOutcome, TaskRecord,
    TaskSample,
};

/// PostgreSQL used by the tests; `.ci/run` makes sure it is up.
pub(crate) fn postgres_url() -> String {
    std::env::var("GITKEEPER_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

/// A PostgreSQL URL whose connections use a fresh schema of their own.
pub(crate) async fn fresh_postgres_url() -> String {
    let base = postgres_url();
    let schema = format!("gk_test_{}", uuid::Uuid::new_v4().simple());
    let pool = sqlx::PgPool::connect(&base)
        .await
        .unwrap_or_else(|e| panic!("PostgreSQL at {base} is needed by these tests (start it, or set GITKEEPER_TEST_POSTGRES_URL): {e}"));
    // The schema name is ours (a UUID), not input.
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}")))
        .execute(&pool)
        .await
        .unwrap();
    let sep = if base.contains('?') { '&' } else { '?' };
    format!("{base}{sep}options[search_path]={schema}")
}

pub(crate) async fn stores() -> Vec<(Arc<dyn JobStore>, tempfile::TempDir)> {
    let dir = tempfile::tempdir().unwrap();
    let sqlite_url = format!("sqlite://{}", dir.path().join("jobs.db").display());
    let sqlite = open(&sqlite_url, None).await.unwrap();
    let pg = open(&fresh_postgres_url().await, Some(8)).await.unwrap();
    vec![(sqlite, dir), (pg, tempfile::tempdir().unwrap())]
}

pub(super) fn intent(repo: u64, number: u64) -> Intent {
    Intent::Command {
        installation: InstallationId(1),
        repo: RepoRef {
            id: RepoId(repo),
            owner: "octo".into(),
            name: "app".into(),
        },
        target: Target::PullRequest(IssueNumber(number)),
        comment_id: CommentId(number * 10),
        sender: Sender {
            login: "maintainer".into(),
            id: 5,
        },
        command: Command::Retry,
    }
}

pub(super) fn delivery(id: &str) -> Delivery {
    Delivery {
        id: DeliveryId(id.into()),
        event: "issue_comment".into(),
        outcome: "queued".into(),
    }
}

pub(super) const LEASE: Duration = Duration::from_secs(30);

#[tokio::test]
async fn redelivered_webhook_creates_no_second_job() {
    for (store, _dir) in stores().await {
        let first = store
            .accept(&delivery("d-1"), Some(&intent(1, 1)), 0)
            .await
            .unwrap();
        assert!(
            matches!(first, Accepted::Stored(Some(_))),
            "{}",
            store.backend()
        );
        let again = store
            .accept(&delivery("d-1"), Some(&intent(1, 1)), 1)
            .await
            .unwrap();
        assert_eq!(again, Accepted::Duplicate, "{}", store.backend());
        assert_eq!(
            store.jobs(None, 10).await.unwrap().len(),
            1,
            "{}",
            store.backend()
        );
    }
}

#[tokio::test]
async fn delivery_without_work_is_recorded_for_dedupe() {
    for (store, _dir) in stores().await {
        assert_eq!(
            store.accept(&delivery("d-2"), None, 0).await.unwrap(),
            Accepted::Stored(None)
        );
        assert_eq!(
            store.accept(&delivery("d-2"), None, 0).await.unwrap(),
            Accepted::Duplicate
        );
        assert!(store.jobs(None, 10).await.unwrap().is_empty());
    }
}

#[tokio::test]
async fn jobs_for_one_target_run_one_at_a_time_in_order() {
    for (store, _dir) in stores().await {
        let b = store.backend();
        store
            .accept(&delivery("a"), Some(&intent(1, 7)), 0)
            .await
            .unwrap();
        store
            .accept(&delivery("b"), Some(&intent(1, 7)), 1)
            .await
            .unwrap();
        store
            .accept(&delivery("c"), Some(&intent(1, 8)), 2)
            .await
            .unwrap();
        let first = store.claim("w1", LEASE, 10).await.unwrap().unwrap();
        assert_eq!(first.delivery_id, Some(DeliveryId("a".into())), "{b}");
        // The second job on #7 waits behind the first; #8 is free.
        let second = store.claim("w2", LEASE, 11).await.unwrap().unwrap();
        assert_eq!(second.delivery_id, Some(DeliveryId("c".into())), "{b}");
        assert!(store.claim("w3", LEASE, 12).await.unwrap().is_none(), "{b}");
        assert!(
            store
                .finish(first.id, "w1", &Finish::Succeeded, 13)
                .await
                .unwrap()
        );
        let third = store.claim("w3", LEASE, 14).await.unwrap().unwrap();
        assert_eq!(third.delivery_id, Some(DeliveryId("b".into())), "{b}");
    }
}

#[tokio::test]
async fn expired_lease_is_reclaimed_and_the_old_worker_loses_it() {
    for (store, _dir) in stores().await {
        let b = store.backend();
        store
            .accept(&delivery("x"), Some(&intent(2, 1)), 0)
            .await
            .unwrap();
        let job = store
            .claim("crashed", Duration::from_millis(100), 0)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(job.attempts, 1);
        assert!(
            store.claim("w2", LEASE, 50).await.unwrap().is_none(),
            "{b}: lease still live"
        );
        let again = store.claim("w2", LEASE, 200).await.unwrap().unwrap();
        assert_eq!(again.id, job.id);
        assert_eq!(again.attempts, 2, "{b}");
        assert!(
            !store
                .heartbeat(job.id, "crashed", LEASE, 201)
                .await
                .unwrap(),
            "{b}"
        );
        assert!(
            !store
                .finish(job.id, "crashed", &Finish::Succeeded, 202)
                .await
                .unwrap(),
            "{b}"
        );
        assert!(
            store.heartbeat(job.id, "w2", LEASE, 203).await.unwrap(),
            "{b}"
        );
        assert!(
            store
                .finish(job.id, "w2", &Finish::Succeeded, 204)
                .await
                .unwrap(),
            "{b}"
        );
        let done = store.job(job.id).await.unwrap().unwrap();
        assert_eq!(done.state, JobState::Succeeded);
        assert_eq!(done.lease_owner, None);
    }
}

#[tokio::test]
async fn cancel_flags_running_jobs_and_cancels_pending_ones_of_the_target_only() {
    for (store, _dir) in stores().await {
        let running = job_for(&store, "d-run", 7).await;
        let claimed = store.claim("w1", LEASE, 10).await.unwrap().unwrap();
        assert_eq!(claimed.id, running);
        let queued = job_for(&store, "d-queued", 7).await;
        let other = job_for(&store, "d-other", 8).await;
        let asking = job_for(&store, "d-ask", 7).await;
        let key = intent(1, 7).target_key();
        let (flagged, cancelled) = store
            .request_cancel(&key, asking, "cancelled by /gitkeeper cancel", 20)
            .await
            .unwrap();
        assert_eq!((flagged, cancelled), (1, 1), "{}", store.backend());
        assert!(store.cancel_requested(running).await.unwrap());
        assert!(!store.cancel_requested(other).await.unwrap());
        assert!(!store.cancel_requested(asking).await.unwrap());
        let queued = store.job(queued).await.unwrap().unwrap();
        assert_eq!(queued.state, JobState::Cancelled);
        assert_eq!(
            queued.last_error.as_deref(),
            Some("cancelled by /gitkeeper cancel")
        );
        assert_eq!(
            store.job(other).await.unwrap().unwrap().state,
            JobState::Queued
        );
        // The running job is only flagged: its worker still holds it.
        assert!(store.heartbeat(running, "w1", LEASE, 30).await.unwrap());
        assert!(!store.cancel_requested(JobId(999_999)).await.unwrap());
    }
}

#[test]
fn a_cancel_never_waits_behind_the_job_it_stops() {
    let mut cancel = intent(1, 7);
    if let Intent::Command { command, .. } = &mut cancel {
        *command = Command::Cancel;
    }
    assert_ne!(cancel.target_key(), intent(1, 7).target_key());
    assert!(cancel.target_key().starts_with(&intent(1, 7).target_key()));
}

#[tokio::test]
async fn released_job_is_queued_again_without_counting_the_run() {
    for (store, _dir) in stores().await {
        store
            .accept(&delivery("r"), Some(&intent(3, 1)), 0)
            .await
            .unwrap();
        let job = store.claim("w", LEASE, 0).await.unwrap().unwrap();
        assert!(store.release(job.id, "w", 1).await.unwrap());
        let job = store.job(job.id).await.unwrap().unwrap();
        assert_eq!(
            (job.state, job.attempts),
            (JobState::Queued, 0),
            "{}",
            store.backend()
        );
    }
}

#[tokio::test]
async fn retry_waits_for_its_delay() {
    for (store, _dir) in stores().await {
        store
            .accept(&delivery("t"), Some(&intent(4, 1)), 0)
            .await
            .unwrap();
        let job = store.claim("w", LEASE, 0).await.unwrap().unwrap();
        let retry = Finish::Retry {
            after: Duration::from_secs(5),
            error: "GitHub answered 502".into(),
        };
        assert!(store.finish(job.id, "w", &retry, 1000).await.unwrap());
        assert!(store.claim("w", LEASE, 5999).await.unwrap().is_none());
        let again = store.claim("w", LEASE, 6000).await.unwrap().unwrap();
        assert_eq!(again.last_error.as_deref(), Some("GitHub answered 502"));
    }
}

#[tokio::test]
async fn concurrent_workers_never_share_a_job() {
    for (store, _dir) in stores().await {
        for i in 0..24 {
            store
                .accept(&delivery(&format!("c{i}")), Some(&intent(5, i)), 0)
                .await
                .unwrap();
        }
        let mut handles = Vec::new();
        for w in 0..4 {
            let store = store.clone();
            handles.push(tokio::spawn(async move {
                let mut mine = Vec::new();
                let worker = format!("w{w}");
                while let Some(job) = store.claim(&worker, LEASE, 1).await.unwrap() {
                    mine.push(job.id);
                    store
                        .finish(job.id, &worker, &Finish::Succeeded, 2)
                        .await
                        .unwrap();
                }
                mine
            }));
        }
        let mut all = Vec::new();
        for h in handles {
            all.extend(h.await.unwrap());
        }
        let total = all.len();
        all.sort();
        all.dedup();
        assert_eq!((total, all.len()), (24, 24), "{}", store.backend());
        let counts = store.count_by_state().await.unwrap();
        assert_eq!(counts, vec![(JobState::Succeeded, 24)]);
    }
}

#[tokio::test]
async fn listing_filters_by_state_and_installations_are_recorded() {
    for (store, _dir) in stores().await {
        store
            .accept(&delivery("l1"), Some(&intent(6, 1)), 0)
            .await
            .unwrap();
        store
            .accept(&delivery("l2"), Some(&intent(6, 2)), 0)
            .await
            .unwrap();
        let job = store.claim("w", LEASE, 0).await.unwrap().unwrap();
        store
            .finish(job.id, "w", &Finish::Failed("boom".into()), 1)
            .await
            .unwrap();
        assert_eq!(
            store.jobs(Some(JobState::Failed), 10).await.unwrap().len(),
            1
        );
        assert_eq!(
            store.jobs(Some(JobState::Queued), 10).await.unwrap().len(),
            1
        );
        assert_eq!(store.jobs(None, 10).await.unwrap().len(), 2);

        let mut change = InstallationChange {
            id: InstallationId(99),
            account: "octo".into(),
            removed: false,
            suspended: false,
        };
        store.record_installation(&change, 0).await.unwrap();
        change.suspended = true;
        store.record_installation(&change, 1).await.unwrap();
        let rows = store.installations().await.unwrap();
        assert_eq!(rows.len(), 1);
        assert!(rows[0].suspended);
        change.removed = true;
        store.record_installation(&change, 2).await.unwrap();
        assert!(store.installations().await.unwrap().is_empty());
    }
}

pub(crate) fn attempt(
    seq: u32,
    model: &str,
    outcome: AttemptOutcome,
    cost: f64,
    at: i64,
) -> Attempt {
    Attempt {
        seq,
        tier: seq,
        role: AttemptRole::Worker,
        model: model.into(),
        served_model: format!("{model}-served"),
        edit_format: gitkeeper_backends::EditFormat::WholeFile,
        prompt_sha256: "ab".repeat(32),
        prompt_tokens: 1200,
        completion_tokens: 300,
        usage_estimated: seq == 2,
        cost_usd: cost,
        latency_ms: 8500,
        validation_ms: 1200,
        outcome,
        error: (outcome != AttemptOutcome::Passed).then(|| "SEARCH matches nothing".into()),
        created_at: at,
        provider: if cost > 0.0 {
            "anthropic api.anthropic.com".into()
        } else {
            "ollama 127.0.0.1:11434".into()
        },
        paid: cost > 0.0,
        sent_paths: vec!["src/a.ts".into(), "prisma/schema.prisma".into()],
        // The second attempt is an agent session: its tool calls round-trip.
        mode: if seq == 2 {
            crate::trail::TierMode::Agent
        } else {
            crate::trail::TierMode::Edits
        },
        tool_calls: if seq == 2 {
            vec![crate::trail::ToolCallRecord {
                tool: "read_file".into(),
                arguments: r#"{"path":"src/a.ts"}"#.into(),
                result_chars: 420,
                ms: 3,
                ok: true,
            }]
        } else {
            Vec::new()
        },
    }
}

async fn job_for(store: &Arc<dyn JobStore>, delivery_id: &str, number: u64) -> JobId {
    match store
        .accept(&delivery(delivery_id), Some(&intent(1, number)), 0)
        .await
        .unwrap()
    {
        Accepted::Stored(Some(id)) => id,
        other => panic!("no job stored: {other:?}"),
    }
}

#[tokio::test]
async fn attempt_trail_and_task_record_round_trip() {
    for (store, _dir) in stores().await {
        let job = job_for(&store, "d-trail", 7).await;
        let trail = [
            attempt(1, "local-small", AttemptOutcome::ApplyFailed, 0.0, 10),
            attempt(2, "cloud-claude", AttemptOutcome::Passed, 0.0081, 20),
        ];
        for a in &trail {
            store.record_attempt(job, "octo/app", a).await.unwrap();
        }
        assert_eq!(
            store.attempts(job).await.unwrap(),
            trail,
            "{}",
            store.backend()
        );

        let mut record = TaskRecord {
            task_id: "3f1c".into(),
            repo: "octo/app".into(),
            task_type: crate::trail::TaskType::Implement,
            description: "Add user authentication".into(),
            complexity: 5,
            worker: Some("cloud-claude".into()),
            checker: None,
            outcome: TaskOutcome::Pass,
            attempts: 2,
            escalations: 1,
            validation_method: "syntax+tests".into(),
            latency_ms: 17_000,
            tokens_in: 2400,
            tokens_out: 600,
            cost_usd: 0.0081,
            prompt_sha256: Some("cd".repeat(32)),
            created_at: 30,
            ladder: "standard".into(),
            local_only: true,
        };
        store.record_task(job, &record, 30).await.unwrap();
        assert_eq!(
            store.task_record(job).await.unwrap().as_ref(),
            Some(&record)
        );
        // A re-run of the job replaces its record.
        record.outcome = TaskOutcome::Fail;
        record.attempts = 5;
        store.record_task(job, &record, 40).await.unwrap();
        assert_eq!(store.task_record(job).await.unwrap(), Some(record));
        assert_eq!(store.task_record(JobId(9999)).await.unwrap(), None);
    }
}

#[tokio::test]
async fn spent_since_sums_one_repos_costs_from_a_time() {
    for (store, _dir) in stores().await {
        let job = job_for(&store, "d-spend", 8).await;
        store
            .record_attempt(
                job,
                "octo/app",
                &attempt(
                    1,
                    "cloud-claude",
                    AttemptOutcome::ValidationFailed,
                    0.25,
                    100,
                ),
            )
            .await
            .unwrap();
        store
            .record_attempt(
                job,
                "octo/app",
                &attempt(2, "cloud-claude", AttemptOutcome::Passed, 0.5, 200),
            )
            .await
            .unwrap();
        store
            .record_attempt(
                job,
                "octo/other",
                &attempt(3, "cloud-claude", AttemptOutcome::Passed, 4.0, 200),
            )
            .await
            .unwrap();
        let backend = store.backend();
        assert_eq!(
            store.spent_since("octo/app", 0).await.unwrap(),
            0.75,
            "{backend}"
        );
        assert_eq!(
            store.spent_since("octo/app", 150).await.unwrap(),
            0.5,
            "{backend}"
        );
        assert_eq!(
            store.spent_since("nobody/none", 0).await.unwrap(),
            0.0,
            "{backend}"
        );
    }
}

pub(super) fn task(
    worker: &str,
    task_type: crate::trail::TaskType,
    outcome: TaskOutcome,
) -> TaskRecord {
    TaskRecord {
        task_id: "t".into(),
        repo: "octo/app".into(),
        task_type,
        description: "d".into(),
        complexity: 2,
        worker: Some(worker.into()),
        checker: None,
        outcome,
        attempts: 1,
        escalations: 0,
        validation_method: "quick".into(),
        latency_ms: 1,
        tokens_in: 1,
        tokens_out: 1,
        cost_usd: 0.0,
        prompt_sha256: None,
        created_at: 1,
        ladder: "quick-edit".into(),
        local_only: false,
    }
}

#[tokio::test]
async fn pull_outcomes_count_revision_rounds_and_credit_the_last_passing_run() {
    use crate::trail::TaskType;
    for (store, _dir) in stores().await {
        // Issue 7 → PR 8 by local-small, revised twice on the PR (one run failed).
        let wrote = job_for(&store, "d-w", 7).await;
        store
            .record_task(
                wrote,
                &task("local-small", TaskType::Fix, TaskOutcome::Pass),
                1,
            )
            .await
            .unwrap();
        for (d, outcome) in [("d-r1", TaskOutcome::Pass), ("d-r2", TaskOutcome::Fail)] {
            let revise = job_for(&store, d, 8).await;
            store
                .record_task(revise, &task("local-small", TaskType::Fix, outcome), 2)
                .await
                .unwrap();
        }
        // Issue 9 → PR 10 by cloud-claude, closed without merging, no revision.
        let other = job_for(&store, "d-o", 9).await;
        store
            .record_task(
                other,
                &task("cloud-claude", TaskType::Implement, TaskOutcome::Pass),
                3,
            )
            .await
            .unwrap();
        let outcome = |pull: u64, issue: u64, merged: bool| PullOutcome {
            repo: "octo/app".into(),
            pull_number: pull,
            merged,
            pull_key: intent(1, pull).target_key(),
            issue_key: intent(1, issue).target_key(),
        };
        // Closed, reopened, then merged: the last close counts.
        store
            .record_pull_outcome(&outcome(8, 7, false), 10)
            .await
            .unwrap();
        store
            .record_pull_outcome(&outcome(8, 7, true), 11)
            .await
            .unwrap();
        store
            .record_pull_outcome(&outcome(10, 9, false), 12)
            .await
            .unwrap();
        // The outcome is credited to the last passing run (the first
        // revision on PR 8; PR 10's issue task), as `stats` groups them.
        let history = store.history(0, None).await.unwrap();
        let credited: Vec<(Option<String>, &str, Option<ClosedPull>)> = history
            .iter()
            .map(|h| {
                (
                    h.record.worker.clone(),
                    h.record.task_type.as_str(),
                    h.closed_pull,
                )
            })
            .collect();
        let closed = |merged, revision_rounds| {
            Some(ClosedPull {
                merged,
                revision_rounds,
            })
        };
        assert_eq!(
            credited,
            [
                (Some("local-small".into()), "fix", None),
                (Some("local-small".into()), "fix", closed(true, 2)),
                (Some("local-small".into()), "fix", None),
                (Some("cloud-claude".into()), "implement", closed(false, 0)),
            ],
            "{}",
            store.backend()
        );
    }
}

#[tokio::test]
async fn history_reads_the_ledger_time_to_pull_request_samples_and_filters() {
    use crate::trail::TaskType;
    for (store, _dir) in stores().await {
        let backend = store.backend();
        // The job is queued at 0 (`job_for`); its task is recorded at 500.
        let job = job_for(&store, "d-h1", 7).await;
        let trail = [
            attempt(1, "local-small", AttemptOutcome::ValidationFailed, 0.0, 100),
            attempt(2, "cloud-claude", AttemptOutcome::Passed, 0.02, 200),
        ];
        for a in &trail {
            store.record_attempt(job, "octo/app", a).await.unwrap();
        }
        let mut record = task("cloud-claude", TaskType::Fix, TaskOutcome::Pass);
        record.created_at = 500;
        record.local_only = true;
        store.record_task(job, &record, 500).await.unwrap();
        store.record_published(job, 8, 90_000).await.unwrap();
        let sample = TaskSample {
            context: "# Project\nsrc/a.ts".into(),
            diff: "--- a/src/a.ts\n+++ b/src/a.ts\n".into(),
        };
        store.record_sample(job, &sample, 500).await.unwrap();
        store
            .record_pull_outcome(
                &PullOutcome {
                    repo: "octo/app".into(),
                    pull_number: 8,
                    merged: true,
                    pull_key: intent(1, 8).target_key(),
                    issue_key: intent(1, 7).target_key(),
                },
                100_000,
            )
            .await
            .unwrap();
        // Another repository's task, recorded later.
        let other = job_for(&store, "d-h2", 9).await;
        let mut elsewhere = task("local-small", TaskType::Docs, TaskOutcome::Fail);
        elsewhere.repo = "octo/other".into();
        elsewhere.created_at = 1_000;
        store.record_task(other, &elsewhere, 1_000).await.unwrap();

        let all = store.history(0, None).await.unwrap();
        assert_eq!(all.len(), 2, "{backend}");
        let h = &all[0];
        assert_eq!(h.job_id, job.0, "{backend}");
        assert_eq!(h.record, record, "{backend}");
        // The ledger comes back with each attempt.
        assert_eq!(h.attempts, trail, "{backend}");
        assert_eq!(h.attempts[1].provider, "anthropic api.anthropic.com");
        assert!(h.attempts[1].paid && !h.attempts[0].paid, "{backend}");
        assert_eq!(
            (h.queued_at, h.published_at),
            (Some(0), Some(90_000)),
            "{backend}"
        );
        assert_eq!(h.pull_number, Some(8), "{backend}");
        assert_eq!(h.merged, Some(true), "{backend}");
        assert!(all[1].attempts.is_empty(), "{backend}");
        assert_eq!(all[1].merged, None, "{backend}");

        let recent = store.history(600, None).await.unwrap();
        assert_eq!(recent.len(), 1, "{backend}");
        assert_eq!(recent[0].record.repo, "octo/other", "{backend}");
        let one_repo = store.history(0, Some("octo/app")).await.unwrap();
        assert_eq!(one_repo.len(), 1, "{backend}");
        assert_eq!(one_repo[0].job_id, job.0, "{backend}");

        assert_eq!(
            store.samples(0).await.unwrap(),
            [(job.0, sample.clone())],
            "{backend}"
        );
        assert!(store.samples(600).await.unwrap().is_empty(), "{backend}");
    }
}

/// A SQLite store in `dir`, without the trait object (for its internals).
async fn sqlite_store(dir: &std::path::Path) -> SqliteStore {
    let url = format!("sqlite://{}", dir.join("jobs.db").display());
    let store = SqliteStore::connect(&url, None).await.unwrap();
    store.migrate().await.unwrap();
    store
}

#[tokio::test]
async fn a_connection_left_inside_a_transaction_is_not_lent_out_again() {
    let dir = tempfile::tempdir().unwrap();
    let store = sqlite_store(dir.path()).await;
    // What a COMMIT that failed on a full disk leaves behind: SQLite ended
    // the transaction, sqlx still counts it open, and its rollback on drop
    // fails. Every pooled connection is left so.
    for _ in 0..8 {
        if let Ok(mut tx) = store.begin_write().await {
            let _ = sqlx::query("ROLLBACK").execute(&mut *tx).await;
        }
    }
    // Once the disk has room again, writes succeed without a restart.
    for i in 0..8 {
        let accepted = store
            .accept(&delivery(&format!("after-{i}")), Some(&intent(1, i)), 0)
            .await
            .unwrap();
        assert!(
            matches!(accepted, Accepted::Stored(Some(_))),
            "{accepted:?}"
        );
    }
    store.check_writable(1).await.unwrap();
}

#[tokio::test]
async fn a_deleted_database_file_refuses_writes_instead_of_losing_them() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let store = sqlite_store(&data).await;
    store.check_writable(0).await.unwrap();
    store
        .accept(&delivery("before"), Some(&intent(1, 1)), 0)
        .await
        .unwrap();
    std::fs::remove_dir_all(&data).unwrap();
    let err = store.check_writable(1).await.unwrap_err();
    assert!(matches!(err, StoreError::Gone { .. }), "{err}");
    assert!(err.to_string().contains("jobs.db"), "{err}");
    let err = store
        .accept(&delivery("after"), Some(&intent(1, 2)), 1)
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Gone { .. }), "{err}");
}

#[tokio::test]
async fn an_identical_request_joins_the_queued_or_running_job() {
    for (store, _dir) in stores().await {
        let b = store.backend();
        let submit = |id: &str, number: u64, key: Option<&str>| Submission {
            delivery: delivery(id),
            intent: Some(intent(1, number)),
            coalesce_key: key.map(str::to_string),
        };
        let first = store
            .accept_batch(&[submit("k1", 3, Some("retry"))], 0)
            .await
            .unwrap();
        let Accepted::Stored(Some(job)) = first[0] else {
            panic!("{b}: {first:?}")
        };
        // In one batch: the same request again, another request, another issue.
        let answers = store
            .accept_batch(
                &[
                    submit("k2", 3, Some("retry")),
                    submit("k3", 3, Some("escalate")),
                    submit("k4", 4, Some("retry")),
                    submit("k5", 3, None),
                    submit("k2", 3, Some("retry")),
                ],
                1,
            )
            .await
            .unwrap();
        assert_eq!(answers[0], Accepted::Coalesced(job), "{b}");
        assert!(matches!(answers[1], Accepted::Stored(Some(_))), "{b}");
        assert!(matches!(answers[2], Accepted::Stored(Some(_))), "{b}");
        assert!(matches!(answers[3], Accepted::Stored(Some(_))), "{b}");
        assert_eq!(answers[4], Accepted::Duplicate, "{b}");
        // Running still joins; finished does not.
        let claimed = store.claim("w", LEASE, 2).await.unwrap().unwrap();
        assert_eq!(claimed.id, job, "{b}");
        let again = store
            .accept_batch(&[submit("k6", 3, Some("retry"))], 3)
            .await
            .unwrap();
        assert_eq!(again[0], Accepted::Coalesced(job), "{b}");
        store.finish(job, "w", &Finish::Succeeded, 4).await.unwrap();
        let after = store
            .accept_batch(&[submit("k7", 3, Some("retry"))], 5)
            .await
            .unwrap();
        assert!(
            matches!(after[0], Accepted::Stored(Some(j)) if j != job),
            "{b}: {after:?}"
        );
        assert_eq!(store.jobs(None, 100).await.unwrap().len(), 5, "{b}");
    }
}
