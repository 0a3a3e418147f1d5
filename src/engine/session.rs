//! A running session: the routing loop, parallel groups, pauses and limits.
//!
//! The session task owns its crew clone and its history; agent turns run as their own tasks
//! with their own copies. Commands arrive through a small pump task that only cancels tokens
//! and forwards answers, so the routing loop can be plain sequential code.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::mpsc;
use tokio::task::{JoinHandle, JoinSet};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::command::Command;
use super::emitter::Emitter;
use super::event::{AgentId, EventKind, GroupId, HandoffReason, Message, Outcome, TurnEnd};
use super::history::{AgentView, Author, History};
use super::request::Request;
use super::routing::{Route, route};
use super::step::{MemberStart, Step, TurnProgress};
use super::turn::{TurnContext, TurnResult, TurnStatus, run_turn};
use crate::config::model::{Agent, Crew};
use crate::provider::Providers;
use crate::tools::{ToolLimits, ToolRegistry};

/// Cancellation tokens of what is running now, so commands can reach them.
#[derive(Default)]
pub(crate) struct Running {
    agents: Mutex<HashMap<String, CancellationToken>>,
    groups: Mutex<HashMap<String, CancellationToken>>,
}

impl Running {
    fn set<K: Into<String>>(
        map: &Mutex<HashMap<String, CancellationToken>>,
        key: K,
        token: Option<CancellationToken>,
    ) {
        // A poisoned lock only means another thread panicked mid-insert; the map is still usable.
        let mut map = map.lock().unwrap_or_else(|e| e.into_inner());
        match token {
            Some(token) => map.insert(key.into(), token),
            None => map.remove(&key.into()),
        };
    }

    fn cancel(map: &Mutex<HashMap<String, CancellationToken>>, key: &str) -> bool {
        let map = map.lock().unwrap_or_else(|e| e.into_inner());
        map.get(key).map(CancellationToken::cancel).is_some()
    }
}

/// Reads commands until the front end goes away: cancels what they name, forwards answers.
pub(crate) async fn pump_commands(
    mut commands: mpsc::Receiver<Command>,
    answers: mpsc::Sender<String>,
    running: Arc<Running>,
    session: CancellationToken,
) {
    while let Some(command) = commands.recv().await {
        match command {
            Command::Answer(text) => {
                if answers.send(text).await.is_err() {
                    return;
                }
            }
            Command::CancelAgent(id) => {
                if !Running::cancel(&running.agents, &id) {
                    tracing::debug!(agent = %id, "cancel for an agent that is not running");
                }
            }
            Command::CancelGroup(name) => {
                if !Running::cancel(&running.groups, &name) {
                    tracing::debug!(group = %name, "cancel for a group that is not running");
                }
            }
            Command::CancelSession => session.cancel(),
        }
    }
}

pub(crate) struct Session {
    pub crew: Crew,
    pub input: String,
    pub session_id: String,
    pub emitter: Emitter,
    pub providers: Providers,
    pub tools: Arc<ToolRegistry>,
    pub running: Arc<Running>,
    pub answers: mpsc::Receiver<String>,
    pub cancel: CancellationToken,
    pub history: History,
    pub turns: HashMap<AgentId, u32>,
    pub model_calls: HashMap<AgentId, usize>,
    /// Each agent's newest request as recorded: the next one is recorded as what changed.
    pub last_requests: HashMap<AgentId, Request>,
    /// What each agent was last shown of the history, which its next call extends.
    pub views: HashMap<AgentId, AgentView>,
    pub handoffs: u32,
    pub rounds: u32,
    /// Moves later by the time spent paused: waiting for a person is not the crew's time.
    pub deadline: Instant,
}

/// How the routing loop ended.
struct Finish {
    outcome: Outcome,
    reason: String,
}

impl Finish {
    fn new(outcome: Outcome, reason: impl Into<String>) -> Self {
        Self {
            outcome,
            reason: reason.into(),
        }
    }
}

