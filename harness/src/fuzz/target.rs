//! Judging one configuration for the fuzzer: plan its one cell, judge it
//! with [`crate::judge::judge`] (the one path every judgement takes), and,
//! on a backend whose runs are noisy, judge again before a candidate
//! counts. Builds are memoised per build key, so an execution never
//! renders or hashes sources again. No LibAFL here.

use super::behaviour;
use super::config::RunConfig;
use super::objective::{self, Objective};
use crate::build::{Artifact, BuildError, BuildKey, Builder};
use crate::cell::Role;
use crate::judge;
use crate::process::ChildOutcome;
use crate::results::CellResult;
use crate::run::Backend;
use crate::template::{Pattern, Variant};
use crate::toolchain::{Progress, ToolchainError};
use crate::version::GoVersion;

use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// The least cap (and kill) of a first judgement on a deterministic
/// backend, in seconds of its virtual clock: room for a start-up and a
/// round where the seeds are tiny.
pub const DETERMINISTIC_FLOOR_S: f64 = 0.25;

/// The least memory cap of a first judgement: a Go runtime's own
/// start-up, a few stress goroutines and a round of a small scenario fit
/// in it whatever the seeds measured.
pub const MEMORY_FLOOR: u64 = 256 << 20;

/// What a [`Memo`] remembers a build by: its key and scenario names.
type MemoKey = (BuildKey, Vec<String>);

/// A builder that remembers each build's programs (or its error): one
/// build per build key and scenarios for a whole fuzzing campaign.
pub struct Memo<'a> {
    inner: &'a dyn Builder,
    /// By build key and scenario names (errors as text: they are
    /// reported, not matched on).
    built: crate::once::OnceMap<MemoKey, Result<Artifact, String>>,
    /// Builds asked of the inner builder.
    pub builds: AtomicU64,
    /// Milliseconds the inner builder spent compiling (cache hits cost 0).
    pub build_ms: AtomicU64,
}

impl<'a> Memo<'a> {
    /// Memoises `inner`.
    pub fn new(inner: &'a dyn Builder) -> Self {
        Memo { inner, built: crate::once::OnceMap::new(), builds: AtomicU64::new(0), build_ms: AtomicU64::new(0) }
    }
}

impl Builder for Memo<'_> {
    fn prepare(&self, go: GoVersion, progress: &mut dyn FnMut(Progress)) -> Result<(), ToolchainError> {
        self.inner.prepare(go, progress)
    }

    fn build(&self, key: &BuildKey, scenarios: &[(&Pattern, &Variant)]) -> Result<Artifact, BuildError> {
        // One slot per key and scenarios: a second thread wanting the same
        // build waits for it rather than building it twice; others do not.
        let mut names: Vec<String> = scenarios.iter().map(|(p, v)| crate::build::scenario_name(p, v)).collect();
        names.sort();
        names.dedup();
        self.built
            .get_or_init(&(key.clone(), names), || {
                self.builds.fetch_add(1, Ordering::Relaxed);
                let r = self.inner.build(key, scenarios);
                if let Ok(a) = &r {
                    self.build_ms.fetch_add(a.build_ms, Ordering::Relaxed);
                }
                r.map_err(|e| e.to_string())
            })
            .map_err(BuildError::Message)
    }

    fn go_command(
        &self,
        go: GoVersion,
        args: &[String],
        dir: &Path,
        timeout: Duration,
    ) -> Result<ChildOutcome, BuildError> {
        self.inner.go_command(go, args, dir, timeout)
    }
}

/// One configuration, judged.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct Judged {
    /// What was judged.
    pub config: RunConfig,
    /// The first judgement.
    pub first: CellResult,
    /// The confirming one, when there was one.
    pub rerun: Option<CellResult>,
    /// The objectives that hold.
    pub objectives: Vec<Objective>,
    /// The behaviour map's slots it lit (both judgements').
    pub slots: Vec<usize>,
    /// A run of the first judgement was cut by the fuzzer's cap (its time,
    /// its memory, or its rounds stopped at the capped limit): what it
    /// shows is partly the cap's doing, so of it only the cut itself lights
    /// slots (`cut` per variant and kind: heavy regions stay in the corpus
    /// to breed from). A candidate among them, or one whose fixed variant
    /// was cut (within the heavy share), is judged at full limits, and that
    /// judgement's slots count.
    pub cut: bool,
}

impl Judged {
    /// Whether gcfuzz itself was interrupted during it (the result is then
    /// not a measurement and must be thrown away).
    pub fn interrupted(&self) -> bool {
        let cut = |r: &CellResult| r.runs.iter().any(|run| run.outcome.stop.interrupted());
        cut(&self.first) || self.rerun.as_ref().is_some_and(cut)
    }

