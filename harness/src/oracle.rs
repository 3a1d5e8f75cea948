//! The oracle: from a run's series to per-variant signals, from two
//! variants to a differential verdict, and from the verdict to the pattern's
//! expectation. Pure: no I/O, no clocks.
//!
//! A signal is *present* when its whole 95% interval lies above its
//! threshold, *absent* when the whole interval lies below, and
//! *inconclusive* otherwise. A proportion (events out of trials) whose
//! event never happened is absent whatever the threshold: one use after
//! free in 10,000 reads proves a bug, none proves as much as n trials can. A variant is present when any symptom signal
//! is, absent when all are absent. Every result carries the numbers it was
//! decided on.

use crate::probe::{CRASH_METRIC, Sample};
use crate::run::{CrashClass, RunRecord};
use crate::sequential::{self, Look, Walk};
use crate::stats::{self, Estimate};
use crate::template::{Pattern, Role, Signal, Stat};
use crate::verdict::Presence;
use serde::Serialize;
use std::collections::BTreeMap;

/// One signal's measurement.
#[derive(Clone, Debug, Serialize, serde::Deserialize)]
pub struct SignalResult {
    /// The signal's name.
    pub name: String,
    /// The sample metric or counter it reads (what a report plots).
    #[serde(default)]
    pub metric: String,
    /// Symptom or info.
    pub role: Role,
    /// The estimate and its 95% interval; `None` when it cannot be computed.
    pub estimate: Option<Estimate>,
    /// Unit of the estimate.
    pub unit: String,
    /// The threshold it was compared with.
    pub threshold: f64,
    /// Present, absent or inconclusive.
    pub status: Presence,
    /// Points used (samples for a slope, 2 for a rate).
    pub n: usize,
    /// Mann–Kendall p-value (slopes only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trend_p: Option<f64>,
    /// Why it could not be decided, when it could not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

impl SignalResult {
    /// `3.02 objects/worker [2.98, 3.05] > 1`.
    pub fn describe(&self) -> String {
        let rel = match self.status {
            Presence::Present => ">",
            Presence::Absent => "<",
            _ => "~",
        };
        match &self.estimate {
            Some(e) => format!(
                "{} {} {} [{}, {}] {rel} {}",
                self.name,
                fmt_num(e.value),
                self.unit,
                fmt_num(e.lo),
                fmt_num(e.hi),
                fmt_num(self.threshold)
            ),
            None => format!("{}: {}", self.name, self.note.as_deref().unwrap_or("no estimate")),
        }
    }
}

/// Formats a number with about four significant digits.
pub fn fmt_num(v: f64) -> String {
    if !v.is_finite() {
        return if v.is_nan() {
            "nan".into()
        } else if v > 0.0 {
            "inf".into()
        } else {
            "-inf".into()
        };
    }
    let a = v.abs();
    if a == 0.0 {
        "0".into()
    } else if !(1e-3..1e6).contains(&a) {
        format!("{v:.3e}")
    } else if a >= 100.0 {
        format!("{v:.0}")
    } else if a >= 1.0 {
        format!("{v:.2}")
    } else {
        format!("{v:.4}")
    }
}

/// One variant's result.
#[derive(Clone, Debug, Serialize, serde::Deserialize)]
pub struct VariantResult {
    /// The variant.
    pub variant: String,
    /// What it showed.
    pub status: Presence,
    /// Every signal, symptoms and info.
    pub signals: Vec<SignalResult>,
    /// The crash that decided its status, or (when crashes are the
    /// pattern's symptom) the first one seen.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub crash: Option<crate::run::Crash>,
    /// Trials (processes) run.
    pub trials: usize,
    /// Trials that crashed or hung.
    pub crashed_trials: usize,
    /// Rounds sampled, over all trials.
    pub rounds: usize,
    /// Wall time of the run, ms.
    pub wall_ms: u64,
}

impl VariantResult {
    /// The first symptom signal (the pattern's headline number).
    pub fn headline(&self) -> Option<&SignalResult> {
        self.signals.iter().find(|s| s.role == Role::Symptom)
    }
}

/// One trial (one process) as the oracle sees it.
#[derive(Clone, Copy, Debug)]
pub struct Trial<'a> {
    /// Its samples, in order.
    pub samples: &'a [Sample],
    /// Whether it died of a crash that counts as the symptom.
    pub crashed: bool,
}

