//! One agent's pane: what it has said and done, as blocks, and their wrapped lines.
//!
//! Blocks are the pane's history; each keeps its lines wrapped for the last width it was
//! drawn at, so a frame costs only the lines it shows. The streaming reply re-wraps only its
//! last line as tokens arrive. History is bounded by bytes and lines; what is dropped is
//! counted and shown.

use std::collections::VecDeque;

use super::theme::AgentState;
use super::wrap::{sanitize, wrap_ranges};
use crate::engine::ToolFailureKind;
use crate::provider::{ChatMessage, ToolSpec};

/// How a line is drawn; the theme turns these into colours.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LineStyle {
    Text,
    Reasoning,
    Tool,
    ToolOutput,
    Error,
    Notice,
    Dim,
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

#[derive(Clone, Debug, PartialEq)]
pub enum Content {
    /// The start of a turn and what the agent was given.
    Turn {
        turn: u32,
        input: String,
    },
    /// Streamed text: the reply, or reasoning kept apart from it.
    Text {
        text: String,
        reasoning: bool,
    },
    Tool {
        call_id: String,
        tool: String,
        arguments: String,
        status: ToolStatus,
    },
    Notice {
        text: String,
        style: LineStyle,
    },
}

impl Content {
    fn bytes(&self) -> usize {
        match self {
            Content::Turn { input, .. } => input.len() + 16,
            Content::Text { text, .. } => text.len(),
            Content::Tool {
                arguments, status, ..
            } => {
                arguments.len()
                    + match status {
                        ToolStatus::Running => 0,
                        ToolStatus::Done { output, .. } => output.len(),
                        ToolStatus::Failed { error, .. } => error.len(),
                    }
            }
            Content::Notice { text, .. } => text.len(),
        }
    }
}

/// Lines a folded tool result shows.
pub const FOLDED_RESULT_LINES: usize = 3;

#[derive(Clone, Debug, Default)]
struct Wrapped {
    width: usize,
    expanded: bool,
    lines: Vec<(String, LineStyle)>,
    /// For streamed text: byte ranges of the lines, and where the last (still growing) line starts.
    ranges: Vec<(usize, usize)>,
}

#[derive(Clone, Debug)]
pub struct Block {
    pub content: Content,
    wrapped: Option<Wrapped>,
}

impl Block {
    pub fn new(content: Content) -> Self {
        Self {
            content,
            wrapped: None,
        }
    }

    fn invalidate(&mut self) {
        // Streamed text keeps its ranges and re-wraps only from its last line.
        if !matches!(self.content, Content::Text { .. }) {
            self.wrapped = None;
        }
    }

    /// This block's lines at `width`, wrapping only what changed since the last call.
    pub fn lines(&mut self, width: usize, expanded: bool) -> &[(String, LineStyle)] {
        let stale = self
            .wrapped
            .as_ref()
            .is_none_or(|w| w.width != width || w.expanded != expanded);
        if let Content::Text { text, reasoning } = &self.content {
            let style = if *reasoning {
                LineStyle::Reasoning
            } else {
                LineStyle::Text
            };
            let w = self.wrapped.get_or_insert_with(Wrapped::default);
            if stale {
                *w = Wrapped {
                    width,
                    expanded,
                    ..Wrapped::default()
                };
            }
            let resume = w.ranges.pop().map_or(0, |(start, _)| start);
            w.lines.truncate(w.ranges.len());
            let from = w.ranges.len();
            wrap_ranges(&text[resume..], width, resume, &mut w.ranges);
            for &(s, e) in &w.ranges[from..] {
                w.lines.push((text[s..e].to_string(), style));
            }
            return &w.lines;
        }
        if stale {
            self.wrapped = Some(Wrapped {
                width,
                expanded,
                lines: render_lines(&self.content, width, expanded),
                ranges: Vec::new(),
            });
        }
        self.wrapped.as_ref().map_or(&[], |w| &w.lines)
    }
}

fn push_wrapped(out: &mut Vec<(String, LineStyle)>, text: &str, width: usize, style: LineStyle) {
    let mut ranges = Vec::new();
    wrap_ranges(text, width, 0, &mut ranges);
    out.extend(
        ranges
            .into_iter()
            .map(|(s, e)| (text[s..e].to_string(), style)),
    );
}

