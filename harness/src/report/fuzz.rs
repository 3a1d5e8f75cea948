//! What `gcfuzz fuzz` and `gcfuzz replay` print: a progress line, a line
//! per finding, the summary table, the replay table.

use crate::fuzz::{Finding, Replayed, Stats, Summary};

/// `01-… 120 execs (2.1/s) corpus 14 findings 1 last: fix-fails GOGC=off`.
pub fn progress_line(s: &Stats) -> String {
    format!(
        "{} {} execs ({:.2}/s), {} judgements, corpus {}, findings {}{}{}",
        s.pattern,
        s.executions,
        s.execs_per_s(),
        s.judgements,
        s.corpus,
        s.findings,
        if s.errors > 0 { format!(", {} errors", s.errors) } else { String::new() }
            + &if s.slow > 0 { format!(", {} cut by the cap", s.slow) } else { String::new() }
            + &if s.heavy > 0 { format!(" ({} judged again at full limits)", s.heavy) } else { String::new() }
            + &if s.unconfirmed > 0 {
                format!(", {} not seen again before saving (saved as flaky)", s.unconfirmed)
            } else {
                String::new()
            },
        s.last_finding.as_deref().map(|f| format!(", last: {f}")).unwrap_or_default()
    )
}

/// `finding: 15-… fix-fails: GOGC=off (fixed: present …) → corpus/…yaml`.
pub fn finding_line(f: &Finding) -> String {
    let edges: String = f.boundaries.iter().map(|(k, v)| format!(" (starts at {k}={v})")).collect();
    format!(
        "finding: {} {}: {}{edges} [{}] -> {}",
        f.pattern,
        f.objective,
        f.described,
        f.result.explanation,
        f.path.display()
    )
}

/// The table at the end: one line per pattern.
pub fn summary_table(summaries: &[Summary]) -> String {
    let mut out = format!(
        "{:<30} {:>6} {:>7} {:>6} {:>10} {:>7} {:>5} {:>6}  {}\n",
        "pattern", "execs", "execs/s", "judged", "builds (s)", "corpus", "new", "errors", "findings"
    );
    for s in summaries {
        let st = &s.stats;
        let found: Vec<String> = s.findings.iter().map(|f| format!("{} ({})", f.objective, f.described)).collect();
        out.push_str(&format!(
            "{:<30} {:>6} {:>7.2} {:>6} {:>10} {:>7} {:>5} {:>6}  {}\n",
            st.pattern,
            st.executions,
            st.execs_per_s(),
            st.judgements,
            format!("{} ({:.0})", st.builds, st.build_s),
            format!("{}->{}", st.corpus_start, st.corpus),
            st.findings,
            st.errors,
            if found.is_empty() {
                if st.known > 0 { format!("{} already saved", st.known) } else { "-".into() }
            } else {
                found.join("; ")
            }
        ));
    }
    let execs: u64 = summaries.iter().map(|s| s.stats.executions).sum();
    let secs: f64 = summaries.iter().map(|s| s.stats.elapsed_s).sum();
    let findings: usize = summaries.iter().map(|s| s.stats.findings).sum();
    out.push_str(&format!(
        "{} patterns, {execs} executions in {secs:.0} s ({:.2}/s), {findings} new findings\n",
        summaries.len(),
        if secs > 0.0 { execs as f64 / secs } else { 0.0 }
    ));
    out
}

/// What became of a replayed finding, in one word.
pub fn replay_word(r: &Replayed) -> &'static str {
    if r.holds {
        "holds"
    } else if r.unreadable {
        "UNREADABLE"
    } else if r.is_flaky() {
        "flaky"
    } else {
        "FAILS"
    }
}

/// One line per replayed finding, and a count.
pub fn replay_table(rs: &[Replayed]) -> String {
    let mut out = String::new();
    for r in rs {
        out.push_str(&format!(
            "{:<5} {} {} saved {} now {}: {}\n",
            replay_word(r),
            r.path.display(),
            r.objective.map_or("?".into(), |o| o.to_string()),
            r.saved_verdict.map_or("?".into(), |v| v.to_string()),
            r.verdict.map_or("-".into(), |v| v.to_string()),
            r.detail
        ));
    }
    let held = rs.iter().filter(|r| r.holds).count();
    let unreadable = rs.iter().filter(|r| r.unreadable).count();
    let flaky = rs.iter().filter(|r| !r.holds && r.is_flaky()).count();
    out.push_str(&format!("{held} of {} findings behave as saved", rs.len() - flaky));
    if flaky > 0 {
        out.push_str(&format!(
            "; {flaky} flaky one(s) did not flip this time (not counted: a flaky finding is a hint, not a regression)"
        ));
    }
    if unreadable > 0 {
        out.push_str(&format!("; {unreadable} could not be read (nothing judged)"));
    }
    out.push('\n');
    out
}

#[cfg(test)]
mod replay_tests {
    use super::*;
    use crate::fuzz::Objective;
    use crate::verdict::Verdict;

    fn replayed(objective: Objective, holds: bool) -> Replayed {
        Replayed {
            path: format!("f/{objective}.yaml").into(),
            objective: Some(objective),
            saved_verdict: Some(Verdict::FixFails),
            verdict: Some(Verdict::Reproduced),
            holds,
            unreadable: false,
            detail: "numbers".into(),
        }
    }

    #[test]
    fn a_flaky_finding_that_does_not_flip_is_reported_and_not_counted() {
        let rs = [replayed(Objective::FixFails, true), replayed(Objective::Flaky, false)];
        assert_eq!(replay_word(&rs[1]), "flaky");
        assert!(rs[1].is_flaky() && !rs[0].is_flaky());
        let t = replay_table(&rs);
        assert!(t.contains("flaky f/flaky.yaml flaky saved fix-fails now reproduced"), "{t}");
        assert!(t.contains("1 of 1 findings behave as saved; 1 flaky one(s) did not flip this time"), "{t}");
        // A confirmed finding that changed still fails.
        assert_eq!(replay_word(&replayed(Objective::FixFails, false)), "FAILS");
    }
}
