//! Driving a plan: toolchains → builds → runs → oracle → verdicts.
//!
//! The campaign never prints. It reports through [`Event`]s, which the
//! caller (the CLI's reporter) turns into terminal output. Each cell is
//! judged by [`crate::judge::judge`], the one path every judgement takes;
//! the campaign adds what many cells need: one build per key (overlapping
//! with runs), a scheduler with a memory budget, the journal, resuming and
//! evidence. A cell whose build or run fails is recorded with its error and
//! the rest go on; only a toolchain that cannot be had (or a journal that
//! cannot be written) stops the campaign.

use crate::build::{Artifact, BuildKey, Builder, Prebuilt};
use crate::cell::{BackendKind, CellConfig, Role};
use crate::journal::{Journal, JournalError};
use crate::matrix::Plan;
use crate::results::{CellResult, Event};
use crate::run::{Backend, RunRecord};
use crate::template::Pattern;
use crate::toolchain::ToolchainError;
use crate::version::GoVersion;
use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;

/// How to run a campaign's cells.
#[derive(Clone, Debug)]
pub struct Options {
    /// Cells run at once (default 1: timings stay honest on small machines).
    pub jobs: usize,
    /// Memory cap per run, bytes (default 2 GiB).
    pub rss_cap: Option<u64>,
    /// Memory budget across cells running at once, bytes, by the patterns'
    /// declared peaks; a cell alone may exceed it (default half the
    /// machine's memory).
    pub mem_budget: u64,
    /// Run the cells of a family whose programs are measured to go
    /// faster one at a time than side by side alone
    /// ([`crate::template::Family::runs_alone_faster`]); off only to
    /// measure that again (`GCFUZZ_PAIR_ALL=1`, `scripts/bench --pairing`).
    pub pair_by_family: bool,
    /// Also ask the detectors (go vet, runtime checks) about each cell.
    pub detectors: bool,
    /// Stop a run as soon as its samples decide it (see [`crate::judge::Options`]).
    pub early_stop: bool,
    /// The user's request to stop (Ctrl-C): running children are killed,
    /// no cell or build starts, the outcome says `interrupted`.
    pub cancel: crate::process::Cancel,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            jobs: 1,
            rss_cap: Some(2 << 30),
            mem_budget: half_of_memory(),
            pair_by_family: true,
            detectors: false,
            early_stop: false,
            cancel: crate::process::Cancel::new(),
        }
    }
}

/// Half of the machine's memory (`MemTotal` in /proc/meminfo; 2 GiB when
/// it cannot be read).
pub fn half_of_memory() -> u64 {
    let total_kib = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .find(|l| l.starts_with("MemTotal:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
        })
        .unwrap_or(4 << 20);
    (total_kib << 10) / 2
}

/// A campaign: a plan, the patterns its cells index, where programs come
/// from and what runs them. Built with [`Campaign::new`], then the
/// journal, evidence folder and resumed cells it should use.
pub struct Campaign<'a> {
    patterns: Vec<&'a Pattern>,
    plan: Plan,
    builder: &'a dyn Builder,
    backends: Vec<&'a dyn Backend>,
    options: Options,
    evidence: Option<PathBuf>,
    journal: Option<&'a Mutex<Journal>>,
    done: HashMap<String, CellResult>,
}

impl<'a> Campaign<'a> {
    /// A campaign over `plan` (whose cells index `patterns`), building with
    /// `builder` and running each cell on the one of `backends` it names;
    /// no journal, no evidence.
    pub fn new(
        patterns: Vec<&'a Pattern>,
        plan: Plan,
        builder: &'a dyn Builder,
        backends: Vec<&'a dyn Backend>,
        options: Options,
    ) -> Self {
        Campaign { patterns, plan, builder, backends, options, evidence: None, journal: None, done: HashMap::new() }
    }

    /// Appends every finished run and cell to `journal`; `done` holds the
    /// cells it already has (from [`Journal::open`] with resume), which are
    /// not run again.
    pub fn with_journal(mut self, journal: &'a Mutex<Journal>, done: HashMap<String, CellResult>) -> Self {
        self.journal = Some(journal);
        self.done = done;
        self
    }

