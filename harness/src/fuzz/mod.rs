//! `gcfuzz fuzz`: LibAFL searches the configuration space of a pattern for
//! where its fix fails or its bug hides; `gcfuzz replay` re-judges the
//! findings it saved.
//!
//! - [`config`]: the input, a [`RunConfig`], written as a one-cell
//!   `--matrix` file.
//! - [`space`]: the values each axis may take and the structure-aware
//!   mutations.
//! - [`behaviour`]: the bucketed behaviour map.
//! - [`objective`]: what counts as a finding, and its confirmation.
//! - [`target`]: judging one configuration through [`crate::judge`].
//! - `engine`: LibAFL's input, mutators, executor, observers, feedbacks
//!   and stage; its generics stay there.
//!
//! This module drives them: the corpus folders, the loop over patterns
//! within a budget, minimisation, findings on disk, replay.
//!
//! ```text
//! corpus/<pattern>/seeds/     the pattern's default configurations (committed)
//! corpus/<pattern>/queue/     what LibAFL kept: configurations with new behaviour
//! corpus/<pattern>/findings/  minimised findings: <objective>-<hash>.yaml + .json
//! ```
//!
//! Without the `libafl` feature (`make test-fast`) there is no engine:
//! [`fuzz`] says so, and everything else here (replay, minimisation, the
//! configuration space) still builds and is tested.
#![cfg_attr(
    not(feature = "libafl"),
    allow(
        dead_code,
        unused_imports,
        unused_mut,
        unused_variables,
        reason = "the engine and its callers are built with the libafl feature only"
    )
)]

pub mod behaviour;
pub mod config;
#[cfg(feature = "libafl")]
mod engine;
pub mod objective;
pub mod space;
pub mod target;

pub use config::{Field, RunConfig};
pub use objective::Objective;
pub use target::{Judged, Target};

use crate::build::Builder;
use crate::errors::{io_err, write_atomic};
use crate::results::CellResult;
use crate::run::Backend;
use crate::template::Pattern;
use crate::toolchain::Progress;
use crate::version::GoVersion;
use serde::{Deserialize, Serialize};
use space::Space;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// How long to fuzz.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Budget {
    /// Wall time over all patterns, shared out evenly.
    Time(Duration),
    /// Executions per pattern.
    Iters(u64),
}

/// How to fuzz.
#[derive(Clone, Debug)]
pub struct Options {
    /// Toolchains the configurations may use.
    pub toolchains: Vec<GoVersion>,
    /// Toolchains the seeds (default configurations) are written for.
    pub seed_toolchains: Vec<GoVersion>,
    /// Backends the configurations may use.
    pub backends: Vec<crate::cell::BackendKind>,
    /// How long.
    pub budget: Budget,
    /// Judgements at a time.
    pub jobs: usize,
    /// The corpus folder (`corpus/`).
    pub corpus: PathBuf,
    /// Memory cap per run, bytes.
    pub rss_cap: Option<u64>,
    /// Memory the runs at once may use, bytes (limits `jobs` by the
    /// pattern's declared peak).
    pub mem_budget: u64,
    /// Confirm candidates by a second judgement (native: yes).
    pub confirm: bool,
    /// The most of the run time that judging cut configurations again at
    /// full limits may take (`target::HEAVY_SHARE` by default; 0: never).
    pub heavy_share: f64,
    /// LibAFL's random seed.
    pub seed: u64,
    /// The user's request to stop (Ctrl-C): the queue and findings so far
    /// are kept, the summary says `interrupted`.
    pub cancel: crate::process::Cancel,
}

