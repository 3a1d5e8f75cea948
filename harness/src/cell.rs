//! What identifies a cell: [`CellConfig`], the one value every stage
//! carries (the plan's cells, the judge, results, the journal, reports),
//! and the one place that writes it for people ([`CellConfig::describe`]).
//!
//! A configuration is written in several shapes (a label, a test case's
//! name, a benchmark name, a diff line, a calibration key, the fuzzer's
//! "changed from the default"); each is a [`View`] (which parts, which
//! style) of the same parts in the same order, so a new axis shows up in
//! all of them at once. The journal key ([`CellConfig::id`]) is a
//! serialisation: its spelling is frozen, since journals written by older
//! builds are resumed by it.

use crate::knobs::Knobs;
use crate::stress::Stress;
use crate::version::GoVersion;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt::{self, Write as _};

/// A pattern's id (`15-ticker-not-stopped`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PatternId(String);

impl PatternId {
    /// The id as written.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::ops::Deref for PatternId {
    type Target = str;
    /// An id reads as its text wherever a `&str` is wanted.
    fn deref(&self) -> &str {
        &self.0
    }
}

impl From<&str> for PatternId {
    fn from(s: &str) -> Self {
        PatternId(s.to_string())
    }
}

impl From<String> for PatternId {
    fn from(s: String) -> Self {
        PatternId(s)
    }
}

impl PartialEq<str> for PatternId {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}

impl PartialEq<&str> for PatternId {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

impl PartialEq<String> for PatternId {
    fn eq(&self, other: &String) -> bool {
        &self.0 == other
    }
}

impl PartialEq<PatternId> for String {
    fn eq(&self, other: &PatternId) -> bool {
        *self == other.0
    }
}

impl fmt::Display for PatternId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The two variants a cell compares. A pattern may carry more variants
/// (lint's extra ones); only these two are judged.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// The variant with the bug.
    Buggy,
    /// The variant with the fix.
    Fixed,
}

impl Role {
    /// Both, the buggy one first (the order of every report).
    pub const BOTH: [Role; 2] = [Role::Buggy, Role::Fixed];

    /// The variant's name in templates, results and the journal.
    pub fn name(self) -> &'static str {
        match self {
            Role::Buggy => "buggy",
            Role::Fixed => "fixed",
        }
    }

    /// The role a variant name stands for, if any.
    pub fn of(name: &str) -> Option<Role> {
        match name {
            "buggy" => Some(Role::Buggy),
            "fixed" => Some(Role::Fixed),
            _ => None,
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What runs a cell's programs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum BackendKind {
    /// Native processes (the default).
    #[default]
    Native,
    /// A wasip1 module in wasmtime.
    Wasm,
    /// Series from a model, for tests without Go.
    Synthetic,
}

impl BackendKind {
    /// The name in flags, results and ids.
    pub fn name(self) -> &'static str {
        match self {
            BackendKind::Native => "native",
            BackendKind::Wasm => "wasm",
            BackendKind::Synthetic => "synthetic",
        }
    }

    /// Whether programs for it are built for wasip1.
    pub fn is_wasm(self) -> bool {
        self == BackendKind::Wasm
    }
}

/// An unknown backend name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown backend `{0}` (known: native, wasm, synthetic)")]
pub struct UnknownBackend(pub String);

impl std::str::FromStr for BackendKind {
    type Err = UnknownBackend;
    /// A name; the empty string (results of builds before backends) is
    /// native.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim() {
            "native" | "" => Ok(BackendKind::Native),
            "wasm" => Ok(BackendKind::Wasm),
            "synthetic" => Ok(BackendKind::Synthetic),
            other => Err(UnknownBackend(other.to_string())),
        }
    }
}

impl<'de> Deserialize<'de> for BackendKind {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

impl fmt::Display for BackendKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Everything that makes a cell what it is: the pattern, the toolchain,
/// the go line, the backend, the runtime knobs, GOEXPERIMENT, stress,
/// parameters, rounds and trials. Field names are part of `--json`
/// (flattened into a result).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CellConfig {
    /// The pattern.
    pub pattern: PatternId,
    /// The full toolchain version, e.g. `1.22.10`.
    pub go: GoVersion,
    /// The go.mod `go` line, e.g. `1.22`.
    #[serde(serialize_with = "ser_line")]
    pub go_line: GoVersion,
    /// The runtime knobs (environment) before a variant's own.
    pub knobs: Knobs,
    /// Stress goroutines beside the scenario.
    #[serde(default)]
    pub stress: Stress,
    /// GOEXPERIMENT the programs are built with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub goexperiment: Option<String>,
    /// Every scenario parameter.
    pub params: BTreeMap<String, String>,
    /// The parameters the plan set (a subset of `params`): what labels name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub overrides: BTreeMap<String, String>,
    /// Rounds per run the plan asked for (early stopping may run fewer or
    /// up to twice as many). Named as results have always named it.
    #[serde(default, rename = "nominal_rounds")]
    pub rounds: u32,
    /// Processes per variant (0 in results of builds that did not record it).
    #[serde(default)]
    pub trials: u32,
    /// The backend that runs it.
    #[serde(default)]
    pub backend: BackendKind,
}

