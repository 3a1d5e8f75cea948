//! The fuzzer on the synthetic backend: test-only patterns whose fixed
//! variant fails in one region of the space only, found with no hint of
//! where, minimised to the one change that matters, and replayed. Exact
//! and fast: no Go (the end-to-end tests in harness/tests/ fuzz real Go).

use super::space::{Dice, GODEBUG, GOEXPERIMENT, Space};
use super::target::DETERMINISTIC_FLOOR_S;
use super::*;
use crate::run::RunSpec;
use crate::synthetic::{Series, SyntheticBackend, SyntheticBuilder};
use crate::template::parse_pattern;
use crate::verdict::Verdict;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

/// A pattern whose symptom is the live heap growing by more than 64 KiB a
/// round; two parameters, one of which matters to the script.
fn pattern(id: &str, expect: &str) -> (tempfile::TempDir, Pattern) {
    let yaml = format!(
        r#"
title: t
family: reachability
summary: s
common: [c.go]
variants: {{buggy: {{about: b}}, fixed: {{about: f}}}}
params:
  size_kib: {{type: int, default: 8, range: [1, 4096]}}
  ratio: {{type: float, default: 1, range: [0, 10]}}
signals:
  - {{name: live_per_round, metric: heap_live, stat: slope, present_above: 65536, unit: B/round}}
run: {{rounds: 10, warmup: 2, trials: 1}}
configs:
  - {{}}
  - {{gogc: "50"}}
expect:
{expect}
"#
    );
    let d = tempfile::tempdir().unwrap();
    std::fs::write(d.path().join("c.go"), "package scenario\n").unwrap();
    let p = parse_pattern(&yaml, Path::new("p.yaml"), id, d.path()).unwrap();
    (d, p)
}

const REPRODUCED: &str = "  - verdict: reproduced";

fn v(s: &str) -> GoVersion {
    s.parse().unwrap()
}

/// A heap growing by `per_round` bytes a round.
fn growing(spec: &RunSpec, per_round: f64) -> Series {
    Series::rounds(spec.rounds, move |r| vec![("heap_live", 1e6 + per_round * (r + 1) as f64)])
}

fn options(dir: &Path, iters: u64) -> Options {
    Options {
        toolchains: vec![v("1.21.13"), v("1.22.10"), v("1.23.9"), v("1.27.3")],
        seed_toolchains: vec![v("1.21.13"), v("1.27.3")],
        backends: vec![crate::cell::BackendKind::Synthetic],
        budget: Budget::Iters(iters),
        jobs: 1,
        corpus: dir.to_path_buf(),
        rss_cap: None,
        mem_budget: 1 << 40,
        confirm: true,
        heavy_share: crate::fuzz::target::HEAVY_SHARE,
        seed: 7,
        cancel: Default::default(),
    }
}

/// Fuzzes `p` on `backend`; returns the summary.
fn fuzz_quietly(p: &Pattern, backend: &SyntheticBackend, opts: &Options) -> Summary {
    fuzz_with(p, &SyntheticBuilder::default(), backend, opts)
}

fn fuzz_with(p: &Pattern, builder: &SyntheticBuilder, backend: &SyntheticBackend, opts: &Options) -> Summary {
    let all = [p.clone()];
    let mut out = fuzz(&[p], &all, builder, backend, opts, &mut |_| {}).unwrap();
    out.remove(0)
}

fn replay_quietly(dir: &Path, p: &Pattern, backend: &SyntheticBackend) -> Vec<Replayed> {
    replay(
        dir,
        std::slice::from_ref(p),
        &SyntheticBuilder::default(),
        &[backend],
        &ReplayOptions { confirm: true, ..Default::default() },
        &mut |_| {},
    )
}

