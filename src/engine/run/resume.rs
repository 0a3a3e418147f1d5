//! Where a recorded run goes on from: the projection of the run model that `crewtui resume`
//! starts the engine with.
//!
//! Nothing the recording holds as finished is done again: a turn the file stopped inside goes
//! on after its last reply or tool result; a parallel group re-runs only the members that had
//! not finished; only a model call without its `message` or a tool call without its result is
//! redone. The engine recorded every decision this needs (see [`crate::engine::event`]), so no
//! rule of the engine's is restated here: entries, counters and steps are read back as they
//! were recorded.

use std::collections::HashMap;

use super::{AgentRun, CallState, Phase, Run, TurnRecord};
use crate::config::model::Crew;
use crate::engine::event::{AgentId, Outcome, TurnEnd};
use crate::engine::step::{MemberStart, ResumeError, ResumePoint, Step, TurnNext, TurnProgress};

/// Below this much room left in `seq` or the clock, a recording cannot go on.
const HEADROOM: u64 = 1 << 32;

impl Run {
    /// Where the engine goes on with this run, or why it cannot. `crew` is the crew on disk
    /// (never one from the file), of which only the entry point is read, for a recording that
    /// stopped before its first turn.
    pub fn resume_point(&self, crew: &Crew) -> Result<ResumePoint, ResumeError> {
        if !self.started {
            return Err(ResumeError::NotStarted);
        }
        if let Some(finish) = &self.finish
            && finish.outcome != Outcome::Paused
        {
            return Err(ResumeError::Finished(finish.outcome));
        }
        if self.next_seq > u64::MAX - HEADROOM || self.t_ms > u64::MAX - HEADROOM {
            return Err(ResumeError::Exhausted);
        }
        // A recording stopped while re-run variants ran goes on as if the re-run had not been
        // asked: the turn it would have replaced stands.
        let (phase, history, rounds, handoffs) = match &self.rerun {
            Some(rerun) if rerun.variants > 1 => {
                let mut history = self.history.clone();
                history.extend(rerun.removed.iter().cloned());
                (rerun.phase.clone(), history, rerun.rounds, rerun.handoffs)
            }
            Some(_) | None => (
                self.phase.clone(),
                self.history.clone(),
                self.rounds,
                self.handoffs,
            ),
        };
        let next = match &phase {
            Phase::NotStarted => return Err(ResumeError::NotStarted),
            Phase::Starting => Step::Agent {
                id: AgentId(crew.entry_point.clone()),
                input: self.input.clone(),
                user_message: Some(self.input.clone()),
            },
            Phase::Next(step) => step.clone(),
            Phase::Turn(agent) => {
                match self.agent(agent.as_str()).and_then(|a| {
                    let record = a.turns.last()?;
                    Some(progress(a, record))
                }) {
                    Some(progress) => Step::Continue {
                        agent: agent.clone(),
                        progress,
                    },
                    None => return Err(ResumeError::NotStarted),
                }
            }
            Phase::Routing { agent, reply } => Step::Route {
                agent: agent.clone(),
                reply: reply.clone(),
            },
            Phase::Group(g) => {
                let group = &self.groups[*g];
                let members = group
                    .members
                    .iter()
                    .map(|member| {
                        let record = group
                            .member_turns
                            .iter()
                            .rev()
                            .find(|(id, _)| id == member)
                            .and_then(|(_, turn)| {
                                let a = self.agent(member.as_str())?;
                                Some((a, a.turn_record(*turn)?))
                            });
                        match record {
                            None => MemberStart::Fresh,
                            Some((a, record)) => match &record.end {
                                Some((status, reply, _)) => MemberStart::Done {
                                    status: *status,
                                    reply: reply.clone(),
                                    entries: record.entries.clone(),
                                },
                                None => MemberStart::Continue(progress(a, record)),
                            },
                        }
                    })
                    .collect();
                Step::Group {
                    name: group.id.clone(),
                    members: Some(members),
                }
            }
            Phase::Paused { agent, prompt } => Step::AwaitAnswer {
                agent: agent.clone(),
                prompt: prompt.clone(),
                asked: true,
            },
        };
        let mut turns = HashMap::new();
        let mut model_calls = HashMap::new();
        let mut last_requests = HashMap::new();
        for a in &self.agents {
            if a.turn > 0 {
                turns.insert(a.id.clone(), a.turn);
            }
            let finished = a.calls().filter(|c| finished(c.state)).count();
            if finished > 0 {
                model_calls.insert(a.id.clone(), finished);
            }
            if let Some(request) = a.last_request() {
                last_requests.insert(a.id.clone(), request.clone());
            }
        }
        // Resuming is the decision to go on from a gate; a tool call waiting for approval is
        // asked again, since resuming says nothing about whether it may run.
        let resumed: Vec<&super::OpenGate> = self
            .open_gates
            .iter()
            .filter(|g| g.reason != "approval")
            .collect();
        Ok(ResumePoint {
            session_id: self.session_id.clone(),
            input: self.input.clone(),
            history,
            turns,
            model_calls,
            last_requests,
            handoffs,
            rounds,
            next,
            next_seq: self.next_seq,
            t_ms: self.t_ms,
            breakpoints: self
                .breakpoints
                .iter()
                .filter_map(|spec| spec.parse().ok())
                .collect(),
            held: self.held.iter().cloned().collect(),
            guidance: self
                .guidance
                .iter()
                .flat_map(|(agent, texts)| texts.iter().map(|t| (agent.clone(), t.clone())))
                .collect(),
            next_gate: self.last_gate + 1,
            pass_once: resumed.iter().map(|g| (g.agent.clone(), g.kind)).collect(),
            resumed_gates: resumed.iter().map(|g| g.gate.clone()).collect(),
            spend: self.ledger().clone(),
        })
    }
}

