//! Rendering and building Go programs.
//!
//! One build per [`BuildKey`] and pattern: one `go build` compiles the
//! probe and the pattern's scenarios once and links one executable per
//! scenario (`<pattern>/<variant>`). Each executable holds its own
//! scenario and the probe, nothing else: a scenario's package-level code
//! (init functions, globals, flags) never runs in another scenario's
//! process, the other variant's and other patterns' included (a shared
//! program let one pattern's `init()` turn another's verdict). Parameters
//! are runtime values (`-param`), so only what must be compile-time makes
//! a new build: the toolchain, the go.mod `go` line (loop-variable and
//! timer semantics follow it), GOEXPERIMENT and flags. A cache entry is a
//! pattern's, so a plan of one pattern and a plan of all share builds.
//!
//! Layout of a rendered program:
//!
//! ```text
//! go.mod                          module gcfuzzprog / go <line>
//! cmd/s<k>/main.go                generated: scenario k and its parameter defaults
//! probe/*.go                      templates/probe
//! s/<pattern-id>/<variant>/*.go   the pattern's common files + the variant's
//! ```
//!
//! (`gcfuzz render` writes one scenario with its `main.go` at the top, to
//! build and run by hand.)
//!
//! The build cache is content-addressed: the key hashes every rendered file,
//! the toolchain version and the build settings, so an unchanged program is
//! never rebuilt and a changed template always is. Entries are built in a
//! staging folder under a per-key lock and renamed into place.
//!
//! [`Builder`] is the seam: the campaign and the one-cell judge only ask a
//! builder for toolchains, programs and the `go` command. [`GoBuilder`] is
//! the real one; [`Prebuilt`] hands out programs a campaign built ahead.

use crate::cell::CellConfig;
use crate::errors::io_err;
use crate::process::ChildOutcome;
use crate::template::{Pattern, Variant};
use crate::toolchain::{Progress, Toolchain, ToolchainError, Toolchains, divider};
use crate::version::GoVersion;
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
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
    /// What the program is built for (the backend's choice).
    pub target: Target,
    /// Compile-time instrumentation (detectors).
    pub flavor: Flavor,
    /// GOEXPERIMENT at build time (a matrix dimension), if any.
    pub goexperiment: Option<String>,
}

impl BuildKey {
    /// A plain native build.
    pub fn new(go: GoVersion, go_line: GoVersion) -> Self {
        BuildKey { go, go_line, target: Target::Native, flavor: Flavor::Plain, goexperiment: None }
    }

    /// The plain build a cell needs when its backend runs `target`.
    pub fn for_cell(cell: &CellConfig, target: Target) -> Self {
        BuildKey { target, goexperiment: cell.goexperiment.clone(), ..BuildKey::new(cell.go, cell.go_line) }
    }

    /// The GOEXPERIMENT the build runs with: the cell's and the flavor's.
    fn experiments(&self) -> Option<String> {
        let all: Vec<&str> = self.goexperiment.as_deref().into_iter().chain(self.flavor.experiment()).collect();
        (!all.is_empty()).then(|| all.join(","))
    }
}

/// What a program is built for: a backend runs one target.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Target {
    /// The machine gcfuzz runs on: an executable.
    #[default]
    Native,
    /// `GOOS=wasip1 GOARCH=wasm`: a WebAssembly module for a WASI host.
    Wasip1,
}

impl Target {
    /// `GOOS` and `GOARCH` for `go build`; `None` keeps the host's.
    pub fn goos_goarch(self) -> Option<(&'static str, &'static str)> {
        match self {
            Target::Native => None,
            Target::Wasip1 => Some(("wasip1", "wasm")),
        }
    }

    /// The file name of the executable called `stem` for this target.
    pub fn program_file(self, stem: &str) -> String {
        match self {
            Target::Native => stem.to_string(),
            Target::Wasip1 => format!("{stem}.wasm"),
        }
    }
}

/// What Go builders did: `go build` invocations, their milliseconds, and
/// builds served from the cache (`make bench` compares invocations with the
/// plan's build keys). Owned by whoever wants the numbers and shared with
/// the builders it makes ([`GoBuilder::counting`]); no global.
#[derive(Debug, Default)]
pub struct BuildCounts {
    builds: AtomicU64,
    build_ms: AtomicU64,
    hits: AtomicU64,
}

