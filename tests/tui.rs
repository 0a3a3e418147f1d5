//! What the TUI shows, drawn on ratatui's TestBackend and kept as snapshots.

use crewtui::engine::run::{AgentInfo, TimelineLimits};
use crewtui::engine::{Command, Event, EventKind, Message, Run, ToolDef, ToolFailureKind, Usage};
use crewtui::tui::clipboard::Clipboard;
use crewtui::tui::render;
use crewtui::tui::theme::Theme;
use crewtui::tui::view::{Action, Overlay, View};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::style::{Color, Modifier};

/// Events with consecutive sequence numbers at chosen times.
#[derive(Default)]
struct Events {
    list: Vec<Event>,
    t: u64,
}

impl Events {
    fn at(&mut self, t_ms: u64) -> &mut Self {
        self.t = t_ms;
        self
    }

    fn push(&mut self, kind: EventKind) -> &mut Self {
        self.list.push(Event {
            seq: self.list.len() as u64,
            t_ms: self.t,
            kind,
        });
        self
    }

    fn start(&mut self, agent: &str, input: &str) -> &mut Self {
        self.push(EventKind::AgentStarted {
            agent: agent.into(),
            turn: 1,
            input: input.into(),
            round: None,
            entry: None,
        })
    }

    fn tokens(&mut self, agent: &str, text: &str) -> &mut Self {
        for word in text.split_inclusive(' ') {
            self.push(EventKind::Token {
                agent: agent.into(),
                text: word.into(),
                reasoning: false,
            });
        }
        self
    }

    fn message(&mut self, agent: &str, content: &str) -> &mut Self {
        self.push(EventKind::Message {
            agent: agent.into(),
            content: content.into(),
            usage: Some(Usage {
                prompt_tokens: 1200,
                completion_tokens: 48,
                cached_tokens: 0,
            }),
            finish_reason: Some("stop".into()),
            truncated: false,
            tool_calls: Vec::new(),
            text_calls: false,
            entry: Some(Message::Assistant {
                content: content.into(),
                tool_calls: Vec::new(),
            }),
        })
    }
}

fn info(id: &str, role: &str) -> AgentInfo {
    let mut name = id.to_string();
    name[..1].make_ascii_uppercase();
    AgentInfo {
        id: id.into(),
        name,
        role: role.into(),
    }
}

fn session(events: &mut Events, input: &str) {
    events.push(EventKind::SessionStarted {
        session_id: "20261128T120000Z-abcdef".into(),
        crew: "launch-plan".into(),
        input: input.into(),
    });
}

fn fold(agents: &[AgentInfo], events: &Events) -> Run {
    let mut run = Run::new("launch-plan", agents, TimelineLimits::default());
    for event in &events.list {
        run.apply(event);
    }
    run
}

fn draw(run: &Run, view: &mut View, width: u16, height: u16, now_ms: u64) -> Terminal<TestBackend> {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    view.sync(run);
    terminal
        .draw(|f| render::draw(f, run, view, &Theme::default_dark(), now_ms))
        .unwrap();
    terminal
}

fn key(code: KeyCode) -> KeyEvent {
    KeyEvent::new(code, KeyModifiers::NONE)
}

fn four_streaming() -> (Vec<AgentInfo>, Events) {
    let agents = vec![
        info("planner", "plans"),
        info("coder", "writes code"),
        info("tester", "tests"),
        info("reviewer", "reviews"),
    ];
    let mut e = Events::default();
    session(&mut e, "Add a retry to the HTTP client");
    e.push(EventKind::ParallelStarted {
        group: "team".into(),
        agents: agents.iter().map(|a| a.id.clone()).collect(),
        round: None,
        handoffs: None,
    });
    for (i, a) in agents.iter().enumerate() {
        e.at(100 * i as u64)
            .start(a.id.as_str(), "Add a retry to the HTTP client");
    }
    e.at(900)
        .tokens(
            "planner",
            "Step one: find every call site that talks to the network. ",
        )
        .tokens(
            "coder",
            "fn retry<F>(mut f: F) -> Result<T> where F: FnMut() ",
        )
        .tokens(
            "tester",
            "I will write a test that fails twice and then succeeds, ",
        )
        .tokens(
            "reviewer",
            "Waiting for the diff; meanwhile reading the old client. ",
        )
        .at(1400)
        .tokens("planner", "Step two: wrap them.")
        .tokens("coder", "{ loop { ... } }");
    (agents, e)
}

#[test]
fn four_agents_streaming() {
    let (agents, events) = four_streaming();
    let run = fold(&agents, &events);
    let mut view = View::new(run.agents().len());
    let terminal = draw(&run, &mut view, 120, 30, 2000);
    insta::assert_snapshot!(terminal.backend());
}

