//! `tune --apply`: writes proposals into the configuration file with
//! `toml_edit`, so the operator's comments and layout stay, and each changed
//! table or key gets a comment saying when and why it changed. The new file
//! is loaded as a configuration before it replaces the old one.
//!
//! Must never: write a file the bot would refuse to start with, or change
//! anything but what the proposals name.

use std::path::Path;

use toml_edit::{Array, ArrayOfTables, DocumentMut, InlineTable, Item, Table, Value, value};

use super::{Change, Proposal};
use crate::config::Settings;
use crate::route::LadderSettings;

/// Why the proposals could not be written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ApplyError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: {source}")]
    Edit {
        path: String,
        #[source]
        source: EditError,
    },
    #[error("the tuned configuration would not load ({source}); {path} was not changed")]
    Invalid {
        path: String,
        #[source]
        source: crate::config::ConfigError,
    },
    #[error("cannot write {path}: {source}")]
    Write {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

/// Why the text could not take the proposals.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EditError {
    #[error("not TOML ({0}); fix it before running tune --apply")]
    Parse(#[from] toml_edit::TomlError),
    #[error("{what}; make the change by hand: {change}")]
    Shape { what: String, change: String },
}

/// Write `proposals` into the configuration file at `path` (created when
/// missing); `settings` are the ones in effect (for the ladders the file
/// does not write out), `stamp` heads each comment.
pub fn apply(
    path: &Path,
    settings: &Settings,
    proposals: &[Proposal],
    stamp: &str,
) -> Result<(), ApplyError> {
    let shown = path.display().to_string();
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(source) => {
            return Err(ApplyError::Read {
                path: shown,
                source,
            });
        }
    };
    let new = edit(&text, settings, proposals, stamp).map_err(|source| ApplyError::Edit {
        path: shown.clone(),
        source,
    })?;
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let write = |source| ApplyError::Write {
        path: shown.clone(),
        source,
    };
    let tmp = tempfile::Builder::new()
        .prefix(".gitkeeper-tune")
        .suffix(".toml")
        .tempfile_in(dir)
        .map_err(write)?;
    std::fs::write(tmp.path(), &new).map_err(write)?;
    if let Err(source) = Settings::load(tmp.path()) {
        return Err(ApplyError::Invalid {
            path: shown.clone(),
            source,
        });
    }
    tmp.persist(path).map_err(|e| write(e.error))?;
    Ok(())
}

/// The configuration text `text` with `proposals` applied.
pub fn edit(
    text: &str,
    settings: &Settings,
    proposals: &[Proposal],
    stamp: &str,
) -> Result<String, EditError> {
    let mut doc: DocumentMut = text.parse()?;
    for p in proposals {
        let note = format!("# {stamp}: {}", p.evidence);
        let fail = |what: &str| EditError::Shape {
            what: what.to_string(),
            change: p.change.to_string(),
        };
        match &p.change {
            Change::SkipTier { ladder, model } => {
                let ladders = ladders(&mut doc, settings, stamp).ok_or_else(|| {
                    fail("[route] ladder is not an array of [[route.ladder]] tables")
                })?;
                let table = ladders
                    .iter_mut()
                    .find(|t| t.get("name").and_then(Item::as_str) == Some(ladder))
                    .ok_or_else(|| fail(&format!("no [[route.ladder]] is named `{ladder}`")))?;
                let tiers = table
                    .get_mut("tiers")
                    .and_then(Item::as_array_mut)
                    .ok_or_else(|| fail(&format!("ladder `{ladder}` has no tiers = [...] list")))?;
                tiers.retain(|tier| tier_model(tier) != Some(model.as_str()));
                tiers.fmt();
                add_comment(table, &format!("{note} → skipped tier `{model}`"));
            }
            Change::WholeFile { model } => {
                set_model_key(&mut doc, model, "edit_format", value("whole_file"), &note)
                    .ok_or_else(|| fail(&format!("[models.{model}] is not a table")))?;
            }
            Change::ContextWindow { model, to, .. } => {
                set_model_key(
                    &mut doc,
                    model,
                    "context_window",
                    value(i64::from(*to)),
                    &note,
                )
                .ok_or_else(|| fail(&format!("[models.{model}] is not a table")))?;
            }
        }
    }
    Ok(doc.to_string())
}

