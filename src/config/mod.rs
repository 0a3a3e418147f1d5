//! Crew files: parsing both layouts into the [`model`], with defaults, and checking them, so
//! that every problem is reported with its file, line, column and field.
//!
//! [`load_crew`] and [`load_crew_str`] never panic and never stop at the first problem: the
//! [`CrewReport`] holds every error and warning found, and the crew only when there were no
//! errors. This module depends on nothing else in the crate but the names of the built-in
//! tools, [`crate::redact`] (a URL in a message is shown without its credentials) and
//! [`crate::text`] (what it prints is made safe to print).

mod agent;
mod costs;
mod diagnostic;
mod diff;
mod fingerprint;
mod graph;
mod load;
pub mod model;
mod node;
mod read;
mod sections;
mod validate;

use std::path::Path;

pub use diagnostic::{Diagnostic, MAX_PER_KIND, Omitted, Severity};
pub use diff::differences;

use diagnostic::Diagnostics;
use load::Loaded;

/// The outcome of loading a crew.
#[derive(Clone, Debug)]
pub struct CrewReport {
    /// `Some` exactly when there are no errors (warnings allowed).
    pub crew: Option<model::Crew>,
    /// Sorted by file, line and column; at most [`MAX_PER_KIND`] of a kind.
    pub diagnostics: Vec<Diagnostic>,
    /// How many more of each kind there were.
    pub omitted: Vec<Omitted>,
}

impl CrewReport {
    /// The errors kept in [`CrewReport::diagnostics`].
    pub fn errors(&self) -> impl Iterator<Item = &Diagnostic> {
        self.diagnostics
            .iter()
            .filter(|d| d.severity == Severity::Error)
    }

    pub fn warnings(&self) -> impl Iterator<Item = &Diagnostic> {
        self.diagnostics
            .iter()
            .filter(|d| d.severity == Severity::Warning)
    }

    pub fn has_errors(&self) -> bool {
        self.errors().next().is_some()
    }

    /// Every error found, those left out included.
    pub fn error_count(&self) -> usize {
        self.errors().count() + self.omitted_count(Severity::Error)
    }

    /// Every warning found, those left out included.
    pub fn warning_count(&self) -> usize {
        self.warnings().count() + self.omitted_count(Severity::Warning)
    }

    fn omitted_count(&self, severity: Severity) -> usize {
        let omitted = self.omitted.iter().filter(|o| o.severity == severity);
        omitted.map(|o| o.count).sum()
    }
}

/// Load a crew from a single YAML file, or from a directory holding `crew.yaml` and
/// `agents/ID.yaml`. Ids listed in a file's `agents` are read from `agents/ID.yaml` beside it.
pub fn load_crew(path: &Path) -> CrewReport {
    let mut d = Diagnostics::default();
    let loaded = load::load_path(path, &mut d);
    report(loaded, d)
}

/// Load a crew from text already in memory. `file` names it in diagnostics; relative paths
/// (files_root, command tools) resolve against `base_dir`. Agents must be inline.
///
/// ```
/// use std::path::Path;
///
/// let yaml = "name: pair\nagents:\n  - {id: a, provider: scripted, handoff_targets: [b]}\n  - {id: b, provider: scripted, tools: [abacus]}\n";
/// let report = crewtui::config::load_crew_str(yaml, Path::new("pair.yaml"), Path::new("."));
/// assert!(report.crew.is_none());
/// let error = report.errors().next().unwrap().to_string();
/// assert!(error.starts_with("pair.yaml:4:41: error: agents[1].tools[0]: unknown tool `abacus`"), "{error}");
///
/// let report = crewtui::config::load_crew_str(&yaml.replace("abacus", "calculator"), Path::new("pair.yaml"), Path::new("."));
/// let crew = report.crew.unwrap();
/// assert_eq!(crew.entry_point, "a");
/// assert_eq!(crew.settings.max_handoffs, 5);
/// ```
pub fn load_crew_str(text: &str, file: &Path, base_dir: &Path) -> CrewReport {
    let mut d = Diagnostics::default();
    let loaded = load::load_text(text, file, base_dir, &mut d);
    report(loaded, d)
}

fn report(loaded: Option<Loaded>, mut d: Diagnostics) -> CrewReport {
    if let Some(loaded) = &loaded {
        validate::validate(loaded, &mut d);
    }
    let crew = loaded.filter(|_| !d.has_errors()).map(|l| l.crew);
    let (diagnostics, omitted) = d.into_sorted();
    CrewReport {
        crew,
        diagnostics,
        omitted,
    }
}
#[cfg(test)]
mod tests;
