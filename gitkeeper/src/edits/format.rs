//! The edit format models answer in: the `Edit` types, the grammar as models
//! read it (`FORMAT_DOC`, embedded in prompts), and the canonical renderer.
//! It must never accept or render a form the parser reads differently.
//!
//! Grammar (canonical form; `parse` also reads the drifted forms listed in
//! `FORMAT.md`):
//!
//! ```text
//! answer      = *( block / prose ) / clarification
//! block       = replace / whole-file / delete / rename
//! replace     = path-line LF "<<<<<<< SEARCH" LF *line "=======" LF *line ">>>>>>> REPLACE" LF
//! whole-file  = "FILE: " path LF fence LF *line fence LF      ; fence = 3+ backticks, longer than any in the content
//! delete      = "DELETE: " path LF
//! rename      = "RENAME: " path " -> " path LF
//! clarification = "CLARIFICATION_NEEDED: " question LF
//! path-line   = path / "`" path "`"                         ; alone on its line
//! ```

use serde::{Deserialize, Serialize};
use thiserror::Error;

use super::parse::{self, Directive, LineKind, Marker};

/// One change to one file, as the model proposed it (paths are not yet checked).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Edit {
    /// Path relative to the repository root, as written by the model.
    pub path: String,
    /// What happens to the file at `path`.
    pub kind: EditKind,
}

/// What an [`Edit`] does to its file.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum EditKind {
    /// Replace the one place where `search` occurs with `replace`. An empty
    /// `search` creates a file that does not exist yet.
    Replace {
        /// The lines to find, exactly once (whitespace drift is tolerated).
        search: String,
        /// The lines that take their place.
        replace: String,
    },
    /// Create the file, or overwrite it, with `content`.
    WholeFile {
        /// The file's complete new text.
        content: String,
    },
    /// Remove the file.
    Delete,
    /// Move the file to `to`, which must not exist.
    Rename {
        /// The new path, relative to the repository root as the model wrote it.
        to: String,
    },
}

/// All edits of one model answer, in the order they were given (order matters:
/// later blocks see the result of earlier ones).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Edits(pub Vec<Edit>);

impl Edits {
    /// How many edit blocks the answer had (a renamed file counts once).
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True when the answer proposed no change at all.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The edits in answer order, which is the order they must be applied in.
    pub fn iter(&self) -> std::slice::Iter<'_, Edit> {
        self.0.iter()
    }

    /// The edits in the canonical format, as a model would ideally write them
    /// (for revision prompts and tests); parsing the result gives `self` back.
    pub fn render(&self) -> Result<String, RenderError> {
        render_edits(self)
    }
}

