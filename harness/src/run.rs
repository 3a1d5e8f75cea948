//! Running one variant of one cell: a [`RunSpec`] goes through a
//! [`Backend`] and comes back as a [`RunRecord`]: the probe's series, how
//! the program ended ([`RunOutcome`], backend-neutral) and, if it died, a
//! [`Crash`] class. Only a run that could not happen at all is a
//! [`RunError`].
//!
//! [`Native`] runs the built executable as a child process; the wasm
//! backend (wasip1 under wasmtime) implements the same trait, and
//! the `synthetic` module serves made-up series for tests. Every backend feeds
//! the probe's stdout lines to a [`Collector`], so the protocol is read in
//! one place.

use crate::build::Target;
use crate::knobs::Knobs;
use crate::probe::{self, DetectorLine, Done, Hello, Line, Sample};
use crate::process::{self, ChildOutcome, ChildSpec, StopReason};
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

/// One run to do.
#[derive(Clone, Debug)]
pub struct RunSpec {
    /// The executable.
    pub program: PathBuf,
    /// `<pattern-id>/<variant>`.
    pub scenario: String,
    /// Parameters (all of them; the program's defaults are not relied on).
    pub params: BTreeMap<String, String>,
    /// Runtime knobs.
    pub knobs: Knobs,
    /// Rounds.
    pub rounds: u32,
    /// `runtime.GC()` calls before each sample.
    pub gc_per_sample: u32,
    /// The probe's own wall-clock limit.
    pub max_wall: Duration,
    /// The harness's limit (kills the process group).
    pub timeout: Duration,
    /// Memory cap on the child's resident set.
    pub rss_cap: Option<u64>,
    /// Extra probe flags (e.g. `-leakprofile`).
    pub extra_args: Vec<String>,
    /// Early stopping: asked after each sample; true ends the run there.
    pub stop_when: Option<StopRule>,
    /// The seed of the run's random sources, where the backend controls
    /// them (wasm: `random_get`, so map hash seeds and math/rand); native
    /// runs take the kernel's randomness and ignore it.
    pub seed: u64,
    /// Stops the run (killed, its outcome `interrupted`) when cancelled.
    pub cancel: crate::process::Cancel,
}

/// The function behind a [`StopRule`]: the samples so far → stop now?
pub type StopFn = dyn Fn(&[Sample]) -> bool + Send + Sync;

/// A decision, taken after each sample, that a run has shown enough.
#[derive(Clone)]
pub struct StopRule(pub std::sync::Arc<StopFn>);

impl std::fmt::Debug for StopRule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StopRule")
    }
}

impl RunSpec {
    /// The child's arguments.
    pub fn args(&self) -> Vec<String> {
        let mut a = vec![
            "-scenario".to_string(),
            self.scenario.clone(),
            "-rounds".into(),
            self.rounds.to_string(),
            "-gc-per-sample".into(),
            self.gc_per_sample.to_string(),
            "-max-wall".into(),
            format!("{}ms", self.max_wall.as_millis()),
        ];
        for (k, v) in &self.params {
            a.push("-param".into());
            a.push(format!("{k}={v}"));
        }
        a.extend(self.extra_args.iter().cloned());
        a
    }

    /// The child's whole environment.
    pub fn env(&self) -> BTreeMap<String, String> {
        let mut env = BTreeMap::new();
        env.insert("PATH".to_string(), "/usr/bin:/bin".to_string());
        env.insert("GOTRACEBACK".to_string(), "all".to_string());
        for (k, v) in self.knobs.env() {
            env.insert(k.to_string(), v);
        }
        env
    }
}

/// Why a program died.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CrashClass {
    /// `panic:` from Go code.
    GoPanic,
    /// `fatal error:` from the runtime (including out of memory).
    RuntimeFatal,
    /// Killed by a signal it did not handle.
    Signal,
    /// Exited non-zero without a recognised message.
    Exit,
    /// Ran past its timeout (or the probe's watchdog fired).
    Timeout,
    /// Exceeded its memory cap and was killed.
    OutOfMemory,
    /// The probe refused its inputs (a template bug).
    ProbeError,
    /// Exited 0 without finishing the protocol.
    Truncated,
    /// Killed because the harness was interrupted; never a verdict.
    Interrupted,
}

