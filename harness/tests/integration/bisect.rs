//! `gcfuzz bisect` on real Go: the release where Go 1.23's timers stopped
//! leaking an unstopped ticker (Bug 15), the go line where loop variables
//! became per iteration (Bug 12), and a pattern whose verdict does not
//! change. The releases between the catalogue's are installed from the
//! package index when visited (kept in the cache after).

use crate::support::*;

fn bisection(o: &Output) -> serde_json::Value {
    serde_json::from_str(&o.stdout).unwrap_or_else(|e| panic!("{e}\n{o}"))
}

fn strs(v: &serde_json::Value) -> Vec<String> {
    v.as_array().unwrap().iter().map(|x| x.as_str().unwrap_or_default().to_string()).collect()
}

/// ⌈log2 n⌉.
fn log2_up(n: usize) -> usize {
    (usize::BITS - (n - 1).leading_zeros()) as usize
}

#[test]
fn bug15s_timer_boundary_is_between_the_last_122_and_the_first_123_release() {
    let o = gcfuzz(&["bisect", "15", "--go", "1.22.10..1.23.9", "--json", "-", "-q"], &[]);
    assert_eq!(o.code, Some(0), "{o}");
    let b = bisection(&o);
    let line = strs(&b["line"]);
    assert_eq!(line.first().map(String::as_str), Some("1.22.10"), "{o}");
    assert!(line.iter().filter(|v| v.starts_with("1.23.")).count() >= 2, "the index's 1.23 releases: {line:?}");
    let bounds = b["boundaries"].as_array().unwrap();
    assert_eq!(bounds.len(), 1, "{o}");
    assert_eq!((bounds[0]["before"].as_str(), bounds[0]["after"].as_str()), (Some("1.22.10"), Some(line[1].as_str())));
    assert_eq!(bounds[0]["stable"], true);
    assert_eq!(bounds[0]["change"], "verdict reproduced -> not-reproduced");
    let visited = b["visited"].as_array().unwrap();
    assert!(visited.len() <= log2_up(line.len()) + 3, "{} visited of {}", visited.len(), line.len());
    assert_eq!(visited.iter().filter(|p| !p["rechecked"].is_null()).count(), 2, "both sides re-judged");
    assert!(o.stderr.contains("held when re-judged"), "{o}");
}

#[test]
fn bug12s_boundary_is_found_on_the_go_line_on_one_toolchain() {
    let o =
        gcfuzz(&["bisect", "12", "--over", "go-line", "--go-line", "1.21..1.27", "--go", "1.27", "--json", "-"], &[]);
    assert_eq!(o.code, Some(0), "{o}");
    let b = bisection(&o);
    assert_eq!(b["over"], "go-line");
    assert_eq!(strs(&b["line"]), ["1.21", "1.22", "1.23", "1.24", "1.25", "1.26", "1.27"]);
    let bounds = b["boundaries"].as_array().unwrap();
    assert_eq!(bounds.len(), 1, "{o}");
    assert_eq!((bounds[0]["before"].as_str(), bounds[0]["after"].as_str()), (Some("1.21"), Some("1.22")));
    assert_eq!(bounds[0]["stable"], true);
    assert!(b["visited"].as_array().unwrap().len() <= log2_up(7) + 3);
    // Every cell on Go 1.27.3.
    assert!(b["visited"].as_array().unwrap().iter().all(|p| p["cell"].as_str().unwrap().contains("|go1.27.3|")), "{o}");
}

#[test]
fn a_verdict_that_does_not_change_is_reported_as_no_change_after_both_ends() {
    let o = gcfuzz(&["bisect", "01", "--go", "1.26.6..1.27.3", "--json", "-"], &[]);
    assert_eq!(o.code, Some(1), "no change found: {o}");
    let b = bisection(&o);
    assert_eq!(b["found"], false);
    assert!(b["boundaries"].as_array().unwrap().is_empty());
    let visited: Vec<String> =
        b["visited"].as_array().unwrap().iter().map(|p| p["at"].as_str().unwrap().to_string()).collect();
    assert_eq!(visited, ["1.26.6", "1.27.3"], "both ends and nothing else");
    assert!(o.stderr.contains("no change: both ends read reproduced"), "{o}");
}

#[test]
fn bisect_refuses_what_it_cannot_bisect_with_a_clear_message() {
    for (args, says) in [
        (vec!["bisect", "15", "12", "--go", "1.22..1.23"], "bisect one pattern"),
        (vec!["bisect", "15"], "needs --go FROM..TO"),
        (vec!["bisect", "15", "--go", "1.23..1.22"], "its start is after its end"),
        (vec!["bisect", "15", "--go", "1.22.10..1.23.9", "--gogc", "50,100"], "one cell per point"),
        (vec!["bisect", "15", "--go", "1.22.10..1.23.9", "--go-line", "1.21,1.22"], "one cell per point"),
        (vec!["bisect", "12", "--over", "go-line", "--go-line", "1.21..1.24", "--go", "1.23"], "go lines up to 1.23"),
        (vec!["bisect", "15", "--go", "1.22.10..1.23.9", "--shard", "1/2"], "do not apply"),
    ] {
        let o = gcfuzz(&args, &[]);
        assert_eq!(o.code, Some(2), "{o}");
        assert!(o.stderr.contains(says), "{says}: {o}");
    }
}
