//! The debugger's keys on the live screen: what `space`, `s`, `d`, `E`, `b`, `r`/`R`, `k`, `g`
//! and `h` mean for the focused agent, as commands for the session or an editor to open.
//! Whether a key applies is read from the run model (its open gates, variants, held agents),
//! never kept here.

use super::editor::{ArgumentsEditor, BreakpointEditor, Editor, RequestEditor, RerunForm};
use super::keys::Situation;
use super::view::{Action, InputPurpose, View};
use crate::engine::gate::GateKind;
use crate::engine::run::OpenGate;
use crate::engine::{AgentId, CallId, Command, Run};
use crate::text::visible_line;

/// The command that leaves `gate` going on: a tool call waiting for approval is approved, so
/// the record says who let it run.
pub fn continue_command(gate: &OpenGate) -> Command {
    match (
        gate.kind,
        gate.detail.get("call_id").and_then(|c| c.as_str()),
    ) {
        (GateKind::ToolCall, Some(call_id)) if gate.reason == "approval" => Command::Approve {
            call_id: CallId::from(call_id),
        },
        _ => Command::Continue {
            gate: Some(gate.gate.clone()),
        },
    }
}

/// What the footer's hints depend on, for the focused agent of `run`.
pub fn situation(run: &Run, focus: usize) -> Situation {
    let gate = run
        .agents()
        .get(focus)
        .and_then(|a| run.gate_of(a.id.as_str()));
    Situation {
        paused: run.pause().is_some(),
        failures: run.agents().iter().any(|a| a.failed),
        stopped: gate.is_some(),
        tool_gate: gate.is_some_and(|g| g.kind == GateKind::ToolCall),
        editable: gate.is_some_and(|g| matches!(g.kind, GateKind::ToolCall | GateKind::ModelCall)),
        variants: run.variants().is_some(),
    }
}

/// The variant `id` is of `base`, by its number: `writer~2` is variant 2 of `writer`.
fn variant_number(id: &AgentId, base: &AgentId) -> Option<u32> {
    id.as_str()
        .strip_prefix(base.as_str())?
        .strip_prefix('~')?
        .parse()
        .ok()
}

