//! `gcfuzz diff OLD NEW`: two result sets compared cell by cell: cells
//! whose verdict changed, cells only in one set, and signals whose
//! estimate moved beyond both intervals. Pure: results in, a [`Diff`] out,
//! printed as a table, as Markdown (a pull-request comment) or as JSON.
//!
//! Which cells are the same cell:
//! - Two sets on the same toolchains (two commits, two runs): the same
//!   configuration on the same toolchain.
//! - Two sets of one toolchain each, not the same one (`--go 1.22` against
//!   `--go 1.23`): the same configuration, the toolchain set aside, and a
//!   go line that is the toolchain's own read as "own". A go line pinned
//!   on one side (`go_line: "1.22"` on Go 1.23) also matches the other
//!   side's own line when that is the same line (Go 1.22's own), so one
//!   cell of one set can be compared with two of the other: the pattern's
//!   default configuration (own line) and the pinned one.

use crate::oracle::{VariantResult, fmt_num};
use crate::results::CellResult;
use crate::verdict::Verdict;
use serde::Serialize;
use std::collections::{BTreeSet, HashMap};
use std::fmt::Write as _;

/// How the two sets were matched.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Matching {
    /// Cell by cell, toolchain included.
    SameToolchains,
    /// Across two toolchains (one per set), the toolchain set aside.
    AcrossToolchains,
}

/// A cell's identity, for people: `15-ticker-not-stopped line own -`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct CellName {
    /// The pattern.
    pub pattern: String,
    /// The configuration: go line (toolchain where cells are matched on
    /// it), knobs, GOEXPERIMENT, stress, parameters set, backend.
    pub config: String,
}

/// A cell present in both sets whose verdict differs.
#[derive(Clone, Debug, Serialize)]
pub struct Changed {
    /// The old cell.
    pub old: CellName,
    /// The new cell (its configuration can read differently across
    /// toolchains: a pinned line against an own one).
    pub new: CellName,
    /// Old verdict.
    pub from: Verdict,
    /// New verdict.
    pub to: Verdict,
    /// Whether each met its expectation.
    pub met: (bool, bool),
    /// The numbers behind each.
    pub explanation: (String, String),
}

/// A signal whose estimate left both intervals: the old value is outside
/// the new interval and the new value outside the old one.
#[derive(Clone, Debug, Serialize)]
pub struct Moved {
    /// The cell (as the new set names it).
    pub cell: CellName,
    /// `buggy` or `fixed`.
    pub variant: String,
    /// The signal.
    pub signal: String,
    /// Old estimate and 95% interval.
    pub old: (f64, f64, f64),
    /// New estimate and 95% interval.
    pub new: (f64, f64, f64),
    /// The unit.
    pub unit: String,
}

/// Two result sets compared.
#[derive(Clone, Debug, Serialize)]
pub struct Diff {
    /// How cells were matched.
    pub matching: Matching,
    /// Cells in both sets.
    pub compared: usize,
    /// Pairs whose verdict changed.
    pub changed: Vec<Changed>,
    /// Cells only the old set has.
    pub only_old: Vec<CellName>,
    /// Cells only the new set has.
    pub only_new: Vec<CellName>,
    /// Signals that moved beyond both intervals (verdict unchanged or not).
    pub moved: Vec<Moved>,
}

/// The configuration part of a cell's name; `own_line`: write the go line
/// as `own` where it is the toolchain's; `with_go`: name the toolchain.
fn config(r: &CellResult, with_go: bool, own_line: bool) -> String {
    let view =
        crate::cell::View { pattern: false, go: with_go, own_line, knobs_always: true, ..crate::cell::View::LABEL };
    r.config.describe(view)
}

fn name(r: &CellResult, with_go: bool, own_line: bool) -> CellName {
    CellName { pattern: r.config.pattern.to_string(), config: config(r, with_go, own_line) }
}

