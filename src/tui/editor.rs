//! The debugger's editors, as state: a tool call's arguments, a model request waiting at its
//! gate, a re-run's settings, the breakpoints. Each takes the keys while it is open and ends
//! in the commands it stands for; drawing them is [`super::editor_view`]'s.
//!
//! Keys follow the input box: Enter sends, Alt-Enter starts a new line, Esc closes without
//! sending (a gate keeps waiting).

use crossterm::event::KeyEvent;
use ratatui_textarea::{CursorMove, TextArea};

use super::keys::{KeyAction, KeyMode};
use crate::engine::gate::{BreakSpec, GateId};
use crate::engine::run::OpenGate;
use crate::engine::{AgentId, CallId, Command, Message};

/// An editor open over the screen.
pub enum Editor {
    Arguments(ArgumentsEditor),
    Request(RequestEditor),
    Rerun(RerunForm),
    Breakpoints(BreakpointEditor),
}

/// What a key did to an editor.
#[derive(Debug, PartialEq)]
pub enum Outcome {
    Stay,
    Close,
    /// Send these, in order, and close.
    Send(Vec<Command>),
}

/// One edited text, with what it held when the editor opened.
pub struct Field {
    pub label: String,
    pub area: TextArea<'static>,
    original: String,
}

impl Field {
    fn new(label: impl Into<String>, text: &str) -> Self {
        let mut area = TextArea::new(text.lines().map(str::to_string).collect());
        if area.lines().is_empty() {
            area = TextArea::default();
        }
        area.move_cursor(CursorMove::Bottom);
        area.move_cursor(CursorMove::End);
        Self {
            label: label.into(),
            area,
            original: text.to_string(),
        }
    }

    pub fn text(&self) -> String {
        self.area.lines().join("\n")
    }

    /// Whether the text differs from what the editor opened with (a trailing newline of the
    /// original is not an edit: the editor holds lines).
    pub fn changed(&self) -> bool {
        self.text() != self.original.trim_end_matches('\n')
    }
}

impl Editor {
    pub fn key_mode(&self) -> KeyMode {
        match self {
            Editor::Breakpoints(_) => KeyMode::Breakpoints,
            Editor::Arguments(_) | Editor::Request(_) | Editor::Rerun(_) => KeyMode::Editor,
        }
    }

    /// A key, and what the mode's table says it does (`None`: typing).
    pub fn on_key(&mut self, action: Option<KeyAction>, key: KeyEvent) -> Outcome {
        match action {
            Some(KeyAction::CloseOverlay) => return Outcome::Close,
            Some(KeyAction::Send) => return self.send(),
            _ => {}
        }
        let field = match self {
            Editor::Arguments(e) => &mut e.field,
            Editor::Request(e) => {
                match action {
                    Some(KeyAction::NextField) => e.selected = (e.selected + 1) % e.fields.len(),
                    Some(KeyAction::PreviousField) => {
                        e.selected = (e.selected + e.fields.len() - 1) % e.fields.len();
                    }
                    _ => {}
                }
                &mut e.fields[e.selected]
            }
            Editor::Rerun(f) => {
                let n = f.fields.len();
                match action {
                    Some(KeyAction::NextField) => f.selected = (f.selected + 1) % n,
                    Some(KeyAction::PreviousField) => f.selected = (f.selected + n - 1) % n,
                    _ => {}
                }
                &mut f.fields[f.selected]
            }
            Editor::Breakpoints(b) => {
                match action {
                    Some(KeyAction::FocusUp) => b.selected = b.selected.saturating_sub(1),
                    Some(KeyAction::FocusDown) => b.selected += 1,
                    Some(KeyAction::RemoveBreakpoint) => return b.remove(),
                    _ => {}
                }
                &mut b.typed
            }
        };
        match action {
            Some(KeyAction::NewLine) => field.area.insert_newline(),
            Some(_) => {}
            None => {
                field.area.input(key);
            }
        }
        Outcome::Stay
    }

    fn send(&mut self) -> Outcome {
        let sent = match self {
            Editor::Arguments(e) => e.send(),
            Editor::Request(e) => Ok(e.send()),
            Editor::Rerun(f) => f.send(),
            Editor::Breakpoints(b) => b.add(),
        };
        match sent {
            Ok(commands) => Outcome::Send(commands),
            Err(error) => {
                self.set_error(error);
                Outcome::Stay
            }
        }
    }

    fn set_error(&mut self, error: String) {
        let slot = match self {
            Editor::Arguments(e) => &mut e.error,
            Editor::Request(e) => &mut e.error,
            Editor::Rerun(f) => &mut f.error,
            Editor::Breakpoints(b) => &mut b.error,
        };
        *slot = Some(error);
    }
}

