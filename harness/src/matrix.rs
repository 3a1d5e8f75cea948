//! Planning: patterns × Go versions × configurations → cells.
//!
//! Each pattern declares default configurations (go line, knobs, and which
//! toolchains they apply to). Axes given on the command line replace that
//! setting in every configuration and cross with each other, so
//! `--gogc 50,off` doubles the cells and `--go-line 1.21,1.22` sets the go
//! line of all of them. A go line newer than the toolchain cannot build
//! (GOTOOLCHAIN=local) and is skipped with a reason. Pure: no I/O, except
//! [`load_file`] reading a `--matrix` file.
//!
//! What people write (a [`MatrixFile`], the command line's flags as one
//! too) becomes a [`MatrixSpec`] by [`resolve`]; [`plan`] turns a spec into
//! [`CellConfig`]s. A cell is everything a judgement needs to know about a
//! configuration; which program it needs is the builder's question.

use crate::cell::{BackendKind, CellConfig, Role};
use crate::knobs::Knobs;
use crate::template::{Config, Need, Pattern, TemplateError};
use crate::toolchain::{ToolchainError, Toolchains};
use crate::version::{GoVersion, VersionError};
use serde::Serialize;
use std::collections::BTreeMap;

/// What the user asked for beyond the patterns' defaults.
#[derive(Clone, Debug, Default)]
pub struct MatrixSpec {
    /// Toolchains.
    pub go: Vec<GoVersion>,
    /// go.mod lines; `None` keeps each configuration's.
    pub go_lines: Option<Vec<GoVersion>>,
    /// GOGC values; `None` keeps each configuration's.
    pub gogc: Option<Vec<String>>,
    /// GOMEMLIMIT values.
    pub gomemlimit: Option<Vec<String>>,
    /// GOMAXPROCS values.
    pub gomaxprocs: Option<Vec<String>>,
    /// GODEBUG values.
    pub godebug: Option<Vec<String>>,
    /// Parameter overrides, `name → values`, for every pattern that has
    /// them; several values are an axis.
    pub params: BTreeMap<String, Vec<String>>,
    /// Rounds per run instead of each pattern's.
    pub rounds: Option<u32>,
    /// Trials per variant instead of each pattern's.
    pub trials: Option<u32>,
    /// Stress settings; `None` keeps each configuration's.
    pub stress: Option<Vec<crate::stress::Stress>>,
    /// GOEXPERIMENT values (a build dimension); `None` keeps each
    /// configuration's, an empty string is none.
    pub goexperiment: Option<Vec<String>>,
    /// Backends (an axis); empty means native.
    pub backends: Vec<BackendKind>,
}

/// A planning error (bad user input).
#[derive(Debug, thiserror::Error)]
pub enum MatrixError {
    /// A `--param` no selected pattern has.
    #[error("no selected pattern has a parameter `{0}`\n(see the `params` of the patterns in `gcfuzz list --verbose`)")]
    UnknownParam(String),
    /// A `--param` value out of range.
    #[error("pattern `{pattern}`, parameter `{param}`: {reason}")]
    BadParam {
        /// The pattern.
        pattern: String,
        /// The parameter.
        param: String,
        /// Why.
        reason: String,
    },
    /// Rounds too few for the statistics.
    #[error("--rounds {rounds} leaves fewer than 3 rounds after `{pattern}`'s {warmup} warm-up rounds")]
    TooFewRounds {
        /// The pattern.
        pattern: String,
        /// Asked.
        rounds: u32,
        /// Its warm-up.
        warmup: u32,
    },
    /// A runtime knob that cannot be applied.
    #[error("pattern `{pattern}`: {reason}")]
    BadKnob {
        /// The pattern.
        pattern: String,
        /// Why.
        reason: String,
    },
    /// Rounds or trials beyond what a run may ask for.
    #[error("{0}")]
    Bound(String),
    /// A plan larger than gcfuzz plans.
    #[error(
        "the plan has more than {max} cells (at least {at}); narrow the axes, or split it with --shard in one plan of at most {max}"
    )]
    TooLarge {
        /// The limit.
        max: usize,
        /// How many it had when planning stopped.
        at: usize,
    },
    /// A `--param` that is not `KEY=VALUE[,VALUE…]`.
    #[error("--param `{0}` must be KEY=VALUE[,VALUE…]")]
    ParamSyntax(String),
    /// A runtime knob value the Go runtime would not read.
    #[error("{0}")]
    Knob(String),
    /// A pattern name that selects nothing, or a matrix file that does not read.
    #[error(transparent)]
    Template(#[from] TemplateError),
    /// A Go version gcfuzz does not know.
    #[error(transparent)]
    Toolchain(#[from] ToolchainError),
    /// A malformed go line.
    #[error(transparent)]
    Version(#[from] VersionError),
    /// A malformed stress setting.
    #[error(transparent)]
    Stress(#[from] crate::stress::StressError),
}

impl crate::errors::Classified for MatrixError {
    fn class(&self) -> Option<crate::errors::Class> {
        Some(crate::errors::Class::Usage)
    }
}

/// The planned cells and what was left out.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Plan {
    /// Cells, by pattern, then toolchain, then configuration order.
    pub cells: Vec<CellConfig>,
    /// Combinations that are not run, with why: reported as cells with
    /// the verdict `skipped`.
    pub skipped: Vec<Skipped>,
}

impl Plan {
    /// Every skipped cell's line, joined with `; ` (for "nothing to run").
    pub fn skipped_reasons(&self) -> String {
        self.skipped.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ")
    }
}

/// A cell the plan leaves out, and why.
#[derive(Clone, Debug, Serialize)]
pub struct Skipped {
    /// The cell as it would have been.
    pub cell: CellConfig,
    /// Why it is not run: the pattern's `configs`, a go line newer than
    /// the toolchain, what the backend lacks.
    pub reason: String,
}

impl std::fmt::Display for Skipped {
    /// `15-t on Go 1.21.13 (GODEBUG=x=1 backend:wasm): why`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let c = &self.cell;
        let settings = c.describe(crate::cell::View { knobs_always: false, ..crate::cell::View::SETTINGS });
        let settings = if settings.is_empty() { String::new() } else { format!(" ({settings})") };
        write!(f, "{} on Go {}{settings}: {}", c.pattern, c.go, self.reason)
    }
}

/// What a backend cannot give a program: all the planner knows of
/// backends. `native` lacks nothing; `wasm` (a wasip1 module in wasmtime)
/// has one thread, no sockets, no files beyond stdio, no signals and no
/// system calls beyond WASI's; `synthetic` models series and lacks
/// nothing it is asked for.
pub fn lacks(backend: BackendKind) -> &'static [Need] {
    match backend {
        BackendKind::Wasm => &Need::ALL,
        BackendKind::Native | BackendKind::Synthetic => &[],
    }
}

