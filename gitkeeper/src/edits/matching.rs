//! Finding the one place a SEARCH text sits in a file and splicing the
//! REPLACE text in: exactly first, then ignoring trailing whitespace and blank
//! edge lines, then ignoring a consistent indentation offset (re-indenting the
//! REPLACE text by it). It must never choose between several matches:
//! ambiguity is an error, as is a match found only by guessing.

use std::fmt;

/// How a SEARCH text was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MatchStrategy {
    /// Line for line, as written (line endings aside).
    Exact,
    /// Ignoring trailing whitespace and blank lines at the edges of SEARCH.
    Whitespace,
    /// Ignoring an indentation offset common to every line.
    Indentation,
}

impl fmt::Display for MatchStrategy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            MatchStrategy::Exact => "exact",
            MatchStrategy::Whitespace => "ignoring trailing whitespace",
            MatchStrategy::Indentation => "ignoring indentation",
        })
    }
}

/// The file content after one SEARCH/REPLACE.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Replaced {
    /// The whole file with the replacement made.
    pub text: String,
    /// How tolerant the match had to be, reported so drift can be measured.
    pub strategy: MatchStrategy,
    /// 1-based line where the match started.
    pub line: usize,
}

/// The lines of a file most like a SEARCH text that matched nowhere.
#[derive(Debug, Clone, PartialEq)]
pub struct Closest {
    /// 1-based, inclusive.
    pub first_line: usize,
    /// 1-based, inclusive end of the similar region.
    pub last_line: usize,
    /// 0.0 (nothing alike) to 1.0 (identical but for whitespace).
    pub similarity: f32,
    /// Those lines as the file holds them, to show the model what is really there.
    pub text: String,
}

/// Why a SEARCH text could not be applied.
#[derive(Debug, Clone, PartialEq)]
pub enum MatchFailure {
    /// SEARCH holds no non-blank line.
    EmptySearch,
    /// SEARCH occurs nowhere, even allowing whitespace and indentation drift.
    NotFound {
        /// The most similar lines, if any are alike at all, to point the model at.
        closest: Option<Closest>,
    },
    /// 1-based first lines of every match.
    Ambiguous {
        /// Where each match starts; the model must add context to pick one.
        lines: Vec<usize>,
    },
}

/// Replaces the one occurrence of `search` in `content` with `replace`.
/// Works on whole lines; keeps the file's line endings and final newline.
pub fn replace_in_text(
    content: &str,
    search: &str,
    replace: &str,
) -> Result<Replaced, MatchFailure> {
    let crlf = uses_crlf(content);
    let content_lf;
    let content = if crlf {
        content_lf = content.replace("\r\n", "\n");
        content_lf.as_str()
    } else {
        content
    };
    let search = search.replace("\r\n", "\n");
    let replace = replace.replace("\r\n", "\n");
    let (file, final_newline) = split_lines(content);
    let (search, _) = split_lines(&search);
    let (replace, _) = split_lines(&replace);
    if search.iter().all(|l| l.trim().is_empty()) {
        return Err(MatchFailure::EmptySearch);
    }

    let finish = |start: usize, len: usize, with: &[String], strategy| {
        let mut lines: Vec<&str> = Vec::with_capacity(file.len() + with.len());
        lines.extend_from_slice(&file[..start]);
        lines.extend(with.iter().map(String::as_str));
        lines.extend_from_slice(&file[start + len..]);
        let mut text = lines.join("\n");
        if final_newline && !lines.is_empty() {
            text.push('\n');
        }
        if crlf {
            text = text.replace('\n', "\r\n");
        }
        Ok(Replaced {
            text,
            strategy,
            line: start + 1,
        })
    };
    let owned = |lines: &[&str]| lines.iter().map(|l| l.to_string()).collect::<Vec<_>>();

    // 1. Exact.
    let hits = find_all(&file, &search, |f, s| f == s);
    if let Some(result) = decide(&hits) {
        let start = result?;
        return finish(start, search.len(), &owned(&replace), MatchStrategy::Exact);
    }
    // 2. Trailing whitespace, then also blank lines at the edges of SEARCH.
    let loose = |f: &str, s: &str| f.trim_end() == s.trim_end();
    let hits = find_all(&file, &search, loose);
    if let Some(result) = decide(&hits) {
        let start = result?;
        return finish(
            start,
            search.len(),
            &owned(&replace),
            MatchStrategy::Whitespace,
        );
    }
    let (core, core_replace) = trim_blank_edges(&search, &replace);
    if core.len() != search.len() {
        let hits = find_all(&file, core, loose);
        if let Some(result) = decide(&hits) {
            let start = result?;
            return finish(
                start,
                core.len(),
                &owned(core_replace),
                MatchStrategy::Whitespace,
            );
        }
    }
    // 3. Indentation, when one offset explains every line.
    let candidates = find_all(&file, core, |f, s| f.trim() == s.trim());
    let consistent: Vec<(usize, Offset)> = candidates
        .iter()
        .filter_map(|&start| offset(&file[start..start + core.len()], core).map(|o| (start, o)))
        .collect();
    match consistent.as_slice() {
        [(start, off)] => finish(
            *start,
            core.len(),
            &reindent(core_replace, off),
            MatchStrategy::Indentation,
        ),
        [] => Err(MatchFailure::NotFound {
            closest: closest(&file, &search),
        }),
        many => Err(MatchFailure::Ambiguous {
            lines: many.iter().map(|(start, _)| start + 1).collect(),
        }),
    }
}

