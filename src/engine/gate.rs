//! Gates: the places where an agent stops and waits for a decision (DESIGN.md "Commands and
//! gates") — before its turn, before each model call, before each tool call, when a reply
//! carries a signal, when something fails, when the run passes a budget.
//!
//! Whether an agent stops is decided here, in one place ([`Gatekeeper::check`]), from the
//! breakpoints, stepping, held agents and the tools' approval policy. A stop is a
//! request/response pair matched by id: the waiting task registers its gate, the `gate` event
//! names it, and only a command naming that gate (or, for a tool call, its call id) decides
//! it. Only the agent that stopped waits; the others go on. When nothing is armed a check is
//! one atomic load.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::fmt;
use std::str::FromStr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::sync::oneshot;
use tokio_util::sync::CancellationToken;

use super::command::Command;
use super::emitter::Emitter;
use super::event::{AgentId, CallId, EventKind, Message, Usage};
pub use super::ids::GateId;
use super::run::{BudgetHit, BudgetScope, Ledger, Limit};

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GateKind {
    /// Before an agent's turn.
    Turn,
    ModelCall,
    ToolCall,
    /// A reply carries a signal that routes the run on.
    Signal,
    /// A tool or the agent failed.
    Failure,
    /// The run's tokens or cost passed a threshold.
    Budget,
}

/// A breakpoint, as `--break` and the `break` command take it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum BreakSpec {
    /// `agent:ID`: before each turn of the agent.
    Agent(AgentId),
    /// `model:ID` or `model:*`: before each model call (of the agent, or of any).
    Model(Option<AgentId>),
    /// `tool:NAME` or `tool:*`: before each call of the tool (or of any).
    Tool(Option<String>),
    /// `signal:SIG`: when a reply carries the signal.
    Signal(String),
    /// `failure`: when any tool or agent fails.
    Failure,
    /// `tokens:N`: when the run's tokens pass N.
    Tokens(u64),
    /// `cost:USD`: when the run's cost passes it, in millionths of a dollar.
    Cost(u64),
}

impl fmt::Display for BreakSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BreakSpec::Agent(id) => write!(f, "agent:{id}"),
            BreakSpec::Model(Some(id)) => write!(f, "model:{id}"),
            BreakSpec::Model(None) => f.write_str("model:*"),
            BreakSpec::Tool(Some(name)) => write!(f, "tool:{name}"),
            BreakSpec::Tool(None) => f.write_str("tool:*"),
            BreakSpec::Signal(signal) => write!(f, "signal:{signal}"),
            BreakSpec::Failure => f.write_str("failure"),
            BreakSpec::Tokens(n) => write!(f, "tokens:{n}"),
            // Exact below a billion dollars, which is all a spec may say.
            BreakSpec::Cost(micros) => write!(f, "cost:{}", *micros as f64 / 1e6),
        }
    }
}

impl FromStr for BreakSpec {
    type Err = String;

    fn from_str(spec: &str) -> Result<Self, String> {
        let spec = spec.trim();
        match spec {
            "failure" => return Ok(BreakSpec::Failure),
            // Without a name: every agent's model calls, every tool.
            "model" => return Ok(BreakSpec::Model(None)),
            "tool" => return Ok(BreakSpec::Tool(None)),
            _ => {}
        }
        let (kind, arg) = spec.split_once(':').ok_or_else(|| {
            format!(
                "`{}` is not a breakpoint: give agent:ID, model[:ID], tool[:NAME], signal:SIG, \
                 failure, tokens:N or cost:USD",
                crate::text::visible_line(spec)
            )
        })?;
        let arg = arg.trim();
        let any = |arg: &str| (arg != "*").then(|| arg.to_string());
        let nonempty = |what: &str| {
            if arg.is_empty() {
                Err(format!("`{kind}:` needs {what}"))
            } else {
                Ok(())
            }
        };
        match kind {
            "agent" => nonempty("an agent id").map(|()| BreakSpec::Agent(arg.into())),
            "model" => {
                nonempty("an agent id or *").map(|()| BreakSpec::Model(any(arg).map(AgentId)))
            }
            "tool" => nonempty("a tool name or *").map(|()| BreakSpec::Tool(any(arg))),
            "signal" => nonempty("a signal").map(|()| BreakSpec::Signal(arg.to_string())),
            "tokens" => arg
                .parse()
                .map(BreakSpec::Tokens)
                .map_err(|_| format!("`tokens:{arg}`: give a whole number of tokens")),
            "cost" => match arg.trim_start_matches('$').parse::<f64>() {
                Ok(usd) if (0.0..1e9).contains(&usd) => {
                    Ok(BreakSpec::Cost((usd * 1e6).round() as u64))
                }
                _ => Err(format!("`cost:{arg}`: give dollars, e.g. cost:0.50")),
            },
            other => Err(format!(
                "`{}` is not a kind of breakpoint: agent, model, tool, signal, failure, tokens \
                 or cost",
                crate::text::visible_line(other)
            )),
        }
    }
}

