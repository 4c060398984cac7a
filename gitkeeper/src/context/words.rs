//! Words for relevance ranking: code identifiers split into their parts
//! (`getUserById` → get, user, by, id; `MAX_RETRY_COUNT` → max, retry, count),
//! lowercased and lightly stemmed so "projects", "project" and "Project" meet.
//! The same functions treat the task text and the files, which is what makes
//! the two comparable. Pure byte functions: no allocation per word.

/// Calls `f` with each part of an identifier: splits at `_`, `$`, `-`,
/// digit runs (dropped), lower→upper changes and acronym ends (`HTMLParser` →
/// HTML, Parser).
pub(crate) fn for_each_part(ident: &[u8], mut f: impl FnMut(&[u8])) {
    let n = ident.len();
    let mut start = 0;
    let mut i = 0;
    while i < n {
        let c = ident[i];
        if !c.is_ascii_alphabetic() {
            if start < i {
                f(&ident[start..i]);
            }
            start = i + 1;
            i += 1;
            continue;
        }
        if i > start && c.is_ascii_uppercase() {
            let prev = ident[i - 1];
            let next_lower = i + 1 < n && ident[i + 1].is_ascii_lowercase();
            if prev.is_ascii_lowercase() || (prev.is_ascii_uppercase() && next_lower) {
                f(&ident[start..i]);
                start = i;
            }
        }
        i += 1;
    }
    if start < n {
        f(&ident[start..n]);
    }
}

/// Lowercases `part` into `buf` and returns its stem, or `None` for parts too
/// short to mean anything on their own.
pub(crate) fn normalize<'b>(part: &[u8], buf: &'b mut Vec<u8>) -> Option<&'b [u8]> {
    if part.len() < 2 {
        return None;
    }
    buf.clear();
    buf.extend(part.iter().map(u8::to_ascii_lowercase));
    Some(stem(buf))
}

/// A light suffix-stripping stemmer. It only ever removes bytes, so the stem
/// of a word is a prefix of it; it is crude on purpose and applied to both
/// sides of every comparison.
pub(crate) fn stem(word: &[u8]) -> &[u8] {
    let mut w = word;
    let n = w.len();
    if (n > 5 && w.ends_with(b"ing")) || (n > 4 && w.ends_with(b"ies")) {
        w = &w[..n - 3];
    } else if n > 4 && w.ends_with(b"ed") {
        w = &w[..n - 2];
    } else if n > 4 && w.ends_with(b"es") && matches!(w[n - 3], b's' | b'x' | b'z' | b'h') {
        // addresses → address, boxes → box, caches → cach(e)
        w = &w[..n - 2];
    } else if n > 3 && w.ends_with(b"s") && !w.ends_with(b"ss") && !w.ends_with(b"us") {
        w = &w[..n - 1];
    }
    let m = w.len();
    if m > 3 && (w.ends_with(b"e") || w.ends_with(b"y")) {
        w = &w[..m - 1];
    }
    w
}

/// English function words and task boilerplate that carry no topic.
const STOPWORDS: &[&str] = &[
    "a",
    "about",
    "above",
    "after",
    "again",
    "all",
    "also",
    "am",
    "an",
    "and",
    "any",
    "are",
    "as",
    "at",
    "be",
    "because",
    "been",
    "before",
    "being",
    "below",
    "between",
    "both",
    "but",
    "by",
    "can",
    "could",
    "did",
    "do",
    "does",
    "doing",
    "down",
    "during",
    "each",
    "few",
    "for",
    "from",
    "further",
    "had",
    "has",
    "have",
    "having",
    "he",
    "her",
    "here",
    "hers",
    "him",
    "his",
    "how",
    "i",
    "if",
    "in",
    "into",
    "is",
    "it",
    "its",
    "itself",
    "just",
    "me",
    "more",
    "most",
    "my",
    "no",
    "nor",
    "not",
    "now",
    "of",
    "off",
    "on",
    "once",
    "only",
    "or",
    "other",
    "our",
    "out",
    "over",
    "own",
    "same",
    "she",
    "should",
    "so",
    "some",
    "such",
    "than",
    "that",
    "the",
    "their",
    "them",
    "then",
    "there",
    "these",
    "they",
    "this",
    "those",
    "through",
    "to",
    "too",
    "under",
    "until",
    "up",
    "very",
    "was",
    "we",
    "were",
    "what",
    "when",
    "where",
    "which",
    "while",
    "who",
    "whom",
    "why",
    "will",
    "with",
    "would",
    "you",
    "your",
    "yours",
    // Task boilerplate.
    "add",
    "adds",
    "added",
    "fix",
    "fixes",
    "fixed",
    "implement",
    "make",
    "ensure",
    "please",
    "instead",
    "issue",
    "bug",
    "need",
    "needs",
    "want",
    "like",
    "use",
    "using",
    "new",
    "way",
    "currently",
    "etc",
    "eg",
    "ie",
    "e",
    "g",
    // File extensions (a mention of `session.ts` is about "session", not "ts").
    "ts",
    "tsx",
    "js",
    "jsx",
    "mjs",
    "cjs",
    "mts",
    "cts",
    "json",
    "md",
    "mdx",
    "rs",
    "py",
    "go",
    "css",
    "scss",
    "html",
    "yml",
    "yaml",
    "toml",
    "prisma",
    "sql",
];

/// True for words that should not count as a topic of the task.
pub(crate) fn is_stopword(lower: &[u8]) -> bool {
    STOPWORDS.iter().any(|s| s.as_bytes() == lower)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(s: &str) -> Vec<String> {
        let mut out = Vec::new();
        for_each_part(s.as_bytes(), |p| {
            out.push(String::from_utf8_lossy(p).into_owned())
        });
        out
    }

    #[test]
    fn identifiers_split_at_case_and_separators() {
        assert_eq!(parts("getUserById"), ["get", "User", "By", "Id"]);
        assert_eq!(parts("HTMLParser"), ["HTML", "Parser"]);
        assert_eq!(parts("MAX_RETRY_COUNT"), ["MAX", "RETRY", "COUNT"]);
        assert_eq!(parts("use-session2x"), ["use", "session", "x"]);
        assert_eq!(parts("$store"), ["store"]);
    }

    #[test]
    fn plural_and_verb_forms_share_a_stem() {
        let s = |w: &str| String::from_utf8_lossy(stem(w.as_bytes())).into_owned();
        assert_eq!(s("projects"), s("project"));
        assert_eq!(s("categories"), s("category"));
        assert_eq!(s("created"), s("create"));
        assert_eq!(s("creating"), s("create"));
        assert_eq!(s("addresses"), s("address"));
        assert_eq!(s("statuses"), s("status"));
        assert_eq!(s("key"), "key");
        assert_eq!(s("caches"), s("cache"));
        assert_eq!(s("cases"), s("case"));
        assert_eq!(s("images"), s("image"));
    }

    #[test]
    fn stopwords_are_lowercase_only() {
        assert!(is_stopword(b"the"));
        assert!(is_stopword(b"tsx"));
        assert!(!is_stopword(b"session"));
    }
}
