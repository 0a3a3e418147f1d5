//! The run model: the one fold over a session's events (DESIGN.md principle 2).
//!
//! [`Run::apply`] takes events in order, live or from a file, and keeps everything that
//! happened: per agent its state, its timeline (what a pane shows), and a record of each turn,
//! model call (the request rebuilt whole, reply, reasoning, usage) and tool call; the parallel
//! groups with their members' outcomes; the route; the shared history as the engine recorded
//! it; the counters; where a person stepped in (gates and their decisions, guidance, holds,
//! re-runs: see `intervention`); the outcome, with one wording. The TUI, the transcript, the sessions list,
//! the headless exit status and resume are projections of it; none folds events of its own.
//!
//! Nothing here draws or knows a terminal: a front end keeps how it looks at a run (focus,
//! scroll, wrapped lines) beside it. A run is cheap to clone (its long parts share storage),
//! which is what lets a replay keep checkpoints to seek back to.

mod agent;
mod cost;
mod intervention;
mod resume;
mod route;
mod steering;
mod timeline;

use std::collections::BTreeMap;
use std::sync::Arc;

pub use agent::{
    AgentRun, AgentState, CALL_TEXT_LIMIT, CallState, ModelCall, Reply, ToolEnd, ToolRun,
    TurnRecord, TurnStep,
};
pub use cost::{
    Budget, BudgetHit, BudgetScope, Ledger, Limit, Price, Prices, Spend, Terms, dollars,
    table_price,
};
pub use intervention::{
    Decided, Guidance, Intervention, MessageChange, MessagesEdit, RequestEdit, RerunRecord, Stop,
};
pub use timeline::{Item, Note, Timeline, TimelineLimits, Tone, ToolStatus};

use super::event::{
    AgentId, Event, EventKind, GateId, GateKind, GroupId, HandoffReason, Outcome, TurnEnd, Usage,
};
use super::history::{Author, Entry, History};
use super::request::{Request, RequestDelta};
use super::shared_vec::SharedVec;
use super::step::Step;

/// An agent as a crew file lists it, which is all a run needs of a crew.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AgentInfo {
    pub id: AgentId,
    pub name: String,
    pub role: String,
}

impl AgentInfo {
    pub fn from_crew(crew: &crate::config::model::Crew) -> Vec<Self> {
        crew.agents
            .iter()
            .map(|a| AgentInfo {
                id: AgentId(a.id.clone()),
                name: a.name.clone(),
                role: a.role.clone(),
            })
            .collect()
    }
}

/// An agent or a parallel group: what a hand-off can come from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Party {
    Agent(AgentId),
    Group(GroupId),
}

impl std::fmt::Display for Party {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Party::Agent(id) => f.write_str(id.as_str()),
            Party::Group(id) => f.write_str(id.as_str()),
        }
    }
}

/// One step of the path the run took.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RouteStep {
    Agent(AgentId),
    Group { id: GroupId, size: usize },
}

#[derive(Clone, Debug, PartialEq)]
pub struct GroupEnd {
    pub completed: Vec<AgentId>,
    pub failed: Vec<AgentId>,
    pub timed_out: Vec<AgentId>,
    pub joined: Vec<AgentId>,
    pub output: Option<String>,
    pub t_ms: u64,
}

#[derive(Clone, Debug, PartialEq)]
pub struct GroupRun {
    pub id: GroupId,
    pub members: Vec<AgentId>,
    pub started_ms: u64,
    /// The agent whose signal started it.
    pub starter: Option<AgentId>,
    /// Each member's turn number in this group, once it started.
    pub member_turns: Vec<(AgentId, u32)>,
    pub end: Option<GroupEnd>,
    /// What the members' replies in the group cost, once they ended.
    pub spend: Spend,
}

/// The chapters of a run's story, in the order they happened (what a transcript tells).
#[derive(Clone, Debug, PartialEq)]
pub enum Chapter {
    /// A turn of its own (not in a group).
    Turn { agent: AgentId, turn: u32 },
    /// A parallel group, by its index in [`Run::groups`].
    Group(usize),
    Handoff {
        from: Party,
        to: AgentId,
        reason: HandoffReason,
        signal: Option<String>,
        t_ms: u64,
    },
    Paused {
        agent: AgentId,
        prompt: String,
        t_ms: u64,
    },
    Answered {
        agent: AgentId,
        input: String,
        t_ms: u64,
    },
    /// The recording went on in a later process (`crewtui resume`).
    Resumed { t_ms: u64 },
    /// A person stepped in on an agent outside any turn of its (a gate before its turn, at a
    /// signal): its intervention `index` (see [`AgentRun::intervention`]).
    Intervention { agent: AgentId, index: usize },
    /// A turn ran again, by its index in [`Run::reruns`].
    Rerun(usize),
}

