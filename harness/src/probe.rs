//! The probe protocol (version 1), as the Go side in `templates/probe`
//! writes it: one JSON object per stdout line with `"v":1` and a `type` of
//! `hello`, `sample` or `done`. Pure parsing; no I/O.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The protocol version this harness reads.
pub const PROTOCOL_VERSION: u64 = 1;

/// The metrics a probe sample may carry (`templates/probe`); a runtime
/// that lacks one leaves it out of the sample.
pub const SAMPLE_METRICS: &[&str] = &[
    "heap_live",
    "heap_objects",
    "heap_object_bytes",
    "total_mem",
    "goroutines",
    "gc_cycles",
    "gc_cpu_s",
    "total_cpu_s",
    "alloc_bytes",
    "alloc_objects",
    "fds",
    "rss",
    "proc_cpu_s",
    "fuel",
    "t_ns",
    "round_ns",
    "settle_ns",
    "settled",
];

/// The pseudo-metric a `trials` signal reads to count the trials that
/// crashed: not a sample field, but a name the signal language shares
/// with the sample metrics.
pub const CRASH_METRIC: &str = "crash";

/// The first line: what is running.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Hello {
    /// `<pattern-id>/<variant>`.
    pub scenario: String,
    /// `runtime.Version()`, e.g. `go1.22.10`.
    pub go: String,
    /// GOOS.
    #[serde(default)]
    pub goos: String,
    /// GOARCH.
    #[serde(default)]
    pub goarch: String,
    /// The child's pid.
    #[serde(default)]
    pub pid: u64,
    /// runtime.NumCPU().
    #[serde(default)]
    pub num_cpu: u64,
    /// The parameters in effect.
    #[serde(default)]
    pub params: BTreeMap<String, String>,
    /// The runtime/metrics keys this runtime has (others are absent).
    #[serde(default)]
    pub metrics: Vec<String>,
}

/// One sample, taken after a round (round -1 is the baseline).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Sample {
    /// The round it follows; -1 before the first.
    pub round: i64,
    /// Every numeric field: `heap_live`, `goroutines`, `t_ns`, …
    pub values: BTreeMap<String, f64>,
    /// The scenario's counters.
    pub counters: BTreeMap<String, i64>,
}

impl Sample {
    /// A metric or counter by name; `round` is the round index.
    pub fn get(&self, name: &str) -> Option<f64> {
        if name == "round" {
            return Some(self.round as f64);
        }
        self.values.get(name).copied().or_else(|| self.counters.get(name).map(|&c| c as f64))
    }
}

/// The last line.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Done {
    /// Rounds completed.
    pub rounds: i64,
    /// `rounds` (all done), `wall` (stopped at its wall-clock limit) or
    /// `watchdog` (a round hung).
    pub reason: String,
    /// Nanoseconds since start.
    #[serde(default)]
    pub t_ns: i64,
}

/// A detector's report from inside the program (the goroutine leak profile).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct DetectorLine {
    /// `goroutineleak`.
    pub name: String,
    /// What it counted; -1 where the runtime lacks the detector.
    pub count: i64,
    /// The first frame in the program's own code, if any.
    #[serde(default)]
    pub r#where: String,
}

/// One parsed line.
#[derive(Clone, Debug, PartialEq)]
pub enum Line {
    /// `detector`.
    Detector(DetectorLine),
    /// `hello`.
    Hello(Hello),
    /// `sample`.
    Sample(Sample),
    /// `done`.
    Done(Done),
}

/// A line that is not protocol.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("bad probe line ({reason}): {line}")]
pub struct ProbeError {
    /// Why.
    pub reason: String,
    /// The line (cut to 200 characters).
    pub line: String,
}

