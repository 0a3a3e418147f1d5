//! `crewtui run --headless`: the session's events as JSON lines on stdout, pauses answered from
//! `--answer` in order. Everything else (warnings, errors, where the session was recorded) goes
//! to stderr. The session's [`Recorder`] prints each line as it records it, through a
//! [`Printer`] of stdout's own; the loop here only answers pauses and waits for the end, or
//! for a [`Stop`].

use std::collections::VecDeque;
use std::process::ExitCode;

use anyhow::{Context, bail};
use crewtui::config::load_crew;
use crewtui::config::model::Crew;
use crewtui::engine::run::TimelineLimits;
use crewtui::engine::{self, Command, Event, EventKind, Outcome, Run, SessionHandle, SessionParts};
use crewtui::session::{Clock, Printer, Recorder};
use crewtui::signals::StopSignals;
use crewtui::text::visible_line;

use super::stop::{Next, Stop};
use super::{RunArgs, output, setup};

/// Loads the crew, reporting its diagnostics on stderr; errors end the run.
pub fn load(path: &std::path::Path) -> anyhow::Result<Crew> {
    let report = load_crew(path);
    for diagnostic in &report.diagnostics {
        output::warn(diagnostic);
    }
    for omitted in &report.omitted {
        output::warn(omitted);
    }
    match report.crew {
        Some(crew) => Ok(crew),
        None => bail!(
            "{}: the crew has {} error(s); see above",
            visible_line(&path.display().to_string()),
            report.error_count()
        ),
    }
}

/// The first input: `--input`, else the crew's own `input`.
pub fn first_input(crew: &Crew, input: Option<String>) -> anyhow::Result<String> {
    match input.or_else(|| crew.input.clone()) {
        Some(input) => Ok(input),
        None => bail!(
            "{}: the crew needs an input: pass --input TEXT (or give the crew an `input:` key)",
            visible_line(&crew.source.display().to_string())
        ),
    }
}

pub fn run(args: RunArgs) -> anyhow::Result<ExitCode> {
    let crew = load(&args.crew)?;
    let input = first_input(&crew, args.input)?;
    let dir = setup::sessions_dir(args.sessions_dir)?;
    let outcome = setup::block_on(async {
        // Caught before the session file exists, so no signal finds it half set up.
        let signals = StopSignals::install().context("catching signals")?;
        let mut parts = setup::session_parts(&crew)?;
        let recorder = setup::open_recorder(&dir, &crew, &parts.session_id, &input)?;
        let path = recorder.path().to_path_buf();
        let printer = print_and_record(&mut parts, recorder)?;
        let outcome = drive(
            engine::start(crew, input, parts),
            &[],
            args.answers.into(),
            printer,
            signals,
        )
        .await;
        output::warn(format_args!(
            "crewtui: session recorded in {}",
            visible_line(&path.display().to_string())
        ));
        outcome
    })?;
    Ok(ExitCode::from(outcome.exit_code() as u8))
}

/// Makes the session print its events on stdout as it records them, from a thread of
/// stdout's own; returns what tells how printing goes.
pub fn print_and_record(
    parts: &mut SessionParts,
    mut recorder: Recorder,
) -> anyhow::Result<Printer> {
    use std::os::fd::AsFd;
    // A descriptor of its own: the printer's thread may wait in `write` for as long as the
    // reader does not read, and must not hold the process's stdout lock meanwhile.
    let stdout = std::io::stdout()
        .as_fd()
        .try_clone_to_owned()
        .context("opening stdout")?;
    let printer = Printer::start(Box::new(std::fs::File::from(stdout)), Clock::system())
        .context("starting the stdout thread")?;
    recorder.print_to(printer.clone());
    parts.log = Some(Box::new(recorder));
    Ok(printer)
}

/// Follows a session printed through [`print_and_record`] until it ends, answering its pauses
/// from `answers`. `prior` are the events of the recording a resumed session goes on from.
/// Where the session stands and how it ended are read from the run model, as every front end
/// reads them. A stop signal or a failed stdout cancels it (see [`Stop`]).
pub async fn drive(
    mut handle: SessionHandle,
    prior: &[Event],
    mut answers: VecDeque<String>,
    printer: Printer,
    signals: StopSignals,
) -> anyhow::Result<Outcome> {
    let mut commands = Some(handle.commands.clone());
    drop(handle.commands);
    // Only what the run model says of the session is needed here: no timelines.
    let limits = TimelineLimits {
        max_bytes: 0,
        max_lines: 0,
    };
    let mut run = Run::new("", &[], limits);
    for event in prior {
        run.apply(event);
    }
    let mut stop = Stop::new(printer, signals);
    loop {
        let event = match stop.next(&mut handle.events).await {
            Next::Event(event) => event,
            // The session's last events (cancellations, the end) still come, and are recorded.
            Next::Stop => {
                if let Some(commands) = &commands {
                    let _ = commands.send(Command::CancelSession).await;
                }
                continue;
            }
            Next::End => break,
        };
        run.apply(&event);
        // A pause begins, or a resumed session goes on waiting for the answer it stopped at.
        let asks = matches!(
            event.kind,
            EventKind::Paused { .. } | EventKind::SessionResumed {}
        ) && run.pause().is_some();
        if asks {
            match answers.pop_front() {
                Some(answer) => {
                    if let Some(commands) = &commands {
                        commands
                            .send(Command::Answer(answer))
                            .await
                            .context("answering the pause")?;
                    }
                }
                // No answer left: the session ends paused once nobody can send one.
                None => commands = None,
            }
        }
    }
    stop.finish(handle.task).await?;
    run.outcome()
        .context("the session ended without reporting an outcome")
}
