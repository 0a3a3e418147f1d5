//! A crew's routes as a graph of agents and parallel groups: which agents no route reaches,
//! and which routing cycles a run can never leave. Both are warnings: the crew still runs.
//!
//! Reachability follows every route: signal targets, all handoff targets, parallel group
//! members and next agents. The way-out check follows only where a run goes next, so a group
//! leads on to its `next_agent` alone (its members' own routes are not taken while they run in
//! the group). A run can end after an agent that is terminal, waits for a signal (a pause), has
//! a signal without a target, or has no handoff target (a reply matching no signal then ends
//! the run), and after a group with no `next_agent`. Unknown names were reported by `validate.rs` and are left out here.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use super::agent::AgentSites;
use super::diagnostic::{Diagnostics, Site};
use super::load::Loaded;
use super::model::Agent;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Vertex<'a> {
    Agent(&'a str),
    Group(&'a str),
}

impl<'a> Vertex<'a> {
    fn name(self) -> &'a str {
        match self {
            Vertex::Agent(name) | Vertex::Group(name) => name,
        }
    }
}

struct Edge<'a> {
    to: Vertex<'a>,
    site: &'a Site,
    /// Where a run may go next, as opposed to a group member, which is only reached.
    next: bool,
}

type Adjacency<'a> = BTreeMap<Vertex<'a>, Vec<Vertex<'a>>>;

/// The routes of a crew, with the vertices where a run can end.
struct Graph<'a> {
    /// The first agent of each id; later duplicates were reported already.
    agents: Vec<(&'a Agent, &'a AgentSites)>,
    edges: BTreeMap<Vertex<'a>, Vec<Edge<'a>>>,
    ends: BTreeSet<Vertex<'a>>,
}

impl<'a> Graph<'a> {
    fn new(loaded: &'a Loaded) -> Self {
        let Loaded { crew, sites } = loaded;
        let groups = &crew.routing.parallel_groups;
        let mut agents = Vec::new();
        let mut seen = BTreeSet::new();
        for (agent, at) in crew.agents.iter().zip(&sites.agent) {
            if seen.insert(agent.id.as_str()) {
                agents.push((agent, at));
            }
        }

        let mut edges: BTreeMap<Vertex, Vec<Edge>> = BTreeMap::new();
        let mut ends = BTreeSet::new();
        for &(agent, at) in &agents {
            let from = Vertex::Agent(&agent.id);
            let out = edges.entry(from).or_default();
            let signals = crew.routing.signals.get(&agent.id).into_iter().flatten();
            let signal_sites = sites
                .routing
                .signals
                .get(&agent.id)
                .map(|(_, t)| t.as_slice());
            for (signal, site) in signals.zip(signal_sites.unwrap_or_default()) {
                if signal.ends_run() {
                    ends.insert(from);
                    continue;
                }
                let target = signal.target.as_str();
                let to = if groups.contains_key(target) {
                    Vertex::Group(target)
                } else if seen.contains(target) {
                    Vertex::Agent(target)
                } else {
                    continue;
                };
                out.push(Edge {
                    to,
                    site,
                    next: true,
                });
            }
            let mut has_handoff = false;
            for (target, site) in agent.handoff_targets.iter().zip(&at.handoff_targets) {
                if seen.contains(target.as_str()) {
                    has_handoff = true;
                    let to = Vertex::Agent(target);
                    out.push(Edge {
                        to,
                        site,
                        next: true,
                    });
                }
            }
            if crew.is_terminal(&agent.id) || crew.waits_for_signal(&agent.id) || !has_handoff {
                ends.insert(from);
            }
        }
        for (name, group) in groups {
            let Some(at) = sites.routing.groups.get(name) else {
                continue;
            };
            let from = Vertex::Group(name);
            let out = edges.entry(from).or_default();
            for (member, site) in group.agents.iter().zip(&at.agents) {
                if seen.contains(member.as_str()) {
                    let to = Vertex::Agent(member);
                    out.push(Edge {
                        to,
                        site,
                        next: false,
                    });
                }
            }
            let next = group.next_agent.as_deref().zip(at.next_agent.as_ref());
            match next.filter(|(next, _)| seen.contains(next)) {
                Some((next, site)) => {
                    let to = Vertex::Agent(next);
                    out.push(Edge {
                        to,
                        site,
                        next: true,
                    });
                }
                None => {
                    ends.insert(from);
                }
            }
        }
        Graph {
            agents,
            edges,
            ends,
        }
    }