pub use crate::config::model::Approval;

/// Why an agent stopped.
#[derive(Clone, Debug, PartialEq)]
pub enum Why {
    Breakpoint(BreakSpec),
    Step,
    Hold,
    Approval,
    /// A budget the crew sets (`max_cost_usd`, `max_tokens`, an agent's `budget`).
    Budget(BudgetHit),
}

impl fmt::Display for Why {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Why::Breakpoint(spec) => write!(f, "{spec}"),
            Why::Step => f.write_str("step"),
            Why::Hold => f.write_str("hold"),
            Why::Approval => f.write_str("approval"),
            Why::Budget(_) => f.write_str("budget"),
        }
    }
}

/// A stop as the check found it: where, why, what the front end is shown, and the tool call
/// it is about (which `approve`/`deny`/`edit_call` name).
pub struct Halt<'a> {
    pub place: Place<'a>,
    pub why: Why,
    pub detail: serde_json::Value,
    pub call_id: Option<CallId>,
}

/// Where a check is made.
#[derive(Clone, Copy, Debug)]
pub enum Place<'a> {
    Turn,
    ModelCall,
    ToolCall {
        tool: &'a str,
    },
    Signal {
        signal: &'a str,
    },
    Failure,
    /// After a reply: what the run has spent, and the crew's budget it passed, if any.
    Budget(Spent),
}

/// What the run has spent after a reply, as budgets look at it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Spent {
    /// Prompt and completion tokens of every agent.
    pub tokens: u64,
    /// In millionths of a dollar; `None` while some tokens have no price.
    pub cost_micros: Option<u64>,
    /// The first budget of the crew's (the agent's, then the run's) passed now.
    pub hit: Option<BudgetHit>,
}

impl Place<'_> {
    pub fn kind(self) -> GateKind {
        match self {
            Place::Turn => GateKind::Turn,
            Place::ModelCall => GateKind::ModelCall,
            Place::ToolCall { .. } => GateKind::ToolCall,
            Place::Signal { .. } => GateKind::Signal,
            Place::Failure => GateKind::Failure,
            Place::Budget { .. } => GateKind::Budget,
        }
    }
}

/// How a gate was left.
#[derive(Clone, Debug, PartialEq)]
pub enum Decision {
    Continue,
    /// Go on, and stop at the agent's next gate.
    Step,
    Approve,
    Deny {
        reason: String,
    },
    EditCall {
        arguments: serde_json::Value,
    },
    EditRequest {
        system_prompt: Option<String>,
        messages: Option<Vec<Message>>,
    },
    /// Nobody will decide (the front end went away, or chose to leave): the session ends
    /// resumable, as a pause, with the gate still open in its file.
    Detach,
}

/// A gate a task waits at.
struct Open {
    agent: AgentId,
    kind: GateKind,
    /// Stopped because the agent was held (releasing it lets it go).
    held: bool,
    call_id: Option<CallId>,
    answer: oneshot::Sender<Decision>,
}

