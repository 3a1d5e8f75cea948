//! Campaigns driven through the synthetic backend and builder: no Go, no
//! toolchain, exact series. Scheduling, early stopping, the journal and
//! resume, verdicts and build counts, on the same code path `gcfuzz run`
//! takes (the end-to-end tests in harness/tests/ do it with real Go).

use super::*;
use crate::build::Target;
use crate::detector::{Catch, Detector};
use crate::judge;
use crate::matrix::{MatrixSpec, plan};
use crate::probe::Sample;
use crate::run::{CrashClass, RunSpec};
use crate::synthetic::{Exit, Series, SyntheticBackend, SyntheticBuilder};
use crate::template::parse_pattern;
use crate::verdict::{Presence, Verdict};
use std::time::Duration;

/// A pattern whose symptom is goroutines growing by more than 0.5 per
/// round; expected reproduced before Go 1.27, not reproduced from it.
fn pattern(id: &str, extra: &str) -> (tempfile::TempDir, Pattern) {
    let yaml = format!(
        r#"
title: t
family: reachability
summary: s
common: [c.go]
variants: {{buggy: {{about: b}}, fixed: {{about: f}}}}
params: {{leak: {{type: float, default: 1, range: [0, 10]}}}}
signals:
  - {{name: goroutines_per_round, metric: goroutines, stat: slope, present_above: 0.5, unit: goroutines/round}}
run: {{rounds: 10, warmup: 2{extra}}}
expect:
  - when: {{go: "<1.27"}}
    verdict: reproduced
  - verdict: not-reproduced
"#
    );
    let d = tempfile::tempdir().unwrap();
    std::fs::write(d.path().join("c.go"), "package scenario\n").unwrap();
    let p = parse_pattern(&yaml, Path::new("p.yaml"), id, d.path()).unwrap();
    (d, p)
}

fn v(s: &str) -> GoVersion {
    s.parse().unwrap()
}

/// The buggy variant leaks `leak` goroutines per round on toolchains
/// before 1.27 (the synthetic program's path names its key); the fixed
/// one never does.
fn leaky(spec: &RunSpec) -> Series {
    let leaks = spec.scenario.ends_with("/buggy") && !spec.program.to_string_lossy().contains("go1.27");
    let per_round: f64 = if leaks { spec.params["leak"].parse().unwrap() } else { 0.0 };
    Series::rounds(spec.rounds, move |r| vec![("goroutines", 3.0 + per_round * (r + 1) as f64)])
}

fn spec(go: &[&str]) -> MatrixSpec {
    MatrixSpec {
        go: go.iter().map(|g| v(g)).collect(),
        backends: vec![crate::cell::BackendKind::Synthetic],
        ..Default::default()
    }
}

fn options() -> Options {
    Options { jobs: 1, rss_cap: None, mem_budget: 1 << 40, detectors: false, early_stop: false, ..Options::default() }
}

fn estimate(r: &CellResult, variant: &str) -> f64 {
    let v = if variant == "buggy" { &r.buggy } else { &r.fixed };
    v.as_ref().unwrap().signals[0].estimate.unwrap().value
}

fn run_quietly(c: &Campaign) -> Outcome {
    run(c, &mut |_| {}).unwrap()
}

