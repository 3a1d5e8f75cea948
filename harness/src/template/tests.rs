use super::*;
use crate::knobs::Knobs;
use crate::verdict::Verdict;
use crate::version::GoVersion;
use std::path::Path;

const GOOD: &str = r#"
title: a test pattern
seed_bug: 15
family: reachability
summary: something leaks
common: [common.go]
variants:
  buggy: {about: leaks, files: [buggy.go]}
  fixed: {about: does not, files: [fixed.go]}
  tuned: {about: a configuration, env: {gogc: 50, godebug: "x=1"}}
params:
  workers: {type: int, default: 10, range: [1, 100]}
counters:
  workers: workers so far
signals:
  - name: leak
    metric: heap_live
    per: workers
    stat: slope
    present_above: workers * 2.5
  - name: gor
    metric: goroutines
    stat: slope
    present_above: 0.5
    role: info
configs:
  - {}
  - {go_line: "1.22", go: ">=1.22"}
expect:
  - when: {go: "<1.23", godebug: "x=1"}
    verdict: fix-fails
  - when: {go_line: "<1.23"}
    verdict: reproduced
  - verdict: not-reproduced
"#;

fn dir() -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    for f in ["common.go", "buggy.go", "fixed.go"] {
        std::fs::write(d.path().join(f), "package scenario\n").unwrap();
    }
    d
}

fn parse(text: &str, d: &Path) -> Result<Pattern, TemplateError> {
    parse_pattern(text, Path::new("templates/15-x/pattern.yaml"), "15-x", d)
}

fn v(s: &str) -> GoVersion {
    s.parse().unwrap()
}

#[test]
fn loads_a_good_pattern() {
    let d = dir();
    let p = parse(GOOD, d.path()).unwrap();
    assert_eq!(p.id, "15-x");
    assert_eq!(p.variants.iter().map(|v| v.name.as_str()).collect::<Vec<_>>(), ["buggy", "fixed", "tuned"]);
    assert_eq!(p.files_of(p.variant("buggy").unwrap()), ["common.go", "buggy.go"]);
    let tuned = p.variant("tuned").unwrap();
    assert_eq!((tuned.env.gogc.as_deref(), tuned.env.godebug.as_deref()), (Some("50"), Some("x=1")));
    assert_eq!(p.default_params()["workers"], "10");
    assert_eq!(p.signals[0].threshold, Threshold::Scaled { param: "workers".into(), factor: 2.5 });
    assert_eq!(p.signals[0].threshold.resolve(&p.default_params()), 25.0);
    assert_eq!(p.signals[1].per, "round");
    assert_eq!(p.run.rounds, 10, "run settings default");
    assert!(!p.configs[1].applies_to(v("1.21.13")) && p.configs[1].applies_to(v("1.22.10")));

    // Expectations: first match wins; GODEBUG is matched per setting.
    let dbg = Knobs { godebug: Some("y=2,x=1".into()), ..Default::default() };
    assert_eq!(p.expectation(v("1.22.10"), v("1.22"), &dbg, None, "native").unwrap().verdict, Verdict::FixFails);
    assert_eq!(p.expectation(v("1.23.9"), v("1.22"), &dbg, None, "native").unwrap().verdict, Verdict::Reproduced);
    assert_eq!(
        p.expectation(v("1.23.9"), v("1.23"), &Knobs::default(), None, "native").unwrap().verdict,
        Verdict::NotReproduced
    );
}

#[test]
fn parameter_values_are_checked() {
    let d = dir();
    let p = parse(GOOD, d.path()).unwrap();
    let w = &p.params[0];
    assert_eq!(w.check("50"), Ok("50".into()));
    assert!(w.check("1000").unwrap_err().contains("outside the range"));
    assert!(w.check("2.5").unwrap_err().contains("not an integer"));
    assert!(w.check("many").unwrap_err().contains("not a number"));
    assert_eq!(w.check("5e1"), Ok("50".into()), "an integral number in another spelling");
    // Integers are read as integers: beyond 2^53 refused, never rounded.
    let big = Param {
        name: "n".into(),
        kind: ParamType::Int,
        default: 0.0,
        range: (0.0, MAX_EXACT_INT as f64),
        about: String::new(),
    };
    assert_eq!(big.check("9007199254740991"), Ok("9007199254740991".into()), "2^53 - 1 exactly");
    assert!(big.check("9007199254740993").unwrap_err().contains("2^53"), "2^53 + 1 would round to 2^53");
    assert!(big.check("9223372036854775807").unwrap_err().contains("2^53"));
    assert!(big.check("1e300").unwrap_err().contains("2^53"));
    // NaN and inf pass no range check.
    let ratio = Param { kind: ParamType::Float, range: (0.0, 2.0), ..big };
    for bad in ["NaN", "nan", "inf", "-inf", "infinity"] {
        assert!(ratio.check(bad).unwrap_err().contains("not a finite number"), "{bad}");
    }
    assert_eq!(ratio.check("0.5"), Ok("0.5".into()));
}

