//! Tokens → schema items. Line-based inside blocks, as Prisma is: one field,
//! enum value or property per line, attributes after it. Comments are kept on
//! the item below them (`///` as documentation, `//` as comments) or on the
//! field they trail. Every error names file, line and column and says what to
//! write instead.

use super::lexer::{Kind, Token, tokenize};
use super::{
    Argument, Arity, Attribute, BlockKind, ConfigBlock, Enum, EnumValue, Field, FieldType, Model,
    Position, PrismaSchema, Property, SchemaError,
};

const BLOCK_KEYWORDS: &[&str] = &["model", "view", "type", "enum", "datasource", "generator"];

/// Parses one schema file.
pub(crate) fn parse(file: &str, src: &str) -> Result<PrismaSchema> {
    let tokens = tokenize(file, src)?;
    let mut parser = Parser {
        file,
        src,
        toks: tokens,
        i: 0,
    };
    parser.schema()
}

/// Comments waiting for the item below them.
#[derive(Default)]
struct Pending {
    doc: Vec<String>,
    comments: Vec<String>,
}

impl Pending {
    fn take_doc(&mut self) -> Option<String> {
        let doc = std::mem::take(&mut self.doc);
        (!doc.is_empty()).then(|| doc.join("\n"))
    }

    fn take_comments(&mut self) -> Vec<String> {
        std::mem::take(&mut self.comments)
    }

    fn clear(&mut self) {
        self.doc.clear();
        self.comments.clear();
    }
}

struct Parser<'a> {
    file: &'a str,
    src: &'a str,
    toks: Vec<Token>,
    i: usize,
}

type Result<T> = std::result::Result<T, SchemaError>;

impl<'a> Parser<'a> {
    fn peek(&self) -> Option<&Token> {
        self.toks.get(self.i)
    }

    fn peek_kind(&self) -> Option<&Kind> {
        self.toks.get(self.i).map(|t| &t.kind)
    }

    fn kind_at(&self, i: usize) -> Option<&Kind> {
        self.toks.get(i).map(|t| &t.kind)
    }

    fn position(&self, tok: &Token) -> Position {
        Position {
            file: self.file.to_string(),
            line: tok.line,
            column: tok.col,
        }
    }

    fn error_at(&self, tok: &Token, message: impl Into<String>) -> SchemaError {
        SchemaError::new(self.file, tok.line, tok.col, message)
    }

    /// Error at the current token, or at the end of the file.
    fn error_here(&self, message: impl Into<String>) -> SchemaError {
        match self.peek().or(self.toks.last()) {
            Some(tok) => self.error_at(tok, message),
            None => SchemaError::new(self.file, 1, 1, message),
        }
    }

    fn describe(kind: Option<&Kind>) -> String {
        match kind {
            None => "the end of the file".to_string(),
            Some(Kind::Ident(s)) => format!("`{s}`"),
            Some(Kind::Str(s)) => format!("string {s:?}"),
            Some(Kind::Number(s)) => format!("`{s}`"),
            Some(Kind::Newline) => "the end of the line".to_string(),
            Some(Kind::Comment(_) | Kind::DocComment(_)) => "a comment".to_string(),
            Some(Kind::LBrace) => "`{`".to_string(),
            Some(Kind::RBrace) => "`}`".to_string(),
            Some(Kind::LParen) => "`(`".to_string(),
            Some(Kind::RParen) => "`)`".to_string(),
            Some(Kind::LBracket) => "`[`".to_string(),
            Some(Kind::RBracket) => "`]`".to_string(),
            Some(Kind::Comma) => "`,`".to_string(),
            Some(Kind::Colon) => "`:`".to_string(),
            Some(Kind::Equals) => "`=`".to_string(),
            Some(Kind::Question) => "`?`".to_string(),
            Some(Kind::Bang) => "`!`".to_string(),
            Some(Kind::At) => "`@`".to_string(),
            Some(Kind::AtAt) => "`@@`".to_string(),
            Some(Kind::Dot) => "`.`".to_string(),
            Some(Kind::Other(c)) => format!("`{c}`"),
        }
    }

