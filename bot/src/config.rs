//! Configuration: `gitkeeper.toml` overridden by `GITKEEPER_<SECTION>__<KEY>`
//! environment variables. Every value has a default, so a missing file means
//! "all defaults". Secrets are `SecretString` and never printed.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

/// Everything the bot reads from `gitkeeper.toml` and the environment.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    pub server: ServerSettings,
    pub github: GithubSettings,
    pub database: DatabaseSettings,
    pub data: DataSettings,
    pub trigger: TriggerSettings,
    pub worker: WorkerSettings,
    pub log: LogSettings,
    /// `[models.<name>]`: built-in models with the user's tables merged over them.
    pub models: crate::models::ModelsSettings,
    pub context: ContextSettings,
    /// `[prompts]`: where prompt templates come from.
    pub prompts: crate::prompts::PromptSettings,
    /// `[route]`: the escalation matrix, cost guard and checker.
    pub route: crate::route::RouteSettings,
    pub runner: RunnerSettings,
    pub publish: PublishSettings,
    /// `[validate]`: how the repository's commands are run.
    pub validate: ValidateSettings,
    /// `[retention]`: how long the job store keeps what it no longer needs.
    pub retention: RetentionSettings,
    /// `[privacy]`: paths that never go to a paid model, samples for `export`.
    pub privacy: PrivacySettings,
    /// `[stats]`: what `gitkeeper-bot stats` compares against.
    pub stats: StatsSettings,
    /// `[dashboard]`: the read-only web page of the same figures.
    pub dashboard: DashboardSettings,
    /// The file these settings were read from (it may hold secrets, so the
    /// build sandbox hides it). Not a setting.
    #[serde(skip)]
    pub source_file: Option<PathBuf>,
}

/// `[publish]`: what the bot opens on GitHub.
#[derive(Debug, Clone, Deserialize, Serialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct PublishSettings {
    /// When every tier fails, open the closest attempt (its edits applied
    /// but its checks failed) as a draft pull request instead of only
    /// reporting on the issue.
    pub open_draft_on_failure: bool,
}

/// `[privacy]`: what code may leave the machine, and what is kept of it.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct PrivacySettings {
    /// Globs of repository paths that never go to a paid (cloud) model; a
    /// repository adds its own in `.github/gitkeeper.yml`
    /// (`privacy.local_only_paths`). A task whose context or change touches
    /// one runs on local tiers only.
    pub local_only_paths: Vec<String>,
    /// Keep each task's context package and final diff in the database for
    /// `gitkeeper-bot export` (deleted after `[retention] prompts_days`).
    pub keep_samples: bool,
}

impl Default for PrivacySettings {
    fn default() -> Self {
        Self {
            local_only_paths: Vec::new(),
            keep_samples: true,
        }
    }
}

/// `[stats]`: the figures of `gitkeeper-bot stats`.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct StatsSettings {
    /// The `[models.<name>]` whose prices "cost saved" compares with: what
    /// every attempt would have cost sent to it.
    pub reference_model: String,
}

impl Default for StatsSettings {
    fn default() -> Self {
        Self {
            reference_model: "cloud-claude".into(),
        }
    }
}

/// `[dashboard]`: `GET /dashboard`, off until an admin token is set.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct DashboardSettings {
    /// The token `GET /dashboard` asks for (`Authorization: Bearer`, or
    /// `?token=`); unset: the dashboard answers 404.
    pub admin_token: Option<SecretString>,
}

/// `[retention]`: how long the job store keeps rows it no longer needs, in
/// days (0 keeps them forever). Attempts and task records are always kept.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct RetentionSettings {
    /// Webhook deliveries, kept to recognise a redelivered webhook.
    pub deliveries_days: u32,
    /// Jobs that succeeded, failed or were cancelled (their payload holds
    /// the issue or comment text).
    pub finished_jobs_days: u32,
    /// Finished generation requests of runners, each holding a whole prompt
    /// and the model's answer, and the task samples `export` reads.
    pub prompts_days: u32,
    /// How often `serve` deletes what is older.
    pub sweep_interval_secs: u64,
}

/// GitHub redelivers a webhook up to this many days after it was sent.
pub const REDELIVERY_DAYS: u32 = 3;
/// The longest period a `[retention]` key takes (about a hundred years).
const MAX_RETENTION_DAYS: u32 = 36_500;

impl Default for RetentionSettings {
    fn default() -> Self {
        Self {
            deliveries_days: 30,
            finished_jobs_days: 90,
            prompts_days: 14,
            sweep_interval_secs: 3600,
        }
    }
}

impl RetentionSettings {
    /// The periods as the job store takes them.
    pub fn periods(&self) -> crate::queue::Retention {
        crate::queue::Retention::from_days(
            self.deliveries_days,
            self.finished_jobs_days,
            self.prompts_days,
        )
    }

    pub fn sweep_interval(&self) -> Duration {
        Duration::from_secs(self.sweep_interval_secs)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        for (key, days) in [
            ("retention.deliveries_days", self.deliveries_days),
            ("retention.finished_jobs_days", self.finished_jobs_days),
            ("retention.prompts_days", self.prompts_days),
        ] {
            if days > MAX_RETENTION_DAYS {
                return Err(ConfigError::Key {
                    key,
                    value: days.to_string(),
                    fix: "set it to 36500 days or fewer, or to 0 to keep these rows forever",
                });
            }
        }
        if (1..REDELIVERY_DAYS).contains(&self.deliveries_days) {
            return Err(ConfigError::Key {
                key: "retention.deliveries_days",
                value: self.deliveries_days.to_string(),
                fix: "set it to 3 or more (GitHub redelivers webhooks up to 3 days old, and a forgotten delivery would run its job twice), or to 0 to keep deliveries forever (default 30)",
            });
        }
        if self.sweep_interval_secs == 0 || self.sweep_interval_secs > 7 * 24 * 60 * 60 {
            return Err(ConfigError::Key {
                key: "retention.sweep_interval_secs",
                value: self.sweep_interval_secs.to_string(),
                fix: "set it between 1 and 604800 seconds (default 3600)",
            });
        }
        Ok(())
    }
}

