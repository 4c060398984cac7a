//! The run's results as text: JSONL (one line per task run), the terminal
//! table (per task, then totals per level and per model for each
//! configuration, then B as a ratio of A), and the totals both the table
//! and the HTML report draw.
//!
//! Must never: print a rate without its counts, or compare configurations
//! on different tasks.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::record::{TaskResult, percent};
use super::suite::Level;

/// Totals over a group of task runs.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Totals {
    pub runs: usize,
    pub resolved: usize,
    pub validated: usize,
    pub false_pass: usize,
    /// Validated runs whose checks proved nothing about the change.
    pub proved_nothing: usize,
    pub well_formed: usize,
    pub attempts: u64,
    pub escalations: u64,
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    pub model_secs: f64,
    pub validation_secs: f64,
    pub wall_secs: f64,
}

impl Totals {
    pub fn of<'a>(results: impl IntoIterator<Item = &'a TaskResult>) -> Totals {
        let mut t = Totals::default();
        for r in results {
            t.runs += 1;
            t.resolved += usize::from(r.resolved);
            t.validated += usize::from(r.validated);
            t.false_pass += usize::from(r.false_pass);
            t.proved_nothing += usize::from(r.proved_nothing);
            t.well_formed += usize::from(r.first_try_well_formed);
            t.attempts += u64::from(r.attempts);
            t.escalations += u64::from(r.escalations);
            t.prompt_tokens += r.prompt_tokens;
            t.completion_tokens += r.completion_tokens;
            t.model_secs += r.seconds.model;
            t.validation_secs += r.seconds.validation;
            t.wall_secs += r.seconds.wall;
        }
        t
    }

    /// `part` as "n/runs pp%".
    pub fn rate(&self, part: usize) -> String {
        format!("{part}/{} {:.0}%", self.runs, percent(part, self.runs))
    }
}

/// The configurations in the order they were given (first seen first).
pub fn configs(results: &[TaskResult]) -> Vec<String> {
    let mut seen: Vec<String> = Vec::new();
    for r in results {
        if !seen.contains(&r.config) {
            seen.push(r.config.clone());
        }
    }
    seen
}

/// Totals per level (in routing order), per configuration.
pub fn by_level(results: &[TaskResult], config: &str) -> Vec<(Level, Totals)> {
    Level::ALL
        .into_iter()
        .filter_map(|level| {
            let t = Totals::of(
                results
                    .iter()
                    .filter(|r| r.config == config && r.level == level),
            );
            (t.runs > 0).then_some((level, t))
        })
        .collect()
}

/// Totals per finishing model, per configuration (`-` when no model answered).
pub fn by_model(results: &[TaskResult], config: &str) -> Vec<(String, Totals)> {
    let mut groups: BTreeMap<String, Vec<&TaskResult>> = BTreeMap::new();
    for r in results.iter().filter(|r| r.config == config) {
        groups
            .entry(r.model.clone().unwrap_or_else(|| "-".into()))
            .or_default()
            .push(r);
    }
    groups
        .into_iter()
        .map(|(model, rs)| (model, Totals::of(rs)))
        .collect()
}

/// One JSON object per line.
pub fn jsonl(results: &[TaskResult]) -> Result<String, serde_json::Error> {
    let mut out = String::new();
    for r in results {
        out.push_str(&serde_json::to_string(r)?);
        out.push('\n');
    }
    Ok(out)
}

fn yes(b: bool) -> &'static str {
    if b { "yes" } else { "-" }
}

fn cut(text: &str, n: usize) -> String {
    let line = text.lines().next().unwrap_or("");
    match line.char_indices().nth(n) {
        Some((i, _)) => format!("{}…", &line[..i]),
        None => line.to_string(),
    }
}

fn totals_row(out: &mut String, name: &str, t: &Totals) {
    let _ = writeln!(
        out,
        "  {:<22} {:>5} {:>13} {:>13} {:>13} {:>13} {:>13} {:>8} {:>5} {:>10} {:>9.1} {:>9.1} {:>9.1}",
        cut(name, 22),
        t.runs,
        t.rate(t.resolved),
        t.rate(t.validated),
        t.rate(t.false_pass),
        t.rate(t.proved_nothing),
        t.rate(t.well_formed),
        t.attempts,
        t.escalations,
        format!("{}/{}", t.prompt_tokens, t.completion_tokens),
        t.model_secs,
        t.validation_secs,
        t.wall_secs
    );
}

