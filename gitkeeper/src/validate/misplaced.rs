//! A new file named like an existing file elsewhere (`src/lib/defu.ts`
//! beside `src/defu.ts`): small models write the whole file again at an
//! invented path, and its imports point nowhere. Such a file is almost
//! always the existing one at a wrong path, so the model and the
//! maintainer are told which path was likely meant. A note, never a
//! failure by itself (a second `client.ts` can be right), and never about
//! names every directory has (`index.ts`, `route.ts`, `mod.rs`, …).

use super::changes::{ChangeKind, ChangedFile};
use super::findings::{CheckRule, Finding};

/// File stems many directories have by convention: a new one says nothing.
const CONVENTIONAL_STEMS: &[&str] = &[
    "index",
    "route",
    "page",
    "layout",
    "loading",
    "error",
    "not-found",
    "template",
    "default",
    "middleware",
    "mod",
    "lib",
    "main",
    "__init__",
    "conftest",
    "readme",
    "package",
    "tsconfig",
    "types",
    "utils",
    "constants",
    "config",
    "setup",
    "schema",
    "migration",
];

/// Most candidate paths named in one note.
const MAX_CANDIDATES: usize = 3;

/// Notes for each added file of `changes` whose name an existing file of
/// `files` (every file of the work dir, the new ones included) has elsewhere.
pub fn misplaced_files(changes: &[ChangedFile], files: &[String]) -> Vec<Finding> {
    let added: Vec<&str> = changes
        .iter()
        .filter(|c| c.kind == ChangeKind::Added)
        .map(|c| c.path.as_str())
        .collect();
    let changed: Vec<&str> = changes.iter().map(|c| c.path.as_str()).collect();
    let mut notes = Vec::new();
    for path in &added {
        let name = file_name(path);
        if is_conventional(name) {
            continue;
        }
        let candidates: Vec<&str> = files
            .iter()
            .map(String::as_str)
            .filter(|f| file_name(f) == name && !changed.contains(f))
            .take(MAX_CANDIDATES)
            .collect();
        if candidates.is_empty() {
            continue;
        }
        let list = candidates
            .iter()
            .map(|c| format!("`{c}`"))
            .collect::<Vec<_>>()
            .join(" or ");
        notes.push(Finding::new(
            path,
            CheckRule::MisplacedFile,
            format!(
                "this is a new file, but {list} already exists with the same name. If the task is about that file, change it at its real path {list} instead of writing a new file (imports of the new one point nowhere); if a new file is really wanted, keep it."
            ),
        ));
    }
    notes
}

fn file_name(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

/// `index.ts`, `route.tsx`, `mod.rs`, `README.md`, `types.d.ts`, dotfiles, …
fn is_conventional(name: &str) -> bool {
    let stem = name.split('.').next().unwrap_or(name);
    stem.is_empty() || CONVENTIONAL_STEMS.contains(&stem.to_ascii_lowercase().as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files(paths: &[&str]) -> Vec<String> {
        paths.iter().map(|p| p.to_string()).collect()
    }

    #[test]
    fn a_new_file_named_like_an_existing_one_names_the_existing_path() {
        let changes = [ChangedFile::new("src/lib/defu.ts", ChangeKind::Added)];
        let all = files(&["src/defu.ts", "src/lib/defu.ts", "src/types.ts"]);
        let notes = misplaced_files(&changes, &all);
        assert_eq!(notes.len(), 1, "{notes:?}");
        assert_eq!(notes[0].file, "src/lib/defu.ts");
        assert_eq!(notes[0].rule, CheckRule::MisplacedFile);
        assert!(notes[0].message.contains("`src/defu.ts`"), "{notes:?}");
        let changes = [ChangedFile::new("src/priority-queue.ts", ChangeKind::Added)];
        let all = files(&["source/priority-queue.ts", "src/priority-queue.ts"]);
        let notes = misplaced_files(&changes, &all);
        assert!(
            notes[0].message.contains("`source/priority-queue.ts`"),
            "{notes:?}"
        );
    }

    #[test]
    fn modified_new_named_and_conventional_files_get_no_note() {
        let all = files(&[
            "src/defu.ts",
            "src/utils/index.ts",
            "src/index.ts",
            "app/api/posts/route.ts",
            "app/api/users/route.ts",
            "src/greet.ts",
            "src/greetAll.ts",
        ]);
        let changes = [
            ChangedFile::new("src/defu.ts", ChangeKind::Modified),
            ChangedFile::new("src/utils/index.ts", ChangeKind::Added),
            ChangedFile::new("app/api/users/route.ts", ChangeKind::Added),
            ChangedFile::new("src/greetAll.ts", ChangeKind::Added),
        ];
        assert!(misplaced_files(&changes, &all).is_empty());
        // Both files new in the same change: neither is "existing".
        let changes = [
            ChangedFile::new("a/x.ts", ChangeKind::Added),
            ChangedFile::new("b/x.ts", ChangeKind::Added),
        ];
        assert!(misplaced_files(&changes, &files(&["a/x.ts", "b/x.ts"])).is_empty());
    }
}
