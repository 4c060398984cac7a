//! Why a checkout failed, in words that name the fix, and the one place that
//! reads gix's error tree to tell an auth failure from a missing repository,
//! a full disk or a network fault. Messages never carry the token.

use std::path::PathBuf;
use std::time::Duration;

/// A checkout that could not be completed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CheckoutError {
    #[error(
        "the installation token was refused by {url}: is the App installed on {repo} with contents permission?"
    )]
    AuthRefused {
        repo: String,
        url: String,
        #[source]
        source: gix::Error,
    },
    #[error(
        "{repo} was not found at {url}: was it renamed or deleted, or is the App not installed on it? (GitHub answers 404 for repositories a token cannot see)"
    )]
    RepoNotFound {
        repo: String,
        url: String,
        #[source]
        source: gix::Error,
    },
    #[error("branch {branch} not found in {repo}: was it deleted or renamed?")]
    BranchNotFound { repo: String, branch: String },
    #[error(
        "pull request #{number} has no head ref (refs/pull/{number}/head) in {repo}: is the number right?"
    )]
    PullHeadNotFound { repo: String, number: u64 },
    #[error(
        "commit {sha} not found in {repo}: it is on no branch the server offers (force-pushed away?)"
    )]
    CommitNotFound { repo: String, sha: String },
    #[error("{repo} has no commits yet: push a first commit to its default branch")]
    EmptyRepository { repo: String },
    #[error(
        "the disk is full while writing {path}: free space under the data dir or point [data] dir elsewhere"
    )]
    DiskFull {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "could not reach {url} for {repo}: check the network, proxy and [github] clone base (will be retried)"
    )]
    Network {
        repo: String,
        url: String,
        #[source]
        source: gix::Error,
    },
    #[error(
        "fetching {repo} from {url} took longer than {after:?}: the server or network is too slow (will be retried)"
    )]
    Timeout {
        repo: String,
        url: String,
        after: Duration,
    },
    #[error("the checkout of {repo} was cancelled")]
    Cancelled { repo: String },
    #[error(
        "{owner}/{name} is not a valid GitHub repository name: only letters, digits, '-', '_' and '.' are allowed"
    )]
    InvalidRepoName { owner: String, name: String },
    #[error("{0:?} is not a full 40-character hexadecimal commit id")]
    InvalidCommit(String),
    #[error("branch name {0:?} is not a valid git ref name")]
    InvalidBranch(String),
    #[error(
        "clone base {0:?} must be an https URL without credentials, like https://github.com/ (http only for localhost)"
    )]
    InvalidCloneBase(String),
    #[error("git failed while {doing} in {repo}")]
    Git {
        repo: String,
        doing: &'static str,
        #[source]
        source: gix::Error,
    },
    #[error("could not {doing} {path}")]
    Io {
        doing: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the checkout worker stopped unexpectedly: {0}")]
    Worker(#[source] tokio::task::JoinError),
}

impl CheckoutError {
    /// True when running the job again later may succeed without anyone changing anything.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            CheckoutError::Network { .. } | CheckoutError::Timeout { .. }
        )
    }

    /// An I/O failure on a local path, as `DiskFull` when the disk is full.
    pub(crate) fn io(
        doing: &'static str,
        path: impl Into<PathBuf>,
        source: std::io::Error,
    ) -> Self {
        let path = path.into();
        if is_disk_full(&source) {
            CheckoutError::DiskFull { path, source }
        } else {
            CheckoutError::Io {
                doing,
                path,
                source,
            }
        }
    }
}

/// What a failed network operation is about, for [`classify`].
pub(crate) struct Remote<'a> {
    pub repo: &'a str,
    pub url: &'a str,
    /// Where the data was being written, for a full disk.
    pub local: &'a std::path::Path,
    pub doing: &'static str,
}

