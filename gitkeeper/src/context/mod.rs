//! The context package: what a model reads before changing a repository.
//!
//! [`build`] walks a checked-out repository once (in parallel, respecting
//! `.gitignore`), reads its contract (gitkeeper doc, Prisma schema,
//! package.json, tsconfig), renders a directory tree, and selects the files
//! the task needs (named, defining named identifiers, related by imports,
//! ranked by relevance) inside a token budget measured with a real
//! tokenizer. It reads only the repository directory it is given, never
//! follows symlinks out of it, never reads secrets (`.env`, keys), and never
//! touches the network. Anything malformed in the repository degrades the
//! package (a warning, a missing part); only an unreadable root is an error.

pub mod doc;
pub mod imports;
pub mod manifest;
pub mod prisma;
pub mod project;
pub mod tree;
pub mod tsconfig;

mod query;
pub(crate) mod rank;
pub(crate) mod read;
mod render;
mod scan;
mod schema_focus;
mod select;
mod trim;
pub(crate) mod walk;
mod words;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

pub use doc::{GitkeeperDoc, Rules};
/// Token counting (cl100k_base), shared with the model clients through its own crate.
pub use gitkeeper_tokens as tokens;
pub use manifest::Manifest;
pub use prisma::{PrismaSchema, SchemaError, SchemaLocation};
pub use project::Project;
pub use select::{ContractRole, OmitCause, OmittedFile, Reason, SelectedFile, Truncation};
pub use tree::Tree;
pub use tsconfig::TsConfig;

use query::Query;
use read::RepoRoot;
use select::{Candidate, Indexed, Tier};
use tokens::count_tokens;

/// Limits and locations for building a package (repository config feeds it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ContextOptions {
    /// Most files in the package, contract files included.
    pub max_files: usize,
    /// Most tokens of the rendered prompt text (cl100k_base).
    pub max_tokens: usize,
    /// Gitkeeper doc paths from the repository config (default locations otherwise).
    pub doc_paths: Vec<String>,
    /// Prisma schema path (file or folder) from the repository config.
    pub schema_path: Option<String>,
    /// Files larger than this are listed but never read for selection.
    pub max_file_bytes: u64,
    /// Depth of the directory tree.
    pub tree_depth: usize,
    /// Most lines of the directory tree.
    pub tree_max_entries: usize,
    /// Import hops followed from files named in the task.
    pub import_hops: usize,
    /// Most instruction files of other tools (AGENTS.md, …) included.
    pub max_instruction_files: usize,
    /// Most directory entries walked (a guard against enormous checkouts).
    pub max_walk_entries: usize,
}

impl Default for ContextOptions {
    fn default() -> Self {
        Self {
            max_files: 10,
            max_tokens: 12_000,
            doc_paths: Vec::new(),
            schema_path: None,
            max_file_bytes: 256 * 1024,
            tree_depth: 3,
            tree_max_entries: 200,
            import_hops: 2,
            max_instruction_files: 1,
            max_walk_entries: 200_000,
        }
    }
}

/// The Prisma schema as found and parsed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SchemaContext {
    /// Where it was found.
    pub location: SchemaLocation,
    /// The parsed schema, when it parses.
    pub schema: Option<PrismaSchema>,
    /// Why it does not parse.
    pub error: Option<SchemaError>,
    /// The compact summary given to the model.
    pub summary: String,
}

/// How the token budget was spent.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Budget {
    /// The limit on files.
    pub max_files: usize,
    /// The limit on tokens.
    pub max_tokens: usize,
    /// Tokens of the whole rendered prompt text.
    pub used_tokens: usize,
    /// Tokens spent before the files (project, schema summary, tree).
    pub overhead_tokens: usize,
    /// Files the walk could read and rank.
    pub indexed_files: usize,
    /// Wanted files left out, and why.
    pub omitted: Vec<OmittedFile>,
}

