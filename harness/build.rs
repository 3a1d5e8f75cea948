//! Embeds gcfuzz's own templates folder (the probe and the built-in
//! patterns) in the binary, so an installed gcfuzz needs no source tree:
//! `$OUT_DIR/templates.rs` lists every file with `include_bytes!`, and
//! `embedded::templates` writes them into the cache when a command needs
//! them. Cargo reruns this when anything under templates/ changes.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

fn main() {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let root = manifest.join("..").join("templates");
    println!("cargo:rerun-if-changed={}", root.display());
    let mut files = Vec::new();
    walk(&root, "", &mut files);
    files.sort();
    let mut out = String::from(
        "/// Every file of templates/: its path there (`/`-separated) and its bytes.\npub static FILES: &[(&str, &[u8])] = &[\n",
    );
    for (rel, path) in &files {
        let _ = writeln!(out, "    ({rel:?}, include_bytes!({:?})),", path.display().to_string());
    }
    out.push_str("];\n");
    let dest = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("templates.rs");
    std::fs::write(&dest, out).expect("OUT_DIR is writable");
}

/// Files under `dir` (no dotfiles), with their paths relative to the root.
fn walk(dir: &Path, rel: &str, out: &mut Vec<(String, PathBuf)>) {
    let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("templates folder {}: {e}", dir.display()));
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') {
            continue;
        }
        let path = e.path();
        let here = if rel.is_empty() { name } else { format!("{rel}/{name}") };
        if path.is_dir() {
            walk(&path, &here, out);
        } else if path.is_file() {
            let abs = path.canonicalize().unwrap_or(path);
            out.push((here, abs));
        }
    }
}
