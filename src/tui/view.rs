//! What the user is looking at and doing: focus, zoom, scroll, overlays, the input box, and
//! the keys that change them. Keys become [`Action`]s; the loop carries them out.

use std::time::Duration;

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, MouseEvent, MouseEventKind};
use ratatui::layout::{Position, Rect};
use ratatui_textarea::TextArea;
use tokio::time::Instant;

use super::clipboard::Clipboard;
use super::editor::{self, Editor};
use super::finding::Move;
use super::keys::{self, KeyAction, KeyMode};
use super::pane::PaneView;
use crate::engine::run::AgentState;
use crate::engine::{AgentId, CallId, Command, Run};

/// What a key asks the loop to do beyond changing the view.
#[derive(Clone, Debug, PartialEq)]
pub enum Action {
    None,
    /// Send commands to the running session, in order.
    Send(Vec<Command>),
    /// The first input, to start the session with.
    Start(String),
    Quit,
    /// End the process leaving the session resumable where it waits.
    Detach,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Overlay {
    None,
    Help,
    /// The focused agent's model request and tool calls; the number is the scroll offset.
    Inspector(usize),
    /// `q` while the run is still going.
    ConfirmQuit,
}

/// A pane's scroll position.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scroll {
    /// Show the newest lines as they arrive.
    Follow,
    /// First visible line, counted from the oldest kept line.
    Top(usize),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum InputPurpose {
    FirstInput,
    Answer(String),
    /// The reason for denying a tool call waiting at its gate.
    Deny {
        agent: AgentId,
        call_id: CallId,
    },
    /// Guidance for an agent's next model call.
    Guide(AgentId),
}

pub struct InputBox {
    pub purpose: InputPurpose,
    pub area: TextArea<'static>,
}

/// How long a notice stays in the footer.
pub const NOTICE_FOR: Duration = Duration::from_secs(4);

/// A search of the focused pane, or of the inspector while it is open.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Search {
    pub query: String,
    /// The query is being typed (the footer is its input line).
    pub editing: bool,
    /// The current match: a line of what is searched, as drawn, and a byte offset in it.
    pub at: Option<(usize, usize)>,
    /// The agent whose pane (or inspector) `at` is in: another agent focused since starts the
    /// search afresh.
    pub agent: usize,
    /// The current match's number among them all, and how many there are.
    pub count: Option<(usize, usize)>,
}

impl Search {
    /// The current match, if it is in agent `agent`'s pane (or inspector).
    pub fn at_in(&self, agent: usize) -> Option<(usize, usize)> {
        self.at.filter(|_| self.agent == agent)
    }
}

/// A one-line message for the footer, beside the keys that matter most, until it expires.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Notice {
    pub text: String,
    pub until: Instant,
}

/// Whether the screen shows a run as it happens or a recording.
#[derive(Clone, Debug, PartialEq)]
pub enum Mode {
    Live,
    Replay(Timeline),
}

/// Where a replay stands, for the timeline bar.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Timeline {
    /// Events applied so far, and in all.
    pub position: usize,
    pub total: usize,
    pub playing: bool,
    /// The speed factor; `None` is as fast as possible.
    pub speed: Option<f64>,
    pub t_ms: u64,
    pub total_ms: u64,
    /// A recorded wait being played shorter than it was (its length): the timeline says so.
    pub skipping: Option<u64>,
    /// The recording is still being read: `total` and `total_ms` are what is read so far.
    pub reading: bool,
}

