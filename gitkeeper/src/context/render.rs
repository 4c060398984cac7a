//! The package as prompt text (and, for people, as a summary): project line, schema summary, directory tree,
//! then each file in a fenced block headed by its path and why it is there.
//! Deterministic, so the same package always renders (and counts) the same.

use std::fmt::Write;

use super::ContextPackage;
use super::select::{OmitCause, Reason, SelectedFile};

/// Language tag for a fenced block.
fn language(path: &str) -> &'static str {
    let name = path.rsplit('/').next().unwrap_or(path);
    let ext = name.rsplit_once('.').map_or("", |(_, e)| e);
    match ext {
        "ts" | "mts" | "cts" => "ts",
        "tsx" => "tsx",
        "js" | "mjs" | "cjs" => "js",
        "jsx" => "jsx",
        "json" => "json",
        "md" | "mdx" => "markdown",
        "prisma" => "prisma",
        "py" => "python",
        "rs" => "rust",
        "go" => "go",
        "css" => "css",
        "scss" => "scss",
        "yml" | "yaml" => "yaml",
        "toml" => "toml",
        "sql" => "sql",
        "sh" => "bash",
        "html" => "html",
        "vue" => "vue",
        "svelte" => "svelte",
        "graphql" | "gql" => "graphql",
        _ => "",
    }
}

/// The line that replaces cut lines, as a comment in the file's language.
pub(crate) fn elision_marker(path: &str, lines: usize) -> String {
    let name = path.rsplit('/').next().unwrap_or(path);
    let ext = name.rsplit_once('.').map_or("", |(_, e)| e);
    let text = format!("… {lines} lines elided …");
    match ext {
        "py" | "rb" | "sh" | "yml" | "yaml" | "toml" | "r" | "pl" => format!("# {text}"),
        "md" | "mdx" | "html" | "xml" | "vue" | "svelte" => format!("<!-- {text} -->"),
        "css" => format!("/* {text} */"),
        "sql" => format!("-- {text}"),
        _ if name == "Dockerfile" || name == "Makefile" => format!("# {text}"),
        _ => format!("// {text}"),
    }
}

/// A backtick fence longer than any run of backticks in `content`.
fn fence(content: &str) -> String {
    let mut longest = 0;
    let mut run = 0;
    for c in content.chars() {
        if c == '`' {
            run += 1;
            longest = longest.max(run);
        } else {
            run = 0;
        }
    }
    "`".repeat((longest + 1).max(3))
}

