//! The fuzzer on real Go: a test-only pattern whose fix fails above a body
//! size it gives no hint of, found, minimised to that one parameter,
//! narrowed to the boundary and replayed, natively and on wasm (under a
//! virtual cap, proven by one full judgement); the committed corpus's seeds are
//! what the patterns' configurations give.

use crate::support::*;
use gcfuzz::build::GoBuilder;
use gcfuzz::fuzz::{self, Budget, Objective, RunConfig};
use gcfuzz::run::Native;
use gcfuzz::template::{self, Pattern};
use gcfuzz::verdict::Verdict;
use std::path::Path;

fn options(corpus: &Path, go: &str, iters: u64) -> fuzz::Options {
    let tc = toolchains();
    fuzz::Options {
        toolchains: tc.resolve(go).unwrap(),
        seed_toolchains: tc.resolve(go).unwrap(),
        backends: vec![gcfuzz::cell::BackendKind::Native],
        budget: Budget::Iters(iters),
        jobs: 2,
        corpus: corpus.to_path_buf(),
        rss_cap: Some(2 << 30),
        mem_budget: 8 << 30,
        confirm: true,
        heavy_share: fuzz::target::HEAVY_SHARE,
        seed: 11,
        cancel: Default::default(),
    }
}

/// Fixture 94's finding: fix-fails, minimised to `size_kib`, narrowed to
/// its boundary (513) and saved with a margin beyond it; and that size.
fn the_size_finding(s: &fuzz::Summary) -> (&fuzz::Finding, u64) {
    let f = s
        .findings
        .iter()
        .find(|f| f.objective == Objective::FixFails)
        .unwrap_or_else(|| panic!("no fix-fails finding in {} executions: {:?}", s.stats.executions, s.findings));
    assert_eq!(f.changes, ["size_kib"], "{}", f.described);
    let edge: u64 = f.boundaries["size_kib"].parse().unwrap();
    assert!((513..=560).contains(&edge), "narrowed to the boundary (513): {:?}", f.boundaries);
    let size: u64 = f.config.params["size_kib"].parse().unwrap();
    assert!(size > edge, "saved with a margin beyond the boundary: {}", f.described);
    assert_eq!(f.result.verdict, Verdict::FixFails);
    (f, size)
}

#[test]
fn fuzzing_real_go_finds_a_fix_that_fails_above_a_size_and_replays_it() {
    let machine = shared();
    let t = fixture_templates(&["94-fix-fails-above"]);
    let all: Vec<Pattern> = template::load_all(t.path()).unwrap();
    let p = &all[0];
    let builder = GoBuilder::new(&home(), &t.path().join("probe"), toolchains());
    let corpus = tempfile::tempdir().unwrap();
    // Measured on the synthetic twin of this search: found after 6-49
    // executions over 16 seeds. On real Go the feedback follows measured
    // numbers, so the search differs run to run: 60 missed once in CI and
    // once in 13 local runs (2026-12-04); 120 leave room for that.
    let mut out = fuzz::fuzz(&[p], &all, &builder, &Native, &options(corpus.path(), "latest", 120), &mut |e| {
        if let fuzz::FuzzEvent::Finding(f) = e {
            eprintln!("{}", gcfuzz::report::fuzz::finding_line(f));
        }
    })
    .unwrap();
    let s = out.remove(0);
    eprint!("{}", gcfuzz::report::fuzz::summary_table(std::slice::from_ref(&s)));
    let (f, size) = the_size_finding(&s);
    // One toolchain: a build per go line and GOEXPERIMENT visited (at most
    // 7 × 2), never one per execution.
    assert!(s.stats.builds <= 14 && s.stats.builds < s.stats.executions, "{:?}", s.stats);
    drop(machine);
    // `gcfuzz run --matrix` replays the finding as one cell with the same verdict.
    let env = [("GCFUZZ_TEMPLATES", t.path())];
    let o = gcfuzz(&["run", "--no-out", "--matrix", &f.path.display().to_string()], &env);
    assert_eq!(o.code, Some(1), "fix-fails is not the expected verdict: {o}");
    assert!(o.stdout.contains("fix-fails") && o.stdout.contains(&format!("size_kib={size}")), "{o}");
    // `gcfuzz replay` re-judges it: it holds (exit 0).
    let o = gcfuzz(&["replay", &corpus.path().display().to_string()], &env);
    assert_eq!(o.code, Some(0), "{o}");
    assert!(o.stdout.contains("1 of 1 findings behave as saved"), "{o}");
}

