//! `crewtui run --headless`: the session's events as JSON lines on stdout, pauses answered from
//! `--answer` in order. Everything else (warnings, errors) goes to stderr.

use std::collections::VecDeque;
use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, bail};
use crewtui::config::load_crew;
use crewtui::config::model::Crew;
use crewtui::engine::{self, Command, EventKind, Outcome, SessionParts};

use super::RunArgs;

/// Loads the crew, reporting its diagnostics on stderr; errors end the run.
pub fn load(path: &std::path::Path) -> anyhow::Result<Crew> {
    let report = load_crew(path);
    for diagnostic in &report.diagnostics {
        eprintln!("{diagnostic}");
    }
    match report.crew {
        Some(crew) => Ok(crew),
        None => bail!(
            "{}: the crew has {} error(s); see above",
            path.display(),
            report.errors().count()
        ),
    }
}

/// The first input: `--input`, else the crew's own `input`.
pub fn first_input(crew: &Crew, input: Option<String>) -> anyhow::Result<String> {
    match input.or_else(|| crew.input.clone()) {
        Some(input) => Ok(input),
        None => bail!(
            "{}: the crew needs an input: pass --input TEXT (or give the crew an `input:` key)",
            crew.source.display()
        ),
    }
}

pub fn run(args: RunArgs) -> anyhow::Result<ExitCode> {
    let crew = load(&args.crew)?;
    let input = first_input(&crew, args.input)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let outcome = runtime.block_on(drive(crew, input, args.answers.into()))?;
    Ok(ExitCode::from(outcome.exit_code() as u8))
}

async fn drive(
    crew: Crew,
    input: String,
    mut answers: VecDeque<String>,
) -> anyhow::Result<Outcome> {
    let http = crewtui::provider::openai::http_client(Duration::from_secs(
        crew.settings.connect_timeout_seconds,
    ))
    .context("setting up the HTTP client")?;
    let parts = SessionParts::for_crew(&crew, &http);
    let mut handle = engine::start(crew, input, parts);
    let mut commands = Some(handle.commands.clone());
    drop(handle.commands);
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let mut outcome = None;
    loop {
        let event = tokio::select! {
            event = handle.events.recv() => event,
            _ = tokio::signal::ctrl_c() => {
                if let Some(commands) = &commands {
                    let _ = commands.send(Command::CancelSession).await;
                }
                continue;
            }
        };
        let Some(event) = event else { break };
        serde_json::to_writer(&mut out, &event).context("encoding an event")?;
        out.write_all(b"\n").context("writing to stdout")?;
        // Readers of the stream see each event as it happens, not when a buffer fills.
        if handle.events.is_empty() {
            out.flush().context("writing to stdout")?;
        }
        match event.kind {
            EventKind::Paused { .. } => match answers.pop_front() {
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
            },
            EventKind::SessionFinished { outcome: o, .. } => outcome = Some(o),
            _ => {}
        }
    }
    out.flush().context("writing to stdout")?;
    let _ = handle.task.await;
    outcome.context("the session ended without reporting an outcome")
}
