//! What to commit, read back from the job's work dir after the edits applied:
//! the bytes on disk are the truth (what the build validated), with the
//! executable bit and symlinks kept.

use std::path::Path;

use gitkeeper::edits::{AppliedEdits, Links, resolve_below};

use super::PublishError;
use crate::github::FileMode;

/// One path's new state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileUpdate {
    /// Repository-relative, `/`-separated.
    pub path: String,
    /// `None`: delete the path.
    pub content: Option<Vec<u8>>,
    pub mode: FileMode,
}

/// True for a relative path with no `..`, `.` or empty parts and not in `.git/`.
pub(crate) fn is_safe_path(path: &str) -> bool {
    !path.is_empty()
        && !path.starts_with('/')
        && path
            .split('/')
            .all(|part| !part.is_empty() && part != "." && part != ".." && part != ".git")
}

/// The updates for `applied`, read from `work_dir` (a renamed file is a
/// delete of its old path and a write of its new one), off the async
/// runtime: a change may be many large files.
pub async fn updates_from_work_dir(
    work_dir: &Path,
    applied: &AppliedEdits,
) -> Result<Vec<FileUpdate>, PublishError> {
    let (dir, changes) = (work_dir.to_path_buf(), applied.clone());
    tokio::task::spawn_blocking(move || read_updates(&dir, &changes))
        .await
        .map_err(|e| PublishError::Read {
            path: work_dir.display().to_string(),
            source: std::io::Error::other(e),
        })?
}

/// [`updates_from_work_dir`], blocking.
fn read_updates(work_dir: &Path, applied: &AppliedEdits) -> Result<Vec<FileUpdate>, PublishError> {
    let mut updates: Vec<FileUpdate> = Vec::new();
    for change in &applied.changes {
        if !is_safe_path(&change.path) {
            return Err(PublishError::UnsafePath {
                path: change.path.clone(),
            });
        }
        let update = if change.after.is_none() {
            FileUpdate {
                path: change.path.clone(),
                content: None,
                mode: FileMode::Regular,
            }
        } else {
            read_update(work_dir, &change.path)?
        };
        match updates.iter_mut().find(|u| u.path == update.path) {
            Some(existing) => *existing = update,
            None => updates.push(update),
        }
    }
    Ok(updates)
}

/// The updates for `applied` from its own after-contents (for edits that
/// are no longer on disk, such as a failed attempt published as a draft).
/// Files are written as regular files.
pub fn updates_from_applied(applied: &AppliedEdits) -> Result<Vec<FileUpdate>, PublishError> {
    let mut updates: Vec<FileUpdate> = Vec::new();
    for change in &applied.changes {
        if !is_safe_path(&change.path) {
            return Err(PublishError::UnsafePath {
                path: change.path.clone(),
            });
        }
        let update = FileUpdate {
            path: change.path.clone(),
            content: change.after.as_ref().map(|text| text.clone().into_bytes()),
            mode: FileMode::Regular,
        };
        match updates.iter_mut().find(|u| u.path == update.path) {
            Some(existing) => *existing = update,
            None => updates.push(update),
        }
    }
    Ok(updates)
}

fn read_update(work_dir: &Path, path: &str) -> Result<FileUpdate, PublishError> {
    let read_error = |source| PublishError::Read {
        path: path.to_string(),
        source,
    };
    // Never read through a directory a repository command swapped for a link.
    let full = resolve_below(work_dir, path, Links::RefuseAllButLast)
        .map_err(|problem| read_error(std::io::Error::other(problem)))?;
    let meta = std::fs::symlink_metadata(&full).map_err(read_error)?;
    if meta.file_type().is_symlink() {
        let target = std::fs::read_link(&full).map_err(read_error)?;
        return Ok(FileUpdate {
            path: path.to_string(),
            content: Some(target.to_string_lossy().into_owned().into_bytes()),
            mode: FileMode::Symlink,
        });
    }
    let content = std::fs::read(&full).map_err(read_error)?;
    Ok(FileUpdate {
        path: path.to_string(),
        content: Some(content),
        mode: if is_executable(&meta) {
            FileMode::Executable
        } else {
            FileMode::Regular
        },
    })
}

#[cfg(unix)]
fn is_executable(meta: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::PermissionsExt;
    meta.permissions().mode() & 0o111 != 0
}

