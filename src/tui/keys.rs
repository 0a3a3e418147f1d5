//! The keys: one table per mode, which is at once what each key does, the footer's hints and
//! the help overlay, so the three cannot disagree.
//!
//! A mode is what the screen is doing (watching a live run, typing an answer, playing a
//! recording). Each binding names its keys, what they do in words (the help), a short hint
//! (the footer, most important first) and the [`KeyAction`] the view carries out.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// What the keys are for right now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyMode {
    /// A run going on (or over) on screen.
    Live,
    /// The input box has the keys: an answer to a pause, or the first input.
    Input,
    /// A recording playing.
    Replay,
    /// The inspector is open.
    Inspector,
    /// Typing what to search for; other keys are the query.
    Search,
    /// A search has found something: its keys come before those of the screen below it.
    Found,
    /// An editor of the debugger has the keys: a tool call's arguments, a model request, a
    /// re-run's settings. Other keys are typing.
    Editor,
    /// The breakpoint editor: a spec being typed, and the list of those set.
    Breakpoints,
}

/// What a key asks for. The view carries out what is about looking; the live loop and the
/// replay loop what is about the run or the recording.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyAction {
    FocusNext,
    FocusPrevious,
    FocusUp,
    FocusDown,
    Zoom,
    PageUp,
    PageDown,
    Oldest,
    Follow,
    Expand,
    Inspect,
    Help,
    Quit,
    /// Open the input box again for the pause waiting for an answer.
    Answer,
    CancelAgent,
    CancelRun,
    /// Give the terminal back to the shell until `fg`. The terminal carries it out
    /// (`terminal::Process`), taking the key out of the input before any mode sees it.
    Suspend,
    /// Send what the input box holds.
    Send,
    NewLine,
    /// Leave the input box; the pause still waits.
    LeaveInput,
    PlayPause,
    StepForward,
    StepBack,
    Faster,
    Slower,
    Start,
    End,
    /// Jump to a tenth of the recording (1–9).
    Jump,
    NextMoment,
    PreviousMoment,
    /// Focus the next / previous agent with a failure.
    NextFailure,
    PreviousFailure,
    /// Start typing a search of the focused pane (or the inspector).
    Search,
    /// Search for what was typed / stop typing.
    Find,
    CancelSearch,
    NextMatch,
    PreviousMatch,
    EndSearch,
    /// Copy the focused agent's last reply, or the line of the match, to the clipboard.
    Copy,
    CloseOverlay,
    LineUp,
    LineDown,
    /// The agent's previous / next model request in the inspector.
    OlderRequest,
    NewerRequest,
    /// Leave the focused agent's gate (a tool call waiting for approval: approve it).
    Continue,
    /// Leave the gate and stop at the agent's next one.
    Step,
    /// Deny the tool call waiting at the gate, with a reason.
    Deny,
    /// Edit what waits at the gate: the tool call's arguments, or the model request.
    Edit,
    /// Open the breakpoint editor.
    Breakpoints,
    /// Run the focused agent's last turn again (`variants`: several at once).
    Rerun,
    Variants,
    /// Keep the focused variant of a re-run.
    Keep,
    /// Give the focused agent guidance for its next model call.
    Guide,
    /// Hold the focused agent at its next gate, or let it go.
    Hold,
    /// In an editor: the next / previous field or message.
    NextField,
    PreviousField,
    /// Remove the breakpoint chosen in the list.
    RemoveBreakpoint,
}

/// A key with the modifiers it needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Chord {
    pub code: KeyCode,
    pub modifiers: KeyModifiers,
}

const fn key(code: KeyCode) -> Chord {
    Chord {
        code,
        modifiers: KeyModifiers::NONE,
    }
}

const fn ch(c: char) -> Chord {
    key(KeyCode::Char(c))
}

const fn ctrl(c: char) -> Chord {
    Chord {
        code: KeyCode::Char(c),
        modifiers: KeyModifiers::CONTROL,
    }
}

const fn alt(code: KeyCode) -> Chord {
    Chord {
        code,
        modifiers: KeyModifiers::ALT,
    }
}

#[derive(Clone, Copy, Debug)]
pub struct Binding {
    pub chords: &'static [Chord],
    /// The keys as the help shows them.
    pub keys: &'static str,
    /// What they do, in the help.
    pub does: &'static str,
    /// The footer's hint; `None` for keys only the help lists.
    pub hint: Option<&'static str>,
    /// A hint that stays when the footer is narrow.
    pub essential: bool,
    /// The hint is shown only while this holds.
    pub when: When,
    pub action: KeyAction,
}

