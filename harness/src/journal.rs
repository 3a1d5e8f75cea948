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
//! interrupted has run lines and no cell line; `--resume` runs it again.
//!
//! Reading is byte by byte and line by line: a line that is not JSON, is
//! not valid UTF-8, or does not read back as a run or a cell (cut short by
//! a crash or a full disk, garbled on disk, written by another version) is
//! skipped and counted, and every intact line before and after it is kept.
//! Nothing is ever cut off a journal in place: a resume that finds a torn
//! last line starts its own lines on a fresh one. A journal is taken by
//! one writer at a time (an advisory lock on the file itself) and written
//! in append mode, so two gcfuzz processes never interleave or overwrite
//! each other's lines.

use crate::results::CellResult;
use crate::run::RunRecord;
use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Read as _, Write};
use std::path::{Path, PathBuf};

/// A journal that cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("results journal `{path}`: {what}")]
pub struct JournalError {
    /// The file.
    pub path: PathBuf,
    /// What went wrong.
    pub what: String,
    /// The user's to mend, not the disk's: another gcfuzz process holds
    /// it, or it is not a regular file.
    pub usage: bool,
}

impl crate::errors::Classified for JournalError {
    fn class(&self) -> Option<crate::errors::Class> {
        Some(if self.usage { crate::errors::Class::Usage } else { crate::errors::Class::Setup })
    }
}

impl JournalError {
    fn new(path: &Path, what: impl Into<String>) -> Self {
        JournalError { path: path.to_path_buf(), what: what.into(), usage: false }
    }
}

/// The most skipped lines a read names one by one (the rest are counted).
const NAMED_SKIPS: usize = 5;

/// Lines a read skipped: how many, and the first few with why.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Skipped {
    /// How many lines were skipped.
    pub count: usize,
    /// `line N: why`, for the first [`NAMED_SKIPS`].
    pub first: Vec<String>,
}

impl Skipped {
    fn add(&mut self, number: usize, why: impl std::fmt::Display) {
        self.count += 1;
        if self.first.len() < NAMED_SKIPS {
            self.first.push(format!("line {number}: {why}"));
        }
    }

    /// `later`'s lines after these.
    fn then(&mut self, later: Skipped) {
        self.count += later.count;
        self.first.extend(later.first);
        self.first.truncate(NAMED_SKIPS);
    }

    /// One line for people, or `None` when nothing was skipped.
    pub fn describe(&self, path: &Path) -> Option<String> {
        (self.count > 0).then(|| {
            let more = if self.count > self.first.len() {
                format!("; {} more", self.count - self.first.len())
            } else {
                String::new()
            };
            format!(
                "results journal `{}`: {} unreadable line(s) skipped, every intact line kept ({}{more})",
                path.display(),
                self.count,
                self.first.join("; ")
            )
        })
    }
}

/// Opens `path` for reading, refusing anything but a regular file (a
/// device such as /dev/zero, or a link to one, would read for ever).
fn open_regular(path: &Path, file: File) -> Result<File, JournalError> {
    let meta = file.metadata().map_err(|e| JournalError::new(path, e.to_string()))?;
    if !meta.is_file() {
        return Err(JournalError { usage: true, ..JournalError::new(path, "not a regular file") });
    }
    Ok(file)
}

/// One parsed line of a journal.
enum Line {
    Run { cell: String, key: (String, u64), record: Box<RunRecord> },
    Cell { cell: String, seq: Option<u64>, result: Box<CellResult> },
}

