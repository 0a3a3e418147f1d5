//! What a stopped agent's pane shows at its foot while its gate waits: where it stopped and
//! why (the breakpoint spec, `step`, `approval`, `hold`), what waits there (a tool call and
//! its arguments, a model call's size, the turn's input, the failure), and for the focused
//! pane the keys that apply, from the key table.

use ratatui::style::Modifier;
use ratatui::text::Line;

use super::keys::{self, Situation};
use super::theme::Theme;
use super::title::cut_end;
use crate::engine::gate::GateKind;
use crate::engine::run::OpenGate;
use crate::text::{visible, visible_line};

/// The panel's lines for `gate`, at most `room` of them, each cut to `width`.
pub fn lines(
    gate: &OpenGate,
    focused: bool,
    situation: Situation,
    width: usize,
    room: usize,
    theme: &Theme,
) -> Vec<Line<'static>> {
    if room == 0 || width == 0 {
        return Vec::new();
    }
    let head = match gate.reason.as_str() {
        "approval" => format!("◆ waits for approval {}", gate.place()),
        "hold" => format!("◆ held {} · h lets it go", gate.place()),
        reason => format!("◆ stopped {} · {}", gate.place(), visible_line(reason)),
    };
    // Where and why, and the keys, wrap: a narrow pane still says all of it.
    let head = wrapped(&visible_line(&head), width);
    let keys = if focused {
        wrapped(&format!("  {}", keys::gate_hints(situation)), width)
    } else {
        Vec::new()
    };
    let head_rows = head.len().min(room);
    let mut out: Vec<Line<'static>> = head
        .into_iter()
        .take(head_rows)
        .map(|l| Line::styled(l, theme.warning().add_modifier(Modifier::REVERSED)))
        .collect();
    let body_room = room.saturating_sub(head_rows + keys.len());
    let body = what_waits(gate);
    let cut = body.len() > body_room;
    for (i, text) in body.into_iter().take(body_room).enumerate() {
        let text = if cut && i + 1 == body_room {
            "  …".to_string()
        } else {
            format!("  {text}")
        };
        out.push(Line::styled(cut_end(&text, width), theme.tool()));
    }
    for line in keys {
        if out.len() < room {
            out.push(Line::styled(line, theme.dim()));
        }
    }
    out
}

/// `text` wrapped at `width` columns, a string per line.
fn wrapped(text: &str, width: usize) -> Vec<String> {
    let mut ranges = Vec::new();
    super::wrap::wrap_ranges(text, width, 0, &mut ranges);
    ranges
        .into_iter()
        .map(|(from, to)| text[from..to].to_string())
        .collect()
}

/// What waits at the gate, a line each, control characters made visible.
fn what_waits(gate: &OpenGate) -> Vec<String> {
    let d = &gate.detail;
    let text = |key: &str| d.get(key).and_then(|v| v.as_str()).unwrap_or_default();
    match gate.kind {
        GateKind::ToolCall => {
            let args = d.get("arguments").cloned().unwrap_or_default();
            let pretty = serde_json::to_string_pretty(&args).unwrap_or_default();
            let mut lines = vec![format!("{} with", visible_line(text("tool")))];
            lines.extend(visible(&pretty).lines().map(|l| format!("  {l}")));
            lines
        }
        GateKind::ModelCall => {
            let messages = d
                .get("messages")
                .and_then(|m| m.as_array())
                .map_or(0, Vec::len);
            let model = match text("model") {
                "" => String::new(),
                model => format!(" to {}", visible_line(model)),
            };
            let plural = if messages == 1 { "" } else { "s" };
            vec![format!(
                "call {}{model} · {messages} message{plural} · i inspects it",
                d.get("call").and_then(|c| c.as_u64()).unwrap_or(0) + 1
            )]
        }
        GateKind::Turn => vec![format!("input: {}", first_line(text("input")))],
        GateKind::Failure => vec![first_line(text("error"))],
        GateKind::Signal | GateKind::Budget => Vec::new(),
    }
}

fn first_line(text: &str) -> String {
    visible_line(text.lines().next().unwrap_or_default()).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::gate::GateId;

    fn texts(lines: &[Line]) -> Vec<String> {
        lines.iter().map(|l| l.to_string()).collect()
    }

    #[test]
    fn a_tool_gate_shows_the_call_and_its_keys_within_its_room() {
        let gate = OpenGate {
            gate: GateId::from("g2"),
            agent: "risks".into(),
            kind: GateKind::ToolCall,
            reason: "tool:fault".into(),
            detail: serde_json::json!({
                "tool": "fault", "call_id": "c1",
                "arguments": {"mode": "panic", "message": "load model crashed\u{1b}[2J"},
            }),
            t_ms: 0,
        };
        let situation = Situation {
            stopped: true,
            tool_gate: true,
            editable: true,
            ..Situation::default()
        };
        let theme = Theme::default_dark();
        let all = texts(&lines(&gate, true, situation, 80, 20, &theme));
        assert_eq!(all[0], "◆ stopped before calling fault · tool:fault");
        assert_eq!(all[1], "  fault with");
        assert!(
            all.iter().any(|l| l.contains("\"mode\": \"panic\"")),
            "{all:?}"
        );
        assert!(
            all.iter().all(|l| !l.contains('\u{1b}')),
            "escapes are shown, never sent: {all:?}"
        );
        assert_eq!(
            all.last().unwrap(),
            "  space continue · s step · d deny · E edit"
        );
        // Short of room, the arguments are cut and the keys stay.
        let short = texts(&lines(&gate, true, situation, 80, 4, &theme));
        assert_eq!(short.len(), 4);
        assert_eq!(short[2], "  …");
        assert!(short[3].contains("d deny"));
        // An unfocused pane leaves the keys to the focused one.
        let other = texts(&lines(&gate, false, situation, 80, 20, &theme));
        assert!(!other.iter().any(|l| l.contains("space")), "{other:?}");
    }
}
