//! Commands in: a small task reads the front end's commands and hands each to what it is
//! addressed to — the gate it names (through the [`Gatekeeper`]), the cancellation token of
//! the agent or group it names, the pause waiting for an answer, or the session loop (re-runs).
//! What it cannot carry out it says in a `command_rejected` event; it never stops for that.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::command::Command;
use super::emitter::Emitter;
use super::event::{AgentId, EventKind};
use super::gate::Gatekeeper;

/// Cancellation tokens of what is running now, so commands can reach them.
#[derive(Default)]
pub(crate) struct Running {
    pub agents: Mutex<HashMap<String, CancellationToken>>,
    pub groups: Mutex<HashMap<String, CancellationToken>>,
}

impl Running {
    pub fn set<K: Into<String>>(
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

/// What the session loop itself is asked, between its steps.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Control {
    Rerun {
        agent: AgentId,
        variants: u32,
        system_prompt: Option<String>,
        temperature: Option<f64>,
    },
    Keep {
        agent: AgentId,
        variant: u32,
    },
}

/// What the pump hands commands to.
pub(crate) struct Pump {
    pub answers: mpsc::Sender<String>,
    pub control: mpsc::Sender<Control>,
    pub running: Arc<Running>,
    pub gates: Arc<Gatekeeper>,
    pub emitter: Emitter,
    pub session: CancellationToken,
    /// The crew's agents, which addressed commands must name.
    pub agents: BTreeSet<AgentId>,
}

/// Reads commands until the front end goes away (then no gate can be decided any more) or the
/// session is `done` (then nothing is left to decide, and the event stream may end).
pub(crate) async fn pump_commands(
    mut commands: mpsc::Receiver<Command>,
    done: CancellationToken,
    pump: Pump,
) {
    loop {
        let command = tokio::select! {
            _ = done.cancelled() => return,
            command = commands.recv() => match command {
                Some(command) => command,
                None => break,
            },
        };
        if let Err(error) = pump.hand_over(&command).await {
            pump.emitter
                .emit(EventKind::CommandRejected {
                    op: command.op().to_string(),
                    error,
                })
                .await;
        }
    }
    pump.gates.close();
}

impl Pump {
    fn known(&self, agent: &AgentId) -> Result<(), String> {
        if self.agents.contains(agent) {
            Ok(())
        } else {
            Err(format!(
                "the crew has no agent `{}`",
                crate::text::visible_line(agent.as_str())
            ))
        }
    }

    async fn hand_over(&self, command: &Command) -> Result<(), String> {
        match command {
            Command::Answer { text } => self
                .answers
                .try_send(text.clone())
                .map_err(|_| "no agent is waiting for an answer".to_string()),
            Command::Cancel {
                agent: Some(agent),
                group: None,
            } => {
                if Running::cancel(&self.running.agents, agent.as_str()) {
                    Ok(())
                } else {
                    Err(format!("agent `{agent}` is not running"))
                }
            }
            Command::Cancel {
                agent: None,
                group: Some(group),
            } => {
                if Running::cancel(&self.running.groups, group.as_str()) {
                    Ok(())
                } else {
                    Err(format!("parallel group `{group}` is not running"))
                }
            }
            Command::Cancel {
                agent: None,
                group: None,
            } => {
                self.session.cancel();
                Ok(())
            }
            Command::Cancel {
                agent: Some(_),
                group: Some(_),
            } => Err("name an agent or a group, not both".to_string()),
            Command::Rerun {
                agent,
                variants,
                system_prompt,
                temperature,
            } => {
                self.known(agent)?;
                let variants = variants.unwrap_or(1);
                if !(1..=4).contains(&variants) {
                    return Err(format!("{variants} variants: give 1 to 4"));
                }
                self.control
                    .try_send(Control::Rerun {
                        agent: agent.clone(),
                        variants,
                        system_prompt: system_prompt.clone(),
                        temperature: *temperature,
                    })
                    .map_err(|_| "a re-run is already waiting".to_string())
            }
            Command::Keep { agent, variant } => self
                .control
                .try_send(Control::Keep {
                    agent: agent.clone(),
                    variant: *variant,
                })
                .map_err(|_| "the session is not waiting for a variant".to_string()),
            Command::Unreadable { line, error } => {
                Err(format!("`{line}` is not a command: {error}"))
            }
            Command::Guide { agent, text } => {
                self.known(agent)?;
                // Recorded as given before the agent can take it, so the file has it in that
                // order; the agent's next model call records it again, as taken.
                self.emitter
                    .emit(EventKind::Guidance {
                        agent: agent.clone(),
                        text: text.clone(),
                        entry: None,
                    })
                    .await;
                self.gated(command).await
            }
            Command::Hold { agent } | Command::Release { agent } => {
                self.known(agent)?;
                self.gated(command).await
            }
            Command::Continue { .. }
            | Command::Step { .. }
            | Command::Break { .. }
            | Command::Unbreak { .. }
            | Command::Approve { .. }
            | Command::Deny { .. }
            | Command::EditCall { .. }
            | Command::EditRequest { .. }
            | Command::Detach {} => self.gated(command).await,
        }
    }

    /// A command about gates: the gatekeeper carries it out; what changed is recorded.
    async fn gated(&self, command: &Command) -> Result<(), String> {
        if let Some(kind) = self.gates.command(command)? {
            self.emitter.emit(kind).await;
        }
        Ok(())
    }
}
