//! Start the real `gitkeeper-bot` binary against the doubles, send it signed
//! webhooks, and stop it gently (SIGTERM) or not (SIGKILL).
//!
//! The bot binds port 0 itself and writes the address it bound to a file
//! (`[server] addr_file`): a test never picks a free port, releases it and
//! hopes no one takes it before the bot does.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::Sha256;

use crate::github::test_app_key_path;

/// The webhook secret every test bot is configured with.
pub const WEBHOOK_SECRET: &str = "e2e-webhook-secret";

/// A one-shot `gitkeeper-bot --config <config> ...` command (solve, eval)
/// that sees none of the host's model keys or Ollama address.
pub fn command_with_config(config: &Path) -> tokio::process::Command {
    let mut command = tokio::process::Command::new(bot_binary());
    command
        .arg("--config")
        .arg(config)
        .env_remove("OLLAMA_HOST")
        .env_remove("ANTHROPIC_API_KEY")
        .env_remove("DEEPSEEK_API_KEY")
        .env_remove("OPENAI_API_KEY");
    command
}

/// The built `gitkeeper-bot` binary next to the test executable.
pub fn bot_binary() -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    let mut dir = exe.parent().map(Path::to_path_buf).expect("test dir");
    if dir.ends_with("deps") {
        dir.pop();
    }
    let bin = dir.join("gitkeeper-bot");
    assert!(
        bin.exists(),
        "{} is missing: build it with `cargo build -p gitkeeper-bot` (nextest builds it with --workspace)",
        bin.display()
    );
    bin
}

/// `X-Hub-Signature-256` for `body` under `secret`.
pub fn sign(secret: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("any key length works");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// A webhook example from `shared/fixtures/github-webhooks`, with the
/// `installation` object App deliveries carry.
pub fn webhook_fixture(name: &str, installation_id: u64) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/fixtures/github-webhooks")
        .join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut v: Value = serde_json::from_str(&text).expect("fixture is JSON");
    // Installation events carry the whole installation object; other events
    // carry only its id, which GitHub adds for App deliveries.
    if v["installation"].is_object() {
        v["installation"]["id"] = serde_json::json!(installation_id);
    } else {
        v["installation"] = serde_json::json!({"id": installation_id, "node_id": "MDIzOkludGVncmF0aW9uSW5zdGFsbGF0aW9u"});
    }
    v
}

