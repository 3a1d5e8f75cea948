//! Exit codes by cause, and the writing of what a command owes stdout.

use super::*;

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

/// `gcfuzz rusage: self 1.23 s CPU, children 45.6 s CPU, peak RSS 78 MiB,
/// go build 4 (9100 ms), cache hits 2`:
/// gcfuzz's own cost apart from its children's (`GCFUZZ_RUSAGE=1`, for
/// `make bench`).
pub(super) fn rusage_line(counts: &crate::build::BuildCounts) -> String {
    let get = |who| {
        // SAFETY: an all-zero rusage is a valid value of this plain C struct.
        let mut r: libc::rusage = unsafe { std::mem::zeroed() };
        // SAFETY: getrusage only writes into the struct it is given, ours.
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
pub(super) fn error_code(e: &anyhow::Error) -> u8 {
    use crate::errors::{Class, Classified};
    // Each error type says what it means (`Classified`); anyhow hides the
    // type, so each cause is asked as each of the crate's error types in
    // turn. The first cause with a class decides; an error of the command
    // line's own (`bail!`) is usage.
    fn class_of(cause: &(dyn std::error::Error + 'static)) -> Option<Class> {
        macro_rules! ask {
            ($($t:ty),* $(,)?) => {
                $(if let Some(e) = cause.downcast_ref::<$t>() {
                    return e.class();
                })*
            };
        }
        ask!(
            template::TemplateError,
            matrix::MatrixError,
            crate::version::VersionError,
            crate::stress::StressError,
            ToolchainError,
            crate::build::BuildError,
            crate::campaign::CampaignError,
            crate::journal::JournalError,
            crate::fuzz::FuzzError,
            crate::scaffold::ScaffoldError,
            crate::outputs::OutputError,
            crate::errors::IoError,
            std::io::Error,
        );
        None
    }
    for cause in e.chain() {
        match class_of(cause) {
            Some(Class::Usage) => return EXIT_USAGE,
            Some(Class::Setup) => return EXIT_SETUP,
            None => {}
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

/// Whether the process started with its stdout closed (set by the binary
/// before Rust's runtime replaces a closed stdout with /dev/null). The
/// crate's one mutable static, kept on purpose: it records a fact about
/// the process from before `main`, where no value can be passed, and is
/// written once there and only read after.
pub static STDOUT_CLOSED_AT_START: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Writes a document asked for on stdout (`--json -`), flushed: an error
/// when it cannot be written, stdout closed included (the runtime would
/// write it to /dev/null in its place, losing the document with exit 0).
pub(super) fn write_stdout(doc: &[u8]) -> Result<()> {
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
