//! Recall on a git history: which commits count as tasks, and what the
//! package and the baseline find of the files each one changed.
//!
//! The selection rule is the same for every repository (synthetic or
//! real, bare or not), applied newest commit first until `--commits` are
//! found:
//! - not a merge, not the root, not written by a bot (`[bot]` in the author);
//! - a meaningful message: its subject, without a conventional-commit
//!   prefix (`fix(api): `) and a trailing PR number (`(#123)`), has at
//!   least three words of letters and does not start with merge, revert,
//!   bump, release, version, wip, format, lint, deps, `chore(deps` or
//!   `chore(release`;
//! - a task-sized change: at most 20 changed files, of which at least one
//!   modified or deleted `.ts`, `.tsx` or `.prisma` file.
//!
//! The files to find are the modified or deleted ones (new files cannot
//! be found in the parent tree), except lock files (never selectable) and
//! the always-included contract files at their default paths.

use std::collections::HashSet;
use std::path::Path;
use std::time::Instant;

use gitkeeper::context::{self, ContextOptions, ContextPackage, Reason};

use super::{Result, baseline, export_tree, git, median};

/// Most changed files of a commit that still counts as one task.
const MAX_CHANGED_FILES: usize = 20;

/// Subjects that describe housekeeping, not a task (lowercase prefixes).
const HOUSEKEEPING: &[&str] = &[
    "merge",
    "revert",
    "bump",
    "release",
    "version",
    "wip",
    "format",
    "lint",
    "deps",
    "chore(deps",
    "chore(release",
    "update dependencies",
    "update dependency",
];

/// Always-included contract files at their default paths: never a file to find.
pub const CONTRACT: &[&str] = &[
    "package.json",
    "tsconfig.json",
    "prisma/schema.prisma",
    "docs/gitkeeper.md",
];

/// One commit taken as a task.
pub struct Task {
    pub commit: String,
    pub parent: String,
    pub message: String,
    /// Files the commit modified or deleted (what the package should hold).
    pub truth: HashSet<String>,
}

/// Figures over the tasks of one history.
#[derive(Default)]
pub struct History {
    pub commits: usize,
    pub truth_files: usize,
    pub ours_r5: f64,
    pub ours_r10: f64,
    pub ours_in_package: f64,
    pub base_r5: f64,
    pub base_r10: f64,
    pub ours_ms: Vec<f64>,
    pub base_ms: Vec<f64>,
    /// Tokens of the always-included parts per package (header, contract
    /// and instruction files).
    pub always_tokens: Vec<f64>,
    /// Tokens of the whole package.
    pub used_tokens: Vec<f64>,
}

impl History {
    pub fn always_median(&self) -> f64 {
        median(&self.always_tokens)
    }
}

/// The subject without a conventional-commit prefix and a trailing PR number.
fn bare_subject(message: &str) -> String {
    let subject = message.lines().next().unwrap_or("").trim();
    let subject = match subject.split_once(": ") {
        Some((prefix, rest))
            if !prefix.contains(' ') && prefix.len() <= 30 && !rest.trim().is_empty() =>
        {
            rest
        }
        _ => subject,
    };
    let subject = match subject.rfind(" (#") {
        Some(i) if subject.ends_with(')') => &subject[..i],
        _ => subject,
    };
    subject.trim().to_string()
}

/// True when `message` reads as a task (see the module's rule).
pub fn is_meaningful(message: &str) -> bool {
    let first = message
        .lines()
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if HOUSEKEEPING.iter().any(|h| first.starts_with(h)) {
        return false;
    }
    let subject = bare_subject(message).to_ascii_lowercase();
    if HOUSEKEEPING.iter().any(|h| subject.starts_with(h)) {
        return false;
    }
    subject
        .split_whitespace()
        .filter(|w| w.chars().any(|c| c.is_ascii_alphabetic()))
        .count()
        >= 3
}

fn is_lock_file(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path);
    matches!(
        name,
        "package-lock.json" | "yarn.lock" | "pnpm-lock.yaml" | "bun.lockb" | "bun.lock"
    )
}

fn is_task_code(path: &str) -> bool {
    path.ends_with(".ts") || path.ends_with(".tsx") || path.ends_with(".prisma")
}

/// The newest `max` commits of `repo`'s HEAD that pass the selection rule, oldest first.
pub fn select(repo: &Path, max: usize) -> Result<Vec<Task>> {
    let list = git(
        repo,
        &["log", "--no-merges", "--format=%H%x09%P%x09%an", "HEAD"],
    )?;
    let mut tasks = Vec::new();
    for line in list.lines() {
        if tasks.len() >= max {
            break;
        }
        let mut parts = line.split('\t');
        let (Some(commit), Some(parents), Some(author)) =
            (parts.next(), parts.next(), parts.next())
        else {
            continue;
        };
        let Some(parent) = parents.split_whitespace().next() else {
            continue; // root commit
        };
        if author.contains("[bot]") {
            continue;
        }
        let message = git(repo, &["log", "-1", "--format=%B", commit])?;
        if !is_meaningful(&message) {
            continue;
        }
        let changes = git(
            repo,
            &["diff", "--name-status", "--no-renames", parent, commit],
        )?;
        let changed: Vec<(&str, &str)> =
            changes.lines().filter_map(|l| l.split_once('\t')).collect();
        if changed.is_empty() || changed.len() > MAX_CHANGED_FILES {
            continue;
        }
        let truth: HashSet<String> = changed
            .iter()
            .filter(|(status, _)| status.starts_with('M') || status.starts_with('D'))
            .map(|(_, path)| path.to_string())
            .filter(|p| !CONTRACT.contains(&p.as_str()) && !is_lock_file(p))
            .collect();
        if !truth.iter().any(|p| is_task_code(p)) {
            continue;
        }
        tasks.push(Task {
            commit: commit.to_string(),
            parent: parent.to_string(),
            message: message.trim().to_string(),
            truth,
        });
    }
    tasks.reverse();
    Ok(tasks)
}