#[derive(Default)]
struct State {
    breakpoints: BTreeSet<BreakSpec>,
    step_all: bool,
    /// Agents that stepped: they stop at their next gate.
    stepping: BTreeSet<AgentId>,
    held: BTreeSet<AgentId>,
    approvals: BTreeMap<String, Approval>,
    approval_default: Approval,
    open: BTreeMap<u64, Open>,
    next: u64,
    guidance: BTreeMap<AgentId, VecDeque<String>>,
    /// Budget breakpoints already passed (each stops once).
    passed: BTreeSet<BreakSpec>,
    /// The crew's budgets already passed, by whose (`None`: the run's) and whether in dollars.
    passed_budgets: BTreeSet<(Option<usize>, bool)>,
    /// The crew has a budget, for the run or some agent: replies are checked against it.
    budgeted: bool,
    /// Gates a resumed session goes on through once: resuming was the decision.
    pass_once: Vec<(AgentId, GateKind)>,
    /// Nobody can decide any more.
    closed: bool,
}

/// How the session's gates are set, shared by the session and its turns.
pub struct Gatekeeper {
    state: Mutex<State>,
    /// Whether any check can stop: false skips the lock altogether.
    armed: AtomicBool,
    /// Time spent waiting at gates, which timeouts do not count.
    waited_ms: AtomicU64,
    /// Fires when the user detaches: the session ends resumable, agents mid-way included.
    detach: CancellationToken,
    /// Fires when nobody is left to decide: gates end the session resumable; agents not at a
    /// gate go on.
    nobody: CancellationToken,
    /// What the run has spent, priced and held to budgets as the crew says.
    spend: Mutex<Ledger>,
}

/// How a session starts its gates.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct GateSettings {
    pub breakpoints: Vec<BreakSpec>,
    pub step: bool,
    pub held: Vec<AgentId>,
    /// Per tool, from the crew.
    pub approvals: BTreeMap<String, Approval>,
    /// For tools the crew does not set (`settings.approve`, or `--approve`).
    pub approval_default: Approval,
    /// `--approve` given: it overrides every tool's own setting.
    pub approval_override: Option<Approval>,
    /// The number the next gate gets (a resumed session goes on counting).
    pub next_gate: u64,
    pub pass_once: Vec<(AgentId, GateKind)>,
    /// Guidance waiting for agents' next model calls (a resumed session's).
    pub guidance: Vec<(AgentId, String)>,
}

/// Dollars in millionths, as cost breakpoints count them.
fn micros(usd: f64) -> u64 {
    (usd * 1e6).round() as u64
}

/// Which of the crew's budgets `hit` is: whose (`None`: the run's), and whether in dollars.
fn budget_key(hit: &BudgetHit) -> (Option<usize>, bool) {
    let whose = match hit.scope {
        BudgetScope::Run => None,
        BudgetScope::Agent(i) => Some(i),
    };
    (whose, matches!(hit.limit, Limit::Cost { .. }))
}

fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    state.lock().unwrap_or_else(|e| e.into_inner())
}

impl Gatekeeper {
    /// Gates set as `settings` say, over what the run has spent so far (`spend`: the crew's
    /// ledger, empty for a new run); budgets already passed do not stop again.
    pub fn new(settings: GateSettings, spend: Ledger) -> Arc<Self> {
        let total = spend.total();
        let mut state = State {
            breakpoints: settings.breakpoints.into_iter().collect(),
            step_all: settings.step,
            held: settings.held.into_iter().collect(),
            approvals: settings.approvals,
            approval_default: settings.approval_default,
            next: settings.next_gate.max(1),
            pass_once: settings.pass_once,
            ..State::default()
        };
        for (agent, text) in settings.guidance {
            state.guidance.entry(agent).or_default().push_back(text);
        }
        if let Some(all) = settings.approval_override {
            state.approvals.clear();
            state.approval_default = all;
        }
        let passed: Vec<BreakSpec> = state
            .breakpoints
            .iter()
            .filter(|spec| match spec {
                BreakSpec::Tokens(limit) => total.tokens() >= *limit,
                BreakSpec::Cost(limit) => total.priced() && micros(total.cost_usd) >= *limit,
                _ => false,
            })
            .cloned()
            .collect();
        state.passed.extend(passed);
        state.passed_budgets = spend.hits().iter().map(budget_key).collect();
        state.budgeted = spend.budgeted();
        let gates = Arc::new(Self {
            state: Mutex::new(state),
            armed: AtomicBool::new(false),
            waited_ms: AtomicU64::new(0),
            detach: CancellationToken::new(),
            nobody: CancellationToken::new(),
            spend: Mutex::new(spend),
        });
        gates.rearm(&lock(&gates.state));
        gates
    }