fn ser_line<S: serde::Serializer>(v: &GoVersion, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&v.line_string())
}

/// One part of a configuration: its key and its value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Part {
    /// The pattern id.
    Pattern(String),
    /// The toolchain.
    Go(String),
    /// The go line.
    Line(String),
    /// The go line where it is the toolchain's own series (views that do
    /// not name the toolchain).
    OwnLine,
    /// GOEXPERIMENT.
    Experiment(String),
    /// One runtime knob (`GOGC`, `50`).
    Knob(&'static str, String),
    /// No knob set, where a view names the knobs always.
    NoKnobs,
    /// Stress.
    Stress(String),
    /// A parameter.
    Param(String, String),
    /// Rounds.
    Rounds(u32),
    /// Trials.
    Trials(u32),
    /// A backend other than native.
    Backend(BackendKind),
}

impl Part {
    /// `go1.22.10`, `line1.22`, `GOGC=50`, `stress:alloc-kib=64`, `k=v`,
    /// `rounds12`, `backend:wasm`: the part in a sentence.
    fn spoken(&self) -> String {
        match self {
            Part::Pattern(p) => p.clone(),
            Part::Go(v) => format!("go{v}"),
            Part::Line(v) => format!("line{v}"),
            Part::OwnLine => "line own".into(),
            Part::Experiment(x) => format!("GOEXPERIMENT={x}"),
            Part::Knob(k, v) => format!("{k}={v}"),
            Part::NoKnobs => "-".into(),
            Part::Stress(s) => format!("stress:{s}"),
            Part::Param(k, v) => format!("{k}={v}"),
            Part::Rounds(n) => format!("rounds{n}"),
            Part::Trials(n) => format!("trials{n}"),
            Part::Backend(b) => format!("backend:{b}"),
        }
    }

    /// `(key, value)`: the part as a path segment (`go=1.22.10`).
    fn keyed(&self) -> (String, String) {
        match self {
            Part::Pattern(p) => ("pattern".into(), p.clone()),
            Part::Go(v) => ("go".into(), v.clone()),
            Part::Line(v) => ("line".into(), v.clone()),
            Part::OwnLine => ("line".into(), "own".into()),
            Part::Experiment(x) => ("GOEXPERIMENT".into(), x.clone()),
            Part::Knob(k, v) => ((*k).into(), v.clone()),
            Part::NoKnobs => ("knobs".into(), "-".into()),
            Part::Stress(s) => ("stress".into(), s.clone()),
            Part::Param(k, v) => (k.clone(), v.clone()),
            Part::Rounds(n) => ("rounds".into(), n.to_string()),
            Part::Trials(n) => ("trials".into(), n.to_string()),
            Part::Backend(b) => ("backend".into(), b.to_string()),
        }
    }
}

/// Which parameters a view names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Params {
    /// Only the ones the plan set (labels: defaults go without saying).
    Overrides,
    /// All of them (what pools runs: two defaults may differ by build).
    All,
}

/// How a view is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Style {
    /// Parts as words, joined by spaces: `go1.22.10 line1.22 GOGC=50`.
    Spoken,
    /// Parts as `key=value` path segments, joined by `/`, with spaces and
    /// slashes in values made `_` (benchmark names).
    Path,
}

/// A shape of a configuration's name: which parts, in which style.
#[derive(Clone, Copy, Debug)]
pub struct View {
    /// Name the pattern.
    pub pattern: bool,
    /// Name the toolchain.
    pub go: bool,
    /// Name the go line.
    pub line: bool,
    /// Write the go line as `own` where it is the toolchain's series.
    pub own_line: bool,
    /// Write `-` when no knob is set (else nothing).
    pub knobs_always: bool,
    /// Which parameters.
    pub params: Params,
    /// Name rounds and trials.
    pub counts: bool,
    /// How it is written.
    pub style: Style,
}

