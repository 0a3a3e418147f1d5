//! `crewtui validate`: every problem of a crew, one per line, on stdout.

use std::path::Path;
use std::process::ExitCode;

use crewtui::config::load_crew;
use crewtui::text::visible_line;

use super::output;

pub fn run(path: &Path) -> ExitCode {
    let report = load_crew(path);
    let shown = path.display().to_string();
    let shown = visible_line(&shown);
    let errors = report.error_count();
    let warnings = report.warning_count();
    let (summary, status) = if errors > 0 {
        let summary = format!("{shown}: {errors} error(s), {warnings} warning(s)");
        (summary, ExitCode::FAILURE)
    } else {
        let agents = report.crew.as_ref().map_or(0, |c| c.agents.len());
        let summary = format!("{shown}: ok, {agents} agent(s), {warnings} warning(s)");
        (summary, ExitCode::SUCCESS)
    };
    let lines = report
        .diagnostics
        .iter()
        .map(|d| d as &dyn std::fmt::Display)
        .chain(report.omitted.iter().map(|o| o as &dyn std::fmt::Display))
        .chain([&summary as &dyn std::fmt::Display]);
    output::status(output::print_lines(lines), status)
}
