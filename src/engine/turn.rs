//! One agent turn: model calls and the tool calls they ask for, until the agent replies
//! without calling a tool. Runs as its own task with its own cancellation token.
//!
//! Every entry the turn adds to its history is recorded with the event that caused it (the
//! user's words on `agent_started`, the reply on `message`, each result on `tool_result` /
//! `tool_failed`), exactly as later requests carry it: this is where those entries are made,
//! and nothing else makes them again. A turn the recording stopped inside goes on from its
//! [`TurnProgress`].

use std::sync::Arc;

use futures_util::StreamExt;
use tokio_util::sync::CancellationToken;

use super::emitter::Emitter;
use super::event::{AgentId, CallId, CallRequest, EventKind, Message, ToolDef, TurnEnd};
use super::gate::{Approval, Decision, Gatekeeper, Halt, Place, Why};
use super::history::{AgentView, Author, Entry, History};
use super::request::Request;
use super::step::{TurnNext, TurnProgress};
use crate::config::model::{Agent, Signal};
use crate::provider::{
    ChatMessage, ChatRequest, Delta, Fallback, Provider, ProviderError, ToolCallRequest,
};
use crate::tools::{ToolFailureKind, ToolLimits, ToolOutcome, ToolRegistry, parse_text_calls};

/// Everything a turn task owns. Built by the session for each turn.
pub struct TurnContext {
    pub agent: std::sync::Arc<Agent>,
    /// The id the turn's events carry: the agent's, or a re-run variant's (`AGENT~2`).
    pub id: AgentId,
    /// Whose turn it is in the history: its entries' author, whose view it gets, whose script
    /// a scripted model reads. The agent's id, for a variant too.
    pub speaks_as: AgentId,
    /// A re-run's system prompt, sent whole instead of the agent's with its signals.
    pub prompt: Option<String>,
    /// The signals this agent may emit, which its system prompt lists for the model.
    pub signals: Vec<Signal>,
    /// 1 for the agent's first turn in the session.
    pub turn: u32,
    /// What the agent is responding to, as shown in `agent_started`.
    pub input: String,
    /// A message from the user to add before the first model call (first input, an answer).
    pub user_message: Option<String>,
    /// The session's round counter, recorded on `agent_started` (none for group members).
    pub round: Option<u32>,
    /// The history the agent starts from: its own copy.
    pub history: History,
    /// Where a turn the recording stopped inside stands; `None` for a new turn.
    pub progress: Option<TurnProgress>,
    /// Model calls this agent made earlier in the session.
    pub steps_before: usize,
    /// Most model calls this turn may make (the crew's max_rounds).
    pub max_model_calls: u32,
    /// The agent's previous request as recorded, which the next is recorded against.
    pub last_request: Option<Request>,
    /// What the agent is shown of its history, kept from its last call.
    pub view: AgentView,
    pub provider: Result<Arc<dyn Provider>, String>,
    /// The agent's backup model, which a call that fails before any output is sent to once.
    pub backup: Option<Fallback>,
    pub tools: Arc<ToolRegistry>,
    pub tool_limits: ToolLimits,
    pub emitter: Emitter,
    pub gates: Arc<Gatekeeper>,
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
    /// Left at a gate or mid-way (detach): not over, and a resume goes on from where it was.
    Detached,
}

impl TurnStatus {
    /// How the turn ended, as recorded.
    pub fn end(&self) -> TurnEnd {
        match self {
            TurnStatus::Completed => TurnEnd::Completed,
            TurnStatus::Failed(_) => TurnEnd::Failed,
            TurnStatus::Cancelled => TurnEnd::Cancelled,
            TurnStatus::Limit(_) => TurnEnd::Limit,
            // Never recorded: a detached turn has not ended.
            TurnStatus::Detached => TurnEnd::Cancelled,
        }
    }
}