fn render_lines(content: &Content, width: usize, expanded: bool) -> Vec<(String, LineStyle)> {
    let mut out = Vec::new();
    match content {
        Content::Turn { turn, input } => {
            let first = input.lines().next().unwrap_or_default();
            let more = if input.lines().nth(1).is_some() {
                " …"
            } else {
                ""
            };
            push_wrapped(
                &mut out,
                &format!("── turn {turn} ── {first}{more}"),
                width,
                LineStyle::Dim,
            );
        }
        Content::Text { .. } => {}
        Content::Tool {
            tool,
            arguments,
            status,
            ..
        } => {
            push_wrapped(
                &mut out,
                &format!("⚙ {tool} {arguments}"),
                width,
                LineStyle::Tool,
            );
            match status {
                ToolStatus::Running => {
                    push_wrapped(&mut out, "  … running", width, LineStyle::Dim);
                }
                ToolStatus::Done {
                    output,
                    elapsed_ms,
                    truncated,
                } => {
                    let mut lines = Vec::new();
                    push_wrapped(
                        &mut lines,
                        output,
                        width.saturating_sub(2),
                        LineStyle::ToolOutput,
                    );
                    let tail = format!("  ({elapsed_ms} ms)");
                    if !*truncated
                        && lines.len() == 1
                        && lines[0].0.chars().count() + 2 + tail.len() <= width
                    {
                        out.push((format!("→ {}{tail}", lines[0].0), LineStyle::ToolOutput));
                        return out;
                    }
                    let hidden = lines.len().saturating_sub(FOLDED_RESULT_LINES);
                    let shown = if expanded || hidden <= 1 {
                        lines.len()
                    } else {
                        FOLDED_RESULT_LINES
                    };
                    for (i, (line, style)) in lines.into_iter().take(shown).enumerate() {
                        let lead = if i == 0 { "→ " } else { "  " };
                        out.push((format!("{lead}{line}"), style));
                    }
                    let mut tail = format!("  ({elapsed_ms} ms");
                    if *truncated {
                        tail.push_str(", output truncated");
                    }
                    if shown < FOLDED_RESULT_LINES + hidden && hidden > 1 {
                        tail.push_str(&format!(", {hidden} more lines: e expands"));
                    }
                    tail.push(')');
                    push_wrapped(&mut out, &tail, width, LineStyle::Dim);
                }
                ToolStatus::Failed { kind, error } => {
                    let kind = kind.describe();
                    push_wrapped(
                        &mut out,
                        &format!("✗ {kind}: {error}"),
                        width,
                        LineStyle::Error,
                    );
                    push_wrapped(
                        &mut out,
                        "  the failure went back to the model; the run goes on",
                        width,
                        LineStyle::Dim,
                    );
                }
            }
        }
        Content::Notice { text, style } => push_wrapped(&mut out, text, width, *style),
    }
    out
}

/// What the model was last sent on this agent's behalf, for the inspector.
#[derive(Clone, Debug, PartialEq)]
pub struct RequestView {
    pub model: String,
    pub system_prompt: String,
    pub messages: Vec<ChatMessage>,
    pub tools: Vec<ToolSpec>,
}

/// How much history a pane keeps before it drops the oldest.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PaneLimits {
    pub max_bytes: usize,
    pub max_lines: usize,
}

impl Default for PaneLimits {
    fn default() -> Self {
        Self {
            max_bytes: 2 * 1024 * 1024,
            max_lines: 100_000,
        }
    }
}

#[derive(Clone, Debug)]
pub struct Pane {
    pub id: String,
    pub name: String,
    pub role: String,
    pub state: AgentState,
    /// Session time the state was entered.
    pub since_ms: u64,
    pub turn: u32,
    /// Session time the current (or last) turn started.
    pub turn_started_ms: u64,
    pub blocks: VecDeque<Block>,
    pub dropped_bytes: u64,
    bytes: usize,
    lines: usize,
    pub tokens_in: Option<u64>,
    pub tokens_out: Option<u64>,
    /// A tool or the agent failed: the border turns red.
    pub failed: bool,
    pub last_request: Option<RequestView>,
    /// Whether text arrived since the last model request (else the message carries it).
    pub streamed_reply: bool,
    limits: PaneLimits,
}

