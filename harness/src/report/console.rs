//! Progress on stderr: indicatif bars on a terminal (toolchain downloads
//! with bytes, builds, the matrix with cells done and ETA), the plain
//! lines of [`report::event_line`] otherwise, and with `--quiet` only the
//! lines that need a reader: toolchain work, failed builds, cells whose
//! verdict was not the expected one.
//!
//! On a terminal the same lines still print, above the bars, so the
//! scroll-back reads like a log either way.

use crate::report;
use crate::results::Event;
use crate::version::GoVersion;
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::collections::HashMap;
use std::io::IsTerminal;
use std::time::Duration;

/// Where progress goes.
pub enum Reporter {
    /// Plain lines, only what needs a reader (`--quiet`).
    Quiet,
    /// One line per event (stderr is not a terminal).
    Lines,
    /// Bars.
    Bars(Bars),
}

/// The bars and what they track.
pub struct Bars {
    multi: MultiProgress,
    cells: Option<ProgressBar>,
    builds: Vec<(String, ProgressBar)>,
    downloads: HashMap<GoVersion, ProgressBar>,
}

fn style(template: &str) -> ProgressStyle {
    ProgressStyle::with_template(template).expect("the templates here are valid")
}

impl Reporter {
    /// Bars when stderr is a terminal (and TERM is not `dumb`), lines
    /// when it is not, terse lines when `quiet`.
    pub fn new(quiet: bool) -> Reporter {
        if quiet {
            Reporter::Quiet
        } else if std::io::stderr().is_terminal() && std::env::var("TERM").map_or(true, |t| t != "dumb") {
            Reporter::bars(ProgressDrawTarget::stderr())
        } else {
            Reporter::Lines
        }
    }

    /// Bars drawn to `target`.
    pub fn bars(target: ProgressDrawTarget) -> Reporter {
        Reporter::Bars(Bars {
            multi: MultiProgress::with_draw_target(target),
            cells: None,
            builds: Vec::new(),
            downloads: HashMap::new(),
        })
    }

    /// A line of log (above the bars on a terminal).
    pub fn line(&self, text: &str) {
        match self {
            Reporter::Quiet => {}
            Reporter::Lines => eprintln!("{text}"),
            Reporter::Bars(b) => {
                let _ = b.multi.println(text);
            }
        }
    }

    /// A step of a toolchain install, outside a campaign.
    pub fn toolchain(&mut self, p: crate::toolchain::Progress) {
        match p {
            crate::toolchain::Progress::Note(m) => self.event(&Event::Note(m)),
            crate::toolchain::Progress::Downloaded { version, bytes } => {
                self.event(&Event::Download { version, bytes })
            }
        }
    }

    /// Shows a campaign event.
    pub fn event(&mut self, e: &Event) {
        let Reporter::Bars(b) = self else {
            // Downloads print no line per poll; their notes say enough.
            let wanted = match (&*self, e) {
                (_, Event::Download { .. }) => false,
                (Reporter::Quiet, Event::CellDone { result, .. }) => !result.met,
                (Reporter::Quiet, e) => matches!(e, Event::Note(_) | Event::BuildFailed { .. }),
                _ => true,
            };
            if wanted && let Some(l) = report::event_line(e) {
                eprintln!("{l}");
            }
            return;
        };
        match e {
            Event::Download { version, bytes } => {
                let bar = b.downloads.entry(*version).or_insert_with(|| {
                    let bar = b.multi.add(ProgressBar::new_spinner());
                    bar.set_style(style("{spinner} go{msg}: {bytes} downloaded ({bytes_per_sec})"));
                    bar.set_message(version.to_string());
                    bar.enable_steady_tick(Duration::from_millis(120));
                    bar
                });
                bar.set_position(*bytes);
            }
            Event::Note(_) => {
                // A note follows a download's end (unpacking, installed).
                for (_, bar) in b.downloads.drain() {
                    bar.finish_and_clear();
                }
            }
            Event::BuildStarted { key, pattern, scenarios } => {
                let bar = b.multi.add(ProgressBar::new_spinner());
                bar.set_style(style("{spinner} building {msg} ({elapsed})"));
                bar.set_message(format!(
                    "{pattern} go{} line {} ({scenarios} scenarios)",
                    key.go,
                    key.go_line.line_string()
                ));
                bar.enable_steady_tick(Duration::from_millis(120));
                b.builds.push((format!("{key:?}"), bar));
            }
            Event::BuildDone(a) => b.build_ended(&format!("{:?}", a.key)),
            Event::BuildFailed { key, .. } => b.build_ended(&format!("{key:?}")),
            Event::Started { cells } => {
                b.cells_bar(*cells);
            }
            Event::CellDone { done, total, result } => {
                let bar = b.cells_bar(*total);
                bar.set_position(*done as u64);
                bar.set_message(format!("last: {} go{} {}", result.config.pattern, result.config.go, result.verdict));
            }
        }
        if let Some(l) = report::event_line(e) {
            let _ = b.multi.println(l);
        }
    }

    /// Clears the bars (before the table prints).
    pub fn finish(&mut self) {
        if let Reporter::Bars(b) = self {
            for bar in b.cells.take().into_iter().chain(b.builds.drain(..).map(|(_, bar)| bar)) {
                bar.finish_and_clear();
            }
            for (_, bar) in b.downloads.drain() {
                bar.finish_and_clear();
            }
            let _ = b.multi.clear();
        }
    }
}

