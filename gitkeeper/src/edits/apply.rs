//! Applying parsed edits to a work directory, all or nothing: every edit is
//! first applied in memory, and files are written only when all of them
//! applied. It must never write a file when any edit was rejected, never
//! write outside the paths `paths` allows, and never leave a half-written
//! set of files behind (a failed write rolls back the ones before it).

use std::collections::HashMap;
use std::fmt;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use thiserror::Error;

use super::diff::Diff;
use super::format::{EditKind, Edits};
use super::matching::{MatchFailure, replace_in_text};
use super::paths::{PathPolicy, PathProblem, absolute};

/// The files a set of edits changed, each with its content before and after.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppliedEdits {
    /// In the order the edits first touched them.
    pub changes: Vec<FileChange>,
}

impl AppliedEdits {
    /// A unified diff of the changes (for `--dry-run` and PR descriptions).
    pub fn diff(&self) -> Diff {
        Diff::from_changes(&self.changes)
    }

    /// True when the edits changed nothing (all were no-ops), so there is nothing to commit.
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }
}

/// One file's change. A renamed file appears twice: its old path with
/// `after: None`, its new path with `renamed_from` set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileChange {
    /// Real path relative to the repository root, `/`-separated.
    pub path: String,
    /// `None`: the file did not exist.
    pub before: Option<String>,
    /// `None`: the file is deleted.
    pub after: Option<String>,
    /// The path this file's content was moved from, for renames.
    pub renamed_from: Option<String>,
}

/// Why one edit was not applied.
#[derive(Debug, Clone, PartialEq)]
pub enum RejectionReason {
    /// The path fails the path policy (outside the repository, `.git/`, protected, …).
    UnsafePath(PathProblem),
    /// SEARCH matched nowhere; the most similar lines start here (1-based).
    SearchNotFound {
        /// Where the model should look instead, if anything was similar.
        closest_line: Option<usize>,
    },
    /// SEARCH matched several places (their 1-based first lines).
    SearchAmbiguous {
        /// The first line of each match.
        lines: Vec<usize>,
    },
    /// SEARCH was empty but the file has content.
    EmptySearch,
    /// The file to change, delete or rename does not exist.
    FileMissing,
    /// A rename's target exists already.
    TargetExists {
        /// The normalized target path, so the model can pick another one.
        target: String,
    },
    /// The file is not UTF-8 text.
    NotText,
    /// The file exists but reading it failed; the I/O error as the model is told it.
    Unreadable(String),
}

impl fmt::Display for RejectionReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RejectionReason::UnsafePath(problem) => write!(f, "unsafe path: {problem}"),
            RejectionReason::SearchNotFound { .. } => f.write_str("SEARCH matches nothing"),
            RejectionReason::SearchAmbiguous { lines } => {
                write!(f, "SEARCH matches {} places", lines.len())
            }
            RejectionReason::EmptySearch => f.write_str("empty SEARCH on a non-empty file"),
            RejectionReason::FileMissing => f.write_str("the file does not exist"),
            RejectionReason::TargetExists { target } => {
                write!(f, "rename target `{target}` exists")
            }
            RejectionReason::NotText => f.write_str("not a UTF-8 text file"),
            RejectionReason::Unreadable(e) => write!(f, "cannot be read: {e}"),
        }
    }
}

/// One rejected edit, with the text to feed back to the model.
#[derive(Debug, Clone, PartialEq)]
pub struct EditRejection {
    /// 1-based position of the edit in the answer.
    pub edit: usize,
    /// The path as the model wrote it.
    pub path: String,
    /// Why, as data for callers that count or classify rejections.
    pub reason: RejectionReason,
    /// What went wrong and how to fix it, addressed to the model.
    pub feedback: String,
}

