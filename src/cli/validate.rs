//! `crewtui validate`: every problem of a crew, one per line, and the tools it lists that
//! nothing provides, on stdout; with `--bindings-skeleton`, a bindings file for those tools on
//! stdout instead, and the report on stderr, so that the skeleton can be redirected into a file.

use std::path::Path;
use std::process::ExitCode;

use crewtui::config::{CrewReport, MAX_PER_KIND, bindings_skeleton, load_crew_with_tools};
use crewtui::text::visible_line;

use super::output;

pub fn run(path: &Path, tools: Option<&Path>, skeleton: bool) -> ExitCode {
    let report = load_crew_with_tools(path, tools);
    let shown = path.display().to_string();
    let shown = visible_line(&shown);
    let errors = report.error_count();
    let warnings = report.warning_count();
    let infos = match report.infos().count() {
        0 => String::new(),
        n => format!(", {n} info"),
    };
    let (summary, status) = if errors > 0 {
        let summary = format!("{shown}: {errors} error(s), {warnings} warning(s){infos}");
        (summary, ExitCode::FAILURE)
    } else {
        let agents = report.crew.as_ref().map_or(0, |c| c.agents.len());
        let summary = format!("{shown}: ok, {agents} agent(s), {warnings} warning(s){infos}");
        (summary, ExitCode::SUCCESS)
    };
    let lines = report
        .diagnostics
        .iter()
        .map(ToString::to_string)
        .chain(report.omitted.iter().map(ToString::to_string))
        .chain(unbound_line(&shown, &report))
        .chain([summary]);
    if !skeleton {
        return output::status(output::print_lines(lines), status);
    }
    for line in lines {
        output::warn(line);
    }
    if report.unbound.is_empty() {
        output::warn(format_args!(
            "{shown}: every tool is bound; no skeleton to write"
        ));
        return status;
    }
    let text = bindings_skeleton(&report.name, &report.unbound, report.bindings.as_deref());
    output::status(output::print(&text), status)
}

/// The tools the crew lists that nothing provides, the first [`MAX_PER_KIND`] by name.
fn unbound_line(shown: &str, report: &CrewReport) -> Option<String> {
    if report.unbound.is_empty() {
        return None;
    }
    let mut names: Vec<String> = report
        .unbound
        .iter()
        .take(MAX_PER_KIND)
        .map(|tool| {
            let agents = tool.agents.join(", ");
            visible_line(&format!("{} ({agents})", tool.name)).into_owned()
        })
        .collect();
    if let Some(more) = report
        .unbound
        .len()
        .checked_sub(MAX_PER_KIND)
        .filter(|&n| n > 0)
    {
        names.push(format!("and {more} more"));
    }
    Some(format!(
        "{shown}: {} unbound tool(s), whose calls fail as not found: {}; \
         `crewtui validate --bindings-skeleton` writes a bindings file for them",
        report.unbound.len(),
        names.join(", ")
    ))
}
