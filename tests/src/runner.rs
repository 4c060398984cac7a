//! Start the real `gitkeeper-runner` binary against a running bot and model
//! doubles, and stop it gently (SIGTERM) or not (SIGKILL); and `RunnerRig`,
//! the bot plus a `RunnerBackend` on its database that the runner tests and
//! the dispatch benchmark share.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use gitkeeper_bot::config::RunnerSettings;
use gitkeeper_bot::models::{
    ChatMessage, Completion, CompletionRequest, ModelBackend, ModelError, default_models,
};
use gitkeeper_bot::queue::{self, JobStore};
use gitkeeper_bot::runner_api::RunnerBackend;
use gitkeeper_runner_protocol::{RequestId, paths};
use serde_json::Value;

use crate::bot::{BotOptions, BotProcess};
use crate::models::ModelDouble;

/// The built `gitkeeper-runner` binary next to the test executable.
pub fn runner_binary() -> PathBuf {
    let bot = crate::bot::bot_binary();
    let bin = bot.with_file_name("gitkeeper-runner");
    assert!(
        bin.exists(),
        "{} is missing: build it with `cargo build -p gitkeeper-runner` (nextest builds it with --workspace)",
        bin.display()
    );
    bin
}

/// How to run one runner.
#[derive(Debug, Clone)]
pub struct RunnerOptions {
    pub bot_url: String,
    pub token: String,
    /// `(kind, endpoint)`: `ollama` or `openai`.
    pub backends: Vec<(String, String)>,
    pub max_concurrency: u32,
    pub required_models: Vec<String>,
    /// More lines for the TOML file.
    pub extra_toml: String,
}

impl RunnerOptions {
    pub fn new(bot_url: &str, token: &str, ollama_url: &str) -> Self {
        Self {
            bot_url: bot_url.to_string(),
            token: token.to_string(),
            backends: vec![("ollama".into(), ollama_url.to_string())],
            max_concurrency: 1,
            required_models: Vec::new(),
            extra_toml: String::new(),
        }
    }

    /// Write the config file for this runner into `dir` as `<name>.toml`.
    fn write_config(&self, dir: &Path, name: &str) -> PathBuf {
        let mut toml = format!(
            "max_concurrency = {}\nmax_backoff_secs = 2\ndrain_secs = 30\nrequired_models = {:?}\n{}\n",
            self.max_concurrency, self.required_models, self.extra_toml
        );
        for (kind, endpoint) in &self.backends {
            toml.push_str(&format!(
                "[[backends]]\nkind = \"{kind}\"\nendpoint = \"{endpoint}\"\n"
            ));
        }
        let path = dir.join(format!("{name}.toml"));
        std::fs::write(&path, toml).expect("write runner config");
        path
    }

    /// The command with config and environment; `args` picks the subcommand.
    fn command(&self, dir: &Path, name: &str, args: &[&str]) -> Command {
        let config = self.write_config(dir, name);
        let mut command = Command::new(runner_binary());
        command
            .args(args)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("GITKEEPER_RUNNER_CONFIG", config)
            .env("GITKEEPER_RUNNER__BOT_URL", &self.bot_url)
            .env("GITKEEPER_RUNNER__TOKEN", &self.token)
            .env("RUST_LOG", "info,gitkeeper_runner=debug");
        command
    }

    /// `gitkeeper-runner doctor`: its exit status and standard output.
    /// Async, so doubles on the caller's runtime keep answering meanwhile.
    pub async fn doctor(&self, dir: &Path) -> (bool, String) {
        let out = tokio::process::Command::from(self.command(dir, "doctor", &["doctor"]))
            .output()
            .await
            .expect("run gitkeeper-runner doctor");
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    }
}

/// A running runner; killed when dropped.
pub struct RunnerProcess {
    child: Option<Child>,
    log: PathBuf,
}

impl RunnerProcess {
    /// Start `gitkeeper-runner run`, logging to `<dir>/<name>.log`.
    pub fn start(options: &RunnerOptions, dir: &Path, name: &str) -> RunnerProcess {
        let log = dir.join(format!("{name}.log"));
        let log_file = std::fs::File::create(&log).expect("runner log file");
        let child = options
            .command(dir, name, &["run"])
            .stdout(Stdio::null())
            .stderr(Stdio::from(log_file))
            .spawn()
            .expect("spawn gitkeeper-runner");
        RunnerProcess {
            child: Some(child),
            log,
        }
    }

    /// What the runner logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// SIGKILL, as when the Mac loses power or the process crashes.
    pub fn kill9(&mut self) {
        crate::bot::kill9(&mut self.child);
    }

    /// SIGTERM and wait for the drain to end; returns whether it exited successfully.
    pub async fn terminate(&mut self) -> bool {
        crate::bot::terminate(&mut self.child, Duration::from_secs(30)).await
    }
}

