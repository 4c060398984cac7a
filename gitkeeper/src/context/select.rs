//! Which files go into the package, in what order, and how much of each.
//!
//! Order: the gitkeeper doc (the schema, package.json and tsconfig are
//! summarized in the prompt's header instead), the nearest instruction
//! file, files named in the task (paths, file names, or identifiers whose
//! file is named after them), files that
//! define identifiers named in the task, then everything else by a score:
//! BM25 relevance (see `rank`) plus a bonus for being one or two import hops
//! from the named files (both directions) or one hop from the best-ranked
//! files. Then the budget: at most `max_files` files and `max_tokens` tokens
//! (counted with the real tokenizer) for the whole rendered prompt. Whole
//! files are kept where possible; a file that must be cut keeps its head and
//! says how many lines were elided. Files are read only when they might fit.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use super::ContextOptions;
use super::imports::{Direction, ImportGraph, parent_dir};
use super::query::Query;
use super::rank::{self, FileClass};
use super::read::{RepoRoot, Skip};
use super::render;
use super::scan::FileFacts;
use super::tokens::count_tokens;

/// Which contract file a file is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ContractRole {
    /// The gitkeeper doc.
    GitkeeperDoc,
    /// The Prisma schema (or one file of it).
    PrismaSchema,
    /// package.json.
    PackageJson,
    /// tsconfig.json / jsconfig.json.
    TsConfig,
}

impl ContractRole {
    fn label(self) -> &'static str {
        match self {
            ContractRole::GitkeeperDoc => "gitkeeper doc",
            ContractRole::PrismaSchema => "Prisma schema",
            ContractRole::PackageJson => "package.json",
            ContractRole::TsConfig => "tsconfig",
        }
    }
}

/// Why a file is in the package.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "reason")]
pub enum Reason {
    /// Always included: part of the repository's contract.
    AlwaysIncluded {
        /// Which contract file.
        role: ContractRole,
    },
    /// Another tool's instruction file that applies to the selected files.
    Instructions,
    /// The task mentions it (path, file name, or an identifier it is named after).
    NamedInTask {
        /// What the task said.
        mention: String,
    },
    /// It defines an identifier the task names.
    DefinesIdentifier {
        /// The identifier.
        identifier: String,
    },
    /// It uses (calls, imports, renders) an identifier the task names.
    UsesIdentifier {
        /// The identifier.
        identifier: String,
    },
    /// It is the test file of a file named in the task.
    TestOf {
        /// The tested file.
        seed: String,
    },
    /// It imports (directly or through `hops` files) a file named in the task.
    ImportsSeed {
        /// The seed file.
        seed: String,
        /// Import edges between them.
        hops: usize,
    },
    /// A file named in the task imports it (directly or through `hops` files).
    ImportedBySeed {
        /// The seed file.
        seed: String,
        /// Import edges between them.
        hops: usize,
    },
    /// Its words match the task's.
    Relevant {
        /// Combined score (relevance plus import proximity), for ordering.
        score: f64,
    },
}

impl std::fmt::Display for Reason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Reason::AlwaysIncluded { role } => write!(f, "always included ({})", role.label()),
            Reason::Instructions => f.write_str("instructions for these files"),
            Reason::NamedInTask { mention } => write!(f, "named in task (`{mention}`)"),
            Reason::DefinesIdentifier { identifier } => {
                write!(f, "defines `{identifier}` named in task")
            }
            Reason::UsesIdentifier { identifier } => write!(f, "uses `{identifier}` named in task"),
            Reason::TestOf { seed } => write!(f, "tests {seed}"),
            Reason::ImportsSeed { seed, hops: 1 } => write!(f, "imports {seed}"),
            Reason::ImportsSeed { seed, hops } => write!(f, "imports {seed} ({hops} hops)"),
            Reason::ImportedBySeed { seed, hops: 1 } => write!(f, "imported by {seed}"),
            Reason::ImportedBySeed { seed, hops } => {
                write!(f, "imported by {seed} ({hops} hops)")
            }
            Reason::Relevant { score } => write!(f, "relevant to task (score {score:.2})"),
        }
    }
}

