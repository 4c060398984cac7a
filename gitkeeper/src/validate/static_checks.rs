//! The fast checks every attempt must pass before any build: each changed
//! file parses (TS/TSX/JS/JSX, JSON, Prisma); its imports exist and name
//! what the imported modules export; its Prisma code names models, fields,
//! operations and arguments the schema and client have; its `/api` calls
//! reach routes the app has; no unchanged file is left importing a file the
//! change removed; and the change keeps the gitkeeper doc's rules (protected
//! paths untouched, also by deletes and renames; forbidden patterns absent;
//! required patterns present); package.json dependencies come from the
//! registry only, and the scripts the validation runs are left alone; a new
//! file named like an existing one elsewhere gets a note. When a change carries a file's previous
//! content, problems that were already there are reported apart and do not
//! fail the attempt. Reads only files inside the work directory; never
//! panics on content.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use super::api_routes::route_findings;
use super::changes::{ChangeKind, ChangedFile};
use super::contract::Contract;
use super::exports_check::{ExportIndex, export_findings};
use super::findings::{CheckRule, Finding, SkippedFile, StaticReport};
use super::imports_check::{dangling_importers, import_findings};
use super::manifest_check::{dependency_findings, script_findings};
use super::misplaced::misplaced_files;
use super::prisma_usage::prisma_findings;
use super::syntax::{self, Grammar, Parsed, Parsers};
use crate::context::doc::{Pattern, PatternRule, RuleSource};
use crate::context::read::RepoRoot;

/// Largest changed file checked.
const MAX_FILE_BYTES: u64 = 1024 * 1024;
/// Largest local module read to see whether it creates a Prisma client.
const MAX_LOCAL_BYTES: u64 = 256 * 1024;

/// Runs every static check on `changes` in `work_dir` against `contract`.
pub fn check_changes(
    work_dir: &Path,
    changes: &[ChangedFile],
    contract: &Contract,
) -> StaticReport {
    let mut report = StaticReport::default();
    let root = match RepoRoot::new(work_dir) {
        Ok(root) => root,
        Err(err) => {
            report.skipped = changes
                .iter()
                .map(|c| SkippedFile {
                    path: c.path.clone(),
                    reason: format!("the work directory cannot be read: {err}"),
                })
                .collect();
            return report;
        }
    };
    let mut checker = Checker {
        root: &root,
        contract,
        parsers: Parsers::default(),
        local: HashMap::new(),
        exports: ExportIndex::new(&root, contract),
    };
    for change in changes {
        report.findings.extend(protected_findings(change, contract));
        if change.kind == ChangeKind::Deleted {
            report
                .findings
                .extend(script_findings(change, None, &contract.checked_scripts));
            report.checked.push(change.path.clone());
            continue;
        }
        let text = match root.read_text(&change.path, MAX_FILE_BYTES) {
            Ok(text) => text,
            Err(skip) => {
                report.skipped.push(SkippedFile {
                    path: change.path.clone(),
                    reason: skip.describe(),
                });
                continue;
            }
        };
        report.checked.push(change.path.clone());
        report.findings.extend(script_findings(
            change,
            Some(text.as_str()),
            &contract.checked_scripts,
        ));
        let (found, unparsed) = checker.content_findings(&change.path, &text);
        if let Some(reason) = unparsed {
            report.skipped.push(SkippedFile {
                path: change.path.clone(),
                reason,
            });
        }
        match &change.before {
            Some(before) => {
                let (old, _) = checker.content_findings(&change.path, before);
                let old: HashSet<(CheckRule, &str)> =
                    old.iter().map(|f| (f.rule, f.message.as_str())).collect();
                let (pre, new): (Vec<Finding>, Vec<Finding>) = found
                    .into_iter()
                    .partition(|f| old.contains(&(f.rule, f.message.as_str())));
                report.preexisting.extend(pre);
                report.findings.extend(new);
            }
            None => report.findings.extend(found),
        }
    }
    report
        .findings
        .extend(schema_findings(changes, contract, &report.findings));
    let removed: Vec<(&str, Option<&str>)> = changes
        .iter()
        .filter_map(|c| match &c.kind {
            ChangeKind::Deleted => Some((c.path.as_str(), None)),
            ChangeKind::Renamed(from) => Some((from.as_str(), Some(c.path.as_str()))),
            _ => None,
        })
        .collect();
    let changed: Vec<&str> = changes.iter().map(|c| c.path.as_str()).collect();
    let mut read = |p: &str, max: u64| root.read_text(p, max).ok();
    report
        .findings
        .extend(dangling_importers(&removed, &changed, contract, &mut read));
    report.notes = misplaced_files(changes, &contract.files);
    report
}

struct Checker<'a> {
    root: &'a RepoRoot,
    contract: &'a Contract,
    parsers: Parsers,
    local: HashMap<String, Option<String>>,
    exports: ExportIndex<'a>,
}

