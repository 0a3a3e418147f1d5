//! A running session: the routing loop, pauses, limits, the gates between steps and re-runs.
//!
//! The session task owns its crew clone and its history; agent turns run as their own tasks
//! with their own copies. Commands arrive through a small pump task ([`super::pump`]) that
//! hands them to what they address, so the routing loop can be plain sequential code: it
//! only looks at its control channel where it waits anyway (a gate, a pause).

use std::collections::HashMap;
use std::sync::Arc;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::emitter::Emitter;
use super::event::{AgentId, EventKind, HandoffReason, Message, Outcome};
use super::gate::{Decision, GateId, Gatekeeper, Halt, Place};
use super::history::{AgentView, Author, History};
use super::pump::{Control, Running};
use super::request::Request;
use super::routing::{Route, route};
use super::step::{Step, TurnProgress};
use super::turn::{TurnContext, TurnResult, TurnStatus, run_turn};
use crate::config::model::{Agent, Crew};
use crate::provider::Providers;
use crate::tools::{ToolLimits, ToolRegistry};

pub(crate) struct Session {
    pub crew: Crew,
    /// The crew's agents, each shared by every turn it runs rather than copied per turn (a
    /// scripted agent carries its whole script).
    pub agents: HashMap<AgentId, Arc<Agent>>,
    pub input: String,
    pub session_id: String,
    pub emitter: Emitter,
    pub providers: Providers,
    pub tools: Arc<ToolRegistry>,
    pub running: Arc<Running>,
    pub answers: mpsc::Receiver<String>,
    pub control: mpsc::Receiver<Control>,
    pub gates: Arc<Gatekeeper>,
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
    /// Time at gates is added as it passes (see [`Session::deadline`]).
    pub deadline: Instant,
    /// The last turn of its own that began, as it began: what a re-run starts again from.
    pub last_turn: Option<LastTurn>,
    /// Gates the recording left open, which resuming decides: said first.
    pub resumed_gates: Vec<GateId>,
}

/// A turn as it began, kept so that it can run again from its start.
#[derive(Clone, Debug)]
pub(crate) struct LastTurn {
    pub agent: AgentId,
    pub input: String,
    pub user_message: Option<String>,
    pub history: History,
    pub rounds: u32,
    pub handoffs: u32,
    pub model_calls: usize,
    pub last_request: Option<Request>,
    // No copy of the agent's view: it would share the view's storage, and the turn's first
    // model call would then copy the whole history to extend it. A view is a function of the
    // history it follows, so a re-run builds it again from `history`.
}

/// How the routing loop ended.
pub(crate) struct Finish {
    pub outcome: Outcome,
    pub reason: String,
}

impl Finish {
    pub fn new(outcome: Outcome, reason: impl Into<String>) -> Self {
        Self {
            outcome,
            reason: reason.into(),
        }
    }

    /// The session ends resumable: it was detached, or nobody is left to decide a gate.
    pub fn detached(what: &str) -> Self {
        Self::new(
            Outcome::Paused,
            format!("{what}; `crewtui resume` goes on from there"),
        )
    }
}

/// How a new turn is to start, or where a recorded one goes on.
pub(crate) enum TurnStart {
    New {
        input: String,
        user_message: Option<String>,
        round: Option<u32>,
    },
    Continue(TurnProgress),
}

/// What a turn runs as: the agent of the crew, or a re-run's variant of it.
pub(crate) struct Runner {
    pub agent: Arc<Agent>,
    /// The id its events carry: the agent's, or `AGENT~N` for a variant.
    pub id: AgentId,
    /// A re-run's system prompt, sent whole instead of the one built from the agent.
    pub prompt: Option<String>,
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
        if !self.gates.breakpoints().is_empty() {
            self.emitter
                .emit(EventKind::Breakpoints {
                    specs: self.gates.breakpoints(),
                })
                .await;
        }
        for gate in std::mem::take(&mut self.resumed_gates) {
            self.emitter
                .emit(EventKind::Decision {
                    gate,
                    op: "continue".into(),
                    by_resume: true,
                    reason: None,
                    arguments: None,
                    system_prompt: None,
                    messages: None,
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

    /// The session's deadline: time at gates does not count.
    pub fn deadline(&self) -> Instant {
        self.deadline + self.gates.waited()
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
                } => self.new_turn(id, input, user_message).await,
                Step::Continue { agent, progress } => {
                    self.agent_step(agent, TurnStart::Continue(progress), None)
                        .await
                }
                Step::Route { agent, reply } => self.route_after(agent, reply).await,
                Step::Group { name, members } => self.group_step(&name, members).await,
                Step::AwaitAnswer {
                    agent,
                    prompt,
                    asked,
                } => self.pause(agent, &prompt, asked).await,
                Step::AfterGroup { name, output } => self.after_group(&name, output).await,
            };
            step = match next {
                Ok(step) => step,
                Err(finish) => return finish,
            };
        }
    }