/// Why nothing was written.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum ApplyError {
    /// Some edits could not be applied: the model's fault, fed back for a retry.
    #[error("{} edit(s) rejected, nothing was written; first: edit {} (`{}`): {}",
        .0.len(),
        .0.first().map_or(0, |r| r.edit),
        .0.first().map_or("", |r| r.path.as_str()),
        .0.first().map_or(String::new(), |r| r.reason.to_string()))]
    Rejected(Vec<EditRejection>),
    /// The work directory itself is unusable: the checkout's fault, not the model's.
    #[error("the work directory {} cannot be used: {source}", root.display())]
    WorkDir {
        /// The directory as given.
        root: PathBuf,
        /// Why it could not be resolved.
        #[source]
        source: io::Error,
    },
    /// Writing failed after every edit had applied in memory.
    #[error("writing {path} failed: {source}; {}", if *rolled_back {
        "the files written before it were restored"
    } else {
        "restoring the files written before it failed too: the work directory is inconsistent, discard it"
    })]
    Write {
        /// The repository-relative file whose write failed.
        path: String,
        /// The write's I/O error.
        #[source]
        source: io::Error,
        /// Whether the files written before it were restored; if not, discard the work directory.
        rolled_back: bool,
    },
}

impl ApplyError {
    /// The rejected edits (empty for I/O failures).
    pub fn rejections(&self) -> &[EditRejection] {
        match self {
            ApplyError::Rejected(rejections) => rejections,
            _ => &[],
        }
    }

    /// A precise message for the model's next attempt.
    pub fn feedback(&self) -> String {
        match self {
            ApplyError::Rejected(rejections) => {
                let mut out = format!(
                    "None of your edits were applied, because {} of them could not be. Fix \
                     these and send all edits again:\n",
                    rejections.len()
                );
                for r in rejections {
                    out.push_str(&format!(
                        "\n- Edit {} (`{}`): {}\n",
                        r.edit, r.path, r.feedback
                    ));
                }
                out
            }
            other => format!("Your edits could not be written ({other}). This is not your fault."),
        }
    }
}

/// Applies `edits` in memory under `root` and reports the changes, writing
/// nothing (for `--dry-run`, and the first half of [`apply_edits`]).
pub fn plan_edits(
    root: &Path,
    edits: &Edits,
    policy: &PathPolicy,
) -> Result<AppliedEdits, ApplyError> {
    let root = root.canonicalize().map_err(|source| ApplyError::WorkDir {
        root: root.to_path_buf(),
        source,
    })?;
    let mut work = Workspace {
        root: &root,
        policy,
        slots: HashMap::new(),
        order: Vec::new(),
        rejections: Vec::new(),
    };
    for (index, edit) in edits.iter().enumerate() {
        work.apply(index + 1, &edit.path, &edit.kind);
    }
    if !work.rejections.is_empty() {
        return Err(ApplyError::Rejected(work.rejections));
    }
    Ok(work.changes())
}

/// Applies `edits` to the files under `root`: all of them, or none (the
/// error says which were rejected and why, ready to feed back to the model).
pub fn apply_edits(
    root: &Path,
    edits: &Edits,
    policy: &PathPolicy,
) -> Result<AppliedEdits, ApplyError> {
    let applied = plan_edits(root, edits, policy)?;
    let root = root.canonicalize().map_err(|source| ApplyError::WorkDir {
        root: root.to_path_buf(),
        source,
    })?;
    write_all(&root, &applied.changes)?;
    Ok(applied)
}

/// A file as the edits see it.
struct Slot {
    original: Option<String>,
    current: Option<String>,
    crlf: bool,
    renamed_from: Option<String>,
}

struct Workspace<'a> {
    root: &'a Path,
    policy: &'a PathPolicy,
    slots: HashMap<String, Slot>,
    order: Vec<String>,
    rejections: Vec<EditRejection>,
}