/// Compares `old` with `new` (see the module's doc for which cells are the
/// same cell).
pub fn compare(old: &[CellResult], new: &[CellResult]) -> Diff {
    // A skipped cell was not run: it has no verdict to compare, so a cell
    // run on one side only reads as "only in" that side, as before the
    // skipped were reported.
    let ran = |rs: &[CellResult]| -> Vec<CellResult> {
        rs.iter().filter(|r| r.verdict != crate::verdict::Verdict::Skipped).cloned().collect()
    };
    let (old, new) = (&ran(old)[..], &ran(new)[..]);
    let gos = |rs: &[CellResult]| rs.iter().map(|r| r.config.go).collect::<BTreeSet<_>>();
    let (go_old, go_new) = (gos(old), gos(new));
    let matching = if go_old.len() == 1 && go_new.len() == 1 && go_old != go_new {
        Matching::AcrossToolchains
    } else {
        Matching::SameToolchains
    };
    let with_go = matching == Matching::SameToolchains;
    // Keys: the primary (own line where it is the toolchain's) and, across
    // toolchains, the explicit line.
    let index = |rs: &[CellResult], own: bool| -> HashMap<CellName, usize> {
        rs.iter().enumerate().map(|(i, r)| (name(r, with_go, own), i)).collect()
    };
    let (old_own, old_explicit) = (index(old, true), index(old, false));
    let (new_own, new_explicit) = (index(new, true), index(new, false));
    let partner = |r: &CellResult, own: &HashMap<CellName, usize>, explicit: &HashMap<CellName, usize>| {
        own.get(&name(r, with_go, true))
            .or_else(|| if with_go { None } else { explicit.get(&name(r, with_go, false)) })
            .copied()
    };
    let mut pairs: BTreeSet<(usize, usize)> = BTreeSet::new();
    let mut only_new = Vec::new();
    for (j, r) in new.iter().enumerate() {
        match partner(r, &old_own, &old_explicit) {
            Some(i) => {
                pairs.insert((i, j));
            }
            None => only_new.push(name(r, with_go, true)),
        }
    }
    let mut only_old = Vec::new();
    for (i, r) in old.iter().enumerate() {
        if pairs.iter().any(|&(a, _)| a == i) {
            continue;
        }
        match partner(r, &new_own, &new_explicit) {
            Some(j) => {
                pairs.insert((i, j));
            }
            None => only_old.push(name(r, with_go, true)),
        }
    }
    let mut changed = Vec::new();
    let mut moved = Vec::new();
    for &(i, j) in &pairs {
        let (a, b) = (&old[i], &new[j]);
        if a.verdict != b.verdict {
            changed.push(Changed {
                old: name(a, with_go, true),
                new: name(b, with_go, true),
                from: a.verdict,
                to: b.verdict,
                met: (a.met, b.met),
                explanation: (a.explanation.clone(), b.explanation.clone()),
            });
        }
        for (va, vb) in [(&a.buggy, &b.buggy), (&a.fixed, &b.fixed)] {
            if let (Some(va), Some(vb)) = (va, vb) {
                moved.extend(moved_signals(va, vb).into_iter().map(|mut m| {
                    m.cell = name(b, with_go, true);
                    m
                }));
            }
        }
    }
    only_old.sort();
    only_new.sort();
    changed.sort_by(|x, y| x.new.cmp(&y.new));
    Diff { matching, compared: pairs.len(), changed, only_old, only_new, moved }
}

/// The least relative difference that counts as a move, whatever the
/// intervals say.
pub const MOVE_FLOOR: f64 = 0.01;

