//! The error every stage shares: a file-system operation that failed, with
//! what was being done and where ("failed to create `…/builds`").

use std::path::{Path, PathBuf};

/// A failed file-system operation.
#[derive(Debug, thiserror::Error)]
#[error("{what} `{path}`")]
pub struct IoError {
    /// What was being done ("failed to create").
    pub what: &'static str,
    /// Where.
    pub path: PathBuf,
    /// Why.
    #[source]
    pub source: std::io::Error,
}

/// For `map_err`: wraps an `io::Error` with what was being done and where.
pub fn io_err<'a>(what: &'static str, path: &'a Path) -> impl FnOnce(std::io::Error) -> IoError + 'a {
    move |source| IoError { what, path: path.to_path_buf(), source }
}

/// Opens (creating it) and exclusively locks `path`. The lock serialises
/// toolchain installs and builds across gcfuzz processes; it is released
/// when the file is dropped.
pub fn lock_file(path: &Path) -> Result<std::fs::File, IoError> {
    let f = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .map_err(io_err("failed to open lock", path))?;
    f.lock().map_err(io_err("failed to lock", path))?;
    Ok(f)
}
