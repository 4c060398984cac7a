//! One parallel walk over the repository: lists files and directories the way
//! a developer sees them (`.gitignore` respected even without a `.git` dir,
//! dependency, build and cache directories skipped) and lets a visitor look
//! at each file on the walker threads. It never follows symlinks and never
//! hands secrets (`.env`, keys) to the visitor.

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;

use ignore::{WalkBuilder, WalkState};

/// Directory names never descended into: dependencies, build output, caches.
const SKIPPED_DIRS: &[&str] = &[
    ".git",
    ".hg",
    ".svn",
    "node_modules",
    "bower_components",
    "jspm_packages",
    ".next",
    ".nuxt",
    ".svelte-kit",
    ".turbo",
    ".vercel",
    ".netlify",
    ".output",
    ".cache",
    ".parcel-cache",
    ".docusaurus",
    ".expo",
    ".angular",
    ".yarn",
    ".pnpm-store",
    ".venv",
    "venv",
    "__pycache__",
    ".mypy_cache",
    ".pytest_cache",
    ".ruff_cache",
    ".tox",
    ".gradle",
    ".terraform",
    ".idea",
    "dist",
    "build",
    "target",
    "coverage",
    ".nyc_output",
    "vendor",
    "Pods",
];

/// File names that are lock files: machine-written, huge, never worth reading.
const LOCK_FILES: &[&str] = &[
    "package-lock.json",
    "npm-shrinkwrap.json",
    "pnpm-lock.yaml",
    "yarn.lock",
    "bun.lockb",
    "bun.lock",
    "Cargo.lock",
    "poetry.lock",
    "Pipfile.lock",
    "uv.lock",
    "composer.lock",
    "Gemfile.lock",
    "go.sum",
    "flake.lock",
];

/// True for directory names the walk skips.
pub(crate) fn is_skipped_dir(name: &str) -> bool {
    SKIPPED_DIRS.contains(&name)
}

/// True for lock files (by file name).
pub(crate) fn is_lock_file(name: &str) -> bool {
    LOCK_FILES.contains(&name)
}

/// True for files whose content may hold secrets; they are listed nowhere and
/// never read, because the package can be sent to a cloud model.
pub(crate) fn is_sensitive(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    if lower == ".env" || lower.starts_with(".env.") {
        return !(lower.ends_with(".example")
            || lower.ends_with(".sample")
            || lower.ends_with(".template"));
    }
    matches!(
        lower.as_str(),
        ".npmrc" | ".yarnrc.yml" | ".pypirc" | ".netrc" | ".htpasswd" | "id_rsa" | "id_ed25519"
    ) || lower.ends_with(".pem")
        || lower.ends_with(".key")
        || lower.ends_with(".p12")
        || lower.ends_with(".pfx")
        || lower.ends_with(".keystore")
}

/// True for generated or minified files that are not worth a model's attention.
pub(crate) fn is_generated_file(name: &str) -> bool {
    name.ends_with(".min.js")
        || name.ends_with(".min.css")
        || name.ends_with(".map")
        || name.ends_with(".snap")
        || name.ends_with(".tsbuildinfo")
        || name == "next-env.d.ts"
}

/// One file found by the walk.
#[derive(Debug)]
pub(crate) struct WalkedFile<T> {
    /// Repository-relative path with `/` separators.
    pub path: String,
    /// Size in bytes, when the visitor read it (0 for symlinks and unread files).
    pub size: u64,
    /// True when the entry is a symlink (listed, never read).
    pub symlink: bool,
    /// What the visitor returned for it.
    pub data: Option<T>,
}

/// Everything the walk found, sorted by path.
#[derive(Debug)]
pub(crate) struct Walk<T> {
    /// Files (not directories), sorted by path.
    pub files: Vec<WalkedFile<T>>,
    /// Directories (repository-relative, no trailing slash), sorted.
    pub dirs: Vec<String>,
    /// True when the walk stopped at `max_entries`.
    pub capped: bool,
}

enum Found<T> {
    File(WalkedFile<T>),
    Dir(String),
}