/// A classified crash.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Crash {
    /// The class.
    pub class: CrashClass,
    /// The line that says most (the panic or fatal error message).
    pub message: String,
}

/// How a run ended, whatever ran it. Field names are a stable interface
/// (the journal's `outcome`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct RunOutcome {
    /// Exit code, if it exited.
    pub code: Option<i32>,
    /// The signal that ended it, if one did (native processes).
    pub signal: Option<i32>,
    /// Whether gcfuzz stopped it, and why (the journal's `timed_out`,
    /// `over_memory`, `interrupted` and `stopped_early`).
    #[serde(flatten)]
    pub stop: StopReason,
    /// The highest memory use seen (resident set for a process; bytes, 0
    /// if unknown).
    pub peak_rss: u64,
    /// The seed its random sources had, where the backend sets them
    /// (wasm); `None` where the kernel's randomness was used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
    /// What it wrote to stderr (capped).
    pub stderr: String,
    /// Wall time, in milliseconds.
    pub wall_ms: u64,
    /// CPU time the program used (all its threads), in milliseconds, where
    /// the backend can tell (native: read while it ran, so the last
    /// ~50 ms may be missing).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_ms: Option<u64>,
    /// An exact cost where the backend counts one (wasm fuel:
    /// instructions); `None` where it cannot.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fuel: Option<u64>,
    /// How long the run took on the clock the program saw, where that is
    /// not the host's (wasm: virtual time, fuel plus sleeps), in
    /// nanoseconds; `None` where the program saw the wall clock.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clock_ns: Option<u64>,
}

impl RunOutcome {
    /// How long the run took on the clock its limits are counted in (the
    /// pattern's `max_wall_s` and `timeout_s`): virtual time where the
    /// backend keeps one, else the wall clock; milliseconds.
    pub fn clock_ms(&self) -> u64 {
        self.clock_ns.map_or(self.wall_ms, |ns| ns / 1_000_000)
    }

    /// `exit code 2`, `killed by signal 9 (timed out)`, … for people.
    pub fn describe(&self) -> String {
        let mut s = match (self.code, self.signal) {
            (Some(c), _) => format!("exit code {c}"),
            (None, Some(sig)) => format!("killed by signal {sig}"),
            (None, None) => "no exit status".to_string(),
        };
        if let Some(why) = self.stop.describe() {
            s.push_str(&format!(" ({why})"));
        }
        s.push_str(&format!(", {} ms, peak RSS {} MiB", self.wall_ms, self.peak_rss >> 20));
        if let Some(f) = self.fuel {
            s.push_str(&format!(", {f} fuel"));
        }
        s
    }
}

impl From<ChildOutcome> for RunOutcome {
    fn from(c: ChildOutcome) -> Self {
        RunOutcome {
            code: c.code,
            signal: c.signal,
            stop: c.stop,
            peak_rss: c.peak_rss,
            stderr: c.stderr,
            wall_ms: c.wall_ms,
            cpu_ms: c.cpu_ms,
            fuel: None,
            clock_ns: None,
            seed: None,
        }
    }
}

/// A run that could not happen at all (a crash or a hang is a
/// [`RunRecord`], not this).
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The program could not be started.
    #[error("failed to start `{program}`")]
    Spawn {
        /// The program.
        program: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The backend itself failed (not the program it ran).
    #[error("the {backend} backend failed: {message}")]
    Backend {
        /// Its name.
        backend: &'static str,
        /// What went wrong.
        message: String,
    },
}

impl From<process::SpawnError> for RunError {
    fn from(e: process::SpawnError) -> Self {
        RunError::Spawn { program: e.program, source: e.source }
    }
}

/// What one run produced.
#[derive(Clone, Debug, Serialize, serde::Deserialize)]
pub struct RunRecord {
    /// The scenario.
    pub scenario: String,
    /// The backend that ran it.
    #[serde(default)]
    pub backend: crate::cell::BackendKind,
    /// Arguments, for replay.
    pub args: Vec<String>,
    /// Environment, for replay.
    pub env: BTreeMap<String, String>,
    /// The probe's hello line.
    pub hello: Option<Hello>,
    /// Samples in order.
    pub samples: Vec<Sample>,
    /// The probe's done line.
    pub done: Option<Done>,
    /// Reports of in-program detectors.
    pub detectors: Vec<DetectorLine>,
    /// How the program ended.
    pub outcome: RunOutcome,
    /// Set when it died or hung.
    pub crash: Option<Crash>,
    /// Lines that were not protocol.
    pub protocol_errors: Vec<String>,
}

