//! The wasm backend on real Go wasip1 modules: bit-for-bit replays, the
//! seed, the virtual clock, limits as verdicts, the module cache, the
//! planner's skips, and the exact snapshots of the pattern suite.

use crate::support::{fixture_templates, home, shared, toolchains};
use gcfuzz::build::{BuildKey, Builder, GoBuilder, Target};
use gcfuzz::campaign::{self, Campaign};
use gcfuzz::judge;
use gcfuzz::matrix::{self, MatrixSpec};
use gcfuzz::results::CellResult;
use gcfuzz::run::{Backend, CrashClass, RunRecord, RunSpec};
use gcfuzz::template::{self, Pattern};
use gcfuzz::verdict::Verdict;
use gcfuzz::wasm::Wasm;
use std::fmt::Write as _;
use std::path::Path;
use std::time::Duration;

/// Runs every cell of `patterns` (in `templates`) on wasm, Go `go`, as a
/// campaign: one program (so one compiled module) for all of them, which
/// keeps the tests' Cranelift compilations few in a debug build.
fn judge_all(templates: &Path, patterns: &[&str], go: &str, wasm: &Wasm, rss_cap: Option<u64>) -> Vec<CellResult> {
    let all = template::load_all(templates).unwrap_or_else(|e| panic!("{e}"));
    let names: Vec<String> = patterns.iter().map(|s| s.to_string()).collect();
    let selected = template::select(&all, &names).unwrap();
    let tc = toolchains();
    let spec = MatrixSpec {
        go: tc.resolve(go).unwrap(),
        backends: vec![gcfuzz::cell::BackendKind::Wasm],
        ..Default::default()
    };
    let plan = matrix::plan(&selected, &spec).unwrap();
    let builder = GoBuilder::new(&home(), &templates.join("probe"), tc);
    let options = campaign::Options {
        jobs: 1,
        rss_cap,
        mem_budget: 8 << 30,
        detectors: false,
        early_stop: false,
        ..Default::default()
    };
    let c = Campaign::new(selected, plan, &builder, vec![wasm], options);
    campaign::run(&c, &mut |_| {}).unwrap_or_else(|e| panic!("{e}")).results
}

fn cell<'r>(rs: &'r [CellResult], pattern: &str) -> &'r CellResult {
    rs.iter().find(|r| r.config.pattern.starts_with(pattern)).unwrap_or_else(|| panic!("no {pattern} cell"))
}

/// A run as JSON without its wall times (the only thing allowed to move).
fn without_wall(r: &RunRecord) -> serde_json::Value {
    let mut v = serde_json::to_value(r).unwrap();
    v["outcome"]["wall_ms"] = serde_json::Value::Null;
    v
}

fn run_of<'r>(r: &'r CellResult, variant: &str) -> &'r RunRecord {
    r.runs.iter().find(|x| x.variant() == variant).unwrap_or_else(|| panic!("no {variant} run: {:?}", r.error))
}