    /// Keeps evidence (heap profiles, stderr) of cells that need it under
    /// `dir/evidence/`.
    pub fn with_evidence(mut self, dir: &Path) -> Self {
        self.evidence = Some(dir.to_path_buf());
        self
    }

    /// The plan.
    pub fn plan(&self) -> &Plan {
        &self.plan
    }

    /// The backend for cells of `kind`.
    fn backend(&self, kind: BackendKind) -> Option<&'a dyn Backend> {
        self.backends.iter().copied().find(|b| b.kind() == kind)
    }

    /// The pattern a cell names (the plan's cells are made from the
    /// campaign's patterns; a plan made from others is refused).
    fn pattern_of(&self, cell: &CellConfig) -> Result<&'a Pattern, CampaignError> {
        self.patterns
            .iter()
            .copied()
            .find(|p| cell.pattern == p.id)
            .ok_or_else(|| CampaignError::NoPattern { cell: cell.id() })
    }
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
    /// A cell names a backend the campaign was not given.
    #[error("cell `{cell}` needs the `{backend}` backend, which this campaign does not have")]
    NoBackend {
        /// The cell.
        cell: String,
        /// The backend it names.
        backend: BackendKind,
    },
    /// A cell names a pattern the campaign was not given.
    #[error("cell `{cell}` names a pattern this campaign was not given")]
    NoPattern {
        /// The cell.
        cell: String,
    },
}

impl crate::errors::Classified for CampaignError {
    fn class(&self) -> Option<crate::errors::Class> {
        Some(match self {
            CampaignError::NoBackend { .. } | CampaignError::NoPattern { .. } => crate::errors::Class::Usage,
            _ => crate::errors::Class::Setup,
        })
    }
}

/// What one `go build` makes: a pattern's programs for one build key.
type Unit = (BuildKey, String);

/// What the campaign's threads tell the reporting thread.
enum Msg {
    BuildStarted(Unit, usize),
    Built(Unit, Result<Artifact, String>),
    Cell(usize, Box<CellResult>),
}

/// The memory a `go build` is reckoned to take, for the gate.
const BUILD_MIB: u64 = 512;

/// Admits cells to run: up to `jobs` at once (the worker threads), within
/// the memory budget by the patterns' declared peaks, and a cell that must
/// run alone (an `exclusive`, timing-sensitive pattern, or one of a family
/// measured to run faster one at a time) only with nothing else running.
struct Gate {
    state: Mutex<GateState>,
    wake: std::sync::Condvar,
    budget: u64,
}

#[derive(Default)]
struct GateState {
    running: usize,
    alone: bool,
    mem: u64,
}

/// What a cell asks of the [`Gate`].
#[derive(Clone, Copy, Debug)]
struct Need {
    /// Nothing may run beside it.
    alone: bool,
    /// Its declared peak, bytes.
    mem: u64,
}

/// A cell's place in the [`Gate`]; dropping it lets others in.
struct Admission<'a> {
    gate: &'a Gate,
    need: Need,
}

impl GateState {
    /// Whether a cell may start now. Alone it always may (a cell bigger
    /// than the budget still runs, by itself).
    fn fits(&self, need: Need, budget: u64) -> bool {
        self.running == 0 || (!need.alone && !self.alone && self.mem + need.mem <= budget)
    }
}

impl Gate {
    fn new(budget: u64) -> Self {
        Gate { state: Mutex::default(), wake: std::sync::Condvar::new(), budget }
    }

    fn admit(&self, need: Need) -> Admission<'_> {
        let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        while !st.fits(need, self.budget) {
            st = self.wake.wait(st).unwrap_or_else(|e| e.into_inner());
        }
        st.running += 1;
        st.alone |= need.alone;
        st.mem += need.mem;
        Admission { gate: self, need }
    }
}

impl Drop for Admission<'_> {
    fn drop(&mut self) {
        let mut st = self.gate.state.lock().unwrap_or_else(|e| e.into_inner());
        st.running -= 1;
        st.mem -= self.need.mem;
        if self.need.alone {
            st.alone = false;
        }
        self.gate.wake.notify_all();
    }
}