#[test]
fn a_campaign_needs_no_toolchain_and_judges_by_the_series() {
    let (_d, p) = pattern("15-synthetic", "");
    let plan = plan(&[&p], &spec(&["1.21.13", "1.22.10", "1.27.3"])).unwrap();
    let (builder, backend) = (SyntheticBuilder::default(), SyntheticBackend::new(leaky));
    let c = Campaign::new(vec![&p], plan, &builder, vec![&backend], options());
    let mut events = Vec::new();
    let out = run(&c, &mut |e| events.push(crate::report::event_line(&e).unwrap_or_default())).unwrap();
    let got: Vec<(String, Verdict, bool)> =
        out.results.iter().map(|r| (r.config.go.to_string(), r.verdict, r.met)).collect();
    assert_eq!(
        got,
        [
            ("1.21.13".into(), Verdict::Reproduced, true),
            ("1.22.10".into(), Verdict::Reproduced, true),
            ("1.27.3".into(), Verdict::NotReproduced, true)
        ]
    );
    // The numbers behind the verdicts: an exact slope of 1 against 0.
    let r = &out.results[0];
    assert_eq!((estimate(r, "buggy"), estimate(r, "fixed")), (1.0, 0.0));
    assert_eq!(r.buggy.as_ref().unwrap().status, Presence::Present);
    assert_eq!(r.fixed.as_ref().unwrap().status, Presence::Absent);
    assert_eq!(r.buggy.as_ref().unwrap().rounds, 10);
    assert_eq!(r.config.backend, crate::cell::BackendKind::Synthetic);
    assert!(r.cell.ends_with("|backend=synthetic"), "{}", r.cell);
    assert!(
        r.explanation.contains("goroutines_per_round 1.00 goroutines/round [1.00, 1.00] > 0.5"),
        "{}",
        r.explanation
    );
    assert_eq!(out.results[2].buggy.as_ref().unwrap().status, Presence::Absent);
    // One build per key, each toolchain prepared once, two runs per cell.
    assert_eq!(builder.prepared(), [v("1.21.13"), v("1.22.10"), v("1.27.3")]);
    let builds = builder.builds();
    assert_eq!(builds.len(), 3);
    assert!(builds.values().all(|&n| n == 1), "the judge reused the campaign's builds: {builds:?}");
    assert_eq!(backend.runs(), 6);
    assert_eq!(events.iter().filter(|e| e.starts_with('[')).count(), 3, "{events:?}");
    assert!(events.iter().any(|e| e.starts_with("[3/3] 15-synthetic go1.27.3")), "{events:?}");
}

#[test]
fn crashes_hangs_fixes_that_fail_and_failed_builds_are_recorded_verdicts() {
    let (_d, p) = pattern("16-synthetic", "");
    let script = |spec: &RunSpec| {
        let leak = spec.params["leak"].parse::<f64>().unwrap();
        let base = Series::rounds(spec.rounds, move |r| vec![("goroutines", 3.0 + leak * r.max(0) as f64)]);
        match (spec.scenario.rsplit('/').next(), leak) {
            (Some("buggy"), 2.0) => base.ending(Exit::Panic("runtime error: index out of range [2]".into())),
            (Some("buggy"), 3.0) => base.ending(Exit::Hang),
            _ => base, // both variants leak: the fix fails
        }
    };
    let mut s = spec(&["1.22.10", "1.26.6"]);
    s.params.insert("leak".into(), vec!["1".into(), "2".into(), "3".into()]);
    let plan = plan(&[&p], &s).unwrap();
    let builder = SyntheticBuilder::failing(v("1.26.6"));
    let backend = SyntheticBackend::new(script);
    let c = Campaign::new(vec![&p], plan, &builder, vec![&backend], Options { detectors: true, ..options() });
    let out = run_quietly(&c);
    assert_eq!(out.results.len(), 6);
    let by = |go: &str, leak: &str| {
        out.results.iter().find(|r| r.config.go.to_string() == go && r.config.params["leak"] == leak).unwrap()
    };
    let fix_fails = by("1.22.10", "1");
    assert_eq!(fix_fails.verdict, Verdict::FixFails);
    assert_eq!((estimate(fix_fails, "buggy"), estimate(fix_fails, "fixed")), (1.0, 1.0));
    assert!(!fix_fails.met);
    let crashed = by("1.22.10", "2");
    assert_eq!(crashed.verdict, Verdict::Crash);
    let buggy = crashed.buggy.as_ref().unwrap();
    assert_eq!(buggy.status, Presence::Crash);
    let crash = buggy.crash.as_ref().unwrap();
    assert_eq!(
        (crash.class, crash.message.as_str()),
        (CrashClass::GoPanic, "panic: runtime error: index out of range [2]")
    );
    let hung = by("1.22.10", "3");
    assert_eq!(hung.buggy.as_ref().unwrap().status, Presence::Timeout);
    assert_eq!(hung.verdict, Verdict::Crash);
    // Detectors ask the builder for `go vet`: a builder without Go says so.
    let vet = &fix_fails.detectors[0];
    assert_eq!((vet.detector, vet.catch), (Detector::Vet, Catch::Error));
    assert!(vet.buggy.evidence.contains("no Go toolchain"), "{:?}", vet.buggy);
    // A failed build is each of its cells' error, and the others still ran.
    for leak in ["1", "2", "3"] {
        let r = by("1.26.6", leak);
        assert_eq!(r.verdict, Verdict::Inconclusive);
        // The compiler's output too, not only the first line.
        assert_eq!(
            r.error.as_deref(),
            Some("build failed: `go build` failed for Go 1.26.6 (go line 1.26)\nsynthetic compile error")
        );
        assert!(r.runs.is_empty());
    }
    assert_eq!(backend.runs(), 6, "three cells of two runs; the failed build ran nothing");
    assert_eq!(builder.builds().values().sum::<usize>(), 2, "a failed build is not retried per cell");
    assert_eq!(crate::cli::results_code(&out.results), crate::cli::EXIT_SETUP);
}

