//! Judging one cell: a pattern's buggy and fixed variants built for the
//! cell's configuration, run through a backend, measured by the oracle,
//! compared (the differential verdict) and held against the pattern's
//! expectation. [`judge`] is the one way a cell is judged: the campaign
//! calls it for every cell of a plan, a fuzzer's executor for every
//! configuration it tries. It needs no journal, no output folder and no
//! progress channel; [`Options`] has optional hooks for those.
//!
//! A build or a run that cannot happen is recorded in the result
//! (`error`), never returned as an `Err`: one bad cell does not stop a run.

use crate::build::{BuildKey, Builder, scenario_name};
use crate::cell::CellConfig;
use crate::oracle::{self, VariantResult};
use crate::process::Cancel;
use crate::results::CellResult;
use crate::run::{Backend, RunRecord, RunSpec, StopRule};
use crate::template::{Pattern, Role, Variant};
use crate::verdict::{Presence, Verdict};
use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

/// Called as each run ends: (variant, trial, the run). The campaign
/// journals runs through it.
pub type RunHook<'a> = dyn Fn(&str, u32, &RunRecord) + Sync + 'a;

/// How to judge, beyond the cell itself. The default judges plainly: no
/// memory cap beyond the pattern's, no early stopping, no detectors, no
/// evidence, no hook.
#[derive(Clone, Copy, Default)]
pub struct Options<'a> {
    /// Memory cap per run, bytes (the lower of this and the pattern's
    /// `max_rss_mib` applies).
    pub rss_cap: Option<u64>,
    /// Stop a run once its streamed samples decide it, and let an undecided
    /// one go on up to twice its rounds (single-trial patterns whose
    /// symptom is not a crash).
    pub early_stop: bool,
    /// Also ask the detectors (go vet, the runtime's checks).
    pub detectors: bool,
    /// An output folder: every run writes a heap profile, and a cell whose
    /// fix fails or whose verdict is unexpected keeps its profiles and
    /// stderr under `evidence/` there.
    pub evidence: Option<&'a Path>,
    /// Called as each run ends (not for a run cut short by an interrupt).
    pub on_run: Option<&'a RunHook<'a>>,
    /// Stops the judgement (its runs killed, no trial started) when
    /// cancelled; none: never.
    pub cancel: Option<&'a Cancel>,
}

impl Options<'_> {
    /// Whether the judgement was asked to stop.
    pub fn cancelled(&self) -> bool {
        self.cancel.is_some_and(Cancel::is_cancelled)
    }
}

/// Judges `cell` of `pattern`: builds its program with `builder` (for
/// `backend`'s target), runs both variants on `backend`, and returns the
/// result with both variants' records, signals, verdict and expectation.
///
/// With early stopping and an evidence folder, a cell that keeps evidence
/// (its fix fails or its verdict is unexpected) and had a run stopped early
/// is judged once more at its full rounds: a run stopped early is killed
/// before it writes its heap profile, and evidence should come from whole
/// runs. That second judgement is the cell's result.
pub fn judge(
    pattern: &Pattern,
    cell: &CellConfig,
    builder: &dyn Builder,
    backend: &dyn Backend,
    opts: &Options,
) -> CellResult {
    let first = judge_once(pattern, cell, builder, backend, opts);
    let cut = first.runs.iter().any(|r| r.outcome.stop.stopped_early());
    if opts.evidence.is_some() && cut && needs_evidence(&first) && !opts.cancelled() {
        return judge_once(pattern, cell, builder, backend, &Options { early_stop: false, ..*opts });
    }
    first
}

