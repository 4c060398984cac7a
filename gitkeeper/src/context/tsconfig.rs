//! `tsconfig.json` (and `jsconfig.json`): JSON with comments and trailing
//! commas, `extends` chains (relative files and installed packages, with a
//! depth limit and cycle check), and the module-resolution settings imports
//! need: `compilerOptions.baseUrl` and `paths` aliases, resolved to
//! repository-relative paths. Reads only inside the repository.

use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::imports::{join, parent_dir};
use super::read::{RepoRoot, Skip};
use crate::SharedIoError;

/// Deepest `extends` chain followed.
const MAX_EXTENDS_DEPTH: usize = 8;
/// Largest tsconfig read.
const MAX_TSCONFIG_BYTES: u64 = 512 * 1024;

/// A path alias from `compilerOptions.paths`, e.g. `@/*` → `src/*`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PathAlias {
    /// The pattern as written (`@/*`, `config`).
    pub pattern: String,
    /// Targets, repository-relative (`src/*`).
    pub targets: Vec<String>,
}

/// A tsconfig with its `extends` chain merged.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TsConfig {
    /// Repository-relative path of this tsconfig.
    pub path: String,
    /// Configs it extends, repository-relative or as written when outside, base first.
    pub extends: Vec<String>,
    /// `baseUrl`, repository-relative (`""` is the root), if set anywhere in the chain.
    pub base_url: Option<String>,
    /// `paths` aliases with repository-relative targets.
    pub paths: Vec<PathAlias>,
    /// Merged `compilerOptions` as written (later configs override earlier ones).
    pub compiler_options: Map<String, Value>,
    /// Problems that did not stop loading (unresolvable `extends`, …).
    pub warnings: Vec<String>,
}

/// Why a tsconfig could not be loaded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[non_exhaustive]
pub enum TsConfigError {
    /// The file is missing or unreadable.
    #[error("cannot read {path}: {reason}")]
    Read {
        /// Repository-relative path.
        path: String,
        /// What went wrong.
        reason: String,
        /// The I/O error, when the reason is one (not kept when serialized).
        #[source]
        #[serde(skip)]
        source: Option<SharedIoError>,
    },
    /// The file is not JSON-with-comments.
    #[error("{path} is not valid JSON (comments and trailing commas are fine): {reason}")]
    Syntax {
        /// Repository-relative path.
        path: String,
        /// The parser's message, with position.
        reason: String,
    },
}

/// Parses JSON with comments and trailing commas (tsconfig's dialect).
pub fn parse_jsonc(text: &str) -> Result<Value, String> {
    let text = text.trim_start_matches('\u{feff}');
    json5::from_str::<Value>(text).map_err(|e| e.to_string())
}

/// Loads the tsconfig at `rel_path` inside `repo_dir`, following `extends`.
pub fn load_tsconfig(repo_dir: &Path, rel_path: &str) -> Result<TsConfig, TsConfigError> {
    let root = RepoRoot::new(repo_dir).map_err(|e| TsConfigError::Read {
        path: rel_path.to_string(),
        reason: e.to_string(),
        source: Some(e.into()),
    })?;
    load(&root, rel_path)
}

impl TsConfig {
    /// `compilerOptions.strict`, if set.
    pub fn strict(&self) -> Option<bool> {
        self.compiler_options.get("strict").and_then(Value::as_bool)
    }

    /// Module paths an aliased specifier may mean, most specific pattern first
    /// (TypeScript picks the pattern with the longest prefix).
    pub fn alias_candidates(&self, specifier: &str) -> Vec<String> {
        let mut best: Option<(usize, &PathAlias, &str)> = None;
        for alias in &self.paths {
            let matched = match alias.pattern.split_once('*') {
                Some((prefix, suffix)) => specifier
                    .strip_prefix(prefix)
                    .and_then(|rest| rest.strip_suffix(suffix))
                    .map(|star| (prefix.len(), star)),
                None => (alias.pattern == specifier).then_some((usize::MAX, "")),
            };
            if let Some((rank, star)) = matched {
                if best.is_none_or(|(r, _, _)| rank > r) {
                    best = Some((rank, alias, star));
                }
            }
        }
        let Some((_, alias, star)) = best else {
            return Vec::new();
        };
        alias
            .targets
            .iter()
            .filter_map(|t| join("", &t.replacen('*', star, 1)))
            .collect()
    }
}