    /// Consumes a newline; two in a row (a blank line) drop pending comments.
    fn newline(&mut self, pending: &mut Pending) {
        let blank = self.i > 0 && self.kind_at(self.i - 1) == Some(&Kind::Newline);
        self.i += 1;
        if blank {
            pending.clear();
        }
    }

    fn schema(&mut self) -> Result<PrismaSchema> {
        let mut out = PrismaSchema::default();
        let mut pending = Pending::default();
        while let Some(tok) = self.peek() {
            match &tok.kind {
                Kind::Newline => self.newline(&mut pending),
                Kind::DocComment(text) => {
                    pending.doc.push(text.clone());
                    self.i += 1;
                }
                Kind::Comment(text) => {
                    pending.comments.push(text.clone());
                    self.i += 1;
                }
                Kind::Ident(word) if BLOCK_KEYWORDS.contains(&word.as_str()) => {
                    let keyword = word.clone();
                    let kw_tok = tok.clone();
                    self.i += 1;
                    let name = self.block_name(&keyword, &kw_tok)?;
                    self.open_brace(&keyword, &name)?;
                    let doc = pending.take_doc();
                    let comments = pending.take_comments();
                    let position = self.position(&kw_tok);
                    match keyword.as_str() {
                        "datasource" | "generator" => {
                            let mut block = self.config_body(&keyword, &name, &kw_tok)?;
                            block.doc = doc;
                            block.comments.splice(0..0, comments);
                            block.position = position;
                            if keyword == "datasource" {
                                out.datasources.push(block);
                            } else {
                                out.generators.push(block);
                            }
                        }
                        "enum" => {
                            let mut e = self.enum_body(&name, &kw_tok)?;
                            e.doc = doc;
                            e.comments.splice(0..0, comments);
                            e.position = position;
                            out.enums.push(e);
                        }
                        _ => {
                            let kind = match keyword.as_str() {
                                "model" => BlockKind::Model,
                                "view" => BlockKind::View,
                                _ => BlockKind::Type,
                            };
                            let mut m = self.model_body(kind, &name, &kw_tok)?;
                            m.doc = doc;
                            m.comments.splice(0..0, comments);
                            m.position = position;
                            match kind {
                                BlockKind::Model => out.models.push(m),
                                BlockKind::View => out.views.push(m),
                                BlockKind::Type => out.types.push(m),
                            }
                        }
                    }
                }
                other => {
                    let message = format!(
                        "unexpected {} at the top level: expected `model`, `enum`, `view`, \
                         `type`, `datasource` or `generator`",
                        Self::describe(Some(other))
                    );
                    return Err(self.error_at(tok, message));
                }
            }
        }
        Ok(out)
    }

    fn block_name(&mut self, keyword: &str, kw_tok: &Token) -> Result<String> {
        match self.peek_kind() {
            Some(Kind::Ident(name)) => {
                let name = name.clone();
                self.i += 1;
                if keyword == "type" && self.peek_kind() == Some(&Kind::Equals) {
                    return Err(self.error_here(format!(
                        "type alias `type {name} = …` is not supported by Prisma; \
                         use the underlying type directly or a composite `type {name} {{ … }}`"
                    )));
                }
                Ok(name)
            }
            other => {
                let message = format!(
                    "expected a name after `{keyword}`, found {}",
                    Self::describe(other)
                );
                match self.peek() {
                    Some(tok) => Err(self.error_at(tok, message)),
                    None => Err(self.error_at(kw_tok, message)),
                }
            }
        }
    }

    fn open_brace(&mut self, keyword: &str, name: &str) -> Result<()> {
        while matches!(self.peek_kind(), Some(Kind::Newline)) {
            self.i += 1;
        }
        if self.peek_kind() == Some(&Kind::LBrace) {
            self.i += 1;
            Ok(())
        } else {
            let found = Self::describe(self.peek_kind());
            Err(self.error_here(format!(
                "expected `{{` after `{keyword} {name}`, found {found}"
            )))
        }
    }

