//! The command line: argument definitions (clap), dispatch to the
//! library, printing, and exit codes by cause. Everything with logic of
//! its own lives in the library: planning in [`crate::matrix`], the
//! campaign in [`crate::campaign`], output folders and merging in
//! [`crate::outputs`], formats in [`crate::report`].
//!
//! Exit codes: 0 every expectation met; 1 an expectation not met; 2 usage
//! or bad input (flags, templates, matrix files, Go versions, merge
//! inputs); 3 setup (a toolchain, a build, I/O, the journal); 130
//! interrupted.

use crate::build::{self, BuildKey, GoBuilder};
use crate::campaign::{self, Campaign};
use crate::journal::Journal;
use crate::matrix::{self, MatrixFile};
use crate::outputs::{self, OutDir};
use crate::report::{self, console};
use crate::results::{CellResult, Event};
use crate::run::{Backend, Native};
use crate::template::{self, Pattern};
use crate::toolchain::{self, ToolchainError, Toolchains};
use crate::version::GoVersion;
use anyhow::{Context, Result, bail};
use clap::{Args, Parser, Subcommand};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Mutex;

/// Exit code: every expectation met.
pub const EXIT_OK: u8 = 0;
/// Exit code: a verdict differed from its expectation.
pub const EXIT_UNEXPECTED: u8 = 1;
/// Exit code: usage or bad input.
pub const EXIT_USAGE: u8 = 2;
/// Exit code: setup failed (a toolchain, a build, I/O, the journal).
pub const EXIT_SETUP: u8 = 3;
/// Exit code: interrupted (Ctrl-C); `--resume` finishes the run.
pub const EXIT_INTERRUPTED: u8 = 130;

/// gcfuzz: differential tests of Go garbage-collector bug patterns across
/// Go versions and runtime settings.
#[derive(Parser, Debug)]
#[command(name = "gcfuzz", version, about, long_about = None)]
pub struct Cli {
    /// Add the patterns of DIR to the built-in ones: a pattern folder, or a
    /// folder of them (repeatable; GCFUZZ_TEMPLATES: a `:`-separated list).
    #[arg(long, global = true, env = "GCFUZZ_TEMPLATES", value_name = "DIR", value_delimiter = ':')]
    templates: Vec<PathBuf>,
    /// Leave the built-in patterns out (only those of --templates).
    #[arg(long, global = true)]
    no_builtin: bool,
    /// Cache folder for toolchains and builds [default: ~/.cache/gcfuzz].
    #[arg(long, global = true, env = "GCFUZZ_HOME", value_name = "DIR")]
    home: Option<PathBuf>,
    /// A Go installation to use as well (repeatable).
    #[arg(long, global = true, value_name = "DIR")]
    goroot: Vec<PathBuf>,
    /// Do not use the `go` found on PATH.
    #[arg(long, global = true)]
    no_path_go: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
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
enum ToolchainCmd {
    /// Known toolchains and where they are.
    List,
    /// Install toolchains (e.g. `1.22 1.27`, `all`).
    Install {
        /// Versions.
        #[arg(required = true)]
        versions: Vec<String>,
    },
}

#[derive(Args, Debug)]
struct RunArgs {
    /// Patterns by id, number or id prefix (none: all).
    patterns: Vec<String>,
    /// Go versions, comma-separated: 1.22, 1.22.10, all, latest, oldest, default [default: default].
    #[arg(long)]
    go: Option<String>,
    /// A matrix spec file (YAML) with any of these axes; flags override it axis by axis.
    #[arg(long, value_name = "FILE")]
    matrix: Option<PathBuf>,
    /// go.mod `go` lines, comma-separated (replaces each pattern's).
    #[arg(long, value_delimiter = ',')]
    go_line: Option<Vec<String>>,
    /// GOGC values, comma-separated (e.g. 50,100,off).
    #[arg(long, value_delimiter = ',')]
    gogc: Option<Vec<String>>,
    /// GOMEMLIMIT values, comma-separated (e.g. 64MiB,off).
    #[arg(long, value_delimiter = ',')]
    gomemlimit: Option<Vec<String>>,
    /// GOMAXPROCS values, comma-separated.
    #[arg(long, value_delimiter = ',')]
    gomaxprocs: Option<Vec<String>>,
    /// GODEBUG values; separate values with `;` (a value may hold commas).
    #[arg(long, value_delimiter = ';')]
    godebug: Option<Vec<String>>,
    /// GOEXPERIMENT values (a build dimension), separated by `;`; an empty value is none.
    #[arg(long, value_delimiter = ';')]
    goexperiment: Option<Vec<String>>,
    /// Stress settings, separated by `;`, e.g. `alloc-kib=64,gc-ms=10;-` (`-`: none).
    #[arg(long, value_delimiter = ';')]
    stress: Option<Vec<String>>,
    /// A scenario parameter for every pattern that has it (repeatable);
    /// several comma-separated values are an axis.
    #[arg(long, value_name = "KEY=VALUE[,VALUE…]")]
    param: Vec<String>,
    /// Rounds per run instead of each pattern's.
    #[arg(long)]
    rounds: Option<u32>,
    /// Trials (processes) per variant instead of each pattern's.
    #[arg(long)]
    trials: Option<u32>,
    /// Backends, comma-separated: native (processes), wasm (wasip1 in
    /// embedded wasmtime, deterministic) [default: native].
    #[arg(long, value_delimiter = ',')]
    backend: Option<Vec<String>>,
    /// Cells run at once [default: the machine's cores]. Patterns marked
    /// `exclusive` (timing-sensitive) still run alone, and the memory
    /// budget still holds.
    #[arg(long, short)]
    jobs: Option<usize>,
    /// Kill a run whose resident memory exceeds this many MiB (16 or
    /// more: a Go runtime needs a few MiB to start).
    #[arg(long, default_value_t = 2048, value_parser = mem_cap_range())]
    mem_cap_mib: u64,
    /// Memory budget for cells running at once, MiB, by the patterns'
    /// declared peaks [default: half the machine's memory].
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=MAX_MIB))]
    mem_budget_mib: Option<u64>,
    /// Write the verdicts as JSON to FILE (`-` for stdout).
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
    /// Append each run as it ends, and each cell's result, to this journal (JSON lines).
    #[arg(long, value_name = "FILE")]
    journal: Option<PathBuf>,
    /// Keep the journal's finished cells and run only the rest (needs --journal or --out).
    #[arg(long)]
    resume: bool,
    /// Write results.jsonl (the journal), verdicts.json, summary.md, junit.xml,
    /// report.html, bench.txt and evidence/ (heap profiles and stderr of
    /// cells whose fix failed or whose verdict was unexpected) into DIR
    /// [default: ./out].
    #[arg(long, value_name = "DIR", env = "GCFUZZ_OUT")]
    out: Option<PathBuf>,
    /// Write no output folder (only the table, and --json / --journal if
    /// asked); wins over --out and GCFUZZ_OUT.
    #[arg(long)]
    no_out: bool,
    /// Also ask go vet and the runtime's own checks about each cell.
    #[arg(long)]
    detectors: bool,
    /// Run every run to its rounds, undecided or not (by default a run
    /// stops once its samples decide it, and an undecided one runs on up
    /// to twice its rounds).
    #[arg(long)]
    no_early_stop: bool,
    /// Early stopping is the default; kept so older command lines work.
    #[arg(long, hide = true, conflicts_with = "no_early_stop")]
    early_stop: bool,
    /// Run only shard K of N (deterministic, even by expected cost); `gcfuzz merge` joins them.
    #[arg(long, value_name = "K/N")]
    shard: Option<String>,
    /// No progress lines.
    #[arg(long, short)]
    quiet: bool,
}