/// Why `backend` cannot run a cell of `p` with `knobs`, if it cannot:
/// the pattern's declared needs, and threads for GOMAXPROCS > 1 (in the
/// configuration or a variant's own settings).
pub fn cannot_run(backend: BackendKind, p: &Pattern, knobs: &Knobs) -> Option<String> {
    let lacking = lacks(backend);
    let mut missing: Vec<String> =
        p.needs.iter().filter(|n| lacking.contains(n)).map(|n| n.name().to_string()).collect();
    let procs = |k: &Knobs| k.gomaxprocs.as_deref().and_then(|v| v.trim().parse::<u32>().ok()).unwrap_or(1);
    let many =
        std::iter::once(knobs.clone()).chain(p.variants.iter().map(|v| knobs.overlay(&v.env))).any(|k| procs(&k) > 1);
    if many && lacking.contains(&Need::Threads) && !p.needs.contains(&Need::Threads) {
        missing.push("threads (GOMAXPROCS > 1)".into());
    }
    (!missing.is_empty()).then(|| format!("needs {}, which the {backend} backend lacks", missing.join(", ")))
}

/// The most cells one plan may have. A cell is two processes of at
/// least a fraction of a second, so 100,000 cells are days of machine
/// time: past that the axes were crossed by mistake, and planning stops
/// with a clear refusal before memory and minutes go into a plan no one
/// will run (`--shard` splits a plan up to this size across CI jobs).
pub const MAX_CELLS: usize = 100_000;

/// Plans the cells of `patterns` for `spec`.
pub fn plan(patterns: &[&Pattern], spec: &MatrixSpec) -> Result<Plan, MatrixError> {
    check_spec(patterns, spec)?;
    let backends = if spec.backends.is_empty() { vec![BackendKind::Native] } else { spec.backends.clone() };
    let backends = &backends;
    let mut out = Plan::default();
    for p in patterns {
        let param_sets = param_sets(p, spec)?;
        let rounds = spec.rounds.unwrap_or(p.run.rounds);
        if rounds < p.run.warmup + 3 {
            return Err(MatrixError::TooFewRounds { pattern: p.id.clone(), rounds, warmup: p.run.warmup });
        }
        let configs = expand(&p.configs, spec)?;
        let trials = spec.trials.unwrap_or(p.run.trials).max(1);
        let cell = |go: GoVersion,
                    go_line: GoVersion,
                    config: &Config,
                    params: &BTreeMap<String, String>,
                    backend: BackendKind| {
            CellConfig {
                pattern: p.id.as_str().into(),
                go,
                go_line,
                knobs: config.knobs.clone(),
                stress: config.stress,
                goexperiment: config.goexperiment.clone(),
                params: params.clone(),
                overrides: params
                    .iter()
                    .filter(|(k, _)| spec.params.contains_key(*k))
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect(),
                rounds,
                trials,
                backend,
            }
        };
        for &go in &spec.go {
            // What makes two configurations the same cell.
            type Same = (GoVersion, Knobs, String, Option<String>, BTreeMap<String, String>);
            let mut seen: std::collections::BTreeSet<Same> = std::collections::BTreeSet::new();
            // Configurations the pattern limits to other toolchains: skipped
            // unless another configuration makes the same cell.
            let mut excluded: Vec<(Same, Skipped)> = Vec::new();
            for (config, params) in configs.iter().flat_map(|c| param_sets.iter().map(move |ps| (c, ps))) {
                let go_line = config.go_line.unwrap_or_else(|| go.series());
                let key = (
                    go_line,
                    config.knobs.clone(),
                    config.stress.to_string(),
                    config.goexperiment.clone(),
                    params.clone(),
                );
                if !config.applies_to(go) {
                    let req = config.go.as_deref().unwrap_or("");
                    for &backend in backends {
                        let reason = format!("the pattern's configs limit this configuration to go `{req}`");
                        excluded
                            .push((key.clone(), Skipped { cell: cell(go, go_line, config, params, backend), reason }));
                    }
                    continue;
                }
                if go_line > go.series() {
                    if seen.insert(key) {
                        for &backend in backends {
                            let reason = format!("go line {} needs a newer toolchain", go_line.line_string());
                            out.skipped.push(Skipped { cell: cell(go, go_line, config, params, backend), reason });
                        }
                    }
                    continue;
                }
                if !seen.insert(key) {
                    continue;
                }
                // A GOMEMLIMIT relative to the live set must resolve for
                // both variants (each may set its own): say so now, not
                // per cell.
                for v in p.variants.iter().filter(|v| Role::of(&v.name).is_some()) {
                    config
                        .knobs
                        .overlay(&v.env)
                        .resolve_relative(p.live_mib(params))
                        .map_err(|reason| MatrixError::BadKnob { pattern: p.id.clone(), reason })?;
                }
                for &backend in backends {
                    if out.cells.len() >= MAX_CELLS {
                        return Err(MatrixError::TooLarge { max: MAX_CELLS, at: out.cells.len() + 1 });
                    }
                    let c = cell(go, go_line, config, params, backend);
                    match cannot_run(backend, p, &config.knobs) {
                        Some(reason) => out.skipped.push(Skipped { cell: c, reason }),
                        None => out.cells.push(c),
                    }
                }
            }
            let mut once = std::collections::BTreeSet::new();
            for (key, skip) in excluded {
                if !seen.contains(&key) && once.insert((key, skip.cell.backend)) {
                    out.skipped.push(skip);
                }
            }
        }
    }
    Ok(out)
}

