//! The compact schema text for prompts: one line per model, view, composite
//! type and enum; fields with types and the attributes that matter to client
//! code (`@id`, `@unique`, `@default`, `@updatedAt`), and relations from both
//! ends. Database-only details (`@map`, `@db.*`, `@@index`) are left out;
//! they are in the raw schema when the schema file itself is selected.

use std::collections::HashMap;
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
