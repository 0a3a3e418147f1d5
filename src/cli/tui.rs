//! `crewtui [run] CREW`: the crew in the full-screen TUI.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};

use anyhow::Context;
use crewtui::engine;
use crewtui::engine::run::{AgentInfo, Terms};
use crewtui::signals::StopSignals;
use crewtui::tui::live::Launch;

use super::RunArgs;
use super::headless::load;
use super::{output, setup};

pub fn run(args: RunArgs) -> anyhow::Result<ExitCode> {
    let crew = load(&args.crew, args.tools.as_deref())?;
    let theme = setup::theme(args.theme.as_deref())?;
    let dir = setup::sessions_dir(args.sessions_dir)?;
    // Without --input the crew's own input is used; with neither, the TUI asks for one.
    let input = args.input.or_else(|| crew.input.clone());
    let agents = AgentInfo::from_crew(&crew);
    let terms = Terms::for_crew(&crew);
    let name = crew.name.clone();
    let recorded: Arc<Mutex<Option<PathBuf>>> = Arc::default();
    let outcome = setup::block_on(async {
        // Caught before the session file exists, so no signal finds it half set up.
        let signals = StopSignals::install().context("catching signals")?;
        if args.debug.control.is_some() {
            anyhow::bail!("--control is for --headless runs; the TUI takes its commands from keys");
        }
        let mut parts = setup::session_parts(&crew)?;
        parts.gates = args.debug.gates()?;
        let launch = match input {
            Some(input) => {
                let recorder = setup::open_recorder(&dir, &crew, &parts.session_id, &input)?;
                *recorded.lock().unwrap_or_else(|e| e.into_inner()) =
                    Some(recorder.path().to_path_buf());
                parts.log = Some(Box::new(recorder));
                Launch::Running(engine::start(crew, input, parts))
            }
            None => {
                let recorded = Arc::clone(&recorded);
                Launch::AskFirst {
                    crew: Box::new(crew),
                    parts: Box::new(parts),
                    open_log: Box::new(move |crew, session_id, input| {
                        let recorder = setup::open_recorder(&dir, crew, session_id, input)
                            .map_err(|e| format!("{e:#}"))?;
                        *recorded.lock().unwrap_or_else(|e| e.into_inner()) =
                            Some(recorder.path().to_path_buf());
                        Ok(Box::new(recorder) as Box<dyn engine::EventLog>)
                    }),
                }
            }
        };
        crewtui::tui::run_live(&name, &agents, terms, &[], launch, &theme, signals)
            .await
            .context("running the terminal UI")
    })?;
    if let Some(path) = recorded.lock().unwrap_or_else(|e| e.into_inner()).as_ref() {
        report_recorded(path, outcome);
    }
    Ok(match outcome {
        Some(outcome) => ExitCode::from(outcome.exit_code() as u8),
        None => ExitCode::SUCCESS,
    })
}

/// Where the session was recorded, and for one left waiting how to go on with it.
pub(super) fn report_recorded(path: &std::path::Path, outcome: Option<engine::Outcome>) {
    let path = crewtui::text::visible_line(&path.display().to_string()).into_owned();
    output::warn(format_args!("crewtui: session recorded in {path}"));
    if outcome == Some(engine::Outcome::Paused) {
        output::warn(format_args!(
            "crewtui: the run waits; `crewtui resume {path}` goes on from there"
        ));
    }
}
