//! `bench.txt`: results in Go's benchmark format (golang.org/design/14313),
//! so `benchstat` compares two result sets (`benchstat old/bench.txt
//! new/bench.txt`) or the variants of one (`benchstat -col /variant
//! bench.txt`).
//!
//! One line per run (process):
//!
//! ```text
//! BenchmarkGCFuzz/pattern=15-ticker-not-stopped/go=1.22.10/line=1.22/GOGC=50/variant=buggy  40  1.2e+06 ns/round  3.0e+03 heap-B/round  …
//! ```
//!
//! The name's `/key=value` parts are benchstat's sub-benchmark keys; the
//! count is the rounds the run sampled. Every line carries run-level
//! numbers read off its series (round time, heap growth per round by
//! Theil–Sen, allocation and GC cycles per round, GC's share of CPU,
//! goroutines at the end, peak RSS). The first trial's line also carries
//! the variant's signal estimates (pooled over trials by the oracle), so
//! they count once and never as a spread of identical values.

use crate::results::CellResult;
use crate::run::RunRecord;
use std::fmt::Write as _;

/// A name part: no spaces (they end the name) and no slashes (they
/// separate parts).
fn clean(s: &str) -> String {
    s.chars().map(|c| if c.is_whitespace() || c == '/' { '_' } else { c }).collect()
}

/// The benchmark name of a cell's variant.
pub fn name(r: &CellResult, variant: &str) -> String {
    r.config.bench_name(variant)
}

/// Run-level numbers from a run's samples: `(value, unit)` pairs.
pub fn run_metrics(run: &RunRecord) -> Vec<(f64, &'static str)> {
    let samples: Vec<&crate::probe::Sample> = run.samples.iter().filter(|s| s.round >= 0).collect();
    let mut m = Vec::new();
    let series =
        |key: &str| -> Vec<(f64, f64)> { samples.iter().filter_map(|s| Some((s.round as f64, s.get(key)?))).collect() };
    let first_last = |key: &str| {
        let first = run.samples.first().and_then(|s| s.get(key))?;
        let last = run.samples.last().and_then(|s| s.get(key))?;
        Some((first, last))
    };
    let rounds = samples.len() as f64;
    let round_ns = series("round_ns");
    if !round_ns.is_empty() {
        m.push((round_ns.iter().map(|p| p.1).sum::<f64>() / round_ns.len() as f64, "ns/round"));
    }
    let heap = series("heap_live");
    let (xs, ys): (Vec<f64>, Vec<f64>) = heap.into_iter().unzip();
    if let Some(fit) = crate::stats::theil_sen(&xs, &ys) {
        m.push((fit.slope.value, "heap-B/round"));
    }
    if rounds > 0.0 {
        if let Some((a, b)) = first_last("alloc_bytes") {
            m.push(((b - a) / rounds, "alloc-B/round"));
        }
        if let Some((a, b)) = first_last("gc_cycles") {
            m.push(((b - a) / rounds, "gc/round"));
        }
        // wasm: the exact instruction count, per round.
        if let Some((a, b)) = first_last("fuel") {
            m.push(((b - a) / rounds, "fuel/round"));
        }
    }
    if let (Some((g0, g1)), Some((t0, t1))) = (first_last("gc_cpu_s"), first_last("total_cpu_s"))
        && t1 > t0
    {
        m.push(((g1 - g0) / (t1 - t0), "gc-cpu-frac"));
    }
    if let Some(g) = run.samples.last().and_then(|s| s.get("goroutines")) {
        m.push((g, "goroutines"));
    }
    if run.outcome.peak_rss > 0 {
        m.push((run.outcome.peak_rss as f64, "peak-RSS-B"));
    }
    m.retain(|(v, _)| v.is_finite());
    m
}