#[test]
fn a_parallel_group_is_marked_in_place_and_no_pane_moves() {
    let agents = vec![
        info("lead", "leads"),
        info("market", "market"),
        info("tech", "tech"),
        info("risks", "risks"),
        info("writer", "writes"),
    ];
    let mut e = Events::default();
    session(&mut e, "Plan the launch");
    e.start("lead", "Plan the launch")
        .tokens("lead", "Research this three ways. [RESEARCH]")
        .message("lead", "Research this three ways. [RESEARCH]");
    let before = fold(&agents, &e);
    let mut view = View::new(before.agents().len());
    draw(&before, &mut view, 140, 32, 500);
    let places = view.drawn.clone();
    e.at(500).push(EventKind::ParallelStarted {
        group: "research".into(),
        agents: vec!["market".into(), "tech".into(), "risks".into()],
        round: None,
        handoffs: None,
    });
    for a in ["market", "tech", "risks"] {
        e.start(a, "Research this three ways. [RESEARCH]");
    }
    e.at(800)
        .tokens("market", "About 2,000 crew builders.")
        .tokens("tech", "Two items open on the checklist.")
        .tokens("risks", "The docs site is the weak point.");
    let run = fold(&agents, &e);
    let terminal = draw(&run, &mut view, 140, 32, 1500);
    assert_eq!(view.drawn, places, "every pane stays where it was");
    let screen = terminal.backend().to_string();
    // Each member says it is in the group, where it is; nobody else does.
    assert_eq!(screen.matches("∥ research").count(), 3, "{screen}");
    insta::assert_snapshot!(terminal.backend());
}

fn panicked_tool() -> (Vec<AgentInfo>, Events) {
    let agents = vec![info("risks", "risk analyst"), info("writer", "writes")];
    let mut e = Events::default();
    session(&mut e, "Find the risks");
    e.start("risks", "Find the risks")
        .tokens("risks", "Running the load model.")
        .message("risks", "Running the load model.")
        .push(EventKind::ToolCall {
            agent: "risks".into(),
            call_id: "c1".into(),
            tool: "fault".into(),
            arguments: serde_json::json!({"mode": "panic"}),
        })
        .at(300)
        .push(EventKind::ToolFailed {
            agent: "risks".into(),
            call_id: "c1".into(),
            tool: "fault".into(),
            error: "tool panicked: load model crashed: index out of bounds".into(),
            kind: ToolFailureKind::Panic,
            entry: None,
        })
        .at(400)
        .tokens("risks", "The model crashed, so I estimated by hand.");
    (agents, e)
}

#[test]
fn a_failed_tool_turns_its_pane_red_and_shows_the_panic() {
    let (agents, events) = panicked_tool();
    let run = fold(&agents, &events);
    let mut view = View::new(run.agents().len());
    view.focus = 1;
    let terminal = draw(&run, &mut view, 100, 20, 1000);
    let buffer = terminal.backend().buffer();
    let theme = Theme::default_dark();
    // The risks pane's top-left corner is drawn in the error colour.
    assert_eq!(buffer[(0, 2)].fg, theme.error);
    let screen = terminal.backend().to_string();
    assert!(screen.contains("load model crashed"));
    let failure_row = screen
        .lines()
        .position(|l| l.contains("✗ panicked"))
        .unwrap();
    let x = screen
        .lines()
        .nth(failure_row)
        .unwrap()
        .chars()
        .position(|c| c == '✗')
        .unwrap();
    assert_eq!(buffer[(x as u16, failure_row as u16)].fg, theme.error);
    insta::assert_snapshot!(terminal.backend());
}

fn paused() -> (Vec<AgentInfo>, Events) {
    let agents = vec![info("lead", "launch lead"), info("writer", "writes")];
    let mut e = Events::default();
    session(&mut e, "Plan the launch");
    e.start("lead", "Plan the launch")
        .tokens(
            "lead",
            "Who is the audience, and is there a date we must hit?",
        )
        .message(
            "lead",
            "Who is the audience, and is there a date we must hit?",
        )
        .at(2000)
        .push(EventKind::Paused {
            agent: "lead".into(),
            prompt: "Who is the audience, and is there a date we must hit?".into(),
        });
    (agents, e)
}

#[test]
fn a_paused_agent_asks_through_the_input_box() {
    let (agents, events) = paused();
    let run = fold(&agents, &events);
    let mut view = View::new(run.agents().len());
    view.focus = 1;
    let terminal = draw(&run, &mut view, 100, 20, 5000);
    // The pause focuses the agent that asked.
    assert_eq!(view.focus, 0);
    insta::assert_snapshot!(terminal.backend());

    for c in "Crew authors".chars() {
        view.on_key(&run, key(KeyCode::Char(c)));
    }
    let action = view.on_key(&run, key(KeyCode::Enter));
    assert_eq!(action, Action::Send(vec![Command::answer("Crew authors")]));
    assert!(view.input.is_none());
}

