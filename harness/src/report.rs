//! Everything a person or a script reads: progress (lines here, bars in
//! [`console`]), the verdict table, JSON, JUnit, Markdown, HTML
//! ([`html`]) and benchmark lines ([`bench`]). The only module that
//! formats results; the campaign never prints.

pub mod atlas;
pub mod bench;
pub mod bisect;
pub mod console;
pub mod diff;
pub mod fuzz;
pub mod html;

use crate::oracle::{VariantResult, fmt_num};
use crate::results::{CellResult, Event};
use crate::template::Pattern;
use std::fmt::Write as _;
use std::path::Path;

/// One report format: a file of an `--out` folder, rendered from the
/// cells (with their runs, where the format plots or lists them).
///
/// A closed enum rather than a trait of exporters: the set is gcfuzz's own
/// and known when it compiles, each format is one pure function of the
/// results, and a match makes a new format a compile error everywhere it
/// must be named (the file list, `write_dir`, the snapshot tests).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// `verdicts.json`: the stable `--json` form.
    Verdicts,
    /// `summary.md`: Markdown for a CI job summary.
    Summary,
    /// `junit.xml`: one suite per pattern, one case per cell.
    Junit,
    /// `report.html`: the grid, the cells and their plots.
    Html,
    /// `bench.txt`: Go benchmark lines for benchstat.
    Bench,
}

impl Format {
    /// Every format, in the order they are written.
    pub const ALL: [Format; 5] = [Format::Verdicts, Format::Summary, Format::Junit, Format::Html, Format::Bench];

    /// Its file in an output folder.
    pub const fn file_name(self) -> &'static str {
        match self {
            Format::Verdicts => "verdicts.json",
            Format::Summary => "summary.md",
            Format::Junit => "junit.xml",
            Format::Html => "report.html",
            Format::Bench => "bench.txt",
        }
    }

    /// The file's text.
    pub fn render(self, results: &[CellResult]) -> String {
        match self {
            Format::Verdicts => json(results),
            Format::Summary => summary_md(results),
            Format::Junit => junit(results),
            Format::Html => html::report(results),
            Format::Bench => bench::bench(results),
        }
    }
}

/// What `--out DIR` holds besides the journal (`results.jsonl`) and the
/// `evidence/` folder: each [`Format`]'s file.
pub const OUTPUT_FILES: [&str; 5] = {
    let mut names = [""; 5];
    let mut i = 0;
    while i < Format::ALL.len() {
        names[i] = Format::ALL[i].file_name();
        i += 1;
    }
    names
};

/// Writes every [`Format`] into `dir`, each atomically (written aside,
/// synced, renamed). The HTML plots and the benchmark lines need the
/// cells' runs (`CellResult::runs`, e.g. from [`crate::journal::read`]);
/// cells without them still get their rows.
pub fn write_dir(dir: &Path, results: &[CellResult]) -> Result<(), crate::errors::IoError> {
    std::fs::create_dir_all(dir).map_err(crate::errors::io_err("failed to create", dir))?;
    for f in Format::ALL {
        crate::errors::write_atomic(&dir.join(f.file_name()), f.render(results))?;
    }
    Ok(())
}

/// A progress line for an event (stderr), or `None` for events that need none.
pub fn event_line(e: &Event) -> Option<String> {
    match e {
        Event::Note(m) => Some(format!("toolchain: {m}")),
        Event::BuildStarted { .. } | Event::Download { .. } | Event::Started { .. } => None,
        Event::BuildDone(a) => Some(format!(
            "build: {} go{} line {} {}",
            a.scenarios().join(" "),
            a.key.go,
            a.key.go_line.line_string(),
            if a.cached { "cached".to_string() } else { format!("built in {:.1} s", a.build_ms as f64 / 1000.0) }
        )),
        Event::BuildFailed { key, pattern, error } => {
            Some(format!("build: {pattern} go{} line {} FAILED\n{error}", key.go, key.go_line.line_string()))
        }
        Event::CellDone { done, total, result: r } => Some(format!(
            "[{done}/{total}] {}: {} ({})",
            r.config,
            r.verdict,
            if r.met {
                "as expected".to_string()
            } else {
                format!("EXPECTED {}", r.expected.map(|v| v.as_str()).unwrap_or("nothing"))
            }
        )),
    }
}

