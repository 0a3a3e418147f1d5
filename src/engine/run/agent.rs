//! One agent as the run model holds it: its state now, its timeline, and the record of every
//! turn, model call and tool call it made.

use std::sync::Arc;

use super::cost::Spend;
use super::intervention::Intervention;
use super::timeline::{Timeline, TimelineLimits};
use crate::engine::event::{
    AgentId, CallId, CallRequest, GroupId, ToolFailureKind, TurnEnd, Usage,
};
use crate::engine::history::Entry;
use crate::engine::request::{Request, RequestDelta};
use crate::engine::shared_vec::SharedVec;

/// Streamed text kept per model call beyond what its timeline shows (a reply the recording
/// cut off, the reasoning): enough to read, bounded however long a model goes on.
pub const CALL_TEXT_LIMIT: usize = 256 * 1024;

/// What an agent is doing, as its badge shows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AgentState {
    Idle,
    Waiting,
    Thinking,
    Streaming,
    RunningTool,
    Paused,
    /// Waits at a gate for a decision.
    Stopped,
    Done,
    Failed,
    Cancelled,
}

impl AgentState {
    pub fn label(self) -> &'static str {
        match self {
            AgentState::Idle => "idle",
            AgentState::Waiting => "waiting",
            AgentState::Thinking => "thinking",
            AgentState::Streaming => "streaming",
            AgentState::RunningTool => "running tool",
            AgentState::Paused => "paused",
            AgentState::Stopped => "stopped",
            AgentState::Done => "done",
            AgentState::Failed => "failed",
            AgentState::Cancelled => "cancelled",
        }
    }

    /// Whether the agent is in the middle of a turn (its badge clock runs).
    pub fn is_active(self) -> bool {
        matches!(
            self,
            AgentState::Thinking
                | AgentState::Streaming
                | AgentState::RunningTool
                | AgentState::Paused
                | AgentState::Stopped
        )
    }
}

/// How a model call stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CallState {
    Streaming,
    Replied,
    Failed,
    Cancelled,
    /// The recording stopped inside it and a resumed session asked again.
    Abandoned,
}

/// A reply as it ended.
#[derive(Clone, Debug, PartialEq)]
pub struct Reply {
    pub content: String,
    pub usage: Option<Usage>,
    pub finish_reason: Option<String>,
    pub truncated: bool,
    pub tool_calls: Vec<CallRequest>,
    pub text_calls: bool,
    /// The reply joined the agent's history (a reply cut short by a failure never does).
    pub kept: bool,
    /// What the reply cost, priced by the model that answered (see [`Ledger::fell_back`]).
    ///
    /// [`Ledger::fell_back`]: super::Ledger::fell_back
    pub spend: Spend,
    /// Session time the reply ended.
    pub t_ms: u64,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ModelCall {
    /// The agent's model calls before this one, as the engine numbered it.
    pub number: Option<u32>,
    pub turn: u32,
    pub model: String,
    pub started_ms: u64,
    /// What was new in the request; [`AgentRun::request`] rebuilds it whole.
    pub delta: RequestDelta,
    pub reasoning: String,
    /// Reply text streamed so far, for a reply that never ends (bounded).
    pub partial: String,
    pub reply: Option<Reply>,
    pub state: CallState,
}

#[derive(Clone, Debug, PartialEq)]
pub enum ToolEnd {
    Result {
        output: String,
        elapsed_ms: u64,
        truncated: bool,
    },
    Failed {
        kind: ToolFailureKind,
        error: String,
    },
}

#[derive(Clone, Debug, PartialEq)]
pub struct ToolRun {
    pub call_id: CallId,
    pub tool: String,
    pub arguments: serde_json::Value,
    pub started_ms: u64,
    pub end: Option<(u64, ToolEnd)>,
}

/// What happened in a turn, in order.
#[derive(Clone, Debug, PartialEq)]
pub enum TurnStep {
    /// A model call: its index among the agent's calls.
    Call(usize),
    /// A tool call: its index among the turn's tools.
    Tool(usize),
    Failed {
        error: String,
        status: Option<u16>,
        retryable: bool,
        t_ms: u64,
    },
    Cancelled {
        t_ms: u64,
    },
    /// A person stepped in: its index among the agent's interventions.
    Intervention(usize),
}

#[derive(Clone, Debug, PartialEq)]
pub struct TurnRecord {
    pub turn: u32,
    pub input: String,
    pub started_ms: u64,
    /// The group the turn ran in.
    pub group: Option<GroupId>,
    pub steps: Vec<TurnStep>,
    pub tools: Vec<ToolRun>,
    /// How it ended, the reply it ended with, and when.
    pub end: Option<(TurnEnd, String, u64)>,
    /// History entries the turn added, until they join the shared history.
    pub entries: Vec<Entry>,
    pub joined: bool,
}

#[derive(Clone, Debug)]
pub struct AgentRun {
    pub id: AgentId,
    pub name: String,
    pub role: String,
    pub state: AgentState,
    /// Session time the state was entered.
    pub since_ms: u64,
    pub turn: u32,
    /// Session time the current (or last) turn started.
    pub turn_started_ms: u64,
    pub timeline: Timeline,
    /// Tokens the provider reported, summed over replies; `None` until one reported them.
    pub usage: Option<Usage>,
    /// A tool or the agent failed.
    pub failed: bool,
    /// Tool and agent failures, and the newest in words (`✗ fault: panicked: ...`), which a
    /// pane keeps in view after the line that told it has scrolled away.
    pub failures: u32,
    pub last_failure: Option<String>,
    pub(super) turns: SharedVec<TurnRecord>,
    pub(super) calls: SharedVec<ModelCall>,
    /// Gates stopped at, guidance, holds: where a person stepped in.
    pub(super) interventions: SharedVec<Intervention>,
    /// The newest request, whole (older ones are rebuilt from their deltas).
    pub(super) last_request: Option<Arc<Request>>,
    /// Text streamed since the last request (else the message carries the reply).
    pub(super) streamed_reply: bool,
}

impl AgentRun {
    pub fn new(id: AgentId, name: &str, role: &str, limits: TimelineLimits) -> Self {
        Self {
            id,
            name: name.to_string(),
            role: role.to_string(),
            state: AgentState::Idle,
            since_ms: 0,
            turn: 0,
            turn_started_ms: 0,
            timeline: Timeline::new(limits),
            usage: None,
            failed: false,
            failures: 0,
            last_failure: None,
            turns: SharedVec::default(),
            calls: SharedVec::default(),
            interventions: SharedVec::default(),
            last_request: None,
            streamed_reply: false,
        }
    }

