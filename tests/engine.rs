//! The engine driven as a front end drives it: crews from YAML, events out, commands in.
//! Tests of timeouts and cancellation run on tokio's paused clock: it moves only when every
//! task waits on a timer, straight to the next one, so the times events are stamped with are
//! the times the run would have taken, however loaded the machine.

mod common;

use std::sync::{Arc, Mutex};

use common::{crew, finish, run_on, run_to_end, start, streamed, types};
use crewtui::engine::routing::{Route, route};
use crewtui::engine::{
    self, Command, Event, EventKind, HandoffReason, Outcome, SessionParts, ToolFailureKind,
};
use crewtui::provider::{ChatMessage, ChatRequest, DeltaStream, Provider, ScriptedProvider};

#[test]
fn routing_follows_go_agentic_order() {
    let crew = crew(
        r#"
name: routes
routing:
  signals:
    s:
      - {signal: "[A]", target: a}
      - {signal: "[G]", target: g}
  agent_behaviors:
    s: {wait_for_signal: true, is_terminal: true}
    beh: {is_terminal: true}
  parallel_groups:
    g: {agents: [a, b]}
agents:
  - {id: s, provider: scripted, is_terminal: true, handoff_targets: [b]}
  - {id: t, provider: scripted, is_terminal: true, handoff_targets: [b]}
  - {id: h, provider: scripted, handoff_targets: [b, a]}
  - {id: beh, provider: scripted, handoff_targets: [b]}
  - {id: n, provider: scripted}
  - {id: a, provider: scripted}
  - {id: b, provider: scripted}
"#,
    );
    let handoff = |to: &str, reason, signal: Option<&str>| Route::Handoff {
        to: to.into(),
        reason,
        signal: signal.map(str::to_string),
    };
    let table = [
        (
            "s",
            "go [A]",
            handoff("a", HandoffReason::Signal, Some("[A]")),
        ),
        (
            "s",
            "go [G]",
            Route::Parallel {
                group: "g".into(),
                signal: "[G]".into(),
            },
        ),
        // Signals are tried in the order the crew lists them, not the order in the reply.
        (
            "s",
            "[G] then [A]",
            handoff("a", HandoffReason::Signal, Some("[A]")),
        ),
        // No signal: wait_for_signal comes before terminal and handoff targets.
        ("s", "no signal here", Route::Pause),
        ("t", "done", Route::Terminal),
        ("beh", "done", Route::Terminal),
        (
            "h",
            "over to you",
            handoff("b", HandoffReason::HandoffTarget, None),
        ),
        ("n", "nothing", Route::NoRoute),
        // A signal another agent owns does nothing for this one.
        ("n", "[A]", Route::NoRoute),
    ];
    for (agent, reply, expected) in table {
        assert_eq!(route(&crew, agent, reply), expected, "{agent}: {reply:?}");
    }
}

/// Records every request, then answers from the crew's script.
#[derive(Debug)]
struct Recording {
    inner: ScriptedProvider,
    seen: Arc<Mutex<Vec<ChatRequest>>>,
}

impl Provider for Recording {
    fn stream(&self, request: ChatRequest) -> DeltaStream {
        self.seen.lock().unwrap().push(request.clone());
        self.inner.stream(request)
    }
}

const PARALLEL: &str = r#"
name: par
entry_point: lead
settings: {scripted_tokens_per_second: 0}
routing:
  signals:
    lead: [{signal: "[GO]", target: trio}]
  parallel_groups:
    trio: {agents: [a, b, c], next_agent: sink}
agents:
  - {id: lead, provider: scripted, script: [{reply: "Go team [GO]"}]}
  - id: a
    provider: scripted
    tools: [calculator]
    script:
      - {reply: "alpha working", tool_calls: [{tool: calculator, arguments: {expression: "1+1"}}]}
      - {reply: "alpha secret"}
  - {id: b, provider: scripted, script: [{reply: "bravo secret"}]}
  - {id: c, provider: scripted, script: [{reply: "charlie secret"}]}
  - {id: sink, provider: scripted, is_terminal: true, script: [{reply: "all merged"}]}
"#;

