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
use super::event::{EventKind, HandoffReason, Outcome};
use super::history::{Author, History};
use super::resume::Step;
use super::routing::{Route, route};
use super::turn::{TurnContext, TurnResult, TurnStatus, run_turn};
use crate::config::model::{Agent, Crew};
use crate::provider::{ChatMessage, Providers};
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
    pub turns: HashMap<String, u32>,
    pub model_calls: HashMap<String, usize>,
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

impl Session {
    /// Runs from `first` to the end of the session. A new session (`announce`) first says it
    /// started; a resumed one goes on where its recording stopped.
    pub async fn run(mut self, first: Step, announce: bool) -> Outcome {
        if announce {
            self.emitter
                .emit(EventKind::SessionStarted {
                    session_id: self.session_id.clone(),
                    crew: self.crew.name.clone(),
                    input: self.input.clone(),
                })
                .await;
        }
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
            // A round is an agent's turn or a group's; waiting and moving on are not.
            if matches!(step, Step::Agent { .. } | Step::Group { .. }) {
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
                } => self.agent_step(id, input, user_message).await,
                Step::Group { name } => self.group_step(&name).await,
                Step::AwaitAnswer { agent, prompt } => {
                    self.pause(&agent, &prompt).await.map(|answer| Step::Agent {
                        id: agent,
                        input: answer.clone(),
                        user_message: Some(answer),
                    })
                }
                Step::AfterGroup { name, replies } => self.after_group(&name, replies).await,
            };
            step = match next {
                Ok(step) => step,
                Err(finish) => return finish,
            };
        }
    }

    /// Runs one agent turn and decides where to go next.
    async fn agent_step(
        &mut self,
        id: String,
        input: String,
        user_message: Option<String>,
    ) -> Result<Step, Finish> {
        let agent = self.agent(&id)?;
        let token = self.cancel.child_token();
        Running::set(&self.running.agents, &id, Some(token.clone()));
        let mut task = self.spawn_turn(agent, input, user_message, self.history.clone(), token);
        let result = tokio::select! {
            joined = &mut task => joined,
            () = tokio::time::sleep_until(self.deadline) => {
                self.cancel.cancel();
                task.await
            }
        };
        Running::set(&self.running.agents, &id, None);
        let result = self.absorb(result, &id)?;
        for entry in result.entries {
            self.history.extend([entry]);
        }
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
        match route(&self.crew, &id, &result.reply) {
            Route::Handoff { to, reason, signal } => {
                self.count_handoff()?;
                self.emitter
                    .emit(EventKind::Handoff {
                        from: id,
                        to: to.clone(),
                        reason,
                        signal,
                    })
                    .await;
                Ok(Step::Agent {
                    id: to,
                    input: result.reply,
                    user_message: None,
                })
            }
            Route::Parallel { group, .. } => {
                self.count_handoff()?;
                Ok(Step::Group { name: group })
            }
            Route::Pause => Ok(Step::AwaitAnswer {
                agent: id,
                prompt: result.reply,
            }),
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
        id: &str,
    ) -> Result<TurnResult, Finish> {
        let result = joined.map_err(|e| {
            Finish::new(
                Outcome::Failed,
                format!("agent `{id}` stopped unexpectedly: {e}"),
            )
        })?;
        *self.model_calls.entry(id.to_string()).or_default() += result.model_calls;
        Ok(result)
    }

    /// The crew's agent by id. The loader checked every id routing can name, so a miss means a
    /// crew that changed under a resumed session.
    fn agent(&self, id: &str) -> Result<Agent, Finish> {
        self.crew
            .agent(id)
            .cloned()
            .ok_or_else(|| Finish::new(Outcome::Failed, format!("the crew has no agent `{id}`")))
    }

    fn spawn_turn(
        &mut self,
        agent: Agent,
        input: String,
        user_message: Option<String>,
        history: History,
        cancel: CancellationToken,
    ) -> JoinHandle<TurnResult> {
        let id = agent.id.clone();
        let turn = self.turns.entry(id.clone()).or_default();
        *turn += 1;
        let settings = &self.crew.settings;
        let cx = TurnContext {
            signals: self
                .crew
                .routing
                .signals
                .get(&id)
                .cloned()
                .unwrap_or_default(),
            provider: self.providers.get(&agent.provider),
            agent,
            turn: *turn,
            input,
            user_message,
            history,
            steps_before: self.model_calls.get(&id).copied().unwrap_or(0),
            max_model_calls: settings.max_rounds,
            tools: Arc::clone(&self.tools),
            tool_limits: ToolLimits::from_settings(settings),
            emitter: self.emitter.clone(),
            cancel,
        };
        tokio::spawn(run_turn(cx))
    }

    /// Waits for the user's answer to a pause.
    async fn pause(&mut self, id: &str, prompt: &str) -> Result<String, Finish> {
        self.emitter
            .emit(EventKind::Paused {
                agent: id.to_string(),
                prompt: prompt.to_string(),
            })
            .await;
        let token = self.cancel.child_token();
        Running::set(&self.running.agents, id, Some(token.clone()));
        let paused_at = Instant::now();
        let answer = tokio::select! {
            answer = self.answers.recv() => answer,
            () = token.cancelled() => None,
        };
        Running::set(&self.running.agents, id, None);
        self.deadline += paused_at.elapsed();
        match answer {
            Some(input) => {
                self.emitter
                    .emit(EventKind::Resumed {
                        agent: id.to_string(),
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

    /// Runs a parallel group: every member at once, each on its own copy of the history.
    async fn group_step(&mut self, name: &str) -> Result<Step, Finish> {
        let Some(group) = self.crew.routing.parallel_groups.get(name).cloned() else {
            return Err(Finish::new(
                Outcome::Failed,
                format!("parallel group `{name}` does not exist"),
            ));
        };
        self.emitter
            .emit(EventKind::ParallelStarted {
                group: name.to_string(),
                agents: group.agents.clone(),
            })
            .await;
        let group_token = self.cancel.child_token();
        Running::set(&self.running.groups, name, Some(group_token.clone()));
        let input = self.last_reply();
        let mut tasks = JoinSet::new();
        let mut tokens = Vec::new();
        let members = group
            .agents
            .iter()
            .map(|id| self.agent(id))
            .collect::<Result<Vec<_>, _>>()?;
        for (index, agent) in members.into_iter().enumerate() {
            let token = group_token.child_token();
            Running::set(&self.running.agents, &agent.id, Some(token.clone()));
            tokens.push(token.clone());
            let task = self.spawn_turn(agent, input.clone(), None, self.history.clone(), token);
            tasks.spawn(async move { (index, task.await) });
        }
        let group_deadline = std::cmp::min(
            self.deadline,
            Instant::now() + std::time::Duration::from_secs(group.timeout_seconds),
        );
        let mut results: Vec<Option<TurnResult>> = group.agents.iter().map(|_| None).collect();
        let mut timed_out = Vec::new();
        let mut deadline_hit = false;
        let mut not_needed = Vec::new();
        loop {
            let joined = tokio::select! {
                joined = tasks.join_next() => joined,
                () = tokio::time::sleep_until(group_deadline), if !deadline_hit => {
                    deadline_hit = true;
                    for (index, token) in tokens.iter().enumerate() {
                        if results[index].is_none() {
                            timed_out.push(group.agents[index].clone());
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
            let id = group.agents[index].clone();
            let result = self.absorb(result, &id)?;
            let done_ok = result.status == TurnStatus::Completed;
            results[index] = Some(result);
            if done_ok && !group.wait_for_all && !deadline_hit {
                // The first reply is enough; the others are stopped, which is no failure of theirs.
                for (i, token) in tokens.iter().enumerate() {
                    if results[i].is_none() && !token.is_cancelled() {
                        not_needed.push(group.agents[i].clone());
                        token.cancel();
                    }
                }
            }
        }
        for id in &group.agents {
            Running::set(&self.running.agents, id, None);
        }
        Running::set(&self.running.groups, name, None);

        let mut completed = Vec::new();
        let mut failed = Vec::new();
        let mut labelled = Vec::new();
        for (id, result) in group.agents.iter().zip(results) {
            let Some(result) = result else {
                failed.push(id.clone());
                continue;
            };
            match result.status {
                TurnStatus::Completed => {
                    labelled.push(format!("[{id}] {}", result.reply));
                    completed.push(id.clone());
                    self.history.extend(result.entries);
                }
                TurnStatus::Cancelled if timed_out.contains(id) || not_needed.contains(id) => {}
                TurnStatus::Cancelled | TurnStatus::Failed(_) | TurnStatus::Limit(_) => {
                    failed.push(id.clone())
                }
            }
        }
        self.emitter
            .emit(EventKind::ParallelFinished {
                group: name.to_string(),
                completed: completed.clone(),
                failed,
                timed_out,
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
        self.after_group(name, labelled.join("\n\n")).await
    }

    /// Routes on from a finished group: to its next agent with the members' labelled replies,
    /// or to the end of the run.
    async fn after_group(&mut self, name: &str, replies: String) -> Result<Step, Finish> {
        let next = self
            .crew
            .routing
            .parallel_groups
            .get(name)
            .and_then(|g| g.next_agent.clone());
        let Some(next) = next else {
            return Err(Finish::new(
                Outcome::Completed,
                format!("parallel group `{name}` finished"),
            ));
        };
        self.count_handoff()?;
        self.emitter
            .emit(EventKind::Handoff {
                from: name.to_string(),
                to: next.clone(),
                reason: HandoffReason::ParallelNext,
                signal: None,
            })
            .await;
        Ok(Step::Agent {
            id: next,
            input: replies,
            user_message: None,
        })
    }

    /// The text of the most recent reply, which a parallel group's members respond to.
    fn last_reply(&self) -> String {
        self.history
            .entries()
            .iter()
            .rev()
            .find_map(|e| match &e.message {
                ChatMessage::Assistant { content, .. } if !content.is_empty() => {
                    Some(content.clone())
                }
                ChatMessage::User { content } if e.author == Author::User => Some(content.clone()),
                ChatMessage::Assistant { .. }
                | ChatMessage::User { .. }
                | ChatMessage::Tool { .. } => None,
            })
            .unwrap_or_default()
    }
}
