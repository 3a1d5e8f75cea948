//! `gcfuzz floor` and the run defaults `make bench` measures, on real Go
//! runs: early stopping by default, full rounds on request, and the floor
//! of a full-rounds result set.

use crate::support::gcfuzz;

/// Each run's probe rounds by variant, from a journal.
fn rounds(journal: &std::path::Path) -> Vec<(String, usize, bool)> {
    gcfuzz::journal::read(journal)
        .unwrap()
        .iter()
        .flat_map(|c| c.runs.iter().map(|r| (r.variant().to_string(), r.samples.len(), r.outcome.stop.stopped_early())))
        .collect()
}

#[test]
fn runs_stop_early_by_default_and_the_floor_of_full_runs_is_below_them() {
    let d = tempfile::tempdir().unwrap();
    let (early, full) = (d.path().join("early"), d.path().join("full"));
    // Pattern 02: 10 rounds (2 of warm-up), a 20-byte token pinning 256 KiB.
    let o = gcfuzz(&["run", "02", "--go", "latest", "--quiet", "--out", early.to_str().unwrap()], &[]);
    assert_eq!(o.code, Some(0), "{o}");
    assert!(o.stderr.contains("early stopping ran"), "early stopping is the default: {o}");
    let o =
        gcfuzz(&["run", "02", "--go", "latest", "--no-early-stop", "--quiet", "--out", full.to_str().unwrap()], &[]);
    assert_eq!(o.code, Some(0), "{o}");
    assert!(!o.stderr.contains("early stopping ran"), "{o}");
    // Full rounds: the baseline sample and 10 rounds, nothing stopped.
    let whole = rounds(&full.join("results.jsonl"));
    assert_eq!(whole.iter().map(|r| (r.1, r.2)).collect::<Vec<_>>(), [(11, false), (11, false)], "{whole:?}");
    // By default both variants were decided and stopped before 10 rounds
    // (the rule waits for at least 5 rounds after warm-up: 8 samples).
    let cut = rounds(&early.join("results.jsonl"));
    assert_eq!(cut.len(), 2, "{cut:?}");
    assert!(cut.iter().all(|r| r.2 && (8..11).contains(&r.1)), "{cut:?}");

    let f = d.path().join("floor.json");
    let o = gcfuzz(
        &["floor", full.to_str().unwrap(), "--cores", "2", "--build-s", "3", "--json", f.to_str().unwrap()],
        &[],
    );
    assert_eq!(o.code, Some(0), "{o}");
    assert!(
        o.stdout.contains("1 cells: runs took") && o.stdout.contains("floor on 2 cores with 3.00 s of builds"),
        "{o}"
    );
    let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&f).unwrap()).unwrap();
    let cell = &v["cells"][0];
    let variants = cell["variants"].as_array().unwrap();
    assert_eq!(variants.iter().map(|x| x["status"].as_str().unwrap()).collect::<Vec<_>>(), ["present", "absent"]);
    for x in variants {
        let (need, made) = (x["post_rounds_needed"].as_u64().unwrap(), x["post_rounds"].as_u64().unwrap());
        assert_eq!(made, 8, "{x}");
        assert!((1..=made).contains(&need), "{x}");
        // Sen's interval has both ends from 5 points on (Kendall's exact
        // law: every pair on one side is a 1-in-120 chance), none at 4, so
        // neither variant can be decided sooner.
        assert!(need >= 5, "{x}");
        assert_eq!((x["trials"].as_u64(), x["trials_needed"].as_u64()), (Some(1), Some(1)), "{x}");
    }
    let (ran, minimal) = (cell["ran_s"].as_f64().unwrap(), cell["minimal_s"].as_f64().unwrap());
    assert!(minimal > 0.0 && minimal <= ran, "{cell}");
    let t = &v["total"];
    assert_eq!(t["cores"], 2);
    assert!((t["plain_s"].as_f64().unwrap() - (3.0 + minimal) / 2.0).abs() < 1e-9, "{t}");
    // A folder without a journal is an error, not a panic.
    let o = gcfuzz(&["floor", d.path().to_str().unwrap()], &[]);
    assert_eq!(o.code, Some(2), "{o}");
    assert!(o.stderr.contains("no journal there"), "{o}");
}