/// `[validate]`: how the repository's own commands are run.
#[derive(Debug, Clone, Deserialize, Serialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct ValidateSettings {
    /// `"bwrap"` (the default): every command runs under bubblewrap, and a
    /// job fails when `bwrap` is missing or cannot run; `"none"`: commands
    /// run as plain child processes, only by the operator's explicit choice.
    pub isolation: IsolationSetting,
    /// Host variables the operator lets reach repository commands (default:
    /// none). A variable is passed only when it is listed here *and* the
    /// repository's `validate.env` asks for it; `GITKEEPER_*`, model API
    /// keys and GitHub tokens are never passed, listed or not.
    pub pass_env: Vec<String>,
}

/// What isolation the operator requires for repository commands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum IsolationSetting {
    /// `bwrap` is required; without it jobs fail and say how to fix it.
    #[default]
    Bwrap,
    /// No isolation: commands see the machine as the bot's user does.
    None,
}

/// `[context]`: how much of a repository a model is shown (per-model
/// windows may lower `max_tokens` further).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct ContextSettings {
    /// Most files in a package, contract files included.
    pub max_files: usize,
    /// Most tokens of the package's prompt text (cl100k_base).
    pub max_tokens: usize,
    /// Gitkeeper doc paths to read instead of the default locations.
    pub doc_paths: Vec<String>,
    /// Prisma schema file or folder, when Prisma's own search would miss it.
    pub schema_path: Option<String>,
}

impl Default for ContextSettings {
    fn default() -> Self {
        let defaults = gitkeeper::context::ContextOptions::default();
        Self {
            max_files: defaults.max_files,
            max_tokens: defaults.max_tokens,
            doc_paths: defaults.doc_paths,
            schema_path: defaults.schema_path,
        }
    }
}

impl ContextSettings {
    /// The library's options with these limits and paths.
    pub fn options(&self) -> gitkeeper::context::ContextOptions {
        gitkeeper::context::ContextOptions {
            max_files: self.max_files,
            max_tokens: self.max_tokens,
            doc_paths: self.doc_paths.clone(),
            schema_path: self.schema_path.clone(),
            ..Default::default()
        }
    }
}

/// `[server]`: where the webhook endpoint listens.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServerSettings {
    /// `IP:port`; port 0 lets the system pick a free port (see `addr_file`).
    pub listen: String,
    /// Largest webhook body accepted, in bytes (GitHub caps payloads at 25 MiB).
    pub max_body_bytes: usize,
    /// Where to write the address actually bound, once listening: how a
    /// supervisor or a test that asked for port 0 learns the port.
    pub addr_file: Option<PathBuf>,
    /// Seconds a client has to send a request's headers (and an idle
    /// connection may wait for its next request) before it is closed; above
    /// the runner's heartbeat interval, so its kept-alive connection is not
    /// closed under it.
    pub header_timeout_secs: u64,
    /// Seconds a client has to send a webhook's body before it gets 408.
    pub body_timeout_secs: u64,
    /// Webhook body bytes held in memory at once, over all requests; a
    /// request waits for room (up to `body_timeout_secs`, then 503).
    pub max_inflight_body_bytes: usize,
    /// Milliseconds a webhook waits for the job store before it gets 503,
    /// well inside the 10 s GitHub gives a delivery.
    pub store_timeout_ms: u64,
    /// Most deliveries stored by one commit (group commit); 1 commits each
    /// delivery on its own.
    pub max_commit_batch: usize,
}

impl Default for ServerSettings {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:3000".into(),
            max_body_bytes: 25 * 1024 * 1024,
            addr_file: None,
            header_timeout_secs: 30,
            body_timeout_secs: 30,
            max_inflight_body_bytes: 64 * 1024 * 1024,
            store_timeout_ms: 5000,
            max_commit_batch: 256,
        }
    }
}

impl ServerSettings {
    pub fn header_timeout(&self) -> Duration {
        Duration::from_secs(self.header_timeout_secs)
    }

    pub fn body_timeout(&self) -> Duration {
        Duration::from_secs(self.body_timeout_secs)
    }

    pub fn store_timeout(&self) -> Duration {
        Duration::from_millis(self.store_timeout_ms)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        let positive = [
            (
                "server.header_timeout_secs",
                self.header_timeout_secs,
                "set it to 1 or more (default 30)",
            ),
            (
                "server.body_timeout_secs",
                self.body_timeout_secs,
                "set it to 1 or more (default 30)",
            ),
            (
                "server.store_timeout_ms",
                self.store_timeout_ms,
                "set it to 1 or more, well below GitHub's 10 s (default 5000)",
            ),
            (
                "server.max_commit_batch",
                self.max_commit_batch as u64,
                "set it to 1 or more (default 256)",
            ),
        ];
        if let Some((key, value, fix)) = positive.into_iter().find(|(_, v, _)| *v == 0) {
            return Err(ConfigError::Key {
                key,
                value: value.to_string(),
                fix,
            });
        }
        if self.max_inflight_body_bytes < self.max_body_bytes {
            return Err(ConfigError::Key {
                key: "server.max_inflight_body_bytes",
                value: self.max_inflight_body_bytes.to_string(),
                fix: "set it to server.max_body_bytes or more (default 67108864, 64 MiB)",
            });
        }
        Ok(())
    }
}

