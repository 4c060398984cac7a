//! The bare mirror of one repository: created on first use, then fetched
//! (every branch, plus the one ref a job wants; no tags) with the
//! installation token handed to gix through a credentials callback.
//!
//! Must never: put the token in a URL, in the mirror's config or in any
//! message; write the mirror without holding its lock (the caller's job);
//! read the machine's or the user's git configuration (mirrors are opened
//! isolated, so no credential helper, `insteadOf` or hook applies).

use std::path::Path;
use std::sync::atomic::AtomicBool;

use gix::bstr::ByteSlice as _;
use gix::protocol::handshake::Ref;
use gix::remote::Direction;
use secrecy::{ExposeSecret as _, SecretString};

use super::Want;
use super::error::{self, CheckoutError};
use super::paths::{RepoSlug, branch_ref, parse_commit};

/// The user name GitHub expects alongside an installation token.
const TOKEN_USER: &str = "x-access-token";

/// Every branch, kept under its own name as in `git clone --mirror`.
const BRANCHES: &str = "+refs/heads/*:refs/heads/*";

/// What a want came to on the server: the commit and the branch it is on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Resolved {
    pub commit: gix::ObjectId,
    pub branch: Option<String>,
}

/// One repository's mirror on disk and where it is fetched from.
pub(crate) struct Mirror<'a> {
    pub slug: &'a RepoSlug,
    pub path: &'a Path,
    pub url: &'a str,
}