/// What a fuzzing campaign tells its reporter.
#[derive(Debug)]
pub enum FuzzEvent<'a> {
    /// Toolchain work.
    Note(String),
    /// A pattern's fuzzing starts.
    Pattern {
        /// Its id.
        id: &'a str,
        /// Seeds.
        seeds: usize,
        /// Queue entries from an earlier run.
        queue: usize,
        /// Queue files that did not read (skipped), with why.
        unreadable: &'a [(PathBuf, String)],
    },
    /// After each batch.
    Progress(&'a Stats),
    /// A finding was saved.
    Finding(&'a Finding),
}

/// One pattern's numbers.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Stats {
    /// The pattern.
    pub pattern: String,
    /// LibAFL executions (configurations evaluated).
    pub executions: u64,
    /// Judgements (first runs, confirming reruns and minimisation).
    pub judgements: u64,
    /// Builds (one per build key).
    pub builds: u64,
    /// Seconds spent compiling them (0 for a build found in the cache).
    pub build_s: f64,
    /// Wall time so far.
    pub elapsed_s: f64,
    /// Queue entries at the start.
    pub corpus_start: usize,
    /// Queue entries now.
    pub corpus: usize,
    /// Findings saved (new this run).
    pub findings: usize,
    /// Findings seen again (already saved).
    pub known: usize,
    /// Executions whose build or run could not happen.
    pub errors: u64,
    /// The last error.
    pub last_error: Option<String>,
    /// Executions whose first judgement the run cap cut (see
    /// [`Judged::cut`]).
    pub slow: u64,
    /// Of those, the ones judged again at the pattern's own limits because
    /// the cap cut their fixed variant (within `Options::heavy_share` of
    /// the run time).
    pub heavy: u64,
    /// Minimised findings that did not show their objective when judged
    /// once more before being saved (saved as `flaky` instead).
    pub unconfirmed: u64,
    /// The last finding, for people.
    pub last_finding: Option<String>,
    /// The wall-time cap of first judgements' runs, s (see
    /// [`Target::cap_runs`]).
    pub run_cap_s: Option<f64>,
}

/// First judgements stop a run at this many times the slowest seed's.
pub const RUN_CAP_FACTOR: f64 = 4.0;

impl Stats {
    /// Executions per second.
    pub fn execs_per_s(&self) -> f64 {
        if self.elapsed_s > 0.0 { self.executions as f64 / self.elapsed_s } else { 0.0 }
    }
}

/// A minimised, confirmed finding as saved.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Finding {
    /// What it shows.
    pub objective: Objective,
    /// The pattern.
    pub pattern: String,
    /// The minimised configuration.
    pub config: RunConfig,
    /// Its changes from the nearest default configuration.
    pub changes: Vec<String>,
    /// The changes, for people (`GOGC=off size_mib=64`).
    pub described: String,
    /// For each parameter left changed, the value nearest its default that
    /// still showed the objective (the saved configuration keeps a margin
    /// beyond it).
    #[serde(default)]
    pub boundaries: BTreeMap<String, String>,
    /// The configuration as first found (before minimisation).
    pub found: RunConfig,
    /// Executions of the pattern's campaign when it was found.
    pub found_after: u64,
    /// The judgement of the minimised configuration: verdict, expectation
    /// and every number behind them.
    pub result: CellResult,
    /// The YAML file.
    #[serde(skip)]
    pub path: PathBuf,
}

/// What went wrong outside any one execution.
#[derive(Debug, thiserror::Error)]
pub enum FuzzError {
    /// The corpus folder.
    #[error(transparent)]
    Io(#[from] crate::errors::IoError),
    /// A toolchain could not be made ready.
    #[error(transparent)]
    Toolchain(#[from] crate::toolchain::ToolchainError),
    /// LibAFL refused.
    #[error("fuzzing `{pattern}`: {message}")]
    Engine {
        /// The pattern.
        pattern: String,
        /// LibAFL's error.
        message: String,
    },
    /// Nothing to fuzz.
    #[error("{0}")]
    Nothing(String),
}

impl crate::errors::Classified for FuzzError {
    fn class(&self) -> Option<crate::errors::Class> {
        Some(match self {
            FuzzError::Nothing(_) => crate::errors::Class::Usage,
            _ => crate::errors::Class::Setup,
        })
    }
}

/// One pattern's campaign, as it ended.
#[derive(Clone, Debug, Serialize)]
pub struct Summary {
    /// The numbers.
    pub stats: Stats,
    /// Findings saved this run.
    pub findings: Vec<Finding>,
    /// Whether it was cut short by an interrupt.
    pub interrupted: bool,
}

/// The folders of one pattern's corpus.
pub struct Dirs {
    /// `seeds/`.
    pub seeds: PathBuf,
    /// `queue/`.
    pub queue: PathBuf,
    /// `findings/`.
    pub findings: PathBuf,
}

impl Dirs {
    /// The folders of `pattern` under `corpus`, created.
    pub fn create(corpus: &Path, pattern: &str) -> Result<Dirs, crate::errors::IoError> {
        let base = corpus.join(pattern);
        let d = Dirs { seeds: base.join("seeds"), queue: base.join("queue"), findings: base.join("findings") };
        for p in [&d.seeds, &d.queue, &d.findings] {
            std::fs::create_dir_all(p).map_err(io_err("failed to create", p))?;
        }
        Ok(d)
    }
}

/// The seed files' header.
fn seed_header(p: &Pattern) -> Vec<String> {
    vec![
        format!("gcfuzz seed: a default configuration of {} ({})", p.id, p.title),
        "written by gcfuzz fuzz from the pattern's configs; replay: gcfuzz run --matrix THIS_FILE".into(),
    ]
}

/// Writes the pattern's default configurations into `seeds/` where they
/// are missing; returns the seeds (those in the folder, which a user may
/// have added to).
pub fn write_seeds(
    p: &Pattern,
    dir: &Path,
    toolchains: &[GoVersion],
) -> Result<Vec<RunConfig>, crate::errors::IoError> {
    for s in RunConfig::seeds(p, toolchains) {
        let path = dir.join(format!("go{}-{}.yaml", s.go, s.digest()));
        if !path.exists() {
            write_atomic(&path, s.to_yaml(&seed_header(p)))?;
        }
    }
    Ok(read_configs(dir, std::slice::from_ref(p)).into_iter().filter_map(|(_, c)| c.ok()).collect())
}

/// Every `*.yaml` in `dir`, read as a configuration, by file name.
pub(crate) fn read_configs(dir: &Path, patterns: &[Pattern]) -> Vec<(PathBuf, Result<RunConfig, config::ConfigError>)> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(Result::ok).map(|e| e.path()).filter(|p| p.extension().is_some_and(|x| x == "yaml")).collect()
        })
        .unwrap_or_default();
    paths.sort();
    paths.into_iter().map(|p| (p.clone(), RunConfig::load(&p, patterns))).collect()
}

