//! Smart-HTTP git at `/{owner}/{repo}.git/...` on the API's own origin, served
//! by running `git http-backend` as a CGI program per request. Authentication
//! is GitHub's: HTTP Basic with user `x-access-token` and an installation token
//! of the repository's installation. It must never serve a repository to a
//! token of another installation, nor accept a push without `contents: write`.

use std::process::Stdio;

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse as _, Response};
use tokio::io::AsyncWriteExt as _;
use tokio::process::Command;

use super::auth::{Credential, Level, credential, token_allows, token_reaches};
use super::state::{Ctx, RepoKey};

/// The user name GitHub expects with an installation token.
pub(crate) const TOKEN_USER: &str = "x-access-token";

/// A request path on the git side: owner, repository name (without `.git`), and the rest.
pub(crate) struct GitPath<'a> {
    pub owner: &'a str,
    pub name: &'a str,
    pub rest: &'a str,
}

pub(crate) fn parse_path(path: &str) -> Option<GitPath<'_>> {
    let path = path.strip_prefix('/')?;
    let (owner, after) = path.split_once('/')?;
    let (repo, rest) = match after.find('/') {
        Some(i) => (&after[..i], &after[i..]),
        None => (after, ""),
    };
    let name = repo.strip_suffix(".git")?;
    (!owner.is_empty() && !name.is_empty()).then_some(GitPath { owner, name, rest })
}

fn text(status: StatusCode, body: &'static str) -> Response {
    let mut response = (status, body).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=UTF-8"),
    );
    response
}

fn unauthorized(body: &'static str) -> Response {
    let mut response = text(StatusCode::UNAUTHORIZED, body);
    response.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static("Basic realm=\"GitHub\""),
    );
    response
}

/// Serve one smart-HTTP request.
pub(crate) async fn serve(
    ctx: &Ctx,
    method: &Method,
    git_path: GitPath<'_>,
    query: Option<&str>,
    headers: &HeaderMap,
    body: Bytes,
) -> Response {
    let pushing = git_path.rest.ends_with("/git-receive-pack")
        || query.is_some_and(|q| q.split('&').any(|p| p == "service=git-receive-pack"));

    let (owner, name) = {
        let st = ctx.lock();
        let token = match credential(headers) {
            Some(Credential::Basic { user, password }) if user == TOKEN_USER => {
                match st.live_token(&password) {
                    Some(token) => token,
                    None => {
                        return unauthorized(
                            "Invalid username or token. Password authentication is not supported for Git operations.\n",
                        );
                    }
                }
            }
            Some(_) => {
                return unauthorized(
                    "Invalid username or token. Password authentication is not supported for Git operations.\n",
                );
            }
            None => return unauthorized(""),
        };
        let key = RepoKey::new(git_path.owner, git_path.name);
        if !token_reaches(&st, token, &key) {
            return text(StatusCode::NOT_FOUND, "Repository not found.\n");
        }
        let needed = if pushing { Level::Write } else { Level::Read };
        if !token_allows(token, "contents", needed) {
            return text(
                StatusCode::FORBIDDEN,
                "Write access to repository not granted.\n",
            );
        }
        let repo = &st.repos[&key];
        (repo.owner.clone(), repo.name.clone())
    };

    let mut command = Command::new("git");
    command
        .arg("http-backend")
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_PROJECT_ROOT", &ctx.git_root)
        .env("GIT_HTTP_EXPORT_ALL", "1")
        .env("PATH_INFO", format!("/{owner}/{name}.git{}", git_path.rest))
        .env("QUERY_STRING", query.unwrap_or_default())
        .env("REQUEST_METHOD", method.as_str())
        .env("CONTENT_LENGTH", body.len().to_string())
        .env("REMOTE_USER", TOKEN_USER)
        .env("REMOTE_ADDR", "127.0.0.1")
        .env("SERVER_PROTOCOL", "HTTP/1.1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let header_env = [
        (header::CONTENT_TYPE, "CONTENT_TYPE"),
        (header::CONTENT_ENCODING, "HTTP_CONTENT_ENCODING"),
        (HeaderName::from_static("git-protocol"), "GIT_PROTOCOL"),
    ];
    for (name, var) in header_env {
        if let Some(value) = headers.get(&name).and_then(|v| v.to_str().ok()) {
            command.env(var, value);
        }
    }

    let mut child = match command.spawn() {
        Ok(child) => child,
        Err(error) => {
            tracing::error!(%error, "could not start git http-backend");
            return text(
                StatusCode::INTERNAL_SERVER_ERROR,
                "git http-backend did not start\n",
            );
        }
    };
    // Feed the body from another task so a backend that answers before reading
    // everything cannot deadlock against us.
    let writer = child.stdin.take().map(|mut stdin| {
        tokio::spawn(async move {
            // The backend may stop reading early (e.g. on a bad request); that is its answer to give.
            let _ = stdin.write_all(&body).await;
        })
    });
    let output = match child.wait_with_output().await {
        Ok(output) => output,
        Err(error) => {
            tracing::error!(%error, "git http-backend failed");
            return text(
                StatusCode::INTERNAL_SERVER_ERROR,
                "git http-backend failed\n",
            );
        }
    };
    if let Some(writer) = writer {
        let _ = writer.await;
    }
    if !output.stderr.is_empty() {
        tracing::debug!(stderr = %String::from_utf8_lossy(&output.stderr), "git http-backend");
    }
    cgi_response(&output.stdout).unwrap_or_else(|| {
        tracing::error!(
            stderr = %String::from_utf8_lossy(&output.stderr),
            "git http-backend wrote no CGI header"
        );
        text(
            StatusCode::INTERNAL_SERVER_ERROR,
            "git http-backend gave no answer\n",
        )
    })
}

