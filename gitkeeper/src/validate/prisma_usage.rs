//! Does Prisma code in a changed file name models, fields and operations
//! that exist? Read from the tree-sitter tree: `<client>.<model>.<op>(…)`
//! where the client is `prisma`, a variable made with `new PrismaClient`, a
//! binding imported from a local module that creates one, a parameter typed
//! as one, or a `$transaction` callback's parameter; the top-level keys of
//! `where`/`select`/`include`/`data`/`orderBy`/… object literals (and nested
//! `select`/`include` of relations); `Prisma.<Model>…` generated types; and
//! names imported from `@prisma/client`. Only what can be proved wrong is
//! reported: unknown shapes are left alone.

use std::collections::HashSet;

use tree_sitter::Node;

use super::contract::Contract;
use super::findings::{CheckRule, Finding};
use super::syntax::{Parsed, position, preorder};
use crate::context::imports::ImportTarget;
use crate::context::prisma::{
    CLIENT_OPERATIONS as OPERATIONS, Model, PrismaSchema, client_accessor,
};

/// Arguments of the find operations (and of nested relation selections).
const FIND_ARGS: &[&str] = &[
    "where",
    "select",
    "include",
    "omit",
    "orderBy",
    "skip",
    "take",
    "cursor",
    "distinct",
    "relationLoadStrategy",
];

/// The arguments an operation takes; `None` when it takes anything.
fn operation_arguments(op: &str) -> Option<&'static [&'static str]> {
    Some(match op {
        "findUnique" | "findUniqueOrThrow" | "findFirst" | "findFirstOrThrow" | "findMany" => {
            FIND_ARGS
        }
        "create" => &["data", "select", "include", "omit", "relationLoadStrategy"],
        "createMany" => &["data", "skipDuplicates"],
        "createManyAndReturn" => &["data", "select", "include", "omit", "skipDuplicates"],
        "update" => &[
            "where",
            "data",
            "select",
            "include",
            "omit",
            "relationLoadStrategy",
        ],
        "updateMany" => &["where", "data", "limit"],
        "updateManyAndReturn" => &["where", "data", "select", "include", "omit", "limit"],
        "upsert" => &[
            "where",
            "create",
            "update",
            "select",
            "include",
            "omit",
            "relationLoadStrategy",
        ],
        "delete" => &["where", "select", "include", "omit", "relationLoadStrategy"],
        "deleteMany" => &["where", "limit"],
        "count" => &[
            "where", "select", "orderBy", "skip", "take", "cursor", "distinct",
        ],
        "aggregate" => &[
            "where", "orderBy", "skip", "take", "cursor", "distinct", "_count", "_avg", "_sum",
            "_min", "_max",
        ],
        "groupBy" => &[
            "by", "where", "orderBy", "having", "skip", "take", "_count", "_avg", "_sum", "_min",
            "_max",
        ],
        "findRaw" => &["filter", "options"],
        "aggregateRaw" => &["pipeline", "options"],
        _ => return None,
    })
}

/// What a model probably meant by an argument Prisma does not have.
fn argument_hint(key: &str) -> Option<&'static str> {
    Some(match key {
        "limit" | "first" | "top" | "max" => "take",
        "offset" | "skipRows" => "skip",
        "filter" | "filters" | "query" | "conditions" => "where",
        "sort" | "sortBy" | "order" | "orderby" => "orderBy",
        "fields" | "columns" | "attributes" | "projection" => "select",
        "relations" | "with" | "populate" | "joins" => "include",
        "values" | "input" | "set" => "data",
        _ => return None,
    })
}

/// Argument keys whose object value is keyed by the model's fields.
const FIELD_KEYED: &[&str] = &[
    "where", "data", "select", "include", "omit", "orderBy", "cursor", "create", "update",
];

/// Names `@prisma/client` exports besides models, enums and types.
const CLIENT_EXPORTS: &[&str] = &[
    "PrismaClient",
    "Prisma",
    "$Enums",
    "PrismaPromise",
    "$Extensions",
    "$Result",
    "$Utils",
    "$Types",
    "$Public",
    "Sql",
    "sql",
    "raw",
    "join",
    "empty",
    "Decimal",
];

