//! Where a recorded session stands: its history, counters and next step, rebuilt from its
//! events so a run that paused or was cut off can go on as if it never stopped.
//!
//! The rules mirror the session loop: a turn's history entries join the shared history when the
//! turn ends (a routing event follows), a parallel group's completed members join in group
//! order when the group finishes, and a turn or group the file cut off is run again.

use std::collections::HashMap;

use super::event::{Event, EventKind, Outcome};
use super::history::{Author, Entry, History};
use crate::config::model::Crew;
use crate::provider::{ChatMessage, ToolCallRequest};

/// What the session runs next: where a new run starts, where the routing loop goes after each
/// step, and where a resumed run picks up.
#[derive(Clone, Debug, PartialEq)]
pub enum Step {
    /// Wait for the user's answer; the agent then continues with it. A resumed run that had
    /// paused asks again.
    AwaitAnswer {
        agent: String,
        prompt: String,
    },
    Agent {
        id: String,
        input: String,
        user_message: Option<String>,
    },
    Group {
        name: String,
    },
    /// The group finished but the run had not yet moved on from it.
    AfterGroup {
        name: String,
        replies: String,
    },
}

/// Everything the session loop needs to go on from a recording.
#[derive(Clone, Debug)]
pub struct ResumePoint {
    pub session_id: String,
    pub input: String,
    pub history: History,
    pub turns: HashMap<String, u32>,
    pub model_calls: HashMap<String, usize>,
    pub handoffs: u32,
    pub rounds: u32,
    pub next: Step,
    pub next_seq: u64,
    pub t_ms: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResumeError {
    #[error("the recording has no session_started event")]
    NotStarted,
    #[error("the session already ended ({0:?}); only a paused or cut-off session can be resumed")]
    Finished(Outcome),
}

/// A turn that has started and not yet joined the history.
#[derive(Debug, Default)]
struct OpenTurn {
    input: String,
    user_message: Option<String>,
    entries: Vec<Entry>,
    model_calls: usize,
}

/// Tool calls parsed from go-agentic's text form get ids like `text-1`; their results went back
/// as user messages rather than tool messages.
fn is_text_form(call_id: &str) -> bool {
    call_id.starts_with("text-")
}

impl ResumePoint {
    /// Where a new session starts: nothing done yet, the entry agent next.
    pub fn fresh(crew: &Crew, session_id: &str, input: &str) -> Self {
        Self {
            session_id: session_id.to_string(),
            input: input.to_string(),
            history: History::default(),
            turns: HashMap::new(),
            model_calls: HashMap::new(),
            handoffs: 0,
            rounds: 0,
            next: Step::Agent {
                id: crew.entry_point.clone(),
                input: input.to_string(),
                user_message: Some(input.to_string()),
            },
            next_seq: 0,
            t_ms: 0,
        }
    }

