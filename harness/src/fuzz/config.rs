//! The fuzzer's input: one run configuration of one pattern, every axis
//! pinned, written as a `--matrix` file that plans exactly that one cell.
//! No LibAFL here: the engine wraps this type.

use crate::cell::{BackendKind, CellConfig, Part, Style};
use crate::knobs::Knobs;
use crate::matrix::{self, MatrixFile, MatrixSpec};
use crate::stress::Stress;
use crate::template::{Pattern, TemplateError};
use crate::version::GoVersion;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

/// One configuration: what a cell is, as the fuzzer changes it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunConfig {
    /// The pattern's id.
    pub pattern: String,
    /// The toolchain.
    pub go: GoVersion,
    /// The go.mod `go` line; `None` is the toolchain's own series.
    pub go_line: Option<GoVersion>,
    /// The backend.
    pub backend: BackendKind,
    /// GOGC, GOMEMLIMIT (absolute or `Nx` of the live set), GOMAXPROCS,
    /// GODEBUG.
    pub knobs: Knobs,
    /// GOEXPERIMENT at build time.
    pub goexperiment: Option<String>,
    /// Stress goroutines.
    pub stress: Stress,
    /// Every parameter of the pattern, formatted for the probe.
    pub params: BTreeMap<String, String>,
    /// Rounds per run.
    pub rounds: u32,
    /// Processes per variant.
    pub trials: u32,
}

/// One axis of a configuration: what minimisation reverts and a finding
/// lists as "changed from the default".
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Field {
    /// The toolchain.
    Go,
    /// The go.mod line.
    GoLine,
    /// The backend.
    Backend,
    /// GOGC.
    Gogc,
    /// GOMEMLIMIT.
    Gomemlimit,
    /// GOMAXPROCS.
    Gomaxprocs,
    /// GODEBUG.
    Godebug,
    /// GOEXPERIMENT.
    Goexperiment,
    /// Stress goroutines.
    Stress,
    /// A pattern parameter.
    Param(String),
    /// Rounds.
    Rounds,
    /// Trials.
    Trials,
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Field::Go => f.write_str("go"),
            Field::GoLine => f.write_str("go_line"),
            Field::Backend => f.write_str("backend"),
            Field::Gogc => f.write_str("GOGC"),
            Field::Gomemlimit => f.write_str("GOMEMLIMIT"),
            Field::Gomaxprocs => f.write_str("GOMAXPROCS"),
            Field::Godebug => f.write_str("GODEBUG"),
            Field::Goexperiment => f.write_str("GOEXPERIMENT"),
            Field::Stress => f.write_str("stress"),
            Field::Param(p) => write!(f, "{p}"),
            Field::Rounds => f.write_str("rounds"),
            Field::Trials => f.write_str("trials"),
        }
    }
}

