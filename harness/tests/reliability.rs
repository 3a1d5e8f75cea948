//! The fault-injection suite (`make reliability`): faults are injected into
//! gcfuzz and its children, and bad input is thrown at its loaders; the
//! suite prints one table and fails unless nothing was lost, duplicated,
//! orphaned or panicked, with at least 200 bad inputs tried.
//!
//! - **Bad input** (in process, each under `catch_unwind`): seeded mutations
//!   of every built-in pattern.yaml (bytes flipped, lines cut, dropped or
//!   doubled, numbers made huge, negative or not numbers, values swapped for
//!   lists, unknown fields, path traversal in file names), a symbolic link
//!   out of a pattern's folder, mutated matrix files, journals and verdict
//!   files. Each must load or fail with an error naming the file; none may
//!   panic.
//! - **Harness death**: a run killed with SIGKILL at random points, again
//!   and again, each time resumed: the journal always reads, and in the end
//!   every planned cell is there exactly once.
//! - **Signals**: SIGINT, SIGTERM and SIGHUP to gcfuzz mid-run: it stops its
//!   children, keeps what finished, exits 130.
//! - **Children**: a child that panics, hangs, eats memory or spins: each a
//!   recorded verdict, none left running.
//! - **Shared caches**: two gcfuzz processes building the same new program
//!   into one empty cache at once: both succeed with the same verdicts.
//! - **The fuzzer killed**: SIGKILL at random points of `gcfuzz fuzz`, five
//!   times, each followed by a restart on the same corpus: every queue file
//!   reads, and the last restart finishes.
//!
//! After every scenario the machine is searched for probe children
//! (`-scenario` in their arguments): any left is an orphan.

#[path = "integration/support.rs"]
#[allow(dead_code)]
mod support;

use std::collections::HashMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use support::{cells, fixture_templates, home, processes_with, templates};

/// What the suite counts.
#[derive(Default, Debug)]
struct Tally {
    faults: usize,
    survived: usize,
    lost: usize,
    duplicated: usize,
    orphans: usize,
    bad_inputs: usize,
    rejected: usize,
    panics: Vec<String>,
    notes: Vec<String>,
}

impl Tally {
    /// One injected fault and whether gcfuzz came through it.
    fn fault(&mut self, what: &str, ok: bool) {
        self.faults += 1;
        if ok {
            self.survived += 1;
        } else {
            self.notes.push(format!("did not survive: {what}"));
        }
    }

    /// Probe children still running (a moment after the scenario, for the
    /// kernel to deliver their parent's death): orphans.
    fn orphans_after(&mut self, scenario: &str) {
        let t0 = Instant::now();
        while !processes_with("\0-scenario\0").is_empty() && t0.elapsed() < Duration::from_secs(1) {
            std::thread::sleep(Duration::from_millis(20));
        }
        let left = processes_with("\0-scenario\0");
        if !left.is_empty() {
            self.notes.push(format!("{scenario}: {} orphan(s) {left:?}", left.len()));
            for pid in &left {
                // SAFETY: killing a leftover test child by pid.
                unsafe { libc::kill(*pid as i32, libc::SIGKILL) };
            }
        }
        self.orphans += left.len();
    }
}

/// SplitMix64: the suite's one source of chance, seeded, so a failure
/// replays.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// One seeded mutation of a YAML text.
fn mutate_yaml(text: &str, rng: &mut Rng) -> String {
    let mut lines: Vec<String> = text.lines().map(String::from).collect();
    let i = rng.below(lines.len());
    match rng.below(10) {
        0 => {
            let mut b = text.as_bytes().to_vec();
            let at = rng.below(b.len());
            b[at] ^= 1 << rng.below(8);
            return String::from_utf8_lossy(&b).into_owned();
        }
        1 => return text[..text.floor_char_boundary(rng.below(text.len()))].to_string(),
        2 => {
            lines.remove(i);
        }
        3 => {
            let l = lines[i].clone();
            lines.insert(i, l);
        }
        4 | 5 => {
            // A number made huge, negative, fractional or not a number.
            let replacement =
                ["1e308", "-1", "0", "99999999999999999999", ".nan", "-.inf", "0.5", "\"ten\"", "[]", "{}"]
                    [rng.below(10)];
            if let Some(pos) = lines[i].find(|c: char| c.is_ascii_digit()) {
                let end =
                    lines[i][pos..].find(|c: char| !c.is_ascii_digit() && c != '.').map_or(lines[i].len(), |e| pos + e);
                lines[i].replace_range(pos..end, replacement);
            } else if let Some((k, _)) = lines[i].split_once(": ") {
                lines[i] = format!("{k}: {replacement}");
            }
        }
        6 => lines.insert(i, format!("{}colour: red", " ".repeat(rng.below(3) * 2))),
        7 => {
            // Path traversal or an absolute path in a file list.
            let evil = ["../../../../etc/passwd", "/etc/hostname", "../probe/probe.go", "sub/x.go", ".hidden.go"]
                [rng.below(5)];
            lines = lines.into_iter().map(|l| l.replace("buggy.go", evil)).collect();
        }
        8 => {
            if let Some((k, v)) = lines[i].clone().split_once(": ") {
                lines[i] = format!("{k}: [{v}, {v}]");
            }
        }
        _ => lines[i] = format!("{}{}", "  ".repeat(rng.below(4)), lines[i].trim_start()),
    }
    lines.join("\n") + "\n"
}