/// Everything a model reads before changing the repository.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ContextPackage {
    /// Name, version and stack.
    pub project: Project,
    /// The gitkeeper doc's rules and sections, and applicable instruction files.
    pub gitkeeper_doc: GitkeeperDoc,
    /// The Prisma schema, if the repository has one.
    pub schema: Option<SchemaContext>,
    /// package.json, if present and valid.
    pub manifest: Option<Manifest>,
    /// The root tsconfig (or jsconfig), if present and valid.
    pub tsconfig: Option<TsConfig>,
    /// The directory tree.
    pub tree: Tree,
    /// Selected files with their content, in prompt order.
    pub files: Vec<SelectedFile>,
    /// Limits and how they were spent.
    pub budget: Budget,
    /// Non-fatal problems met while building (invalid package.json, …).
    pub warnings: Vec<String>,
}

impl ContextPackage {
    /// The package as prompt text (project, schema summary, tree, files).
    pub fn render_for_prompt(&self) -> String {
        render::prompt(self)
    }

    /// The package as a report for people: what was found, which files were
    /// chosen and why, how the budget was spent.
    pub fn render_summary(&self) -> String {
        render::summary(self)
    }

    /// The package as pretty JSON (for `--json`).
    pub fn to_json(&self) -> Result<String, serde_json::Error> {
        serde_json::to_string_pretty(self)
    }

    /// The selected file at `path`, if it was selected.
    pub fn file(&self, path: &str) -> Option<&SelectedFile> {
        self.files.iter().find(|f| f.path == path)
    }

    /// Every repository path whose content (or what was read from it: the
    /// schema summary, scripts, import aliases, the doc's rules) a prompt
    /// built on this package carries, sorted, each once. The directory tree
    /// (names only) is not counted.
    pub fn sent_paths(&self) -> Vec<String> {
        let mut paths: Vec<String> = self.files.iter().map(|f| f.path.clone()).collect();
        if let Some(schema) = &self.schema {
            paths.extend(schema.location.files.iter().cloned());
        }
        paths.extend(self.manifest.iter().map(|m| m.path.clone()));
        paths.extend(self.tsconfig.iter().map(|t| t.path.clone()));
        paths.extend(self.gitkeeper_doc.paths.iter().cloned());
        paths.sort();
        paths.dedup();
        paths
    }
}

/// A file in relevance order, without content (what selection would pick first).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RankedFile {
    /// Repository-relative path.
    pub path: String,
    /// Why it ranks.
    pub reasons: Vec<Reason>,
    /// Ranking score (0 for files named in the task, which come first regardless).
    pub score: f64,
}

/// Why no package could be built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ContextError {
    /// The repository path is not a directory.
    #[error("{path} is not a directory: pass the root of a checked-out repository")]
    NotADirectory {
        /// The path given.
        path: PathBuf,
    },
    /// The repository directory cannot be read.
    #[error(
        "cannot read repository directory {path}: {source}; check that it exists and is readable"
    )]
    Unreadable {
        /// The path given.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
}

/// Largest schema, doc or instruction file read.
const MAX_CONTRACT_BYTES: u64 = 2 * 1024 * 1024;
/// Most tsconfig files loaded for import resolution.
const MAX_TSCONFIGS: usize = 32;

/// What one walk of the repository yields.
struct Scanned {
    root: RepoRoot,
    query: Query,
    /// Every walked regular file, sorted.
    all_paths: Vec<String>,
    /// Directories, sorted.
    dirs: Vec<String>,
    /// Readable, rankable files, sorted by path.
    index: Vec<Indexed>,
    capped: bool,
}

/// File extensions never worth opening.
const BINARY_EXTENSIONS: &[&str] = &[
    "png", "jpg", "jpeg", "gif", "webp", "avif", "ico", "icns", "bmp", "tif", "tiff", "psd", "pdf",
    "zip", "gz", "tgz", "bz2", "xz", "7z", "rar", "tar", "jar", "war", "class", "woff", "woff2",
    "ttf", "otf", "eot", "mp3", "mp4", "wav", "ogg", "webm", "mov", "avi", "mkv", "sqlite",
    "sqlite3", "db", "wasm", "exe", "dll", "so", "dylib", "a", "o", "pyc", "node", "bin", "dat",
    "lockb", "pack", "idx",
];