/// The headline numbers of a cell: the first symptom signal, buggy vs fixed.
pub fn key_number(r: &CellResult) -> String {
    if r.verdict == crate::verdict::Verdict::Skipped {
        return r.explanation.clone();
    }
    if let Some(e) = &r.error {
        return e.lines().next().unwrap_or(e).chars().take(60).collect();
    }
    let (Some(b), Some(f)) = (&r.buggy, &r.fixed) else { return String::new() };
    for v in [b, f] {
        if let Some(c) = &v.crash {
            return format!("{}: {}", v.variant, c.message.chars().take(70).collect::<String>());
        }
    }
    // The signal that decided: the first symptom present in either variant,
    // else the first symptom.
    let pick = |v: &VariantResult| {
        v.signals
            .iter()
            .position(|s| s.role == crate::template::Role::Symptom && s.status == crate::verdict::Presence::Present)
    };
    let i = pick(b)
        .or_else(|| pick(f))
        .unwrap_or_else(|| b.signals.iter().position(|s| s.role == crate::template::Role::Symptom).unwrap_or(0));
    let (Some(sb), Some(sf)) = (b.signals.get(i), f.signals.get(i)) else { return String::new() };
    let val = |s: &crate::oracle::SignalResult| s.estimate.map(|e| fmt_num(e.value)).unwrap_or_else(|| "?".into());
    format!("{} {} vs {} {} (>{})", sb.name, val(sb), val(sf), sb.unit, fmt_num(sb.threshold))
}

/// `vet:missed checkptr:caught`, or `-` when no detector ran.
pub fn detectors(r: &CellResult) -> String {
    if r.detectors.is_empty() {
        return "-".into();
    }
    r.detectors.iter().map(|d| format!("{}:{}", d.detector, d.catch.as_str())).collect::<Vec<_>>().join(" ")
}

/// The verdict table, one row per cell.
pub fn table(results: &[CellResult]) -> String {
    let with_detectors = results.iter().any(|r| !r.detectors.is_empty());
    let header =
        ["PATTERN", "GO", "LINE", "KNOBS", "BUGGY", "FIXED", "VERDICT", "EXPECTED", "", "KEY NUMBERS (buggy vs fixed)"];
    let rows: Vec<[String; 10]> = results
        .iter()
        .map(|r| {
            [
                r.config.pattern.to_string(),
                r.config.go.to_string(),
                r.config.go_line.line_string(),
                r.config.describe(crate::cell::View::SETTINGS),
                r.buggy.as_ref().map(|v| v.status.to_string()).unwrap_or_else(|| "-".into()),
                r.fixed.as_ref().map(|v| v.status.to_string()).unwrap_or_else(|| "-".into()),
                r.verdict.to_string(),
                r.expected.map(|v| v.to_string()).unwrap_or_else(|| "-".into()),
                met_word(r).into(),
                if with_detectors { format!("{}  [{}]", key_number(r), detectors(r)) } else { key_number(r) },
            ]
        })
        .collect();
    let mut width = header.map(str::len);
    for row in &rows {
        for (w, c) in width.iter_mut().zip(row) {
            *w = (*w).max(c.chars().count());
        }
    }
    let mut out = String::new();
    let line = |cells: &[String], out: &mut String| {
        let mut s = String::new();
        for (i, c) in cells.iter().enumerate() {
            if i + 1 == cells.len() {
                s.push_str(c);
            } else {
                let _ = write!(s, "{c:<w$}  ", w = width[i]);
            }
        }
        out.push_str(s.trim_end());
        out.push('\n');
    };
    line(&header.map(String::from), &mut out);
    for row in &rows {
        line(row, &mut out);
    }
    out
}

/// `ok`, `FAIL`, or `skip` for a cell that was not run.
fn met_word(r: &CellResult) -> &'static str {
    if r.verdict == crate::verdict::Verdict::Skipped {
        "skip"
    } else if r.met {
        "ok"
    } else {
        "FAIL"
    }
}

/// `12 cells: 11 as expected, 1 not; verdicts: 8 reproduced, …; 3
/// skipped (not run, …)`: skipped cells are counted apart.
pub fn summary(results: &[CellResult]) -> String {
    let skipped = results.iter().filter(|r| r.verdict == crate::verdict::Verdict::Skipped).count();
    let run: Vec<CellResult> =
        results.iter().filter(|r| r.verdict != crate::verdict::Verdict::Skipped).cloned().collect();
    let mut line = summary_of_run(&run);
    if skipped > 0 {
        line.push_str(&format!("; {skipped} skipped (not run: the reason is in each row)"));
    }
    line
}

