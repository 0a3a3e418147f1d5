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
    /// The lines of a block other than streamed text.
    lines: Vec<(String, LineStyle)>,
    /// For streamed text: byte ranges of its lines in the text, which is kept only once; the
    /// last range is wrapped again as the text grows.
    ranges: Vec<(usize, usize)>,
    /// For streamed text: how much of it the ranges cover.
    upto: usize,
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

    /// Wraps this block at `width`, only what changed since the last call, and returns how
    /// many lines it has.
    pub fn wrap(&mut self, width: usize, expanded: bool) -> usize {
        let stale = self
            .wrapped
            .as_ref()
            .is_none_or(|w| w.width != width || w.expanded != expanded);
        if let Content::Text { text, .. } = &self.content {
            let w = self.wrapped.get_or_insert_with(Wrapped::default);
            if stale {
                *w = Wrapped {
                    width,
                    expanded,
                    ..Wrapped::default()
                };
            } else if w.upto == text.len() && !w.ranges.is_empty() {
                return w.ranges.len();
            }
            let resume = w.ranges.pop().map_or(0, |(start, _)| start);
            wrap_ranges(&text[resume..], width, resume, &mut w.ranges);
            w.upto = text.len();
            return w.ranges.len();
        }
        if stale {
            self.wrapped = Some(Wrapped {
                width,
                expanded,
                lines: render_lines(&self.content, width, expanded),
                ..Wrapped::default()
            });
        }
        self.wrapped.as_ref().map_or(0, |w| w.lines.len())
    }

    /// Line `i` as the last [`Block::wrap`] left it.
    fn line(&self, i: usize) -> Option<(&str, LineStyle)> {
        let w = self.wrapped.as_ref()?;
        match &self.content {
            Content::Text { text, reasoning } => {
                let &(start, end) = w.ranges.get(i)?;
                let style = if *reasoning {
                    LineStyle::Reasoning
                } else {
                    LineStyle::Text
                };
                Some((text.get(start..end)?, style))
            }
            Content::Turn { .. } | Content::Tool { .. } | Content::Notice { .. } => {
                w.lines.get(i).map(|(line, style)| (line.as_str(), *style))
            }
        }
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
    /// Changed only through the methods below, which keep the line index in step.
    blocks: VecDeque<Block>,
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
    index: Option<LineIndex>,
}

/// Where each block's wrapped lines end, at one width, so a scrolled pane finds its window by
/// binary search instead of walking and wrapping its whole history every frame. Built the
/// first time a pane is scrolled (or its total asked for) and kept in step as blocks change.
#[derive(Clone, Debug)]
struct LineIndex {
    width: usize,
    expanded: bool,
    /// Line numbers count from the first line the pane ever indexed, so dropping old blocks
    /// moves `first` and leaves the other numbers alone.
    first: usize,
    /// The number of the line after each block's last one, block by block.
    ends: VecDeque<usize>,
}

impl LineIndex {
    fn start(&self, block: usize) -> usize {
        block
            .checked_sub(1)
            .map_or(self.first, |before| self.ends[before])
    }