/// `[github]`: the App's identity and where GitHub's REST API is.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GithubSettings {
    pub app_id: Option<u64>,
    pub private_key_path: Option<PathBuf>,
    /// The PEM itself, for containers that pass it in the environment.
    pub private_key: Option<SecretString>,
    pub webhook_secret: Option<SecretString>,
    pub api_url: String,
    /// Seconds before a GitHub API call is abandoned.
    pub timeout_secs: u64,
    /// How many times a failed GitHub call is tried again (idempotent calls and rate limits only).
    pub max_retries: u32,
    /// Longest wait accepted for a rate limit before the call fails instead.
    pub max_rate_limit_wait_secs: u64,
    /// Where repositories are cloned from, when it is not derived from
    /// `api_url` (github.com for api.github.com, the host for `/api/v3`).
    pub git_url: Option<String>,
}

impl Default for GithubSettings {
    fn default() -> Self {
        Self {
            app_id: None,
            private_key_path: None,
            private_key: None,
            webhook_secret: None,
            api_url: "https://api.github.com".into(),
            timeout_secs: 30,
            max_retries: 4,
            max_rate_limit_wait_secs: 120,
            git_url: None,
        }
    }
}

/// `[database]`: the job store. Empty `url` means a SQLite file in the data dir.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct DatabaseSettings {
    pub url: Option<SecretString>,
    pub max_connections: Option<u32>,
}

/// `[data]`: where mirrors, job dirs and the default SQLite file live.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct DataSettings {
    pub dir: PathBuf,
}

impl Default for DataSettings {
    fn default() -> Self {
        Self {
            dir: PathBuf::from("./data"),
        }
    }
}

/// `[trigger]`: what starts work.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct TriggerSettings {
    pub label: String,
    pub command: String,
    /// The least a sender's role on the repository must be for work to start.
    pub min_permission: RepoRole,
}

impl Default for TriggerSettings {
    fn default() -> Self {
        Self {
            label: "gitkeeper".into(),
            command: "/gitkeeper".into(),
            min_permission: RepoRole::Write,
        }
    }
}

/// A person's role on a repository, weakest first (GitHub's role names).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RepoRole {
    None,
    Read,
    Triage,
    Write,
    Maintain,
    Admin,
}

impl RepoRole {
    pub fn as_str(self) -> &'static str {
        match self {
            RepoRole::None => "none",
            RepoRole::Read => "read",
            RepoRole::Triage => "triage",
            RepoRole::Write => "write",
            RepoRole::Maintain => "maintain",
            RepoRole::Admin => "admin",
        }
    }
}

/// `[worker]`: the pool that runs jobs.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct WorkerSettings {
    pub concurrency: usize,
    /// How long a claimed job stays ours without a heartbeat.
    pub lease_secs: u64,
    /// How often an idle worker looks for work when nothing wakes it.
    pub poll_interval_ms: u64,
    /// How long shutdown waits for running jobs before releasing their leases.
    pub shutdown_grace_secs: u64,
    /// How many times a job that failed for a passing reason is run again.
    pub max_attempts: u32,
}

impl Default for WorkerSettings {
    fn default() -> Self {
        Self {
            concurrency: 2,
            lease_secs: 60,
            poll_interval_ms: 1000,
            shutdown_grace_secs: 30,
            max_attempts: 3,
        }
    }
}

/// `[log]`: how the bot logs.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct LogSettings {
    /// `text` or `json`.
    pub format: String,
    /// A `tracing` filter such as `info` or `gitkeeper_bot=debug`.
    pub filter: String,
}

impl Default for LogSettings {
    fn default() -> Self {
        Self {
            format: "text".into(),
            filter: "info".into(),
        }
    }
}

/// `[runner]`: how the bot hands local-tier generations to runners (the
/// `gitkeeper-runner` program on the Mac) and when it gives up on them.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RunnerSettings {
    /// `[models.<name>]` tiers served through runners instead of called directly.
    pub tiers: Vec<String>,
    /// Seconds a local-tier call waits for a runner serving its model before
    /// the tier is skipped (0: skip at once).
    pub wait_for_runner: u64,
    /// A runner unheard of for this long is offline; its requests are requeued.
    pub offline_after_secs: u64,
    /// How often runners are asked to heartbeat.
    pub heartbeat_secs: u64,
    /// How long a claim is held open before answering 204.
    pub claim_wait_secs: u64,
    /// How often waiting calls and open claims look at the store (ms).
    pub poll_interval_ms: u64,
    /// Bearer token for `GET /api/runner/v1/runners`; unset disables the route.
    pub admin_token: Option<SecretString>,
}

/// `GITKEEPER_RUNNER__<KEY>` keys that belong to `[runner]` here; the runner
/// program reads other `GITKEEPER_RUNNER__*` variables (BOT_URL, TOKEN, ...).
const RUNNER_KEYS: &[&str] = &[
    "tiers",
    "wait_for_runner",
    "offline_after_secs",
    "heartbeat_secs",
    "claim_wait_secs",
    "poll_interval_ms",
    "admin_token",
];

