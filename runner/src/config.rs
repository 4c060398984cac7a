//! The runner's configuration: a TOML file (default `gitkeeper-runner.toml`)
//! overridden by `GITKEEPER_RUNNER__<KEY>` variables. Only the bot URL and the
//! token are required; the local servers default to Ollama at `OLLAMA_HOST`
//! (else `http://127.0.0.1:11434`) and LM Studio at `http://127.0.0.1:1234`.
//! The token is a `SecretString` and is never printed.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use gitkeeper_backends::{BackendKind, DEFAULT_OLLAMA_ENDPOINT, ModelSettings, parse_ollama_host};
use gitkeeper_runner_protocol::LocalBackend;
use secrecy::SecretString;
use serde::Deserialize;

/// Where LM Studio's server listens unless told otherwise.
pub const DEFAULT_LM_STUDIO_ENDPOINT: &str = "http://127.0.0.1:1234";

/// Everything the runner reads.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RunnerConfig {
    /// The bot's base URL, e.g. `https://gitkeeper.example.com`.
    pub bot_url: Option<String>,
    /// From `gitkeeper-bot runner-token create <name>`.
    pub token: Option<SecretString>,
    /// The local servers; empty means Ollama and LM Studio at their defaults.
    pub backends: Vec<BackendConfig>,
    /// Requests served at once, all models together (default 1: one big model
    /// at a time on a Mac).
    pub max_concurrency: u32,
    /// Requests served at once per model, unless `[models."<name>"]` says.
    pub model_concurrency: u32,
    /// Ollama `keep_alive`: how long a model stays loaded after a request, so
    /// the next attempt does not reload it.
    pub keep_alive: String,
    /// Ollama `options.num_thread`; unset lets Ollama choose.
    pub num_thread: Option<u32>,
    /// Per-model overrides, keyed by the model's name on the local server.
    pub models: BTreeMap<String, ModelTuning>,
    /// Models `doctor` insists on, e.g. `["qwen2.5-coder:7b"]`.
    pub required_models: Vec<String>,
    /// Seconds between looks at the local servers' model lists (new pulls
    /// are announced to the bot when the runner is idle).
    pub refresh_models_secs: u64,
    /// Longest wait between reconnection attempts when the bot is unreachable.
    pub max_backoff_secs: u64,
    /// Seconds SIGTERM waits for requests in progress before giving them back.
    pub drain_secs: u64,
    /// `text` or `json`.
    pub log_format: String,
}

impl Default for RunnerConfig {
    fn default() -> Self {
        Self {
            bot_url: None,
            token: None,
            backends: Vec::new(),
            max_concurrency: 1,
            model_concurrency: 1,
            keep_alive: "30m".into(),
            num_thread: None,
            models: BTreeMap::new(),
            required_models: Vec::new(),
            refresh_models_secs: 60,
            max_backoff_secs: 60,
            drain_secs: 600,
            log_format: "text".into(),
        }
    }
}

/// One local server: a table `{ kind = "ollama", endpoint = "http://..." }`
/// in the file, or `kind` / `kind=URL` in `GITKEEPER_RUNNER__BACKENDS`
/// (comma-separated; `lmstudio` names the OpenAI-compatible kind too).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "BackendSpec")]
pub struct BackendConfig {
    pub kind: LocalBackend,
    /// Base URL; unset means the kind's default.
    pub endpoint: Option<String>,
}

/// How a backend may be written.
#[derive(Deserialize)]
#[serde(untagged)]
enum BackendSpec {
    Table(BackendTable),
    Text(String),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BackendTable {
    kind: LocalBackend,
    #[serde(default)]
    endpoint: Option<String>,
}

impl TryFrom<BackendSpec> for BackendConfig {
    type Error = String;

