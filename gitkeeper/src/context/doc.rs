//! The gitkeeper doc (`docs/gitkeeper.md`, `GITKEEPER.md`,
//! `.github/gitkeeper.md`, or configured paths) and the instruction files
//! other tools' users keep (`AGENTS.md`, `CLAUDE.md`,
//! `.github/copilot-instructions.md`, `CONTRIBUTING.md`).
//!
//! Any Markdown works as a gitkeeper doc: its text goes into the prompt as
//! written. Four headings additionally turn bullets into rules that later
//! validation enforces (protected paths, forbidden and required patterns) or
//! passes on (conventions). The format is documented in README.md, "The gitkeeper doc"
//! beside this file; in short:
//!
//! ```markdown
//! # Solar Sprint — gitkeeper
//!
//! Free text about the project goes here and is kept as written.
//!
//! ## Protected paths
//! - `prisma/migrations/` — applied migrations are history; add a new one
//! - `.github/workflows/**` — CI changes need a human
//! - `*.lock`
//!
//! ## Forbidden patterns
//! - `console.log(` in `src/**` — use `logger` from `src/lib/log.ts`
//! - `/\bany\b/` in `src/**/*.ts` — no `any`; use `unknown` and narrow it
//! - regex `@ts-(ignore|nocheck)` — fix the type error instead
//!
//! ## Required patterns
//! - `getSession(` in `src/app/api/**/route.ts` — every API route checks the session
//!
//! ## Conventions
//! - API routes live in `src/app/api/<name>/route.ts`.
//! - Money is stored in cents as `Int`.
//! ```
//!
//! Parsing never fails: a malformed rule becomes a warning and is skipped.

use std::sync::OnceLock;

use globset::{GlobBuilder, GlobMatcher};
use regex::Regex;
use serde::{Deserialize, Serialize};

use super::imports::parent_dir;

/// Where the gitkeeper doc is looked for when the repository config names none.
pub const DEFAULT_DOC_PATHS: &[&str] =
    &["docs/gitkeeper.md", "GITKEEPER.md", ".github/gitkeeper.md"];

/// Instruction files of other tools, by file name, most specific first.
const INSTRUCTION_NAMES: &[&str] = &[
    "AGENTS.md",
    "CLAUDE.md",
    "GEMINI.md",
    "copilot-instructions.md",
    ".cursorrules",
    "CONTRIBUTING.md",
];

/// A heading of the doc.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocSection {
    /// Heading text without the `#`s.
    pub heading: String,
    /// Heading level (1 for `#`).
    pub level: u8,
    /// 1-based line of the heading.
    pub line: u32,
}

/// Where a rule was written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleSource {
    /// Repository-relative doc path.
    pub file: String,
    /// 1-based line of the bullet.
    pub line: u32,
}

/// A protected path glob.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PathRule {
    /// The glob as written.
    pub glob: String,
    /// Why, if the bullet says.
    pub reason: Option<String>,
    /// Where it was written.
    pub source: RuleSource,
}

/// What a pattern rule looks for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "value")]
pub enum Pattern {
    /// Exact text.
    Literal(String),
    /// A regular expression (Rust `regex` syntax, flags already folded in).
    Regex(String),
}

/// A forbidden or required pattern, optionally limited to some files.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PatternRule {
    /// What to look for.
    pub pattern: Pattern,
    /// Glob of files it applies to; all files when absent.
    pub scope: Option<String>,
    /// Why, if the bullet says.
    pub reason: Option<String>,
    /// Where it was written.
    pub source: RuleSource,
}

/// A free-text convention.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Convention {
    /// The bullet's text.
    pub text: String,
    /// Where it was written.
    pub source: RuleSource,
}

/// A forbidden pattern found in a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation<'r> {
    /// The rule broken.
    pub rule: &'r PatternRule,
    /// 1-based line of the match.
    pub line: usize,
    /// The matched text.
    pub matched: String,
}

