//! Entry points for the `cargo fuzz` targets in `fuzz/` and for the bounded
//! property tests that run the same functions in CI. Each takes raw bytes,
//! feeds them to one reader of untrusted input and checks what that reader
//! promises; it panics only when a promise is broken (that is the finding).
//! Nothing here is used by the bot: it exists so the fuzzers and the tests
//! exercise exactly the same code.

use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::context::doc::parse_doc;
use crate::context::manifest::Manifest;
use crate::context::prisma::{Model, PrismaSchema, SchemaError, parse_schema};
use crate::context::tsconfig::{load_tsconfig, parse_jsonc};
use crate::edits::{self, ApplyError, ParsedEdits, PathPolicy, apply_edits, parse_edits};

/// The edit-format parser: never panics, feedback always renders, and parsed
/// edits render canonically and parse back to the same edits.
pub fn edit_format(data: &[u8]) {
    edits::fuzz::parse(data);
    edits::fuzz::roundtrip(data);
}

/// The edit applier: the bytes are a model answer applied to a small
/// repository that has a `.git/`, a protected folder and symbolic links
/// leading out of it. Whatever the answer, nothing outside the repository,
/// in `.git/` or on a protected path changes; a rejected set of edits
/// changes nothing at all; an applied one changes exactly the files it
/// reports, to the content it reports.
pub fn edit_apply(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let edits = match parse_edits(&text) {
        Ok(ParsedEdits::Edits(edits) | ParsedEdits::ClarificationNeeded { edits, .. }) => edits,
        Err(_) => return,
    };
    let Ok(scratch) = Scratch::new("apply") else {
        return;
    };
    let repo = scratch.path.join("repo");
    let outside = scratch.path.join("outside");
    if build_apply_fixture(&repo, &outside).is_err() {
        return;
    }
    let policy = PathPolicy::new(PROTECTED.iter().map(|p| p.to_string()).collect())
        .expect("the fixture's protected patterns are valid globs");
    let outside_before = snapshot(&outside);
    let repo_before = snapshot(&repo);
    let result = apply_edits(&repo, &edits, &policy);
    assert_eq!(
        snapshot(&outside),
        outside_before,
        "edits changed a file outside the repository: {edits:?}"
    );
    let repo_after = snapshot(&repo);
    for (path, entry) in &repo_before {
        if path.starts_with(".git/") || policy.protecting_pattern(path).is_some() {
            assert_eq!(
                repo_after.get(path),
                Some(entry),
                "edits changed `{path}`, which is in .git/ or protected: {edits:?}"
            );
        }
    }
    match result {
        Err(ApplyError::Rejected(_)) | Err(ApplyError::WorkDir { .. }) => assert_eq!(
            repo_after, repo_before,
            "rejected edits changed the repository: {edits:?}"
        ),
        // A write that failed midway says itself whether it rolled back.
        Err(ApplyError::Write { .. }) => {}
        Ok(applied) => {
            let mut expected = repo_before.clone();
            for change in &applied.changes {
                assert_eq!(
                    policy.check(&change.path).as_deref(),
                    Ok(change.path.as_str()),
                    "a change's path is not a normalized, editable path: {edits:?}"
                );
                match &change.after {
                    Some(after) => expected.insert(change.path.clone(), Entry::File(after.clone())),
                    None => expected.remove(&change.path),
                };
            }
            let files = |snap: &Snapshot| -> Snapshot {
                snap.iter()
                    .filter(|(_, e)| !matches!(e, Entry::Dir))
                    .map(|(p, e)| (p.clone(), e.clone()))
                    .collect()
            };
            assert_eq!(
                files(&repo_after),
                files(&expected),
                "the files on disk are not what the applier reported: {edits:?}"
            );
        }
    }
}

/// Patterns the apply fixture protects, as a repository's defaults do.
const PROTECTED: &[&str] = &[".github/workflows", ".github/gitkeeper.yml"];

