//! JSON bodies in the shapes GitHub returns (field names and types from the
//! REST OpenAPI description). URLs point at the double's own origin, the way a
//! GitHub Enterprise server answers with its own host.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Value, json};

use super::state::{
    App, Comment, GithubState, Issue, Repo, RepoKey, StoredReaction, User, UserKind,
};

/// GitHub's timestamp format: RFC 3339, whole seconds, `Z`.
pub(crate) fn timestamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// A global node id in GitHub's newer style (`PREFIX_` + opaque base64).
pub(crate) fn node_id(prefix: &str, id: u64) -> String {
    format!(
        "{prefix}_{}",
        STANDARD.encode(format!("gitkeeper-double:{id}"))
    )
}

/// The `simple-user` schema.
pub(crate) fn user(origin: &str, user: &User) -> Value {
    let login = &user.login;
    let api = format!(
        "{origin}/users/{}",
        login.replace('[', "%5B").replace(']', "%5D")
    );
    let (kind, html_url, prefix) = match user.kind {
        UserKind::User => ("User", format!("{origin}/{login}"), "U"),
        UserKind::Bot => (
            "Bot",
            format!("{origin}/apps/{}", login.trim_end_matches("[bot]")),
            "BOT",
        ),
    };
    json!({
        "login": login,
        "id": user.id,
        "node_id": node_id(prefix, user.id),
        "avatar_url": format!("{origin}/avatars/u/{}?v=4", user.id),
        "gravatar_id": "",
        "url": api,
        "html_url": html_url,
        "followers_url": format!("{api}/followers"),
        "following_url": format!("{api}/following{{/other_user}}"),
        "gists_url": format!("{api}/gists{{/gist_id}}"),
        "starred_url": format!("{api}/starred{{/owner}}{{/repo}}"),
        "subscriptions_url": format!("{api}/subscriptions"),
        "organizations_url": format!("{api}/orgs"),
        "repos_url": format!("{api}/repos"),
        "events_url": format!("{api}/events{{/privacy}}"),
        "received_events_url": format!("{api}/received_events"),
        "type": kind,
        "user_view_type": "public",
        "site_admin": false,
    })
}

/// The `integration` schema (GET /app, `performed_via_github_app`).
pub(crate) fn app(origin: &str, st: &mut GithubState) -> Value {
    let owner = st.user(&st.app.owner.clone());
    let App {
        id,
        slug,
        name,
        client_id,
        permissions,
        events,
        created_at,
        ..
    } = &st.app;
    json!({
        "id": id,
        "slug": slug,
        "node_id": node_id("A", *id),
        "client_id": client_id,
        "owner": user(origin, &owner),
        "name": name,
        "description": "",
        "external_url": format!("{origin}/"),
        "html_url": format!("{origin}/apps/{slug}"),
        "created_at": timestamp(*created_at),
        "updated_at": timestamp(*created_at),
        "permissions": permissions,
        "events": events,
        "installations_count": st.installations.len(),
    })
}

fn repo_api(origin: &str, repo: &Repo) -> String {
    format!("{origin}/repos/{}/{}", repo.owner, repo.name)
}

fn repo_html(origin: &str, repo: &Repo) -> String {
    format!("{origin}/{}/{}", repo.owner, repo.name)
}

/// The `reaction-rollup` schema for an issue or comment.
fn reaction_rollup(
    st: &GithubState,
    key: &RepoKey,
    target: super::ReactionTarget,
    url: &str,
) -> Value {
    let mut rollup = json!({ "url": url, "total_count": 0 });
    for content in super::reactions::CONTENTS {
        rollup[content] = json!(0);
    }
    for reaction in st
        .reactions
        .iter()
        .filter(|r| &r.repo == key && r.target == target)
    {
        let count = rollup[reaction.content.as_str()].as_u64().unwrap_or(0);
        rollup[reaction.content.as_str()] = json!(count + 1);
        let total = rollup["total_count"].as_u64().unwrap_or(0);
        rollup["total_count"] = json!(total + 1);
    }
    rollup
}

