//! `gitkeeper-runner doctor`: check everything the runner needs, print one
//! line per check with the exact fix for each failure, and measure tokens/s
//! on a short prompt for each model. Read-only except for that prompt.

use std::fmt::Write as _;
use std::time::Instant;

use gitkeeper_runner_protocol::{
    BackendReport, ChatMessage, CompletionRequest, GenerationSpec, HeartbeatRequest,
};

use crate::client::{BotClient, ClientError};
use crate::config::RunnerConfig;
use crate::local;

/// The prompt timed per model: short, with a short answer.
const PROBE: &str = "Write a Rust function that adds two i32 numbers. Answer with the code only.";
const PROBE_MAX_TOKENS: u32 = 64;

/// What doctor found: the lines to print and whether everything passed.
#[derive(Debug, Default)]
pub struct Report {
    pub text: String,
    pub failures: u32,
}

impl Report {
    fn ok(&mut self, what: &str) {
        let _ = writeln!(self.text, "ok    {what}");
    }

    fn fail(&mut self, what: &str, fix: &str) {
        self.failures += 1;
        let _ = writeln!(self.text, "FAIL  {what}\n      fix: {fix}");
    }

    fn info(&mut self, what: &str) {
        let _ = writeln!(self.text, "      {what}");
    }
}

/// Run every check; `env` reads `OLLAMA_HOST`.
pub async fn run(config: &RunnerConfig, env: &dyn Fn(&str) -> Option<String>) -> Report {
    let mut report = Report::default();
    check_bot(config, &mut report).await;
    let backends = config.backends(env);
    let reports = local::discover_all(&backends).await;
    for r in &reports {
        match &r.error {
            None => report.ok(&format!(
                "{} at {} answers ({} models)",
                r.kind,
                r.endpoint,
                r.models.len()
            )),
            Some(e) => report.fail(
                &format!("{} at {} does not answer: {e}", r.kind, r.endpoint),
                local::start_fix(r.kind),
            ),
        }
    }
    for model in &config.required_models {
        check_required(model, &reports, &mut report);
    }
    let measured: Vec<&str> = if config.required_models.is_empty() {
        reports
            .iter()
            .flat_map(|r| r.models.iter().map(String::as_str))
            .collect()
    } else {
        config.required_models.iter().map(String::as_str).collect()
    };
    for model in measured {
        if let Some(server) = local::server_for(&backends, &reports, model) {
            speed(config, server, model, &mut report).await;
        }
    }
    report
}

async fn check_bot(config: &RunnerConfig, report: &mut Report) {
    let (url, token) = match (config.bot_url(), config.token()) {
        (Ok(url), Ok(token)) => (url, token),
        (Err(e), _) | (_, Err(e)) => {
            report.fail("bot connection is not configured", &e.to_string());
            return;
        }
    };
    let client = match BotClient::new(&url, token) {
        Ok(c) => c,
        Err(e) => return report.fail("cannot build the HTTP client", &e.to_string()),
    };
    if let Err(e) = client.healthy().await {
        return report.fail(
            &format!("bot at {} is not reachable: {e}", client.base()),
            "check bot_url (GITKEEPER_RUNNER__BOT_URL), that the bot is running (`gitkeeper-bot serve`) and that this machine can reach it over HTTPS",
        );
    }
    report.ok(&format!("bot at {} is reachable", client.base()));
    let probe = HeartbeatRequest {
        probe: true,
        ..HeartbeatRequest::default()
    };
    match client.heartbeat(&probe).await {
        Ok(_) => report.ok("bot accepts the runner token"),
        Err(ClientError::Unauthorized(why)) => report.fail(
            &format!("bot refuses the runner token: {why}"),
            "on the bot run `gitkeeper-bot runner-token create <name>` and set GITKEEPER_RUNNER__TOKEN to the printed token",
        ),
        Err(e) => report.fail(
            &format!("bot did not accept a heartbeat: {e}"),
            "check the bot's log; the runner protocol may differ (install matching versions)",
        ),
    }
}

fn check_required(model: &str, reports: &[BackendReport], report: &mut Report) {
    if let Some(r) = reports.iter().find(|r| r.models.iter().any(|m| m == model)) {
        return report.ok(&format!(
            "{model} is available on {} at {}",
            r.kind, r.endpoint
        ));
    }
    // Name the fix for the first server that answers (Ollama first by default).
    let kind = reports
        .iter()
        .find(|r| r.error.is_none())
        .or(reports.first())
        .map_or(gitkeeper_runner_protocol::LocalBackend::Ollama, |r| r.kind);
    report.fail(
        &format!("required model {model} is missing"),
        &local::pull_fix(kind, model),
    );
}

async fn speed(
    config: &RunnerConfig,
    server: &crate::config::Backend,
    model: &str,
    report: &mut Report,
) {
    let spec = GenerationSpec {
        tier: "doctor".into(),
        model: model.to_string(),
        context_window: 4096,
        max_tokens: PROBE_MAX_TOKENS,
        temperature: 0.1,
        timeout_secs: 300,
        request: CompletionRequest::new(vec![ChatMessage::user(PROBE)])
            .with_max_tokens(PROBE_MAX_TOKENS),
    };
    let started = Instant::now();
    match local::generate(config, server, &spec).await {
        Ok(c) => {
            let secs = started.elapsed().as_secs_f64().max(1e-3);
            report.info(&format!(
                "{model}: {:.1} tokens/s ({} tokens in {:.2}s{})",
                f64::from(c.usage.completion_tokens) / secs,
                c.usage.completion_tokens,
                secs,
                if c.usage.estimated { ", counted locally" } else { "" }
            ));
        }
        Err(e) => report.fail(
            &format!("{model} did not answer a short prompt: {e}"),
            &format!(
                "try `ollama run {model}` on this machine to see the server's own error; free memory or pick a smaller model if it does not load"
            ),
        ),
    }
}
