//! The `gcfuzz` command; everything but argument dispatch is in the library.

fn main() -> std::process::ExitCode {
    gcfuzz::cli::main()
}