/// What a spec asks that no plan can give: a parameter none of the
/// patterns has, trials or rounds out of bounds.
fn check_spec(patterns: &[&Pattern], spec: &MatrixSpec) -> Result<(), MatrixError> {
    for name in spec.params.keys() {
        if !patterns.iter().any(|p| p.params.iter().any(|q| &q.name == name)) {
            return Err(MatrixError::UnknownParam(name.clone()));
        }
    }
    if let Some(t) = spec.trials
        && !(1..=crate::template::MAX_TRIALS).contains(&t)
    {
        return Err(MatrixError::Bound(format!("trials must be 1 to {}, not {t}", crate::template::MAX_TRIALS)));
    }
    if let Some(r) = spec.rounds
        && r > crate::template::MAX_ROUNDS
    {
        return Err(MatrixError::Bound(format!(
            "rounds {r} is more than {}: a run must end",
            crate::template::MAX_ROUNDS
        )));
    }
    Ok(())
}

/// Every combination of the overridden parameter values `p` has, each a
/// full parameter set (defaults for the rest).
fn param_sets(p: &Pattern, spec: &MatrixSpec) -> Result<Vec<BTreeMap<String, String>>, MatrixError> {
    let mut param_sets = vec![p.default_params()];
    for (name, raws) in &spec.params {
        if let Some(param) = p.params.iter().find(|q| &q.name == name) {
            let mut next = Vec::new();
            for set in &param_sets {
                for raw in raws {
                    let v = param.check(raw).map_err(|reason| MatrixError::BadParam {
                        pattern: p.id.clone(),
                        param: name.clone(),
                        reason,
                    })?;
                    let mut set = set.clone();
                    set.insert(name.clone(), v);
                    next.push(set);
                }
            }
            param_sets = next;
            if param_sets.len() > MAX_CELLS {
                return Err(MatrixError::TooLarge { max: MAX_CELLS, at: param_sets.len() });
            }
        }
    }
    Ok(param_sets)
}

/// The pattern's configurations with the command line's axes applied;
/// refused past [`MAX_CELLS`] (each is at least one cell per toolchain).
fn expand(configs: &[Config], spec: &MatrixSpec) -> Result<Vec<Config>, MatrixError> {
    let mut out: Vec<Config> = configs.to_vec();
    if let Some(lines) = &spec.go_lines {
        out = cross(&out, lines, |c, l| c.go_line = Some(*l))?;
    }
    // An empty value is the runtime's default (the variable unset), so a
    // file can pin every axis and still leave a knob alone.
    let set = |x: &String| Some(x.trim().to_string()).filter(|s| !s.is_empty());
    if let Some(v) = &spec.gogc {
        out = cross(&out, v, |c, x| c.knobs.gogc = set(x))?;
    }
    if let Some(v) = &spec.gomemlimit {
        out = cross(&out, v, |c, x| c.knobs.gomemlimit = set(x))?;
    }
    if let Some(v) = &spec.gomaxprocs {
        out = cross(&out, v, |c, x| c.knobs.gomaxprocs = set(x))?;
    }
    if let Some(v) = &spec.godebug {
        out = cross(&out, v, |c, x| c.knobs.godebug = Some(x.clone()).filter(|s| !s.is_empty()))?;
    }
    if let Some(v) = &spec.stress {
        out = cross(&out, v, |c, x| c.stress = *x)?;
    }
    if let Some(v) = &spec.goexperiment {
        out = cross(&out, v, |c, x| c.goexperiment = Some(x.clone()).filter(|s| !s.is_empty()))?;
    }
    Ok(out)
}

