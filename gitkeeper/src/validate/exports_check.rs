//! Do the names a changed file imports from the repository's own modules
//! exist? `import { formatMoney } from '@/lib/money'` needs `money.ts` to
//! export `formatMoney`; a default import needs a default export. Exports are
//! read with tree-sitter (declarations, `export { … }`, re-exports, `export *`
//! followed a few modules deep). A module whose exports cannot be known for
//! sure (CommonJS, `export =`, ambient `declare module`, destructured
//! exports, syntax errors, `export *` from a package) accepts every name.

use std::collections::{BTreeSet, HashMap};

use tree_sitter::{Node, Tree};

use super::contract::Contract;
use super::findings::{CheckRule, Finding};
use super::syntax::{Grammar, Parsed, Parsers, position, preorder};
use crate::context::imports::ImportTarget;
use crate::context::read::RepoRoot;

/// `export * from` chains followed.
const MAX_STAR_DEPTH: usize = 4;
/// Largest module read for its exports.
const MAX_MODULE_BYTES: u64 = 512 * 1024;

/// What a module exports, as far as can be told.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Exports {
    /// Exactly these names (`default` for a default export).
    Known(BTreeSet<String>),
    /// Anything may be exported.
    Unknown,
}

/// Exports of repository modules, read once each.
pub(crate) struct ExportIndex<'a> {
    root: &'a RepoRoot,
    contract: &'a Contract,
    cache: HashMap<String, Exports>,
}

impl<'a> ExportIndex<'a> {
    pub(crate) fn new(root: &'a RepoRoot, contract: &'a Contract) -> Self {
        Self {
            root,
            contract,
            cache: HashMap::new(),
        }
    }

    fn exports(&mut self, parsers: &mut Parsers, path: &str, depth: usize) -> Exports {
        if let Some(e) = self.cache.get(path) {
            return e.clone();
        }
        // Guard against `export *` cycles while this module is being read.
        self.cache.insert(path.to_string(), Exports::Unknown);
        let exports = self.read_exports(parsers, path, depth);
        self.cache.insert(path.to_string(), exports.clone());
        exports
    }

    fn read_exports(&mut self, parsers: &mut Parsers, path: &str, depth: usize) -> Exports {
        let Some(grammar) = Grammar::for_path(path) else {
            return Exports::Unknown;
        };
        let Ok(text) = self.root.read_text(path, MAX_MODULE_BYTES) else {
            return Exports::Unknown;
        };
        if text.contains("module.exports")
            || text.contains("exports.")
            || text.contains("declare module")
            || text.contains("declare global")
        {
            return Exports::Unknown;
        }
        let Ok(tree) = parsers.parse(grammar, &text) else {
            return Exports::Unknown;
        };
        let Some((mut names, stars)) = declared_exports(&tree, &text) else {
            return Exports::Unknown;
        };
        for spec in stars {
            if depth >= MAX_STAR_DEPTH {
                return Exports::Unknown;
            }
            let ImportTarget::File(target) = self.contract.resolver.resolve(path, &spec) else {
                return Exports::Unknown;
            };
            match self.exports(parsers, &target, depth + 1) {
                // `export *` never re-exports a default.
                Exports::Known(more) => names.extend(more.into_iter().filter(|n| n != "default")),
                Exports::Unknown => return Exports::Unknown,
            }
        }
        Exports::Known(names)
    }
}

/// Top-level exported names and `export * from` sources; `None` when the
/// module's exports cannot be known.
fn declared_exports(tree: &Tree, text: &str) -> Option<(BTreeSet<String>, Vec<String>)> {
    let root = tree.root_node();
    if root.has_error() {
        return None;
    }
    let src = |n: Node<'_>| text.get(n.byte_range()).unwrap_or_default();
    let mut names = BTreeSet::new();
    let mut stars = Vec::new();
    let mut cursor = root.walk();
    let statements: Vec<Node<'_>> = root.named_children(&mut cursor).collect();
    for stmt in statements
        .into_iter()
        .filter(|s| s.kind() == "export_statement")
    {
        let mut c = stmt.walk();
        let children: Vec<Node<'_>> = stmt.children(&mut c).collect();
        if children.iter().any(|n| n.kind() == "=") {
            return None; // `export = x`
        }
        if children.iter().any(|n| n.kind() == "default") {
            names.insert("default".to_string());
            continue;
        }
        if let Some(clause) = children.iter().find(|n| n.kind() == "export_clause") {
            let mut c = clause.walk();
            let specs: Vec<Node<'_>> = clause.named_children(&mut c).collect();
            for spec in specs.into_iter().filter(|s| s.kind() == "export_specifier") {
                let exported = spec
                    .child_by_field_name("alias")
                    .or_else(|| spec.child_by_field_name("name"))?;
                names.insert(
                    src(exported)
                        .trim_matches(|c| c == '\'' || c == '"')
                        .to_string(),
                );
            }
            continue;
        }
        if let Some(ns) = children.iter().find(|n| n.kind() == "namespace_export") {
            let id = ns.named_child(0)?;
            names.insert(src(id).trim_matches(|c| c == '\'' || c == '"').to_string());
            continue;
        }
        if children.iter().any(|n| n.kind() == "*") {
            let source = stmt.child_by_field_name("source")?;
            stars.push(
                src(source)
                    .trim_matches(|c| c == '\'' || c == '"')
                    .to_string(),
            );
            continue;
        }
        let declaration = stmt.child_by_field_name("declaration")?;
        declaration_names(declaration, &src, &mut names)?;
    }
    Some((names, stars))
}