    pub fn set_state(&mut self, state: AgentState, t_ms: u64) {
        if self.state != state {
            self.state = state;
            self.since_ms = t_ms;
        }
    }

    pub fn turns(&self) -> impl DoubleEndedIterator<Item = &TurnRecord> + '_ {
        self.turns.iter()
    }

    pub fn turn_record(&self, turn: u32) -> Option<&TurnRecord> {
        self.turns.iter().rev().find(|t| t.turn == turn)
    }

    pub fn calls(&self) -> impl DoubleEndedIterator<Item = &ModelCall> + '_ {
        self.calls.iter()
    }

    pub fn call(&self, index: usize) -> Option<&ModelCall> {
        self.calls.get(index as u64)
    }

    pub fn intervention(&self, index: usize) -> Option<&Intervention> {
        self.interventions.get(index as u64)
    }

    pub fn call_count(&self) -> usize {
        self.calls.len()
    }

    /// The newest request, whole.
    pub fn last_request(&self) -> Option<&Request> {
        self.last_request.as_deref()
    }

    /// Request number `index` (0 for the first), rebuilt from the deltas before it.
    pub fn request(&self, index: usize) -> Option<Request> {
        if index + 1 == self.calls.len() {
            return self.last_request.as_deref().cloned();
        }
        let mut request: Option<Request> = None;
        for call in self.calls.iter().take(index + 1) {
            request = Some(Request::apply(request.as_ref(), &call.model, &call.delta));
        }
        request.filter(|_| index < self.calls.len())
    }

    pub(super) fn open_turn(&mut self) -> Option<&mut TurnRecord> {
        self.turns.last_mut().filter(|t| t.end.is_none())
    }

    pub(super) fn last_call_mut(&mut self) -> Option<&mut ModelCall> {
        self.calls.last_mut()
    }

    pub(super) fn record_failure(&mut self, text: String) {
        self.failed = true;
        self.failures += 1;
        self.last_failure = Some(text);
    }

    /// The newest reply with text, else what the newest call has streamed so far.
    pub fn last_reply(&self) -> Option<&str> {
        let ended = self.calls.iter().rev().find_map(|c| {
            c.reply
                .as_ref()
                .map(|r| r.content.as_str())
                .filter(|t| !t.is_empty())
        });
        ended.or_else(|| {
            self.calls
                .last()
                .map(|c| c.partial.as_str())
                .filter(|t| !t.is_empty())
        })
    }
}

/// Appends to text kept per call, up to [`CALL_TEXT_LIMIT`].
pub(super) fn append_bounded(kept: &mut String, text: &str) {
    let room = CALL_TEXT_LIMIT.saturating_sub(kept.len());
    if room >= text.len() {
        kept.push_str(text);
        return;
    }
    let mut end = room;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    kept.push_str(&text[..end]);
}
