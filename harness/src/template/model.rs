//! The validated model: what a pattern is once it has been checked.

use crate::knobs::Knobs;
use crate::verdict::Verdict;
use crate::version::{GoVersion, VersionReq};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// The seed's families of GC bugs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Family {
    /// Reachability leaks the GC cannot fix (Bugs 1, 2, 3, 15, 16).
    Reachability,
    /// Finalizers used incorrectly (Bugs 4, 5, 9, 14).
    Finalizers,
    /// Fighting the pacer (Bugs 6, 7, 8, 10, 11).
    Pacer,
    /// Allocation pressure (Bugs 7, 12).
    Allocation,
    /// Write-barrier corruption (Bug 13).
    WriteBarrier,
}

impl Family {
    /// Whether two of this family's programs side by side take longer than
    /// the same two one after the other, as measured on 2 cores
    /// (docs/measurements.md#side-by-side-or-one-at-a-time, `scripts/bench
    /// --pairing`): the pacer family's programs force and time collections,
    /// whose stop-the-world phases wait for a neighbour's time slice (its
    /// patterns 06 and 10 took 2.72 s side by side against 1.24 s one at a
    /// time; 06 alone 3.3x slower paired); every other family went 1.2-2x
    /// faster side by side. The scheduler runs such a family's cells alone.
    pub fn runs_alone_faster(self) -> bool {
        matches!(self, Family::Pacer)
    }
}

/// A parameter's type; every parameter reaches the Go program as a string.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ParamType {
    /// An integer.
    Int,
    /// A floating-point number.
    Float,
    /// A duration in milliseconds (fractions allowed).
    Millis,
    /// Milliseconds of work per round, which the probe turns into a count
    /// of units (`e.Work(name).Do(unit)`): calibrated over the warm-up
    /// rounds, fixed after, recorded in the samples as `work_<name>`.
    Work,
}

/// How a signal turns a series into one number.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Stat {
    /// Theil–Sen slope of the metric against `per`, with Sen's interval.
    Slope,
    /// (last − first) of the metric over (last − first) of `per`. With
    /// `proportion: true` the metric counts events out of `per` trials and
    /// gets a Wilson interval.
    Rate,
    /// The share of trials (processes) in which the event happened: the
    /// metric `crash` (the trial crashed) or a counter that grew. Wilson
    /// interval.
    Trials,
    /// What the variant keeps: the metric after each post-warm-up sample
    /// less its value before the first round, the median over those
    /// samples with the sign test's 95% interval (trials pooled by
    /// medians). A leak that levels off (a bounded container that keeps
    /// what the fix lets go) has a slope of 0 and a level of megabytes.
    Level,
}

/// Whether a signal decides presence or is only reported.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    /// Above its threshold, the variant shows the bug.
    #[default]
    Symptom,
    /// Measured and reported; never decides a verdict.
    Info,
}

/// Something a pattern's program needs from where it runs, beyond a Go
/// runtime with stdout. A backend that lacks one does not get the
/// pattern's cells (the plan lists them as skipped, with the reason).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Need {
    /// Network sockets (`net.Listen`, `net.Dial`, `net/http` servers).
    Sockets,
    /// More than one thread running Go code at once (GOMAXPROCS > 1 in a
    /// configuration implies it).
    Threads,
    /// A filesystem or descriptors beyond stdin, stdout and stderr
    /// (`os.Open`, `/proc`, pipes).
    Files,
    /// Operating-system calls beyond WASI's (`syscall.Nanosleep`, `mmap`).
    Syscalls,
    /// OS signals, including the runtime's asynchronous preemption of a
    /// goroutine that never yields.
    Signals,
}

impl Need {
    /// Every need, for messages.
    pub const ALL: [Need; 5] = [Need::Sockets, Need::Threads, Need::Files, Need::Syscalls, Need::Signals];

    /// The name patterns use.
    pub fn name(self) -> &'static str {
        match self {
            Need::Sockets => "sockets",
            Need::Threads => "threads",
            Need::Files => "files",
            Need::Syscalls => "syscalls",
            Need::Signals => "signals",
        }
    }
}