/// Fuzzes each of `selected` in turn within the budget; `all` are the
/// loaded patterns (corpus files name theirs by id).
pub fn fuzz(
    selected: &[&Pattern],
    all: &[Pattern],
    builder: &dyn Builder,
    backend: &dyn Backend,
    opts: &Options,
    on_event: &mut dyn FnMut(FuzzEvent),
) -> Result<Vec<Summary>, FuzzError> {
    if selected.is_empty() {
        return Err(FuzzError::Nothing("no pattern selected".into()));
    }
    if !cfg!(feature = "libafl") {
        return Err(FuzzError::Nothing(
            "this gcfuzz was built without the `libafl` feature, so it cannot fuzz (replay works)".into(),
        ));
    }
    // Every toolchain ready first: downloads are not execution time.
    for &go in &opts.toolchains {
        builder.prepare(go, &mut |p| {
            if let Progress::Note(m) = p {
                on_event(FuzzEvent::Note(m))
            }
        })?;
    }
    // A pattern whose needs the backend lacks has no configuration here.
    let selected: Vec<&Pattern> = selected
        .iter()
        .copied()
        .filter(|p| match crate::matrix::cannot_run(backend.kind(), p, &Default::default()) {
            Some(why) => {
                on_event(FuzzEvent::Note(format!("skipped {}: {why}", p.id)));
                false
            }
            None => true,
        })
        .collect();
    if selected.is_empty() {
        return Err(FuzzError::Nothing(format!("no selected pattern can run on the {} backend", backend.name())));
    }
    let start = Instant::now();
    let mut out = Vec::new();
    for (i, p) in selected.iter().enumerate() {
        if opts.cancel.is_cancelled() {
            break;
        }
        let deadline = match opts.budget {
            Budget::Time(total) => {
                let left = total.saturating_sub(start.elapsed());
                Some(Instant::now() + left / (selected.len() - i) as u32)
            }
            Budget::Iters(_) => None,
        };
        #[cfg(feature = "libafl")]
        out.push(fuzz_one(p, all, builder, backend, opts, deadline, on_event)?);
    }
    Ok(out)
}

