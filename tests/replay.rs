//! Recording and replay: a recorded run folds back into the state the live run ended in, a
//! damaged file still replays, and a replay stopped half way looks as it should.

mod common;

use std::path::{Path, PathBuf};

use common::run_to_end;
use crewtui::engine::run::{AgentInfo, TimelineLimits};
use crewtui::engine::{self, Run, SessionParts};
use crewtui::session::{self, Header, Playback, ReadWarning, Recorder};
use crewtui::tui::render;
use crewtui::tui::theme::Theme;
use crewtui::tui::view::{Mode, Timeline, View};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn instant_demo() -> crewtui::config::model::Crew {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("crews/demo.yaml");
    let mut crew = crewtui::config::load_crew(&path).crew.expect("demo loads");
    crew.settings.scripted_tokens_per_second = 0.0;
    crew
}

/// Runs the demo crew recorded into `dir`; returns the live run model and the file.
async fn recorded_demo(dir: &Path) -> (Run, PathBuf) {
    recorded(dir, instant_demo()).await
}

/// Runs `crew` recorded into `dir`; returns the live run model and the file.
async fn recorded(dir: &Path, crew: crewtui::config::model::Crew) -> (Run, PathBuf) {
    let mut parts = SessionParts::for_crew(&crew, &reqwest::Client::new());
    let header = Header::new(
        &parts.session_id,
        &crew,
        "plan it",
        std::time::SystemTime::now(),
    );
    let recorder = Recorder::create(dir, &header).unwrap();
    let path = recorder.path().to_path_buf();
    parts.log = Some(Box::new(recorder));
    // The live TUI's run model: priced as the crew says.
    let mut live = Run::for_crew(&crew, TimelineLimits::default());
    let events = run_to_end(
        engine::start(crew, "plan it".into(), parts),
        &["Crew authors"],
    )
    .await;
    for e in &events {
        live.apply(e);
    }
    (live, path)
}

fn replayed(path: &Path) -> (Playback, Vec<ReadWarning>) {
    let (playback, _, warnings) = Playback::open(path, TimelineLimits::default()).unwrap();
    (playback, warnings)
}

#[tokio::test]
async fn a_replay_ends_in_the_state_the_live_run_ended_in() {
    let dir = scratch("replay-same-state");
    let (live, path) = recorded_demo(&dir).await;
    let (mut replayer, warnings) = replayed(&path);
    assert!(warnings.is_empty());
    replayer.seek(replayer.len());
    assert_eq!(format!("{live:?}"), format!("{:?}", replayer.run()));
    // Seeking back and forth on the way gives the same end.
    replayer.seek(replayer.len() / 3);
    replayer.seek(10);
    replayer.seek(replayer.len());
    assert_eq!(format!("{live:?}"), format!("{:?}", replayer.run()));
}

#[tokio::test]
async fn a_replay_prices_tokens_as_the_recorded_crew_said() {
    let dir = scratch("replay-prices");
    let mut crew = instant_demo();
    // A model no price table knows, priced by the crew alone.
    let model = "house-model".to_string();
    for agent in &mut crew.agents {
        agent.model = model.clone();
    }
    let dear = crewtui::config::model::Price {
        input: 1_000.0,
        cached_input: None,
        output: 1_000.0,
    };
    crew.prices.models.insert(model, dear);
    let (_, path) = recorded(&dir, crew.clone()).await;
    let (mut replayer, _) = replayed(&path);
    replayer.seek(replayer.len());

    let recording = crewtui::session::read(&path).unwrap();
    let mut as_run = Run::for_crew(&crew, TimelineLimits::default());
    let mut by_table = Run::new(
        "launch-plan",
        &AgentInfo::from_crew(&crew),
        TimelineLimits::default(),
    );
    for e in &recording.events {
        as_run.apply(e);
        by_table.apply(e);
    }
    let replayed = replayer.run().spend().cost_usd;
    assert!(
        replayed > by_table.spend().cost_usd * 10.0,
        "replayed ${replayed}, the table's price ${}",
        by_table.spend().cost_usd
    );
    assert_eq!(replayed, as_run.spend().cost_usd);
}

