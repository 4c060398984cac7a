//! Prompt templates (minijinja) and the prompts built from them. Templates
//! are data: the built-in ones are embedded from `prompts/`, a configured
//! directory (`[prompts] dir`) replaces them file by file without a rebuild,
//! and a repository may override them in `.github/gitkeeper/prompts/`.
//! Variables are strict: a template naming an unknown variable is an error
//! that names the file and line, never an empty string in a prompt.
//!
//! It must never put untrusted text (issue, comment) into a prompt other
//! than through `gitkeeper::sanitize` framing, and never follow a symlink
//! out of a checkout when reading a repository's overrides.

mod build;
mod language;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use gitkeeper::edits::{Links, PathProblem, resolve_below};
use minijinja::{AutoEscape, Environment, UndefinedBehavior};
use serde::Serialize;

pub use build::{
    AgentPrompt, CheckerPrompt, ExplainPrompt, GenerationPrompt, PrDescription,
    PrDescriptionAttempt, Prompt, RetryPrompt, RevisePrompt, prompt_sha256,
};
pub use language::{Language, languages_for};

/// Where a repository keeps its prompt overrides, relative to its root.
pub const REPO_OVERRIDE_DIR: &str = ".github/gitkeeper/prompts";

/// Largest template file read (a guard against a repository's huge file).
const MAX_TEMPLATE_BYTES: u64 = 256 * 1024;

/// One prompt template file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Template {
    System,
    Task,
    TypeScript,
    Prisma,
    Rust,
    Python,
    Revise,
    Retry,
    Checker,
    PrDescription,
    Explain,
    Agent,
}

impl Template {
    pub const ALL: [Template; 12] = [
        Template::System,
        Template::Task,
        Template::TypeScript,
        Template::Prisma,
        Template::Rust,
        Template::Python,
        Template::Revise,
        Template::Retry,
        Template::Checker,
        Template::PrDescription,
        Template::Explain,
        Template::Agent,
    ];

    /// The file name in a prompts directory.
    pub fn file_name(self) -> &'static str {
        match self {
            Template::System => "system.md",
            Template::Task => "task.md",
            Template::TypeScript => "typescript.md",
            Template::Prisma => "prisma.md",
            Template::Rust => "rust.md",
            Template::Python => "python.md",
            Template::Revise => "revise.md",
            Template::Retry => "retry.md",
            Template::Checker => "checker.md",
            Template::PrDescription => "pr_description.md",
            Template::Explain => "explain.md",
            Template::Agent => "agent.md",
        }
    }

    /// The built-in text, embedded from the repository's `prompts/`.
    pub fn embedded(self) -> &'static str {
        match self {
            Template::System => include_str!("../../../prompts/system.md"),
            Template::Task => include_str!("../../../prompts/task.md"),
            Template::TypeScript => include_str!("../../../prompts/typescript.md"),
            Template::Prisma => include_str!("../../../prompts/prisma.md"),
            Template::Rust => include_str!("../../../prompts/rust.md"),
            Template::Python => include_str!("../../../prompts/python.md"),
            Template::Revise => include_str!("../../../prompts/revise.md"),
            Template::Retry => include_str!("../../../prompts/retry.md"),
            Template::Checker => include_str!("../../../prompts/checker.md"),
            Template::PrDescription => include_str!("../../../prompts/pr_description.md"),
            Template::Explain => include_str!("../../../prompts/explain.md"),
            Template::Agent => include_str!("../../../prompts/agent.md"),
        }
    }
}

/// `[prompts]`: where the templates come from.
#[derive(Debug, Clone, serde::Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct PromptSettings {
    /// A directory of templates that replace the built-in ones file by file.
    /// Unset: `prompts/` in the working directory when it exists, else built-in.
    pub dir: Option<PathBuf>,
    /// Read a repository's `.github/gitkeeper/prompts/` overrides.
    pub repo_overrides: bool,
}