/// Issue 21: fixture 89's fix fails only from 40 MiB buffers on, where its
/// runs need 320 MiB to 1 GiB against ~25 MiB at the default size: past
/// the fuzzer's cap on first judgements, where both variants are killed
/// the same way. The cut of the fixed variant sends the configuration to
/// a judgement at full limits. Measured with `gcfuzz fuzz 89 --go 1.27
/// --iters 60`: found in 5 of 5 seeds (the build before this rule: 2 of 5).
#[test]
fn fuzzing_real_go_finds_a_fix_that_fails_only_where_memory_is_heavy() {
    let machine = shared();
    let t = fixture_templates(&["89-fix-fails-heavy"]);
    let all: Vec<Pattern> = template::load_all(t.path()).unwrap();
    let p = &all[0];
    let builder = GoBuilder::new(&home(), &t.path().join("probe"), toolchains());
    for seed in [1, 3] {
        let corpus = tempfile::tempdir().unwrap();
        let opts = fuzz::Options { seed, jobs: 1, ..options(corpus.path(), "latest", 60) };
        let s = fuzz::fuzz(&[p], &all, &builder, &Native, &opts, &mut |_| {}).unwrap().remove(0);
        eprint!("{}", gcfuzz::report::fuzz::summary_table(std::slice::from_ref(&s)));
        assert!(
            s.stats.slow > 0 && s.stats.heavy > 0,
            "seed {seed}: the cap cut runs and some were judged again: {:?}",
            s.stats
        );
        let f = s.findings.iter().find(|f| f.objective == Objective::FixFails).unwrap_or_else(|| {
            panic!("seed {seed}: no fix-fails in {} executions: {:?}", s.stats.executions, s.findings)
        });
        assert_eq!(f.changes, ["size_mib"], "seed {seed}: {}", f.described);
        // Narrowed to the boundary, or found on it (then nothing to narrow).
        let edge: u64 = f.boundaries.get("size_mib").unwrap_or(&f.config.params["size_mib"]).parse().unwrap();
        assert!((40..=42).contains(&edge), "seed {seed}: the boundary (40): {:?} {}", f.boundaries, f.described);
        assert_eq!(f.result.verdict, Verdict::FixFails, "the saved judgement is a full one");
        assert!(f.result.runs.iter().all(|r| r.crash.is_none()), "no run of the saved judgement was cut");
    }
    drop(machine);
}

/// Fuzzes `p` on wasm (`--go oldest --iters 60 --jobs 2`) with each of
/// `seeds` in turn until one finds a fix-fails: two jobs make the order of
/// judgements, and so a seed's path, vary between runs, and a second seed
/// keeps a miss of one from failing a test. Returns the corpus and summary
/// of the last campaign run.
fn fuzz_wasm_until_found(
    p: &Pattern,
    all: &[Pattern],
    builder: &GoBuilder,
    wasm: &gcfuzz::wasm::Wasm,
    seeds: &[u64],
) -> (tempfile::TempDir, fuzz::Summary) {
    let mut last = None;
    for &seed in seeds {
        let corpus = tempfile::tempdir().unwrap();
        let opts = fuzz::Options {
            backends: vec![gcfuzz::cell::BackendKind::Wasm],
            confirm: false,
            seed,
            ..options(corpus.path(), "oldest", 60)
        };
        let s = fuzz::fuzz(&[p], all, builder, wasm, &opts, &mut |_| {}).unwrap().remove(0);
        eprint!("{}", gcfuzz::report::fuzz::summary_table(std::slice::from_ref(&s)));
        let found = s.findings.iter().any(|f| f.objective == Objective::FixFails);
        last = Some((corpus, s));
        if found {
            break;
        }
    }
    last.expect("at least one seed")
}

/// Fixture 89 on wasm: the virtual cap cuts the heavy runs the same way
/// (linear memory past 256 MiB). Measured with `gcfuzz fuzz 89 --go oldest
/// --backend wasm --iters 60 --jobs 2`, seeds 1-5: found in 5 of 5 (6-12
/// executions/s); the build before the rule, 0 of 5 (15-31/s).
#[test]
fn fuzzing_on_wasm_finds_the_fix_that_fails_where_memory_is_heavy() {
    let machine = shared();
    let t = fixture_templates(&["89-fix-fails-heavy"]);
    let all: Vec<Pattern> = template::load_all(t.path()).unwrap();
    let p = &all[0];
    let builder = GoBuilder::new(&home(), &t.path().join("probe"), toolchains());
    let wasm = gcfuzz::wasm::Wasm::new().unwrap();
    let (_corpus, s) = fuzz_wasm_until_found(p, &all, &builder, &wasm, &[1, 2]);
    let f = s
        .findings
        .iter()
        .find(|f| f.objective == Objective::FixFails)
        .unwrap_or_else(|| panic!("no fix-fails finding on wasm with seeds 1 and 2: {:?}", s.stats));
    assert!(s.stats.heavy > 0, "{:?}", s.stats);
    assert_eq!(f.changes, ["size_mib"], "{}", f.described);
    assert_eq!((f.result.config.backend.name(), f.result.verdict), ("wasm", Verdict::FixFails));
    assert!(f.result.runs.iter().all(|r| r.crash.is_none()), "the proof is a full judgement, nothing cut");
    drop(machine);
}

