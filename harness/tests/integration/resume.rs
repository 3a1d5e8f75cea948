//! Results are never lost: a campaign killed with SIGKILL halfway and
//! resumed ends with every cell done exactly once, and Ctrl-C stops the
//! children and leaves no orphan.

use crate::support::{cells, home, processes_with, shared};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Starts gcfuzz with `out` as its default output folder (GCFUZZ_OUT).
fn gcfuzz(args: &[&str], out: &Path) -> Child {
    Command::new(env!("CARGO_BIN_EXE_gcfuzz"))
        .args(args)
        .env("GCFUZZ_HOME", home())
        .env("GCFUZZ_OUT", out)
        .env_remove("GCFUZZ_TEMPLATES")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn wait_for(what: &str, limit: Duration, mut f: impl FnMut() -> bool) {
    let t = Instant::now();
    while !f() {
        assert!(t.elapsed() < limit, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn a_run_killed_halfway_and_resumed_does_every_cell_exactly_once() {
    let _machine = shared();
    let d = tempfile::tempdir().unwrap();
    let journal = d.path().join("results.jsonl");
    let j = journal.to_str().unwrap();
    let args = ["run", "2", "16", "3", "--go", "oldest,latest", "--journal", j, "--quiet"];
    // Six cells; kill gcfuzz (only gcfuzz: a power loss) once two are done.
    // The output folder's lock dies with the killed process: the resume
    // takes the same folder.
    let out_dir = d.path().join("out");
    let mut first = gcfuzz(&args, &out_dir);
    wait_for("two finished cells", Duration::from_secs(300), || cells(&journal).len() >= 2);
    first.kill().unwrap();
    first.wait().unwrap();
    let before = cells(&journal);
    assert!(before.len() < 6, "killed before the end: {before:?}");

    let mut resume_args = args.to_vec();
    resume_args.push("--resume");
    let out = gcfuzz(&resume_args, &out_dir).wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let after = cells(&journal);
    assert_eq!(after.len(), 6, "{after:?}");
    // 03's noswissmap configuration (Go 1.24-1.25 only) is skipped on both
    // toolchains: reported once each, by the run that finished.
    let skipped = crate::support::skipped_cells(&journal);
    assert_eq!(skipped.len(), 2, "{skipped:?}");
    assert!(skipped.iter().all(|(k, &n)| k.contains("GOEXPERIMENT=noswissmap") && n == 1), "{skipped:?}");
    assert!(after.values().all(|&n| n == 1), "every cell exactly once: {after:?}");
    // The table covers every cell, resumed or run.
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(stdout.lines().filter(|l| l.contains(" reproduced ")).count(), 6, "{stdout}");
    assert!(stderr.contains("6 cells: 6 as expected"), "{stderr}");
    // Resuming a finished journal runs nothing and still reports it all.
    let out = gcfuzz(&resume_args, &out_dir).wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(cells(&journal), after);
}

#[test]
fn ctrl_c_stops_the_children_and_keeps_finished_cells() {
    let _machine = shared();
    let d = tempfile::tempdir().unwrap();
    let journal = d.path().join("results.jsonl");
    // An unusual round count marks this test's children (full rounds:
    // early stopping would let the probe run up to twice as many).
    let args = [
        "run",
        "15",
        "--go",
        "latest",
        "--rounds",
        "41",
        "--no-early-stop",
        "--journal",
        journal.to_str().unwrap(),
        "--quiet",
    ];
    let child = gcfuzz(&args, &d.path().join("out"));
    // The probe's `-rounds 41` (gcfuzz's own `--rounds 41` does not match).
    let marker = "\0-rounds\0".to_string() + "41\0";
    wait_for("a child to start", Duration::from_secs(300), || !processes_with(&marker).is_empty());
    // SAFETY: signalling our own child process.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    assert!(stderr.contains("interrupted:") && stderr.contains("--resume"), "{stderr}");
    assert!(processes_with(&marker).is_empty(), "no orphan left: {:?}", processes_with(&marker));
    // Whatever was in flight is not recorded as done.
    assert!(cells(&journal).values().all(|&n| n == 1));
}
