//! Bug-pattern templates: `templates/<NN-slug>/pattern.yaml` plus Go files.
//!
//! The YAML is read into raw `*Spec` types (serde, unknown fields denied)
//! and then checked into a [`Pattern`]: parameters, variants, files,
//! metric names, thresholds, version requirements and expectations are all
//! validated at load time, and every error names the file, line and column.
//! The README's "Template format" section documents the fields.
//!
//! YAML is parsed by `serde-saphyr` (pure Rust, maintained, never panics on
//! bad input, reports locations and `Spanned` values), not the deprecated
//! `serde_yaml`; this module is the only place that knows.

use crate::knobs::Knobs;
use crate::verdict::Verdict;
use crate::version::{GoVersion, VersionReq};
use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize};
use serde_saphyr::Spanned;
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

/// The metrics every probe sample may carry (see `templates/probe`).
pub const SAMPLE_METRICS: &[&str] = &[
    "heap_live",
    "heap_objects",
    "heap_object_bytes",
    "total_mem",
    "goroutines",
    "gc_cycles",
    "gc_cpu_s",
    "total_cpu_s",
    "alloc_bytes",
    "alloc_objects",
    "fds",
    "rss",
    "proc_cpu_s",
    "t_ns",
    "round_ns",
];

/// A template that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    /// The file could not be read.
    #[error("failed to read `{path}`")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The YAML does not parse or does not fit the schema.
    #[error("{path}:{line}:{column}: {message}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// 1-based line, 0 if unknown.
        line: u64,
        /// 1-based column, 0 if unknown.
        column: u64,
        /// What is wrong.
        message: String,
    },
    /// No pattern matches a name given on the command line.
    #[error("no pattern matches `{0}`\n(run `gcfuzz list` to see the patterns)")]
    NoMatch(String),
    /// A name given on the command line matches several patterns.
    #[error("`{name}` matches several patterns: {matches}\n(give more of the id)")]
    Ambiguous {
        /// The name.
        name: String,
        /// The ids it matches.
        matches: String,
    },
    /// Several templates failed to load.
    #[error("{} template(s) are invalid:\n{}", .0.len(), .0.iter().map(|e| format!("  {e}")).collect::<Vec<_>>().join("\n"))]
    Many(Vec<TemplateError>),
}

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

