//! Do the API routes a changed file calls exist? A Next.js app's route
//! handlers (`app/**/route.ts`) and API pages (`pages/api/**`) are the API it
//! has; a `fetch('/api/…')`, `axios.<method>('/api/…')` or `useSWR('/api/…')`
//! in a changed file must match one of them (dynamic `[id]`, catch-all
//! `[...slug]` and optional catch-all segments, route groups and template
//! literals understood), and a route handler must export the HTTP method
//! called. Checked only for Next.js apps that have API routes and no
//! `rewrites` (which may send `/api` elsewhere).

use std::sync::OnceLock;

use regex::Regex;
use tree_sitter::Node;

use super::contract::Contract;
use super::findings::{CheckRule, Finding};
use super::syntax::{Parsed, position, preorder};

/// One segment of a route's path.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Static(String),
    /// `[id]`
    Dynamic,
    /// `[...slug]`: one or more segments.
    CatchAll,
    /// `[[...slug]]`: zero or more segments.
    OptionalCatchAll,
}

/// An API route of the app.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiRoute {
    /// The directory the app lives in (`""`, `apps/web`), for monorepos.
    pub app_dir: String,
    /// The URL path as written in the file tree (`/api/invoices/[id]`).
    pub url: String,
    /// The file that handles it.
    pub file: String,
    /// True for an App Router route handler (methods are exported by name).
    pub handler: bool,
    segments: Vec<Segment>,
}

const ROUTE_EXTENSIONS: &[&str] = &["ts", "tsx", "js", "jsx", "mjs"];
const METHODS: &[&str] = &["GET", "POST", "PUT", "PATCH", "DELETE"];

/// The API routes among the repository's files.
pub fn collect_routes<'a>(paths: impl IntoIterator<Item = &'a str>) -> Vec<ApiRoute> {
    let mut routes: Vec<ApiRoute> = paths.into_iter().filter_map(route_of).collect();
    routes.sort_by(|a, b| (&a.app_dir, &a.url).cmp(&(&b.app_dir, &b.url)));
    routes
}

fn route_of(path: &str) -> Option<ApiRoute> {
    let (stem, ext) = path.rsplit_once('.')?;
    if !ROUTE_EXTENSIONS.contains(&ext) || stem.ends_with(".d") {
        return None;
    }
    let parts: Vec<&str> = stem.split('/').collect();
    // `<app_dir>/[src/]app/…/route` or `<app_dir>/[src/]pages/api/…`.
    // The router directory: at the root or under `src/` of an app, else
    // the first directory of that name.
    let router_dir = |name: &str| {
        let at = |i: usize| parts[i] == name;
        (0..parts.len().saturating_sub(1))
            .find(|&i| at(i) && (i == 0 || parts[i - 1] == "src"))
            .or_else(|| (0..parts.len().saturating_sub(1)).find(|&i| at(i)))
    };
    let (app_at, handler) = if parts.last() == Some(&"route") {
        (router_dir("app")?, true)
    } else {
        let at = router_dir("pages")?;
        if parts.get(at + 1) != Some(&"api") {
            return None;
        }
        (at, false)
    };
    let mut app_dir_parts = &parts[..app_at];
    if app_dir_parts.last() == Some(&"src") {
        app_dir_parts = &app_dir_parts[..app_dir_parts.len() - 1];
    }
    let mut inner: Vec<&str> = parts[app_at + 1..].to_vec();
    // `…/route` names its folder; so does `pages/api/…/index`.
    if handler || inner.last() == Some(&"index") {
        inner.pop();
    }
    let mut segments = Vec::new();
    let mut url_parts = Vec::new();
    for part in inner {
        if part.starts_with('_') {
            return None; // private folder
        }
        if (part.starts_with('(') && part.ends_with(')')) || part.starts_with('@') {
            continue; // route group, parallel route slot
        }
        url_parts.push(part);
        segments.push(if part.starts_with("[[...") {
            Segment::OptionalCatchAll
        } else if part.starts_with("[...") {
            Segment::CatchAll
        } else if part.starts_with('[') {
            Segment::Dynamic
        } else {
            Segment::Static(part.to_string())
        });
    }
    Some(ApiRoute {
        app_dir: app_dir_parts.join("/"),
        url: format!("/{}", url_parts.join("/")),
        file: path.to_string(),
        handler,
        segments,
    })
}

