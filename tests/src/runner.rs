//! Start the real `gitkeeper-runner` binary against a running bot and model
//! doubles, and stop it gently (SIGTERM) or not (SIGKILL).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

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
