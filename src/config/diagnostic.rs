//! Errors and warnings about a crew file, each with the file, line, column and field it
//! concerns, and the collector the loader and validator report into.

use std::fmt;
use std::path::{Path, PathBuf};

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    Warning,
    Error,
}

/// One problem found in a crew file.
#[derive(Clone, Debug, PartialEq)]
pub struct Diagnostic {
    pub severity: Severity,
    pub file: PathBuf,
    /// 1-based; 0 only when the file itself could not be read.
    pub line: u32,
    pub column: u32,
    /// Where in the crew the problem is, e.g. `agents[2].tools[0]`; empty for YAML syntax
    /// errors and unreadable files.
    pub field: String,
    pub message: String,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let severity = match self.severity {
            Severity::Warning => "warning",
            Severity::Error => "error",
        };
        let Diagnostic {
            file,
            line,
            column,
            field,
            message,
            ..
        } = self;
        write!(f, "{}:{line}:{column}: {severity}: ", file.display())?;
        if !field.is_empty() {
            write!(f, "{field}: ")?;
        }
        f.write_str(message)
    }
}

/// A place in a crew file: what a diagnostic points at.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Site {
    pub file: PathBuf,
    pub line: u32,
    pub column: u32,
    pub field: String,
}

impl Site {
    /// The same place under another field name, for a problem with a field that is absent
    /// (reported where its mapping starts).
    pub fn with_field(&self, field: String) -> Site {
        Site {
            field,
            ..self.clone()
        }
    }

    /// `file:line:column`, for messages that refer to a second place.
    pub fn position(&self) -> String {
        format!("{}:{}:{}", self.file.display(), self.line, self.column)
    }
}

/// Collects diagnostics in the order found; [`Diagnostics::into_sorted`] orders them for
/// display.
#[derive(Debug, Default)]
pub(crate) struct Diagnostics(Vec<Diagnostic>);

impl Diagnostics {
    pub fn error(&mut self, at: &Site, message: impl Into<String>) {
        self.push(Severity::Error, at, message.into());
    }

    pub fn warning(&mut self, at: &Site, message: impl Into<String>) {
        self.push(Severity::Warning, at, message.into());
    }

    /// An error about a whole file (unreadable, not UTF-8, not YAML): no field.
    pub fn file_error(&mut self, file: &Path, line: u32, column: u32, message: String) {
        self.0.push(Diagnostic {
            severity: Severity::Error,
            file: file.to_path_buf(),
            line,
            column,
            field: String::new(),
            message,
        });
    }

    pub fn has_errors(&self) -> bool {
        self.0.iter().any(|d| d.severity == Severity::Error)
    }

    /// Sorted by file, line and column; the sort is stable, so problems found at one place
    /// keep the order they were found in.
    pub fn into_sorted(mut self) -> Vec<Diagnostic> {
        self.0
            .sort_by(|a, b| (&a.file, a.line, a.column).cmp(&(&b.file, b.line, b.column)));
        self.0
    }

    fn push(&mut self, severity: Severity, at: &Site, message: String) {
        self.0.push(Diagnostic {
            severity,
            file: at.file.clone(),
            line: at.line,
            column: at.column,
            field: at.field.clone(),
            message,
        });
    }
}
