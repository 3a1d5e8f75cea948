//! The crate's layering: data flows one way (DESIGN.md), so the module
//! graph has no cycle. `scripts/module-graph` is the check `.ci/run` runs;
//! this shows it passes on the crate and fails on a cycle.

use std::path::Path;
use std::process::Command;

fn module_graph(src: &Path) -> (Option<i32>, String) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/module-graph");
    let o = Command::new("python3").arg(script).arg(src).output().expect("python3 runs");
    (o.status.code(), String::from_utf8_lossy(&o.stdout).into_owned())
}

#[test]
fn the_crate_has_no_import_cycle_and_the_check_sees_one() {
    let (code, out) = module_graph(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"));
    assert_eq!(code, Some(0), "{out}");
    assert!(out.trim_end().ends_with("no cycles"), "{out}");
    // The leaves of the vocabulary use nothing after them.
    for leaf in ["errors", "knobs", "probe", "process", "stats", "stress", "verdict", "version"] {
        assert!(out.lines().any(|l| l.starts_with(leaf) && l.ends_with("-> -")), "{leaf} is a leaf:\n{out}");
    }
    let d = tempfile::tempdir().unwrap();
    std::fs::write(d.path().join("campaign.rs"), "use crate::journal::Journal;\n").unwrap();
    std::fs::write(d.path().join("journal.rs"), "use crate::campaign::CellResult;\n").unwrap();
    let (code, out) = module_graph(d.path());
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("cycle: campaign journal"), "{out}");
}
