//! The output folder of a real run, checked the way its readers use it:
//! the HTML report in headless Chromium, junit.xml against the JUnit
//! schema, the evidence in `go tool pprof`, bench.txt by the benchmark
//! format's grammar.
//!
//! One run feeds every test here: pattern 15 (three cells on the newest
//! Go, one of them an expected crash), the fixture 93-fix-fails (a fix that
//! still leaks: unexpected, so it keeps evidence) and 90-panics.

use crate::support::{self, gcfuzz};
use gcfuzz::report::html::{BUGGY_COLOUR, FIXED_COLOUR};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

fn outputs() -> &'static Path {
    static OUT: OnceLock<PathBuf> = OnceLock::new();
    OUT.get_or_init(|| {
        let root = Path::new(env!("CARGO_TARGET_TMPDIR")).join("reports");
        let _ = std::fs::remove_dir_all(&root);
        let templates = root.join("templates");
        // Added to the built-in patterns (15 is one of them).
        for f in ["93-fix-fails", "90-panics"] {
            support::copy_dir(&support::fixtures().join("patterns").join(f), &templates.join(f));
        }
        let out = root.join("out");
        let o = gcfuzz(
            &[
                "--templates",
                templates.to_str().unwrap(),
                "run",
                "15",
                "93",
                "90",
                "--go",
                "latest",
                "--quiet",
                "--out",
                out.to_str().unwrap(),
            ],
            &[],
        );
        assert_eq!(o.code, Some(1), "93-fix-fails is unexpected: exit 1\n{o}");
        assert!(o.stderr.contains("5 cells: 4 as expected, 1 not"), "{o}");
        out
    })
}

