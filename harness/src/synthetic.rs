//! A backend and a builder without Go, for tests: [`SyntheticBackend`]
//! serves probe series that a script makes up, written as protocol lines
//! and read back by the same [`Collector`] every backend uses, so the
//! campaign, the judge, the oracle, early stopping, the journal and the
//! reports can be tested in milliseconds, exactly, with no toolchain.
//! [`SyntheticBuilder`] hands out placeholder programs and counts builds.
//!
//! Like hyperfine's mock executor: the real path, a fake process.

use crate::build::{Artifact, BuildError, BuildKey, Builder, Target, scenario_name};
use crate::probe::{SAMPLE_METRICS, Sample};
use crate::process::ChildOutcome;
use crate::process::StopReason;
use crate::run::{Backend, Collector, RunError, RunOutcome, RunRecord, RunSpec};
use crate::template::{Pattern, Variant};
use crate::toolchain::{Progress, ToolchainError};
use crate::version::GoVersion;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// Where the programs of a [`SyntheticBuilder`] seem to live.
const PROGRAM_ROOT: &str = "synthetic";

/// How a made-up program ends after its last sample.
#[derive(Clone, Debug, PartialEq)]
pub enum Exit {
    /// The probe's `done` line, exit code 0.
    Done,
    /// A Go panic with this message (exit code 2).
    Panic(String),
    /// It stops answering: killed at its timeout.
    Hang,
}

/// What one made-up run reports.
#[derive(Clone, Debug)]
pub struct Series {
    /// Samples, the baseline (round -1) first.
    pub samples: Vec<Sample>,
    /// How it ends.
    pub exit: Exit,
}

impl Series {
    /// Samples for the baseline and `rounds` rounds: `values(round)` gives
    /// each sample's numbers by name; probe metrics become sample values,
    /// other names scenario counters (rounded).
    pub fn rounds(rounds: u32, values: impl Fn(i64) -> Vec<(&'static str, f64)>) -> Series {
        let samples = (-1..i64::from(rounds))
            .map(|round| {
                let mut s = Sample { round, ..Default::default() };
                for (k, v) in values(round) {
                    if SAMPLE_METRICS.contains(&k) {
                        s.values.insert(k.to_string(), v);
                    } else {
                        s.counters.insert(k.to_string(), v.round() as i64);
                    }
                }
                s
            })
            .collect();
        Series { samples, exit: Exit::Done }
    }

    /// The same series, ending with `exit`.
    pub fn ending(mut self, exit: Exit) -> Series {
        self.exit = exit;
        self
    }
}

/// The function behind a [`SyntheticBackend`]: a run's spec → its series.
pub type Script = dyn Fn(&RunSpec) -> Series + Send + Sync;

/// Serves each run from a script; records what ran when.
pub struct SyntheticBackend {
    script: Box<Script>,
    /// How long each run takes, so runs can overlap.
    pub hold: Duration,
    running: Mutex<Vec<String>>,
    overlaps: Mutex<Vec<(String, String)>>,
    runs: AtomicUsize,
    deterministic: bool,
}

impl SyntheticBackend {
    /// A backend whose runs are `script`'s series; runs take no time.
    pub fn new(script: impl Fn(&RunSpec) -> Series + Send + Sync + 'static) -> Self {
        SyntheticBackend {
            script: Box::new(script),
            hold: Duration::ZERO,
            running: Mutex::default(),
            overlaps: Mutex::default(),
            runs: AtomicUsize::new(0),
            deterministic: false,
        }
    }

    /// The same backend, claiming what the wasm backend claims: the same
    /// spec always gives the same record, so one run is proof.
    pub fn claiming_determinism(mut self) -> Self {
        self.deterministic = true;
        self
    }

    /// Runs served so far.
    pub fn runs(&self) -> usize {
        self.runs.load(Ordering::SeqCst)
    }

