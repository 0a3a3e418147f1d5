//! Running a turn again from its start: once, as the agent itself, or as several variants at
//! once, side by side, of which the user keeps one and the run goes on from it.

use tokio::task::JoinSet;
use tokio::time::Instant;

use super::event::{AgentId, EventKind};
use super::pump::{Control, Running};
use super::session::{Finish, LastTurn, Runner, Session, TurnStart};
use super::step::Step;
use super::turn::{TurnResult, TurnStatus};

impl Session {
    /// Runs `last` again: with `system_prompt` (the whole prompt sent, signals' list included)
    /// or `temperature` instead of the agent's own when given; as `variants` at once when more
    /// than one.
    pub(crate) async fn rerun(
        &mut self,
        last: LastTurn,
        variants: u32,
        system_prompt: Option<String>,
        temperature: Option<f64>,
    ) -> Result<Step, Finish> {
        let mut agent = self.agent(&last.agent)?;
        if let Some(t) = temperature {
            std::sync::Arc::make_mut(&mut agent).temperature = t;
        }
        // Given whole, as the front end showed it: the prompt the turn was sent with.
        let system_prompt_sent = system_prompt.clone();
        self.rewind(&last);
        let turn = self.turns.get(&last.agent).copied().unwrap_or(0) + 1;
        self.emitter
            .emit(EventKind::Rerun {
                agent: last.agent.clone(),
                turn,
                variants,
                history_len: self.history.len(),
                rounds: self.rounds,
                handoffs: self.handoffs,
                system_prompt,
                temperature,
            })
            .await;
        self.last_turn = Some(last.clone());
        let start = |last: &LastTurn, round| TurnStart::New {
            input: last.input.clone(),
            user_message: last.user_message.clone(),
            round,
        };
        if variants <= 1 {
            let runner = Runner {
                agent,
                id: last.agent.clone(),
                prompt: system_prompt_sent,
            };
            let round = Some(self.rounds);
            return self
                .agent_step(last.agent.clone(), start(&last, round), Some(runner))
                .await;
        }
        let mut tasks = JoinSet::new();
        let ids: Vec<AgentId> = (1..=variants)
            .map(|k| AgentId(format!("{}~{k}", last.agent)))
            .collect();
        let group = self.cancel.child_token();
        for (index, id) in ids.iter().enumerate() {
            // Each variant starts where the agent stood: its calls numbered and recorded from
            // the same point, so a scripted model answers each the same way.
            self.model_calls.insert(id.clone(), last.model_calls);
            self.turns.insert(id.clone(), turn - 1);
            match &last.last_request {
                Some(request) => self.last_requests.insert(id.clone(), request.clone()),
                None => self.last_requests.remove(id),
            };
            // Its view is built from the history at its first model call (see `LastTurn`).
            self.views.remove(id);
            let token = group.child_token();
            Running::set(&self.running.agents, id.as_str(), Some(token.clone()));
            let runner = Runner {
                agent: agent.clone(),
                id: id.clone(),
                prompt: system_prompt_sent.clone(),
            };
            let task = self.spawn_turn(runner, start(&last, None), self.history.clone(), token);
            tasks.spawn(async move { (index, task.await) });
        }
        let mut results: Vec<Option<TurnResult>> = ids.iter().map(|_| None).collect();
        loop {
            let joined = tokio::select! {
                joined = tasks.join_next() => joined,
                () = tokio::time::sleep_until(self.deadline()) => {
                    if Instant::now() >= self.deadline() {
                        self.cancel.cancel();
                    }
                    continue;
                }
            };
            let Some(joined) = joined else { break };
            let Ok((index, result)) = joined else {
                continue;
            };
            let result = self.absorb(result, &ids[index])?;
            self.emitter
                .emit(EventKind::TurnEnded {
                    agent: ids[index].clone(),
                    turn,
                    status: result.status.end(),
                    reply: result.reply.clone(),
                    joined: false,
                })
                .await;
            results[index] = Some(result);
        }
        for id in &ids {
            Running::set(&self.running.agents, id.as_str(), None);
        }
        if self.cancel.is_cancelled() {
            return Err(self.cancelled_finish(&format!("the re-run of `{}`", last.agent)));
        }
        let kept = self.await_keep(&last.agent, variants).await?;
        let Some(result) = results[kept as usize - 1].take() else {
            return Err(Finish::new(
                crate::engine::Outcome::Failed,
                format!("variant {kept} of `{}` did not run", last.agent),
            ));
        };
        if !matches!(result.status, TurnStatus::Completed) {
            return Err(Finish::new(
                crate::engine::Outcome::Failed,
                format!(
                    "the kept variant {kept} of `{}` did not complete",
                    last.agent
                ),
            ));
        }
        let variant = &ids[kept as usize - 1];
        self.emitter
            .emit(EventKind::Kept {
                agent: last.agent.clone(),
                variant: kept,
                reply: result.reply.clone(),
                entries: result.entries.clone(),
            })
            .await;
        // The kept variant becomes the agent's turn: its entries, calls and request.
        self.history.extend(result.entries);
        let calls = self.model_calls.get(variant).copied().unwrap_or(0);
        self.model_calls.insert(last.agent.clone(), calls);
        if let Some(request) = self.last_requests.remove(variant) {
            self.last_requests.insert(last.agent.clone(), request);
        }
        if let Some(view) = self.views.remove(variant) {
            self.views.insert(last.agent.clone(), view);
        }
        self.turns.insert(last.agent.clone(), turn);
        self.route_after(last.agent.clone(), result.reply).await
    }

    /// Waits for the user to keep one of `count` variants of `agent`'s turn.
    async fn await_keep(&mut self, agent: &AgentId, count: u32) -> Result<u32, Finish> {
        loop {
            let control = tokio::select! {
                control = self.control.recv() => control,
                () = self.gates.detached().cancelled() => {
                    return Err(Finish::detached(&format!(
                        "the variants of `{agent}` wait for one to be kept"
                    )));
                }
                () = self.cancel.cancelled() => {
                    return Err(self.cancelled_finish(&format!("the re-run of `{agent}`")));
                }
            };
            let error = match control {
                None => {
                    return Err(Finish::detached(&format!(
                        "the variants of `{agent}` wait for one to be kept"
                    )));
                }
                Some(Control::Keep { agent: a, variant })
                    if a == *agent && (1..=count).contains(&variant) =>
                {
                    return Ok(variant);
                }
                Some(Control::Keep { variant, .. }) => {
                    format!("keep {variant}: give a variant of `{agent}` from 1 to {count}")
                }
                Some(Control::Rerun { .. }) => {
                    format!("the variants of `{agent}` wait for one to be kept first")
                }
            };
            self.emitter
                .emit(EventKind::CommandRejected {
                    op: "keep".into(),
                    error,
                })
                .await;
        }
    }
}
