//! Go version numbers and version requirements.
//!
//! [`GoVersion`] is a toolchain release (`1.22.10`) or a go.mod `go` line
//! (`1.22`, whose patch is 0). [`VersionReq`] is what patterns write in their
//! expectations: a comma-separated conjunction of comparisons, such as
//! `<1.23` or `>=1.23, <1.27`. A requirement compares by minor release when
//! the bound has no patch (`<1.23` holds for 1.22.10 and fails for 1.23.0).

use std::fmt;
use std::str::FromStr;

/// A Go release `major.minor.patch` (the patch is 0 for a go.mod line).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct GoVersion {
    /// Always 1 today.
    pub major: u32,
    /// The release series: 22 in `1.22.10`.
    pub minor: u32,
    /// The point release: 10 in `1.22.10`; 0 for a go.mod line.
    pub patch: u32,
}

/// A malformed version or requirement.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid Go version `{input}`: {reason}")]
pub struct VersionError {
    /// What was given.
    pub input: String,
    /// What is wrong with it.
    pub reason: &'static str,
}

impl crate::errors::Classified for VersionError {
    fn class(&self) -> Option<crate::errors::Class> {
        Some(crate::errors::Class::Usage)
    }
}

impl GoVersion {
    /// Builds a version from its parts.
    pub const fn new(major: u32, minor: u32, patch: u32) -> Self {
        GoVersion { major, minor, patch }
    }

    /// The go.mod `go` line of this release's series: `1.22` for 1.22.10.
    pub fn series(self) -> GoVersion {
        GoVersion { patch: 0, ..self }
    }

    /// `1.22`, the form a go.mod `go` line takes.
    pub fn line_string(self) -> String {
        format!("{}.{}", self.major, self.minor)
    }

    /// Parses a go.mod `go` line: a release series such as `1.22`, no
    /// older than 1.21 (gcfuzz's oldest toolchain).
    pub fn parse_line(s: &str) -> Result<GoVersion, VersionError> {
        let v: GoVersion = s.parse()?;
        if v.patch != 0 || s.trim().split('.').count() != 2 || v.minor < 21 {
            return Err(VersionError {
                input: s.to_string(),
                reason: "a go line is a release series such as 1.22 (1.21 or later)",
            });
        }
        Ok(v)
    }
}

impl fmt::Display for GoVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)
    }
}

impl serde::Serialize for GoVersion {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for GoVersion {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

impl FromStr for GoVersion {
    type Err = VersionError;

    /// Accepts `1.22`, `1.22.10` and `go1.22.10`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = |reason| VersionError { input: s.to_string(), reason };
        let t = s.trim();
        let t = t.strip_prefix("go").unwrap_or(t);
        let parts: Vec<&str> = t.split('.').collect();
        if !(2..=3).contains(&parts.len()) {
            return Err(err("expected MAJOR.MINOR or MAJOR.MINOR.PATCH, e.g. 1.22 or 1.22.10"));
        }
        let num = |p: &str| -> Result<u32, VersionError> {
            if p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()) || p.len() > 6 {
                return Err(err("each part must be a number"));
            }
            p.parse().map_err(|_| err("each part must be a number"))
        };
        let major = num(parts[0])?;
        let minor = num(parts[1])?;
        let patch = if parts.len() == 3 { num(parts[2])? } else { 0 };
        if major != 1 {
            return Err(err("only Go 1.x exists"));
        }
        Ok(GoVersion { major, minor, patch })
    }
}

/// A comparison operator in a [`VersionReq`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
    Lt,
    Le,
    Gt,
    Ge,
    Eq,
}

/// One `OP VERSION` term; `series_only` when VERSION had no patch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Term {
    op: Op,
    bound: GoVersion,
    series_only: bool,
}

/// A conjunction of version comparisons: `<1.23`, `>=1.23,<1.27`, `1.22`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VersionReq {
    text: String,
    terms: Vec<Term>,
}

