//! Checks across a loaded crew: every reference names something that exists, ids are unique,
//! providers and tools are known, no command tool is handed a provider's key variable; then,
//! when the entry point exists, the route checks of `graph.rs`.

use std::collections::BTreeMap;

use super::diagnostic::{Diagnostics, Site};
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
    let known_agents = ids.keys().copied().collect::<Vec<_>>().join(", ");
    let check_agent = |d: &mut Diagnostics, id: &str, site: &Site| {
        if !ids.contains_key(id) && !sites.unloaded.contains(id) {
            d.error(
                site,
                format!("unknown agent `{id}`; agents: {known_agents}"),
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
                let message = format!(
                    "unknown provider `{}`; known: {}",
                    agent.provider,
                    known.join(", ")
                );
                d.error(&at.provider, message);
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
                let message = format!("unknown tool `{tool}`; known: {}", known_tools.join(", "));
                d.error(site, message);
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
