//! Every list the bot reads from GitHub is read to its end, page by page,
//! following the `Link` header exactly as the double (like GitHub) sends it;
//! a list longer than the bound is an error, never a silent cut.

use std::sync::Arc;

use gitkeeper_bot::github::{GithubApp, GithubError, Installation};
use gitkeeper_bot::ids::{InstallationId, IssueNumber, RepoId};
use gitkeeper_bot::intent::RepoRef;
use gitkeeper_bot::publish::marker;
use gitkeeper_e2e::github::{GithubDouble, GithubDoubleOptions};
use gitkeeper_e2e::world::github_app;

const INSTALLATION: u64 = 7;
const ISSUE: u64 = 1;

async fn double() -> GithubDouble {
    let gh = GithubDouble::start(GithubDoubleOptions::default()).await;
    gh.add_installation(INSTALLATION, "acme");
    gh.add_repo(INSTALLATION, "acme", "shop").await;
    gh.push_files("acme", "shop", "main", &[("README.md", "# shop\n")], "init")
        .await;
    gh.add_issue("acme", "shop", ISSUE, "Totals", "Fix totals.", "alice");
    gh
}

fn installation(app: &Arc<GithubApp>) -> Installation {
    app.installation(InstallationId(INSTALLATION))
}

fn shop() -> RepoRef {
    RepoRef {
        id: RepoId(1),
        owner: "acme".into(),
        name: "shop".into(),
    }
}

/// The bot's pull request for the issue, then `others` newer ones by people
/// (GitHub lists the newest first, so the bot's is last).
async fn bots_pull_behind(gh: &GithubDouble, others: usize) -> u64 {
    let main = gh.branch_sha("acme", "shop", "main").await.unwrap();
    let bots_branch = "gitkeeper/1-totals";
    gh.git(
        "acme",
        "shop",
        &["update-ref", &format!("refs/heads/{bots_branch}"), &main],
    )
    .await;
    let bots = gh.add_pull(
        "acme",
        "shop",
        bots_branch,
        "Totals",
        &format!("Fixes totals.\n\n{}", marker(IssueNumber(ISSUE))),
        &gh.bot_login(),
    );
    for i in 0..others {
        let branch = format!("feature/{i}");
        gh.git(
            "acme",
            "shop",
            &["update-ref", &format!("refs/heads/{branch}"), &main],
        )
        .await;
        gh.add_pull("acme", "shop", &branch, &format!("Feature {i}"), "", "bob");
    }
    bots
}

/// The `page` query values of the pull-request list calls, in order.
fn pull_list_pages(gh: &GithubDouble) -> Vec<String> {
    gh.requests_matching("GET", "/repos/acme/shop/pulls")
        .into_iter()
        .map(|r| r.query.unwrap_or_default())
        .collect()
}

#[tokio::test]
async fn the_bots_pull_request_is_found_on_the_second_page_of_150() {
    let gh = double().await;
    let bots = bots_pull_behind(&gh, 150).await;
    let app = github_app(&gh);
    let found = installation(&app)
        .open_pull_for_issue(&shop(), IssueNumber(ISSUE))
        .await
        .unwrap()
        .expect("the bot's pull request is on page 2");
    assert_eq!(found.number.0, bots);
    assert_eq!(found.head.branch, "gitkeeper/1-totals");
    assert_eq!(
        pull_list_pages(&gh),
        ["state=open&per_page=100", "state=open&per_page=100&page=2"],
        "page 2 is read from GitHub's next link, which keeps the filter"
    );
    // By branch as well (GitHub filters by head, so one page).
    let by_branch = installation(&app)
        .open_pull_for_branch(&shop(), "gitkeeper/1-totals")
        .await
        .unwrap();
    assert_eq!(by_branch.map(|p| p.number.0), Some(bots));
}

#[tokio::test]
async fn a_list_longer_than_the_bound_fails_closed() {
    let gh = double().await;
    bots_pull_behind(&gh, 150).await;
    let app = github_app(&gh).with_max_pages(1);
    let err = installation(&app)
        .open_pull_for_issue(&shop(), IssueNumber(ISSUE))
        .await
        .unwrap_err();
    assert!(matches!(err, GithubError::TooManyPages { .. }), "{err}");
    assert!(!err.is_transient());
    let text = err.to_string();
    assert!(text.contains("repos/acme/shop/pulls?state=open"), "{text}");
    assert!(text.contains("does not act on part of a list"), "{text}");
}

#[tokio::test]
async fn the_bots_comment_is_found_past_the_first_hundred() {
    let gh = double().await;
    for i in 0..130 {
        gh.add_comment("acme", "shop", ISSUE, "bob", &format!("+1 ({i})"));
    }
    // A person quoting the marker does not count; the App's comment does.
    let status = "<!-- gitkeeper:job=9 -->";
    gh.add_comment("acme", "shop", ISSUE, "mallory", &format!("fake {status}"));
    let bots = gh.add_comment(
        "acme",
        "shop",
        ISSUE,
        &gh.bot_login(),
        &format!("Working on it\n\n{status}"),
    );
    let app = github_app(&gh);
    let found = installation(&app)
        .find_comment(&shop(), IssueNumber(ISSUE), status)
        .await
        .unwrap()
        .expect("the status comment is on page 2");
    assert_eq!(found.id.0, bots);

    // Upserting edits it instead of adding a second status comment.
    installation(&app)
        .upsert_comment(&shop(), IssueNumber(ISSUE), status, "Done")
        .await
        .unwrap();
    let mine: Vec<_> = gh
        .comments("acme", "shop", ISSUE)
        .into_iter()
        .filter(|c| c.author == gh.bot_login())
        .collect();
    assert_eq!(mine.len(), 1, "{mine:#?}");
    assert!(mine[0].body.starts_with("Done"), "{mine:#?}");
}

#[tokio::test]
async fn the_double_paginates_pull_requests_like_github() {
    let gh = double().await;
    bots_pull_behind(&gh, 44).await;
    let app = github_app(&gh);
    // Read through the bot's own client so the request is what the bot sends.
    let token = app
        .installation_token(InstallationId(INSTALLATION))
        .await
        .unwrap();
    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    let get = |query: &str| {
        let request = client
            .get(format!("{}repos/acme/shop/pulls{query}", gh.url()))
            .header(
                "authorization",
                format!("token {}", secrecy::ExposeSecret::expose_secret(&token)),
            )
            .header("user-agent", "gitkeeper-e2e");
        async move { request.send().await.unwrap() }
    };
    let first = get("?state=open").await;
    let url = format!("{}repos/acme/shop/pulls", gh.url());
    assert_eq!(
        first.headers()["link"].to_str().unwrap(),
        format!("<{url}?state=open&page=2>; rel=\"next\", <{url}?state=open&page=2>; rel=\"last\"")
    );
    let items: serde_json::Value = first.json().await.unwrap();
    assert_eq!(
        items.as_array().unwrap().len(),
        30,
        "GitHub's default page is 30"
    );
    let second: serde_json::Value = get("?state=open&page=2").await.json().await.unwrap();
    assert_eq!(second.as_array().unwrap().len(), 15);
    let capped = get("?per_page=1000").await;
    assert!(capped.headers().get("link").is_none());
    let all: serde_json::Value = capped.json().await.unwrap();
    assert_eq!(
        all.as_array().unwrap().len(),
        45,
        "per_page is capped at 100"
    );
}