/// Runs the campaign. Results come back in plan order.
pub fn run(c: &Campaign, on_event: &mut dyn FnMut(Event)) -> Result<Outcome, CampaignError> {
    // The user's cancel, or this campaign's own when its journal fails (an
    // error then, not an interrupt).
    let stop = c.options.cancel.child();
    let work = prepare(c, on_event)?;
    if stop.is_cancelled() {
        return Ok(Outcome { results: Vec::new(), resumed: work.resumed, interrupted: true });
    }
    let results = execute(c, &work, &stop, on_event)?;
    let interrupted = results.iter().any(Option::is_none);
    let mut fresh = work.todo.iter().zip(results);
    let all = &c.plan.cells;
    let mut out = Vec::with_capacity(all.len());
    for (i, id) in work.ids.iter().enumerate() {
        if let Some(r) = c.done.get(id) {
            let mut r = r.clone();
            let cell = &all[i];
            crate::judge::expect_again(c.pattern_of(cell)?, cell, &mut r);
            out.push(r);
        } else if let Some((&j, r)) = fresh.next() {
            debug_assert_eq!(i, j);
            out.extend(r);
        }
    }
    skipped_cells(c, &mut out)?;
    Ok(Outcome { results: out, resumed: work.resumed, interrupted })
}

/// The cells the plan left out, as results with the verdict `skipped`
/// placed among their pattern's cells, and in the journal (once) so every
/// report made from it lists them with their reason.
fn skipped_cells(c: &Campaign, out: &mut Vec<CellResult>) -> Result<(), CampaignError> {
    if c.plan.skipped.is_empty() {
        return Ok(());
    }
    for s in &c.plan.skipped {
        let r = crate::judge::skipped(c.pattern_of(&s.cell)?, s);
        if let Some(j) = c.journal
            && !c.done.contains_key(&r.cell)
        {
            j.lock().unwrap_or_else(|e| e.into_inner()).cell(&r.cell, &r).map_err(CampaignError::Journal)?;
        }
        out.push(r);
    }
    // Plan order is pattern, then toolchain: a stable sort keeps each
    // group's own order and puts the skipped beside the cells run.
    let order: HashMap<&str, usize> = c.patterns.iter().enumerate().map(|(i, p)| (p.id.as_str(), i)).collect();
    out.sort_by_key(|r| (order.get(r.config.pattern.as_str()).copied().unwrap_or(usize::MAX), r.config.go));
    Ok(())
}

/// What is known before any work: which cells are left, each one's
/// backend, build key and build unit, and the units to build in order.
struct Work<'c> {
    ids: Vec<String>,
    todo: Vec<usize>,
    resumed: usize,
    cells: Vec<&'c CellConfig>,
    patterns: Vec<&'c Pattern>,
    backends: Vec<(&'c dyn Backend, BuildKey)>,
    units: Vec<Unit>,
    builds: Vec<(Unit, Vec<(&'c Pattern, &'c crate::template::Variant)>)>,
}

/// Plans the work: the cells a resume left, their backends and build keys
/// (a cell no backend runs is an error before any work), the toolchains
/// (a missing one stops everything before any work), one build per key
/// and pattern (each scenario its own executable: no pattern's code runs
/// in another's process) holding the pattern's buggy and fixed scenarios,
/// in the order cells need them.
fn prepare<'c>(c: &'c Campaign, on_event: &mut dyn FnMut(Event)) -> Result<Work<'c>, CampaignError> {
    let all = &c.plan.cells;
    let ids: Vec<String> = all.iter().map(CellConfig::id).collect();
    let todo: Vec<usize> = (0..all.len()).filter(|&i| !c.done.contains_key(&ids[i])).collect();
    let resumed = all.len() - todo.len();
    if resumed > 0 {
        on_event(Event::Note(format!("resumed {resumed} finished cells from the journal")));
    }
    let cells: Vec<&CellConfig> = todo.iter().map(|&i| &all[i]).collect();
    let patterns = cells.iter().map(|cell| c.pattern_of(cell)).collect::<Result<Vec<_>, _>>()?;
    let mut backends = Vec::with_capacity(cells.len());
    for cell in &cells {
        let b = c
            .backend(cell.backend)
            .ok_or_else(|| CampaignError::NoBackend { cell: cell.id(), backend: cell.backend })?;
        backends.push((b, BuildKey::for_cell(cell, b.target())));
    }
    let versions: BTreeSet<GoVersion> = cells.iter().map(|cell| cell.go).collect();
    for go in versions {
        c.builder.prepare(go, &mut |p| match p {
            crate::toolchain::Progress::Note(m) => on_event(Event::Note(m)),
            crate::toolchain::Progress::Downloaded { version, bytes } => on_event(Event::Download { version, bytes }),
        })?;
    }
    let mut builds: Vec<(Unit, Vec<(&Pattern, &crate::template::Variant)>)> = Vec::new();
    let mut units: Vec<Unit> = Vec::with_capacity(cells.len());
    let mut seen: HashMap<Unit, usize> = HashMap::new();
    for (&p, (_, key)) in patterns.iter().zip(&backends) {
        let unit: Unit = (key.clone(), p.id.clone());
        if !seen.contains_key(&unit) {
            seen.insert(unit.clone(), builds.len());
            let scen = p.variants.iter().filter(|v| Role::of(&v.name).is_some()).map(|v| (p, v));
            builds.push((unit.clone(), scen.collect()));
        }
        units.push(unit);
    }
    Ok(Work { ids, todo, resumed, cells, patterns, backends, units, builds })
}

