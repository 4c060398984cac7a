//! Classifying a task from its issue text, labels and context package:
//! type, complexity 0–10, estimated files and lines, security-critical. A
//! keyword classifier, as seed 004 starts with; every score it gives comes
//! with the reason, so a maintainer can see why a task went where it went.
//! Pure: it reads only the values it is given.

use std::collections::BTreeSet;

use gitkeeper::context::{ContextPackage, Reason};
use gitkeeper::sanitize::sanitize_untrusted;
use serde::{Deserialize, Serialize};

use crate::trail::TaskType;

/// The task as the router sees it. Title and body are untrusted.
#[derive(Debug, Clone, Default)]
pub struct TaskInput {
    pub title: String,
    pub body: String,
    pub labels: Vec<String>,
    /// The `local_only_paths` the task's context or change touches: when
    /// any, only local tiers (and no paid checker) may work on it.
    pub local_only: Vec<String>,
}

/// What the classifier concluded, with its reasons.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Classification {
    pub task_type: TaskType,
    /// 0 (a typo) to 10 (critical).
    pub complexity: u8,
    pub estimated_files: u32,
    pub estimated_lines: u32,
    pub security_critical: bool,
    pub new_feature: bool,
    pub reasons: Vec<String>,
}

/// Words that make a task security-critical (seed 004: auth, crypto, payments,
/// migrations, permissions).
const SECURITY_WORDS: &[&str] = &[
    "auth",
    "authentication",
    "authorization",
    "authorisation",
    "login",
    "logout",
    "password",
    "passwords",
    "credential",
    "credentials",
    "token",
    "tokens",
    "jwt",
    "oauth",
    "crypto",
    "cryptography",
    "encrypt",
    "encryption",
    "decrypt",
    "signature",
    "payment",
    "payments",
    "billing",
    "stripe",
    "invoice",
    "migration",
    "migrations",
    "migrate",
    "permission",
    "permissions",
    "rbac",
    "acl",
    "secret",
    "secrets",
    "csrf",
    "xss",
    "injection",
    "vulnerability",
    "security",
];

const NEW_FEATURE_VERBS: &[&str] = &["add", "create", "implement", "build", "introduce", "new"];
const NEW_FEATURE_NOUNS: &[&str] = &[
    "endpoint",
    "endpoints",
    "api",
    "page",
    "pages",
    "feature",
    "component",
    "service",
    "module",
    "screen",
    "route",
    "command",
    "integration",
    "dashboard",
];
const ARCHITECTURE_WORDS: &[&str] = &[
    "architecture",
    "redesign",
    "rearchitect",
    "restructure",
    "overhaul",
    "rewrite",
];
const WIDE_WORDS: &[&str] = &["across", "everywhere", "codebase", "all", "every", "whole"];

/// The lowercase words of `text`.
fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect()
}

/// Path-like tokens: contain a `.ext` or a `/` between word characters.
fn mentioned_paths(text: &str) -> BTreeSet<String> {
    text.split(|c: char| c.is_whitespace() || "`'\"(),;:<>[]".contains(c))
        .map(|t| t.trim_end_matches(['.', '!', '?']))
        .filter(|t| {
            let has_ext = t.rsplit_once('.').is_some_and(|(stem, ext)| {
                !stem.is_empty()
                    && (1..=10).contains(&ext.len())
                    && ext.chars().all(|c| c.is_ascii_alphanumeric())
                    && ext.chars().any(|c| c.is_ascii_alphabetic())
            });
            has_ext && !t.starts_with("http") && !t.contains('@')
        })
        .map(str::to_string)
        .collect()
}

fn type_from_labels(labels: &[String]) -> Option<(TaskType, String)> {
    labels.iter().find_map(|label| {
        let l = label.to_lowercase();
        let t = match l.as_str() {
            "bug" | "fix" | "regression" => TaskType::Fix,
            "documentation" | "docs" => TaskType::Docs,
            "test" | "tests" | "testing" => TaskType::Test,
            "refactor" | "refactoring" | "tech debt" | "cleanup" => TaskType::Refactor,
            "enhancement" | "feature" => TaskType::Implement,
            _ => return None,
        };
        Some((t, format!("label `{label}` → {t}")))
    })
}

