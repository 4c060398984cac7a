//! Reading one repository file safely: only regular files inside the
//! repository (symlinks are followed only when they stay inside), under a size
//! cap, and never binary. Repository content is untrusted, so nothing here
//! panics on what it finds.

use std::fs;
use std::io::Read;
use std::path::{Component, Path, PathBuf};

use crate::SharedIoError;

/// Bytes inspected for a NUL byte to decide that a file is binary.
const BINARY_SNIFF_BYTES: usize = 8000;

/// Why a file was not read as text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Skip {
    /// No such file (or not a regular file).
    Missing,
    /// The path escapes the repository (`..`, absolute, or a symlink outside).
    Outside,
    /// Larger than the cap.
    TooLarge(u64),
    /// Contains NUL bytes.
    Binary,
    /// An I/O error other than not-found.
    Io(SharedIoError),
}

impl Skip {
    /// Why the file was not read, as the end of a sentence ("… because it is binary").
    pub(crate) fn describe(&self) -> String {
        match self {
            Skip::Missing => "it does not exist".to_string(),
            Skip::Outside => "it is outside the repository (or a symlink out of it)".to_string(),
            Skip::TooLarge(n) => format!("it is too large ({n} bytes)"),
            Skip::Binary => "it is binary".to_string(),
            Skip::Io(e) => format!("it cannot be read: {e}"),
        }
    }
}

/// A repository root, canonicalized once so containment checks are cheap.
#[derive(Debug, Clone)]
pub(crate) struct RepoRoot {
    /// The directory as given.
    pub dir: PathBuf,
    /// Its canonical form, for symlink containment checks.
    canonical: PathBuf,
}

impl RepoRoot {
    pub(crate) fn new(dir: &Path) -> std::io::Result<Self> {
        let canonical = dir.canonicalize()?;
        Ok(Self {
            dir: dir.to_path_buf(),
            canonical,
        })
    }

    /// Joins a repository-relative `/`-separated path, refusing escapes.
    pub(crate) fn join(&self, rel: &str) -> Option<PathBuf> {
        let rel_path = Path::new(rel);
        if rel_path
            .components()
            .any(|c| !matches!(c, Component::Normal(_) | Component::CurDir))
        {
            return None;
        }
        Some(self.dir.join(rel_path))
    }

    /// True when `rel` names a regular file (or an in-repo symlink to one).
    pub(crate) fn is_file(&self, rel: &str) -> bool {
        self.join(rel)
            .and_then(|p| self.checked(&p).ok())
            .is_some_and(|(_, meta)| meta.is_file())
    }

    /// Reads `rel` as text if it is a regular text file of at most `max_bytes`.
    pub(crate) fn read_text(&self, rel: &str, max_bytes: u64) -> Result<String, Skip> {
        let path = self.join(rel).ok_or(Skip::Outside)?;
        let (path, meta) = self.checked(&path)?;
        if !meta.is_file() {
            return Err(Skip::Missing);
        }
        if meta.len() > max_bytes {
            return Err(Skip::TooLarge(meta.len()));
        }
        read_text_file(&path, max_bytes)
    }

    /// Resolves symlinks and checks that the target stays inside the root.
    fn checked(&self, path: &Path) -> Result<(PathBuf, fs::Metadata), Skip> {
        let meta = fs::symlink_metadata(path).map_err(io_skip)?;
        if meta.file_type().is_symlink() {
            let target = path.canonicalize().map_err(io_skip)?;
            if !target.starts_with(&self.canonical) {
                return Err(Skip::Outside);
            }
            let meta = fs::metadata(&target).map_err(io_skip)?;
            return Ok((target, meta));
        }
        Ok((path.to_path_buf(), meta))
    }
}

fn io_skip(err: std::io::Error) -> Skip {
    if err.kind() == std::io::ErrorKind::NotFound {
        Skip::Missing
    } else {
        Skip::Io(err.into())
    }
}

