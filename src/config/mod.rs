//! Crew files: parsing both layouts into the [`model`], with defaults, and checking them, so
//! that every problem is reported with its file, line, column and field.
//!
//! [`load_crew`] and [`load_crew_str`] never panic and never stop at the first problem: the
//! [`CrewReport`] holds every error, warning and info line found, and the crew only when there
//! were no errors. Crews written for go-agentic load as they are (see `go_agentic.rs`,
//! `models.rs`, `agent_files.rs` and `bindings.rs`). This module depends on nothing else in the
//! crate but the names of the built-in tools, [`crate::redact`] (a URL in a message is shown
//! without its credentials) and [`crate::text`] (what it prints is made safe to print).

mod agent;
mod agent_files;
mod bindings;
mod costs;
mod diagnostic;
mod diff;
mod fingerprint;
mod go_agentic;
mod graph;
mod load;
pub mod model;
mod models;
mod node;
mod read;
mod sections;
mod validate;

use std::path::{Path, PathBuf};

pub use bindings::{UnboundTool, skeleton as bindings_skeleton};
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
    /// Tools the agents list that nothing provides (no built-in, command tool or binding):
    /// calling one fails as not found. Known even when there are errors.
    pub unbound: Vec<UnboundTool>,
    /// The tool bindings file that was read, or where one beside the crew would be found.
    pub bindings: Option<PathBuf>,
    /// The crew's name, as far as it could be read.
    pub name: String,
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

    /// go-agentic keys that were read and have no effect, one line per key name.
    pub fn infos(&self) -> impl Iterator<Item = &Diagnostic> {
        self.diagnostics
            .iter()
            .filter(|d| d.severity == Severity::Info)
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

/// Load a crew from a single YAML file, or from a directory holding `crew.yaml` (or
/// `config/crew.yaml`) and `agents/`. Ids listed in a file's `agents` are found by the `id`
/// inside the files of `agents/` beside it. Tools are bound by the bindings file beside the
/// crew file (`crew.tools.yaml` beside `crew.yaml`), when there is one.
pub fn load_crew(path: &Path) -> CrewReport {
    load_crew_with_tools(path, None)
}

/// [`load_crew`], with the tool bindings of `tools` instead of those beside the crew file.
pub fn load_crew_with_tools(path: &Path, tools: Option<&Path>) -> CrewReport {
    let mut d = Diagnostics::default();
    let loaded = load::load_path(path, tools, &mut d);
    report(loaded, d)
}

/// Load a crew from text already in memory. `file` names it in diagnostics; relative paths
/// (files_root, command tools) resolve against `base_dir`. Agents must be inline.
///
/// ```
/// use std::path::Path;
///
/// let yaml = "name: pair\nagents:\n  - {id: a, provider: scripted, handoff_targets: [c]}\n  - {id: b, provider: scripted, tools: [abacus]}\n";
/// let report = crewtui::config::load_crew_str(yaml, Path::new("pair.yaml"), Path::new("."));
/// assert!(report.crew.is_none());
/// let error = report.errors().next().unwrap().to_string();
/// assert!(error.starts_with("pair.yaml:3:51: error: agents[0].handoff_targets[0]: unknown agent `c`"), "{error}");
/// // A tool crewtui does not have is a warning: calling it fails until it is bound.
/// let warning = report.warnings().find(|w| w.field == "agents[1].tools[0]").unwrap().to_string();
/// assert!(warning.starts_with("pair.yaml:4:41: warning: agents[1].tools[0]: unknown tool `abacus`"), "{warning}");
///
/// let report = crewtui::config::load_crew_str(&yaml.replace("[c]", "[b]"), Path::new("pair.yaml"), Path::new("."));
/// let crew = report.crew.unwrap();
/// assert_eq!(crew.entry_point, "a");
/// assert_eq!(crew.settings.max_handoffs, 5);
/// assert_eq!(report.unbound[0].name, "abacus");
/// ```
pub fn load_crew_str(text: &str, file: &Path, base_dir: &Path) -> CrewReport {
    let mut d = Diagnostics::default();
    let loaded = load::load_text(text, file, base_dir, &mut d);
    report(loaded, d)
}

fn report(loaded: Option<Loaded>, mut d: Diagnostics) -> CrewReport {
    let unbound = loaded
        .as_ref()
        .map(|loaded| validate::validate(loaded, &mut d))
        .unwrap_or_default();
    let bindings = loaded.as_ref().and_then(|l| l.sites.bindings.clone());
    let name = loaded
        .as_ref()
        .map(|l| l.crew.name.clone())
        .unwrap_or_default();
    let crew = loaded.filter(|_| !d.has_errors()).map(|l| l.crew);
    let (diagnostics, omitted) = d.into_sorted();
    CrewReport {
        crew,
        diagnostics,
        omitted,
        unbound,
        bindings,
        name,
    }
}
#[cfg(test)]
mod tests;
