//! Loading patterns from folders and picking them by name.

use super::check::Checker;
use super::error::TemplateError;
use super::model::Pattern;
use super::spec::PatternSpec;
use std::path::{Path, PathBuf};

/// Loads one pattern from its folder.
pub fn load_pattern(dir: &Path) -> Result<Pattern, TemplateError> {
    let path = dir.join("pattern.yaml");
    let text = crate::errors::read_config(&path).map_err(|source| TemplateError::Io { path: path.clone(), source })?;
    let id = dir.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_string();
    parse_pattern(&text, &path, &id, dir)
}

/// Parses and validates a pattern's YAML. `path` is for messages, `id` is
/// the folder name and `dir` holds the Go files.
pub fn parse_pattern(text: &str, path: &Path, id: &str, dir: &Path) -> Result<Pattern, TemplateError> {
    let spec: PatternSpec = serde_saphyr::from_str(text).map_err(|e| {
        let (line, column) = e.location().map(|l| (l.line(), l.column())).unwrap_or((0, 0));
        TemplateError::Invalid { path: path.to_path_buf(), line, column, message: first_line(&e.to_string()) }
    })?;
    Checker { path, dir }.check(spec, id)
}

/// serde-saphyr renders a snippet under its message; the first line is the
/// message itself (the location is printed separately).
fn first_line(s: &str) -> String {
    let line = s.lines().next().unwrap_or(s).trim();
    let line = line.strip_prefix("error: ").unwrap_or(line);
    // Drop its own "line N column M: " prefix: the location is ours to print.
    match line.strip_prefix("line ").and_then(|r| r.split_once(": ")) {
        Some((pos, rest)) if pos.contains(" column ") => rest.to_string(),
        _ => line.to_string(),
    }
}

/// Loads every pattern under `templates` (folders holding a pattern.yaml),
/// sorted by id. All invalid ones are reported together.
pub fn load_all(templates: &Path) -> Result<Vec<Pattern>, TemplateError> {
    let entries =
        std::fs::read_dir(templates).map_err(|source| TemplateError::Io { path: templates.to_path_buf(), source })?;
    let mut dirs: Vec<PathBuf> =
        entries.filter_map(|e| e.ok().map(|e| e.path())).filter(|p| p.join("pattern.yaml").is_file()).collect();
    dirs.sort();
    let (mut ok, mut bad) = (Vec::new(), Vec::new());
    for d in dirs {
        match load_pattern(&d) {
            Ok(p) => ok.push(p),
            Err(e) => bad.push(e),
        }
    }
    if !bad.is_empty() {
        return Err(if bad.len() == 1 { bad.remove(0) } else { TemplateError::Many(bad) });
    }
    Ok(ok)
}

/// The catalogue: the built-in patterns (`builtin`, gcfuzz's own
/// templates folder; `None` leaves them out) and the patterns of each
/// folder in `added`, which is a pattern folder itself (it holds a
/// pattern.yaml) or a folder of pattern folders. Sorted by id; an id held
/// twice is an error naming both folders. A folder holding no pattern is
/// an error (a typo must not pass as an empty catalogue); an added folder
/// that is the built-in one adds nothing. A `probe/` inside an added
/// folder is never used: the probe is always gcfuzz's own.
pub fn load_catalogue(builtin: Option<&Path>, added: &[PathBuf]) -> Result<Vec<Pattern>, TemplateError> {
    let same = |a: &Path, b: &Path| match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    };
    let mut all: Vec<Pattern> = match builtin {
        Some(b) => load_all(b)?,
        None => Vec::new(),
    };
    let mut bad = Vec::new();
    for dir in added {
        if builtin.is_some_and(|b| same(b, dir)) || added.iter().take_while(|d| *d != dir).any(|d| same(d, dir)) {
            continue;
        }
        let found = if dir.join("pattern.yaml").is_file() {
            load_pattern(dir).map(|p| vec![p])
        } else {
            load_all(dir).and_then(|ps| if ps.is_empty() { Err(TemplateError::Empty(dir.clone())) } else { Ok(ps) })
        };
        match found {
            Ok(ps) => all.extend(ps),
            Err(TemplateError::Many(es)) => bad.extend(es),
            Err(e) => bad.push(e),
        }
    }
    if !bad.is_empty() {
        return Err(if bad.len() == 1 { bad.remove(0) } else { TemplateError::Many(bad) });
    }
    all.sort_by(|a, b| a.id.cmp(&b.id));
    if let Some(w) = all.windows(2).find(|w| w[0].id == w[1].id) {
        return Err(TemplateError::Clash { id: w[0].id.clone(), first: w[0].dir.clone(), second: w[1].dir.clone() });
    }
    Ok(all)
}

/// Picks patterns by id (`15-ticker-not-stopped`), number (`15`) or id
/// prefix (`15-tick`). No names selects all.
pub fn select<'a>(patterns: &'a [Pattern], names: &[String]) -> Result<Vec<&'a Pattern>, TemplateError> {
    if names.is_empty() {
        return Ok(patterns.iter().collect());
    }
    let mut out: Vec<&Pattern> = Vec::new();
    for name in names {
        // A number names the seed bug (`1` is 01-…, never 12-…); anything
        // else is an id or an id prefix.
        let found: Vec<&Pattern> = match name.parse::<u32>() {
            Ok(n) => patterns.iter().filter(|p| p.id.starts_with(&format!("{n:02}-"))).collect(),
            Err(_) if patterns.iter().any(|p| p.id == *name) => patterns.iter().filter(|p| p.id == *name).collect(),
            Err(_) => patterns.iter().filter(|p| p.id.starts_with(name.as_str())).collect(),
        };
        match found.len() {
            0 => return Err(TemplateError::NoMatch(name.clone())),
            1 => {
                if !out.iter().any(|p| p.id == found[0].id) {
                    out.push(found[0]);
                }
            }
            _ => {
                let matches = found.iter().map(|p| p.id.as_str()).collect::<Vec<_>>().join(", ");
                return Err(TemplateError::Ambiguous { name: name.clone(), matches });
            }
        }
    }
    Ok(out)
}
