//! Helpers shared by the integration tests: crews from text, sessions run to the end, the
//! binary kept away from the developer's own files.
#![allow(dead_code)]

pub mod term;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
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
                    tx.send(Command::answer(a.to_string()))
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

/// Runs a session to its end, answering each event with the commands `decide` gives for it
/// (it sees the events before it too); returns every event.
pub async fn drive(
    mut handle: SessionHandle,
    mut decide: impl FnMut(&Event, &[Event]) -> Vec<Command>,
) -> Vec<Event> {
    let mut events = Vec::new();
    while let Some(event) = handle.events.recv().await {
        let commands = decide(&event, &events);
        events.push(event);
        for command in commands {
            handle.commands.send(command).await.unwrap();
        }
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

/// What a run did, as an outside reader of its events would list it.
#[derive(Debug, PartialEq)]
pub struct Story {
    /// Per agent: its whole replies, in order.
    pub replies: BTreeMap<String, Vec<String>>,
    /// Per agent: each tool call's tool and outcome, in order.
    pub tools: BTreeMap<String, Vec<String>>,
    pub handoffs: Vec<(String, String)>,
    pub groups: Vec<String>,
    pub outcome: String,
}

pub fn story(events: &[Event], nondeterministic_tools: &[&str]) -> Story {
    let mut s = Story {
        replies: BTreeMap::new(),
        tools: BTreeMap::new(),
        handoffs: Vec::new(),
        groups: Vec::new(),
        outcome: String::new(),
    };
    for e in events {
        match &e.kind {
            EventKind::Message {
                agent,
                content,
                entry: Some(_),
                ..
            } => s
                .replies
                .entry(agent.to_string())
                .or_default()
                .push(content.clone()),
            EventKind::ToolResult {
                agent,
                tool,
                output,
                ..
            } => {
                let output = if nondeterministic_tools.contains(&tool.as_str()) {
                    "<varies>"
                } else {
                    output
                };
                s.tools
                    .entry(agent.to_string())
                    .or_default()
                    .push(format!("{tool} -> {output}"));
            }
            EventKind::ToolFailed {
                agent,
                tool,
                error,
                kind,
                ..
            } => s
                .tools
                .entry(agent.to_string())
                .or_default()
                .push(format!("{tool} failed {kind:?}: {error}")),
            EventKind::Handoff { from, to, .. } => s.handoffs.push((from.clone(), to.to_string())),
            EventKind::ParallelFinished {
                group,
                completed,
                failed,
                ..
            } => s
                .groups
                .push(format!("{group}: {completed:?} / {failed:?}")),
            EventKind::SessionFinished { outcome, reason } => {
                s.outcome = format!("{} — {reason}", outcome.label());
            }
            _ => {}
        }
    }
    s
}

/// The processes whose command line is `sleep SECONDS`, by pid: how a test finds the program a
/// command tool started (a number of seconds no other test uses tells it apart).
pub fn sleeping(seconds: &str) -> Vec<u32> {
    let wanted = format!("sleep\0{seconds}\0");
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|entry| {
            let entry = entry.ok()?;
            let pid: u32 = entry.file_name().to_str()?.parse().ok()?;
            let cmdline = std::fs::read(entry.path().join("cmdline")).ok()?;
            (cmdline == wanted.as_bytes()).then_some(pid)
        })
        .collect()
}

/// The demo crew and its files in `dir`, streaming at rate 0 so a run takes no time.
pub fn instant_demo(dir: &Path) -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("crews");
    let yaml = std::fs::read_to_string(root.join("demo.yaml")).unwrap();
    let yaml = yaml.replace(
        "scripted_tokens_per_second: 40",
        "scripted_tokens_per_second: 0",
    );
    assert!(yaml.contains("scripted_tokens_per_second: 0"));
    std::fs::write(dir.join("demo.yaml"), yaml).unwrap();
    std::fs::create_dir_all(dir.join("demo-files")).unwrap();
    std::fs::copy(
        root.join("demo-files/checklist.md"),
        dir.join("demo-files/checklist.md"),
    )
    .unwrap();
    dir.join("demo.yaml")
}
