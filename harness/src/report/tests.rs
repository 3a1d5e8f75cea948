//! Every output format, rendered from a synthetic campaign and compared
//! with its snapshot in `snapshots/formats/` (`make snapshots` reviews a
//! difference): no Go, a second or so. The end-to-end tests keep the slow
//! tier (Chromium opening the HTML, the JUnit schema, real verdicts).
//!
//! The campaign: one pattern on Go 1.21 and 1.27 whose buggy variant leaks
//! before 1.27, one whose fixed variant leaks everywhere (fix-fails, an
//! unexpected verdict), one whose buggy variant panics (a crash), and one
//! its configs limit to Go 1.27 (skipped on 1.21, with the reason).
//! Times are made fixed (runs of a synthetic backend take "0 or 1 ms").

use super::*;
use crate::campaign::{Campaign, Options, run};
use crate::matrix::{MatrixSpec, plan};
use crate::results::CellResult;
use crate::run::RunSpec;
use crate::synthetic::{Exit, Series, SyntheticBackend, SyntheticBuilder};
use crate::template::{Pattern, parse_pattern};
use std::path::Path;

fn pattern(id: &str, expect: &str) -> (tempfile::TempDir, Pattern) {
    let yaml = format!(
        r#"
title: a synthetic pattern
family: reachability
summary: made up for the format snapshots
common: [c.go]
variants: {{buggy: {{about: leaks}}, fixed: {{about: does not}}}}
params: {{leak: {{type: float, default: 1, range: [0, 10]}}}}
signals:
  - {{name: goroutines_per_round, metric: goroutines, stat: slope, present_above: 0.5, unit: goroutines/round}}
run: {{rounds: 10, warmup: 2}}
expect:
{expect}
"#
    );
    let d = tempfile::tempdir().unwrap();
    std::fs::write(d.path().join("c.go"), "package scenario\n").unwrap();
    let p = parse_pattern(&yaml, Path::new("p.yaml"), id, d.path()).unwrap();
    (d, p)
}

fn script(spec: &RunSpec) -> Series {
    let buggy = spec.scenario.ends_with("/buggy");
    let old_go = !spec.program.to_string_lossy().contains("go1.27");
    let pattern = spec.scenario.split('/').next().unwrap_or("");
    let per_round = match pattern {
        "41-version" if buggy && old_go => 1.0,
        "42-fix-fails" => 2.0,
        _ => 0.0,
    };
    let series = Series::rounds(spec.rounds, move |r| {
        vec![("goroutines", 3.0 + per_round * (r + 1) as f64), ("heap_live", 1e6 + 4096.0 * r as f64)]
    });
    if pattern == "43-crash" && buggy {
        series.ending(Exit::Panic("index out of range [3] with length 3".into()))
    } else {
        series
    }
}

/// The campaign's results, times fixed.
fn results() -> Vec<CellResult> {
    let (_a, version) =
        pattern("41-version", "  - when: {go: \"<1.27\"}\n    verdict: reproduced\n  - verdict: not-reproduced");
    let (_b, fix_fails) = pattern("42-fix-fails", "  - verdict: reproduced");
    let (_c, crash) = pattern("43-crash", "  - verdict: crash");
    // Limited by its configs to Go 1.27: skipped on 1.21, with the reason.
    let (_d, newer) = pattern("44-newer", "  - verdict: not-reproduced\nconfigs:\n  - {go: \">=1.27\"}");
    let patterns = vec![&version, &fix_fails, &crash, &newer];
    let spec = MatrixSpec {
        go: vec!["1.21.13".parse().unwrap(), "1.27.3".parse().unwrap()],
        backends: vec![crate::cell::BackendKind::Synthetic],
        ..Default::default()
    };
    let plan = plan(&patterns, &spec).unwrap();
    let (builder, backend) = (SyntheticBuilder::default(), SyntheticBackend::new(script));
    let options = Options { jobs: 1, rss_cap: None, mem_budget: 1 << 40, ..Options::default() };
    let c = Campaign::new(patterns.clone(), plan, &builder, vec![&backend], options);
    let mut out = run(&c, &mut |_| {}).unwrap().results;
    for r in &mut out {
        for v in [&mut r.buggy, &mut r.fixed].into_iter().flatten() {
            v.wall_ms = 1200;
        }
        for run in &mut r.runs {
            run.outcome.wall_ms = 1200;
        }
    }
    out
}

fn snapshot(name: &str, what: &str, text: &str) {
    insta::with_settings!({
        snapshot_path => Path::new(env!("CARGO_MANIFEST_DIR")).join("../snapshots/formats"),
        prepend_module_to_snapshot => false,
        omit_expression => true,
        description => what.to_string(),
    }, {
        insta::assert_snapshot!(name, text);
    });
}

