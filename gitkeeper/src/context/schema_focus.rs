//! Which Prisma models a task touches, so the schema summary shows those
//! (with their relations and enums) instead of the first blocks of a large
//! schema: models whose name's words are all in the task, models whose
//! exact name the task writes, and models the files picked for the task
//! use (`prisma.orderItem.findMany`, `import { OrderItem } from '@prisma/client'`).
//! Pure text matching over what the caller already read; it never reads
//! files itself.

use std::collections::HashSet;

use super::prisma::{CLIENT_OPERATIONS, PrismaSchema};
use super::query::Query;
use super::words;

/// Names of the models, views and composite types `query` or `texts` touch,
/// in schema order.
pub(crate) fn touched_models(schema: &PrismaSchema, query: &Query, texts: &[&str]) -> Vec<String> {
    let blocks: Vec<&str> = schema
        .models
        .iter()
        .chain(&schema.views)
        .chain(&schema.types)
        .map(|m| m.name.as_str())
        .collect();
    let mut used: HashSet<&str> = HashSet::new();
    for text in texts {
        collect_uses(text, &blocks, &mut used);
    }
    blocks
        .iter()
        .copied()
        .filter(|name| used.contains(name) || named_by(query, name))
        .map(str::to_string)
        .collect()
}

/// True when the task writes the model's name or every word of it.
fn named_by(query: &Query, model: &str) -> bool {
    if query
        .identifiers
        .iter()
        .any(|i| i == model || i.eq_ignore_ascii_case(model))
    {
        return true;
    }
    let mut parts = 0;
    let mut found = 0;
    let mut buf = Vec::new();
    words::for_each_part(model.as_bytes(), |part| {
        if let Some(stem) = words::normalize(part, &mut buf) {
            parts += 1;
            if query.term_index(stem).is_some() {
                found += 1;
            }
        }
    });
    parts > 0 && found == parts
}

/// Adds the blocks `text` uses: an identifier spelled exactly as a block's
/// name, or a client accessor followed by a client method.
fn collect_uses<'a>(text: &str, blocks: &[&'a str], used: &mut HashSet<&'a str>) {
    let idents = identifiers(text);
    for (k, &(ident, _)) in idents.iter().enumerate() {
        if let Some(block) = blocks.iter().find(|b| **b == ident) {
            used.insert(block);
            continue;
        }
        // `x.accessor.method`: the next identifier directly after a dot.
        let Some(&(next, dotted)) = idents.get(k + 1) else {
            continue;
        };
        if !dotted || !CLIENT_OPERATIONS.contains(&next) {
            continue;
        }
        if let Some(block) = blocks
            .iter()
            .find(|b| super::prisma::client_accessor(b) == ident)
        {
            used.insert(block);
        }
    }
}

/// Identifiers of `text` in order, each with whether a `.` comes right before it.
fn identifiers(text: &str) -> Vec<(&str, bool)> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        if c.is_ascii_alphabetic() || c == b'_' || c == b'$' {
            let start = i;
            while i < bytes.len()
                && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_' || bytes[i] == b'$')
            {
                i += 1;
            }
            let dotted = start > 0 && bytes[start - 1] == b'.';
            out.push((&text[start..i], dotted));
        } else {
            i += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::context::prisma::parse_schema;

    const SCHEMA: &str = "datasource db {\n  provider = \"postgresql\"\n  url = env(\"DATABASE_URL\")\n}\n\n\
model User {\n  id Int @id\n  role Role\n  teams TeamUser[]\n}\n\n\
model Team {\n  id Int @id\n  members TeamUser[]\n}\n\n\
model TeamUser {\n  id Int @id\n  team Team @relation(fields: [teamId], references: [id])\n  teamId Int\n  user User @relation(fields: [userId], references: [id])\n  userId Int\n}\n\n\
model Invoice {\n  id Int @id\n  status InvoiceStatus\n}\n\n\
model AuditLog {\n  id Int @id\n}\n\n\
enum Role {\n  USER\n  ADMIN\n}\n\n\
enum InvoiceStatus {\n  OPEN\n  PAID\n}\n";

    fn touched(task: &str, texts: &[&str]) -> Vec<String> {
        let schema = parse_schema("prisma/schema.prisma", SCHEMA).expect("parses");
        touched_models(&schema, &Query::parse(task), texts)
    }

    #[test]
    fn models_whose_words_the_task_uses_are_touched() {
        assert_eq!(touched("Invoices show the wrong total", &[]), ["Invoice"]);
        assert_eq!(
            touched("remove a user from a team", &[]),
            ["User", "Team", "TeamUser"]
        );
        assert!(touched("fix the navbar colours", &[]).is_empty());
    }

    #[test]
    fn models_the_selected_files_use_are_touched() {
        let page = "import type { AuditLog } from '@prisma/client';\n\
                    const rows = await prisma.invoice.findMany({ where: {} });\n\
                    const user = session.user; // not a client call\n";
        assert_eq!(touched("fix the navbar", &[page]), ["Invoice", "AuditLog"]);
    }
}