/// `None` when nothing matched (try the next strategy), else the one match
/// or the ambiguity.
fn decide(hits: &[usize]) -> Option<Result<usize, MatchFailure>> {
    match hits {
        [] => None,
        [one] => Some(Ok(*one)),
        many => Some(Err(MatchFailure::Ambiguous {
            lines: many.iter().map(|s| s + 1).collect(),
        })),
    }
}

/// Whether the file's lines all end in CRLF (mixed files are left as they are).
fn uses_crlf(content: &str) -> bool {
    let newlines = content.matches('\n').count();
    newlines > 0 && content.matches("\r\n").count() == newlines
}

/// The lines of `text` and whether it ends with a newline.
pub(crate) fn split_lines(text: &str) -> (Vec<&str>, bool) {
    if text.is_empty() {
        return (Vec::new(), false);
    }
    match text.strip_suffix('\n') {
        Some(body) => (body.split('\n').collect(), true),
        None => (text.split('\n').collect(), false),
    }
}

fn find_all(file: &[&str], search: &[&str], eq: impl Fn(&str, &str) -> bool) -> Vec<usize> {
    if search.is_empty() || search.len() > file.len() {
        return Vec::new();
    }
    (0..=file.len() - search.len())
        .filter(|&start| {
            file[start..start + search.len()]
                .iter()
                .zip(search)
                .all(|(f, s)| eq(f, s))
        })
        .collect()
}

/// SEARCH without its leading and trailing blank lines, and REPLACE without
/// as many blank lines at the same edges (when it has them).
fn trim_blank_edges<'s, 'r>(
    search: &'s [&'s str],
    replace: &'r [&'r str],
) -> (&'s [&'s str], &'r [&'r str]) {
    fn blank(line: &&&str) -> bool {
        line.trim().is_empty()
    }
    let lead = search.iter().take_while(blank).count();
    let trail = search[lead..].iter().rev().take_while(blank).count();
    let core = &search[lead..search.len() - trail];
    let r_lead = replace.iter().take_while(blank).count().min(lead);
    let r_rest = &replace[r_lead..];
    let r_trail = r_rest.iter().rev().take_while(blank).count().min(trail);
    (core, &r_rest[..r_rest.len() - r_trail])
}

/// The indentation the file has and SEARCH lacks (`Add`), or the reverse.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Offset {
    Add(String),
    Remove(String),
}

fn indentation(line: &str) -> &str {
    &line[..line.len() - line.trim_start().len()]
}

