//! `RunnerStore` behaviour, the same on SQLite and PostgreSQL.

use gitkeeper_runner_protocol::{
    BackendReport, ChatMessage, CompletionRequest, ErrorKind, ErrorReport, FinishReason,
    GenerationSpec, Hardware, LocalBackend, PROTOCOL_VERSION, RegisterRequest, ResultReport,
    Timings, Usage,
};

use super::tests::stores;
use super::*;

const OFFLINE: Duration = Duration::from_secs(30);

pub(crate) fn registration(models: &[&str]) -> RegisterRequest {
    RegisterRequest {
        protocol: PROTOCOL_VERSION,
        version: "0.1.0".into(),
        hardware: Hardware {
            chip: Some("Apple M4 Pro".into()),
            memory_bytes: Some(64 << 30),
            ..Hardware::default()
        },
        backends: vec![BackendReport {
            kind: LocalBackend::Ollama,
            endpoint: "http://127.0.0.1:11434".into(),
            models: models.iter().map(|m| m.to_string()).collect(),
            error: None,
        }],
        max_concurrency: 1,
    }
}

fn spec(model: &str) -> GenerationSpec {
    GenerationSpec {
        tier: "local-small".into(),
        model: model.into(),
        context_window: 32768,
        max_tokens: 4096,
        temperature: 0.1,
        timeout_secs: 600,
        request: CompletionRequest::new(vec![ChatMessage::user("write it")]),
    }
}

fn result(text: &str) -> ResultReport {
    ResultReport {
        text: text.into(),
        usage: Usage {
            prompt_tokens: 10,
            completion_tokens: 2,
            estimated: false,
        },
        model: "qwen2.5-coder:7b".into(),
        finish: FinishReason::Stop,
        timings: Timings {
            total_ms: 5,
            attempts: 1,
        },
        tool_calls: Vec::new(),
    }
}

async fn runner(store: &Arc<dyn JobStore>, name: &str, models: &[&str], now: i64) {
    assert!(
        store
            .create_runner_token(name, &format!("hash-{name}"), now)
            .await
            .unwrap()
    );
    store
        .register_runner(name, &registration(models), now)
        .await
        .unwrap();
}

fn strings(models: &[&str]) -> Vec<String> {
    models.iter().map(|m| m.to_string()).collect()
}

#[tokio::test]
async fn tokens_are_found_by_hash_and_revocation_ends_them() {
    for (store, _dir) in stores().await {
        let b = store.backend();
        assert!(store.create_runner_token("mac", "h1", 0).await.unwrap());
        assert!(
            !store.create_runner_token("mac", "h2", 1).await.unwrap(),
            "{b}"
        );
        assert_eq!(
            store.runner_for_token("h1").await.unwrap().as_deref(),
            Some("mac")
        );
        assert_eq!(store.runner_for_token("h2").await.unwrap(), None, "{b}");
        assert!(store.revoke_runner_token("mac", 2).await.unwrap());
        assert!(!store.revoke_runner_token("mac", 3).await.unwrap(), "{b}");
        assert_eq!(store.runner_for_token("h1").await.unwrap(), None, "{b}");
        // A revoked name can be given a new token.
        assert!(
            store.create_runner_token("mac", "h3", 4).await.unwrap(),
            "{b}"
        );
        assert_eq!(
            store.runner_for_token("h3").await.unwrap().as_deref(),
            Some("mac")
        );
    }
}