fn reasons_text(reasons: &[Reason]) -> String {
    reasons
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

/// Everything of a file's block except its content (for counting).
pub(crate) fn file_header(path: &str, reasons: &[Reason], content: &str) -> String {
    let f = fence(content);
    format!(
        "## {path} — {}\n{f}{}\n\n{f}\n",
        reasons_text(reasons),
        language(path)
    )
}

/// One file as a fenced block.
pub(crate) fn file_block(file: &SelectedFile) -> String {
    let f = fence(&file.content);
    let mut out = format!(
        "## {} — {}\n{f}{}\n",
        file.path,
        reasons_text(&file.reasons),
        language(&file.path)
    );
    out.push_str(&file.content);
    if !file.content.ends_with('\n') {
        out.push('\n');
    }
    out.push_str(&f);
    out.push('\n');
    out
}

/// The prompt text before the files: project, schema, tree.
pub(crate) fn header(pkg: &ContextPackage) -> String {
    let mut out = String::from("# Project\n");
    let p = &pkg.project;
    let name = match (&p.name, &p.version) {
        (Some(n), Some(v)) => format!("{n} {v}"),
        (Some(n), None) => n.clone(),
        _ => "(unnamed)".to_string(),
    };
    let stack = p.stack_summary();
    if stack.is_empty() {
        let _ = writeln!(out, "{name}");
    } else {
        let _ = writeln!(out, "{name}: {stack}");
    }
    if let Some(m) = &pkg.manifest {
        let pm = m
            .package_manager
            .as_ref()
            .map_or("npm (assumed)", |p| p.kind.command());
        let scripts: Vec<&str> = m.scripts.keys().map(String::as_str).collect();
        if scripts.is_empty() {
            let _ = writeln!(out, "Package manager: {pm}");
        } else {
            let _ = writeln!(
                out,
                "Package manager: {pm}; scripts: {}",
                scripts.join(", ")
            );
        }
    }
    if let Some(m) = &pkg.manifest {
        // Names only: versions and script commands are in package.json,
        // selected whole when the task names it.
        for (label, deps) in [
            ("Dependencies", &m.dependencies),
            ("Dev dependencies", &m.dev_dependencies),
            ("Peer dependencies", &m.peer_dependencies),
        ] {
            if !deps.is_empty() {
                let names: Vec<&str> = deps.keys().map(String::as_str).collect();
                let _ = writeln!(out, "{label}: {}", names.join(", "));
            }
        }
    }
    if let Some(ts) = &pkg.tsconfig {
        if !ts.paths.is_empty() {
            let aliases: Vec<String> = ts
                .paths
                .iter()
                .map(|a| format!("{} → {}", a.pattern, a.targets.join(" | ")))
                .collect();
            let _ = writeln!(out, "Import aliases: {}", aliases.join(", "));
        }
    }
    if let Some(schema) = &pkg.schema {
        let files = &schema.location.files;
        let shown = match files.len() {
            0..=3 => files.join(", "),
            n => format!(
                "{} and {} more .prisma files",
                files.first().map_or("", String::as_str),
                n - 1
            ),
        };
        let _ = writeln!(out, "\n# Prisma schema ({shown})");
        match (&schema.schema, &schema.error) {
            (Some(parsed), _) => {
                let accessors: Vec<String> = parsed
                    .accessors()
                    .into_iter()
                    .take(12)
                    .map(|a| format!("prisma.{a}"))
                    .collect();
                if !accessors.is_empty() {
                    let more = if parsed.models.len() + parsed.views.len() > 12 {
                        ", …"
                    } else {
                        ""
                    };
                    let _ = writeln!(out, "Client accessors: {}{more}", accessors.join(", "));
                }
                out.push_str(&schema.summary);
            }
            (None, Some(err)) => {
                let _ = writeln!(out, "The schema does not parse: {err}");
            }
            (None, None) => {}
        }
    }
    let _ = writeln!(
        out,
        "\n# Directory tree (depth {}, {} files)",
        pkg.tree.depth, pkg.tree.total_files
    );
    out.push_str(&pkg.tree.text);
    out.push_str("\n# Files\n");
    out
}

/// The whole package as prompt text.
pub(crate) fn prompt(pkg: &ContextPackage) -> String {
    let mut out = header(pkg);
    for file in &pkg.files {
        out.push_str(&file_block(file));
    }
    let mut left_out = pkg.left_out_for_window().peekable();
    if left_out.peek().is_some() {
        out.push_str("\n# Left out to fit the model's context window\n");
        for omitted in left_out {
            let _ = writeln!(out, "- {} — {}", omitted.path, omitted.reason);
        }
    }
    out
}

/// The package as a report for people (`context` without `--json`): what was
/// found, which files were chosen and why, and how the budget was spent.
pub(crate) fn summary(pkg: &ContextPackage) -> String {
    let mut out = String::new();
    let name = pkg.project.name.as_deref().unwrap_or("(unnamed)");
    let version = pkg.project.version.as_deref().unwrap_or("-");
    let _ = writeln!(out, "project   {name} {version}");
    let stack = pkg.project.stack_summary();
    let _ = writeln!(
        out,
        "stack     {}",
        if stack.is_empty() {
            "(not detected)"
        } else {
            &stack
        }
    );
    let doc = &pkg.gitkeeper_doc;
    if doc.paths.is_empty() {
        let _ = writeln!(
            out,
            "doc       (none: add docs/gitkeeper.md to state rules)"
        );
    } else {
        let rules = &doc.rules;
        let _ = writeln!(
            out,
            "doc       {} ({} protected, {} forbidden, {} required, {} conventions)",
            doc.paths.join(", "),
            rules.protected.len(),
            rules.forbidden.len(),
            rules.required.len(),
            rules.conventions.len()
        );
    }
    match &pkg.schema {
        Some(schema) => {
            let _ = writeln!(out, "schema    {}", schema.location.files.join(", "));
            if let Some(error) = &schema.error {
                let _ = writeln!(out, "          does not parse: {error}");
            }
            for line in schema.summary.lines() {
                let _ = writeln!(out, "          {line}");
            }
        }
        None => {
            let _ = writeln!(out, "schema    (no Prisma schema)");
        }
    }
    let _ = writeln!(
        out,
        "files     {} selected of {} indexed; {} of {} tokens used ({} before files)",
        pkg.files.len(),
        pkg.budget.indexed_files,
        pkg.budget.used_tokens,
        pkg.budget.max_tokens,
        pkg.budget.overhead_tokens
    );
    for file in &pkg.files {
        let reasons: Vec<String> = file.reasons.iter().map(ToString::to_string).collect();
        let cut = match &file.truncated {
            Some(t) => format!(", cut: {} lines elided", t.elided_lines),
            None => String::new(),
        };
        let _ = writeln!(
            out,
            "  {:>6}  {}  ({}{cut})",
            file.tokens,
            file.path,
            reasons.join("; ")
        );
    }
    for omitted in &pkg.budget.omitted {
        let cause = match omitted.cause {
            OmitCause::MaxFiles => "max_files reached",
            OmitCause::NoRoom => "no tokens left",
            OmitCause::Unreadable => "binary, unreadable or too large",
            OmitCause::Summarized => "summarized instead",
            OmitCause::ContextWindow => "left out to fit the model's context window",
        };
        let _ = writeln!(
            out,
            "  left out  {}  ({}; {cause})",
            omitted.path, omitted.reason
        );
    }
    for warning in &pkg.warnings {
        let _ = writeln!(out, "warning   {warning}");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fences_outgrow_backticks_in_content() {
        assert_eq!(fence("plain"), "```");
        assert_eq!(fence("a ``` b"), "````");
    }

    #[test]
    fn elision_marker_uses_the_language_comment() {
        assert_eq!(elision_marker("a.ts", 3), "// … 3 lines elided …");
        assert_eq!(elision_marker("a.py", 3), "# … 3 lines elided …");
        assert_eq!(
            elision_marker("README.md", 3),
            "<!-- … 3 lines elided … -->"
        );
    }

    #[test]
    fn file_block_is_fenced_with_language_and_reasons() {
        let file = SelectedFile {
            path: "src/a.ts".into(),
            reasons: vec![Reason::NamedInTask {
                mention: "a.ts".into(),
            }],
            tokens: 3,
            content: "export {}".into(),
            truncated: None,
        };
        assert_eq!(
            file_block(&file),
            "## src/a.ts — named in task (`a.ts`)\n```ts\nexport {}\n```\n"
        );
    }
}