#[tokio::test]
async fn a_cut_off_or_corrupt_file_still_replays() {
    let dir = scratch("replay-damaged");
    let (_, path) = recorded_demo(&dir).await;
    let text = std::fs::read_to_string(&path).unwrap();
    let lines: Vec<&str> = text.lines().collect();

    // Cut in the middle of line 40.
    let cut: usize = lines[..39].iter().map(|l| l.len() + 1).sum::<usize>() + lines[39].len() / 2;
    let torn = dir.join("torn.jsonl");
    std::fs::write(&torn, &text.as_bytes()[..cut]).unwrap();
    let (mut replayer, warnings) = replayed(&torn);
    assert_eq!(replayer.len(), 38, "header + 38 whole events");
    assert_eq!(warnings.len(), 1);
    assert_eq!(warnings[0].line, 40);
    replayer.seek(replayer.len());
    assert!(
        replayer.run().running(),
        "a cut-off run replays as still going"
    );

    // Garbage in place of line 20.
    let mut garbled: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
    garbled[19] = "{\"seq\": 18, \"type\": \"tok".to_string();
    let corrupt = dir.join("corrupt.jsonl");
    std::fs::write(&corrupt, garbled.join("\n") + "\n").unwrap();
    let (mut replayer, warnings) = replayed(&corrupt);
    assert_eq!(warnings.len(), 1);
    assert_eq!(warnings[0].line, 20);
    assert_eq!(replayer.len(), lines.len() - 2);
    replayer.seek(replayer.len());
    assert!(
        replayer.run().finish().is_some(),
        "the replay reaches the end"
    );
}

/// The demo's events made the same on every run: a parallel group's agents one after another
/// (each keeps its own order), steady times, a fixed clock.
fn steady(mut events: Vec<engine::Event>) -> Vec<engine::Event> {
    use engine::EventKind;
    let start = events
        .iter()
        .position(|e| matches!(e.kind, EventKind::ParallelStarted { .. }))
        .unwrap();
    let end = events
        .iter()
        .position(|e| matches!(e.kind, EventKind::ParallelFinished { .. }))
        .unwrap();
    let order = ["market", "tech", "risks"];
    events[start + 1..end].sort_by_key(|e| order.iter().position(|a| Some(*a) == e.agent()));
    for (i, e) in events.iter_mut().enumerate() {
        e.seq = i as u64;
        e.t_ms = i as u64 * 40;
        match &mut e.kind {
            EventKind::ToolResult {
                tool,
                output,
                elapsed_ms,
                ..
            } => {
                *elapsed_ms = 0;
                if tool == "current_time" {
                    *output = "2026-11-28T12:00:00Z".into();
                }
            }
            EventKind::SessionStarted { session_id, .. } => *session_id = "<session>".into(),
            _ => {}
        }
    }
    events
}

#[tokio::test]
async fn a_replay_stopped_half_way() {
    let dir = scratch("replay-half");
    let (_, path) = recorded_demo(&dir).await;
    let recording = session::read(&path).unwrap();
    let events = steady(recording.events);
    let mut recorder = Recorder::create(&dir.join("steady"), &recording.header).unwrap();
    for e in &events {
        recorder.record(e).unwrap();
    }
    let (mut replayer, _) = replayed(recorder.path());
    let half = replayer.len() / 2;
    replayer.seek(half);
    let mut view = View::new(replayer.run().agents().len());
    view.mode = Mode::Replay(Timeline {
        position: replayer.position(),
        total: replayer.len(),
        playing: false,
        speed: Some(1.0),
        t_ms: replayer.t_ms(),
        total_ms: replayer.total_ms(),
        skipping: None,
        reading: false,
    });
    let mut terminal = Terminal::new(TestBackend::new(140, 36)).unwrap();
    view.sync(replayer.run());
    let now = replayer.t_ms();
    terminal
        .draw(|f| render::draw(f, replayer.run(), &mut view, &Theme::default_dark(), now))
        .unwrap();
    let screen = terminal.backend().to_string();
    assert!(screen.contains(&format!("event {half} / {}", replayer.len())));
    insta::assert_snapshot!(screen);
}