#[test]
fn the_zoomed_pane_fills_the_screen() {
    let (agents, events) = four_streaming();
    let run = fold(&agents, &events);
    let mut view = View::new(run.agents().len());
    view.focus = 1;
    assert_eq!(view.on_key(&run, key(KeyCode::Enter)), Action::None);
    let terminal = draw(&run, &mut view, 80, 16, 2000);
    let screen = terminal.backend().to_string();
    assert!(screen.contains("Coder") && !screen.contains("Planner"));
    insta::assert_snapshot!(terminal.backend());
}

#[test]
fn the_inspector_shows_what_the_model_was_sent() {
    let (agents, mut events) = panicked_tool();
    events.message("risks", "The model crashed, so I estimated by hand.");
    events.push(EventKind::ModelRequest {
        agent: "risks".into(),
        model: "gpt-4o-mini".into(),
        call: Some(1),
        messages_from: 0,
        system_prompt: Some("You are Risks, risk analyst.".into()),
        messages: vec![
            Message::User {
                content: "Find the risks".into(),
            },
            Message::Tool {
                call_id: "c1".into(),
                name: "fault".into(),
                content: "error: tool panicked: load model crashed".into(),
            },
        ],
        tools: Some(vec![ToolDef {
            name: "fault".into(),
            description: "Fails on purpose.".into(),
            parameters: serde_json::json!({"type": "object"}),
        }]),
    });
    let run = fold(&agents, &events);
    let mut view = View::new(run.agents().len());
    view.on_key(&run, key(KeyCode::Char('i')));
    assert_eq!(view.overlay, Overlay::Inspector(0));
    let terminal = draw(&run, &mut view, 100, 30, 1000);
    insta::assert_snapshot!(terminal.backend());
}

#[test]
fn the_help_opens_with_a_key_and_closes_with_another() {
    let (agents, events) = four_streaming();
    let run = fold(&agents, &events);
    let mut view = View::new(run.agents().len());
    let before = draw(&run, &mut view, 100, 24, 2000).backend().to_string();
    assert!(!before.contains("cancel the whole run; again to quit"));
    view.on_key(&run, key(KeyCode::Char('?')));
    // What a user looks for in it, written out rather than read from the table it is drawn
    // from. On a large screen all of it shows, in two columns.
    let terminal = draw(&run, &mut view, 160, 48, 2000);
    let screen = terminal.backend().to_string();
    let wanted = [
        "focus the next / previous agent",
        "zoom the focused pane",
        "cancel the focused agent (the others go on)",
        "cancel the whole run; again to quit",
        "inspect what the focused agent sent to its model",
        "breakpoints: add or remove where agents stop",
        "Esc or ? closes this help",
    ];
    for line in wanted {
        assert!(screen.contains(line), "help lacks {line:?}:\n{screen}");
    }
    insta::assert_snapshot!(terminal.backend());
    // On a small one it scrolls: the end is a few keys away, and says there is no more.
    let small = draw(&run, &mut view, 100, 24, 2000).backend().to_string();
    assert!(small.contains("↓ more"), "{small}");
    assert!(!small.contains("cancel the whole run"), "{small}");
    for _ in 0..5 {
        view.on_key(&run, key(KeyCode::PageDown));
    }
    let end = draw(&run, &mut view, 100, 24, 2000).backend().to_string();
    assert!(end.contains("cancel the whole run; again to quit"), "{end}");
    assert!(end.contains("↑ back · Esc or ? closes this help"), "{end}");
    // Keys go to the help while it is open: Tab does not move the focus behind it.
    view.on_key(&run, key(KeyCode::Tab));
    assert_eq!(view.focus, 0);
    view.on_key(&run, key(KeyCode::Esc));
    let after = draw(&run, &mut view, 100, 24, 2000).backend().to_string();
    assert_eq!(
        after, before,
        "Esc closes the help and leaves the screen as it was"
    );
}

#[test]
fn a_tiny_terminal_shows_a_notice_and_never_panics() {
    let (agents, events) = four_streaming();
    let run = fold(&agents, &events);
    let mut view = View::new(run.agents().len());
    let terminal = draw(&run, &mut view, 20, 5, 2000);
    insta::assert_snapshot!(terminal.backend());
    for (w, h) in [
        (1, 1),
        (10, 3),
        (29, 8),
        (30, 7),
        (30, 8),
        (31, 9),
        (45, 12),
        (300, 4),
    ] {
        for zoomed in [false, true] {
            view.zoomed = zoomed;
            draw(&run, &mut view, w, h, 2000);
        }
    }
}

