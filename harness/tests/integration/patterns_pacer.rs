//! Seed Bugs 7, 8, 10 and 11 on the oldest and newest Go: verdicts and the
//! numbers behind them.

use crate::support::{Run, estimate};
use gcfuzz::verdict::Verdict;

#[test]
fn bug07_the_capture_does_not_allocate_on_any_version() {
    let rs = Run::new(&["7"], "oldest,latest").results();
    assert_eq!(rs.len(), 2);
    for r in &rs {
        assert_eq!(r.verdict, Verdict::NotReproduced, "{}", r.explanation);
        assert!(r.met);
        // sort.Slice's own three allocations, in both variants.
        for v in ["buggy", "fixed"] {
            let a = estimate(r, v, "allocs_per_call");
            assert!((2.9..=3.1).contains(&a), "go {} {v}: {a} objects/call", r.config.go);
        }
    }
}

#[test]
fn bug08_one_gc_per_item() {
    let rs = Run::new(&["8"], "oldest,latest").results();
    for r in &rs {
        assert_eq!(r.verdict, Verdict::Reproduced, "{}", r.explanation);
        assert!((estimate(r, "buggy", "gc_per_item") - 1.0).abs() < 0.01);
        assert_eq!(estimate(r, "fixed", "gc_per_item"), 0.0);
        let (b, f) = (estimate(r, "buggy", "ns_per_item"), estimate(r, "fixed", "ns_per_item"));
        assert!(b > f, "go {}: a GC per item costs time ({b} vs {f} ns/item)", r.config.go);
    }
}

#[test]
fn bug10_gogc_off_grows_by_every_allocation() {
    let rs = Run::new(&["10"], "oldest,latest").results();
    for r in &rs {
        assert_eq!(r.verdict, Verdict::Reproduced, "{}", r.explanation);
        // ~1.1 KiB per iteration: the 1 KiB value, two key strings, map growth.
        let b = estimate(r, "buggy", "memory_growth");
        assert!((900.0..=1400.0).contains(&b), "go {}: {b} B/iteration", r.config.go);
        assert!(estimate(r, "fixed", "memory_growth") < 256.0);
        assert_eq!(estimate(r, "buggy", "gc_cycles"), 0.0, "GOGC=off runs no cycle");
        let buggy = r.buggy.as_ref().unwrap();
        assert!(buggy.crash.is_none(), "stays under its 1 GiB cap: {:?}", buggy.crash);
    }
}

#[test]
fn bug11_gomemlimit_below_the_live_set_thrashes() {
    let rs = Run::new(&["11"], "oldest,latest").results();
    for r in &rs {
        assert_eq!(r.verdict, Verdict::Reproduced, "{}", r.explanation);
        let (b, f) = (estimate(r, "buggy", "gc_per_op"), estimate(r, "fixed", "gc_per_op"));
        assert!(b > 5.0 * f, "go {}: {b} vs {f} cycles/op", r.config.go);
        assert!(f < 0.0005, "go {}: fixed {f} cycles/op", r.config.go);
        let (b, f) = (estimate(r, "buggy", "gc_cpu_share"), estimate(r, "fixed", "gc_cpu_share"));
        assert!(b > 2.0 * f && b < 0.6, "go {}: GC CPU share {b} vs {f}", r.config.go);
    }
}
