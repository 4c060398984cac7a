//! One pass over a file's bytes that collects everything selection needs
//! from it: how often the task's topic words occur (for ranking), the import
//! specifiers (JS/TS family), and which identifiers named in the task it
//! defines. A small hand-written lexer, so 5,000 files scan in milliseconds;
//! it understands strings and comments well enough not to see imports in
//! them, and never panics on arbitrary bytes.

use super::imports::{ImportKind, ImportRef};
use super::query::Query;
use super::words;

/// How a file is lexed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Syntax {
    /// JavaScript / TypeScript and single-file components: strings, comments, imports.
    Script,
    /// Anything else: words only.
    Other,
}

impl Syntax {
    /// Picks the syntax from a file name.
    pub(crate) fn for_path(path: &str) -> Self {
        let ext = path.rsplit_once('.').map_or("", |(_, e)| e);
        match ext {
            "ts" | "tsx" | "js" | "jsx" | "mjs" | "cjs" | "mts" | "cts" | "vue" | "svelte"
            | "astro" => Syntax::Script,
            _ => Syntax::Other,
        }
    }
}

/// What one scan learned about a file.
#[derive(Debug, Clone, Default)]
pub(crate) struct FileFacts {
    /// Occurrences of each query term, indexed like `Query::terms`.
    pub term_freq: Vec<u32>,
    /// Number of word parts in the file (document length for BM25).
    pub length: u32,
    /// Import specifiers, in source order.
    pub imports: Vec<ImportRef>,
    /// Indices into `Query::identifiers` of identifiers this file defines.
    pub defines: Vec<usize>,
    /// Indices into `Query::identifiers` of identifiers this file uses
    /// without defining them (calls, imports, JSX tags).
    pub mentions: Vec<usize>,
    /// Number of lines.
    pub lines: u32,
}

/// Keywords after which a name is being defined.
const DEFINING_KEYWORDS: &[&[u8]] = &[
    b"function",
    b"class",
    b"interface",
    b"type",
    b"enum",
    b"const",
    b"let",
    b"var",
    b"def",
    b"fn",
    b"struct",
    b"trait",
    b"func",
    b"namespace",
    b"module",
    b"model",
    b"view",
];

#[derive(Clone, Copy, PartialEq, Eq)]
enum Tok {
    None,
    Ident(usize, usize),
    Str,
    Punct(u8),
}

struct Scanner<'a> {
    src: &'a [u8],
    query: &'a Query,
    facts: FileFacts,
    buf: Vec<u8>,
    prev: Tok,
    prev2: Tok,
    /// Most recent `import`/`export` keyword, to tell re-exports from imports.
    last_statement: &'static str,
    line: u32,
}

/// Scans `src` for the facts selection needs about it.
pub(crate) fn scan(src: &[u8], syntax: Syntax, query: &Query) -> FileFacts {
    let mut scanner = Scanner {
        src,
        query,
        facts: FileFacts {
            term_freq: vec![0; query.terms.len()],
            ..FileFacts::default()
        },
        buf: Vec::with_capacity(32),
        prev: Tok::None,
        prev2: Tok::None,
        last_statement: "",
        line: 1,
    };
    scanner.run(syntax == Syntax::Script);
    scanner.facts.lines = scanner.line;
    scanner.facts
}

fn is_ident_start(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'_' || b == b'$'
}

fn is_ident_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'$'
}

impl<'a> Scanner<'a> {
    fn run(&mut self, script: bool) {
        let src = self.src;
        let n = src.len();
        let mut i = 0;
        while i < n {
            let c = src[i];
            match c {
                b'\n' => {
                    self.line += 1;
                    i += 1;
                }
                b' ' | b'\t' | b'\r' => i += 1,
                b'/' if script && src.get(i + 1) == Some(&b'/') => {
                    let end = memchr_or_end(b'\n', src, i);
                    self.words(i + 2, end);
                    i = end;
                }
                b'/' if script && src.get(i + 1) == Some(&b'*') => {
                    let end = find_or_end(b"*/", src, i + 2);
                    self.words(i + 2, end);
                    self.count_lines(i, end);
                    i = (end + 2).min(n);
                }
                b'\'' | b'"' if script => {
                    let mut j = i + 1;
                    while j < n && src[j] != c && src[j] != b'\n' {
                        j += if src[j] == b'\\' { 2 } else { 1 };
                    }
                    let end = j.min(n);
                    self.words(i + 1, end);
                    // A backslash before a newline continues the string.
                    self.count_lines(i, end);
                    self.string(i + 1, end);
                    i = if end < n && src[end] == c {
                        end + 1
                    } else {
                        end
                    };
                }
                b'`' if script => {
                    let mut j = i + 1;
                    while j < n && src[j] != b'`' {
                        j += if src[j] == b'\\' { 2 } else { 1 };
                    }
                    let end = j.min(n);
                    self.words(i + 1, end);
                    self.count_lines(i, end);
                    if !src[i + 1..end].windows(2).any(|w| w == b"${") {
                        self.string(i + 1, end);
                    } else {
                        self.push(Tok::Str);
                    }
                    i = (end + 1).min(n);
                }
                _ if is_ident_start(c) => {
                    let start = i;
                    while i < n && is_ident_byte(src[i]) {
                        i += 1;
                    }
                    self.ident(start, i);
                }
                _ if c.is_ascii_digit() => {
                    while i < n && (is_ident_byte(src[i]) || src[i] == b'.') {
                        i += 1;
                    }
                }
                _ if c >= 0x80 => i += 1,
                _ => {
                    if c == b';' {
                        self.last_statement = "";
                    }
                    self.push(Tok::Punct(c));
                    i += 1;
                }
            }
        }
    }