/// The terminal table.
pub fn table(results: &[TaskResult]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<28} {:<8} {:<10} {:<8} {:<9} {:<9} {:<6} {:<7} {:<6} {:>3} {:>3} {:>8} {:>6} {:>7} {:>7} {:>7}  {:<16} WHY",
        "TASK",
        "LEVEL",
        "CONFIG",
        "OUTCOME",
        "RESOLVED",
        "VALIDATED",
        "FALSE",
        "PROVED",
        "1ST OK",
        "ATT",
        "ESC",
        "TOK IN",
        "OUT",
        "MODEL s",
        "VALID s",
        "WALL s",
        "MODEL"
    );
    for r in results {
        let _ = writeln!(
            out,
            "{:<28} {:<8} {:<10} {:<8} {:<9} {:<9} {:<6} {:<7} {:<6} {:>3} {:>3} {:>8} {:>6} {:>7.1} {:>7.1} {:>7.1}  {:<16} {}",
            cut(&r.task, 28),
            r.level.as_str(),
            cut(&r.config, 10),
            r.outcome,
            yes(r.resolved),
            yes(r.validated),
            if r.false_pass { "FALSE" } else { "-" },
            if r.proved_nothing { "nothing" } else { "-" },
            yes(r.first_try_well_formed),
            r.attempts,
            r.escalations,
            r.prompt_tokens,
            r.completion_tokens,
            r.seconds.model,
            r.seconds.validation,
            r.seconds.wall,
            cut(r.model.as_deref().unwrap_or("-"), 16),
            cut(r.failure.as_deref().unwrap_or(""), 70)
        );
    }
    let header = |out: &mut String, first: &str| {
        let _ = writeln!(
            out,
            "  {:<22} {:>5} {:>13} {:>13} {:>13} {:>13} {:>13} {:>8} {:>5} {:>10} {:>9} {:>9} {:>9}",
            first,
            "RUNS",
            "RESOLVED",
            "VALIDATED",
            "FALSE PASS",
            "NOT PROVEN",
            "1ST OK",
            "ATTEMPTS",
            "ESC",
            "TOKENS",
            "MODEL s",
            "VALID s",
            "WALL s"
        );
    };
    let configs = configs(results);
    for config in &configs {
        let _ = writeln!(out, "\nTotals for {config}:");
        header(&mut out, "LEVEL");
        for (level, t) in by_level(results, config) {
            totals_row(&mut out, level.as_str(), &t);
        }
        totals_row(
            &mut out,
            "all",
            &Totals::of(results.iter().filter(|r| &r.config == config)),
        );
        header(&mut out, "MODEL");
        for (model, t) in by_model(results, config) {
            totals_row(&mut out, &model, &t);
        }
    }
    for (a, b) in compared(&configs) {
        out.push_str(&comparison(results, a, b));
    }
    out
}

/// The (A, B) pairs compared as B/A: every configuration against the raw
/// baseline when it ran, else the second configuration against the first.
pub fn compared(configs: &[String]) -> Vec<(&str, &str)> {
    let raw = super::raw::RAW_LABEL;
    if configs.iter().any(|c| c == raw) {
        return configs
            .iter()
            .filter(|c| *c != raw)
            .map(|c| (raw, c.as_str()))
            .collect();
    }
    match configs {
        [a, b] => vec![(a.as_str(), b.as_str())],
        _ => Vec::new(),
    }
}

/// `b / a`, or "n/a" when `a` is 0.
pub fn ratio(b: f64, a: f64) -> String {
    if a == 0.0 {
        if b == 0.0 {
            "1.00×".into()
        } else {
            "n/a".into()
        }
    } else {
        format!("{:.2}×", b / a)
    }
}

