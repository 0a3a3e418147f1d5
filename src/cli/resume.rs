//! `crewtui resume FILE`: go on with a session that paused or was cut off, live, appending to
//! the same file.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;
use crewtui::engine;
use crewtui::engine::run::AgentInfo;
use crewtui::session::Recorder;
use crewtui::tui::live::Launch;

use super::{headless, setup};

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
    let outcome = setup::runtime()?.block_on(async {
        // The torn tail of a crash is cut off here, before anything is appended.
        let (recorder, recording) = Recorder::append(&args.file)?;
        super::setup::report_read_warnings(&args.file, &recording.warnings);
        let crew = recording.header.crew.clone();
        let mut parts = setup::session_parts(&crew)?;
        let printed = if args.headless {
            Some(headless::print_and_record(&mut parts, recorder))
        } else {
            parts.log = Some(Box::new(recorder));
            None
        };
        let agents = AgentInfo::from_crew(&crew);
        let handle = engine::resume(crew, recording.resumable_events(), parts)
            .with_context(|| format!("{}", args.file.display()))?;
        if let Some(printed) = printed {
            headless::drive(
                handle,
                recording.resumable_events(),
                args.answers.into(),
                printed,
            )
            .await
            .map(Some)
        } else {
            crewtui::tui::run_live(
                &recording.header.crew_name,
                &agents,
                recording.resumable_events(),
                Launch::Running(handle),
                &theme,
            )
            .await
            .context("running the terminal UI")
        }
    })?;
    eprintln!("crewtui: session recorded in {}", args.file.display());
    Ok(match outcome {
        Some(outcome) => ExitCode::from(outcome.exit_code() as u8),
        None => ExitCode::SUCCESS,
    })
}
