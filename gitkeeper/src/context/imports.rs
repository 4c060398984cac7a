//! The TS/JS import graph: which files a file imports and which import it.
//! Specifiers come from the scanner (`import … from`, `import '…'`,
//! `export … from`, `require(…)`, `import(…)`); relative ones resolve against
//! the files the walk found (extensions, `index.*`, `.js`→`.ts`), the rest
//! through the nearest tsconfig's `paths`/`baseUrl`, and what remains is a
//! package. Resolution is pure lookup in memory: it never touches the disk.

use std::collections::{HashMap, HashSet, VecDeque};

use serde::{Deserialize, Serialize};

use super::scan::{self, Syntax};
use super::tsconfig::TsConfig;

/// How a module is brought in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ImportKind {
    /// `import x from '…'` / `import type … from '…'`.
    Static,
    /// `import '…'` for side effects only.
    SideEffect,
    /// `export … from '…'`.
    ReExport,
    /// `require('…')`.
    Require,
    /// `import('…')`.
    Dynamic,
}

/// One import statement's specifier.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportRef {
    /// The module specifier as written (`./session`, `@/lib/db`, `react`).
    pub specifier: String,
    /// Which syntax brought it in.
    pub kind: ImportKind,
    /// 1-based line of the specifier.
    pub line: u32,
}

/// Where a specifier leads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "name")]
pub enum ImportTarget {
    /// A file of the repository (repository-relative path).
    File(String),
    /// An npm package (`react`, `@prisma/client`), by package name.
    Package(String),
    /// A Node.js built-in module (`fs`, `node:path`).
    Builtin(String),
    /// Relative or aliased, but no such file exists.
    Unresolved,
}

/// Extracts the import specifiers of a JS/TS source text.
pub fn extract_imports(source: &str) -> Vec<ImportRef> {
    scan::scan(source.as_bytes(), Syntax::Script, &Default::default()).imports
}

/// Extensions tried, in order, for an extensionless specifier.
const EXTENSIONS: &[&str] = &[
    ".ts", ".tsx", ".d.ts", ".js", ".jsx", ".mjs", ".cjs", ".mts", ".cts", ".vue", ".svelte",
    ".json",
];

/// Node.js built-in modules (without the `node:` prefix).
const NODE_BUILTINS: &[&str] = &[
    "assert",
    "async_hooks",
    "buffer",
    "child_process",
    "cluster",
    "console",
    "constants",
    "crypto",
    "dgram",
    "diagnostics_channel",
    "dns",
    "domain",
    "events",
    "fs",
    "http",
    "http2",
    "https",
    "inspector",
    "module",
    "net",
    "os",
    "path",
    "perf_hooks",
    "process",
    "punycode",
    "querystring",
    "readline",
    "repl",
    "stream",
    "string_decoder",
    "sys",
    "timers",
    "tls",
    "trace_events",
    "tty",
    "url",
    "util",
    "v8",
    "vm",
    "wasi",
    "worker_threads",
    "zlib",
];

/// Built-ins that exist only with the `node:` prefix.
const PREFIX_ONLY_BUILTINS: &[&str] = &["test", "sea", "sqlite"];

/// True for Node.js built-in modules (`fs`, `fs/promises`, `node:test`); a
/// `node:` name that Node does not have (`node:fsx`) is not one.
pub fn is_node_builtin(specifier: &str) -> bool {
    if let Some(rest) = specifier.strip_prefix("node:") {
        let head = rest.split('/').next().unwrap_or(rest);
        return NODE_BUILTINS.contains(&head) || PREFIX_ONLY_BUILTINS.contains(&head);
    }
    let head = specifier.split('/').next().unwrap_or(specifier);
    NODE_BUILTINS.contains(&head) && !PREFIX_ONLY_BUILTINS.contains(&head)
}

/// True for `./x`, `../x`, `.` and `..`.
pub fn is_relative(specifier: &str) -> bool {
    specifier.starts_with("./")
        || specifier.starts_with("../")
        || specifier == "."
        || specifier == ".."
}

/// The npm package a bare specifier belongs to (`@a/b/c` → `@a/b`, `lodash/fp` → `lodash`).
pub fn package_name(specifier: &str) -> Option<&str> {
    let valid_start = |s: &str| {
        s.bytes()
            .next()
            .is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
    };
    let mut parts = specifier.splitn(3, '/');
    let first = parts.next()?;
    if let Some(scope) = first.strip_prefix('@') {
        let second = parts.next()?;
        if !valid_start(scope) || second.is_empty() {
            return None;
        }
        let len = first.len() + 1 + second.len();
        Some(&specifier[..len])
    } else if valid_start(first) {
        Some(first)
    } else {
        None
    }
}

