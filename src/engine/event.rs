//! The event vocabulary: everything a session does, as data.
//!
//! These types are the contract with the TUI, the session files and outside tools
//! (DESIGN.md "Events"); field names and tags must not change. They own their serde shapes:
//! a provider's or a tool's internal types may change without changing a session file, so
//! what a model was sent is recorded as [`Message`], [`CallRequest`] and [`ToolDef`], not as
//! the provider's types.
//!
//! Besides what happened, events record what the engine decided, so that nothing reading a
//! session file has to restate the engine's rules (DESIGN.md principle 4): the history entry
//! each step added (`entry`), the counters it advanced (`round`, `handoffs`), when a turn's
//! entries joined the shared history (`turn_ended.joined`, `parallel_finished.joined`) and
//! what a group handed on (`parallel_finished.output`). Files of format version 1 lack these;
//! [`crate::session`] upgrades them when it reads them.

use serde::{Deserialize, Serialize};

pub use super::gate::GateKind;
pub use super::ids::{AgentId, CallId, GateId, GroupId};
use crate::provider::{ChatMessage, ToolCallRequest, ToolSpec};
pub use crate::tools::ToolFailureKind;

/// One thing that happened in a session, stamped with its place in the session.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// 0, 1, 2, ... within a session, in the order events were emitted.
    pub seq: u64,
    /// Milliseconds since the session started.
    pub t_ms: u64,
    #[serde(flatten)]
    pub kind: EventKind,
}

impl Event {
    /// The agent this event concerns, where it concerns one.
    pub fn agent(&self) -> Option<&str> {
        use EventKind as K;
        match &self.kind {
            K::AgentStarted { agent, .. }
            | K::ModelRequest { agent, .. }
            | K::Token { agent, .. }
            | K::FellBack { agent, .. }
            | K::Message { agent, .. }
            | K::ToolCall { agent, .. }
            | K::ToolResult { agent, .. }
            | K::ToolFailed { agent, .. }
            | K::TurnEnded { agent, .. }
            | K::Paused { agent, .. }
            | K::Resumed { agent, .. }
            | K::AgentFailed { agent, .. }
            | K::AgentCancelled { agent } => Some(agent.as_str()),
            K::Handoff { from, .. } => Some(from),
            K::Gate { agent, .. }
            | K::Guidance { agent, .. }
            | K::Hold { agent, .. }
            | K::Rerun { agent, .. }
            | K::Kept { agent, .. } => Some(agent.as_str()),
            K::Decision { .. } | K::Breakpoints { .. } | K::CommandRejected { .. } => None,
            K::SessionStarted { .. }
            | K::SessionResumed {}
            | K::ParallelStarted { .. }
            | K::ParallelFinished { .. }
            | K::SessionFinished { .. } => None,
        }
    }
}