    fn try_from(spec: BackendSpec) -> Result<Self, String> {
        match spec {
            BackendSpec::Table(BackendTable { kind, endpoint }) => {
                Ok(BackendConfig { kind, endpoint })
            }
            BackendSpec::Text(text) => {
                let (kind, endpoint) = match text.split_once('=') {
                    Some((kind, url)) => (kind.trim(), Some(url.trim().to_string())),
                    None => (text.trim(), None),
                };
                let kind = match kind.to_ascii_lowercase().as_str() {
                    "ollama" => LocalBackend::Ollama,
                    "openai" | "lmstudio" | "lm-studio" => LocalBackend::Openai,
                    other => {
                        return Err(format!(
                            "unknown backend kind `{other}` in `{text}`: use ollama or openai (LM Studio), optionally as kind=URL"
                        ));
                    }
                };
                Ok(BackendConfig { kind, endpoint })
            }
        }
    }
}

/// `[models."<model>"]`: how one model is run here.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ModelTuning {
    /// Requests for this model at once.
    pub concurrency: Option<u32>,
    /// Cap on the context size (`num_ctx`) whatever the bot asks, to fit memory.
    pub context_window: Option<u32>,
    pub num_thread: Option<u32>,
    pub keep_alive: Option<String>,
}

/// A configuration the runner cannot use; the message names the fix.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The file or the environment does not read as a runner config; the
    /// source names the key.
    #[error("cannot read the runner config: {0}")]
    Invalid(#[source] config::ConfigError),
    /// The bot client cannot be built from the config.
    #[error("cannot read the runner config: {0}")]
    Client(#[source] crate::client::ClientError),
    #[error("{key} is not set: put it in the runner config file or set {env}, e.g. {example}")]
    Missing {
        key: &'static str,
        env: &'static str,
        example: &'static str,
    },
    #[error("{key} = {value:?}: {fix}")]
    Key {
        key: &'static str,
        value: String,
        fix: &'static str,
    },
}

/// A local server with its resolved endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Backend {
    pub kind: LocalBackend,
    pub endpoint: String,
}

