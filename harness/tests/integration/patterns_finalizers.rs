//! Seed Bugs 4, 9 and 14 on the oldest and newest Go: verdicts and the numbers behind them.

use crate::support::{Run, cell, estimate};
use gcfuzz::detector::{Catch, Detector, Finding};
use gcfuzz::results::CellResult;
use gcfuzz::verdict::Verdict;

/// Go 1.25+'s `GODEBUG=checkfinalizers=1` kills the buggy variant at its
/// first GC and lets the fixed one run; before 1.25 it does not exist.
fn assert_checkfinalizers(r: &CellResult) {
    let d = r.detectors.iter().find(|d| d.detector == Detector::Checkfinalizers).expect("checkfinalizers ran");
    if r.config.go.minor < 25 {
        assert_eq!(d.catch, Catch::NotAvailable, "go {}", r.config.go);
        return;
    }
    assert_eq!(d.catch, Catch::Caught, "go {}: {d:?}", r.config.go);
    assert_eq!(d.buggy.finding, Finding::Flagged);
    assert!(d.buggy.evidence.contains("finalizer"), "{}", d.buggy.evidence);
    let vet = r.detectors.iter().find(|d| d.detector == Detector::Vet).unwrap();
    assert_eq!(vet.catch, Catch::Missed, "go vet says nothing about finalizers");
}

#[test]
fn bug04_finalizer_capturing_its_object_never_runs() {
    let mut run = Run::new(&["4"], "oldest,latest");
    run.detectors = true;
    let rs = run.results();
    assert_eq!(rs.len(), 2);
    for go in ["1.21", "1.27"] {
        let r = cell(&rs, go, go, None);
        assert_eq!(r.verdict, Verdict::Reproduced, "go {go}: {}", r.explanation);
        assert!(r.met);
        // Not one buggy finalizer runs; the resource and its closure stay.
        let never = estimate(r, "buggy", "never_finalized");
        assert!(never > 0.99, "go {go}: buggy never-finalized share {never}");
        assert_eq!(estimate(r, "buggy", "finalized_share"), 0.0, "go {go}");
        let objs = estimate(r, "buggy", "pinned_objects");
        assert!((1.9..=2.1).contains(&objs), "go {go}: {objs} objects/resource");
        let bytes = estimate(r, "buggy", "pinned_bytes");
        assert!((28.0..=40.0).contains(&bytes), "go {go}: {bytes} B/resource");
        // The fixed finalizers run (at most the last round's are still queued).
        let never = estimate(r, "fixed", "never_finalized");
        assert!(never < 0.2, "go {go}: fixed never-finalized share {never}");
        assert!(estimate(r, "fixed", "finalized_share") > 0.8, "go {go}");
        let objs = estimate(r, "fixed", "pinned_objects");
        assert!(objs.abs() < 0.3, "go {go}: fixed keeps {objs} objects/resource");
        assert_checkfinalizers(r);
    }
}

#[test]
fn bug09_forgotten_close_holds_a_descriptor_per_ping() {
    let rs = Run::new(&["9"], "oldest,latest").results();
    assert_eq!(rs.len(), 2);
    for r in &rs {
        assert_eq!(r.verdict, Verdict::Reproduced, "go {}: {}", r.config.go, r.explanation);
        assert!(r.met);
        // No GC runs in the default run, so each unclosed ping keeps its socket.
        let fds = estimate(r, "buggy", "fds_per_ping");
        assert!((0.9..=1.1).contains(&fds), "go {}: {fds} fds/ping", r.config.go);
        let fds = estimate(r, "fixed", "fds_per_ping");
        assert!(fds.abs() < 0.1, "go {}: fixed holds {fds} fds/ping", r.config.go);
        // The fixed variant's finalizer never finds an open connection.
        assert_eq!(estimate(r, "fixed", "closed_by_finalizer"), 0.0, "go {}", r.config.go);
    }
}

#[test]
fn bug14_finalizers_on_a_cycle_never_run() {
    let mut run = Run::new(&["14"], "oldest,latest");
    run.detectors = true;
    let rs = run.results();
    assert_eq!(rs.len(), 2);
    for go in ["1.21", "1.27"] {
        let r = cell(&rs, go, go, None);
        assert_eq!(r.verdict, Verdict::Reproduced, "go {go}: {}", r.explanation);
        assert!(r.met);
        let never = estimate(r, "buggy", "never_finalized");
        assert!(never > 0.99, "go {go}: buggy never-finalized share {never}");
        assert_eq!(estimate(r, "buggy", "finalized_share"), 0.0, "go {go}");
        // Both 24 B nodes of every pair stay ...
        let objs = estimate(r, "buggy", "pinned_objects");
        assert!((1.9..=2.1).contains(&objs), "go {go}: {objs} objects/pair");
        let obj_bytes = estimate(r, "buggy", "pinned_object_bytes");
        assert!((44.0..=56.0).contains(&obj_bytes), "go {go}: {obj_bytes} B/pair");
        // ... and /gc/heap/live counts each twice (scanned as a finalizer root too).
        let live = estimate(r, "buggy", "pinned_bytes");
        assert!((88.0..=104.0).contains(&live), "go {go}: {live} live B/pair");
        let never = estimate(r, "fixed", "never_finalized");
        assert!(never < 0.2, "go {go}: fixed never-finalized share {never}");
        assert!(estimate(r, "fixed", "finalized_share") > 0.8, "go {go}");
        let objs = estimate(r, "fixed", "pinned_objects");
        // Keeps nothing; the slope may dip below zero (a fresh-clone CI run
        // measured -0.318: warm-up pairs finalized late), which is no leak.
        assert!(objs < 0.3 && objs > -1.0, "go {go}: fixed keeps {objs} objects/pair");
        assert_checkfinalizers(r);
    }
}