impl Default for PromptSettings {
    fn default() -> Self {
        Self {
            dir: None,
            repo_overrides: true,
        }
    }
}

/// A template that cannot be read or rendered; the message names the file and line.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PromptError {
    #[error(
        "[prompts] dir {} is not a directory: create it, or remove the key to use the built-in prompts",
        .0.display()
    )]
    NotADirectory(PathBuf),
    #[error("cannot read prompt template {}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "prompt template {} is larger than {MAX_TEMPLATE_BYTES} bytes: shorten it",
        .0.display()
    )]
    TooLarge(PathBuf),
    #[error(
        "prompt template {origin}{}: {detail}; fix the template, or delete it to use the built-in one",
        line.map(|l| format!(" line {l}")).unwrap_or_default()
    )]
    Template {
        /// The file (or `built-in <name>`).
        origin: String,
        line: Option<usize>,
        detail: String,
    },
    #[error("reading the prompt templates stopped unexpectedly: {0}")]
    Interrupted(#[source] tokio::task::JoinError),
}

/// Loaded templates, ready to render. Cheap to clone.
#[derive(Clone)]
pub struct Prompts {
    env: Arc<Environment<'static>>,
    /// Where each template came from, for error messages and logs.
    origins: BTreeMap<&'static str, String>,
}

impl std::fmt::Debug for Prompts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Prompts")
            .field("origins", &self.origins)
            .finish()
    }
}

impl Prompts {
    /// Only the built-in templates.
    pub fn builtin() -> Result<Prompts, PromptError> {
        Self::from_sources(Self::builtin_sources())
    }

    /// The built-in templates, each replaced by the file of the same name in
    /// the configured directory (or `prompts/` when it exists).
    pub fn load(settings: &PromptSettings) -> Result<Prompts, PromptError> {
        let dir = match &settings.dir {
            Some(dir) if !dir.is_dir() => return Err(PromptError::NotADirectory(dir.clone())),
            Some(dir) => Some(dir.clone()),
            None => Some(PathBuf::from("prompts")).filter(|d| d.is_dir()),
        };
        let mut sources = Self::builtin_sources();
        if let Some(dir) = dir {
            overlay_dir(&mut sources, &dir, None)?;
        }
        Self::from_sources(sources)
    }

    /// The operator's templates ([`Prompts::load`]) with `checkout`'s
    /// overrides laid over them when `settings` allows. Reads files: call it
    /// off the async runtime.
    pub fn load_for_checkout(
        settings: &PromptSettings,
        checkout: &Path,
    ) -> Result<Prompts, PromptError> {
        let prompts = Self::load(settings)?;
        if settings.repo_overrides {
            prompts.with_repo_overrides(checkout)
        } else {
            Ok(prompts)
        }
    }

    /// [`Prompts::load_for_checkout`] off the async runtime.
    pub async fn load_for_checkout_async(
        settings: &PromptSettings,
        checkout: &Path,
    ) -> Result<Prompts, PromptError> {
        let (settings, checkout) = (settings.clone(), checkout.to_path_buf());
        tokio::task::spawn_blocking(move || Self::load_for_checkout(&settings, &checkout))
            .await
            .map_err(PromptError::Interrupted)?
    }

    /// These templates with a repository's `.github/gitkeeper/prompts/`
    /// files laid over them. Symlinks and files outside the checkout are ignored.
    pub fn with_repo_overrides(&self, checkout: &Path) -> Result<Prompts, PromptError> {
        let dir = checkout.join(REPO_OVERRIDE_DIR);
        if !dir.is_dir() {
            return Ok(self.clone());
        }
        let mut sources = self.current_sources()?;
        overlay_dir(&mut sources, &dir, Some(checkout))?;
        Self::from_sources(sources)
    }

    /// Where `template` came from (`built-in system.md` or a path).
    pub fn origin(&self, template: Template) -> &str {
        self.origins
            .get(template.file_name())
            .map_or("built-in", String::as_str)
    }

