//! The debugger in the engine: gates stop the right agent at the right place while the others
//! go on, decisions reach the model as recorded, guidance is seen, re-runs keep the variant
//! chosen, and a detached session resumes from its gate. Time is tokio's paused clock.

mod common;

use common::{crew, drive, run_on, story};
use crewtui::config::model::Crew;
use crewtui::engine::gate::{Approval, GateSettings};
use crewtui::engine::{
    self, Command, Event, EventKind, GateKind, Message, Outcome, SessionHandle, SessionParts,
};

/// A lead hands to a group of two: `slow` calls tools (one fails), `fast` streams on; then
/// `closer` ends the run.
const TEAM: &str = r#"
name: dbg
settings: {scripted_tokens_per_second: 50}
routing:
  signals:
    lead: [{signal: "[GO]", target: team}]
  parallel_groups:
    team: {agents: [slow, fast], wait_for_all: true, timeout_seconds: 600, next_agent: closer}
agents:
  - id: lead
    provider: scripted
    script: [{reply: "Go team. [GO]"}]
  - id: slow
    provider: scripted
    tools: [calculator, fault]
    script:
      - {reply: "computing", tool_calls: [{tool: calculator, arguments: {expression: "6*7"}}]}
      - {reply: "breaking", tool_calls: [{tool: fault, arguments: {mode: error, message: "boom"}}]}
      - {reply: "slow done"}
  - id: fast
    provider: scripted
    script: [{reply: "fast streams one word after another for a good while, as fast agents do, and then some more words"}]
  - id: closer
    provider: scripted
    is_terminal: true
    script: [{reply: "closed"}]
"#;

fn start_with(crew: Crew, input: &str, gates: GateSettings) -> SessionHandle {
    let mut parts = SessionParts::for_crew(&crew, &reqwest::Client::new());
    parts.gates = gates;
    engine::start(crew, input.to_string(), parts)
}

fn breaking(specs: &[&str]) -> GateSettings {
    GateSettings {
        breakpoints: specs.iter().map(|s| s.parse().unwrap()).collect(),
        ..GateSettings::default()
    }
}

fn gates(events: &[Event]) -> Vec<(String, GateKind, String)> {
    events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::Gate {
                agent,
                kind,
                reason,
                ..
            } => Some((agent.to_string(), *kind, reason.clone())),
            _ => None,
        })
        .collect()
}

fn finish(events: &[Event]) -> (Outcome, String) {
    match &events.last().unwrap().kind {
        EventKind::SessionFinished { outcome, reason } => (*outcome, reason.clone()),
        other => panic!("not the end: {other:?}"),
    }
}

/// Continues a gate once `ready` holds for the events since it opened.
fn continue_when(ready: impl Fn(&[Event]) -> bool) -> impl FnMut(&Event, &[Event]) -> Vec<Command> {
    let mut waiting: Option<(engine::GateId, usize)> = None;
    move |event, before| {
        if let EventKind::Gate { gate, .. } = &event.kind {
            waiting = Some((gate.clone(), before.len() + 1));
        }
        match &waiting {
            Some((gate, from)) if before.len() + 1 > *from && ready(&before[*from..]) => {
                let gate = gate.clone();
                waiting = None;
                vec![Command::Continue { gate: Some(gate) }]
            }
            Some((gate, from)) if before.len() + 1 == *from && ready(&[]) => {
                let gate = gate.clone();
                waiting = None;
                vec![Command::Continue { gate: Some(gate) }]
            }
            _ => Vec::new(),
        }
    }
}

fn fast_streamed(since: &[Event]) -> bool {
    since
        .iter()
        .any(|e| matches!(&e.kind, EventKind::Token { agent, .. } if agent == "fast"))
}

