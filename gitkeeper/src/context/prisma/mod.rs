//! Our own Prisma schema parser (Prisma's is not published as a library, and
//! this one must be ours to fix): finds the schema where the Prisma CLI looks,
//! parses datasources, generators, models, views, enums and composite types
//! with their attributes and comments, merges multi-file schemas, and answers
//! the questions prompts and validation ask ("does `User.email` exist?",
//! "what is `prisma.orderItem`?"). Errors name file, line and column. It
//! never panics on malformed input.

mod lexer;
mod locate;
mod parser;
mod summary;
#[cfg(test)]
mod tests;

use std::fmt;

use serde::{Deserialize, Serialize};

pub(crate) use locate::locate;
pub use locate::{SchemaLocation, SchemaSource};

/// Where an item starts in the schema files.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Position {
    /// Repository-relative schema file.
    pub file: String,
    /// 1-based line.
    pub line: u32,
    /// 1-based column (characters).
    pub column: u32,
}

/// A schema that could not be parsed, with the place to look.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{file}:{line}:{column}: {message}")]
#[non_exhaustive]
pub struct SchemaError {
    /// Repository-relative schema file.
    pub file: String,
    /// 1-based line.
    pub line: u32,
    /// 1-based column.
    pub column: u32,
    /// What is wrong and how to fix it.
    pub message: String,
}

impl SchemaError {
    pub(crate) fn new(file: &str, line: u32, column: u32, message: impl Into<String>) -> Self {
        Self {
            file: file.to_string(),
            line,
            column,
            message: message.into(),
        }
    }
}

/// One argument of an attribute: `fields: [authorId]` or `"name"`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Argument {
    /// The name before `:`, for named arguments.
    pub name: Option<String>,
    /// The value as written (`[authorId]`, `"users"`, `autoincrement()`).
    pub value: String,
}

/// A field attribute (`@id`, `@db.VarChar(255)`) or block attribute (`@@index([a, b])`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attribute {
    /// Name without `@`/`@@`, dotted for native types (`db.VarChar`).
    pub name: String,
    /// Arguments, split at top-level commas.
    pub args: Vec<Argument>,
    /// The text between the parentheses as written, if there were any.
    pub raw_args: Option<String>,
    /// Where it is.
    pub position: Position,
}

impl Attribute {
    /// The value of a named argument (`fields`), or of the first positional
    /// argument when `name` is the attribute's conventional first parameter.
    pub fn arg(&self, name: &str) -> Option<&str> {
        self.args
            .iter()
            .find(|a| a.name.as_deref() == Some(name))
            .map(|a| a.value.as_str())
    }

    /// The `i`-th positional (unnamed) argument.
    pub fn positional(&self, i: usize) -> Option<&str> {
        self.args
            .iter()
            .filter(|a| a.name.is_none())
            .nth(i)
            .map(|a| a.value.as_str())
    }

    /// Renders it as written: `@default(now())`, `@@index([a, b])`.
    pub fn render(&self, block: bool) -> String {
        let at = if block { "@@" } else { "@" };
        match &self.raw_args {
            Some(raw) => format!("{at}{}({})", self.name, raw.trim()),
            None => format!("{at}{}", self.name),
        }
    }
}

/// Whether a field holds one value, maybe none, or a list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Arity {
    /// `Type`
    Required,
    /// `Type?`
    Optional,
    /// `Type[]`
    List,
}

/// A field's type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldType {
    /// Type name (`String`, `User`, `Unsupported`).
    pub name: String,
    /// The database type of `Unsupported("…")`.
    pub unsupported: Option<String>,
}

/// A field of a model, view or composite type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Field {
    /// Field name.
    pub name: String,
    /// Its type.
    pub field_type: FieldType,
    /// Required, optional or list.
    pub arity: Arity,
    /// Field attributes in order.
    pub attributes: Vec<Attribute>,
    /// `///` documentation above it.
    pub doc: Option<String>,
    /// `//` comments above it or after it on the line.
    pub comments: Vec<String>,
    /// Where it is.
    pub position: Position,
}

impl Field {
    /// The attribute named `name` (`id`, `relation`, `db.VarChar`).
    pub fn attribute(&self, name: &str) -> Option<&Attribute> {
        self.attributes.iter().find(|a| a.name == name)
    }

    /// True for `Type?`.
    pub fn is_optional(&self) -> bool {
        self.arity == Arity::Optional
    }

    /// True for `Type[]`.
    pub fn is_list(&self) -> bool {
        self.arity == Arity::List
    }