/// A unit without spaces, named after the signal: `leaked_objects:objects/worker`.
fn signal_unit(name: &str, unit: &str) -> String {
    let unit: String = unit.chars().map(|c| if c.is_whitespace() { '_' } else { c }).collect();
    format!("{}:{unit}", clean(name))
}

/// The whole file.
pub fn bench(results: &[CellResult]) -> String {
    let mut out = String::from("goos: linux\ngoarch: ");
    out.push_str(std::env::consts::ARCH);
    out.push_str("\npkg: gcfuzz\n");
    let mut backend = None;
    for r in results.iter().filter(|r| r.error.is_none()) {
        if backend != Some(r.config.backend) {
            backend = Some(r.config.backend);
            let backend = r.config.backend;
            let _ = writeln!(out, "backend: {backend}");
        }
        for v in [&r.buggy, &r.fixed].into_iter().flatten() {
            let runs: Vec<&RunRecord> = r.runs.iter().filter(|run| run.variant() == v.variant).collect();
            for (trial, run) in runs.iter().enumerate() {
                let rounds = run.samples.iter().filter(|s| s.round >= 0).count();
                let metrics = run_metrics(run);
                if rounds == 0 || metrics.is_empty() {
                    continue; // died before its first round: nothing to compare
                }
                let mut line = format!("{}\t{rounds}", name(r, &v.variant));
                for (value, unit) in metrics {
                    let _ = write!(line, "\t{value} {unit}");
                }
                if trial == 0 {
                    for s in &v.signals {
                        if let Some(e) = s.estimate.filter(|e| e.value.is_finite()) {
                            let _ = write!(line, "\t{} {}", e.value, signal_unit(&s.name, &s.unit));
                        }
                    }
                }
                out.push_str(&line);
                out.push('\n');
            }
        }
    }
    out
}

/// Checks a benchmark line against the format: `Benchmark` + a name that does not start with
/// a lower-case letter, a count, then value–unit pairs, by whitespace.
pub fn check_line(line: &str) -> Result<(), String> {
    let fields: Vec<&str> = line.split_whitespace().collect();
    let name = fields.first().ok_or("empty")?;
    let rest = name.strip_prefix("Benchmark").ok_or("no Benchmark prefix")?;
    if rest.starts_with(|c: char| c.is_lowercase()) {
        return Err("name starts lower-case".into());
    }
    fields.get(1).ok_or("no count")?.parse::<u64>().map_err(|e| format!("count: {e}"))?;
    let pairs = &fields[2..];
    if pairs.is_empty() || !pairs.len().is_multiple_of(2) {
        return Err(format!("{} fields after the count, want value–unit pairs", pairs.len()));
    }
    for p in pairs.chunks(2) {
        p[0].parse::<f64>().map_err(|e| format!("value `{}`: {e}", p[0]))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_keep_keys_and_lose_spaces_and_slashes() {
        let json = serde_json::json!({
            "pattern": "15-ticker", "seed_bug": 15, "go": "1.22.10", "go_line": "1.22",
            "knobs": {"GOGC": "50", "GODEBUG": "asynctimerchan=1"}, "stress": {"gc_ms": 10.0},
            "params": {}, "overrides": {"n": "a b/c"}, "backend": "native", "buggy": null, "fixed": null,
            "verdict": "reproduced", "expected": "reproduced", "met": true, "why": "", "explanation": ""
        });
        let r: CellResult = serde_json::from_value(json).unwrap();
        let n = name(&r, "buggy");
        assert_eq!(
            n,
            "BenchmarkGCFuzz/pattern=15-ticker/go=1.22.10/line=1.22/GODEBUG=asynctimerchan=1/GOGC=50/stress=gc-ms=10/n=a_b_c/variant=buggy"
        );
        check_line(&format!("{n}\t3\t1.5 ns/round")).unwrap();
        assert!(check_line("Benchmarkfoo 1 2 x").is_err());
        assert!(check_line("BenchmarkFoo 1 2").is_err());
    }
}