/// Measures one signal over the trials of a variant, skipping `warmup`
/// rounds of each.
///
/// - `slope`: Theil–Sen per trial; with several trials the estimate and
///   both interval ends are the medians of the trials' (a robust pooling:
///   trials have different baselines, so their points cannot be mixed).
/// - `rate`: the metric's growth over `per`'s growth, summed over trials;
///   a proportion gets a Wilson interval.
/// - `trials`: the share of trials in which the event happened (the metric
///   `crash`: the trial crashed; a counter: it grew), Wilson interval.
/// - `level`: what the variant keeps (the metric less its value before
///   the first round) over the post-warm-up samples: their median with the
///   sign test's interval, trials pooled by medians.
pub fn measure(signal: &Signal, trials: &[Trial], warmup: u32, threshold: f64) -> SignalResult {
    let mut r = SignalResult {
        name: signal.name.clone(),
        metric: signal.metric.clone(),
        role: signal.role,
        estimate: None,
        unit: signal.unit.clone(),
        threshold,
        status: Presence::Inconclusive,
        n: 0,
        trend_p: None,
        note: None,
    };
    let warm = warmup as i64;
    let measured = match signal.stat {
        Stat::Slope => slope(signal, trials, warm, &mut r),
        Stat::Rate => rate(signal, trials, warm, &mut r),
        Stat::Trials => {
            share_of_trials(signal, trials, &mut r);
            true
        }
        Stat::Level => level(signal, trials, warm, &mut r),
    };
    if !measured {
        return r;
    }
    if signal.per_allocated {
        per_allocated(signal, trials, warm, &mut r);
    }
    if let Some(e) = r.estimate {
        // An event that never happened in n trials is absent; the
        // interval's upper end (reported) says how rare it could still be.
        r.status = status_of(e, threshold, signal.proportion || signal.stat == Stat::Trials);
    }
    r
}

/// `stat: slope` into `r`: a Theil-Sen fit per trial, pooled by medians.
/// False when there is nothing to estimate (the note says why).
fn slope(signal: &Signal, trials: &[Trial], warm: i64, r: &mut SignalResult) -> bool {
    let mut fits = Vec::new();
    for t in trials {
        let pts: Vec<(f64, f64)> = t
            .samples
            .iter()
            .filter(|s| s.round >= warm)
            .filter_map(|s| Some((s.get(&signal.per)?, s.get(&signal.metric)?)))
            .collect();
        r.n += pts.len();
        if pts.len() < 3 {
            r.note = Some(format!("{} usable samples after warm-up; need 3", pts.len()));
            continue;
        }
        let (xs, ys): (Vec<f64>, Vec<f64>) = pts.into_iter().unzip();
        match stats::theil_sen(&xs, &ys) {
            Some(fit) => fits.push(fit),
            None => r.note = Some(format!("`{}` did not change, so no slope per it", signal.per)),
        }
    }
    if fits.is_empty() {
        return false;
    }
    let med = |f: fn(&stats::SlopeFit) -> f64| stats::median(&fits.iter().map(f).collect::<Vec<_>>());
    r.estimate = Some(Estimate {
        value: med(|f| f.slope.value).unwrap_or(f64::NAN),
        lo: med(|f| f.slope.lo).unwrap_or(f64::NAN),
        hi: med(|f| f.slope.hi).unwrap_or(f64::NAN),
    });
    r.trend_p = med(|f| f.trend_p);
    if fits.len() == trials.len() {
        r.note = None;
    }
    true
}

/// `stat: rate` into `r`: the metric's growth over `per`'s from the last
/// warm-up sample (or the baseline) to the end, summed over trials; a
/// proportion gets a Wilson interval. False when there is nothing to
/// estimate.
fn rate(signal: &Signal, trials: &[Trial], warm: i64, r: &mut SignalResult) -> bool {
    let (mut dm, mut dp) = (0.0, 0.0);
    for t in trials {
        let start = t.samples.iter().rev().find(|s| s.round < warm).or(t.samples.first());
        let (Some(a), Some(b)) = (start, t.samples.last()) else { continue };
        let pair =
            (|| Some((b.get(&signal.metric)? - a.get(&signal.metric)?, b.get(&signal.per)? - a.get(&signal.per)?)))();
        if let Some((m, p)) = pair {
            dm += m;
            dp += p;
            r.n += 2;
        }
    }
    if r.n == 0 {
        r.note = Some(format!("`{}` or `{}` missing from the samples", signal.metric, signal.per));
        return false;
    }
    if dp <= 0.0 {
        r.note = Some(format!("`{}` did not grow after warm-up", signal.per));
        return false;
    }
    r.estimate = if signal.proportion {
        stats::wilson(dm.max(0.0) as u64, dp as u64)
    } else {
        let v = dm / dp;
        Some(Estimate { value: v, lo: v, hi: v })
    };
    true
}

