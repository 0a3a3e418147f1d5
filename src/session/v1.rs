//! Session files of format version 1, read as version 2.
//!
//! Version 1 recorded what happened but not what the engine decided: the history entry each
//! step added, the counters, when a turn's entries joined the shared history, what a group
//! handed on. The run model reads those from the events (DESIGN.md principle 4), so a version 1
//! recording is upgraded once, when it is read, by the rules of the engine that wrote it. The
//! rules below are that engine's, frozen: they describe old files and must not follow changes
//! to today's engine, which records its decisions instead.

use std::collections::{BTreeMap, BTreeSet};

use crate::engine::{AgentId, CallRequest, Event, EventKind, GroupId, Message, Outcome, TurnEnd};

/// Tool calls version 1 parsed from go-agentic's text form had ids like `text-1`; their
/// results went back as user messages.
fn is_text_form(call_id: &str) -> bool {
    call_id.starts_with("text-")
}

/// A turn that started and has not ended, as version 1 tracked it.
#[derive(Default)]
struct Open {
    turn: u32,
    /// Its last whole reply.
    reply: String,
    /// It failed or was cancelled.
    end: Option<TurnEnd>,
}

/// The events of a version 1 recording with what version 2 records added: `entry`, `round`,
/// `handoffs`, `call`, the calls a reply asked for, `turn_ended` events, and a group's
/// `joined` and `output`. Added events take the `seq` and time of the event they precede.
pub fn upgrade(events: Vec<Event>) -> Vec<Event> {
    let mut out = Vec::with_capacity(events.len() + events.len() / 8);
    let mut open: BTreeMap<AgentId, Open> = BTreeMap::new();
    let mut group: Option<(GroupId, Vec<AgentId>)> = None;
    let mut calls: BTreeMap<AgentId, u32> = BTreeMap::new();
    // Each agent's call count when each of its turns began: a turn version 1 ran again after
    // a cut numbered its calls from there again.
    let mut calls_at_turn: BTreeMap<(AgentId, u32), u32> = BTreeMap::new();
    let (mut rounds, mut handoffs) = (0u32, 0u32);
    // The user's words for the next turn of its own (the first input, an answer).
    let mut user_pending: Option<String> = None;
    let mut finished_paused = false;
    for (i, event) in events.iter().enumerate() {
        let (seq, t_ms) = (event.seq, event.t_ms);
        let close = |open: &mut BTreeMap<AgentId, Open>, out: &mut Vec<Event>| {
            for (agent, turn) in std::mem::take(open) {
                out.push(Event {
                    seq,
                    t_ms,
                    kind: EventKind::TurnEnded {
                        agent,
                        turn: turn.turn,
                        status: turn.end.unwrap_or(TurnEnd::Completed),
                        reply: turn.reply,
                        joined: true,
                    },
                });
            }
        };
        let mut kind = event.kind.clone();
        match &mut kind {
            EventKind::SessionStarted { input, .. } => user_pending = Some(input.clone()),
            EventKind::AgentStarted {
                agent,
                turn,
                round,
                entry,
                ..
            } => {
                if group.as_ref().is_some_and(|(_, m)| m.contains(agent)) {
                    open.insert(
                        agent.clone(),
                        Open {
                            turn: *turn,
                            ..Open::default()
                        },
                    );
                } else {
                    close(&mut open, &mut out);
                    rounds += 1;
                    *round = Some(rounds);
                    *entry = user_pending.take().map(|content| Message::User { content });
                    open.insert(
                        agent.clone(),
                        Open {
                            turn: *turn,
                            ..Open::default()
                        },
                    );
                }
                let at = calls_at_turn
                    .entry((agent.clone(), *turn))
                    .or_insert_with(|| calls.get(agent).copied().unwrap_or(0));
                calls.insert(agent.clone(), *at);
            }
            EventKind::ModelRequest { agent, call, .. } => {
                let n = calls.entry(agent.clone()).or_default();
                *call = Some(*n);
                *n += 1;
            }
            EventKind::Message {
                agent,
                content,
                truncated,
                tool_calls,
                text_calls,
                entry,
                ..
            } => {
                // A reply cut short by an error never joined the history.
                let failed_partial = *truncated
                    && events[i + 1..]
                        .iter()
                        .find(|e| e.agent() == Some(agent.as_str()))
                        .is_some_and(|e| matches!(e.kind, EventKind::AgentFailed { .. }));
                // The calls it asked for are the tool calls that follow, up to its next request.
                let asked: Vec<CallRequest> = events[i + 1..]
                    .iter()
                    .filter(|e| e.agent() == Some(agent.as_str()))
                    .take_while(|e| {
                        matches!(
                            e.kind,
                            EventKind::ToolCall { .. }
                                | EventKind::ToolResult { .. }
                                | EventKind::ToolFailed { .. }
                        )
                    })
                    .filter_map(|e| match &e.kind {
                        EventKind::ToolCall {
                            call_id,
                            tool,
                            arguments,
                            ..
                        } => Some(CallRequest {
                            id: call_id.clone(),
                            name: tool.clone(),
                            arguments: match arguments {
                                serde_json::Value::String(raw) => raw.clone(),
                                other => other.to_string(),
                            },
                        }),
                        _ => None,
                    })
                    .collect();
                *text_calls = asked.iter().any(|c| is_text_form(c.id.as_str()));
                if !failed_partial {
                    *entry = Some(Message::Assistant {
                        content: content.clone(),
                        tool_calls: asked
                            .iter()
                            .filter(|c| !is_text_form(c.id.as_str()))
                            .cloned()
                            .collect(),
                    });
                    if let Some(turn) = open.get_mut(agent) {
                        turn.reply = content.clone();
                    }
                }
                *tool_calls = asked;
            }
            EventKind::ToolResult {
                call_id,
                tool,
                output,
                entry,
                ..
            } => *entry = Some(tool_entry(call_id.as_str(), tool, output.clone())),
            EventKind::ToolFailed {
                call_id,
                tool,
                error,
                entry,
                ..
            } => {
                *entry = Some(tool_entry(
                    call_id.as_str(),
                    tool,
                    format!("error: {error}"),
                ))
            }
            EventKind::AgentFailed { agent, .. } => {
                if let Some(turn) = open.get_mut(agent) {
                    turn.end = Some(TurnEnd::Failed);
                }
            }
            EventKind::AgentCancelled { agent } => {
                if let Some(turn) = open.get_mut(agent) {
                    turn.end = Some(TurnEnd::Cancelled);
                }
            }
            EventKind::Handoff {
                handoffs: count, ..
            } => {
                close(&mut open, &mut out);
                handoffs += 1;
                *count = Some(handoffs);
            }
            EventKind::ParallelStarted {
                group: name,
                agents,
                round,
                handoffs: count,
            } => {
                close(&mut open, &mut out);
                handoffs += 1;
                rounds += 1;
                *round = Some(rounds);
                *count = Some(handoffs);
                group = Some((name.clone(), agents.clone()));
            }
            EventKind::ParallelFinished {
                completed,
                timed_out,
                joined,
                output,
                ..
            } => {
                let members = group.take().map(|(_, m)| m).unwrap_or_default();
                let completed_set: BTreeSet<&AgentId> = completed.iter().collect();
                let mut labelled = Vec::new();
                let mut joined_now = Vec::new();
                for member in &members {
                    let Some(turn) = open.remove(member) else {
                        continue;
                    };
                    let status = if completed_set.contains(member) {
                        labelled.push(format!("[{member}] {}", turn.reply));
                        joined_now.push(member.clone());
                        TurnEnd::Completed
                    } else if timed_out.contains(member) {
                        TurnEnd::TimedOut
                    } else {
                        turn.end.unwrap_or(TurnEnd::Cancelled)
                    };
                    out.push(Event {
                        seq,
                        t_ms,
                        kind: EventKind::TurnEnded {
                            agent: member.clone(),
                            turn: turn.turn,
                            status,
                            reply: turn.reply,
                            joined: false,
                        },
                    });
                }
                *joined = Some(joined_now);
                *output = Some(labelled.join("\n\n"));
            }
            EventKind::Paused { .. } => {
                if finished_paused {
                    // Version 1 asked again when a paused session was resumed: that pause is
                    // the one already on record.
                    finished_paused = false;
                    out.push(Event {
                        seq,
                        t_ms,
                        kind: EventKind::SessionResumed {},
                    });
                    continue;
                }
                close(&mut open, &mut out);
            }
            EventKind::Resumed { input, .. } => user_pending = Some(input.clone()),
            EventKind::SessionFinished { outcome, .. } => {
                close(&mut open, &mut out);
                finished_paused = *outcome == Outcome::Paused;
            }
            // Version 1 had none of these (no gates, no backups); nothing to add.
            EventKind::SessionResumed {}
            | EventKind::Token { .. }
            | EventKind::FellBack { .. }
            | EventKind::ToolCall { .. }
            | EventKind::TurnEnded { .. }
            | EventKind::Gate { .. }
            | EventKind::Decision { .. }
            | EventKind::Guidance { .. }
            | EventKind::Breakpoints { .. }
            | EventKind::Hold { .. }
            | EventKind::CommandRejected { .. }
            | EventKind::Rerun { .. }
            | EventKind::Kept { .. } => {}
        }
        if finished_paused
            && !matches!(
                kind,
                EventKind::SessionFinished { .. } | EventKind::Paused { .. }
            )
        {
            // Version 1 went on after a cut without saying so.
            finished_paused = false;
            out.push(Event {
                seq,
                t_ms,
                kind: EventKind::SessionResumed {},
            });
        }
        out.push(Event { seq, t_ms, kind });
    }
    out
}

