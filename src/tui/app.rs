//! The App state: a fold of events. The live TUI and replay feed it the same events through
//! [`App::apply`], so a replay ends in the same state as the run it recorded.
//!
//! Only events change it (and the bounded history limits it keeps); what the user is looking
//! at (focus, zoom, scroll) lives in [`super::view::View`].

use std::collections::BTreeMap;

use super::pane::{Content, LineStyle, Pane, PaneLimits, RequestView, ToolStatus};
use super::theme::AgentState;
use crate::config::model::Crew;
use crate::engine::{Event, EventKind, Outcome};

/// One step of the path the run took, for the routing strip.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RouteStep {
    Agent(String),
    Group { name: String, size: usize },
}

/// The agents as the crew lists them, which is all the App needs of a crew.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AgentInfo {
    pub id: String,
    pub name: String,
    pub role: String,
}

impl AgentInfo {
    pub fn from_crew(crew: &Crew) -> Vec<Self> {
        crew.agents
            .iter()
            .map(|a| AgentInfo {
                id: a.id.clone(),
                name: a.name.clone(),
                role: a.role.clone(),
            })
            .collect()
    }
}

#[derive(Clone, Debug)]
pub struct App {
    pub crew: String,
    pub session_id: String,
    pub input: String,
    pub panes: Vec<Pane>,
    index: BTreeMap<String, usize>,
    pub route: Vec<RouteStep>,
    /// The parallel group running now, and its members.
    pub group: Option<(String, Vec<String>)>,
    /// The agent waiting for the user's answer, and what it asked.
    pub paused: Option<(String, String)>,
    pub outcome: Option<(Outcome, String)>,
    /// Session time of the newest event.
    pub t_ms: u64,
    pub events: u64,
    pub started: bool,
    limits: PaneLimits,
}

impl App {
    pub fn new(crew: &str, agents: &[AgentInfo], limits: PaneLimits) -> Self {
        let panes: Vec<Pane> = agents
            .iter()
            .map(|a| Pane::new(&a.id, &a.name, &a.role, limits))
            .collect();
        let index = panes
            .iter()
            .enumerate()
            .map(|(i, p)| (p.id.clone(), i))
            .collect();
        Self {
            crew: crew.to_string(),
            session_id: String::new(),
            input: String::new(),
            panes,
            index,
            route: Vec::new(),
            group: None,
            paused: None,
            outcome: None,
            t_ms: 0,
            events: 0,
            started: false,
            limits,
        }
    }

    pub fn pane_index(&self, agent: &str) -> Option<usize> {
        self.index.get(agent).copied()
    }

    /// The pane of an agent, made on first sight if the crew did not list it (a replayed
    /// file from a crew that has changed since).
    fn pane(&mut self, agent: &str) -> &mut Pane {
        let i = match self.index.get(agent) {
            Some(&i) => i,
            None => {
                self.panes.push(Pane::new(agent, agent, "", self.limits));
                self.index.insert(agent.to_string(), self.panes.len() - 1);
                self.panes.len() - 1
            }
        };
        &mut self.panes[i]
    }

    /// Whether the run is still going.
    pub fn running(&self) -> bool {
        self.started && self.outcome.is_none()
    }

    /// Prompt and completion tokens over all agents, counting only what providers reported.
    pub fn total_tokens(&self) -> (u64, u64) {
        self.panes.iter().fold((0, 0), |(i, o), p| {
            (i + p.tokens_in.unwrap_or(0), o + p.tokens_out.unwrap_or(0))
        })
    }

