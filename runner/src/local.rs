//! The local model servers (Ollama, LM Studio): which models each offers and
//! serving one generation request, through the same `gitkeeper-backends`
//! clients the bot uses, so num_ctx sizing, truncation checks, retries and
//! fix-naming errors are identical on both sides.

use std::sync::Arc;

use gitkeeper_backends::{
    Completion, ModelBackend, ModelError, ModelSettings, OllamaBackend, OpenAiBackend,
};
use gitkeeper_runner_protocol::{BackendReport, GenerationSpec, LocalBackend};

use crate::config::{Backend, RunnerConfig};

/// The exact fix for a local server that does not answer.
pub fn start_fix(kind: LocalBackend) -> &'static str {
    match kind {
        LocalBackend::Ollama => {
            "start Ollama: `ollama serve` (or `brew services start ollama`, or open the Ollama app)"
        }
        LocalBackend::Openai => {
            "start LM Studio's server: Developer tab → Start Server, or `lms server start`"
        }
    }
}

/// The exact fix for a model a server does not have.
pub fn pull_fix(kind: LocalBackend, model: &str) -> String {
    match kind {
        LocalBackend::Ollama => format!("ollama pull {model}"),
        LocalBackend::Openai => format!("lms get {model} && lms load {model}"),
    }
}

/// A client for `model` on `backend` with `settings` (built per request: the
/// settings come from the bot's request).
fn client(
    backend: &Backend,
    settings: &ModelSettings,
) -> Result<Arc<dyn ModelBackend>, ModelError> {
    settings.validate(&settings.model)?;
    let name = format!("runner:{}", backend.kind);
    Ok(match backend.kind {
        LocalBackend::Ollama => Arc::new(OllamaBackend::new(
            &name,
            settings,
            backend.endpoint.clone(),
            None,
        )?),
        LocalBackend::Openai => Arc::new(OpenAiBackend::new(
            &name,
            settings,
            backend.endpoint.clone(),
            None,
        )?),
    })
}

/// Ask one server for its models; a server that does not answer is reported
/// with the error (and an empty list), never skipped silently.
pub async fn discover(backend: &Backend) -> BackendReport {
    let kind = match backend.kind {
        LocalBackend::Ollama => gitkeeper_backends::BackendKind::Ollama,
        LocalBackend::Openai => gitkeeper_backends::BackendKind::Openai,
    };
    let mut settings = ModelSettings::new(kind, "list");
    settings.endpoint = Some(backend.endpoint.clone());
    settings.timeout_secs = 10;
    settings.max_retries = 0;
    let listed = match client(backend, &settings) {
        Ok(c) => c.list_models().await,
        Err(e) => Err(e),
    };
    match listed {
        Ok(mut models) => {
            models.sort();
            models.dedup();
            BackendReport {
                kind: backend.kind,
                endpoint: backend.endpoint.clone(),
                models,
                error: None,
            }
        }
        Err(e) => BackendReport {
            kind: backend.kind,
            endpoint: backend.endpoint.clone(),
            models: Vec::new(),
            error: Some(e.to_string()),
        },
    }
}

/// Every configured server's report, in configuration order.
pub async fn discover_all(backends: &[Backend]) -> Vec<BackendReport> {
    let mut reports = Vec::with_capacity(backends.len());
    for backend in backends {
        reports.push(discover(backend).await);
    }
    reports
}

/// The server that offers `model` (the first configured one that listed it).
pub fn server_for<'a>(
    backends: &'a [Backend],
    reports: &[BackendReport],
    model: &str,
) -> Option<&'a Backend> {
    reports
        .iter()
        .find(|r| r.models.iter().any(|m| m == model))
        .and_then(|r| {
            backends
                .iter()
                .find(|b| b.kind == r.kind && b.endpoint == r.endpoint)
        })
}

/// Serve one request on `backend` with this machine's tuning.
pub async fn generate(
    config: &RunnerConfig,
    backend: &Backend,
    spec: &GenerationSpec,
) -> Result<Completion, ModelError> {
    let settings = config.model_settings(backend, spec);
    client(backend, &settings)?.complete(&spec.request).await
}