/// When a binding's hint is worth the footer's room.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum When {
    Always,
    /// An agent waits for the user's answer.
    Paused,
    /// An agent has failed.
    Failures,
    /// The focused agent waits at a gate.
    Stopped,
    /// The focused agent waits at a tool call's gate.
    ToolGate,
    /// The focused agent waits at a gate with something to edit: a tool call or a model call.
    Editable,
    /// A re-run's variants wait for the user to keep one.
    Variants,
}

/// What the footer needs to know of the screen to choose its hints.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Situation {
    pub paused: bool,
    pub failures: bool,
    pub stopped: bool,
    pub tool_gate: bool,
    pub editable: bool,
    pub variants: bool,
}

impl When {
    fn holds(self, situation: Situation) -> bool {
        match self {
            When::Always => true,
            When::Paused => situation.paused,
            When::Failures => situation.failures,
            When::Stopped => situation.stopped,
            When::ToolGate => situation.tool_gate,
            When::Editable => situation.editable,
            When::Variants => situation.variants,
        }
    }
}

const fn bind(
    chords: &'static [Chord],
    keys: &'static str,
    does: &'static str,
    hint: Option<&'static str>,
    action: KeyAction,
) -> Binding {
    Binding {
        chords,
        keys,
        does,
        hint,
        essential: false,
        when: When::Always,
        action,
    }
}

const fn essential(binding: Binding) -> Binding {
    Binding {
        essential: true,
        ..binding
    }
}

const fn when(when: When, binding: Binding) -> Binding {
    Binding { when, ..binding }
}

use KeyAction as A;

/// The same in every mode: see [`KeyAction::Suspend`].
const SUSPEND: Binding = bind(
    &[ctrl('z')],
    "Ctrl-Z",
    "suspend to the shell; fg brings it back",
    None,
    A::Suspend,
);

/// Moving around, shared by every mode that shows panes.
const FOCUS: [Binding; 7] = [
    bind(
        &[key(KeyCode::Tab), key(KeyCode::Right)],
        "Tab / Shift-Tab, ←/→",
        "focus the next / previous agent",
        Some("Tab focus"),
        A::FocusNext,
    ),
    bind(
        &[key(KeyCode::BackTab), key(KeyCode::Left)],
        "",
        "",
        None,
        A::FocusPrevious,
    ),
    bind(
        &[key(KeyCode::Up)],
        "↑ / ↓",
        "focus the agent above / below",
        None,
        A::FocusUp,
    ),
    bind(&[key(KeyCode::Down)], "", "", None, A::FocusDown),
    bind(
        &[key(KeyCode::PageUp)],
        "PgUp / PgDn, wheel",
        "scroll a pane",
        Some("PgUp/PgDn scroll"),
        A::PageUp,
    ),
    bind(&[key(KeyCode::PageDown)], "", "", None, A::PageDown),
    bind(
        &[key(KeyCode::End)],
        "End",
        "follow the newest lines again",
        None,
        A::Follow,
    ),
];

/// Finding things, shared by the live screen and the replay.
const LOOKING: [Binding; 4] = [
    when(
        When::Failures,
        bind(
            &[ch('f')],
            "f / F",
            "focus the next / previous agent with a failure",
            Some("f next failure"),
            A::NextFailure,
        ),
    ),
    bind(&[ch('F')], "", "", None, A::PreviousFailure),
    bind(
        &[ch('/')],
        "/",
        "search the focused pane (n / N then move between matches)",
        Some("/ search"),
        A::Search,
    ),
    bind(
        &[ch('y')],
        "y",
        "copy the focused agent's last reply to the clipboard",
        Some("y copy"),
        A::Copy,
    ),
];

