//! The engine: runs a crew as a session and reports everything as [`Event`]s.
//!
//! Front ends call [`start`], read events from the returned [`SessionHandle`] and send
//! [`Command`]s. The engine never depends on a front end.

mod command;
mod emitter;
mod event;
pub mod gate;
mod group;
pub mod history;
mod ids;
mod pump;
pub mod request;
mod rerun;
pub mod routing;
pub mod run;
mod session;
mod shared_vec;
pub mod step;
mod turn;

use std::sync::Arc;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

pub use command::Command;
pub use emitter::{Emitter, EventLog};
pub use event::{
    AgentId, CallId, CallRequest, Event, EventKind, GateId, GateKind, GroupId, HandoffReason,
    Message, Outcome, ToolDef, ToolFailureKind, TurnEnd, Usage,
};
pub use run::Run;
pub use step::{ResumeError, ResumePoint, Step};

use crate::config::model::Crew;
use crate::provider::Providers;
use crate::tools::ToolRegistry;

/// How many events may wait for the front end before agents wait for it.
pub const EVENT_QUEUE: usize = 1024;

/// A running session, as a front end holds it.
pub struct SessionHandle {
    pub session_id: String,
    pub events: mpsc::Receiver<Event>,
    pub commands: mpsc::Sender<Command>,
    /// Cancels the whole session, also once the commands channel is given up (a headless run
    /// with nothing left to answer still stops on a signal).
    pub cancel: CancellationToken,
    /// Ends with the session's outcome, after `session_finished` has been sent.
    pub task: JoinHandle<Outcome>,
}

/// What a session is made of besides the crew and its input.
pub struct SessionParts {
    pub session_id: String,
    pub providers: Providers,
    pub tools: ToolRegistry,
    /// The session file, when the run is recorded.
    pub log: Option<Box<dyn EventLog>>,
    /// Breakpoints, stepping and approval as the front end sets them (`--break`, `--step`,
    /// `--approve`); the crew's per-tool approval is added to these.
    pub gates: gate::GateSettings,
}

impl SessionParts {
    /// The providers and tools the crew declares, and a fresh session id. `http` is the
    /// process's one HTTP client, shared by every session.
    pub fn for_crew(crew: &Crew, http: &reqwest::Client) -> Self {
        Self {
            session_id: new_session_id(),
            providers: Providers::for_crew(crew, http),
            tools: ToolRegistry::for_crew(crew),
            log: None,
            gates: gate::GateSettings::default(),
        }
    }
}

/// A session id that sorts by start time and does not repeat: `20261128T201503Z-3fa9c1`.
pub fn new_session_id() -> String {
    let stamp =
        crate::tools::format_rfc3339_utc(std::time::SystemTime::now()).replace(['-', ':'], "");
    format!("{stamp}-{:06x}", fastrand::u32(..0x100_0000))
}

/// Starts running `crew` on `input` in a task of its own.
pub fn start(crew: Crew, input: String, parts: SessionParts) -> SessionHandle {
    let fresh = ResumePoint {
        session_id: parts.session_id.clone(),
        input: input.clone(),
        history: history::History::default(),
        turns: Default::default(),
        model_calls: Default::default(),
        last_requests: Default::default(),
        handoffs: 0,
        rounds: 0,
        next: Step::Agent {
            id: AgentId(crew.entry_point.clone()),
            input: input.clone(),
            user_message: Some(input),
        },
        next_seq: 0,
        t_ms: 0,
        breakpoints: Vec::new(),
        held: Vec::new(),
        guidance: Vec::new(),
        next_gate: 1,
        pass_once: Vec::new(),
        resumed_gates: Vec::new(),
        spend: run::Ledger::for_crew(&crew),
    };
    launch(crew, parts, fresh, true)
}