#[tokio::test]
async fn runner_without_the_model_is_never_given_the_request() {
    for (store, _dir) in stores().await {
        let b = store.backend();
        runner(&store, "small", &["qwen2.5-coder:7b"], 0).await;
        runner(&store, "large", &["qwen2.5-coder:14b"], 0).await;
        let id = store
            .enqueue_generation(&spec("qwen2.5-coder:14b"), 1)
            .await
            .unwrap();
        // Asking for a model it did not register does not help either.
        let none = store
            .claim_generation(
                "small",
                &strings(&["qwen2.5-coder:7b", "qwen2.5-coder:14b"]),
                2,
            )
            .await
            .unwrap();
        assert!(none.is_none(), "{b}");
        let got = store
            .claim_generation("large", &strings(&["qwen2.5-coder:14b"]), 3)
            .await
            .unwrap()
            .expect("large serves it");
        assert_eq!(got.id, id);
        assert_eq!(got.spec, spec("qwen2.5-coder:14b"));
        let record = store.generation(id).await.unwrap().unwrap();
        assert_eq!(record.state, GenerationState::Claimed, "{b}");
        assert_eq!(record.runner.as_deref(), Some("large"));
        assert_eq!(record.attempts, 1);
        assert_eq!(
            store
                .runners_serving("qwen2.5-coder:14b", OFFLINE, 4)
                .await
                .unwrap(),
            1
        );
        assert_eq!(
            store.runners_serving("llama3", OFFLINE, 4).await.unwrap(),
            0,
            "{b}"
        );
    }
}

#[tokio::test]
async fn silent_runner_goes_offline_and_its_request_is_finished_by_another() {
    for (store, _dir) in stores().await {
        let b = store.backend();
        let model = "qwen2.5-coder:7b";
        runner(&store, "first", &[model], 0).await;
        runner(&store, "second", &[model], 0).await;
        let id = store.enqueue_generation(&spec(model), 1).await.unwrap();
        let got = store
            .claim_generation("first", &strings(&[model]), 2)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(got.id, id);
        // `second` keeps heartbeating; `first` falls silent past the limit.
        let later = 2 + 31_000;
        store.runner_seen("second", false, later).await.unwrap();
        assert_eq!(store.sweep_runners(OFFLINE, later).await.unwrap(), 1, "{b}");
        let list = store.runner_list(OFFLINE, later).await.unwrap();
        let first = list.iter().find(|r| r.name == "first").unwrap();
        assert!(!first.online, "{b}");
        assert!(list.iter().find(|r| r.name == "second").unwrap().online);
        // An offline runner claims nothing until it registers again.
        assert!(
            store
                .claim_generation("first", &strings(&[model]), later)
                .await
                .unwrap()
                .is_none(),
            "{b}"
        );
        let again = store
            .claim_generation("second", &strings(&[model]), later + 1)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(again.id, id);
        // The first runner's late answer is refused and it is told to stop.
        assert!(
            !store
                .complete_generation(id, "first", &result("late"), later + 2)
                .await
                .unwrap()
        );
        assert_eq!(
            store.released_from("first", &[id]).await.unwrap(),
            [id],
            "{b}"
        );
        assert!(
            store
                .released_from("second", &[id])
                .await
                .unwrap()
                .is_empty()
        );
        assert!(
            store
                .complete_generation(id, "second", &result("done"), later + 3)
                .await
                .unwrap()
        );
        let record = store.generation(id).await.unwrap().unwrap();
        assert_eq!(record.state, GenerationState::Succeeded, "{b}");
        assert_eq!(record.result.unwrap().text, "done");
        assert_eq!(record.attempts, 2);
    }
}

#[tokio::test]
async fn claim_the_runner_never_received_is_requeued_after_the_grace() {
    for (store, _dir) in stores().await {
        let b = store.backend();
        let model = "qwen2.5-coder:7b";
        runner(&store, "mac", &[model], 0).await;
        let lost = store.enqueue_generation(&spec(model), 1).await.unwrap();
        let held = store.enqueue_generation(&spec(model), 1).await.unwrap();
        for at in [10, 20] {
            store
                .claim_generation("mac", &strings(&[model]), at)
                .await
                .unwrap()
                .unwrap();
        }
        // Within the grace nothing moves, even though the runner lists only one.
        assert_eq!(
            store.requeue_unheld("mac", &[held], 10, 30).await.unwrap(),
            0,
            "{b}"
        );
        assert_eq!(
            store
                .requeue_unheld("mac", &[held], 100, 101)
                .await
                .unwrap(),
            1,
            "{b}"
        );
        assert_eq!(
            store.generation(lost).await.unwrap().unwrap().state,
            GenerationState::Queued
        );
        assert_eq!(
            store.generation(held).await.unwrap().unwrap().state,
            GenerationState::Claimed,
            "{b}"
        );
    }
}