/// What the campaign's threads share while it runs.
struct Shared<'s, 'c> {
    c: &'s Campaign<'c>,
    work: &'s Work<'s>,
    stop: &'s crate::process::Cancel,
    gate: Gate,
    /// Each unit's build, set by the builder thread, waited for by workers.
    built: crate::once::OnceMap<Unit, Result<Artifact, String>>,
    next: AtomicUsize,
    journal_error: Mutex<Option<JournalError>>,
}

/// Runs the work: builds overlap with runs (one thread builds unit after
/// unit, and a cell starts as soon as its build is ready; a build holds a
/// place in the gate like a cell, so an exclusive, timing-sensitive cell
/// never runs beside a compiler), `jobs` workers judge cells, and this
/// thread turns what they report into events. Results in `work.cells`
/// order; `None` for a cell not finished (interrupted).
fn execute(
    c: &Campaign,
    work: &Work,
    stop: &crate::process::Cancel,
    on_event: &mut dyn FnMut(Event),
) -> Result<Vec<Option<CellResult>>, CampaignError> {
    let total = work.cells.len();
    on_event(Event::Started { cells: total });
    let sh = Shared {
        c,
        work,
        stop,
        gate: Gate::new(c.options.mem_budget),
        built: crate::once::OnceMap::new(),
        next: AtomicUsize::new(0),
        journal_error: Mutex::new(None),
    };
    let (tx, rx) = mpsc::channel::<Msg>();
    let mut results: Vec<Option<CellResult>> = vec![None; total];
    std::thread::scope(|s| {
        {
            let (tx, sh) = (tx.clone(), &sh);
            s.spawn(move || sh.build_all(&tx));
        }
        for _ in 0..c.options.jobs.max(1).min(total.max(1)) {
            let (tx, sh) = (tx.clone(), &sh);
            s.spawn(move || sh.judge_cells(&tx));
        }
        drop(tx);
        let mut done = 0;
        for msg in rx {
            match msg {
                Msg::BuildStarted((key, pattern), scenarios) => {
                    on_event(Event::BuildStarted { key, pattern, scenarios })
                }
                Msg::Built(_, Ok(a)) => on_event(Event::BuildDone(&a)),
                Msg::Built((key, pattern), Err(error)) => on_event(Event::BuildFailed { key, pattern, error }),
                Msg::Cell(i, r) => {
                    done += 1;
                    on_event(Event::CellDone { done, total, result: &r });
                    results[i] = Some(*r);
                }
            }
        }
    });
    if let Some(e) = sh.journal_error.into_inner().unwrap_or_else(|e| e.into_inner()) {
        return Err(e.into());
    }
    Ok(results)
}

impl Shared<'_, '_> {
    /// The builder thread: each unit in turn, its result kept for the
    /// workers waiting on it.
    fn build_all(&self, tx: &mpsc::Sender<Msg>) {
        for (unit, scen) in &self.work.builds {
            let result = if self.stop.is_cancelled() {
                Err("not built: gcfuzz was interrupted".to_string())
            } else {
                let _ = tx.send(Msg::BuildStarted(unit.clone(), scen.len()));
                let _place = self.gate.admit(Need { alone: false, mem: BUILD_MIB << 20 });
                self.c.builder.build(&unit.0, scen).map_err(|e| e.to_string())
            };
            let _ = tx.send(Msg::Built(unit.clone(), result.clone()));
            self.built.set(unit, result);
        }
    }