    /// Whether a build or a run could not happen (not a measurement).
    pub fn error(&self) -> Option<&str> {
        self.first.error.as_deref()
    }
}

/// What the fuzzer judges configurations of one pattern with.
pub struct Target<'a> {
    /// The pattern.
    pub pattern: &'a Pattern,
    /// Its programs.
    pub builder: Memo<'a>,
    /// Where they run.
    pub backend: &'a dyn Backend,
    /// Memory cap per run, bytes.
    pub rss_cap: Option<u64>,
    /// Early stopping (fewer rounds where the statistics allow).
    pub early_stop: bool,
    /// Judge a candidate again before it counts (native runs are noisy;
    /// a deterministic backend needs no second run).
    pub confirm: bool,
    /// Judgements made (first runs and reruns).
    pub judgements: AtomicU64,
    /// The pattern with its run limits cut to what its seeds need (see
    /// [`Target::cap_runs`]); first judgements use it, confirmations
    /// never do.
    fast: std::sync::OnceLock<Pattern>,
    /// The longest variant of a first judgement so far, ms.
    slowest_ms: AtomicU64,
    /// The largest memory of a first judgement's run so far, bytes.
    largest_bytes: AtomicU64,
    /// Milliseconds of every judgement so far, on the runs' own clocks.
    spent_ms: AtomicU64,
    /// Milliseconds of judgements at full limits that a cut asked for.
    heavy_ms: AtomicU64,
    /// Configurations judged again at full limits because the cap cut
    /// their fixed variant.
    pub heavy: AtomicU64,
    /// While a finding is minimised every cut configuration is judged
    /// again at full limits, whatever the share: a boundary must not move
    /// because the budget ran out.
    pub minimising: std::sync::atomic::AtomicBool,
    /// The most of the run time that judgements at full limits of cut
    /// configurations may take ([`HEAVY_SHARE`] unless told otherwise).
    pub heavy_share: f64,
    /// The user's request to stop: runs are killed, no judgement starts.
    pub cancel: crate::process::Cancel,
}

/// The default for the most of a campaign's run time that judging cut
/// configurations again at the pattern's own limits may take (see
/// [`Target::judge`]): heavy regions get explored, the rest of the space
/// keeps more than half. `gcfuzz fuzz --heavy-share` changes it; what it
/// costs and finds is measured by `make bench`.
pub const HEAVY_SHARE: f64 = 0.4;

impl<'a> Target<'a> {
    /// A target judging `pattern` with `builder` on `backend`.
    pub fn new(pattern: &'a Pattern, builder: &'a dyn Builder, backend: &'a dyn Backend) -> Self {
        Target {
            pattern,
            builder: Memo::new(builder),
            backend,
            rss_cap: None,
            early_stop: true,
            confirm: true,
            judgements: AtomicU64::new(0),
            fast: std::sync::OnceLock::new(),
            slowest_ms: AtomicU64::new(0),
            largest_bytes: AtomicU64::new(0),
            spent_ms: AtomicU64::new(0),
            heavy_ms: AtomicU64::new(0),
            heavy: AtomicU64::new(0),
            minimising: std::sync::atomic::AtomicBool::new(false),
            heavy_share: HEAVY_SHARE,
            cancel: crate::process::Cancel::new(),
        }
    }

    /// From now on, first judgements stop each run at `factor` times the
    /// slowest variant judged so far (the seeds), at most the pattern's own
    /// limit, and kill it at three times that; and cap each run's memory
    /// at `factor` times the largest run so far (at least
    /// [`MEMORY_FLOOR`]), at most the pattern's and the user's own cap. A
    /// parameter at the top of its declared range can make a run take the
    /// pattern's full 20 s or a minute, or gigabytes; cut short, it has
    /// fewer rounds (often inconclusive, never a finding by itself). A candidate is always judged again at the
    /// pattern's own limits, which is what `gcfuzz run --matrix` replays.
    /// Returns the cap in seconds.
    ///
    /// Times are on the clock the runs' limits count in: the wall clock
    /// natively, where floors of 2 s (cap) and 10 s (kill) absorb process
    /// start-up and a loaded machine; the virtual clock on a deterministic
    /// backend (wasm: instructions, bulk memory bytes and sleeps), which
    /// has no noise to absorb, so only a floor of [`DETERMINISTIC_FLOOR_S`].
    pub fn cap_runs(&self, factor: f64) -> Option<f64> {
        let run = &self.pattern.run;
        let slowest = self.slowest_ms.load(Ordering::Relaxed) as f64 / 1000.0;
        let (floor, kill_floor) =
            if self.backend.deterministic() { (DETERMINISTIC_FLOOR_S, DETERMINISTIC_FLOOR_S) } else { (2.0, 10.0) };
        let cap = (slowest * factor).max(floor);
        if cap >= run.max_wall_s {
            return None;
        }
        let mut p = self.pattern.clone();
        p.run.max_wall_s = cap;
        p.run.timeout_s = run.timeout_s.min((3.0 * cap).max(kill_floor));
        let largest = self.largest_bytes.load(Ordering::Relaxed) as f64;
        let memory_mib = ((largest * factor) as u64).max(MEMORY_FLOOR) >> 20;
        let full_mib = [run.max_rss_mib, self.rss_cap.map(|b| b >> 20)].into_iter().flatten().min();
        if full_mib.is_none_or(|m| memory_mib < m) {
            p.run.max_rss_mib = Some(memory_mib);
        }
        let _ = self.fast.set(p);
        Some(cap)
    }