    fn push(&mut self, tok: Tok) {
        self.prev2 = self.prev;
        self.prev = tok;
    }

    fn ident_is(&self, tok: Tok, word: &[u8]) -> bool {
        matches!(tok, Tok::Ident(s, e) if &self.src[s..e] == word)
    }

    fn count_lines(&mut self, start: usize, end: usize) {
        let end = end.min(self.src.len());
        self.line += self.src[start..end].iter().filter(|&&b| b == b'\n').count() as u32;
    }

    fn ident(&mut self, start: usize, end: usize) {
        let ident = &self.src[start..end];
        self.parts(ident);
        if let Some(k) = self.query.identifier_index(ident) {
            let defining = match self.prev {
                Tok::Ident(s, e) => DEFINING_KEYWORDS.contains(&&self.src[s..e]),
                Tok::Punct(b'*') => self.ident_is(self.prev2, b"function"),
                _ => false,
            };
            if defining {
                if !self.facts.defines.contains(&k) {
                    self.facts.defines.push(k);
                }
                self.facts.mentions.retain(|&m| m != k);
            } else if !self.facts.defines.contains(&k) && !self.facts.mentions.contains(&k) {
                self.facts.mentions.push(k);
            }
        }
        match ident {
            b"import" => self.last_statement = "import",
            b"export" => self.last_statement = "export",
            _ => {}
        }
        self.push(Tok::Ident(start, end));
    }

    /// A string literal's content: an import specifier if the tokens before
    /// it make it one.
    fn string(&mut self, start: usize, end: usize) {
        let kind = if self.ident_is(self.prev, b"from") {
            Some(if self.last_statement == "export" {
                ImportKind::ReExport
            } else {
                ImportKind::Static
            })
        } else if self.ident_is(self.prev, b"import") {
            Some(ImportKind::SideEffect)
        } else if self.prev == Tok::Punct(b'(') && self.ident_is(self.prev2, b"require") {
            Some(ImportKind::Require)
        } else if self.prev == Tok::Punct(b'(') && self.ident_is(self.prev2, b"import") {
            Some(ImportKind::Dynamic)
        } else {
            None
        };
        if let Some(kind) = kind {
            let raw = &self.src[start..end];
            if !raw.is_empty() && raw.len() <= 512 {
                if let Ok(specifier) = std::str::from_utf8(raw) {
                    if !specifier.contains('\\') && !specifier.contains(char::is_whitespace) {
                        self.facts.imports.push(ImportRef {
                            specifier: specifier.to_string(),
                            kind,
                            line: self.line,
                        });
                    }
                }
            }
        }
        self.push(Tok::Str);
    }

    /// Counts the word parts of a whole identifier.
    fn parts(&mut self, ident: &[u8]) {
        let query = self.query;
        let facts = &mut self.facts;
        let buf = &mut self.buf;
        words::for_each_part(ident, |part| {
            if let Some(stem) = words::normalize(part, buf) {
                facts.length += 1;
                if let Some(t) = query.term_index(stem) {
                    facts.term_freq[t] += 1;
                }
            }
        });
    }

    /// Counts the words inside a comment or string.
    fn words(&mut self, start: usize, end: usize) {
        let end = end.min(self.src.len());
        let src = self.src;
        let mut i = start;
        while i < end {
            if is_ident_start(src[i]) {
                let s = i;
                while i < end && is_ident_byte(src[i]) {
                    i += 1;
                }
                self.parts(&src[s..i]);
            } else {
                i += 1;
            }
        }
    }
}

