//! `[models.<name>]` in `gitkeeper.toml`: which model servers exist, how to
//! reach them and what they cost. The names are the tiers routing refers to.
//! Built-in entries (`local-small`, `local-large`, `cloud-claude`,
//! `cloud-deepseek`) are always there; a user table with the same name
//! overrides only the keys it sets. Holds no secret: only the names of the
//! environment variables that hold API keys.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use super::error::ModelError;

/// Which kind of edit blocks the prompts ask this model for: a per-model
/// setting (`edit_format`) that only the bot's prompts and generation loop
/// read; the backends and the runner never parse edits. The instructions for
/// each format are the `gitkeeper` library's (`FORMAT_DOC`, `WHOLE_FILE_DOC`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EditFormat {
    /// SEARCH/REPLACE blocks for changes, FILE blocks for new files: cheap in
    /// tokens, needs a model that copies lines faithfully.
    #[default]
    SearchReplace,
    /// Every changed file in full: robust for small models, costly for big files.
    WholeFile,
}

/// Which wire protocol a model server speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BackendKind {
    /// Ollama's native API (`/api/chat`).
    Ollama,
    /// OpenAI-compatible `/v1/chat/completions`: OpenAI, DeepSeek, LM Studio,
    /// llama.cpp server, vLLM.
    Openai,
    /// Anthropic's Messages API (`/v1/messages`).
    Anthropic,
}

impl fmt::Display for BackendKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            BackendKind::Ollama => "ollama",
            BackendKind::Openai => "openai",
            BackendKind::Anthropic => "anthropic",
        })
    }
}

/// Where Ollama listens when neither `endpoint` nor `OLLAMA_HOST` says.
pub const DEFAULT_OLLAMA_ENDPOINT: &str = "http://127.0.0.1:11434";
/// Where an `openai` model is called when `endpoint` is not set.
pub const DEFAULT_OPENAI_ENDPOINT: &str = "https://api.openai.com";
/// Where an `anthropic` model is called when `endpoint` is not set.
pub const DEFAULT_ANTHROPIC_ENDPOINT: &str = "https://api.anthropic.com";
/// DeepSeek's OpenAI-compatible API, where the built-in `cloud-deepseek` calls.
pub const DEEPSEEK_ENDPOINT: &str = "https://api.deepseek.com";
/// Temperature when neither the entry nor the request sets one: low, since
/// edits want the model's likeliest tokens rather than variety.
pub const DEFAULT_TEMPERATURE: f32 = 0.1;

/// One `[models.<name>]` table with every default filled in.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ModelSettings {
    /// Which API the server speaks, and so which client calls it.
    pub backend: BackendKind,
    /// Base URL of the server; `None` means the backend's default (for Ollama:
    /// `OLLAMA_HOST`, else `http://127.0.0.1:11434`). A trailing `/v1` is accepted.
    pub endpoint: Option<String>,
    /// The model name the server knows, e.g. `qwen2.5-coder:7b`.
    pub model: String,
    /// Tokens the model can hold, prompt and answer together.
    pub context_window: u32,
    /// Default cap on answer tokens.
    pub max_tokens: u32,
    /// Sampling temperature when the request sets none (0 to 2; Anthropic 0 to 1).
    pub temperature: f32,
    /// Sampling seed sent to servers that take one (OpenAI-compatible,
    /// Ollama) when the request sets none; `None` sends none.
    pub seed: Option<u64>,
    /// USD per million prompt tokens.
    pub price_in: f64,
    /// USD per million answer tokens.
    pub price_out: f64,
    /// Environment variable holding the API key; `None` means the backend's
    /// default (see [`ModelSettings::api_key_var`]).
    pub api_key_env: Option<String>,
    /// Seconds one HTTP request may take before it is abandoned.
    pub timeout_secs: u64,
    /// Extra tries after a rate limit, overload, 5xx or connection failure.
    pub max_retries: u32,
    /// First retry waits about this long (doubling each time, with jitter)
    /// unless the server says how long to wait.
    pub backoff_ms: u64,
    /// Ollama only: how long the model stays loaded after a call (`"10m"`, `"-1"`).
    pub keep_alive: Option<String>,
    /// Ollama only: CPU threads for generation (`options.num_thread`); `None`
    /// lets Ollama choose (on Apple silicon: the performance cores).
    pub num_thread: Option<u32>,
    /// Which edit format prompts ask this model for.
    pub edit_format: EditFormat,
}