#[derive(Args, Debug)]
struct FuzzArgs {
    /// Patterns by id, number or id prefix (none: all).
    patterns: Vec<String>,
    /// Toolchains the configurations may use, comma-separated.
    #[arg(long, default_value = "all")]
    go: String,
    /// Backends the configurations may use, comma-separated.
    #[arg(long, default_value = "native", value_delimiter = ',')]
    backend: Vec<String>,
    /// Wall time over all patterns, e.g. 90s, 10m, 1h.
    #[arg(long, conflicts_with = "iters", value_parser = parse_duration)]
    time: Option<std::time::Duration>,
    /// Executions per pattern [default: 40 when --time is not given].
    #[arg(long)]
    iters: Option<u64>,
    /// Judgements at a time.
    #[arg(long, short, default_value_t = 2)]
    jobs: usize,
    /// The corpus folder: seeds, queue and findings per pattern.
    #[arg(long, default_value = "corpus", value_name = "DIR")]
    corpus: PathBuf,
    /// Kill a run whose resident memory exceeds this many MiB (16 or
    /// more: a Go runtime needs a few MiB to start).
    #[arg(long, default_value_t = 2048, value_parser = mem_cap_range())]
    mem_cap_mib: u64,
    /// Memory budget for judgements at once, MiB [default: half the machine's memory].
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=MAX_MIB))]
    mem_budget_mib: Option<u64>,
    /// LibAFL's random seed [default: from the clock].
    #[arg(long)]
    seed: Option<u64>,
    /// The most of the run time that judging again, at the pattern's own
    /// limits, configurations whose fixed variant the speed cap cut may
    /// take (0: never, the fuzzer then does not see past the cap; 1: no
    /// limit).
    #[arg(long, default_value_t = crate::fuzz::target::HEAVY_SHARE, value_parser = parse_share)]
    heavy_share: f64,
    /// No progress lines.
    #[arg(long, short)]
    quiet: bool,
}

/// A share between 0 and 1.
fn parse_share(s: &str) -> Result<f64, String> {
    match s.trim().parse::<f64>() {
        Ok(x) if (0.0..=1.0).contains(&x) => Ok(x),
        _ => Err(format!("`{s}` is not a share from 0 to 1 (e.g. 0.4)")),
    }
}

/// `90s`, `10m`, `1h`, or seconds.
/// A number of seconds, finite and not negative (NaN would pass a plain
/// f64 flag and poison every sum it enters).
fn parse_seconds(s: &str) -> Result<f64, String> {
    match s.trim().parse::<f64>() {
        Ok(v) if (0.0..1e9).contains(&v) => Ok(v),
        _ => Err(format!("`{s}` is not a number of seconds (finite, 0 or more)")),
    }
}

fn parse_duration(s: &str) -> Result<std::time::Duration, String> {
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

/// Runs the command line; returns the process exit code.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let counts = std::sync::Arc::new(crate::build::BuildCounts::default());
    let code = match dispatch(cli, &counts) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("gcfuzz: error: {e:#}");
            ExitCode::from(error_code(&e))
        }
    };
    if std::env::var_os("GCFUZZ_RUSAGE").is_some() {
        eprintln!("{}", rusage_line(&counts));
    }
    code
}

