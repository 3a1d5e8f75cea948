//! Oracle tests on synthetic series. The end-to-end tests in
//! harness/tests/ check the same code on real Go runs.

use super::*;
use crate::probe::Sample;
use crate::run::{Crash, RunRecord};
use crate::template::parse_pattern;
use crate::verdict::Verdict;
use std::path::Path;

const YAML: &str = r#"
title: t
family: reachability
summary: s
common: [c.go]
variants:
  buggy: {about: b}
  fixed: {about: f}
params:
  size: {type: int, default: 1000, range: [1, 100000]}
counters:
  ops: operations
  bad: bad operations
run: {rounds: 10, warmup: 2}
signals:
  - {name: growth, metric: heap_live, per: ops, stat: slope, present_above: size * 0.5, unit: B/op}
  - {name: bad_share, metric: bad, per: ops, stat: rate, proportion: true, present_above: 0.01}
  - {name: gor, metric: goroutines, stat: slope, present_above: 0.5, role: info}
expect:
  - verdict: reproduced
"#;

fn pattern() -> Pattern {
    let d = tempfile::tempdir().unwrap();
    std::fs::write(d.path().join("c.go"), "package scenario\n").unwrap();
    parse_pattern(YAML, Path::new("p.yaml"), "99-synthetic", d.path()).unwrap()
}

/// A run of `rounds` rounds, 100 ops each; heap grows by `per_op` bytes per
/// op plus `noise(round)`; `bad` events per round.
fn record(rounds: i64, per_op: f64, noise: impl Fn(i64) -> f64, bad_per_round: i64) -> RunRecord {
    let samples = (-1..rounds)
        .map(|r| {
            let ops = (r + 1) * 100;
            let mut s = Sample { round: r, ..Default::default() };
            s.values.insert("heap_live".into(), 50_000.0 + per_op * ops as f64 + noise(r));
            s.values.insert("goroutines".into(), 3.0);
            s.counters.insert("ops".into(), ops);
            s.counters.insert("bad".into(), bad_per_round * (r + 1));
            s
        })
        .collect();
    RunRecord {
        scenario: "99-synthetic/buggy".into(),
        backend: crate::cell::BackendKind::Synthetic,
        args: vec![],
        env: Default::default(),
        hello: None,
        samples,
        done: None,
        detectors: vec![],
        outcome: crate::run::RunOutcome { code: Some(0), wall_ms: 10, ..Default::default() },
        crash: None,
        protocol_errors: vec![],
    }
}

fn params() -> BTreeMap<String, String> {
    [("size".to_string(), "1000".to_string())].into()
}

#[test]
fn clear_growth_is_present_with_its_numbers() {
    let p = pattern();
    let r = evaluate(
        &p,
        &params(),
        "buggy",
        &[record(10, 1000.0, |r| [300.0, -200.0, 100.0][r.rem_euclid(3) as usize], 0)],
    );
    assert_eq!(r.status, Presence::Present);
    let g = &r.signals[0];
    assert_eq!(g.status, Presence::Present);
    assert_eq!(g.threshold, 500.0, "size * 0.5");
    let e = g.estimate.unwrap();
    assert!((e.value - 1000.0).abs() < 10.0, "{e:?}");
    assert!(e.lo > 500.0, "the whole interval is above the threshold: {e:?}");
    assert_eq!(g.n, 8, "10 rounds less 2 warm-up");
    assert!(g.trend_p.unwrap() < 0.001);
    assert!(g.describe().starts_with("growth 1000 B/op ["), "{}", g.describe());
    // The proportion signal saw no bad events in 800 ops: absent, with an interval.
    let b = &r.signals[1];
    assert_eq!(b.status, Presence::Absent);
    assert!(b.estimate.unwrap().hi < 0.01);
}

#[test]
fn a_flat_series_is_absent() {
    let p = pattern();
    let r = evaluate(
        &p,
        &params(),
        "fixed",
        &[record(10, 0.0, |r| if r == 5 { 40_000.0 } else { (r % 2) as f64 * 64.0 }, 0)],
    );
    assert_eq!(r.status, Presence::Absent, "{:?}", r.signals);
    let e = r.signals[0].estimate.unwrap();
    assert!(e.value.abs() < 1.0 && e.hi < 500.0, "one wild sample does not make a leak: {e:?}");
}

