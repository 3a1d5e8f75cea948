//! Calibration: is the oracle stable, and does it ever see a difference
//! between a variant and itself?
//!
//! `gcfuzz calibrate` runs the same plan N times. Per cell it reports
//! whether the N verdicts are identical, and an A/A check: every pair of
//! independent runs of the *same* variant (fixed vs fixed, buggy vs buggy)
//! goes through the differential rule as if one were buggy and the other
//! fixed; a pair that comes out `reproduced` or `fix-fails` with one side
//! absent is a false "differs". The oracle must never produce one. Pure:
//! it only aggregates results.

use crate::results::CellResult;
use crate::verdict::{Presence, Verdict};
use serde::Serialize;
use std::collections::BTreeMap;

/// One cell's calibration.
#[derive(Clone, Debug, Serialize)]
pub struct CellCalibration {
    /// `pattern go line knobs`.
    pub cell: String,
    /// Each run's verdict, in order.
    pub verdicts: Vec<Verdict>,
    /// Whether all runs gave the same verdict.
    pub stable: bool,
    /// Each run's buggy status.
    pub buggy: Vec<Presence>,
    /// Each run's fixed status.
    pub fixed: Vec<Presence>,
    /// A/A pairs compared (per variant: n·(n−1)/2).
    pub aa_pairs: usize,
    /// A/A pairs that came out as a difference (present vs absent).
    pub aa_differs: usize,
}

/// Whether a pair of statuses of the same variant reads as a difference:
/// one present and one absent, which the differential rule would call
/// `reproduced` (or `fix-fails`, the other way round).
pub fn differs(a: Presence, b: Presence) -> bool {
    matches!((a, b), (Presence::Present, Presence::Absent) | (Presence::Absent, Presence::Present))
}

/// A cell's name, with everything that makes it another cell: the
/// toolchain, go line, knobs, GOEXPERIMENT, stress, the parameters the
/// plan set, rounds, trials and the backend (two cells of one pattern that
/// differ in any of them are never pooled).
fn label(r: &CellResult) -> String {
    r.config.describe(crate::cell::View::FULL)
}

/// Aggregates `runs` (each a campaign's results over the same plan).
pub fn aggregate(runs: &[Vec<CellResult>]) -> Vec<CellCalibration> {
    let mut by_cell: BTreeMap<String, Vec<&CellResult>> = BTreeMap::new();
    let mut order = Vec::new();
    for run in runs {
        for r in run {
            let key = label(r);
            if !by_cell.contains_key(&key) {
                order.push(key.clone());
            }
            by_cell.entry(key).or_default().push(r);
        }
    }
    order
        .into_iter()
        .map(|cell| {
            let rs = &by_cell[&cell];
            let verdicts: Vec<Verdict> = rs.iter().map(|r| r.verdict).collect();
            let status = |v: &Option<crate::oracle::VariantResult>| {
                v.as_ref().map(|v| v.status).unwrap_or(Presence::Inconclusive)
            };
            let buggy: Vec<Presence> = rs.iter().map(|r| status(&r.buggy)).collect();
            let fixed: Vec<Presence> = rs.iter().map(|r| status(&r.fixed)).collect();
            let mut pairs = 0;
            let mut bad = 0;
            for side in [&buggy, &fixed] {
                for i in 0..side.len() {
                    for j in i + 1..side.len() {
                        pairs += 1;
                        if differs(side[i], side[j]) {
                            bad += 1;
                        }
                    }
                }
            }
            CellCalibration {
                cell,
                stable: verdicts.windows(2).all(|w| w[0] == w[1]),
                verdicts,
                buggy,
                fixed,
                aa_pairs: pairs,
                aa_differs: bad,
            }
        })
        .collect()
}

/// The calibration table.
pub fn table(cells: &[CellCalibration]) -> String {
    let mut out = String::from("CELL | RUNS | VERDICTS | A/A PAIRS | A/A DIFFERS\n");
    for c in cells {
        let mut counts: Vec<(Verdict, usize)> = Vec::new();
        for v in &c.verdicts {
            match counts.iter_mut().find(|(k, _)| k == v) {
                Some(e) => e.1 += 1,
                None => counts.push((*v, 1)),
            }
        }
        let verdicts: Vec<String> = counts.iter().map(|(v, n)| format!("{n}x {v}")).collect();
        out.push_str(&format!(
            "{} | {} | {}{} | {} | {}\n",
            c.cell,
            c.verdicts.len(),
            verdicts.join(", "),
            if c.stable { "" } else { " (UNSTABLE)" },
            c.aa_pairs,
            c.aa_differs
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use Presence::*;

    #[test]
    fn only_present_against_absent_is_a_difference() {
        assert!(differs(Present, Absent));
        assert!(differs(Absent, Present));
        assert!(!differs(Present, Present));
        assert!(!differs(Absent, Absent));
        assert!(!differs(Present, Inconclusive));
        assert!(!differs(Crash, Absent));
    }

    fn cell(verdict: &str, buggy: &str, fixed: &str) -> CellResult {
        let v = |s: &str| serde_json::json!({"variant": "x", "status": s, "signals": [], "trials": 1, "crashed_trials": 0, "rounds": 5, "wall_ms": 1});
        serde_json::from_value(serde_json::json!({
            "pattern": "15-x", "seed_bug": 15, "go": "1.22.10", "go_line": "1.22", "knobs": {},
            "params": {}, "backend": "native", "buggy": v(buggy), "fixed": v(fixed), "verdict": verdict,
            "expected": "reproduced", "met": true, "why": "", "explanation": ""
        }))
        .unwrap()
    }

    #[test]
    fn cells_that_differ_in_goexperiment_params_or_backend_are_not_pooled() {
        let mut swiss = cell("reproduced", "present", "absent");
        swiss.cell = "03-x|go1.24.11|line1.24|-|n=1|rounds8|trials1|stress-".into();
        let mut old = swiss.clone();
        old.config.goexperiment = Some("noswissmap".into());
        let mut big = swiss.clone();
        big.config.params.insert("n".into(), "1000".into());
        let mut wasm = swiss.clone();
        wasm.config.backend = crate::cell::BackendKind::Wasm;
        let runs = vec![vec![swiss.clone(), old.clone(), big.clone(), wasm.clone()], vec![swiss, old, big, wasm]];
        let cells = aggregate(&runs);
        assert_eq!(cells.len(), 4, "{:#?}", cells.iter().map(|c| &c.cell).collect::<Vec<_>>());
        assert!(cells.iter().all(|c| c.verdicts.len() == 2));
        assert!(cells[1].cell.contains("GOEXPERIMENT=noswissmap") && cells[2].cell.contains("n=1000"));
        assert!(cells[3].cell.ends_with("backend:wasm"));
    }

    #[test]
    fn aggregates_stability_and_aa_pairs() {
        let runs = vec![
            vec![cell("reproduced", "present", "absent")],
            vec![cell("reproduced", "present", "absent")],
            vec![cell("inconclusive", "present", "inconclusive")],
        ];
        let c = &aggregate(&runs)[0];
        assert!(!c.stable);
        assert_eq!(c.aa_pairs, 6, "3 pairs per variant");
        assert_eq!(c.aa_differs, 0, "inconclusive against absent is not a difference");
        let runs = vec![vec![cell("reproduced", "present", "absent")], vec![cell("fix-fails", "present", "present")]];
        let c = &aggregate(&runs)[0];
        assert_eq!(c.aa_differs, 1, "fixed absent in one run and present in the other");
        assert!(table(&aggregate(&runs)).contains("1x reproduced, 1x fix-fails (UNSTABLE) | 2 | 1"));
    }
}
