//! Checkout: a bare mirror per repository, fetched with the installation token, and the wanted commit checked out into a per-job directory.
//!
//! Layout under the data dir: `repos/<owner>/<repo>.git` (bare mirrors, names
//! lower-cased), `repos/<owner>/<repo>.lock` (their file locks) and
//! `work/<job-id>/` (one checkout per job, files only).
//!
//! Must never: write the installation token anywhere (not in a URL, the
//! mirror's config, a log line or an error message; it reaches gix only
//! through a credentials callback); write a mirror without holding both its
//! in-process lock and its file lock; run gix on the async runtime (gix's
//! HTTP transport is blocking, so all of it goes through `spawn_blocking`).

mod error;
mod lock;
mod mirror;
mod paths;
mod worktree;

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use secrecy::SecretString;

pub use error::CheckoutError;
pub(crate) use paths::RepoSlug;
pub(crate) use worktree::repository_of;
pub use worktree::{Checkout, clean_stale_work_dirs};

use crate::ids::{IssueNumber, JobId};
use crate::intent::RepoRef;
use lock::{MirrorFileLock, RepoLocks};
use mirror::{Mirror, Resolved};
use paths::Layout;

/// Which commit a job needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Want {
    /// The head of the repository's default branch (Generate).
    DefaultBranch,
    /// The head of a branch, e.g. the bot's own `gitkeeper/<issue>-<slug>` (Revise).
    Branch(String),
    /// An exact commit, by its full 40-character id.
    Commit(String),
    /// A pull request's head, `refs/pull/<n>/head`, which also covers forks (Revise).
    PullHead(IssueNumber),
}

/// Mirrors and job directories under one data dir, fetched from one clone base.
#[derive(Debug)]
pub struct Checkouts {
    layout: Layout,
    clone_base: String,
    timeout: Duration,
    locks: RepoLocks,
}

/// A whole checkout (lock wait, fetch, writing files) gives up after this long.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(600);

impl Checkouts {
    /// `clone_base` is where repositories are served, `https://github.com/` on
    /// github.com; a repository's URL is `<clone_base><owner>/<repo>.git`.
    pub fn new(data_dir: impl Into<PathBuf>, clone_base: &str) -> Result<Self, CheckoutError> {
        Ok(Self {
            layout: Layout {
                data_dir: data_dir.into(),
            },
            clone_base: paths::normalize_clone_base(clone_base)?,
            timeout: DEFAULT_TIMEOUT,
            locks: RepoLocks::default(),
        })
    }

    /// Give up on a checkout after `timeout` instead of the default ten minutes.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Where the bare mirror of `repo` lives (it may not exist yet).
    pub fn mirror_path(&self, repo: &RepoRef) -> Result<PathBuf, CheckoutError> {
        Ok(self.layout.mirror(&RepoSlug::new(&repo.owner, &repo.name)?))
    }

    /// Bring `repo`'s mirror up to date and check out `want` into the job's
    /// directory, which the returned value removes when dropped.
    pub async fn checkout(
        &self,
        repo: &RepoRef,
        token: &SecretString,
        want: &Want,
        job: JobId,
    ) -> Result<Checkout, CheckoutError> {
        crate::tls::install_crypto_provider();
        let task = Task::new(self, repo, token, want, job)?;
        let deadline = tokio::time::Instant::now() + self.timeout;
        let interrupt = Arc::new(AtomicBool::new(false));
        // If this future is dropped (the job was cancelled), stop gix too.
        let _stop_on_drop = InterruptOnDrop(interrupt.clone());

        let repo_lock = self.locks.for_repo(&task.slug.key());
        let held = tokio::time::timeout_at(deadline, repo_lock.lock())
            .await
            .map_err(|_| task.timeout(self.timeout))?;
        let fetch = {
            let (task, interrupt) = (task.clone(), interrupt.clone());
            move || task.fetch(&interrupt, deadline.into_std())
        };
        let (mirror, resolved) = run_blocking(deadline, &interrupt, fetch)
            .await
            .map_err(|e| e.unwrap_or_else(|| task.timeout(self.timeout)))?;
        // Reading objects needs no lock: fetches only ever add to a mirror.
        drop(held);

        let write = {
            let (task, interrupt) = (task.clone(), interrupt.clone());
            move || task.write(&mirror.to_thread_local(), resolved, &interrupt)
        };
        run_blocking(deadline, &interrupt, write)
            .await
            .map_err(|e| e.unwrap_or_else(|| task.timeout(self.timeout)))
    }
}

/// Everything one checkout needs, owned so it can move to a blocking thread.
#[derive(Clone)]
struct Task {
    slug: RepoSlug,
    url: String,
    mirror: PathBuf,
    lock_file: PathBuf,
    job_dir: PathBuf,
    job: JobId,
    token: SecretString,
    want: Want,
}

impl Task {
    fn new(
        checkouts: &Checkouts,
        repo: &RepoRef,
        token: &SecretString,
        want: &Want,
        job: JobId,
    ) -> Result<Self, CheckoutError> {
        let slug = RepoSlug::new(&repo.owner, &repo.name)?;
        Ok(Self {
            url: format!("{}{}/{}.git", checkouts.clone_base, slug.owner, slug.name),
            mirror: checkouts.layout.mirror(&slug),
            lock_file: checkouts.layout.lock_file(&slug),
            job_dir: checkouts.layout.job_dir(job),
            slug,
            job,
            token: token.clone(),
            want: want.clone(),
        })
    }