    pub fn from_events(crew: &Crew, events: &[Event]) -> Result<Self, ResumeError> {
        let mut point = Self::fresh(crew, "", "");
        let mut started = false;
        let mut open: HashMap<String, OpenTurn> = HashMap::new();
        // The running group: its name and members.
        let mut group: Option<(String, Vec<String>)> = None;
        let mut finished: Option<Outcome> = None;
        // The user's words waiting for the next turn (first input, an answer).
        let mut user_pending: Option<String> = None;
        // A finished group's replies, labelled, for the agent it hands to.
        let mut group_replies = String::new();

        for event in events {
            point.next_seq = event.seq + 1;
            point.t_ms = event.t_ms;
            match &event.kind {
                EventKind::SessionStarted {
                    session_id, input, ..
                } => {
                    started = true;
                    point.session_id = session_id.clone();
                    point.input = input.clone();
                    user_pending = Some(input.clone());
                    point.next = Step::Agent {
                        id: crew.entry_point.clone(),
                        input: input.clone(),
                        user_message: Some(input.clone()),
                    };
                }
                EventKind::AgentStarted { agent, turn, input } => {
                    let in_group = group.as_ref().is_some_and(|(_, m)| m.contains(agent));
                    if !in_group {
                        point.flush_all(&mut open);
                        point.rounds += 1;
                    }
                    point.turns.insert(agent.clone(), *turn);
                    let user_message = if in_group { None } else { user_pending.take() };
                    let mut turn = OpenTurn {
                        input: input.clone(),
                        user_message: user_message.clone(),
                        ..OpenTurn::default()
                    };
                    if let Some(text) = user_message {
                        turn.entries.push(Entry {
                            author: Author::User,
                            message: ChatMessage::User { content: text },
                        });
                    }
                    open.insert(agent.clone(), turn);
                }
                EventKind::ModelRequest { agent, .. } => {
                    *point.model_calls.entry(agent.clone()).or_default() += 1;
                    if let Some(turn) = open.get_mut(agent) {
                        turn.model_calls += 1;
                    }
                }
                EventKind::Message {
                    agent,
                    content,
                    truncated,
                    ..
                } => {
                    // A reply cut short by an error never joined the history.
                    let failed_partial = *truncated
                        && events
                            .iter()
                            .skip_while(|e| e.seq <= event.seq)
                            .find(|e| e.agent() == Some(agent.as_str()))
                            .is_some_and(|e| matches!(e.kind, EventKind::AgentFailed { .. }));
                    if let Some(turn) = open.get_mut(agent)
                        && !failed_partial
                    {
                        turn.entries.push(Entry {
                            author: Author::Agent(agent.clone()),
                            message: ChatMessage::Assistant {
                                content: content.clone(),
                                tool_calls: Vec::new(),
                            },
                        });
                    }
                }
                EventKind::ToolCall {
                    agent,
                    call_id,
                    tool,
                    arguments,
                } => {
                    if is_text_form(call_id) {
                        continue;
                    }
                    let raw = match arguments {
                        serde_json::Value::String(raw) => raw.clone(),
                        other => other.to_string(),
                    };
                    if let Some(turn) = open.get_mut(agent)
                        && let Some(Entry {
                            message: ChatMessage::Assistant { tool_calls, .. },
                            ..
                        }) = turn.entries.last_mut()
                    {
                        tool_calls.push(ToolCallRequest {
                            id: call_id.clone(),
                            name: tool.clone(),
                            arguments: raw,
                        });
                    }
                }
                EventKind::ToolResult {
                    agent,
                    call_id,
                    tool,
                    output,
                    ..
                } => push_tool_result(&mut open, agent, call_id, tool, output.clone()),
                EventKind::ToolFailed {
                    agent,
                    call_id,
                    tool,
                    error,
                    ..
                } => push_tool_result(&mut open, agent, call_id, tool, format!("error: {error}")),
                EventKind::Handoff { to, from, .. } => {
                    point.flush_all(&mut open);
                    point.handoffs += 1;
                    let input = if crew.routing.parallel_groups.contains_key(from) {
                        std::mem::take(&mut group_replies)
                    } else {
                        point.last_reply_of(from)
                    };
                    point.next = Step::Agent {
                        id: to.clone(),
                        input,
                        user_message: None,
                    };
                }
                EventKind::ParallelStarted {
                    group: name,
                    agents,
                } => {
                    point.flush_all(&mut open);
                    point.handoffs += 1;
                    point.rounds += 1;
                    group = Some((name.clone(), agents.clone()));
                    point.next = Step::Group { name: name.clone() };
                }
                EventKind::ParallelFinished {
                    group: name,
                    completed,
                    ..
                } => {
                    let mut labelled = Vec::new();
                    if let Some((_, members)) = group.take() {
                        for member in members {
                            if let Some(turn) = open.remove(&member)
                                && completed.contains(&member)
                            {
                                point.history.extend(turn.entries);
                                labelled
                                    .push(format!("[{member}] {}", point.last_reply_of(&member)));
                            }
                        }
                    }
                    group_replies = labelled.join("\n\n");
                    point.next = Step::AfterGroup {
                        name: name.clone(),
                        replies: group_replies.clone(),
                    };
                    // Where the group leads is told by the handoff that follows, if any.
                }
                EventKind::Paused { agent, prompt } => {
                    point.flush_all(&mut open);
                    point.next = Step::AwaitAnswer {
                        agent: agent.clone(),
                        prompt: prompt.clone(),
                    };
                }
                EventKind::Resumed { agent, input } => {
                    user_pending = Some(input.clone());
                    point.next = Step::Agent {
                        id: agent.clone(),
                        input: input.clone(),
                        user_message: Some(input.clone()),
                    };
                    finished = None;
                }
                EventKind::Token { .. }
                | EventKind::AgentFailed { .. }
                | EventKind::AgentCancelled { .. } => {}
                EventKind::SessionFinished { outcome, .. } => {
                    point.flush_all(&mut open);
                    finished = Some(*outcome);
                }
            }
        }
        if !started {
            return Err(ResumeError::NotStarted);
        }
        if let Some(outcome) = finished
            && outcome != Outcome::Paused
        {
            return Err(ResumeError::Finished(outcome));
        }
        // Whatever is still open was cut off mid-way: it runs again from its start.
        if let Some((name, members)) = group {
            for member in members {
                if let Some(turn) = open.remove(&member) {
                    point.undo_turn(&member, &turn);
                }
            }
            point.rounds -= 1;
            point.next = Step::Group { name };
        } else if let Some((agent, turn)) = open.drain().next() {
            point.undo_turn(&agent, &turn);
            point.rounds -= 1;
            point.next = Step::Agent {
                id: agent,
                input: turn.input,
                user_message: turn.user_message,
            };
        }
        Ok(point)
    }

    /// The turns that ended join the shared history.
    fn flush_all(&mut self, open: &mut HashMap<String, OpenTurn>) {
        for (_, turn) in open.drain() {
            self.history.extend(turn.entries);
        }
    }

    fn undo_turn(&mut self, agent: &str, turn: &OpenTurn) {
        if let Some(n) = self.turns.get_mut(agent) {
            *n = n.saturating_sub(1);
        }
        if let Some(n) = self.model_calls.get_mut(agent) {
            *n = n.saturating_sub(turn.model_calls);
        }
    }

    fn last_reply_of(&self, agent: &str) -> String {
        self.history
            .entries()
            .iter()
            .rev()
            .find_map(|e| match (&e.author, &e.message) {
                (Author::Agent(a), ChatMessage::Assistant { content, .. }) if a == agent => {
                    Some(content.clone())
                }
                _ => None,
            })
            .unwrap_or_default()
    }
}

fn push_tool_result(
    open: &mut HashMap<String, OpenTurn>,
    agent: &str,
    call_id: &str,
    tool: &str,
    content: String,
) {
    let Some(turn) = open.get_mut(agent) else {
        return;
    };
    let message = if is_text_form(call_id) {
        ChatMessage::User {
            content: format!("Result of {tool}: {content}"),
        }
    } else {
        ChatMessage::Tool {
            call_id: call_id.to_string(),
            name: tool.to_string(),
            content,
        }
    };
    turn.entries.push(Entry {
        author: Author::Agent(agent.to_string()),
        message,
    });
}
