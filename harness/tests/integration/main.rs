//! End-to-end tests: real Go toolchains (provisioned into the gcfuzz cache,
//! `GCFUZZ_HOME` or `~/.cache/gcfuzz`), real builds, real runs.
//!
//! One test binary with topic modules (ripgrep's layout).

mod bisect;
mod check;
mod cli;
mod detectors;
mod diff;
mod examples;
mod floor;
#[cfg(all(feature = "libafl", feature = "wasm"))]
mod fuzz;
#[cfg(feature = "libafl")]
mod fuzz_regions;
mod guide;
mod judge;
mod layout;
mod modules;
mod patterns;
mod patterns_finalizers;
mod patterns_liveness;
mod patterns_memory;
mod patterns_pacer;
mod reports;
mod reproducers;
mod resume;
mod robustness;
mod snapshots;
mod support;
mod toolchains;
#[cfg(feature = "wasm")]
mod wasm;
