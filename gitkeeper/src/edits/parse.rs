//! Parsing a model's answer into [`Edits`]: strict about structure (every
//! block complete, every block with a path), tolerant about the drift small
//! models produce (fences around blocks, language tags, the path on the fence
//! line or in a comment, CRLF, trailing whitespace, prose between blocks).
//! It must never panic on any input and never guess content: a block that is
//! cut off is an error, not a truncated file. Paths are checked later, by
//! `paths` when the edits are applied.

use thiserror::Error;

use super::format::{Edit, EditKind, Edits};

/// What a model answered: edits, or a question it needs answered first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParsedEdits {
    /// The model proposed these changes and asked nothing.
    Edits(Edits),
    /// The model wrote `CLARIFICATION_NEEDED: <question>`. Any edits given
    /// alongside are kept, but the question wins: the job should ask it.
    ClarificationNeeded {
        /// The question to put to the issue's author, as the model wrote it.
        question: String,
        /// Edits the answer held besides the question (usually none).
        edits: Edits,
    },
}

impl ParsedEdits {
    /// The proposed edits whatever the answer was (empty for a bare question).
    pub fn edits(&self) -> &Edits {
        match self {
            ParsedEdits::Edits(edits) | ParsedEdits::ClarificationNeeded { edits, .. } => edits,
        }
    }

    /// The clarification question, when the model asked one instead of finishing.
    pub fn question(&self) -> Option<&str> {
        match self {
            ParsedEdits::Edits(_) => None,
            ParsedEdits::ClarificationNeeded { question, .. } => Some(question),
        }
    }
}

/// Knobs for answers to prompts other than the standard edit format.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ParseOptions {
    /// The prompt asked for the complete content of this one file only (the
    /// seed prompt's "Return ONLY the complete file content"): an answer with
    /// no edit blocks is read as that file's content.
    pub single_file: Option<String>,
}

/// One structural problem in an answer, with the line it starts on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseProblem {
    /// 1-based line number in the answer.
    pub line: usize,
    /// What is wrong and how to write it, addressed to the model.
    pub message: String,
}

/// Why an answer yields no usable edits; [`ParseError::feedback`] is the
/// text to send back to the model.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum ParseError {
    /// The answer is prose or bare code: nothing says which file to change.
    #[error(
        "the answer holds no edit blocks; the model must answer in the edit format (FORMAT_DOC)"
    )]
    NoEdits {
        /// A code block that had no file path, if there was one.
        unnamed_code_block_line: Option<usize>,
    },
    /// Some blocks are cut off or lack a path; nothing is applied from a partly broken answer.
    #[error("the answer has {} malformed edit block(s), first at line {}: {}",
        problems.len(),
        problems.first().map_or(0, |p| p.line),
        problems.first().map_or("", |p| p.message.as_str()))]
    Malformed {
        /// Every broken block, in answer order, so one retry can fix them all.
        problems: Vec<ParseProblem>,
    },
}

impl ParseError {
    /// A precise message for the model's next attempt.
    pub fn feedback(&self) -> String {
        match self {
            ParseError::NoEdits {
                unnamed_code_block_line: Some(line),
            } => format!(
                "Your answer had no usable edit blocks. The code block at line {line} has no file \
                 path, so it was ignored. Write `FILE: path/to/file` on the line before a code \
                 block with the complete file, or use SEARCH/REPLACE blocks with the file path \
                 alone on the line before `<<<<<<< SEARCH`."
            ),
            ParseError::NoEdits {
                unnamed_code_block_line: None,
            } => "Your answer had no edit blocks. Answer only with edit blocks in the edit format \
                  (SEARCH/REPLACE blocks or FILE blocks, each with its file path), or with \
                  `CLARIFICATION_NEEDED: <question>`."
                .to_string(),
            ParseError::Malformed { problems } => {
                let mut out = String::from(
                    "Your answer could not be used because some edit blocks are malformed. \
                     Nothing was applied. Send all edits again with these fixed:\n",
                );
                for problem in problems {
                    out.push_str(&format!("- line {}: {}\n", problem.line, problem.message));
                }
                out
            }
        }
    }
}

/// Parses a model answer in the edit format (see `FORMAT.md`).
pub fn parse_edits(text: &str) -> Result<ParsedEdits, ParseError> {
    parse_edits_with(text, &ParseOptions::default())
}

/// [`parse_edits`] with options for non-standard prompts.
pub fn parse_edits_with(text: &str, options: &ParseOptions) -> Result<ParsedEdits, ParseError> {
    let normalized = normalize_newlines(text);
    let mut parser = Parser::new(&normalized);
    parser.run();
    parser.finish(options)
}

fn normalize_newlines(text: &str) -> String {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    text.replace("\r\n", "\n").replace('\r', "\n")
}

// ---------------------------------------------------------------------------
// Line classification, shared with the renderer so both read lines alike.

/// A block marker line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Marker {
    /// `<<<<<<< SEARCH`, possibly with the path after it.
    Search(Option<String>),
    /// `=======`
    Divider,
    /// `>>>>>>> REPLACE`
    Replace,
}

pub(crate) fn marker(line: &str) -> Option<Marker> {
    let t = line.trim();
    let run = |c: char| t.chars().take_while(|&x| x == c).count();
    let lt = run('<');
    if (5..=9).contains(&lt) {
        let rest = t[lt..].trim_start();
        let (word, tail) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
        let word = word.strip_suffix(':').unwrap_or(word);
        if word.eq_ignore_ascii_case("SEARCH") || word.eq_ignore_ascii_case("ORIGINAL") {
            let tail = tail.trim();
            let path = path_line(tail).filter(|_| !tail.is_empty());
            return Some(Marker::Search(path));
        }
        return None;
    }
    let eq = run('=');
    if (5..=9).contains(&eq) && eq == t.len() {
        return Some(Marker::Divider);
    }
    let gt = run('>');
    if (5..=9).contains(&gt) {
        let rest = t[gt..].trim();
        let rest = rest.strip_suffix(':').unwrap_or(rest);
        if rest.is_empty()
            || rest.eq_ignore_ascii_case("REPLACE")
            || rest.eq_ignore_ascii_case("UPDATED")
        {
            return Some(Marker::Replace);
        }
    }
    None
}

/// A code fence opening (or closing) line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Fence {
    ch: char,
    len: usize,
    info: String,
}

