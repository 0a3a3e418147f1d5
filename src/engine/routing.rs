//! Where a run goes after an agent's turn, in go-agentic's order.
//!
//! Pure functions of the crew and the reply, so the order can be tested as a table.

use crate::config::model::Crew;

use super::event::{AgentId, GroupId, HandoffReason};

/// The routing decision after an agent's turn (its tool calls have already been run).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Route {
    Handoff {
        to: AgentId,
        reason: HandoffReason,
        signal: Option<String>,
    },
    Parallel {
        group: GroupId,
        signal: String,
    },
    /// A signal without a target (go-agentic's `target: ""`): the team's work is done, and
    /// the run is complete.
    SignalEnd {
        signal: String,
    },
    /// Wait for the user's answer; the same agent then continues with it.
    Pause,
    /// The agent is terminal: the run is complete.
    Terminal,
    /// Nothing routes onward: the run is complete.
    NoRoute,
}

/// Decide the route: a matching signal first (in the order the crew lists them), then
/// `wait_for_signal`, then a terminal agent, then the first handoff target.
pub fn route(crew: &Crew, agent: &str, reply: &str) -> Route {
    let signals = crew.routing.signals.get(agent).into_iter().flatten();
    if let Some(signal) = signals
        .into_iter()
        .find(|s| !s.signal.is_empty() && reply.contains(&s.signal))
    {
        if signal.ends_run() {
            return Route::SignalEnd {
                signal: signal.signal.clone(),
            };
        }
        if crew.routing.parallel_groups.contains_key(&signal.target) {
            return Route::Parallel {
                group: GroupId(signal.target.clone()),
                signal: signal.signal.clone(),
            };
        }
        return Route::Handoff {
            to: AgentId(signal.target.clone()),
            reason: HandoffReason::Signal,
            signal: Some(signal.signal.clone()),
        };
    }
    if crew.waits_for_signal(agent) {
        return Route::Pause;
    }
    if crew.is_terminal(agent) {
        return Route::Terminal;
    }
    match crew.agent(agent).and_then(|a| a.handoff_targets.first()) {
        Some(to) => Route::Handoff {
            to: AgentId(to.clone()),
            reason: HandoffReason::HandoffTarget,
            signal: None,
        },
        None => Route::NoRoute,
    }
}