/// A variant's run: its program, the cell's parameters, knobs (the
/// variant's own over the cell's, relative limits resolved against the
/// live set), limits and stress. Else (explanation, error).
fn variant_spec(
    pattern: &Pattern,
    cell: &CellConfig,
    v: &Variant,
    artifact: &crate::build::Artifact,
    opts: &Options,
    early: bool,
    stop_when: &Option<StopRule>,
) -> Result<RunSpec, (String, String)> {
    let knobs = cell
        .knobs
        .overlay(&v.env)
        .resolve_relative(pattern.live_mib(&cell.params))
        .map_err(|e| (format!("not run: {e}"), e))?;
    let program = artifact
        .program(&scenario_name(pattern, v))
        .map_err(|e| ("not run: the build has no program for it".to_string(), e.to_string()))?;
    Ok(RunSpec {
        program,
        scenario: scenario_name(pattern, v),
        params: cell.params.clone(),
        knobs,
        rounds: if early { cell.rounds * 2 } else { cell.rounds },
        gc_per_sample: pattern.run.gc_per_sample,
        max_wall: Duration::from_secs_f64(pattern.run.max_wall_s),
        timeout: Duration::from_secs_f64(pattern.run.timeout_s),
        rss_cap: match (opts.rss_cap, pattern.run.max_rss_mib) {
            (Some(a), Some(b)) => Some(a.min(b << 20)),
            (a, b) => a.or(b.map(|b| b << 20)),
        },
        extra_args: {
            let mut a = cell.stress.args();
            if pattern.run.settle == crate::template::Settle::Finalizers {
                a.push("-settle".into());
            }
            if pattern.params.iter().any(|p| p.kind == crate::template::ParamType::Work) {
                a.extend(["-calibrate-rounds".into(), pattern.run.warmup.to_string()]);
            }
            a
        },
        stop_when: stop_when.clone(),
        seed: 0,
        cancel: opts.cancel.cloned().unwrap_or_default(),
    })
}

/// Why a variant's trials did not all run.
enum Stopped {
    /// Cancelled between trials: the runs so far (the cell is not done;
    /// the campaign does not record it, `--resume` reruns it).
    Interrupted(Vec<RunRecord>),
    /// A run could not happen.
    Failed { explanation: String, error: String },
}

/// A variant's trials, each with its own seed (both variants' trial k
/// share one), a heap profile into `scratch` when evidence is kept, and
/// the hook called as each run ends. Trials stop early only when the rest
/// cannot change the variant's status: a crash that is not the symptom
/// ([`oracle::decides_alone`]) always, and with early stopping on
/// (`settle`: the cell's parameters) signals the trials left cannot move
/// ([`oracle::settled`]); the result then counts the trials run.
#[allow(clippy::too_many_arguments, reason = "a private step of judge_once: each argument is one of its locals")]
fn run_trials(
    pattern: &Pattern,
    spec: &RunSpec,
    name: &str,
    settle: Option<&std::collections::BTreeMap<String, String>>,
    trials: u32,
    backend: &dyn Backend,
    opts: &Options,
    scratch: Option<&tempfile::TempDir>,
) -> Result<Vec<RunRecord>, Stopped> {
    let mut records = Vec::new();
    for trial in 0..trials {
        if opts.cancelled() {
            return Err(Stopped::Interrupted(records));
        }
        let mut spec = spec.clone();
        spec.seed = trial_seed(trial);
        if let Some(scratch) = scratch {
            spec.extra_args.push("-heapprofile".into());
            spec.extra_args.push(scratch.path().join(format!("{name}-t{trial}.pprof")).display().to_string());
        }
        match backend.run(&spec) {
            Ok(rec) => {
                if !rec.outcome.stop.interrupted()
                    && let Some(hook) = opts.on_run
                {
                    hook(name, trial, &rec);
                }
                let decided = oracle::decides_alone(pattern, &rec);
                records.push(rec);
                if decided || settle.is_some_and(|p| oracle::settled(pattern, p, &records, trials as usize)) {
                    break;
                }
            }
            Err(e) => {
                let source = std::error::Error::source(&e).map(|s| s.to_string()).unwrap_or_default();
                return Err(Stopped::Failed { explanation: format!("not run: {e}"), error: format!("{e}: {source}") });
            }
        }
    }
    Ok(records)
}