#[test]
fn fuzzing_on_wasm_finds_it_under_a_virtual_cap_and_proves_it_with_one_full_judgement() {
    let machine = shared();
    let t = fixture_templates(&["94-fix-fails-above"]);
    let all: Vec<Pattern> = template::load_all(t.path()).unwrap();
    let p = &all[0];
    let builder = GoBuilder::new(&home(), &t.path().join("probe"), toolchains());
    let wasm = gcfuzz::wasm::Wasm::new().unwrap();
    // Measured 2026-12-04 with `gcfuzz fuzz 94 --go oldest --backend wasm
    // --iters 60 --jobs 2`: 12 of 12 seeds found it (the build before issue
    // 21's mutators as well), but seed 11 missed in 2 of 4 runs.
    let (corpus, s) = fuzz_wasm_until_found(p, &all, &builder, &wasm, &[11, 12]);
    // First judgements are capped on wasm too, in virtual time.
    let cap = s.stats.run_cap_s.expect("a cap on wasm");
    assert!((fuzz::target::DETERMINISTIC_FLOOR_S..p.run.max_wall_s).contains(&cap), "{cap}");
    let (f, _) = the_size_finding(&s);
    // The proof is a judgement at the pattern's own limits (its 5 s, not
    // the cap), on wasm, and nothing in it was cut: each run did its
    // rounds or was stopped by the oracle once decided.
    assert_eq!((f.result.config.backend.name(), f.result.verdict), ("wasm", Verdict::FixFails));
    assert_eq!(f.result.runs.len(), 2);
    for run in &f.result.runs {
        let at = run.args.iter().position(|a| a == "-max-wall").expect("a -max-wall argument");
        assert_eq!(run.args[at + 1], "5000ms", "{}: {:?}", run.variant(), run.args);
        let o = &run.outcome;
        assert!(
            !o.stop.timed_out() && o.stop.over_memory().is_none() && o.fuel.is_some() && o.clock_ns.is_some(),
            "{o:?}"
        );
        assert!(o.stop.stopped_early() || run.done.as_ref().is_some_and(|d| d.reason == "rounds"), "{:?}", run.done);
    }
    drop(machine);
    let env = [("GCFUZZ_TEMPLATES", t.path())];
    let o = gcfuzz(&["replay", &corpus.path().display().to_string()], &env);
    assert_eq!(o.code, Some(0), "{o}");
    let n = s.findings.len();
    assert!(o.stdout.contains(&format!("{n} of {n} findings behave as saved")), "{o}");
}

#[test]
fn the_committed_seeds_are_the_patterns_default_configurations() {
    let all: Vec<Pattern> = template::load_all(&templates()).unwrap();
    let tc = toolchains();
    let default = tc.resolve(gcfuzz::toolchain::DEFAULT_SPEC).unwrap();
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("../corpus");
    for p in &all {
        let dir = corpus.join(&p.id).join("seeds");
        let mut committed: Vec<RunConfig> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e} (make fuzz writes the seeds)", dir.display()))
            .map(|e| RunConfig::load(&e.unwrap().path(), &all).unwrap())
            .collect();
        let mut want = RunConfig::seeds(p, &default);
        let key = |c: &RunConfig| c.to_yaml(&[]);
        committed.sort_by_key(key);
        want.sort_by_key(key);
        assert_eq!(committed, want, "{}: the seeds differ from the pattern's configs", p.id);
    }
}

#[test]
fn ctrl_c_keeps_the_queue_and_a_restart_continues_from_it() {
    let _machine = shared();
    // The fixture under an id of this test's own, so its children are
    // told apart from other tests'.
    let t = fixture_templates(&[]);
    copy_dir(&fixtures().join("patterns/94-fix-fails-above"), &t.path().join("96-interrupted"));
    let corpus = tempfile::tempdir().unwrap();
    let queue = corpus.path().join("96-interrupted/queue");
    let spawn = |iters: &str| {
        std::process::Command::new(env!("CARGO_BIN_EXE_gcfuzz"))
            .args(["fuzz", "96", "--go", "latest", "--iters", iters, "--seed", "3", "--corpus"])
            .arg(corpus.path())
            .env("GCFUZZ_HOME", home())
            .env("GCFUZZ_TEMPLATES", t.path())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    };
    let child = spawn("100000");
    let entries = || std::fs::read_dir(&queue).map(|r| r.count()).unwrap_or(0);
    let start = std::time::Instant::now();
    while entries() < 3 {
        assert!(start.elapsed().as_secs() < 300, "the queue never grew");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    // SAFETY: signalling our own child process.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    assert!(stderr.contains("interrupted"), "{stderr}");
    assert_eq!(processes_with("96-interrupted/").len(), 0, "no child outlives an interrupt");
    let kept = entries();
    for e in std::fs::read_dir(&queue).unwrap() {
        let path = e.unwrap().path();
        let all = template::load_all(t.path()).unwrap();
        RunConfig::load(&path, &all).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    }
    let out = spawn("2").wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains(&format!("{kept} queue entries from earlier runs")), "{stderr}");
}
