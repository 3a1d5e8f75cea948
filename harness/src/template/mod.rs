//! Bug-pattern templates: `templates/<NN-slug>/pattern.yaml` plus Go files.
//!
//! The YAML is read into raw types ([`spec`]: serde, unknown fields denied)
//! and then checked ([`check`]) into the validated [`model`]: parameters,
//! variants, files, metric names, thresholds, version requirements and
//! expectations are all validated at load time, and every error names the
//! file, line and column. [`load`] reads folders and picks patterns by name.
//! The README's "Template format" section documents the fields.
//!
//! YAML is parsed by `serde-saphyr` (pure Rust, maintained, never panics on
//! bad input, reports locations and `Spanned` values), not the deprecated
//! `serde_yaml`; this module is the only place that knows.

mod check;
mod error;
mod load;
mod model;
mod revision;
mod spec;

pub use check::{MAX_ROUNDS, MAX_RUN_S, MAX_TRIALS};
pub use error::TemplateError;
pub use load::{load_all, load_catalogue, load_pattern, parse_pattern, select};
pub use model::*;

#[cfg(test)]
mod tests;