/// A loaded, validated bug pattern.
#[derive(Clone, Debug, Serialize)]
pub struct Pattern {
    /// `NN-slug`, the folder name: `15-ticker-not-stopped`.
    pub id: String,
    /// The seed's bug number, if the pattern comes from the seed.
    pub seed_bug: Option<u32>,
    /// One line.
    pub title: String,
    /// The seed's family.
    pub family: Family,
    /// What the bug is.
    pub summary: String,
    /// Where the runtime disagrees with the seed, and other findings.
    pub notes: Vec<String>,
    /// The pattern's folder.
    #[serde(skip)]
    pub dir: PathBuf,
    /// Go files every variant gets.
    pub common: Vec<String>,
    /// The variants, `buggy` and `fixed` first.
    pub variants: Vec<Variant>,
    /// The scenario's parameters.
    pub params: Vec<Param>,
    /// The scenario counters the probe reports, with what they count.
    pub counters: BTreeMap<String, String>,
    /// How the probe runs the scenario.
    pub run: RunSettings,
    /// A crash of the program (panic, `fatal error:`, signal) is the bug's
    /// symptom, counted per trial, not a failure of the run.
    pub crash_is_symptom: bool,
    /// Detectors to ask beyond `go vet` (which every pattern gets).
    pub detectors: Vec<crate::detector::Detector>,
    /// What the program needs from where it runs (`needs: [sockets]`).
    pub needs: Vec<Need>,
    /// Local Go modules the scenario imports (the team's own code), each
    /// copied into the program and named in its go.mod by a `replace`.
    pub modules: Vec<LocalModule>,
    /// What is measured.
    pub signals: Vec<Signal>,
    /// The pattern's default configurations (at least one).
    pub configs: Vec<Config>,
    /// What each configuration is expected to give; the first match wins.
    pub expect: Vec<Expectation>,
}

/// A local Go module a pattern's scenario imports.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LocalModule {
    /// Its module path, as its go.mod says (`example.com/shop`).
    pub path: String,
    /// Its folder (absolute).
    pub dir: std::path::PathBuf,
}

/// One variant of a pattern.
#[derive(Clone, Debug, Serialize)]
pub struct Variant {
    /// `buggy`, `fixed`, or another name.
    pub name: String,
    /// What it is.
    pub about: String,
    /// Its own Go files (beside the pattern's common ones).
    pub files: Vec<String>,
    /// Runtime knobs this variant sets (a variant may be a configuration).
    pub env: Knobs,
    /// Local modules this variant takes from another folder than the
    /// pattern's (another version of the same module path).
    pub modules: Vec<LocalModule>,
}

/// A scenario parameter.
#[derive(Clone, Debug, Serialize)]
pub struct Param {
    /// The name the Go code asks for.
    pub name: String,
    /// Its type.
    pub kind: ParamType,
    /// The default.
    pub default: f64,
    /// The range fuzzing may use, inclusive.
    pub range: (f64, f64),
    /// What it is.
    pub about: String,
}

impl Param {
    /// Checks a value given on the command line and formats it for the probe.
    /// An int is read as an integer (exact up to ±2^53, where every
    /// integer is also exact as the fuzzer's floating point; beyond that
    /// it is refused, never rounded); a number that is not finite (NaN,
    /// inf) is refused for every type.
    pub fn check(&self, raw: &str) -> Result<String, String> {
        let text = raw.trim();
        let (v, formatted) = if self.kind == ParamType::Int {
            let i: i64 = match text.parse::<i64>() {
                Ok(i) => i,
                Err(_) => {
                    let f: f64 = text.parse().map_err(|_| format!("`{raw}` is not a number"))?;
                    if !f.is_finite() || f.fract() != 0.0 {
                        return Err(format!("`{raw}` is not an integer"));
                    }
                    if f.abs() > MAX_EXACT_INT as f64 {
                        return Err(format!("`{raw}` is beyond ±2^53, where integers are no longer exact"));
                    }
                    f as i64
                }
            };
            if i.unsigned_abs() > MAX_EXACT_INT as u64 {
                return Err(format!("`{raw}` is beyond ±2^53, where integers are no longer exact"));
            }
            (i as f64, i.to_string())
        } else {
            let f: f64 = text.parse().map_err(|_| format!("`{raw}` is not a number"))?;
            if !f.is_finite() {
                return Err(format!("`{raw}` is not a finite number"));
            }
            (f, format_number(f))
        };
        if v < self.range.0 || v > self.range.1 {
            return Err(format!("{formatted} is outside the range [{}, {}]", self.range.0, self.range.1));
        }
        Ok(formatted)
    }
}

/// The largest integer an int parameter may hold: 2^53, below which every
/// integer is exact as an `f64` (the fuzzer's and the thresholds' number).
pub const MAX_EXACT_INT: i64 = 1 << 53;

/// Formats a number as the probe reads it: integers without a fraction.
pub fn format_number(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 { format!("{}", v as i64) } else { format!("{v}") }
}

