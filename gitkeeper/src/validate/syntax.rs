//! Does each changed file parse? TS/TSX/JS/JSX with tree-sitter (the error
//! or missing token nearest the start, with line and column), JSON with
//! serde_json (JSON-with-comments for tsconfig-like files), Prisma schemas
//! with our own parser. Parsing has a time budget so hostile input cannot
//! stall validation; nothing here panics on any input.

use std::ops::ControlFlow;
use std::time::{Duration, Instant};

use tree_sitter::{Language, Node, ParseOptions, Parser, Tree};

use super::findings::{CheckRule, Finding};
use crate::context::prisma;
use crate::context::tsconfig::parse_jsonc;

/// Longest a single file may take to parse.
const PARSE_BUDGET: Duration = Duration::from_secs(2);
/// Most syntax errors reported per file (the first ones matter most).
const MAX_ERRORS_PER_FILE: usize = 3;

/// A grammar tree-sitter parses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Grammar {
    TypeScript,
    Tsx,
    JavaScript,
}

impl Grammar {
    /// The grammar for a path, by extension.
    pub(crate) fn for_path(path: &str) -> Option<Grammar> {
        let ext = path.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase())?;
        match ext.as_str() {
            "ts" | "mts" | "cts" => Some(Grammar::TypeScript),
            "tsx" => Some(Grammar::Tsx),
            "js" | "jsx" | "mjs" | "cjs" => Some(Grammar::JavaScript),
            _ => None,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Grammar::TypeScript => "TypeScript",
            Grammar::Tsx => "TypeScript with JSX (TSX)",
            Grammar::JavaScript => "JavaScript",
        }
    }

    fn language(self) -> Language {
        match self {
            Grammar::TypeScript => tree_sitter_typescript::LANGUAGE_TYPESCRIPT.into(),
            Grammar::Tsx => tree_sitter_typescript::LANGUAGE_TSX.into(),
            Grammar::JavaScript => tree_sitter_javascript::LANGUAGE.into(),
        }
    }
}

/// One parser per grammar, made on first use and reused across files.
#[derive(Default)]
pub(crate) struct Parsers {
    parsers: Vec<(Grammar, Parser)>,
}

impl Parsers {
    /// Parses `text`; `Err` says why no tree was produced (the grammar
    /// failed to load, or the time budget ran out).
    pub(crate) fn parse(&mut self, grammar: Grammar, text: &str) -> Result<Tree, String> {
        let index = match self.parsers.iter().position(|(g, _)| *g == grammar) {
            Some(i) => i,
            None => {
                let mut parser = Parser::new();
                parser
                    .set_language(&grammar.language())
                    .map_err(|e| format!("the {} grammar did not load: {e}", grammar.name()))?;
                self.parsers.push((grammar, parser));
                self.parsers.len() - 1
            }
        };
        let parser = &mut self.parsers[index].1;
        let start = Instant::now();
        let mut over_budget = |_: &tree_sitter::ParseState| {
            if start.elapsed() > PARSE_BUDGET {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        };
        let bytes = text.as_bytes();
        let tree = parser.parse_with_options(
            &mut |i, _| bytes.get(i..).unwrap_or_default(),
            None,
            Some(ParseOptions::new().progress_callback(&mut over_budget)),
        );
        parser.reset();
        tree.ok_or_else(|| {
            format!(
                "parsing took longer than {}s and was stopped",
                PARSE_BUDGET.as_secs()
            )
        })
    }
}

/// A changed TS/JS file with its tree, as the code checks read it.
pub(crate) struct Parsed<'a> {
    /// Repository-relative path.
    pub path: &'a str,
    /// Its content.
    pub text: &'a str,
    /// Its tree-sitter tree.
    pub tree: &'a Tree,
}

/// 1-based line and column (characters) of a node's start.
pub(crate) fn position(node: Node<'_>, text: &str) -> (u32, u32) {
    let point = node.start_position();
    let start = node.start_byte();
    let line_start = start.saturating_sub(point.column);
    let column = text
        .get(line_start..start)
        .map_or(point.column, |s| s.chars().count());
    (to_u32(point.row + 1), to_u32(column + 1))
}

pub(crate) fn to_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// Visits every node in source order without recursion.
pub(crate) fn preorder<'t>(root: Node<'t>, visit: &mut dyn FnMut(Node<'t>)) {
    let mut cursor = root.walk();
    loop {
        visit(cursor.node());
        if cursor.goto_first_child() {
            continue;
        }
        loop {
            if cursor.goto_next_sibling() {
                break;
            }
            if !cursor.goto_parent() {
                return;
            }
        }
    }
}

/// A node's source text, shortened to one line of at most `max` characters.
pub(crate) fn snippet(node: Node<'_>, text: &str, max: usize) -> String {
    let raw = text.get(node.byte_range()).unwrap_or_default();
    let line = raw.lines().next().unwrap_or_default().trim();
    if line.chars().count() > max {
        let cut: String = line.chars().take(max).collect();
        format!("{cut}…")
    } else {
        line.to_string()
    }
}

