//! `gcfuzz fuzz` and `gcfuzz replay`.

use super::*;

pub(super) fn fuzz(cx: &Setup, args: FuzzArgs) -> Result<u8> {
    use crate::fuzz::{self, Budget};
    let patterns = cx.patterns()?;
    let selected = template::select(&patterns, &args.patterns)?;
    let toolchains = cx.toolchains.resolve(&args.go)?;
    let seed_toolchains = cx.toolchains.resolve(toolchain::DEFAULT_SPEC)?;
    let backends = Backends::new(args.backend.iter().copied())?;
    let [kind] = args.backend.as_slice() else {
        bail!("fuzz one backend at a time (--backend native or --backend wasm)");
    };
    let backend = backends.get(*kind).expect("made above");
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
    let mut progress = console::FuzzReporter::new(args.quiet);
    eprintln!("fuzzing {} pattern(s), seed {} (--seed to repeat the mutations)", selected.len(), opts.seed);
    let summaries = fuzz::fuzz(&selected, &patterns, &builder, backend, &opts, &mut |e| progress.event(e));
    progress.finish();
    let summaries = summaries?;
    print!("{}", report::fuzz::summary_table(&summaries));
    eprintln!("corpus: {} (replay the findings: gcfuzz replay {})", args.corpus.display(), args.corpus.display());
    if summaries.iter().any(|s| s.interrupted) || cx.cancel.is_cancelled() {
        eprintln!("interrupted: the queue and the findings so far are on disk; rerun to continue");
        return Ok(EXIT_INTERRUPTED);
    }
    Ok(EXIT_OK)
}

pub(super) fn replay(cx: &Setup, dir: &Path, mem_cap_mib: u64) -> Result<u8> {
    let patterns = cx.patterns()?;
    if !dir.is_dir() {
        bail!("`{}` is not a folder (want a corpus folder, e.g. corpus/)", dir.display());
    }
    cx.stop_on_interrupt();
    let builder = cx.builder();
    let backends = Backends::new(Backends::ALL)?;
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
    Ok(if results.iter().any(|r| !r.holds && !r.unreadable && !r.is_flaky()) {
        EXIT_UNEXPECTED
    } else if results.iter().any(|r| r.unreadable) {
        EXIT_USAGE
    } else {
        EXIT_OK
    })
}