    fn rearm(&self, state: &State) {
        let armed = !state.breakpoints.is_empty()
            || state.budgeted
            || state.step_all
            || !state.stepping.is_empty()
            || !state.held.is_empty()
            || state.approval_default != Approval::Auto
            || state.approvals.values().any(|a| *a != Approval::Auto)
            || !state.pass_once.is_empty()
            || state.guidance.values().any(|q| !q.is_empty());
        self.armed.store(armed, Ordering::Relaxed);
    }

    /// What a tool call needs before it runs.
    pub fn approval(&self, tool: &str) -> Approval {
        if !self.armed.load(Ordering::Relaxed) {
            return Approval::Auto;
        }
        let state = lock(&self.state);
        state
            .approvals
            .get(tool)
            .copied()
            .unwrap_or(state.approval_default)
    }

    /// Whether `agent` stops at `place`, and why. The one place the rules of stopping live.
    pub fn check(&self, agent: &AgentId, place: Place<'_>) -> Option<Why> {
        if !self.armed.load(Ordering::Relaxed) {
            return None;
        }
        let mut state = lock(&self.state);
        let kind = place.kind();
        if let Some(i) = state
            .pass_once
            .iter()
            .position(|(a, k)| a == agent && *k == kind)
        {
            state.pass_once.remove(i);
            self.rearm(&state);
            return None;
        }
        if let Place::ToolCall { tool } = place {
            let approval = state
                .approvals
                .get(tool)
                .copied()
                .unwrap_or(state.approval_default);
            if approval == Approval::Ask {
                return Some(Why::Approval);
            }
        }
        // Holding and stepping stop where work is about to happen, not at the checks made
        // after it (budget, failure, signal), which only breakpoints ask for.
        let work = matches!(place, Place::ModelCall | Place::ToolCall { .. });
        if state.held.contains(agent) && (work || matches!(place, Place::Turn)) {
            return Some(Why::Hold);
        }
        if work && (state.step_all || state.stepping.contains(agent)) {
            return Some(Why::Step);
        }
        let hit = state.breakpoints.iter().find(|spec| match (spec, place) {
            (BreakSpec::Agent(id), Place::Turn) => id == agent,
            (BreakSpec::Model(id), Place::ModelCall) => id.as_ref().is_none_or(|id| id == agent),
            (BreakSpec::Tool(name), Place::ToolCall { tool }) => {
                name.as_deref().is_none_or(|name| name == tool)
            }
            (BreakSpec::Signal(s), Place::Signal { signal }) => s == signal,
            (BreakSpec::Failure, Place::Failure) => true,
            (BreakSpec::Tokens(limit), Place::Budget(spent)) => spent.tokens >= *limit,
            (BreakSpec::Cost(limit), Place::Budget(spent)) => {
                spent.cost_micros.is_some_and(|c| c >= *limit)
            }
            _ => false,
        });
        let Some(hit) = hit.cloned() else {
            // The crew's own budgets stop once each, like budget breakpoints.
            if let Place::Budget(Spent { hit: Some(hit), .. }) = place
                && state.passed_budgets.insert(budget_key(&hit))
            {
                return Some(Why::Budget(hit));
            }
            return None;
        };
        if matches!(hit, BreakSpec::Tokens(_) | BreakSpec::Cost(_)) {
            // A budget stops once, when it is passed, not at every reply after.
            if !state.passed.insert(hit.clone()) {
                return None;
            }
        }
        Some(Why::Breakpoint(hit))
    }

