//! `gcfuzz bisect`: one cell, a line of releases (or go lines), the
//! boundaries where its verdict or a signal changes ([`crate::bisect`]).

use super::*;
use crate::bisect::{Bisection, Pass};
use crate::cell::CellConfig;

/// What `bisect` walks along.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub(super) enum Over {
    /// Go releases (`--go FROM..TO`), one cell each.
    Toolchain,
    /// go.mod go lines (`--go-line FROM..TO`) on one toolchain (`--go`,
    /// default the newest).
    GoLine,
}

#[derive(Args, Debug)]
pub(super) struct BisectArgs {
    /// What to bisect over.
    #[arg(long, value_enum, default_value_t = Over::Toolchain)]
    pub(super) over: Over,
    /// Also a change: this signal of either variant moving so that its two
    /// 95% intervals do not overlap.
    #[arg(long, value_name = "NAME")]
    pub(super) signal: Option<String>,
    /// Write the bisection as Markdown to FILE.
    #[arg(long, value_name = "FILE")]
    pub(super) md: Option<PathBuf>,
    /// The cell: one pattern and one value per axis, as `run` takes them;
    /// `--go FROM..TO` (or `--go-line FROM..TO` with `--over go-line`) is
    /// the line; `--json FILE` writes the bisection.
    #[command(flatten)]
    pub(super) run: RunArgs,
}