/// A tool call waiting at its gate, its arguments as pretty JSON to edit and run.
pub struct ArgumentsEditor {
    pub agent: AgentId,
    pub call_id: CallId,
    pub tool: String,
    pub field: Field,
    pub error: Option<String>,
}

impl ArgumentsEditor {
    /// For the tool call `gate` waits at; `None` when it is not one.
    pub fn open(gate: &OpenGate) -> Option<Self> {
        let call_id = gate.detail.get("call_id")?.as_str()?;
        let tool = gate.detail.get("tool")?.as_str()?;
        let arguments = gate
            .detail
            .get("arguments")
            .cloned()
            .unwrap_or(serde_json::Value::Null);
        let pretty = serde_json::to_string_pretty(&arguments).unwrap_or_default();
        Some(Self {
            agent: gate.agent.clone(),
            call_id: CallId::from(call_id),
            tool: tool.to_string(),
            field: Field::new("arguments", &pretty),
            error: None,
        })
    }

    fn send(&self) -> Result<Vec<Command>, String> {
        let text = self.field.text();
        let arguments: serde_json::Value = serde_json::from_str(&text)
            .map_err(|e| format!("not JSON: {e} (line {}, column {})", e.line(), e.column()))?;
        if !arguments.is_object() {
            return Err("the arguments must be a JSON object: { ... }".to_string());
        }
        Ok(vec![Command::EditCall {
            call_id: self.call_id.clone(),
            arguments,
        }])
    }
}

/// A model call waiting at its gate: its system prompt and each message, one field each.
pub struct RequestEditor {
    pub agent: AgentId,
    pub gate: GateId,
    /// The system prompt first, then the messages in order.
    pub fields: Vec<Field>,
    pub selected: usize,
    messages: Vec<Message>,
    pub error: Option<String>,
}

impl RequestEditor {
    /// For the model call `gate` waits at; `None` when it is not one (or its request is not
    /// in the gate's detail).
    pub fn open(gate: &OpenGate) -> Option<Self> {
        let messages: Vec<Message> =
            serde_json::from_value(gate.detail.get("messages")?.clone()).ok()?;
        let system = gate
            .detail
            .get("system_prompt")
            .and_then(|v| v.as_str())
            .unwrap_or_default();
        let mut fields = vec![Field::new("system prompt", system)];
        for (i, m) in messages.iter().enumerate() {
            let n = i + 1;
            let (label, content) = match m {
                Message::User { content } => (format!("#{n} user"), content),
                Message::Assistant {
                    content,
                    tool_calls,
                } if tool_calls.is_empty() => (format!("#{n} assistant"), content),
                Message::Assistant {
                    content,
                    tool_calls,
                } => {
                    let names: Vec<&str> = tool_calls.iter().map(|c| c.name.as_str()).collect();
                    (
                        format!("#{n} assistant, calls {}", names.join(", ")),
                        content,
                    )
                }
                Message::Tool { name, content, .. } => (format!("#{n} tool {name}"), content),
            };
            fields.push(Field::new(label, content));
        }
        // The newest message is the one most often worth changing.
        let selected = fields.len() - 1;
        Some(Self {
            agent: gate.agent.clone(),
            gate: gate.gate.clone(),
            fields,
            selected,
            messages,
            error: None,
        })
    }

    /// The edit as a command: only what changed; nothing changed sends the request as it was.
    fn send(&self) -> Vec<Command> {
        let system_prompt = self.fields[0].changed().then(|| self.fields[0].text());
        let messages = self.fields[1..].iter().any(Field::changed).then(|| {
            self.messages
                .iter()
                .zip(&self.fields[1..])
                .map(|(message, field)| with_content(message, field.text()))
                .collect()
        });
        if system_prompt.is_none() && messages.is_none() {
            return vec![Command::Continue {
                gate: Some(self.gate.clone()),
            }];
        }
        vec![Command::EditRequest {
            gate: self.gate.clone(),
            system_prompt,
            messages,
        }]
    }
}

/// `message` with its text replaced; its role, tool calls and call id stay.
fn with_content(message: &Message, text: String) -> Message {
    match message {
        Message::User { .. } => Message::User { content: text },
        Message::Assistant { tool_calls, .. } => Message::Assistant {
            content: text,
            tool_calls: tool_calls.clone(),
        },
        Message::Tool { call_id, name, .. } => Message::Tool {
            call_id: call_id.clone(),
            name: name.clone(),
            content: text,
        },
    }
}