impl ModelSettings {
    /// Refuse a prompt that leaves no room in the context window, before sending it.
    pub(crate) fn check_window(
        &self,
        prompt_tokens: u32,
        max_tokens: u32,
    ) -> Result<(), ModelError> {
        if prompt_tokens >= self.context_window {
            return Err(ModelError::ContextOverflow {
                model: self.model.clone(),
                prompt_tokens,
                answer_tokens: max_tokens,
                context_window: self.context_window,
            });
        }
        Ok(())
    }

    /// How this model's requests are resent (waits never exceed [`MAX_WAIT`](super::retry::MAX_WAIT)).
    pub(crate) fn retry_policy(&self) -> super::retry::RetryPolicy {
        super::retry::RetryPolicy {
            max_retries: self.max_retries,
            base_backoff: std::time::Duration::from_millis(self.backoff_ms),
            max_wait: super::retry::MAX_WAIT,
        }
    }

    /// Defaults for a new entry of this backend; `model` must still be set.
    pub fn new(backend: BackendKind, model: impl Into<String>) -> Self {
        let (context_window, timeout_secs, max_retries, keep_alive) = match backend {
            BackendKind::Ollama => (8192, 600, 2, Some("10m".to_string())),
            BackendKind::Openai => (16384, 300, 3, None),
            BackendKind::Anthropic => (200_000, 300, 3, None),
        };
        Self {
            backend,
            endpoint: None,
            model: model.into(),
            context_window,
            max_tokens: 4096,
            temperature: DEFAULT_TEMPERATURE,
            seed: None,
            price_in: 0.0,
            price_out: 0.0,
            api_key_env: None,
            timeout_secs,
            max_retries,
            backoff_ms: 500,
            keep_alive,
            num_thread: None,
            edit_format: EditFormat::SearchReplace,
        }
    }