/// Parses one line (without its newline).
fn parse(bytes: &[u8]) -> Result<Line, String> {
    let v: serde_json::Value = serde_json::from_slice(bytes).map_err(|e| format!("not JSON ({e})"))?;
    let id = v["cell"].as_str().unwrap_or_default().to_string();
    match v["type"].as_str() {
        Some("run") => {
            let key = (v["variant"].as_str().unwrap_or_default().to_string(), v["trial"].as_u64().unwrap_or(0));
            let record: RunRecord = serde_json::from_value(v["record"].clone())
                .map_err(|e| format!("a run that does not read back ({e})"))?;
            Ok(Line::Run { cell: id, key, record: Box::new(record) })
        }
        Some("cell") => {
            let mut r: CellResult = serde_json::from_value(v["result"].clone())
                .map_err(|e| format!("a cell that does not read back ({e}; written by another gcfuzz version?)"))?;
            // The line's own key names the cell (runs and resumes go by
            // it); the copy inside the result follows it.
            if !id.is_empty() {
                r.cell = id.clone();
            }
            Ok(Line::Cell { cell: id, seq: v["seq"].as_u64(), result: Box::new(r) })
        }
        _ => Err("neither a run nor a cell".into()),
    }
}

/// Calls `each` with every complete line of `r` (number from 1, bytes
/// without the newline); a last line with no newline (torn) is skipped and
/// counted in `skipped`. Returns whether the input ended with a newline.
fn each_line(
    path: &Path,
    r: impl std::io::Read,
    skipped: &mut Skipped,
    mut each: impl FnMut(usize, &[u8]),
) -> Result<bool, JournalError> {
    let mut reader = BufReader::new(r);
    let mut buf = Vec::new();
    let mut number = 0;
    loop {
        buf.clear();
        let n = reader.read_until(b'\n', &mut buf).map_err(|e| JournalError::new(path, e.to_string()))?;
        if n == 0 {
            return Ok(true);
        }
        number += 1;
        if buf.last() != Some(&b'\n') {
            skipped.add(number, "cut short (no newline: a crash or a full disk while writing it)");
            return Ok(false);
        }
        buf.pop();
        if buf.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        each(number, &buf);
    }
}

/// An open journal, appending.
#[derive(Debug)]
pub struct Journal {
    path: PathBuf,
    file: File,
    skipped: Skipped,
}

