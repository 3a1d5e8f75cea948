//! Bug reports written as patterns (issue 27): what a faithful reproducer
//! needs from gcfuzz, on real Go.

use crate::support::{Run, cell, estimate, fixture_templates, gcfuzz};
use gcfuzz::verdict::{Presence, Verdict};

/// A reused queue whose removed items stay in its spare capacity before Go
/// 1.22 (slices.DeleteFunc): a bounded leak, megabytes kept, slope 0. The
/// level signal decides it on the version it affects and not elsewhere.
#[test]
fn a_leak_that_levels_off_is_reproduced_where_it_exists() {
    let fx = fixture_templates(&["84-plateau-slices-delete"]);
    let mut run = Run::new(&["84"], "1.21,1.22,latest");
    run.templates = fx.path().to_path_buf();
    let rs = run.results();
    assert_eq!(rs.len(), 3, "{}", gcfuzz::report::table(&rs));
    let kept_slots = 64.0 * 64.0 * 1024.0; // slots × item_kib
    let old = cell(&rs, "1.21", "1.21", None);
    assert_eq!(old.verdict, Verdict::Reproduced, "{}", old.explanation);
    assert!(old.met);
    let b = estimate(old, "buggy", "kept");
    assert!((kept_slots..kept_slots * 1.05).contains(&b), "go 1.21: the queue keeps its 64 items: {b} B");
    let kept = old.buggy.as_ref().unwrap().signals.iter().find(|s| s.name == "kept").unwrap();
    assert_eq!(kept.threshold, 64.0 * 32768.0);
    assert_eq!(kept.n, 10, "12 rounds less 2 warm-up");
    assert!(kept.estimate.unwrap().lo > kept.threshold, "{kept:?}");
    // The slope, the only statistic before `level`, reads no leak at all.
    let slope = estimate(old, "buggy", "growth");
    assert!(slope.abs() < 64.0, "go 1.21: a bounded leak has no slope: {slope} B/item");
    let growth = old.buggy.as_ref().unwrap().signals.iter().find(|s| s.name == "growth").unwrap();
    assert_eq!(growth.status, Presence::Absent);
    for r in &rs {
        let f = estimate(r, "fixed", "kept");
        assert!(f < 64.0 * 1024.0, "go {}: the fixed queue keeps {f} B", r.config.go);
    }
    for go in ["1.22", "1.27"] {
        let r = cell(&rs, go, go, None);
        assert_eq!(r.verdict, Verdict::NotReproduced, "go {go}: {}", r.explanation);
        assert!(r.met);
        let b = estimate(r, "buggy", "kept");
        assert!(b < 64.0 * 1024.0, "go {go}: DeleteFunc zeroes the tail, buggy keeps {b} B");
    }
}

/// Cleanups that close handles (50 µs each) run on their own goroutine
/// after the GC: `settle: finalizers` makes the probe wait for them, so a
/// fixed variant that lets every handle go reads 0 open handles with no
/// sleep of its own. Without settling the same code reads hundreds. The
/// pattern needs runtime.AddCleanup (Go 1.24): the cells its configs leave
/// out are in every output, with the reason.
#[test]
fn cleanups_are_counted_after_they_ran_and_cells_left_out_are_reported() {
    let fx = fixture_templates(&["83-cleanups-settled"]);
    let out = tempfile::tempdir().unwrap();
    let dir = out.path().join("out");
    let o = gcfuzz(
        &["run", "83", "--go", "1.21,1.25,latest", "--no-early-stop", "--out", dir.to_str().unwrap()],
        &[("GCFUZZ_TEMPLATES", fx.path())],
    );
    assert_eq!(o.code, Some(0), "{o}");
    let rs = gcfuzz::journal::read(&dir.join("results.jsonl")).unwrap();
    assert_eq!(rs.len(), 3, "{o}");
    let reason = "the pattern's configs limit this configuration to go `>=1.24`";
    let skipped = rs.iter().find(|r| r.verdict == Verdict::Skipped).expect("1.21 is reported");
    assert_eq!(skipped.config.go.minor, 21);
    assert_eq!(skipped.explanation, format!("not run: {reason}"));
    for (what, text) in [
        ("the table", o.stdout.clone()),
        ("verdicts.json", std::fs::read_to_string(dir.join("verdicts.json")).unwrap()),
        ("summary.md", std::fs::read_to_string(dir.join("summary.md")).unwrap()),
        ("report.html", std::fs::read_to_string(dir.join("report.html")).unwrap()),
    ] {
        assert!(text.contains("skipped") && text.contains("limit this configuration to go"), "{what}:\n{text}");
    }
    let junit = std::fs::read_to_string(dir.join("junit.xml")).unwrap();
    assert!(junit.contains("<skipped message=\"not run: the pattern&apos;s configs limit"), "{junit}");
    assert!(junit.contains("skipped=\"1\""), "{junit}");
    crate::support::validate_junit(&dir.join("junit.xml")).unwrap_or_else(|e| panic!("{e}"));
    for r in rs.iter().filter(|r| r.verdict != Verdict::Skipped) {
        assert_eq!(r.verdict, Verdict::Reproduced, "go {}: {}", r.config.go, r.explanation);
        assert_eq!(estimate(r, "buggy", "not_cleaned"), 1300.0, "go {}: 200 a round kept, rounds 2-9", r.config.go);
        assert_eq!(estimate(r, "fixed", "not_cleaned"), 0.0, "go {}: every cleanup ran before the sample", r.config.go);
    }
    // Every fixed sample settled (the queues drained within the bound),
    // and waiting took time: 200 cleanups of 50 µs a round.
    let settled: Vec<(f64, f64)> = rs
        .iter()
        .flat_map(|r| &r.runs)
        .filter(|run| run.variant() == "fixed")
        .flat_map(|run| &run.samples)
        .filter(|s| s.round >= 0)
        .map(|s| (s.get("settled").unwrap(), s.get("settle_ns").unwrap()))
        .collect();
    assert_eq!(settled.len(), 20, "two toolchains, ten rounds");
    assert!(settled.iter().all(|(ok, _)| *ok == 1.0), "{settled:?}");
    assert!(settled.iter().all(|(_, ns)| *ns >= 5e6), "at least 200 × 50 µs / the cleanup goroutines: {settled:?}");

    // The same pattern without `settle`: the cleanups have not run yet.
    let raw = tempfile::tempdir().unwrap();
    crate::support::copy_dir(&fx.path().join("probe"), &raw.path().join("probe"));
    let p = raw.path().join("83-cleanups-settled");
    crate::support::copy_dir(&fx.path().join("83-cleanups-settled"), &p);
    let yaml = std::fs::read_to_string(p.join("pattern.yaml")).unwrap().replace("  settle: finalizers\n", "");
    std::fs::write(p.join("pattern.yaml"), yaml).unwrap();
    let mut run = Run::new(&["83"], "latest");
    run.templates = raw.path().to_path_buf();
    let rs = run.results();
    let fixed = estimate(&rs[0], "fixed", "not_cleaned");
    assert!(fixed > 100.0, "unsettled, the fixed variant reads {fixed} handles open: {}", rs[0].explanation);
    assert_eq!(rs[0].verdict, Verdict::FixFails);
}