/// A recording with an 18 s silence: an agent that thought for a long time.
fn long_wait() -> Vec<engine::Event> {
    use crewtui::engine::EventKind;
    let kinds = vec![
        (
            0,
            EventKind::SessionStarted {
                session_id: "20261128T120000Z-abcdef".into(),
                crew: "thinker".into(),
                input: "think".into(),
            },
        ),
        (
            0,
            EventKind::AgentStarted {
                agent: "deep".into(),
                turn: 1,
                input: "think".into(),
                round: Some(1),
                entry: None,
            },
        ),
        (
            100,
            EventKind::Token {
                agent: "deep".into(),
                text: "Let me think. ".into(),
                reasoning: false,
            },
        ),
        (
            18_100,
            EventKind::Token {
                agent: "deep".into(),
                text: "Done thinking.".into(),
                reasoning: false,
            },
        ),
        (
            18_200,
            EventKind::SessionFinished {
                outcome: engine::Outcome::Completed,
                reason: String::new(),
            },
        ),
    ];
    numbered(kinds)
}

/// Events of these kinds at these times, numbered in order.
fn numbered(kinds: Vec<(u64, engine::EventKind)>) -> Vec<engine::Event> {
    kinds
        .into_iter()
        .enumerate()
        .map(|(seq, (t_ms, kind))| engine::Event {
            seq: seq as u64,
            t_ms,
            kind,
        })
        .collect()
}

/// Plays `events` at 1× in the replay TUI under the paused clock; after `then` the keys in
/// `keys` are pressed (the last usually `q`), else the input ends. Returns the last frame.
async fn play(events: Vec<engine::Event>, then: std::time::Duration, keys: &[char]) -> String {
    let agents = [AgentInfo {
        id: "deep".into(),
        name: "Deep".into(),
        role: "thinks".into(),
    }];
    play_agents(&agents, events, then, keys).await
}

async fn play_agents(
    agents: &[AgentInfo],
    events: Vec<engine::Event>,
    then: std::time::Duration,
    keys: &[char],
) -> String {
    use crossterm::event::KeyCode;
    let initial = Run::new("thinker", agents, TimelineLimits::default());
    let playback = Playback::from_events(initial, events);
    let keys: Vec<KeyCode> = keys.iter().map(|&c| KeyCode::Char(c)).collect();
    play_back(playback, then, &keys).await
}

/// Plays `playback` as [`play`] does, pressing `keys`.
async fn play_back(
    playback: Playback,
    then: std::time::Duration,
    keys: &[crossterm::event::KeyCode],
) -> String {
    use crossterm::event::{Event as TermEvent, KeyEvent, KeyModifiers};
    let (tx, rx) = tokio::sync::mpsc::channel::<std::io::Result<TermEvent>>(8);
    let input =
        futures_util::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|e| (e, rx)) });
    let input = Box::pin(input);
    let keys = keys.to_vec();
    let press = async move {
        tokio::time::sleep(then).await;
        for code in keys {
            let key = KeyEvent::new(code, KeyModifiers::NONE);
            let _ = tx.send(Ok(TermEvent::Key(key))).await;
            // Time for a frame between keys, as a person takes.
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    };
    let mut terminal = Terminal::new(common::term::Screen(TestBackend::new(100, 14))).unwrap();
    let theme = Theme::default_dark();
    let replay = crewtui::tui::replay::run(
        &mut terminal,
        input,
        futures_util::stream::pending(),
        playback,
        &theme,
        Some(1.0),
    );
    let (done, ()) = tokio::join!(replay, press);
    done.expect("the replay runs");
    terminal.backend().0.to_string()
}

