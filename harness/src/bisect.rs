//! `gcfuzz bisect`: the releases (or go lines) where a cell's verdict, or a
//! named signal, changes, found by binary search over an ordered line of
//! cells that differ in one axis only.
//!
//! Both ends are judged first. A segment whose ends differ is split at its
//! middle until the ends are neighbours: a boundary. Every segment whose
//! ends differ is searched, so a verdict that changes twice (A, B, C) gives
//! two boundaries; a change that comes back inside a segment whose ends
//! agree (A, B, A) is not seen (the search judges what it visits, not every
//! point). Native runs are noisy, so each boundary's two cells are judged
//! again at full rounds and trials (no early stopping) before it is
//! reported: a boundary that does not hold on that re-judgement is
//! reported as unstable, not as a change.
//!
//! The search knows nothing of Go: `judge` turns a cell into a result (the
//! command line runs a one-cell campaign, which installs a toolchain only
//! when a cell on it is judged; tests use the synthetic backend).

use crate::cell::{CellConfig, Role};
use crate::oracle::{SignalResult, VariantResult, fmt_num};
use crate::results::CellResult;
use serde::Serialize;
use std::collections::BTreeMap;

/// Which judgement of a cell.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Pass {
    /// The search's: the run's own settings (early stopping on).
    Search,
    /// The re-judgement of a boundary's cells: full rounds and trials.
    Recheck,
}

/// What differs between two judged cells: the verdict, or a named signal
/// of either variant whose two 95% intervals do not overlap.
pub fn differs(a: &CellResult, b: &CellResult, signal: Option<&str>) -> Option<String> {
    if a.verdict != b.verdict {
        return Some(format!("verdict {} -> {}", a.verdict, b.verdict));
    }
    let name = signal?;
    for role in Role::BOTH {
        let (Some(x), Some(y)) = (signal_of(a, role, name), signal_of(b, role, name)) else { continue };
        let (Some(ex), Some(ey)) = (&x.estimate, &y.estimate) else { continue };
        if ex.hi < ey.lo || ey.hi < ex.lo {
            return Some(format!(
                "{role} {name} {} [{}, {}] -> {} [{}, {}] {}",
                fmt_num(ex.value),
                fmt_num(ex.lo),
                fmt_num(ex.hi),
                fmt_num(ey.value),
                fmt_num(ey.lo),
                fmt_num(ey.hi),
                x.unit
            ));
        }
    }
    None
}

fn variant(r: &CellResult, role: Role) -> Option<&VariantResult> {
    match role {
        Role::Buggy => r.buggy.as_ref(),
        Role::Fixed => r.fixed.as_ref(),
    }
}

fn signal_of<'r>(r: &'r CellResult, role: Role, name: &str) -> Option<&'r SignalResult> {
    variant(r, role)?.signals.iter().find(|s| s.name == name)
}

/// A change between two neighbouring cells of the line.
#[derive(Clone, Debug, Serialize)]
pub struct Boundary {
    /// The point before it (a Go version or a go line, as the line names
    /// its points).
    pub before: String,
    /// The point after it.
    pub after: String,
    /// What changed, as the search saw it.
    pub change: String,
    /// What the re-judgement at full rounds and trials saw (`None`: the
    /// two cells agreed then).
    pub recheck: Option<String>,
    /// Whether the re-judgement saw the same change.
    pub stable: bool,
    /// The verdicts of the search, before and after.
    pub verdicts: (String, String),
    /// The verdicts of the re-judgement, before and after.
    pub recheck_verdicts: (String, String),
}

/// One judged point.
#[derive(Clone, Debug, Serialize)]
pub struct Point {
    /// The point's name (`1.23.1`, or a go line `1.22`).
    pub at: String,
    /// The verdict of the search's judgement.
    pub verdict: String,
    /// Judged again at full rounds and trials (next to a boundary).
    pub rechecked: Option<String>,
    /// The whole result of the search's judgement.
    #[serde(skip)]
    pub result: CellResult,
}

/// What a bisection found.
#[derive(Clone, Debug, Serialize)]
pub struct Bisection {
    /// The axis bisected: `toolchain` or `go-line`.
    pub over: String,
    /// Every point of the line, in order (judged or not).
    pub line: Vec<String>,
    /// The points judged, in the line's order.
    pub visited: Vec<Point>,
    /// The boundaries, in the line's order, stable or not.
    pub boundaries: Vec<Boundary>,
    /// Seconds it took.
    pub seconds: f64,
}