#[test]
#[cfg_attr(not(feature = "libafl"), ignore = "fuzzing needs the libafl feature")]
fn a_parameter_threshold_is_found_minimised_and_replayed() {
    let (_d, p) = pattern("90-threshold", REPRODUCED);
    // The fix holds up to 1 MiB bodies and leaks beyond: nothing in the
    // seeds hints at it (their size is 8 KiB).
    let script = |spec: &RunSpec| {
        let size: f64 = spec.params["size_kib"].parse().unwrap();
        let leaks = spec.scenario.ends_with("/buggy") || size > 1024.0;
        growing(spec, if leaks { 1e6 } else { 0.0 })
    };
    // Three seeds of LibAFL's random source, each within 120 executions
    // (measured over seeds 1-16: found after 6-49).
    let mut kept = None;
    for seed in [7, 11, 23] {
        let corpus = tempfile::tempdir().unwrap();
        let s = fuzz_quietly(&p, &SyntheticBackend::new(script), &Options { seed, ..options(corpus.path(), 120) });
        assert!(!s.interrupted);
        let f = s.findings.iter().find(|f| f.objective == Objective::FixFails).cloned().unwrap_or_else(|| {
            panic!("seed {seed}: no fix-fails finding in {} executions: {:?}", s.stats.executions, s.findings)
        });
        assert!(f.found_after <= 120, "found after {} executions", f.found_after);
        assert_eq!(f.changes, ["size_kib"], "seed {seed}: minimised to the one change that matters: {}", f.described);
        kept = Some((corpus, f));
    }
    let (corpus, f) = kept.unwrap();
    assert_eq!(f.changes, ["size_kib"], "minimised to the one change that matters: {}", f.described);
    let edge: f64 = f.boundaries["size_kib"].parse().unwrap();
    assert!((1025.0..=1040.0).contains(&edge), "narrowed to the boundary (1025): {:?}", f.boundaries);
    let size: f64 = f.config.params["size_kib"].parse().unwrap();
    assert!(size > edge * 1.2 && size <= 4096.0, "saved with a margin beyond the edge: {size}");
    assert_eq!(f.config.params["ratio"], "1", "the parameter that does not matter is back at its default");
    assert_eq!(f.result.verdict, Verdict::FixFails);
    let fixed = f.result.fixed.as_ref().unwrap();
    assert_eq!(fixed.status, crate::verdict::Presence::Present);
    assert!((fixed.signals[0].estimate.unwrap().value - 1e6).abs() < 1.0, "the numbers behind it are saved");
    // On disk: a valid one-cell matrix file with its header, and the JSON.
    let text = std::fs::read_to_string(&f.path).unwrap();
    assert!(text.starts_with("# gcfuzz finding: fix-fails"), "{text}");
    assert!(text.contains("replay: gcfuzz run --matrix"), "{text}");
    let back = RunConfig::load(&f.path, std::slice::from_ref(&p)).unwrap();
    assert_eq!(back, f.config);
    assert_eq!(back.cell(&p).unwrap().id(), f.result.cell);
    // Replayed: it holds; with the leak gone, it no longer does (exit 1).
    let rs = replay_quietly(corpus.path(), &p, &SyntheticBackend::new(script));
    assert!(rs.iter().all(|r| r.holds) && !rs.is_empty(), "{rs:?}");
    let fixed_now = SyntheticBackend::new(|spec: &RunSpec| {
        growing(spec, if spec.scenario.ends_with("/buggy") { 1e6 } else { 0.0 })
    });
    let rs = replay_quietly(corpus.path(), &p, &fixed_now);
    assert!(rs.iter().all(|r| !r.holds) && rs[0].verdict == Some(Verdict::Reproduced), "{rs:?}");
    assert!(rs.iter().all(|r| !r.unreadable), "a changed behaviour, not an unreadable finding");
    // A finding that does not read is said so, not judged as a change: a
    // configuration cut short, and a record whose configuration is gone.
    let text = std::fs::read_to_string(&f.path).unwrap();
    std::fs::write(&f.path, &text[..text.len() / 3]).unwrap();
    let orphan = f.path.with_file_name("orphan.json");
    std::fs::copy(f.path.with_extension("json"), &orphan).unwrap();
    let rs = replay_quietly(corpus.path(), &p, &SyntheticBackend::new(script));
    assert_eq!(rs.len(), 2, "{rs:?}");
    assert!(rs.iter().all(|r| r.unreadable && !r.holds && r.verdict.is_none()), "{rs:?}");
    let about_orphan =
        rs.iter().find(|r| r.path == orphan.with_extension("yaml")).expect("the orphan record is listed");
    assert!(about_orphan.detail.contains("configuration beside it is missing"), "{}", about_orphan.detail);
    let table = crate::report::fuzz::replay_table(&rs);
    assert!(table.contains("UNREADABLE") && table.contains("2 could not be read"), "{table}");
}

#[test]
#[cfg_attr(not(feature = "libafl"), ignore = "fuzzing needs the libafl feature")]
fn a_version_boundary_is_found_and_minimised_to_the_toolchain() {
    let (_d, p) = pattern("91-version", REPRODUCED);
    // The fix fails on Go 1.22 only; the seeds are on 1.21 and 1.27.
    let script = |spec: &RunSpec| {
        let on_122 = spec.program.to_string_lossy().contains("go1.22.");
        let leaks = spec.scenario.ends_with("/buggy") || on_122;
        growing(spec, if leaks { 1e6 } else { 0.0 })
    };
    // Measured over seeds 1-16: found after 5-56 executions.
    for seed in [7, 11, 23] {
        let corpus = tempfile::tempdir().unwrap();
        let s = fuzz_quietly(&p, &SyntheticBackend::new(script), &Options { seed, ..options(corpus.path(), 120) });
        let f = s.findings.iter().find(|f| f.objective == Objective::FixFails).expect("a fix-fails finding");
        assert_eq!(f.changes, ["go"], "seed {seed}: {}", f.described);
        assert_eq!(f.config.go, v("1.22.10"));
        assert_eq!(f.config.go_line, None, "the toolchain's own go line");
        assert!(f.found_after <= 120, "seed {seed}: found after {}", f.found_after);
    }
}