/// How the probe runs a scenario.
#[derive(Clone, Debug, Serialize)]
pub struct RunSettings {
    /// Rounds per run.
    pub rounds: u32,
    /// Leading rounds left out of the statistics (start-up effects).
    pub warmup: u32,
    /// `runtime.GC()` calls before each sample.
    pub gc_per_sample: u32,
    /// The probe stops itself after this many seconds.
    pub max_wall_s: f64,
    /// The harness kills the run after this many seconds.
    pub timeout_s: f64,
    /// Processes per variant (stochastic bugs need several).
    pub trials: u32,
    /// The harness kills a run whose resident set exceeds this (MiB).
    pub max_rss_mib: Option<u64>,
    /// The resident memory a run is expected to reach (MiB), for the
    /// scheduler's memory budget.
    pub peak_mib: u64,
    /// Timing-sensitive: run with no other cell beside it.
    pub exclusive: bool,
    /// What the probe waits for before each sample.
    pub settle: Settle,
}

/// What the probe waits for before each sample, after its forced GCs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Settle {
    /// Sample at once.
    #[default]
    None,
    /// Wait (at most 1 s) until the finalizers and cleanups the GCs queued
    /// have run, so counters they move are current: the runtime's queue
    /// metrics from Go 1.26, marker objects before. Samples carry
    /// `settle_ns` (the wait) and `settled` (1 when the queues drained).
    Finalizers,
}

/// A measured signal.
#[derive(Clone, Debug, Serialize)]
pub struct Signal {
    /// Its name.
    pub name: String,
    /// A sample metric or a scenario counter.
    pub metric: String,
    /// `round` or a counter: what the metric is normalised by.
    pub per: String,
    /// How the series becomes a number.
    pub stat: Stat,
    /// Above this, the signal is present.
    pub threshold: Threshold,
    /// Unit of the estimate, for people.
    pub unit: String,
    /// Symptom or info.
    pub role: Role,
    /// For `rate`: events out of trials (Wilson interval).
    pub proportion: bool,
    /// Divide the estimate by the heap bytes allocated per unit of `per`
    /// over the same samples: "what share of what was allocated stays",
    /// a threshold that means the same whatever the sizes.
    pub per_allocated: bool,
    /// What it shows.
    pub about: String,
}

/// A signal's threshold: a number, or a name times a factor.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Threshold {
    /// A fixed number.
    Number(f64),
    /// `name × factor`: the name is a parameter, `rounds` (the rounds the
    /// run did) or a counter (its total at the end of the run).
    Scaled {
        /// The parameter, `rounds` or counter.
        param: String,
        /// The factor.
        factor: f64,
    },
}

/// The name a threshold uses for the rounds a run did.
pub const ROUNDS: &str = "rounds";

impl Threshold {
    /// The threshold's value for the given parameter values; a threshold
    /// over `rounds` or a counter is NaN here (see [`Threshold::resolve_with`]).
    pub fn resolve(&self, params: &BTreeMap<String, String>) -> f64 {
        self.resolve_with(params, &BTreeMap::new())
    }

    /// The threshold's value for the given parameter values and run totals
    /// (`rounds` and each counter's total, as the oracle reads them from a
    /// variant's runs). NaN when the name has no value: a NaN threshold
    /// decides nothing (the signal stays inconclusive).
    pub fn resolve_with(&self, params: &BTreeMap<String, String>, totals: &BTreeMap<String, f64>) -> f64 {
        match self {
            Threshold::Number(v) => *v,
            Threshold::Scaled { param, factor } => {
                let base = match params.get(param) {
                    Some(v) => v.parse::<f64>().ok(),
                    None => totals.get(param).copied(),
                };
                base.unwrap_or(f64::NAN) * factor
            }
        }
    }
}

/// One default configuration of a pattern.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Config {
    /// The toolchains it applies to (all when `None`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub go: Option<String>,
    #[serde(skip)]
    pub(super) go_req: Option<VersionReq>,
    /// The go.mod `go` line; `None` uses the toolchain's own series.
    pub go_line: Option<GoVersion>,
    /// Runtime knobs.
    pub knobs: Knobs,
    /// Stress goroutines.
    pub stress: crate::stress::Stress,
    /// GOEXPERIMENT at build time.
    pub goexperiment: Option<String>,
}

impl Config {
    /// A configuration with only these settings.
    pub fn new(go_line: Option<GoVersion>, knobs: Knobs) -> Self {
        Config { go: None, go_req: None, go_line, knobs, stress: Default::default(), goexperiment: None }
    }

