//! `crewtui validate`: every problem of a crew, one per line, on stdout.

use std::path::Path;
use std::process::ExitCode;

use crewtui::config::load_crew;

pub fn run(path: &Path) -> ExitCode {
    let report = load_crew(path);
    for diagnostic in &report.diagnostics {
        println!("{diagnostic}");
    }
    let errors = report.errors().count();
    let warnings = report.warnings().count();
    if errors > 0 {
        println!(
            "{}: {errors} error(s), {warnings} warning(s)",
            path.display()
        );
        ExitCode::FAILURE
    } else {
        let agents = report.crew.as_ref().map_or(0, |c| c.agents.len());
        println!(
            "{}: ok, {agents} agent(s), {warnings} warning(s)",
            path.display()
        );
        ExitCode::SUCCESS
    }
}
