//! The detectors' vocabulary: which tools gcfuzz asks ([`Detector`]), what
//! one said about a variant ([`Finding`], [`Detection`]) and what that
//! means for a cell ([`Catch`], [`DetectorResult`]). Pure data and rules, so
//! templates can name detectors and reports can show them without knowing
//! how they run (that is the `detect` module's business).

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
    /// A finding with its evidence.
    pub fn new(finding: Finding, evidence: impl Into<String>) -> Self {
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
    /// The catch rule: flagged buggy and quiet fixed is a catch; a flagged
    /// fixed variant is a false positive whatever the buggy one did.
    pub fn from_pair(detector: Detector, buggy: Detection, fixed: Detection) -> Self {
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
        assert!(Detector::Goroutineleak.unavailable(v("1.26.6")).is_none());
    }
}