impl Mirror<'_> {
    /// Open the mirror, creating it if missing or unusable. Caller holds the lock.
    pub fn open_or_init(&self) -> Result<gix::Repository, CheckoutError> {
        if self.path.exists() {
            match gix::open_opts(self.path, open_options()) {
                Ok(repo) => {
                    remove_stale_lock_files(self.path);
                    return Ok(repo);
                }
                Err(error) => {
                    // A mirror is only a cache: a damaged one (e.g. a crash
                    // during its creation) is thrown away and made anew.
                    tracing::warn!(
                        repo = %self.slug.full_name(),
                        path = %self.path.display(),
                        %error,
                        "mirror is unusable; recreating it"
                    );
                    std::fs::remove_dir_all(self.path).map_err(|e| {
                        CheckoutError::io("remove the damaged mirror", self.path, e)
                    })?;
                }
            }
        }
        let parent = self.path.parent().unwrap_or(self.path);
        std::fs::create_dir_all(parent).map_err(|e| CheckoutError::io("create", parent, e))?;
        // Build it beside the final path and rename, so a half-made mirror is
        // never seen; a leftover from a crash is ours to replace (we hold the lock).
        let file_name = self.path.file_name().unwrap_or_default().to_string_lossy();
        let repo_dir = parent.join(format!(".{file_name}.init"));
        if repo_dir.exists() {
            std::fs::remove_dir_all(&repo_dir)
                .map_err(|e| CheckoutError::io("remove a half-made mirror", &repo_dir, e))?;
        }
        gix::ThreadSafeRepository::init_opts(
            &repo_dir,
            gix::create::Kind::Bare,
            gix::create::Options::default(),
            open_options(),
        )
        .map_err(|source| self.git_error("creating the mirror", source))?;
        std::fs::rename(&repo_dir, self.path)
            .map_err(|e| CheckoutError::io("move the new mirror to", self.path, e))?;
        gix::open_opts(self.path, open_options())
            .map_err(|source| self.git_error("opening the new mirror", source))
    }

    /// Fetch what `want` needs and say which commit it names.
    pub fn fetch(
        &self,
        repo: &gix::Repository,
        token: &SecretString,
        want: &Want,
        interrupt: &AtomicBool,
    ) -> Result<Resolved, CheckoutError> {
        let mut refspecs = vec!["HEAD".to_string(), BRANCHES.to_string()];
        let wanted_ref = match want {
            Want::DefaultBranch => None,
            Want::Branch(branch) => Some(branch_ref(branch)?),
            Want::PullHead(number) => {
                let name = format!("refs/pull/{number}/head");
                refspecs.push(format!("+{name}:{name}"));
                Some(name)
            }
            Want::Commit(sha) => {
                parse_commit(sha)?;
                None
            }
        };

        let resolved = self.fetch_refspecs(repo, token, &refspecs, interrupt, |refs| {
            self.resolve(want, wanted_ref.as_deref(), refs)
        })?;
        let resolved = match resolved {
            Some(resolved) => resolved,
            None => {
                // A commit on no branch: ask for it by id (GitHub serves any reachable commit).
                let Want::Commit(sha) = want else {
                    unreachable!("only a commit want resolves after the fetch")
                };
                let id = parse_commit(sha)?;
                if !has_commit(repo, id) {
                    let fetched =
                        self.fetch_refspecs(repo, token, &[id.to_string()], interrupt, |_| {
                            Ok(None)
                        });
                    match fetched {
                        Ok(_) => {}
                        Err(
                            e @ (CheckoutError::AuthRefused { .. }
                            | CheckoutError::RepoNotFound { .. }
                            | CheckoutError::Network { .. }
                            | CheckoutError::DiskFull { .. }
                            | CheckoutError::Cancelled { .. }),
                        ) => return Err(e),
                        Err(_) => {}
                    }
                }
                if !has_commit(repo, id) {
                    return Err(CheckoutError::CommitNotFound {
                        repo: self.slug.full_name(),
                        sha: sha.clone(),
                    });
                }
                Resolved {
                    commit: id,
                    branch: None,
                }
            }
        };
        if !has_commit(repo, resolved.commit) {
            return Err(CheckoutError::Git {
                repo: self.slug.full_name(),
                doing: "reading the fetched commit",
                source: gix::error::ErrorExt::raise(gix::error::message!(
                    "the server advertised {} but did not send it",
                    resolved.commit
                )),
            });
        }
        Ok(resolved)
    }

    /// Run one fetch with `refspecs`. `check` sees the server's refs before any
    /// pack is downloaded and may stop the fetch with an error; its `Some`
    /// answer is returned after the pack is in.
    fn fetch_refspecs(
        &self,
        repo: &gix::Repository,
        token: &SecretString,
        refspecs: &[String],
        interrupt: &AtomicBool,
        check: impl FnOnce(&[Ref]) -> Result<Option<Resolved>, CheckoutError>,
    ) -> Result<Option<Resolved>, CheckoutError> {
        let classify = |source: gix::Error| {
            error::classify(
                source,
                error::Remote {
                    repo: &self.slug.full_name(),
                    url: self.url,
                    local: self.path,
                    doing: "fetching",
                },
            )
        };
        // An anonymous remote: nothing about it (URL included) is saved in the mirror's config.
        let remote = repo
            .remote_at(self.url)
            .and_then(|r| r.with_refspecs(refspecs.iter().map(String::as_str), Direction::Fetch))
            .map_err(|source| self.git_error("setting up the remote", source))?
            .with_fetch_tags(gix::remote::fetch::Tags::None);
        let connection = remote
            .connect(Direction::Fetch)
            .map_err(classify)?
            .with_credentials(|action| {
                use gix::credentials::helper::Action;
                Ok(match action {
                    Action::Get(context) => Some(gix::credentials::protocol::Outcome {
                        identity: gix::sec::identity::Account {
                            username: TOKEN_USER.to_string(),
                            password: token.expose_secret().to_string(),
                            oauth_refresh_token: None,
                        },
                        next: context.into(),
                    }),
                    // Nothing is ever stored, so there is nothing to erase either.
                    Action::Store(_) | Action::Erase(_) => None,
                })
            });
        let prepare = connection
            .prepare_fetch(gix::progress::Discard, Default::default())
            .map_err(classify)?;
        let resolved = check(&prepare.ref_map().remote_refs)?;
        let has_wants = !prepare.ref_map().mappings.is_empty();
        if has_wants {
            prepare
                .with_write_packed_refs_only(true)
                .receive(gix::progress::Discard, interrupt)
                .map_err(classify)?;
        }
        Ok(resolved)
    }

    /// Find what `want` names among the server's refs. `Ok(None)` for a commit
    /// id, which is only known after the fetch.
    fn resolve(
        &self,
        want: &Want,
        wanted_ref: Option<&str>,
        refs: &[Ref],
    ) -> Result<Option<Resolved>, CheckoutError> {
        let repo = self.slug.full_name();
        let find = |name: &str| {
            refs.iter().find_map(|r| {
                let (full_name, target, peeled) = r.unpack();
                (full_name == name.as_bytes().as_bstr())
                    .then(|| peeled.or(target).map(ToOwned::to_owned))
                    .flatten()
            })
        };
        match want {
            Want::DefaultBranch => {
                let head = refs.iter().find(|r| r.unpack().0 == "HEAD");
                match head {
                    Some(Ref::Symbolic { target, object, .. }) => Ok(Some(Resolved {
                        commit: *object,
                        branch: target
                            .strip_prefix(b"refs/heads/")
                            .map(|b| b.to_str_lossy().into_owned()),
                    })),
                    Some(Ref::Direct { object, .. } | Ref::Peeled { object, .. }) => {
                        Ok(Some(Resolved {
                            commit: *object,
                            branch: None,
                        }))
                    }
                    Some(Ref::Unborn { .. }) | None => Err(CheckoutError::EmptyRepository { repo }),
                }
            }
            Want::Branch(branch) => {
                let name = wanted_ref.expect("a branch want has a ref");
                match find(name) {
                    Some(commit) => Ok(Some(Resolved {
                        commit,
                        branch: Some(name["refs/heads/".len()..].to_string()),
                    })),
                    None => Err(CheckoutError::BranchNotFound {
                        repo,
                        branch: branch.clone(),
                    }),
                }
            }
            Want::PullHead(number) => {
                let name = wanted_ref.expect("a pull request want has a ref");
                match find(name) {
                    Some(commit) => Ok(Some(Resolved {
                        commit,
                        branch: None,
                    })),
                    None => Err(CheckoutError::PullHeadNotFound {
                        repo,
                        number: number.0,
                    }),
                }
            }
            Want::Commit(_) => Ok(None),
        }
    }

    fn git_error(&self, doing: &'static str, source: gix::Error) -> CheckoutError {
        CheckoutError::Git {
            repo: self.slug.full_name(),
            doing,
            source,
        }
    }
}

/// Mirrors see only their own config: not the machine's, the user's or the
/// environment's (no credential helpers, URL rewrites or proxies from there).
fn open_options() -> gix::open::Options {
    gix::open::Options::isolated().config_overrides([concat!(
        "gitoxide.userAgent=gitkeeper/",
        env!("CARGO_PKG_VERSION")
    )])
}

fn has_commit(repo: &gix::Repository, id: gix::ObjectId) -> bool {
    repo.find_commit(id).is_ok()
}

/// gix writes refs and `packed-refs` through `*.lock` files that a killed
/// process leaves behind; with the mirror lock held, any that exist are stale
/// and would make every later fetch fail.
fn remove_stale_lock_files(mirror: &Path) {
    fn sweep(dir: &Path, recurse: bool) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let Ok(kind) = entry.file_type() else {
                continue;
            };
            if kind.is_dir() && recurse {
                sweep(&path, true);
            } else if kind.is_file() && path.extension().is_some_and(|e| e == "lock") {
                tracing::warn!(path = %path.display(), "removing a stale git lock file");
                let _ = std::fs::remove_file(&path);
            }
        }
    }
    sweep(mirror, false);
    sweep(&mirror.join("refs"), true);
}
