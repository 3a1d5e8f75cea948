//! `gcfuzz check DIR…`: a pattern linted before anyone waits on a long
//! run. Each problem names the file, the line (where one can be found) and
//! the field:
//! - the YAML loads and validates (every rule of the template checker);
//! - the variants differ (their Go files, knobs or local modules);
//! - the expectations give a verdict for every cell of every Go version
//!   (the loader's rule: the last entry has no `when`, so a pattern without
//!   a default expectation is a load error with its line);
//! - the run is bounded (rounds, wall time, timeout);
//! - both variants render and build on each chosen Go version the
//!   pattern's `configs` cover, in its first configuration there (the
//!   compiler's own output is kept);
//! - one short run of each variant (the warm-up and three rounds): nothing
//!   but the probe writes to stdout, no variant crashes where a crash is
//!   neither the symptom nor the expected verdict, no round outlasts `max_wall_s`, every signal's
//!   metric and `per` are in the samples (a counter the scenario never
//!   creates is a signal nobody moves), and every `per` moves.

use crate::build::{BuildKey, Builder, Target};
use crate::cell::{CellConfig, Role};
use crate::judge;
use crate::results::CellResult;
use crate::run::Backend;
use crate::template::{self, Pattern};
use crate::version::GoVersion;
use std::path::{Path, PathBuf};

/// The most rounds, wall seconds and timeout seconds `check` lets pass (the
/// loader's hard limits are looser): a run must end, and a CI suite must
/// finish.
pub const ADVISED_MAX_ROUNDS: u32 = 10_000;
const MAX_WALL_S: f64 = 3600.0;
const MAX_TIMEOUT_S: f64 = 4.0 * 3600.0;

/// One problem of a pattern.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Problem {
    /// The file it is about.
    pub file: PathBuf,
    /// Its line there, 0 when unknown.
    pub line: usize,
    /// The field (`signals[kept].metric`, `variants.buggy.files`, …).
    pub field: String,
    /// What is wrong.
    pub message: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.line > 0 {
            write!(f, "{}:{}: {}: {}", self.file.display(), self.line, self.field, self.message)
        } else {
            write!(f, "{}: {}: {}", self.file.display(), self.field, self.message)
        }
    }
}

/// The 1-based line of the first line of `text` holding `needle`, else 0.
fn line_of(text: &str, needle: &str) -> usize {
    text.lines().position(|l| l.contains(needle)).map_or(0, |i| i + 1)
}

/// Lints the pattern folder `dir` on `toolchains`, building with `builder`
/// and running on `backend`. An empty list is a clean pattern.
pub fn check(dir: &Path, toolchains: &[GoVersion], builder: &dyn Builder, backend: &dyn Backend) -> Vec<Problem> {
    let yaml_path = dir.join("pattern.yaml");
    let p = match template::load_pattern(dir) {
        Ok(p) => p,
        Err(e) => return load_problems(&yaml_path, e),
    };
    let yaml = std::fs::read_to_string(&yaml_path).unwrap_or_default();
    let at = |needle: &str| line_of(&yaml, needle);
    let problem = |line: usize, field: &str, message: String| Problem {
        file: yaml_path.clone(),
        line,
        field: field.to_string(),
        message,
    };
    let mut out = Vec::new();

    // The variants differ.
    let (buggy, fixed) = (p.role(Role::Buggy).expect("checked"), p.role(Role::Fixed).expect("checked"));
    let contents = |v: &template::Variant| -> Vec<Vec<u8>> {
        p.files_of(v).iter().map(|f| std::fs::read(p.dir.join(f)).unwrap_or_default()).collect()
    };
    if contents(buggy) == contents(fixed) && buggy.env == fixed.env && buggy.modules == fixed.modules {
        out.push(problem(
            at("variants:"),
            "variants",
            "buggy and fixed have the same Go files, knobs and modules: there is nothing to compare".into(),
        ));
    }

    // The run is bounded.
    let r = &p.run;
    if r.rounds > ADVISED_MAX_ROUNDS {
        out.push(problem(at("rounds:"), "run.rounds", format!("{} rounds: at most {ADVISED_MAX_ROUNDS}", r.rounds)));
    }
    // (The loader has already refused non-finite and day-long limits.)
    if r.max_wall_s > MAX_WALL_S || r.timeout_s > MAX_TIMEOUT_S {
        out.push(problem(
            at("max_wall_s:").max(at("timeout_s:")),
            "run.max_wall_s",
            format!(
                "max_wall_s {} / timeout_s {}: at most {MAX_WALL_S} / {MAX_TIMEOUT_S} s, so that a run always ends",
                r.max_wall_s, r.timeout_s
            ),
        ));
    }
    if !out.is_empty() && out.iter().any(|x| x.field.starts_with("run.")) {
        return out;
    }

    for &go in toolchains {
        out.extend(check_runs(&p, go, &yaml, &yaml_path, builder, backend));
    }
    out
}

