//! `gcfuzz run`, `calibrate`, `floor`, `render` and `diff`.

use super::*;

pub(super) fn run(cx: &Setup, args: RunArgs) -> Result<u8> {
    let patterns = cx.patterns()?;
    let (selected, plan) = planned(cx, &patterns, &args)?;
    // A shard may be empty (a CI matrix with more shards than cells): that
    // is an empty result set merge accepts, not an error. A plan with no
    // cells at all is one.
    if plan.cells.is_empty() && args.shard.is_none() {
        bail!("nothing to run: {}", if plan.skipped.is_empty() { "no cells".into() } else { plan.skipped_reasons() });
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
        let finished = outcome.results.iter().filter(|r| r.verdict != crate::verdict::Verdict::Skipped).count();
        eprintln!("interrupted: {finished} of {} cells finished; {resume}", campaign.plan().cells.len());
        return Ok(EXIT_INTERRUPTED);
    }
    Ok(results_code(&outcome.results))
}

pub(super) fn calibrate(cx: &Setup, repeat: usize, args: RunArgs) -> Result<u8> {
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

/// The table (stdout, or stderr when the JSON goes to stdout), the
/// unexpected cells and the summary (stderr, the summary followed by
/// `note`), and the JSON verdicts when asked for.
pub(super) fn print_results(results: &[CellResult], json: Option<&Path>, note: &str) -> Result<()> {
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

/// `gcfuzz floor`: reads a journal, asks the oracle again on less of each
/// cell's runs, prints the totals (and writes every cell as JSON).
pub(super) fn floor(cx: &Setup, input: &Path, build_s: f64, cores: usize, json: Option<&Path>) -> Result<u8> {
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
        let Some(p) = patterns.iter().find(|p| p.id == r.config.pattern) else {
            bail!(
                "{}: cell `{}` names pattern `{}`, which is not in the catalogue",
                journal.display(),
                r.cell,
                r.config.pattern
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

pub(super) fn render(cx: &Setup, pattern: &str, variant: &str, go_line: &str, out: &Path) -> Result<u8> {
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

pub(super) fn diff(
    old: &Path,
    new: &Path,
    markdown: Option<&Path>,
    json: Option<&Path>,
    fail_on: FailOn,
) -> Result<u8> {
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