    /// Under the file lock: create or open the mirror, fetch, resolve the want.
    fn fetch(
        &self,
        interrupt: &AtomicBool,
        deadline: Instant,
    ) -> Result<(gix::ThreadSafeRepository, Resolved), CheckoutError> {
        let _file_lock = MirrorFileLock::acquire(&self.lock_file, interrupt, deadline)?;
        let mirror = Mirror {
            slug: &self.slug,
            path: &self.mirror,
            url: &self.url,
        };
        let repo = mirror.open_or_init()?;
        let resolved = mirror.fetch(&repo, &self.token, &self.want, interrupt)?;
        Ok((repo.into_sync(), resolved))
    }

    /// Write the resolved commit into the job directory.
    fn write(
        &self,
        repo: &gix::Repository,
        resolved: Resolved,
        interrupt: &AtomicBool,
    ) -> Result<Checkout, CheckoutError> {
        worktree::prepare_job_dir(&self.job_dir)?;
        // Owned from here on, so a failure below removes the half-written directory.
        let checkout = Checkout::new(
            self.job_dir.clone(),
            self.slug.clone(),
            resolved.commit.to_string(),
            resolved.branch,
            self.job,
        );
        worktree::write_commit(
            repo,
            &self.slug.full_name(),
            resolved.commit,
            &self.job_dir,
            interrupt,
        )?;
        Ok(checkout)
    }

    fn timeout(&self, after: Duration) -> CheckoutError {
        CheckoutError::Timeout {
            repo: self.slug.full_name(),
            url: self.url.clone(),
            after,
        }
    }
}

/// Run `work` on a blocking thread until `deadline`. On time-out, raise
/// `interrupt` and wait for the thread to stop (so nothing it writes outlives
/// this call), then answer `Err(None)`.
async fn run_blocking<T: Send + 'static>(
    deadline: tokio::time::Instant,
    interrupt: &AtomicBool,
    work: impl FnOnce() -> Result<T, CheckoutError> + Send + 'static,
) -> Result<T, Option<CheckoutError>> {
    let mut handle = tokio::task::spawn_blocking(work);
    let joined = match tokio::time::timeout_at(deadline, &mut handle).await {
        Ok(joined) => joined,
        Err(_elapsed) => {
            interrupt.store(true, Ordering::Relaxed);
            let _ = handle.await;
            return Err(None);
        }
    };
    match joined {
        Ok(result) => result.map_err(Some),
        Err(e) => Err(Some(CheckoutError::Worker(e))),
    }
}

/// Raises the interrupt flag when dropped, so gix stops when the caller gives up.
struct InterruptOnDrop(Arc<AtomicBool>);

impl Drop for InterruptOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn repo(owner: &str, name: &str) -> RepoRef {
        RepoRef {
            id: crate::ids::RepoId(1),
            owner: owner.into(),
            name: name.into(),
        }
    }

    #[test]
    fn mirrors_live_under_repos_owner_name_git() {
        let checkouts = Checkouts::new("/data", "https://github.com").unwrap();
        assert_eq!(
            checkouts.mirror_path(&repo("Acme", "Widgets")).unwrap(),
            PathBuf::from("/data/repos/acme/widgets.git")
        );
        assert!(checkouts.mirror_path(&repo("acme", "../etc")).is_err());
    }

    #[test]
    fn the_clone_url_is_the_base_plus_owner_and_repo() {
        let checkouts = Checkouts::new("/data", "http://127.0.0.1:9/").unwrap();
        let task = Task::new(
            &checkouts,
            &repo("acme", "widgets"),
            &SecretString::from("t"),
            &Want::DefaultBranch,
            JobId(7),
        )
        .unwrap();
        assert_eq!(task.url, "http://127.0.0.1:9/acme/widgets.git");
        assert_eq!(task.job_dir, PathBuf::from("/data/work/7"));
    }

    #[test]
    fn a_live_checkout_tells_which_repository_its_directory_holds() {
        let dir = tempfile::tempdir().unwrap();
        let job_dir = dir.path().join("work/7");
        std::fs::create_dir_all(&job_dir).unwrap();
        let slug = RepoSlug::new("Acme", "Widgets").unwrap();
        let first = Checkout::new(job_dir.clone(), slug.clone(), "c1".into(), None, JobId(7));
        assert_eq!(repository_of(&job_dir), Some(slug.clone()));
        assert_eq!(repository_of(dir.path()), None);
        // The job ran again: the old checkout going must not forget the new one.
        let other = RepoSlug::new("acme", "gadgets").unwrap();
        let second = Checkout::new(job_dir.clone(), other.clone(), "c2".into(), None, JobId(7));
        drop(first);
        assert_eq!(repository_of(&job_dir), Some(other));
        drop(second);
        assert_eq!(repository_of(&job_dir), None);
    }

    #[test]
    fn a_clone_base_with_credentials_is_refused() {
        let err = Checkouts::new("/data", "https://x-access-token:abc@github.com/").unwrap_err();
        assert!(!err.to_string().contains("abc@"), "{err}");
    }
}