#[test]
#[cfg_attr(not(feature = "libafl"), ignore = "fuzzing needs the libafl feature")]
fn a_setting_where_the_bug_hides_from_its_test_is_found() {
    let (_d, p) = pattern("92-hidden", REPRODUCED);
    // The buggy variant shows nothing with GOMAXPROCS=1 (expected
    // reproduced everywhere): objective (c).
    let script = |spec: &RunSpec| {
        let hidden = spec.knobs.gomaxprocs.as_deref() == Some("1");
        let leaks = spec.scenario.ends_with("/buggy") && !hidden;
        growing(spec, if leaks { 1e6 } else { 0.0 })
    };
    let corpus = tempfile::tempdir().unwrap();
    let s = fuzz_quietly(&p, &SyntheticBackend::new(script), &options(corpus.path(), 200));
    let f = s.findings.iter().find(|f| f.objective == Objective::BugHidden).expect("a bug-hidden finding");
    assert_eq!(f.changes, ["GOMAXPROCS"], "{}", f.described);
    assert_eq!(f.config.knobs.gomaxprocs.as_deref(), Some("1"));
    assert_eq!(f.result.verdict, Verdict::NotReproduced);
    assert_eq!(f.result.expected, Some(Verdict::Reproduced));
    assert!(s.findings.iter().all(|f| f.objective != Objective::FixFails), "{:?}", s.findings);
}

#[test]
fn a_candidate_that_does_not_repeat_is_flaky_not_a_failed_fix() {
    let (_d, p) = pattern("93-flaky", REPRODUCED);
    // Every other judgement the fixed variant leaks.
    let calls = Arc::new(AtomicUsize::new(0));
    let seen = calls.clone();
    let backend = SyntheticBackend::new(move |spec: &RunSpec| {
        let fixed_leaks = spec.scenario.ends_with("/fixed") && seen.fetch_add(1, Ordering::SeqCst).is_multiple_of(2);
        growing(spec, if spec.scenario.ends_with("/buggy") || fixed_leaks { 1e6 } else { 0.0 })
    });
    let builder = SyntheticBuilder::default();
    let t = Target::new(&p, &builder, &backend);
    let c = RunConfig::seeds(&p, &[v("1.27.3")]).remove(0);
    let c = RunConfig { backend: crate::cell::BackendKind::Synthetic, ..c };
    let j = t.judge(&c);
    assert_eq!(j.first.verdict, Verdict::FixFails);
    assert_eq!(j.rerun.as_ref().map(|r| r.verdict), Some(Verdict::Reproduced), "a candidate is judged again");
    assert_eq!(j.objectives, [Objective::Flaky], "fix-fails is not confirmed; the flip is the finding");
    // Without confirmation (a deterministic backend) one run is proof.
    let mut t = Target::new(&p, &builder, &backend);
    t.confirm = false;
    let j = t.judge(&c);
    assert!(j.rerun.is_none());
    assert_eq!(j.objectives, [Objective::FixFails]);
    // A verdict the expectation predicts is no finding.
    let (_d2, expected) = pattern("94-expected", "  - verdict: fix-fails");
    let t = Target::new(&expected, &builder, &backend);
    let c = RunConfig { pattern: expected.id.clone(), ..c };
    for _ in 0..2 {
        let j = t.judge(&c);
        assert!(j.objectives.is_empty() || j.objectives == [Objective::Flaky], "{:?}", j.objectives);
    }
}

#[test]
#[cfg_attr(not(feature = "libafl"), ignore = "fuzzing needs the libafl feature")]
fn a_restart_continues_from_the_queue_on_disk() {
    let (_d, p) = pattern("95-restart", REPRODUCED);
    let backend = SyntheticBackend::new(|spec: &RunSpec| {
        // Behaviour that varies with the knobs, so the queue grows.
        let gc: f64 = spec.knobs.gogc.as_deref().and_then(|g| g.parse().ok()).unwrap_or(100.0);
        let procs: f64 = spec.knobs.gomaxprocs.as_deref().and_then(|g| g.parse().ok()).unwrap_or(2.0);
        Series::rounds(spec.rounds, move |r| {
            vec![("heap_live", 1e6), ("gc_cycles", (r + 1) as f64 * gc / 10.0), ("goroutines", procs * (r + 1) as f64)]
        })
    });
    let corpus = tempfile::tempdir().unwrap();
    let builder = SyntheticBuilder::default();
    let first = fuzz_with(&p, &builder, &backend, &options(corpus.path(), 40));
    assert!(first.stats.corpus >= 3, "{:?}", first.stats);
    assert!(first.stats.executions >= 40);
    let builds = builder.builds();
    assert!(builds.values().all(|&n| n == 1), "one build per build key, never one per execution: {builds:?}");
    assert_eq!(first.stats.builds, builds.len() as u64);
    assert!(first.stats.builds < first.stats.executions, "{:?}", first.stats);
    let queue = std::fs::read_dir(corpus.path().join("95-restart/queue")).unwrap().count();
    assert_eq!(queue, first.stats.corpus, "every queue entry is a file");
    let second = fuzz_quietly(&p, &backend, &options(corpus.path(), 10));
    assert_eq!(second.stats.corpus_start, first.stats.corpus, "the queue is read back, not judged again");
    assert!(second.stats.executions >= 10);
    // Seeds are written once and read back.
    let seeds = std::fs::read_dir(corpus.path().join("95-restart/seeds")).unwrap().count();
    assert_eq!(seeds, 4, "two configurations on two toolchains");
}

