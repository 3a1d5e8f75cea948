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

/// Writes `text` (or any bytes) to `path` atomically: a temporary file
/// beside it, then a rename, so a kill leaves the old file or the new one,
/// never half of one.
pub fn write_atomic(path: &Path, text: impl AsRef<[u8]>) -> Result<(), IoError> {
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    std::fs::write(&tmp, text).map_err(io_err("failed to write", &tmp))?;
    std::fs::rename(&tmp, path).map_err(io_err("failed to rename", path))
}

/// Opens (creating it) a lock file.
fn open_lock(path: &Path) -> Result<std::fs::File, IoError> {
    std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .map_err(io_err("failed to open lock", path))
}

/// Opens (creating it) and exclusively locks `path`, waiting for it. The
/// lock serialises toolchain installs and builds across gcfuzz processes;
/// it is released when the file is dropped.
pub fn lock_file(path: &Path) -> Result<std::fs::File, IoError> {
    let f = open_lock(path)?;
    f.lock().map_err(io_err("failed to lock", path))?;
    Ok(f)
}

/// Like [`lock_file`], but does not wait: `None` when another process
/// holds the lock.
pub fn try_lock_file(path: &Path) -> Result<Option<std::fs::File>, IoError> {
    let f = open_lock(path)?;
    match f.try_lock() {
        Ok(()) => Ok(Some(f)),
        Err(std::fs::TryLockError::WouldBlock) => Ok(None),
        Err(std::fs::TryLockError::Error(e)) => Err(io_err("failed to lock", path)(e)),
    }
}