#[tokio::test(start_paused = true)]
async fn a_long_recording_plays_while_it_is_read_and_end_is_its_end() {
    use crewtui::engine::EventKind;
    let dir = scratch("replay-reading");
    let crew = instant_demo();
    let agent = crewtui::engine::AgentId(crew.agents[0].id.clone());
    let header = Header::new("s", &crew, "go", std::time::SystemTime::now());
    let mut recorder = Recorder::create(&dir, &header).unwrap();
    let path = recorder.path().to_path_buf();
    let mut kinds = vec![
        (
            0,
            EventKind::SessionStarted {
                session_id: "s".into(),
                crew: crew.name.clone(),
                input: "go".into(),
            },
        ),
        (
            0,
            EventKind::AgentStarted {
                agent: agent.clone(),
                turn: 1,
                input: "go".into(),
                round: Some(1),
                entry: None,
            },
        ),
    ];
    let tokens = 40_000;
    kinds.extend((0..tokens).map(|i| {
        let text = if i + 1 == tokens {
            "THE-END".into()
        } else {
            format!("t{i} ")
        };
        (
            i,
            EventKind::Token {
                agent: agent.clone(),
                text,
                reasoning: false,
            },
        )
    }));
    for event in numbered(kinds) {
        recorder.record(&event).unwrap();
    }
    drop(recorder);
    let all = tokens as usize + 2;

    let (playback, _, warnings) = Playback::open_first(&path, TimelineLimits::default()).unwrap();
    assert!(warnings.is_empty());
    assert!(
        playback.len() < all,
        "the replay starts before the whole file is read"
    );
    // End, at once: the end of the recording, not of what was read when it was pressed.
    let screen = play_back(
        playback,
        std::time::Duration::ZERO,
        &[
            crossterm::event::KeyCode::End,
            crossterm::event::KeyCode::Char('q'),
        ],
    )
    .await;
    assert!(
        screen.contains(&format!("event {all} / {all} ")),
        "{screen}"
    );
    assert!(screen.contains("THE-END"), "{screen}");
    assert!(!screen.contains('…'), "the file is read: {screen}");
}

#[tokio::test(start_paused = true)]
async fn a_long_recorded_wait_plays_in_two_seconds_and_the_timeline_says_so() {
    // A second into the 18 s wait: the clock has run half of it, and the timeline says why.
    let screen = play(long_wait(), std::time::Duration::from_millis(1_150), &['q']).await;
    assert!(screen.contains("» 18.0s wait played in 2s"), "{screen}");
    assert!(!screen.contains("Done thinking."), "{screen}");
    insta::assert_snapshot!(screen);
    // Three seconds in, the whole 18 s recording has played.
    let screen = play(long_wait(), std::time::Duration::from_secs(3), &['q']).await;
    assert!(
        screen.contains("Done thinking.") && screen.contains("event 5 / 5"),
        "{screen}"
    );
    assert!(!screen.contains("wait played"), "{screen}");
}