/// How a file was cut to fit the budget.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Truncation {
    /// Lines kept from the top.
    pub kept_lines: usize,
    /// Lines left out.
    pub elided_lines: usize,
    /// Tokens of the whole file.
    pub original_tokens: usize,
}

/// A file in the package.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SelectedFile {
    /// Repository-relative path.
    pub path: String,
    /// Why it was selected, strongest first.
    pub reasons: Vec<Reason>,
    /// Tokens of `content` (cl100k_base).
    pub tokens: usize,
    /// The text given to the model (possibly cut, with the elision marked).
    pub content: String,
    /// Set when the file was cut.
    pub truncated: Option<Truncation>,
}

/// Why a wanted file was left out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OmitCause {
    /// `max_files` was reached.
    MaxFiles,
    /// Not enough tokens left.
    NoRoom,
    /// Binary, unreadable, or over the size cap.
    Unreadable,
    /// The Prisma schema is too big to include whole; its summary is included instead.
    Summarized,
    /// Dropped when the package was trimmed to fit a model's context window.
    ContextWindow,
}

/// A file that was wanted but left out.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OmittedFile {
    /// Repository-relative path.
    pub path: String,
    /// Why it was wanted (its first reason).
    pub reason: Reason,
    /// Why it was left out.
    pub cause: OmitCause,
}

/// A file the walk indexed (readable text, under the size cap).
#[derive(Debug, Clone)]
pub(crate) struct Indexed {
    /// Repository-relative path.
    pub path: String,
    /// Size in bytes.
    pub size: u64,
    /// What the scan found.
    pub facts: FileFacts,
}

/// Priority group of a candidate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Tier {
    Contract,
    Instructions,
    Named,
    Defines,
    Related,
    Ranked,
}

/// A file wanted in the package, before its content is read.
#[derive(Debug, Clone)]
pub(crate) struct Candidate {
    pub path: String,
    pub reasons: Vec<Reason>,
    pub tier: Tier,
    /// Size in bytes if known (for skipping files that cannot fit unread).
    pub size: Option<u64>,
    /// Ranking score (tiers below `Ranked` have none).
    pub score: f64,
}

/// Hop bonus for files near a file named in the task, by hop count.
const SEED_HOP_BONUS: [f64; 3] = [0.0, 0.6, 0.25];
/// Bonus for using (calling, importing, rendering) an identifier the task names.
const MENTION_BONUS: f64 = 0.4;
/// Bonus for being the test of a file named in the task.
const TEST_BONUS: f64 = 0.5;
/// Files per named file that go in the "related" tier ahead of ranked files.
const RELATED_PER_SEED: usize = 3;
/// Hop bonus for files next to a top-ranked file, scaled by its score.
const TOP_HOP_BONUS: f64 = 0.35;
/// How many top-ranked files lend their neighbours a bonus.
const TOP_SEEDS: usize = 3;
/// Scores below this (relative to the best file, 1.0) are noise: a shared
/// word like `src` in the path, not a reason to read the file.
const MIN_RANKED_SCORE: f64 = 0.1;
/// Most files one mention or identifier may select.
const MAX_PER_MENTION: usize = 4;