#[cfg(feature = "libafl")]
fn fuzz_one(
    p: &Pattern,
    all: &[Pattern],
    builder: &dyn Builder,
    backend: &dyn Backend,
    opts: &Options,
    deadline: Option<Instant>,
    on_event: &mut dyn FnMut(FuzzEvent),
) -> Result<Summary, FuzzError> {
    let engine_err = |e: libafl::Error| FuzzError::Engine { pattern: p.id.clone(), message: e.to_string() };
    let dirs = Dirs::create(&opts.corpus, &p.id)?;
    let space = Space::new(p, &opts.toolchains, &opts.backends);
    if space.toolchains.is_empty() {
        return Err(FuzzError::Nothing(format!("{}: none of the toolchains asked for has a configuration", p.id)));
    }
    let seeds = seeds_in(p, &space, &dirs, opts)?;
    let mut target = Target::new(p, builder, backend);
    target.rss_cap = opts.rss_cap;
    target.confirm = opts.confirm;
    target.heavy_share = opts.heavy_share;
    target.cancel = opts.cancel.clone();
    let peak = (p.run.peak_mib.max(1) << 20).max(1);
    // One at a time where the pattern asks for it, and where its family's
    // programs are measured to go faster so (as `run` schedules them).
    let alone = p.run.exclusive || p.family.runs_alone_faster();
    let jobs = if alone { 1 } else { opts.jobs.clamp(1, (opts.mem_budget / peak).max(1) as usize) };
    let (mut engine, unreadable) =
        engine::Engine::new(&target, space.clone(), &dirs.queue, jobs, opts.seed, all).map_err(engine_err)?;
    let mut stats = Stats { pattern: p.id.clone(), corpus_start: engine.corpus_len(), ..Default::default() };
    on_event(FuzzEvent::Pattern { id: &p.id, seeds: seeds.len(), queue: stats.corpus_start, unreadable: &unreadable });
    let start = Instant::now();
    let mut findings = Vec::new();
    let mut known: Vec<(Objective, Vec<Field>)> = Vec::new();
    let mut interrupted = false;
    let mut first = true;
    loop {
        let r = if first { engine.seed(&seeds) } else { engine.step() };
        if first {
            stats.run_cap_s = target.cap_runs(RUN_CAP_FACTOR);
        }
        first = false;
        let more = match r {
            Ok(()) => !opts.cancel.is_cancelled(),
            Err(libafl::Error::ShuttingDown) => false,
            Err(e) => return Err(engine_err(e)),
        };
        let taken = {
            let mut inbox = engine.inbox.lock().unwrap_or_else(|e| e.into_inner());
            stats.errors = inbox.errors;
            stats.slow = inbox.slow;
            stats.heavy = target.heavy.load(std::sync::atomic::Ordering::Relaxed);
            stats.last_error = inbox.last_error.clone();
            std::mem::take(&mut inbox.findings)
        };
        for (j, found_after) in taken {
            if opts.cancel.is_cancelled() {
                break;
            }
            let changed = j.config.nearest(&seeds).map(|(_, c)| c).unwrap_or_default();
            for &o in &j.objectives {
                // A candidate that holds every change of a finding already
                // made this run is most likely that finding again: count it
                // without paying for its minimisation.
                if known.iter().any(|(ko, kf): &(Objective, Vec<Field>)| {
                    *ko == o && !kf.is_empty() && kf.iter().all(|f| changed.contains(f))
                }) {
                    stats.known += 1;
                    continue;
                }
                let m = Minimiser { target: &target, seeds: &seeds, objective: o, deadline };
                let f = finish_finding(&m, &space, &j, found_after, &mut stats);
                known.push((o, f.config.nearest(&seeds).map(|(_, c)| c).unwrap_or_default()));
                match save(&f, &dirs.findings)? {
                    Some(path) => {
                        let f = Finding { path, ..f };
                        stats.findings += 1;
                        stats.last_finding = Some(format!("{} {}", f.objective, f.described));
                        on_event(FuzzEvent::Finding(&f));
                        findings.push(f);
                    }
                    None => stats.known += 1,
                }
            }
        }
        stats.executions = engine.executions();
        stats.judgements = target.judgements.load(std::sync::atomic::Ordering::Relaxed);
        stats.builds = target.builder.builds.load(std::sync::atomic::Ordering::Relaxed);
        stats.build_s = target.builder.build_ms.load(std::sync::atomic::Ordering::Relaxed) as f64 / 1000.0;
        stats.elapsed_s = start.elapsed().as_secs_f64();
        stats.corpus = engine.corpus_len();
        on_event(FuzzEvent::Progress(&stats));
        if !more || opts.cancel.is_cancelled() {
            interrupted = opts.cancel.is_cancelled();
            break;
        }
        let done = match (opts.budget, deadline) {
            (Budget::Iters(n), _) => stats.executions >= n,
            (_, Some(d)) => Instant::now() >= d,
            _ => true,
        };
        if done {
            break;
        }
    }
    Ok(Summary { stats, findings, interrupted })
}

