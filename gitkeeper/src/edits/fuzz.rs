//! Entry points for `cargo fuzz` targets over the edit format. Each takes raw
//! bytes and must never panic unless an invariant is broken (then it panics
//! with the broken invariant, which is the finding).

use super::format::Edits;
use super::matching::replace_in_text;
use super::parse::{ParseError, ParsedEdits, parse_edits};

/// Parses arbitrary bytes as a model answer, and renders any feedback.
pub fn parse(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    match parse_edits(&text) {
        Ok(parsed) => {
            let _ = parsed.edits().render();
        }
        Err(err) => {
            let _ = err.feedback();
        }
    }
}

/// Parses arbitrary bytes; whatever edits come out must render in the
/// canonical format (when representable) and parse back to the same edits.
pub fn roundtrip(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    if let Ok(parsed) = parse_edits(&text) {
        check_roundtrip(parsed.edits());
    }
}

/// Renders `edits` and parses them back; panics if the result differs.
pub fn check_roundtrip(edits: &Edits) {
    let Ok(rendered) = edits.render() else {
        return;
    };
    match parse_edits(&rendered) {
        Ok(ParsedEdits::Edits(again)) => assert_eq!(
            &again, edits,
            "edits changed through render and parse; rendered:\n{rendered}"
        ),
        Ok(other) => panic!("rendered edits parsed as {other:?}; rendered:\n{rendered}"),
        Err(ParseError::NoEdits { .. }) if edits.is_empty() => {}
        Err(err) => panic!("rendered edits failed to parse: {err}; rendered:\n{rendered}"),
    }
}

/// Splits bytes at the first two NUL bytes into file content, SEARCH and
/// REPLACE text, and applies the replacement; an exact, unique match must
/// give the content with that one place replaced.
pub fn replace(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let mut parts = text.splitn(3, '\0');
    let content = parts.next().unwrap_or("");
    let search = parts.next().unwrap_or("");
    let replacement = parts.next().unwrap_or("");
    if let Ok(done) = replace_in_text(content, search, replacement) {
        let lines_before = content.split('\n').count();
        assert!(
            done.line >= 1 && done.line <= lines_before,
            "match line {} outside the file's {lines_before} lines",
            done.line
        );
    }
}
