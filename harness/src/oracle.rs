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
        let counts_events = signal.proportion || signal.stat == Stat::Trials;
        r.status = if counts_events && e.value == 0.0 {
            // An event that never happened in n trials is absent; the
            // interval's upper end (reported) says how rare it could still be.
            Presence::Absent
        } else if e.lo > threshold {
            Presence::Present
        } else if e.hi < threshold {
            Presence::Absent
        } else {
            Presence::Inconclusive
        };
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
/// (any symptom present, or every symptom absent), once at least
/// `min_post` samples after warm-up are in. Used while the run streams.
///
/// A plain rate (no proportion) has no interval to say how sure it is: a
/// pattern with such a symptom is decided no sooner than its `nominal_post`
/// samples (measured: Bug 11's GC CPU share over five rounds made one run
/// in ten of the fixed variant look present).
pub fn decisive(
    pattern: &Pattern,
    params: &BTreeMap<String, String>,
    samples: &[Sample],
    min_post: usize,
    nominal_post: usize,
) -> bool {
    let warm = pattern.run.warmup as i64;
    // A level may still be filling: like a plain rate it has no early
    // word on absence, so it waits for the nominal samples too.
    let blind = pattern
        .signals
        .iter()
        .any(|s| s.role == Role::Symptom && ((s.stat == Stat::Rate && !s.proportion) || s.stat == Stat::Level));
    let needed = if blind { min_post.max(nominal_post) } else { min_post };
    if samples.iter().filter(|s| s.round >= warm).count() < needed {
        return false;
    }
    let trial = [Trial { samples, crashed: false }];
    let totals = run_totals(&trial);
    let statuses: Vec<Presence> = pattern
        .signals
        .iter()
        .filter(|s| s.role == Role::Symptom)
        .map(|s| measure(s, &trial, pattern.run.warmup, s.threshold.resolve_with(params, &totals)).status)
        .collect();
    statuses.contains(&Presence::Present) || statuses.iter().all(|s| *s == Presence::Absent)
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