/// Loads `input` with `load` under `catch_unwind`: a panic is a finding; an
/// error must name `file`.
fn try_input(t: &mut Tally, what: &str, file: &Path, load: impl FnOnce() -> Result<(), String>) {
    t.bad_inputs += 1;
    match catch_unwind(AssertUnwindSafe(load)) {
        Ok(Ok(())) => {}
        Ok(Err(e)) => {
            t.rejected += 1;
            let name = file.file_name().unwrap().to_string_lossy().to_string();
            if !e.contains(&name) && !e.contains(&file.display().to_string()) {
                t.notes.push(format!("{what}: the error does not name {name}: {e}"));
            }
        }
        Err(p) => {
            let msg = p.downcast_ref::<String>().cloned().or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()));
            t.panics.push(format!("{what}: {}", msg.unwrap_or_default()));
        }
    }
}

fn bad_inputs(t: &mut Tally, journal_sample: &Path) {
    let mut rng = Rng(0x6763_6675_7a7a);
    let d = tempfile::tempdir().unwrap();
    // Patterns: each built-in one, mutated eight times, loaded from a copy
    // of its folder (the mutated YAML beside its real Go files).
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(templates())
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.join("pattern.yaml").is_file())
        .collect();
    dirs.sort();
    for dir in &dirs {
        let id = dir.file_name().unwrap().to_string_lossy().to_string();
        let good = std::fs::read_to_string(dir.join("pattern.yaml")).unwrap();
        for k in 0..8 {
            let copy = d.path().join(format!("p{k}")).join(&id);
            support::copy_dir(dir, &copy);
            let yaml = copy.join("pattern.yaml");
            std::fs::write(&yaml, mutate_yaml(&good, &mut rng)).unwrap();
            try_input(t, &format!("{id} mutation {k}"), &yaml, || {
                gcfuzz::template::load_pattern(&copy).map(|_| ()).map_err(|e| e.to_string())
            });
        }
    }
    // A symbolic link out of the folder.
    let evil = d.path().join("link").join("02-subslice-pins-array");
    support::copy_dir(&templates().join("02-subslice-pins-array"), &evil);
    std::fs::remove_file(evil.join("buggy.go")).unwrap();
    std::os::unix::fs::symlink("/etc/hostname", evil.join("buggy.go")).unwrap();
    try_input(t, "symlink out of the folder", &evil.join("pattern.yaml"), || {
        match gcfuzz::template::load_pattern(&evil) {
            Ok(_) => Ok(()),
            Err(e) => Err(e.to_string()),
        }
    });
    if gcfuzz::template::load_pattern(&evil).is_ok() {
        t.notes.push("a symbolic link out of the folder was accepted".into());
    }
    // Matrix files.
    let matrix = "patterns: [15, 12-loop]\ngo: [1.22, 1.27]\ngo_line: [\"1.21\"]\ngogc: [50, \"off\"]\ngomemlimit: [\"0.5x\"]\nparams: {workers: 500}\nrounds: 12\nstress: [\"-\", gc-ms=5]\nbackend: [native]\n";
    let patterns = gcfuzz::template::load_all(&templates()).unwrap();
    let toolchains = gcfuzz::toolchain::Toolchains::discover(&home(), &[], false).unwrap();
    for k in 0..40 {
        let f = d.path().join(format!("m{k}.yaml"));
        std::fs::write(&f, mutate_yaml(matrix, &mut rng)).unwrap();
        try_input(t, &format!("matrix mutation {k}"), &f, || {
            let m = gcfuzz::matrix::load_file(&f).map_err(|e| e.to_string())?;
            gcfuzz::matrix::resolve(&m, &patterns, &toolchains).map(|_| ()).map_err(|e| format!("{}: {e}", f.display()))
        });
    }
    // Journals: a real one, cut, flipped, doubled.
    let real = std::fs::read(journal_sample).unwrap_or_default();
    for k in 0..40 {
        let f = d.path().join(format!("j{k}.jsonl"));
        let mut b = real.clone();
        if !b.is_empty() {
            match rng.below(4) {
                0 => b.truncate(rng.below(b.len())),
                1 => {
                    let at = rng.below(b.len());
                    b[at] = b"{}[]\"\n\0x"[rng.below(8)];
                }
                2 => {
                    let at = rng.below(b.len());
                    b.splice(at..at, b"\n{\"type\":\"cell\",\"cell\":7}\n".iter().copied());
                }
                _ => {
                    let more = b.clone();
                    b.extend(more);
                }
            }
        }
        std::fs::write(&f, &b).unwrap();
        try_input(t, &format!("journal mutation {k}"), &f, || {
            gcfuzz::journal::read(&f).map(|_| ()).map_err(|e| format!("{}: {e}", f.display()))
        });
    }
    // Verdict files.
    let verdicts = gcfuzz::report::json(&gcfuzz::journal::read(journal_sample).unwrap_or_default());
    for k in 0..20 {
        let f = d.path().join(format!("v{k}.json"));
        std::fs::write(&f, mutate_yaml(&verdicts, &mut rng)).unwrap();
        try_input(t, &format!("verdicts mutation {k}"), &f, || {
            gcfuzz::outputs::read_set(&f).map(|_| ()).map_err(|e| e.to_string())
        });
    }
}

