//! Path safety for model-proposed edits: every path a model names passes
//! through here before anything is read or written. It must never let an edit
//! leave the work directory (absolute paths, `..`, symbolic links pointing
//! out), enter `.git/`, or touch a path the repository protects.
//!
//! [`resolve_below`] is the one place that walks a path below a root on disk
//! and decides what a symbolic link on the way may do; the edit applier, the
//! bot's work-dir reads and writes, its dependency cache and its prompt
//! overrides all go through it.

use std::fs;
use std::io;
use std::path::{Component, Path, PathBuf};

use globset::{GlobBuilder, GlobSet, GlobSetBuilder};
use thiserror::Error;

/// The paths edits may not touch, beyond the built-in rules (`.git/`, outside
/// the work directory).
///
/// Patterns are gitignore-like globs relative to the repository root: `*`
/// does not cross `/`, `**` does, a pattern without `/` matches at any depth
/// (`*.pem`), and a pattern matching a folder protects everything inside it.
#[derive(Debug, Clone)]
pub struct PathPolicy {
    patterns: Vec<String>,
    set: GlobSet,
    /// For each glob in `set`, the index of the pattern it came from.
    origin: Vec<usize>,
}

impl Default for PathPolicy {
    fn default() -> Self {
        PathPolicy {
            patterns: Vec::new(),
            set: GlobSet::empty(),
            origin: Vec::new(),
        }
    }
}

/// A protected-path pattern that is not a valid glob.
#[derive(Debug, Error)]
#[error(
    "protected path pattern `{pattern}` is not a valid glob ({source}); fix it in the repository's \
     protected paths setting"
)]
#[non_exhaustive]
pub struct PolicyError {
    /// The pattern as configured, so the user can find it in the setting.
    pub pattern: String,
    /// The glob parser's error, with the position in the pattern.
    #[source]
    pub source: globset::Error,
}

/// Why a path may not be edited. The messages are written for the model.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum PathProblem {
    /// Nothing but whitespace or separators.
    #[error("the path is empty")]
    Empty,
    /// A character that hides what the path really is (the code point).
    #[error("the path contains the invisible or control character U+{0:04X}")]
    InvalidCharacter(u32),
    /// Starts at `/`, a drive letter or `~`.
    #[error(
        "the path is absolute; use a path relative to the repository root, like `src/index.ts`"
    )]
    Absolute,
    /// Would climb out of the repository.
    #[error("the path contains `..`; paths must stay inside the repository")]
    ParentComponent,
    /// Git's own data; editing it could rewrite history or hooks.
    #[error("the path is inside `.git/`, which is never edited")]
    GitDir,
    /// Ends in `/` or is an existing directory.
    #[error("the path names a folder, not a file")]
    NotAFile,
    /// A parent component is an existing file (the repository-relative prefix).
    #[error("`{0}` is a file, so nothing can be inside it")]
    NotADirectory(String),
    /// A protected-path pattern of the repository covers it.
    #[error(
        "the path is protected by the repository configuration (pattern `{pattern}`); leave it \
         unchanged and do the task without editing it"
    )]
    Protected {
        /// The pattern as configured, so the model knows what to leave alone.
        pattern: String,
    },
    /// A symbolic link on the way leads out of the work directory.
    #[error("`{link}` is a symbolic link that leads outside the repository")]
    EscapesRoot {
        /// The repository-relative link.
        link: String,
    },
    /// A symbolic link on the way is dangling, so where it leads cannot be checked.
    #[error("`{link}` is a symbolic link to something that does not exist")]
    BrokenSymlink {
        /// The repository-relative link.
        link: String,
    },
    /// A link where none is allowed (the caller refuses links).
    #[error(
        "`{link}` is a symbolic link (made by a repository command?); nothing is read or written through it"
    )]
    Link {
        /// The repository-relative link.
        link: String,
    },
    /// The disk could not be asked; the I/O error as the model is told it.
    #[error("the path cannot be checked: {0}")]
    Io(String),
}