impl RunRecord {
    /// The variant it ran: the scenario name's last part (`buggy`).
    pub fn variant(&self) -> &str {
        self.scenario.rsplit('/').next().unwrap_or(&self.scenario)
    }

    /// The role of the variant it ran, if it is one of the two judged.
    pub fn role(&self) -> Option<crate::cell::Role> {
        crate::cell::Role::of(self.variant())
    }
}

/// Something that can run a built program.
pub trait Backend: Send + Sync {
    /// Which backend it is: what cells name.
    fn kind(&self) -> crate::cell::BackendKind;
    /// Its name in reports (`native`, `wasm`).
    fn name(&self) -> &'static str {
        self.kind().name()
    }
    /// What its programs are built for.
    fn target(&self) -> Target;
    /// Runs it. `Err` only when the run could not happen at all.
    fn run(&self, spec: &RunSpec) -> Result<RunRecord, RunError>;
    /// Whether the same spec always gives the same record (apart from wall
    /// times): then one run is proof, and the fuzzer confirms nothing.
    fn deterministic(&self) -> bool {
        false
    }
}

/// Reads the probe's stdout, line by line, into the parts of a
/// [`RunRecord`], asking the spec's stop rule after each sample. Every
/// backend uses it, so the protocol has one reader.
pub struct Collector {
    stop: Option<StopRule>,
    hello: Option<Hello>,
    samples: Vec<Sample>,
    done: Option<Done>,
    detectors: Vec<DetectorLine>,
    protocol_errors: Vec<String>,
}

impl Collector {
    /// A collector for a run of `spec`.
    pub fn new(spec: &RunSpec) -> Self {
        Collector {
            stop: spec.stop_when.clone(),
            hello: None,
            samples: Vec::new(),
            done: None,
            detectors: Vec::new(),
            protocol_errors: Vec::new(),
        }
    }

    /// Takes one line; true when the stop rule says the run has shown
    /// enough (the backend then ends it and says `stopped_early`).
    pub fn line(&mut self, line: &str) -> bool {
        self.line_with(line, &[])
    }

    /// Like [`Collector::line`], adding to a sample values the backend
    /// measured itself (the wasm host's fuel and linear memory), which the
    /// probe cannot see.
    pub fn line_with(&mut self, line: &str, extra: &[(&str, f64)]) -> bool {
        match probe::parse_line(line) {
            Ok(Line::Hello(h)) => self.hello = Some(h),
            Ok(Line::Sample(_)) if self.samples.len() >= MAX_SAMPLES => {
                // A child that floods stdout with samples: bounded memory.
                if self.protocol_errors.len() < 20 {
                    self.protocol_errors.push(format!("more than {MAX_SAMPLES} samples: the rest are dropped"));
                }
            }
            Ok(Line::Sample(mut s)) => {
                for &(k, v) in extra {
                    s.values.insert(k.to_string(), v);
                }
                self.samples.push(s);
                return self.stop.as_ref().is_some_and(|StopRule(f)| f(&self.samples));
            }
            Ok(Line::Done(d)) => self.done = Some(d),
            Ok(Line::Detector(d)) => self.detectors.push(d),
            Err(e) => {
                if self.protocol_errors.len() < 20 {
                    self.protocol_errors.push(e.to_string());
                }
            }
        }
        false
    }

    /// The record of a run of `spec` on `backend` that ended with
    /// `outcome`, its crash classified.
    pub fn finish(self, spec: &RunSpec, backend: crate::cell::BackendKind, mut outcome: RunOutcome) -> RunRecord {
        // A backend that polls memory can miss the peak of a short run;
        // the probe's own samples catch it.
        let sampled = self.samples.iter().filter_map(|s| s.get("rss")).fold(0.0, f64::max) as u64;
        outcome.peak_rss = outcome.peak_rss.max(sampled);
        let crash = classify(&outcome, self.done.as_ref());
        RunRecord {
            scenario: spec.scenario.clone(),
            backend,
            args: spec.args(),
            env: spec.env(),
            hello: self.hello,
            samples: self.samples,
            done: self.done,
            detectors: self.detectors,
            outcome,
            crash,
            protocol_errors: self.protocol_errors,
        }
    }
}