    fn lines(&self) -> usize {
        self.ends.back().map_or(0, |end| end - self.first)
    }
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
            index: None,
        }
    }

    /// The pane's history, oldest first.
    pub fn blocks(&self) -> &VecDeque<Block> {
        &self.blocks
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
        if let Some(index) = &mut self.index {
            let end = index.ends.back().copied().unwrap_or(index.first);
            index.ends.push_back(end);
            self.reindex(self.blocks.len() - 1);
        }
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
            self.reindex(self.blocks.len() - 1);
            self.trim();
            return;
        }
        self.push(Content::Text { text, reasoning });
    }

    /// Whether the pane shows the tool call `call_id`.
    pub fn has_tool(&self, call_id: &str) -> bool {
        self.tool_position(call_id).is_some()
    }

    /// Where the block of a tool call is; the newest one if the id repeats.
    fn tool_position(&self, call_id: &str) -> Option<usize> {
        self.blocks
            .iter()
            .rposition(|b| matches!(&b.content, Content::Tool { call_id: id, .. } if id == call_id))
    }

    /// Sets a tool block's status and keeps the byte count honest.
    pub fn finish_tool(&mut self, call_id: &str, status: ToolStatus) {
        let Some(at) = self.tool_position(call_id) else {
            return;
        };
        let block = &mut self.blocks[at];
        let before = block.content.bytes();
        if let Content::Tool { status: s, .. } = &mut block.content {
            *s = status;
        }
        let after = block.content.bytes();
        block.invalidate();
        self.bytes = (self.bytes + after).saturating_sub(before);
        self.reindex(at);
        self.trim();
    }

    /// Brings the line index up to date after block `at` changed, by its change in lines.
    fn reindex(&mut self, at: usize) {
        let Some(index) = &mut self.index else {
            return;
        };
        let (Some(block), Some(&old_end)) = (self.blocks.get_mut(at), index.ends.get(at)) else {
            // Out of step, which the methods above never leave it: build it again when needed.
            self.index = None;
            return;
        };
        let new_end = index.start(at) + block.wrap(index.width, index.expanded);
        if new_end > old_end {
            index
                .ends
                .range_mut(at..)
                .for_each(|e| *e += new_end - old_end);
        } else if new_end < old_end {
            index
                .ends
                .range_mut(at..)
                .for_each(|e| *e -= old_end - new_end);
        }
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
                if let Some(index) = &mut self.index
                    && let Some(end) = index.ends.pop_front()
                {
                    index.first = end;
                }
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
            // Cut where a line starts, so that the wrapped lines after the cut stay as they
            // are: re-wrapping a megabyte took a frame of 20 ms and more.
            let wrapped_start = block.wrapped.as_ref().and_then(|w| {
                let i = w.ranges.partition_point(|&(start, _)| start < cut);
                w.ranges.get(i).map(|&(start, _)| start)
            });
            let line_start = match text[cut..].find('\n') {
                Some(nl) => Some(cut + nl + 1),
                None => wrapped_start,
            };
            cut = line_start.unwrap_or(cut);
            text.drain(..cut);
            self.dropped_bytes += cut as u64;
            self.bytes = text.len();
            self.lines = text.matches('\n').count() + 1;
            match (&mut block.wrapped, line_start) {
                (Some(w), Some(_)) if w.upto >= cut => {
                    w.ranges.retain(|&(start, _)| start >= cut);
                    w.ranges
                        .iter_mut()
                        .for_each(|r| *r = (r.0 - cut, r.1 - cut));
                    w.upto -= cut;
                }
                _ => block.wrapped = None,
            }
            // Its end stays where it was; its start moves up by the lines it lost.
            if let Some(index) = &mut self.index
                && let Some(&end) = index.ends.front()
            {
                index.first = end - block.wrap(index.width, index.expanded);
            }
        }
    }

    /// The line index at `width`, built now if there is none for that width.
    fn index_at(&mut self, width: usize, expanded: bool) -> &LineIndex {
        let fresh = self
            .index
            .as_ref()
            .is_some_and(|i| i.width == width && i.expanded == expanded);
        if !fresh {
            let mut end = 0;
            let ends = self
                .blocks
                .iter_mut()
                .map(|b| {
                    end += b.wrap(width, expanded);
                    end
                })
                .collect();
            self.index = Some(LineIndex {
                width,
                expanded,
                first: 0,
                ends,
            });
        }
        self.index.get_or_insert_with(|| LineIndex {
            width,
            expanded,
            first: 0,
            ends: VecDeque::new(),
        })
    }

    fn dropped_line(&self) -> (String, LineStyle) {
        (
            format!("… {} earlier dropped", human_bytes(self.dropped_bytes)),
            LineStyle::Dim,
        )
    }

    /// Total wrapped lines at `width`: the first call wraps every block, later ones only what
    /// changed.
    pub fn total_lines(&mut self, width: usize, expanded: bool) -> usize {
        let dropped = usize::from(self.dropped_bytes > 0);
        self.index_at(width, expanded).lines() + dropped
    }

    /// The `height` lines that end `back` lines before the newest, oldest first. Costs the
    /// lines shown, not the history kept: following the newest lines walks back from the end,
    /// a scrolled pane looks its window up in the line index.
    pub fn visible_lines(
        &mut self,
        width: usize,
        height: usize,
        back: usize,
        expanded: bool,
    ) -> Vec<(String, LineStyle)> {
        if back > 0 {
            let total = self.total_lines(width, expanded);
            let end = total.saturating_sub(back);
            return self.window(end.saturating_sub(height), end);
        }
        // An index at another width would be kept in step by wrapping each new token at that
        // width as well: drop it; scrolling builds it again at the width on screen.
        if self
            .index
            .as_ref()
            .is_some_and(|i| i.width != width || i.expanded != expanded)
        {
            self.index = None;
        }
        let mut tail: Vec<(String, LineStyle)> = Vec::with_capacity(height);
        for block in self.blocks.iter_mut().rev() {
            if tail.len() >= height {
                break;
            }
            let n = block.wrap(width, expanded);
            let from = n.saturating_sub(height - tail.len());
            tail.extend(
                (from..n)
                    .rev()
                    .filter_map(|i| block.line(i))
                    .map(|(line, style)| (line.to_string(), style)),
            );
        }
        if tail.len() < height && self.dropped_bytes > 0 {
            tail.push(self.dropped_line());
        }
        tail.reverse();
        tail
    }

    /// Lines `from..to` of the pane as the line index numbers them, the dropped-history
    /// marker first.
    fn window(&self, from: usize, to: usize) -> Vec<(String, LineStyle)> {
        let mut out = Vec::with_capacity(to.saturating_sub(from));
        let marker = usize::from(self.dropped_bytes > 0);
        if from < marker && to > 0 {
            out.push(self.dropped_line());
        }
        let Some(index) = &self.index else {
            return out;
        };
        let from = index.first + from.saturating_sub(marker);
        let to = index.first + to.saturating_sub(marker);
        let mut at = index.ends.partition_point(|&end| end <= from);
        while at < self.blocks.len() && index.start(at) < to {
            let start = index.start(at);
            let block = &self.blocks[at];
            let lines = from.saturating_sub(start)..(to - start).min(index.ends[at] - start);
            out.extend(
                lines
                    .filter_map(|i| block.line(i))
                    .map(|(line, style)| (line.to_string(), style)),
            );
            at += 1;
        }
        out
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

    /// The pane with no wrap cache and no line index: what wrapping it afresh shows.
    fn rewrapped(pane: &Pane) -> Pane {
        let mut fresh = pane.clone();
        fresh.index = None;
        fresh.blocks.iter_mut().for_each(|b| b.wrapped = None);
        fresh
    }

    #[test]
    fn an_endless_reply_cut_from_the_front_wraps_as_if_afresh() {
        let limits = PaneLimits {
            max_bytes: 300,
            max_lines: 1000,
        };
        let width = 9;
        for newlines in [false, true] {
            let mut pane = Pane::new("a", "A", "", limits);
            for i in 0..400 {
                let word = if newlines && i % 7 == 0 {
                    "\nline"
                } else {
                    " wordy"
                };
                pane.append_text(word, false);
                // Drawn between tokens, so that the cut meets a filled wrap cache.
                let shown = pane.visible_lines(width, 6, 0, false);
                assert_eq!(
                    shown,
                    rewrapped(&pane).visible_lines(width, 6, 0, false),
                    "{i}"
                );
                if i % 10 == 0 {
                    let total = rewrapped(&pane).total_lines(width, false);
                    assert_eq!(pane.total_lines(width, false), total, "{i}");
                    assert_eq!(
                        pane.visible_lines(width, 4, 5, false),
                        rewrapped(&pane).visible_lines(width, 4, 5, false),
                        "{i}"
                    );
                }
            }
            assert_eq!(pane.blocks.len(), 1);
            assert!(pane.dropped_bytes > 0);
        }
    }

    #[test]
    fn a_scrolled_window_is_the_same_slice_of_the_whole_history() {
        let limits = PaneLimits {
            max_bytes: 700,
            max_lines: 40,
        };
        let width = 12;
        let everything = |pane: &Pane| rewrapped(pane).visible_lines(width, 10_000, 0, false);
        let mut pane = Pane::new("a", "A", "", limits);
        let mut calls = 0;
        for step in 0..300 {
            match step % 9 {
                0 => pane.push(Content::Notice {
                    text: format!("notice {step} with a few words"),
                    style: LineStyle::Notice,
                }),
                1 => {
                    calls += 1;
                    pane.push(Content::Tool {
                        call_id: calls.to_string(),
                        tool: "calc".into(),
                        arguments: "{}".into(),
                        status: ToolStatus::Running,
                    });
                }
                2 => pane.finish_tool(
                    &calls.to_string(),
                    ToolStatus::Done {
                        output: "one\ntwo\nthree\nfour\nfive".into(),
                        elapsed_ms: 3,
                        truncated: false,
                    },
                ),
                3 => pane.push(Content::Turn {
                    turn: step,
                    input: "go on".into(),
                }),
                _ => pane.append_text(
                    if step % 5 == 0 {
                        " and a line\nbreak"
                    } else {
                        " word"
                    },
                    step % 13 == 0,
                ),
            }
            let all = everything(&pane);
            assert_eq!(pane.total_lines(width, false), all.len(), "step {step}");
            for back in [1, 3, 10, 25] {
                for height in [1, 5] {
                    let end = all.len().saturating_sub(back);
                    let want = &all[end.saturating_sub(height)..end];
                    let got = pane.visible_lines(width, height, back, false);
                    assert_eq!(got, want, "step {step}, back {back}, height {height}");
                }
            }
            // Following the newest lines at the same width keeps the index in step.
            assert_eq!(
                pane.visible_lines(width, 4, 0, false),
                all[all.len().saturating_sub(4)..]
            );
        }
        assert!(pane.dropped_bytes > 0, "the limits were reached");
    }
}