/// The Prisma parser: never panics; positions point into the text; a parsed
/// schema's summary renders; and a schema rendered back from what was
/// parsed parses to the same blocks, fields, types and attributes.
pub fn prisma(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    const FILE: &str = "prisma/schema.prisma";
    let lines = text.lines().count() as u32 + 1;
    let schema = match parse_schema(FILE, &text) {
        Ok(schema) => schema,
        Err(SchemaError {
            file, line, column, ..
        }) => {
            assert_eq!(file, FILE, "error names another file");
            assert!(
                (1..=lines).contains(&line) && column >= 1,
                "error position {line}:{column} is outside the {lines} lines"
            );
            return;
        }
    };
    for model in field_blocks(&schema) {
        assert!(
            (1..=lines).contains(&model.position.line),
            "model {} starts at line {} of {lines}",
            model.name,
            model.position.line
        );
    }
    for model in schema.models.iter().chain(&schema.views) {
        assert!(
            schema.model_for_accessor(&model.accessor()).is_some(),
            "no model answers to `prisma.{}`",
            model.accessor()
        );
    }
    let _ = schema.summary();
    let rendered = render_prisma(&schema);
    match parse_schema(FILE, &rendered) {
        Ok(again) => assert_eq!(
            prisma_shape(&again),
            prisma_shape(&schema),
            "the schema changed through render and parse; rendered:\n{rendered}"
        ),
        Err(err) => panic!("the rendered schema does not parse: {err}; rendered:\n{rendered}"),
    }
}

/// Models, views and composite types.
fn field_blocks(schema: &PrismaSchema) -> impl Iterator<Item = &Model> {
    schema
        .models
        .iter()
        .chain(&schema.views)
        .chain(&schema.types)
}

/// Prisma source for what `schema` holds (comments and docs left out).
fn render_prisma(schema: &PrismaSchema) -> String {
    let mut out = String::new();
    for (keyword, blocks) in [
        ("datasource", &schema.datasources),
        ("generator", &schema.generators),
    ] {
        for block in blocks {
            out.push_str(&format!("{keyword} {} {{\n", block.name));
            for p in &block.properties {
                out.push_str(&format!("  {} = {}\n", p.key, p.value));
            }
            out.push_str("}\n");
        }
    }
    for model in field_blocks(schema) {
        let fields = model.fields.iter().map(|f| {
            let attrs = f.attributes.iter().map(|a| a.render(false));
            std::iter::once(format!("{} {}", f.name, f.type_text())).chain(attrs)
        });
        render_block(
            &mut out,
            model.kind.keyword(),
            &model.name,
            fields,
            &model.attributes,
        );
    }
    for e in &schema.enums {
        let values = e.values.iter().map(|v| {
            std::iter::once(v.name.clone()).chain(v.attributes.iter().map(|a| a.render(false)))
        });
        render_block(&mut out, "enum", &e.name, values, &e.attributes);
    }
    out
}

/// One block: a line per row (its words joined by spaces), then the block attributes.
fn render_block<R: Iterator<Item = String>>(
    out: &mut String,
    keyword: &str,
    name: &str,
    rows: impl Iterator<Item = R>,
    attributes: &[crate::context::prisma::Attribute],
) {
    out.push_str(&format!("{keyword} {name} {{\n"));
    for row in rows {
        out.push_str(&format!("  {}\n", row.collect::<Vec<_>>().join(" ")));
    }
    for attr in attributes {
        out.push_str(&format!("  {}\n", attr.render(true)));
    }
    out.push_str("}\n");
}

/// What a schema says, without positions and comments.
fn prisma_shape(schema: &PrismaSchema) -> Vec<String> {
    let mut out = Vec::new();
    for block in schema.datasources.iter().chain(&schema.generators) {
        let props: Vec<String> = block
            .properties
            .iter()
            .map(|p| format!("{}={}", p.key, p.value))
            .collect();
        out.push(format!("config {} {props:?}", block.name));
    }
    let model = |m: &Model| {
        let fields: Vec<String> = m
            .fields
            .iter()
            .map(|f| {
                let attrs: Vec<String> = f.attributes.iter().map(|a| a.render(false)).collect();
                format!("{} {} {attrs:?}", f.name, f.type_text())
            })
            .collect();
        let attrs: Vec<String> = m.attributes.iter().map(|a| a.render(true)).collect();
        format!("{} {} {fields:?} {attrs:?}", m.kind.keyword(), m.name)
    };
    out.extend(field_blocks(schema).map(model));
    for e in &schema.enums {
        let values: Vec<String> = e
            .values
            .iter()
            .map(|v| {
                let attrs: Vec<String> = v.attributes.iter().map(|a| a.render(false)).collect();
                format!("{} {attrs:?}", v.name)
            })
            .collect();
        let attrs: Vec<String> = e.attributes.iter().map(|a| a.render(true)).collect();
        out.push(format!("enum {} {values:?} {attrs:?}", e.name));
    }
    out
}