/// A xorshift dice, for property tests of the mutations.
struct Xor(u64);

impl Dice for Xor {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }
}

#[test]
fn mutations_stay_inside_the_declared_space_and_plan_one_cell() {
    let (_d, p) = pattern("96-space", REPRODUCED);
    let toolchains: Vec<GoVersion> = crate::toolchain::CATALOGUE.iter().map(|s| v(s)).collect();
    let space = Space::new(&p, &toolchains, &[crate::cell::BackendKind::Native]);
    let mut c = RunConfig::seeds(&p, &[v("1.27.3")]).remove(0);
    let mut d = Xor(0x9e3779b97f4a7c15);
    let (mut lines, mut gos) = (std::collections::BTreeSet::new(), std::collections::BTreeSet::new());
    let (mut exps, mut debugs) = (0, 0);
    let mut gogcs = std::collections::BTreeSet::new();
    for i in 0..5000 {
        let other = c.clone();
        match i % 6 {
            0 => space.mutate_knob(&mut c, &mut d),
            1 => {
                space.mutate_param(&mut c, &mut d);
            }
            2 => space.mutate_stress(&mut c, &mut d),
            3 => space.mutate_version(&mut c, &mut d),
            4 => space.mutate_run(&mut c, &mut d),
            _ => c = space.splice(&c, &other, &mut d),
        }
        space.normalize(&mut c);
        space.contains(&c, &p).unwrap_or_else(|e| panic!("{e}: {c:?}"));
        for s in c.knobs.godebug.as_deref().unwrap_or("").split(',').filter(|s| !s.is_empty()) {
            let known = GODEBUG.iter().find(|g| g.setting == s).unwrap();
            assert!(known.exists_in(c.go), "{s} on {}", c.go);
            debugs += 1;
        }
        if let Some(x) = &c.goexperiment {
            assert!(GOEXPERIMENT.iter().any(|e| e.setting == x && e.exists_in(c.go)), "{x} on {}", c.go);
            exps += 1;
        }
        // A value Go reads (it ignores any other and runs at 100).
        if let Some(g) = &c.knobs.gogc {
            assert!(g == "off" || g.parse::<u32>().is_ok_and(|n| (5..=2000).contains(&n)), "GOGC={g}");
            gogcs.insert(g.clone());
        }
        let s = c.stress;
        assert!(s.alloc_kib <= 1024 && s.pointers <= 100_000 && s.goroutines <= 100 && s.timers <= 100, "{s}");
        assert!(s.gc_ms == -1.0 || (0.0..=100.0).contains(&s.gc_ms), "{s}");
        let cell = c.cell(&p).unwrap_or_else(|e| panic!("{e}: {}", c.to_yaml(&[])));
        assert_eq!((cell.go, cell.go_line), (c.go, c.line()));
        lines.insert(c.line());
        gos.insert(c.go);
    }
    assert_eq!(gos.len(), toolchains.len(), "every toolchain is reached: {gos:?}");
    assert!(lines.len() >= 5, "go lines across the boundaries: {lines:?}");
    assert!(exps > 0 && debugs > 0);
    assert!(gogcs.len() >= 20 && gogcs.contains("off"), "GOGC across its range: {gogcs:?}");
}