fn gcfuzz_child(args: &[&str], env: &[(&str, &Path)]) -> Child {
    let mut c = Command::new(env!("CARGO_BIN_EXE_gcfuzz"));
    c.args(args)
        .env("GCFUZZ_HOME", home())
        .env_remove("GCFUZZ_TEMPLATES")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        c.env(k, v);
    }
    c.spawn().unwrap()
}

/// Runs a plan, killing gcfuzz with SIGKILL at random points and resuming
/// each time, until a resume finishes. Returns the journal.
fn kill_and_resume(t: &mut Tally, d: &Path) -> PathBuf {
    let mut rng = Rng(0x6b69_6c6c);
    let out = d.join("out");
    let journal = out.join("results.jsonl");
    let args = [
        "run",
        "2",
        "4",
        "6",
        "7",
        "12",
        "15",
        "16",
        "--go",
        "oldest,latest",
        "--quiet",
        "--out",
        out.to_str().unwrap(),
    ];
    let planned = 17;
    let mut kills = 0;
    let mut unreadable = 0;
    for attempt in 0..30 {
        let mut a = args.to_vec();
        if attempt > 0 {
            a.push("--resume");
        }
        let mut child = gcfuzz_child(&a, &[]);
        if kills < 10 {
            // Anywhere in the run: during start-up, a build, a run, a
            // journal write.
            std::thread::sleep(Duration::from_millis(100 + rng.below(1400) as u64));
            if child.try_wait().unwrap().is_none() {
                child.kill().unwrap();
                child.wait().unwrap();
                kills += 1;
                if journal.exists() && gcfuzz::journal::read(&journal).is_err() {
                    unreadable += 1;
                }
                t.fault(&format!("SIGKILL {kills}"), true);
                // Its children die with it (the one in flight included).
                t.orphans_after("SIGKILL of gcfuzz run");
                continue;
            }
        }
        let o = child.wait_with_output().unwrap();
        if o.status.code() == Some(0) {
            break;
        }
        t.notes.push(format!("resume exited {:?}: {}", o.status.code(), String::from_utf8_lossy(&o.stderr)));
    }
    let seen = cells(&journal);
    let read = gcfuzz::journal::read(&journal).map(|r| r.len()).unwrap_or(0);
    t.lost += planned - seen.len().min(planned);
    t.duplicated += seen.values().map(|&n| n.saturating_sub(1)).sum::<usize>();
    if unreadable > 0 || read != planned {
        t.notes.push(format!("journal: {unreadable} unreadable after a kill, {read} cells read of {planned}"));
        t.lost += planned.saturating_sub(read);
    }
    t.notes.push(format!("SIGKILL: {kills} kills, then a resume finished: {} of {planned} cells", seen.len()));
    if kills < 5 {
        t.notes.push(format!("only {kills} kills landed: the plan ran too fast to test resuming"));
        t.lost += 1;
    }
    t.orphans_after("SIGKILL and resume");
    journal
}

