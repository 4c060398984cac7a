//! The agent's tools: what the model is offered (names, descriptions, JSON
//! Schemas), how a call's arguments are read, and the tools that look at or
//! change the work dir (`list_files`, `read_file`, `search`, `edit`).
//! `run_check`, `ask` and `finish` are the session's (they need the
//! validator and end turns).
//!
//! Must never: read or write outside the work dir, inside `.git/`, or
//! through a link that leads out (paths go through
//! `gitkeeper::edits::normalize_path` and `resolve_below`); write a protected
//! path (edits go through `gitkeeper::edits::apply_edits` with the task's
//! path policy); answer with more than the caps below.

use std::fmt::Write as _;
use std::path::Path;

use gitkeeper::edits::{
    AppliedEdits, FileChange, Links, ParsedEdits, PathPolicy, apply_edits, normalize_path,
    parse_edits, resolve_below,
};
use grep_regex::RegexMatcherBuilder;
use grep_searcher::sinks::UTF8;
use grep_searcher::{BinaryDetection, SearcherBuilder};
use ignore::WalkBuilder;
use ignore::overrides::OverrideBuilder;
use serde_json::{Map, Value, json};

use crate::models::{ToolCall, ToolSpec};

/// Most entries one `list_files` answer names.
const MAX_LIST_ENTRIES: usize = 400;
/// Deepest `list_files` goes.
const MAX_LIST_DEPTH: u64 = 6;
/// Most lines one `read_file` answer holds.
const MAX_READ_LINES: usize = 400;
/// Largest file `read_file` reads.
const MAX_READ_BYTES: u64 = 2 * 1024 * 1024;
/// Most matching lines one `search` answer holds.
const MAX_MATCHES: usize = 200;
/// Characters of one matching line shown.
const MAX_MATCH_CHARS: usize = 240;

pub const LIST_FILES: &str = "list_files";
pub const READ_FILE: &str = "read_file";
pub const SEARCH: &str = "search";
pub const EDIT: &str = "edit";
pub const RUN_CHECK: &str = "run_check";
pub const ASK: &str = "ask";
pub const FINISH: &str = "finish";

/// Every tool's name, in the order the model is offered them.
pub const NAMES: [&str; 7] = [LIST_FILES, READ_FILE, SEARCH, EDIT, RUN_CHECK, ASK, FINISH];

/// The tools offered to the model; `checks` are the names `run_check` takes.
pub fn specs(checks: &[String]) -> Vec<ToolSpec> {
    let spec = |name: &str, description: &str, parameters: Value| ToolSpec {
        name: name.into(),
        description: description.into(),
        parameters,
    };
    let check_name = if checks.is_empty() {
        json!({"type": "string", "description": "The check's name (this repository has none to run one by one)."})
    } else {
        json!({"type": "string", "enum": checks, "description": "The check's name."})
    };
    vec![
        spec(
            LIST_FILES,
            "List the files and directories under a directory of the repository (files its .gitignore ignores are left out).",
            json!({"type": "object", "properties": {
                "path": {"type": "string", "description": "Directory relative to the repository root; \".\" for the root."},
                "depth": {"type": "integer", "minimum": 1, "maximum": MAX_LIST_DEPTH, "description": "How many levels deep to list (default 2)."}
            }, "required": ["path"]}),
        ),
        spec(
            READ_FILE,
            "Read lines of a file of the repository, numbered.",
            json!({"type": "object", "properties": {
                "path": {"type": "string", "description": "File relative to the repository root."},
                "start_line": {"type": "integer", "minimum": 1, "description": "First line to read (default 1)."},
                "end_line": {"type": "integer", "minimum": 1, "description": format!("Last line to read (default: {MAX_READ_LINES} lines from start_line).")}
            }, "required": ["path"]}),
        ),
        spec(
            SEARCH,
            "Search the repository's files for lines matching a regular expression (Rust regex syntax).",
            json!({"type": "object", "properties": {
                "pattern": {"type": "string", "description": "Regular expression."},
                "path_glob": {"type": "string", "description": "Only files matching this glob, e.g. \"src/**/*.ts\" (default: every file)."}
            }, "required": ["pattern"]}),
        ),
        spec(
            EDIT,
            "Change files: `edits` is text in the edit format of the system prompt (FILE blocks with SEARCH/REPLACE or whole contents). Every block applies or none does.",
            json!({"type": "object", "properties": {
                "edits": {"type": "string", "description": "The edits, in the edit format."}
            }, "required": ["edits"]}),
        ),
        spec(
            RUN_CHECK,
            "Run one of the repository's checks on the files as they are now and read its output.",
            json!({"type": "object", "properties": {"name": check_name}, "required": ["name"]}),
        ),
        spec(
            ASK,
            "Ask the maintainer a question when the task cannot be done without an answer; ends your work until they reply.",
            json!({"type": "object", "properties": {
                "question": {"type": "string", "description": "The question, ending with a question mark."}
            }, "required": ["question"]}),
        ),
        spec(
            FINISH,
            "Say the change is complete. The repository's checks then run on it; if they fail you get their errors.",
            json!({"type": "object", "properties": {
                "summary": {"type": "string", "description": "What you changed and why, in a few sentences."}
            }, "required": ["summary"]}),
        ),
    ]
}

