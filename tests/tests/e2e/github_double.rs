//! The GitHub double itself, tested the way the bot will use it: real HTTP with
//! reqwest, real `git clone`/`git push` over smart HTTP. If these pass, the
//! double refuses what GitHub refuses and answers in GitHub's shapes.

use std::path::Path;
use std::process::Stdio;
use std::sync::Once;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use gitkeeper_e2e::github::{
    Failure, GithubDouble, GithubDoubleOptions, Permission, ReactionTarget, mint_app_jwt,
    other_test_key_path, sign_jwt, test_app_key_path,
};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

const INSTALLATION: u64 = 7;
const OTHER_INSTALLATION: u64 = 8;

fn client() -> reqwest::Client {
    static PROVIDER: Once = Once::new();
    PROVIDER.call_once(|| {
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
    reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(20))
        .build()
        .expect("reqwest client")
}

/// A double with installation 7 on `acme` (repos `widgets`, `gadgets`, issue
/// widgets#1) and installation 8 on `other` (repo `secret`, issue secret#1).
async fn github() -> GithubDouble {
    let github = GithubDouble::start(GithubDoubleOptions::default()).await;
    github.add_installation(INSTALLATION, "acme");
    github.add_installation(OTHER_INSTALLATION, "other");
    github.add_repo(INSTALLATION, "acme", "widgets").await;
    github.add_repo(INSTALLATION, "acme", "gadgets").await;
    github.add_repo(OTHER_INSTALLATION, "other", "secret").await;
    github.add_issue(
        "acme",
        "widgets",
        1,
        "Add a button",
        "Please add a button.",
        "alice",
    );
    github.add_issue("other", "secret", 1, "Hidden", "Not for acme.", "mallory");
    github
}

/// Send a request; `auth` is a full `Authorization` value.
async fn send(
    github: &GithubDouble,
    method: Method,
    path: &str,
    auth: Option<&str>,
    body: Option<Value>,
) -> reqwest::Response {
    let url = format!("{}{}", github.url(), path.trim_start_matches('/'));
    let mut request = client()
        .request(method, url)
        .header("accept", "application/vnd.github+json")
        .header("user-agent", "gitkeeper-e2e");
    if let Some(auth) = auth {
        request = request.header("authorization", auth);
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    request.send().await.expect("request to the double")
}

async fn json_of(response: reqwest::Response) -> Value {
    response.json().await.expect("JSON body")
}

/// Get an installation token the way the bot does: App JWT → access_tokens.
async fn installation_token(github: &GithubDouble, installation: u64) -> String {
    let response = send(
        github,
        Method::POST,
        &format!("/app/installations/{installation}/access_tokens"),
        Some(&format!("Bearer {}", mint_app_jwt(github.app_id()))),
        None,
    )
    .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    json_of(response).await["token"]
        .as_str()
        .unwrap()
        .to_string()
}

async fn token_request(github: &GithubDouble, jwt: &str) -> (StatusCode, Value) {
    let response = send(
        github,
        Method::POST,
        &format!("/app/installations/{INSTALLATION}/access_tokens"),
        Some(&format!("Bearer {jwt}")),
        None,
    )
    .await;
    (response.status(), json_of(response).await)
}

fn now() -> i64 {
    Utc::now().timestamp()
}

fn assert_github_error(body: &Value, message: &str) {
    assert_eq!(body["message"], message, "body: {body}");
    assert!(
        body["documentation_url"]
            .as_str()
            .is_some_and(|u| u.starts_with("https://docs.github.com/")),
        "body: {body}"
    );
}

// ---------- App JWT and installation tokens ----------

#[tokio::test]
async fn valid_jwt_gets_an_installation_token_that_expires_in_an_hour() {
    let github = github().await;
    let (status, body) = token_request(&github, &mint_app_jwt(github.app_id())).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let token = body["token"].as_str().unwrap();
    assert!(token.starts_with("ghs_") && token.len() == 40, "{token}");
    let expires_at: DateTime<Utc> = body["expires_at"].as_str().unwrap().parse().unwrap();
    let lifetime = expires_at - Utc::now();
    assert!(
        (3590..=3600).contains(&lifetime.num_seconds()),
        "{lifetime}"
    );
    assert_eq!(body["repository_selection"], "all");
    assert_eq!(body["permissions"]["issues"], "write");
    assert_eq!(github.tokens_issued(), 1);
}

#[tokio::test]
async fn jwt_signed_with_wrong_key_is_rejected() {
    let github = github().await;
    let jwt = sign_jwt(
        &other_test_key_path(),
        &json!({ "iss": github.app_id(), "iat": now() - 60, "exp": now() + 540 }),
    );
    let (status, body) = token_request(&github, &jwt).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_github_error(&body, "A JSON web token could not be decoded");
    assert_eq!(github.tokens_issued(), 0);
}

#[tokio::test]
async fn jwt_with_another_algorithm_is_rejected() {
    // The classic confusion attack: HS256 "signed" with the public key as the secret.
    let github = github().await;
    let public_pem = std::fs::read(gitkeeper_e2e::github::test_app_public_key_path()).unwrap();
    let claims = json!({ "iss": github.app_id(), "iat": now() - 60, "exp": now() + 540 });
    let jwt = jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(&public_pem),
    )
    .unwrap();
    let (status, body) = token_request(&github, &jwt).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_github_error(&body, "A JSON web token could not be decoded");
}

#[tokio::test]
async fn expired_jwt_is_rejected() {
    let github = github().await;
    let jwt = sign_jwt(
        &test_app_key_path(),
        &json!({ "iss": github.app_id(), "iat": now() - 700, "exp": now() - 100 }),
    );
    let (status, body) = token_request(&github, &jwt).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_github_error(
        &body,
        "'Expiration time' claim ('exp') must be a numeric value representing the future time at which the assertion expires",
    );
}

#[tokio::test]
async fn jwt_living_longer_than_ten_minutes_is_rejected() {
    let github = github().await;
    let jwt = sign_jwt(
        &test_app_key_path(),
        &json!({ "iss": github.app_id(), "iat": now(), "exp": now() + 3600 }),
    );
    let (status, body) = token_request(&github, &jwt).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_github_error(
        &body,
        "'Expiration time' claim ('exp') is too far in the future",
    );
}

#[tokio::test]
async fn jwt_issued_in_the_future_is_rejected() {
    let github = github().await;
    let jwt = sign_jwt(
        &test_app_key_path(),
        &json!({ "iss": github.app_id(), "iat": now() + 300, "exp": now() + 500 }),
    );
    let (status, body) = token_request(&github, &jwt).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_github_error(
        &body,
        "'Issued at' claim ('iat') must be an Integer representing the time that the assertion was issued",
    );
}

#[tokio::test]
async fn jwt_for_another_app_id_is_rejected() {
    let github = github().await;
    let jwt = sign_jwt(
        &test_app_key_path(),
        &json!({ "iss": 1, "iat": now() - 60, "exp": now() + 540 }),
    );
    let (status, body) = token_request(&github, &jwt).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_github_error(&body, "A JSON web token could not be decoded");
}

#[tokio::test]
async fn jwt_issuer_may_be_a_number_or_a_string() {
    let github = github().await;
    for iss in [json!(github.app_id()), json!(github.app_id().to_string())] {
        let jwt = sign_jwt(
            &test_app_key_path(),
            &json!({ "iss": iss, "iat": now() - 60, "exp": now() + 540 }),
        );
        let (status, body) = token_request(&github, &jwt).await;
        assert_eq!(status, StatusCode::CREATED, "iss {iss}: {body}");
    }
    assert_eq!(github.tokens_issued(), 2);
}

#[tokio::test]
async fn malformed_or_missing_jwt_is_rejected() {
    let github = github().await;
    let path = format!("/app/installations/{INSTALLATION}/access_tokens");
    for auth in [
        None,
        Some("Bearer not.a.jwt"),
        Some("Bearer garbage"),
        Some("token ghs_whatever"),
    ] {
        let response = send(&github, Method::POST, &path, auth, None).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{auth:?}");
        assert_github_error(
            &json_of(response).await,
            "A JSON web token could not be decoded",
        );
    }
}

#[tokio::test]
async fn token_for_unknown_installation_is_not_found() {
    let github = github().await;
    let response = send(
        &github,
        Method::POST,
        "/app/installations/999/access_tokens",
        Some(&format!("Bearer {}", mint_app_jwt(github.app_id()))),
        None,
    )
    .await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert_github_error(&json_of(response).await, "Not Found");
    assert_eq!(github.tokens_issued(), 0);
}

#[tokio::test]
async fn get_app_needs_a_jwt_and_describes_the_app() {
    let github = github().await;
    let jwt = format!("Bearer {}", mint_app_jwt(github.app_id()));
    let response = send(&github, Method::GET, "/app", Some(&jwt), None).await;
    assert_eq!(response.status(), StatusCode::OK);
    let app = json_of(response).await;
    assert_eq!(app["id"], github.app_id());
    assert_eq!(app["slug"], "gitkeeper");
    assert_eq!(app["name"], "Gitkeeper");
    assert_eq!(app["owner"]["login"], "gitkeeper");
    assert!(app["events"].as_array().unwrap().contains(&json!("issues")));

    let token = installation_token(&github, INSTALLATION).await;
    let response = send(
        &github,
        Method::GET,
        "/app",
        Some(&format!("token {token}")),
        None,
    )
    .await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn expired_installation_token_is_bad_credentials() {
    let github = github().await;
    github.set_token_lifetime(Duration::from_secs(1));
    let token = installation_token(&github, INSTALLATION).await;
    let path = "/repos/acme/widgets/issues/1/comments";
    let auth = format!("token {token}");
    assert_eq!(
        send(&github, Method::GET, path, Some(&auth), None)
            .await
            .status(),
        StatusCode::OK
    );

    tokio::time::sleep(Duration::from_millis(1200)).await;
    let response = send(&github, Method::GET, path, Some(&auth), None).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_github_error(&json_of(response).await, "Bad credentials");

    // A fresh token works again; expire_tokens() kills it at once.
    github.set_token_lifetime(Duration::from_secs(3600));
    let fresh = format!("Bearer {}", installation_token(&github, INSTALLATION).await);
    assert_eq!(
        send(&github, Method::GET, path, Some(&fresh), None)
            .await
            .status(),
        StatusCode::OK
    );
    github.expire_tokens();
    assert_eq!(
        send(&github, Method::GET, path, Some(&fresh), None)
            .await
            .status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(github.tokens_issued(), 2);
}

#[tokio::test]
async fn installation_token_grants_only_its_repos() {
    let github = github().await;
    let token = format!("token {}", installation_token(&github, INSTALLATION).await);
    let body = json!({ "body": "hello" });

    let own = send(
        &github,
        Method::POST,
        "/repos/acme/widgets/issues/1/comments",
        Some(&token),
        Some(body.clone()),
    )
    .await;
    assert_eq!(own.status(), StatusCode::CREATED);

    let foreign = send(
        &github,
        Method::POST,
        "/repos/other/secret/issues/1/comments",
        Some(&token),
        Some(body.clone()),
    )
    .await;
    assert_eq!(foreign.status(), StatusCode::NOT_FOUND);
    assert_github_error(&json_of(foreign).await, "Not Found");
    assert!(github.comments("other", "secret", 1).is_empty());

    // Same for an unknown repository: nothing tells the two apart.
    let missing = send(
        &github,
        Method::GET,
        "/repos/acme/nothing/issues/1/comments",
        Some(&token),
        None,
    )
    .await;
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn repo_endpoints_require_an_installation_token() {
    let github = github().await;
    let path = "/repos/acme/widgets/issues/1/comments";
    let response = send(&github, Method::GET, path, None, None).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_github_error(&json_of(response).await, "Requires authentication");

    for auth in ["token ghs_madeup", "Bearer ghs_madeup", "Basic !!!"] {
        let response = send(&github, Method::GET, path, Some(auth), None).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{auth}");
        assert_github_error(&json_of(response).await, "Bad credentials");
    }
    let jwt = format!("Bearer {}", mint_app_jwt(github.app_id()));
    assert_eq!(
        send(&github, Method::GET, path, Some(&jwt), None)
            .await
            .status(),
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn token_limited_to_selected_repositories_and_permissions() {
    let github = github().await;
    let jwt = format!("Bearer {}", mint_app_jwt(github.app_id()));
    let response = send(
        &github,
        Method::POST,
        &format!("/app/installations/{INSTALLATION}/access_tokens"),
        Some(&jwt),
        Some(json!({ "repositories": ["widgets"], "permissions": { "issues": "read" } })),
    )
    .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let body = json_of(response).await;
    assert_eq!(body["repository_selection"], "selected");
    assert_eq!(body["permissions"], json!({ "issues": "read" }));
    let token = format!("token {}", body["token"].as_str().unwrap());

    let read = send(
        &github,
        Method::GET,
        "/repos/acme/widgets/issues/1/comments",
        Some(&token),
        None,
    )
    .await;
    assert_eq!(read.status(), StatusCode::OK);
    let write = send(
        &github,
        Method::POST,
        "/repos/acme/widgets/issues/1/comments",
        Some(&token),
        Some(json!({ "body": "x" })),
    )
    .await;
    assert_eq!(write.status(), StatusCode::FORBIDDEN);
    assert_github_error(
        &json_of(write).await,
        "Resource not accessible by integration",
    );
    let unselected = send(
        &github,
        Method::GET,
        "/repos/acme/gadgets/collaborators/alice/permission",
        Some(&token),
        None,
    )
    .await;
    assert_eq!(unselected.status(), StatusCode::NOT_FOUND);

    // Asking for more than the installation has, or for someone else's repository, is refused.
    for request in [
        json!({ "permissions": { "administration": "write" } }),
        json!({ "repositories": ["secret"] }),
    ] {
        let response = send(
            &github,
            Method::POST,
            &format!("/app/installations/{INSTALLATION}/access_tokens"),
            Some(&jwt),
            Some(request),
        )
        .await;
        assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    }
}

// ---------- Issue comments ----------

#[tokio::test]
async fn comment_is_created_as_the_app_bot_in_githubs_shape() {
    let github = github().await;
    let token = format!("token {}", installation_token(&github, INSTALLATION).await);
    let response = send(
        &github,
        Method::POST,
        "/repos/acme/widgets/issues/1/comments",
        Some(&token),
        Some(json!({ "body": "Working on it" })),
    )
    .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json"),
        "{:?}",
        response.headers()
    );
    let location = response.headers()["location"].to_str().unwrap().to_string();
    let comment = json_of(response).await;
    for field in [
        "id",
        "node_id",
        "url",
        "html_url",
        "body",
        "user",
        "created_at",
        "updated_at",
        "issue_url",
        "author_association",
    ] {
        assert!(!comment[field].is_null(), "missing {field}: {comment}");
    }
    let id = comment["id"].as_u64().unwrap();
    assert_eq!(comment["body"], "Working on it");
    assert_eq!(comment["user"]["login"], "gitkeeper[bot]");
    assert_eq!(comment["user"]["type"], "Bot");
    assert!(comment["user"]["id"].is_u64());
    assert_eq!(comment["url"], location);
    assert_eq!(
        comment["url"],
        format!("{}repos/acme/widgets/issues/comments/{id}", github.url())
    );
    assert_eq!(
        comment["issue_url"],
        format!("{}repos/acme/widgets/issues/1", github.url())
    );
    assert!(
        comment["html_url"]
            .as_str()
            .unwrap()
            .ends_with(&format!("/acme/widgets/issues/1#issuecomment-{id}"))
    );
    assert_eq!(comment["performed_via_github_app"]["id"], github.app_id());
    assert!(
        comment["created_at"]
            .as_str()
            .unwrap()
            .parse::<DateTime<Utc>>()
            .is_ok()
    );

    let stored = github.comments("acme", "widgets", 1);
    assert_eq!(stored.len(), 1);
    assert_eq!(
        (
            stored[0].id,
            stored[0].author.as_str(),
            stored[0].body.as_str()
        ),
        (id, "gitkeeper[bot]", "Working on it")
    );
}

#[tokio::test]
async fn comment_create_requires_body() {
    let github = github().await;
    let token = format!("token {}", installation_token(&github, INSTALLATION).await);
    let path = "/repos/acme/widgets/issues/1/comments";

    let missing = send(
        &github,
        Method::POST,
        path,
        Some(&token),
        Some(json!({ "text": "hi" })),
    )
    .await;
    assert_eq!(missing.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body = json_of(missing).await;
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("\"body\" wasn't supplied"),
        "{body}"
    );
    assert_eq!(
        body["documentation_url"],
        "https://docs.github.com/rest/issues/comments#create-an-issue-comment"
    );

    let not_string = send(
        &github,
        Method::POST,
        path,
        Some(&token),
        Some(json!({ "body": 5 })),
    )
    .await;
    assert_eq!(not_string.status(), StatusCode::UNPROCESSABLE_ENTITY);

    let blank = send(
        &github,
        Method::POST,
        path,
        Some(&token),
        Some(json!({ "body": "  " })),
    )
    .await;
    assert_eq!(blank.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(json_of(blank).await["message"], "Validation Failed");

    let too_long = send(
        &github,
        Method::POST,
        path,
        Some(&token),
        Some(json!({ "body": "x".repeat(65_537) })),
    )
    .await;
    assert_eq!(too_long.status(), StatusCode::UNPROCESSABLE_ENTITY);

    let bad_json = client()
        .post(format!("{}{}", github.url(), path.trim_start_matches('/')))
        .header("authorization", &token)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(bad_json.status(), StatusCode::BAD_REQUEST);
    assert_github_error(&json_of(bad_json).await, "Problems parsing JSON");

    assert!(github.comments("acme", "widgets", 1).is_empty());
}

#[tokio::test]
async fn comment_on_a_missing_issue_is_not_found() {
    let github = github().await;
    let token = format!("token {}", installation_token(&github, INSTALLATION).await);
    let response = send(
        &github,
        Method::POST,
        "/repos/acme/widgets/issues/42/comments",
        Some(&token),
        Some(json!({ "body": "hi" })),
    )
    .await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let response = send(
        &github,
        Method::POST,
        "/repos/acme/widgets/issues/abc/comments",
        Some(&token),
        Some(json!({ "body": "hi" })),
    )
    .await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn comments_are_paginated_with_a_link_header() {
    let github = github().await;
    for i in 1..=5 {
        github.add_comment("acme", "widgets", 1, "alice", &format!("comment {i}"));
    }
    let token = format!("token {}", installation_token(&github, INSTALLATION).await);
    let base = "/repos/acme/widgets/issues/1/comments";

    let first = send(
        &github,
        Method::GET,
        &format!("{base}?per_page=2"),
        Some(&token),
        None,
    )
    .await;
    assert_eq!(first.status(), StatusCode::OK);
    let link = first.headers()["link"].to_str().unwrap().to_string();
    let url = format!("{}repos/acme/widgets/issues/1/comments", github.url());
    assert_eq!(
        link,
        format!("<{url}?per_page=2&page=2>; rel=\"next\", <{url}?per_page=2&page=3>; rel=\"last\"")
    );
    let items = json_of(first).await;
    let bodies: Vec<&str> = items
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["body"].as_str().unwrap())
        .collect();
    assert_eq!(bodies, ["comment 1", "comment 2"]);
    assert_eq!(items[0]["user"]["login"], "alice");
    assert_eq!(items[0]["user"]["type"], "User");

    let last = send(
        &github,
        Method::GET,
        &format!("{base}?per_page=2&page=3"),
        Some(&token),
        None,
    )
    .await;
    let link = last.headers()["link"].to_str().unwrap().to_string();
    assert!(
        link.contains("rel=\"prev\"")
            && link.contains("rel=\"first\"")
            && !link.contains("rel=\"next\""),
        "{link}"
    );
    assert_eq!(json_of(last).await.as_array().unwrap().len(), 1);

    let all = send(&github, Method::GET, base, Some(&token), None).await;
    assert!(all.headers().get("link").is_none());
    assert_eq!(json_of(all).await.as_array().unwrap().len(), 5);
}

#[tokio::test]
async fn comment_can_be_read_and_updated_and_unknown_comment_is_not_found() {
    let github = github().await;
    let token = format!("token {}", installation_token(&github, INSTALLATION).await);
    let created = send(
        &github,
        Method::POST,
        "/repos/acme/widgets/issues/1/comments",
        Some(&token),
        Some(json!({ "body": "Queued" })),
    )
    .await;
    let id = json_of(created).await["id"].as_u64().unwrap();
    let path = format!("/repos/acme/widgets/issues/comments/{id}");

    let updated = send(
        &github,
        Method::PATCH,
        &path,
        Some(&token),
        Some(json!({ "body": "Done" })),
    )
    .await;
    assert_eq!(updated.status(), StatusCode::OK);
    assert_eq!(json_of(updated).await["body"], "Done");

    let fetched = send(&github, Method::GET, &path, Some(&token), None).await;
    assert_eq!(fetched.status(), StatusCode::OK);
    assert_eq!(json_of(fetched).await["body"], "Done");
    assert_eq!(github.comments("acme", "widgets", 1)[0].body, "Done");

    let missing = send(
        &github,
        Method::PATCH,
        "/repos/acme/widgets/issues/comments/999999",
        Some(&token),
        Some(json!({ "body": "x" })),
    )
    .await;
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    // A comment id from another repository is not reachable through this one.
    let wrong_repo = send(
        &github,
        Method::GET,
        &format!("/repos/acme/gadgets/issues/comments/{id}"),
        Some(&token),
        None,
    )
    .await;
    assert_eq!(wrong_repo.status(), StatusCode::NOT_FOUND);
    let no_body = send(&github, Method::PATCH, &path, Some(&token), Some(json!({}))).await;
    assert_eq!(no_body.status(), StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn issue_is_returned_in_githubs_shape() {
    let github = github().await;
    let token = format!("token {}", installation_token(&github, INSTALLATION).await);
    let response = send(
        &github,
        Method::GET,
        "/repos/acme/widgets/issues/1",
        Some(&token),
        None,
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    let issue = json_of(response).await;
    assert_eq!(issue["number"], 1);
    assert_eq!(issue["title"], "Add a button");
    assert_eq!(issue["body"], "Please add a button.");
    assert_eq!(issue["user"]["login"], "alice");
    assert_eq!(issue["state"], "open");
}

// ---------- Reactions ----------

#[tokio::test]
async fn reaction_content_must_be_one_githubs_allows() {
    let github = github().await;
    let token = format!("token {}", installation_token(&github, INSTALLATION).await);
    let response = send(
        &github,
        Method::POST,
        "/repos/acme/widgets/issues/1/reactions",
        Some(&token),
        Some(json!({ "content": "thumbsup" })),
    )
    .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let missing = send(
        &github,
        Method::POST,
        "/repos/acme/widgets/issues/1/reactions",
        Some(&token),
        Some(json!({})),
    )
    .await;
    assert_eq!(missing.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        github
            .reactions("acme", "widgets", ReactionTarget::Issue(1))
            .is_empty()
    );
}

#[tokio::test]
async fn repeated_reaction_answers_200_with_the_existing_one() {
    let github = github().await;
    let token = format!("token {}", installation_token(&github, INSTALLATION).await);
    let path = "/repos/acme/widgets/issues/1/reactions";
    let first = send(
        &github,
        Method::POST,
        path,
        Some(&token),
        Some(json!({ "content": "eyes" })),
    )
    .await;
    assert_eq!(first.status(), StatusCode::CREATED);
    let first = json_of(first).await;
    assert_eq!(first["content"], "eyes");
    assert_eq!(first["user"]["login"], "gitkeeper[bot]");
    for field in ["id", "node_id", "created_at"] {
        assert!(!first[field].is_null(), "{field}: {first}");
    }

    let again = send(
        &github,
        Method::POST,
        path,
        Some(&token),
        Some(json!({ "content": "eyes" })),
    )
    .await;
    assert_eq!(again.status(), StatusCode::OK);
    assert_eq!(json_of(again).await["id"], first["id"]);

    let other = send(
        &github,
        Method::POST,
        path,
        Some(&token),
        Some(json!({ "content": "rocket" })),
    )
    .await;
    assert_eq!(other.status(), StatusCode::CREATED);

    let contents: Vec<String> = github
        .reactions("acme", "widgets", ReactionTarget::Issue(1))
        .into_iter()
        .map(|r| r.content)
        .collect();
    assert_eq!(contents, ["eyes", "rocket"]);
}

#[tokio::test]
async fn comment_reactions_need_an_existing_comment() {
    let github = github().await;
    let id = github.add_comment("acme", "widgets", 1, "alice", "/gitkeeper retry");
    let token = format!("token {}", installation_token(&github, INSTALLATION).await);
    let ok = send(
        &github,
        Method::POST,
        &format!("/repos/acme/widgets/issues/comments/{id}/reactions"),
        Some(&token),
        Some(json!({ "content": "+1" })),
    )
    .await;
    assert_eq!(ok.status(), StatusCode::CREATED);
    let reactions = github.reactions("acme", "widgets", ReactionTarget::Comment(id));
    assert_eq!(reactions.len(), 1);
    assert_eq!(reactions[0].user, "gitkeeper[bot]");

    let missing = send(
        &github,
        Method::POST,
        "/repos/acme/widgets/issues/comments/424242/reactions",
        Some(&token),
        Some(json!({ "content": "+1" })),
    )
    .await;
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
}

// ---------- Collaborator permissions ----------

#[tokio::test]
async fn collaborator_permission_follows_what_the_test_set() {
    let github = github().await;
    github.set_permission("acme", "widgets", "alice", Permission::Write);
    github.set_permission("acme", "widgets", "maria", Permission::Maintain);
    let token = format!("token {}", installation_token(&github, INSTALLATION).await);
    let get = |user: &'static str| {
        let github = &github;
        let token = token.clone();
        async move {
            let response = send(
                github,
                Method::GET,
                &format!("/repos/acme/widgets/collaborators/{user}/permission"),
                Some(&token),
                None,
            )
            .await;
            assert_eq!(response.status(), StatusCode::OK);
            json_of(response).await
        }
    };
    let alice = get("alice").await;
    assert_eq!(
        (alice["permission"].as_str(), alice["role_name"].as_str()),
        (Some("write"), Some("write"))
    );
    assert_eq!(alice["user"]["login"], "alice");
    assert_eq!(alice["user"]["permissions"]["push"], true);
    assert_eq!(alice["user"]["permissions"]["admin"], false);

    let maria = get("maria").await;
    assert_eq!(
        (maria["permission"].as_str(), maria["role_name"].as_str()),
        (Some("write"), Some("maintain"))
    );

    let stranger = get("stranger").await;
    assert_eq!(stranger["permission"], "none");
    assert_eq!(stranger["user"]["permissions"]["pull"], false);
}

// ---------- Request log ----------

#[tokio::test]
async fn requests_are_logged_without_credentials() {
    let github = github().await;
    let token = installation_token(&github, INSTALLATION).await;
    send(
        &github,
        Method::POST,
        "/repos/acme/widgets/issues/1/comments",
        Some(&format!("token {token}")),
        Some(json!({ "body": "hi" })),
    )
    .await;
    send(
        &github,
        Method::GET,
        "/repos/acme/widgets/issues/1/comments?per_page=100",
        Some(&format!("token {token}")),
        None,
    )
    .await;

    let log = github.requests();
    assert_eq!(log.len(), 3);
    assert_eq!(log[0].method, "POST");
    assert_eq!(
        log[0].path,
        format!("/app/installations/{INSTALLATION}/access_tokens")
    );
    assert_eq!(log[0].header("Authorization"), Some("Bearer"));
    assert_eq!(log[0].status, Some(201));
    assert_eq!(log[1].header("authorization"), Some("token"));
    assert_eq!(log[1].body, Some(json!({ "body": "hi" })));
    assert_eq!(log[1].status, Some(201));
    assert_eq!(log[2].query_param("per_page"), Some("100"));
    assert_eq!(log[2].header("user-agent"), Some("gitkeeper-e2e"));
    let serialized = serde_json::to_string(&log).unwrap();
    assert!(!serialized.contains(&token), "the log leaks the token");
    assert_eq!(
        github
            .requests_matching("POST", "/repos/*/*/issues/*/comments")
            .len(),
        1
    );
}

// ---------- Failure injection and headers ----------

#[tokio::test]
async fn secondary_rate_limit_is_injected_with_retry_after() {
    let github = github().await;
    let token = format!("token {}", installation_token(&github, INSTALLATION).await);
    github.fail_next(
        "POST",
        "/repos/*/*/issues/*/comments",
        Failure::SecondaryRateLimit {
            retry_after_secs: 42,
        },
    );
    let path = "/repos/acme/widgets/issues/1/comments";

    let limited = send(
        &github,
        Method::POST,
        path,
        Some(&token),
        Some(json!({ "body": "hi" })),
    )
    .await;
    assert_eq!(limited.status(), StatusCode::FORBIDDEN);
    assert_eq!(limited.headers()["retry-after"], "42");
    let request_id = limited.headers()["x-github-request-id"]
        .to_str()
        .unwrap()
        .to_string();
    let body = json_of(limited).await;
    let message = body["message"].as_str().unwrap();
    assert!(
        message.starts_with("You have exceeded a secondary rate limit."),
        "{message}"
    );
    assert!(message.contains(&request_id), "{message}");
    assert!(github.comments("acme", "widgets", 1).is_empty());

    let retried = send(
        &github,
        Method::POST,
        path,
        Some(&token),
        Some(json!({ "body": "hi" })),
    )
    .await;
    assert_eq!(retried.status(), StatusCode::CREATED);
    let log = github.requests_matching("POST", path);
    assert!(log[0].injected_failure && !log[1].injected_failure);
}

#[tokio::test]
async fn primary_rate_limit_is_injected_with_reset_time() {
    let github = github().await;
    let token = format!("token {}", installation_token(&github, INSTALLATION).await);
    github.fail_next("*", "/repos/**", Failure::RateLimit { reset_in_secs: 120 });
    let response = send(
        &github,
        Method::GET,
        "/repos/acme/widgets/issues/1/comments",
        Some(&token),
        None,
    )
    .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let headers = response.headers().clone();
    assert_eq!(headers["x-ratelimit-remaining"], "0");
    let reset: i64 = headers["x-ratelimit-reset"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((reset - now() - 120).abs() <= 2, "reset {reset}");
    let body = json_of(response).await;
    assert_eq!(
        body["message"],
        format!("API rate limit exceeded for installation ID {INSTALLATION}.")
    );
}

#[tokio::test]
async fn injected_server_errors_hit_the_next_n_matching_requests() {
    let github = github().await;
    let token = format!("token {}", installation_token(&github, INSTALLATION).await);
    github.fail_next_n(
        "POST",
        "/repos/acme/widgets/issues/1/comments",
        Failure::Status(502),
        2,
    );
    let path = "/repos/acme/widgets/issues/1/comments";
    // A non-matching request does not use the failure up.
    assert_eq!(
        send(&github, Method::GET, path, Some(&token), None)
            .await
            .status(),
        StatusCode::OK
    );
    for _ in 0..2 {
        let response = send(
            &github,
            Method::POST,
            path,
            Some(&token),
            Some(json!({ "body": "hi" })),
        )
        .await;
        assert_eq!(response.status(), StatusCode::BAD_GATEWAY);
        assert!(json_of(response).await["message"].is_string());
    }
    let ok = send(
        &github,
        Method::POST,
        path,
        Some(&token),
        Some(json!({ "body": "hi" })),
    )
    .await;
    assert_eq!(ok.status(), StatusCode::CREATED);
    assert_eq!(github.comments("acme", "widgets", 1).len(), 1);
}

#[tokio::test]
async fn injected_delay_holds_the_answer() {
    let github = github().await;
    let token = format!("token {}", installation_token(&github, INSTALLATION).await);
    github.fail_next(
        "GET",
        "/repos/**",
        Failure::Delay(Duration::from_millis(400)),
    );
    let started = Instant::now();
    let response = send(
        &github,
        Method::GET,
        "/repos/acme/widgets/issues/1/comments",
        Some(&token),
        None,
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(started.elapsed() >= Duration::from_millis(400));

    // A client with a shorter timeout gives up, as against a hung GitHub.
    github.fail_next("GET", "/repos/**", Failure::Delay(Duration::from_secs(5)));
    let timed_out = client()
        .get(format!(
            "{}repos/acme/widgets/issues/1/comments",
            github.url()
        ))
        .header("authorization", &token)
        .timeout(Duration::from_millis(200))
        .send()
        .await;
    assert!(timed_out.unwrap_err().is_timeout());
}

#[tokio::test]
async fn every_answer_carries_rate_limit_headers_and_a_request_id() {
    let github = github().await;
    let token = format!("token {}", installation_token(&github, INSTALLATION).await);
    let mut remaining = Vec::new();
    for path in [
        "/repos/acme/widgets/issues/1/comments",
        "/repos/acme/widgets/issues/99/comments",
    ] {
        let response = send(&github, Method::GET, path, Some(&token), None).await;
        let headers = response.headers();
        assert_eq!(headers["x-ratelimit-limit"], "5000");
        assert_eq!(headers["x-ratelimit-resource"], "core");
        assert!(
            headers["x-ratelimit-reset"]
                .to_str()
                .unwrap()
                .parse::<i64>()
                .unwrap()
                > now()
        );
        let id = headers["x-github-request-id"].to_str().unwrap();
        assert_eq!(id.split(':').count(), 5, "{id}");
        remaining.push(
            headers["x-ratelimit-remaining"]
                .to_str()
                .unwrap()
                .parse::<u64>()
                .unwrap(),
        );
        assert_eq!(
            headers["x-ratelimit-used"]
                .to_str()
                .unwrap()
                .parse::<u64>()
                .unwrap()
                + remaining.last().unwrap(),
            5000
        );
    }
    assert_eq!(remaining[0] - 1, remaining[1]);
}

#[tokio::test]
async fn unknown_routes_and_methods_answer_githubs_404() {
    let github = github().await;
    let token = format!("token {}", installation_token(&github, INSTALLATION).await);
    let response = send(
        &github,
        Method::GET,
        "/no/such/endpoint",
        Some(&token),
        None,
    )
    .await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert_github_error(&json_of(response).await, "Not Found");
    let response = send(
        &github,
        Method::DELETE,
        "/repos/acme/widgets/issues/1/comments",
        Some(&token),
        None,
    )
    .await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
}

// ---------- Git over smart HTTP ----------

/// Run git isolated from the machine's configuration and credentials.
async fn run_git(cwd: &Path, args: &[&str]) -> std::process::Output {
    tokio::process::Command::new("git")
        .args([
            "-c",
            "credential.helper=",
            "-c",
            "http.proxy=",
            "-c",
            "protocol.version=2",
        ])
        .args(args)
        .current_dir(cwd)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_TERMINAL_PROMPT", "0")
        .env("GIT_ASKPASS", "/bin/false")
        .env("GIT_AUTHOR_NAME", "Maintainer")
        .env("GIT_AUTHOR_EMAIL", "maintainer@example.invalid")
        .env("GIT_COMMITTER_NAME", "Maintainer")
        .env("GIT_COMMITTER_EMAIL", "maintainer@example.invalid")
        .stdin(Stdio::null())
        .output()
        .await
        .expect("git runs")
}

#[tokio::test]
async fn git_clone_over_smart_http_requires_token() {
    let github = github().await;
    github
        .push_files(
            "acme",
            "widgets",
            "main",
            &[("README.md", "# Widgets\n"), ("src/app.ts", "export {};\n")],
            "Initial commit",
        )
        .await;
    let work = tempfile::tempdir().unwrap();

    let token = installation_token(&github, INSTALLATION).await;
    let url = github.authenticated_clone_url("acme", "widgets", &token);
    let out = run_git(work.path(), &["clone", "--quiet", &url, "with-token"]).await;
    assert!(
        out.status.success(),
        "clone failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let readme = std::fs::read_to_string(work.path().join("with-token/README.md")).unwrap();
    assert_eq!(readme, "# Widgets\n");
    assert!(work.path().join("with-token/src/app.ts").exists());

    let anonymous = run_git(
        work.path(),
        &[
            "clone",
            "--quiet",
            &github.clone_url("acme", "widgets"),
            "anonymous",
        ],
    )
    .await;
    assert!(!anonymous.status.success());

    let wrong = github.authenticated_clone_url("acme", "widgets", "ghs_wrongwrongwrong");
    let out = run_git(work.path(), &["clone", "--quiet", &wrong, "wrong-token"]).await;
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("Authentication failed"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let foreign = installation_token(&github, OTHER_INSTALLATION).await;
    let out = run_git(
        work.path(),
        &[
            "clone",
            "--quiet",
            &github.authenticated_clone_url("acme", "widgets", &foreign),
            "foreign",
        ],
    )
    .await;
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("not found"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // The unauthenticated first probe got GitHub's challenge.
    let challenged = github
        .requests_matching("GET", "/acme/widgets.git/info/refs")
        .iter()
        .any(|r| r.status == Some(401) && r.header("authorization").is_none());
    assert!(challenged);
}

#[tokio::test]
async fn git_push_over_smart_http_works() {
    let github = github().await;
    let base = github
        .push_files(
            "acme",
            "widgets",
            "main",
            &[("README.md", "v1\n")],
            "Initial commit",
        )
        .await;
    let work = tempfile::tempdir().unwrap();
    let token = installation_token(&github, INSTALLATION).await;
    let url = github.authenticated_clone_url("acme", "widgets", &token);
    let out = run_git(work.path(), &["clone", "--quiet", &url, "repo"]).await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let repo = work.path().join("repo");

    std::fs::write(repo.join("README.md"), "v2\n").unwrap();
    assert!(
        run_git(
            &repo,
            &["checkout", "--quiet", "-b", "gitkeeper/1-add-button"]
        )
        .await
        .status
        .success()
    );
    assert!(
        run_git(&repo, &["commit", "--quiet", "-am", "Update README"])
            .await
            .status
            .success()
    );
    let out = run_git(
        &repo,
        &["push", "--quiet", "origin", "gitkeeper/1-add-button"],
    )
    .await;
    assert!(
        out.status.success(),
        "push failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );

    let head = String::from_utf8(run_git(&repo, &["rev-parse", "HEAD"]).await.stdout).unwrap();
    assert_eq!(
        github
            .branch_sha("acme", "widgets", "gitkeeper/1-add-button")
            .await
            .as_deref(),
        Some(head.trim())
    );
    assert_eq!(
        github.branch_sha("acme", "widgets", "main").await,
        Some(base)
    );
    assert_eq!(
        github
            .file_at("acme", "widgets", "gitkeeper/1-add-button", "README.md")
            .await
            .as_deref(),
        Some("v2\n")
    );
    assert!(github.repo_path("acme", "widgets").join("HEAD").exists());
}

#[tokio::test]
async fn git_push_needs_contents_write() {
    let github = github().await;
    github
        .push_files(
            "acme",
            "widgets",
            "main",
            &[("README.md", "v1\n")],
            "Initial commit",
        )
        .await;
    let jwt = format!("Bearer {}", mint_app_jwt(github.app_id()));
    let response = send(
        &github,
        Method::POST,
        &format!("/app/installations/{INSTALLATION}/access_tokens"),
        Some(&jwt),
        Some(json!({ "permissions": { "contents": "read" } })),
    )
    .await;
    let read_only = json_of(response).await["token"]
        .as_str()
        .unwrap()
        .to_string();
    let work = tempfile::tempdir().unwrap();
    let url = github.authenticated_clone_url("acme", "widgets", &read_only);
    assert!(
        run_git(work.path(), &["clone", "--quiet", &url, "repo"])
            .await
            .status
            .success()
    );
    let repo = work.path().join("repo");
    std::fs::write(repo.join("README.md"), "v2\n").unwrap();
    assert!(
        run_git(&repo, &["commit", "--quiet", "-am", "Update"])
            .await
            .status
            .success()
    );
    let out = run_git(&repo, &["push", "--quiet", "origin", "HEAD:main"]).await;
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("403"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        github
            .file_at("acme", "widgets", "main", "README.md")
            .await
            .as_deref(),
        Some("v1\n")
    );
}

#[tokio::test]
async fn push_files_builds_on_the_branch_or_the_default_branch() {
    let github = github().await;
    let first = github
        .push_files("acme", "widgets", "main", &[("a.txt", "a\n")], "one")
        .await;
    let second = github
        .push_files("acme", "widgets", "main", &[("b/c.txt", "c\n")], "two")
        .await;
    assert_ne!(first, second);
    assert_eq!(
        github
            .file_at("acme", "widgets", "main", "a.txt")
            .await
            .as_deref(),
        Some("a\n")
    );
    assert_eq!(
        github
            .file_at("acme", "widgets", "main", "b/c.txt")
            .await
            .as_deref(),
        Some("c\n")
    );

    github
        .push_files("acme", "widgets", "feature", &[("d.txt", "d\n")], "three")
        .await;
    assert_eq!(
        github
            .file_at("acme", "widgets", "feature", "a.txt")
            .await
            .as_deref(),
        Some("a\n")
    );
    assert_eq!(
        github.file_at("acme", "widgets", "main", "d.txt").await,
        None
    );
    assert_eq!(github.branch_sha("acme", "widgets", "nope").await, None);
    // Seeding goes to disk, not over HTTP.
    assert!(github.requests().is_empty());
}

// ---------- The bot's client library against the double ----------

#[tokio::test]
async fn octocrab_app_and_installation_flow_works_against_the_double() {
    use octocrab::models::reactions::ReactionContent;
    use octocrab::models::{AppId, InstallationId};

    let github = github().await;
    let _ = client(); // installs the rustls crypto provider
    for body in ["first", "second", "third"] {
        github.add_comment("acme", "widgets", 1, "alice", body);
    }
    let key = jsonwebtoken::EncodingKey::from_rsa_pem(&std::fs::read(test_app_key_path()).unwrap())
        .unwrap();
    let app = octocrab::Octocrab::builder()
        .base_uri(github.url())
        .unwrap()
        .app(AppId(github.app_id()), key)
        .build()
        .unwrap();

    let me: octocrab::models::App = app.get("/app", None::<&()>).await.unwrap();
    assert_eq!(me.id, AppId(github.app_id()));
    assert_eq!(me.slug.as_deref(), Some("gitkeeper"));

    let crab = app.installation(InstallationId(INSTALLATION)).unwrap();
    let issues = crab.issues("acme", "widgets");
    let issue = issues.get(1).await.unwrap();
    assert_eq!(issue.title, "Add a button");

    let comment = issues.create_comment(1, "from octocrab").await.unwrap();
    assert_eq!(comment.user.login, "gitkeeper[bot]");
    assert_eq!(comment.user.r#type, "Bot");
    let updated = issues
        .update_comment(comment.id, "edited by octocrab")
        .await
        .unwrap();
    assert_eq!(updated.body.as_deref(), Some("edited by octocrab"));
    assert_eq!(
        issues
            .get_comment(comment.id)
            .await
            .unwrap()
            .body
            .as_deref(),
        Some("edited by octocrab")
    );

    // Page by number: octocrab's get_page/all_pages follow the absolute Link URL
    // but send credentials only to api.github.com, so they fail on any other host
    // (GitHub Enterprise or this double) with 401.
    let mut bodies = Vec::new();
    for number in 1u32.. {
        let page = issues
            .list_comments(1)
            .per_page(2)
            .page(number)
            .send()
            .await
            .unwrap();
        if number == 1 {
            assert!(
                page.next.is_some() && page.last.is_some(),
                "octocrab did not understand the Link header"
            );
        }
        bodies.extend(
            page.items
                .iter()
                .map(|c| c.body.clone().unwrap_or_default()),
        );
        if page.next.is_none() {
            break;
        }
    }
    assert_eq!(bodies, ["first", "second", "third", "edited by octocrab"]);

    let reaction = issues
        .create_reaction(1, ReactionContent::Eyes)
        .await
        .unwrap();
    assert_eq!(reaction.content, ReactionContent::Eyes);
    let on_comment = issues
        .create_comment_reaction(comment.id, ReactionContent::Rocket)
        .await
        .unwrap();
    assert_eq!(on_comment.user.login, "gitkeeper[bot]");

    // octocrab minted its JWT itself (create_jwt, as the bot does) and fetched one token.
    assert_eq!(github.tokens_issued(), 1);

    // A foreign repository is invisible; octocrab sees GitHub's error body.
    let error = crab.issues("other", "secret").get(1).await.unwrap_err();
    match error {
        octocrab::Error::GitHub { source, .. } => {
            assert_eq!(source.status_code.as_u16(), 404);
            assert_eq!(source.message, "Not Found");
        }
        other => panic!("expected a GitHub error, got {other:?}"),
    }
}

#[tokio::test]
async fn token_and_permission_answers_deserialize_into_octocrabs_models() {
    let github = github().await;
    github.set_permission("acme", "widgets", "alice", Permission::Admin);
    let jwt = format!("Bearer {}", mint_app_jwt(github.app_id()));
    let response = send(
        &github,
        Method::POST,
        &format!("/app/installations/{INSTALLATION}/access_tokens"),
        Some(&jwt),
        None,
    )
    .await;
    let token: octocrab::models::InstallationToken = response.json().await.unwrap();
    assert_eq!(token.permissions.issues.as_deref(), Some("write"));

    let auth = format!("token {}", token.token);
    let response = send(
        &github,
        Method::GET,
        "/repos/acme/widgets/collaborators/alice/permission",
        Some(&auth),
        None,
    )
    .await;
    let body = json_of(response).await;
    assert_eq!(body["permission"], "admin");
    let _: octocrab::models::Author = serde_json::from_value(body["user"].clone()).unwrap();
}

#[tokio::test]
async fn only_commits_the_app_makes_through_the_api_are_verified() {
    let github = github().await;
    let base = github
        .push_files("acme", "widgets", "main", &[("README.md", "# W\n")], "Init")
        .await;
    let token = installation_token(&github, INSTALLATION).await;
    let auth = format!("token {token}");
    let tree = github
        .git(
            "acme",
            "widgets",
            &["rev-parse", &format!("{base}^{{tree}}")],
        )
        .await;
    let message = "fix: by the App (#1)\n\nGitkeeper-Prompt-SHA256: abc\n";
    let made = send(
        &github,
        Method::POST,
        "/repos/acme/widgets/git/commits",
        Some(&auth),
        Some(json!({"message": message, "tree": tree, "parents": [base]})),
    )
    .await;
    assert_eq!(made.status(), StatusCode::CREATED);
    let made = json_of(made).await;
    let sha = made["sha"].as_str().unwrap().to_string();
    let read = json_of(
        send(
            &github,
            Method::GET,
            &format!("/repos/acme/widgets/git/commits/{sha}"),
            Some(&auth),
            None,
        )
        .await,
    )
    .await;
    for commit in [&made, &read] {
        let verification = &commit["verification"];
        assert_eq!(verification["verified"], true, "{commit}");
        assert_eq!(verification["reason"], "valid");
        assert!(verification["verified_at"].is_string(), "{commit}");
        assert_eq!(commit["author"]["name"], github.bot_login().as_str());
        assert_eq!(commit["committer"]["name"], github.bot_login().as_str());
        let email = commit["committer"]["email"].as_str().unwrap();
        let id = email
            .strip_suffix(&format!("+{}@users.noreply.github.com", github.bot_login()))
            .unwrap_or_else(|| panic!("{email}"));
        assert!(id.parse::<u64>().is_ok(), "{email}");
    }

    // A human pushes over git smart HTTP a commit copying the App's message
    // and author: GitHub did not sign it.
    let work = tempfile::tempdir().unwrap();
    let url = github.authenticated_clone_url("acme", "widgets", &token);
    let clone = run_git(work.path(), &["clone", "--quiet", &url, "w"]).await;
    assert!(clone.status.success(), "{clone:?}");
    let dir = work.path().join("w");
    std::fs::write(dir.join("NOTES.md"), "mine\n").unwrap();
    let author = format!(
        "--author={} <{}>",
        github.bot_login(),
        made["author"]["email"].as_str().unwrap()
    );
    for args in [
        vec!["add", "NOTES.md"],
        vec!["commit", "--quiet", "-m", message, &author],
        vec!["push", "--quiet", "origin", "HEAD:main"],
    ] {
        let out = run_git(&dir, &args).await;
        assert!(out.status.success(), "git {args:?}: {out:?}");
    }
    let pushed = github.branch_sha("acme", "widgets", "main").await.unwrap();
    let read = json_of(
        send(
            &github,
            Method::GET,
            &format!("/repos/acme/widgets/git/commits/{pushed}"),
            Some(&auth),
            None,
        )
        .await,
    )
    .await;
    assert_eq!(
        read["message"].as_str().map(str::trim_end),
        Some(message.trim_end())
    );
    assert_eq!(read["author"]["name"], github.bot_login().as_str());
    assert_eq!(read["verification"]["verified"], false, "{read}");
    assert_eq!(read["verification"]["reason"], "unsigned");
    assert!(read["verification"]["verified_at"].is_null(), "{read}");
}