fn is_false(b: &bool) -> bool {
    !*b
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum EventKind {
    SessionStarted {
        session_id: String,
        crew: String,
        input: String,
    },
    /// A recorded session goes on (`crewtui resume`): the events after this continue it.
    SessionResumed {},
    AgentStarted {
        agent: AgentId,
        /// 1 for the agent's first turn in the session, then 2, 3, ...
        turn: u32,
        input: String,
        /// The session's round counter after this turn counted (`max_rounds`); absent for a
        /// parallel group's members, whose group counted once.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        round: Option<u32>,
        /// The history entry the turn began with: the user's words, when it was given some.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        entry: Option<Message>,
    },
    /// What is about to be sent to the model. In format version 2 only what is new since the
    /// agent's previous request: the first `messages_from` messages of that request, then
    /// `messages`; `system_prompt` and `tools` only when they changed. Version 1 files always
    /// carry everything (`messages_from` 0).
    ModelRequest {
        agent: AgentId,
        model: String,
        /// The agent's model calls before this one in the session (0 for its first).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        call: Option<u32>,
        #[serde(default, skip_serializing_if = "is_zero")]
        messages_from: usize,
        messages: Vec<Message>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        system_prompt: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        tools: Option<Vec<ToolDef>>,
    },
    Token {
        agent: AgentId,
        text: String,
        #[serde(default, skip_serializing_if = "is_false")]
        reasoning: bool,
    },
    /// A model call failed before any output (after its provider's own retries) and is sent
    /// once to the agent's backup model instead; what streams next is the backup's answer,
    /// and the call's usage counts against it.
    FellBack {
        agent: AgentId,
        /// The model that failed.
        from: String,
        /// The backup model now asked.
        to: String,
        /// Why the first model failed.
        error: String,
    },
    /// The end of one model reply.
    Message {
        agent: AgentId,
        content: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        usage: Option<Usage>,
        finish_reason: Option<String>,
        truncated: bool,
        /// The tool calls the reply asked for, which the turn runs next, in order.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        tool_calls: Vec<CallRequest>,
        /// The calls were read from the reply's text (go-agentic's `Tool(args)` lines).
        #[serde(default, skip_serializing_if = "is_false")]
        text_calls: bool,
        /// The entry the reply added to the agent's history; absent for a reply cut short by
        /// a failure, which never joins it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        entry: Option<Message>,
    },
    ToolCall {
        agent: AgentId,
        call_id: CallId,
        tool: String,
        arguments: serde_json::Value,
    },
    ToolResult {
        agent: AgentId,
        call_id: CallId,
        tool: String,
        output: String,
        elapsed_ms: u64,
        truncated: bool,
        /// How the result went back to the model, as the agent's history holds it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        entry: Option<Message>,
    },
    ToolFailed {
        agent: AgentId,
        call_id: CallId,
        tool: String,
        error: String,
        kind: ToolFailureKind,
        /// How the failure went back to the model, as the agent's history holds it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        entry: Option<Message>,
    },
    /// An agent's turn is over.
    TurnEnded {
        agent: AgentId,
        turn: u32,
        status: TurnEnd,
        /// The turn's last reply: what routing reads and a hand-off passes on.
        reply: String,
        /// The turn's history entries joined the session's shared history now (a turn of its
        /// own); a group's members join when the group finishes (`parallel_finished.joined`).
        #[serde(default, skip_serializing_if = "is_false")]
        joined: bool,
    },
    Handoff {
        /// The agent whose turn ended, or the parallel group that finished
        /// (`reason: parallel_next`).
        from: String,
        to: AgentId,
        reason: HandoffReason,
        #[serde(default)]
        signal: Option<String>,
        /// The session's hand-off counter after this one (`max_handoffs`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        handoffs: Option<u32>,
    },
    ParallelStarted {
        group: GroupId,
        agents: Vec<AgentId>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        round: Option<u32>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        handoffs: Option<u32>,
    },
    ParallelFinished {
        group: GroupId,
        completed: Vec<AgentId>,
        failed: Vec<AgentId>,
        timed_out: Vec<AgentId>,
        /// Members whose turns joined the shared history, in the order they joined.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        joined: Option<Vec<AgentId>>,
        /// What the group hands to its `next_agent`: the members' replies, labelled.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        output: Option<String>,
    },
    Paused {
        agent: AgentId,
        prompt: String,
    },
    Resumed {
        agent: AgentId,
        input: String,
    },
    AgentFailed {
        agent: AgentId,
        error: String,
        #[serde(default)]
        status: Option<u16>,
        retryable: bool,
    },
    AgentCancelled {
        agent: AgentId,
    },
    SessionFinished {
        outcome: Outcome,
        reason: String,
    },
    /// An agent stopped and waits for a decision (DESIGN.md "Commands and gates").
    Gate {
        gate: GateId,
        agent: AgentId,
        kind: GateKind,
        /// The breakpoint spec that hit, `step`, `hold` or `approval`.
        reason: String,
        /// What it stopped at: the tool call, the signal, the failure, the budget.
        #[serde(default)]
        detail: serde_json::Value,
    },
    /// How a gate was left, and what was changed.
    Decision {
        gate: GateId,
        /// `continue`, `step`, `approve`, `deny`, `edit_call`, `edit_request`.
        op: String,
        /// Resuming the session was the decision.
        #[serde(default, skip_serializing_if = "is_false")]
        by_resume: bool,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
        /// The arguments an edited tool call ran with.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        arguments: Option<serde_json::Value>,
        /// An edited request's system prompt and messages, as sent.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        system_prompt: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        messages: Option<Vec<Message>>,
    },
    /// A user message an agent sees from its next model call on: given (no `entry`), then
    /// taken into that call (with the `entry` it added to the agent's history).
    Guidance {
        agent: AgentId,
        text: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        entry: Option<Message>,
    },
    /// The breakpoints set from now on (at the start, and whenever they change).
    Breakpoints {
        specs: Vec<String>,
    },
    /// An agent is held at its next gate, or released.
    Hold {
        agent: AgentId,
        held: bool,
    },
    /// A command that could not be carried out, and why; the session goes on.
    CommandRejected {
        op: String,
        error: String,
    },
    /// A turn runs again from its start: the history goes back to its first `history_len`
    /// entries and the counters to `rounds` and `handoffs`; one variant runs as the agent
    /// itself, more run side by side under ids `AGENT~1`, `AGENT~2`, ...
    Rerun {
        agent: AgentId,
        turn: u32,
        variants: u32,
        history_len: usize,
        rounds: u32,
        handoffs: u32,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        system_prompt: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        temperature: Option<f64>,
    },
    /// The variant the user kept; its entries join the history as the agent's.
    Kept {
        agent: AgentId,
        variant: u32,
        reply: String,
        #[serde(default)]
        entries: Vec<super::history::Entry>,
    },
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// A chat message as session files record it: the user's words, a reply (with the tool calls
/// it asked for), or a tool's result.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "role", rename_all = "snake_case")]
pub enum Message {
    User {
        content: String,
    },
    Assistant {
        content: String,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        tool_calls: Vec<CallRequest>,
    },
    Tool {
        call_id: CallId,
        name: String,
        content: String,
    },
}

impl Message {
    pub fn content(&self) -> &str {
        match self {
            Message::User { content }
            | Message::Assistant { content, .. }
            | Message::Tool { content, .. } => content,
        }
    }
}

/// A tool call as the model asked for it: `arguments` is the raw text, which may not be JSON.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallRequest {
    pub id: CallId,
    pub name: String,
    pub arguments: String,
}

/// A tool as offered to the model.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ToolDef {
    pub name: String,
    pub description: String,
    /// JSON schema of the arguments object.
    pub parameters: serde_json::Value,
}

