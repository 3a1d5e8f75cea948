//! The floor of a result set: for each cell, the least work its verdict
//! needed, found in hindsight from the runs it made (`gcfuzz floor`, for
//! `make bench`).
//!
//! For each variant the oracle is asked again on less of what was
//! measured: first on fewer trials (the first `t` of them, at full rounds),
//! then, with those trials, on each run cut after fewer rounds (the warm-up
//! and the first `k` rounds after it). A variant needs the least `t`, then
//! the least `k`, from which on every larger one gives the status the
//! whole run gave: a verdict that flips back and forth is not decided at
//! its first agreeing prefix. A run that did not end with its `done` line
//! (a crash, a hang, a kill at a cap) is taken whole.
//!
//! The cost of a run cut after round `r` is the probe's clock at that
//! round's sample plus the run's own start-up and exit (its wall time less
//! the probe's clock at `done`), so the floor charges process start-up
//! once per run like any real runner would. No online rule can know the
//! least prefix in advance; the floor is what a perfect one would pay.

use crate::oracle;
use crate::results::CellResult;
use crate::run::RunRecord;
use crate::template::Pattern;
use crate::verdict::Presence;
use serde::Serialize;
use std::collections::BTreeMap;

/// What one cell's verdict needed, and what its runs took.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct CellFloor {
    /// The cell's id.
    pub cell: String,
    /// Its pattern.
    pub pattern: String,
    /// Whether the pattern runs alone (`exclusive`): its runs cannot share
    /// the machine, so they do not divide by the cores.
    pub exclusive: bool,
    /// Per variant (buggy, fixed): what it needed.
    pub variants: Vec<VariantFloor>,
    /// Seconds the cell's runs took, as they ran (wall time, summed).
    pub ran_s: f64,
    /// Seconds its minimal runs would take (summed).
    pub minimal_s: f64,
}

/// What one variant needed.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct VariantFloor {
    /// The variant.
    pub variant: String,
    /// Its status on everything it ran.
    pub status: Presence,
    /// Trials it ran.
    pub trials: usize,
    /// The least trials that give the same status.
    pub trials_needed: usize,
    /// Rounds after the warm-up its longest run made.
    pub post_rounds: usize,
    /// The least rounds after the warm-up that give the same status (with
    /// `trials_needed` trials); every round when a run did not finish.
    pub post_rounds_needed: usize,
    /// Seconds of its minimal runs.
    pub minimal_s: f64,
}

/// The floor of one finished cell of `pattern`. A cell that did not run
/// (a failed build) has no variants and costs nothing.
pub fn cell_floor(pattern: &Pattern, r: &CellResult) -> CellFloor {
    floor_of(pattern, &r.cell, &r.config.params, &r.runs)
}

/// The floor of cell `cell` of `pattern` (parameters `params`) from its
/// runs.
fn floor_of(pattern: &Pattern, cell: &str, params: &BTreeMap<String, String>, runs: &[RunRecord]) -> CellFloor {
    let mut variants = Vec::new();
    for role in crate::cell::Role::BOTH {
        let mine: Vec<RunRecord> = runs.iter().filter(|run| run.role() == Some(role)).cloned().collect();
        if !mine.is_empty() {
            variants.push(variant_floor(pattern, params, role.name(), &mine));
        }
    }
    let ran_s = runs.iter().map(|run| run.outcome.wall_ms as f64 / 1000.0).sum();
    let minimal_s = variants.iter().map(|v| v.minimal_s).sum();
    CellFloor {
        cell: cell.to_string(),
        pattern: pattern.id.clone(),
        exclusive: pattern.run.exclusive,
        variants,
        ran_s,
        minimal_s,
    }
}

