//! The flags `run`, `calibrate` and `fuzz` share, and what the run flags
//! mean as a matrix and as campaign options.

use super::*;
use crate::cell::BackendKind;

#[derive(Args, Debug)]
pub(super) struct RunArgs {
    /// Patterns by id, number or id prefix (none: all).
    pub(super) patterns: Vec<String>,
    /// Go versions, comma-separated: 1.22, 1.22.10, all, latest, oldest, default [default: default].
    #[arg(long)]
    pub(super) go: Option<String>,
    /// A matrix spec file (YAML) with any of these axes; flags override it axis by axis.
    #[arg(long, value_name = "FILE")]
    pub(super) matrix: Option<PathBuf>,
    /// go.mod `go` lines, comma-separated (replaces each pattern's).
    #[arg(long, value_delimiter = ',')]
    pub(super) go_line: Option<Vec<String>>,
    /// GOGC values, comma-separated (e.g. 50,100,off).
    #[arg(long, value_delimiter = ',')]
    pub(super) gogc: Option<Vec<String>>,
    /// GOMEMLIMIT values, comma-separated (e.g. 64MiB,off).
    #[arg(long, value_delimiter = ',')]
    pub(super) gomemlimit: Option<Vec<String>>,
    /// GOMAXPROCS values, comma-separated.
    #[arg(long, value_delimiter = ',')]
    pub(super) gomaxprocs: Option<Vec<String>>,
    /// GODEBUG values; separate values with `;` (a value may hold commas).
    #[arg(long, value_delimiter = ';')]
    pub(super) godebug: Option<Vec<String>>,
    /// GOEXPERIMENT values (a build dimension), separated by `;`; an empty value is none.
    #[arg(long, value_delimiter = ';')]
    pub(super) goexperiment: Option<Vec<String>>,
    /// Stress settings, separated by `;`, e.g. `alloc-kib=64,gc-ms=10;-` (`-`: none).
    #[arg(long, value_delimiter = ';')]
    pub(super) stress: Option<Vec<String>>,
    /// A scenario parameter for every pattern that has it (repeatable);
    /// several comma-separated values are an axis.
    #[arg(long, value_name = "KEY=VALUE[,VALUE…]")]
    pub(super) param: Vec<String>,
    /// Rounds per run instead of each pattern's.
    #[arg(long)]
    pub(super) rounds: Option<u32>,
    /// Trials (processes) per variant instead of each pattern's.
    #[arg(long)]
    pub(super) trials: Option<u32>,
    /// Backends, comma-separated: native (processes), wasm (wasip1 in
    /// embedded wasmtime, deterministic) [default: native].
    #[arg(long, value_delimiter = ',')]
    pub(super) backend: Option<Vec<BackendKind>>,
    /// Cells run at once [default: the machine's cores]. Patterns marked
    /// `exclusive` (timing-sensitive) still run alone, and the memory
    /// budget still holds.
    #[arg(long, short)]
    pub(super) jobs: Option<usize>,
    /// Kill a run whose resident memory exceeds this many MiB (16 or
    /// more: a Go runtime needs a few MiB to start).
    #[arg(long, default_value_t = 2048, value_parser = mem_cap_range())]
    pub(super) mem_cap_mib: u64,
    /// Memory budget for cells running at once, MiB, by the patterns'
    /// declared peaks [default: half the machine's memory].
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=MAX_MIB))]
    pub(super) mem_budget_mib: Option<u64>,
    /// Write the verdicts as JSON to FILE (`-` for stdout).
    #[arg(long, value_name = "FILE")]
    pub(super) json: Option<PathBuf>,
    /// Append each run as it ends, and each cell's result, to this journal (JSON lines).
    #[arg(long, value_name = "FILE")]
    pub(super) journal: Option<PathBuf>,
    /// Keep the journal's finished cells and run only the rest (needs --journal or --out).
    #[arg(long)]
    pub(super) resume: bool,
    /// Write results.jsonl (the journal), verdicts.json, summary.md, junit.xml,
    /// report.html, bench.txt and evidence/ (heap profiles and stderr of
    /// cells whose fix failed or whose verdict was unexpected) into DIR
    /// [default: ./out].
    #[arg(long, value_name = "DIR", env = "GCFUZZ_OUT")]
    pub(super) out: Option<PathBuf>,
    /// Write no output folder (only the table, and --json / --journal if
    /// asked); wins over --out and GCFUZZ_OUT.
    #[arg(long)]
    pub(super) no_out: bool,
    /// Also ask go vet and the runtime's own checks about each cell.
    #[arg(long)]
    pub(super) detectors: bool,
    /// Run every run to its rounds and every trial, undecided or not (by
    /// default a run stops once its samples decide it, with the chance of
    /// a wrong decision bounded over all its looks, an undecided one runs
    /// on up to twice its rounds, and trials stop once the rest cannot
    /// change the variant's status).
    #[arg(long)]
    pub(super) no_early_stop: bool,
    /// Early stopping is the default; kept so older command lines work.
    #[arg(long, hide = true, conflicts_with = "no_early_stop")]
    pub(super) early_stop: bool,
    /// Run only shard K of N (deterministic, even by expected cost); `gcfuzz merge` joins them.
    #[arg(long, value_name = "K/N")]
    pub(super) shard: Option<String>,
    /// No progress lines.
    #[arg(long, short)]
    pub(super) quiet: bool,
}

