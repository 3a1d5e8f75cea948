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

mod args;
mod bisect;
mod exit;
mod flags;
mod fuzz;
mod run;
mod setup;
mod toolchains;

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
use args::*;
use bisect::*;
use clap::{Args, Parser, Subcommand};
use exit::*;
use flags::*;
use fuzz::*;
use run::*;
use setup::*;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Mutex;
use toolchains::*;

pub use args::{Cli, FailOn};
pub use exit::{
    EXIT_INTERRUPTED, EXIT_OK, EXIT_SETUP, EXIT_UNEXPECTED, EXIT_USAGE, STDOUT_CLOSED_AT_START, results_code,
};

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
        Command::Toolchain { action } => toolchain_command(&cx, action),
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
                println!("{c}");
                let target = if c.backend.is_wasm() { build::Target::Wasip1 } else { build::Target::Native };
                keys.insert((BuildKey::for_cell(c, target), c.pattern.clone()));
            }
            for s in &plan.skipped {
                println!("skipped: {s}");
            }
            println!("{} cells ({} runs), {} builds", plan.cells.len(), plan.cells.len() * 2, keys.len());
            Ok(EXIT_OK)
        }
        Command::Run(args) => run(&cx, args),
        Command::Bisect(args) => bisect(&cx, *args),
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
            ToolchainError::Unknown { given: "1.19".into(), known: String::new(), offered: String::new() }.into(),
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
        // A wrapper whose meaning is the wrapped error's asks it: a copy
        // that does not load is bad input, a folder not written the disk's.
        let bad_copy: anyhow::Error =
            crate::scaffold::ScaffoldError::Invalid(template::TemplateError::NoMatch("x".into())).into();
        assert_eq!(error_code(&bad_copy), EXIT_USAGE);
        let io = std::io::Error::other("read-only");
        let not_written: anyhow::Error = crate::scaffold::ScaffoldError::Io(crate::errors::IoError {
            what: "failed to write",
            path: "p".into(),
            source: io,
        })
        .into();
        assert_eq!(error_code(&not_written), EXIT_SETUP);
        assert_eq!(error_code(&crate::fuzz::FuzzError::Nothing("none".into()).into()), EXIT_USAGE);
        // A matrix error wrapping a toolchain one is still bad input.
        let wrapped: anyhow::Error = matrix::MatrixError::from(ToolchainError::Unknown {
            given: "x".into(),
            known: String::new(),
            offered: String::new(),
        })
        .into();
        assert_eq!(error_code(&wrapped), EXIT_USAGE);
    }
}