#[test]
fn a_configuration_is_a_one_cell_matrix_file_that_replays_through_run() {
    let (_d, p) = pattern("97-yaml", REPRODUCED);
    let dir = tempfile::tempdir().unwrap();
    let tc = crate::toolchain::Toolchains::discover(Path::new("/nonexistent"), &[], false).unwrap().without_index();
    let mut c = RunConfig::seeds(&p, &[v("1.22.10")]).remove(1);
    c.knobs.gomemlimit = Some("0.5x".into());
    c.knobs.godebug = Some("madvdontneed=1".into());
    c.stress = "alloc-kib=64,gc-ms=10".parse().unwrap();
    c.go_line = Some(v("1.21"));
    c.params.insert("size_kib".into(), "640".into());
    let path = dir.path().join("c.yaml");
    std::fs::write(&path, c.to_yaml(&["a comment".into(), "replay: x".into()])).unwrap();
    // What `gcfuzz run --matrix` does with it: load, resolve, plan.
    let m = crate::matrix::load_file(&path).unwrap();
    let all = [p.clone()];
    let (selected, spec) = crate::matrix::resolve(&m, &all, &tc).unwrap();
    let plan = crate::matrix::plan(&selected, &spec).unwrap();
    assert_eq!(plan.cells.len(), 1, "{:?}", plan.cells.iter().map(ToString::to_string).collect::<Vec<_>>());
    assert_eq!(plan.cells[0].id(), c.cell(&p).unwrap().id());
    assert_eq!(plan.cells[0].knobs.gogc.as_deref(), Some("50"), "the second config's GOGC, pinned");
    assert_eq!(RunConfig::from_matrix(&m, &all, &path).unwrap(), c);
    // Unset knobs stay unset (no `GOGC=` in the environment).
    let mut d = c.clone();
    d.knobs = Default::default();
    std::fs::write(&path, d.to_yaml(&[])).unwrap();
    let m = crate::matrix::load_file(&path).unwrap();
    let (selected, spec) = crate::matrix::resolve(&m, &all, &tc).unwrap();
    let cell = &crate::matrix::plan(&selected, &spec).unwrap().cells[0];
    assert!(cell.knobs.env().is_empty(), "{:?}", cell.knobs);
    // A file with two values on an axis is not one configuration.
    std::fs::write(&path, d.to_yaml(&[]).replace("gogc: [\"\"]", "gogc: [\"50\", \"off\"]")).unwrap();
    let e = RunConfig::load(&path, &all).unwrap_err().to_string();
    assert!(e.contains("`gogc` must have exactly one value"), "{e}");
    // Changes and reverting them.
    let base = RunConfig::seeds(&p, &[v("1.22.10")]).remove(1);
    let ch = c.changes(&base);
    assert_eq!(ch, [Field::GoLine, Field::Gomemlimit, Field::Godebug, Field::Stress, Field::Param("size_kib".into())]);
    let mut r = c.clone();
    for f in &ch {
        r = r.with_field_of(f, &base);
    }
    assert_eq!(r, base);
    assert_eq!(
        c.describe_changes(&base),
        "line1.21 GOMEMLIMIT=0.5x GODEBUG=madvdontneed=1 stress:alloc-kib=64,gc-ms=10 size_kib=640"
    );
}

/// Issue 21: a fix that fails only where the runs need far more memory than
/// the seeds' runs. Under the fuzzer's memory cap (4x the seeds' largest
/// run, at least 256 MiB) both variants die the same way there, so no
/// objective fires; the cut itself must send the search there.
#[test]
#[cfg_attr(not(feature = "libafl"), ignore = "fuzzing needs the libafl feature")]
fn a_fix_that_fails_only_where_memory_is_heavy_is_found_behind_the_cap() {
    let (_d, p) = pattern("95-heavy", REPRODUCED);
    // Resident memory grows with the size: 18 MiB at the seeds' 8 KiB, past
    // the capped 256 MiB from 961 KiB on; the fix fails from 2048 KiB on.
    let script = |spec: &RunSpec| {
        let size: f64 = spec.params["size_kib"].parse().unwrap();
        let leaks = spec.scenario.ends_with("/buggy") || size >= 2048.0;
        let per_round = if leaks { 1e6 } else { 0.0 };
        let rss = 16.0 * 1048576.0 + size * 262144.0;
        Series::rounds(spec.rounds, move |r| vec![("heap_live", 1e6 + per_round * (r + 1) as f64), ("rss", rss)])
    };
    let backend = || {
        let mut b = SyntheticBackend::new(script);
        b.hold = std::time::Duration::from_millis(1); // time for the heavy share to count
        b
    };
    // One configuration there, judged by hand: capped, both variants are
    // killed at the cap; the cut sends it to full limits, where it fails.
    let builder = SyntheticBuilder::default();
    let b = backend();
    let t = Target::new(&p, &builder, &b);
    let seed =
        RunConfig { backend: crate::cell::BackendKind::Synthetic, ..RunConfig::seeds(&p, &[v("1.27.3")]).remove(0) };
    assert!(t.judge(&seed).objectives.is_empty(), "the seeds hold");
    t.cap_runs(RUN_CAP_FACTOR);
    let mut heavy = seed.clone();
    heavy.params.insert("size_kib".into(), "3000".into());
    let j = t.judge(&heavy);
    assert!(j.cut && j.first.verdict == Verdict::Crash, "capped, both killed at 256 MiB: {}", j.first.explanation);
    let full = j.rerun.as_ref().expect("judged again at full limits");
    assert_eq!(full.verdict, Verdict::FixFails, "{}", full.explanation);
    assert_eq!(j.objectives, [Objective::FixFails]);
    assert_eq!(t.heavy.load(Ordering::Relaxed), 1);
    let cut = behaviour::cut_slots(&j.first);
    assert_eq!(cut.len(), 2, "a cut slot per variant: {cut:?}");
    assert!(cut.iter().all(|s| j.slots.contains(s)), "the cut keeps it in the corpus");
    // Ten seeds of LibAFL's random source, 120 executions each.
    let mut after = Vec::new();
    for seed in 1..=10u64 {
        let corpus = tempfile::tempdir().unwrap();
        let s = fuzz_quietly(&p, &backend(), &Options { seed, ..options(corpus.path(), 120) });
        assert!(s.stats.slow > 0 && s.stats.heavy > 0, "seed {seed}: {:?}", s.stats);
        let Some(f) = s.findings.iter().find(|f| f.objective == Objective::FixFails) else { continue };
        assert_eq!(f.changes, ["size_kib"], "seed {seed}: minimised to the one change: {}", f.described);
        let edge: f64 = f.boundaries["size_kib"].parse().unwrap();
        assert!((2048.0..=2080.0).contains(&edge), "seed {seed}: narrowed to the boundary (2048): {:?}", f.boundaries);
        after.push(f.found_after);
    }
    after.sort_unstable();
    eprintln!("heavy-memory fix-fails found in {} of 10 seeds, after {after:?} executions", after.len());
    assert!(after.len() >= 9, "found in {} of 10 seeds: {after:?}", after.len());
    // `--heavy-share 0` gives the time back and the blind spot with it:
    // cut configurations are never judged at full limits, nothing is found.
    for seed in 1..=3u64 {
        let corpus = tempfile::tempdir().unwrap();
        let opts = Options { seed, heavy_share: 0.0, ..options(corpus.path(), 120) };
        let s = fuzz_quietly(&p, &backend(), &opts);
        assert!(s.stats.slow > 0 && s.stats.heavy == 0, "seed {seed}: {:?}", s.stats);
        assert!(s.findings.iter().all(|f| f.objective != Objective::FixFails), "seed {seed}: {:?}", s.findings);
    }
}

