//! How one agent's timeline is drawn: its items' wrapped lines, kept per item for the width
//! they were last drawn at, so a frame costs only the lines it shows.
//!
//! The timeline itself belongs to the run model ([`Timeline`]); a [`PaneView`] holds only what
//! drawing it costs to work out again. It catches up with the timeline when drawn: the
//! timeline's change journal names the items that changed, so a streaming reply re-wraps only
//! its last line and a scrolled pane finds its window by binary search, whatever the length
//! of the history.

use std::collections::VecDeque;

use super::wrap::wrap_ranges;
use crate::engine::run::{Item, Timeline, Tone, ToolStatus};
use crate::tools::ToolFailureKind;

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

impl From<Tone> for LineStyle {
    fn from(tone: Tone) -> Self {
        match tone {
            Tone::Notice => LineStyle::Notice,
            Tone::Error => LineStyle::Error,
            Tone::Dim => LineStyle::Dim,
        }
    }
}

/// Lines a folded tool result shows.
pub const FOLDED_RESULT_LINES: usize = 3;

#[derive(Clone, Debug, Default)]
struct Wrapped {
    width: usize,
    expanded: bool,
    /// The lines of an item other than streamed text.
    lines: Vec<(String, LineStyle)>,
    /// For streamed text: byte ranges of its lines in the text, which the timeline keeps; the
    /// last range is wrapped again as the text grows.
    ranges: Vec<(usize, usize)>,
    /// For streamed text: how much of it the ranges cover, and how much had been cut from its
    /// front when they were made.
    upto: usize,
    trimmed: usize,
}

impl Wrapped {
    /// Wraps `item` at `width`, only what changed since the last call, and returns how many
    /// lines it has.
    fn wrap(slot: &mut Option<Wrapped>, item: &Item, width: usize, expanded: bool) -> usize {
        let stale = slot
            .as_ref()
            .is_none_or(|w| w.width != width || w.expanded != expanded);
        if let Item::Text { text, trimmed, .. } = item {
            let w = slot.get_or_insert_with(Wrapped::default);
            if stale {
                *w = Wrapped {
                    width,
                    expanded,
                    trimmed: *trimmed,
                    ..Wrapped::default()
                };
            } else if w.trimmed != *trimmed {
                // The front was cut: lines after the cut stay as they were if it fell where
                // one of them starts; otherwise wrap it all again.
                let cut = trimmed - w.trimmed;
                w.ranges.retain(|&(start, _)| start >= cut);
                if w.ranges.first().is_some_and(|&(start, _)| start == cut) && w.upto >= cut {
                    w.ranges
                        .iter_mut()
                        .for_each(|r| *r = (r.0 - cut, r.1 - cut));
                    w.upto -= cut;
                    w.trimmed = *trimmed;
                } else {
                    *w = Wrapped {
                        width,
                        expanded,
                        trimmed: *trimmed,
                        ..Wrapped::default()
                    };
                }
            }
            if w.upto == text.len() && !w.ranges.is_empty() {
                return w.ranges.len();
            }
            let resume = w.ranges.pop().map_or(0, |(start, _)| start);
            wrap_ranges(&text[resume..], width, resume, &mut w.ranges);
            w.upto = text.len();
            return w.ranges.len();
        }
        if stale {
            *slot = Some(Wrapped {
                width,
                expanded,
                lines: render_lines(item, width, expanded),
                ..Wrapped::default()
            });
        }
        slot.as_ref().map_or(0, |w| w.lines.len())
    }

