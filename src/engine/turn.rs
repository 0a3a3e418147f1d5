//! One agent turn: model calls and the tool calls they ask for, until the agent replies
//! without calling a tool. Runs as its own task with its own cancellation token.

use std::sync::Arc;

use futures_util::StreamExt;
use tokio_util::sync::CancellationToken;

use super::emitter::Emitter;
use super::event::EventKind;
use super::history::{Author, Entry, History};
use crate::config::model::{Agent, Signal};
use crate::provider::{ChatMessage, ChatRequest, Delta, Provider, ProviderError, ToolCallRequest};
use crate::tools::{ToolLimits, ToolOutcome, ToolRegistry, parse_text_calls};

/// Everything a turn task owns. Built by the session for each turn.
pub struct TurnContext {
    pub agent: Agent,
    /// The signals this agent may emit, which its system prompt lists for the model.
    pub signals: Vec<Signal>,
    /// 1 for the agent's first turn in the session.
    pub turn: u32,
    /// What the agent is responding to, as shown in `agent_started`.
    pub input: String,
    /// A message from the user to add before the first model call (first input, an answer).
    pub user_message: Option<String>,
    /// The history the agent starts from: its own copy.
    pub history: History,
    /// Model calls this agent made earlier in the session.
    pub steps_before: usize,
    /// Most model calls this turn may make (the crew's max_rounds).
    pub max_model_calls: u32,
    pub provider: Result<Arc<dyn Provider>, String>,
    pub tools: Arc<ToolRegistry>,
    pub tool_limits: ToolLimits,
    pub emitter: Emitter,
    pub cancel: CancellationToken,
}

#[derive(Clone, Debug, PartialEq)]
pub enum TurnStatus {
    /// The agent replied without calling a tool.
    Completed,
    Failed(String),
    Cancelled,
    /// The turn kept calling tools past the model-call limit.
    Limit(String),
}

/// What a turn leaves behind for the session.
#[derive(Debug)]
pub struct TurnResult {
    pub status: TurnStatus,
    /// The last reply's text.
    pub reply: String,
    /// History entries the turn added (user message, replies, tool exchanges).
    pub entries: Vec<Entry>,
    pub model_calls: usize,
}

struct Reply {
    content: String,
    tool_calls: Vec<ToolCallRequest>,
}

enum CallEnd {
    Done(Reply),
    Failed(ProviderError),
    Cancelled,
}

pub async fn run_turn(mut cx: TurnContext) -> TurnResult {
    let agent_id = cx.agent.id.clone();
    let start_len = cx.history.len();
    cx.emitter
        .emit(EventKind::AgentStarted {
            agent: agent_id.clone(),
            turn: cx.turn,
            input: cx.input.clone(),
        })
        .await;
    if let Some(text) = cx.user_message.take() {
        cx.history
            .push(Author::User, ChatMessage::User { content: text });
    }
    let mut model_calls = 0usize;
    let mut tool_calls_run = 0u32;
    let mut reply = String::new();
    let status = loop {
        if model_calls as u32 >= cx.max_model_calls {
            break TurnStatus::Limit(format!(
                "agent `{agent_id}` called tools in {model_calls} model calls in one turn (max_rounds {})",
                cx.max_model_calls
            ));
        }
        let provider = match &cx.provider {
            Ok(p) => Arc::clone(p),
            Err(error) => {
                cx.emitter
                    .emit(EventKind::AgentFailed {
                        agent: agent_id.clone(),
                        error: error.clone(),
                        status: None,
                        retryable: false,
                    })
                    .await;
                break TurnStatus::Failed(error.clone());
            }
        };
        let specs = cx.tools.specs(&cx.agent.tools);
        let system_prompt = system_prompt(&cx.agent, &cx.signals);
        let request = ChatRequest {
            agent: agent_id.clone(),
            step: cx.steps_before + model_calls,
            model: cx.agent.model.clone(),
            system_prompt,
            messages: cx.history.view_for(&agent_id),
            tools: specs.clone(),
            temperature: cx.agent.temperature,
            max_tokens: cx.agent.max_tokens,
        };
        model_calls += 1;
        cx.emitter
            .emit(EventKind::ModelRequest {
                agent: agent_id.clone(),
                model: request.model.clone(),
                system_prompt: request.system_prompt.clone(),
                messages: request.messages.clone(),
                tools: request.tools.clone(),
            })
            .await;
        let mut answer = match model_call(&cx, provider.as_ref(), request).await {
            CallEnd::Done(answer) => answer,
            CallEnd::Failed(error) => {
                cx.emitter
                    .emit(EventKind::AgentFailed {
                        agent: agent_id.clone(),
                        error: error.message.clone(),
                        status: error.status,
                        retryable: error.retryable,
                    })
                    .await;
                break TurnStatus::Failed(error.message);
            }
            CallEnd::Cancelled => break TurnStatus::Cancelled,
        };
        reply = answer.content.clone();
        // Models without native tool calls write go-agentic's `Tool(args)` lines instead.
        let text_form = answer.tool_calls.is_empty() && !specs.is_empty();
        if text_form {
            answer.tool_calls = parse_text_calls(&answer.content, &specs);
        }
        if answer.tool_calls.is_empty() {
            cx.history.push(
                Author::Agent(agent_id.clone()),
                ChatMessage::Assistant {
                    content: answer.content,
                    tool_calls: Vec::new(),
                },
            );
            break TurnStatus::Completed;
        }
        cx.history.push(
            Author::Agent(agent_id.clone()),
            ChatMessage::Assistant {
                content: answer.content,
                tool_calls: if text_form {
                    Vec::new()
                } else {
                    answer.tool_calls.clone()
                },
            },
        );
        if !run_tool_calls(&mut cx, &answer.tool_calls, text_form, &mut tool_calls_run).await {
            break TurnStatus::Cancelled;
        }
    };
    if status == TurnStatus::Cancelled {
        cx.emitter
            .emit(EventKind::AgentCancelled {
                agent: agent_id.clone(),
            })
            .await;
    }
    TurnResult {
        entries: cx.history.since(start_len).to_vec(),
        status,
        reply,
        model_calls,
    }
}