impl Workspace<'_> {
    fn reject(&mut self, edit: usize, path: &str, reason: RejectionReason, feedback: String) {
        self.rejections.push(EditRejection {
            edit,
            path: path.to_string(),
            reason,
            feedback,
        });
    }

    fn resolve(&mut self, edit: usize, path: &str) -> Option<String> {
        match self.policy.resolve(self.root, path) {
            Ok(real) => Some(real),
            Err(problem) => {
                let feedback = format!("`{path}` cannot be edited: {problem}.");
                self.reject(edit, path, RejectionReason::UnsafePath(problem), feedback);
                None
            }
        }
    }

    /// Loads a file into the overlay (once); `false` if it cannot be read.
    fn load(&mut self, edit: usize, path: &str, real: &str) -> bool {
        if self.slots.contains_key(real) {
            return true;
        }
        let original = match fs::read(absolute(self.root, real)) {
            Ok(bytes) => match String::from_utf8(bytes) {
                Ok(text) => Some(text),
                Err(_) => {
                    self.reject(
                        edit,
                        path,
                        RejectionReason::NotText,
                        format!(
                            "`{path}` is not UTF-8 text; only text files can be edited. Leave it \
                             unchanged."
                        ),
                    );
                    return false;
                }
            },
            Err(e) if e.kind() == io::ErrorKind::NotFound => None,
            Err(e) => {
                self.reject(
                    edit,
                    path,
                    RejectionReason::Unreadable(e.to_string()),
                    format!("`{path}` cannot be read ({e}). Leave it unchanged."),
                );
                return false;
            }
        };
        let crlf = original.as_deref().is_some_and(|text| {
            let newlines = text.matches('\n').count();
            newlines > 0 && text.matches("\r\n").count() * 2 > newlines
        });
        self.slots.insert(
            real.to_string(),
            Slot {
                current: original.clone(),
                original,
                crlf,
                renamed_from: None,
            },
        );
        self.order.push(real.to_string());
        true
    }

    fn slot(&mut self, real: &str) -> &mut Slot {
        self.slots.entry(real.to_string()).or_insert_with(|| Slot {
            original: None,
            current: None,
            crlf: false,
            renamed_from: None,
        })
    }

    fn apply(&mut self, edit: usize, path: &str, kind: &EditKind) {
        let Some(real) = self.resolve(edit, path) else {
            return;
        };
        if !self.load(edit, path, &real) {
            return;
        }
        match kind {
            EditKind::Replace { search, replace } => {
                self.replace(edit, path, &real, search, replace)
            }
            EditKind::WholeFile { content } => {
                let slot = self.slot(&real);
                slot.current = Some(if slot.crlf {
                    content.replace("\r\n", "\n").replace('\n', "\r\n")
                } else {
                    content.clone()
                });
            }
            EditKind::Delete => {
                let slot = self.slot(&real);
                if slot.current.take().is_none() {
                    self.reject(
                        edit,
                        path,
                        RejectionReason::FileMissing,
                        format!("`{path}` does not exist, so it cannot be deleted. Drop this DELETE line."),
                    );
                }
            }
            EditKind::Rename { to } => self.rename(edit, path, &real, to),
        }
    }

    fn replace(&mut self, edit: usize, path: &str, real: &str, search: &str, replace: &str) {
        let blank_search = search.trim().is_empty();
        let current = self.slot(real).current.clone();
        let Some(text) = current else {
            if blank_search {
                self.slot(real).current = Some(replace.to_string());
                return;
            }
            let hint = similar_names(self.root, real);
            self.reject(
                edit,
                path,
                RejectionReason::FileMissing,
                format!(
                    "`{path}` does not exist, so its SEARCH block cannot apply. To create it, \
                     write `FILE: {path}` followed by a code block with the complete content.{hint}"
                ),
            );
            return;
        };
        if blank_search {
            if text.trim().is_empty() {
                self.slot(real).current = Some(replace.to_string());
            } else {
                self.reject(
                    edit,
                    path,
                    RejectionReason::EmptySearch,
                    format!(
                        "The SEARCH section for `{path}` is empty, but the file exists and has \
                         content. Copy the existing lines to change into SEARCH, or send the \
                         whole file as `FILE: {path}` with a code block."
                    ),
                );
            }
            return;
        }
        match replace_in_text(&text, search, replace) {
            Ok(done) => self.slot(real).current = Some(done.text),
            Err(MatchFailure::Ambiguous { lines }) => {
                let feedback = format!(
                    "The SEARCH text matches {} places in `{path}` (starting at lines {}). Add \
                     more of the surrounding lines to SEARCH so that it matches exactly one place.",
                    lines.len(),
                    list(&lines)
                );
                self.reject(
                    edit,
                    path,
                    RejectionReason::SearchAmbiguous { lines },
                    feedback,
                );
            }
            Err(MatchFailure::NotFound { closest }) => {
                let mut feedback = format!(
                    "The SEARCH text does not match any lines of `{path}`. SEARCH must copy lines \
                     that are in the file now, exactly, including indentation, comments and blank \
                     lines."
                );
                let closest_line = match &closest {
                    Some(c) if c.similarity >= 0.3 => {
                        let fence = "`".repeat(super::format::fence_len(&c.text));
                        feedback.push_str(&format!(
                            " The most similar lines in `{path}` are lines {}-{} ({:.0}% alike):\n{fence}\n{}\n{fence}\nCopy SEARCH from these lines if they are the ones to change.",
                            c.first_line,
                            c.last_line,
                            c.similarity * 100.0,
                            c.text
                        ));
                        Some(c.first_line)
                    }
                    _ => {
                        feedback.push_str(&format!(
                            " Nothing in `{path}` resembles it: check that this is the right file."
                        ));
                        None
                    }
                };
                self.reject(
                    edit,
                    path,
                    RejectionReason::SearchNotFound { closest_line },
                    feedback,
                );
            }
            Err(MatchFailure::EmptySearch) => {
                // Unreachable: blank SEARCH texts are handled above.
                self.reject(
                    edit,
                    path,
                    RejectionReason::EmptySearch,
                    format!("The SEARCH section for `{path}` is empty."),
                );
            }
        }
    }

    fn rename(&mut self, edit: usize, path: &str, real: &str, to: &str) {
        let Some(real_to) = self.resolve(edit, to) else {
            return;
        };
        if !self.load(edit, to, &real_to) {
            return;
        }
        if self.slot(real).current.is_none() {
            self.reject(
                edit,
                path,
                RejectionReason::FileMissing,
                format!("`{path}` does not exist, so it cannot be renamed."),
            );
            return;
        }
        if self.slot(&real_to).current.is_some() {
            let feedback = if real_to == real {
                format!("`{path}` and `{to}` are the same file. Drop this RENAME line.")
            } else {
                format!(
                    "`{to}` already exists, and RENAME never overwrites a file. Pick another \
                     name, or change `{to}` with SEARCH/REPLACE blocks instead."
                )
            };
            self.reject(
                edit,
                path,
                RejectionReason::TargetExists {
                    target: to.to_string(),
                },
                feedback,
            );
            return;
        }
        let source = self.slot(real);
        let content = source.current.take();
        let crlf = source.crlf;
        let origin = source
            .renamed_from
            .take()
            .unwrap_or_else(|| real.to_string());
        let target = self.slot(&real_to);
        target.current = content;
        target.crlf = crlf;
        if target.original.is_none() {
            target.renamed_from = Some(origin);
        }
    }

    fn changes(self) -> AppliedEdits {
        let mut slots = self.slots;
        let changes = self
            .order
            .iter()
            .filter_map(|path| {
                let slot = slots.remove(path)?;
                (slot.original != slot.current).then(|| FileChange {
                    path: path.clone(),
                    renamed_from: slot.renamed_from.filter(|_| slot.current.is_some()),
                    before: slot.original,
                    after: slot.current,
                })
            })
            .collect();
        AppliedEdits { changes }
    }
}

