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

use crate::build::{Artifact, BuildKey, Builder, Flavor, scenario_name};
use crate::detector::{Detection, Detector, DetectorResult, Finding};
use crate::run::{Backend, CrashClass, RunSpec};
use crate::template::{Pattern, Variant};
use crate::version::GoVersion;

/// The build a detector needs on `go`: instrumented for checkptr, with the
/// leak-profile experiment on Go 1.26, else the plain one.
fn flavor(d: Detector, go: GoVersion) -> Flavor {
    match d {
        Detector::Checkptr => Flavor::Checkptr,
        Detector::Goroutineleak if go.series() == GoVersion::new(1, 26, 0) => Flavor::LeakProfile,
        _ => Flavor::Plain,
    }
}

/// What the detectors need to run for one cell.
pub struct Context<'a> {
    /// Builds instrumented programs and runs `go vet`.
    pub builder: &'a dyn Builder,
    /// The plain build of the cell (its sources feed `go vet`).
    pub artifact: &'a Artifact,
    /// The backend runs go through.
    pub backend: &'a dyn Backend,
    /// The cell's run of each variant, as a template for detector runs.
    pub specs: [&'a RunSpec; 2],
}

/// Runs `detectors` (vet first) for a pattern's cell.
pub fn run_all(cx: &Context, pattern: &Pattern, detectors: &[Detector]) -> Vec<DetectorResult> {
    let mut all = vec![Detector::Vet];
    all.extend(detectors.iter().copied().filter(|d| *d != Detector::Vet));
    all.iter().map(|d| run_one(cx, pattern, *d)).collect()
}

fn run_one(cx: &Context, pattern: &Pattern, d: Detector) -> DetectorResult {
    let go = cx.artifact.key.go;
    if let Some(why) = d.unavailable(go) {
        return DetectorResult::from_pair(
            d,
            Detection::new(Finding::NotAvailable, why),
            Detection::new(Finding::NotAvailable, why),
        );
    }
    let variants: Vec<&Variant> = pattern.judged().collect();
    if d == Detector::Vet {
        let [b, f] = [variants[0], variants[1]].map(|v| vet(cx, pattern, v));
        return DetectorResult::from_pair(d, b, f);
    }
    // A build of the right flavor (the plain one unless instrumented).
    let flavor = flavor(d, go);
    let built = if flavor == Flavor::Plain {
        Ok(cx.artifact.clone())
    } else {
        let key = BuildKey { flavor, ..cx.artifact.key.clone() };
        let scen: Vec<(&Pattern, &Variant)> = variants.iter().map(|v| (pattern, *v)).collect();
        cx.builder.build(&key, &scen)
    };
    let programs = built.and_then(|a| {
        let [b, f] = [variants[0], variants[1]].map(|v| a.program(&scenario_name(pattern, v)));
        Ok([b?, f?])
    });
    let programs = match programs {
        Ok(p) => p,
        Err(e) => {
            let msg = format!("{flavor:?} build failed: {}", e.to_string().lines().next().unwrap_or(""));
            return DetectorResult::from_pair(
                d,
                Detection::new(Finding::Error, &msg),
                Detection::new(Finding::Error, &msg),
            );
        }
    };
    let [b, f] = [0, 1].map(|i| {
        let mut spec = cx.specs[i].clone();
        spec.program = programs[i].clone();
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
    let args = ["vet".to_string(), format!("./s/{}", scenario_name(pattern, v))];
    let timeout = std::time::Duration::from_secs(300);
    let out = match cx.builder.go_command(cx.artifact.key.go, &args, &cx.artifact.src, timeout) {
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

    #[test]
    fn each_detector_gets_the_build_it_needs() {
        let v = |s: &str| s.parse::<GoVersion>().unwrap();
        assert_eq!(flavor(Detector::Goroutineleak, v("1.26.6")), Flavor::LeakProfile);
        assert_eq!(flavor(Detector::Goroutineleak, v("1.27.3")), Flavor::Plain, "built in from 1.27");
        assert_eq!(flavor(Detector::Checkptr, v("1.21.13")), Flavor::Checkptr);
        assert_eq!(flavor(Detector::Vet, v("1.21.13")), Flavor::Plain);
    }
}