/// Whether a judged cell keeps evidence: its fix fails (the fixed variant
/// shows the symptom, crashes or hangs) or its verdict is unexpected.
fn needs_evidence(r: &CellResult) -> bool {
    let fix_fails =
        r.fixed.as_ref().is_some_and(|f| matches!(f.status, Presence::Present | Presence::Crash | Presence::Timeout));
    fix_fails || !r.met
}

fn judge_once(
    pattern: &Pattern,
    cell: &CellConfig,
    builder: &dyn Builder,
    backend: &dyn Backend,
    opts: &Options,
) -> CellResult {
    let mut result = skeleton(pattern, cell);
    let scenarios: Vec<(&Pattern, &Variant)> = pattern.judged().map(|v| (pattern, v)).collect();
    let artifact = match builder.build(&BuildKey::for_cell(cell, backend.target()), &scenarios) {
        Ok(a) => a,
        Err(e) => {
            let e = e.to_string();
            // The whole message: the compiler's output is what a reader of
            // the JSON or the JUnit report needs (capped: a broken build
            // can print megabytes).
            result.error = Some(format!("build failed: {}", cap_text(&e, ERROR_CAP)));
            result.explanation = "not run: the build failed".into();
            return result;
        }
    };
    // Heap profiles land here; only a cell that needs them keeps them.
    let scratch = opts.evidence.and_then(|dir| {
        std::fs::create_dir_all(dir).ok()?;
        tempfile::Builder::new().prefix(".scratch-").tempdir_in(dir).ok()
    });
    // One run decides a single-trial cell whose symptom is not a crash:
    // the sequential rule, and an undecided run may go on (`early`). Other
    // cells stop a run only on an event that makes the variant present for
    // good, at their nominal rounds.
    let early = opts.early_stop && cell.trials == 1 && !pattern.crash_is_symptom;
    result.early_stop = early;
    let (p, params) = (pattern.clone(), cell.params.clone());
    let stop_when = if early {
        let nominal_post = cell.rounds.saturating_sub(pattern.run.warmup) as usize;
        // The run's limit with early stopping (see `variant_spec`).
        let max_post = (2 * cell.rounds).saturating_sub(pattern.run.warmup) as usize;
        Some(StopRule(std::sync::Arc::new(move |samples: &[crate::probe::Sample]| {
            oracle::decisive(&p, &params, samples, nominal_post, max_post)
        })))
    } else if opts.early_stop {
        Some(StopRule(std::sync::Arc::new(move |samples: &[crate::probe::Sample]| {
            oracle::present_for_good(&p, &params, samples)
        })))
    } else {
        None
    };
    let mut variants = Vec::new();
    let mut specs = Vec::new();
    for (_, v) in &scenarios {
        let name = v.name.as_str();
        let spec = match variant_spec(pattern, cell, v, &artifact, opts, early, &stop_when) {
            Ok(spec) => spec,
            Err((explanation, error)) => {
                result.explanation = explanation;
                result.error = Some(error);
                return result;
            }
        };
        let settle = opts.early_stop.then_some(&cell.params);
        let records = match run_trials(pattern, &spec, name, settle, cell.trials, backend, opts, scratch.as_ref()) {
            Ok(records) => records,
            Err(Stopped::Interrupted(records)) => {
                result.explanation = "not run to the end: gcfuzz was interrupted".into();
                result.runs.extend(records);
                return result;
            }
            Err(Stopped::Failed { explanation, error }) => {
                result.explanation = explanation;
                result.error = Some(error);
                return result;
            }
        };
        variants.push(oracle::evaluate(pattern, &cell.params, name, &records));
        result.runs.extend(records);
        specs.push(spec);
    }
    if opts.detectors {
        let cx = crate::detect::Context { builder, artifact: &artifact, backend, specs: [&specs[0], &specs[1]] };
        result.detectors = crate::detect::run_all(&cx, pattern, &pattern.detectors);
    }
    let fixed = variants.pop().expect("two variants");
    let buggy = variants.pop().expect("two variants");
    result.verdict = Verdict::from_pair(buggy.status, fixed.status);
    result.met = result.expected == Some(result.verdict);
    result.explanation = explain(&buggy, &fixed);
    result.buggy = Some(buggy);
    result.fixed = Some(fixed);
    if let (Some(dir), Some(scratch)) = (opts.evidence, &scratch)
        && needs_evidence(&result)
    {
        result.evidence = keep_evidence(dir, scratch.path(), &result);
    }
    result
}