/// Two agents over 100 s: a tool call by `risks` at 10 s, a failure of its tool at 80 s.
fn two_moments() -> (Vec<AgentInfo>, Vec<engine::Event>) {
    use crewtui::engine::{EventKind, ToolFailureKind};
    let agents: Vec<AgentInfo> = ["lead", "risks"]
        .iter()
        .map(|id| AgentInfo {
            id: (*id).into(),
            name: format!("{}{}", id[..1].to_uppercase(), &id[1..]),
            role: String::new(),
        })
        .collect();
    let start = |agent: &str| EventKind::AgentStarted {
        agent: agent.into(),
        turn: 1,
        input: "go".into(),
        round: None,
        entry: None,
    };
    let token = |agent: &str, text: &str| EventKind::Token {
        agent: agent.into(),
        text: text.into(),
        reasoning: false,
    };
    let kinds = vec![
        (
            0,
            EventKind::SessionStarted {
                session_id: "20261128T120000Z-abcdef".into(),
                crew: "moments".into(),
                input: "go".into(),
            },
        ),
        (0, start("lead")),
        (1_000, token("lead", "Looking.")),
        (5_000, start("risks")),
        (
            10_000,
            EventKind::ToolCall {
                agent: "risks".into(),
                call_id: "c1".into(),
                tool: "fault".into(),
                arguments: serde_json::json!({"mode": "panic"}),
            },
        ),
        (
            50_000,
            token("lead", " Still looking at the half way mark."),
        ),
        (
            80_000,
            EventKind::ToolFailed {
                agent: "risks".into(),
                call_id: "c1".into(),
                tool: "fault".into(),
                error: "tool panicked: boom".into(),
                kind: ToolFailureKind::Panic,
                entry: None,
            },
        ),
        (
            100_000,
            EventKind::SessionFinished {
                outcome: engine::Outcome::Completed,
                reason: String::new(),
            },
        ),
    ];
    let events = numbered(kinds);
    (agents, events)
}

#[tokio::test(start_paused = true)]
async fn n_and_p_land_on_a_moment_focus_its_agent_and_say_what_it_was() {
    let (agents, events) = two_moments();
    let now = std::time::Duration::ZERO;
    // Space pauses at the start; n goes to the first moment, the tool call.
    let screen = play_agents(&agents, events.clone(), now, &[' ', 'n', 'q']).await;
    assert!(
        screen.contains("1 of 2 · tool call: Risks calls fault"),
        "{screen}"
    );
    assert!(screen.contains("┏ Risks"), "Risks has the focus:\n{screen}");
    let screen = play_agents(&agents, events.clone(), now, &[' ', 'n', 'n', 'q']).await;
    assert!(
        screen.contains("2 of 2 · failure: Risks: ✗ fault panicked: tool panicked: boom"),
        "{screen}"
    );
    let screen = play_agents(&agents, events.clone(), now, &[' ', 'n', 'n', 'p', 'q']).await;
    assert!(screen.contains("1 of 2 · tool call"), "{screen}");
    // 5 is half of the recording's 100 s, not half of its 8 events: the 50 s token is in,
    // the 80 s failure not yet.
    let screen = play_agents(&agents, events, now, &[' ', '5', 'q']).await;
    assert!(screen.contains("00:50.0 / 01:40.0"), "{screen}");
    assert!(
        screen.contains("half way mark") && !screen.contains("boom"),
        "{screen}"
    );
}

/// A writer whose one turn calls a tool that asks approval and one that breaks, then drafts;
/// an editor ends the run.
const STEERED: &str = r#"
name: steered
settings: {scripted_tokens_per_second: 0}
agents:
  - id: writer
    provider: scripted
    tools: [calculator, fault]
    handoff_targets: [editor]
    script:
      - reply: "Counting."
        tool_calls:
          - {tool: calculator, arguments: {expression: "6*7"}}
          - {tool: fault, arguments: {mode: error, message: "boom"}}
      - {reply: "Draft."}
  - id: editor
    provider: scripted
    is_terminal: true
    script: [{reply: "Edited."}]
"#;

/// Records a session of `crew` into `dir` under `gates`, steered by `decide` (see
/// [`common::drive`]); returns the file.
async fn record_steered(
    dir: &Path,
    crew: crewtui::config::model::Crew,
    gates: crewtui::engine::gate::GateSettings,
    decide: impl FnMut(&engine::Event, &[engine::Event]) -> Vec<engine::Command>,
) -> PathBuf {
    let mut parts = SessionParts::for_crew(&crew, &reqwest::Client::new());
    parts.gates = gates;
    let header = Header::new(&parts.session_id, &crew, "go", std::time::SystemTime::now());
    let recorder = Recorder::create(dir, &header).unwrap();
    let path = recorder.path().to_path_buf();
    parts.log = Some(Box::new(recorder));
    common::drive(engine::start(crew, "go".into(), parts), decide).await;
    path
}

