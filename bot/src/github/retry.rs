//! When to try a GitHub call again, and how long to wait first. Rate-limited
//! calls were not processed, so they are retried whatever the method; a 5xx
//! or a broken connection is retried only for idempotent calls, so a POST is
//! never duplicated.

use std::time::Duration;

use http::{HeaderMap, StatusCode};

/// What to do after one try.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// The answer stands (success, or an error retrying cannot fix).
    Accept,
    /// Wait, then send again.
    Retry(Duration),
    /// Rate limited for longer than we are willing to wait.
    RateLimited(Duration),
}

/// Limits on retrying.
#[derive(Debug, Clone, Copy)]
pub struct Policy {
    pub max_retries: u32,
    pub max_wait: Duration,
    pub base_backoff: Duration,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            max_retries: 4,
            max_wait: Duration::from_secs(120),
            base_backoff: Duration::from_millis(500),
        }
    }
}

/// GitHub asks integrators to wait at least a minute after a secondary limit
/// that names no wait.
const SECONDARY_DEFAULT_WAIT: Duration = Duration::from_secs(60);

/// Decide after a response. `retries` is how many retries were already made;
/// `now_epoch` is the current Unix time in seconds.
pub fn after_response(
    policy: &Policy,
    idempotent: bool,
    status: StatusCode,
    headers: &HeaderMap,
    body: &str,
    retries: u32,
    now_epoch: u64,
) -> Decision {
    if status.is_success() || status.is_redirection() {
        return Decision::Accept;
    }
    if status == StatusCode::FORBIDDEN || status == StatusCode::TOO_MANY_REQUESTS {
        if let Some(wait) = rate_limit_wait(status, headers, body, now_epoch) {
            if retries >= policy.max_retries || wait > policy.max_wait {
                return Decision::RateLimited(wait);
            }
            return Decision::Retry(wait);
        }
        return Decision::Accept;
    }
    if status.is_server_error() && idempotent && retries < policy.max_retries {
        return Decision::Retry(backoff(policy, retries));
    }
    Decision::Accept
}

/// Decide after a transport error (no response at all).
pub fn after_transport_error(policy: &Policy, idempotent: bool, retries: u32) -> Decision {
    if idempotent && retries < policy.max_retries {
        Decision::Retry(backoff(policy, retries))
    } else {
        Decision::Accept
    }
}

/// The wait a rate-limit answer asks for, or `None` when the 403/429 is not a rate limit.
fn rate_limit_wait(
    status: StatusCode,
    headers: &HeaderMap,
    body: &str,
    now_epoch: u64,
) -> Option<Duration> {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
    };
    if let Some(secs) = header("retry-after").and_then(|v| v.parse::<u64>().ok()) {
        return Some(Duration::from_secs(secs));
    }
    if header("x-ratelimit-remaining") == Some("0") {
        if let Some(reset) = header("x-ratelimit-reset").and_then(|v| v.parse::<u64>().ok()) {
            return Some(Duration::from_secs(reset.saturating_sub(now_epoch) + 1));
        }
    }
    let lower = body.to_ascii_lowercase();
    if lower.contains("secondary rate limit") || lower.contains("abuse detection") {
        return Some(SECONDARY_DEFAULT_WAIT);
    }
    if status == StatusCode::TOO_MANY_REQUESTS {
        return Some(SECONDARY_DEFAULT_WAIT);
    }
    None
}

/// Exponential backoff with jitter: base × 2^retries, ±25 %, at most 30 s.
fn backoff(policy: &Policy, retries: u32) -> Duration {
    let exp = policy.base_backoff.saturating_mul(1u32 << retries.min(10));
    let capped = exp.min(Duration::from_secs(30));
    let jitter = rand::random_range(0.75..1.25);
    capped.mul_f64(jitter)
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    const P: Policy = Policy {
        max_retries: 3,
        max_wait: Duration::from_secs(120),
        base_backoff: Duration::from_millis(100),
    };

    #[test]
    fn success_is_accepted() {
        assert_eq!(
            after_response(&P, false, StatusCode::CREATED, &HeaderMap::new(), "", 0, 0),
            Decision::Accept
        );
    }

    #[test]
    fn secondary_limit_waits_retry_after_even_for_post() {
        let h = headers(&[("retry-after", "7")]);
        let d = after_response(
            &P,
            false,
            StatusCode::FORBIDDEN,
            &h,
            "You have exceeded a secondary rate limit",
            0,
            0,
        );
        assert_eq!(d, Decision::Retry(Duration::from_secs(7)));
    }

    #[test]
    fn primary_limit_waits_until_reset() {
        let h = headers(&[
            ("x-ratelimit-remaining", "0"),
            ("x-ratelimit-reset", "1010"),
        ]);
        let d = after_response(
            &P,
            true,
            StatusCode::FORBIDDEN,
            &h,
            "API rate limit exceeded",
            0,
            1000,
        );
        assert_eq!(d, Decision::Retry(Duration::from_secs(11)));
    }

    #[test]
    fn long_rate_limit_gives_up() {
        let h = headers(&[("retry-after", "3600")]);
        let d = after_response(&P, true, StatusCode::TOO_MANY_REQUESTS, &h, "", 0, 0);
        assert_eq!(d, Decision::RateLimited(Duration::from_secs(3600)));
    }

    #[test]
    fn plain_forbidden_is_not_retried() {
        let d = after_response(
            &P,
            true,
            StatusCode::FORBIDDEN,
            &HeaderMap::new(),
            "Resource not accessible by integration",
            0,
            0,
        );
        assert_eq!(d, Decision::Accept);
    }

    #[test]
    fn server_error_retries_only_idempotent_calls_with_growing_backoff() {
        assert_eq!(
            after_response(
                &P,
                false,
                StatusCode::BAD_GATEWAY,
                &HeaderMap::new(),
                "",
                0,
                0
            ),
            Decision::Accept
        );
        let Decision::Retry(first) = after_response(
            &P,
            true,
            StatusCode::BAD_GATEWAY,
            &HeaderMap::new(),
            "",
            0,
            0,
        ) else {
            panic!("expected retry");
        };
        let Decision::Retry(third) = after_response(
            &P,
            true,
            StatusCode::BAD_GATEWAY,
            &HeaderMap::new(),
            "",
            2,
            0,
        ) else {
            panic!("expected retry");
        };
        assert!(
            first <= Duration::from_millis(125) && third >= Duration::from_millis(300),
            "{first:?} {third:?}"
        );
        assert_eq!(
            after_response(
                &P,
                true,
                StatusCode::BAD_GATEWAY,
                &HeaderMap::new(),
                "",
                3,
                0
            ),
            Decision::Accept
        );
    }

    #[test]
    fn transport_errors_follow_the_same_rule() {
        assert_eq!(after_transport_error(&P, false, 0), Decision::Accept);
        assert!(matches!(
            after_transport_error(&P, true, 0),
            Decision::Retry(_)
        ));
        assert_eq!(after_transport_error(&P, true, 3), Decision::Accept);
    }
}
