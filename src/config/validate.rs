//! Checks across a loaded crew: every reference names something that exists, ids are unique,
//! providers are known, no command tool is handed a provider's key variable; then, when the
//! entry point exists, the route checks of `graph.rs`. A tool no one provides is a warning, not
//! an error: go-agentic crews list their host program's Go functions, which a bindings file
//! binds (`bindings.rs`); until then calling one fails as not found.

use std::collections::BTreeMap;

use super::bindings::UnboundTool;
use super::diagnostic::{Diagnostics, Severity, Site};
use super::load::Loaded;
use super::model::ProviderConfig;

/// Reports every problem into `d`, and returns the tools the agents list that nothing
/// provides.
pub(crate) fn validate(loaded: &Loaded, d: &mut Diagnostics) -> Vec<UnboundTool> {
    let Loaded { crew, sites } = loaded;
    if let (true, Some(site)) = (crew.agents.is_empty(), &sites.agents) {
        d.error(site, "the crew has no agents");
    }

    let mut ids: BTreeMap<&str, &Site> = BTreeMap::new();
    for (agent, at) in crew.agents.iter().zip(&sites.agent) {
        if let Some(first) = ids.get(agent.id.as_str()) {
            let message = format!(
                "duplicate agent id `{}`; first defined at {}",
                agent.id,
                first.position()
            );
            d.error(&at.id, message);
        } else {
            ids.insert(&agent.id, &at.id);
        }
    }
    let groups = &crew.routing.parallel_groups;
    let known_agents: Vec<&str> = ids.keys().copied().collect();
    let check_agent = |d: &mut Diagnostics, id: &str, site: &Site| {
        if !ids.contains_key(id) && !sites.unloaded.contains(id) {
            unknown(
                d,
                Severity::Error,
                site,
                format!("unknown agent `{id}`"),
                "agents",
                id,
                &known_agents,
            );
        }
    };

    if let Some(site) = &sites.entry_point {
        check_agent(d, &crew.entry_point, site);
    }

    let mut known_tools: Vec<&str> = crate::tools::BUILTIN_TOOLS.to_vec();
    known_tools.extend(crew.tools.keys().map(String::as_str));
    known_tools.extend(crew.scripted_tools.keys().map(String::as_str));
    known_tools.sort_unstable();
    let mut unbound: Vec<UnboundTool> = Vec::new();
    for (agent, at) in crew.agents.iter().zip(&sites.agent) {
        let backup = agent.backup.as_ref().zip(at.backup.as_ref());
        let backup = backup.map(|(b, written)| {
            let site = written.provider.as_ref().map_or_else(
                || {
                    written
                        .at
                        .with_field(super::read::join(&written.at.field, "provider"))
                },
                |(_, site)| site.clone(),
            );
            (b.provider.as_str(), site)
        });
        let providers =
            std::iter::once((agent.provider.as_str(), at.provider.clone())).chain(backup);
        for (name, site) in providers {
            let known =
                crew.providers.contains_key(name) || ProviderConfig::implicit(name).is_some();
            if !known {
                let mut names: Vec<&str> = crew.providers.keys().map(String::as_str).collect();
                names.extend(ProviderConfig::IMPLICIT);
                names.sort_unstable();
                names.dedup();
                let head = format!("unknown provider `{name}`");
                unknown(d, Severity::Error, &site, head, "known", name, &names);
            }
        }
        for (tool, site) in agent.tools.iter().zip(&at.tools) {
            if known_tools.contains(&tool.as_str()) {
                continue;
            }
            match unbound.iter_mut().find(|u| u.name == *tool) {
                Some(seen) => {
                    if !seen.agents.contains(&agent.id) {
                        seen.agents.push(agent.id.clone());
                    }
                }
                None => {
                    unbound.push(UnboundTool {
                        name: tool.clone(),
                        agents: vec![agent.id.clone()],
                    });
                    let head = format!(
                        "unknown tool `{tool}`: calls to it fail as not found until a tool \
                         bindings file binds it (`crewtui validate --bindings-skeleton` writes \
                         one)"
                    );
                    unknown(
                        d,
                        Severity::Warning,
                        site,
                        head,
                        "known",
                        tool,
                        &known_tools,
                    );
                }
            }
        }
        for (target, site) in agent.handoff_targets.iter().zip(&at.handoff_targets) {
            check_agent(d, target, site);
        }
        for (tool, site) in &at.script_tools {
            if !agent.tools.contains(tool) {
                let message = format!(
                    "scripted call to tool `{tool}`, which agent `{}` is not granted \
                     (add it to the agent's `tools`)",
                    agent.id
                );
                d.error(site, message);
            }
        }
    }

    let keys = crew.key_variables();
    for (tool, config) in &crew.tools {
        let at = sites
            .tool_env
            .get(tool)
            .map(Vec::as_slice)
            .unwrap_or_default();
        for (var, site) in config.env.iter().zip(at) {
            if keys.contains(var) {
                let message = format!(
                    "command tool `{tool}` cannot be given {var}: it holds a provider's API key, \
                     which no tool ever sees"
                );
                d.error(site, message);
            }
        }
    }

    for (agent, (key, targets)) in &sites.routing.signals {
        check_agent(d, agent, key);
        let signals = crew.routing.signals.get(agent).into_iter().flatten();
        for (signal, site) in signals.zip(targets) {
            let target = &signal.target;
            let known = signal.ends_run()
                || ids.contains_key(target.as_str())
                || groups.contains_key(target)
                || sites.unloaded.contains(target);
            if !known {
                let message = format!(
                    "unknown signal target `{target}`: neither an agent nor a parallel group"
                );
                d.error(site, message);
            }
        }
    }
    for (agent, key) in &sites.routing.behaviors {
        check_agent(d, agent, key);
    }
    for (name, group) in groups {
        let Some(at) = sites.routing.groups.get(name) else {
            continue;
        };
        if ids.contains_key(name.as_str()) {
            let message = format!(
                "parallel group `{name}` has the name of an agent; a signal target naming it \
                 would be ambiguous"
            );
            d.error(&at.name, message);
        }
        for (member, site) in group.agents.iter().zip(&at.agents) {
            check_agent(d, member, site);
        }
        if let (Some(next), Some(site)) = (&group.next_agent, &at.next_agent) {
            check_agent(d, next, site);
        }
    }

    if ids.contains_key(crew.entry_point.as_str()) {
        super::graph::check_routes(loaded, d);
    }
    unbound
}