/// Syntax errors in a parsed TS/JS file: the outermost error and missing
/// nodes in source order, at most a few.
pub(crate) fn tree_errors(file: &str, grammar: Grammar, tree: &Tree, text: &str) -> Vec<Finding> {
    let root = tree.root_node();
    if !root.has_error() {
        return Vec::new();
    }
    let mut out = Vec::new();
    let mut cursor = root.walk();
    'walk: loop {
        let node = cursor.node();
        let descend = if node.is_missing() {
            let (line, column) = position(node, text);
            out.push(
                Finding::new(
                    file,
                    CheckRule::Syntax,
                    format!(
                        "syntax error: missing `{}` here; the file must parse as {}",
                        node.kind(),
                        grammar.name()
                    ),
                )
                .at(line, Some(column)),
            );
            false
        } else if node.is_error() {
            let (line, column) = position(node, text);
            let near = snippet(node, text, 40);
            let what = if near.is_empty() {
                "unexpected end of input".to_string()
            } else {
                format!("unexpected `{near}`")
            };
            out.push(
                Finding::new(
                    file,
                    CheckRule::Syntax,
                    format!(
                        "syntax error: {what}; the file must parse as {}",
                        grammar.name()
                    ),
                )
                .at(line, Some(column)),
            );
            false
        } else {
            node.has_error()
        };
        if out.len() >= MAX_ERRORS_PER_FILE {
            break;
        }
        if descend && cursor.goto_first_child() {
            continue;
        }
        loop {
            if cursor.goto_next_sibling() {
                continue 'walk;
            }
            if !cursor.goto_parent() {
                break 'walk;
            }
        }
    }
    out
}

/// Files whose JSON may have comments and trailing commas.
fn is_jsonc(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path);
    path.ends_with(".jsonc")
        || path.starts_with(".vscode/")
        || path.contains("/.vscode/")
        || (name.starts_with("tsconfig") && name.ends_with(".json"))
        || (name.starts_with("jsconfig") && name.ends_with(".json"))
        || name == ".eslintrc.json"
        || name == ".babelrc"
        || name == "devcontainer.json"
        || name == ".devcontainer.json"
        || name == "turbo.json"
}

/// True for files checked as JSON.
pub(crate) fn is_json(path: &str) -> bool {
    path.ends_with(".json") || path.ends_with(".jsonc")
}

/// The JSON syntax error of a file, if any.
pub(crate) fn json_errors(file: &str, text: &str) -> Vec<Finding> {
    if is_jsonc(file) {
        return match parse_jsonc(text) {
            Ok(_) => Vec::new(),
            Err(message) => vec![Finding::new(
                file,
                CheckRule::Json,
                format!("invalid JSON (comments and trailing commas are allowed here): {message}"),
            )],
        };
    }
    match serde_json::from_str::<serde::de::IgnoredAny>(text.trim_start_matches('\u{feff}')) {
        Ok(_) => Vec::new(),
        Err(err) => {
            let message = err.to_string();
            let message = match message.rfind(" at line ") {
                Some(i) => &message[..i],
                None => message.as_str(),
            };
            vec![
                Finding::new(
                    file,
                    CheckRule::Json,
                    format!(
                        "invalid JSON: {message} (strict JSON: no comments, no trailing commas)"
                    ),
                )
                .at(to_u32(err.line()), Some(to_u32(err.column()))),
            ]
        }
    }
}

/// The Prisma schema syntax error of a `.prisma` file, if any.
pub(crate) fn prisma_errors(file: &str, text: &str) -> Vec<Finding> {
    match prisma::parse_schema(file, text) {
        Ok(_) => Vec::new(),
        Err(err) => vec![
            Finding::new(
                file,
                CheckRule::PrismaSchema,
                format!("the Prisma schema does not parse: {}", err.message),
            )
            .at(err.line, Some(err.column)),
        ],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn errors(path: &str, text: &str) -> Vec<Finding> {
        let grammar = Grammar::for_path(path).expect("grammar");
        let tree = Parsers::default().parse(grammar, text).expect("tree");
        tree_errors(path, grammar, &tree, text)
    }

    #[test]
    fn valid_typescript_tsx_and_javascript_have_no_errors() {
        assert!(
            errors(
                "a.ts",
                "export const x: number = 1;\ntype T = { a?: string };\n"
            )
            .is_empty()
        );
        assert!(
            errors(
                "a.tsx",
                "export default function P() { return <div className=\"x\">hi</div>; }\n"
            )
            .is_empty()
        );
        assert!(errors("a.jsx", "const a = <b>{1}</b>;\n").is_empty());
        assert!(errors("a.mjs", "import fs from 'node:fs';\nexport { fs };\n").is_empty());
    }

    #[test]
    fn syntax_error_has_line_and_column() {
        let found = errors("src/a.ts", "const a = 1;\nconst b = ;\n");
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].line, Some(2));
        assert_eq!(found[0].rule, CheckRule::Syntax);
        let found = errors("src/a.ts", "function f() {\n  return 1;\n");
        assert!(!found.is_empty());
        assert!(found[0].message.contains("missing `}`"), "{found:?}");
    }

    #[test]
    fn jsx_in_a_ts_file_is_a_syntax_error() {
        assert!(!errors("a.ts", "const a = <div>{x}</div>;\n").is_empty());
    }

    #[test]
    fn json_errors_have_positions_and_tsconfig_allows_comments() {
        let found = json_errors("package.json", "{\n  \"a\": 1,\n}\n");
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].line, Some(3));
        assert!(json_errors("tsconfig.json", "{ // c\n \"a\": 1, }").is_empty());
        assert!(!json_errors("tsconfig.json", "{ \"a\": }").is_empty());
    }
}