/// Whether a changed field can be narrowed as a number, and if so whether
/// its values are integers: a declared parameter, or GOGC
/// (GOMEMLIMIT and the stress settings have no finite default to narrow
/// towards: unset is "no limit", "no stress").
fn numeric_axis(f: &Field, p: &Pattern) -> Option<bool> {
    match f {
        Field::Param(name) => {
            let param = p.params.iter().find(|q| &q.name == name)?;
            Some(param.kind == crate::template::ParamType::Int)
        }
        Field::Gogc => Some(true),
        _ => None,
    }
}

/// The value of a numeric axis in `c`: unset GOGC is Go's default, 100;
/// GOGC=off is not a number.
fn axis_value(f: &Field, c: &RunConfig) -> Option<f64> {
    match f {
        Field::Param(name) => c.params.get(name)?.parse().ok(),
        Field::Gogc => c.knobs.gogc.as_deref().map_or(Some(100.0), |g| g.parse().ok()),
        _ => None,
    }
}

/// `c` with a numeric axis set to `v`.
fn with_axis_value(f: &Field, c: &RunConfig, v: f64) -> RunConfig {
    let mut c = c.clone();
    let v = crate::template::format_number(v);
    match f {
        Field::Param(name) => {
            c.params.insert(name.clone(), v);
        }
        Field::Gogc => c.knobs.gogc = Some(v),
        _ => {}
    }
    c
}

/// The pattern's default configurations (written to `seeds/`), each on a
/// toolchain and backend of the space: a seed on a toolchain outside it
/// moves to the nearest inside.
fn seeds_in(p: &Pattern, space: &Space, dirs: &Dirs, opts: &Options) -> Result<Vec<RunConfig>, FuzzError> {
    let mut seeds: Vec<RunConfig> = Vec::new();
    for mut s in write_seeds(p, &dirs.seeds, &opts.seed_toolchains)? {
        if !space.toolchains.contains(&s.go) {
            s.go = *space.toolchains.iter().min_by_key(|g| g.minor.abs_diff(s.go.minor)).expect("not empty");
        }
        space.normalize(&mut s);
        if !opts.backends.contains(&s.backend) {
            s.backend = opts.backends.first().copied().unwrap_or_default();
        }
        if !seeds.contains(&s) {
            seeds.push(s);
        }
    }
    Ok(seeds)
}

/// A candidate made a finding: minimised (every cut configuration judged
/// at full limits meanwhile), then, on a noisy backend, judged once more
/// before it is saved: two judgements in a row can share a noise (a small
/// parameter under a stress goroutine's churn: measured on fixture 85),
/// and a finding `make replay` does not see again is a false alarm in CI.
/// One that does not show its objective again is saved as flaky, which is
/// what it is.
fn finish_finding(m: &Minimiser, space: &Space, j: &Judged, found_after: u64, stats: &mut Stats) -> Finding {
    let (target, o) = (m.target, m.objective);
    target.minimising.store(true, std::sync::atomic::Ordering::Relaxed);
    let mut f = minimise(target, space, m.seeds, j, o, found_after, m.deadline);
    if target.confirm && o != Objective::Flaky && !target.cancel.is_cancelled() {
        let again = target.judge(&f.config);
        if !again.interrupted() && !target.cancel.is_cancelled() && !again.objectives.contains(&o) {
            stats.unconfirmed += 1;
            f.objective = Objective::Flaky;
        }
    }
    target.minimising.store(false, std::sync::atomic::Ordering::Relaxed);
    f
}

/// A configuration's GODEBUG settings, one per entry.
fn godebug_settings(c: &RunConfig) -> Vec<String> {
    c.knobs
        .godebug
        .as_deref()
        .unwrap_or("")
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(String::from)
        .collect()
}

