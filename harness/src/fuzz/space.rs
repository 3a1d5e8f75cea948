//! The space the fuzzer searches: which values each axis may take for a
//! pattern (its declared parameter ranges, the toolchains asked for, the
//! GODEBUG and GOEXPERIMENT settings each Go version has), and the
//! structure-aware mutations that move a configuration inside it. No
//! LibAFL: a mutation takes a [`Dice`], which the engine backs with
//! LibAFL's random source.

use super::config::RunConfig;
use crate::template::{ParamType, Pattern, format_number};
use crate::version::GoVersion;

/// A source of random choices.
pub trait Dice {
    /// A number in `0..n` (`n` > 0).
    fn below(&mut self, n: usize) -> usize;

    /// A number in [0, 1).
    fn unit(&mut self) -> f64 {
        self.below(1 << 24) as f64 / f64::from(1u32 << 24)
    }

    /// True with probability `p`.
    fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }
}

/// One of `items` (not empty).
pub fn pick<'a, T>(d: &mut dyn Dice, items: &'a [T]) -> &'a T {
    &items[d.below(items.len())]
}

/// A runtime setting that exists only in some Go versions.
#[derive(Clone, Copy, Debug)]
pub struct Versioned {
    /// The setting (`key=value` for GODEBUG, a name for GOEXPERIMENT).
    pub setting: &'static str,
    /// First series that has it.
    pub since: GoVersion,
    /// Last series that has it (inclusive), if it was removed.
    pub until: Option<GoVersion>,
    /// What it does to the collector.
    pub about: &'static str,
}

impl Versioned {
    /// Whether toolchain `go` has it.
    pub fn exists_in(&self, go: GoVersion) -> bool {
        let s = go.series();
        s >= self.since && self.until.is_none_or(|u| s <= u)
    }
}

const fn v(minor: u32) -> GoVersion {
    GoVersion::new(1, minor, 0)
}

/// GODEBUG settings that change how memory is collected, scavenged or
/// checked, with the Go series that accept them (from the Go release
/// notes and `go doc runtime`; a setting outside its range is rejected
/// or fatal at start-up, so the fuzzer never proposes one there).
pub const GODEBUG: &[Versioned] = &[
    Versioned { setting: "madvdontneed=1", since: v(12), until: None, about: "return memory with MADV_DONTNEED" },
    Versioned { setting: "gcstoptheworld=1", since: v(1), until: None, about: "stop the world for every GC" },
    Versioned { setting: "clobberfree=1", since: v(12), until: None, about: "clobber freed objects" },
    Versioned { setting: "invalidptr=0", since: v(1), until: None, about: "no crash on invalid pointers" },
    Versioned { setting: "gcshrinkstackoff=1", since: v(1), until: None, about: "never shrink stacks" },
    Versioned { setting: "asyncpreemptoff=1", since: v(14), until: None, about: "no signal-based preemption" },
    Versioned { setting: "harddecommit=1", since: v(16), until: None, about: "decommit returned memory at once" },
    Versioned { setting: "asynctimerchan=1", since: v(23), until: Some(v(26)), about: "pre-1.23 timers" },
    Versioned { setting: "checkfinalizers=1", since: v(25), until: None, about: "check finalizers and cleanups" },
];

/// GOEXPERIMENT values that change the collector or the heap's layout.
/// Measured with `go env GOEXPERIMENT` on each toolchain: an unknown one
/// fails the build.
pub const GOEXPERIMENT: &[Versioned] = &[
    Versioned { setting: "noswissmap", since: v(24), until: Some(v(25)), about: "the pre-1.24 map" },
    Versioned { setting: "greenteagc", since: v(25), until: Some(v(25)), about: "the Green Tea collector" },
    Versioned { setting: "nogreenteagc", since: v(26), until: None, about: "the pre-Green-Tea collector" },
];

/// The oldest go.mod line the fuzzer writes (the oldest toolchain's).
pub const OLDEST_LINE: GoVersion = v(21);

/// Where one pattern's configurations may go.
#[derive(Clone, Debug)]
pub struct Space {
    /// Toolchains, ascending, each with a configuration of the pattern
    /// that applies to it.
    pub toolchains: Vec<GoVersion>,
    /// Backends by name.
    pub backends: Vec<crate::cell::BackendKind>,
    /// The most GOMAXPROCS the fuzzer sets.
    pub max_procs: u32,
    /// The pattern's parameters.
    params: Vec<crate::template::Param>,
    /// Rounds allowed: half the pattern's to its own.
    rounds: (u32, u32),
    /// Trials allowed: one to the pattern's own.
    trials: (u32, u32),
}

