//! When to send a model request again and how long to wait first. Pure
//! decisions; the waiting happens in `transport.rs`. Never waits longer than
//! `MAX_WAIT` for one retry: a job would rather move to the next tier.

use std::time::{Duration, SystemTime};

use http::HeaderMap;

use super::error::ModelError;

/// The longest single wait accepted; a longer `Retry-After` fails the call.
pub const MAX_WAIT: Duration = Duration::from_secs(60);
/// Exponential backoff never waits longer than this.
const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// Limits on resending.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Resends after the first try; 0 sends once.
    pub max_retries: u32,
    /// The first backoff wait, doubled per retry, when the server names none.
    pub base_backoff: Duration,
    /// A wait longer than this, asked for or computed, fails the call instead.
    pub max_wait: Duration,
}

/// What to do after a failed try.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Retry(Duration),
    GiveUp,
}

/// Decide after `error`, when `retries` retries were already made.
pub fn decide(policy: &RetryPolicy, error: &ModelError, retries: u32) -> Decision {
    if !error.resend() || retries >= policy.max_retries {
        return Decision::GiveUp;
    }
    let wait = match error.retry_after() {
        // The server named the wait: honour it, plus a little jitter so
        // parallel workers do not all come back at the same instant.
        Some(wait) => wait + Duration::from_millis(rand::random_range(0..=100)),
        None => backoff(policy.base_backoff, retries),
    };
    if wait > policy.max_wait {
        Decision::GiveUp
    } else {
        Decision::Retry(wait)
    }
}

/// base × 2^retries, capped, then ±25 % jitter.
pub fn backoff(base: Duration, retries: u32) -> Duration {
    let exp = base
        .saturating_mul(1u32 << retries.min(16))
        .min(MAX_BACKOFF);
    exp.mul_f64(rand::random_range(0.75..=1.25))
}

/// The wait a response asks for: `retry-after-ms` (OpenAI), `retry-after` in
/// seconds or as an HTTP date.
pub fn retry_after(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
    };
    if let Some(ms) = header("retry-after-ms").and_then(|v| v.parse::<f64>().ok()) {
        if ms.is_finite() && ms >= 0.0 {
            return Some(Duration::from_secs_f64(ms / 1000.0));
        }
    }
    let value = header("retry-after")?;
    if let Ok(secs) = value.parse::<f64>() {
        return (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs));
    }
    let date = chrono::DateTime::parse_from_rfc2822(value).ok()?;
    let at = SystemTime::UNIX_EPOCH + Duration::from_secs(u64::try_from(date.timestamp()).ok()?);
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    const POLICY: RetryPolicy = RetryPolicy {
        max_retries: 3,
        base_backoff: Duration::from_millis(100),
        max_wait: MAX_WAIT,
    };

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    fn server_error() -> ModelError {
        ModelError::Server {
            provider: "Ollama".into(),
            endpoint: "http://x".into(),
            status: 500,
            message: "boom".into(),
        }
    }

    #[test]
    fn server_errors_back_off_exponentially_until_the_limit() {
        for retries in 0..3 {
            let Decision::Retry(wait) = decide(&POLICY, &server_error(), retries) else {
                panic!("retry {retries} should be allowed");
            };
            let nominal = 100.0 * f64::from(1u32 << retries);
            let ms = wait.as_secs_f64() * 1000.0;
            assert!(
                ms >= nominal * 0.75 - 1.0 && ms <= nominal * 1.25 + 1.0,
                "{ms}"
            );
        }
        assert_eq!(decide(&POLICY, &server_error(), 3), Decision::GiveUp);
    }

    #[test]
    fn retry_after_is_honoured_and_a_long_one_gives_up() {
        let limited = |secs: u64| ModelError::RateLimited {
            provider: "Anthropic".into(),
            message: "slow".into(),
            retry_after: Some(Duration::from_secs(secs)),
        };
        let Decision::Retry(wait) = decide(&POLICY, &limited(2), 0) else {
            panic!()
        };
        assert!(wait >= Duration::from_secs(2) && wait <= Duration::from_millis(2100));
        assert_eq!(decide(&POLICY, &limited(600), 0), Decision::GiveUp);
    }

    #[test]
    fn errors_that_a_resend_cannot_fix_are_not_retried() {
        let not_found = ModelError::ModelNotFound {
            provider: "Ollama".into(),
            model: "m".into(),
            endpoint: "e".into(),
            fix: "pull".into(),
        };
        assert_eq!(decide(&POLICY, &not_found, 0), Decision::GiveUp);
        let timeout = ModelError::Timeout {
            provider: "Ollama".into(),
            endpoint: "e".into(),
            name: "n".into(),
            after: Duration::from_secs(1),
        };
        assert_eq!(decide(&POLICY, &timeout, 0), Decision::GiveUp);
        let malformed = ModelError::Malformed {
            provider: "Ollama".into(),
            endpoint: "e".into(),
            detail: "d".into(),
        };
        assert_eq!(decide(&POLICY, &malformed, 0), Decision::GiveUp);
    }

    #[test]
    fn retry_after_headers_in_every_form() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_445_412_480);
        assert_eq!(
            retry_after(&headers(&[("retry-after", "7")]), now),
            Some(Duration::from_secs(7))
        );
        assert_eq!(
            retry_after(
                &headers(&[("retry-after-ms", "1500"), ("retry-after", "2")]),
                now
            ),
            Some(Duration::from_millis(1500))
        );
        // Wed, 21 Oct 2015 07:28:00 GMT is 1445412480.
        assert_eq!(
            retry_after(
                &headers(&[("retry-after", "Wed, 21 Oct 2015 07:28:30 GMT")]),
                now
            ),
            Some(Duration::from_secs(30))
        );
        assert_eq!(retry_after(&headers(&[("retry-after", "soon")]), now), None);
        assert_eq!(retry_after(&HeaderMap::new(), now), None);
    }
}
