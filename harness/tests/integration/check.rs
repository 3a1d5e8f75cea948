//! `gcfuzz new` and `gcfuzz check` as a new user meets them: a scaffold
//! that runs as it is, and broken patterns (kept as fixtures) each
//! rejected with its file, line, field and a clear message.

use crate::support::{fixtures, gcfuzz, templates};
use std::path::Path;

#[test]
fn check_rejects_each_broken_fixture_with_its_place_and_passes_good_patterns() {
    let dir = fixtures().join("check");
    let d = |n: &str| dir.join(n).display().to_string();
    let names = [
        "81-counter-nobody-moves",
        "82-does-not-build",
        "83-missing-expectation",
        "84-prints-to-stdout",
        "85-same-variants",
        "86-unbounded-rounds",
    ];
    let mut args = vec!["check".to_string(), "--go".into(), "latest".into()];
    args.extend(names.iter().map(|n| d(n)));
    let o = gcfuzz(&args.iter().map(String::as_str).collect::<Vec<_>>(), &[]);
    assert_eq!(o.code, Some(1), "{o}");
    let expected = [
        (
            "81-counter-nobody-moves/pattern.yaml:31: signals[kept_bytes].per:",
            "counter `items` is declared but the scenario never creates it",
        ),
        ("82-does-not-build/fixed.go:6: files:", "cannot use len(v) (value of type int) as []byte value"),
        (
            "83-missing-expectation/pattern.yaml:38: expect:",
            "must end with an entry without `when` (the default expectation)",
        ),
        ("84-prints-to-stdout/pattern.yaml:15: variants.buggy:", "the scenario writes to stdout, which the probe owns"),
        ("85-same-variants/pattern.yaml:14: variants:", "buggy and fixed have the same Go files, knobs and modules"),
        ("86-unbounded-rounds/pattern.yaml:22: run.rounds:", "50000 rounds: at most 10000"),
    ];
    // Each problem is its place and what follows up to the next problem
    // (a build failure carries the compiler's lines).
    let root = dir.display().to_string();
    for (place, message) in expected {
        let at = o.stdout.find(place).unwrap_or_else(|| panic!("no `{place}`:\n{o}"));
        let rest = &o.stdout[at..];
        let problem = &rest[..rest[1..].find(&root).map_or(rest.len(), |n| n + 1)];
        assert!(problem.contains(message), "{place}: {message}\n{problem}");
    }
    assert!(o.stderr.contains("6 pattern(s) checked, 7 problem(s)"), "{o}");
    // Good patterns pass: a built-in one and the worked example (with its
    // local module), on the oldest and newest Go.
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/40-context-not-cancelled");
    let builtin = templates().join("15-ticker-not-stopped");
    let o = gcfuzz(&["check", example.to_str().unwrap(), builtin.to_str().unwrap()], &[]);
    assert_eq!(o.code, Some(0), "{o}");
    assert!(o.stderr.contains("2 pattern(s) checked, 0 problem(s)"), "{o}");
    // Checked where they run, as they expect: a pattern its configs limit
    // to Go 1.24+ (runtime.AddCleanup) is not built on 1.21, and a pattern
    // whose expectation is a crash may crash.
    let limited = fixtures().join("patterns/83-cleanups-settled");
    let crashes = fixtures().join("patterns/90-panics");
    let o = gcfuzz(&["check", "--go", "oldest,latest", limited.to_str().unwrap(), crashes.to_str().unwrap()], &[]);
    assert_eq!(o.code, Some(0), "{o}");
    assert!(o.stderr.contains("2 pattern(s) checked, 0 problem(s)"), "{o}");
}

#[test]
fn new_scaffolds_a_pattern_that_checks_clean_and_runs_as_it_is() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path().join("41-my-leak");
    let o = gcfuzz(&["new", dir.to_str().unwrap()], &[]);
    assert_eq!(o.code, Some(0), "{o}");
    assert!(o.stdout.contains("next: gcfuzz check"), "{o}");
    let yaml = std::fs::read_to_string(dir.join("pattern.yaml")).unwrap();
    assert!(yaml.lines().filter(|l| l.contains(" # ")).count() >= 15, "a comment on each field:\n{yaml}");
    let o = gcfuzz(&["check", dir.to_str().unwrap(), "--go", "latest"], &[]);
    assert_eq!(o.code, Some(0), "{o}");
    let o = gcfuzz(&["--templates", d.path().to_str().unwrap(), "run", "41", "--go", "latest", "--no-out"], &[]);
    assert_eq!(o.code, Some(0), "the scaffold reproduces its own bug: {o}");
    assert!(o.stdout.contains("41-my-leak") && o.stdout.contains("reproduced  reproduced  ok"), "{o}");
    // A copy of a built-in pattern under a new id (its seed number dropped).
    let copy = d.path().join("42-my-ticker");
    let o = gcfuzz(&["new", copy.to_str().unwrap(), "--from", "15"], &[]);
    assert_eq!(o.code, Some(0), "{o}");
    let o = gcfuzz(&["--templates", d.path().to_str().unwrap(), "--no-builtin", "list"], &[]);
    assert_eq!(o.stdout.lines().count(), 2, "{o}");
    // Refused: an existing folder, a name that is no id.
    let o = gcfuzz(&["new", dir.to_str().unwrap()], &[]);
    assert_eq!(o.code, Some(2), "{o}");
    assert!(o.stderr.contains("already exists"), "{o}");
    let o = gcfuzz(&["new", d.path().join("my-leak").to_str().unwrap()], &[]);
    assert_eq!(o.code, Some(2), "{o}");
    assert!(o.stderr.contains("is not a pattern folder name: use NN-slug"), "{o}");
}
