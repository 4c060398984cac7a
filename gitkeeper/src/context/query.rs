//! What the task text asks about: topic words (for ranking), code identifiers
//! it names (`getSession`, `UserCard`, `MAX_RETRIES`), and paths it mentions
//! (`src/lib/session.ts`, `api/projects`). Parsing is lenient: task text is
//! free prose from an issue and can contain anything.

use super::words;

/// File extensions that make a dotted word a file name (`session.ts`).
const FILE_EXTENSIONS: &[&str] = &[
    "ts", "tsx", "js", "jsx", "mjs", "cjs", "mts", "cts", "json", "md", "mdx", "prisma", "css",
    "scss", "sass", "less", "html", "vue", "svelte", "astro", "rs", "py", "go", "rb", "java", "kt",
    "swift", "php", "cs", "c", "h", "cpp", "hpp", "sql", "graphql", "gql", "yml", "yaml", "toml",
    "sh", "txt", "env",
];

/// Most distinct topic words kept from a task.
const MAX_TERMS: usize = 64;

/// One topic word of the task.
#[derive(Debug, Clone)]
pub(crate) struct Term {
    /// Lowercased, stemmed form.
    pub stem: Vec<u8>,
    /// How often it occurs in the task.
    pub count: u32,
}

/// The task, taken apart for file selection.
#[derive(Debug, Clone)]
pub(crate) struct Query {
    /// Topic words, in first-seen order.
    pub terms: Vec<Term>,
    /// Code identifiers named in the task, exact spelling.
    pub identifiers: Vec<String>,
    /// Paths or file names mentioned, without leading `./` or `/`.
    pub paths: Vec<String>,
    /// The task is about tests.
    pub wants_tests: bool,
    /// The task is about documentation.
    pub wants_docs: bool,
    first_byte: [bool; 256],
    min_len: usize,
    max_len: usize,
}

impl Default for Query {
    fn default() -> Self {
        Query {
            terms: Vec::new(),
            identifiers: Vec::new(),
            paths: Vec::new(),
            wants_tests: false,
            wants_docs: false,
            first_byte: [false; 256],
            min_len: usize::MAX,
            max_len: 0,
        }
    }
}

impl Query {
    /// Parses free task text.
    pub(crate) fn parse(task: &str) -> Self {
        let mut query = Query::default();
        query.collect_paths_and_backticks(task);
        query.collect_identifiers(task);
        query.collect_terms(task);
        query
    }

    /// Index of the term whose stem is `stem`, if the task has it.
    #[inline]
    pub(crate) fn term_index(&self, stem: &[u8]) -> Option<usize> {
        let len = stem.len();
        if len < self.min_len || len > self.max_len || !self.first_byte[stem[0] as usize] {
            return None;
        }
        self.terms
            .iter()
            .position(|t| t.stem.len() == len && t.stem[0] == stem[0] && t.stem == stem)
    }

    /// Index of an identifier named in the task, exact match.
    #[inline]
    pub(crate) fn identifier_index(&self, ident: &[u8]) -> Option<usize> {
        if self.identifiers.is_empty() {
            return None;
        }
        self.identifiers.iter().position(|i| {
            let i = i.as_bytes();
            i.len() == ident.len() && i.first() == ident.first() && i == ident
        })
    }

    fn collect_paths_and_backticks(&mut self, task: &str) {
        // Backticked spans: a path if it has a slash or a known extension,
        // otherwise an identifier if it is one word.
        let mut rest = task;
        while let Some(open) = rest.find('`') {
            let after = &rest[open + 1..];
            let Some(close) = after.find('`') else { break };
            let span = after[..close].trim();
            if let Some(path) = as_path(span) {
                push_unique(&mut self.paths, path);
            } else if is_identifier(span) {
                push_unique(&mut self.identifiers, span.to_string());
            } else if let Some(name) = call_name(span) {
                push_unique(&mut self.identifiers, name.to_string());
            }
            rest = &after[close + 1..];
        }
        for raw in task.split(|c: char| c.is_whitespace() || c == ',' || c == ';') {
            let wrapper = |c: char| {
                matches!(
                    c,
                    '`' | '\'' | '"' | '(' | ')' | '[' | ']' | '<' | '>' | ':' | '!' | '?' | '*'
                )
            };
            let token = raw
                .trim_start_matches(wrapper)
                .trim_end_matches(|c: char| wrapper(c) || c == '.');
            if let Some(path) = as_path(token) {
                push_unique(&mut self.paths, path);
            }
        }
    }

