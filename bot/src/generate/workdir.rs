//! Undoing applied edits in the work dir before the next attempt, so every
//! attempt starts from the same files. It must never touch a path the edits
//! did not change.

use std::path::{Path, PathBuf};

use gitkeeper::edits::{AppliedEdits, Links, resolve_below};

/// Restoring the work dir failed; the job must not go on in it.
#[derive(Debug, thiserror::Error)]
#[error(
    "cannot restore {path} in the work directory after a failed attempt: {source}; the work directory is inconsistent and is discarded"
)]
pub struct RevertError {
    pub path: PathBuf,
    pub source: std::io::Error,
}

/// Put every file `applied` changed back as it was.
pub async fn revert(root: &Path, applied: &AppliedEdits) -> Result<(), RevertError> {
    let root = root.to_path_buf();
    let applied = applied.clone();
    tokio::task::spawn_blocking(move || revert_blocking(&root, &applied))
        .await
        .map_err(|e| RevertError {
            path: PathBuf::new(),
            source: std::io::Error::other(e.to_string()),
        })?
}

fn revert_blocking(root: &Path, applied: &AppliedEdits) -> Result<(), RevertError> {
    for change in applied.changes.iter().rev() {
        // Never write through a directory a repository command swapped for a link.
        let path =
            resolve_below(root, &change.path, Links::Refuse).map_err(|problem| RevertError {
                path: root.join(&change.path),
                source: std::io::Error::other(problem),
            })?;
        let err = |source| RevertError {
            path: path.clone(),
            source,
        };
        match &change.before {
            Some(before) => {
                if let Some(parent) = path.parent() {
                    std::fs::create_dir_all(parent).map_err(err)?;
                }
                std::fs::write(&path, before).map_err(err)?;
            }
            None => match std::fs::remove_file(&path) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(err(e)),
            },
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use gitkeeper::edits::{Edit, EditKind, Edits, PathPolicy, apply_edits};

    #[cfg(unix)]
    #[tokio::test]
    async fn revert_never_writes_through_a_link_a_command_planted() {
        let work = tempfile::tempdir().unwrap();
        let host = tempfile::tempdir().unwrap();
        std::fs::write(host.path().join("authorized_keys"), "mine\n").unwrap();
        // A test run replaced src/ with a link to a host directory.
        std::os::unix::fs::symlink(host.path(), work.path().join("src")).unwrap();
        let applied = AppliedEdits {
            changes: vec![gitkeeper::edits::FileChange {
                path: "src/authorized_keys".into(),
                before: Some("attacker\n".into()),
                after: Some("x\n".into()),
                renamed_from: None,
            }],
        };
        let err = revert(work.path(), &applied).await.unwrap_err();
        assert!(err.to_string().contains("symbolic link"), "{err}");
        assert_eq!(
            std::fs::read_to_string(host.path().join("authorized_keys")).unwrap(),
            "mine\n"
        );
        let resolve = |rel: &str, links| resolve_below(work.path(), rel, links);
        assert!(resolve("src/a.ts", Links::Refuse).is_err());
        assert!(resolve("src", Links::RefuseAllButLast).is_ok());
        assert!(resolve("other/../x", Links::Refuse).is_err());
        assert!(resolve("lib/new.ts", Links::Refuse).is_ok());
    }

    #[tokio::test]
    async fn revert_restores_changed_created_deleted_and_renamed_files() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.ts"), "a\n").unwrap();
        std::fs::write(dir.path().join("b.ts"), "b\n").unwrap();
        std::fs::write(dir.path().join("c.ts"), "c\n").unwrap();
        let edits = Edits(vec![
            Edit {
                path: "a.ts".into(),
                kind: EditKind::WholeFile {
                    content: "A\n".into(),
                },
            },
            Edit {
                path: "new/d.ts".into(),
                kind: EditKind::WholeFile {
                    content: "d\n".into(),
                },
            },
            Edit {
                path: "b.ts".into(),
                kind: EditKind::Delete,
            },
            Edit {
                path: "c.ts".into(),
                kind: EditKind::Rename { to: "e.ts".into() },
            },
        ]);
        let applied = apply_edits(dir.path(), &edits, &PathPolicy::default()).unwrap();
        revert(dir.path(), &applied).await.unwrap();
        let read = |p: &str| std::fs::read_to_string(dir.path().join(p)).ok();
        assert_eq!(read("a.ts").as_deref(), Some("a\n"));
        assert_eq!(read("b.ts").as_deref(), Some("b\n"));
        assert_eq!(read("c.ts").as_deref(), Some("c\n"));
        assert_eq!(read("new/d.ts"), None);
        assert_eq!(read("e.ts"), None);
    }
}