fn offset(file: &[&str], search: &[&str]) -> Option<Offset> {
    let mut found: Option<Offset> = None;
    for (f, s) in file.iter().zip(search) {
        if f.trim().is_empty() && s.trim().is_empty() {
            continue;
        }
        let (fi, si) = (indentation(f), indentation(s));
        let this = if let Some(prefix) = fi.strip_suffix(si) {
            Offset::Add(prefix.to_string())
        } else if let Some(prefix) = si.strip_suffix(fi) {
            Offset::Remove(prefix.to_string())
        } else {
            return None;
        };
        match &found {
            None => found = Some(this),
            Some(existing) if *existing == this => {}
            Some(_) => return None,
        }
    }
    Some(found.unwrap_or(Offset::Add(String::new())))
}

fn reindent(lines: &[&str], off: &Offset) -> Vec<String> {
    lines
        .iter()
        .map(|line| {
            if line.trim().is_empty() {
                return line.to_string();
            }
            match off {
                Offset::Add(prefix) => format!("{prefix}{line}"),
                Offset::Remove(prefix) => line
                    .strip_prefix(prefix.as_str())
                    .unwrap_or_else(|| line.trim_start())
                    .to_string(),
            }
        })
        .collect()
}

/// Windows of the file compared with SEARCH line by line (character bigram
/// similarity of the trimmed lines); the best one, if any is alike at all.
fn closest(file: &[&str], search: &[&str]) -> Option<Closest> {
    const MAX_SCORED_LINES: usize = 24;
    const MAX_WINDOWS: usize = 100_000;
    if file.is_empty() || search.is_empty() {
        return None;
    }
    let window = search.len().min(file.len());
    let scored = window.min(MAX_SCORED_LINES);
    let needle: Vec<Bigrams> = search[..scored].iter().map(|l| Bigrams::of(l)).collect();
    let hay: Vec<Bigrams> = file.iter().map(|l| Bigrams::of(l)).collect();
    let mut best: Option<(usize, f32)> = None;
    for start in (0..=file.len() - window).take(MAX_WINDOWS) {
        let total: f32 = (0..scored)
            .map(|i| hay[start + i].similarity(&needle[i]))
            .sum();
        let score = total / scored as f32;
        if best.is_none_or(|(_, b)| score > b) {
            best = Some((start, score));
        }
    }
    let (start, similarity) = best?;
    (similarity > 0.0).then(|| Closest {
        first_line: start + 1,
        last_line: start + window,
        similarity,
        text: file[start..start + window].join("\n"),
    })
}

/// Sorted character bigrams of a trimmed line.
struct Bigrams {
    trimmed: String,
    pairs: Vec<(char, char)>,
}

impl Bigrams {
    fn of(line: &str) -> Self {
        let trimmed = line.trim().to_string();
        let chars: Vec<char> = trimmed.chars().collect();
        let mut pairs: Vec<(char, char)> = chars.windows(2).map(|w| (w[0], w[1])).collect();
        pairs.sort_unstable();
        Bigrams { trimmed, pairs }
    }