/// A URL path as called: each segment literal text, or `None` when it has
/// an interpolation (matches anything).
fn matches(route: &[Segment], called: &[Option<&str>]) -> bool {
    match (route.first(), called.first()) {
        (None, None) => true,
        (Some(Segment::OptionalCatchAll), _) => true,
        (Some(Segment::CatchAll), Some(_)) => true,
        (Some(Segment::Dynamic), Some(_)) => matches(&route[1..], &called[1..]),
        (Some(Segment::Static(s)), Some(c)) => {
            c.is_none_or(|c| c == s) && matches(&route[1..], &called[1..])
        }
        _ => false,
    }
}

/// The methods a route handler file exports (`GET`, `POST`, …):
/// `export [async] function GET`, `export const GET`, `export { h as GET }`.
fn exported_methods(text: &str) -> Vec<&'static str> {
    static DECL: OnceLock<Option<Regex>> = OnceLock::new();
    static LIST: OnceLock<Option<Regex>> = OnceLock::new();
    let decl = DECL.get_or_init(|| {
        Regex::new(r"export\s+(?:async\s+)?(?:function\*?|const|let|var)\s+([A-Z]+)\b").ok()
    });
    let list = LIST.get_or_init(|| Regex::new(r"export\s*\{([^}]*)\}").ok());
    let mut names: Vec<String> = Vec::new();
    if let Some(re) = decl {
        names.extend(re.captures_iter(text).map(|c| c[1].to_string()));
    }
    if let Some(re) = list {
        for c in re.captures_iter(text) {
            for item in c[1].split(',') {
                let exported = item.rsplit(" as ").next().unwrap_or(item).trim();
                names.push(exported.to_string());
            }
        }
    }
    METHODS
        .iter()
        .copied()
        .filter(|m| names.iter().any(|n| n == m))
        .collect()
}