/// The checkable rules of the gitkeeper doc.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Rules {
    /// Paths generated changes must not touch.
    pub protected: Vec<PathRule>,
    /// Patterns changed files must not contain.
    pub forbidden: Vec<PatternRule>,
    /// Patterns changed files must contain.
    pub required: Vec<PatternRule>,
    /// Guidance that is passed on, not checked.
    pub conventions: Vec<Convention>,
    #[serde(skip)]
    compiled: OnceLock<Compiled>,
}

impl PartialEq for Rules {
    fn eq(&self, other: &Self) -> bool {
        self.protected == other.protected
            && self.forbidden == other.forbidden
            && self.required == other.required
            && self.conventions == other.conventions
    }
}

#[derive(Debug, Clone)]
enum Matcher {
    Literal(String),
    Regex(Regex),
    /// A rule whose glob or regex does not compile; never matches.
    Never,
}

#[derive(Debug, Clone)]
struct CompiledPattern {
    scope: Option<Vec<GlobMatcher>>,
    matcher: Matcher,
}

#[derive(Debug, Clone)]
struct Compiled {
    protected: Vec<Vec<GlobMatcher>>,
    forbidden: Vec<CompiledPattern>,
    required: Vec<CompiledPattern>,
}

impl Rules {
    /// True when there are no rules at all.
    pub fn is_empty(&self) -> bool {
        self.protected.is_empty()
            && self.forbidden.is_empty()
            && self.required.is_empty()
            && self.conventions.is_empty()
    }

    fn compiled(&self) -> &Compiled {
        self.compiled.get_or_init(|| Compiled {
            protected: self
                .protected
                .iter()
                .map(|r| path_globs(&r.glob).unwrap_or_default())
                .collect(),
            forbidden: self.forbidden.iter().map(compile_pattern).collect(),
            required: self.required.iter().map(compile_pattern).collect(),
        })
    }

    /// True when `path` (repository-relative) is protected.
    pub fn is_protected(&self, path: &str) -> bool {
        self.protecting(path).is_some()
    }

    /// The first rule protecting `path`, to quote in an error.
    pub fn protecting(&self, path: &str) -> Option<&PathRule> {
        let path = normalize_path(path);
        self.compiled()
            .protected
            .iter()
            .position(|globs| globs.iter().any(|g| g.is_match(path)))
            .and_then(|i| self.protected.get(i))
    }

    /// Forbidden patterns that `content` of the file at `path` contains.
    pub fn forbidden_in(&self, path: &str, content: &str) -> Vec<Violation<'_>> {
        let path = normalize_path(path);
        let mut out = Vec::new();
        for (rule, compiled) in self.forbidden.iter().zip(&self.compiled().forbidden) {
            if !in_scope(compiled, path) {
                continue;
            }
            if let Some((offset, matched)) = find(&compiled.matcher, content) {
                out.push(Violation {
                    rule,
                    line: content[..offset].matches('\n').count() + 1,
                    matched,
                });
            }
        }
        out
    }

    /// Required patterns that `content` of the file at `path` lacks.
    pub fn missing_required(&self, path: &str, content: &str) -> Vec<&PatternRule> {
        let path = normalize_path(path);
        self.required
            .iter()
            .zip(&self.compiled().required)
            .filter(|(_, c)| in_scope(c, path) && !matches!(c.matcher, Matcher::Never))
            .filter(|(_, c)| find(&c.matcher, content).is_none())
            .map(|(r, _)| r)
            .collect()
    }

    fn extend(&mut self, other: Rules) {
        self.protected.extend(other.protected);
        self.forbidden.extend(other.forbidden);
        self.required.extend(other.required);
        self.conventions.extend(other.conventions);
        self.compiled = OnceLock::new();
    }
}

fn normalize_path(path: &str) -> &str {
    path.trim_start_matches("./").trim_start_matches('/')
}

fn in_scope(compiled: &CompiledPattern, path: &str) -> bool {
    compiled
        .scope
        .as_ref()
        .is_none_or(|globs| globs.iter().any(|g| g.is_match(path)))
}