/// The gitkeeper doc parser: never fails; every section and rule points at
/// a line of the text; the rules it produced can be asked about any path
/// and content without panicking (their globs and regexes are compiled then).
pub fn gitkeeper_doc(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let doc = parse_doc("docs/gitkeeper.md", &text);
    let lines = text.lines().count() as u32;
    let in_text = |line: u32| (1..=lines).contains(&line);
    for section in &doc.sections {
        assert!(
            in_text(section.line),
            "section at line {} of {lines}",
            section.line
        );
        assert!(
            (1..=6).contains(&section.level),
            "heading level {}",
            section.level
        );
    }
    for warning in &doc.warnings {
        assert!(
            in_text(warning.line),
            "warning at line {} of {lines}",
            warning.line
        );
    }
    let rules = &doc.rules;
    let sources = rules
        .protected
        .iter()
        .map(|r| &r.source)
        .chain(rules.forbidden.iter().map(|r| &r.source))
        .chain(rules.required.iter().map(|r| &r.source))
        .chain(rules.conventions.iter().map(|r| &r.source));
    for source in sources {
        assert!(
            in_text(source.line),
            "rule at line {} of {lines}",
            source.line
        );
    }
    for path in [
        "src/index.ts",
        ".github/workflows/ci.yml",
        "prisma/schema.prisma",
        "",
    ] {
        let _ = rules.is_protected(path);
        for violation in rules.forbidden_in(path, &text) {
            assert!(
                violation.line >= 1 && violation.line <= text.split('\n').count(),
                "violation at line {} of the content",
                violation.line
            );
        }
        let _ = rules.missing_required(path, &text);
    }
}

/// The tsconfig reader: the bytes are `tsconfig.json` of a repository that
/// also holds a base config and sits beside a config outside it. Loading
/// never panics, never reads outside the repository, and every path it
/// reports (`extends`, `baseUrl`, `paths` targets, alias candidates) is
/// repository-relative.
pub fn tsconfig(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let _ = parse_jsonc(&text);
    let Ok(scratch) = Scratch::new("tsconfig") else {
        return;
    };
    let repo = scratch.path.join("repo");
    let files = [
        (repo.join("tsconfig.json"), &*text),
        (
            repo.join("tsconfig.base.json"),
            "{ \"compilerOptions\": { \"baseUrl\": \".\", \"strict\": true, },\n // base\n}",
        ),
        (
            repo.join("node_modules/@tsconfig/node20/tsconfig.json"),
            "{\"compilerOptions\": {\"target\": \"es2022\"}}",
        ),
        (
            scratch.path.join("outside/tsconfig.json"),
            "{\"compilerOptions\": {\"outsideMarker\": true}}",
        ),
    ];
    for (path, content) in &files {
        if write_file(path, content).is_err() {
            return;
        }
    }
    let Ok(config) = load_tsconfig(&repo, "tsconfig.json") else {
        return;
    };
    assert!(
        !config.compiler_options.contains_key("outsideMarker"),
        "options were read from a config outside the repository"
    );
    let relative = |what: &str, path: &str| {
        assert!(
            !path.starts_with('/') && !path.split('/').any(|part| part == ".."),
            "{what} `{path}` is not repository-relative"
        );
    };
    for extended in &config.extends {
        relative("extends", extended);
        assert!(
            repo.join(extended).is_file(),
            "extends `{extended}` is not a file"
        );
    }
    if let Some(base) = &config.base_url {
        relative("baseUrl", base);
    }
    for alias in &config.paths {
        for target in &alias.targets {
            relative("paths target", target);
        }
        let specifier = alias.pattern.replacen('*', "x/y", 1);
        for candidate in config.alias_candidates(&specifier) {
            relative("alias candidate", &candidate);
        }
    }
}

/// The package.json reader: it accepts exactly the JSON objects, and what
/// it read answers questions about dependencies and scripts.
pub fn package_json(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let parsed = Manifest::parse("package.json", &text);
    let is_object = matches!(
        serde_json::from_str::<serde_json::Value>(text.trim_start_matches('\u{feff}')),
        Ok(serde_json::Value::Object(_))
    );
    assert_eq!(
        parsed.is_ok(),
        is_object,
        "accepted a non-object or refused an object"
    );
    let Ok(manifest) = parsed else {
        return;
    };
    for name in manifest
        .dependencies
        .keys()
        .chain(manifest.dev_dependencies.keys())
    {
        assert!(
            manifest.has_dependency(name),
            "declared dependency `{name}` not found"
        );
        let _ = manifest.declares_import(name);
    }
    for script in manifest.scripts.keys() {
        assert!(
            manifest.script_command(script).is_some(),
            "declared script `{script}` has no command"
        );
    }
    let _ = manifest.declares_import("@scope/pkg/sub/path");
    let _ = manifest.declares_import("node:fs");
}

