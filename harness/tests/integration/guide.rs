//! The documentation's examples, run exactly as written: the guide's
//! (docs/guide.md, between `<!-- guide-example -->` markers) and the
//! README's 30-second example, each line with `gcfuzz` the binary under
//! test, from an empty folder.

use crate::support::{home, shared};
use std::path::Path;

/// The lines of the first ```sh block after `marker` in `doc`.
fn example(doc: &str, marker: &str) -> Vec<String> {
    let text = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(doc)).unwrap();
    let at = text.find(marker).unwrap_or_else(|| panic!("{doc} has no `{marker}`"));
    let rest = &text[at..];
    let start = rest.find("```sh\n").unwrap() + 6;
    let end = start + rest[start..].find("```").unwrap();
    rest[start..end]
        .lines()
        .map(|l| l.split(" # ").next().unwrap().trim().to_string())
        .filter(|l| !l.is_empty())
        .collect()
}

fn run_as_written(lines: &[String]) -> String {
    let d = tempfile::tempdir().unwrap();
    let _machine = shared();
    let mut all = String::new();
    for line in lines {
        let words: Vec<&str> = line.split_whitespace().collect();
        assert_eq!(words[0], "gcfuzz", "{line}");
        let o = std::process::Command::new(env!("CARGO_BIN_EXE_gcfuzz"))
            .args(&words[1..])
            .current_dir(d.path())
            .env("GCFUZZ_HOME", home())
            .env("GCFUZZ_OUT", d.path().join("default-out"))
            .env_remove("GCFUZZ_TEMPLATES")
            .output()
            .unwrap();
        let text = format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
        assert_eq!(o.status.code(), Some(0), "`{line}`:\n{text}");
        all.push_str(&text);
    }
    all
}

#[test]
fn the_guides_example_runs_as_written() {
    let lines = example("docs/guide.md", "<!-- guide-example -->");
    assert_eq!(lines.len(), 3, "{lines:?}");
    let out = run_as_written(&lines);
    assert!(out.matches("41-cache-never-pruned").count() >= 2, "{out}");
    assert!(out.contains("2 cells: 2 as expected"), "reproduced on both toolchains:\n{out}");
}

#[test]
fn the_readmes_example_runs_as_written() {
    let lines = example("README.md", "## A 30-second example");
    assert_eq!(lines.len(), 3, "{lines:?}");
    let out = run_as_written(&lines);
    assert!(out.contains("verdicts: 2 reproduced"), "{out}");
}