#[test]
fn sixteen_agents_fit_and_forty_fall_back_to_the_list() {
    let agents: Vec<AgentInfo> = (0..40)
        .map(|i| info(&format!("agent{i:02}"), "works"))
        .collect();
    let mut e = Events::default();
    session(&mut e, "go");
    let run = fold(&agents[..16], &e);
    let mut view = View::new(16);
    let screen = draw(&run, &mut view, 200, 50, 0).backend().to_string();
    for a in &agents[..16] {
        assert!(screen.contains(&a.name), "{} missing", a.name);
    }
    let run = fold(&agents, &e);
    let mut view = View::new(40);
    view.focus = 33;
    let screen = draw(&run, &mut view, 100, 30, 0).backend().to_string();
    assert!(
        screen.contains("40 agents") && screen.contains("▶Agent33"),
        "{screen}"
    );
}

#[test]
fn scrolling_back_shows_earlier_lines_and_end_follows_the_newest_again() {
    let agents = vec![info("writer", "writes")];
    let mut e = Events::default();
    session(&mut e, "write");
    e.start("writer", "write");
    for i in 1..=60 {
        e.tokens("writer", &format!("line {i}\n"));
    }
    let run = fold(&agents, &e);
    let mut view = View::new(1);
    let screen = draw(&run, &mut view, 60, 16, 1000).backend().to_string();
    assert!(screen.contains("line 60") && !screen.contains("line 40 "));
    view.on_key(&run, key(KeyCode::PageUp));
    let screen = draw(&run, &mut view, 60, 16, 1000).backend().to_string();
    assert!(!screen.contains("line 60"), "{screen}");
    assert!(screen.contains("↑ scrolled · End follows"), "{screen}");
    view.on_key(&run, key(KeyCode::Home));
    let screen = draw(&run, &mut view, 60, 16, 1000).backend().to_string();
    assert!(screen.contains("── turn 1 ── write"), "{screen}");
    view.on_key(&run, key(KeyCode::End));
    let screen = draw(&run, &mut view, 60, 16, 1000).backend().to_string();
    assert!(
        screen.contains("line 60") && !screen.contains("scrolled"),
        "{screen}"
    );
}

#[test]
fn no_color_leaves_no_colour_on_screen() {
    let (agents, events) = panicked_tool();
    let run = fold(&agents, &events);
    let mut view = View::new(run.agents().len());
    let theme = Theme::load(None, true).unwrap();
    let mut terminal = Terminal::new(TestBackend::new(80, 16)).unwrap();
    terminal
        .draw(|f| render::draw(f, &run, &mut view, &theme, 0))
        .unwrap();
    for cell in terminal.backend().buffer().content() {
        assert!(
            matches!(cell.fg, Color::Reset) && matches!(cell.bg, Color::Reset),
            "{cell:?}"
        );
    }
}

#[test]
fn esc_leaves_the_answer_box_and_the_other_keys_work_until_a_answers() {
    let (agents, events) = paused();
    let run = fold(&agents, &events);
    let mut view = View::new(run.agents().len());
    draw(&run, &mut view, 100, 20, 5000);
    assert!(view.input.is_some(), "the pause opens the box");
    // Typed, `?` and `q` are text.
    view.on_key(&run, key(KeyCode::Char('?')));
    assert_eq!(view.overlay, Overlay::None);
    view.on_key(&run, key(KeyCode::Esc));
    assert!(view.input.is_none(), "Esc leaves the box");
    let screen = draw(&run, &mut view, 100, 20, 5000).backend().to_string();
    assert!(
        screen.contains("a answer"),
        "the footer says how to come back:\n{screen}"
    );
    // Now the keys are the screen's again: help, focus.
    view.notice = None;
    view.on_key(&run, key(KeyCode::Char('?')));
    assert_eq!(view.overlay, Overlay::Help);
    view.on_key(&run, key(KeyCode::Esc));
    view.on_key(&run, key(KeyCode::Tab));
    assert_eq!(view.focus, 1);
    // The box stays closed while the pause waits, until `a` opens it on the asking agent.
    draw(&run, &mut view, 100, 20, 5000);
    assert!(view.input.is_none());
    view.on_key(&run, key(KeyCode::Char('a')));
    assert!(view.input.is_some());
    assert_eq!(view.focus, 0);
}

