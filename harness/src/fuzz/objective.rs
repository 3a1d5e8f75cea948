//! What the fuzzer is looking for in a judged configuration, and when a
//! candidate counts. Pure: judged cells in, objectives out.
//!
//! A configuration whose verdict the pattern's own expectation predicts is
//! never a finding: the author already knows (Bug 15's fatal start-up
//! under `asynctimerchan=1` on Go 1.27 is expected, not news).

use crate::results::CellResult;
use crate::verdict::{Presence, Verdict};
use serde::{Deserialize, Serialize};
use std::fmt;

/// An objective: a configuration a user of the pattern needs to hear about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Objective {
    /// (a) The fixed variant shows the symptom.
    FixFails,
    /// (b) The fixed variant crashes (and the buggy one does not die the
    /// same way: then the configuration, not the fix, is at fault), or hangs
    /// where the buggy one finished.
    FixedCrash,
    /// (c) The buggy variant is absent where the expectation says
    /// `reproduced`: a setting in which a regression test misses the bug.
    BugHidden,
    /// (d) Two runs of the same configuration give different decisive
    /// verdicts.
    Flaky,
}

impl Objective {
    /// The stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            Objective::FixFails => "fix-fails",
            Objective::FixedCrash => "fixed-crash",
            Objective::BugHidden => "bug-hidden",
            Objective::Flaky => "flaky",
        }
    }

    /// One line for people.
    pub fn about(self) -> &'static str {
        match self {
            Objective::FixFails => "the fixed variant shows the symptom",
            Objective::FixedCrash => "the fixed variant crashes or hangs",
            Objective::BugHidden => "the buggy variant shows nothing where the pattern expects the bug reproduced",
            Objective::Flaky => "the verdict flips when the configuration is rerun",
        }
    }
}

impl fmt::Display for Objective {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A verdict that decides something (not inconclusive).
pub fn decisive(v: Verdict) -> bool {
    v != Verdict::Inconclusive
}

/// The objectives one judged run of a configuration suggests.
pub fn candidates(r: &CellResult) -> Vec<Objective> {
    let (Some(buggy), Some(fixed)) = (&r.buggy, &r.fixed) else { return Vec::new() };
    if r.error.is_some() || (r.expected.is_some() && r.met) {
        return Vec::new();
    }
    let mut out = Vec::new();
    if fixed.status == Presence::Present {
        out.push(Objective::FixFails);
    }
    let buggy_died = matches!(buggy.status, Presence::Crash | Presence::Timeout);
    let class = |v: &crate::oracle::VariantResult| v.crash.as_ref().map(|c| c.class);
    match fixed.status {
        // A crash counts unless the buggy variant died the same way (then
        // the configuration is at fault: both at the memory cap).
        Presence::Crash if !(buggy_died && class(buggy) == class(fixed)) => out.push(Objective::FixedCrash),
        // A hang counts only against a buggy variant that finished the same
        // work: a buggy run that crashed early (its symptom) says nothing
        // about how long the rounds take.
        Presence::Timeout if !buggy_died => out.push(Objective::FixedCrash),
        _ => {}
    }
    if r.expected == Some(Verdict::Reproduced) && buggy.status == Presence::Absent {
        out.push(Objective::BugHidden);
    }
    out
}

/// Whether a native run should be judged again before it counts: it
/// suggests an objective, or its decisive verdict is not the expected one
/// and rests on measurements (the second run may flip it). A buggy
/// variant that crashed (a leak hitting the memory cap) is not rerun for
/// a flip: that costs a full run for a verdict no test reads as noise.
pub fn needs_rerun(r: &CellResult) -> bool {
    let crashed = |v: &Option<crate::oracle::VariantResult>| {
        v.as_ref().is_some_and(|v| matches!(v.status, Presence::Crash | Presence::Timeout))
    };
    !candidates(r).is_empty()
        || (r.error.is_none()
            && r.expected.is_some()
            && !r.met
            && decisive(r.verdict)
            && !crashed(&r.buggy)
            && !crashed(&r.fixed))
}

/// The objectives that hold: with a rerun, those both runs suggest, and
/// `flaky` when their decisive verdicts differ; without one (a
/// deterministic backend, where one run is proof), the first run's.
pub fn confirmed(first: &CellResult, rerun: Option<&CellResult>) -> Vec<Objective> {
    let a = candidates(first);
    let Some(second) = rerun else { return a };
    let b = candidates(second);
    let mut out: Vec<Objective> = a.into_iter().filter(|o| b.contains(o)).collect();
    if first.error.is_none()
        && second.error.is_none()
        && decisive(first.verdict)
        && decisive(second.verdict)
        && first.verdict != second.verdict
    {
        out.push(Objective::Flaky);
    }
    out
}
