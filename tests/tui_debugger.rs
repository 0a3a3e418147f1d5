//! The debugger as the TUI shows it: a real session (the scripted model, tokio's paused clock)
//! stopped at its gates, driven by the keys a user presses, drawn on ratatui's TestBackend and
//! kept as snapshots — a stopped agent, the approval prompt, the request editor, variants side
//! by side, the breakpoint editor, the quit prompt that offers detach.

mod common;

use common::crew;
use crewtui::config::model::Crew;
use crewtui::engine::gate::{Approval, GateSettings};
use crewtui::engine::run::TimelineLimits;
use crewtui::engine::{self, Event, EventKind, Message, Run, SessionHandle, SessionParts};
use crewtui::tui::render;
use crewtui::tui::theme::Theme;
use crewtui::tui::view::{Action, View};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

/// A session on screen: what the live loop does, one step at a time.
struct Screen {
    handle: SessionHandle,
    run: Run,
    view: View,
    events: Vec<Event>,
}

impl Screen {
    fn start(crew: Crew, gates: GateSettings) -> Self {
        let mut parts = SessionParts::for_crew(&crew, &reqwest::Client::new());
        parts.gates = gates;
        // Snapshots show the session's id: the same every run.
        parts.session_id = "20261202T120000Z-abcdef".into();
        let run = Run::for_crew(&crew, TimelineLimits::default());
        let view = View::new(run.agents().len());
        Screen {
            handle: engine::start(crew, "go".into(), parts),
            run,
            view,
            events: Vec::new(),
        }
    }

    /// Takes events until one satisfies `done`; returns it.
    async fn until(&mut self, done: impl Fn(&EventKind) -> bool) -> Event {
        loop {
            let event = self
                .handle
                .events
                .recv()
                .await
                .expect("the session ended first");
            self.run.apply(&event);
            self.view.heard(&event);
            self.view.sync(&self.run);
            self.events.push(event.clone());
            if done(&event.kind) {
                return event;
            }
        }
    }

    /// A key, as the live loop takes it: what it asks of the session is sent.
    async fn press(&mut self, code: KeyCode) -> Action {
        let action = self
            .view
            .on_key(&self.run, KeyEvent::new(code, KeyModifiers::NONE));
        if let Action::Send(commands) = &action {
            for command in commands {
                self.handle.commands.send(command.clone()).await.unwrap();
            }
        }
        action
    }

    async fn type_text(&mut self, text: &str) {
        for c in text.chars() {
            assert_eq!(self.press(KeyCode::Char(c)).await, Action::None);
        }
    }

    fn draw(&mut self, width: u16, height: u16) -> Terminal<TestBackend> {
        let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
        terminal
            .draw(|f| render::draw(f, &self.run, &mut self.view, &Theme::default_dark(), 0))
            .unwrap();
        terminal
    }

    fn screen(&mut self, width: u16, height: u16) -> String {
        self.draw(width, height).backend().to_string()
    }
}

fn gate(kind: &EventKind) -> bool {
    matches!(kind, EventKind::Gate { .. })
}

fn request_of<'a>(agent: &'a str) -> impl Fn(&EventKind) -> bool + 'a {
    move |kind| matches!(kind, EventKind::ModelRequest { agent: a, .. } if a == agent)
}

fn breaking(spec: &str) -> GateSettings {
    GateSettings {
        breakpoints: vec![spec.parse().unwrap()],
        ..GateSettings::default()
    }
}

/// A lead hands to `slow` and `fast` in parallel; `slow` calls the calculator.
const TEAM: &str = r#"
name: dbg
settings: {scripted_tokens_per_second: 0}
routing:
  signals:
    lead: [{signal: "[GO]", target: team}]
  parallel_groups:
    team: {agents: [slow, fast], wait_for_all: true, next_agent: closer}