/// Every intervention there is, on a real run: a model call stopped and sent with another
/// prompt and message, guidance, an approval answered with other arguments, a breakpoint
/// answered with a denial, a hold, and a re-run as three variants of which the second is kept.
async fn record_interventions(dir: &Path) -> PathBuf {
    use crewtui::engine::gate::{Approval, GateSettings};
    use crewtui::engine::{Command, EventKind, GateKind, Message};
    let gates = GateSettings {
        breakpoints: ["model:writer", "tool:fault"]
            .iter()
            .map(|s| s.parse().unwrap())
            .collect(),
        approvals: [("calculator".to_string(), Approval::Ask)].into(),
        ..GateSettings::default()
    };
    let mut rerun_asked = false;
    let decide = move |event: &engine::Event, _: &[engine::Event]| match &event.kind {
        EventKind::Gate {
            gate,
            kind: GateKind::ModelCall,
            detail,
            ..
        } => {
            let mut messages: Vec<Message> =
                serde_json::from_value(detail["messages"].clone()).unwrap();
            messages[0] = Message::User {
                content: "Write it short.".into(),
            };
            vec![
                Command::Guide {
                    agent: "writer".into(),
                    text: "Be brief.".into(),
                },
                Command::Unbreak {
                    spec: "model:writer".into(),
                },
                Command::EditRequest {
                    gate: gate.clone(),
                    system_prompt: Some("You write short drafts.".into()),
                    messages: Some(messages),
                },
            ]
        }
        EventKind::Gate {
            kind: GateKind::ToolCall,
            reason,
            detail,
            agent,
            ..
        } => {
            let call_id = detail["call_id"].as_str().unwrap().into();
            if reason == "approval" {
                return vec![Command::EditCall {
                    call_id,
                    arguments: serde_json::json!({"expression": "2+2"}),
                }];
            }
            let deny = Command::Deny {
                call_id,
                reason: Some("not today".into()),
            };
            if agent == "writer" {
                vec![
                    Command::Hold {
                        agent: "editor".into(),
                    },
                    deny,
                ]
            } else {
                vec![deny]
            }
        }
        EventKind::Gate {
            kind: GateKind::Turn,
            gate,
            ..
        } if !rerun_asked => {
            rerun_asked = true;
            vec![
                Command::Rerun {
                    agent: "writer".into(),
                    variants: Some(3),
                    system_prompt: None,
                    temperature: Some(0.9),
                },
                Command::Release {
                    agent: "editor".into(),
                },
                Command::Continue {
                    gate: Some(gate.clone()),
                },
            ]
        }
        EventKind::Gate { gate, .. } => vec![Command::Continue {
            gate: Some(gate.clone()),
        }],
        EventKind::TurnEnded { agent, .. } if agent == "writer~3" => vec![Command::Keep {
            agent: "writer".into(),
            variant: 2,
        }],
        _ => Vec::new(),
    };
    record_steered(dir, common::crew(STEERED), gates, decide).await
}

