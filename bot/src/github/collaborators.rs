//! A person's role on a repository, for deciding who may start work.

use http::Method;
use serde::Deserialize;

use super::GithubError;
use super::client::Installation;
use crate::config::RepoRole;
use crate::intent::RepoRef;

#[derive(Deserialize)]
struct PermissionAnswer {
    /// Coarse: admin, write, read, none (maintain folds into write, triage into read).
    permission: String,
    /// Fine: admin, maintain, write, triage, read, or a custom role's name.
    #[serde(default)]
    role_name: Option<String>,
}

fn role_from(name: &str) -> Option<RepoRole> {
    Some(match name {
        "admin" => RepoRole::Admin,
        "maintain" => RepoRole::Maintain,
        "write" => RepoRole::Write,
        "triage" => RepoRole::Triage,
        "read" => RepoRole::Read,
        "none" => RepoRole::None,
        _ => return None,
    })
}

impl Installation {
    /// `login`'s role on `repo` (a custom role counts as its coarse permission).
    pub async fn role_of(&self, repo: &RepoRef, login: &str) -> Result<RepoRole, GithubError> {
        let path = format!(
            "repos/{}/{}/collaborators/{login}/permission",
            repo.owner, repo.name
        );
        let answer: PermissionAnswer = self.call(Method::GET, &path, None).await?.json(&path)?;
        Ok(answer
            .role_name
            .as_deref()
            .and_then(role_from)
            .or_else(|| role_from(&answer.permission))
            .unwrap_or(RepoRole::None))
    }
}