/// Walks `root` on the `ignore` crate's parallel walker, calling `visit` with
/// (relative path, absolute path) for each regular, non-secret file; the
/// visitor returns the file's size if it learned it (0 otherwise) and its data.
pub(crate) fn walk<T, F>(root: &Path, max_entries: usize, visit: F) -> Walk<T>
where
    T: Send,
    F: Fn(&str, &Path) -> (u64, Option<T>) + Sync,
{
    let mut builder = WalkBuilder::new(root);
    builder
        .hidden(false)
        .parents(false)
        .git_global(false)
        .require_git(false)
        .follow_links(false)
        .filter_entry(|entry| {
            let is_dir = entry.file_type().is_some_and(|t| t.is_dir());
            match entry.file_name().to_str() {
                Some(name) if is_dir => entry.depth() == 0 || !is_skipped_dir(name),
                Some(name) => !is_sensitive(name),
                None => false,
            }
        });
    let (tx, rx) = mpsc::channel::<Found<T>>();
    let count = AtomicUsize::new(0);
    let capped = AtomicUsize::new(0);
    builder.build_parallel().run(|| {
        let tx = tx.clone();
        let visit = &visit;
        let count = &count;
        let capped = &capped;
        Box::new(move |result| {
            let Ok(entry) = result else {
                return WalkState::Continue;
            };
            if entry.depth() == 0 {
                return WalkState::Continue;
            }
            if count.fetch_add(1, Ordering::Relaxed) >= max_entries {
                capped.store(1, Ordering::Relaxed);
                return WalkState::Quit;
            }
            let Some(rel) = relative(root, entry.path()) else {
                return WalkState::Continue;
            };
            let Some(file_type) = entry.file_type() else {
                return WalkState::Continue;
            };
            let found = if file_type.is_dir() {
                Found::Dir(rel)
            } else if file_type.is_symlink() {
                Found::File(WalkedFile {
                    path: rel,
                    size: 0,
                    symlink: true,
                    data: None,
                })
            } else if file_type.is_file() {
                let (size, data) = visit(&rel, entry.path());
                Found::File(WalkedFile {
                    path: rel,
                    size,
                    symlink: false,
                    data,
                })
            } else {
                return WalkState::Continue;
            };
            // The receiver outlives the walk; a send error cannot happen.
            let _ = tx.send(found);
            WalkState::Continue
        })
    });
    drop(tx);
    let mut files = Vec::new();
    let mut dirs = Vec::new();
    for found in rx {
        match found {
            Found::File(file) => files.push(file),
            Found::Dir(dir) => dirs.push(dir),
        }
    }
    files.sort_by(|a, b| a.path.cmp(&b.path));
    dirs.sort();
    Walk {
        files,
        dirs,
        capped: capped.load(Ordering::Relaxed) == 1,
    }
}

/// Repository-relative `/`-separated path, or `None` for non-UTF-8 names.
fn relative(root: &Path, path: &Path) -> Option<String> {
    let rel = path.strip_prefix(root).ok()?;
    let mut out = String::new();
    for part in rel.components() {
        let part = part.as_os_str().to_str()?;
        if !out.is_empty() {
            out.push('/');
        }
        out.push_str(part);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    fn write(root: &Path, rel: &str, text: &str) {
        let path = root.join(rel);
        fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        fs::write(path, text).expect("write");
    }

    #[test]
    fn gitignore_is_respected_without_a_git_dir() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path();
        write(root, ".gitignore", "secret/\n*.log\n");
        write(root, "src/a.ts", "a");
        write(root, "secret/b.ts", "b");
        write(root, "debug.log", "c");
        write(root, "node_modules/x/index.js", "d");
        write(root, ".env", "TOKEN=1");
        write(root, ".env.example", "TOKEN=");
        write(root, ".github/workflows/ci.yml", "on: push");
        let walk = walk(root, 1000, |_, _| (0, Some(())));
        let paths: Vec<&str> = walk.files.iter().map(|f| f.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                ".env.example",
                ".github/workflows/ci.yml",
                ".gitignore",
                "src/a.ts"
            ]
        );
        assert_eq!(walk.dirs, [".github", ".github/workflows", "src"]);
    }

    #[test]
    fn walk_stops_at_the_entry_cap() {
        let dir = tempfile::tempdir().expect("tempdir");
        for i in 0..50 {
            write(dir.path(), &format!("f{i}.ts"), "x");
        }
        let walk = walk(dir.path(), 10, |_, _| (0, Some(())));
        assert!(walk.capped);
        assert!(walk.files.len() <= 10);
    }

    #[test]
    fn secrets_are_recognised() {
        assert!(is_sensitive(".env"));
        assert!(is_sensitive(".env.production"));
        assert!(!is_sensitive(".env.example"));
        assert!(is_sensitive("server.pem"));
        assert!(!is_sensitive("keys.ts"));
    }
}