    /// The column name: `@map("…")` or the field name.
    pub fn db_name(&self) -> String {
        self.attribute("map")
            .and_then(|a| a.positional(0).or_else(|| a.arg("name")))
            .map_or_else(|| self.name.clone(), unquote)
    }

    /// The type as written: `String?`, `Post[]`, `Unsupported("point")`.
    pub fn type_text(&self) -> String {
        let base = match &self.field_type.unsupported {
            Some(db) => format!("Unsupported({})", quote(db)),
            None => self.field_type.name.clone(),
        };
        match self.arity {
            Arity::Required => base,
            Arity::Optional => format!("{base}?"),
            Arity::List => format!("{base}[]"),
        }
    }
}

/// What kind of field block a [`Model`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BlockKind {
    /// `model`
    Model,
    /// `view`
    View,
    /// `type` (MongoDB composite type)
    Type,
}

impl BlockKind {
    /// The keyword.
    pub fn keyword(self) -> &'static str {
        match self {
            BlockKind::Model => "model",
            BlockKind::View => "view",
            BlockKind::Type => "type",
        }
    }
}

/// A `model`, `view` or composite `type` block.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Model {
    /// Which keyword opened it.
    pub kind: BlockKind,
    /// Its name.
    pub name: String,
    /// Fields in order.
    pub fields: Vec<Field>,
    /// Block attributes (`@@id`, `@@unique`, `@@index`, `@@map`, `@@schema`).
    pub attributes: Vec<Attribute>,
    /// `///` documentation above it.
    pub doc: Option<String>,
    /// `//` comments above it and loose comments inside it.
    pub comments: Vec<String>,
    /// Where it starts.
    pub position: Position,
}

impl Model {
    /// The field named `name`.
    pub fn field(&self, name: &str) -> Option<&Field> {
        self.fields.iter().find(|f| f.name == name)
    }

    /// The block attribute named `name` (without `@@`).
    pub fn attribute(&self, name: &str) -> Option<&Attribute> {
        self.attributes.iter().find(|a| a.name == name)
    }

    /// The table name: `@@map("…")` or the model name.
    pub fn db_name(&self) -> String {
        self.attribute("map")
            .and_then(|a| a.positional(0).or_else(|| a.arg("name")))
            .map_or_else(|| self.name.clone(), unquote)
    }

    /// The database schema from `@@schema("…")` (multi-schema setups).
    pub fn db_schema(&self) -> Option<String> {
        self.attribute("schema")
            .and_then(|a| a.positional(0))
            .map(unquote)
    }

    /// Prisma Client's accessor for it: `prisma.orderItem` for `OrderItem`.
    pub fn accessor(&self) -> String {
        client_accessor(&self.name)
    }
}

/// A value of an enum.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnumValue {
    /// The value.
    pub name: String,
    /// Its attributes (`@map("…")`).
    pub attributes: Vec<Attribute>,
    /// `///` documentation.
    pub doc: Option<String>,
    /// `//` comments.
    pub comments: Vec<String>,
    /// Where it is.
    pub position: Position,
}

/// An `enum` block.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Enum {
    /// Its name.
    pub name: String,
    /// Values in order.
    pub values: Vec<EnumValue>,
    /// Block attributes (`@@map`, `@@schema`).
    pub attributes: Vec<Attribute>,
    /// `///` documentation.
    pub doc: Option<String>,
    /// `//` comments.
    pub comments: Vec<String>,
    /// Where it starts.
    pub position: Position,
}

/// One `key = value` line of a datasource or generator.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Property {
    /// The key (`provider`).
    pub key: String,
    /// The value as written (`"postgresql"`, `env("DATABASE_URL")`, `["a", "b"]`).
    pub value: String,
}

/// A `datasource` or `generator` block.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConfigBlock {
    /// Its name (`db`, `client`).
    pub name: String,
    /// Its properties in order.
    pub properties: Vec<Property>,
    /// `///` documentation.
    pub doc: Option<String>,
    /// `//` comments.
    pub comments: Vec<String>,
    /// Where it starts.
    pub position: Position,
}

impl ConfigBlock {
    /// A property's value as written.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.properties
            .iter()
            .find(|p| p.key == key)
            .map(|p| p.value.as_str())
    }

    /// A property's value with string quotes removed (`provider` → `postgresql`).
    pub fn get_str(&self, key: &str) -> Option<String> {
        self.get(key).map(unquote)
    }
}