fn summary_of_run(results: &[CellResult]) -> String {
    let met = results.iter().filter(|r| r.met).count();
    let mut counts: Vec<(String, usize)> = Vec::new();
    for r in results {
        let k = r.verdict.to_string();
        match counts.iter_mut().find(|(n, _)| *n == k) {
            Some(c) => c.1 += 1,
            None => counts.push((k, 1)),
        }
    }
    let counts: Vec<String> = counts.iter().map(|(k, n)| format!("{n} {k}")).collect();
    let mut line = format!(
        "{} cells: {met} as expected, {} not; verdicts: {}",
        results.len(),
        results.len() - met,
        counts.join(", ")
    );
    // Early stopping's account: rounds run against the rounds asked for.
    let early: Vec<&CellResult> = results.iter().filter(|r| r.early_stop).collect();
    if !early.is_empty() {
        let ran: usize = early.iter().flat_map(|r| [&r.buggy, &r.fixed]).flatten().map(|v| v.rounds).sum();
        let asked: usize = early.iter().map(|r| 2 * r.config.rounds as usize).sum();
        let pct = 100.0 * (1.0 - ran as f64 / asked.max(1) as f64);
        let delta = if pct >= 0.0 { format!("{pct:.0}% fewer") } else { format!("{:.0}% more", -pct) };
        line.push_str(&format!("; early stopping ran {ran} of {asked} nominal rounds ({delta})"));
    }
    line
}

/// The cells whose verdict was not the expected one, each with its numbers.
pub fn failures(results: &[CellResult]) -> String {
    let mut out = String::new();
    for r in results.iter().filter(|r| !r.met) {
        let _ = writeln!(
            out,
            "UNEXPECTED {}: {} (expected {})\n  {}",
            r.config,
            r.verdict,
            r.expected.map(|v| v.as_str()).unwrap_or("nothing"),
            r.explanation
        );
        if let Some(e) = &r.error {
            let _ = writeln!(out, "  error: {e}");
        }
    }
    out
}

/// The `--json` document: one object per cell.
pub fn json(results: &[CellResult]) -> String {
    serde_json::to_string_pretty(results).expect("results serialize") + "\n"
}

/// `gcfuzz list`.
pub fn pattern_list(patterns: &[Pattern], builtin: &std::path::Path, verbose: bool) -> String {
    let mut out = String::new();
    let w = patterns.iter().map(|p| p.id.len()).max().unwrap_or(0);
    let builtin = builtin.canonicalize().ok();
    for p in patterns {
        let fam = serde_json::to_value(p.family).ok().and_then(|v| v.as_str().map(String::from)).unwrap_or_default();
        let from = match p.dir.parent().and_then(|d| d.canonicalize().ok()) {
            Some(d) if Some(&d) == builtin.as_ref() => "built-in".to_string(),
            _ => p.dir.display().to_string(),
        };
        let _ = writeln!(out, "{:<w$}  {:<13} {}  [{from}]", p.id, fam, p.title);
        if verbose {
            let _ = writeln!(out, "    {}", p.summary);
            for v in &p.variants {
                let _ = writeln!(out, "    variant {}: {}", v.name, v.about);
            }
            for q in &p.params {
                let _ = writeln!(
                    out,
                    "    param {} = {} in [{}, {}]: {}",
                    q.name,
                    fmt_num(q.default),
                    q.range.0,
                    q.range.1,
                    q.about
                );
            }
            for n in &p.notes {
                let _ = writeln!(out, "    note: {n}");
            }
        }
    }
    out
}

/// The cell's name in test reports: `go1.22.10 line1.22 GOGC=50 …`.
fn case_name(r: &CellResult) -> String {
    r.config.describe(crate::cell::View::CASE)
}

/// A Markdown summary, fit for `$GITHUB_STEP_SUMMARY`.
pub fn summary_md(results: &[CellResult]) -> String {
    let mut out = String::from("## gcfuzz\n\n");
    let _ = writeln!(out, "{}\n", summary(results));
    out.push_str(
        "| pattern | cell | buggy | fixed | verdict | expected | | key numbers |\n|---|---|---|---|---|---|---|---|\n",
    );
    for r in results {
        let status = |v: &Option<VariantResult>| v.as_ref().map(|v| v.status.to_string()).unwrap_or_else(|| "-".into());
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} | {} |",
            r.config.pattern,
            case_name(r),
            status(&r.buggy),
            status(&r.fixed),
            r.verdict,
            r.expected.map(|v| v.as_str()).unwrap_or("-"),
            match met_word(r) {
                "ok" => "✅",
                "skip" => "⏭️",
                _ => "❌",
            },
            key_number(r).replace('|', "\\|")
        );
    }
    let atlas = atlas::atlas(results);
    if atlas.versions.len() >= atlas::MIN_VERSIONS {
        let _ = write!(out, "\n### Version atlas\n\n{}\n\n```text\n{}```\n", atlas::LEGEND, atlas.text());
    }
    out
}

