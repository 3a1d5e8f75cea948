//! Runtime knobs: the environment variables the Go runtime reads (GOGC,
//! GOMEMLIMIT, GOMAXPROCS, GODEBUG). They are a dimension of the matrix,
//! set per run and never inherited from the harness's own environment.
//!
//! Values are checked once, where they enter (the flags, matrix files,
//! pattern files: [`check_gogc`], [`check_gomemlimit`],
//! [`check_gomaxprocs`], as the Go runtime parses them), and then carried
//! as written rather than as parsed numbers: they are part of a cell's
//! journal key and label (`GOMEMLIMIT=512MiB`), and a parsed value printed
//! back (`536870912`) would orphan every journal written before and
//! make labels read unlike what the user wrote.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

/// The runtime settings of one run. `None` leaves the runtime's default.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(default)]
pub struct Knobs {
    /// GOGC: a percentage or `off`.
    #[serde(rename = "GOGC", skip_serializing_if = "Option::is_none")]
    pub gogc: Option<String>,
    /// GOMEMLIMIT: bytes with an optional unit suffix (`512MiB`) or `off`.
    #[serde(rename = "GOMEMLIMIT", skip_serializing_if = "Option::is_none")]
    pub gomemlimit: Option<String>,
    /// GOMAXPROCS.
    #[serde(rename = "GOMAXPROCS", skip_serializing_if = "Option::is_none")]
    pub gomaxprocs: Option<String>,
    /// GODEBUG: comma-separated `key=value` settings.
    #[serde(rename = "GODEBUG", skip_serializing_if = "Option::is_none")]
    pub godebug: Option<String>,
}

impl Knobs {
    /// The environment variables these knobs set, by name.
    pub fn env(&self) -> BTreeMap<&'static str, String> {
        let mut m = BTreeMap::new();
        let pairs = [
            ("GOGC", &self.gogc),
            ("GOMEMLIMIT", &self.gomemlimit),
            ("GOMAXPROCS", &self.gomaxprocs),
            ("GODEBUG", &self.godebug),
        ];
        for (k, v) in pairs {
            if let Some(v) = v {
                m.insert(k, v.clone());
            }
        }
        m
    }

    /// `other`'s settings layered over these (a variant's own knobs over a
    /// configuration's). GODEBUG settings are merged, `other` winning per key.
    pub fn overlay(&self, other: &Knobs) -> Knobs {
        let godebug = match (&self.godebug, &other.godebug) {
            (Some(a), Some(b)) => Some(merge_godebug(a, b)),
            (a, b) => b.clone().or_else(|| a.clone()),
        };
        Knobs {
            gogc: other.gogc.clone().or_else(|| self.gogc.clone()),
            gomemlimit: other.gomemlimit.clone().or_else(|| self.gomemlimit.clone()),
            gomaxprocs: other.gomaxprocs.clone().or_else(|| self.gomaxprocs.clone()),
            godebug,
        }
    }

    /// Resolves a GOMEMLIMIT written relative to the live set (`0.5x`,
    /// `2x`) against `live_mib`, into MiB. Other values are left alone.
    pub fn resolve_relative(&self, live_mib: f64) -> Result<Knobs, String> {
        let mut k = self.clone();
        if let Some(v) = &self.gomemlimit
            && let Some(f) = v.strip_suffix('x')
        {
            let f: f64 = f.trim().parse().map_err(|_| format!("GOMEMLIMIT `{v}`: want a factor such as 0.5x"))?;
            if !(f > 0.0 && f.is_finite()) {
                return Err(format!("GOMEMLIMIT `{v}`: the factor must be positive"));
            }
            k.gomemlimit = Some(format!("{}MiB", (f * live_mib).round().max(1.0) as u64));
        }
        Ok(k)
    }

    /// Checks every value against what the Go runtime reads, so that a
    /// typo is an error up front rather than a cell that silently measures
    /// the default under a wrong label (Go ignores a GOGC of `abc`).
    /// Relative GOMEMLIMITs (`0.5x`) are gcfuzz's own and allowed.
    pub fn validate(&self) -> Result<(), String> {
        if let Some(v) = &self.gogc {
            check_gogc(v)?;
        }
        if let Some(v) = &self.gomemlimit {
            check_gomemlimit(v)?;
        }
        if let Some(v) = &self.gomaxprocs {
            check_gomaxprocs(v)?;
        }
        Ok(())
    }

    /// Whether GODEBUG holds the setting `kv` (`key=value`).
    pub fn has_godebug(&self, kv: &str) -> bool {
        self.godebug.as_deref().is_some_and(|g| g.split(',').any(|s| s.trim() == kv.trim()))
    }
}

/// GOGC: an integer of 0 or more, or `off`.
pub fn check_gogc(v: &str) -> Result<(), String> {
    if v == "off" || (!v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()) && v.parse::<i32>().is_ok()) {
        Ok(())
    } else {
        Err(format!("GOGC `{v}`: want an integer of 0 or more (a percentage, e.g. 100) or `off`"))
    }
}