    /// Every pair of scenarios that ran at the same time (the one that
    /// started second, the one already running).
    pub fn overlaps(&self) -> Vec<(String, String)> {
        self.overlaps.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

/// A protocol line for a sample, as the Go probe writes it.
fn sample_line(s: &Sample) -> String {
    let mut obj = serde_json::Map::new();
    obj.insert("v".into(), 1.into());
    obj.insert("type".into(), "sample".into());
    obj.insert("round".into(), s.round.into());
    for (k, v) in &s.values {
        obj.insert(k.clone(), serde_json::Number::from_f64(*v).map_or(serde_json::Value::Null, Into::into));
    }
    obj.insert("counters".into(), serde_json::to_value(&s.counters).unwrap_or_default());
    serde_json::Value::Object(obj).to_string()
}

impl Backend for SyntheticBackend {
    fn kind(&self) -> crate::cell::BackendKind {
        crate::cell::BackendKind::Synthetic
    }

    fn target(&self) -> Target {
        Target::Native
    }

    fn deterministic(&self) -> bool {
        self.deterministic
    }

    fn run(&self, spec: &RunSpec) -> Result<RunRecord, RunError> {
        // Only a synthetic build names a program this backend can "run":
        // paired with a real builder it refuses, as a backend given the
        // wrong target must.
        if !spec.program.starts_with(PROGRAM_ROOT) {
            return Err(RunError::Backend {
                backend: self.name(),
                message: format!("`{}` is not a synthetic build", spec.program.display()),
            });
        }
        let start = Instant::now();
        self.runs.fetch_add(1, Ordering::SeqCst);
        {
            let mut running = self.running.lock().unwrap_or_else(|e| e.into_inner());
            let mut overlaps = self.overlaps.lock().unwrap_or_else(|e| e.into_inner());
            overlaps.extend(running.iter().map(|other| (spec.scenario.clone(), other.clone())));
            running.push(spec.scenario.clone());
        }
        let series = (self.script)(spec);
        let mut collector = Collector::new(spec);
        let hello = serde_json::json!({"v": 1, "type": "hello", "scenario": spec.scenario, "go": "synthetic", "params": spec.params});
        collector.line(&hello.to_string());
        let mut outcome = RunOutcome::default();
        // The probe runs its rounds: `spec.rounds` of them at most.
        let limit = usize::try_from(spec.rounds).unwrap_or(usize::MAX).saturating_add(1);
        let mut sent: u32 = 0;
        for s in series.samples.iter().take(limit) {
            // The memory cap, as the native watcher applies it: a run whose
            // resident memory (the sample's `rss`) passes it is killed
            // there, before it reports the sample.
            if let (Some(cap), Some(rss)) = (spec.rss_cap, s.get("rss"))
                && rss as u64 > cap
            {
                outcome.stop = StopReason::OverMemory(rss as u64);
                outcome.peak_rss = rss as u64;
                outcome.signal = Some(libc::SIGKILL);
                break;
            }
            sent += 1;
            if collector.line(&sample_line(s)) {
                outcome.stop = StopReason::Early;
                break;
            }
        }
        std::thread::sleep(self.hold);
        if !outcome.stop.stopped_early() && outcome.stop.over_memory().is_none() {
            match &series.exit {
                Exit::Done => {
                    let done = serde_json::json!({"v": 1, "type": "done", "rounds": sent.saturating_sub(1), "reason": "rounds"});
                    collector.line(&done.to_string());
                    outcome.code = Some(0);
                }
                Exit::Panic(m) => {
                    outcome.code = Some(2);
                    outcome.stderr = format!("panic: {m}\n\ngoroutine 1 [running]:\n");
                }
                Exit::Hang => {
                    outcome.stop = StopReason::TimedOut;
                    outcome.signal = Some(libc::SIGKILL);
                    outcome.stderr = "SIGQUIT: quit\n".into();
                }
            }
        }
        outcome.wall_ms = start.elapsed().as_millis() as u64;
        let mut running = self.running.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(i) = running.iter().position(|r| *r == spec.scenario) {
            running.remove(i);
        }
        drop(running);
        Ok(collector.finish(spec, self.kind(), outcome))
    }
}

/// Hands out placeholder programs for a [`SyntheticBackend`]; needs no
/// toolchain. Counts builds by key; a key can be made to fail.
#[derive(Default)]
pub struct SyntheticBuilder {
    builds: Mutex<BTreeMap<BuildKey, usize>>,
    prepared: Mutex<Vec<GoVersion>>,
    /// Builds for this toolchain fail (a compile error).
    pub fail_go: Option<GoVersion>,
}

impl SyntheticBuilder {
    /// A builder whose builds for toolchain `go` fail with a compile error.
    pub fn failing(go: GoVersion) -> Self {
        SyntheticBuilder { fail_go: Some(go), ..Default::default() }
    }

    /// Builds asked for, by key.
    pub fn builds(&self) -> BTreeMap<BuildKey, usize> {
        self.builds.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Toolchains prepared, in order.
    pub fn prepared(&self) -> Vec<GoVersion> {
        self.prepared.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

impl Builder for SyntheticBuilder {
    fn prepare(&self, go: GoVersion, _: &mut dyn FnMut(Progress)) -> Result<(), ToolchainError> {
        self.prepared.lock().unwrap_or_else(|e| e.into_inner()).push(go);
        Ok(())
    }

    fn build(&self, key: &BuildKey, scenarios: &[(&Pattern, &Variant)]) -> Result<Artifact, BuildError> {
        *self.builds.lock().unwrap_or_else(|e| e.into_inner()).entry(key.clone()).or_default() += 1;
        if self.fail_go == Some(key.go) {
            return Err(BuildError::Message(format!(
                "`go build` failed for Go {} (go line {})\nsynthetic compile error",
                key.go,
                key.go_line.line_string()
            )));
        }
        let mut scenarios: Vec<String> = scenarios.iter().map(|(p, v)| scenario_name(p, v)).collect();
        scenarios.sort();
        scenarios.dedup();
        // The key in each path, for scripts that behave by toolchain or go line.
        let programs = scenarios
            .iter()
            .map(|s| {
                (s.clone(), PathBuf::from(format!("{PROGRAM_ROOT}/go{}/line{}/{s}", key.go, key.go_line.line_string())))
            })
            .collect();
        Ok(Artifact {
            key: key.clone(),
            programs,
            src: PathBuf::new(),
            hash: "synthetic".into(),
            cached: false,
            build_ms: 0,
        })
    }

    fn go_command(&self, _: GoVersion, _: &[String], _: &Path, _: Duration) -> Result<ChildOutcome, BuildError> {
        Err(BuildError::Message("the synthetic builder has no Go toolchain".into()))
    }
}
