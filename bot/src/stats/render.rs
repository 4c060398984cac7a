//! `stats` as text for a terminal: one titled table per figure.

use std::fmt::Write;

use super::figures::{Rate, Stats};
use super::ledger::Ledger;

/// A share as a percentage, "–" over nothing.
fn pct(rate: Option<f64>) -> String {
    rate.map_or("–".to_string(), |r| format!("{:.0}%", 100.0 * r))
}

fn rate(r: &Rate) -> String {
    format!("{}/{} {}", r.passed, r.tries, pct(r.ratio()))
}

/// Seconds as people read them (`45s`, `3.5m`, `2.1h`), "–" for none.
pub fn secs(s: Option<f64>) -> String {
    match s {
        None => "–".into(),
        Some(s) if s < 120.0 => format!("{s:.0}s"),
        Some(s) if s < 7200.0 => format!("{:.1}m", s / 60.0),
        Some(s) => format!("{:.1}h", s / 3600.0),
    }
}

/// Every figure of `stats` under a heading saying what window it covers.
pub fn stats(stats: &Stats, window: &str) -> String {
    let mut out = String::new();
    let w = &mut out;
    let _ = writeln!(w, "Gitkeeper stats, {window}: {} tasks", stats.tasks);
    if stats.tasks == 0 {
        let _ = writeln!(w, "No task has been recorded in this window.");
        return out;
    }
    let _ = writeln!(w, "\nTasks by type and outcome");
    let _ = writeln!(
        w,
        "{:<10} {:>5} {:>5} {:>5} {:>7} {:>6} {:>9} {:>11} {:>9} {:>9}",
        "TYPE",
        "TASKS",
        "PASS",
        "FAIL",
        "CLARIFY",
        "PARKED",
        "ATTEMPTS",
        "ESCALATIONS",
        "TOKENS",
        "COST"
    );
    for t in &stats.by_type {
        let _ = writeln!(
            w,
            "{:<10} {:>5} {:>5} {:>5} {:>7} {:>6} {:>9.1} {:>11.1} {:>9} {:>9}",
            t.task_type,
            t.tasks,
            t.pass,
            t.fail,
            t.clarify,
            t.parked,
            t.avg_attempts,
            t.avg_escalations,
            t.tokens,
            format!("${:.4}", t.cost_usd)
        );
    }
    let _ = writeln!(w, "\nSuccess by model and tier (worker and fallback calls)");
    let _ = writeln!(
        w,
        "{:<16} {:<18} {:<5} {:>14} {:>9} {:>9} {:>10} {:>9} {:>9}",
        "MODEL", "TIER", "PAID", "PASSED", "MALFORMED", "TRUNCATED", "TOKENS IN", "OUT", "COST"
    );
    for m in &stats.by_model {
        let _ = writeln!(
            w,
            "{:<16} {:<18} {:<5} {:>14} {:>9} {:>9} {:>10} {:>9} {:>9}",
            m.model,
            m.tier,
            if m.paid { "yes" } else { "no" },
            rate(&m.calls),
            m.malformed,
            m.truncated,
            m.tokens_in,
            m.tokens_out,
            format!("${:.4}", m.cost_usd)
        );
    }
    let local = stats.local_share();
    let _ = writeln!(
        w,
        "\nFinished on local tiers: {} of the passing tasks",
        rate(&local)
    );
    let _ = writeln!(
        w,
        "Fallback to the local model: {} answers passed",
        rate(&stats.fallback)
    );
    let t = &stats.time_to_pr;
    let _ = writeln!(
        w,
        "Label to pull request: p50 {}, p95 {} ({} pull requests)",
        secs(t.p50_secs),
        secs(t.p95_secs),
        t.pulls
    );
    let s = &stats.savings;
    let _ = writeln!(
        w,
        "Cost: ${:.4} spent; every call on {} (${}/${} per M tokens) would have cost ${:.4}: ${:.4} saved",
        s.actual_usd,
        s.reference.model,
        s.reference.price_in,
        s.reference.price_out,
        s.reference_usd,
        s.saved_usd
    );
    let _ = writeln!(w, "\nTokens and cost by tier kind");
    let _ = writeln!(
        w,
        "{:<6} {:>6} {:>10} {:>9} {:>9}",
        "KIND", "CALLS", "TOKENS IN", "OUT", "COST"
    );
    for k in &stats.by_kind {
        let _ = writeln!(
            w,
            "{:<6} {:>6} {:>10} {:>9} {:>9}",
            k.kind,
            k.calls,
            k.tokens_in,
            k.tokens_out,
            format!("${:.4}", k.cost_usd)
        );
    }
    let _ = writeln!(w, "\nTokens and cost by repository");
    let _ = writeln!(
        w,
        "{:<28} {:>5} {:>10} {:>9} {:>9}",
        "REPOSITORY", "TASKS", "TOKENS IN", "OUT", "COST"
    );
    for r in &stats.by_repo {
        let _ = writeln!(
            w,
            "{:<28} {:>5} {:>10} {:>9} {:>9}",
            r.repo,
            r.tasks,
            r.tokens_in,
            r.tokens_out,
            format!("${:.4}", r.cost_usd)
        );
    }
    let _ = writeln!(
        w,
        "\nClosed pull requests by the model of the last passing run and task type"
    );
    if stats.outcomes.is_empty() {
        let _ = writeln!(w, "No Gitkeeper pull request has been closed yet.");
    } else {
        let _ = writeln!(
            w,
            "{:<20} {:<10} {:>4} {:>7} {:>9} {:>6} {:>7}",
            "MODEL", "TASK", "PRS", "MERGED", "UNMERGED", "RATE", "ROUNDS"
        );
        for o in &stats.outcomes {
            let merged = Rate {
                tries: o.pulls,
                passed: o.merged,
            };
            let _ = writeln!(
                w,
                "{:<20} {:<10} {:>4} {:>7} {:>9} {:>6} {:>7.1}",
                o.worker,
                o.task_type,
                o.pulls,
                o.merged,
                o.closed_unmerged,
                pct(merged.ratio()),
                o.avg_revision_rounds
            );
        }
    }
    let _ = writeln!(w, "\nWorker/checker pairs, best first");
    if stats.pairs.is_empty() {
        let _ = writeln!(w, "No checker has reviewed a change yet.");
    } else {
        let _ = writeln!(
            w,
            "{:<20} {:<20} {:>14} {:>14}",
            "WORKER", "CHECKER", "KEPT", "MERGED"
        );
        for p in &stats.pairs {
            let _ = writeln!(
                w,
                "{:<20} {:<20} {:>14} {:>14}",
                p.worker,
                p.checker,
                rate(&p.tasks),
                rate(&p.pulls)
            );
        }
    }
    out
}

