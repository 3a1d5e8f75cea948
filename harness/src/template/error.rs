//! What goes wrong with a template.

use std::path::PathBuf;

/// `file:line:column`, or the file alone where the place is unknown.
fn at(path: &std::path::Path, line: u64, column: u64) -> String {
    if line == 0 { path.display().to_string() } else { format!("{}:{line}:{column}", path.display()) }
}

/// A template that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    /// The file could not be read.
    #[error("failed to read `{path}`")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The YAML does not parse or does not fit the schema.
    #[error("{}: {message}", at(path, *line, *column))]
    Invalid {
        /// The file.
        path: PathBuf,
        /// 1-based line, 0 if unknown.
        line: u64,
        /// 1-based column, 0 if unknown.
        column: u64,
        /// What is wrong.
        message: String,
    },
    /// No pattern matches a name given on the command line.
    #[error("no pattern matches `{0}`\n(run `gcfuzz list` to see the patterns)")]
    NoMatch(String),
    /// A name given on the command line matches several patterns.
    #[error("`{name}` matches several patterns: {matches}\n(give more of the id)")]
    Ambiguous {
        /// The name.
        name: String,
        /// The ids it matches.
        matches: String,
    },
    /// Two folders hold a pattern of the same id.
    #[error("two patterns have the id `{id}`: {} and {}\n(rename one of the folders)", .first.display(), .second.display())]
    Clash {
        /// The id.
        id: String,
        /// One folder.
        first: PathBuf,
        /// The other.
        second: PathBuf,
    },
    /// A folder given to add patterns from holds none.
    #[error("`{}` holds no pattern (a pattern.yaml in it or in a folder inside it)", .0.display())]
    Empty(PathBuf),
    /// Several templates failed to load.
    #[error("{} template(s) are invalid:\n{}", .0.len(), .0.iter().map(|e| format!("  {e}")).collect::<Vec<_>>().join("\n"))]
    Many(Vec<TemplateError>),
}

impl crate::errors::Classified for TemplateError {
    fn class(&self) -> Option<crate::errors::Class> {
        Some(crate::errors::Class::Usage)
    }
}