/// Issue 21's other four kinds of hidden region, each a weakened fix found
/// with no hint over ten seeds of LibAFL's random source (120 executions
/// each) and minimised to the changes that matter: a knob range, two
/// changes that only fail together, a stress goroutine, and a go line on a
/// newer toolchain. The distribution is printed (`--nocapture`) and
/// reported in the README.
#[test]
#[cfg_attr(not(feature = "libafl"), ignore = "fuzzing needs the libafl feature")]
fn hidden_regions_of_four_kinds_are_found_over_ten_seeds() {
    let (_d, p) = pattern("96-regions", REPRODUCED);
    type Leaks = fn(&RunSpec) -> bool;
    let gogc_high: Leaks =
        |spec| spec.knobs.gogc.as_deref().is_some_and(|g| g == "off" || g.parse::<f64>().is_ok_and(|g| g >= 800.0));
    let size_and_limit: Leaks = |spec| {
        let size: f64 = spec.params["size_kib"].parse().unwrap();
        size >= 512.0 && spec.knobs.gomemlimit.is_some()
    };
    let gc_forcer: Leaks = |spec| spec.extra_args.iter().any(|a| a == "-stress-gc-ms");
    let old_line_new_go: Leaks = |spec| {
        let path = spec.program.to_string_lossy().to_string();
        let line_121 = path.contains("/line1.21/") || path.contains("/line1.22/");
        line_121 && !path.contains("go1.21.") && !path.contains("go1.22.")
    };
    // (region, where the fix fails, the minimised changes, the least seeds
    // of ten that must find it). Measured: 10, 10, 9-10 and 8 of 10 (the
    // same ten seeds give nearly the same runs; one GC-forcer seed, found
    // after 87 executions, missed in one of three test runs: LibAFL's
    // calibration times the executions, and the time of a synthetic one
    // varies). The go-line
    // region is the hardest for this synthetic twin, whose runs do not
    // change at all with the go line until the fix fails: nothing rewards
    // half the way (real patterns whose behaviour follows the go line, such
    // as 12 and 15, do light new slots there).
    let regions: [(&str, Leaks, &[&str], usize); 4] = [
        ("GOGC >= 800 or off", gogc_high, &["GOGC"], 9),
        ("size_kib >= 512 with any GOMEMLIMIT", size_and_limit, &["GOMEMLIMIT", "size_kib"], 9),
        ("a GC forcer beside the scenario", gc_forcer, &["stress"], 9),
        ("go line 1.21-1.22 on Go 1.23+", old_line_new_go, &["go_line"], 8),
    ];
    for (what, leaks, changes, least) in regions {
        // As a real run: its resident memory follows the size it works on.
        let script = move |spec: &RunSpec| {
            let leaking = spec.scenario.ends_with("/buggy") || leaks(spec);
            let per_round = if leaking { 1e6 } else { 0.0 };
            let size: f64 = spec.params["size_kib"].parse().unwrap();
            let rss = 16.0 * 1048576.0 + size * 65536.0;
            Series::rounds(spec.rounds, move |r| vec![("heap_live", 1e6 + per_round * (r + 1) as f64), ("rss", rss)])
        };
        let mut after = Vec::new();
        for seed in 1..=10u64 {
            let corpus = tempfile::tempdir().unwrap();
            let s = fuzz_quietly(&p, &SyntheticBackend::new(script), &Options { seed, ..options(corpus.path(), 120) });
            let Some(f) = s.findings.iter().find(|f| f.objective == Objective::FixFails) else { continue };
            let mut got = f.changes.clone();
            got.sort();
            // A go line needs a newer toolchain than the seeds' oldest:
            // the toolchain may stay changed beside it.
            got.retain(|c| !(changes == ["go_line"] && c == "go"));
            assert_eq!(got, changes, "{what}, seed {seed}: minimised to {}", f.described);
            // A stress setting is reduced to the one goroutine that matters.
            if changes == ["stress"] {
                assert_eq!(f.config.stress.args().len(), 2, "{what}, seed {seed}: one goroutine: {}", f.described);
            }
            // GOGC is narrowed like a parameter (towards 100, its default).
            if changes == ["GOGC"] && f.config.knobs.gogc.as_deref() != Some("off") {
                assert_eq!(f.boundaries["GOGC"], "800", "{what}, seed {seed}: {}", f.described);
            }
            after.push(f.found_after);
        }
        after.sort_unstable();
        let median = after.get(after.len() / 2).copied().unwrap_or(0);
        eprintln!("{what}: found in {} of 10 seeds, after {after:?} executions (median {median})", after.len());
        assert!(after.len() >= least, "{what}: found in {} of 10 seeds: {after:?}", after.len());
    }
}