fn cross<T>(configs: &[Config], values: &[T], set: impl Fn(&mut Config, &T)) -> Result<Vec<Config>, MatrixError> {
    let n = configs.len().saturating_mul(values.len());
    if n > MAX_CELLS {
        return Err(MatrixError::TooLarge { max: MAX_CELLS, at: n });
    }
    let mut out = Vec::with_capacity(n);
    for c in configs {
        for v in values {
            let mut c = c.clone();
            set(&mut c, v);
            out.push(c);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::template::parse_pattern;
    use std::path::Path;

    fn pattern() -> Pattern {
        let yaml = r#"
title: t
seed_bug: 15
family: reachability
summary: s
common: [c.go]
variants: {buggy: {about: b}, fixed: {about: f}}
params: {workers: {type: int, default: 10, range: [1, 100]}}
signals: [{name: g, metric: goroutines, stat: slope, present_above: 1}]
configs:
  - {}
  - {go_line: "1.22"}
  - {go: ">=1.23", godebug: asynctimerchan=1}
expect: [{verdict: reproduced}]
"#;
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join("c.go"), "package scenario\n").unwrap();
        parse_pattern(yaml, Path::new("p.yaml"), "15-t", d.path()).unwrap()
    }

    fn v(s: &str) -> GoVersion {
        s.parse().unwrap()
    }

    fn labels(p: &Plan) -> Vec<String> {
        p.cells.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn pattern_configs_per_toolchain() {
        let p = pattern();
        let spec = MatrixSpec { go: vec![v("1.21.13"), v("1.22.10"), v("1.27.3")], ..Default::default() };
        let plan = plan(&[&p], &spec).unwrap();
        assert_eq!(
            labels(&plan),
            [
                "15-t go1.21.13 line1.21 -",
                "15-t go1.22.10 line1.22 -",
                "15-t go1.27.3 line1.27 -",
                "15-t go1.27.3 line1.22 -",
                "15-t go1.27.3 line1.27 GODEBUG=asynctimerchan=1",
            ],
            "1.22.10's two first configs are the same cell, 1.21 cannot build go 1.22"
        );
        let skipped: Vec<String> = plan.skipped.iter().map(ToString::to_string).collect();
        assert_eq!(
            skipped,
            [
                "15-t on Go 1.21.13: go line 1.22 needs a newer toolchain",
                "15-t on Go 1.21.13 (GODEBUG=asynctimerchan=1): the pattern's configs limit this configuration to go `>=1.23`",
                "15-t on Go 1.22.10 (GODEBUG=asynctimerchan=1): the pattern's configs limit this configuration to go `>=1.23`",
            ],
            "every cell left out is reported, with why"
        );
        assert_eq!(plan.skipped[1].cell.go_line, v("1.21"), "the cell as it would have been");
        assert_eq!(plan.cells[0].params["workers"], "10");
        assert_eq!(
            crate::build::BuildKey::for_cell(&plan.cells[0], crate::build::Target::Native),
            crate::build::BuildKey::new(v("1.21.13"), v("1.21"))
        );
        assert!(
            plan.cells.iter().all(|c| c.backend == crate::cell::BackendKind::Native && !c.id().contains("backend"))
        );
    }

    #[test]
    fn command_line_axes_replace_and_cross() {
        let p = pattern();
        let spec = MatrixSpec {
            go: vec![v("1.27.3")],
            go_lines: Some(vec![v("1.21"), v("1.22")]),
            gogc: Some(vec!["50".into(), "off".into()]),
            params: [("workers".to_string(), vec!["20".to_string()])].into(),
            rounds: Some(6),
            ..Default::default()
        };
        let plan = plan(&[&p], &spec).unwrap();
        assert_eq!(
            labels(&plan),
            [
                "15-t go1.27.3 line1.21 GOGC=50 workers=20",
                "15-t go1.27.3 line1.21 GOGC=off workers=20",
                "15-t go1.27.3 line1.22 GOGC=50 workers=20",
                "15-t go1.27.3 line1.22 GOGC=off workers=20",
                "15-t go1.27.3 line1.21 GODEBUG=asynctimerchan=1 GOGC=50 workers=20",
                "15-t go1.27.3 line1.21 GODEBUG=asynctimerchan=1 GOGC=off workers=20",
                "15-t go1.27.3 line1.22 GODEBUG=asynctimerchan=1 GOGC=50 workers=20",
                "15-t go1.27.3 line1.22 GODEBUG=asynctimerchan=1 GOGC=off workers=20",
            ]
        );
        assert!(plan.cells.iter().all(|c| c.params["workers"] == "20" && c.rounds == 6));
    }

    #[test]
    fn several_parameter_values_are_an_axis() {
        let p = pattern();
        let spec = MatrixSpec {
            go: vec![v("1.22.10")],
            params: [("workers".to_string(), vec!["5".to_string(), "50".to_string()])].into(),
            ..Default::default()
        };
        let plan = plan(&[&p], &spec).unwrap();
        let workers: Vec<&str> = plan.cells.iter().map(|c| c.params["workers"].as_str()).collect();
        assert_eq!(workers, ["5", "50"], "1.22.10's two configurations are one cell, per value");
        assert_ne!(plan.cells[0].id(), plan.cells[1].id());
    }

    #[test]
    fn stress_is_an_axis() {
        let p = pattern();
        let spec = MatrixSpec {
            go: vec![v("1.22.10")],
            stress: Some(vec!["gc-ms=5".parse().unwrap(), Default::default()]),
            ..Default::default()
        };
        let plan = plan(&[&p], &spec).unwrap();
        assert_eq!(labels(&plan), ["15-t go1.22.10 line1.22 - stress:gc-ms=5", "15-t go1.22.10 line1.22 -"]);
        assert_ne!(plan.cells[0].id(), plan.cells[1].id(), "stress is part of a cell's identity");
    }

    #[test]
    fn backends_are_an_axis_and_name_themselves_in_ids_and_labels() {
        let p = pattern();
        let spec = MatrixSpec {
            go: vec![v("1.21.13")],
            backends: vec![crate::cell::BackendKind::Native, crate::cell::BackendKind::Wasm],
            ..Default::default()
        };
        let plan = plan(&[&p], &spec).unwrap();
        assert_eq!(labels(&plan), ["15-t go1.21.13 line1.21 -", "15-t go1.21.13 line1.21 - backend:wasm"]);
        assert!(!plan.cells[0].id().contains("backend"), "native ids read as they always have");
        assert!(plan.cells[1].id().ends_with("|backend=wasm"));
    }

    #[test]
    fn a_backend_that_lacks_what_a_pattern_needs_skips_its_cells_with_the_reason() {
        let mut p = pattern();
        let spec = |procs: &[&str]| MatrixSpec {
            go: vec![v("1.21.13")],
            backends: vec![crate::cell::BackendKind::Native, crate::cell::BackendKind::Wasm],
            gomaxprocs: Some(procs.iter().map(|s| s.to_string()).collect()),
            ..Default::default()
        };
        // GOMAXPROCS > 1 needs threads, which wasm lacks; 1 runs anywhere.
        let plan1 = plan(&[&p], &spec(&["1", "2"])).unwrap();
        assert_eq!(
            labels(&plan1),
            [
                "15-t go1.21.13 line1.21 GOMAXPROCS=1",
                "15-t go1.21.13 line1.21 GOMAXPROCS=1 backend:wasm",
                "15-t go1.21.13 line1.21 GOMAXPROCS=2"
            ]
        );
        let for_wasm = |p: &Plan| -> Vec<String> {
            p.skipped.iter().map(ToString::to_string).filter(|s| s.contains("backend lacks")).collect()
        };
        assert_eq!(
            for_wasm(&plan1),
            [
                "15-t on Go 1.21.13 (GOMAXPROCS=2 backend:wasm): needs threads (GOMAXPROCS > 1), which the wasm backend lacks"
            ]
        );
        // A variant's own GOMAXPROCS counts too.
        p.variants[1].env.gomaxprocs = Some("4".into());
        assert_eq!(plan(&[&p], &spec(&["1"])).unwrap().cells.len(), 1, "native only");
        // Declared needs: the native backend has them all.
        p.variants[1].env.gomaxprocs = None;
        p.needs = vec![Need::Sockets, Need::Files];
        let plan2 = plan(&[&p], &spec(&["1"])).unwrap();
        assert_eq!(labels(&plan2), ["15-t go1.21.13 line1.21 GOMAXPROCS=1"]);
        assert_eq!(
            for_wasm(&plan2),
            ["15-t on Go 1.21.13 (GOMAXPROCS=1 backend:wasm): needs sockets, files, which the wasm backend lacks"]
        );
        assert!(lacks(crate::cell::BackendKind::Native).is_empty());
    }

    #[test]
    fn a_relative_gomemlimit_that_cannot_resolve_is_a_planning_error() {
        let p = pattern();
        let spec = |limit: &str| MatrixSpec {
            go: vec![v("1.27.3")],
            gomemlimit: Some(vec![limit.to_string()]),
            ..Default::default()
        };
        let e = plan(&[&p], &spec("ax")).unwrap_err();
        assert!(matches!(&e, MatrixError::BadKnob { pattern, .. } if pattern == "15-t"), "{e}");
        assert!(e.to_string().contains("GOMEMLIMIT `ax`"), "{e}");
        assert!(plan(&[&p], &spec("0.5x")).is_ok());
    }

    #[test]
    fn bad_overrides_are_errors() {
        let p = pattern();
        let spec = |k: &str, val: &str| MatrixSpec {
            go: vec![v("1.27.3")],
            params: [(k.to_string(), vec![val.to_string()])].into(),
            ..Default::default()
        };
        assert!(matches!(plan(&[&p], &spec("jobs", "1")), Err(MatrixError::UnknownParam(_))));
        let e = plan(&[&p], &spec("workers", "1000")).unwrap_err().to_string();
        assert!(e.contains("outside the range"), "{e}");
        let few = MatrixSpec { go: vec![v("1.27.3")], rounds: Some(3), ..Default::default() };
        assert!(matches!(plan(&[&p], &few), Err(MatrixError::TooFewRounds { .. })));
        for (trials, rounds) in [(Some(100_000), None), (Some(0), None), (None, Some(10_000_000))] {
            let s = MatrixSpec { go: vec![v("1.27.3")], trials, rounds, ..Default::default() };
            let e = plan(&[&p], &s).unwrap_err();
            assert!(matches!(e, MatrixError::Bound(_)), "{trials:?} {rounds:?}: {e}");
        }
    }

    #[test]
    fn a_plan_past_its_bound_is_refused_at_once_and_planning_is_not_quadratic() {
        let p = pattern();
        let values = |n: usize| (0..n).map(|i| i.to_string()).collect::<Vec<_>>();
        // 20,000 GOGC values on one toolchain: 20,000 cells per default
        // configuration, quickly (the old duplicate check compared each
        // with all before it).
        let one = MatrixSpec { go: vec![v("1.27.3")], gogc: Some(values(1)), ..Default::default() };
        let per_value = plan(&[&p], &one).unwrap().cells.len();
        let s = MatrixSpec { go: vec![v("1.27.3")], gogc: Some(values(20_000)), ..Default::default() };
        let t = std::time::Instant::now();
        assert_eq!(plan(&[&p], &s).unwrap().cells.len(), 20_000 * per_value);
        assert!(t.elapsed() < std::time::Duration::from_secs(5), "{:?}", t.elapsed());
        // A million cells, and a billion: refused, before building them.
        for (gogc, gomemlimit) in [(1000, 1000), (1_000_000, 1000)] {
            let s = MatrixSpec {
                go: vec![v("1.27.3")],
                gogc: Some(values(gogc)),
                gomemlimit: Some(values(gomemlimit).into_iter().map(|m| format!("{m}MiB")).collect()),
                ..Default::default()
            };
            let t = std::time::Instant::now();
            let e = plan(&[&p], &s).unwrap_err();
            assert!(matches!(e, MatrixError::TooLarge { max: MAX_CELLS, .. }), "{e}");
            assert!(e.to_string().contains("--shard"), "{e}");
            assert!(t.elapsed() < std::time::Duration::from_secs(5), "{:?}", t.elapsed());
        }
    }
}

/// A matrix spec file (`--matrix FILE`): the same axes as the command
/// line, which overrides it axis by axis.
///
/// ```yaml
/// patterns: [15, 12-loopvar]   # ids, numbers or prefixes; default all
/// go: [1.22, 1.27]             # or [all], [default]
/// go_line: ["1.21", "1.22"]
/// gogc: [50, 100, "off"]
/// gomemlimit: [64MiB]
/// gomaxprocs: [1, 2]
/// godebug: ["", asynctimerchan=1]
/// stress: ["-", "gc-ms=5"]
/// params: {workers: 500}
/// rounds: 12
/// trials: 3
/// backend: [native]
/// ```
///
/// An empty string for a knob (`gogc: [""]`) leaves it unset: the
/// runtime's default. A file that gives one value for every axis plans
/// exactly one cell per pattern; that is how the fuzzer writes its corpus.
#[derive(Clone, Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MatrixFile {
    /// Patterns.
    #[serde(default)]
    pub patterns: Vec<String>,
    /// Toolchains.
    pub go: Option<Vec<String>>,
    /// go.mod lines.
    pub go_line: Option<Vec<String>>,
    /// GOGC values.
    pub gogc: Option<Vec<String>>,
    /// GOMEMLIMIT values.
    pub gomemlimit: Option<Vec<String>>,
    /// GOMAXPROCS values.
    pub gomaxprocs: Option<Vec<String>>,
    /// GODEBUG values.
    pub godebug: Option<Vec<String>>,
    /// Stress settings.
    pub stress: Option<Vec<String>>,
    /// GOEXPERIMENT values.
    pub goexperiment: Option<Vec<String>>,
    /// Parameter overrides.
    #[serde(default)]
    pub params: BTreeMap<String, String>,
    /// Rounds per run.
    pub rounds: Option<u32>,
    /// Trials per variant.
    pub trials: Option<u32>,
    /// Backends (`native`, the default).
    pub backend: Option<Vec<BackendKind>>,
}

/// Reads a matrix spec file; errors name the file, line and column.
pub fn load_file(path: &std::path::Path) -> Result<MatrixFile, crate::template::TemplateError> {
    use crate::template::TemplateError;
    let text =
        crate::errors::read_config(path).map_err(|source| TemplateError::Io { path: path.to_path_buf(), source })?;
    serde_saphyr::from_str(&text).map_err(|e| {
        let (line, column) = e.location().map(|l| (l.line(), l.column())).unwrap_or((0, 0));
        let message = e.to_string().lines().next().unwrap_or("").trim_start_matches("error: ").to_string();
        TemplateError::Invalid { path: path.to_path_buf(), line, column, message }
    })
}

impl MatrixFile {
    /// These axes where they are set, `base`'s elsewhere (the command line
    /// over a `--matrix` file, axis by axis); parameters merge by name,
    /// these winning.
    pub fn or(self, base: MatrixFile) -> MatrixFile {
        let mut params = base.params;
        params.extend(self.params);
        MatrixFile {
            patterns: if self.patterns.is_empty() { base.patterns } else { self.patterns },
            go: self.go.or(base.go),
            go_line: self.go_line.or(base.go_line),
            gogc: self.gogc.or(base.gogc),
            gomemlimit: self.gomemlimit.or(base.gomemlimit),
            gomaxprocs: self.gomaxprocs.or(base.gomaxprocs),
            godebug: self.godebug.or(base.godebug),
            stress: self.stress.or(base.stress),
            goexperiment: self.goexperiment.or(base.goexperiment),
            params,
            rounds: self.rounds.or(base.rounds),
            trials: self.trials.or(base.trials),
            backend: self.backend.or(base.backend),
        }
    }
}

/// `--param KEY=V1,V2` flags as a matrix file's `params` (the last one
/// given for a key wins).
pub fn parse_params(flags: &[String]) -> Result<BTreeMap<String, String>, MatrixError> {
    let mut out = BTreeMap::new();
    for kv in flags {
        let (k, v) = kv.split_once('=').ok_or_else(|| MatrixError::ParamSyntax(kv.clone()))?;
        out.insert(k.trim().to_string(), v.to_string());
    }
    Ok(out)
}

/// Resolves what was written (patterns by name, Go versions by alias, go
/// lines, stress settings, parameter lists) into the patterns to plan and
/// the spec to plan them with. Go versions default to `default`.
pub fn resolve<'p>(
    axes: &MatrixFile,
    patterns: &'p [Pattern],
    toolchains: &Toolchains,
) -> Result<(Vec<&'p Pattern>, MatrixSpec), MatrixError> {
    let selected = crate::template::select(patterns, &axes.patterns)?;
    let go = toolchains.resolve(&axes.go.as_ref().map(|g| g.join(",")).unwrap_or_else(|| "default".into()))?;
    let go_lines = axes
        .go_line
        .as_ref()
        .map(|ls| ls.iter().map(|l| GoVersion::parse_line(l)).collect::<Result<Vec<_>, _>>())
        .transpose()?;
    // `KEY: V1,V2`: several values are an axis.
    let split = |v: &str| v.split(',').map(|x| x.trim().to_string()).filter(|x| !x.is_empty()).collect::<Vec<_>>();
    let params = axes.params.iter().map(|(k, v)| (k.clone(), split(v))).collect();
    let stress =
        axes.stress.as_ref().map(|v| v.iter().map(|s| s.parse()).collect::<Result<Vec<_>, _>>()).transpose()?;
    // Knob values as Go reads them (an empty one leaves the knob unset).
    type Check = fn(&str) -> Result<(), String>;
    let knob_axes: [(&Option<Vec<String>>, Check); 3] = [
        (&axes.gogc, crate::knobs::check_gogc),
        (&axes.gomemlimit, crate::knobs::check_gomemlimit),
        (&axes.gomaxprocs, crate::knobs::check_gomaxprocs),
    ];
    for (values, check) in knob_axes {
        for v in values.iter().flatten().filter(|v| !v.is_empty()) {
            check(v).map_err(MatrixError::Knob)?;
        }
    }
    let spec = MatrixSpec {
        go,
        go_lines,
        gogc: axes.gogc.clone(),
        gomemlimit: axes.gomemlimit.clone(),
        gomaxprocs: axes.gomaxprocs.clone(),
        godebug: axes.godebug.clone(),
        params,
        rounds: axes.rounds,
        trials: axes.trials,
        stress,
        goexperiment: axes.goexperiment.clone(),
        backends: axes.backend.clone().unwrap_or_default(),
    };
    Ok((selected, spec))
}