pub struct View {
    pub mode: Mode,
    pub focus: usize,
    pub zoomed: bool,
    pub overlay: Overlay,
    pub scroll: Vec<Scroll>,
    pub expanded: Vec<bool>,
    /// Each agent's wrapped lines, by the agent's place in the run.
    pub panes: Vec<PaneView>,
    pub input: Option<InputBox>,
    /// Ctrl-C was pressed once: the run is being cancelled and a second press quits.
    pub ctrl_c: bool,
    /// The user left the answer box of the pause waiting now: it stays closed until `a`.
    pub left_input: bool,
    /// A one-line message for the footer; see [`View::notify`].
    pub notice: Option<Notice>,
    /// Where each pane was drawn last, for the mouse, page sizes and moving focus.
    pub drawn: Vec<(usize, Rect)>,
    /// Panes per row in the last grid.
    pub columns: usize,
    /// The last frame showed the list of agents beside the focused pane.
    pub compact: bool,
    pub search: Option<Search>,
    /// The model request the inspector shows, by its index among the agent's; `None` for the
    /// newest.
    pub inspected: Option<usize>,
    /// Where the inspector's text was drawn last, for its page size and width.
    pub inspector_area: Rect,
    /// Where `y` puts what it copies.
    pub clipboard: Clipboard,
    /// A debugger editor open over the screen.
    pub editor: Option<Editor>,
    /// The first line of the help shown, when it is taller than the screen.
    pub help_scroll: usize,
    /// The newest gate the view has seen open, to bring the focus to a new one.
    seen_gate: Option<crate::engine::gate::GateId>,
}

impl View {
    pub fn new(panes: usize) -> Self {
        Self {
            mode: Mode::Live,
            focus: 0,
            zoomed: false,
            overlay: Overlay::None,
            scroll: vec![Scroll::Follow; panes],
            expanded: vec![false; panes],
            panes: vec![PaneView::default(); panes],
            input: None,
            ctrl_c: false,
            left_input: false,
            notice: None,
            drawn: Vec::new(),
            columns: 1,
            compact: false,
            search: None,
            inspected: None,
            inspector_area: Rect::default(),
            clipboard: Clipboard::default(),
            editor: None,
            seen_gate: None,
            help_scroll: 0,
        }
    }

    /// Shows `text` in the footer for [`NOTICE_FOR`].
    pub fn notify(&mut self, text: impl Into<String>) {
        self.notice = Some(Notice {
            text: text.into(),
            until: Instant::now() + NOTICE_FOR,
        });
    }

    /// The notice to show now, if one has not expired.
    pub fn notice_text(&self) -> Option<&str> {
        self.notice
            .as_ref()
            .filter(|n| Instant::now() < n.until)
            .map(|n| n.text.as_str())
    }

    /// When the notice on screen expires, for the loop to draw again then.
    pub fn notice_expiry(&self) -> Option<Instant> {
        self.notice.as_ref().map(|n| n.until)
    }

    /// Forgets a notice that has expired; true when one did.
    pub fn expire_notice(&mut self) -> bool {
        let expired = self
            .notice
            .as_ref()
            .is_some_and(|n| Instant::now() >= n.until);
        if expired {
            self.notice = None;
        }
        expired
    }

    /// Focuses the next (or previous) agent with a failure after the focused one, in screen
    /// order; says so when there is none.
    pub fn focus_failure(&mut self, run: &Run, forward: bool) {
        let n = run.agents().len();
        let failed = |i: usize| run.agents().get(i).is_some_and(|a| a.failed);
        let found = (1..=n)
            .map(|step| {
                if forward {
                    (self.focus + step) % n
                } else {
                    (self.focus + n * step - step) % n
                }
            })
            .find(|&i| failed(i));
        match found {
            Some(i) => {
                self.focus = i;
                let a = &run.agents()[i];
                let why = a.last_failure.as_deref().unwrap_or("failed");
                self.notify(format!(
                    "{}: {}",
                    crate::text::visible_line(&a.name),
                    crate::text::visible_line(why)
                ));
            }
            None => self.notify("No agent has failed."),
        }
    }

    pub fn open_input(&mut self, purpose: InputPurpose, text: &str) {
        let mut area = TextArea::new(if text.is_empty() {
            vec![String::new()]
        } else {
            text.lines().map(str::to_string).collect()
        });
        area.move_cursor(ratatui_textarea::CursorMove::Bottom);
        area.move_cursor(ratatui_textarea::CursorMove::End);
        self.input = Some(InputBox { purpose, area });
    }

    /// Says in the footer what an event means for the user now: a command the session could
    /// not carry out.
    pub fn heard(&mut self, event: &crate::engine::Event) {
        if let crate::engine::EventKind::CommandRejected { error, .. } = &event.kind {
            self.notify(crate::text::visible_line(error).into_owned());
        }
    }