impl Bars {
    /// The matrix bar, first of the bars, made on first use.
    fn cells_bar(&mut self, total: usize) -> &ProgressBar {
        self.cells.get_or_insert_with(|| {
            let bar = self.multi.insert(0, ProgressBar::new(total as u64));
            bar.set_style(
                style("cells {pos}/{len} [{bar:30}] {elapsed} elapsed, ETA {eta}  {msg}").progress_chars("=> "),
            );
            bar.enable_steady_tick(Duration::from_millis(500));
            bar
        })
    }

    fn build_ended(&mut self, key: &str) {
        if let Some(i) = self.builds.iter().position(|(k, _)| k == key) {
            let (_, bar) = self.builds.remove(i);
            bar.finish_and_clear();
        }
    }
}

/// What `gcfuzz fuzz` prints while it runs: on a terminal a spinner line
/// (executions, execs/s, corpus, findings, the last finding) with notes and
/// findings above it; otherwise those lines plain and a progress line
/// every 10 s; with `--quiet` nothing but findings' summary at the end.
pub struct FuzzReporter {
    bar: Option<ProgressBar>,
    quiet: bool,
    last_line: std::time::Instant,
}

impl FuzzReporter {
    /// A reporter; a spinner when stderr is a terminal and not `quiet`.
    pub fn new(quiet: bool) -> Self {
        let bar = (!quiet && std::io::stderr().is_terminal()).then(|| {
            let b = ProgressBar::new_spinner();
            b.set_style(style("{spinner} [{elapsed_precise}] {msg}"));
            b.enable_steady_tick(Duration::from_millis(200));
            b
        });
        FuzzReporter { bar, quiet, last_line: std::time::Instant::now() }
    }

    fn say(&self, line: &str) {
        match &self.bar {
            Some(b) => b.println(line),
            None if !self.quiet => eprintln!("{line}"),
            None => {}
        }
    }

    /// Shows one of the fuzzer's events.
    pub fn event(&mut self, e: crate::fuzz::FuzzEvent) {
        use crate::fuzz::FuzzEvent;
        match e {
            FuzzEvent::Note(m) => self.say(&m),
            FuzzEvent::Pattern { id, seeds, queue, unreadable } => {
                self.say(&format!("{id}: {seeds} seeds, {queue} queue entries from earlier runs"));
                for (p, why) in unreadable {
                    self.say(&format!("skipped {}: {why}", p.display()));
                }
            }
            FuzzEvent::Progress(s) => match &self.bar {
                Some(b) => b.set_message(report::fuzz::progress_line(s)),
                None if self.last_line.elapsed().as_secs() >= 10 => {
                    self.last_line = std::time::Instant::now();
                    self.say(&report::fuzz::progress_line(s))
                }
                None => {}
            },
            FuzzEvent::Finding(f) => self.say(&report::fuzz::finding_line(f)),
        }
    }

    /// Clears the spinner.
    pub fn finish(&self) {
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use indicatif::InMemoryTerm;

    /// The screen once `want` holds of it: the draw target is rate
    /// limited, so an update may show only at the bars' next steady tick
    /// (at most 500 ms). Gives up after 3 s and returns what is there.
    fn settle(term: &InMemoryTerm, want: impl Fn(&str) -> bool) -> String {
        let until = std::time::Instant::now() + Duration::from_secs(3);
        loop {
            let s = term.contents();
            if want(&s) || std::time::Instant::now() > until {
                return s;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    #[test]
    fn bars_show_downloads_builds_and_cells_then_clear() {
        let term = InMemoryTerm::new(12, 120);
        let mut r = Reporter::bars(ProgressDrawTarget::term_like_with_hz(Box::new(term.clone()), 200));
        let v: GoVersion = "1.22.10".parse().unwrap();
        r.event(&Event::Download { version: v, bytes: 5 << 20 });
        let screen = settle(&term, |s| s.contains("go1.22.10: 5.00 MiB downloaded"));
        assert!(screen.contains("go1.22.10: 5.00 MiB downloaded"), "{screen}");
        r.event(&Event::Note("unpacking Go 1.22.10".into()));
        let unpacking = |s: &str| s.contains("toolchain: unpacking Go 1.22.10") && !s.contains("downloaded");
        let screen = settle(&term, unpacking);
        assert!(unpacking(&screen), "{screen}");

        let result: crate::results::CellResult = serde_json::from_value(serde_json::json!({
            "pattern": "15-ticker", "seed_bug": 15, "go": "1.22.10", "go_line": "1.22", "knobs": {},
            "params": {}, "backend": "native", "buggy": null, "fixed": null, "verdict": "reproduced",
            "expected": "reproduced", "met": true, "why": "", "explanation": ""
        }))
        .unwrap();
        r.event(&Event::Started { cells: 4 });
        let screen = settle(&term, |s| s.contains("cells 0/4 ["));
        assert!(screen.contains("cells 0/4 ["), "{screen}");
        r.event(&Event::CellDone { done: 1, total: 4, result: &result });
        let done = |s: &str| {
            s.contains("cells 1/4 [=======")
                && s.contains("last: 15-ticker go1.22.10 reproduced")
                && s.contains("[1/4] 15-ticker go1.22.10 line1.22 -: reproduced (as expected)")
        };
        let screen = settle(&term, done);
        assert!(done(&screen), "{screen}");
        r.finish();
        assert!(!term.contents().contains("cells 1/4"), "cleared: {}", term.contents());
    }
}