/// Suffixes of generated per-model types (`UserWhereInput`), longest first.
const MODEL_TYPE_SUFFIXES: &[&str] = &[
    "OrderByWithAggregationInput",
    "OrderByWithRelationInput",
    "UpdateManyMutationInput",
    "FindUniqueOrThrowArgs",
    "FindFirstOrThrowArgs",
    "UncheckedCreateInput",
    "UncheckedUpdateInput",
    "WhereUniqueInput",
    "ScalarFieldEnum",
    "CountOutputType",
    "CreateManyInput",
    "FindUniqueArgs",
    "AggregateArgs",
    "DeleteManyArgs",
    "UpdateManyArgs",
    "CreateManyArgs",
    "FindFirstArgs",
    "FindManyArgs",
    "GroupByArgs",
    "CreateInput",
    "UpdateInput",
    "DefaultArgs",
    "UpsertArgs",
    "DeleteArgs",
    "UpdateArgs",
    "CreateArgs",
    "CountArgs",
    "WhereInput",
    "GetPayload",
    "Delegate",
    "Include",
    "Payload",
    "Select",
    "Omit",
];

/// Generic namespace members that look like per-model types.
const NAMESPACE_GENERICS: &[&str] = &["BatchPayload", "PrismaPromise"];

/// Deepest nesting of `select`/`include` followed.
const MAX_DEPTH: usize = 8;

/// What the file knows about Prisma bindings.
#[derive(Default)]
struct Bindings {
    /// Identifiers that hold a Prisma Client.
    clients: HashSet<String>,
    /// Local names of the `Prisma` namespace.
    namespaces: HashSet<String>,
}

/// A property of an object literal: its name, key node and value node.
type Entry<'t> = (String, Node<'t>, Option<Node<'t>>);

/// Everything one file's Prisma check needs.
struct Ctx<'a> {
    file: &'a str,
    text: &'a str,
    schema: &'a PrismaSchema,
    schema_file: &'a str,
    extended: bool,
    out: Vec<Finding>,
}

/// Findings for Prisma usage in `file`. `read_local` reads another file of
/// the repository (for clients imported from a local module).
pub(crate) fn prisma_findings(
    parsed: &Parsed<'_>,
    contract: &Contract,
    read_local: &mut dyn FnMut(&str) -> Option<String>,
) -> Vec<Finding> {
    let (file, text, tree) = (parsed.path, parsed.text, parsed.tree);
    let Some(schema) = &contract.schema else {
        return Vec::new();
    };
    let mut ctx = Ctx {
        file,
        text,
        schema,
        schema_file: contract.schema_file(),
        extended: text.contains("$extends"),
        out: Vec::new(),
    };
    let root = tree.root_node();
    let mut bindings = Bindings::default();
    bindings.clients.insert("prisma".to_string());
    preorder(root, &mut |node| match node.kind() {
        "import_statement" => ctx.import(node, contract, read_local, &mut bindings),
        "variable_declarator" => {
            if let (Some(name), Some(value)) = (
                node.child_by_field_name("name"),
                node.child_by_field_name("value"),
            ) {
                if name.kind() == "identifier" && is_client_expression(ctx.src(value)) {
                    bindings.clients.insert(ctx.src(name).to_string());
                }
            }
        }
        "required_parameter" | "optional_parameter" => {
            if let (Some(pattern), Some(ty)) = (
                node.child_by_field_name("pattern"),
                node.child_by_field_name("type"),
            ) {
                let ty = ctx.src(ty);
                if pattern.kind() == "identifier"
                    && (ty.contains("PrismaClient") || ty.contains("TransactionClient"))
                {
                    bindings.clients.insert(ctx.src(pattern).to_string());
                }
            }
        }
        _ => {}
    });
    // `$transaction(async (tx) => …)`: the callback's parameter is a client.
    preorder(root, &mut |node| {
        if node.kind() != "call_expression" {
            return;
        }
        let Some(function) = node.child_by_field_name("function") else {
            return;
        };
        if !is_client_member(&ctx, function, "$transaction", &bindings) {
            return;
        }
        let callback = node
            .child_by_field_name("arguments")
            .and_then(|a| a.named_child(0));
        if let Some(name) = callback.and_then(|c| first_parameter(&ctx, c)) {
            bindings.clients.insert(name);
        }
    });
    preorder(root, &mut |node| match node.kind() {
        "member_expression" => ctx.member(node, &bindings),
        "nested_type_identifier" => {
            if let (Some(module), Some(name)) = (
                node.child_by_field_name("module"),
                node.child_by_field_name("name"),
            ) {
                if bindings.namespaces.contains(ctx.src(module)) {
                    ctx.namespace_member(name);
                }
            }
        }
        _ => {}
    });
    ctx.out
}