#[test]
fn growth_near_the_threshold_is_inconclusive() {
    let p = pattern();
    let noise = |r: i64| [30_000.0, -30_000.0, 10_000.0, -20_000.0][r.rem_euclid(4) as usize];
    let r = evaluate(&p, &params(), "buggy", &[record(10, 500.0, noise, 0)]);
    assert_eq!(r.signals[0].status, Presence::Inconclusive, "{:?}", r.signals[0]);
    assert_eq!(r.status, Presence::Inconclusive);
}

#[test]
fn a_proportion_above_threshold_is_present() {
    let p = pattern();
    let r = evaluate(&p, &params(), "buggy", &[record(10, 0.0, |_| 0.0, 30)]);
    let b = &r.signals[1];
    assert_eq!(b.status, Presence::Present);
    let e = b.estimate.unwrap();
    assert!((e.value - 0.3).abs() < 1e-9, "240 bad of 800 ops after warm-up: {e:?}");
    assert!(e.lo > 0.26 && e.hi < 0.34, "{e:?}");
    assert_eq!(r.status, Presence::Present, "any present symptom makes the variant present");
}

#[test]
fn an_event_never_seen_is_absent_even_with_a_zero_threshold() {
    let yaml = YAML.replace("present_above: 0.01}", "present_above: 0}");
    let d = tempfile::tempdir().unwrap();
    std::fs::write(d.path().join("c.go"), "package scenario\n").unwrap();
    let p = parse_pattern(&yaml, Path::new("p.yaml"), "99-synthetic", d.path()).unwrap();
    let none = evaluate(&p, &params(), "fixed", &[record(10, 0.0, |_| 0.0, 0)]);
    let b = &none.signals[1];
    assert_eq!(b.status, Presence::Absent);
    let e = b.estimate.unwrap();
    assert!(e.hi > 0.0 && e.hi < 0.005, "the bound is reported: {e:?}");
    let one = evaluate(&p, &params(), "buggy", &[record(10, 0.0, |_| 0.0, 1)]);
    assert_eq!(one.signals[1].status, Presence::Present, "a single event is proof");
}

#[test]
fn too_few_samples_is_inconclusive_and_says_why() {
    let p = pattern();
    let r = evaluate(&p, &params(), "buggy", &[record(3, 1000.0, |_| 0.0, 0)]);
    let g = &r.signals[0];
    assert_eq!(g.status, Presence::Inconclusive);
    assert!(g.note.as_deref().unwrap().contains("need 3"), "{g:?}");
    assert_eq!(r.status, Presence::Inconclusive);
}

#[test]
fn info_signals_never_decide() {
    let p = pattern();
    let mut rec = record(10, 0.0, |_| 0.0, 0);
    for s in &mut rec.samples {
        s.values.insert("goroutines".into(), 3.0 + 10.0 * s.round as f64);
    }
    let r = evaluate(&p, &params(), "fixed", std::slice::from_ref(&rec));
    assert_eq!(r.signals[2].status, Presence::Present);
    assert_eq!(r.status, Presence::Absent);
}

#[test]
fn crashes_and_timeouts_override_signals() {
    let p = pattern();
    let mut rec = record(10, 1000.0, |_| 0.0, 0);
    rec.crash = Some(Crash { class: CrashClass::RuntimeFatal, message: "fatal error: x".into() });
    let crashed = evaluate(&p, &params(), "buggy", std::slice::from_ref(&rec));
    assert_eq!(crashed.status, Presence::Crash);
    assert!(crashed.signals[0].estimate.is_some(), "what was measured before the crash is kept");
    rec.crash = Some(Crash { class: CrashClass::Timeout, message: "hung".into() });
    let hung = evaluate(&p, &params(), "fixed", std::slice::from_ref(&rec));
    assert_eq!(hung.status, Presence::Timeout);
    assert_eq!(Verdict::from_pair(crashed.status, hung.status), Verdict::Crash);
}

#[test]
fn slopes_pool_over_trials_by_median() {
    let p = pattern();
    let runs = [record(10, 900.0, |_| 0.0, 0), record(10, 1000.0, |_| 0.0, 0), record(10, 5000.0, |_| 0.0, 0)];
    let r = evaluate(&p, &params(), "buggy", &runs);
    let e = r.signals[0].estimate.unwrap();
    assert_eq!(e.value, 1000.0, "the median trial, not the wild one: {e:?}");
    assert_eq!(r.trials, 3);
    assert_eq!(r.signals[0].n, 24, "8 post-warm-up samples from each trial");
    // Rates sum over trials: 3 trials x 800 ops after warm-up, 30 bad per round.
    let runs = [record(10, 0.0, |_| 0.0, 30), record(10, 0.0, |_| 0.0, 0), record(10, 0.0, |_| 0.0, 0)];
    let b = &evaluate(&p, &params(), "buggy", &runs).signals[1];
    assert!((b.estimate.unwrap().value - 0.1).abs() < 1e-9, "{b:?}");
}

