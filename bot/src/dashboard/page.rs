//! The dashboard as one server-rendered HTML page: the `stats` figures,
//! charts as inline SVG (success by tier, cost over time, time to pull
//! request), recent jobs linking to their issues and pull requests, and the
//! runners with their models and load. No script, no external resource.
//!
//! Must never: put text from a repository, an issue or a model into the page
//! unescaped.

use std::fmt::Write;

use gitkeeper_runner_protocol::RunnerInfo;

pub use crate::eval::html::escape;
use crate::stats::Stats;
use crate::stats::figures::Rate;
use crate::stats::render::secs as seconds;

/// One recent job as the page lists it.
#[derive(Debug, Clone, PartialEq)]
pub struct JobLine {
    pub id: i64,
    pub state: String,
    pub kind: String,
    /// `owner/name#number`.
    pub target: String,
    /// The issue or pull request on GitHub.
    pub target_url: String,
    /// The pull request the job's task opened, when it did.
    pub pull_url: Option<String>,
    pub last_error: Option<String>,
}

/// Everything the page shows.
#[derive(Debug, Clone)]
pub struct View {
    /// What the figures cover, e.g. "all repositories, all time".
    pub window: String,
    pub stats: Stats,
    /// USD per UTC day, oldest first.
    pub daily_cost: Vec<(String, f64)>,
    /// Seconds from label to pull request, per pull request.
    pub waits: Vec<f64>,
    pub jobs: Vec<JobLine>,
    pub runners: Vec<RunnerInfo>,
}

fn pct(r: &Rate) -> String {
    r.ratio()
        .map_or("–".into(), |x| format!("{:.0}%", 100.0 * x))
}

/// Horizontal bars: one row per `(label, share 0..=1, text)`.
fn hbars(id: &str, title: &str, rows: &[(String, f64, String)]) -> String {
    let row_h = 26;
    let height = 30 + row_h * rows.len().max(1);
    let mut svg = format!(
        "<figure id=\"{id}\"><figcaption>{}</figcaption><svg role=\"img\" width=\"640\" height=\"{height}\" viewBox=\"0 0 640 {height}\">",
        escape(title)
    );
    if rows.is_empty() {
        svg.push_str("<text x=\"0\" y=\"20\">no records</text>");
    }
    for (i, (label, share, text)) in rows.iter().enumerate() {
        let y = 10 + i * row_h;
        let w = (share.clamp(0.0, 1.0) * 360.0).round();
        let _ = write!(
            svg,
            "<text x=\"0\" y=\"{}\" font-size=\"12\">{}</text><rect x=\"200\" y=\"{y}\" width=\"{w}\" height=\"18\" fill=\"#2f7d32\"><title>{}</title></rect><text x=\"{}\" y=\"{}\" font-size=\"12\">{}</text>",
            y + 14,
            escape(label),
            escape(text),
            210.0 + w,
            y + 14,
            escape(text)
        );
    }
    svg.push_str("</svg></figure>");
    svg
}

/// Vertical bars over `(label, value)` with `unit` in the tooltips.
fn vbars(id: &str, title: &str, cols: &[(String, f64)], unit: &str) -> String {
    let (width, height, base) = (640.0, 200.0, 160.0);
    let max = cols.iter().map(|(_, v)| *v).fold(0.0, f64::max);
    let n = cols.len().max(1) as f64;
    let slot = (width - 40.0) / n;
    let mut svg = format!(
        "<figure id=\"{id}\"><figcaption>{}</figcaption><svg role=\"img\" width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\"><line x1=\"30\" y1=\"{base}\" x2=\"{width}\" y2=\"{base}\" stroke=\"#888\"/>",
        escape(title)
    );
    if cols.is_empty() {
        svg.push_str("<text x=\"40\" y=\"80\">no records</text>");
    }
    for (i, (label, value)) in cols.iter().enumerate() {
        let h = if max > 0.0 { value / max * 140.0 } else { 0.0 };
        let x = 35.0 + slot * i as f64;
        let _ = write!(
            svg,
            "<rect x=\"{x:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{h:.1}\" fill=\"#1565c0\"><title>{}: {} {unit}</title></rect><text x=\"{x:.1}\" y=\"{}\" font-size=\"10\">{}</text>",
            base - h,
            (slot * 0.8).max(1.0),
            escape(label),
            trim_number(*value),
            base + 14.0,
            escape(label)
        );
    }
    svg.push_str("</svg></figure>");
    svg
}