fn moved_signals(a: &VariantResult, b: &VariantResult) -> Vec<Moved> {
    let mut out = Vec::new();
    for sa in &a.signals {
        let Some(sb) = b.signals.iter().find(|s| s.name == sa.name) else { continue };
        let (Some(ea), Some(eb)) = (&sa.estimate, &sb.estimate) else { continue };
        // An unbounded end (infinite, or null in JSON: NaN) never excludes.
        let outside = |v: f64, lo: f64, hi: f64| v < lo || v > hi;
        // Zero-width intervals (a rate of one trial, an exact count) and
        // rounding (a Wilson bound of 5.6e-17 above a rate of 0) must not
        // make a move of nothing: the values must differ by more than
        // MOVE_FLOOR of the larger.
        let material = (ea.value - eb.value).abs() > MOVE_FLOOR * ea.value.abs().max(eb.value.abs());
        // A zero-width interval (a rate over one trial) is no interval: it
        // says nothing of how far the value may move between runs.
        let intervals = ea.hi > ea.lo && eb.hi > eb.lo;
        if material && intervals && outside(ea.value, eb.lo, eb.hi) && outside(eb.value, ea.lo, ea.hi) {
            out.push(Moved {
                cell: CellName { pattern: String::new(), config: String::new() },
                variant: a.variant.clone(),
                signal: sa.name.clone(),
                old: (ea.value, ea.lo, ea.hi),
                new: (eb.value, eb.lo, eb.hi),
                unit: sb.unit.clone(),
            });
        }
    }
    out
}

impl Diff {
    /// Whether any verdict changed.
    pub fn verdicts_changed(&self) -> bool {
        !self.changed.is_empty()
    }

    /// One line for people.
    pub fn summary(&self) -> String {
        format!(
            "{} cells compared ({}): {} verdicts changed, {} only in the old set, {} only in the new, {} signals moved beyond both intervals",
            self.compared,
            match self.matching {
                Matching::SameToolchains => "cell by cell",
                Matching::AcrossToolchains => "across toolchains, the go line read as the toolchain's own where it is",
            },
            self.changed.len(),
            self.only_old.len(),
            self.only_new.len(),
            self.moved.len()
        )
    }

    /// The terminal table.
    pub fn table(&self) -> String {
        let mut out = String::new();
        if !self.changed.is_empty() {
            let _ = writeln!(out, "VERDICT CHANGED");
            for c in &self.changed {
                let _ = writeln!(out, "  {}  {}: {} -> {}", c.new.pattern, pair_config(c), c.from, c.to);
                let _ = writeln!(out, "      old: {}", c.explanation.0);
                let _ = writeln!(out, "      new: {}", c.explanation.1);
            }
        }
        for (title, cells) in [("ONLY IN OLD", &self.only_old), ("ONLY IN NEW", &self.only_new)] {
            if !cells.is_empty() {
                let _ = writeln!(out, "{title}");
                for c in cells {
                    let _ = writeln!(out, "  {}  {}", c.pattern, c.config);
                }
            }
        }
        if !self.moved.is_empty() {
            let _ = writeln!(out, "SIGNALS MOVED (beyond both 95% intervals)");
            for m in &self.moved {
                let [pattern, config, variant, signal, old, new] = m.fields();
                let _ = writeln!(out, "  {pattern}  {config}  {variant} {signal}: {old} -> {new}");
            }
        }
        let _ = writeln!(out, "{}", self.summary());
        out
    }

    /// Markdown fit for a pull-request comment.
    pub fn markdown(&self) -> String {
        let mut out = String::from("### gcfuzz diff\n\n");
        let _ = writeln!(out, "{}\n", self.summary());
        if !self.changed.is_empty() {
            out.push_str("| pattern | configuration | old | new | numbers (new) |\n|---|---|---|---|---|\n");
            for c in &self.changed {
                let _ = writeln!(
                    out,
                    "| {} | {} | {}{} | **{}**{} | {} |",
                    c.new.pattern,
                    pair_config(c),
                    c.from,
                    if c.met.0 { "" } else { " (unexpected)" },
                    c.to,
                    if c.met.1 { "" } else { " (unexpected)" },
                    c.explanation.1.replace('|', "\\|")
                );
            }
            out.push('\n');
        }
        for (title, cells) in [("Only in the old set", &self.only_old), ("Only in the new set", &self.only_new)] {
            if !cells.is_empty() {
                let _ = writeln!(out, "<details><summary>{title} ({})</summary>\n", cells.len());
                for c in cells {
                    let _ = writeln!(out, "- `{}` {}", c.pattern, c.config);
                }
                out.push_str("\n</details>\n\n");
            }
        }
        if !self.moved.is_empty() {
            let _ = writeln!(
                out,
                "<details><summary>Signals moved beyond both intervals ({})</summary>\n",
                self.moved.len()
            );
            out.push_str("| pattern | configuration | variant | signal | old | new |\n|---|---|---|---|---|---|\n");
            for m in &self.moved {
                let _ = writeln!(out, "| {} |", m.fields().join(" | "));
            }
            out.push_str("\n</details>\n");
        }
        out
    }
}