fn fence_open(line: &str) -> Option<Fence> {
    let t = line.trim();
    let ch = t.chars().next()?;
    if ch != '`' && ch != '~' {
        return None;
    }
    let len = t.chars().take_while(|&c| c == ch).count();
    if len < 3 {
        return None;
    }
    let info = t[len..].trim();
    if ch == '`' && info.contains('`') {
        return None;
    }
    Some(Fence {
        ch,
        len,
        info: info.to_string(),
    })
}

fn closes(line: &str, fence: &Fence) -> bool {
    let t = line.trim();
    t.len() >= fence.len && t.chars().all(|c| c == fence.ch)
}

/// `FILE:`, `DELETE:` and `RENAME:` lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Directive {
    File(String),
    Delete(String),
    Rename(String, String),
    /// A directive keyword with no usable path after it.
    Bad {
        keyword: &'static str,
        rest: String,
    },
}

fn directive(t: &str) -> Option<Directive> {
    let s = strip_decoration(t);
    let (keyword, rest) = s.split_once(':')?;
    let rest = rest.trim_start_matches('*');
    let keyword: String = keyword
        .trim()
        .trim_matches('*')
        .trim()
        .chars()
        .map(|c| {
            if c == '_' || c == '-' {
                ' '
            } else {
                c.to_ascii_uppercase()
            }
        })
        .collect();
    let keyword = match keyword.as_str() {
        "FILE" | "NEW FILE" => "FILE",
        "DELETE" | "DELETE FILE" => "DELETE",
        "RENAME" | "RENAME FILE" | "MOVE" => "RENAME",
        _ => return None,
    };
    let rest = rest.trim();
    let bad = || Directive::Bad {
        keyword,
        rest: rest.to_string(),
    };
    Some(match keyword {
        "FILE" => directive_path(rest).map_or_else(bad, Directive::File),
        "DELETE" => directive_path(rest).map_or_else(bad, Directive::Delete),
        _ => match split_arrow(rest) {
            Some((from, to)) => match (directive_path(from), directive_path(to)) {
                (Some(from), Some(to)) => Directive::Rename(from, to),
                _ => bad(),
            },
            None => bad(),
        },
    })
}

const ARROWS: [&str; 3] = ["->", "=>", "→"];

fn split_arrow(s: &str) -> Option<(&str, &str)> {
    ARROWS
        .iter()
        .filter_map(|arrow| s.find(arrow).map(|at| (at, arrow.len())))
        .min()
        .map(|(at, len)| (&s[..at], &s[at + len..]))
}

/// The path after a directive keyword: backticked or quoted (spaces allowed),
/// or a bare token, optionally followed by a parenthesised remark.
fn directive_path(rest: &str) -> Option<String> {
    let s = strip_emphasis(rest.trim()).trim();
    let s = s.strip_suffix(':').unwrap_or(s).trim();
    if let Some(inner) = unquote(s) {
        return is_path_token(inner, true).then(|| inner.to_string());
    }
    if is_path_token(s, false) {
        return Some(s.to_string());
    }
    // `FILE: src/a.ts (new)`: the first token when the rest is a remark.
    let (first, remark) = s.split_once(char::is_whitespace)?;
    let remark = remark.trim();
    (remark.starts_with('(') && remark.ends_with(')') && looks_like_path(first, false))
        .then(|| first.to_string())
}

fn unquote(s: &str) -> Option<&str> {
    for q in ['`', '"', '\''] {
        if let Some(inner) = s.strip_prefix(q).and_then(|r| r.strip_suffix(q)) {
            if !inner.contains(q) {
                return Some(inner);
            }
        }
    }
    None
}

/// `CLARIFICATION_NEEDED: question`; the question may be empty.
fn clarification(t: &str) -> Option<String> {
    let s = strip_decoration(t).trim_start_matches(['*', '_', '`']);
    const KEY: &str = "clarification_needed";
    let head = s.get(..KEY.len())?;
    let head: String = head
        .chars()
        .map(|c| if c == ' ' || c == '-' { '_' } else { c })
        .collect();
    if !head.eq_ignore_ascii_case(KEY) {
        return None;
    }
    let rest = s[KEY.len()..].trim_start_matches(['*', '_']);
    if !(rest.is_empty() || rest.starts_with(':') || rest.starts_with(char::is_whitespace)) {
        return None;
    }
    let rest = rest.trim_start();
    let rest = rest.strip_prefix(':').unwrap_or(rest);
    let rest = rest.trim();
    let rest = strip_emphasis(rest);
    let rest = rest.trim_matches('`').trim();
    Some(rest.to_string())
}

/// A line that only names a file: `src/a.ts`, `` `src/a.ts` ``, `**src/a.ts**`,
/// `### src/a.ts`, `// src/a.ts`, `<!-- src/a.ts -->`, `File: src/a.ts`, ...
pub(crate) fn path_line(t: &str) -> Option<String> {
    let mut s = t.trim();
    for _ in 0..4 {
        let before = s;
        s = strip_decoration(s);
        for (open, close) in [("<!--", "-->"), ("{/*", "*/}"), ("/*", "*/")] {
            if let Some(inner) = s.strip_prefix(open).and_then(|r| r.strip_suffix(close)) {
                s = inner.trim();
            }
        }
        for prefix in ["//", "--", ";;", ";", "%", "#"] {
            if let Some(rest) = s.strip_prefix(prefix) {
                if rest.starts_with(char::is_whitespace) {
                    s = rest.trim();
                }
            }
        }
        if let Some(rest) = strip_label(s) {
            s = rest;
        }
        s = s.strip_suffix(':').unwrap_or(s).trim();
        if s == before {
            break;
        }
    }
    if let Some(inner) = unquote(s) {
        return looks_like_path(inner, true).then(|| inner.to_string());
    }
    looks_like_path(s, false).then(|| s.to_string())
}

/// `File: x`, `**File:** x`, `Path: x`: the text after a path label.
fn strip_label(s: &str) -> Option<&str> {
    let t = s.trim_start_matches(['*', '_']);
    for label in [
        "file path:",
        "filepath:",
        "filename:",
        "file name:",
        "file:",
        "path:",
    ] {
        if t.len() >= label.len()
            && t.is_char_boundary(label.len())
            && t[..label.len()].eq_ignore_ascii_case(label)
        {
            return Some(t[label.len()..].trim_start_matches(['*', '_']).trim());
        }
    }
    None
}

/// A prose line ending with `:` that names exactly one file in backticks:
/// "Here is the updated `src/a.ts`:".
fn prose_path(t: &str) -> Option<String> {
    let s = t.strip_suffix(':')?;
    let mut parts = s.split('`');
    parts.next()?;
    let path = parts.next()?;
    parts.next()?;
    if parts.next().is_some() {
        return None;
    }
    looks_like_path(path, false).then(|| path.to_string())
}

