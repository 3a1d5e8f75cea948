//! The `gcfuzz` command; everything but argument dispatch is in the library.

/// Notes, before Rust's runtime starts, whether gcfuzz was started with
/// its stdout closed: the runtime then quietly opens /dev/null in its
/// place, and a document asked for on `-` (`--json -`) would be lost with
/// exit 0. Functions in `.init_array` run before `main` (and before the
/// runtime's own start-up), with the descriptors as the parent left them.
#[used]
#[unsafe(link_section = ".init_array")]
static NOTE_CLOSED_STDOUT: extern "C" fn() = {
    extern "C" fn note() {
        // SAFETY: fcntl(F_GETFD) on a descriptor number only reads its flags.
        let closed = unsafe { libc::fcntl(1, libc::F_GETFD) } == -1;
        gcfuzz::cli::STDOUT_CLOSED_AT_START.store(closed, std::sync::atomic::Ordering::Relaxed);
    }
    note
};

fn main() -> std::process::ExitCode {
    gcfuzz::cli::main()
}
