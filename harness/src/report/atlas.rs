//! The version atlas: a row per configuration (a pattern and everything
//! but the toolchain; a go line that follows the toolchain reads `line
//! own`), a column per Go release, a letter per cell, and a mark where a
//! row's verdict changes from one release to the next. It stays readable
//! with every release of the index as a column (26 today): Markdown gets
//! it as fixed-width text, the HTML report as a compact table.

use crate::cell::View;
use crate::results::CellResult;
use crate::verdict::Verdict;
use crate::version::GoVersion;
use std::fmt::Write as _;

/// A cell of the atlas.
#[derive(Clone, Copy, Debug)]
pub struct Mark {
    /// The result's index in the result set.
    pub index: usize,
    /// Its verdict.
    pub verdict: Verdict,
    /// Whether the verdict is the expected one.
    pub met: bool,
}

/// One configuration along the releases.
#[derive(Clone, Debug)]
pub struct Row {
    /// The pattern.
    pub pattern: String,
    /// The rest of the configuration (`line own GOGC=50`).
    pub config: String,
    /// A mark per release (`None`: not run there).
    pub cells: Vec<Option<Mark>>,
    /// `true` at column `j` when the verdict at `j` differs from the last
    /// one run before it in the row.
    pub boundary: Vec<bool>,
}

/// The releases and the rows.
#[derive(Clone, Debug)]
pub struct Atlas {
    /// The releases, oldest first.
    pub versions: Vec<GoVersion>,
    /// The rows, in the results' order of first appearance.
    pub rows: Vec<Row>,
}

/// The letter of a verdict: `R` reproduced, `.` not reproduced, `F` the fix
/// fails, `C` a crash, `?` inconclusive, `-` skipped.
pub fn letter(v: Verdict) -> char {
    match v {
        Verdict::Reproduced => 'R',
        Verdict::NotReproduced => '.',
        Verdict::FixFails => 'F',
        Verdict::Crash => 'C',
        Verdict::Inconclusive => '?',
        Verdict::Skipped => '-',
    }
}

/// Result sets on this many releases or more get an atlas.
pub const MIN_VERSIONS: usize = 3;

/// Past this many releases the HTML report shows the atlas in place of
/// its grid of badges (a column of badges each is too wide).
pub const COMPACT_PAST: usize = 8;

/// The legend of the letters and marks.
pub const LEGEND: &str = "columns: Go releases (23 over 1 is 1.23.1); R reproduced, . not reproduced, F fix fails, C crash, ? inconclusive, - skipped; * not the expected verdict; | the verdict changes";

/// The atlas of `results`.
pub fn atlas(results: &[CellResult]) -> Atlas {
    let mut versions: Vec<GoVersion> = results.iter().map(|r| r.config.go).collect();
    versions.sort();
    versions.dedup();
    let view = View { pattern: false, go: false, own_line: true, knobs_always: false, ..View::LABEL };
    let mut rows: Vec<Row> = Vec::new();
    for (index, r) in results.iter().enumerate() {
        let config = r.config.describe(view);
        let pattern = r.config.pattern.to_string();
        let at = versions.iter().position(|v| *v == r.config.go).expect("listed above");
        let row = match rows.iter_mut().position(|x| x.pattern == pattern && x.config == config) {
            Some(i) => &mut rows[i],
            None => {
                rows.push(Row {
                    pattern,
                    config,
                    cells: vec![None; versions.len()],
                    boundary: vec![false; versions.len()],
                });
                rows.last_mut().expect("pushed")
            }
        };
        row.cells[at] = Some(Mark { index, verdict: r.verdict, met: r.met });
    }
    for row in &mut rows {
        let mut last: Option<Verdict> = None;
        for (j, c) in row.cells.iter().enumerate() {
            let Some(m) = c.filter(|m| m.verdict != Verdict::Skipped) else { continue };
            row.boundary[j] = last.is_some_and(|l| l != m.verdict);
            last = Some(m.verdict);
        }
    }
    Atlas { versions, rows }
}

impl Atlas {
    /// The atlas as fixed-width text: two header lines (the series where
    /// it starts, then each release's patch number), a line per row.
    pub fn text(&self) -> String {
        let label =
            |r: &Row| if r.config.is_empty() { r.pattern.clone() } else { format!("{} {}", r.pattern, r.config) };
        let w = self.rows.iter().map(|r| label(r).chars().count()).max().unwrap_or(0).max(7);
        // A column: a mark slot (space or `|`), then the letter, padded to
        // the widest patch number.
        let cw = self.versions.iter().map(|v| v.patch.to_string().len()).max().unwrap_or(1).max(1) + 1;
        // The series' minor over its first column, every patch number
        // under it: `23` over `1` is Go 1.23.1.
        let (mut series, mut patch) = (format!("{:w$} ", "go 1."), format!("{:w$} ", ""));
        let mut last = None;
        for v in &self.versions {
            let head = if last == Some(v.series()) { String::new() } else { v.minor.to_string() };
            last = Some(v.series());
            let _ = write!(series, " {head:<width$}", width = cw - 1);
            let _ = write!(patch, " {:<width$}", v.patch, width = cw - 1);
        }
        let mut out = format!("{}\n{}\n", series.trim_end(), patch.trim_end());
        for r in &self.rows {
            let mut line = format!("{:w$} ", label(r));
            for (j, c) in r.cells.iter().enumerate() {
                let mark = if r.boundary[j] { '|' } else { ' ' };
                let cell = match c {
                    Some(m) => format!("{}{}", letter(m.verdict), if m.met { "" } else { "*" }),
                    None => " ".into(),
                };
                let _ = write!(line, "{mark}{cell:<width$}", width = cw - 1);
            }
            out.push_str(line.trim_end());
            out.push('\n');
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result(pattern: &str, go: &str, line: &str, verdict: &str, met: bool) -> CellResult {
        serde_json::from_value(serde_json::json!({
            "pattern": pattern, "go": go, "go_line": line, "knobs": {}, "params": {}, "buggy": null, "fixed": null,
            "verdict": verdict, "expected": null, "met": met, "why": "", "explanation": ""
        }))
        .unwrap()
    }

    #[test]
    fn rows_follow_a_configuration_across_releases_and_mark_where_the_verdict_changes() {
        let mut rs = Vec::new();
        for (go, own) in [("1.22.10", "1.22"), ("1.23.1", "1.23"), ("1.23.9", "1.23"), ("1.24.11", "1.24")] {
            let v = if go.starts_with("1.22") { "reproduced" } else { "not-reproduced" };
            rs.push(result("15-t", go, own, v, true));
            // Pinned to go line 1.22: reproduced throughout, one unexpected.
            rs.push(result("15-t", go, "1.22", "reproduced", go != "1.23.9"));
        }
        rs.push(result("01-g", "1.23.9", "1.23", "skipped", true));
        let a = atlas(&rs);
        assert_eq!(a.versions.len(), 4);
        let rows: Vec<(&str, &str)> = a.rows.iter().map(|r| (r.pattern.as_str(), r.config.as_str())).collect();
        // 1.22.10's own line is 1.22: the pinned row's first cell is the own row's.
        assert_eq!(rows, [("15-t", "line own"), ("15-t", "line1.22"), ("01-g", "line own")]);
        assert_eq!(a.rows[0].boundary, [false, true, false, false]);
        let text = a.text();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines,
            [
                "go 1.          22 23    24",
                "               10 1  9  11",
                "15-t line own  R |.  .  .",
                "15-t line1.22     R  R* R",
                "01-g line own        -",
            ]
        );
    }
}