impl Space {
    /// The space of `p` on `toolchains` and `backends`.
    pub fn new(p: &Pattern, toolchains: &[GoVersion], backends: &[crate::cell::BackendKind]) -> Space {
        let mut toolchains: Vec<GoVersion> =
            toolchains.iter().copied().filter(|&go| p.configs.iter().any(|c| c.applies_to(go))).collect();
        toolchains.sort();
        toolchains.dedup();
        let cpus = std::thread::available_parallelism().map_or(2, |n| n.get() as u32);
        let min_rounds = p.run.warmup + 3;
        Space {
            toolchains,
            backends: backends.to_vec(),
            max_procs: (2 * cpus).clamp(2, 8),
            params: p.params.clone(),
            // Never more than the pattern's own: its statistics need no
            // more, and every extra round or trial is paid on every
            // execution. Fewer rounds are a setting where a bug may hide.
            rounds: (min_rounds.max(p.run.rounds / 2).min(p.run.rounds), p.run.rounds.max(min_rounds)),
            trials: (1, p.run.trials.max(1)),
        }
    }

    /// Brings a configuration back inside the space after a change: a go
    /// line no newer than the toolchain, settings the toolchain has,
    /// rounds and trials in range.
    pub fn normalize(&self, c: &mut RunConfig) {
        if c.go_line.is_some_and(|l| l >= c.go.series()) {
            c.go_line = None;
        }
        if let Some(g) = &c.knobs.godebug {
            let kept: Vec<&str> = g
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .filter(|s| GODEBUG.iter().find(|d| d.setting == *s).is_none_or(|d| d.exists_in(c.go)))
                .collect();
            c.knobs.godebug = Some(kept.join(",")).filter(|s| !s.is_empty());
        }
        if c.goexperiment.as_deref().is_some_and(|x| GOEXPERIMENT.iter().any(|e| e.setting == x && !e.exists_in(c.go)))
        {
            c.goexperiment = None;
        }
        c.rounds = c.rounds.clamp(self.rounds.0, self.rounds.1);
        c.trials = c.trials.clamp(self.trials.0, self.trials.1);
        // A backend with one thread (wasm) runs GOMAXPROCS=1 only.
        if crate::matrix::lacks(c.backend).contains(&crate::template::Need::Threads)
            && c.knobs.gomaxprocs.as_deref().and_then(|v| v.parse::<u32>().ok()).is_some_and(|n| n > 1)
        {
            c.knobs.gomaxprocs = None;
        }
    }

    /// Changes one runtime knob: GOGC, GOMEMLIMIT, GOMAXPROCS or a GODEBUG
    /// setting.
    pub fn mutate_knob(&self, c: &mut RunConfig, d: &mut dyn Dice) {
        match d.below(4) {
            0 => c.knobs.gogc = gogc(d),
            1 => c.knobs.gomemlimit = gomemlimit(d),
            2 => {
                // One processor is the boundary that matters most (no
                // parallel marking, no concurrent sweeping beside the
                // program), so it is drawn more often.
                let roll = d.unit();
                c.knobs.gomaxprocs = if roll < 0.2 {
                    None
                } else if roll < 0.5 {
                    Some("1".into())
                } else {
                    Some((1 + d.below(self.max_procs as usize)).to_string())
                }
            }
            _ => toggle_godebug(c, d),
        }
    }

    /// Changes a parameter, always inside its declared range.
    pub fn mutate_param(&self, c: &mut RunConfig, d: &mut dyn Dice) -> bool {
        if self.params.is_empty() {
            return false;
        }
        let p = pick(d, &self.params);
        let (lo, hi) = p.range;
        let cur: f64 = c.params.get(&p.name).and_then(|v| v.parse().ok()).unwrap_or(p.default);
        // A bound (the classic interesting values), anywhere in the range
        // (log-uniform when it spans decades), or a scaling of the current
        // value by up to 8x either way.
        let roll = d.unit();
        let mut next = if roll < 0.2 {
            if d.chance(0.5) { lo } else { hi }
        } else if roll < 0.5 || cur <= 0.0 {
            if lo > 0.0 && hi / lo >= 10.0 { lo * (hi / lo).powf(d.unit()) } else { lo + (hi - lo) * d.unit() }
        } else {
            cur * 8f64.powf(2.0 * d.unit() - 1.0)
        };
        if p.kind == ParamType::Int {
            next = next.round();
            if next == cur {
                next = if d.chance(0.5) { cur + 1.0 } else { cur - 1.0 };
            }
        } else {
            // Three significant digits keep the YAML readable.
            next = round_sig(next, 3);
        }
        next = next.clamp(lo, hi);
        c.params.insert(p.name.clone(), format_number(next));
        true
    }

