//! Where the schema is, looked up the way the Prisma CLI does: an explicit
//! path (repo config), `prisma.config.ts` `schema`, package.json
//! `prisma.schema`, then `prisma/schema.prisma`, `schema.prisma`, the
//! multi-file `prisma/schema/` folder, and finally monorepo packages
//! (`packages/db/prisma/schema.prisma`). A path may name a file or a folder
//! of `.prisma` files. Only reads small config files.

use std::sync::OnceLock;

use regex::Regex;
use serde::{Deserialize, Serialize};

use super::super::imports::{join, parent_dir};
use super::super::read::RepoRoot;

/// Largest prisma.config.ts read.
const MAX_CONFIG_BYTES: u64 = 64 * 1024;

/// Config files that may carry `schema: "…"`.
const PRISMA_CONFIGS: &[&str] = &[
    "prisma.config.ts",
    "prisma.config.mts",
    "prisma.config.js",
    "prisma.config.mjs",
    ".config/prisma.ts",
];

/// What told us where the schema is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SchemaSource {
    /// The path given in options (repository config).
    Configured,
    /// `schema` in prisma.config.ts (or .js/.mts).
    PrismaConfig,
    /// `prisma.schema` in package.json.
    PackageJson,
    /// A default location (`prisma/schema.prisma`, `schema.prisma`, `prisma/schema/`).
    Default,
    /// A package of a monorepo.
    Monorepo,
}

/// The schema files found and how.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SchemaLocation {
    /// Repository-relative `.prisma` files, main file first.
    pub files: Vec<String>,
    /// How they were found.
    pub source: SchemaSource,
}

/// Finds the schema. `prisma_files` are all `.prisma` files the walk found
/// (sorted); `explicit` is a configured path; `package_json_schema` is
/// package.json's `prisma.schema`.
pub(crate) fn locate(
    root: &RepoRoot,
    prisma_files: &[&str],
    explicit: Option<&str>,
    package_json_schema: Option<&str>,
) -> Option<SchemaLocation> {
    let found = |path: &str, source: SchemaSource| {
        resolve_path(path, prisma_files, root).map(|files| SchemaLocation { files, source })
    };
    if let Some(loc) = explicit.and_then(|p| found(p, SchemaSource::Configured)) {
        return Some(loc);
    }
    for config in PRISMA_CONFIGS {
        let Ok(text) = root.read_text(config, MAX_CONFIG_BYTES) else {
            continue;
        };
        if let Some(path) = config_schema_path(&text) {
            let base = if config.starts_with(".config/") {
                ""
            } else {
                parent_dir(config)
            };
            if let Some(loc) = join(base, &path).and_then(|p| found(&p, SchemaSource::PrismaConfig))
            {
                return Some(loc);
            }
        }
    }
    if let Some(loc) = package_json_schema.and_then(|p| found(p, SchemaSource::PackageJson)) {
        return Some(loc);
    }
    if prisma_files.contains(&"prisma/schema.prisma") {
        // A multi-file schema keeps its other files beside or below the main one.
        let mut files = vec!["prisma/schema.prisma".to_string()];
        files.extend(
            prisma_files
                .iter()
                .filter(|f| f.starts_with("prisma/") && **f != "prisma/schema.prisma")
                .filter(|f| !f.starts_with("prisma/migrations/"))
                .map(|f| f.to_string()),
        );
        return Some(SchemaLocation {
            files,
            source: SchemaSource::Default,
        });
    }
    for default in ["schema.prisma", "prisma/schema"] {
        if let Some(loc) = found(default, SchemaSource::Default) {
            return Some(loc);
        }
    }
    // Monorepo: the shallowest `prisma` folder (or schema file) in a package.
    let mut best: Option<(usize, String)> = None;
    for file in prisma_files {
        if file.contains("/migrations/") || file.split('/').count() > 6 {
            continue;
        }
        let dir = match file.find("/prisma/") {
            Some(i) => file[..i + "/prisma".len()].to_string(),
            None => parent_dir(file).to_string(),
        };
        let depth = dir.split('/').count();
        if best
            .as_ref()
            .is_none_or(|(d, b)| depth < *d || (depth == *d && dir < *b))
        {
            best = Some((depth, dir));
        }
    }
    let (_, dir) = best?;
    let prefix = format!("{dir}/");
    let main = format!("{dir}/schema.prisma");
    let mut files: Vec<String> = prisma_files
        .iter()
        .filter(|f| f.starts_with(&prefix) && !f.contains("/migrations/"))
        .map(|f| f.to_string())
        .collect();
    if let Some(pos) = files.iter().position(|f| *f == main) {
        let m = files.remove(pos);
        files.insert(0, m);
    }
    (!files.is_empty()).then_some(SchemaLocation {
        files,
        source: SchemaSource::Monorepo,
    })
}

/// A configured path: a `.prisma` file, or a folder of them.
fn resolve_path(path: &str, prisma_files: &[&str], root: &RepoRoot) -> Option<Vec<String>> {
    let path = join("", path)?;
    if path.ends_with(".prisma") {
        if prisma_files.contains(&path.as_str()) || root.is_file(&path) {
            // A main file in a folder with others is a multi-file schema.
            let dir = parent_dir(&path);
            let mut files = vec![path.clone()];
            if !dir.is_empty() {
                let prefix = format!("{dir}/");
                files.extend(
                    prisma_files
                        .iter()
                        .filter(|f| f.starts_with(&prefix) && **f != path)
                        .filter(|f| !f.contains("/migrations/"))
                        .map(|f| f.to_string()),
                );
            }
            return Some(files);
        }
        return None;
    }
    let prefix = if path.is_empty() {
        String::new()
    } else {
        format!("{path}/")
    };
    let mut files: Vec<String> = prisma_files
        .iter()
        .filter(|f| f.starts_with(&prefix) && !f.contains("/migrations/"))
        .map(|f| f.to_string())
        .collect();
    if let Some(pos) = files.iter().position(|f| f.ends_with("/schema.prisma")) {
        let main = files.remove(pos);
        files.insert(0, main);
    }
    (!files.is_empty()).then_some(files)
}

