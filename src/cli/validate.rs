//! `crewtui validate`: every problem of a crew, one per line, and the tools it lists that
//! nothing provides; with `--bindings-skeleton`, a bindings file for those tools on stdout
//! (everything else then goes to stderr, so the skeleton can be redirected into a file).

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use crewtui::config::{MAX_PER_KIND, bindings_skeleton, load_crew_with_tools};
use crewtui::text::visible_line;

pub fn run(path: &Path, tools: Option<&Path>, skeleton: bool) -> ExitCode {
    let report = load_crew_with_tools(path, tools);
    let shown = path.display().to_string();
    let shown = visible_line(&shown);
    let mut out: Box<dyn Write> = if skeleton {
        Box::new(std::io::stderr())
    } else {
        Box::new(std::io::stdout())
    };
    // A closed stdout (`| head`) leaves nothing to tell.
    let mut say = |line: String| {
        let _ = writeln!(out, "{line}");
    };
    for diagnostic in &report.diagnostics {
        say(diagnostic.to_string());
    }
    for omitted in &report.omitted {
        say(omitted.to_string());
    }
    if !report.unbound.is_empty() {
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
        say(format!(
            "{shown}: {} unbound tool(s), whose calls fail as not found: {}; \
             `crewtui validate --bindings-skeleton` writes a bindings file for them",
            report.unbound.len(),
            names.join(", ")
        ));
    }
    let errors = report.error_count();
    let warnings = report.warning_count();
    let infos = match report.infos().count() {
        0 => String::new(),
        n => format!(", {n} info"),
    };
    let code = if errors > 0 {
        say(format!(
            "{shown}: {errors} error(s), {warnings} warning(s){infos}"
        ));
        ExitCode::FAILURE
    } else {
        let agents = report.crew.as_ref().map_or(0, |c| c.agents.len());
        say(format!(
            "{shown}: ok, {agents} agent(s), {warnings} warning(s){infos}"
        ));
        ExitCode::SUCCESS
    };
    if skeleton {
        if report.unbound.is_empty() {
            say(format!(
                "{shown}: every tool is bound; no skeleton to write"
            ));
        } else {
            let text = bindings_skeleton(&report.name, &report.unbound, report.bindings.as_deref());
            let mut stdout = std::io::stdout();
            let _ = stdout.write_all(text.as_bytes());
        }
    }
    code
}