/// What a turn leaves behind for the session.
#[derive(Debug)]
pub struct TurnResult {
    pub status: TurnStatus,
    /// The last reply's text.
    pub reply: String,
    /// History entries the turn added (user message, replies, tool exchanges).
    pub entries: Vec<Entry>,
    /// Model calls made in this run of the turn (not those of a recording it went on from).
    pub model_calls: usize,
    /// The agent's newest request as recorded.
    pub last_request: Option<Request>,
    pub view: AgentView,
}

pub async fn run_turn(mut cx: TurnContext) -> TurnResult {
    let agent_id = cx.id.clone();
    let start_len = cx.history.len();
    // Model calls of the whole turn (the limit counts them), and those made now, which number
    // the next call after the agent's calls so far.
    let mut model_calls = 0usize;
    let mut new_calls = 0usize;
    // Tool calls of the whole turn, which `max_tool_calls_per_turn` bounds.
    let mut tool_calls_run = 0u32;
    let mut reply = String::new();
    let mut pending: Option<(Vec<ToolCallRequest>, bool)> = None;
    match cx.progress.take() {
        None => {
            let entry = cx
                .user_message
                .take()
                .map(|content| Message::User { content });
            cx.emitter
                .emit(EventKind::AgentStarted {
                    agent: agent_id.clone(),
                    turn: cx.turn,
                    input: cx.input.clone(),
                    round: cx.round,
                    entry: entry.clone(),
                })
                .await;
            if let Some(message) = entry {
                cx.history.push(Author::User, message);
            }
        }
        Some(progress) => {
            cx.history.extend(progress.entries);
            model_calls = progress.model_calls;
            tool_calls_run = u32::try_from(progress.tool_calls).unwrap_or(u32::MAX);
            reply = progress.reply;
            match progress.next {
                TurnNext::Call => {}
                TurnNext::Tools { calls, text_calls } => {
                    pending = Some((
                        calls.iter().map(ToolCallRequest::from).collect(),
                        text_calls,
                    ))
                }
                TurnNext::Ended(end) => {
                    let status = match end {
                        TurnEnd::Completed => TurnStatus::Completed,
                        TurnEnd::Failed => TurnStatus::Failed(format!(
                            "agent `{agent_id}` failed before the recording stopped"
                        )),
                        TurnEnd::Limit => TurnStatus::Limit(format!(
                            "agent `{agent_id}` reached its model-call limit"
                        )),
                        TurnEnd::Cancelled | TurnEnd::TimedOut | TurnEnd::NotNeeded => {
                            TurnStatus::Cancelled
                        }
                    };
                    return finish(cx, start_len, status, reply, new_calls);
                }
            }
        }
    }
    let status = loop {
        if let Some((calls, text_form)) = pending.take() {
            match run_tool_calls(&mut cx, &calls, text_form, &mut tool_calls_run).await {
                Ran::All => {}
                Ran::Cancelled => break TurnStatus::Cancelled,
                Ran::Detached => break TurnStatus::Detached,
            }
        }
        if model_calls as u32 >= cx.max_model_calls {
            break TurnStatus::Limit(format!(
                "agent `{agent_id}` called tools in {model_calls} model calls in one turn (max_rounds {})",
                cx.max_model_calls
            ));
        }
        // An unusable primary with a backup is a failed call the backup answers.
        let provider = match (&cx.provider, &cx.backup) {
            (Ok(p), _) => Ok(Arc::clone(p)),
            (Err(error), Some(_)) => Err(error.clone()),
            (Err(error), None) => {
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
        // The previous request is the view as it was: let go of its share of the view's
        // messages, which would make the view copy them all to grow, and remember how many
        // it had: they are the first ones of the view still.
        let sent_before = match &mut cx.last_request {
            Some(previous)
                if cx.view.follows(&cx.history)
                    && Arc::ptr_eq(&previous.messages, cx.view.messages()) =>
            {
                let count = previous.messages.len();
                previous.messages = Arc::default();
                Some(count)
            }
            _ => None,
        };
        cx.view.update(&cx.history, &cx.speaks_as);
        let mut request = Request {
            model: cx.agent.model.clone(),
            system_prompt: match &cx.prompt {
                Some(prompt) => prompt.clone(),
                None => system_prompt(&cx.agent, &cx.signals),
            },
            messages: Arc::clone(cx.view.messages()),
            tools: specs.iter().map(ToolDef::from).collect(),
        };
        let mut chat_messages = Arc::clone(cx.view.chat());
        let mut edited = false;
        let step = cx.steps_before + new_calls;
        if let Some(why) = cx.gates.check(&cx.speaks_as, Place::ModelCall) {
            let detail = serde_json::json!({
                "call": step,
                "model": request.model,
                "system_prompt": request.system_prompt,
                "messages": request.messages.as_slice(),
            });
            match cx
                .gates
                .stop(
                    &cx.emitter,
                    &agent_id,
                    Halt {
                        place: Place::ModelCall,
                        why,
                        detail,
                        call_id: None,
                    },
                    &cx.cancel,
                )
                .await
            {
                Decision::Detach if cx.cancel.is_cancelled() => break TurnStatus::Cancelled,
                Decision::Detach => break TurnStatus::Detached,
                Decision::EditRequest {
                    system_prompt,
                    messages,
                } => {
                    // Sent as edited, and recorded as sent; the history stays as it was.
                    if let Some(prompt) = system_prompt {
                        request.system_prompt = prompt;
                    }
                    if let Some(messages) = messages {
                        chat_messages = Arc::new(messages.iter().map(ChatMessage::from).collect());
                        request.messages = Arc::new(messages);
                        edited = true;
                    }
                }
                Decision::Continue
                | Decision::Step
                | Decision::Approve
                | Decision::Deny { .. }
                | Decision::EditCall { .. } => {}
            }
        }
        // Guidance given until now — at this gate too — is in this call.
        let guidance = cx.gates.take_guidance(&cx.speaks_as);
        if !guidance.is_empty() {
            for text in guidance {
                // Guidance is the agent's own: it sees it, the others do not.
                let entry = Message::User {
                    content: text.clone(),
                };
                cx.emitter
                    .emit(EventKind::Guidance {
                        agent: agent_id.clone(),
                        text,
                        entry: Some(entry.clone()),
                    })
                    .await;
                cx.history.push(Author::Agent(cx.speaks_as.clone()), entry);
            }
            if !edited {
                cx.view.update(&cx.history, &cx.speaks_as);
                request.messages = Arc::clone(cx.view.messages());
                chat_messages = Arc::clone(cx.view.chat());
            }
        }
        let delta = match (sent_before, &cx.last_request) {
            (Some(count), Some(previous)) => {
                let before = cx.view.messages().get(..count).unwrap_or_default();
                request.delta_after(Some((previous, before)))
            }
            (_, previous) => request.delta_from(previous.as_ref()),
        };
        cx.emitter
            .emit(EventKind::ModelRequest {
                agent: agent_id.clone(),
                model: request.model.clone(),
                call: u32::try_from(step).ok(),
                messages_from: delta.messages_from,
                messages: delta.messages,
                system_prompt: delta.system_prompt,
                tools: delta.tools,
            })
            .await;
        let chat = ChatRequest {
            agent: cx.speaks_as.to_string(),
            step,
            model: request.model.clone(),
            system_prompt: request.system_prompt.clone(),
            messages: chat_messages,
            tools: specs.clone(),
            temperature: cx.agent.temperature,
            max_tokens: cx.agent.max_tokens,
        };
        let called_model = request.model.clone();
        cx.last_request = Some(request);
        model_calls += 1;
        new_calls += 1;
        let mut answer = match call_with_backup(&cx, provider, chat).await {
            CallEnd::Done(answer) => answer,
            CallEnd::Failed { error, .. } => {
                cx.emitter
                    .emit(EventKind::AgentFailed {
                        agent: agent_id.clone(),
                        error: error.message.clone(),
                        status: error.status,
                        retryable: error.retryable,
                    })
                    .await;
                let detail = serde_json::json!({ "error": error.message });
                if failure_gate(&cx, detail).await == Some(Decision::Detach) {
                    break TurnStatus::Detached;
                }
                break TurnStatus::Failed(error.message);
            }
            CallEnd::Cancelled => break TurnStatus::Cancelled,
            CallEnd::Detached => break TurnStatus::Detached,
        };
        // Models without native tool calls write go-agentic's `Tool(args)` lines instead.
        let text_form = answer.tool_calls.is_empty() && !specs.is_empty();
        if text_form {
            answer.tool_calls = parse_text_calls(&answer.content, &specs);
        }
        let entry = Message::Assistant {
            content: answer.content.clone(),
            tool_calls: if text_form {
                Vec::new()
            } else {
                answer.tool_calls.iter().map(CallRequest::from).collect()
            },
        };
        reply = answer.content.clone();
        cx.emitter
            .emit(EventKind::Message {
                agent: agent_id.clone(),
                content: answer.content,
                usage: answer.usage,
                finish_reason: answer.finish_reason,
                truncated: answer.truncated,
                tool_calls: answer.tool_calls.iter().map(CallRequest::from).collect(),
                text_calls: text_form && !answer.tool_calls.is_empty(),
                entry: Some(entry.clone()),
            })
            .await;
        cx.history.push(Author::Agent(cx.speaks_as.clone()), entry);
        let spent = cx.gates.replied(
            &agent_id,
            &called_model,
            answer.fell_back_to.as_deref(),
            answer.usage.as_ref(),
            &reply,
        );
        let place = Place::Budget(spent);
        if let Some(why) = cx.gates.check(&cx.speaks_as, place) {
            let mut detail = serde_json::json!({
                "tokens": spent.tokens,
                "cost_usd": spent.cost_micros.map(|m| m as f64 / 1e6),
            });
            if let Why::Budget(hit) = &why {
                detail["budget"] = cx.gates.describe(hit).into();
            }
            let halt = Halt {
                place,
                why,
                detail,
                call_id: None,
            };
            if cx
                .gates
                .stop(&cx.emitter, &agent_id, halt, &cx.cancel)
                .await
                == Decision::Detach
            {
                break TurnStatus::Detached;
            }
        }
        if answer.tool_calls.is_empty() {
            break TurnStatus::Completed;
        }
        pending = Some((answer.tool_calls, text_form));
    };
    if status == TurnStatus::Cancelled {
        cx.emitter
            .emit(EventKind::AgentCancelled {
                agent: agent_id.clone(),
            })
            .await;
    }
    finish(cx, start_len, status, reply, new_calls)
}

fn finish(
    cx: TurnContext,
    start_len: usize,
    status: TurnStatus,
    reply: String,
    model_calls: usize,
) -> TurnResult {
    TurnResult {
        entries: cx.history.since(start_len).cloned().collect(),
        status,
        reply,
        model_calls,
        last_request: cx.last_request,
        view: cx.view,
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

/// A whole reply, as the stream ended it.
struct Answer {
    content: String,
    tool_calls: Vec<ToolCallRequest>,
    usage: Option<super::event::Usage>,
    finish_reason: Option<String>,
    truncated: bool,
    /// The backup model that gave the answer, when the call fell back to it.
    fell_back_to: Option<String>,
}

/// One model call, on the agent's backup model when the primary fails before any output
/// (after the primary provider's own retries) or cannot be used at all: the switch is a
/// `fell_back` event, and a backup that fails too fails the call naming both attempts.
async fn call_with_backup(
    cx: &TurnContext,
    primary: Result<Arc<dyn Provider>, String>,
    request: ChatRequest,
) -> CallEnd {
    let retry = cx.backup.as_ref().map(|backup| ChatRequest {
        model: backup.model.clone(),
        ..request.clone()
    });
    let from = request.model.clone();
    let first = match primary {
        Ok(provider) => model_call(cx, provider.as_ref(), request).await,
        Err(error) => CallEnd::Failed {
            error: ProviderError::new(error),
            streamed: false,
        },
    };
    let (
        CallEnd::Failed {
            error,
            streamed: false,
        },
        Some(backup),
        Some(retry),
    ) = (&first, &cx.backup, retry)
    else {
        return first;
    };
    cx.emitter
        .emit(EventKind::FellBack {
            agent: cx.id.clone(),
            from: from.clone(),
            to: backup.model.clone(),
            error: error.message.clone(),
        })
        .await;
    let second = match &backup.provider {
        Ok(provider) => model_call(cx, provider.as_ref(), retry).await,
        Err(e) => CallEnd::Failed {
            error: ProviderError::new(e.clone()),
            streamed: false,
        },
    };
    match second {
        CallEnd::Failed {
            error: last,
            streamed,
        } => CallEnd::Failed {
            error: ProviderError {
                message: format!(
                    "{from} failed: {}; its backup {} failed too: {}",
                    error.message, backup.model, last.message
                ),
                ..last
            },
            streamed,
        },
        CallEnd::Done(answer) => CallEnd::Done(Answer {
            fell_back_to: Some(backup.model.clone()),
            ..answer
        }),
        done @ (CallEnd::Cancelled | CallEnd::Detached) => done,
    }
}

/// Streams one model reply into token events; the `message` event is the caller's, since it
/// records what the reply adds to the history.
async fn model_call(cx: &TurnContext, provider: &dyn Provider, request: ChatRequest) -> CallEnd {
    let agent = &cx.id;
    let mut stream = provider.stream(request);
    let mut content = String::new();
    let mut tool_calls = Vec::new();
    let mut done = None;
    // Whether anything of a reply came: a call that failed after that is not sent again.
    let mut streamed = false;
    loop {
        let item = tokio::select! {
            biased;
            () = cx.cancel.cancelled() => return CallEnd::Cancelled,
            // Detaching leaves the call unfinished: a resume asks again.
            () = cx.gates.detached().cancelled() => return CallEnd::Detached,
            item = stream.next() => item,
        };
        streamed |= matches!(
            item,
            Some(Ok(Delta::Text(_)
                | Delta::Reasoning(_)
                | Delta::ToolCall(_)))
        );
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
                    // Keep what arrived before the failure on record; it never joins the
                    // history (no `entry`).
                    cx.emitter
                        .emit(EventKind::Message {
                            agent: agent.clone(),
                            content,
                            usage: None,
                            finish_reason: None,
                            truncated: true,
                            tool_calls: Vec::new(),
                            text_calls: false,
                            entry: None,
                        })
                        .await;
                }
                return CallEnd::Failed { error, streamed };
            }
        }
    }
    let (finish_reason, usage, truncated) = done.unwrap_or((None, None, true));
    CallEnd::Done(Answer {
        content,
        tool_calls,
        usage: usage.map(Into::into),
        finish_reason,
        truncated,
        fell_back_to: None,
    })
}

enum CallEnd {
    Done(Answer),
    Failed {
        error: ProviderError,
        /// Output had arrived before the failure.
        streamed: bool,
    },
    Cancelled,
    Detached,
}

/// How a reply's tool calls went.
enum Ran {
    All,
    Cancelled,
    Detached,
}

/// Stops at a failure, if `failure` breakpoints are set; `None` when it did not stop.
async fn failure_gate(cx: &TurnContext, detail: serde_json::Value) -> Option<Decision> {
    let why = cx.gates.check(&cx.speaks_as, Place::Failure)?;
    Some(
        cx.gates
            .stop(
                &cx.emitter,
                &cx.id,
                Halt {
                    place: Place::Failure,
                    why,
                    detail,
                    call_id: None,
                },
                &cx.cancel,
            )
            .await,
    )
}

/// Runs the calls in order and records their results; `run` counts the calls of the turn, and
/// those past the limit fail unrun. A call may stop at its gate first (a breakpoint, a step,
/// or approval), where it can be approved, refused or edited.
async fn run_tool_calls(
    cx: &mut TurnContext,
    calls: &[ToolCallRequest],
    text_form: bool,
    run: &mut u32,
) -> Ran {
    let agent = cx.id.clone();
    for call in calls {
        let mut call = call.clone();
        let arguments = |call: &ToolCallRequest| {
            serde_json::from_str(&call.arguments)
                .unwrap_or_else(|_| serde_json::Value::String(call.arguments.clone()))
        };
        let place = Place::ToolCall { tool: &call.name };
        let mut refused = match cx.gates.approval(&call.name) {
            Approval::Deny => Some("the crew does not allow this tool to run".to_string()),
            Approval::Auto | Approval::Ask => None,
        };
        if refused.is_none()
            && let Some(why) = cx.gates.check(&cx.speaks_as, place)
        {
            let detail = serde_json::json!({
                "tool": call.name,
                "call_id": call.id,
                "arguments": arguments(&call),
            });
            let halt = Halt {
                place,
                why,
                detail,
                call_id: Some(CallId::from(call.id.as_str())),
            };
            match cx.gates.stop(&cx.emitter, &agent, halt, &cx.cancel).await {
                Decision::Detach if cx.cancel.is_cancelled() => return Ran::Cancelled,
                Decision::Detach => return Ran::Detached,
                Decision::Deny { reason } => refused = Some(reason),
                Decision::EditCall { arguments } => {
                    call.arguments = match arguments {
                        serde_json::Value::String(raw) => raw,
                        other => other.to_string(),
                    };
                }
                Decision::Continue
                | Decision::Step
                | Decision::Approve
                | Decision::EditRequest { .. } => {}
            }
        }
        cx.emitter
            .emit(EventKind::ToolCall {
                agent: agent.clone(),
                call_id: call.id.as_str().into(),
                tool: call.name.clone(),
                arguments: arguments(&call),
            })
            .await;
        let outcome = if let Some(reason) = &refused {
            ToolOutcome::Failed {
                kind: ToolFailureKind::Denied,
                error: format!("not run: denied ({reason})"),
                elapsed_ms: 0,
            }
        } else if *run >= cx.tool_limits.max_calls_per_turn {
            cx.tool_limits.refused()
        } else {
            *run += 1;
            let token = cx.cancel.child_token();
            tokio::select! {
                outcome = cx.tools.call(&cx.agent.tools, &call, &cx.tool_limits, token.clone()) => outcome,
                () = cx.gates.detached().cancelled() => {
                    // Stopped unfinished: a resume runs the call again.
                    token.cancel();
                    return Ran::Detached;
                }
            }
        };
        // The model sees a failure as the tool's result and can carry on.
        let content = match &outcome {
            ToolOutcome::Completed { output, .. } => output.clone(),
            ToolOutcome::Failed { error, .. } => format!("error: {error}"),
            ToolOutcome::Cancelled => return Ran::Cancelled,
        };
        let entry = if text_form {
            Message::User {
                content: format!("Result of {}: {content}", call.name),
            }
        } else {
            Message::Tool {
                call_id: call.id.as_str().into(),
                name: call.name.clone(),
                content,
            }
        };
        let failed = matches!(outcome, ToolOutcome::Failed { .. }) && refused.is_none();
        let kind = match outcome {
            ToolOutcome::Completed {
                output,
                truncated,
                elapsed_ms,
            } => EventKind::ToolResult {
                agent: agent.clone(),
                call_id: call.id.as_str().into(),
                tool: call.name.clone(),
                output,
                elapsed_ms,
                truncated,
                entry: Some(entry.clone()),
            },
            ToolOutcome::Failed { kind, error, .. } => EventKind::ToolFailed {
                agent: agent.clone(),
                call_id: call.id.as_str().into(),
                tool: call.name.clone(),
                error,
                kind,
                entry: Some(entry.clone()),
            },
            ToolOutcome::Cancelled => return Ran::Cancelled,
        };
        let detail = match &kind {
            EventKind::ToolFailed { tool, error, .. } => {
                serde_json::json!({ "tool": tool, "call_id": call.id, "error": error })
            }
            _ => serde_json::Value::Null,
        };
        cx.emitter.emit(kind).await;
        cx.history.push(Author::Agent(cx.speaks_as.clone()), entry);
        if failed && failure_gate(cx, detail).await == Some(Decision::Detach) {
            return Ran::Detached;
        }
    }
    Ran::All
}