/// `stat: level` into `r`: per trial, the metric after each post-warm-up
/// sample less its value in the sample before the first round (what the
/// scenario keeps beyond what it held at the start), the median over
/// those samples with the sign test's interval; trials pooled by the
/// medians of their estimates and ends, as slopes are. False when no
/// trial has a baseline and a post-warm-up sample.
fn level(signal: &Signal, trials: &[Trial], warm: i64, r: &mut SignalResult) -> bool {
    let mut fits = Vec::new();
    for t in trials {
        let Some(base) =
            t.samples.iter().find(|s| s.round < 0).or(t.samples.first()).and_then(|s| s.get(&signal.metric))
        else {
            r.note = Some(format!("`{}` missing from the samples", signal.metric));
            continue;
        };
        let kept: Vec<f64> =
            t.samples.iter().filter(|s| s.round >= warm).filter_map(|s| Some(s.get(&signal.metric)? - base)).collect();
        r.n += kept.len();
        match stats::median_interval(&kept) {
            Some(e) => fits.push(e),
            None => r.note = Some("no sample after warm-up".into()),
        }
    }
    if fits.is_empty() {
        return false;
    }
    let med = |f: fn(&Estimate) -> f64| stats::median(&fits.iter().map(f).collect::<Vec<_>>()).unwrap_or(f64::NAN);
    r.estimate = Some(Estimate { value: med(|e| e.value), lo: med(|e| e.lo), hi: med(|e| e.hi) });
    if fits.len() == trials.len() {
        r.note = None;
    }
    true
}

/// What a threshold over the run names, for one variant's trials:
/// `rounds` (rounds sampled) and each counter's total at the end of the
/// run, the median over trials.
pub fn run_totals(trials: &[Trial]) -> BTreeMap<String, f64> {
    let mut each: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    for t in trials {
        let rounds = t.samples.iter().filter(|s| s.round >= 0).count() as f64;
        each.entry(crate::template::ROUNDS.to_string()).or_default().push(rounds);
        if let Some(last) = t.samples.last() {
            // `rounds` is the run's rounds, even beside a counter of that name.
            for (k, v) in last.counters.iter().filter(|(k, _)| k.as_str() != crate::template::ROUNDS) {
                each.entry(k.clone()).or_default().push(*v as f64);
            }
        }
    }
    each.into_iter().filter_map(|(k, v)| Some((k, stats::median(&v)?))).collect()
}

/// `stat: trials` into `r`: the share of trials in which the event
/// happened (the metric `crash`: the trial crashed; a counter: it grew).
fn share_of_trials(signal: &Signal, trials: &[Trial], r: &mut SignalResult) {
    let events = trials
        .iter()
        .filter(|t| {
            if signal.metric == CRASH_METRIC {
                return t.crashed;
            }
            let first = t.samples.first().and_then(|s| s.get(&signal.metric));
            let last = t.samples.last().and_then(|s| s.get(&signal.metric));
            matches!((first, last), (Some(a), Some(b)) if b > a)
        })
        .count();
    r.n = trials.len();
    r.estimate = stats::wilson(events as u64, trials.len() as u64);
}

/// `per_allocated`: the estimate divided by the bytes allocated per unit
/// of `per` over the same post-warm-up samples (a size-free share); none
/// when nothing was allocated.
fn per_allocated(signal: &Signal, trials: &[Trial], warm: i64, r: &mut SignalResult) {
    let Some(e) = r.estimate else { return };
    let (mut da, mut dp) = (0.0, 0.0);
    for t in trials {
        let start = t.samples.iter().rev().find(|s| s.round < warm).or(t.samples.first());
        if let (Some(a), Some(b)) = (start, t.samples.last())
            && let (Some(a0), Some(a1), Some(p0), Some(p1)) =
                (a.get("alloc_bytes"), b.get("alloc_bytes"), a.get(&signal.per), b.get(&signal.per))
        {
            da += a1 - a0;
            dp += p1 - p0;
        }
    }
    let per_unit = if dp > 0.0 { da / dp } else { 0.0 };
    if per_unit > 0.0 {
        r.estimate = Some(Estimate { value: e.value / per_unit, lo: e.lo / per_unit, hi: e.hi / per_unit });
    } else {
        r.estimate = None;
        r.note = Some("nothing was allocated to normalise by".into());
    }
}