    fn never_closed(&self, keyword: &str, name: &str, kw_tok: &Token) -> SchemaError {
        self.error_at(
            kw_tok,
            format!("`{keyword} {name}` is never closed: add `}}` after its last line"),
        )
    }

    /// True when the current line looks like the start of another block
    /// (`model Post {`): the previous block is missing its `}`.
    fn at_block_start(&self) -> bool {
        matches!(self.kind_at(self.i), Some(Kind::Ident(k)) if BLOCK_KEYWORDS.contains(&k.as_str()))
            && matches!(self.kind_at(self.i + 1), Some(Kind::Ident(_)))
            && matches!(self.kind_at(self.i + 2), Some(Kind::LBrace))
    }

    fn model_body(&mut self, kind: BlockKind, name: &str, kw_tok: &Token) -> Result<Model> {
        let keyword = kind.keyword();
        let mut model = Model {
            kind,
            name: name.to_string(),
            fields: Vec::new(),
            attributes: Vec::new(),
            doc: None,
            comments: Vec::new(),
            position: self.position(kw_tok),
        };
        let mut pending = Pending::default();
        loop {
            let Some(tok) = self.peek().cloned() else {
                return Err(self.never_closed(keyword, name, kw_tok));
            };
            match &tok.kind {
                Kind::RBrace => {
                    self.i += 1;
                    model.comments.append(&mut pending.doc);
                    model.comments.append(&mut pending.comments);
                    return Ok(model);
                }
                Kind::Newline => self.newline(&mut pending),
                Kind::DocComment(t) => {
                    pending.doc.push(t.clone());
                    self.i += 1;
                }
                Kind::Comment(t) => {
                    pending.comments.push(t.clone());
                    self.i += 1;
                }
                Kind::AtAt => {
                    self.i += 1;
                    let attr = self.attribute(&tok)?;
                    model.attributes.push(attr);
                    self.end_of_line(
                        &mut model.comments,
                        &format!(
                            "`@@{}`",
                            model.attributes.last().map_or("", |a| a.name.as_str())
                        ),
                    )?;
                }
                Kind::Ident(_) if self.at_block_start() => {
                    return Err(self.never_closed(keyword, name, kw_tok));
                }
                Kind::Ident(field_name) => {
                    let field_name = field_name.clone();
                    self.i += 1;
                    let mut field = self.field(&field_name, &tok, keyword, name)?;
                    field.doc = pending.take_doc();
                    field.comments = pending.take_comments();
                    self.end_of_line(&mut field.comments, &format!("field `{field_name}`"))?;
                    model.fields.push(field);
                }
                other => {
                    let message = format!(
                        "unexpected {} in `{keyword} {name}`: expected a field \
                         (`name Type @attributes`), a `@@` attribute or `}}`",
                        Self::describe(Some(other))
                    );
                    return Err(self.error_at(&tok, message));
                }
            }
        }
    }

    /// After an item: a trailing comment (kept), then a newline, `}` or the end.
    fn end_of_line(&mut self, comments: &mut Vec<String>, what: &str) -> Result<()> {
        match self.peek_kind() {
            Some(Kind::Comment(t) | Kind::DocComment(t)) => {
                comments.push(t.clone());
                self.i += 1;
                Ok(())
            }
            Some(Kind::Newline | Kind::RBrace) | None => Ok(()),
            other => {
                let message = format!(
                    "unexpected {} after {what}: put one item per line",
                    Self::describe(other)
                );
                Err(self.error_here(message))
            }
        }
    }

