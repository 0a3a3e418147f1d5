//! Drawing: a function of the App, the View and the theme. Nothing here changes what the run
//! is; it only fills wrap caches and records where panes went.

use ratatui::Frame;
use ratatui::layout::{Alignment, Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Borders, Clear, Paragraph};
use unicode_width::UnicodeWidthStr;

use super::inspector;
use super::keys::{self, KeyMode};
use super::layout::{self, Body};
use super::pane::LineStyle;
use super::theme::{AgentState, Theme};
use super::view::{InputPurpose, Mode, Overlay, Scroll, Timeline, View};
use crate::engine::Run;
use crate::engine::run::{AgentRun, RouteStep};

/// Below this the screen shows only a "too small" notice.
pub const MIN_WIDTH: u16 = 30;
pub const MIN_HEIGHT: u16 = 8;

/// Draws one frame. `now_ms` is the session time to show (live clock or replay position).
pub fn draw(frame: &mut Frame, run: &Run, view: &mut View, theme: &Theme, now_ms: u64) {
    let area = frame.area();
    view.sync_panes(run);
    view.drawn.clear();
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
    let situation = keys::Situation {
        paused: run.pause().is_some(),
    };
    draw_footer(frame, footer, view, situation, theme);
    match view.overlay {
        Overlay::None => {}
        Overlay::Help => draw_help(frame, area, view.key_mode(), theme),
        Overlay::Inspector(top) => {
            let top = inspector::draw(frame, area, run, view.focus, top, theme);
            view.overlay = Overlay::Inspector(top);
        }
        Overlay::ConfirmQuit => draw_confirm(frame, area, theme),
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
    let tokens = run.tokens();
    let (tin, tout) = (tokens.prompt_tokens, tokens.completion_tokens);
    let sep = || Span::styled(" │ ", theme.dim());
    let mut spans = vec![
        Span::styled(" crewtui", theme.header()),
        sep(),
        Span::styled(crate::text::visible(&run.crew), theme.title(false)),
    ];
    if !run.session_id.is_empty() {
        spans.extend([
            sep(),
            Span::styled(crate::text::visible(&run.session_id), theme.dim()),
        ]);
    }
    spans.extend([
        sep(),
        Span::styled(clock(now_ms), theme.text()),
        sep(),
        Span::styled(
            format!("{} in / {} out", count(tin), count(tout)),
            theme.text(),
        ),
        sep(),
    ]);
    spans.push(match run.finish() {
        Some(finish) => Span::styled(
            crate::text::visible(&finish.describe()),
            theme.outcome(finish.outcome),
        ),
        None if run.pause().is_some() => Span::styled("paused", theme.state(AgentState::Paused)),
        None if run.started => Span::styled("running", theme.state(AgentState::Streaming)),
        None => Span::styled("waiting for input", theme.dim()),
    });
    frame.render_widget(Line::from(spans), area);
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
    for step in run.route().rev() {
        let label = match step {
            RouteStep::Agent(id) => crate::text::visible(id.as_str()),
            RouteStep::Group { id, size } => {
                format!("[{} ×{size}]", crate::text::visible(id.as_str()))
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
    if view.zoomed {
        view.columns = 1;
        draw_pane(frame, area, run, view, view.focus, theme, now_ms);
        return;
    }
    let mut order: Vec<usize> = Vec::with_capacity(run.agents().len());
    let mut together = 1;
    if let Some(group) = run.running_group() {
        order.extend(
            group
                .members
                .iter()
                .filter_map(|m| run.agent_index(m.as_str())),
        );
        together = order.len().max(1);
    }
    for i in 0..run.agents().len() {
        if !order.contains(&i) {
            order.push(i);
        }
    }
    match layout::arrange(area, &order, together, view.focus) {
        Body::Grid { panes, columns } => {
            view.columns = columns;
            for (pane, rect) in panes {
                draw_pane(frame, rect, run, view, pane, theme, now_ms);
            }
        }
        Body::Compact { list, pane } => {
            view.columns = 1;
            draw_list(frame, list, run, view.focus, theme);
            draw_pane(frame, pane.1, run, view, pane.0, theme, now_ms);
        }
    }
}

/// The state and its time: how long it has lasted while it goes on, how long the turn took
/// once it is over.
fn badge(pane: &AgentRun, now_ms: u64) -> String {
    let seconds = |ms: u64| ms as f64 / 1000.0;
    match pane.state {
        AgentState::Idle => " idle ".to_string(),
        AgentState::Done | AgentState::Failed | AgentState::Cancelled => format!(
            " {} {:.1}s ",
            pane.state.label(),
            seconds(pane.since_ms.saturating_sub(pane.turn_started_ms))
        ),
        state => format!(
            " {} {:.1}s ",
            state.label(),
            seconds(now_ms.saturating_sub(pane.since_ms))
        ),
    }
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
    index: usize,
    theme: &Theme,
    now_ms: u64,
) {
    let focused = index == view.focus;
    let Some(pane) = run.agents().get(index) else {
        return;
    };
    view.drawn.push((index, area));
    let badge = badge(pane, now_ms);
    let name = crate::text::visible(&pane.name);
    let role = crate::text::visible(&pane.role);
    let mut title = vec![Span::styled(format!(" {name} "), theme.title(focused))];
    let room = area.width as usize;
    let used = name.chars().count() + badge.chars().count() + 4;
    // The role is the first thing to go when the title runs out of room.
    if !role.is_empty() && used + role.chars().count() + 3 <= room {
        title.push(Span::styled(format!("· {role} "), theme.dim()));
    }
    let tokens = match pane.usage {
        Some(u) => format!(
            " {} in · {} out ",
            count(u.prompt_tokens),
            count(u.completion_tokens)
        ),
        // Said only once a reply has ended without figures; never a made-up count.
        _ if matches!(
            pane.state,
            AgentState::Done | AgentState::Failed | AgentState::Cancelled
        ) =>
        {
            " tokens unknown ".to_string()
        }
        _ => String::new(),
    };
    let mut block = Block::default()
        .borders(Borders::ALL)
        .border_type(if focused {
            BorderType::Thick
        } else {
            BorderType::Rounded
        })
        .border_style(theme.border(focused, pane.failed))
        .title(Line::from(title))
        .title(
            Line::from(Span::styled(
                badge,
                theme.state(pane.state).add_modifier(Modifier::REVERSED),
            ))
            .alignment(Alignment::Right),
        )
        .title_bottom(Line::from(Span::styled(tokens, theme.dim())).alignment(Alignment::Right));
    let scroll = view.scroll.get(index).copied().unwrap_or(Scroll::Follow);
    if scroll != Scroll::Follow {
        block = block.title_bottom(Line::from(Span::styled(
            " ↑ scrolled · End follows ",
            theme.warning(),
        )));
    }
    let inner = block.inner(area);
    frame.render_widget(block, area);
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
    let lines: Vec<Line> = lines
        .into_iter()
        .map(|(text, style)| Line::styled(text, line_style(style, theme)))
        .collect();
    frame.render_widget(Paragraph::new(lines), inner);
}

fn draw_list(frame: &mut Frame, area: Rect, run: &Run, focus: usize, theme: &Theme) {
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
            Line::from(vec![
                Span::styled(
                    format!("{marker}{} ", crate::text::visible(&p.name)),
                    name_style,
                ),
                Span::styled(p.state.label(), theme.state(p.state)),
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
    let line = match &view.notice {
        Some(notice) => Line::styled(format!(" {notice}"), theme.warning()),
        None => Line::styled(
            keys::hints(view.key_mode(), area.width as usize, situation),
            theme.dim(),
        ),
    };
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
    let right = format!(
        " {} / {} · event {} / {} ",
        clock(t.t_ms),
        clock(t.total_ms),
        t.position,
        t.total
    );
    let left = format!(" {state} {speed:>4} ");
    let bar_width =
        (area.width as usize).saturating_sub(left.chars().count() + right.chars().count());
    let filled = (bar_width * t.position)
        .checked_div(t.total)
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

fn draw_help(frame: &mut Frame, area: Rect, mode: KeyMode, theme: &Theme) {
    let keys: Vec<(&str, &str)> = keys::help(mode).collect();
    let widest = keys
        .iter()
        .map(|(_, what)| 22 + what.chars().count())
        .max()
        .unwrap_or(40);
    let rect = layout::centered_size(area, widest as u16 + 2, keys.len() as u16 + 6);
    let title = match mode {
        KeyMode::Live => "Keys",
        KeyMode::Input => "Keys while you type",
        KeyMode::Replay => "Keys of the replay",
    };
    let mut lines = vec![Line::styled(title, theme.header()), Line::raw("")];
    for (key, what) in keys {
        lines.push(Line::from(vec![
            Span::styled(format!("{key:<22}"), theme.title(false)),
            Span::styled(what, theme.text()),
        ]));
    }
    lines.push(Line::raw(""));
    lines.push(Line::styled("Esc or ? closes this help", theme.dim()));
    frame.render_widget(Clear, rect);
    frame.render_widget(
        Paragraph::new(lines).block(
            Block::bordered()
                .border_type(BorderType::Thick)
                .border_style(theme.border(true, false))
                .title(" Help "),
        ),
        rect,
    );
}

fn draw_confirm(frame: &mut Frame, area: Rect, theme: &Theme) {
    let rect = layout::centered(area, 50, 30);
    frame.render_widget(Clear, rect);
    frame.render_widget(
        Paragraph::new(vec![
            Line::styled("The run is still going.", theme.warning()),
            Line::raw(""),
            Line::styled("Quit and cancel it? y / n", theme.text()),
        ])
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