/// Normalizes a path as a model wrote it, without touching the disk or any
/// policy: `./a//b\c.ts` → `a/b/c.ts`. Rejects empty, absolute, `..`, `.git`
/// and invisible-character paths.
pub fn normalize_path(path: &str) -> Result<String, PathProblem> {
    if path.trim().is_empty() {
        return Err(PathProblem::Empty);
    }
    if let Some(c) = path.chars().find(|&c| c.is_control() || is_invisible(c)) {
        return Err(PathProblem::InvalidCharacter(u32::from(c)));
    }
    let p = path.replace('\\', "/");
    let bytes = p.as_bytes();
    let drive = bytes.len() >= 2 && bytes[0].is_ascii_alphabetic() && bytes[1] == b':';
    if p.starts_with('/') || drive || p == "~" || p.starts_with("~/") {
        return Err(PathProblem::Absolute);
    }
    let parts: Vec<&str> = p
        .split('/')
        .filter(|part| !part.is_empty() && *part != ".")
        .collect();
    if parts.contains(&"..") {
        return Err(PathProblem::ParentComponent);
    }
    if parts.iter().any(|part| part.eq_ignore_ascii_case(".git")) {
        return Err(PathProblem::GitDir);
    }
    if parts.is_empty() {
        return Err(PathProblem::Empty);
    }
    if p.ends_with('/') {
        return Err(PathProblem::NotAFile);
    }
    Ok(parts.join("/"))
}

fn is_invisible(c: char) -> bool {
    matches!(c,
        '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2060}'..='\u{206f}'
        | '\u{feff}' | '\u{e0000}'..='\u{e007f}')
}

impl PathPolicy {
    /// A policy protecting `protected` (glob patterns, see [`PathPolicy`]).
    pub fn new(protected: Vec<String>) -> Result<Self, PolicyError> {
        let mut builder = GlobSetBuilder::new();
        let mut origin = Vec::new();
        for (index, pattern) in protected.iter().enumerate() {
            let trimmed = pattern.trim().trim_start_matches('/').trim_end_matches('/');
            let mut globs = vec![trimmed.to_string()];
            if !trimmed.contains('/') {
                globs.push(format!("**/{trimmed}"));
            }
            for glob in globs {
                let glob = GlobBuilder::new(&glob)
                    .literal_separator(true)
                    .build()
                    .map_err(|source| PolicyError {
                        pattern: pattern.clone(),
                        source,
                    })?;
                builder.add(glob);
                origin.push(index);
            }
        }
        let set = builder.build().map_err(|source| PolicyError {
            pattern: protected.join(", "),
            source,
        })?;
        Ok(PathPolicy {
            patterns: protected,
            set,
            origin,
        })
    }

    /// The patterns as configured, in order, for showing a user or a model what is protected.
    pub fn patterns(&self) -> &[String] {
        &self.patterns
    }

    /// The pattern protecting a normalized path or one of its folders.
    pub fn protecting_pattern(&self, normalized: &str) -> Option<&str> {
        let mut prefix_end = 0;
        let mut candidates = Vec::new();
        for part in normalized.split('/') {
            prefix_end += part.len();
            candidates.push(&normalized[..prefix_end]);
            prefix_end += 1;
        }
        candidates.into_iter().find_map(|candidate| {
            let hit = self.set.matches(candidate).into_iter().next()?;
            self.origin
                .get(hit)
                .and_then(|&i| self.patterns.get(i))
                .map(String::as_str)
        })
    }

    /// Checks a path without touching the disk: the normalized path, or why
    /// it may not be edited.
    pub fn check(&self, path: &str) -> Result<String, PathProblem> {
        let normalized = normalize_path(path)?;
        if let Some(pattern) = self.protecting_pattern(&normalized) {
            return Err(PathProblem::Protected {
                pattern: pattern.to_string(),
            });
        }
        Ok(normalized)
    }