    /// Judges one configuration once, with the pattern's own run limits
    /// (`full`) or the capped ones when there are.
    pub fn judge_once(&self, c: &RunConfig, full: bool) -> CellResult {
        self.judgements.fetch_add(1, Ordering::Relaxed);
        let pattern = match self.fast.get() {
            Some(p) if !full => p,
            _ => self.pattern,
        };
        let cell = match c.cell(pattern) {
            Ok(cell) => cell,
            Err(e) => {
                // Cannot happen for a configuration inside the space; a
                // hand-edited corpus file can do it.
                return unplanned(self.pattern, c, &e.to_string());
            }
        };
        let opts = judge::Options {
            rss_cap: self.rss_cap,
            early_stop: self.early_stop,
            cancel: Some(&self.cancel),
            ..judge::Options::default()
        };
        let r = judge::judge(pattern, &cell, &self.builder, self.backend, &opts);
        // A variant's time: its runs' on the clock their limits count in.
        let time = |v: Role| -> u64 {
            r.runs.iter().filter(|run| run.role() == Some(v)).map(|run| run.outcome.clock_ms()).sum()
        };
        self.slowest_ms.fetch_max(time(Role::Buggy).max(time(Role::Fixed)), Ordering::Relaxed);
        let largest = r.runs.iter().map(|run| run.outcome.peak_rss).max().unwrap_or(0);
        self.largest_bytes.fetch_max(largest, Ordering::Relaxed);
        self.spent_ms.fetch_add(time(Role::Buggy) + time(Role::Fixed), Ordering::Relaxed);
        r
    }

    /// Judges `c` at full limits because the cap cut it, counting the time
    /// against the heavy share.
    fn judge_heavy(&self, c: &RunConfig) -> CellResult {
        let r = self.judge_once(c, true);
        // Its own runs' time (judgements on other threads are not its).
        let took: u64 = r.runs.iter().map(|run| run.outcome.clock_ms()).sum();
        self.heavy_ms.fetch_add(took, Ordering::Relaxed);
        r
    }

    /// Whether the heavy share has room for one more full judgement.
    fn heavy_room(&self) -> bool {
        if self.minimising.load(Ordering::Relaxed) {
            return true;
        }
        let (heavy, spent) = (self.heavy_ms.load(Ordering::Relaxed), self.spent_ms.load(Ordering::Relaxed));
        self.heavy_share > 0.0 && heavy as f64 <= self.heavy_share * spent as f64
    }