// ----- raw schema ---------------------------------------------------------

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PatternSpec {
    title: String,
    seed_bug: Option<u32>,
    family: Family,
    summary: String,
    #[serde(default)]
    notes: Vec<String>,
    #[serde(default)]
    common: Vec<Spanned<String>>,
    variants: BTreeMap<String, VariantSpec>,
    #[serde(default)]
    params: BTreeMap<String, ParamSpec>,
    #[serde(default)]
    counters: BTreeMap<String, String>,
    #[serde(default)]
    run: RunSpec,
    #[serde(default)]
    crash_is_symptom: bool,
    #[serde(default)]
    detectors: Vec<crate::detect::Detector>,
    signals: Vec<SignalSpec>,
    #[serde(default)]
    configs: Vec<ConfigSpec>,
    expect: Vec<ExpectSpec>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct VariantSpec {
    about: String,
    #[serde(default)]
    files: Vec<Spanned<String>>,
    #[serde(default)]
    env: KnobsSpec,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ParamSpec {
    #[serde(rename = "type")]
    kind: ParamType,
    default: Spanned<f64>,
    range: Spanned<[f64; 2]>,
    #[serde(default)]
    about: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, default)]
struct RunSpec {
    rounds: u32,
    warmup: u32,
    gc_per_sample: u32,
    max_wall_s: f64,
    timeout_s: f64,
    trials: u32,
    max_rss_mib: Option<u64>,
    peak_mib: u64,
    exclusive: bool,
}

impl Default for RunSpec {
    fn default() -> Self {
        RunSpec {
            rounds: 10,
            warmup: 2,
            gc_per_sample: 1,
            max_wall_s: 20.0,
            timeout_s: 60.0,
            trials: 1,
            max_rss_mib: None,
            peak_mib: 64,
            exclusive: false,
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SignalSpec {
    name: String,
    metric: Spanned<String>,
    #[serde(default = "round")]
    per: Spanned<String>,
    stat: Stat,
    present_above: Spanned<ThresholdSpec>,
    #[serde(default)]
    unit: String,
    #[serde(default)]
    role: Role,
    #[serde(default)]
    proportion: bool,
    #[serde(default)]
    per_allocated: bool,
    #[serde(default)]
    about: String,
}

fn round() -> Spanned<String> {
    Spanned::new("round".to_string(), serde_saphyr::Location::UNKNOWN, serde_saphyr::Location::UNKNOWN)
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct KnobsSpec {
    #[serde(default, deserialize_with = "scalar_string")]
    gogc: Option<String>,
    #[serde(default, deserialize_with = "scalar_string")]
    gomemlimit: Option<String>,
    #[serde(default, deserialize_with = "scalar_string")]
    gomaxprocs: Option<String>,
    #[serde(default, deserialize_with = "scalar_string")]
    godebug: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfigSpec {
    #[serde(default)]
    go: Option<Spanned<String>>,
    #[serde(default)]
    stress: Option<Spanned<String>>,
    #[serde(default)]
    goexperiment: Option<String>,
    #[serde(default)]
    go_line: Option<Spanned<String>>,
    #[serde(default, deserialize_with = "scalar_string")]
    gogc: Option<String>,
    #[serde(default, deserialize_with = "scalar_string")]
    gomemlimit: Option<String>,
    #[serde(default, deserialize_with = "scalar_string")]
    gomaxprocs: Option<String>,
    #[serde(default, deserialize_with = "scalar_string")]
    godebug: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ExpectSpec {
    #[serde(default)]
    when: Option<WhenSpec>,
    verdict: Verdict,
    #[serde(default)]
    why: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WhenSpec {
    #[serde(default)]
    go: Option<Spanned<String>>,
    #[serde(default)]
    goexperiment: Option<String>,
    #[serde(default)]
    go_line: Option<Spanned<String>>,
    #[serde(default, deserialize_with = "scalar_string")]
    gogc: Option<String>,
    #[serde(default, deserialize_with = "scalar_string")]
    gomemlimit: Option<String>,
    #[serde(default, deserialize_with = "scalar_string")]
    gomaxprocs: Option<String>,
    #[serde(default, deserialize_with = "scalar_string")]
    godebug: Option<String>,
}

/// A YAML scalar read as a string: `gogc: 50` and `gogc: "50"` are the same.
fn scalar_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    struct V;
    impl Visitor<'_> for V {
        type Value = Option<String>;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a string or a number")
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
            Ok(Some(v.to_string()))
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
            Ok(Some(v.to_string()))
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
            Ok(Some(v.to_string()))
        }
        fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
            Ok(Some(v.to_string()))
        }
        fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
            Ok(Some(if v { "on" } else { "off" }.to_string()))
        }
    }
    d.deserialize_any(V)
}

/// A threshold as written: a number, or `PARAM * FACTOR` (either order).
#[derive(Clone, Debug, PartialEq)]
enum ThresholdSpec {
    Number(f64),
    Expr(String),
}

impl<'de> Deserialize<'de> for ThresholdSpec {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = ThresholdSpec;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a number or `PARAM * NUMBER`")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(ThresholdSpec::Expr(v.to_string()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
                Ok(ThresholdSpec::Number(v as f64))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
                Ok(ThresholdSpec::Number(v as f64))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
                Ok(ThresholdSpec::Number(v))
            }
        }
        d.deserialize_any(V)
    }
}

// ----- validated model ----------------------------------------------------

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
    pub detectors: Vec<crate::detect::Detector>,
    /// What is measured.
    pub signals: Vec<Signal>,
    /// The pattern's default configurations (at least one).
    pub configs: Vec<Config>,
    /// What each configuration is expected to give; the first match wins.
    pub expect: Vec<Expectation>,
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
    pub fn check(&self, raw: &str) -> Result<String, String> {
        let v: f64 = raw.trim().parse().map_err(|_| format!("`{raw}` is not a number"))?;
        if self.kind == ParamType::Int && v.fract() != 0.0 {
            return Err(format!("`{raw}` is not an integer"));
        }
        if v < self.range.0 || v > self.range.1 {
            return Err(format!("{v} is outside the range [{}, {}]", self.range.0, self.range.1));
        }
        Ok(format_number(v))
    }
}

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