impl<'a> IntoIterator for &'a Edits {
    type Item = &'a Edit;
    type IntoIter = std::slice::Iter<'a, Edit>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

impl From<Vec<Edit>> for Edits {
    fn from(edits: Vec<Edit>) -> Self {
        Edits(edits)
    }
}

macro_rules! doc_intro {
    () => {
        "# Edit format

Answer with edit blocks only. Every block names its file with a path relative \
to the repository root, such as `src/lib/session.ts`: never an absolute path, \
never `..`, never a path inside `.git/`. Text outside the blocks is ignored.
"
    };
}

macro_rules! doc_whole_file_intro {
    () => {
        "# Edit format

Answer with FILE blocks only: one block for every file you create or change, \
each holding the complete new content of that file. Every block names its file \
with a path relative to the repository root, such as `src/lib/session.ts`: \
never an absolute path, never `..`, never a path inside `.git/`. Text outside \
the blocks is ignored.
"
    };
}

macro_rules! doc_search_replace {
    () => {
        "
## Change part of a file: SEARCH/REPLACE

Write the file path alone on a line, then the block:

```text
src/lib/session.ts
<<<<<<< SEARCH
export function getSession() {
  return null;
}
=======
export function getSession(): Session | null {
  return readSession();
}
>>>>>>> REPLACE
```

- SEARCH copies lines that are in the file now, exactly: same indentation, \
same comments, same blank lines. Give enough lines to match one place only.
- REPLACE holds the lines that take their place. An empty REPLACE deletes them.
- For several changes write several blocks, each with its file path.
"
    };
}

macro_rules! doc_whole_file {
    () => {
        "
## Create a file or write it in full: FILE

Write `FILE:` and the path, then a code block with the complete content of \
the file, not only the changed part:

````text
FILE: src/app/api/health/route.ts
```ts
export function GET() {
  return Response.json({ ok: true });
}
```
````
"
    };
}

macro_rules! doc_delete_rename {
    () => {
        "
## Delete or rename a file

```text
DELETE: src/old-helper.ts
RENAME: src/utils.ts -> src/lib/utils.ts
```
"
    };
}

macro_rules! doc_clarification {
    () => {
        "
## When the task is unclear

If you cannot make the change without more information, answer with this \
single line and nothing else:

```text
CLARIFICATION_NEEDED: <your question>
```
"
    };
}

/// The full format description (SEARCH/REPLACE and FILE blocks) that prompts
/// embed; `FORMAT.md` carries the same text for people.
pub const FORMAT_DOC: &str = concat!(
    doc_intro!(),
    doc_search_replace!(),
    doc_whole_file!(),
    doc_delete_rename!(),
    doc_clarification!()
);

/// The description for [`EditFormat::WholeFile`]: FILE blocks only.
pub const WHOLE_FILE_DOC: &str = concat!(
    doc_whole_file_intro!(),
    doc_whole_file!(),
    doc_delete_rename!(),
    doc_clarification!()
);

/// An edit that the canonical format cannot express so that it parses back
/// to the same value.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("edit {index} for `{path}` cannot be written in the edit format: {reason}")]
#[non_exhaustive]
pub struct RenderError {
    /// 1-based position of the edit.
    pub index: usize,
    /// The edit's path, so the caller can say which file cannot be rendered.
    pub path: String,
    /// What in the edit the grammar cannot express (a line that looks like a marker, a path that cannot stand alone).
    pub reason: String,
}

/// Renders edits in the canonical format (see the module grammar).
pub fn render_edits(edits: &Edits) -> Result<String, RenderError> {
    let mut out = String::new();
    for (i, edit) in edits.iter().enumerate() {
        let fail = |reason: &str| RenderError {
            index: i + 1,
            path: edit.path.clone(),
            reason: reason.to_string(),
        };
        if !out.is_empty() {
            out.push('\n');
        }
        match &edit.kind {
            EditKind::Replace { search, replace } => {
                let header = header_line_for(&edit.path)
                    .ok_or_else(|| fail("the path cannot stand alone on a line"))?;
                for line in split_content(search) {
                    if parse::marker(line).is_some() {
                        return Err(fail("a SEARCH line looks like a block marker"));
                    }
                }
                for line in split_content(replace) {
                    if matches!(
                        parse::marker(line),
                        Some(Marker::Search(_) | Marker::Replace)
                    ) {
                        return Err(fail("a REPLACE line looks like a block marker"));
                    }
                }
                out.push_str(&header);
                out.push('\n');
                out.push_str("<<<<<<< SEARCH\n");
                push_lines(&mut out, search);
                out.push_str("=======\n");
                push_lines(&mut out, replace);
                out.push_str(">>>>>>> REPLACE\n");
            }
            EditKind::WholeFile { content } => {
                let line = directive_text(
                    &Directive::File(edit.path.clone()),
                    reprs(&edit.path).map(|p| format!("FILE: {p}")),
                )
                .ok_or_else(|| fail("the path cannot follow `FILE:`"))?;
                if let Some(reason) = whole_file_conflict(&edit.path, content) {
                    return Err(fail(reason));
                }
                let fence = "`".repeat(fence_len(content));
                out.push_str(&line);
                out.push('\n');
                out.push_str(&fence);
                out.push('\n');
                push_lines(&mut out, content);
                out.push_str(&fence);
                out.push('\n');
            }
            EditKind::Delete => {
                let line = directive_text(
                    &Directive::Delete(edit.path.clone()),
                    reprs(&edit.path).map(|p| format!("DELETE: {p}")),
                )
                .ok_or_else(|| fail("the path cannot follow `DELETE:`"))?;
                out.push_str(&line);
                out.push('\n');
            }
            EditKind::Rename { to } => {
                let candidates = reprs(&edit.path)
                    .into_iter()
                    .flat_map(|from| reprs(to).map(move |to| format!("RENAME: {from} -> {to}")));
                let line = directive_text(
                    &Directive::Rename(edit.path.clone(), to.clone()),
                    candidates,
                )
                .ok_or_else(|| fail("the paths cannot follow `RENAME:`"))?;
                out.push_str(&line);
                out.push('\n');
            }
        }
    }
    Ok(out)
}

/// The line that names `path` before a SEARCH block, if one parses back to it.
fn header_line_for(path: &str) -> Option<String> {
    reprs(path)
        .into_iter()
        .find(|line| parse::header_path(line).as_deref() == Some(path))
}

/// The ways a path can be written: bare, or in backticks.
fn reprs(path: &str) -> [String; 2] {
    [path.to_string(), format!("`{path}`")]
}

/// The first candidate line that parses back to `expected`.
fn directive_text(
    expected: &Directive,
    candidates: impl IntoIterator<Item = String>,
) -> Option<String> {
    candidates
        .into_iter()
        .find(|line| parse::directive_line(line).as_ref() == Some(expected))
}

/// Why a FILE block with this content would not parse back as written: its
/// first line would be read as a path comment or as the start of edit blocks.
fn whole_file_conflict(path: &str, content: &str) -> Option<&'static str> {
    let mut lines = split_content(content).filter(|l| !l.trim().is_empty());
    let first = lines.next()?;
    match parse::classify(first) {
        LineKind::Marker(Marker::Search(_))
        | LineKind::Directive(_)
        | LineKind::Clarification(_) => {
            Some("the first line would be read as the start of edit blocks")
        }
        LineKind::Path(named) => {
            let next = lines.next();
            if next.is_some_and(|l| matches!(parse::marker(l), Some(Marker::Search(_)))) {
                Some("the first lines would be read as a SEARCH block")
            } else if named == path && next.is_some() {
                Some("the first line names the file itself and would be read as a path comment")
            } else {
                None
            }
        }
        _ => None,
    }
}