    /// Brings the view in line with the run after events: panes that appeared, the input box
    /// for a pause that began or ended.
    pub fn sync(&mut self, run: &Run) {
        self.sync_panes(run);
        if let Some(Editor::Breakpoints(b)) = &mut self.editor {
            b.specs = run.breakpoints().to_vec();
        }
        // Variants begin: the focus goes to the first, where `k` keeps one.
        let variants = super::render::variant_panes(run);
        if let Some(&first) = variants.first()
            && !variants.contains(&self.focus)
        {
            self.focus = first;
        }
        if self.mode != Mode::Live {
            // A recording's pauses were answered long ago; nothing to type.
            if let Some(pause) = run.pause()
                && let Some(i) = run.agent_index(pause.agent.as_str())
            {
                self.focus = i;
            }
            return;
        }
        if run.pause().is_none() {
            self.left_input = false;
        }
        // An agent stops: it gets the focus, unless the focused one waits at a gate too.
        let newest = run.open_gates().last();
        if newest.map(|g| &g.gate) != self.seen_gate.as_ref() {
            self.seen_gate = newest.map(|g| g.gate.clone());
            let focused_waits = run
                .agents()
                .get(self.focus)
                .is_some_and(|a| run.gate_of(a.id.as_str()).is_some());
            if let Some(gate) = newest
                && !focused_waits
                && let Some(i) = run.agent_index(gate.agent.as_str())
            {
                self.focus = i;
            }
        }
        match (run.pause(), &self.input) {
            (Some(pause), None) if !self.left_input => {
                if let Some(i) = run.agent_index(pause.agent.as_str()) {
                    self.focus = i;
                }
                self.open_input(InputPurpose::Answer(pause.agent.to_string()), "");
            }
            (
                None,
                Some(InputBox {
                    purpose: InputPurpose::Answer(_),
                    ..
                }),
            ) => self.input = None,
            _ => {}
        }
    }

    /// Makes room for agents that appeared since the last frame.
    pub fn sync_panes(&mut self, run: &Run) {
        let n = run.agents().len();
        self.scroll.resize(n, Scroll::Follow);
        self.expanded.resize(n, false);
        self.panes.resize(n, PaneView::default());
        self.focus = self.focus.min(n.saturating_sub(1));
    }

    fn page(&self) -> usize {
        self.drawn
            .iter()
            .find(|(i, _)| *i == self.focus)
            .map_or(10, |(_, r)| r.height.saturating_sub(3).max(1) as usize)
    }

    fn scroll_by(&mut self, run: &Run, pane: usize, lines: isize) {
        let Some(height) = self
            .drawn
            .iter()
            .find(|(i, _)| *i == pane)
            .map(|(_, r)| r.height.saturating_sub(2) as usize)
        else {
            return;
        };
        let width = self
            .drawn
            .iter()
            .find(|(i, _)| *i == pane)
            .map_or(1, |(_, r)| r.width.saturating_sub(2) as usize);
        let (Some(view), Some(agent)) = (self.panes.get_mut(pane), run.agents().get(pane)) else {
            return;
        };
        let total = view.total_lines(&agent.timeline, width, self.expanded[pane]);
        let bottom = total.saturating_sub(height);
        let top = match self.scroll[pane] {
            Scroll::Follow => bottom,
            Scroll::Top(t) => t.min(bottom),
        };
        let next = top.saturating_add_signed(lines).min(bottom);
        self.scroll[pane] = if next >= bottom {
            Scroll::Follow
        } else {
            Scroll::Top(next)
        };
    }

    pub fn on_mouse(&mut self, run: &Run, mouse: MouseEvent) {
        let lines = match mouse.kind {
            MouseEventKind::ScrollUp => -3,
            MouseEventKind::ScrollDown => 3,
            _ => return,
        };
        let at = Position::new(mouse.column, mouse.row);
        if let Some(&(pane, _)) = self.drawn.iter().find(|(_, r)| r.contains(at)) {
            self.scroll_by(run, pane, lines);
        }
    }