const CRASHY: &str = r#"
title: t
family: write-barrier
summary: s
common: [c.go]
variants: {buggy: {about: b}, fixed: {about: f}}
counters: {corrupted: canary mismatches}
run: {rounds: 5, warmup: 1, trials: 4}
crash_is_symptom: true
signals:
  - {name: crashed, metric: crash, stat: trials, present_above: 0}
  - {name: corrupted, metric: corrupted, stat: trials, present_above: 0}
expect: [{verdict: reproduced}]
"#;

#[test]
fn crashes_can_be_the_symptom_counted_over_trials() {
    let d = tempfile::tempdir().unwrap();
    std::fs::write(d.path().join("c.go"), "package scenario\n").unwrap();
    let p = parse_pattern(CRASHY, Path::new("p.yaml"), "13-crashy", d.path()).unwrap();
    let fatal = Crash { class: CrashClass::RuntimeFatal, message: "fatal error: found pointer to free object".into() };
    let mut crashed = record(5, 0.0, |_| 0.0, 0);
    crashed.crash = Some(fatal);
    let clean = record(5, 0.0, |_| 0.0, 0);
    let buggy = evaluate(&p, &params(), "buggy", &[crashed.clone(), clean.clone(), crashed, clean.clone()]);
    assert_eq!(buggy.status, Presence::Present, "two of four trials crashed: {:?}", buggy.signals);
    let e = buggy.signals[0].estimate.unwrap();
    assert_eq!(e.value, 0.5);
    assert!(e.lo > 0.0 && e.hi < 1.0);
    assert_eq!(buggy.crashed_trials, 2);
    assert_eq!(buggy.crash.as_ref().unwrap().class, CrashClass::RuntimeFatal, "the evidence is kept");
    let fixed = evaluate(&p, &params(), "fixed", &[clean.clone(), clean.clone(), clean.clone(), clean.clone()]);
    assert_eq!(fixed.status, Presence::Absent);
    assert_eq!(Verdict::from_pair(buggy.status, fixed.status), Verdict::Reproduced);
    // A hang is never the symptom.
    let mut hung = clean.clone();
    hung.crash = Some(Crash { class: CrashClass::Timeout, message: "hung".into() });
    assert_eq!(evaluate(&p, &params(), "fixed", &[clean, hung]).status, Presence::Timeout);
    // `crash` needs crash_is_symptom.
    let e = parse_pattern(&CRASHY.replace("crash_is_symptom: true", ""), Path::new("p.yaml"), "13-crashy", d.path());
    assert!(e.unwrap_err().to_string().contains("crash_is_symptom"));
}

#[test]
fn decisive_needs_a_sequential_boundary_or_the_nominal_samples() {
    // 10 rounds, 2 of warm-up: 8 nominal samples after warm-up, 18 at most.
    let p = pattern();
    let clear = record(10, 1000.0, |_| 0.0, 0);
    // A slope every pair of whose points rises above the threshold is
    // decided at its fifth point (1 in 120 by chance), not before.
    assert!(!decisive(&p, &params(), &clear.samples[..7], 8, 18), "4 post-warm-up samples");
    assert!(decisive(&p, &params(), &clear.samples[..8], 8, 18));
    // Flat: the slope is below its threshold from the fifth point, the
    // proportion's increments from the sixth (a sign walk): all absent.
    let flat = record(10, 0.0, |_| 0.0, 0);
    assert!(!decisive(&p, &params(), &flat.samples[..8], 8, 18), "5 increments of the rate");
    assert!(decisive(&p, &params(), &flat.samples[..9], 8, 18));
    // On the threshold the interval straddles it: no look decides, not
    // even at the nominal samples; the run goes on.
    let noisy = record(10, 500.0, |r| [30_000.0, -30_000.0, 10_000.0, -20_000.0][r.rem_euclid(4) as usize], 0);
    for end in 3..=noisy.samples.len() {
        assert!(!decisive(&p, &params(), &noisy.samples[..end], 8, 18), "{end} samples");
    }
    // A plain rate whose rounds swing either side of the threshold (0 and
    // 3 bad ops per 100): no sign look decides; the nominal samples do,
    // by the oracle's point rate (1.5% > 1%), as a whole run would.
    let rate = YAML.replace("proportion: true, present_above: 0.01}", "present_above: 0.01}");
    let d = tempfile::tempdir().unwrap();
    std::fs::write(d.path().join("c.go"), "package scenario\n").unwrap();
    let p = parse_pattern(&rate, Path::new("p.yaml"), "99-synthetic", d.path()).unwrap();
    let mut swing = record(10, 0.0, |_| 0.0, 0);
    for s in &mut swing.samples {
        let r = s.round + 1;
        s.counters.insert("bad".into(), 3 * (r / 2));
    }
    assert!(!decisive(&p, &params(), &swing.samples[..10], 8, 18), "7 of 8 nominal samples");
    assert!(decisive(&p, &params(), &swing.samples[..11], 8, 18));
    let o = evaluate(&p, &params(), "buggy", std::slice::from_ref(&swing));
    assert_eq!(o.signals[1].status, Presence::Present, "{:?}", o.signals[1]);
}

