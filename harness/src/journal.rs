//! The results journal: each run is appended as soon as it ends, and each
//! cell's result as soon as the cell ends, one JSON line each, synced to
//! disk, so an interrupted campaign (Ctrl-C, `kill -9`, power loss) loses
//! at most the runs in flight, and `--resume` finishes the rest.
//!
//! Lines (protocol version 1):
//!
//! ```text
//! {"v":1,"type":"run","cell":ID,"variant":"buggy","trial":0,"record":{…}}
//! {"v":1,"type":"cell","cell":ID,"result":{…}}
//! ```
//!
//! A cell counts as done only once its `cell` line is in the journal; its
//! `run` lines are the evidence (series, stderr, exit). A cell that was
//! interrupted has run lines and no cell line; `--resume` runs it again. A line cut short by
//! a crash mid-write is dropped (and cut off the file) on resume.

use crate::results::CellResult;
use crate::run::RunRecord;
use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// A journal that cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("results journal `{path}`: {what}")]
pub struct JournalError {
    /// The file.
    pub path: PathBuf,
    /// What went wrong.
    pub what: String,
}

/// An open journal, appending.
#[derive(Debug)]
pub struct Journal {
    path: PathBuf,
    file: File,
}

impl Journal {
    /// Opens `path`. Without `resume` it starts empty; with `resume` it
    /// keeps what is there and returns the finished cells by id.
    pub fn open(path: &Path, resume: bool) -> Result<(Journal, HashMap<String, CellResult>), JournalError> {
        let err = |what: String| JournalError { path: path.to_path_buf(), what };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| err(e.to_string()))?;
        }
        let mut file = OpenOptions::new()
            .create(true)
            .read(true)
            .write(true)
            .truncate(!resume)
            .open(path)
            .map_err(|e| err(e.to_string()))?;
        let mut done = HashMap::new();
        if resume {
            let mut good_end = 0u64;
            let mut pos = 0u64;
            let mut reader = BufReader::new(&file);
            let mut line = String::new();
            let mut number = 0;
            loop {
                number += 1;
                line.clear();
                let n = reader.read_line(&mut line).map_err(|e| err(e.to_string()))?;
                if n == 0 {
                    break;
                }
                pos += n as u64;
                if !line.ends_with('\n') {
                    break; // cut short mid-write
                }
                let Ok(v) = serde_json::from_str::<serde_json::Value>(&line) else { break };
                good_end = pos;
                if v["type"] == "cell" {
                    let id = v["cell"].as_str().unwrap_or_default().to_string();
                    let r = serde_json::from_value::<CellResult>(v["result"].clone()).map_err(|e| {
                        err(format!(
                            "line {number}: the cell result does not read back ({e})\n(was it written by another gcfuzz version? run without --resume to start over)"
                        ))
                    })?;
                    done.insert(id, r);
                }
            }
            file.set_len(good_end).map_err(|e| err(e.to_string()))?;
        }
        file.seek(SeekFrom::End(0)).map_err(|e| err(e.to_string()))?;
        Ok((Journal { path: path.to_path_buf(), file }, done))
    }

    fn append(&mut self, v: serde_json::Value) -> Result<(), JournalError> {
        let mut line = serde_json::to_vec(&v).map_err(|e| self.err(e.to_string()))?;
        line.push(b'\n');
        self.file.write_all(&line).map_err(|e| self.err(e.to_string()))?;
        self.file.sync_data().map_err(|e| self.err(e.to_string()))
    }

    fn err(&self, what: String) -> JournalError {
        JournalError { path: self.path.clone(), what }
    }

    /// Records one finished run.
    pub fn run(&mut self, cell: &str, variant: &str, trial: u32, record: &RunRecord) -> Result<(), JournalError> {
        self.append(serde_json::json!({"v": 1, "type": "run", "cell": cell, "variant": variant, "trial": trial, "record": record}))
    }

    /// Records one finished cell; from now on it is done.
    pub fn cell(&mut self, cell: &str, result: &CellResult) -> Result<(), JournalError> {
        self.append(serde_json::json!({"v": 1, "type": "cell", "cell": cell, "result": result}))
    }

    /// Records one finished cell with its place in the plan (`seq`): cells
    /// run side by side finish in any order, and [`read`] gives them back
    /// in plan order.
    pub fn cell_at(&mut self, cell: &str, seq: usize, result: &CellResult) -> Result<(), JournalError> {
        self.append(serde_json::json!({"v": 1, "type": "cell", "cell": cell, "seq": seq, "result": result}))
    }
}