/// PostgreSQL for tests: `GITKEEPER_TEST_POSTGRES_URL` or the local server.
pub fn postgres_url() -> String {
    std::env::var("GITKEEPER_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

/// A PostgreSQL URL whose connections live in a fresh schema.
pub async fn fresh_postgres_url() -> String {
    let base = postgres_url();
    let schema = format!("gk_e2e_{}", uuid_like());
    let pool = sqlx::PgPool::connect(&base).await.unwrap_or_else(|e| {
        panic!("PostgreSQL at {base} is needed (start it or set GITKEEPER_TEST_POSTGRES_URL): {e}")
    });
    // The schema name is generated here, not input.
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}")))
        .execute(&pool)
        .await
        .expect("create schema");
    let sep = if base.contains('?') { '&' } else { '?' };
    format!("{base}{sep}options[search_path]={schema}")
}

fn uuid_like() -> String {
    (0..16)
        .map(|_| format!("{:x}", rand::random::<u8>() % 16))
        .collect()
}

/// How to run the bot.
#[derive(Debug, Clone)]
pub struct BotOptions {
    pub github_url: String,
    pub app_id: u64,
    /// `None`: SQLite in the data dir.
    pub database_url: Option<String>,
    pub lease_secs: u64,
    pub concurrency: usize,
    pub extra_env: Vec<(String, String)>,
    /// Written to `<data_dir>/gitkeeper.toml` and used as the config file.
    pub config_toml: Option<String>,
    /// A command the bot runs under (`<launcher...> gitkeeper-bot serve`),
    /// e.g. one that gives it a small disk of its own; empty: run it directly.
    pub launcher: Vec<String>,
}

impl BotOptions {
    pub fn new(github_url: &str, app_id: u64) -> Self {
        Self {
            github_url: github_url.to_string(),
            app_id,
            database_url: None,
            lease_secs: 3,
            concurrency: 2,
            extra_env: Vec::new(),
            config_toml: None,
            launcher: Vec::new(),
        }
    }
}

/// The crypto provider reqwest's rustls needs before a client is built
/// (the crate is built without a default one); a second call does nothing.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// A running bot process; killed when dropped.
pub struct BotProcess {
    child: Option<Child>,
    addr: SocketAddr,
    env: Vec<(String, String)>,
    log: PathBuf,
    /// Where the bot writes the address it bound (`[server] addr_file`).
    addr_file: PathBuf,
    /// See [`BotOptions::launcher`].
    launcher: Vec<String>,
    client: reqwest::Client,
}

impl BotProcess {
    /// Start `gitkeeper-bot serve` on a port the system picks, with its data
    /// in `data_dir`, and wait until `/healthz` answers.
    pub async fn start(options: &BotOptions, data_dir: &Path) -> BotProcess {
        install_crypto_provider();
        let name = format!("bot-{}", uuid_like());
        let addr_file = data_dir.join(format!("{name}.addr"));
        let config = match &options.config_toml {
            Some(text) => {
                let path = data_dir.join("gitkeeper.toml");
                std::fs::write(&path, text).expect("write gitkeeper.toml");
                path
            }
            None => data_dir.join("absent.toml"),
        };
        let mut env = vec![
            ("GITKEEPER_SERVER__LISTEN".to_string(), "127.0.0.1:0".into()),
            (
                "GITKEEPER_SERVER__ADDR_FILE".into(),
                addr_file.display().to_string(),
            ),
            (
                "GITKEEPER_GITHUB__API_URL".into(),
                options.github_url.clone(),
            ),
            (
                "GITKEEPER_GITHUB__APP_ID".into(),
                options.app_id.to_string(),
            ),
            (
                "GITKEEPER_GITHUB__PRIVATE_KEY_PATH".into(),
                test_app_key_path().display().to_string(),
            ),
            (
                "GITKEEPER_GITHUB__WEBHOOK_SECRET".into(),
                WEBHOOK_SECRET.into(),
            ),
            (
                "GITKEEPER_GITHUB__MAX_RATE_LIMIT_WAIT_SECS".into(),
                "5".into(),
            ),
            ("GITKEEPER_DATA__DIR".into(), data_dir.display().to_string()),
            (
                "GITKEEPER_WORKER__LEASE_SECS".into(),
                options.lease_secs.to_string(),
            ),
            (
                "GITKEEPER_WORKER__CONCURRENCY".into(),
                options.concurrency.to_string(),
            ),
            ("GITKEEPER_WORKER__POLL_INTERVAL_MS".into(), "200".into()),
            ("GITKEEPER_WORKER__SHUTDOWN_GRACE_SECS".into(), "5".into()),
            ("GITKEEPER_CONFIG".into(), config.display().to_string()),
            ("RUST_LOG".into(), "info,gitkeeper_bot=debug".into()),
        ];
        if let Some(url) = &options.database_url {
            env.push(("GITKEEPER_DATABASE__URL".into(), url.clone()));
        }
        env.extend(options.extra_env.iter().cloned());
        let log = data_dir.join(format!("{name}.log"));
        std::fs::File::create(&log).expect("log file");
        let mut bot = BotProcess {
            child: None,
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            env,
            log,
            addr_file,
            launcher: options.launcher.clone(),
            // Idle connections are dropped well before the bot closes them
            // ([server] header_timeout_secs), so none is reused as it closes.
            client: reqwest::Client::builder()
                .pool_idle_timeout(Duration::from_secs(5))
                .build()
                .expect("HTTP client"),
        };
        bot.spawn();
        bot.addr = bot.wait_bound().await;
        bot.wait_healthy().await;
        bot
    }

    /// Start `gitkeeper-bot serve` with `self.env`, logging to `self.log`.
    fn spawn(&mut self) {
        let log_file = std::fs::OpenOptions::new()
            .append(true)
            .open(&self.log)
            .expect("log file");
        // Standard output goes to the log too: a test that reads the log
        // reads everything the bot wrote.
        let stdout = log_file.try_clone().expect("log file");
        let mut command = match self.launcher.split_first() {
            Some((program, args)) => {
                let mut command = Command::new(program);
                command.args(args).arg(bot_binary());
                command
            }
            None => Command::new(bot_binary()),
        };
        let child = command
            .arg("serve")
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdout(Stdio::from(stdout))
            .stderr(Stdio::from(log_file))
            .spawn()
            .expect("spawn gitkeeper-bot");
        self.child = Some(child);
    }

    /// Panic with the log if the bot has exited.
    fn assert_running(&mut self) {
        if let Some(child) = self.child.as_mut() {
            if let Ok(Some(status)) = child.try_wait() {
                panic!(
                    "gitkeeper-bot exited with {status} at start:\n{}",
                    self.log()
                );
            }
        }
    }

    /// The address the bot wrote to its `addr_file` once listening.
    async fn wait_bound(&mut self) -> SocketAddr {
        for _ in 0..200 {
            self.assert_running();
            if let Ok(text) = std::fs::read_to_string(&self.addr_file) {
                return text.trim().parse().unwrap_or_else(|e| {
                    panic!(
                        "{} holds {text:?}, not an address: {e}",
                        self.addr_file.display()
                    )
                });
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!(
            "gitkeeper-bot wrote no address to {}:\n{}",
            self.addr_file.display(),
            self.log()
        );
    }

    async fn wait_healthy(&mut self) {
        for _ in 0..200 {
            self.assert_running();
            if let Ok(r) = self
                .client
                .get(format!("{}healthz", self.url()))
                .send()
                .await
            {
                if r.status().is_success() {
                    return;
                }
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("gitkeeper-bot did not become healthy:\n{}", self.log());
    }

    pub fn url(&self) -> String {
        format!("http://{}/", self.addr)
    }

    /// The address the bot listens on (for raw connections).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// What the bot logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// POST a webhook signed with the right secret.
    pub async fn webhook(&self, event: &str, delivery: &str, body: &Value) -> reqwest::Response {
        let bytes = serde_json::to_vec(body).expect("json");
        let sig = sign(WEBHOOK_SECRET, &bytes);
        self.webhook_raw(event, delivery, bytes, Some(&sig)).await
    }

    /// POST a webhook with any signature (or none).
    pub async fn webhook_raw(
        &self,
        event: &str,
        delivery: &str,
        body: Vec<u8>,
        signature: Option<&str>,
    ) -> reqwest::Response {
        let mut request = self
            .client
            .post(format!("{}webhooks", self.url()))
            .header("x-github-event", event)
            .header("x-github-delivery", delivery)
            .header("content-type", "application/json")
            .header("user-agent", "GitHub-Hookshot/e2e")
            .body(body);
        if let Some(sig) = signature {
            request = request.header("x-hub-signature-256", sig);
        }
        request.send().await.expect("webhook request")
    }

    /// Send only the headers of a webhook that declares `length` body bytes,
    /// over a raw connection, and return the status the bot answers with
    /// (0 when it closed the connection without one).
    pub async fn post_declaring_length(&self, event: &str, delivery: &str, length: usize) -> u16 {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut stream = tokio::net::TcpStream::connect(self.addr)
            .await
            .expect("connect to the bot");
        let head = format!(
            "POST /webhooks HTTP/1.1\r\nhost: {}\r\nx-github-event: {event}\r\nx-github-delivery: {delivery}\r\ncontent-type: application/json\r\ncontent-length: {length}\r\n\r\n",
            self.addr
        );
        stream
            .write_all(head.as_bytes())
            .await
            .expect("send headers");
        let mut answer = Vec::new();
        let mut buf = [0u8; 1024];
        while !answer.windows(2).any(|w| w == b"\r\n") {
            match tokio::time::timeout(Duration::from_secs(10), stream.read(&mut buf)).await {
                Ok(Ok(n)) if n > 0 => answer.extend_from_slice(&buf[..n]),
                _ => return 0,
            }
        }
        String::from_utf8_lossy(&answer)
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0)
    }

    /// GET a path on the bot.
    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(format!("{}{}", self.url(), path.trim_start_matches('/')))
            .send()
            .await
            .expect("GET")
    }

    /// `gitkeeper-bot jobs --json` against the same database.
    pub fn jobs(&self) -> Vec<Value> {
        let out = Command::new(bot_binary())
            .args(["jobs", "--json", "--limit", "1000"])
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .env("RUST_LOG", "error")
            .output()
            .expect("run gitkeeper-bot jobs");
        assert!(
            out.status.success(),
            "jobs failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).expect("jobs --json prints JSON")
    }

    /// Wait until every job is in a final state, or panic with the log.
    pub async fn wait_for_jobs(&self, expected: usize, timeout: Duration) -> Vec<Value> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let jobs = self.jobs();
            let finished = jobs
                .iter()
                .filter(|j| {
                    matches!(
                        j["state"].as_str(),
                        Some("succeeded" | "failed" | "cancelled" | "waiting")
                    )
                })
                .count();
            if jobs.len() >= expected && finished == jobs.len() {
                return jobs;
            }
            if tokio::time::Instant::now() > deadline {
                panic!("jobs did not finish: {jobs:#?}\nbot log:\n{}", self.log());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// `gitkeeper-bot runner-token create <name>`: the token it prints once.
    pub fn runner_token(&self, name: &str) -> String {
        let out = self.cli(&["runner-token", "create", name]);
        assert!(
            out.status.success(),
            "runner-token create failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let stdout = String::from_utf8_lossy(&out.stdout);
        let token = stdout
            .trim()
            .strip_prefix("GITKEEPER_RUNNER__TOKEN=")
            .unwrap_or_else(|| panic!("unexpected output: {stdout}"))
            .to_string();
        assert!(token.starts_with("gkr_"));
        token
    }

    /// Run `gitkeeper-bot <args>` against the same configuration and database.
    pub fn cli(&self, args: &[&str]) -> std::process::Output {
        Command::new(bot_binary())
            .args(args)
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .env("RUST_LOG", "error")
            .output()
            .expect("run gitkeeper-bot")
    }

    /// Kill the bot (SIGKILL) and start it again on the same address and
    /// database, as after a crash and a supervisor restart. The same address,
    /// because runners and webhooks are configured with it: this is the one
    /// place a port is bound again after being released, as a real restart does.
    pub async fn restart(&mut self) {
        self.kill9();
        let listen = self.addr.to_string();
        for (key, value) in &mut self.env {
            if key == "GITKEEPER_SERVER__LISTEN" {
                *value = listen.clone();
            }
        }
        let _ = std::fs::remove_file(&self.addr_file);
        self.spawn();
        let bound = self.wait_bound().await;
        assert_eq!(bound, self.addr, "the restarted bot listens where it did");
        self.wait_healthy().await;
    }

    /// The process id of the running bot (of its launcher, which execs it;
    /// it names the bot's lease owners: `host-<pid>-…/w<N>`).
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// SIGKILL: the process dies mid-whatever, as in a crash.
    pub fn kill9(&mut self) {
        kill9(&mut self.child);
    }

    /// SIGTERM and wait for a graceful exit; returns whether it exited successfully.
    pub async fn terminate(&mut self) -> bool {
        terminate(&mut self.child, Duration::from_secs(10)).await
    }
}

/// SIGKILL `child` (if still ours) and reap it.
pub fn kill9(child: &mut Option<Child>) {
    if let Some(mut child) = child.take() {
        let _ = child.kill();
        let _ = child.wait();
    }
}

/// SIGTERM `child` and wait up to `patience` for it to exit (SIGKILL after);
/// returns whether it exited successfully on its own.
pub async fn terminate(child: &mut Option<Child>, patience: Duration) -> bool {
    let Some(mut child) = child.take() else {
        return false;
    };
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let deadline = tokio::time::Instant::now() + patience;
    while tokio::time::Instant::now() < deadline {
        if let Ok(Some(status)) = child.try_wait() {
            return status.success();
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let _ = child.kill();
    let _ = child.wait();
    false
}

impl Drop for BotProcess {
    fn drop(&mut self) {
        self.kill9();
    }
}
