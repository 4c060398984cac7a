//! One writer per mirror: an in-process `tokio` mutex per repository (so jobs
//! in this process queue without blocking threads) and an OS file lock beside
//! the mirror (so bot processes sharing the data dir take turns too). The
//! file lock is `flock`-style: the kernel drops it when a process dies, so a
//! crash never leaves a mirror locked.

use std::collections::HashMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::error::CheckoutError;

/// The in-process locks, one per repository key.
#[derive(Debug, Default)]
pub(crate) struct RepoLocks {
    locks: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

impl RepoLocks {
    pub fn for_repo(&self, key: &str) -> Arc<tokio::sync::Mutex<()>> {
        let mut locks = self.locks.lock().unwrap_or_else(|p| p.into_inner());
        locks.entry(key.to_string()).or_default().clone()
    }
}

/// Held while a mirror is written; released (and unlocked) on drop.
#[derive(Debug)]
pub(crate) struct MirrorFileLock {
    _file: File,
}

impl MirrorFileLock {
    /// Wait for the exclusive lock on `path` (created if missing), polling with
    /// a backoff so `interrupt` and `deadline` are honoured.
    pub fn acquire(
        path: &Path,
        interrupt: &AtomicBool,
        deadline: Instant,
    ) -> Result<Self, CheckoutError> {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| CheckoutError::io("create", parent, e))?;
        }
        let file = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(path)
            .map_err(|e| CheckoutError::io("open the lock file", path, e))?;
        let mut pause = Duration::from_millis(10);
        loop {
            match try_lock(&file) {
                Ok(true) => return Ok(Self { _file: file }),
                Ok(false) => {}
                Err(e) => return Err(CheckoutError::io("lock", path, e)),
            }
            if interrupt.load(Ordering::Relaxed) || Instant::now() >= deadline {
                return Err(CheckoutError::Io {
                    doing: "lock",
                    path: PathBuf::from(path),
                    source: std::io::Error::new(
                        std::io::ErrorKind::TimedOut,
                        "another gitkeeper process held the mirror lock too long",
                    ),
                });
            }
            #[allow(
                clippy::disallowed_methods,
                reason = "the checkout worker runs in spawn_blocking"
            )]
            std::thread::sleep(pause);
            pause = (pause * 2).min(Duration::from_millis(500));
        }
    }
}

// `File::try_lock` is std since Rust 1.89; the workspace's declared
// rust-version is older than what its dependencies already need (sqlx 0.9
// wants 1.94, gix 0.90 wants 1.88), so this costs no real compatibility.
#[expect(
    clippy::incompatible_msrv,
    reason = "dependencies already require Rust >= 1.94"
)]
fn try_lock(file: &File) -> std::io::Result<bool> {
    match file.try_lock() {
        Ok(()) => Ok(true),
        Err(std::fs::TryLockError::WouldBlock) => Ok(false),
        Err(std::fs::TryLockError::Error(e)) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_holder_waits_until_the_first_releases() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("owner").join("repo.lock");
        let never = AtomicBool::new(false);
        let first = MirrorFileLock::acquire(&path, &never, Instant::now()).unwrap();

        // A second open file description on the same path is a second holder,
        // as another process would be.
        let err =
            MirrorFileLock::acquire(&path, &never, Instant::now() + Duration::from_millis(50))
                .expect_err("the lock is held");
        assert!(err.to_string().contains("lock"), "{err}");

        drop(first);
        MirrorFileLock::acquire(&path, &never, Instant::now()).expect("released on drop");
    }

    #[test]
    fn the_same_repository_key_shares_one_in_process_lock() {
        let locks = RepoLocks::default();
        let a = locks.for_repo("acme/widgets");
        let b = locks.for_repo("acme/widgets");
        let c = locks.for_repo("acme/gadgets");
        assert!(Arc::ptr_eq(&a, &b));
        assert!(!Arc::ptr_eq(&a, &c));
    }
}