/// A template error as problems (several when the loader found several).
fn load_problems(yaml_path: &Path, e: template::TemplateError) -> Vec<Problem> {
    match e {
        template::TemplateError::Invalid { path, line, column: _, message } => {
            let field = message.split('`').nth(1).unwrap_or("pattern.yaml").to_string();
            vec![Problem { file: path, line: line as usize, field, message }]
        }
        template::TemplateError::Many(es) => es.into_iter().flat_map(|e| load_problems(yaml_path, e)).collect(),
        other => vec![Problem {
            file: yaml_path.to_path_buf(),
            line: 0,
            field: "pattern.yaml".into(),
            message: other.to_string(),
        }],
    }
}

/// A problem at `file:line`, about `field`.
fn problem(file: &Path, line: usize, field: &str, message: String) -> Problem {
    Problem { file: file.to_path_buf(), line, field: field.to_string(), message }
}

/// What each run of the short judgement shows wrong: lines on stdout
/// that are not the probe's, a crash that is not the pattern's symptom, a
/// round longer than `max_wall_s`.
fn run_problems(
    p: &Pattern,
    go: GoVersion,
    yaml: &str,
    yaml_path: &Path,
    r: &CellResult,
    crash_expected: bool,
) -> Vec<Problem> {
    let mut out = Vec::new();
    let variant_line = |name: &str| line_of(yaml, &format!("{name}:"));
    for run in &r.runs {
        let v = run.variant();
        if let Some(first) = run.protocol_errors.first() {
            out.push(problem(
                yaml_path,
                variant_line(v),
                &format!("variants.{v}"),
                format!(
                    "the scenario writes to stdout, which the probe owns (log to stderr instead); {} bad line(s), the first: {first}",
                    run.protocol_errors.len()
                ),
            ));
        }
        if let Some(c) = &run.crash
            && !(p.crash_is_symptom && crate::oracle::is_symptom_crash(c))
            && !crash_expected
        {
            out.push(problem(
                yaml_path,
                variant_line(v),
                &format!("variants.{v}"),
                format!(
                    "{v} crashed in a short run on Go {go} ({:?}): {}",
                    c.class,
                    c.message.lines().next().unwrap_or("")
                ),
            ));
        }
        let round_ns: f64 = run.samples.iter().filter_map(|s| s.get("round_ns")).fold(0.0, f64::max);
        if round_ns / 1e9 > p.run.max_wall_s {
            out.push(problem(
                yaml_path,
                line_of(yaml, "max_wall_s:"),
                "run.max_wall_s",
                format!("one round of {v} took {:.1} s, more than max_wall_s {}", round_ns / 1e9, p.run.max_wall_s),
            ));
        }
    }
    out
}

/// Each signal's metric and `per`: there, and the `per` moving. A symptom
/// metric may well stay flat in both variants (a bug that does not
/// reproduce here); a counter the scenario never creates, or an x axis
/// that never moves, is a signal that can never say anything.
fn signal_problems(
    p: &Pattern,
    go: GoVersion,
    yaml: &str,
    yaml_path: &Path,
    backend: &str,
    r: &CellResult,
    rounds: u32,
) -> Vec<Problem> {
    let mut out = Vec::new();
    for s in &p.signals {
        let line = line_of(yaml, &format!("name: {}", s.name));
        for (what, name) in [("metric", &s.metric), ("per", &s.per)] {
            if name == "round" || name == crate::probe::CRASH_METRIC || lacks_metric(backend, name) {
                continue;
            }
            let series: Vec<Vec<f64>> =
                r.runs.iter().map(|run| run.samples.iter().filter_map(|x| x.get(name)).collect()).collect();
            let field = format!("signals[{}].{what}", s.name);
            // The field's own line, after the signal's `name:`.
            let line = yaml
                .lines()
                .enumerate()
                .skip(line)
                .find(|(_, l)| l.trim_start().starts_with(&format!("{what}:")))
                .map_or(line, |(i, _)| i + 1);
            let counter = p.counters.contains_key(name);
            if series.iter().all(|v| v.is_empty()) {
                let why = if counter {
                    format!(
                        "counter `{name}` is declared but the scenario never creates it (e.Counter(\"{name}\")): nobody moves it"
                    )
                } else {
                    format!("metric `{name}` is not in the samples of Go {go} on {backend}")
                };
                out.push(problem(yaml_path, line, &field, why));
            } else if what == "per" && series.iter().all(|v| v.windows(2).all(|w| w[0] == w[1])) {
                out.push(problem(
                    yaml_path,
                    line,
                    &field,
                    format!(
                        "`{name}`, the signal's x axis, never moves in either variant in {rounds} rounds on Go {go}{}",
                        if counter { ": does the scenario add to it?" } else { "" }
                    ),
                ));
            }
        }
    }
    out
}