/// `n` workers named as people name them (`Worker 1` … `Worker n`), all busy: most
/// streaming, one whose tool failed, one cancelled, some done.
fn workers(n: usize) -> (Vec<AgentInfo>, Run) {
    let agents: Vec<AgentInfo> = (1..=n)
        .map(|i| AgentInfo {
            id: format!("w{i:02}").into(),
            name: format!("Worker {i}"),
            role: "researcher".into(),
        })
        .collect();
    let mut e = Events::default();
    session(&mut e, "Split the survey");
    e.push(EventKind::ParallelStarted {
        group: "survey".into(),
        agents: agents.iter().map(|a| a.id.clone()).collect(),
        round: None,
        handoffs: None,
    });
    for a in &agents {
        e.start(a.id.as_str(), "Split the survey");
        e.push(EventKind::ModelRequest {
            agent: a.id.clone(),
            model: "gpt-4o-mini".into(),
            call: Some(0),
            messages_from: 0,
            system_prompt: Some("You are a researcher.".into()),
            messages: vec![Message::User {
                content: "Split the survey".into(),
            }],
            tools: Some(Vec::new()),
        });
    }
    e.at(1500);
    for (i, a) in agents.iter().enumerate() {
        let id = a.id.as_str();
        e.tokens(id, &format!("Reading part {} of the survey. ", i + 1));
        match i % 8 {
            2 => {
                e.push(EventKind::ToolFailed {
                    agent: id.into(),
                    call_id: format!("c{i}").into(),
                    tool: "read_file".into(),
                    error: format!("part{}.csv: no such file", i + 1),
                    kind: ToolFailureKind::Error,
                    entry: None,
                });
                e.tokens(id, "The file is missing; going on without it.");
            }
            4 => {
                e.push(EventKind::AgentCancelled { agent: id.into() });
            }
            6 => {
                e.message(id, &format!("Reading part {} of the survey. ", i + 1));
            }
            _ => {}
        }
    }
    let run = fold(&agents, &e);
    (agents, run)
}

/// Each of the first `shown` agents can be read on `screen` by its label: in a pane's title
/// (`grid`: once, no other title says the same) or in the list.
fn distinct_labels(agents: &[AgentInfo], screen: &str, shown: usize, grid: bool) {
    for a in &agents[..shown] {
        let titled = screen.matches(&format!(" {} ", a.name)).count();
        let listed = screen.matches(&format!("▶{} ", a.name)).count();
        if grid {
            assert_eq!(titled, 1, "{} is titled {titled} times:\n{screen}", a.name);
        } else {
            assert!(titled + listed >= 1, "{} cannot be read:\n{screen}", a.name);
        }
    }
}

#[test]
fn sixteen_and_forty_agents_every_label_distinct_at_three_sizes() {
    for (n, width, height, grid) in [
        (16, 160, 48, true),
        (16, 120, 30, true),
        (16, 80, 24, false),
        (40, 160, 48, true),
        (40, 120, 30, false),
        (40, 80, 24, false),
    ] {
        let (agents, run) = workers(n);
        let mut view = View::new(run.agents().len());
        let terminal = draw(&run, &mut view, width, height, 2000);
        let screen = terminal.backend().to_string();
        let listed = screen.contains(&format!(" {n} agents "));
        assert_eq!(!listed, grid, "{n} agents at {width}x{height}:\n{screen}");
        // A grid shows every agent; the list as many as its rows hold.
        let shown = if grid {
            n
        } else {
            (height as usize - 5).min(n)
        };
        distinct_labels(&agents, &screen, shown, grid);
        // Titles never overwrite each other: a badge follows each label.
        for line in screen.lines().filter(|l| l.contains("Worker")) {
            assert!(
                !line.contains("Worker ─") && !line.contains("Worke…"),
                "{line}"
            );
        }
        insta::assert_snapshot!(
            format!("workers_{n}_at_{width}x{height}"),
            terminal.backend()
        );
    }
}

#[test]
fn a_failed_agent_is_marked_without_colour_and_its_failure_stays_in_view() {
    let (agents, mut events) = panicked_tool();
    // Enough said after the failure that its line has long scrolled away.
    for i in 1..=30 {
        events.tokens("risks", &format!("estimate line {i}\n"));
    }
    events.at(2000).push(EventKind::AgentFailed {
        agent: "writer".into(),
        error: "HTTP 429: quota exceeded".into(),
        status: Some(429),
        retryable: false,
    });
    let run = fold(&agents, &events);
    let mut view = View::new(run.agents().len());
    let theme = Theme::load(None, true).unwrap();
    let mut terminal = Terminal::new(TestBackend::new(100, 16)).unwrap();
    terminal
        .draw(|f| render::draw(f, &run, &mut view, &theme, 3000))
        .unwrap();
    let screen = terminal.backend().to_string();
    assert!(
        !screen.contains("✗ panicked"),
        "the failure's own line scrolled away:\n{screen}"
    );
    for seen in [
        "✗ Risks",
        "✗ Writer",
        "✗ failed",
        "✗ fault panicked: tool panicked: load model",
        "✗ failed (HTTP 429): HTTP 429: quota exceeded",
        "2 failed",
    ] {
        assert!(screen.contains(seen), "{seen:?} not on screen:\n{screen}");
    }
    insta::assert_snapshot!(terminal.backend());
}

