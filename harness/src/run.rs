//! Running one variant of one cell: a [`RunSpec`] goes through a
//! [`Backend`] and comes back as a [`RunRecord`] — the probe's series, how
//! the program ended and, if it died, a [`Crash`] class.
//!
//! [`Native`] runs the built executable as a child process. The wasm
//! backend (wasip1 under wasmtime) will implement the same trait.

use crate::knobs::Knobs;
use crate::probe::{self, DetectorLine, Done, Hello, Line, Sample};
use crate::process::{self, ChildOutcome, ChildSpec, SpawnError};
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

/// What one run produced.
#[derive(Clone, Debug, Serialize, serde::Deserialize)]
pub struct RunRecord {
    /// The scenario.
    pub scenario: String,
    /// The backend that ran it.
    pub backend: String,
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
    /// How the process ended.
    pub outcome: ChildOutcome,
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
}

/// Something that can run a built program.
pub trait Backend: Send + Sync {
    /// A short name for reports (`native`, `wasm`).
    fn name(&self) -> &'static str;
    /// Runs it. `Err` only when the run could not happen at all.
    fn run(&self, spec: &RunSpec) -> Result<RunRecord, SpawnError>;
}

/// Runs programs as native child processes.
#[derive(Clone, Copy, Debug, Default)]
pub struct Native;

impl Backend for Native {
    fn name(&self) -> &'static str {
        "native"
    }

    fn run(&self, spec: &RunSpec) -> Result<RunRecord, SpawnError> {
        let mut child = ChildSpec::new(&spec.program);
        child.args = spec.args();
        child.env = spec.env();
        child.timeout = spec.timeout;
        child.rss_cap = spec.rss_cap;
        let mut hello = None;
        let mut samples = Vec::new();
        let mut done = None;
        let mut detectors = Vec::new();
        let mut protocol_errors = Vec::new();
        let stop = spec.stop_when.clone();
        let outcome = process::run_until(&child, &mut |line| {
            match probe::parse_line(line) {
                Ok(Line::Hello(h)) => hello = Some(h),
                Ok(Line::Sample(s)) => {
                    samples.push(s);
                    return stop.as_ref().is_some_and(|StopRule(f)| f(&samples));
                }
                Ok(Line::Done(d)) => done = Some(d),
                Ok(Line::Detector(d)) => detectors.push(d),
                Err(e) => {
                    if protocol_errors.len() < 20 {
                        protocol_errors.push(e.to_string());
                    }
                }
            }
            false
        })?;
        let mut outcome = outcome;
        // The harness polls every 50 ms; the probe's own samples catch the
        // peaks of runs shorter than that.
        let sampled = samples.iter().filter_map(|s| s.get("rss")).fold(0.0, f64::max) as u64;
        outcome.peak_rss = outcome.peak_rss.max(sampled);
        let crash = classify(&outcome, done.as_ref());
        Ok(RunRecord {
            scenario: spec.scenario.clone(),
            backend: self.name().to_string(),
            args: child.args,
            env: child.env,
            hello,
            samples,
            done,
            detectors,
            outcome,
            crash,
            protocol_errors,
        })
    }
}

/// Classifies how a run ended; `None` for a clean, complete run.
pub fn classify(o: &ChildOutcome, done: Option<&Done>) -> Option<Crash> {
    let first = |prefix: &str| o.stderr.lines().find(|l| l.starts_with(prefix)).map(str::to_string);
    if o.interrupted {
        return Some(Crash { class: CrashClass::Interrupted, message: "stopped: gcfuzz was interrupted".into() });
    }
    if o.stopped_early {
        return None;
    }
    if let Some(rss) = o.over_memory {
        return Some(Crash {
            class: CrashClass::OutOfMemory,
            message: format!("killed at {} MiB resident", rss >> 20),
        });
    }
    if o.timed_out {
        return Some(Crash {
            class: CrashClass::Timeout,
            message: format!("no exit after {} ms; killed (SIGQUIT, then SIGKILL)", o.wall_ms),
        });
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

    fn out(code: Option<i32>, signal: Option<i32>, stderr: &str) -> ChildOutcome {
        ChildOutcome { code, signal, stderr: stderr.into(), ..Default::default() }
    }

    fn done() -> Done {
        Done { rounds: 3, reason: "rounds".into(), t_ns: 1 }
    }

    #[test]
    fn classifies_crashes() {
        let c = |o: ChildOutcome, d: Option<Done>| classify(&o, d.as_ref()).map(|c| (c.class, c.message));
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
        t.timed_out = true;
        assert_eq!(c(t, None).unwrap().0, CrashClass::Timeout);
        let w = Done { reason: "watchdog".into(), ..done() };
        assert_eq!(c(out(Some(4), None, ""), Some(w)).unwrap().0, CrashClass::Timeout);
        let mut m = out(None, Some(9), "");
        m.over_memory = Some(3 << 30);
        assert_eq!(c(m, None).unwrap(), (CrashClass::OutOfMemory, "killed at 3072 MiB resident".into()));
    }

    #[test]
    fn spec_sets_knobs_and_nothing_else() {
        let spec = RunSpec {
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
        };
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