    /// A journal write failed: keep the first error and stop the
    /// campaign's work (not the user's: the error is returned).
    fn journal_failed(&self, e: JournalError) {
        self.journal_error.lock().unwrap_or_else(|e| e.into_inner()).get_or_insert(e);
        self.stop.cancel();
    }

    /// A worker: takes the next cell, waits for its build and a place in
    /// the gate, judges it (each run journaled as it ends), journals the
    /// cell and reports it.
    fn judge_cells(&self, tx: &mpsc::Sender<Msg>) {
        let (c, w) = (self.c, self.work);
        loop {
            let i = self.next.fetch_add(1, Ordering::SeqCst);
            if i >= w.cells.len() || self.stop.is_cancelled() {
                break;
            }
            let cell = w.cells[i];
            let id = &w.ids[w.todo[i]];
            let (backend, key) = &w.backends[i];
            let artifact = self.built.wait(&w.units[i]);
            let pattern = w.patterns[i];
            let alone = pattern.run.exclusive || (c.options.pair_by_family && pattern.family.runs_alone_faster());
            let admission = self.gate.admit(Need { alone, mem: pattern.run.peak_mib << 20 });
            // Each run goes to the journal as soon as it ends.
            let record = |variant: &str, trial: u32, run: &RunRecord| {
                let Some(j) = c.journal else { return };
                if let Err(e) = j.lock().unwrap_or_else(|e| e.into_inner()).run(id, variant, trial, run) {
                    self.journal_failed(e);
                }
            };
            let opts = crate::judge::Options {
                rss_cap: c.options.rss_cap,
                early_stop: c.options.early_stop,
                detectors: c.options.detectors,
                evidence: c.evidence.as_deref(),
                on_run: Some(&record),
                cancel: Some(self.stop),
            };
            let builder = Prebuilt { inner: c.builder, key, built: &artifact };
            let r = crate::judge::judge(pattern, cell, &builder, *backend, &opts);
            drop(admission);
            // A cell cut short by Ctrl-C is not done: --resume reruns it.
            if self.stop.is_cancelled() || r.runs.iter().any(|run| run.outcome.stop.interrupted()) {
                break;
            }
            if let Some(j) = c.journal
                && let Err(e) = j.lock().unwrap_or_else(|e| e.into_inner()).cell_at(id, w.todo[i], &r)
            {
                self.journal_failed(e);
                break;
            }
            if tx.send(Msg::Cell(i, Box::new(r))).is_err() {
                break;
            }
        }
    }
}

#[cfg(test)]
#[path = "campaign/tests.rs"]
mod campaign_tests;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_gate_keeps_budgets_and_exclusive_cells_alone() {
        let st = |running, alone, mem| GateState { running, alone, mem };
        let need = |alone, mem| Need { alone, mem };
        assert!(st(0, false, 0).fits(need(true, 10_000), 100), "alone, anything runs");
        assert!(st(1, false, 40).fits(need(false, 60), 100));
        assert!(!st(1, false, 41).fits(need(false, 60), 100), "over the memory budget");
        assert!(!st(1, false, 0).fits(need(true, 1), 100), "a cell that runs alone waits for the others");
        assert!(!st(1, true, 0).fits(need(false, 1), 100), "and nothing joins it");
    }

    #[test]
    fn exclusive_admissions_never_overlap() {
        let gate = Gate::new(u64::MAX);
        let busy = std::sync::atomic::AtomicUsize::new(0);
        let overlap = std::sync::atomic::AtomicBool::new(false);
        std::thread::scope(|s| {
            for t in 0..6 {
                let (gate, busy, overlap) = (&gate, &busy, &overlap);
                s.spawn(move || {
                    for i in 0..200 {
                        let exclusive = (t + i) % 3 == 0;
                        let _a = gate.admit(Need { alone: exclusive, mem: 1 });
                        let n = busy.fetch_add(1, Ordering::SeqCst) + 1;
                        let st = gate.state.lock().unwrap();
                        if st.alone && n > 1 {
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
        assert_eq!((st.running, st.mem, st.alone), (0, 0, false), "every admission was released");
    }
}