impl BuildCounts {
    /// (`go build` invocations, their milliseconds, cache hits) so far.
    pub fn get(&self) -> (u64, u64, u64) {
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        (get(&self.builds), get(&self.build_ms), get(&self.hits))
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

/// A built program: one executable per scenario.
#[derive(Clone, Debug, Serialize)]
pub struct Artifact {
    /// The build key.
    pub key: BuildKey,
    /// The executables, by scenario name.
    pub programs: BTreeMap<String, PathBuf>,
    /// The rendered sources it was built from (for `go vet`).
    pub src: PathBuf,
    /// The content hash (the cache entry's name).
    pub hash: String,
    /// Whether it came from the cache.
    pub cached: bool,
    /// Milliseconds `go build` took (0 on a hit).
    pub build_ms: u64,
}

impl Artifact {
    /// The scenarios it holds, sorted.
    pub fn scenarios(&self) -> Vec<&str> {
        self.programs.keys().map(String::as_str).collect()
    }

    /// The executable of `scenario` (`<pattern>/<variant>`).
    pub fn program(&self, scenario: &str) -> Result<PathBuf, BuildError> {
        self.programs.get(scenario).cloned().ok_or_else(|| {
            BuildError::Message(format!(
                "the build for Go {} (go line {}) has no program for `{scenario}` (it has {})",
                self.key.go,
                self.key.go_line.line_string(),
                self.scenarios().join(", ")
            ))
        })
    }
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
    /// The toolchain could not be had.
    #[error(transparent)]
    Toolchain(#[from] ToolchainError),
    /// A failure known only as its message: a build that failed earlier
    /// (reported again, not retried), or a builder that cannot do this.
    #[error("{0}")]
    Message(String),
}

impl crate::errors::Classified for BuildError {
    fn class(&self) -> Option<crate::errors::Class> {
        Some(crate::errors::Class::Setup)
    }
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
    let mut gomod = format!("module {MODULE}\n\ngo {}\n", go_line.line_string());
    // Local modules (the team's own code): copied in, so the content hash
    // covers them and the build needs nothing outside its folder. A
    // variant that takes a module from another folder (another version of
    // the same module path) gets that copy under an alias path, and its
    // files' imports are rewritten to it: one program holds both versions.
    let mut copies: Vec<ModuleCopy> = Vec::new();
    for (p, _) in scenarios {
        for m in &p.modules {
            match copies.iter().find(|c| c.path == m.path) {
                Some(c) if c.dir != m.dir => {
                    return Err(BuildError::Message(format!(
                        "module `{}` is named with two folders in one build: {} and {}",
                        m.path,
                        c.dir.display(),
                        m.dir.display()
                    )));
                }
                Some(_) => {}
                None => copies.push(ModuleCopy { path: m.path.clone(), dir: m.dir.clone(), alias: m.path.clone() }),
            }
        }
    }
    for (_, v) in scenarios {
        for m in &v.modules {
            if !copies.iter().any(|c| c.path == m.path && c.dir == m.dir) {
                let alias = format!("gcfuzz.local/v{}/{}", copies.len(), m.path);
                copies.push(ModuleCopy { path: m.path.clone(), dir: m.dir.clone(), alias });
            }
        }
    }
    // What the modules require comes from their own go.mod (Go reads it
    // through the replace); their go.sum lines become the program's, so
    // third-party modules are checked as the team checks them.
    let mut gosum = std::collections::BTreeSet::new();
    let mut vendored = BTreeMap::new();
    for (i, c) in copies.iter().enumerate() {
        let root = format!("_modules/{i}");
        let mut tree = Files::new();
        copy_tree(&c.dir, &root, &mut tree)?;
        if let Some(sum) = tree.get(&format!("{root}/go.sum")) {
            gosum.extend(String::from_utf8_lossy(sum).lines().filter(|l| !l.trim().is_empty()).map(str::to_string));
        }
        vendor_modules(&root, &mut tree, &mut vendored);
        for (name, bytes) in tree {
            let bytes = if c.alias != c.path && (name.ends_with(".go") || name.ends_with("/go.mod")) {
                rewrite_module(&bytes, &c.path, &c.alias)
            } else {
                bytes
            };
            files.insert(name, bytes);
        }
        let _ = write!(gomod, "\nrequire {} v0.0.0\n\nreplace {} => ./{root}\n", c.alias, c.alias);
    }
    // The modules' own `replace` directives: Go applies only the main
    // module's, so each is lifted into the program's go.mod; one that
    // points at a folder brings that folder along.
    let mut lifted = std::collections::BTreeSet::new();
    let mut extra = 0;
    for c in &copies {
        let Ok(text) = std::fs::read_to_string(c.dir.join("go.mod")) else { continue };
        for (from, to) in replaces(&text) {
            if copies.iter().any(|o| from.split_whitespace().next() == Some(o.path.as_str())) {
                continue; // the pattern names that module itself
            }
            let to = if to.starts_with("./") || to.starts_with("../") || to.starts_with('/') {
                let folder = c.dir.join(&to);
                let root = format!("_modules/r{extra}");
                extra += 1;
                let mut tree = Files::new();
                copy_tree(&folder, &root, &mut tree)
                    .map_err(|e| BuildError::Message(format!("module {}: replace {from} => {to}: {e}", c.path)))?;
                files.extend(tree);
                format!("./{root}")
            } else {
                to
            };
            if lifted.insert(from.clone()) {
                let _ = write!(gomod, "\nreplace {from} => {to}\n");
            }
        }
    }
    // A vendored module's dependencies, from its vendor/ folder: Go reads
    // vendor/ only for the main module, so each becomes a replace.
    for ((path, version), dir) in &vendored {
        let _ = write!(gomod, "\nrequire {path} {version}\n\nreplace {path} {version} => ./{dir}\n");
    }
    files.insert("go.mod".into(), gomod.into_bytes());
    if !gosum.is_empty() {
        let text: String = gosum.into_iter().map(|l| l + "\n").collect();
        files.insert("go.sum".into(), text.into_bytes());
    }
    for name in go_files(probe_dir)? {
        let path = probe_dir.join(&name);
        files.insert(format!("probe/{name}"), std::fs::read(&path).map_err(io_err("failed to read", &path))?);
    }
    let sorted = sorted_scenarios(scenarios);
    for (p, v) in &sorted {
        for f in p.files_of(v) {
            let path = p.dir.join(&f);
            let mut bytes = std::fs::read(&path).map_err(io_err("failed to read", &path))?;
            for m in &v.modules {
                if let Some(c) = copies.iter().find(|c| c.path == m.path && c.dir == m.dir && c.alias != c.path) {
                    bytes = rewrite_module(&bytes, &c.path, &c.alias);
                }
            }
            files.insert(format!("s/{}/{}/{f}", p.id, v.name), bytes);
        }
    }
    for (k, (p, v)) in sorted.iter().enumerate() {
        files.insert(format!("cmd/s{k}/main.go"), main_go(p, v).into_bytes());
    }
    Ok(files)
}

/// The scenarios sorted by name, each once: the order that numbers their
/// `cmd/s<k>` folders.
fn sorted_scenarios<'a>(scenarios: &[(&'a Pattern, &'a Variant)]) -> Vec<(&'a Pattern, &'a Variant)> {
    let mut sorted: Vec<(&Pattern, &Variant)> = scenarios.to_vec();
    sorted.sort_by_key(|(p, v)| scenario_name(p, v));
    sorted.dedup_by_key(|(p, v)| scenario_name(p, v));
    sorted
}

/// The `main` package of one scenario: it imports the probe and that
/// scenario's package and nothing else of any pattern.
fn main_go(p: &Pattern, v: &Variant) -> String {
    let mut main = String::new();
    main.push_str("// Code generated by gcfuzz; DO NOT EDIT.\n\n// Command gcfuzzprog runs one gcfuzz scenario: see probe/probe.go for its flags.\npackage main\n\nimport (\n");
    let _ = writeln!(main, "\t\"{MODULE}/probe\"");
    let _ = writeln!(main, "\tscenario \"{MODULE}/s/{}/{}\"", p.id, v.name);
    main.push_str(")\n\nfunc main() {\n\tprobe.Main(map[string]probe.Factory{\n");
    let _ = writeln!(main, "\t\t{:?}: scenario.New,", scenario_name(p, v));
    main.push_str("\t}, map[string]map[string]string{\n");
    let params: Vec<String> = p.default_params().iter().map(|(k, val)| format!("{k:?}: {val:?}")).collect();
    let _ = writeln!(main, "\t\t{:?}: {{{}}},", scenario_name(p, v), params.join(", "));
    main.push_str("\t})\n}\n");
    main
}

/// One scenario rendered to build and run by hand (`gcfuzz render`): the
/// program of [`render`] with its `main.go` at the top.
pub fn render_standalone(probe_dir: &Path, go_line: GoVersion, p: &Pattern, v: &Variant) -> Result<Files, BuildError> {
    let mut files = render(probe_dir, go_line, &[(p, v)])?;
    if let Some(main) = files.remove("cmd/s0/main.go") {
        files.insert("main.go".into(), main);
    }
    Ok(files)
}

/// A local module as one program holds it: its module path, its folder,
/// and the path it goes by there (an alias where a variant's version of
/// the module sits beside the pattern's).
struct ModuleCopy {
    path: String,
    dir: PathBuf,
    alias: String,
}

/// `from` made `to` in Go source or a go.mod: import paths (`"from"`,
/// `"from/…`) and the `module` line.
fn rewrite_module(bytes: &[u8], from: &str, to: &str) -> Vec<u8> {
    let text = String::from_utf8_lossy(bytes);
    let text =
        text.replace(&format!("\"{from}\""), &format!("\"{to}\"")).replace(&format!("\"{from}/"), &format!("\"{to}/"));
    let text: Vec<String> = text
        .lines()
        .map(|l| match l.trim().strip_prefix("module ") {
            Some(m) if m.trim().trim_matches('"') == from => format!("module {to}"),
            _ => l.to_string(),
        })
        .collect();
    (text.join("\n") + "\n").into_bytes()
}

/// The most a local module may hold (bytes): a module is source, and a
/// folder pointed at by mistake (a home directory) must fail, not fill the
/// build cache.
const MODULE_MAX_BYTES: u64 = 64 << 20;

/// Copies the regular files under `dir` into `files` at `root/…`, skipping
/// hidden entries and not following symbolic links.
/// The `replace` directives of a go.mod, as (`path [version]`, `target
/// [version]`), from single lines and `replace ( … )` blocks.
fn replaces(gomod: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut block = false;
    for line in gomod.lines() {
        let line = line.split("//").next().unwrap_or("").trim();
        let body = if block {
            if line == ")" {
                block = false;
                continue;
            }
            line
        } else if line == "replace (" || line == "replace(" {
            block = true;
            continue;
        } else if let Some(rest) = line.strip_prefix("replace ") {
            rest.trim()
        } else {
            continue;
        };
        if let Some((from, to)) = body.split_once("=>") {
            let (from, to) = (from.trim(), to.trim());
            if !from.is_empty() && !to.is_empty() {
                out.push((from.to_string(), to.to_string()));
            }
        }
    }
    out
}

/// The modules a copied module vendors (`root/vendor/modules.txt`: `# path
/// version` lines), each given a go.mod in its vendor folder and recorded
/// in `out` (first copy of a path and version wins), so the program can
/// replace them: a team's vendored dependencies build offline.
fn vendor_modules(root: &str, tree: &mut Files, out: &mut BTreeMap<(String, String), String>) {
    let Some(list) = tree.get(&format!("{root}/vendor/modules.txt")) else { return };
    let list = String::from_utf8_lossy(list).into_owned();
    let mut current: Option<(String, String)> = None;
    let mut go_line = String::from("1.16");
    let mut add = |m: Option<(String, String)>, go: &str, tree: &mut Files| {
        let Some((path, version)) = m else { return };
        let dir = format!("{root}/vendor/{path}");
        tree.entry(format!("{dir}/go.mod")).or_insert_with(|| format!("module {path}\n\ngo {go}\n").into_bytes());
        out.entry((path, version)).or_insert(dir);
    };
    for line in list.lines() {
        if let Some(rest) = line.strip_prefix("# ") {
            add(current.take(), &go_line, tree);
            go_line = "1.16".into();
            // `# path version` (a `# path => …` replacement line is left
            // as it is: its target is in the vendor folder too).
            let parts: Vec<&str> = rest.split_whitespace().collect();
            if let [path, version] = parts.as_slice() {
                current = Some((path.to_string(), version.to_string()));
            }
        } else if let Some(rest) = line.strip_prefix("## ")
            && let Some(go) = rest.split(';').map(str::trim).find_map(|x| x.strip_prefix("go "))
        {
            go_line = go.to_string();
        }
    }
    add(current, &go_line, tree);
}

fn copy_tree(dir: &Path, root: &str, files: &mut Files) -> Result<(), BuildError> {
    let mut total = 0u64;
    let mut stack = vec![(dir.to_path_buf(), root.to_string())];
    while let Some((d, rel)) = stack.pop() {
        let mut entries: Vec<_> =
            std::fs::read_dir(&d).map_err(io_err("failed to read", &d))?.filter_map(|e| e.ok()).collect();
        entries.sort_by_key(|e| e.file_name());
        for e in entries {
            let name = e.file_name().to_string_lossy().into_owned();
            let kind = e.file_type().map_err(io_err("failed to read", &e.path()))?;
            if name.starts_with('.') || kind.is_symlink() {
                continue;
            }
            if kind.is_dir() {
                stack.push((e.path(), format!("{rel}/{name}")));
            } else if kind.is_file() {
                let bytes = std::fs::read(e.path()).map_err(io_err("failed to read", &e.path()))?;
                total += bytes.len() as u64;
                if total > MODULE_MAX_BYTES {
                    return Err(BuildError::Message(format!(
                        "local module {} holds more than {} MiB: is it the right folder?",
                        dir.display(),
                        MODULE_MAX_BYTES >> 20
                    )));
                }
                files.insert(format!("{rel}/{name}"), bytes);
            }
        }
    }
    Ok(())
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

/// What to change when `go` could not get a module: its line and the
/// module settings the build ran with (`env`, from [`go_env`]), or `None`
/// when the output is about something else.
fn module_hint(stderr: &str, env: &BTreeMap<String, String>) -> Option<String> {
    let line = stderr.lines().find(|l| {
        l.contains("module lookup disabled by GOPROXY=off")
            || l.contains("missing go.sum entry")
            || l.contains("verifying module")
            || (l.contains("@v") && l.contains("reading") && l.contains(": "))
    })?;
    let set = |k: &str| env.get(k).map_or_else(|| "unset".to_string(), |v| format!("`{v}`"));
    Some(format!(
        "a module the pattern's code requires could not be had: {}\n  the build ran with GOPROXY {}, GOMODCACHE {}, GONOSUMDB {}, GOSUMDB {} (your settings, GOPROXY=off when unset). Warm the module cache (`go mod download` in the module's folder), point GOPROXY at a proxy that has it (file:///… works offline), or vendor it (`go mod vendor`).",
        line.trim(),
        set("GOPROXY"),
        set("GOMODCACHE"),
        set("GONOSUMDB"),
        set("GOSUMDB")
    ))
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

/// The user's module settings `go` gets as they are: where modules come
/// from and how they are checked (a pattern's local module may require
/// third-party modules, as real code does).
pub const MODULE_SETTINGS: [&str; 9] =
    ["GOPROXY", "GOPRIVATE", "GONOPROXY", "GONOSUMDB", "GOSUMDB", "GOINSECURE", "GOAUTH", "GOVCS", "NETRC"];

/// The environment `go` runs with: HOME, a shared GOCACHE so the standard
/// library compiles once per toolchain, its own GOPATH, GOTOOLCHAIN=local,
/// no cgo, no go env file; from the user's environment only the module
/// settings ([`MODULE_SETTINGS`]; GOPROXY=off when unset, so a build that
/// needs nothing from outside never reaches the network) and the module
/// cache (GOMODCACHE, else the user's GOPATH's or ~/go's `pkg/mod`), so
/// third-party modules are downloaded once and a CI cache of them is used.
pub fn go_env(home: &Path, toolchain: &Toolchain) -> BTreeMap<String, String> {
    go_env_from(home, toolchain, &|k| std::env::var(k).ok().filter(|v| !v.is_empty()))
}

fn go_env_from(home: &Path, toolchain: &Toolchain, user: &dyn Fn(&str) -> Option<String>) -> BTreeMap<String, String> {
    let mut env = BTreeMap::new();
    let path = format!("{}:/usr/local/bin:/usr/bin:/bin", toolchain.goroot.join("bin").display());
    env.insert("PATH".into(), path);
    let user_home = user("HOME").unwrap_or_else(|| home.display().to_string());
    env.insert("HOME".into(), user_home.clone());
    env.insert("GOCACHE".into(), home.join("gocache").display().to_string());
    env.insert("GOPATH".into(), home.join("gopath").display().to_string());
    env.insert("GOTOOLCHAIN".into(), "local".into());
    env.insert("GOPROXY".into(), "off".into());
    for k in MODULE_SETTINGS {
        if let Some(v) = user(k) {
            env.insert(k.into(), v);
        }
    }
    let gopath_first = user("GOPATH").and_then(|g| g.split(':').next().map(str::to_string));
    let modcache = user("GOMODCACHE").unwrap_or_else(|| {
        let gopath = gopath_first.unwrap_or_else(|| format!("{user_home}/go"));
        format!("{gopath}/pkg/mod")
    });
    env.insert("GOMODCACHE".into(), modcache);
    env.insert("GOFLAGS".into(), "-mod=mod".into());
    env.insert("GOENV".into(), "off".into());
    env.insert("CGO_ENABLED".into(), "0".into());
    env
}

/// Where programs come from: the seam between the campaign (and the
/// one-cell judge) and the Go toolchain.
pub trait Builder: Send + Sync {
    /// Gets the toolchain for `go` ready before any build (finding it or
    /// installing it); `progress` hears downloads. A builder that needs no
    /// toolchain does nothing.
    fn prepare(&self, go: GoVersion, progress: &mut dyn FnMut(Progress)) -> Result<(), ToolchainError>;

    /// Builds (or finds in its cache) the program for `key` holding the
    /// given scenarios.
    fn build(&self, key: &BuildKey, scenarios: &[(&Pattern, &Variant)]) -> Result<Artifact, BuildError>;

    /// Runs toolchain `go`'s `go` command with `args` in `dir`, in the
    /// environment builds get (e.g. `go vet` on a built program's sources).
    fn go_command(
        &self,
        go: GoVersion,
        args: &[String],
        dir: &Path,
        timeout: Duration,
    ) -> Result<ChildOutcome, BuildError>;
}

/// Builds programs with real Go toolchains into the content-addressed cache
/// under `home/builds`; toolchains come from [`Toolchains`] (installed on
/// first use).
#[derive(Debug)]
pub struct GoBuilder {
    home: PathBuf,
    probe_dir: PathBuf,
    toolchains: Toolchains,
    /// Toolchains found or installed so far, so each is checked once.
    ready: Mutex<BTreeMap<GoVersion, Toolchain>>,
    /// Limit for one `go build` (default 600 s).
    pub timeout: Duration,
    /// What it built and found cached.
    counts: std::sync::Arc<BuildCounts>,
    /// Kills a `go build` in progress when cancelled.
    cancel: crate::process::Cancel,
}

impl GoBuilder {
    /// A builder caching under `home`, taking the probe from `probe_dir`
    /// and toolchains from `toolchains`.
    pub fn new(home: &Path, probe_dir: &Path, toolchains: Toolchains) -> Self {
        GoBuilder {
            home: home.to_path_buf(),
            probe_dir: probe_dir.to_path_buf(),
            toolchains,
            ready: Mutex::new(BTreeMap::new()),
            timeout: Duration::from_secs(600),
            counts: std::sync::Arc::default(),
            cancel: crate::process::Cancel::new(),
        }
    }

    /// The same builder, its `go` children killed when `cancel` is.
    pub fn cancelled_by(mut self, cancel: crate::process::Cancel) -> Self {
        self.cancel = cancel;
        self
    }

    /// The `go build` of a rendered program in `src`: one executable per
    /// main package under cmd/, named after its folder, into `../bin/`.
    fn go_build(&self, key: &BuildKey, toolchain: &Toolchain, src: &Path) -> crate::process::ChildSpec {
        let mut spec = crate::process::ChildSpec::new(toolchain.go());
        spec.cancel = self.cancel.clone();
        spec.args = vec!["build".into(), "-trimpath".into()];
        spec.args.extend(key.flavor.args().iter().map(|a| a.to_string()));
        spec.args.extend(["-o".into(), "../bin/".into(), "./cmd/...".into()]);
        spec.cwd = Some(src.to_path_buf());
        spec.env = go_env(&self.home, toolchain);
        if let Some(x) = key.experiments() {
            spec.env.insert("GOEXPERIMENT".into(), x);
        }
        if let Some((os, arch)) = key.target.goos_goarch() {
            spec.env.insert("GOOS".into(), os.into());
            spec.env.insert("GOARCH".into(), arch.into());
        }
        spec.timeout = self.timeout;
        spec
    }

    /// A compile that failed: its sources kept at `failed` where people can
    /// read them (else where they are), its output, and a note first when
    /// the disk is nearly full (which makes `go` report odd errors).
    fn compile_error(
        &self,
        key: &BuildKey,
        failed: &Path,
        src: PathBuf,
        stdout: &str,
        stderr: &str,
        env: &BTreeMap<String, String>,
    ) -> BuildError {
        let _ = std::fs::remove_dir_all(failed);
        let kept = std::fs::rename(&src, failed).is_ok();
        let note = crate::errors::low_space_note(&self.home, crate::errors::free_bytes(&self.home));
        let modules = module_hint(stderr, env);
        BuildError::Compile {
            go: key.go,
            go_line: key.go_line.line_string(),
            dir: if kept { failed.to_path_buf() } else { src },
            output: match note.into_iter().chain(modules).reduce(|a, b| format!("{a}\n{b}")) {
                Some(n) => format!("{n}\n{stdout}{stderr}"),
                None => format!("{stdout}{stderr}"),
            },
        }
    }

    /// The same builder counting into `counts` (shared with its owner).
    pub fn counting(mut self, counts: std::sync::Arc<BuildCounts>) -> Self {
        self.counts = counts;
        self
    }

    /// What it built and found cached so far.
    pub fn counts(&self) -> &BuildCounts {
        &self.counts
    }

    /// The cache folder.
    pub fn home(&self) -> &Path {
        &self.home
    }

    /// The toolchain for `go`, found or installed once per builder.
    pub fn toolchain(&self, go: GoVersion, progress: &mut dyn FnMut(Progress)) -> Result<Toolchain, ToolchainError> {
        if let Some(t) = self.ready.lock().unwrap_or_else(|e| e.into_inner()).get(&go) {
            return Ok(t.clone());
        }
        let t = self.toolchains.ensure(go, progress)?;
        self.ready.lock().unwrap_or_else(|e| e.into_inner()).insert(go, t.clone());
        Ok(t)
    }
}

/// The cache hash of a rendered program for a toolchain and build key.
pub fn hash(files: &Files, toolchain: &Toolchain, key: &BuildKey) -> String {
    let mut h = Sha256::new();
    h.update(CACHE_FORMAT.as_bytes());
    h.update(format!("{:?}|{:?}|{:?}", key.target, key.flavor, key.goexperiment).as_bytes());
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

/// The sorted, distinct scenario names of a build.
fn scenario_names(scenarios: &[(&Pattern, &Variant)]) -> Vec<String> {
    let mut n: Vec<String> = scenarios.iter().map(|(p, v)| scenario_name(p, v)).collect();
    n.sort();
    n.dedup();
    n
}

impl Builder for GoBuilder {
    fn prepare(&self, go: GoVersion, progress: &mut dyn FnMut(Progress)) -> Result<(), ToolchainError> {
        self.toolchain(go, progress).map(|_| ())
    }

    fn build(&self, key: &BuildKey, scenarios: &[(&Pattern, &Variant)]) -> Result<Artifact, BuildError> {
        let toolchain = self.toolchain(key.go, &mut |_| {})?;
        let files = render(&self.probe_dir, key.go_line, scenarios)?;
        let hash = hash(&files, &toolchain, key);
        let root = self.home.join("builds");
        let entry = root.join(&hash);
        // build.json is written last in the staging folder, which is then
        // renamed into place whole: an entry that has it is complete.
        let complete = entry.join("build.json");
        let names = scenario_names(scenarios);
        let programs: BTreeMap<String, PathBuf> = names
            .iter()
            .enumerate()
            .map(|(k, n)| (n.clone(), entry.join("bin").join(key.target.program_file(&format!("s{k}")))))
            .collect();
        let artifact = |cached, build_ms| Artifact {
            key: key.clone(),
            programs: programs.clone(),
            src: entry.join("src"),
            hash: hash.clone(),
            cached,
            build_ms,
        };
        let ready = || complete.is_file() && programs.values().all(|p| p.is_file());
        if ready() {
            self.counts.hits.fetch_add(1, Ordering::Relaxed);
            return Ok(artifact(true, 0));
        }
        std::fs::create_dir_all(&root).map_err(io_err("failed to create", &root))?;
        let lock = crate::errors::lock_file(&root.join(format!("{hash}.lock")))?;
        if ready() {
            self.counts.hits.fetch_add(1, Ordering::Relaxed);
            return Ok(artifact(true, 0));
        }
        if entry.exists() {
            // Left incomplete by something other than gcfuzz (entries are
            // renamed into place whole): build it again.
            std::fs::remove_dir_all(&entry).map_err(io_err("failed to remove", &entry))?;
        }
        let staging = tempfile::Builder::new()
            .prefix(".staging-")
            .tempdir_in(&root)
            .map_err(io_err("failed to create staging in", &root))?;
        let src = staging.path().join("src");
        write_files(&src, &files)?;
        std::fs::create_dir_all(staging.path().join("bin")).map_err(io_err("failed to create", staging.path()))?;
        let spec = self.go_build(key, &toolchain, &src);
        let t = Instant::now();
        let mut stdout = String::new();
        let out = crate::process::run(&spec, &mut |l| {
            stdout.push_str(l);
            stdout.push('\n');
        })?;
        let build_ms = t.elapsed().as_millis() as u64;
        self.counts.builds.fetch_add(1, Ordering::Relaxed);
        self.counts.build_ms.fetch_add(build_ms, Ordering::Relaxed);
        if out.stop.timed_out() {
            return Err(BuildError::Timeout { go: key.go, secs: self.timeout.as_secs() });
        }
        if !out.success() {
            let failed = root.join(format!("{hash}.failed"));
            return Err(self.compile_error(key, &failed, src, &stdout, &out.stderr, &spec.env));
        }
        // `go build -o DIR/` names each executable after its folder, with
        // the target's suffix where Go gives one: settle on our names.
        for (k, name) in names.iter().enumerate() {
            let bin = staging.path().join("bin");
            let want = bin.join(key.target.program_file(&format!("s{k}")));
            if !want.is_file() {
                let plain = bin.join(format!("s{k}"));
                if plain.is_file() {
                    std::fs::rename(&plain, &want).map_err(io_err("failed to rename", &plain))?;
                } else {
                    return Err(BuildError::Message(format!(
                        "`go build` for Go {} made no program for scenario `{}` in {}",
                        key.go,
                        name,
                        bin.display()
                    )));
                }
            }
        }
        let meta = serde_json::json!({
            "go": key.go.to_string(), "go_line": key.go_line.line_string(), "target": key.target, "flavor": key.flavor,
            "goexperiment": key.goexperiment, "goroot": toolchain.goroot, "build_ms": build_ms,
            "programs": names.iter().enumerate().map(|(k, n)| (n.clone(), format!("bin/{}", key.target.program_file(&format!("s{k}"))))).collect::<BTreeMap<_, _>>(),
        });
        let meta_path = staging.path().join("build.json");
        std::fs::write(&meta_path, serde_json::to_vec_pretty(&meta).unwrap_or_default())
            .map_err(io_err("failed to write", &meta_path))?;
        let staged = staging.keep();
        if let Err(e) = std::fs::rename(&staged, &entry) {
            let _ = std::fs::remove_dir_all(&staged);
            if !ready() {
                return Err(io_err("failed to move the build into", &entry)(e).into());
            }
        }
        drop(lock);
        Ok(artifact(false, build_ms))
    }

    fn go_command(
        &self,
        go: GoVersion,
        args: &[String],
        dir: &Path,
        timeout: Duration,
    ) -> Result<ChildOutcome, BuildError> {
        let toolchain = self.toolchain(go, &mut |_| {})?;
        let mut spec = crate::process::ChildSpec::new(toolchain.go());
        spec.cancel = self.cancel.clone();
        spec.args = args.to_vec();
        spec.cwd = Some(dir.to_path_buf());
        spec.env = go_env(&self.home, &toolchain);
        spec.timeout = timeout;
        Ok(crate::process::run(&spec, &mut |_| {})?)
    }
}

/// A builder that hands out a program built ahead of time (a campaign
/// builds one program per key for many cells, then judges each cell with
/// it) and passes every other request to the builder behind it.
pub struct Prebuilt<'a> {
    /// Builds what was not built ahead (detectors' instrumented builds).
    pub inner: &'a dyn Builder,
    /// The key built ahead.
    pub key: &'a BuildKey,
    /// Its program, or how its build failed (reported again, not retried).
    pub built: &'a Result<Artifact, String>,
}

impl Builder for Prebuilt<'_> {
    fn prepare(&self, go: GoVersion, progress: &mut dyn FnMut(Progress)) -> Result<(), ToolchainError> {
        self.inner.prepare(go, progress)
    }

    fn build(&self, key: &BuildKey, scenarios: &[(&Pattern, &Variant)]) -> Result<Artifact, BuildError> {
        if key == self.key {
            match self.built {
                Ok(a) if scenario_names(scenarios).iter().all(|n| a.programs.contains_key(n)) => return Ok(a.clone()),
                Err(e) => return Err(BuildError::Message(e.clone())),
                Ok(_) => {}
            }
        }
        self.inner.build(key, scenarios)
    }

    fn go_command(
        &self,
        go: GoVersion,
        args: &[String],
        dir: &Path,
        timeout: Duration,
    ) -> Result<ChildOutcome, BuildError> {
        self.inner.go_command(go, args, dir, timeout)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::synthetic::SyntheticBuilder;

    #[test]
    fn a_target_sets_goos_goarch_and_the_program_name() {
        assert_eq!(Target::Native.goos_goarch(), None, "the host's own");
        assert_eq!(Target::Wasip1.goos_goarch(), Some(("wasip1", "wasm")));
        assert_eq!(
            (Target::Native.program_file("s0"), Target::Wasip1.program_file("s0")),
            ("s0".into(), "s0.wasm".into())
        );
        let go = GoVersion::new(1, 27, 3);
        let native = BuildKey::new(go, go.series());
        let wasm = BuildKey { target: Target::Wasip1, ..native.clone() };
        assert_ne!(native, wasm, "the target is part of the key");
        let t = Toolchain { version: go, goroot: "/go".into(), origin: crate::toolchain::Origin::Goroot };
        let files = Files::from([("main.go".to_string(), b"package main".to_vec())]);
        assert_ne!(hash(&files, &t, &native), hash(&files, &t, &wasm), "and of the cache hash");
    }

    #[test]
    fn go_gets_the_users_module_settings_and_cache_and_nothing_else() {
        let t = Toolchain {
            version: GoVersion::new(1, 27, 3),
            goroot: "/go".into(),
            origin: crate::toolchain::Origin::Goroot,
        };
        let user = |vars: &'static [(&'static str, &'static str)]| {
            move |k: &str| vars.iter().find(|(n, _)| *n == k).map(|(_, v)| v.to_string())
        };
        let env = go_env_from(
            Path::new("/h"),
            &t,
            &user(&[
                ("HOME", "/home/u"),
                ("GOPATH", "/gp:/other"),
                ("GOPROXY", "file:///p"),
                ("GONOSUMDB", "example.com"),
                ("GOFLAGS", "-mod=vendor"),
                ("GOCACHE", "/mine"),
            ]),
        );
        assert_eq!(env["GOPROXY"], "file:///p");
        assert_eq!(env["GONOSUMDB"], "example.com");
        assert_eq!(env["GOMODCACHE"], "/gp/pkg/mod", "the first GOPATH entry's module cache");
        assert_eq!(
            (env["GOCACHE"].as_str(), env["GOFLAGS"].as_str(), env["GOPATH"].as_str()),
            ("/h/gocache", "-mod=mod", "/h/gopath")
        );
        assert!(!env.contains_key("GOSUMDB"));
        let env = go_env_from(Path::new("/h"), &t, &user(&[("HOME", "/home/u")]));
        assert_eq!(
            (env["GOPROXY"].as_str(), env["GOMODCACHE"].as_str()),
            ("off", "/home/u/go/pkg/mod"),
            "unset: no network"
        );
        let env = go_env_from(Path::new("/h"), &t, &user(&[("GOMODCACHE", "/ci/mod")]));
        assert_eq!(env["GOMODCACHE"], "/ci/mod");
    }

    #[test]
    fn a_vendored_modules_dependencies_become_replaces_with_a_go_mod_each() {
        let mut tree = Files::from([
            (
                "_modules/0/vendor/modules.txt".to_string(),
                b"# example.com/base v1.2.0\n## explicit; go 1.21\nexample.com/base\n# example.com/dep v1.0.0\n## explicit\nexample.com/dep\n# example.com/local => ../local\n".to_vec(),
            ),
            ("_modules/0/vendor/example.com/dep/dep.go".to_string(), b"package dep".to_vec()),
        ]);
        let mut out = BTreeMap::new();
        vendor_modules("_modules/0", &mut tree, &mut out);
        let got: Vec<(String, String, String)> = out.into_iter().map(|((p, v), d)| (p, v, d)).collect();
        assert_eq!(
            got,
            [
                ("example.com/base".into(), "v1.2.0".into(), "_modules/0/vendor/example.com/base".into()),
                ("example.com/dep".into(), "v1.0.0".into(), "_modules/0/vendor/example.com/dep".into()),
            ]
        );
        assert_eq!(tree["_modules/0/vendor/example.com/base/go.mod"], b"module example.com/base\n\ngo 1.21\n");
        assert_eq!(tree["_modules/0/vendor/example.com/dep/go.mod"], b"module example.com/dep\n\ngo 1.16\n");
        assert_eq!(
            replaces(
                "module m\n\nreplace a.com/x => ../x // local\nreplace (\n\tb.com/y v1.0.0 => c.com/y v1.1.0\n)\n"
            ),
            [("a.com/x".to_string(), "../x".to_string()), ("b.com/y v1.0.0".to_string(), "c.com/y v1.1.0".to_string())]
        );
        let env = BTreeMap::from([("GOPROXY".to_string(), "off".to_string())]);
        let hint = module_hint("x.go:4:8: module lookup disabled by GOPROXY=off", &env).unwrap();
        assert!(hint.contains("could not be had") && hint.contains("GOPROXY `off`, GOMODCACHE unset"), "{hint}");
        assert!(module_hint("x.go:4:8: undefined: y", &env).is_none());
    }

    #[test]
    fn each_scenario_is_a_program_of_its_own_that_links_no_other_scenario() {
        let d = tempfile::tempdir().unwrap();
        let probe = d.path().join("probe");
        std::fs::create_dir_all(&probe).unwrap();
        std::fs::write(probe.join("probe.go"), "package probe\n").unwrap();
        let yaml = "title: t\nfamily: reachability\nsummary: s\ncommon: [c.go]\nvariants: {buggy: {about: b}, fixed: {about: f}}\nsignals: [{name: g, metric: goroutines, stat: slope, present_above: 1}]\nexpect: [{verdict: reproduced}]\n";
        let mut patterns = Vec::new();
        for id in ["15-a", "16-b"] {
            let dir = d.path().join(id);
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(dir.join("c.go"), "package scenario\n").unwrap();
            patterns.push(crate::template::parse_pattern(yaml, Path::new("p.yaml"), id, &dir).unwrap());
        }
        let scen: Vec<(&Pattern, &Variant)> =
            patterns.iter().flat_map(|p| p.variants.iter().map(move |v| (p, v))).collect();
        let files = render(&probe, GoVersion::new(1, 22, 0), &scen).unwrap();
        let mains: Vec<&String> = files.keys().filter(|k| k.ends_with("main.go")).collect();
        assert_eq!(mains, ["cmd/s0/main.go", "cmd/s1/main.go", "cmd/s2/main.go", "cmd/s3/main.go"]);
        let names = ["15-a/buggy", "15-a/fixed", "16-b/buggy", "16-b/fixed"];
        for (k, name) in names.iter().enumerate() {
            let main = String::from_utf8(files[&format!("cmd/s{k}/main.go")].clone()).unwrap();
            let imports: Vec<&str> = main.lines().filter(|l| l.contains("\"gcfuzzprog/s/")).collect();
            assert_eq!(imports, [format!("\tscenario \"gcfuzzprog/s/{name}\"")], "only its own scenario:\n{main}");
            assert!(main.contains(&format!("{name:?}: scenario.New")), "{main}");
        }
        // The standalone render has its one main at the top.
        let one = render_standalone(&probe, GoVersion::new(1, 22, 0), &patterns[0], &patterns[0].variants[0]).unwrap();
        assert!(one.contains_key("main.go") && !one.keys().any(|k| k.starts_with("cmd/")));
    }

    #[test]
    fn prebuilt_hands_out_its_program_and_passes_the_rest_on() {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join("c.go"), "package scenario\n").unwrap();
        let yaml = "title: t\nfamily: reachability\nsummary: s\ncommon: [c.go]\nvariants: {buggy: {about: b}, fixed: {about: f}, other: {about: o}}\nsignals: [{name: g, metric: goroutines, stat: slope, present_above: 1}]\nexpect: [{verdict: reproduced}]\n";
        let p = crate::template::parse_pattern(yaml, Path::new("p.yaml"), "15-t", d.path()).unwrap();
        let pair: Vec<(&Pattern, &Variant)> = p.variants[..2].iter().map(|v| (&p, v)).collect();
        let all: Vec<(&Pattern, &Variant)> = p.variants.iter().map(|v| (&p, v)).collect();
        let inner = SyntheticBuilder::default();
        let key = BuildKey::new(GoVersion::new(1, 27, 3), GoVersion::new(1, 27, 0));
        let built = inner.build(&key, &all).unwrap();
        let ahead = Ok(built);
        let pre = Prebuilt { inner: &inner, key: &key, built: &ahead };
        assert_eq!(pre.build(&key, &pair).unwrap().scenarios().len(), 3, "the program built ahead holds them");
        assert_eq!(inner.builds()[&key], 1, "not built again");
        let checkptr = BuildKey { flavor: Flavor::Checkptr, ..key.clone() };
        pre.build(&checkptr, &pair).unwrap();
        assert_eq!(inner.builds()[&checkptr], 1, "another key goes to the builder behind");
        let failed = Err("`go build` failed for Go 1.27.3".to_string());
        let pre = Prebuilt { inner: &inner, key: &key, built: &failed };
        let e = pre.build(&key, &pair).unwrap_err();
        assert_eq!(e.to_string(), "`go build` failed for Go 1.27.3", "reported again as it was");
        assert_eq!(inner.builds()[&key], 1, "and not retried");
    }
}