/// A run of three agents at gpt-4o's prices, one with a failed tool, finished or not.
fn priced_run(finished: bool) -> (Vec<AgentInfo>, Events) {
    let agents = vec![
        info("risks", "risk analyst"),
        info("writer", "writes"),
        info("editor", "edits"),
    ];
    let mut e = Events::default();
    session(&mut e, "Find the risks");
    for (agent, t) in [("risks", 0), ("writer", 500), ("editor", 900)] {
        e.at(t)
            .start(agent, "Find the risks")
            .push(EventKind::ModelRequest {
                agent: agent.into(),
                model: "gpt-4o".into(),
                call: Some(0),
                messages_from: 0,
                system_prompt: Some("You help.".into()),
                messages: vec![Message::User {
                    content: "Find the risks".into(),
                }],
                tools: Some(Vec::new()),
            });
        e.tokens(agent, "Done.").message(agent, "Done.");
    }
    e.push(EventKind::ToolFailed {
        agent: "risks".into(),
        call_id: "c1".into(),
        tool: "fault".into(),
        error: "tool panicked: load model crashed".into(),
        kind: ToolFailureKind::Panic,
        entry: None,
    });
    if finished {
        e.at(61_000).push(EventKind::SessionFinished {
            outcome: crewtui::engine::Outcome::Completed,
            reason: "agent `editor` is terminal".into(),
        });
    }
    (agents, e)
}

#[test]
fn the_header_counts_agents_prices_the_run_and_keeps_the_outcome_at_80_columns() {
    let (agents, events) = priced_run(true);
    let run = fold(&agents, &events);
    let theme = Theme::default_dark();
    let mut widths = Vec::new();
    for width in [160u16, 120, 80, 60] {
        let mut view = View::new(run.agents().len());
        let terminal = draw(&run, &mut view, width, 20, 61_000);
        let header: String = terminal
            .backend()
            .to_string()
            .lines()
            .next()
            .unwrap()
            .to_string();
        assert!(
            header.contains("completed with 1 failure"),
            "{width} columns: {header}"
        );
        // Three replies of 1200 prompt and 48 completion tokens at $2.50 and $10 a million.
        if width >= 80 {
            assert!(header.contains("$0.010"), "{width}: {header}");
            assert!(
                header.contains("1 failed") || header.contains("✗1"),
                "{header}"
            );
        }
        // The outcome is drawn in the failure colour.
        let buffer = terminal.backend().buffer();
        let at = header.find("completed with").unwrap();
        let x = header[..at].chars().count() as u16;
        assert_eq!(buffer[(x, 0)].fg, theme.error, "{width}: {header}");
        widths.push(header);
    }
    insta::assert_snapshot!(widths.join("\n"));
}

#[test]
fn the_footer_keeps_help_and_quit_beside_a_notice_down_to_60_columns() {
    let (agents, events) = four_streaming();
    let run = fold(&agents, &events);
    for width in [60u16, 80, 120] {
        let mut view = View::new(run.agents().len());
        view.on_key(&run, key(KeyCode::Char('c')));
        let screen = draw(&run, &mut view, width, 20, 2000).backend().to_string();
        let footer = screen.lines().last().unwrap();
        assert!(footer.contains("Cancelling planner."), "{footer}");
        assert!(
            footer.contains("? help") && footer.contains("q quit"),
            "{footer}"
        );
    }
}

#[tokio::test(start_paused = true)]
async fn a_notice_gives_the_footer_back_to_the_keys_after_a_few_seconds() {
    let (agents, events) = four_streaming();
    let run = fold(&agents, &events);
    let mut view = View::new(run.agents().len());
    view.on_key(&run, key(KeyCode::Char('c')));
    let footer = |view: &mut View| {
        let screen = draw(&run, view, 120, 20, 2000).backend().to_string();
        screen.lines().last().unwrap().to_string()
    };
    tokio::time::advance(std::time::Duration::from_secs(3)).await;
    assert!(footer(&mut view).contains("Cancelling planner."));
    tokio::time::advance(std::time::Duration::from_secs(2)).await;
    let after = footer(&mut view);
    assert!(!after.contains("Cancelling"), "{after}");
    assert!(after.contains("Tab focus"), "the hints are back: {after}");
}