/// Runs programs as native child processes.
#[derive(Clone, Copy, Debug, Default)]
pub struct Native;

impl Backend for Native {
    fn kind(&self) -> crate::cell::BackendKind {
        crate::cell::BackendKind::Native
    }

    fn target(&self) -> Target {
        Target::Native
    }

    fn run(&self, spec: &RunSpec) -> Result<RunRecord, RunError> {
        let mut child = ChildSpec::new(&spec.program);
        child.args = spec.args();
        child.env = spec.env();
        child.timeout = spec.timeout;
        child.rss_cap = spec.rss_cap;
        // A program under test gets a folder of its own and no network but
        // its loopback: it cannot write into the user's tree or reach out.
        child.private_cwd = true;
        child.isolate_network = true;
        // A fork storm stops at MAX_TASKS (threads count: a Go program has
        // a few dozen); whatever it left is killed with the run.
        child.max_tasks = Some(MAX_TASKS);
        child.cancel = spec.cancel.clone();
        let mut collector = Collector::new(spec);
        let outcome = process::run_until(&child, &mut |line| collector.line(line))?;
        Ok(collector.finish(spec, self.kind(), outcome.into()))
    }
}

/// The most samples a run's record keeps: a sample per round, rounds at
/// most the loader's limit, doubled by early stopping, and the baseline.
pub const MAX_SAMPLES: usize = 2 * crate::template::MAX_ROUNDS as usize + 100;

/// The most tasks (processes and threads) a native run may have at once,
/// where a pids cgroup can be made.
pub const MAX_TASKS: u32 = 4096;

/// How a backend that stops a program itself (the wasm host) says why,
/// on a line of the run's stderr; the crash message is that line.
pub const STOP_NOTE: &str = "gcfuzz stopped it:";