/// The lines of block content: every line of `text`, the last one with or
/// without its newline.
fn split_content(text: &str) -> impl Iterator<Item = &str> {
    text.strip_suffix('\n')
        .unwrap_or(text)
        .split('\n')
        .filter(move |_| !text.is_empty())
}

fn push_lines(out: &mut String, text: &str) {
    out.push_str(text);
    if !text.is_empty() && !text.ends_with('\n') {
        out.push('\n');
    }
}

/// A fence longer than any backtick run that starts a line of `content`, so
/// no line inside can close it.
pub(crate) fn fence_len(content: &str) -> usize {
    content
        .split('\n')
        .map(|line| line.trim_start().chars().take_while(|&c| c == '`').count())
        .max()
        .map_or(3, |longest| (longest + 1).max(3))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn edit(path: &str, kind: EditKind) -> Edit {
        Edit {
            path: path.to_string(),
            kind,
        }
    }

    #[test]
    fn renders_every_kind_in_canonical_form() {
        let edits = Edits(vec![
            edit(
                "src/a.ts",
                EditKind::Replace {
                    search: "old\n".into(),
                    replace: "new\n".into(),
                },
            ),
            edit(
                "src/b.ts",
                EditKind::WholeFile {
                    content: "x\n".into(),
                },
            ),
            edit("src/c.ts", EditKind::Delete),
            edit(
                "src/d.ts",
                EditKind::Rename {
                    to: "src/e.ts".into(),
                },
            ),
        ]);
        let text = edits.render().unwrap();
        assert_eq!(
            text,
            "src/a.ts\n<<<<<<< SEARCH\nold\n=======\nnew\n>>>>>>> REPLACE\n\n\
             FILE: src/b.ts\n```\nx\n```\n\n\
             DELETE: src/c.ts\n\n\
             RENAME: src/d.ts -> src/e.ts\n"
        );
    }

    #[test]
    fn whole_file_fence_outgrows_fences_in_the_content() {
        assert_eq!(fence_len("a\n```ts\nb\n```\n"), 4);
        assert_eq!(fence_len("  `````\n"), 6);
        assert_eq!(fence_len("plain\n"), 3);
    }

    #[test]
    fn paths_with_spaces_are_written_in_backticks() {
        let edits = Edits(vec![edit(
            "docs/my notes.md",
            EditKind::Replace {
                search: "a\n".into(),
                replace: "b\n".into(),
            },
        )]);
        assert!(edits.render().unwrap().starts_with("`docs/my notes.md`\n"));
    }

    #[test]
    fn search_text_holding_a_divider_cannot_be_rendered() {
        let edits = Edits(vec![edit(
            "README.md",
            EditKind::Replace {
                search: "Title\n=======\n".into(),
                replace: "x\n".into(),
            },
        )]);
        let err = edits.render().unwrap_err();
        assert_eq!(err.index, 1);
        assert!(err.reason.contains("marker"));
    }

    #[test]
    fn whole_file_doc_mentions_no_search_blocks() {
        assert!(!WHOLE_FILE_DOC.contains("<<<<<<< SEARCH"));
        assert!(FORMAT_DOC.contains("<<<<<<< SEARCH"));
    }
}