#[test]
fn one_event_decides_a_proportion_whose_threshold_is_zero() {
    let zero = YAML.replace("proportion: true, present_above: 0.01}", "proportion: true, present_above: 0}");
    let d = tempfile::tempdir().unwrap();
    std::fs::write(d.path().join("c.go"), "package scenario\n").unwrap();
    let pz = parse_pattern(&zero, Path::new("p.yaml"), "99-synthetic", d.path()).unwrap();
    // Heap flat (the slope absent from the fifth point), one bad op per
    // round: present as soon as a post-warm-up round has one.
    let bad = record(10, 0.0, |_| 0.0, 1);
    assert!(decisive(&pz, &params(), &bad.samples[..4], 8, 18), "the first post-warm-up round");
    // None at all: absent only at the nominal samples (as many reads as a
    // whole run), though the slope is decided long before.
    let none = record(10, 0.0, |_| 0.0, 0);
    assert!(!decisive(&pz, &params(), &none.samples[..10], 8, 18));
    assert!(decisive(&pz, &params(), &none.samples[..11], 8, 18));
    // The exact stop of cells with several trials: an event, for good;
    // a clear slope is not an event (its trials are pooled by medians).
    assert!(present_for_good(&pz, &params(), &bad.samples[..4]));
    assert!(!present_for_good(&pz, &params(), &none.samples));
    assert!(!present_for_good(&pattern(), &params(), &record(10, 1000.0, |_| 0.0, 0).samples));
    assert!(!present_for_good(&pattern(), &params(), &bad.samples), "threshold 0.01: one event is not enough");
}

#[test]
fn per_allocated_divides_by_what_was_allocated() {
    let yaml = YAML.replace(
        "  - {name: gor,",
        "  - {name: kept_share, metric: heap_live, per: ops, stat: slope, per_allocated: true, present_above: 0.25}\n  - {name: gor,",
    );
    let d = tempfile::tempdir().unwrap();
    std::fs::write(d.path().join("c.go"), "package scenario\n").unwrap();
    let p = parse_pattern(&yaml, Path::new("p.yaml"), "99-synthetic", d.path()).unwrap();
    // Keeps 1000 B per op of the 4000 B per op it allocates: a quarter... and a bit.
    let mut rec = record(10, 1000.0, |_| 0.0, 0);
    for s in &mut rec.samples {
        s.values.insert("alloc_bytes".into(), 3000.0 * (s.round + 1) as f64 * 100.0);
    }
    let r = evaluate(&p, &params(), "buggy", std::slice::from_ref(&rec));
    let k = r.signals.iter().find(|s| s.name == "kept_share").unwrap();
    let e = k.estimate.unwrap();
    assert!((e.value - 1.0 / 3.0).abs() < 1e-9, "{e:?}");
    assert_eq!(k.status, Presence::Present);
    // Without allocation there is nothing to normalise by.
    let r = evaluate(&p, &params(), "buggy", &[record(10, 1000.0, |_| 0.0, 0)]);
    let k = r.signals.iter().find(|s| s.name == "kept_share").unwrap();
    assert!(k.estimate.is_none() && k.note.as_deref().unwrap().contains("normalise"));
}

#[test]
fn fmt_num_is_short() {
    assert_eq!(fmt_num(3.0245), "3.02");
    assert_eq!(fmt_num(262_144.4), "262144");
    assert_eq!(fmt_num(0.0123456), "0.0123");
    assert_eq!(fmt_num(0.0), "0");
    assert_eq!(fmt_num(1.5e-5), "1.500e-5");
    assert_eq!(fmt_num(f64::NEG_INFINITY), "-inf");
}