    /// Stops `agent` at a gate until a decision comes: emits `gate`, waits, emits `decision`.
    /// `cancel` is the agent's own token: cancelling it leaves the gate as a detach would.
    pub async fn stop(
        &self,
        emitter: &Emitter,
        agent: &AgentId,
        halt: Halt<'_>,
        cancel: &CancellationToken,
    ) -> Decision {
        let Halt {
            place,
            why,
            detail,
            call_id,
        } = halt;
        let (answer, decided) = oneshot::channel();
        let (gate, closed) = {
            let mut state = lock(&self.state);
            let n = state.next;
            state.next += 1;
            state.open.insert(
                n,
                Open {
                    agent: agent.clone(),
                    kind: place.kind(),
                    held: why == Why::Hold,
                    call_id: call_id.clone(),
                    answer,
                },
            );
            (GateId(format!("g{n}")), state.closed)
        };
        emitter
            .emit(EventKind::Gate {
                gate: gate.clone(),
                agent: agent.clone(),
                kind: place.kind(),
                reason: why.to_string(),
                detail,
            })
            .await;
        let started = tokio::time::Instant::now();
        let decision = if closed {
            Decision::Detach
        } else {
            tokio::select! {
                // A decision already made wins over the hang-up or detach that came after it:
                // commands are taken in order, and the one deciding this gate came first.
                biased;
                decision = decided => decision.unwrap_or(Decision::Detach),
                () = self.detach.cancelled() => Decision::Detach,
                () = self.nobody.cancelled() => Decision::Detach,
                () = cancel.cancelled() => Decision::Detach,
            }
        };
        self.waited_ms
            .fetch_add(started.elapsed().as_millis() as u64, Ordering::Relaxed);
        {
            let mut state = lock(&self.state);
            if let Some(n) = gate.as_str().strip_prefix('g').and_then(|n| n.parse().ok()) {
                state.open.remove(&n);
            }
            match decision {
                Decision::Step => {
                    state.stepping.insert(agent.clone());
                }
                Decision::Detach => {}
                Decision::Continue
                | Decision::Approve
                | Decision::Deny { .. }
                | Decision::EditCall { .. }
                | Decision::EditRequest { .. } => {
                    state.stepping.remove(agent);
                }
            }
            self.rearm(&state);
        }
        if decision != Decision::Detach {
            emitter
                .emit(EventKind::Decision {
                    gate,
                    op: decision_op(&decision).to_string(),
                    by_resume: false,
                    reason: match &decision {
                        Decision::Deny { reason } => Some(reason.clone()),
                        _ => None,
                    },
                    arguments: match &decision {
                        Decision::EditCall { arguments } => Some(arguments.clone()),
                        _ => None,
                    },
                    system_prompt: match &decision {
                        Decision::EditRequest { system_prompt, .. } => system_prompt.clone(),
                        _ => None,
                    },
                    messages: match &decision {
                        Decision::EditRequest { messages, .. } => messages.clone(),
                        _ => None,
                    },
                })
                .await;
        }
        decision
    }

    /// Decides an open gate, or changes how gates are set, as `command` asks. Returns what to
    /// record (breakpoints or holds that changed), or why the command does not apply.
    pub fn command(&self, command: &Command) -> Result<Option<EventKind>, String> {
        let mut state = lock(&self.state);
        let outcome = match command {
            Command::Continue { gate } | Command::Step { gate } => {
                let n = find_gate(&state, gate.as_ref(), None)?;
                let decision = match command {
                    Command::Step { .. } => Decision::Step,
                    _ => Decision::Continue,
                };
                send(&mut state, n, decision);
                None
            }
            Command::Approve { call_id } => {
                let n = find_gate(&state, None, Some(call_id))?;
                send(&mut state, n, Decision::Approve);
                None
            }
            Command::Deny { call_id, reason } => {
                let n = find_gate(&state, None, Some(call_id))?;
                let reason = reason.clone().unwrap_or_else(|| "no reason given".into());
                send(&mut state, n, Decision::Deny { reason });
                None
            }
            Command::EditCall { call_id, arguments } => {
                let n = find_gate(&state, None, Some(call_id))?;
                send(
                    &mut state,
                    n,
                    Decision::EditCall {
                        arguments: arguments.clone(),
                    },
                );
                None
            }
            Command::EditRequest {
                gate,
                system_prompt,
                messages,
            } => {
                let n = find_gate(&state, Some(gate), None)?;
                if state.open[&n].kind != GateKind::ModelCall {
                    return Err(format!("gate {gate} is not before a model call"));
                }
                send(
                    &mut state,
                    n,
                    Decision::EditRequest {
                        system_prompt: system_prompt.clone(),
                        messages: messages.clone(),
                    },
                );
                None
            }
            Command::Break { spec } | Command::Unbreak { spec } => {
                let spec: BreakSpec = spec.parse()?;
                if matches!(command, Command::Break { .. }) {
                    state.breakpoints.insert(spec);
                } else if !state.breakpoints.remove(&spec) {
                    return Err(format!("no breakpoint {spec} is set"));
                }
                Some(EventKind::Breakpoints {
                    specs: state.breakpoints.iter().map(ToString::to_string).collect(),
                })
            }
            Command::Hold { agent } | Command::Release { agent } => {
                let held = matches!(command, Command::Hold { .. });
                if held {
                    state.held.insert(agent.clone());
                } else {
                    state.held.remove(agent);
                    // Held at a gate: releasing lets it go.
                    let waiting: Vec<u64> = state
                        .open
                        .iter()
                        .filter(|(_, g)| g.agent == *agent && g.held)
                        .map(|(n, _)| *n)
                        .collect();
                    for n in waiting {
                        send(&mut state, n, Decision::Continue);
                    }
                }
                Some(EventKind::Hold {
                    agent: agent.clone(),
                    held,
                })
            }
            Command::Guide { agent, text } => {
                state
                    .guidance
                    .entry(agent.clone())
                    .or_default()
                    .push_back(text.clone());
                None
            }
            Command::Detach {} => {
                state.closed = true;
                self.detach.cancel();
                None
            }
            Command::Answer { .. }
            | Command::Rerun { .. }
            | Command::Keep { .. }
            | Command::Cancel { .. }
            | Command::Unreadable { .. } => None,
        };
        self.rearm(&state);
        Ok(outcome)
    }

