//! `make run`, as a test: the whole pattern suite on the default
//! toolchains with detectors into an output folder. Its verdict tables,
//! one per Go version, are insta snapshots under the top-level
//! `snapshots/`: categorical columns only (statuses and verdicts, not
//! numbers or detector outcomes), which calibration found identical over
//! 20 runs. CI (`CI=true`) fails on a mismatch and writes nothing;
//! `make snapshots` records new ones and walks through the differences.

use crate::support::{self, exclusive, home};
use gcfuzz::results::CellResult;
use std::fmt::Write as _;
use std::path::Path;

/// The categorical table of one Go version's cells.
fn table(cells: &[&CellResult]) -> String {
    let rows: Vec<[String; 7]> = cells
        .iter()
        .map(|r| {
            let mut knobs = r.config.knobs.to_string();
            if let Some(x) = &r.config.goexperiment {
                knobs = format!("GOEXPERIMENT={x} {knobs}");
            }
            let status = |v: &Option<gcfuzz::oracle::VariantResult>| {
                v.as_ref().map(|v| v.status.to_string()).unwrap_or_else(|| "-".into())
            };
            [
                r.config.pattern.to_string(),
                r.config.go_line.line_string(),
                knobs,
                status(&r.buggy),
                status(&r.fixed),
                r.verdict.to_string(),
                r.expected.map(|e| e.to_string()).unwrap_or_else(|| "-".into()),
            ]
        })
        .collect();
    let header = ["pattern", "line", "knobs", "buggy", "fixed", "verdict", "expected"].map(String::from);
    let mut width = [0; 7];
    for row in std::iter::once(&header).chain(&rows) {
        for (w, c) in width.iter_mut().zip(row) {
            *w = (*w).max(c.chars().count());
        }
    }
    let mut out = String::new();
    for row in std::iter::once(&header).chain(&rows) {
        let mut line = String::new();
        for (c, w) in row.iter().zip(width) {
            let _ = write!(line, "{c:<w$}  ");
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

#[test]
fn make_run_leaves_every_output_and_its_verdict_tables_match_the_snapshots() {
    let _machine = exclusive(); // the suite holds patterns marked exclusive
    let d = tempfile::tempdir().unwrap();
    let out = d.path().join("out");
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_gcfuzz"))
        .args(["run", "--detectors", "--quiet", "--out"])
        .arg(&out)
        .env("GCFUZZ_HOME", home())
        .env_remove("GCFUZZ_TEMPLATES")
        .current_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join(".."))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(0), "{stderr}");
    for f in ["results.jsonl"].iter().chain(gcfuzz::report::OUTPUT_FILES.iter()) {
        assert!(out.join(f).is_file(), "{f} missing");
    }
    support::validate_junit(&out.join("junit.xml")).unwrap_or_else(|e| panic!("{e}"));
    let dom = String::from_utf8(support::headless(&out.join("report.html"), &["--dump-dom"]).stdout).unwrap();
    let cells = gcfuzz::journal::read(&out.join("results.jsonl")).unwrap();
    assert_eq!(dom.matches("<section class=\"cell\"").count(), cells.len());
    assert_eq!(dom.matches("<a class=\"badge ").count(), cells.len());
    let mut versions: Vec<_> = cells.iter().map(|c| c.config.go).collect();
    versions.sort();
    versions.dedup();
    assert_eq!(versions.len(), 2, "the default toolchains: oldest and newest");
    let grid = &dom[dom.find("<table class=\"grid\"").unwrap()..];
    assert_eq!(grid[..grid.find("</table>").unwrap()].matches("<tr>").count(), 1 + 16, "16 pattern rows");
    for v in versions {
        let here: Vec<&CellResult> = cells.iter().filter(|c| c.config.go == v).collect();
        insta::with_settings!({
            snapshot_path => Path::new(env!("CARGO_MANIFEST_DIR")).join("../snapshots"),
            prepend_module_to_snapshot => false,
            omit_expression => true,
            description => format!("gcfuzz run --detectors: verdicts on Go {v}"),
        }, {
            insta::assert_snapshot!(format!("verdicts-go{v}"), table(&here));
        });
    }
}
