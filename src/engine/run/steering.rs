//! How the debugger's events fold into the run: where agents stopped and what was decided,
//! guidance given and taken, holds, breakpoints, rejected commands, re-runs and the variant kept.

use super::*;

impl Run {
    /// Takes one of the debugger's events; [`Run::apply`] sends them here.
    pub(super) fn apply_steering(&mut self, kind: &EventKind, t: u64) {
        match kind {
            EventKind::Gate {
                gate,
                agent,
                kind,
                reason,
                detail,
            } => {
                if let Some(n) = gate.as_str().strip_prefix('g').and_then(|n| n.parse().ok()) {
                    self.last_gate = self.last_gate.max(n);
                }
                let at = gate_place(*kind, detail);
                let a = self.agent_mut(agent);
                a.set_state(AgentState::Stopped, t);
                a.timeline.push(Item::Note(Note::Gate {
                    gate: gate.clone(),
                    at,
                    reason: reason.clone(),
                }));
                self.open_gates.push(OpenGate {
                    gate: gate.clone(),
                    agent: agent.clone(),
                    kind: *kind,
                    reason: reason.clone(),
                    detail: detail.clone(),
                    t_ms: t,
                });
                let stop = Stop {
                    gate: gate.clone(),
                    kind: *kind,
                    reason: reason.clone(),
                    at: gate_place(*kind, detail),
                    detail: intervention::slim_detail(*kind, detail),
                    t_ms: t,
                    decision: None,
                    left_open_ms: None,
                    asked_again: false,
                };
                self.intervene(agent, Intervention::Stop(Box::new(stop)));
            }
            EventKind::Decision {
                gate,
                op,
                by_resume,
                reason,
                arguments,
                system_prompt,
                messages,
            } => {
                let Some(i) = self.open_gates.iter().position(|g| g.gate == *gate) else {
                    return;
                };
                let open = self.open_gates.remove(i);
                let detail = match (reason, arguments, system_prompt, messages) {
                    (Some(reason), _, _, _) => reason.clone(),
                    (_, Some(arguments), _, _) => format!("ran with {arguments}"),
                    (_, _, Some(_), _) | (_, _, _, Some(_)) => "sent edited".to_string(),
                    (None, None, None, None) if *by_resume => "by resuming".to_string(),
                    (None, None, None, None) => String::new(),
                };
                let request = (system_prompt.is_some() || messages.is_some()).then(|| {
                    intervention::request_edit(
                        &open.detail,
                        system_prompt.as_ref(),
                        messages.as_ref(),
                    )
                });
                if let Some(stop) = self.stop_mut(&open.agent, gate) {
                    stop.decision = Some(Decided {
                        op: op.clone(),
                        by_resume: *by_resume,
                        reason: reason.clone(),
                        arguments: arguments.clone(),
                        request,
                        t_ms: t,
                    });
                }
                let a = self.agent_mut(&open.agent);
                a.timeline.push(Item::Note(Note::Decided {
                    op: op.clone(),
                    detail,
                }));
                let state = match open.kind {
                    GateKind::ToolCall => AgentState::RunningTool,
                    GateKind::Turn => AgentState::Waiting,
                    GateKind::ModelCall
                    | GateKind::Signal
                    | GateKind::Failure
                    | GateKind::Budget => AgentState::Thinking,
                };
                a.set_state(state, t);
            }
            EventKind::Guidance { agent, text, entry } => {
                let pending = self.guidance.entry(agent.clone()).or_default();
                let given = match entry {
                    None => {
                        pending.push(text.clone());
                        true
                    }
                    // Taken into a model call: said once, when it was given.
                    Some(_) => match pending.iter().position(|t| t == text) {
                        Some(i) => {
                            pending.remove(i);
                            false
                        }
                        None => true,
                    },
                };
                let a = self.agent_mut(agent);
                if given {
                    a.timeline
                        .push(Item::Note(Note::Guidance { text: text.clone() }));
                }
                if let (Some(message), Some(open)) = (entry, a.open_turn()) {
                    open.entries.push(Entry {
                        author: Author::Agent(agent.clone()),
                        message: message.clone(),
                    });
                }
                match entry {
                    None => self.intervene(
                        agent,
                        Intervention::Guidance(Guidance {
                            text: text.clone(),
                            given_ms: Some(t),
                            taken_ms: None,
                        }),
                    ),
                    Some(_) => self.guidance_taken(agent, text, t),
                }
            }
            EventKind::Breakpoints { specs } => self.breakpoints = specs.clone(),
            EventKind::Hold { agent, held } => {
                if *held {
                    self.held.insert(agent.clone());
                } else {
                    self.held.remove(agent);
                }
                self.intervene(
                    agent,
                    Intervention::Hold {
                        held: *held,
                        t_ms: t,
                    },
                );
            }
            EventKind::CommandRejected { op, error } => {
                self.rejected = Some((op.clone(), error.clone()));
            }
            EventKind::Rerun {
                agent,
                turn,
                variants,
                history_len,
                rounds,
                handoffs,
                system_prompt,
                temperature,
            } => {
                let prompt_before = self
                    .agent(agent.as_str())
                    .and_then(|a| a.last_request())
                    .map(|r| r.system_prompt.clone());
                self.reruns.push(RerunRecord {
                    agent: agent.clone(),
                    turn: *turn,
                    variants: *variants,
                    system_prompt: system_prompt.clone().map(|after| (prompt_before, after)),
                    temperature: *temperature,
                    t_ms: t,
                    kept: None,
                });
                self.story.push(Chapter::Rerun(self.reruns.len() - 1));
                let removed = self.history.truncate(*history_len);
                // The path goes back to the turn that runs again.
                let agent_step = RouteStep::Agent(agent.clone());
                if let Some(at) = self.route.rfind_index(|s| *s == agent_step) {
                    let kept = at + 1 - self.route.first_index();
                    self.route
                        .truncate(usize::try_from(kept).unwrap_or(usize::MAX));
                }
                self.rerun = Some(RerunState {
                    agent: agent.clone(),
                    variants: *variants,
                    removed,
                    phase: self.phase.clone(),
                    rounds: self.rounds,
                    handoffs: self.handoffs,
                });
                self.rounds = *rounds;
                self.handoffs = *handoffs;
                self.agent_mut(agent).timeline.push(Item::Note(Note::Rerun {
                    variants: *variants,
                }));
            }
            EventKind::Kept {
                agent,
                variant,
                reply,
                entries,
            } => {
                self.history.extend(entries.iter().cloned());
                self.rerun = None;
                if let Some(rerun) = self
                    .reruns
                    .iter_mut()
                    .rev()
                    .find(|r| r.agent == *agent && r.kept.is_none())
                {
                    rerun.kept = Some((*variant, t));
                }
                let a = self.agent_mut(agent);
                a.timeline
                    .push(Item::Note(Note::Kept { variant: *variant }));
                a.timeline.push(Item::Text {
                    text: reply.clone(),
                    reasoning: false,
                    trimmed: 0,
                });
                a.set_state(AgentState::Done, t);
                self.phase = Phase::Routing {
                    agent: agent.clone(),
                    reply: reply.clone(),
                };
            }
            // Only the kinds above are sent here.
            _ => {}
        }
    }
}