fn signals(t: &mut Tally, d: &Path) {
    for (name, sig) in [("SIGINT", libc::SIGINT), ("SIGTERM", libc::SIGTERM), ("SIGHUP", libc::SIGHUP)] {
        let out = d.join(format!("sig-{name}"));
        let child = gcfuzz_child(
            &["run", "15", "--go", "latest", "--rounds", "43", "--quiet", "--out", out.to_str().unwrap()],
            &[],
        );
        let marker = "\0-rounds\0".to_string() + "43\0";
        let t0 = Instant::now();
        while processes_with(&marker).is_empty() && t0.elapsed() < Duration::from_secs(120) {
            std::thread::sleep(Duration::from_millis(20));
        }
        // SAFETY: signalling our own child process.
        unsafe { libc::kill(child.id() as i32, sig) };
        let o = child.wait_with_output().unwrap();
        let readable = gcfuzz::journal::read(&out.join("results.jsonl")).is_ok();
        let ok = o.status.code() == Some(130) && readable && processes_with(&marker).is_empty();
        if !ok {
            t.notes.push(format!("{name}: exit {:?}, journal readable {readable}", o.status.code()));
        }
        t.fault(name, ok);
        t.orphans_after(name);
    }
}

fn children(t: &mut Tally, d: &Path) {
    let fixtures = fixture_templates(&["90-panics", "91-hangs", "92-eats-memory", "96-spins"]);
    let out = d.join("children");
    let o = gcfuzz_child(
        &[
            "run",
            "90",
            "91",
            "92",
            "96",
            "--go",
            "latest",
            "--mem-cap-mib",
            "256",
            "--quiet",
            "--out",
            out.to_str().unwrap(),
        ],
        &[("GCFUZZ_TEMPLATES", fixtures.path())],
    )
    .wait_with_output()
    .unwrap();
    let results = gcfuzz::outputs::read_set(&out).unwrap_or_default();
    for id in ["90-panics", "91-hangs", "92-eats-memory", "96-spins"] {
        let r = results.iter().find(|r| r.pattern == id);
        let ok = r.is_some_and(|r| r.error.is_none() && r.met);
        if !ok {
            t.notes.push(format!("{id}: {:?} (exit {:?})", r.map(|r| (&r.verdict, &r.explanation)), o.status.code()));
        }
        t.fault(&format!("child {id}"), ok);
    }
    t.orphans_after("children");
}

/// The fuzzer killed with SIGKILL at random points, five times, each time
/// started again on the same corpus: every queue file reads, and the last
/// start finishes.
fn fuzzer_kills(t: &mut Tally, d: &Path) {
    let mut rng = Rng(0x6675_7a7a);
    let corpus = d.join("corpus");
    let args =
        ["fuzz", "02", "--go", "latest", "--iters", "24", "--jobs", "2", "-q", "--corpus", corpus.to_str().unwrap()];
    let patterns = gcfuzz::template::load_all(&templates()).unwrap();
    let queue = corpus.join("02-subslice-pins-array/queue");
    for k in 0..6 {
        let mut child = gcfuzz_child(&args, &[]);
        if k < 5 {
            std::thread::sleep(Duration::from_millis(300 + rng.below(2500) as u64));
            let killed = child.try_wait().unwrap().is_none();
            let _ = child.kill();
            let _ = child.wait();
            let unreadable: Vec<String> = std::fs::read_dir(&queue)
                .map(|rd| rd.flatten().map(|e| e.path()).collect::<Vec<_>>())
                .unwrap_or_default()
                .into_iter()
                .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
                .filter_map(|p| gcfuzz::fuzz::RunConfig::load(&p, &patterns).err().map(|e| e.to_string()))
                .collect();
            if !unreadable.is_empty() {
                t.notes.push(format!("fuzzer kill {k}: unreadable queue files {unreadable:?}"));
            }
            if killed {
                t.fault(&format!("fuzzer SIGKILL {k}"), unreadable.is_empty());
            }
        } else {
            let o = child.wait_with_output().unwrap();
            let ok = o.status.success();
            if !ok {
                t.notes.push(format!("fuzzer restart: {}", String::from_utf8_lossy(&o.stderr)));
            }
            t.fault("fuzzer restarted after kills", ok);
        }
        t.orphans_after("fuzzer kill");
    }
}