#[test]
#[cfg_attr(not(feature = "libafl"), ignore = "fuzzing needs the libafl feature")]
fn a_capped_first_run_never_makes_a_finding_by_itself() {
    let (_d, p) = pattern("98-capped", REPRODUCED);
    // The fixed variant "leaks" only when its run is cut short: an
    // artefact of the fuzzer's cap, not of the fix.
    let script = |spec: &RunSpec| {
        let capped = spec.max_wall < std::time::Duration::from_secs(5);
        let leaks = spec.scenario.ends_with("/buggy") || capped;
        growing(spec, if leaks { 1e6 } else { 0.0 })
    };
    let builder = SyntheticBuilder::default();
    // Deterministic (one run is proof): a candidate of a capped run is
    // judged once more at full limits, and only that judgement counts.
    let det = SyntheticBackend::new(script).claiming_determinism();
    let mut t = Target::new(&p, &builder, &det);
    t.confirm = false;
    let c =
        RunConfig { backend: crate::cell::BackendKind::Synthetic, ..RunConfig::seeds(&p, &[v("1.27.3")]).remove(0) };
    assert!(t.judge(&c).objectives.is_empty(), "uncapped: the fix holds");
    assert_eq!(t.cap_runs(RUN_CAP_FACTOR), Some(DETERMINISTIC_FLOOR_S), "a virtual clock needs no 2 s floor");
    let j = t.judge(&c);
    assert_eq!(j.first.verdict, Verdict::FixFails, "the capped run sees the artefact");
    assert_eq!(j.rerun.as_ref().map(|r| r.verdict), Some(Verdict::Reproduced), "judged again at full limits");
    assert!(j.objectives.is_empty(), "{:?}", j.objectives);
    assert_eq!(t.judgements.load(Ordering::Relaxed), 3, "one full judgement per candidate, no more");
    // A capped run that suggests nothing is not judged again.
    let quiet = SyntheticBackend::new(|spec: &RunSpec| {
        growing(spec, if spec.scenario.ends_with("/buggy") { 1e6 } else { 0.0 })
    })
    .claiming_determinism();
    let mut t = Target::new(&p, &builder, &quiet);
    t.confirm = false;
    t.judge(&c);
    t.cap_runs(RUN_CAP_FACTOR);
    let j = t.judge(&c);
    assert!(j.rerun.is_none() && j.objectives.is_empty() && j.first.verdict == Verdict::Reproduced);
    // Noisy runs: the capped candidate is confirmed and neither confirms.
    let backend = SyntheticBackend::new(script);
    let t = Target::new(&p, &builder, &backend);
    assert!(t.judge(&c).objectives.is_empty(), "uncapped: the fix holds");
    assert_eq!(t.cap_runs(RUN_CAP_FACTOR), Some(2.0), "synthetic runs take no time: the 2 s floor of a wall clock");
    let j = t.judge(&c);
    assert_eq!(j.first.verdict, Verdict::FixFails, "the capped run sees the artefact");
    assert_eq!(j.rerun.as_ref().map(|r| r.verdict), Some(Verdict::Reproduced), "confirmed at full limits");
    assert!(j.objectives.is_empty(), "neither fix-fails nor a flip: {:?}", j.objectives);
    // And a whole campaign saves nothing.
    let corpus = tempfile::tempdir().unwrap();
    let s = fuzz_quietly(&p, &SyntheticBackend::new(script), &options(corpus.path(), 60));
    assert_eq!(s.stats.run_cap_s, Some(2.0));
    assert!(s.findings.is_empty(), "{:?}", s.findings.iter().map(|f| &f.described).collect::<Vec<_>>());
}