/// Resolves specifiers against the repository's files and tsconfigs.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Resolver {
    files: HashSet<String>,
    /// tsconfigs by the directory they sit in ("" = root).
    tsconfigs: HashMap<String, TsConfig>,
}

impl Resolver {
    /// A resolver over these repository files (relative `/` paths) and tsconfigs.
    pub fn new(files: impl IntoIterator<Item = String>, tsconfigs: Vec<TsConfig>) -> Self {
        let tsconfigs = tsconfigs
            .into_iter()
            .map(|t| (parent_dir(&t.path).to_string(), t))
            .collect();
        Self {
            files: files.into_iter().collect(),
            tsconfigs,
        }
    }

    /// Where `specifier`, imported from the file `from`, leads.
    pub fn resolve(&self, from: &str, specifier: &str) -> ImportTarget {
        for base in self.module_paths(from, specifier) {
            if let Some(file) = self.find_file(&base) {
                return ImportTarget::File(file);
            }
        }
        if is_relative(specifier) || specifier.starts_with('/') {
            return ImportTarget::Unresolved;
        }
        if is_node_builtin(specifier) {
            return ImportTarget::Builtin(specifier.trim_start_matches("node:").to_string());
        }
        match package_name(specifier) {
            Some(name) => ImportTarget::Package(name.to_string()),
            None => ImportTarget::Unresolved,
        }
    }

    /// The repository paths (before extensions and `index.*`) that
    /// `specifier` may name from `from`: the joined relative path, or the
    /// governing tsconfig's alias targets and `baseUrl` path. Empty for
    /// packages when no tsconfig applies.
    pub fn module_paths(&self, from: &str, specifier: &str) -> Vec<String> {
        if is_relative(specifier) {
            return join(parent_dir(from), specifier).into_iter().collect();
        }
        if specifier.starts_with('/') {
            return Vec::new();
        }
        let Some(ts) = self.tsconfig_for(from) else {
            return Vec::new();
        };
        let mut paths = ts.alias_candidates(specifier);
        if let Some(base_url) = &ts.base_url {
            let base = if base_url.is_empty() {
                specifier.to_string()
            } else {
                format!("{base_url}/{specifier}")
            };
            paths.extend(join("", &base));
        }
        paths
    }

    /// True when `path` is one of the repository files the resolver knows.
    pub fn has_file(&self, path: &str) -> bool {
        self.files.contains(path)
    }

    /// The tsconfig that governs `file`: the nearest one in its directory or above.
    pub fn tsconfig_for(&self, file: &str) -> Option<&TsConfig> {
        nearest(file, |dir| self.tsconfigs.get(dir))
    }

    /// The file a module path names: itself, with an extension, a `.js`
    /// written for a `.ts` source, or a directory's `index.*`.
    fn find_file(&self, base: &str) -> Option<String> {
        let base = base.trim_end_matches('/');
        if self.files.contains(base) {
            return Some(base.to_string());
        }
        for ext in EXTENSIONS {
            let candidate = format!("{base}{ext}");
            if self.files.contains(&candidate) {
                return Some(candidate);
            }
        }
        for (js, ts) in [
            (".js", ".ts"),
            (".js", ".tsx"),
            (".jsx", ".tsx"),
            (".mjs", ".mts"),
            (".cjs", ".cts"),
        ] {
            if let Some(stem) = base.strip_suffix(js) {
                let candidate = format!("{stem}{ts}");
                if self.files.contains(&candidate) {
                    return Some(candidate);
                }
            }
        }
        let prefix = if base.is_empty() {
            String::new()
        } else {
            format!("{base}/")
        };
        for ext in EXTENSIONS {
            let candidate = format!("{prefix}index{ext}");
            if self.files.contains(&candidate) {
                return Some(candidate);
            }
        }
        None
    }
}

/// The first of `file`'s directories, nearest first up to the root (`""`),
/// for which `lookup` finds something.
pub(crate) fn nearest<'a, T>(file: &str, lookup: impl Fn(&str) -> Option<&'a T>) -> Option<&'a T> {
    let mut dir = parent_dir(file);
    loop {
        if let Some(found) = lookup(dir) {
            return Some(found);
        }
        if dir.is_empty() {
            return None;
        }
        dir = parent_dir(dir);
    }
}

/// The directory part of a relative path ("" for top-level files).
pub(crate) fn parent_dir(path: &str) -> &str {
    path.rfind('/').map_or("", |i| &path[..i])
}

/// Joins `rel` onto `dir`, resolving `.` and `..`; `None` if it leaves the root.
pub(crate) fn join(dir: &str, rel: &str) -> Option<String> {
    let mut parts: Vec<&str> = dir.split('/').filter(|p| !p.is_empty()).collect();
    for part in rel.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            p => parts.push(p),
        }
    }
    Some(parts.join("/"))
}