/// Turn CGI output (headers, blank line, body) into an HTTP response.
pub(crate) fn cgi_response(output: &[u8]) -> Option<Response> {
    let (head_end, body_start) = find_header_end(output)?;
    let head = std::str::from_utf8(&output[..head_end]).ok()?;
    let mut status = StatusCode::OK;
    let mut headers = HeaderMap::new();
    for line in head.lines() {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim();
        if name.eq_ignore_ascii_case("status") {
            let code = value.split_whitespace().next()?.parse().ok()?;
            status = StatusCode::from_u16(code).ok()?;
        } else if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(name.trim().as_bytes()),
            HeaderValue::from_str(value),
        ) {
            headers.append(name, value);
        }
    }
    let mut response = Response::new(Body::from(output[body_start..].to_vec()));
    *response.status_mut() = status;
    *response.headers_mut() = headers;
    Some(response)
}

/// Where the CGI header block ends: (end of headers, start of body).
fn find_header_end(output: &[u8]) -> Option<(usize, usize)> {
    let crlf = output
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|i| (i, i + 4));
    let lf = output
        .windows(2)
        .position(|w| w == b"\n\n")
        .map(|i| (i, i + 2));
    match (crlf, lf) {
        (Some(a), Some(b)) => Some(if a.0 < b.0 { a } else { b }),
        (a, b) => a.or(b),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn git_paths_need_a_dot_git_repository() {
        let p = parse_path("/acme/widgets.git/info/refs").unwrap();
        assert_eq!((p.owner, p.name, p.rest), ("acme", "widgets", "/info/refs"));
        assert!(parse_path("/repos/acme/widgets/issues").is_none());
        assert!(parse_path("/acme/.git/info/refs").is_none());
        assert!(parse_path("/app").is_none());
    }

    #[test]
    fn cgi_status_and_headers_are_parsed() {
        let out = b"Status: 404 Not Found\r\nContent-Type: text/plain\r\n\r\nnope";
        let response = cgi_response(out).unwrap();
        assert_eq!(response.status(), StatusCode::NOT_FOUND);
        assert_eq!(response.headers()["content-type"], "text/plain");

        let ok = cgi_response(b"Content-Type: application/x-git-upload-pack-advertisement\n\n001e")
            .unwrap();
        assert_eq!(ok.status(), StatusCode::OK);
    }
}