/// `r` / `R`: run an agent's last turn again, optionally with another system prompt or
/// temperature, once or as variants.
pub struct RerunForm {
    pub agent: AgentId,
    /// System prompt, temperature, and (for variants) how many.
    pub fields: Vec<Field>,
    pub selected: usize,
    /// The gate the session waits at right after the turn: continuing it lets the re-run
    /// begin.
    pub after: Option<GateId>,
    pub error: Option<String>,
    prompt: String,
}

impl RerunForm {
    /// The form for `agent`, whose last request had `prompt` as its system prompt; `variants`
    /// asks how many to run.
    pub fn new(agent: AgentId, prompt: &str, variants: bool, after: Option<GateId>) -> Self {
        let mut fields = vec![
            Field::new("system prompt", prompt),
            Field::new("temperature (empty: the agent's own)", ""),
        ];
        if variants {
            fields.push(Field::new("variants (2 to 4)", "2"));
        }
        Self {
            agent,
            fields,
            selected: 0,
            after,
            error: None,
            prompt: prompt.to_string(),
        }
    }

    pub fn variants(&self) -> bool {
        self.fields.len() > 2
    }

    fn send(&self) -> Result<Vec<Command>, String> {
        let temperature = match self.fields[1].text().trim() {
            "" => None,
            t => match t.parse::<f64>() {
                Ok(t) if (0.0..=2.0).contains(&t) => Some(t),
                _ => return Err(format!("temperature `{t}`: give a number from 0 to 2")),
            },
        };
        let variants = match self.fields.get(2) {
            None => None,
            Some(field) => match field.text().trim().parse::<u32>() {
                Ok(n) if (2..=4).contains(&n) => Some(n),
                _ => {
                    return Err(format!(
                        "variants `{}`: give 2, 3 or 4",
                        field.text().trim()
                    ));
                }
            },
        };
        let prompt = self.fields[0].text();
        let system_prompt = (prompt != self.prompt.trim_end_matches('\n')).then_some(prompt);
        let mut commands = vec![Command::Rerun {
            agent: self.agent.clone(),
            variants,
            system_prompt,
            temperature,
        }];
        if let Some(gate) = &self.after {
            commands.push(Command::Continue {
                gate: Some(gate.clone()),
            });
        }
        Ok(commands)
    }
}

/// `b`: the breakpoints set, and a line to type a new one.
pub struct BreakpointEditor {
    pub typed: Field,
    /// The breakpoints as the run last recorded them.
    pub specs: Vec<String>,
    pub selected: usize,
    pub error: Option<String>,
}

impl BreakpointEditor {
    pub fn new(specs: &[String]) -> Self {
        Self {
            typed: Field::new("add", ""),
            specs: specs.to_vec(),
            selected: 0,
            error: None,
        }
    }

    /// A breakpoint was sent: the line is ready for the next.
    pub fn sent(&mut self) {
        self.typed = Field::new("add", "");
        self.error = None;
    }

    /// The breakpoint chosen in the list, kept in range as the list changes.
    pub fn chosen(&self) -> Option<usize> {
        (!self.specs.is_empty()).then(|| self.selected.min(self.specs.len() - 1))
    }

    fn add(&self) -> Result<Vec<Command>, String> {
        let typed = self.typed.text();
        let spec: BreakSpec = typed.trim().parse()?;
        Ok(vec![Command::Break {
            spec: spec.to_string(),
        }])
    }

    fn remove(&self) -> Outcome {
        match self.chosen() {
            Some(i) => Outcome::Send(vec![Command::Unbreak {
                spec: self.specs[i].clone(),
            }]),
            None => Outcome::Stay,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::gate::GateKind;
    use crossterm::event::{KeyCode, KeyModifiers};

    fn typed(editor: &mut Editor, text: &str) {
        for c in text.chars() {
            let key = KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE);
            assert_eq!(editor.on_key(None, key), Outcome::Stay);
        }
    }

    fn enter(editor: &mut Editor) -> Outcome {
        let key = KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE);
        editor.on_key(Some(KeyAction::Send), key)
    }

    fn gate(kind: GateKind, detail: serde_json::Value) -> OpenGate {
        OpenGate {
            gate: GateId::from("g7"),
            agent: AgentId::from("risks"),
            kind,
            reason: "tool:fault".into(),
            detail,
            t_ms: 0,
        }
    }