fn variant_floor(
    pattern: &Pattern,
    params: &BTreeMap<String, String>,
    name: &str,
    whole: &[RunRecord],
) -> VariantFloor {
    let warm = i64::from(pattern.run.warmup);
    let status_of = |records: &[RunRecord]| oracle::evaluate(pattern, params, name, records).status;
    let status = status_of(whole);
    // The least n in 1..=max from which on every larger n agrees.
    let least = |max: usize, agrees: &dyn Fn(usize) -> bool| -> usize {
        let mut need = max;
        for n in (1..max).rev() {
            if !agrees(n) {
                break;
            }
            need = n;
        }
        need
    };
    let trials_needed = least(whole.len(), &|t| status_of(&whole[..t]) == status);
    let chosen = &whole[..trials_needed];
    let post = |run: &RunRecord| run.samples.iter().filter(|s| s.round >= warm).count();
    let post_rounds = whole.iter().map(post).max().unwrap_or(0);
    let finished = chosen.iter().all(|run| run.done.is_some() && run.crash.is_none());
    let post_rounds_needed = if finished {
        let longest = chosen.iter().map(post).max().unwrap_or(0);
        least(longest, &|k| status_of(&chosen.iter().map(|run| cut(run, warm, k)).collect::<Vec<_>>()) == status)
    } else {
        post_rounds
    };
    let minimal_s = chosen
        .iter()
        .map(|run| if finished { cost_at(run, warm, post_rounds_needed) } else { run.outcome.wall_ms as f64 / 1000.0 })
        .sum();
    VariantFloor {
        variant: name.to_string(),
        status,
        trials: whole.len(),
        trials_needed,
        post_rounds,
        post_rounds_needed,
        minimal_s,
    }
}

/// `run` as if it had stopped after the warm-up and `k` rounds more.
fn cut(run: &RunRecord, warm: i64, k: usize) -> RunRecord {
    let mut short = run.clone();
    short.samples.retain(|s| s.round < warm + k as i64);
    short
}

/// Seconds `run` would have taken stopped after the warm-up and `k`
/// rounds more: the probe's clock at that sample plus the run's start-up
/// and exit.
fn cost_at(run: &RunRecord, warm: i64, k: usize) -> f64 {
    let wall = run.outcome.wall_ms as f64 / 1000.0;
    let clock = |s: &crate::probe::Sample| s.get("t_ns").map(|t| t / 1e9);
    let (Some(done), Some(last)) =
        (run.done.as_ref(), run.samples.iter().rfind(|s| s.round < warm + k as i64).and_then(clock))
    else {
        return wall;
    };
    let overhead = (wall - done.t_ns as f64 / 1e9).max(0.0);
    (last + overhead).min(wall)
}

/// The whole result set's floor, in seconds, on `cores` cores: builds
/// (`build_s`, compile time) and every cell's minimal runs over the cores
/// (`plain`, the issue's definition), and the same with exclusive cells'
/// runs counted whole, since they run alone (`exclusive_aware`).
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Floor {
    /// Cores divided by.
    pub cores: usize,
    /// Seconds of compiling.
    pub build_s: f64,
    /// Seconds of runs as they ran, summed.
    pub ran_s: f64,
    /// Seconds of minimal runs, summed.
    pub minimal_s: f64,
    /// Of those, the exclusive cells' seconds.
    pub minimal_exclusive_s: f64,
    /// (build + minimal) / cores.
    pub plain_s: f64,
    /// exclusive minimal + (build + other minimal) / cores.
    pub exclusive_aware_s: f64,
}

