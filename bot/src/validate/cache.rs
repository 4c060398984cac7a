//! What one job's commands did that the next job of the same repository can
//! reuse, on disk under the bot's `<data>/cache/`:
//!
//! - `deps/<owner>/<repo>/<key>/`: what a passing setup (the dependency
//!   install) added to the work dir of a base commit, keyed by
//!   [`CommandPlan::dependency_cache_key`](gitkeeper::validate::CommandPlan::dependency_cache_key)
//!   (the lock files and the setup commands). A job with the same key copies
//!   it back instead of installing again.
//! - `cargo-home/<owner>/<repo>/` and `npm/<owner>/<repo>/`: `CARGO_HOME`
//!   and npm's download cache for the repository's commands, so crates
//!   fetched once stay and even an install that misses is faster.
//! - `baseline/<owner>/<repo>/<hash>.json`: whether one command passed on a
//!   base commit, and the error lines it printed, for 7 days.
//!
//! Must never: fail a job (every error here is for the caller to log before
//! it runs the commands as if there were no cache); write outside its root
//! or the work dir (symlinks are copied, never followed, and an entry's paths
//! are checked before anything is restored); let one repository read
//! another's entries; put anything from the environment into a key or path.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::fs;
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use gitkeeper::edits::{Links, resolve_below};
use gitkeeper::validate::Command;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::checkout::RepoSlug;

/// Entries unused for this long are stale: a baseline outcome is run again
/// (a flaky command gets another chance) and a dependency entry is removed.
pub const MAX_AGE: Duration = Duration::from_secs(7 * 24 * 60 * 60);

/// The name of an entry's metadata file inside `deps/<owner>/<repo>/<key>/`.
const ENTRY_FILE: &str = "entry.json";
/// The directory inside an entry that mirrors the work dir.
const FILES_DIR: &str = "files";
/// Prefix of an entry being written; renamed to the key when complete.
const TEMP_PREFIX: &str = ".tmp-";

/// Why the cache could not be used; the caller logs it and runs the commands.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CacheError {
    #[error(
        "cannot {doing} {path}: {source}; check that the data dir ([data] dir) is writable, or delete {path} so the cache starts afresh"
    )]
    Io {
        doing: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "`{owner}/{name}` is not a repository name that can be a cache path: the dependency cache is off for it"
    )]
    InvalidRepo { owner: String, name: String },
    #[error(
        "the cache entry {path} is damaged ({reason}); it was removed, and the next run of its commands writes it again"
    )]
    Damaged { path: PathBuf, reason: String },
    #[error("what setup installed is not cached: {0}")]
    NotCacheable(String),
}

fn io(doing: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> CacheError + use<> {
    let path = path.to_path_buf();
    move |source| CacheError::Io {
        doing,
        path,
        source,
    }
}

/// One repository's caches under one root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidationCache {
    root: PathBuf,
    /// Lower-cased: GitHub names are case-insensitive.
    owner: String,
    name: String,
}

/// How a save ended when nothing went wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Saved {
    /// This save wrote the entry.
    Stored,
    /// Another job wrote the same key first; this copy was discarded.
    AlreadyCached,
}

/// The metadata of a dependency entry.
#[derive(Debug, Serialize, Deserialize)]
struct DepsEntry {
    key: String,
    /// Work-dir-relative paths setup added, each saved under `files/`.
    paths: Vec<String>,
    saved_at: u64,
}

/// One command's outcome on a base commit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BaselineOutcome {
    pub command: String,
    pub passed: bool,
    /// The error lines of a failure, as the build validator compares them.
    pub error_lines: BTreeSet<String>,
    /// Seconds since the Unix epoch.
    pub recorded_at: u64,
}

