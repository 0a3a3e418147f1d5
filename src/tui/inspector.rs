//! The inspector overlay: exactly what the focused agent's model was sent in any of its
//! requests (system prompt, messages, tool definitions; the newest first shown, ←/→ between
//! them), what it answered, and the agent's tool calls with their raw arguments and results.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Clear, Paragraph};

use super::keys::{self, KeyMode};
use super::layout;
use super::pane::LineStyle;
use super::render::line_style;
use super::search;
use super::theme::Theme;
use super::view::{Overlay, View};
use super::wrap::wrap;
use crate::engine::run::{AgentRun, ModelCall, ToolEnd};
use crate::engine::{Message, Run};
use crate::text::{visible, visible_line};

/// The inspector's text for one agent: what its model was sent in request `request` (the
/// newest for `None`) and what it answered, and its tool calls raw.
pub fn lines(agent: &AgentRun, request: Option<usize>, width: usize) -> Vec<(String, LineStyle)> {
    let mut out: Vec<(String, LineStyle)> = Vec::new();
    let mut push = |text: &str, style: LineStyle| {
        for line in wrap(&visible(text), width) {
            out.push((line, style));
        }
    };
    let count = agent.call_count();
    let index = request.unwrap_or(count.saturating_sub(1));
    // The newest request is kept whole; an older one is rebuilt from what each added.
    let rebuilt = match request {
        Some(i) if i + 1 < count => agent.request(i),
        Some(_) | None => None,
    };
    let shown = rebuilt.as_ref().or_else(|| agent.last_request());
    match shown {
        None => push("No model request yet.", LineStyle::Dim),
        Some(req) => {
            push(
                &format!("Request {} of {count} · model {}", index + 1, req.model),
                LineStyle::Tool,
            );
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
            push("", LineStyle::Text);
            push("Answer", LineStyle::Notice);
            match agent.call(index) {
                Some(ModelCall {
                    reply: Some(reply), ..
                }) => {
                    let text = if reply.content.is_empty() {
                        "(no text)"
                    } else {
                        &reply.content
                    };
                    push(text, LineStyle::Text);
                    for call in &reply.tool_calls {
                        push(
                            &format!("  tool call {} {}({})", call.id, call.name, call.arguments),
                            LineStyle::Tool,
                        );
                    }
                }
                Some(call) if !call.partial.is_empty() => {
                    push(&call.partial, LineStyle::Text);
                    push("(not finished)", LineStyle::Dim);
                }
                Some(_) | None => push("none yet", LineStyle::Dim),
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

/// Draws the inspector for `view`'s focused agent, keeping its scroll offset within its text
/// and where its text went.
pub fn draw(frame: &mut Frame, area: Rect, run: &Run, view: &mut View, theme: &Theme) {
    let Overlay::Inspector(top) = view.overlay else {
        return;
    };
    let rect = layout::centered(area, 92, 90);
    let Some(agent) = run.agents().get(view.focus) else {
        return;
    };
    let hints = keys::hints(
        KeyMode::Inspector,
        rect.width.saturating_sub(4) as usize,
        Default::default(),
    );
    let block = Block::bordered()
        .border_type(BorderType::Thick)
        .border_style(theme.border(true, false))
        .title(Span::styled(
            format!(" Inspector · {} ", visible_line(&agent.name)),
            theme.title(true),
        ))
        .title_bottom(Line::styled(format!("{hints} "), theme.dim()));
    let inner = block.inner(rect);
    view.inspector_area = inner;
    let lines = lines(agent, view.inspected, inner.width.max(1) as usize);
    let top = top.min(lines.len().saturating_sub(inner.height as usize));
    view.overlay = Overlay::Inspector(top);
    let found = view.search.as_ref().filter(|s| !s.query.is_empty());
    let focus = view.focus;
    let shown: Vec<Line> = lines
        .into_iter()
        .enumerate()
        .skip(top)
        .take(inner.height as usize)
        .map(|(n, (t, s))| match found {
            Some(search) => {
                let current = search
                    .at_in(focus)
                    .filter(|(line, _)| *line == n)
                    .map(|(_, at)| at);
                search::highlighted(t, line_style(s, theme), &search.query, current)
            }
            None => Line::styled(t, line_style(s, theme)),
        })
        .collect();
    frame.render_widget(Clear, rect);
    frame.render_widget(block, rect);
    frame.render_widget(Paragraph::new(shown), inner);
}