/// A pause waiting for the user.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pause {
    pub agent: AgentId,
    pub prompt: String,
}

/// How the run ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finish {
    pub outcome: Outcome,
    pub reason: String,
    /// Agents with a failure (their own, or a tool's) when it ended.
    pub failures: usize,
}

impl Finish {
    /// The outcome in words: `completed`, or `completed with 2 failures` when agents failed
    /// along the way.
    pub fn label(&self) -> String {
        match (self.outcome, self.failures) {
            (Outcome::Completed, 0) => self.outcome.label().to_string(),
            (Outcome::Completed, 1) => "completed with 1 failure".to_string(),
            (Outcome::Completed, n) => format!("completed with {n} failures"),
            (Outcome::Paused | Outcome::Failed | Outcome::Cancelled | Outcome::Limit, _) => {
                self.outcome.label().to_string()
            }
        }
    }

    /// Whether it went as it should: completed, with no agent failing on the way.
    pub fn clean(&self) -> bool {
        self.outcome == Outcome::Completed && self.failures == 0
    }

    /// The one wording of an outcome with its reason: `completed — agent `editor` is terminal`.
    pub fn describe(&self) -> String {
        if self.reason.is_empty() {
            self.label()
        } else {
            format!("{} — {}", self.label(), self.reason)
        }
    }
}

/// How many agents are in each state, as the header counts them. An agent with a failure
/// counts as failed whatever it did after.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    pub running: usize,
    pub done: usize,
    pub failed: usize,
    pub cancelled: usize,
    /// Waiting at a gate for a decision.
    pub stopped: usize,
    /// Not started, or waiting for their turn.
    pub idle: usize,
}

/// Where the session's routing loop stands, as far as the events tell.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Phase {
    NotStarted,
    /// Started; the entry agent is next.
    Starting,
    /// A step was decided and has not begun.
    Next(Step),
    /// A turn of its own is running.
    Turn(AgentId),
    /// A turn ended and joined the history; routing is next.
    Routing {
        agent: AgentId,
        reply: String,
    },
    /// A parallel group (index into `groups`) is running.
    Group(usize),
    Paused {
        agent: AgentId,
        prompt: String,
    },
}

#[derive(Clone, Debug)]
pub struct Run {
    pub session_id: String,
    pub crew: String,
    pub input: String,
    pub started: bool,
    agents: Vec<AgentRun>,
    index: BTreeMap<AgentId, usize>,
    groups: Vec<GroupRun>,
    route: SharedVec<RouteStep>,
    running_group: Option<usize>,
    pause: Option<Pause>,
    finish: Option<Finish>,
    phase: Phase,
    history: History,
    rounds: u32,
    handoffs: u32,
    story: SharedVec<Chapter>,
    /// Session time of the newest event.
    t_ms: u64,
    events: u64,
    /// The `seq` the next event gets.
    next_seq: u64,
    limits: TimelineLimits,
    /// Gates waiting for a decision, oldest first.
    open_gates: Vec<OpenGate>,
    /// The highest gate number seen.
    last_gate: u64,
    /// The breakpoints set, as their specs.
    breakpoints: Vec<String>,
    held: std::collections::BTreeSet<AgentId>,
    /// Guidance given and not yet taken into a model call, by agent, oldest first.
    guidance: std::collections::BTreeMap<AgentId, Vec<String>>,
    /// A re-run in progress, and how to undo it if the recording stops before it ends.
    rerun: Option<RerunState>,
    /// The last command the session could not carry out, and why.
    rejected: Option<(String, String)>,
    /// What the agents spent; account `i` is agent `i`'s.
    ledger: Ledger,
    /// Turns run again, in order.
    reruns: Vec<RerunRecord>,
}

/// A gate waiting for a decision.
#[derive(Clone, Debug, PartialEq)]
pub struct OpenGate {
    pub gate: GateId,
    pub agent: AgentId,
    pub kind: GateKind,
    pub reason: String,
    pub detail: serde_json::Value,
    pub t_ms: u64,
}

/// A turn running again.
#[derive(Clone, Debug)]
pub(crate) struct RerunState {
    pub agent: AgentId,
    pub variants: u32,
    /// What a resume goes back to when the recording stops before a variant is kept.
    pub removed: Vec<Entry>,
    pub phase: Phase,
    pub rounds: u32,
    pub handoffs: u32,
}

