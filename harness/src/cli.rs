//! The command line: parse, dispatch, print, and map outcomes to exit codes.
//!
//! Exit codes: 0 every expectation met; 1 a verdict differed from its
//! expectation; 2 usage, setup or build error; 130 interrupted.

use crate::build::{self, Builder};
use crate::campaign::{self, Campaign};
use crate::journal::Journal;
use crate::matrix::{self, MatrixSpec};
use crate::report::{self, console};
use crate::run::Native;
use crate::template::{self, Pattern};
use crate::toolchain::{self, Toolchains};
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
/// Exit code: usage, setup or build error.
pub const EXIT_ERROR: u8 = 2;
/// Exit code: interrupted (Ctrl-C); `--resume` finishes the run.
pub const EXIT_INTERRUPTED: u8 = 130;

/// gcfuzz: differential tests of Go garbage-collector bug patterns across
/// Go versions and runtime settings.
#[derive(Parser, Debug)]
#[command(name = "gcfuzz", version, about, long_about = None)]
pub struct Cli {
    /// Folder of pattern templates [default: ./templates, else the source tree's].
    #[arg(long, global = true, env = "GCFUZZ_TEMPLATES", value_name = "DIR")]
    templates: Option<PathBuf>,
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
    /// Cells run at once (1 keeps timings honest on small machines).
    #[arg(long, short, default_value_t = 1)]
    jobs: usize,
    /// Kill a run whose resident memory exceeds this many MiB.
    #[arg(long, default_value_t = 2048)]
    mem_cap_mib: u64,
    /// Memory budget for cells running at once, MiB, by the patterns'
    /// declared peaks [default: half the machine's memory].
    #[arg(long)]
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
    /// Stop each run once its samples decide it; let an undecided one run
    /// up to twice its rounds.
    #[arg(long)]
    early_stop: bool,
    /// Run only shard K of N (deterministic, even by expected cost); `gcfuzz merge` joins them.
    #[arg(long, value_name = "K/N")]
    shard: Option<String>,
    /// No progress lines.
    #[arg(long, short)]
    quiet: bool,
}

/// Runs the command line; returns the process exit code.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    match dispatch(cli) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("gcfuzz: error: {e:#}");
            ExitCode::from(EXIT_ERROR)
        }
    }
}

struct Context_ {
    templates: PathBuf,
    home: PathBuf,
    toolchains: Toolchains,
}

fn context(cli: &Cli) -> Result<Context_> {
    let templates = match &cli.templates {
        Some(t) => t.clone(),
        None => default_templates(),
    };
    if !templates.join("probe").is_dir() {
        bail!(
            "`{}` is not a gcfuzz templates folder (it has no probe/)\n(pass --templates DIR or set GCFUZZ_TEMPLATES)",
            templates.display()
        );
    }
    let home = cli.home.clone().unwrap_or_else(toolchain::default_home);
    let toolchains = Toolchains::discover(&home, &cli.goroot, !cli.no_path_go)?;
    Ok(Context_ { templates, home, toolchains })
}