/// `gcfuzz rusage: self 1.23 s CPU, children 45.6 s CPU, peak RSS 78 MiB,
/// go build 4 (9100 ms), cache hits 2`:
/// gcfuzz's own cost apart from its children's (`GCFUZZ_RUSAGE=1`, for
/// `make bench`).
fn rusage_line(counts: &crate::build::BuildCounts) -> String {
    let get = |who| {
        // SAFETY: getrusage fills the struct it is given; zeroed is valid.
        let mut r: libc::rusage = unsafe { std::mem::zeroed() };
        unsafe { libc::getrusage(who, &mut r) };
        r
    };
    let cpu = |r: &libc::rusage| {
        (r.ru_utime.tv_sec + r.ru_stime.tv_sec) as f64 + (r.ru_utime.tv_usec + r.ru_stime.tv_usec) as f64 / 1e6
    };
    let (me, children) = (get(libc::RUSAGE_SELF), get(libc::RUSAGE_CHILDREN));
    let (builds, build_ms, hits) = counts.get();
    format!(
        "gcfuzz rusage: self {:.3} s CPU, children {:.3} s CPU, peak RSS {} MiB, go build {builds} ({build_ms} ms), cache hits {hits}",
        cpu(&me),
        cpu(&children),
        me.ru_maxrss / 1024
    )
}

/// The exit code of an error, by its cause: the first error in the chain
/// whose kind is known decides; an error of the command line's own
/// (`bail!`) is usage.
fn error_code(e: &anyhow::Error) -> u8 {
    use crate::build::BuildError;
    use crate::campaign::CampaignError;
    use crate::outputs::OutputError;
    for cause in e.chain() {
        let usage = cause.is::<template::TemplateError>()
            || cause.is::<matrix::MatrixError>()
            || cause.is::<crate::version::VersionError>()
            || cause.is::<crate::stress::StressError>()
            || matches!(cause.downcast_ref(), Some(ToolchainError::Unknown { .. } | ToolchainError::Version(_)))
            || matches!(cause.downcast_ref(), Some(CampaignError::NoBackend { .. }))
            || matches!(cause.downcast_ref(), Some(crate::journal::JournalError { usage: true, .. }))
            || matches!(cause.downcast_ref(), Some(crate::fuzz::FuzzError::Nothing(_)))
            || matches!(
                cause.downcast_ref(),
                Some(crate::scaffold::ScaffoldError::Name(_) | crate::scaffold::ScaffoldError::Exists(_))
            )
            || matches!(
                cause.downcast_ref(),
                Some(
                    OutputError::InUse(_)
                        | OutputError::Duplicate { .. }
                        | OutputError::NotVerdicts { .. }
                        | OutputError::NotResults { .. }
                        | OutputError::Journal(crate::journal::JournalError { usage: true, .. })
                        | OutputError::NoSuchInput(_)
                )
            );
        if usage {
            return EXIT_USAGE;
        }
        let setup = cause.is::<ToolchainError>()
            || cause.is::<BuildError>()
            || cause.is::<CampaignError>()
            || cause.is::<crate::fuzz::FuzzError>()
            || cause.is::<OutputError>()
            || cause.is::<crate::journal::JournalError>()
            || cause.is::<crate::errors::IoError>()
            || cause.is::<std::io::Error>();
        if setup {
            return EXIT_SETUP;
        }
    }
    EXIT_USAGE
}

/// The exit code of a finished run: 3 when a cell hit a harness error (a
/// build or a run that could not happen), else 0 when every expectation is
/// met, else 1.
pub fn results_code(results: &[CellResult]) -> u8 {
    if results.iter().any(|r| r.error.is_some()) {
        EXIT_SETUP
    } else if results.iter().all(|r| r.met) {
        EXIT_OK
    } else {
        EXIT_UNEXPECTED
    }
}

struct Setup {
    /// gcfuzz's own templates folder: the probe and the built-in patterns.
    builtin: PathBuf,
    /// Leave the built-in patterns out.
    no_builtin: bool,
    /// Folders whose patterns are added.
    added: Vec<PathBuf>,
    home: PathBuf,
    toolchains: Toolchains,
    /// What the builders it makes did (for `GCFUZZ_RUSAGE`).
    counts: std::sync::Arc<crate::build::BuildCounts>,
    /// This command's request to stop: Ctrl-C or SIGTERM once
    /// [`Setup::stop_on_interrupt`] is called.
    cancel: crate::process::Cancel,
}

impl Setup {
    fn new(cli: &Cli, counts: &std::sync::Arc<crate::build::BuildCounts>) -> Result<Setup> {
        let builtin = default_templates();
        if !builtin.join("probe").is_dir() {
            bail!(
                "gcfuzz's own templates (the probe and the built-in patterns) are not in `{}`\n(run gcfuzz from its source tree, or install it from there)",
                builtin.display()
            );
        }
        let added: Vec<PathBuf> = cli.templates.iter().filter(|d| !d.as_os_str().is_empty()).cloned().collect();
        if cli.no_builtin && added.is_empty() {
            bail!("--no-builtin leaves no patterns: add some with --templates DIR");
        }
        let home = cli.home.clone().unwrap_or_else(toolchain::default_home);
        let toolchains = Toolchains::discover(&home, &cli.goroot, !cli.no_path_go)?;
        Ok(Setup {
            builtin,
            no_builtin: cli.no_builtin,
            added,
            home,
            toolchains,
            counts: counts.clone(),
            cancel: crate::process::Cancel::new(),
        })
    }

    /// The probe every program is built with: always gcfuzz's own.
    fn probe(&self) -> PathBuf {
        self.builtin.join("probe")
    }

    /// The catalogue: the built-in patterns and the added ones.
    fn patterns(&self) -> Result<Vec<template::Pattern>, template::TemplateError> {
        template::load_catalogue((!self.no_builtin).then_some(self.builtin.as_path()), &self.added)
    }

    fn builder(&self) -> GoBuilder {
        GoBuilder::new(&self.home, &self.probe(), self.toolchains.clone())
            .counting(self.counts.clone())
            .cancelled_by(self.cancel.clone())
    }

