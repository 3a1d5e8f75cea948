//! Shared helpers: the real templates, toolchains, and a campaign runner.

use gcfuzz::build::GoBuilder;
use gcfuzz::campaign::{self, Campaign};
use gcfuzz::matrix::{self, MatrixSpec};
use gcfuzz::results::CellResult;
use gcfuzz::run::Native;
use gcfuzz::template::{self, Pattern};
use gcfuzz::toolchain::{self, Toolchains};
use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};

/// Tests run on two threads. A campaign over a pattern marked `exclusive`
/// (timing-sensitive: 5, 8, 11) measures with the machine to itself: it
/// takes this lock for writing, every other test that runs Go programs for
/// reading. Within one campaign the scheduler does the same.
static MACHINE: RwLock<()> = RwLock::new(());

/// A share of the machine (other tests may run at the same time).
pub fn shared() -> RwLockReadGuard<'static, ()> {
    MACHINE.read().unwrap_or_else(|e| e.into_inner())
}

/// The whole machine.
pub fn exclusive() -> RwLockWriteGuard<'static, ()> {
    MACHINE.write().unwrap_or_else(|e| e.into_inner())
}

/// The shipped templates folder.
pub fn templates() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../templates")
}

/// The test fixtures folder.
pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// The cache shared with `make run`, so toolchains and builds are reused.
pub fn home() -> PathBuf {
    toolchain::default_home()
}

/// Toolchains from the cache only (no PATH), so tests are reproducible.
pub fn toolchains() -> Toolchains {
    Toolchains::discover(&home(), &[], false).expect("toolchain discovery")
}

/// A templates folder holding the real probe and the named fixture patterns.
pub fn fixture_templates(names: &[&str]) -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    copy_dir(&templates().join("probe"), &d.path().join("probe"));
    for n in names {
        copy_dir(&fixtures().join("patterns").join(n), &d.path().join(n));
    }
    d
}

pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &to.join(e.file_name()));
        } else {
            std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
        }
    }
}

/// What to run.
pub struct Run<'a> {
    pub templates: PathBuf,
    pub patterns: &'a [&'a str],
    pub go: &'a str,
    pub go_lines: Option<&'a [&'a str]>,
    pub godebug: Option<&'a [&'a str]>,
    pub rss_cap: Option<u64>,
    pub detectors: bool,
}

impl<'a> Run<'a> {
    pub fn new(patterns: &'a [&'a str], go: &'a str) -> Self {
        Run {
            templates: templates(),
            patterns,
            go,
            go_lines: None,
            godebug: None,
            rss_cap: Some(2 << 30),
            detectors: false,
        }
    }

    /// Runs the campaign through the library, as `gcfuzz run` does: the
    /// results of the cells run.
    pub fn results(&self) -> Vec<CellResult> {
        let all: Vec<Pattern> = template::load_all(&self.templates).unwrap_or_else(|e| panic!("{e}"));
        let names: Vec<String> = self.patterns.iter().map(|s| s.to_string()).collect();
        let selected = template::select(&all, &names).unwrap();
        // The patterns say whether they need the machine to themselves.
        let alone = selected.iter().any(|p| p.run.exclusive);
        let (_shared, _exclusive) = if alone { (None, Some(exclusive())) } else { (Some(shared()), None) };
        let tc = toolchains();
        let spec = MatrixSpec {
            go: tc.resolve(self.go).unwrap(),
            go_lines: self.go_lines.map(|ls| ls.iter().map(|l| l.parse().unwrap()).collect()),
            godebug: self.godebug.map(|g| g.iter().map(|s| s.to_string()).collect()),
            ..Default::default()
        };
        let plan = matrix::plan(&selected, &spec).unwrap();
        let builder = GoBuilder::new(&home(), &self.templates.join("probe"), tc);
        let options = campaign::Options {
            jobs: 1,
            rss_cap: self.rss_cap,
            mem_budget: 8 << 30,
            detectors: self.detectors,
            early_stop: false,
            ..campaign::Options::default()
        };
        let c = Campaign::new(selected, plan, &builder, vec![&Native], options);
        campaign::run(&c, &mut |e| {
            if let Some(l) = gcfuzz::report::event_line(&e) {
                eprintln!("{l}");
            }
        })
        .unwrap_or_else(|e| panic!("{e}"))
        .results
        .into_iter()
        // The cells run: the skipped ones (the patterns' configs, go lines
        // newer than the toolchain) have tests of their own (reports,
        // snapshots, reproducers).
        .filter(|r| r.verdict != gcfuzz::verdict::Verdict::Skipped)
        .collect()
    }
}