    /// Which key table applies now, under any search (see [`View::search_mode`]).
    pub fn key_mode(&self) -> KeyMode {
        if let Some(editor) = &self.editor {
            return editor.key_mode();
        }
        if let Overlay::Inspector(_) = self.overlay {
            return KeyMode::Inspector;
        }
        match (&self.mode, &self.input) {
            (Mode::Replay(_), _) => KeyMode::Replay,
            (Mode::Live, Some(_)) => KeyMode::Input,
            (Mode::Live, None) => KeyMode::Live,
        }
    }

    /// The search's keys, which come first while there is one: typing the query, or moving
    /// between what it found.
    pub fn search_mode(&self) -> Option<KeyMode> {
        self.search.as_ref().map(|s| {
            if s.editing {
                KeyMode::Search
            } else {
                KeyMode::Found
            }
        })
    }

    pub fn on_key(&mut self, run: &Run, key: KeyEvent) -> Action {
        if key.kind == KeyEventKind::Release {
            return Action::None;
        }
        if self.overlay != Overlay::Help
            && let Some(editor) = &mut self.editor
        {
            let action = keys::action(editor.key_mode(), &key);
            if action == Some(KeyAction::Help) {
                self.overlay = Overlay::Help;
                self.help_scroll = 0;
                return Action::None;
            }
            return match editor.on_key(action, key) {
                editor::Outcome::Stay => Action::None,
                editor::Outcome::Close => {
                    self.editor = None;
                    Action::None
                }
                editor::Outcome::Send(commands) => {
                    // The breakpoint editor stays open for the next one.
                    match &mut self.editor {
                        Some(Editor::Breakpoints(b)) => b.sent(),
                        _ => self.editor = None,
                    }
                    Action::Send(commands)
                }
            };
        }
        match self.search_mode() {
            Some(KeyMode::Search) => {
                match keys::action(KeyMode::Search, &key) {
                    Some(action) => return self.perform(run, action),
                    None => self.type_query(key),
                }
                return Action::None;
            }
            Some(KeyMode::Found)
                if matches!(self.overlay, Overlay::None | Overlay::Inspector(_)) =>
            {
                if let Some(action) = keys::action(KeyMode::Found, &key) {
                    return self.perform(run, action);
                }
            }
            Some(_) | None => {}
        }
        match self.overlay {
            Overlay::ConfirmQuit => {
                match key.code {
                    KeyCode::Char('y' | 'Y' | 'q') => return Action::Quit,
                    KeyCode::Char('d' | 'D') if waiting(run) => return Action::Detach,
                    KeyCode::Char('n' | 'N') | KeyCode::Esc => self.overlay = Overlay::None,
                    _ => {}
                }
                return Action::None;
            }
            Overlay::Help => {
                match key.code {
                    KeyCode::Esc | KeyCode::Char('?' | 'q') | KeyCode::Enter | KeyCode::F(1) => {
                        self.overlay = Overlay::None;
                    }
                    // A help taller than the screen scrolls; drawing keeps it in range.
                    KeyCode::Up | KeyCode::Char('k') => {
                        self.help_scroll = self.help_scroll.saturating_sub(1);
                    }
                    KeyCode::Down | KeyCode::Char('j') => self.help_scroll += 1,
                    KeyCode::PageUp => self.help_scroll = self.help_scroll.saturating_sub(10),
                    KeyCode::PageDown | KeyCode::Char(' ') => self.help_scroll += 10,
                    KeyCode::Home => self.help_scroll = 0,
                    _ => {}
                }
                return Action::None;
            }
            Overlay::Inspector(_) => {
                if let Some(action) = keys::action(KeyMode::Inspector, &key) {
                    return self.perform(run, action);
                }
                return Action::None;
            }
            Overlay::None => {}
        }
        let mode = self.key_mode();
        match keys::action(mode, &key) {
            Some(action) => self.perform(run, action),
            None => {
                // In the input box, every other key is typing.
                if let Some(input) = &mut self.input {
                    input.area.input(key);
                }
                Action::None
            }
        }
    }

