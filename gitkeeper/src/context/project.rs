//! Project metadata: name, version and the technology stack ("Next.js 14 +
//! TypeScript + Prisma"), detected from manifests (package.json dependencies,
//! Cargo.toml, pyproject.toml, requirements.txt, go.mod) and marker files
//! (`next.config.*`, `tsconfig.json`, a Prisma schema). Detection only reads
//! a handful of root files.

use serde::{Deserialize, Serialize};

use super::manifest::Manifest;
use super::read::RepoRoot;

/// Largest manifest read for detection.
const MAX_MANIFEST_BYTES: u64 = 512 * 1024;

/// A technology the project uses; the order is the order of the summary.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Tech {
    /// Next.js.
    NextJs,
    /// Nuxt.
    Nuxt,
    /// Remix.
    Remix,
    /// SvelteKit.
    SvelteKit,
    /// Astro.
    Astro,
    /// NestJS.
    NestJs,
    /// Express.
    Express,
    /// Fastify.
    Fastify,
    /// Hono.
    Hono,
    /// Koa.
    Koa,
    /// React.
    React,
    /// Vue.
    Vue,
    /// Svelte.
    Svelte,
    /// Angular.
    Angular,
    /// Django.
    Django,
    /// Flask.
    Flask,
    /// FastAPI.
    FastApi,
    /// TypeScript.
    TypeScript,
    /// JavaScript (no TypeScript).
    JavaScript,
    /// Rust.
    Rust,
    /// Python.
    Python,
    /// Go.
    Go,
    /// Prisma ORM.
    Prisma,
    /// Drizzle ORM.
    Drizzle,
    /// tRPC.
    Trpc,
    /// Tailwind CSS.
    Tailwind,
    /// Vite.
    Vite,
    /// Vitest.
    Vitest,
    /// Jest.
    Jest,
    /// Playwright.
    Playwright,
}

impl Tech {
    /// Display name (`Next.js`).
    pub fn name(self) -> &'static str {
        match self {
            Tech::NextJs => "Next.js",
            Tech::Nuxt => "Nuxt",
            Tech::Remix => "Remix",
            Tech::SvelteKit => "SvelteKit",
            Tech::Astro => "Astro",
            Tech::NestJs => "NestJS",
            Tech::Express => "Express",
            Tech::Fastify => "Fastify",
            Tech::Hono => "Hono",
            Tech::Koa => "Koa",
            Tech::React => "React",
            Tech::Vue => "Vue",
            Tech::Svelte => "Svelte",
            Tech::Angular => "Angular",
            Tech::Django => "Django",
            Tech::Flask => "Flask",
            Tech::FastApi => "FastAPI",
            Tech::TypeScript => "TypeScript",
            Tech::JavaScript => "JavaScript",
            Tech::Rust => "Rust",
            Tech::Python => "Python",
            Tech::Go => "Go",
            Tech::Prisma => "Prisma",
            Tech::Drizzle => "Drizzle",
            Tech::Trpc => "tRPC",
            Tech::Tailwind => "Tailwind CSS",
            Tech::Vite => "Vite",
            Tech::Vitest => "Vitest",
            Tech::Jest => "Jest",
            Tech::Playwright => "Playwright",
        }
    }
}

/// npm packages that reveal a technology.
const NPM_MARKERS: &[(&str, Tech)] = &[
    ("next", Tech::NextJs),
    ("nuxt", Tech::Nuxt),
    ("@remix-run/react", Tech::Remix),
    ("@sveltejs/kit", Tech::SvelteKit),
    ("astro", Tech::Astro),
    ("@nestjs/core", Tech::NestJs),
    ("express", Tech::Express),
    ("fastify", Tech::Fastify),
    ("hono", Tech::Hono),
    ("koa", Tech::Koa),
    ("react", Tech::React),
    ("vue", Tech::Vue),
    ("svelte", Tech::Svelte),
    ("@angular/core", Tech::Angular),
    ("typescript", Tech::TypeScript),
    ("prisma", Tech::Prisma),
    ("@prisma/client", Tech::Prisma),
    ("drizzle-orm", Tech::Drizzle),
    ("@trpc/server", Tech::Trpc),
    ("tailwindcss", Tech::Tailwind),
    ("vite", Tech::Vite),
    ("vitest", Tech::Vitest),
    ("jest", Tech::Jest),
    ("@playwright/test", Tech::Playwright),
];

/// Python distributions that reveal a framework.
const PYTHON_MARKERS: &[(&str, Tech)] = &[
    ("django", Tech::Django),
    ("flask", Tech::Flask),
    ("fastapi", Tech::FastApi),
];

/// One technology with the version the project pins, if known.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StackItem {
    /// The technology.
    pub tech: Tech,
    /// Version or range as declared (`^14.2.3`, `1.22`).
    pub version: Option<String>,
}