fn find(matcher: &Matcher, content: &str) -> Option<(usize, String)> {
    match matcher {
        Matcher::Literal(text) => content.find(text.as_str()).map(|i| (i, text.clone())),
        Matcher::Regex(re) => re
            .find(content)
            .map(|m| (m.start(), m.as_str().to_string())),
        Matcher::Never => None,
    }
}

fn compile_pattern(rule: &PatternRule) -> CompiledPattern {
    let scope = match &rule.scope {
        Some(glob) => match path_globs(glob) {
            Ok(globs) => Some(globs),
            Err(_) => {
                return CompiledPattern {
                    scope: None,
                    matcher: Matcher::Never,
                };
            }
        },
        None => None,
    };
    let matcher = match &rule.pattern {
        Pattern::Literal(text) => Matcher::Literal(text.clone()),
        Pattern::Regex(re) => Regex::new(re).map_or(Matcher::Never, Matcher::Regex),
    };
    CompiledPattern { scope, matcher }
}

/// Compiles a rule glob with the documented semantics (gitignore-like).
fn path_globs(glob: &str) -> Result<Vec<GlobMatcher>, String> {
    let glob = glob.trim().trim_start_matches("./").trim_start_matches('/');
    if glob.is_empty() {
        return Err("empty path".to_string());
    }
    let is_dir = glob.ends_with('/');
    let glob = glob.trim_end_matches('/');
    let has_meta = glob.contains(['*', '?', '[', '{']);
    let anchored = glob.contains('/');
    let base = if anchored {
        glob.to_string()
    } else {
        format!("**/{glob}")
    };
    let mut patterns = vec![];
    if !is_dir {
        patterns.push(base.clone());
    }
    if is_dir || !has_meta || glob.ends_with("**") {
        patterns.push(format!("{base}/**"));
    }
    patterns
        .iter()
        .map(|p| {
            GlobBuilder::new(p)
                .literal_separator(true)
                .build()
                .map(|g| g.compile_matcher())
                .map_err(|e| e.to_string())
        })
        .collect()
}

/// A problem in the doc that made Gitkeeper skip a rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocWarning {
    /// Repository-relative doc path.
    pub file: String,
    /// 1-based line.
    pub line: u32,
    /// What is wrong and how to write it.
    pub message: String,
}

/// An instruction file of another tool, kept for the prompt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstructionFile {
    /// Repository-relative path.
    pub path: String,
    /// Directory it applies to (`""` for the whole repository).
    pub scope: String,
}

/// The gitkeeper doc as parsed, plus other tools' instruction files.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct GitkeeperDoc {
    /// Doc files read (repository-relative), empty when the repository has none.
    pub paths: Vec<String>,
    /// Headings, in order.
    pub sections: Vec<DocSection>,
    /// Rules from the rule sections.
    pub rules: Rules,
    /// Rules that could not be understood.
    pub warnings: Vec<DocWarning>,
    /// Instruction files that apply to the selected files, nearest first.
    pub instructions: Vec<InstructionFile>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SectionKind {
    Protected,
    Forbidden,
    Required,
    Conventions,
    Other,
}

fn section_kind(heading: &str) -> SectionKind {
    let normalized: String = heading
        .chars()
        .filter(|c| c.is_alphanumeric() || c.is_whitespace() || *c == '-')
        .collect::<String>()
        .to_lowercase();
    let words: Vec<&str> = normalized.split_whitespace().collect();
    match words.join(" ").as_str() {
        "protected paths" | "protected files" | "protected" | "do not edit" | "do not modify"
        | "read-only paths" | "readonly paths" => SectionKind::Protected,
        "forbidden patterns" | "forbidden" | "banned patterns" | "disallowed patterns" => {
            SectionKind::Forbidden
        }
        "required patterns" | "required" => SectionKind::Required,
        "conventions" | "coding conventions" | "code conventions" => SectionKind::Conventions,
        _ => SectionKind::Other,
    }
}