/// Reads a journal back: every finished cell in plan order (by the `seq`
/// the campaign writes; cells without one after them, in journal order), each with
/// its runs (a run recorded twice, by an interrupted cell and its resume,
/// counts once: the later record wins). A torn last line is ignored.
pub fn read(path: &Path) -> Result<Vec<CellResult>, JournalError> {
    let err = |what: String| JournalError { path: path.to_path_buf(), what };
    let text = std::fs::read_to_string(path).map_err(|e| err(e.to_string()))?;
    let mut cells: Vec<(usize, CellResult)> = Vec::new();
    // Per cell: ((variant, trial), record).
    type Runs = Vec<((String, u64), RunRecord)>;
    let mut runs: HashMap<String, Runs> = HashMap::new();
    for (number, line) in text.split_inclusive('\n').enumerate() {
        if !line.ends_with('\n') {
            break;
        }
        let v: serde_json::Value =
            serde_json::from_str(line).map_err(|e| err(format!("line {}: not JSON ({e})", number + 1)))?;
        let id = v["cell"].as_str().unwrap_or_default().to_string();
        match v["type"].as_str() {
            Some("run") => {
                let key = (v["variant"].as_str().unwrap_or_default().to_string(), v["trial"].as_u64().unwrap_or(0));
                let record: RunRecord = serde_json::from_value(v["record"].clone())
                    .map_err(|e| err(format!("line {}: a run that does not read back ({e})", number + 1)))?;
                let list = runs.entry(id).or_default();
                list.retain(|(k, _)| *k != key);
                list.push((key, record));
            }
            Some("cell") => {
                let mut r: CellResult = serde_json::from_value(v["result"].clone())
                    .map_err(|e| err(format!("line {}: a cell that does not read back ({e})", number + 1)))?;
                if r.cell.is_empty() {
                    r.cell = id;
                }
                let seq = v["seq"].as_u64().map_or(usize::MAX, |n| n as usize);
                cells.push((seq, r));
            }
            _ => return Err(err(format!("line {}: neither a run nor a cell", number + 1))),
        }
    }
    // Stable: equal places (none) keep journal order.
    cells.sort_by_key(|(seq, _)| *seq);
    let mut cells: Vec<CellResult> = cells.into_iter().map(|(_, c)| c).collect();
    for c in &mut cells {
        let mut list = runs.remove(&c.cell).unwrap_or_default();
        // Buggy before fixed, trials in order, as the campaign ran them.
        list.sort_by(|(a, _), (b, _)| (a.0 != "buggy", &a.0, a.1).cmp(&(b.0 != "buggy", &b.0, b.1)));
        c.runs = list.into_iter().map(|(_, r)| r).collect();
    }
    Ok(cells)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verdict::Verdict;

    fn result(pattern: &str) -> CellResult {
        let json = serde_json::json!({
            "pattern": pattern, "seed_bug": 15, "go": "1.22.10", "go_line": "1.22", "knobs": {"GOGC": "50"},
            "params": {}, "backend": "native", "buggy": null, "fixed": null, "verdict": "reproduced",
            "expected": "reproduced", "met": true, "why": "", "explanation": ""
        });
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn resume_keeps_finished_cells_and_drops_a_torn_line() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("sub/results.jsonl");
        {
            let (mut j, done) = Journal::open(&p, false).unwrap();
            assert!(done.is_empty());
            j.cell("a", &result("15-a")).unwrap();
            j.cell("b", &result("15-b")).unwrap();
        }
        // A crash in the middle of writing the third line.
        let mut f = OpenOptions::new().append(true).open(&p).unwrap();
        f.write_all(br#"{"v":1,"type":"cell","cell":"c","res"#).unwrap();
        drop(f);
        let (mut j, done) = Journal::open(&p, true).unwrap();
        assert_eq!(done.len(), 2);
        assert_eq!(done["b"].pattern, "15-b");
        assert_eq!(done["a"].verdict, Verdict::Reproduced);
        assert_eq!(done["a"].knobs.gogc.as_deref(), Some("50"));
        j.cell("c", &result("15-c")).unwrap();
        drop(j);
        let text = std::fs::read_to_string(&p).unwrap();
        assert_eq!(text.lines().count(), 3, "the torn line is gone:\n{text}");
        assert!(text.lines().all(|l| serde_json::from_str::<serde_json::Value>(l).is_ok()));
        // Without --resume the journal starts over.
        let (_, done) = Journal::open(&p, false).unwrap();
        assert!(done.is_empty());
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "");
    }

    fn record(variant: &str, wall_ms: u64) -> RunRecord {
        RunRecord {
            scenario: format!("15-a/{variant}"),
            backend: "native".into(),
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
    fn cells_finished_out_of_order_read_back_in_plan_order() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("results.jsonl");
        {
            let (mut j, _) = Journal::open(&p, false).unwrap();
            // Two jobs: the plan's third cell finished first, then the first.
            j.cell_at("c", 2, &result("15-c")).unwrap();
            j.cell_at("a", 0, &result("15-a")).unwrap();
            j.cell("x", &result("15-x")).unwrap();
            j.cell_at("b", 1, &result("15-b")).unwrap();
        }
        let ids: Vec<String> = read(&p).unwrap().into_iter().map(|c| c.pattern).collect();
        assert_eq!(ids, ["15-a", "15-b", "15-c", "15-x"], "by place, a cell without one last");
    }

    #[test]
    fn read_gives_each_cell_its_runs_once_the_resumed_ones_winning() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("results.jsonl");
        {
            let (mut j, _) = Journal::open(&p, false).unwrap();
            // Cell a was interrupted after its buggy run, then resumed.
            j.run("a", "buggy", 0, &record("buggy", 1)).unwrap();
            j.run("b", "fixed", 0, &record("fixed", 20)).unwrap();
            j.run("b", "buggy", 0, &record("buggy", 10)).unwrap();
            j.cell("b", &result("15-b")).unwrap();
            j.run("a", "buggy", 0, &record("buggy", 2)).unwrap();
            j.run("a", "fixed", 0, &record("fixed", 3)).unwrap();
            j.cell("a", &result("15-a")).unwrap();
            // c never finished: not a cell.
            j.run("c", "buggy", 0, &record("buggy", 4)).unwrap();
        }
        let cells = read(&p).unwrap();
        let got: Vec<(&str, Vec<(&str, u64)>)> = cells
            .iter()
            .map(|c| (c.cell.as_str(), c.runs.iter().map(|r| (r.variant(), r.outcome.wall_ms)).collect()))
            .collect();
        assert_eq!(got, vec![("b", vec![("buggy", 10), ("fixed", 20)]), ("a", vec![("buggy", 2), ("fixed", 3)])]);
        std::fs::write(&p, "{\"v\":1,\"type\":\"other\"}\n").unwrap();
        assert!(read(&p).unwrap_err().to_string().contains("line 1: neither a run nor a cell"));
    }
}
