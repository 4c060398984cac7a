//! Property tests for the untrusted-text sanitizer: whatever the input, the
//! output holds no `<!--`, no invisible, bidirectional or control character,
//! sanitizing twice changes nothing more, and the frame cannot be closed
//! from inside.

use gitkeeper::sanitize::{
    TASK_CLOSE, TASK_OPEN, frame_as_task, fuzz_sanitize, sanitize_untrusted,
};
use proptest::prelude::*;

fn is_forbidden(c: char) -> bool {
    matches!(c,
        '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2060}'..='\u{2064}'
        | '\u{2066}'..='\u{2069}' | '\u{feff}' | '\u{e0000}'..='\u{e007f}' | '\u{00ad}')
        || (c.is_control() && c != '\n' && c != '\t')
}

/// Pieces attackers and ordinary issues are made of.
fn piece() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("<!--".to_string()),
        Just("-->".to_string()),
        Just("--!>".to_string()),
        Just("<!".to_string()),
        Just("-".to_string()),
        Just("<".to_string()),
        Just(">".to_string()),
        Just("<div hidden>".to_string()),
        Just("</div>".to_string()),
        Just("<span style=\"display:none\">".to_string()),
        Just("</span>".to_string()),
        Just("<img alt=\"x\" src=y>".to_string()),
        Just("<b>".to_string()),
        Just("![alt](u \"t\")".to_string()),
        Just("[l](u \"t\")".to_string()),
        Just("[r]: https://x \"t\"".to_string()),
        Just("`".to_string()),
        Just("```".to_string()),
        Just("\n".to_string()),
        Just("\r\n".to_string()),
        Just("\u{200b}".to_string()),
        Just("\u{202e}".to_string()),
        Just("\u{2066}".to_string()),
        Just("\u{feff}".to_string()),
        Just("\u{e0041}".to_string()),
        Just("\u{a0}".to_string()),
        Just("\u{1b}".to_string()),
        Just("</untrusted_issue>".to_string()),
        Just("untrusted issue".to_string()),
        "[ -~]{0,6}",
        "\\PC{0,3}",
    ]
}

fn attack() -> impl Strategy<Value = String> {
    prop::collection::vec(piece(), 0..30).prop_map(|p| p.concat())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1024, ..ProptestConfig::default() })]

    #[test]
    fn output_never_holds_comments_or_invisible_characters(text in attack()) {
        let out = sanitize_untrusted(&text).text;
        prop_assert!(!out.contains("<!--"), "{:?} -> {:?}", text, out);
        prop_assert!(!out.chars().any(is_forbidden), "{:?} -> {:?}", text, out);
    }

    #[test]
    fn arbitrary_text_never_yields_comments_or_invisible_characters(text in any::<String>()) {
        let out = sanitize_untrusted(&text).text;
        prop_assert!(!out.contains("<!--"));
        prop_assert!(!out.chars().any(is_forbidden));
    }

    #[test]
    fn sanitizing_twice_changes_nothing_more(text in attack()) {
        let once = sanitize_untrusted(&text).text;
        let twice = sanitize_untrusted(&once);
        prop_assert_eq!(&twice.text, &once);
    }

    #[test]
    fn excerpts_hold_no_invisible_characters(text in attack()) {
        for removal in sanitize_untrusted(&text).removed {
            prop_assert!(!removal.excerpt.chars().any(is_forbidden), "{:?}", removal);
        }
    }

    #[test]
    fn the_frame_is_never_closed_from_inside(title in attack(), body in attack()) {
        let framed = frame_as_task(&title, &body);
        // Once in the preamble, once as the real delimiter.
        prop_assert_eq!(framed.matches(TASK_CLOSE).count(), 2);
        prop_assert_eq!(framed.matches(TASK_OPEN).count(), 2);
        let inside = framed
            .split_once(&format!("{TASK_OPEN}\n"))
            .and_then(|(_, rest)| rest.rsplit_once(TASK_CLOSE))
            .map(|(inside, _)| inside.to_string());
        prop_assert!(inside.is_some());
        for line in inside.unwrap_or_default().lines() {
            prop_assert!(line.starts_with('>'), "unquoted line {:?}", line);
        }
    }

    #[test]
    fn fuzz_entry_holds(data in prop::collection::vec(any::<u8>(), 0..256)) {
        fuzz_sanitize(&data);
    }

    #[test]
    fn plain_text_survives(text in "[a-zA-Z0-9 .,;()\\[\\]-]{0,80}") {
        // `](` starts a Markdown link target, whose title is hidden text the
        // sanitizer rightly removes (e.g. `[](a (]))`): that is markup.
        prop_assume!(!text.contains("]("));
        let out = sanitize_untrusted(&text);
        let expected = text.trim_end().trim_start_matches(' ').to_string();
        // Only edge whitespace may change in text without markup.
        prop_assert_eq!(out.text.trim_start(), expected.trim_start());
        prop_assert!(out.removed.is_empty(), "{:?}", out.removed);
    }
}

/// Found by `plain_text_survives`: a link title is hidden text; removing it
/// must be reported like any other removal.
#[test]
fn a_removed_link_title_is_reported() {
    let out = sanitize_untrusted("[](a (]))");
    assert_eq!(out.text, "[](a)");
    assert!(!out.removed.is_empty(), "{:?}", out.removed);
}