/// A tool call whose arguments were read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    ListFiles {
        path: String,
        depth: u64,
    },
    ReadFile {
        path: String,
        start: Option<u64>,
        end: Option<u64>,
    },
    Search {
        pattern: String,
        glob: Option<String>,
    },
    Edit {
        edits: String,
    },
    RunCheck {
        name: String,
    },
    Ask {
        question: String,
    },
    Finish {
        summary: String,
    },
}

/// A call that could not be read: bad JSON, an unknown tool, a missing or
/// mistyped argument. The text is what the model reads back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Malformed(pub String);

/// Read `call`'s arguments for its tool.
pub fn parse(call: &ToolCall) -> Result<Request, Malformed> {
    if !NAMES.contains(&call.name.as_str()) {
        return Err(Malformed(format!(
            "Error: there is no tool `{}`. The tools are: {}.",
            call.name,
            NAMES.join(", ")
        )));
    }
    let text = call.arguments.trim();
    let value: Value = if text.is_empty() {
        Value::Object(Map::new())
    } else {
        serde_json::from_str(text).map_err(|e| {
            Malformed(format!(
                "Error: the arguments of `{}` are not valid JSON ({e}). Send one JSON object, e.g. {}.",
                call.name,
                example(&call.name)
            ))
        })?
    };
    let Value::Object(args) = value else {
        return Err(Malformed(format!(
            "Error: the arguments of `{}` must be a JSON object, e.g. {}.",
            call.name,
            example(&call.name)
        )));
    };
    let args = Args {
        tool: &call.name,
        map: &args,
    };
    Ok(match call.name.as_str() {
        LIST_FILES => Request::ListFiles {
            path: args.string("path")?,
            depth: args.integer("depth")?.unwrap_or(2),
        },
        READ_FILE => Request::ReadFile {
            path: args.string("path")?,
            start: args.integer("start_line")?,
            end: args.integer("end_line")?,
        },
        SEARCH => Request::Search {
            pattern: args.string("pattern")?,
            glob: args.optional_string("path_glob")?,
        },
        EDIT => Request::Edit {
            edits: args.string("edits")?,
        },
        RUN_CHECK => Request::RunCheck {
            name: args.string("name")?,
        },
        ASK => Request::Ask {
            question: args.string("question")?,
        },
        _ => Request::Finish {
            summary: args.optional_string("summary")?.unwrap_or_default(),
        },
    })
}

fn example(tool: &str) -> &'static str {
    match tool {
        LIST_FILES => r#"{"path": "src", "depth": 2}"#,
        READ_FILE => r#"{"path": "src/index.ts", "start_line": 1, "end_line": 80}"#,
        SEARCH => r#"{"pattern": "fn main", "path_glob": "src/**/*.rs"}"#,
        EDIT => r#"{"edits": "<edits in the edit format>"}"#,
        RUN_CHECK => r#"{"name": "typecheck"}"#,
        ASK => r#"{"question": "Which table holds users?"}"#,
        _ => r#"{"summary": "Added the endpoint and its test."}"#,
    }
}