/// The agent's prompt, plus the signals it can hand off with: a model cannot route by a
/// signal it was never told about.
fn system_prompt(agent: &Agent, signals: &[Signal]) -> String {
    let mut prompt = agent.system_prompt();
    if !signals.is_empty() {
        prompt.push_str(
            "\n\nWhen your part is done, hand off by writing one of these signals in your reply:",
        );
        for s in signals {
            prompt.push_str(&format!("\n- {}", s.signal));
            if !s.description.is_empty() {
                prompt.push_str(&format!(": {}", s.description));
            }
        }
    }
    prompt
}

/// Streams one model reply into events.
async fn model_call(cx: &TurnContext, provider: &dyn Provider, request: ChatRequest) -> CallEnd {
    let agent = &cx.agent.id;
    let mut stream = provider.stream(request);
    let mut content = String::new();
    let mut tool_calls = Vec::new();
    let mut done = None;
    loop {
        let item = tokio::select! {
            biased;
            () = cx.cancel.cancelled() => return CallEnd::Cancelled,
            item = stream.next() => item,
        };
        match item {
            None => break,
            Some(Ok(Delta::Text(text))) => {
                content.push_str(&text);
                cx.emitter
                    .emit(EventKind::Token {
                        agent: agent.clone(),
                        text,
                        reasoning: false,
                    })
                    .await;
            }
            Some(Ok(Delta::Reasoning(text))) => {
                cx.emitter
                    .emit(EventKind::Token {
                        agent: agent.clone(),
                        text,
                        reasoning: true,
                    })
                    .await;
            }
            Some(Ok(Delta::ToolCall(call))) => tool_calls.push(call),
            Some(Ok(Delta::Done {
                finish_reason,
                usage,
                truncated,
            })) => {
                done = Some((finish_reason, usage, truncated));
                break;
            }
            Some(Err(error)) => {
                if !content.is_empty() {
                    // Keep what arrived before the failure on record.
                    cx.emitter
                        .emit(EventKind::Message {
                            agent: agent.clone(),
                            content,
                            usage: None,
                            finish_reason: None,
                            truncated: true,
                        })
                        .await;
                }
                return CallEnd::Failed(error);
            }
        }
    }
    let (finish_reason, usage, truncated) = done.unwrap_or((None, None, true));
    cx.emitter
        .emit(EventKind::Message {
            agent: agent.clone(),
            content: content.clone(),
            usage,
            finish_reason,
            truncated,
        })
        .await;
    CallEnd::Done(Reply {
        content,
        tool_calls,
    })
}

/// Runs the calls in order and records their results; `run` counts the calls of the turn, and
/// those past the limit fail unrun. False when the turn was cancelled.
async fn run_tool_calls(
    cx: &mut TurnContext,
    calls: &[ToolCallRequest],
    text_form: bool,
    run: &mut u32,
) -> bool {
    let agent = cx.agent.id.clone();
    for call in calls {
        let arguments = serde_json::from_str(&call.arguments)
            .unwrap_or_else(|_| serde_json::Value::String(call.arguments.clone()));
        cx.emitter
            .emit(EventKind::ToolCall {
                agent: agent.clone(),
                call_id: call.id.clone(),
                tool: call.name.clone(),
                arguments,
            })
            .await;
        let outcome = if *run >= cx.tool_limits.max_calls_per_turn {
            cx.tool_limits.refused()
        } else {
            *run += 1;
            cx.tools
                .call(
                    &cx.agent.tools,
                    call,
                    &cx.tool_limits,
                    cx.cancel.child_token(),
                )
                .await
        };
        let content = match outcome {
            ToolOutcome::Completed {
                output,
                truncated,
                elapsed_ms,
            } => {
                cx.emitter
                    .emit(EventKind::ToolResult {
                        agent: agent.clone(),
                        call_id: call.id.clone(),
                        tool: call.name.clone(),
                        output: output.clone(),
                        elapsed_ms,
                        truncated,
                    })
                    .await;
                output
            }
            ToolOutcome::Failed { kind, error, .. } => {
                cx.emitter
                    .emit(EventKind::ToolFailed {
                        agent: agent.clone(),
                        call_id: call.id.clone(),
                        tool: call.name.clone(),
                        error: error.clone(),
                        kind,
                    })
                    .await;
                // The model sees the failure as the tool's result and can carry on.
                format!("error: {error}")
            }
            ToolOutcome::Cancelled => return false,
        };
        let message = if text_form {
            ChatMessage::User {
                content: format!("Result of {}: {content}", call.name),
            }
        } else {
            ChatMessage::Tool {
                call_id: call.id.clone(),
                name: call.name.clone(),
                content,
            }
        };
        cx.history.push(Author::Agent(agent.clone()), message);
    }
    true
}