    fn field(&mut self, name: &str, name_tok: &Token, keyword: &str, block: &str) -> Result<Field> {
        let type_tok = match self.peek() {
            Some(t) if matches!(t.kind, Kind::Ident(_)) => t.clone(),
            other => {
                let found = Self::describe(other.map(|t| &t.kind));
                return Err(self.error_here(format!(
                    "field `{name}` of `{keyword} {block}` has no type (found {found}): \
                     write it as `{name} String` or another type"
                )));
            }
        };
        self.i += 1;
        let Kind::Ident(type_name) = &type_tok.kind else {
            return Err(self.error_at(&type_tok, "expected a type"));
        };
        let mut field_type = FieldType {
            name: type_name.clone(),
            unsupported: None,
        };
        if type_name == "Unsupported" && self.peek_kind() == Some(&Kind::LParen) {
            self.i += 1;
            let db = match self.peek_kind() {
                Some(Kind::Str(s)) => s.clone(),
                _ => {
                    return Err(self.error_here(
                        "`Unsupported` takes the database type as a string: `Unsupported(\"point\")`",
                    ));
                }
            };
            self.i += 1;
            if self.peek_kind() != Some(&Kind::RParen) {
                return Err(self.error_here("expected `)` to close `Unsupported(\"…\"`"));
            }
            self.i += 1;
            field_type.unsupported = Some(db);
        }
        let mut arity = Arity::Required;
        if self.peek_kind() == Some(&Kind::LBracket) {
            if self.kind_at(self.i + 1) != Some(&Kind::RBracket) {
                return Err(self.error_here(format!(
                    "list type of field `{name}` must be written `{type_name}[]`"
                )));
            }
            self.i += 2;
            arity = Arity::List;
        }
        match self.peek_kind() {
            Some(Kind::Question) => {
                self.i += 1;
                if arity == Arity::Required {
                    arity = Arity::Optional;
                }
            }
            Some(Kind::Bang) => self.i += 1,
            _ => {}
        }
        let mut attributes = Vec::new();
        while let Some(tok) = self.peek().cloned() {
            match tok.kind {
                Kind::At => {
                    self.i += 1;
                    attributes.push(self.attribute(&tok)?);
                }
                Kind::AtAt => {
                    return Err(self.error_at(
                        &tok,
                        format!(
                            "`@@` attributes belong on their own line in the block, \
                             not on field `{name}`; use `@` for a field attribute"
                        ),
                    ));
                }
                _ => break,
            }
        }
        Ok(Field {
            name: name.to_string(),
            field_type,
            arity,
            attributes,
            doc: None,
            comments: Vec::new(),
            position: self.position(name_tok),
        })
    }

    /// An attribute after its `@` or `@@`: dotted name and optional arguments.
    fn attribute(&mut self, at_tok: &Token) -> Result<Attribute> {
        let mut name = match self.peek_kind() {
            Some(Kind::Ident(n)) => n.clone(),
            other => {
                let found = Self::describe(other);
                return Err(self.error_at(
                    at_tok,
                    format!("expected an attribute name after `@`, found {found}"),
                ));
            }
        };
        self.i += 1;
        while self.peek_kind() == Some(&Kind::Dot) {
            match self.kind_at(self.i + 1) {
                Some(Kind::Ident(part)) => {
                    name.push('.');
                    name.push_str(part);
                    self.i += 2;
                }
                _ => {
                    return Err(self.error_here(format!(
                        "expected a name after `@{name}.` (for example `@db.VarChar(255)`)"
                    )));
                }
            }
        }
        let mut attr = Attribute {
            name,
            args: Vec::new(),
            raw_args: None,
            position: self.position(at_tok),
        };
        if self.peek_kind() == Some(&Kind::LParen) {
            let open = self.i;
            let close = self.matching_paren(open, &attr.name)?;
            let (Some(open_tok), Some(close_tok)) = (self.toks.get(open), self.toks.get(close))
            else {
                return Err(self.error_at(at_tok, "internal: argument bounds"));
            };
            attr.raw_args = self
                .src
                .get(open_tok.end..close_tok.start)
                .map(str::to_string);
            attr.args = self.arguments(open + 1, close);
            self.i = close + 1;
        }
        Ok(attr)
    }