/// `new PrismaClient(…)`, possibly behind `globalThis.prisma ?? …` or `.$extends(…)`.
fn is_client_expression(text: &str) -> bool {
    let mut rest = text;
    while let Some(i) = rest.find("new") {
        let after = rest[i + 3..].trim_start();
        if rest[i + 3..].starts_with(char::is_whitespace) && after.starts_with("PrismaClient") {
            return true;
        }
        rest = &rest[i + 3..];
    }
    false
}

/// `<client>.<property>` with the given property.
fn is_client_member(ctx: &Ctx<'_>, node: Node<'_>, property: &str, b: &Bindings) -> bool {
    node.kind() == "member_expression"
        && node
            .child_by_field_name("object")
            .is_some_and(|o| o.kind() == "identifier" && b.clients.contains(ctx.src(o)))
        && node
            .child_by_field_name("property")
            .is_some_and(|p| ctx.src(p) == property)
}

/// The name of a function's first parameter, if it is a plain identifier.
fn first_parameter(ctx: &Ctx<'_>, function: Node<'_>) -> Option<String> {
    if !matches!(
        function.kind(),
        "arrow_function" | "function_expression" | "function"
    ) {
        return None;
    }
    if let Some(p) = function.child_by_field_name("parameter") {
        return (p.kind() == "identifier").then(|| ctx.src(p).to_string());
    }
    let first = function.child_by_field_name("parameters")?.named_child(0)?;
    let ident = match first.kind() {
        "identifier" => first,
        "required_parameter" | "optional_parameter" => first.child_by_field_name("pattern")?,
        _ => return None,
    };
    (ident.kind() == "identifier").then(|| ctx.src(ident).to_string())
}