fn scan_repo(
    repo_dir: &Path,
    task: &str,
    options: &ContextOptions,
) -> Result<Scanned, ContextError> {
    let meta = std::fs::metadata(repo_dir).map_err(|source| ContextError::Unreadable {
        path: repo_dir.to_path_buf(),
        source,
    })?;
    if !meta.is_dir() {
        return Err(ContextError::NotADirectory {
            path: repo_dir.to_path_buf(),
        });
    }
    let root = RepoRoot::new(repo_dir).map_err(|source| ContextError::Unreadable {
        path: repo_dir.to_path_buf(),
        source,
    })?;
    let query = Query::parse(task);
    let max_bytes = options.max_file_bytes;
    let walked = walk::walk(&root.dir, options.max_walk_entries, |rel, abs| {
        let name = rel.rsplit('/').next().unwrap_or(rel);
        let ext = name
            .rsplit_once('.')
            .map_or("", |(_, e)| e)
            .to_ascii_lowercase();
        if walk::is_lock_file(name)
            || walk::is_generated_file(name)
            || BINARY_EXTENSIONS.contains(&ext.as_str())
        {
            return (0, None);
        }
        thread_local! {
            static BUF: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
        }
        BUF.with_borrow_mut(|buf| {
            let bytes = match read::read_bytes_into(abs, max_bytes, buf) {
                Ok(n) => &buf[..n],
                Err(read::Skip::TooLarge(size)) => return (size, None),
                Err(_) => return (0, None),
            };
            let size = bytes.len() as u64;
            // Minified or machine-written text: very long lines on average.
            let lines = memchr_count(b'\n', bytes) + 1;
            if bytes.len() > 8 * 1024 && bytes.len() / lines > 400 {
                return (size, None);
            }
            (
                size,
                Some(scan::scan(bytes, scan::Syntax::for_path(rel), &query)),
            )
        })
    });
    let mut all_paths = Vec::with_capacity(walked.files.len());
    let mut index = Vec::new();
    for file in walked.files {
        if file.symlink {
            continue;
        }
        all_paths.push(file.path.clone());
        if let Some(facts) = file.data {
            index.push(Indexed {
                path: file.path,
                size: file.size,
                facts,
            });
        }
    }
    Ok(Scanned {
        root,
        query,
        all_paths,
        dirs: walked.dirs,
        index,
        capped: walked.capped,
    })
}

fn memchr_count(needle: u8, bytes: &[u8]) -> usize {
    bytes.iter().filter(|&&b| b == needle).count()
}

/// tsconfig/jsconfig files for import resolution, root first.
pub(crate) fn load_tsconfigs(
    root: &RepoRoot,
    all_paths: &[String],
    warnings: &mut Vec<String>,
) -> Vec<TsConfig> {
    let mut found: Vec<&str> = all_paths
        .iter()
        .map(String::as_str)
        .filter(|p| {
            let name = p.rsplit('/').next().unwrap_or(p);
            name == "tsconfig.json" || name == "jsconfig.json"
        })
        .filter(|p| p.split('/').count() <= 4)
        .collect();
    found.sort_by_key(|p| (p.split('/').count(), p.ends_with("jsconfig.json"), *p));
    let mut configs: Vec<TsConfig> = Vec::new();
    for path in found.into_iter().take(MAX_TSCONFIGS) {
        let dir = imports::parent_dir(path);
        if configs.iter().any(|c| imports::parent_dir(&c.path) == dir) {
            continue; // jsconfig beside a tsconfig
        }
        match tsconfig::load(root, path) {
            Ok(config) => {
                if !dir.contains('/') {
                    warnings.extend(config.warnings.iter().cloned());
                }
                configs.push(config);
            }
            Err(err) => warnings.push(err.to_string()),
        }
    }
    configs
}