/// How a new turn is to start, or where a recorded one goes on.
enum TurnStart {
    New {
        input: String,
        user_message: Option<String>,
        round: Option<u32>,
    },
    Continue(TurnProgress),
}

impl Session {
    /// Runs from `first` to the end of the session. A new session (`announce`) first says it
    /// started; a resumed one says it goes on where its recording stopped.
    pub async fn run(mut self, first: Step, announce: bool) -> Outcome {
        let kind = if announce {
            EventKind::SessionStarted {
                session_id: self.session_id.clone(),
                crew: self.crew.name.clone(),
                input: self.input.clone(),
            }
        } else {
            EventKind::SessionResumed {}
        };
        self.emitter.emit(kind).await;
        let finish = self.route_loop(first).await;
        self.emitter
            .emit(EventKind::SessionFinished {
                outcome: finish.outcome,
                reason: finish.reason,
            })
            .await;
        // Whatever still runs (nothing should) has no one to report to.
        self.cancel.cancel();
        finish.outcome
    }

    async fn route_loop(&mut self, mut step: Step) -> Finish {
        loop {
            // A round is an agent's turn or a group's; waiting and moving on are not, and a
            // resumed turn or group was counted when it began.
            if step.counts_a_round() {
                if self.rounds >= self.crew.settings.max_rounds {
                    return Finish::new(
                        Outcome::Limit,
                        format!("max_rounds ({}) reached", self.crew.settings.max_rounds),
                    );
                }
                self.rounds += 1;
            }
            let next = match step {
                Step::Agent {
                    id,
                    input,
                    user_message,
                } => {
                    let start = TurnStart::New {
                        input,
                        user_message,
                        round: Some(self.rounds),
                    };
                    self.agent_step(id, start).await
                }
                Step::Continue { agent, progress } => {
                    self.agent_step(agent, TurnStart::Continue(progress)).await
                }
                Step::Route { agent, reply } => self.route_after(agent, reply).await,
                Step::Group { name, members } => self.group_step(&name, members).await,
                Step::AwaitAnswer {
                    agent,
                    prompt,
                    asked,
                } => self
                    .pause(&agent, &prompt, asked)
                    .await
                    .map(|answer| Step::after_answer(agent, answer)),
                Step::AfterGroup { name, output } => self.after_group(&name, output).await,
            };
            step = match next {
                Ok(step) => step,
                Err(finish) => return finish,
            };
        }
    }

    /// Runs one agent turn (or the rest of one), joins what it added to the history, and
    /// decides where to go next.
    async fn agent_step(&mut self, id: AgentId, start: TurnStart) -> Result<Step, Finish> {
        let agent = self.agent(&id)?;
        let token = self.cancel.child_token();
        Running::set(&self.running.agents, id.as_str(), Some(token.clone()));
        let mut task = self.spawn_turn(agent, start, self.history.clone(), token);
        let result = tokio::select! {
            joined = &mut task => joined,
            () = tokio::time::sleep_until(self.deadline) => {
                self.cancel.cancel();
                task.await
            }
        };
        Running::set(&self.running.agents, id.as_str(), None);
        let result = self.absorb(result, &id)?;
        self.history.extend(result.entries);
        self.emitter
            .emit(EventKind::TurnEnded {
                agent: id.clone(),
                turn: self.turns.get(&id).copied().unwrap_or_default(),
                status: result.status.end(),
                reply: result.reply.clone(),
                joined: true,
            })
            .await;
        match result.status {
            TurnStatus::Completed => {}
            TurnStatus::Failed(error) => {
                return Err(Finish::new(
                    Outcome::Failed,
                    format!("agent `{id}` failed: {error}"),
                ));
            }
            TurnStatus::Limit(reason) => return Err(Finish::new(Outcome::Limit, reason)),
            TurnStatus::Cancelled => return Err(self.cancelled_finish(&format!("agent `{id}`"))),
        }
        self.route_after(id, result.reply).await
    }

