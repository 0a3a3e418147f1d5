//! Drawing: a function of the App, the View and the theme. Nothing here changes what the run
//! is; it only fills wrap caches and records where panes went.

use ratatui::Frame;
use ratatui::layout::{Alignment, Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Borders, Clear, Paragraph};
use unicode_width::UnicodeWidthStr;

use super::keys::{self, KeyMode};
use super::layout::{self, Body};
use super::pane::LineStyle;
use super::theme::{AgentState, Theme};
use super::view::{InputPurpose, Mode, Overlay, Scroll, Timeline, View};
use super::{debugging, editor_view, gate_panel, header, inspector, search, title};
use crate::engine::Run;
use crate::engine::run::RouteStep;

/// Below this the screen shows only a "too small" notice.
pub const MIN_WIDTH: u16 = 30;
pub const MIN_HEIGHT: u16 = 8;

/// Draws one frame. `now_ms` is the session time to show (live clock or replay position).
pub fn draw(frame: &mut Frame, run: &Run, view: &mut View, theme: &Theme, now_ms: u64) {
    let area = frame.area();
    view.sync_panes(run);
    view.drawn.clear();
    if theme.base() != Style::default() {
        frame.render_widget(Block::new().style(theme.base()), area);
    }
    if area.width < MIN_WIDTH || area.height < MIN_HEIGHT {
        let text = format!(
            "Terminal too small: {}×{}. crewtui needs {MIN_WIDTH}×{MIN_HEIGHT}.",
            area.width, area.height
        );
        frame.render_widget(
            Paragraph::new(text)
                .style(theme.warning())
                .wrap(ratatui::widgets::Wrap { trim: true }),
            area,
        );
        return;
    }
    let input_height = view.input.as_ref().map_or(0, |i| {
        (i.area.lines().len() as u16 + 2)
            .clamp(3, 7)
            .min(area.height / 3)
    });
    let timeline_height = u16::from(matches!(view.mode, Mode::Replay(_)));
    let [header, strip, body, input, timeline, footer] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Min(1),
        Constraint::Length(input_height),
        Constraint::Length(timeline_height),
        Constraint::Length(1),
    ])
    .areas(area);
    draw_header(frame, header, run, theme, now_ms);
    draw_route(frame, strip, run, theme);
    draw_body(frame, body, run, view, theme, now_ms);
    if input_height > 0 {
        draw_input(frame, input, run, view, theme);
    }
    if let Mode::Replay(t) = &view.mode {
        draw_timeline(frame, timeline, t, theme);
    }
    let situation = debugging::situation(run, view.focus);
    draw_footer(frame, footer, view, situation, theme);
    if let Some(editor) = &mut view.editor {
        editor_view::draw(frame, body, run, editor, theme);
    }
    match view.overlay {
        Overlay::None => {}
        Overlay::Help => {
            let (mode, search) = (view.key_mode(), view.search_mode());
            draw_help(frame, area, mode, search, &mut view.help_scroll, theme);
        }
        Overlay::Inspector(_) => inspector::draw(frame, area, run, view, theme),
        Overlay::ConfirmQuit => draw_confirm(frame, area, super::view::waiting(run), theme),
    }
}