impl<'a> Ctx<'a> {
    fn src(&self, node: Node<'_>) -> &'a str {
        self.text.get(node.byte_range()).unwrap_or_default()
    }

    fn push(&mut self, node: Node<'_>, rule: CheckRule, message: String) {
        let (line, column) = position(node, self.text);
        self.out
            .push(Finding::new(self.file, rule, message).at(line, Some(column)));
    }

    fn model_list(&self) -> String {
        let names: Vec<&str> = self.schema.model_names().collect();
        if names.is_empty() {
            return "the schema defines no models".to_string();
        }
        let shown: Vec<&str> = names.iter().copied().take(40).collect();
        let mut s = format!("models are: {}", shown.join(", "));
        if names.len() > shown.len() {
            s.push_str(&format!(", and {} more", names.len() - shown.len()));
        }
        s
    }

    /// `import … from '…'`: Prisma's own exports, and clients from local modules.
    fn import(
        &mut self,
        node: Node<'_>,
        contract: &Contract,
        read_local: &mut dyn FnMut(&str) -> Option<String>,
        bindings: &mut Bindings,
    ) {
        let Some(source) = node.child_by_field_name("source") else {
            return;
        };
        let spec = self.src(source).trim_matches(|c| c == '\'' || c == '"');
        let from_client = spec == "@prisma/client"
            || contract
                .resolver
                .module_paths(self.file, spec)
                .iter()
                .any(|p| contract.is_generated(p));
        let mut names: Vec<(Node<'_>, Option<Node<'_>>)> = Vec::new();
        let mut default_or_ns: Vec<Node<'_>> = Vec::new();
        preorder(node, &mut |n| match n.kind() {
            "import_specifier" => {
                if let Some(name) = n.child_by_field_name("name") {
                    names.push((name, n.child_by_field_name("alias")));
                }
            }
            "namespace_import" => {
                if let Some(id) = n.named_child(0) {
                    default_or_ns.push(id);
                }
            }
            "import_clause" => {
                if let Some(first) = n.named_child(0) {
                    if first.kind() == "identifier" {
                        default_or_ns.push(first);
                    }
                }
            }
            _ => {}
        });
        if from_client {
            for (name, alias) in names {
                let imported = self.src(name);
                let local = alias.map_or(imported, |a| self.src(a));
                match imported {
                    "Prisma" => {
                        bindings.namespaces.insert(local.to_string());
                    }
                    _ if CLIENT_EXPORTS.contains(&imported) || self.schema.defines(imported) => {}
                    _ => {
                        let message = format!(
                            "`{imported}` is imported from {spec}, but {} defines no model, enum or type `{imported}`; {}",
                            self.schema_file,
                            self.model_list()
                        );
                        self.push(name, CheckRule::UnknownPrismaModel, message);
                    }
                }
            }
            return;
        }
        let ImportTarget::File(path) = contract.resolver.resolve(self.file, spec) else {
            return;
        };
        if path == self.file {
            return;
        }
        let Some(local) = read_local(&path) else {
            return;
        };
        if local.contains("PrismaClient") {
            // A client extended elsewhere may have model methods of its own.
            self.extended |= local.contains("$extends");
            for (name, alias) in names {
                let local = alias.map_or_else(|| self.src(name), |a| self.src(a));
                if local != "Prisma" && local != "PrismaClient" {
                    bindings.clients.insert(local.to_string());
                }
            }
            for id in default_or_ns {
                bindings.clients.insert(self.src(id).to_string());
            }
        }
    }

    /// `<client>.<model>…` and `Prisma.<Member>`.
    fn member(&mut self, node: Node<'_>, bindings: &Bindings) {
        let (Some(object), Some(property)) = (
            node.child_by_field_name("object"),
            node.child_by_field_name("property"),
        ) else {
            return;
        };
        if object.kind() != "identifier" || property.kind() != "property_identifier" {
            return;
        }
        let object_name = self.src(object);
        if bindings.namespaces.contains(object_name) {
            self.namespace_member(property);
            return;
        }
        if !bindings.clients.contains(object_name) {
            return;
        }
        let accessor = self.src(property);
        if accessor.starts_with('$') || accessor.starts_with('_') {
            return;
        }
        let Some(model) = self.schema.model_for_accessor(accessor) else {
            let suggestion = self
                .suggest_model(accessor)
                .map(|m| format!("; did you mean `{object_name}.{}`?", m.accessor()))
                .unwrap_or_default();
            let message = format!(
                "`{object_name}.{accessor}` — there is no model `{}` in {}; {}{suggestion}",
                upper_first(accessor),
                self.schema_file,
                self.model_list()
            );
            self.push(property, CheckRule::UnknownPrismaModel, message);
            return;
        };
        // `<client>.<model>.<op>(…)`
        let Some(parent) = node.parent() else { return };
        if parent.kind() != "member_expression"
            || parent.child_by_field_name("object") != Some(node)
        {
            return;
        }
        let Some(op_node) = parent.child_by_field_name("property") else {
            return;
        };
        let op = self.src(op_node);
        if !OPERATIONS.contains(&op) {
            if !self.extended && !op.starts_with('$') {
                let message = format!(
                    "`{object_name}.{accessor}.{op}` — Prisma Client has no operation `{op}`; use one of {}",
                    OPERATIONS.join(", ")
                );
                self.push(op_node, CheckRule::UnknownPrismaOperation, message);
            }
            return;
        }
        let Some(call) = parent.parent() else { return };
        if call.kind() != "call_expression" || call.child_by_field_name("function") != Some(parent)
        {
            return;
        }
        let Some(arg) = call
            .child_by_field_name("arguments")
            .and_then(|a| a.named_child(0))
        else {
            return;
        };
        if arg.kind() == "object" {
            let label = format!("{object_name}.{accessor}.{op}");
            self.arguments(model, arg, &label, operation_arguments(op), 0);
        }
    }

    /// The top-level keys of an operation's argument object.
    fn arguments(
        &mut self,
        model: &'a Model,
        object: Node<'_>,
        label: &str,
        allowed: Option<&[&str]>,
        depth: usize,
    ) {
        for (key, key_node, value) in self.entries(object) {
            let known = allowed.is_none_or(|a| a.contains(&key.as_str())) || key == "cacheStrategy";
            if !known {
                if !self.extended {
                    let takes = allowed.unwrap_or_default().join(", ");
                    let hint = argument_hint(&key)
                        .filter(|h| allowed.is_some_and(|a| a.contains(h)))
                        .map(|h| format!(" (did you mean `{h}`?)"))
                        .unwrap_or_default();
                    let message = format!(
                        "`{label}({{ {key}: … }})` — there is no argument `{key}` here{hint}; it takes: {takes}"
                    );
                    self.push(key_node, CheckRule::UnknownPrismaArgument, message);
                }
                continue;
            }
            let Some(value) = value else { continue };
            if matches!(key.as_str(), "by" | "distinct") {
                self.field_list(model, value, &key, label);
                continue;
            }
            if !FIELD_KEYED.contains(&key.as_str()) {
                continue;
            }
            for obj in objects_in(value) {
                self.fields(model, obj, &key, label, depth);
            }
        }
    }

    /// The keys of a field-keyed object (`where: { … }`) against `model`.
    fn fields(&mut self, model: &'a Model, object: Node<'_>, arg: &str, label: &str, depth: usize) {
        if depth > MAX_DEPTH {
            return;
        }
        for (key, key_node, value) in self.entries(object) {
            if !self.key_is_allowed(model, arg, &key) {
                self.unknown_field(model, key_node, arg, &key, label);
                continue;
            }
            let Some(value) = value else { continue };
            if arg == "where" && matches!(key.as_str(), "AND" | "OR" | "NOT") {
                for obj in objects_in(value) {
                    self.fields(model, obj, "where", label, depth + 1);
                }
                continue;
            }
            let Some(field) = model.field(&key) else {
                continue;
            };
            let target = self.schema.model(&field.field_type.name);
            if arg == "include" && target.is_none() {
                let message = format!(
                    "`{label}({{ include: {{ {key} }} }})` — `include` takes relations, and `{key}` is a scalar field of model `{}`; scalar fields are returned without asking, or pick fields with `select`",
                    model.name
                );
                self.push(key_node, CheckRule::UnknownPrismaField, message);
                continue;
            }
            let Some(target) = target else { continue };
            if value.kind() != "object" {
                continue;
            }
            let nested = format!("{label}.{arg}.{key}");
            match arg {
                "select" | "include" => {
                    self.arguments(target, value, &nested, Some(FIND_ARGS), depth + 1)
                }
                "where" => self.relation_filter(target, field.is_list(), value, &nested, depth + 1),
                _ => {}
            }
        }
    }

    /// A relation's filter in `where`: `{ some | every | none: {…} }` for
    /// lists; `{ is | isNot: {…} }` or the related model's fields for one.
    fn relation_filter(
        &mut self,
        target: &'a Model,
        list: bool,
        value: Node<'_>,
        label: &str,
        depth: usize,
    ) {
        let entries = self.entries(value);
        let wraps = |k: &str| {
            if list {
                matches!(k, "some" | "every" | "none")
            } else {
                matches!(k, "is" | "isNot")
            }
        };
        if !list && !entries.iter().any(|(k, _, _)| wraps(k)) {
            self.fields(target, value, "where", label, depth);
            return;
        }
        for (key, key_node, inner) in entries {
            if wraps(&key) {
                for obj in inner.map(objects_in).unwrap_or_default() {
                    self.fields(target, obj, "where", label, depth);
                }
            } else if list {
                let message = format!(
                    "`{label}: {{ {key} }}` — a list relation is filtered with `some`, `every` or `none` (`{{ some: {{ … }} }}`), then the fields of model `{}`",
                    target.name
                );
                self.push(key_node, CheckRule::UnknownPrismaField, message);
            }
        }
    }

    fn unknown_field(
        &mut self,
        model: &Model,
        key_node: Node<'_>,
        arg: &str,
        key: &str,
        label: &str,
    ) {
        let message = format!(
            "`{label}({{ {arg}: {{ {key} }} }})` — model `{}` in {} has no field `{key}`; its fields are: {}",
            model.name,
            self.schema_file,
            field_names(model)
        );
        self.push(key_node, CheckRule::UnknownPrismaField, message);
    }

    /// `by: ['a', 'b']` / `distinct: ['a']`: each string names a field.
    fn field_list(&mut self, model: &Model, value: Node<'_>, arg: &str, label: &str) {
        let items: Vec<Node<'_>> = match value.kind() {
            "array" => {
                let mut cursor = value.walk();
                value.named_children(&mut cursor).collect()
            }
            _ => vec![value],
        };
        for item in items.into_iter().filter(|n| n.kind() == "string") {
            let name = self.src(item).trim_matches(|c| c == '\'' || c == '"');
            if model.field(name).is_none() {
                let message = format!(
                    "`{label}({{ {arg}: ['{name}'] }})` — model `{}` in {} has no field `{name}`; its fields are: {}",
                    model.name,
                    self.schema_file,
                    field_names(model)
                );
                self.push(item, CheckRule::UnknownPrismaField, message);
            }
        }
    }