    fn collect_identifiers(&mut self, task: &str) {
        let bytes = task.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            if !is_ident_byte(bytes[i]) {
                i += 1;
                continue;
            }
            let start = i;
            while i < bytes.len() && is_ident_byte(bytes[i]) {
                i += 1;
            }
            let word = &task[start..i];
            // Part of a path or file name: handled as a path.
            let in_path = (start > 0 && matches!(bytes[start - 1], b'/' | b'.'))
                || (i < bytes.len() && matches!(bytes[i], b'/' | b'.') && {
                    let next = bytes.get(i + 1).copied().unwrap_or(b' ');
                    next.is_ascii_alphanumeric()
                });
            let called = task[i..].starts_with("()") || task[i..].starts_with('(');
            if !in_path && (looks_like_code(word) || (called && is_identifier(word))) {
                push_unique(&mut self.identifiers, word.to_string());
            }
        }
    }

    fn collect_terms(&mut self, task: &str) {
        let mut buf = Vec::new();
        for word in task.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '$')) {
            words::for_each_part(word.as_bytes(), |part| {
                if part.len() < 2 {
                    return;
                }
                buf.clear();
                buf.extend(part.iter().map(u8::to_ascii_lowercase));
                if words::is_stopword(&buf) {
                    return;
                }
                let stem = words::stem(&buf);
                if words::is_stopword(stem) {
                    return;
                }
                if let Some(term) = self.terms.iter_mut().find(|t| t.stem == stem) {
                    term.count += 1;
                } else if self.terms.len() < MAX_TERMS {
                    self.terms.push(Term {
                        stem: stem.to_vec(),
                        count: 1,
                    });
                }
            });
        }
        for term in &self.terms {
            self.first_byte[term.stem[0] as usize] = true;
            self.min_len = self.min_len.min(term.stem.len());
            self.max_len = self.max_len.max(term.stem.len());
        }
        let lower = task.to_ascii_lowercase();
        let has = |w: &str| {
            lower
                .split(|c: char| !c.is_ascii_alphanumeric())
                .any(|x| x == w)
        };
        self.wants_tests = ["test", "tests", "testing", "spec", "specs", "e2e", "unit"]
            .iter()
            .any(|w| has(w));
        self.wants_docs = ["doc", "docs", "readme", "documentation", "documented"]
            .iter()
            .any(|w| has(w));
    }
}

fn push_unique(list: &mut Vec<String>, item: String) {
    if !list.contains(&item) {
        list.push(item);
    }
}

fn is_ident_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'$'
}

/// A single code identifier: letters, digits, `_`, `$`, not starting with a digit.
fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_' || c == '$')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$')
        && s.len() >= 2
}

/// `getSession()` or `prisma.user.findMany(...)` → the last called name.
fn call_name(span: &str) -> Option<&str> {
    let head = span.split('(').next()?.trim();
    let name = head.rsplit('.').next()?;
    is_identifier(name).then_some(name)
}

/// Identifier shapes prose words don't have: camelCase, PascalCase with two
/// humps, snake_case, SCREAMING_CASE.
fn looks_like_code(word: &str) -> bool {
    let b = word.as_bytes();
    if b.len() < 3 || b[0].is_ascii_digit() || !b.iter().any(u8::is_ascii_alphabetic) {
        return false;
    }
    let lower_then_upper = b
        .windows(2)
        .any(|w| w[0].is_ascii_lowercase() && w[1].is_ascii_uppercase());
    let inner_underscore = b
        .iter()
        .enumerate()
        .any(|(i, &c)| c == b'_' && i > 0 && i + 1 < b.len());
    let has_lower = b.iter().any(u8::is_ascii_lowercase);
    lower_then_upper || inner_underscore || (b.contains(&b'$') && has_lower)
}

