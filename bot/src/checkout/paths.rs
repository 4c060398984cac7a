//! Where things live under the data dir, and the checks that keep a name from
//! a webhook from pointing anywhere else: `repos/<owner>/<repo>.git` for
//! mirrors, `repos/<owner>/<repo>.lock` for their file locks, `work/<job>/`
//! for checkouts.

use std::path::{Path, PathBuf};

use super::error::CheckoutError;
use crate::ids::JobId;

/// An `owner/name` that is safe to use as a path and in a URL.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct RepoSlug {
    pub owner: String,
    pub name: String,
}

impl RepoSlug {
    pub fn new(owner: &str, name: &str) -> Result<Self, CheckoutError> {
        let ok = |s: &str, extra: &[u8]| {
            !s.is_empty()
                && s.len() <= 100
                && s != "."
                && s != ".."
                && s.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || extra.contains(&b))
        };
        // GitHub logins are letters, digits and '-' ('_' on Enterprise);
        // repository names also allow '.'.
        if ok(owner, b"_") && ok(name, b"_.") {
            Ok(Self {
                owner: owner.to_string(),
                name: name.to_string(),
            })
        } else {
            Err(CheckoutError::InvalidRepoName {
                owner: owner.to_string(),
                name: name.to_string(),
            })
        }
    }

    /// GitHub names are case-insensitive, so `Acme/Widgets` and `acme/widgets` share one mirror and one lock.
    pub fn key(&self) -> String {
        format!(
            "{}/{}",
            self.owner.to_ascii_lowercase(),
            self.name.to_ascii_lowercase()
        )
    }

    pub fn full_name(&self) -> String {
        format!("{}/{}", self.owner, self.name)
    }
}

/// The directories a [`super::Checkouts`] works in.
#[derive(Debug, Clone)]
pub(crate) struct Layout {
    pub data_dir: PathBuf,
}

impl Layout {
    pub fn repos_dir(&self) -> PathBuf {
        self.data_dir.join("repos")
    }

    fn owner_dir(&self, repo: &RepoSlug) -> PathBuf {
        self.repos_dir().join(repo.owner.to_ascii_lowercase())
    }

    pub fn mirror(&self, repo: &RepoSlug) -> PathBuf {
        self.owner_dir(repo)
            .join(format!("{}.git", repo.name.to_ascii_lowercase()))
    }

    pub fn lock_file(&self, repo: &RepoSlug) -> PathBuf {
        self.owner_dir(repo)
            .join(format!("{}.lock", repo.name.to_ascii_lowercase()))
    }

    pub fn work_dir(&self) -> PathBuf {
        work_dir(&self.data_dir)
    }

    pub fn job_dir(&self, job: JobId) -> PathBuf {
        self.work_dir().join(job.to_string())
    }
}

pub(crate) fn work_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("work")
}

/// `https://host/prefix/` with exactly one trailing slash; no credentials, no
/// query; `http://` only for a loopback host (a local test server).
pub(crate) fn normalize_clone_base(base: &str) -> Result<String, CheckoutError> {
    let url = url::Url::parse(base).map_err(|_| {
        let shown = if base.contains('@') {
            "(hidden: it contains '@')"
        } else {
            base
        };
        CheckoutError::InvalidCloneBase(shown.to_string())
    })?;
    // The message must not repeat a password someone put in the URL.
    let invalid = || {
        let mut shown = url.clone();
        let _ = shown.set_username("");
        let _ = shown.set_password(None);
        CheckoutError::InvalidCloneBase(shown.to_string())
    };
    // The token travels in a header: plain http only where it cannot leave the machine.
    let loopback = match url.host() {
        Some(url::Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    };
    let plain = (url.scheme() == "https" || (url.scheme() == "http" && loopback))
        && url.has_host()
        && url.username().is_empty()
        && url.password().is_none()
        && url.query().is_none()
        && url.fragment().is_none();
    if !plain {
        return Err(invalid());
    }
    Ok(format!("{}/", url.as_str().trim_end_matches('/')))
}

/// A full SHA-1 commit id, lower-cased.
pub(crate) fn parse_commit(sha: &str) -> Result<gix::ObjectId, CheckoutError> {
    if sha.len() != 40 || !sha.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(CheckoutError::InvalidCommit(sha.to_string()));
    }
    gix::ObjectId::from_hex(sha.to_ascii_lowercase().as_bytes())
        .map_err(|_| CheckoutError::InvalidCommit(sha.to_string()))
}