/// The privacy ledger: per task, where its code went.
pub fn ledger(ledger: &Ledger, window: &str) -> String {
    let mut out = String::new();
    let w = &mut out;
    let _ = writeln!(
        w,
        "Where the code went, {window}: {} tasks",
        ledger.tasks.len()
    );
    for t in &ledger.tasks {
        let _ = writeln!(
            w,
            "\njob {} {} \"{}\"{}",
            t.job_id,
            t.repo,
            t.task,
            if t.local_only {
                " [touches local-only paths: kept off paid models]"
            } else {
                ""
            }
        );
        if t.sent_to.is_empty() {
            let _ = writeln!(w, "  nothing was sent");
        }
        for d in &t.sent_to {
            let _ = writeln!(
                w,
                "  {} {}{}: {} calls, {} tokens in, {} out; {}",
                d.provider,
                d.model,
                if d.paid { " (paid)" } else { "" },
                d.calls,
                d.prompt_tokens,
                d.completion_tokens,
                if d.paths.is_empty() {
                    "no repository file".to_string()
                } else {
                    d.paths.join(", ")
                }
            );
        }
    }
    let _ = writeln!(w, "\nTotals by provider and model");
    let _ = writeln!(
        w,
        "{:<32} {:<16} {:<5} {:>6} {:>10} {:>6}",
        "PROVIDER", "MODEL", "PAID", "CALLS", "TOKENS IN", "FILES"
    );
    for d in &ledger.totals {
        let _ = writeln!(
            w,
            "{:<32} {:<16} {:<5} {:>6} {:>10} {:>6}",
            d.provider,
            d.model,
            if d.paid { "yes" } else { "no" },
            d.calls,
            d.prompt_tokens,
            d.paths.len()
        );
    }
    out
}