fn memchr_or_end(needle: u8, src: &[u8], from: usize) -> usize {
    src[from..]
        .iter()
        .position(|&b| b == needle)
        .map_or(src.len(), |p| from + p)
}

fn find_or_end(needle: &[u8], src: &[u8], from: usize) -> usize {
    if from >= src.len() {
        return src.len();
    }
    src[from..]
        .windows(needle.len())
        .position(|w| w == needle)
        .map_or(src.len(), |p| from + p)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn specs(src: &str) -> Vec<(String, ImportKind)> {
        scan(src.as_bytes(), Syntax::Script, &Query::parse(""))
            .imports
            .into_iter()
            .map(|i| (i.specifier, i.kind))
            .collect()
    }

    #[test]
    fn every_import_form_is_found() {
        let src = r#"
import React, { useState } from 'react';
import type { User } from "@/types/user";
import './styles.css';
export { helper } from "../lib/helper";
export * from './all';
const fs = require('fs');
const page = await import('./pages/home');
import {
  a,
  b,
} from './multi';
"#;
        assert_eq!(
            specs(src),
            [
                ("react".to_string(), ImportKind::Static),
                ("@/types/user".to_string(), ImportKind::Static),
                ("./styles.css".to_string(), ImportKind::SideEffect),
                ("../lib/helper".to_string(), ImportKind::ReExport),
                ("./all".to_string(), ImportKind::ReExport),
                ("fs".to_string(), ImportKind::Require),
                ("./pages/home".to_string(), ImportKind::Dynamic),
                ("./multi".to_string(), ImportKind::Static),
            ]
        );
    }

    #[test]
    fn imports_in_comments_and_strings_are_ignored() {
        let src = r#"
// import x from './commented';
/* import y from './block'; */
const s = "import z from './in-string'";
const t = `require('./in-template')`;
import real from './real';
"#;
        assert_eq!(specs(src), [("./real".to_string(), ImportKind::Static)]);
    }

    #[test]
    fn definitions_of_named_identifiers_are_detected() {
        let q = Query::parse("Fix `getSession` and UserCard and formatMoney");
        let src = b"export async function getSession() {}\nexport const UserCard = () => null;\nconst x = formatMoney(1);\n";
        let facts = scan(src, Syntax::Script, &q);
        let defined: Vec<&str> = facts
            .defines
            .iter()
            .map(|&i| q.identifiers[i].as_str())
            .collect();
        assert_eq!(defined, ["getSession", "UserCard"]);
        let used: Vec<&str> = facts
            .mentions
            .iter()
            .map(|&i| q.identifiers[i].as_str())
            .collect();
        assert_eq!(used, ["formatMoney"]);
        assert_eq!(facts.lines, 4);
    }

    #[test]
    fn term_frequencies_count_identifier_parts() {
        let q = Query::parse("archived projects");
        let src = b"// Archived projects are hidden\nfunction listArchivedProjects(project) { return project.archivedAt }";
        let facts = scan(src, Syntax::Script, &q);
        // archiv: Archived, Archived(Projects), archived(At); project: projects, Projects, project x2
        assert_eq!(facts.term_freq, [3, 4]);
        assert!(facts.length >= 10);
    }

    #[test]
    fn backslash_newline_inside_a_string_still_counts_the_line() {
        // Found by the property test below.
        let facts = scan(
            b"const s = 'a\\\nb';\nx\n",
            Syntax::Script,
            &Query::parse(""),
        );
        assert_eq!(facts.lines, 4);
    }

    #[test]
    fn arbitrary_bytes_do_not_panic() {
        let q = Query::parse("user");
        for src in [
            &b"'unterminated"[..],
            b"`unterminated ${",
            b"/* open",
            b"import(",
            b"from '",
            b"\xff\xfe\x00import 'x'",
            b"\\",
        ] {
            let _ = scan(src, Syntax::Script, &q);
            let _ = scan(src, Syntax::Other, &q);
        }
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            #[test]
            fn scanning_never_panics_and_counts_lines(
                bytes in proptest::collection::vec(any::<u8>(), 0..2000),
                task in "\\PC{0,80}",
            ) {
                let q = Query::parse(&task);
                let facts = scan(&bytes, Syntax::Script, &q);
                let newlines = bytes.iter().filter(|&&b| b == b'\n').count() as u32;
                prop_assert_eq!(facts.lines, newlines + 1);
                prop_assert_eq!(facts.term_freq.len(), q.terms.len());
                let _ = scan(&bytes, Syntax::Other, &q);
            }
        }
    }
}