impl Default for RunnerSettings {
    fn default() -> Self {
        Self {
            tiers: vec!["local-small".into(), "local-large".into()],
            wait_for_runner: 0,
            offline_after_secs: 30,
            heartbeat_secs: 10,
            claim_wait_secs: 25,
            poll_interval_ms: 250,
            admin_token: None,
        }
    }
}

impl RunnerSettings {
    pub fn offline_after(&self) -> Duration {
        Duration::from_secs(self.offline_after_secs)
    }

    pub fn wait_for_runner(&self) -> Duration {
        Duration::from_secs(self.wait_for_runner)
    }

    pub fn poll_interval(&self) -> Duration {
        Duration::from_millis(self.poll_interval_ms.max(10))
    }

    pub fn claim_wait(&self) -> Duration {
        Duration::from_secs(self.claim_wait_secs)
    }
}

/// A configuration that cannot be used; the message names the key and the fix.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    /// The file or the environment does not read as settings; the source
    /// names the key.
    #[error(
        "invalid configuration: {0} (see gitkeeper.example.toml for every key and its default)"
    )]
    Invalid(#[source] config::ConfigError),
    /// The escalation ladders do not fit the configured models.
    #[error(
        "invalid configuration: {0} (see gitkeeper.example.toml for every key and its default)"
    )]
    Route(#[source] crate::route::RouteConfigError),
    #[error("invalid configuration: {key} = {value:?}: {fix}")]
    Key {
        key: &'static str,
        value: String,
        fix: &'static str,
    },
}

