//! What a maintainer reads about a published change: the pull request
//! description and the check run's report, made from the route, the attempt
//! trail and the validation report. Plain functions of values.
//!
//! Must never: put a model's or a build's text into GitHub text without
//! [`for_comment`] (it could mention people or forge a marker).

use gitkeeper::edits::{AppliedEdits, Diff, FileChange};
use gitkeeper::validate::{ChangeKind, ChangedFile};

use super::message::one_line;
use super::publication::Work;
use crate::generate::{Generation, agent_activity};
use crate::ids::IssueNumber;
use crate::markers::for_comment;
use crate::prompts::{PrDescription, PrDescriptionAttempt, PromptError, Prompts};
use crate::route::Route;
use crate::trail::{AttemptOutcome, AttemptRole, TierMode};
use crate::validate::ValidationReport;

/// Characters of one check's output kept in the PR description.
const MAX_LOG_CHARS: usize = 6000;

/// The pull request body for `work` on issue `issue` titled `title`,
/// rendered from `pr_description.md`.
pub fn pr_body(
    prompts: &Prompts,
    issue: IssueNumber,
    title: &str,
    d: &Work<'_>,
) -> Result<String, PromptError> {
    let mut summary = if d.draft {
        format!(
            "⚠️ **Draft: this change does not pass the repository's checks.** Gitkeeper tried every tier of the ladder for #{}: **{}**; this is the closest attempt, by `{}`. The failing checks are under Validation; a human should finish it (push to this branch), or comment `/gitkeeper escalate`.",
            issue,
            one_line(title),
            d.worker
        )
    } else if d.validation.proved_nothing() {
        format!(
            "Gitkeeper wrote this change for #{}: **{}**. `{}` made it; the repository's checks ran on it and passed, but **they proved nothing about it** (see Validation): review it against the issue before merging.",
            issue,
            one_line(title),
            d.worker
        )
    } else {
        format!(
            "Gitkeeper wrote this change for #{}: **{}**. `{}` made it; the repository's checks ran on it before this pull request was opened.",
            issue,
            one_line(title),
            d.worker
        )
    };
    if let Some(v) = d.checker {
        summary.push_str(&format!(
            "\n\nThe reviewer model passed it (confidence {:.2}): {}",
            v.confidence,
            one_line(&for_comment(&v.notes))
        ));
    }
    prompts.pr_description(&PrDescription {
        summary,
        diff_summary: d.applied.diff().summary(),
        files: file_lines(d.applied),
        validation: validation_section(d.validation),
        route: route_section(d.route, d.generation, (!d.draft).then_some(d.worker)),
        attempts: attempt_rows(d.generation),
        agent: agent_section(d.generation),
        tokens: d.generation.tokens_in() + d.generation.tokens_out(),
        cost: format!("{:.4}", d.generation.cost_usd()),
        issue: Some(issue.0),
    })
}

/// One line per changed file: "`src/a.ts`: modified (+3 −1)".
pub fn file_lines(applied: &AppliedEdits) -> Vec<String> {
    ChangedFile::from_applied(applied)
        .into_iter()
        .map(|file| {
            let after = applied
                .changes
                .iter()
                .find(|c| c.path == file.path)
                .and_then(|c| c.after.clone());
            let what = match &file.kind {
                ChangeKind::Renamed(from) => format!("renamed from `{from}`"),
                ChangeKind::Added => "added".to_string(),
                ChangeKind::Deleted => "deleted".to_string(),
                ChangeKind::Modified => "modified".to_string(),
            };
            let diff = Diff::from_changes(&[FileChange {
                path: file.path.clone(),
                before: file.before.clone(),
                after,
                renamed_from: None,
            }]);
            let counts = match (diff.insertions, diff.deletions) {
                (0, 0) => String::new(),
                (i, 0) => format!(" (+{i})"),
                (0, d) => format!(" (−{d})"),
                (i, d) => format!(" (+{i} −{d})"),
            };
            format!("`{}`: {what}{counts}", file.path)
        })
        .collect()
}

