//! Property tests for the edit format: the parser never panics, canonical
//! rendering round-trips, unique SEARCH/REPLACE blocks apply as expected, and
//! unsafe paths are always rejected.

use std::fs;

use gitkeeper::edits::{
    Edit, EditKind, Edits, MatchStrategy, PathPolicy, PathProblem, RejectionReason, apply_edits,
    fuzz, normalize_path, parse_edits, replace_in_text,
};
use proptest::prelude::*;

/// Lines that stress the parser: markers, fences, directives, paths, prose.
fn tricky_line() -> impl Strategy<Value = String> + Clone {
    prop_oneof![
        Just("<<<<<<< SEARCH".to_string()),
        Just("=======".to_string()),
        Just(">>>>>>> REPLACE".to_string()),
        Just("<<<<< SEARCH src/x.ts".to_string()),
        Just(">>>>>>>".to_string()),
        Just("```".to_string()),
        Just("````".to_string()),
        Just("```ts".to_string()),
        Just("```ts src/b.ts".to_string()),
        Just("~~~".to_string()),
        Just("FILE: src/a.ts".to_string()),
        Just("FILE:".to_string()),
        Just("DELETE: src/c.ts".to_string()),
        Just("RENAME: a.ts -> b.ts".to_string()),
        Just("RENAME: a.ts".to_string()),
        Just("CLARIFICATION_NEEDED: why?".to_string()),
        Just("CLARIFICATION_NEEDED:".to_string()),
        Just("src/a.ts".to_string()),
        Just("// src/a.ts".to_string()),
        Just("`docs/my file.md`".to_string()),
        Just("Here is the updated `src/a.ts`:".to_string()),
        Just("".to_string()),
        Just("   ".to_string()),
        "[ -~]{0,12}",
        "\\PC{0,8}",
    ]
}

fn soup() -> impl Strategy<Value = String> {
    (
        prop::collection::vec(tricky_line(), 0..40),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|(lines, crlf, final_newline)| {
            let mut text = lines.join(if crlf { "\r\n" } else { "\n" });
            if final_newline {
                text.push('\n');
            }
            text
        })
}

fn path() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => "[a-z][a-z0-9_-]{0,6}(/[a-z0-9_()\\[\\]-]{1,8}){0,3}\\.[a-z]{1,4}",
        1 => "[a-z]{1,5} [a-z]{1,5}/[a-z]{1,5}\\.md",
        1 => Just("Dockerfile".to_string()),
        1 => Just("app/blog/[...slug]/page.tsx".to_string()),
    ]
}

fn plain_line() -> impl Strategy<Value = String> + Clone {
    prop_oneof![
        6 => "[ -~]{0,30}",
        1 => "\\PC{0,10}",
        1 => Just(String::new()),
        1 => Just("    indented();".to_string()),
    ]
}

fn content(line: impl Strategy<Value = String>) -> impl Strategy<Value = String> {
    prop::collection::vec(line, 0..8).prop_map(|lines| {
        lines
            .into_iter()
            .map(|mut l| {
                l.push('\n');
                l
            })
            .collect()
    })
}

fn edit(line: impl Strategy<Value = String> + Clone) -> impl Strategy<Value = Edit> {
    let kind = prop_oneof![
        (content(line.clone()), content(line.clone()))
            .prop_map(|(search, replace)| EditKind::Replace { search, replace }),
        content(line).prop_map(|content| EditKind::WholeFile { content }),
        Just(EditKind::Delete),
        path().prop_map(|to| EditKind::Rename { to }),
    ];
    (path(), kind).prop_map(|(path, kind)| Edit { path, kind })
}