const LIVE: &[Binding] = &[
    FOCUS[0],
    FOCUS[1],
    FOCUS[2],
    FOCUS[3],
    bind(
        &[key(KeyCode::Enter)],
        "Enter",
        "zoom the focused pane to the full screen and back",
        Some("Enter zoom"),
        A::Zoom,
    ),
    FOCUS[4],
    FOCUS[5],
    bind(
        &[key(KeyCode::Home)],
        "Home",
        "scroll to the oldest line",
        None,
        A::Oldest,
    ),
    FOCUS[6],
    bind(
        &[ch('e')],
        "e",
        "expand or fold long tool results",
        Some("e expand"),
        A::Expand,
    ),
    when(
        When::Paused,
        essential(bind(
            &[ch('a')],
            "a",
            "answer the agent waiting for you (opens the input box)",
            Some("a answer"),
            A::Answer,
        )),
    ),
    when(
        When::Stopped,
        essential(bind(
            &[ch(' '), key(KeyCode::F(5))],
            "space or F5",
            "continue the focused agent from its gate (approve a tool call waiting there)",
            Some("space continue"),
            A::Continue,
        )),
    ),
    when(
        When::Stopped,
        bind(
            &[ch('s')],
            "s",
            "step: continue, and stop again at the agent's next model or tool call",
            Some("s step"),
            A::Step,
        ),
    ),
    when(
        When::ToolGate,
        bind(
            &[ch('d')],
            "d",
            "deny the tool call waiting at the gate (asks a reason; the model is told)",
            Some("d deny"),
            A::Deny,
        ),
    ),
    when(
        When::Editable,
        bind(
            &[ch('E')],
            "E",
            "edit the tool call's arguments or the model request waiting at the gate",
            Some("E edit"),
            A::Edit,
        ),
    ),
    when(
        When::Variants,
        essential(bind(
            &[ch('k')],
            "k",
            "keep the focused variant of a re-run; the run goes on from it",
            Some("k keep"),
            A::Keep,
        )),
    ),
    LOOKING[0],
    LOOKING[1],
    LOOKING[2],
    LOOKING[3],
    bind(
        &[ch('c'), key(KeyCode::Esc)],
        "c or Esc",
        "cancel the focused agent (the others go on)",
        Some("c cancel agent"),
        A::CancelAgent,
    ),
    bind(
        &[ctrl('c')],
        "Ctrl-C",
        "cancel the whole run; again to quit",
        Some("^C cancel run"),
        A::CancelRun,
    ),
    SUSPEND,
    bind(
        &[ch('i')],
        "i",
        "inspect what the focused agent sent to its model",
        Some("i inspect"),
        A::Inspect,
    ),
    bind(
        &[ch('b')],
        "b",
        "breakpoints: add or remove where agents stop",
        Some("b breakpoints"),
        A::Breakpoints,
    ),
    bind(
        &[ch('g')],
        "g",
        "guide the focused agent: a message it sees at its next model call",
        Some("g guide"),
        A::Guide,
    ),
    bind(
        &[ch('h')],
        "h",
        "hold the focused agent at its next gate (the others go on); again to release",
        Some("h hold"),
        A::Hold,
    ),
    bind(
        &[ch('r')],
        "r",
        "run the focused agent's last turn again, from its start (while the run is stopped \
         right after it)",
        Some("r re-run"),
        A::Rerun,
    ),
    bind(
        &[ch('R')],
        "R",
        "run it again as 2 to 4 variants side by side, and keep one",
        None,
        A::Variants,
    ),
    essential(bind(
        &[ch('?'), key(KeyCode::F(1))],
        "?",
        "this help",
        Some("? help"),
        A::Help,
    )),
    essential(bind(
        &[ch('q')],
        "q",
        "quit (asks first while the run is going)",
        Some("q quit"),
        A::Quit,
    )),
];

const INPUT: &[Binding] = &[
    essential(bind(
        &[key(KeyCode::Enter)],
        "Enter",
        "send what you typed",
        Some("Enter sends"),
        A::Send,
    )),
    bind(
        &[alt(KeyCode::Enter)],
        "Alt-Enter",
        "a new line in the input box",
        Some("Alt-Enter new line"),
        A::NewLine,
    ),
    essential(bind(
        &[key(KeyCode::Esc)],
        "Esc",
        "leave the input box (the agent keeps waiting; a answers later)",
        Some("Esc leaves the box"),
        A::LeaveInput,
    )),
    FOCUS[0],
    FOCUS[1],
    FOCUS[4],
    FOCUS[5],
    bind(
        &[ctrl('c')],
        "Ctrl-C",
        "cancel the whole run; again to quit",
        Some("^C cancel run"),
        A::CancelRun,
    ),
    SUSPEND,
    bind(&[key(KeyCode::F(1))], "F1", "this help", None, A::Help),
];