/// Who the project is and what it is built with.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Project {
    /// Package or crate name.
    pub name: Option<String>,
    /// Declared version.
    pub version: Option<String>,
    /// Declared description.
    pub description: Option<String>,
    /// Technologies, most defining first.
    pub stack: Vec<StackItem>,
}

impl Project {
    /// One line for prompts: `Next.js 14 + React 18 + TypeScript + Prisma`.
    pub fn stack_summary(&self) -> String {
        let parts: Vec<String> = self
            .stack
            .iter()
            .map(
                |item| match item.version.as_deref().and_then(major_version) {
                    Some(v) => format!("{} {v}", item.tech.name()),
                    None => item.tech.name().to_string(),
                },
            )
            .collect();
        parts.join(" + ")
    }

    /// True when the stack includes `tech`.
    pub fn uses(&self, tech: Tech) -> bool {
        self.stack.iter().any(|s| s.tech == tech)
    }

    fn add(&mut self, tech: Tech, version: Option<String>) {
        match self.stack.iter_mut().find(|s| s.tech == tech) {
            Some(existing) => {
                if existing.version.is_none() {
                    existing.version = version;
                }
            }
            None => self.stack.push(StackItem { tech, version }),
        }
    }
}

/// The version to show for a range: the major (`^14.2.3` → `14`), or
/// major.minor when the major alone says little (`1.22` → `1.22`, `0.4.1` → `0.4`).
fn major_version(range: &str) -> Option<String> {
    if range.starts_with("workspace:") || range.contains("://") || range.contains(':') {
        return None;
    }
    let trimmed = range.trim_start_matches(|c: char| !c.is_ascii_digit());
    let mut numbers = trimmed
        .split(|c: char| !c.is_ascii_digit())
        .take(2)
        .filter(|n| !n.is_empty());
    let major = numbers.next()?;
    match (major, numbers.next()) {
        ("0" | "1", Some(minor)) => Some(format!("{major}.{minor}")),
        _ => Some(major.to_string()),
    }
}