impl Pane {
    pub fn new(id: &str, name: &str, role: &str, limits: PaneLimits) -> Self {
        Self {
            id: id.to_string(),
            name: name.to_string(),
            role: role.to_string(),
            state: AgentState::Idle,
            since_ms: 0,
            turn: 0,
            turn_started_ms: 0,
            blocks: VecDeque::new(),
            dropped_bytes: 0,
            bytes: 0,
            lines: 0,
            tokens_in: None,
            tokens_out: None,
            failed: false,
            last_request: None,
            streamed_reply: false,
            limits,
        }
    }

    pub fn set_state(&mut self, state: AgentState, t_ms: u64) {
        if self.state != state {
            self.state = state;
            self.since_ms = t_ms;
        }
    }

    pub fn push(&mut self, content: Content) {
        let content = match content {
            Content::Text { text, reasoning } => Content::Text {
                text: sanitize(&text),
                reasoning,
            },
            other => other,
        };
        self.bytes += content.bytes();
        self.lines += line_count(&content);
        self.blocks.push_back(Block::new(content));
        self.trim();
    }

    /// Appends streamed text to the last block if it is of the same kind.
    pub fn append_text(&mut self, text: &str, reasoning: bool) {
        let text = sanitize(text);
        if let Some(Block {
            content:
                Content::Text {
                    text: last,
                    reasoning: r,
                },
            ..
        }) = self.blocks.back_mut()
            && *r == reasoning
        {
            last.push_str(&text);
            self.bytes += text.len();
            self.lines += text.matches('\n').count();
            self.trim();
            return;
        }
        self.push(Content::Text { text, reasoning });
    }

    /// The tool block of a call, newest first.
    pub fn tool_mut(&mut self, call_id: &str) -> Option<&mut Block> {
        self.blocks
            .iter_mut()
            .rev()
            .find(|b| matches!(&b.content, Content::Tool { call_id: id, .. } if id == call_id))
    }

    /// Sets a tool block's status and keeps the byte count honest.
    pub fn finish_tool(&mut self, call_id: &str, status: ToolStatus) {
        let Some(block) = self.tool_mut(call_id) else {
            return;
        };
        let before = block.content.bytes();
        if let Content::Tool { status: s, .. } = &mut block.content {
            *s = status;
        }
        let after = block.content.bytes();
        block.invalidate();
        self.bytes = (self.bytes + after).saturating_sub(before);
        self.trim();
    }

    fn trim(&mut self) {
        while (self.bytes > self.limits.max_bytes || self.lines > self.limits.max_lines)
            && self.blocks.len() > 1
        {
            if let Some(block) = self.blocks.pop_front() {
                let bytes = block.content.bytes();
                self.bytes = self.bytes.saturating_sub(bytes);
                self.lines = self.lines.saturating_sub(line_count(&block.content));
                self.dropped_bytes += bytes as u64;
            }
        }
        // One block alone over the limit (a very long reply): keep its newest half.
        if self.bytes > self.limits.max_bytes
            && let Some(block) = self.blocks.front_mut()
            && let Content::Text { text, .. } = &mut block.content
        {
            let mut cut = text.len() - self.limits.max_bytes / 2;
            while !text.is_char_boundary(cut) {
                cut += 1;
            }
            if let Some(nl) = text[cut..].find('\n') {
                cut += nl + 1;
            }
            text.drain(..cut);
            self.dropped_bytes += cut as u64;
            self.bytes = text.len();
            self.lines = text.matches('\n').count() + 1;
            block.wrapped = None;
        }
    }

    /// Total wrapped lines at `width` (wraps every block once; cached afterwards).
    pub fn total_lines(&mut self, width: usize, expanded: bool) -> usize {
        self.blocks
            .iter_mut()
            .map(|b| b.lines(width, expanded).len())
            .sum::<usize>()
            + usize::from(self.dropped_bytes > 0)
    }