    /// Ctrl-C (and SIGTERM): children run in their own process groups, so
    /// the terminal's SIGINT does not reach them; the first press cancels
    /// this command's work (children killed, what finished kept), a second
    /// one exits at once.
    fn stop_on_interrupt(&self) {
        let cancel = self.cancel.clone();
        let presses = std::sync::atomic::AtomicUsize::new(0);
        let _ = ctrlc::set_handler(move || {
            if presses.fetch_add(1, std::sync::atomic::Ordering::SeqCst) >= 1 {
                std::process::exit(i32::from(EXIT_INTERRUPTED));
            }
            cancel.cancel();
        });
    }
}

/// `./templates` when it is a templates folder, else the source tree's.
fn default_templates() -> PathBuf {
    let here = PathBuf::from("templates");
    if here.join("probe").is_dir() {
        return here;
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join("templates")
}

/// The largest MiB figure a flag takes (16 TiB): beyond it, bytes overflow.
const MAX_MIB: u64 = 16 << 20;

/// `--mem-cap-mib`: 16 MiB (a Go runtime starts in a few) to [`MAX_MIB`];
/// 0 would record every run as a crash.
fn mem_cap_range() -> clap::builder::RangedU64ValueParser<u64> {
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

/// Whether the process started with its stdout closed (set by the binary
/// before Rust's runtime replaces a closed stdout with /dev/null). The
/// crate's one mutable static, kept on purpose: it records a fact about
/// the process from before `main`, where no value can be passed, and is
/// written once there and only read after.
pub static STDOUT_CLOSED_AT_START: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Writes a document asked for on stdout (`--json -`), flushed: an error
/// when it cannot be written, stdout closed included (the runtime would
/// write it to /dev/null in its place, losing the document with exit 0).
fn write_stdout(doc: &[u8]) -> Result<()> {
    // SAFETY: fcntl(F_GETFD) on a descriptor number only reads its flags.
    let closed_now = unsafe { libc::fcntl(1, libc::F_GETFD) } == -1;
    if closed_now || STDOUT_CLOSED_AT_START.load(std::sync::atomic::Ordering::Relaxed) {
        // An I/O error (exit 3, setup), not a usage error.
        let closed = std::io::Error::new(
            std::io::ErrorKind::BrokenPipe,
            "stdout is closed: the document asked for on `-` cannot be written",
        );
        return Err(closed.into());
    }
    let mut out = std::io::stdout().lock();
    out.write_all(doc).and_then(|()| out.flush()).context("failed to write to stdout")?;
    Ok(())
}

fn diff(old: &Path, new: &Path, markdown: Option<&Path>, json: Option<&Path>, fail_on: FailOn) -> Result<u8> {
    let (a, note_a) = outputs::read_set_noting(old)?;
    let (b, note_b) = outputs::read_set_noting(new)?;
    for note in note_a.iter().chain(&note_b) {
        eprintln!("warning: {note}");
    }
    if a.is_empty() && b.is_empty() {
        bail!("both result sets are empty: nothing to compare");
    }
    let d = report::diff::compare(&a, &b);
    let dash = Path::new("-");
    let table = d.table();
    if markdown == Some(dash) || json == Some(dash) {
        eprint!("{table}");
    } else {
        print!("{table}");
    }
    let docs = [(markdown, d.markdown()), (json, serde_json::to_string_pretty(&d)? + "\n")];
    for (path, doc) in docs {
        match path {
            Some(p) if p == dash => write_stdout(doc.as_bytes())?,
            Some(p) => std::fs::write(p, doc).with_context(|| format!("failed to write `{}`", p.display()))?,
            None => {}
        }
    }
    let fails = match fail_on {
        FailOn::Verdict => d.verdicts_changed(),
        FailOn::Moved => d.verdicts_changed() || !d.moved.is_empty(),
        FailOn::Any => d.verdicts_changed() || !d.moved.is_empty() || !d.only_old.is_empty() || !d.only_new.is_empty(),
        FailOn::Never => false,
    };
    Ok(if fails { EXIT_UNEXPECTED } else { EXIT_OK })
}

fn dispatch(cli: Cli, counts: &std::sync::Arc<crate::build::BuildCounts>) -> Result<u8> {
    if let Command::Diff { old, new, markdown, json, fail_on } = &cli.command {
        // Reads result files only: no templates, no toolchains.
        return diff(old, new, markdown.as_deref(), json.as_deref(), *fail_on);
    }
    let cx = Setup::new(&cli, counts)?;
    match cli.command {
        Command::List { verbose } => {
            let patterns = cx.patterns()?;
            print!("{}", report::pattern_list(&patterns, &cx.builtin, verbose));
            Ok(EXIT_OK)
        }
        Command::Toolchain { action: ToolchainCmd::List } => {
            for l in cx.toolchains.list() {
                let place = match (&l.goroot, l.origin) {
                    (Some(g), Some(o)) => {
                        format!("{} ({})", g.display(), serde_json::to_value(o)?.as_str().unwrap_or(""))
                    }
                    _ => "not installed (gcfuzz installs it when needed)".into(),
                };
                println!("{:<8} {place}", l.version);
            }
            Ok(EXIT_OK)
        }
        Command::Toolchain { action: ToolchainCmd::Install { versions } } => {
            let vs = cx.toolchains.resolve(&versions.join(","))?;
            let mut reporter = console::Reporter::new(false);
            for v in vs {
                let t = cx.toolchains.ensure(v, &mut |p| reporter.toolchain(p));
                reporter.finish();
                let t = t?;
                println!("{} {}", t.version, t.goroot.display());
            }
            Ok(EXIT_OK)
        }
        Command::Floor { input, build_s, cores: n, json } => {
            floor(&cx, &input, build_s, n.unwrap_or_else(cores), json.as_deref())
        }
        Command::Render { pattern, variant, go_line, out } => render(&cx, &pattern, &variant, &go_line, &out),
        Command::Plan(args) => {
            let patterns = cx.patterns()?;
            let (_, plan) = planned(&cx, &patterns, &args)?;
            // A build is one pattern's programs for one build key.
            let mut keys = std::collections::BTreeSet::new();
            for c in &plan.cells {
                println!("{}", c.label());
                let target = if c.backend == "wasm" { build::Target::Wasip1 } else { build::Target::Native };
                keys.insert((BuildKey::for_cell(c, target), c.pattern_id.clone()));
            }
            for s in &plan.skipped {
                println!("skipped: {s}");
            }
            println!("{} cells ({} runs), {} builds", plan.cells.len(), plan.cells.len() * 2, keys.len());
            Ok(EXIT_OK)
        }
        Command::Run(args) => run(&cx, args),
        Command::Fuzz(args) => fuzz(&cx, args),
        Command::Replay { dir, mem_cap_mib } => replay(&cx, &dir, mem_cap_mib),
        Command::Diff { .. } => unreachable!("handled before the set-up"),
        Command::Check { dirs, go } => {
            let toolchains = cx.toolchains.resolve(&go)?;
            let builder = cx.builder();
            let mut problems = 0;
            for dir in &dirs {
                let found = crate::lint::check(dir, &toolchains, &builder, &Native);
                for p in &found {
                    println!("{p}");
                }
                eprintln!(
                    "{}: {}",
                    dir.display(),
                    if found.is_empty() { "ok".to_string() } else { format!("{} problem(s)", found.len()) }
                );
                problems += found.len();
            }
            eprintln!("{} pattern(s) checked, {problems} problem(s)", dirs.len());
            Ok(if problems == 0 { EXIT_OK } else { EXIT_UNEXPECTED })
        }
        Command::New { name, from } => {
            let patterns = if from.is_some() { cx.patterns()? } else { Vec::new() };
            let from = match &from {
                Some(f) => Some(template::select(&patterns, std::slice::from_ref(f))?[0]),
                None => None,
            };
            let p = crate::scaffold::new_pattern(&name, from)?;
            let parent = name.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
            println!("wrote {}: pattern.yaml and its Go files", name.display());
            println!("next: gcfuzz check {}", name.display());
            println!("      gcfuzz --templates {} run {}", parent.display(), p.id);
            Ok(EXIT_OK)
        }
        Command::Calibrate { repeat, run: args } => calibrate(&cx, repeat, args),
        Command::Merge { inputs, json, out } => {
            let mut merged = outputs::merge(&inputs)?;
            for note in &merged.notes {
                eprintln!("warning: {note}");
            }
            print_results(&merged.results, json.as_deref(), &format!(" (merged from {} inputs)", inputs.len()))?;
            if let Some(dir) = &out {
                merged.write(dir)?;
                eprintln!("wrote {}: {}, {}", dir.display(), outputs::JOURNAL, report::OUTPUT_FILES.join(", "));
            }
            Ok(results_code(&merged.results))
        }
    }
}

fn render(cx: &Setup, pattern: &str, variant: &str, go_line: &str, out: &Path) -> Result<u8> {
    let patterns = cx.patterns()?;
    let p = template::select(&patterns, &[pattern.to_string()])?[0];
    let v = p.variant(variant).with_context(|| {
        let names: Vec<&str> = p.variants.iter().map(|v| v.name.as_str()).collect();
        format!("pattern `{}` has no variant `{variant}` (it has {})", p.id, names.join(", "))
    })?;
    let line = GoVersion::parse_line(go_line)?;
    let files = build::render_standalone(&cx.probe(), line, p, v)?;
    build::write_files(out, &files)?;
    eprintln!(
        "wrote {} ({} files, go line {}); build it with: cd {} && go build -o prog . && ./prog",
        out.display(),
        files.len(),
        line.line_string(),
        out.display()
    );
    if !v.env.env().is_empty() {
        eprintln!("this variant also sets: {} (set them in the environment when running)", v.env);
    }
    Ok(EXIT_OK)
}

impl RunArgs {
    /// The matrix axes the flags give (a `--matrix` file fills the rest).
    fn axes(&self) -> Result<MatrixFile> {
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

    fn options(&self, cancel: &crate::process::Cancel) -> campaign::Options {
        campaign::Options {
            cancel: cancel.clone(),
            jobs: self.jobs.unwrap_or_else(cores).max(1),
            rss_cap: Some(self.mem_cap_mib << 20),
            mem_budget: self.mem_budget_mib.map_or_else(campaign::half_of_memory, |m| m << 20),
            detectors: self.detectors,
            early_stop: !self.no_early_stop,
        }
    }
}

/// `gcfuzz floor`: reads a journal, asks the oracle again on less of each
/// cell's runs, prints the totals (and writes every cell as JSON).
fn floor(cx: &Setup, input: &Path, build_s: f64, cores: usize, json: Option<&Path>) -> Result<u8> {
    let journal = if input.is_dir() { input.join("results.jsonl") } else { input.to_path_buf() };
    if !journal.is_file() {
        bail!("{}: no journal there (give an output folder of `run --out` or its results.jsonl)", journal.display());
    }
    let contents = crate::journal::read_all(&journal)?;
    if let Some(note) = contents.skipped.describe(&journal) {
        eprintln!("warning: {note}");
    }
    let results = contents.cells;
    let patterns = cx.patterns()?;
    let mut cells = Vec::new();
    for r in &results {
        let Some(p) = patterns.iter().find(|p| p.id == r.pattern) else {
            bail!(
                "{}: cell `{}` names pattern `{}`, which is not in the catalogue",
                journal.display(),
                r.cell,
                r.pattern
            );
        };
        cells.push(crate::floor::cell_floor(p, r));
    }
    let total = crate::floor::total(&cells, build_s, cores);
    let needed: usize = cells.iter().flat_map(|c| &c.variants).map(|v| v.post_rounds_needed * v.trials_needed).sum();
    let made: usize = cells.iter().flat_map(|c| &c.variants).map(|v| v.post_rounds * v.trials).sum();
    println!(
        "{} cells: runs took {:.2} s; their verdicts needed {needed} of {made} rounds after warm-up, {:.2} s of runs ({:.2} s of it in exclusive cells)",
        cells.len(),
        total.ran_s,
        total.minimal_s,
        total.minimal_exclusive_s
    );
    println!(
        "floor on {} cores with {:.2} s of builds: {:.2} s; {:.2} s with exclusive cells run alone",
        total.cores, total.build_s, total.plain_s, total.exclusive_aware_s
    );
    if let Some(path) = json {
        let text = serde_json::to_string_pretty(&serde_json::json!({ "total": total, "cells": cells }))? + "\n";
        if path == Path::new("-") {
            write_stdout(text.as_bytes())?;
        } else {
            crate::errors::write_atomic(path, text.as_bytes())?;
        }
    }
    Ok(EXIT_OK)
}

/// The cores this process may use (1 when that cannot be told).
fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, usize::from)
}

/// The backends a plan names, made once each: native always (cheap),
/// wasm only when asked for (it starts an engine). An unknown name is a
/// usage error here, before anything builds.
struct Backends {
    native: Native,
    wasm: Option<crate::wasm::Wasm>,
}

impl Backends {
    /// Every backend this build has, by name.
    const NAMES: [&'static str; 2] = ["native", "wasm"];

    fn new<'a>(names: impl IntoIterator<Item = &'a String>) -> Result<Self> {
        let mut wasm = None;
        for n in names {
            match n.as_str() {
                "native" => {}
                "wasm" if wasm.is_none() => wasm = Some(crate::wasm::Wasm::new()?),
                "wasm" => {}
                other => bail!("unknown backend `{other}` (this build has: {})", Self::NAMES.join(", ")),
            }
        }
        Ok(Backends { native: Native, wasm })
    }

    fn for_plan(plan: &matrix::Plan) -> Result<Self> {
        Self::new(plan.cells.iter().map(|c| &c.backend))
    }

    fn all(&self) -> Vec<&dyn Backend> {
        let mut v: Vec<&dyn Backend> = vec![&self.native];
        if let Some(w) = &self.wasm {
            v.push(w);
        }
        v
    }

    fn get(&self, name: &str) -> Option<&dyn Backend> {
        self.all().into_iter().find(|b| b.name() == name)
    }
}

/// The patterns and the plan for `args`, cut to its shard when one is
/// asked for.
fn planned<'p>(cx: &Setup, patterns: &'p [Pattern], args: &RunArgs) -> Result<(Vec<&'p Pattern>, matrix::Plan)> {
    let (selected, spec) = matrix::resolve(&args.axes()?, patterns, &cx.toolchains)?;
    let plan = matrix::plan(&selected, &spec)?;
    let plan = match &args.shard {
        Some(s) => {
            let (k, n) = matrix::parse_shard(s).map_err(anyhow::Error::msg)?;
            if plan.cells.is_empty() {
                bail!("nothing to run in any shard: {}", plan.skipped.join("; "));
            }
            matrix::shard(&plan, k, n)
        }
        None => plan,
    };
    Ok((selected, plan))
}