#[tokio::test]
async fn parallel_agents_never_see_each_others_history() {
    let crew = crew(PARALLEL);
    let seen = Arc::new(Mutex::new(Vec::new()));
    let mut parts = SessionParts::for_crew(&crew, &reqwest::Client::new());
    parts.providers.insert(
        "scripted",
        Arc::new(Recording {
            inner: ScriptedProvider::new(&crew),
            seen: Arc::clone(&seen),
        }),
    );
    let events = run_to_end(engine::start(crew, "kick off".into(), parts), &[]).await;
    assert_eq!(finish(&events).0, Outcome::Completed);

    let seen = seen.lock().unwrap();
    let text_of = |req: &ChatRequest| serde_json::to_string(req.messages.as_slice()).unwrap();
    for req in seen
        .iter()
        .filter(|r| ["a", "b", "c"].contains(&r.agent.as_str()))
    {
        let text = text_of(req);
        assert!(
            text.contains("kick off") && text.contains("[lead] Go team [GO]"),
            "{text}"
        );
        for (other, secret) in [("a", "alpha"), ("b", "bravo"), ("c", "charlie")] {
            if other != req.agent {
                assert!(!text.contains(secret), "{} saw {other}: {text}", req.agent);
            }
        }
    }
    // `a` saw its own tool exchange on its second call; nobody else ever did.
    let a_second = seen.iter().find(|r| r.agent == "a" && r.step == 1).unwrap();
    assert!(
        matches!(a_second.messages.last(), Some(ChatMessage::Tool { content, .. }) if content == "2")
    );
    let sink = seen.iter().find(|r| r.agent == "sink").unwrap();
    let text = text_of(sink);
    for label in ["[a] alpha secret", "[b] bravo secret", "[c] charlie secret"] {
        assert!(text.contains(label), "sink misses {label}: {text}");
    }
    assert!(!text.contains("alpha working\",\"tool_calls"), "{text}");

    let started = events
        .iter()
        .find_map(|e| match &e.kind {
            EventKind::AgentStarted { agent, input, .. } if agent == "sink" => Some(input.clone()),
            _ => None,
        })
        .unwrap();
    assert_eq!(
        started,
        "[a] alpha secret\n\n[b] bravo secret\n\n[c] charlie secret"
    );
}

#[tokio::test]
async fn a_panicking_tool_becomes_an_event_and_the_run_goes_on() {
    let crew = crew(
        r#"
name: p
settings: {scripted_tokens_per_second: 0}
agents:
  - id: solo
    provider: scripted
    tools: [fault]
    is_terminal: true
    script:
      - {tool_calls: [{tool: fault, arguments: {mode: panic, message: "boom at step 3"}}]}
      - {reply: "recovered"}
"#,
    );
    let events = run_to_end(start(crew, "go"), &[]).await;
    let failed = events.iter().find_map(|e| match &e.kind {
        EventKind::ToolFailed { kind, error, .. } => Some((*kind, error.clone())),
        _ => None,
    });
    let (kind, error) = failed.expect("a tool_failed event");
    assert_eq!(kind, ToolFailureKind::Panic);
    assert!(error.contains("boom at step 3"), "{error}");
    assert_eq!(streamed(&events, "solo"), "recovered");
    assert_eq!(finish(&events).0, Outcome::Completed);
}

/// When the first event `matches` was stamped, in ms of the run.
fn stamped(events: &[Event], matches: impl Fn(&EventKind) -> bool) -> u64 {
    let event = events.iter().find(|e| matches(&e.kind));
    let event = event.unwrap_or_else(|| panic!("no such event in {:?}", types(events)));
    event.t_ms
}

/// How late an event may follow what brings it about (a cancel, a timeout coming due): the
/// goal is 100 ms. On the paused clock only the engine's own timers move time, so this holds
/// exactly however slow the machine, and a miss means the engine waited on a timer.
const PROMPT_MS: u64 = 100;

#[tokio::test(start_paused = true)]
async fn a_hanging_tool_times_out_and_the_model_hears_of_it() {
    let crew = crew(
        r#"
name: h
settings: {scripted_tokens_per_second: 0, tool_timeout_seconds: 1}
agents:
  - id: solo
    provider: scripted
    tools: [fault]
    script:
      - {tool_calls: [{tool: fault, arguments: {mode: hang}}]}
      - {reply: "moved on"}
"#,
    );
    let events = run_to_end(start(crew, "go"), &[]).await;
    let failed = events.iter().find_map(|e| match &e.kind {
        EventKind::ToolFailed { kind, error, .. } => Some((*kind, error.clone())),
        _ => None,
    });
    assert_eq!(
        failed,
        Some((ToolFailureKind::Timeout, "timed out after 1 s".to_string()))
    );
    // The crew's tool_timeout_seconds, not the default of 30 s.
    let called = stamped(&events, |k| matches!(k, EventKind::ToolCall { .. }));
    let timed_out = stamped(&events, |k| matches!(k, EventKind::ToolFailed { .. }));
    let took = timed_out - called;
    assert!((1000..1000 + PROMPT_MS).contains(&took), "{took} ms");
    assert_eq!(streamed(&events, "solo"), "moved on");
    assert_eq!(finish(&events).0, Outcome::Completed);
}