struct Args<'a> {
    tool: &'a str,
    map: &'a Map<String, Value>,
}

impl Args<'_> {
    fn optional_string(&self, key: &str) -> Result<Option<String>, Malformed> {
        match self.map.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(other) => Err(Malformed(format!(
                "Error: `{key}` of `{}` must be a string, not {other}. Example: {}.",
                self.tool,
                example(self.tool)
            ))),
        }
    }

    fn string(&self, key: &str) -> Result<String, Malformed> {
        self.optional_string(key)?.ok_or_else(|| {
            Malformed(format!(
                "Error: `{}` needs the argument `{key}`. Example: {}.",
                self.tool,
                example(self.tool)
            ))
        })
    }

    fn integer(&self, key: &str) -> Result<Option<u64>, Malformed> {
        match self.map.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Number(n)) if n.as_u64().is_some() => Ok(n.as_u64()),
            // Some models quote numbers.
            Some(Value::String(s)) if s.trim().parse::<u64>().is_ok() => {
                Ok(s.trim().parse::<u64>().ok())
            }
            Some(other) => Err(Malformed(format!(
                "Error: `{key}` of `{}` must be a whole number, not {other}.",
                self.tool
            ))),
        }
    }
}

/// A tool's refusal or failure, addressed to the model.
pub type ToolError = String;

/// `rel` (from the model) as a place below `root`: never absolute, never
/// `..`, never in `.git/`, never through a link that leads out. `.` and the
/// empty path are the root itself.
fn locate(root: &Path, rel: &str) -> Result<(String, std::path::PathBuf), ToolError> {
    let trimmed = rel.trim().trim_end_matches('/');
    if trimmed.is_empty() || trimmed == "." {
        return Ok((".".into(), root.to_path_buf()));
    }
    let refuse = |problem: gitkeeper::edits::PathProblem| {
        format!(
            "Error: `{rel}` cannot be used: {problem}. Paths are relative to the repository root, inside it, and never in .git/."
        )
    };
    let normalized = normalize_path(trimmed).map_err(refuse)?;
    let place = resolve_below(root, &normalized, Links::FollowInside).map_err(refuse)?;
    Ok((normalized, place))
}

/// `list_files`: entries below `path`, `depth` levels deep, sorted,
/// directories ending in `/`.
pub fn list_files(root: &Path, path: &str, depth: u64) -> Result<String, ToolError> {
    let (shown, dir) = locate(root, path)?;
    if !dir.is_dir() {
        return Err(format!(
            "Error: `{shown}` is not a directory of the repository."
        ));
    }
    let depth = usize::try_from(depth.clamp(1, MAX_LIST_DEPTH)).unwrap_or(2);
    let base = root.canonicalize().unwrap_or_else(|_| root.to_path_buf());
    let mut entries = Vec::new();
    for entry in walker(&dir, Some(depth)).build().flatten() {
        if entry.depth() == 0 {
            continue;
        }
        let Ok(rel) = entry
            .path()
            .strip_prefix(&base)
            .or_else(|_| entry.path().strip_prefix(root))
        else {
            continue;
        };
        let mut name = rel.to_string_lossy().replace('\\', "/");
        if entry.file_type().is_some_and(|t| t.is_dir()) {
            name.push('/');
        }
        entries.push(name);
    }
    entries.sort();
    let total = entries.len();
    let mut out = entries
        .into_iter()
        .take(MAX_LIST_ENTRIES)
        .collect::<Vec<_>>()
        .join("\n");
    if total > MAX_LIST_ENTRIES {
        let _ = write!(
            out,
            "\n… {} more not shown: list a subdirectory.",
            total - MAX_LIST_ENTRIES
        );
    }
    if total == 0 {
        out = format!("`{shown}` is empty (or holds only ignored files).");
    }
    Ok(out)
}

/// A walk below `dir` that respects `.gitignore` (also outside a git
/// repository), shows hidden files, and never enters `.git/`.
fn walker(dir: &Path, depth: Option<usize>) -> WalkBuilder {
    let mut builder = WalkBuilder::new(dir);
    builder
        .max_depth(depth)
        .hidden(false)
        .require_git(false)
        .follow_links(false)
        .sort_by_file_name(|a, b| a.cmp(b))
        .filter_entry(|entry| entry.file_name() != ".git");
    builder
}