    #[test]
    fn edited_arguments_are_sent_as_json_and_bad_json_is_said_without_sending() {
        let g = gate(
            GateKind::ToolCall,
            serde_json::json!({"tool": "fault", "call_id": "c1", "arguments": {"mode": "panic"}}),
        );
        let mut editor = Editor::Arguments(ArgumentsEditor::open(&g).unwrap());
        let Editor::Arguments(e) = &mut editor else {
            unreachable!()
        };
        assert_eq!(e.field.text(), "{\n  \"mode\": \"panic\"\n}");
        e.field.area.select_all();
        e.field.area.cut();
        typed(&mut editor, "{\"mode\": ");
        assert_eq!(enter(&mut editor), Outcome::Stay);
        let Editor::Arguments(e) = &editor else {
            unreachable!()
        };
        assert!(
            e.error.as_deref().unwrap().starts_with("not JSON"),
            "{e:?}",
            e = e.error
        );
        typed(&mut editor, "\"error\"}");
        assert_eq!(
            enter(&mut editor),
            Outcome::Send(vec![Command::EditCall {
                call_id: "c1".into(),
                arguments: serde_json::json!({"mode": "error"}),
            }])
        );
    }

    #[test]
    fn a_request_edit_sends_only_what_changed() {
        let g = gate(
            GateKind::ModelCall,
            serde_json::json!({
                "system_prompt": "You are risks.",
                "messages": [
                    {"role": "user", "content": "plan"},
                    {"role": "user", "content": "[lead] go"},
                ],
            }),
        );
        let mut editor = Editor::Request(RequestEditor::open(&g).unwrap());
        // Unchanged, it is sent as it was.
        let Outcome::Send(unchanged) = enter(&mut editor) else {
            panic!("sent")
        };
        assert_eq!(
            unchanged,
            [Command::Continue {
                gate: Some("g7".into())
            }]
        );
        typed(&mut editor, " now");
        assert_eq!(
            enter(&mut editor),
            Outcome::Send(vec![Command::EditRequest {
                gate: "g7".into(),
                system_prompt: None,
                messages: Some(vec![
                    Message::User {
                        content: "plan".into()
                    },
                    Message::User {
                        content: "[lead] go now".into()
                    },
                ]),
            }])
        );
        let tab = KeyEvent::new(KeyCode::Tab, KeyModifiers::NONE);
        editor.on_key(Some(KeyAction::NextField), tab);
        typed(&mut editor, " Be brief.");
        let Outcome::Send(both) = enter(&mut editor) else {
            panic!("sent")
        };
        assert!(
            matches!(&both[0], Command::EditRequest { system_prompt: Some(p), messages: Some(_), .. } if p == "You are risks. Be brief."),
            "{both:?}"
        );
    }

    #[test]
    fn a_rerun_form_checks_its_numbers_and_continues_the_gate_after_the_turn() {
        let mut editor = Editor::Rerun(RerunForm::new(
            "writer".into(),
            "You write.",
            true,
            Some("g3".into()),
        ));
        let tab = KeyEvent::new(KeyCode::Tab, KeyModifiers::NONE);
        editor.on_key(Some(KeyAction::NextField), tab);
        typed(&mut editor, "hot");
        assert_eq!(enter(&mut editor), Outcome::Stay);
        let Editor::Rerun(f) = &mut editor else {
            unreachable!()
        };
        assert_eq!(
            f.error.as_deref(),
            Some("temperature `hot`: give a number from 0 to 2")
        );
        f.fields[1] = Field::new("temperature", "0.9");
        f.fields[2] = Field::new("variants", "3");
        assert_eq!(
            enter(&mut editor),
            Outcome::Send(vec![
                Command::Rerun {
                    agent: "writer".into(),
                    variants: Some(3),
                    system_prompt: None,
                    temperature: Some(0.9),
                },
                Command::Continue {
                    gate: Some("g3".into())
                },
            ])
        );
    }

    #[test]
    fn the_breakpoint_editor_adds_what_parses_and_removes_the_one_chosen() {
        let mut editor = Editor::Breakpoints(BreakpointEditor::new(&[
            "tool:fault".to_string(),
            "agent:editor".to_string(),
        ]));
        typed(&mut editor, "tool");
        assert_eq!(
            enter(&mut editor),
            Outcome::Send(vec![Command::Break {
                spec: "tool:*".into()
            }])
        );
        let Editor::Breakpoints(b) = &mut editor else {
            unreachable!()
        };
        b.typed = Field::new("add", "colour:red");
        assert_eq!(enter(&mut editor), Outcome::Stay);
        let down = KeyEvent::new(KeyCode::Down, KeyModifiers::NONE);
        editor.on_key(Some(KeyAction::FocusDown), down);
        editor.on_key(Some(KeyAction::FocusDown), down);
        let del = KeyEvent::new(KeyCode::Delete, KeyModifiers::NONE);
        assert_eq!(
            editor.on_key(Some(KeyAction::RemoveBreakpoint), del),
            Outcome::Send(vec![Command::Unbreak {
                spec: "agent:editor".into()
            }])
        );
    }
}