#[tokio::test(start_paused = true)]
async fn cancelling_one_parallel_agent_leaves_the_others_running() {
    let long = "word ".repeat(40);
    let yaml = format!(
        r#"
name: c
entry_point: lead
settings: {{scripted_tokens_per_second: 40}}
routing:
  signals:
    lead: [{{signal: "[GO]", target: trio}}]
  parallel_groups:
    trio: {{agents: [a, b, c], next_agent: sink}}
agents:
  - {{id: lead, provider: scripted, script: [{{reply: "[GO]"}}]}}
  - {{id: a, provider: scripted, script: [{{reply: "{long}"}}]}}
  - {{id: b, provider: scripted, script: [{{reply: "{long}"}}]}}
  - {{id: c, provider: scripted, script: [{{reply: "{long}"}}]}}
  - {{id: sink, provider: scripted, is_terminal: true, script: [{{reply: "merged"}}]}}
"#
    );
    let mut handle = start(crew(&yaml), "go");
    let mut events = Vec::new();
    let mut cancel_sent = false;
    while let Some(event) = handle.events.recv().await {
        if matches!(&event.kind, EventKind::Token { agent, .. } if agent == "b") && !cancel_sent {
            handle
                .commands
                .send(Command::CancelAgent("b".into()))
                .await
                .unwrap();
            cancel_sent = true;
        }
        events.push(event);
    }
    let asked = stamped(
        &events,
        |k| matches!(k, EventKind::Token { agent, .. } if agent == "b"),
    );
    let stopped = stamped(
        &events,
        |k| matches!(k, EventKind::AgentCancelled { agent } if agent == "b"),
    );
    // With a second of b's reply still to stream.
    assert!(stopped - asked < PROMPT_MS, "{asked} ms -> {stopped} ms");
    assert_eq!(streamed(&events, "a"), long);
    assert_eq!(streamed(&events, "c"), long);
    assert!(streamed(&events, "b").len() < long.len());
    let finished = events.iter().find_map(|e| match &e.kind {
        EventKind::ParallelFinished {
            completed, failed, ..
        } => Some((completed.clone(), failed.clone())),
        _ => None,
    });
    assert_eq!(
        finished,
        Some((vec!["a".into(), "c".into()], vec!["b".into()]))
    );
    assert_eq!(streamed(&events, "sink"), "merged");
    assert_eq!(finish(&events).0, Outcome::Completed);
}

#[tokio::test(start_paused = true)]
async fn cancelling_the_session_stops_everything() {
    let long = "word ".repeat(200);
    let yaml = format!(
        "name: s\nsettings: {{scripted_tokens_per_second: 50}}\nagents:\n  - {{id: solo, provider: scripted, script: [{{reply: \"{long}\"}}]}}\n"
    );
    let mut handle = start(crew(&yaml), "go");
    let mut events = Vec::new();
    while let Some(event) = handle.events.recv().await {
        if matches!(event.kind, EventKind::Token { .. }) && events.len() == 3 {
            handle.commands.send(Command::CancelSession).await.unwrap();
        }
        events.push(event);
    }
    assert!(types(&events).contains(&"agent_cancelled".to_string()));
    assert_eq!(finish(&events).0, Outcome::Cancelled);
    assert_eq!(handle.task.await.unwrap(), Outcome::Cancelled);
}

#[tokio::test]
async fn max_handoffs_ends_a_loop_with_outcome_limit() {
    let step = "{reply: \"back to you\"}";
    let yaml = format!(
        "name: loop\nsettings: {{scripted_tokens_per_second: 0, max_handoffs: 3, max_rounds: 50}}\nagents:\n  - {{id: a, provider: scripted, handoff_targets: [b], script: [{step}, {step}, {step}]}}\n  - {{id: b, provider: scripted, handoff_targets: [a], script: [{step}, {step}, {step}]}}\n"
    );
    let events = run_to_end(start(crew(&yaml), "go"), &[]).await;
    let handoffs = types(&events).iter().filter(|t| *t == "handoff").count();
    assert_eq!(handoffs, 3);
    assert_eq!(
        finish(&events),
        (Outcome::Limit, "max_handoffs (3) reached".to_string())
    );
}