pub fn clock(ms: u64) -> String {
    let s = ms / 1000;
    if s >= 3600 {
        format!("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
    } else {
        format!("{:02}:{:02}.{}", s / 60, s % 60, ms % 1000 / 100)
    }
}

pub fn count(n: u64) -> String {
    match n {
        n if n >= 1_000_000 => format!("{:.1}M", n as f64 / 1e6),
        n if n >= 10_000 => format!("{}k", n / 1000),
        n if n >= 1000 => format!("{:.1}k", n as f64 / 1e3),
        n => n.to_string(),
    }
}

fn draw_header(frame: &mut Frame, area: Rect, run: &Run, theme: &Theme, now_ms: u64) {
    let line = header::line(run, theme, now_ms, area.width as usize);
    frame.render_widget(line, area);
}

fn draw_route(frame: &mut Frame, area: Rect, run: &Run, theme: &Theme) {
    const ARROW: &str = " → ";
    const CUT: &str = "… → ";
    let room = area.width.saturating_sub(8) as usize;
    // The newest steps matter most: walk back from the newest and stop once the room is
    // full, so a long run's path costs what the strip shows, not what the run took.
    let mut shown: Vec<(String, usize)> = Vec::new();
    let mut used = 0;
    let mut all = true;
    // The newest run of each group is the one a step names; found from the newest back.
    let mut groups = run.groups().iter().rev();
    for step in run.route().rev() {
        let label = match step {
            RouteStep::Agent(id) => crate::text::visible(id.as_str()),
            RouteStep::Group { id, size } => {
                let cost = groups
                    .find(|g| g.id == *id)
                    .and_then(|g| run.group_spend(g).cost_text())
                    .map(|c| format!(" {c}"))
                    .unwrap_or_default();
                format!("[{} ×{size}{cost}]", crate::text::visible(id.as_str()))
            }
        };
        if !shown.is_empty() {
            used += UnicodeWidthStr::width(ARROW);
        }
        used += UnicodeWidthStr::width(label.as_str());
        shown.push((label, used));
        if used > room {
            all = false;
            break;
        }
    }
    if !all {
        // Keep the newest steps that fit after the mark saying older ones were cut, and always
        // the newest one.
        let cut = UnicodeWidthStr::width(CUT);
        let keep = shown
            .iter()
            .take_while(|(_, used)| used + cut <= room)
            .count()
            .max(1);
        shown.truncate(keep);
    }
    let steps: Vec<String> = shown.into_iter().rev().map(|(label, _)| label).collect();
    let mut text = steps.join(ARROW);
    if !all {
        text.insert_str(0, CUT);
    }
    let line = Line::from(vec![
        Span::styled(" path ", theme.dim()),
        Span::styled(text, theme.text()),
    ]);
    frame.render_widget(line, area);
}

fn draw_body(
    frame: &mut Frame,
    area: Rect,
    run: &Run,
    view: &mut View,
    theme: &Theme,
    now_ms: u64,
) {
    if run.agents().is_empty() {
        return;
    }
    let labels = title::labels(run);
    let variants = variant_panes(run);
    if !variants.is_empty() && !view.zoomed {
        // A re-run's variants side by side, for the user to keep one.
        view.columns = variants.len();
        view.compact = false;
        let n = variants.len() as u32;
        let wide = area.width / n as u16 >= layout::MIN_PANE_WIDTH;
        let constraints = (0..n).map(|_| Constraint::Ratio(1, n));
        let rects = if wide {
            Layout::horizontal(constraints).split(area)
        } else {
            Layout::vertical(constraints).split(area)
        };
        for (&pane, &rect) in variants.iter().zip(rects.iter()) {
            draw_pane(frame, rect, run, view, &labels, pane, theme, now_ms);
        }
        return;
    }
    if view.zoomed {
        view.columns = 1;
        view.compact = false;
        draw_pane(frame, area, run, view, &labels, view.focus, theme, now_ms);
        return;
    }
    // Every pane keeps its place for the whole run; a grid is chosen only when every title
    // fits in full.
    let min_width = run
        .agents()
        .iter()
        .zip(&labels)
        .map(|(a, label)| title::min_width(a, label))
        .max()
        .unwrap_or(0);
    let list_width = labels
        .iter()
        .map(|l| UnicodeWidthStr::width(l.as_str()))
        .max()
        .unwrap_or(0)
        + layout::LIST_EXTRA;
    match layout::arrange(area, run.agents().len(), min_width, list_width, view.focus) {
        Body::Grid { panes, columns } => {
            view.columns = columns;
            view.compact = false;
            for (pane, rect) in panes {
                draw_pane(frame, rect, run, view, &labels, pane, theme, now_ms);
            }
        }
        Body::Compact { list, pane } => {
            view.columns = 1;
            view.compact = true;
            draw_list(frame, list, run, &labels, view.focus, theme, now_ms);
            draw_pane(frame, pane.1, run, view, &labels, pane.0, theme, now_ms);
        }
    }
}

/// The panes of the variants of a re-run waiting for the user to keep one, in order.
pub fn variant_panes(run: &Run) -> Vec<usize> {
    let Some((base, n)) = run.variants() else {
        return Vec::new();
    };
    (1..=n)
        .filter_map(|k| run.agent_index(&format!("{base}~{k}")))
        .collect()
}

pub(super) fn line_style(style: LineStyle, theme: &Theme) -> Style {
    match style {
        LineStyle::Text => theme.text(),
        LineStyle::Reasoning => theme.reasoning(),
        LineStyle::Tool => theme.tool(),
        LineStyle::ToolOutput => theme.text(),
        LineStyle::Error => theme.error(),
        LineStyle::Notice => theme.warning(),
        LineStyle::Dim => theme.dim(),
    }
}

#[allow(clippy::too_many_arguments)]
fn draw_pane(
    frame: &mut Frame,
    area: Rect,
    run: &Run,
    view: &mut View,
    labels: &[String],
    index: usize,
    theme: &Theme,
    now_ms: u64,
) {
    let focused = index == view.focus;
    let Some(pane) = run.agents().get(index) else {
        return;
    };
    view.drawn.push((index, area));
    let label = labels.get(index).map_or("", String::as_str);
    let fitted = title::Title::fit(pane, label, now_ms, area.width.saturating_sub(2) as usize);
    let mut left = Vec::new();
    if let Some(mark) = fitted.mark {
        left.push(Span::styled(format!(" {mark}"), theme.error()));
    }
    left.push(Span::styled(
        format!(" {} ", fitted.label),
        theme.title(focused),
    ));
    if let Some(role) = &fitted.role {
        left.push(Span::styled(format!("· {role} "), theme.dim()));
    }
    // A failure anywhere in the agent's run colours its badge, whatever it did after.
    let badge_state = if pane.failed {
        AgentState::Failed
    } else {
        pane.state
    };
    let spend = run.ledger().agent(index);
    let ended = matches!(
        pane.state,
        AgentState::Done | AgentState::Failed | AgentState::Cancelled
    );
    let approx = if spend.estimated() { "~" } else { "" };
    let foot = title::Foot {
        group: run
            .running_group()
            .filter(|g| g.members.contains(&pane.id))
            .map(|g| crate::text::visible_line(g.id.as_str()).into_owned()),
        scrolled: view.scroll.get(index).is_some_and(|s| *s != Scroll::Follow),
        // No prompt figure before the provider's: an estimate of the reply alone.
        prompt: (spend.prompt_tokens > 0).then(|| format!("{} in", count(spend.prompt_tokens))),
        output: match spend.tokens() {
            // Said only once a reply has ended without figures; never a made-up count.
            0 if ended => Some("tokens unknown".to_string()),
            0 => None,
            _ => Some(format!("{approx}{} out", count(spend.output_tokens()))),
        },
        cost: spend.cost_text(),
    };
    let (foot_left, foot_right) = foot.fit(area.width.saturating_sub(2) as usize);
    let mut block = Block::default()
        .borders(Borders::ALL)
        .border_type(if focused {
            BorderType::Thick
        } else {
            BorderType::Rounded
        })
        .border_style(theme.border(focused, pane.failed))
        .title(Line::from(left))
        .title(
            Line::from(Span::styled(
                fitted.badge,
                theme.state(badge_state).add_modifier(Modifier::REVERSED),
            ))
            .alignment(Alignment::Right),
        )
        .title_bottom(
            Line::from(Span::styled(foot_right, theme.dim())).alignment(Alignment::Right),
        );
    // A running group is shown where its members are, never by moving them.
    let mut foot_left = foot_left.into_iter();
    if foot.group.is_some()
        && let Some(text) = foot_left.next()
    {
        block = block.title_bottom(Line::from(Span::styled(
            text,
            theme.state(AgentState::Streaming),
        )));
    }
    let scroll = view.scroll.get(index).copied().unwrap_or(Scroll::Follow);
    if let Some(text) = foot_left.next() {
        block = block.title_bottom(Line::from(Span::styled(text, theme.warning())));
    }
    let mut inner = block.inner(area);
    frame.render_widget(block, area);
    if let Some(gate) = run.gate_of(pane.id.as_str()) {
        // The gate stays in view at the pane's foot however much the agent said before.
        let situation = debugging::situation(run, index);
        let room = (inner.height as usize / 2).max(1);
        let lines = gate_panel::lines(gate, focused, situation, inner.width as usize, room, theme);
        let rows = lines.len() as u16;
        inner.height -= rows;
        let panel = Rect {
            y: inner.y + inner.height,
            height: rows,
            ..inner
        };
        frame.render_widget(Paragraph::new(lines), panel);
    }
    let pinned = title::pinned_rows(pane, inner.height);
    if pinned > 0
        && let Some(failure) = &pane.last_failure
    {
        // The last failure stays in view however much the agent said after it.
        inner.height -= pinned;
        let row = Rect {
            y: inner.y + inner.height,
            height: pinned,
            ..inner
        };
        let text = title::cut_end(failure, row.width as usize);
        frame.render_widget(
            Line::styled(text, theme.error().add_modifier(Modifier::REVERSED)),
            row,
        );
    }
    let (width, height) = (inner.width as usize, inner.height as usize);
    if width == 0 || height == 0 {
        return;
    }
    let expanded = view.expanded.get(index).copied().unwrap_or(false);
    let Some(lines_of) = view.panes.get_mut(index) else {
        return;
    };
    let timeline = &pane.timeline;
    let lines = match scroll {
        Scroll::Follow => lines_of.visible_lines(timeline, width, height, 0, expanded),
        Scroll::Top(top) => {
            let total = lines_of.total_lines(timeline, width, expanded);
            let back = total.saturating_sub(top + height);
            lines_of.visible_lines(timeline, width, height, back, expanded)
        }
    };
    // The focused pane's matches are marked while a search is on (the inspector has its own).
    let search = view
        .search
        .as_ref()
        .filter(|s| focused && !s.query.is_empty() && view.overlay == Overlay::None);
    let first = match (search, scroll) {
        (None, _) => 0,
        (Some(_), Scroll::Top(top)) => top,
        (Some(_), Scroll::Follow) => lines_of
            .total_lines(timeline, width, expanded)
            .saturating_sub(height),
    };
    let lines: Vec<Line> = lines
        .into_iter()
        .enumerate()
        .map(|(row, (text, style))| match search {
            Some(search) => {
                let current = search
                    .at_in(index)
                    .filter(|(line, _)| *line == first + row)
                    .map(|(_, at)| at);
                search::highlighted(text, line_style(style, theme), &search.query, current)
            }
            None => Line::styled(text, line_style(style, theme)),
        })
        .collect();
    frame.render_widget(Paragraph::new(lines), inner);
}

fn draw_list(
    frame: &mut Frame,
    area: Rect,
    run: &Run,
    labels: &[String],
    focus: usize,
    theme: &Theme,
    now_ms: u64,
) {
    let block = Block::bordered()
        .border_style(theme.border(false, false))
        .title(Span::styled(
            format!(" {} agents ", run.agents().len()),
            theme.title(false),
        ));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let height = inner.height as usize;
    // Keep the focused agent in sight.
    let first = focus.saturating_sub(height.saturating_sub(1));
    let lines: Vec<Line> = run
        .agents()
        .iter()
        .enumerate()
        .skip(first)
        .take(height)
        .map(|(i, p)| {
            let marker = if i == focus { "▶" } else { " " };
            let name_style = if i == focus {
                theme.title(true)
            } else if p.failed {
                theme.error()
            } else {
                theme.text()
            };
            let badge = title::badge(p, now_ms, true);
            let state = if p.failed {
                AgentState::Failed
            } else {
                p.state
            };
            let room =
                (inner.width as usize).saturating_sub(1 + UnicodeWidthStr::width(badge.as_str()));
            let label = labels.get(i).map_or("", String::as_str);
            let label = title::cut_middle(label, room);
            let pad = room.saturating_sub(UnicodeWidthStr::width(label.as_str()));
            Line::from(vec![
                Span::styled(format!("{marker}{label}{}", " ".repeat(pad)), name_style),
                Span::styled(badge, theme.state(state)),
            ])
        })
        .collect();
    frame.render_widget(Paragraph::new(lines), inner);
}

fn draw_input(frame: &mut Frame, area: Rect, run: &Run, view: &mut View, theme: &Theme) {
    let Some(input) = &mut view.input else {
        return;
    };
    let title = match &input.purpose {
        InputPurpose::FirstInput => {
            " First input for the crew · Enter starts · Alt-Enter new line · Esc quits ".to_string()
        }
        InputPurpose::Answer(agent) => {
            let name = run.agent(agent).map_or(agent.as_str(), |a| a.name.as_str());
            let name = crate::text::visible(name);
            format!(" Answer {name} · Enter sends · Alt-Enter new line ")
        }
        InputPurpose::Deny { agent, .. } => {
            let name = run
                .agent(agent.as_str())
                .map_or(agent.as_str(), |a| a.name.as_str());
            let name = crate::text::visible(name);
            format!(
                " Why deny {name}'s tool call? The model is told · Enter denies · Esc keeps it "
            )
        }
        InputPurpose::Guide(agent) => {
            let name = run
                .agent(agent.as_str())
                .map_or(agent.as_str(), |a| a.name.as_str());
            let name = crate::text::visible(name);
            format!(" Guidance for {name}, seen at its next model call · Enter sends ")
        }
    };
    input.area.set_block(
        Block::bordered()
            .border_type(BorderType::Thick)
            .border_style(theme.title(true))
            .title(Span::styled(title, theme.title(true))),
    );
    input.area.set_style(theme.input());
    input.area.set_cursor_line_style(Style::default());
    frame.render_widget(&input.area, area);
}

fn draw_footer(
    frame: &mut Frame,
    area: Rect,
    view: &View,
    situation: keys::Situation,
    theme: &Theme,
) {
    let mode = view.key_mode();
    if let Some(search) = &view.search {
        draw_search_footer(frame, area, view, search, situation, theme);
        return;
    }
    let Some(notice) = view.notice_text() else {
        let hints = keys::hints(mode, area.width as usize, situation);
        frame.render_widget(Line::styled(hints, theme.dim()), area);
        return;
    };
    // A notice never hides the keys that matter most.
    let essential = keys::hints(mode, 0, situation);
    let room = (area.width as usize).saturating_sub(UnicodeWidthStr::width(essential.as_str()) + 1);
    let notice = title::cut_end(&crate::text::visible_line(notice), room.saturating_sub(1));
    let pad = room.saturating_sub(1 + UnicodeWidthStr::width(notice.as_str()));
    let line = Line::from(vec![
        Span::styled(format!(" {notice}"), theme.warning()),
        Span::raw(" ".repeat(pad)),
        Span::styled(essential, theme.dim()),
    ]);
    frame.render_widget(line, area);
}

/// The footer while searching: the query being typed, or what it found, and the search's keys
/// with the screen's essential ones.
fn draw_search_footer(
    frame: &mut Frame,
    area: Rect,
    view: &View,
    search: &super::view::Search,
    situation: keys::Situation,
    theme: &Theme,
) {
    let query = crate::text::visible_line(&search.query).into_owned();
    let (left, mode) = if search.editing {
        (format!(" /{query}▏"), KeyMode::Search)
    } else {
        let found = match (view.notice_text(), search.count) {
            (Some(notice), _) => notice.to_string(),
            (None, Some((n, all))) => format!("{n} of {all}"),
            (None, None) => "not found".to_string(),
        };
        (format!(" /{query} · {found}"), KeyMode::Found)
    };
    // What was found comes first; the search's keys get the room left, the screen's essential
    // ones always.
    let below = view.key_mode();
    let essential = match (mode, below) {
        (KeyMode::Found, KeyMode::Live | KeyMode::Replay) => {
            format!(" ·{}", keys::hints(below, 0, situation))
        }
        // The inspector's Esc is the search's while it is on.
        (
            KeyMode::Found,
            KeyMode::Input
            | KeyMode::Inspector
            | KeyMode::Search
            | KeyMode::Found
            | KeyMode::Editor
            | KeyMode::Breakpoints,
        )
        | (
            KeyMode::Live
            | KeyMode::Input
            | KeyMode::Replay
            | KeyMode::Inspector
            | KeyMode::Search
            | KeyMode::Editor
            | KeyMode::Breakpoints,
            _,
        ) => String::new(),
    };
    let room = (area.width as usize).saturating_sub(
        UnicodeWidthStr::width(left.as_str()) + UnicodeWidthStr::width(essential.as_str()),
    );
    let keys = keys::hints(mode, room, situation) + &essential;
    let room = (area.width as usize).saturating_sub(UnicodeWidthStr::width(keys.as_str()));
    let left = title::cut_end(&left, room.saturating_sub(1));
    let pad = room.saturating_sub(UnicodeWidthStr::width(left.as_str()));
    let line = Line::from(vec![
        Span::styled(left, theme.title(true)),
        Span::raw(" ".repeat(pad)),
        Span::styled(keys, theme.dim()),
    ]);
    frame.render_widget(line, area);
}

/// `▶ 2× ━━━━━━●────── 00:12.3 / 00:45.0 · event 1234 / 5000`
fn draw_timeline(frame: &mut Frame, area: Rect, t: &Timeline, theme: &Theme) {
    let state = if t.playing { "▶" } else { "⏸" };
    let speed = match t.speed {
        Some(s) if s >= 1.0 => format!("{s:.0}×"),
        Some(s) => format!("{s}×"),
        None => "max".to_string(),
    };
    let skipping = t.skipping.map_or_else(String::new, |gap| {
        let wait = super::replay::MAX_WAIT.as_secs();
        format!(" » {} wait played in {wait}s ·", title::duration(gap))
    });
    // While the recording is still being read, its ends are what is read so far.
    let more = if t.reading { "…" } else { "" };
    let right = format!(
        "{skipping} {} / {}{more} · event {} / {}{more} ",
        clock(t.t_ms),
        clock(t.total_ms),
        t.position,
        t.total
    );
    let left = format!(" {state} {speed:>4} ");
    let bar_width =
        (area.width as usize).saturating_sub(left.chars().count() + right.chars().count());
    // The bar is the recording's time, as 1–9 jump through it; a recording without time, its
    // events.
    let (done, all) = if t.total_ms > 0 {
        (t.t_ms.min(t.total_ms) as usize, t.total_ms as usize)
    } else {
        (t.position, t.total)
    };
    let filled = (bar_width * done)
        .checked_div(all)
        .unwrap_or(0)
        .min(bar_width.saturating_sub(1));
    let bar: String = (0..bar_width)
        .map(|i| match i.cmp(&filled) {
            std::cmp::Ordering::Less => '━',
            std::cmp::Ordering::Equal => '●',
            std::cmp::Ordering::Greater => '─',
        })
        .collect();
    frame.render_widget(
        Line::from(vec![
            Span::styled(left, theme.title(true)),
            Span::styled(bar, theme.border(true, false)),
            Span::styled(right, theme.text()),
        ]),
        area,
    );
}

/// The help for `mode`, in two columns where they fit, scrolled to `scroll` (kept in range)
/// when it is taller than the screen.
fn draw_help(
    frame: &mut Frame,
    area: Rect,
    mode: KeyMode,
    search: Option<KeyMode>,
    scroll: &mut usize,
    theme: &Theme,
) {
    // A search's keys come first, as they do when pressed.
    let keys: Vec<(&str, &str)> = search
        .into_iter()
        .flat_map(keys::help)
        .chain(keys::help(mode))
        .collect();
    let title = match mode {
        KeyMode::Live => "Keys",
        KeyMode::Input => "Keys while you type",
        KeyMode::Replay => "Keys of the replay",
        KeyMode::Inspector => "Keys of the inspector",
        KeyMode::Search => "Keys while you type a search",
        KeyMode::Found => "Keys while searching",
        KeyMode::Editor => "Keys of the editor",
        KeyMode::Breakpoints => "Keys of the breakpoint editor",
    };
    let key_width = keys
        .iter()
        .map(|(k, _)| UnicodeWidthStr::width(*k))
        .max()
        .unwrap_or(0);
    const TEXT_WIDTH: usize = 60;
    let inner_width = (area.width as usize).saturating_sub(4);
    // Two columns when one would not fit the screen's height and two fit its width.
    let two = keys.len() + 6 > area.height as usize && inner_width >= 2 * (key_width + 41);
    let columns = if two { 2 } else { 1 };
    let column_width = inner_width / columns;
    let text_width = column_width
        .saturating_sub(key_width + 2)
        .clamp(10, TEXT_WIDTH);
    let widest = keys
        .iter()
        .map(|(_, what)| what.chars().count().min(text_width))
        .max()
        .unwrap_or(20);
    let cells: Vec<Vec<Line>> = keys
        .iter()
        .map(|(key, what)| {
            let mut ranges = Vec::new();
            super::wrap::wrap_ranges(what, text_width, 0, &mut ranges);
            ranges
                .into_iter()
                .enumerate()
                .map(|(i, (from, to))| {
                    let key = if i == 0 { *key } else { "" };
                    Line::from(vec![
                        Span::styled(
                            format!(
                                "{key}{} ",
                                " ".repeat(key_width - UnicodeWidthStr::width(key))
                            ),
                            theme.title(false),
                        ),
                        Span::styled(what[from..to].to_string(), theme.text()),
                    ])
                })
                .collect()
        })
        .collect();
    let rows: usize = cells.iter().map(Vec::len).sum();
    let per_column = rows.div_ceil(columns);
    let mut split: Vec<Vec<Line>> = vec![Vec::new(); columns];
    let mut column = 0;
    for cell in cells {
        if split[column].len() + cell.len() > per_column && column + 1 < columns {
            column += 1;
        }
        split[column].extend(cell);
    }
    let tallest = split.iter().map(Vec::len).max().unwrap_or(0);
    let height = (tallest as u16 + 6).min(area.height);
    let width = ((key_width + 1 + widest) * columns + 2 * columns) as u16 + 2;
    let rect = layout::centered_size(area, width, height);
    frame.render_widget(Clear, rect);
    let block = Block::bordered()
        .border_type(BorderType::Thick)
        .border_style(theme.border(true, false))
        .title(" Help ");
    let inner = block.inner(rect);
    frame.render_widget(block, rect);
    let [head, body, foot] = Layout::vertical([
        Constraint::Length(2),
        Constraint::Min(1),
        Constraint::Length(2),
    ])
    .areas(inner);
    frame.render_widget(Line::styled(title, theme.header()), head);
    *scroll = (*scroll).min(tallest.saturating_sub(body.height as usize));
    let parts = Layout::horizontal(vec![Constraint::Ratio(1, columns as u32); columns]).split(body);
    for (lines, rect) in split.into_iter().zip(parts.iter()) {
        let shown: Vec<Line> = lines.into_iter().skip(*scroll).collect();
        frame.render_widget(Paragraph::new(shown), *rect);
    }
    let more = tallest > body.height as usize + *scroll;
    let close = match (*scroll > 0, more) {
        (false, false) => "Esc or ? closes this help",
        (false, true) => "↓ more · Esc or ? closes this help",
        (true, true) => "↑/↓ scroll · Esc or ? closes this help",
        (true, false) => "↑ back · Esc or ? closes this help",
    };
    frame.render_widget(
        Paragraph::new(vec![Line::raw(""), Line::styled(close, theme.dim())]),
        foot,
    );
}

/// `q` while the run goes on; while it waits for the user it may also be left resumable.
fn draw_confirm(frame: &mut Frame, area: Rect, waiting: bool, theme: &Theme) {
    let rect = layout::centered(area, 50, 30);
    frame.render_widget(Clear, rect);
    let mut lines = vec![
        Line::styled("The run is still going.", theme.warning()),
        Line::raw(""),
        Line::styled("y  quit and cancel it", theme.text()),
    ];
    if waiting {
        lines.push(Line::styled(
            "d  detach: quit, and `crewtui resume` goes on from where it waits",
            theme.text(),
        ));
    }
    lines.push(Line::styled("n  stay", theme.text()));
    frame.render_widget(
        Paragraph::new(lines)
            .alignment(Alignment::Center)
            .wrap(ratatui::widgets::Wrap { trim: true })
            .block(
                Block::bordered()
                    .border_style(theme.border(true, false))
                    .title(" Quit? "),
            ),
        rect,
    );
}

#[cfg(test)]
mod tests {
    use ratatui::Terminal;
    use ratatui::backend::TestBackend;

    use super::*;
    use crate::engine::run::{AgentInfo, TimelineLimits};
    use crate::engine::{Event, EventKind, HandoffReason};

    #[test]
    fn a_long_path_shows_its_newest_steps() {
        let agents = [AgentInfo {
            id: "a".into(),
            name: "A".into(),
            role: String::new(),
        }];
        let mut run = Run::new("c", &agents, TimelineLimits::default());
        // Long enough to have hung the strip once, which cut one step per loop and put the
        // cut mark back each time.
        for i in 0..2_000 {
            run.apply(&Event {
                seq: i,
                t_ms: i,
                kind: EventKind::Handoff {
                    from: "a".into(),
                    to: format!("agent{i}").into(),
                    reason: HandoffReason::HandoffTarget,
                    signal: None,
                    handoffs: None,
                },
            });
        }
        let mut view = View::new(1);
        let mut terminal = Terminal::new(TestBackend::new(60, 12)).unwrap();
        terminal
            .draw(|f| draw(f, &run, &mut view, &Theme::default_dark(), 0))
            .unwrap();
        let strip: String = (0..60)
            .map(|x| terminal.backend().buffer()[(x, 1)].symbol().to_string())
            .collect();
        assert_eq!(
            strip.trim_end(),
            " path … → agent1996 → agent1997 → agent1998 → agent1999"
        );
    }
}