/// The path a fence line names in its info string: ```` ```ts src/a.ts ````,
/// ```` ```src/a.ts ````, ```` ```ts:src/a.ts ````, ```` ```ts title="src/a.ts" ````.
fn info_path(info: &str) -> Option<String> {
    for token in info.split_whitespace() {
        let mut tok = token;
        for key in ["file=", "filename=", "path=", "title=", "name="] {
            if tok.len() >= key.len()
                && tok.is_char_boundary(key.len())
                && tok[..key.len()].eq_ignore_ascii_case(key)
            {
                tok = &tok[key.len()..];
            }
        }
        let tok = unquote(tok).unwrap_or(tok);
        if let Some((lang, rest)) = tok.split_once(':') {
            if lang.chars().all(|c| c.is_ascii_alphanumeric()) && looks_like_path(rest, false) {
                return Some(rest.to_string());
            }
        }
        if looks_like_path(tok, false) {
            return Some(tok.to_string());
        }
    }
    None
}

const KNOWN_NAMES: [&str; 16] = [
    "Dockerfile",
    "Containerfile",
    "Makefile",
    "GNUmakefile",
    "Justfile",
    "Procfile",
    "Gemfile",
    "Rakefile",
    "Jenkinsfile",
    "Vagrantfile",
    "Brewfile",
    "LICENSE",
    "README",
    "CODEOWNERS",
    "BUILD",
    "WORKSPACE",
];

/// Whether `s` could be a path at all (after a directive keyword, which says
/// it is one): safety is checked later, so `../x` passes here.
fn is_path_token(s: &str, relaxed: bool) -> bool {
    !s.is_empty()
        && s.len() <= 1024
        && s.trim() == s
        && !s.chars().any(forbidden_in_path)
        && (relaxed || !s.chars().any(char::is_whitespace))
}

fn forbidden_in_path(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '<' | '>' | '|' | '"' | '\'' | '`' | '*' | '?' | '{' | '}'
        )
        || matches!(c, '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}')
        || matches!(c, '\u{2060}'..='\u{2069}' | '\u{feff}')
}

/// Whether `s` reads as a file path (not as prose). `relaxed` allows spaces,
/// for paths a model quoted.
pub(crate) fn looks_like_path(s: &str, relaxed: bool) -> bool {
    if s.is_empty() || s.len() > 1024 || s.trim() != s || s.contains("://") {
        return false;
    }
    if s.chars().any(forbidden_in_path) {
        return false;
    }
    if !relaxed && s.chars().any(char::is_whitespace) {
        return false;
    }
    if !s.chars().any(char::is_alphanumeric) {
        return false;
    }
    let last = s.rsplit(['/', '\\']).next().unwrap_or(s);
    if last.is_empty() {
        return false;
    }
    if KNOWN_NAMES.contains(&last) {
        return true;
    }
    let has_extension = last.rfind('.').is_some_and(|dot| {
        let ext = &last[dot + 1..];
        !ext.is_empty()
            && ext.chars().any(|c| c.is_ascii_alphabetic())
            && ext
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    });
    let has_dir = s
        .split(['/', '\\'])
        .filter(|part| part.chars().any(char::is_alphanumeric))
        .count()
        >= 2;
    has_extension || has_dir
}

/// Strips markdown decoration around a line: blockquote `>`, list markers,
/// heading `#`s, and `**`/`__` emphasis.
fn strip_decoration(t: &str) -> &str {
    let mut s = t.trim();
    for _ in 0..4 {
        let before = s;
        if let Some(rest) = s.strip_prefix('>') {
            s = rest.trim_start();
        }
        for bullet in ["- ", "* ", "+ "] {
            if let Some(rest) = s.strip_prefix(bullet) {
                s = rest.trim_start();
            }
        }
        let digits = s.chars().take_while(char::is_ascii_digit).count();
        if digits > 0 && digits < 4 {
            if let Some(rest) = s[digits..]
                .strip_prefix(". ")
                .or_else(|| s[digits..].strip_prefix(") "))
            {
                s = rest.trim_start();
            }
        }
        let hashes = s.chars().take_while(|&c| c == '#').count();
        if (1..=6).contains(&hashes) && s[hashes..].starts_with(' ') {
            s = s[hashes..].trim_start();
        }
        s = strip_emphasis(s).trim();
        if s == before {
            break;
        }
    }
    s
}

fn strip_emphasis(s: &str) -> &str {
    for mark in ["**", "__"] {
        if let Some(inner) = s.strip_prefix(mark).and_then(|r| r.strip_suffix(mark)) {
            return inner;
        }
        if let Some(inner) = s.strip_prefix(mark) {
            if !inner.contains(mark) {
                return inner;
            }
        }
        if let Some(inner) = s.strip_suffix(mark) {
            if !inner.contains(mark) {
                return inner;
            }
        }
    }
    s
}

/// How the main loop reads a line outside blocks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum LineKind {
    Blank,
    Clarification(String),
    Marker(Marker),
    Directive(Directive),
    Fence(Fence),
    Path(String),
    Prose,
}

pub(crate) fn classify(line: &str) -> LineKind {
    let t = line.trim();
    if t.is_empty() {
        return LineKind::Blank;
    }
    if let Some(question) = clarification(t) {
        return LineKind::Clarification(question);
    }
    if let Some(m) = marker(t) {
        return LineKind::Marker(m);
    }
    if let Some(d) = directive(t) {
        return LineKind::Directive(d);
    }
    if let Some(f) = fence_open(t) {
        return LineKind::Fence(f);
    }
    if let Some(p) = path_line(t) {
        return LineKind::Path(p);
    }
    LineKind::Prose
}

/// The path a header line before a SEARCH block names, read as the parser
/// reads it.
pub(crate) fn header_path(line: &str) -> Option<String> {
    match classify(line) {
        LineKind::Path(path) => Some(path),
        _ => None,
    }
}

/// The directive a line holds, read as the parser reads it.
pub(crate) fn directive_line(line: &str) -> Option<Directive> {
    match classify(line) {
        LineKind::Directive(d) => Some(d),
        _ => None,
    }
}

// ---------------------------------------------------------------------------
// The parser proper.

struct Parser<'a> {
    lines: Vec<&'a str>,
    edits: Vec<Edit>,
    problems: Vec<ParseProblem>,
    questions: Vec<String>,
    /// A path named just before, waiting for its block.
    pending: Option<String>,
    /// The path of the previous block, for a SEARCH block that names none.
    last_path: Option<String>,
    /// Fences that wrap edit blocks rather than hold file content.
    wrappers: Vec<Fence>,
    /// Code blocks without a path: (line index, content).
    unnamed: Vec<(usize, String)>,
}

