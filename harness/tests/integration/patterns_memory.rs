//! Seed Bugs 3, 6 and 16 on the oldest and newest Go: verdicts and the numbers behind them.

use crate::support::{Run, cell, estimate};
use gcfuzz::verdict::Verdict;

#[test]
fn bug03_reaped_map_keeps_its_peak_storage_old_and_swiss() {
    let rs = Run::new(&["3"], "oldest,latest").results();
    assert_eq!(rs.len(), 2, "1.21 and 1.27");
    for r in &rs {
        assert_eq!(r.verdict, Verdict::Reproduced, "go {}: {}", r.config.go, r.explanation);
        assert!(r.met);
        // The replaced map keeps nothing.
        let f = estimate(r, "fixed", "kept_per_peak_entry");
        assert!(f.abs() < 2.0, "go {}: fixed keeps {f} B/entry", r.config.go);
        // The Sessions are collected: the kept storage is ~1.3% of the live
        // heap at the peak, not the seed's "HeapInuse barely drops".
        let frac = estimate(r, "buggy", "kept_fraction");
        assert!((0.011..=0.016).contains(&frac), "go {}: kept {frac} of the peak", r.config.go);
        assert!(estimate(r, "fixed", "kept_fraction") < 0.001);
    }
    // Old buckets (1.21): ~56.8 B per peak entry in one bucket array.
    let old = cell(&rs, "1.21", "1.21", None);
    let b = estimate(old, "buggy", "kept_per_peak_entry");
    assert!((52.0..=62.0).contains(&b), "go 1.21: {b} B/entry");
    let objs = estimate(old, "buggy", "kept_objects");
    assert!(objs < 0.002, "go 1.21: the bucket array is one object, not {objs}/entry");
    // Swiss tables (1.27): ~54.6 B per peak entry in tables and groups.
    let swiss = cell(&rs, "1.27", "1.27", None);
    let b = estimate(swiss, "buggy", "kept_per_peak_entry");
    assert!((50.0..=60.0).contains(&b), "go 1.27: {b} B/entry");
    let objs = estimate(swiss, "buggy", "kept_objects");
    assert!((0.003..=0.006).contains(&objs), "go 1.27: ~4 table objects per 1000 entries, not {objs}");
}

#[test]
fn bug06_pool_loses_its_items_in_two_gcs_and_often_in_one() {
    let rs = Run::new(&["6"], "oldest,latest").results();
    assert_eq!(rs.len(), 2);
    let procs = std::thread::available_parallelism().map_or(1, |n| n.get());
    for r in &rs {
        assert_eq!(r.verdict, Verdict::Reproduced, "go {}: {}", r.config.go, r.explanation);
        assert!(r.met);
        // Two GCs between Put and Get: every Get calls New; the real cache
        // computes once, in warm-up.
        let miss = estimate(r, "buggy", "miss_rate");
        assert!(miss > 0.99, "go {}: buggy miss rate {miss}", r.config.go);
        assert_eq!(estimate(r, "fixed", "miss_rate"), 0.0, "go {}", r.config.go);
        assert_eq!(estimate(r, "fixed", "miss_rate_one_gc"), 0.0, "go {}", r.config.go);
        // One GC: the victim cache serves the Get only on the P that Put.
        let one = estimate(r, "buggy", "miss_rate_one_gc");
        if procs == 1 {
            assert_eq!(one, 0.0, "go {}: one P, the victim serves every Get", r.config.go);
        } else {
            assert!((0.2..=0.9).contains(&one), "go {}: one-GC miss rate {one} with {procs} CPUs", r.config.go);
        }
        // Only the forced GCs ran (2 and 1 before alternate Gets).
        for v in ["buggy", "fixed"] {
            let g = estimate(r, v, "gcs_per_get");
            assert!((g - 1.5).abs() < 0.01, "go {} {v}: {g} GCs/Get", r.config.go);
        }
    }
}

#[test]
fn bug16_truncated_batch_pins_every_customer() {
    let rs = Run::new(&["16"], "oldest,latest").results();
    assert_eq!(rs.len(), 2);
    for r in &rs {
        assert_eq!(r.verdict, Verdict::Reproduced, "go {}: {}", r.config.go, r.explanation);
        assert!(r.met);
        // One 16 KiB Customer per order of the peak batch.
        let b = estimate(r, "buggy", "pinned_per_order");
        assert!((16_384.0..=16_600.0).contains(&b), "go {}: {b} B/order", r.config.go);
        let objs = estimate(r, "buggy", "pinned_objects");
        assert!((0.98..=1.05).contains(&objs), "go {}: {objs} objects/order", r.config.go);
        // clear first: only the Order array's ~16 B per slot stays.
        let f = estimate(r, "fixed", "pinned_per_order");
        assert!(f < 100.0, "go {}: fixed keeps {f} B/order", r.config.go);
        assert!(estimate(r, "fixed", "pinned_objects") < 0.05);
    }
}