/// Names a declaration introduces; `None` for shapes not understood.
fn declaration_names<'t>(
    decl: Node<'t>,
    src: &dyn Fn(Node<'t>) -> &'t str,
    names: &mut BTreeSet<String>,
) -> Option<()> {
    match decl.kind() {
        "lexical_declaration" | "variable_declaration" => {
            let mut c = decl.walk();
            let declarators: Vec<Node<'_>> = decl.named_children(&mut c).collect();
            for d in declarators
                .into_iter()
                .filter(|d| d.kind() == "variable_declarator")
            {
                let name = d.child_by_field_name("name")?;
                if name.kind() != "identifier" {
                    return None; // destructuring
                }
                names.insert(src(name).to_string());
            }
            Some(())
        }
        "ambient_declaration" => {
            let inner = decl.named_child(0)?;
            declaration_names(inner, src, names)
        }
        _ => {
            let name = decl.child_by_field_name("name")?;
            names.insert(src(name).to_string());
            Some(())
        }
    }
}

/// Findings for names imported (or re-exported) from repository modules
/// that those modules do not export.
pub(crate) fn export_findings(
    parsed: &Parsed<'_>,
    index: &mut ExportIndex<'_>,
    parsers: &mut Parsers,
) -> Vec<Finding> {
    let (file, text, tree) = (parsed.path, parsed.text, parsed.tree);
    let src = |n: Node<'_>| text.get(n.byte_range()).unwrap_or_default().to_string();
    // (source specifier, wanted name, node to point at)
    let mut wanted: Vec<(String, String, Node<'_>)> = Vec::new();
    preorder(tree.root_node(), &mut |node| {
        let kind = node.kind();
        if kind != "import_statement" && kind != "export_statement" {
            return;
        }
        let Some(source) = node.child_by_field_name("source") else {
            return;
        };
        let spec = src(source)
            .trim_matches(|c| c == '\'' || c == '"')
            .to_string();
        preorder(node, &mut |n| match n.kind() {
            "import_specifier" | "export_specifier" => {
                if let Some(name) = n.child_by_field_name("name") {
                    let name_text = src(name)
                        .trim_matches(|c| c == '\'' || c == '"')
                        .to_string();
                    wanted.push((spec.clone(), name_text, name));
                }
            }
            "import_clause" => {
                if let Some(first) = n.named_child(0).filter(|f| f.kind() == "identifier") {
                    wanted.push((spec.clone(), "default".to_string(), first));
                }
            }
            _ => {}
        });
    });
    let mut out = Vec::new();
    for (spec, name, node) in wanted {
        let ImportTarget::File(target) = index.contract.resolver.resolve(file, &spec) else {
            continue;
        };
        if target == file {
            continue;
        }
        let Exports::Known(names) = index.exports(parsers, &target, 0) else {
            continue;
        };
        if names.contains(&name) {
            continue;
        }
        let listed: Vec<&str> = names
            .iter()
            .map(String::as_str)
            .filter(|n| *n != "default")
            .take(40)
            .collect();
        let exports = if listed.is_empty() {
            "it has no named exports".to_string()
        } else {
            format!("it exports: {}", listed.join(", "))
        };
        let message = if name == "default" {
            format!(
                "`{spec}` ({target}) has no default export; import one of its named exports instead ({exports})"
            )
        } else {
            format!(
                "`{name}` is not exported by {target} (imported as `{spec}`); {exports}{}",
                if names.contains("default") {
                    ", and a default export"
                } else {
                    ""
                }
            )
        };
        let (line, column) = position(node, text);
        out.push(Finding::new(file, CheckRule::MissingExport, message).at(line, Some(column)));
    }
    out
}
