//! The worked example under examples/: a pattern of one's own, added to
//! the built-in catalogue with --templates, whose scenario calls the code
//! under test in a local Go module outside the pattern's folder, at two
//! checkouts (the buggy variant builds against the one before the fix).

use crate::support::gcfuzz;
use std::path::Path;

#[test]
fn the_worked_example_runs_beside_the_built_in_patterns_on_the_oldest_and_newest_go() {
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples");
    let o = gcfuzz(
        &[
            "--templates",
            examples.to_str().unwrap(),
            "run",
            "40",
            "02",
            "--go",
            "oldest,latest",
            "--no-out",
            "--json",
            "-",
        ],
        &[],
    );
    assert_eq!(o.code, Some(0), "every cell as expected: {o}");
    let cells: Vec<serde_json::Value> = serde_json::from_str(&o.stdout).unwrap_or_else(|e| panic!("{e}: {o}"));
    assert_eq!(cells.len(), 4, "40 and the built-in 02, on 1.21 and 1.27: {o}");
    for c in cells.iter().filter(|c| c["pattern"] == "40-context-not-cancelled") {
        assert_eq!(c["verdict"], "reproduced", "{c}");
        let kept = |v: &str| c[v]["signals"][0]["estimate"]["value"].as_f64().unwrap();
        // One context per lookup stays in the server context's children
        // (the buggy module version); none with the fixed one.
        assert!((0.9..1.1).contains(&kept("buggy")), "buggy: {}", kept("buggy"));
        assert!(kept("fixed").abs() < 0.05, "fixed: {}", kept("fixed"));
    }
    // One build per build key and pattern, each scenario its own program:
    // no line builds two patterns' scenarios together.
    let builds: Vec<&str> = o.stderr.lines().filter(|l| l.starts_with("build: ")).collect();
    assert_eq!(builds.len(), 4, "{o}");
    for l in &builds {
        let own = l.contains("40-context-not-cancelled/") != l.contains("02-subslice-pins-array/");
        assert!(own && l.contains("/buggy") && l.contains("/fixed"), "{l}");
    }
}