/// `./templates` when it is a templates folder, else the source tree's.
fn default_templates() -> PathBuf {
    let here = PathBuf::from("templates");
    if here.join("probe").is_dir() {
        return here;
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join("templates")
}

fn dispatch(cli: Cli) -> Result<u8> {
    let cx = context(&cli)?;
    match cli.command {
        Command::List { verbose } => {
            let patterns = template::load_all(&cx.templates)?;
            print!("{}", report::pattern_list(&patterns, verbose));
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
        Command::Render { pattern, variant, go_line, out } => {
            let patterns = template::load_all(&cx.templates)?;
            let p = one_pattern(&patterns, &pattern)?;
            let v = p.variant(&variant).with_context(|| {
                let names: Vec<&str> = p.variants.iter().map(|v| v.name.as_str()).collect();
                format!("pattern `{}` has no variant `{variant}` (it has {})", p.id, names.join(", "))
            })?;
            let line = parse_line(&go_line)?;
            let files = build::render(&cx.templates.join("probe"), line, &[(p, v)])?;
            build::write_files(&out, &files)?;
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
        Command::Plan(args) => {
            let patterns = template::load_all(&cx.templates)?;
            let (selected, spec) = matrix_spec(&cx, &patterns, &args)?;
            let plan = planned(&selected, &spec, &args)?;
            let mut keys = std::collections::BTreeSet::new();
            for c in &plan.cells {
                println!("{}", c.label());
                keys.insert(c.build_key());
            }
            for s in &plan.skipped {
                println!("skipped: {s}");
            }
            println!("{} cells ({} runs), {} builds", plan.cells.len(), plan.cells.len() * 2, keys.len());
            Ok(EXIT_OK)
        }
        Command::Run(args) => run(&cx, args),
        Command::Calibrate { repeat, run: args } => calibrate(&cx, repeat, args),
        Command::Merge { inputs, json, out } => merge(&inputs, json.as_deref(), out.as_deref()),
    }
}

/// The memory budget in bytes: the flag, else half of MemTotal.
fn mem_budget(args: &RunArgs) -> u64 {
    if let Some(m) = args.mem_budget_mib {
        return m << 20;
    }
    let total_kib = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .find(|l| l.starts_with("MemTotal:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
        })
        .unwrap_or(4 << 20);
    (total_kib << 10) / 2
}

/// True from the second Ctrl-C on: the first stops children gracefully,
/// a second one means "now".
fn gcfuzz_interrupted_twice() -> bool {
    static COUNT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    COUNT.fetch_add(1, std::sync::atomic::Ordering::SeqCst) >= 1
}

fn one_pattern<'a>(patterns: &'a [Pattern], name: &str) -> Result<&'a Pattern> {
    Ok(template::select(patterns, &[name.to_string()])?[0])
}

fn parse_line(s: &str) -> Result<GoVersion> {
    let v: GoVersion = s.parse()?;
    if v.patch != 0 || s.split('.').count() != 2 || v.minor < 21 {
        bail!("go line `{s}` must be a release series such as 1.22 (1.21 or later)");
    }
    Ok(v)
}

/// The plan for `args`, cut to its shard when one is asked for.
fn planned(selected: &[&Pattern], spec: &MatrixSpec, args: &RunArgs) -> Result<matrix::Plan> {
    let plan = matrix::plan(selected, spec)?;
    Ok(match &args.shard {
        Some(s) => {
            let (k, n) = matrix::parse_shard(s).map_err(anyhow::Error::msg)?;
            matrix::shard(&plan, k, n)
        }
        None => plan,
    })
}

/// One input of `merge`: its cells (with runs when it has a journal) and
/// the journal's text, if any.
fn merge_input(path: &Path) -> Result<(Vec<crate::campaign::CellResult>, Option<String>)> {
    let journal = if path.is_dir() {
        Some(path.join("results.jsonl")).filter(|j| j.is_file())
    } else {
        Some(path.to_path_buf()).filter(|p| p.extension().is_some_and(|x| x == "jsonl"))
    };
    if let Some(j) = journal {
        let text = std::fs::read_to_string(&j).with_context(|| format!("failed to read `{}`", j.display()))?;
        return Ok((crate::journal::read(&j)?, Some(text)));
    }
    let file = if path.is_dir() { path.join("verdicts.json") } else { path.to_path_buf() };
    let text = std::fs::read_to_string(&file).with_context(|| format!("failed to read `{}`", file.display()))?;
    let cells = serde_json::from_str(&text)
        .with_context(|| format!("`{}` is not a gcfuzz --json verdict file", file.display()))?;
    Ok((cells, None))
}

fn merge(inputs: &[PathBuf], json: Option<&Path>, out: Option<&Path>) -> Result<u8> {
    let mut results: Vec<crate::campaign::CellResult> = Vec::new();
    let mut journal = String::new();
    let mut seen: std::collections::HashMap<String, &Path> = Default::default();
    for input in inputs {
        let (cells, text) = merge_input(input)?;
        for c in &cells {
            if c.cell.is_empty() {
                continue;
            }
            if let Some(before) = seen.insert(c.cell.clone(), input) {
                bail!(
                    "cell `{}` is in both `{}` and `{}` (merge joins disjoint runs such as shards)",
                    c.cell,
                    before.display(),
                    input.display()
                );
            }
        }
        match text {
            Some(t) => journal.push_str(&t),
            None => {
                for c in &cells {
                    let line = serde_json::json!({"v": 1, "type": "cell", "cell": c.cell, "result": c});
                    journal.push_str(&(serde_json::to_string(&line)? + "\n"));
                }
            }
        }
        results.extend(cells);
    }
    results.sort_by_cached_key(|r| {
        (
            r.pattern.clone(),
            r.go,
            r.go_line,
            r.goexperiment.clone(),
            r.knobs.to_string(),
            r.stress.to_string(),
            format!("{:?}", r.overrides),
        )
    });
    print_results(&results, json, &format!(" (merged from {} inputs)", inputs.len()))?;
    if let Some(dir) = out {
        let path = dir.join("results.jsonl");
        std::fs::create_dir_all(dir).with_context(|| format!("failed to create `{}`", dir.display()))?;
        std::fs::write(&path, journal).with_context(|| format!("failed to write `{}`", path.display()))?;
        // Evidence paths are relative to each input's folder: copy them over.
        for input in inputs.iter().filter(|i| i.is_dir()) {
            for r in results.iter().filter(|r| seen.get(&r.cell).is_some_and(|p| p == input)) {
                for e in &r.evidence {
                    let (from, to) = (input.join(e), dir.join(e));
                    if from != to && from.is_file() {
                        if let Some(parent) = to.parent() {
                            std::fs::create_dir_all(parent)?;
                        }
                        std::fs::copy(&from, &to).with_context(|| format!("failed to copy `{}`", from.display()))?;
                    }
                }
            }
        }
        report::write_dir(dir, &results)?;
        eprintln!("wrote {}: results.jsonl, {}", dir.display(), report::OUTPUT_FILES.join(", "));
    }
    Ok(exit_code(&results))
}

/// The table (stdout, or stderr when the JSON goes to stdout), the
/// unexpected cells and the summary (stderr, the summary followed by
/// `note`), and the JSON verdicts when asked for.
fn print_results(results: &[crate::campaign::CellResult], json: Option<&Path>, note: &str) -> Result<()> {
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
            std::io::stdout().write_all(doc.as_bytes())?;
        } else {
            std::fs::write(path, doc).with_context(|| format!("failed to write `{}`", path.display()))?;
        }
    }
    Ok(())
}