    /// Carries out what a key asks for, as far as looking is concerned; the rest becomes an
    /// [`Action`] for the loop. Replay's own keys are the replay loop's, which never passes
    /// them here.
    pub fn perform(&mut self, run: &Run, action: KeyAction) -> Action {
        let n = run.agents().len().max(1);
        let inspecting = matches!(self.overlay, Overlay::Inspector(_));
        // While a re-run's variants are all the screen shows, focus goes round them.
        let variants = super::render::variant_panes(run);
        let cycle = |focus: usize, forward: bool| match variants.iter().position(|&i| i == focus) {
            Some(at) if forward => variants[(at + 1) % variants.len()],
            Some(at) => variants[(at + variants.len() - 1) % variants.len()],
            None if forward => (focus + 1) % n,
            None => (focus + n - 1) % n,
        };
        match action {
            KeyAction::FocusNext => self.focus = cycle(self.focus, true),
            KeyAction::FocusPrevious => self.focus = cycle(self.focus, false),
            KeyAction::FocusDown | KeyAction::FocusUp => {
                let up = action == KeyAction::FocusUp;
                // The list beside the focused pane goes one agent at a time; a grid moves to
                // the pane drawn above or below.
                self.focus = if self.compact || self.zoomed {
                    if up {
                        self.focus.saturating_sub(1)
                    } else {
                        (self.focus + 1).min(n - 1)
                    }
                } else {
                    super::layout::neighbour(&self.drawn, self.focus, up).unwrap_or(self.focus)
                };
            }
            KeyAction::NextFailure => self.focus_failure(run, true),
            KeyAction::PreviousFailure => self.focus_failure(run, false),
            KeyAction::Search => {
                self.search = Some(Search {
                    editing: true,
                    ..Search::default()
                });
            }
            KeyAction::Find => self.find(run),
            KeyAction::CancelSearch | KeyAction::EndSearch => self.search = None,
            KeyAction::NextMatch => self.step_match(run, true),
            KeyAction::PreviousMatch => self.step_match(run, false),
            KeyAction::Copy => self.copy(run),
            KeyAction::CloseOverlay => {
                self.overlay = Overlay::None;
                self.search = None;
            }
            // The inspector's own: handled above while it is open.
            KeyAction::LineUp => self.inspector_move(run, Move::LineUp),
            KeyAction::LineDown => self.inspector_move(run, Move::LineDown),
            KeyAction::OlderRequest => self.inspector_move(run, Move::Older),
            KeyAction::NewerRequest => self.inspector_move(run, Move::Newer),
            KeyAction::PageUp if inspecting => self.inspector_move(run, Move::PageUp),
            KeyAction::PageDown if inspecting => self.inspector_move(run, Move::PageDown),
            KeyAction::Oldest if inspecting => self.inspector_move(run, Move::Top),
            KeyAction::Follow if inspecting => self.inspector_move(run, Move::Bottom),
            KeyAction::Zoom => self.zoomed = !self.zoomed,
            KeyAction::PageUp => self.scroll_by(run, self.focus, -(self.page() as isize)),
            KeyAction::PageDown => self.scroll_by(run, self.focus, self.page() as isize),
            KeyAction::Oldest => self.scroll_by(run, self.focus, isize::MIN / 2),
            KeyAction::Follow => {
                if let Some(scroll) = self.scroll.get_mut(self.focus) {
                    *scroll = Scroll::Follow;
                }
            }
            KeyAction::Expand => {
                if let Some(e) = self.expanded.get_mut(self.focus) {
                    *e = !*e;
                }
            }
            KeyAction::Inspect => {
                self.overlay = Overlay::Inspector(0);
                self.inspected = None;
                self.search = None;
            }
            KeyAction::Help => {
                self.overlay = Overlay::Help;
                self.help_scroll = 0;
            }
            KeyAction::Answer => match run.pause() {
                Some(pause) => {
                    self.left_input = false;
                    if let Some(i) = run.agent_index(pause.agent.as_str()) {
                        self.focus = i;
                    }
                    self.open_input(InputPurpose::Answer(pause.agent.to_string()), "");
                }
                None => self.notify("No agent is waiting for an answer."),
            },
            KeyAction::CancelAgent => {
                if let Some(a) = run.agents().get(self.focus) {
                    let id = a.id.to_string();
                    if a.state.is_active() || a.state == AgentState::Waiting {
                        self.notify(format!("Cancelling {id}."));
                        return Action::Send(vec![Command::cancel_agent(id)]);
                    }
                    self.notify(format!("{id} is not running."));
                }
            }
            KeyAction::CancelRun => {
                if run.running() && !self.ctrl_c {
                    self.ctrl_c = true;
                    self.notify("Cancelling the run. Ctrl-C again or q quits.");
                    return Action::Send(vec![Command::cancel_session()]);
                }
                return Action::Quit;
            }
            KeyAction::Quit => {
                if run.running() && !self.ctrl_c {
                    self.overlay = Overlay::ConfirmQuit;
                } else {
                    return Action::Quit;
                }
            }
            KeyAction::Send => {
                let Some(input) = &mut self.input else {
                    return Action::None;
                };
                let text = input.area.lines().join("\n").trim().to_string();
                // A denial needs no reason.
                if text.is_empty() && !matches!(input.purpose, InputPurpose::Deny { .. }) {
                    self.notify("Type something first.");
                    return Action::None;
                }
                let purpose = input.purpose.clone();
                self.input = None;
                self.notice = None;
                return match purpose {
                    InputPurpose::FirstInput => Action::Start(text),
                    InputPurpose::Answer(_) => Action::Send(vec![Command::answer(text)]),
                    InputPurpose::Deny { call_id, .. } => Action::Send(vec![Command::Deny {
                        call_id,
                        reason: (!text.is_empty()).then_some(text),
                    }]),
                    InputPurpose::Guide(agent) => {
                        self.notify(format!("{agent} sees it at its next model call."));
                        Action::Send(vec![Command::Guide { agent, text }])
                    }
                };
            }
            KeyAction::NewLine => {
                if let Some(input) = &mut self.input {
                    input.area.insert_newline();
                }
            }
            KeyAction::LeaveInput => match self.input.as_ref().map(|i| &i.purpose) {
                Some(InputPurpose::FirstInput) => return Action::Quit,
                Some(InputPurpose::Answer(_)) => {
                    self.input = None;
                    self.left_input = true;
                    self.notify("The agent still waits: a answers.");
                }
                Some(InputPurpose::Deny { .. }) => {
                    self.input = None;
                    self.notify("Not denied: the call still waits.");
                }
                Some(InputPurpose::Guide(_)) => {
                    self.input = None;
                    self.notify("No guidance sent.");
                }
                None => {}
            },
            KeyAction::Continue => return self.continue_gate(run),
            KeyAction::Step => return self.step_gate(run),
            KeyAction::Deny => return self.deny_call(run),
            KeyAction::Edit => return self.edit_gate(run),
            KeyAction::Breakpoints => return self.open_breakpoints(run),
            KeyAction::Rerun => return self.rerun_form(run, false),
            KeyAction::Variants => return self.rerun_form(run, true),
            KeyAction::Keep => return self.keep_variant(run),
            KeyAction::Guide => return self.guide(run),
            KeyAction::Hold => return self.hold(run),
            // The editors' own, which they take before any table of the screen.
            KeyAction::NextField | KeyAction::PreviousField | KeyAction::RemoveBreakpoint => {}
            KeyAction::PlayPause
            | KeyAction::StepForward
            | KeyAction::StepBack
            | KeyAction::Faster
            | KeyAction::Slower
            | KeyAction::Start
            | KeyAction::End
            | KeyAction::Jump
            | KeyAction::NextMoment
            | KeyAction::PreviousMoment => {}
            // The real terminal takes Ctrl-Z before the view; elsewhere there is no shell to
            // give a screen back to.
            KeyAction::Suspend => {}
        }
        Action::None
    }
}

/// Whether the session waits for the user now: at a gate, or for an answer.
pub fn waiting(run: &Run) -> bool {
    run.running() && (run.pause().is_some() || !run.open_gates().is_empty())
}