    /// Judges one configuration. A candidate counts only on a judgement at
    /// the pattern's own limits: natively (noisy runs) it is confirmed by a
    /// second one, and when the first ran capped and the two disagree, a
    /// third decides, so neither a flip nor an objective ever rests on a
    /// capped run; on a deterministic backend one run is proof, so a
    /// candidate from a capped run is judged once more at full limits and
    /// that judgement alone decides (uncapped, the first one does).
    pub fn judge(&self, c: &RunConfig) -> Judged {
        let first = self.judge_once(c, false);
        let capped = self.fast.get().is_some();
        // Both variants past a capped limit: too slow to judge here, and
        // nothing a rerun at full limits would be worth its minutes for (a
        // fixed variant that hangs alone is). Any run cut by the cap
        // lights no slot (`Judged::cut`), so LibAFL does not keep such
        // configurations to breed more of them.
        let timed_out = |v: &Option<crate::oracle::VariantResult>| {
            v.as_ref().is_some_and(|v| v.status == crate::verdict::Presence::Timeout)
        };
        let too_slow = capped && timed_out(&first.buggy) && timed_out(&first.fixed);
        let cut = capped && first.runs.iter().any(cut_by_cap);
        // A cut is evidence, not silence: the cap stopped the fixed variant
        // where the seeds' runs were far from it (4x their time or memory),
        // which is where garbage-collector bugs grow. Such a configuration
        // is judged at the pattern's own limits, within the heavy share of the
        // campaign's run time; that judgement, never the capped one,
        // decides (and is confirmed like any candidate).
        let fixed_cut = cut && first.runs.iter().any(|run| run.role() == Some(Role::Fixed) && cut_by_cap(run));
        let heavy = fixed_cut && !objective::needs_rerun(&first) && !self.cancel.is_cancelled() && self.heavy_room();
        let mut rerun = None;
        let mut objectives = objective::confirmed(&first, None);
        if heavy {
            self.heavy.fetch_add(1, Ordering::Relaxed);
            let full = self.judge_heavy(c);
            objectives = Vec::new();
            if !self.confirm {
                objectives = objective::confirmed(&full, None);
                rerun = Some(full);
            } else if objective::needs_rerun(&full) && !self.cancel.is_cancelled() {
                let again = self.judge_heavy(c);
                objectives = objective::confirmed(&full, Some(&again));
                rerun = Some(again);
            } else {
                rerun = Some(full);
            }
        } else if self.confirm {
            objectives = Vec::new();
            if objective::needs_rerun(&first) && !too_slow && !self.cancel.is_cancelled() {
                let second = self.judge_once(c, true);
                let differ = second.verdict != first.verdict;
                if capped && differ && !self.cancel.is_cancelled() {
                    let third = self.judge_once(c, true);
                    objectives = objective::confirmed(&second, Some(&third));
                    rerun = Some(third);
                } else {
                    objectives = objective::confirmed(&first, Some(&second));
                    rerun = Some(second);
                }
            }
        } else if capped && !objectives.is_empty() && !self.cancel.is_cancelled() {
            let full = self.judge_once(c, true);
            objectives = objective::confirmed(&full, None);
            rerun = Some(full);
        }
        let mut slots = if cut { behaviour::cut_slots(&first) } else { behaviour::slots(&first) };
        if let Some(r) = &rerun {
            slots.extend(behaviour::slots(r));
            slots.sort_unstable();
            slots.dedup();
        }
        Judged { config: c.clone(), first, rerun, objectives, slots, cut }
    }

    /// Judges several configurations, `jobs` at a time (each judgement
    /// runs its variants one after the other, so `jobs` is the number of
    /// Go processes at once).
    pub fn judge_all(&self, configs: &[RunConfig], jobs: usize) -> Vec<Judged> {
        let jobs = jobs.clamp(1, configs.len().max(1));
        if jobs == 1 {
            return configs.iter().map(|c| self.judge(c)).collect();
        }
        let next = std::sync::atomic::AtomicUsize::new(0);
        let out: Mutex<Vec<Option<Judged>>> = Mutex::new(vec![None; configs.len()]);
        std::thread::scope(|s| {
            for _ in 0..jobs {
                s.spawn(|| {
                    loop {
                        let i = next.fetch_add(1, Ordering::SeqCst);
                        if i >= configs.len() {
                            break;
                        }
                        let j = self.judge(&configs[i]);
                        out.lock().unwrap_or_else(|e| e.into_inner())[i] = Some(j);
                    }
                });
            }
        });
        out.into_inner()
            .unwrap_or_else(|e| e.into_inner())
            .into_iter()
            .map(|j| j.expect("every index judged"))
            .collect()
    }
}

/// Whether a run of a capped judgement met a capped limit: killed at its
/// time or memory cap, or its rounds stopped at the capped wall time.
fn cut_by_cap(run: &crate::run::RunRecord) -> bool {
    behaviour::cut_kind(run).is_some()
}

/// The result of a configuration that could not be planned.
fn unplanned(p: &Pattern, c: &RunConfig, why: &str) -> CellResult {
    CellResult {
        cell: format!("{}|{}", p.id, c.digest()),
        config: c.as_cell(),
        seed_bug: p.seed_bug,
        early_stop: false,
        buggy: None,
        fixed: None,
        verdict: crate::verdict::Verdict::Inconclusive,
        expected: None,
        met: false,
        why: String::new(),
        explanation: format!("not run: {why}"),
        detectors: Vec::new(),
        error: Some(why.to_string()),
        evidence: Vec::new(),
        runs: Vec::new(),
    }
}