fn shared_cache(t: &mut Tally, d: &Path) {
    // A cache of builds of its own, empty: both processes want the same key.
    let cache_home = d.join("home");
    std::fs::create_dir_all(&cache_home).unwrap();
    std::os::unix::fs::symlink(home().join("toolchains"), cache_home.join("toolchains")).unwrap();
    std::os::unix::fs::symlink(home().join("gocache"), cache_home.join("gocache")).unwrap();
    let run = |n: &str| {
        let out = d.join(format!("cache-{n}"));
        let mut c = Command::new(env!("CARGO_BIN_EXE_gcfuzz"));
        c.args(["run", "2", "7", "--go", "latest", "--quiet", "--out", out.to_str().unwrap()])
            .env("GCFUZZ_HOME", &cache_home)
            .env_remove("GCFUZZ_TEMPLATES")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        (c.spawn().unwrap(), out)
    };
    let (a, b) = (run("a"), run("b"));
    let (oa, ob) = (a.0.wait_with_output().unwrap(), b.0.wait_with_output().unwrap());
    let verdicts = |out: &Path| {
        let mut v: Vec<(String, String)> = gcfuzz::outputs::read_set(out)
            .unwrap_or_default()
            .iter()
            .map(|r| (r.pattern.clone(), r.verdict.to_string()))
            .collect();
        v.sort();
        v
    };
    let ok =
        oa.status.success() && ob.status.success() && verdicts(&a.1) == verdicts(&b.1) && verdicts(&a.1).len() == 2;
    if !ok {
        t.notes.push(format!(
            "shared cache: exits {:?} {:?}\n{}\n{}",
            oa.status.code(),
            ob.status.code(),
            String::from_utf8_lossy(&oa.stderr),
            String::from_utf8_lossy(&ob.stderr)
        ));
    }
    t.fault("two processes, one empty build cache", ok);
    t.orphans_after("shared cache");
}

#[test]
#[ignore = "the fault-injection suite: make reliability"]
fn fault_injection_suite() {
    let started = Instant::now();
    let d = tempfile::tempdir().unwrap();
    let mut t = Tally::default();
    let mut times: HashMap<&str, Duration> = HashMap::new();
    let mut timed = |name: &'static str, t0: Instant| {
        times.insert(name, t0.elapsed());
    };
    let t0 = Instant::now();
    let journal = kill_and_resume(&mut t, d.path());
    timed("kill", t0);
    let t0 = Instant::now();
    bad_inputs(&mut t, &journal);
    timed("bad", t0);
    let t0 = Instant::now();
    signals(&mut t, d.path());
    children(&mut t, d.path());
    shared_cache(&mut t, d.path());
    fuzzer_kills(&mut t, d.path());
    timed("faults", t0);

    println!("\nfault-injection suite ({} s)", started.elapsed().as_secs());
    println!(
        "| faults injected | survived | results lost | results duplicated | orphans left | bad inputs tried | panics |"
    );
    println!("|---|---|---|---|---|---|---|");
    println!(
        "| {} | {} | {} | {} | {} | {} ({} rejected with an error naming the file) | {} |",
        t.faults,
        t.survived,
        t.lost,
        t.duplicated,
        t.orphans,
        t.bad_inputs,
        t.rejected,
        t.panics.len()
    );
    for n in &t.notes {
        println!("note: {n}");
    }
    for p in &t.panics {
        println!("PANIC: {p}");
    }
    assert!(t.panics.is_empty(), "panics: {:?}", t.panics);
    assert_eq!((t.lost, t.duplicated, t.orphans), (0, 0, 0), "{:?}", t.notes);
    assert_eq!(t.survived, t.faults, "{:?}", t.notes);
    assert!(t.bad_inputs >= 200, "{}", t.bad_inputs);
    assert!(!t.notes.iter().any(|n| n.contains("does not name") || n.contains("accepted")), "{:?}", t.notes);
}