#[cfg(not(unix))]
fn is_executable(_meta: &std::fs::Metadata) -> bool {
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use gitkeeper::edits::FileChange;

    #[test]
    fn updates_from_applied_edits_write_after_contents_and_delete_removed_paths() {
        let applied = AppliedEdits {
            changes: vec![
                change("src/a.ts", Some("a1\n"), None),
                change("src/old.ts", None, None),
                change("src/new.ts", Some("n\n"), Some("src/old.ts")),
                change("src/a.ts", Some("a2\n"), None),
            ],
        };
        let updates = updates_from_applied(&applied).unwrap();
        assert_eq!(
            updates,
            [
                FileUpdate::write("src/a.ts", "a2\n"),
                FileUpdate::delete("src/old.ts"),
                FileUpdate::write("src/new.ts", "n\n"),
            ]
        );
        let unsafe_path = AppliedEdits {
            changes: vec![change(".git/config", Some("x"), None)],
        };
        assert!(matches!(
            updates_from_applied(&unsafe_path),
            Err(PublishError::UnsafePath { .. })
        ));
    }

    fn change(path: &str, after: Option<&str>, renamed_from: Option<&str>) -> FileChange {
        FileChange {
            path: path.into(),
            before: None,
            after: after.map(str::to_string),
            renamed_from: renamed_from.map(str::to_string),
        }
    }

    #[test]
    fn updates_carry_disk_bytes_modes_and_deletions() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("bin")).unwrap();
        std::fs::write(dir.path().join("bin/run.sh"), "#!/bin/sh\necho hi\n").unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let run = dir.path().join("bin/run.sh");
            std::fs::set_permissions(&run, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        std::fs::write(dir.path().join("new.ts"), "export const a = 1;\r\n").unwrap();
        let applied = AppliedEdits {
            changes: vec![
                change("old.ts", None, None),
                change("new.ts", Some("ignored: disk wins"), Some("old.ts")),
                change("bin/run.sh", Some("x"), None),
            ],
        };
        let updates = read_updates(dir.path(), &applied).unwrap();
        assert_eq!(updates.len(), 3);
        assert_eq!(updates[0].content, None);
        assert_eq!(
            updates[1].content.as_deref(),
            Some(&b"export const a = 1;\r\n"[..])
        );
        #[cfg(unix)]
        assert_eq!(updates[2].mode, FileMode::Executable);
    }

    #[test]
    fn unsafe_paths_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        for path in ["../x", "/etc/passwd", ".git/config", "a//b", "a/./b"] {
            let applied = AppliedEdits {
                changes: vec![change(path, None, None)],
            };
            let err = read_updates(dir.path(), &applied).unwrap_err();
            assert!(matches!(err, PublishError::UnsafePath { .. }), "{path}");
        }
    }

    #[cfg(unix)]
    #[test]
    fn updates_are_never_read_through_a_linked_directory_but_links_are_kept() {
        let dir = tempfile::tempdir().unwrap();
        let host = tempfile::tempdir().unwrap();
        std::fs::write(host.path().join("id_rsa"), "secret").unwrap();
        // A repository command swapped src/ for a link to a host directory.
        std::os::unix::fs::symlink(host.path(), dir.path().join("src")).unwrap();
        let through = AppliedEdits {
            changes: vec![change("src/id_rsa", Some("x"), None)],
        };
        let err = read_updates(dir.path(), &through).unwrap_err();
        assert!(err.to_string().contains("symbolic link"), "{err}");
        // The link itself is committed as a link, never followed.
        let itself = AppliedEdits {
            changes: vec![change("src", Some("x"), None)],
        };
        let updates = read_updates(dir.path(), &itself).unwrap();
        assert_eq!(updates[0].mode, FileMode::Symlink);
        assert_eq!(
            updates[0].content.as_deref(),
            Some(host.path().to_string_lossy().as_bytes())
        );
    }

    #[test]
    fn a_file_missing_from_the_work_dir_names_the_path() {
        let dir = tempfile::tempdir().unwrap();
        let applied = AppliedEdits {
            changes: vec![change("src/gone.ts", Some("x"), None)],
        };
        let err = read_updates(dir.path(), &applied).unwrap_err();
        assert!(err.to_string().contains("src/gone.ts"), "{err}");
    }

    #[test]
    fn changed_files_are_read_off_the_runtime() {
        // The changed file is a pipe only a task beside the read writes.
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("total.ts");
        crate::testing::mkfifo(&fifo);
        let applied = AppliedEdits {
            changes: vec![change("total.ts", Some("new\n"), None)],
        };
        let work = dir.path().to_path_buf();
        let (updates, turns) =
            crate::testing::run_beside_feeder(&fifo, "piped\n", move || async move {
                updates_from_work_dir(&work, &applied).await
            });
        let updates = updates.unwrap();
        assert_eq!(updates[0].content.as_deref(), Some(&b"piped\n"[..]));
        assert!(turns >= 1, "the task beside the read never ran");
    }
}
