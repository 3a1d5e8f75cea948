//! The raw schema: `pattern.yaml` exactly as written, before any check.
//! Every struct denies unknown fields, so a misspelt key is an error with
//! its place, not a silently ignored setting.

use super::model::{Family, ParamType, Role, Stat};
use crate::verdict::Verdict;
use serde::Deserialize;
use serde::de::{self, Deserializer, Visitor};
use serde_saphyr::Spanned;
use std::collections::BTreeMap;
use std::fmt;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct PatternSpec {
    pub(super) title: String,
    pub(super) seed_bug: Option<u32>,
    pub(super) family: Family,
    pub(super) summary: String,
    #[serde(default)]
    pub(super) notes: Vec<String>,
    #[serde(default)]
    pub(super) common: Vec<Spanned<String>>,
    pub(super) variants: BTreeMap<String, VariantSpec>,
    #[serde(default)]
    pub(super) params: BTreeMap<String, ParamSpec>,
    #[serde(default)]
    pub(super) counters: BTreeMap<String, String>,
    #[serde(default)]
    pub(super) run: RunSpec,
    #[serde(default)]
    pub(super) crash_is_symptom: bool,
    #[serde(default)]
    pub(super) detectors: Vec<crate::detector::Detector>,
    #[serde(default)]
    pub(super) needs: Vec<super::model::Need>,
    #[serde(default)]
    pub(super) modules: Vec<ModuleSpec>,
    pub(super) signals: Vec<SignalSpec>,
    #[serde(default)]
    pub(super) configs: Vec<ConfigSpec>,
    pub(super) expect: Vec<ExpectSpec>,
}

/// A local Go module the scenario imports: `{path: example.com/shop,
/// dir: ../shop}`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ModuleSpec {
    pub(super) path: Spanned<String>,
    pub(super) dir: Spanned<String>,
    /// A git revision of `dir` (commit, tag, branch): the folder as it
    /// was there.
    #[serde(default)]
    pub(super) rev: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct VariantSpec {
    pub(super) about: String,
    #[serde(default)]
    pub(super) files: Vec<Spanned<String>>,
    #[serde(default)]
    pub(super) env: KnobsSpec,
    /// Another folder for a module the pattern names (`{example.com/shop:
    /// ../shop-old}`, or a revision of one: `../shop@HEAD~1`): this variant
    /// builds against that version.
    #[serde(default)]
    pub(super) modules: BTreeMap<String, Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ParamSpec {
    #[serde(rename = "type")]
    pub(super) kind: ParamType,
    pub(super) default: Spanned<f64>,
    pub(super) range: Spanned<[f64; 2]>,
    #[serde(default)]
    pub(super) about: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(super) struct RunSpec {
    pub(super) rounds: u32,
    pub(super) warmup: u32,
    pub(super) gc_per_sample: u32,
    pub(super) max_wall_s: f64,
    pub(super) timeout_s: f64,
    pub(super) trials: u32,
    pub(super) max_rss_mib: Option<u64>,
    pub(super) peak_mib: u64,
    pub(super) exclusive: bool,
    pub(super) settle: super::model::Settle,
}

impl Default for RunSpec {
    fn default() -> Self {
        RunSpec {
            rounds: 10,
            warmup: 2,
            gc_per_sample: 1,
            max_wall_s: 20.0,
            timeout_s: 60.0,
            trials: 1,
            max_rss_mib: None,
            peak_mib: 64,
            exclusive: false,
            settle: super::model::Settle::None,
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct SignalSpec {
    pub(super) name: String,
    pub(super) metric: Spanned<String>,
    #[serde(default = "round")]
    pub(super) per: Spanned<String>,
    pub(super) stat: Stat,
    pub(super) present_above: Spanned<ThresholdSpec>,
    #[serde(default)]
    pub(super) unit: String,
    #[serde(default)]
    pub(super) role: Role,
    #[serde(default)]
    pub(super) proportion: bool,
    #[serde(default)]
    pub(super) per_allocated: bool,
    #[serde(default)]
    pub(super) about: String,
}

fn round() -> Spanned<String> {
    Spanned::new("round".to_string(), serde_saphyr::Location::UNKNOWN, serde_saphyr::Location::UNKNOWN)
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct KnobsSpec {
    #[serde(default, deserialize_with = "scalar_string")]
    pub(super) gogc: Option<String>,
    #[serde(default, deserialize_with = "scalar_string")]
    pub(super) gomemlimit: Option<String>,
    #[serde(default, deserialize_with = "scalar_string")]
    pub(super) gomaxprocs: Option<String>,
    #[serde(default, deserialize_with = "scalar_string")]
    pub(super) godebug: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ConfigSpec {
    #[serde(default)]
    pub(super) go: Option<Spanned<String>>,
    #[serde(default)]
    pub(super) stress: Option<Spanned<String>>,
    #[serde(default)]
    pub(super) goexperiment: Option<String>,
    #[serde(default)]
    pub(super) go_line: Option<Spanned<String>>,
    #[serde(default, deserialize_with = "scalar_string")]
    pub(super) gogc: Option<String>,
    #[serde(default, deserialize_with = "scalar_string")]
    pub(super) gomemlimit: Option<String>,
    #[serde(default, deserialize_with = "scalar_string")]
    pub(super) gomaxprocs: Option<String>,
    #[serde(default, deserialize_with = "scalar_string")]
    pub(super) godebug: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ExpectSpec {
    #[serde(default)]
    pub(super) when: Option<WhenSpec>,
    pub(super) verdict: Spanned<Verdict>,
    #[serde(default)]
    pub(super) why: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct WhenSpec {
    #[serde(default)]
    pub(super) go: Option<Spanned<String>>,
    #[serde(default)]
    pub(super) goexperiment: Option<String>,
    #[serde(default)]
    pub(super) go_line: Option<Spanned<String>>,
    #[serde(default, deserialize_with = "scalar_string")]
    pub(super) gogc: Option<String>,
    #[serde(default, deserialize_with = "scalar_string")]
    pub(super) gomemlimit: Option<String>,
    #[serde(default, deserialize_with = "scalar_string")]
    pub(super) gomaxprocs: Option<String>,
    #[serde(default, deserialize_with = "scalar_string")]
    pub(super) godebug: Option<String>,
    #[serde(default)]
    pub(super) backend: Option<Spanned<String>>,
}

/// A YAML scalar read as a string: `gogc: 50` and `gogc: "50"` are the same.
fn scalar_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    struct V;
    impl Visitor<'_> for V {
        type Value = Option<String>;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a string or a number")
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
            Ok(Some(v.to_string()))
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
            Ok(Some(v.to_string()))
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
            Ok(Some(v.to_string()))
        }
        fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
            Ok(Some(v.to_string()))
        }
        fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
            Ok(Some(if v { "on" } else { "off" }.to_string()))
        }
    }
    d.deserialize_any(V)
}

/// A threshold as written: a number, or `NAME * FACTOR` (either order).
#[derive(Clone, Debug, PartialEq)]
pub(super) enum ThresholdSpec {
    Number(f64),
    Expr(String),
}

impl<'de> Deserialize<'de> for ThresholdSpec {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = ThresholdSpec;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a number or `NAME * NUMBER` (a parameter, `rounds` or a counter)")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(ThresholdSpec::Expr(v.to_string()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
                Ok(ThresholdSpec::Number(v as f64))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
                Ok(ThresholdSpec::Number(v as f64))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
                Ok(ThresholdSpec::Number(v))
            }
        }
        d.deserialize_any(V)
    }
}