/// Early stopping: whether one run's samples already decide the variant
/// (any symptom present, or every symptom absent). Used while the run
/// streams, at every sample; `nominal_post` is the samples after warm-up
/// the pattern's rounds give, `max_post` the most the run can give.
///
/// A symptom is decided when a look of [`crate::sequential`] says so (the
/// chance of a wrong decision bounded over all looks) *and* the oracle's
/// own status on the same samples agrees (so the run's result is that
/// decision):
/// - a slope: Kendall's `S` of its residuals against the threshold;
/// - a rate (plain, or a proportion with a threshold above 0): the signs
///   of its per-round increments against the threshold;
/// - an event count (a proportion with threshold 0, or `stat: trials`):
///   one event decides presence (the oracle's definition: it cannot be
///   undone); absence, an event that never happened, waits for the
///   nominal samples (as many reads as a whole run);
/// - a level (it may still be filling) and a plain rate whose increments
///   have not decided: at the nominal samples, the oracle's status.
///
/// At exactly the nominal samples the oracle's status also decides a
/// slope: what a run of the pattern's rounds without early stopping would
/// have said. A run that no look decides goes on to its limit, where the
/// oracle reads it as usual.
pub fn decisive(
    pattern: &Pattern,
    params: &BTreeMap<String, String>,
    samples: &[Sample],
    nominal_post: usize,
    max_post: usize,
) -> bool {
    let warm = pattern.run.warmup as i64;
    let post = samples.iter().filter(|s| s.round >= warm).count();
    let at_nominal = post == nominal_post;
    if !pattern.signals.iter().any(|s| s.role == Role::Symptom) {
        // Nothing to decide on: the nominal rounds, as without early stopping.
        return at_nominal;
    }
    let trial = [Trial { samples, crashed: false }];
    let totals = run_totals(&trial);
    let mut all_absent = true;
    for s in pattern.signals.iter().filter(|s| s.role == Role::Symptom) {
        let threshold = s.threshold.resolve_with(params, &totals);
        let status = measure(s, &trial, pattern.run.warmup, threshold).status;
        let look = look(s, samples, warm, threshold, max_post);
        let look = match (look, at_nominal) {
            (Look::Open, true) => match status {
                Presence::Present => Look::Above,
                Presence::Absent => Look::Below,
                _ => Look::Open,
            },
            (l, _) => l,
        };
        match (look, status) {
            (Look::Above, Presence::Present) => return true,
            (Look::Below, Presence::Absent) => {}
            _ => all_absent = false,
        }
    }
    all_absent
}

/// Whether one run's samples show, for good, an event whose one
/// occurrence makes its symptom present: a proportion or `stat: trials`
/// with threshold 0 (or below) that has seen one. No later sample or
/// trial can undo it (the interval's lower end stays above 0), so the
/// variant is present whatever else its runs show: exact, no statistics.
/// The early stop of cells with several trials and of patterns whose
/// symptom is a crash (the sequential rule of [`decisive`] judges one
/// run alone).
pub fn present_for_good(pattern: &Pattern, params: &BTreeMap<String, String>, samples: &[Sample]) -> bool {
    let trial = [Trial { samples, crashed: false }];
    let totals = run_totals(&trial);
    pattern.signals.iter().filter(|s| s.role == Role::Symptom).any(|s| {
        let threshold = s.threshold.resolve_with(params, &totals);
        (s.proportion || s.stat == Stat::Trials)
            && threshold <= 0.0
            && measure(s, &trial, pattern.run.warmup, threshold).status == Presence::Present
    })
}

