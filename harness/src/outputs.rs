//! Output folders and result sets: [`OutDir`] takes a `--out` folder for
//! one run (locked, so a second gcfuzz cannot interleave journals), and
//! [`write`] fills it with every report; [`merge`] joins the result sets
//! of several runs (shards' folders, journals or `--json` verdict files)
//! into one, which [`Merged::write`] writes as a whole folder.

use crate::errors::{IoError, io_err};
use crate::journal::{self, Journal, JournalError};
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
    /// A file-system operation failed.
    #[error(transparent)]
    Io(#[from] IoError),
    /// A journal could not be read or written.
    #[error(transparent)]
    Journal(#[from] JournalError),
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
}

/// One input of [`merge`]: its cells, with their runs when it has a journal.
fn read_input(path: &Path) -> Result<Vec<CellResult>, OutputError> {
    let journal = if path.is_dir() {
        Some(path.join(JOURNAL)).filter(|j| j.is_file())
    } else {
        Some(path.to_path_buf()).filter(|p| p.extension().is_some_and(|x| x == "jsonl"))
    };
    if let Some(j) = journal {
        return Ok(journal::read(&j)?);
    }
    let file = if path.is_dir() { path.join("verdicts.json") } else { path.to_path_buf() };
    let text = std::fs::read_to_string(&file).map_err(io_err("failed to read", &file))?;
    serde_json::from_str(&text).map_err(|e| OutputError::NotVerdicts { path: file, reason: e.to_string() })
}

/// Joins result sets: output folders (their journals keep the series),
/// journals (`.jsonl`) or `--json` verdict files. A cell present in two
/// inputs is refused: merge joins disjoint runs such as shards.
pub fn merge(inputs: &[PathBuf]) -> Result<Merged, OutputError> {
    let mut results: Vec<CellResult> = Vec::new();
    let mut sources: HashMap<String, PathBuf> = HashMap::new();
    for input in inputs {
        let cells = read_input(input)?;
        for c in cells.iter().filter(|c| !c.cell.is_empty()) {
            if let Some(first) = sources.insert(c.cell.clone(), input.clone()) {
                return Err(OutputError::Duplicate { cell: c.cell.clone(), first, second: input.clone() });
            }
        }
        results.extend(cells);
    }
    results.sort_by_cached_key(|r| {
        (
            r.pattern.clone(),
            r.go,
            r.go_line,
            r.goexperiment.clone(),
            r.knobs.to_string(),
            r.stress.to_string(),
            format!("{:?}", r.overrides),
        )
    });
    Ok(Merged { results, sources })
}

impl Merged {
    /// Writes the joined folder: a journal of every cell and its runs, the
    /// evidence copied from the input folders, and every report.
    pub fn write(&mut self, dir: &Path) -> Result<(), OutputError> {
        std::fs::create_dir_all(dir).map_err(io_err("failed to create", dir))?;
        let (mut j, _) = Journal::open(&dir.join(JOURNAL), false)?;
        for r in &self.results {
            let mut trials: HashMap<&str, u32> = HashMap::new();
            for run in &r.runs {
                let t = trials.entry(run.variant()).or_default();
                j.run(&r.cell, run.variant(), *t, run)?;
                *t += 1;
            }
            j.cell(&r.cell, r)?;
        }
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
