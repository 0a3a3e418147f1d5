//! The event vocabulary: everything a session does, as data.
//!
//! These types are the contract with the TUI, the session files and outside tools
//! (DESIGN.md "Events"); field names and tags must not change.

use serde::{Deserialize, Serialize};

pub use crate::provider::Usage;
use crate::provider::{ChatMessage, ToolSpec};
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
            | K::Message { agent, .. }
            | K::ToolCall { agent, .. }
            | K::ToolResult { agent, .. }
            | K::ToolFailed { agent, .. }
            | K::Paused { agent, .. }
            | K::Resumed { agent, .. }
            | K::AgentFailed { agent, .. }
            | K::AgentCancelled { agent } => Some(agent),
            K::Handoff { from, .. } => Some(from),
            K::SessionStarted { .. }
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
    AgentStarted {
        agent: String,
        /// 1 for the agent's first turn in the session, then 2, 3, ...
        turn: u32,
        input: String,
    },
    /// What is about to be sent to the model, exactly: for inspecting what an agent was told.
    ModelRequest {
        agent: String,
        model: String,
        system_prompt: String,
        messages: Vec<ChatMessage>,
        tools: Vec<ToolSpec>,
    },
    Token {
        agent: String,
        text: String,
        #[serde(default, skip_serializing_if = "is_false")]
        reasoning: bool,
    },
    /// The end of one model reply.
    Message {
        agent: String,
        content: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        usage: Option<Usage>,
        finish_reason: Option<String>,
        truncated: bool,
    },
    ToolCall {
        agent: String,
        call_id: String,
        tool: String,
        arguments: serde_json::Value,
    },
    ToolResult {
        agent: String,
        call_id: String,
        tool: String,
        output: String,
        elapsed_ms: u64,
        truncated: bool,
    },
    ToolFailed {
        agent: String,
        call_id: String,
        tool: String,
        error: String,
        kind: ToolFailureKind,
    },
    Handoff {
        from: String,
        to: String,
        reason: HandoffReason,
        #[serde(default)]
        signal: Option<String>,
    },
    ParallelStarted {
        group: String,
        agents: Vec<String>,
    },
    ParallelFinished {
        group: String,
        completed: Vec<String>,
        failed: Vec<String>,
        timed_out: Vec<String>,
    },
    Paused {
        agent: String,
        prompt: String,
    },
    Resumed {
        agent: String,
        input: String,
    },
    AgentFailed {
        agent: String,
        error: String,
        #[serde(default)]
        status: Option<u16>,
        retryable: bool,
    },
    AgentCancelled {
        agent: String,
    },
    SessionFinished {
        outcome: Outcome,
        reason: String,
    },
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
}