/// Adds up `cells` (see [`Floor`]).
pub fn total(cells: &[CellFloor], build_s: f64, cores: usize) -> Floor {
    let cores = cores.max(1);
    let minimal_s: f64 = cells.iter().map(|c| c.minimal_s).sum();
    let minimal_exclusive_s: f64 = cells.iter().filter(|c| c.exclusive).map(|c| c.minimal_s).sum();
    Floor {
        cores,
        build_s,
        ran_s: cells.iter().map(|c| c.ran_s).sum(),
        minimal_s,
        minimal_exclusive_s,
        plain_s: (build_s + minimal_s) / cores as f64,
        exclusive_aware_s: minimal_exclusive_s + (build_s + minimal_s - minimal_exclusive_s) / cores as f64,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probe::{Done, Sample};
    use crate::run::RunOutcome;
    use std::path::Path;

    const YAML: &str = r#"
title: t
family: reachability
summary: s
common: [c.go]
variants:
  buggy: {about: b}
  fixed: {about: f}
counters:
  ops: operations
run: {rounds: 10, warmup: 2}
signals:
  - {name: growth, metric: heap_live, per: ops, stat: slope, present_above: 500, unit: B/op}
expect:
  - verdict: reproduced
"#;

    fn pattern() -> Pattern {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join("c.go"), "package scenario\n").unwrap();
        crate::template::parse_pattern(YAML, Path::new("p.yaml"), "90-floor", d.path()).unwrap()
    }

    /// A finished run of `variant`: `rounds` rounds of 100 ops, the heap
    /// growing `per_op(round)` bytes an op (with a little noise), one
    /// sample a round 100 ms apart on the probe's clock, 10 ms of start-up
    /// and exit around them.
    fn run(variant: &str, rounds: i64, per_op: impl Fn(i64) -> f64) -> RunRecord {
        let mut heap = 50_000.0;
        let samples = (-1..rounds)
            .map(|r| {
                let mut s = Sample { round: r, ..Default::default() };
                heap += per_op(r) * 100.0 + [30.0, -20.0, 10.0][r.rem_euclid(3) as usize];
                s.values.insert("heap_live".into(), heap);
                s.values.insert("t_ns".into(), (r + 1) as f64 * 1e8);
                s.counters.insert("ops".into(), (r + 1) * 100);
                s
            })
            .collect();
        RunRecord {
            scenario: format!("90-floor/{variant}"),
            backend: crate::cell::BackendKind::Synthetic,
            args: vec![],
            env: Default::default(),
            hello: None,
            samples,
            done: Some(Done { rounds, reason: "rounds".into(), t_ns: rounds * 100_000_000 }),
            detectors: vec![],
            outcome: RunOutcome { code: Some(0), wall_ms: (rounds * 100 + 10) as u64, ..Default::default() },
            crash: None,
            protocol_errors: vec![],
        }
    }

    #[test]
    fn a_clear_leak_needs_few_rounds_and_costs_only_them() {
        let p = pattern();
        let runs = [run("buggy", 10, |_| 5_000.0), run("fixed", 10, |_| 0.0)];
        let f = floor_of(&p, "c", &BTreeMap::new(), &runs);
        let (b, x) = (&f.variants[0], &f.variants[1]);
        assert_eq!((b.status, x.status), (Presence::Present, Presence::Absent));
        assert_eq!((b.trials, b.trials_needed, b.post_rounds), (1, 1, 8));
        assert!(b.post_rounds_needed < 8 && x.post_rounds_needed < 8, "clear early: {b:?} {x:?}");
        // Cut after the warm-up and k rounds: the probe's clock at round
        // 2+k-1's sample, (2+k) x 100 ms, plus 10 ms.
        let want = (2 + b.post_rounds_needed) as f64 * 0.1 + 0.01;
        assert!((b.minimal_s - want).abs() < 1e-9, "{} vs {want}", b.minimal_s);
        assert!((f.ran_s - 2.02).abs() < 1e-9, "{}", f.ran_s);
        assert!(f.minimal_s < f.ran_s);
    }

    #[test]
    fn a_leak_that_starts_late_needs_the_rounds_after_its_start() {
        let p = pattern();
        // Flat for the warm-up and three rounds more, then 5,000 B/op: the
        // early prefixes read absent or inconclusive, the whole run present.
        let late = run("buggy", 10, |r| if r >= 5 { 5_000.0 } else { 0.0 });
        let f = floor_of(&p, "c", &BTreeMap::new(), std::slice::from_ref(&late));
        let b = &f.variants[0];
        assert_eq!(b.status, Presence::Present, "{b:?}");
        // The least k from which every longer prefix agrees, by the oracle.
        let status = |k| oracle::evaluate(&p, &BTreeMap::new(), "buggy", &[cut(&late, 2, k)]).status;
        assert!(b.post_rounds_needed > 3, "nothing before the onset can say present: {b:?}");
        assert!((b.post_rounds_needed..=8).all(|k| status(k) == Presence::Present), "{b:?}");
        assert_ne!(status(b.post_rounds_needed - 1), Presence::Present, "{b:?}");
        let want = (2 + b.post_rounds_needed) as f64 * 0.1 + 0.01;
        assert!((b.minimal_s - want).abs() < 1e-9, "{} vs {want}", b.minimal_s);
    }

    #[test]
    fn an_unfinished_run_is_taken_whole() {
        let p = pattern();
        let mut crashed = run("buggy", 4, |_| 5_000.0);
        crashed.done = None;
        let f = floor_of(&p, "c", &BTreeMap::new(), &[crashed]);
        assert_eq!(f.variants[0].minimal_s, 0.41);
        assert_eq!(f.variants[0].post_rounds_needed, f.variants[0].post_rounds);
    }

    #[test]
    fn totals_divide_by_cores_and_keep_exclusive_cells_whole() {
        let c = |exclusive, minimal_s| CellFloor {
            cell: "c".into(),
            pattern: "p".into(),
            exclusive,
            variants: Vec::new(),
            ran_s: 2.0 * minimal_s,
            minimal_s,
        };
        let t = total(&[c(false, 4.0), c(true, 2.0)], 2.0, 2);
        assert_eq!((t.plain_s, t.exclusive_aware_s, t.ran_s), (4.0, 5.0, 12.0));
    }
}