#[cfg(test)]
mod file_tests {
    use super::*;

    #[test]
    fn reads_a_matrix_file_with_plain_scalars() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("m.yaml");
        std::fs::write(
            &p,
            "patterns: [15, 12-loop]\ngo: [1.22, 1.27]\ngo_line: [\"1.21\"]\ngogc: [50, \"off\"]\nparams: {workers: 500}\nrounds: 12\nstress: [\"-\", gc-ms=5]\n",
        )
        .unwrap();
        let m = load_file(&p).unwrap();
        assert_eq!(m.patterns, ["15", "12-loop"]);
        assert_eq!(m.go.unwrap(), ["1.22", "1.27"]);
        assert_eq!(m.gogc.unwrap(), ["50", "off"]);
        assert_eq!(m.params["workers"], "500");
        assert_eq!((m.rounds, m.trials), (Some(12), None));
        assert_eq!(m.stress.unwrap(), ["-", "gc-ms=5"]);
        std::fs::write(&p, "go: [1.22]\ngogcc: [50]\n").unwrap();
        let e = load_file(&p).unwrap_err().to_string();
        assert!(e.contains("m.yaml:2:1") && e.contains("gogcc"), "{e}");
    }

    #[test]
    fn flags_override_a_file_axis_by_axis_and_resolve() {
        let file = MatrixFile {
            patterns: vec!["15".into()],
            go: Some(vec!["1.22".into()]),
            gogc: Some(vec!["50".into()]),
            params: [("a".to_string(), "1".to_string()), ("b".to_string(), "2,3".to_string())].into(),
            rounds: Some(8),
            ..Default::default()
        };
        let flags = MatrixFile {
            go: Some(vec!["1.27".into()]),
            params: parse_params(&["b=4,5".into()]).unwrap(),
            ..Default::default()
        };
        let m = flags.or(file);
        assert_eq!(m.patterns, ["15"], "the file's patterns when no flag names any");
        assert_eq!(m.go.as_deref(), Some(&["1.27".to_string()][..]));
        assert_eq!(m.gogc.as_deref(), Some(&["50".to_string()][..]));
        assert_eq!((m.params["a"].as_str(), m.params["b"].as_str(), m.rounds), ("1", "4,5", Some(8)));
        assert!(matches!(parse_params(&["b".into()]), Err(MatrixError::ParamSyntax(_))));

        let tc = Toolchains::discover(std::path::Path::new("/nonexistent"), &[], false).unwrap().without_index();
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join("c.go"), "package scenario\n").unwrap();
        let yaml = "title: t\nseed_bug: 15\nfamily: reachability\nsummary: s\ncommon: [c.go]\nvariants: {buggy: {about: b}, fixed: {about: f}}\nparams: {a: {type: int, default: 1, range: [0, 9]}, b: {type: int, default: 1, range: [0, 9]}}\nsignals: [{name: g, metric: goroutines, stat: slope, present_above: 1}]\nexpect: [{verdict: reproduced}]\n";
        let p = crate::template::parse_pattern(yaml, std::path::Path::new("p.yaml"), "15-t", d.path()).unwrap();
        let patterns = [p];
        let (selected, spec) = resolve(&m, &patterns, &tc).unwrap();
        assert_eq!(selected.len(), 1);
        assert_eq!(spec.go, [GoVersion::new(1, 27, 3)]);
        assert_eq!(spec.params["b"], ["4", "5"]);
        let bad = |f: MatrixFile| resolve(&f, &patterns, &tc).unwrap_err().to_string();
        assert!(bad(MatrixFile { go_line: Some(vec!["1.2x".into()]), ..Default::default() }).contains("1.2x"));
        assert!(bad(MatrixFile { go: Some(vec!["1.19".into()]), ..Default::default() }).contains("unknown Go version"));
        assert!(bad(MatrixFile { patterns: vec!["99".into()], ..Default::default() }).contains("no pattern matches"));
        assert!(bad(MatrixFile { stress: Some(vec!["heat=1".into()]), ..Default::default() }).contains("heat"));
    }
}

