//! An agent's timeline: what it said and did, in order, as a pane shows it — turn starts,
//! streamed text, tool calls with their outcome, and notes (hand-offs, pauses, failures).
//!
//! Text is kept made visible ([`crate::text::visible`]), ready to draw. A timeline is bounded
//! by bytes and lines: the oldest items go first, and what went is counted. Items are numbered
//! from the first ever pushed, and every change is journalled, so a view that keeps wrapped
//! lines per item (the TUI) finds what changed without looking at the rest.

use std::collections::VecDeque;

use crate::engine::event::{AgentId, CallId, GateId, GroupId, HandoffReason, ToolFailureKind};
use crate::engine::shared_vec::SharedVec;
use crate::text::visible;

/// How much a timeline keeps before it drops its oldest items.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TimelineLimits {
    pub max_bytes: usize,
    pub max_lines: usize,
}

impl Default for TimelineLimits {
    fn default() -> Self {
        Self {
            max_bytes: 2 * 1024 * 1024,
            max_lines: 100_000,
        }
    }
}

impl TimelineLimits {
    /// Keep everything (a transcript reads a whole recording once).
    pub fn unbounded() -> Self {
        Self {
            max_bytes: usize::MAX,
            max_lines: usize::MAX,
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum ToolStatus {
    Running,
    Done {
        output: String,
        elapsed_ms: u64,
        truncated: bool,
    },
    Failed {
        kind: ToolFailureKind,
        error: String,
    },
}

/// Something worth a line of its own in a timeline.
#[derive(Clone, Debug, PartialEq)]
pub enum Note {
    HandedTo {
        to: AgentId,
        reason: HandoffReason,
        signal: Option<String>,
    },
    StartedGroup {
        group: GroupId,
        agents: Vec<AgentId>,
    },
    GroupTimedOut,
    Waiting,
    Answered {
        input: String,
    },
    Failed {
        status: Option<u16>,
        error: String,
    },
    Cancelled,
    /// The reply stopped before its end (a stream cut off, a failure mid-reply).
    ReplyCut,
    /// The recording stopped inside this model call; the resumed session asked again.
    AskedAgain,
    /// Stopped at a gate: where (`at`, in words) and why (the breakpoint spec, `step`, ...).
    Gate {
        gate: GateId,
        at: String,
        reason: String,
    },
    /// How a gate was left.
    Decided {
        op: String,
        detail: String,
    },
    Guidance {
        text: String,
    },
    /// The turn runs again from its start.
    Rerun {
        variants: u32,
    },
    /// Variant `variant` of a re-run was kept.
    Kept {
        variant: u32,
    },
    /// The call to `from` failed before any output; `to`, the agent's backup, answers it.
    FellBack {
        from: String,
        to: String,
        error: String,
    },
}

/// How a note is meant to strike the eye; a front end picks the colours.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tone {
    Notice,
    Error,
    Dim,
}

impl Note {
    /// The note in words, the same wherever it is shown.
    pub fn text(&self) -> String {
        match self {
            Note::HandedTo { to, reason, signal } => {
                format!("→ handed to {to} ({})", reason.describe(signal.as_deref()))
            }
            Note::StartedGroup { group, agents } => {
                let names: Vec<&str> = agents.iter().map(AgentId::as_str).collect();
                format!("→ started {group}: {}", names.join(", "))
            }
            Note::GroupTimedOut => "⏱ stopped: the parallel group timed out".to_string(),
            Note::Waiting => "⏸ waiting for your answer".to_string(),
            Note::Answered { input } => format!("↩ you: {input}"),
            Note::Failed { status, error } => {
                let status = status.map(|s| format!(" (HTTP {s})")).unwrap_or_default();
                format!("✗ failed{status}: {error}")
            }
            Note::Cancelled => "■ cancelled".to_string(),
            Note::ReplyCut => "(the reply was cut off)".to_string(),
            Note::AskedAgain => {
                "↻ the recording stopped inside this reply; asked again".to_string()
            }
            Note::Gate { gate, at, reason } => format!("◆ stopped {at} ({reason}) [{gate}]"),
            Note::Decided { op, detail } if detail.is_empty() => format!("▶ {op}"),
            Note::Decided { op, detail } => format!("▶ {op}: {detail}"),
            Note::Guidance { text } => format!("✎ guidance: {text}"),
            Note::Rerun { variants: 1 } => "↻ the turn runs again".to_string(),
            Note::Rerun { variants } => format!("↻ the turn runs again as {variants} variants"),
            Note::Kept { variant } => format!("✓ kept variant {variant}"),
            Note::FellBack { from, to, error } => {
                format!("↪ {from} failed ({error}); fell back to {to}")
            }
        }
    }

    pub fn tone(&self) -> Tone {
        match self {
            Note::HandedTo { .. }
            | Note::StartedGroup { .. }
            | Note::Waiting
            | Note::Answered { .. }
            | Note::Gate { .. }
            | Note::Guidance { .. }
            | Note::Rerun { .. }
            | Note::Kept { .. }
            | Note::FellBack { .. } => Tone::Notice,
            Note::GroupTimedOut | Note::Failed { .. } => Tone::Error,
            Note::Cancelled | Note::ReplyCut | Note::AskedAgain | Note::Decided { .. } => Tone::Dim,
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum Item {
    /// The start of a turn and what the agent was given.
    Turn {
        turn: u32,
        input: String,
    },
    /// Streamed text: the reply, or reasoning kept apart from it. `trimmed` counts the bytes
    /// cut from its front when it alone outgrew the timeline.
    Text {
        text: String,
        reasoning: bool,
        trimmed: usize,
    },
    Tool {
        call_id: CallId,
        tool: String,
        arguments: String,
        status: ToolStatus,
    },
    Note(Note),
}

impl Item {
    fn bytes(&self) -> usize {
        match self {
            Item::Turn { input, .. } => input.len() + 16,
            Item::Text { text, .. } => text.len(),
            Item::Tool {
                arguments, status, ..
            } => arguments.len() + status_bytes(status),
            Item::Note(_) => 32,
        }
    }

    fn lines(&self) -> usize {
        match self {
            Item::Text { text, .. } => text.matches('\n').count() + 1,
            Item::Tool { .. } => 2,
            Item::Turn { .. } | Item::Note(_) => 1,
        }
    }
}

/// Changes journalled per timeline: a view further behind than this rebuilds.
const JOURNAL: usize = 32;

#[derive(Clone, Debug, Default)]
pub struct Timeline {
    items: SharedVec<Item>,
    bytes: usize,
    lines: usize,
    dropped_bytes: u64,
    limits: TimelineLimits,
    /// Changes made so far, and the latest change number of the most recently changed items
    /// (consecutive changes to one item share an entry).
    changes: u64,
    journal: VecDeque<(u64, u64)>,
    /// The newest change number that fell out of the journal.
    forgotten: u64,
}

impl Timeline {
    pub fn new(limits: TimelineLimits) -> Self {
        Self {
            limits,
            ..Self::default()
        }
    }

    pub fn items(&self) -> impl DoubleEndedIterator<Item = &Item> + '_ {
        self.items.iter()
    }

    pub fn get(&self, index: u64) -> Option<&Item> {
        self.items.get(index)
    }

    pub fn last(&self) -> Option<&Item> {
        self.items.last()
    }

    pub fn first_index(&self) -> u64 {
        self.items.first_index()
    }

    pub fn end_index(&self) -> u64 {
        self.items.end_index()
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Bytes dropped from the front to stay within the limits.
    pub fn dropped_bytes(&self) -> u64 {
        self.dropped_bytes
    }

    /// How many changes the timeline has had.
    pub fn changes(&self) -> u64 {
        self.changes
    }

    /// The items changed since change number `seen`, newest last (an item may repeat), or
    /// `None` when the journal no longer reaches back that far.
    pub fn changed_since(&self, seen: u64) -> Option<Vec<u64>> {
        if seen < self.forgotten {
            return None;
        }
        Some(
            self.journal
                .iter()
                .filter(|(change, _)| *change > seen)
                .map(|(_, index)| *index)
                .collect(),
        )
    }

    fn touched(&mut self, index: u64) {
        self.changes += 1;
        match self.journal.back_mut() {
            Some((change, last)) if *last == index => *change = self.changes,
            _ => {
                self.journal.push_back((self.changes, index));
                if self.journal.len() > JOURNAL
                    && let Some((change, _)) = self.journal.pop_front()
                {
                    self.forgotten = change;
                }
            }
        }
    }

    pub fn push(&mut self, item: Item) {
        let item = match item {
            Item::Turn { turn, input } => Item::Turn {
                turn,
                input: visible(&input),
            },
            Item::Text {
                text,
                reasoning,
                trimmed,
            } => Item::Text {
                text: visible(&text),
                reasoning,
                trimmed,
            },
            Item::Tool {
                call_id,
                tool,
                arguments,
                status,
            } => Item::Tool {
                call_id,
                tool: visible(&tool),
                arguments: visible(&arguments),
                status: visible_status(status),
            },
            Item::Note(note) => Item::Note(visible_note(note)),
        };
        self.bytes += item.bytes();
        self.lines += item.lines();
        let index = self.items.end_index();
        self.items.push(item);
        self.touched(index);
        self.trim();
    }

    /// Appends streamed text to the last item if it is text of the same kind.
    pub fn append_text(&mut self, text: &str, reasoning: bool) {
        let end = self.items.end_index();
        if let Some(Item::Text {
            text: last,
            reasoning: r,
            ..
        }) = self.items.last_mut()
            && *r == reasoning
        {
            let before = last.len();
            crate::text::push_visible(last, text);
            let added = &last[before..];
            self.bytes += added.len();
            self.lines += added.matches('\n').count();
            self.touched(end - 1);
            self.trim();
            return;
        }
        self.push(Item::Text {
            text: text.to_string(),
            reasoning,
            trimmed: 0,
        });
    }

    /// Where the item of tool call `call_id` is; the newest one if the id repeats.
    pub fn tool_index(&self, call_id: &CallId) -> Option<u64> {
        let end = self.items.end_index();
        self.items
            .iter()
            .rev()
            .position(|item| matches!(item, Item::Tool { call_id: id, .. } if id == call_id))
            .map(|back| end - 1 - back as u64)
    }

    /// Sets a tool item's status; false if the timeline has no such call.
    pub fn finish_tool(&mut self, call_id: &CallId, status: ToolStatus) -> bool {
        let Some(index) = self.tool_index(call_id) else {
            return false;
        };
        let Some(Item::Tool { status: s, .. }) = self.items.get_mut(index) else {
            return false;
        };
        let before = status_bytes(s);
        *s = visible_status(status);
        let after = status_bytes(s);
        self.bytes = (self.bytes + after).saturating_sub(before);
        self.touched(index);
        self.trim();
        true
    }

    fn trim(&mut self) {
        while (self.bytes > self.limits.max_bytes || self.lines > self.limits.max_lines)
            && self.items.len() > 1
        {
            let Some(first) = self.items.get(self.items.first_index()) else {
                break;
            };
            let (bytes, lines) = (first.bytes(), first.lines());
            self.items.pop_front();
            self.bytes = self.bytes.saturating_sub(bytes);
            self.lines = self.lines.saturating_sub(lines);
            self.dropped_bytes += bytes as u64;
        }
        // One item alone over the limit (a very long reply): keep its newest half, cut where a
        // line starts so that a view's wrapped lines after the cut stay as they are.
        if self.bytes > self.limits.max_bytes {
            let keep = self.limits.max_bytes / 2;
            let first = self.items.first_index();
            let Some(Item::Text { text, trimmed, .. }) = self.items.get_mut(first) else {
                return;
            };
            let mut cut = text.len() - keep;
            while !text.is_char_boundary(cut) {
                cut += 1;
            }
            if let Some(nl) = text[cut..].find('\n') {
                cut += nl + 1;
            }
            text.drain(..cut);
            *trimmed += cut;
            self.dropped_bytes += cut as u64;
            self.bytes = text.len();
            self.lines = text.matches('\n').count() + 1;
            self.touched(first);
        }
    }
}

fn status_bytes(status: &ToolStatus) -> usize {
    match status {
        ToolStatus::Running => 0,
        ToolStatus::Done { output, .. } => output.len(),
        ToolStatus::Failed { error, .. } => error.len(),
    }
}

fn visible_status(status: ToolStatus) -> ToolStatus {
    match status {
        ToolStatus::Running => ToolStatus::Running,
        ToolStatus::Done {
            output,
            elapsed_ms,
            truncated,
        } => ToolStatus::Done {
            output: visible(&output),
            elapsed_ms,
            truncated,
        },
        ToolStatus::Failed { kind, error } => ToolStatus::Failed {
            kind,
            error: visible(&error),
        },
    }
}

fn visible_note(note: Note) -> Note {
    match note {
        Note::Answered { input } => Note::Answered {
            input: visible(&input),
        },
        Note::Failed { status, error } => Note::Failed {
            status,
            error: visible(&error),
        },
        Note::HandedTo { to, reason, signal } => Note::HandedTo {
            to: AgentId(visible(to.as_str())),
            reason,
            signal: signal.map(|s| visible(&s)),
        },
        Note::StartedGroup { group, agents } => Note::StartedGroup {
            group: GroupId(visible(group.as_str())),
            agents: agents
                .iter()
                .map(|a| AgentId(visible(a.as_str())))
                .collect(),
        },
        Note::Gate { gate, at, reason } => Note::Gate {
            gate,
            at: visible(&at),
            reason: visible(&reason),
        },
        Note::Decided { op, detail } => Note::Decided {
            op,
            detail: visible(&detail),
        },
        Note::Guidance { text } => Note::Guidance {
            text: visible(&text),
        },
        Note::FellBack { from, to, error } => Note::FellBack {
            from: visible(&from),
            to: visible(&to),
            error: visible(&error),
        },
        note @ (Note::GroupTimedOut
        | Note::Waiting
        | Note::Cancelled
        | Note::ReplyCut
        | Note::AskedAgain
        | Note::Rerun { .. }
        | Note::Kept { .. }) => note,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_timeline_is_bounded_and_counts_what_it_dropped() {
        let limits = TimelineLimits {
            max_bytes: 1000,
            max_lines: 100,
        };
        let mut t = Timeline::new(limits);
        for i in 0..500 {
            t.push(Item::Note(Note::Answered {
                input: format!("answer {i}"),
            }));
        }
        assert!(t.len() <= 100);
        assert!(t.dropped_bytes() > 0);
        assert_eq!(t.end_index(), 500);
        assert!(
            matches!(t.last(), Some(Item::Note(Note::Answered { input })) if input == "answer 499")
        );

        let mut t = Timeline::new(limits);
        for _ in 0..1000 {
            t.append_text("word ", false);
        }
        assert_eq!(t.len(), 1);
        let Some(Item::Text { text, trimmed, .. }) = t.last() else {
            panic!("one text item");
        };
        assert!(text.len() <= 1000);
        assert_eq!(text.len() + trimmed, 5000, "trimmed counts the bytes cut");
    }

    #[test]
    fn the_journal_names_what_changed_or_says_it_lost_track() {
        let mut t = Timeline::default();
        t.push(Item::Turn {
            turn: 1,
            input: "go".into(),
        });
        t.push(Item::Tool {
            call_id: "c1".into(),
            tool: "calc".into(),
            arguments: "{}".into(),
            status: ToolStatus::Running,
        });
        let seen = t.changes();
        t.append_text("a", false);
        t.append_text("b", false);
        assert!(t.finish_tool(
            &"c1".into(),
            ToolStatus::Done {
                output: "4".into(),
                elapsed_ms: 1,
                truncated: false
            }
        ));
        assert_eq!(t.changed_since(seen), Some(vec![2, 1]));
        assert_eq!(t.changed_since(t.changes()), Some(vec![]));
        for i in 0..100 {
            t.push(Item::Note(Note::Answered {
                input: i.to_string(),
            }));
        }
        assert_eq!(t.changed_since(seen), None);
    }

    #[test]
    fn text_from_models_and_tools_is_made_visible() {
        let mut t = Timeline::default();
        t.append_text("\u{1b}]52;c;aGk=\u{7}hi\tthere", false);
        let Some(Item::Text { text, .. }) = t.last() else {
            panic!()
        };
        assert!(
            !text.contains('\u{1b}') && !text.contains('\u{7}'),
            "{text:?}"
        );
        assert!(text.contains("hi    there"));
    }
}