/// Loads and merges one tsconfig chain.
pub(crate) fn load(root: &RepoRoot, rel: &str) -> Result<TsConfig, TsConfigError> {
    let mut chain: Vec<(String, Map<String, Value>)> = Vec::new();
    let mut warnings = Vec::new();
    let mut current = rel.to_string();
    let mut first = true;
    // Follow `extends` from the leaf to the root config, then merge base-first.
    // (A list of `extends` follows each entry; only the first one's own
    // `extends` chain continues, which covers real-world configs.)
    let mut pending: Vec<String> = Vec::new();
    loop {
        if chain.len() > MAX_EXTENDS_DEPTH {
            warnings.push(format!(
                "`extends` chain of {rel} is deeper than {MAX_EXTENDS_DEPTH}; the rest is ignored"
            ));
            break;
        }
        if chain.iter().any(|(p, _)| *p == current) {
            warnings.push(format!(
                "`extends` cycle at {current}; stopped following it"
            ));
            break;
        }
        let object = match read_object(root, &current) {
            Ok(obj) => obj,
            Err(err) if first => return Err(err),
            Err(err) => {
                warnings.push(format!("{err}; its options are ignored"));
                break;
            }
        };
        first = false;
        let extends: Vec<String> = match object.get("extends") {
            Some(Value::String(s)) => vec![s.clone()],
            Some(Value::Array(items)) => items
                .iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect(),
            _ => Vec::new(),
        };
        let dir = parent_dir(&current).to_string();
        chain.push((current.clone(), object));
        for spec in extends.iter().skip(1) {
            pending.push(resolve_extends(root, &dir, spec).unwrap_or_else(|| spec.clone()));
        }
        let Some(spec) = extends.first() else { break };
        match resolve_extends(root, &dir, spec) {
            Some(next) => current = next,
            None => {
                warnings.push(format!(
                    "{current} extends `{spec}`, which is not in the repository \
                     (install dependencies to resolve it); its options are ignored"
                ));
                break;
            }
        }
    }
    // Extra entries of an `extends` array: merged before the chain's own leaf.
    for extra in pending {
        if let Ok(obj) = read_object(root, &extra) {
            chain.insert(1.min(chain.len()), (extra, obj));
        } else {
            warnings.push(format!("cannot load extended config `{extra}`; ignored"));
        }
    }
    let mut config = TsConfig {
        path: rel.to_string(),
        warnings,
        ..TsConfig::default()
    };
    let mut paths_origin: Option<(String, Map<String, Value>)> = None;
    for (path, object) in chain.iter().rev() {
        if path != rel {
            config.extends.push(path.clone());
        }
        let Some(Value::Object(options)) = object.get("compilerOptions") else {
            continue;
        };
        let dir = parent_dir(path);
        if let Some(Value::String(base)) = options.get("baseUrl") {
            config.base_url = join(dir, base);
        }
        if let Some(Value::Object(paths)) = options.get("paths") {
            paths_origin = Some((dir.to_string(), paths.clone()));
        }
        for (key, value) in options {
            config.compiler_options.insert(key.clone(), value.clone());
        }
    }
    if let Some((dir, paths)) = paths_origin {
        // Targets are relative to baseUrl when set, else to the defining config.
        let base = config.base_url.clone().unwrap_or(dir);
        for (pattern, targets) in paths {
            let targets = match targets {
                Value::Array(items) => items
                    .iter()
                    .filter_map(Value::as_str)
                    .filter_map(|t| join(&base, t))
                    .collect(),
                Value::String(t) => join(&base, &t).into_iter().collect(),
                _ => Vec::new(),
            };
            config.paths.push(PathAlias { pattern, targets });
        }
    }
    Ok(config)
}

fn read_object(root: &RepoRoot, rel: &str) -> Result<Map<String, Value>, TsConfigError> {
    let text = root.read_text(rel, MAX_TSCONFIG_BYTES).map_err(|skip| {
        let (reason, source) = match skip {
            Skip::Missing => ("no such file".to_string(), None),
            Skip::Outside => ("it points outside the repository".to_string(), None),
            Skip::TooLarge(n) => (
                format!("{n} bytes is over the {MAX_TSCONFIG_BYTES} byte cap"),
                None,
            ),
            Skip::Binary => ("it is binary".to_string(), None),
            Skip::Io(e) => (e.to_string(), Some(e)),
        };
        TsConfigError::Read {
            path: rel.to_string(),
            reason,
            source,
        }
    })?;
    match parse_jsonc(&text) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(TsConfigError::Syntax {
            path: rel.to_string(),
            reason: "the top level is not an object".to_string(),
        }),
        Err(reason) => Err(TsConfigError::Syntax {
            path: rel.to_string(),
            reason,
        }),
    }
}