#[tokio::test]
async fn max_rounds_ends_a_run_with_outcome_limit() {
    let step = "{reply: \"again\"}";
    let yaml = format!(
        "name: loop\nsettings: {{scripted_tokens_per_second: 0, max_handoffs: 50, max_rounds: 2}}\nagents:\n  - {{id: a, provider: scripted, handoff_targets: [b], script: [{step}, {step}]}}\n  - {{id: b, provider: scripted, handoff_targets: [a], script: [{step}, {step}]}}\n"
    );
    let events = run_to_end(start(crew(&yaml), "go"), &[]).await;
    let turns = types(&events)
        .iter()
        .filter(|t| *t == "agent_started")
        .count();
    assert_eq!(turns, 2);
    assert_eq!(
        finish(&events),
        (Outcome::Limit, "max_rounds (2) reached".to_string())
    );
}

#[tokio::test(start_paused = true)]
async fn timeout_seconds_ends_a_run_with_outcome_limit() {
    let crew = crew(
        r#"
name: slow
settings: {scripted_tokens_per_second: 0, timeout_seconds: 1, tool_timeout_seconds: 30}
agents:
  - id: solo
    provider: scripted
    tools: [fault]
    script:
      - {tool_calls: [{tool: fault, arguments: {mode: hang}}]}
"#,
    );
    let events = run_to_end(start(crew, "go"), &[]).await;
    assert!(types(&events).contains(&"agent_cancelled".to_string()));
    assert_eq!(
        finish(&events),
        (Outcome::Limit, "timeout_seconds (1) reached".to_string())
    );
    // The run's 1 s, not the hanging tool's 30 s.
    let ended = events.last().unwrap().t_ms;
    assert!((1000..1000 + PROMPT_MS).contains(&ended), "{ended} ms");
}

const PAUSING: &str = r#"
name: ask
settings: {scripted_tokens_per_second: 0}
routing:
  agent_behaviors:
    asker: {wait_for_signal: true}
  signals:
    asker: [{signal: "[DONE]", target: closer}]
agents:
  - id: asker
    provider: scripted
    script:
      - {reply: "Which colour?"}
      - {reply: "Blue it is. [DONE]"}
  - {id: closer, provider: scripted, is_terminal: true, script: [{reply: "closed"}]}
"#;

#[tokio::test]
async fn a_pause_waits_for_the_answer_and_the_agent_continues_with_it() {
    let events = run_to_end(start(crew(PAUSING), "paint it"), &["blue"]).await;
    let kinds: Vec<_> = events.iter().map(|e| &e.kind).collect();
    assert!(kinds.iter().any(|k| matches!(k, EventKind::Paused { agent, prompt } if agent == "asker" && prompt == "Which colour?")));
    assert!(
        kinds
            .iter()
            .any(|k| matches!(k, EventKind::Resumed { input, .. } if input == "blue"))
    );
    assert!(kinds.iter().any(|k| matches!(k, EventKind::AgentStarted { agent, turn: 2, input, .. } if agent == "asker" && input == "blue")));
    assert_eq!(streamed(&events, "closer"), "closed");
    assert_eq!(finish(&events).0, Outcome::Completed);
}

#[tokio::test]
async fn a_pause_with_nobody_to_answer_ends_the_run_paused() {
    let events = run_to_end(start(crew(PAUSING), "paint it"), &[]).await;
    assert_eq!(
        finish(&events),
        (
            Outcome::Paused,
            "agent `asker` is waiting for input".to_string()
        )
    );
}

#[tokio::test]
async fn an_exhausted_script_fails_the_agent_clearly() {
    let crew = crew(
        r#"
name: short
settings: {scripted_tokens_per_second: 0}
agents:
  - id: solo
    provider: scripted
    tools: [calculator]
    script:
      - {tool_calls: [{tool: calculator, arguments: {expression: "2*21"}}]}
"#,
    );
    let events = run_to_end(start(crew, "go"), &[]).await;
    let error = events.iter().find_map(|e| match &e.kind {
        EventKind::AgentFailed { agent, error, .. } if agent == "solo" => Some(error.clone()),
        _ => None,
    });
    let error = error.expect("agent_failed");
    assert!(
        error.contains("script exhausted") && error.contains("1 step"),
        "{error}"
    );
    assert_eq!(finish(&events).0, Outcome::Failed);
}

#[tokio::test]
async fn events_are_numbered_in_order_and_time_never_goes_back() {
    let events = run_to_end(start(crew(PARALLEL), "go"), &[]).await;
    for (i, pair) in events.windows(2).enumerate() {
        assert_eq!(pair[0].seq, i as u64);
        assert_eq!(pair[1].seq, i as u64 + 1);
        assert!(pair[0].t_ms <= pair[1].t_ms);
    }
    assert_eq!(types(&events)[0], "session_started");
}