#[derive(Args, Debug)]
pub(super) struct FuzzArgs {
    /// Patterns by id, number or id prefix (none: all).
    pub(super) patterns: Vec<String>,
    /// Toolchains the configurations may use, comma-separated.
    #[arg(long, default_value = "all")]
    pub(super) go: String,
    /// Backends the configurations may use, comma-separated.
    #[arg(long, default_value = "native", value_delimiter = ',')]
    pub(super) backend: Vec<BackendKind>,
    /// Wall time over all patterns, e.g. 90s, 10m, 1h.
    #[arg(long, conflicts_with = "iters", value_parser = parse_duration)]
    pub(super) time: Option<std::time::Duration>,
    /// Executions per pattern [default: 40 when --time is not given].
    #[arg(long)]
    pub(super) iters: Option<u64>,
    /// Judgements at a time.
    #[arg(long, short, default_value_t = 2)]
    pub(super) jobs: usize,
    /// The corpus folder: seeds, queue and findings per pattern.
    #[arg(long, default_value = "corpus", value_name = "DIR")]
    pub(super) corpus: PathBuf,
    /// Kill a run whose resident memory exceeds this many MiB (16 or
    /// more: a Go runtime needs a few MiB to start).
    #[arg(long, default_value_t = 2048, value_parser = mem_cap_range())]
    pub(super) mem_cap_mib: u64,
    /// Memory budget for judgements at once, MiB [default: half the machine's memory].
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=MAX_MIB))]
    pub(super) mem_budget_mib: Option<u64>,
    /// LibAFL's random seed [default: from the clock].
    #[arg(long)]
    pub(super) seed: Option<u64>,
    /// The most of the run time that judging again, at the pattern's own
    /// limits, configurations whose fixed variant the speed cap cut may
    /// take (0: never, the fuzzer then does not see past the cap; 1: no
    /// limit).
    #[arg(long, default_value_t = crate::fuzz::target::HEAVY_SHARE, value_parser = parse_share)]
    pub(super) heavy_share: f64,
    /// No progress lines.
    #[arg(long, short)]
    pub(super) quiet: bool,
}

impl RunArgs {
    /// The matrix axes the flags give (a `--matrix` file fills the rest).
    pub(super) fn axes(&self) -> Result<MatrixFile> {
        let file = match &self.matrix {
            Some(path) => matrix::load_file(path)?,
            None => MatrixFile::default(),
        };
        let flags = MatrixFile {
            patterns: self.patterns.clone(),
            go: self.go.as_ref().map(|g| vec![g.clone()]),
            go_line: self.go_line.clone(),
            gogc: self.gogc.clone(),
            gomemlimit: self.gomemlimit.clone(),
            gomaxprocs: self.gomaxprocs.clone(),
            godebug: self.godebug.clone(),
            stress: self.stress.clone(),
            goexperiment: self.goexperiment.clone(),
            params: matrix::parse_params(&self.param)?,
            rounds: self.rounds,
            trials: self.trials,
            backend: self.backend.clone(),
        };
        Ok(flags.or(file))
    }

    pub(super) fn options(&self, cancel: &crate::process::Cancel) -> campaign::Options {
        campaign::Options {
            cancel: cancel.clone(),
            jobs: self.jobs.unwrap_or_else(cores).max(1),
            rss_cap: Some(self.mem_cap_mib << 20),
            mem_budget: self.mem_budget_mib.map_or_else(campaign::half_of_memory, |m| m << 20),
            pair_by_family: std::env::var_os("GCFUZZ_PAIR_ALL").is_none_or(|v| v.is_empty() || v == "0"),
            detectors: self.detectors,
            early_stop: !self.no_early_stop,
        }
    }
}