#[test]
fn a_wasm_cell_replays_bit_for_bit_its_sleeps_take_no_time_and_its_module_is_cached() {
    let _m = shared();
    let d = fixture_templates(&["95-wasm-seeded"]);
    let first = Wasm::new().unwrap();
    let a = judge_all(d.path(), &["95"], "oldest", &first, None);
    // A second backend (as a second gcfuzz process would be) loads the
    // compiled module from beside the build instead of compiling it.
    let second = Wasm::new().unwrap();
    let b = judge_all(d.path(), &["95"], "oldest", &second, None);
    assert_eq!(second.cache.compiled.load(std::sync::atomic::Ordering::Relaxed), 0, "no second compilation");
    assert_eq!(second.cache.loaded.load(std::sync::atomic::Ordering::Relaxed), 2, "a module per variant");
    assert_eq!((a.len(), b.len()), (1, 1));
    assert_eq!(a[0].runs.len(), 2, "{:?}", a[0].error);
    for (x, y) in a[0].runs.iter().zip(&b[0].runs) {
        assert_eq!(without_wall(x), without_wall(y), "identical apart from wall time");
    }
    let va = serde_json::to_value(&a[0]).unwrap().to_string();
    let strip = |s: &str| {
        s.split("\"wall_ms\":").map(|p| p.trim_start_matches(|c: char| c.is_ascii_digit())).collect::<Vec<_>>().join("")
    };
    assert_eq!(strip(&va), strip(&serde_json::to_value(&b[0]).unwrap().to_string()));
    assert_eq!(a[0].verdict, gcfuzz::verdict::Verdict::Reproduced, "{}", a[0].explanation);

    let buggy = run_of(&a[0], "buggy");
    assert_eq!(buggy.backend, gcfuzz::cell::BackendKind::Wasm);
    let fuel = buggy.outcome.fuel.expect("wasm counts fuel");
    assert!(fuel > 1_000_000, "{fuel}");
    let per_sample: Vec<f64> = buggy.samples.iter().map(|s| s.get("fuel").expect("each sample has fuel")).collect();
    assert!(per_sample.windows(2).all(|w| w[1] > w[0]), "fuel only grows: {per_sample:?}");
    assert!(per_sample.last().copied().unwrap() <= fuel as f64);
    assert!(buggy.samples.iter().all(|s| s.get("fds").is_none() && s.get("rss").is_some()), "no /proc; rss = memory");
    // Eight rounds sleep 250 ms each in virtual time; the wall clock does
    // not wait for them.
    let done = buggy.done.as_ref().expect("done line");
    assert!(done.t_ns >= 8 * 250_000_000, "virtual time covers the sleeps: {} ns", done.t_ns);
    assert!(buggy.outcome.wall_ms < 2000, "sleeps take no wall time: {} ms", buggy.outcome.wall_ms);
    assert_eq!(buggy.outcome.seed, Some(judge::trial_seed(0)));
}

#[test]
fn a_different_seed_changes_what_depends_on_it_and_nothing_else() {
    let _m = shared();
    let d = fixture_templates(&["95-wasm-seeded"]);
    let all = template::load_all(d.path()).unwrap();
    let p: &Pattern = &all[0];
    let tc = toolchains();
    let go = tc.resolve("oldest").unwrap()[0];
    let builder = GoBuilder::new(&home(), &d.path().join("probe"), tc);
    let key = BuildKey { target: Target::Wasip1, ..BuildKey::new(go, go.series()) };
    // Both variants, as the campaign builds it: the same program (and
    // module) as the other test's.
    let both = [(p, p.variant("buggy").unwrap()), (p, p.variant("fixed").unwrap())];
    let art = builder.build(&key, &both).unwrap_or_else(|e| panic!("{e}"));
    let wasm = Wasm::new().unwrap();
    let spec = |seed: u64| RunSpec {
        program: art.program(&format!("{}/fixed", p.id)).unwrap(),
        scenario: format!("{}/fixed", p.id),
        params: p.default_params(),
        knobs: Default::default(),
        rounds: 8,
        gc_per_sample: 1,
        max_wall: Duration::from_secs(30),
        timeout: Duration::from_secs(60),
        rss_cap: None,
        extra_args: vec![],
        stop_when: None,
        seed,
        cancel: Default::default(),
    };
    let (one, again, other) = (wasm.run(&spec(1)).unwrap(), wasm.run(&spec(1)).unwrap(), wasm.run(&spec(2)).unwrap());
    assert_eq!(without_wall(&one), without_wall(&again), "same seed, same run");
    let series = |r: &RunRecord, k: &str| -> Vec<f64> { r.samples.iter().map(|s| s.get(k).unwrap()).collect() };
    // What the seed decides: math/rand's stream and the map's order.
    assert_ne!(series(&one, "draws"), series(&other, "draws"), "math/rand follows the seed");
    assert_ne!(series(&one, "first_key"), series(&other, "first_key"), "map order follows the seed");
    // What it does not: the work, the rounds, the goroutines, the bytes
    // the scenario allocates. (The map's overflow buckets do follow the
    // hash seed: a few objects more or fewer.)
    for k in ["work", "round", "goroutines"] {
        assert_eq!(series(&one, k), series(&other, k), "{k} does not depend on the seed");
    }
    let objects = |r: &RunRecord| series(r, "alloc_objects").last().copied().unwrap();
    assert!((objects(&one) - objects(&other)).abs() <= 16.0, "{} vs {}", objects(&one), objects(&other));
    assert_eq!((one.outcome.seed, other.outcome.seed), (Some(1), Some(2)));
}