impl Moved {
    /// Pattern, configuration, variant, signal, old and new estimates.
    fn fields(&self) -> [String; 6] {
        [
            self.cell.pattern.clone(),
            self.cell.config.clone(),
            self.variant.clone(),
            self.signal.clone(),
            estimate(self.old, ""),
            estimate(self.new, &self.unit),
        ]
    }
}

/// A changed pair's configuration: one, or both where they read
/// differently (a pinned line against an own one).
fn pair_config(c: &Changed) -> String {
    if c.old.config == c.new.config {
        c.new.config.clone()
    } else {
        format!("{} (old: {})", c.new.config, c.old.config)
    }
}

fn estimate((v, lo, hi): (f64, f64, f64), unit: &str) -> String {
    let unit = if unit.is_empty() { String::new() } else { format!(" {unit}") };
    format!("{} [{}, {}]{unit}", fmt_num(v), fmt_num(lo), fmt_num(hi))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oracle::SignalResult;
    use crate::stats::Estimate;
    use crate::verdict::Presence;
    use crate::version::GoVersion;

    fn cell(pattern: &str, go: &str, line: &str, godebug: Option<&str>, verdict: Verdict, kept: f64) -> CellResult {
        let signal = |v: f64| SignalResult {
            name: "kept".into(),
            metric: "heap_live".into(),
            role: crate::template::Role::Symptom,
            estimate: Some(Estimate { value: v, lo: v * 0.9, hi: v * 1.1 + 0.01 }),
            unit: "B/op".into(),
            threshold: 1.0,
            status: if v > 1.0 { Presence::Present } else { Presence::Absent },
            n: 8,
            trend_p: None,
            note: None,
        };
        let variant = |name: &str, v: f64| VariantResult {
            variant: name.into(),
            status: if v > 1.0 { Presence::Present } else { Presence::Absent },
            signals: vec![signal(v)],
            crash: None,
            trials: 1,
            crashed_trials: 0,
            rounds: 8,
            wall_ms: 1,
        };
        let go: GoVersion = go.parse().unwrap();
        CellResult {
            cell: format!("{pattern}|{go}|{line}"),
            config: crate::cell::CellConfig {
                pattern: pattern.into(),
                go,
                go_line: GoVersion::parse_line(line).unwrap(),
                knobs: crate::knobs::Knobs { godebug: godebug.map(String::from), ..Default::default() },
                stress: Default::default(),
                goexperiment: None,
                params: Default::default(),
                overrides: Default::default(),
                rounds: 8,
                trials: 1,
                backend: crate::cell::BackendKind::Native,
            },
            seed_bug: None,
            early_stop: false,
            buggy: Some(variant("buggy", kept)),
            fixed: Some(variant("fixed", 0.0)),
            verdict,
            expected: Some(verdict),
            met: true,
            why: String::new(),
            explanation: format!("kept {kept}"),
            detectors: vec![],
            error: None,
            evidence: vec![],
            runs: vec![],
        }
    }

    #[test]
    fn across_two_toolchains_own_lines_pair_and_a_pinned_line_pairs_with_the_same_own_line() {
        use Verdict::*;
        let old = [
            cell("15-t", "1.22.10", "1.22", None, Reproduced, 3.0),
            cell("02-s", "1.22.10", "1.22", None, Reproduced, 1000.0),
            cell("12-l", "1.22.10", "1.21", None, Reproduced, 0.8),
        ];
        let new = [
            cell("15-t", "1.23.9", "1.23", None, NotReproduced, 0.05),
            cell("15-t", "1.23.9", "1.22", None, Reproduced, 3.0),
            cell("15-t", "1.23.9", "1.23", Some("asynctimerchan=1"), Reproduced, 3.0),
            cell("02-s", "1.23.9", "1.23", None, Reproduced, 1001.0),
            cell("12-l", "1.23.9", "1.21", None, Reproduced, 0.8),
        ];
        let d = compare(&old, &new);
        assert_eq!(d.matching, Matching::AcrossToolchains);
        assert_eq!(d.compared, 4, "15 own, 15 pinned 1.22 (with 1.22's own), 02, 12 pinned 1.21");
        assert_eq!(d.changed.len(), 1, "{d:#?}");
        let c = &d.changed[0];
        assert_eq!((c.new.pattern.as_str(), c.new.config.as_str()), ("15-t", "line own -"));
        assert_eq!((c.from, c.to), (Reproduced, NotReproduced));
        assert_eq!(d.only_new.len(), 1);
        assert_eq!(d.only_new[0].config, "line own GODEBUG=asynctimerchan=1");
        assert!(d.only_old.is_empty());
        // 15's buggy estimate moved (3 → 0.05); 02's did not (1000 and 1001
        // overlap).
        let moved: Vec<(&str, &str)> = d.moved.iter().map(|m| (m.cell.pattern.as_str(), m.variant.as_str())).collect();
        assert_eq!(moved, [("15-t", "buggy")], "{:#?}", d.moved);
        assert!(d.verdicts_changed());
        let md = d.markdown();
        assert!(md.contains("| 15-t | line own - | reproduced | **not-reproduced** | kept 0.05 |"), "{md}");
        assert!(d.table().contains("15-t  line own -: reproduced -> not-reproduced"), "{}", d.table());
        let json = serde_json::to_value(&d).unwrap();
        assert_eq!(json["changed"][0]["to"], "not-reproduced");
        assert_eq!(json["matching"], "across-toolchains");
    }

    #[test]
    fn degenerate_intervals_and_rounding_are_no_move() {
        use Verdict::*;
        let a = cell("07-c", "1.22.10", "1.22", None, NotReproduced, 0.0);
        let mut b = a.clone();
        let set = |c: &mut CellResult, value: f64, lo: f64, hi: f64| {
            c.buggy.as_mut().unwrap().signals[0].estimate = Some(Estimate { value, lo, hi });
        };
        let mut a2 = a.clone();
        // A rate of 0 with a Wilson bound a rounding error above it.
        set(&mut a2, 0.0, 5.551e-17, 0.56);
        set(&mut b, 0.0, 5.551e-17, 0.56);
        assert!(compare(std::slice::from_ref(&a2), std::slice::from_ref(&b)).moved.is_empty());
        // Zero-width intervals (a rate over one trial) are no intervals,
        // however far apart the values.
        set(&mut a2, 3.0, 3.0, 3.0);
        set(&mut b, 1.0, 1.0, 1.0);
        assert!(compare(std::slice::from_ref(&a2), std::slice::from_ref(&b)).moved.is_empty());
        // Disjoint intervals, values 0.5% apart: no move; 10%: a move.
        set(&mut a2, 3.0, 2.9999, 3.0001);
        set(&mut b, 2.985, 2.9849, 2.9851);
        assert!(compare(std::slice::from_ref(&a2), std::slice::from_ref(&b)).moved.is_empty());
        set(&mut b, 2.7, 2.69, 2.71);
        assert_eq!(compare(&[a2], &[b]).moved.len(), 1);
    }

    #[test]
    fn on_the_same_toolchains_cells_match_exactly() {
        use Verdict::*;
        let a = [
            cell("02-s", "1.22.10", "1.22", None, Reproduced, 10.0),
            cell("02-s", "1.23.9", "1.23", None, Reproduced, 10.0),
        ];
        let mut b = a.clone();
        b[1].verdict = FixFails;
        let d = compare(&a, &b);
        assert_eq!((d.matching, d.compared, d.changed.len()), (Matching::SameToolchains, 2, 1));
        assert_eq!(d.changed[0].new.config, "go1.23.9 line own -");
        let d = compare(&a, &a[..1]);
        assert_eq!((d.changed.len(), d.only_old.len(), d.only_new.len()), (0, 1, 0));
        assert!(!d.verdicts_changed() && d.moved.is_empty());
    }
}