#[test]
fn early_stopping_ends_a_decided_run_at_its_minimum_and_lets_an_undecided_one_run_on() {
    let (_d, p) = pattern("15-synthetic", "");
    // leak 1 decides at once; leak 0.5 sits on the threshold: never decided.
    let mut s = spec(&["1.22.10"]);
    s.params.insert("leak".into(), vec!["1".into(), "0.5".into()]);
    let plan = plan(&[&p], &s).unwrap();
    let (builder, backend) = (SyntheticBuilder::default(), SyntheticBackend::new(leaky));
    let c = Campaign::new(vec![&p], plan, &builder, vec![&backend], Options { early_stop: true, ..options() });
    let out = run_quietly(&c);
    let decided = &out.results[0];
    assert!(decided.early_stop && decided.config.rounds == 10);
    assert_eq!(decided.verdict, Verdict::Reproduced);
    // 10 rounds, 2 warm-up: both variants' series are exact lines, every
    // pair of points on one side of the threshold, which the sequential
    // rule decides at the fifth post-warm-up sample (rounds 0..=6).
    assert_eq!(decided.buggy.as_ref().unwrap().rounds, 7);
    assert_eq!(decided.fixed.as_ref().unwrap().rounds, 7);
    assert!(decided.runs.iter().all(|r| r.outcome.stop.stopped_early() && r.crash.is_none()));
    let undecided = &out.results[1];
    assert_eq!(undecided.buggy.as_ref().unwrap().status, Presence::Inconclusive);
    assert_eq!(undecided.buggy.as_ref().unwrap().rounds, 20, "up to twice its rounds");
    assert!(!undecided.runs[0].outcome.stop.stopped_early());
    assert!(crate::report::summary(&out.results).contains("early stopping ran 41 of 40 nominal rounds (2% more)"));
}

#[test]
fn the_scheduler_keeps_exclusive_cells_alone_and_the_memory_budget() {
    let (_d1, shared) = pattern("15-shared", ", peak_mib: 64");
    let (_d2, alone) = pattern("16-alone", ", exclusive: true");
    let mut s = spec(&["1.21.13", "1.22.10", "1.23.9", "1.24.11"]);
    s.params.insert("leak".into(), vec!["1".into(), "2".into()]);
    let both = || plan(&[&shared, &alone], &s).unwrap();
    let scenarios_of = |id: &str| [format!("{id}/buggy"), format!("{id}/fixed")];
    let mut backend = SyntheticBackend::new(leaky);
    backend.hold = Duration::from_millis(40);
    let builder = SyntheticBuilder::default();
    let two = Options { jobs: 2, ..options() };
    let c = Campaign::new(vec![&shared, &alone], both(), &builder, vec![&backend], two.clone());
    let out = run_quietly(&c);
    assert_eq!(out.results.len(), 16);
    let ids: Vec<String> = out.results.iter().map(|r| r.cell.clone()).collect();
    assert_eq!(ids, both().cells.iter().map(CellConfig::id).collect::<Vec<_>>(), "results in plan order");
    let overlaps = backend.overlaps();
    let exclusive = scenarios_of("16-alone");
    assert!(!overlaps.is_empty(), "two jobs ran side by side");
    assert!(
        overlaps.iter().all(|(a, b)| !exclusive.contains(a) && !exclusive.contains(b)),
        "an exclusive cell ran beside another: {overlaps:?}"
    );
    // A budget below two declared peaks: nothing overlaps at all.
    let mut backend = SyntheticBackend::new(leaky);
    backend.hold = Duration::from_millis(10);
    let tight = Options { mem_budget: 100 << 20, ..two };
    let c = Campaign::new(vec![&shared], plan(&[&shared], &s).unwrap(), &builder, vec![&backend], tight);
    assert_eq!(run_quietly(&c).results.len(), 8);
    assert_eq!(backend.overlaps(), [], "64 MiB cells within a 100 MiB budget run one at a time");
}

