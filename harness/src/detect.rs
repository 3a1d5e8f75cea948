//! Detectors: do the tools a Go developer already has catch the buggy
//! variant, and stay quiet on the fixed one?
//!
//! - `vet`: `go vet` on the variant's package (every pattern).
//! - `checkptr`: a build with `-gcflags=all=-d=checkptr`, run once.
//! - `invalidptr`: a run with `GODEBUG=invalidptr=1` (the runtime's default;
//!   named so the table says it was looked at).
//! - `checkfinalizers`: a run with `GODEBUG=checkfinalizers=1` (Go 1.25+).
//! - `goroutineleak`: the goroutine leak profile after the last round
//!   (Go 1.26 with `GOEXPERIMENT=goroutineleakprofile`, built in from 1.27).
//!
//! Detector runs never measure memory (and gcfuzz never runs `-race`,
//! which distorts it); they only ask whether the tool said something.

use crate::build::{Artifact, BuildKey, Builder, Flavor, go_env, scenario_name};
use crate::process::{self, ChildSpec};
use crate::run::{Backend, CrashClass, RunSpec};
use crate::template::{Pattern, Variant};
use crate::toolchain::Toolchain;
use crate::version::GoVersion;
use serde::{Deserialize, Serialize};
use std::fmt;

/// A detector.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Detector {
    /// `go vet`.
    Vet,
    /// `-d=checkptr` instrumentation.
    Checkptr,
    /// `GODEBUG=invalidptr=1`.
    Invalidptr,
    /// `GODEBUG=checkfinalizers=1`.
    Checkfinalizers,
    /// The goroutine leak profile.
    Goroutineleak,
}

impl Detector {
    /// The stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            Detector::Vet => "vet",
            Detector::Checkptr => "checkptr",
            Detector::Invalidptr => "invalidptr",
            Detector::Checkfinalizers => "checkfinalizers",
            Detector::Goroutineleak => "goroutineleak",
        }
    }

    /// Why it cannot run on `go`, if it cannot.
    pub fn unavailable(self, go: GoVersion) -> Option<&'static str> {
        match self {
            Detector::Checkfinalizers if go.series() < GoVersion::new(1, 25, 0) => {
                Some("GODEBUG=checkfinalizers needs Go 1.25")
            }
            Detector::Goroutineleak if go.series() < GoVersion::new(1, 26, 0) => {
                Some("the goroutine leak profile needs Go 1.26")
            }
            _ => None,
        }
    }

    fn flavor(self, go: GoVersion) -> Flavor {
        match self {
            Detector::Checkptr => Flavor::Checkptr,
            Detector::Goroutineleak if go.series() == GoVersion::new(1, 26, 0) => Flavor::LeakProfile,
            _ => Flavor::Plain,
        }
    }
}

impl fmt::Display for Detector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a detector said about one variant.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Finding {
    /// It reported a problem.
    Flagged,
    /// It said nothing.
    Quiet,
    /// It does not exist on this Go version.
    NotAvailable,
    /// It could not run (build failure, hang, …).
    Error,
}

/// One variant's finding and what it was based on.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Detection {
    /// The finding.
    pub finding: Finding,
    /// The tool's first relevant line, or why there is none.
    pub evidence: String,
}

impl Detection {
    fn new(finding: Finding, evidence: impl Into<String>) -> Self {
        Detection { finding, evidence: evidence.into() }
    }
}

/// The summary of a detector over a cell's two variants.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Catch {
    /// Flags the buggy variant and not the fixed one.
    Caught,
    /// Says nothing about the buggy variant.
    Missed,
    /// Flags the fixed variant too.
    FalsePositive,
    /// Not on this version.
    NotAvailable,
    /// Could not run.
    Error,
}

impl Catch {
    /// The stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            Catch::Caught => "caught",
            Catch::Missed => "missed",
            Catch::FalsePositive => "false-positive",
            Catch::NotAvailable => "n/a",
            Catch::Error => "error",
        }
    }
}

/// A detector's result for a cell.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct DetectorResult {
    /// The detector.
    pub detector: Detector,
    /// Caught, missed, …
    pub catch: Catch,
    /// The buggy variant's finding.
    pub buggy: Detection,
    /// The fixed variant's finding.
    pub fixed: Detection,
}