fn list(lines: &[usize]) -> String {
    let shown: Vec<String> = lines.iter().take(10).map(usize::to_string).collect();
    let mut out = shown.join(", ");
    if lines.len() > 10 {
        out.push_str(", ...");
    }
    out
}

/// Files next to a missing one with the same stem or a case-insensitively
/// equal name, as a hint: " Did you mean `src/a.tsx`?"
fn similar_names(root: &Path, real: &str) -> String {
    let (dir, name) = real.rsplit_once('/').unwrap_or(("", real));
    let stem = |n: &str| n.split('.').next().unwrap_or(n).to_ascii_lowercase();
    let wanted = stem(name);
    let Ok(entries) = fs::read_dir(if dir.is_empty() {
        root.to_path_buf()
    } else {
        absolute(root, dir)
    }) else {
        return String::new();
    };
    let mut found: Vec<String> = entries
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .filter_map(|e| e.file_name().to_str().map(str::to_string))
        .filter(|n| n.eq_ignore_ascii_case(name) || stem(n) == wanted)
        .map(|n| {
            if dir.is_empty() {
                n
            } else {
                format!("{dir}/{n}")
            }
        })
        .collect();
    found.sort();
    found.truncate(5);
    if found.is_empty() {
        return String::new();
    }
    let names: Vec<String> = found.iter().map(|n| format!("`{n}`")).collect();
    format!(" Existing files with a similar name: {}.", names.join(", "))
}

