//! Parallel groups: every member at once, each on its own copy of the history; then the
//! members' replies, labelled, go to the group's next agent.

use tokio::task::JoinSet;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::event::{AgentId, EventKind, GroupId, HandoffReason, Outcome, TurnEnd};
use super::history::AgentView;
use super::pump::Running;
use super::session::{Finish, Runner, Session, TurnStart};
use super::step::{MemberStart, Step};
use super::turn::{TurnResult, TurnStatus};

impl Session {
    /// Runs a parallel group: every member at once, each on its own copy of the history. A
    /// resumed group (`members`) reuses what its members had finished and runs only the rest.
    pub(crate) async fn group_step(
        &mut self,
        name: &GroupId,
        members: Option<Vec<MemberStart>>,
    ) -> Result<Step, Finish> {
        let Some(group) = self
            .crew
            .routing
            .parallel_groups
            .get(name.as_str())
            .cloned()
        else {
            return Err(Finish::new(
                Outcome::Failed,
                format!("parallel group `{name}` does not exist"),
            ));
        };
        let ids: Vec<AgentId> = group.agents.iter().map(AgentId::from).collect();
        let starts = match members {
            Some(members) if members.len() == ids.len() => members,
            // A crew whose group changed since the recording: its members start afresh.
            Some(_) | None => {
                self.emitter
                    .emit(EventKind::ParallelStarted {
                        group: name.clone(),
                        agents: ids.clone(),
                        round: Some(self.rounds),
                        handoffs: Some(self.handoffs),
                    })
                    .await;
                ids.iter().map(|_| MemberStart::Fresh).collect()
            }
        };
        let group_token = self.cancel.child_token();
        Running::set(
            &self.running.groups,
            name.as_str(),
            Some(group_token.clone()),
        );
        let input = self.last_reply();
        let mut results: Vec<Option<TurnResult>> = ids.iter().map(|_| None).collect();
        let mut ends: Vec<Option<TurnEnd>> = ids.iter().map(|_| None).collect();
        let mut to_run = Vec::new();
        for (index, start) in starts.into_iter().enumerate() {
            match start {
                MemberStart::Done {
                    status,
                    reply,
                    entries,
                } => {
                    results[index] = Some(TurnResult {
                        status: match status {
                            TurnEnd::Completed => TurnStatus::Completed,
                            TurnEnd::Failed => TurnStatus::Failed(String::new()),
                            TurnEnd::Limit => TurnStatus::Limit(String::new()),
                            TurnEnd::Cancelled | TurnEnd::TimedOut | TurnEnd::NotNeeded => {
                                TurnStatus::Cancelled
                            }
                        },
                        reply,
                        entries,
                        model_calls: 0,
                        last_request: None,
                        view: AgentView::default(),
                    });
                    ends[index] = Some(status);
                }
                MemberStart::Fresh => to_run.push((index, None)),
                MemberStart::Continue(progress) => to_run.push((index, Some(progress))),
            }
        }
        // One reply is enough (`wait_for_all: false`) and the recording already has it.
        let answered = |ends: &[Option<TurnEnd>]| {
            !group.wait_for_all && ends.contains(&Some(TurnEnd::Completed))
        };
        let mut tasks = JoinSet::new();
        let mut tokens: Vec<Option<CancellationToken>> = ids.iter().map(|_| None).collect();
        if !answered(&ends) {
            for (index, progress) in to_run {
                let runner = Runner {
                    agent: self.agent(&ids[index])?,
                    id: ids[index].clone(),
                    prompt: None,
                };
                let token = group_token.child_token();
                Running::set(
                    &self.running.agents,
                    ids[index].as_str(),
                    Some(token.clone()),
                );
                tokens[index] = Some(token.clone());
                let start = match progress {
                    Some(progress) => TurnStart::Continue(progress),
                    None => TurnStart::New {
                        input: input.clone(),
                        user_message: None,
                        round: None,
                    },
                };
                let task = self.spawn_turn(runner, start, self.history.clone(), token);
                tasks.spawn(async move { (index, task.await) });
            }
        }
        // Time at gates does not count, for the group as for the session.
        let group_started = Instant::now();
        let group_deadline = |s: &Session| {
            std::cmp::min(
                s.deadline(),
                group_started
                    + std::time::Duration::from_secs(group.timeout_seconds)
                    + s.gates.waited(),
            )
        };
        let mut timed_out: Vec<AgentId> = Vec::new();
        let mut not_needed: Vec<AgentId> = Vec::new();
        let mut deadline_hit = false;
        let mut detached: Vec<AgentId> = Vec::new();
        loop {
            let joined = tokio::select! {
                joined = tasks.join_next() => joined,
                () = tokio::time::sleep_until(group_deadline(self)), if !deadline_hit => {
                    if Instant::now() < group_deadline(self) {
                        continue;
                    }
                    deadline_hit = true;
                    for (index, token) in tokens.iter().enumerate() {
                        if let Some(token) = token && results[index].is_none() {
                            timed_out.push(ids[index].clone());
                            token.cancel();
                        }
                    }
                    continue;
                }
            };
            let Some(joined) = joined else { break };
            let (index, result) = match joined {
                Ok(pair) => pair,
                Err(e) => {
                    tracing::error!("parallel member task failed to join: {e}");
                    continue;
                }
            };
            let id = ids[index].clone();
            let result = self.absorb(result, &id)?;
            if result.status == TurnStatus::Detached {
                detached.push(id);
                continue;
            }
            let end = match result.status.end() {
                TurnEnd::Cancelled if timed_out.contains(&id) => TurnEnd::TimedOut,
                TurnEnd::Cancelled if not_needed.contains(&id) => TurnEnd::NotNeeded,
                end => end,
            };
            self.emitter
                .emit(EventKind::TurnEnded {
                    agent: id.clone(),
                    turn: self.turns.get(&id).copied().unwrap_or_default(),
                    status: end,
                    reply: result.reply.clone(),
                    joined: false,
                })
                .await;
            results[index] = Some(result);
            ends[index] = Some(end);
            if end == TurnEnd::Completed && !group.wait_for_all && !deadline_hit {
                // The first reply is enough; the others are stopped, which is no failure of theirs.
                for (i, token) in tokens.iter().enumerate() {
                    if let Some(token) = token
                        && results[i].is_none()
                        && !token.is_cancelled()
                    {
                        not_needed.push(ids[i].clone());
                        token.cancel();
                    }
                }
            }
        }
        for id in &ids {
            Running::set(&self.running.agents, id.as_str(), None);
        }
        Running::set(&self.running.groups, name.as_str(), None);
        if !detached.is_empty() {
            // The group is not over: a resume goes on with the members that had not finished.
            let left: Vec<&str> = detached.iter().map(AgentId::as_str).collect();
            return Err(Finish::detached(&format!(
                "parallel group `{name}` was left mid-way ({} not finished)",
                left.join(", ")
            )));
        }

        let mut completed = Vec::new();
        let mut failed = Vec::new();
        let mut timed_out = Vec::new();
        let mut labelled = Vec::new();
        for ((id, result), end) in ids.iter().zip(results).zip(ends) {
            let (Some(result), Some(end)) = (result, end) else {
                // Never started: the recording already had the reply the group waited for.
                continue;
            };
            match end {
                TurnEnd::Completed => {
                    labelled.push(format!("[{id}] {}", result.reply));
                    completed.push(id.clone());
                    self.history.extend(result.entries);
                }
                TurnEnd::TimedOut => timed_out.push(id.clone()),
                TurnEnd::NotNeeded => {}
                TurnEnd::Cancelled | TurnEnd::Failed | TurnEnd::Limit => failed.push(id.clone()),
            }
        }
        let output = labelled.join("\n\n");
        self.emitter
            .emit(EventKind::ParallelFinished {
                group: name.clone(),
                completed: completed.clone(),
                failed,
                timed_out,
                joined: Some(completed.clone()),
                output: Some(output.clone()),
            })
            .await;
        if self.cancel.is_cancelled() {
            return Err(self.cancelled_finish(&format!("parallel group `{name}`")));
        }
        if completed.is_empty() && group_token.is_cancelled() {
            return Err(Finish::new(
                Outcome::Cancelled,
                format!("parallel group `{name}` was cancelled"),
            ));
        }
        if completed.is_empty() {
            return Err(Finish::new(
                Outcome::Failed,
                format!("no agent of parallel group `{name}` completed"),
            ));
        }
        Ok(Step::AfterGroup {
            name: name.clone(),
            output,
        })
    }

    /// Routes on from a finished group: to its next agent with the members' labelled replies,
    /// or to the end of the run.
    pub(crate) async fn after_group(
        &mut self,
        name: &GroupId,
        output: String,
    ) -> Result<Step, Finish> {
        let next = self
            .crew
            .routing
            .parallel_groups
            .get(name.as_str())
            .and_then(|g| g.next_agent.clone());
        let Some(next) = next else {
            return Err(Finish::new(
                Outcome::Completed,
                format!("parallel group `{name}` finished"),
            ));
        };
        self.count_handoff()?;
        let next = AgentId(next);
        self.emitter
            .emit(EventKind::Handoff {
                from: name.to_string(),
                to: next.clone(),
                reason: HandoffReason::ParallelNext,
                signal: None,
                handoffs: Some(self.handoffs),
            })
            .await;
        Ok(Step::after_handoff(next, output))
    }
}
