//! The error every stage shares: a file-system operation that failed, with
//! what was being done and where ("failed to create `…/builds`"); and what
//! an error means for the exit code, which each error type says itself.

use std::path::{Path, PathBuf};

/// What an error means for the command's exit code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Class {
    /// The user's input is wrong (flags, templates, matrix files, Go
    /// versions, merge inputs): exit 2.
    Usage,
    /// The machine or the environment failed (a toolchain, a build, I/O,
    /// the journal): exit 3.
    Setup,
}

/// An error that knows its [`Class`]; `None`: its source decides (a
/// wrapper whose meaning is the wrapped error's).
pub trait Classified {
    /// Its class, or `None` to ask its source.
    fn class(&self) -> Option<Class>;
}

impl Classified for IoError {
    fn class(&self) -> Option<Class> {
        Some(Class::Setup)
    }
}

impl Classified for std::io::Error {
    fn class(&self) -> Option<Class> {
        Some(Class::Setup)
    }
}

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
    use std::io::Write as _;
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    let mut f = std::fs::File::create(&tmp).map_err(io_err("failed to write", &tmp))?;
    // On disk before the rename makes it visible: a crash leaves the old
    // file or the new one whole, never a new name over empty blocks.
    f.write_all(text.as_ref()).and_then(|()| f.sync_all()).map_err(io_err("failed to write", &tmp))?;
    drop(f);
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

/// The largest configuration file gcfuzz reads (pattern.yaml, a matrix
/// file, a finding): far above any real one, so a mistake such as a link
/// to a device or a huge file is refused instead of read for ever.
pub const MAX_CONFIG_BYTES: u64 = 16 << 20;

/// Reads a configuration file as text: a regular file (not a device, a
/// pipe or a link to one) of at most [`MAX_CONFIG_BYTES`].
pub fn read_config(path: &Path) -> std::io::Result<String> {
    use std::io::Read;
    let f = std::fs::File::open(path)?;
    let meta = f.metadata()?;
    if !meta.is_file() {
        return Err(std::io::Error::new(std::io::ErrorKind::InvalidInput, "not a regular file"));
    }
    let mut text = String::new();
    f.take(MAX_CONFIG_BYTES + 1).read_to_string(&mut text)?;
    if text.len() as u64 > MAX_CONFIG_BYTES {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("larger than {} MiB: not a gcfuzz configuration file", MAX_CONFIG_BYTES >> 20),
        ));
    }
    Ok(text)
}

/// Bytes free to an unprivileged writer on the file system holding
/// `path`, or `None` where it cannot be asked.
pub fn free_bytes(path: &Path) -> Option<u64> {
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(path.as_os_str().as_bytes()).ok()?;
    // SAFETY: an all-zero statvfs is a valid value of this plain C struct.
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: statvfs writes into the struct we own; `c` is a valid
    // NUL-terminated path for the duration of the call.
    if unsafe { libc::statvfs(c.as_ptr(), &mut st) } != 0 {
        return None;
    }
    Some((st.f_bavail as u64).saturating_mul(st.f_frsize as u64))
}

/// Below this many free bytes a failed `go build` is blamed on the disk.
pub const LOW_SPACE: u64 = 256 << 20;

/// A note for a command that failed while the disk under `path` had only
/// `free` bytes left: a full disk makes `go` fail with misleading errors
/// (`package errors is not in std`), so the cause is said first.
pub fn low_space_note(path: &Path, free: Option<u64>) -> Option<String> {
    let free = free.filter(|&f| f < LOW_SPACE)?;
    Some(format!(
        "gcfuzz: only {:.1} MiB are free on the file system of `{}`: the disk is (nearly) full, which makes `go` fail with misleading errors such as `package errors is not in std`; free some space (or set GCFUZZ_HOME elsewhere) and run again",
        free as f64 / (1 << 20) as f64,
        path.display()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_nearly_full_disk_is_named_and_a_roomy_one_is_not() {
        let note = low_space_note(Path::new("/h"), Some(3 << 20)).unwrap();
        assert!(
            note.contains("only 3.0 MiB are free") && note.contains("`/h`") && note.contains("not in std"),
            "{note}"
        );
        assert_eq!(low_space_note(Path::new("/h"), Some(LOW_SPACE)), None);
        assert_eq!(low_space_note(Path::new("/h"), None), None);
        assert!(free_bytes(Path::new("/")).is_some_and(|b| b > 0));
        assert_eq!(free_bytes(Path::new("/no/such/folder")), None);
    }

    #[test]
    fn configuration_files_are_regular_and_bounded() {
        let d = tempfile::tempdir().unwrap();
        let link = d.path().join("m.yaml");
        std::os::unix::fs::symlink("/dev/zero", &link).unwrap();
        let t = std::time::Instant::now();
        assert!(read_config(&link).unwrap_err().to_string().contains("not a regular file"));
        let big = d.path().join("big.yaml");
        let f = std::fs::File::create(&big).unwrap();
        f.set_len(MAX_CONFIG_BYTES + 10).unwrap();
        assert!(read_config(&big).unwrap_err().to_string().contains("larger than 16 MiB"));
        assert!(t.elapsed() < std::time::Duration::from_secs(5));
        std::fs::write(&big, "a: 1\n").unwrap();
        assert_eq!(read_config(&big).unwrap(), "a: 1\n");
    }
}