impl Drop for RunnerProcess {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// The admin token every rig's bot accepts for `GET /runners`.
pub const ADMIN: &str = "e2e-admin-token";
/// Safety net for waits on the real processes; never an assertion on speed.
pub const PATIENCE: Duration = Duration::from_secs(60);

/// Short runner timings, so offline detection takes seconds, not minutes.
pub fn runner_settings() -> RunnerSettings {
    RunnerSettings {
        offline_after_secs: 3,
        heartbeat_secs: 1,
        claim_wait_secs: 2,
        poll_interval_ms: 50,
        ..RunnerSettings::default()
    }
}

/// The real bot binary with runner timings `s`, and this process's handle on
/// its database (where a `RunnerBackend` waits, as the generation loop does).
pub struct RunnerRig {
    pub bot: BotProcess,
    pub store: Arc<dyn JobStore>,
    pub settings: RunnerSettings,
    pub dir: tempfile::TempDir,
}

/// Start a rig on `database_url` (`None`: a SQLite file in a temp dir).
pub async fn start_rig(database_url: Option<String>, s: RunnerSettings) -> RunnerRig {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = database_url
        .unwrap_or_else(|| format!("sqlite://{}", dir.path().join("gitkeeper.db").display()));
    let mut options = BotOptions::new("http://127.0.0.1:9", 1);
    options.database_url = Some(url.clone());
    options.extra_env = vec![
        ("GITKEEPER_RUNNER__ADMIN_TOKEN".into(), ADMIN.into()),
        (
            "GITKEEPER_RUNNER__OFFLINE_AFTER_SECS".into(),
            s.offline_after_secs.to_string(),
        ),
        (
            "GITKEEPER_RUNNER__HEARTBEAT_SECS".into(),
            s.heartbeat_secs.to_string(),
        ),
        (
            "GITKEEPER_RUNNER__CLAIM_WAIT_SECS".into(),
            s.claim_wait_secs.to_string(),
        ),
        (
            "GITKEEPER_RUNNER__POLL_INTERVAL_MS".into(),
            s.poll_interval_ms.to_string(),
        ),
    ];
    let bot = BotProcess::start(&options, dir.path()).await;
    let store = queue::open(&url, Some(4))
        .await
        .expect("open the bot's database");
    RunnerRig {
        bot,
        store,
        settings: s,
        dir,
    }
}

impl RunnerRig {
    /// `gitkeeper-bot runner-token create <name>`: the token it prints once.
    pub fn token(&self, name: &str) -> String {
        self.bot.runner_token(name)
    }

    pub fn runner(&self, name: &str, ollama: &ModelDouble) -> RunnerProcess {
        let options = RunnerOptions::new(&self.bot.url(), &self.token(name), &ollama.url());
        RunnerProcess::start(&options, self.dir.path(), name)
    }

    /// `GET /runners` with the admin token.
    pub async fn runners(&self) -> Value {
        let response = reqwest::Client::new()
            .get(format!(
                "{}{}",
                self.bot.url().trim_end_matches('/'),
                paths::RUNNERS
            ))
            .bearer_auth(ADMIN)
            .send()
            .await
            .expect("rig");
        assert_eq!(response.status(), 200);
        response.json().await.expect("rig")
    }

    /// Wait until runner `name` is online serving `model`.
    pub async fn wait_online(&self, name: &str, model: &str, runner: &RunnerProcess) {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            let list = self.runners().await;
            let online = list["runners"].as_array().expect("rig").iter().any(|r| {
                r["name"] == name
                    && r["online"] == true
                    && r["models"]
                        .as_array()
                        .expect("rig")
                        .iter()
                        .any(|m| m == model)
            });
            if online {
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "runner {name} never came online with {model}: {list}\nrunner log:\n{}\nbot log:\n{}",
                runner.log(),
                self.bot.log()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub fn backend(&self, tier: &str, settings: RunnerSettings) -> RunnerBackend {
        let models = default_models();
        RunnerBackend::new(tier, &models[tier], self.store.clone(), settings).expect("rig")
    }

    /// Start a `tier` call in a task, as the generation loop would make it.
    pub fn call(
        &self,
        tier: &str,
        prompt: &str,
    ) -> tokio::task::JoinHandle<Result<Completion, ModelError>> {
        self.call_with(tier, prompt, self.settings.clone())
    }

    pub fn call_with(
        &self,
        tier: &str,
        prompt: &str,
        settings: RunnerSettings,
    ) -> tokio::task::JoinHandle<Result<Completion, ModelError>> {
        let backend = self.backend(tier, settings);
        let request = CompletionRequest::new(vec![ChatMessage::user(prompt)]);
        tokio::spawn(async move { backend.complete(&request).await })
    }

    /// The generation request whose prompt is `prompt`.
    pub async fn request_for(&self, prompt: &str) -> gitkeeper_bot::queue::GenerationRecord {
        for id in 1..1000 {
            match self.store.generation(RequestId(id)).await.expect("rig") {
                Some(r) if r.spec.request.messages[0].content == prompt => return r,
                Some(_) => continue,
                None => break,
            }
        }
        panic!("no generation request with prompt {prompt:?}");
    }
}

/// Wait until the double has received `n` completion requests.
pub async fn wait_for_calls(ollama: &ModelDouble, n: usize, what: &str) {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while ollama.completion_requests().len() < n {
        assert!(tokio::time::Instant::now() < deadline, "{what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The call's answer, or a panic with `logs()`.
pub async fn finish(
    call: tokio::task::JoinHandle<Result<Completion, ModelError>>,
    logs: impl Fn() -> String,
) -> Completion {
    match tokio::time::timeout(PATIENCE, call).await {
        Ok(Ok(Ok(c))) => c,
        Ok(Ok(Err(e))) => panic!("the call failed: {e}\n{}", logs()),
        other => panic!("the call did not finish: {other:?}\n{}", logs()),
    }
}