/// Builds and runs both variants briefly on `go`.
fn check_runs(
    p: &Pattern,
    go: GoVersion,
    yaml: &str,
    yaml_path: &Path,
    builder: &dyn Builder,
    backend: &dyn Backend,
) -> Vec<Problem> {
    let mut out = Vec::new();
    let rounds = (p.run.warmup + 3).min(p.run.rounds);
    // The pattern's own first configuration for this toolchain: a toolchain
    // its configs leave out (or whose every go line is newer) is not one
    // the pattern runs on, so nothing there is a problem.
    let Some(config) = p.configs.iter().find(|c| c.applies_to(go) && c.go_line.is_none_or(|l| l <= go.series())) else {
        return out;
    };
    let cell = CellConfig {
        pattern: p.id.as_str().into(),
        go,
        go_line: config.go_line.unwrap_or_else(|| go.series()),
        knobs: config.knobs.clone(),
        stress: config.stress,
        goexperiment: config.goexperiment.clone(),
        params: p.default_params(),
        overrides: Default::default(),
        rounds,
        trials: 1,
        backend: backend.kind(),
    };
    let scenarios: Vec<(&Pattern, &template::Variant)> =
        p.variants.iter().filter(|v| Role::of(&v.name).is_some()).map(|v| (p, v)).collect();
    if let Err(e) = builder.prepare(go, &mut |_| {}) {
        out.push(problem(yaml_path, 0, "go", format!("Go {go} cannot be had: {e}")));
        return out;
    }
    if let Err(e) = builder.build(&BuildKey::for_cell(&cell, Target::Native), &scenarios) {
        // The compiler names the file and line itself.
        let files = scenarios.iter().flat_map(|(p, v)| p.files_of(v)).collect::<Vec<_>>();
        let text = e.to_string();
        let culprit = files.iter().find(|f| text.contains(&format!("/{f}:"))).cloned();
        let line = culprit.as_ref().map_or(0, |f| compiler_line(&text, f));
        let file = culprit.map(|f| p.dir.join(f)).unwrap_or_else(|| yaml_path.to_path_buf());
        out.push(problem(&file, line, "files", format!("the variants do not build on Go {go}: {e}")));
        return out;
    }
    let opts = judge::Options { rss_cap: Some(2 << 30), ..judge::Options::default() };
    let r = judge::judge(p, &cell, builder, backend, &opts);
    if let Some(e) = &r.error {
        out.push(problem(yaml_path, 0, "run", format!("the short run on Go {go} could not happen: {e}")));
        return out;
    }
    // Where the pattern expects a crash, a crash is the expected outcome.
    let crash_expected = r.expected == Some(crate::verdict::Verdict::Crash);
    out.extend(run_problems(p, go, yaml, yaml_path, &r, crash_expected));
    if r.runs.iter().any(|run| run.samples.is_empty()) {
        return out;
    }
    out.extend(signal_problems(p, go, yaml, yaml_path, backend.name(), &r, rounds));
    out
}

/// The line the compiler gives for `file` in its output (`…/file.go:6:49:`).
fn compiler_line(output: &str, file: &str) -> usize {
    let key = format!("/{file}:");
    output
        .find(&key)
        .map(|i| &output[i + key.len()..])
        .and_then(|rest| rest.split(':').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

/// Metrics a backend never has (README: "Probe metrics"): such a signal
/// is there for the other backend.
fn lacks_metric(backend: &str, metric: &str) -> bool {
    match backend {
        "wasm" => ["fds", "proc_cpu_s"].contains(&metric),
        _ => metric == "fuel",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn problems_print_with_their_place() {
        let p =
            Problem { file: "p/pattern.yaml".into(), line: 12, field: "signals[x].metric".into(), message: "m".into() };
        assert_eq!(p.to_string(), "p/pattern.yaml:12: signals[x].metric: m");
        assert_eq!(Problem { line: 0, ..p }.to_string(), "p/pattern.yaml: signals[x].metric: m");
        assert_eq!(line_of("a\n  name: kept\n", "name: kept"), 2);
        assert_eq!(line_of("a\n", "zzz"), 0);
        assert_eq!(compiler_line("# x\ns/82-x/fixed/fixed.go:6:49: cannot use", "fixed.go"), 6);
        assert_eq!(compiler_line("no place", "fixed.go"), 0);
    }
}