/// The `schema` value of a prisma.config.ts: a string literal, or
/// `path.join("prisma", "schema")` of literals.
pub(crate) fn config_schema_path(text: &str) -> Option<String> {
    static LITERAL: OnceLock<Option<Regex>> = OnceLock::new();
    static JOINED: OnceLock<Option<Regex>> = OnceLock::new();
    static STRING: OnceLock<Option<Regex>> = OnceLock::new();
    let literal = LITERAL
        .get_or_init(|| Regex::new(r#"\bschema\s*:\s*["'`]([^"'`\n]+)["'`]"#).ok())
        .as_ref()?;
    if let Some(c) = literal.captures(text) {
        return c.get(1).map(|m| m.as_str().to_string());
    }
    let joined = JOINED
        .get_or_init(|| Regex::new(r"\bschema\s*:\s*path\.(?:join|resolve)\(([^)]*)\)").ok())
        .as_ref()?;
    let args = joined.captures(text)?.get(1)?.as_str();
    let string = STRING
        .get_or_init(|| Regex::new(r#"["'`]([^"'`\n]+)["'`]"#).ok())
        .as_ref()?;
    let parts: Vec<&str> = string
        .captures_iter(args)
        .filter_map(|c| c.get(1).map(|m| m.as_str()))
        .collect();
    (!parts.is_empty()).then(|| parts.join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    fn locate_in(
        files: &[(&str, &str)],
        explicit: Option<&str>,
        pj: Option<&str>,
    ) -> Option<SchemaLocation> {
        let dir = tempfile::tempdir().expect("tempdir");
        for (path, text) in files {
            let p = dir.path().join(path);
            fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
            fs::write(p, text).expect("write");
        }
        let root = RepoRoot::new(dir.path()).expect("root");
        let mut prisma: Vec<&str> = files
            .iter()
            .map(|(p, _)| *p)
            .filter(|p| p.ends_with(".prisma"))
            .collect();
        prisma.sort();
        locate(&root, &prisma, explicit, pj)
    }

    fn files(loc: Option<SchemaLocation>) -> Vec<String> {
        loc.map(|l| l.files).unwrap_or_default()
    }

    #[test]
    fn default_location_with_models_folder_is_one_schema() {
        let loc = locate_in(
            &[
                ("prisma/schema.prisma", ""),
                ("prisma/models/user.prisma", ""),
                ("prisma/models/post.prisma", ""),
                ("prisma/migrations/x/migration.sql", ""),
            ],
            None,
            None,
        );
        assert_eq!(
            files(loc),
            [
                "prisma/schema.prisma",
                "prisma/models/post.prisma",
                "prisma/models/user.prisma"
            ]
        );
    }

    #[test]
    fn multi_file_schema_folder_is_found() {
        let loc = locate_in(
            &[
                ("prisma/schema/user.prisma", ""),
                ("prisma/schema/schema.prisma", ""),
            ],
            None,
            None,
        );
        assert_eq!(
            files(loc),
            ["prisma/schema/schema.prisma", "prisma/schema/user.prisma"]
        );
    }

    #[test]
    fn package_json_and_prisma_config_paths_are_followed() {
        let loc = locate_in(&[("db/main.prisma", "")], None, Some("./db/main.prisma"));
        assert_eq!(
            loc.as_ref().map(|l| l.source.clone()),
            Some(SchemaSource::PackageJson)
        );
        assert_eq!(files(loc), ["db/main.prisma"]);

        let loc = locate_in(
            &[
                (
                    "prisma.config.ts",
                    "import path from 'node:path'\nexport default defineConfig({\n  schema: path.join(\"database\", \"schema\"),\n})\n",
                ),
                ("database/schema/a.prisma", ""),
                ("database/schema/b.prisma", ""),
            ],
            None,
            None,
        );
        assert_eq!(
            loc.as_ref().map(|l| l.source.clone()),
            Some(SchemaSource::PrismaConfig)
        );
        assert_eq!(
            files(loc),
            ["database/schema/a.prisma", "database/schema/b.prisma"]
        );
    }

    #[test]
    fn monorepo_package_schema_is_found() {
        let loc = locate_in(
            &[
                ("packages/db/prisma/schema.prisma", ""),
                ("apps/web/legacy/prisma/schema.prisma", ""),
            ],
            None,
            None,
        );
        assert_eq!(
            loc.as_ref().map(|l| l.source.clone()),
            Some(SchemaSource::Monorepo)
        );
        assert_eq!(files(loc), ["packages/db/prisma/schema.prisma"]);
    }

    #[test]
    fn configured_path_wins_and_missing_schema_is_none() {
        let loc = locate_in(
            &[("prisma/schema.prisma", ""), ("other/s.prisma", "")],
            Some("other/s.prisma"),
            None,
        );
        assert_eq!(files(loc), ["other/s.prisma"]);
        assert_eq!(locate_in(&[("README.md", "")], None, None), None);
    }

    #[test]
    fn prisma_config_literal_schema() {
        assert_eq!(
            config_schema_path("export default { schema: 'prisma/app.prisma' }").as_deref(),
            Some("prisma/app.prisma")
        );
        assert_eq!(config_schema_path("export default {}"), None);
    }
}