/// A table of every check with its result and duration; failures' output
/// in collapsed blocks below it.
pub fn validation_section(report: &ValidationReport) -> String {
    let withheld = withheld_env_line(report);
    if report.checks.is_empty() {
        return format!("No checks ran.{withheld}");
    }
    let mut text = String::from("| check | result | duration |\n|---|---|---|\n");
    for check in &report.checks {
        text.push_str(&format!(
            "| {} | {} | {} |\n",
            cell(&check.name),
            match (check.passed, check.failed_before) {
                (_, true) => "⚠️ failing before and after this change",
                (true, false) => "✅ passed",
                (false, false) => "❌ failed",
            },
            duration(check.duration_ms)
        ));
    }
    for check in report.failing_before() {
        text.push_str(&format!(
            "\n⚠️ `{}` failed before this change and fails after it the same way: this check proved nothing about the change.\n",
            for_comment(check.command()).replace('`', "ʼ")
        ));
    }
    if report.proved_nothing() {
        text.push_str(&format!(
            "\n⚠️ **Not proven.** The checks passed, but they could not exercise this change: {}. Nothing here shows the change does what the issue asks; review it against the issue by hand.\n",
            one_line(&for_comment(&report.unproven.join("; ")))
        ));
    }
    for note in &report.notes {
        text.push_str(&format!(
            "\n⚠️ Likely wrong path: {}\n",
            one_line(&for_comment(note))
        ));
    }
    for check in report.checks.iter().filter(|c| !c.detail.trim().is_empty()) {
        text.push_str(&format!(
            "\n<details><summary>{}</summary>\n\n```text\n{}\n```\n\n</details>\n",
            html_escape(&check.name),
            for_comment(&tail(&check.detail, MAX_LOG_CHARS)).replace("```", "ʼʼʼ")
        ));
    }
    format!("{}{withheld}", text.trim_end())
}

/// The host variables the repository asked for that its commands did not
/// get, by name (never a value), as a paragraph after the checks; empty
/// when there are none.
fn withheld_env_line(report: &ValidationReport) -> String {
    let Some(note) = crate::validate::policy::withheld_note(&report.withheld_env) else {
        return String::new();
    };
    let mut chars = note.chars();
    let note: String = chars
        .next()
        .map(|first| first.to_uppercase().chain(chars).collect())
        .unwrap_or_default();
    format!(
        "\n\nℹ️ {}. A command that needs one of them ran without it.",
        for_comment(&note)
    )
}

