//! Rendering and building Go programs.
//!
//! One program per [`BuildKey`] holds every scenario a run needs (the Go
//! runtime's testprog style): `main.go` registers each `<pattern>/<variant>`
//! and hands over to the probe. Parameters are runtime values (`-param`),
//! so only what must be compile-time makes a new build: the toolchain, the
//! go.mod `go` line (loop-variable and timer semantics follow it) and, later,
//! GOEXPERIMENT and flags.
//!
//! Layout of a rendered program:
//!
//! ```text
//! go.mod                          module gcfuzzprog / go <line>
//! main.go                         generated: registry and parameter defaults
//! probe/*.go                      templates/probe
//! s/<pattern-id>/<variant>/*.go   the pattern's common files + the variant's
//! ```
//!
//! The build cache is content-addressed: the key hashes every rendered file,
//! the toolchain version and the build settings, so an unchanged program is
//! never rebuilt and a changed template always is. Entries are built in a
//! staging folder under a per-key lock and renamed into place.

use crate::errors::io_err;
use crate::template::{Pattern, Variant};
use crate::toolchain::{Toolchain, divider};
use crate::version::GoVersion;
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Bumped when the rendered layout or build settings change meaning.
const CACHE_FORMAT: &str = "gcfuzz-build-1";

/// The Go module path of rendered programs.
pub const MODULE: &str = "gcfuzzprog";

/// What makes a separate build.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct BuildKey {
    /// The toolchain.
    pub go: GoVersion,
    /// The go.mod `go` line.
    #[serde(serialize_with = "ser_line")]
    pub go_line: GoVersion,
    /// Compile-time instrumentation (detectors).
    pub flavor: Flavor,
    /// GOEXPERIMENT at build time (a matrix dimension), if any.
    pub goexperiment: Option<String>,
}

impl BuildKey {
    /// A plain build.
    pub fn new(go: GoVersion, go_line: GoVersion) -> Self {
        BuildKey { go, go_line, flavor: Flavor::Plain, goexperiment: None }
    }

    /// The GOEXPERIMENT the build runs with: the cell's and the flavor's.
    fn experiments(&self) -> Option<String> {
        let all: Vec<&str> = self.goexperiment.as_deref().into_iter().chain(self.flavor.experiment()).collect();
        (!all.is_empty()).then(|| all.join(","))
    }
}

/// Compile-time settings beyond the go line: the instrumented builds that
/// detectors need.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Flavor {
    /// `go build` as is.
    #[default]
    Plain,
    /// `-gcflags=all=-d=checkptr`: unsafe.Pointer conversions are checked.
    Checkptr,
    /// `GOEXPERIMENT=goroutineleakprofile` (Go 1.26; built in from 1.27).
    LeakProfile,
}

impl Flavor {
    /// Extra `go build` arguments.
    fn args(self) -> &'static [&'static str] {
        match self {
            Flavor::Checkptr => &["-gcflags=all=-d=checkptr"],
            _ => &[],
        }
    }

    /// GOEXPERIMENT for the build, if any.
    fn experiment(self) -> Option<&'static str> {
        match self {
            Flavor::LeakProfile => Some("goroutineleakprofile"),
            _ => None,
        }
    }
}

fn ser_line<S: serde::Serializer>(v: &GoVersion, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&v.line_string())
}

/// A built program.
#[derive(Clone, Debug, Serialize)]
pub struct Artifact {
    /// The build key.
    pub key: BuildKey,
    /// The executable.
    pub program: PathBuf,
    /// The rendered sources it was built from (for `go vet`).
    pub src: PathBuf,
    /// The content hash (the cache entry's name).
    pub hash: String,
    /// Whether it came from the cache.
    pub cached: bool,
    /// Milliseconds `go build` took (0 on a hit).
    pub build_ms: u64,
    /// The scenarios it holds.
    pub scenarios: Vec<String>,
}