impl Settings {
    /// Read `path` (missing file = defaults) and apply `GITKEEPER_<SECTION>__<KEY>` variables.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        Self::load_with_env(path, Some(std::env::vars().collect()))
    }

    /// Like [`Settings::load`] with an explicit environment, for tests.
    pub fn load_with_env(
        path: &Path,
        env: Option<std::collections::HashMap<String, String>>,
    ) -> Result<Self, ConfigError> {
        if let Err(source) = std::fs::metadata(path) {
            if source.kind() != std::io::ErrorKind::NotFound {
                return Err(ConfigError::Read {
                    path: path.to_owned(),
                    source,
                });
            }
        }
        // Only `GITKEEPER_<SECTION>__<KEY>` for sections this file reads: other
        // GITKEEPER_* variables (GITKEEPER_CONFIG, the runner's, tests') are not ours.
        let env = env.map(|vars| {
            vars.into_iter()
                .filter(|(name, _)| is_setting_variable(name))
                .collect()
        });
        let environment = config::Environment::with_prefix("GITKEEPER")
            .prefix_separator("_")
            .separator("__")
            .try_parsing(true)
            .list_separator(",")
            .with_list_parse_key("runner.tiers")
            .with_list_parse_key("validate.pass_env")
            .with_list_parse_key("privacy.local_only_paths")
            .source(env);
        let raw = config::Config::builder()
            .add_source(
                config::File::from(path)
                    .format(config::FileFormat::Toml)
                    .required(false),
            )
            .add_source(environment)
            .build()
            .map_err(ConfigError::Invalid)?;
        let mut settings: Settings = raw.try_deserialize().map_err(ConfigError::Invalid)?;
        settings.validate()?;
        settings.source_file = Some(path.to_path_buf());
        Ok(settings)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        self.listen_addr()?;
        self.server.validate()?;
        if let Some(name) = self.validate.pass_env.iter().find(|name| {
            let mut chars = name.chars();
            !chars
                .next()
                .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
                || !chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        }) {
            return Err(ConfigError::Key {
                key: "validate.pass_env",
                value: name.clone(),
                fix: "list environment variable names only (letters, digits and _), e.g. [\"NODE_OPTIONS\"]",
            });
        }
        if self.worker.concurrency == 0 {
            return Err(ConfigError::Key {
                key: "worker.concurrency",
                value: "0".into(),
                fix: "set it to 1 or more (default 2)",
            });
        }
        if self.worker.lease_secs < 3 {
            return Err(ConfigError::Key {
                key: "worker.lease_secs",
                value: self.worker.lease_secs.to_string(),
                fix: "set it to 3 seconds or more (default 60)",
            });
        }
        if url::Url::parse(&self.github.api_url).is_err() {
            return Err(ConfigError::Key {
                key: "github.api_url",
                value: self.github.api_url.clone(),
                fix: "use an absolute URL such as https://api.github.com or https://ghe.example.com/api/v3",
            });
        }
        if self.trigger.label.trim().is_empty() {
            return Err(ConfigError::Key {
                key: "trigger.label",
                value: self.trigger.label.clone(),
                fix: "name the label that starts work, e.g. gitkeeper",
            });
        }
        if !self.trigger.command.starts_with('/') || self.trigger.command.contains(' ') {
            return Err(ConfigError::Key {
                key: "trigger.command",
                value: self.trigger.command.clone(),
                fix: "use one word starting with '/', e.g. /gitkeeper",
            });
        }
        if !matches!(self.log.format.as_str(), "text" | "json") {
            return Err(ConfigError::Key {
                key: "log.format",
                value: self.log.format.clone(),
                fix: "use text or json",
            });
        }
        self.route
            .validate(&self.models)
            .map_err(ConfigError::Route)?;
        if let Err(e) = crate::route::privacy::LocalOnly::new(&self.privacy.local_only_paths) {
            return Err(ConfigError::Key {
                key: "privacy.local_only_paths",
                value: e.pattern,
                fix: "use globs such as \"secrets/\", \"*.pem\" or \"config/prod/**\"",
            });
        }
        if self.models.get(&self.stats.reference_model).is_none() {
            return Err(ConfigError::Key {
                key: "stats.reference_model",
                value: self.stats.reference_model.clone(),
                fix: "name a [models.<name>] entry, e.g. cloud-claude",
            });
        }
        if self.runner.heartbeat_secs == 0
            || self.runner.heartbeat_secs >= self.runner.offline_after_secs
        {
            return Err(ConfigError::Key {
                key: "runner.heartbeat_secs",
                value: self.runner.heartbeat_secs.to_string(),
                fix: "set it to 1 or more and below runner.offline_after_secs (defaults 10 and 30)",
            });
        }
        if self.runner.claim_wait_secs == 0 || self.runner.claim_wait_secs > 120 {
            return Err(ConfigError::Key {
                key: "runner.claim_wait_secs",
                value: self.runner.claim_wait_secs.to_string(),
                fix: "set it between 1 and 120 seconds (default 25; proxies often cut idle requests at 60)",
            });
        }
        if let Some(tier) = self
            .runner
            .tiers
            .iter()
            .find(|t| self.models.get(t).is_none())
        {
            return Err(ConfigError::Key {
                key: "runner.tiers",
                value: tier.clone(),
                fix: "name [models.<name>] entries, e.g. [\"local-small\", \"local-large\"]",
            });
        }
        self.retention.validate()?;
        let url = self.database_url();
        if !(url.starts_with("sqlite:")
            || url.starts_with("postgres://")
            || url.starts_with("postgresql://"))
        {
            return Err(ConfigError::Key {
                key: "database.url",
                value: redact_url(&url),
                fix: "use sqlite://path/to/file.db or postgres://user@host/db",
            });
        }
        Ok(())
    }

    /// The socket the webhook server binds.
    pub fn listen_addr(&self) -> Result<SocketAddr, ConfigError> {
        self.server.listen.parse().map_err(|_| ConfigError::Key {
            key: "server.listen",
            value: self.server.listen.clone(),
            fix: "use host:port with an IP address, e.g. 127.0.0.1:3000 or 0.0.0.0:3000",
        })
    }

    /// The job store URL: `database.url`, else a SQLite file under the data dir.
    pub fn database_url(&self) -> String {
        match &self.database.url {
            Some(url) if !url.expose_secret().trim().is_empty() => url.expose_secret().to_owned(),
            _ => format!("sqlite://{}", self.data.dir.join("gitkeeper.db").display()),
        }
    }

    /// The GitHub API base URL with exactly one trailing slash.
    pub fn api_base(&self) -> String {
        format!("{}/", self.github.api_url.trim_end_matches('/'))
    }

    /// Where `<owner>/<repo>.git` is fetched from: `[github] git_url`, else
    /// derived from `api_url` (`https://api.github.com` → `https://github.com/`,
    /// `https://HOST/api/v3` → `https://HOST/`, anything else → itself).
    pub fn git_base(&self) -> String {
        if let Some(url) = &self.github.git_url {
            return format!("{}/", url.trim_end_matches('/'));
        }
        let api = self.github.api_url.trim_end_matches('/');
        if api.eq_ignore_ascii_case("https://api.github.com") {
            "https://github.com/".to_string()
        } else if let Some(host) = api.strip_suffix("/api/v3") {
            format!("{host}/")
        } else {
            format!("{api}/")
        }
    }

    pub fn lease(&self) -> Duration {
        Duration::from_secs(self.worker.lease_secs)
    }

    /// The effective configuration as TOML with every secret replaced by `[redacted]`.
    pub fn redacted_toml(&self) -> String {
        let secret = |s: &Option<SecretString>| s.as_ref().map(|_| "[redacted]".to_string());
        let view = serde_json::json!({
            "server": self.server,
            "github": {
                "app_id": self.github.app_id,
                "private_key_path": self.github.private_key_path,
                "private_key": secret(&self.github.private_key),
                "webhook_secret": secret(&self.github.webhook_secret),
                "api_url": self.github.api_url,
                "timeout_secs": self.github.timeout_secs,
                "max_retries": self.github.max_retries,
                "max_rate_limit_wait_secs": self.github.max_rate_limit_wait_secs,
                "git_url": self.github.git_url,
            },
            "database": {
                "url": redact_url(&self.database_url()),
                "max_connections": self.database.max_connections,
            },
            "data": self.data,
            "trigger": self.trigger,
            "worker": self.worker,
            "log": self.log,
            "context": self.context,
            "models": self.models,
            "prompts": self.prompts,
            "route": self.route,
            "runner": {
                "tiers": self.runner.tiers,
                "wait_for_runner": self.runner.wait_for_runner,
                "offline_after_secs": self.runner.offline_after_secs,
                "heartbeat_secs": self.runner.heartbeat_secs,
                "claim_wait_secs": self.runner.claim_wait_secs,
                "poll_interval_ms": self.runner.poll_interval_ms,
                "admin_token": secret(&self.runner.admin_token),
            },
            "publish": self.publish,
            "validate": self.validate,
            "retention": self.retention,
            "privacy": self.privacy,
            "stats": self.stats,
            "dashboard": {
                "admin_token": secret(&self.dashboard.admin_token),
            },
        });
        let value: toml::Value = match serde_json::from_value(strip_nulls(view)) {
            Ok(v) => v,
            Err(e) => return format!("# cannot render configuration: {e}\n"),
        };
        toml::to_string_pretty(&value).unwrap_or_else(|e| format!("# cannot render: {e}\n"))
    }
}