impl View {
    /// The label: `15-t go1.22.10 line1.22 GOGC=50 stress:… n=3`.
    pub const LABEL: View = View {
        pattern: true,
        go: true,
        line: true,
        own_line: false,
        knobs_always: true,
        params: Params::Overrides,
        counts: false,
        style: Style::Spoken,
    };
    /// A test case's name within its pattern's suite: the label less the
    /// pattern, and no `-` for default knobs.
    pub const CASE: View = View { pattern: false, knobs_always: false, ..View::LABEL };
    /// Everything that keeps two cells apart (calibration pools runs by
    /// it): every parameter, rounds and trials.
    pub const FULL: View = View { params: Params::All, counts: true, ..View::LABEL };
    /// The settings column of a table whose own columns name the pattern,
    /// the toolchain and the go line.
    pub const SETTINGS: View = View { pattern: false, go: false, line: false, ..View::LABEL };
    /// A Go benchmark name's segments.
    pub const BENCH: View = View { knobs_always: false, style: Style::Path, ..View::LABEL };
}

impl CellConfig {
    /// Every part `view` names, in the one order all views share.
    pub fn parts(&self, view: View) -> Vec<Part> {
        let mut out = Vec::new();
        if view.pattern {
            out.push(Part::Pattern(self.pattern.to_string()));
        }
        if view.go {
            out.push(Part::Go(self.go.to_string()));
        }
        if view.line {
            out.push(if view.own_line && self.go_line == self.go.series() {
                Part::OwnLine
            } else {
                Part::Line(self.go_line.line_string())
            });
        }
        if let Some(x) = &self.goexperiment {
            out.push(Part::Experiment(x.clone()));
        }
        let env = self.knobs.env();
        if env.is_empty() && view.knobs_always {
            out.push(Part::NoKnobs);
        }
        out.extend(env.into_iter().map(|(k, v)| Part::Knob(k, v)));
        if !self.stress.is_off() {
            out.push(Part::Stress(self.stress.to_string()));
        }
        let params = match view.params {
            Params::Overrides => &self.overrides,
            Params::All => &self.params,
        };
        out.extend(params.iter().map(|(k, v)| Part::Param(k.clone(), v.clone())));
        if view.counts {
            out.push(Part::Rounds(self.rounds));
            out.push(Part::Trials(self.trials));
        }
        if self.backend != BackendKind::Native {
            out.push(Part::Backend(self.backend));
        }
        out
    }

    /// The configuration as `view` writes it: the one formatter.
    pub fn describe(&self, view: View) -> String {
        write_parts(&self.parts(view), view.style)
    }

    /// A stable identity for the journal: everything that decides what the
    /// cell measures. A serialisation, frozen: journals of older builds
    /// are resumed by this spelling.
    pub fn id(&self) -> String {
        let params: Vec<String> = self.params.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let mut id = format!(
            "{}|go{}|line{}|{}|{}|rounds{}|trials{}|stress{}",
            self.pattern,
            self.go,
            self.go_line.line_string(),
            self.knobs,
            params.join(","),
            self.rounds,
            self.trials,
            self.stress,
        );
        if let Some(x) = &self.goexperiment {
            let _ = write!(id, "|GOEXPERIMENT={x}");
        }
        if self.backend != BackendKind::Native {
            let _ = write!(id, "|backend={}", self.backend);
        }
        id
    }

    /// The order of merged results: pattern, toolchain, go line, then the
    /// rest as the settings read.
    pub fn order_key(&self) -> (PatternId, GoVersion, GoVersion, String) {
        (self.pattern.clone(), self.go, self.go_line, self.describe(View::SETTINGS))
    }

    /// A folder name: readable (pattern, toolchain, go line) and unique by
    /// a hash of the id.
    pub fn slug(&self) -> String {
        use sha2::Digest;
        let mut name: String = format!("{}-go{}-line{}", self.pattern, self.go, self.go_line.line_string())
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() || c == '.' || c == '-' { c } else { '_' })
            .collect();
        let hash = sha2::Sha256::digest(self.id().as_bytes());
        let _ = write!(name, "-{:02x}{:02x}{:02x}{:02x}", hash[0], hash[1], hash[2], hash[3]);
        name
    }

    /// The Go benchmark name of one of the cell's variants:
    /// `BenchmarkGCFuzz/pattern=…/go=…/…/variant=buggy`.
    pub fn bench_name(&self, variant: &str) -> String {
        let mut parts = self.parts(View::BENCH);
        parts.push(Part::Param("variant".into(), variant.into()));
        format!("BenchmarkGCFuzz/{}", write_parts(&parts, Style::Path))
    }
}