    /// The base URL to call, without a trailing slash or `/v1`. `env` reads
    /// environment variables (`OLLAMA_HOST`).
    pub fn resolved_endpoint(&self, env: &dyn Fn(&str) -> Option<String>) -> String {
        let configured = self
            .endpoint
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty());
        let raw = match self.backend {
            BackendKind::Ollama => {
                let host = configured
                    .map(str::to_string)
                    .or_else(|| env("OLLAMA_HOST").filter(|s| !s.trim().is_empty()));
                match host {
                    Some(host) => parse_ollama_host(&host),
                    None => DEFAULT_OLLAMA_ENDPOINT.to_string(),
                }
            }
            BackendKind::Openai => configured.unwrap_or(DEFAULT_OPENAI_ENDPOINT).to_string(),
            BackendKind::Anthropic => configured.unwrap_or(DEFAULT_ANTHROPIC_ENDPOINT).to_string(),
        };
        let mut base = raw.trim_end_matches('/').to_string();
        let suffix: &[&str] = match self.backend {
            BackendKind::Ollama => &["/api"],
            _ => &["/v1"],
        };
        for s in suffix {
            if let Some(stripped) = base.strip_suffix(s) {
                base = stripped.trim_end_matches('/').to_string();
            }
        }
        base
    }

    /// The environment variable holding the API key, and whether a key is
    /// required. Explicit `api_key_env` is always required; otherwise
    /// Anthropic needs `ANTHROPIC_API_KEY`, api.openai.com `OPENAI_API_KEY`,
    /// api.deepseek.com `DEEPSEEK_API_KEY`, and local servers need none (a key
    /// is never sent where it was not asked for).
    pub fn api_key_var(&self, endpoint: &str) -> Option<String> {
        if let Some(var) = self.api_key_env.as_deref().filter(|v| !v.trim().is_empty()) {
            return Some(var.trim().to_string());
        }
        let host = url::Url::parse(endpoint)
            .ok()
            .and_then(|u| u.host_str().map(str::to_ascii_lowercase))
            .unwrap_or_default();
        match self.backend {
            BackendKind::Anthropic => Some("ANTHROPIC_API_KEY".into()),
            BackendKind::Openai if host == "api.openai.com" => Some("OPENAI_API_KEY".into()),
            BackendKind::Openai if host == "deepseek.com" || host.ends_with(".deepseek.com") => {
                Some("DEEPSEEK_API_KEY".into())
            }
            _ => None,
        }
    }

    /// What one call with `usage` costs in USD.
    pub fn cost_usd(&self, usage: &super::Usage) -> f64 {
        usage.cost_usd(self.price_in, self.price_out)
    }

    /// Check values that would only fail later, naming the key.
    pub fn validate(&self, name: &str) -> Result<(), ModelError> {
        let err = |key: &'static str, fix: String| ModelError::Config {
            name: name.to_string(),
            key,
            fix,
        };
        if self.model.trim().is_empty() {
            return Err(err(
                "model",
                "name the model the server knows, e.g. qwen2.5-coder:7b".into(),
            ));
        }
        if self.context_window < 256 {
            return Err(err(
                "context_window",
                format!(
                    "{} is too small: set the model's real window, e.g. 32768",
                    self.context_window
                ),
            ));
        }
        if self.max_tokens == 0 || self.max_tokens >= self.context_window {
            return Err(err(
                "max_tokens",
                format!(
                    "{} must be at least 1 and below context_window ({})",
                    self.max_tokens, self.context_window
                ),
            ));
        }
        let max_temperature = if self.backend == BackendKind::Anthropic {
            1.0
        } else {
            2.0
        };
        if !(0.0..=max_temperature).contains(&self.temperature) {
            return Err(err(
                "temperature",
                format!(
                    "{} is outside 0..={max_temperature} (default {DEFAULT_TEMPERATURE})",
                    self.temperature
                ),
            ));
        }
        for (key, price) in [("price_in", self.price_in), ("price_out", self.price_out)] {
            if !price.is_finite() || price < 0.0 {
                return Err(err(
                    key,
                    format!("{price} is not a price: USD per million tokens, 0 or more"),
                ));
            }
        }
        if self.timeout_secs == 0 {
            return Err(err("timeout_secs", "set 1 or more seconds".into()));
        }
        let endpoint = self.resolved_endpoint(&|_| None);
        match url::Url::parse(&endpoint) {
            Ok(u) if matches!(u.scheme(), "http" | "https") && u.host_str().is_some() => {}
            _ => {
                return Err(err(
                    "endpoint",
                    format!(
                        "{endpoint:?} is not an http(s) URL, e.g. http://127.0.0.1:11434 or https://api.deepseek.com"
                    ),
                ));
            }
        }
        Ok(())
    }
}

/// Turn an `OLLAMA_HOST`-style value into a URL the way Ollama's own client
/// does: no scheme means `http`, no port means 11434 (80/443 when a scheme is
/// given), no host means 127.0.0.1.
pub fn parse_ollama_host(value: &str) -> String {
    let value = value.trim();
    let (scheme, rest, default_port) = match value.split_once("://") {
        None => ("http", value, "11434"),
        Some(("https", rest)) => ("https", rest, "443"),
        Some(("http", rest)) => ("http", rest, "80"),
        Some((other, rest)) => (other, rest, "11434"),
    };
    let (hostport, path) = match rest.split_once('/') {
        Some((hp, path)) => (hp, format!("/{path}")),
        None => (rest, String::new()),
    };
    let (host, port) = split_host_port(hostport);
    let host = match host {
        "" => "127.0.0.1".to_string(),
        h if h.contains(':') && !h.starts_with('[') => format!("[{h}]"),
        h => h.to_string(),
    };
    let port = port.filter(|p| !p.is_empty()).unwrap_or(default_port);
    format!("{scheme}://{host}:{port}{path}")
}