/// Reduces a finding to the fewest changes from its nearest default
/// configuration that still show `objective`: each change is reverted in
/// turn and kept reverted when the objective still holds (judged, and
/// confirmed, like any execution), then each part of a stress setting or
/// a GODEBUG list; then each numeric axis left changed is narrowed to the
/// boundary where the objective starts (saved with a margin beyond it).
/// Past `deadline`, what is reduced so far is kept.
pub fn minimise(
    target: &Target,
    space: &Space,
    seeds: &[RunConfig],
    found: &Judged,
    objective: Objective,
    found_after: u64,
    deadline: Option<Instant>,
) -> Finding {
    let m = Minimiser { target, seeds, objective, deadline };
    let best = m.revert_fields(found.clone(), space);
    let best = m.revert_parts(best);
    let (best, boundaries) = m.narrow(best);
    let (base, changes) = match best.config.nearest(seeds) {
        Some((s, ch)) => (s.clone(), ch),
        None => (best.config.clone(), Vec::new()),
    };
    Finding {
        objective,
        boundaries,
        pattern: best.config.pattern.clone(),
        described: best.config.describe_changes(&base),
        changes: changes.iter().map(ToString::to_string).collect(),
        config: best.config.clone(),
        found: found.config.clone(),
        found_after,
        result: best.rerun.clone().unwrap_or(best.first),
        path: PathBuf::new(),
    }
}

/// What minimisation's steps share.
struct Minimiser<'t, 'a> {
    target: &'t Target<'a>,
    seeds: &'t [RunConfig],
    objective: Objective,
    deadline: Option<Instant>,
}

impl Minimiser<'_, '_> {
    /// Past the campaign's deadline (or cancelled), what is reduced so far
    /// is saved.
    fn late(&self) -> bool {
        self.target.cancel.is_cancelled() || self.deadline.is_some_and(|d| Instant::now() > d)
    }

    /// `c` judged: the new best when it still shows the objective.
    fn keep_if_shown(&self, best: Judged, c: &RunConfig) -> Judged {
        let j = self.target.judge(c);
        if j.objectives.contains(&self.objective) { j } else { best }
    }

    /// Each changed field reverted to the nearest seed's, in turn.
    fn revert_fields(&self, mut best: Judged, space: &Space) -> Judged {
        let Some((seed, changes)) = best.config.nearest(self.seeds) else { return best };
        let seed = seed.clone();
        // Version axes last: a toolchain change often matters through the
        // settings it allows.
        let mut order = changes;
        order.sort_by_key(|f| matches!(f, Field::Go | Field::GoLine));
        for f in order {
            if self.late() {
                break;
            }
            let mut c = best.config.with_field_of(&f, &seed);
            space.normalize(&mut c);
            if c != best.config {
                best = self.keep_if_shown(best, &c);
            }
        }
        best
    }

    /// Stress and GODEBUG are one field each but several parts
    /// (goroutines, settings): each part that does not matter is reverted
    /// alone, so a finding names the one goroutine or setting it needs.
    /// (Reverting the last part is reverting the field, tried before.)
    fn revert_parts(&self, mut best: Judged) -> Judged {
        let Some((seed, _)) = best.config.nearest(self.seeds) else { return best };
        let seed = seed.clone();
        let mut settings = godebug_settings(&best.config);
        settings.retain(|s| !godebug_settings(&seed).contains(s));
        let parts = (0..crate::stress::Stress::PARTS).map(Ok).chain(settings.into_iter().map(Err));
        for part in parts {
            if self.late() {
                break;
            }
            let mut c = best.config.clone();
            match &part {
                Ok(i) => c.stress = c.stress.with_part_of(*i, &seed.stress),
                Err(setting) => {
                    let kept: Vec<String> = godebug_settings(&c).into_iter().filter(|s| s != setting).collect();
                    c.knobs.godebug = Some(kept.join(",")).filter(|s| !s.is_empty());
                }
            }
            let whole_field = (c.stress != best.config.stress && c.stress == seed.stress)
                || (c.knobs.godebug != best.config.knobs.godebug && c.knobs.godebug == seed.knobs.godebug);
            if c != best.config && !whole_field {
                best = self.keep_if_shown(best, &c);
            }
        }
        best
    }

