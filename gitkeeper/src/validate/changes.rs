//! The files an attempt changed, as the static checks need them: the path,
//! how it changed (a rename names both paths, so a protected source cannot be
//! moved away unnoticed) and, when known, the content before, so problems
//! that were already there are told apart from new ones.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::edits::AppliedEdits;

/// How a file changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "from")]
pub enum ChangeKind {
    /// Created.
    Added,
    /// Changed in place.
    Modified,
    /// Removed.
    Deleted,
    /// Moved here from another path (the content may have changed too).
    Renamed(String),
}

/// One changed file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangedFile {
    /// Repository-relative path, `/`-separated (the new path of a rename).
    pub path: String,
    /// How it changed.
    pub kind: ChangeKind,
    /// Its content before the change, when known (`None` also for new files).
    pub before: Option<String>,
}

impl ChangedFile {
    /// A change of unknown previous content.
    pub fn new(path: impl Into<String>, kind: ChangeKind) -> Self {
        Self {
            path: path.into(),
            kind,
            before: None,
        }
    }

    /// The changes a set of applied edits made, with their previous content.
    pub fn from_applied(applied: &AppliedEdits) -> Vec<ChangedFile> {
        let renamed_from: Vec<&str> = applied
            .changes
            .iter()
            .filter_map(|c| c.renamed_from.as_deref())
            .collect();
        applied
            .changes
            .iter()
            .filter(|c| !(c.after.is_none() && renamed_from.contains(&c.path.as_str())))
            .map(|c| {
                let kind = match (&c.renamed_from, &c.before, &c.after) {
                    (Some(from), _, _) => ChangeKind::Renamed(from.clone()),
                    (None, _, None) => ChangeKind::Deleted,
                    (None, None, Some(_)) => ChangeKind::Added,
                    (None, Some(_), Some(_)) => ChangeKind::Modified,
                };
                let before = match &c.renamed_from {
                    Some(from) => applied
                        .changes
                        .iter()
                        .find(|o| &o.path == from)
                        .and_then(|o| o.before.clone()),
                    None => c.before.clone(),
                };
                ChangedFile {
                    path: c.path.clone(),
                    kind,
                    before,
                }
            })
            .collect()
    }

    /// Changes from bare paths: a path that exists in `work_dir` is
    /// modified, one that does not is deleted.
    pub fn from_paths<S: AsRef<str>>(work_dir: &Path, paths: &[S]) -> Vec<ChangedFile> {
        paths
            .iter()
            .map(|p| {
                let path = p.as_ref().trim_start_matches("./").to_string();
                let exists = std::fs::symlink_metadata(work_dir.join(&path)).is_ok();
                let kind = if exists {
                    ChangeKind::Modified
                } else {
                    ChangeKind::Deleted
                };
                ChangedFile::new(path, kind)
            })
            .collect()
    }

    /// Every path the change touches: the path, and the source of a rename.
    pub fn touched_paths(&self) -> Vec<&str> {
        match &self.kind {
            ChangeKind::Renamed(from) => vec![from.as_str(), self.path.as_str()],
            _ => vec![self.path.as_str()],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::edits::FileChange;

    fn change(
        path: &str,
        before: Option<&str>,
        after: Option<&str>,
        from: Option<&str>,
    ) -> FileChange {
        FileChange {
            path: path.into(),
            before: before.map(String::from),
            after: after.map(String::from),
            renamed_from: from.map(String::from),
        }
    }

    #[test]
    fn applied_edits_become_changes_with_renames_folded() {
        let applied = AppliedEdits {
            changes: vec![
                change("a.ts", Some("old"), Some("new"), None),
                change("b.ts", None, Some("x"), None),
                change("c.ts", Some("gone"), None, None),
                change("d.ts", Some("moved"), None, None),
                change("e.ts", None, Some("moved"), Some("d.ts")),
            ],
        };
        let changes = ChangedFile::from_applied(&applied);
        let kinds: Vec<(&str, &ChangeKind)> =
            changes.iter().map(|c| (c.path.as_str(), &c.kind)).collect();
        assert_eq!(
            kinds,
            [
                ("a.ts", &ChangeKind::Modified),
                ("b.ts", &ChangeKind::Added),
                ("c.ts", &ChangeKind::Deleted),
                ("e.ts", &ChangeKind::Renamed("d.ts".into())),
            ]
        );
        assert_eq!(changes[3].before.as_deref(), Some("moved"));
        assert_eq!(changes[3].touched_paths(), ["d.ts", "e.ts"]);
    }
}
