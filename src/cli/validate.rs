//! `crewtui validate`: every problem of a crew, one per line, on stdout.

use std::path::Path;
use std::process::ExitCode;

use crewtui::config::load_crew;
use crewtui::text::visible_line;

pub fn run(path: &Path) -> ExitCode {
    let report = load_crew(path);
    let shown = path.display().to_string();
    let shown = visible_line(&shown);
    for diagnostic in &report.diagnostics {
        println!("{diagnostic}");
    }
    for omitted in &report.omitted {
        println!("{omitted}");
    }
    let errors = report.error_count();
    let warnings = report.warning_count();
    if errors > 0 {
        println!("{shown}: {errors} error(s), {warnings} warning(s)");
        ExitCode::FAILURE
    } else {
        let agents = report.crew.as_ref().map_or(0, |c| c.agents.len());
        println!("{shown}: ok, {agents} agent(s), {warnings} warning(s)");
        ExitCode::SUCCESS
    }
}
