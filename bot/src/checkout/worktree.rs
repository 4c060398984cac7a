//! The per-job directory: one commit's files written from the mirror into
//! `<data_dir>/work/<job>/`, owned by a [`Checkout`] that removes it when the
//! job ends. The directory holds the files only, no `.git`: nothing in it
//! points back at the mirror, so a build run there cannot touch the mirror or
//! find a credential. While a checkout lives, [`repository_of`] tells which
//! repository its directory holds.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};

use super::error::CheckoutError;
use super::paths::RepoSlug;
use crate::ids::JobId;

/// A commit checked out into a job's own directory, removed when dropped.
#[derive(Debug)]
pub struct Checkout {
    dir: PathBuf,
    commit: String,
    branch: Option<String>,
    job: JobId,
    /// `false` once `cleanup` has run, so `Drop` has nothing left to do.
    owned: bool,
    /// This checkout's entry in [`live_checkouts`].
    registration: u64,
}

/// Which repository each live job directory holds, by directory: for code
/// that is handed only the directory (the build validator keys its caches
/// by repository). Entries go when their [`Checkout`] does.
fn live_checkouts() -> &'static Mutex<HashMap<PathBuf, (u64, RepoSlug)>> {
    static LIVE: OnceLock<Mutex<HashMap<PathBuf, (u64, RepoSlug)>>> = OnceLock::new();
    LIVE.get_or_init(Default::default)
}

/// The repository checked out at `dir` by a live [`Checkout`] of this
/// process; `None` for any other directory (such as `solve`'s worktree).
pub(crate) fn repository_of(dir: &Path) -> Option<RepoSlug> {
    let live = live_checkouts()
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    live.get(dir).map(|(_, repo)| repo.clone())
}

impl Checkout {
    pub(crate) fn new(
        dir: PathBuf,
        repo: RepoSlug,
        commit: String,
        branch: Option<String>,
        job: JobId,
    ) -> Self {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let registration = NEXT.fetch_add(1, Ordering::Relaxed);
        live_checkouts()
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(dir.clone(), (registration, repo));
        Self {
            dir,
            commit,
            branch,
            job,
            owned: true,
            registration,
        }
    }

    /// The job directory holding the commit's files.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The full commit id that was checked out.
    pub fn commit(&self) -> &str {
        &self.commit
    }

    /// The branch the commit was found on, when the want named one (or the default branch).
    pub fn branch(&self) -> Option<&str> {
        self.branch.as_deref()
    }

    /// The job the directory belongs to.
    pub fn job(&self) -> JobId {
        self.job
    }

    /// Remove the job directory now, off the runtime, and report failure (dropping does it silently).
    pub async fn cleanup(mut self) -> Result<(), CheckoutError> {
        self.owned = false;
        let dir = self.dir.clone();
        tokio::task::spawn_blocking(move || remove_dir(&dir))
            .await
            .map_err(CheckoutError::Worker)?
    }
}

impl Drop for Checkout {
    fn drop(&mut self) {
        {
            let mut live = live_checkouts()
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            // A later checkout of the same job may own the directory by now.
            if live
                .get(&self.dir)
                .is_some_and(|(r, _)| *r == self.registration)
            {
                live.remove(&self.dir);
            }
        }
        if !self.owned {
            return;
        }
        let dir = std::mem::take(&mut self.dir);
        let remove = move || {
            if let Err(error) = remove_dir(&dir) {
                tracing::warn!(%error, "could not remove a job directory; it goes at the next start");
            }
        };
        // Inside the runtime the removal must not block a worker thread.
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                runtime.spawn_blocking(remove);
            }
            Err(_) => remove(),
        }
    }
}

fn remove_dir(dir: &Path) -> Result<(), CheckoutError> {
    match std::fs::remove_dir_all(dir) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(CheckoutError::io("remove", dir, e)),
    }
}

/// Start `dir` afresh: a job run again after a crash finds no leftovers.
pub(crate) fn prepare_job_dir(dir: &Path) -> Result<(), CheckoutError> {
    remove_dir(dir)?;
    std::fs::create_dir_all(dir).map_err(|e| CheckoutError::io("create", dir, e))
}

/// Write the files of `commit` (read from `repo`) into the empty `dir`.
pub(crate) fn write_commit(
    repo: &gix::Repository,
    repo_name: &str,
    commit: gix::ObjectId,
    dir: &Path,
    interrupt: &AtomicBool,
) -> Result<(), CheckoutError> {
    let git = |doing: &'static str| {
        move |source: gix::Error| CheckoutError::Git {
            repo: repo_name.to_string(),
            doing,
            source,
        }
    };
    let tree = repo
        .find_commit(commit)
        .and_then(|c| c.tree_id().map(gix::Id::detach))
        .map_err(git("reading the commit to check out"))?;
    let mut index = repo
        .index_from_tree(&tree)
        .map_err(git("reading the tree to check out"))?;
    let mut options = repo
        .checkout_options(gix::worktree::stack::state::attributes::Source::IdMapping)
        .map_err(git("reading the checkout options"))?;
    options.destination_is_initially_empty = true;
    let objects = repo
        .objects
        .clone()
        .into_arc()
        .map_err(|e| CheckoutError::io("open the objects of", repo.git_dir(), e))?;
    let outcome = gix::worktree::state::checkout(
        &mut index,
        dir,
        objects,
        &gix::progress::Discard,
        &gix::progress::Discard,
        interrupt,
        options,
    )
    .map_err(|source| {
        let full = source
            .iter_errors()
            .filter_map(|e| e.downcast_ref::<std::io::Error>())
            .find(|io| super::error::is_disk_full(io))
            .map(|io| std::io::Error::new(io.kind(), io.to_string()));
        match full {
            Some(io) => CheckoutError::DiskFull {
                path: dir.to_path_buf(),
                source: io,
            },
            None => git("writing the files")(source),
        }
    })?;
    if interrupt.load(std::sync::atomic::Ordering::Relaxed) {
        return Err(CheckoutError::Cancelled {
            repo: repo_name.to_string(),
        });
    }
    if !outcome.collisions.is_empty() {
        tracing::warn!(
            collisions = outcome.collisions.len(),
            "paths that differ only in case collided on this file system"
        );
    }
    Ok(())
}

/// Remove every job directory left by an earlier run but those of the jobs
/// in `keep` (call once at startup, before workers start, with the jobs
/// running anywhere: replicas sharing a data dir keep each other's
/// directories). Returns how many were removed.
pub async fn clean_stale_work_dirs(
    data_dir: &Path,
    keep: &[JobId],
) -> Result<usize, CheckoutError> {
    let work = super::paths::work_dir(data_dir);
    let keep: Vec<std::ffi::OsString> = keep.iter().map(|id| id.to_string().into()).collect();
    tokio::task::spawn_blocking(move || {
        let entries = match std::fs::read_dir(&work) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
            Err(e) => return Err(CheckoutError::io("list", &work, e)),
        };
        let mut removed = 0;
        for entry in entries {
            let entry = entry.map_err(|e| CheckoutError::io("list", &work, e))?;
            if keep.contains(&entry.file_name()) {
                continue;
            }
            let path = entry.path();
            let is_dir = entry.file_type().is_ok_and(|t| t.is_dir());
            let result = if is_dir {
                std::fs::remove_dir_all(&path)
            } else {
                std::fs::remove_file(&path)
            };
            result.map_err(|e| CheckoutError::io("remove", &path, e))?;
            removed += 1;
        }
        Ok(removed)
    })
    .await
    .map_err(CheckoutError::Worker)?
}