/// The `[section]` names of `gitkeeper.toml`; add a section here when adding it to `Settings`.
pub const SECTIONS: &[&str] = &[
    "server",
    "github",
    "database",
    "data",
    "trigger",
    "worker",
    "log",
    "models",
    "context",
    "prompts",
    "route",
    "runner",
    "publish",
    "validate",
    "retention",
    "privacy",
    "stats",
    "dashboard",
];

/// True for `GITKEEPER_<SECTION>__<KEY>` naming one of [`SECTIONS`].
fn is_setting_variable(name: &str) -> bool {
    name.strip_prefix("GITKEEPER_")
        .and_then(|rest| rest.split_once("__"))
        .is_some_and(|(section, key)| {
            let section = section.to_ascii_lowercase();
            !key.is_empty()
                && SECTIONS.contains(&section.as_str())
                && (section != "runner" || RUNNER_KEYS.contains(&key.to_ascii_lowercase().as_str()))
        })
}

fn strip_nulls(value: serde_json::Value) -> serde_json::Value {
    match value {
        serde_json::Value::Object(map) => serde_json::Value::Object(
            map.into_iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k, strip_nulls(v)))
                .collect(),
        ),
        serde_json::Value::Array(items) => {
            serde_json::Value::Array(items.into_iter().map(strip_nulls).collect())
        }
        other => other,
    }
}

