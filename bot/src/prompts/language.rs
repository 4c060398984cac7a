//! Which language rules a prompt carries, picked from the detected stack.

use gitkeeper::context::Project;
use gitkeeper::context::project::Tech;

use super::Template;

/// A language (or framework) with a rules template.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Language {
    TypeScript,
    Prisma,
    Rust,
    Python,
}

impl Language {
    pub fn template(self) -> Template {
        match self {
            Language::TypeScript => Template::TypeScript,
            Language::Prisma => Template::Prisma,
            Language::Rust => Template::Rust,
            Language::Python => Template::Python,
        }
    }
}

/// The rules that apply to `project`, most defining first.
pub fn languages_for(project: &Project) -> Vec<Language> {
    let mut out = Vec::new();
    if project.uses(Tech::TypeScript) || project.uses(Tech::JavaScript) {
        out.push(Language::TypeScript);
    }
    if project.uses(Tech::Prisma) {
        out.push(Language::Prisma);
    }
    if project.uses(Tech::Rust) {
        out.push(Language::Rust);
    }
    if [Tech::Python, Tech::Django, Tech::Flask, Tech::FastApi]
        .into_iter()
        .any(|t| project.uses(t))
    {
        out.push(Language::Python);
    }
    out
}