/// One sequential look at one signal (see [`decisive`]).
fn look(signal: &Signal, samples: &[Sample], warm: i64, threshold: f64, max_post: usize) -> Look {
    if !threshold.is_finite() {
        return Look::Open;
    }
    let post = || samples.iter().filter(|s| s.round >= warm);
    let counts_events = (signal.proportion && threshold <= 0.0) || signal.stat == Stat::Trials;
    if counts_events {
        // One event decides presence; absence waits (the caller's nominal
        // look reads the oracle's status).
        let trial = [Trial { samples, crashed: false }];
        let m = measure(signal, &trial, warm.max(0) as u32, threshold);
        return if m.status == Presence::Present { Look::Above } else { Look::Open };
    }
    match signal.stat {
        Stat::Slope => {
            let pts: Vec<(f64, f64)> =
                post().filter_map(|s| Some((s.get(&signal.per)?, s.get(&signal.metric)?))).collect();
            let threshold = if signal.per_allocated {
                match allocated_per_unit(signal, samples, warm) {
                    Some(u) => threshold * u,
                    None => return Look::Open,
                }
            } else {
                threshold
            };
            let (xs, ys): (Vec<f64>, Vec<f64>) = pts.iter().copied().unzip();
            let path = sequential::kendall_path(&xs, &ys, threshold);
            sequential::boundaries(Walk::Kendall, max_post).first_decision(&path)
        }
        Stat::Rate => {
            // From the last warm-up sample, as the rate itself is measured.
            let start = samples.iter().rposition(|s| s.round < warm).unwrap_or(0);
            let pts: Vec<(f64, f64)> =
                samples[start..].iter().filter_map(|s| Some((s.get(&signal.per)?, s.get(&signal.metric)?))).collect();
            let path = sequential::sign_path(&pts, threshold);
            sequential::boundaries(Walk::Sign, max_post).first_decision(&path)
        }
        Stat::Level | Stat::Trials => Look::Open,
    }
}

/// Bytes allocated per unit of `per` over the post-warm-up samples (what
/// `per_allocated` divides by); `None` when nothing was allocated.
fn allocated_per_unit(signal: &Signal, samples: &[Sample], warm: i64) -> Option<f64> {
    let a = samples.iter().rev().find(|s| s.round < warm).or(samples.first())?;
    let b = samples.last()?;
    let da = b.get("alloc_bytes")? - a.get("alloc_bytes")?;
    let dp = b.get(&signal.per)? - a.get(&signal.per)?;
    (dp > 0.0 && da > 0.0).then(|| da / dp)
}

/// Crash classes that can be a pattern's symptom (`crash_is_symptom`): the
/// program itself died. A hang, the memory cap, a probe error or a bad exit
/// stay harness-level outcomes.
pub fn is_symptom_crash(c: &crate::run::Crash) -> bool {
    matches!(c.class, CrashClass::GoPanic | CrashClass::RuntimeFatal | CrashClass::Signal)
}

/// Whether `run` alone decides its variant's status whatever the trials
/// after it show: a crash that is not the pattern's symptom (a hang, the
/// memory cap, a panic where crashes are not the symptom) decides, and
/// [`evaluate`] reads the first such crash, so later trials cannot change
/// the status (an interruption is not a result and decides nothing).
pub fn decides_alone(pattern: &Pattern, run: &RunRecord) -> bool {
    run.crash
        .as_ref()
        .is_some_and(|c| c.class != CrashClass::Interrupted && !(pattern.crash_is_symptom && is_symptom_crash(c)))
}

/// Whether the trials run so far settle the variant's status whatever the
/// `planned - runs.len()` trials left would show, by the signals alone
/// (exact, no statistics beyond the oracle's own):
/// - a slope or a level, pooled by the medians of the trials' interval
///   ends: more than half of the planned trials with the interval above the
///   threshold keep the median above it (present), more than half below
///   keep it below (absent);
/// - a proportion with threshold 0: one event keeps it present (the
///   oracle's definition), more reads cannot undo it;
/// - `stat: trials`: every number of events the trials left could add
///   gives the same status;
/// - a plain rate, a proportion above 0, or a threshold that names a run
///   total (rounds, a counter): never settled early (more trials move
///   them either way).
///
/// A crash in a trial not run is not seen: the same trade as stopping a
/// run once its samples decide it, made only with early stopping on.
pub fn settled(pattern: &Pattern, params: &BTreeMap<String, String>, runs: &[RunRecord], planned: usize) -> bool {
    if runs.len() >= planned || runs.iter().any(|r| decides_alone(pattern, r)) {
        return true;
    }
    let symptom_crash = |r: &RunRecord| pattern.crash_is_symptom && r.crash.as_ref().is_some_and(is_symptom_crash);
    let trials: Vec<Trial> = runs.iter().map(|r| Trial { samples: &r.samples, crashed: symptom_crash(r) }).collect();
    let mut all_absent = true;
    for s in pattern.signals.iter().filter(|s| s.role == Role::Symptom) {
        let threshold = match &s.threshold {
            crate::template::Threshold::Scaled { param, .. } if !params.contains_key(param) => None,
            t => Some(t.resolve_with(params, &BTreeMap::new())),
        };
        match threshold.and_then(|t| settled_signal(s, &trials, planned, pattern.run.warmup, t)) {
            Some(Presence::Present) => return true,
            Some(Presence::Absent) => {}
            _ => all_absent = false,
        }
    }
    all_absent
}

