//! The detectors column on real toolchains: what go vet and the runtime's
//! own checks say about the buggy and the fixed variants.

use crate::support::Run;
use gcfuzz::detector::{Catch, Detector, Finding};

fn catches(r: &gcfuzz::results::CellResult) -> Vec<(Detector, Catch)> {
    r.detectors.iter().map(|d| (d.detector, d.catch)).collect()
}

#[test]
fn bug13_is_caught_by_vet_checkptr_and_invalidptr() {
    let mut run = Run::new(&["13"], "oldest,latest");
    run.detectors = true;
    for r in &run.results() {
        assert_eq!(
            catches(r),
            [
                (Detector::Vet, Catch::Caught),
                (Detector::Checkptr, Catch::Caught),
                (Detector::Invalidptr, Catch::Caught)
            ],
            "go {}: {:#?}",
            r.config.go,
            r.detectors
        );
        let vet = &r.detectors[0];
        assert!(vet.buggy.evidence.contains("possible misuse of unsafe.Pointer"), "{}", vet.buggy.evidence);
        assert_eq!(vet.fixed.finding, Finding::Quiet);
        let cp = &r.detectors[1];
        // Which check fires first in the instrumented build varies from run
        // to run: checkptr's own, or the collector meeting the freed node
        // (seen once in `make test`, 2026-12-02); both are the bug.
        assert!(
            cp.buggy.evidence.contains("fatal error: checkptr") || cp.buggy.evidence.contains("found bad pointer"),
            "{}",
            cp.buggy.evidence
        );
    }
}

#[test]
fn bug01_goroutine_leak_profile_exists_from_1_26_and_catches_the_parked_sender() {
    let mut run = Run::new(&["1"], "1.25,1.26,1.27");
    run.detectors = true;
    let rs = run.results();
    let leak = |go: &str| {
        let r = rs.iter().find(|r| r.config.go.line_string() == go).unwrap();
        r.detectors.iter().find(|d| d.detector == Detector::Goroutineleak).unwrap().clone()
    };
    assert_eq!(leak("1.25").catch, Catch::NotAvailable);
    for go in ["1.26", "1.27"] {
        let d = leak(go);
        assert_eq!(d.catch, Catch::Caught, "go {go}: {d:?}");
        assert!(
            d.buggy.evidence.contains("leaked goroutines at") && d.buggy.evidence.contains("buggy.handler"),
            "{}",
            d.buggy.evidence
        );
        assert_eq!(d.fixed.evidence, "no leaked goroutine");
    }
    // go vet has nothing to say about a send nobody receives.
    assert!(rs.iter().all(|r| r.detectors[0].catch == Catch::Missed));
}