impl<'a> Parser<'a> {
    fn new(text: &'a str) -> Self {
        Parser {
            lines: text.split('\n').collect(),
            edits: Vec::new(),
            problems: Vec::new(),
            questions: Vec::new(),
            pending: None,
            last_path: None,
            wrappers: Vec::new(),
            unnamed: Vec::new(),
        }
    }

    fn problem(&mut self, index: usize, message: String) {
        self.problems.push(ParseProblem {
            line: index + 1,
            message,
        });
    }

    fn next_nonblank(&self, from: usize) -> Option<usize> {
        (from..self.lines.len()).find(|&k| !self.lines[k].trim().is_empty())
    }

    fn run(&mut self) {
        let n = self.lines.len();
        let mut i = 0;
        while i < n {
            let line = self.lines[i];
            if let Some(wrapper) = self.wrappers.last() {
                if closes(line, wrapper) {
                    self.wrappers.pop();
                    i += 1;
                    continue;
                }
            }
            i = match classify(line) {
                LineKind::Blank => i + 1,
                LineKind::Clarification(question) => self.clarification(i, question),
                LineKind::Marker(Marker::Search(inline)) => self.search_block(i, inline),
                LineKind::Marker(Marker::Divider) => i + 1,
                LineKind::Marker(Marker::Replace) => {
                    self.problem(
                        i,
                        "`>>>>>>> REPLACE` without a block before it: every block is the file \
                         path, `<<<<<<< SEARCH`, the old lines, `=======`, the new lines, then \
                         `>>>>>>> REPLACE`"
                            .to_string(),
                    );
                    i + 1
                }
                LineKind::Directive(d) => self.directive(i, d),
                LineKind::Fence(fence) => self.fence(i, fence),
                LineKind::Path(path) => {
                    self.pending = Some(path);
                    i + 1
                }
                LineKind::Prose => {
                    self.pending = prose_path(line.trim()).filter(|_| {
                        self.next_nonblank(i + 1)
                            .is_some_and(|k| fence_open(self.lines[k]).is_some())
                    });
                    i + 1
                }
            };
        }
    }

    fn clarification(&mut self, i: usize, question: String) -> usize {
        if !question.is_empty() {
            self.questions.push(question);
            return i + 1;
        }
        // The question on the following lines, up to a blank line.
        let mut k = i + 1;
        let mut parts = Vec::new();
        while k < self.lines.len() && classify(self.lines[k]) == LineKind::Prose {
            parts.push(self.lines[k].trim());
            k += 1;
        }
        if parts.is_empty() {
            self.problem(
                i,
                "`CLARIFICATION_NEEDED:` must be followed by your question on the same line"
                    .to_string(),
            );
        } else {
            self.questions.push(parts.join(" "));
        }
        k
    }

    fn search_block(&mut self, i: usize, inline: Option<String>) -> usize {
        let n = self.lines.len();
        let path = inline
            .or_else(|| self.pending.take())
            .or_else(|| self.last_path.clone());
        self.pending = None;
        let name = path
            .as_deref()
            .map_or_else(String::new, |p| format!(" for `{p}`"));
        let mut k = i + 1;
        let mut search = String::new();
        loop {
            if k >= n {
                self.problem(
                    i,
                    format!(
                        "the SEARCH block{name} ends before its `=======` line; the answer may \
                         have been cut off: send the complete block"
                    ),
                );
                return n;
            }
            match marker(self.lines[k]) {
                Some(Marker::Divider) => break,
                Some(Marker::Search(_)) => {
                    self.problem(
                        i,
                        format!(
                            "the SEARCH block{name} has no `=======` line before the next block"
                        ),
                    );
                    return self.next_block_start(i, k);
                }
                Some(Marker::Replace) => {
                    self.problem(
                        i,
                        format!(
                            "the SEARCH block{name} has no `=======` line between the old and the \
                             new lines"
                        ),
                    );
                    return k + 1;
                }
                None => {
                    search.push_str(self.lines[k]);
                    search.push('\n');
                }
            }
            k += 1;
        }
        k += 1;
        let mut replace = String::new();
        loop {
            if k >= n {
                self.problem(
                    i,
                    format!(
                        "the SEARCH block{name} never ends with `>>>>>>> REPLACE`; the answer may \
                         have been cut off: send the complete block"
                    ),
                );
                return n;
            }
            match marker(self.lines[k]) {
                Some(Marker::Replace) => break,
                Some(Marker::Search(_)) => {
                    self.problem(
                        i,
                        format!(
                            "the SEARCH block{name} does not end with `>>>>>>> REPLACE` before \
                             the next block starts"
                        ),
                    );
                    return self.next_block_start(i, k);
                }
                _ => {
                    replace.push_str(self.lines[k]);
                    replace.push('\n');
                }
            }
            k += 1;
        }
        match path {
            Some(path) => {
                self.last_path = Some(path.clone());
                self.edits.push(Edit {
                    path,
                    kind: EditKind::Replace { search, replace },
                });
            }
            None => self.problem(
                i,
                "the SEARCH block has no file path: write the path alone on the line before \
                 `<<<<<<< SEARCH`"
                    .to_string(),
            ),
        }
        k + 1
    }

    /// Where to resume after a block (started at `start`) that was cut short
    /// by the SEARCH marker at `marker`: at the path line naming the next
    /// block, if there is one.
    fn next_block_start(&self, start: usize, marker: usize) -> usize {
        let previous = (start + 1..marker)
            .rev()
            .find(|&k| !self.lines[k].trim().is_empty());
        match previous {
            Some(k) if matches!(classify(self.lines[k]), LineKind::Path(_)) => k,
            _ => marker,
        }
    }

    fn directive(&mut self, i: usize, directive: Directive) -> usize {
        self.pending = None;
        match directive {
            Directive::File(path) => self.file_block(i, path),
            Directive::Delete(path) => {
                self.edits.push(Edit {
                    path,
                    kind: EditKind::Delete,
                });
                i + 1
            }
            Directive::Rename(from, to) => {
                self.edits.push(Edit {
                    path: from,
                    kind: EditKind::Rename { to },
                });
                i + 1
            }
            Directive::Bad { keyword, rest } => {
                let usage = match keyword {
                    "RENAME" => "`RENAME: old/path.ts -> new/path.ts`",
                    "DELETE" => "`DELETE: path/to/file.ts`",
                    _ => "`FILE: path/to/file.ts`",
                };
                self.problem(
                    i,
                    format!(
                        "`{keyword}: {rest}` does not name a file path; write {usage} with one \
                         path relative to the repository root"
                    ),
                );
                i + 1
            }
        }
    }