impl Journal {
    /// Opens `path` and takes it: refused while another gcfuzz process
    /// has it open. Without `resume` it starts empty; with `resume` it
    /// keeps what is there and returns the finished cells by id (lines
    /// that do not read are skipped, see [`Journal::skipped`], and kept in
    /// the file as they are).
    pub fn open(path: &Path, resume: bool) -> Result<(Journal, HashMap<String, CellResult>), JournalError> {
        let err = |what: String| JournalError::new(path, what);
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| err(e.to_string()))?;
        }
        let file =
            OpenOptions::new().create(true).read(true).append(true).open(path).map_err(|e| err(e.to_string()))?;
        let mut file = open_regular(path, file)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                return Err(JournalError {
                    usage: true,
                    ..err("in use by another gcfuzz process (a run or a merge writing it); wait for it, or name another journal".into())
                });
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(err(format!("failed to lock: {e}"))),
        }
        let mut done = HashMap::new();
        let mut skipped = Skipped::default();
        if resume {
            let mut torn = Skipped::default();
            let ended = each_line(path, &file, &mut torn, |number, bytes| match parse(bytes) {
                Ok(Line::Cell { cell, result, .. }) => {
                    done.insert(cell, *result);
                }
                Ok(Line::Run { .. }) => {}
                Err(why) => skipped.add(number, why),
            })?;
            skipped.then(torn);
            if !ended {
                // The torn line stays as it is (skipped by every read);
                // what comes next starts on a line of its own.
                file.write_all(b"\n").map_err(|e| err(e.to_string()))?;
            }
        } else {
            file.set_len(0).map_err(|e| err(e.to_string()))?;
        }
        Ok((Journal { path: path.to_path_buf(), file, skipped }, done))
    }

    /// Lines the resume could not read (skipped, left in the file).
    pub fn skipped(&self) -> &Skipped {
        &self.skipped
    }

    fn append(&mut self, v: serde_json::Value) -> Result<(), JournalError> {
        let mut line = serde_json::to_vec(&v).map_err(|e| self.err(e.to_string()))?;
        line.push(b'\n');
        self.file.write_all(&line).map_err(|e| self.err(e.to_string()))?;
        self.file.sync_data().map_err(|e| self.err(e.to_string()))
    }

    fn err(&self, what: String) -> JournalError {
        JournalError::new(&self.path, what)
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

/// Writes a whole journal of `cells` (each with its runs) to `path`
/// atomically: a new file beside it, synced, then renamed over it, so a
/// kill leaves the old journal or the new one, never part of either.
pub fn write_whole(path: &Path, cells: &[CellResult]) -> Result<(), JournalError> {
    let err = |what: String| JournalError::new(path, what);
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| err(e.to_string()))?;
    // The journal it replaces must not be in a writer's hands: lines that
    // writer appends after the rename would go to a file no one reads.
    let _old = match OpenOptions::new().read(true).open(path) {
        Ok(f) => match f.try_lock() {
            Ok(()) => Some(f),
            Err(std::fs::TryLockError::WouldBlock) => {
                return Err(JournalError {
                    usage: true,
                    ..err("in use by another gcfuzz process (a run writing it); wait for it, or write elsewhere".into())
                });
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(err(format!("failed to lock: {e}"))),
        },
        Err(_) => None,
    };
    let mut tmp =
        tempfile::Builder::new().prefix(".journal-").suffix(".tmp").tempfile_in(dir).map_err(|e| err(e.to_string()))?;
    {
        let mut w = std::io::BufWriter::new(tmp.as_file_mut());
        for (seq, r) in cells.iter().enumerate() {
            let mut trials: HashMap<&str, u32> = HashMap::new();
            for run in &r.runs {
                let t = trials.entry(run.variant()).or_default();
                let v = serde_json::json!({"v": 1, "type": "run", "cell": r.cell, "variant": run.variant(), "trial": *t, "record": run});
                *t += 1;
                serde_json::to_writer(&mut w, &v).map_err(|e| err(e.to_string()))?;
                w.write_all(b"\n").map_err(|e| err(e.to_string()))?;
            }
            let v = serde_json::json!({"v": 1, "type": "cell", "cell": r.cell, "seq": seq, "result": r});
            serde_json::to_writer(&mut w, &v).map_err(|e| err(e.to_string()))?;
            w.write_all(b"\n").map_err(|e| err(e.to_string()))?;
        }
        w.flush().map_err(|e| err(e.to_string()))?;
    }
    tmp.as_file().sync_all().map_err(|e| err(e.to_string()))?;
    tmp.persist(path).map_err(|e| err(e.error.to_string()))?;
    Ok(())
}

/// A journal read back: its finished cells and the lines it skipped.
#[derive(Debug, Default)]
pub struct Contents {
    /// Every finished cell, in plan order, with its runs.
    pub cells: Vec<CellResult>,
    /// Lines that did not read.
    pub skipped: Skipped,
}

/// Reads a journal back: every finished cell in plan order (by the `seq`
/// the campaign writes; cells without one after them, in journal order), each with
/// its runs (a run recorded twice, by an interrupted cell and its resume,
/// counts once: the later record wins; so does a cell recorded twice).
/// Lines that do not read are skipped and counted in [`Contents::skipped`].
pub fn read_all(path: &Path) -> Result<Contents, JournalError> {
    let file = File::open(path).map_err(|e| JournalError::new(path, e.to_string()))?;
    let mut file = open_regular(path, file)?;
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes).map_err(|e| JournalError::new(path, e.to_string()))?;
    let mut cells: Vec<(usize, CellResult)> = Vec::new();
    let mut at: HashMap<String, usize> = HashMap::new();
    // Per cell: ((variant, trial), record).
    type Runs = Vec<((String, u64), RunRecord)>;
    let mut runs: HashMap<String, Runs> = HashMap::new();
    let mut skipped = Skipped::default();
    let mut bad = Skipped::default();
    each_line(path, bytes.as_slice(), &mut skipped, |number, line| match parse(line) {
        Ok(Line::Run { cell, key, record }) => {
            let list = runs.entry(cell).or_default();
            list.retain(|(k, _)| *k != key);
            list.push((key, *record));
        }
        Ok(Line::Cell { cell, seq, result }) => {
            let seq = seq.map_or(usize::MAX, |n| n as usize);
            match at.get(&cell) {
                Some(&i) => cells[i] = (seq, *result),
                None => {
                    at.insert(cell, cells.len());
                    cells.push((seq, *result));
                }
            }
        }
        Err(why) => bad.add(number, why),
    })?;
    // Torn last line (if any) after the bad ones, in line order.
    let mut all = bad;
    all.then(skipped);
    let skipped = all;
    // Stable: equal places (none) keep journal order.
    cells.sort_by_key(|(seq, _)| *seq);
    let mut cells: Vec<CellResult> = cells.into_iter().map(|(_, c)| c).collect();
    for c in &mut cells {
        let mut list = runs.remove(&c.cell).unwrap_or_default();
        // Buggy before fixed, trials in order, as the campaign ran them.
        let buggy = |name: &str| crate::cell::Role::of(name) == Some(crate::cell::Role::Buggy);
        list.sort_by(|(a, _), (b, _)| (!buggy(&a.0), &a.0, a.1).cmp(&(!buggy(&b.0), &b.0, b.1)));
        c.runs = list.into_iter().map(|(_, r)| r).collect();
    }
    Ok(Contents { cells, skipped })
}