const LEVEL_YAML: &str = r#"
title: t
family: reachability
summary: s
common: [c.go]
variants:
  buggy: {about: b}
  fixed: {about: f}
params:
  slots: {type: int, default: 64, range: [1, 4096]}
counters:
  items: items handled
run: {rounds: 12, warmup: 2}
signals:
  - {name: kept, metric: heap_live, stat: level, present_above: slots * 32768, unit: B}
  - {name: growth, metric: heap_live, per: items, stat: slope, present_above: 1024, unit: B/item, role: info}
  - {name: per_round, metric: heap_live, stat: level, present_above: rounds * 100000, unit: B, role: info}
  - {name: per_item, metric: heap_live, stat: level, present_above: items * 100, unit: B, role: info}
expect:
  - verdict: reproduced
"#;

/// A bounded container: `fill` bytes kept from the first round on (what
/// 64 slots of 64 KiB keep), 1,000 items a round, a little noise.
fn plateau(rounds: i64, fill: f64) -> RunRecord {
    let mut r = record(rounds, 0.0, |_| 0.0, 0);
    for s in &mut r.samples {
        let noise = [0.0, 96.0, -48.0, 16.0][s.round.rem_euclid(4) as usize];
        let kept = if s.round >= 0 { fill } else { 0.0 };
        s.values.insert("heap_live".into(), 90_000.0 + kept + noise);
        s.counters.insert("items".into(), (s.round + 1) * 1000);
    }
    r
}

#[test]
fn a_leak_that_levels_off_is_a_level_not_a_slope() {
    let d = tempfile::tempdir().unwrap();
    std::fs::write(d.path().join("c.go"), "package scenario\n").unwrap();
    let p = parse_pattern(LEVEL_YAML, Path::new("p.yaml"), "99-level", d.path()).unwrap();
    let ps: BTreeMap<String, String> = [("slots".to_string(), "64".to_string())].into();
    let buggy = evaluate(&p, &ps, "buggy", &[plateau(12, 4_194_304.0)]);
    let kept = &buggy.signals[0];
    assert_eq!(kept.status, Presence::Present, "{kept:?}");
    assert_eq!(kept.threshold, 64.0 * 32768.0);
    assert_eq!(kept.n, 10, "12 rounds less 2 warm-up");
    let e = kept.estimate.unwrap();
    assert!((e.value - 4_194_304.0).abs() < 100.0 && e.lo > 4_194_200.0 && e.hi < 4_194_500.0, "{e:?}");
    // The same series as a slope: flat, the defect issue 27 reported.
    let slope = &buggy.signals[1];
    assert_eq!(slope.status, Presence::Absent, "{slope:?}");
    assert!(slope.estimate.unwrap().value.abs() < 1.0);
    // Thresholds over the run: 12 rounds, 12,000 items at the end.
    assert_eq!(buggy.signals[2].threshold, 12.0 * 100_000.0);
    assert_eq!(buggy.signals[2].status, Presence::Present);
    assert_eq!(buggy.signals[3].threshold, 12_000.0 * 100.0);
    assert_eq!(buggy.status, Presence::Present);
    let fixed = evaluate(&p, &ps, "fixed", &[plateau(12, 0.0)]);
    assert_eq!(fixed.signals[0].status, Presence::Absent, "{:?}", fixed.signals[0]);
    assert!(fixed.signals[0].estimate.unwrap().hi < 100.0);
    assert_eq!(Verdict::from_pair(buggy.status, fixed.status), Verdict::Reproduced);
    // Three trials pool by medians; one that kept half still leaves the
    // interval above the threshold.
    let three =
        evaluate(&p, &ps, "buggy", &[plateau(12, 4_194_304.0), plateau(12, 2_097_152.0), plateau(12, 4_194_304.0)]);
    assert_eq!(three.signals[0].status, Presence::Present);
    assert_eq!(three.signals[0].n, 30);
    assert!((three.signals[0].estimate.unwrap().value - 4_194_304.0).abs() < 100.0);
    // Near the threshold: inconclusive, not a guess.
    let near = evaluate(&p, &ps, "buggy", &[plateau(12, 64.0 * 32768.0)]);
    assert_eq!(near.signals[0].status, Presence::Inconclusive, "{:?}", near.signals[0]);
}