/// "Hash requests for N milliseconds": a work parameter is a duration the
/// probe turns into a count during the warm-up and then holds, recorded in
/// every sample; four times the duration is about four times the work.
#[test]
fn a_duration_parameter_becomes_a_count_calibrated_once_per_run() {
    let fx = fixture_templates(&["82-churn-for-time"]);
    let out = tempfile::tempdir().unwrap();
    let dir = out.path().join("out");
    // A calibration measures time: alone on the machine (CI runs tests
    // side by side; once, with both cells at once, a 10 ms window there
    // lost half its units).
    let machine = crate::support::exclusive();
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_gcfuzz"))
        .args(["run", "82", "--go", "latest", "--param", "churn_ms=20,80", "--jobs", "1", "--no-early-stop", "--out"])
        .arg(&dir)
        .env("GCFUZZ_HOME", crate::support::home())
        .env("GCFUZZ_TEMPLATES", fx.path())
        .output()
        .unwrap();
    drop(machine);
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let rs = gcfuzz::journal::read(&dir.join("results.jsonl")).unwrap();
    assert_eq!(rs.len(), 2, "{}", String::from_utf8_lossy(&o.stdout));
    let mut counts: Vec<(String, String, f64)> = Vec::new();
    for r in &rs {
        assert_eq!(r.verdict, Verdict::Reproduced, "{}", r.explanation);
        let b = estimate(r, "buggy", "kept");
        assert!((32.0..64.0).contains(&b), "a 32-byte digest kept per unit: {b} B/unit");
        for run in &r.runs {
            let s = &run.samples;
            let count = |i: usize| s[i].get("work_churn_ms").unwrap();
            // Rounds 0 and 1 calibrate (warm-up 2); the count holds after.
            let n = count(2); // the sample after round 1
            assert!(n > 10.0, "{n}");
            for (i, smp) in s.iter().enumerate().skip(3) {
                assert_eq!(count(i), n, "round {}: the count is fixed after calibration", smp.round);
                let units = smp.counters["units"] - s[i - 1].counters["units"];
                assert_eq!(units as f64, n, "round {}: exactly the calibrated count ran", smp.round);
            }
            counts.push((r.config.params["churn_ms"].clone(), run.variant().to_string(), n));
        }
    }
    // The fixed variant's unit costs the same all run: the count follows
    // the duration (4x, within what a machine's noise moves). The buggy
    // one's units slow as its heap grows (the GC marks the cache), so its
    // ratio is lower, but still well above 1.
    for (v, lo) in [("fixed", 2.0), ("buggy", 1.5)] {
        let at = |ms: &str| counts.iter().find(|(m, var, _)| m == ms && var == v).unwrap().2;
        let ratio = at("80") / at("20");
        assert!((lo..=8.0).contains(&ratio), "{v}: 80 ms of work is {ratio}x the count of 20 ms: {counts:?}");
    }
}
