//! Failure injection: answer the next N requests matching a method and a path
//! pattern with a server error, a primary or secondary rate limit, or a delay,
//! in the shapes GitHub uses for them.

use std::time::Duration;

use axum::http::{HeaderValue, StatusCode};
use axum::response::Response;

use super::error::ApiError;

/// How an injected failure answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// An error status with GitHub's error body (e.g. 500, 502, 503).
    Status(u16),
    /// 403 with `Retry-After` and GitHub's secondary rate limit message.
    SecondaryRateLimit { retry_after_secs: u64 },
    /// 403 with `x-ratelimit-remaining: 0` and a reset this many seconds ahead.
    RateLimit { reset_in_secs: u64 },
    /// Wait this long, then answer normally.
    Delay(Duration),
}

pub(crate) struct ScheduledFailure {
    method: String,
    pattern: String,
    failure: Failure,
    remaining: usize,
}

impl ScheduledFailure {
    pub fn new(method: &str, pattern: &str, failure: Failure, times: usize) -> Self {
        Self {
            method: method.to_ascii_uppercase(),
            pattern: pattern.to_string(),
            failure,
            remaining: times,
        }
    }
}

/// Take one use of the first scheduled failure matching this request.
pub(crate) fn take(
    scheduled: &mut Vec<ScheduledFailure>,
    method: &str,
    path: &str,
) -> Option<Failure> {
    let index = scheduled.iter().position(|f| {
        f.remaining > 0
            && (f.method == "*" || f.method.eq_ignore_ascii_case(method))
            && path_matches(&f.pattern, path)
    })?;
    let entry = &mut scheduled[index];
    entry.remaining -= 1;
    let failure = entry.failure.clone();
    if entry.remaining == 0 {
        scheduled.remove(index);
    }
    Some(failure)
}

/// Glob over path segments: `*` matches within one segment, `**` matches any
/// number of whole segments. A pattern without `*` must equal the path.
pub(crate) fn path_matches(pattern: &str, path: &str) -> bool {
    let pattern: Vec<&str> = pattern.trim_start_matches('/').split('/').collect();
    let path: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    segments_match(&pattern, &path)
}

fn segments_match(pattern: &[&str], path: &[&str]) -> bool {
    match pattern.split_first() {
        None => path.is_empty(),
        Some((&"**", rest)) => (0..=path.len()).any(|skip| segments_match(rest, &path[skip..])),
        Some((first, rest)) => match path.split_first() {
            Some((segment, path_rest)) => {
                segment_matches(first.as_bytes(), segment.as_bytes())
                    && segments_match(rest, path_rest)
            }
            None => false,
        },
    }
}

fn segment_matches(pattern: &[u8], text: &[u8]) -> bool {
    match pattern.split_first() {
        None => text.is_empty(),
        Some((b'*', rest)) => (0..=text.len()).any(|skip| segment_matches(rest, &text[skip..])),
        Some((c, rest)) => text.first() == Some(c) && segment_matches(rest, &text[1..]),
    }
}

/// Limit and label GitHub uses for installation (and App) requests.
pub(crate) const RATE_LIMIT: u64 = 5_000;
const RATE_LIMIT_DOCS: &str = "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api";
const SECONDARY_DOCS: &str = "https://docs.github.com/free-pro-team@latest/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits";

/// The answer for an injected failure; `None` for `Delay`, which answers normally.
/// `who` names the caller the way GitHub's primary limit message does.
pub(crate) fn response(failure: &Failure, request_id: &str, who: &str) -> Option<Response> {
    use axum::response::IntoResponse as _;
    let response = match failure {
        Failure::Status(code) => {
            let status = StatusCode::from_u16(*code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let message = match status.as_u16() {
                401 => "Bad credentials",
                404 => "Not Found",
                422 => "Validation Failed",
                500 | 502 => "Server Error",
                _ => status.canonical_reason().unwrap_or("Error"),
            };
            ApiError::new(status, message, super::error::REST_DOCS).into_response()
        }
        Failure::SecondaryRateLimit { retry_after_secs } => {
            let message = format!(
                "You have exceeded a secondary rate limit. Please wait a few minutes before you try again. If you reach out to GitHub Support for help, please include the request ID {request_id}."
            );
            let mut response =
                ApiError::new(StatusCode::FORBIDDEN, message, SECONDARY_DOCS).into_response();
            response
                .headers_mut()
                .insert("retry-after", HeaderValue::from(*retry_after_secs));
            response
        }
        Failure::RateLimit { reset_in_secs } => {
            let reset = chrono::Utc::now()
                .timestamp()
                .saturating_add_unsigned(*reset_in_secs);
            let message = format!("API rate limit exceeded for {who}.");
            let mut response =
                ApiError::new(StatusCode::FORBIDDEN, message, RATE_LIMIT_DOCS).into_response();
            let headers = response.headers_mut();
            headers.insert("x-ratelimit-limit", HeaderValue::from(RATE_LIMIT));
            headers.insert("x-ratelimit-remaining", HeaderValue::from(0));
            headers.insert("x-ratelimit-reset", HeaderValue::from(reset));
            headers.insert("x-ratelimit-used", HeaderValue::from(RATE_LIMIT));
            headers.insert("x-ratelimit-resource", HeaderValue::from_static("core"));
            response
        }
        Failure::Delay(_) => return None,
    };
    Some(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn star_matches_one_segment_only() {
        assert!(path_matches(
            "/repos/*/*/issues/*/comments",
            "/repos/a/b/issues/1/comments"
        ));
        assert!(!path_matches("/repos/*/issues", "/repos/a/b/issues"));
        assert!(path_matches("/repos/acme/*", "/repos/acme/widgets"));
        assert!(path_matches(
            "/app/installations/*/access_tokens",
            "/app/installations/7/access_tokens"
        ));
    }

    #[test]
    fn double_star_matches_any_depth() {
        assert!(path_matches("/repos/**", "/repos/a/b/issues/1/comments"));
        assert!(path_matches("**", "/anything/at/all"));
        assert!(path_matches(
            "/acme/*.git/**",
            "/acme/widgets.git/info/refs"
        ));
        assert!(!path_matches(
            "/acme/*.git/**",
            "/other/widgets.git/info/refs"
        ));
    }

    #[test]
    fn literal_pattern_must_be_equal() {
        assert!(path_matches("/app", "/app"));
        assert!(!path_matches("/app", "/app/installations"));
    }

    #[test]
    fn failures_are_used_up_in_order() {
        let mut list = vec![
            ScheduledFailure::new("post", "/x", Failure::Status(500), 2),
            ScheduledFailure::new("*", "/x", Failure::Status(502), 1),
        ];
        assert_eq!(take(&mut list, "GET", "/x"), Some(Failure::Status(502)));
        assert_eq!(take(&mut list, "POST", "/x"), Some(Failure::Status(500)));
        assert_eq!(take(&mut list, "POST", "/x"), Some(Failure::Status(500)));
        assert_eq!(take(&mut list, "POST", "/x"), None);
    }
}
