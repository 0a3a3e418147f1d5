//! `crewtui validate`: every problem of a crew, one per line, on stdout.

use std::path::Path;
use std::process::ExitCode;

use crewtui::config::load_crew;

use super::output;

pub fn run(path: &Path) -> ExitCode {
    let report = load_crew(path);
    let errors = report.errors().count();
    let warnings = report.warnings().count();
    let (summary, status) = if errors > 0 {
        let summary = format!(
            "{}: {errors} error(s), {warnings} warning(s)",
            path.display()
        );
        (summary, ExitCode::FAILURE)
    } else {
        let agents = report.crew.as_ref().map_or(0, |c| c.agents.len());
        let summary = format!(
            "{}: ok, {agents} agent(s), {warnings} warning(s)",
            path.display()
        );
        (summary, ExitCode::SUCCESS)
    };
    let lines = report
        .diagnostics
        .iter()
        .map(|d| d as &dyn std::fmt::Display)
        .chain([&summary as &dyn std::fmt::Display]);
    output::status(output::print_lines(lines), status)
}