impl BaselineOutcome {
    /// An outcome recorded now.
    pub fn new(command: String, passed: bool, error_lines: BTreeSet<String>) -> Self {
        Self {
            command,
            passed,
            error_lines,
            recorded_at: now_secs(),
        }
    }
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// The key of `command`'s outcome on `commit`: the commit, the plan's
/// dependency key, and everything of the command that changes what it does.
pub fn baseline_key(commit: &str, dependency_key: Option<&str>, command: &Command) -> String {
    let mut hasher = Sha256::new();
    for part in [
        "gitkeeper-baseline-v1",
        commit,
        dependency_key.unwrap_or("-"),
        &command.name,
        command.stage.as_str(),
    ] {
        hasher.update(part.as_bytes());
        hasher.update([0]);
    }
    for arg in &command.argv {
        hasher.update(arg.as_bytes());
        hasher.update([1]);
    }
    let timeout = command.timeout.map_or(0, |t| t.as_secs());
    hasher.update(timeout.to_le_bytes());
    hex::encode(hasher.finalize())
}

/// Python installers write the absolute path of the work dir into what they
/// install (virtualenv scripts, editable installs' `.pth` files), so what
/// they leave cannot move to another job's directory.
const PYTHON_INSTALLERS: &[&str] = &["pip", "pip3", "uv", "poetry", "pipenv", "pdm", "conda"];

/// Whether what `setup` installs can be saved and restored elsewhere: not
/// when a command runs a Python installer (see [`PYTHON_INSTALLERS`]).
pub fn setup_is_relocatable(setup: &[Command]) -> bool {
    !setup.iter().flat_map(|c| &c.argv).any(|arg| {
        arg.split(|c: char| c.is_whitespace() || matches!(c, ';' | '&' | '|' | '(' | ')'))
            .map(|word| word.rsplit('/').next().unwrap_or(word))
            .any(|word| PYTHON_INSTALLERS.contains(&word))
    })
}

/// A key is lowercase hex (a SHA-256), so it is safe as a file name.
fn checked_key(key: &str) -> Result<&str, CacheError> {
    if !key.is_empty() && key.len() <= 128 && key.bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(key)
    } else {
        Err(CacheError::NotCacheable(format!(
            "`{key}` is not a hexadecimal cache key"
        )))
    }
}

impl ValidationCache {
    /// The caches of `owner/name` under `root` (made absolute, since commands
    /// run in another directory).
    pub fn new(root: &Path, owner: &str, name: &str) -> Result<Self, CacheError> {
        let slug = RepoSlug::new(owner, name).map_err(|_| CacheError::InvalidRepo {
            owner: owner.to_string(),
            name: name.to_string(),
        })?;
        let root = std::path::absolute(root).map_err(io("resolve", root))?;
        Ok(Self {
            root,
            owner: slug.owner.to_ascii_lowercase(),
            name: slug.name.to_ascii_lowercase(),
        })
    }

    /// The caches of the repository whose checkout is `work_dir`, under
    /// `root`; `None` for a directory that is no job's checkout (`solve`'s
    /// worktree).
    pub fn for_checkout(root: &Path, work_dir: &Path) -> Option<Self> {
        let repo = crate::checkout::repository_of(work_dir)?;
        Self::new(root, &repo.owner, &repo.name)
            .inspect_err(|e| tracing::warn!(error = %e, "no validation cache for this job"))
            .ok()
    }

    fn repo_dir(&self, kind: &str) -> PathBuf {
        self.root.join(kind).join(&self.owner).join(&self.name)
    }

    fn deps_dir(&self) -> PathBuf {
        self.repo_dir("deps")
    }

    /// Where the dependency entry for `key` lives (it may not exist).
    pub fn dependency_entry(&self, key: &str) -> PathBuf {
        self.deps_dir().join(key)
    }

    /// Directories commands share between jobs of this repository:
    /// `CARGO_HOME` and npm's cache. Setup commands may write them.
    pub fn shared_dirs(&self) -> Vec<PathBuf> {
        vec![self.repo_dir("cargo-home"), self.repo_dir("npm")]
    }

    /// The variables that point commands at [`Self::shared_dirs`].
    pub fn sandbox_env(&self) -> Vec<(String, String)> {
        let [cargo, npm] = [self.repo_dir("cargo-home"), self.repo_dir("npm")];
        vec![
            ("CARGO_HOME".into(), cargo.to_string_lossy().into_owned()),
            (
                "npm_config_cache".into(),
                npm.to_string_lossy().into_owned(),
            ),
        ]
    }