/// Goes on with a recorded session that paused or was cut off: its events are `prior`, and new
/// events continue its numbering and clock. Where it goes on is the run model's projection
/// ([`Run::resume_point`]); nothing the recording finished is done again.
pub fn resume(
    crew: Crew,
    prior: &[Event],
    parts: SessionParts,
) -> Result<SessionHandle, ResumeError> {
    let mut run = Run::for_crew(&crew, run::TimelineLimits::default());
    for event in prior {
        run.apply(event);
    }
    let point = run.resume_point(&crew)?;
    parts.tools.continue_scripted(results_given(&run));
    Ok(launch(crew, parts, point, false))
}

/// How many calls of each tool gave a result in `run`: what scripted tools have used up.
fn results_given(run: &Run) -> std::collections::BTreeMap<&str, usize> {
    let mut given = std::collections::BTreeMap::new();
    let runs = run
        .agents()
        .iter()
        .flat_map(|a| a.turns())
        .flat_map(|t| &t.tools);
    for tool in runs {
        if let Some((_, run::ToolEnd::Result { .. })) = &tool.end {
            *given.entry(tool.tool.as_str()).or_default() += 1;
        }
    }
    given
}

/// Starts the session task at `point`; `announce` for a new session.
fn launch(crew: Crew, parts: SessionParts, point: ResumePoint, announce: bool) -> SessionHandle {
    let (event_tx, events) = mpsc::channel(EVENT_QUEUE);
    let (commands, command_rx) = mpsc::channel(64);
    let (answer_tx, answers) = mpsc::channel(16);
    let (control_tx, control) = mpsc::channel(4);
    let cancel = CancellationToken::new();
    let running = Arc::new(pump::Running::default());
    let mut settings = parts.gates;
    for (name, approval) in &crew.settings.approve_tools {
        settings.approvals.entry(name.clone()).or_insert(*approval);
    }
    for (name, tool) in &crew.tools {
        if let Some(approval) = tool.approve {
            settings.approvals.entry(name.clone()).or_insert(approval);
        }
    }
    if settings.approval_override.is_none() && settings.approval_default == gate::Approval::Auto {
        settings.approval_default = crew.settings.approve;
    }
    settings
        .breakpoints
        .extend(point.breakpoints.iter().cloned());
    settings.held.extend(point.held.iter().cloned());
    settings.guidance.extend(point.guidance.iter().cloned());
    settings.next_gate = settings.next_gate.max(point.next_gate);
    settings.pass_once.extend(point.pass_once.iter().cloned());
    let gates = gate::Gatekeeper::new(settings, point.spend);
    let emitter = Emitter::new(
        event_tx,
        cancel.clone(),
        parts.log,
        point.next_seq,
        point.t_ms,
    );
    // The pump holds an emitter; it must stop with the session so the event stream ends.
    let done = CancellationToken::new();
    tokio::spawn(pump::pump_commands(
        command_rx,
        done.clone(),
        pump::Pump {
            answers: answer_tx,
            control: control_tx,
            running: Arc::clone(&running),
            gates: Arc::clone(&gates),
            emitter: emitter.clone(),
            session: cancel.clone(),
            agents: crew.agents.iter().map(|a| AgentId(a.id.clone())).collect(),
        },
    ));
    let deadline = tokio::time::Instant::now() + crew.settings.session_timeout();
    let session_id = point.session_id.clone();
    let point_next = point.next;
    let session = session::Session {
        input: point.input,
        session_id: session_id.clone(),
        emitter,
        providers: parts.providers,
        tools: Arc::new(parts.tools),
        running,
        answers,
        control,
        gates,
        cancel: cancel.clone(),
        last_turn: None,
        resumed_gates: point.resumed_gates,
        history: point.history,
        turns: point.turns,
        model_calls: point.model_calls,
        last_requests: point.last_requests,
        views: Default::default(),
        handoffs: point.handoffs,
        rounds: point.rounds,
        deadline,
        agents: crew
            .agents
            .iter()
            .map(|a| (AgentId(a.id.clone()), Arc::new(a.clone())))
            .collect(),
        crew,
    };
    SessionHandle {
        session_id,
        events,
        commands,
        cancel,
        task: tokio::spawn(async move {
            let _done = done.drop_guard();
            session.run(point_next, announce).await
        }),
    }
}