#[tokio::test(start_paused = true)]
async fn each_breakpoint_stops_its_agent_where_it_says_while_a_sibling_streams_on() {
    for (spec, agent, kind) in [
        ("model:slow", "slow", GateKind::ModelCall),
        ("tool:calculator", "slow", GateKind::ToolCall),
        ("tool:*", "slow", GateKind::ToolCall),
        ("failure", "slow", GateKind::Failure),
    ] {
        let events = drive(
            start_with(crew(TEAM), "go", breaking(&[spec])),
            continue_when(fast_streamed),
        )
        .await;
        let stops = gates(&events);
        assert!(!stops.is_empty(), "{spec}: no gate");
        for (a, k, reason) in &stops {
            assert_eq!((a.as_str(), *k), (agent, kind), "{spec}");
            assert_eq!(reason, spec);
        }
        // The sibling streamed while `slow` waited: tokens of `fast` come between the first
        // gate and its decision.
        let gate_at = events
            .iter()
            .position(|e| matches!(e.kind, EventKind::Gate { .. }))
            .unwrap();
        let decided_at = events
            .iter()
            .position(|e| matches!(e.kind, EventKind::Decision { .. }))
            .unwrap();
        assert!(
            fast_streamed(&events[gate_at..decided_at]),
            "{spec}: fast waited too"
        );
        assert_eq!(finish(&events).0, Outcome::Completed, "{spec}");
    }
    // Gates of a step of their own: before a turn, at a signal, at a budget.
    for (spec, agent, kind) in [
        ("agent:closer", "closer", GateKind::Turn),
        ("signal:[GO]", "lead", GateKind::Signal),
        ("tokens:20", "lead", GateKind::Budget),
    ] {
        let events = drive(
            start_with(crew(TEAM), "go", breaking(&[spec])),
            continue_when(|_| true),
        )
        .await;
        let stops = gates(&events);
        assert_eq!(stops.len(), 1, "{spec}: {stops:?}");
        assert_eq!((stops[0].0.as_str(), stops[0].1), (agent, kind), "{spec}");
        assert_eq!(finish(&events).0, Outcome::Completed, "{spec}");
    }
}

const TOOLY: &str = r#"
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

#[tokio::test(start_paused = true)]
async fn stepping_walks_model_call_then_tool_call_then_model_call() {
    let settings = GateSettings {
        step: true,
        ..GateSettings::default()
    };
    let events = drive(
        start_with(crew(TOOLY), "go", settings),
        |event, _| match &event.kind {
            EventKind::Gate { gate, .. } => vec![Command::Step {
                gate: Some(gate.clone()),
            }],
            _ => Vec::new(),
        },
    )
    .await;
    let kinds: Vec<GateKind> = gates(&events).iter().map(|g| g.1).collect();
    assert_eq!(
        kinds,
        [GateKind::ModelCall, GateKind::ToolCall, GateKind::ModelCall]
    );
    assert_eq!(finish(&events).0, Outcome::Completed);
}

/// The messages of the `model_request` events, whole (they share their start with the one
/// before).
fn requests(events: &[Event], agent: &str) -> Vec<Vec<Message>> {
    let mut out: Vec<Vec<Message>> = Vec::new();
    for e in events {
        if let EventKind::ModelRequest {
            agent: a,
            messages_from,
            messages,
            ..
        } = &e.kind
            && a == agent
        {
            let mut whole = out
                .last()
                .map(|m| m[..*messages_from].to_vec())
                .unwrap_or_default();
            whole.extend(messages.iter().cloned());
            out.push(whole);
        }
    }
    out
}

#[tokio::test(start_paused = true)]
async fn a_denial_and_an_edit_reach_the_model_as_recorded() {
    let ask = GateSettings {
        approval_override: Some(Approval::Ask),
        ..GateSettings::default()
    };
    let denied = drive(
        start_with(crew(TOOLY), "go", ask.clone()),
        |event, _| match &event.kind {
            EventKind::Gate { detail, .. } => vec![Command::Deny {
                call_id: detail["call_id"].as_str().unwrap().into(),
                reason: Some("not today".into()),
            }],
            _ => Vec::new(),
        },
    )
    .await;
    let failed = denied.iter().find_map(|e| match &e.kind {
        EventKind::ToolFailed { error, .. } => Some(error.clone()),
        _ => None,
    });
    assert_eq!(failed.as_deref(), Some("not run: denied (not today)"));
    let second = requests(&denied, "solo").pop().unwrap();
    assert!(
        matches!(second.last(), Some(Message::Tool { content, .. }) if content == "error: not run: denied (not today)"),
        "{second:?}"
    );

    let edited = drive(
        start_with(crew(TOOLY), "go", ask),
        |event, _| match &event.kind {
            EventKind::Gate { detail, .. } => vec![Command::EditCall {
                call_id: detail["call_id"].as_str().unwrap().into(),
                arguments: serde_json::json!({"expression": "2+2"}),
            }],
            _ => Vec::new(),
        },
    )
    .await;
    assert!(edited.iter().any(|e| matches!(&e.kind, EventKind::ToolCall { arguments, .. } if arguments["expression"] == "2+2")));
    let second = requests(&edited, "solo").pop().unwrap();
    assert!(
        matches!(second.last(), Some(Message::Tool { content, .. }) if content == "4"),
        "{second:?}"
    );
    assert!(edited.iter().any(|e| matches!(&e.kind, EventKind::Decision { op, arguments: Some(_), .. } if op == "edit_call")));
}

