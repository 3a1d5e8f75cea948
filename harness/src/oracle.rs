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

use crate::probe::Sample;
use crate::run::{CrashClass, RunRecord};
use crate::stats::{self, Estimate};
use crate::template::{Pattern, Role, Signal, Stat};
use crate::verdict::Presence;
use serde::Serialize;
use std::collections::BTreeMap;

/// One signal's measurement.
#[derive(Clone, Debug, Serialize)]
pub struct SignalResult {
    /// The signal's name.
    pub name: String,
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
#[derive(Clone, Debug, Serialize)]
pub struct VariantResult {
    /// The variant.
    pub variant: String,
    /// What it showed.
    pub status: Presence,
    /// Every signal, symptoms and info.
    pub signals: Vec<SignalResult>,
    /// The crash, if it crashed or hung.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub crash: Option<crate::run::Crash>,
    /// Rounds sampled.
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

/// Measures one signal over a run's samples, skipping `warmup` rounds.
pub fn measure(signal: &Signal, samples: &[Sample], warmup: u32, threshold: f64) -> SignalResult {
    let mut r = SignalResult {
        name: signal.name.clone(),
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
    match signal.stat {
        Stat::Slope => {
            let pts: Vec<(f64, f64)> = samples
                .iter()
                .filter(|s| s.round >= warm)
                .filter_map(|s| Some((s.get(&signal.per)?, s.get(&signal.metric)?)))
                .collect();
            r.n = pts.len();
            if pts.len() < 3 {
                r.note = Some(format!("{} usable samples after warm-up; need 3", pts.len()));
                return r;
            }
            let (xs, ys): (Vec<f64>, Vec<f64>) = pts.into_iter().unzip();
            match stats::theil_sen(&xs, &ys) {
                Some(fit) => {
                    r.estimate = Some(fit.slope);
                    r.trend_p = Some(fit.trend_p);
                }
                None => r.note = Some(format!("`{}` did not change, so no slope per it", signal.per)),
            }
        }
        Stat::Rate => {
            // From the last warm-up sample (or the baseline) to the end.
            let start = samples.iter().rev().find(|s| s.round < warm).or(samples.first());
            let end = samples.last();
            let (Some(a), Some(b)) = (start, end) else {
                r.note = Some("no samples".into());
                return r;
            };
            let pair = (|| {
                Some((b.get(&signal.metric)? - a.get(&signal.metric)?, b.get(&signal.per)? - a.get(&signal.per)?))
            })();
            let Some((dm, dp)) = pair else {
                r.note = Some(format!("`{}` or `{}` missing from the samples", signal.metric, signal.per));
                return r;
            };
            r.n = 2;
            if dp <= 0.0 {
                r.note = Some(format!("`{}` did not grow after warm-up", signal.per));
                return r;
            }
            r.estimate = if signal.proportion {
                stats::wilson(dm.max(0.0) as u64, dp as u64)
            } else {
                let v = dm / dp;
                Some(Estimate { value: v, lo: v, hi: v })
            };
        }
    }
    if let Some(e) = r.estimate {
        r.status = if signal.proportion && e.value == 0.0 {
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

/// Evaluates one variant's run against the pattern's signals.
pub fn evaluate(
    pattern: &Pattern,
    params: &BTreeMap<String, String>,
    variant: &str,
    record: &RunRecord,
) -> VariantResult {
    let signals: Vec<SignalResult> = pattern
        .signals
        .iter()
        .map(|s| measure(s, &record.samples, pattern.run.warmup, s.threshold.resolve(params)))
        .collect();
    let status = match &record.crash {
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
    VariantResult {
        variant: variant.to_string(),
        status,
        signals,
        crash: record.crash.clone(),
        rounds: record.samples.iter().filter(|s| s.round >= 0).count(),
        wall_ms: record.outcome.wall_ms,
    }
}

#[cfg(test)]
mod tests;