    fn key_is_allowed(&self, model: &Model, arg: &str, key: &str) -> bool {
        if model.field(key).is_some() {
            return true;
        }
        match arg {
            "where" | "cursor" => {
                matches!(key, "AND" | "OR" | "NOT")
                    || compound_unique_names(model).contains(&key.to_string())
            }
            "select" | "include" => key == "_count",
            "orderBy" => matches!(
                key,
                "_count" | "_relevance" | "_avg" | "_sum" | "_min" | "_max"
            ),
            _ => false,
        }
    }

    /// `(key, key node, value)` of each plain property of an object literal.
    fn entries<'t>(&self, object: Node<'t>) -> Vec<Entry<'t>> {
        let mut out = Vec::new();
        let mut cursor = object.walk();
        let children: Vec<Node<'t>> = object.named_children(&mut cursor).collect();
        for child in children {
            match child.kind() {
                "pair" => {
                    let Some(key) = child.child_by_field_name("key") else {
                        continue;
                    };
                    let name = match key.kind() {
                        "property_identifier" | "identifier" => self.src(key).to_string(),
                        "string" => self
                            .src(key)
                            .trim_matches(|c| c == '\'' || c == '"')
                            .to_string(),
                        _ => continue,
                    };
                    out.push((name, key, child.child_by_field_name("value")));
                }
                "shorthand_property_identifier" => {
                    out.push((self.src(child).to_string(), child, None));
                }
                _ => {}
            }
        }
        out
    }

    /// `Prisma.<Member>`: a per-model generated name must name a model.
    fn namespace_member(&mut self, name: Node<'_>) {
        let member = self.src(name);
        if NAMESPACE_GENERICS.contains(&member) {
            return;
        }
        let Some(suffix) = MODEL_TYPE_SUFFIXES
            .iter()
            .find(|s| member.len() > s.len() && member.ends_with(*s))
        else {
            return;
        };
        let prefix = &member[..member.len() - suffix.len()];
        if !prefix.starts_with(|c: char| c.is_ascii_uppercase()) || self.schema.defines(prefix) {
            return;
        }
        let suggestion = self
            .suggest_model(prefix)
            .map(|m| format!("; did you mean `Prisma.{}{suffix}`?", m.name))
            .unwrap_or_default();
        let message = format!(
            "`Prisma.{member}` — there is no model `{prefix}` in {}; {}{suggestion}",
            self.schema_file,
            self.model_list()
        );
        self.push(name, CheckRule::UnknownPrismaModel, message);
    }

    /// The model a wrong name most likely meant: same letters in another
    /// case, or the singular of a plural.
    fn suggest_model(&self, name: &str) -> Option<&'a Model> {
        let schema = self.schema;
        let mut candidates = vec![name.to_string()];
        if let Some(stem) = name.strip_suffix("ies") {
            candidates.push(format!("{stem}y"));
        }
        if let Some(stem) = name.strip_suffix("es") {
            candidates.push(stem.to_string());
        }
        if let Some(stem) = name.strip_suffix('s') {
            candidates.push(stem.to_string());
        }
        candidates
            .iter()
            .find_map(|c| schema.model_ignore_case(c))
            .or_else(|| {
                let lower = name.to_ascii_lowercase().replace('_', "");
                schema
                    .models
                    .iter()
                    .chain(&schema.views)
                    .find(|m| client_accessor(&m.name).to_ascii_lowercase() == lower)
            })
    }
}