    /// Sørensen–Dice coefficient of the bigram multisets.
    fn similarity(&self, other: &Bigrams) -> f32 {
        if self.trimmed == other.trimmed {
            return 1.0;
        }
        let total = self.pairs.len() + other.pairs.len();
        if total == 0 {
            return 0.0;
        }
        let (mut i, mut j, mut common) = (0, 0, 0usize);
        while i < self.pairs.len() && j < other.pairs.len() {
            match self.pairs[i].cmp(&other.pairs[j]) {
                std::cmp::Ordering::Less => i += 1,
                std::cmp::Ordering::Greater => j += 1,
                std::cmp::Ordering::Equal => {
                    common += 1;
                    i += 1;
                    j += 1;
                }
            }
        }
        (2 * common) as f32 / total as f32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_match_replaces_whole_lines() {
        let r = replace_in_text("a\nb\nc\n", "b\n", "B\nB2\n").unwrap();
        assert_eq!(r.text, "a\nB\nB2\nc\n");
        assert_eq!(r.strategy, MatchStrategy::Exact);
        assert_eq!(r.line, 2);
    }

    #[test]
    fn search_inside_a_line_is_not_a_match() {
        let err = replace_in_text("let ab = 1;\n", "ab\n", "x\n").unwrap_err();
        assert!(matches!(err, MatchFailure::NotFound { .. }));
    }

    #[test]
    fn crlf_file_keeps_crlf() {
        let r = replace_in_text("a\r\nb\r\nc\r\n", "b\n", "B\n").unwrap();
        assert_eq!(r.text, "a\r\nB\r\nc\r\n");
        let r = replace_in_text("a\nb\n", "b\r\n", "B\r\n").unwrap();
        assert_eq!(r.text, "a\nB\n");
    }

    #[test]
    fn missing_final_newline_is_kept() {
        let r = replace_in_text("a\nb", "b\n", "B\n").unwrap();
        assert_eq!(r.text, "a\nB");
        let r = replace_in_text("a\nb\n", "b", "B").unwrap();
        assert_eq!(r.text, "a\nB\n");
    }

    #[test]
    fn trailing_whitespace_differences() {
        let r = replace_in_text("a  \nb\t\nc\n", "a\nb\n", "x\n").unwrap();
        assert_eq!(r.text, "x\nc\n");
        assert_eq!(r.strategy, MatchStrategy::Whitespace);
    }

    #[test]
    fn blank_edge_lines_in_search() {
        let r = replace_in_text("a\nb\nc\n", "\nb\n\n", "\nB\n\n").unwrap();
        assert_eq!(r.text, "a\nB\nc\n");
        assert_eq!(r.strategy, MatchStrategy::Whitespace);
    }

    #[test]
    fn indentation_offset_is_applied_to_replace() {
        let file = "class A {\n    run() {\n        go();\n    }\n}\n";
        let r =
            replace_in_text(file, "run() {\n    go();\n}\n", "run() {\n    stop();\n}\n").unwrap();
        assert_eq!(
            r.text,
            "class A {\n    run() {\n        stop();\n    }\n}\n"
        );
        assert_eq!(r.strategy, MatchStrategy::Indentation);
        // The model indented more than the file.
        let r = replace_in_text(
            "if x:\n  y()\n",
            "    if x:\n      y()\n",
            "    if x:\n      z()\n",
        )
        .unwrap();
        assert_eq!(r.text, "if x:\n  z()\n");
    }

    #[test]
    fn inconsistent_indentation_is_not_a_match() {
        let err = replace_in_text("a\n    b\n", "  a\n  b\n", "x\n").unwrap_err();
        assert!(matches!(err, MatchFailure::NotFound { .. }));
    }

    #[test]
    fn ambiguous_matches_report_every_place() {
        let err = replace_in_text("x\ny\nx\ny\nx\n", "x\n", "z\n").unwrap_err();
        assert_eq!(
            err,
            MatchFailure::Ambiguous {
                lines: vec![1, 3, 5]
            }
        );
        let err = replace_in_text("  x\n\tx\n", "x\n", "z\n").unwrap_err();
        assert_eq!(err, MatchFailure::Ambiguous { lines: vec![1, 2] });
    }

    #[test]
    fn exact_match_wins_over_looser_ones() {
        let r = replace_in_text("x \nx\n", "x\n", "z\n").unwrap();
        assert_eq!(r.text, "x \nz\n");
    }

    #[test]
    fn empty_search_is_reported() {
        assert_eq!(
            replace_in_text("a\n", "\n  \n", "b\n"),
            Err(MatchFailure::EmptySearch)
        );
    }

    #[test]
    fn not_found_names_the_closest_lines() {
        let file =
            "import a from 'a';\n\nexport function total(items) {\n  return items.length;\n}\n";
        let err = replace_in_text(
            file,
            "export function totl(items) {\n  return items.size;\n}\n",
            "",
        )
        .unwrap_err();
        let MatchFailure::NotFound {
            closest: Some(closest),
        } = err
        else {
            panic!("{err:?}");
        };
        assert_eq!(closest.first_line, 3);
        assert_eq!(closest.last_line, 5);
        assert!(closest.text.starts_with("export function total"));
        assert!(closest.similarity > 0.6, "{}", closest.similarity);
    }

    #[test]
    fn search_longer_than_file() {
        let err = replace_in_text("a\n", "a\nb\nc\n", "").unwrap_err();
        let MatchFailure::NotFound {
            closest: Some(closest),
        } = err
        else {
            panic!("{err:?}");
        };
        assert_eq!((closest.first_line, closest.last_line), (1, 1));
    }
}