    /// Checks a path against the work directory too: symbolic links are
    /// followed (they must stay inside `root`), and the real location must
    /// pass [`PathPolicy::check`] as well. Returns the real path relative to
    /// the canonical `root`, with `/` separators; the file need not exist.
    pub fn resolve(&self, root: &Path, path: &str) -> Result<String, PathProblem> {
        let normalized = self.check(path)?;
        let root = canonical_root(root)?;
        let parts: Vec<&str> = normalized.split('/').collect();
        let real = walk(&root, &parts, Links::FollowInside)?;
        if real.is_dir() {
            return Err(PathProblem::NotAFile);
        }
        let relative = relative_to(&real, &root)?;
        if relative != normalized {
            // A link led elsewhere inside the repository: that place must be
            // editable too.
            self.check(&relative)?;
        }
        Ok(relative)
    }
}

/// What a symbolic link on the way to a path below a root may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Links {
    /// Followed, as long as it leads to a place inside the root (a
    /// repository may link inside itself).
    FollowInside,
    /// Refused anywhere below the root: a repository command may have
    /// swapped a folder for a link to a host path, and nothing may be read
    /// or written through one.
    Refuse,
    /// Refused on the way; the last part may itself be a link, which the
    /// caller handles as a link (reads or replaces it, never follows it).
    RefuseAllButLast,
}

/// The place of `rel` (`/`-separated, relative, no `..`; empty and `.`
/// parts are skipped) below `root`, checked on disk part by part as `links`
/// says. Every existing part but the last must be a directory; the path
/// need not exist (nothing below a missing part can be a link). With
/// [`Links::FollowInside`] the result is under the canonical `root`,
/// otherwise it is `root` joined with the parts.
pub fn resolve_below(root: &Path, rel: &str, links: Links) -> Result<PathBuf, PathProblem> {
    if rel.starts_with('/') {
        return Err(PathProblem::Absolute);
    }
    let parts: Vec<&str> = rel
        .split('/')
        .filter(|part| !part.is_empty() && *part != ".")
        .collect();
    if parts.contains(&"..") {
        return Err(PathProblem::ParentComponent);
    }
    if parts.is_empty() {
        return Err(PathProblem::Empty);
    }
    let root = match links {
        Links::FollowInside => canonical_root(root)?,
        Links::Refuse | Links::RefuseAllButLast => root.to_path_buf(),
    };
    walk(&root, &parts, links)
}

fn canonical_root(root: &Path) -> Result<PathBuf, PathProblem> {
    root.canonicalize()
        .map_err(|e| PathProblem::Io(format!("work directory {}: {e}", root.display())))
}

/// Walk `parts` below `root` (canonical for [`Links::FollowInside`]).
fn walk(root: &Path, parts: &[&str], links: Links) -> Result<PathBuf, PathProblem> {
    let mut real = root.to_path_buf();
    for (index, part) in parts.iter().enumerate() {
        let next = real.join(part);
        let meta = match fs::symlink_metadata(&next) {
            Ok(meta) => meta,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                real = next;
                for rest in &parts[index + 1..] {
                    real.push(rest);
                }
                return Ok(real);
            }
            Err(e) => return Err(PathProblem::Io(e.to_string())),
        };
        let shown = parts[..=index].join("/");
        let last = index + 1 == parts.len();
        real = if meta.file_type().is_symlink() {
            match links {
                Links::FollowInside => {
                    let target = next
                        .canonicalize()
                        .map_err(|_| PathProblem::BrokenSymlink {
                            link: shown.clone(),
                        })?;
                    if !target.starts_with(root) {
                        return Err(PathProblem::EscapesRoot { link: shown });
                    }
                    target
                }
                Links::RefuseAllButLast if last => next,
                Links::Refuse | Links::RefuseAllButLast => {
                    return Err(PathProblem::Link { link: shown });
                }
            }
        } else {
            next
        };
        if !last && !real.is_dir() {
            return Err(PathProblem::NotADirectory(shown));
        }
    }
    Ok(real)
}