/// `host:port`, `[v6]:port`, `host`, `:port`.
fn split_host_port(hostport: &str) -> (&str, Option<&str>) {
    if let Some(rest) = hostport.strip_prefix('[') {
        if let Some((host, after)) = rest.split_once(']') {
            return (host, after.strip_prefix(':'));
        }
    }
    match hostport.matches(':').count() {
        1 => {
            let (h, p) = hostport.split_once(':').unwrap_or((hostport, ""));
            (h, Some(p))
        }
        // A bare IPv6 address has several colons and no port.
        _ => (hostport, None),
    }
}

/// The built-in models, used when the config names none and as the base user
/// tables are merged over.
pub fn default_models() -> BTreeMap<String, ModelSettings> {
    let mut models = BTreeMap::new();

    let mut small = ModelSettings::new(BackendKind::Ollama, "qwen2.5-coder:7b");
    small.context_window = 32768;
    small.max_tokens = 4096;
    small.edit_format = EditFormat::WholeFile;
    models.insert("local-small".to_string(), small);

    let mut large = ModelSettings::new(BackendKind::Ollama, "qwen2.5-coder:14b");
    large.context_window = 32768;
    large.max_tokens = 8192;
    models.insert("local-large".to_string(), large);

    let mut claude = ModelSettings::new(BackendKind::Anthropic, "claude-sonnet-4-5");
    claude.context_window = 200_000;
    claude.max_tokens = 16384;
    claude.price_in = 3.0;
    claude.price_out = 15.0;
    models.insert("cloud-claude".to_string(), claude);

    let mut deepseek = ModelSettings::new(BackendKind::Openai, "deepseek-chat");
    deepseek.endpoint = Some(DEEPSEEK_ENDPOINT.to_string());
    deepseek.context_window = 64_000;
    deepseek.max_tokens = 8192;
    deepseek.price_in = 0.27;
    deepseek.price_out = 1.10;
    deepseek.api_key_env = Some("DEEPSEEK_API_KEY".to_string());
    models.insert("cloud-deepseek".to_string(), deepseek);

    models
}

/// A `[models.<name>]` table as written: every key optional.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelEntry {
    /// `"ollama"`, `"openai"` or `"anthropic"`: required for a new name; giving a
    /// built-in another one resets the keys the table does not set (but `model`)
    /// to that backend's defaults.
    pub backend: Option<BackendKind>,
    /// The server's base URL ([`ModelSettings::endpoint`]).
    pub endpoint: Option<String>,
    /// The name the server knows; required for a new name.
    pub model: Option<String>,
    /// Tokens the model holds, prompt and answer together.
    pub context_window: Option<u32>,
    /// Default cap on answer tokens, below `context_window`.
    pub max_tokens: Option<u32>,
    /// Sampling temperature, 0 to 2 (Anthropic 0 to 1).
    pub temperature: Option<f32>,
    /// Sampling seed for servers that take one.
    pub seed: Option<u64>,
    /// USD per million prompt tokens.
    pub price_in: Option<f64>,
    /// USD per million answer tokens.
    pub price_out: Option<f64>,
    /// The environment variable that holds the API key (the name, never the key).
    pub api_key_env: Option<String>,
    /// Seconds one HTTP request may take.
    pub timeout_secs: Option<u64>,
    /// Extra tries after a rate limit, overload, 5xx or connection failure.
    pub max_retries: Option<u32>,
    /// First retry wait in milliseconds, doubling after that.
    pub backoff_ms: Option<u64>,
    /// Ollama only: how long the model stays loaded after a call.
    pub keep_alive: Option<String>,
    /// Ollama only: CPU threads for generation.
    pub num_thread: Option<u32>,
    /// `"search_replace"` or `"whole_file"`: which edit blocks prompts ask for.
    pub edit_format: Option<EditFormat>,
}

impl ModelEntry {
    /// Lay the keys this table sets over `base`.
    fn apply(self, base: &mut ModelSettings) {
        macro_rules! set {
            ($($field:ident),*) => {$(
                if let Some(v) = self.$field { base.$field = v; }
            )*};
        }
        set!(
            backend,
            model,
            context_window,
            max_tokens,
            temperature,
            price_in,
            price_out,
            timeout_secs,
            max_retries,
            backoff_ms,
            edit_format
        );
        if self.seed.is_some() {
            base.seed = self.seed;
        }
        if self.endpoint.is_some() {
            base.endpoint = self.endpoint;
        }
        if self.api_key_env.is_some() {
            base.api_key_env = self.api_key_env;
        }
        if self.keep_alive.is_some() {
            base.keep_alive = self.keep_alive;
        }
        if self.num_thread.is_some() {
            base.num_thread = self.num_thread;
        }
    }
}