/// The model a `tiers` entry names (`"m"` or `{ model = "m", … }`).
fn tier_model(tier: &Value) -> Option<&str> {
    match tier {
        Value::String(s) => Some(s.value().as_str()),
        Value::InlineTable(t) => t.get("model").and_then(Value::as_str),
        _ => None,
    }
}

/// Add `comment` (lines starting with `#`) above the table's header,
/// after the comments already there.
fn add_comment(table: &mut Table, comment: &str) {
    let old = table
        .decor()
        .prefix()
        .and_then(|p| p.as_str())
        .unwrap_or("\n")
        .to_string();
    let old = if old.is_empty() {
        "\n".to_string()
    } else {
        old
    };
    table.decor_mut().set_prefix(format!("{old}{comment}\n"));
}

/// The file's `[[route.ladder]]` tables; when it has none, the ladders in
/// effect (the defaults) written out first, so one of them can change.
fn ladders<'d>(
    doc: &'d mut DocumentMut,
    settings: &Settings,
    stamp: &str,
) -> Option<&'d mut ArrayOfTables> {
    let route = section(doc, "route")?;
    if route.get("ladder").is_none() {
        let mut all = ArrayOfTables::new();
        for (i, ladder) in settings.route.ladder.iter().enumerate() {
            let mut table = ladder_table(ladder);
            if i == 0 {
                add_comment(
                    &mut table,
                    &format!(
                        "# {stamp}: the escalation matrix in effect, written out to change it"
                    ),
                );
            }
            all.push(table);
        }
        route.insert("ladder", Item::ArrayOfTables(all));
    }
    route.get_mut("ladder")?.as_array_of_tables_mut()
}

/// The top-level table `name`, made (without a header of its own) when missing.
fn section<'d>(doc: &'d mut DocumentMut, name: &str) -> Option<&'d mut Table> {
    doc.as_table_mut()
        .entry(name)
        .or_insert_with(|| {
            let mut t = Table::new();
            t.set_implicit(true);
            Item::Table(t)
        })
        .as_table_mut()
}

fn ladder_table(ladder: &LadderSettings) -> Table {
    let mut t = Table::new();
    t.insert("name", value(ladder.name.as_str()));
    for (key, limit) in [
        ("min_complexity", ladder.min_complexity.map(u32::from)),
        ("max_complexity", ladder.max_complexity.map(u32::from)),
        ("max_files", ladder.max_files),
        ("max_lines", ladder.max_lines),
    ] {
        if let Some(limit) = limit {
            t.insert(key, value(i64::from(limit)));
        }
    }
    let mut tiers = Array::new();
    for spec in &ladder.tiers {
        let mut tier = InlineTable::new();
        tier.insert("model", spec.model().into());
        tier.insert("attempts", i64::from(spec.attempts(ladder.attempts)).into());
        tiers.push(tier);
    }
    t.insert("tiers", value(tiers));
    if let Some(checker) = &ladder.checker {
        t.insert("checker", value(checker.as_str()));
    }
    t.insert("validation", value(ladder.validation.as_str()));
    t
}

/// Set `[models.<model>] <key> = item`, with `note` above the key.
fn set_model_key(
    doc: &mut DocumentMut,
    model: &str,
    key: &str,
    item: Item,
    note: &str,
) -> Option<()> {
    let models = section(doc, "models")?;
    let table = models
        .entry(model)
        .or_insert_with(|| Item::Table(Table::new()))
        .as_table_mut()?;
    table.insert(key, item);
    let mut k = table.key_mut(key)?;
    k.leaf_decor_mut().set_prefix(format!("{note}\n"));
    Some(())
}
