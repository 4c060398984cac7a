//! `local_only_paths`: repository paths whose content must never reach a
//! paid (cloud) model. The operator lists globs in `[privacy]`, a repository
//! adds its own in `.github/gitkeeper.yml` (`privacy.local_only_paths`, read
//! on the base commit); a task whose context or change touches one is routed
//! to local tiers only, and the generation loop refuses any paid call for it.
//!
//! Must never: match less than the patterns say (a pattern that is not a
//! glob is an error, not ignored), or read the patterns from an attempt's tree.

use globset::{GlobBuilder, GlobSet, GlobSetBuilder};

use crate::models::ModelSettings;

/// A `local_only_paths` pattern that is not a glob.
#[derive(Debug, thiserror::Error)]
#[error(
    "local_only_paths pattern `{pattern}` is not a valid glob ({source}); fix it in [privacy] local_only_paths of gitkeeper.toml or privacy.local_only_paths of .github/gitkeeper.yml"
)]
pub struct LocalOnlyError {
    pub pattern: String,
    #[source]
    pub source: globset::Error,
}

/// The globs of paths kept off paid models.
#[derive(Debug, Clone)]
pub struct LocalOnly {
    patterns: Vec<String>,
    set: GlobSet,
}

impl Default for LocalOnly {
    fn default() -> Self {
        Self {
            patterns: Vec::new(),
            set: GlobSet::empty(),
        }
    }
}

impl LocalOnly {
    /// Patterns as in `.gitignore`: `secrets/` is the folder and all below
    /// it, a pattern without `/` (`*.pem`) matches a file name at any
    /// depth, any other is a glob over the repository-relative path
    /// (`config/prod/**`, `src/billing/*.ts`).
    pub fn new<I, S>(patterns: I) -> Result<Self, LocalOnlyError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut kept = Vec::new();
        let mut builder = GlobSetBuilder::new();
        for pattern in patterns {
            let pattern = pattern.as_ref().trim();
            if pattern.is_empty() || kept.iter().any(|p| p == pattern) {
                continue;
            }
            let bare = pattern.trim_start_matches('/');
            let globs = if let Some(dir) = bare.strip_suffix('/') {
                vec![format!("{dir}/**")]
            } else if !bare.contains('/') {
                vec![bare.to_string(), format!("**/{bare}")]
            } else {
                vec![bare.to_string()]
            };
            for glob in globs {
                let glob = GlobBuilder::new(&glob)
                    .literal_separator(true)
                    .build()
                    .map_err(|source| LocalOnlyError {
                        pattern: pattern.to_string(),
                        source,
                    })?;
                builder.add(glob);
            }
            kept.push(pattern.to_string());
        }
        let set = builder.build().map_err(|source| LocalOnlyError {
            pattern: kept.join(", "),
            source,
        })?;
        Ok(Self {
            patterns: kept,
            set,
        })
    }

    /// No path is local-only.
    pub fn is_empty(&self) -> bool {
        self.patterns.is_empty()
    }

    pub fn patterns(&self) -> &[String] {
        &self.patterns
    }

    /// The paths among `paths` that are local-only, sorted, each once.
    pub fn matching<'a>(&self, paths: impl IntoIterator<Item = &'a str>) -> Vec<String> {
        if self.is_empty() {
            return Vec::new();
        }
        let mut hits: Vec<String> = paths
            .into_iter()
            .map(|p| p.trim_start_matches("./"))
            .filter(|p| self.set.is_match(p))
            .map(str::to_string)
            .collect();
        hits.sort();
        hits.dedup();
        hits
    }
}

/// Where a model's prompts go, for the ledger: the backend and the host of
/// its endpoint (`anthropic api.anthropic.com`, `ollama 127.0.0.1:11434`).
pub fn provider(settings: &ModelSettings) -> String {
    let endpoint = settings.resolved_endpoint(&|name| std::env::var(name).ok());
    let host = url::Url::parse(&endpoint)
        .ok()
        .and_then(|u| {
            u.host_str()
                .map(|h| u.port().map_or(h.to_string(), |p| format!("{h}:{p}")))
        })
        .unwrap_or(endpoint);
    format!("{} {host}", settings.backend)
}

/// The repository paths a unified diff changes (either side of a rename).
pub fn diff_paths(diff: &str) -> Vec<String> {
    let mut paths: Vec<String> = diff
        .lines()
        .filter_map(|line| {
            line.strip_prefix("+++ b/")
                .or_else(|| line.strip_prefix("--- a/"))
                .or_else(|| line.strip_prefix("rename from "))
                .or_else(|| line.strip_prefix("rename to "))
        })
        .map(|p| p.trim().to_string())
        .filter(|p| !p.is_empty())
        .collect();
    paths.sort();
    paths.dedup();
    paths
}

/// One line naming at most five paths, for reports.
pub fn list(paths: &[String]) -> String {
    let shown: Vec<String> = paths.iter().take(5).map(|p| format!("`{p}`")).collect();
    match paths.len() {
        n if n > 5 => format!("{} and {} more", shown.join(", "), n - 5),
        _ => shown.join(", "),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folders_names_and_globs_match_like_gitignore() {
        let local = LocalOnly::new(["secrets/", "*.pem", "src/billing/*.ts"]).unwrap();
        let hits = local.matching([
            "secrets/prod/key.txt",
            "deploy/tls/server.pem",
            "server.pem",
            "src/billing/charge.ts",
            "src/billing/deep/charge.ts",
            "src/greet.ts",
            "notsecrets/a.txt",
        ]);
        assert_eq!(
            hits,
            [
                "deploy/tls/server.pem",
                "secrets/prod/key.txt",
                "server.pem",
                "src/billing/charge.ts"
            ]
        );
    }

    #[test]
    fn a_pattern_that_is_no_glob_is_an_error_naming_it() {
        let err = LocalOnly::new(["src/[oops"]).unwrap_err().to_string();
        assert!(err.contains("`src/[oops`"), "{err}");
        assert!(err.contains("[privacy] local_only_paths"), "{err}");
    }

    #[test]
    fn a_diff_names_both_sides_of_a_rename_and_new_files() {
        let diff = "diff --git a/a.ts b/b.ts\nrename from a.ts\nrename to b.ts\n--- /dev/null\n+++ b/new.ts\n@@ -0,0 +1 @@\n+x\n";
        assert_eq!(diff_paths(diff), ["a.ts", "b.ts", "new.ts"]);
    }
}