fn graph_of(scanned: &Scanned, tsconfigs: Vec<TsConfig>) -> imports::ImportGraph {
    let resolver = imports::Resolver::new(scanned.all_paths.iter().cloned(), tsconfigs);
    let (graph, _packages) = imports::ImportGraph::build(
        scanned
            .index
            .iter()
            .map(|f| (f.path.as_str(), f.facts.imports.as_slice())),
        &resolver,
    );
    graph
}

/// Ranks the repository's files for `task` without reading contents into a
/// package: what [`build`] would select first, before the budget.
pub fn rank(
    repo_dir: &Path,
    task: &str,
    options: &ContextOptions,
) -> Result<Vec<RankedFile>, ContextError> {
    let scanned = scan_repo(repo_dir, task, options)?;
    let mut warnings = Vec::new();
    let tsconfigs = load_tsconfigs(&scanned.root, &scanned.all_paths, &mut warnings);
    let graph = graph_of(&scanned, tsconfigs);
    let paths: Vec<&str> = scanned.all_paths.iter().map(String::as_str).collect();
    Ok(
        select::rank_task_files(&scanned.query, &paths, &scanned.index, &graph, options)
            .into_iter()
            .map(|c| RankedFile {
                path: c.path,
                reasons: c.reasons,
                score: c.score,
            })
            .collect(),
    )
}

/// Builds the context package for `task` from the repository at `repo_dir`.
pub fn build(
    repo_dir: &Path,
    task: &str,
    options: &ContextOptions,
) -> Result<ContextPackage, ContextError> {
    let scanned = scan_repo(repo_dir, task, options)?;
    let root = &scanned.root;
    let mut warnings = Vec::new();
    if scanned.capped {
        warnings.push(format!(
            "the repository has more than {} entries; only part of it was walked",
            options.max_walk_entries
        ));
    }
    let paths: Vec<&str> = scanned.all_paths.iter().map(String::as_str).collect();
    let has_file = |p: &str| paths.binary_search(&p).is_ok();

    let manifest = match manifest::load(root, "package.json") {
        Some(Ok(m)) => {
            warnings.extend(m.warnings.iter().cloned());
            Some(m)
        }
        Some(Err(err)) => {
            warnings.push(err.to_string());
            None
        }
        None => None,
    };
    let tsconfigs = load_tsconfigs(&scanned.root, &scanned.all_paths, &mut warnings);
    let root_tsconfig = tsconfigs
        .iter()
        .find(|t| t.path == "tsconfig.json" || t.path == "jsconfig.json")
        .cloned();
    let graph = graph_of(&scanned, tsconfigs);

    let schema = load_schema(
        &scanned.root,
        &paths,
        manifest.as_ref(),
        options,
        &mut warnings,
    );
    let gitkeeper_doc = load_doc(root, &paths, options);
    if !gitkeeper_doc.warnings.is_empty() {
        warnings.push(format!(
            "{} rule(s) of the gitkeeper doc were not understood and are ignored (see gitkeeper_doc.warnings)",
            gitkeeper_doc.warnings.len()
        ));
    }
    let project = project::detect(root, manifest.as_ref(), schema.is_some(), &has_file);
    let tree = fit_tree(&scanned, &paths, options);

    // Candidates in priority order.
    let ranked = select::rank_task_files(&scanned.query, &paths, &scanned.index, &graph, options);
    let mut schema = schema;
    if let Some(ctx) = schema.as_mut() {
        focus_schema(ctx, root, &scanned.query, &ranked, options);
    }
    let mut candidates: Vec<Candidate> = Vec::new();
    let size_of = |p: &str| {
        scanned
            .index
            .binary_search_by(|f| f.path.as_str().cmp(p))
            .ok()
            .map(|i| scanned.index[i].size)
    };
    let contract = |path: &str, role: ContractRole| Candidate {
        path: path.to_string(),
        reasons: vec![Reason::AlwaysIncluded { role }],
        tier: Tier::Contract,
        size: size_of(path),
        score: 0.0,
    };
    for path in &gitkeeper_doc.paths {
        candidates.push(contract(path, ContractRole::GitkeeperDoc));
    }
    // The schema, package.json and tsconfig are always included as header
    // summaries (the models the task touches, dependency and script names,
    // import aliases), not whole: whole, they cost a median 5,800 tokens of
    // a 12,000-token package on real applications before any task file. Each
    // is still selected whole when the task names it or it ranks.
    let touched: Vec<&str> = ranked
        .iter()
        .filter(|c| c.tier < Tier::Related)
        .chain(ranked.iter().filter(|c| c.tier == Tier::Ranked).take(3))
        .map(|c| c.path.as_str())
        .collect();
    let all_instructions = doc::instruction_files(&paths);
    let instructions: Vec<doc::InstructionFile> =
        doc::nearest_instructions(&all_instructions, &touched)
            .into_iter()
            .filter(|f| !gitkeeper_doc.paths.contains(&f.path))
            .take(options.max_instruction_files)
            .collect();
    for file in &instructions {
        candidates.push(Candidate {
            path: file.path.clone(),
            reasons: vec![Reason::Instructions],
            tier: Tier::Instructions,
            size: size_of(&file.path),
            score: 0.0,
        });
    }
    let mut seen: HashMap<String, usize> = candidates
        .iter()
        .enumerate()
        .map(|(i, c)| (c.path.clone(), i))
        .collect();
    for c in ranked {
        match seen.get(&c.path) {
            Some(&i) => {
                let existing = &mut candidates[i];
                for r in c.reasons {
                    if !existing.reasons.contains(&r) && !matches!(r, Reason::Relevant { .. }) {
                        existing.reasons.push(r);
                    }
                }
            }
            None => {
                seen.insert(c.path.clone(), candidates.len());
                candidates.push(c);
            }
        }
    }

    let mut pkg = ContextPackage {
        project,
        gitkeeper_doc: GitkeeperDoc {
            instructions,
            ..gitkeeper_doc
        },
        schema,
        manifest,
        tsconfig: root_tsconfig,
        tree,
        files: Vec::new(),
        budget: Budget {
            max_files: options.max_files,
            max_tokens: options.max_tokens,
            indexed_files: scanned.index.len(),
            ..Budget::default()
        },
        warnings,
    };
    let overhead = count_tokens(&render::header(&pkg));
    let filled = select::fill(root, &candidates, overhead, options);
    pkg.files = filled.files;
    pkg.budget.omitted = filled.omitted;
    pkg.budget.overhead_tokens = overhead;
    enforce_budget(&mut pkg, options);
    Ok(pkg)
}

