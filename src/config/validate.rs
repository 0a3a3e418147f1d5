//! Checks across a loaded crew: every reference names something that exists, ids are unique,
//! providers and tools are known, no command tool is handed a provider's key variable; then,
//! when the entry point exists, the route checks of `graph.rs`.

use std::collections::BTreeMap;

use super::diagnostic::{Diagnostics, Severity, Site};
use super::load::Loaded;
use super::model::ProviderConfig;

pub(crate) fn validate(loaded: &Loaded, d: &mut Diagnostics) {
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
    known_tools.sort_unstable();
    for (agent, at) in crew.agents.iter().zip(&sites.agent) {
        let provider = crew
            .providers
            .get(&agent.provider)
            .cloned()
            .or_else(|| ProviderConfig::implicit(&agent.provider));
        match provider {
            None => {
                let mut known: Vec<&str> = crew.providers.keys().map(String::as_str).collect();
                known.extend(["openai", "scripted"]);
                known.sort_unstable();
                known.dedup();
                let head = format!("unknown provider `{}`", agent.provider);
                unknown(d, &at.provider, head, "known", &agent.provider, &known);
            }
            Some(ProviderConfig::OpenAi { .. }) if agent.model.trim().is_empty() => {
                let site = at.at.with_field(format!("{}.model", at.at.field));
                let message = format!(
                    "missing required key `model` (provider `{}` is OpenAI-compatible)",
                    agent.provider
                );
                d.error(&site, message);
            }
            Some(ProviderConfig::OpenAi { .. } | ProviderConfig::Scripted) => {}
        }
        for (tool, site) in agent.tools.iter().zip(&at.tools) {
            if !known_tools.contains(&tool.as_str()) {
                let head = format!("unknown tool `{tool}`");
                unknown(d, site, head, "known", tool, &known_tools);
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
            let known = ids.contains_key(target.as_str())
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
/// The closest names are only worked out for an error that is kept: a generated crew can have
/// thousands of unknown names and thousands of known ones.
fn unknown(
    d: &mut Diagnostics,
    site: &Site,
    head: String,
    label: &str,
    name: &str,
    known: &[&str],
) {
    if !d.keeps(Severity::Error, site, &head) {
        d.error(site, head);
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
    d.error(site, format!("{head}; {label}: {listed}"));
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