    /// Every route, or only where a run goes next; `reverse` to walk routes backwards.
    fn adjacency(&self, next_only: bool, reverse: bool) -> Adjacency<'a> {
        let mut adj: Adjacency = BTreeMap::new();
        for (&from, out) in &self.edges {
            adj.entry(from).or_default();
            for edge in out.iter().filter(|e| e.next || !next_only) {
                let (a, b) = if reverse {
                    (edge.to, from)
                } else {
                    (from, edge.to)
                };
                adj.entry(a).or_default().push(b);
            }
        }
        adj
    }
}

pub(crate) fn check_routes(loaded: &Loaded, d: &mut Diagnostics) {
    let crew = &loaded.crew;
    let graph = Graph::new(loaded);
    let Graph {
        agents,
        edges,
        ends,
    } = &graph;
    let all = graph.adjacency(false, false);
    let every: BTreeSet<Vertex> = all.keys().copied().collect();

    let entry = Vertex::Agent(&crew.entry_point);
    let reached = reach([entry], &all, &every);
    for &(agent, at) in agents {
        if !reached.contains(&Vertex::Agent(&agent.id)) {
            let message = format!(
                "agent `{}` is unreachable: no route from entry point `{}` leads to it",
                agent.id, crew.entry_point
            );
            d.warning(&at.id, message);
        }
    }

    let forward = graph.adjacency(true, false);
    let backward = graph.adjacency(true, true);
    let can_end = reach(ends.iter().copied(), &backward, &every);
    let stuck: BTreeSet<Vertex> = reached.difference(&can_end).copied().collect();
    // Agents in file order, then groups, so each cycle is named from its first vertex.
    let groups = crew.routing.parallel_groups.keys();
    let order = agents
        .iter()
        .map(|(agent, _)| Vertex::Agent(&agent.id))
        .chain(groups.map(|name| Vertex::Group(name)));
    // The whole strongly connected part gets one warning, found within that part alone: a
    // search through everything a part leads to would make a chain of parts quadratic.
    let parts = strongly_connected(&forward, &stuck);
    let mut covered = BTreeSet::new();
    for v in order.filter(|v| stuck.contains(v)) {
        let part = &parts.members[parts.of[&v]];
        if !covered.insert(parts.of[&v]) {
            continue;
        }
        let Some(cycle) = shortest_cycle(v, &forward, part) else {
            continue;
        };

        let names = cycle_names(v, &cycle);
        let first_step = cycle.first().copied();
        let site = edges
            .get(&v)
            .and_then(|out| out.iter().find(|e| e.next && Some(e.to) == first_step))
            .map(|e| e.site);
        if let Some(site) = site {
            let message = format!(
                "routing cycle `{names}` has no way out: no agent on it or after it is terminal, \
                 waits for a signal or lacks a handoff target; only max_handoffs ({}) will \
                 stop it",
                crew.settings.max_handoffs
            );
            d.warning(site, message);
        }
    }
}

/// A cycle named longer than this is cut in the middle: a generated crew can route through
/// thousands of agents.
const MAX_CYCLE_NAMES: usize = 8;

/// `a → b → a`, from `start` round `cycle` (which ends with `start`), with the middle of a
/// long one left out and its length said.
fn cycle_names(start: Vertex<'_>, cycle: &[Vertex<'_>]) -> String {
    let names: Vec<&str> = std::iter::once(start)
        .chain(cycle.iter().copied())
        .map(|u| u.name())
        .collect();
    if names.len() <= MAX_CYCLE_NAMES {
        return names.join(" → ");
    }
    let head = names[..MAX_CYCLE_NAMES - 2].join(" → ");
    format!("{head} → … → {} ({} steps)", start.name(), cycle.len())
}

/// The strongly connected parts of a graph: `of` each vertex, the index of its part in
/// `members`.
struct Parts<'a> {
    of: BTreeMap<Vertex<'a>, usize>,
    members: Vec<BTreeSet<Vertex<'a>>>,
}