/// The cell for a toolchain series, go line and GODEBUG (None = unset).
pub fn cell<'r>(rs: &'r [CellResult], go: &str, line: &str, godebug: Option<&str>) -> &'r CellResult {
    rs.iter()
        .find(|r| {
            r.config.go.line_string() == go
                && r.config.go_line.line_string() == line
                && r.config.knobs.godebug.as_deref() == godebug
        })
        .unwrap_or_else(|| panic!("no cell go {go} line {line} godebug {godebug:?} in\n{}", gcfuzz::report::table(rs)))
}

/// A symptom or info signal's point estimate for a variant.
pub fn estimate(r: &CellResult, variant: &str, signal: &str) -> f64 {
    let v = if variant == "buggy" { r.buggy.as_ref() } else { r.fixed.as_ref() };
    let v = v.unwrap_or_else(|| panic!("{variant} not run: {:?}", r.error));
    let s = v.signals.iter().find(|s| s.name == signal).unwrap_or_else(|| panic!("no signal {signal}"));
    s.estimate.unwrap_or_else(|| panic!("{signal} has no estimate: {:?}", s.note)).value
}

/// A finished `gcfuzz` command, shown whole when a test fails.
pub struct Output {
    pub cmd: String,
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl fmt::Display for Output {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "$ {}\nexit: {:?}\n--- stdout\n{}\n--- stderr\n{}", self.cmd, self.code, self.stdout, self.stderr)
    }
}

/// Runs the gcfuzz binary. Its default output folder (`./out`) is a
/// fresh temporary one per call (GCFUZZ_OUT), so tests never share one.
pub fn gcfuzz(args: &[&str], envs: &[(&str, &Path)]) -> Output {
    let _shared = shared();
    let out = tempfile::tempdir().unwrap();
    let mut c = Command::new(env!("CARGO_BIN_EXE_gcfuzz"));
    c.args(args).env("GCFUZZ_HOME", home()).env("GCFUZZ_OUT", out.path().join("out")).env_remove("GCFUZZ_TEMPLATES");
    for (k, v) in envs {
        c.env(k, v);
    }
    let o = c.output().expect("gcfuzz runs");
    Output {
        cmd: format!("gcfuzz {}", args.join(" ")),
        code: o.status.code(),
        stdout: String::from_utf8_lossy(&o.stdout).into(),
        stderr: String::from_utf8_lossy(&o.stderr).into(),
    }
}

/// Debian's Chromium (`make test` and `.ci/run` install it; set
/// GCFUZZ_CHROMIUM to use another build).
pub fn chromium() -> PathBuf {
    if let Some(p) = std::env::var_os("GCFUZZ_CHROMIUM") {
        return PathBuf::from(p);
    }
    for p in ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"] {
        if Path::new(p).is_file() {
            return PathBuf::from(p);
        }
    }
    panic!("no Chromium: run `make test` (it installs Debian's chromium) or set GCFUZZ_CHROMIUM");
}

/// Runs headless Chromium on a local file with no network of its own
/// (the flags keep it from calling Google's services), in a fresh profile.
pub fn headless(page: &Path, extra: &[&str]) -> std::process::Output {
    let profile = tempfile::tempdir().unwrap();
    let o = Command::new(chromium())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(extra)
        .arg(format!("file://{}", page.display()))
        .output()
        .expect("chromium starts");
    assert!(o.status.success(), "chromium failed: {}", String::from_utf8_lossy(&o.stderr));
    o
}