impl Bisection {
    /// Whether it found a change that held on re-judgement.
    pub fn found(&self) -> bool {
        self.boundaries.iter().any(|b| b.stable)
    }
}

/// Bisects `cells` (ordered, one axis apart; `names` names each point)
/// for changes of the verdict or of `signal`. `judge` judges a cell; it is
/// called once per visited point and pass.
pub fn bisect<E>(
    over: &str,
    cells: &[CellConfig],
    names: &[String],
    signal: Option<&str>,
    judge: &mut dyn FnMut(&CellConfig, Pass) -> Result<CellResult, E>,
) -> Result<Bisection, E> {
    let start = std::time::Instant::now();
    let n = cells.len();
    let mut seen: BTreeMap<usize, CellResult> = BTreeMap::new();
    let mut at = |i: usize, seen: &mut BTreeMap<usize, CellResult>| -> Result<CellResult, E> {
        if let Some(r) = seen.get(&i) {
            return Ok(r.clone());
        }
        let r = judge(&cells[i], Pass::Search)?;
        seen.insert(i, r.clone());
        Ok(r)
    };
    let mut edges: Vec<(usize, usize, String)> = Vec::new();
    if n >= 2 {
        // Segments whose ends differ, searched depth first, left first.
        let mut todo = vec![(0usize, n - 1)];
        while let Some((lo, hi)) = todo.pop() {
            let (a, b) = (at(lo, &mut seen)?, at(hi, &mut seen)?);
            let Some(change) = differs(&a, &b, signal) else { continue };
            if hi == lo + 1 {
                edges.push((lo, hi, change));
                continue;
            }
            let mid = lo + (hi - lo) / 2;
            todo.push((mid, hi));
            todo.push((lo, mid));
        }
    } else if n == 1 {
        at(0, &mut seen)?;
    }
    edges.sort_by_key(|e| e.0);
    let mut rechecked: BTreeMap<usize, CellResult> = BTreeMap::new();
    let mut boundaries = Vec::new();
    for (lo, hi, change) in edges {
        for i in [lo, hi] {
            if let std::collections::btree_map::Entry::Vacant(e) = rechecked.entry(i) {
                e.insert(judge(&cells[i], Pass::Recheck)?);
            }
        }
        let (a, b) = (&rechecked[&lo], &rechecked[&hi]);
        let recheck = differs(a, b, signal);
        // Stable: the re-judgement sees a change, and the same verdicts
        // at both ends as the search did.
        let same_ends = a.verdict == seen[&lo].verdict && b.verdict == seen[&hi].verdict;
        boundaries.push(Boundary {
            before: names[lo].clone(),
            after: names[hi].clone(),
            change,
            stable: recheck.is_some() && same_ends,
            recheck,
            verdicts: (seen[&lo].verdict.to_string(), seen[&hi].verdict.to_string()),
            recheck_verdicts: (a.verdict.to_string(), b.verdict.to_string()),
        });
    }
    let visited = seen
        .into_iter()
        .map(|(i, r)| Point {
            at: names[i].clone(),
            verdict: r.verdict.to_string(),
            rechecked: rechecked.get(&i).map(|x| x.verdict.to_string()),
            result: r,
        })
        .collect();
    Ok(Bisection {
        over: over.to_string(),
        line: names.to_vec(),
        visited,
        boundaries,
        seconds: start.elapsed().as_secs_f64(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cell(at: &str) -> CellConfig {
        serde_json::from_value(serde_json::json!({
            "pattern": "15-t", "go": at, "go_line": "1.22", "knobs": {}, "params": {}, "nominal_rounds": 10, "trials": 1
        }))
        .unwrap()
    }

    /// A result of `verdict`, its buggy variant's `slope` signal at `value`
    /// with the interval `value ± 1`.
    fn result(c: &CellConfig, verdict: &str, value: f64) -> CellResult {
        let buggy = serde_json::json!({
            "variant": "buggy", "status": "absent", "trials": 1, "crashed_trials": 0, "rounds": 10, "wall_ms": 1,
            "signals": [{"name": "slope", "metric": "heap_live", "role": "symptom", "unit": "B/round", "threshold": 1e9,
                         "status": "absent", "n": 10, "estimate": {"value": value, "lo": value - 1.0, "hi": value + 1.0}}]
        });
        let mut r: CellResult = serde_json::from_value(serde_json::json!({
            "pattern": "15-t", "go": "1.22.10", "go_line": "1.22", "knobs": {}, "params": {}, "buggy": buggy,
            "fixed": null, "verdict": verdict, "expected": null, "met": true, "why": "", "explanation": ""
        }))
        .unwrap();
        r.config = c.clone();
        r
    }

    fn line(n: usize) -> (Vec<CellConfig>, Vec<String>) {
        let names: Vec<String> = (0..n).map(|i| format!("1.{}.{}", 21 + i / 10, i % 10)).collect();
        (names.iter().map(|n| cell(n)).collect(), names)
    }

    /// Bisects `n` points whose verdict is `at(i)`, the re-judgement's
    /// `again(i)`; returns the bisection and the search's judgements.
    fn run(
        n: usize,
        signal: Option<&str>,
        at: impl Fn(usize) -> (&'static str, f64),
        again: impl Fn(usize) -> (&'static str, f64),
    ) -> (Bisection, usize) {
        let (cells, names) = line(n);
        let mut searched = 0;
        let mut judge = |c: &CellConfig, pass: Pass| -> Result<CellResult, ()> {
            let i = cells.iter().position(|x| x == c).unwrap();
            let (v, x) = if pass == Pass::Search { at(i) } else { again(i) };
            searched += usize::from(pass == Pass::Search);
            Ok(result(c, v, x))
        };
        let b = bisect("toolchain", &cells, &names, signal, &mut judge).unwrap();
        (b, searched)
    }

    #[test]
    fn one_change_in_26_releases_is_found_in_log2_judgements_and_re_judged() {
        let verdict = |i: usize| (if i < 9 { "reproduced" } else { "not-reproduced" }, 0.0);
        let (b, searched) = run(26, None, verdict, verdict);
        assert_eq!(b.boundaries.len(), 1);
        let x = &b.boundaries[0];
        assert_eq!((x.before.as_str(), x.after.as_str(), x.stable), ("1.21.8", "1.21.9", true));
        assert_eq!(x.change, "verdict reproduced -> not-reproduced");
        // ⌈log2 26⌉ = 5 splits plus both ends at most; each judged once.
        assert!(searched <= 5 + 2, "{searched} judgements");
        assert_eq!(b.visited.len(), searched);
        assert_eq!(b.visited.iter().filter(|p| p.rechecked.is_some()).count(), 2);
        assert!(b.found());
    }

    #[test]
    fn a_verdict_that_changes_twice_gives_two_boundaries_and_none_when_the_ends_agree() {
        let verdict =
            |i: usize| (["crash", "reproduced", "not-reproduced"][usize::from(i >= 4) + usize::from(i >= 11)], 0.0);
        let (b, _) = run(16, None, verdict, verdict);
        let found: Vec<(&str, &str)> = b.boundaries.iter().map(|x| (x.before.as_str(), x.after.as_str())).collect();
        assert_eq!(found, [("1.21.3", "1.21.4"), ("1.22.0", "1.22.1")]);
        // Same verdict at both ends: two judgements, no change.
        let (b, searched) = run(16, None, |_| ("reproduced", 0.0), |_| ("reproduced", 0.0));
        assert_eq!((b.boundaries.len(), searched, b.found()), (0, 2, false));
        assert!(super::super::report::bisect::table(&b).contains("no change: both ends read reproduced"));
    }

    #[test]
    fn a_change_that_does_not_hold_when_re_judged_is_unstable() {
        let search = |i: usize| (if i < 3 { "reproduced" } else { "not-reproduced" }, 0.0);
        let (b, _) = run(8, None, search, |_| ("reproduced", 0.0));
        assert_eq!(b.boundaries.len(), 1);
        let x = &b.boundaries[0];
        assert!(!x.stable && x.recheck.is_none(), "{x:?}");
        assert_eq!(x.recheck_verdicts, ("reproduced".to_string(), "reproduced".to_string()));
        assert!(!b.found());
        assert!(super::super::report::bisect::table(&b).contains("UNSTABLE"));
    }

    #[test]
    fn a_named_signal_moving_past_both_intervals_is_a_change_and_overlapping_ones_are_not() {
        // The verdict never changes; the signal steps from 0 to 10 at 5.
        let step = |i: usize| ("not-reproduced", if i < 5 { 0.0 } else { 10.0 });
        let (b, _) = run(12, Some("slope"), step, step);
        assert_eq!(b.boundaries.len(), 1);
        assert_eq!(b.boundaries[0].change, "buggy slope 0 [-1.00, 1.00] -> 10.00 [9.00, 11.00] B/round");
        assert_eq!(b.boundaries[0].after, "1.21.5");
        // Without --signal the same line has no change; a step of 1.5
        // (intervals overlap) is none either.
        assert!(run(12, None, step, step).0.boundaries.is_empty());
        let small = |i: usize| ("not-reproduced", if i < 5 { 0.0 } else { 1.5 });
        assert!(run(12, Some("slope"), small, small).0.boundaries.is_empty());
    }

    /// The whole path on the synthetic backend: a one-cell campaign per
    /// point, whose series leak before "1.23" in the search and at every
    /// point when judged again at full rounds (early stopping lets a run go
    /// on to twice its rounds; the re-judgement runs exactly its rounds).
    #[test]
    fn on_the_synthetic_backend_a_boundary_the_re_judgement_does_not_see_is_unstable() {
        use crate::campaign::{Campaign, Options, run as run_campaign};
        use crate::synthetic::{Series, SyntheticBackend, SyntheticBuilder};
        let yaml = r#"
title: t
family: reachability
summary: synthetic
common: [c.go]
variants: {buggy: {about: leaks}, fixed: {about: does not}}
signals:
  - {name: goroutines_per_round, metric: goroutines, stat: slope, present_above: 0.5, unit: goroutines/round}
run: {rounds: 10, warmup: 2}
expect:
  - verdict: reproduced
"#;
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join("c.go"), "package scenario\n").unwrap();
        let p = crate::template::parse_pattern(yaml, std::path::Path::new("p.yaml"), "15-t", d.path()).unwrap();
        let builder = SyntheticBuilder::default();
        let backend = SyntheticBackend::new(|spec: &crate::run::RunSpec| {
            let old = spec.program.to_string_lossy().contains("go1.22");
            let recheck = spec.rounds == 10;
            let leak = if spec.scenario.ends_with("/buggy") && (old || recheck) { 2.0 } else { 0.0 };
            Series::rounds(spec.rounds, move |r| vec![("goroutines", 3.0 + leak * r as f64), ("heap_live", 1e6)])
        });
        let spec = |go: &str| crate::matrix::MatrixSpec {
            go: vec![go.parse().unwrap()],
            backends: vec![crate::cell::BackendKind::Synthetic],
            ..Default::default()
        };
        let names: Vec<String> = ["1.22.10", "1.23.1", "1.23.9", "1.24.11"].map(String::from).to_vec();
        let cells: Vec<CellConfig> =
            names.iter().map(|n| crate::matrix::plan(&[&p], &spec(n)).unwrap().cells.remove(0)).collect();
        let mut judge = |c: &CellConfig, pass: Pass| -> Result<CellResult, crate::campaign::CampaignError> {
            let plan = crate::matrix::Plan { cells: vec![c.clone()], skipped: Vec::new() };
            let options =
                Options { jobs: 1, early_stop: pass == Pass::Search, mem_budget: 1 << 40, ..Options::default() };
            let campaign = Campaign::new(vec![&p], plan, &builder, vec![&backend], options);
            Ok(run_campaign(&campaign, &mut |_| {})?.results.remove(0))
        };
        let b = bisect("toolchain", &cells, &names, None, &mut judge).unwrap();
        let verdicts: Vec<(&str, &str, Option<&str>)> =
            b.visited.iter().map(|p| (p.at.as_str(), p.verdict.as_str(), p.rechecked.as_deref())).collect();
        assert_eq!(
            verdicts,
            [
                ("1.22.10", "reproduced", Some("reproduced")),
                ("1.23.1", "not-reproduced", Some("reproduced")),
                ("1.24.11", "not-reproduced", None)
            ]
        );
        assert_eq!(b.boundaries.len(), 1);
        assert!(!b.boundaries[0].stable && !b.found(), "{:?}", b.boundaries);
        let json: serde_json::Value = serde_json::from_str(&crate::report::bisect::json(&b)).unwrap();
        assert_eq!(json["boundaries"][0]["stable"], false);
        assert_eq!(json["boundaries"][0]["before"], "1.22.10");
        assert_eq!(json["visited"].as_array().unwrap().len(), 3);
    }
}