#[test]
fn a_fixed_hang_counts_only_against_a_buggy_variant_that_finished() {
    use crate::synthetic::Exit;
    let (_d, p) = pattern("99-hang", REPRODUCED);
    let builder = SyntheticBuilder::default();
    let c =
        RunConfig { backend: crate::cell::BackendKind::Synthetic, ..RunConfig::seeds(&p, &[v("1.27.3")]).remove(0) };
    let judge = |buggy_exit: Exit| {
        let backend = SyntheticBackend::new(move |spec: &RunSpec| {
            if spec.scenario.ends_with("/fixed") {
                growing(spec, 0.0).ending(Exit::Hang)
            } else {
                growing(spec, 1e6).ending(buggy_exit.clone())
            }
        });
        // Without early stopping: the made-up hang comes after the last
        // sample, which an early stop would never wait for.
        let mut t = Target::new(&p, &builder, &backend);
        t.early_stop = false;
        t.judge(&c).objectives
    };
    assert_eq!(judge(Exit::Done), [Objective::FixedCrash], "the buggy variant finished the work the fixed one hung on");
    assert!(judge(Exit::Panic("boom".into())).is_empty(), "a buggy crash says nothing about the rounds' length");
}

#[test]
fn a_finding_names_the_one_goroutine_and_the_one_setting_it_needs() {
    let (_d, p) = pattern("97-parts", REPRODUCED);
    // The fix fails only with a GC forcer and GODEBUG madvdontneed=1 at
    // once; a finding arrives with two more stress goroutines and another
    // setting beside them, none of which matters.
    let script = |spec: &RunSpec| {
        let forcer = spec.extra_args.iter().any(|a| a == "-stress-gc-ms");
        let setting = spec.knobs.godebug.as_deref().is_some_and(|g| g.split(',').any(|s| s == "madvdontneed=1"));
        let leaks = spec.scenario.ends_with("/buggy") || (forcer && setting);
        growing(spec, if leaks { 1e6 } else { 0.0 })
    };
    let builder = SyntheticBuilder::default();
    let b = SyntheticBackend::new(script);
    let t = Target::new(&p, &builder, &b);
    let seeds = RunConfig::seeds(&p, &[v("1.27.3")])
        .into_iter()
        .map(|s| RunConfig { backend: crate::cell::BackendKind::Synthetic, ..s })
        .collect::<Vec<_>>();
    let mut c = seeds[0].clone();
    c.stress = "alloc-kib=64,gc-ms=10,timers=5".parse().unwrap();
    c.knobs.godebug = Some("gctrace=1,madvdontneed=1".into());
    let j = t.judge(&c);
    assert_eq!(j.objectives, [Objective::FixFails]);
    let space = Space::new(&p, &[v("1.27.3")], &[crate::cell::BackendKind::Synthetic]);
    let f = minimise(&t, &space, &seeds, &j, Objective::FixFails, 1, None);
    let mut changes = f.changes.clone();
    changes.sort();
    assert_eq!(changes, ["GODEBUG", "stress"], "{}", f.described);
    assert_eq!(f.config.stress.to_string(), "gc-ms=10", "{}", f.described);
    assert_eq!(f.config.knobs.godebug.as_deref(), Some("madvdontneed=1"), "{}", f.described);
}

#[test]
#[cfg_attr(not(feature = "libafl"), ignore = "fuzzing needs the libafl feature")]
fn a_finding_not_seen_again_before_saving_is_saved_as_flaky() {
    let (_d, p) = pattern("96-twice", REPRODUCED);
    // The fixed variant "leaks" above 1 MiB bodies on its first two runs of
    // each configuration only: a noise that a first judgement and its
    // confirmation share, as two native runs in a row can.
    let seen: Arc<std::sync::Mutex<std::collections::HashMap<String, usize>>> = Arc::default();
    let script = {
        let seen = seen.clone();
        move |spec: &RunSpec| {
            let size: f64 = spec.params["size_kib"].parse().unwrap();
            let fixed = !spec.scenario.ends_with("/buggy");
            let runs = if fixed {
                let mut seen = seen.lock().unwrap();
                let n = seen.entry(format!("{:?} {:?} {:?}", spec.params, spec.knobs, spec.extra_args)).or_default();
                *n += 1;
                *n
            } else {
                0
            };
            let leaks = !fixed || (size > 1024.0 && runs <= 2);
            growing(spec, if leaks { 1e6 } else { 0.0 })
        }
    };
    let corpus = tempfile::tempdir().unwrap();
    let s = fuzz_quietly(&p, &SyntheticBackend::new(script), &Options { seed: 7, ..options(corpus.path(), 120) });
    assert!(s.stats.unconfirmed > 0, "{:?}", s.stats);
    assert!(s.findings.iter().all(|f| f.objective != Objective::FixFails), "{:?}", s.findings);
    let f = s.findings.iter().find(|f| f.objective == Objective::Flaky).expect("saved as flaky");
    assert!(f.path.file_name().unwrap().to_string_lossy().starts_with("flaky-"), "{}", f.path.display());
    assert_eq!(f.changes, ["size_kib"], "{}", f.described);
}