/// The most of a build error a cell keeps, bytes.
pub const ERROR_CAP: usize = 16 << 10;

/// `text`, cut at `cap` bytes (on a character boundary) with a note.
fn cap_text(text: &str, cap: usize) -> String {
    if text.len() <= cap {
        return text.to_string();
    }
    let mut end = cap;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}\n… ({} more bytes cut)", &text[..end], text.len() - end)
}

/// The seed of trial `k` (where the backend seeds the program's random
/// sources): fixed, so a plan replays bit for bit, and distinct per trial,
/// so trials sample different hash seeds and random streams.
pub fn trial_seed(k: u32) -> u64 {
    // SplitMix64's increment: well-spread seeds from small integers.
    0x9E37_79B9_7F4A_7C15u64.wrapping_mul(u64::from(k) + 1)
}

/// Holds a cell judged earlier (resumed from a journal) to the pattern's
/// expectation as it reads now: an `expect:` edited between a run and its
/// resume applies to every cell of the table, not only to those run since.
pub fn expect_again(p: &Pattern, cell: &CellConfig, r: &mut CellResult) {
    let expectation =
        p.expectation(cell.go, cell.go_line, &cell.knobs, cell.goexperiment.as_deref(), cell.backend.name());
    r.expected = expectation.map(|e| e.verdict);
    r.why = expectation.map(|e| e.why.clone()).unwrap_or_default();
    r.met = r.error.is_none() && r.expected == Some(r.verdict);
}

/// A cell's result before anything ran: its identity and expectation.
/// The result of a cell the plan left out: the verdict `skipped`, the
/// reason as its explanation, nothing expected (so never a failure).
pub fn skipped(p: &Pattern, s: &crate::matrix::Skipped) -> CellResult {
    let mut r = skeleton(p, &s.cell);
    r.verdict = Verdict::Skipped;
    r.expected = None;
    r.why = String::new();
    r.met = true;
    r.explanation = format!("not run: {}", s.reason);
    r
}

fn skeleton(p: &Pattern, cell: &CellConfig) -> CellResult {
    let expectation =
        p.expectation(cell.go, cell.go_line, &cell.knobs, cell.goexperiment.as_deref(), cell.backend.name());
    CellResult {
        cell: cell.id(),
        config: cell.clone(),
        seed_bug: p.seed_bug,
        early_stop: false,
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
    }
}

/// Moves a cell's heap profiles out of `scratch` and writes each run's
/// stderr beside them, in `evidence/<cell>/` under the output folder;
/// returns the files' paths relative to that folder.
fn keep_evidence(out: &Path, scratch: &Path, r: &CellResult) -> Vec<String> {
    let rel = Path::new("evidence").join(r.config.slug());
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

/// One line: each variant's status and its deciding numbers.
fn explain(buggy: &VariantResult, fixed: &VariantResult) -> String {
    let one = |v: &VariantResult| -> String {
        match (&v.crash, v.status) {
            (Some(c), Presence::Crash | Presence::Timeout) => format!("{}: {} ({})", v.variant, v.status, c.message),
            _ => {
                let decisive: Vec<String> = v
                    .signals
                    .iter()
                    .filter(|s| s.role == Role::Symptom)
                    .filter(|s| v.status != Presence::Present || s.status == Presence::Present)
                    .map(|s| s.describe())
                    .collect();
                format!("{}: {} ({})", v.variant, v.status, decisive.join("; "))
            }
        }
    };
    format!("{}; {}", one(buggy), one(fixed))
}
