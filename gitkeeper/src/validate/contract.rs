//! What the static checks compare a change against, read from the work
//! directory as it is after the change: the file list (for imports), the
//! tsconfigs (aliases), every package.json (declared packages), the Prisma
//! schema (models and fields) and the gitkeeper doc's rules. Reuses the
//! context package's loaders; reading never fails on a malformed file (the
//! problem becomes a warning and that check is skipped).

use std::collections::BTreeMap;
use std::path::Path;

use ignore::gitignore::{Gitignore, GitignoreBuilder};

use super::api_routes::{ApiRoute, collect_routes};
use crate::context::doc::Rules;
use crate::context::imports::{Resolver, join, nearest, parent_dir};
use crate::context::manifest::{self, Manifest};
use crate::context::prisma::{PrismaSchema, SchemaError};
use crate::context::read::RepoRoot;
use crate::context::{self, ContextOptions, ContextPackage};

/// The repository facts a change is checked against.
#[derive(Debug, Clone)]
pub struct Contract {
    /// Resolves import specifiers against the files and tsconfigs.
    pub resolver: Resolver,
    /// Every file of the work directory (repository-relative, sorted).
    pub files: Vec<String>,
    /// Every package.json by its directory (`""` for the root).
    pub manifests: BTreeMap<String, Manifest>,
    /// The Prisma schema, when there is one and it parses.
    pub schema: Option<PrismaSchema>,
    /// Why the schema does not parse, when it does not.
    pub schema_error: Option<SchemaError>,
    /// The schema's files (repository-relative), main file first.
    pub schema_files: Vec<String>,
    /// Directories Prisma generators write their client to (imports into
    /// them are fine before `prisma generate` has run).
    pub generated_dirs: Vec<String>,
    /// The Next.js app's API routes (empty unless it is a Next.js app whose
    /// `/api` is not rewritten elsewhere).
    pub api_routes: Vec<ApiRoute>,
    /// The gitkeeper doc's rules.
    pub rules: Rules,
    /// `.gitignore` matchers by the directory they sit in: an import of an
    /// ignored path names a file some build step generates.
    ignores: Vec<(String, Gitignore)>,
    /// Problems met while reading (an invalid package.json, …).
    pub warnings: Vec<String>,
    /// The root package.json scripts the validation runs (see
    /// [`super::scripts_run_by`]); a change may not edit them. Empty unless
    /// the caller knows the plan.
    pub checked_scripts: Vec<String>,
}

/// Why no contract could be read.
#[derive(Debug, thiserror::Error)]
#[error(
    "cannot read work directory {dir}: {source}; check that the checkout exists and is readable"
)]
#[non_exhaustive]
pub struct ContractError {
    /// The directory given.
    pub dir: String,
    /// The I/O error.
    pub source: std::io::Error,
}

/// Most package.json files read (monorepos).
const MAX_MANIFESTS: usize = 64;

impl Contract {
    /// Reads everything from `work_dir`, the gitkeeper doc's rules included.
    /// `options` carries the configured doc and schema paths and walk limits.
    pub fn load(work_dir: &Path, options: &ContextOptions) -> Result<Self, ContractError> {
        let root = RepoRoot::new(work_dir).map_err(|source| ContractError {
            dir: work_dir.display().to_string(),
            source,
        })?;
        let walked =
            context::walk::walk(&root.dir, options.max_walk_entries, |_, _| (0, None::<()>));
        let all_paths: Vec<String> = walked.files.into_iter().map(|f| f.path).collect();
        let paths: Vec<&str> = all_paths.iter().map(String::as_str).collect();
        let mut warnings = Vec::new();
        if walked.capped {
            warnings.push(format!(
                "the repository has more than {} entries; imports of files beyond them are reported missing",
                options.max_walk_entries
            ));
        }
        let mut manifests = BTreeMap::new();
        for path in paths
            .iter()
            .filter(|p| **p == "package.json" || p.ends_with("/package.json"))
            .take(MAX_MANIFESTS)
        {
            match manifest::load(&root, path) {
                Some(Ok(m)) => {
                    manifests.insert(parent_dir(path).to_string(), m);
                }
                Some(Err(err)) => warnings.push(err.to_string()),
                None => {}
            }
        }
        let tsconfigs = context::load_tsconfigs(&root, &all_paths, &mut warnings);
        let schema_ctx =
            context::load_schema(&root, &paths, manifests.get(""), options, &mut warnings);
        let rules = context::load_doc(&root, &paths, options).rules;
        let (schema, schema_error, schema_files) = match schema_ctx {
            Some(s) => (s.schema, s.error, s.location.files),
            None => (None, None, Vec::new()),
        };
        let generated_dirs = schema
            .as_ref()
            .map(|s| generator_outputs(s, schema_files.first().map_or("", String::as_str)))
            .unwrap_or_default();
        let api_routes = if rewrites_api(&root, &paths) {
            Vec::new()
        } else {
            collect_routes(paths.iter().copied())
        };
        let ignores = load_gitignores(&root, &paths);
        Ok(Self {
            ignores,
            api_routes,
            resolver: Resolver::new(all_paths.iter().cloned(), tsconfigs),
            files: all_paths,
            manifests,
            schema,
            schema_error,
            schema_files,
            generated_dirs,
            rules,
            warnings,
            checked_scripts: Vec::new(),
        })
    }