/// The `issue-comment` schema.
pub(crate) fn comment(origin: &str, st: &mut GithubState, comment: &Comment) -> Value {
    let author = st.user(&comment.author);
    let via_app = if author.kind == UserKind::Bot {
        app(origin, st)
    } else {
        Value::Null
    };
    let repo = &st.repos[&comment.repo];
    let api = repo_api(origin, repo);
    let url = format!("{api}/issues/comments/{}", comment.id);
    json!({
        "id": comment.id,
        "node_id": node_id("IC", comment.id),
        "url": url,
        "html_url": format!("{}/issues/{}#issuecomment-{}", repo_html(origin, repo), comment.issue_number, comment.id),
        "body": comment.body,
        "user": user(origin, &author),
        "created_at": timestamp(comment.created_at),
        "updated_at": timestamp(comment.updated_at),
        "issue_url": format!("{api}/issues/{}", comment.issue_number),
        "author_association": st.author_association(&comment.repo, &comment.author),
        "performed_via_github_app": via_app,
        "reactions": reaction_rollup(st, &comment.repo, super::ReactionTarget::Comment(comment.id), &format!("{url}/reactions")),
        "pin": null,
    })
}

/// The `reaction` schema.
pub(crate) fn reaction(origin: &str, st: &mut GithubState, reaction: &StoredReaction) -> Value {
    let author = st.user(&reaction.user);
    json!({
        "id": reaction.id,
        "node_id": node_id("REA", reaction.id),
        "user": user(origin, &author),
        "content": reaction.content,
        "created_at": timestamp(reaction.created_at),
    })
}

/// The `issue` schema.
pub(crate) fn issue(origin: &str, st: &mut GithubState, key: &RepoKey, issue: &Issue) -> Value {
    let author = st.user(&issue.author);
    let comments = st
        .comments
        .values()
        .filter(|c| &c.repo == key && c.issue_number == issue.number)
        .count();
    let repo = &st.repos[key];
    let labels: Vec<Value> = repo
        .labels
        .get(&issue.number)
        .into_iter()
        .flatten()
        .map(|name| json!({"name": name, "color": "ededed", "default": false}))
        .collect();
    let api = repo_api(origin, repo);
    let url = format!("{api}/issues/{}", issue.number);
    let pull = issue
        .pull_request
        .then(|| repo.pulls.get(&issue.number))
        .flatten();
    let (title, body) = match pull {
        Some(p) => (p.title.clone(), p.body.clone()),
        None => (issue.title.clone(), issue.body.clone()),
    };
    let pull_request = pull.map(|p| {
        json!({
            "url": format!("{api}/pulls/{}", p.number),
            "html_url": format!("{}/pull/{}", repo_html(origin, repo), p.number),
        })
    });
    let mut shape = json!({
        "id": issue.id,
        "node_id": node_id("I", issue.id),
        "url": url,
        "repository_url": api,
        "labels_url": format!("{url}/labels{{/name}}"),
        "comments_url": format!("{url}/comments"),
        "events_url": format!("{url}/events"),
        "timeline_url": format!("{url}/timeline"),
        "html_url": format!("{}/issues/{}", repo_html(origin, repo), issue.number),
        "number": issue.number,
        "state": "open",
        "state_reason": null,
        "title": title,
        "body": body,
        "user": user(origin, &author),
        "labels": labels,
        "assignee": null,
        "assignees": [],
        "milestone": null,
        "locked": false,
        "active_lock_reason": null,
        "comments": comments,
        "closed_at": null,
        "closed_by": null,
        "created_at": timestamp(issue.created_at),
        "updated_at": timestamp(issue.created_at),
        "author_association": st.author_association(key, &issue.author),
        "reactions": reaction_rollup(st, key, super::ReactionTarget::Issue(issue.number), &format!("{url}/reactions")),
    });
    if let Some(pull_request) = pull_request {
        shape["pull_request"] = pull_request;
    }
    shape
}