/// Counts the rendered prompt and trims the last file until it fits (block
/// boundaries make per-part counts differ from the whole by a few tokens).
fn enforce_budget(pkg: &mut ContextPackage, options: &ContextOptions) {
    for _ in 0..8 {
        let used = count_tokens(&pkg.render_for_prompt());
        pkg.budget.used_tokens = used;
        if used <= options.max_tokens {
            return;
        }
        let over = used - options.max_tokens;
        let Some(last) = pkg.files.pop() else { return };
        let target = last.tokens.saturating_sub(over + 8);
        if target >= 120 {
            let original = last
                .truncated
                .as_ref()
                .map_or(last.tokens, |t| t.original_tokens);
            let mut cut = select::cut(&last.path, &last.reasons, &last.content, original, target);
            if let (Some(new), Some(old)) = (cut.truncated.as_mut(), last.truncated.as_ref()) {
                // Lines elided earlier stay elided.
                new.elided_lines += old.elided_lines.saturating_sub(1);
            }
            pkg.files.push(cut);
        } else if let Some(reason) = last.reasons.first() {
            pkg.budget.omitted.push(OmittedFile {
                path: last.path.clone(),
                reason: reason.clone(),
                cause: OmitCause::NoRoom,
            });
        }
    }
    pkg.budget.used_tokens = count_tokens(&pkg.render_for_prompt());
}