impl VersionReq {
    /// Whether `v` satisfies every term.
    pub fn matches(&self, v: GoVersion) -> bool {
        self.terms.iter().all(|t| {
            let (a, b) = if t.series_only { (v.series(), t.bound) } else { (v, t.bound) };
            match t.op {
                Op::Lt => a < b,
                Op::Le => a <= b,
                Op::Gt => a > b,
                Op::Ge => a >= b,
                Op::Eq => a == b,
            }
        })
    }
}

impl fmt::Display for VersionReq {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl FromStr for VersionReq {
    type Err = VersionError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut terms = Vec::new();
        for raw in s.split(',') {
            let raw = raw.trim();
            let (op, rest) = if let Some(r) = raw.strip_prefix(">=") {
                (Op::Ge, r)
            } else if let Some(r) = raw.strip_prefix("<=") {
                (Op::Le, r)
            } else if let Some(r) = raw.strip_prefix('>') {
                (Op::Gt, r)
            } else if let Some(r) = raw.strip_prefix('<') {
                (Op::Lt, r)
            } else if let Some(r) = raw.strip_prefix("==") {
                (Op::Eq, r)
            } else if let Some(r) = raw.strip_prefix('=') {
                (Op::Eq, r)
            } else {
                (Op::Eq, raw)
            };
            let rest = rest.trim();
            if rest.is_empty() {
                return Err(VersionError {
                    input: s.to_string(),
                    reason: "expected comparisons such as `<1.23` or `>=1.22, <1.27`",
                });
            }
            let bound: GoVersion =
                rest.parse().map_err(|e: VersionError| VersionError { input: s.to_string(), reason: e.reason })?;
            let series_only = rest.trim_start_matches("go").split('.').count() == 2;
            terms.push(Term { op, bound, series_only });
        }
        Ok(VersionReq { text: s.trim().to_string(), terms })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> GoVersion {
        s.parse().unwrap()
    }

    #[test]
    fn parses_versions_and_lines() {
        assert_eq!(v("1.22.10"), GoVersion::new(1, 22, 10));
        assert_eq!(v("go1.27.3"), GoVersion::new(1, 27, 3));
        assert_eq!(v("1.21"), GoVersion::new(1, 21, 0));
        assert_eq!(v("1.22.10").line_string(), "1.22");
        assert!(v("1.9.1") < v("1.10.0"), "numeric, not lexical, order");
        for bad in ["", "1", "1.x", "2.0", "1.22.10.1", "1..2", "-1.2"] {
            assert!(bad.parse::<GoVersion>().is_err(), "{bad:?} must not parse");
        }
    }

    #[test]
    fn go_lines_are_series_from_1_21() {
        assert_eq!(GoVersion::parse_line("1.22"), Ok(v("1.22")));
        for bad in ["1.22.10", "1.20", "1.2x", "go1.22.1"] {
            let e = GoVersion::parse_line(bad).unwrap_err().to_string();
            assert!(e.contains(bad) && (e.contains("release series") || e.contains("number")), "{bad}: {e}");
        }
    }

    #[test]
    fn requirements_compare_by_series_without_a_patch() {
        let r: VersionReq = "<1.23".parse().unwrap();
        assert!(r.matches(v("1.22.10")));
        assert!(!r.matches(v("1.23.0")));
        assert!(!r.matches(v("1.23.9")));
        let r: VersionReq = ">=1.23, <1.27".parse().unwrap();
        assert!(!r.matches(v("1.22.10")));
        assert!(r.matches(v("1.23.9")));
        assert!(r.matches(v("1.26.6")));
        assert!(!r.matches(v("1.27.3")));
        let r: VersionReq = "1.22".parse().unwrap();
        assert!(r.matches(v("1.22.10")) && r.matches(v("1.22")) && !r.matches(v("1.23.1")));
        let r: VersionReq = "<=1.22.5".parse().unwrap();
        assert!(r.matches(v("1.22.5")) && !r.matches(v("1.22.10")));
        for bad in ["<", ">=1.x", "1.22,", "~1.22"] {
            assert!(bad.parse::<VersionReq>().is_err(), "{bad:?} must not parse");
        }
    }
}