/// Which way an import edge was followed from a seed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// The seed (transitively) imports this file.
    ImportedBySeed,
    /// This file (transitively) imports the seed.
    ImportsSeed,
}

/// A file reached from a seed through imports.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Related {
    /// Index of the reached file.
    pub file: usize,
    /// Number of import edges between it and the seed (1 or more).
    pub hops: usize,
    /// Index of the seed it was reached from.
    pub seed: usize,
    /// Whether it was reached along imports or against them.
    pub direction: Direction,
}

/// Import edges between files, both ways, by file index.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportGraph {
    /// For each file, the files it imports.
    pub imports: Vec<Vec<usize>>,
    /// For each file, the files that import it.
    pub importers: Vec<Vec<usize>>,
}

impl ImportGraph {
    /// Builds the graph: `files[i]` is a path and its import specifiers.
    pub fn build<'a>(
        files: impl IntoIterator<Item = (&'a str, &'a [ImportRef])>,
        resolver: &Resolver,
    ) -> (Self, Vec<String>) {
        let files: Vec<(&str, &[ImportRef])> = files.into_iter().collect();
        let index: HashMap<&str, usize> = files
            .iter()
            .enumerate()
            .map(|(i, (p, _))| (*p, i))
            .collect();
        let mut graph = ImportGraph {
            imports: vec![Vec::new(); files.len()],
            importers: vec![Vec::new(); files.len()],
        };
        let mut packages = HashSet::new();
        for (i, (path, refs)) in files.iter().enumerate() {
            for r in refs.iter() {
                match resolver.resolve(path, &r.specifier) {
                    ImportTarget::File(target) => {
                        if let Some(&j) = index.get(target.as_str()) {
                            if j != i && !graph.imports[i].contains(&j) {
                                graph.imports[i].push(j);
                                graph.importers[j].push(i);
                            }
                        }
                    }
                    ImportTarget::Package(name) => {
                        packages.insert(name);
                    }
                    ImportTarget::Builtin(_) | ImportTarget::Unresolved => {}
                }
            }
        }
        let mut packages: Vec<String> = packages.into_iter().collect();
        packages.sort();
        (graph, packages)
    }

    /// Files within `max_hops` import edges of the seeds, in both directions
    /// (never mixing directions on one path), nearest first.
    pub fn within_hops(&self, seeds: &[usize], max_hops: usize) -> Vec<Related> {
        let mut found: Vec<Related> = Vec::new();
        let mut seen: HashSet<usize> = seeds.iter().copied().collect();
        for direction in [Direction::ImportedBySeed, Direction::ImportsSeed] {
            let edges = match direction {
                Direction::ImportedBySeed => &self.imports,
                Direction::ImportsSeed => &self.importers,
            };
            let mut queue: VecDeque<(usize, usize, usize)> =
                seeds.iter().map(|&s| (s, s, 0)).collect();
            let mut visited: HashSet<usize> = seeds.iter().copied().collect();
            while let Some((file, seed, hops)) = queue.pop_front() {
                if hops == max_hops {
                    continue;
                }
                for &next in edges.get(file).map_or(&[][..], Vec::as_slice) {
                    if !visited.insert(next) {
                        continue;
                    }
                    queue.push_back((next, seed, hops + 1));
                    if seen.insert(next) {
                        found.push(Related {
                            file: next,
                            hops: hops + 1,
                            seed,
                            direction,
                        });
                    }
                }
            }
        }
        found.sort_by_key(|r| r.hops);
        found
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::context::tsconfig::PathAlias;

    fn resolver(files: &[&str], tsconfigs: Vec<TsConfig>) -> Resolver {
        Resolver::new(files.iter().map(|s| s.to_string()), tsconfigs)
    }

    fn tsconfig(path: &str, base_url: Option<&str>, aliases: &[(&str, &[&str])]) -> TsConfig {
        TsConfig {
            path: path.to_string(),
            base_url: base_url.map(str::to_string),
            paths: aliases
                .iter()
                .map(|(p, t)| PathAlias {
                    pattern: p.to_string(),
                    targets: t.iter().map(|s| s.to_string()).collect(),
                })
                .collect(),
            ..TsConfig::default()
        }
    }

    #[test]
    fn relative_import_resolves_extensions_and_index_files() {
        let r = resolver(
            &[
                "src/app/page.tsx",
                "src/lib/session.ts",
                "src/components/index.ts",
                "src/util.js",
            ],
            vec![],
        );
        let file = |s: &str| ImportTarget::File(s.to_string());
        assert_eq!(
            r.resolve("src/app/page.tsx", "../lib/session"),
            file("src/lib/session.ts")
        );
        assert_eq!(
            r.resolve("src/app/page.tsx", "../components"),
            file("src/components/index.ts")
        );
        assert_eq!(
            r.resolve("src/app/page.tsx", "../lib/session.js"),
            file("src/lib/session.ts")
        );
        assert_eq!(
            r.resolve("src/app/page.tsx", "../util.js"),
            file("src/util.js")
        );
        assert_eq!(
            r.resolve("src/app/page.tsx", "./missing"),
            ImportTarget::Unresolved
        );
        assert_eq!(
            r.resolve("src/app/page.tsx", "../../../x"),
            ImportTarget::Unresolved
        );
    }

    #[test]
    fn alias_import_resolves_to_src_file() {
        let r = resolver(
            &["src/lib/db.ts", "src/app/page.tsx", "tsconfig.json"],
            vec![tsconfig("tsconfig.json", None, &[("@/*", &["src/*"])])],
        );
        assert_eq!(
            r.resolve("src/app/page.tsx", "@/lib/db"),
            ImportTarget::File("src/lib/db.ts".into())
        );
        assert_eq!(
            r.resolve("src/app/page.tsx", "@/lib/nope"),
            ImportTarget::Unresolved
        );
    }

    #[test]
    fn base_url_resolves_bare_paths_before_packages() {
        let r = resolver(
            &["src/components/Button.tsx", "src/app.ts"],
            vec![tsconfig("tsconfig.json", Some("src"), &[])],
        );
        assert_eq!(
            r.resolve("src/app.ts", "components/Button"),
            ImportTarget::File("src/components/Button.tsx".into())
        );
        assert_eq!(
            r.resolve("src/app.ts", "react"),
            ImportTarget::Package("react".into())
        );
    }

    #[test]
    fn nearest_tsconfig_governs_a_monorepo_package() {
        let r = resolver(
            &[
                "apps/web/src/lib/db.ts",
                "apps/web/src/page.ts",
                "src/lib/db.ts",
            ],
            vec![
                tsconfig("tsconfig.json", None, &[("@/*", &["src/*"])]),
                tsconfig(
                    "apps/web/tsconfig.json",
                    None,
                    &[("@/*", &["apps/web/src/*"])],
                ),
            ],
        );
        assert_eq!(
            r.resolve("apps/web/src/page.ts", "@/lib/db"),
            ImportTarget::File("apps/web/src/lib/db.ts".into())
        );
    }

    #[test]
    fn bare_specifiers_are_packages_or_builtins() {
        let r = resolver(&[], vec![]);
        assert_eq!(
            r.resolve("a.ts", "@prisma/client"),
            ImportTarget::Package("@prisma/client".into())
        );
        assert_eq!(
            r.resolve("a.ts", "lodash/fp"),
            ImportTarget::Package("lodash".into())
        );
        assert_eq!(
            r.resolve("a.ts", "node:fs"),
            ImportTarget::Builtin("fs".into())
        );
        assert_eq!(
            r.resolve("a.ts", "fs/promises"),
            ImportTarget::Builtin("fs/promises".into())
        );
        assert_eq!(package_name("@scope"), None);
        assert_eq!(r.resolve("a.ts", "@/lib/x"), ImportTarget::Unresolved);
        assert_eq!(r.resolve("a.ts", "~/lib/x"), ImportTarget::Unresolved);
        assert_eq!(r.resolve("a.ts", "#internal"), ImportTarget::Unresolved);
    }

    #[test]
    fn hops_walk_both_directions_nearest_first() {
        // 0 -> 1 -> 2, 3 -> 0, 4 -> 3
        let files = ["a.ts", "b.ts", "c.ts", "d.ts", "e.ts"];
        let refs: Vec<Vec<ImportRef>> =
            [vec!["./b"], vec!["./c"], vec![], vec!["./a"], vec!["./d"]]
                .into_iter()
                .map(|specs| {
                    specs
                        .into_iter()
                        .map(|s| ImportRef {
                            specifier: s.to_string(),
                            kind: ImportKind::Static,
                            line: 1,
                        })
                        .collect()
                })
                .collect();
        let r = resolver(&files, vec![]);
        let (graph, _) =
            ImportGraph::build(files.iter().zip(&refs).map(|(p, r)| (*p, r.as_slice())), &r);
        let related = graph.within_hops(&[0], 2);
        let got: Vec<(usize, usize, Direction)> = related
            .iter()
            .map(|r| (r.file, r.hops, r.direction))
            .collect();
        assert_eq!(
            got,
            [
                (1, 1, Direction::ImportedBySeed),
                (3, 1, Direction::ImportsSeed),
                (2, 2, Direction::ImportedBySeed),
                (4, 2, Direction::ImportsSeed),
            ]
        );
        assert_eq!(graph.within_hops(&[0], 1).len(), 2);
    }
}