#[test]
fn the_light_theme_paints_its_background_and_dims_readably() {
    let (agents, events) = four_streaming();
    let run = fold(&agents, &events);
    let mut view = View::new(run.agents().len());
    let theme = Theme::load(Some("light"), false).unwrap();
    let mut terminal = Terminal::new(TestBackend::new(100, 20)).unwrap();
    terminal
        .draw(|f| render::draw(f, &run, &mut view, &theme, 2000))
        .unwrap();
    let buffer = terminal.backend().buffer();
    assert!(
        buffer
            .content()
            .iter()
            .all(|c| c.bg == Color::Rgb(255, 255, 255)),
        "every cell is on white"
    );
    // The footer's hints are dim text: drawn in the theme's dim ink, which reads on white.
    let footer = buffer.area.height - 1;
    let dim = buffer[(2, footer)].fg;
    assert_eq!(dim, theme.dim);
    let ink = crewtui::tui::theme::rgb(dim).unwrap();
    assert!(crewtui::tui::theme::contrast(ink, (255, 255, 255)) >= 4.5);
}

/// A writer whose reply mentions "retry" on three of its sixty lines.
fn long_reply() -> (Vec<AgentInfo>, Run) {
    let agents = vec![info("writer", "writes"), info("editor", "edits")];
    let mut e = Events::default();
    session(&mut e, "write");
    e.start("writer", "write");
    for i in 1..=60 {
        let line = match i {
            5 | 20 | 58 => format!("line {i}: add a Retry here\n"),
            _ => format!("line {i}\n"),
        };
        e.tokens("writer", &line);
    }
    let run = fold(&agents, &e);
    (agents, run)
}

fn modifiers_of(terminal: &Terminal<TestBackend>, needle: &str) -> Vec<Modifier> {
    let screen = terminal.backend().to_string();
    let buffer = terminal.backend().buffer();
    let mut found = Vec::new();
    for (y, line) in screen.lines().enumerate() {
        // The screen's lines are quoted: column 0 is the quote.
        let line = &line[1..];
        if let Some(at) = line.find(needle) {
            let x = line[..at].chars().count() as u16;
            found.push(buffer[(x, y as u16)].modifier);
        }
    }
    found
}

#[test]
fn a_search_highlights_the_focused_pane_and_n_goes_round_its_matches() {
    let (_, run) = long_reply();
    let mut view = View::new(run.agents().len());
    let draw60 = |view: &mut View| draw(&run, view, 60, 16, 1000);
    draw60(&mut view);
    view.on_key(&run, key(KeyCode::Char('/')));
    for c in "retry".chars() {
        view.on_key(&run, key(KeyCode::Char(c)));
    }
    let typing = draw60(&mut view).backend().to_string();
    assert!(
        typing.lines().last().unwrap().contains("/retry"),
        "{typing}"
    );
    view.on_key(&run, key(KeyCode::Enter));
    // From what is on screen (the newest lines): line 58 first, the last of three.
    let terminal = draw60(&mut view);
    let screen = terminal.backend().to_string();
    assert!(screen.contains("/retry · 3 of 3"), "{screen}");
    let marks = modifiers_of(&terminal, "Retry");
    assert_eq!(marks.len(), 1, "{screen}");
    assert!(
        marks[0].contains(Modifier::REVERSED | Modifier::BOLD),
        "{marks:?}"
    );
    // n goes round to the first, scrolling up to it.
    view.on_key(&run, key(KeyCode::Char('n')));
    let terminal = draw60(&mut view);
    let screen = terminal.backend().to_string();
    assert!(
        screen.contains("line 5: add a Retry") && screen.contains("1 of 3"),
        "{screen}"
    );
    assert!(screen.contains("↑ End"), "scrolled back: {screen}");
    insta::assert_snapshot!(terminal.backend());
    view.on_key(&run, key(KeyCode::Char('N')));
    let screen = draw60(&mut view).backend().to_string();
    assert!(
        screen.contains("line 58: add a Retry") && screen.contains("3 of 3"),
        "{screen}"
    );
    // The search goes with the focus: the editor's pane has no match.
    view.on_key(&run, key(KeyCode::Tab));
    view.on_key(&run, key(KeyCode::Char('n')));
    assert_eq!(view.notice_text(), Some("Not found: retry"));
    view.on_key(&run, key(KeyCode::BackTab));
    // Esc ends the search: no marks, the usual keys again.
    view.on_key(&run, key(KeyCode::Esc));
    let terminal = draw60(&mut view);
    assert!(
        modifiers_of(&terminal, "Retry")
            .iter()
            .all(|m| !m.contains(Modifier::REVERSED))
    );
    assert!(view.search.is_none());
}

