//! The runner API in process: the real router over a real SQLite store, and
//! `RunnerBackend` waiting on it.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use gitkeeper_runner_protocol::{
    ChatMessage, ClaimResponse, CompletionRequest, ErrorKind, FinishReason, ResultReport, Timings,
    Usage, paths,
};
use http_body_util::BodyExt;
use secrecy::{ExposeSecret, SecretString};
use tower::ServiceExt;

use super::*;
use crate::config::RunnerSettings;
use crate::models::{ModelBackend, ModelError, default_models};
use crate::queue::{self, GenerationState};

struct Fixture {
    store: Arc<dyn JobStore>,
    app: axum::Router,
    settings: RunnerSettings,
    _dir: tempfile::TempDir,
}

async fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("jobs.db").display());
    let store = queue::open(&url, None).await.unwrap();
    let settings = RunnerSettings {
        poll_interval_ms: 10,
        claim_wait_secs: 1,
        admin_token: Some(SecretString::from("admin-secret".to_string())),
        ..RunnerSettings::default()
    };
    let app = router(RunnerApi {
        store: store.clone(),
        settings: settings.clone(),
        shutdown: CancellationToken::new(),
    });
    Fixture {
        store,
        app,
        settings,
        _dir: dir,
    }
}

async fn token(store: &Arc<dyn JobStore>, name: &str) -> String {
    let token = auth::new_token();
    assert!(
        store
            .create_runner_token(name, &auth::token_hash(token.expose_secret()), now_ms())
            .await
            .unwrap()
    );
    token.expose_secret().to_string()
}