#[test]
fn the_journal_records_every_run_and_cell_and_a_resume_runs_only_the_rest() {
    let (_d, p) = pattern("15-synthetic", "");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("results.jsonl");
    let full = plan(&[&p], &spec(&["1.21.13", "1.22.10", "1.23.9", "1.27.3"])).unwrap();
    let builder = SyntheticBuilder::default();
    // The first run gets through two cells (as if killed after them).
    let half = Plan { cells: full.cells[..2].to_vec(), skipped: Vec::new() };
    let backend = SyntheticBackend::new(leaky);
    let (j, done) = Journal::open(&path, false).unwrap();
    let j = Mutex::new(j);
    let c = Campaign::new(vec![&p], half, &builder, vec![&backend], options()).with_journal(&j, done);
    assert_eq!(run_quietly(&c).results.len(), 2);
    drop(c);
    drop(j);
    // The resume runs only the other two and reports all four.
    let backend = SyntheticBackend::new(leaky);
    let (j, done) = Journal::open(&path, true).unwrap();
    assert_eq!(done.len(), 2);
    let j = Mutex::new(j);
    let c = Campaign::new(vec![&p], full.clone(), &builder, vec![&backend], options()).with_journal(&j, done);
    let out = run_quietly(&c);
    assert_eq!((out.results.len(), out.resumed, out.interrupted), (4, 2, false));
    assert_eq!(backend.runs(), 4, "two cells, two runs each");
    let verdicts: Vec<Verdict> = out.results.iter().map(|r| r.verdict).collect();
    assert_eq!(verdicts, [Verdict::Reproduced, Verdict::Reproduced, Verdict::Reproduced, Verdict::NotReproduced]);
    drop(c);
    drop(j);
    // Each cell once in the journal, with both its runs and their series.
    let cells = crate::journal::read(&path).unwrap();
    let ids: Vec<&str> = cells.iter().map(|c| c.cell.as_str()).collect();
    assert_eq!(
        ids,
        full.cells.iter().map(CellConfig::id).collect::<Vec<_>>().iter().map(String::as_str).collect::<Vec<_>>()
    );
    for c in &cells {
        let variants: Vec<&str> = c.runs.iter().map(|r| r.variant()).collect();
        assert_eq!(variants, ["buggy", "fixed"], "{}", c.cell);
        assert_eq!(c.runs[0].samples.len(), 11, "baseline and ten rounds");
    }
    let oldest: &Sample = cells[0].runs[0].samples.last().unwrap();
    assert_eq!(oldest.get("goroutines"), Some(13.0));
    // A finished journal resumes to nothing run.
    let backend = SyntheticBackend::new(leaky);
    let (j, done) = Journal::open(&path, true).unwrap();
    let j = Mutex::new(j);
    let c = Campaign::new(vec![&p], full, &builder, vec![&backend], options()).with_journal(&j, done);
    assert_eq!(run_quietly(&c).resumed, 4);
    assert_eq!(backend.runs(), 0);
    drop(c);
    drop(j);
    // `expect:` edited before a resume: the resumed cells are held to it
    // too, not to what the journal says was expected then.
    let mut edited = p.clone();
    edited.expect.retain(|e| e.verdict == Verdict::NotReproduced);
    let backend = SyntheticBackend::new(leaky);
    let (j, done) = Journal::open(&path, true).unwrap();
    let j = Mutex::new(j);
    let full = plan(&[&edited], &spec(&["1.21.13", "1.22.10", "1.23.9", "1.27.3"])).unwrap();
    let c = Campaign::new(vec![&edited], full, &builder, vec![&backend], options()).with_journal(&j, done);
    let out = run_quietly(&c);
    assert_eq!((out.resumed, backend.runs()), (4, 0));
    let met: Vec<(Option<Verdict>, bool)> = out.results.iter().map(|r| (r.expected, r.met)).collect();
    let nr = Some(Verdict::NotReproduced);
    assert_eq!(met, [(nr, false), (nr, false), (nr, false), (nr, true)], "every cell against the edited expectation");
}