    /// Index of the `)` matching the `(` at `open`, across lines.
    fn matching_paren(&self, open: usize, attr: &str) -> Result<usize> {
        let mut depth = 0usize;
        for j in open..self.toks.len() {
            match self.toks[j].kind {
                Kind::LParen | Kind::LBracket | Kind::LBrace => depth += 1,
                Kind::RParen | Kind::RBracket | Kind::RBrace => {
                    depth = depth.saturating_sub(1);
                    if depth == 0 {
                        if self.toks[j].kind != Kind::RParen {
                            return Err(self.error_at(
                                &self.toks[j],
                                format!("mismatched bracket in the arguments of `@{attr}`"),
                            ));
                        }
                        return Ok(j);
                    }
                }
                _ => {}
            }
        }
        let tok = &self.toks[open];
        Err(self.error_at(
            tok,
            format!("the `(` of `@{attr}` is never closed: add `)`"),
        ))
    }

    /// Splits the tokens strictly between `from` and `to` at top-level commas.
    fn arguments(&self, from: usize, to: usize) -> Vec<Argument> {
        let mut args = Vec::new();
        let mut depth = 0usize;
        let mut start = from;
        for j in from..=to {
            let at_end = j == to;
            let kind = &self.toks[j].kind;
            if !at_end {
                match kind {
                    Kind::LParen | Kind::LBracket | Kind::LBrace => depth += 1,
                    Kind::RParen | Kind::RBracket | Kind::RBrace => depth = depth.saturating_sub(1),
                    _ => {}
                }
            }
            if at_end || (depth == 0 && *kind == Kind::Comma) {
                if let Some(arg) = self.argument(start, j) {
                    args.push(arg);
                }
                start = j + 1;
            }
        }
        args
    }

    fn argument(&self, from: usize, to: usize) -> Option<Argument> {
        let meaningful: Vec<usize> = (from..to)
            .filter(|&j| {
                !matches!(
                    self.toks[j].kind,
                    Kind::Newline | Kind::Comment(_) | Kind::DocComment(_)
                )
            })
            .collect();
        let first = *meaningful.first()?;
        let (name, value_from) = match (&self.toks[first].kind, meaningful.get(1)) {
            (Kind::Ident(n), Some(&second)) if self.toks[second].kind == Kind::Colon => {
                (Some(n.clone()), meaningful.get(2).copied())
            }
            _ => (None, Some(first)),
        };
        let value = match (value_from, meaningful.last()) {
            (Some(a), Some(&b)) if a <= b => self
                .src
                .get(self.toks[a].start..self.toks[b].end)
                .unwrap_or("")
                .trim()
                .to_string(),
            _ => String::new(),
        };
        Some(Argument { name, value })
    }

    fn enum_body(&mut self, name: &str, kw_tok: &Token) -> Result<Enum> {
        let mut e = Enum {
            name: name.to_string(),
            values: Vec::new(),
            attributes: Vec::new(),
            doc: None,
            comments: Vec::new(),
            position: self.position(kw_tok),
        };
        let mut pending = Pending::default();
        loop {
            let Some(tok) = self.peek().cloned() else {
                return Err(self.never_closed("enum", name, kw_tok));
            };
            match &tok.kind {
                Kind::RBrace => {
                    self.i += 1;
                    e.comments.append(&mut pending.doc);
                    e.comments.append(&mut pending.comments);
                    return Ok(e);
                }
                Kind::Newline => self.newline(&mut pending),
                Kind::Comma => self.i += 1,
                Kind::DocComment(t) => {
                    pending.doc.push(t.clone());
                    self.i += 1;
                }
                Kind::Comment(t) => {
                    pending.comments.push(t.clone());
                    self.i += 1;
                }
                Kind::AtAt => {
                    self.i += 1;
                    let attr = self.attribute(&tok)?;
                    e.attributes.push(attr);
                    self.end_of_line(&mut e.comments, "an enum attribute")?;
                }
                Kind::Ident(_) if self.at_block_start() => {
                    return Err(self.never_closed("enum", name, kw_tok));
                }
                Kind::Ident(value) => {
                    let value = value.clone();
                    self.i += 1;
                    let mut attributes = Vec::new();
                    while let Some(at) = self.peek().cloned() {
                        if at.kind != Kind::At {
                            break;
                        }
                        self.i += 1;
                        attributes.push(self.attribute(&at)?);
                    }
                    if self.peek_kind() == Some(&Kind::Comma) {
                        self.i += 1;
                    }
                    let mut v = EnumValue {
                        name: value.clone(),
                        attributes,
                        doc: pending.take_doc(),
                        comments: pending.take_comments(),
                        position: self.position(&tok),
                    };
                    self.end_of_line(&mut v.comments, &format!("enum value `{value}`"))?;
                    e.values.push(v);
                }
                other => {
                    let message = format!(
                        "unexpected {} in `enum {name}`: expected one value per line or `}}`",
                        Self::describe(Some(other))
                    );
                    return Err(self.error_at(&tok, message));
                }
            }
        }
    }