/// Validates a JUnit file against the schema CI tools read it with:
/// Jenkins xUnit's `junit-10.xsd` (MIT), as shipped in PyPI's pytest
/// source distribution (pytest validates its own output with it), by the
/// `xmlschema` package. Both come from PyPI into GCFUZZ_HOME/test-tools on
/// first use, under a lock, like the Go toolchains. `Err` holds the
/// validator's complaint.
pub fn validate_junit(xml: &Path) -> Result<(), String> {
    let tools = home().join("test-tools").join("junit");
    std::fs::create_dir_all(&tools).unwrap();
    let lock = gcfuzz::errors::lock_file(&tools.join(".lock")).unwrap();
    let xsd = tools.join("junit-10.xsd");
    let py = tools.join("py");
    if !xsd.is_file() || !py.join("xmlschema").is_dir() {
        let pip = |args: &[&str]| {
            let o = Command::new("python3")
                .args(["-m", "pip", "--disable-pip-version-check"])
                .args(args)
                .env("PIP_NO_INPUT", "1")
                .output()
                .unwrap();
            assert!(o.status.success(), "pip {args:?}: {}", String::from_utf8_lossy(&o.stderr));
        };
        let dl = tempfile::tempdir_in(&tools).unwrap();
        let d = dl.path().to_str().unwrap();
        pip(&["download", "--no-deps", "--no-binary", ":all:", "-d", d, "pytest==8.3.4"]);
        let extract = r#"import sys, tarfile
t = tarfile.open(sys.argv[1])
m = t.getmember("pytest-8.3.4/testing/example_scripts/junit-10.xsd")
open(sys.argv[2], "wb").write(t.extractfile(m).read())"#;
        let o = Command::new("python3")
            .args(["-c", extract])
            .arg(dl.path().join("pytest-8.3.4.tar.gz"))
            .arg(&xsd)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        pip(&["install", "--no-deps", "--target", py.to_str().unwrap(), "xmlschema==4.3.2", "elementpath==5.1.4"]);
    }
    drop(lock);
    let check = r#"import sys, xmlschema
schema = xmlschema.XMLSchema(sys.argv[1])
errors = [str(e) for e in schema.iter_errors(sys.argv[2])]
print("\n".join(errors[:5]) if errors else "valid")"#;
    let o = Command::new("python3").args(["-c", check]).arg(&xsd).arg(xml).env("PYTHONPATH", &py).output().unwrap();
    let out = String::from_utf8_lossy(&o.stdout).trim().to_string();
    if o.status.success() && out == "valid" {
        Ok(())
    } else {
        Err(format!("{out}\n{}", String::from_utf8_lossy(&o.stderr)))
    }
}

/// Pixels of a PNG within `tolerance` (per channel) of an `#rrggbb` colour.
pub fn count_colour(png_path: &Path, hex: &str, tolerance: i32) -> usize {
    let want: Vec<i32> = (0..3).map(|i| i32::from_str_radix(&hex[1 + 2 * i..3 + 2 * i], 16).unwrap()).collect();
    let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(png_path).unwrap()));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    let step = info.color_type.samples();
    assert!(step >= 3, "a colour screenshot");
    buf[..info.buffer_size()]
        .chunks(step)
        .filter(|px| (0..3).all(|i| (px[i] as i32 - want[i]).abs() <= tolerance))
        .count()
}

/// Cell ids in the journal's `cell` lines of cells run, with how often each appears.
pub fn cells(journal: &Path) -> HashMap<String, usize> {
    cell_lines(journal, false)
}

/// Like [`cells`], for the cells the plan left out (verdict `skipped`).
pub fn skipped_cells(journal: &Path) -> HashMap<String, usize> {
    cell_lines(journal, true)
}

fn cell_lines(journal: &Path, skipped: bool) -> HashMap<String, usize> {
    let mut m = HashMap::new();
    // Bytes, not text: a torn line may end inside a character.
    let bytes = std::fs::read(journal).unwrap_or_default();
    for line in String::from_utf8_lossy(&bytes).lines() {
        let Ok(v) = serde_json::from_str::<serde_json::Value>(line) else { continue };
        if v["type"] == "cell" && (v["result"]["verdict"] == "skipped") == skipped {
            *m.entry(v["cell"].as_str().unwrap().to_string()).or_insert(0) += 1;
        }
    }
    m
}

/// Processes whose command line holds `needle` (NUL-separated arguments).
pub fn processes_with(needle: &str) -> Vec<u32> {
    let mut pids = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<u32>() else { continue };
        if let Ok(cmd) = std::fs::read(e.path().join("cmdline"))
            && String::from_utf8_lossy(&cmd).contains(needle)
        {
            pids.push(pid);
        }
    }
    pids
}