/// A model call that ended, one way or another: it counts, and is never asked again.
fn finished(state: CallState) -> bool {
    match state {
        CallState::Replied | CallState::Failed | CallState::Cancelled => true,
        CallState::Streaming | CallState::Abandoned => false,
    }
}

/// Where a turn that has not ended stands.
fn progress(a: &AgentRun, record: &TurnRecord) -> TurnProgress {
    let calls: Vec<_> = record
        .steps
        .iter()
        .filter_map(|step| match step {
            super::TurnStep::Call(i) => a.call(*i),
            super::TurnStep::Tool(_)
            | super::TurnStep::Failed { .. }
            | super::TurnStep::Cancelled { .. }
            | super::TurnStep::Intervention(_) => None,
        })
        .collect();
    let model_calls = calls.iter().filter(|c| finished(c.state)).count();
    let last_reply = calls
        .iter()
        .rev()
        .filter(|c| c.state == CallState::Replied)
        .find_map(|c| c.reply.as_ref().filter(|r| r.kept));
    let reply = last_reply.map(|r| r.content.clone()).unwrap_or_default();
    let asked_again = calls
        .last()
        .is_some_and(|c| c.state == CallState::Streaming);
    let stopped = record.steps.iter().rev().find_map(|step| match step {
        super::TurnStep::Failed { .. } => Some(TurnEnd::Failed),
        super::TurnStep::Cancelled { .. } => Some(TurnEnd::Cancelled),
        super::TurnStep::Call(_) | super::TurnStep::Tool(_) | super::TurnStep::Intervention(_) => {
            None
        }
    });
    let next = match (stopped, last_reply) {
        // A failure or a cancellation ended the turn; the end was not yet reported.
        (Some(end), _) => TurnNext::Ended(end),
        (None, None) => TurnNext::Call,
        // The model was already being asked again: its tools had all run.
        (None, Some(_)) if asked_again => TurnNext::Call,
        (None, Some(r)) if r.tool_calls.is_empty() => TurnNext::Ended(TurnEnd::Completed),
        (None, Some(r)) => {
            let done = |id: &crate::engine::event::CallId| {
                record
                    .tools
                    .iter()
                    .any(|run| run.call_id == *id && run.end.is_some())
            };
            let pending: Vec<_> = r
                .tool_calls
                .iter()
                .filter(|c| !done(&c.id))
                .cloned()
                .collect();
            if pending.is_empty() {
                TurnNext::Call
            } else {
                TurnNext::Tools {
                    calls: pending,
                    text_calls: r.text_calls,
                }
            }
        }
    };
    TurnProgress {
        turn: record.turn,
        input: record.input.clone(),
        entries: record.entries.clone(),
        model_calls,
        tool_calls: record.tools.iter().filter(|t| t.end.is_some()).count(),
        reply,
        next,
    }
}