/// One signal's status if the trials left cannot change it (see [`settled`]).
fn settled_signal(signal: &Signal, trials: &[Trial], planned: usize, warmup: u32, threshold: f64) -> Option<Presence> {
    if !threshold.is_finite() {
        return None;
    }
    match signal.stat {
        Stat::Slope | Stat::Level if !signal.per_allocated => {
            let need = planned / 2 + 1;
            let (mut above, mut below) = (0, 0);
            for t in trials {
                if let Some(e) = measure(signal, std::slice::from_ref(t), warmup, threshold).estimate {
                    above += usize::from(e.lo > threshold);
                    below += usize::from(e.hi < threshold);
                }
            }
            if above >= need {
                Some(Presence::Present)
            } else if below >= need {
                Some(Presence::Absent)
            } else {
                None
            }
        }
        Stat::Rate if signal.proportion && threshold <= 0.0 => {
            let m = measure(signal, trials, warmup, threshold);
            (m.status == Presence::Present).then_some(Presence::Present)
        }
        Stat::Trials => {
            let m = measure(signal, trials, warmup, threshold);
            let events = (m.estimate?.value * trials.len() as f64).round() as u64;
            let left = (planned - trials.len()) as u64;
            let statuses: Vec<Presence> = (0..=left)
                .map(|j| {
                    let e = stats::wilson(events + j, planned as u64);
                    e.map_or(Presence::Inconclusive, |e| status_of(e, threshold, true))
                })
                .collect();
            let first = statuses[0];
            (first != Presence::Inconclusive && statuses.iter().all(|s| *s == first)).then_some(first)
        }
        _ => None,
    }
}

/// A signal's status from its estimate: present when the whole interval
/// lies above the threshold, absent when below; an event that never
/// happened (`counts_events`, value 0) is absent.
fn status_of(e: Estimate, threshold: f64, counts_events: bool) -> Presence {
    if counts_events && e.value == 0.0 {
        Presence::Absent
    } else if e.lo > threshold {
        Presence::Present
    } else if e.hi < threshold {
        Presence::Absent
    } else {
        Presence::Inconclusive
    }
}

/// Evaluates one variant's trials against the pattern's signals.
pub fn evaluate(
    pattern: &Pattern,
    params: &BTreeMap<String, String>,
    variant: &str,
    runs: &[RunRecord],
) -> VariantResult {
    let symptom_crash = |r: &RunRecord| pattern.crash_is_symptom && r.crash.as_ref().is_some_and(is_symptom_crash);
    let trials: Vec<Trial> = runs.iter().map(|r| Trial { samples: &r.samples, crashed: symptom_crash(r) }).collect();
    let totals = run_totals(&trials);
    let signals: Vec<SignalResult> = pattern
        .signals
        .iter()
        .map(|s| measure(s, &trials, pattern.run.warmup, s.threshold.resolve_with(params, &totals)))
        .collect();
    // A crash that is not the symptom decides; a hang before anything else.
    let other_crash =
        runs.iter().filter_map(|r| r.crash.as_ref()).find(|c| !(pattern.crash_is_symptom && is_symptom_crash(c)));
    let status = match other_crash {
        Some(c) if c.class == CrashClass::Timeout => Presence::Timeout,
        Some(_) => Presence::Crash,
        None => {
            let symptoms: Vec<Presence> =
                signals.iter().filter(|s| s.role == Role::Symptom).map(|s| s.status).collect();
            if symptoms.contains(&Presence::Present) {
                Presence::Present
            } else if symptoms.iter().all(|s| *s == Presence::Absent) {
                Presence::Absent
            } else {
                Presence::Inconclusive
            }
        }
    };
    let crash = other_crash.or_else(|| runs.iter().find_map(|r| r.crash.as_ref())).cloned();
    VariantResult {
        variant: variant.to_string(),
        status,
        signals,
        crash,
        trials: runs.len(),
        crashed_trials: runs.iter().filter(|r| r.crash.is_some()).count(),
        rounds: runs.iter().map(|r| r.samples.iter().filter(|s| s.round >= 0).count()).sum(),
        wall_ms: runs.iter().map(|r| r.outcome.wall_ms).sum(),
    }
}

#[cfg(test)]
mod tests;