/// 2 when a cell hit a harness error, else 0 when every expectation is met, else 1.
fn exit_code(results: &[crate::campaign::CellResult]) -> u8 {
    if results.iter().any(|r| r.error.is_some()) {
        EXIT_ERROR
    } else if results.iter().all(|r| r.met) {
        EXIT_OK
    } else {
        EXIT_UNEXPECTED
    }
}

fn matrix_spec<'a>(cx: &Context_, patterns: &'a [Pattern], args: &RunArgs) -> Result<(Vec<&'a Pattern>, MatrixSpec)> {
    let file = match &args.matrix {
        Some(path) => matrix::load_file(path)?,
        None => Default::default(),
    };
    // Flags win axis by axis; the file fills in the rest.
    let names = if args.patterns.is_empty() { &file.patterns } else { &args.patterns };
    let selected = template::select(patterns, names)?;
    let go = match (&args.go, &file.go) {
        (Some(g), _) => g.clone(),
        (None, Some(g)) => g.join(","),
        (None, None) => "default".to_string(),
    };
    let go = cx.toolchains.resolve(&go)?;
    let or_file = |flag: &Option<Vec<String>>, file: &Option<Vec<String>>| flag.clone().or_else(|| file.clone());
    let go_lines = or_file(&args.go_line, &file.go_line)
        .map(|ls| ls.iter().map(|l| parse_line(l)).collect::<Result<Vec<_>>>())
        .transpose()?;
    // `KEY=V1,V2`: several values are an axis; flags replace the file's.
    let split = |v: &str| v.split(',').map(|x| x.trim().to_string()).filter(|x| !x.is_empty()).collect::<Vec<_>>();
    let mut params: std::collections::BTreeMap<String, Vec<String>> =
        file.params.iter().map(|(k, v)| (k.clone(), split(v))).collect();
    for kv in &args.param {
        let (k, v) = kv.split_once('=').with_context(|| format!("--param `{kv}` must be KEY=VALUE[,VALUE…]"))?;
        params.insert(k.trim().to_string(), split(v));
    }
    let stress = or_file(&args.stress, &file.stress)
        .map(|v| v.iter().map(|s| s.parse()).collect::<Result<Vec<_>, _>>())
        .transpose()?;
    let spec = MatrixSpec {
        go,
        go_lines,
        gogc: or_file(&args.gogc, &file.gogc),
        gomemlimit: or_file(&args.gomemlimit, &file.gomemlimit),
        gomaxprocs: or_file(&args.gomaxprocs, &file.gomaxprocs),
        godebug: or_file(&args.godebug, &file.godebug),
        params,
        rounds: args.rounds.or(file.rounds),
        trials: args.trials.or(file.trials),
        stress,
        goexperiment: or_file(&args.goexperiment, &file.goexperiment),
    };
    Ok((selected, spec))
}