    /// Where the run goes after `id`'s turn ended with `reply`.
    async fn route_after(&mut self, id: AgentId, reply: String) -> Result<Step, Finish> {
        match route(&self.crew, id.as_str(), &reply) {
            Route::Handoff { to, reason, signal } => {
                self.count_handoff()?;
                self.emitter
                    .emit(EventKind::Handoff {
                        from: id.to_string(),
                        to: to.clone(),
                        reason,
                        signal,
                        handoffs: Some(self.handoffs),
                    })
                    .await;
                Ok(Step::after_handoff(to, reply))
            }
            Route::Parallel { group, .. } => {
                self.count_handoff()?;
                Ok(Step::Group {
                    name: group,
                    members: None,
                })
            }
            Route::Pause => Ok(Step::AwaitAnswer {
                agent: id,
                prompt: reply,
                asked: false,
            }),
            Route::SignalEnd { signal } => Err(Finish::new(
                Outcome::Completed,
                format!("signal {signal} of agent `{id}` ends the run"),
            )),
            Route::Terminal => Err(Finish::new(
                Outcome::Completed,
                format!("agent `{id}` is terminal"),
            )),
            Route::NoRoute => Err(Finish::new(
                Outcome::Completed,
                format!("agent `{id}` has no route onward"),
            )),
        }
    }

    fn count_handoff(&mut self) -> Result<(), Finish> {
        if self.handoffs >= self.crew.settings.max_handoffs {
            return Err(Finish::new(
                Outcome::Limit,
                format!("max_handoffs ({}) reached", self.crew.settings.max_handoffs),
            ));
        }
        self.handoffs += 1;
        Ok(())
    }

    /// The finish for a turn that stopped because something cancelled it.
    fn cancelled_finish(&self, what: &str) -> Finish {
        if Instant::now() >= self.deadline {
            Finish::new(
                Outcome::Limit,
                format!(
                    "timeout_seconds ({}) reached",
                    self.crew.settings.timeout_seconds
                ),
            )
        } else if self.cancel.is_cancelled() {
            Finish::new(Outcome::Cancelled, "the session was cancelled")
        } else {
            Finish::new(Outcome::Cancelled, format!("{what} was cancelled"))
        }
    }

    /// Turns a joined task into its result; a turn task that panicked ends the run as failed.
    fn absorb(
        &mut self,
        joined: Result<TurnResult, tokio::task::JoinError>,
        id: &AgentId,
    ) -> Result<TurnResult, Finish> {
        let mut result = joined.map_err(|e| {
            Finish::new(
                Outcome::Failed,
                format!("agent `{id}` stopped unexpectedly: {e}"),
            )
        })?;
        *self.model_calls.entry(id.clone()).or_default() += result.model_calls;
        if let Some(request) = result.last_request.take() {
            self.last_requests.insert(id.clone(), request);
        }
        self.views
            .insert(id.clone(), std::mem::take(&mut result.view));
        Ok(result)
    }

    /// The crew's agent by id. The loader checked every id routing can name, so a miss means a
    /// crew that changed under a resumed session.
    fn agent(&self, id: &AgentId) -> Result<Agent, Finish> {
        self.crew
            .agent(id.as_str())
            .cloned()
            .ok_or_else(|| Finish::new(Outcome::Failed, format!("the crew has no agent `{id}`")))
    }