fn trim_number(v: f64) -> String {
    if v.fract() == 0.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.4}")
    }
}

/// The time-to-PR histogram's buckets: upper bound in seconds and label.
const WAIT_BUCKETS: [(f64, &str); 6] = [
    (60.0, "<1m"),
    (300.0, "1–5m"),
    (900.0, "5–15m"),
    (3600.0, "15–60m"),
    (14_400.0, "1–4h"),
    (f64::INFINITY, ">4h"),
];

/// How many of `waits` fall in each [`WAIT_BUCKETS`] bucket.
pub fn histogram(waits: &[f64]) -> Vec<(String, f64)> {
    let mut counts = [0usize; WAIT_BUCKETS.len()];
    for w in waits {
        let i = WAIT_BUCKETS
            .iter()
            .position(|(upper, _)| w < upper)
            .unwrap_or(WAIT_BUCKETS.len() - 1);
        counts[i] += 1;
    }
    WAIT_BUCKETS
        .iter()
        .zip(counts)
        .map(|((_, label), n)| (label.to_string(), n as f64))
        .collect()
}

/// The whole page.
pub fn render(view: &View) -> String {
    let s = &view.stats;
    let mut out = String::from(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Gitkeeper dashboard</title><style>body{font-family:sans-serif;margin:1.5em;max-width:1100px}table{border-collapse:collapse;margin:.5em 0 1.5em}td,th{border:1px solid #ccc;padding:3px 8px;text-align:left}th{background:#f3f3f3}.num{text-align:right}figure{margin:1em 0}figcaption{font-weight:bold}.kpi{display:inline-block;margin-right:2em}</style></head><body>",
    );
    let w = &mut out;
    let _ = write!(
        w,
        "<h1>Gitkeeper</h1><p id=\"window\">{}: <b id=\"tasks\">{} tasks</b></p>",
        escape(&view.window),
        s.tasks
    );
    let local = s.local_share();
    let _ = write!(
        w,
        "<p><span class=\"kpi\" id=\"local-share\">finished on local tiers: {}/{} ({})</span><span class=\"kpi\" id=\"cost\">spent ${:.4}, saved ${:.4} against {}</span><span class=\"kpi\" id=\"time-to-pr\">label to pull request: p50 {}, p95 {}</span><span class=\"kpi\" id=\"fallback\">fallback: {}/{}</span></p>",
        local.passed,
        local.tries,
        pct(&local),
        s.savings.actual_usd,
        s.savings.saved_usd,
        escape(&s.savings.reference.model),
        seconds(s.time_to_pr.p50_secs),
        seconds(s.time_to_pr.p95_secs),
        s.fallback.passed,
        s.fallback.tries
    );
    let success: Vec<(String, f64, String)> = s
        .by_model
        .iter()
        .map(|m| {
            (
                format!("{} {}", m.model, m.tier),
                m.calls.ratio().unwrap_or(0.0),
                format!("{}/{} {}", m.calls.passed, m.calls.tries, pct(&m.calls)),
            )
        })
        .collect();
    w.push_str(&hbars(
        "success-by-tier",
        "Success by model and tier",
        &success,
    ));
    w.push_str(&vbars(
        "cost-over-time",
        "Cost per day (USD)",
        &view.daily_cost,
        "USD",
    ));
    w.push_str(&vbars(
        "time-to-pr",
        "Time from label to pull request",
        &histogram(&view.waits),
        "pull requests",
    ));

    w.push_str("<h2>Tasks by type</h2><table id=\"by-type\"><tr><th>type</th><th>tasks</th><th>pass</th><th>fail</th><th>clarify</th><th>parked</th><th>attempts</th><th>escalations</th><th>cost</th></tr>");
    for t in &s.by_type {
        let _ = write!(
            w,
            "<tr><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{:.1}</td><td class=\"num\">{:.1}</td><td class=\"num\">${:.4}</td></tr>",
            escape(&t.task_type),
            t.tasks,
            t.pass,
            t.fail,
            t.clarify,
            t.parked,
            t.avg_attempts,
            t.avg_escalations,
            t.cost_usd
        );
    }
    w.push_str("</table><h2>Tokens and cost by repository</h2><table id=\"by-repo\"><tr><th>repository</th><th>tasks</th><th>tokens in</th><th>out</th><th>cost</th></tr>");
    for r in &s.by_repo {
        let _ = write!(
            w,
            "<tr><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">${:.4}</td></tr>",
            escape(&r.repo),
            r.tasks,
            r.tokens_in,
            r.tokens_out,
            r.cost_usd
        );
    }
    w.push_str("</table><h2>Pull requests and pairs</h2><table id=\"outcomes\"><tr><th>model</th><th>task</th><th>closed</th><th>merged</th><th>unmerged</th><th>revision rounds</th></tr>");
    for o in &s.outcomes {
        let _ = write!(
            w,
            "<tr><td>{}</td><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{:.1}</td></tr>",
            escape(&o.worker),
            escape(&o.task_type),
            o.pulls,
            o.merged,
            o.closed_unmerged,
            o.avg_revision_rounds
        );
    }
    w.push_str("</table><table id=\"pairs\"><tr><th>worker</th><th>checker</th><th>kept</th><th>merged</th></tr>");
    for p in &s.pairs {
        let _ = write!(
            w,
            "<tr><td>{}</td><td>{}</td><td>{}/{} {}</td><td>{}/{} {}</td></tr>",
            escape(&p.worker),
            escape(&p.checker),
            p.tasks.passed,
            p.tasks.tries,
            pct(&p.tasks),
            p.pulls.passed,
            p.pulls.tries,
            pct(&p.pulls)
        );
    }
    w.push_str("</table><h2>Recent jobs</h2><table id=\"jobs\"><tr><th>job</th><th>state</th><th>kind</th><th>on</th><th>pull request</th><th>last error</th></tr>");
    for j in &view.jobs {
        let pull = j.pull_url.as_deref().map_or(String::new(), |url| {
            format!("<a href=\"{}\">pull request</a>", escape(url))
        });
        let _ = write!(
            w,
            "<tr><td class=\"num\">{}</td><td>{}</td><td>{}</td><td><a href=\"{}\">{}</a></td><td>{pull}</td><td>{}</td></tr>",
            j.id,
            escape(&j.state),
            escape(&j.kind),
            escape(&j.target_url),
            escape(&j.target),
            escape(j.last_error.as_deref().unwrap_or(""))
        );
    }
    w.push_str("</table><h2>Runners</h2><table id=\"runners\"><tr><th>runner</th><th>state</th><th>load</th><th>models</th></tr>");
    for r in &view.runners {
        let state = match (r.online, r.draining) {
            (true, true) => "draining",
            (true, false) => "online",
            _ => "offline",
        };
        let _ = write!(
            w,
            "<tr><td>{}</td><td>{state}</td><td class=\"num\">{}/{}</td><td>{}</td></tr>",
            escape(&r.name),
            r.active,
            r.max_concurrency,
            escape(&r.models.join(", "))
        );
    }
    w.push_str("</table></body></html>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_fall_into_their_buckets() {
        let h = histogram(&[5.0, 59.9, 60.0, 400.0, 20_000.0]);
        let counts: Vec<f64> = h.iter().map(|(_, n)| *n).collect();
        assert_eq!(counts, [2.0, 1.0, 1.0, 0.0, 0.0, 1.0]);
    }
}