fn calibrate(cx: &Context_, repeat: usize, args: RunArgs) -> Result<u8> {
    if repeat < 2 {
        bail!("--repeat must be at least 2 (a single run has nothing to compare with)");
    }
    let patterns = template::load_all(&cx.templates)?;
    let (selected, spec) = matrix_spec(cx, &patterns, &args)?;
    let plan = planned(&selected, &spec, &args)?;
    let builder = Builder::new(&cx.home, &cx.templates.join("probe"));
    let _ = ctrlc::set_handler(crate::process::interrupt);
    let mut runs = Vec::new();
    for i in 0..repeat {
        let c = Campaign {
            patterns: selected.clone(),
            plan: plan.clone(),
            toolchains: &cx.toolchains,
            builder: &builder,
            backend: &Native,
            jobs: args.jobs,
            rss_cap: Some(args.mem_cap_mib << 20),
            mem_budget: mem_budget(&args),
            detectors: false,
            early_stop: args.early_stop,
            evidence: None,
            journal: None,
            done: Default::default(),
        };
        let t = std::time::Instant::now();
        let mut reporter = console::Reporter::new(args.quiet);
        let outcome = campaign::run(&c, &mut |e| {
            // Bars for every run; as lines, only toolchain work (the
            // summary line per run follows).
            let bars = matches!(reporter, console::Reporter::Bars(_));
            if bars || matches!(e, campaign::Event::Note(_) | campaign::Event::Download { .. }) {
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

/// Takes `dir` for this process: a second gcfuzz writing into the same
/// folder would interleave journals, so it is refused, not waited for.
fn lock_out(dir: &Path) -> Result<std::fs::File> {
    let path = dir.join(".lock");
    let f = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .with_context(|| format!("failed to open `{}`", path.display()))?;
    match f.try_lock() {
        Ok(()) => Ok(f),
        Err(std::fs::TryLockError::WouldBlock) => {
            bail!("`{}` is in use by another gcfuzz run; pass --out DIR (or --no-out) to run beside it", dir.display())
        }
        Err(std::fs::TryLockError::Error(e)) => Err(e).with_context(|| format!("failed to lock `{}`", path.display())),
    }
}

fn run(cx: &Context_, mut args: RunArgs) -> Result<u8> {
    if args.no_out {
        args.out = None;
    } else {
        args.out.get_or_insert_with(|| PathBuf::from("out"));
    }
    let patterns = template::load_all(&cx.templates)?;
    let (selected, spec) = matrix_spec(cx, &patterns, &args)?;
    let plan = planned(&selected, &spec, &args)?;
    if plan.cells.is_empty() {
        bail!("nothing to run: {}", if plan.skipped.is_empty() { "no cells".into() } else { plan.skipped.join("; ") });
    }
    // The output folder: the journal goes there unless named apart. A
    // fresh run (no --resume) starts the evidence over; profile scratch
    // folders left by a killed run go either way.
    let _out_lock = match &args.out {
        Some(dir) => {
            std::fs::create_dir_all(dir).with_context(|| format!("failed to create `{}`", dir.display()))?;
            let lock = lock_out(dir)?;
            args.journal.get_or_insert_with(|| dir.join("results.jsonl"));
            for e in std::fs::read_dir(dir)?.filter_map(Result::ok) {
                let name = e.file_name();
                let name = name.to_string_lossy();
                if name.starts_with(".scratch-") || (name == "evidence" && !args.resume) {
                    std::fs::remove_dir_all(e.path())
                        .with_context(|| format!("failed to remove `{}`", e.path().display()))?;
                }
            }
            Some(lock)
        }
        None => None,
    };
    let builder = Builder::new(&cx.home, &cx.templates.join("probe"));
    let backend = Native;
    if args.resume && args.journal.is_none() {
        bail!("--resume needs a journal: drop --no-out, or pass --journal FILE");
    }
    let (journal, done) = match &args.journal {
        Some(path) => {
            let (j, done) = Journal::open(path, args.resume)?;
            (Some(Mutex::new(j)), done)
        }
        None => (None, Default::default()),
    };
    // Ctrl-C: children are in their own process groups, so the terminal's
    // SIGINT does not reach them; stop them here, keep what finished.
    let _ = ctrlc::set_handler(|| {
        if gcfuzz_interrupted_twice() {
            std::process::exit(i32::from(EXIT_INTERRUPTED));
        }
        crate::process::interrupt();
    });
    let campaign = Campaign {
        patterns: selected,
        plan,
        toolchains: &cx.toolchains,
        builder: &builder,
        backend: &backend,
        jobs: args.jobs,
        rss_cap: Some(args.mem_cap_mib << 20),
        mem_budget: mem_budget(&args),
        detectors: args.detectors,
        early_stop: args.early_stop,
        evidence: args.out.clone(),
        journal: journal.as_ref(),
        done,
    };
    let mut reporter = console::Reporter::new(args.quiet);
    for s in &campaign.plan.skipped {
        reporter.line(&format!("skipped: {s}"));
    }
    let outcome = campaign::run(&campaign, &mut |e| reporter.event(&e));
    reporter.finish();
    let outcome = outcome?;
    let mut results = outcome.results;

    print_results(&results, args.json.as_deref(), "")?;
    if let Some(dir) = &args.out {
        // Resumed cells come back without their runs: the journal has them.
        if results.iter().any(|r| r.runs.is_empty())
            && let Some(path) = &args.journal
        {
            let mut runs: std::collections::HashMap<String, Vec<crate::run::RunRecord>> =
                crate::journal::read(path)?.into_iter().map(|c| (c.cell, c.runs)).collect();
            for r in results.iter_mut().filter(|r| r.runs.is_empty()) {
                r.runs = runs.remove(&r.cell).unwrap_or_default();
            }
        }
        report::write_dir(dir, &results)?;
        if !args.quiet {
            eprintln!("wrote {}: results.jsonl, {}", dir.display(), report::OUTPUT_FILES.join(", "));
        }
    }
    if outcome.interrupted {
        let resume = match &args.journal {
            Some(j) => format!("rerun with --journal {} --resume to finish", j.display()),
            None => "rerun with --journal FILE to keep finished cells next time".into(),
        };
        eprintln!("interrupted: {} of {} cells finished; {resume}", results.len(), campaign.plan.cells.len());
        return Ok(EXIT_INTERRUPTED);
    }
    Ok(exit_code(&results))
}