/// Classifies how a run ended; `None` for a clean, complete run.
pub fn classify(o: &RunOutcome, done: Option<&Done>) -> Option<Crash> {
    let first = |prefix: &str| o.stderr.lines().find(|l| l.starts_with(prefix)).map(str::to_string);
    if o.stop.interrupted() {
        return Some(Crash { class: CrashClass::Interrupted, message: "stopped: gcfuzz was interrupted".into() });
    }
    if o.stop.stopped_early() {
        return None;
    }
    if let Some(rss) = o.stop.over_memory() {
        return Some(Crash {
            class: CrashClass::OutOfMemory,
            message: format!("killed at {} MiB resident", rss >> 20),
        });
    }
    if o.stop.timed_out() {
        let message = first(STOP_NOTE)
            .unwrap_or_else(|| format!("no exit after {} ms; killed (SIGQUIT, then SIGKILL)", o.wall_ms));
        return Some(Crash { class: CrashClass::Timeout, message });
    }
    if done.is_some_and(|d| d.reason == "watchdog") {
        return Some(Crash { class: CrashClass::Timeout, message: "the probe's watchdog fired: a round hung".into() });
    }
    if let Some(m) = first("fatal error:") {
        return Some(Crash { class: CrashClass::RuntimeFatal, message: m });
    }
    if let Some(m) = first("panic:") {
        return Some(Crash { class: CrashClass::GoPanic, message: m });
    }
    if let Some(m) = first("gcfuzz probe:") {
        return Some(Crash { class: CrashClass::ProbeError, message: m });
    }
    if let Some(sig) = o.signal {
        return Some(Crash { class: CrashClass::Signal, message: format!("killed by signal {sig}") });
    }
    match o.code {
        Some(0) if done.is_some() => None,
        Some(0) => {
            Some(Crash { class: CrashClass::Truncated, message: "exited 0 without the probe's done line".into() })
        }
        Some(c) => {
            let last = o.stderr.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or("").to_string();
            Some(Crash { class: CrashClass::Exit, message: format!("exit status {c}: {last}") })
        }
        None => Some(Crash { class: CrashClass::Exit, message: "no exit status".into() }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn out(code: Option<i32>, signal: Option<i32>, stderr: &str) -> RunOutcome {
        RunOutcome { code, signal, stderr: stderr.into(), ..Default::default() }
    }

    fn done() -> Done {
        Done { rounds: 3, reason: "rounds".into(), t_ns: 1 }
    }

    #[test]
    fn classifies_crashes() {
        let c = |o: RunOutcome, d: Option<Done>| classify(&o, d.as_ref()).map(|c| (c.class, c.message));
        assert_eq!(c(out(Some(0), None, ""), Some(done())), None);
        assert_eq!(c(out(Some(0), None, ""), None).unwrap().0, CrashClass::Truncated);
        assert_eq!(
            c(out(Some(2), None, "goroutine 1\nfatal error: found pointer to free object\n\nruntime stack:"), None),
            Some((CrashClass::RuntimeFatal, "fatal error: found pointer to free object".into()))
        );
        assert_eq!(
            c(out(Some(2), None, "panic: runtime error: index out of range [3] with length 3\n\ngoroutine 1"), None)
                .unwrap(),
            (CrashClass::GoPanic, "panic: runtime error: index out of range [3] with length 3".into())
        );
        assert_eq!(c(out(None, Some(11), ""), None).unwrap().0, CrashClass::Signal);
        assert_eq!(
            c(out(Some(3), None, "gcfuzz probe: unknown scenario \"x\""), None).unwrap().0,
            CrashClass::ProbeError
        );
        assert_eq!(c(out(Some(7), None, "bye\n"), None).unwrap(), (CrashClass::Exit, "exit status 7: bye".into()));
        let mut t = out(None, Some(9), "SIGQUIT: quit");
        t.stop = StopReason::TimedOut;
        assert_eq!(c(t, None).unwrap().0, CrashClass::Timeout);
        let w = Done { reason: "watchdog".into(), ..done() };
        assert_eq!(c(out(Some(4), None, ""), Some(w)).unwrap().0, CrashClass::Timeout);
        let mut m = out(None, Some(9), "");
        m.stop = StopReason::OverMemory(3 << 30);
        assert_eq!(c(m, None).unwrap(), (CrashClass::OutOfMemory, "killed at 3072 MiB resident".into()));
    }

    fn spec() -> RunSpec {
        RunSpec {
            program: "/x".into(),
            scenario: "15-x/buggy".into(),
            params: [("workers".to_string(), "10".to_string())].into(),
            knobs: Knobs { gogc: Some("off".into()), ..Default::default() },
            rounds: 5,
            gc_per_sample: 1,
            max_wall: Duration::from_secs(2),
            timeout: Duration::from_secs(5),
            rss_cap: None,
            extra_args: vec![],
            stop_when: None,
            seed: 0,
            cancel: Default::default(),
        }
    }

    #[test]
    fn a_flood_of_samples_or_garbage_is_bounded() {
        let spec = spec();
        let mut c = Collector::new(&spec);
        let line = r#"{"v":1,"type":"sample","round":3,"t_ns":5,"heap_live":1,"counters":{}}"#;
        for _ in 0..MAX_SAMPLES + 1000 {
            c.line(line);
        }
        for _ in 0..1000 {
            c.line("garbage");
        }
        let r = c.finish(&spec, crate::cell::BackendKind::Native, RunOutcome::default());
        assert_eq!(r.samples.len(), MAX_SAMPLES);
        assert_eq!(r.protocol_errors.len(), 20);
        assert!(r.protocol_errors[0].contains("samples: the rest are dropped"), "{:?}", r.protocol_errors);
    }

    #[test]
    fn spec_sets_knobs_and_nothing_else() {
        let spec = spec();
        assert_eq!(
            spec.args(),
            [
                "-scenario",
                "15-x/buggy",
                "-rounds",
                "5",
                "-gc-per-sample",
                "1",
                "-max-wall",
                "2000ms",
                "-param",
                "workers=10"
            ]
        );
        let env = spec.env();
        assert_eq!(env.get("GOGC").map(String::as_str), Some("off"));
        assert!(!env.contains_key("GODEBUG") && !env.contains_key("GOMAXPROCS"));
    }
}