    /// Render `template` with `context` (every variable it names must be given).
    pub fn render(
        &self,
        template: Template,
        context: impl Serialize,
    ) -> Result<String, PromptError> {
        let tmpl = self
            .env
            .get_template(template.file_name())
            .map_err(|e| self.error(template, &e))?;
        tmpl.render(context).map_err(|e| self.error(template, &e))
    }

    fn error(&self, template: Template, e: &minijinja::Error) -> PromptError {
        let name = e.name().unwrap_or(template.file_name());
        let origin = self
            .origins
            .get(name)
            .cloned()
            .unwrap_or_else(|| name.to_string());
        PromptError::Template {
            origin,
            line: e.line(),
            detail: e
                .detail()
                .map_or_else(|| e.kind().to_string(), |d| format!("{}: {d}", e.kind())),
        }
    }

    fn builtin_sources() -> Vec<(Template, String, String)> {
        Template::ALL
            .iter()
            .map(|t| {
                (
                    *t,
                    t.embedded().to_string(),
                    format!("built-in {}", t.file_name()),
                )
            })
            .collect()
    }

    fn current_sources(&self) -> Result<Vec<(Template, String, String)>, PromptError> {
        Template::ALL
            .iter()
            .map(|t| {
                let source = self
                    .env
                    .get_template(t.file_name())
                    .map_err(|e| self.error(*t, &e))?
                    .source()
                    .to_string();
                Ok((*t, source, self.origin(*t).to_string()))
            })
            .collect()
    }

    fn from_sources(sources: Vec<(Template, String, String)>) -> Result<Prompts, PromptError> {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        env.set_auto_escape_callback(|_| AutoEscape::None);
        env.set_keep_trailing_newline(true);
        env.set_trim_blocks(true);
        env.set_lstrip_blocks(true);
        let mut origins = BTreeMap::new();
        for (template, source, origin) in sources {
            if let Err(e) = env.add_template_owned(template.file_name(), source) {
                return Err(PromptError::Template {
                    origin,
                    line: e.line(),
                    detail: e
                        .detail()
                        .map_or_else(|| e.kind().to_string(), |d| format!("{}: {d}", e.kind())),
                });
            }
            origins.insert(template.file_name(), origin);
        }
        Ok(Prompts {
            env: Arc::new(env),
            origins,
        })
    }
}

/// Replace sources with the files of the same name in `dir`. With `inside`,
/// `dir` is [`REPO_OVERRIDE_DIR`] of that checkout, and files must be regular
/// files whose real path stays under it.
fn overlay_dir(
    sources: &mut [(Template, String, String)],
    dir: &Path,
    inside: Option<&Path>,
) -> Result<(), PromptError> {
    for (template, source, origin) in sources.iter_mut() {
        let path = dir.join(template.file_name());
        let meta = match std::fs::symlink_metadata(&path) {
            Ok(meta) => meta,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(source) => return Err(PromptError::Read { path, source }),
        };
        if let Some(root) = inside {
            let rel = format!("{REPO_OVERRIDE_DIR}/{}", template.file_name());
            let inside = match resolve_below(root, &rel, Links::FollowInside) {
                Ok(_) => true,
                Err(PathProblem::EscapesRoot { .. }) => false,
                Err(problem) => {
                    return Err(PromptError::Read {
                        path,
                        source: std::io::Error::other(problem),
                    });
                }
            };
            if !meta.is_file() || !inside {
                tracing::warn!(path = %path.display(), "ignoring a prompt override that is not a regular file in the checkout");
                continue;
            }
        }
        if meta.len() > MAX_TEMPLATE_BYTES {
            return Err(PromptError::TooLarge(path));
        }
        *source = std::fs::read_to_string(&path).map_err(|e| PromptError::Read {
            path: path.clone(),
            source: e,
        })?;
        *origin = path.display().to_string();
    }
    Ok(())
}

#[cfg(test)]
mod tests;