impl DetectorResult {
    fn from_pair(detector: Detector, buggy: Detection, fixed: Detection) -> Self {
        use Finding::*;
        let catch = match (buggy.finding, fixed.finding) {
            (NotAvailable, _) | (_, NotAvailable) => Catch::NotAvailable,
            (Error, _) | (_, Error) => Catch::Error,
            (_, Flagged) => Catch::FalsePositive,
            (Flagged, Quiet) => Catch::Caught,
            (Quiet, Quiet) => Catch::Missed,
        };
        DetectorResult { detector, catch, buggy, fixed }
    }
}

/// What the detectors need to run for one cell.
pub struct Context<'a> {
    /// The cell's toolchain.
    pub toolchain: &'a Toolchain,
    /// The build cache.
    pub builder: &'a Builder,
    /// The plain build of the cell (its sources feed `go vet`).
    pub artifact: &'a Artifact,
    /// The backend runs go through.
    pub backend: &'a dyn Backend,
    /// The cell's run of each variant, as a template for detector runs.
    pub specs: [&'a RunSpec; 2],
    /// Where the Go cache lives.
    pub home: &'a std::path::Path,
}

/// Runs `detectors` (vet first) for a pattern's cell.
pub fn run_all(cx: &Context, pattern: &Pattern, detectors: &[Detector]) -> Vec<DetectorResult> {
    let mut all = vec![Detector::Vet];
    all.extend(detectors.iter().copied().filter(|d| *d != Detector::Vet));
    all.iter().map(|d| run_one(cx, pattern, *d)).collect()
}

fn run_one(cx: &Context, pattern: &Pattern, d: Detector) -> DetectorResult {
    let go = cx.toolchain.version;
    if let Some(why) = d.unavailable(go) {
        return DetectorResult::from_pair(
            d,
            Detection::new(Finding::NotAvailable, why),
            Detection::new(Finding::NotAvailable, why),
        );
    }
    let variants: Vec<&Variant> = ["buggy", "fixed"].iter().filter_map(|n| pattern.variant(n)).collect();
    if d == Detector::Vet {
        let [b, f] = [variants[0], variants[1]].map(|v| vet(cx, pattern, v));
        return DetectorResult::from_pair(d, b, f);
    }
    // A build of the right flavor (the plain one unless instrumented).
    let flavor = d.flavor(go);
    let program = if flavor == Flavor::Plain {
        cx.artifact.program.clone()
    } else {
        let key = BuildKey { flavor, ..cx.artifact.key.clone() };
        let scen: Vec<(&Pattern, &Variant)> = variants.iter().map(|v| (pattern, *v)).collect();
        match cx.builder.build(cx.toolchain, key, &scen) {
            Ok(a) => a.program,
            Err(e) => {
                let msg = format!("{flavor:?} build failed: {}", e.to_string().lines().next().unwrap_or(""));
                return DetectorResult::from_pair(
                    d,
                    Detection::new(Finding::Error, &msg),
                    Detection::new(Finding::Error, &msg),
                );
            }
        }
    };
    let [b, f] = [0, 1].map(|i| {
        let mut spec = cx.specs[i].clone();
        spec.program = program.clone();
        spec.stop_when = None; // a detector watches the whole run
        match d {
            Detector::Invalidptr => spec.knobs = spec.knobs.overlay(&godebug("invalidptr=1")),
            Detector::Checkfinalizers => spec.knobs = spec.knobs.overlay(&godebug("checkfinalizers=1")),
            Detector::Goroutineleak => spec.extra_args.push("-leakprofile".into()),
            _ => {}
        }
        runtime_detection(cx, d, &spec)
    });
    DetectorResult::from_pair(d, b, f)
}

fn godebug(kv: &str) -> crate::knobs::Knobs {
    crate::knobs::Knobs { godebug: Some(kv.into()), ..Default::default() }
}

