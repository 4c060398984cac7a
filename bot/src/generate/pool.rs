//! The model backends a job may call, by `[models.<name>]`. A backend that
//! cannot be built (a missing API key) is kept as its error, reported when
//! a tier first needs it, so the loop moves on to another tier.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::models::{ModelBackend, ModelSettings, ModelsSettings, build_backend_with_env};

/// Makes one model's backend, or says why it cannot.
pub type BackendMaker<'a> =
    dyn Fn(&str, &ModelSettings) -> Result<Arc<dyn ModelBackend>, String> + 'a;

struct Entry {
    settings: ModelSettings,
    backend: Result<Arc<dyn ModelBackend>, String>,
}

/// Backends by model name.
#[derive(Default)]
pub struct ModelPool {
    entries: BTreeMap<String, Entry>,
}

impl std::fmt::Debug for ModelPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.entries.keys()).finish()
    }
}

impl ModelPool {
    /// Build every configured model's backend, reading `OLLAMA_HOST` and API keys from `env`.
    pub fn build(models: &ModelsSettings, env: &dyn Fn(&str) -> Option<String>) -> ModelPool {
        Self::build_with(models, &|name, settings| {
            build_backend_with_env(name, settings, env).map_err(|e| e.to_string())
        })
    }

    /// Build every configured model's backend with `make` (the bot routes
    /// runner tiers to its runners this way).
    pub fn build_with(models: &ModelsSettings, make: &BackendMaker<'_>) -> ModelPool {
        let mut pool = ModelPool::default();
        for (name, settings) in models.iter() {
            let backend = make(name, settings);
            pool.entries.insert(
                name.clone(),
                Entry {
                    settings: settings.clone(),
                    backend,
                },
            );
        }
        pool
    }

    /// Add or replace one model (embedders and tests).
    pub fn insert(&mut self, name: &str, settings: ModelSettings, backend: Arc<dyn ModelBackend>) {
        self.entries.insert(
            name.to_string(),
            Entry {
                settings,
                backend: Ok(backend),
            },
        );
    }

    pub fn settings(&self, name: &str) -> Option<&ModelSettings> {
        self.entries.get(name).map(|e| &e.settings)
    }

    /// The backend, or why there is none.
    pub fn backend(&self, name: &str) -> Result<Arc<dyn ModelBackend>, String> {
        match self.entries.get(name) {
            Some(entry) => entry.backend.clone(),
            None => Err(format!(
                "model `{name}` is not configured: add [models.{name}] to gitkeeper.toml"
            )),
        }
    }
}