const REPLAY: &[Binding] = &[
    bind(
        &[ch(' ')],
        "space",
        "play or pause",
        Some("space play/pause"),
        A::PlayPause,
    ),
    bind(
        &[key(KeyCode::Right)],
        "→ / ←",
        "one event forward / back",
        Some("→/← step"),
        A::StepForward,
    ),
    bind(&[key(KeyCode::Left)], "", "", None, A::StepBack),
    bind(
        &[ch('+'), ch('=')],
        "+ / −",
        "faster / slower (0.25× to 64×, then as fast as possible)",
        Some("+/− speed"),
        A::Faster,
    ),
    bind(&[ch('-'), ch('_')], "", "", None, A::Slower),
    bind(
        &[key(KeyCode::Home)],
        "Home / End",
        "the start / the end of the recording",
        Some("Home/End"),
        A::Start,
    ),
    bind(&[key(KeyCode::End)], "", "", None, A::End),
    bind(
        &[
            ch('1'),
            ch('2'),
            ch('3'),
            ch('4'),
            ch('5'),
            ch('6'),
            ch('7'),
            ch('8'),
            ch('9'),
        ],
        "1–9",
        "jump to 10 % … 90 % of the recording",
        Some("1-9 jump"),
        A::Jump,
    ),
    bind(
        &[ch('n')],
        "n / p",
        "the next / previous tool call, failure, hand-off, group, pause or intervention (a gate, \
         a decision, guidance, a re-run)",
        Some("n/p next/prev"),
        A::NextMoment,
    ),
    bind(&[ch('p')], "", "", None, A::PreviousMoment),
    bind(
        &[key(KeyCode::Tab)],
        "Tab / Shift-Tab",
        "focus the next / previous agent",
        Some("Tab focus"),
        A::FocusNext,
    ),
    bind(&[key(KeyCode::BackTab)], "", "", None, A::FocusPrevious),
    LOOKING[0],
    LOOKING[1],
    FOCUS[2],
    FOCUS[3],
    bind(
        &[key(KeyCode::Enter)],
        "Enter",
        "zoom the focused pane to the full screen and back",
        None,
        A::Zoom,
    ),
    FOCUS[4],
    FOCUS[5],
    bind(
        &[ch('e')],
        "e",
        "expand or fold long tool results",
        None,
        A::Expand,
    ),
    LOOKING[2],
    LOOKING[3],
    bind(
        &[ch('i')],
        "i",
        "inspect what the focused agent sent to its model",
        Some("i inspect"),
        A::Inspect,
    ),
    essential(bind(
        &[ch('?'), key(KeyCode::F(1))],
        "?",
        "this help",
        Some("? help"),
        A::Help,
    )),
    essential(bind(
        &[ch('q'), ctrl('c')],
        "q",
        "quit the replay",
        Some("q quit"),
        A::Quit,
    )),
    SUSPEND,
];

const INSPECTOR: &[Binding] = &[
    bind(
        &[key(KeyCode::Up), ch('k')],
        "↑ / ↓, k / j",
        "scroll a line",
        Some("↑↓ PgUp PgDn scroll"),
        A::LineUp,
    ),
    bind(&[key(KeyCode::Down), ch('j')], "", "", None, A::LineDown),
    bind(
        &[key(KeyCode::PageUp)],
        "PgUp / PgDn, space",
        "scroll a page",
        None,
        A::PageUp,
    ),
    bind(
        &[key(KeyCode::PageDown), ch(' ')],
        "",
        "",
        None,
        A::PageDown,
    ),
    bind(
        &[key(KeyCode::Home)],
        "Home / End",
        "the top / the end",
        None,
        A::Oldest,
    ),
    bind(&[key(KeyCode::End)], "", "", None, A::Follow),
    bind(
        &[key(KeyCode::Left)],
        "← / →",
        "the agent's previous / next model request",
        Some("←/→ request"),
        A::OlderRequest,
    ),
    bind(&[key(KeyCode::Right)], "", "", None, A::NewerRequest),
    bind(
        &[ch('/')],
        "/",
        "search what the inspector shows",
        Some("/ search"),
        A::Search,
    ),
    bind(
        &[ch('y')],
        "y",
        "copy the request shown to the clipboard",
        None,
        A::Copy,
    ),
    SUSPEND,
    essential(bind(
        &[key(KeyCode::Esc), ch('i'), ch('q')],
        "Esc, i or q",
        "close the inspector",
        Some("Esc closes"),
        A::CloseOverlay,
    )),
];