    pub fn apply(&mut self, event: &Event) {
        self.events += 1;
        self.t_ms = self.t_ms.max(event.t_ms);
        let t = event.t_ms;
        match &event.kind {
            EventKind::SessionStarted {
                session_id,
                crew,
                input,
            } => {
                self.started = true;
                self.session_id = session_id.clone();
                self.crew = crew.clone();
                self.input = input.clone();
            }
            EventKind::AgentStarted { agent, turn, input } => {
                let in_group = self
                    .group
                    .as_ref()
                    .is_some_and(|(_, members)| members.contains(agent));
                if !in_group && self.route.last() != Some(&RouteStep::Agent(agent.clone())) {
                    self.route.push(RouteStep::Agent(agent.clone()));
                }
                let pane = self.pane(agent);
                pane.turn = *turn;
                pane.turn_started_ms = t;
                pane.set_state(AgentState::Thinking, t);
                pane.push(Content::Turn {
                    turn: *turn,
                    input: input.clone(),
                });
            }
            EventKind::ModelRequest {
                agent,
                model,
                system_prompt,
                messages,
                tools,
            } => {
                let pane = self.pane(agent);
                pane.streamed_reply = false;
                pane.set_state(AgentState::Thinking, t);
                pane.last_request = Some(RequestView {
                    model: model.clone(),
                    system_prompt: system_prompt.clone(),
                    messages: messages.clone(),
                    tools: tools.clone(),
                });
            }
            EventKind::Token {
                agent,
                text,
                reasoning,
            } => {
                let pane = self.pane(agent);
                pane.append_text(text, *reasoning);
                if *reasoning {
                    pane.set_state(AgentState::Thinking, t);
                } else {
                    pane.streamed_reply = true;
                    pane.set_state(AgentState::Streaming, t);
                }
            }
            EventKind::Message {
                agent,
                content,
                usage,
                truncated,
                ..
            } => {
                let pane = self.pane(agent);
                if !pane.streamed_reply && !content.is_empty() {
                    pane.push(Content::Text {
                        text: content.clone(),
                        reasoning: false,
                    });
                }
                if let Some(usage) = usage {
                    *pane.tokens_in.get_or_insert(0) += usage.prompt_tokens;
                    *pane.tokens_out.get_or_insert(0) += usage.completion_tokens;
                }
                if *truncated {
                    pane.push(Content::Notice {
                        text: "(the reply was cut off)".into(),
                        style: LineStyle::Dim,
                    });
                }
                pane.set_state(AgentState::Done, t);
            }
            EventKind::ToolCall {
                agent,
                call_id,
                tool,
                arguments,
            } => {
                let pane = self.pane(agent);
                pane.push(Content::Tool {
                    call_id: call_id.clone(),
                    tool: tool.clone(),
                    arguments: arguments.to_string(),
                    status: ToolStatus::Running,
                });
                pane.set_state(AgentState::RunningTool, t);
            }
            EventKind::ToolResult {
                agent,
                call_id,
                output,
                elapsed_ms,
                truncated,
                ..
            } => {
                let pane = self.pane(agent);
                pane.finish_tool(
                    call_id,
                    ToolStatus::Done {
                        output: super::wrap::sanitize(output),
                        elapsed_ms: *elapsed_ms,
                        truncated: *truncated,
                    },
                );
                pane.set_state(AgentState::Thinking, t);
            }
            EventKind::ToolFailed {
                agent,
                call_id,
                error,
                kind,
                ..
            } => {
                let pane = self.pane(agent);
                pane.failed = true;
                let status = ToolStatus::Failed {
                    kind: *kind,
                    error: super::wrap::sanitize(error),
                };
                if pane.has_tool(call_id) {
                    pane.finish_tool(call_id, status);
                } else {
                    pane.push(Content::Tool {
                        call_id: call_id.clone(),
                        tool: String::new(),
                        arguments: String::new(),
                        status,
                    });
                }
                pane.set_state(AgentState::Thinking, t);
            }
            EventKind::Handoff {
                from,
                to,
                reason,
                signal,
            } => {
                let why = reason.describe(signal.as_deref());
                if self.index.contains_key(from) {
                    self.pane(from).push(Content::Notice {
                        text: format!("→ handed to {to} ({why})"),
                        style: LineStyle::Notice,
                    });
                }
                self.pane(to).set_state(AgentState::Waiting, t);
                self.route.push(RouteStep::Agent(to.clone()));
            }
            EventKind::ParallelStarted { group, agents } => {
                let starter = self.route.iter().rev().find_map(|s| match s {
                    RouteStep::Agent(id) => Some(id.clone()),
                    RouteStep::Group { .. } => None,
                });
                if let Some(starter) = starter {
                    self.pane(&starter).push(Content::Notice {
                        text: format!("→ started {group}: {}", agents.join(", ")),
                        style: LineStyle::Notice,
                    });
                }
                self.group = Some((group.clone(), agents.clone()));
                self.route.push(RouteStep::Group {
                    name: group.clone(),
                    size: agents.len(),
                });
                for agent in agents {
                    self.pane(agent).set_state(AgentState::Waiting, t);
                }
            }
            EventKind::ParallelFinished { timed_out, .. } => {
                for agent in timed_out {
                    self.pane(agent).push(Content::Notice {
                        text: "⏱ stopped: the parallel group timed out".into(),
                        style: LineStyle::Error,
                    });
                }
                self.group = None;
            }
            EventKind::Paused { agent, prompt } => {
                self.paused = Some((agent.clone(), prompt.clone()));
                // A resumed session asks again after the end its recording stopped at.
                self.outcome = None;
                let pane = self.pane(agent);
                pane.set_state(AgentState::Paused, t);
                let notice = Content::Notice {
                    text: "⏸ waiting for your answer".into(),
                    style: LineStyle::Notice,
                };
                if pane.blocks().back().map(|b| &b.content) != Some(&notice) {
                    pane.push(notice);
                }
            }
            EventKind::Resumed { agent, input } => {
                self.paused = None;
                // A resumed recording goes on after the pause that ended it.
                self.outcome = None;
                let pane = self.pane(agent);
                pane.push(Content::Notice {
                    text: format!("↩ you: {input}"),
                    style: LineStyle::Notice,
                });
                pane.set_state(AgentState::Waiting, t);
            }
            EventKind::AgentFailed {
                agent,
                error,
                status,
                ..
            } => {
                let pane = self.pane(agent);
                pane.failed = true;
                let status = status.map(|s| format!(" (HTTP {s})")).unwrap_or_default();
                pane.push(Content::Notice {
                    text: format!("✗ failed{status}: {}", super::wrap::sanitize(error)),
                    style: LineStyle::Error,
                });
                pane.set_state(AgentState::Failed, t);
            }
            EventKind::AgentCancelled { agent } => {
                let pane = self.pane(agent);
                pane.push(Content::Notice {
                    text: "■ cancelled".into(),
                    style: LineStyle::Dim,
                });
                pane.set_state(AgentState::Cancelled, t);
            }
            EventKind::SessionFinished { outcome, reason } => {
                self.outcome = Some((*outcome, reason.clone()));
                self.paused = None;
                self.group = None;
            }
        }
    }
}
