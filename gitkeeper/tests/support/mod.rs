//! Small repositories written to a tempdir, shared by the integration tests.

use std::fs;
use std::path::Path;

/// A tempdir holding `files` (path, content).
pub fn repo(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    write(dir.path(), files);
    dir
}

/// Writes `files` (path, content) under `root`, creating directories.
pub fn write(root: &Path, files: &[(&str, &str)]) {
    for (path, text) in files {
        let p = root.join(path);
        fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        fs::write(p, text).expect("write");
    }
}