/// The committed seed corpus of a fuzz target (`fuzz/corpus/<target>/` of
/// the source tree), file contents in name order, for the property tests.
pub fn corpus(target: &str) -> io::Result<Vec<Vec<u8>>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz/corpus")
        .join(target);
    let mut files = fs::read_dir(&dir)?
        .map(|entry| entry.map(|e| e.path()))
        .collect::<io::Result<Vec<PathBuf>>>()?;
    files.sort();
    if files.is_empty() {
        return Err(io::Error::new(
            io::ErrorKind::NotFound,
            format!("{} holds no seeds; write some", dir.display()),
        ));
    }
    files.iter().map(fs::read).collect()
}

/// `input` with bytes inserted (op 0), replaced (op 1) or removed (op 2)
/// at the given places (taken modulo the length): the property tests'
/// mutator, so they explore near the corpus as the fuzzers do.
pub fn mutate(input: &[u8], ops: &[(u8, usize, u8)]) -> Vec<u8> {
    let mut out = input.to_vec();
    for &(op, at, byte) in ops {
        let len = out.len();
        match op % 3 {
            0 => out.insert(at % (len + 1), byte),
            1 if len > 0 => out[at % len] = byte,
            2 if len > 0 => {
                out.remove(at % len);
            }
            _ => out.push(byte),
        }
    }
    out
}

/// A directory of its own under the system temporary directory, removed
/// when dropped.
struct Scratch {
    path: PathBuf,
}

impl Scratch {
    fn new(what: &str) -> io::Result<Self> {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let path =
            std::env::temp_dir().join(format!("gitkeeper-fuzz-{what}-{}-{n}", std::process::id()));
        if path.exists() {
            fs::remove_dir_all(&path)?;
        }
        fs::create_dir_all(&path)?;
        Ok(Scratch { path })
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.path);
    }
}

fn write_file(path: &Path, content: &str) -> io::Result<()> {
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent)?;
    }
    fs::write(path, content)
}

/// The repository the applier works on, and a folder outside it that
/// symbolic links in it lead to.
fn build_apply_fixture(repo: &Path, outside: &Path) -> io::Result<()> {
    let files: &[(&str, &str)] = &[
        (".git/HEAD", "ref: refs/heads/main\n"),
        (".git/config", "[core]\n\tbare = false\n"),
        (".github/workflows/ci.yml", "on: push\njobs: {}\n"),
        (".github/gitkeeper.yml", "validate:\n  commands: []\n"),
        (
            "src/a.ts",
            "export const a = 1;\n\nexport function f() {\n  return a;\n}\n",
        ),
        ("src/b.ts", "export const b = 2;\r\nexport const c = 3;\r\n"),
        ("src/empty.ts", ""),
        ("README.md", "# Demo\n\nA demo.\n"),
    ];
    for (path, content) in files {
        write_file(&repo.join(path), content)?;
    }
    write_file(&outside.join("secret.txt"), "outside\n")?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::symlink;
        symlink("../outside", repo.join("escape"))?;
        symlink("../outside/secret.txt", repo.join("leak.txt"))?;
        symlink("src", repo.join("alias"))?;
        symlink("src/a.ts", repo.join("a-link.ts"))?;
        symlink(".github/workflows", repo.join("ci"))?;
    }
    Ok(())
}

/// One entry of a directory tree, links not followed.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Entry {
    Dir,
    File(String),
    Bytes(Vec<u8>),
    Link(PathBuf),
}

type Snapshot = BTreeMap<String, Entry>;

/// Everything below `root`, by `/`-separated relative path.
fn snapshot(root: &Path) -> Snapshot {
    let mut out = Snapshot::new();
    let mut stack = vec![(root.to_path_buf(), String::new())];
    while let Some((dir, rel)) = stack.pop() {
        let Ok(entries) = fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let path = entry.path();
            let rel = if rel.is_empty() {
                name
            } else {
                format!("{rel}/{name}")
            };
            let Ok(meta) = fs::symlink_metadata(&path) else {
                continue;
            };
            let kind = if meta.file_type().is_symlink() {
                Entry::Link(fs::read_link(&path).unwrap_or_default())
            } else if meta.is_dir() {
                stack.push((path, rel.clone()));
                Entry::Dir
            } else {
                let bytes = fs::read(&path).unwrap_or_default();
                match String::from_utf8(bytes) {
                    Ok(text) => Entry::File(text),
                    Err(e) => Entry::Bytes(e.into_bytes()),
                }
            };
            out.insert(rel, kind);
        }
    }
    out
}

#[cfg(test)]
mod tests;
