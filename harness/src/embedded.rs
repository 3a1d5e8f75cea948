//! gcfuzz's own templates folder (the probe and the built-in patterns),
//! compiled into the binary by `build.rs`, so a gcfuzz installed anywhere
//! (`cargo install --path harness`, a copy in a container) needs no source
//! tree. A command that needs the folder gets it written into the cache,
//! once per content (`<home>/templates/<hash>/`), whole or not at all.

use crate::errors::IoError;
use std::path::{Path, PathBuf};

mod generated {
    include!(concat!(env!("OUT_DIR"), "/templates.rs"));
}

/// Every embedded file: its path under templates/ and its bytes.
pub fn files() -> &'static [(&'static str, &'static [u8])] {
    generated::FILES
}

/// A hash of the embedded files (paths and contents), hex.
pub fn digest() -> String {
    use sha2::Digest;
    let mut h = sha2::Sha256::new();
    for (path, bytes) in files() {
        h.update((path.len() as u64).to_le_bytes());
        h.update(path.as_bytes());
        h.update((bytes.len() as u64).to_le_bytes());
        h.update(bytes);
    }
    h.finalize().iter().take(8).map(|b| format!("{b:02x}")).collect()
}

/// Whether `dir` holds the embedded templates as they are (the source
/// tree's templates/ folder, or a copy of it): naming it adds nothing.
pub fn is_copy(dir: &Path) -> bool {
    dir.join("probe").is_dir()
        && files().iter().all(|(rel, bytes)| std::fs::read(dir.join(rel)).is_ok_and(|b| b == *bytes))
}

/// The marker written last into a complete copy.
const COMPLETE: &str = ".complete";

/// The embedded templates folder, written under `home/templates/` the
/// first time this content is asked for: into a fresh folder beside it,
/// then renamed into place, so a concurrent gcfuzz or a crash never leaves
/// a half-written copy where one is looked for.
pub fn templates(home: &Path) -> Result<PathBuf, IoError> {
    let parent = home.join("templates");
    let dir = parent.join(digest());
    if dir.join(COMPLETE).is_file() {
        return Ok(dir);
    }
    std::fs::create_dir_all(&parent).map_err(crate::errors::io_err("failed to create", &parent))?;
    let tmp = tempfile::Builder::new()
        .prefix(".new-")
        .tempdir_in(&parent)
        .map_err(crate::errors::io_err("failed to create a folder in", &parent))?;
    for (rel, bytes) in files() {
        let path = tmp.path().join(rel);
        if let Some(p) = path.parent() {
            std::fs::create_dir_all(p).map_err(crate::errors::io_err("failed to create", p))?;
        }
        std::fs::write(&path, bytes).map_err(crate::errors::io_err("failed to write", &path))?;
    }
    let marker = tmp.path().join(COMPLETE);
    std::fs::write(&marker, digest()).map_err(crate::errors::io_err("failed to write", &marker))?;
    let staged = tmp.keep();
    if std::fs::rename(&staged, &dir).is_err() {
        // Another gcfuzz put it in place first (or a stale incomplete copy
        // is there): keep a complete one, replace an incomplete one.
        if dir.join(COMPLETE).is_file() {
            let _ = std::fs::remove_dir_all(&staged);
        } else {
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::rename(&staged, &dir).map_err(crate::errors::io_err("failed to move into place", &dir))?;
        }
    }
    Ok(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_folder_is_the_source_trees_and_is_written_once() {
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("../templates");
        assert!(files().iter().any(|(p, _)| *p == "probe/probe.go"));
        assert!(files().iter().filter(|(p, _)| p.ends_with("/pattern.yaml")).count() >= 16);
        for (rel, bytes) in files() {
            assert_eq!(std::fs::read(src.join(rel)).unwrap(), *bytes, "{rel} is the source tree's");
        }
        let home = tempfile::tempdir().unwrap();
        assert!(is_copy(&src), "the source tree's folder is the built-in catalogue");
        assert!(!is_copy(home.path()));
        let a = templates(home.path()).unwrap();
        assert!(is_copy(&a));
        assert!(a.join("probe/probe.go").is_file() && a.join(COMPLETE).is_file());
        let written = std::fs::metadata(a.join(COMPLETE)).unwrap().modified().unwrap();
        let b = templates(home.path()).unwrap();
        assert_eq!(a, b);
        assert_eq!(std::fs::metadata(b.join(COMPLETE)).unwrap().modified().unwrap(), written, "not written twice");
        // A half-written copy (no marker) is replaced.
        std::fs::remove_file(a.join(COMPLETE)).unwrap();
        std::fs::remove_file(a.join("probe/probe.go")).unwrap();
        let c = templates(home.path()).unwrap();
        assert!(c.join("probe/probe.go").is_file() && c.join(COMPLETE).is_file());
        let left: Vec<_> = std::fs::read_dir(home.path().join("templates")).unwrap().flatten().collect();
        assert_eq!(left.len(), 1, "no staging folder left: {left:?}");
    }
}