    /// The `height` lines that end `back` lines before the newest, oldest first.
    pub fn visible_lines(
        &mut self,
        width: usize,
        height: usize,
        back: usize,
        expanded: bool,
    ) -> Vec<(String, LineStyle)> {
        let want = height + back;
        let mut tail: Vec<(String, LineStyle)> = Vec::with_capacity(want);
        for block in self.blocks.iter_mut().rev() {
            if tail.len() >= want {
                break;
            }
            let lines = block.lines(width, expanded);
            let need = want - tail.len();
            let from = lines.len().saturating_sub(need);
            tail.extend(lines[from..].iter().rev().cloned());
        }
        if tail.len() < want && self.dropped_bytes > 0 {
            tail.push((
                format!("… {} earlier dropped", human_bytes(self.dropped_bytes)),
                LineStyle::Dim,
            ));
        }
        tail.reverse();
        let end = tail.len().saturating_sub(back.min(tail.len()));
        let start = end.saturating_sub(height);
        tail.truncate(end);
        tail.drain(..start);
        tail
    }
}

fn line_count(content: &Content) -> usize {
    match content {
        Content::Text { text, .. } => text.matches('\n').count() + 1,
        Content::Tool { .. } => 2,
        Content::Turn { .. } | Content::Notice { .. } => 1,
    }
}

pub fn human_bytes(n: u64) -> String {
    match n {
        n if n >= 1 << 20 => format!("{:.1} MB", n as f64 / f64::from(1 << 20)),
        n if n >= 1 << 10 => format!("{:.1} KB", n as f64 / 1024.0),
        n => format!("{n} B"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text_of(lines: &[(String, LineStyle)]) -> Vec<&str> {
        lines.iter().map(|(l, _)| l.as_str()).collect()
    }

    #[test]
    fn streamed_text_wraps_as_it_grows() {
        let mut pane = Pane::new("a", "A", "", PaneLimits::default());
        pane.append_text("hello wor", false);
        assert_eq!(
            text_of(&pane.visible_lines(8, 5, 0, false)),
            ["hello", "wor"]
        );
        pane.append_text("ld and more", false);
        assert_eq!(
            text_of(&pane.visible_lines(8, 5, 0, false)),
            ["hello", "world", "and more"]
        );
        // Scrolled back one line: the newest line is hidden.
        assert_eq!(
            text_of(&pane.visible_lines(8, 2, 1, false)),
            ["hello", "world"]
        );
        assert_eq!(pane.total_lines(8, false), 3);
    }

    #[test]
    fn long_tool_results_fold_and_expand() {
        let mut pane = Pane::new("a", "A", "", PaneLimits::default());
        pane.push(Content::Tool {
            call_id: "1".into(),
            tool: "list_dir".into(),
            arguments: "{}".into(),
            status: ToolStatus::Running,
        });
        let output = (1..=10)
            .map(|i| format!("file{i}"))
            .collect::<Vec<_>>()
            .join("\n");
        pane.finish_tool(
            "1",
            ToolStatus::Done {
                output,
                elapsed_ms: 4,
                truncated: false,
            },
        );
        let folded = pane.visible_lines(40, 20, 0, false);
        assert_eq!(folded.len(), 5);
        assert_eq!(folded[4].0, "  (4 ms, 7 more lines: e expands)");
        let expanded = pane.visible_lines(40, 20, 0, true);
        assert_eq!(expanded.len(), 12);
        assert_eq!(expanded[10].0, "  file10");
    }

    #[test]
    fn history_is_bounded_and_the_drop_is_shown() {
        let limits = PaneLimits {
            max_bytes: 1000,
            max_lines: 100,
        };
        let mut pane = Pane::new("a", "A", "", limits);
        for i in 0..500 {
            pane.push(Content::Notice {
                text: format!("notice {i}"),
                style: LineStyle::Notice,
            });
        }
        assert!(pane.blocks.len() <= 100);
        assert!(pane.dropped_bytes > 0);
        let lines = pane.visible_lines(40, 200, 0, false);
        assert!(lines[0].0.starts_with("… ") && lines[0].0.ends_with("earlier dropped"));
        assert_eq!(lines.last().unwrap().0, "notice 499");

        // One endless reply is cut too, keeping its newest part.
        let mut pane = Pane::new("a", "A", "", limits);
        for _ in 0..1000 {
            pane.append_text("word ", false);
        }
        assert!(pane.bytes <= 1000);
        let tail = pane.visible_lines(40, 3, 0, false);
        assert!(
            tail.iter().any(|(l, _)| l.starts_with("word word")),
            "{tail:?}"
        );
    }
}