/// What to restore if a later write fails.
struct Undo {
    path: PathBuf,
    before: Option<String>,
    permissions: Option<fs::Permissions>,
}

fn write_all(root: &Path, changes: &[FileChange]) -> Result<(), ApplyError> {
    let mut done: Vec<Undo> = Vec::new();
    let mut created_dirs: Vec<PathBuf> = Vec::new();
    for change in changes {
        let path = absolute(root, &change.path);
        let permissions = fs::metadata(&path).ok().map(|m| m.permissions());
        let result = match &change.after {
            Some(content) => {
                let inherited = permissions.clone().or_else(|| {
                    change
                        .renamed_from
                        .as_deref()
                        .and_then(|from| fs::metadata(absolute(root, from)).ok())
                        .map(|m| m.permissions())
                });
                create_parents(&path, &mut created_dirs)
                    .and_then(|()| write_atomically(&path, content, inherited))
            }
            None => fs::remove_file(&path),
        };
        if let Err(source) = result {
            let rolled_back = roll_back(done, &created_dirs);
            return Err(ApplyError::Write {
                path: change.path.clone(),
                source,
                rolled_back,
            });
        }
        done.push(Undo {
            path,
            before: change.before.clone(),
            permissions,
        });
    }
    Ok(())
}

fn create_parents(path: &Path, created: &mut Vec<PathBuf>) -> io::Result<()> {
    let Some(parent) = path.parent() else {
        return Ok(());
    };
    let mut missing = Vec::new();
    let mut dir = parent;
    while !dir.exists() {
        missing.push(dir.to_path_buf());
        match dir.parent() {
            Some(up) => dir = up,
            None => break,
        }
    }
    fs::create_dir_all(parent)?;
    created.extend(missing.into_iter().rev());
    Ok(())
}

fn write_atomically(
    path: &Path,
    content: &str,
    permissions: Option<fs::Permissions>,
) -> io::Result<()> {
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "path has no file name"))?;
    let temp = path.with_file_name(format!(".{name}.gitkeeper-tmp"));
    let result = fs::write(&temp, content)
        .and_then(|()| match permissions {
            Some(p) => fs::set_permissions(&temp, p),
            None => Ok(()),
        })
        .and_then(|()| fs::rename(&temp, path));
    if result.is_err() {
        let _ = fs::remove_file(&temp);
    }
    result
}