#[test]
fn parameters_and_thresholds_that_are_not_finite_or_exact_do_not_load() {
    let d = dir();
    let cases = [
        (
            "workers: {type: int, default: 10, range: [1, 100]}",
            "workers: {type: int, default: 9223372036854775807, range: [1, 9223372036854775807]}",
            "2^53",
        ),
        (
            "workers: {type: int, default: 10, range: [1, 100]}",
            "workers: {type: float, default: .nan, range: [.nan, .nan]}",
            "finite",
        ),
        (
            "workers: {type: int, default: 10, range: [1, 100]}",
            "workers: {type: float, default: 1, range: [0, .inf]}",
            "finite",
        ),
        (
            "workers: {type: int, default: 10, range: [1, 100]}",
            "workers: {type: float, default: 1, range: [0, 1e308]}",
            "not a finite number over",
        ),
        ("present_above: 0.5", "present_above: .inf", "finite"),
    ];
    for (from, to, says) in cases {
        assert!(GOOD.contains(from), "{from}");
        let e = parse(&GOOD.replacen(from, to, 1), d.path()).unwrap_err().to_string();
        assert!(e.contains(says), "{to}: {e}");
    }
}

/// Each bad file must fail with a message naming the problem, and where the
/// YAML says where, the line and column.
#[test]
fn bad_patterns_are_errors_with_locations() {
    let d = dir();
    // (what, text to replace, replacement, expected line and column)
    type Case<'a> = (&'a str, &'a str, &'a str, Option<(u64, u64)>);
    let cases: &[Case] = &[
        ("unknown top-level field", "title: a test pattern", "title: a test pattern\ncolour: red", Some((3, 1))),
        (
            "unknown signal field",
            "    stat: slope\n    present_above: workers",
            "    stat: slope\n    treshold: 3\n    present_above: workers",
            Some((20, 5)),
        ),
        ("bad verdict", "verdict: not-reproduced", "verdict: maybe", Some((34, 14))),
        ("bad family", "family: reachability", "family: leaks", Some((4, 9))),
        ("bad version requirement", "go: \"<1.23\"", "go: \"<1.x\"", Some((30, 16))),
        ("bad go line", "go_line: \"1.22\", go", "go_line: \"1.20\", go", Some((28, 15))),
        ("unknown metric", "metric: heap_live", "metric: heap_alive", Some((17, 13))),
        (
            "threshold names an unknown param",
            "present_above: workers * 2.5",
            "present_above: jobs * 2.5",
            Some((20, 20)),
        ),
        ("threshold not an expression", "present_above: workers * 2.5", "present_above: workers + 2", Some((20, 20))),
        ("default outside range", "default: 10, range", "default: 1000, range", Some((12, 33))),
        ("missing Go file", "files: [fixed.go]", "files: [nothere.go]", Some((9, 36))),
        ("bad stress", "  - {}\n", "  - {stress: \"heat=1\"}\n", Some((27, 14))),
        ("no fixed variant", "  fixed: {about: does not, files: [fixed.go]}\n", "", None),
        ("no default expectation", "  - verdict: not-reproduced\n", "", None),
        ("not YAML", "title: a test pattern", "title: [unclosed", Some((2, 8))),
    ];
    for (what, from, to, at) in cases {
        assert!(GOOD.contains(from), "{what}: the case's `from` text is not in GOOD");
        let text = GOOD.replacen(from, to, 1);
        let err = parse(&text, d.path()).expect_err(what);
        let msg = err.to_string();
        assert!(msg.starts_with("templates/15-x/pattern.yaml:"), "{what}: {msg}");
        if let (Some((line, col)), TemplateError::Invalid { line: l, column: c, .. }) = (at, &err) {
            assert_eq!((*l, *c), (*line, *col), "{what}: {msg}");
        }
        eprintln!("{what}: {msg}");
    }
}