pub(super) fn bisect(cx: &Setup, args: BisectArgs) -> Result<u8> {
    let r = &args.run;
    if r.shard.is_some() || r.resume || r.journal.is_some() || r.detectors {
        bail!("bisect judges one cell at a time: --shard, --resume, --journal and --detectors do not apply");
    }
    let [_] = r.patterns.as_slice() else { bail!("bisect one pattern (give its id, number or id prefix)") };
    let patterns = cx.patterns()?;
    let mut axes = r.axes()?;
    let many = |v: &Option<Vec<String>>| v.as_ref().is_some_and(|v| v.len() > 1);
    let axes_given = [&axes.gogc, &axes.gomemlimit, &axes.gomaxprocs, &axes.godebug, &axes.stress, &axes.goexperiment];
    if axes_given.into_iter().any(many)
        || (args.over == Over::Toolchain && many(&axes.go_line))
        || axes.backend.as_ref().is_some_and(|b| b.len() > 1)
        || axes.params.values().any(|v| v.contains(','))
    {
        bail!(
            "bisect judges one cell per point: give one value per axis (the line is --go, or --go-line with --over go-line)"
        );
    }
    let (names, points) = match args.over {
        Over::Toolchain => {
            let Some(range) = axes.go.take().map(|g| g.join(",")) else {
                bail!("--over toolchain needs --go FROM..TO (e.g. --go 1.22..1.23)")
            };
            let vs = cx.toolchains.resolve(&range)?;
            let names: Vec<String> = vs.iter().map(ToString::to_string).collect();
            let points = vs.iter().map(|v| (Some(vec![v.to_string()]), axes.go_line.clone())).collect::<Vec<_>>();
            (names, points)
        }
        Over::GoLine => {
            let given = axes.go_line.take().unwrap_or_default();
            let [range] = given.as_slice() else {
                bail!("--over go-line needs one --go-line FROM..TO (e.g. --go-line 1.21..1.23)")
            };
            let go = cx.toolchains.resolve(&axes.go.take().map(|g| g.join(",")).unwrap_or_else(|| "latest".into()))?;
            let [go] = go.as_slice() else { bail!("--over go-line runs on one toolchain: give one --go") };
            let lines = line_range(range, *go)?;
            let names: Vec<String> = lines.iter().map(|l| l.line_string()).collect();
            let points =
                lines.iter().map(|l| (Some(vec![go.to_string()]), Some(vec![l.line_string()]))).collect::<Vec<_>>();
            (names, points)
        }
    };
    if names.len() < 2 {
        bail!("a line of {} point(s): bisect needs two or more", names.len());
    }
    // A go line given on the command line is pinned all along; else a
    // line that is the toolchain's own at the first release follows it.
    let line_pinned = args.over == Over::GoLine || axes.go_line.is_some();
    // One cell per point, planned as `run` would plan it: the first
    // point's first cell (the pattern's first configuration, or the one
    // the flags pin), and at every other point the same configuration.
    let mut cells: Vec<CellConfig> = Vec::with_capacity(points.len());
    let mut selected = Vec::new();
    let mut others = 0;
    let own = crate::cell::View { go: false, own_line: true, ..crate::cell::View::LABEL };
    for (i, (go, go_line)) in points.into_iter().enumerate() {
        let a = MatrixFile { go, go_line, ..axes.clone() };
        let (sel, spec) = matrix::resolve(&a, &patterns, &cx.toolchains)?;
        let plan = matrix::plan(&sel, &spec)?;
        let pick = match cells.first() {
            None => plan.cells.first(),
            Some(first) => plan.cells.iter().find(|c| same_configuration(first, c, line_pinned)),
        };
        let Some(c) = pick else {
            let what = cells.first().map(|c| format!(" of the configuration {}", c.describe(own))).unwrap_or_default();
            let why = if plan.skipped.is_empty() {
                "the plan there has other cells only".to_string()
            } else {
                plan.skipped_reasons()
            };
            bail!("at {}: no cell{what} to judge ({why})", names[i]);
        };
        others = others.max(plan.cells.len() - 1);
        cells.push(c.clone());
        selected = sel;
    }
    if others > 0 {
        eprintln!(
            "the pattern has other configurations there too; bisecting {} (pin axes, e.g. --godebug or --go-line, for another)",
            cells[0].describe(if line_pinned { crate::cell::View { own_line: false, ..own } } else { own })
        );
    }
    cx.stop_on_interrupt();
    let builder = cx.builder();
    let backends = Backends::new(cells.iter().map(|c| c.backend))?;
    let mut reporter = console::Reporter::new(r.quiet);
    let options = r.options(&cx.cancel);
    let axis = match args.over {
        Over::Toolchain => "toolchain",
        Over::GoLine => "go-line",
    };
    eprintln!(
        "bisecting {} over {} {axis} points: {} .. {}",
        cells[0].pattern,
        names.len(),
        names[0],
        names[names.len() - 1]
    );
    let mut judge = |cell: &CellConfig, pass: Pass| -> Result<CellResult> {
        let plan = matrix::Plan { cells: vec![cell.clone()], skipped: Vec::new() };
        let early_stop = options.early_stop && pass == Pass::Search;
        let c = Campaign::new(
            selected.clone(),
            plan,
            &builder,
            backends.all(),
            campaign::Options { early_stop, ..options.clone() },
        );
        let outcome = campaign::run(&c, &mut |e| reporter.event(&e))?;
        if outcome.interrupted || cx.cancel.is_cancelled() {
            bail!("interrupted");
        }
        let r = outcome.results.into_iter().next().context("the campaign returned no result")?;
        if pass == Pass::Recheck {
            reporter.line(&format!("re-judged {}: {}", r.config, r.verdict));
        }
        Ok(r)
    };
    let found = crate::bisect::bisect(axis, &cells, &names, args.signal.as_deref(), &mut judge);
    reporter.finish();
    if cx.cancel.is_cancelled() {
        eprintln!("interrupted: nothing written");
        return Ok(EXIT_INTERRUPTED);
    }
    let b: Bisection = found?;
    let table = report::bisect::table(&b);
    if r.json.as_deref() == Some(Path::new("-")) {
        eprint!("{table}");
    } else {
        print!("{table}");
    }
    if let Some(path) = &r.json {
        let doc = report::bisect::json(&b);
        if path == Path::new("-") {
            write_stdout(doc.as_bytes())?;
        } else {
            crate::errors::write_atomic(path, doc)?;
        }
    }
    if let Some(path) = &args.md {
        crate::errors::write_atomic(path, report::bisect::markdown(&b))?;
    }
    Ok(if b.found() { EXIT_OK } else { EXIT_UNEXPECTED })
}

/// Whether `c` is `first`'s configuration at another point of the line:
/// all but the axis walked the same; the go line the same when it is
/// pinned (or walked), else the toolchain's own at both when it was at the
/// first, or the same line.
fn same_configuration(first: &CellConfig, c: &CellConfig, line_pinned: bool) -> bool {
    let own = |x: &CellConfig| x.go_line == x.go.series();
    let line = line_pinned || if own(first) { own(c) } else { c.go_line == first.go_line };
    line && CellConfig { go: first.go, go_line: first.go_line, ..c.clone() } == *first
}

/// Every go line from `FROM..TO` (series), up to `go`'s own.
fn line_range(range: &str, go: GoVersion) -> Result<Vec<GoVersion>> {
    let (lo, hi) = range.split_once("..").context("--go-line wants FROM..TO with --over go-line")?;
    let (lo, hi) = (GoVersion::parse_line(lo.trim())?, GoVersion::parse_line(hi.trim())?);
    if lo > hi {
        bail!("--go-line {range}: its start is after its end");
    }
    if hi > go.series() {
        bail!("--go-line {range}: Go {go} builds go lines up to {} only", go.series().line_string());
    }
    Ok((lo.minor..=hi.minor).map(|m| GoVersion { major: lo.major, minor: m, patch: 0 }).collect())
}