/// Detects project metadata from the root manifests; `has_file` answers
/// whether a repository-relative file exists (from the walk).
pub(crate) fn detect(
    root: &RepoRoot,
    manifest: Option<&Manifest>,
    has_schema: bool,
    has_file: &dyn Fn(&str) -> bool,
) -> Project {
    let mut project = Project::default();
    if let Some(m) = manifest {
        project.name = m.name.clone();
        project.version = m.version.clone();
        project.description = m.description.clone();
        for (package, tech) in NPM_MARKERS {
            if let Some(version) = m.dependency(package) {
                project.add(*tech, Some(version.to_string()));
            }
        }
    }
    let next_config = [
        "next.config.js",
        "next.config.mjs",
        "next.config.ts",
        "next.config.cjs",
    ]
    .iter()
    .any(|f| has_file(f));
    if next_config {
        project.add(Tech::NextJs, None);
        project.add(Tech::React, None);
    }
    if has_file("tsconfig.json") {
        project.add(Tech::TypeScript, None);
    } else if manifest.is_some() && !project.uses(Tech::TypeScript) {
        project.add(Tech::JavaScript, None);
    }
    if has_schema {
        project.add(Tech::Prisma, None);
    }
    if has_file("Cargo.toml") {
        let (name, version) = root
            .read_text("Cargo.toml", MAX_MANIFEST_BYTES)
            .ok()
            .and_then(|t| t.parse::<toml::Table>().ok())
            .map(|t| {
                let pkg = t.get("package").and_then(toml::Value::as_table);
                let get = |k: &str| {
                    pkg.and_then(|p| p.get(k))
                        .and_then(toml::Value::as_str)
                        .map(str::to_string)
                };
                (get("name"), get("version"))
            })
            .unwrap_or_default();
        project.name = project.name.take().or(name);
        project.version = project.version.take().or(version);
        project.add(Tech::Rust, None);
    }
    let mut python_deps: Vec<String> = Vec::new();
    if has_file("pyproject.toml") {
        if let Some(table) = root
            .read_text("pyproject.toml", MAX_MANIFEST_BYTES)
            .ok()
            .and_then(|t| t.parse::<toml::Table>().ok())
        {
            let section = table
                .get("project")
                .or_else(|| table.get("tool").and_then(|t| t.get("poetry")))
                .and_then(toml::Value::as_table);
            if let Some(section) = section {
                let get = |k: &str| {
                    section
                        .get(k)
                        .and_then(toml::Value::as_str)
                        .map(str::to_string)
                };
                project.name = project.name.take().or(get("name"));
                project.version = project.version.take().or(get("version"));
                if let Some(deps) = section.get("dependencies") {
                    match deps {
                        toml::Value::Array(items) => python_deps
                            .extend(items.iter().filter_map(|v| v.as_str().map(str::to_string))),
                        toml::Value::Table(t) => python_deps.extend(t.keys().cloned()),
                        _ => {}
                    }
                }
            }
        }
        project.add(Tech::Python, None);
    }
    if has_file("requirements.txt") {
        if let Ok(text) = root.read_text("requirements.txt", MAX_MANIFEST_BYTES) {
            python_deps.extend(text.lines().map(str::to_string));
        }
        project.add(Tech::Python, None);
    } else if has_file("setup.py") {
        project.add(Tech::Python, None);
    }
    for dep in &python_deps {
        let name: String = dep
            .trim()
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
            .collect::<String>()
            .to_ascii_lowercase();
        for (marker, tech) in PYTHON_MARKERS {
            if name == *marker {
                project.add(*tech, None);
            }
        }
    }
    if has_file("go.mod") {
        if let Ok(text) = root.read_text("go.mod", MAX_MANIFEST_BYTES) {
            let mut go_version = None;
            for line in text.lines() {
                let line = line.trim();
                if let Some(module) = line.strip_prefix("module ") {
                    let module = module.trim().trim_matches('"');
                    project.name = project.name.take().or_else(|| Some(module.to_string()));
                } else if let Some(v) = line.strip_prefix("go ") {
                    go_version = Some(v.trim().to_string());
                }
            }
            project.add(Tech::Go, go_version);
        } else {
            project.add(Tech::Go, None);
        }
    }
    project.stack.sort_by_key(|s| s.tech);
    project
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    fn detect_in(files: &[(&str, &str)]) -> Project {
        let dir = tempfile::tempdir().expect("tempdir");
        for (path, text) in files {
            fs::write(dir.path().join(path), text).expect("write");
        }
        let root = RepoRoot::new(dir.path()).expect("root");
        let manifest = files
            .iter()
            .find(|(p, _)| *p == "package.json")
            .and_then(|(_, t)| Manifest::parse("package.json", t).ok());
        let has_schema = files.iter().any(|(p, _)| p.ends_with(".prisma"));
        let has = |p: &str| files.iter().any(|(f, _)| *f == p);
        detect(&root, manifest.as_ref(), has_schema, &has)
    }

    #[test]
    fn next_app_with_prisma_is_summarized_like_the_seed() {
        let p = detect_in(&[
            (
                "package.json",
                r#"{"name":"solar-sprint","version":"0.2.0","dependencies":{"next":"14.2.3","react":"^18.3.0","@prisma/client":"^5.14.0"},"devDependencies":{"typescript":"^5.4.0","prisma":"^5.14.0"}}"#,
            ),
            ("tsconfig.json", "{}"),
            ("next.config.mjs", "export default {}"),
        ]);
        assert_eq!(p.name.as_deref(), Some("solar-sprint"));
        assert_eq!(p.version.as_deref(), Some("0.2.0"));
        assert_eq!(
            p.stack_summary(),
            "Next.js 14 + React 18 + TypeScript 5 + Prisma 5"
        );
    }

    #[test]
    fn rust_python_and_go_projects_are_detected() {
        let p = detect_in(&[(
            "Cargo.toml",
            "[package]\nname = \"tool\"\nversion = \"1.2.0\"\n",
        )]);
        assert_eq!(
            (p.name.as_deref(), p.version.as_deref()),
            (Some("tool"), Some("1.2.0"))
        );
        assert!(p.uses(Tech::Rust));

        let p = detect_in(&[(
            "pyproject.toml",
            "[project]\nname = \"api\"\nversion = \"0.1\"\ndependencies = [\"fastapi>=0.110\", \"uvicorn\"]\n",
        )]);
        assert_eq!(p.stack_summary(), "FastAPI + Python");

        let p = detect_in(&[("go.mod", "module github.com/acme/svc\n\ngo 1.22\n")]);
        assert_eq!(p.name.as_deref(), Some("github.com/acme/svc"));
        assert_eq!(p.stack_summary(), "Go 1.22");
    }

    #[test]
    fn express_javascript_project_without_typescript() {
        let p = detect_in(&[(
            "package.json",
            r#"{"name":"api","dependencies":{"express":"^4.19.0"}}"#,
        )]);
        assert_eq!(p.stack_summary(), "Express 4 + JavaScript");
    }

    #[test]
    fn broken_manifests_do_not_fail_detection() {
        let p = detect_in(&[("Cargo.toml", "[package\nname = "), ("go.mod", "\u{0}")]);
        assert!(p.uses(Tech::Rust));
        assert!(p.uses(Tech::Go));
    }
}
