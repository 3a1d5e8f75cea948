//! The one-cell judge through its public function, with the native backend
//! and real Go: what a fuzzer's executor does for each configuration.

use crate::support::{estimate, home, shared, templates, toolchains};
use gcfuzz::build::GoBuilder;
use gcfuzz::judge::{self, Options};
use gcfuzz::matrix::{self, MatrixSpec};
use gcfuzz::run::{Native, RunRecord};
use gcfuzz::template;
use gcfuzz::verdict::{Presence, Verdict};
use std::sync::Mutex;

#[test]
fn one_cell_is_judged_with_a_builder_and_a_backend_alone() {
    let _machine = shared();
    let all = template::load_all(&templates()).unwrap();
    let p = template::select(&all, &["2".to_string()]).unwrap();
    let tc = toolchains();
    // A configuration a campaign's default plan does not have: 16 KiB bodies.
    let spec = MatrixSpec {
        go: tc.resolve("latest").unwrap(),
        params: [("body_kib".to_string(), vec!["16".to_string()])].into(),
        ..Default::default()
    };
    let plan = matrix::plan(&p, &spec).unwrap();
    assert_eq!(plan.cells.len(), 1);
    let builder = GoBuilder::new(&home(), &templates().join("probe"), tc);
    let runs = Mutex::new(Vec::new());
    let hook = |variant: &str, trial: u32, run: &RunRecord| {
        runs.lock().unwrap().push(format!("{variant}-t{trial}:{}", run.outcome.code.unwrap_or(-1)));
    };
    let opts = Options { on_run: Some(&hook), ..Default::default() };
    let r = judge::judge(p[0], &plan.cells[0], &builder, &Native, &opts);
    assert_eq!(
        (r.verdict, r.expected, r.met),
        (Verdict::Reproduced, Some(Verdict::Reproduced), true),
        "{}",
        r.explanation
    );
    assert_eq!(r.error, None);
    assert_eq!((r.config.backend.name(), r.config.params["body_kib"].as_str()), ("native", "16"));
    let (b, f) = (r.buggy.as_ref().unwrap(), r.fixed.as_ref().unwrap());
    assert_eq!((b.status, f.status), (Presence::Present, Presence::Absent));
    // The threshold follows the parameter: 16 KiB × 256 = a quarter body.
    assert_eq!(b.signals[0].threshold, 4096.0);
    let pinned = estimate(&r, "buggy", "pinned_per_token");
    assert!((16_384.0 * 0.95..=16_384.0 * 1.5).contains(&pinned), "a 16 KiB body per token: {pinned} B");
    assert!(estimate(&r, "fixed", "pinned_per_token") < 1024.0);
    // Both runs went through the hook, in order, and came back in the result.
    assert_eq!(*runs.lock().unwrap(), ["buggy-t0:0", "fixed-t0:0"]);
    assert_eq!(r.runs.len(), 2);
    assert!(r.runs.iter().all(|run| run.samples.len() == 11 && run.crash.is_none()));
}