fn read(name: &str) -> String {
    std::fs::read_to_string(outputs().join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

#[test]
fn the_out_folder_holds_every_output() {
    for f in ["results.jsonl"].iter().chain(gcfuzz::report::OUTPUT_FILES.iter()) {
        let len = std::fs::metadata(outputs().join(f)).map(|m| m.len()).unwrap_or(0);
        assert!(len > 0, "{f} missing or empty");
    }
    let cells = gcfuzz::journal::read(&outputs().join("results.jsonl")).unwrap();
    assert_eq!(cells.len(), 5);
    // Each cell's runs came back from the journal: buggy then fixed.
    for c in &cells {
        let variants: Vec<&str> = c.runs.iter().map(|r| r.variant()).collect();
        let trials = c.buggy.as_ref().unwrap().trials;
        assert_eq!(variants.len(), 2 * trials, "{}: {variants:?}", c.cell);
        assert_eq!(variants.first(), Some(&"buggy"));
        assert_eq!(variants.last(), Some(&"fixed"));
    }
}

#[test]
fn the_html_report_renders_in_headless_chromium_with_grid_and_plots() {
    let page = outputs().join("report.html");
    let html = read("report.html");
    // Nothing to fetch: no src= at all, no stylesheet or link out (links
    // go to its own anchors and evidence files; Go's crash messages may
    // quote a URL as text).
    assert!(!html.contains(" src="), "no embedded resources");
    assert!(!html.contains("href=\"http") && !html.contains("<link"), "no links out");
    assert!(!html.contains("<script"), "no scripts");
    // The DOM Chromium builds (after parsing, so a broken nesting that
    // drops elements would show here).
    let dom = String::from_utf8(support::headless(&page, &["--dump-dom"]).stdout).unwrap();
    let grid = &dom[dom.find("<table class=\"grid\"").expect("a grid")..];
    let grid = &grid[..grid.find("</table>").unwrap()];
    assert_eq!(grid.matches("<tr>").count(), 1 + 3, "a header row and three pattern rows:\n{grid}");
    assert!(grid.contains("<th>go1.27.3</th>"), "{grid}");
    assert_eq!(grid.matches("class=\"badge ").count(), 5, "a badge per cell");
    assert_eq!(grid.matches("class=\"badge unexpected\"").count(), 1, "93-fix-fails");
    assert!(grid.contains("fix-fails <small>expected reproduced</small>"), "{grid}");
    assert_eq!(dom.matches("<section class=\"cell\"").count(), 5);
    // Every cell that ran has plots: pattern 15's cells plot its signal's
    // metric, heap_live, goroutines and fds; each plot has both variants.
    // The asynctimerchan=1 cell died before its first sample: no plots, a
    // note instead. 15's other two cells: 4 plots each; 90 and 93: 3 each.
    let plots = dom.matches("<svg class=\"plot\"").count();
    assert_eq!(plots, 4 + 4 + 3 + 3, "plots");
    assert_eq!(dom.matches("no samples: every run died before its first round").count(), 1);
    assert_eq!(dom.matches("<polyline class=\"buggy\"").count(), plots, "one buggy run per plot");
    assert_eq!(dom.matches("<polyline class=\"fixed\"").count(), plots, "one fixed run per plot");
    assert!(dom.contains("data-metric=\"heap_objects\""), "pattern 15's signal metric is plotted");
    // The screenshot: Chromium really drew the grid's colours and both
    // variants' lines (the first cells' plots are within 1280×2400).
    let shot = tempfile::tempdir().unwrap();
    let png = shot.path().join("report.png");
    support::headless(&page, &["--window-size=1280,2400", &format!("--screenshot={}", png.display())]);
    let buggy = support::count_colour(&png, BUGGY_COLOUR, 12);
    let fixed = support::count_colour(&png, FIXED_COLOUR, 12);
    let ok = support::count_colour(&png, "#b7e4b0", 4);
    let unexpected = support::count_colour(&png, "#f4a6a6", 4);
    assert!(buggy > 500 && fixed > 500, "plot lines drawn: buggy {buggy} px, fixed {fixed} px");
    assert!(ok > 1000 && unexpected > 100, "grid colours drawn: ok {ok} px, unexpected {unexpected} px");
}

#[test]
fn junit_validates_against_the_junit_schema_ci_tools_use() {
    let junit = outputs().join("junit.xml");
    let text = read("junit.xml");
    assert!(text.contains(r#"<failure type="unexpected-verdict" message="expected reproduced, got fix-fails">"#));
    assert!(text.contains("<system-out>evidence (relative to the output folder):\nevidence/93-fix-fails-"), "{text}");
    support::validate_junit(&junit).unwrap_or_else(|e| panic!("junit.xml does not validate:\n{e}\n{text}"));
    // A harness error (a failed build) is an <error>; it validates too.
    let mut cells = gcfuzz::journal::read(&outputs().join("results.jsonl")).unwrap();
    cells[0].error = Some("build failed: go: cannot find main module <&> \"quoted\"".into());
    let d = tempfile::tempdir().unwrap();
    let path = d.path().join("junit.xml");
    let text = gcfuzz::report::junit(&cells);
    assert!(text.contains("<error type=\"harness-error\""), "{text}");
    std::fs::write(&path, &text).unwrap();
    support::validate_junit(&path).unwrap_or_else(|e| panic!("{e}\n{text}"));
    // And the validator does reject what the schema forbids.
    std::fs::write(&path, text.replace("<testcase classname", "<testcase nom")).unwrap();
    assert!(support::validate_junit(&path).is_err(), "an attribute the schema does not know must not validate");
}

#[test]
fn a_fix_that_fails_keeps_heap_profiles_that_go_tool_pprof_opens() {
    let cells: Vec<serde_json::Value> = serde_json::from_str(&read("verdicts.json")).unwrap();
    let cell = cells.iter().find(|c| c["pattern"] == "93-fix-fails").unwrap();
    assert_eq!(cell["verdict"], "fix-fails");
    let evidence: Vec<&str> = cell["evidence"].as_array().unwrap().iter().map(|e| e.as_str().unwrap()).collect();
    assert_eq!(evidence.len(), 4, "profile and stderr per variant: {evidence:?}");
    // Expected cells keep nothing, except a crash of the fixed variant (the
    // fix fails there too): pattern 15's asynctimerchan=1 cell keeps stderr.
    for c in cells.iter().filter(|c| c["pattern"] != "93-fix-fails") {
        let crash = c["fixed"]["status"] == "crash";
        assert_eq!(c.get("evidence").is_some(), crash, "{}", c["cell"]);
    }
    let profile = evidence.iter().find(|e| e.ends_with("fixed-t0.pprof")).unwrap();
    let tc = support::toolchains();
    let go = tc.ensure("1.27.3".parse().unwrap(), &mut |_| {}).unwrap().goroot.join("bin/go");
    let o = std::process::Command::new(go)
        .args(["tool", "pprof", "-top", "-sample_index=inuse_space"])
        .arg(outputs().join(profile))
        .output()
        .unwrap();
    let top = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    // The fixed variant's leak, by its allocation site.
    assert!(top.contains("93-fix-fails/fixed.leakyFixBuffer"), "{top}");
    let stderr = evidence.iter().find(|e| e.ends_with("buggy-t0.stderr.txt")).unwrap();
    let text = std::fs::read_to_string(outputs().join(stderr)).unwrap();
    assert!(text.starts_with("# -scenario 93-fix-fails/buggy") && text.contains("# exit: exit code 0"), "{text}");
    // Its command line replays: the profile goes where the evidence is.
    let replay_profile = text.split_whitespace().skip_while(|a| *a != "-heapprofile").nth(1).unwrap();
    assert!(Path::new(replay_profile).is_file(), "{replay_profile}");
    assert!(replay_profile.ends_with(&stderr.replace(".stderr.txt", ".pprof")), "{replay_profile}");
    // The report links them.
    assert!(read("report.html").contains(&format!("href=\"{profile}\"")));
}

#[test]
fn bench_txt_follows_the_go_benchmark_format() {
    let text = read("bench.txt");
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("goos: linux"));
    let mut benchmarks = 0;
    for l in lines {
        if l.starts_with("Benchmark") {
            gcfuzz::report::bench::check_line(l).unwrap_or_else(|e| panic!("{e}: {l}"));
            benchmarks += 1;
        } else {
            // Configuration lines: `key: value`, key lower-case.
            let (k, _) = l.split_once(": ").unwrap_or_else(|| panic!("not a config line: {l}"));
            assert!(k.chars().all(|c| c.is_ascii_lowercase() || c == '-'), "{l}");
        }
    }
    // One line per run that sampled a round: 5 cells × 2 variants, less
    // the asynctimerchan=1 cell whose variants both die at start.
    assert_eq!(benchmarks, 8, "{text}");
    assert!(!text.contains("GODEBUG=asynctimerchan=1"), "{text}");
    // 90-panics' buggy run crashed in its third round: two rounds sampled.
    assert!(text.contains("BenchmarkGCFuzz/pattern=90-panics/go=1.27.3/line=1.27/variant=buggy\t2\t"), "{text}");
    let line = text
        .lines()
        .find(|l| l.starts_with("BenchmarkGCFuzz/pattern=93-fix-fails/go=1.27.3/line=1.27/variant=fixed\t"))
        .unwrap_or_else(|| panic!("{text}"));
    // Its heap grows by about one 4 KiB buffer per operation, 64 per round.
    let heap: f64 = line.split('\t').find_map(|f| f.strip_suffix(" heap-B/round")).unwrap().parse().unwrap();
    assert!((200_000.0..330_000.0).contains(&heap), "{heap} B/round in {line}");
    assert!(line.contains(" growth:B/op"), "the signal's estimate: {line}");
}
