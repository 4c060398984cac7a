//! Token counting with the cl100k_base tokenizer (tiktoken), so budgets are
//! measured the way models measure them, not guessed from character counts.
//!
//! The tokenizer is built once per process and shared. Counting must never
//! panic on repository text: input is cut into chunks at line starts (which
//! keeps counts exact for ordinary code) and a chunk the tokenizer cannot
//! handle falls back to an estimate.
//!
//! A crate of its own, depending on `tiktoken-rs` only, so the model clients
//! (`gitkeeper-backends`, which the runner on a maintainer's Mac builds) count
//! exactly as the `gitkeeper` library does without compiling its parsers;
//! `gitkeeper::context::tokens` re-exports it. It must never grow a
//! dependency beyond the tokenizer.

#![warn(missing_docs)]

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::OnceLock;

use tiktoken_rs::CoreBPE;

/// Largest chunk handed to the tokenizer at once, in bytes.
const CHUNK_BYTES: usize = 8 * 1024;

fn tokenizer() -> Option<&'static CoreBPE> {
    static BPE: OnceLock<Option<CoreBPE>> = OnceLock::new();
    BPE.get_or_init(|| tiktoken_rs::cl100k_base().ok()).as_ref()
}

/// Builds the shared tokenizer now, so the first package is not slowed by it.
pub fn warm_up() {
    let _ = tokenizer();
}

/// Counts cl100k_base tokens in `text` (as a chat model would see it).
pub fn count_tokens(text: &str) -> usize {
    let Some(bpe) = tokenizer() else {
        return estimate(text);
    };
    chunks(text)
        .map(|chunk| {
            catch_unwind(AssertUnwindSafe(|| bpe.encode_ordinary(chunk).len()))
                .unwrap_or_else(|_| estimate(chunk))
        })
        .sum()
}

/// Rough token estimate used only when the tokenizer cannot process a chunk.
fn estimate(text: &str) -> usize {
    text.len().div_ceil(3)
}

/// Splits `text` into pieces of about [`CHUNK_BYTES`], preferring cut points
/// just after a newline that is followed by a non-whitespace character, where
/// cl100k never merges across the cut.
fn chunks(text: &str) -> impl Iterator<Item = &str> {
    let mut rest = text;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        if rest.len() <= CHUNK_BYTES {
            let all = rest;
            rest = "";
            return Some(all);
        }
        let cut = cut_point(rest);
        let (head, tail) = rest.split_at(cut);
        rest = tail;
        Some(head)
    })
}

fn cut_point(text: &str) -> usize {
    let bytes = text.as_bytes();
    let limit = CHUNK_BYTES.min(bytes.len());
    // Best: after "\n" followed by a non-space byte, searching backwards.
    for i in (1..limit).rev() {
        if bytes[i - 1] == b'\n' && !bytes[i].is_ascii_whitespace() {
            return i;
        }
    }
    // Next best: after any newline.
    for i in (1..limit).rev() {
        if bytes[i - 1] == b'\n' {
            return i;
        }
    }
    // Last resort: any char boundary (long single lines, minified text).
    let mut cut = limit;
    while cut > 0 && !text.is_char_boundary(cut) {
        cut -= 1;
    }
    if cut == 0 {
        // A single char longer than the limit is impossible (max 4 bytes),
        // but never return an empty cut: take the first char.
        text.chars().next().map_or(text.len(), char::len_utf8)
    } else {
        cut
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_with_a_real_tokenizer() {
        // "hello world" is two tokens in cl100k_base; chars/4 would say 3.
        assert_eq!(count_tokens("hello world"), 2);
        assert_eq!(count_tokens(""), 0);
    }

    #[test]
    fn chunked_count_matches_whole_count_for_code() {
        let line = "export function getUser(id: string) { return prisma.user.findUnique({ where: { id } }); }\n";
        let text = line.repeat(400);
        assert!(text.len() > CHUNK_BYTES * 3);
        let bpe = tokenizer().expect("cl100k_base is embedded in tiktoken-rs");
        assert_eq!(count_tokens(&text), bpe.encode_ordinary(&text).len());
    }

    #[test]
    fn pathological_whitespace_does_not_panic() {
        let text = format!("a{}b", " ".repeat(200_000));
        assert!(count_tokens(&text) > 0);
        let text = "\u{00e9}".repeat(50_000);
        assert!(count_tokens(&text) > 0);
    }

    #[test]
    fn chunks_cover_the_text_exactly() {
        let text = "x".repeat(CHUNK_BYTES * 2 + 17) + "\n" + &"é".repeat(9000);
        let joined: String = chunks(&text).collect();
        assert_eq!(joined, text);
    }
}
