//! Relevance of each file to the task: BM25 over the file's words (code
//! identifiers split at case and underscores, comments, strings) plus a
//! second BM25 over its path's words weighted up (a file called
//! `invoice/service.ts` is about invoices even if it says "bill"), times a
//! prior for the kind of file (code over docs over data, tests when the task
//! is about tests). Pure arithmetic over facts the scan already collected.

use super::query::Query;
use super::scan::FileFacts;
use super::words;

/// BM25 term-frequency saturation.
const K1: f64 = 1.2;
/// BM25 length normalization for contents.
const B: f64 = 0.75;
/// BM25 length normalization for paths (short fields: mild).
const B_PATH: f64 = 0.3;
/// How much a match in the path counts against one in the contents.
const PATH_WEIGHT: f64 = 2.5;

/// What kind of file it is, for the prior.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FileClass {
    /// Source code.
    Code,
    /// Tests.
    Test,
    /// Prose documentation.
    Doc,
    /// Stylesheets.
    Style,
    /// Configuration (JSON, YAML, TOML, `*.config.*`).
    Config,
    /// Data, fixtures, SQL.
    Data,
}

impl FileClass {
    /// Classifies a repository-relative path.
    pub(crate) fn of(path: &str) -> Self {
        let lower = path.to_ascii_lowercase();
        let name = lower.rsplit('/').next().unwrap_or(&lower);
        let ext = name.rsplit_once('.').map_or("", |(_, e)| e);
        let is_test = name.contains(".test.")
            || name.contains(".spec.")
            || name.starts_with("test_")
            || name.ends_with("_test.go")
            || name.ends_with("_test.py")
            || lower.contains("__tests__/")
            || lower.starts_with("tests/")
            || lower.starts_with("test/")
            || lower.contains("/tests/")
            || lower.contains("/test/")
            || lower.starts_with("e2e/")
            || lower.contains("/e2e/");
        if is_test {
            return FileClass::Test;
        }
        match ext {
            "md" | "mdx" | "txt" | "rst" | "adoc" => FileClass::Doc,
            "css" | "scss" | "sass" | "less" | "styl" => FileClass::Style,
            "json" | "jsonc" | "json5" | "yaml" | "yml" | "toml" | "ini" | "cfg" | "conf"
            | "env" | "lock" | "xml" => FileClass::Config,
            "csv" | "tsv" | "sql" | "svg" | "snap" | "log" => FileClass::Data,
            _ if name.contains(".config.") || name.starts_with('.') => FileClass::Config,
            _ => FileClass::Code,
        }
    }

    /// Prior weight of this kind of file for a task.
    pub(crate) fn prior(self, query: &Query) -> f64 {
        match self {
            FileClass::Code => 1.0,
            FileClass::Test if query.wants_tests => 1.1,
            FileClass::Test => 0.6,
            FileClass::Doc if query.wants_docs => 1.1,
            FileClass::Doc => 0.35,
            FileClass::Style => 0.6,
            FileClass::Config => 0.5,
            FileClass::Data => 0.3,
        }
    }
}

/// Prior weight of the file at `path` for the task: its class's, except
/// that a configuration or data file whose own name the task uses
/// (`tailwind` for `tailwind.config.ts`, `translation` for
/// `translation.json`) weighs as code.
pub(crate) fn prior(path: &str, query: &Query) -> f64 {
    let class = FileClass::of(path);
    let base = class.prior(query);
    if !matches!(class, FileClass::Config | FileClass::Data) {
        return base;
    }
    let name = path.rsplit('/').next().unwrap_or(path);
    let (tf, _) = path_terms(name, query);
    if tf.iter().any(|&n| n > 0) {
        base.max(FileClass::Code.prior(query))
    } else {
        base
    }
}

/// Term counts of a path's words (directories and file stem, no extension).
pub(crate) fn path_terms(path: &str, query: &Query) -> (Vec<u32>, u32) {
    let mut tf = vec![0u32; query.terms.len()];
    let mut len = 0u32;
    let mut buf = Vec::new();
    let without_ext = match path.rsplit_once('.') {
        Some((stem, _)) if !stem.ends_with('/') && !stem.is_empty() => stem,
        _ => path,
    };
    for segment in without_ext.split(['/', '.', '-', '_', '[', ']', '(', ')', '@']) {
        words::for_each_part(segment.as_bytes(), |part| {
            if let Some(stem) = words::normalize(part, &mut buf) {
                len += 1;
                if let Some(t) = query.term_index(stem) {
                    tf[t] += 1;
                }
            }
        });
    }
    (tf, len)
}