/// Object literals a value stands for: itself, or the objects of an array.
fn objects_in(value: Node<'_>) -> Vec<Node<'_>> {
    match value.kind() {
        "object" => vec![value],
        "array" => {
            let mut cursor = value.walk();
            value
                .named_children(&mut cursor)
                .filter(|n| n.kind() == "object")
                .collect()
        }
        _ => Vec::new(),
    }
}

/// Names Prisma gives compound unique and id constraints (`email_tenantId`,
/// or the `name:` given).
fn compound_unique_names(model: &Model) -> Vec<String> {
    model
        .attributes
        .iter()
        .filter(|a| a.name == "unique" || a.name == "id")
        .filter_map(|a| {
            if let Some(name) = a.arg("name") {
                return Some(name.trim_matches('"').to_string());
            }
            let fields = a.arg("fields").or_else(|| a.positional(0))?;
            let names: Vec<&str> = fields
                .trim()
                .trim_start_matches('[')
                .trim_end_matches(']')
                .split(',')
                .map(|f| f.split('(').next().unwrap_or(f).trim())
                .filter(|f| !f.is_empty())
                .collect();
            Some(names.join("_"))
        })
        .collect()
}

fn field_names(model: &Model) -> String {
    let names: Vec<&str> = model.fields.iter().map(|f| f.name.as_str()).collect();
    names.join(", ")
}

fn upper_first(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(c) => c.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}
