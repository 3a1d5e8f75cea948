//! A local module named at a git revision (`{path: example.com/shop, dir:
//! ../shop, rev: v1.4.0}`, or `../shop@HEAD~1` in a variant's `modules`):
//! the folder as it was at that commit, exported with `git archive` from
//! the repository that holds it into the cache, keyed by the commit, so
//! "buggy = the commit before the fix, fixed = the working tree" needs no
//! second checkout.

use std::path::{Path, PathBuf};
use std::process::Command;

/// `git -C dir args…`: its trimmed stdout, or its stderr as the error.
fn git(dir: &Path, args: &[&str]) -> Result<String, String> {
    let o = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .env("GIT_TERMINAL_PROMPT", "0")
        .output()
        .map_err(|e| format!("cannot run git: {e}"))?;
    if o.status.success() {
        Ok(String::from_utf8_lossy(&o.stdout).trim().to_string())
    } else {
        Err(String::from_utf8_lossy(&o.stderr).trim().to_string())
    }
}

/// The folder `dir` as it was at `rev`, exported under `cache`
/// (`<cache>/<commit>/<the folder's path in the repository>`). Errors name
/// what is wrong: no repository, an unknown revision, or a revision that
/// is the checked-out commit while the folder has uncommitted changes
/// (which of the two is meant cannot be told).
pub(super) fn export(dir: &Path, rev: &str, cache: &Path) -> Result<PathBuf, String> {
    let root = git(dir, &["rev-parse", "--show-toplevel"])
        .map_err(|e| format!("`{}` is not in a git repository, so it has no revision `{rev}` ({e})", dir.display()))?;
    let commit = git(dir, &["rev-parse", "--verify", "--quiet", &format!("{rev}^{{commit}}")])
        .ok()
        .filter(|c| !c.is_empty())
        .ok_or_else(|| format!("unknown revision `{rev}` in the git repository at {root}"))?;
    let head = git(dir, &["rev-parse", "HEAD"]).unwrap_or_default();
    if commit == head && !git(dir, &["status", "--porcelain", "--", "."]).unwrap_or_default().is_empty() {
        return Err(format!(
            "revision `{rev}` is the checked-out commit, but `{}` has uncommitted changes: name the working tree (no revision) or commit them",
            dir.display()
        ));
    }
    let prefix = git(dir, &["rev-parse", "--show-prefix"])?;
    let prefix = prefix.trim_end_matches('/');
    let out = cache.join(&commit);
    let target = if prefix.is_empty() { out.clone() } else { out.join(prefix) };
    if out.join(".complete").is_file() {
        return Ok(target);
    }
    std::fs::create_dir_all(cache).map_err(|e| format!("cannot create {}: {e}", cache.display()))?;
    let staging = tempfile::Builder::new()
        .prefix(".new-")
        .tempdir_in(cache)
        .map_err(|e| format!("cannot create a folder in {}: {e}", cache.display()))?;
    let tar = staging.path().join(".archive.tar");
    let mut args = vec!["archive", "--format=tar", "-o"];
    let tar_s = tar.to_string_lossy().into_owned();
    args.push(&tar_s);
    args.push(&commit);
    if !prefix.is_empty() {
        args.push("--");
        args.push(prefix);
    }
    git(Path::new(&root), &args).map_err(|e| format!("git archive {commit}: {e}"))?;
    let o = Command::new("tar")
        .arg("-xf")
        .arg(&tar)
        .arg("-C")
        .arg(staging.path())
        .output()
        .map_err(|e| format!("cannot run tar: {e}"))?;
    if !o.status.success() {
        return Err(format!("tar: {}", String::from_utf8_lossy(&o.stderr).trim()));
    }
    let _ = std::fs::remove_file(&tar);
    std::fs::write(staging.path().join(".complete"), &commit).map_err(|e| e.to_string())?;
    let staged = staging.keep();
    if std::fs::rename(&staged, &out).is_err() {
        let _ = std::fs::remove_dir_all(&staged);
        if !out.join(".complete").is_file() {
            return Err(format!("cannot move the export of {commit} into {}", out.display()));
        }
    }
    Ok(target)
}

/// A variant's module folder as written: `../shop` or `../shop@rev` (the
/// part after the last `@`, unless the whole text is an existing folder).
pub(super) fn split_rev<'a>(base: &Path, text: &'a str) -> (&'a str, Option<&'a str>) {
    match text.rsplit_once('@') {
        Some((dir, rev)) if !rev.is_empty() && !dir.is_empty() && !base.join(text).is_dir() => (dir, Some(rev)),
        _ => (text, None),
    }
}