    /// Line `i` as the last wrap left it.
    fn line<'a>(&'a self, item: &'a Item, i: usize) -> Option<(&'a str, LineStyle)> {
        match item {
            Item::Text {
                text, reasoning, ..
            } => {
                let &(start, end) = self.ranges.get(i)?;
                let style = if *reasoning {
                    LineStyle::Reasoning
                } else {
                    LineStyle::Text
                };
                Some((text.get(start..end)?, style))
            }
            Item::Turn { .. } | Item::Tool { .. } | Item::Note(_) => self
                .lines
                .get(i)
                .map(|(line, style)| (line.as_str(), *style)),
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

fn render_lines(item: &Item, width: usize, expanded: bool) -> Vec<(String, LineStyle)> {
    let mut out = Vec::new();
    match item {
        Item::Turn { turn, input } => {
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
        Item::Text { .. } => {}
        Item::Tool {
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
                    // A fold keeps the first few lines of the output as written, and counts
                    // the rest the same way, however many rows wrapping makes of them.
                    let source = output.lines().count();
                    let hidden = source.saturating_sub(FOLDED_RESULT_LINES);
                    let folded = !expanded && hidden > 1;
                    let shown = if folded {
                        let kept: usize = output
                            .lines()
                            .take(FOLDED_RESULT_LINES)
                            .map(|line| {
                                let mut rows = Vec::new();
                                wrap_ranges(line, width.saturating_sub(2), 0, &mut rows);
                                rows.len().max(1)
                            })
                            .sum();
                        kept.min(lines.len())
                    } else {
                        lines.len()
                    };
                    for (i, (line, style)) in lines.into_iter().take(shown).enumerate() {
                        let lead = if i == 0 { "→ " } else { "  " };
                        out.push((format!("{lead}{line}"), style));
                    }
                    let mut tail = format!("  ({elapsed_ms} ms");
                    if *truncated {
                        tail.push_str(", output truncated");
                    }
                    if folded {
                        tail.push_str(&format!(", {hidden} more lines: e expands"));
                    }
                    tail.push(')');
                    push_wrapped(&mut out, &tail, width, LineStyle::Dim);
                }
                ToolStatus::Failed {
                    kind: ToolFailureKind::Denied,
                    error,
                } => {
                    // `error` says it was denied and why; the model was told as much.
                    push_wrapped(&mut out, &format!("⊘ {error}"), width, LineStyle::Notice);
                    push_wrapped(
                        &mut out,
                        "  the model was told; the run goes on",
                        width,
                        LineStyle::Dim,
                    );
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
        Item::Note(note) => push_wrapped(&mut out, &note.text(), width, note.tone().into()),
    }
    out
}

/// Where each item's wrapped lines end, at one width, so a scrolled pane finds its window by
/// binary search instead of walking and wrapping its whole history every frame. Built the
/// first time a pane is scrolled (or its total asked for) and kept in step as items change.
#[derive(Clone, Debug)]
struct LineIndex {
    width: usize,
    expanded: bool,
    /// Line numbers count from the first line the pane ever indexed, so dropping old items
    /// moves `first` and leaves the other numbers alone.
    first: usize,
    /// The number of the line after each item's last one, item by item.
    ends: VecDeque<usize>,
}

impl LineIndex {
    fn start(&self, slot: usize) -> usize {
        slot.checked_sub(1)
            .map_or(self.first, |before| self.ends[before])
    }

    fn lines(&self) -> usize {
        self.ends.back().map_or(0, |end| end - self.first)
    }
}

/// The wrapped lines of one agent's timeline. Slot `i` is the timeline's item `first + i`.
#[derive(Clone, Debug, Default)]
pub struct PaneView {
    first: u64,
    wrapped: VecDeque<Option<Wrapped>>,
    /// The timeline change this view has caught up with.
    seen: u64,
    index: Option<LineIndex>,
}

impl PaneView {
    /// Catches up with what changed in `timeline` since the last call.
    pub fn sync(&mut self, timeline: &Timeline) {
        if self.seen == timeline.changes() && self.first == timeline.first_index() {
            return;
        }
        let changed = timeline.changed_since(self.seen);
        self.seen = timeline.changes();
        let Some(changed) = changed else {
            *self = PaneView {
                first: timeline.first_index(),
                seen: timeline.changes(),
                ..PaneView::default()
            };
            self.wrapped.resize(timeline.len(), None);
            return;
        };
        // Items dropped from the front.
        while self.first < timeline.first_index() {
            self.first += 1;
            self.wrapped.pop_front();
            if let Some(index) = &mut self.index
                && let Some(end) = index.ends.pop_front()
            {
                index.first = end;
            }
        }
        if self.first > timeline.first_index() {
            // A timeline this view never followed (a replay seeked back): start afresh.
            *self = PaneView {
                first: timeline.first_index(),
                seen: timeline.changes(),
                ..PaneView::default()
            };
            self.wrapped.resize(timeline.len(), None);
            return;
        }
        // New items, wrapped into the index when there is one.
        while (self.first + self.wrapped.len() as u64) < timeline.end_index() {
            self.wrapped.push_back(None);
            if let Some(index) = &mut self.index {
                let end = index.ends.back().copied().unwrap_or(index.first);
                index.ends.push_back(end);
            }
            let slot = self.wrapped.len() - 1;
            self.reindex(timeline, slot);
        }
        let mut seen_slots: Vec<usize> = Vec::new();
        for item in changed.into_iter().rev() {
            let Some(slot) = item
                .checked_sub(self.first)
                .and_then(|s| usize::try_from(s).ok())
                .filter(|&s| s < self.wrapped.len())
            else {
                continue;
            };
            if seen_slots.contains(&slot) {
                continue;
            }
            seen_slots.push(slot);
            if !matches!(timeline.get(item), Some(Item::Text { .. })) {
                // Streamed text re-wraps from its last line; anything else afresh.
                self.wrapped[slot] = None;
            }
            self.reindex(timeline, slot);
        }
    }

    /// Brings the line index up to date after `slot` changed, by its change in lines.
    fn reindex(&mut self, timeline: &Timeline, slot: usize) {
        let Some(index) = &mut self.index else {
            return;
        };
        let (Some(item), Some(&old_end)) =
            (timeline.get(self.first + slot as u64), index.ends.get(slot))
        else {
            self.index = None;
            return;
        };
        let Some(cache) = self.wrapped.get_mut(slot) else {
            self.index = None;
            return;
        };
        let new_end = index.start(slot) + Wrapped::wrap(cache, item, index.width, index.expanded);
        if new_end > old_end {
            index
                .ends
                .range_mut(slot..)
                .for_each(|e| *e += new_end - old_end);
        } else if new_end < old_end {
            index
                .ends
                .range_mut(slot..)
                .for_each(|e| *e -= old_end - new_end);
        }
    }

    /// The line index at `width`, built now if there is none for that width.
    fn index_at(&mut self, timeline: &Timeline, width: usize, expanded: bool) -> &LineIndex {
        let fresh = self
            .index
            .as_ref()
            .is_some_and(|i| i.width == width && i.expanded == expanded);
        if !fresh {
            let mut end = 0;
            let first = self.first;
            let ends = self
                .wrapped
                .iter_mut()
                .enumerate()
                .map(|(slot, cache)| {
                    if let Some(item) = timeline.get(first + slot as u64) {
                        end += Wrapped::wrap(cache, item, width, expanded);
                    }
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

    fn dropped_line(timeline: &Timeline) -> (String, LineStyle) {
        (
            format!(
                "… {} earlier dropped",
                human_bytes(timeline.dropped_bytes())
            ),
            LineStyle::Dim,
        )
    }

    /// Total wrapped lines at `width`: the first call wraps every item, later ones only what
    /// changed.
    pub fn total_lines(&mut self, timeline: &Timeline, width: usize, expanded: bool) -> usize {
        self.sync(timeline);
        let dropped = usize::from(timeline.dropped_bytes() > 0);
        self.index_at(timeline, width, expanded).lines() + dropped
    }

    /// The `height` lines that end `back` lines before the newest, oldest first. Costs the
    /// lines shown, not the history kept: following the newest lines walks back from the end,
    /// a scrolled pane looks its window up in the line index.
    pub fn visible_lines(
        &mut self,
        timeline: &Timeline,
        width: usize,
        height: usize,
        back: usize,
        expanded: bool,
    ) -> Vec<(String, LineStyle)> {
        self.sync(timeline);
        if back > 0 {
            let total = self.total_lines(timeline, width, expanded);
            let end = total.saturating_sub(back);
            return self.window(timeline, end.saturating_sub(height), end);
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
        let first = self.first;
        for (slot, cache) in self.wrapped.iter_mut().enumerate().rev() {
            if tail.len() >= height {
                break;
            }
            let Some(item) = timeline.get(first + slot as u64) else {
                continue;
            };
            let n = Wrapped::wrap(cache, item, width, expanded);
            let from = n.saturating_sub(height - tail.len());
            let Some(w) = cache.as_ref() else { continue };
            tail.extend(
                (from..n)
                    .rev()
                    .filter_map(|i| w.line(item, i))
                    .map(|(line, style)| (line.to_string(), style)),
            );
        }
        if tail.len() < height && timeline.dropped_bytes() > 0 {
            tail.push(Self::dropped_line(timeline));
        }
        tail.reverse();
        tail
    }

    /// Lines `from..to` of the pane as the line index numbers them, the dropped-history
    /// marker first.
    fn window(&self, timeline: &Timeline, from: usize, to: usize) -> Vec<(String, LineStyle)> {
        let mut out = Vec::with_capacity(to.saturating_sub(from));
        let marker = usize::from(timeline.dropped_bytes() > 0);
        if from < marker && to > 0 {
            out.push(Self::dropped_line(timeline));
        }
        let Some(index) = &self.index else {
            return out;
        };
        let from = index.first + from.saturating_sub(marker);
        let to = index.first + to.saturating_sub(marker);
        let mut at = index.ends.partition_point(|&end| end <= from);
        while at < self.wrapped.len() && index.start(at) < to {
            let start = index.start(at);
            if let (Some(Some(w)), Some(item)) =
                (self.wrapped.get(at), timeline.get(self.first + at as u64))
            {
                let lines = from.saturating_sub(start)..(to - start).min(index.ends[at] - start);
                out.extend(
                    lines
                        .filter_map(|i| w.line(item, i))
                        .map(|(line, style)| (line.to_string(), style)),
                );
            }
            at += 1;
        }
        out
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
    use crate::engine::run::{Note, TimelineLimits};

    fn text_of(lines: &[(String, LineStyle)]) -> Vec<&str> {
        lines.iter().map(|(l, _)| l.as_str()).collect()
    }

    #[test]
    fn streamed_text_wraps_as_it_grows() {
        let mut t = Timeline::default();
        let mut pane = PaneView::default();
        t.append_text("hello wor", false);
        assert_eq!(
            text_of(&pane.visible_lines(&t, 8, 5, 0, false)),
            ["hello", "wor"]
        );
        t.append_text("ld and more", false);
        assert_eq!(
            text_of(&pane.visible_lines(&t, 8, 5, 0, false)),
            ["hello", "world", "and more"]
        );
        // Scrolled back one line: the newest line is hidden.
        assert_eq!(
            text_of(&pane.visible_lines(&t, 8, 2, 1, false)),
            ["hello", "world"]
        );
        assert_eq!(pane.total_lines(&t, 8, false), 3);
    }

    #[test]
    fn long_tool_results_fold_and_expand() {
        let mut t = Timeline::default();
        let mut pane = PaneView::default();
        t.push(Item::Tool {
            call_id: "1".into(),
            tool: "list_dir".into(),
            arguments: "{}".into(),
            status: ToolStatus::Running,
        });
        assert_eq!(
            text_of(&pane.visible_lines(&t, 40, 20, 0, false)),
            ["⚙ list_dir {}", "  … running"]
        );
        let output = (1..=10)
            .map(|i| format!("file{i}"))
            .collect::<Vec<_>>()
            .join("\n");
        t.finish_tool(
            &"1".into(),
            ToolStatus::Done {
                output,
                elapsed_ms: 4,
                truncated: false,
            },
        );
        let folded = pane.visible_lines(&t, 40, 20, 0, false);
        assert_eq!(folded.len(), 5);
        assert_eq!(folded[4].0, "  (4 ms, 7 more lines: e expands)");
        let expanded = pane.visible_lines(&t, 40, 20, 0, true);
        assert_eq!(expanded.len(), 12);
        assert_eq!(expanded[10].0, "  file10");
    }

    #[test]
    fn a_fold_counts_the_lines_of_the_output_not_the_rows_they_wrap_to() {
        let mut t = Timeline::default();
        t.push(Item::Tool {
            call_id: "1".into(),
            tool: "read_file".into(),
            arguments: "{}".into(),
            status: ToolStatus::Running,
        });
        // 60 lines, each long enough to wrap to two rows at this width.
        let output = (1..=60)
            .map(|i| format!("line {i:02} of the file, which is long"))
            .collect::<Vec<_>>()
            .join("\n");
        t.finish_tool(
            &"1".into(),
            ToolStatus::Done {
                output,
                elapsed_ms: 2,
                truncated: false,
            },
        );
        let folded = PaneView::default().visible_lines(&t, 24, 40, 0, false);
        let text = text_of(&folded);
        assert!(
            text.join(" ").contains("(2 ms, 57 more lines: e expands)"),
            "{text:?}"
        );
        assert!(text.iter().any(|l| l.contains("line 03")), "{text:?}");
        assert!(!text.iter().any(|l| l.contains("line 04")), "{text:?}");
    }

    #[test]
    fn a_bounded_history_shows_what_it_dropped() {
        let limits = TimelineLimits {
            max_bytes: 1000,
            max_lines: 100,
        };
        let mut t = Timeline::new(limits);
        let mut pane = PaneView::default();
        for i in 0..500 {
            t.push(Item::Note(Note::Answered {
                input: format!("notice {i}"),
            }));
            if i % 7 == 0 {
                pane.visible_lines(&t, 40, 5, 0, false);
            }
        }
        let lines = pane.visible_lines(&t, 40, 200, 0, false);
        assert!(lines[0].0.starts_with("… ") && lines[0].0.ends_with("earlier dropped"));
        assert_eq!(lines.last().unwrap().0, "↩ you: notice 499");
        assert_eq!(lines.len(), t.len() + 1);
    }

    /// What drawing `timeline` afresh shows: no wrap cache, no line index.
    fn afresh(timeline: &Timeline, width: usize, height: usize, back: usize) -> Vec<String> {
        PaneView::default()
            .visible_lines(timeline, width, height, back, false)
            .into_iter()
            .map(|(l, _)| l)
            .collect()
    }

    #[test]
    fn an_endless_reply_cut_from_the_front_wraps_as_if_afresh() {
        let limits = TimelineLimits {
            max_bytes: 300,
            max_lines: 1000,
        };
        let width = 9;
        for newlines in [false, true] {
            let mut t = Timeline::new(limits);
            let mut pane = PaneView::default();
            for i in 0..400 {
                let word = if newlines && i % 7 == 0 {
                    "\nline"
                } else {
                    " wordy"
                };
                t.append_text(word, false);
                // Drawn between tokens, so that the cut meets a filled wrap cache.
                let shown: Vec<String> = pane
                    .visible_lines(&t, width, 6, 0, false)
                    .into_iter()
                    .map(|(l, _)| l)
                    .collect();
                assert_eq!(shown, afresh(&t, width, 6, 0), "{i}");
                if i % 10 == 0 {
                    let total = PaneView::default().total_lines(&t, width, false);
                    assert_eq!(pane.total_lines(&t, width, false), total, "{i}");
                    let scrolled: Vec<String> = pane
                        .visible_lines(&t, width, 4, 5, false)
                        .into_iter()
                        .map(|(l, _)| l)
                        .collect();
                    assert_eq!(scrolled, afresh(&t, width, 4, 5), "{i}");
                }
            }
            assert_eq!(t.len(), 1);
            assert!(t.dropped_bytes() > 0);
        }
    }

    #[test]
    fn a_scrolled_window_is_the_same_slice_of_the_whole_history() {
        let limits = TimelineLimits {
            max_bytes: 700,
            max_lines: 40,
        };
        let width = 12;
        let mut t = Timeline::new(limits);
        let mut pane = PaneView::default();
        let mut calls = 0;
        for step in 0..300 {
            match step % 9 {
                0 => t.push(Item::Note(Note::Answered {
                    input: format!("notice {step} with a few words"),
                })),
                1 => {
                    calls += 1;
                    t.push(Item::Tool {
                        call_id: calls.to_string().into(),
                        tool: "calc".into(),
                        arguments: "{}".into(),
                        status: ToolStatus::Running,
                    });
                }
                2 => {
                    t.finish_tool(
                        &calls.to_string().into(),
                        ToolStatus::Done {
                            output: "one\ntwo\nthree\nfour\nfive".into(),
                            elapsed_ms: 3,
                            truncated: false,
                        },
                    );
                }
                3 => t.push(Item::Turn {
                    turn: step,
                    input: "go on".into(),
                }),
                _ => t.append_text(
                    if step % 5 == 0 {
                        " and a line\nbreak"
                    } else {
                        " word"
                    },
                    step % 13 == 0,
                ),
            }
            let all = afresh(&t, width, 10_000, 0);
            assert_eq!(pane.total_lines(&t, width, false), all.len(), "step {step}");
            for back in [1, 3, 10, 25] {
                for height in [1, 5] {
                    let end = all.len().saturating_sub(back);
                    let want = &all[end.saturating_sub(height)..end];
                    let got: Vec<String> = pane
                        .visible_lines(&t, width, height, back, false)
                        .into_iter()
                        .map(|(l, _)| l)
                        .collect();
                    assert_eq!(got, want, "step {step}, back {back}, height {height}");
                }
            }
            // Following the newest lines at the same width keeps the index in step.
            let newest: Vec<String> = pane
                .visible_lines(&t, width, 4, 0, false)
                .into_iter()
                .map(|(l, _)| l)
                .collect();
            assert_eq!(newest, all[all.len().saturating_sub(4)..]);
        }
        assert!(t.dropped_bytes() > 0, "the limits were reached");
    }
}