/// `read_file`: lines `start..=end` (1-based), numbered, at most
/// [`MAX_READ_LINES`] of them.
pub fn read_file(
    root: &Path,
    path: &str,
    start: Option<u64>,
    end: Option<u64>,
) -> Result<String, ToolError> {
    let (shown, file) = locate(root, path)?;
    let meta = std::fs::metadata(&file).map_err(|_| {
        format!("Error: `{shown}` does not exist. Use list_files or search to find files.")
    })?;
    if !meta.is_file() {
        return Err(format!(
            "Error: `{shown}` is not a file; use list_files for a directory."
        ));
    }
    if meta.len() > MAX_READ_BYTES {
        return Err(format!(
            "Error: `{shown}` is {} bytes, more than read_file reads ({MAX_READ_BYTES}); use search to find the lines you need.",
            meta.len()
        ));
    }
    let bytes = std::fs::read(&file).map_err(|e| format!("Error: cannot read `{shown}`: {e}."))?;
    let text =
        String::from_utf8(bytes).map_err(|_| format!("Error: `{shown}` is not UTF-8 text."))?;
    let lines: Vec<&str> = text.lines().collect();
    let total = lines.len();
    if total == 0 {
        return Ok(format!("`{shown}` is empty."));
    }
    let first = usize::try_from(start.unwrap_or(1).max(1)).unwrap_or(usize::MAX);
    if first > total {
        return Err(format!(
            "Error: `{shown}` has {total} lines; start_line {first} is past its end."
        ));
    }
    let wanted_last = end
        .and_then(|e| usize::try_from(e).ok())
        .unwrap_or(usize::MAX)
        .max(first);
    let last = wanted_last
        .min(total)
        .min(first.saturating_add(MAX_READ_LINES - 1));
    let mut out = String::new();
    for (number, line) in lines.iter().enumerate().take(last).skip(first - 1) {
        let _ = writeln!(out, "{}: {line}", number + 1);
    }
    if last < total && last < wanted_last {
        let _ = write!(
            out,
            "… lines {first}-{last} of {total} shown; read on with start_line {}.",
            last + 1
        );
    } else if first > 1 || last < total {
        let _ = write!(out, "(lines {first}-{last} of {total})");
    }
    Ok(out)
}

/// `search`: lines matching `pattern` in files (respecting `.gitignore`)
/// whose repository path matches `glob`, as `path:line: text`.
pub fn search(root: &Path, pattern: &str, glob: Option<&str>) -> Result<String, ToolError> {
    let matcher = RegexMatcherBuilder::new()
        .line_terminator(Some(b'\n'))
        .build(pattern)
        .map_err(|e| format!("Error: `{pattern}` is not a valid regular expression: {e}"))?;
    let mut walk = walker(root, None);
    if let Some(glob) = glob.map(str::trim).filter(|g| !g.is_empty()) {
        let mut overrides = OverrideBuilder::new(root);
        overrides
            .add(glob)
            .map_err(|e| format!("Error: `{glob}` is not a valid glob: {e}"))?;
        let overrides = overrides
            .build()
            .map_err(|e| format!("Error: `{glob}` is not a valid glob: {e}"))?;
        walk.overrides(overrides);
    }
    let mut searcher = SearcherBuilder::new()
        .binary_detection(BinaryDetection::quit(0))
        .line_number(true)
        .build();
    let mut found: Vec<String> = Vec::new();
    let mut more = false;
    for entry in walk.build().flatten() {
        if !entry.file_type().is_some_and(|t| t.is_file()) {
            continue;
        }
        let rel = match entry.path().strip_prefix(root) {
            Ok(rel) => rel.to_string_lossy().replace('\\', "/"),
            Err(_) => continue,
        };
        let result = searcher.search_path(
            &matcher,
            entry.path(),
            UTF8(|number, line| {
                if found.len() >= MAX_MATCHES {
                    more = true;
                    return Ok(false);
                }
                let line = line.trim_end();
                let shown: String = line.chars().take(MAX_MATCH_CHARS).collect();
                let cut = if shown.len() < line.len() { "…" } else { "" };
                found.push(format!("{rel}:{number}: {shown}{cut}"));
                Ok(true)
            }),
        );
        // A file that is not UTF-8 or cannot be read is skipped, as ripgrep does.
        if let Err(error) = result {
            tracing::debug!(%error, file = %rel, "search skipped a file");
        }
        if more {
            break;
        }
    }
    if found.is_empty() {
        return Ok(format!("No line matches `{pattern}`."));
    }
    let mut out = found.join("\n");
    if more {
        let _ = write!(
            out,
            "\n… more matches not shown: narrow the pattern or path_glob."
        );
    }
    Ok(out)
}

