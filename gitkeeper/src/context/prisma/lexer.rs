//! Prisma schema tokens with line, column and byte offsets. Newlines are
//! tokens (fields are line-based); comments are tokens so they can be kept on
//! the items they describe. Never panics; the only error is an unterminated
//! string.

use super::SchemaError;

/// What a token is.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Kind {
    /// A name: letters, digits, `_` (and `-` inside, as generators allow).
    Ident(String),
    /// A string literal's unescaped content.
    Str(String),
    /// A number, as written.
    Number(String),
    /// `{`
    LBrace,
    /// `}`
    RBrace,
    /// `(`
    LParen,
    /// `)`
    RParen,
    /// `[`
    LBracket,
    /// `]`
    RBracket,
    /// `,`
    Comma,
    /// `:`
    Colon,
    /// `=`
    Equals,
    /// `?`
    Question,
    /// `!`
    Bang,
    /// `@`
    At,
    /// `@@`
    AtAt,
    /// `.`
    Dot,
    /// End of a line.
    Newline,
    /// `// text` (text without the slashes).
    Comment(String),
    /// `/// text` (text without the slashes).
    DocComment(String),
    /// Any other character.
    Other(char),
}

/// A token and where it is.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Token {
    /// What it is.
    pub kind: Kind,
    /// 1-based line.
    pub line: u32,
    /// 1-based column, in characters.
    pub col: u32,
    /// Byte offset of the first byte.
    pub start: usize,
    /// Byte offset after the last byte.
    pub end: usize,
}

/// Splits `src` into tokens.
pub(crate) fn tokenize(file: &str, src: &str) -> Result<Vec<Token>, SchemaError> {
    let mut tokens = Vec::new();
    let mut chars = src.char_indices().peekable();
    let mut line: u32 = 1;
    // Column in characters, advanced incrementally from the last token so
    // long lines stay linear.
    let mut col_pos: usize = 0;
    let mut col_at_pos: u32 = 1;
    while let Some(&(start, c)) = chars.peek() {
        col_at_pos += src
            .get(col_pos..start)
            .map_or(0, |s| s.chars().count() as u32);
        col_pos = start;
        let col = col_at_pos;
        let mut push = |kind: Kind, end: usize| {
            tokens.push(Token {
                kind,
                line,
                col,
                start,
                end,
            })
        };
        match c {
            '\n' => {
                chars.next();
                push(Kind::Newline, start + 1);
                line += 1;
                col_pos = start + 1;
                col_at_pos = 1;
            }
            ' ' | '\t' | '\r' | '\u{feff}' => {
                chars.next();
            }
            '/' if src[start..].starts_with("//") => {
                let end = src[start..].find('\n').map_or(src.len(), |i| start + i);
                let text = &src[start..end];
                let kind = if let Some(doc) = text.strip_prefix("///") {
                    Kind::DocComment(doc.trim().to_string())
                } else {
                    Kind::Comment(text[2..].trim().to_string())
                };
                push(kind, end);
                while chars.peek().is_some_and(|&(i, _)| i < end) {
                    chars.next();
                }
            }
            '"' => {
                chars.next();
                let mut value = String::new();
                let mut end = None;
                while let Some((i, ch)) = chars.next() {
                    match ch {
                        '"' => {
                            end = Some(i + 1);
                            break;
                        }
                        '\\' => match chars.next() {
                            Some((_, 'n')) => value.push('\n'),
                            Some((_, 't')) => value.push('\t'),
                            Some((_, 'r')) => value.push('\r'),
                            Some((_, '\n')) | None => break,
                            Some((_, other)) => value.push(other),
                        },
                        '\n' => break,
                        _ => value.push(ch),
                    }
                }
                let Some(end) = end else {
                    return Err(SchemaError::new(
                        file,
                        line,
                        col,
                        "string is never closed: add the closing `\"` on the same line",
                    ));
                };
                push(Kind::Str(value), end);
            }
            c if c.is_alphabetic() || c == '_' => {
                let mut end = start;
                while let Some(&(i, ch)) = chars.peek() {
                    let continues = ch.is_alphanumeric()
                        || ch == '_'
                        || (ch == '-'
                            && src[i + 1..]
                                .chars()
                                .next()
                                .is_some_and(|n| n.is_alphanumeric()));
                    if !continues {
                        break;
                    }
                    end = i + ch.len_utf8();
                    chars.next();
                }
                push(Kind::Ident(src[start..end].to_string()), end);
            }
            c if c.is_ascii_digit() || (c == '-' && next_is_digit(src, start)) => {
                chars.next();
                let mut end = start + 1;
                while let Some(&(i, ch)) = chars.peek() {
                    if !(ch.is_ascii_alphanumeric() || ch == '.' || ch == '_') {
                        break;
                    }
                    end = i + 1;
                    chars.next();
                }
                push(Kind::Number(src[start..end].to_string()), end);
            }
            '@' => {
                chars.next();
                if chars.peek().is_some_and(|&(_, ch)| ch == '@') {
                    chars.next();
                    push(Kind::AtAt, start + 2);
                } else {
                    push(Kind::At, start + 1);
                }
            }
            _ => {
                chars.next();
                let kind = match c {
                    '{' => Kind::LBrace,
                    '}' => Kind::RBrace,
                    '(' => Kind::LParen,
                    ')' => Kind::RParen,
                    '[' => Kind::LBracket,
                    ']' => Kind::RBracket,
                    ',' => Kind::Comma,
                    ':' => Kind::Colon,
                    '=' => Kind::Equals,
                    '?' => Kind::Question,
                    '!' => Kind::Bang,
                    '.' => Kind::Dot,
                    other => Kind::Other(other),
                };
                push(kind, start + c.len_utf8());
            }
        }
    }
    Ok(tokens)
}

fn next_is_digit(src: &str, at: usize) -> bool {
    src[at + 1..]
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(src: &str) -> Vec<Kind> {
        tokenize("s.prisma", src)
            .expect("tokenizes")
            .into_iter()
            .map(|t| t.kind)
            .collect()
    }

    #[test]
    fn attributes_strings_and_comments_tokenize() {
        assert_eq!(
            kinds("id Int @id @@map(\"a\\\"b\") /// doc\n// c"),
            [
                Kind::Ident("id".into()),
                Kind::Ident("Int".into()),
                Kind::At,
                Kind::Ident("id".into()),
                Kind::AtAt,
                Kind::Ident("map".into()),
                Kind::LParen,
                Kind::Str("a\"b".into()),
                Kind::RParen,
                Kind::DocComment("doc".into()),
                Kind::Newline,
                Kind::Comment("c".into()),
            ]
        );
    }

    #[test]
    fn columns_count_characters_not_bytes() {
        let tokens = tokenize("s.prisma", "/// é\nmodel Ü {").expect("tokenizes");
        let model = &tokens[2];
        assert_eq!((model.line, model.col), (2, 1));
        let name = &tokens[3];
        assert_eq!((name.kind.clone(), name.col), (Kind::Ident("Ü".into()), 7));
    }

    #[test]
    fn unterminated_string_reports_its_position() {
        let err = tokenize("s.prisma", "model A {\n  a String @default(\"x)\n}")
            .expect_err("unterminated");
        assert_eq!((err.line, err.column), (2, 21));
    }
}