/// The table (stdout, or stderr when the JSON goes to stdout), the
/// unexpected cells and the summary (stderr, the summary followed by
/// `note`), and the JSON verdicts when asked for.
fn print_results(results: &[CellResult], json: Option<&Path>, note: &str) -> Result<()> {
    let to_stdout = json == Some(Path::new("-"));
    let table = report::table(results);
    if to_stdout {
        eprint!("{table}");
    } else {
        print!("{table}");
    }
    eprint!("{}", report::failures(results));
    eprintln!("{}{note}", report::summary(results));
    if let Some(path) = json {
        let doc = report::json(results);
        if to_stdout {
            write_stdout(doc.as_bytes())?;
        } else {
            std::fs::write(path, doc).with_context(|| format!("failed to write `{}`", path.display()))?;
        }
    }
    Ok(())
}

fn calibrate(cx: &Setup, repeat: usize, args: RunArgs) -> Result<u8> {
    if repeat < 2 {
        bail!("--repeat must be at least 2 (a single run has nothing to compare with)");
    }
    let patterns = cx.patterns()?;
    let (selected, plan) = planned(cx, &patterns, &args)?;
    let builder = cx.builder();
    cx.stop_on_interrupt();
    let options = campaign::Options { detectors: false, ..args.options(&cx.cancel) };
    let backends = Backends::for_plan(&plan)?;
    let mut runs = Vec::new();
    for i in 0..repeat {
        let c = Campaign::new(selected.clone(), plan.clone(), &builder, backends.all(), options.clone());
        let t = std::time::Instant::now();
        let mut reporter = console::Reporter::new(args.quiet);
        let outcome = campaign::run(&c, &mut |e| {
            // Bars for every run; as lines, only toolchain work (the
            // summary line per run follows).
            let bars = matches!(reporter, console::Reporter::Bars(_));
            if bars || matches!(e, Event::Note(_) | Event::Download { .. }) {
                reporter.event(&e)
            }
        });
        reporter.finish();
        let outcome = outcome?;
        if outcome.interrupted {
            return Ok(EXIT_INTERRUPTED);
        }
        if !args.quiet {
            eprintln!(
                "run {}/{repeat}: {} ({:.0} s)",
                i + 1,
                report::summary(&outcome.results),
                t.elapsed().as_secs_f64()
            );
        }
        runs.push(outcome.results);
    }
    let cells = crate::calibrate::aggregate(&runs);
    print!("{}", crate::calibrate::table(&cells));
    let unstable = cells.iter().filter(|c| !c.stable).count();
    let (pairs, differs): (usize, usize) = cells.iter().fold((0, 0), |(p, d), c| (p + c.aa_pairs, d + c.aa_differs));
    eprintln!(
        "{} cells x {repeat} runs: {} with identical verdicts, {unstable} unstable; A/A: {differs} of {pairs} same-variant pairs read as a difference",
        cells.len(),
        cells.len() - unstable
    );
    if let Some(path) = &args.json {
        std::fs::write(path, serde_json::to_string_pretty(&cells)? + "\n")
            .with_context(|| format!("failed to write `{}`", path.display()))?;
    }
    Ok(if unstable == 0 && differs == 0 { EXIT_OK } else { EXIT_UNEXPECTED })
}