#[tokio::test(start_paused = true)]
async fn guidance_is_in_the_next_request_and_only_the_agent_sees_it() {
    let yaml = r#"
name: guided
settings: {scripted_tokens_per_second: 0}
agents:
  - id: first
    provider: scripted
    handoff_targets: [second]
    script: [{reply: "one"}]
  - id: second
    provider: scripted
    is_terminal: true
    script: [{reply: "two"}]
"#;
    let events = drive(
        start_with(crew(yaml), "go", breaking(&["model:first"])),
        |event, _| match &event.kind {
            EventKind::Gate { gate, .. } => vec![
                Command::Guide {
                    agent: "first".into(),
                    text: "Be brief.".into(),
                },
                Command::Continue {
                    gate: Some(gate.clone()),
                },
            ],
            _ => Vec::new(),
        },
    )
    .await;
    assert!(
        events
            .iter()
            .any(|e| matches!(&e.kind, EventKind::Guidance { text, .. } if text == "Be brief."))
    );
    let guided = Message::User {
        content: "Be brief.".into(),
    };
    let first = requests(&events, "first");
    assert!(first[0].contains(&guided), "{first:?}");
    let second = requests(&events, "second");
    assert!(!second[0].contains(&guided), "{second:?}");
}

#[tokio::test(start_paused = true)]
async fn three_variants_run_and_the_one_kept_goes_on() {
    let yaml = r#"
name: variants
settings: {scripted_tokens_per_second: 0}
agents:
  - id: lead
    provider: scripted
    handoff_targets: [writer]
    script: [{reply: "Write it short."}]
  - id: writer
    provider: scripted
    handoff_targets: [editor]
    script: [{reply: "Draft."}]
  - id: editor
    provider: scripted
    is_terminal: true
    script: [{reply: "Edited."}]
"#;
    let mut asked = false;
    let events = drive(
        start_with(crew(yaml), "go", breaking(&["agent:editor"])),
        move |event, _| match &event.kind {
            EventKind::Gate { gate, .. } if !asked => {
                asked = true;
                vec![
                    Command::Rerun {
                        agent: "writer".into(),
                        variants: Some(3),
                        system_prompt: None,
                        temperature: None,
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
        },
    )
    .await;
    let started: Vec<String> = events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::AgentStarted { agent, .. } => Some(agent.to_string()),
            _ => None,
        })
        .collect();
    assert_eq!(
        started,
        [
            "lead", "writer", "writer~1", "writer~2", "writer~3", "editor"
        ],
        "the editor's turn begins only after the re-run"
    );
    // Each variant is asked exactly what the writer's turn was asked.
    let mut run = crewtui::engine::Run::for_crew(&crew(yaml), Default::default());
    events.iter().for_each(|e| run.apply(e));
    let first_request = |id: &str| run.agent(id).and_then(|a| a.request(0)).map(|r| r.messages);
    let asked = first_request("writer").expect("the writer was asked");
    assert!(asked.len() >= 2, "the lead's words are in it: {asked:?}");
    for variant in ["writer~1", "writer~2", "writer~3"] {
        assert_eq!(first_request(variant), Some(asked.clone()), "{variant}");
    }
    assert!(events.iter().any(
        |e| matches!(&e.kind, EventKind::Kept { agent, variant: 2, .. } if agent == "writer")
    ));
    let handoffs = events
        .iter()
        .filter(|e| matches!(e.kind, EventKind::Handoff { .. }))
        .count();
    assert_eq!(
        handoffs, 3,
        "lead to writer, writer to editor, and the kept variant again"
    );
    // The editor saw the kept draft once: the first one was taken back.
    let editor = requests(&events, "editor").pop().unwrap();
    let drafts = editor
        .iter()
        .filter(|m| matches!(m, Message::User { content } if content == "[writer] Draft."))
        .count();
    assert_eq!(drafts, 1, "{editor:?}");
    assert_eq!(finish(&events).0, Outcome::Completed);
}

#[tokio::test(start_paused = true)]
async fn a_detached_session_resumes_from_its_gate_as_if_never_left() {
    let whole = drive(
        start_with(crew(TEAM), "go", breaking(&["tool:calculator"])),
        continue_when(|_| true),
    )
    .await;
    let detached = drive(
        start_with(crew(TEAM), "go", breaking(&["tool:calculator"])),
        |event, _| match &event.kind {
            EventKind::Gate { .. } => vec![Command::Detach {}],
            _ => Vec::new(),
        },
    )
    .await;
    let (outcome, reason) = finish(&detached);
    assert_eq!(outcome, Outcome::Paused, "{reason}");
    let parts = SessionParts::for_crew(&crew(TEAM), &reqwest::Client::new());
    let handle = engine::resume(crew(TEAM), &detached, parts).expect("resumable at its gate");
    let rest = run_on(handle, &detached, &[]).await;
    // Resuming decided the gate; the breakpoint stays set.
    assert!(
        matches!(&rest[1].kind, EventKind::Breakpoints { specs } if specs == &["tool:calculator"])
    );
    assert!(rest.iter().any(|e| matches!(
        &e.kind,
        EventKind::Decision {
            by_resume: true,
            ..
        }
    )));
    let mut joined = detached.clone();
    joined.extend(rest);
    assert_eq!(story(&joined, &[]), story(&whole, &[]));
}

#[tokio::test(start_paused = true)]
async fn a_crew_budget_stops_at_a_budget_gate_once_instead_of_ending_the_run() {
    let yaml = r#"
name: budgeted
settings: {scripted_tokens_per_second: 0, max_tokens: 20}
agents:
  - id: first
    provider: scripted
    handoff_targets: [second]
    budget: {max_tokens: 5}
    script: [{reply: "one two three"}]
  - id: second
    provider: scripted
    handoff_targets: [third]
    script: [{reply: "four five six"}]
  - id: third
    provider: scripted
    is_terminal: true
    script: [{reply: "seven"}]
"#;
    let events = drive(
        start_with(crew(yaml), "go", GateSettings::default()),
        continue_when(|_| true),
    )
    .await;
    let stops: Vec<(String, String)> = events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::Gate {
                agent,
                kind: GateKind::Budget,
                reason,
                detail,
                ..
            } => {
                assert_eq!(reason, "budget");
                Some((agent.to_string(), detail["budget"].as_str()?.to_string()))
            }
            _ => None,
        })
        .collect();
    assert_eq!(stops.len(), 2, "{stops:?}");
    assert_eq!(stops[0].0, "first");
    assert!(
        stops[0]
            .1
            .starts_with("agent first reached its budget of 5 tokens"),
        "{stops:?}"
    );
    // The run's budget is passed by a later reply, and stops once for all the replies after.
    assert!(
        stops[1]
            .1
            .starts_with("the run reached its budget of 20 tokens"),
        "{stops:?}"
    );
    assert_eq!(finish(&events).0, Outcome::Completed);
}

#[tokio::test(start_paused = true)]
async fn a_decision_sent_just_before_the_commands_end_is_taken_not_a_detach() {
    // `--control` input that answers a gate and then ends: the answer was given, so the run
    // goes on with it. Both are ready when the agent looks; many runs, so a coin toss between
    // them would lose one.
    let yaml = "name: last\nsettings: {scripted_tokens_per_second: 0}\nagents:\n  - {id: a, \
                provider: scripted, is_terminal: true, script: [{reply: done}]}\n";
    for round in 0..32 {
        let mut handle = start_with(crew(yaml), "go", breaking(&["model:a"]));
        let mut events = Vec::new();
        let mut commands = Some(handle.commands);
        while let Some(event) = handle.events.recv().await {
            if let EventKind::Gate { gate, .. } = &event.kind
                && let Some(commands) = commands.take()
            {
                commands
                    .send(Command::Continue {
                        gate: Some(gate.clone()),
                    })
                    .await
                    .unwrap();
                // Hung up at once: nobody is left to decide anything else.
                drop(commands);
            }
            events.push(event);
        }
        assert_eq!(
            finish(&events).0,
            Outcome::Completed,
            "round {round}: {events:#?}"
        );
    }
}
