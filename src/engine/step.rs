//! What the session loop runs next, and where a cut-off turn stands: the vocabulary shared by
//! a new run, the routing loop and a resumed run (see [`crate::engine::run::Run::resume_point`]).

use std::collections::HashMap;

use super::event::{AgentId, CallRequest, GroupId, TurnEnd};
use super::history::{Entry, History};
use super::request::Request;

/// The next thing the session does.
#[derive(Clone, Debug, PartialEq)]
pub enum Step {
    /// A new turn of `id`; `user_message` is the user's words it starts with, if any.
    Agent {
        id: AgentId,
        input: String,
        user_message: Option<String>,
    },
    /// Go on with a turn the recording stopped inside.
    Continue {
        agent: AgentId,
        progress: TurnProgress,
    },
    /// The agent's turn ended and joined the history; where the run goes is still to decide.
    Route { agent: AgentId, reply: String },
    /// Run a parallel group; `members` holds what a resumed group's members had done.
    Group {
        name: GroupId,
        members: Option<Vec<MemberStart>>,
    },
    /// Wait for the user's answer; the agent then continues with it. `asked`: the pause is
    /// already on record (a resumed run does not ask twice).
    AwaitAnswer {
        agent: AgentId,
        prompt: String,
        asked: bool,
    },
    /// The group finished but the run had not yet moved on from it.
    AfterGroup { name: GroupId, output: String },
}

impl Step {
    /// Where the run goes once the user answered `agent`: the same agent, given the answer.
    /// The session loop and the run model both use this, so the rule lives here only.
    pub fn after_answer(agent: AgentId, answer: String) -> Step {
        Step::Agent {
            id: agent,
            input: answer.clone(),
            user_message: Some(answer),
        }
    }

    /// Where a hand-off leads: `to` responds to what it was handed.
    pub fn after_handoff(to: AgentId, handed: String) -> Step {
        Step::Agent {
            id: to,
            input: handed,
            user_message: None,
        }
    }

    /// Whether the round this step belongs to is still to be counted (`max_rounds`): a new
    /// turn or group counts once when it begins, never again when it is resumed.
    pub fn counts_a_round(&self) -> bool {
        match self {
            Step::Agent { .. } => true,
            Step::Group { members, .. } => members.is_none(),
            Step::Continue { .. }
            | Step::Route { .. }
            | Step::AwaitAnswer { .. }
            | Step::AfterGroup { .. } => false,
        }
    }
}

/// Where a turn the recording stopped inside stands.
#[derive(Clone, Debug, PartialEq)]
pub struct TurnProgress {
    pub turn: u32,
    pub input: String,
    /// The entries the turn added to its history so far.
    pub entries: Vec<Entry>,
    /// Model calls of the turn that finished.
    pub model_calls: usize,
    /// Tool calls of the turn that ran.
    pub tool_calls: usize,
    /// The last finished reply's text.
    pub reply: String,
    pub next: TurnNext,
}

/// What a turn does next.
#[derive(Clone, Debug, PartialEq)]
pub enum TurnNext {
    /// Ask the model: the turn's first call, or after its tool results.
    Call,
    /// Run these tool calls of the last reply; those before them have their results.
    Tools {
        calls: Vec<CallRequest>,
        text_calls: bool,
    },
    /// The turn is over as recorded (its last reply called no tool, or it failed or was
    /// cancelled) and only its end is still to be reported.
    Ended(TurnEnd),
}

/// A member of a resumed parallel group.
#[derive(Clone, Debug, PartialEq)]
pub enum MemberStart {
    Fresh,
    Continue(TurnProgress),
    /// Its turn ended before the recording did: its outcome is reused, never asked again.
    Done {
        status: TurnEnd,
        reply: String,
        entries: Vec<Entry>,
    },
}

/// Everything the session loop needs to go on from a recording.
#[derive(Clone, Debug)]
pub struct ResumePoint {
    pub session_id: String,
    pub input: String,
    pub history: History,
    pub turns: HashMap<AgentId, u32>,
    /// Finished model calls per agent, which is where each agent's next call is numbered.
    pub model_calls: HashMap<AgentId, usize>,
    /// Each agent's last request as recorded, which its next request is recorded against.
    pub last_requests: HashMap<AgentId, Request>,
    pub handoffs: u32,
    pub rounds: u32,
    pub next: Step,
    pub next_seq: u64,
    pub t_ms: u64,
    /// The breakpoints and held agents the recording had set when it stopped.
    pub breakpoints: Vec<super::gate::BreakSpec>,
    pub held: Vec<AgentId>,
    /// Guidance given and not yet taken, which the resumed agents take at their next call.
    pub guidance: Vec<(AgentId, String)>,
    /// The number the next gate gets.
    pub next_gate: u64,
    /// Gates the recording stopped at that resuming decides: gone through once.
    pub pass_once: Vec<(AgentId, super::gate::GateKind)>,
    /// Those gates, for the decision the resumed session records.
    pub resumed_gates: Vec<super::gate::GateId>,
    /// What the run has spent so far, for budgets.
    pub spend: super::run::Ledger,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResumeError {
    #[error("the recording has no session_started event")]
    NotStarted,
    #[error(
        "the session already ended ({}); only a paused or cut-off session can be resumed",
        .0.label()
    )]
    Finished(super::event::Outcome),
    #[error("the recording's event numbers or clock are at their limit; it cannot go on")]
    Exhausted,
}