/// Turn a gix error from talking to the server (or writing what it sent) into
/// the cause a maintainer can act on.
pub(crate) fn classify(err: gix::Error, at: Remote<'_>) -> CheckoutError {
    let repo = at.repo.to_string();
    let url = at.url.to_string();

    if let Some(io) = err
        .iter_errors()
        .filter_map(|e| e.downcast_ref::<std::io::Error>())
        .find(|io| is_disk_full(io))
    {
        return CheckoutError::DiskFull {
            path: at.local.to_path_buf(),
            source: std::io::Error::new(io.kind(), io.to_string()),
        };
    }

    let http_status = err
        .iter_errors()
        .filter_map(|e| e.downcast_ref::<reqwest::Error>())
        .find_map(reqwest::Error::status);
    let challenged = err
        .downcast_any_ref::<gix::protocol::transport::client::AuthenticationRequired>()
        .is_some();
    match http_status.map(|s| s.as_u16()) {
        Some(401 | 403) => {
            return CheckoutError::AuthRefused {
                repo,
                url,
                source: err,
            };
        }
        Some(404) => {
            return CheckoutError::RepoNotFound {
                repo,
                url,
                source: err,
            };
        }
        _ => {}
    }
    if challenged || err.is_unauthenticated() {
        return CheckoutError::AuthRefused {
            repo,
            url,
            source: err,
        };
    }
    if err.is_cancelled() {
        return CheckoutError::Cancelled { repo };
    }
    if is_network(&err) || http_status.is_some_and(|s| s.is_server_error()) {
        return CheckoutError::Network {
            repo,
            url,
            source: err,
        };
    }
    CheckoutError::Git {
        repo,
        doing: at.doing,
        source: err,
    }
}

/// A failure of the connection rather than of the repository: refused,
/// reset, timed out, DNS, TLS, or a server error gix marks as retryable.
fn is_network(err: &gix::Error) -> bool {
    use std::io::ErrorKind::*;
    let transport = err.iter_errors().any(|e| {
        if let Some(e) = e.downcast_ref::<reqwest::Error>() {
            return e.is_connect() || e.is_timeout() || e.is_request() || e.is_body();
        }
        e.downcast_ref::<std::io::Error>().is_some_and(|io| {
            matches!(
                io.kind(),
                ConnectionRefused
                    | ConnectionReset
                    | ConnectionAborted
                    | NotConnected
                    | TimedOut
                    | BrokenPipe
                    | UnexpectedEof
                    | HostUnreachable
                    | NetworkUnreachable
                    | NetworkDown
            )
        })
    });
    transport || err.is_retryable()
}

/// ENOSPC or a quota: the same remedy, make room.
pub(crate) fn is_disk_full(err: &std::io::Error) -> bool {
    const ENOSPC: i32 = 28;
    const EDQUOT: i32 = 122;
    matches!(
        err.kind(),
        std::io::ErrorKind::StorageFull | std::io::ErrorKind::QuotaExceeded
    ) || (cfg!(target_os = "linux") && matches!(err.raw_os_error(), Some(ENOSPC | EDQUOT)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use gix::error::{ErrorExt as _, ResultExt as _};

    fn at() -> Remote<'static> {
        Remote {
            repo: "acme/widgets",
            url: "https://github.com/acme/widgets.git",
            local: std::path::Path::new("/data/repos/acme/widgets.git"),
            doing: "fetching",
        }
    }

    #[test]
    fn a_full_disk_deep_in_the_chain_is_disk_full() {
        let err = Err::<(), _>(std::io::Error::from_raw_os_error(28))
            .or_raise(|| gix::error::message("Failed to write pack"))
            .expect_err("an error");
        let err = err.and_raise(gix::error::message("fetch failed"));
        let classified = classify(err, at());
        assert!(
            matches!(classified, CheckoutError::DiskFull { .. }),
            "{classified:?}"
        );
        assert!(classified.to_string().contains("disk is full"));
    }

    #[test]
    fn an_io_error_on_a_local_path_keeps_its_cause_unless_the_disk_is_full() {
        let full = CheckoutError::io(
            "create",
            "/data/work/1",
            std::io::Error::from(std::io::ErrorKind::StorageFull),
        );
        assert!(matches!(full, CheckoutError::DiskFull { .. }));
        let denied = CheckoutError::io(
            "create",
            "/data/work/1",
            std::io::Error::from(std::io::ErrorKind::PermissionDenied),
        );
        assert!(matches!(denied, CheckoutError::Io { .. }));
    }

    #[test]
    fn a_refused_connection_is_a_transient_network_error() {
        let err = Err::<(), _>(std::io::Error::from(std::io::ErrorKind::ConnectionRefused))
            .or_raise(|| gix::error::message("Transport handshake failed"))
            .expect_err("an error");
        let classified = classify(err, at());
        assert!(
            matches!(classified, CheckoutError::Network { .. }),
            "{classified:?}"
        );
        assert!(classified.is_transient());
    }

    #[test]
    fn an_unclassified_failure_says_what_git_was_doing() {
        let err = gix::error::message("bad pack").raise();
        let classified = classify(err, at());
        assert_eq!(
            classified.to_string(),
            "git failed while fetching in acme/widgets"
        );
        assert!(!classified.is_transient());
    }
}