/// A matrix file that is not one configuration.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// It does not read.
    #[error(transparent)]
    Template(#[from] TemplateError),
    /// It plans other than one cell of one pattern.
    #[error("{path}: {reason}")]
    NotOne {
        /// The file.
        path: String,
        /// Why.
        reason: String,
    },
    /// Planning refused it.
    #[error(transparent)]
    Matrix(#[from] matrix::MatrixError),
}

impl RunConfig {
    /// The go.mod line in effect.
    pub fn line(&self) -> GoVersion {
        self.go_line.unwrap_or_else(|| self.go.series())
    }

    /// The pattern's default configurations on the given toolchains: the
    /// fuzzer's seeds and what minimisation reduces towards.
    pub fn seeds(p: &Pattern, toolchains: &[GoVersion]) -> Vec<RunConfig> {
        let mut out: Vec<RunConfig> = Vec::new();
        for &go in toolchains {
            for c in p.configs.iter().filter(|c| c.applies_to(go)) {
                if c.go_line.is_some_and(|l| l > go.series()) {
                    continue;
                }
                let seed = RunConfig {
                    pattern: p.id.clone(),
                    go,
                    go_line: c.go_line.filter(|l| *l != go.series()),
                    backend: BackendKind::Native,
                    knobs: c.knobs.clone(),
                    goexperiment: c.goexperiment.clone(),
                    stress: c.stress,
                    params: p.default_params(),
                    rounds: p.run.rounds,
                    trials: p.run.trials.max(1),
                };
                if !out.contains(&seed) {
                    out.push(seed);
                }
            }
        }
        out
    }

    /// The spec that plans exactly this configuration.
    pub fn spec(&self) -> MatrixSpec {
        let knob = |v: &Option<String>| Some(vec![v.clone().unwrap_or_default()]);
        MatrixSpec {
            go: vec![self.go],
            go_lines: Some(vec![self.line()]),
            gogc: knob(&self.knobs.gogc),
            gomemlimit: knob(&self.knobs.gomemlimit),
            gomaxprocs: knob(&self.knobs.gomaxprocs),
            godebug: knob(&self.knobs.godebug),
            params: self.params.iter().map(|(k, v)| (k.clone(), vec![v.clone()])).collect(),
            rounds: Some(self.rounds),
            trials: Some(self.trials),
            stress: Some(vec![self.stress]),
            goexperiment: Some(vec![self.goexperiment.clone().unwrap_or_default()]),
            backends: vec![self.backend],
        }
    }

    /// The one cell this configuration is, planned like any other.
    pub fn cell(&self, p: &Pattern) -> Result<CellConfig, ConfigError> {
        let mut plan = matrix::plan(&[p], &self.spec())?;
        match plan.cells.len() {
            1 => {
                let mut cell = plan.cells.remove(0);
                // The parameters are always written out; label only the
                // ones that differ from the defaults.
                let defaults = p.default_params();
                cell.overrides.retain(|k, v| defaults.get(k) != Some(v));
                Ok(cell)
            }
            n => Err(ConfigError::NotOne {
                path: self.pattern.clone(),
                reason: format!("plans {n} cells ({})", plan.skipped_reasons()),
            }),
        }
    }

    /// The configuration as a matrix file's axes.
    pub fn matrix_file(&self) -> MatrixFile {
        let one = |s: String| Some(vec![s]);
        MatrixFile {
            patterns: vec![self.pattern.clone()],
            go: one(self.go.to_string()),
            go_line: one(self.line().line_string()),
            gogc: one(self.knobs.gogc.clone().unwrap_or_default()),
            gomemlimit: one(self.knobs.gomemlimit.clone().unwrap_or_default()),
            gomaxprocs: one(self.knobs.gomaxprocs.clone().unwrap_or_default()),
            godebug: one(self.knobs.godebug.clone().unwrap_or_default()),
            stress: one(self.stress.to_string()),
            goexperiment: one(self.goexperiment.clone().unwrap_or_default()),
            params: self.params.clone(),
            rounds: Some(self.rounds),
            trials: Some(self.trials),
            backend: Some(vec![self.backend]),
        }
    }

    /// Readable YAML, a valid `--matrix` file; `header` lines become
    /// comments on top.
    pub fn to_yaml(&self, header: &[String]) -> String {
        let q = |s: &str| serde_json::to_string(s).expect("a string serializes");
        let list = |s: &str| format!("[{}]", q(s));
        let m = self.matrix_file();
        let first = |v: &Option<Vec<String>>| v.as_ref().and_then(|v| v.first().cloned()).unwrap_or_default();
        let mut out = String::new();
        for h in header {
            for line in h.lines() {
                out.push_str(&format!("# {line}\n").replace("# \n", "#\n"));
            }
        }
        out.push_str(&format!("patterns: {}\n", list(&self.pattern)));
        for (k, v) in [
            ("go", &m.go),
            ("go_line", &m.go_line),
            ("backend", &Some(vec![self.backend.to_string()])),
            ("gogc", &m.gogc),
            ("gomemlimit", &m.gomemlimit),
            ("gomaxprocs", &m.gomaxprocs),
            ("godebug", &m.godebug),
            ("goexperiment", &m.goexperiment),
            ("stress", &m.stress),
        ] {
            out.push_str(&format!("{k}: {}\n", list(&first(v))));
        }
        if self.params.is_empty() {
            out.push_str("params: {}\n");
        } else {
            out.push_str("params:\n");
            for (k, v) in &self.params {
                out.push_str(&format!("  {k}: {}\n", q(v)));
            }
        }
        out.push_str(&format!("rounds: {}\ntrials: {}\n", self.rounds, self.trials));
        out
    }

    /// Reads a configuration back from a matrix file that pins every axis
    /// to one value (what [`RunConfig::to_yaml`] writes), checked against
    /// the loaded `patterns`: the id resolves, parameters are in range and
    /// the ones left out take their defaults.
    pub fn from_matrix(m: &MatrixFile, patterns: &[Pattern], path: &Path) -> Result<RunConfig, ConfigError> {
        let bad = |reason: String| ConfigError::NotOne { path: path.display().to_string(), reason };
        let selected = crate::template::select(patterns, &m.patterns)?;
        let [p] = selected.as_slice() else {
            return Err(bad(format!("names {} patterns; a configuration is of one", selected.len())));
        };
        let mut c = RunConfig::from_matrix_raw(m, path)?;
        c.pattern = p.id.clone();
        let mut params = p.default_params();
        for (k, v) in &c.params {
            let param = p.params.iter().find(|q| &q.name == k).ok_or_else(|| bad(format!("no parameter `{k}`")))?;
            params.insert(k.clone(), param.check(v).map_err(|e| bad(format!("parameter `{k}`: {e}")))?);
        }
        c.params = params;
        Ok(c)
    }

    /// The configuration a one-value-per-axis matrix file holds, as
    /// written (no pattern to check it against).
    pub fn from_matrix_raw(m: &MatrixFile, path: &Path) -> Result<RunConfig, ConfigError> {
        let bad = |reason: String| ConfigError::NotOne { path: path.display().to_string(), reason };
        let one = |name: &str, v: &Option<Vec<String>>| -> Result<String, ConfigError> {
            match v.as_deref() {
                Some([x]) => Ok(x.trim().to_string()),
                _ => Err(bad(format!("`{name}` must have exactly one value"))),
            }
        };
        let [pattern] = m.patterns.as_slice() else {
            return Err(bad("`patterns` must name exactly one pattern".into()));
        };
        let go: GoVersion = one("go", &m.go)?.parse().map_err(|e: crate::version::VersionError| bad(e.to_string()))?;
        let line = GoVersion::parse_line(&one("go_line", &m.go_line)?).map_err(|e| bad(e.to_string()))?;
        let opt = |s: String| Some(s).filter(|s| !s.is_empty());
        let stress = one("stress", &m.stress)?;
        Ok(RunConfig {
            pattern: pattern.clone(),
            go,
            go_line: Some(line).filter(|l| *l != go.series()),
            backend: match m.backend.as_deref() {
                None => BackendKind::Native,
                Some([b]) => *b,
                Some(_) => return Err(bad("`backend` must have exactly one value".into())),
            },
            knobs: Knobs {
                gogc: opt(one("gogc", &m.gogc)?),
                gomemlimit: opt(one("gomemlimit", &m.gomemlimit)?),
                gomaxprocs: opt(one("gomaxprocs", &m.gomaxprocs)?),
                godebug: opt(one("godebug", &m.godebug)?),
            },
            goexperiment: opt(one("goexperiment", &m.goexperiment)?),
            stress: if stress.is_empty() {
                Stress::default()
            } else {
                stress.parse().map_err(|e| bad(format!("{e}")))?
            },
            params: m.params.clone(),
            rounds: m.rounds.ok_or_else(|| bad("`rounds` must be set".into()))?,
            trials: m.trials.ok_or_else(|| bad("`trials` must be set".into()))?,
        })
    }

    /// Reads a configuration file.
    pub fn load(path: &Path, patterns: &[Pattern]) -> Result<RunConfig, ConfigError> {
        let m = matrix::load_file(path)?;
        RunConfig::from_matrix(&m, patterns, path)
    }

    /// The axes on which this configuration differs from `base`.
    pub fn changes(&self, base: &RunConfig) -> Vec<Field> {
        let mut out = Vec::new();
        let mut diff = |same: bool, f: Field| {
            if !same {
                out.push(f)
            }
        };
        diff(self.go == base.go, Field::Go);
        diff(self.go_line == base.go_line, Field::GoLine);
        diff(self.backend == base.backend, Field::Backend);
        diff(self.knobs.gogc == base.knobs.gogc, Field::Gogc);
        diff(self.knobs.gomemlimit == base.knobs.gomemlimit, Field::Gomemlimit);
        diff(self.knobs.gomaxprocs == base.knobs.gomaxprocs, Field::Gomaxprocs);
        diff(self.knobs.godebug == base.knobs.godebug, Field::Godebug);
        diff(self.goexperiment == base.goexperiment, Field::Goexperiment);
        diff(self.stress == base.stress, Field::Stress);
        let names: std::collections::BTreeSet<&String> = self.params.keys().chain(base.params.keys()).collect();
        for k in names {
            diff(self.params.get(k) == base.params.get(k), Field::Param(k.clone()));
        }
        diff(self.rounds == base.rounds, Field::Rounds);
        diff(self.trials == base.trials, Field::Trials);
        out
    }

    /// This configuration with `field` taken from `base`.
    pub fn with_field_of(&self, field: &Field, base: &RunConfig) -> RunConfig {
        let mut c = self.clone();
        match field {
            Field::Go => c.go = base.go,
            Field::GoLine => c.go_line = base.go_line,
            Field::Backend => c.backend = base.backend,
            Field::Gogc => c.knobs.gogc = base.knobs.gogc.clone(),
            Field::Gomemlimit => c.knobs.gomemlimit = base.knobs.gomemlimit.clone(),
            Field::Gomaxprocs => c.knobs.gomaxprocs = base.knobs.gomaxprocs.clone(),
            Field::Godebug => c.knobs.godebug = base.knobs.godebug.clone(),
            Field::Goexperiment => c.goexperiment = base.goexperiment.clone(),
            Field::Stress => c.stress = base.stress,
            Field::Param(k) => match base.params.get(k) {
                Some(v) => {
                    c.params.insert(k.clone(), v.clone());
                }
                None => {
                    c.params.remove(k);
                }
            },
            Field::Rounds => c.rounds = base.rounds,
            Field::Trials => c.trials = base.trials,
        }
        c
    }

    /// The default configuration nearest this one (fewest changes; the
    /// first on ties), and those changes.
    pub fn nearest<'s>(&self, seeds: &'s [RunConfig]) -> Option<(&'s RunConfig, Vec<Field>)> {
        seeds.iter().map(|s| (s, self.changes(s))).min_by_key(|(_, c)| c.len())
    }

    /// A short, stable name: a hash of the YAML.
    pub fn digest(&self) -> String {
        use sha2::Digest;
        let h = sha2::Sha256::digest(self.to_yaml(&[]).as_bytes());
        h.iter().take(6).map(|b| format!("{b:02x}")).collect()
    }

    /// `go1.22.10 line1.21 GOGC=50 size_mib=12`: the changes from `base`,
    /// for people, as cells write their parts.
    pub fn describe_changes(&self, base: &RunConfig) -> String {
        let or = |v: &Option<String>, none: &str| v.clone().unwrap_or_else(|| none.to_string());
        let parts: Vec<Part> = self
            .changes(base)
            .iter()
            .map(|f| match f {
                Field::Go => Part::Go(self.go.to_string()),
                Field::GoLine => Part::Line(self.line().line_string()),
                Field::Backend => Part::Backend(self.backend),
                Field::Gogc => Part::Knob("GOGC", or(&self.knobs.gogc, "(unset)")),
                Field::Gomemlimit => Part::Knob("GOMEMLIMIT", or(&self.knobs.gomemlimit, "(unset)")),
                Field::Gomaxprocs => Part::Knob("GOMAXPROCS", or(&self.knobs.gomaxprocs, "(unset)")),
                Field::Godebug => Part::Knob("GODEBUG", or(&self.knobs.godebug, "(unset)")),
                Field::Goexperiment => Part::Experiment(or(&self.goexperiment, "(none)")),
                Field::Stress => Part::Stress(self.stress.to_string()),
                Field::Param(k) => Part::Param(k.clone(), self.params.get(k).cloned().unwrap_or_else(|| "?".into())),
                Field::Rounds => Part::Rounds(self.rounds),
                Field::Trials => Part::Trials(self.trials),
            })
            .collect();
        if parts.is_empty() {
            "(the default configuration)".into()
        } else {
            crate::cell::write_parts(&parts, Style::Spoken)
        }
    }

    /// The cell this configuration names, unchecked (for a configuration
    /// that could not be planned; [`RunConfig::cell`] plans it).
    pub fn as_cell(&self) -> CellConfig {
        CellConfig {
            pattern: self.pattern.as_str().into(),
            go: self.go,
            go_line: self.line(),
            knobs: self.knobs.clone(),
            stress: self.stress,
            goexperiment: self.goexperiment.clone(),
            params: self.params.clone(),
            overrides: BTreeMap::new(),
            rounds: self.rounds,
            trials: self.trials,
            backend: self.backend,
        }
    }
}

impl std::hash::Hash for RunConfig {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.to_yaml(&[]).hash(state)
    }
}