/// Parts in a style (also for a fuzzer's list of changed parts).
pub fn write_parts(parts: &[Part], style: Style) -> String {
    match style {
        Style::Spoken => parts.iter().map(Part::spoken).collect::<Vec<_>>().join(" "),
        Style::Path => parts
            .iter()
            .map(|p| {
                let (k, v) = p.keyed();
                format!("{}={}", clean(&k), clean(&v))
            })
            .collect::<Vec<_>>()
            .join("/"),
    }
}

/// A path segment's text: whitespace and `/` made `_` (benchstat splits a
/// name on `/`, and its parser on spaces).
fn clean(s: &str) -> String {
    s.chars().map(|c| if c.is_whitespace() || c == '/' { '_' } else { c }).collect()
}

impl fmt::Display for CellConfig {
    /// The label ([`View::LABEL`]).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.describe(View::LABEL))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> CellConfig {
        CellConfig {
            pattern: "15-t".into(),
            go: "1.22.10".parse().unwrap(),
            go_line: GoVersion::parse_line("1.22").unwrap(),
            knobs: Knobs { gogc: Some("50".into()), ..Knobs::default() },
            stress: Stress::default(),
            goexperiment: None,
            params: [("n".to_string(), "3".to_string()), ("m".to_string(), "a b/c".to_string())].into(),
            overrides: [("m".to_string(), "a b/c".to_string())].into(),
            rounds: 12,
            trials: 1,
            backend: BackendKind::Native,
        }
    }

    #[test]
    fn every_view_writes_the_same_parts_in_the_same_order() {
        let c = config();
        assert_eq!(c.to_string(), "15-t go1.22.10 line1.22 GOGC=50 m=a b/c");
        assert_eq!(c.describe(View::CASE), "go1.22.10 line1.22 GOGC=50 m=a b/c");
        assert_eq!(c.describe(View::FULL), "15-t go1.22.10 line1.22 GOGC=50 m=a b/c n=3 rounds12 trials1");
        assert_eq!(
            c.bench_name("buggy"),
            "BenchmarkGCFuzz/pattern=15-t/go=1.22.10/line=1.22/GOGC=50/m=a_b_c/variant=buggy"
        );
        let own = View { go: false, own_line: true, ..View::LABEL };
        assert_eq!(c.describe(own), "15-t line own GOGC=50 m=a b/c");
        let older = CellConfig { go: "1.23.9".parse().unwrap(), ..c.clone() };
        assert_eq!(older.describe(own), "15-t line1.22 GOGC=50 m=a b/c");
        let plain = CellConfig { knobs: Knobs::default(), backend: BackendKind::Wasm, ..c.clone() };
        assert_eq!(plain.to_string(), "15-t go1.22.10 line1.22 - m=a b/c backend:wasm");
        assert_eq!(plain.describe(View::CASE), "go1.22.10 line1.22 m=a b/c backend:wasm");
    }

    #[test]
    fn the_journal_key_keeps_its_spelling() {
        let c = config();
        assert_eq!(c.id(), "15-t|go1.22.10|line1.22|GOGC=50|m=a b/c,n=3|rounds12|trials1|stress-");
        let w = CellConfig { goexperiment: Some("x".into()), backend: BackendKind::Wasm, ..c };
        assert_eq!(
            w.id(),
            "15-t|go1.22.10|line1.22|GOGC=50|m=a b/c,n=3|rounds12|trials1|stress-|GOEXPERIMENT=x|backend=wasm"
        );
        assert!(w.slug().starts_with("15-t-go1.22.10-line1.22-"), "{}", w.slug());
    }

    #[test]
    fn results_read_back_with_old_and_new_backend_names() {
        assert_eq!("".parse::<BackendKind>(), Ok(BackendKind::Native));
        assert_eq!("wasm".parse::<BackendKind>(), Ok(BackendKind::Wasm));
        assert!("qemu".parse::<BackendKind>().unwrap_err().to_string().contains("qemu"));
        let json = serde_json::to_value(config()).unwrap();
        assert_eq!(json["go_line"], "1.22");
        assert_eq!(json["nominal_rounds"], 12);
        assert_eq!(json["backend"], "native");
        let back: CellConfig = serde_json::from_value(json).unwrap();
        assert_eq!(back, config());
        assert_eq!(Role::of("fixed"), Some(Role::Fixed));
        assert_eq!(Role::of("fixed-weak"), None);
    }
}