#[test]
fn a_level_waits_for_the_nominal_samples_before_deciding() {
    let d = tempfile::tempdir().unwrap();
    std::fs::write(d.path().join("c.go"), "package scenario\n").unwrap();
    let p = parse_pattern(LEVEL_YAML, Path::new("p.yaml"), "99-level", d.path()).unwrap();
    let ps: BTreeMap<String, String> = [("slots".to_string(), "64".to_string())].into();
    // Six post-warm-up samples of nothing kept: absent so far, but a
    // bounded container may still be filling.
    let early = plateau(8, 0.0);
    assert!(!decisive(&p, &ps, &early.samples, 10, 22), "a level is not decided before the nominal samples");
    let done = plateau(12, 0.0);
    assert!(decisive(&p, &ps, &done.samples, 10, 22));
}

#[test]
fn trials_stop_once_the_rest_cannot_change_the_status() {
    let d = tempfile::tempdir().unwrap();
    std::fs::write(d.path().join("c.go"), "package scenario\n").unwrap();
    // A slope pooled by the medians of 3 trials' interval ends.
    let slope = YAML.replace("run: {rounds: 10, warmup: 2}", "run: {rounds: 10, warmup: 2, trials: 3}").replace(
        "  - {name: bad_share, metric: bad, per: ops, stat: rate, proportion: true, present_above: 0.01}\n",
        "",
    );
    let p = parse_pattern(&slope, Path::new("p.yaml"), "99-synthetic", d.path()).unwrap();
    let clear = record(10, 1000.0, |_| 0.0, 0);
    let flat = record(10, 0.0, |_| 0.0, 0);
    assert!(!settled(&p, &params(), std::slice::from_ref(&clear), 3), "one of three above: the median may not be");
    assert!(settled(&p, &params(), &[clear.clone(), clear.clone()], 3), "two of three above: it is");
    assert!(!settled(&p, &params(), &[clear.clone(), flat.clone()], 3));
    assert!(settled(&p, &params(), &[flat.clone(), flat.clone()], 3), "two of three below: absent");
    // Whatever the third trial shows, the status is the one settled on.
    for third in [&clear, &flat] {
        let all = [clear.clone(), clear.clone(), third.clone()];
        assert_eq!(evaluate(&p, &params(), "buggy", &all).status, Presence::Present);
        let all = [flat.clone(), flat.clone(), third.clone()];
        assert_eq!(evaluate(&p, &params(), "fixed", &all).status, Presence::Absent);
    }

    // A proportion with threshold 0: one event settles presence; none
    // settles nothing (a later trial may still see one).
    let zero = YAML
        .replace("run: {rounds: 10, warmup: 2}", "run: {rounds: 10, warmup: 2, trials: 3}")
        .replace("proportion: true, present_above: 0.01}", "proportion: true, present_above: 0}")
        .replace(
            "  - {name: growth, metric: heap_live, per: ops, stat: slope, present_above: size * 0.5, unit: B/op}\n",
            "",
        );
    let p = parse_pattern(&zero, Path::new("p.yaml"), "99-synthetic", d.path()).unwrap();
    assert!(settled(&p, &params(), &[record(10, 0.0, |_| 0.0, 1)], 3));
    assert!(!settled(&p, &params(), &[flat.clone(), flat.clone()], 3));
    assert!(settled(&p, &params(), &[flat.clone(), flat.clone(), flat.clone()], 3), "all trials run");

    // `stat: trials` over 4: one crash settles presence (Wilson's lower end
    // of 1 in 4 is above 0, and more crashes only raise it); three clean
    // trials do not settle absence (the fourth may crash).
    let p = parse_pattern(CRASHY, Path::new("p.yaml"), "13-crashy", d.path()).unwrap();
    let mut crashed = record(5, 0.0, |_| 0.0, 0);
    crashed.crash = Some(Crash { class: CrashClass::RuntimeFatal, message: "fatal error: found pointer".into() });
    let clean = record(5, 0.0, |_| 0.0, 0);
    assert!(settled(&p, &params(), std::slice::from_ref(&crashed), 4));
    assert!(!settled(&p, &params(), &[clean.clone(), clean.clone(), clean.clone()], 4));
    // A threshold that names a run total (here `rounds`) moves with every
    // trial: never settled before the last.
    let totals = slope.replace("present_above: size * 0.5", "present_above: rounds * 50");
    let p = parse_pattern(&totals, Path::new("p.yaml"), "99-synthetic", d.path()).unwrap();
    assert!(!settled(&p, &params(), &[clear.clone(), clear.clone()], 3));
}