fn relative_to(path: &Path, root: &Path) -> Result<String, PathProblem> {
    let rest = path
        .strip_prefix(root)
        .map_err(|_| PathProblem::EscapesRoot {
            link: path.display().to_string(),
        })?;
    let mut parts = Vec::new();
    for component in rest.components() {
        match component {
            Component::Normal(part) => parts.push(
                part.to_str()
                    .ok_or_else(|| PathProblem::Io("the path is not valid UTF-8".to_string()))?,
            ),
            _ => return Err(PathProblem::ParentComponent),
        }
    }
    if parts.is_empty() {
        return Err(PathProblem::NotAFile);
    }
    Ok(parts.join("/"))
}

/// The absolute location of a path [`PathPolicy::resolve`] returned.
pub(crate) fn absolute(root: &Path, relative: &str) -> PathBuf {
    let mut path = root.to_path_buf();
    for part in relative.split('/') {
        path.push(part);
    }
    path
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes_harmless_drift() {
        assert_eq!(normalize_path("./src//a.ts").unwrap(), "src/a.ts");
        assert_eq!(normalize_path("src\\lib\\a.ts").unwrap(), "src/lib/a.ts");
        assert_eq!(
            normalize_path("app/blog/[...slug]/page.tsx").unwrap(),
            "app/blog/[...slug]/page.tsx"
        );
    }

    #[test]
    fn rejects_unsafe_paths() {
        assert_eq!(normalize_path("/etc/passwd"), Err(PathProblem::Absolute));
        assert_eq!(normalize_path("C:\\x.ts"), Err(PathProblem::Absolute));
        assert_eq!(normalize_path("~/.ssh/id_rsa"), Err(PathProblem::Absolute));
        assert_eq!(normalize_path("../x.ts"), Err(PathProblem::ParentComponent));
        assert_eq!(
            normalize_path("src/../../x"),
            Err(PathProblem::ParentComponent)
        );
        assert_eq!(
            normalize_path("src\\..\\..\\x"),
            Err(PathProblem::ParentComponent)
        );
        assert_eq!(normalize_path(".git/config"), Err(PathProblem::GitDir));
        assert_eq!(
            normalize_path("vendor/lib/.GIT/hooks/x"),
            Err(PathProblem::GitDir)
        );
        assert_eq!(normalize_path("  "), Err(PathProblem::Empty));
        assert_eq!(normalize_path("./"), Err(PathProblem::Empty));
        assert_eq!(normalize_path("src/"), Err(PathProblem::NotAFile));
        assert_eq!(
            normalize_path("src/a\u{202e}st.ts"),
            Err(PathProblem::InvalidCharacter(0x202e))
        );
        assert_eq!(
            normalize_path("a\0b"),
            Err(PathProblem::InvalidCharacter(0))
        );
    }

    #[test]
    fn protected_patterns_are_gitignore_like() {
        let policy = PathPolicy::new(vec![
            ".github/workflows/**".into(),
            "*.pem".into(),
            "/prisma/migrations/".into(),
            "secrets".into(),
        ])
        .unwrap();
        let protected = |p: &str| policy.check(p).err();
        assert_eq!(
            protected(".github/workflows/ci.yml"),
            Some(PathProblem::Protected {
                pattern: ".github/workflows/**".into()
            })
        );
        assert!(protected("keys/deep/server.pem").is_some());
        assert!(protected("prisma/migrations/001/migration.sql").is_some());
        assert!(protected("config/secrets/x.json").is_some());
        assert!(protected("prisma/schema.prisma").is_none());
        assert!(protected(".github/CODEOWNERS").is_none());
        assert!(protected("src/pem.ts").is_none());
    }

    #[cfg(unix)]
    fn linked_work_dir() -> (tempfile::TempDir, tempfile::TempDir) {
        let work = tempfile::tempdir().unwrap();
        let host = tempfile::tempdir().unwrap();
        fs::create_dir_all(work.path().join("lib/deep")).unwrap();
        fs::write(work.path().join("lib/deep/a.ts"), "a").unwrap();
        fs::write(work.path().join("file.ts"), "f").unwrap();
        std::os::unix::fs::symlink(host.path(), work.path().join("out")).unwrap();
        std::os::unix::fs::symlink(work.path().join("lib"), work.path().join("in")).unwrap();
        std::os::unix::fs::symlink(work.path().join("gone"), work.path().join("broken")).unwrap();
        (work, host)
    }

    #[cfg(unix)]
    #[test]
    fn refusing_links_never_passes_through_one() {
        let (work, _host) = linked_work_dir();
        let root = work.path();
        let link = |p: &str| PathProblem::Link { link: p.into() };
        for links in [Links::Refuse, Links::RefuseAllButLast] {
            assert_eq!(resolve_below(root, "out/keys", links), Err(link("out")));
            assert_eq!(resolve_below(root, "in/deep/a.ts", links), Err(link("in")));
        }
        assert_eq!(resolve_below(root, "out", Links::Refuse), Err(link("out")));
        assert_eq!(
            resolve_below(root, "out", Links::RefuseAllButLast),
            Ok(root.join("out"))
        );
        assert_eq!(
            resolve_below(root, "broken", Links::RefuseAllButLast),
            Ok(root.join("broken"))
        );
        // Plain paths, existing or not, are the root joined with their parts.
        assert_eq!(
            resolve_below(root, "lib//deep/./a.ts", Links::Refuse),
            Ok(root.join("lib/deep/a.ts"))
        );
        assert_eq!(
            resolve_below(root, "new/dir/b.ts", Links::Refuse),
            Ok(root.join("new/dir/b.ts"))
        );
        assert_eq!(
            resolve_below(root, "file.ts/x", Links::Refuse),
            Err(PathProblem::NotADirectory("file.ts".into()))
        );
    }

    #[cfg(unix)]
    #[test]
    fn following_links_stays_inside_the_root() {
        let (work, _host) = linked_work_dir();
        let root = work.path();
        let canonical = root.canonicalize().unwrap();
        assert_eq!(
            resolve_below(root, "in/deep/a.ts", Links::FollowInside),
            Ok(canonical.join("lib/deep/a.ts"))
        );
        assert_eq!(
            resolve_below(root, "out/keys", Links::FollowInside),
            Err(PathProblem::EscapesRoot { link: "out".into() })
        );
        assert_eq!(
            resolve_below(root, "broken", Links::FollowInside),
            Err(PathProblem::BrokenSymlink {
                link: "broken".into()
            })
        );
        let policy = PathPolicy::default();
        assert_eq!(
            policy.resolve(root, "in/deep/a.ts").unwrap(),
            "lib/deep/a.ts"
        );
        assert_eq!(policy.resolve(root, "in/deep"), Err(PathProblem::NotAFile));
    }

    #[test]
    fn paths_below_a_root_stay_relative() {
        let root = Path::new("/nonexistent-root");
        for links in [Links::Refuse, Links::RefuseAllButLast, Links::FollowInside] {
            assert_eq!(
                resolve_below(root, "a/../../x", links),
                Err(PathProblem::ParentComponent)
            );
            assert_eq!(
                resolve_below(root, "/etc/passwd", links),
                Err(PathProblem::Absolute)
            );
            assert_eq!(resolve_below(root, "./", links), Err(PathProblem::Empty));
        }
    }

    #[test]
    fn invalid_glob_names_the_pattern() {
        let err = PathPolicy::new(vec!["src/[".into()]).unwrap_err();
        assert_eq!(err.pattern, "src/[");
        assert!(err.to_string().contains("not a valid glob"));
    }
}