#[test]
fn every_format_of_a_synthetic_campaign_matches_its_snapshot() {
    let rs = results();
    assert_eq!(rs.len(), 8, "four patterns on two toolchains");
    let skipped = rs.iter().find(|r| r.verdict == crate::verdict::Verdict::Skipped).expect("a skipped cell");
    assert_eq!((skipped.config.pattern.as_str(), skipped.config.go.minor), ("44-newer", 21));
    assert!(skipped.met && skipped.expected.is_none());
    assert_eq!(skipped.explanation, "not run: the pattern's configs limit this configuration to go `>=1.27`");
    for (format, text) in [
        ("table", table(&rs)),
        ("junit", junit(&rs)),
        ("html", html::report(&rs)),
        ("md", summary_md(&rs)),
        ("json", json(&rs)),
    ] {
        assert!(text.contains("limit this configuration to go"), "{format} names the reason");
    }
    let verdicts: Vec<String> = rs.iter().map(|r| format!("{} {}", r.cell, r.verdict)).collect();
    assert!(verdicts.iter().any(|v| v.contains("42-fix-fails") && v.ends_with("fix-fails")), "{verdicts:?}");
    assert!(verdicts.iter().any(|v| v.contains("43-crash") && v.ends_with("crash")), "{verdicts:?}");
    snapshot("table", "the verdict table (`gcfuzz run`, stdout)", &table(&rs));
    snapshot("summary", "the one-line summary and what failed", &format!("{}\n{}", summary(&rs), failures(&rs)));
    // Every file of an output folder: a new format fails to compile here
    // until it has its snapshot.
    for f in Format::ALL {
        let text = f.render(&rs);
        match f {
            Format::Summary => snapshot("summary-md", "summary.md (a CI job summary)", &text),
            Format::Junit => snapshot("junit", "junit.xml", &text),
            Format::Bench => snapshot("bench", "bench.txt (benchstat lines)", &text),
            Format::Html => snapshot("html", "report.html", &text),
            Format::Verdicts => {
                // Every field of every cell (the runs' series are not in it).
                let doc: serde_json::Value = serde_json::from_str(&text).unwrap();
                snapshot("json", "results.json (`--json`)", &serde_json::to_string_pretty(&doc).unwrap());
            }
        }
    }
}

#[test]
fn the_diff_of_two_campaigns_matches_its_snapshot() {
    let old = results();
    let mut new = results();
    // A verdict that changed, as a runtime upgrade might make it.
    let r = new.iter_mut().find(|r| r.config.pattern == "41-version" && r.config.go.minor == 21).unwrap();
    r.verdict = crate::verdict::Verdict::NotReproduced;
    let d = diff::compare(&old, &new);
    assert!(d.verdicts_changed());
    snapshot("diff-table", "`gcfuzz diff` (terminal)", &d.table());
    snapshot("diff-md", "`gcfuzz diff --markdown`", &d.markdown());
}

#[test]
fn the_main_error_messages_match_their_snapshot() {
    // What a user meets first when a pattern does not load: each message
    // names the file, line and column, and says what to write instead.
    let cases = [
        (
            "variants without fixed",
            "title: t\nfamily: reachability\nsummary: s\nvariants: {buggy: {about: b}}\nsignals: [{name: s, metric: goroutines, stat: slope, present_above: 1, unit: u}]\nexpect: [{verdict: reproduced}]\n",
        ),
        (
            "an unknown stat",
            "title: t\nfamily: reachability\nsummary: s\nvariants: {buggy: {about: b}, fixed: {about: f}}\nsignals: [{name: s, metric: goroutines, stat: slop, present_above: 1, unit: u}]\nexpect: [{verdict: reproduced}]\n",
        ),
        (
            "an unknown metric",
            "title: t\nfamily: reachability\nsummary: s\nvariants: {buggy: {about: b}, fixed: {about: f}}\nsignals: [{name: s, metric: heap_size, stat: slope, present_above: 1, unit: u}]\nexpect: [{verdict: reproduced}]\n",
        ),
        (
            "a default outside its range",
            "title: t\nfamily: reachability\nsummary: s\nvariants: {buggy: {about: b}, fixed: {about: f}}\nparams: {n: {type: int, default: 50, range: [1, 10]}}\nsignals: [{name: s, metric: goroutines, stat: slope, present_above: 1, unit: u}]\nexpect: [{verdict: reproduced}]\n",
        ),
        (
            "expect without a default",
            "title: t\nfamily: reachability\nsummary: s\nvariants: {buggy: {about: b}, fixed: {about: f}}\nsignals: [{name: s, metric: goroutines, stat: slope, present_above: 1, unit: u}]\nexpect: [{when: {go: \"<1.23\"}, verdict: reproduced}]\n",
        ),
    ];
    let d = tempfile::tempdir().unwrap();
    std::fs::write(d.path().join("c.go"), "package scenario\n").unwrap();
    let mut text = String::new();
    for (what, yaml) in cases {
        let yaml = yaml.replace("variants:", "common: [c.go]\nvariants:");
        let e = parse_pattern(&yaml, Path::new("40-x/pattern.yaml"), "40-x", d.path()).unwrap_err();
        text.push_str(&format!("{what}:\n  {e}\n"));
    }
    let bad_version = "1.2x".parse::<crate::version::GoVersion>().unwrap_err();
    text.push_str(&format!("a bad Go version:\n  {bad_version}\n"));
    let bad_stress = "gc-ms=fast".parse::<crate::stress::Stress>().unwrap_err();
    text.push_str(&format!("a bad stress setting:\n  {bad_stress}\n"));
    snapshot("errors", "the first error messages a pattern author meets", &text);
}

