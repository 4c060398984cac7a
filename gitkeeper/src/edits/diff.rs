//! Unified diffs of applied edits, in the form `git apply` reads, for
//! `--dry-run` output and pull request descriptions. It only renders: it must
//! never touch the files.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use similar::{ChangeTag, TextDiff};

use super::apply::FileChange;

/// A unified diff with its totals.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Diff {
    /// The patch itself, ready for `git apply` or a fenced block in a comment.
    pub text: String,
    /// Files the patch touches (a rename counts as one).
    pub files_changed: usize,
    /// Lines added, for the `+N` summary.
    pub insertions: usize,
    /// Lines removed, for the `-N` summary.
    pub deletions: usize,
}

impl fmt::Display for Diff {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl Diff {
    /// The diff of `changes`; a rename shows as one file moved (with its
    /// content changes), not as a deletion plus a creation.
    pub fn from_changes(changes: &[FileChange]) -> Diff {
        let mut diff = Diff::default();
        let renamed_sources: Vec<&str> = changes
            .iter()
            .filter_map(|c| c.renamed_from.as_deref())
            .collect();
        for change in changes {
            let moved_away =
                change.after.is_none() && renamed_sources.contains(&change.path.as_str());
            if moved_away {
                continue;
            }
            let source = change.renamed_from.as_deref().and_then(|from| {
                changes
                    .iter()
                    .find(|c| c.path == from && c.after.is_none())
                    .map(|c| (from, c.before.as_deref()))
            });
            let (old_path, old) = match source {
                Some((from, before)) => (from, before),
                None => (change.path.as_str(), change.before.as_deref()),
            };
            diff.add_file(old_path, old, &change.path, change.after.as_deref());
        }
        diff
    }

    /// Short summary: "3 files changed, 10 insertions(+), 2 deletions(-)".
    pub fn summary(&self) -> String {
        let plural = |n: usize, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
        format!(
            "{} changed, {}(+), {}(-)",
            plural(self.files_changed, "file"),
            plural(self.insertions, "insertion"),
            plural(self.deletions, "deletion")
        )
    }

    fn add_file(&mut self, old_path: &str, old: Option<&str>, new_path: &str, new: Option<&str>) {
        let out = &mut self.text;
        out.push_str(&format!("diff --git a/{old_path} b/{new_path}\n"));
        match (old, new) {
            (None, Some(_)) => out.push_str("new file mode 100644\n"),
            (Some(_), None) => out.push_str("deleted file mode 100644\n"),
            _ => {}
        }
        if old_path != new_path {
            if old == new {
                out.push_str("similarity index 100%\n");
            }
            out.push_str(&format!("rename from {old_path}\nrename to {new_path}\n"));
        }
        self.files_changed += 1;
        let (old_text, new_text) = (old.unwrap_or(""), new.unwrap_or(""));
        if old_text == new_text {
            return;
        }
        let text_diff = TextDiff::configure()
            .timeout(Duration::from_secs(2))
            .diff_lines(old_text, new_text);
        for change in text_diff.iter_all_changes() {
            match change.tag() {
                ChangeTag::Insert => self.insertions += 1,
                ChangeTag::Delete => self.deletions += 1,
                ChangeTag::Equal => {}
            }
        }
        let from = if old.is_some() {
            format!("a/{old_path}")
        } else {
            "/dev/null".to_string()
        };
        let to = if new.is_some() {
            format!("b/{new_path}")
        } else {
            "/dev/null".to_string()
        };
        let out = &mut self.text;
        out.push_str(&format!("--- {from}\n+++ {to}\n"));
        for hunk in text_diff.unified_diff().context_radius(3).iter_hunks() {
            out.push_str(&hunk.to_string());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(path: &str, before: Option<&str>, after: Option<&str>) -> FileChange {
        FileChange {
            path: path.into(),
            before: before.map(Into::into),
            after: after.map(Into::into),
            renamed_from: None,
        }
    }

    #[test]
    fn modified_created_and_deleted_files() {
        let diff = Diff::from_changes(&[
            change("a.ts", Some("one\ntwo\n"), Some("one\nTWO\n")),
            change("b.ts", None, Some("b\n")),
            change("c.ts", Some("c\n"), None),
        ]);
        assert_eq!(
            diff.text,
            "diff --git a/a.ts b/a.ts\n--- a/a.ts\n+++ b/a.ts\n@@ -1,2 +1,2 @@\n one\n-two\n+TWO\n\
             diff --git a/b.ts b/b.ts\nnew file mode 100644\n--- /dev/null\n+++ b/b.ts\n@@ -0,0 +1 @@\n+b\n\
             diff --git a/c.ts b/c.ts\ndeleted file mode 100644\n--- a/c.ts\n+++ /dev/null\n@@ -1 +0,0 @@\n-c\n"
        );
        assert_eq!(
            (diff.files_changed, diff.insertions, diff.deletions),
            (3, 2, 2)
        );
        assert_eq!(
            diff.summary(),
            "3 files changed, 2 insertions(+), 2 deletions(-)"
        );
    }

    #[test]
    fn rename_is_one_entry() {
        let mut moved = change("lib/c.ts", None, Some("c\n"));
        moved.renamed_from = Some("c.ts".into());
        let diff = Diff::from_changes(&[change("c.ts", Some("c\n"), None), moved]);
        assert_eq!(
            diff.text,
            "diff --git a/c.ts b/lib/c.ts\nsimilarity index 100%\nrename from c.ts\nrename to lib/c.ts\n"
        );
        assert_eq!(diff.files_changed, 1);
    }

    #[test]
    fn missing_final_newline_is_marked() {
        let diff = Diff::from_changes(&[change("a.ts", Some("a"), Some("b"))]);
        assert!(
            diff.text.contains("\\ No newline at end of file"),
            "{}",
            diff.text
        );
    }
}
