//! gcfuzz: a fuzz and differential test harness for Go programs' garbage
//! collector bugs.
//!
//! Data flows one way (see DESIGN.md): [`template`] loads patterns,
//! [`matrix`] plans cells, [`toolchain`] finds or installs Go, [`build`]
//! renders and compiles one program per build key, [`run`] executes each
//! variant through a backend ([`process`] spawns children), [`probe`] parses
//! what the child reports, [`oracle`] turns series into verdicts, and
//! [`campaign`] drives it all, emitting events that [`report`] alone turns
//! into terminal output and files.
#![warn(missing_docs)]

pub mod build;
pub mod calibrate;
pub mod campaign;
pub mod cli;
pub mod detect;
pub mod errors;
pub mod journal;
pub mod knobs;
pub mod matrix;
pub mod oracle;
pub mod probe;
pub mod process;
pub mod report;
pub mod run;
pub mod stats;
pub mod stress;
pub mod template;
pub mod toolchain;
pub mod verdict;
pub mod version;
