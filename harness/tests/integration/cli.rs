//! The CLI, end to end: the issue's acceptance checks, JSON for scripts,
//! rendering, exit codes and error messages.

use crate::support::{fixtures, gcfuzz, home};
use std::path::Path;

fn json(o: &crate::support::Output) -> Vec<serde_json::Value> {
    serde_json::from_str::<serde_json::Value>(&o.stdout)
        .unwrap_or_else(|e| panic!("{e}\n{o}"))
        .as_array()
        .unwrap()
        .clone()
}

fn find<'a>(cells: &'a [serde_json::Value], go: &str, line: &str, godebug: Option<&str>) -> &'a serde_json::Value {
    cells
        .iter()
        .find(|c| {
            c["go"] == go && c["go_line"] == line && c["knobs"].get("GODEBUG").and_then(|g| g.as_str()) == godebug
        })
        .unwrap_or_else(|| panic!("no cell {go} {line} {godebug:?}"))
}

#[test]
fn bug15_verdicts_differ_between_go_1_22_and_1_23() {
    let o = gcfuzz(&["run", "15-ticker-not-stopped", "--go", "1.22,1.23", "--json", "-", "--quiet"], &[]);
    assert_eq!(o.code, Some(0), "{o}");
    let cells = json(&o);
    let c = find(&cells, "1.22.10", "1.22", None);
    assert_eq!((c["verdict"].as_str(), c["met"].as_bool()), (Some("reproduced"), Some(true)), "{c}");
    assert_eq!((c["pattern"].as_str(), c["seed_bug"].as_u64()), (Some("15-ticker-not-stopped"), Some(15)));
    assert_eq!(c["buggy"]["status"], "present");
    assert_eq!(c["fixed"]["status"], "absent");
    let leaked = c["buggy"]["signals"][0]["estimate"]["value"].as_f64().unwrap();
    assert!(leaked > 2.5, "{c}");
    // Go 1.23 with a 1.23 go line collects the unstopped ticker...
    let c = find(&cells, "1.23.9", "1.23", None);
    assert_eq!(c["verdict"], "not-reproduced", "{c}");
    assert!(c["buggy"]["signals"][0]["estimate"]["value"].as_f64().unwrap() < 0.5);
    // ...but not for a module that still says go 1.22, nor with the old timers.
    assert_eq!(find(&cells, "1.23.9", "1.22", None)["verdict"], "reproduced");
    assert_eq!(find(&cells, "1.23.9", "1.23", Some("asynctimerchan=1"))["verdict"], "reproduced");
    assert!(o.stderr.contains("15-ticker-not-stopped  1.22.10"), "the table goes to stderr with --json -\n{o}");
}

#[test]
fn bug12_verdicts_differ_by_go_line_on_one_toolchain() {
    let o = gcfuzz(&["run", "12", "--go", "1.27", "--go-line", "1.21,1.22", "--json", "-", "--quiet"], &[]);
    assert_eq!(o.code, Some(0), "{o}");
    let cells = json(&o);
    assert_eq!(cells.len(), 2);
    let old = find(&cells, "1.27.3", "1.21", None);
    let new = find(&cells, "1.27.3", "1.22", None);
    assert_eq!(old["verdict"], "reproduced", "{old}");
    assert_eq!(new["verdict"], "not-reproduced", "{new}");
    assert!(old["buggy"]["signals"][0]["estimate"]["value"].as_f64().unwrap() > 0.05);
    assert_eq!(new["buggy"]["signals"][0]["estimate"]["value"].as_f64().unwrap(), 0.0);
}