/// `[models]`: the built-in models with the user's tables merged over them.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(try_from = "BTreeMap<String, ModelEntry>")]
pub struct ModelsSettings(BTreeMap<String, ModelSettings>);

impl Default for ModelsSettings {
    fn default() -> Self {
        Self(default_models())
    }
}

impl Serialize for ModelsSettings {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(serializer)
    }
}

impl TryFrom<BTreeMap<String, ModelEntry>> for ModelsSettings {
    type Error = String;

    fn try_from(entries: BTreeMap<String, ModelEntry>) -> Result<Self, String> {
        Self::merged(entries).map_err(|e| e.to_string())
    }
}

impl ModelsSettings {
    /// The defaults with `entries` merged over them. A name that matches a
    /// built-in entry (`_` and `-` alike, since environment variables cannot
    /// hold `-`) changes only the keys it sets; a new name needs `backend`
    /// and `model`.
    pub fn merged(entries: BTreeMap<String, ModelEntry>) -> Result<Self, ModelError> {
        let mut models = default_models();
        for (name, entry) in entries {
            let name = canonical_name(&models, &name);
            let settings = match models.get(&name) {
                Some(base) => {
                    let mut merged = base.clone();
                    let backend_changed = entry.backend.is_some_and(|b| b != base.backend);
                    if backend_changed {
                        // Another protocol: keep nothing but what the table says.
                        let backend = entry.backend.unwrap_or(base.backend);
                        merged = ModelSettings::new(backend, base.model.clone());
                    }
                    entry.apply(&mut merged);
                    merged
                }
                None => {
                    let Some(backend) = entry.backend else {
                        return Err(ModelError::Config {
                            name,
                            key: "backend",
                            fix: "a new model needs backend = \"ollama\", \"openai\" or \"anthropic\""
                                .into(),
                        });
                    };
                    let Some(model) = entry.model.clone() else {
                        return Err(ModelError::Config {
                            name,
                            key: "model",
                            fix: "a new model needs model = \"<name the server knows>\", e.g. qwen2.5-coder:7b"
                                .into(),
                        });
                    };
                    let mut settings = ModelSettings::new(backend, model);
                    entry.apply(&mut settings);
                    settings
                }
            };
            settings.validate(&name)?;
            models.insert(name, settings);
        }
        Ok(Self(models))
    }

    /// The settings of `[models.<name>]`, if there is such an entry.
    pub fn get(&self, name: &str) -> Option<&ModelSettings> {
        self.0.get(name)
    }

    /// Every entry with its name, in name order.
    pub fn iter(&self) -> impl Iterator<Item = (&String, &ModelSettings)> {
        self.0.iter()
    }

    /// The names routing may refer to, in order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.0.keys().map(String::as_str)
    }

    /// The entries as a read-only map.
    pub fn as_map(&self) -> &BTreeMap<String, ModelSettings> {
        &self.0
    }

    /// The entries as a map of their own, the wrapper given up.
    pub fn into_map(self) -> BTreeMap<String, ModelSettings> {
        self.0
    }
}