/// Normalizes a path-like token, or `None` when it is not one.
fn as_path(token: &str) -> Option<String> {
    if token.is_empty() || token.contains("://") || token.contains(char::is_whitespace) {
        return None;
    }
    let trimmed = token
        .trim_start_matches("./")
        .trim_start_matches('/')
        .trim_end_matches('/');
    if trimmed.is_empty() || !trimmed.bytes().any(|b| b.is_ascii_alphabetic()) {
        return None;
    }
    if !trimmed.bytes().all(|b| {
        b.is_ascii_alphanumeric()
            || matches!(
                b,
                b'/' | b'.' | b'_' | b'-' | b'@' | b'[' | b']' | b'(' | b')' | b'+'
            )
    }) {
        return None;
    }
    let has_slash = trimmed.contains('/')
        && trimmed
            .split('/')
            .filter(|s| s.bytes().any(|b| b.is_ascii_alphanumeric()))
            .count()
            >= 2;
    let name = trimmed.rsplit('/').next().unwrap_or(trimmed);
    let has_ext = name
        .rsplit_once('.')
        .is_some_and(|(stem, ext)| !stem.is_empty() && FILE_EXTENSIONS.contains(&ext));
    let dotfile = name.starts_with('.') && name.len() > 1;
    (has_slash || has_ext || dotfile).then(|| trimmed.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stems(q: &Query) -> Vec<String> {
        q.terms
            .iter()
            .map(|t| String::from_utf8_lossy(&t.stem).into_owned())
            .collect()
    }

    #[test]
    fn task_paths_are_found_and_normalized() {
        let q = Query::parse(
            "Create /api/projects endpoint, use ./src/lib/session.ts for auth (see `prisma/schema.prisma`).",
        );
        assert_eq!(
            q.paths,
            ["prisma/schema.prisma", "api/projects", "src/lib/session.ts"]
        );
    }

    #[test]
    fn code_identifiers_are_found_but_prose_is_not() {
        let q = Query::parse(
            "The UserCard should call getSession() and respect MAX_RETRIES; `formatDate` is broken. Users want This.",
        );
        assert_eq!(
            q.identifiers,
            ["formatDate", "UserCard", "getSession", "MAX_RETRIES"]
        );
    }

    #[test]
    fn terms_are_stemmed_and_stopwords_dropped() {
        let q = Query::parse("Add archived projects to the project list in ProjectList.tsx");
        assert_eq!(stems(&q), ["archiv", "project", "list"]);
        assert_eq!(q.terms[1].count, 3);
        assert_eq!(q.term_index(b"list"), Some(2));
        assert_eq!(q.term_index(b"lis"), None);
    }

    #[test]
    fn test_and_doc_intent_is_detected() {
        assert!(Query::parse("Add unit tests for the invoice service").wants_tests);
        assert!(!Query::parse("Add a contest page").wants_tests);
        assert!(Query::parse("Update the README").wants_docs);
    }

    #[test]
    fn prose_with_slashes_or_dots_is_not_a_path() {
        let q = Query::parse("Fix it, e.g. the 3/4 case, see https://example.com/x. Done.");
        assert!(q.paths.is_empty(), "{:?}", q.paths);
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            #[test]
            fn any_task_text_parses(task in "\\PC{0,300}") {
                let q = Query::parse(&task);
                prop_assert!(q.terms.len() <= MAX_TERMS);
                for t in &q.terms {
                    prop_assert!(!t.stem.is_empty());
                    prop_assert_eq!(q.term_index(&t.stem).map(|i| &q.terms[i].stem), Some(&t.stem));
                }
            }
        }
    }
}
