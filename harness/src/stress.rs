//! Stress settings: goroutines the probe runs beside a scenario (heap
//! churn, pointer churn for write barriers, a GC forcer, a GOMAXPROCS
//! flipper, goroutine and timer storms). A matrix dimension like the knobs.
//!
//! Written `alloc-kib=64,gc-ms=10` (on the command line, in a pattern's
//! `configs`); the empty string is no stress.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// What stress goroutines run; zero (the default) is off.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Stress {
    /// KiB allocated and dropped per millisecond.
    pub alloc_kib: u32,
    /// Nodes of a constantly rewired linked list.
    pub pointers: u32,
    /// A forced GC every this many ms; negative: back to back.
    pub gc_ms: f64,
    /// GOMAXPROCS flipped between 1 and NumCPU every this many ms.
    pub procs_ms: f64,
    /// Short-lived goroutines started per millisecond.
    pub goroutines: u32,
    /// Timers created and stopped per millisecond.
    pub timers: u32,
}

/// A malformed stress setting.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "invalid stress setting `{input}`: {reason}\n(write e.g. `alloc-kib=64,gc-ms=10`; keys: alloc-kib, pointers, gc-ms, procs-ms, goroutines, timers)"
)]
pub struct StressError {
    /// What was given.
    pub input: String,
    /// What is wrong.
    pub reason: String,
}

impl crate::errors::Classified for StressError {
    fn class(&self) -> Option<crate::errors::Class> {
        Some(crate::errors::Class::Usage)
    }
}

impl Stress {
    /// Whether anything runs.
    pub fn is_off(&self) -> bool {
        *self == Stress::default()
    }

    /// How many goroutines a setting can run (the parts of [`Stress::with_part_of`]).
    pub const PARTS: usize = 6;

    /// `self` with its part `i` (alloc-kib, pointers, gc-ms, procs-ms,
    /// goroutines, timers) taken from `base`: a finding's stress reduced
    /// one goroutine at a time.
    pub fn with_part_of(&self, i: usize, base: &Stress) -> Stress {
        let mut s = *self;
        match i {
            0 => s.alloc_kib = base.alloc_kib,
            1 => s.pointers = base.pointers,
            2 => s.gc_ms = base.gc_ms,
            3 => s.procs_ms = base.procs_ms,
            4 => s.goroutines = base.goroutines,
            _ => s.timers = base.timers,
        }
        s
    }

    /// The probe flags.
    pub fn args(&self) -> Vec<String> {
        let mut a = Vec::new();
        let mut push = |flag: &str, v: String| {
            a.push(format!("-stress-{flag}"));
            a.push(v);
        };
        if self.alloc_kib > 0 {
            push("alloc-kib", self.alloc_kib.to_string());
        }
        if self.pointers > 0 {
            push("pointers", self.pointers.to_string());
        }
        if self.gc_ms != 0.0 {
            push("gc-ms", self.gc_ms.to_string());
        }
        if self.procs_ms > 0.0 {
            push("procs-ms", self.procs_ms.to_string());
        }
        if self.goroutines > 0 {
            push("goroutines", self.goroutines.to_string());
        }
        if self.timers > 0 {
            push("timers", self.timers.to_string());
        }
        a
    }
}

impl fmt::Display for Stress {
    /// `alloc-kib=64,gc-ms=10`, or `-` when off.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_off() {
            return f.write_str("-");
        }
        let args = self.args();
        let parts: Vec<String> =
            args.chunks(2).map(|kv| format!("{}={}", kv[0].trim_start_matches("-stress-"), kv[1])).collect();
        f.write_str(&parts.join(","))
    }
}

impl FromStr for Stress {
    type Err = StressError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = |reason: String| StressError { input: s.to_string(), reason };
        let mut st = Stress::default();
        for item in s.split(',').map(str::trim).filter(|i| !i.is_empty() && *i != "-") {
            let (k, v) = item.split_once('=').ok_or_else(|| err(format!("`{item}` is not KEY=VALUE")))?;
            let int =
                |v: &str| v.trim().parse::<u32>().map_err(|_| err(format!("`{k}` wants a whole number, not `{v}`")));
            let float = |v: &str| {
                v.trim()
                    .parse::<f64>()
                    .ok()
                    .filter(|x| x.is_finite())
                    .ok_or_else(|| err(format!("`{k}` wants a number, not `{v}`")))
            };
            match k.trim() {
                "alloc-kib" => st.alloc_kib = int(v)?,
                "pointers" => st.pointers = int(v)?,
                "gc-ms" => st.gc_ms = float(v)?,
                "procs-ms" => st.procs_ms = float(v)?.max(0.0),
                "goroutines" => st.goroutines = int(v)?,
                "timers" => st.timers = int(v)?,
                other => return Err(err(format!("unknown key `{other}`"))),
            }
        }
        Ok(st)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_displays_and_makes_probe_flags() {
        let s: Stress = "alloc-kib=64, gc-ms=-1,timers=5".parse().unwrap();
        assert_eq!((s.alloc_kib, s.gc_ms, s.timers), (64, -1.0, 5));
        assert_eq!(s.to_string(), "alloc-kib=64,gc-ms=-1,timers=5");
        assert_eq!(s.args(), ["-stress-alloc-kib", "64", "-stress-gc-ms", "-1", "-stress-timers", "5"]);
        assert_eq!(s.to_string().parse::<Stress>().unwrap(), s, "round trip");
        assert!("".parse::<Stress>().unwrap().is_off());
        assert_eq!(Stress::default().to_string(), "-");
        assert!("-".parse::<Stress>().unwrap().is_off());
        for bad in ["alloc-kib", "alloc-kib=x", "heat=3", "gc-ms=inf", "pointers=-2"] {
            let e = bad.parse::<Stress>().unwrap_err().to_string();
            assert!(e.contains("invalid stress setting"), "{bad}: {e}");
        }
    }
}