/// A build that failed.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// `go build` failed; its output is kept.
    #[error("`go build` failed for Go {go} (go line {go_line}) in {dir}\n{}", divider(.output))]
    Compile {
        /// The toolchain.
        go: GoVersion,
        /// The go line.
        go_line: String,
        /// The rendered sources (kept for reading).
        dir: PathBuf,
        /// Combined output.
        output: String,
    },
    /// `go build` ran past its time limit.
    #[error("`go build` for Go {go} took longer than {secs} s and was killed")]
    Timeout {
        /// The toolchain.
        go: GoVersion,
        /// The limit.
        secs: u64,
    },
    /// A file could not be read or written.
    #[error(transparent)]
    Io(#[from] crate::errors::IoError),
    /// `go` could not be started.
    #[error(transparent)]
    Spawn(#[from] crate::process::SpawnError),
}

/// A rendered program: relative path → contents.
pub type Files = BTreeMap<String, Vec<u8>>;

/// The scenario name of a pattern's variant: `<pattern-id>/<variant>`.
pub fn scenario_name(p: &Pattern, v: &Variant) -> String {
    format!("{}/{}", p.id, v.name)
}

/// Renders the program for `go_line` holding the given scenarios, with
/// `probe_dir` (templates/probe) as the probe package.
pub fn render(probe_dir: &Path, go_line: GoVersion, scenarios: &[(&Pattern, &Variant)]) -> Result<Files, BuildError> {
    let mut files = Files::new();
    files.insert("go.mod".into(), format!("module {MODULE}\n\ngo {}\n", go_line.line_string()).into_bytes());
    for name in go_files(probe_dir)? {
        let path = probe_dir.join(&name);
        files.insert(format!("probe/{name}"), std::fs::read(&path).map_err(io_err("failed to read", &path))?);
    }
    let mut sorted: Vec<(&Pattern, &Variant)> = scenarios.to_vec();
    sorted.sort_by_key(|(p, v)| scenario_name(p, v));
    sorted.dedup_by_key(|(p, v)| scenario_name(p, v));
    let mut main = String::new();
    main.push_str("// Code generated by gcfuzz; DO NOT EDIT.\n\n// Command gcfuzzprog runs one gcfuzz scenario: see probe/probe.go for its flags.\npackage main\n\nimport (\n");
    let _ = writeln!(main, "\t\"{MODULE}/probe\"");
    for (i, (p, v)) in sorted.iter().enumerate() {
        let _ = writeln!(main, "\ts{i} \"{MODULE}/s/{}/{}\"", p.id, v.name);
        for f in p.files_of(v) {
            let path = p.dir.join(&f);
            files.insert(
                format!("s/{}/{}/{f}", p.id, v.name),
                std::fs::read(&path).map_err(io_err("failed to read", &path))?,
            );
        }
    }
    main.push_str(")\n\nfunc main() {\n\tprobe.Main(map[string]probe.Factory{\n");
    for (i, (p, v)) in sorted.iter().enumerate() {
        let _ = writeln!(main, "\t\t{:?}: s{i}.New,", scenario_name(p, v));
    }
    main.push_str("\t}, map[string]map[string]string{\n");
    for (p, v) in &sorted {
        let params: Vec<String> = p.default_params().iter().map(|(k, val)| format!("{k:?}: {val:?}")).collect();
        let _ = writeln!(main, "\t\t{:?}: {{{}}},", scenario_name(p, v), params.join(", "));
    }
    main.push_str("\t})\n}\n");
    files.insert("main.go".into(), main.into_bytes());
    Ok(files)
}

fn go_files(dir: &Path) -> Result<Vec<String>, BuildError> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map_err(io_err("failed to read", dir))?
        .filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|n| n.ends_with(".go") && !n.ends_with("_test.go"))
        .collect();
    names.sort();
    Ok(names)
}

/// Writes rendered files under `dir`.
pub fn write_files(dir: &Path, files: &Files) -> Result<(), BuildError> {
    for (rel, content) in files {
        let path = dir.join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(io_err("failed to create", parent))?;
        }
        std::fs::write(&path, content).map_err(io_err("failed to write", &path))?;
    }
    Ok(())
}

/// The environment `go` runs with: nothing inherited but HOME, a shared
/// GOCACHE so the standard library compiles once per toolchain, no network.
pub fn go_env(home: &Path, toolchain: &Toolchain) -> BTreeMap<String, String> {
    let mut env = BTreeMap::new();
    let path = format!("{}:/usr/local/bin:/usr/bin:/bin", toolchain.goroot.join("bin").display());
    env.insert("PATH".into(), path);
    env.insert("HOME".into(), std::env::var("HOME").unwrap_or_else(|_| home.display().to_string()));
    env.insert("GOCACHE".into(), home.join("gocache").display().to_string());
    env.insert("GOPATH".into(), home.join("gopath").display().to_string());
    env.insert("GOTOOLCHAIN".into(), "local".into());
    env.insert("GOPROXY".into(), "off".into());
    env.insert("GOFLAGS".into(), "-mod=mod".into());
    env.insert("GOENV".into(), "off".into());
    env.insert("CGO_ENABLED".into(), "0".into());
    env
}

/// Builds programs into the content-addressed cache under `home/builds`.
#[derive(Clone, Debug)]
pub struct Builder {
    home: PathBuf,
    probe_dir: PathBuf,
    /// Limit for one `go build`.
    pub timeout: Duration,
}

impl Builder {
    /// A builder caching under `home`, taking the probe from `probe_dir`.
    pub fn new(home: &Path, probe_dir: &Path) -> Self {
        Builder { home: home.to_path_buf(), probe_dir: probe_dir.to_path_buf(), timeout: Duration::from_secs(600) }
    }