/// Restores written files in reverse order; `true` if all were restored.
fn roll_back(done: Vec<Undo>, created_dirs: &[PathBuf]) -> bool {
    let mut ok = true;
    for undo in done.into_iter().rev() {
        let result = match &undo.before {
            Some(content) => write_atomically(&undo.path, content, undo.permissions),
            None => match fs::remove_file(&undo.path) {
                Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
                other => other,
            },
        };
        ok &= result.is_ok();
    }
    for dir in created_dirs.iter().rev() {
        // Only empty folders we created; anything else stays.
        let _ = fs::remove_dir(dir);
    }
    ok
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::edits::format::Edit;

    fn repo(files: &[(&str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for (path, content) in files {
            let full = dir.path().join(path);
            fs::create_dir_all(full.parent().unwrap()).unwrap();
            fs::write(full, content).unwrap();
        }
        dir
    }

    fn edits(list: Vec<(&str, EditKind)>) -> Edits {
        Edits(
            list.into_iter()
                .map(|(path, kind)| Edit {
                    path: path.to_string(),
                    kind,
                })
                .collect(),
        )
    }

    fn sr(search: &str, replace: &str) -> EditKind {
        EditKind::Replace {
            search: search.into(),
            replace: replace.into(),
        }
    }

    fn read(dir: &tempfile::TempDir, path: &str) -> Option<String> {
        fs::read_to_string(dir.path().join(path)).ok()
    }

    #[test]
    fn applies_every_kind_and_reports_changes() {
        let dir = repo(&[("a.ts", "one\ntwo\n"), ("b.ts", "b\n"), ("c.ts", "c\n")]);
        let applied = apply_edits(
            dir.path(),
            &edits(vec![
                ("a.ts", sr("two\n", "TWO\n")),
                (
                    "new/d.ts",
                    EditKind::WholeFile {
                        content: "d\n".into(),
                    },
                ),
                ("b.ts", EditKind::Delete),
                (
                    "c.ts",
                    EditKind::Rename {
                        to: "lib/c.ts".into(),
                    },
                ),
            ]),
            &PathPolicy::default(),
        )
        .unwrap();
        assert_eq!(read(&dir, "a.ts").as_deref(), Some("one\nTWO\n"));
        assert_eq!(read(&dir, "new/d.ts").as_deref(), Some("d\n"));
        assert_eq!(read(&dir, "b.ts"), None);
        assert_eq!(read(&dir, "c.ts"), None);
        assert_eq!(read(&dir, "lib/c.ts").as_deref(), Some("c\n"));
        let paths: Vec<&str> = applied.changes.iter().map(|c| c.path.as_str()).collect();
        assert_eq!(paths, ["a.ts", "new/d.ts", "b.ts", "c.ts", "lib/c.ts"]);
        assert_eq!(applied.changes[4].renamed_from.as_deref(), Some("c.ts"));
        assert_eq!(applied.changes[4].before, None);
    }

    #[test]
    fn later_edits_see_earlier_ones() {
        let dir = repo(&[("a.ts", "x\n")]);
        let applied = apply_edits(
            dir.path(),
            &edits(vec![
                ("a.ts", EditKind::Rename { to: "b.ts".into() }),
                ("b.ts", sr("x\n", "y\n")),
                ("b.ts", sr("y\n", "z\n")),
            ]),
            &PathPolicy::default(),
        )
        .unwrap();
        assert_eq!(read(&dir, "b.ts").as_deref(), Some("z\n"));
        assert_eq!(applied.changes.len(), 2);
    }

    #[test]
    fn one_rejection_writes_nothing() {
        let dir = repo(&[("a.ts", "one\n")]);
        let err = apply_edits(
            dir.path(),
            &edits(vec![
                ("a.ts", sr("one\n", "ONE\n")),
                (
                    "new.ts",
                    EditKind::WholeFile {
                        content: "n\n".into(),
                    },
                ),
                ("a.ts", sr("missing\n", "x\n")),
            ]),
            &PathPolicy::default(),
        )
        .unwrap_err();
        assert_eq!(read(&dir, "a.ts").as_deref(), Some("one\n"));
        assert_eq!(read(&dir, "new.ts"), None);
        assert_eq!(err.rejections().len(), 1);
        assert_eq!(err.rejections()[0].edit, 3);
        assert!(err.feedback().contains("None of your edits were applied"));
    }

    #[test]
    fn search_on_missing_file_suggests_similar_names() {
        let dir = repo(&[("src/page.tsx", "x\n")]);
        let err = plan_edits(
            dir.path(),
            &edits(vec![("src/page.ts", sr("x\n", "y\n"))]),
            &PathPolicy::default(),
        )
        .unwrap_err();
        let r = &err.rejections()[0];
        assert_eq!(r.reason, RejectionReason::FileMissing);
        assert!(r.feedback.contains("FILE: src/page.ts"), "{}", r.feedback);
        assert!(r.feedback.contains("`src/page.tsx`"), "{}", r.feedback);
    }

    #[test]
    fn empty_search_creates_a_missing_file_only() {
        let dir = repo(&[("a.ts", "a\n")]);
        plan_edits(
            dir.path(),
            &edits(vec![("b.ts", sr("", "b\n"))]),
            &PathPolicy::default(),
        )
        .unwrap();
        let err = plan_edits(
            dir.path(),
            &edits(vec![("a.ts", sr("", "b\n"))]),
            &PathPolicy::default(),
        )
        .unwrap_err();
        assert_eq!(err.rejections()[0].reason, RejectionReason::EmptySearch);
    }

    #[test]
    fn whole_file_over_existing_file_is_fine_and_keeps_crlf() {
        let dir = repo(&[("a.ts", "a\r\nb\r\n")]);
        apply_edits(
            dir.path(),
            &edits(vec![(
                "a.ts",
                EditKind::WholeFile {
                    content: "x\ny\n".into(),
                },
            )]),
            &PathPolicy::default(),
        )
        .unwrap();
        assert_eq!(read(&dir, "a.ts").as_deref(), Some("x\r\ny\r\n"));
    }

    #[test]
    fn unchanged_content_is_no_change() {
        let dir = repo(&[("a.ts", "a\n")]);
        let applied = plan_edits(
            dir.path(),
            &edits(vec![(
                "a.ts",
                EditKind::WholeFile {
                    content: "a\n".into(),
                },
            )]),
            &PathPolicy::default(),
        )
        .unwrap();
        assert!(applied.is_empty());
    }

    #[cfg(unix)]
    #[test]
    fn executable_bit_survives_a_rewrite() {
        use std::os::unix::fs::PermissionsExt;
        let dir = repo(&[("run.sh", "echo a\n")]);
        let path = dir.path().join("run.sh");
        fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).unwrap();
        apply_edits(
            dir.path(),
            &edits(vec![("run.sh", sr("echo a\n", "echo b\n"))]),
            &PathPolicy::default(),
        )
        .unwrap();
        let mode = fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o755);
    }

    #[cfg(unix)]
    #[test]
    fn failed_write_rolls_back_earlier_writes() {
        use std::os::unix::fs::PermissionsExt;
        let dir = repo(&[("a.ts", "a\n"), ("locked/b.ts", "b\n")]);
        let locked = dir.path().join("locked");
        fs::set_permissions(&locked, fs::Permissions::from_mode(0o555)).unwrap();
        // Root ignores permissions; the test is meaningful only otherwise.
        let probe = locked.join(".probe");
        if fs::write(&probe, "").is_ok() {
            let _ = fs::remove_file(&probe);
            fs::set_permissions(&locked, fs::Permissions::from_mode(0o755)).unwrap();
            return;
        }
        let err = apply_edits(
            dir.path(),
            &edits(vec![
                ("a.ts", sr("a\n", "A\n")),
                (
                    "new/c.ts",
                    EditKind::WholeFile {
                        content: "c\n".into(),
                    },
                ),
                ("locked/b.ts", sr("b\n", "B\n")),
            ]),
            &PathPolicy::default(),
        )
        .unwrap_err();
        fs::set_permissions(&locked, fs::Permissions::from_mode(0o755)).unwrap();
        assert!(
            matches!(
                err,
                ApplyError::Write {
                    rolled_back: true,
                    ..
                }
            ),
            "{err}"
        );
        assert_eq!(read(&dir, "a.ts").as_deref(), Some("a\n"));
        assert!(!dir.path().join("new").exists());
    }
}