impl Run {
    /// A run of a crew with these agents, before any event. Agents an event names that are not
    /// listed (a recording of a crew that changed since) are added when first seen.
    pub fn new(crew: &str, agents: &[AgentInfo], limits: TimelineLimits) -> Self {
        let mut run = Self {
            session_id: String::new(),
            crew: crew.to_string(),
            input: String::new(),
            started: false,
            agents: Vec::new(),
            index: BTreeMap::new(),
            groups: Vec::new(),
            route: SharedVec::default(),
            running_group: None,
            pause: None,
            finish: None,
            phase: Phase::NotStarted,
            history: History::default(),
            rounds: 0,
            handoffs: 0,
            story: SharedVec::default(),
            t_ms: 0,
            events: 0,
            next_seq: 0,
            limits,
            open_gates: Vec::new(),
            last_gate: 0,
            breakpoints: Vec::new(),
            held: Default::default(),
            guidance: Default::default(),
            rerun: None,
            rejected: None,
            ledger: Ledger::default(),
            reruns: Vec::new(),
        };
        for a in agents {
            run.add_agent(&a.id, &a.name, &a.role);
        }
        run
    }

    /// A run of `crew` before any event, priced and held to budgets as the crew says.
    pub fn for_crew(crew: &crate::config::model::Crew, limits: TimelineLimits) -> Self {
        Self::new(&crew.name, &AgentInfo::from_crew(crew), limits).with_terms(Terms::for_crew(crew))
    }

    /// The same run priced and held to budgets by `terms` (a crew's); for a run no event has
    /// reached yet: what was spent before is counted afresh from nothing.
    pub fn with_terms(mut self, terms: Terms) -> Self {
        self.ledger = Ledger::new(terms);
        for a in &self.agents {
            self.ledger.open(&a.id);
        }
        self
    }

    fn add_agent(&mut self, id: &AgentId, name: &str, role: &str) -> usize {
        self.agents
            .push(AgentRun::new(id.clone(), name, role, self.limits));
        let i = self.agents.len() - 1;
        self.index.insert(id.clone(), i);
        self.ledger.open(id);
        i
    }

    /// The index of `id`, added when first seen.
    fn index_of(&mut self, id: &AgentId) -> usize {
        if let Some(&i) = self.index.get(id) {
            return i;
        }
        // A re-run's variant `writer~2` is shown as its agent's variant 2.
        let variant = id.as_str().rsplit_once('~').and_then(|(base, k)| {
            let base = self.agent(base)?;
            k.parse::<u32>().ok()?;
            Some((format!("{} ~{k}", base.name), base.role.clone()))
        });
        match variant {
            Some((name, role)) => self.add_agent(id, &name, &role),
            None => self.add_agent(id, id.as_str(), ""),
        }
    }

    /// What the run spends, by agent and in all.
    pub fn ledger(&self) -> &Ledger {
        &self.ledger
    }

    /// What the whole run has spent, streaming replies' estimates included.
    pub fn spend(&self) -> Spend {
        self.ledger.total()
    }

    /// Whether agent `agent`'s budget or the run's has been reached (see
    /// [`Ledger::passed`]); cheap and allocation-free, for the engine to ask before a model
    /// call.
    pub fn budget_passed(&self, agent: &str) -> Option<BudgetHit> {
        self.ledger.passed(self.agent_index(agent))
    }

    /// What a parallel group spent: its members' replies that ended in it, and the replies
    /// they are streaming now while it runs.
    pub fn group_spend(&self, group: &GroupRun) -> Spend {
        let mut spend = group.spend;
        if group.end.is_none() {
            for member in &group.members {
                if let Some(i) = self.agent_index(member.as_str()) {
                    spend.add(&self.ledger.streaming(i));
                }
            }
        }
        spend
    }

    /// Agents by what they are doing, for the header.
    pub fn counts(&self) -> Counts {
        let mut counts = Counts::default();
        for a in &self.agents {
            let slot = if a.failed {
                &mut counts.failed
            } else {
                match a.state {
                    AgentState::Failed => &mut counts.failed,
                    AgentState::Cancelled => &mut counts.cancelled,
                    AgentState::Done => &mut counts.done,
                    AgentState::Stopped => &mut counts.stopped,
                    AgentState::Thinking
                    | AgentState::Streaming
                    | AgentState::RunningTool
                    | AgentState::Paused => &mut counts.running,
                    AgentState::Idle | AgentState::Waiting => &mut counts.idle,
                }
            };
            *slot += 1;
        }
        counts
    }

