//! The behaviour map: what a judged configuration made the runtime do,
//! bucketed, so the fuzzer keeps configurations that reach new states.
//! Each feature of each variant owns [`BUCKETS`] slots; a run sets the one
//! slot its measurement falls in. LibAFL's max-map feedback then calls a
//! configuration interesting when it lights a slot no earlier one did.
//! Pure: a [`CellResult`] in, slot numbers out.

use crate::cell::Role;
use crate::probe::Sample;
use crate::results::CellResult;
use crate::run::RunRecord;
use crate::verdict::Presence;

/// Slots per feature.
pub const BUCKETS: usize = 16;

/// What is measured per variant, in map order.
pub const FEATURES: &[&str] = &[
    "presence",
    "crash-class",
    "gc-cycles-per-round",
    "gc-cpu-share",
    "live-heap-slope",
    "heap-objects-slope",
    "goroutine-slope",
    "fd-slope",
    "rss-slope",
    "counter-rates",
    "symptom-signals",
    "cut",
    "peak-memory",
];

/// How the fuzzer's cap cut a run, if it did: its memory (bucket 0), its
/// time (1: killed at the capped timeout) or its wall clock (2: the probe
/// stopped itself at the capped `max_wall`).
pub fn cut_kind(run: &RunRecord) -> Option<usize> {
    if run.outcome.stop.over_memory().is_some() {
        Some(0)
    } else if run.outcome.stop.timed_out() {
        Some(1)
    } else if run.done.as_ref().is_some_and(|d| d.reason == "wall") {
        Some(2)
    } else {
        None
    }
}

/// The slots of a judgement the fuzzer's cap cut: only how each variant
/// was cut (what it measured is partly the cap's doing), so a heavy
/// region is kept to breed from without its capped numbers posing as
/// behaviour.
pub fn cut_slots(r: &CellResult) -> Vec<usize> {
    let f = FEATURES.iter().position(|x| *x == "cut").expect("a listed feature");
    let mut out: Vec<usize> = Role::BOTH
        .into_iter()
        .enumerate()
        .flat_map(|(vi, role)| {
            r.runs
                .iter()
                .filter(move |run| run.role() == Some(role))
                .filter_map(cut_kind)
                .map(move |kind| vi * FEATURES.len() * BUCKETS + f * BUCKETS + kind)
        })
        .collect();
    out.sort_unstable();
    out.dedup();
    out
}

/// Slots for the pair's verdict, after both variants' features.
const VERDICT_SLOTS: usize = BUCKETS;

/// The map's size.
pub const MAP_SIZE: usize = 2 * FEATURES.len() * BUCKETS + VERDICT_SLOTS;

/// The slots a judged cell lights.
pub fn slots(r: &CellResult) -> Vec<usize> {
    let mut out = Vec::new();
    for (vi, (role, variant)) in [(Role::Buggy, &r.buggy), (Role::Fixed, &r.fixed)].into_iter().enumerate() {
        let base = vi * FEATURES.len() * BUCKETS;
        let at = |feature: &str, bucket: usize| {
            let f = FEATURES.iter().position(|x| *x == feature).expect("a listed feature");
            base + f * BUCKETS + bucket.min(BUCKETS - 1)
        };
        let Some(v) = variant else { continue };
        out.push(at("presence", presence_bucket(v.status)));
        if let Some(c) = &v.crash {
            out.push(at("crash-class", c.class as usize + 1));
        }
        let runs: Vec<&RunRecord> = r.runs.iter().filter(|run| run.role() == Some(role)).collect();
        let series: Vec<&[Sample]> = runs.iter().map(|run| run.samples.as_slice()).collect();
        if let Some(x) = mean_rate(&series, "gc_cycles", "round") {
            out.push(at("gc-cycles-per-round", log2_bucket(x, 0.25)));
        }
        if let (Some(gc), Some(total)) = (mean_delta(&series, "gc_cpu_s"), mean_delta(&series, "total_cpu_s"))
            && total > 0.0
        {
            out.push(at("gc-cpu-share", share_bucket(gc / total)));
        }
        for (feature, metric, unit) in [
            ("live-heap-slope", "heap_live", 4096.0),
            ("heap-objects-slope", "heap_objects", 16.0),
            ("goroutine-slope", "goroutines", 0.5),
            ("fd-slope", "fds", 0.5),
            ("rss-slope", "rss", 65536.0),
        ] {
            if let Some(x) = mean_rate(&series, metric, "round") {
                out.push(at(feature, signed_bucket(x, unit)));
            }
        }
        // Scenario counters (finalizers run, items processed, …): each
        // counter's name picks a slot, a growing one lights it.
        let mut names: Vec<&String> = series.iter().flat_map(|s| s.iter().flat_map(|x| x.counters.keys())).collect();
        names.sort();
        names.dedup();
        for n in names {
            if mean_rate(&series, n, "round").is_some_and(|x| x > 0.0) {
                out.push(at("counter-rates", small_hash(n) % BUCKETS));
            }
        }
        for s in &v.signals {
            if s.status == Presence::Present {
                out.push(at("symptom-signals", small_hash(&s.name) % BUCKETS));
            }
        }
        // The level memory reached, not only how it moved: a run twice as
        // heavy is another place (where garbage-collector bugs grow), and
        // a mutant that gets there is kept to breed from.
        if let Some(peak) = runs.iter().map(|run| run.outcome.peak_rss).max().filter(|&p| p > 0) {
            out.push(at("peak-memory", memory_bucket(peak)));
        }
    }
    let verdict_base = 2 * FEATURES.len() * BUCKETS;
    out.push(verdict_base + (r.verdict as usize).min(VERDICT_SLOTS - 1));
    out.sort_unstable();
    out.dedup();
    out
}

