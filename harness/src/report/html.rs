//! `report.html`: one self-contained page (no scripts, no network, no
//! fonts to fetch) with the verdict grid, pattern × Go version, and per
//! cell its numbers and inline SVG plots of the measured series, buggy
//! against fixed over rounds.
//!
//! The plots are drawn by hand rather than with a plotting crate: a plot
//! here is a few polylines and tick labels, and hand-written SVG keeps the
//! page small (a 35-cell report is a few hundred KiB) and the crate's
//! compile time out of the build.

use super::{case_name, key_number};
use crate::oracle::{VariantResult, fmt_num};
use crate::results::CellResult;
use crate::run::RunRecord;
use crate::version::GoVersion;
use std::fmt::Write as _;

/// The buggy variant's colour in plots and legends.
pub const BUGGY_COLOUR: &str = "#d62728";
/// The fixed variant's colour.
pub const FIXED_COLOUR: &str = "#1f77b4";

/// Series plotted for every cell when the run has them, after the
/// cell's own signal metrics.
const ALWAYS: [&str; 3] = ["heap_live", "goroutines", "fds"];

/// HTML escaping is XML's (`&apos;` is HTML5 too).
fn esc(s: &str) -> String {
    super::xml_escape(s)
}

/// The anchor of a cell's section.
fn anchor(r: &CellResult, i: usize) -> String {
    if r.cell.is_empty() { format!("cell-{i}") } else { format!("cell-{}", r.config.slug()) }
}

/// `ok`, `unexpected`, `error` or `skipped`: the class (and colour) of a cell.
fn outcome_class(r: &CellResult) -> &'static str {
    if r.verdict == crate::verdict::Verdict::Skipped {
        "skipped"
    } else if r.error.is_some() {
        "error"
    } else if r.met {
        "ok"
    } else {
        "unexpected"
    }
}

