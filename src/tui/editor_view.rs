//! Drawing the debugger's editors ([`super::editor`]) over the screen: the call's arguments,
//! the request with a list of its messages beside the one being edited, the re-run form, the
//! breakpoints. Their keys are in the footer, from the key table.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Clear, Paragraph};

use super::editor::{Editor, Field};
use super::layout;
use super::theme::Theme;
use super::title::cut_end;
use crate::engine::Run;
use crate::text::visible_line;

pub fn draw(frame: &mut Frame, area: Rect, run: &Run, editor: &mut Editor, theme: &Theme) {
    match editor {
        Editor::Arguments(e) => {
            let rect = layout::centered(area, 70, 60);
            frame.render_widget(Clear, rect);
            let [field, error] = split_error(rect, e.error.is_some());
            let title = format!(
                " Edit the call to {} — Enter runs it with these arguments ",
                visible_line(&e.tool)
            );
            draw_field(frame, field, &mut e.field, &title, true, theme);
            draw_error(frame, error, e.error.as_deref(), theme);
        }
        Editor::Request(e) => {
            let rect = layout::centered(area, 90, 80);
            frame.render_widget(Clear, rect);
            let [main, error] = split_error(rect, e.error.is_some());
            let list_width = (main.width / 3).clamp(16, 36);
            let [list, text] =
                Layout::horizontal([Constraint::Length(list_width), Constraint::Min(10)])
                    .areas(main);
            let name = run
                .agent(e.agent.as_str())
                .map_or(e.agent.as_str(), |a| a.name.as_str());
            let block = Block::bordered()
                .border_style(theme.border(false, false))
                .title(Span::styled(
                    format!(" Request of {} ", visible_line(name)),
                    theme.title(false),
                ));
            let inner = block.inner(list);
            frame.render_widget(block, list);
            let width = inner.width as usize;
            let first = e
                .selected
                .saturating_sub((inner.height as usize).saturating_sub(1));
            let lines: Vec<Line> = e
                .fields
                .iter()
                .enumerate()
                .skip(first)
                .take(inner.height as usize)
                .map(|(i, f)| {
                    let mark = if i == e.selected { "▶" } else { " " };
                    let changed = if f.changed() { " *" } else { "" };
                    let head = format!("{mark}{}{changed} ", f.label);
                    let style = if i == e.selected {
                        theme.title(true)
                    } else {
                        theme.text()
                    };
                    // The start of each text, so a message can be found without opening it.
                    let room = width.saturating_sub(head.chars().count());
                    let first = f.area.lines().first().map_or("", String::as_str);
                    Line::from(vec![
                        Span::styled(cut_end(&head, width), style),
                        Span::styled(cut_end(&visible_line(first), room), theme.dim()),
                    ])
                })
                .collect();
            frame.render_widget(Paragraph::new(lines), inner);
            let label = e.fields[e.selected].label.clone();
            let title = format!(" {label} — Enter sends the request, changed or not ");
            draw_field(frame, text, &mut e.fields[e.selected], &title, true, theme);
            draw_error(frame, error, e.error.as_deref(), theme);
        }
        Editor::Rerun(f) => {
            let rect = layout::centered(area, 70, 60);
            frame.render_widget(Clear, rect);
            let name = visible_line(f.agent.as_str()).into_owned();
            let title = if f.variants() {
                format!(" Run {name}'s last turn again as variants, side by side ")
            } else {
                format!(" Run {name}'s last turn again, from its start ")
            };
            let block = Block::bordered()
                .border_type(BorderType::Thick)
                .border_style(theme.border(true, false))
                .title(Span::styled(title, theme.title(true)));
            let inner = block.inner(rect);
            frame.render_widget(block, rect);
            let mut rows = vec![Constraint::Min(3)];
            rows.extend(std::iter::repeat_n(
                Constraint::Length(3),
                f.fields.len() - 1,
            ));
            rows.push(Constraint::Length(u16::from(f.error.is_some())));
            let areas = Layout::vertical(rows).split(inner);
            let selected = f.selected;
            for (i, field) in f.fields.iter_mut().enumerate() {
                let label = format!(" {} ", field.label);
                draw_field(frame, areas[i], field, &label, i == selected, theme);
            }
            draw_error(frame, areas[areas.len() - 1], f.error.as_deref(), theme);
        }
        Editor::Breakpoints(b) => {
            let height = (b.specs.len() as u16 + 8).min(area.height);
            let rect = layout::centered_size(area, 64.min(area.width), height);
            frame.render_widget(Clear, rect);
            let block = Block::bordered()
                .border_type(BorderType::Thick)
                .border_style(theme.border(true, false))
                .title(Span::styled(" Breakpoints ", theme.title(true)));
            let inner = block.inner(rect);
            frame.render_widget(block, rect);
            let [typed, help, list, error] = Layout::vertical([
                Constraint::Length(3),
                Constraint::Length(1),
                Constraint::Min(1),
                Constraint::Length(u16::from(b.error.is_some())),
            ])
            .areas(inner);
            draw_field(frame, typed, &mut b.typed, " add ", true, theme);
            frame.render_widget(
                Line::styled(
                    cut_end(
                        " agent:ID model[:ID] tool[:NAME] signal:SIG failure tokens:N cost:USD",
                        help.width as usize,
                    ),
                    theme.dim(),
                ),
                help,
            );
            let chosen = b.chosen();
            let lines: Vec<Line> = if b.specs.is_empty() {
                vec![Line::styled(" none set", theme.dim())]
            } else {
                b.specs
                    .iter()
                    .enumerate()
                    .map(|(i, spec)| {
                        let (mark, style) = if Some(i) == chosen {
                            ("▶ ", theme.title(true))
                        } else {
                            ("  ", theme.text())
                        };
                        Line::styled(format!("{mark}{}", visible_line(spec)), style)
                    })
                    .collect()
            };
            frame.render_widget(Paragraph::new(lines), list);
            draw_error(frame, error, b.error.as_deref(), theme);
        }
    }
}

/// The rect split into the editor and a line under it for an error, when there is one.
fn split_error(rect: Rect, error: bool) -> [Rect; 2] {
    Layout::vertical([Constraint::Min(3), Constraint::Length(u16::from(error))]).areas(rect)
}

fn draw_error(frame: &mut Frame, area: Rect, error: Option<&str>, theme: &Theme) {
    if let Some(error) = error {
        let text = cut_end(&format!(" {}", visible_line(error)), area.width as usize);
        frame.render_widget(
            Line::styled(text, theme.error().add_modifier(Modifier::REVERSED)),
            area,
        );
    }
}

fn draw_field(
    frame: &mut Frame,
    area: Rect,
    field: &mut Field,
    title: &str,
    active: bool,
    theme: &Theme,
) {
    let block = Block::bordered()
        .border_type(if active {
            BorderType::Thick
        } else {
            BorderType::Rounded
        })
        .border_style(theme.border(active, false))
        .title(Span::styled(title.to_string(), theme.title(active)));
    field.area.set_block(block);
    field.area.set_style(theme.input());
    field.area.set_cursor_line_style(Style::default());
    // Only the field being typed in shows a cursor.
    let cursor = if active {
        Style::default().add_modifier(Modifier::REVERSED)
    } else {
        Style::default()
    };
    field.area.set_cursor_style(cursor);
    frame.render_widget(&field.area, area);
}