    /// The cache folder.
    pub fn home(&self) -> &Path {
        &self.home
    }

    /// The cache hash of a rendered program for a toolchain.
    pub fn hash(files: &Files, toolchain: &Toolchain, key: &BuildKey) -> String {
        let mut h = Sha256::new();
        h.update(CACHE_FORMAT.as_bytes());
        h.update(format!("{:?}|{:?}", key.flavor, key.goexperiment).as_bytes());
        h.update(toolchain.version.to_string().as_bytes());
        h.update(toolchain.goroot.display().to_string().as_bytes());
        h.update(std::env::consts::ARCH.as_bytes());
        for (k, v) in files {
            h.update((k.len() as u64).to_le_bytes());
            h.update(k.as_bytes());
            h.update((v.len() as u64).to_le_bytes());
            h.update(v);
        }
        h.finalize().iter().take(12).map(|b| format!("{b:02x}")).collect()
    }

    /// Renders and builds (or finds in the cache) the program for `key`.
    pub fn build(
        &self,
        toolchain: &Toolchain,
        key: BuildKey,
        scenarios: &[(&Pattern, &Variant)],
    ) -> Result<Artifact, BuildError> {
        let files = render(&self.probe_dir, key.go_line, scenarios)?;
        let hash = Self::hash(&files, toolchain, &key);
        let root = self.home.join("builds");
        let entry = root.join(&hash);
        let program = entry.join("prog");
        let names: Vec<String> = {
            let mut n: Vec<String> = scenarios.iter().map(|(p, v)| scenario_name(p, v)).collect();
            n.sort();
            n.dedup();
            n
        };
        let artifact = |cached, build_ms| Artifact {
            key: key.clone(),
            program: program.clone(),
            src: entry.join("src"),
            hash: hash.clone(),
            cached,
            build_ms,
            scenarios: names.clone(),
        };
        if program.is_file() {
            return Ok(artifact(true, 0));
        }
        std::fs::create_dir_all(&root).map_err(io_err("failed to create", &root))?;
        let lock = crate::errors::lock_file(&root.join(format!("{hash}.lock")))?;
        if program.is_file() {
            return Ok(artifact(true, 0));
        }
        let staging = tempfile::Builder::new()
            .prefix(".staging-")
            .tempdir_in(&root)
            .map_err(io_err("failed to create staging in", &root))?;
        let src = staging.path().join("src");
        write_files(&src, &files)?;
        let mut spec = crate::process::ChildSpec::new(toolchain.go());
        spec.args = vec!["build".into(), "-trimpath".into()];
        spec.args.extend(key.flavor.args().iter().map(|a| a.to_string()));
        spec.args.extend(["-o".into(), "../prog".into(), ".".into()]);
        spec.cwd = Some(src.clone());
        spec.env = go_env(&self.home, toolchain);
        if let Some(x) = key.experiments() {
            spec.env.insert("GOEXPERIMENT".into(), x);
        }
        spec.timeout = self.timeout;
        let t = Instant::now();
        let mut stdout = String::new();
        let out = crate::process::run(&spec, &mut |l| {
            stdout.push_str(l);
            stdout.push('\n');
        })?;
        let build_ms = t.elapsed().as_millis() as u64;
        if out.timed_out {
            return Err(BuildError::Timeout { go: key.go, secs: self.timeout.as_secs() });
        }
        if !out.success() {
            // Keep the failed sources where people can read them.
            let failed = root.join(format!("{hash}.failed"));
            let _ = std::fs::remove_dir_all(&failed);
            let kept = std::fs::rename(&src, &failed).is_ok();
            return Err(BuildError::Compile {
                go: key.go,
                go_line: key.go_line.line_string(),
                dir: if kept { failed } else { src },
                output: format!("{stdout}{}", out.stderr),
            });
        }
        let meta = serde_json::json!({
            "go": key.go.to_string(), "go_line": key.go_line.line_string(), "flavor": key.flavor, "goexperiment": key.goexperiment, "goroot": toolchain.goroot,
            "scenarios": names, "build_ms": build_ms,
        });
        let meta_path = staging.path().join("build.json");
        std::fs::write(&meta_path, serde_json::to_vec_pretty(&meta).unwrap_or_default())
            .map_err(io_err("failed to write", &meta_path))?;
        let staged = staging.keep();
        if let Err(e) = std::fs::rename(&staged, &entry) {
            let _ = std::fs::remove_dir_all(&staged);
            if !program.is_file() {
                return Err(io_err("failed to move the build into", &entry)(e).into());
            }
        }
        drop(lock);
        Ok(artifact(false, build_ms))
    }
}