fn edits(line: impl Strategy<Value = String> + Clone) -> impl Strategy<Value = Edits> {
    prop::collection::vec(edit(line), 1..6).prop_map(Edits)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn parser_never_panics_on_arbitrary_text(text in "\\PC*") {
        fuzz::parse(text.as_bytes());
    }

    #[test]
    fn parser_never_panics_on_format_soup(text in soup()) {
        fuzz::parse(text.as_bytes());
    }

    #[test]
    fn parser_never_panics_on_arbitrary_bytes(data in prop::collection::vec(any::<u8>(), 0..512)) {
        fuzz::parse(&data);
    }

    #[test]
    fn whatever_parses_renders_and_parses_back_the_same(text in soup()) {
        fuzz::roundtrip(text.as_bytes());
    }

    #[test]
    fn rendered_edits_parse_back_the_same(edits in edits(plain_line())) {
        // Plain content is always representable.
        let rendered = edits.render();
        prop_assert!(rendered.is_ok(), "{:?}", rendered);
        fuzz::check_roundtrip(&edits);
    }

    #[test]
    fn edits_with_marker_like_content_roundtrip_when_representable(
        edits in edits(prop_oneof![3 => plain_line(), 1 => tricky_line()])
    ) {
        fuzz::check_roundtrip(&edits);
    }

    #[test]
    fn replace_fuzz_entry_never_panics(data in prop::collection::vec(any::<u8>(), 0..256)) {
        fuzz::replace(&data);
    }
}

/// Lines that never contain the unique marker.
fn filler() -> impl Strategy<Value = Vec<String>> {
    prop::collection::vec("[a-z ;(){}=]{0,16}", 0..12)
}

fn join(parts: &[&[String]]) -> String {
    parts
        .iter()
        .flat_map(|p| p.iter())
        .map(|l| format!("{l}\n"))
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn unique_search_replace_gives_the_expected_content(
        prefix in filler(),
        around in filler(),
        suffix in filler(),
        replacement in filler(),
        id in 0u32..1000,
    ) {
        let mut target = around.clone();
        let middle = target.len() / 2;
        target.insert(middle, format!("UNIQUE-{id}"));
        let file = join(&[&prefix, &target, &suffix]);
        let done = replace_in_text(&file, &join(&[&target]), &join(&[&replacement])).unwrap();
        prop_assert_eq!(done.text, join(&[&prefix, &replacement, &suffix]));
        prop_assert_eq!(done.strategy, MatchStrategy::Exact);
        prop_assert_eq!(done.line, prefix.len() + 1);
    }

    #[test]
    fn indented_search_is_reindented(
        prefix in filler(),
        target in prop::collection::vec("[a-z]{1,8}", 1..6),
        replacement in prop::collection::vec("[a-z]{1,8}", 0..6),
        depth in 1usize..4,
    ) {
        let indent = "    ".repeat(depth);
        let marked: Vec<String> = std::iter::once("UNIQUE".to_string()).chain(target).collect();
        let indented = |lines: &[String]| lines.iter().map(|l| format!("{indent}{l}")).collect::<Vec<_>>();
        let prefix: Vec<String> = prefix.into_iter().filter(|l| !l.trim().is_empty()).collect();
        let file = join(&[&prefix, &indented(&marked)]);
        let done = replace_in_text(&file, &join(&[&marked]), &join(&[&replacement])).unwrap();
        prop_assert_eq!(done.text, join(&[&prefix, &indented(&replacement)]));
        prop_assert_eq!(done.strategy, MatchStrategy::Indentation);
    }

    #[test]
    fn applying_to_disk_matches_the_text_result(
        prefix in filler(),
        suffix in filler(),
        replacement in filler(),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let target = vec!["UNIQUE line".to_string()];
        fs::write(dir.path().join("a.ts"), join(&[&prefix, &target, &suffix])).unwrap();
        let edits = Edits(vec![Edit {
            path: "a.ts".into(),
            kind: EditKind::Replace {
                search: join(&[&target]),
                replace: join(&[&replacement]),
            },
        }]);
        apply_edits(dir.path(), &edits, &PathPolicy::default()).unwrap();
        let after = fs::read_to_string(dir.path().join("a.ts")).unwrap();
        prop_assert_eq!(after, join(&[&prefix, &replacement, &suffix]));
    }
}