const SEARCH: &[Binding] = &[
    essential(bind(
        &[key(KeyCode::Enter)],
        "Enter",
        "find what you typed",
        Some("Enter finds"),
        A::Find,
    )),
    essential(bind(
        &[key(KeyCode::Esc)],
        "Esc",
        "cancel the search",
        Some("Esc cancels"),
        A::CancelSearch,
    )),
    SUSPEND,
];

const FOUND: &[Binding] = &[
    essential(bind(
        &[ch('n')],
        "n / N",
        "the next / previous match",
        Some("n/N match"),
        A::NextMatch,
    )),
    bind(&[ch('N')], "", "", None, A::PreviousMatch),
    bind(
        &[ch('y')],
        "y",
        "copy the line of the match to the clipboard",
        Some("y copies it"),
        A::Copy,
    ),
    bind(
        &[ch('/')],
        "/",
        "search for something else",
        None,
        A::Search,
    ),
    essential(bind(
        &[key(KeyCode::Esc)],
        "Esc",
        "end the search",
        Some("Esc ends"),
        A::EndSearch,
    )),
];

/// The debugger's editors: Enter sends, as in the input box.
const EDITOR: &[Binding] = &[
    essential(bind(
        &[key(KeyCode::Enter)],
        "Enter",
        "send the edit (or run the re-run)",
        Some("Enter sends"),
        A::Send,
    )),
    bind(
        &[alt(KeyCode::Enter)],
        "Alt-Enter",
        "a new line",
        Some("Alt-Enter new line"),
        A::NewLine,
    ),
    bind(
        &[key(KeyCode::Tab)],
        "Tab / Shift-Tab",
        "the next / previous field or message",
        Some("Tab next field"),
        A::NextField,
    ),
    bind(&[key(KeyCode::BackTab)], "", "", None, A::PreviousField),
    essential(bind(
        &[key(KeyCode::Esc)],
        "Esc",
        "close without sending (the gate keeps waiting)",
        Some("Esc cancels"),
        A::CloseOverlay,
    )),
    SUSPEND,
    bind(&[key(KeyCode::F(1))], "F1", "this help", None, A::Help),
];

const BREAKPOINTS: &[Binding] = &[
    essential(bind(
        &[key(KeyCode::Enter)],
        "Enter",
        "add the breakpoint typed: agent:ID, model[:ID], tool[:NAME], signal:SIG, failure, \
         tokens:N, cost:USD",
        Some("Enter adds"),
        A::Send,
    )),
    bind(
        &[key(KeyCode::Up)],
        "↑ / ↓",
        "choose a breakpoint in the list",
        Some("↑↓ choose"),
        A::FocusUp,
    ),
    bind(&[key(KeyCode::Down)], "", "", None, A::FocusDown),
    bind(
        &[key(KeyCode::Delete)],
        "Delete",
        "remove the breakpoint chosen",
        Some("Del removes"),
        A::RemoveBreakpoint,
    ),
    essential(bind(
        &[key(KeyCode::Esc)],
        "Esc",
        "close the breakpoint editor",
        Some("Esc closes"),
        A::CloseOverlay,
    )),
    SUSPEND,
    bind(&[key(KeyCode::F(1))], "F1", "this help", None, A::Help),
];

/// The bindings of `mode`, in the order the help lists them.
pub fn table(mode: KeyMode) -> &'static [Binding] {
    match mode {
        KeyMode::Live => LIVE,
        KeyMode::Input => INPUT,
        KeyMode::Replay => REPLAY,
        KeyMode::Inspector => INSPECTOR,
        KeyMode::Search => SEARCH,
        KeyMode::Found => FOUND,
        KeyMode::Editor => EDITOR,
        KeyMode::Breakpoints => BREAKPOINTS,
    }
}

/// What `event` does in `mode`, if anything. Shift is part of the character for printable
/// keys, so it is not compared.
pub fn action(mode: KeyMode, event: &KeyEvent) -> Option<KeyAction> {
    let mods = event.modifiers - KeyModifiers::SHIFT;
    table(mode)
        .iter()
        .find(|b| {
            b.chords
                .iter()
                .any(|c| c.code == event.code && c.modifiers == mods)
        })
        .map(|b| b.action)
}

