//! `crewtui resume SESSION`: go on with a session that paused or was cut off, live, appending to
//! the same file.
//!
//! The crew comes from a crew file on disk (the one the header names, or `--crew`), never from
//! the header: a session file is data, and what its header says a crew is only describes the
//! run (DESIGN.md principle 9). How the crew on disk differs from the header's is said first.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::Args;
use crewtui::config::model::Crew;
use crewtui::engine;
use crewtui::engine::run::{AgentInfo, Terms};
use crewtui::session::{Header, Recorder};
use crewtui::signals::StopSignals;
use crewtui::text::visible_line;
use crewtui::tui::live::Launch;

use super::{headless, output, setup};

#[derive(Debug, Args)]
pub struct ResumeArgs {
    /// A session that ended paused or was cut off: its file, its id or part of it, or --last
    #[command(flatten)]
    pub session: super::pick::SessionArg,
    /// Print the new events as JSON lines on stdout instead of showing the TUI
    #[arg(long)]
    pub headless: bool,
    /// An answer for the next pause (headless); repeat for several pauses, used in order
    #[arg(long = "answer", value_name = "TEXT")]
    pub answers: Vec<String>,
    /// The crew to go on with (default: the crew file the session was recorded from)
    #[arg(long, value_name = "PATH")]
    pub crew: Option<PathBuf>,
    /// Tool bindings for the crew (default: NAME.tools.yaml beside the crew file, if any)
    #[arg(long, value_name = "FILE")]
    pub tools: Option<PathBuf>,
    /// Colours: dark (default), light, high-contrast, or a theme file (NO_COLOR is honoured)
    #[arg(long, value_name = "NAME|PATH")]
    pub theme: Option<String>,
    /// Breakpoints added to those the session had set, stepping, approval, control input
    #[command(flatten)]
    pub debug: super::DebugArgs,
}

pub fn run(args: ResumeArgs) -> anyhow::Result<ExitCode> {
    let theme = setup::theme(args.theme.as_deref())?;
    let file = args.session.resolve()?;
    // Refused here while another process appends to the file. Nothing in it changes until the
    // first new event is recorded (a torn tail is cut off then): a resume refused before — its
    // crew cannot be loaded, its session ended — leaves the file as it was.
    let (recorder, recording) = Recorder::append(&file)?;
    setup::report_read_warnings(&file, &recording.warnings);
    let crew = load_crew(
        &file,
        args.crew.as_deref(),
        args.tools.as_deref(),
        &recording.header,
    )?;
    report_changes(&recording.header, &crew);
    let outcome = setup::block_on(async {
        // Caught before the session goes on, so no signal finds it half continued.
        let signals = StopSignals::install().context("catching signals")?;
        let control = match (&args.debug.control, args.headless) {
            (Some(source), true) => Some(super::control::Control::open(source).await?),
            (Some(_), false) => anyhow::bail!("--control is for --headless runs"),
            (None, _) => None,
        };
        let mut parts = setup::session_parts(&crew)?;
        parts.gates = args.debug.gates()?;
        let printer = if args.headless {
            Some(headless::print_and_record(&mut parts, recorder)?)
        } else {
            parts.log = Some(Box::new(recorder));
            None
        };
        let agents = AgentInfo::from_crew(&crew);
        let terms = Terms::for_crew(&crew);
        let handle = engine::resume(crew, recording.resumable_events(), parts)
            .with_context(|| format!("{}", file.display()))?;
        if let Some(printer) = printer {
            headless::drive(
                handle,
                recording.resumable_events(),
                args.answers.into(),
                control,
                printer,
                signals,
            )
            .await
            .map(Some)
        } else {
            crewtui::tui::run_live(
                &recording.header.crew_name,
                &agents,
                terms,
                recording.resumable_events(),
                Launch::Running(handle),
                &theme,
                signals,
            )
            .await
            .context("running the terminal UI")
        }
    })?;
    super::tui::report_recorded(&file, outcome);
    Ok(match outcome {
        Some(outcome) => ExitCode::from(outcome.exit_code() as u8),
        None => ExitCode::SUCCESS,
    })
}

/// Differences shown at most; the rest are counted.
const MAX_CHANGES_SHOWN: usize = 12;

/// The crew from `--crew`, else from the crew file the header names, with the tool bindings
/// of `tools`, else those beside it.
fn load_crew(
    file: &Path,
    crew: Option<&Path>,
    tools: Option<&Path>,
    header: &Header,
) -> anyhow::Result<Crew> {
    let session = file.display();
    if let Some(path) = crew {
        return headless::load(path, tools);
    }
    let Some(path) = &header.crew_path else {
        bail!(
            "{session}: the session does not say which crew file it was run from (it was \
             recorded without one); pass --crew PATH"
        );
    };
    headless::load(path, tools).with_context(|| {
        format!(
            "{session}: the session's crew file {} cannot be loaded; pass --crew PATH to go on \
             with another",
            visible_line(&path.display().to_string())
        )
    })
}

/// Says on stderr which crew file the session goes on with (a shared session file names one of
/// its own choosing), and how it differs from the crew the session was recorded with.
fn report_changes(header: &Header, crew: &Crew) {
    let path = crew
        .origin
        .as_ref()
        .map_or(crew.source.display(), |o| o.path.display())
        .to_string();
    let path = visible_line(&path);
    let changes = header.crew_changes(crew);
    if changes.is_empty() {
        let edited = header.crew_files_changed(crew) == Some(true);
        let note = if edited {
            " (edited since the session was recorded; the crew it defines is the same)"
        } else {
            ""
        };
        output::warn(format_args!(
            "crewtui: going on with the crew in {path}{note}"
        ));
        return;
    }
    output::warn(format_args!(
        "crewtui: going on with the crew in {path}, which differs from the one the session was \
         recorded with:"
    ));
    for change in changes.iter().take(MAX_CHANGES_SHOWN) {
        output::warn(format_args!("  {change}"));
    }
    if let Some(more) = changes
        .len()
        .checked_sub(MAX_CHANGES_SHOWN)
        .filter(|&n| n > 0)
    {
        output::warn(format_args!("  ... and {more} more"));
    }
}
