//! GitHub's pagination of list endpoints, shared by every list the double
//! serves: `per_page` (default 30, at most 100; anything unparsable is the
//! default) and `page` (from 1), and a `Link` header with `prev`, `next`,
//! `last` and `first` whose URLs keep the request's other query parameters
//! and change only `page`. It must never hand out an item on two pages or
//! leave one out.

use axum::http::{HeaderValue, header};
use axum::response::Response;

/// GitHub's page size when the request does not say.
pub(crate) const DEFAULT_PER_PAGE: usize = 30;
/// GitHub's largest page.
pub(crate) const MAX_PER_PAGE: usize = 100;

/// The query's `per_page` and `page`, as GitHub reads them.
fn paging(raw_query: Option<&str>) -> (usize, usize) {
    let value = |name: &str| {
        raw_query?
            .split('&')
            .filter_map(|pair| pair.split_once('='))
            .filter(|(key, _)| *key == name)
            .filter_map(|(_, v)| v.parse::<usize>().ok())
            .next_back()
            .filter(|v| *v > 0)
    };
    let per_page = value("per_page")
        .unwrap_or(DEFAULT_PER_PAGE)
        .min(MAX_PER_PAGE);
    let page = value("page").unwrap_or(1);
    (per_page, page)
}

/// The page of `items` the request asks for, and GitHub's `Link` header for
/// the list (absent when everything fits on page one). `url` is the list's
/// absolute URL without a query.
pub(crate) fn paginate<T>(
    items: Vec<T>,
    url: &str,
    raw_query: Option<&str>,
) -> (Vec<T>, Option<String>) {
    let (per_page, page) = paging(raw_query);
    let total = items.len();
    let shown = items
        .into_iter()
        .skip((page - 1).saturating_mul(per_page))
        .take(per_page)
        .collect();
    let last = total.div_ceil(per_page).max(1);
    if last == 1 && page == 1 {
        return (shown, None);
    }
    let kept: Vec<&str> = raw_query
        .unwrap_or("")
        .split('&')
        .filter(|pair| !pair.is_empty() && pair.split('=').next() != Some("page"))
        .collect();
    let link = |p: usize| {
        let mut query = kept.clone();
        let page = format!("page={p}");
        query.push(&page);
        format!("<{url}?{}>", query.join("&"))
    };
    let mut links = Vec::new();
    if page > 1 {
        links.push(format!("{}; rel=\"prev\"", link((page - 1).min(last))));
    }
    if page < last {
        links.push(format!("{}; rel=\"next\"", link(page + 1)));
        links.push(format!("{}; rel=\"last\"", link(last)));
    }
    if page > 1 {
        links.push(format!("{}; rel=\"first\"", link(1)));
    }
    (shown, Some(links.join(", ")))
}

/// Put the `Link` header on `response`.
pub(crate) fn with_link(mut response: Response, link: Option<String>) -> Response {
    if let Some(value) = link.and_then(|l| HeaderValue::from_str(&l).ok()) {
        response.headers_mut().insert(header::LINK, value);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_follow_githubs_defaults_and_keep_the_query() {
        let items: Vec<u32> = (1..=75).collect();
        let (page, link) = paginate(items.clone(), "http://x/r", None);
        assert_eq!(page, (1..=30).collect::<Vec<_>>());
        assert_eq!(
            link.as_deref(),
            Some("<http://x/r?page=2>; rel=\"next\", <http://x/r?page=3>; rel=\"last\"")
        );
        let (page, link) = paginate(items.clone(), "http://x/r", Some("state=open&page=3"));
        assert_eq!(page, (61..=75).collect::<Vec<_>>());
        assert_eq!(
            link.as_deref(),
            Some(
                "<http://x/r?state=open&page=2>; rel=\"prev\", <http://x/r?state=open&page=1>; rel=\"first\""
            )
        );
        let (page, link) = paginate(items, "http://x/r", Some("per_page=500"));
        assert_eq!(page.len(), 75, "per_page is capped at 100");
        assert_eq!(link, None);
    }
}