#[test]
fn wasm_limits_are_verdicts_out_of_memory_fuel_and_the_virtual_watchdog() {
    let _m = shared();
    let d = fixture_templates(&["91-hangs", "92-eats-memory", "96-spins"]);
    let wasm = Wasm::new().unwrap();

    let all = judge_all(d.path(), &["91", "92", "96"], "latest", &wasm, Some(256 << 20));
    // The memory cap: Go is refused memory and says so; the class is ours.
    let m = cell(&all, "92");
    let b = run_of(m, "buggy");
    let crash = b.crash.as_ref().expect("out of memory");
    assert_eq!(crash.class, CrashClass::OutOfMemory, "{crash:?}\n{}", b.outcome.stderr);
    assert!(b.outcome.stop.over_memory().is_some_and(|n| n > 256 << 20), "{:?}", b.outcome.stop.over_memory());
    assert!(b.outcome.stderr.contains("out of memory"), "{}", b.outcome.stderr);
    assert!(run_of(m, "fixed").crash.is_none());

    // A spin that never yields: only the fuel budget (1 s of virtual time
    // = 1e9 instructions) stops it, at exactly the budget, every time.
    let s = cell(&all, "96");
    let b = run_of(s, "buggy");
    let crash = b.crash.as_ref().expect("timeout");
    assert_eq!(crash.class, CrashClass::Timeout);
    assert!(crash.message.contains("fuel budget of 1000000000 instructions"), "{}", crash.message);
    assert_eq!(b.outcome.fuel, Some(1_000_000_000));
    assert!(b.outcome.stop.timed_out());
    let again = judge_all(d.path(), &["91", "92", "96"], "latest", &wasm, Some(256 << 20));
    let again = cell(&again, "96");
    assert_eq!(without_wall(b), without_wall(run_of(again, "buggy")));

    // A goroutine asleep for an hour: the probe's watchdog (2 s of
    // virtual time) fires at once instead.
    let h = cell(&all, "91");
    let b = run_of(h, "buggy");
    assert_eq!(b.crash.as_ref().map(|c| c.class), Some(CrashClass::Timeout), "{:?}", b.crash);
    assert_eq!(b.done.as_ref().map(|d| d.reason.as_str()), Some("watchdog"));
    assert!(b.outcome.wall_ms < 2000, "{} ms", b.outcome.wall_ms);
}

#[test]
fn the_planner_skips_what_wasm_cannot_run_with_the_reason() {
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_gcfuzz"))
        .args(["plan", "--backend", "wasm,native", "--go", "oldest", "--gomaxprocs", "1,2"])
        .env("GCFUZZ_HOME", home())
        .current_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join(".."))
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(0), "{out}{}", String::from_utf8_lossy(&o.stderr));
    for (id, why) in [
        ("01-goroutine-parked-send", "needs sockets, which the wasm backend lacks"),
        ("05-finalizer-before-last-use", "needs syscalls, which the wasm backend lacks"),
        ("09-close-left-to-finalizer", "needs sockets, which the wasm backend lacks"),
        ("02-subslice-pins-array", "needs threads (GOMAXPROCS > 1), which the wasm backend lacks"),
    ] {
        assert!(out.lines().any(|l| l.starts_with("skipped: ") && l.contains(id) && l.contains(why)), "{id}:\n{out}");
    }
    assert!(out.contains("02-subslice-pins-array go1.21.13 line1.21 GOMAXPROCS=1 backend:wasm"), "{out}");
    assert!(
        !out.lines().any(|l| !l.starts_with("skipped") && l.contains("01-goroutine") && l.contains("backend:wasm"))
    );
}