    /// Reads the work directory like [`Contract::load`] but takes the rules
    /// from the context package, built on the base commit: a change cannot
    /// weaken the rules it is checked against by editing the gitkeeper doc.
    pub fn from_package(
        work_dir: &Path,
        options: &ContextOptions,
        package: &ContextPackage,
    ) -> Result<Self, ContractError> {
        let mut contract = Self::load(work_dir, options)?;
        contract.rules = package.gitkeeper_doc.rules.clone();
        Ok(contract)
    }

    /// The package.json that governs `file`: the nearest one in its directory or above.
    pub fn manifest_for(&self, file: &str) -> Option<&Manifest> {
        nearest(file, |dir| self.manifests.get(dir))
    }

    /// The API routes of the app `file` belongs to (the one whose directory
    /// is the longest prefix of it), when that app depends on `next`.
    pub fn api_routes_for(&self, file: &str) -> Vec<&ApiRoute> {
        let in_dir = |dir: &str| dir.is_empty() || file.starts_with(&format!("{dir}/"));
        let Some(app_dir) = self
            .api_routes
            .iter()
            .map(|r| r.app_dir.as_str())
            .filter(|d| in_dir(d))
            .max_by_key(|d| d.len())
        else {
            return Vec::new();
        };
        let probe = if app_dir.is_empty() {
            "x".to_string()
        } else {
            format!("{app_dir}/x")
        };
        if !self
            .manifest_for(&probe)
            .is_some_and(|m| m.has_dependency("next"))
        {
            return Vec::new();
        }
        self.api_routes
            .iter()
            .filter(|r| r.app_dir == app_dir)
            .collect()
    }

    /// True when a `.gitignore` ignores `path` (repository-relative): the
    /// file is generated, so it may be missing before setup runs.
    pub fn is_gitignored(&self, path: &str) -> bool {
        if path.is_empty() || path.starts_with('/') {
            return false;
        }
        self.ignores.iter().any(|(dir, gi)| {
            let rel = if dir.is_empty() {
                Some(path)
            } else {
                path.strip_prefix(dir.as_str())
                    .and_then(|r| r.strip_prefix('/'))
            };
            rel.is_some_and(|r| {
                !r.is_empty() && gi.matched_path_or_any_parents(r, false).is_ignore()
            })
        })
    }

    /// The schema's main file, for messages (`prisma/schema.prisma`).
    pub fn schema_file(&self) -> &str {
        self.schema_files
            .first()
            .map_or("the Prisma schema", String::as_str)
    }

    /// True when `path` lies in a directory a Prisma generator writes to.
    pub fn is_generated(&self, path: &str) -> bool {
        self.generated_dirs
            .iter()
            .any(|d| path == d || path.starts_with(&format!("{d}/")))
    }
}

/// Most `.gitignore` files read.
const MAX_GITIGNORES: usize = 64;

/// One matcher per `.gitignore` file (rules relative to its directory).
fn load_gitignores(root: &RepoRoot, paths: &[&str]) -> Vec<(String, Gitignore)> {
    paths
        .iter()
        .filter(|p| **p == ".gitignore" || p.ends_with("/.gitignore"))
        .take(MAX_GITIGNORES)
        .filter_map(|p| {
            let text = root.read_text(p, 256 * 1024).ok()?;
            let dir = parent_dir(p);
            let mut builder = GitignoreBuilder::new(root.dir.join(dir));
            for line in text.lines() {
                // A line that is not a valid glob is skipped, as git does.
                let _ = builder.add_line(None, line);
            }
            builder.build().ok().map(|gi| (dir.to_string(), gi))
        })
        .collect()
}

/// True when a Next.js config has `rewrites` (which may proxy `/api`).
fn rewrites_api(root: &RepoRoot, paths: &[&str]) -> bool {
    paths
        .iter()
        .filter(|p| {
            let name = p.rsplit('/').next().unwrap_or(p);
            name.starts_with("next.config.")
        })
        .any(|p| {
            root.read_text(p, 256 * 1024)
                .is_ok_and(|t| t.contains("rewrites"))
        })
}

/// The directories the schema's generators write to, repository-relative
/// (`output` is relative to the schema file).
fn generator_outputs(schema: &PrismaSchema, main_file: &str) -> Vec<String> {
    schema
        .generators
        .iter()
        .filter_map(|g| g.get_str("output"))
        .filter_map(|out| join(parent_dir(main_file), &out))
        .collect()
}