/// GOMEMLIMIT: Go's size syntax (digits with an optional suffix B, KiB,
/// MiB, GiB or TiB), `off`, or gcfuzz's relative `Nx` (N times the
/// pattern's live set).
pub fn check_gomemlimit(v: &str) -> Result<(), String> {
    let bad = || {
        Err(format!(
            "GOMEMLIMIT `{v}`: want bytes with an optional suffix (B, KiB, MiB, GiB, TiB; e.g. 512MiB), `off`, or a factor of the live set such as 0.5x"
        ))
    };
    if v == "off" {
        return Ok(());
    }
    if let Some(f) = v.strip_suffix('x') {
        return match f.parse::<f64>() {
            Ok(f) if f > 0.0 && f.is_finite() => Ok(()),
            _ => bad(),
        };
    }
    let digits = v.bytes().take_while(u8::is_ascii_digit).count();
    let (n, suffix) = v.split_at(digits);
    if n.is_empty() || n.parse::<u64>().is_err() || !["", "B", "KiB", "MiB", "GiB", "TiB"].contains(&suffix) {
        return bad();
    }
    Ok(())
}

/// GOMAXPROCS: an integer of 1 or more.
pub fn check_gomaxprocs(v: &str) -> Result<(), String> {
    match v.parse::<u32>() {
        Ok(n) if n >= 1 && v.bytes().all(|b| b.is_ascii_digit()) => Ok(()),
        _ => Err(format!("GOMAXPROCS `{v}`: want an integer of 1 or more")),
    }
}

fn merge_godebug(base: &str, over: &str) -> String {
    let mut kv: Vec<(String, String)> = Vec::new();
    for s in base.split(',').chain(over.split(',')) {
        let s = s.trim();
        if s.is_empty() {
            continue;
        }
        let (k, v) = s.split_once('=').unwrap_or((s, ""));
        match kv.iter_mut().find(|(ek, _)| ek == k) {
            Some(e) => e.1 = v.to_string(),
            None => kv.push((k.to_string(), v.to_string())),
        }
    }
    kv.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(",")
}

impl fmt::Display for Knobs {
    /// `GOGC=50 GODEBUG=x=1`, or `-` for the runtime's defaults.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let env = self.env();
        if env.is_empty() {
            return f.write_str("-");
        }
        let parts: Vec<String> = env.iter().map(|(k, v)| format!("{k}={v}")).collect();
        f.write_str(&parts.join(" "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn knob_values_are_checked_as_go_reads_them() {
        for ok in ["0", "100", "2000", "off"] {
            assert_eq!(check_gogc(ok), Ok(()), "{ok}");
        }
        for bad in ["", "abc", "6.4", "-5", "+5", " 50", "99999999999"] {
            assert!(check_gogc(bad).is_err(), "{bad}");
        }
        for ok in ["0", "1048576", "512MiB", "1GiB", "64KiB", "3B", "1TiB", "off", "0.5x", "2x"] {
            assert_eq!(check_gomemlimit(ok), Ok(()), "{ok}");
        }
        for bad in ["", "12XB", "1.5GiB", "512mb", "MiB", "-1", "0x", "-2x", "abcx", "1 GiB"] {
            assert!(check_gomemlimit(bad).is_err(), "{bad}");
        }
        for ok in ["1", "2", "64"] {
            assert_eq!(check_gomaxprocs(ok), Ok(()), "{ok}");
        }
        for bad in ["0", "-1", "two", "", "+2"] {
            assert!(check_gomaxprocs(bad).is_err(), "{bad}");
        }
        let k = Knobs { gogc: Some("off".into()), gomemlimit: Some("nope".into()), ..Default::default() };
        assert!(k.validate().unwrap_err().starts_with("GOMEMLIMIT `nope`"));
    }

    #[test]
    fn gomemlimit_relative_to_the_live_set() {
        let k = Knobs { gomemlimit: Some("0.5x".into()), ..Default::default() };
        assert_eq!(k.resolve_relative(64.0).unwrap().gomemlimit.as_deref(), Some("32MiB"));
        let k = Knobs { gomemlimit: Some("2x".into()), gogc: Some("50".into()), ..Default::default() };
        let r = k.resolve_relative(100.0).unwrap();
        assert_eq!((r.gomemlimit.as_deref(), r.gogc.as_deref()), (Some("200MiB"), Some("50")));
        let plain = Knobs { gomemlimit: Some("64MiB".into()), ..Default::default() };
        assert_eq!(plain.resolve_relative(1.0).unwrap(), plain);
        assert!(Knobs { gomemlimit: Some("ax".into()), ..Default::default() }.resolve_relative(1.0).is_err());
        assert!(Knobs { gomemlimit: Some("-1x".into()), ..Default::default() }.resolve_relative(1.0).is_err());
    }

    #[test]
    fn overlay_and_display() {
        let base = Knobs { gogc: Some("50".into()), godebug: Some("a=1,b=2".into()), ..Default::default() };
        let over = Knobs { godebug: Some("b=3,c=4".into()), gomaxprocs: Some("1".into()), ..Default::default() };
        let k = base.overlay(&over);
        assert_eq!(k.gogc.as_deref(), Some("50"));
        assert_eq!(k.godebug.as_deref(), Some("a=1,b=3,c=4"));
        assert_eq!(k.to_string(), "GODEBUG=a=1,b=3,c=4 GOGC=50 GOMAXPROCS=1");
        assert!(k.has_godebug("b=3") && !k.has_godebug("b=2"));
        assert_eq!(Knobs::default().to_string(), "-");
    }
}