#[tokio::test]
async fn restarted_runner_gets_its_claims_requeued_on_register() {
    for (store, _dir) in stores().await {
        let model = "qwen2.5-coder:7b";
        runner(&store, "mac", &[model], 0).await;
        let id = store.enqueue_generation(&spec(model), 1).await.unwrap();
        store
            .claim_generation("mac", &strings(&[model]), 2)
            .await
            .unwrap()
            .unwrap();
        let requeued = store
            .register_runner("mac", &registration(&[model]), 3)
            .await
            .unwrap();
        assert_eq!(requeued, 1, "{}", store.backend());
        let record = store.generation(id).await.unwrap().unwrap();
        assert_eq!(record.state, GenerationState::Queued);
        assert_eq!(record.runner, None);
    }
}

#[tokio::test]
async fn cancellation_reaches_the_runner_and_errors_fail_or_requeue() {
    for (store, _dir) in stores().await {
        let b = store.backend();
        let model = "qwen2.5-coder:7b";
        runner(&store, "mac", &[model], 0).await;
        let first = store.enqueue_generation(&spec(model), 1).await.unwrap();
        store
            .claim_generation("mac", &strings(&[model]), 2)
            .await
            .unwrap()
            .unwrap();
        assert!(store.cancel_generation(first, 3).await.unwrap());
        assert!(!store.cancel_generation(first, 4).await.unwrap(), "{b}");
        assert_eq!(store.released_from("mac", &[first]).await.unwrap(), [first]);
        assert!(
            !store
                .complete_generation(first, "mac", &result("x"), 5)
                .await
                .unwrap()
        );
        assert_eq!(
            store.generation(first).await.unwrap().unwrap().state,
            GenerationState::Cancelled
        );

        let second = store.enqueue_generation(&spec(model), 6).await.unwrap();
        store
            .claim_generation("mac", &strings(&[model]), 7)
            .await
            .unwrap()
            .unwrap();
        let requeue = ErrorReport {
            kind: ErrorKind::Unavailable,
            message: "draining".into(),
            requeue: true,
        };
        assert!(
            store
                .fail_generation(second, "mac", &requeue, 8)
                .await
                .unwrap()
        );
        assert_eq!(
            store.generation(second).await.unwrap().unwrap().state,
            GenerationState::Queued,
            "{b}"
        );
        store
            .claim_generation("mac", &strings(&[model]), 9)
            .await
            .unwrap()
            .unwrap();
        let fail = ErrorReport {
            kind: ErrorKind::Misconfigured,
            message: "model not found: ollama pull qwen2.5-coder:7b".into(),
            requeue: false,
        };
        assert!(
            store
                .fail_generation(second, "mac", &fail, 10)
                .await
                .unwrap()
        );
        let record = store.generation(second).await.unwrap().unwrap();
        assert_eq!(record.state, GenerationState::Failed, "{b}");
        assert_eq!(record.error, Some(fail));
        assert_eq!(record.attempts, 2);
    }
}

#[tokio::test]
async fn concurrent_runners_never_share_a_request() {
    for (store, _dir) in stores().await {
        let model = "qwen2.5-coder:7b";
        let names: Vec<String> = (0..4).map(|i| format!("r{i}")).collect();
        for name in &names {
            runner(&store, name, &[model], 0).await;
        }
        for i in 0..20 {
            store.enqueue_generation(&spec(model), i).await.unwrap();
        }
        let mut tasks = Vec::new();
        for name in names {
            let store = store.clone();
            tasks.push(tokio::spawn(async move {
                let mut got = Vec::new();
                while let Some(r) = store
                    .claim_generation(&name, &[model.to_string()], 100)
                    .await
                    .unwrap()
                {
                    got.push(r.id);
                }
                got
            }));
        }
        let mut all = Vec::new();
        for t in tasks {
            all.extend(t.await.unwrap());
        }
        all.sort();
        let before = all.len();
        all.dedup();
        assert_eq!(before, 20, "{}", store.backend());
        assert_eq!(all.len(), 20, "{}", store.backend());
    }
}