/// A whole Prisma schema (one file or several merged).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PrismaSchema {
    /// Repository-relative files it was read from.
    pub files: Vec<String>,
    /// `datasource` blocks.
    pub datasources: Vec<ConfigBlock>,
    /// `generator` blocks.
    pub generators: Vec<ConfigBlock>,
    /// `model` blocks.
    pub models: Vec<Model>,
    /// `view` blocks.
    pub views: Vec<Model>,
    /// `enum` blocks.
    pub enums: Vec<Enum>,
    /// Composite `type` blocks (MongoDB).
    pub types: Vec<Model>,
}

/// One end of a relation, with its other end when it can be found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Relation {
    /// Model holding the relation field.
    pub model: String,
    /// The relation field.
    pub field: String,
    /// The related model.
    pub target: String,
    /// Required, optional or list on this side.
    pub arity: Arity,
    /// `@relation("name")`, if named.
    pub name: Option<String>,
    /// Foreign-key fields on this side (`fields: [authorId]`).
    pub fields: Vec<String>,
    /// Referenced fields on the other side (`references: [id]`).
    pub references: Vec<String>,
    /// The back-relation field on the target (`Post.author` ↔ `User.posts`).
    pub back_field: Option<String>,
}

/// Scalar types built into Prisma.
pub const SCALAR_TYPES: &[&str] = &[
    "String",
    "Boolean",
    "Int",
    "BigInt",
    "Float",
    "Decimal",
    "DateTime",
    "Json",
    "Bytes",
    "Unsupported",
];

/// Operations of a Prisma Client model delegate.
pub const CLIENT_OPERATIONS: &[&str] = &[
    "findUnique",
    "findUniqueOrThrow",
    "findFirst",
    "findFirstOrThrow",
    "findMany",
    "create",
    "createMany",
    "createManyAndReturn",
    "update",
    "updateMany",
    "updateManyAndReturn",
    "upsert",
    "delete",
    "deleteMany",
    "count",
    "aggregate",
    "groupBy",
    "fields",
    "findRaw",
    "aggregateRaw",
];

