//! The request log tests assert on. It records what arrived and what was
//! answered, and never keeps a credential: `Authorization` is cut down to its scheme.

use std::collections::BTreeMap;

use axum::http::header;
use axum::http::request::Parts;
use serde::Serialize;
use serde_json::Value;

/// One request the double received.
#[derive(Debug, Clone, Serialize)]
pub struct RecordedRequest {
    /// `GET`, `POST`, ...
    pub method: String,
    /// The path without the query, e.g. `/repos/acme/widgets/issues/1/comments`.
    pub path: String,
    /// The raw query string, if any.
    pub query: Option<String>,
    /// Lower-cased header names; `authorization` holds only the scheme (`Bearer`, `token`, `Basic`).
    pub headers: BTreeMap<String, String>,
    /// The body, when it parsed as JSON.
    pub body: Option<Value>,
    /// The body's length in bytes.
    pub body_len: usize,
    /// The body as text (lossy UTF-8) when it is not JSON, for tests that
    /// look through everything the double received; git packs are binary.
    #[serde(skip)]
    pub body_text: Option<String>,
    /// The status answered; `None` while the request is still being served (or was abandoned).
    pub status: Option<u16>,
    /// Whether a `fail_next` rule hit this request (for `Failure::Delay` the answer itself is the API's).
    pub injected_failure: bool,
}

impl RecordedRequest {
    pub(crate) fn new(parts: &Parts, body: &[u8]) -> Self {
        let mut headers = BTreeMap::new();
        for (name, value) in &parts.headers {
            let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
            let value = if name == header::AUTHORIZATION {
                value
                    .split_whitespace()
                    .next()
                    .unwrap_or_default()
                    .to_string()
            } else {
                value
            };
            headers
                .entry(name.as_str().to_string())
                .and_modify(|existing: &mut String| {
                    existing.push_str(", ");
                    existing.push_str(&value);
                })
                .or_insert(value);
        }
        Self {
            method: parts.method.to_string(),
            path: parts.uri.path().to_string(),
            query: parts.uri.query().map(str::to_string),
            headers,
            body: serde_json::from_slice(body).ok(),
            body_len: body.len(),
            body_text: serde_json::from_slice::<Value>(body)
                .is_err()
                .then(|| String::from_utf8_lossy(body).into_owned()),
            status: None,
            injected_failure: false,
        }
    }

    /// A header by (case-insensitive) name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .get(&name.to_ascii_lowercase())
            .map(String::as_str)
    }

    /// A query parameter's first value, percent-decoding not applied.
    pub fn query_param(&self, name: &str) -> Option<&str> {
        self.query
            .as_deref()?
            .split('&')
            .filter_map(|pair| pair.split_once('=').or(Some((pair, ""))))
            .find(|(key, _)| *key == name)
            .map(|(_, value)| value)
    }
}