/// Orders the task's files: named, defining, then by score. `all_paths` is
/// every walked file (sorted); `index` the readable ones.
pub(crate) fn rank_task_files(
    query: &Query,
    all_paths: &[&str],
    index: &[Indexed],
    graph: &ImportGraph,
    options: &ContextOptions,
) -> Vec<Candidate> {
    let position: HashMap<&str, usize> = index
        .iter()
        .enumerate()
        .map(|(i, f)| (f.path.as_str(), i))
        .collect();
    let sizes: HashMap<&str, u64> = index.iter().map(|f| (f.path.as_str(), f.size)).collect();
    let paths: Vec<&str> = index.iter().map(|f| f.path.as_str()).collect();
    let facts: Vec<&FileFacts> = index.iter().map(|f| &f.facts).collect();
    let bm25 = rank::scores(&paths, &facts, query);
    let max = bm25.iter().copied().fold(0.0, f64::max);
    let norm: Vec<f64> = bm25
        .iter()
        .map(|s| if max > 0.0 { s / max } else { 0.0 })
        .collect();

    let mut out: Vec<Candidate> = Vec::new();
    let mut seeds: Vec<usize> = Vec::new();
    let add = |out: &mut Vec<Candidate>, path: &str, reason: Reason, tier: Tier| {
        if let Some(c) = out.iter_mut().find(|c| c.path == path) {
            if !c.reasons.contains(&reason) {
                c.reasons.push(reason);
            }
            return;
        }
        out.push(Candidate {
            path: path.to_string(),
            reasons: vec![reason],
            tier,
            size: sizes.get(path).copied(),
            score: 0.0,
        });
    };

    // Named in the task: paths and file names.
    let mut dir_boost: Vec<String> = Vec::new();
    for mention in &query.paths {
        match match_mention(mention, all_paths) {
            MentionMatch::Files(files) => {
                for file in files {
                    add(
                        &mut out,
                        file,
                        Reason::NamedInTask {
                            mention: mention.clone(),
                        },
                        Tier::Named,
                    );
                }
            }
            MentionMatch::Directory(prefixes) => dir_boost.extend(prefixes),
            MentionMatch::None => {}
        }
    }
    // Identifiers: files named after them, then files defining them.
    for (k, ident) in query.identifiers.iter().enumerate() {
        let key = squash(ident);
        let named: Vec<&str> = all_paths
            .iter()
            .copied()
            .filter(|p| matches!(FileClass::of(p), FileClass::Code | FileClass::Test))
            .filter(|p| squash(file_stem(p)) == key)
            .collect();
        if !named.is_empty() && named.len() <= MAX_PER_MENTION {
            for file in named {
                add(
                    &mut out,
                    file,
                    Reason::NamedInTask {
                        mention: ident.clone(),
                    },
                    Tier::Named,
                );
            }
        }
        let mut defining: Vec<usize> = (0..index.len())
            .filter(|&i| index[i].facts.defines.contains(&k))
            .collect();
        defining.sort_by(|&a, &b| bm25[b].total_cmp(&bm25[a]));
        for i in defining.into_iter().take(MAX_PER_MENTION) {
            add(
                &mut out,
                &index[i].path,
                Reason::DefinesIdentifier {
                    identifier: ident.clone(),
                },
                Tier::Defines,
            );
        }
    }
    for c in &out {
        if let Some(&i) = position.get(c.path.as_str()) {
            seeds.push(i);
        }
    }

    // Scores for the rest: relevance, plus bonuses for using an identifier
    // the task names, for testing a named file, and for import proximity.
    let n = index.len();
    let prior: Vec<f64> = index.iter().map(|f| rank::prior(&f.path, query)).collect();
    let mut bonus = vec![0.0f64; n];
    let mut extra: Vec<Vec<Reason>> = vec![Vec::new(); n];
    for (i, file) in index.iter().enumerate() {
        for &k in file.facts.mentions.iter().take(2) {
            if let Some(identifier) = query.identifiers.get(k) {
                bonus[i] += MENTION_BONUS;
                extra[i].push(Reason::UsesIdentifier {
                    identifier: identifier.clone(),
                });
            }
        }
    }
    // Per seed, the files most tied to it: tests of it and its direct imports/importers.
    let mut near: HashMap<usize, Vec<usize>> = HashMap::new();
    for &s in &seeds {
        let subject = (parent_dir(&index[s].path), file_stem(&index[s].path));
        for (i, file) in index.iter().enumerate() {
            if i != s
                && FileClass::of(&file.path) == FileClass::Test
                && test_subject(&file.path) == subject
            {
                bonus[i] += TEST_BONUS;
                extra[i].push(Reason::TestOf {
                    seed: index[s].path.clone(),
                });
                near.entry(s).or_default().push(i);
            }
        }
    }
    let degree = |file: usize, direction: Direction| -> f64 {
        let d = match direction {
            Direction::ImportedBySeed => graph.imports.get(file).map_or(0, Vec::len),
            Direction::ImportsSeed => graph.importers.get(file).map_or(0, Vec::len),
        };
        1.0 + (d.max(1) as f64).ln()
    };
    for rel in graph.within_hops(&seeds, options.import_hops) {
        let hop_bonus = SEED_HOP_BONUS.get(rel.hops).copied().unwrap_or(0.1);
        bonus[rel.file] += hop_bonus / degree(rel.seed, rel.direction);
        let seed = index[rel.seed].path.clone();
        extra[rel.file].push(match rel.direction {
            Direction::ImportedBySeed => Reason::ImportedBySeed {
                seed,
                hops: rel.hops,
            },
            Direction::ImportsSeed => Reason::ImportsSeed {
                seed,
                hops: rel.hops,
            },
        });
        if rel.hops == 1 {
            near.entry(rel.seed).or_default().push(rel.file);
        }
    }
    let mut top: Vec<usize> = (0..n)
        .filter(|i| norm[*i] > 0.0 && !seeds.contains(i))
        .collect();
    top.sort_by(|&a, &b| norm[b].total_cmp(&norm[a]).then(a.cmp(&b)));
    for &t in top.iter().take(TOP_SEEDS) {
        for rel in graph.within_hops(&[t], 1) {
            bonus[rel.file] += TOP_HOP_BONUS * norm[t] / degree(t, rel.direction);
        }
    }
    let score: Vec<f64> = (0..n)
        .map(|i| {
            let in_dir = dir_boost
                .iter()
                .any(|d| index[i].path.starts_with(d.as_str()));
            let dir = if in_dir { 0.3 } else { 0.0 };
            norm[i] + (bonus[i] + dir) * prior[i]
        })
        .collect();
    let reasons_of = |i: usize, extra: &mut Vec<Vec<Reason>>| {
        let mut reasons = std::mem::take(&mut extra[i]);
        reasons.truncate(3);
        reasons.push(Reason::Relevant {
            score: (score[i] * 100.0).round() / 100.0,
        });
        reasons
    };
    // The brief's order: files related to the named ones come before files
    // that are merely relevant, but only the few best per named file (a
    // utility imported everywhere must not flood the package).
    let mut taken = vec![false; n];
    for &s in &seeds {
        taken[s] = true;
    }
    for &s in &seeds {
        let Some(mut list) = near.remove(&s) else {
            continue;
        };
        list.sort_by(|&a, &b| score[b].total_cmp(&score[a]).then(a.cmp(&b)));
        list.dedup();
        let fresh: Vec<usize> = list
            .into_iter()
            .filter(|&i| !taken[i])
            .take(RELATED_PER_SEED)
            .collect();
        for i in fresh {
            taken[i] = true;
            out.push(Candidate {
                path: index[i].path.clone(),
                reasons: reasons_of(i, &mut extra),
                tier: Tier::Related,
                size: Some(index[i].size),
                score: score[i],
            });
        }
    }
    let mut ranked: Vec<usize> = (0..n)
        .filter(|&i| !taken[i] && score[i] >= MIN_RANKED_SCORE)
        .collect();
    ranked.sort_by(|&a, &b| score[b].total_cmp(&score[a]).then(a.cmp(&b)));
    for i in ranked {
        out.push(Candidate {
            path: index[i].path.clone(),
            reasons: reasons_of(i, &mut extra),
            tier: Tier::Ranked,
            size: Some(index[i].size),
            score: score[i],
        });
    }
    out.sort_by_key(|c| c.tier);
    out
}