fn segment() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9_.-]{1,8}".prop_filter("not a parent", |s| s != "..")
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn any_path_with_a_parent_component_is_rejected(
        segments in prop::collection::vec(segment(), 0..5),
        at in any::<prop::sample::Index>(),
        backslash in any::<bool>(),
    ) {
        let mut parts = segments;
        let position = at.index(parts.len() + 1);
        parts.insert(position, "..".to_string());
        let path = parts.join(if backslash { "\\" } else { "/" });
        let rejected = normalize_path(&path);
        prop_assert!(
            matches!(rejected, Err(PathProblem::ParentComponent | PathProblem::GitDir)),
            "{} -> {:?}", path, rejected
        );
        prop_assert!(PathPolicy::default().check(&path).is_err());
        prop_assert!(apply_rejects(&path));
    }

    #[test]
    fn any_absolute_path_is_rejected(segments in prop::collection::vec(segment(), 0..5)) {
        let path = format!("/{}", segments.join("/"));
        prop_assert!(normalize_path(&path).is_err(), "{}", path);
        prop_assert!(apply_rejects(&path));
    }

    #[test]
    fn safe_paths_normalize_to_themselves(segments in prop::collection::vec(segment(), 1..5)) {
        prop_assume!(segments.iter().all(|s| s != "." && !s.eq_ignore_ascii_case(".git")));
        let path = segments.join("/");
        prop_assert_eq!(normalize_path(&path), Ok(path.clone()));
    }
}

/// Whether writing a whole file at `path` is rejected as unsafe (and nothing
/// is written anywhere).
fn apply_rejects(path: &str) -> bool {
    let Ok(dir) = tempfile::tempdir() else {
        return false;
    };
    let work = dir.path().join("work");
    if fs::create_dir(&work).is_err() {
        return false;
    }
    let edits = Edits(vec![Edit {
        path: path.to_string(),
        kind: EditKind::WholeFile {
            content: "x\n".into(),
        },
    }]);
    let result = apply_edits(&work, &edits, &PathPolicy::default());
    let nothing_written = fs::read_dir(dir.path()).map(|d| d.count()).unwrap_or(0) == 1
        && fs::read_dir(&work).map(|d| d.count()).unwrap_or(1) == 0;
    match result {
        Err(err) => {
            nothing_written
                && err
                    .rejections()
                    .iter()
                    .all(|r| matches!(r.reason, RejectionReason::UnsafePath(_)))
        }
        Ok(_) => false,
    }
}

#[test]
fn format_doc_examples_parse_to_what_they_show() {
    use gitkeeper::edits::{FORMAT_DOC, ParsedEdits, WHOLE_FILE_DOC};
    let parsed = parse_edits(FORMAT_DOC).unwrap();
    let ParsedEdits::ClarificationNeeded { question, edits } = parsed else {
        panic!("{parsed:?}");
    };
    assert_eq!(question, "<your question>");
    let kinds: Vec<(&str, &str)> = edits
        .iter()
        .map(|e| {
            let kind = match e.kind {
                EditKind::Replace { .. } => "replace",
                EditKind::WholeFile { .. } => "file",
                EditKind::Delete => "delete",
                EditKind::Rename { .. } => "rename",
            };
            (e.path.as_str(), kind)
        })
        .collect();
    assert_eq!(
        kinds,
        [
            ("src/lib/session.ts", "replace"),
            ("src/app/api/health/route.ts", "file"),
            ("src/old-helper.ts", "delete"),
            ("src/utils.ts", "rename"),
        ]
    );
    let parsed = parse_edits(WHOLE_FILE_DOC).unwrap();
    assert_eq!(parsed.edits().len(), 3);
}

#[test]
fn format_md_carries_format_doc_word_for_word() {
    let md = include_str!("../src/edits/FORMAT.md");
    assert!(
        md.contains(gitkeeper::edits::FORMAT_DOC),
        "gitkeeper/src/edits/FORMAT.md must contain FORMAT_DOC verbatim"
    );
}

/// How one block drifts from the canonical form.
#[derive(Debug, Clone)]
struct Drift {
    header: usize,
    wrap: usize,
    markers: usize,
    language: &'static str,
    prose_after: bool,
}

