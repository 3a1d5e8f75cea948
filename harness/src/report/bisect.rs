//! A bisection for people (a table, Markdown) and tools (JSON).

use crate::bisect::{Bisection, Boundary};
use std::fmt::Write as _;

/// The cell bisected, less the axis walked (`15-t GOGC=50` …).
fn what(b: &Bisection) -> String {
    let Some(p) = b.visited.first() else { return String::new() };
    let view = if b.over == "go-line" {
        crate::cell::View { line: false, ..crate::cell::View::LABEL }
    } else {
        // `line own` when the line follows the toolchain all along, else the
        // line it is pinned to.
        let own = b.visited.iter().all(|p| p.result.config.go_line == p.result.config.go.series());
        crate::cell::View { go: false, own_line: own, ..crate::cell::View::LABEL }
    };
    p.result.config.describe(view)
}

fn boundary_line(x: &Boundary) -> String {
    if x.stable {
        format!("{} -> {}: {} (held when re-judged at full rounds and trials)", x.before, x.after, x.change)
    } else {
        format!(
            "{} -> {}: {} UNSTABLE: re-judged at full rounds and trials, {} then {}{}",
            x.before,
            x.after,
            x.change,
            x.recheck_verdicts.0,
            x.recheck_verdicts.1,
            x.recheck.as_ref().map(|r| format!(" ({r})")).unwrap_or_default()
        )
    }
}

/// The headline: what, over what, how much was judged.
fn headline(b: &Bisection) -> String {
    let rechecked = b.visited.iter().filter(|p| p.rechecked.is_some()).count();
    format!(
        "bisect {} over {} {} points ({} .. {}): {} judged, {} re-judged, {:.1} s",
        what(b),
        b.line.len(),
        b.over,
        b.line.first().map_or("", String::as_str),
        b.line.last().map_or("", String::as_str),
        b.visited.len(),
        rechecked,
        b.seconds
    )
}

/// What was found, in a sentence per boundary (or why there is none).
fn findings(b: &Bisection) -> Vec<String> {
    if b.boundaries.is_empty() {
        let end = b.visited.first().map_or("nothing", |p| p.verdict.as_str());
        return vec![format!("no change: both ends read {end} (a change and back between them is not seen)")];
    }
    b.boundaries.iter().map(|x| format!("boundary {}", boundary_line(x))).collect()
}

/// The table `gcfuzz bisect` prints.
pub fn table(b: &Bisection) -> String {
    let mut out = format!("{}\n", headline(b));
    let rows: Vec<[String; 4]> = b
        .visited
        .iter()
        .map(|p| {
            [
                p.at.clone(),
                p.verdict.clone(),
                p.rechecked.clone().unwrap_or_else(|| "-".into()),
                super::key_number(&p.result),
            ]
        })
        .collect();
    let header = ["AT", "VERDICT", "RE-JUDGED", "KEY NUMBERS (buggy vs fixed)"];
    let width = |i: usize| rows.iter().map(|r| r[i].len()).chain([header[i].len()]).max().unwrap_or(0);
    let (w0, w1, w2) = (width(0), width(1), width(2));
    let _ = writeln!(out, "{:<w0$}  {:<w1$}  {:<w2$}  {}", header[0], header[1], header[2], header[3]);
    for r in &rows {
        let _ = writeln!(out, "{:<w0$}  {:<w1$}  {:<w2$}  {}", r[0], r[1], r[2], r[3]);
    }
    for f in findings(b) {
        let _ = writeln!(out, "{f}");
    }
    out
}

/// The bisection as Markdown.
pub fn markdown(b: &Bisection) -> String {
    let mut out = format!("## {}\n\n", headline(b));
    for f in findings(b) {
        let _ = writeln!(out, "- {f}");
    }
    out.push_str("\n| at | verdict | re-judged | key numbers (buggy vs fixed) |\n|---|---|---|---|\n");
    for p in &b.visited {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} |",
            p.at,
            p.verdict,
            p.rechecked.as_deref().unwrap_or("-"),
            super::key_number(&p.result).replace('|', "\\|")
        );
    }
    let skipped: Vec<&str> =
        b.line.iter().filter(|at| !b.visited.iter().any(|p| &p.at == *at)).map(String::as_str).collect();
    if !skipped.is_empty() {
        let _ = writeln!(out, "\nNot judged (between two points that agree): {}", skipped.join(", "));
    }
    out
}

/// The bisection as JSON: `boundaries` (`before`, `after`, `change`,
/// `stable`, …), `visited` (every judged point with its verdict and
/// numbers), the `line`, `found` and the `seconds` it took.
pub fn json(b: &Bisection) -> String {
    let visited: Vec<serde_json::Value> = b
        .visited
        .iter()
        .map(|p| {
            serde_json::json!({
                "at": p.at,
                "verdict": p.verdict,
                "rechecked": p.rechecked,
                "numbers": super::key_number(&p.result),
                "cell": p.result.cell,
            })
        })
        .collect();
    let doc = serde_json::json!({
        "pattern": b.visited.first().map(|p| p.result.config.pattern.to_string()),
        "cell": what(b),
        "over": b.over,
        "line": b.line,
        "visited": visited,
        "boundaries": b.boundaries,
        "found": b.found(),
        "seconds": b.seconds,
    });
    serde_json::to_string_pretty(&doc).expect("a JSON value serializes") + "\n"
}