    /// A new turn of `id`: its gate first, then the turn, kept as it began for a re-run.
    async fn new_turn(
        &mut self,
        id: AgentId,
        input: String,
        user_message: Option<String>,
    ) -> Result<Step, Finish> {
        let detail = serde_json::json!({ "input": input });
        self.gate(&id, Place::Turn, detail).await?;
        if let Some(step) = self.rerun_requested().await {
            return step;
        }
        self.last_turn = Some(LastTurn {
            agent: id.clone(),
            input: input.clone(),
            user_message: user_message.clone(),
            history: self.history.clone(),
            rounds: self.rounds,
            handoffs: self.handoffs,
            model_calls: self.model_calls.get(&id).copied().unwrap_or(0),
            // Without its messages, which are the agent's view: a share of them would make
            // the view copy them all at the turn's first call.
            last_request: self.last_requests.get(&id).map(Request::without_messages),
        });
        let start = TurnStart::New {
            input,
            user_message,
            round: Some(self.rounds),
        };
        self.agent_step(id, start, None).await
    }

    /// Stops at a gate between steps, if one is set here. Detaching, or nobody left to decide,
    /// ends the session resumable.
    async fn gate(
        &mut self,
        agent: &AgentId,
        place: Place<'_>,
        detail: serde_json::Value,
    ) -> Result<(), Finish> {
        let Some(why) = self.gates.check(agent, place) else {
            return Ok(());
        };
        let token = self.cancel.child_token();
        Running::set(&self.running.agents, agent.as_str(), Some(token.clone()));
        let decision = self
            .gates
            .stop(
                &self.emitter,
                agent,
                Halt {
                    place,
                    why,
                    detail,
                    call_id: None,
                },
                &token,
            )
            .await;
        Running::set(&self.running.agents, agent.as_str(), None);
        if token.is_cancelled() {
            return Err(self.cancelled_finish(&format!("agent `{agent}`")));
        }
        match decision {
            Decision::Detach => Err(Finish::detached(&format!(
                "agent `{agent}` waits at a gate"
            ))),
            Decision::Continue
            | Decision::Step
            | Decision::Approve
            | Decision::Deny { .. }
            | Decision::EditCall { .. }
            | Decision::EditRequest { .. } => Ok(()),
        }
    }