/// The demo crew, loaded from crews/, streaming at once.
fn instant_demo() -> crewtui::config::model::Crew {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("crews/demo.yaml");
    let mut crew = crewtui::config::load_crew(&path).crew.expect("demo loads");
    crew.settings.scripted_tokens_per_second = 0.0;
    crew
}

/// What the model was asked, agent by agent: equal requests mean an equal run, since the
/// scripted provider answers by position.
fn requests(events: &[crewtui::engine::Event]) -> Vec<String> {
    events
        .iter()
        .filter(|e| matches!(e.kind, EventKind::ModelRequest { .. }))
        .map(|e| {
            let mut v = serde_json::to_value(&e.kind).unwrap();
            // The clock tool answers differently on every run.
            if let Some(messages) = v["messages"].as_array_mut() {
                for m in messages.iter_mut().filter(|m| m["name"] == "current_time") {
                    m["content"] = "<now>".into();
                }
            }
            v.to_string()
        })
        .collect()
}

fn resume(
    crew: crewtui::config::model::Crew,
    prior: &[crewtui::engine::Event],
) -> crewtui::engine::SessionHandle {
    let parts = SessionParts::for_crew(&crew, &reqwest::Client::new());
    engine::resume(crew, prior, parts).expect("resumable")
}

#[tokio::test]
async fn resuming_a_paused_run_gives_the_events_of_an_uninterrupted_one() {
    let answer = "Crew authors; next Tuesday";
    let whole = run_to_end(start(instant_demo(), "plan it"), &[answer]).await;
    let paused = run_to_end(start(instant_demo(), "plan it"), &[]).await;
    assert_eq!(finish(&paused).0, Outcome::Paused);

    let rest = run_on(resume(instant_demo(), &paused), &paused, &[answer]).await;
    assert_eq!(
        rest[0].seq,
        paused.last().unwrap().seq + 1,
        "numbering goes on"
    );
    assert!(
        rest[0].t_ms >= paused.last().unwrap().t_ms,
        "the clock goes on"
    );
    // The resumed run says it goes on, does not ask again, and then goes on exactly as the
    // uninterrupted one did.
    assert!(matches!(rest[0].kind, EventKind::SessionResumed {}));
    assert!(matches!(&rest[1].kind, EventKind::Resumed { agent, .. } if agent == "lead"));
    let mut joined = paused[..paused.len() - 1].to_vec();
    joined.extend(rest[1..].iter().cloned());
    assert_eq!(types(&joined), types(&whole));
    assert_eq!(requests(&joined), requests(&whole));
    assert_eq!(finish(&joined), finish(&whole));
}

#[tokio::test]
async fn a_finished_run_cannot_be_resumed() {
    let whole = run_to_end(start(crew(PAUSING), "go"), &["blue"]).await;
    let parts = SessionParts::for_crew(&crew(PAUSING), &reqwest::Client::new());
    let err = engine::resume(crew(PAUSING), &whole, parts).err();
    assert_eq!(
        err,
        Some(crewtui::engine::ResumeError::Finished(Outcome::Completed))
    );
}

#[tokio::test(start_paused = true)]
async fn cancelling_an_agent_in_a_tool_call_stops_it_at_once() {
    let crew = crew(
        r#"
name: stuck
settings: {scripted_tokens_per_second: 0, tool_timeout_seconds: 30}
agents:
  - id: solo
    provider: scripted
    tools: [fault]
    script:
      - {tool_calls: [{tool: fault, arguments: {mode: hang}}]}
"#,
    );
    let mut handle = start(crew, "go");
    let mut events = Vec::new();
    while let Some(event) = handle.events.recv().await {
        if matches!(event.kind, EventKind::ToolCall { .. }) {
            handle
                .commands
                .send(Command::CancelAgent("solo".into()))
                .await
                .unwrap();
        }
        events.push(event);
    }
    let called = stamped(&events, |k| matches!(k, EventKind::ToolCall { .. }));
    let stopped = stamped(&events, |k| matches!(k, EventKind::AgentCancelled { .. }));
    // The tool would have run until its timeout of 30 s.
    assert!(stopped - called < PROMPT_MS, "{called} ms -> {stopped} ms");
    let kinds = types(&events);
    assert!(!kinds.contains(&"tool_failed".to_string()), "{kinds:?}");
    assert_eq!(
        finish(&events),
        (Outcome::Cancelled, "agent `solo` was cancelled".to_string())
    );
}
