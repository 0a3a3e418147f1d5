//! The inspector overlay: exactly what the focused agent's model was last sent (system prompt,
//! messages, tool definitions) and its tool calls with their raw arguments and results.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Clear, Paragraph};

use super::layout;
use super::pane::LineStyle;
use super::render::line_style;
use super::theme::Theme;
use super::wrap::wrap;
use crate::engine::run::{AgentRun, ToolEnd};
use crate::engine::{Message, Run};
use crate::text::visible;

/// The inspector's text for one agent: what its model was sent, and its tool calls raw.
pub fn lines(agent: &AgentRun, width: usize) -> Vec<(String, LineStyle)> {
    let mut out: Vec<(String, LineStyle)> = Vec::new();
    let mut push = |text: &str, style: LineStyle| {
        for line in wrap(&visible(text), width) {
            out.push((line, style));
        }
    };
    match agent.last_request() {
        None => push("No model request yet.", LineStyle::Dim),
        Some(req) => {
            push(&format!("Model: {}", req.model), LineStyle::Tool);
            push("", LineStyle::Text);
            push("System prompt", LineStyle::Notice);
            push(&req.system_prompt, LineStyle::Text);
            push("", LineStyle::Text);
            push(
                &format!("Messages ({})", req.messages.len()),
                LineStyle::Notice,
            );
            for message in req.messages.iter() {
                match message {
                    Message::User { content } => push(&format!("user: {content}"), LineStyle::Text),
                    Message::Assistant {
                        content,
                        tool_calls,
                    } => {
                        push(&format!("assistant: {content}"), LineStyle::Text);
                        for call in tool_calls {
                            push(
                                &format!(
                                    "  tool call {} {}({})",
                                    call.id, call.name, call.arguments
                                ),
                                LineStyle::Tool,
                            );
                        }
                    }
                    Message::Tool {
                        call_id,
                        name,
                        content,
                    } => push(
                        &format!("tool {name} [{call_id}]: {content}"),
                        LineStyle::ToolOutput,
                    ),
                }
            }
            push("", LineStyle::Text);
            push(&format!("Tools ({})", req.tools.len()), LineStyle::Notice);
            for tool in &req.tools {
                push(
                    &format!("{} — {}", tool.name, tool.description),
                    LineStyle::Tool,
                );
                push(
                    &format!("  parameters: {}", tool.parameters),
                    LineStyle::Dim,
                );
            }
        }
    }
    push("", LineStyle::Text);
    push("Tool calls", LineStyle::Notice);
    let mut any = false;
    for run in agent.turns().flat_map(|t| t.tools.iter()) {
        any = true;
        push(
            &format!(
                "{} [{}] arguments: {}",
                run.tool, run.call_id, run.arguments
            ),
            LineStyle::Tool,
        );
        match &run.end {
            None => push("  running", LineStyle::Dim),
            Some((
                _,
                ToolEnd::Result {
                    output,
                    elapsed_ms,
                    truncated,
                },
            )) => {
                push(
                    &format!("  result ({elapsed_ms} ms, truncated: {truncated}):"),
                    LineStyle::Dim,
                );
                push(output, LineStyle::ToolOutput);
            }
            Some((_, ToolEnd::Failed { kind, error })) => {
                push(&format!("  failed ({kind:?}): {error}"), LineStyle::Error)
            }
        }
    }
    if !any {
        push("none", LineStyle::Dim);
    }
    out
}

/// Draws the inspector and returns the scroll offset clamped to its text.
pub fn draw(
    frame: &mut Frame,
    area: Rect,
    run: &Run,
    focus: usize,
    top: usize,
    theme: &Theme,
) -> usize {
    let rect = layout::centered(area, 92, 90);
    let Some(agent) = run.agents().get(focus) else {
        return 0;
    };
    let block = Block::bordered()
        .border_type(BorderType::Thick)
        .border_style(theme.border(true, false))
        .title(Span::styled(
            format!(" Inspector · {} ", visible(&agent.name)),
            theme.title(true),
        ))
        .title_bottom(Line::styled(
            " ↑↓ PgUp PgDn scroll · Esc closes ",
            theme.dim(),
        ));
    let inner = block.inner(rect);
    let lines = lines(agent, inner.width.max(1) as usize);
    let top = top.min(lines.len().saturating_sub(inner.height as usize));
    let shown: Vec<Line> = lines
        .into_iter()
        .skip(top)
        .take(inner.height as usize)
        .map(|(t, s)| Line::styled(t, line_style(s, theme)))
        .collect();
    frame.render_widget(Clear, rect);
    frame.render_widget(block, rect);
    frame.render_widget(Paragraph::new(shown), inner);
    top
}