/// Parses one stdout line.
pub fn parse_line(line: &str) -> Result<Line, ProbeError> {
    let bad = |reason: String| ProbeError { reason, line: line.chars().take(200).collect() };
    let v: serde_json::Value = serde_json::from_str(line).map_err(|e| bad(format!("not JSON: {e}")))?;
    let obj = v.as_object().ok_or_else(|| bad("not an object".into()))?;
    match obj.get("v").and_then(|v| v.as_u64()) {
        Some(PROTOCOL_VERSION) => {}
        Some(other) => return Err(bad(format!("protocol version {other}, this gcfuzz reads {PROTOCOL_VERSION}"))),
        None => return Err(bad("no protocol version".into())),
    }
    match obj.get("type").and_then(|t| t.as_str()) {
        Some("hello") => serde_json::from_value(v.clone()).map(Line::Hello).map_err(|e| bad(e.to_string())),
        Some("done") => serde_json::from_value(v.clone()).map(Line::Done).map_err(|e| bad(e.to_string())),
        Some("detector") => serde_json::from_value(v.clone()).map(Line::Detector).map_err(|e| bad(e.to_string())),
        Some("sample") => {
            let round = obj.get("round").and_then(|r| r.as_i64()).ok_or_else(|| bad("sample without round".into()))?;
            let mut s = Sample { round, ..Default::default() };
            for (k, val) in obj {
                match (k.as_str(), val) {
                    ("v" | "type" | "round", _) => {}
                    ("counters", serde_json::Value::Object(c)) => {
                        for (name, n) in c {
                            let n = n.as_i64().ok_or_else(|| bad(format!("counter `{name}` is not an integer")))?;
                            s.counters.insert(name.clone(), n);
                        }
                    }
                    (_, serde_json::Value::Number(n)) => {
                        s.values.insert(k.clone(), n.as_f64().unwrap_or(f64::NAN));
                    }
                    _ => {}
                }
            }
            Ok(Line::Sample(s))
        }
        other => Err(bad(format!("unknown type {other:?}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_three_line_types() {
        let h = parse_line(r#"{"v":1,"type":"hello","scenario":"15-x/buggy","go":"go1.21.13","goos":"linux","goarch":"amd64","pid":3,"num_cpu":2,"params":{"workers":"10"},"metrics":["heap_live"]}"#).unwrap();
        let Line::Hello(h) = h else { panic!("{h:?}") };
        assert_eq!(
            (h.scenario.as_str(), h.go.as_str(), h.params["workers"].as_str()),
            ("15-x/buggy", "go1.21.13", "10")
        );

        let s = parse_line(r#"{"v":1,"type":"sample","round":3,"t_ns":5,"heap_live":317936,"gc_cpu_s":0.25,"counters":{"workers":4000}}"#).unwrap();
        let Line::Sample(s) = s else { panic!("{s:?}") };
        assert_eq!(s.round, 3);
        assert_eq!(s.get("heap_live"), Some(317936.0));
        assert_eq!(s.get("gc_cpu_s"), Some(0.25));
        assert_eq!(s.get("workers"), Some(4000.0));
        assert_eq!(s.get("round"), Some(3.0));
        assert_eq!(s.get("fds"), None, "a metric an old runtime lacks is absent, not zero");

        let l = parse_line(
            r#"{"v":1,"type":"detector","name":"goroutineleak","count":20,"where":"p.handler.func1 buggy.go:14"}"#,
        );
        assert_eq!(
            l.unwrap(),
            Line::Detector(DetectorLine {
                name: "goroutineleak".into(),
                count: 20,
                r#where: "p.handler.func1 buggy.go:14".into()
            })
        );
        let d = parse_line(r#"{"v":1,"type":"done","rounds":12,"reason":"rounds","t_ns":9}"#).unwrap();
        assert_eq!(d, Line::Done(Done { rounds: 12, reason: "rounds".into(), t_ns: 9 }));
    }

    #[test]
    fn rejects_what_is_not_protocol() {
        for (line, why) in [
            ("hello", "not JSON"),
            ("[1]", "not an object"),
            (r#"{"type":"done"}"#, "no protocol version"),
            (r#"{"v":2,"type":"done","rounds":1,"reason":"x"}"#, "protocol version 2"),
            (r#"{"v":1,"type":"bye"}"#, "unknown type"),
            (r#"{"v":1,"type":"sample"}"#, "without round"),
            (r#"{"v":1,"type":"sample","round":1,"counters":{"a":"x"}}"#, "not an integer"),
        ] {
            let e = parse_line(line).unwrap_err();
            assert!(e.reason.contains(why), "{line}: {e}");
        }
    }
}