impl Checker<'_> {
    /// Findings about one file's content; also why it could not be parsed.
    fn content_findings(&mut self, path: &str, text: &str) -> (Vec<Finding>, Option<String>) {
        let mut out = Vec::new();
        let mut unparsed = None;
        if let Some(grammar) = Grammar::for_path(path) {
            match self.parsers.parse(grammar, text) {
                Ok(tree) => {
                    out.extend(syntax::tree_errors(path, grammar, &tree, text));
                    let (root, local) = (self.root, &mut self.local);
                    let mut read_local = |p: &str| -> Option<String> {
                        local
                            .entry(p.to_string())
                            .or_insert_with(|| root.read_text(p, MAX_LOCAL_BYTES).ok())
                            .clone()
                    };
                    let parsed = Parsed {
                        path,
                        text,
                        tree: &tree,
                    };
                    out.extend(prisma_findings(&parsed, self.contract, &mut read_local));
                    out.extend(route_findings(&parsed, self.contract, &mut read_local));
                    out.extend(export_findings(
                        &parsed,
                        &mut self.exports,
                        &mut self.parsers,
                    ));
                }
                Err(reason) => unparsed = Some(reason),
            }
            out.extend(import_findings(path, text, self.contract));
        } else if syntax::is_json(path) {
            out.extend(syntax::json_errors(path, text));
            out.extend(dependency_findings(path, text));
        } else if path.ends_with(".prisma") {
            out.extend(syntax::prisma_errors(path, text));
        }
        out.extend(pattern_findings(path, text, self.contract));
        out.sort_by_key(|f| (f.line.is_none(), f.line, f.column));
        (out, unparsed)
    }
}

fn source_text(source: &RuleSource, reason: Option<&str>) -> String {
    match reason {
        Some(r) => format!("{}:{}: {r}", source.file, source.line),
        None => format!("{}:{}", source.file, source.line),
    }
}

/// A change touching a protected path, by any path it touches.
fn protected_findings(change: &ChangedFile, contract: &Contract) -> Vec<Finding> {
    let mut out = Vec::new();
    for path in change.touched_paths() {
        let Some(rule) = contract.rules.protecting(path) else {
            continue;
        };
        let action = match &change.kind {
            ChangeKind::Added => format!("creating {path}"),
            ChangeKind::Modified => format!("changing {path}"),
            ChangeKind::Deleted => format!("deleting {path}"),
            ChangeKind::Renamed(from) => format!("moving {from} to {}", change.path),
        };
        out.push(Finding::new(
            path,
            CheckRule::ProtectedPath,
            format!(
                "{action} is not allowed: the gitkeeper doc protects `{}` ({}); leave it as it is and make the change elsewhere",
                rule.glob,
                source_text(&rule.source, rule.reason.as_deref())
            ),
        ));
        break;
    }
    out
}

fn pattern_text(rule: &PatternRule) -> String {
    match &rule.pattern {
        Pattern::Literal(t) => format!("`{t}`"),
        Pattern::Regex(r) => format!("/{r}/"),
    }
}

fn scope_text(rule: &PatternRule) -> String {
    rule.scope
        .as_ref()
        .map_or_else(String::new, |s| format!(" in `{s}`"))
}

/// Forbidden patterns present and required patterns missing.
fn pattern_findings(path: &str, text: &str, contract: &Contract) -> Vec<Finding> {
    let rules = &contract.rules;
    let mut out = Vec::new();
    for v in rules.forbidden_in(path, text) {
        out.push(
            Finding::new(
                path,
                CheckRule::ForbiddenPattern,
                format!(
                    "contains `{}`, which the gitkeeper doc forbids{} ({} {}); remove it",
                    v.matched,
                    scope_text(v.rule),
                    pattern_text(v.rule),
                    source_text(&v.rule.source, v.rule.reason.as_deref())
                ),
            )
            .at(syntax::to_u32(v.line), None),
        );
    }
    for rule in rules.missing_required(path, text) {
        out.push(Finding::new(
            path,
            CheckRule::RequiredPattern,
            format!(
                "lacks {}, which the gitkeeper doc requires in {} ({}); add it",
                pattern_text(rule),
                rule.scope.as_ref().map_or_else(
                    || "every changed file".to_string(),
                    |s| format!("files matching `{s}`")
                ),
                source_text(&rule.source, rule.reason.as_deref())
            ),
        ));
    }
    out
}

/// The merged schema's error (a model defined in two files, …) when a
/// changed schema file is involved and no per-file error says it already.
fn schema_findings(
    changes: &[ChangedFile],
    contract: &Contract,
    found: &[Finding],
) -> Vec<Finding> {
    let Some(err) = &contract.schema_error else {
        return Vec::new();
    };
    let touched = changes.iter().any(|c| c.path.ends_with(".prisma"));
    let reported = found.iter().any(|f| f.rule == CheckRule::PrismaSchema);
    if !touched || reported {
        return Vec::new();
    }
    vec![
        Finding::new(
            &err.file,
            CheckRule::PrismaSchema,
            format!("the Prisma schema does not parse: {}", err.message),
        )
        .at(err.line, Some(err.column)),
    ]
}