    /// `FILE: path` then a fenced block (or, drifted, raw lines) with the content.
    fn file_block(&mut self, i: usize, path: String) -> usize {
        let n = self.lines.len();
        let Some(j) = self.next_nonblank(i + 1) else {
            self.problem(
                i,
                format!("`FILE: {path}` is not followed by the file content in a code block"),
            );
            return n;
        };
        if let Some(Marker::Search(_)) = marker(self.lines[j]) {
            // The model used `FILE:` to name the file of a SEARCH block.
            self.pending = Some(path);
            return j;
        }
        // Raw content, unless a code block comes before the next directive.
        let block_end = (j..n)
            .find(|&k| {
                matches!(
                    classify(self.lines[k]),
                    LineKind::Directive(_) | LineKind::Clarification(_)
                )
            })
            .unwrap_or(n);
        let Some(f) = (j..block_end).find_map(|k| fence_open(self.lines[k]).map(|f| (k, f))) else {
            let content = join_lines(trim_blank_edges(&self.lines[j..block_end]));
            self.last_path = Some(path.clone());
            self.edits.push(Edit {
                path,
                kind: EditKind::WholeFile { content },
            });
            return block_end;
        };
        let (j, fence) = f;
        if self.file_fence_wraps(j) {
            self.pending = Some(path);
            self.wrappers.push(fence);
            return j + 1;
        }
        let Some(close) = self.find_close(j + 1, &fence) else {
            self.problem(
                j,
                format!(
                    "the code block for `{path}` is never closed with `{}`; the answer may have \
                     been cut off: send the complete file",
                    fence_text(&fence)
                ),
            );
            return n;
        };
        let mut body = &self.lines[j + 1..close];
        if let Some(first) = body.iter().position(|l| !l.trim().is_empty()) {
            let rest_has_content = body[first + 1..].iter().any(|l| !l.trim().is_empty());
            if rest_has_content && path_line(body[first]).as_deref() == Some(path.as_str()) {
                body = &body[first + 1..];
            }
        }
        let content = join_lines(body);
        self.last_path = Some(path.clone());
        self.edits.push(Edit {
            path,
            kind: EditKind::WholeFile { content },
        });
        close + 1
    }

    /// A fence outside a FILE block: a wrapper around edit blocks, a whole file
    /// named on the line before / on the fence line / in a first-line comment,
    /// or a code block without a path (ignored).
    fn fence(&mut self, i: usize, fence: Fence) -> usize {
        let n = self.lines.len();
        if self.is_wrapper(i, &fence) {
            if let Some(path) = info_path(&fence.info) {
                self.pending = Some(path);
            }
            self.wrappers.push(fence);
            return i + 1;
        }
        let close = self.find_close(i + 1, &fence);
        let end = close.unwrap_or(n);
        let body = &self.lines[i + 1..end];
        let mut path = info_path(&fence.info).or_else(|| self.pending.take());
        self.pending = None;
        let mut start = 0;
        let first = body.iter().position(|l| !l.trim().is_empty());
        if let Some(first) = first {
            if let Some(named) = path_line(body[first]) {
                let rest_has_content = body[first + 1..].iter().any(|l| !l.trim().is_empty());
                if !rest_has_content {
                    // A block that only names a path: the path of what follows.
                    self.pending = Some(named);
                    return (end + 1).min(n);
                }
                if path.is_none() || path.as_deref() == Some(named.as_str()) {
                    path = Some(named);
                    start = first + 1;
                }
            }
        }
        let Some(path) = path else {
            if let Some(question) = first.and_then(|f| clarification(body[f].trim())) {
                if !question.is_empty() {
                    self.questions.push(question);
                }
            } else if first.is_some() {
                self.unnamed.push((i, join_lines(body)));
            }
            return (end + 1).min(n);
        };
        if close.is_none() {
            self.problem(
                i,
                format!(
                    "the code block for `{path}` is never closed with `{}`; the answer may have \
                     been cut off: send the complete file",
                    fence_text(&fence)
                ),
            );
            return n;
        }
        self.last_path = Some(path.clone());
        self.edits.push(Edit {
            path,
            kind: EditKind::WholeFile {
                content: join_lines(&body[start..]),
            },
        });
        end + 1
    }

    /// Whether the fence opened at `open` wraps edit blocks: its first line is
    /// a directive or question, or a SEARCH marker comes before it closes.
    fn is_wrapper(&self, open: usize, fence: &Fence) -> bool {
        if let Some(first) = self.next_nonblank(open + 1) {
            if matches!(
                classify(self.lines[first]),
                LineKind::Directive(_) | LineKind::Clarification(_)
            ) {
                return true;
            }
        }
        for line in &self.lines[open + 1..] {
            if closes(line, fence) {
                return false;
            }
            if let Some(Marker::Search(_)) = marker(line) {
                return true;
            }
        }
        false
    }

    /// Whether the fence after `FILE: path` (at `open`) wraps edit blocks
    /// instead of holding the file: decided by its first lines only, so a
    /// file may contain SEARCH markers further down.
    fn file_fence_wraps(&self, open: usize) -> bool {
        let Some(first) = self.next_nonblank(open + 1) else {
            return false;
        };
        match classify(self.lines[first]) {
            LineKind::Marker(Marker::Search(_))
            | LineKind::Directive(_)
            | LineKind::Clarification(_) => true,
            LineKind::Path(_) => self
                .next_nonblank(first + 1)
                .is_some_and(|k| matches!(marker(self.lines[k]), Some(Marker::Search(_)))),
            _ => false,
        }
    }

    /// The line closing a code block whose content starts at `start`; inner
    /// fences of the same length that carry a language tag nest.
    fn find_close(&self, start: usize, fence: &Fence) -> Option<usize> {
        let mut depth = 0usize;
        for (k, line) in self.lines.iter().enumerate().skip(start) {
            if closes(line, fence) {
                if depth == 0 {
                    return Some(k);
                }
                depth -= 1;
            } else if let Some(inner) = fence_open(line) {
                if inner.ch == fence.ch && inner.len == fence.len && !inner.info.is_empty() {
                    depth += 1;
                }
            }
        }
        None
    }

