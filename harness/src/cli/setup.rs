//! What every command starts from: the templates, the cache, the
//! toolchains, the builder, the backends, Ctrl-C.

use super::*;
use crate::cell::BackendKind;

pub(super) struct Setup {
    /// gcfuzz's own templates folder: the probe and the built-in patterns.
    pub(super) builtin: PathBuf,
    /// Leave the built-in patterns out.
    pub(super) no_builtin: bool,
    /// Folders whose patterns are added.
    pub(super) added: Vec<PathBuf>,
    pub(super) home: PathBuf,
    pub(super) toolchains: Toolchains,
    /// What the builders it makes did (for `GCFUZZ_RUSAGE`).
    pub(super) counts: std::sync::Arc<crate::build::BuildCounts>,
    /// This command's request to stop: Ctrl-C or SIGTERM once
    /// [`Setup::stop_on_interrupt`] is called.
    pub(super) cancel: crate::process::Cancel,
}

impl Setup {
    pub(super) fn new(cli: &Cli, counts: &std::sync::Arc<crate::build::BuildCounts>) -> Result<Setup> {
        // Naming gcfuzz's own templates folder (the source tree's, as older
        // instructions did) adds nothing: it is the built-in catalogue.
        let added: Vec<PathBuf> = cli
            .templates
            .iter()
            .filter(|d| !d.as_os_str().is_empty() && !crate::embedded::is_copy(d))
            .cloned()
            .collect();
        if cli.no_builtin && added.is_empty() {
            bail!("--no-builtin leaves no patterns: add some with --templates DIR");
        }
        let home = cli.home.clone().unwrap_or_else(toolchain::default_home);
        // gcfuzz's own templates travel inside the binary: written into
        // the cache once per content, so an installed gcfuzz needs no
        // source tree.
        let builtin = crate::embedded::templates(&home)?;
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
    pub(super) fn probe(&self) -> PathBuf {
        self.builtin.join("probe")
    }

    /// The catalogue: the built-in patterns and the added ones.
    pub(super) fn patterns(&self) -> Result<Vec<template::Pattern>, template::TemplateError> {
        template::load_catalogue((!self.no_builtin).then_some(self.builtin.as_path()), &self.added)
    }

    pub(super) fn builder(&self) -> GoBuilder {
        GoBuilder::new(&self.home, &self.probe(), self.toolchains.clone())
            .counting(self.counts.clone())
            .cancelled_by(self.cancel.clone())
    }

    /// Ctrl-C (and SIGTERM): children run in their own process groups, so
    /// the terminal's SIGINT does not reach them; the first press cancels
    /// this command's work (children killed, what finished kept), a second
    /// one exits at once.
    pub(super) fn stop_on_interrupt(&self) {
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

/// The cores this process may use (1 when that cannot be told).
pub(super) fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, usize::from)
}

/// The backends a plan names, made once each: native always (cheap),
/// wasm only when asked for (it starts an engine). An unknown name is a
/// usage error here, before anything builds.
pub(super) struct Backends {
    pub(super) native: Native,
    #[cfg(feature = "wasm")]
    pub(super) wasm: Option<crate::wasm::Wasm>,
}

impl Backends {
    /// Every backend the command line offers (the synthetic one is for
    /// tests).
    pub(super) const ALL: [BackendKind; 2] = [BackendKind::Native, BackendKind::Wasm];

    pub(super) fn new(kinds: impl IntoIterator<Item = BackendKind>) -> Result<Self> {
        #[cfg(feature = "wasm")]
        let mut wasm = None;
        for k in kinds {
            match k {
                BackendKind::Native => {}
                #[cfg(feature = "wasm")]
                BackendKind::Wasm if wasm.is_none() => wasm = Some(crate::wasm::Wasm::new()?),
                #[cfg(feature = "wasm")]
                BackendKind::Wasm => {}
                #[cfg(not(feature = "wasm"))]
                BackendKind::Wasm => bail!("this gcfuzz was built without the `wasm` feature: no wasm backend"),
                BackendKind::Synthetic => {
                    bail!("the synthetic backend is for tests (the command line has: native, wasm)")
                }
            }
        }
        Ok(Backends {
            native: Native,
            #[cfg(feature = "wasm")]
            wasm,
        })
    }

    pub(super) fn for_plan(plan: &matrix::Plan) -> Result<Self> {
        Self::new(plan.cells.iter().map(|c| c.backend))
    }

    pub(super) fn all(&self) -> Vec<&dyn Backend> {
        #[cfg_attr(not(feature = "wasm"), expect(unused_mut, reason = "only the wasm backend is added"))]
        let mut v: Vec<&dyn Backend> = vec![&self.native];
        #[cfg(feature = "wasm")]
        if let Some(w) = &self.wasm {
            v.push(w);
        }
        v
    }

    pub(super) fn get(&self, kind: BackendKind) -> Option<&dyn Backend> {
        self.all().into_iter().find(|b| b.kind() == kind)
    }
}

/// The patterns and the plan for `args`, cut to its shard when one is
/// asked for.
pub(super) fn planned<'p>(
    cx: &Setup,
    patterns: &'p [Pattern],
    args: &RunArgs,
) -> Result<(Vec<&'p Pattern>, matrix::Plan)> {
    let (selected, spec) = matrix::resolve(&args.axes()?, patterns, &cx.toolchains)?;
    let plan = matrix::plan(&selected, &spec)?;
    let plan = match &args.shard {
        Some(s) => {
            let (k, n) = matrix::parse_shard(s).map_err(anyhow::Error::msg)?;
            if plan.cells.is_empty() {
                bail!("nothing to run in any shard: {}", plan.skipped_reasons());
            }
            matrix::shard(&plan, k, n)
        }
        None => plan,
    };
    Ok((selected, plan))
}