    /// Moves the load as a person tuning a heavy run would, two axes at
    /// once: a parameter, and with it either a second parameter the other
    /// way by up to 8x (per-round work against size, so the cost stays in
    /// reach) or the collector's settings (GOMEMLIMIT, often relative to
    /// the live set, or GOGC). Regions that need two changes together are
    /// where a single mutation, which no feedback rewards halfway, rarely
    /// lands. Always inside the declared ranges.
    pub fn mutate_load(&self, c: &mut RunConfig, d: &mut dyn Dice) {
        if !self.mutate_param(c, d) {
            self.mutate_knob(c, d);
            return;
        }
        match d.below(3) {
            0 if self.params.len() > 1 => {
                let p = pick(d, &self.params);
                let (lo, hi) = p.range;
                let cur: f64 = c.params.get(&p.name).and_then(|v| v.parse().ok()).unwrap_or(p.default);
                let mut next = (cur / 8f64.powf(d.unit())).clamp(lo, hi);
                next = if p.kind == ParamType::Int { next.round() } else { round_sig(next, 3) };
                c.params.insert(p.name.clone(), format_number(next.clamp(lo, hi)));
            }
            1 => c.knobs.gomemlimit = gomemlimit(d),
            _ => c.knobs.gogc = gogc(d),
        }
    }

    /// Turns a stress goroutine on or off, or retunes one that is on.
    pub fn mutate_stress(&self, c: &mut RunConfig, d: &mut dyn Dice) {
        let s = &mut c.stress;
        let on = d.chance(0.7);
        let log = |d: &mut dyn Dice, lo: f64, hi: f64| round_sig(lo * (hi / lo).powf(d.unit()), 2);
        match d.below(6) {
            0 => s.alloc_kib = if on { log(d, 1.0, 1024.0) as u32 } else { 0 },
            1 => s.pointers = if on { log(d, 100.0, 100_000.0) as u32 } else { 0 },
            2 => s.gc_ms = if on { if d.chance(0.1) { -1.0 } else { log(d, 1.0, 100.0) } } else { 0.0 },
            3 => s.procs_ms = if on { log(d, 1.0, 100.0) } else { 0.0 },
            4 => s.goroutines = if on { log(d, 1.0, 100.0) as u32 } else { 0 },
            _ => s.timers = if on { log(d, 1.0, 100.0) as u32 } else { 0 },
        }
    }

    /// Moves the toolchain (to a neighbour: across one version boundary,
    /// or anywhere), the go line (often to a boundary: 1.21 before
    /// per-iteration loop variables, 1.22, 1.23 with collectable timers),
    /// the GOEXPERIMENT, or the backend.
    pub fn mutate_version(&self, c: &mut RunConfig, d: &mut dyn Dice) {
        match d.below(4) {
            0 if self.toolchains.len() > 1 => {
                let i = self.toolchains.iter().position(|&g| g == c.go).unwrap_or(0);
                let j = if d.chance(0.6) {
                    // A neighbour.
                    if (d.chance(0.5) && i + 1 < self.toolchains.len()) || i == 0 { i + 1 } else { i - 1 }
                } else {
                    d.below(self.toolchains.len())
                };
                c.go = self.toolchains[j.min(self.toolchains.len() - 1)];
            }
            1 => {
                // A pinned line needs a toolchain newer than it: on the
                // oldest series, the toolchain moves up first (both axes in
                // one move, as a person would pin an old line on a new Go).
                if c.go.series() <= OLDEST_LINE {
                    let newer: Vec<GoVersion> =
                        self.toolchains.iter().copied().filter(|g| g.series() > OLDEST_LINE).collect();
                    if !newer.is_empty() {
                        c.go = *pick(d, &newer);
                    }
                }
                let top = c.go.series();
                let older: Vec<GoVersion> = (OLDEST_LINE.minor..top.minor).map(|m| GoVersion::new(1, m, 0)).collect();
                c.go_line = if older.is_empty() || (c.go_line.is_some() && d.chance(0.3)) {
                    None
                } else {
                    Some(*pick(d, &older))
                };
            }
            2 => {
                let there: Vec<&Versioned> = GOEXPERIMENT.iter().filter(|e| e.exists_in(c.go)).collect();
                c.goexperiment = if there.is_empty() || (c.goexperiment.is_some() && d.chance(0.5)) {
                    None
                } else {
                    Some(pick(d, &there).setting.to_string())
                };
            }
            _ if self.backends.len() > 1 => c.backend = *pick(d, &self.backends),
            _ => {
                if let Some(&g) = self.toolchains.get(d.below(self.toolchains.len().max(1))) {
                    c.go = g;
                }
            }
        }
    }