    /// Create [`Self::shared_dirs`], which must exist before a sandbox binds them.
    pub fn prepare(&self) -> Result<(), CacheError> {
        for dir in self.shared_dirs() {
            fs::create_dir_all(&dir).map_err(io("create", &dir))?;
        }
        Ok(())
    }

    /// Copy the entry for `key` into `work_dir`, replacing what is there at
    /// its paths; `Ok(false)` when there is none. On an error nothing of the
    /// entry is left in the work dir.
    pub fn restore_dependencies(&self, key: &str, work_dir: &Path) -> Result<bool, CacheError> {
        let entry_dir = self.dependency_entry(checked_key(key)?);
        let meta_path = entry_dir.join(ENTRY_FILE);
        let text = match fs::read_to_string(&meta_path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                if entry_dir.exists() {
                    // Written without its metadata (by hand?): make room for a good one.
                    return Err(discard_damaged(&entry_dir, "it has no entry.json"));
                }
                return Ok(false);
            }
            Err(e) => return Err(io("read", &meta_path)(e)),
        };
        let entry: DepsEntry =
            serde_json::from_str(&text).map_err(|e| discard_damaged(&entry_dir, &e.to_string()))?;
        if entry.key != key {
            return Err(discard_damaged(&entry_dir, "it holds another key"));
        }
        let mut restored = Vec::new();
        let result = entry.paths.iter().try_for_each(|rel| {
            let rel = relative(rel).ok_or_else(|| {
                discard_damaged(&entry_dir, &format!("`{rel}` is not a relative path"))
            })?;
            let target = prepare_target(work_dir, &rel)?;
            restored.push(target.clone());
            copy_tree(&entry_dir.join(FILES_DIR).join(&rel), &target, &[])
        });
        if let Err(e) = result {
            for path in &restored {
                let _ = remove_existing(path);
            }
            return Err(e);
        }
        // Last used now, so pruning keeps it.
        if let Ok(file) = fs::File::options().append(true).open(&meta_path) {
            let _ = file.set_modified(SystemTime::now());
        }
        Ok(true)
    }

    /// Save what setup added to `work_dir` since `before` as the entry for
    /// `key`. Written beside the entry and renamed into place, so a reader
    /// sees all of it or nothing; when two jobs save one key the first
    /// rename wins and the other copy is discarded.
    pub fn save_dependencies(
        &self,
        key: &str,
        work_dir: &Path,
        before: &Snapshot,
    ) -> Result<Saved, CacheError> {
        let key = checked_key(key)?;
        let added = before.added(work_dir)?;
        let paths = added
            .iter()
            .map(|p| {
                p.to_str().map(str::to_string).ok_or_else(|| {
                    CacheError::NotCacheable(format!("`{}` is not a UTF-8 path", p.display()))
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let parent = self.deps_dir();
        fs::create_dir_all(&parent).map_err(io("create", &parent))?;
        let temp = parent.join(unique_temp_name(key));
        let written = write_entry(&temp, key, work_dir, &added, paths);
        let final_dir = parent.join(key);
        let outcome = written.and_then(|()| match fs::rename(&temp, &final_dir) {
            Ok(()) => Ok(Saved::Stored),
            // Another job renamed its copy into place first.
            Err(_) if final_dir.join(ENTRY_FILE).is_file() => Ok(Saved::AlreadyCached),
            Err(e) => Err(io("move into place", &final_dir)(e)),
        });
        if matches!(outcome, Ok(Saved::Stored)) {
            prune(&parent, key);
        } else {
            let _ = fs::remove_dir_all(&temp);
        }
        outcome
    }

    fn baseline_file(&self, key: &str) -> Result<PathBuf, CacheError> {
        Ok(self
            .repo_dir("baseline")
            .join(format!("{}.json", checked_key(key)?)))
    }

    /// The outcome stored for `key` ([`baseline_key`]), unless it is older
    /// than [`MAX_AGE`] (then it is removed).
    pub fn baseline_outcome(&self, key: &str) -> Result<Option<BaselineOutcome>, CacheError> {
        let path = self.baseline_file(key)?;
        let text = match fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io("read", &path)(e)),
        };
        let outcome: BaselineOutcome = match serde_json::from_str(&text) {
            Ok(outcome) => outcome,
            Err(e) => {
                let _ = fs::remove_file(&path);
                return Err(CacheError::Damaged {
                    path,
                    reason: e.to_string(),
                });
            }
        };
        let age = now_secs().saturating_sub(outcome.recorded_at);
        if age > MAX_AGE.as_secs() {
            let _ = fs::remove_file(&path);
            return Ok(None);
        }
        Ok(Some(outcome))
    }

    /// Remove outcomes older than [`MAX_AGE`]; best effort.
    pub fn prune_baseline_outcomes(&self) {
        prune(&self.repo_dir("baseline"), "");
    }

    /// Store `outcome` for `key`, replacing what was there (atomically).
    pub fn store_baseline_outcome(
        &self,
        key: &str,
        outcome: &BaselineOutcome,
    ) -> Result<(), CacheError> {
        let path = self.baseline_file(key)?;
        let dir = self.repo_dir("baseline");
        fs::create_dir_all(&dir).map_err(io("create", &dir))?;
        let temp = dir.join(unique_temp_name(key));
        let text = serde_json::to_string(outcome)
            .map_err(|e| CacheError::NotCacheable(format!("cannot encode the outcome: {e}")))?;
        let written = fs::write(&temp, text)
            .map_err(io("write", &temp))
            .and_then(|()| fs::rename(&temp, &path).map_err(io("move into place", &path)));
        if written.is_err() {
            let _ = fs::remove_file(&temp);
        }
        written
    }
}

/// Remove a damaged entry and say so.
fn discard_damaged(entry_dir: &Path, reason: &str) -> CacheError {
    let _ = fs::remove_dir_all(entry_dir);
    CacheError::Damaged {
        path: entry_dir.to_path_buf(),
        reason: reason.to_string(),
    }
}

/// A name no other writer (thread or process) uses at the same time.
fn unique_temp_name(key: &str) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    format!(
        "{TEMP_PREFIX}{key}-{}-{nanos}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

/// Write the complete entry into `temp`.
fn write_entry(
    temp: &Path,
    key: &str,
    work_dir: &Path,
    added: &[PathBuf],
    paths: Vec<String>,
) -> Result<(), CacheError> {
    let files = temp.join(FILES_DIR);
    fs::create_dir_all(&files).map_err(io("create", &files))?;
    // The forms of the job's path a setup may have written down.
    let mut job_paths = vec![std::path::absolute(work_dir).map_err(io("resolve", work_dir))?];
    job_paths.extend(fs::canonicalize(work_dir).ok());
    for rel in added {
        let target = files.join(rel);
        if let Some(parent) = target.parent() {
            fs::create_dir_all(parent).map_err(io("create", parent))?;
        }
        copy_tree(&work_dir.join(rel), &target, &job_paths)?;
    }
    let entry = DepsEntry {
        key: key.to_string(),
        paths,
        saved_at: now_secs(),
    };
    let meta = temp.join(ENTRY_FILE);
    let text = serde_json::to_string(&entry)
        .map_err(|e| CacheError::NotCacheable(format!("cannot encode the entry: {e}")))?;
    fs::write(&meta, text).map_err(io("write", &meta))
}

/// Remove entries of `parent` unused for [`MAX_AGE`] (except `keep`): a
/// dependency entry by its `entry.json`, a baseline outcome by its file;
/// and copies left by a save that crashed a day ago or more. Best effort.
fn prune(parent: &Path, keep: &str) {
    let Ok(entries) = fs::read_dir(parent) else {
        return;
    };
    let now = SystemTime::now();
    let older_than = |path: &Path, limit: Duration| {
        fs::symlink_metadata(path)
            .and_then(|m| m.modified())
            .is_ok_and(|t| now.duration_since(t).is_ok_and(|age| age > limit))
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        let path = entry.path();
        let is_dir = entry.file_type().is_ok_and(|t| t.is_dir());
        let stale = if name.starts_with(TEMP_PREFIX) {
            older_than(&path, Duration::from_secs(24 * 60 * 60))
        } else if is_dir {
            name != keep && older_than(&path.join(ENTRY_FILE), MAX_AGE)
        } else {
            older_than(&path, MAX_AGE)
        };
        if stale {
            let _ = remove_existing(&path);
        }
    }
}

/// `rel` as a path of plain components only (no `..`, no root).
fn relative(rel: &str) -> Option<PathBuf> {
    let path = Path::new(rel);
    let plain = path.components().all(|c| matches!(c, Component::Normal(_)));
    (plain && path.components().next().is_some()).then(|| path.to_path_buf())
}

/// The place of `rel` in `work_dir`, emptied, with its parent directories
/// created; refused when a parent is a symlink or not a directory, so a
/// restore cannot be steered out of the work dir.
fn prepare_target(work_dir: &Path, rel: &Path) -> Result<PathBuf, CacheError> {
    let shown = rel.display().to_string();
    let rel = rel
        .to_str()
        .ok_or_else(|| CacheError::NotCacheable(format!("`{shown}` is not a UTF-8 path")))?;
    let target = resolve_below(work_dir, rel, Links::RefuseAllButLast).map_err(|problem| {
        CacheError::NotCacheable(format!(
            "`{shown}` cannot be restored in the work dir: {problem}"
        ))
    })?;
    if let Some(parent) = target.parent() {
        fs::create_dir_all(parent).map_err(io("create", parent))?;
    }
    remove_existing(&target)?;
    Ok(target)
}

/// Remove whatever is at `path` (a symlink itself, not its target).
fn remove_existing(path: &Path) -> Result<(), CacheError> {
    match fs::symlink_metadata(path) {
        Ok(meta) if meta.is_dir() => fs::remove_dir_all(path).map_err(io("remove", path)),
        Ok(_) => fs::remove_file(path).map_err(io("remove", path)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(io("inspect", path)(e)),
    }
}

/// Copy `src` to the new path `dst`: directories recursively, files with
/// their permissions, symlinks as symlinks; sockets and pipes are left out.
/// With `job_paths` (the work dir's absolute forms), what only works in this
/// job's directory is refused: a symlink to an absolute path inside it, or an
/// executable whose `#!` line names it (a virtualenv's scripts).
fn copy_tree(src: &Path, dst: &Path, job_paths: &[PathBuf]) -> Result<(), CacheError> {
    let meta = fs::symlink_metadata(src).map_err(io("inspect", src))?;
    let kind = meta.file_type();
    let only_here = |what: &str, target: &Path| {
        CacheError::NotCacheable(format!(
            "`{}` {what} {}, which is only valid in this job's directory",
            src.display(),
            target.display()
        ))
    };
    if kind.is_symlink() {
        let target = fs::read_link(src).map_err(io("read the link", src))?;
        if target.is_absolute() && job_paths.iter().any(|p| target.starts_with(p)) {
            return Err(only_here("links to the absolute path", &target));
        }
        std::os::unix::fs::symlink(&target, dst).map_err(io("create the link", dst))
    } else if kind.is_dir() {
        fs::create_dir(dst).map_err(io("create", dst))?;
        for entry in fs::read_dir(src).map_err(io("read", src))? {
            let entry = entry.map_err(io("read", src))?;
            copy_tree(&entry.path(), &dst.join(entry.file_name()), job_paths)?;
        }
        Ok(())
    } else if kind.is_file() {
        use std::os::unix::fs::PermissionsExt;
        if !job_paths.is_empty() && meta.permissions().mode() & 0o111 != 0 {
            let line = shebang_line(src)?;
            let names = |p: &PathBuf| {
                let p = p.as_os_str().as_encoded_bytes();
                line.windows(p.len()).any(|w| w == p)
            };
            if let Some(path) = job_paths.iter().find(|p| names(p)) {
                return Err(only_here("runs its interpreter from", path));
            }
        }
        fs::copy(src, dst).map(drop).map_err(io("copy", src))
    } else {
        Ok(())
    }
}

/// The first line of `path` when it starts with `#!` (at most 1 KiB), else nothing.
fn shebang_line(path: &Path) -> Result<Vec<u8>, CacheError> {
    use std::io::Read;
    let mut head = Vec::with_capacity(1024);
    fs::File::open(path)
        .and_then(|f| f.take(1024).read_to_end(&mut head))
        .map_err(io("read", path))?;
    if !head.starts_with(b"#!") {
        return Ok(Vec::new());
    }
    let end = head.iter().position(|b| *b == b'\n').unwrap_or(head.len());
    head.truncate(end);
    Ok(head)
}

/// What an entry of the work dir looked like.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Stamp {
    /// A directory's own changes (entries added) are seen through its children.
    Dir,
    File {
        len: u64,
        modified: Option<SystemTime>,
    },
    Link(PathBuf),
    Other,
}

/// The work dir's entries before setup runs, to tell what setup added.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    entries: HashMap<PathBuf, Stamp>,
}

impl Snapshot {
    /// Every entry under `work_dir` (symlinks are not followed).
    pub fn take(work_dir: &Path) -> Result<Self, CacheError> {
        let mut entries = HashMap::new();
        walk(work_dir, |rel, stamp| {
            let descend = stamp == Stamp::Dir;
            entries.insert(rel.to_path_buf(), stamp);
            descend
        })?;
        Ok(Self { entries })
    }

    /// The topmost paths that are new since the snapshot (a new directory
    /// counts once, with all it holds). A setup that changed or removed
    /// anything that was there before is not cacheable: restoring only its
    /// additions would not reproduce it.
    pub fn added(&self, work_dir: &Path) -> Result<Vec<PathBuf>, CacheError> {
        let mut added = Vec::new();
        let mut seen = HashSet::new();
        let mut changed = None;
        walk(work_dir, |rel, stamp| match self.entries.get(rel) {
            None => {
                added.push(rel.to_path_buf());
                false
            }
            Some(old) => {
                seen.insert(rel.to_path_buf());
                if *old != stamp && changed.is_none() {
                    changed = Some(rel.to_path_buf());
                }
                stamp == Stamp::Dir
            }
        })?;
        if let Some(path) = changed {
            return Err(CacheError::NotCacheable(format!(
                "setup changed `{}`, which was there before it ran",
                path.display()
            )));
        }
        if let Some(gone) = self.entries.keys().find(|p| !seen.contains(*p)) {
            return Err(CacheError::NotCacheable(format!(
                "setup removed `{}`",
                gone.display()
            )));
        }
        added.sort();
        Ok(added)
    }
}

/// Visit every entry under `root` with its relative path; `visit` returns
/// whether to descend into a directory.
fn walk(root: &Path, mut visit: impl FnMut(&Path, Stamp) -> bool) -> Result<(), CacheError> {
    let mut pending = vec![PathBuf::new()];
    while let Some(rel) = pending.pop() {
        let dir = root.join(&rel);
        for entry in fs::read_dir(&dir).map_err(io("read", &dir))? {
            let entry = entry.map_err(io("read", &dir))?;
            let child = rel.join(entry.file_name());
            let path = entry.path();
            // Does not follow symlinks.
            let meta = entry.metadata().map_err(io("inspect", &path))?;
            let kind = meta.file_type();
            let stamp = if kind.is_dir() {
                Stamp::Dir
            } else if kind.is_file() {
                Stamp::File {
                    len: meta.len(),
                    modified: meta.modified().ok(),
                }
            } else if kind.is_symlink() {
                Stamp::Link(fs::read_link(&path).map_err(io("read the link", &path))?)
            } else {
                Stamp::Other
            };
            let is_dir = stamp == Stamp::Dir;
            if visit(&child, stamp) && is_dir {
                pending.push(child);
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(root: &Path, rel: &str, text: &str) {
        let path = root.join(rel);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, text).unwrap();
    }

    const KEY: &str = "00c0ffee";

    #[test]
    fn concurrent_saves_of_one_key_leave_one_complete_entry() {
        let root = tempfile::tempdir().unwrap();
        let cache = ValidationCache::new(root.path(), "Acme", "Shop").unwrap();
        let jobs: Vec<_> = (0..6)
            .map(|i| {
                let dir = tempfile::tempdir().unwrap();
                write(dir.path(), "package.json", "{}");
                let before = Snapshot::take(dir.path()).unwrap();
                // Big enough that the copies overlap in time.
                for n in 0..100 {
                    write(
                        dir.path(),
                        &format!("node_modules/pkg{n}/index.js"),
                        &format!("module.exports = {i};\n"),
                    );
                }
                (dir, before)
            })
            .collect();
        let barrier = std::sync::Barrier::new(jobs.len());
        let outcomes: Vec<Saved> = std::thread::scope(|s| {
            let handles: Vec<_> = jobs
                .iter()
                .map(|(dir, before)| {
                    let (cache, barrier) = (&cache, &barrier);
                    s.spawn(move || {
                        barrier.wait();
                        cache.save_dependencies(KEY, dir.path(), before).unwrap()
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        assert_eq!(
            outcomes.iter().filter(|o| **o == Saved::Stored).count(),
            1,
            "{outcomes:?}"
        );
        // Nothing half-written is left beside the entry.
        let parent = root.path().join("deps/acme/shop");
        let names: Vec<String> = fs::read_dir(&parent)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, vec![KEY.to_string()]);
        // The entry is one job's copy, whole.
        let files = parent.join(KEY).join("files/node_modules");
        let first = fs::read_to_string(files.join("pkg0/index.js")).unwrap();
        for n in 0..100 {
            let text = fs::read_to_string(files.join(format!("pkg{n}/index.js"))).unwrap();
            assert_eq!(text, first, "pkg{n} comes from another copy");
        }
        let fresh = tempfile::tempdir().unwrap();
        assert!(cache.restore_dependencies(KEY, fresh.path()).unwrap());
        assert_eq!(
            fs::read_to_string(fresh.path().join("node_modules/pkg99/index.js")).unwrap(),
            first
        );
    }

    #[test]
    fn setup_that_changed_existing_files_or_points_into_the_job_is_not_saved() {
        let root = tempfile::tempdir().unwrap();
        let cache = ValidationCache::new(root.path(), "acme", "shop").unwrap();
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "src/a.ts", "export {};\n");
        let before = Snapshot::take(dir.path()).unwrap();
        write(dir.path(), "src/a.ts", "export const changed = 1;\n");
        write(dir.path(), "node_modules/x/index.js", "1");
        let err = cache
            .save_dependencies(KEY, dir.path(), &before)
            .unwrap_err();
        assert!(err.to_string().contains("src/a.ts"), "{err}");

        let dir = tempfile::tempdir().unwrap();
        let before = Snapshot::take(dir.path()).unwrap();
        fs::create_dir_all(dir.path().join("node_modules/.bin")).unwrap();
        let abs = std::path::absolute(dir.path()).unwrap().join("tool.js");
        std::os::unix::fs::symlink(&abs, dir.path().join("node_modules/.bin/tool")).unwrap();
        let err = cache
            .save_dependencies(KEY, dir.path(), &before)
            .unwrap_err();
        assert!(err.to_string().contains("absolute path"), "{err}");
        assert!(!cache.dependency_entry(KEY).exists());
        assert_eq!(
            fs::read_dir(root.path().join("deps/acme/shop"))
                .unwrap()
                .count(),
            0
        );

        // A virtualenv's script runs the interpreter of this job's directory.
        let dir = tempfile::tempdir().unwrap();
        let before = Snapshot::take(dir.path()).unwrap();
        let script = format!(
            "#!{}/.venv/bin/python\nimport pytest\n",
            dir.path().display()
        );
        write(dir.path(), ".venv/bin/pytest", &script);
        let path = dir.path().join(".venv/bin/pytest");
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).unwrap();
        let err = cache
            .save_dependencies(KEY, dir.path(), &before)
            .unwrap_err();
        assert!(err.to_string().contains("runs its interpreter"), "{err}");
        // The same file as plain data is fine.
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
        assert!(cache.save_dependencies(KEY, dir.path(), &before).is_ok());
    }

    #[test]
    fn a_restore_never_writes_through_a_symlink_in_the_work_dir() {
        let root = tempfile::tempdir().unwrap();
        let cache = ValidationCache::new(root.path(), "acme", "shop").unwrap();
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir(dir.path().join("packages")).unwrap();
        let before = Snapshot::take(dir.path()).unwrap();
        write(dir.path(), "packages/node_modules/x.js", "1");
        cache.save_dependencies(KEY, dir.path(), &before).unwrap();

        // The next checkout has `packages` as a link to somewhere else.
        let outside = tempfile::tempdir().unwrap();
        let next = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink(outside.path(), next.path().join("packages")).unwrap();
        assert!(cache.restore_dependencies(KEY, next.path()).is_err());
        assert_eq!(fs::read_dir(outside.path()).unwrap().count(), 0);
    }

    #[test]
    fn stale_or_damaged_entries_are_misses() {
        let root = tempfile::tempdir().unwrap();
        let cache = ValidationCache::new(root.path(), "acme", "shop").unwrap();
        let outcome = BaselineOutcome {
            command: "npm test".into(),
            passed: false,
            error_lines: ["error: boom".to_string()].into(),
            recorded_at: now_secs(),
        };
        cache.store_baseline_outcome("ab12", &outcome).unwrap();
        assert_eq!(
            cache.baseline_outcome("ab12").unwrap(),
            Some(outcome.clone())
        );
        let eight_days_ago = now_secs() - 8 * 24 * 60 * 60;
        cache
            .store_baseline_outcome(
                "ab12",
                &BaselineOutcome {
                    recorded_at: eight_days_ago,
                    ..outcome
                },
            )
            .unwrap();
        assert_eq!(cache.baseline_outcome("ab12").unwrap(), None);

        let entry = cache.dependency_entry(KEY);
        fs::create_dir_all(entry.join("files")).unwrap();
        fs::write(entry.join(ENTRY_FILE), "{not json").unwrap();
        let dir = tempfile::tempdir().unwrap();
        assert!(matches!(
            cache.restore_dependencies(KEY, dir.path()),
            Err(CacheError::Damaged { .. })
        ));
        assert!(!entry.exists(), "a damaged entry makes room for a good one");
        assert!(cache.baseline_outcome("../../etc/passwd").is_err());
    }

    #[test]
    fn python_installs_are_not_relocatable() {
        let setup = |argv: &[&str]| Command {
            stage: gitkeeper::validate::Stage::Setup,
            argv: argv.iter().map(|a| a.to_string()).collect(),
            network: true,
            name: argv.join(" "),
            timeout: None,
            origin: gitkeeper::validate::Origin::Config,
        };
        for python in [
            &["uv", "sync", "--frozen"][..],
            &["poetry", "install"],
            &["python3", "-m", "pip", "install", "-e", "."],
            &[
                "sh",
                "-c",
                "npm ci && /usr/bin/pip3 install -r requirements.txt",
            ],
        ] {
            assert!(!setup_is_relocatable(&[setup(python)]), "{python:?}");
        }
        assert!(setup_is_relocatable(&[
            setup(&["npm", "ci"]),
            setup(&["pnpm", "install", "--frozen-lockfile"]),
            setup(&["cargo", "fetch", "--locked"]),
        ]));
    }

    #[test]
    fn repositories_do_not_share_entries() {
        let root = tempfile::tempdir().unwrap();
        let ours = ValidationCache::new(root.path(), "acme", "shop").unwrap();
        let theirs = ValidationCache::new(root.path(), "mallory", "shop").unwrap();
        let dir = tempfile::tempdir().unwrap();
        let before = Snapshot::take(dir.path()).unwrap();
        write(dir.path(), "node_modules/x.js", "1");
        theirs.save_dependencies(KEY, dir.path(), &before).unwrap();
        let fresh = tempfile::tempdir().unwrap();
        assert!(!ours.restore_dependencies(KEY, fresh.path()).unwrap());
        assert_ne!(ours.sandbox_env(), theirs.sandbox_env());
        assert!(ValidationCache::new(root.path(), "..", "shop").is_err());
    }
}