/// Tarjan's algorithm over the `allowed` vertices, with an explicit stack: a route through
/// thousands of agents must not recurse as deep.
fn strongly_connected<'a>(adjacency: &Adjacency<'a>, allowed: &BTreeSet<Vertex<'a>>) -> Parts<'a> {
    let neighbours = |v: &Vertex<'a>| -> Vec<Vertex<'a>> {
        let out = adjacency.get(v).into_iter().flatten();
        out.filter(|w| allowed.contains(w)).copied().collect()
    };
    let mut parts = Parts {
        of: BTreeMap::new(),
        members: Vec::new(),
    };
    // Each vertex's visiting order and the lowest order reachable from it.
    let mut order: BTreeMap<Vertex, (usize, usize)> = BTreeMap::new();
    let mut open: Vec<Vertex> = Vec::new();
    let mut on_open = BTreeSet::new();
    for &root in allowed {
        if order.contains_key(&root) {
            continue;
        }
        let n = order.len();
        order.insert(root, (n, n));
        open.push(root);
        on_open.insert(root);
        // Vertices being visited, each with its neighbours and how many of them are done.
        let mut visiting = vec![(root, neighbours(&root), 0)];
        while let Some((v, next, done)) = visiting.last_mut() {
            let v = *v;
            if let Some(&w) = next.get(*done) {
                *done += 1;
                match order.get(&w).copied() {
                    None => {
                        let n = order.len();
                        order.insert(w, (n, n));
                        open.push(w);
                        on_open.insert(w);
                        visiting.push((w, neighbours(&w), 0));
                    }
                    Some((w_order, _)) if on_open.contains(&w) => {
                        let low = &mut order.get_mut(&v).expect("visited").1;
                        *low = (*low).min(w_order);
                    }
                    Some(_) => {}
                }
                continue;
            }
            visiting.pop();
            let (v_order, v_low) = order[&v];
            if let Some((u, _, _)) = visiting.last() {
                let low = &mut order.get_mut(u).expect("visited").1;
                *low = (*low).min(v_low);
            }
            if v_low == v_order {
                let mut members = BTreeSet::new();
                while let Some(w) = open.pop() {
                    on_open.remove(&w);
                    parts.of.insert(w, parts.members.len());
                    members.insert(w);
                    if w == v {
                        break;
                    }
                }
                parts.members.push(members);
            }
        }
    }
    parts
}

/// Every vertex reachable from `start` (itself included) through `allowed` vertices.
fn reach<'a>(
    start: impl IntoIterator<Item = Vertex<'a>>,
    adjacency: &Adjacency<'a>,
    allowed: &BTreeSet<Vertex<'a>>,
) -> BTreeSet<Vertex<'a>> {
    let mut seen: BTreeSet<Vertex> = start.into_iter().filter(|v| allowed.contains(v)).collect();
    let mut queue: VecDeque<Vertex> = seen.iter().copied().collect();
    while let Some(v) = queue.pop_front() {
        for &w in adjacency.get(&v).into_iter().flatten() {
            if allowed.contains(&w) && seen.insert(w) {
                queue.push_back(w);
            }
        }
    }
    seen
}

/// The shortest cycle through `start` within `allowed`: the vertices after `start`, ending
/// with `start` itself.
fn shortest_cycle<'a>(
    start: Vertex<'a>,
    adjacency: &Adjacency<'a>,
    allowed: &BTreeSet<Vertex<'a>>,
) -> Option<Vec<Vertex<'a>>> {
    // `start` is not marked as seen, so reaching it again closes the cycle.
    let mut parent: BTreeMap<Vertex, Vertex> = BTreeMap::new();
    let mut queue = VecDeque::from([start]);
    while let Some(v) = queue.pop_front() {
        for &w in adjacency.get(&v).into_iter().flatten() {
            if !allowed.contains(&w) || parent.contains_key(&w) {
                continue;
            }
            parent.insert(w, v);
            if w == start {
                let mut path = vec![w];
                let mut at = w;
                while let Some(&p) = parent.get(&at).filter(|&&p| p != start) {
                    path.push(p);
                    at = p;
                }
                path.reverse();
                return Some(path);
            }
            queue.push_back(w);
        }
    }
    None
}