fn runtime_detection(cx: &Context, d: Detector, spec: &RunSpec) -> Detection {
    let rec = match cx.backend.run(spec) {
        Ok(r) => r,
        Err(e) => return Detection::new(Finding::Error, e.to_string()),
    };
    let stderr_line = |needle: &str| rec.outcome.stderr.lines().find(|l| l.contains(needle)).map(str::to_string);
    match d {
        Detector::Goroutineleak => match rec.detectors.iter().find(|l| l.name == "goroutineleak") {
            Some(l) if l.count > 0 => {
                Detection::new(Finding::Flagged, format!("{} leaked goroutines at {}", l.count, l.r#where))
            }
            Some(l) if l.count == 0 => Detection::new(Finding::Quiet, "no leaked goroutine"),
            Some(_) => Detection::new(Finding::NotAvailable, "the runtime has no goroutineleak profile"),
            None => match &rec.crash {
                Some(c) => Detection::new(Finding::Error, c.message.clone()),
                None => Detection::new(Finding::Error, "no detector line from the probe"),
            },
        },
        _ => {
            let needle = match d {
                Detector::Checkptr => "checkptr",
                Detector::Invalidptr => "bad pointer",
                _ => "",
            };
            match &rec.crash {
                Some(c) if c.class == CrashClass::Timeout => Detection::new(Finding::Error, c.message.clone()),
                Some(c) if d == Detector::Checkfinalizers => {
                    let why = stderr_line("finalizer").or_else(|| stderr_line("cleanup")).unwrap_or(c.message.clone());
                    Detection::new(Finding::Flagged, why)
                }
                Some(c) if c.message.contains(needle) || stderr_line(needle).is_some() => {
                    Detection::new(Finding::Flagged, c.message.clone())
                }
                Some(c) => Detection::new(Finding::Quiet, format!("crashed otherwise: {}", c.message)),
                None => Detection::new(Finding::Quiet, "ran clean"),
            }
        }
    }
}

/// `go vet` on one variant's package; findings in the pattern's files count.
fn vet(cx: &Context, pattern: &Pattern, v: &Variant) -> Detection {
    let pkg = format!("./s/{}", scenario_name(pattern, v));
    let mut spec = ChildSpec::new(cx.toolchain.go());
    spec.args = vec!["vet".into(), pkg];
    spec.cwd = Some(cx.artifact.src.clone());
    spec.env = go_env(cx.home, cx.toolchain);
    spec.timeout = std::time::Duration::from_secs(300);
    let out = match process::run(&spec, &mut |_| {}) {
        Ok(o) => o,
        Err(e) => return Detection::new(Finding::Error, e.to_string()),
    };
    let finding = out.stderr.lines().find(|l| l.contains(".go:") && !l.starts_with('#'));
    match (out.code, finding) {
        (Some(0), _) => Detection::new(Finding::Quiet, "no findings"),
        (_, Some(line)) => {
            let short = line.rsplit_once('/').map(|(_, t)| t).unwrap_or(line).to_string();
            Detection::new(Finding::Flagged, short)
        }
        _ => Detection::new(Finding::Error, out.stderr.lines().last().unwrap_or("go vet failed").to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn det(f: Finding) -> Detection {
        Detection::new(f, "")
    }

    #[test]
    fn catch_rule() {
        use Finding::*;
        let c = |b, f| DetectorResult::from_pair(Detector::Vet, det(b), det(f)).catch;
        assert_eq!(c(Flagged, Quiet), Catch::Caught);
        assert_eq!(c(Quiet, Quiet), Catch::Missed);
        assert_eq!(c(Flagged, Flagged), Catch::FalsePositive);
        assert_eq!(c(Quiet, Flagged), Catch::FalsePositive);
        assert_eq!(c(NotAvailable, NotAvailable), Catch::NotAvailable);
        assert_eq!(c(Flagged, Error), Catch::Error);
    }

    #[test]
    fn availability_by_version() {
        let v = |s: &str| s.parse::<GoVersion>().unwrap();
        assert!(Detector::Checkfinalizers.unavailable(v("1.24.11")).is_some());
        assert!(Detector::Checkfinalizers.unavailable(v("1.25.5")).is_none());
        assert!(Detector::Goroutineleak.unavailable(v("1.25.5")).is_some());
        assert_eq!(Detector::Goroutineleak.flavor(v("1.26.6")), Flavor::LeakProfile);
        assert_eq!(Detector::Goroutineleak.flavor(v("1.27.3")), Flavor::Plain, "built in from 1.27");
        assert_eq!(Detector::Checkptr.flavor(v("1.21.13")), Flavor::Checkptr);
    }
}