async fn call(
    app: &axum::Router,
    method: &str,
    path: &str,
    bearer: Option<&str>,
    body: serde_json::Value,
) -> (StatusCode, serde_json::Value) {
    let mut request = Request::builder()
        .method(method)
        .uri(path)
        .header("content-type", "application/json");
    if let Some(token) = bearer {
        request = request.header("authorization", format!("Bearer {token}"));
    }
    let response = app
        .clone()
        .oneshot(request.body(Body::from(body.to_string())).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    let json = if bytes.is_empty() {
        serde_json::Value::Null
    } else {
        serde_json::from_slice(&bytes).unwrap()
    };
    (status, json)
}

fn registration(models: &[&str]) -> serde_json::Value {
    serde_json::to_value(queue::runner_tests::registration(models)).unwrap()
}

/// `local-small` (qwen2.5-coder:7b) through runners, waiting in a task.
fn small_call(
    f: &Fixture,
) -> tokio::task::JoinHandle<Result<crate::models::Completion, ModelError>> {
    small_call_with(
        f,
        CompletionRequest::new(vec![ChatMessage::user("write it")]),
    )
}

/// Register runner `token` serving `models`.
async fn register(f: &Fixture, token: &str, models: &[&str]) {
    let (status, body) = call(
        &f.app,
        "POST",
        paths::REGISTER,
        Some(token),
        registration(models),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

/// `request` sent to `local-small` through the relay.
fn small_call_with(
    f: &Fixture,
    request: CompletionRequest,
) -> tokio::task::JoinHandle<Result<crate::models::Completion, ModelError>> {
    let models = default_models();
    let backend = RunnerBackend::new(
        "local-small",
        &models["local-small"],
        f.store.clone(),
        f.settings.clone(),
    )
    .unwrap();
    tokio::spawn(async move { backend.complete(&request).await })
}

/// Long-poll as runner `token` until a request comes.
async fn claim_one(f: &Fixture, token: &str) -> ClaimResponse {
    loop {
        let (status, body) = call(
            &f.app,
            "POST",
            paths::CLAIM,
            Some(token),
            serde_json::json!({"models": ["qwen2.5-coder:7b"], "wait_secs": 1}),
        )
        .await;
        if status == StatusCode::OK {
            return serde_json::from_value(body).unwrap();
        }
        assert_eq!(status, StatusCode::NO_CONTENT);
    }
}

#[tokio::test]
async fn wrong_or_missing_token_is_401_and_names_the_fix() {
    let f = fixture().await;
    let (status, body) = call(&f.app, "POST", paths::REGISTER, None, registration(&[])).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("runner-token create")
    );
    let (status, _) = call(
        &f.app,
        "POST",
        paths::HEARTBEAT,
        Some("gkr_wrong"),
        serde_json::json!({"active": []}),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let good = token(&f.store, "mac").await;
    f.store.revoke_runner_token("mac", now_ms()).await.unwrap();
    let (status, _) = call(
        &f.app,
        "POST",
        paths::REGISTER,
        Some(&good),
        registration(&[]),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "revoked token");
    // The listing wants the admin token, not a runner's.
    let other = token(&f.store, "mini").await;
    let (status, _) = call(
        &f.app,
        "GET",
        paths::RUNNERS,
        Some(&other),
        serde_json::Value::Null,
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn register_claim_and_answer_reach_a_waiting_backend() {
    let f = fixture().await;
    let token = token(&f.store, "mac").await;
    let (status, body) = call(
        &f.app,
        "POST",
        paths::REGISTER,
        Some(&token),
        registration(&["qwen2.5-coder:7b"]),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["runner"], "mac");
    assert_eq!(body["heartbeat_secs"], 10);
    let waiting = small_call(&f);
    // The runner's long-poll returns the request once the backend queued it.
    let claimed = claim_one(&f, &token).await;
    assert_eq!(claimed.request.spec.tier, "local-small");
    assert_eq!(claimed.request.spec.context_window, 32768);
    assert_eq!(claimed.request.spec.request.messages[0].content, "write it");
    let result = ResultReport {
        text: "FILE: a.ts".into(),
        usage: Usage {
            prompt_tokens: 30,
            completion_tokens: 4,
            estimated: false,
        },
        model: "qwen2.5-coder:7b".into(),
        finish: FinishReason::Stop,
        timings: Timings {
            total_ms: 12,
            attempts: 1,
        },
        tool_calls: Vec::new(),
    };
    let (status, _) = call(
        &f.app,
        "POST",
        &paths::result(claimed.request.id),
        Some(&token),
        serde_json::to_value(&result).unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let completion = waiting.await.unwrap().unwrap();
    assert_eq!(completion.text, "FILE: a.ts");
    assert_eq!(completion.usage.total(), 34);
    assert_eq!(completion.cost_usd, 0.0);
    // A second answer to the same request is refused.
    let (status, body) = call(
        &f.app,
        "POST",
        &paths::result(claimed.request.id),
        Some(&token),
        serde_json::to_value(&result).unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");

    let (status, body) = call(
        &f.app,
        "GET",
        paths::RUNNERS,
        Some("admin-secret"),
        serde_json::Value::Null,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["runners"][0]["name"], "mac");
    assert_eq!(body["runners"][0]["models"][0], "qwen2.5-coder:7b");
    assert_eq!(body["runners"][0]["online"], true);
}

#[tokio::test]
async fn tools_and_tool_calls_are_relayed_unchanged() {
    let f = fixture().await;
    let token = token(&f.store, "mac").await;
    register(&f, &token, &["qwen2.5-coder:7b"]).await;
    let read = crate::models::ToolCall {
        id: "call_1".into(),
        name: "read_file".into(),
        arguments: r#"{"path":"a.ts"}"#.into(),
    };
    let request = CompletionRequest::new(vec![
        ChatMessage::user("write it"),
        ChatMessage::assistant_calls("", vec![read.clone()]),
        ChatMessage::tool_result(&read, "1: export {}"),
    ])
    .with_tools(vec![crate::models::ToolSpec {
        name: "read_file".into(),
        description: "Read a file".into(),
        parameters: serde_json::json!({"type": "object", "required": ["path"]}),
    }]);
    let waiting = small_call_with(&f, request.clone());
    let claimed = claim_one(&f, &token).await;
    assert_eq!(claimed.request.spec.request.messages, request.messages);
    assert_eq!(claimed.request.spec.request.tools, request.tools);
    let finish = crate::models::ToolCall {
        id: "call_2".into(),
        name: "finish".into(),
        arguments: r#"{"summary":"done"}"#.into(),
    };
    let result = ResultReport {
        text: String::new(),
        usage: Usage::default(),
        model: "qwen2.5-coder:7b".into(),
        finish: FinishReason::ToolCalls,
        timings: Timings::default(),
        tool_calls: vec![finish.clone()],
    };
    let (status, _) = call(
        &f.app,
        "POST",
        &paths::result(claimed.request.id),
        Some(&token),
        serde_json::to_value(&result).unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let completion = waiting.await.unwrap().unwrap();
    assert_eq!(completion.tool_calls, vec![finish]);
    assert_eq!(completion.finish, FinishReason::ToolCalls);
}

#[tokio::test]
async fn no_runner_for_the_model_fails_fast_and_leaves_nothing_queued() {
    let f = fixture().await;
    let token = token(&f.store, "mac").await;
    // A runner is online, but with another model.
    register(&f, &token, &["llama3:8b"]).await;
    let models = default_models();
    let backend = RunnerBackend::new(
        "local-large",
        &models["local-large"],
        f.store.clone(),
        f.settings.clone(),
    )
    .unwrap();
    let err = backend
        .complete(&CompletionRequest::new(vec![ChatMessage::user("x")]))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NoRunner);
    let text = err.to_string();
    assert!(
        text.contains("no runner online serves qwen2.5-coder:14b"),
        "{text}"
    );
    assert!(text.contains("[models.local-large]"), "{text}");
    assert!(text.contains("wait_for_runner"), "{text}");
    let (status, _) = call(
        &f.app,
        "POST",
        paths::CLAIM,
        Some(&token),
        serde_json::json!({"models": ["qwen2.5-coder:14b"], "wait_secs": 0}),
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "nothing was queued");
    assert_eq!(backend.list_models().await.unwrap(), ["llama3:8b"]);
}

#[tokio::test]
async fn runner_error_reaches_the_backend_with_its_kind() {
    let f = fixture().await;
    let token = token(&f.store, "mac").await;
    call(
        &f.app,
        "POST",
        paths::REGISTER,
        Some(&token),
        registration(&["qwen2.5-coder:7b"]),
    )
    .await;
    let waiting = small_call(&f);
    let claimed = claim_one(&f, &token).await;
    let (status, _) = call(
        &f.app,
        "POST",
        &paths::error(claimed.request.id),
        Some(&token),
        serde_json::json!({"kind": "too_large", "message": "prompt is 40000 tokens but the window is 32768"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let err = waiting.await.unwrap().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::TooLarge);
    assert!(
        matches!(err, ModelError::Runner { ref runner, .. } if runner == "mac"),
        "{err}"
    );
    let record = f
        .store
        .generation(claimed.request.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(record.state, GenerationState::Failed);
}