/// Parses a gitkeeper doc: headings, rules and warnings. Never fails.
pub fn parse_doc(file: &str, text: &str) -> GitkeeperDoc {
    let mut doc = GitkeeperDoc {
        paths: vec![file.to_string()],
        ..GitkeeperDoc::default()
    };
    let mut kind = SectionKind::Other;
    let mut kind_level = 0u8;
    let mut fence: Option<&str> = None;
    // (line, text) of the bullet being collected.
    let mut bullet: Option<(u32, String)> = None;
    let flush = |doc: &mut GitkeeperDoc, kind: SectionKind, bullet: &mut Option<(u32, String)>| {
        if let Some((line, text)) = bullet.take() {
            add_rule(doc, file, kind, line, text.trim());
        }
    };
    for (index, raw) in text.lines().enumerate() {
        let line_no = index as u32 + 1;
        let trimmed = raw.trim_start();
        if let Some(open) = fence {
            if trimmed.starts_with(open) {
                fence = None;
            }
            continue;
        }
        if trimmed.starts_with("```") || trimmed.starts_with("~~~") {
            flush(&mut doc, kind, &mut bullet);
            fence = Some(if trimmed.starts_with("```") {
                "```"
            } else {
                "~~~"
            });
            continue;
        }
        if let Some((level, heading)) = heading(raw) {
            flush(&mut doc, kind, &mut bullet);
            doc.sections.push(DocSection {
                heading: heading.to_string(),
                level,
                line: line_no,
            });
            let this = section_kind(heading);
            if this != SectionKind::Other {
                kind = this;
                kind_level = level;
            } else if level <= kind_level {
                kind = SectionKind::Other;
                kind_level = 0;
            }
            continue;
        }
        if kind == SectionKind::Other {
            continue;
        }
        let indent = raw.len() - trimmed.len();
        if let Some(item) = bullet_text(trimmed).filter(|_| indent < 4 || bullet.is_none()) {
            flush(&mut doc, kind, &mut bullet);
            bullet = Some((line_no, item.to_string()));
        } else if trimmed.is_empty() {
            flush(&mut doc, kind, &mut bullet);
        } else if let Some((_, text)) = bullet.as_mut() {
            text.push(' ');
            text.push_str(trimmed);
        }
    }
    flush(&mut doc, kind, &mut bullet);
    doc
}

/// `## Heading` → (2, "Heading"); `#hashtag` is not a heading.
fn heading(line: &str) -> Option<(u8, &str)> {
    let trimmed = line.trim_start();
    if line.len() - trimmed.len() > 3 {
        return None;
    }
    let level = trimmed.bytes().take_while(|&b| b == b'#').count();
    if level == 0 || level > 6 {
        return None;
    }
    let rest = &trimmed[level..];
    if !(rest.is_empty() || rest.starts_with(' ') || rest.starts_with('\t')) {
        return None;
    }
    Some((level as u8, rest.trim().trim_end_matches('#').trim()))
}

/// The text of a list item (`- x`, `* x`, `+ x`, `1. x`), if the line is one.
fn bullet_text(trimmed: &str) -> Option<&str> {
    for marker in ["- ", "* ", "+ "] {
        if let Some(rest) = trimmed.strip_prefix(marker) {
            let rest = rest.trim_start();
            // Task-list checkboxes.
            let rest = rest
                .strip_prefix("[ ] ")
                .or_else(|| rest.strip_prefix("[x] "))
                .unwrap_or(rest);
            return Some(rest);
        }
    }
    let digits = trimmed.bytes().take_while(u8::is_ascii_digit).count();
    if digits > 0 {
        let rest = &trimmed[digits..];
        if let Some(rest) = rest.strip_prefix(". ").or_else(|| rest.strip_prefix(") ")) {
            return Some(rest.trim_start());
        }
    }
    None
}