fn type_from_words(title: &[String], all: &[String]) -> (TaskType, String) {
    let has = |set: &[&str], ws: &[String]| ws.iter().any(|w| set.contains(&w.as_str()));
    let table: [(TaskType, &[&str]); 4] = [
        (
            TaskType::Docs,
            &[
                "docs",
                "doc",
                "documentation",
                "document",
                "readme",
                "typo",
                "comment",
                "comments",
                "changelog",
            ],
        ),
        (
            TaskType::Test,
            &["test", "tests", "testing", "coverage", "spec", "specs"],
        ),
        (
            TaskType::Refactor,
            &[
                "refactor",
                "rename",
                "extract",
                "restructure",
                "cleanup",
                "simplify",
                "deduplicate",
            ],
        ),
        (
            TaskType::Fix,
            &[
                "fix",
                "bug",
                "broken",
                "crash",
                "crashes",
                "error",
                "fails",
                "failing",
                "wrong",
                "incorrect",
                "regression",
            ],
        ),
    ];
    for ws in [title, all] {
        for (t, set) in &table {
            if has(set, ws) {
                return (
                    *t,
                    format!(
                        "the text says `{}` → {t}",
                        ws.iter()
                            .find(|w| set.contains(&w.as_str()))
                            .map_or("", String::as_str)
                    ),
                );
            }
        }
    }
    (
        TaskType::Implement,
        "no fix/refactor/test/docs words → implement".into(),
    )
}

/// Classify `task`, using the context package (files it named, schema) when given.
pub fn classify(task: &TaskInput, package: Option<&ContextPackage>) -> Classification {
    let title = sanitize_untrusted(&task.title).text;
    let body = sanitize_untrusted(&task.body).text;
    let title_words = words(&title);
    let all_words = words(&format!("{title}\n{body}"));
    let has = |set: &[&str]| {
        all_words
            .iter()
            .find(|w| set.contains(&w.as_str()))
            .cloned()
    };
    let mut reasons = Vec::new();

    let (task_type, why) =
        type_from_labels(&task.labels).unwrap_or_else(|| type_from_words(&title_words, &all_words));
    reasons.push(why);

    let mut files: BTreeSet<String> = mentioned_paths(&format!("{title}\n{body}"));
    if let Some(package) = package {
        for file in &package.files {
            if file
                .reasons
                .iter()
                .any(|r| matches!(r, Reason::NamedInTask { .. }))
            {
                files.insert(file.path.clone());
            }
        }
    }
    let named = u32::try_from(files.len()).unwrap_or(u32::MAX);
    let touches_schema = files
        .iter()
        .any(|f| f.ends_with(".prisma") || f.contains("migrations/"));

    let new_feature = task_type == TaskType::Implement
        && has(NEW_FEATURE_VERBS).is_some()
        && has(NEW_FEATURE_NOUNS).is_some();
    let architecture = has(ARCHITECTURE_WORDS);
    let wide = task_type == TaskType::Refactor && has(WIDE_WORDS).is_some();
    let security_word = has(SECURITY_WORDS);
    let security_critical = security_word.is_some() || touches_schema;

    let mut estimated_files = named.max(1);
    if new_feature {
        estimated_files = estimated_files.max(2);
    }
    if wide {
        estimated_files = estimated_files.max(4);
    }
    let typo = has(&["typo", "typos", "spelling", "wording"]).is_some();
    let per_file = match task_type {
        _ if typo => 5,
        TaskType::Docs => 20,
        TaskType::Fix => 20,
        TaskType::Test => 80,
        TaskType::Refactor => 60,
        TaskType::Implement if new_feature => 120,
        TaskType::Implement => 60,
    };
    let estimated_lines = per_file * estimated_files;
    reasons.push(format!(
        "estimated {estimated_files} file(s) ({named} named), ~{estimated_lines} lines"
    ));

    let base: u8 = match task_type {
        _ if typo => 0,
        TaskType::Docs => 1,
        TaskType::Fix => 2,
        TaskType::Test | TaskType::Implement => 3,
        TaskType::Refactor => 4,
    };
    let mut complexity = base;
    complexity += match estimated_files {
        0 | 1 => 0,
        2 | 3 => 2,
        _ => 4,
    };
    complexity += match estimated_lines {
        0..50 => 0,
        50..=200 => 1,
        _ => 2,
    };
    if new_feature {
        complexity = complexity.max(6);
        reasons.push("new feature → complexity ≥ 6".into());
    }
    if let Some(word) = &architecture {
        complexity = complexity.max(7);
        reasons.push(format!("architecture change (`{word}`) → complexity ≥ 7"));
    }
    if security_critical {
        complexity = complexity.max(9);
        reasons.push(match (&security_word, touches_schema) {
            (Some(word), _) => format!("security-critical (`{word}`) → complexity ≥ 9"),
            (None, _) => {
                "touches the schema or migrations → security-critical, complexity ≥ 9".into()
            }
        });
    }
    // 9 and 10 are for critical work (seed 004's type 4): security only.
    let complexity = complexity.min(if security_critical { 10 } else { 8 });
    reasons.push(format!("complexity {complexity}/10"));
    Classification {
        task_type,
        complexity,
        estimated_files,
        estimated_lines,
        security_critical,
        new_feature,
        reasons,
    }
}