/// B against A on the same tasks: each figure as a ratio.
pub fn comparison(results: &[TaskResult], a: &str, b: &str) -> String {
    let ta = Totals::of(results.iter().filter(|r| r.config == a));
    let tb = Totals::of(results.iter().filter(|r| r.config == b));
    let mut out = format!("\n{b} against {a} (B/A):\n");
    let rows: [(&str, f64, f64); 9] = [
        ("resolved", ta.resolved as f64, tb.resolved as f64),
        ("validated", ta.validated as f64, tb.validated as f64),
        ("false passes", ta.false_pass as f64, tb.false_pass as f64),
        (
            "well-formed first answers",
            ta.well_formed as f64,
            tb.well_formed as f64,
        ),
        ("attempts", ta.attempts as f64, tb.attempts as f64),
        (
            "prompt tokens",
            ta.prompt_tokens as f64,
            tb.prompt_tokens as f64,
        ),
        (
            "completion tokens",
            ta.completion_tokens as f64,
            tb.completion_tokens as f64,
        ),
        ("model seconds", ta.model_secs, tb.model_secs),
        ("wall seconds", ta.wall_secs, tb.wall_secs),
    ];
    for (name, x, y) in rows {
        let _ = writeln!(out, "  {name:<26} {x:>10.1} → {y:>10.1}   {}", ratio(y, x));
    }
    out
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::eval::record::Stages;

    pub(crate) fn result(
        task: &str,
        config: &str,
        level: Level,
        resolved: bool,
        validated: bool,
    ) -> TaskResult {
        TaskResult {
            suite: "s".into(),
            task: task.into(),
            level,
            fixture: "lib".into(),
            config: config.into(),
            outcome: if validated { "pass" } else { "fail" }.into(),
            resolved,
            validated,
            false_pass: validated && !resolved,
            proved_nothing: false,
            first_try_well_formed: true,
            attempts: 1,
            escalations: 0,
            prompt_tokens: 100,
            completion_tokens: 20,
            route: Some("standard".into()),
            model: Some("local-large".into()),
            failure: (!resolved).then(|| "hidden check failed: not ok 1".into()),
            seconds: Stages {
                setup: 0.5,
                prepare: 0.2,
                model: 2.0,
                validation: 1.0,
                overhead: 0.1,
                hidden: 0.3,
                wall: 4.1,
            },
        }
    }

    #[test]
    fn the_table_counts_rates_per_level_and_model_and_compares_b_to_a() {
        let results = vec![
            result("fix-a", "A", Level::Quick, true, true),
            result("fix-a", "B", Level::Quick, true, true),
            result("feat-b", "B", Level::Standard, false, true),
            result("feat-b", "A", Level::Standard, false, false),
        ];
        let table = table(&results);
        assert!(
            table.contains("Totals for A:") && table.contains("Totals for B:"),
            "{table}"
        );
        // A resolved 1 of 2; B resolved 1 of 2 with one false pass.
        let all_b = table
            .lines()
            .filter(|l| l.trim_start().starts_with("all"))
            .nth(1)
            .unwrap();
        assert!(all_b.contains("1/2 50%"), "{all_b}");
        assert!(table.contains("FALSE"), "{table}");
        assert!(table.contains("B against A (B/A):"), "{table}");
        let fp = table
            .lines()
            .find(|l| l.trim_start().starts_with("false passes"))
            .unwrap();
        assert!(fp.contains("n/a"), "{fp}");
        let resolved = table
            .lines()
            .find(|l| l.trim_start().starts_with("resolved"))
            .unwrap();
        assert!(resolved.contains("1.00×"), "{resolved}");
        let quick = table
            .lines()
            .find(|l| l.trim_start().starts_with("quick"))
            .unwrap();
        assert!(quick.contains("1/1 100%"), "{quick}");
    }

    #[test]
    fn jsonl_has_one_parsable_line_per_run() {
        let results = vec![
            result("fix-a", "A", Level::Quick, true, true),
            result("feat-b", "A", Level::Complex, false, true),
        ];
        let text = jsonl(&results).unwrap();
        let back: Vec<TaskResult> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(back, results);
        assert!(text.contains("\"false_pass\":true"), "{text}");
        assert!(text.contains("\"proved_nothing\":false"), "{text}");
    }

    #[test]
    fn the_bot_is_compared_against_the_raw_baseline() {
        let names = |n: &[&str]| n.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(compared(&names(&["small", "raw"])), [("raw", "small")]);
        assert_eq!(
            compared(&names(&["small", "raw", "large"])),
            [("raw", "small"), ("raw", "large")]
        );
        assert_eq!(compared(&names(&["small", "large"])), [("small", "large")]);
        assert!(compared(&names(&["small"])).is_empty());
    }

    #[test]
    fn a_validation_that_proved_nothing_is_shown_per_task_and_counted() {
        let mut unproven = result("feat-greet", "A", Level::Quick, false, true);
        unproven.proved_nothing = true;
        let results = vec![unproven, result("fix-a", "A", Level::Quick, true, true)];
        let table = table(&results);
        let row = table.lines().find(|l| l.starts_with("feat-greet")).unwrap();
        assert!(row.contains("FALSE  nothing"), "{row}");
        assert!(table.contains("NOT PROVEN"), "{table}");
        let all = table
            .lines()
            .find(|l| l.trim_start().starts_with("all"))
            .unwrap();
        assert_eq!(all.matches("1/2 50%").count(), 3, "{all}");
        // Older JSONL lines without the flag still read.
        let line = serde_json::to_string(&results[1])
            .unwrap()
            .replace(",\"proved_nothing\":false", "");
        let back: TaskResult = serde_json::from_str(&line).unwrap();
        assert!(!back.proved_nothing);
    }
}
