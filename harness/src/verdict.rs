//! The categorical outcomes: what one variant showed and what a cell
//! (buggy vs fixed) concludes. Their serialized names are a stable
//! interface (`--json`, snapshots, pattern expectations).

use serde::{Deserialize, Serialize};
use std::fmt;

/// What one variant's runs showed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Presence {
    /// A symptom signal is above its threshold, with confidence.
    Present,
    /// Every symptom signal is below its threshold, with confidence.
    Absent,
    /// The measurements do not decide.
    Inconclusive,
    /// The program died (Go panic, `fatal error:`, signal, bad exit).
    Crash,
    /// The program did not finish in time and was killed.
    Timeout,
}

/// The differential verdict of a cell.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    /// The buggy variant shows the symptom and the fixed one does not.
    Reproduced,
    /// The fixed variant shows the symptom.
    FixFails,
    /// Neither variant shows the symptom.
    NotReproduced,
    /// A variant crashed or hung.
    Crash,
    /// The measurements do not decide.
    Inconclusive,
    /// Not run: the plan left the cell out (the pattern's `configs` do not
    /// cover the toolchain, the go line needs a newer one, the backend
    /// lacks what the pattern needs); the explanation says which. Never a
    /// pattern's expectation, never a failure.
    Skipped,
}

impl Presence {
    /// The stable name, as serialized.
    pub fn as_str(self) -> &'static str {
        match self {
            Presence::Present => "present",
            Presence::Absent => "absent",
            Presence::Inconclusive => "inconclusive",
            Presence::Crash => "crash",
            Presence::Timeout => "timeout",
        }
    }
}

impl Verdict {
    /// The stable name, as serialized.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Reproduced => "reproduced",
            Verdict::FixFails => "fix-fails",
            Verdict::NotReproduced => "not-reproduced",
            Verdict::Crash => "crash",
            Verdict::Inconclusive => "inconclusive",
            Verdict::Skipped => "skipped",
        }
    }

    /// The differential rule: a crash or hang in either variant decides
    /// first, then a fixed variant that shows the symptom, then the buggy one.
    pub fn from_pair(buggy: Presence, fixed: Presence) -> Verdict {
        use Presence::*;
        match (buggy, fixed) {
            (Crash | Timeout, _) | (_, Crash | Timeout) => Verdict::Crash,
            (_, Present) => Verdict::FixFails,
            (Present, Absent) => Verdict::Reproduced,
            (Absent, Absent) => Verdict::NotReproduced,
            _ => Verdict::Inconclusive,
        }
    }
}

impl fmt::Display for Presence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Presence::*;

    #[test]
    fn differential_rule() {
        assert_eq!(Verdict::from_pair(Present, Absent), Verdict::Reproduced);
        assert_eq!(Verdict::from_pair(Present, Present), Verdict::FixFails);
        assert_eq!(Verdict::from_pair(Absent, Present), Verdict::FixFails);
        assert_eq!(Verdict::from_pair(Absent, Absent), Verdict::NotReproduced);
        assert_eq!(Verdict::from_pair(Inconclusive, Absent), Verdict::Inconclusive);
        assert_eq!(Verdict::from_pair(Present, Inconclusive), Verdict::Inconclusive);
        assert_eq!(Verdict::from_pair(Present, Crash), Verdict::Crash);
        assert_eq!(Verdict::from_pair(Timeout, Absent), Verdict::Crash);
        assert_eq!(serde_json::to_string(&Verdict::FixFails).unwrap(), "\"fix-fails\"");
    }
}