/// Lists of names this long or shorter are given whole after an unknown name.
const LISTED_WHOLE: usize = 8;
/// Of a longer list, this many of the closest names are given.
const CLOSEST: usize = 5;
/// Names are compared by at most this many leading characters: enough to tell a typo, and
/// what keeps comparing long names cheap.
const COMPARED_CHARS: usize = 64;

/// Reports `name`, which is none of `known` (sorted), as `head; LABEL: a, b, c`: the whole list
/// when it is short, else its few closest names by edit distance and how many more there are.
/// The closest names are only worked out for a diagnostic that is kept: a generated crew can
/// have thousands of unknown names and thousands of known ones.
fn unknown(
    d: &mut Diagnostics,
    severity: Severity,
    site: &Site,
    head: String,
    label: &str,
    name: &str,
    known: &[&str],
) {
    if !d.keeps(severity, site, &head) {
        d.report(severity, site, head);
        return;
    }
    let listed = if known.is_empty() {
        "none".to_string()
    } else if known.len() <= LISTED_WHOLE {
        known.join(", ")
    } else {
        let name: Vec<char> = name.chars().take(COMPARED_CHARS).collect();
        let mut ranked: Vec<(usize, &str)> = known
            .iter()
            .map(|k| (edit_distance(&name, k), *k))
            .collect();
        ranked.select_nth_unstable(CLOSEST - 1);
        ranked.truncate(CLOSEST);
        ranked.sort_unstable();
        let closest: Vec<&str> = ranked.into_iter().map(|(_, k)| k).collect();
        format!(
            "{} and {} more (closest first)",
            closest.join(", "),
            known.len() - CLOSEST
        )
    };
    d.report(severity, site, format!("{head}; {label}: {listed}"));
}

/// Levenshtein distance between `a` and the first [`COMPARED_CHARS`] characters of `b`.
fn edit_distance(a: &[char], b: &str) -> usize {
    let mut previous: Vec<usize> = (0..=a.len()).collect();
    let mut current = vec![0; a.len() + 1];
    for (j, cb) in b.chars().take(COMPARED_CHARS).enumerate() {
        current[0] = j + 1;
        for (i, &ca) in a.iter().enumerate() {
            let substitution = previous[i] + usize::from(ca != cb);
            current[i + 1] = substitution.min(previous[i + 1] + 1).min(current[i] + 1);
        }
        std::mem::swap(&mut previous, &mut current);
    }
    previous[a.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edit_distance_counts_insertions_deletions_and_substitutions() {
        let d = |a: &str, b: &str| edit_distance(&a.chars().collect::<Vec<_>>(), b);
        assert_eq!(d("writer", "writer"), 0);
        assert_eq!(d("writr", "writer"), 1);
        assert_eq!(d("wrtier", "writer"), 2);
        assert_eq!(d("", "abc"), 3);
        assert_eq!(d("édit", "edit"), 1);
    }
}