    fn finish(self, options: &ParseOptions) -> Result<ParsedEdits, ParseError> {
        if !self.problems.is_empty() {
            return Err(ParseError::Malformed {
                problems: self.problems,
            });
        }
        let mut edits = self.edits;
        if !self.questions.is_empty() {
            return Ok(ParsedEdits::ClarificationNeeded {
                question: self.questions.join("\n"),
                edits: Edits(edits),
            });
        }
        if edits.is_empty() {
            if let Some(path) = &options.single_file {
                let content = match self.unnamed.as_slice() {
                    [(_, content)] => Some(content.clone()),
                    [] => {
                        let whole = join_lines(trim_blank_edges(&self.lines));
                        (!whole.is_empty()).then_some(whole)
                    }
                    _ => None,
                };
                if let Some(content) = content {
                    edits.push(Edit {
                        path: path.clone(),
                        kind: EditKind::WholeFile { content },
                    });
                }
            }
        }
        if edits.is_empty() {
            return Err(ParseError::NoEdits {
                unnamed_code_block_line: self.unnamed.first().map(|(line, _)| line + 1),
            });
        }
        Ok(ParsedEdits::Edits(Edits(edits)))
    }
}

fn fence_text(fence: &Fence) -> String {
    std::iter::repeat_n(fence.ch, fence.len).collect()
}