fn fuzz(cx: &Setup, args: FuzzArgs) -> Result<u8> {
    use crate::fuzz::{self, Budget, FuzzEvent};
    let patterns = cx.patterns()?;
    let selected = template::select(&patterns, &args.patterns)?;
    let toolchains = cx.toolchains.resolve(&args.go)?;
    let seed_toolchains = cx.toolchains.resolve(toolchain::DEFAULT_SPEC)?;
    let backends = Backends::new(&args.backend)?;
    let [name] = args.backend.as_slice() else {
        bail!("fuzz one backend at a time (--backend native or --backend wasm)");
    };
    let backend = backends.get(name).expect("made above");
    let budget = match (args.time, args.iters) {
        (Some(t), _) => Budget::Time(t),
        (None, Some(n)) => Budget::Iters(n),
        (None, None) => Budget::Iters(40),
    };
    let opts = fuzz::Options {
        toolchains,
        seed_toolchains,
        backends: args.backend.clone(),
        budget,
        jobs: args.jobs.max(1),
        corpus: args.corpus.clone(),
        rss_cap: Some(args.mem_cap_mib << 20),
        mem_budget: args.mem_budget_mib.map_or_else(campaign::half_of_memory, |m| m << 20),
        // One run is proof on a deterministic backend.
        confirm: !backend.deterministic(),
        heavy_share: args.heavy_share,
        cancel: cx.cancel.clone(),
        seed: args.seed.unwrap_or_else(|| {
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(1, |d| d.as_nanos() as u64)
        }),
    };
    cx.stop_on_interrupt();
    let builder = cx.builder();
    let bar = (!args.quiet && std::io::IsTerminal::is_terminal(&std::io::stderr())).then(|| {
        let b = indicatif::ProgressBar::new_spinner();
        b.set_style(indicatif::ProgressStyle::with_template("{spinner} [{elapsed_precise}] {msg}").expect("valid"));
        b.enable_steady_tick(std::time::Duration::from_millis(200));
        b
    });
    let say = |line: &str| match &bar {
        Some(b) => b.println(line),
        None if !args.quiet => eprintln!("{line}"),
        None => {}
    };
    let mut last_line = std::time::Instant::now();
    eprintln!("fuzzing {} pattern(s), seed {} (--seed to repeat the mutations)", selected.len(), opts.seed);
    let summaries = fuzz::fuzz(&selected, &patterns, &builder, backend, &opts, &mut |e| match e {
        FuzzEvent::Note(m) => say(&m),
        FuzzEvent::Pattern { id, seeds, queue, unreadable } => {
            say(&format!("{id}: {seeds} seeds, {queue} queue entries from earlier runs"));
            for (p, why) in unreadable {
                say(&format!("skipped {}: {why}", p.display()));
            }
        }
        FuzzEvent::Progress(s) => match &bar {
            Some(b) => b.set_message(report::fuzz::progress_line(s)),
            None if last_line.elapsed().as_secs() >= 10 => {
                last_line = std::time::Instant::now();
                say(&report::fuzz::progress_line(s))
            }
            None => {}
        },
        FuzzEvent::Finding(f) => say(&report::fuzz::finding_line(f)),
    });
    if let Some(b) = &bar {
        b.finish_and_clear();
    }
    let summaries = summaries?;
    print!("{}", report::fuzz::summary_table(&summaries));
    eprintln!("corpus: {} (replay the findings: gcfuzz replay {})", args.corpus.display(), args.corpus.display());
    if summaries.iter().any(|s| s.interrupted) || cx.cancel.is_cancelled() {
        eprintln!("interrupted: the queue and the findings so far are on disk; rerun to continue");
        return Ok(EXIT_INTERRUPTED);
    }
    Ok(EXIT_OK)
}