/// BM25 scores of every file (contents + weighted path), times the class prior.
pub(crate) fn scores(paths: &[&str], facts: &[&FileFacts], query: &Query) -> Vec<f64> {
    let n = facts.len();
    let terms = query.terms.len();
    if n == 0 || terms == 0 {
        return vec![0.0; n];
    }
    let path_stats: Vec<(Vec<u32>, u32)> = paths.iter().map(|p| path_terms(p, query)).collect();
    let mut df = vec![0usize; terms];
    let mut df_path = vec![0usize; terms];
    let mut total_len = 0f64;
    let mut total_path_len = 0f64;
    for (f, (ptf, plen)) in facts.iter().zip(&path_stats) {
        total_len += f64::from(f.length);
        total_path_len += f64::from(*plen);
        for t in 0..terms {
            if f.term_freq.get(t).copied().unwrap_or(0) > 0 {
                df[t] += 1;
            }
            if ptf[t] > 0 {
                df_path[t] += 1;
            }
        }
    }
    let avg_len = (total_len / n as f64).max(1.0);
    let avg_path_len = (total_path_len / n as f64).max(1.0);
    let idf = |df: usize| ((n as f64 - df as f64 + 0.5) / (df as f64 + 0.5) + 1.0).ln();
    let idf_content: Vec<f64> = df.iter().map(|&d| idf(d)).collect();
    let idf_path: Vec<f64> = df_path.iter().map(|&d| idf(d)).collect();
    let query_weight: Vec<f64> = query
        .terms
        .iter()
        .map(|t| 1.0 + f64::from(t.count).ln())
        .collect();
    facts
        .iter()
        .zip(&path_stats)
        .zip(paths)
        .map(|((f, (ptf, plen)), path)| {
            let len_norm = 1.0 - B + B * f64::from(f.length) / avg_len;
            let path_norm = 1.0 - B_PATH + B_PATH * f64::from(*plen) / avg_path_len;
            let mut score = 0.0;
            for t in 0..terms {
                let tf = f64::from(f.term_freq.get(t).copied().unwrap_or(0));
                if tf > 0.0 {
                    score +=
                        query_weight[t] * idf_content[t] * tf * (K1 + 1.0) / (tf + K1 * len_norm);
                }
                let ptf = f64::from(ptf[t]);
                if ptf > 0.0 {
                    score += PATH_WEIGHT * query_weight[t] * idf_path[t] * ptf * (K1 + 1.0)
                        / (ptf + K1 * path_norm);
                }
            }
            score * prior(path, query)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::context::scan::{Syntax, scan};

    fn rank(files: &[(&str, &str)], task: &str) -> Vec<String> {
        let q = Query::parse(task);
        let facts: Vec<FileFacts> = files
            .iter()
            .map(|(p, c)| scan(c.as_bytes(), Syntax::for_path(p), &q))
            .collect();
        let refs: Vec<&FileFacts> = facts.iter().collect();
        let paths: Vec<&str> = files.iter().map(|(p, _)| *p).collect();
        let s = scores(&paths, &refs, &q);
        let mut order: Vec<usize> = (0..files.len()).collect();
        order.sort_by(|&a, &b| s[b].total_cmp(&s[a]));
        order.into_iter().map(|i| files[i].0.to_string()).collect()
    }

    #[test]
    fn path_words_outrank_incidental_mentions() {
        let order = rank(
            &[
                (
                    "src/lib/utils.ts",
                    "export const fmt = (x) => x; // used by invoices too",
                ),
                (
                    "src/lib/invoice/service.ts",
                    "export function total(lines) { return lines.length }",
                ),
                (
                    "src/lib/user/service.ts",
                    "export function name(u) { return u.name }",
                ),
            ],
            "Invoice totals are wrong",
        );
        assert_eq!(order[0], "src/lib/invoice/service.ts");
    }

    #[test]
    fn camel_case_identifiers_match_prose_words() {
        let order = rank(
            &[
                ("a.ts", "export function listArchivedProjects() {}"),
                ("b.ts", "export function listUsers() {}"),
            ],
            "archived projects should be listed",
        );
        assert_eq!(order[0], "a.ts");
    }

    #[test]
    fn docs_and_tests_are_down_weighted_unless_asked_for() {
        let files = [
            ("README.md", "# Projects\nProjects can be archived."),
            ("src/projects.ts", "export function archiveProject() {}"),
            (
                "src/projects.test.ts",
                "test('archive project', () => archiveProject())",
            ),
        ];
        assert_eq!(rank(&files, "archive projects")[0], "src/projects.ts");
        assert_eq!(
            rank(&files, "add tests for archive projects")[0],
            "src/projects.test.ts"
        );
        assert_eq!(
            rank(&files, "document archived projects in the README")[0],
            "README.md"
        );
    }

    #[test]
    fn configuration_files_the_task_names_are_not_demoted() {
        let task = Query::parse("Add a brand colour to the tailwind theme");
        let other = Query::parse("Add a brand colour to the theme");
        assert_eq!(
            prior("tailwind.config.ts", &task),
            prior("src/theme.ts", &task)
        );
        assert_eq!(
            prior("tailwind.config.ts", &other),
            FileClass::Config.prior(&other)
        );
        assert!(prior("tailwind.config.ts", &other) < prior("src/theme.ts", &other));
        // Only the file's own name counts, not its directory.
        let fix = Query::parse("fix tailwind");
        assert_eq!(
            prior("tailwind/settings.json", &fix),
            FileClass::Config.prior(&fix)
        );
        let settings = Query::parse("Show the settings page");
        assert_eq!(
            prior("src/settings.json", &settings),
            FileClass::Code.prior(&settings)
        );
    }

    #[test]
    fn classes_are_recognised() {
        assert_eq!(FileClass::of("src/a/__tests__/b.ts"), FileClass::Test);
        assert_eq!(FileClass::of("src/a.spec.tsx"), FileClass::Test);
        assert_eq!(FileClass::of("docs/intro.md"), FileClass::Doc);
        assert_eq!(FileClass::of("next.config.mjs"), FileClass::Config);
        assert_eq!(FileClass::of("prisma/schema.prisma"), FileClass::Code);
        assert_eq!(FileClass::of("src/app/page.tsx"), FileClass::Code);
    }

    #[test]
    fn path_terms_skip_the_extension() {
        let q = Query::parse("session ts");
        let (tf, len) = path_terms("src/lib/session.ts", &q);
        assert_eq!(tf, [1]);
        assert_eq!(len, 3);
    }
}