/// The first backticked span of `text` and what follows it.
fn backticked(text: &str) -> Option<(&str, &str, &str)> {
    let open = text.find('`')?;
    // Support ``double`` backticks for values containing a backtick.
    let ticks = text[open..].bytes().take_while(|&b| b == b'`').count();
    let fence = &text[open..open + ticks];
    let after = &text[open + ticks..];
    let close = after.find(fence)?;
    Some((
        &text[..open],
        after[..close].trim(),
        &after[close + ticks..],
    ))
}

fn add_rule(doc: &mut GitkeeperDoc, file: &str, kind: SectionKind, line: u32, text: &str) {
    let source = RuleSource {
        file: file.to_string(),
        line,
    };
    if text.is_empty() {
        return;
    }
    if kind == SectionKind::Conventions {
        doc.rules.conventions.push(Convention {
            text: text.to_string(),
            source,
        });
        return;
    }
    let warn = |doc: &mut GitkeeperDoc, message: String| {
        doc.warnings.push(DocWarning {
            file: file.to_string(),
            line,
            message,
        })
    };
    let Some((before, value, rest)) = backticked(text) else {
        warn(
            doc,
            format!("rule `{text}` has no value in backticks; write it as - `value` — reason"),
        );
        return;
    };
    if value.is_empty() {
        warn(doc, "rule has an empty value in backticks".to_string());
        return;
    }
    // Optional scope: `in `glob``.
    let mut rest = rest.trim_start();
    let mut scope = None;
    for word in ["in ", "under ", "for "] {
        if let Some(after) = rest.strip_prefix(word) {
            if let Some((gap, glob, tail)) = backticked(after) {
                if gap.trim().is_empty() {
                    scope = Some(glob.to_string());
                    rest = tail.trim_start();
                }
            }
            break;
        }
    }
    let reason = rest
        .trim_start_matches(|c: char| {
            matches!(c, '—' | '–' | '-' | ':' | ',' | ';') || c.is_whitespace()
        })
        .trim();
    let reason = (!reason.is_empty()).then(|| reason.to_string());
    match kind {
        SectionKind::Protected => {
            if let Err(e) = path_globs(value) {
                warn(
                    doc,
                    format!("protected path `{value}` is not a valid glob ({e}); it is ignored"),
                );
                return;
            }
            doc.rules.protected.push(PathRule {
                glob: value.to_string(),
                reason,
                source,
            });
        }
        SectionKind::Forbidden | SectionKind::Required => {
            let regex_word = before.trim().eq_ignore_ascii_case("regex")
                || before.trim().eq_ignore_ascii_case("regexp");
            let pattern = match slashed_regex(value) {
                Some(re) => Pattern::Regex(re),
                None if regex_word => Pattern::Regex(value.to_string()),
                None => Pattern::Literal(value.to_string()),
            };
            if let Pattern::Regex(re) = &pattern {
                if let Err(e) = Regex::new(re) {
                    let first = e.to_string();
                    let first = first.lines().last().unwrap_or("invalid");
                    warn(
                        doc,
                        format!(
                            "pattern `{value}` is not a valid regular expression ({first}); it is ignored"
                        ),
                    );
                    return;
                }
            }
            if let Some(glob) = &scope {
                if let Err(e) = path_globs(glob) {
                    warn(
                        doc,
                        format!("scope `{glob}` is not a valid glob ({e}); the rule is ignored"),
                    );
                    return;
                }
            }
            let rule = PatternRule {
                pattern,
                scope,
                reason,
                source,
            };
            if kind == SectionKind::Forbidden {
                doc.rules.forbidden.push(rule);
            } else {
                doc.rules.required.push(rule);
            }
        }
        SectionKind::Conventions | SectionKind::Other => {}
    }
}

/// `/re/` or `/re/i` → the regex (flags folded in).
fn slashed_regex(value: &str) -> Option<String> {
    let inner = value.strip_prefix('/')?;
    let close = inner.rfind('/')?;
    let (body, flags) = (&inner[..close], &inner[close + 1..]);
    if body.is_empty() || !flags.chars().all(|c| matches!(c, 'i' | 'm' | 's' | 'x')) {
        return None;
    }
    Some(if flags.is_empty() {
        body.to_string()
    } else {
        format!("(?{flags}){body}")
    })
}