impl RunnerConfig {
    /// Read `path` (missing file = defaults) and the `GITKEEPER_RUNNER__*` variables.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        Self::load_with_env(path, None)
    }

    /// Like [`RunnerConfig::load`] with an explicit environment, for tests.
    pub fn load_with_env(
        path: &Path,
        env: Option<std::collections::HashMap<String, String>>,
    ) -> Result<Self, ConfigError> {
        let environment = config::Environment::with_prefix("GITKEEPER_RUNNER")
            .prefix_separator("__")
            .separator("__")
            .try_parsing(true)
            .list_separator(",")
            .with_list_parse_key("required_models")
            .with_list_parse_key("backends")
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
        let config: RunnerConfig = raw.try_deserialize().map_err(ConfigError::Invalid)?;
        config.validate()?;
        Ok(config)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        if self.max_concurrency == 0 {
            return Err(ConfigError::Key {
                key: "max_concurrency",
                value: "0".into(),
                fix: "set 1 or more (default 1)",
            });
        }
        if self.model_concurrency == 0 {
            return Err(ConfigError::Key {
                key: "model_concurrency",
                value: "0".into(),
                fix: "set 1 or more (default 1)",
            });
        }
        if !matches!(self.log_format.as_str(), "text" | "json") {
            return Err(ConfigError::Key {
                key: "log_format",
                value: self.log_format.clone(),
                fix: "use text or json",
            });
        }
        Ok(())
    }

    /// The bot's base URL, checked.
    pub fn bot_url(&self) -> Result<url::Url, ConfigError> {
        let Some(raw) = self.bot_url.as_deref().filter(|u| !u.trim().is_empty()) else {
            return Err(ConfigError::Missing {
                key: "bot_url",
                env: "GITKEEPER_RUNNER__BOT_URL",
                example: "https://gitkeeper.example.com",
            });
        };
        match url::Url::parse(raw.trim()) {
            Ok(u) if matches!(u.scheme(), "http" | "https") => Ok(u),
            _ => Err(ConfigError::Key {
                key: "bot_url",
                value: raw.to_string(),
                fix: "use the bot's base URL, e.g. https://gitkeeper.example.com",
            }),
        }
    }

    /// The runner token, checked.
    pub fn token(&self) -> Result<SecretString, ConfigError> {
        self.token.clone().ok_or(ConfigError::Missing {
            key: "token",
            env: "GITKEEPER_RUNNER__TOKEN",
            example: "the gkr_... line printed by `gitkeeper-bot runner-token create <name>`",
        })
    }

    /// The local servers: the configured ones, else Ollama and LM Studio at
    /// their defaults. `env` reads `OLLAMA_HOST`.
    pub fn backends(&self, env: &dyn Fn(&str) -> Option<String>) -> Vec<Backend> {
        let configured: Vec<BackendConfig> = if self.backends.is_empty() {
            vec![
                BackendConfig {
                    kind: LocalBackend::Ollama,
                    endpoint: None,
                },
                BackendConfig {
                    kind: LocalBackend::Openai,
                    endpoint: None,
                },
            ]
        } else {
            self.backends.clone()
        };
        configured
            .into_iter()
            .map(|b| {
                let endpoint = match (b.kind, b.endpoint) {
                    (_, Some(e)) if !e.trim().is_empty() => e.trim().to_string(),
                    (LocalBackend::Ollama, _) => env("OLLAMA_HOST")
                        .filter(|h| !h.trim().is_empty())
                        .map(|h| parse_ollama_host(&h))
                        .unwrap_or_else(|| DEFAULT_OLLAMA_ENDPOINT.to_string()),
                    (LocalBackend::Openai, _) => DEFAULT_LM_STUDIO_ENDPOINT.to_string(),
                };
                Backend {
                    kind: b.kind,
                    endpoint,
                }
            })
            .collect()
    }

    /// Requests for `model` served at once.
    pub fn concurrency(&self, model: &str) -> u32 {
        self.models
            .get(model)
            .and_then(|t| t.concurrency)
            .unwrap_or(self.model_concurrency)
            .max(1)
    }

    /// The settings to call `model` on `backend` with, from what the bot
    /// asked (`context_window`, `max_tokens`, `temperature`, `timeout_secs`)
    /// and this machine's tuning (context cap, threads, keep-alive).
    pub fn model_settings(
        &self,
        backend: &Backend,
        spec: &gitkeeper_runner_protocol::GenerationSpec,
    ) -> ModelSettings {
        let tuning = self.models.get(&spec.model).cloned().unwrap_or_default();
        let kind = match backend.kind {
            LocalBackend::Ollama => BackendKind::Ollama,
            LocalBackend::Openai => BackendKind::Openai,
        };
        let mut settings = ModelSettings::new(kind, spec.model.clone());
        settings.endpoint = Some(backend.endpoint.clone());
        settings.context_window = tuning
            .context_window
            .map_or(spec.context_window, |cap| cap.min(spec.context_window));
        settings.max_tokens = spec
            .max_tokens
            .min(settings.context_window.saturating_sub(256))
            .max(1);
        settings.temperature = spec.temperature;
        settings.timeout_secs = spec.timeout_secs.max(1);
        if kind == BackendKind::Ollama {
            settings.keep_alive =
                Some(tuning.keep_alive.unwrap_or_else(|| self.keep_alive.clone()));
            settings.num_thread = tuning.num_thread.or(self.num_thread);
        }
        settings
    }

    pub fn max_backoff(&self) -> Duration {
        Duration::from_secs(self.max_backoff_secs.max(1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gitkeeper_runner_protocol::{ChatMessage, CompletionRequest, GenerationSpec};
    use secrecy::ExposeSecret;
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
    fn backends_come_from_the_environment_as_a_comma_list() {
        let c = RunnerConfig::load_with_env(
            Path::new("/nonexistent.toml"),
            env(&[(
                "GITKEEPER_RUNNER__BACKENDS",
                "ollama=http://10.0.0.5:11434,lmstudio",
            )]),
        )
        .unwrap();
        let b = c.backends(&|_| None);
        assert_eq!(
            b.iter()
                .map(|b| (b.kind, b.endpoint.as_str()))
                .collect::<Vec<_>>(),
            [
                (LocalBackend::Ollama, "http://10.0.0.5:11434"),
                (LocalBackend::Openai, DEFAULT_LM_STUDIO_ENDPOINT),
            ]
        );
        let bad = RunnerConfig::load_with_env(
            Path::new("/nonexistent.toml"),
            env(&[("GITKEEPER_RUNNER__BACKENDS", "vllm=http://x")]),
        )
        .unwrap_err()
        .to_string();
        assert!(bad.contains("unknown backend kind `vllm`"), "{bad}");
    }

    #[test]
    fn environment_sets_bot_url_and_token() {
        let c = RunnerConfig::load_with_env(
            Path::new("/nonexistent.toml"),
            env(&[
                ("GITKEEPER_RUNNER__BOT_URL", "https://bot.example.com"),
                ("GITKEEPER_RUNNER__TOKEN", "gkr_abc"),
                (
                    "GITKEEPER_RUNNER__REQUIRED_MODELS",
                    "qwen2.5-coder:7b,qwen2.5-coder:14b",
                ),
            ]),
        )
        .unwrap();
        assert_eq!(c.bot_url().unwrap().as_str(), "https://bot.example.com/");
        assert_eq!(c.token().unwrap().expose_secret(), "gkr_abc");
        assert_eq!(c.required_models, ["qwen2.5-coder:7b", "qwen2.5-coder:14b"]);
        assert!(!format!("{c:?}").contains("gkr_abc"));
        assert_eq!(c.max_concurrency, 1);
        assert_eq!(c.concurrency("anything"), 1);
    }

    #[test]
    fn missing_bot_url_and_token_name_the_variables() {
        let c = RunnerConfig::load_with_env(Path::new("/nonexistent.toml"), env(&[])).unwrap();
        assert!(
            c.bot_url()
                .unwrap_err()
                .to_string()
                .contains("GITKEEPER_RUNNER__BOT_URL")
        );
        assert!(
            c.token()
                .unwrap_err()
                .to_string()
                .contains("runner-token create")
        );
    }

    #[test]
    fn the_example_file_is_valid() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../deploy/runner/gitkeeper-runner.example.toml");
        let c = RunnerConfig::load_with_env(&path, env(&[])).unwrap();
        assert_eq!(
            c.bot_url().unwrap().as_str(),
            "https://gitkeeper.example.com/"
        );
        assert_eq!(c.keep_alive, "30m");
        assert_eq!(c.required_models.len(), 2);
        assert_eq!(c.backends(&|_| None).len(), 2);
    }

    #[test]
    fn default_backends_are_ollama_host_and_lm_studio() {
        let c = RunnerConfig::default();
        let b = c.backends(&|_| None);
        assert_eq!(b[0].endpoint, "http://127.0.0.1:11434");
        assert_eq!(b[1].kind, LocalBackend::Openai);
        assert_eq!(b[1].endpoint, "http://127.0.0.1:1234");
        let b = c.backends(&|k| (k == "OLLAMA_HOST").then(|| "0.0.0.0:9999".to_string()));
        assert_eq!(b[0].endpoint, "http://0.0.0.0:9999");
    }

    #[test]
    fn file_tuning_caps_context_and_sets_threads_and_keep_alive() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("runner.toml");
        std::fs::write(
            &path,
            "keep_alive = \"1h\"\nnum_thread = 8\n[[backends]]\nkind = \"ollama\"\nendpoint = \"http://127.0.0.1:5555\"\n[models.\"qwen2.5-coder:14b\"]\ncontext_window = 16384\nconcurrency = 2\n",
        )
        .unwrap();
        let c = RunnerConfig::load_with_env(&path, env(&[])).unwrap();
        let backend = &c.backends(&|_| None)[0];
        assert_eq!(backend.endpoint, "http://127.0.0.1:5555");
        assert_eq!(c.concurrency("qwen2.5-coder:14b"), 2);
        let spec = GenerationSpec {
            tier: "local-large".into(),
            model: "qwen2.5-coder:14b".into(),
            context_window: 32768,
            max_tokens: 8192,
            temperature: 0.1,
            timeout_secs: 600,
            request: CompletionRequest::new(vec![ChatMessage::user("x")]),
        };
        let s = c.model_settings(backend, &spec);
        assert_eq!(s.context_window, 16384);
        assert_eq!(s.max_tokens, 8192);
        assert_eq!(s.keep_alive.as_deref(), Some("1h"));
        assert_eq!(s.num_thread, Some(8));
        s.validate("local-large").unwrap();
        let e = RunnerConfig::load_with_env(
            Path::new("/nonexistent.toml"),
            env(&[("GITKEEPER_RUNNER__MAX_CONCURRENCY", "0")]),
        )
        .unwrap_err();
        assert!(e.to_string().contains("max_concurrency"), "{e}");
    }
}