    /// Nobody can decide any more (the commands channel closed): gates waiting now, and any
    /// later one, end the session resumable.
    pub fn close(&self) {
        lock(&self.state).closed = true;
        self.nobody.cancel();
    }

    /// Fires when the user detaches: everything stops where it is, resumable.
    pub fn detached(&self) -> &CancellationToken {
        &self.detach
    }

    /// Counts a reply of `agent` to a request for `model` (empty: the agent's own), answered
    /// by the backup model `fell_back_to` when the call fell back, in what the run spent;
    /// returns the run's spend for the budget check after it. The ledger is told what the
    /// run model is told by the events, in their order, so both price a reply alike.
    pub fn replied(
        &self,
        agent: &AgentId,
        model: &str,
        fell_back_to: Option<&str>,
        usage: Option<&Usage>,
        content: &str,
    ) -> Spent {
        let mut spend = self.spend.lock().unwrap_or_else(|e| e.into_inner());
        let i = match spend.account_of(agent.as_str()) {
            Some(i) => i,
            None => spend.open(agent),
        };
        spend.request(i, model);
        if let Some(to) = fell_back_to {
            spend.fell_back(i, to);
        }
        spend.replied(i, usage, content);
        let total = spend.total();
        Spent {
            tokens: total.tokens(),
            cost_micros: total.priced().then(|| micros(total.cost_usd)),
            hit: spend.passed(Some(i)),
        }
    }

    /// Says whose budget `hit` is, for the gate's detail.
    pub fn describe(&self, hit: &BudgetHit) -> String {
        let spend = self.spend.lock().unwrap_or_else(|e| e.into_inner());
        let whose = match hit.scope {
            BudgetScope::Run => "the run".to_string(),
            BudgetScope::Agent(i) => match spend.id_of(i) {
                Some(id) => format!("agent {}", crate::text::visible_line(id.as_str())),
                None => "an agent".to_string(),
            },
        };
        hit.describe(&whose)
    }

    /// Guidance waiting for `agent`'s next model call, taken.
    pub fn take_guidance(&self, agent: &AgentId) -> Vec<String> {
        if !self.armed.load(Ordering::Relaxed) {
            return Vec::new();
        }
        let mut state = lock(&self.state);
        let taken = state
            .guidance
            .get_mut(agent)
            .map(|q| q.drain(..).collect())
            .unwrap_or_default();
        self.rearm(&state);
        taken
    }

    /// Time spent at gates so far, which no timeout counts.
    pub fn waited(&self) -> Duration {
        Duration::from_millis(self.waited_ms.load(Ordering::Relaxed))
    }