#[test]
fn messages_name_the_problem() {
    let d = dir();
    let msg = |from: &str, to: &str| parse(&GOOD.replacen(from, to, 1), d.path()).unwrap_err().to_string();
    assert!(msg("title: a test pattern", "title: a test pattern\ncolour: red").contains("colour"));
    assert!(msg("verdict: not-reproduced", "verdict: maybe").contains("maybe"));
    assert!(msg("verdict: not-reproduced", "verdict: skipped").contains("not an expectation"));
    assert!(msg("metric: heap_live", "metric: heap_alive").contains("unknown metric `heap_alive`"));
    assert!(
        msg("present_above: workers * 2.5", "present_above: jobs * 2.5").contains("unknown name `jobs` in threshold")
    );
    assert!(msg("seed_bug: 15", "seed_bug: 14").contains("numbered 15"));
    assert!(msg("title: a test pattern", "title: a test pattern\nneeds: [sokets]").contains("sokets"));
    assert!(msg("when: {go_line: \"<1.23\"}", "when: {backend: wsam}").contains("unknown backend `wsam`"));
}

#[test]
fn levels_and_thresholds_over_the_run_load_and_misuses_are_named() {
    let d = dir();
    let with = |from: &str, to: &str| parse(&GOOD.replacen(from, to, 1), d.path());
    // A level over the run's rounds, and one over a counter's total.
    let p = with(
        "    per: workers\n    stat: slope\n    present_above: workers * 2.5",
        "    stat: level\n    present_above: rounds * 1024",
    )
    .unwrap();
    assert_eq!(p.signals[0].stat, Stat::Level);
    assert_eq!(p.signals[0].threshold, Threshold::Scaled { param: "rounds".into(), factor: 1024.0 });
    let totals: std::collections::BTreeMap<String, f64> = [("rounds".to_string(), 8.0)].into();
    assert_eq!(p.signals[0].threshold.resolve_with(&p.default_params(), &totals), 8192.0);
    assert!(p.signals[0].threshold.resolve(&p.default_params()).is_nan(), "no run, no value: decides nothing");
    let p = with("present_above: workers * 2.5", "present_above: 3 * workers").unwrap();
    let totals: std::collections::BTreeMap<String, f64> = [("workers".to_string(), 99.0)].into();
    assert_eq!(p.signals[0].threshold.resolve_with(&p.default_params(), &totals), 30.0, "the parameter wins");
    // Misuses.
    let msg = |from: &str, to: &str| with(from, to).unwrap_err().to_string();
    assert!(
        msg("stat: slope\n    present_above: workers * 2.5", "stat: level\n    present_above: 1")
            .contains("`per` does not apply to `stat: level`")
    );
    // A parameter wins over a counter of the same name (GOOD has both
    // `workers`), as it did before counters could be named.
    let p = with("present_above: workers * 2.5", "present_above: 2 * workers").unwrap();
    let run: std::collections::BTreeMap<String, f64> = [("workers".to_string(), 7.0)].into();
    assert_eq!(p.signals[0].threshold.resolve_with(&p.default_params(), &run), 20.0);
    assert!(msg("present_above: workers * 2.5", "present_above: workers * x").contains("`NAME * NUMBER`"));
}

#[test]
fn work_parameters_need_a_warm_up_and_a_range_in_milliseconds() {
    let d = dir();
    let with = |from: &str, to: &str| parse(&GOOD.replacen(from, to, 1), d.path());
    let work = "workers: {type: work, default: 20, range: [1, 1000]}";
    let p = with("workers: {type: int, default: 10, range: [1, 100]}", work).unwrap();
    assert_eq!(p.params[0].kind, ParamType::Work);
    let no_warmup = GOOD.replacen("workers: {type: int, default: 10, range: [1, 100]}", work, 1) + "run: {warmup: 0}\n";
    let e = parse(&no_warmup, d.path()).unwrap_err().to_string();
    assert!(e.contains("`run: warmup` must be at least 1"), "{e}");
    let e =
        with("workers: {type: int, default: 10, range: [1, 100]}", "workers: {type: work, default: 0, range: [0, 10]}")
            .unwrap_err()
            .to_string();
    assert!(e.contains("more than 0 and at most an hour"), "{e}");
    // A signal may read the calibrated count.
    let p = with("metric: heap_live", "metric: work_workers");
    assert!(p.is_err(), "an int parameter has no count to read");
    let both = GOOD.replacen("workers: {type: int, default: 10, range: [1, 100]}", work, 1);
    let p = parse(&both.replacen("metric: heap_live", "metric: work_workers", 1), d.path()).unwrap();
    assert_eq!(p.signals[0].metric, "work_workers");
}

