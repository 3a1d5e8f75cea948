//! Checking a raw spec into a [`Pattern`]: every rule a template must
//! follow, each failure with the file, line and column it is about.

use super::error::TemplateError;
use super::model::*;
use super::spec::*;
use crate::knobs::Knobs;
use crate::probe::{CRASH_METRIC, SAMPLE_METRICS};
use crate::verdict::Verdict;
use crate::version::{GoVersion, VersionReq};
use serde_saphyr::Spanned;
use std::collections::BTreeMap;
use std::path::Path;

/// The longest a run may be given (`timeout_s`, and so `max_wall_s`): a
/// day. Beyond it a run is a mistake, and a duration that large does not
/// fit the clocks that time it.
pub const MAX_RUN_S: f64 = 86_400.0;
/// The most rounds a run may ask for.
pub const MAX_ROUNDS: u32 = 100_000;
/// The most trials (processes per variant) a cell may ask for, wherever
/// it is asked (pattern.yaml, `--trials`, a matrix file, a finding).
pub const MAX_TRIALS: u32 = 1000;

pub(super) struct Checker<'a> {
    pub(super) path: &'a Path,
    pub(super) dir: &'a Path,
}

impl Checker<'_> {
    fn err<T>(&self, at: Option<&serde_saphyr::Location>, message: impl Into<String>) -> Result<T, TemplateError> {
        let (line, column) = at.map(|l| (l.line(), l.column())).unwrap_or((0, 0));
        Err(TemplateError::Invalid { path: self.path.to_path_buf(), line, column, message: message.into() })
    }

    pub(super) fn check(&self, spec: PatternSpec, id: &str) -> Result<Pattern, TemplateError> {
        let (num, slug) = id.split_once('-').unwrap_or(("", ""));
        if num.len() != 2 || !num.bytes().all(|b| b.is_ascii_digit()) || !is_slug(slug) {
            return self.err(None, format!("pattern folder `{id}` must be named NN-slug, e.g. 15-ticker-not-stopped"));
        }
        if let Some(bug) = spec.seed_bug
            && num.parse::<u32>().ok() != Some(bug)
        {
            return self.err(None, format!("seed_bug is {bug} but the folder `{id}` is numbered {num}"));
        }

        let params = self.check_params(spec.params)?;
        let common = self.check_files(&spec.common)?;
        let modules = self.check_modules(&spec.modules)?;
        let variants = self.check_variants(spec.variants, &common, &modules)?;
        let run = self.check_run(spec.run)?;
        if let Some(w) = params.iter().find(|p| p.kind == ParamType::Work)
            && run.warmup == 0
        {
            return self.err(
                None,
                format!(
                    "parameter `{}` is work (milliseconds per round, turned into a count during the warm-up): `run: warmup` must be at least 1",
                    w.name
                ),
            );
        }
        let signals = self.check_signals(spec.signals, &params, &spec.counters, spec.crash_is_symptom)?;
        let configs = self.check_configs(spec.configs)?;
        let expect = self.check_expect(spec.expect)?;

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
            needs: {
                let mut n = spec.needs;
                n.sort();
                n.dedup();
                n
            },
            modules,
            signals,
            configs,
            expect,
        })
    }

    /// The declared parameters: names, finite ranges that hold their defaults.
    fn check_params(&self, specs: BTreeMap<String, ParamSpec>) -> Result<Vec<Param>, TemplateError> {
        let mut params = Vec::new();
        for (name, p) in specs {
            if !is_ident(&name) {
                return self.err(
                    Some(&p.default.referenced),
                    format!("parameter name `{name}` must be a lowercase identifier"),
                );
            }
            let [lo, hi] = p.range.value;
            let d = p.default.value;
            if ![lo, hi, d].iter().all(|x| x.is_finite()) {
                return self.err(
                    Some(&p.default.referenced),
                    format!("parameter `{name}`: default and range must be finite numbers (not NaN or inf)"),
                );
            }
            if p.kind == ParamType::Int && [lo, hi, d].iter().any(|x| x.abs() > super::model::MAX_EXACT_INT as f64) {
                return self.err(
                    Some(&p.range.referenced),
                    format!("parameter `{name}`: an int's default and range must lie within ±2^53 (exact integers)"),
                );
            }
            if lo > hi {
                return self.err(Some(&p.range.referenced), format!("parameter `{name}`: range [{lo}, {hi}] is empty"));
            }
            if p.kind == ParamType::Work && !(lo > 0.0 && hi <= 3_600_000.0) {
                return self.err(
                    Some(&p.range.referenced),
                    format!("parameter `{name}`: work is milliseconds per round, more than 0 and at most an hour"),
                );
            }
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
        Ok(params)
    }

    /// The variants (at least `buggy` and `fixed`, in that order first),
    /// each with Go files, its modules among the pattern's, valid knobs.
    fn check_variants(
        &self,
        specs: BTreeMap<String, VariantSpec>,
        common: &[String],
        modules: &[LocalModule],
    ) -> Result<Vec<Variant>, TemplateError> {
        if !crate::cell::Role::BOTH.iter().all(|r| specs.contains_key(r.name())) {
            return self.err(None, "`variants` must have at least `buggy` and `fixed`");
        }
        let mut variants = Vec::new();
        for (name, v) in specs {
            if !is_slug(&name) {
                return self.err(None, format!("variant name `{name}` must be lowercase letters, digits and dashes"));
            }
            let files = self.check_files(&v.files)?;
            if files.is_empty() && common.is_empty() {
                return self.err(None, format!("variant `{name}` has no Go files (give `files` or `common`)"));
            }
            let mut own = Vec::new();
            for (path, dir) in &v.modules {
                if !modules.iter().any(|m: &LocalModule| m.path == *path) {
                    return self.err(
                        Some(&dir.referenced),
                        format!("variant `{name}`: module `{path}` is not among the pattern's `modules`"),
                    );
                }
                let (folder, rev) = super::revision::split_rev(self.dir, &dir.value);
                own.push(self.module_dir(path, folder, rev, &dir.referenced, &dir.referenced)?);
            }
            let env = knobs(&v.env);
            if let Err(e) = env.validate() {
                return self.err(None, format!("variant `{name}`: env: {e}"));
            }
            variants.push(Variant { name, about: v.about, files, env, modules: own });
        }
        variants.sort_by_key(|v| match crate::cell::Role::of(&v.name) {
            Some(role) => (role as u8, String::new()),
            None => (2, v.name.clone()),
        });
        Ok(variants)
    }

    /// The run settings: rounds past warm-up, limits that end.
    fn check_run(&self, r: RunSpec) -> Result<RunSettings, TemplateError> {
        if r.rounds < 3 || r.warmup + 3 > r.rounds {
            return self.err(
                None,
                format!("run: rounds ({}) must leave at least 3 rounds after warmup ({})", r.rounds, r.warmup),
            );
        }
        if !(r.max_wall_s > 0.0 && r.timeout_s > r.max_wall_s) {
            return self.err(None, "run: timeout_s must be greater than max_wall_s, both positive");
        }
        if r.timeout_s > MAX_RUN_S {
            return self
                .err(None, format!("run: timeout_s {} is beyond a day ({MAX_RUN_S} s): a run must end", r.timeout_s));
        }
        if r.rounds > MAX_ROUNDS {
            return self.err(None, format!("run: rounds {} is more than {MAX_ROUNDS}: a run must end", r.rounds));
        }
        if r.trials == 0 || r.trials > MAX_TRIALS {
            return self.err(None, format!("run: trials must be 1 to {MAX_TRIALS}, not {}", r.trials));
        }
        Ok(RunSettings {
            rounds: r.rounds,
            warmup: r.warmup,
            gc_per_sample: r.gc_per_sample,
            max_wall_s: r.max_wall_s,
            timeout_s: r.timeout_s,
            trials: r.trials,
            max_rss_mib: r.max_rss_mib,
            peak_mib: r.peak_mib,
            exclusive: r.exclusive,
            settle: r.settle,
        })
    }

    /// The signals: known metrics and axes, thresholds finite over their
    /// parameters' ranges, at least one symptom.
    fn check_signals(
        &self,
        specs: Vec<SignalSpec>,
        params: &[Param],
        counters: &BTreeMap<String, String>,
        crash_is_symptom: bool,
    ) -> Result<Vec<Signal>, TemplateError> {
        let mut signals = Vec::new();
        for s in specs {
            let known = |m: &str| {
                SAMPLE_METRICS.contains(&m)
                    || counters.contains_key(m)
                    || m.strip_prefix("work_")
                        .is_some_and(|w| params.iter().any(|p| p.name == w && p.kind == ParamType::Work))
            };
            let crash_metric = s.metric.value == CRASH_METRIC;
            if crash_metric && s.stat != Stat::Trials {
                return self.err(
                    Some(&s.metric.referenced),
                    format!("signal `{}`: metric `crash` needs `stat: trials`", s.name),
                );
            }
            if crash_metric && !crash_is_symptom {
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
            if s.stat == Stat::Level && s.per.value != "round" {
                return self.err(
                    Some(&s.per.referenced),
                    format!("signal `{}`: `per` does not apply to `stat: level` (a level is per run)", s.name),
                );
            }
            if s.stat == Stat::Level && s.per_allocated {
                return self.err(
                    Some(&s.metric.referenced),
                    format!("signal `{}`: `per_allocated` applies to slopes and plain rates", s.name),
                );
            }
            if s.proportion && s.stat != Stat::Rate {
                return self
                    .err(Some(&s.metric.referenced), format!("signal `{}`: `proportion` needs `stat: rate`", s.name));
            }
            let threshold = self.check_threshold(&s, params, counters)?;
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
        Ok(signals)
    }

    /// A signal's `present_above`: a finite number, or `NAME * NUMBER`
    /// over a parameter (finite over its range), `rounds` or a counter.
    fn check_threshold(
        &self,
        s: &SignalSpec,
        params: &[Param],
        counters: &BTreeMap<String, String>,
    ) -> Result<Threshold, TemplateError> {
        Ok(match &s.present_above.value {
            ThresholdSpec::Number(v) if !v.is_finite() => {
                return self.err(
                    Some(&s.present_above.referenced),
                    format!("signal `{}`: threshold must be a finite number", s.name),
                );
            }
            ThresholdSpec::Number(v) => Threshold::Number(*v),
            ThresholdSpec::Expr(e) => match parse_scaled(e) {
                Some((param, factor)) if params.iter().any(|p: &Param| p.name == param) => {
                    // Finite over the parameter's whole range, so no
                    // value a user or the fuzzer picks makes it inf.
                    let q = params.iter().find(|p: &&Param| p.name == param).expect("found above");
                    if !(factor * q.range.0).is_finite() || !(factor * q.range.1).is_finite() {
                        return self.err(
                            Some(&s.present_above.referenced),
                            format!(
                                "signal `{}`: threshold `{e}` is not a finite number over `{param}`'s range [{}, {}]",
                                s.name, q.range.0, q.range.1
                            ),
                        );
                    }
                    Threshold::Scaled { param, factor }
                }
                Some((name, factor)) if name == ROUNDS || counters.contains_key(&name) => {
                    // Over the run's rounds or a counter's total: the
                    // oracle resolves it per variant from the runs. A
                    // parameter of the same name wins (above), and
                    // `rounds` wins over a counter of that name.
                    if !factor.is_finite() {
                        return self.err(
                            Some(&s.present_above.referenced),
                            format!("signal `{}`: threshold `{e}` must have a finite factor", s.name),
                        );
                    }
                    Threshold::Scaled { param: name, factor }
                }
                Some((param, _)) => {
                    return self.err(
                        Some(&s.present_above.referenced),
                        format!(
                            "signal `{}`: unknown name `{param}` in threshold (a parameter, `rounds` or a counter)",
                            s.name
                        ),
                    );
                }
                None => {
                    return self.err(
                        Some(&s.present_above.referenced),
                        format!("signal `{}`: threshold `{e}` must be a number or `NAME * NUMBER`", s.name),
                    );
                }
            },
        })
    }

    /// The default cells per toolchain (none given: one default cell).
    fn check_configs(&self, specs: Vec<ConfigSpec>) -> Result<Vec<Config>, TemplateError> {
        let mut configs = Vec::new();
        for c in specs {
            let go_req = c.go.as_ref().map(|g| self.req(g)).transpose()?;
            let go_line = c.go_line.as_ref().map(|l| self.line(l)).transpose()?;
            let knobs = Knobs { gogc: c.gogc, gomemlimit: c.gomemlimit, gomaxprocs: c.gomaxprocs, godebug: c.godebug };
            if let Err(e) = knobs.validate() {
                return self.err(None, format!("configs: {e}"));
            }
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
        Ok(configs)
    }

    /// The expectations: first match wins, the last one has no `when`.
    fn check_expect(&self, specs: Vec<ExpectSpec>) -> Result<Vec<Expectation>, TemplateError> {
        let mut expect = Vec::new();
        let last_at = specs.last().map(|e| e.verdict.referenced);
        for e in specs {
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
                    backend: match w.backend {
                        None => None,
                        Some(b) if ["native", "wasm"].contains(&b.value.as_str()) => Some(b.value),
                        Some(b) => {
                            return self.err(
                                Some(&b.referenced),
                                format!("unknown backend `{}` in `when` (native or wasm)", b.value),
                            );
                        }
                    },
                },
            };
            if e.verdict.value == Verdict::Skipped {
                return self.err(
                    Some(&e.verdict.referenced),
                    "`skipped` is what gcfuzz reports for a cell it does not run, not an expectation: limit the cells with `configs` (`go:`), and the skipped ones are reported with the reason",
                );
            }
            expect.push(Expectation { when, verdict: e.verdict.value, why: e.why });
        }
        if !expect.last().is_some_and(|e| {
            e.when.go.is_none()
                && e.when.go_line.is_none()
                && e.when.knobs == Knobs::default()
                && e.when.backend.is_none()
        }) {
            return self.err(
                last_at.as_ref(),
                "`expect` must end with an entry without `when` (the default expectation): a cell no entry matches has no expected verdict",
            );
        }
        Ok(expect)
    }

    /// A local module: a module path like Go's (a dot in its first
    /// element), a folder (relative to the pattern's) holding a go.mod
    /// that declares that path; each path once.
    fn check_modules(&self, specs: &[ModuleSpec]) -> Result<Vec<LocalModule>, TemplateError> {
        let mut out: Vec<LocalModule> = Vec::new();
        for m in specs {
            let path = m.path.value.trim();
            let first = path.split('/').next().unwrap_or("");
            let chars_ok = path.chars().all(|c| c.is_ascii_alphanumeric() || "._~/-".contains(c));
            if !first.contains('.') || !chars_ok || path.ends_with('/') || path.contains("//") {
                return self.err(
                    Some(&m.path.referenced),
                    format!(
                        "module path `{path}` must look like Go's, e.g. example.com/shop (a dot in its first element)"
                    ),
                );
            }
            if out.iter().any(|o| o.path == path) {
                return self.err(Some(&m.path.referenced), format!("module `{path}` is named twice"));
            }
            let rev = m.rev.as_ref().map(|r| (r.value.as_str(), &r.referenced));
            out.push(self.module_dir(
                path,
                &m.dir.value,
                rev.map(|r| r.0),
                rev.map_or(&m.dir.referenced, |r| r.1),
                &m.path.referenced,
            )?);
        }
        Ok(out)
    }

    /// The folder `dir` of module `path`: it exists and its go.mod
    /// declares `path` (a mismatch is reported at `path_at`).
    fn module_dir(
        &self,
        path: &str,
        dir: &str,
        rev: Option<&str>,
        dir_at: &serde_saphyr::Location,
        path_at: &serde_saphyr::Location,
    ) -> Result<LocalModule, TemplateError> {
        let joined = self.dir.join(dir);
        let Ok(abs) = joined.canonicalize() else {
            return self.err(Some(dir_at), format!("module folder `{}` does not exist", joined.display()));
        };
        // At a revision: the folder as it was there, exported into the cache.
        let abs = match rev {
            None => abs,
            Some(rev) => {
                let cache = crate::toolchain::default_home().join("revisions");
                match super::revision::export(&abs, rev, &cache) {
                    Ok(d) => d,
                    Err(e) => return self.err(Some(dir_at), format!("module `{path}`: {e}")),
                }
            }
        };
        let gomod = abs.join("go.mod");
        let Ok(text) = std::fs::read_to_string(&gomod) else {
            return self.err(Some(dir_at), format!("`{}` has no go.mod", abs.display()));
        };
        let declared = text.lines().find_map(|l| l.trim().strip_prefix("module ")).map(|s| s.trim().trim_matches('"'));
        if declared != Some(path) {
            return self.err(
                Some(path_at),
                format!("`{}` declares module `{}`, not `{path}`", gomod.display(), declared.unwrap_or("(none)")),
            );
        }
        Ok(LocalModule { path: path.to_string(), dir: abs })
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
            // A symbolic link may point anywhere: only inside the folder.
            let inside = match (self.dir.join(name).canonicalize(), self.dir.canonicalize()) {
                (Ok(f), Ok(d)) => f.starts_with(d),
                _ => false,
            };
            if !inside {
                return self.err(
                    Some(&f.referenced),
                    format!("`{name}` leads out of the pattern's folder {} (a symbolic link?)", self.dir.display()),
                );
            }
            out.push(name.clone());
        }
        Ok(out)
    }

    fn req(&self, s: &Spanned<String>) -> Result<VersionReq, TemplateError> {
        s.value.parse().or_else(|e: crate::version::VersionError| self.err(Some(&s.referenced), e.to_string()))
    }

    fn line(&self, s: &Spanned<String>) -> Result<GoVersion, TemplateError> {
        GoVersion::parse_line(&s.value).or_else(|e| self.err(Some(&s.referenced), e.to_string()))
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