/// Reads a file already known to be regular, enforcing the cap while reading
/// (the file may grow between the size check and the read).
pub(crate) fn read_text_file(path: &Path, max_bytes: u64) -> Result<String, Skip> {
    let file = fs::File::open(path).map_err(io_skip)?;
    let mut bytes = Vec::new();
    file.take(max_bytes.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(io_skip)?;
    if bytes.len() as u64 > max_bytes {
        return Err(Skip::TooLarge(bytes.len() as u64));
    }
    text_from_bytes(bytes)
}

/// Reads a regular file's bytes into the front of `buf` (reused across
/// files by the caller) and returns how many there are, for scanning, refusing oversized and binary files; no UTF-8
/// check, the scanner works on bytes. Only the file's own read calls are
/// made (no stat): a short read of a regular file means its end. Content for
/// the prompt is read again with [`RepoRoot::read_text`].
pub(crate) fn read_bytes_into(
    path: &Path,
    max_bytes: u64,
    buf: &mut Vec<u8>,
) -> Result<usize, Skip> {
    const CHUNK: usize = 64 * 1024;
    let mut file = fs::File::open(path).map_err(io_skip)?;
    let mut filled = 0usize;
    loop {
        // The buffer only ever grows, so it is zeroed once, not per file.
        if buf.len() < filled + CHUNK {
            buf.resize(filled + CHUNK, 0);
        }
        let n = loop {
            match file.read(&mut buf[filled..filled + CHUNK]) {
                Ok(n) => break n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(io_skip(e)),
            }
        };
        filled += n;
        if filled as u64 > max_bytes {
            return Err(Skip::TooLarge(filled as u64));
        }
        if n < CHUNK {
            break;
        }
    }
    if looks_binary(&buf[..filled]) {
        return Err(Skip::Binary);
    }
    Ok(filled)
}

/// Turns file bytes into text: NUL bytes mean binary; invalid UTF-8 is
/// replaced rather than rejected (Latin-1 sources still carry meaning).
pub(crate) fn text_from_bytes(bytes: Vec<u8>) -> Result<String, Skip> {
    if looks_binary(&bytes) {
        return Err(Skip::Binary);
    }
    match String::from_utf8(bytes) {
        Ok(text) => Ok(text),
        Err(err) => Ok(String::from_utf8_lossy(err.as_bytes()).into_owned()),
    }
}

/// True when the first few kilobytes contain a NUL byte.
pub(crate) fn looks_binary(bytes: &[u8]) -> bool {
    bytes[..bytes.len().min(BINARY_SNIFF_BYTES)].contains(&0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parent_and_absolute_paths_are_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = RepoRoot::new(dir.path()).expect("root");
        assert_eq!(root.read_text("../etc/passwd", 1000), Err(Skip::Outside));
        assert_eq!(root.read_text("/etc/passwd", 1000), Err(Skip::Outside));
    }

    #[test]
    fn binary_and_oversized_files_are_skipped() {
        let dir = tempfile::tempdir().expect("tempdir");
        fs::write(dir.path().join("a.bin"), b"abc\0def").expect("write");
        fs::write(dir.path().join("big.txt"), "x".repeat(100)).expect("write");
        fs::write(dir.path().join("latin1.ts"), b"const s = '\xe9';").expect("write");
        let root = RepoRoot::new(dir.path()).expect("root");
        assert_eq!(root.read_text("a.bin", 1000), Err(Skip::Binary));
        assert_eq!(root.read_text("big.txt", 10), Err(Skip::TooLarge(100)));
        assert_eq!(root.read_text("missing.txt", 10), Err(Skip::Missing));
        let text = root.read_text("latin1.ts", 1000).expect("lossy text");
        assert!(text.starts_with("const s = '"));
    }

    #[cfg(unix)]
    #[test]
    fn symlink_outside_the_repository_is_refused() {
        let outside = tempfile::tempdir().expect("tempdir");
        fs::write(outside.path().join("secret"), "token").expect("write");
        let dir = tempfile::tempdir().expect("tempdir");
        std::os::unix::fs::symlink(
            outside.path().join("secret"),
            dir.path().join("package.json"),
        )
        .expect("symlink");
        fs::write(dir.path().join("real.ts"), "x").expect("write");
        std::os::unix::fs::symlink(dir.path().join("real.ts"), dir.path().join("alias.ts"))
            .expect("symlink");
        let root = RepoRoot::new(dir.path()).expect("root");
        assert_eq!(root.read_text("package.json", 1000), Err(Skip::Outside));
        assert_eq!(root.read_text("alias.ts", 1000).as_deref(), Ok("x"));
    }
}