    /// The breakpoints set now, as their specs.
    pub fn breakpoints(&self) -> Vec<String> {
        lock(&self.state)
            .breakpoints
            .iter()
            .map(ToString::to_string)
            .collect()
    }
}

fn send(state: &mut State, n: u64, decision: Decision) {
    if let Some(open) = state.open.remove(&n) {
        let _ = open.answer.send(decision);
    }
}

/// The open gate a command names: by its id, by the tool call waiting at it, or the oldest.
fn find_gate(state: &State, gate: Option<&GateId>, call: Option<&CallId>) -> Result<u64, String> {
    if let Some(call) = call {
        return state
            .open
            .iter()
            .find(|(_, g)| g.call_id.as_ref() == Some(call))
            .map(|(n, _)| *n)
            .ok_or_else(|| format!("no tool call {call} waits at a gate"));
    }
    match gate {
        Some(gate) => gate
            .as_str()
            .strip_prefix('g')
            .and_then(|n| n.parse().ok())
            .filter(|n| state.open.contains_key(n))
            .ok_or_else(|| format!("gate {gate} is not open")),
        None => state
            .open
            .keys()
            .next()
            .copied()
            .ok_or_else(|| "no gate is open".to_string()),
    }
}

/// The `op` a decision is recorded with.
pub fn decision_op(decision: &Decision) -> &'static str {
    match decision {
        Decision::Continue => "continue",
        Decision::Step => "step",
        Decision::Approve => "approve",
        Decision::Deny { .. } => "deny",
        Decision::EditCall { .. } => "edit_call",
        Decision::EditRequest { .. } => "edit_request",
        Decision::Detach => "detach",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn breakpoint_specs_read_and_print_alike() {
        for spec in [
            "agent:writer",
            "model:risks",
            "model:*",
            "tool:fault",
            "tool:*",
            "signal:[REVIEW]",
            "failure",
            "tokens:5000",
        ] {
            let parsed: BreakSpec = spec.parse().unwrap();
            assert_eq!(parsed.to_string(), spec);
        }
        assert_eq!(
            "cost:0.5".parse::<BreakSpec>().unwrap(),
            BreakSpec::Cost(500_000)
        );
        for bad in ["agent", "agent:", "tokens:many", "cost:-1", "color:red", ""] {
            assert!(bad.parse::<BreakSpec>().is_err(), "{bad}");
        }
    }

    #[test]
    fn who_stops_where() {
        let gates = Gatekeeper::new(
            GateSettings {
                breakpoints: vec![
                    BreakSpec::Agent("writer".into()),
                    BreakSpec::Tool(Some("fault".into())),
                    BreakSpec::Tokens(100),
                ],
                approvals: [("calculator".to_string(), Approval::Ask)].into(),
                ..GateSettings::default()
            },
            Ledger::default(),
        );
        let (w, r): (AgentId, AgentId) = ("writer".into(), "risks".into());
        assert!(matches!(
            gates.check(&w, Place::Turn),
            Some(Why::Breakpoint(_))
        ));
        assert_eq!(gates.check(&r, Place::Turn), None);
        assert_eq!(gates.check(&r, Place::ModelCall), None);
        assert!(gates.check(&r, Place::ToolCall { tool: "fault" }).is_some());
        assert_eq!(gates.check(&r, Place::ToolCall { tool: "clock" }), None);
        assert_eq!(
            gates.check(&r, Place::ToolCall { tool: "calculator" }),
            Some(Why::Approval)
        );
        let budget = |tokens| {
            Place::Budget(Spent {
                tokens,
                cost_micros: None,
                hit: None,
            })
        };
        assert_eq!(gates.check(&r, budget(99)), None);
        assert!(gates.check(&r, budget(120)).is_some());
        assert_eq!(gates.check(&r, budget(130)), None, "a budget stops once");

        let unarmed = Gatekeeper::new(GateSettings::default(), Ledger::default());
        assert_eq!(unarmed.check(&w, Place::Turn), None);
        unarmed
            .command(&Command::Hold { agent: w.clone() })
            .unwrap();
        assert_eq!(unarmed.check(&w, Place::ModelCall), Some(Why::Hold));
        assert_eq!(unarmed.check(&r, Place::ModelCall), None);
    }
}