/// A shard `K/N` (1-based) of a plan: cells are dealt to N shards by
/// expected cost (rounds × trials), the costliest first, each to the
/// lightest shard so far (ties to the lowest), so the split is
/// deterministic, disjoint and even; shard K keeps its cells in plan order.
pub fn shard(plan: &Plan, k: usize, n: usize) -> Plan {
    assert!(n >= 1 && (1..=n).contains(&k), "shard {k}/{n}");
    let cost = |c: &CellConfig| u64::from(c.rounds) * u64::from(c.trials.max(1));
    let mut order: Vec<usize> = (0..plan.cells.len()).collect();
    order.sort_by(|&a, &b| {
        cost(&plan.cells[b]).cmp(&cost(&plan.cells[a])).then(plan.cells[a].id().cmp(&plan.cells[b].id()))
    });
    let mut load = vec![0u64; n];
    let mut owner = vec![0usize; plan.cells.len()];
    for i in order {
        let s = (0..n).min_by_key(|&s| (load[s], s)).expect("n >= 1");
        load[s] += cost(&plan.cells[i]);
        owner[i] = s;
    }
    Plan {
        cells: plan.cells.iter().enumerate().filter(|(i, _)| owner[*i] == k - 1).map(|(_, c)| c.clone()).collect(),
        skipped: if k == 1 { plan.skipped.clone() } else { Vec::new() },
    }
}