/// The (directory, stem) a test file tests: `src/a/b.test.ts` → (`src/a`, `b`);
/// `src/a/__tests__/b.spec.ts` → (`src/a`, `b`).
fn test_subject(path: &str) -> (&str, &str) {
    let dir = parent_dir(path);
    let dir = dir
        .strip_suffix("/__tests__")
        .or_else(|| dir.strip_suffix("/tests"))
        .unwrap_or(dir);
    let name = path.rsplit('/').next().unwrap_or(path);
    let stem = name
        .strip_prefix("test_")
        .unwrap_or(name)
        .split('.')
        .next()
        .unwrap_or(name);
    let stem = stem.strip_suffix("_test").unwrap_or(stem);
    (dir, stem)
}

enum MentionMatch<'a> {
    Files(Vec<&'a str>),
    /// A directory with many files: boost them instead of selecting them all.
    Directory(Vec<String>),
    None,
}

/// What a path mentioned in the task refers to.
fn match_mention<'a>(mention: &str, all_paths: &[&'a str]) -> MentionMatch<'a> {
    if let Ok(i) = all_paths.binary_search(&mention) {
        return MentionMatch::Files(vec![all_paths[i]]);
    }
    let suffix = format!("/{mention}");
    let lower = mention.to_ascii_lowercase();
    let lower_suffix = format!("/{lower}");
    let tries: [&dyn Fn(&str) -> bool; 3] = [
        &|p: &str| p.ends_with(&suffix),
        &|p: &str| {
            let stem = strip_ext(p);
            stem == mention
                || stem.ends_with(&suffix)
                || stem
                    .strip_suffix("/index")
                    .is_some_and(|d| d == mention || d.ends_with(&suffix))
        },
        &|p: &str| {
            let l = p.to_ascii_lowercase();
            l == lower || l.ends_with(&lower_suffix)
        },
    ];
    for test in tries {
        let found: Vec<&str> = all_paths.iter().copied().filter(|p| test(p)).collect();
        if !found.is_empty() && found.len() <= MAX_PER_MENTION {
            return MentionMatch::Files(found);
        }
        if found.len() > MAX_PER_MENTION {
            return MentionMatch::None;
        }
    }
    // A directory: `api/projects` → `src/app/api/projects/route.ts`.
    let prefix = format!("{mention}/");
    let inner = format!("/{mention}/");
    let under: Vec<&str> = all_paths
        .iter()
        .copied()
        .filter(|p| p.starts_with(&prefix) || p.contains(&inner))
        .filter(|p| matches!(FileClass::of(p), FileClass::Code))
        .collect();
    if under.is_empty() {
        return MentionMatch::None;
    }
    if under.len() <= MAX_PER_MENTION {
        return MentionMatch::Files(under);
    }
    let mut dirs: Vec<String> = under
        .iter()
        .filter_map(|p| {
            if p.starts_with(&prefix) {
                Some(prefix.clone())
            } else {
                p.find(&inner).map(|i| p[..i + inner.len()].to_string())
            }
        })
        .collect();
    dirs.sort();
    dirs.dedup();
    MentionMatch::Directory(dirs)
}

