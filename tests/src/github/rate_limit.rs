//! The `x-ratelimit-*` headers GitHub puts on every REST answer, counted per
//! caller (installation, App, anonymous) in hourly windows. The double only
//! reports; it refuses requests for rate limits only when a test injects one.

use axum::http::{HeaderMap, HeaderValue};
use chrono::Utc;

use super::auth::{Credential, credential};
use super::failures::RATE_LIMIT;
use super::state::GithubState;

/// Who a request counts against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum RateKey {
    Installation(u64),
    App,
    Anonymous,
}

impl RateKey {
    pub fn of(st: &GithubState, headers: &HeaderMap) -> Self {
        let secret = match credential(headers) {
            Some(Credential::Token(t)) => t,
            Some(Credential::Basic { password, .. }) => password,
            _ => return RateKey::Anonymous,
        };
        match st.tokens.get(&secret) {
            Some(token) => RateKey::Installation(token.installation_id),
            // Three dot-separated parts: an App JWT (valid or not, GitHub counts it as the App).
            None if secret.split('.').count() == 3 => RateKey::App,
            None => RateKey::Anonymous,
        }
    }

    /// How GitHub's primary rate limit message names the caller.
    pub fn describe(self, app_id: u64) -> String {
        match self {
            RateKey::Installation(id) => format!("installation ID {id}"),
            RateKey::App => format!("app ID {app_id}"),
            RateKey::Anonymous => "127.0.0.1".to_string(),
        }
    }

    fn limit(self) -> u64 {
        match self {
            RateKey::Anonymous => 60,
            _ => RATE_LIMIT,
        }
    }
}

pub(crate) struct RateWindow {
    used: u64,
    reset: i64,
}

/// Count one request against `key` and set the headers the response does not already carry.
pub(crate) fn count_and_annotate(st: &mut GithubState, key: RateKey, headers: &mut HeaderMap) {
    let now = Utc::now().timestamp();
    let window = st.rate.entry(key).or_insert(RateWindow {
        used: 0,
        reset: now + 3600,
    });
    if window.reset <= now {
        *window = RateWindow {
            used: 0,
            reset: now + 3600,
        };
    }
    window.used += 1;
    let limit = key.limit();
    let values = [
        ("x-ratelimit-limit", limit.to_string()),
        (
            "x-ratelimit-remaining",
            limit.saturating_sub(window.used).to_string(),
        ),
        ("x-ratelimit-reset", window.reset.to_string()),
        ("x-ratelimit-used", window.used.to_string()),
        ("x-ratelimit-resource", "core".to_string()),
    ];
    for (name, value) in values {
        if !headers.contains_key(name) {
            if let Ok(value) = HeaderValue::from_str(&value) {
                headers.insert(name, value);
            }
        }
    }
}
