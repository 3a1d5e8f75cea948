//! Each shipped pattern on the oldest and the newest Go: the verdict, that
//! it is the expected one, and the numbers behind it.

use crate::support::{Run, cell, estimate};
use gcfuzz::verdict::{Presence, Verdict};

#[test]
fn bug01_parked_goroutines_reproduce_on_oldest_and_newest() {
    let rs = Run::new(&["1"], "oldest,latest").results();
    assert_eq!(rs.len(), 2);
    for r in &rs {
        assert_eq!(r.verdict, Verdict::Reproduced, "{}", r.explanation);
        assert!(r.met);
        // One parked goroutine per timed-out request, and its 256 KiB body.
        let g = estimate(r, "buggy", "parked_goroutines");
        assert!((0.9..=1.1).contains(&g), "go {}: {g} goroutines/timeout", r.config.go);
        let b = estimate(r, "buggy", "pinned_bytes");
        assert!((200_000.0..=400_000.0).contains(&b), "go {}: {b} B/timeout", r.config.go);
        assert!(estimate(r, "fixed", "parked_goroutines").abs() < 0.2);
        assert!(estimate(r, "fixed", "pinned_bytes").abs() < 32_768.0);
    }
}

#[test]
fn bug02_subslice_pins_its_body_on_oldest_and_newest() {
    let rs = Run::new(&["2"], "oldest,latest").results();
    for r in &rs {
        assert_eq!(r.verdict, Verdict::Reproduced, "{}", r.explanation);
        let b = estimate(r, "buggy", "pinned_per_token");
        // A 256 KiB body (io.ReadAll may round its array up).
        assert!((262_144.0 * 0.95..=262_144.0 * 1.5).contains(&b), "go {}: {b} B/token", r.config.go);
        let f = estimate(r, "fixed", "pinned_per_token");
        assert!(f < 1024.0, "go {}: fixed keeps {f} B/token", r.config.go);
    }
}

#[test]
fn bug12_shared_loop_variable_follows_the_go_line() {
    let rs = Run::new(&["12"], "oldest,latest").results();
    assert_eq!(rs.len(), 3, "1.21/1.21, 1.27/1.21, 1.27/1.27");
    for (go, line, want) in [
        ("1.21", "1.21", Verdict::Reproduced),
        ("1.27", "1.21", Verdict::Reproduced),
        ("1.27", "1.27", Verdict::NotReproduced),
    ] {
        let r = cell(&rs, go, line, None);
        assert_eq!(r.verdict, want, "go {go} line {line}: {}", r.explanation);
        assert!(r.met);
        let wrong = estimate(r, "buggy", "wrong_payload");
        if want == Verdict::Reproduced {
            assert!(wrong > 0.05, "go {go} line {line}: {wrong}");
        } else {
            assert_eq!(wrong, 0.0, "go {go} line {line}");
        }
        assert_eq!(estimate(r, "fixed", "wrong_payload"), 0.0);
        // The seed's fix still allocates the 4 KiB job per goroutine.
        let fixed_alloc = estimate(r, "fixed", "alloc_per_job");
        assert!(fixed_alloc > 4096.0, "go {go} line {line}: fixed allocates {fixed_alloc} B/job");
    }
    // Per-iteration variables (go line 1.22+) are what makes the buggy
    // variant allocate a job per iteration; the shared one is allocated once.
    assert!(estimate(cell(&rs, "1.27", "1.27", None), "buggy", "alloc_per_job") > 4096.0);
    assert!(estimate(cell(&rs, "1.27", "1.21", None), "buggy", "alloc_per_job") < 1024.0);
}

#[test]
fn bug15_ticker_leaks_only_with_old_timers() {
    let rs = Run::new(&["15"], "oldest,latest").results();
    let old = cell(&rs, "1.21", "1.21", None);
    assert_eq!(old.verdict, Verdict::Reproduced, "{}", old.explanation);
    let leaked = estimate(old, "buggy", "leaked_objects");
    assert!((2.5..=3.5).contains(&leaked), "an unstopped ticker is ~3 objects: {leaked}");
    assert!(estimate(old, "fixed", "leaked_objects") < 0.5);
    // The goroutines do not stay, contrary to the seed.
    assert!(estimate(old, "buggy", "goroutine_growth").abs() < 0.01);
    for line in ["1.27", "1.22"] {
        let r = cell(&rs, "1.27", line, None);
        assert_eq!(r.verdict, Verdict::NotReproduced, "1.27 line {line}: {}", r.explanation);
        assert!(estimate(r, "buggy", "leaked_objects") < 0.5);
    }
    let removed = cell(&rs, "1.27", "1.27", Some("asynctimerchan=1"));
    assert_eq!(removed.verdict, Verdict::Crash);
    let b = removed.buggy.as_ref().unwrap();
    assert_eq!(b.status, Presence::Crash);
    assert!(b.crash.as_ref().unwrap().message.contains("asynctimerchan"), "{:?}", b.crash);
    assert!(rs.iter().all(|r| r.met), "{}", gcfuzz::report::table(&rs));
}