/// Whether `event` suspends the process, in whichever mode the screen is.
pub fn suspends(event: &KeyEvent) -> bool {
    [KeyMode::Live, KeyMode::Input, KeyMode::Replay]
        .into_iter()
        .any(|mode| action(mode, event) == Some(KeyAction::Suspend))
}

/// The footer's hints for `mode` that fit in `width` columns: essential ones first kept, then
/// the others in order while they fit.
pub fn hints(mode: KeyMode, width: usize, situation: Situation) -> String {
    const SEP: &str = " · ";
    let all: Vec<&Binding> = table(mode)
        .iter()
        .filter(|b| b.hint.is_some() && b.when.holds(situation))
        .collect();
    let text = |b: &Binding| b.hint.unwrap_or_default();
    let essential_width: usize = all
        .iter()
        .filter(|b| b.essential)
        .map(|b| text(b).chars().count() + SEP.chars().count())
        .sum();
    let mut room = width.saturating_sub(1 + essential_width);
    let mut shown = Vec::new();
    for b in &all {
        let w = text(b).chars().count() + SEP.chars().count();
        if b.essential {
            shown.push(text(b));
        } else if w <= room {
            room -= w;
            shown.push(text(b));
        }
    }
    format!(" {}", shown.join(SEP))
}

/// The hints of the live screen's gate keys that apply in `situation`, for a stopped
/// agent's pane: `space continue · s step · d deny · E edit`.
pub fn gate_hints(situation: Situation) -> String {
    table(KeyMode::Live)
        .iter()
        .filter(|b| {
            matches!(b.when, When::Stopped | When::ToolGate | When::Editable)
                && b.when.holds(situation)
        })
        .filter_map(|b| b.hint)
        .collect::<Vec<_>>()
        .join(" · ")
}

/// The help overlay's lines for `mode`: keys and what they do.
pub fn help(mode: KeyMode) -> impl Iterator<Item = (&'static str, &'static str)> {
    table(mode)
        .iter()
        .filter(|b| !b.keys.is_empty())
        .map(|b| (b.keys, b.does))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_of_a_mode_means_one_thing() {
        for mode in [
            KeyMode::Live,
            KeyMode::Input,
            KeyMode::Replay,
            KeyMode::Inspector,
            KeyMode::Search,
            KeyMode::Found,
            KeyMode::Editor,
            KeyMode::Breakpoints,
        ] {
            let chords: Vec<Chord> = table(mode)
                .iter()
                .flat_map(|b| b.chords.iter().copied())
                .collect();
            for (i, c) in chords.iter().enumerate() {
                assert!(
                    !chords[i + 1..].contains(c),
                    "{mode:?}: {c:?} is bound twice"
                );
            }
        }
    }

    #[test]
    fn ctrl_z_suspends_in_every_mode_and_every_help_says_so() {
        let ctrl_z = KeyEvent::new(KeyCode::Char('z'), KeyModifiers::CONTROL);
        assert!(suspends(&ctrl_z));
        assert!(!suspends(&KeyEvent::new(
            KeyCode::Char('z'),
            KeyModifiers::NONE
        )));
        // A search's results are a layer over the screen's own keys, which have it.
        for mode in [
            KeyMode::Live,
            KeyMode::Input,
            KeyMode::Replay,
            KeyMode::Inspector,
            KeyMode::Search,
            KeyMode::Editor,
            KeyMode::Breakpoints,
        ] {
            assert_eq!(action(mode, &ctrl_z), Some(KeyAction::Suspend), "{mode:?}");
            assert!(help(mode).any(|(keys, _)| keys == "Ctrl-Z"), "{mode:?}");
        }
    }

    #[test]
    fn a_narrow_footer_keeps_help_and_quit() {
        let calm = Situation::default();
        let wide = hints(KeyMode::Live, 200, calm);
        assert!(
            wide.contains("Tab focus") && wide.contains("i inspect"),
            "{wide}"
        );
        assert!(!wide.contains("a answer"), "nobody waits: {wide}");
        let paused = hints(
            KeyMode::Live,
            60,
            Situation {
                paused: true,
                ..Situation::default()
            },
        );
        assert!(paused.contains("a answer"), "{paused}");
        let narrow = hints(KeyMode::Live, 40, calm);
        assert!(narrow.chars().count() <= 40, "{narrow}");
        assert!(
            narrow.contains("? help") && narrow.contains("q quit"),
            "{narrow}"
        );
        assert!(!narrow.contains("i inspect"), "{narrow}");
    }
}