fn replay(cx: &Setup, dir: &Path, mem_cap_mib: u64) -> Result<u8> {
    let patterns = cx.patterns()?;
    if !dir.is_dir() {
        bail!("`{}` is not a folder (want a corpus folder, e.g. corpus/)", dir.display());
    }
    cx.stop_on_interrupt();
    let builder = cx.builder();
    let backends = Backends::new(&Backends::NAMES.map(String::from))?;
    let all = backends.all();
    let how = crate::fuzz::ReplayOptions { rss_cap: Some(mem_cap_mib << 20), confirm: true, cancel: cx.cancel.clone() };
    let results = crate::fuzz::replay(dir, &patterns, &builder, &all, &how, &mut |r| {
        eprintln!("{} {}", report::fuzz::replay_word(r), r.path.display())
    });
    print!("{}", report::fuzz::replay_table(&results));
    if cx.cancel.is_cancelled() {
        return Ok(EXIT_INTERRUPTED);
    }
    // A finding that behaves otherwise is what CI gates on; one that does
    // not read is bad input, not a changed behaviour.
    Ok(if results.iter().any(|r| !r.holds && !r.unreadable) {
        EXIT_UNEXPECTED
    } else if results.iter().any(|r| r.unreadable) {
        EXIT_USAGE
    } else {
        EXIT_OK
    })
}

