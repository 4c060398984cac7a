//! Do the imports of a changed TS/JS file exist? Relative and aliased
//! specifiers must name a file of the repository (or of a Prisma generator's
//! output, which appears only after `prisma generate`); bare specifiers must
//! be Node.js built-ins or packages the governing package.json declares (or
//! packages of the same workspace). Specifiers whose scheme Gitkeeper cannot
//! judge (`bun:`, `virtual:`, `#internal`, URLs) are left alone rather than
//! guessed at.

use super::contract::Contract;
use super::findings::{CheckRule, Finding};
use super::syntax::to_u32;
use crate::context::imports::{ImportRef, extract_imports, is_relative, package_name};

/// Findings for the imports of `file` (content `text`).
pub(crate) fn import_findings(file: &str, text: &str, contract: &Contract) -> Vec<Finding> {
    let lines: Vec<&str> = text.lines().collect();
    let mut out = Vec::new();
    for r in extract_imports(text) {
        if let Some(finding) = check_import(file, &r, contract) {
            let column = column_of(&lines, r.line, &r.specifier);
            out.push(finding.at(r.line, column));
        }
    }
    out
}

/// 1-based column of the quoted specifier on its line.
fn column_of(lines: &[&str], line: u32, specifier: &str) -> Option<u32> {
    let text = lines.get((line as usize).checked_sub(1)?)?;
    ['\'', '"', '`'].iter().find_map(|q| {
        let needle = format!("{q}{specifier}{q}");
        text.find(&needle)
            .map(|i| to_u32(text[..i].chars().count() + 2))
    })
}

/// Specifiers this check does not judge.
fn is_unjudgeable(spec: &str) -> bool {
    spec.is_empty()
        || spec.contains("${")
        || spec.starts_with('#')
        || spec.starts_with('/')
        || (spec.contains(':') && !spec.starts_with("node:"))
}

fn check_import(file: &str, r: &ImportRef, contract: &Contract) -> Option<Finding> {
    let raw = r.specifier.as_str();
    if is_unjudgeable(raw) {
        return None;
    }
    // Bundler queries (`./icon.svg?raw`) are not part of the path.
    let spec = raw.split_once('?').map_or(raw, |(p, _)| p);
    let resolver = &contract.resolver;
    let target = resolver.resolve(file, spec);
    use crate::context::imports::ImportTarget;
    if matches!(target, ImportTarget::File(_) | ImportTarget::Builtin(_)) {
        return None;
    }
    let relative = is_relative(spec);
    let aliased = !relative
        && resolver
            .tsconfig_for(file)
            .is_some_and(|ts| !ts.alias_candidates(spec).is_empty());
    if relative || aliased {
        let bases = resolver.module_paths(file, spec);
        if bases
            .iter()
            .any(|b| contract.is_generated(b) || is_generated_by_build(b, contract))
        {
            return None;
        }
        let message = match bases.first() {
            None => format!("`{raw}` points outside the repository; import a file inside it"),
            Some(base) if aliased => {
                let ts = resolver
                    .tsconfig_for(file)
                    .map_or("tsconfig.json", |t| t.path.as_str());
                format!(
                    "`{raw}` does not exist: the path alias in {ts} maps it to {base}, and there is no {base}.ts, .tsx, .js, .jsx, .json or {base}/index.*; import a file that exists or create it in this change"
                )
            }
            Some(base) => format!(
                "`{raw}` does not exist: there is no {base}.ts, .tsx, .js, .jsx, .json or {base}/index.*; import a file that exists or create it in this change"
            ),
        };
        return Some(Finding::new(file, CheckRule::MissingImport, message));
    }
    if spec.starts_with("node:") {
        return Some(Finding::new(
            file,
            CheckRule::UnknownBuiltin,
            format!(
                "`{raw}` is not a Node.js built-in module; use one that exists (`node:fs`, `node:path`, `node:crypto`, …)"
            ),
        ));
    }
    let ImportTarget::Package(name) = target else {
        return None;
    };
    check_package(file, raw, spec, &name, contract)
}

/// True when `.gitignore` ignores the module path (or the file it would
/// resolve to): a build step generates it (GraphQL codegen, route trees, …).
fn is_generated_by_build(base: &str, contract: &Contract) -> bool {
    const EXTS: &[&str] = &[
        "",
        ".ts",
        ".tsx",
        ".d.ts",
        ".js",
        ".jsx",
        ".mjs",
        ".json",
        "/index.ts",
        "/index.js",
    ];
    EXTS.iter()
        .any(|ext| contract.is_gitignored(&format!("{base}{ext}")))
}