    /// A numeric axis that still differs (a parameter, or GOGC) is narrowed
    /// towards its default: the value nearest the default that still
    /// shows the objective (a bisection, log-scaled while the values are
    /// far apart; at most 12 judgements) is the boundary, reported. The
    /// saved configuration keeps a margin (halfway between the boundary and
    /// the value found, when that still holds), so a replay does not sit on
    /// the edge, where the noise of a native run decides.
    fn narrow(&self, mut best: Judged) -> (Judged, BTreeMap<String, String>) {
        let mut boundaries = BTreeMap::new();
        let Some((seed, changes)) = best.config.nearest(self.seeds) else { return (best, boundaries) };
        let seed = seed.clone();
        for f in changes {
            let Some(int) = numeric_axis(&f, self.target.pattern) else { continue };
            let (Some(found), Some(mut good)) = (axis_value(&f, &best.config), axis_value(&f, &seed)) else {
                continue;
            };
            let decreasing = found > good;
            let snap = |x: f64, towards_default: bool| match int {
                true if towards_default == decreasing => x.floor(),
                true => x.ceil(),
                false => space::round_sig(x, 3),
            };
            let between = |a: f64, b: f64| {
                let far = a > 0.0 && b > 0.0 && (a / b > 2.0 || b / a > 2.0);
                if far { (a * b).sqrt() } else { (a + b) / 2.0 }
            };
            let mut bad = found;
            let found_judged = best.clone();
            for _ in 0..12 {
                if self.late() {
                    break;
                }
                let mid = snap(between(bad, good), true);
                if mid == bad || mid == good || !mid.is_finite() {
                    break;
                }
                let j = self.target.judge(&with_axis_value(&f, &best.config, mid));
                if j.objectives.contains(&self.objective) {
                    bad = mid;
                    best = j;
                } else {
                    good = mid;
                }
            }
            if bad == found {
                continue;
            }
            boundaries.insert(f.to_string(), crate::template::format_number(bad));
            let margin = snap(between(bad, found), false);
            best = if margin == bad || margin == found {
                found_judged
            } else {
                let c = with_axis_value(&f, &best.config, margin);
                self.keep_if_shown(found_judged, &c)
            };
        }
        (best, boundaries)
    }
}

/// The finding's file names: `<objective>-<hash>` (the hash of the
/// minimised configuration, so the same finding is saved once).
fn finding_stem(f: &Finding) -> String {
    format!("{}-{}", f.objective, f.config.digest())
}

/// Saves a finding as `findings/<objective>-<hash>.yaml` (a valid
/// `--matrix` file with the verdict, the numbers and the replay command in
/// its header) and a `.json` beside it (the judgement in full, for
/// `replay`). Returns `None` when that finding is already saved.
pub fn save(f: &Finding, dir: &Path) -> Result<Option<PathBuf>, crate::errors::IoError> {
    let stem = finding_stem(f);
    let yaml = dir.join(format!("{stem}.yaml"));
    let json = dir.join(format!("{stem}.json"));
    if yaml.exists() && json.exists() {
        return Ok(None);
    }
    let r = &f.result;
    let header = vec![
        format!("gcfuzz finding: {} ({})", f.objective, f.objective.about()),
        format!("pattern {}: {} change(s) from its default configuration: {}", f.pattern, f.changes.len(), f.described),
        format!(
            "boundary: {}",
            if f.boundaries.is_empty() {
                "-".to_string()
            } else {
                f.boundaries
                    .iter()
                    .map(|(k, v)| format!("{k}={v} is the value nearest the default that still shows it"))
                    .collect::<Vec<_>>()
                    .join("; ")
            }
        ),
        format!(
            "verdict {} (the pattern expects {}) on {}",
            r.verdict,
            r.expected.map_or("nothing".to_string(), |v| v.to_string()),
            r.config.describe(crate::cell::View::CASE)
        ),
        format!("numbers: {}", r.explanation),
        format!("found after {} executions; confirmed by a second judgement where the backend is noisy", f.found_after),
        format!("replay: gcfuzz run --matrix {}   (or: gcfuzz replay {})", yaml.display(), dir.display()),
    ];
    write_atomic(&json, &(serde_json::to_string_pretty(f).expect("a finding serializes") + "\n"))?;
    write_atomic(&yaml, f.config.to_yaml(&header))?;
    Ok(Some(yaml))
}

/// One saved finding, judged again.
#[derive(Clone, Debug, Serialize)]
pub struct Replayed {
    /// The finding's YAML file.
    pub path: PathBuf,
    /// The objective it was saved with.
    pub objective: Option<Objective>,
    /// The verdict it was saved with.
    pub saved_verdict: Option<crate::verdict::Verdict>,
    /// The verdict now.
    pub verdict: Option<crate::verdict::Verdict>,
    /// Whether it still shows its objective.
    pub holds: bool,
    /// The finding could not be read (its configuration or its record is
    /// missing or broken): nothing was judged, so nothing is said about
    /// the behaviour.
    pub unreadable: bool,
    /// Why not, or the numbers.
    pub detail: String,
}

impl Replayed {
    /// A finding saved as `flaky` (its objective did not show again before
    /// saving): replayed and reported, but a hint, never a regression, so
    /// not flipping this time does not fail a replay.
    pub fn is_flaky(&self) -> bool {
        self.objective == Some(Objective::Flaky)
    }
}