    /// Adds what agent `i` just settled to the group its open turn runs in.
    fn charge_group(&mut self, i: usize, spend: &Spend) {
        let Some(g) = self.running_group else {
            return;
        };
        if self.groups[g].members.contains(&self.agents[i].id) {
            self.groups[g].spend.add(spend);
        }
    }

    pub fn agents(&self) -> &[AgentRun] {
        &self.agents
    }

    pub fn agent_index(&self, id: &str) -> Option<usize> {
        self.index.get(id).copied()
    }

    pub fn agent(&self, id: &str) -> Option<&AgentRun> {
        self.agent_index(id).map(|i| &self.agents[i])
    }

    fn agent_mut(&mut self, id: &AgentId) -> &mut AgentRun {
        let i = self.index_of(id);
        &mut self.agents[i]
    }

    pub fn groups(&self) -> &[GroupRun] {
        &self.groups
    }

    /// The parallel group running now.
    pub fn running_group(&self) -> Option<&GroupRun> {
        self.running_group.map(|i| &self.groups[i])
    }

    pub fn route(&self) -> impl DoubleEndedIterator<Item = &RouteStep> + '_ {
        self.route.iter()
    }

    pub fn story(&self) -> impl Iterator<Item = &Chapter> + '_ {
        self.story.iter()
    }

    /// The agent waiting for the user's answer, and what it asked.
    pub fn pause(&self) -> Option<&Pause> {
        self.pause.as_ref()
    }

    pub fn finish(&self) -> Option<&Finish> {
        self.finish.as_ref()
    }

    pub fn outcome(&self) -> Option<Outcome> {
        self.finish.as_ref().map(|f| f.outcome)
    }

    /// Gates waiting for a decision, oldest first.
    pub fn open_gates(&self) -> &[OpenGate] {
        &self.open_gates
    }

    /// The gate `agent` waits at, if any.
    pub fn gate_of(&self, agent: &str) -> Option<&OpenGate> {
        self.open_gates.iter().find(|g| g.agent == agent)
    }

    /// The breakpoints set, as their specs.
    pub fn breakpoints(&self) -> &[String] {
        &self.breakpoints
    }

    pub fn is_held(&self, agent: &str) -> bool {
        self.held.contains(agent)
    }

    /// The agent whose turn runs again as several variants, and how many.
    pub fn variants(&self) -> Option<(&AgentId, u32)> {
        self.rerun
            .as_ref()
            .filter(|r| r.variants > 1)
            .map(|r| (&r.agent, r.variants))
    }

    /// Turns run again, in order.
    pub fn reruns(&self) -> &[RerunRecord] {
        &self.reruns
    }

    /// The last command the session could not carry out, and why.
    pub fn rejected(&self) -> Option<&(String, String)> {
        self.rejected.as_ref()
    }

    /// The shared history as the engine recorded it.
    pub fn history(&self) -> &History {
        &self.history
    }

    /// Session time of the newest event.
    pub fn t_ms(&self) -> u64 {
        self.t_ms
    }

    /// Events applied.
    pub fn events(&self) -> u64 {
        self.events
    }

    /// Whether the run is still going.
    pub fn running(&self) -> bool {
        self.started && self.finish.is_none()
    }

    /// Whole replies, over all agents.
    pub fn replies(&self) -> usize {
        self.agents
            .iter()
            .flat_map(|a| a.calls())
            .filter(|c| c.reply.as_ref().is_some_and(|r| r.kept))
            .count()
    }

    /// Agents that started at least one turn.
    pub fn agents_started(&self) -> usize {
        self.agents.iter().filter(|a| a.turn > 0).count()
    }

    pub fn apply(&mut self, event: &Event) {
        self.events += 1;
        self.t_ms = self.t_ms.max(event.t_ms);
        self.next_seq = event.seq.saturating_add(1);
        let t = event.t_ms;
        match &event.kind {
            EventKind::SessionStarted {
                session_id,
                crew,
                input,
            } => {
                self.started = true;
                self.session_id = session_id.clone();
                self.crew = crew.clone();
                self.input = input.clone();
                self.phase = Phase::Starting;
            }
            EventKind::SessionResumed {} => {
                self.finish = None;
                // Resuming decides the gates the recording stopped at (their `decision`
                // events follow); a tool call waiting for approval is asked anew.
                let asked: Vec<(AgentId, GateId)> = self
                    .open_gates
                    .iter()
                    .filter(|g| g.reason == "approval")
                    .map(|g| (g.agent.clone(), g.gate.clone()))
                    .collect();
                for (agent, gate) in &asked {
                    if let Some(stop) = self.stop_mut(agent, gate) {
                        stop.asked_again = true;
                    }
                }
                self.open_gates.retain(|g| g.reason != "approval");
                if let Phase::Paused { agent, prompt } = &self.phase {
                    self.pause = Some(Pause {
                        agent: agent.clone(),
                        prompt: prompt.clone(),
                    });
                }
                self.story.push(Chapter::Resumed { t_ms: t });
            }
            EventKind::AgentStarted {
                agent,
                turn,
                input,
                round,
                entry,
            } => {
                let group = self
                    .running_group
                    .filter(|&g| self.groups[g].members.contains(agent));
                let variant = self.rerun.as_ref().is_some_and(|r| {
                    r.variants > 1
                        && agent
                            .as_str()
                            .strip_prefix(r.agent.as_str())
                            .is_some_and(|rest| rest.starts_with('~'))
                });
                if self
                    .rerun
                    .as_ref()
                    .is_some_and(|r| r.variants == 1 && r.agent == *agent)
                {
                    // The re-run itself begins: a turn like any other from here.
                    self.rerun = None;
                }
                if group.is_none() && !variant {
                    if self.route.last() != Some(&RouteStep::Agent(agent.clone())) {
                        self.route.push(RouteStep::Agent(agent.clone()));
                    }
                    self.phase = Phase::Turn(agent.clone());
                    self.story.push(Chapter::Turn {
                        agent: agent.clone(),
                        turn: *turn,
                    });
                    if let Some(round) = round {
                        self.rounds = *round;
                    }
                }
                let group_id = group.map(|g| {
                    self.groups[g].member_turns.push((agent.clone(), *turn));
                    self.groups[g].id.clone()
                });
                let a = self.agent_mut(agent);
                a.turn = *turn;
                a.turn_started_ms = t;
                a.set_state(AgentState::Thinking, t);
                a.timeline.push(Item::Turn {
                    turn: *turn,
                    input: input.clone(),
                });
                a.turns.push(TurnRecord {
                    turn: *turn,
                    input: input.clone(),
                    started_ms: t,
                    group: group_id,
                    steps: Vec::new(),
                    tools: Vec::new(),
                    end: None,
                    entries: entry
                        .iter()
                        .map(|message| Entry {
                            author: Author::User,
                            message: message.clone(),
                        })
                        .collect(),
                    joined: false,
                });
            }
            EventKind::ModelRequest {
                agent,
                model,
                call,
                messages_from,
                messages,
                system_prompt,
                tools,
            } => {
                let i = self.index_of(agent);
                let left = self.ledger.request(i, model);
                self.charge_group(i, &left);
                let a = &mut self.agents[i];
                a.streamed_reply = false;
                a.set_state(AgentState::Thinking, t);
                if let Some(last) = a.last_call_mut()
                    && last.state == CallState::Streaming
                {
                    last.state = CallState::Abandoned;
                    a.timeline.push(Item::Note(Note::AskedAgain));
                }
                let recorded = RequestDelta {
                    messages_from: *messages_from,
                    messages: messages.clone(),
                    system_prompt: system_prompt.clone(),
                    tools: tools.clone(),
                };
                // A version 1 request repeats everything: keep only what was new in it, so a
                // long recording's run stays linear in what happened.
                let delta = match a.last_request.as_deref() {
                    Some(previous) if *messages_from == 0 => {
                        Request::apply(Some(previous), model, &recorded).delta_from(Some(previous))
                    }
                    Some(_) | None => recorded,
                };
                // The newest request is kept whole, changed in place: unless a replay's
                // checkpoint shares it, this costs what is new, not the whole history.
                match &mut a.last_request {
                    Some(last) => Arc::make_mut(last).apply_delta(model, &delta),
                    None => a.last_request = Some(Arc::new(Request::apply(None, model, &delta))),
                }
                let index = a.calls.len();
                let turn = a.turn;
                a.calls.push(ModelCall {
                    number: *call,
                    turn,
                    model: model.clone(),
                    started_ms: t,
                    delta,
                    reasoning: String::new(),
                    partial: String::new(),
                    reply: None,
                    state: CallState::Streaming,
                });
                if let Some(open) = a.open_turn() {
                    open.steps.push(TurnStep::Call(index));
                }
            }
            EventKind::Token {
                agent,
                text,
                reasoning,
            } => {
                self.ensure_call(agent, t);
                let i = self.index_of(agent);
                self.ledger.streamed(i, text);
                let a = &mut self.agents[i];
                a.timeline.append_text(text, *reasoning);
                if *reasoning {
                    a.set_state(AgentState::Thinking, t);
                } else {
                    a.streamed_reply = true;
                    a.set_state(AgentState::Streaming, t);
                }
                if let Some(call) = a.last_call_mut()
                    && call.state == CallState::Streaming
                {
                    let kept = if *reasoning {
                        &mut call.reasoning
                    } else {
                        &mut call.partial
                    };
                    agent::append_bounded(kept, text);
                }
            }
            EventKind::FellBack {
                agent,
                from,
                to,
                error,
            } => {
                self.ensure_call(agent, t);
                let i = self.index_of(agent);
                let left = self.ledger.fell_back(i, to);
                self.charge_group(i, &left);
                let a = &mut self.agents[i];
                a.timeline.push(Item::Note(Note::FellBack {
                    from: from.clone(),
                    to: to.clone(),
                    error: error.clone(),
                }));
                a.set_state(AgentState::Thinking, t);
                // The one call is answered by the backup: its reply and usage are the backup's.
                if let Some(call) = a.last_call_mut() {
                    call.model.clone_from(to);
                }
            }
            EventKind::Message {
                agent,
                content,
                usage,
                finish_reason,
                truncated,
                tool_calls,
                text_calls,
                entry,
            } => {
                self.ensure_call(agent, t);
                let i = self.index_of(agent);
                let spend = self.ledger.replied(i, usage.as_ref(), content);
                self.charge_group(i, &spend);
                let a = &mut self.agents[i];
                if !a.streamed_reply && !content.is_empty() {
                    a.timeline.push(Item::Text {
                        text: content.clone(),
                        reasoning: false,
                        trimmed: 0,
                    });
                }
                if let Some(usage) = usage {
                    let sum = a.usage.get_or_insert_with(Usage::default);
                    sum.prompt_tokens = sum.prompt_tokens.saturating_add(usage.prompt_tokens);
                    sum.completion_tokens = sum
                        .completion_tokens
                        .saturating_add(usage.completion_tokens);
                    sum.cached_tokens = sum.cached_tokens.saturating_add(usage.cached_tokens);
                }
                if *truncated {
                    a.timeline.push(Item::Note(Note::ReplyCut));
                }
                a.set_state(AgentState::Done, t);
                if let Some(call) = a.last_call_mut() {
                    call.partial = String::new();
                    call.state = CallState::Replied;
                    call.reply = Some(Reply {
                        content: content.clone(),
                        usage: *usage,
                        finish_reason: finish_reason.clone(),
                        truncated: *truncated,
                        tool_calls: tool_calls.clone(),
                        text_calls: *text_calls,
                        kept: entry.is_some(),
                        spend,
                        t_ms: t,
                    });
                }
                if let (Some(message), Some(open)) = (entry, a.open_turn()) {
                    open.entries.push(Entry {
                        author: Author::Agent(agent.clone()),
                        message: message.clone(),
                    });
                }
            }
            EventKind::ToolCall {
                agent,
                call_id,
                tool,
                arguments,
            } => {
                self.ensure_turn(agent, t);
                let a = self.agent_mut(agent);
                a.timeline.push(Item::Tool {
                    call_id: call_id.clone(),
                    tool: tool.clone(),
                    arguments: arguments.to_string(),
                    status: ToolStatus::Running,
                });
                a.set_state(AgentState::RunningTool, t);
                if let Some(open) = a.open_turn() {
                    let run = ToolRun {
                        call_id: call_id.clone(),
                        tool: tool.clone(),
                        arguments: arguments.clone(),
                        started_ms: t,
                        end: None,
                    };
                    // A call the recording stopped inside runs again under the same id.
                    match open
                        .tools
                        .iter()
                        .position(|r| r.call_id == *call_id && r.end.is_none())
                    {
                        Some(i) => open.tools[i] = run,
                        None => {
                            open.tools.push(run);
                            let i = open.tools.len() - 1;
                            open.steps.push(TurnStep::Tool(i));
                        }
                    }
                }
            }
            EventKind::ToolResult {
                agent,
                call_id,
                tool,
                output,
                elapsed_ms,
                truncated,
                entry,
            } => {
                self.ensure_turn(agent, t);
                let a = self.agent_mut(agent);
                a.timeline.finish_tool(
                    call_id,
                    ToolStatus::Done {
                        output: output.clone(),
                        elapsed_ms: *elapsed_ms,
                        truncated: *truncated,
                    },
                );
                a.set_state(AgentState::Thinking, t);
                let end = ToolEnd::Result {
                    output: output.clone(),
                    elapsed_ms: *elapsed_ms,
                    truncated: *truncated,
                };
                tool_ended(a, call_id, tool, t, end, entry);
            }
            EventKind::ToolFailed {
                agent,
                call_id,
                tool,
                error,
                kind,
                entry,
            } => {
                self.ensure_turn(agent, t);
                let a = self.agent_mut(agent);
                // A call the user denied is a decision, not a failure of the agent's.
                if *kind != crate::tools::ToolFailureKind::Denied {
                    a.record_failure(format!("✗ {tool} {}: {error}", kind.describe()));
                }
                let status = ToolStatus::Failed {
                    kind: *kind,
                    error: error.clone(),
                };
                if !a.timeline.finish_tool(call_id, status.clone()) {
                    a.timeline.push(Item::Tool {
                        call_id: call_id.clone(),
                        tool: tool.clone(),
                        arguments: String::new(),
                        status,
                    });
                }
                a.set_state(AgentState::Thinking, t);
                let end = ToolEnd::Failed {
                    kind: *kind,
                    error: error.clone(),
                };
                tool_ended(a, call_id, tool, t, end, entry);
            }
            EventKind::TurnEnded {
                agent,
                turn,
                status,
                reply,
                joined,
            } => {
                let a = self.agent_mut(agent);
                let mut entries = Vec::new();
                if let Some(at) = a.turns.rfind_index(|r| r.turn == *turn)
                    && let Some(record) = a.turns.get_mut(at)
                {
                    record.end = Some((*status, reply.clone(), t));
                    if *joined {
                        record.joined = true;
                        entries = std::mem::take(&mut record.entries);
                    }
                }
                if *joined {
                    self.history.extend(entries);
                    self.phase = Phase::Routing {
                        agent: agent.clone(),
                        reply: reply.clone(),
                    };
                }
            }
            kind @ (EventKind::Handoff { .. }
            | EventKind::ParallelStarted { .. }
            | EventKind::ParallelFinished { .. }
            | EventKind::Paused { .. }
            | EventKind::Resumed { .. }) => self.apply_route(kind, t),
            EventKind::AgentFailed {
                agent,
                error,
                status,
                retryable,
            } => {
                self.ensure_turn(agent, t);
                let i = self.index_of(agent);
                let left = self.ledger.settle_live(i);
                self.charge_group(i, &left);
                let a = &mut self.agents[i];
                let note = Note::Failed {
                    status: *status,
                    error: error.clone(),
                };
                a.record_failure(note.text());
                a.timeline.push(Item::Note(note));
                a.set_state(AgentState::Failed, t);
                if let Some(call) = a.last_call_mut()
                    && matches!(call.state, CallState::Streaming | CallState::Replied)
                    && call.reply.as_ref().is_none_or(|r| !r.kept)
                {
                    call.state = CallState::Failed;
                }
                if let Some(open) = a.open_turn() {
                    open.steps.push(TurnStep::Failed {
                        error: error.clone(),
                        status: *status,
                        retryable: *retryable,
                        t_ms: t,
                    });
                }
            }
            EventKind::AgentCancelled { agent } => {
                self.ensure_turn(agent, t);
                let i = self.index_of(agent);
                let left = self.ledger.settle_live(i);
                self.charge_group(i, &left);
                let a = &mut self.agents[i];
                a.timeline.push(Item::Note(Note::Cancelled));
                a.set_state(AgentState::Cancelled, t);
                if let Some(call) = a.last_call_mut()
                    && call.state == CallState::Streaming
                {
                    call.state = CallState::Cancelled;
                }
                if let Some(open) = a.open_turn() {
                    open.steps.push(TurnStep::Cancelled { t_ms: t });
                }
            }
            kind @ (EventKind::Gate { .. }
            | EventKind::Decision { .. }
            | EventKind::Guidance { .. }
            | EventKind::Breakpoints { .. }
            | EventKind::Hold { .. }
            | EventKind::CommandRejected { .. }
            | EventKind::Rerun { .. }
            | EventKind::Kept { .. }) => self.apply_steering(kind, t),
            EventKind::SessionFinished { outcome, reason } => {
                let waiting: Vec<(AgentId, GateId)> = self
                    .open_gates
                    .iter()
                    .map(|g| (g.agent.clone(), g.gate.clone()))
                    .collect();
                for (agent, gate) in &waiting {
                    if let Some(stop) = self.stop_mut(agent, gate) {
                        stop.left_open_ms = Some(t);
                    }
                }
                self.finish = Some(Finish {
                    outcome: *outcome,
                    reason: reason.clone(),
                    failures: self.agents.iter().filter(|a| a.failed).count(),
                });
                self.pause = None;
                self.running_group = None;
            }
        }
    }
}