#[test]
fn y_copies_the_last_reply_or_the_line_of_the_match() {
    let (agents, mut events) = priced_run(false);
    events.message("writer", "The plan, in full: ship on Tuesday.");
    let run = fold(&agents, &events);
    let mut view = View::new(run.agents().len());
    view.clipboard = Clipboard::Kept(Vec::new());
    view.focus = 1;
    draw(&run, &mut view, 100, 20, 1000);
    view.on_key(&run, key(KeyCode::Char('y')));
    assert_eq!(
        view.clipboard,
        Clipboard::Kept(vec!["The plan, in full: ship on Tuesday.".into()])
    );
    assert_eq!(
        view.notice_text(),
        Some("Copied Writer's last reply (35 B).")
    );
    view.on_key(&run, key(KeyCode::Char('/')));
    for c in "turn".chars() {
        view.on_key(&run, key(KeyCode::Char(c)));
    }
    view.on_key(&run, key(KeyCode::Enter));
    draw(&run, &mut view, 100, 20, 1000);
    view.on_key(&run, key(KeyCode::Char('y')));
    let Clipboard::Kept(copies) = &view.clipboard else {
        panic!("kept");
    };
    assert_eq!(
        copies.last().map(String::as_str),
        Some("── turn 1 ── Find the risks")
    );
}

#[test]
fn the_inspector_shows_every_request_and_searches_them() {
    let agents = vec![info("writer", "writes")];
    let mut e = Events::default();
    session(&mut e, "write");
    e.start("writer", "write");
    for call in 0..3u32 {
        e.push(EventKind::ModelRequest {
            agent: "writer".into(),
            model: "gpt-4o".into(),
            call: Some(call),
            messages_from: call as usize,
            system_prompt: (call == 0).then(|| "You write.".into()),
            messages: vec![Message::User {
                content: format!("draft number {}", call + 1),
            }],
            tools: (call == 0).then(Vec::new),
        });
        e.tokens("writer", &format!("reply {}", call + 1))
            .message("writer", &format!("reply {}", call + 1));
    }
    let run = fold(&agents, &e);
    let mut view = View::new(1);
    view.on_key(&run, key(KeyCode::Char('i')));
    let newest = draw(&run, &mut view, 100, 30, 1000).backend().to_string();
    assert!(newest.contains("Request 3 of 3"), "{newest}");
    assert!(
        newest.contains("user: draft number 3") && newest.contains("reply 3"),
        "{newest}"
    );
    view.on_key(&run, key(KeyCode::Left));
    view.on_key(&run, key(KeyCode::Left));
    let first = draw(&run, &mut view, 100, 30, 1000);
    let screen = first.backend().to_string();
    assert!(screen.contains("Request 1 of 3"), "{screen}");
    assert!(
        screen.contains("user: draft number 1") && !screen.contains("draft number 2"),
        "{screen}"
    );
    view.on_key(&run, key(KeyCode::Left));
    assert_eq!(view.notice_text(), Some("This is the first request."));
    // `/` searches what the inspector shows.
    view.on_key(&run, key(KeyCode::Char('/')));
    for c in "draft".chars() {
        view.on_key(&run, key(KeyCode::Char(c)));
    }
    view.on_key(&run, key(KeyCode::Enter));
    let terminal = draw(&run, &mut view, 100, 30, 1000);
    let marks = modifiers_of(&terminal, "draft");
    assert!(
        marks.iter().any(|m| m.contains(Modifier::REVERSED)),
        "{}",
        terminal.backend()
    );
    insta::assert_snapshot!(terminal.backend());
    view.on_key(&run, key(KeyCode::Esc));
    view.on_key(&run, key(KeyCode::Esc));
    assert_eq!(
        view.overlay,
        Overlay::None,
        "the first Esc ends the search, the second closes"
    );
}

#[test]
fn f_and_shift_f_go_round_the_agents_with_failures_in_screen_order() {
    let (_, run) = workers(16);
    let mut view = View::new(run.agents().len());
    draw(&run, &mut view, 160, 48, 2000);
    // Workers 3 and 11 had a tool fail (indexes 2 and 10).
    view.on_key(&run, key(KeyCode::Char('f')));
    assert_eq!(view.focus, 2);
    assert_eq!(
        view.notice_text(),
        Some("Worker 3: ✗ read_file failed: part3.csv: no such file")
    );
    view.on_key(&run, key(KeyCode::Char('f')));
    assert_eq!(view.focus, 10);
    view.on_key(&run, key(KeyCode::Char('f')));
    assert_eq!(view.focus, 2, "round again");
    view.on_key(&run, key(KeyCode::Char('F')));
    assert_eq!(view.focus, 10);
    // Down from Worker 3 is the pane drawn under it, whatever the last row's widths.
    view.focus = 2;
    view.on_key(&run, key(KeyCode::Down));
    assert_eq!(view.focus, 8);
}