#[test]
fn needs_and_backend_conditions_load() {
    let d = dir();
    let text = GOOD
        .replacen("title: a test pattern", "title: a test pattern\nneeds: [threads, sockets, threads]", 1)
        .replacen("when: {go_line: \"<1.23\"}", "when: {backend: wasm}", 1);
    let p = parse(&text, d.path()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(p.needs, [Need::Sockets, Need::Threads], "sorted, once each");
    let dbg = Knobs::default();
    let on = |b: &str| p.expectation(v("1.23.9"), v("1.23"), &dbg, None, b).unwrap().verdict;
    assert_ne!(on("wasm"), on("native"), "the backend condition decides");
}

#[test]
fn folder_names_are_checked() {
    let d = dir();
    let e = parse_pattern(GOOD, Path::new("p.yaml"), "ticker", d.path()).unwrap_err();
    assert!(e.to_string().contains("NN-slug"), "{e}");
}

#[test]
fn selects_by_id_number_and_prefix() {
    let d = dir();
    let mk = |id: &str| {
        let mut p = parse(GOOD, d.path()).unwrap();
        p.id = id.to_string();
        p
    };
    let all = vec![mk("01-goroutine-parked-send"), mk("02-subslice-pins-array"), mk("15-ticker-not-stopped")];
    let ids = |names: &[&str]| -> Vec<String> {
        let names: Vec<String> = names.iter().map(|s| s.to_string()).collect();
        select(&all, &names).unwrap().iter().map(|p| p.id.clone()).collect()
    };
    assert_eq!(ids(&[]).len(), 3);
    assert_eq!(ids(&["15"]), ["15-ticker-not-stopped"]);
    assert_eq!(ids(&["1"]), ["01-goroutine-parked-send"], "a number is the seed number, not a prefix");
    assert_eq!(ids(&["02-sub", "15-ticker-not-stopped", "2"]), ["02-subslice-pins-array", "15-ticker-not-stopped"]);
    assert!(matches!(select(&all, &["0".into()]), Err(TemplateError::NoMatch(_))));
    assert!(matches!(select(&all, &["0-".into()]), Err(TemplateError::NoMatch(_))));
    let names = vec!["99".to_string()];
    assert!(select(&all, &names).unwrap_err().to_string().contains("gcfuzz list"));
    let all2 = vec![mk("03-map-a"), mk("03-map-b")];
    assert!(matches!(select(&all2, &["03-map".into()]), Err(TemplateError::Ambiguous { .. })));
}

#[test]
fn the_shipped_templates_load() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../templates");
    let all = load_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    let ids: Vec<&str> = all.iter().map(|p| p.id.as_str()).collect();
    for want in ["01-goroutine-parked-send", "02-subslice-pins-array", "12-loopvar-escape", "15-ticker-not-stopped"] {
        assert!(ids.contains(&want), "{want} missing from {ids:?}");
    }
}