/// One cell's exact line: statuses, every signal's estimate, every run's
/// fuel. f64s print as the shortest text that reads back the same.
fn exact(r: &CellResult) -> String {
    let mut s =
        format!("{} line{} {}: {}", r.config.pattern, r.config.go_line.line_string(), r.config.knobs, r.verdict);
    for v in [&r.buggy, &r.fixed].into_iter().flatten() {
        let _ = write!(s, "\n  {} {}", v.variant, v.status);
        for sig in &v.signals {
            match &sig.estimate {
                Some(e) => {
                    let _ = write!(s, "\n    {} = {} [{}, {}]", sig.name, e.value, e.lo, e.hi);
                }
                None => {
                    let _ = write!(s, "\n    {} = - ({})", sig.name, sig.note.as_deref().unwrap_or(""));
                }
            }
        }
    }
    for run in &r.runs {
        let _ = write!(
            s,
            "\n  run {} seed {:?}: fuel {:?}, {} samples, {}",
            run.variant(),
            run.outcome.seed,
            run.outcome.fuel,
            run.samples.len(),
            run.crash.as_ref().map(|c| format!("{:?}", c.class)).unwrap_or_else(|| "clean".into())
        );
    }
    s + "\n"
}

#[test]
fn the_wasm_suite_is_identical_twice_and_matches_its_exact_snapshot() {
    let _m = shared();
    // Full rounds: the snapshot keeps every round's numbers (early stopping
    // is as deterministic on wasm, but would cut the series it records).
    let run = |out: &Path| {
        let o = std::process::Command::new(env!("CARGO_BIN_EXE_gcfuzz"))
            .args(["run", "--backend", "wasm", "--go", "oldest", "--jobs", "2", "--no-early-stop", "--quiet", "--out"])
            .arg(out)
            .env("GCFUZZ_HOME", home())
            .env_remove("GCFUZZ_TEMPLATES")
            .current_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join(".."))
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
        gcfuzz::journal::read(&out.join("results.jsonl")).unwrap()
    };
    let d = tempfile::tempdir().unwrap();
    let (mut a, mut b) = (run(&d.path().join("a")), run(&d.path().join("b")));
    // The journal is in finishing order (two jobs); the snapshot in plan order.
    a.sort_by(|x, y| x.cell.cmp(&y.cell));
    b.sort_by(|x, y| x.cell.cmp(&y.cell));
    // Skipped with the reason: 01, 05 and 09 (sockets, syscalls), and the
    // configurations the patterns limit to newer toolchains (03's
    // noswissmap, 15's go line 1.22 and its GODEBUG setting).
    let skipped = |rs: &mut Vec<CellResult>| -> Vec<String> {
        let out = rs
            .iter()
            .filter(|r| r.verdict == Verdict::Skipped)
            .map(|r| format!("{} {}", r.config.pattern, r.explanation))
            .collect();
        rs.retain(|r| r.verdict != Verdict::Skipped);
        out
    };
    let (sa, sb) = (skipped(&mut a), skipped(&mut b));
    assert_eq!(sa, sb);
    assert_eq!(sa.len(), 6, "{sa:#?}");
    assert_eq!(sa.iter().filter(|s| s.contains("which the wasm backend lacks")).count(), 3, "{sa:#?}");
    assert_eq!(a.len(), 13, "16 patterns less 01, 05 and 09 (sockets, syscalls)");
    let strip = |c: &CellResult| {
        let mut v = serde_json::to_value(c).unwrap();
        for k in ["buggy", "fixed"] {
            v[k]["wall_ms"] = serde_json::Value::Null;
        }
        v
    };
    for (x, y) in a.iter().zip(&b) {
        assert_eq!(x.cell, y.cell);
        assert_eq!(strip(x), strip(y), "{} differs between two runs", x.cell);
        assert_eq!(x.runs.len(), y.runs.len());
        assert!(!x.runs.is_empty(), "{}: the journal keeps its runs", x.cell);
        for (p, q) in x.runs.iter().zip(&y.runs) {
            assert_eq!(without_wall(p), without_wall(q), "{}: a run differs between two runs", x.cell);
        }
    }
    let text: String = a.iter().map(exact).collect();
    insta::with_settings!({
        snapshot_path => Path::new(env!("CARGO_MANIFEST_DIR")).join("../snapshots"),
        prepend_module_to_snapshot => false,
        omit_expression => true,
        description => "gcfuzz run --backend wasm --go oldest: every estimate and every run's fuel, exact",
    }, {
        insta::assert_snapshot!("wasm-exact-go1.21.13", text);
    });
}
