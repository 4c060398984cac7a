//! Keeps the module map in `lib.rs` true: reads every source file of the
//! crate and fails when a module imports from one it must not (a stage from a
//! later stage or a sequencer, a leaf from a stage). Test-only.

use std::collections::BTreeSet;
use std::path::Path;

/// Stages in the order of the job path.
const STAGES: &[&str] = &[
    "ingress",
    "checkout",
    "models",
    "runner_api",
    "route",
    "prompts",
    "validate",
    "generate",
    "publish",
];
/// Modules any module may import; they import no stage.
const LEAVES: &[&str] = &[
    "ids",
    "intent",
    "trail",
    "markers",
    "queue",
    "metrics",
    "github",
    "telemetry",
    "tls",
    "testing",
];
/// Modules that call the stages in order; no stage or leaf imports them.
const SEQUENCERS: &[&str] = &["worker", "pipeline", "task"];
/// Composition roots: may import anything, imported by none but each other.
const ROOTS: &[&str] = &[
    "serve",
    "solve",
    "eval",
    "stats",
    "tune",
    "export",
    "dashboard",
    "main",
    "lib",
    "layering",
];
/// The one leaf that imports stages' settings types (see `lib.rs`).
const CONFIG: &str = "config";

/// The top-level modules `file_text` names as `crate::<module>`.
fn imports(text: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    for (i, _) in text.match_indices("crate::") {
        let rest = &text[i + "crate::".len()..];
        let name: String = rest
            .chars()
            .take_while(|c| c.is_ascii_lowercase() || *c == '_')
            .collect();
        if !name.is_empty() {
            found.insert(name);
        }
    }
    found
}

/// Why `from` must not import `to`, or `None` when it may.
fn forbidden(from: &str, to: &str) -> Option<String> {
    let stage = |m: &str| STAGES.iter().position(|s| *s == m);
    if from == to || LEAVES.contains(&to) || to == CONFIG {
        return None;
    }
    if ROOTS.contains(&from) {
        return None;
    }
    if ROOTS.contains(&to) {
        return Some(format!("{from} imports the composition root {to}"));
    }
    if SEQUENCERS.contains(&from) {
        // A sequencer runs stages and the sequencers after it.
        let (a, b) = (
            SEQUENCERS.iter().position(|s| *s == from),
            SEQUENCERS.iter().position(|s| *s == to),
        );
        return match (a, b) {
            (Some(a), Some(b)) if b < a => {
                Some(format!("{from} imports the earlier sequencer {to}"))
            }
            _ => None,
        };
    }
    if SEQUENCERS.contains(&to) {
        return Some(format!("{from} imports the sequencer {to}"));
    }
    if from == CONFIG {
        return None;
    }
    match (stage(from), stage(to)) {
        (Some(a), Some(b)) if b > a => Some(format!("stage {from} imports the later stage {to}")),
        (None, Some(_)) => Some(format!("leaf {from} imports the stage {to}")),
        (_, None) if !LEAVES.contains(&to) => Some(format!(
            "{from} imports {to}, which is not in the module map"
        )),
        _ => None,
    }
}

/// The top-level module a source file belongs to.
fn module_of(src: &Path, file: &Path) -> Option<String> {
    let rel = file.strip_prefix(src).ok()?;
    let first = rel.components().next()?.as_os_str().to_str()?;
    Some(first.trim_end_matches(".rs").to_owned())
}

fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        panic!("cannot read {}", dir.display())
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn no_module_imports_a_later_stage() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut known: BTreeSet<&str> = BTreeSet::new();
    known.extend(STAGES.iter().chain(LEAVES).chain(SEQUENCERS).chain(ROOTS));
    known.insert(CONFIG);
    let mut problems = Vec::new();
    for file in &files {
        let Some(from) = module_of(&src, file) else {
            continue;
        };
        assert!(
            known.contains(from.as_str()),
            "{from} ({}) is not in the module map: add it to lib.rs and to layering.rs",
            file.display()
        );
        let text = std::fs::read_to_string(file).unwrap_or_default();
        for to in imports(&text) {
            if let Some(why) = forbidden(&from, &to) {
                problems.push(format!("{}: {why}", file.display()));
            }
        }
    }
    assert!(files.len() > 50, "read only {} files", files.len());
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_checker_catches_what_it_guards_against() {
    assert!(forbidden("queue", "route").is_some());
    assert!(forbidden("queue", "ingress").is_some());
    assert!(forbidden("ingress", "publish").is_some());
    assert!(forbidden("publish", "pipeline").is_some());
    assert!(forbidden("pipeline", "worker").is_some());
    assert!(forbidden("generate", "task").is_some());
    assert!(forbidden("pipeline", "eval").is_some());
    assert!(forbidden("eval", "task").is_none());
    assert!(forbidden("publish", "generate").is_none());
    assert!(forbidden("worker", "pipeline").is_none());
    assert!(forbidden("ingress", "queue").is_none());
    assert_eq!(
        imports("use crate::queue::{Job}; crate::trail::Attempt; crate::ids"),
        ["ids", "queue", "trail"].map(String::from).into()
    );
}
