//! The crate's layering: data flows one way (docs/architecture.md), so the
//! module graph has no cycle and every edge goes down the declared layers.
//! `scripts/module-graph --layers` is the check `.ci/run` runs; this shows it
//! passes on the crate and fails on a cycle, an upward edge and an unplaced
//! module.

use std::path::Path;
use std::process::Command;

fn module_graph(src: &Path) -> (Option<i32>, String) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let o = Command::new("python3")
        .arg(root.join("scripts/module-graph"))
        .arg("--layers")
        .arg(root.join("docs/architecture.md"))
        .arg(src)
        .output()
        .expect("python3 runs");
    (o.status.code(), String::from_utf8_lossy(&o.stdout).into_owned())
}

#[test]
fn the_crate_has_no_import_cycle_and_the_check_sees_one() {
    let (code, out) = module_graph(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"));
    assert_eq!(code, Some(0), "{out}");
    assert!(out.trim_end().ends_with("no cycles"), "{out}");
    assert!(out.contains("layers: every edge goes down the 15 layers"), "{out}");
    // The vocabulary uses nothing but the foundation (errors, and the
    // exact walks of `sequential` that Sen's interval reads), which uses
    // nothing.
    for base in ["errors ", "sequential "] {
        assert!(out.lines().any(|l| l.starts_with(base) && l.ends_with("-> -")), "{base}is a leaf:\n{out}");
    }
    for leaf in ["knobs", "probe", "process", "stats", "stress", "verdict", "version"] {
        assert!(
            out.lines().any(|l| l.starts_with(leaf)
                && (l.ends_with("-> -") || l.ends_with("-> errors") || l.ends_with("-> sequential"))),
            "{leaf} uses at most the foundation:\n{out}"
        );
    }
    let d = tempfile::tempdir().unwrap();
    std::fs::write(d.path().join("campaign.rs"), "use crate::journal::Journal;\n").unwrap();
    std::fs::write(d.path().join("journal.rs"), "use crate::campaign::CellResult;\n").unwrap();
    let (code, out) = module_graph(d.path());
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("cycle: campaign journal"), "{out}");
}

#[test]
fn the_layer_check_fails_on_an_upward_edge_and_an_unplaced_module() {
    // No cycle, but the journal (records) reaching up to the campaign
    // (drivers), and the vocabulary's version reaching its own layer.
    let d = tempfile::tempdir().unwrap();
    std::fs::write(d.path().join("journal.rs"), "use crate::campaign::Campaign;\n").unwrap();
    std::fs::write(d.path().join("campaign.rs"), "use crate::judge::judge;\n").unwrap();
    std::fs::write(d.path().join("judge.rs"), "\n").unwrap();
    std::fs::write(d.path().join("version.rs"), "use crate::knobs::Knobs;\n").unwrap();
    std::fs::write(d.path().join("knobs.rs"), "\n").unwrap();
    let (code, out) = module_graph(d.path());
    assert_eq!(code, Some(1), "{out}");
    assert!(!out.contains("cycle:"), "{out}");
    assert!(out.contains("upward: journal (records) -> campaign, a later layer (drivers)"), "{out}");
    assert!(out.contains("upward: version (vocabulary) -> knobs, the same layer"), "{out}");
    assert!(!out.contains("upward: campaign"), "campaign -> judge goes down: {out}");
    // A new module must be placed.
    std::fs::write(d.path().join("newthing.rs"), "use crate::knobs::Knobs;\n").unwrap();
    let (code, out) = module_graph(d.path());
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("unplaced: newthing is in no layer"), "{out}");
}

/// Every relative link of the README and docs/ leads to a file that
/// exists and, with a `#fragment`, to a heading in it (GitHub's anchors).
#[test]
fn the_documentations_links_resolve() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let slug = |h: &str| -> String {
        h.trim()
            .to_lowercase()
            .chars()
            .filter(|c| c.is_alphanumeric() || *c == '-' || *c == ' ' || *c == '_')
            .map(|c| if c == ' ' { '-' } else { c })
            .collect()
    };
    let anchors = |path: &std::path::Path| -> Vec<String> {
        std::fs::read_to_string(path)
            .unwrap_or_default()
            .lines()
            .filter_map(|l| l.trim_start_matches('#').strip_prefix(' ').filter(|_| l.starts_with('#')))
            .map(slug)
            .collect()
    };
    let mut docs = vec![root.join("README.md")];
    for e in std::fs::read_dir(root.join("docs")).unwrap() {
        docs.push(e.unwrap().path());
    }
    let mut bad = Vec::new();
    for doc in &docs {
        let text = std::fs::read_to_string(doc).unwrap();
        let mut fenced = false;
        for (n, line) in text.lines().enumerate() {
            if line.starts_with("```") {
                fenced = !fenced;
            }
            if fenced {
                continue;
            }
            let mut rest = line;
            while let Some(at) = rest.find("](") {
                let tail = &rest[at + 2..];
                let Some(end) = tail.find(')') else { break };
                let target = &tail[..end];
                rest = &tail[end..];
                if target.starts_with("http") || target.contains(' ') {
                    continue;
                }
                let (file, frag) = target.split_once('#').unwrap_or((target, ""));
                let path = if file.is_empty() { doc.clone() } else { doc.parent().unwrap().join(file) };
                if !path.exists() {
                    bad.push(format!("{}:{}: {target}: no such file", doc.display(), n + 1));
                } else if !frag.is_empty()
                    && path.extension().is_some_and(|x| x == "md")
                    && !anchors(&path).contains(&frag.to_string())
                {
                    bad.push(format!("{}:{}: {target}: no such heading", doc.display(), n + 1));
                }
            }
        }
    }
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}