fn xml_escape(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&apos;"),
            c if (c as u32) < 0x20 && !matches!(c, '\n' | '\r' | '\t') => {}
            c => o.push(c),
        }
    }
    o
}

/// JUnit XML: one test suite per pattern, one test case per cell. An
/// unmet expectation is a `<failure>` carrying the verdict's explanation;
/// a harness error (build, spawn) is an `<error>`; a cell the plan left
/// out is `<skipped>` with the reason.
pub fn junit(results: &[CellResult]) -> String {
    let secs = |r: &CellResult| {
        [&r.buggy, &r.fixed].iter().filter_map(|v| v.as_ref()).map(|v| v.wall_ms).sum::<u64>() as f64 / 1000.0
    };
    let mut suites: Vec<(&str, Vec<&CellResult>)> = Vec::new();
    for r in results {
        match suites.iter_mut().find(|(p, _)| *p == r.config.pattern.as_str()) {
            Some(s) => s.1.push(r),
            None => suites.push((&r.config.pattern, vec![r])),
        }
    }
    let failures = |rs: &[&CellResult]| rs.iter().filter(|r| !r.met && r.error.is_none()).count();
    let errors = |rs: &[&CellResult]| rs.iter().filter(|r| r.error.is_some()).count();
    let skipped = |rs: &[&CellResult]| rs.iter().filter(|r| r.verdict == crate::verdict::Verdict::Skipped).count();
    let all: Vec<&CellResult> = results.iter().collect();
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        // `skipped` is the suites' attribute only (junit-10.xsd has no
        // such attribute on <testsuites>; `disabled` means something else).
        "<testsuites name=\"gcfuzz\" tests=\"{}\" failures=\"{}\" errors=\"{}\" time=\"{:.3}\">",
        all.len(),
        failures(&all),
        errors(&all),
        all.iter().map(|r| secs(r)).sum::<f64>()
    );
    for (pattern, rs) in &suites {
        let _ = writeln!(
            out,
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"{}\" time=\"{:.3}\">",
            xml_escape(pattern),
            rs.len(),
            failures(rs),
            errors(rs),
            skipped(rs),
            rs.iter().map(|r| secs(r)).sum::<f64>()
        );
        for r in rs {
            let _ = write!(
                out,
                "    <testcase classname=\"gcfuzz.{}\" name=\"{}\" time=\"{:.3}\"",
                xml_escape(pattern),
                xml_escape(&case_name(r)),
                secs(r)
            );
            let mut body = String::new();
            if r.verdict == crate::verdict::Verdict::Skipped {
                let _ = writeln!(body, "      <skipped message=\"{}\" />", xml_escape(&r.explanation));
            } else if let Some(e) = &r.error {
                let _ = writeln!(
                    body,
                    "      <error type=\"harness-error\" message=\"{}\">{}</error>",
                    xml_escape(e.lines().next().unwrap_or("")),
                    xml_escape(e)
                );
            } else if !r.met {
                let message = format!(
                    "expected {}, got {}",
                    r.expected.map(|v| v.as_str()).unwrap_or("nothing declared"),
                    r.verdict
                );
                let _ = writeln!(
                    body,
                    "      <failure type=\"unexpected-verdict\" message=\"{}\">{}</failure>",
                    xml_escape(&message),
                    xml_escape(&r.explanation)
                );
            }
            // Test reporters show a case's output: name the evidence kept.
            if !r.evidence.is_empty() {
                let _ = writeln!(
                    body,
                    "      <system-out>evidence (relative to the output folder):\n{}</system-out>",
                    xml_escape(&r.evidence.join("\n"))
                );
            }
            if body.is_empty() {
                out.push_str(" />\n");
            } else {
                let _ = write!(out, ">\n{body}    </testcase>\n");
            }
        }
        out.push_str("  </testsuite>\n");
    }
    out.push_str("</testsuites>\n");
    out
}

#[cfg(test)]
#[path = "report/tests.rs"]
mod format_tests;