/// Findings for API calls in `file` whose route does not exist.
pub(crate) fn route_findings(
    parsed: &Parsed<'_>,
    contract: &Contract,
    read_local: &mut dyn FnMut(&str) -> Option<String>,
) -> Vec<Finding> {
    let (file, text, tree) = (parsed.path, parsed.text, parsed.tree);
    let routes = contract.api_routes_for(file);
    if routes.is_empty() {
        return Vec::new();
    }
    let mut calls: Vec<(Node<'_>, String, Vec<Option<String>>, String)> = Vec::new();
    preorder(tree.root_node(), &mut |node| {
        if node.kind() != "call_expression" {
            return;
        }
        let (Some(function), Some(args)) = (
            node.child_by_field_name("function"),
            node.child_by_field_name("arguments"),
        ) else {
            return;
        };
        let callee = text.get(function.byte_range()).unwrap_or_default();
        let method = match callee {
            "fetch" | "window.fetch" | "globalThis.fetch" => {
                args.named_child(1).and_then(|init| method_of(init, text))
            }
            "useSWR" | "useSWRImmutable" | "axios" => None,
            _ => match callee.strip_prefix("axios.") {
                Some(m) if METHODS.contains(&m.to_ascii_uppercase().as_str()) => {
                    Some(m.to_ascii_uppercase())
                }
                _ => return,
            },
        };
        let Some(url) = args.named_child(0) else {
            return;
        };
        let Some(segments) = url_segments(url, text) else {
            return;
        };
        let shown = format!(
            "`{callee}({})`",
            text.get(url.byte_range()).unwrap_or_default()
        );
        calls.push((url, shown, segments, method.unwrap_or_else(|| "GET".into())));
    });
    let mut out = Vec::new();
    for (node, shown, segments, method) in calls {
        let called: Vec<Option<&str>> = segments.iter().map(|s| s.as_deref()).collect();
        let found: Vec<&ApiRoute> = routes
            .iter()
            .copied()
            .filter(|r| matches(&r.segments, &called))
            .collect();
        let (line, column) = position(node, text);
        if found.is_empty() {
            let list: Vec<String> = routes
                .iter()
                .take(30)
                .map(|r| format!("{} ({})", r.url, r.file))
                .collect();
            out.push(
                Finding::new(
                    file,
                    CheckRule::UnknownApiRoute,
                    format!(
                        "{shown} — the app has no API route for this path; its API routes are: {}; call one that exists or add the route in this change",
                        list.join(", ")
                    ),
                )
                .at(line, Some(column)),
            );
            continue;
        }
        // With several candidates (a static and a dynamic match), one
        // exporting the method is enough.
        let handlers: Vec<(&ApiRoute, Vec<&'static str>)> = found
            .iter()
            .filter(|r| r.handler)
            .filter_map(|r| read_local(&r.file).map(|t| (*r, exported_methods(&t))))
            .collect();
        if handlers.len() < found.len()
            || handlers.iter().any(|(_, m)| m.contains(&method.as_str()))
        {
            continue;
        }
        if handlers.iter().all(|(_, m)| m.is_empty()) {
            continue; // exports it could not read
        }
        let (route, methods) = &handlers[0];
        out.push(
            Finding::new(
                file,
                CheckRule::UnknownApiRoute,
                format!(
                    "{shown} is called with {method}, but {} exports no {method} handler (it exports {}); use one of those methods or add `export async function {method}` to the route",
                    route.file,
                    methods.join(", ")
                ),
            )
            .at(line, Some(column)),
        );
    }
    out
}

/// `{ method: 'POST' }` → `POST`.
fn method_of(init: Node<'_>, text: &str) -> Option<String> {
    if init.kind() != "object" {
        return None;
    }
    let mut cursor = init.walk();
    let pairs: Vec<Node<'_>> = init.named_children(&mut cursor).collect();
    pairs.into_iter().find_map(|pair| {
        let key = pair.child_by_field_name("key")?;
        let value = pair.child_by_field_name("value")?;
        let key_text = text
            .get(key.byte_range())?
            .trim_matches(|c| c == '\'' || c == '"');
        (key_text == "method" && value.kind() == "string").then(|| {
            text.get(value.byte_range())
                .unwrap_or_default()
                .trim_matches(|c| c == '\'' || c == '"')
                .to_ascii_uppercase()
        })
    })
}

/// The path segments of a `/api/…` string or template literal (query and
/// hash dropped); `None` for anything else.
fn url_segments(node: Node<'_>, text: &str) -> Option<Vec<Option<String>>> {
    const HOLE: char = '\u{0}';
    let literal = match node.kind() {
        "string" => text
            .get(node.byte_range())?
            .trim_matches(|c| c == '\'' || c == '"')
            .to_string(),
        "template_string" => {
            let mut s = String::new();
            let mut cursor = node.walk();
            let start = node.start_byte() + 1;
            let end = node.end_byte().saturating_sub(1);
            let mut at = start;
            let subs: Vec<Node<'_>> = node
                .named_children(&mut cursor)
                .filter(|n| n.kind() == "template_substitution")
                .collect();
            for sub in subs {
                s.push_str(text.get(at..sub.start_byte())?);
                s.push(HOLE);
                at = sub.end_byte();
            }
            s.push_str(text.get(at..end.max(at))?);
            s
        }
        _ => return None,
    };
    let path = literal.split(['?', '#']).next().unwrap_or_default();
    if !(path == "/api" || path.starts_with("/api/")) {
        return None;
    }
    Some(
        path.trim_end_matches('/')
            .split('/')
            .skip(1)
            .map(|seg| (!seg.contains(HOLE)).then(|| seg.to_string()))
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn route_files_become_urls() {
        let routes = collect_routes([
            "src/app/api/invoices/route.ts",
            "src/app/api/invoices/[id]/route.ts",
            "src/app/(admin)/api/admin/[...path]/route.ts",
            "app/api/_lib/route.ts",
            "pages/api/health.ts",
            "pages/api/users/index.ts",
            "pages/about.tsx",
            "src/app/page.tsx",
            "apps/web/app/api/ping/route.js",
            "src/app/api/app/route.ts",
        ]);
        let urls: Vec<(&str, &str)> = routes
            .iter()
            .map(|r| (r.app_dir.as_str(), r.url.as_str()))
            .collect();
        assert_eq!(
            urls,
            [
                ("", "/api/admin/[...path]"),
                ("", "/api/app"),
                ("", "/api/health"),
                ("", "/api/invoices"),
                ("", "/api/invoices/[id]"),
                ("", "/api/users"),
                ("apps/web", "/api/ping"),
            ]
        );
    }

    #[test]
    fn dynamic_and_catch_all_segments_match() {
        let seg = |s: &str| Segment::Static(s.to_string());
        let route = [seg("api"), seg("invoices"), Segment::Dynamic];
        assert!(matches(&route, &[Some("api"), Some("invoices"), Some("7")]));
        assert!(matches(&route, &[Some("api"), None, Some("7")]));
        assert!(!matches(&route, &[Some("api"), Some("invoices")]));
        let catch = [seg("api"), Segment::CatchAll];
        assert!(matches(&catch, &[Some("api"), Some("a"), Some("b")]));
        assert!(!matches(&catch, &[Some("api")]));
        let optional = [seg("api"), Segment::OptionalCatchAll];
        assert!(matches(&optional, &[Some("api")]));
    }

    #[test]
    fn exported_methods_are_found() {
        let text = "export async function GET() {}\nexport const POST = handler;\nconst PUT = 1;\nexport { x as DELETE };\n";
        assert_eq!(exported_methods(text), ["GET", "POST", "DELETE"]);
    }
}