/// Prisma Client's accessor for a model name: the first letter lowercased
/// (`User` → `user`, `OrderItem` → `orderItem`, `URL` → `uRL`).
pub fn client_accessor(model: &str) -> String {
    let mut chars = model.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// `value` as a Prisma string literal, escaped the way the lexer reads it
/// back (Rust's `{:?}` is not: it writes `\0` and `\u{..}`, which Prisma
/// reads as other text).
fn quote(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Removes one pair of surrounding double quotes.
fn unquote(value: &str) -> String {
    let v = value.trim();
    v.strip_prefix('"')
        .and_then(|s| s.strip_suffix('"'))
        .unwrap_or(v)
        .to_string()
}

/// Parses one schema file.
pub fn parse_schema(file: &str, source: &str) -> Result<PrismaSchema, SchemaError> {
    parse_files(&[(file.to_string(), source.to_string())])
}

/// Parses several files of one multi-file schema and merges them; a name
/// defined twice is an error naming both places.
pub fn parse_files(files: &[(String, String)]) -> Result<PrismaSchema, SchemaError> {
    let mut schema = PrismaSchema::default();
    for (file, source) in files {
        let part = parser::parse(file, source)?;
        schema.files.push(file.clone());
        schema.datasources.extend(part.datasources);
        schema.generators.extend(part.generators);
        schema.models.extend(part.models);
        schema.views.extend(part.views);
        schema.enums.extend(part.enums);
        schema.types.extend(part.types);
    }
    schema.check_duplicates()?;
    Ok(schema)
}

impl PrismaSchema {
    fn check_duplicates(&self) -> Result<(), SchemaError> {
        let mut seen: std::collections::HashMap<&str, &Position> = Default::default();
        let named = self
            .models
            .iter()
            .chain(&self.views)
            .chain(&self.types)
            .map(|m| (m.name.as_str(), &m.position))
            .chain(self.enums.iter().map(|e| (e.name.as_str(), &e.position)));
        for (name, pos) in named {
            if let Some(first) = seen.insert(name, pos) {
                return Err(SchemaError::new(
                    &pos.file,
                    pos.line,
                    pos.column,
                    format!(
                        "`{name}` is already defined at {}:{}:{}; rename or remove one of them",
                        first.file, first.line, first.column
                    ),
                ));
            }
        }
        Ok(())
    }

    /// The model or view named exactly `name`.
    pub fn model(&self, name: &str) -> Option<&Model> {
        self.models
            .iter()
            .chain(&self.views)
            .find(|m| m.name == name)
    }

    /// The model or view whose name matches `name` ignoring case.
    pub fn model_ignore_case(&self, name: &str) -> Option<&Model> {
        self.models
            .iter()
            .chain(&self.views)
            .find(|m| m.name.eq_ignore_ascii_case(name))
    }

    /// The composite type named `name`.
    pub fn composite_type(&self, name: &str) -> Option<&Model> {
        self.types.iter().find(|t| t.name == name)
    }

    /// The enum named `name`.
    pub fn enumeration(&self, name: &str) -> Option<&Enum> {
        self.enums.iter().find(|e| e.name == name)
    }

    /// The values of enum `name`, in order.
    pub fn enum_values(&self, name: &str) -> Option<Vec<&str>> {
        self.enumeration(name)
            .map(|e| e.values.iter().map(|v| v.name.as_str()).collect())
    }

    /// True when model (or view, or composite type) `model` has field `field`.
    pub fn has_field(&self, model: &str, field: &str) -> bool {
        self.model(model)
            .or_else(|| self.composite_type(model))
            .is_some_and(|m| m.field(field).is_some())
    }

    /// Names of all models and views.
    pub fn model_names(&self) -> impl Iterator<Item = &str> {
        self.models
            .iter()
            .chain(&self.views)
            .map(|m| m.name.as_str())
    }

    /// The model or view behind a client accessor (`orderItem` → `OrderItem`).
    pub fn model_for_accessor(&self, accessor: &str) -> Option<&Model> {
        self.models
            .iter()
            .chain(&self.views)
            .find(|m| m.accessor() == accessor)
    }

    /// Client accessors of all models and views (`user`, `orderItem`).
    pub fn accessors(&self) -> Vec<String> {
        self.models
            .iter()
            .chain(&self.views)
            .map(Model::accessor)
            .collect()
    }

    /// True when `name` is a model, view, enum or composite type.
    pub fn defines(&self, name: &str) -> bool {
        self.model(name).is_some()
            || self.composite_type(name).is_some()
            || self.enumeration(name).is_some()
    }

    /// The datasource provider (`postgresql`, `mongodb`), if declared.
    pub fn provider(&self) -> Option<String> {
        self.datasources.first().and_then(|d| d.get_str("provider"))
    }

    /// Every relation field with its other end resolved where possible.
    pub fn relations(&self) -> Vec<Relation> {
        let mut out = Vec::new();
        for model in self.models.iter().chain(&self.views) {
            for field in &model.fields {
                if self.model(&field.field_type.name).is_none() {
                    continue;
                }
                let rel = field.attribute("relation");
                let name = rel
                    .and_then(|a| a.positional(0).or_else(|| a.arg("name")))
                    .map(unquote);
                let list = |key: &str| -> Vec<String> {
                    rel.and_then(|a| a.arg(key))
                        .map(|v| {
                            v.trim()
                                .trim_start_matches('[')
                                .trim_end_matches(']')
                                .split(',')
                                .map(|s| s.trim().to_string())
                                .filter(|s| !s.is_empty())
                                .collect()
                        })
                        .unwrap_or_default()
                };
                let back_field = self.back_relation(model, field, name.as_deref());
                out.push(Relation {
                    model: model.name.clone(),
                    field: field.name.clone(),
                    target: field.field_type.name.clone(),
                    arity: field.arity,
                    name,
                    fields: list("fields"),
                    references: list("references"),
                    back_field,
                });
            }
        }
        out
    }

    fn back_relation(&self, model: &Model, field: &Field, name: Option<&str>) -> Option<String> {
        let target = self.model(&field.field_type.name)?;
        target
            .fields
            .iter()
            .filter(|f| f.field_type.name == model.name)
            .filter(|f| !(target.name == model.name && f.name == field.name))
            .find(|f| {
                let other = f
                    .attribute("relation")
                    .and_then(|a| a.positional(0).or_else(|| a.arg("name")))
                    .map(unquote);
                other.as_deref() == name
            })
            .map(|f| f.name.clone())
    }

    /// A compact text for prompts: one line per model, view, type and enum.
    pub fn summary(&self) -> String {
        summary::render(self)
    }

    /// The summary of only the `models` named (models, views or composite
    /// types), the blocks they relate to and the enums they use; every other
    /// block and enum is named in one line.
    pub fn summary_of(&self, models: &[&str]) -> String {
        summary::render_focused(self, models)
    }
}

impl fmt::Display for Arity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Arity::Required => "required",
            Arity::Optional => "optional",
            Arity::List => "list",
        })
    }
}
