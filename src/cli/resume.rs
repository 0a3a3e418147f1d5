//! `crewtui resume FILE`: go on with a session that paused or was cut off, live, appending to
//! the same file.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;
use crewtui::engine;
use crewtui::session::Recorder;
use crewtui::signals::StopSignals;
use crewtui::tui::app::AgentInfo;
use crewtui::tui::live::Launch;

use super::{headless, output, setup};

#[derive(Debug, Args)]
pub struct ResumeArgs {
    /// A session file that ended paused or was cut off (see `crewtui sessions`)
    pub file: PathBuf,
    /// Print the new events as JSON lines on stdout instead of showing the TUI
    #[arg(long)]
    pub headless: bool,
    /// An answer for the next pause (headless); repeat for several pauses, used in order
    #[arg(long = "answer", value_name = "TEXT")]
    pub answers: Vec<String>,
    /// Colours: dark (default), light, high-contrast, or a theme file (NO_COLOR is honoured)
    #[arg(long, value_name = "NAME|PATH")]
    pub theme: Option<String>,
}

pub fn run(args: ResumeArgs) -> anyhow::Result<ExitCode> {
    let theme = setup::theme(args.theme.as_deref())?;
    let outcome = setup::block_on(async {
        // Caught before the file is touched, so no signal finds it half continued.
        let signals = StopSignals::install().context("catching signals")?;
        // Refused here while another process appends to the file; a torn tail is cut off
        // only once the first new event is recorded.
        let (recorder, recording) = Recorder::append(&args.file)?;
        super::setup::report_read_warnings(&args.file, &recording.warnings);
        let crew = recording.header.crew.clone();
        let mut parts = setup::session_parts(&crew)?;
        let printer = if args.headless {
            Some(headless::print_and_record(&mut parts, recorder)?)
        } else {
            parts.log = Some(Box::new(recorder));
            None
        };
        let agents = AgentInfo::from_crew(&crew);
        let handle = engine::resume(crew, &recording.events, parts)
            .with_context(|| format!("{}", args.file.display()))?;
        if let Some(printer) = printer {
            headless::drive(handle, args.answers.into(), printer, signals)
                .await
                .map(Some)
        } else {
            crewtui::tui::run_live(
                &recording.header.crew_name,
                &agents,
                &recording.events,
                Launch::Running(handle),
                &theme,
                signals,
            )
            .await
            .context("running the terminal UI")
        }
    })?;
    output::warn(format_args!(
        "crewtui: session recorded in {}",
        args.file.display()
    ));
    Ok(match outcome {
        Some(outcome) => ExitCode::from(outcome.exit_code() as u8),
        None => ExitCode::SUCCESS,
    })
}