/// Task type, complexity, ladder, tiers tried, the model that succeeded,
/// attempts, escalations, tokens, cost and time.
pub fn route_section(route: &Route, g: &Generation, worker: Option<&str>) -> String {
    let c = &route.classification;
    let mut tried: Vec<String> = Vec::new();
    for a in g.attempts.iter().filter(|a| a.role != AttemptRole::Checker) {
        if !tried.contains(&a.model) {
            tried.push(a.model.clone());
        }
    }
    let worker_attempts = g
        .attempts
        .iter()
        .filter(|a| a.role != AttemptRole::Checker)
        .count();
    let mut lines = vec![
        format!(
            "- **Task**: {}, complexity {}/10{}",
            c.task_type,
            c.complexity,
            if c.security_critical {
                ", security-critical"
            } else {
                ""
            }
        ),
        format!(
            "- **Ladder** `{}`: {}",
            route.ladder,
            route
                .active_tiers()
                .iter()
                .map(|t| format!(
                    "`{}`×{}{}{}",
                    t.model,
                    t.attempts,
                    if t.mode == TierMode::Agent {
                        " (agent)"
                    } else {
                        ""
                    },
                    if t.paid { " ($)" } else { "" }
                ))
                .collect::<Vec<_>>()
                .join(" → ")
        ),
        format!(
            "- **Tried**: {}",
            if tried.is_empty() {
                "no model".to_string()
            } else {
                tried
                    .iter()
                    .map(|m| format!("`{m}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            }
        ),
    ];
    if !route.reasons.is_empty() {
        lines.push(format!(
            "- **Why this route**: {}",
            route.reasons.join("; ")
        ));
    }
    if !g.local_only.is_empty() {
        lines.push(format!(
            "- **Kept local**: the task touches local-only paths ({}); no paid model was sent anything for it",
            for_comment(&crate::route::privacy::list(&g.local_only))
        ));
    }
    if !g.packages.is_empty() {
        lines.push(format!(
            "- **Context trimmed to fit**: {}",
            g.packages
                .iter()
                .map(|p| for_comment(&p.to_string()))
                .collect::<Vec<_>>()
                .join("; ")
        ));
    }
    if let Some(worker) = worker {
        lines.push(format!("- **Succeeded with**: `{worker}`"));
    }
    lines.push(format!(
        "- **Attempts**: {worker_attempts}; escalations: {}; validation level: {}",
        g.escalations,
        route.validation.as_str()
    ));
    lines.push(format!(
        "- **Tokens**: {} in, {} out; cost ${:.4}; time {:.1} s",
        g.tokens_in(),
        g.tokens_out(),
        g.cost_usd(),
        g.latency.as_secs_f64()
    ));
    lines.join("\n")
}

/// The attempt table's rows.
pub fn attempt_rows(g: &Generation) -> Vec<PrDescriptionAttempt> {
    g.attempts
        .iter()
        .map(|a| PrDescriptionAttempt {
            seq: a.seq,
            tier: match a.role {
                AttemptRole::Worker => a.tier.to_string(),
                AttemptRole::Fallback => format!("{} (fallback)", a.tier),
                AttemptRole::Checker => format!("{} (checker)", a.tier),
                AttemptRole::Explainer => "explain".to_string(),
            },
            model: format!("`{}`", a.model),
            outcome: a.outcome.as_str().to_string(),
            tokens: a.prompt_tokens.saturating_add(a.completion_tokens),
            cost: format!("{:.4}", a.cost_usd),
            note: a
                .error
                .as_deref()
                .map(|e| cell(&for_comment(e)))
                .unwrap_or_default(),
        })
        .collect()
}

/// The folded "What the agent did" section: every agent-mode attempt with
/// its tool calls (tool, arguments, result size, time); empty when no tier
/// worked as an agent. Arguments are the model's text: made safe for GitHub.
pub fn agent_section(g: &Generation) -> String {
    let agents: Vec<_> = g
        .attempts
        .iter()
        .filter(|a| a.mode == TierMode::Agent)
        .collect();
    if agents.is_empty() {
        return String::new();
    }
    let mut text = String::from(
        "<details><summary>What the agent did</summary>
",
    );
    for a in agents {
        text.push_str(&format!(
            "
**Attempt {} on tier {}, `{}`**: {}; {} tool calls, {}.
",
            a.seq,
            a.tier,
            a.model,
            agent_activity(&a.tool_calls),
            a.tool_calls.len(),
            a.outcome.as_str()
        ));
        if a.outcome == AttemptOutcome::MalformedToolCalls {
            text.push_str(
                "
The model's tool calls were malformed too often: the tier fell back to edit mode.
",
            );
        }
        if let Some(e) = a.error.as_deref() {
            text.push_str(&format!(
                "
> {}
",
                one_line(&for_comment(e))
            ));
        }
        if a.tool_calls.is_empty() {
            continue;
        }
        text.push_str(
            "
| # | tool | arguments | result | time |
|---|---|---|---|---|
",
        );
        for (i, call) in a.tool_calls.iter().enumerate() {
            text.push_str(&format!(
                "| {} | {} | `{}` | {} chars{} | {} |
",
                i + 1,
                cell(&for_comment(&call.tool)),
                cell(&for_comment(&call.arguments)).replace('`', "'"),
                call.result_chars,
                if call.ok { "" } else { " ✗" },
                duration(call.ms)
            ));
        }
    }
    text.push_str(
        "
</details>",
    );
    text
}

/// The attempt table as markdown, for comments (the PR body has its own template).
pub fn attempt_table(g: &Generation) -> String {
    let mut text = String::from(
        "| attempt | tier | model | outcome | tokens | cost | note |\n|---|---|---|---|---|---|---|\n",
    );
    for a in attempt_rows(g) {
        text.push_str(&format!(
            "| {} | {} | {} | {} | {} | ${} | {} |\n",
            a.seq, a.tier, a.model, a.outcome, a.tokens, a.cost, a.note
        ));
    }
    text.trim_end().to_string()
}

fn duration(ms: u64) -> String {
    if ms >= 1000 {
        format!("{:.1} s", ms as f64 / 1000.0)
    } else {
        format!("{ms} ms")
    }
}

/// Text safe inside one markdown table cell.
fn cell(text: &str) -> String {
    one_line(text).replace('|', "\\|")
}

fn html_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// The last `max` characters of `text` (errors are at the end of build logs).
fn tail(text: &str, max: usize) -> String {
    let count = text.chars().count();
    if count <= max {
        return text.trim_end().to_string();
    }
    let kept: String = text.chars().skip(count - max).collect();
    format!("…\n{}", kept.trim_end())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::validate::CheckResult;

    fn change(path: &str, before: Option<&str>, after: Option<&str>) -> FileChange {
        FileChange {
            path: path.into(),
            before: before.map(str::to_string),
            after: after.map(str::to_string),
            renamed_from: None,
        }
    }

    #[test]
    fn file_lines_say_what_happened_to_each_file() {
        let mut renamed = change("src/new.ts", None, Some("a\n"));
        renamed.renamed_from = Some("src/old.ts".into());
        let applied = AppliedEdits {
            changes: vec![
                change("src/a.ts", Some("x\ny\n"), Some("x\nz\nw\n")),
                change("src/b.ts", None, Some("1\n2\n")),
                change("src/c.ts", Some("gone\n"), None),
                change("src/old.ts", Some("a\n"), None),
                renamed,
            ],
        };
        assert_eq!(
            file_lines(&applied),
            [
                "`src/a.ts`: modified (+2 −1)",
                "`src/b.ts`: added (+2)",
                "`src/c.ts`: deleted (−1)",
                "`src/new.ts`: renamed from `src/old.ts`",
            ]
        );
    }

    #[test]
    fn validation_tables_escape_cells_and_fold_logs() {
        let report = ValidationReport::new(
            "static+build",
            vec![
                CheckResult {
                    name: "npm run typecheck".into(),
                    passed: true,
                    detail: String::new(),
                    duration_ms: 2300,
                    failed_before: false,
                },
                CheckResult {
                    name: "lint | strict".into(),
                    passed: false,
                    detail: format!("{}src/a.ts:3 error ```x```", "noise\n".repeat(3000)),
                    duration_ms: 40,
                    failed_before: false,
                },
            ],
        );
        let text = validation_section(&report);
        assert!(
            text.contains("| npm run typecheck | ✅ passed | 2.3 s |"),
            "{text}"
        );
        assert!(
            text.contains("| lint \\| strict | ❌ failed | 40 ms |"),
            "{text}"
        );
        assert!(
            text.contains("<details><summary>lint | strict</summary>"),
            "{text}"
        );
        assert!(text.contains("src/a.ts:3 error ʼʼʼxʼʼʼ"), "{text}");

        let before = ValidationReport::new(
            "build",
            vec![CheckResult {
                name: format!("npm test{}", crate::validate::FAILED_BEFORE_SUFFIX),
                passed: true,
                detail: String::new(),
                duration_ms: 40,
                failed_before: true,
            }],
        );
        let text = validation_section(&before);
        assert!(
            text.contains(
                "| npm test (failed before this change too) | ⚠️ failing before and after this change | 40 ms |"
            ),
            "{text}"
        );
        assert!(
            text.contains("⚠️ `npm test` failed before this change and fails after it the same way: this check proved nothing about the change."),
            "{text}"
        );
        assert!(!text.contains("✅"), "{text}");
        assert!(text.len() < MAX_LOG_CHARS + 1000, "logs are capped");
        assert_eq!(
            validation_section(&ValidationReport::new("none", vec![])),
            "No checks ran."
        );
    }

    #[test]
    fn variables_withheld_from_the_commands_are_named_without_values() {
        let check = CheckResult {
            name: "npm test".into(),
            passed: false,
            detail: "DEPLOY_KEY is not set".into(),
            duration_ms: 40,
            failed_before: false,
        };
        let report = ValidationReport::new("build", vec![check])
            .with_withheld_env(&["DEPLOY_KEY".to_string(), "GH_TOKEN".to_string()]);
        let text = validation_section(&report);
        assert!(
            text.contains("ℹ️ The repository's validate.env asks for host variables; `DEPLOY_KEY` not passed to its commands: the operator has not allowed them; to pass them, add them to `[validate] pass_env` in gitkeeper.toml; `GH_TOKEN` never passed"),
            "{text}"
        );
        assert!(
            text.ends_with("A command that needs one of them ran without it."),
            "{text}"
        );
        let none = ValidationReport::new("none", vec![]).with_withheld_env(&["A_B".to_string()]);
        assert!(validation_section(&none).starts_with("No checks ran.\n\nℹ️ "));
    }

    #[test]
    fn a_new_file_at_a_likely_wrong_path_is_named_with_the_existing_one() {
        let check = CheckResult {
            name: "static checks".into(),
            passed: true,
            detail: String::new(),
            duration_ms: 4,
            failed_before: false,
        };
        let report = ValidationReport::new("static", vec![check]).with_notes(&[
            "src/lib/defu.ts: this is a new file, but `src/defu.ts` already exists".to_string(),
        ]);
        let text = validation_section(&report);
        assert!(
            text.contains("⚠️ Likely wrong path: src/lib/defu.ts: this is a new file, but `src/defu.ts` already exists"),
            "{text}"
        );
        // Not fed back while every check passed; first when one failed.
        assert!(report.errors().is_empty());
    }

    #[test]
    fn checks_that_could_not_exercise_the_change_are_not_proven() {
        let check = CheckResult {
            name: "npm test".into(),
            passed: true,
            detail: String::new(),
            duration_ms: 40,
            failed_before: false,
        };
        let report = ValidationReport::new("build", vec![check]).with_unproven(&[
            "`npm test` runs no test (its script is `echo ok`)".to_string(),
            "no typecheck ran".to_string(),
        ]);
        assert!(report.proved_nothing());
        let text = validation_section(&report);
        assert!(
            text.contains("⚠️ **Not proven.** The checks passed, but they could not exercise this change: `npm test` runs no test (its script is `echo ok`); no typecheck ran."),
            "{text}"
        );
        assert!(
            report.summary().contains("⚠ not proven"),
            "{}",
            report.summary()
        );
    }
}