#[test]
fn a_local_module_is_checked_and_rendered_into_the_program() {
    let d = dir();
    let shop = d.path().join("shop");
    std::fs::create_dir_all(shop.join("cache/.git")).unwrap();
    std::fs::write(shop.join("go.mod"), "module example.com/shop\n\ngo 1.21\n").unwrap();
    std::fs::write(shop.join("cache/cache.go"), "package cache\n").unwrap();
    std::fs::write(shop.join("cache/.git/HEAD"), "hidden\n").unwrap();
    let with = |m: &str| GOOD.replace("common: [common.go]", &format!("common: [common.go]\nmodules:\n  - {m}"));
    let p = parse(&with("{path: example.com/shop, dir: shop}"), d.path()).unwrap();
    assert_eq!(p.modules, [LocalModule { path: "example.com/shop".into(), dir: shop.canonicalize().unwrap() }]);
    // Rendered: copied in (hidden entries left out) and replaced in go.mod.
    let probe = tempfile::tempdir().unwrap();
    std::fs::write(probe.path().join("probe.go"), "package probe\n").unwrap();
    let files = crate::build::render(probe.path(), v("1.22"), &[(&p, p.variant("buggy").unwrap())]).unwrap();
    let gomod = String::from_utf8(files["go.mod"].clone()).unwrap();
    assert!(gomod.contains("require example.com/shop v0.0.0\n\nreplace example.com/shop => ./_modules/0\n"), "{gomod}");
    assert!(files.contains_key("_modules/0/go.mod") && files.contains_key("_modules/0/cache/cache.go"));
    assert!(!files.keys().any(|k| k.contains(".git")), "{:?}", files.keys());
    // A variant on another checkout of the same module: both in one
    // program, the variant's under an alias path its imports are moved to.
    let old = d.path().join("shop-old");
    std::fs::create_dir_all(old.join("cache")).unwrap();
    std::fs::write(old.join("go.mod"), "module example.com/shop\n\ngo 1.21\n").unwrap();
    std::fs::write(old.join("cache/cache.go"), "package cache\n\nimport _ \"example.com/shop/cache/inner\"\n").unwrap();
    std::fs::write(d.path().join("buggy.go"), "package scenario\n\nimport _ \"example.com/shop/cache\"\n").unwrap();
    std::fs::write(d.path().join("fixed.go"), "package scenario\n\nimport _ \"example.com/shop/cache\"\n").unwrap();
    let two = with("{path: example.com/shop, dir: shop}").replace(
        "buggy: {about: leaks, files: [buggy.go]}",
        "buggy: {about: leaks, files: [buggy.go], modules: {example.com/shop: shop-old}}",
    );
    let p = parse(&two, d.path()).unwrap();
    let scenarios: Vec<(&Pattern, &Variant)> = p.variants.iter().take(2).map(|v| (&p, v)).collect();
    let files = crate::build::render(probe.path(), v("1.22"), &scenarios).unwrap();
    let text = |k: &str| String::from_utf8(files[k].clone()).unwrap();
    assert!(text("go.mod").contains("replace example.com/shop => ./_modules/0\n"), "{}", text("go.mod"));
    assert!(
        text("go.mod").contains("replace gcfuzz.local/v1/example.com/shop => ./_modules/1\n"),
        "{}",
        text("go.mod")
    );
    assert!(text("_modules/1/go.mod").starts_with("module gcfuzz.local/v1/example.com/shop\n"));
    assert!(text("_modules/1/cache/cache.go").contains("\"gcfuzz.local/v1/example.com/shop/cache/inner\""));
    assert!(text("s/15-x/buggy/buggy.go").contains("\"gcfuzz.local/v1/example.com/shop/cache\""));
    assert!(text("s/15-x/fixed/fixed.go").contains("\"example.com/shop/cache\""), "the fixed variant keeps the module");
    // A variant may only re-point a module the pattern names.
    let stray = two.replace("modules: {example.com/shop: shop-old}", "modules: {example.com/other: shop-old}");
    let e = parse(&stray, d.path()).unwrap_err().to_string();
    assert!(e.contains("module `example.com/other` is not among the pattern's `modules`"), "{e}");
    // Each mistake with its place.
    let cases = [
        ("{path: shop, dir: shop}", "must look like Go's, e.g. example.com/shop", (8, 12)),
        ("{path: example.com/shop, dir: nowhere}", "does not exist", (8, 35)),
        ("{path: example.com/shop, dir: .}", "has no go.mod", (8, 35)),
        (
            "{path: example.com/other, dir: shop}",
            "declares module `example.com/shop`, not `example.com/other`",
            (8, 12),
        ),
    ];
    for (m, message, at) in cases {
        match parse(&with(m), d.path()) {
            Err(TemplateError::Invalid { line, column, message: got, .. }) => {
                assert!(got.contains(message), "{m}: {got}");
                assert_eq!((line, column), at, "{m}: {got}");
            }
            other => panic!("{m}: {other:?}"),
        }
    }
}

#[test]
fn run_limits_and_knob_values_out_of_reach_are_errors_not_panics() {
    let d = dir();
    for (text, message) in [
        ("run: {timeout_s: 1e30}", "timeout_s 1000000000000000000000000000000 is beyond a day"),
        ("run: {timeout_s: .inf}", "is beyond a day"),
        ("run: {max_wall_s: .nan}", "timeout_s must be greater than max_wall_s"),
        ("run: {rounds: 4000000000}", "a run must end"),
    ] {
        let e = parse(&GOOD.replace("configs:", &format!("{text}\nconfigs:")), d.path()).unwrap_err().to_string();
        assert!(e.contains(message), "{text}: {e}");
    }
    let bad_env = GOOD.replace("env: {gogc: 50, godebug: \"x=1\"}", "env: {gogc: fifty}");
    let e = parse(&bad_env, d.path()).unwrap_err().to_string();
    assert!(e.contains("variant `tuned`: env: GOGC `fifty`: want an integer"), "{e}");
    let bad_config = GOOD.replace("  - {}\n", "  - {gomaxprocs: \"0\"}\n");
    let e = parse(&bad_config, d.path()).unwrap_err().to_string();
    assert!(e.contains("configs: GOMAXPROCS `0`"), "{e}");
}
