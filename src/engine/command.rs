//! What a front end can ask of a running session (DESIGN.md "Commands and gates").
//!
//! Every command is addressed: a gate by its id, a tool call by its call id, an agent or a
//! group by name — never "whatever is waiting". In `--control` input each is one JSON line,
//! `{"op": "continue", "gate": "g3"}`; the same shape is what this type (de)serialises.

use serde::{Deserialize, Serialize};

use super::event::{AgentId, CallId, GroupId, Message};
use super::gate::GateId;

/// A request from a front end (TUI, headless control, test) to a running session.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case", deny_unknown_fields)]
pub enum Command {
    /// The user's answer to the current pause.
    Answer {
        text: String,
    },
    /// Leave a gate (the oldest open one when none is named).
    Continue {
        #[serde(default)]
        gate: Option<GateId>,
    },
    /// Leave a gate and stop again at the agent's next one.
    Step {
        #[serde(default)]
        gate: Option<GateId>,
    },
    /// Add a breakpoint while running (`agent:ID`, `model:ID`, `tool:NAME`, ...).
    Break {
        spec: String,
    },
    Unbreak {
        spec: String,
    },
    /// Run a tool call waiting at its gate.
    Approve {
        call_id: CallId,
    },
    /// Refuse a tool call waiting at its gate; the refusal goes back to the model as the
    /// tool's failure.
    Deny {
        call_id: CallId,
        #[serde(default)]
        reason: Option<String>,
    },
    /// Run a waiting tool call with other arguments.
    EditCall {
        call_id: CallId,
        arguments: serde_json::Value,
    },
    /// Send a waiting model call with an edited system prompt or history.
    EditRequest {
        gate: GateId,
        #[serde(default)]
        system_prompt: Option<String>,
        #[serde(default)]
        messages: Option<Vec<Message>>,
    },
    /// A user message the agent sees at its next model call.
    Guide {
        agent: AgentId,
        text: String,
    },
    /// Run the agent's last turn again from its start; `variants` at once, side by side.
    Rerun {
        agent: AgentId,
        #[serde(default)]
        variants: Option<u32>,
        /// The system prompt to send instead, whole (the list of signals included), as the
        /// last request showed it.
        #[serde(default)]
        system_prompt: Option<String>,
        #[serde(default)]
        temperature: Option<f64>,
    },
    /// Keep one of a re-run's variants (1-based); the run goes on from it.
    Keep {
        agent: AgentId,
        variant: u32,
    },
    /// Stop one agent at its next gate while the others go on.
    Hold {
        agent: AgentId,
    },
    Release {
        agent: AgentId,
    },
    /// Cancel an agent, a group, or (with neither) the whole session.
    Cancel {
        #[serde(default)]
        agent: Option<AgentId>,
        #[serde(default)]
        group: Option<GroupId>,
    },
    /// End the process leaving the session resumable, as a pause.
    Detach {},
    /// A line of control input that is not a command, reported back as an event and
    /// skipped. Never read from input: a front end makes it when a line does not parse.
    #[serde(skip)]
    Unreadable {
        line: String,
        error: String,
    },
}

impl Command {
    /// The answer to the current pause.
    pub fn answer(text: impl Into<String>) -> Self {
        Command::Answer { text: text.into() }
    }

    pub fn cancel_agent(agent: impl Into<AgentId>) -> Self {
        Command::Cancel {
            agent: Some(agent.into()),
            group: None,
        }
    }

    pub fn cancel_group(group: impl Into<GroupId>) -> Self {
        Command::Cancel {
            agent: None,
            group: Some(group.into()),
        }
    }

    pub fn cancel_session() -> Self {
        Command::Cancel {
            agent: None,
            group: None,
        }
    }

    /// One line of control input: a command, or what to report when it is not one.
    pub fn from_line(line: &str) -> Command {
        match serde_json::from_str(line) {
            Ok(command) => command,
            Err(e) => Command::Unreadable {
                line: crate::text::visible_line(line).chars().take(200).collect(),
                error: e.to_string(),
            },
        }
    }

    /// The `op` the command has in control input.
    pub fn op(&self) -> &'static str {
        match self {
            Command::Answer { .. } => "answer",
            Command::Continue { .. } => "continue",
            Command::Step { .. } => "step",
            Command::Break { .. } => "break",
            Command::Unbreak { .. } => "unbreak",
            Command::Approve { .. } => "approve",
            Command::Deny { .. } => "deny",
            Command::EditCall { .. } => "edit_call",
            Command::EditRequest { .. } => "edit_request",
            Command::Guide { .. } => "guide",
            Command::Rerun { .. } => "rerun",
            Command::Keep { .. } => "keep",
            Command::Hold { .. } => "hold",
            Command::Release { .. } => "release",
            Command::Cancel { .. } => "cancel",
            Command::Detach {} => "detach",
            Command::Unreadable { .. } => "unreadable",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_lines_read_as_commands_and_anything_else_is_reported() {
        assert_eq!(
            Command::from_line(r#"{"op":"continue","gate":"g3"}"#),
            Command::Continue {
                gate: Some(GateId::from("g3"))
            }
        );
        assert_eq!(
            Command::from_line(r#"{"op":"deny","call_id":"c1","reason":"no"}"#),
            Command::Deny {
                call_id: "c1".into(),
                reason: Some("no".into())
            }
        );
        assert_eq!(
            Command::from_line(r#"{"op":"cancel"}"#),
            Command::cancel_session()
        );
        for bad in [
            "not json",
            r#"{"op":"fly"}"#,
            r#"{"op":"approve"}"#,
            r#"{"op":"continue","gaet":"g1"}"#,
            r#"{"op":"unreadable","line":"x","error":"y"}"#,
        ] {
            assert!(
                matches!(Command::from_line(bad), Command::Unreadable { .. }),
                "{bad}"
            );
        }
    }
}