fn recall(ranked: &[String], truth: &HashSet<String>, k: usize) -> f64 {
    let hits = ranked.iter().take(k).filter(|p| truth.contains(*p)).count();
    hits as f64 / truth.len() as f64
}

fn is_always_included(reasons: &[Reason]) -> bool {
    matches!(
        reasons.first(),
        Some(Reason::AlwaysIncluded { .. } | Reason::Instructions)
    )
}

/// Tokens of the package's always-included parts: the header (project,
/// schema summary, tree) and the contract and instruction files.
pub fn always_included_tokens(pkg: &ContextPackage) -> usize {
    let mut always = pkg.clone();
    always.files.retain(|f| is_always_included(&f.reasons));
    always.budget.omitted.clear();
    context::tokens::count_tokens(&always.render_for_prompt())
}

/// Evaluates the package and the baseline on `tasks` of `repo`. With
/// `trees`, each parent tree is exported once under it and reused by later
/// runs; otherwise into `scratch`.
pub fn evaluate(
    repo: &Path,
    tasks: &[Task],
    scratch: &Path,
    trees: Option<&Path>,
) -> Result<History> {
    let options = ContextOptions::default();
    let mut h = History::default();
    let verbose = std::env::var_os("BENCH_VERBOSE").is_some();
    for task in tasks {
        let tree_dir = match trees {
            Some(dir) => {
                let tree = dir.join(&task.parent);
                let done = dir.join(format!("{}.done", task.parent));
                if !done.exists() {
                    export_tree(repo, &task.parent, &tree)?;
                    std::fs::write(&done, b"")?;
                }
                tree
            }
            None => {
                let tree = scratch.join("tree");
                export_tree(repo, &task.parent, &tree)?;
                tree
            }
        };
        let tree_dir = tree_dir.as_path();
        let truth = &task.truth;
        let message = task.message.as_str();

        let started = Instant::now();
        let pkg = context::build(tree_dir, message, &options)?;
        h.ours_ms.push(started.elapsed().as_secs_f64() * 1000.0);
        let in_package = pkg.files.iter().filter(|f| truth.contains(&f.path)).count();
        h.ours_in_package += in_package as f64 / truth.len() as f64;
        h.always_tokens.push(always_included_tokens(&pkg) as f64);
        h.used_tokens.push(pkg.budget.used_tokens as f64);

        let ranked: Vec<String> = context::rank(tree_dir, message, &options)?
            .into_iter()
            .map(|r| r.path)
            .filter(|p| !CONTRACT.contains(&p.as_str()))
            .collect();
        h.ours_r5 += recall(&ranked, truth, 5);
        h.ours_r10 += recall(&ranked, truth, 10);

        let started = Instant::now();
        let base = baseline::rank(tree_dir, message);
        h.base_ms.push(started.elapsed().as_secs_f64() * 1000.0);
        let base: Vec<String> = base
            .into_iter()
            .filter(|p| !CONTRACT.contains(&p.as_str()))
            .collect();
        h.base_r5 += recall(&base, truth, 5);
        h.base_r10 += recall(&base, truth, 10);

        h.commits += 1;
        h.truth_files += truth.len();
        if verbose {
            let mut t: Vec<&String> = truth.iter().collect();
            t.sort();
            let package: Vec<String> = pkg
                .files
                .iter()
                .map(|f| {
                    let hit = if truth.contains(&f.path) { "*" } else { "" };
                    format!("{hit}{} ({})", f.path, f.tokens)
                })
                .collect();
            eprintln!(
                "{} {}\n  truth: {:?}\n  package ({} tokens, {} always): {:?}\n  ours: {:?}\n  base: {:?}",
                &task.commit[..task.commit.len().min(10)],
                message.lines().next().unwrap_or(""),
                t,
                pkg.budget.used_tokens,
                h.always_tokens.last().copied().unwrap_or(0.0),
                package,
                &ranked[..ranked.len().min(10)],
                &base[..base.len().min(10)]
            );
        }
    }
    let n = h.commits.max(1) as f64;
    h.ours_r5 /= n;
    h.ours_r10 /= n;
    h.ours_in_package /= n;
    h.base_r5 /= n;
    h.base_r10 /= n;
    Ok(h)
}