    /// Runs one agent turn (or the rest of one), joins what it added to the history, and
    /// decides where to go next. `runner` is who runs it when it is not the crew's agent
    /// (a re-run with another system prompt).
    pub(crate) async fn agent_step(
        &mut self,
        id: AgentId,
        start: TurnStart,
        runner: Option<Runner>,
    ) -> Result<Step, Finish> {
        let runner = match runner {
            Some(runner) => runner,
            None => Runner {
                agent: self.agent(&id)?,
                id: id.clone(),
                prompt: None,
            },
        };
        let token = self.cancel.child_token();
        Running::set(&self.running.agents, id.as_str(), Some(token.clone()));
        let mut task = self.spawn_turn(runner, start, self.history.clone(), token);
        let result = loop {
            tokio::select! {
                joined = &mut task => break joined,
                () = tokio::time::sleep_until(self.deadline()) => {
                    if Instant::now() >= self.deadline() {
                        self.cancel.cancel();
                        break task.await;
                    }
                }
            }
        };
        Running::set(&self.running.agents, id.as_str(), None);
        let result = self.absorb(result, &id)?;
        if result.status == TurnStatus::Detached {
            // Not over: the recording shows where it stopped, and a resume goes on from there.
            return Err(Finish::detached(&format!("agent `{id}` was left mid-turn")));
        }
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
                if let Some(step) = self.rerun_requested().await {
                    return step;
                }
                return Err(Finish::new(
                    Outcome::Failed,
                    format!("agent `{id}` failed: {error}"),
                ));
            }
            TurnStatus::Limit(reason) => return Err(Finish::new(Outcome::Limit, reason)),
            TurnStatus::Cancelled => return Err(self.cancelled_finish(&format!("agent `{id}`"))),
            TurnStatus::Detached => unreachable!("returned above"),
        }
        self.route_after(id, result.reply).await
    }

    /// Where the run goes after `id`'s turn ended with `reply`.
    pub(crate) async fn route_after(&mut self, id: AgentId, reply: String) -> Result<Step, Finish> {
        let route = route(&self.crew, id.as_str(), &reply);
        let signal = match &route {
            Route::Handoff {
                reason: HandoffReason::Signal,
                signal: Some(signal),
                to,
            } => Some((signal.clone(), Some(to.to_string()))),
            Route::Parallel { group, signal } => Some((signal.clone(), Some(group.to_string()))),
            // A signal without a target ends the run; a breakpoint on it stops before the end.
            Route::SignalEnd { signal } => Some((signal.clone(), None)),
            Route::Handoff { .. } | Route::Pause | Route::Terminal | Route::NoRoute => None,
        };
        if let Some((signal, target)) = signal {
            let detail = serde_json::json!({ "signal": signal, "target": target });
            self.gate(&id, Place::Signal { signal: &signal }, detail)
                .await?;
            if let Some(step) = self.rerun_requested().await {
                return step;
            }
        }
        match route {
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

    pub(crate) fn count_handoff(&mut self) -> Result<(), Finish> {
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
    pub(crate) fn cancelled_finish(&self, what: &str) -> Finish {
        if Instant::now() >= self.deadline() {
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
    pub(crate) fn absorb(
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
    pub(crate) fn agent(&self, id: &AgentId) -> Result<Arc<Agent>, Finish> {
        self.agents
            .get(id)
            .cloned()
            .ok_or_else(|| Finish::new(Outcome::Failed, format!("the crew has no agent `{id}`")))
    }

    pub(crate) fn spawn_turn(
        &mut self,
        runner: Runner,
        start: TurnStart,
        history: History,
        cancel: CancellationToken,
    ) -> JoinHandle<TurnResult> {
        let Runner { agent, id, prompt } = runner;
        let base = AgentId(agent.id.clone());
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
            prompt,
            signals: self
                .crew
                .routing
                .signals
                .get(base.as_str())
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
            gates: Arc::clone(&self.gates),
            cancel,
            speaks_as: base,
            id,
        };
        tokio::spawn(run_turn(cx))
    }

    /// Waits for the user's answer to a pause (`asked`: the pause is already on record). A
    /// re-run of the agent that asked may come instead.
    async fn pause(&mut self, id: AgentId, prompt: &str, asked: bool) -> Result<Step, Finish> {
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
        enum Woke {
            Answer(Option<String>),
            Control(Option<Control>),
            Cancelled,
            Detached,
        }
        let woke = tokio::select! {
            // What was sent before a cancel or detach is taken first, as at a gate.
            biased;
            answer = self.answers.recv() => Woke::Answer(answer),
            control = self.control.recv() => Woke::Control(control),
            () = token.cancelled() => Woke::Cancelled,
            () = self.gates.detached().cancelled() => Woke::Detached,
        };
        Running::set(&self.running.agents, id.as_str(), None);
        self.deadline += paused_at.elapsed();
        match woke {
            Woke::Answer(Some(input)) => {
                self.emitter
                    .emit(EventKind::Resumed {
                        agent: id.clone(),
                        input: input.clone(),
                    })
                    .await;
                Ok(Step::after_answer(id, input))
            }
            Woke::Control(Some(control)) => match self.handle_control(control).await {
                Some(step) => step,
                // Not something the pause can take: it goes on waiting.
                None => Ok(Step::AwaitAnswer {
                    agent: id,
                    prompt: prompt.to_string(),
                    asked: true,
                }),
            },
            Woke::Cancelled => Err(self.cancelled_finish(&format!("agent `{id}`"))),
            Woke::Detached => Err(Finish::detached(&format!(
                "agent `{id}` waits for an answer"
            ))),
            Woke::Answer(None) | Woke::Control(None) => Err(Finish::new(
                Outcome::Paused,
                format!("agent `{id}` is waiting for input"),
            )),
        }
    }

    /// The text of the most recent reply, which a parallel group's members respond to.
    pub(crate) fn last_reply(&self) -> String {
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

    /// A re-run asked for while the session was stopped, taken now: the session is between
    /// steps, right after the turn it would run again.
    async fn rerun_requested(&mut self) -> Option<Result<Step, Finish>> {
        while let Ok(control) = self.control.try_recv() {
            if let Some(step) = self.handle_control(control).await {
                return Some(step);
            }
        }
        None
    }

    /// Carries out a control command between steps; `None` when it does not apply now (which
    /// is said in a `command_rejected` event).
    async fn handle_control(&mut self, control: Control) -> Option<Result<Step, Finish>> {
        let error = match &control {
            Control::Rerun {
                agent,
                variants,
                system_prompt,
                temperature,
            } => match self.last_turn.clone() {
                Some(last) if last.agent == *agent => {
                    // Boxed: a re-run's turn can itself be re-run.
                    let rerun = self.rerun(last, *variants, system_prompt.clone(), *temperature);
                    return Some(Box::pin(rerun).await);
                }
                _ => format!(
                    "agent `{agent}` has no turn that just ended: a turn runs again from a gate, \
                     a pause or a failure right after it"
                ),
            },
            Control::Keep { agent, .. } => format!("agent `{agent}` has no variants waiting"),
        };
        let op = match control {
            Control::Rerun { .. } => "rerun",
            Control::Keep { .. } => "keep",
        };
        self.emitter
            .emit(EventKind::CommandRejected {
                op: op.to_string(),
                error,
            })
            .await;
        None
    }

    /// Puts the session back where `last` began, for the turn to run again.
    pub(crate) fn rewind(&mut self, last: &LastTurn) {
        self.history = last.history.clone();
        self.rounds = last.rounds;
        self.handoffs = last.handoffs;
        self.model_calls
            .insert(last.agent.clone(), last.model_calls);
        match &last.last_request {
            Some(request) => {
                self.last_requests
                    .insert(last.agent.clone(), request.clone());
            }
            None => {
                self.last_requests.remove(&last.agent);
            }
        }
        // Built again from the history at its next model call (see `LastTurn`).
        self.views.remove(&last.agent);
    }
}