pub(crate) fn load_schema(
    root: &RepoRoot,
    paths: &[&str],
    manifest: Option<&Manifest>,
    options: &ContextOptions,
    warnings: &mut Vec<String>,
) -> Option<SchemaContext> {
    let prisma_files: Vec<&str> = paths
        .iter()
        .copied()
        .filter(|p| p.ends_with(".prisma"))
        .collect();
    let location = prisma::locate(
        root,
        &prisma_files,
        options.schema_path.as_deref(),
        manifest.and_then(|m| m.prisma_schema.as_deref()),
    )?;
    let mut sources = Vec::new();
    for file in &location.files {
        match root.read_text(file, MAX_CONTRACT_BYTES) {
            Ok(text) => sources.push((file.clone(), text)),
            Err(skip) => warnings.push(format!("cannot read Prisma schema file {file}: {skip:?}")),
        }
    }
    let (schema, error) = match prisma::parse_files(&sources) {
        Ok(schema) => (Some(schema), None),
        Err(err) => {
            warnings.push(format!("Prisma schema does not parse: {err}"));
            (None, Some(err))
        }
    };
    let summary = schema
        .as_ref()
        .map(|s| {
            cap_lines(
                &s.summary(),
                options.max_tokens / SCHEMA_SHARE,
                "more schema lines",
            )
        })
        .unwrap_or_default();
    Some(SchemaContext {
        location,
        schema,
        error,
        summary,
    })
}

/// Narrows the schema summary to the models the task and its first
/// candidate files touch (with their relations and enums).
fn focus_schema(
    ctx: &mut SchemaContext,
    root: &RepoRoot,
    query: &Query,
    ranked: &[Candidate],
    options: &ContextOptions,
) {
    let Some(schema) = ctx.schema.as_ref() else {
        return;
    };
    let texts: Vec<String> = ranked
        .iter()
        .filter(|c| !c.path.ends_with(".prisma"))
        .take(options.max_files)
        .filter_map(|c| root.read_text(&c.path, options.max_file_bytes).ok())
        .collect();
    let texts: Vec<&str> = texts.iter().map(String::as_str).collect();
    let touched = schema_focus::touched_models(schema, query, &texts);
    let touched: Vec<&str> = touched.iter().map(String::as_str).collect();
    ctx.summary = cap_lines(
        &schema.summary_of(&touched),
        options.max_tokens / SCHEMA_SHARE,
        "more schema lines",
    );
}

pub(crate) fn load_doc(root: &RepoRoot, paths: &[&str], options: &ContextOptions) -> GitkeeperDoc {
    let docs: Vec<GitkeeperDoc> = doc::doc_paths(&options.doc_paths, paths)
        .into_iter()
        .filter_map(|path| {
            root.read_text(&path, MAX_CONTRACT_BYTES)
                .ok()
                .map(|text| doc::parse_doc(&path, &text))
        })
        .collect();
    doc::merge(docs)
}

/// The directory tree gets at most this fraction (1/n) of the budget.
pub(crate) const TREE_SHARE: usize = 16;
/// The schema summary gets at most this fraction (1/n) of the budget.
pub(crate) const SCHEMA_SHARE: usize = 4;

/// The tree, shrunk until it costs at most its share of the budget.
fn fit_tree(scanned: &Scanned, paths: &[&str], options: &ContextOptions) -> Tree {
    let cap = options.max_tokens / TREE_SHARE;
    let mut entries = options.tree_max_entries;
    loop {
        let tree = tree::render(&scanned.dirs, paths, options.tree_depth, entries);
        if entries <= 10 || count_tokens(&tree.text) <= cap {
            return tree;
        }
        entries /= 2;
    }
}

/// Keeps whole lines of `text` up to `max_tokens`, noting how many were dropped.
fn cap_lines(text: &str, max_tokens: usize, what: &str) -> String {
    if count_tokens(text) <= max_tokens {
        return text.to_string();
    }
    let lines: Vec<&str> = text.lines().collect();
    let mut out = String::new();
    let mut used = 0;
    let mut kept = 0;
    for line in &lines {
        let t = count_tokens(line) + 1;
        if used + t > max_tokens.saturating_sub(12) {
            break;
        }
        used += t;
        kept += 1;
        out.push_str(line);
        out.push('\n');
    }
    out.push_str(&format!("… {} {what}\n", lines.len() - kept));
    out
}