/// Parses `K/N`.
pub fn parse_shard(s: &str) -> Result<(usize, usize), String> {
    let bad = || format!("--shard `{s}` must be K/N with 1 <= K <= N, e.g. 2/3");
    let (k, n) = s.split_once('/').ok_or_else(bad)?;
    let (k, n): (usize, usize) = (k.trim().parse().map_err(|_| bad())?, n.trim().parse().map_err(|_| bad())?);
    if n == 0 || k == 0 || k > n {
        return Err(bad());
    }
    Ok((k, n))
}

#[cfg(test)]
mod shard_tests {
    use super::*;

    fn cell(id: &str, rounds: u32, trials: u32) -> CellConfig {
        CellConfig {
            pattern: id.into(),
            go: "1.27.3".parse().unwrap(),
            go_line: "1.27".parse().unwrap(),
            knobs: Knobs::default(),
            stress: Default::default(),
            goexperiment: None,
            params: BTreeMap::new(),
            overrides: BTreeMap::new(),
            rounds,
            trials,
            backend: crate::cell::BackendKind::Native,
        }
    }

    #[test]
    fn shards_partition_the_plan_evenly_and_deterministically() {
        let plan = Plan {
            cells: (0..17).map(|i| cell(&format!("{i:02}-p"), 6 + (i % 5) as u32 * 2, 1 + (i % 3) as u32)).collect(),
            skipped: vec![Skipped { cell: cell("99-x", 6, 1), reason: "x".into() }],
        };
        let total: u64 = plan.cells.iter().map(|c| u64::from(c.rounds * c.trials)).sum();
        let mut seen: Vec<String> = Vec::new();
        let mut loads = Vec::new();
        for k in 1..=3 {
            let s = shard(&plan, k, 3);
            assert_eq!(
                shard(&plan, k, 3).cells.iter().map(CellConfig::id).collect::<Vec<_>>(),
                s.cells.iter().map(CellConfig::id).collect::<Vec<_>>()
            );
            loads.push(s.cells.iter().map(|c| u64::from(c.rounds * c.trials)).sum::<u64>());
            seen.extend(s.cells.iter().map(CellConfig::id));
            assert_eq!(s.skipped.len(), usize::from(k == 1), "skips are reported once");
        }
        let mut all: Vec<String> = plan.cells.iter().map(CellConfig::id).collect();
        all.sort();
        seen.sort();
        assert_eq!(seen, all, "every cell in exactly one shard");
        assert_eq!(loads.iter().sum::<u64>(), total);
        let (lo, hi) = (loads.iter().min().unwrap(), loads.iter().max().unwrap());
        assert!(hi - lo <= 30, "even by cost: {loads:?}");
        assert_eq!(shard(&plan, 1, 1).cells.len(), 17);
    }

    #[test]
    fn shard_syntax() {
        assert_eq!(parse_shard("2/3"), Ok((2, 3)));
        for bad in ["0/3", "4/3", "1/0", "x/2", "3"] {
            assert!(parse_shard(bad).is_err(), "{bad}");
        }
    }
}