/// Merges several parsed docs (several configured paths) into one.
pub(crate) fn merge(docs: Vec<GitkeeperDoc>) -> GitkeeperDoc {
    let mut out = GitkeeperDoc::default();
    for doc in docs {
        out.paths.extend(doc.paths);
        out.sections.extend(doc.sections);
        out.rules.extend(doc.rules);
        out.warnings.extend(doc.warnings);
    }
    out
}

/// The gitkeeper doc paths to read: configured ones that exist, else the
/// first default that exists (case-insensitively).
pub(crate) fn doc_paths(configured: &[String], files: &[&str]) -> Vec<String> {
    let exists = |p: &str| files.binary_search(&p).is_ok();
    let configured: Vec<String> = configured
        .iter()
        .map(|p| normalize_path(p).to_string())
        .filter(|p| exists(p))
        .collect();
    if !configured.is_empty() {
        return configured;
    }
    for default in DEFAULT_DOC_PATHS {
        if exists(default) {
            return vec![default.to_string()];
        }
    }
    for default in DEFAULT_DOC_PATHS {
        if let Some(found) = files.iter().find(|f| f.eq_ignore_ascii_case(default)) {
            return vec![found.to_string()];
        }
    }
    Vec::new()
}

/// All instruction files of other tools in the repository, with the
/// directory each applies to.
pub(crate) fn instruction_files(files: &[&str]) -> Vec<InstructionFile> {
    files
        .iter()
        .filter_map(|path| {
            let name = path.rsplit('/').next().unwrap_or(path);
            if !INSTRUCTION_NAMES.contains(&name) {
                return None;
            }
            let dir = parent_dir(path);
            let scope = match (name, dir) {
                ("copilot-instructions.md", ".github") => "",
                ("copilot-instructions.md", _) => return None,
                ("CONTRIBUTING.md", ".github" | "docs" | "") => "",
                ("CONTRIBUTING.md", _) => return None,
                _ => dir,
            };
            Some(InstructionFile {
                path: path.to_string(),
                scope: scope.to_string(),
            })
        })
        .collect()
}