impl View {
    /// The focused agent's id, name as shown, and the gate it waits at; `None` (and said why)
    /// when there is none or the run is over.
    fn focused_for_debugging<'r>(
        &mut self,
        run: &'r Run,
    ) -> Option<(AgentId, String, Option<&'r OpenGate>)> {
        let agent = run.agents().get(self.focus)?;
        if !run.running() {
            self.notify("The run is over: nothing waits for a decision.");
            return None;
        }
        let gate = run.gate_of(agent.id.as_str());
        Some((
            agent.id.clone(),
            visible_line(&agent.name).into_owned(),
            gate,
        ))
    }

    /// `space`: the focused agent's gate lets it go on.
    pub(super) fn continue_gate(&mut self, run: &Run) -> Action {
        match self.focused_for_debugging(run) {
            Some((_, _, Some(gate))) => Action::Send(vec![continue_command(gate)]),
            Some((_, name, None)) => self.point_at_gate(run, &name),
            None => Action::None,
        }
    }

    /// `s`: on from the gate, and stop at the agent's next model or tool call.
    pub(super) fn step_gate(&mut self, run: &Run) -> Action {
        match self.focused_for_debugging(run) {
            Some((_, _, Some(gate))) => Action::Send(vec![Command::Step {
                gate: Some(gate.gate.clone()),
            }]),
            Some((_, name, None)) => self.point_at_gate(run, &name),
            None => Action::None,
        }
    }

    /// `d`: ask the reason for denying the tool call waiting at the gate.
    pub(super) fn deny_call(&mut self, run: &Run) -> Action {
        match self.focused_for_debugging(run) {
            Some((agent, name, Some(gate))) => {
                match gate.detail.get("call_id").and_then(|c| c.as_str()) {
                    Some(call_id) if gate.kind == GateKind::ToolCall => {
                        let call_id = CallId::from(call_id);
                        self.open_input(InputPurpose::Deny { agent, call_id }, "");
                    }
                    _ => self.notify(format!(
                        "{name} waits {}: d denies a tool call",
                        gate.place()
                    )),
                }
                Action::None
            }
            Some((_, name, None)) => self.point_at_gate(run, &name),
            None => Action::None,
        }
    }

    /// `E`: the editor for what waits at the gate, a tool call's arguments or a model request.
    pub(super) fn edit_gate(&mut self, run: &Run) -> Action {
        let (name, gate) = match self.focused_for_debugging(run) {
            Some((_, name, Some(gate))) => (name, gate),
            Some((_, name, None)) => return self.point_at_gate(run, &name),
            None => return Action::None,
        };
        let editor = match gate.kind {
            GateKind::ToolCall => ArgumentsEditor::open(gate).map(Editor::Arguments),
            GateKind::ModelCall => RequestEditor::open(gate).map(Editor::Request),
            GateKind::Turn | GateKind::Signal | GateKind::Failure | GateKind::Budget => {
                self.notify(format!(
                    "{name} waits {}: E edits a tool call or a model request",
                    gate.place()
                ));
                return Action::None;
            }
        };
        match editor {
            Some(editor) => self.editor = Some(editor),
            None => self.notify("The gate's record has nothing to edit."),
        }
        Action::None
    }

    /// `b`: the breakpoint editor.
    pub(super) fn open_breakpoints(&mut self, run: &Run) -> Action {
        if self.focused_for_debugging(run).is_some() {
            self.editor = Some(Editor::Breakpoints(BreakpointEditor::new(
                run.breakpoints(),
            )));
        }
        Action::None
    }

    /// `r` / `R`: the form for running the focused agent's last turn again.
    pub(super) fn rerun_form(&mut self, run: &Run, variants: bool) -> Action {
        let Some((agent, name, _)) = self.focused_for_debugging(run) else {
            return Action::None;
        };
        let Some(a) = run.agent(agent.as_str()).filter(|a| a.turn > 0) else {
            self.notify(format!("{name} has had no turn to run again."));
            return Action::None;
        };
        let prompt = a
            .last_request()
            .map(|r| r.system_prompt.clone())
            .unwrap_or_default();
        // The session takes a re-run when it goes on from where it stopped right after the
        // turn: a gate before the next step (continued with it), or the pause.
        let after = run
            .open_gates()
            .iter()
            .find(|g| matches!(g.kind, GateKind::Turn | GateKind::Signal))
            .map(|g| g.gate.clone());
        self.editor = Some(Editor::Rerun(RerunForm::new(
            agent, &prompt, variants, after,
        )));
        Action::None
    }

    /// `k`: keep the focused variant.
    pub(super) fn keep_variant(&mut self, run: &Run) -> Action {
        let Some((agent, _, _)) = self.focused_for_debugging(run) else {
            return Action::None;
        };
        match run.variants() {
            Some((base, _)) => match variant_number(&agent, base) {
                Some(variant) => {
                    return Action::Send(vec![Command::Keep {
                        agent: base.clone(),
                        variant,
                    }]);
                }
                None => self.notify(format!(
                    "Focus one of the variants of {} to keep it.",
                    visible_line(base.as_str())
                )),
            },
            None => self.notify("No variants wait: R runs a turn as several."),
        }
        Action::None
    }

    /// `g`: the input box, for guidance the focused agent sees at its next model call.
    pub(super) fn guide(&mut self, run: &Run) -> Action {
        if let Some((agent, _, _)) = self.focused_for_debugging(run) {
            self.open_input(InputPurpose::Guide(agent), "");
        }
        Action::None
    }

    /// `h`: hold the focused agent at its next gate, or let it go.
    pub(super) fn hold(&mut self, run: &Run) -> Action {
        let Some((agent, name, _)) = self.focused_for_debugging(run) else {
            return Action::None;
        };
        if run.is_held(agent.as_str()) {
            self.notify(format!("Releasing {name}."));
            return Action::Send(vec![Command::Release { agent }]);
        }
        self.notify(format!(
            "{name} stops at its next gate; h again lets it go."
        ));
        Action::Send(vec![Command::Hold { agent }])
    }

    /// The focused agent is not at a gate: says so, and which agent is.
    fn point_at_gate(&mut self, run: &Run, name: &str) -> Action {
        match run.open_gates().first() {
            Some(g) => {
                let other = run
                    .agent(g.agent.as_str())
                    .map_or_else(|| g.agent.to_string(), |a| a.name.clone());
                self.notify(format!(
                    "{name} is not stopped; {} waits {} (Tab to it).",
                    visible_line(&other),
                    g.place()
                ));
            }
            None => self.notify(format!("{name} is not stopped at a gate.")),
        }
        Action::None
    }
}