/// Names of the slots, for people (`fixed:gc-cpu-share[5]`).
pub fn slot_name(slot: usize) -> String {
    let per_variant = FEATURES.len() * BUCKETS;
    if slot >= 2 * per_variant {
        return format!("verdict[{}]", slot - 2 * per_variant);
    }
    let variant = if slot < per_variant { Role::Buggy } else { Role::Fixed };
    let s = slot % per_variant;
    format!("{variant}:{}[{}]", FEATURES[s / BUCKETS], s % BUCKETS)
}

/// Peak resident memory in doublings from 16 MiB (bucket 0 up to 32 MiB,
/// 1 up to 64, …).
fn memory_bucket(bytes: u64) -> usize {
    let mib = bytes as f64 / f64::from(1u32 << 20);
    if mib < 32.0 { 0 } else { ((mib / 16.0).log2().floor() as usize).min(BUCKETS - 1) }
}

fn presence_bucket(p: Presence) -> usize {
    match p {
        Presence::Present => 0,
        Presence::Absent => 1,
        Presence::Inconclusive => 2,
        Presence::Crash => 3,
        Presence::Timeout => 4,
    }
}

/// (last − first) of `metric` over (last − first) of `per`, averaged over
/// the trials that have both.
fn mean_rate(series: &[&[Sample]], metric: &str, per: &str) -> Option<f64> {
    let rates: Vec<f64> = series
        .iter()
        .filter_map(|s| {
            let (a, b) = (s.first()?, s.last()?);
            let dy = b.get(metric)? - a.get(metric)?;
            let dx = b.get(per)? - a.get(per)?;
            (dx > 0.0).then(|| dy / dx)
        })
        .filter(|x| x.is_finite())
        .collect();
    (!rates.is_empty()).then(|| rates.iter().sum::<f64>() / rates.len() as f64)
}

fn mean_delta(series: &[&[Sample]], metric: &str) -> Option<f64> {
    let d: Vec<f64> = series.iter().filter_map(|s| Some(s.last()?.get(metric)? - s.first()?.get(metric)?)).collect();
    (!d.is_empty()).then(|| d.iter().sum::<f64>() / d.len() as f64)
}

/// 0 for x ≤ unit, then one bucket per doubling.
fn log2_bucket(x: f64, unit: f64) -> usize {
    if x <= unit { 0 } else { 1 + (x / unit).log2().floor() as usize }
}

/// Flat (|x| < unit) in the middle; growth and shrinkage by powers of 4.
fn signed_bucket(x: f64, unit: f64) -> usize {
    let mid = BUCKETS / 2;
    if x.abs() < unit {
        return mid;
    }
    let k = 1 + ((x.abs() / unit).log2() / 2.0).floor() as usize;
    if x > 0.0 { (mid + k).min(BUCKETS - 1) } else { mid.saturating_sub(k.min(mid)) }
}

/// A share in [0, 1]: finer near 0, where GC cost usually sits.
fn share_bucket(s: f64) -> usize {
    let s = s.clamp(0.0, 1.0);
    if s < 0.001 { 0 } else { (1 + ((s / 0.001).log2()).floor() as usize).min(BUCKETS - 1) }
}

fn small_hash(s: &str) -> usize {
    s.bytes().fold(2166136261u32, |h, b| (h ^ u32::from(b)).wrapping_mul(16777619)) as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_separate_what_matters() {
        assert_eq!(signed_bucket(0.0, 1.0), BUCKETS / 2);
        assert!(signed_bucket(100.0, 1.0) > BUCKETS / 2 && signed_bucket(-100.0, 1.0) < BUCKETS / 2);
        assert_ne!(signed_bucket(10.0, 1.0), signed_bucket(1000.0, 1.0));
        assert_eq!(log2_bucket(0.1, 0.25), 0);
        assert_eq!(log2_bucket(1.0, 0.25), 3);
        assert_eq!(share_bucket(0.0), 0);
        assert!(share_bucket(0.5) > share_bucket(0.05));
        assert!(share_bucket(1.0) < BUCKETS);
        assert_eq!(slot_name(0), "buggy:presence[0]");
        assert_eq!(slot_name(FEATURES.len() * BUCKETS + 2 * BUCKETS + 5), "fixed:gc-cycles-per-round[5]");
        assert_eq!(slot_name(MAP_SIZE - 1), format!("verdict[{}]", BUCKETS - 1));
        let mib = |m: u64| m << 20;
        assert_eq!((memory_bucket(mib(20)), memory_bucket(mib(33)), memory_bucket(mib(70))), (0, 1, 2));
        assert_eq!(memory_bucket(mib(1 << 30)), BUCKETS - 1, "a petabyte stays in the map");
    }
}