/// Every finding under `dir` (any depth: `corpus/`, one pattern's folder,
/// or a `findings/` folder), in path order, by its configuration's path
/// (`.yaml`); a record (`.json`) whose configuration is missing is listed
/// by the path the configuration would have, so replay can say so.
pub fn finding_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else { continue };
        for e in rd.filter_map(Result::ok) {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.parent().is_some_and(|d| d.ends_with("findings")) {
                if p.extension().is_some_and(|x| x == "yaml") {
                    out.push(p);
                } else if p.extension().is_some_and(|x| x == "json") && !p.with_extension("yaml").exists() {
                    out.push(p.with_extension("yaml"));
                }
            }
        }
    }
    out.sort();
    out
}

/// How [`replay`] judges.
#[derive(Clone, Debug, Default)]
pub struct ReplayOptions {
    /// Memory cap per run, bytes.
    pub rss_cap: Option<u64>,
    /// Confirm by a second judgement where the backend is noisy.
    pub confirm: bool,
    /// The user's request to stop.
    pub cancel: crate::process::Cancel,
}

/// Re-judges every saved finding under `dir`: a finding holds when its
/// objective is confirmed again. A file that does not read is a finding
/// that does not hold, with why.
pub fn replay(
    dir: &Path,
    all: &[Pattern],
    builder: &dyn Builder,
    backends: &[&dyn Backend],
    how: &ReplayOptions,
    on_done: &mut dyn FnMut(&Replayed),
) -> Vec<Replayed> {
    let ReplayOptions { rss_cap, confirm, cancel } = how;
    let (rss_cap, confirm) = (*rss_cap, *confirm);
    let mut out: Vec<Replayed> = Vec::new();
    for path in finding_files(dir) {
        if cancel.is_cancelled() {
            break;
        }
        let record = path.with_extension("json");
        let saved: Result<Finding, String> = crate::errors::read_config(&record)
            .map_err(|e| e.to_string())
            .and_then(|t| serde_json::from_str(&t).map_err(|e| e.to_string()));
        let unreadable = |detail: String| Replayed {
            path: path.clone(),
            objective: None,
            saved_verdict: None,
            verdict: None,
            holds: false,
            unreadable: true,
            detail,
        };
        let r = match (RunConfig::load(&path, all), &saved) {
            (Err(_), Ok(_)) if !path.exists() => unreadable(format!(
                "only its record {} is here: the configuration beside it is missing",
                record.display()
            )),
            (Err(e), _) => unreadable(e.to_string()),
            (Ok(_), Err(e)) => unreadable(format!("its record {} does not read: {e}", record.display())),
            (Ok(c), Ok(f)) => {
                match (all.iter().find(|p| p.id == c.pattern), backends.iter().find(|b| b.kind() == c.backend)) {
                    (_, None) => Replayed {
                        path: path.clone(),
                        objective: Some(f.objective),
                        saved_verdict: Some(f.result.verdict),
                        verdict: None,
                        holds: false,
                        unreadable: false,
                        detail: format!("no `{}` backend here", c.backend),
                    },
                    (None, _) => Replayed {
                        path: path.clone(),
                        objective: Some(f.objective),
                        saved_verdict: Some(f.result.verdict),
                        verdict: None,
                        holds: false,
                        unreadable: false,
                        detail: format!("no pattern `{}`", c.pattern),
                    },
                    (Some(p), Some(&backend)) => {
                        let mut t = Target::new(p, builder, backend);
                        t.rss_cap = rss_cap;
                        t.cancel = cancel.clone();
                        // One run is proof where runs are deterministic.
                        t.confirm = confirm && !backend.deterministic();
                        let j = t.judge(&c);
                        let holds = j.objectives.contains(&f.objective);
                        let now = j.rerun.as_ref().unwrap_or(&j.first);
                        Replayed {
                            path: path.clone(),
                            objective: Some(f.objective),
                            saved_verdict: Some(f.result.verdict),
                            verdict: Some(now.verdict),
                            holds,
                            unreadable: false,
                            detail: now.error.clone().unwrap_or_else(|| now.explanation.clone()),
                        }
                    }
                }
            }
        };
        on_done(&r);
        out.push(r);
    }
    out
}

#[cfg(test)]
#[path = "tests.rs"]
mod tests;