/// Keeps the instruction files whose scope contains one of `touched`, the
/// nearest (deepest scope) first; with nothing touched, the repository-wide ones.
pub(crate) fn nearest_instructions(
    all: &[InstructionFile],
    touched: &[&str],
) -> Vec<InstructionFile> {
    let applies =
        |scope: &str, file: &str| scope.is_empty() || file.starts_with(&format!("{scope}/"));
    let mut chosen: Vec<(usize, usize, &InstructionFile)> = all
        .iter()
        .filter(|f| f.scope.is_empty() || touched.iter().any(|t| applies(&f.scope, t)))
        .map(|f| {
            let depth = if f.scope.is_empty() {
                0
            } else {
                f.scope.split('/').count()
            };
            let name = f.path.rsplit('/').next().unwrap_or(&f.path);
            let rank = INSTRUCTION_NAMES
                .iter()
                .position(|n| *n == name)
                .unwrap_or(usize::MAX);
            (depth, rank, f)
        })
        .collect();
    chosen.sort_by(|a, b| {
        b.0.cmp(&a.0)
            .then(a.1.cmp(&b.1))
            .then(a.2.path.cmp(&b.2.path))
    });
    chosen.into_iter().map(|(_, _, f)| f.clone()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXAMPLE: &str = include_str!("../../../README.md");

    /// The full example in the README's "The gitkeeper doc", as a repository would have it.
    fn example_doc() -> String {
        let start = EXAMPLE.find("```markdown\n").expect("example") + "```markdown\n".len();
        let end = start + EXAMPLE[start..].find("\n```\n").expect("example end");
        EXAMPLE[start..end].to_string()
    }

    #[test]
    fn documented_example_parses_into_rules() {
        let doc = parse_doc("docs/gitkeeper.md", &example_doc());
        assert!(doc.warnings.is_empty(), "{:?}", doc.warnings);
        let r = &doc.rules;
        assert_eq!(r.protected.len(), 4);
        assert_eq!(r.forbidden.len(), 4);
        assert_eq!(r.required.len(), 2);
        assert_eq!(r.conventions.len(), 4);
        assert_eq!(
            r.protected[0].reason.as_deref(),
            Some("applied migrations are history; add a new migration instead")
        );
        assert_eq!(
            r.forbidden[0].pattern,
            Pattern::Literal("console.log(".into())
        );
        assert_eq!(r.forbidden[0].scope.as_deref(), Some("src/**"));
        assert_eq!(r.forbidden[1].pattern, Pattern::Regex(r"\bany\b".into()));
        assert_eq!(doc.sections[0].heading, "Solar Sprint — gitkeeper");
    }

    #[test]
    fn protected_paths_match_like_gitignore() {
        let doc = parse_doc("docs/gitkeeper.md", &example_doc());
        let r = &doc.rules;
        assert!(r.is_protected("prisma/migrations/20240101_init/migration.sql"));
        assert!(r.is_protected("./prisma/migrations/x.sql"));
        assert!(!r.is_protected("prisma/schema.prisma"));
        assert!(r.is_protected(".github/workflows/ci.yml"));
        assert!(r.is_protected("pnpm.lock"));
        assert!(r.is_protected("packages/a/yarn.lock"));
        assert!(r.is_protected("src/generated/prisma/index.d.ts"));
        assert!(!r.is_protected("src/generated.ts"));
        assert_eq!(
            r.protecting(".github/workflows/ci.yml")
                .map(|p| p.glob.as_str()),
            Some(".github/workflows/**")
        );
    }

    #[test]
    fn forbidden_and_required_patterns_respect_scope() {
        let doc = parse_doc("docs/gitkeeper.md", &example_doc());
        let r = &doc.rules;
        let v = r.forbidden_in(
            "src/lib/x.ts",
            "const a = 1;\nlet b: any = 2;\nconsole.log(b)\n",
        );
        let found: Vec<(usize, &str)> = v.iter().map(|v| (v.line, v.matched.as_str())).collect();
        assert_eq!(found, [(3, "console.log("), (2, "any")]);
        assert!(r.forbidden_in("scripts/x.ts", "console.log(1)").is_empty());
        let missing = r.missing_required(
            "src/app/api/projects/route.ts",
            "export async function GET() {}",
        );
        assert_eq!(missing.len(), 1);
        assert!(
            r.missing_required("src/app/api/projects/route.ts", "await getSession(req)")
                .is_empty()
        );
        assert!(r.missing_required("src/lib/x.ts", "").is_empty());
    }

    #[test]
    fn free_form_markdown_has_text_but_no_rules() {
        let doc = parse_doc(
            "GITKEEPER.md",
            "# Our project\n\nWe use Next.js. Please keep things tidy.\n\n## Architecture\n- `src/app` is the router\n",
        );
        assert!(doc.rules.is_empty());
        assert!(doc.warnings.is_empty());
        assert_eq!(doc.sections.len(), 2);
    }

    #[test]
    fn malformed_rules_become_warnings() {
        let doc = parse_doc(
            "docs/gitkeeper.md",
            "## Forbidden patterns\n- console.log\n- `/([a-z/`\n- `x` in `[` — bad scope\n- `ok`\n",
        );
        assert_eq!(doc.rules.forbidden.len(), 1);
        assert_eq!(doc.warnings.len(), 3, "{:?}", doc.warnings);
        assert_eq!(doc.warnings[0].line, 2);
        assert!(doc.warnings[0].message.contains("backticks"));
    }

    #[test]
    fn sections_end_at_the_next_heading_and_code_blocks_are_skipped() {
        let doc = parse_doc(
            "docs/gitkeeper.md",
            "## Protected paths\n- `a/`\n### Why\n- `b/`\n## Other\n- `c/`\n## Protected files\n```\n- `d/`\n```\n- `e/`\n",
        );
        let globs: Vec<&str> = doc
            .rules
            .protected
            .iter()
            .map(|p| p.glob.as_str())
            .collect();
        assert_eq!(globs, ["a/", "b/", "e/"]);
    }

    #[test]
    fn regex_word_flags_and_multiline_bullets() {
        let doc = parse_doc(
            "docs/gitkeeper.md",
            "## Forbidden patterns\n- regex `@ts-(ignore|nocheck)` — fix it\n- `/todo/i`\n## Conventions\n- Long convention\n  continued here.\n",
        );
        assert_eq!(
            doc.rules.forbidden[0].pattern,
            Pattern::Regex("@ts-(ignore|nocheck)".into())
        );
        assert_eq!(
            doc.rules.forbidden[1].pattern,
            Pattern::Regex("(?i)todo".into())
        );
        assert!(!doc.rules.forbidden_in("a.ts", "// TODO later").is_empty());
        assert_eq!(
            doc.rules.conventions[0].text,
            "Long convention continued here."
        );
    }

    #[test]
    fn rules_survive_a_json_round_trip() {
        let doc = parse_doc("docs/gitkeeper.md", &example_doc());
        let json = serde_json::to_string(&doc).expect("serializes");
        let back: GitkeeperDoc = serde_json::from_str(&json).expect("deserializes");
        assert_eq!(back, doc);
        assert!(back.rules.is_protected("prisma/migrations/1/m.sql"));
    }

    #[test]
    fn doc_paths_prefer_configured_then_defaults() {
        let files = ["GITKEEPER.md", "docs/gitkeeper.md", "team/rules.md"];
        assert_eq!(doc_paths(&[], &files), ["docs/gitkeeper.md"]);
        assert_eq!(
            doc_paths(&["./team/rules.md".into()], &files),
            ["team/rules.md"]
        );
        assert_eq!(
            doc_paths(&["missing.md".into()], &files),
            ["docs/gitkeeper.md"]
        );
        assert_eq!(
            doc_paths(&[], &["docs/GitKeeper.md"]),
            ["docs/GitKeeper.md"]
        );
        assert!(doc_paths(&[], &["README.md"]).is_empty());
    }

    #[test]
    fn nearest_instruction_files_come_first() {
        let files = [
            ".github/copilot-instructions.md",
            "AGENTS.md",
            "CONTRIBUTING.md",
            "apps/api/AGENTS.md",
            "apps/web/AGENTS.md",
            "apps/web/src/CLAUDE.md",
            "packages/x/CONTRIBUTING.md",
        ];
        let all = instruction_files(&files);
        assert_eq!(all.len(), 6);
        let chosen = nearest_instructions(&all, &["apps/web/src/app/page.tsx"]);
        let paths: Vec<&str> = chosen.iter().map(|f| f.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "apps/web/src/CLAUDE.md",
                "apps/web/AGENTS.md",
                "AGENTS.md",
                ".github/copilot-instructions.md",
                "CONTRIBUTING.md"
            ]
        );
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            #[test]
            fn any_markdown_parses_and_rules_can_be_checked(
                text in "(#{0,3} ?(Protected paths|Forbidden patterns|Required patterns|Conventions|x)\n|[-*] ?`?[a-z/*.\\[\\]{}()?^$|]{0,12}`?( in `[a-z/*]{0,8}`)?( — r)?\n|\\PC{0,20}\n){0,12}",
                path in "[a-z/.]{0,20}",
                content in "\\PC{0,60}",
            ) {
                let doc = parse_doc("docs/gitkeeper.md", &text);
                let _ = doc.rules.is_protected(&path);
                let _ = doc.rules.forbidden_in(&path, &content);
                let _ = doc.rules.missing_required(&path, &content);
            }
        }
    }
}