fn canonical_name(models: &BTreeMap<String, ModelSettings>, name: &str) -> String {
    if models.contains_key(name) {
        return name.to_string();
    }
    let dashed = name.replace('_', "-");
    if models.contains_key(&dashed) {
        return dashed;
    }
    name.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_env(_: &str) -> Option<String> {
        None
    }

    fn parse(toml_text: &str) -> Result<ModelsSettings, String> {
        #[derive(Deserialize)]
        struct Wrapper {
            #[serde(default)]
            models: ModelsSettings,
        }
        toml::from_str::<Wrapper>(toml_text)
            .map(|w| w.models)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn defaults_cover_the_four_tiers() {
        let m = ModelsSettings::default();
        let names: Vec<_> = m.names().collect();
        assert_eq!(
            names,
            [
                "cloud-claude",
                "cloud-deepseek",
                "local-large",
                "local-small"
            ]
        );
        let small = m.get("local-small").unwrap();
        assert_eq!(small.backend, BackendKind::Ollama);
        assert_eq!(small.model, "qwen2.5-coder:7b");
        assert_eq!(small.context_window, 32768);
        assert_eq!(small.edit_format, EditFormat::WholeFile);
        assert_eq!(small.temperature, 0.1);
        assert_eq!(small.price_in, 0.0);
        let large = m.get("local-large").unwrap();
        assert_eq!(large.model, "qwen2.5-coder:14b");
        assert_eq!(large.edit_format, EditFormat::SearchReplace);
        let claude = m.get("cloud-claude").unwrap();
        assert_eq!((claude.price_in, claude.price_out), (3.0, 15.0));
        let deepseek = m.get("cloud-deepseek").unwrap();
        assert_eq!(deepseek.backend, BackendKind::Openai);
        assert_eq!(
            deepseek.resolved_endpoint(&no_env),
            "https://api.deepseek.com"
        );
        assert_eq!((deepseek.price_in, deepseek.price_out), (0.27, 1.10));
        for (name, s) in m.iter() {
            s.validate(name).unwrap();
        }
    }

    #[test]
    fn user_table_overrides_only_its_keys() {
        let m = parse(
            "[models.local-small]\nmodel = \"qwen2.5-coder:3b\"\n\n[models.cloud-claude]\nmax_tokens = 8000\n",
        )
        .unwrap();
        let small = m.get("local-small").unwrap();
        assert_eq!(small.model, "qwen2.5-coder:3b");
        assert_eq!(small.backend, BackendKind::Ollama);
        assert_eq!(small.context_window, 32768);
        assert_eq!(small.edit_format, EditFormat::WholeFile);
        assert_eq!(m.get("cloud-claude").unwrap().max_tokens, 8000);
        assert_eq!(m.get("local-large").unwrap().model, "qwen2.5-coder:14b");
    }

    #[test]
    fn new_entry_gets_backend_defaults() {
        let m = parse(
            "[models.lmstudio]\nbackend = \"openai\"\nendpoint = \"http://127.0.0.1:1234/v1\"\nmodel = \"qwen2.5-coder-7b-instruct\"\nedit_format = \"whole_file\"\nprice_in = 1\n",
        )
        .unwrap();
        let s = m.get("lmstudio").unwrap();
        assert_eq!(s.backend, BackendKind::Openai);
        assert_eq!(s.resolved_endpoint(&no_env), "http://127.0.0.1:1234");
        assert_eq!(s.temperature, 0.1);
        assert_eq!(s.price_in, 1.0);
        assert_eq!(s.edit_format, EditFormat::WholeFile);
        assert_eq!(s.api_key_var(&s.resolved_endpoint(&no_env)), None);
        assert_eq!(m.names().count(), 5);
    }

    #[test]
    fn new_entry_without_backend_or_model_names_the_key() {
        let e = parse("[models.mine]\nmodel = \"x\"\n").unwrap_err();
        assert!(e.contains("[models.mine] backend"), "{e}");
        let e = parse("[models.mine]\nbackend = \"ollama\"\n").unwrap_err();
        assert!(e.contains("[models.mine] model"), "{e}");
        let e = parse("[models.mine]\nbackend = \"gemini\"\nmodel = \"x\"\n").unwrap_err();
        assert!(e.contains("gemini"), "{e}");
        let e = parse("[models.local-small]\nmodle = \"x\"\n").unwrap_err();
        assert!(e.contains("modle"), "{e}");
    }

    #[test]
    fn invalid_values_name_the_key() {
        let e = parse("[models.local-small]\ntemperature = 3.0\n").unwrap_err();
        assert!(e.contains("temperature"), "{e}");
        let e = parse("[models.cloud-claude]\ntemperature = 1.5\n").unwrap_err();
        assert!(e.contains("temperature"), "{e}");
        let e = parse("[models.local-small]\nmax_tokens = 40000\n").unwrap_err();
        assert!(e.contains("max_tokens"), "{e}");
        let e = parse("[models.local-small]\nprice_in = -1.0\n").unwrap_err();
        assert!(e.contains("price_in"), "{e}");
        let e = parse("[models.x]\nbackend = \"openai\"\nmodel = \"m\"\nendpoint = \"ftp://h\"\n")
            .unwrap_err();
        assert!(e.contains("endpoint"), "{e}");
    }

    #[test]
    fn underscores_match_builtin_names() {
        let mut entries = BTreeMap::new();
        entries.insert(
            "local_small".to_string(),
            ModelEntry {
                model: Some("qwen2.5-coder:1.5b".into()),
                ..Default::default()
            },
        );
        let m = ModelsSettings::merged(entries).unwrap();
        assert_eq!(m.get("local-small").unwrap().model, "qwen2.5-coder:1.5b");
        assert!(m.get("local_small").is_none());
    }

    #[test]
    fn ollama_host_is_parsed_like_ollama_does() {
        assert_eq!(
            parse_ollama_host("mac.local:11434"),
            "http://mac.local:11434"
        );
        assert_eq!(parse_ollama_host("mac.local"), "http://mac.local:11434");
        assert_eq!(parse_ollama_host("0.0.0.0"), "http://0.0.0.0:11434");
        assert_eq!(parse_ollama_host(":9999"), "http://127.0.0.1:9999");
        assert_eq!(parse_ollama_host(""), "http://127.0.0.1:11434");
        assert_eq!(
            parse_ollama_host("http://localhost:11434"),
            "http://localhost:11434"
        );
        assert_eq!(
            parse_ollama_host("https://ollama.example.com"),
            "https://ollama.example.com:443"
        );
        assert_eq!(
            parse_ollama_host("http://box/ollama"),
            "http://box:80/ollama"
        );
        assert_eq!(parse_ollama_host("[::1]:8080"), "http://[::1]:8080");
        assert_eq!(parse_ollama_host("::1"), "http://[::1]:11434");
    }

    #[test]
    fn ollama_endpoint_comes_from_config_then_ollama_host_then_default() {
        let mut s = ModelSettings::new(BackendKind::Ollama, "m");
        assert_eq!(s.resolved_endpoint(&no_env), "http://127.0.0.1:11434");
        let env = |k: &str| (k == "OLLAMA_HOST").then(|| "10.0.0.5:11434".to_string());
        assert_eq!(s.resolved_endpoint(&env), "http://10.0.0.5:11434");
        s.endpoint = Some("mac.lan".into());
        assert_eq!(s.resolved_endpoint(&env), "http://mac.lan:11434");
        s.endpoint = Some("http://mac.lan:11434/api/".into());
        assert_eq!(s.resolved_endpoint(&env), "http://mac.lan:11434");
    }

    #[test]
    fn api_key_variables_default_per_backend_and_host() {
        let claude = ModelSettings::new(BackendKind::Anthropic, "c");
        assert_eq!(
            claude.api_key_var(DEFAULT_ANTHROPIC_ENDPOINT).as_deref(),
            Some("ANTHROPIC_API_KEY")
        );
        let openai = ModelSettings::new(BackendKind::Openai, "gpt");
        assert_eq!(
            openai.api_key_var("https://api.openai.com").as_deref(),
            Some("OPENAI_API_KEY")
        );
        assert_eq!(
            openai.api_key_var("https://api.deepseek.com").as_deref(),
            Some("DEEPSEEK_API_KEY")
        );
        assert_eq!(openai.api_key_var("http://127.0.0.1:1234"), None);
        let mut vllm = openai.clone();
        vllm.api_key_env = Some("VLLM_KEY".into());
        assert_eq!(
            vllm.api_key_var("http://gpu:8000").as_deref(),
            Some("VLLM_KEY")
        );
        let ollama = ModelSettings::new(BackendKind::Ollama, "q");
        assert_eq!(ollama.api_key_var(DEFAULT_OLLAMA_ENDPOINT), None);
    }
}