fn run(cx: &Setup, args: RunArgs) -> Result<u8> {
    let patterns = cx.patterns()?;
    let (selected, plan) = planned(cx, &patterns, &args)?;
    // A shard may be empty (a CI matrix with more shards than cells): that
    // is an empty result set merge accepts, not an error. A plan with no
    // cells at all is one.
    if plan.cells.is_empty() && args.shard.is_none() {
        bail!("nothing to run: {}", if plan.skipped.is_empty() { "no cells".into() } else { plan.skipped.join("; ") });
    }
    if let (true, Some(s)) = (plan.cells.is_empty(), &args.shard) {
        eprintln!("shard {s} holds none of the plan's cells: its result set is empty (merge accepts it)");
    }
    // The output folder (default ./out): the journal goes there unless
    // named apart.
    let out = match (&args.out, args.no_out) {
        (_, true) => None,
        (dir, false) => Some(OutDir::open(dir.as_deref().unwrap_or(Path::new("out")), args.resume)?),
    };
    let journal_path = args.journal.clone().or_else(|| out.as_ref().map(OutDir::journal));
    if args.resume && journal_path.is_none() {
        bail!("--resume needs a journal: drop --no-out, or pass --journal FILE");
    }
    let (journal, done) = match &journal_path {
        Some(path) => {
            let (j, done) = Journal::open(path, args.resume)?;
            if let Some(note) = j.skipped().describe(path) {
                eprintln!("warning: {note}; the cells they held run again");
            }
            (Some(Mutex::new(j)), done)
        }
        None => (None, Default::default()),
    };
    cx.stop_on_interrupt();
    let builder = cx.builder();
    let backends = Backends::for_plan(&plan)?;
    let mut campaign = Campaign::new(selected, plan, &builder, backends.all(), args.options(&cx.cancel));
    if let Some(j) = &journal {
        campaign = campaign.with_journal(j, done);
    }
    if let Some(o) = &out {
        campaign = campaign.with_evidence(o.path());
    }
    let mut reporter = console::Reporter::new(args.quiet);
    for s in &campaign.plan().skipped {
        reporter.line(&format!("skipped: {s}"));
    }
    let outcome = campaign::run(&campaign, &mut |e| reporter.event(&e));
    reporter.finish();
    let mut outcome = outcome?;

    print_results(&outcome.results, args.json.as_deref(), "")?;
    if let Some(o) = &out {
        outputs::write(o.path(), &mut outcome.results, journal_path.as_deref())?;
        if !args.quiet {
            eprintln!("wrote {}: {}, {}", o.path().display(), outputs::JOURNAL, report::OUTPUT_FILES.join(", "));
        }
    }
    if outcome.interrupted {
        let resume = match &journal_path {
            Some(j) => format!("rerun with --journal {} --resume to finish", j.display()),
            None => "rerun with --journal FILE to keep finished cells next time".into(),
        };
        eprintln!("interrupted: {} of {} cells finished; {resume}", outcome.results.len(), campaign.plan().cells.len());
        return Ok(EXIT_INTERRUPTED);
    }
    Ok(results_code(&outcome.results))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fuzz_durations() {
        use std::time::Duration;
        assert_eq!(parse_duration("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("10m"), Ok(Duration::from_secs(600)));
        assert_eq!(parse_duration("1.5h"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_duration("45"), Ok(Duration::from_secs(45)));
        for bad in ["", "m", "10d", "-5s", "0s", "1e30"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
        let e = Cli::try_parse_from(["gcfuzz", "fuzz", "--time", "1m", "--iters", "3"]).unwrap_err();
        assert!(e.to_string().contains("cannot be used with"), "{e}");
    }

    #[test]
    fn seconds_are_finite_and_not_negative() {
        assert_eq!(parse_seconds("3.5"), Ok(3.5));
        for bad in ["NaN", "inf", "-1", "x", "1e300"] {
            assert!(parse_seconds(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn errors_exit_by_cause() {
        let usage: Vec<anyhow::Error> = vec![
            anyhow::anyhow!("--repeat must be at least 2"),
            template::TemplateError::NoMatch("99".into()).into(),
            matrix::MatrixError::ParamSyntax("x".into()).into(),
            ToolchainError::Unknown { given: "1.19".into(), known: String::new() }.into(),
            outputs::OutputError::InUse("out".into()).into(),
            outputs::OutputError::NotResults { path: "r.jsonl".into(), reason: "no line reads".into() }.into(),
            outputs::OutputError::Journal(crate::journal::JournalError {
                path: "j".into(),
                what: "in use".into(),
                usage: true,
            })
            .into(),
            crate::journal::JournalError { path: "j".into(), what: "not a regular file".into(), usage: true }.into(),
        ];
        for e in &usage {
            assert_eq!(error_code(e), EXIT_USAGE, "{e:#}");
        }
        let io = std::io::Error::other("disk full");
        let setup: Vec<anyhow::Error> = vec![
            anyhow::Error::from(std::io::Error::other("disk full")).context("failed to write `x`"),
            crate::errors::IoError { what: "failed to create", path: "x".into(), source: io }.into(),
            crate::build::BuildError::Timeout { go: GoVersion::new(1, 27, 3), secs: 600 }.into(),
            crate::journal::JournalError { path: "j".into(), what: "no space".into(), usage: false }.into(),
            campaign::CampaignError::from(ToolchainError::Download {
                version: GoVersion::new(1, 27, 3),
                stderr: String::new(),
            })
            .into(),
        ];
        for e in &setup {
            assert_eq!(error_code(e), EXIT_SETUP, "{e:#}");
        }
        // A matrix error wrapping a toolchain one is still bad input.
        let wrapped: anyhow::Error =
            matrix::MatrixError::from(ToolchainError::Unknown { given: "x".into(), known: String::new() }).into();
        assert_eq!(error_code(&wrapped), EXIT_USAGE);
    }
}