agents:
  - id: lead
    provider: scripted
    script: [{reply: "Go team. [GO]"}]
  - id: slow
    provider: scripted
    tools: [calculator]
    script:
      - {reply: "computing", tool_calls: [{tool: calculator, arguments: {expression: "6*7"}}]}
      - {reply: "slow done"}
  - id: fast
    provider: scripted
    script: [{reply: "fast done"}]
  - id: closer
    provider: scripted
    is_terminal: true
    script: [{reply: "closed"}]
"#;

#[tokio::test(start_paused = true)]
async fn a_stopped_agent_says_where_and_why_and_space_lets_it_go() {
    let mut s = Screen::start(crew(TEAM), breaking("tool:calculator"));
    s.until(gate).await;
    let terminal = s.draw(120, 30);
    let screen = terminal.backend().to_string();
    // The pane is narrow: where and why, and the keys, wrap rather than being cut.
    for line in [
        "◆ stopped before calling",
        "calculator · tool:calculator",
        "space continue · s step ·",
        "d deny · E edit",
    ] {
        assert!(screen.contains(line), "{line:?}:\n{screen}");
    }
    assert!(
        screen.contains("1 stopped"),
        "the header counts it:\n{screen}"
    );
    insta::assert_snapshot!(terminal.backend());
    // The stopped agent has the focus: space continues it.
    s.press(KeyCode::Char(' ')).await;
    s.until(|k| matches!(k, EventKind::ToolResult { .. })).await;
    let after = s.screen(120, 30);
    assert!(
        !after.contains("space continue"),
        "the gate's panel is gone:\n{after}"
    );
    assert!(after.contains("▶ continue"), "{after}");
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
async fn the_approval_prompt_shows_the_call_and_a_denial_reaches_the_model_with_its_reason() {
    let ask = GateSettings {
        approval_override: Some(Approval::Ask),
        ..GateSettings::default()
    };
    let mut s = Screen::start(crew(TOOLY), ask);
    s.until(gate).await;
    let screen = s.screen(100, 24);
    assert!(
        screen.contains("◆ waits for approval before calling calculator"),
        "{screen}"
    );
    assert!(
        screen.contains("\"expression\": \"6*7\""),
        "pretty-printed:\n{screen}"
    );
    s.press(KeyCode::Char('d')).await;
    s.type_text("not now").await;
    let terminal = s.draw(100, 24);
    assert!(
        terminal
            .backend()
            .to_string()
            .contains("Why deny solo's tool call?"),
        "{}",
        terminal.backend()
    );
    insta::assert_snapshot!(terminal.backend());
    s.press(KeyCode::Enter).await;
    s.until(request_of("solo")).await;
    let Some(EventKind::ModelRequest { messages, .. }) = s.events.last().map(|e| &e.kind) else {
        unreachable!()
    };
    assert!(
        matches!(messages.last(), Some(Message::Tool { content, .. }) if content == "error: not run: denied (not now)"),
        "{messages:?}"
    );
    let screen = s.screen(100, 24);
    assert!(screen.contains("⊘ not run: denied (not now)"), "{screen}");
    assert!(
        !screen.contains("failed"),
        "a denial is no failure:\n{screen}"
    );
}

#[tokio::test(start_paused = true)]
async fn the_request_editor_sends_the_edited_message_and_the_inspector_shows_it() {
    let mut s = Screen::start(crew(TOOLY), breaking("model:solo"));
    s.until(gate).await;
    s.press(KeyCode::Char('E')).await;
    s.type_text(" in words").await;
    let terminal = s.draw(100, 24);
    let screen = terminal.backend().to_string();
    assert!(
        screen.contains("#1 user *"),
        "the changed message is marked:\n{screen}"
    );
    insta::assert_snapshot!(terminal.backend());
    s.press(KeyCode::Enter).await;
    let sent = s.until(request_of("solo")).await;
    let EventKind::ModelRequest { messages, .. } = &sent.kind else {
        unreachable!()
    };
    assert_eq!(
        messages,
        &[Message::User {
            content: "go in words".into()
        }]
    );
    s.press(KeyCode::Char('i')).await;
    let inspector = s.screen(100, 24);
    assert!(inspector.contains("go in words"), "{inspector}");
}

const DRAFTS: &str = r#"
name: drafts
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

#[tokio::test(start_paused = true)]
async fn variants_run_side_by_side_and_k_keeps_the_focused_one() {
    let mut s = Screen::start(crew(DRAFTS), breaking("agent:editor"));
    s.until(gate).await;
    // The editor waits before its turn; the writer's turn just ended, so it may run again.
    s.press(KeyCode::BackTab).await;
    s.press(KeyCode::Char('R')).await;
    s.press(KeyCode::Tab).await;
    s.press(KeyCode::Tab).await;
    s.press(KeyCode::Backspace).await;
    s.type_text("3").await;
    s.press(KeyCode::Enter).await;
    for k in 1..=3 {
        let id = format!("writer~{k}");
        s.until(move |e| matches!(e, EventKind::TurnEnded { agent, .. } if *agent == id))
            .await;
    }
    let terminal = s.draw(120, 20);
    let screen = terminal.backend().to_string();
    for k in 1..=3 {
        assert!(screen.contains(&format!("writer ~{k}")), "{screen}");
    }
    assert!(!screen.contains("editor"), "only the variants:\n{screen}");
    assert!(screen.contains("k keep"), "{screen}");
    insta::assert_snapshot!(terminal.backend());
    // Tab goes round the variants; k keeps the one focused.
    s.press(KeyCode::Tab).await;
    s.press(KeyCode::Char('k')).await;
    let kept = s.until(|e| matches!(e, EventKind::Kept { .. })).await;
    assert!(
        matches!(kept.kind, EventKind::Kept { variant: 2, .. }),
        "{kept:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn the_breakpoint_editor_lists_adds_and_removes() {
    let mut s = Screen::start(crew(TOOLY), breaking("model:solo"));
    s.until(gate).await;
    s.press(KeyCode::Char('b')).await;
    s.type_text("tool:calculator").await;
    s.press(KeyCode::Enter).await;
    s.until(|e| matches!(e, EventKind::Breakpoints { specs } if specs.len() == 2))
        .await;
    s.type_text("colour:red").await;
    s.press(KeyCode::Enter).await;
    let terminal = s.draw(100, 24);
    let screen = terminal.backend().to_string();
    assert!(
        screen.contains("model:solo") && screen.contains("tool:calculator"),
        "{screen}"
    );
    assert!(
        screen.contains("`colour` is not a kind of breakpoint"),
        "{screen}"
    );
    insta::assert_snapshot!(terminal.backend());
    s.press(KeyCode::Down).await;
    s.press(KeyCode::Delete).await;
    let left = s
        .until(|e| matches!(e, EventKind::Breakpoints { specs } if specs.len() == 1))
        .await;
    assert!(
        matches!(&left.kind, EventKind::Breakpoints { specs } if specs == &["model:solo"]),
        "{left:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn guidance_shows_in_the_pane_and_quitting_at_a_gate_offers_detach() {
    let mut s = Screen::start(crew(TOOLY), breaking("model:solo"));
    s.until(gate).await;
    s.press(KeyCode::Char('g')).await;
    s.type_text("Be brief.").await;
    s.press(KeyCode::Enter).await;
    s.until(|e| matches!(e, EventKind::Guidance { .. })).await;
    assert!(s.screen(100, 24).contains("✎ guidance: Be brief."));
    s.press(KeyCode::Char('q')).await;
    let terminal = s.draw(100, 24);
    let screen = terminal.backend().to_string();
    assert!(screen.contains("d  detach"), "{screen}");
    insta::assert_snapshot!(terminal.backend());
    assert_eq!(s.press(KeyCode::Char('d')).await, Action::Detach);
}
