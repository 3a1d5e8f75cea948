//! Output folders and result sets: [`OutDir`] takes a `--out` folder for
//! one run (locked, so a second gcfuzz cannot interleave journals), and
//! [`write`] fills it with every report; [`merge`] joins the result sets
//! of several runs (shards' folders, journals or `--json` verdict files)
//! into one, which [`Merged::write`] writes as a whole folder.

use crate::errors::{IoError, io_err};
use crate::journal::{self, JournalError};
use crate::results::CellResult;
use crate::run::RunRecord;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// The journal's name in an output folder.
pub const JOURNAL: &str = "results.jsonl";

/// An output folder that cannot be used, or inputs that cannot be merged.
#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    /// Another gcfuzz run holds the folder.
    #[error("`{0}` is in use by another gcfuzz run; pass --out DIR (or --no-out) to run beside it")]
    InUse(PathBuf),
    /// The same cell is in two inputs of a merge.
    #[error("cell `{cell}` is in both `{first}` and `{second}` (merge joins disjoint runs such as shards)")]
    Duplicate {
        /// The cell id.
        cell: String,
        /// The input it was first seen in.
        first: PathBuf,
        /// The input it was seen in again.
        second: PathBuf,
    },
    /// A merge input that is neither an output folder, a journal nor a
    /// verdict file.
    #[error("`{path}` is not a gcfuzz --json verdict file ({reason})")]
    NotVerdicts {
        /// The file.
        path: PathBuf,
        /// What the JSON parser said.
        reason: String,
    },
    /// A merge or diff input in which nothing reads as results.
    #[error("`{path}` is not a gcfuzz result set: {reason}")]
    NotResults {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// An input named on the command line does not exist.
    #[error("`{}`: no such file or folder", .0.display())]
    NoSuchInput(PathBuf),
    /// A file-system operation failed.
    #[error(transparent)]
    Io(#[from] IoError),
    /// A journal could not be read or written.
    #[error(transparent)]
    Journal(#[from] JournalError),
}

impl crate::errors::Classified for OutputError {
    fn class(&self) -> Option<crate::errors::Class> {
        Some(match self {
            OutputError::Io(_) => crate::errors::Class::Setup,
            OutputError::Journal(j) => return crate::errors::Classified::class(j),
            _ => crate::errors::Class::Usage,
        })
    }
}

/// An output folder taken for one run; released when dropped.
#[derive(Debug)]
pub struct OutDir {
    dir: PathBuf,
    _lock: std::fs::File,
}

impl OutDir {
    /// Creates and takes `dir`. It is refused, not waited for, while
    /// another run holds it. A fresh run (not `resume`) starts the
    /// evidence over; heap-profile scratch folders left by a killed run go
    /// either way.
    pub fn open(dir: &Path, resume: bool) -> Result<OutDir, OutputError> {
        std::fs::create_dir_all(dir).map_err(io_err("failed to create", dir))?;
        let lock = crate::errors::try_lock_file(&dir.join(".lock"))?.ok_or_else(|| OutputError::InUse(dir.into()))?;
        for e in std::fs::read_dir(dir).map_err(io_err("failed to read", dir))?.filter_map(Result::ok) {
            let name = e.file_name();
            let name = name.to_string_lossy();
            if name.starts_with(".scratch-") || (name == "evidence" && !resume) {
                std::fs::remove_dir_all(e.path()).map_err(io_err("failed to remove", &e.path()))?;
            }
        }
        Ok(OutDir { dir: dir.to_path_buf(), _lock: lock })
    }

    /// The folder.
    pub fn path(&self) -> &Path {
        &self.dir
    }

    /// Where its journal goes.
    pub fn journal(&self) -> PathBuf {
        self.dir.join(JOURNAL)
    }
}

/// Writes every report file ([`crate::report::OUTPUT_FILES`]) of
/// `results` into `dir`. Cells without their runs (resumed from a journal)
/// get them back from `journal` first, so their plots are drawn too.
pub fn write(dir: &Path, results: &mut [CellResult], journal: Option<&Path>) -> Result<(), OutputError> {
    if let Some(path) = journal
        && results.iter().any(|r| r.runs.is_empty())
    {
        let mut runs: HashMap<String, Vec<RunRecord>> =
            journal::read(path)?.into_iter().map(|c| (c.cell, c.runs)).collect();
        for r in results.iter_mut().filter(|r| r.runs.is_empty()) {
            r.runs = runs.remove(&r.cell).unwrap_or_default();
        }
    }
    Ok(crate::report::write_dir(dir, results)?)
}

/// Result sets joined by [`merge`].
#[derive(Debug)]
pub struct Merged {
    /// Every cell, sorted by pattern, toolchain, go line and configuration.
    pub results: Vec<CellResult>,
    /// The input each cell came from, by cell id.
    sources: HashMap<String, PathBuf>,
    /// Inputs with lines that did not read (skipped), one line each.
    pub notes: Vec<String>,
}

/// One result set: an output folder (its journal, else its
/// verdicts.json), a journal (`.jsonl`) or a `--json` verdict file; its
/// cells, with their runs when it has a journal.
pub fn read_set(path: &Path) -> Result<Vec<CellResult>, OutputError> {
    read_set_noting(path).map(|(cells, _)| cells)
}

/// [`read_set`], with a line for people when a journal had lines that did
/// not read (skipped; every intact line is kept).
pub fn read_set_noting(path: &Path) -> Result<(Vec<CellResult>, Option<String>), OutputError> {
    if !path.exists() {
        return Err(OutputError::NoSuchInput(path.to_path_buf()));
    }
    let journal = if path.is_dir() {
        Some(path.join(JOURNAL)).filter(|j| j.is_file())
    } else {
        Some(path.to_path_buf()).filter(|p| p.extension().is_some_and(|x| x == "jsonl"))
    };
    if let Some(j) = journal {
        let contents = journal::read_all(&j)?;
        if contents.cells.is_empty() && contents.skipped.count > 0 {
            return Err(OutputError::NotResults {
                path: j,
                reason: format!("none of its {} line(s) reads as a run or a cell", contents.skipped.count),
            });
        }
        return Ok((contents.cells, contents.skipped.describe(&j)));
    }
    let file = if path.is_dir() { path.join("verdicts.json") } else { path.to_path_buf() };
    let not = |reason: String| OutputError::NotVerdicts { path: file.clone(), reason };
    let meta = std::fs::metadata(&file).map_err(io_err("failed to read", &file))?;
    if !meta.is_file() {
        return Err(not("not a regular file".into()));
    }
    let bytes = std::fs::read(&file).map_err(io_err("failed to read", &file))?;
    serde_json::from_slice(&bytes).map(|cells| (cells, None)).map_err(|e| not(e.to_string()))
}

/// Joins result sets: output folders (their journals keep the series),
/// journals (`.jsonl`) or `--json` verdict files. A cell present in two
/// inputs is refused: merge joins disjoint runs such as shards.
pub fn merge(inputs: &[PathBuf]) -> Result<Merged, OutputError> {
    let mut results: Vec<CellResult> = Vec::new();
    let mut sources: HashMap<String, PathBuf> = HashMap::new();
    let mut notes = Vec::new();
    for input in inputs {
        let (cells, note) = read_set_noting(input)?;
        notes.extend(note);
        for c in cells.iter().filter(|c| !c.cell.is_empty()) {
            if let Some(first) = sources.insert(c.cell.clone(), input.clone()) {
                return Err(OutputError::Duplicate { cell: c.cell.clone(), first, second: input.clone() });
            }
        }
        results.extend(cells);
    }
    results.sort_by_cached_key(|r| r.config.order_key());
    Ok(Merged { results, sources, notes })
}

impl Merged {
    /// Writes the joined folder: a journal of every cell and its runs, the
    /// evidence copied from the input folders, and every report. The
    /// folder is taken as a run takes it (refused while a run or another
    /// merge holds it), and the journal is written beside the old one and
    /// renamed over it: an input merged into itself (`merge A B --out A`)
    /// is read whole first, and a kill leaves the old journal or the new.
    pub fn write(&mut self, dir: &Path) -> Result<(), OutputError> {
        let out = OutDir::open(dir, true)?;
        journal::write_whole(&out.journal(), &self.results)?;
        // Evidence paths are relative to each input's folder: copy them over.
        for r in &self.results {
            let Some(input) = self.sources.get(&r.cell).filter(|i| i.is_dir()) else { continue };
            for e in &r.evidence {
                let (from, to) = (input.join(e), dir.join(e));
                if from != to && from.is_file() {
                    if let Some(parent) = to.parent() {
                        std::fs::create_dir_all(parent).map_err(io_err("failed to create", parent))?;
                    }
                    std::fs::copy(&from, &to).map_err(io_err("failed to copy", &from))?;
                }
            }
        }
        Ok(crate::report::write_dir(dir, &self.results)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::journal::Journal;

    fn cell(id: &str, pattern: &str, evidence: &[&str]) -> CellResult {
        let mut r: CellResult = serde_json::from_value(serde_json::json!({
            "pattern": pattern, "seed_bug": null, "go": "1.27.3", "go_line": "1.27", "knobs": {},
            "params": {}, "backend": "native", "buggy": null, "fixed": null, "verdict": "reproduced",
            "expected": "reproduced", "met": true, "why": "", "explanation": ""
        }))
        .unwrap();
        r.cell = id.into();
        r.evidence = evidence.iter().map(|e| e.to_string()).collect();
        r
    }

    fn run(variant: &str, wall_ms: u64) -> RunRecord {
        RunRecord {
            scenario: format!("15-a/{variant}"),
            backend: crate::cell::BackendKind::Native,
            args: Vec::new(),
            env: Default::default(),
            hello: None,
            samples: Vec::new(),
            done: None,
            detectors: Vec::new(),
            outcome: crate::run::RunOutcome { wall_ms, ..Default::default() },
            crash: None,
            protocol_errors: Vec::new(),
        }
    }

    #[test]
    fn an_out_dir_is_taken_once_and_a_fresh_run_clears_old_evidence() {
        let d = tempfile::tempdir().unwrap();
        let dir = d.path().join("out");
        for stale in ["evidence/old", ".scratch-killed"] {
            std::fs::create_dir_all(dir.join(stale)).unwrap();
        }
        let resumed = OutDir::open(&dir, true).unwrap();
        assert!(dir.join("evidence/old").is_dir(), "a resume keeps the evidence");
        assert!(!dir.join(".scratch-killed").exists(), "a killed run's scratch goes either way");
        assert_eq!(resumed.journal(), dir.join(JOURNAL));
        assert!(matches!(OutDir::open(&dir, false), Err(OutputError::InUse(_))), "held by the first");
        drop(resumed);
        let _fresh = OutDir::open(&dir, false).unwrap();
        assert!(!dir.join("evidence").exists(), "a fresh run starts the evidence over");
    }

    #[test]
    fn merge_joins_folders_journals_and_verdict_files_and_refuses_a_cell_twice() {
        let d = tempfile::tempdir().unwrap();
        // A shard's folder: a journal with cell b (two runs) and its evidence.
        let shard = d.path().join("shard1");
        let (mut j, _) = Journal::open(&shard.join(JOURNAL), false).unwrap();
        j.run("b", "buggy", 0, &run("buggy", 1)).unwrap();
        j.run("b", "fixed", 0, &run("fixed", 2)).unwrap();
        j.cell("b", &cell("b", "16-b", &["evidence/b/buggy-t0.stderr.txt"])).unwrap();
        drop(j);
        std::fs::create_dir_all(shard.join("evidence/b")).unwrap();
        std::fs::write(shard.join("evidence/b/buggy-t0.stderr.txt"), "stderr").unwrap();
        // Another shard as a bare verdict file.
        let verdicts = d.path().join("shard2.json");
        std::fs::write(&verdicts, crate::report::json(&[cell("a", "15-a", &[])])).unwrap();
        let mut m = merge(&[shard.clone(), verdicts.clone()]).unwrap();
        let ids: Vec<&str> = m.results.iter().map(|r| r.cell.as_str()).collect();
        assert_eq!(ids, ["a", "b"], "sorted by pattern");
        assert_eq!(m.results[1].runs.len(), 2, "a journal keeps the runs");
        let out = d.path().join("merged");
        m.write(&out).unwrap();
        let back = journal::read(&out.join(JOURNAL)).unwrap();
        let runs: Vec<(&str, usize)> = back.iter().map(|c| (c.cell.as_str(), c.runs.len())).collect();
        assert_eq!(runs, [("a", 0), ("b", 2)]);
        assert_eq!(std::fs::read_to_string(out.join("evidence/b/buggy-t0.stderr.txt")).unwrap(), "stderr");
        for f in crate::report::OUTPUT_FILES {
            assert!(out.join(f).is_file(), "{f}");
        }
        let e = merge(&[shard.clone(), out.clone()]).unwrap_err();
        assert!(matches!(&e, OutputError::Duplicate { cell, .. } if cell == "b"), "{e}");
        std::fs::write(&verdicts, "{\"not\": \"cells\"}").unwrap();
        assert!(matches!(merge(&[verdicts]), Err(OutputError::NotVerdicts { .. })));
    }
}