/// Hide the password in a database URL.
pub fn redact_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("[redacted]"));
            parsed.to_string()
        }
        _ => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(pairs: &[(&str, &str)]) -> Option<HashMap<String, String>> {
        Some(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
    }

    #[test]
    fn missing_file_means_all_defaults() {
        let s =
            Settings::load_with_env(Path::new("/nonexistent/gitkeeper.toml"), env(&[])).unwrap();
        assert_eq!(s.server.listen, "127.0.0.1:3000");
        assert_eq!(s.github.api_url, "https://api.github.com");
        assert_eq!(s.trigger.label, "gitkeeper");
        assert_eq!(s.trigger.command, "/gitkeeper");
        assert_eq!(s.worker.concurrency, 2);
        assert_eq!(s.database_url(), "sqlite://./data/gitkeeper.db");
    }

    #[test]
    fn environment_overrides_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("gitkeeper.toml");
        std::fs::write(
            &path,
            "[github]\nwebhook_secret = \"from-file\"\napp_id = 7\n[worker]\nconcurrency = 5\n",
        )
        .unwrap();
        let s = Settings::load_with_env(
            &path,
            env(&[
                ("GITKEEPER_GITHUB__WEBHOOK_SECRET", "from-env"),
                ("GITKEEPER_WORKER__CONCURRENCY", "3"),
            ]),
        )
        .unwrap();
        assert_eq!(
            s.github.webhook_secret.as_ref().unwrap().expose_secret(),
            "from-env"
        );
        assert_eq!(s.worker.concurrency, 3);
        assert_eq!(s.github.app_id, Some(7));
    }

    #[test]
    fn pass_env_is_empty_unless_the_operator_lists_names() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("gitkeeper.toml");
        let s = Settings::load_with_env(&path, env(&[])).unwrap();
        assert!(s.validate.pass_env.is_empty());
        std::fs::write(
            &path,
            "[validate]\npass_env = [\"NODE_OPTIONS\", \"MY_TOKEN\"]\n",
        )
        .unwrap();
        let s = Settings::load_with_env(&path, env(&[])).unwrap();
        assert_eq!(s.validate.pass_env, ["NODE_OPTIONS", "MY_TOKEN"]);
        let s = Settings::load_with_env(&path, env(&[("GITKEEPER_VALIDATE__PASS_ENV", "A_B,C")]))
            .unwrap();
        assert_eq!(s.validate.pass_env, ["A_B", "C"]);
        std::fs::write(&path, "[validate]\npass_env = [\"TOKEN=x\"]\n").unwrap();
        let err = Settings::load_with_env(&path, env(&[]))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("validate.pass_env") && err.contains("TOKEN=x"),
            "{err}"
        );
    }

    #[test]
    fn retention_periods_are_checked_and_errors_name_the_key() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("gitkeeper.toml");
        let s = Settings::load_with_env(&path, env(&[])).unwrap();
        assert_eq!(s.retention, RetentionSettings::default());
        assert!(!s.retention.periods().keeps_everything());
        // 0 keeps forever; the environment sets it like any key.
        let s = Settings::load_with_env(
            &path,
            env(&[
                ("GITKEEPER_RETENTION__DELIVERIES_DAYS", "0"),
                ("GITKEEPER_RETENTION__FINISHED_JOBS_DAYS", "0"),
                ("GITKEEPER_RETENTION__PROMPTS_DAYS", "0"),
            ]),
        )
        .unwrap();
        assert!(s.retention.periods().keeps_everything());
        for (text, key, fix) in [
            (
                "deliveries_days = 1",
                "retention.deliveries_days",
                "3 or more",
            ),
            ("prompts_days = 40000", "retention.prompts_days", "36500"),
            (
                "finished_jobs_days = 99999",
                "retention.finished_jobs_days",
                "36500",
            ),
            (
                "sweep_interval_secs = 0",
                "retention.sweep_interval_secs",
                "between 1",
            ),
        ] {
            std::fs::write(&path, format!("[retention]\n{text}\n")).unwrap();
            let err = Settings::load_with_env(&path, env(&[]))
                .unwrap_err()
                .to_string();
            assert!(err.contains(key) && err.contains(fix), "{text}: {err}");
        }
        std::fs::write(&path, "[retention]\nprompts_days = -1\n").unwrap();
        let err = Settings::load_with_env(&path, env(&[]))
            .unwrap_err()
            .to_string();
        assert!(err.contains("prompts_days"), "{err}");
    }

    #[test]
    fn isolation_is_bwrap_unless_set_to_none_explicitly() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("gitkeeper.toml");
        let s = Settings::load_with_env(&path, env(&[])).unwrap();
        assert_eq!(s.validate.isolation, IsolationSetting::Bwrap);
        std::fs::write(&path, "[validate]\nisolation = \"none\"\n").unwrap();
        let s = Settings::load_with_env(&path, env(&[])).unwrap();
        assert_eq!(s.validate.isolation, IsolationSetting::None);
        let s = Settings::load_with_env(&path, env(&[("GITKEEPER_VALIDATE__ISOLATION", "bwrap")]))
            .unwrap();
        assert_eq!(s.validate.isolation, IsolationSetting::Bwrap);
        std::fs::write(&path, "[validate]\nisolation = \"off\"\n").unwrap();
        let err = Settings::load_with_env(&path, env(&[]))
            .unwrap_err()
            .to_string();
        assert!(err.contains("off"), "{err}");
    }

    #[test]
    fn the_example_file_loads_and_states_the_defaults() {
        let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("../gitkeeper.example.toml");
        let s = Settings::load_with_env(&example, env(&[])).unwrap();
        let defaults = Settings::default();
        assert_eq!(s.redacted_toml(), defaults.redacted_toml());
        assert!(s.redacted_toml().contains("[context]"));
        assert!(s.redacted_toml().contains("[models.local-small]"));
    }

    #[test]
    fn the_git_base_follows_the_api_url() {
        let with = |api: &str, git: Option<&str>| {
            let mut s = Settings::default();
            s.github.api_url = api.into();
            s.github.git_url = git.map(str::to_string);
            s.git_base()
        };
        assert_eq!(with("https://api.github.com", None), "https://github.com/");
        assert_eq!(with("https://api.github.com/", None), "https://github.com/");
        assert_eq!(
            with("https://ghe.example.com/api/v3", None),
            "https://ghe.example.com/"
        );
        assert_eq!(
            with("http://127.0.0.1:8080", None),
            "http://127.0.0.1:8080/"
        );
        assert_eq!(
            with(
                "https://api.github.com",
                Some("https://mirror.example.com/git")
            ),
            "https://mirror.example.com/git/"
        );
    }

    #[test]
    fn other_gitkeeper_variables_are_not_settings() {
        let s = Settings::load_with_env(
            Path::new("/nonexistent.toml"),
            env(&[
                ("GITKEEPER_CONFIG", "/etc/gitkeeper.toml"),
                ("GITKEEPER_TEST_POSTGRES_URL", "postgres://x"),
                ("GITKEEPER_RUNNER__BOT_URL", "https://bot"),
                ("GITKEEPER_RUNNER__TOKEN", "gkr_not_the_bots"),
                ("GITKEEPER_RUNNER__WAIT_FOR_RUNNER", "15"),
                ("GITKEEPER_RUNNER__TIERS", "local-small"),
                ("GITKEEPER_TRIGGER__LABEL", "ai"),
            ]),
        )
        .unwrap();
        assert_eq!(s.trigger.label, "ai");
        assert_eq!(s.runner.wait_for_runner, 15);
        assert_eq!(s.runner.tiers, ["local-small"]);
    }

    #[test]
    fn runner_tiers_come_from_a_comma_list_and_must_name_models() {
        let s = Settings::load_with_env(
            Path::new("/nonexistent.toml"),
            env(&[
                ("GITKEEPER_RUNNER__TIERS", "local-large,local-small"),
                ("GITKEEPER_TRIGGER__LABEL", "a,b"),
            ]),
        )
        .unwrap();
        assert_eq!(s.runner.tiers, ["local-large", "local-small"]);
        assert_eq!(s.trigger.label, "a,b");
        assert_eq!(s.runner.offline_after_secs, 30);
        let err = Settings::load_with_env(
            Path::new("/nonexistent.toml"),
            env(&[("GITKEEPER_RUNNER__TIERS", "local-tiny")]),
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("runner.tiers") && err.contains("local-tiny"),
            "{err}"
        );
        let err = Settings::load_with_env(
            Path::new("/nonexistent.toml"),
            env(&[("GITKEEPER_RUNNER__HEARTBEAT_SECS", "30")]),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("runner.heartbeat_secs"), "{err}");
    }

    #[test]
    fn bad_listen_address_names_the_key() {
        let err = Settings::load_with_env(
            Path::new("/nonexistent.toml"),
            env(&[("GITKEEPER_SERVER__LISTEN", "localhost")]),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("server.listen"), "{err}");
        assert!(err.contains("127.0.0.1:3000"), "{err}");
    }

    #[test]
    fn wrong_type_names_the_key() {
        let err = Settings::load_with_env(
            Path::new("/nonexistent.toml"),
            env(&[("GITKEEPER_WORKER__CONCURRENCY", "many")]),
        )
        .unwrap_err();
        // The key survives as the error's source, not only in its text.
        let source = std::error::Error::source(&err).map(ToString::to_string);
        assert!(matches!(err, ConfigError::Invalid(_)), "{err:?}");
        assert!(source.is_some_and(|s| s.contains("concurrency")));
        let err = err.to_string();
        assert!(err.contains("concurrency"), "{err}");
    }

    #[test]
    fn unknown_key_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("gitkeeper.toml");
        std::fs::write(&path, "[github]\nwebhok_secret = \"typo\"\n").unwrap();
        let err = Settings::load_with_env(&path, env(&[]))
            .unwrap_err()
            .to_string();
        assert!(err.contains("webhok_secret"), "{err}");
    }

    #[test]
    fn example_config_loads_and_uncommented_ladders_equal_the_defaults() {
        let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("../gitkeeper.example.toml");
        let s = Settings::load_with_env(&example, env(&[])).unwrap();
        assert_eq!(s.route, crate::route::RouteSettings::default());
        let text = std::fs::read_to_string(&example).unwrap();
        let ladders: String = text
            .split("# The escalation matrix.")
            .nth(1)
            .unwrap()
            .lines()
            // Up to the next section of the file.
            .take_while(|l| !l.starts_with('['))
            .filter_map(|l| l.strip_prefix("# "))
            .filter(|l| {
                l.starts_with("[[")
                    || l.split_once(" = ")
                        .is_some_and(|(k, _)| k.chars().all(|c| c.is_ascii_lowercase() || c == '_'))
            })
            .map(|l| format!("{l}\n"))
            .collect();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("gitkeeper.toml");
        std::fs::write(&path, ladders).unwrap();
        let uncommented = Settings::load_with_env(&path, env(&[])).unwrap();
        assert_eq!(uncommented.route.ladder, crate::route::default_ladders());
    }

    #[test]
    fn route_ladders_from_the_file_replace_the_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("gitkeeper.toml");
        std::fs::write(
            &path,
            "[route]\nmax_usd_per_task = 0.5\nrequire_approval_for_cloud = true\n\n\
             [[route.ladder]]\nname = \"all\"\nattempts = 2\nvalidation = \"syntax\"\n\
             tiers = [\"local-small\", { model = \"cloud-claude\", attempts = 1 }]\n",
        )
        .unwrap();
        let s = Settings::load_with_env(&path, env(&[])).unwrap();
        assert_eq!(s.route.ladder.len(), 1);
        let ladder = &s.route.ladder[0];
        assert_eq!(ladder.tiers[0].attempts(ladder.attempts), 2);
        assert_eq!(ladder.tiers[1].model(), "cloud-claude");
        assert_eq!(ladder.tiers[1].attempts(ladder.attempts), 1);
        assert!(s.route.require_approval_for_cloud);
        assert_eq!(s.route.min_confidence, 0.8);
        assert!(s.redacted_toml().contains("[[route.ladder]]"));
    }

    #[test]
    fn route_ladder_naming_an_unknown_model_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("gitkeeper.toml");
        std::fs::write(
            &path,
            "[[route.ladder]]\nname = \"x\"\ntiers = [\"gpt-9\"]\n",
        )
        .unwrap();
        let err = Settings::load_with_env(&path, env(&[])).unwrap_err();
        let Some(source) = std::error::Error::source(&err)
            .and_then(|s| s.downcast_ref::<crate::route::RouteConfigError>())
        else {
            panic!("the route's own error is the source: {err:?}")
        };
        assert_eq!(source.key, "ladder[0] (x)");
        let err = err.to_string();
        assert!(err.contains("[route] ladder[0] (x)"), "{err}");
        assert!(err.contains("`gpt-9`"), "{err}");
    }

    #[test]
    fn redacted_config_hides_secrets() {
        let s = Settings::load_with_env(
            Path::new("/nonexistent.toml"),
            env(&[
                ("GITKEEPER_GITHUB__WEBHOOK_SECRET", "hunter2"),
                ("GITKEEPER_DATABASE__URL", "postgres://u:pw@localhost/db"),
                ("GITKEEPER_RUNNER__ADMIN_TOKEN", "admin-hunter3"),
            ]),
        )
        .unwrap();
        let text = s.redacted_toml();
        assert!(!text.contains("hunter2"), "{text}");
        assert!(!text.contains("admin-hunter3"), "{text}");
        assert!(!text.contains(":pw@"), "{text}");
        assert!(text.contains("[redacted]"), "{text}");
        assert!(!format!("{s:?}").contains("hunter2"));
    }

    #[test]
    fn privacy_and_stats_settings_are_checked_at_load() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("gitkeeper.toml");
        std::fs::write(
            &path,
            "[privacy]\nlocal_only_paths = [\"secrets/\", \"*.pem\"]\n",
        )
        .unwrap();
        let s = Settings::load_with_env(&path, env(&[])).unwrap();
        assert_eq!(s.privacy.local_only_paths, ["secrets/", "*.pem"]);
        assert!(s.privacy.keep_samples);
        for (text, key, value) in [
            (
                "[privacy]\nlocal_only_paths = [\"src/[oops\"]\n",
                "privacy.local_only_paths",
                "src/[oops",
            ),
            (
                "[stats]\nreference_model = \"gpt-9\"\n",
                "stats.reference_model",
                "gpt-9",
            ),
        ] {
            std::fs::write(&path, text).unwrap();
            let err = Settings::load_with_env(&path, env(&[]))
                .unwrap_err()
                .to_string();
            assert!(err.contains(key) && err.contains(value), "{err}");
        }
        let from_env = Settings::load_with_env(
            &dir.path().join("none.toml"),
            env(&[("GITKEEPER_PRIVACY__LOCAL_ONLY_PATHS", "secrets/,*.pem")]),
        )
        .unwrap();
        assert_eq!(from_env.privacy.local_only_paths, ["secrets/", "*.pem"]);
    }
}
