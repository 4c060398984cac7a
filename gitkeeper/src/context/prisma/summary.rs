//! The compact schema text for prompts: one line per model, view, composite
//! type and enum; fields with types and the attributes that matter to client
//! code (`@id`, `@unique`, `@default`, `@updatedAt`), and relations from both
//! ends. Database-only details (`@map`, `@db.*`, `@@index`) are left out;
//! they are in the raw schema when the schema file itself is selected.
//!
//! [`render_focused`] gives the same lines for only the models a task
//! touches, the models they relate to and the enums they use, and names
//! the rest in one line, so a large schema costs what the task needs.

use std::collections::{HashMap, HashSet};
use std::fmt::Write;

use super::{Model, PrismaSchema, Relation};

/// Field attributes worth a model's attention when writing client code.
const SHOWN_FIELD_ATTRIBUTES: &[&str] = &["id", "unique", "default", "updatedAt", "ignore"];
/// Block attributes that change how records are addressed.
const SHOWN_BLOCK_ATTRIBUTES: &[&str] = &["id", "unique", "ignore"];

pub(super) fn render(schema: &PrismaSchema) -> String {
    let relations: HashMap<(String, String), Relation> = schema
        .relations()
        .into_iter()
        .map(|r| ((r.model.clone(), r.field.clone()), r))
        .collect();
    let mut out = String::new();
    for ds in &schema.datasources {
        if let Some(provider) = ds.get_str("provider") {
            let _ = writeln!(out, "datasource {}: {provider}", ds.name);
        }
    }
    for model in &schema.models {
        line(&mut out, model, &relations);
    }
    for view in &schema.views {
        line(&mut out, view, &relations);
    }
    for t in &schema.types {
        line(&mut out, t, &relations);
    }
    for e in &schema.enums {
        let values: Vec<&str> = e.values.iter().map(|v| v.name.as_str()).collect();
        let _ = writeln!(out, "enum {}: {}", e.name, values.join(", "));
    }
    out
}

/// The summary of `focus` (model, view or type names), the blocks they
/// relate to, and the enums and composite types their fields use; every
/// other block is only named.
pub(super) fn render_focused(schema: &PrismaSchema, focus: &[&str]) -> String {
    let relations: HashMap<(String, String), Relation> = schema
        .relations()
        .into_iter()
        .map(|r| ((r.model.clone(), r.field.clone()), r))
        .collect();
    let blocks: Vec<&Model> = schema
        .models
        .iter()
        .chain(&schema.views)
        .chain(&schema.types)
        .collect();
    let mut shown: HashSet<&str> = focus
        .iter()
        .copied()
        .filter(|name| blocks.iter().any(|b| b.name == *name))
        .collect();
    // One relation hop out, and the types and enums their fields use.
    let mut used_enums: HashSet<&str> = HashSet::new();
    let mut related: HashSet<&str> = HashSet::new();
    for block in blocks.iter().filter(|b| shown.contains(b.name.as_str())) {
        for field in &block.fields {
            let ty = field.field_type.name.as_str();
            if schema.enumeration(ty).is_some() {
                used_enums.insert(ty);
            } else if blocks.iter().any(|b| b.name == ty) {
                related.insert(ty);
            }
        }
    }
    shown.extend(related);
    // Enums used by the related blocks too (a relation's status field).
    for block in blocks.iter().filter(|b| shown.contains(b.name.as_str())) {
        for field in &block.fields {
            let ty = field.field_type.name.as_str();
            if schema.enumeration(ty).is_some() {
                used_enums.insert(ty);
            }
        }
    }
    let mut out = String::new();
    for ds in &schema.datasources {
        if let Some(provider) = ds.get_str("provider") {
            let _ = writeln!(out, "datasource {}: {provider}", ds.name);
        }
    }
    for block in blocks.iter().filter(|b| shown.contains(b.name.as_str())) {
        line(&mut out, block, &relations);
    }
    for e in schema
        .enums
        .iter()
        .filter(|e| used_enums.contains(e.name.as_str()))
    {
        let values: Vec<&str> = e.values.iter().map(|v| v.name.as_str()).collect();
        let _ = writeln!(out, "enum {}: {}", e.name, values.join(", "));
    }
    let others: Vec<&str> = blocks
        .iter()
        .map(|b| b.name.as_str())
        .filter(|name| !shown.contains(name))
        .collect();
    if !others.is_empty() {
        let _ = writeln!(
            out,
            "other models (fields not shown): {}",
            others.join(", ")
        );
    }
    let other_enums: Vec<&str> = schema
        .enums
        .iter()
        .map(|e| e.name.as_str())
        .filter(|name| !used_enums.contains(name))
        .collect();
    if !other_enums.is_empty() {
        let _ = writeln!(out, "other enums: {}", other_enums.join(", "));
    }
    out
}

fn line(out: &mut String, model: &Model, relations: &HashMap<(String, String), Relation>) {
    let _ = write!(out, "{} {}", model.kind.keyword(), model.name);
    let table = model.db_name();
    let schema = model.db_schema();
    match (table != model.name, schema) {
        (true, Some(s)) => {
            let _ = write!(out, " (table {s}.{table})");
        }
        (true, None) => {
            let _ = write!(out, " (table {table})");
        }
        (false, Some(s)) => {
            let _ = write!(out, " (schema {s})");
        }
        (false, None) => {}
    }
    out.push_str(": ");
    let mut first = true;
    for field in &model.fields {
        if !first {
            out.push_str("; ");
        }
        first = false;
        let _ = write!(out, "{} {}", field.name, field.type_text());
        for attr in &field.attributes {
            if SHOWN_FIELD_ATTRIBUTES.contains(&attr.name.as_str()) {
                let _ = write!(out, " {}", attr.render(false));
            }
        }
        if let Some(rel) = relations.get(&(model.name.clone(), field.name.clone())) {
            let mut notes = Vec::new();
            if !rel.fields.is_empty() {
                notes.push(format!(
                    "{} → {}.{}",
                    rel.fields.join(", "),
                    rel.target,
                    rel.references.join(", ")
                ));
            }
            match &rel.back_field {
                Some(back) => notes.push(format!("↔ {}.{back}", rel.target)),
                None => notes.push("no back-relation".to_string()),
            }
            if let Some(name) = &rel.name {
                notes.push(format!("relation {name:?}"));
            }
            let _ = write!(out, " ({})", notes.join("; "));
        }
    }
    for attr in &model.attributes {
        if SHOWN_BLOCK_ATTRIBUTES.contains(&attr.name.as_str()) {
            let _ = write!(out, "; {}", attr.render(true));
        }
    }
    out.push('\n');
}
