//! How the route folds into the run: hand-offs, parallel groups starting and finishing,
//! pauses and their answers.

use super::*;

impl Run {
    /// Takes one of the route's events; [`Run::apply`] sends them here.
    pub(super) fn apply_route(&mut self, kind: &EventKind, t: u64) {
        match kind {
            EventKind::Handoff {
                from,
                to,
                reason,
                signal,
                handoffs,
            } => {
                let from = match reason {
                    HandoffReason::ParallelNext => Party::Group(GroupId(from.clone())),
                    HandoffReason::Signal | HandoffReason::HandoffTarget => {
                        Party::Agent(AgentId(from.clone()))
                    }
                };
                if let Party::Agent(id) = &from
                    && self.index.contains_key(id)
                {
                    self.agent_mut(id).timeline.push(Item::Note(Note::HandedTo {
                        to: to.clone(),
                        reason: *reason,
                        signal: signal.clone(),
                    }));
                }
                self.agent_mut(to).set_state(AgentState::Waiting, t);
                self.route.push(RouteStep::Agent(to.clone()));
                if let Some(n) = handoffs {
                    self.handoffs = *n;
                }
                let handed = match &self.phase {
                    Phase::Routing { reply, .. } => reply.clone(),
                    Phase::Next(Step::AfterGroup { output, .. }) => output.clone(),
                    _ => String::new(),
                };
                self.phase = Phase::Next(Step::after_handoff(to.clone(), handed));
                self.story.push(Chapter::Handoff {
                    from,
                    to: to.clone(),
                    reason: *reason,
                    signal: signal.clone(),
                    t_ms: t,
                });
            }
            EventKind::ParallelStarted {
                group,
                agents,
                round,
                handoffs,
            } => {
                let starter = self.route.iter().rev().find_map(|s| match s {
                    RouteStep::Agent(id) => Some(id.clone()),
                    RouteStep::Group { .. } => None,
                });
                if let Some(starter) = &starter {
                    self.agent_mut(starter)
                        .timeline
                        .push(Item::Note(Note::StartedGroup {
                            group: group.clone(),
                            agents: agents.clone(),
                        }));
                }
                self.groups.push(GroupRun {
                    id: group.clone(),
                    members: agents.clone(),
                    started_ms: t,
                    starter,
                    member_turns: Vec::new(),
                    end: None,
                    spend: Spend::default(),
                });
                let g = self.groups.len() - 1;
                self.running_group = Some(g);
                self.route.push(RouteStep::Group {
                    id: group.clone(),
                    size: agents.len(),
                });
                for agent in agents {
                    self.agent_mut(agent).set_state(AgentState::Waiting, t);
                }
                if let Some(n) = round {
                    self.rounds = *n;
                }
                if let Some(n) = handoffs {
                    self.handoffs = *n;
                }
                self.phase = Phase::Group(g);
                self.story.push(Chapter::Group(g));
            }
            EventKind::ParallelFinished {
                group,
                completed,
                failed,
                timed_out,
                joined,
                output,
            } => {
                for agent in timed_out {
                    self.agent_mut(agent)
                        .timeline
                        .push(Item::Note(Note::GroupTimedOut));
                }
                let g = self
                    .running_group
                    .filter(|&g| self.groups[g].id == *group)
                    .or_else(|| self.groups.iter().rposition(|r| r.id == *group));
                let joined = joined.clone().unwrap_or_default();
                if let Some(g) = g {
                    for member in &joined {
                        let turn = self.groups[g]
                            .member_turns
                            .iter()
                            .rev()
                            .find(|(id, _)| id == member)
                            .map(|(_, turn)| *turn);
                        let Some(i) = self.agent_index(member.as_str()) else {
                            continue;
                        };
                        let a = &mut self.agents[i];
                        let Some(at) = turn.and_then(|n| a.turns.rfind_index(|r| r.turn == n))
                        else {
                            continue;
                        };
                        if let Some(record) = a.turns.get_mut(at) {
                            record.joined = true;
                            self.history.extend(std::mem::take(&mut record.entries));
                        }
                    }
                    self.groups[g].end = Some(GroupEnd {
                        completed: completed.clone(),
                        failed: failed.clone(),
                        timed_out: timed_out.clone(),
                        joined,
                        output: output.clone(),
                        t_ms: t,
                    });
                    self.phase = Phase::Next(Step::AfterGroup {
                        name: group.clone(),
                        output: output.clone().unwrap_or_default(),
                    });
                }
                self.running_group = None;
            }
            EventKind::Paused { agent, prompt } => {
                self.pause = Some(Pause {
                    agent: agent.clone(),
                    prompt: prompt.clone(),
                });
                // A version 1 recording asked again after the end its first part stopped at.
                self.finish = None;
                let a = self.agent_mut(agent);
                a.set_state(AgentState::Paused, t);
                if a.timeline.last() != Some(&Item::Note(Note::Waiting)) {
                    a.timeline.push(Item::Note(Note::Waiting));
                }
                self.phase = Phase::Paused {
                    agent: agent.clone(),
                    prompt: prompt.clone(),
                };
                self.story.push(Chapter::Paused {
                    agent: agent.clone(),
                    prompt: prompt.clone(),
                    t_ms: t,
                });
            }
            EventKind::Resumed { agent, input } => {
                self.pause = None;
                self.finish = None;
                let a = self.agent_mut(agent);
                a.timeline.push(Item::Note(Note::Answered {
                    input: input.clone(),
                }));
                a.set_state(AgentState::Waiting, t);
                self.phase = Phase::Next(Step::after_answer(agent.clone(), input.clone()));
                self.story.push(Chapter::Answered {
                    agent: agent.clone(),
                    input: input.clone(),
                    t_ms: t,
                });
            }
            // Only the kinds above are sent here.
            _ => {}
        }
    }
}