/// Resolves an `extends` value written in the config at `dir`.
fn resolve_extends(root: &RepoRoot, dir: &str, spec: &str) -> Option<String> {
    let mut candidates = Vec::new();
    if spec.starts_with("./") || spec.starts_with("../") {
        let base = join(dir, spec)?;
        candidates.push(base.clone());
        candidates.push(format!("{base}.json"));
        candidates.push(format!("{base}/tsconfig.json"));
    } else if !spec.starts_with('/') {
        // A package: look in node_modules of this directory and its ancestors.
        let mut d = dir.to_string();
        loop {
            let base = join(&d, &format!("node_modules/{spec}"))?;
            candidates.push(base.clone());
            candidates.push(format!("{base}.json"));
            candidates.push(format!("{base}/tsconfig.json"));
            if d.is_empty() {
                break;
            }
            d = parent_dir(&d).to_string();
        }
    }
    candidates.into_iter().find(|c| root.is_file(c))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    fn repo(files: &[(&str, &str)]) -> (tempfile::TempDir, RepoRoot) {
        let dir = tempfile::tempdir().expect("tempdir");
        for (path, text) in files {
            let p = dir.path().join(path);
            fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
            fs::write(p, text).expect("write");
        }
        let root = RepoRoot::new(dir.path()).expect("root");
        (dir, root)
    }

    #[test]
    fn comments_and_trailing_commas_are_accepted() {
        let (_d, root) = repo(&[(
            "tsconfig.json",
            "{\n  // the app\n  \"compilerOptions\": {\n    /* strict */ \"strict\": true,\n    \"paths\": { \"@/*\": [\"./src/*\",], },\n  },\n}\n",
        )]);
        let ts = load(&root, "tsconfig.json").expect("loads");
        assert_eq!(ts.strict(), Some(true));
        assert_eq!(
            ts.paths,
            [PathAlias {
                pattern: "@/*".into(),
                targets: vec!["src/*".into()]
            }]
        );
        assert_eq!(ts.alias_candidates("@/lib/db"), ["src/lib/db"]);
    }

    #[test]
    fn extends_merges_base_first_and_resolves_paths_where_defined() {
        let (_d, root) = repo(&[
            (
                "tsconfig.base.json",
                r#"{"compilerOptions": {"strict": true, "target": "es2020", "baseUrl": ".", "paths": {"@acme/*": ["packages/*/src"]}}}"#,
            ),
            (
                "apps/web/tsconfig.json",
                r#"{"extends": "../../tsconfig.base", "compilerOptions": {"target": "es2022"}}"#,
            ),
        ]);
        let ts = load(&root, "apps/web/tsconfig.json").expect("loads");
        assert_eq!(ts.extends, ["tsconfig.base.json"]);
        assert_eq!(ts.compiler_options["target"], "es2022");
        assert_eq!(ts.strict(), Some(true));
        assert_eq!(ts.base_url.as_deref(), Some(""));
        assert_eq!(ts.alias_candidates("@acme/ui"), ["packages/ui/src"]);
    }

    #[test]
    fn extends_cycle_and_missing_package_become_warnings() {
        let (_d, root) = repo(&[
            ("a.json", r#"{"extends": "./b.json"}"#),
            ("b.json", r#"{"extends": "./a.json"}"#),
            (
                "tsconfig.json",
                r#"{"extends": "@tsconfig/node20/tsconfig.json"}"#,
            ),
        ]);
        let ts = load(&root, "a.json").expect("loads");
        assert!(ts.warnings[0].contains("cycle"), "{:?}", ts.warnings);
        let ts = load(&root, "tsconfig.json").expect("loads");
        assert!(
            ts.warnings[0].contains("not in the repository"),
            "{:?}",
            ts.warnings
        );
    }

    #[test]
    fn installed_package_extends_is_followed() {
        let (_d, root) = repo(&[
            (
                "node_modules/@tsconfig/strictest/tsconfig.json",
                r#"{"compilerOptions": {"strict": true}}"#,
            ),
            ("tsconfig.json", r#"{"extends": "@tsconfig/strictest"}"#),
        ]);
        let ts = load(&root, "tsconfig.json").expect("loads");
        assert_eq!(ts.strict(), Some(true));
        assert!(ts.warnings.is_empty(), "{:?}", ts.warnings);
    }

    #[test]
    fn longest_alias_prefix_wins_and_exact_patterns_match() {
        let ts = TsConfig {
            paths: vec![
                PathAlias {
                    pattern: "@/*".into(),
                    targets: vec!["src/*".into()],
                },
                PathAlias {
                    pattern: "@/ui/*".into(),
                    targets: vec!["packages/ui/*".into()],
                },
                PathAlias {
                    pattern: "config".into(),
                    targets: vec!["src/config/index.ts".into()],
                },
            ],
            ..TsConfig::default()
        };
        assert_eq!(ts.alias_candidates("@/ui/button"), ["packages/ui/button"]);
        assert_eq!(ts.alias_candidates("@/lib/x"), ["src/lib/x"]);
        assert_eq!(ts.alias_candidates("config"), ["src/config/index.ts"]);
        assert!(ts.alias_candidates("react").is_empty());
    }

    #[test]
    fn invalid_json_is_an_error_naming_the_file() {
        let (_d, root) = repo(&[("tsconfig.json", "{ \"compilerOptions\": ")]);
        let err = load(&root, "tsconfig.json").expect_err("invalid");
        assert!(
            err.to_string()
                .starts_with("tsconfig.json is not valid JSON"),
            "{err}"
        );
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            #[test]
            fn arbitrary_jsonc_and_alias_lookups_never_panic(
                text in "\\PC{0,200}",
                pattern in "[@a-z/*]{0,8}",
                specifier in "[@a-z/.]{0,12}",
            ) {
                let _ = parse_jsonc(&text);
                let ts = TsConfig {
                    paths: vec![PathAlias { pattern, targets: vec!["src/*".into(), "../*".into()] }],
                    ..TsConfig::default()
                };
                let _ = ts.alias_candidates(&specifier);
            }
        }
    }
}