#[test]
fn an_unmet_expectation_exits_1() {
    // A fixture whose declared expectation is wrong on purpose.
    let d = crate::support::fixture_templates(&["90-panics"]);
    let yaml = d.path().join("90-panics/pattern.yaml");
    let text = std::fs::read_to_string(&yaml).unwrap().replace("verdict: crash", "verdict: reproduced");
    std::fs::write(&yaml, text).unwrap();
    let out = d.path().join("out");
    let o = gcfuzz(
        &[
            "--templates",
            d.path().to_str().unwrap(),
            "run",
            "90",
            "--go",
            "latest",
            "--quiet",
            "--out",
            out.to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(o.code, Some(1), "{o}");
    assert!(o.stderr.contains("UNEXPECTED 90-panics"), "{o}");
    // --quiet still logs the cell that went wrong, as it ends.
    assert!(o.stderr.contains("[1/1] 90-panics go1.27.3 line1.27 -: crash (EXPECTED reproduced)"), "{o}");
    assert!(o.stderr.contains("panic: runtime error: index out of range"), "the evidence is shown: {o}");
    // The JUnit report carries the failure and the verdict's explanation.
    let junit = std::fs::read_to_string(out.join("junit.xml")).unwrap();
    assert!(junit.contains(r#"<testsuites name="gcfuzz" tests="1" failures="1" errors="0""#), "{junit}");
    assert!(
        junit.contains(r#"<failure type="unexpected-verdict" message="expected reproduced, got crash">"#),
        "{junit}"
    );
    assert!(junit.contains("index out of range"), "{junit}");
    assert!(std::fs::read_to_string(out.join("summary.md")).unwrap().contains("| 90-panics | go1.27.3 line1.27 |"));
}

#[test]
fn a_failed_build_is_a_setup_error_exit_3_and_recorded_per_cell() {
    let d = crate::support::fixture_templates(&["90-panics"]);
    let f = d.path().join("90-panics/buggy.go");
    std::fs::write(&f, std::fs::read_to_string(&f).unwrap().replace("ops.Add(100)", "ops.Add(\"x\")")).unwrap();
    let out = d.path().join("out");
    let templates = d.path().to_str().unwrap();
    let o = gcfuzz(
        &["--templates", templates, "run", "90", "--go", "latest", "--quiet", "--out", out.to_str().unwrap()],
        &[],
    );
    assert_eq!(o.code, Some(3), "{o}");
    assert!(o.stderr.contains("build failed: `go build` failed for Go 1.27.3"), "{o}");
    let junit = std::fs::read_to_string(out.join("junit.xml")).unwrap();
    assert!(junit.contains(r#"<testsuites name="gcfuzz" tests="1" failures="0" errors="1""#), "{junit}");
    // The JSON and the JUnit report keep the compiler's own words, with
    // the file and line, not only the first line of the error.
    let compiler = "buggy.go:";
    assert!(junit.contains(compiler) && junit.contains("cannot use"), "{junit}");
    let verdicts = std::fs::read_to_string(out.join("verdicts.json")).unwrap();
    assert!(verdicts.contains(compiler) && verdicts.contains("cannot use"), "{verdicts}");
    // A merge input that is not gcfuzz's is bad input: exit 2.
    let bogus = d.path().join("bogus.json");
    std::fs::write(&bogus, "{\"not\": \"verdicts\"}").unwrap();
    let o = gcfuzz(&["merge", bogus.to_str().unwrap()], &[]);
    assert_eq!(o.code, Some(2), "{o}");
    assert!(o.stderr.contains("is not a gcfuzz --json verdict file"), "{o}");
}

#[test]
fn out_dir_holds_the_journal_verdicts_summary_and_a_well_formed_junit() {
    let d = tempfile::tempdir().unwrap();
    let out = d.path().join("out");
    // Left by an earlier run: its evidence and a killed run's scratch.
    for stale in ["evidence/old-cell", ".scratch-killed"] {
        std::fs::create_dir_all(out.join(stale)).unwrap();
    }
    let o = gcfuzz(&["run", "2", "16", "--go", "latest", "--quiet", "--out", out.to_str().unwrap()], &[]);
    assert!(!out.join("evidence").exists() && !out.join(".scratch-killed").exists(), "a fresh run starts over");
    assert_eq!(o.code, Some(0), "{o}");
    assert!(!o.stderr.contains("[1/2]") && !o.stderr.contains("build:"), "--quiet: no lines for expected cells\n{o}");
    for f in ["results.jsonl", "verdicts.json", "summary.md", "junit.xml"] {
        assert!(out.join(f).is_file(), "{f} missing\n{o}");
    }
    let verdicts: Vec<serde_json::Value> =
        serde_json::from_str(&std::fs::read_to_string(out.join("verdicts.json")).unwrap()).unwrap();
    assert_eq!(verdicts.len(), 2);
    let md = std::fs::read_to_string(out.join("summary.md")).unwrap();
    assert!(
        md.contains("2 cells: 2 as expected")
            && md.contains(
                "| 02-subslice-pins-array | go1.27.3 line1.27 | present | absent | reproduced | reproduced | ✅ |"
            ),
        "{md}"
    );
    // Parsed by a real XML parser, with the counts CI tools read.
    let check = r#"import sys, xml.etree.ElementTree as E
r = E.parse(sys.argv[1]).getroot()
assert r.tag == "testsuites" and r.get("tests") == "2" and r.get("failures") == "0", r.attrib
cases = r.findall("testsuite/testcase")
assert len(cases) == 2 and all(c.get("classname").startswith("gcfuzz.") for c in cases)
print("ok")"#;
    let py = std::process::Command::new("python3").args(["-c", check]).arg(out.join("junit.xml")).output().unwrap();
    assert_eq!(String::from_utf8_lossy(&py.stdout).trim(), "ok", "{}", String::from_utf8_lossy(&py.stderr));
    // --resume from the same folder runs nothing again.
    let o = gcfuzz(&["run", "2", "16", "--go", "latest", "--quiet", "--out", out.to_str().unwrap(), "--resume"], &[]);
    assert_eq!(o.code, Some(0), "{o}");
    let o = gcfuzz(&["run", "2", "--no-out", "--resume"], &[]);
    assert_eq!(o.code, Some(2), "{o}");
    assert!(o.stderr.contains("--resume needs a journal"), "{o}");
}

#[test]
fn render_writes_a_program_plain_go_build_builds() {
    let d = tempfile::tempdir().unwrap();
    let out = d.path().join("prog");
    let o = gcfuzz(&["render", "15", "--variant", "fixed", "--go-line", "1.23", "-o", out.to_str().unwrap()], &[]);
    assert_eq!(o.code, Some(0), "{o}");
    assert!(std::fs::read_to_string(out.join("go.mod")).unwrap().contains("go 1.23"));
    let tc = crate::support::toolchains();
    let t = tc.ensure("1.27.3".parse().unwrap(), &mut |_| {}).unwrap();
    let _machine = crate::support::shared();
    let b = std::process::Command::new(t.go())
        .args(["build", "-o", "prog", "."])
        .current_dir(&out)
        .env("GOTOOLCHAIN", "local")
        .env("GOCACHE", home().join("gocache"))
        .env("GOFLAGS", "")
        .output()
        .unwrap();
    assert!(b.status.success(), "{}", String::from_utf8_lossy(&b.stderr));
    // It runs with the pattern's defaults baked in.
    let r = std::process::Command::new(out.join("prog")).args(["-rounds", "4"]).output().unwrap();
    let stdout = String::from_utf8_lossy(&r.stdout);
    assert!(r.status.success(), "{stdout}");
    assert!(stdout.contains(r#""scenario":"15-ticker-not-stopped/fixed""#), "{stdout}");
    assert!(stdout.contains(r#""workers":"1000""#), "{stdout}");
    assert!(stdout.contains(r#""type":"done","rounds":4,"reason":"rounds""#), "{stdout}");
}

#[test]
fn bad_input_gets_clear_errors_and_exit_2() {
    let bad = fixtures().join("bad");
    let o = gcfuzz(&["--templates", bad.to_str().unwrap(), "list"], &[]);
    assert_eq!(o.code, Some(2), "{o}");
    assert!(o.stderr.contains("13-bad-yaml/pattern.yaml:10:11: unknown variant `slop`"), "{o}");
    // Found by `make reliability`: a pattern file that is a symbolic link
    // out of its folder.
    assert!(o.stderr.contains("14-symlink-out/pattern.yaml:") && o.stderr.contains("`buggy.go` leads out of"), "{o}");

    let o = gcfuzz(&["run", "--go", "1.19"], &[]);
    assert_eq!(o.code, Some(2), "{o}");
    assert!(o.stderr.contains("unknown Go version `1.19`") && o.stderr.contains("1.27.3"), "{o}");

    let o = gcfuzz(&["run", "99"], &[]);
    assert_eq!(o.code, Some(2), "{o}");
    assert!(o.stderr.contains("no pattern matches `99`"), "{o}");

    let o = gcfuzz(&["run", "15", "--param", "workers=1"], &[]);
    assert_eq!(o.code, Some(2), "{o}");
    assert!(o.stderr.contains("outside the range"), "{o}");

    let o = gcfuzz(&["--templates", "/nonexistent", "list"], &[]);
    assert_eq!(o.code, Some(2), "{o}");
    assert!(o.stderr.contains("failed to read `/nonexistent`"), "{o}");
    let o = gcfuzz(&["--templates", fixtures().to_str().unwrap(), "list"], &[]);
    assert_eq!(o.code, Some(2), "{o}");
    assert!(o.stderr.contains("holds no pattern (a pattern.yaml in it or in a folder inside it)"), "{o}");

    let o = gcfuzz(&["run", "--go-line", "1.2x"], &[]);
    assert_eq!(o.code, Some(2), "{o}");

    // Knob values Go would silently ignore are refused up front, with the
    // forms it reads (issue 13: `--gogc abc` ran the defaults under a
    // wrong label, `--mem-cap-mib 0` recorded every run as a crash).
    let cases: [(&[&str], &str); 6] = [
        (&["--gogc", "abc"], "GOGC `abc`: want an integer of 0 or more"),
        (&["--gogc", "6.4"], "GOGC `6.4`: want an integer"),
        (&["--gomaxprocs", "0"], "GOMAXPROCS `0`: want an integer of 1 or more"),
        (&["--gomemlimit", "12XB"], "GOMEMLIMIT `12XB`: want bytes with an optional suffix"),
        (&["--mem-cap-mib", "0"], "0 is not in 16..=16777216"),
        (&["--mem-budget-mib", "99999999999999"], "is not in 1..=16777216"),
    ];
    for (flags, message) in cases {
        let mut args = vec!["run", "02", "--no-out"];
        args.extend_from_slice(flags);
        let o = gcfuzz(&args, &[]);
        assert_eq!(o.code, Some(2), "{o}");
        assert!(o.stderr.contains(message), "{flags:?}: {o}");
    }
    let o = gcfuzz(&["plan", "02", "--gogc", "off,50", "--gomemlimit", "1GiB,0.5x,off", "--gomaxprocs", "1"], &[]);
    assert_eq!(o.code, Some(0), "the forms Go reads (and relative limits) are accepted: {o}");
}

#[test]
fn an_empty_shard_is_an_empty_result_set_that_merge_accepts() {
    let d = tempfile::tempdir().unwrap();
    let (s1, s2) = (d.path().join("s1"), d.path().join("s2"));
    // One cell, two shards: the second has nothing (a CI matrix with more
    // shards than cells).
    for (k, dir) in [("1/2", &s1), ("2/2", &s2)] {
        let o = gcfuzz(&["run", "02", "--go", "latest", "--shard", k, "--quiet", "--out", dir.to_str().unwrap()], &[]);
        assert_eq!(o.code, Some(0), "{o}");
        assert!(dir.join("verdicts.json").is_file() && dir.join("results.jsonl").is_file(), "{o}");
    }
    assert_eq!(std::fs::read_to_string(s2.join("verdicts.json")).unwrap().trim(), "[]");
    let o = gcfuzz(&["merge", s1.to_str().unwrap(), s2.to_str().unwrap()], &[]);
    assert_eq!(o.code, Some(0), "{o}");
    assert!(o.stderr.contains("1 cells: 1 as expected"), "{o}");
    // A plan with no cells at all is still an error, sharded or not.
    let o = gcfuzz(
        &["run", "15", "--go", "1.21", "--godebug", "asynctimerchan=1", "--go-line", "1.23", "--shard", "1/2"],
        &[],
    );
    assert_eq!(o.code, Some(2), "{o}");
    assert!(o.stderr.contains("nothing to run"), "{o}");
}

#[test]
fn list_shows_the_sixteen_seed_patterns() {
    let o = gcfuzz(
        &["list"],
        &[("GCFUZZ_TEMPLATES", Path::new(env!("CARGO_MANIFEST_DIR")).join("../templates").as_path())],
    );
    assert_eq!(o.code, Some(0), "{o}");
    assert_eq!(o.stdout.lines().count(), 16, "all sixteen seed patterns\n{o}");
    for (i, line) in o.stdout.lines().enumerate() {
        assert!(line.starts_with(&format!("{:02}-", i + 1)), "seed bugs 1-16 in order: {line}");
        assert!(line.ends_with("[built-in]"), "naming the built-in catalogue itself adds nothing: {line}");
    }
}

#[test]
fn added_patterns_join_the_built_in_ones_and_a_clash_names_both_folders() {
    // A folder of patterns (with a stray probe/, never used) and a pattern
    // folder given directly, by flag and by the environment's path list.
    let a = crate::support::fixture_templates(&["90-panics"]);
    let b = crate::support::fixture_templates(&["94-fix-fails-above"]);
    let single = b.path().join("94-fix-fails-above");
    let o =
        gcfuzz(&["--templates", a.path().to_str().unwrap(), "list"], &[("GCFUZZ_TEMPLATES", Path::new("/ignored"))]);
    assert_eq!(o.code, Some(0), "the flag replaces the environment's list: {o}");
    assert_eq!(o.stdout.lines().count(), 17, "{o}");
    let both = format!("{}:{}", a.path().display(), single.display());
    let o = gcfuzz(&["list"], &[("GCFUZZ_TEMPLATES", Path::new(&both))]);
    assert_eq!(o.code, Some(0), "{o}");
    let lines: Vec<&str> = o.stdout.lines().collect();
    assert_eq!(lines.len(), 18, "{o}");
    let line = |id: &str| *lines.iter().find(|l| l.starts_with(id)).unwrap_or_else(|| panic!("{id}: {o}"));
    assert!(line("90-panics").ends_with(&format!("[{}]", a.path().join("90-panics").display())), "{o}");
    assert!(line("94-fix-fails-above").ends_with(&format!("[{}]", single.display())), "{o}");
    assert!(line("15-ticker-not-stopped").ends_with("[built-in]"), "{o}");
    let o = gcfuzz(&["--no-builtin", "--templates", a.path().to_str().unwrap(), "list"], &[]);
    assert_eq!((o.code, o.stdout.lines().count()), (Some(0), 1), "{o}");
    // An added pattern runs next to the built-in ones, picked by name.
    let o = gcfuzz(&["--templates", a.path().to_str().unwrap(), "plan", "90", "15", "--go", "latest"], &[]);
    assert_eq!(o.code, Some(0), "{o}");
    assert!(o.stdout.contains("90-panics") && o.stdout.contains("15-ticker-not-stopped"), "{o}");
    // The same id twice: an error naming both folders.
    crate::support::copy_dir(
        &crate::support::templates().join("15-ticker-not-stopped"),
        &a.path().join("15-ticker-not-stopped"),
    );
    let o = gcfuzz(&["--templates", a.path().to_str().unwrap(), "list"], &[]);
    assert_eq!(o.code, Some(2), "{o}");
    assert!(o.stderr.contains("two patterns have the id `15-ticker-not-stopped`"), "{o}");
    assert!(o.stderr.contains(&a.path().join("15-ticker-not-stopped").display().to_string()), "{o}");
    // The built-in one: the catalogue the binary carries, written into its cache.
    assert!(o.stderr.contains(&format!("{}/", home().join("templates").display())), "{o}");
}

#[test]
fn calibrate_repeats_the_plan_and_finds_no_aa_difference() {
    let o = gcfuzz(&["calibrate", "2", "16", "--go", "latest", "--repeat", "3", "--quiet"], &[]);
    assert_eq!(o.code, Some(0), "{o}");
    for p in ["02-subslice-pins-array", "16-truncated-slice-pins-tail"] {
        let line = o.stdout.lines().find(|l| l.starts_with(p)).unwrap_or_else(|| panic!("{o}"));
        assert!(line.ends_with("| 3 | 3x reproduced | 6 | 0"), "{line}");
    }
    assert!(o.stderr.contains("2 cells x 3 runs: 2 with identical verdicts, 0 unstable; A/A: 0 of 12"), "{o}");
    let o = gcfuzz(&["calibrate", "2", "--repeat", "1"], &[]);
    assert_eq!(o.code, Some(2), "{o}");
}

#[test]
fn stress_goroutines_reach_the_probe_and_can_change_a_verdict() {
    // A GC forcer defeats GOGC=off: Bug 10's buggy variant stops growing,
    // so the expectation (reproduced) fails, and the JSON says why.
    let o = gcfuzz(&["run", "10", "--go", "latest", "--stress", "gc-ms=-1;-", "--json", "-", "--quiet"], &[]);
    assert_eq!(o.code, Some(1), "{o}");
    let cells = json(&o);
    assert_eq!(cells.len(), 2);
    let stressed = cells.iter().find(|c| c["stress"]["gc_ms"] == -1.0).unwrap();
    let plain = cells.iter().find(|c| c["stress"]["gc_ms"] == 0.0).unwrap();
    assert_eq!(plain["verdict"], "reproduced", "{plain}");
    assert_eq!(stressed["verdict"], "not-reproduced", "{stressed}");
    let gc = |c: &serde_json::Value| {
        c["buggy"]["signals"].as_array().unwrap().iter().find(|s| s["name"] == "gc_cycles").unwrap()["estimate"]["value"]
            .as_f64()
            .unwrap()
    };
    assert_eq!(gc(plain), 0.0, "GOGC=off alone runs no cycle");
    assert!(gc(stressed) > 0.0, "the forcer ran cycles (GOGC=off alone runs none): {stressed}");
    assert!(o.stderr.contains("stress:gc-ms=-1"), "{o}");

    let o = gcfuzz(&["run", "10", "--stress", "heat=3"], &[]);
    assert_eq!(o.code, Some(2), "{o}");
    assert!(o.stderr.contains("unknown key `heat`"), "{o}");
}

#[test]
fn a_matrix_file_plans_cells_and_flags_override_it() {
    let d = tempfile::tempdir().unwrap();
    let m = d.path().join("matrix.yaml");
    // `godebug: [""]` replaces the pattern's asynctimerchan configuration.
    std::fs::write(
        &m,
        "patterns: [15]\ngo: [1.23]\ngo_line: [\"1.22\", \"1.23\"]\ngogc: [50, \"off\"]\ngodebug: [\"\"]\nrounds: 8\n",
    )
    .unwrap();
    let m = m.to_str().unwrap();
    let o = gcfuzz(&["plan", "--matrix", m], &[]);
    assert_eq!(o.code, Some(0), "{o}");
    let cells: Vec<&str> = o.stdout.lines().filter(|l| l.starts_with("15-")).collect();
    assert_eq!(
        cells,
        [
            "15-ticker-not-stopped go1.23.9 line1.22 GOGC=50",
            "15-ticker-not-stopped go1.23.9 line1.22 GOGC=off",
            "15-ticker-not-stopped go1.23.9 line1.23 GOGC=50",
            "15-ticker-not-stopped go1.23.9 line1.23 GOGC=off",
        ],
        "{o}"
    );
    // A flag replaces the file's axis.
    let o = gcfuzz(&["plan", "--matrix", m, "--gogc", "100", "--go", "1.27"], &[]);
    assert!(o.stdout.contains("15-ticker-not-stopped go1.27.3 line1.22 GOGC=100"), "{o}");
    assert!(o.stdout.contains("2 cells (4 runs), 2 builds"), "{o}");
    // A misspelt axis is an error with its place.
    std::fs::write(d.path().join("bad.yaml"), "go: [1.23]\ngogcc: [50]\n").unwrap();
    let o = gcfuzz(&["plan", "--matrix", d.path().join("bad.yaml").to_str().unwrap()], &[]);
    assert_eq!(o.code, Some(2), "{o}");
    assert!(o.stderr.contains("bad.yaml:2:1") && o.stderr.contains("gogcc"), "{o}");
}

#[test]
fn early_stopping_ends_decided_runs_sooner_with_the_same_verdicts() {
    let o = gcfuzz(&["run", "2", "16", "--go", "latest", "--early-stop", "--json", "-", "--quiet"], &[]);
    assert_eq!(o.code, Some(0), "{o}");
    for c in json(&o) {
        assert_eq!(c["verdict"], "reproduced", "{c}");
        assert_eq!(c["early_stop"], true);
        let nominal = c["nominal_rounds"].as_u64().unwrap();
        for v in ["buggy", "fixed"] {
            let rounds = c[v]["rounds"].as_u64().unwrap();
            assert!(rounds >= 5 && rounds < nominal, "{v}: {rounds} of {nominal} rounds");
        }
    }
    assert!(o.stderr.contains("% fewer)"), "{o}");
}

#[test]
fn goexperiment_is_a_build_dimension() {
    let o = gcfuzz(&["plan", "3", "--go", "1.24,1.27"], &[]);
    assert_eq!(o.code, Some(0), "{o}");
    // Bug 3 asks for the old maps where the experiment exists.
    assert!(o.stdout.contains("03-map-delete-keeps-buckets go1.24.11 line1.24 GOEXPERIMENT=noswissmap -"), "{o}");
    assert!(!o.stdout.contains("go1.27.3 line1.27 GOEXPERIMENT"), "{o}");
    assert!(o.stdout.contains("3 cells (6 runs), 3 builds"), "{o}");
    let o = gcfuzz(&["plan", "2", "--go", "latest", "--goexperiment", ";heapminimum512kib"], &[]);
    assert!(o.stdout.contains("02-subslice-pins-array go1.27.3 line1.27 GOEXPERIMENT=heapminimum512kib -"), "{o}");
    assert!(o.stdout.contains("2 cells (4 runs), 2 builds"), "{o}");
}

#[test]
fn shards_merged_equal_the_unsharded_run() {
    let d = tempfile::tempdir().unwrap();
    let path = |n: &str| d.path().join(n).to_str().unwrap().to_string();
    let base = ["run", "2", "16", "7", "15", "--go", "latest", "--quiet"];
    let run = |extra: &[&str]| {
        let mut args = base.to_vec();
        args.extend_from_slice(extra);
        gcfuzz(&args, &[])
    };
    let whole = path("whole");
    assert_eq!(run(&["--out", &whole]).code, Some(0));
    let mut parts = Vec::new();
    for k in 1..=3 {
        let p = path(&format!("shard{k}"));
        let o = run(&["--shard", &format!("{k}/3"), "--out", &p]);
        assert_eq!(o.code, Some(0), "{o}");
        parts.push(p);
    }
    // Shard 3 given as its --json verdict file: merge takes either.
    parts[2] = format!("{}/verdicts.json", parts[2]);
    let merged = path("merged");
    let mut args = vec!["merge"];
    args.extend(parts.iter().map(String::as_str));
    args.extend(["--out", &merged]);
    let o = gcfuzz(&args, &[]);
    assert_eq!(o.code, Some(0), "{o}");
    assert!(o.stderr.contains("6 cells: 6 as expected") && o.stderr.contains("merged from 3 inputs"), "{o}");
    let key = |dir: &str| {
        let f = format!("{dir}/verdicts.json");
        let v: Vec<serde_json::Value> = serde_json::from_str(&std::fs::read_to_string(f).unwrap()).unwrap();
        let mut k: Vec<String> = v
            .iter()
            .map(|c| {
                format!(
                    "{} {} {} {} {} {} {}",
                    c["cell"], c["pattern"], c["go"], c["go_line"], c["knobs"], c["verdict"], c["fixed"]["status"]
                )
            })
            .collect();
        k.sort();
        k
    };
    assert_eq!(key(&merged), key(&whole));
    assert_eq!(key(&whole).len(), 6);
    // The merged folder is a whole report: every cell in the journal, plots
    // for the cells whose shard folder kept its journal, the JUnit counts.
    let cells = gcfuzz::journal::read(&d.path().join("merged/results.jsonl")).unwrap();
    assert_eq!(cells.len(), 6);
    let html = std::fs::read_to_string(d.path().join("merged/report.html")).unwrap();
    assert_eq!(html.matches("<section class=\"cell\"").count(), 6);
    let no_series = html.matches("no series recorded").count();
    let from_json = serde_json::from_str::<Vec<serde_json::Value>>(
        &std::fs::read_to_string(d.path().join("shard3/verdicts.json")).unwrap(),
    )
    .unwrap()
    .len();
    assert_eq!(no_series, from_json, "only shard 3's cells (verdicts only) lack plots");
    assert!(html.matches("<svg class=\"plot\"").count() >= 3 * (6 - from_json));
    let junit = std::fs::read_to_string(d.path().join("merged/junit.xml")).unwrap();
    assert!(junit.contains(r#"<testsuites name="gcfuzz" tests="6" failures="0" errors="0""#), "{junit}");
    // A cell in two inputs is refused.
    let o = gcfuzz(&["merge", &parts[0], &parts[0]], &[]);
    assert_eq!(o.code, Some(2), "{o}");
    assert!(o.stderr.contains("is in both"), "{o}");
    let o = gcfuzz(&["plan", "--shard", "4/3"], &[]);
    assert_eq!(o.code, Some(2), "{o}");
    // `--json -` with stdout closed: the JSON cannot be written, and that
    // is an error (exit 3), not a silent exit 0 with the document lost.
    let closed = std::process::Command::new("/bin/sh")
        .args(["-c", "exec \"$0\" merge \"$1\" --json - >&-", env!("CARGO_BIN_EXE_gcfuzz"), &merged])
        .env("GCFUZZ_HOME", home())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&closed.stderr);
    assert_eq!(closed.status.code(), Some(3), "{err}");
    assert!(err.contains("stdout is closed"), "{err}");
}

#[test]
fn the_example_github_workflow_runs_commands_gcfuzz_accepts() {
    #[derive(serde::Deserialize)]
    struct Workflow {
        jobs: std::collections::BTreeMap<String, Job>,
    }
    #[derive(serde::Deserialize)]
    struct Job {
        #[serde(default)]
        strategy: Option<Strategy>,
        steps: Vec<Step>,
    }
    #[derive(serde::Deserialize)]
    struct Strategy {
        matrix: std::collections::BTreeMap<String, Vec<String>>,
    }
    #[derive(serde::Deserialize)]
    struct Step {
        run: Option<String>,
    }
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../.github/workflows/gcfuzz-matrix.yml");
    let w: Workflow = serde_saphyr::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let versions = &w.jobs["suite"].strategy.as_ref().unwrap().matrix["go"];
    // Every Go version gcfuzz knows, each one a version it resolves.
    let tc = crate::support::toolchains();
    let all = tc.resolve("all").unwrap();
    assert_eq!(versions.len(), all.len(), "{versions:?}");
    let mut commands = 0;
    for v in versions {
        assert_eq!(tc.resolve(v).unwrap().len(), 1, "{v}");
        for step in w.jobs.values().flat_map(|j| &j.steps) {
            let Some(run) = step.run.as_deref().filter(|r| r.starts_with("target/debug/gcfuzz ")) else { continue };
            let line = run.replace("${{ matrix.go }}", v);
            let args: Vec<&str> = line.split_whitespace().collect();
            if let Err(e) = <gcfuzz::cli::Cli as clap::Parser>::try_parse_from(&args) {
                panic!("`{line}` is not a gcfuzz command line: {e}");
            }
            commands += 1;
        }
    }
    assert_eq!(commands, 2 * versions.len(), "the suite's run and the merge");
}

#[test]
fn run_writes_out_by_default_and_refuses_a_folder_in_use() {
    let _machine = crate::support::shared();
    let d = tempfile::tempdir().unwrap();
    let run = |extra: &[&str]| {
        let o = std::process::Command::new(env!("CARGO_BIN_EXE_gcfuzz"))
            .args(["run", "16", "--go", "latest", "--quiet"])
            .args(extra)
            .current_dir(d.path())
            .env("GCFUZZ_HOME", home())
            .env_remove("GCFUZZ_OUT")
            .env_remove("GCFUZZ_TEMPLATES")
            .output()
            .unwrap();
        (o.status.code(), String::from_utf8_lossy(&o.stderr).to_string())
    };
    // No --out: ./out, under the working directory.
    let (code, stderr) = run(&[]);
    assert_eq!(code, Some(0), "{stderr}");
    for f in gcfuzz::report::OUTPUT_FILES {
        assert!(d.path().join("out").join(f).is_file(), "{f}: {stderr}");
    }
    // --no-out: nothing.
    let (code, stderr) = run(&["--no-out", "--out", "elsewhere"]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(!d.path().join("elsewhere").exists());
    // A folder another run holds is refused at once, not shared.
    let lock = std::fs::File::open(d.path().join("out/.lock")).unwrap();
    lock.try_lock().unwrap();
    let (code, stderr) = run(&[]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("`out` is in use by another gcfuzz run"), "{stderr}");
    drop(lock);
    assert_eq!(run(&["--resume"]).0, Some(0), "free again");
}

/// An installed gcfuzz (the binary copied elsewhere, as `cargo install`
/// or a container image puts it) works from an empty folder: the probe and
/// the built-in patterns travel inside it and are written into its cache.
#[test]
fn an_installed_binary_needs_no_source_tree() {
    let d = tempfile::tempdir().unwrap();
    let bin = d.path().join("bin/gcfuzz");
    std::fs::create_dir_all(bin.parent().unwrap()).unwrap();
    std::fs::copy(env!("CARGO_BIN_EXE_gcfuzz"), &bin).unwrap();
    let work = d.path().join("work");
    std::fs::create_dir_all(&work).unwrap();
    let _machine = crate::support::shared();
    let run = |args: &[&str]| {
        let o = std::process::Command::new(&bin)
            .args(args)
            .current_dir(&work)
            .env("GCFUZZ_HOME", home())
            .env_remove("GCFUZZ_TEMPLATES")
            .env_remove("GCFUZZ_OUT")
            .output()
            .unwrap();
        let text = format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
        (o.status.code(), text)
    };
    let (code, text) = run(&["list"]);
    assert_eq!(code, Some(0), "{text}");
    assert_eq!(text.lines().filter(|l| l.starts_with(|c: char| c.is_ascii_digit())).count(), 16, "{text}");
    let (code, text) = run(&["new", "41-mine"]);
    assert_eq!(code, Some(0), "{text}");
    let (code, text) = run(&["check", "41-mine", "--go", "latest"]);
    assert_eq!(code, Some(0), "{text}");
    let (code, text) = run(&["run", "15", "--go", "latest", "--no-out"]);
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains("15-ticker-not-stopped") && text.contains("as expected"), "{text}");
    assert!(!work.join("templates").exists(), "nothing written where it runs");
}