fn check_package(
    file: &str,
    raw: &str,
    spec: &str,
    name: &str,
    contract: &Contract,
) -> Option<Finding> {
    let nearest = contract.manifest_for(file)?;
    let root = contract.manifests.get("");
    let declared = [Some(nearest), root]
        .into_iter()
        .flatten()
        .any(|m| m.declares_import(spec));
    let in_workspace = contract
        .manifests
        .values()
        .any(|m| m.name.as_deref() == Some(name));
    if declared || in_workspace || package_name(spec).is_none() {
        return None;
    }
    let mut message = format!(
        "`{raw}` is not a dependency: {} does not list `{name}` in dependencies, devDependencies, peerDependencies or optionalDependencies; use a package it lists or write the code without one",
        nearest.path
    );
    let mut listed: Vec<&str> = nearest
        .dependencies
        .keys()
        .chain(nearest.dev_dependencies.keys())
        .map(String::as_str)
        .filter(|d| !d.starts_with("@types/"))
        .collect();
    listed.sort_unstable();
    listed.dedup();
    if !listed.is_empty() {
        let shown: Vec<&str> = listed.iter().copied().take(25).collect();
        message.push_str(&format!(" (it lists: {}", shown.join(", ")));
        if listed.len() > shown.len() {
            message.push_str(&format!(", and {} more", listed.len() - shown.len()));
        }
        message.push(')');
    }
    Some(Finding::new(file, CheckRule::UndeclaredPackage, message))
}

/// Most unchanged files read to find imports of files a change removed.
const MAX_IMPORTER_SCAN: usize = 20_000;
/// Largest unchanged file read for that.
const MAX_IMPORTER_BYTES: u64 = 256 * 1024;

/// Imports in files the change did not touch that named a file the change
/// deleted or moved away, and now lead nowhere.
pub(crate) fn dangling_importers(
    removed: &[(&str, Option<&str>)],
    changed: &[&str],
    contract: &Contract,
    read: &mut dyn FnMut(&str, u64) -> Option<String>,
) -> Vec<Finding> {
    if removed.is_empty() {
        return Vec::new();
    }
    let stem = |p: &str| -> String {
        let p = p.strip_suffix("/index").unwrap_or(p);
        match p.rsplit_once('.') {
            Some((s, ext)) if !ext.contains('/') => {
                s.strip_suffix("/index").unwrap_or(s).to_string()
            }
            _ => p.to_string(),
        }
    };
    let removed_stems: Vec<(String, &str, Option<&str>)> = removed
        .iter()
        .map(|(path, to)| (stem(path), *path, *to))
        .collect();
    let mut out = Vec::new();
    let candidates = contract
        .files
        .iter()
        .filter(|f| super::syntax::Grammar::for_path(f).is_some())
        .filter(|f| !changed.contains(&f.as_str()))
        .take(MAX_IMPORTER_SCAN);
    for file in candidates {
        let Some(text) = read(file, MAX_IMPORTER_BYTES) else {
            continue;
        };
        if !removed_stems.iter().any(|(s, _, _)| {
            let name = s.rsplit('/').next().unwrap_or(s);
            text.contains(name)
        }) {
            continue;
        }
        for r in extract_imports(&text) {
            if is_unjudgeable(&r.specifier) {
                continue;
            }
            if !matches!(
                contract.resolver.resolve(file, &r.specifier),
                crate::context::imports::ImportTarget::Unresolved
                    | crate::context::imports::ImportTarget::Package(_)
            ) {
                continue;
            }
            let bases = contract.resolver.module_paths(file, &r.specifier);
            let Some((_, path, to)) = removed_stems
                .iter()
                .find(|(s, _, _)| bases.iter().any(|b| stem(b) == *s))
            else {
                continue;
            };
            let what = match to {
                Some(to) => format!("this change moves {path} to {to}"),
                None => format!("this change deletes {path}"),
            };
            out.push(
                Finding::new(
                    file,
                    CheckRule::MissingImport,
                    format!(
                        "still imports `{}`, but {what}; update this import (or keep the file)",
                        r.specifier
                    ),
                )
                .at(r.line, None),
            );
        }
    }
    out
}