    /// Changes the rounds or trials, inside their ranges.
    pub fn mutate_run(&self, c: &mut RunConfig, d: &mut dyn Dice) {
        if d.chance(0.7) {
            c.rounds = self.rounds.0 + d.below((self.rounds.1 - self.rounds.0 + 1) as usize) as u32;
        } else {
            c.trials = self.trials.0 + d.below((self.trials.1 - self.trials.0 + 1) as usize) as u32;
        }
    }

    /// Each axis taken from `a` or `b` at random (a splice of two
    /// configurations of the same pattern).
    pub fn splice(&self, a: &RunConfig, b: &RunConfig, d: &mut dyn Dice) -> RunConfig {
        let mut c = a.clone();
        for f in a.changes(b) {
            if d.chance(0.5) {
                c = c.with_field_of(&f, b);
            }
        }
        self.normalize(&mut c);
        c
    }

    /// Whether a configuration is inside the space (every value one the
    /// mutations could have produced from a seed).
    pub fn contains(&self, c: &RunConfig, p: &Pattern) -> Result<(), String> {
        if !self.toolchains.contains(&c.go) {
            return Err(format!("toolchain {} is not among {:?}", c.go, self.toolchains));
        }
        if c.line() > c.go.series() || c.line() < OLDEST_LINE {
            return Err(format!("go line {} outside [1.21, {}]", c.line().line_string(), c.go.series().line_string()));
        }
        for q in &p.params {
            let v = c.params.get(&q.name).ok_or_else(|| format!("parameter {} missing", q.name))?;
            q.check(v).map_err(|e| format!("parameter {}: {e}", q.name))?;
        }
        if !(self.rounds.0..=self.rounds.1).contains(&c.rounds) || !(self.trials.0..=self.trials.1).contains(&c.trials)
        {
            return Err(format!("rounds {} / trials {} outside the ranges", c.rounds, c.trials));
        }
        Ok(())
    }
}

fn gogc(d: &mut dyn Dice) -> Option<String> {
    match d.below(10) {
        0 => None,
        1 => Some("off".into()),
        // 5 … 2000, log-uniform; an integer, the only GOGC Go reads (it
        // ignores "6.4" and runs at 100 under a wrong label).
        _ => Some(format_number(round_sig(5.0 * 400f64.powf(d.unit()), 2).round())),
    }
}

fn gomemlimit(d: &mut dyn Dice) -> Option<String> {
    match d.below(5) {
        0 => None,
        // Relative to the live set: 0.25x … 4x.
        1 | 2 => Some(format!("{}x", format_number(round_sig(0.25 * 16f64.powf(d.unit()), 2)))),
        // Absolute: 4 MiB … 1 GiB.
        _ => Some(format!("{}MiB", round_sig(4.0 * 256f64.powf(d.unit()), 2) as u64)),
    }
}

fn toggle_godebug(c: &mut RunConfig, d: &mut dyn Dice) {
    let there: Vec<&Versioned> = GODEBUG.iter().filter(|g| g.exists_in(c.go)).collect();
    let pick = pick(d, &there).setting;
    let mut set: Vec<String> = c
        .knobs
        .godebug
        .as_deref()
        .unwrap_or("")
        .split(',')
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect();
    if let Some(i) = set.iter().position(|s| s == pick) {
        set.remove(i);
    } else {
        set.push(pick.to_string());
    }
    set.sort();
    c.knobs.godebug = Some(set.join(",")).filter(|s| !s.is_empty());
}

/// `v` rounded to `digits` significant digits.
pub fn round_sig(v: f64, digits: i32) -> f64 {
    if v == 0.0 || !v.is_finite() {
        return v;
    }
    let scale = 10f64.powi(digits - 1 - v.abs().log10().floor() as i32);
    (v * scale).round() / scale
}