    fn spawn_turn(
        &mut self,
        agent: Agent,
        start: TurnStart,
        history: History,
        cancel: CancellationToken,
    ) -> JoinHandle<TurnResult> {
        let id = AgentId(agent.id.clone());
        let (turn, input, user_message, round, progress) = match start {
            TurnStart::New {
                input,
                user_message,
                round,
            } => {
                let turn = self.turns.entry(id.clone()).or_default();
                *turn += 1;
                (*turn, input, user_message, round, None)
            }
            TurnStart::Continue(progress) => {
                self.turns.insert(id.clone(), progress.turn);
                (
                    progress.turn,
                    progress.input.clone(),
                    None,
                    None,
                    Some(progress),
                )
            }
        };
        let settings = &self.crew.settings;
        let cx = TurnContext {
            signals: self
                .crew
                .routing
                .signals
                .get(id.as_str())
                .cloned()
                .unwrap_or_default(),
            provider: self.providers.get(&agent.provider),
            backup: self.providers.backup_for(&agent),
            agent,
            turn,
            input,
            user_message,
            round,
            history,
            progress,
            steps_before: self.model_calls.get(&id).copied().unwrap_or(0),
            max_model_calls: settings.max_rounds,
            // Moved, not copied: the turn gives it back, changed, in its result.
            last_request: self.last_requests.remove(&id),
            view: self.views.remove(&id).unwrap_or_default(),
            tools: Arc::clone(&self.tools),
            tool_limits: ToolLimits::from_settings(settings),
            emitter: self.emitter.clone(),
            cancel,
            id,
        };
        tokio::spawn(run_turn(cx))
    }

    /// Waits for the user's answer to a pause; `asked`: the pause is already on record.
    async fn pause(&mut self, id: &AgentId, prompt: &str, asked: bool) -> Result<String, Finish> {
        if !asked {
            self.emitter
                .emit(EventKind::Paused {
                    agent: id.clone(),
                    prompt: prompt.to_string(),
                })
                .await;
        }
        let token = self.cancel.child_token();
        Running::set(&self.running.agents, id.as_str(), Some(token.clone()));
        let paused_at = Instant::now();
        let answer = tokio::select! {
            answer = self.answers.recv() => answer,
            () = token.cancelled() => None,
        };
        Running::set(&self.running.agents, id.as_str(), None);
        self.deadline += paused_at.elapsed();
        match answer {
            Some(input) => {
                self.emitter
                    .emit(EventKind::Resumed {
                        agent: id.clone(),
                        input: input.clone(),
                    })
                    .await;
                Ok(input)
            }
            None if token.is_cancelled() => Err(self.cancelled_finish(&format!("agent `{id}`"))),
            None => Err(Finish::new(
                Outcome::Paused,
                format!("agent `{id}` is waiting for input"),
            )),
        }
    }

    /// Runs a parallel group: every member at once, each on its own copy of the history. A
    /// resumed group (`members`) reuses what its members had finished and runs only the rest.
    async fn group_step(
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
                let agent = self.agent(&ids[index])?;
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
                let task = self.spawn_turn(agent, start, self.history.clone(), token);
                tasks.spawn(async move { (index, task.await) });
            }
        }
        let group_deadline = std::cmp::min(
            self.deadline,
            Instant::now() + std::time::Duration::from_secs(group.timeout_seconds),
        );
        let mut timed_out: Vec<AgentId> = Vec::new();
        let mut not_needed: Vec<AgentId> = Vec::new();
        let mut deadline_hit = false;
        loop {
            let joined = tokio::select! {
                joined = tasks.join_next() => joined,
                () = tokio::time::sleep_until(group_deadline), if !deadline_hit => {
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
    async fn after_group(&mut self, name: &GroupId, output: String) -> Result<Step, Finish> {
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

    /// The text of the most recent reply, which a parallel group's members respond to.
    fn last_reply(&self) -> String {
        self.history
            .entries()
            .rev()
            .find_map(|e| match &e.message {
                Message::Assistant { content, .. } if !content.is_empty() => Some(content.clone()),
                Message::User { content } if e.author == Author::User => Some(content.clone()),
                Message::Assistant { .. } | Message::User { .. } | Message::Tool { .. } => None,
            })
            .unwrap_or_default()
    }
}
