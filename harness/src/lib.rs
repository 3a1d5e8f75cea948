//! gcfuzz: a fuzz and differential test harness for Go programs' garbage
//! collector bugs.
//!
//! Data flows one way (docs/architecture.md), and each module uses only those
//! before it in this chain, plus the shared vocabulary:
//!
//! ```text
//! template → matrix → build → run (→ wasm) → oracle → judge → campaign ┐
//!                                                    judge → fuzz ┴→ report → outputs → cli
//! ```
//!
//! [`template`] loads patterns, [`matrix`] plans cells, [`build`] renders
//! and compiles one program per build key ([`toolchain`] finds or installs
//! Go), [`run`] executes a variant through a backend ([`process`] spawns
//! children, [`synthetic`] makes series up for tests), [`oracle`] turns
//! series into per-variant signals, [`judge`] decides one cell (the one
//! path every judgement takes; [`detect`] asks the detectors), [`campaign`]
//! drives a plan (with the [`journal`]), [`fuzz`] searches run
//! configurations with LibAFL (its generics stay inside), both emitting
//! events that [`report`]
//! alone turns into terminal output and files; [`outputs`] owns output
//! folders and merging; [`calibrate`] aggregates repeated runs.
//!
//! The vocabulary, used across the chain: [`version`], [`knobs`],
//! [`stress`], [`verdict`], [`stats`], [`probe`] (the protocol and metric
//! names), [`detector`] (detector kinds and findings), [`results`] (a
//! cell's result and a campaign's events) and [`errors`].

pub mod bisect;
pub mod build;
pub mod calibrate;
pub mod campaign;
pub mod cell;
pub mod cli;
pub mod detect;
pub mod detector;
pub mod embedded;
pub mod errors;
pub mod floor;
pub mod fuzz;
pub mod journal;
pub mod judge;
pub mod knobs;
pub mod lint;
pub mod matrix;
pub mod once;
pub mod oracle;
pub mod outputs;
pub mod probe;
pub mod process;
pub mod report;
pub mod results;
pub mod run;
pub mod scaffold;
pub mod sequential;
pub mod stats;
pub mod stress;
pub mod synthetic;
pub mod template;
pub mod toolchain;
pub mod verdict;
pub mod version;
#[cfg(feature = "wasm")]
pub mod wasm;
