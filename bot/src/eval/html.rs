//! `report.html`: one self-contained page (inline CSS and SVG, no script)
//! with the run's headline figures per configuration, charts of resolved,
//! validated and false-pass rates per level and per model, where the time
//! went per stage, and every task run with why it failed.
//!
//! Must never: load anything from elsewhere (it is opened from disk and
//! mailed around), or put text from a task or a model into the page
//! unescaped.

use std::fmt::Write as _;

use super::record::{Stages, TaskResult, percent};
use super::report::{Totals, by_level, by_model, configs, ratio};

/// What the page is about.
#[derive(Debug, Clone)]
pub struct PageInfo<'a> {
    pub suite: &'a str,
    pub description: &'a str,
    /// When the run started, as text.
    pub started: &'a str,
}

/// Escape text for HTML content and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const RESOLVED: &str = "#2f9e6e";
const VALIDATED: &str = "#3b6fd8";
const FALSE_PASS: &str = "#d64545";
/// Stage colours, in [`Stages::parts`] order.
const STAGE_COLOURS: [&str; 6] = [
    "#9aa5b1", "#7c8cf8", "#f0a43a", "#3fb6b2", "#c7a6e8", "#e2708a",
];

const STYLE: &str = r#"
:root { --ink:#1d2430; --muted:#667085; --line:#e4e7ec; --bg:#f6f7f9; --card:#fff; }
* { box-sizing: border-box; }
body { margin:0; font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif; color:var(--ink); background:var(--bg); }
main { max-width:1180px; margin:0 auto; padding:32px 24px 64px; }
h1 { font-size:26px; margin:0 0 4px; }
h2 { font-size:18px; margin:40px 0 12px; }
p.lead { color:var(--muted); margin:0 0 24px; }
.cards { display:grid; grid-template-columns:repeat(auto-fit,minmax(170px,1fr)); gap:12px; }
.card { background:var(--card); border:1px solid var(--line); border-radius:10px; padding:14px 16px; }
.card .label { color:var(--muted); font-size:12px; text-transform:uppercase; letter-spacing:.04em; }
.card .value { font-size:28px; font-weight:650; margin-top:2px; }
.card .sub { color:var(--muted); font-size:13px; }
.card.bad .value { color:#b42318; } .card.good .value { color:#1e7a52; }
.config { margin:18px 0 6px; font-weight:600; }
.panel { background:var(--card); border:1px solid var(--line); border-radius:10px; padding:16px; overflow-x:auto; }
.grid2 { display:grid; grid-template-columns:repeat(auto-fit,minmax(520px,1fr)); gap:16px; }
table { border-collapse:collapse; width:100%; font-size:13.5px; }
th,td { text-align:left; padding:7px 9px; border-bottom:1px solid var(--line); vertical-align:top; }
th { color:var(--muted); font-weight:600; font-size:12px; text-transform:uppercase; letter-spacing:.03em; }
td.num { text-align:right; font-variant-numeric:tabular-nums; }
.badge { display:inline-block; padding:1px 8px; border-radius:999px; font-size:12px; font-weight:600; }
.b-res { background:#dcf5e8; color:#146c43; } .b-val { background:#e0e9fb; color:#24489c; }
.b-fp { background:#fde2e2; color:#a11d1d; } .b-no { background:#eef0f3; color:#667085; }
.why { color:var(--muted); max-width:420px; word-break:break-word; }
.legend { display:flex; gap:16px; flex-wrap:wrap; font-size:13px; color:var(--muted); margin:4px 0 8px; }
.legend i { display:inline-block; width:11px; height:11px; border-radius:3px; margin-right:6px; vertical-align:-1px; }
svg text { font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif; }
"#;

/// The whole page.
pub fn render(info: &PageInfo<'_>, results: &[TaskResult]) -> String {
    let configs = configs(results);
    let mut body = String::new();
    let _ = write!(
        body,
        "<h1>Eval: {}</h1><p class=\"lead\">{} · {} task runs · started {}</p>",
        escape(info.suite),
        escape(info.description),
        results.len(),
        escape(info.started)
    );
    for config in &configs {
        let t = Totals::of(results.iter().filter(|r| &r.config == config));
        body.push_str(&cards(config, &t));
    }
    for (a, b) in super::report::compared(&configs) {
        body.push_str(&compare_cards(results, a, b));
    }

    body.push_str("<h2>Resolved, validated and false passes</h2>");
    body.push_str(&legend(&[
        ("resolved", RESOLVED),
        ("validated", VALIDATED),
        ("false pass", FALSE_PASS),
    ]));
    if configs.len() > 1 {
        body.push_str(
            "<p class=\"lead\">Each group shows the configurations side by side, in the order given; the later one is drawn lighter.</p>",
        );
    }
    body.push_str("<div class=\"grid2\">");
    let level_groups: Vec<(String, Vec<(String, Totals)>)> = {
        let mut levels: Vec<String> = Vec::new();
        for c in &configs {
            for (l, _) in by_level(results, c) {
                if !levels.contains(&l.as_str().to_string()) {
                    levels.push(l.as_str().to_string());
                }
            }
        }
        levels
            .into_iter()
            .map(|level| {
                let per = configs
                    .iter()
                    .filter_map(|c| {
                        by_level(results, c)
                            .into_iter()
                            .find(|(l, _)| l.as_str() == level)
                            .map(|(_, t)| (c.clone(), t))
                    })
                    .collect();
                (level, per)
            })
            .collect()
    };
    let _ = write!(
        body,
        "<div class=\"panel\">{}</div>",
        rate_chart("Per level", &level_groups)
    );
    let model_groups: Vec<(String, Vec<(String, Totals)>)> = {
        let mut models: Vec<String> = Vec::new();
        for c in &configs {
            for (m, _) in by_model(results, c) {
                if !models.contains(&m) {
                    models.push(m);
                }
            }
        }
        models
            .into_iter()
            .map(|model| {
                let per = configs
                    .iter()
                    .filter_map(|c| {
                        by_model(results, c)
                            .into_iter()
                            .find(|(m, _)| *m == model)
                            .map(|(_, t)| (c.clone(), t))
                    })
                    .collect();
                (model, per)
            })
            .collect()
    };
    let _ = write!(
        body,
        "<div class=\"panel\">{}</div></div>",
        rate_chart("Per model that finished", &model_groups)
    );

    body.push_str("<h2>Where the time went</h2>");
    let stage_legend: Vec<(&str, &str)> = Stages::default()
        .parts()
        .iter()
        .zip(STAGE_COLOURS)
        .map(|((name, _), colour)| (*name, colour))
        .collect();
    body.push_str(&legend(&stage_legend));
    let _ = write!(
        body,
        "<div class=\"panel\">{}</div>",
        stage_chart(results, &configs)
    );

    body.push_str("<h2>Task runs</h2><div class=\"panel\">");
    body.push_str(&runs_table(results));
    body.push_str("</div>");

    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>Gitkeeper eval: {}</title><style>{STYLE}</style></head><body><main>{body}</main></body></html>\n",
        escape(info.suite)
    )
}

fn legend(items: &[(&str, &str)]) -> String {
    let mut out = String::from("<div class=\"legend\">");
    for (name, colour) in items {
        let _ = write!(
            out,
            "<span><i style=\"background:{colour}\"></i>{}</span>",
            escape(name)
        );
    }
    out.push_str("</div>");
    out
}

fn card(label: &str, value: &str, sub: &str, class: &str) -> String {
    format!(
        "<div class=\"card {class}\"><div class=\"label\">{}</div><div class=\"value\">{}</div><div class=\"sub\">{}</div></div>",
        escape(label),
        escape(value),
        escape(sub)
    )
}

fn cards(config: &str, t: &Totals) -> String {
    let pct = |n| format!("{:.0}%", percent(n, t.runs));
    let of = |n| format!("{n} of {} runs", t.runs);
    let mut out = format!(
        "<div class=\"config\">Configuration {}</div><div class=\"cards\">",
        escape(config)
    );
    out.push_str(&card("Resolved", &pct(t.resolved), &of(t.resolved), "good"));
    out.push_str(&card("Validated", &pct(t.validated), &of(t.validated), ""));
    out.push_str(&card(
        "False passes",
        &t.false_pass.to_string(),
        "validated, hidden check failed",
        if t.false_pass > 0 { "bad" } else { "good" },
    ));
    out.push_str(&card(
        "Not proven",
        &t.proved_nothing.to_string(),
        "validated by checks that could not exercise the change",
        if t.proved_nothing > 0 { "bad" } else { "good" },
    ));
    out.push_str(&card(
        "Well-formed first answer",
        &pct(t.well_formed),
        &of(t.well_formed),
        "",
    ));
    let per_run = |x: f64| if t.runs == 0 { 0.0 } else { x / t.runs as f64 };
    out.push_str(&card(
        "Wall time per task",
        &format!("{:.1} s", per_run(t.wall_secs)),
        &format!(
            "model {:.1} s · validation {:.1} s",
            per_run(t.model_secs),
            per_run(t.validation_secs)
        ),
        "",
    ));
    out.push_str(&card(
        "Tokens",
        &format!("{}", t.prompt_tokens + t.completion_tokens),
        &format!(
            "{} in · {} out · {} attempts",
            t.prompt_tokens, t.completion_tokens, t.attempts
        ),
        "",
    ));
    out.push_str("</div>");
    out
}

fn compare_cards(results: &[TaskResult], a: &str, b: &str) -> String {
    let ta = Totals::of(results.iter().filter(|r| r.config == a));
    let tb = Totals::of(results.iter().filter(|r| r.config == b));
    let mut out = format!(
        "<div class=\"config\">{} against {} (B/A)</div><div class=\"cards\">",
        escape(b),
        escape(a)
    );
    for (label, x, y) in [
        ("Resolved", ta.resolved as f64, tb.resolved as f64),
        ("Validated", ta.validated as f64, tb.validated as f64),
        ("False passes", ta.false_pass as f64, tb.false_pass as f64),
        (
            "Tokens",
            (ta.prompt_tokens + ta.completion_tokens) as f64,
            (tb.prompt_tokens + tb.completion_tokens) as f64,
        ),
        ("Wall time", ta.wall_secs, tb.wall_secs),
    ] {
        out.push_str(&card(label, &ratio(y, x), &format!("{x:.1} → {y:.1}"), ""));
    }
    out.push_str("</div>");
    out
}

/// Grouped bars: per group, per configuration, the three rates.
fn rate_chart(title: &str, groups: &[(String, Vec<(String, Totals)>)]) -> String {
    let configs = groups
        .iter()
        .map(|(_, per)| per.len())
        .max()
        .unwrap_or(1)
        .max(1);
    let (bar, gap, group_gap) = (16.0, 3.0, 28.0);
    let per_config = 3.0 * bar + 2.0 * gap;
    let group_width = configs as f64 * per_config + (configs as f64 - 1.0) * 8.0;
    let (left, top, plot_h) = (44.0, 34.0, 200.0);
    let width = (left + groups.len() as f64 * (group_width + group_gap) + 10.0).max(360.0);
    let labelled = configs > 1;
    let height = top + plot_h + if labelled { 62.0 } else { 48.0 };
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" role=\"img\" viewBox=\"0 0 {width:.0} {height:.0}\" width=\"100%\" style=\"max-width:{width:.0}px\"><title>{}</title>",
        escape(title)
    );
    let _ = write!(
        svg,
        "<text x=\"0\" y=\"16\" font-size=\"14\" font-weight=\"600\" fill=\"#1d2430\">{}</text>",
        escape(title)
    );
    for pct in [0, 25, 50, 75, 100] {
        let y = top + plot_h * (1.0 - f64::from(pct) / 100.0);
        let _ = write!(
            svg,
            "<line x1=\"{left}\" x2=\"{width:.0}\" y1=\"{y:.1}\" y2=\"{y:.1}\" stroke=\"#e4e7ec\"/><text x=\"{:.0}\" y=\"{:.1}\" font-size=\"11\" fill=\"#667085\" text-anchor=\"end\">{pct}%</text>",
            left - 6.0,
            y + 4.0
        );
    }
    if groups.is_empty() {
        let _ = write!(
            svg,
            "<text x=\"{left}\" y=\"{:.0}\" font-size=\"13\" fill=\"#667085\">no runs</text>",
            top + plot_h / 2.0
        );
    }
    for (g, (name, per)) in groups.iter().enumerate() {
        let gx = left + group_gap / 2.0 + g as f64 * (group_width + group_gap);
        for (c, (config, t)) in per.iter().enumerate() {
            let cx = gx + c as f64 * (per_config + 8.0);
            let opacity = if c == 0 { 1.0 } else { 0.5 };
            if labelled {
                let _ = write!(
                    svg,
                    "<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"10\" fill=\"#667085\" text-anchor=\"middle\">{}</text>",
                    cx + per_config / 2.0,
                    top + plot_h + 13.0,
                    escape(&short(config, 9))
                );
            }
            for (m, (metric, n, colour)) in [
                ("resolved", t.resolved, RESOLVED),
                ("validated", t.validated, VALIDATED),
                ("false pass", t.false_pass, FALSE_PASS),
            ]
            .into_iter()
            .enumerate()
            {
                let p = percent(n, t.runs);
                let h = (plot_h * p / 100.0).max(if n > 0 { 1.5 } else { 0.0 });
                let x = cx + m as f64 * (bar + gap);
                let y = top + plot_h - h;
                let _ = write!(
                    svg,
                    "<rect x=\"{x:.1}\" y=\"{y:.1}\" width=\"{bar}\" height=\"{h:.1}\" rx=\"2\" fill=\"{colour}\" fill-opacity=\"{opacity}\"><title>{}: {} {} of {} ({p:.0}%)</title></rect>",
                    escape(config),
                    metric,
                    n,
                    t.runs
                );
                let _ = write!(
                    svg,
                    "<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"10\" fill=\"#475467\" text-anchor=\"middle\">{n}</text>",
                    x + bar / 2.0,
                    y - 3.0
                );
            }
        }
        let below = if labelled { 14.0 } else { 0.0 };
        let _ = write!(
            svg,
            "<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"12\" fill=\"#1d2430\" text-anchor=\"middle\">{}</text>",
            gx + group_width / 2.0,
            top + plot_h + 18.0 + below,
            escape(&short(name, 22))
        );
        let runs: Vec<String> = per.iter().map(|(_, t)| t.runs.to_string()).collect();
        let _ = write!(
            svg,
            "<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"10.5\" fill=\"#667085\" text-anchor=\"middle\">n = {}</text>",
            gx + group_width / 2.0,
            top + plot_h + 33.0 + below,
            runs.join(" / ")
        );
    }
    svg.push_str("</svg>");
    svg
}

fn short(text: &str, n: usize) -> String {
    match text.char_indices().nth(n) {
        Some((i, _)) => format!("{}…", &text[..i]),
        None => text.to_string(),
    }
}

/// One stacked horizontal bar per task run, then one per configuration's total.
fn stage_chart(results: &[TaskResult], configs: &[String]) -> String {
    let mut rows: Vec<(String, Stages)> = results
        .iter()
        .map(|r| {
            let label = if configs.len() > 1 {
                format!("{} · {}", r.task, r.config)
            } else {
                r.task.clone()
            };
            (label, r.seconds)
        })
        .collect();
    for config in configs {
        let mut sum = Stages::default();
        for r in results.iter().filter(|r| &r.config == config) {
            let s = r.seconds;
            sum.setup += s.setup;
            sum.prepare += s.prepare;
            sum.model += s.model;
            sum.validation += s.validation;
            sum.overhead += s.overhead;
            sum.hidden += s.hidden;
            sum.wall += s.wall;
        }
        rows.push((format!("total · {config}"), sum));
    }
    let max_runs = results
        .iter()
        .map(|r| staged(&r.seconds))
        .fold(0.0, f64::max)
        .max(0.001);
    let (label_w, bar_w, row_h) = (230.0, 700.0, 22.0);
    let width = label_w + bar_w + 70.0;
    let height = 10.0 + rows.len() as f64 * row_h + 24.0;
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" role=\"img\" viewBox=\"0 0 {width:.0} {height:.0}\" width=\"100%\" style=\"max-width:{width:.0}px\"><title>Time per stage</title>"
    );
    let totals_from = results.len();
    let max_total = rows[totals_from..]
        .iter()
        .map(|(_, s)| staged(s))
        .fold(0.0, f64::max)
        .max(0.001);
    for (i, (label, s)) in rows.iter().enumerate() {
        let y = 10.0 + i as f64 * row_h;
        let is_total = i >= totals_from;
        let scale = bar_w / if is_total { max_total } else { max_runs };
        if is_total && i == totals_from {
            let _ = write!(
                svg,
                "<line x1=\"0\" x2=\"{width:.0}\" y1=\"{:.1}\" y2=\"{:.1}\" stroke=\"#e4e7ec\"/>",
                y - 3.0,
                y - 3.0
            );
        }
        let _ = write!(
            svg,
            "<text x=\"{:.0}\" y=\"{:.1}\" font-size=\"12\" fill=\"#1d2430\" text-anchor=\"end\"{}>{}</text>",
            label_w - 8.0,
            y + 13.0,
            if is_total { " font-weight=\"600\"" } else { "" },
            escape(&short(label, 34))
        );
        let mut x = label_w;
        for ((stage, secs), colour) in s.parts().into_iter().zip(STAGE_COLOURS) {
            let w = secs * scale;
            if w > 0.0 {
                let _ = write!(
                    svg,
                    "<rect x=\"{x:.1}\" y=\"{y:.1}\" width=\"{w:.1}\" height=\"{:.0}\" fill=\"{colour}\"><title>{}: {stage} {secs:.2} s</title></rect>",
                    row_h - 6.0,
                    escape(label)
                );
            }
            x += w;
        }
        let _ = write!(
            svg,
            "<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"11\" fill=\"#667085\">{:.1} s</text>",
            x + 6.0,
            y + 13.0,
            s.wall
        );
    }
    let _ = write!(
        svg,
        "<text x=\"{label_w}\" y=\"{:.0}\" font-size=\"10.5\" fill=\"#667085\">task bars share one scale, totals another</text></svg>",
        height - 6.0
    );
    svg
}

fn staged(s: &Stages) -> f64 {
    s.parts().iter().map(|(_, v)| v).sum()
}

fn runs_table(results: &[TaskResult]) -> String {
    let mut out = String::from(
        "<table><thead><tr><th>Task</th><th>Level</th><th>Config</th><th>Result</th><th>1st answer</th><th class=\"num\">Attempts</th><th class=\"num\">Esc.</th><th class=\"num\">Tokens in/out</th><th class=\"num\">Model s</th><th class=\"num\">Valid. s</th><th class=\"num\">Wall s</th><th>Model</th><th>Why it failed</th></tr></thead><tbody>",
    );
    for r in results {
        let badge = if r.false_pass && r.proved_nothing {
            "<span class=\"badge b-fp\">false pass, proved nothing</span>"
        } else if r.false_pass {
            "<span class=\"badge b-fp\">false pass</span>"
        } else if r.validated && r.proved_nothing {
            "<span class=\"badge b-val\">validated, proved nothing</span>"
        } else if r.resolved && r.validated {
            "<span class=\"badge b-res\">resolved</span>"
        } else if r.resolved {
            "<span class=\"badge b-res\">resolved, not validated</span>"
        } else if r.validated {
            "<span class=\"badge b-val\">validated</span>"
        } else {
            "<span class=\"badge b-no\">unresolved</span>"
        };
        let _ = write!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{badge} <span class=\"why\">{}</span></td><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{} / {}</td><td class=\"num\">{:.1}</td><td class=\"num\">{:.1}</td><td class=\"num\">{:.1}</td><td>{}</td><td class=\"why\">{}</td></tr>",
            escape(&r.task),
            r.level.as_str(),
            escape(&r.config),
            escape(&r.outcome),
            if r.first_try_well_formed {
                "well-formed"
            } else {
                "malformed"
            },
            r.attempts,
            r.escalations,
            r.prompt_tokens,
            r.completion_tokens,
            r.seconds.model,
            r.seconds.validation,
            r.seconds.wall,
            escape(r.model.as_deref().unwrap_or("–")),
            escape(r.failure.as_deref().unwrap_or(""))
        );
    }
    out.push_str("</tbody></table>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eval::report::tests::result;
    use crate::eval::suite::Level;

    /// Checks that every tag opened is closed in order (void elements aside)
    /// and that no `<script>` or outside reference is in the page.
    fn assert_well_formed(html: &str) {
        const VOID: &[&str] = &["meta", "br", "hr", "img", "input", "link", "!doctype"];
        let mut stack: Vec<String> = Vec::new();
        let mut rest = html;
        while let Some(start) = rest.find('<') {
            let end = rest[start..]
                .find('>')
                .map(|e| start + e)
                .expect("unclosed tag");
            let tag = &rest[start + 1..end];
            rest = &rest[end + 1..];
            let self_closing = tag.ends_with('/');
            let name: String = tag
                .trim_start_matches('/')
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '!')
                .collect::<String>()
                .to_ascii_lowercase();
            if let Some(closing) = tag.strip_prefix('/') {
                let closing = closing.trim().to_ascii_lowercase();
                assert_eq!(
                    stack.pop().as_deref(),
                    Some(closing.as_str()),
                    "mismatched </{closing}>"
                );
            } else if !self_closing && !VOID.contains(&name.as_str()) {
                stack.push(name);
            }
        }
        assert!(stack.is_empty(), "unclosed: {stack:?}");
        let lower = html.to_ascii_lowercase();
        assert!(!lower.contains("<script"), "no script");
        assert!(
            !lower.contains("src=") && !lower.contains("href="),
            "self-contained"
        );
    }

    #[test]
    fn the_report_is_well_formed_self_contained_and_has_its_figures() {
        let mut results = vec![
            result("fix-a", "A", Level::Quick, true, true),
            result("fix-a", "B", Level::Quick, true, true),
            result("feat-b", "B", Level::Standard, false, true),
            result("feat-b", "A", Level::Complex, false, false),
        ];
        results[3].failure = Some("local-large: <script>alert(1)</script> & more".into());
        let html = render(
            &PageInfo {
                suite: "bundled",
                description: "thirty tasks",
                started: "2026-12-03 15:00 UTC",
            },
            &results,
        );
        assert_well_formed(&html);
        assert!(html.starts_with("<!DOCTYPE html>"));
        assert!(
            html.contains("&lt;script&gt;alert(1)&lt;/script&gt; &amp; more"),
            "escaped"
        );
        // The three figures: rates per level, per model, time per stage.
        assert_eq!(html.matches("<svg").count(), 3, "{html}");
        assert!(html.contains("<title>Per level</title>"));
        assert!(html.contains("<title>Per model that finished</title>"));
        assert!(html.contains("<title>Time per stage</title>"));
        // Level groups, the false pass bar with its count, and the comparison.
        for text in [
            "quick",
            "standard",
            "complex",
            "B: false pass 1 of 1 (100%)",
            "B against A (B/A)",
            "false pass</span>",
        ] {
            assert!(html.contains(text), "{text} missing");
        }
        // Every stage of every run is a segment with its seconds.
        assert!(html.contains("fix-a · A: model 2.00 s"), "stage segment");
        assert!(html.contains("total · B"), "per-config total");
    }

    #[test]
    fn a_run_without_results_still_renders() {
        let html = render(
            &PageInfo {
                suite: "s",
                description: "",
                started: "now",
            },
            &[],
        );
        assert_well_formed(&html);
        assert!(html.contains("no runs"));
    }
}