/// JUnit and HTML are written with `format!`, every text through the one
/// escaper (`xml_escape`), rather than through quick-junit and a template
/// engine: both formats are small, the JUnit file is checked against the
/// schema in the slow tier, and this test holds the escaping to account.
/// Markup put into every field a pattern, a user or a child process
/// controls (the reason a cell was skipped, why a verdict is expected, an
/// explanation, an error, parameter values, a crash message, stderr) must
/// come out escaped, never as markup.
#[test]
fn markup_in_any_field_comes_out_escaped_in_junit_and_html() {
    const EVIL: &str = "<x-evil a=\"1\">&'";
    let mut rs = results();
    for r in &mut rs {
        r.explanation = format!("explained {EVIL}");
        r.why = format!("why {EVIL}");
        r.error = Some(format!("error {EVIL}"));
        r.config.overrides.insert("leak".into(), EVIL.into());
        r.config.params.insert("leak".into(), EVIL.into());
        for v in [&mut r.buggy, &mut r.fixed].into_iter().flatten() {
            if let Some(c) = &mut v.crash {
                c.message = format!("crash {EVIL}");
            }
        }
        for run in &mut r.runs {
            run.outcome.stderr = format!("stderr {EVIL}");
        }
    }
    for f in [Format::Junit, Format::Html] {
        let text = f.render(&rs);
        assert!(!text.contains("<x-evil"), "{f:?} writes markup from a field as markup");
        assert!(text.contains("&lt;x-evil a=&quot;1&quot;&gt;&amp;"), "{f:?} shows the text escaped");
    }
}

/// Every release of the index as a column (26): the Markdown summary and
/// the HTML report carry the atlas, one boundary marked where the verdict
/// changes, and the HTML leaves out its grid of badges (too wide there).
#[test]
fn an_atlas_of_26_releases_stays_compact_and_marks_its_boundary() {
    let releases = [
        "1.21.13", "1.22.10", "1.23.1", "1.23.2", "1.23.3", "1.23.4", "1.23.9", "1.24.3", "1.24.11", "1.25.0",
        "1.25.1", "1.25.2", "1.25.3", "1.25.4", "1.25.5", "1.26.0", "1.26.1", "1.26.2", "1.26.3", "1.26.4", "1.26.5",
        "1.26.6", "1.27.0", "1.27.1", "1.27.2", "1.27.3",
    ];
    let rs: Vec<CellResult> = releases
        .iter()
        .map(|go| {
            let v: crate::version::GoVersion = go.parse().unwrap();
            let verdict = if v.minor < 23 { "reproduced" } else { "not-reproduced" };
            serde_json::from_value(serde_json::json!({
                "cell": format!("15-t|go{go}"), "pattern": "15-t", "go": go, "go_line": v.series().line_string(),
                "knobs": {}, "params": {}, "buggy": null, "fixed": null, "verdict": verdict, "expected": verdict,
                "met": true, "why": "", "explanation": ""
            }))
            .unwrap()
        })
        .collect();
    let md = summary_md(&rs);
    assert!(md.contains("### Version atlas"), "{md}");
    let text = md.split("```text\n").nth(1).unwrap().split("```").next().unwrap();
    assert!(text.lines().all(|l| l.chars().count() <= 100), "readable at 26 columns:\n{text}");
    snapshot("atlas-md", "the version atlas in summary.md (26 releases)", text);
    let html = Format::Html.render(&rs);
    assert!(html.contains("id=\"atlas\"") && !html.contains("id=\"grid\""), "the atlas in place of the grid");
    assert_eq!(html.matches("class=\"boundary\"").count(), 1, "one change: 1.22.10 -> 1.23.1");
}
