//! Bug reports written as patterns (issue 27): what a faithful reproducer
//! needs from gcfuzz, on real Go.

use crate::support::{Run, cell, estimate, fixture_templates};
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
        assert!(f < 64.0 * 1024.0, "go {}: the fixed queue keeps {f} B", r.go);
    }
    for go in ["1.22", "1.27"] {
        let r = cell(&rs, go, go, None);
        assert_eq!(r.verdict, Verdict::NotReproduced, "go {go}: {}", r.explanation);
        assert!(r.met);
        let b = estimate(r, "buggy", "kept");
        assert!(b < 64.0 * 1024.0, "go {go}: DeleteFunc zeroes the tail, buggy keeps {b} B");
    }
}