/// [`read_all`]'s cells alone (the skipped lines are not reported).
pub fn read(path: &Path) -> Result<Vec<CellResult>, JournalError> {
    read_all(path).map(|c| c.cells)
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
    fn resume_keeps_finished_cells_and_skips_a_torn_line_without_cutting_the_file() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("sub/results.jsonl");
        {
            let (mut j, done) = Journal::open(&p, false).unwrap();
            assert!(done.is_empty());
            j.cell("a", &result("15-a")).unwrap();
            j.cell("b", &result("15-b")).unwrap();
        }
        // A crash (or a full disk) in the middle of writing the third line,
        // inside a multi-byte character: the file ends in half of "€".
        let mut f = OpenOptions::new().append(true).open(&p).unwrap();
        f.write_all(b"{\"v\":1,\"type\":\"cell\",\"cell\":\"c\",\"why\":\"\xe2\x82").unwrap();
        drop(f);
        let before = std::fs::read(&p).unwrap();
        let (mut j, done) = Journal::open(&p, true).unwrap();
        assert_eq!(done.len(), 2);
        assert_eq!(done["b"].config.pattern, "15-b");
        assert_eq!(done["a"].verdict, Verdict::Reproduced);
        assert_eq!(done["a"].config.knobs.gogc.as_deref(), Some("50"));
        assert_eq!(j.skipped().count, 1, "{:?}", j.skipped());
        assert!(j.skipped().first[0].starts_with("line 3: cut short"), "{:?}", j.skipped());
        j.cell("c", &result("15-c")).unwrap();
        drop(j);
        let after = std::fs::read(&p).unwrap();
        assert!(after.starts_with(&before), "nothing is cut off a journal in place");
        let back = read_all(&p).unwrap();
        let ids: Vec<&str> = back.cells.iter().map(|c| c.config.pattern.as_str()).collect();
        assert_eq!(ids, ["15-a", "15-b", "15-c"], "the torn line is skipped, the new one reads");
        assert_eq!(back.skipped.count, 1);
        assert!(back.skipped.first[0].starts_with("line 3: not JSON"), "{:?}", back.skipped);
        assert!(back.skipped.describe(&p).unwrap().contains("1 unreadable line(s) skipped"));
        // Without --resume the journal starts over.
        let (_, done) = Journal::open(&p, false).unwrap();
        assert!(done.is_empty());
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "");
    }

    #[test]
    fn bad_lines_anywhere_are_skipped_and_every_intact_line_kept() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("results.jsonl");
        {
            let (mut j, _) = Journal::open(&p, false).unwrap();
            for id in ["a", "b", "c", "d", "e", "f"] {
                j.cell(id, &result(&format!("15-{id}"))).unwrap();
            }
        }
        let text = std::fs::read(&p).unwrap();
        let mut lines: Vec<Vec<u8>> = text.split(|&b| b == b'\n').map(<[u8]>::to_vec).collect();
        lines.pop();
        // Line 2 torn in the middle, line 3 a 100k-deep JSON value, line 4
        // with random bytes in it, a run line of another shape, and cell
        // f written twice (a doubled journal).
        let half = lines[1].len() / 2;
        lines[1].truncate(half);
        let deep = "[".repeat(100_000);
        lines.insert(2, deep.into_bytes());
        lines[3][10] = 0xff;
        lines.push(br#"{"v":1,"type":"run","cell":"a","record":{"nonsense":1}}"#.to_vec());
        let again = lines[6].clone();
        lines.push(again);
        let mut bytes = lines.join(&b'\n');
        bytes.push(b'\n');
        std::fs::write(&p, &bytes).unwrap();
        let back = read_all(&p).unwrap();
        let ids: Vec<&str> = back.cells.iter().map(|c| c.config.pattern.as_str()).collect();
        assert_eq!(ids, ["15-a", "15-d", "15-e", "15-f"], "b torn, c garbled: the rest kept, f once");
        assert_eq!(back.skipped.count, 4, "{:?}", back.skipped);
        let (_, done) = Journal::open(&p, true).unwrap();
        assert_eq!(done.len(), 4);
        assert_eq!(std::fs::read(&p).unwrap(), bytes, "a resume changes nothing that is there");
    }

    #[test]
    fn a_journal_has_one_writer_at_a_time_and_is_appended() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("results.jsonl");
        let (mut first, _) = Journal::open(&p, false).unwrap();
        first.cell("a", &result("15-a")).unwrap();
        for resume in [true, false] {
            let e = Journal::open(&p, resume).unwrap_err();
            assert!(e.usage && e.to_string().contains("in use by another gcfuzz"), "{e}");
        }
        assert_eq!(read(&p).unwrap().len(), 1, "a refused open truncates nothing");
        drop(first);
        let (mut second, done) = Journal::open(&p, true).unwrap();
        assert_eq!(done.len(), 1);
        second.cell("b", &result("15-b")).unwrap();
        assert_eq!(read(&p).unwrap().len(), 2);
    }

    #[test]
    fn only_regular_files_are_read() {
        let d = tempfile::tempdir().unwrap();
        let link = d.path().join("zero.jsonl");
        std::os::unix::fs::symlink("/dev/zero", &link).unwrap();
        let e = read_all(&link).unwrap_err();
        assert!(e.to_string().contains("not a regular file"), "{e}");
        let e = Journal::open(&link, true).unwrap_err();
        assert!(e.to_string().contains("not a regular file"), "{e}");
    }

    #[test]
    fn a_whole_journal_is_written_atomically_and_reads_back() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("results.jsonl");
        std::fs::write(&p, "old\n").unwrap();
        let mut a = result("15-a");
        a.cell = "a".into();
        a.runs = vec![record("buggy", 1), record("fixed", 2)];
        let mut b = result("15-b");
        b.cell = "b".into();
        write_whole(&p, &[a, b]).unwrap();
        let back = read_all(&p).unwrap();
        assert_eq!(back.skipped.count, 0);
        let got: Vec<(&str, usize)> = back.cells.iter().map(|c| (c.cell.as_str(), c.runs.len())).collect();
        assert_eq!(got, [("a", 2), ("b", 0)]);
        let left: Vec<_> = std::fs::read_dir(d.path()).unwrap().flatten().map(|e| e.file_name()).collect();
        assert_eq!(left.len(), 1, "no temporary file left: {left:?}");
    }

    fn record(variant: &str, wall_ms: u64) -> RunRecord {
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
        let ids: Vec<String> = read(&p).unwrap().into_iter().map(|c| c.config.pattern.to_string()).collect();
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
        let back = read_all(&p).unwrap();
        assert!(back.cells.is_empty());
        assert_eq!(back.skipped.first, ["line 1: neither a run nor a cell"]);
    }
}