fn drift() -> impl Strategy<Value = Drift> {
    (
        0usize..5,
        0usize..5,
        0usize..3,
        prop::sample::select(vec!["", "ts", "typescript", "diff"]),
        any::<bool>(),
    )
        .prop_map(|(header, wrap, markers, language, prose_after)| Drift {
            header,
            wrap,
            markers,
            language,
            prose_after,
        })
}

fn fence_for(content: &str) -> String {
    let longest = content
        .split('\n')
        .map(|l| l.trim_start().chars().take_while(|&c| c == '`').count())
        .max()
        .unwrap_or(0);
    "`".repeat((longest + 1).max(3))
}

/// Writes `edit` the way a drifting model might.
fn drifted(edit: &Edit, d: &Drift) -> String {
    let spaced = edit.path.contains(' ');
    let p = &edit.path;
    let mut out = String::new();
    match &edit.kind {
        EditKind::Replace { search, replace } => {
            let header = match (spaced, d.header) {
                (true, _) | (false, 0) => format!("`{p}`"),
                (false, 1) => format!("**{p}**"),
                (false, 2) => format!("### {p}"),
                (false, 3) => format!("File: {p}"),
                (false, _) => p.clone(),
            };
            let (open, divider, close) = match d.markers {
                0 => ("<<<<<<< SEARCH  ", "=======\t", ">>>>>>> REPLACE "),
                1 => ("<<<<< SEARCH", "=========", ">>>>>>>>> REPLACE"),
                _ => ("<<<<<<< SEARCH", "=======", ">>>>>>> REPLACE"),
            };
            let block = format!("{open}\n{search}{divider}\n{replace}{close}\n");
            let lang = d.language;
            match (spaced, d.wrap) {
                (_, 0) => out.push_str(&format!("{header}\n{block}")),
                (_, 1) => out.push_str(&format!("```{lang}\n{header}\n{block}```\n")),
                (_, 2) => out.push_str(&format!("{header}\n\n```{lang}\n{block}```\n")),
                (false, 3) => out.push_str(&format!("```{lang} {p}\n{block}```\n")),
                (false, _) => out.push_str(&format!("```{lang}\n// {p}\n{block}```\n")),
                (true, _) => out.push_str(&format!("{header}\n{block}")),
            }
        }
        EditKind::WholeFile { content } => {
            let directive = match d.header % 3 {
                0 => format!("FILE: `{p}`"),
                1 if !spaced => format!("**FILE:** {p}"),
                _ => format!("FILE: `{p}`"),
            };
            let fence = fence_for(content);
            out.push_str(&format!(
                "{directive}\n{fence}{}\n{content}{fence}\n",
                d.language
            ));
        }
        EditKind::Delete => out.push_str(&format!("- DELETE: `{p}`\n")),
        EditKind::Rename { to } => out.push_str(&format!("**RENAME:** `{p}` => `{to}`\n")),
    }
    if d.prose_after {
        out.push_str("\nThat change keeps the existing behaviour.\n\n");
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn drifted_answers_parse_to_the_intended_edits(
        edits in edits(plain_line()),
        drifts in prop::collection::vec(drift(), 6),
        crlf in any::<bool>(),
        final_newline in any::<bool>(),
        intro in any::<bool>(),
    ) {
        prop_assume!(edits.render().is_ok());
        let mut text = String::new();
        if intro {
            text.push_str("Sure! Here are the edits.\n\n");
        }
        for (edit, d) in edits.iter().zip(&drifts) {
            text.push_str(&drifted(edit, d));
        }
        if !final_newline {
            while text.ends_with('\n') {
                text.pop();
            }
        }
        if crlf {
            text = text.replace('\n', "\r\n");
        }
        let parsed = parse_edits(&text);
        prop_assert!(parsed.is_ok(), "{:?}\n---\n{}", parsed, text);
        let parsed = parsed.unwrap();
        prop_assert_eq!(parsed.edits(), &edits, "\n---\n{}", text);
    }
}
