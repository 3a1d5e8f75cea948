//! `gcfuzz new NAME [--from PATTERN]`: a pattern folder ready to run,
//! either a small working example of every field (a store that keeps what
//! it should drop) or a copy of an existing pattern. The folder is loaded
//! once written; one that does not load is removed again, so a scaffold is
//! never left half valid.

use crate::errors::io_err;
use crate::template::{self, Pattern, TemplateError};
use std::path::{Path, PathBuf};

/// Why a scaffold could not be made.
#[derive(Debug, thiserror::Error)]
pub enum ScaffoldError {
    /// The folder's name is not a pattern id.
    #[error("`{0}` is not a pattern folder name: use NN-slug, e.g. 41-cache-never-pruned")]
    Name(String),
    /// The folder is there already.
    #[error("`{}` already exists: choose another name or remove it", .0.display())]
    Exists(PathBuf),
    /// Writing failed.
    #[error(transparent)]
    Io(#[from] crate::errors::IoError),
    /// What was written does not load (a bug of the scaffold, or of the
    /// pattern copied).
    #[error("the new pattern does not load, so it was removed: {0}")]
    Invalid(#[source] TemplateError),
}

impl crate::errors::Classified for ScaffoldError {
    fn class(&self) -> Option<crate::errors::Class> {
        match self {
            ScaffoldError::Name(_) | ScaffoldError::Exists(_) => Some(crate::errors::Class::Usage),
            // A folder that could not be written, a copy that does not
            // load: the I/O or template error inside decides.
            _ => None,
        }
    }
}

const PATTERN_YAML: &str = r#"# A gcfuzz pattern: a buggy and a fixed variant of one program, run side by
# side; the signals say what the bug looks like in runtime numbers. Every
# field is described in gcfuzz's README ("Template format").
title: a store keeps every value it is given        # one line
# seed_bug: 2                        # only for the seed document's patterns
family: reachability                 # reachability | finalizers | pacer | allocation | write-barrier
summary: >
  What the bug is, in two or three sentences, and what its fix changes.
notes: []                            # what you measured, for the next reader
common: [common.go]                  # Go files both variants get
# modules:                           # your own Go code, as a local module:
#   - {path: example.com/shop, dir: ../shop}   # dir relative to this folder
variants:                            # buggy and fixed at least; each a file set
  buggy: {about: keeps every value, files: [buggy.go]}
  fixed: {about: keeps the latest value only, files: [fixed.go]}
params:                              # values the scenario reads (e.Int("items")); one build serves all
  items: {type: int, default: 1000, range: [1, 100000], about: values stored per round}
counters:                            # what the scenario counts (e.Counter("items")): a signal's `per`
  items: values stored so far
run:
  rounds: 8                          # rounds per run (bounded: a run ends)
  warmup: 2                          # leading rounds the statistics leave out
  gc_per_sample: 1                   # runtime.GC() before each sample: the live heap is exact
  max_wall_s: 20                     # the probe stops itself after this
  timeout_s: 60                      # the harness kills the run after this
  peak_mib: 64                       # expected memory, for the scheduler
  # settle: finalizers               # wait for queued finalizers/cleanups before each sample
signals:                             # each symptom signal decides presence; info ones are reported
  - name: kept_bytes
    metric: heap_live                # a probe metric (README) or one of the counters
    per: items                       # the x axis: `round`, a counter or a metric
    stat: slope                      # bytes kept per value stored (Theil-Sen, with a 95% interval);
                                     # a leak that levels off (a reused container): stat: level
    present_above: 128               # a value is 256 B; the fixed store keeps ~0 per value
    unit: B/item
    about: live heap kept per value stored
expect:                              # first match wins; the last entry has no `when`
  - verdict: reproduced
    why: the buggy store keeps every value reachable; the fixed one keeps one.
"#;

const COMMON_GO: &str = r#"// What both variants share: the scenario the probe drives in rounds.
// Write to stdout only through the probe (it owns it); log to stderr.
package scenario

import "gcfuzzprog/probe"

// New is called once per run: read the parameters, make the counters,
// set up what lives across rounds, and return the round's work.
func New(e *probe.Env) probe.Scenario {
	items := e.Int("items")
	stored := e.Counter("items")
	s := &store{}
	return probe.Scenario{Round: func(round int) {
		for i := 0; i < items; i++ {
			s.add(round*items+i, make([]byte, 256))
			stored.Add(1)
		}
	}}
}
"#;

const BUGGY_GO: &str = r#"package scenario

// store keeps every value it is given (the bug: replace with yours).
type store struct{ all map[int][]byte }

func (s *store) add(k int, v []byte) {
	if s.all == nil {
		s.all = map[int][]byte{}
	}
	s.all[k] = v
}
"#;

const FIXED_GO: &str = r#"package scenario

// store keeps the latest value only (the fix).
type store struct{ last []byte }

func (s *store) add(_ int, v []byte) { s.last = v }
"#;

/// Makes the pattern folder `dir` (its name an id, NN-slug): the example
/// scaffold, or a copy of `from`. Returns the loaded pattern.
pub fn new_pattern(dir: &Path, from: Option<&Pattern>) -> Result<Pattern, ScaffoldError> {
    let name = dir.file_name().and_then(|n| n.to_str()).unwrap_or_default();
    let (num, slug) = name.split_once('-').unwrap_or(("", ""));
    let slug_ok = !slug.is_empty() && slug.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if num.len() != 2 || !num.bytes().all(|b| b.is_ascii_digit()) || !slug_ok {
        return Err(ScaffoldError::Name(name.to_string()));
    }
    if dir.exists() {
        return Err(ScaffoldError::Exists(dir.to_path_buf()));
    }
    std::fs::create_dir_all(dir).map_err(io_err("failed to create", dir))?;
    let written = match from {
        None => write_example(dir),
        Some(p) => write_copy(dir, p),
    };
    let loaded =
        written.map_err(ScaffoldError::from).and_then(|()| template::load_pattern(dir).map_err(ScaffoldError::Invalid));
    if loaded.is_err() {
        let _ = std::fs::remove_dir_all(dir);
    }
    loaded
}

fn write(path: &Path, text: &str) -> Result<(), crate::errors::IoError> {
    std::fs::write(path, text).map_err(io_err("failed to write", path))
}

fn write_example(dir: &Path) -> Result<(), crate::errors::IoError> {
    for (name, text) in
        [("pattern.yaml", PATTERN_YAML), ("common.go", COMMON_GO), ("buggy.go", BUGGY_GO), ("fixed.go", FIXED_GO)]
    {
        write(&dir.join(name), text)?;
    }
    Ok(())
}

/// A copy of `p`: its Go files and its pattern.yaml, without the seed's
/// bug number (the new folder's number is its own) and with its local
/// modules' folders made absolute (the copy lives elsewhere).
fn write_copy(dir: &Path, p: &Pattern) -> Result<(), crate::errors::IoError> {
    let mut files: Vec<String> = p.common.clone();
    for v in &p.variants {
        files.extend(v.files.iter().cloned());
    }
    files.sort();
    files.dedup();
    for f in &files {
        let from = p.dir.join(f);
        std::fs::copy(&from, dir.join(f)).map_err(io_err("failed to read", &from))?;
    }
    let yaml_path = p.dir.join("pattern.yaml");
    let yaml = std::fs::read_to_string(&yaml_path).map_err(io_err("failed to read", &yaml_path))?;
    let mut out = String::new();
    let mut in_modules = false;
    for line in yaml.lines() {
        let top_level = !line.starts_with([' ', '\t', '-', '#']) && !line.is_empty();
        if top_level {
            in_modules = false;
        }
        if line.starts_with("seed_bug:") {
            out.push_str(&format!("# {line}   (the pattern copied: gcfuzz new --from {})\n", p.id));
            continue;
        }
        if line.starts_with("modules:") {
            in_modules = true;
            out.push_str("modules:\n");
            for m in &p.modules {
                out.push_str(&format!("  - {{path: {}, dir: {:?}}}\n", m.path, m.dir.display().to_string()));
            }
            continue;
        }
        if !in_modules {
            out.push_str(line);
            out.push('\n');
        }
    }
    write(&dir.join("pattern.yaml"), &out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_example_scaffold_loads_and_bad_names_and_existing_folders_are_refused() {
        let d = tempfile::tempdir().unwrap();
        let p = new_pattern(&d.path().join("41-my-leak"), None).unwrap();
        assert_eq!((p.id.as_str(), p.variants.len(), p.signals.len()), ("41-my-leak", 2, 1));
        assert!(matches!(new_pattern(&d.path().join("41-my-leak"), None), Err(ScaffoldError::Exists(_))));
        for bad in ["my-leak", "4-x", "41-", "41-My_Leak"] {
            assert!(matches!(new_pattern(&d.path().join(bad), None), Err(ScaffoldError::Name(_))), "{bad}");
            assert!(!d.path().join(bad).exists());
        }
        // A copy: the same pattern under another id, without seed_bug.
        let c = new_pattern(&d.path().join("42-copy"), Some(&p)).unwrap();
        assert_eq!((c.id.as_str(), c.seed_bug, c.signals.len()), ("42-copy", None, 1));
    }
}