/// Where a gate stopped, in words, from its kind and detail.
fn gate_place(kind: GateKind, detail: &serde_json::Value) -> String {
    let text = |key: &str| detail.get(key).and_then(|v| v.as_str()).unwrap_or_default();
    match kind {
        GateKind::Turn => "before its turn".to_string(),
        GateKind::ModelCall => "before a model call".to_string(),
        GateKind::ToolCall => format!("before calling {}", text("tool")),
        GateKind::Signal => match detail.get("target").and_then(|v| v.as_str()) {
            Some(target) => format!("at signal {} → {target}", text("signal")),
            None => format!("at signal {}, which ends the run", text("signal")),
        },
        GateKind::Failure => "at a failure".to_string(),
        GateKind::Budget => match detail.get("budget").and_then(|v| v.as_str()) {
            Some(budget) => format!("at a budget: {budget}"),
            None => format!(
                "at a budget ({} tokens)",
                detail.get("tokens").and_then(|v| v.as_u64()).unwrap_or(0)
            ),
        },
    }
}

impl OpenGate {
    /// Where it stopped, in words: `before calling fault`, `at signal [GO] → team`.
    pub fn place(&self) -> String {
        gate_place(self.kind, &self.detail)
    }
}

/// Records the end of a tool call in the agent's open turn, and the history entry it added.
fn tool_ended(
    a: &mut AgentRun,
    call_id: &super::event::CallId,
    tool: &str,
    t: u64,
    end: ToolEnd,
    entry: &Option<super::event::Message>,
) {
    let agent = a.id.clone();
    let Some(open) = a.open_turn() else {
        return;
    };
    match open
        .tools
        .iter_mut()
        .rev()
        .find(|r| r.call_id == *call_id && r.end.is_none())
    {
        Some(run) => run.end = Some((t, end)),
        // A failure before the call could start (an unknown tool, too many calls).
        None => {
            open.tools.push(ToolRun {
                call_id: call_id.clone(),
                tool: tool.to_string(),
                arguments: serde_json::Value::Null,
                started_ms: t,
                end: Some((t, end)),
            });
            let i = open.tools.len() - 1;
            open.steps.push(TurnStep::Tool(i));
        }
    }
    if let Some(message) = entry {
        open.entries.push(Entry {
            author: Author::Agent(agent),
            message: message.clone(),
        });
    }
}