/// Token counts as the provider reported them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    /// Of the prompt tokens, those read from the provider's prompt cache (billed at its
    /// cached rate); absent when the provider said nothing of a cache.
    #[serde(default, skip_serializing_if = "no_cached_tokens")]
    pub cached_tokens: u64,
}

fn no_cached_tokens(n: &u64) -> bool {
    *n == 0
}

/// How a turn ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TurnEnd {
    /// The agent replied without calling a tool.
    Completed,
    Failed,
    Cancelled,
    /// The turn kept calling tools past the model-call limit.
    Limit,
    /// Its parallel group's timeout stopped it.
    TimedOut,
    /// Its parallel group waits for one reply only (`wait_for_all: false`), and another member
    /// gave it first.
    NotNeeded,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HandoffReason {
    Signal,
    HandoffTarget,
    ParallelNext,
}

impl HandoffReason {
    /// Why the run moved on, in words: `signal [REVIEW]`, `handoff target`, ...
    pub fn describe(self, signal: Option<&str>) -> String {
        match (self, signal) {
            (HandoffReason::Signal, Some(signal)) => format!("signal {signal}"),
            (HandoffReason::Signal, None) => "signal".to_string(),
            (HandoffReason::HandoffTarget, _) => "handoff target".to_string(),
            (HandoffReason::ParallelNext, _) => "parallel group finished".to_string(),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Completed,
    Paused,
    Failed,
    Cancelled,
    Limit,
}

impl Outcome {
    /// The exit status of a headless run that ended this way (DESIGN.md "Command line").
    pub fn exit_code(self) -> i32 {
        match self {
            Outcome::Completed => 0,
            Outcome::Paused => 2,
            Outcome::Failed | Outcome::Cancelled | Outcome::Limit => 1,
        }
    }

    /// The one wording of an outcome, wherever it is shown.
    pub fn label(self) -> &'static str {
        match self {
            Outcome::Completed => "completed",
            Outcome::Paused => "paused",
            Outcome::Failed => "failed",
            Outcome::Cancelled => "cancelled",
            Outcome::Limit => "limit",
        }
    }
}

impl From<&ChatMessage> for Message {
    fn from(message: &ChatMessage) -> Self {
        match message {
            ChatMessage::User { content } => Message::User {
                content: content.clone(),
            },
            ChatMessage::Assistant {
                content,
                tool_calls,
            } => Message::Assistant {
                content: content.clone(),
                tool_calls: tool_calls.iter().map(CallRequest::from).collect(),
            },
            ChatMessage::Tool {
                call_id,
                name,
                content,
            } => Message::Tool {
                call_id: call_id.into(),
                name: name.clone(),
                content: content.clone(),
            },
        }
    }
}

impl From<&Message> for ChatMessage {
    fn from(message: &Message) -> Self {
        match message {
            Message::User { content } => ChatMessage::User {
                content: content.clone(),
            },
            Message::Assistant {
                content,
                tool_calls,
            } => ChatMessage::Assistant {
                content: content.clone(),
                tool_calls: tool_calls.iter().map(ToolCallRequest::from).collect(),
            },
            Message::Tool {
                call_id,
                name,
                content,
            } => ChatMessage::Tool {
                call_id: call_id.0.clone(),
                name: name.clone(),
                content: content.clone(),
            },
        }
    }
}

impl From<&ToolCallRequest> for CallRequest {
    fn from(call: &ToolCallRequest) -> Self {
        CallRequest {
            id: CallId(call.id.clone()),
            name: call.name.clone(),
            arguments: call.arguments.clone(),
        }
    }
}

impl From<&CallRequest> for ToolCallRequest {
    fn from(call: &CallRequest) -> Self {
        ToolCallRequest {
            id: call.id.0.clone(),
            name: call.name.clone(),
            arguments: call.arguments.clone(),
        }
    }
}

impl From<&ToolSpec> for ToolDef {
    fn from(spec: &ToolSpec) -> Self {
        ToolDef {
            name: spec.name.clone(),
            description: spec.description.clone(),
            parameters: spec.parameters.clone(),
        }
    }
}

impl From<&ToolDef> for ToolSpec {
    fn from(def: &ToolDef) -> Self {
        ToolSpec {
            name: def.name.clone(),
            description: def.description.clone(),
            parameters: def.parameters.clone(),
        }
    }
}

impl From<crate::provider::Usage> for Usage {
    fn from(usage: crate::provider::Usage) -> Self {
        Usage {
            prompt_tokens: usage.prompt_tokens,
            completion_tokens: usage.completion_tokens,
            cached_tokens: usage.cached_tokens,
        }
    }
}