#[test]
fn a_cell_for_a_backend_the_campaign_lacks_stops_it_before_any_work() {
    let (_d, p) = pattern("15-synthetic", "");
    let mut s = spec(&["1.22.10"]);
    s.backends = vec![crate::cell::BackendKind::Synthetic, crate::cell::BackendKind::Wasm];
    let plan = plan(&[&p], &s).unwrap();
    assert_eq!(plan.cells.len(), 2);
    let (builder, backend) = (SyntheticBuilder::default(), SyntheticBackend::new(leaky));
    let c = Campaign::new(vec![&p], plan, &builder, vec![&backend], options());
    let e = run(&c, &mut |_| {}).unwrap_err();
    assert!(
        matches!(&e, CampaignError::NoBackend { backend, .. } if *backend == crate::cell::BackendKind::Wasm),
        "{e}"
    );
    assert!(builder.builds().is_empty() && backend.runs() == 0);
}

#[test]
fn the_judge_alone_needs_only_a_pattern_a_cell_a_builder_and_a_backend() {
    let (_d, p) = pattern("15-synthetic", "");
    let plan = plan(&[&p], &spec(&["1.22.10"])).unwrap();
    let (builder, backend) = (SyntheticBuilder::default(), SyntheticBackend::new(leaky));
    let seen = Mutex::new(Vec::new());
    let hook = |variant: &str, trial: u32, run: &RunRecord| {
        seen.lock().unwrap().push((variant.to_string(), trial, run.samples.len()));
    };
    let opts = judge::Options { on_run: Some(&hook), ..Default::default() };
    let r = judge::judge(&p, &plan.cells[0], &builder, &backend, &opts);
    assert_eq!((r.verdict, r.met, r.expected), (Verdict::Reproduced, true, Some(Verdict::Reproduced)));
    assert_eq!((estimate(&r, "buggy"), estimate(&r, "fixed")), (1.0, 0.0));
    assert_eq!(*seen.lock().unwrap(), [("buggy".to_string(), 0, 11), ("fixed".to_string(), 0, 11)]);
    let key = BuildKey::for_cell(&plan.cells[0], Target::Native);
    assert_eq!(builder.builds().get(&key), Some(&1));
    // A program the backend cannot run is the cell's error, not a panic.
    let real = RunSpec {
        program: "/usr/bin/true".into(),
        scenario: "15-synthetic/buggy".into(),
        params: Default::default(),
        knobs: Default::default(),
        rounds: 10,
        gc_per_sample: 1,
        max_wall: Duration::from_secs(1),
        timeout: Duration::from_secs(2),
        rss_cap: None,
        extra_args: Vec::new(),
        stop_when: None,
        seed: 0,
        cancel: Default::default(),
    };
    let e = backend.run(&real).unwrap_err().to_string();
    assert_eq!(e, "the synthetic backend failed: `/usr/bin/true` is not a synthetic build");
}

#[test]
fn a_cancelled_campaign_stops_and_says_so_and_another_runs_on() {
    let (_d, p) = pattern("15-synthetic", "");
    let full = plan(&[&p], &spec(&["1.21.13", "1.22.10", "1.23.9", "1.27.3"])).unwrap();
    let builder = SyntheticBuilder::default();
    // Cancelled before it starts: nothing runs, the outcome says so.
    let backend = SyntheticBackend::new(leaky);
    let stopped = Options { cancel: crate::process::Cancel::new(), ..options() };
    stopped.cancel.cancel();
    let c = Campaign::new(vec![&p], full.clone(), &builder, vec![&backend], stopped);
    let out = run_quietly(&c);
    assert!(out.interrupted && out.results.is_empty(), "{out:?}");
    assert_eq!(backend.runs(), 0);
    // Another campaign in the same process, with its own token, is not
    // touched by that one's cancel.
    let backend = SyntheticBackend::new(leaky);
    let c = Campaign::new(vec![&p], full, &builder, vec![&backend], options());
    let out = run_quietly(&c);
    assert!(!out.interrupted && out.results.len() == 4, "{out:?}");
}