const STYLE: &str = r#"
body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5em; color: #222; }
h1 { font-size: 1.5em; margin: 0 0 .3em; }
h2 { font-size: 1.2em; margin-top: 1.6em; }
h3 { font-size: 1.05em; margin: 0 0 .3em; }
table { border-collapse: collapse; }
th, td { border: 1px solid #ccc; padding: 3px 6px; vertical-align: top; text-align: left; }
table.grid td { min-width: 7em; }
table.atlas td, table.atlas th { padding: 1px 2px; text-align: center; font-family: monospace; }
table.atlas tbody th { text-align: left; white-space: nowrap; }
table.atlas td a.badge { margin: 0; padding: 0 3px; }
table.atlas td.boundary { border-left: 3px solid #111; }
a.badge { display: block; margin: 2px 0; padding: 1px 5px; border-radius: 3px; text-decoration: none; color: #111; }
a.badge small { color: #444; }
.ok { background: #b7e4b0; }
.unexpected { background: #f4a6a6; }
.error { background: #cfcfcf; }
.skipped { background: #f4f4f4; color: #666; border: 1px dashed #aaa; }
section.cell { border-top: 1px solid #bbb; padding: .8em 0; }
.plots { display: flex; flex-wrap: wrap; gap: 8px; margin-top: .5em; }
.plots svg { border: 1px solid #ddd; background: #fff; }
.legend span { display: inline-block; margin-right: 1em; }
.swatch { display: inline-block; width: 1.4em; height: 3px; vertical-align: middle; margin-right: .3em; }
pre { white-space: pre-wrap; background: #f6f6f6; padding: .4em; max-height: 12em; overflow: auto; }
"#;

/// The whole page.
pub fn report(results: &[CellResult]) -> String {
    let mut out = String::new();
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>gcfuzz report</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<h1>gcfuzz report</h1>\n<p id=\"summary\">{}</p>\n",
        esc(&super::summary(results))
    );
    out.push_str("<p class=\"legend\">cells: <span class=\"ok\">&nbsp;as expected&nbsp;</span> <span class=\"unexpected\">&nbsp;unexpected&nbsp;</span> <span class=\"error\">&nbsp;harness error&nbsp;</span> &nbsp; plots: ");
    let _ = writeln!(
        out,
        "<span><i class=\"swatch\" style=\"background:{BUGGY_COLOUR}\"></i>buggy</span><span><i class=\"swatch\" style=\"background:{FIXED_COLOUR}\"></i>fixed</span></p>"
    );
    let atlas = super::atlas::atlas(results);
    if atlas.versions.len() >= super::atlas::MIN_VERSIONS {
        atlas_table(&mut out, &atlas, results);
    }
    if atlas.versions.len() <= super::atlas::COMPACT_PAST {
        grid(&mut out, results);
    }
    out.push_str("<h2>Cells</h2>\n");
    for (i, r) in results.iter().enumerate() {
        cell_section(&mut out, r, i);
    }
    let _ = writeln!(
        out,
        "<p><small>gcfuzz {}; plots: every sampled round of every trial, round -1 is the sample before the first round</small></p>",
        env!("CARGO_PKG_VERSION")
    );
    out.push_str("</body>\n</html>\n");
    out
}

/// The version atlas: a row per configuration, a column per release, a
/// letter per cell (linking to its section), a thick line where a row's
/// verdict changes.
fn atlas_table(out: &mut String, atlas: &super::atlas::Atlas, results: &[CellResult]) {
    let _ = writeln!(
        out,
        "<h2>Version atlas</h2>\n<p class=\"legend\">{}</p>\n<table class=\"atlas\" id=\"atlas\">\n<thead><tr><th>configuration</th>",
        esc(super::atlas::LEGEND)
    );
    let mut last = None;
    for v in &atlas.versions {
        let series = if last == Some(v.series()) { String::new() } else { v.series().line_string() };
        last = Some(v.series());
        let _ = write!(out, "<th title=\"go{v}\">{}<br>{}</th>", esc(&series), v.patch);
    }
    out.push_str("</tr></thead>\n<tbody>\n");
    for row in &atlas.rows {
        let _ = write!(out, "<tr><th>{} <small>{}</small></th>", esc(&row.pattern), esc(&row.config));
        for (j, c) in row.cells.iter().enumerate() {
            let edge = if row.boundary[j] { " class=\"boundary\"" } else { "" };
            match c {
                Some(m) => {
                    let r = &results[m.index];
                    let _ = write!(
                        out,
                        "<td{edge}><a class=\"badge {}\" href=\"#{}\" title=\"{}\">{}{}</a></td>",
                        outcome_class(r),
                        anchor(r, m.index),
                        esc(&format!("{} {}: {} — {}", r.config.pattern, case_name(r), r.verdict, key_number(r))),
                        super::atlas::letter(m.verdict),
                        if m.met { "" } else { "*" }
                    );
                }
                None => {
                    let _ = write!(out, "<td{edge}></td>");
                }
            }
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</tbody>\n</table>\n");
}

/// The verdict grid: a row per pattern, a column per Go version, a badge
/// per cell linking to its section.
fn grid(out: &mut String, results: &[CellResult]) {
    let mut versions: Vec<GoVersion> = results.iter().map(|r| r.config.go).collect();
    versions.sort();
    versions.dedup();
    let mut patterns: Vec<&str> = Vec::new();
    for r in results {
        if !patterns.contains(&r.config.pattern.as_str()) {
            patterns.push(r.config.pattern.as_str());
        }
    }
    out.push_str("<h2>Verdicts</h2>\n<table class=\"grid\" id=\"grid\">\n<thead><tr><th>pattern</th>");
    for v in &versions {
        let _ = write!(out, "<th>go{v}</th>");
    }
    out.push_str("</tr></thead>\n<tbody>\n");
    for p in &patterns {
        let _ = write!(out, "<tr><th>{}</th>", esc(p));
        for v in &versions {
            out.push_str("<td>");
            let here: Vec<(usize, &CellResult)> =
                results.iter().enumerate().filter(|(_, r)| r.config.pattern == **p && r.config.go == *v).collect();
            for (i, r) in &here {
                let sub = r.config.describe(crate::cell::View { go: false, ..crate::cell::View::CASE });
                let title = format!(
                    "{} {}: {} (expected {}) — {}",
                    r.config.pattern,
                    case_name(r),
                    r.verdict,
                    r.expected.map(|e| e.as_str()).unwrap_or("nothing"),
                    key_number(r)
                );
                let expected = if r.verdict == crate::verdict::Verdict::Skipped {
                    // The reason, in the grid itself: why this cell is empty.
                    format!(" <small>{}</small>", esc(r.explanation.trim_start_matches("not run: ")))
                } else if r.met || r.error.is_some() {
                    String::new()
                } else {
                    format!(" <small>expected {}</small>", esc(r.expected.map(|e| e.as_str()).unwrap_or("nothing")))
                };
                let _ = write!(
                    out,
                    "<a class=\"badge {}\" href=\"#{}\" title=\"{}\">{}{}{expected}</a>",
                    outcome_class(r),
                    anchor(r, *i),
                    esc(&title),
                    esc(&r.verdict.to_string()),
                    if here.len() > 1 { format!(" <small>{}</small>", esc(&sub)) } else { String::new() }
                );
            }
            out.push_str("</td>");
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</tbody>\n</table>\n");
}

fn cell_section(out: &mut String, r: &CellResult, i: usize) {
    let _ = write!(
        out,
        "<section class=\"cell\" id=\"{}\">\n<h3><span class=\"badge {}\">&nbsp;{}&nbsp;</span> {} — {}</h3>\n",
        anchor(r, i),
        outcome_class(r),
        esc(&r.verdict.to_string()),
        esc(&r.config.pattern),
        esc(&case_name(r))
    );
    let _ = writeln!(
        out,
        "<p>expected: <b>{}</b>{} — {}</p>",
        esc(r.expected.map(|e| e.as_str()).unwrap_or("nothing declared")),
        if r.met { "" } else { " <b>(not met)</b>" },
        esc(&r.why)
    );
    let _ = writeln!(out, "<p class=\"explanation\">{}</p>", esc(&r.explanation));
    if let Some(e) = &r.error {
        let _ = writeln!(out, "<pre class=\"error\">{}</pre>", esc(e));
    }
    signal_table(out, r);
    if !r.detectors.is_empty() {
        let _ = writeln!(out, "<p>detectors: {}</p>", esc(&super::detectors(r)));
    }
    plots(out, r);
    if !r.evidence.is_empty() {
        out.push_str("<p>evidence (open a <code>.pprof</code> with <code>go tool pprof</code>): ");
        let links: Vec<String> = r.evidence.iter().map(|e| format!("<a href=\"{0}\">{0}</a>", esc(e))).collect();
        out.push_str(&links.join(", "));
        out.push_str("</p>\n");
    }
    out.push_str("</section>\n");
}

fn signal_table(out: &mut String, r: &CellResult) {
    let (Some(b), Some(f)) = (&r.buggy, &r.fixed) else { return };
    out.push_str(
        "<table class=\"signals\"><tr><th>signal</th><th>role</th><th>buggy</th><th>fixed</th><th>threshold</th></tr>\n",
    );
    let cell = |v: &VariantResult, i: usize| {
        v.signals
            .get(i)
            .map(|s| match &s.estimate {
                Some(e) => format!("{} [{}, {}] {}", fmt_num(e.value), fmt_num(e.lo), fmt_num(e.hi), s.status),
                None => format!("– {}", s.status),
            })
            .unwrap_or_default()
    };
    for (i, s) in b.signals.iter().enumerate() {
        let _ = writeln!(
            out,
            "<tr><td>{} ({})</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&s.name),
            esc(&s.unit),
            if s.role == crate::template::Role::Symptom { "symptom" } else { "info" },
            esc(&cell(b, i)),
            esc(&cell(f, i)),
            fmt_num(s.threshold)
        );
    }
    for v in [b, f] {
        if let Some(c) = &v.crash {
            let _ = writeln!(
                out,
                "<tr><td colspan=\"5\">{} crashed ({} of {} trials): {}</td></tr>",
                esc(&v.variant),
                v.crashed_trials,
                v.trials,
                esc(&c.message)
            );
        }
    }
    out.push_str("</table>\n");
}

/// The metrics to plot for a cell: its signals' metrics, then the usual
/// ones, each only if some run sampled it.
fn plot_metrics(r: &CellResult) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    let signals = r.buggy.iter().flat_map(|v| &v.signals).map(|s| s.metric.clone());
    for m in signals.chain(ALWAYS.iter().map(|s| s.to_string())) {
        if m.is_empty() || m == "crash" || m == "round" || names.contains(&m) {
            continue;
        }
        if r.runs.iter().any(|run| run.samples.iter().any(|s| s.get(&m).is_some())) {
            names.push(m);
        }
    }
    names
}

fn plots(out: &mut String, r: &CellResult) {
    if r.runs.is_empty() {
        out.push_str("<p class=\"noseries\">no series recorded for this cell (merged from verdicts without a journal, or not run)</p>\n");
        return;
    }
    let metrics = plot_metrics(r);
    if metrics.is_empty() {
        out.push_str("<p class=\"noseries\">no samples: every run died before its first round</p>\n");
        return;
    }
    out.push_str("<div class=\"plots\">\n");
    for m in metrics {
        let series: Vec<(&str, Vec<(f64, f64)>)> = r
            .runs
            .iter()
            .map(|run: &RunRecord| {
                let pts = run.samples.iter().filter_map(|s| Some((s.round as f64, s.get(&m)?))).collect();
                (run.variant(), pts)
            })
            .collect();
        out.push_str(&svg_plot(&m, &series));
    }
    out.push_str("</div>\n");
}

/// Round numbers for an axis from `lo` to `hi`: about five ticks at 1, 2
/// or 5 times a power of ten.
fn ticks(lo: f64, hi: f64) -> Vec<f64> {
    let span = (hi - lo).max(f64::EPSILON);
    let raw = span / 4.0;
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0].iter().map(|m| m * mag).find(|s| span / s <= 5.0).unwrap_or(10.0 * mag);
    let mut t = (lo / step).ceil() * step;
    let mut v = Vec::new();
    while t <= hi + step * 1e-9 && v.len() < 12 {
        v.push(if t.abs() < step * 1e-9 { 0.0 } else { t });
        t += step;
    }
    v
}

/// `1.5M`, `200k`, `0.25`: short tick labels.
fn short(v: f64) -> String {
    let a = v.abs();
    let (x, suffix) = if a >= 1e9 {
        (v / 1e9, "G")
    } else if a >= 1e6 {
        (v / 1e6, "M")
    } else if a >= 1e3 {
        (v / 1e3, "k")
    } else {
        (v, "")
    };
    let s = format!("{x:.2}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    format!("{s}{suffix}")
}

/// One plot: every run a polyline, coloured by variant.
pub fn svg_plot(title: &str, series: &[(&str, Vec<(f64, f64)>)]) -> String {
    let (w, h) = (340.0, 200.0);
    let (ml, mr, mt, mb) = (48.0, 10.0, 22.0, 28.0);
    let pts = series.iter().flat_map(|(_, p)| p.iter());
    let (mut x0, mut x1, mut y0, mut y1) = (f64::INFINITY, f64::NEG_INFINITY, f64::INFINITY, f64::NEG_INFINITY);
    for &(x, y) in pts.filter(|(x, y)| x.is_finite() && y.is_finite()) {
        x0 = x0.min(x);
        x1 = x1.max(x);
        y0 = y0.min(y);
        y1 = y1.max(y);
    }
    let mut s = String::new();
    let _ = write!(
        s,
        "<svg class=\"plot\" data-metric=\"{0}\" xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\" font-family=\"sans-serif\" font-size=\"10\"><title>{0} over rounds</title><text x=\"{ml}\" y=\"14\" font-size=\"12\" font-weight=\"bold\">{0}</text>",
        esc(title)
    );
    if !x0.is_finite() {
        s.push_str("<text x=\"60\" y=\"100\">no samples</text></svg>\n");
        return s;
    }
    // Start the value axis at zero for counts and bytes, so a flat line
    // does not look like growth.
    if y0 > 0.0 {
        y0 = 0.0;
    }
    if y1 <= y0 {
        y1 = y0 + 1.0;
    }
    if x1 <= x0 {
        x1 = x0 + 1.0;
    }
    let (pw, ph) = (w - ml - mr, h - mt - mb);
    let sx = |x: f64| ml + (x - x0) / (x1 - x0) * pw;
    let sy = |y: f64| mt + ph - (y - y0) / (y1 - y0) * ph;
    for t in ticks(y0, y1) {
        let y = sy(t);
        let _ = write!(
            s,
            "<line x1=\"{ml}\" x2=\"{:.1}\" y1=\"{y:.1}\" y2=\"{y:.1}\" stroke=\"#e4e4e4\"/><text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
            ml + pw,
            ml - 4.0,
            y + 3.5,
            short(t)
        );
    }
    for t in ticks(x0, x1) {
        let x = sx(t);
        let _ = write!(
            s,
            "<line x1=\"{x:.1}\" x2=\"{x:.1}\" y1=\"{:.1}\" y2=\"{:.1}\" stroke=\"#999\"/><text x=\"{x:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>",
            mt + ph,
            mt + ph + 4.0,
            mt + ph + 15.0,
            short(t)
        );
    }
    let _ = write!(
        s,
        "<rect x=\"{ml}\" y=\"{mt}\" width=\"{pw}\" height=\"{ph}\" fill=\"none\" stroke=\"#999\"/><text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\" fill=\"#666\">round</text>",
        ml + pw,
        h - 2.0
    );
    for (variant, p) in series {
        let buggy = crate::cell::Role::of(variant) == Some(crate::cell::Role::Buggy);
        let colour = if buggy { BUGGY_COLOUR } else { FIXED_COLOUR };
        let points: Vec<String> = p
            .iter()
            .filter(|(x, y)| x.is_finite() && y.is_finite())
            .map(|&(x, y)| format!("{:.1},{:.1}", sx(x), sy(y)))
            .collect();
        let _ = write!(
            s,
            "<polyline class=\"{}\" fill=\"none\" stroke=\"{colour}\" stroke-width=\"2\" points=\"{}\"/>",
            esc(variant),
            points.join(" ")
        );
    }
    s.push_str("</svg>\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_round_and_cover_the_range() {
        assert_eq!(ticks(0.0, 10.0), vec![0.0, 2.0, 4.0, 6.0, 8.0, 10.0]);
        assert_eq!(ticks(0.0, 1.0e6), vec![0.0, 200_000.0, 400_000.0, 600_000.0, 800_000.0, 1_000_000.0]);
        let t = ticks(0.0, 37.0);
        assert_eq!(t, vec![0.0, 10.0, 20.0, 30.0]);
        assert_eq!(short(1_500_000.0), "1.5M");
        assert_eq!(short(200_000.0), "200k");
        assert_eq!(short(0.25), "0.25");
    }

    #[test]
    fn a_plot_draws_one_polyline_per_run_inside_its_frame() {
        let up: Vec<(f64, f64)> = (0..10).map(|i| (i as f64, 1000.0 * i as f64)).collect();
        let flat: Vec<(f64, f64)> = (0..10).map(|i| (i as f64, 50.0)).collect();
        let svg = svg_plot("heap_live", &[("buggy", up), ("fixed", flat)]);
        assert_eq!(svg.matches("<polyline").count(), 2);
        assert!(svg.contains(&format!("class=\"buggy\" fill=\"none\" stroke=\"{BUGGY_COLOUR}\"")));
        assert!(svg.contains(&format!("class=\"fixed\" fill=\"none\" stroke=\"{FIXED_COLOUR}\"")));
        // The buggy line climbs from the bottom-left to the top-right corner
        // of the 340×200 frame (margins 48/10/22/28).
        assert!(svg.contains("points=\"48.0,172.0 "), "{svg}");
        assert!(svg.contains(" 330.0,22.0\""), "{svg}");
        // No samples at all: a labelled empty plot, not a panic or NaN.
        let empty = svg_plot("fds", &[("buggy", vec![])]);
        assert!(empty.contains("no samples") && !empty.contains("NaN"));
    }
}