fn tool_entry(call_id: &str, tool: &str, content: String) -> Message {
    if is_text_form(call_id) {
        Message::User {
            content: format!("Result of {tool}: {content}"),
        }
    } else {
        Message::Tool {
            call_id: call_id.into(),
            name: tool.to_string(),
            content,
        }
    }
}

/// The part of an upgraded version 1 recording that a resumed session can go on from. Version 1
/// did not record enough to go on inside a step (which tool calls a reply asked for, whether a
/// turn had ended), so a recording that stops inside a turn or a group goes on from that step's
/// start, as version 1's own resume did; everything before it is reused.
pub fn resumable(events: &[Event]) -> &[Event] {
    let finished = events
        .last()
        .is_some_and(|e| matches!(e.kind, EventKind::SessionFinished { .. }));
    if finished {
        return events;
    }
    let mut group_open = false;
    let mut step_start = None;
    for (i, event) in events.iter().enumerate() {
        match &event.kind {
            EventKind::ParallelStarted { .. } => {
                group_open = true;
                step_start = Some(i);
            }
            EventKind::AgentStarted { .. } if !group_open => step_start = Some(i),
            EventKind::ParallelFinished { .. } => {
                group_open = false;
                step_start = None;
            }
            EventKind::Handoff { .. }
            | EventKind::Paused { .. }
            | EventKind::Resumed { .. }
            | EventKind::SessionFinished { .. } => step_start = None,
            _ => {}
        }
    }
    // A turn's own `turn_ended` (added by the upgrade) closes it too.
    match step_start {
        Some(start)
            if !events[start..]
                .iter()
                .any(|e| matches!(e.kind, EventKind::TurnEnded { joined: true, .. })) =>
        {
            &events[..start]
        }
        Some(_) | None => events,
    }
}
