//! Every list the bot reads from GitHub, read page by page: 100 items a page,
//! following the `Link: <…>; rel="next"` header GitHub sends, up to
//! [`MAX_PAGES`].
//!
//! Must never: act on part of a list as if it were all of it (a list longer
//! than the bound is an error, not a silent cut), nor follow a `next` link
//! off the configured API origin (the installation token would go with it).

use std::ops::ControlFlow;

use http::Method;
use serde::de::DeserializeOwned;

use super::GithubError;
use super::client::Installation;

/// Items per page: GitHub's maximum.
pub(crate) const PER_PAGE: usize = 100;
/// Pages read from one list at most (10 000 items) before giving up.
pub(crate) const MAX_PAGES: usize = 100;

/// `path` asking for [`PER_PAGE`] items a page (unless it already says how many).
fn first_page(path: &str) -> String {
    let query = path.split_once('?').map_or("", |(_, q)| q);
    if query.split('&').any(|p| p.starts_with("per_page=")) {
        path.to_string()
    } else if query.is_empty() {
        format!("{path}?per_page={PER_PAGE}")
    } else {
        format!("{path}&per_page={PER_PAGE}")
    }
}

/// The `rel="next"` target of a `Link` header, if there is one.
pub(crate) fn next_link(header: &str) -> Option<&str> {
    let mut rest = header;
    while let Some(open) = rest.find('<') {
        let after = &rest[open + 1..];
        let close = after.find('>')?;
        let url = &after[..close];
        let params = &after[close + 1..];
        let params = &params[..params.find('<').unwrap_or(params.len())];
        let is_next = params.split(';').any(|param| {
            param
                .trim()
                .trim_end_matches(',')
                .trim()
                .strip_prefix("rel=")
                .map(|v| v.trim_matches('"'))
                .is_some_and(|rels| rels.split_whitespace().any(|r| r == "next"))
        });
        if is_next {
            return Some(url);
        }
        rest = &after[close + 1..];
    }
    None
}

/// `url` as a path relative to `base` (the API root, ending in `/`), or
/// `None` when it is not under it (another host, scheme, port or prefix).
pub(crate) fn path_under(base: &str, url: &str) -> Option<String> {
    url.strip_prefix(base)
        .filter(|rest| !rest.starts_with('/') && !rest.split(['/', '?']).any(|s| s == ".."))
        .map(str::to_string)
}

impl Installation {
    /// Read the list at `path` page by page, handing each page to `on_page`
    /// until it breaks or the list ends.
    async fn pages<T: DeserializeOwned>(
        &self,
        path: &str,
        mut on_page: impl FnMut(Vec<T>) -> ControlFlow<()>,
    ) -> Result<(), GithubError> {
        let mut next = first_page(path);
        for _ in 0..self.max_pages() {
            let answer = self.call(Method::GET, &next, None).await?;
            let items: Vec<T> = answer.json(&next)?;
            if on_page(items).is_break() {
                return Ok(());
            }
            let link = answer
                .headers
                .get(http::header::LINK)
                .and_then(|v| v.to_str().ok())
                .and_then(next_link);
            let Some(url) = link else {
                return Ok(());
            };
            next = self.api_path(url).ok_or_else(|| GithubError::Decode {
                path: next.clone(),
                message: format!(
                    "the next page's link {url} is not under [github] api_url; refusing to send the token there"
                ),
            })?;
        }
        Err(GithubError::TooManyPages {
            path: path.to_string(),
            pages: self.max_pages(),
            per_page: PER_PAGE,
        })
    }

    /// Every item of the list at `path`.
    pub(crate) async fn list_all<T: DeserializeOwned>(
        &self,
        path: &str,
    ) -> Result<Vec<T>, GithubError> {
        let mut all = Vec::new();
        self.pages(path, |items: Vec<T>| {
            all.extend(items);
            ControlFlow::Continue(())
        })
        .await?;
        Ok(all)
    }

    /// The first item of the list at `path` that `wanted` accepts; pages
    /// after it are not read.
    pub(crate) async fn find_in_list<T: DeserializeOwned>(
        &self,
        path: &str,
        mut wanted: impl FnMut(&T) -> bool,
    ) -> Result<Option<T>, GithubError> {
        let mut found = None;
        self.pages(path, |items: Vec<T>| {
            match items.into_iter().find(|item| wanted(item)) {
                Some(item) => {
                    found = Some(item);
                    ControlFlow::Break(())
                }
                None => ControlFlow::Continue(()),
            }
        })
        .await?;
        Ok(found)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn the_first_page_asks_for_a_hundred_items() {
        assert_eq!(
            first_page("repos/a/b/pulls"),
            "repos/a/b/pulls?per_page=100"
        );
        assert_eq!(
            first_page("repos/a/b/pulls?state=open"),
            "repos/a/b/pulls?state=open&per_page=100"
        );
        assert_eq!(
            first_page("repos/a/b/pulls?per_page=10"),
            "repos/a/b/pulls?per_page=10"
        );
    }

    #[test]
    fn next_link_is_found_among_githubs_relations() {
        let header = "<https://api.github.com/repositories/1/issues?page=1>; rel=\"prev\", \
                      <https://api.github.com/repositories/1/issues?labels=a,b&page=3>; rel=\"next\", \
                      <https://api.github.com/repositories/1/issues?page=5>; rel=\"last\"";
        assert_eq!(
            next_link(header),
            Some("https://api.github.com/repositories/1/issues?labels=a,b&page=3")
        );
        let last_page = "<https://x/r?page=1>; rel=\"first\", <https://x/r?page=4>; rel=\"prev\"";
        assert_eq!(next_link(last_page), None);
        assert_eq!(next_link(""), None);
        assert_eq!(next_link("<https://x/r?page=2>"), None);
        assert_eq!(
            next_link("<https://x/r?page=2>; rel=next"),
            Some("https://x/r?page=2")
        );
        assert_eq!(next_link("<https://x/r?page=2>; rel=\"nextish\""), None);
    }

    #[test]
    fn next_links_are_followed_only_under_the_api_root() {
        let base = "https://ghe.example.com/api/v3/";
        assert_eq!(
            path_under(
                base,
                "https://ghe.example.com/api/v3/repositories/1/pulls?page=2"
            )
            .as_deref(),
            Some("repositories/1/pulls?page=2")
        );
        for foreign in [
            "https://evil.example.com/api/v3/repositories/1/pulls?page=2",
            "http://ghe.example.com/api/v3/repositories/1/pulls?page=2",
            "https://ghe.example.com:8443/api/v3/repositories/1/pulls?page=2",
            "https://ghe.example.com/other/repositories/1/pulls?page=2",
            "https://ghe.example.com/api/v3//evil.example.com/x",
            "https://ghe.example.com/api/v3/../../x",
            "https://ghe.example.com.evil.example.com/api/v3/x",
        ] {
            assert_eq!(path_under(base, foreign), None, "{foreign}");
        }
    }

    proptest! {
        #[test]
        fn next_link_never_panics_and_returns_a_bracketed_url(header in ".{0,200}") {
            if let Some(url) = next_link(&header) {
                let bracketed = format!("<{url}>");
                prop_assert!(header.contains(&bracketed));
            }
        }
    }
}