/// `edit`: parse `text` in the edit format and apply it with the task's
/// path policy; on success the changes are folded into `so_far`.
pub fn edit(
    root: &Path,
    text: &str,
    policy: &PathPolicy,
    so_far: &mut AppliedEdits,
) -> Result<String, ToolError> {
    let edits = match parse_edits(text) {
        Ok(ParsedEdits::Edits(edits)) => edits,
        Ok(ParsedEdits::ClarificationNeeded { .. }) => {
            return Err("Error: to ask the maintainer a question, call `ask`, not `edit`.".into());
        }
        Err(e) => return Err(format!("Error: {}", e.feedback())),
    };
    let applied =
        apply_edits(root, &edits, policy).map_err(|e| format!("Error: {}", e.feedback()))?;
    let mut out = Vec::new();
    for change in &applied.changes {
        let what = match (&change.before, &change.after) {
            (None, Some(_)) => "created",
            (Some(_), None) => "deleted",
            _ => "changed",
        };
        out.push(format!("{} ({what})", change.path));
    }
    merge(so_far, applied.changes);
    if out.is_empty() {
        return Ok("The edits changed nothing (the files already hold that text).".into());
    }
    Ok(format!("Applied: {}.", out.join(", ")))
}

/// Fold `changes` into `so_far`: one entry per path, keeping the content
/// before the first change and after the last, dropping a path that ends
/// as it began.
pub fn merge(so_far: &mut AppliedEdits, changes: Vec<FileChange>) {
    for change in changes {
        match so_far.changes.iter_mut().find(|c| c.path == change.path) {
            Some(existing) => {
                existing.after = change.after;
                if change.renamed_from.is_some() {
                    existing.renamed_from = change.renamed_from;
                }
            }
            None => so_far.changes.push(change),
        }
    }
    so_far.changes.retain(|c| c.before != c.after);
}