impl Run {
    /// Makes sure `agent` has an open turn for an event that belongs to one. A file with no
    /// turn on record for it (damaged, or made by hand) gets one opened here, so that what
    /// the event says is still shown.
    fn ensure_turn(&mut self, agent: &AgentId, t_ms: u64) {
        let a = self.agent_mut(agent);
        if a.open_turn().is_some() {
            return;
        }
        let turn = a.turn;
        a.turns.push(TurnRecord {
            turn,
            input: String::new(),
            started_ms: t_ms,
            group: None,
            steps: Vec::new(),
            tools: Vec::new(),
            end: None,
            entries: Vec::new(),
            joined: false,
        });
        self.story.push(Chapter::Turn {
            agent: agent.clone(),
            turn,
        });
    }

    /// Makes sure `agent`'s newest call is streaming, for a token or reply whose request is
    /// not on record.
    fn ensure_call(&mut self, agent: &AgentId, t_ms: u64) {
        self.ensure_turn(agent, t_ms);
        let a = self.agent_mut(agent);
        if a.calls
            .last()
            .is_some_and(|c| c.state == CallState::Streaming)
        {
            return;
        }
        let index = a.calls.len();
        let turn = a.turn;
        // No request on record (a damaged file, or a summary that skips requests): priced as
        // the crew's model for the agent.
        if let Some(i) = self.agent_index(agent.as_str()) {
            let left = self.ledger.request(i, "");
            self.charge_group(i, &left);
        }
        let a = self.agent_mut(agent);
        a.calls.push(ModelCall {
            number: None,
            turn,
            model: String::new(),
            started_ms: t_ms,
            delta: RequestDelta::default(),
            reasoning: String::new(),
            partial: String::new(),
            reply: None,
            state: CallState::Streaming,
        });
        if let Some(open) = a.open_turn() {
            open.steps.push(TurnStep::Call(index));
        }
    }

    /// The turn's end, if the agent's turn `turn` ended.
    pub fn turn_end(&self, agent: &str, turn: u32) -> Option<TurnEnd> {
        self.agent(agent)
            .and_then(|a| a.turn_record(turn))
            .and_then(|r| r.end.as_ref().map(|(end, _, _)| *end))
    }
}
