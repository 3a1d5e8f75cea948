//! A team's own module with a real dependency graph (issue 23): a
//! third-party module with a dependency of its own, served by a module
//! proxy the test lays out on disk (`GOPROXY=file://…`), no network; the
//! same module vendored; and the error when a module cannot be had.

use crate::support::{gcfuzz, home, toolchains};
use gcfuzz::verdict::Verdict;
use std::path::Path;
use std::process::Command;

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// Lays out module `path@version` in the proxy folder: list, info, mod and
/// zip (files under `path@version/`), as `GOPROXY=file://` reads them.
fn publish(proxy: &Path, path: &str, version: &str, files: &[(&str, &str)]) {
    let at = proxy.join(path).join("@v");
    write(&at.join("list"), &format!("{version}\n"));
    write(
        &at.join(format!("{version}.info")),
        &format!("{{\"Version\":\"{version}\",\"Time\":\"2026-01-01T00:00:00Z\"}}"),
    );
    let gomod = files.iter().find(|(n, _)| *n == "go.mod").unwrap().1;
    write(&at.join(format!("{version}.mod")), gomod);
    let src = tempfile::tempdir().unwrap();
    for (name, text) in files {
        write(&src.path().join(format!("{path}@{version}/{name}")), text);
    }
    let zip = at.join(format!("{version}.zip"));
    let py = "import os, sys, zipfile\nroot, out = sys.argv[1], sys.argv[2]\nwith zipfile.ZipFile(out, 'w') as z:\n    for d, _, fs in os.walk(root):\n        for f in fs:\n            p = os.path.join(d, f)\n            z.write(p, os.path.relpath(p, root))\n";
    let o = Command::new("python3").args(["-c", py]).arg(src.path()).arg(&zip).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

/// `go mod <what>` in `dir` with Go 1.27, the proxy and module cache given.
fn go_mod(dir: &Path, what: &str, goproxy: &str, modcache: &Path) {
    let t = toolchains().ensure("1.27.3".parse().unwrap(), &mut |_| {}).unwrap();
    let o = Command::new(t.go())
        .args(["mod", what])
        .current_dir(dir)
        .env("GOPROXY", goproxy)
        .env("GOSUMDB", "off")
        .env("GOMODCACHE", modcache)
        .env("GOTOOLCHAIN", "local")
        .env("GOCACHE", home().join("gocache"))
        .env("GOFLAGS", "-mod=mod")
        .output()
        .unwrap();
    assert!(o.status.success(), "go mod {what}: {}", String::from_utf8_lossy(&o.stderr));
}

/// The team's module `example.com/svc` (its go.sum made by `go mod tidy`
/// against the proxy) and a pattern over it.
fn team_module(root: &Path, proxy: &Path, modcache: &Path) -> std::path::PathBuf {
    let svc = root.join("svc");
    write(&svc.join("go.mod"), "module example.com/svc\n\ngo 1.21\n\nrequire example.com/dep v1.0.0\n");
    write(
        &svc.join("cache.go"),
        "// Package svc keeps request buffers.\npackage svc\n\nimport \"example.com/dep\"\n\n// Cache keeps what Handle is told to keep.\ntype Cache struct{ kept [][]byte }\n\n// Handle makes a request buffer and keeps it if keep.\nfunc (c *Cache) Handle(keep bool) int {\n\tb := dep.Buffer()\n\tif keep {\n\t\tc.kept = append(c.kept, b)\n\t}\n\treturn len(b)\n}\n",
    );
    go_mod(&svc, "tidy", &format!("file://{}", proxy.display()), modcache);
    let sum = std::fs::read_to_string(svc.join("go.sum")).unwrap();
    assert!(sum.contains("example.com/base v1.2.0 h1:") && sum.contains("example.com/dep v1.0.0 h1:"), "{sum}");
    let pattern = root.join("patterns/42-svc-keeps-buffers");
    write(
        &pattern.join("pattern.yaml"),
        "title: the service keeps every request buffer\nfamily: reachability\nsummary: a module with a dependency graph\ncommon: [common.go]\nmodules:\n  - {path: example.com/svc, dir: ../../svc}\nvariants:\n  buggy: {about: keeps, files: [buggy.go]}\n  fixed: {about: does not, files: [fixed.go]}\ncounters:\n  requests: requests handled\nrun: {rounds: 8, warmup: 2, timeout_s: 60}\nsignals:\n  - {name: kept, metric: heap_live, per: requests, stat: slope, present_above: 1024, unit: B/request}\nexpect:\n  - verdict: reproduced\n",
    );
    let scenario = |keep: bool| {
        format!(
            "package scenario\n\nimport \"gcfuzzprog/probe\"\n\n// New handles 100 requests a round.\nfunc New(e *probe.Env) probe.Scenario {{\n\trequests := e.Counter(\"requests\")\n\treturn probe.Scenario{{Round: func(int) {{\n\t\tfor i := 0; i < 100; i++ {{\n\t\t\tcache.Handle({keep})\n\t\t\trequests.Add(1)\n\t\t}}\n\t}}}}\n}}\n"
        )
    };
    write(&pattern.join("common.go"), "package scenario\n\nimport \"example.com/svc\"\n\nvar cache = &svc.Cache{}\n");
    write(&pattern.join("buggy.go"), &scenario(true));
    write(&pattern.join("fixed.go"), &scenario(false));
    root.join("patterns")
}

#[test]
fn a_module_with_third_party_and_vendored_dependencies_builds_offline() {
    let d = tempfile::tempdir().unwrap();
    let proxy = d.path().join("proxy");
    publish(
        &proxy,
        "example.com/base",
        "v1.2.0",
        &[
            ("go.mod", "module example.com/base\n\ngo 1.21\n"),
            (
                "base.go",
                "// Package base sizes buffers.\npackage base\n\n// Size is a buffer's size.\nfunc Size() int { return 4096 }\n",
            ),
        ],
    );
    publish(
        &proxy,
        "example.com/dep",
        "v1.0.0",
        &[
            ("go.mod", "module example.com/dep\n\ngo 1.21\n\nrequire example.com/base v1.2.0\n"),
            (
                "dep.go",
                "// Package dep makes buffers.\npackage dep\n\nimport \"example.com/base\"\n\n// Buffer is a fresh buffer.\nfunc Buffer() []byte { return make([]byte, base.Size()) }\n",
            ),
        ],
    );
    let tidy_cache = d.path().join("tidy-modcache");
    let patterns = team_module(d.path(), &proxy, &tidy_cache);
    let run = |modcache: &Path, goproxy: &str| {
        let out = d.path().join(format!("out-{}", modcache.file_name().unwrap().to_string_lossy()));
        let o = gcfuzz(
            &["run", "42", "--go", "latest", "--no-early-stop", "--out", out.to_str().unwrap()],
            &[
                ("GCFUZZ_TEMPLATES", &patterns),
                ("GOMODCACHE", modcache),
                ("GOPROXY", Path::new(goproxy)),
                ("GOSUMDB", Path::new("off")),
            ],
        );
        (o, out)
    };
    // Each run of this test builds anew (builds are cached by content): a
    // comment unique to it in the scenario.
    let common = patterns.join("42-svc-keeps-buffers/common.go");
    let touch = |note: &str| {
        std::fs::write(
            &common,
            std::fs::read_to_string(&common).unwrap() + &format!("\n// {note} {}\n", d.path().display()),
        )
        .unwrap()
    };
    touch("proxy");
    // Through the proxy, into a module cache of its own (the user's GOMODCACHE).
    let cache = d.path().join("modcache");
    let (o, out) = run(&cache, &format!("file://{}", proxy.display()));
    assert_eq!(o.code, Some(0), "{o}");
    let rs = gcfuzz::journal::read(&out.join("results.jsonl")).unwrap();
    assert_eq!(rs[0].verdict, Verdict::Reproduced, "{}", rs[0].explanation);
    let kept = crate::support::estimate(&rs[0], "buggy", "kept");
    assert!((4096.0..4600.0).contains(&kept), "dep.Buffer's 4 KiB kept per request: {kept}");
    assert!(cache.join("example.com/base@v1.2.0").is_dir(), "downloaded into the user's module cache");
    // Warm cache, no proxy: the module cache alone serves `go` (a changed
    // file makes a new build, not the cached program).
    touch("warm");
    let (o, _) = run(&cache, "off");
    assert_eq!(o.code, Some(0), "{o}");

    // The team's go.mod replaces a dependency with a folder of its own (a
    // patched fork): Go applies only the main module's replaces, so gcfuzz
    // lifts it, and the fork's 8 KiB buffers are what the buggy one keeps.
    let fork = d.path().join("base-fork");
    write(&fork.join("go.mod"), "module example.com/base\n\ngo 1.21\n");
    write(
        &fork.join("base.go"),
        "// Package base sizes buffers (patched).\npackage base\n\n// Size is a buffer's size.\nfunc Size() int { return 8192 }\n",
    );
    let svc_mod = d.path().join("svc/go.mod");
    std::fs::write(
        &svc_mod,
        std::fs::read_to_string(&svc_mod).unwrap() + "\nreplace example.com/base => ../base-fork\n",
    )
    .unwrap();
    touch("fork");
    let (o, out) = run(&cache, "off");
    assert_eq!(o.code, Some(0), "{o}");
    let rs = gcfuzz::journal::read(&out.join("results.jsonl")).unwrap();
    let kept = crate::support::estimate(&rs[0], "buggy", "kept");
    assert!((8192.0..8800.0).contains(&kept), "the fork's 8 KiB per request: {kept}");

    // Cold cache, no proxy: the error names the module and the settings.
    touch("cold");
    let cold = d.path().join("cold-modcache");
    let (o, out) = run(&cold, "off");
    let rs = gcfuzz::journal::read(&out.join("results.jsonl")).unwrap();
    let error = rs[0].error.clone().unwrap_or_default();
    assert!(error.contains("example.com/dep") && error.contains("GOPROXY=off"), "{error}\n{o}");
    assert!(error.contains("could not be had") && error.contains("GOMODCACHE"), "{error}");

    // Vendored: the module's vendor/ folder serves its dependencies with
    // no proxy and a cold cache.
    go_mod(&d.path().join("svc"), "vendor", "off", &tidy_cache);
    let colder = d.path().join("vendored-modcache");
    touch("vendored");
    let (o, out) = run(&colder, "off");
    assert_eq!(o.code, Some(0), "{o}");
    let rs = gcfuzz::journal::read(&out.join("results.jsonl")).unwrap();
    assert_eq!(rs[0].verdict, Verdict::Reproduced, "{}", rs[0].explanation);
    assert!(!colder.join("example.com").exists(), "nothing downloaded: vendor/ served it");
}

/// `../shop@HEAD~1`: the commit before the fix, exported from the git
/// repository that holds the module, gives the verdict the two-folder
/// example gives; an unknown revision and an ambiguous one are errors
/// that say so.
#[test]
fn a_module_at_a_git_revision_is_the_commit_before_the_fix() {
    let d = tempfile::tempdir().unwrap();
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples");
    let repo = d.path().join("repo");
    let shop = repo.join("shop");
    let git = |args: &[&str]| {
        let o = Command::new("git")
            .args(["-c", "user.name=t", "-c", "user.email=t@example.com", "-c", "commit.gpgsign=false"])
            .args(args)
            .current_dir(&repo)
            .output()
            .unwrap();
        assert!(o.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&o.stderr));
    };
    let copy = |from: &Path| {
        let _ = std::fs::remove_dir_all(&shop);
        crate::support::copy_dir(from, &shop);
    };
    std::fs::create_dir_all(&repo).unwrap();
    git(&["init", "-q"]);
    copy(&examples.join("shop-before"));
    git(&["add", "-A"]);
    git(&["commit", "-q", "-m", "the shop before the fix"]);
    copy(&examples.join("shop"));
    git(&["add", "-A"]);
    git(&["commit", "-q", "-m", "cancel the child context"]);
    let patterns = d.path().join("patterns");
    let pattern = patterns.join("40-context-not-cancelled");
    crate::support::copy_dir(&examples.join("40-context-not-cancelled"), &pattern);
    let yaml = std::fs::read_to_string(pattern.join("pattern.yaml")).unwrap();
    let with_rev = |rev: &str| {
        let y = yaml
            .replace("dir: ../shop}", "dir: ../../repo/shop}")
            .replace("../shop-before}", &format!("../../repo/shop@{rev}}}"));
        assert!(y.contains(&format!("@{rev}")), "{y}");
        std::fs::write(pattern.join("pattern.yaml"), y).unwrap();
    };
    let run = |templates: &Path| {
        let o = gcfuzz(&["run", "40", "--go", "latest", "--no-out", "--json", "-"], &[("GCFUZZ_TEMPLATES", templates)]);
        let verdicts: Vec<String> = serde_json::from_str::<serde_json::Value>(&o.stdout)
            .ok()
            .and_then(|v| {
                v.as_array().map(|a| a.iter().map(|c| c["verdict"].as_str().unwrap_or("").to_string()).collect())
            })
            .unwrap_or_default();
        (o, verdicts)
    };
    with_rev("HEAD~1");
    let (o, at_rev) = run(&patterns);
    assert_eq!(o.code, Some(0), "{o}");
    let (o, two_folders) = run(&examples);
    assert_eq!(o.code, Some(0), "{o}");
    let two_folders: Vec<String> = two_folders.into_iter().collect();
    assert_eq!(at_rev, ["reproduced"]);
    assert!(two_folders.contains(&"reproduced".to_string()), "{two_folders:?}");

    with_rev("no-such-rev");
    let (o, _) = run(&patterns);
    assert_eq!(o.code, Some(2), "{o}");
    assert!(o.stderr.contains("unknown revision `no-such-rev`"), "{o}");
    with_rev("HEAD");
    std::fs::write(shop.join("extra.go"), "package shop\n").unwrap();
    let (o, _) = run(&patterns);
    assert_eq!(o.code, Some(2), "{o}");
    assert!(o.stderr.contains("uncommitted changes"), "{o}");
}
