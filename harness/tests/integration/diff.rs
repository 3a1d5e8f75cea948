//! `gcfuzz diff` on real runs: the same patterns on Go 1.22 and on Go 1.23
//! differ in exactly the cells whose behaviour the runtime changed there
//! (Bug 15's unstopped ticker, collectable from 1.23 with the module's own
//! go line), and in nothing else; two result sets of one run do not differ.

use crate::support::gcfuzz;

#[test]
fn diff_between_go_1_22_and_1_23_shows_exactly_the_cells_that_changed() {
    let d = tempfile::tempdir().unwrap();
    let (a, b) = (d.path().join("go1.22"), d.path().join("go1.23"));
    // Two version-sensitive patterns (12: the 1.22 loop variable, 15: the
    // 1.23 timers) and two that behave the same on both.
    for (go, out) in [("1.22", &a), ("1.23", &b)] {
        let o = gcfuzz(&["run", "02", "07", "12", "15", "--go", go, "--quiet", "--out", out.to_str().unwrap()], &[]);
        assert_eq!(o.code, Some(0), "every cell as its pattern expects on {go}: {o}");
    }
    let md = d.path().join("diff.md");
    let o = gcfuzz(
        &["diff", a.to_str().unwrap(), b.to_str().unwrap(), "--json", "-", "--markdown", md.to_str().unwrap()],
        &[],
    );
    assert_eq!(o.code, Some(1), "a verdict changed: exit 1\n{o}");
    let j: serde_json::Value = serde_json::from_str(&o.stdout).unwrap_or_else(|e| panic!("{e}: {o}"));
    assert_eq!(j["matching"], "across-toolchains", "{j}");
    let changed: Vec<String> = j["changed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            format!("{} {}: {} -> {}", c["new"]["pattern"], c["new"]["config"], c["from"], c["to"]).replace('"', "")
        })
        .collect();
    assert_eq!(changed, ["15-ticker-not-stopped line own -: reproduced -> not-reproduced"], "{j}");
    let names = |k: &str| -> Vec<String> {
        j[k].as_array().unwrap().iter().map(|c| format!("{} {}", c["pattern"], c["config"]).replace('"', "")).collect()
    };
    assert!(names("only_old").is_empty(), "{j}");
    assert_eq!(
        names("only_new"),
        ["15-ticker-not-stopped line own GODEBUG=asynctimerchan=1"],
        "a setting only 1.23 has"
    );
    // 02, 07, 12 (own line and pinned 1.21) and 15 with its line pinned to
    // 1.22 (on Go 1.22 that is the own line): compared, unchanged.
    assert_eq!(j["compared"], 6, "{j}");
    let md = std::fs::read_to_string(md).unwrap();
    assert!(
        md.contains("| 15-ticker-not-stopped | line own - | reproduced | **not-reproduced** |"),
        "a pull-request comment names the change: {md}"
    );
    assert!(o.stderr.contains("VERDICT CHANGED") && o.stderr.contains("1 verdicts changed"), "{o}");
    // A set against itself: nothing, exit 0, even with --fail-on any.
    let o = gcfuzz(&["diff", a.to_str().unwrap(), a.join("verdicts.json").to_str().unwrap(), "--fail-on", "any"], &[]);
    assert_eq!(o.code, Some(0), "{o}");
    assert!(o.stdout.contains("0 verdicts changed, 0 only in the old set, 0 only in the new, 0 signals moved"), "{o}");
    // --fail-on never: the change is reported, the exit is 0.
    let o =
        gcfuzz(&["diff", a.to_str().unwrap(), b.join("results.jsonl").to_str().unwrap(), "--fail-on", "never"], &[]);
    assert_eq!(o.code, Some(0), "{o}");
    assert!(o.stdout.contains("15-ticker-not-stopped  line own -: reproduced -> not-reproduced"), "{o}");
    // Not a result set: exit 2 with the file named.
    let o = gcfuzz(&["diff", a.to_str().unwrap(), d.path().join("nothing.json").to_str().unwrap()], &[]);
    assert_eq!(o.code, Some(2), "{o}");
    assert!(o.stderr.contains("nothing.json"), "{o}");
}
