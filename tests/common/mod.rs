//! Helpers shared by the integration tests: crews from text, sessions run to the end, the
//! binary kept away from the developer's own files.
#![allow(dead_code)]

use std::path::Path;
use std::time::Duration;

use crewtui::config::load_crew_str;
use crewtui::config::model::Crew;
use crewtui::engine::run::TimelineLimits;
use crewtui::engine::{self, Command, Event, EventKind, Run, SessionHandle, SessionParts};

/// The binary with `args`, its logs and default sessions kept under `home`.
pub fn binary(home: &Path, args: &[&str]) -> std::process::Command {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_crewtui"));
    command
        .args(args)
        .env("XDG_STATE_HOME", home.join("state"))
        .env("XDG_DATA_HOME", home.join("data"));
    command
}

/// A crew from YAML text; panics with the diagnostics if it does not load.
pub fn crew(yaml: &str) -> Crew {
    let dir = std::env::temp_dir();
    let report = load_crew_str(yaml, Path::new("test-crew.yaml"), &dir);
    match report.crew {
        Some(crew) => crew,
        None => panic!("crew did not load: {:#?}", report.diagnostics),
    }
}

pub fn start(crew: Crew, input: &str) -> SessionHandle {
    let parts = SessionParts::for_crew(&crew, &reqwest::Client::new());
    engine::start(crew, input.to_string(), parts)
}

/// Reads every event until the session ends, answering pauses from `answers` in order and
/// giving up (the session then ends paused) when they run out.
pub async fn run_to_end(handle: SessionHandle, answers: &[&str]) -> Vec<Event> {
    run_on(handle, &[], answers).await
}

/// [`run_to_end`] for a session resumed from `prior`: a session that stopped at a pause goes
/// on waiting for its answer without asking again, which the run model of `prior` tells.
pub async fn run_on(mut handle: SessionHandle, prior: &[Event], answers: &[&str]) -> Vec<Event> {
    let mut answers = answers.iter();
    let mut commands = Some(handle.commands.clone());
    drop(handle.commands);
    let mut run = Run::new("", &[], TimelineLimits::default());
    for event in prior {
        run.apply(event);
    }
    let mut events = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while let Ok(Some(event)) = tokio::time::timeout_at(deadline, handle.events.recv()).await {
        run.apply(&event);
        let asks = matches!(
            event.kind,
            EventKind::Paused { .. } | EventKind::SessionResumed {}
        ) && run.pause().is_some();
        if asks {
            match answers.next() {
                Some(a) => {
                    let tx = commands
                        .as_ref()
                        .expect("commands open while answers remain");
                    tx.send(Command::Answer(a.to_string()))
                        .await
                        .expect("send answer");
                }
                None => commands = None,
            }
        }
        events.push(event);
    }
    events
}

/// The `type` tag of each event, for compact assertions.
pub fn types(events: &[Event]) -> Vec<String> {
    events
        .iter()
        .map(|e| {
            serde_json::to_value(e).expect("event serializes")["type"]
                .as_str()
                .unwrap_or_default()
                .to_string()
        })
        .collect()
}

pub fn finish(events: &[Event]) -> (engine::Outcome, String) {
    match events.last().map(|e| &e.kind) {
        Some(EventKind::SessionFinished { outcome, reason }) => (*outcome, reason.clone()),
        other => panic!("last event is not session_finished: {other:?}"),
    }
}

/// The text an agent streamed (reasoning excluded).
pub fn streamed(events: &[Event], agent: &str) -> String {
    events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::Token {
                agent: a,
                text,
                reasoning: false,
            } if a == agent => Some(text.as_str()),
            _ => None,
        })
        .collect()
}