fn strip_ext(path: &str) -> &str {
    let name_start = path.rfind('/').map_or(0, |i| i + 1);
    match path[name_start..].rfind('.') {
        Some(dot) if dot > 0 => &path[..name_start + dot],
        _ => path,
    }
}

fn file_stem(path: &str) -> &str {
    let name = path.rsplit('/').next().unwrap_or(path);
    name.split('.').next().unwrap_or(name)
}

/// Lowercase without separators, so `UserCard`, `user-card` and `user_card` meet.
fn squash(s: &str) -> String {
    s.chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

/// An instruction file gets at most this fraction (1/n) of the budget.
const INSTRUCTIONS_SHARE: usize = 16;
/// Below this many tokens a cut file is not worth including.
const MIN_CUT_TOKENS: usize = 120;
/// Ranked files this early in the order may be cut to fit; later ones must fit whole.
const CUTTABLE_RANKED: usize = 3;
/// Most omitted files recorded.
const MAX_OMITTED: usize = 20;

/// The files chosen within the budget.
#[derive(Debug, Default)]
pub(crate) struct Filled {
    pub files: Vec<SelectedFile>,
    pub omitted: Vec<OmittedFile>,
}

/// Fills the budget from `candidates` (in order), with `overhead` tokens
/// already spent on the rest of the prompt.
pub(crate) fn fill(
    root: &RepoRoot,
    candidates: &[Candidate],
    overhead: usize,
    options: &ContextOptions,
) -> Filled {
    let mut filled = Filled::default();
    let mut remaining = options.max_tokens.saturating_sub(overhead);
    let mut ranked_seen = 0usize;
    let omit = |filled: &mut Filled, c: &Candidate, cause: OmitCause| {
        if filled.omitted.len() < MAX_OMITTED {
            if let Some(reason) = c.reasons.first() {
                filled.omitted.push(OmittedFile {
                    path: c.path.clone(),
                    reason: reason.clone(),
                    cause,
                });
            }
        }
    };
    for c in candidates {
        if filled.files.iter().any(|f| f.path == c.path) {
            continue;
        }
        let early_ranked = if c.tier >= Tier::Related {
            ranked_seen += 1;
            ranked_seen <= CUTTABLE_RANKED
        } else {
            false
        };
        if filled.files.len() >= options.max_files {
            omit(&mut filled, c, OmitCause::MaxFiles);
            if c.tier == Tier::Ranked {
                break;
            }
            continue;
        }
        if remaining < MIN_CUT_TOKENS {
            omit(&mut filled, c, OmitCause::NoRoom);
            if c.tier == Tier::Ranked {
                break;
            }
            continue;
        }
        let is_schema = c.reasons.iter().any(|r| {
            matches!(
                r,
                Reason::AlwaysIncluded {
                    role: ContractRole::PrismaSchema
                }
            )
        });
        let cap = match c.tier {
            Tier::Contract if is_schema => options.max_tokens / super::SCHEMA_SHARE,
            Tier::Contract => options.max_tokens / 3,
            Tier::Instructions => options.max_tokens / INSTRUCTIONS_SHARE,
            Tier::Named | Tier::Defines => options.max_tokens / 2,
            Tier::Related | Tier::Ranked => options.max_tokens,
        };
        let may_cut = match c.tier {
            Tier::Contract => !is_schema,
            Tier::Related | Tier::Ranked => early_ranked,
            _ => true,
        };
        let allowance = remaining.min(cap);
        // Skip unread what cannot fit: code is never denser than ~10 bytes a token.
        if let Some(size) = c.size {
            if !may_cut && size / 10 > allowance as u64 {
                let cause = if is_schema {
                    OmitCause::Summarized
                } else {
                    OmitCause::NoRoom
                };
                omit(&mut filled, c, cause);
                continue;
            }
        }
        let read_cap = match c.tier {
            Tier::Related | Tier::Ranked => options.max_file_bytes,
            _ => options.max_file_bytes.saturating_mul(4),
        };
        let content = match root.read_text(&c.path, read_cap) {
            Ok(text) => text,
            Err(Skip::TooLarge(_) | Skip::Binary | Skip::Io(_) | Skip::Outside | Skip::Missing) => {
                omit(&mut filled, c, OmitCause::Unreadable);
                continue;
            }
        };
        let header = count_tokens(&render::file_header(&c.path, &c.reasons, &content));
        let Some(room) = allowance.checked_sub(header) else {
            omit(&mut filled, c, OmitCause::NoRoom);
            continue;
        };
        let tokens = count_tokens(&content);
        let file = if tokens <= room {
            SelectedFile {
                path: c.path.clone(),
                reasons: c.reasons.clone(),
                tokens,
                content,
                truncated: None,
            }
        } else if may_cut && room >= MIN_CUT_TOKENS {
            cut(&c.path, &c.reasons, &content, tokens, room)
        } else {
            let cause = if is_schema {
                OmitCause::Summarized
            } else {
                OmitCause::NoRoom
            };
            omit(&mut filled, c, cause);
            continue;
        };
        remaining = remaining.saturating_sub(file.tokens + header);
        filled.files.push(file);
    }
    filled
}

/// Keeps the head of `content` within `room` tokens and marks the elision.
pub(crate) fn cut(
    path: &str,
    reasons: &[Reason],
    content: &str,
    original: usize,
    room: usize,
) -> SelectedFile {
    let lines: Vec<&str> = content.lines().collect();
    let total = lines.len();
    // Reserve room for the marker line.
    let marker_tokens = 16;
    let target = room.saturating_sub(marker_tokens);
    let mut used = 0usize;
    let mut kept = 0usize;
    for line in &lines {
        let t = count_tokens(line) + 1;
        if used + t > target {
            break;
        }
        used += t;
        kept += 1;
    }
    let elided = total - kept;
    let mut text = lines[..kept].join("\n");
    if !text.is_empty() {
        text.push('\n');
    }
    text.push_str(&render::elision_marker(path, elided));
    text.push('\n');
    let tokens = count_tokens(&text);
    SelectedFile {
        path: path.to_string(),
        reasons: reasons.to_vec(),
        tokens,
        content: text,
        truncated: Some(Truncation {
            kept_lines: kept,
            elided_lines: elided,
            original_tokens: original,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mention_matches_exact_suffix_extensionless_and_directory() {
        let paths = [
            "src/app/api/projects/route.ts",
            "src/components/UserCard.tsx",
            "src/lib/session.ts",
            "src/lib/ui/index.ts",
        ];
        let files = |m: &str| match match_mention(m, &paths) {
            MentionMatch::Files(f) => f,
            _ => vec![],
        };
        assert_eq!(files("src/lib/session.ts"), ["src/lib/session.ts"]);
        assert_eq!(files("session.ts"), ["src/lib/session.ts"]);
        assert_eq!(files("lib/session"), ["src/lib/session.ts"]);
        assert_eq!(files("lib/ui"), ["src/lib/ui/index.ts"]);
        assert_eq!(files("usercard.tsx"), ["src/components/UserCard.tsx"]);
        assert_eq!(files("api/projects"), ["src/app/api/projects/route.ts"]);
        assert!(files("nothing/here").is_empty());
    }

    #[test]
    fn many_files_under_a_mentioned_directory_are_boosted_not_selected() {
        let paths: Vec<String> = (0..10)
            .map(|i| format!("src/features/billing/f{i}.ts"))
            .collect();
        let refs: Vec<&str> = paths.iter().map(String::as_str).collect();
        match match_mention("features/billing", &refs) {
            MentionMatch::Directory(dirs) => assert_eq!(dirs, ["src/features/billing/"]),
            _ => panic!("expected a directory match"),
        }
    }

    #[test]
    fn cut_keeps_the_head_and_marks_the_elision() {
        let content: String = (0..400)
            .map(|i| format!("export const value{i} = {i};\n"))
            .collect();
        let original = count_tokens(&content);
        let file = cut("src/big.ts", &[], &content, original, 300);
        let t = file.truncated.clone().expect("cut");
        assert!(t.kept_lines > 10 && t.kept_lines < 400);
        assert_eq!(t.kept_lines + t.elided_lines, 400);
        assert!(file.tokens <= 300, "{}", file.tokens);
        assert!(
            file.content
                .ends_with(&format!("// … {} lines elided …\n", t.elided_lines))
        );
        assert!(file.content.starts_with("export const value0 = 0;\n"));
    }

    #[test]
    fn reasons_read_well() {
        let named = Reason::NamedInTask {
            mention: "session.ts".into(),
        };
        assert_eq!(named.to_string(), "named in task (`session.ts`)");
        let r = Reason::ImportedBySeed {
            seed: "a.ts".into(),
            hops: 2,
        };
        assert_eq!(r.to_string(), "imported by a.ts (2 hops)");
    }

    #[test]
    fn squash_unifies_identifier_spellings() {
        assert_eq!(squash("UserCard"), squash("user-card"));
        assert_eq!(squash("use_session"), "usesession");
        assert_eq!(file_stem("src/UserCard.test.tsx"), "UserCard");
        assert_eq!(strip_ext("src/a.b/c"), "src/a.b/c");
        assert_eq!(strip_ext("src/c.d.ts"), "src/c.d");
    }
}