/// `text` without what differs from one recording to the next: the session id, the start,
/// the file.
fn steady_transcript(text: &str, session_id: &str) -> String {
    text.replace(session_id, "<session>")
        .lines()
        .map(|line| {
            if line.starts_with("- Started: ") {
                "- Started: <time>"
            } else if line.starts_with("- File: ") {
                "- File: <file>"
            } else {
                line
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[tokio::test(start_paused = true)]
async fn the_transcript_tells_every_intervention_where_it_happened() {
    let dir = scratch("transcript-interventions");
    let path = record_interventions(&dir).await;
    let recording = session::read(&path).unwrap();
    assert_eq!(recording.warnings, []);
    let text = session::transcript(&recording);
    let has = |part: &str| {
        text.find(part)
            .unwrap_or_else(|| panic!("missing {part:?} in:\n{text}"))
    };
    // The model call stopped, was sent edited, and took the guidance given at its gate.
    let turn = has("## writer, turn 1");
    let model_stop = has("**Stopped** before a model call (model:writer) — gate g1, model call 1");
    has("): sent an edited request\n");
    has("System prompt changed:\n\n```diff\n");
    has("+ You write short drafts.\n");
    has("Messages changed (1 before, 1 sent):");
    has("*Message 1 (user), edited:*\n\n```diff\n- go\n+ Write it short.\n```");
    has("**Guidance** given (+");
    has("), taken into its next model call (+");
    has("> Be brief.");
    // The approval was answered with other arguments, shown as a diff.
    let approval = has("**Stopped** before calling calculator (approval) — gate g2, call ");
    has(
        "): ran with edited arguments\n\n```diff\n  {\n-   \"expression\": \"6*7\"\n+   \"expression\": \"2+2\"\n  }\n```",
    );
    // The breakpoint on the failing tool was answered with a denial.
    let fault = has("**Stopped** before calling fault (tool:fault) — gate g3, call ");
    has("): denied: not today\n");
    let handoff = has("**Hand-off** writer → editor");
    assert!(turn < model_stop && model_stop < approval && approval < fault && fault < handoff);
    // Held while the writer worked, the editor stopped before its turn, and was let go.
    has("**Held** editor (+");
    let held = has("**editor stopped** before its turn (hold) — gate g4, +");
    has("**Released** editor (+");
    // The writer's turn ran again as three variants; the second was kept.
    let rerun = has("## writer, turn 2: turn 1 again, as 3 variants (+");
    has("The turn runs again from its start, at temperature 0.9, the history taken back");
    has("- **Variant 1**: Draft.\n- **Variant 2**, kept: Draft.\n- **Variant 3**: Draft.\n");
    let kept = has("**Kept variant 2 of 3** (+");
    let editor = has("## editor, turn 1");
    assert!(handoff < held && held < rerun && rerun < kept && kept < editor);
    has("## Outcome: completed");
    insta::assert_snapshot!(steady_transcript(&text, &recording.header.session_id));
}

#[tokio::test(start_paused = true)]
async fn a_detached_gate_and_the_resume_that_decided_it_are_in_the_transcript() {
    use crewtui::engine::gate::GateSettings;
    use crewtui::engine::{Command, EventKind};
    let yaml = r#"
name: tooly
settings: {scripted_tokens_per_second: 0}
agents:
  - id: solo
    provider: scripted
    is_terminal: true
    tools: [calculator]
    script:
      - {reply: "Let me count.", tool_calls: [{tool: calculator, arguments: {expression: "6*7"}}]}
      - {reply: "Done."}
"#;
    let dir = scratch("transcript-detached");
    let gates = GateSettings {
        breakpoints: vec!["tool:calculator".parse().unwrap()],
        ..GateSettings::default()
    };
    let path = record_steered(&dir, common::crew(yaml), gates, |event, _| {
        match &event.kind {
            EventKind::Gate { .. } => vec![Command::Detach {}],
            _ => Vec::new(),
        }
    })
    .await;
    let (text, _) = session::transcript_file(&path).unwrap();
    let detached = "*The session ended here while it waited (+";
    assert!(text.contains(detached), "{text}");
    assert!(text.contains("## Outcome: paused"), "{text}");

    let (recorder, recording) = Recorder::append(&path).unwrap();
    let mut parts = SessionParts::for_crew(&common::crew(yaml), &reqwest::Client::new());
    parts.log = Some(Box::new(recorder));
    let handle = engine::resume(common::crew(yaml), &recording.events, parts).unwrap();
    common::drive(handle, |_, _| Vec::new()).await;
    let (text, _) = session::transcript_file(&path).unwrap();
    let stop = text
        .find("**Stopped** before calling calculator (tool:calculator)")
        .unwrap_or_else(|| panic!("{text}"));
    let left = text.find(detached).unwrap_or_else(|| panic!("{text}"));
    let decided = text
        .find("): continued by resuming the session\n")
        .unwrap_or_else(|| panic!("{text}"));
    assert!(stop < left && left < decided, "{text}");
    assert!(text.contains("**Tool result** `calculator`"), "{text}");
    assert!(text.contains("## Outcome: completed"), "{text}");
}

#[tokio::test(start_paused = true)]
async fn a_budget_stop_says_whose_budget_and_what_was_spent() {
    use crewtui::engine::gate::GateSettings;
    use crewtui::engine::{Command, EventKind};
    let yaml = r#"
name: budgeted
settings: {scripted_tokens_per_second: 0}
agents:
  - id: first
    provider: scripted
    is_terminal: true
    budget: {max_tokens: 5}
    script: [{reply: "one two three"}]
"#;
    let dir = scratch("transcript-budget");
    let path = record_steered(
        &dir,
        common::crew(yaml),
        GateSettings::default(),
        |event, _| match &event.kind {
            EventKind::Gate { gate, .. } => vec![Command::Continue {
                gate: Some(gate.clone()),
            }],
            _ => Vec::new(),
        },
    )
    .await;
    let (text, _) = session::transcript_file(&path).unwrap();
    for part in [
        "**Stopped** at a budget: agent first reached its budget of 5 tokens",
        " (budget) — gate g1, ",
        " tokens so far, +",
        "): continued\n",
    ] {
        assert!(text.contains(part), "missing {part:?} in:\n{text}");
    }
}

#[tokio::test(start_paused = true)]
async fn a_step_and_a_rerun_with_another_prompt_are_told_in_the_transcript() {
    use crewtui::engine::gate::GateSettings;
    use crewtui::engine::{Command, EventKind, GateKind};
    let yaml = r#"
name: again
settings: {scripted_tokens_per_second: 0}
agents:
  - id: writer
    provider: scripted
    handoff_targets: [editor]
    script: [{reply: "Draft."}]
  - id: editor
    provider: scripted
    is_terminal: true
    script: [{reply: "Edited."}]
"#;
    let dir = scratch("transcript-rerun");
    let gates = GateSettings {
        breakpoints: ["model:writer", "agent:editor"]
            .iter()
            .map(|s| s.parse().unwrap())
            .collect(),
        ..GateSettings::default()
    };
    let mut first = (true, true);
    let path = record_steered(&dir, common::crew(yaml), gates, move |event, _| {
        let EventKind::Gate { gate, kind, .. } = &event.kind else {
            return Vec::new();
        };
        let gate = Some(gate.clone());
        match kind {
            GateKind::ModelCall if first.0 => {
                first.0 = false;
                vec![Command::Step { gate }]
            }
            GateKind::Turn if first.1 => {
                first.1 = false;
                vec![
                    Command::Rerun {
                        agent: "writer".into(),
                        variants: None,
                        system_prompt: Some("You are terse.".into()),
                        temperature: None,
                    },
                    Command::Continue { gate },
                ]
            }
            _ => vec![Command::Continue { gate }],
        }
    })
    .await;
    let (text, _) = session::transcript_file(&path).unwrap();
    let has = |part: &str| {
        text.find(part)
            .unwrap_or_else(|| panic!("missing {part:?} in:\n{text}"))
    };
    let stepped = has("): stepped: it stops again at its next gate\n");
    let rerun = has(
        "**Re-run** (+0ms): writer's turn 1 runs again from its start as turn 2, with another \
         system prompt; the history goes back to where it began",
    );
    has("System prompt:\n\n```diff\n");
    has("+ You are terse.\n");
    let again = has("## writer, turn 2");
    // Stepping stopped the writer again, at the re-run's model call: its first again.
    let second = has("**Stopped** before a model call (step) — gate g3, model call 1");
    assert!(stepped < rerun && rerun < again && again < second, "{text}");
    assert!(!text.contains("variants"), "{text}");
}