/// A variant's trials stop once one of them decides its status whatever
/// the rest show (a crash that is not the symptom: [`oracle::decides_alone`]);
/// where a crash is the symptom, every trial runs (later ones still count).
#[test]
fn trials_stop_only_when_the_rest_cannot_change_the_status() {
    // The fixed variant panics in every trial, the buggy one hangs in its
    // second; three trials each.
    let script = |spec: &RunSpec| {
        let base = Series::rounds(spec.rounds, |r| vec![("goroutines", 3.0 + r.max(0) as f64)]);
        match spec.scenario.rsplit('/').next() {
            Some("fixed") => base.ending(Exit::Panic("runtime error: index out of range [2]".into())),
            _ if spec.seed == judge::trial_seed(1) => base.ending(Exit::Hang),
            _ => base,
        }
    };
    let count = |r: &CellResult, role: crate::cell::Role| r.runs.iter().filter(|x| x.role() == Some(role)).count();
    let (_d, p) = pattern("17-synthetic", ", trials: 3");
    let backend = SyntheticBackend::new(script);
    let builder = SyntheticBuilder::default();
    let c = Campaign::new(vec![&p], plan(&[&p], &spec(&["1.22.10"])).unwrap(), &builder, vec![&backend], options());
    let r = &run_quietly(&c).results[0];
    // Fixed: the first panic decides (crash); buggy: two trials, the hang
    // in the second decides (timeout). Same statuses as all six trials.
    assert_eq!((count(r, crate::cell::Role::Buggy), count(r, crate::cell::Role::Fixed)), (2, 1));
    let (b, f) = (r.buggy.as_ref().unwrap(), r.fixed.as_ref().unwrap());
    assert_eq!((b.status, b.trials, f.status, f.trials), (Presence::Timeout, 2, Presence::Crash, 1));
    assert_eq!(r.verdict, Verdict::Crash);
    // Crashes as the symptom: a panic decides nothing alone (a later
    // trial's hang would), all three fixed trials run.
    let d = tempfile::tempdir().unwrap();
    std::fs::write(d.path().join("c.go"), "package scenario\n").unwrap();
    let yaml = "title: t\nfamily: reachability\nsummary: s\ncommon: [c.go]\ncrash_is_symptom: true\nvariants: {buggy: {about: b}, fixed: {about: f}}\nsignals:\n  - {name: crashed, metric: crash, stat: trials, present_above: 0}\nrun: {rounds: 10, warmup: 2, trials: 3}\nexpect:\n  - verdict: reproduced\n";
    let q = parse_pattern(yaml, Path::new("p.yaml"), "18-synthetic", d.path()).unwrap();
    let c = Campaign::new(vec![&q], plan(&[&q], &spec(&["1.22.10"])).unwrap(), &builder, vec![&backend], options());
    let r = &run_quietly(&c).results[0];
    assert_eq!((count(r, crate::cell::Role::Buggy), count(r, crate::cell::Role::Fixed)), (2, 3));
    assert_eq!(r.fixed.as_ref().unwrap().crashed_trials, 3);
}

/// With early stopping on, a variant's trials also stop once its signals
/// are settled ([`crate::oracle::settled`]): a slope pooled over three
/// trials by medians is settled by two that agree.
#[test]
fn with_early_stopping_trials_stop_once_their_signals_are_settled() {
    let script = |spec: &RunSpec| {
        let leak = if spec.scenario.ends_with("/buggy") { 1.0 } else { 0.0 };
        Series::rounds(spec.rounds, move |r| vec![("goroutines", 3.0 + leak * r.max(0) as f64)])
    };
    let count = |r: &CellResult, role: crate::cell::Role| r.runs.iter().filter(|x| x.role() == Some(role)).count();
    let (_d, p) = pattern("17-synthetic", ", trials: 3");
    let backend = SyntheticBackend::new(script);
    let builder = SyntheticBuilder::default();
    let judged = |early_stop| {
        let o = Options { early_stop, ..options() };
        let c = Campaign::new(vec![&p], plan(&[&p], &spec(&["1.22.10"])).unwrap(), &builder, vec![&backend], o);
        run_quietly(&c).results.remove(0)
    };
    let (all, early) = (judged(false), judged(true));
    let roles = (crate::cell::Role::Buggy, crate::cell::Role::Fixed);
    assert_eq!((count(&all, roles.0), count(&all, roles.1)), (3, 3));
    assert_eq!((count(&early, roles.0), count(&early, roles.1)), (2, 2));
    assert_eq!((all.verdict, early.verdict), (Verdict::Reproduced, Verdict::Reproduced));
    let (b, f) = (early.buggy.as_ref().unwrap(), early.fixed.as_ref().unwrap());
    assert_eq!((b.status, b.trials, f.status, f.trials), (Presence::Present, 2, Presence::Absent, 2));
}