    /// Whether it applies to a toolchain.
    pub fn applies_to(&self, go: GoVersion) -> bool {
        self.go_req.as_ref().is_none_or(|r| r.matches(go))
    }
}

/// An expected verdict and when it applies.
#[derive(Clone, Debug, Serialize)]
pub struct Expectation {
    /// Conditions; all must hold. Empty matches everything.
    pub when: Condition,
    /// The verdict.
    pub verdict: Verdict,
    /// Why (measured behaviour, seed disagreements).
    pub why: String,
}

/// The conditions of an [`Expectation`].
#[derive(Clone, Debug, Default, Serialize)]
pub struct Condition {
    /// Toolchain version requirement.
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "ser_req")]
    pub go: Option<VersionReq>,
    /// go.mod `go` line requirement.
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "ser_req")]
    pub go_line: Option<VersionReq>,
    /// Knobs that must be set to exactly these values (GODEBUG: settings
    /// that must be among the run's).
    pub knobs: Knobs,
    /// The GOEXPERIMENT the cell must be built with (empty: none).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub goexperiment: Option<String>,
    /// The backend that runs the cell (`native`, `wasm`), where the
    /// behaviour differs by backend.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub backend: Option<String>,
}

fn ser_req<S: serde::Serializer>(r: &Option<VersionReq>, s: S) -> Result<S::Ok, S::Error> {
    match r {
        Some(r) => s.serialize_str(&r.to_string()),
        None => s.serialize_none(),
    }
}

impl Condition {
    /// Whether a cell's toolchain, go line, knobs and GOEXPERIMENT satisfy it.
    pub fn matches(
        &self,
        go: GoVersion,
        go_line: GoVersion,
        knobs: &Knobs,
        goexperiment: Option<&str>,
        backend: &str,
    ) -> bool {
        if self.backend.as_deref().is_some_and(|b| b != backend) {
            return false;
        }
        if let Some(want) = &self.goexperiment
            && goexperiment.unwrap_or("") != want
        {
            return false;
        }
        let req = |r: &Option<VersionReq>, v| r.as_ref().is_none_or(|r| r.matches(v));
        let eq = |want: &Option<String>, have: &Option<String>| want.is_none() || want == have;
        req(&self.go, go)
            && req(&self.go_line, go_line)
            && eq(&self.knobs.gogc, &knobs.gogc)
            && eq(&self.knobs.gomemlimit, &knobs.gomemlimit)
            && eq(&self.knobs.gomaxprocs, &knobs.gomaxprocs)
            && self
                .knobs
                .godebug
                .as_deref()
                .is_none_or(|g| g.split(',').filter(|s| !s.trim().is_empty()).all(|kv| knobs.has_godebug(kv)))
    }
}

impl Pattern {
    /// The variant called `name`.
    pub fn variant(&self, name: &str) -> Option<&Variant> {
        self.variants.iter().find(|v| v.name == name)
    }

    /// The variant in `role` (a checked pattern has both).
    pub fn role(&self, role: crate::cell::Role) -> Option<&Variant> {
        self.variant(role.name())
    }

    /// The variants a cell judges, buggy first.
    pub fn judged(&self) -> impl Iterator<Item = &Variant> {
        crate::cell::Role::BOTH.into_iter().filter_map(|r| self.role(r))
    }

    /// The live set a relative GOMEMLIMIT (`0.5x`) refers to, in MiB: the
    /// `live_mib` parameter where the pattern has one, else its declared
    /// peak.
    pub fn live_mib(&self, params: &BTreeMap<String, String>) -> f64 {
        params.get("live_mib").and_then(|v| v.parse().ok()).unwrap_or(self.run.peak_mib as f64)
    }

    /// The parameter defaults, formatted for the probe.
    pub fn default_params(&self) -> BTreeMap<String, String> {
        self.params.iter().map(|p| (p.name.clone(), format_number(p.default))).collect()
    }

    /// The expectation for a cell: the first whose conditions hold.
    pub fn expectation(
        &self,
        go: GoVersion,
        go_line: GoVersion,
        knobs: &Knobs,
        goexperiment: Option<&str>,
        backend: &str,
    ) -> Option<&Expectation> {
        self.expect.iter().find(|e| e.when.matches(go, go_line, knobs, goexperiment, backend))
    }

    /// The Go files of a variant: common ones first.
    pub fn files_of(&self, variant: &Variant) -> Vec<String> {
        self.common.iter().chain(variant.files.iter()).cloned().collect()
    }
}