/// A signal's threshold: a number, or a parameter times a factor.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Threshold {
    /// A fixed number.
    Number(f64),
    /// `param × factor`.
    Scaled {
        /// The parameter.
        param: String,
        /// The factor.
        factor: f64,
    },
}

impl Threshold {
    /// The threshold's value for the given parameter values.
    pub fn resolve(&self, params: &BTreeMap<String, String>) -> f64 {
        match self {
            Threshold::Number(v) => *v,
            Threshold::Scaled { param, factor } => {
                params.get(param).and_then(|v| v.parse::<f64>().ok()).unwrap_or(f64::NAN) * factor
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
    go_req: Option<VersionReq>,
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
}

fn ser_req<S: serde::Serializer>(r: &Option<VersionReq>, s: S) -> Result<S::Ok, S::Error> {
    match r {
        Some(r) => s.serialize_str(&r.to_string()),
        None => s.serialize_none(),
    }
}

impl Condition {
    /// Whether a cell's toolchain, go line, knobs and GOEXPERIMENT satisfy it.
    pub fn matches(&self, go: GoVersion, go_line: GoVersion, knobs: &Knobs, goexperiment: Option<&str>) -> bool {
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
    ) -> Option<&Expectation> {
        self.expect.iter().find(|e| e.when.matches(go, go_line, knobs, goexperiment))
    }

    /// The Go files of a variant: common ones first.
    pub fn files_of(&self, variant: &Variant) -> Vec<String> {
        self.common.iter().chain(variant.files.iter()).cloned().collect()
    }
}

// ----- loading ------------------------------------------------------------

/// Loads one pattern from its folder.
pub fn load_pattern(dir: &Path) -> Result<Pattern, TemplateError> {
    let path = dir.join("pattern.yaml");
    let text = std::fs::read_to_string(&path).map_err(|source| TemplateError::Io { path: path.clone(), source })?;
    let id = dir.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_string();
    parse_pattern(&text, &path, &id, dir)
}

/// Parses and validates a pattern's YAML. `path` is for messages, `id` is
/// the folder name and `dir` holds the Go files.
pub fn parse_pattern(text: &str, path: &Path, id: &str, dir: &Path) -> Result<Pattern, TemplateError> {
    let spec: PatternSpec = serde_saphyr::from_str(text).map_err(|e| {
        let (line, column) = e.location().map(|l| (l.line(), l.column())).unwrap_or((0, 0));
        TemplateError::Invalid { path: path.to_path_buf(), line, column, message: first_line(&e.to_string()) }
    })?;
    Checker { path, dir }.check(spec, id)
}

/// serde-saphyr renders a snippet under its message; the first line is the
/// message itself (the location is printed separately).
fn first_line(s: &str) -> String {
    let line = s.lines().next().unwrap_or(s).trim();
    let line = line.strip_prefix("error: ").unwrap_or(line);
    // Drop its own "line N column M: " prefix: the location is ours to print.
    match line.strip_prefix("line ").and_then(|r| r.split_once(": ")) {
        Some((pos, rest)) if pos.contains(" column ") => rest.to_string(),
        _ => line.to_string(),
    }
}

struct Checker<'a> {
    path: &'a Path,
    dir: &'a Path,
}

impl Checker<'_> {
    fn err<T>(&self, at: Option<&serde_saphyr::Location>, message: impl Into<String>) -> Result<T, TemplateError> {
        let (line, column) = at.map(|l| (l.line(), l.column())).unwrap_or((0, 0));
        Err(TemplateError::Invalid { path: self.path.to_path_buf(), line, column, message: message.into() })
    }

    fn check(&self, spec: PatternSpec, id: &str) -> Result<Pattern, TemplateError> {
        let (num, slug) = id.split_once('-').unwrap_or(("", ""));
        if num.len() != 2 || !num.bytes().all(|b| b.is_ascii_digit()) || !is_slug(slug) {
            return self.err(None, format!("pattern folder `{id}` must be named NN-slug, e.g. 15-ticker-not-stopped"));
        }
        if let Some(bug) = spec.seed_bug
            && num.parse::<u32>().ok() != Some(bug)
        {
            return self.err(None, format!("seed_bug is {bug} but the folder `{id}` is numbered {num}"));
        }

        let mut params = Vec::new();
        for (name, p) in spec.params {
            if !is_ident(&name) {
                return self.err(
                    Some(&p.default.referenced),
                    format!("parameter name `{name}` must be a lowercase identifier"),
                );
            }
            let [lo, hi] = p.range.value;
            if lo > hi {
                return self.err(Some(&p.range.referenced), format!("parameter `{name}`: range [{lo}, {hi}] is empty"));
            }
            let d = p.default.value;
            if d < lo || d > hi {
                return self.err(
                    Some(&p.default.referenced),
                    format!("parameter `{name}`: default {d} is outside its range [{lo}, {hi}]"),
                );
            }
            if p.kind == ParamType::Int && (d.fract() != 0.0 || lo.fract() != 0.0 || hi.fract() != 0.0) {
                return self.err(
                    Some(&p.default.referenced),
                    format!("parameter `{name}` is an int but its default or range is not"),
                );
            }
            params.push(Param { name, kind: p.kind, default: d, range: (lo, hi), about: p.about });
        }

        let common = self.check_files(&spec.common)?;
        if !spec.variants.contains_key("buggy") || !spec.variants.contains_key("fixed") {
            return self.err(None, "`variants` must have at least `buggy` and `fixed`");
        }
        let mut variants = Vec::new();
        for (name, v) in spec.variants {
            if !is_slug(&name) {
                return self.err(None, format!("variant name `{name}` must be lowercase letters, digits and dashes"));
            }
            let files = self.check_files(&v.files)?;
            if files.is_empty() && common.is_empty() {
                return self.err(None, format!("variant `{name}` has no Go files (give `files` or `common`)"));
            }
            variants.push(Variant { name, about: v.about, files, env: knobs(&v.env) });
        }
        variants.sort_by_key(|v| match v.name.as_str() {
            "buggy" => (0, String::new()),
            "fixed" => (1, String::new()),
            n => (2, n.to_string()),
        });

        let r = spec.run;
        if r.rounds < 3 || r.warmup + 3 > r.rounds {
            return self.err(
                None,
                format!("run: rounds ({}) must leave at least 3 rounds after warmup ({})", r.rounds, r.warmup),
            );
        }
        if !(r.max_wall_s > 0.0 && r.timeout_s > r.max_wall_s) {
            return self.err(None, "run: timeout_s must be greater than max_wall_s, both positive");
        }
        if r.trials == 0 || r.trials > 1000 {
            return self.err(None, format!("run: trials must be 1 to 1000, not {}", r.trials));
        }
        let run = RunSettings {
            rounds: r.rounds,
            warmup: r.warmup,
            gc_per_sample: r.gc_per_sample,
            max_wall_s: r.max_wall_s,
            timeout_s: r.timeout_s,
            trials: r.trials,
            max_rss_mib: r.max_rss_mib,
            peak_mib: r.peak_mib,
            exclusive: r.exclusive,
        };

        let mut signals = Vec::new();
        for s in spec.signals {
            let known = |m: &str| SAMPLE_METRICS.contains(&m) || spec.counters.contains_key(m);
            let crash_metric = s.metric.value == crate::oracle::CRASH_METRIC;
            if crash_metric && s.stat != Stat::Trials {
                return self.err(
                    Some(&s.metric.referenced),
                    format!("signal `{}`: metric `crash` needs `stat: trials`", s.name),
                );
            }
            if crash_metric && !spec.crash_is_symptom {
                return self.err(
                    Some(&s.metric.referenced),
                    format!("signal `{}`: metric `crash` needs `crash_is_symptom: true`", s.name),
                );
            }
            if !known(&s.metric.value) && !crash_metric {
                return self.err(
                    Some(&s.metric.referenced),
                    format!(
                        "signal `{}`: unknown metric `{}` (a probe metric or a declared counter)",
                        s.name, s.metric.value
                    ),
                );
            }
            if s.per.value != "round" && !known(&s.per.value) {
                return self.err(
                    Some(&s.per.referenced),
                    format!(
                        "signal `{}`: `per` must be `round`, a probe metric or a declared counter, not `{}`",
                        s.name, s.per.value
                    ),
                );
            }
            if s.per_allocated && (s.proportion || s.stat == Stat::Trials) {
                return self.err(
                    Some(&s.metric.referenced),
                    format!("signal `{}`: `per_allocated` applies to slopes and plain rates", s.name),
                );
            }
            if s.proportion && s.stat != Stat::Rate {
                return self
                    .err(Some(&s.metric.referenced), format!("signal `{}`: `proportion` needs `stat: rate`", s.name));
            }
            let threshold = match &s.present_above.value {
                ThresholdSpec::Number(v) => Threshold::Number(*v),
                ThresholdSpec::Expr(e) => match parse_scaled(e) {
                    Some((param, factor)) if params.iter().any(|p| p.name == param) => {
                        Threshold::Scaled { param, factor }
                    }
                    Some((param, _)) => {
                        return self.err(
                            Some(&s.present_above.referenced),
                            format!("signal `{}`: unknown parameter `{param}` in threshold", s.name),
                        );
                    }
                    None => {
                        return self.err(
                            Some(&s.present_above.referenced),
                            format!("signal `{}`: threshold `{e}` must be a number or `PARAM * NUMBER`", s.name),
                        );
                    }
                },
            };
            signals.push(Signal {
                name: s.name,
                metric: s.metric.value,
                per: s.per.value,
                stat: s.stat,
                threshold,
                unit: s.unit,
                role: s.role,
                proportion: s.proportion,
                per_allocated: s.per_allocated,
                about: s.about,
            });
        }
        if !signals.iter().any(|s| s.role == Role::Symptom) {
            return self.err(None, "`signals` must have at least one with role `symptom`");
        }

        let mut configs = Vec::new();
        for c in spec.configs {
            let go_req = c.go.as_ref().map(|g| self.req(g)).transpose()?;
            let go_line = c.go_line.as_ref().map(|l| self.line(l)).transpose()?;
            let knobs = Knobs { gogc: c.gogc, gomemlimit: c.gomemlimit, gomaxprocs: c.gomaxprocs, godebug: c.godebug };
            let stress = match &c.stress {
                Some(s) => s
                    .value
                    .parse()
                    .or_else(|e: crate::stress::StressError| self.err(Some(&s.referenced), e.to_string()))?,
                None => Default::default(),
            };
            let goexperiment = c.goexperiment.filter(|x| !x.is_empty());
            configs.push(Config { go: c.go.map(|g| g.value), go_req, go_line, knobs, stress, goexperiment });
        }
        if configs.is_empty() {
            configs.push(Config::default());
        }

        let mut expect = Vec::new();
        for e in spec.expect {
            let when = match e.when {
                None => Condition::default(),
                Some(w) => Condition {
                    go: w.go.as_ref().map(|g| self.req(g)).transpose()?,
                    go_line: w.go_line.as_ref().map(|g| self.req(g)).transpose()?,
                    knobs: Knobs {
                        gogc: w.gogc,
                        gomemlimit: w.gomemlimit,
                        gomaxprocs: w.gomaxprocs,
                        godebug: w.godebug,
                    },
                    goexperiment: w.goexperiment,
                },
            };
            expect.push(Expectation { when, verdict: e.verdict, why: e.why });
        }
        if !expect
            .last()
            .is_some_and(|e| e.when.go.is_none() && e.when.go_line.is_none() && e.when.knobs == Knobs::default())
        {
            return self.err(None, "`expect` must end with an entry without `when` (the default expectation)");
        }

        Ok(Pattern {
            id: id.to_string(),
            seed_bug: spec.seed_bug,
            title: spec.title,
            family: spec.family,
            summary: spec.summary.trim().to_string(),
            notes: spec.notes.into_iter().map(|n| n.trim().to_string()).collect(),
            dir: self.dir.to_path_buf(),
            common,
            variants,
            params,
            counters: spec.counters,
            run,
            crash_is_symptom: spec.crash_is_symptom,
            detectors: spec.detectors,
            signals,
            configs,
            expect,
        })
    }

    fn check_files(&self, files: &[Spanned<String>]) -> Result<Vec<String>, TemplateError> {
        let mut out = Vec::new();
        for f in files {
            let name = &f.value;
            if !name.ends_with(".go") || name.contains('/') || name.contains('\\') || name.starts_with('.') {
                return self.err(Some(&f.referenced), format!("`{name}` must be a .go file in the pattern's folder"));
            }
            if !self.dir.join(name).is_file() {
                return self.err(Some(&f.referenced), format!("`{name}` does not exist in {}", self.dir.display()));
            }
            out.push(name.clone());
        }
        Ok(out)
    }

    fn req(&self, s: &Spanned<String>) -> Result<VersionReq, TemplateError> {
        s.value.parse().or_else(|e: crate::version::VersionError| self.err(Some(&s.referenced), e.to_string()))
    }

    fn line(&self, s: &Spanned<String>) -> Result<GoVersion, TemplateError> {
        match s.value.parse::<GoVersion>() {
            Ok(v) if v.patch == 0 && v.minor >= 21 => Ok(v),
            Ok(_) => self.err(
                Some(&s.referenced),
                format!("go_line `{}` must be a series such as 1.22 (1.21 or later)", s.value),
            ),
            Err(e) => self.err(Some(&s.referenced), e.to_string()),
        }
    }
}

fn knobs(k: &KnobsSpec) -> Knobs {
    Knobs {
        gogc: k.gogc.clone(),
        gomemlimit: k.gomemlimit.clone(),
        gomaxprocs: k.gomaxprocs.clone(),
        godebug: k.godebug.clone(),
    }
}

fn parse_scaled(e: &str) -> Option<(String, f64)> {
    let parts: Vec<&str> = e.split('*').map(str::trim).collect();
    match parts.as_slice() {
        [p] if is_ident(p) => Some((p.to_string(), 1.0)),
        [a, b] => match (a.parse::<f64>(), b.parse::<f64>()) {
            (Err(_), Ok(f)) if is_ident(a) => Some((a.to_string(), f)),
            (Ok(f), Err(_)) if is_ident(b) => Some((b.to_string(), f)),
            _ => None,
        },
        _ => None,
    }
}

fn is_ident(s: &str) -> bool {
    let mut c = s.chars();
    c.next().is_some_and(|f| f.is_ascii_lowercase())
        && c.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

fn is_slug(s: &str) -> bool {
    !s.is_empty()
        && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

/// Loads every pattern under `templates` (folders holding a pattern.yaml),
/// sorted by id. All invalid ones are reported together.
pub fn load_all(templates: &Path) -> Result<Vec<Pattern>, TemplateError> {
    let entries =
        std::fs::read_dir(templates).map_err(|source| TemplateError::Io { path: templates.to_path_buf(), source })?;
    let mut dirs: Vec<PathBuf> =
        entries.filter_map(|e| e.ok().map(|e| e.path())).filter(|p| p.join("pattern.yaml").is_file()).collect();
    dirs.sort();
    let (mut ok, mut bad) = (Vec::new(), Vec::new());
    for d in dirs {
        match load_pattern(&d) {
            Ok(p) => ok.push(p),
            Err(e) => bad.push(e),
        }
    }
    if !bad.is_empty() {
        return Err(if bad.len() == 1 { bad.remove(0) } else { TemplateError::Many(bad) });
    }
    Ok(ok)
}

/// Picks patterns by id (`15-ticker-not-stopped`), number (`15`) or id
/// prefix (`15-tick`). No names selects all.
pub fn select<'a>(patterns: &'a [Pattern], names: &[String]) -> Result<Vec<&'a Pattern>, TemplateError> {
    if names.is_empty() {
        return Ok(patterns.iter().collect());
    }
    let mut out: Vec<&Pattern> = Vec::new();
    for name in names {
        // A number names the seed bug (`1` is 01-…, never 12-…); anything
        // else is an id or an id prefix.
        let found: Vec<&Pattern> = match name.parse::<u32>() {
            Ok(n) => patterns.iter().filter(|p| p.id.starts_with(&format!("{n:02}-"))).collect(),
            Err(_) if patterns.iter().any(|p| p.id == *name) => patterns.iter().filter(|p| p.id == *name).collect(),
            Err(_) => patterns.iter().filter(|p| p.id.starts_with(name.as_str())).collect(),
        };
        match found.len() {
            0 => return Err(TemplateError::NoMatch(name.clone())),
            1 => {
                if !out.iter().any(|p| p.id == found[0].id) {
                    out.push(found[0]);
                }
            }
            _ => {
                let matches = found.iter().map(|p| p.id.as_str()).collect::<Vec<_>>().join(", ");
                return Err(TemplateError::Ambiguous { name: name.clone(), matches });
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests;