/// A branch name as `refs/heads/<name>` after checking git's ref-name rules,
/// so it cannot smuggle a refspec (`+`, `:`, `*`) into a fetch.
pub(crate) fn branch_ref(branch: &str) -> Result<String, CheckoutError> {
    let name = branch.strip_prefix("refs/heads/").unwrap_or(branch);
    let full = format!("refs/heads/{name}");
    let valid = !name.is_empty()
        && !name.contains(['*', ':', '?', '[', '\\', '^', '~', ' '])
        && !name.starts_with(['-', '+'])
        && gix::refs::FullName::try_from(full.as_str()).is_ok();
    if valid {
        Ok(full)
    } else {
        Err(CheckoutError::InvalidBranch(branch.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repo_names_that_would_escape_the_data_dir_are_refused() {
        for (owner, name) in [
            ("acme", ".."),
            ("..", "widgets"),
            ("acme", "a/b"),
            ("acme", ""),
            ("ac me", "widgets"),
            ("acme", "widgets\0"),
            ("acme", "wid%2fgets"),
        ] {
            assert!(
                RepoSlug::new(owner, name).is_err(),
                "{owner}/{name} should be refused"
            );
        }
        for (owner, name) in [("acme", ".github"), ("Acme-2", "my_repo.rs"), ("a", "b")] {
            assert!(
                RepoSlug::new(owner, name).is_ok(),
                "{owner}/{name} is valid"
            );
        }
    }

    #[test]
    fn names_differing_only_in_case_share_one_mirror() {
        let layout = Layout {
            data_dir: PathBuf::from("/data"),
        };
        let a = RepoSlug::new("Acme", "Widgets").unwrap();
        let b = RepoSlug::new("acme", "widgets").unwrap();
        assert_eq!(layout.mirror(&a), layout.mirror(&b));
        assert_eq!(a.key(), b.key());
        assert_eq!(
            layout.mirror(&a),
            PathBuf::from("/data/repos/acme/widgets.git")
        );
        assert_eq!(a.full_name(), "Acme/Widgets");
    }

    #[test]
    fn clone_base_gets_one_trailing_slash_and_no_credentials() {
        assert_eq!(
            normalize_clone_base("https://github.com").unwrap(),
            "https://github.com/"
        );
        assert_eq!(
            normalize_clone_base("http://127.0.0.1:8080/git//").unwrap(),
            "http://127.0.0.1:8080/git/"
        );
        assert!(normalize_clone_base("https://x-access-token:secret@github.com/").is_err());
        assert!(normalize_clone_base("ssh://git@github.com/").is_err());
        assert!(
            normalize_clone_base("http://github.example.com/").is_err(),
            "the token must not cross a network in clear text"
        );
        assert!(normalize_clone_base("http://localhost:3000/").is_ok());
        assert!(normalize_clone_base("http://[::1]:3000/").is_ok());
        assert!(normalize_clone_base("github.com").is_err());
    }

    #[test]
    fn only_full_hex_commit_ids_are_accepted() {
        let sha = "0123456789ABCDEF0123456789abcdef01234567";
        assert_eq!(
            parse_commit(sha).unwrap().to_string(),
            sha.to_ascii_lowercase()
        );
        assert!(parse_commit("0123456").is_err());
        assert!(parse_commit("main").is_err());
        assert!(parse_commit(&"g".repeat(40)).is_err());
    }

    #[test]
    fn branch_names_cannot_smuggle_refspecs() {
        assert_eq!(branch_ref("main").unwrap(), "refs/heads/main");
        assert_eq!(
            branch_ref("refs/heads/gitkeeper/12-fix").unwrap(),
            "refs/heads/gitkeeper/12-fix"
        );
        for bad in [
            "",
            "+main",
            "a:b",
            "feature/*",
            "a..b",
            "-x",
            "a b",
            "x.lock",
        ] {
            assert!(branch_ref(bad).is_err(), "{bad:?} should be refused");
        }
    }
}