    fn config_body(&mut self, keyword: &str, name: &str, kw_tok: &Token) -> Result<ConfigBlock> {
        let mut block = ConfigBlock {
            name: name.to_string(),
            properties: Vec::new(),
            doc: None,
            comments: Vec::new(),
            position: self.position(kw_tok),
        };
        let mut pending = Pending::default();
        loop {
            let Some(tok) = self.peek().cloned() else {
                return Err(self.never_closed(keyword, name, kw_tok));
            };
            match &tok.kind {
                Kind::RBrace => {
                    self.i += 1;
                    block.comments.append(&mut pending.doc);
                    block.comments.append(&mut pending.comments);
                    return Ok(block);
                }
                Kind::Newline => self.newline(&mut pending),
                Kind::DocComment(t) | Kind::Comment(t) => {
                    block.comments.push(t.clone());
                    self.i += 1;
                }
                Kind::Ident(_) if self.at_block_start() => {
                    return Err(self.never_closed(keyword, name, kw_tok));
                }
                Kind::Ident(key) => {
                    let key = key.clone();
                    self.i += 1;
                    if self.peek_kind() != Some(&Kind::Equals) {
                        let found = Self::describe(self.peek_kind());
                        return Err(self.error_here(format!(
                            "expected `=` after `{key}` in `{keyword} {name}`, found {found}: \
                             write `{key} = \"value\"`"
                        )));
                    }
                    self.i += 1;
                    let value = self.property_value(&key, &tok)?;
                    block.properties.push(Property { key, value });
                    self.end_of_line(&mut block.comments, "a property")?;
                }
                other => {
                    let message = format!(
                        "unexpected {} in `{keyword} {name}`: expected `key = value` or `}}`",
                        Self::describe(Some(other))
                    );
                    return Err(self.error_at(&tok, message));
                }
            }
        }
    }

    /// A property value up to the end of the line (lists may span lines).
    fn property_value(&mut self, key: &str, key_tok: &Token) -> Result<String> {
        let start = self.i;
        let mut depth = 0usize;
        let mut last = None;
        while let Some(tok) = self.peek() {
            match tok.kind {
                Kind::LParen | Kind::LBracket => depth += 1,
                Kind::RParen | Kind::RBracket => depth = depth.saturating_sub(1),
                Kind::RBrace if depth == 0 => break,
                Kind::Newline | Kind::Comment(_) | Kind::DocComment(_) if depth == 0 => break,
                Kind::Newline | Kind::Comment(_) | Kind::DocComment(_) => {
                    self.i += 1;
                    continue;
                }
                _ => {}
            }
            last = Some(self.i);
            self.i += 1;
        }
        if depth > 0 {
            return Err(self.error_at(
                key_tok,
                format!("the value of `{key}` has an unclosed bracket: add `]` or `)`"),
            ));
        }
        match last {
            Some(end) => Ok(self
                .src
                .get(self.toks[start].start..self.toks[end].end)
                .unwrap_or("")
                .to_string()),
            None => Err(self.error_at(key_tok, format!("`{key} =` has no value"))),
        }
    }
}