/// The paths an `edit`'s text names, for the trail (never the content).
pub fn edited_paths(text: &str) -> Vec<String> {
    match parse_edits(text) {
        Ok(ParsedEdits::Edits(edits)) => {
            let mut paths: Vec<String> = Vec::new();
            for edit in edits.iter() {
                if !paths.contains(&edit.path) {
                    paths.push(edit.path.clone());
                }
            }
            paths
        }
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(name: &str, arguments: &str) -> ToolCall {
        ToolCall {
            id: "c1".into(),
            name: name.into(),
            arguments: arguments.into(),
        }
    }

    fn repo() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("src/lib")).unwrap();
        std::fs::create_dir_all(root.join(".git")).unwrap();
        std::fs::create_dir_all(root.join("dist")).unwrap();
        std::fs::write(root.join(".git/config"), "[core]\n").unwrap();
        std::fs::write(root.join(".gitignore"), "dist/\n").unwrap();
        std::fs::write(root.join("dist/out.js"), "const total = 9;\n").unwrap();
        std::fs::write(
            root.join("src/total.ts"),
            "export function total(xs: number[]) {\n  return xs.reduce((a, b) => a + b, 0);\n}\n",
        )
        .unwrap();
        std::fs::write(
            root.join("src/lib/fmt.ts"),
            "export const fmt = (n: number) => `${n}`;\n",
        )
        .unwrap();
        dir
    }

    #[test]
    fn arguments_are_read_and_malformed_calls_say_how_to_fix_them() {
        assert_eq!(
            parse(&call(
                "read_file",
                r#"{"path":"src/a.ts","start_line":"3","end_line":9}"#
            )),
            Ok(Request::ReadFile {
                path: "src/a.ts".into(),
                start: Some(3),
                end: Some(9)
            })
        );
        assert_eq!(
            parse(&call("list_files", r#"{"path":"."}"#)),
            Ok(Request::ListFiles {
                path: ".".into(),
                depth: 2
            })
        );
        assert_eq!(
            parse(&call("finish", "")),
            Ok(Request::Finish {
                summary: String::new()
            })
        );
        let Malformed(bad_json) = parse(&call("read_file", r#"{"path": "a.ts""#)).unwrap_err();
        assert!(bad_json.contains("not valid JSON"), "{bad_json}");
        assert!(
            bad_json.contains(r#""start_line""#),
            "names an example: {bad_json}"
        );
        let Malformed(unknown) = parse(&call("write_file", "{}")).unwrap_err();
        assert!(unknown.contains("no tool `write_file`"), "{unknown}");
        assert!(unknown.contains("read_file, search, edit"), "{unknown}");
        let Malformed(missing) = parse(&call("search", r#"{"path_glob":"*.ts"}"#)).unwrap_err();
        assert!(
            missing.contains("needs the argument `pattern`"),
            "{missing}"
        );
        let Malformed(typed) = parse(&call("read_file", r#"{"path": 7}"#)).unwrap_err();
        assert!(typed.contains("must be a string"), "{typed}");
        let Malformed(array) = parse(&call("ask", r#"["why?"]"#)).unwrap_err();
        assert!(array.contains("must be a JSON object"), "{array}");
    }

    #[test]
    fn every_tool_is_offered_with_an_object_schema() {
        let specs = specs(&["typecheck".into(), "test".into()]);
        let names: Vec<&str> = specs.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, NAMES);
        for spec in &specs {
            assert_eq!(spec.parameters["type"], "object", "{}", spec.name);
            assert!(spec.parameters["required"].is_array(), "{}", spec.name);
        }
        let run_check = &specs[4].parameters["properties"]["name"]["enum"];
        assert_eq!(run_check, &json!(["typecheck", "test"]));
    }

    #[test]
    fn list_files_respects_gitignore_and_never_shows_git() {
        let dir = repo();
        let listed = list_files(dir.path(), ".", 3).unwrap();
        assert!(listed.contains("src/total.ts"), "{listed}");
        assert!(listed.contains("src/lib/"), "{listed}");
        assert!(listed.contains(".gitignore"), "{listed}");
        assert!(!listed.contains("dist"), "ignored: {listed}");
        assert!(!listed.contains(".git/"), "{listed}");
        let shallow = list_files(dir.path(), "src", 1).unwrap();
        assert!(
            shallow.contains("src/lib/") && !shallow.contains("fmt.ts"),
            "{shallow}"
        );
        assert!(
            list_files(dir.path(), ".git", 1)
                .unwrap_err()
                .contains(".git")
        );
        assert!(
            list_files(dir.path(), "src/total.ts", 1)
                .unwrap_err()
                .contains("not a directory")
        );
    }

    #[test]
    fn read_file_numbers_lines_and_refuses_paths_outside_the_repository() {
        let dir = repo();
        let all = read_file(dir.path(), "src/total.ts", None, None).unwrap();
        assert!(all.starts_with("1: export function total"), "{all}");
        assert!(all.contains("3: }"), "{all}");
        let middle = read_file(dir.path(), "./src//total.ts", Some(2), Some(2)).unwrap();
        assert!(middle.starts_with("2:   return"), "{middle}");
        assert!(middle.contains("(lines 2-2 of 3)"), "{middle}");
        for outside in [
            "../etc/passwd",
            "/etc/passwd",
            ".git/config",
            "src/../../x",
            "~/.ssh/id_rsa",
        ] {
            let refused = read_file(dir.path(), outside, None, None).unwrap_err();
            assert!(refused.starts_with("Error: "), "{outside}: {refused}");
        }
        assert!(
            read_file(dir.path(), "src/none.ts", None, None)
                .unwrap_err()
                .contains("does not exist")
        );
        assert!(
            read_file(dir.path(), "src/total.ts", Some(9), None)
                .unwrap_err()
                .contains("past its end")
        );
    }

    #[cfg(unix)]
    #[test]
    fn read_file_never_follows_a_link_out_of_the_repository() {
        let dir = repo();
        let host = tempfile::tempdir().unwrap();
        std::fs::write(host.path().join("secret"), "token\n").unwrap();
        std::os::unix::fs::symlink(host.path(), dir.path().join("src/out")).unwrap();
        let refused = read_file(dir.path(), "src/out/secret", None, None).unwrap_err();
        assert!(refused.contains("src/out"), "{refused}");
        assert!(list_files(dir.path(), "src/out", 1).is_err());
    }

    #[test]
    fn long_files_are_read_in_pages() {
        let dir = tempfile::tempdir().unwrap();
        let text: String = (1..=1000).map(|n| format!("line {n}\n")).collect();
        std::fs::write(dir.path().join("big.txt"), text).unwrap();
        let page = read_file(dir.path(), "big.txt", None, None).unwrap();
        assert!(page.contains("400: line 400") && !page.contains("401: line 401"));
        assert!(
            page.contains("read on with start_line 401"),
            "{}",
            &page[page.len() - 80..]
        );
    }

    #[test]
    fn search_uses_regexes_and_globs_and_skips_ignored_files() {
        let dir = repo();
        let found = search(dir.path(), r"total\b", None).unwrap();
        assert!(
            found.contains("src/total.ts:1: export function total"),
            "{found}"
        );
        assert!(!found.contains("dist/"), "ignored file searched: {found}");
        let only_lib = search(dir.path(), "export", Some("src/lib/**")).unwrap();
        assert!(only_lib.contains("src/lib/fmt.ts:1:"), "{only_lib}");
        assert!(!only_lib.contains("total.ts"), "{only_lib}");
        assert_eq!(
            search(dir.path(), "nowhere_at_all", None).unwrap(),
            "No line matches `nowhere_at_all`."
        );
        assert!(
            search(dir.path(), "(unclosed", None)
                .unwrap_err()
                .contains("not a valid regular expression")
        );
        assert!(!search(dir.path(), "core", None).unwrap().contains(".git"));
    }

    #[test]
    fn edits_apply_with_the_path_policy_and_fold_into_one_change() {
        let dir = repo();
        let policy = PathPolicy::new(vec![".github/workflows/**".into()]).unwrap();
        let mut so_far = AppliedEdits::default();
        let first = "src/total.ts\n<<<<<<< SEARCH\n  return xs.reduce((a, b) => a + b, 0);\n=======\n  return xs.reduce((a, b) => a + b, 1);\n>>>>>>> REPLACE\n";
        let said = edit(dir.path(), first, &policy, &mut so_far).unwrap();
        assert_eq!(said, "Applied: src/total.ts (changed).");
        let back = "src/total.ts\n<<<<<<< SEARCH\n  return xs.reduce((a, b) => a + b, 1);\n=======\n  return xs.reduce((a, b) => a + b, 0);\n>>>>>>> REPLACE\n";
        edit(dir.path(), back, &policy, &mut so_far).unwrap();
        assert!(
            so_far.changes.is_empty(),
            "a change undone is no change: {so_far:?}"
        );
        let refused = edit(
            dir.path(),
            "FILE: .github/workflows/ci.yml\n```yaml\non: push\n```\n",
            &policy,
            &mut so_far,
        )
        .unwrap_err();
        assert!(refused.contains("protected"), "{refused}");
        let git = edit(
            dir.path(),
            "FILE: .git/hooks/pre-commit\n```sh\nexit 0\n```\n",
            &policy,
            &mut so_far,
        )
        .unwrap_err();
        assert!(git.starts_with("Error: "), "{git}");
        assert!(!dir.path().join(".git/hooks/pre-commit").exists());
        let garbage = edit(dir.path(), "just words", &policy, &mut so_far).unwrap_err();
        assert!(garbage.starts_with("Error: "), "{garbage}");
        assert_eq!(edited_paths(first), vec!["src/total.ts".to_string()]);
    }
}