fn trim_blank_edges<'s>(lines: &'s [&'s str]) -> &'s [&'s str] {
    let start = lines
        .iter()
        .position(|l| !l.trim().is_empty())
        .unwrap_or(lines.len());
    let end = lines
        .iter()
        .rposition(|l| !l.trim().is_empty())
        .map_or(start, |e| e + 1);
    &lines[start..end.max(start)]
}

/// Lines joined, each ending with `\n` (so a missing final newline is added).
fn join_lines(lines: &[&str]) -> String {
    let mut out = String::new();
    for line in lines {
        out.push_str(line);
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn replace(path: &str, search: &str, replace: &str) -> Edit {
        Edit {
            path: path.to_string(),
            kind: EditKind::Replace {
                search: search.to_string(),
                replace: replace.to_string(),
            },
        }
    }

    fn whole(path: &str, content: &str) -> Edit {
        Edit {
            path: path.to_string(),
            kind: EditKind::WholeFile {
                content: content.to_string(),
            },
        }
    }

    fn edits(text: &str) -> Vec<Edit> {
        match parse_edits(text) {
            Ok(ParsedEdits::Edits(edits)) => edits.0,
            other => panic!("expected edits, got {other:?}"),
        }
    }

    fn problems(text: &str) -> Vec<ParseProblem> {
        match parse_edits(text) {
            Err(ParseError::Malformed { problems }) => problems,
            other => panic!("expected malformed, got {other:?}"),
        }
    }

    const CANONICAL: &str = "src/a.ts\n<<<<<<< SEARCH\nold\n=======\nnew\n>>>>>>> REPLACE\n";

    #[test]
    fn canonical_search_replace_block() {
        assert_eq!(
            edits(CANONICAL),
            vec![replace("src/a.ts", "old\n", "new\n")]
        );
    }

    #[test]
    fn crlf_and_trailing_whitespace_on_markers() {
        let text =
            "src/a.ts  \r\n<<<<<<< SEARCH \r\nold\r\n=======\t\r\nnew\r\n>>>>>>> REPLACE  \r\n";
        assert_eq!(edits(text), vec![replace("src/a.ts", "old\n", "new\n")]);
    }

    #[test]
    fn missing_final_newline() {
        let text = "src/a.ts\n<<<<<<< SEARCH\nold\n=======\nnew\n>>>>>>> REPLACE";
        assert_eq!(edits(text), vec![replace("src/a.ts", "old\n", "new\n")]);
        let text = "FILE: src/b.ts\n```ts\nconst b = 1;\n```";
        assert_eq!(edits(text), vec![whole("src/b.ts", "const b = 1;\n")]);
    }

    #[test]
    fn fence_around_block_with_path_before_it() {
        let text = "Here is the fix.\n\nsrc/a.ts\n```typescript\n<<<<<<< SEARCH\nold\n=======\nnew\n>>>>>>> REPLACE\n```\n";
        assert_eq!(edits(text), vec![replace("src/a.ts", "old\n", "new\n")]);
    }

    #[test]
    fn fence_around_block_with_path_inside_it() {
        let text = "```\nsrc/a.ts\n<<<<<<< SEARCH\nold\n=======\nnew\n>>>>>>> REPLACE\n```\n";
        assert_eq!(edits(text), vec![replace("src/a.ts", "old\n", "new\n")]);
    }

    #[test]
    fn path_on_the_fence_line() {
        let text = "```ts src/a.ts\n<<<<<<< SEARCH\nold\n=======\nnew\n>>>>>>> REPLACE\n```\n";
        assert_eq!(edits(text), vec![replace("src/a.ts", "old\n", "new\n")]);
        let text = "```src/b.ts\nconst b = 1;\n```\n";
        assert_eq!(edits(text), vec![whole("src/b.ts", "const b = 1;\n")]);
        let text = "```ts:src/c.ts\nconst c = 1;\n```\n";
        assert_eq!(edits(text), vec![whole("src/c.ts", "const c = 1;\n")]);
        let text = "```ts title=\"src/d.ts\"\nconst d = 1;\n```\n";
        assert_eq!(edits(text), vec![whole("src/d.ts", "const d = 1;\n")]);
    }

    #[test]
    fn path_in_a_comment() {
        let text = "```ts\n// src/a.ts\n<<<<<<< SEARCH\nold\n=======\nnew\n>>>>>>> REPLACE\n```\n";
        assert_eq!(edits(text), vec![replace("src/a.ts", "old\n", "new\n")]);
        let text = "```python\n# app/main.py\nprint(1)\n```\n";
        assert_eq!(edits(text), vec![whole("app/main.py", "print(1)\n")]);
        let text = "```html\n<!-- public/index.html -->\n<p>x</p>\n```\n";
        assert_eq!(edits(text), vec![whole("public/index.html", "<p>x</p>\n")]);
    }

    #[test]
    fn decorated_path_lines() {
        for header in [
            "`src/a.ts`",
            "**src/a.ts**",
            "### src/a.ts",
            "File: src/a.ts",
            "**File:** `src/a.ts`",
            "src/a.ts:",
            "- src/a.ts",
        ] {
            let text = format!("{header}\n<<<<<<< SEARCH\nold\n=======\nnew\n>>>>>>> REPLACE\n");
            assert_eq!(
                edits(&text),
                vec![replace("src/a.ts", "old\n", "new\n")],
                "header {header:?}"
            );
        }
    }

    #[test]
    fn prose_between_blocks_is_ignored() {
        let text = format!(
            "I will change two things.\n\n{CANONICAL}\nThen the second file:\n\nsrc/b.ts\n<<<<<<< SEARCH\nx\n=======\ny\n>>>>>>> REPLACE\n\nDone. Run `npm test`.\n"
        );
        assert_eq!(
            edits(&text),
            vec![
                replace("src/a.ts", "old\n", "new\n"),
                replace("src/b.ts", "x\n", "y\n")
            ]
        );
    }

    #[test]
    fn consecutive_blocks_reuse_the_previous_path() {
        let text = format!("{CANONICAL}<<<<<<< SEARCH\nx\n=======\ny\n>>>>>>> REPLACE\n");
        assert_eq!(
            edits(&text),
            vec![
                replace("src/a.ts", "old\n", "new\n"),
                replace("src/a.ts", "x\n", "y\n")
            ]
        );
    }

    #[test]
    fn marker_lengths_and_old_names_drift() {
        let text = "src/a.ts\n<<<<< SEARCH\nold\n=========\nnew\n>>>>>>>>> REPLACE\n";
        assert_eq!(edits(text), vec![replace("src/a.ts", "old\n", "new\n")]);
        let text = "src/a.ts\n<<<<<<< ORIGINAL\nold\n=======\nnew\n>>>>>>> UPDATED\n";
        assert_eq!(edits(text), vec![replace("src/a.ts", "old\n", "new\n")]);
        let text = "<<<<<<< SEARCH src/a.ts\nold\n=======\nnew\n>>>>>>> REPLACE\n";
        assert_eq!(edits(text), vec![replace("src/a.ts", "old\n", "new\n")]);
    }

    #[test]
    fn empty_sections() {
        let text = "src/new.ts\n<<<<<<< SEARCH\n=======\nexport {};\n>>>>>>> REPLACE\n";
        assert_eq!(edits(text), vec![replace("src/new.ts", "", "export {};\n")]);
        let text = "src/a.ts\n<<<<<<< SEARCH\ngone\n=======\n>>>>>>> REPLACE\n";
        assert_eq!(edits(text), vec![replace("src/a.ts", "gone\n", "")]);
    }

    #[test]
    fn block_content_keeps_fences_and_markers_of_other_kinds() {
        let text = "README.md\n<<<<<<< SEARCH\n```ts\nold\n```\n=======\n```ts\nnew\n```\nTitle\n=======\n>>>>>>> REPLACE\n";
        assert_eq!(
            edits(text),
            vec![replace(
                "README.md",
                "```ts\nold\n```\n",
                "```ts\nnew\n```\nTitle\n=======\n"
            )]
        );
    }

    #[test]
    fn whole_file_block_with_language_tag() {
        let text =
            "FILE: src/app/api/projects/route.ts\n```ts\nexport async function GET() {}\n```\n";
        assert_eq!(
            edits(text),
            vec![whole(
                "src/app/api/projects/route.ts",
                "export async function GET() {}\n"
            )]
        );
    }

    #[test]
    fn whole_file_with_path_line_before_the_fence() {
        let text = "src/b.ts\n\n```ts\nconst b = 1;\n```\n";
        assert_eq!(edits(text), vec![whole("src/b.ts", "const b = 1;\n")]);
        let text = "Here is the updated `src/b.ts`:\n```ts\nconst b = 1;\n```\n";
        assert_eq!(edits(text), vec![whole("src/b.ts", "const b = 1;\n")]);
    }

    #[test]
    fn whole_file_strips_a_repeated_path_comment() {
        let text = "FILE: package.json\n```json\n// package.json\n{}\n```\n";
        assert_eq!(edits(text), vec![whole("package.json", "{}\n")]);
    }

    #[test]
    fn whole_file_holding_nested_fences() {
        let text = "FILE: docs/guide.md\n```markdown\n# Guide\n```bash\nnpm test\n```\nEnd\n```\n";
        assert_eq!(
            edits(text),
            vec![whole(
                "docs/guide.md",
                "# Guide\n```bash\nnpm test\n```\nEnd\n"
            )]
        );
        let text = "FILE: docs/guide.md\n````\n```\nx\n```\n````\n";
        assert_eq!(edits(text), vec![whole("docs/guide.md", "```\nx\n```\n")]);
    }

    #[test]
    fn whole_file_without_fence() {
        let text = "FILE: src/b.ts\nconst b = 1;\n\nexport default b;\n\nDELETE: src/c.ts\n";
        assert_eq!(
            edits(text),
            vec![
                whole("src/b.ts", "const b = 1;\n\nexport default b;\n"),
                Edit {
                    path: "src/c.ts".into(),
                    kind: EditKind::Delete
                }
            ]
        );
    }

    #[test]
    fn file_directive_naming_a_search_block() {
        let text =
            "FILE: src/a.ts\n```ts\n<<<<<<< SEARCH\nold\n=======\nnew\n>>>>>>> REPLACE\n```\n";
        assert_eq!(edits(text), vec![replace("src/a.ts", "old\n", "new\n")]);
    }

    #[test]
    fn wrapper_fence_around_file_blocks() {
        let text = "````text\nFILE: src/b.ts\n```ts\nconst b = 1;\n```\n````\n";
        assert_eq!(edits(text), vec![whole("src/b.ts", "const b = 1;\n")]);
    }

    #[test]
    fn delete_and_rename() {
        let text = "DELETE: src/old.ts\nRENAME: src/utils.ts -> src/lib/utils.ts\n**RENAME:** `a b.md` => `c.md`\n";
        assert_eq!(
            edits(text),
            vec![
                Edit {
                    path: "src/old.ts".into(),
                    kind: EditKind::Delete
                },
                Edit {
                    path: "src/utils.ts".into(),
                    kind: EditKind::Rename {
                        to: "src/lib/utils.ts".into()
                    }
                },
                Edit {
                    path: "a b.md".into(),
                    kind: EditKind::Rename { to: "c.md".into() }
                },
            ]
        );
    }

    #[test]
    fn directive_with_a_remark() {
        let text = "FILE: src/b.ts (new file)\n```ts\nx\n```\n";
        assert_eq!(edits(text), vec![whole("src/b.ts", "x\n")]);
    }

    #[test]
    fn directive_paths_are_left_to_the_path_checks() {
        let parsed = edits("FILE: ../x\n```\nx\n```\nDELETE: /etc/hosts\nDELETE: it\n");
        let paths: Vec<&str> = parsed.iter().map(|e| e.path.as_str()).collect();
        assert_eq!(paths, ["../x", "/etc/hosts", "it"]);
    }

    #[test]
    fn unusable_directives_are_problems() {
        let p = problems("DELETE: the old helper is unused\n");
        assert_eq!(p[0].line, 1);
        assert!(p[0].message.contains("DELETE: path/to/file.ts"));
        let p = problems("RENAME: src/a.ts\n");
        assert!(p[0].message.contains("->"));
    }

    #[test]
    fn clarification_is_a_distinct_outcome() {
        let parsed = parse_edits("CLARIFICATION_NEEDED: Which table stores projects?\n").unwrap();
        assert_eq!(parsed.question(), Some("Which table stores projects?"));
        assert!(parsed.edits().is_empty());
        let parsed = parse_edits("**Clarification needed:** Which one?").unwrap();
        assert_eq!(parsed.question(), Some("Which one?"));
        let parsed = parse_edits("```\nCLARIFICATION_NEEDED: Which one?\n```\n").unwrap();
        assert_eq!(parsed.question(), Some("Which one?"));
        let parsed = parse_edits("CLARIFICATION_NEEDED:\nWhich one\nof them?\n").unwrap();
        assert_eq!(parsed.question(), Some("Which one of them?"));
    }

    #[test]
    fn clarification_keeps_edits_given_alongside() {
        let text = format!("{CANONICAL}\nCLARIFICATION_NEEDED: Should I also update tests?\n");
        match parse_edits(&text).unwrap() {
            ParsedEdits::ClarificationNeeded { question, edits } => {
                assert_eq!(question, "Should I also update tests?");
                assert_eq!(edits.len(), 1);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn clarification_text_inside_a_block_is_content() {
        let text =
            "src/a.ts\n<<<<<<< SEARCH\nold\n=======\nCLARIFICATION_NEEDED: no\n>>>>>>> REPLACE\n";
        assert_eq!(
            edits(text),
            vec![replace("src/a.ts", "old\n", "CLARIFICATION_NEEDED: no\n")]
        );
    }

    #[test]
    fn empty_clarification_is_a_problem() {
        let p = problems("CLARIFICATION_NEEDED:\n");
        assert!(p[0].message.contains("question"));
    }

    #[test]
    fn cut_off_blocks_are_problems_not_edits() {
        let p = problems("src/a.ts\n<<<<<<< SEARCH\nold\n");
        assert!(p[0].message.contains("cut off"), "{p:?}");
        let p = problems("src/a.ts\n<<<<<<< SEARCH\nold\n=======\nnew\n");
        assert!(p[0].message.contains(">>>>>>> REPLACE"), "{p:?}");
        let p = problems("FILE: src/b.ts\n```ts\nconst b = 1;\n");
        assert!(p[0].message.contains("never closed"), "{p:?}");
        assert_eq!(p[0].line, 2);
    }

    #[test]
    fn block_missing_its_divider_or_end() {
        let p = problems("src/a.ts\n<<<<<<< SEARCH\nold\n>>>>>>> REPLACE\n");
        assert!(p[0].message.contains("`=======`"));
        let p = problems(&format!(
            "src/a.ts\n<<<<<<< SEARCH\nold\n=======\nnew\n{CANONICAL}"
        ));
        assert_eq!(p.len(), 1);
        assert!(p[0].message.contains("does not end"));
    }

    #[test]
    fn block_without_any_path_is_a_problem() {
        let p = problems("<<<<<<< SEARCH\nold\n=======\nnew\n>>>>>>> REPLACE\n");
        assert!(p[0].message.contains("no file path"));
    }

    #[test]
    fn stray_replace_marker_is_a_problem() {
        let p = problems("src/a.ts\nold\n>>>>>>> REPLACE\n");
        assert_eq!(p[0].line, 3);
    }

    #[test]
    fn answers_without_edits() {
        assert_eq!(
            parse_edits("I could not find the file."),
            Err(ParseError::NoEdits {
                unnamed_code_block_line: None
            })
        );
        let err = parse_edits("Use this:\n```ts\nconst a = 1;\n```\n").unwrap_err();
        assert_eq!(
            err,
            ParseError::NoEdits {
                unnamed_code_block_line: Some(2)
            }
        );
        assert!(err.feedback().contains("line 2"));
    }

    #[test]
    fn single_file_answers() {
        let options = ParseOptions {
            single_file: Some("src/a.ts".into()),
        };
        let parsed = parse_edits_with("const a = 1;\nexport default a;", &options).unwrap();
        assert_eq!(
            parsed.edits().0,
            vec![whole("src/a.ts", "const a = 1;\nexport default a;\n")]
        );
        let parsed = parse_edits_with("Sure:\n```ts\nconst a = 2;\n```\n", &options).unwrap();
        assert_eq!(parsed.edits().0, vec![whole("src/a.ts", "const a = 2;\n")]);
        // Blocks with paths win over the fallback.
        let parsed = parse_edits_with(CANONICAL, &options).unwrap();
        assert_eq!(parsed.edits().len(), 1);
        assert!(matches!(parsed.edits().0[0].kind, EditKind::Replace { .. }));
    }

    #[test]
    fn git_conflict_markers_in_content_are_not_block_markers() {
        let text = "src/a.ts\n<<<<<<< SEARCH\n<<<<<<< HEAD\nx\n=======\n>>>>>>> main\ny\n>>>>>>> REPLACE\n";
        assert_eq!(
            edits(text),
            vec![replace(
                "src/a.ts",
                "<<<<<<< HEAD\nx\n",
                ">>>>>>> main\ny\n"
            )]
        );
    }

    #[test]
    fn path_likeness() {
        for p in [
            "src/a.ts",
            "package.json",
            ".env.example",
            "Dockerfile",
            "app/(auth)/login/page.tsx",
            "app/blog/[...slug]/page.tsx",
            "scripts/deploy",
            "/etc/passwd",
            "../x.ts",
        ] {
            assert!(looks_like_path(p, false), "{p}");
        }
        for p in [
            "Done.",
            "e.g.",
            "1.5",
            "Here is the fix:",
            "https://example.com/a.ts",
            "<div>",
            "...",
            "src/",
        ] {
            assert!(!looks_like_path(p, false), "{p}");
        }
    }

    #[test]
    fn feedback_lists_every_problem() {
        let err = parse_edits("src/a.ts\n<<<<<<< SEARCH\nold\n>>>>>>> REPLACE\nDELETE: ???\n")
            .unwrap_err();
        let feedback = err.feedback();
        assert!(feedback.contains("line 2:"), "{feedback}");
        assert!(feedback.contains("line 5:"), "{feedback}");
        assert!(feedback.contains("Nothing was applied"));
    }
}
