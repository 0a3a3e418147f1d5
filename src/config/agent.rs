//! Reading one agent mapping (inline in a crew file, or a go-agentic `agents/ID.yaml`) into an
//! [`Agent`], plus where each of its references was written, for `validate.rs`.
//!
//! The model an agent calls is kept as written ([`WrittenModel`]: go-agentic's `primary` and
//! `backup`, or crewtui's own `provider` and `model`); `models.rs` resolves it once the crew's
//! providers and settings are known.

use super::diagnostic::{Diagnostics, Site};
use super::go_agentic;
use super::model::{Agent, ScriptStep, ScriptedToolCall};
use super::node::Node;
use super::read::{Field, MapReader, join};

/// Default temperature, as in go-agentic.
const DEFAULT_TEMPERATURE: f64 = 0.7;

/// Where an agent's parts were written. Vectors run parallel to the agent's own.
#[derive(Clone, Debug)]
pub(crate) struct AgentSites {
    pub id: Site,
    pub provider: Site,
    pub tools: Vec<Site>,
    pub handoff_targets: Vec<Site>,
    /// Each scripted tool call's tool name and where it was written.
    pub script_tools: Vec<(String, Site)>,
    /// The model as written: `primary`, or the agent's own `provider`, `model`, `provider_url`.
    pub primary: WrittenModel,
    pub backup: Option<WrittenModel>,
}

/// A model choice as written: go-agentic's `{model, provider, provider_url}`.
#[derive(Clone, Debug)]
pub(crate) struct WrittenModel {
    /// Where the mapping is (the agent's, for its own keys), for what it leaves out.
    pub at: Site,
    pub provider: Option<(String, Site)>,
    pub provider_url: Option<(String, Site)>,
    pub model: Option<(String, Site)>,
}

impl WrittenModel {
    /// `provider`, `provider_url` and `model` of `map`.
    fn read(map: &mut MapReader<'_>, d: &mut Diagnostics) -> Self {
        let mut text = |key: &str, d: &mut Diagnostics| {
            let field = map.get(key)?;
            let value = field.string(d).filter(|v| !v.trim().is_empty())?;
            Some((value, field.site()))
        };
        let provider = text("provider", d);
        let provider_url = text("provider_url", d);
        let model = text("model", d);
        WrittenModel {
            at: map.site(),
            provider,
            provider_url,
            model,
        }
    }

    /// `primary:` or `backup:`, a mapping of its own.
    fn nested(field: &Field<'_>, d: &mut Diagnostics) -> Option<Self> {
        let mut map = field.map(d)?;
        let written = Self::read(&mut map, d);
        map.finish(d);
        Some(written)
    }
}

/// Read an agent. `listed` is the id and place of the go-agentic `crew.yaml` entry this
/// agent's file was found for (by the `id` inside it, or by its name when it has none).
/// Returns `None` when the agent has no usable id.
pub(crate) fn read_agent(
    field: &Field<'_>,
    listed: Option<(&str, &Site)>,
    d: &mut Diagnostics,
) -> Option<(Agent, AgentSites)> {
    let mut map = field.map(d)?;
    let id = match (map.get("id"), listed) {
        (Some(id), _) => id.required_string(d).map(|found| (found, id.site())),
        (None, Some((name, site))) => Some((name.to_string(), site.clone())),
        (None, None) => {
            map.require("id", d);
            None
        }
    };

    let mut text =
        |key: &str, d: &mut Diagnostics| map.get(key).and_then(|f| f.string(d)).unwrap_or_default();
    let name = text("name", d);
    let role = text("role", d);
    let backstory = text("backstory", d);
    let description = text("description", d);

    // go-agentic reads `primary` when it is there, else the agent's own keys (which it calls
    // deprecated, and crewtui's own format uses).
    let own = WrittenModel::read(&mut map, d);
    let primary = match map.get("primary") {
        Some(field) => {
            let primary = WrittenModel::nested(&field, d);
            let shadowed = [&own.provider, &own.provider_url, &own.model];
            for (_, site) in shadowed.into_iter().flatten() {
                d.warning(
                    site,
                    "ignored: `primary` names the agent's model, as in go-agentic",
                );
            }
            primary.unwrap_or(own)
        }
        None => own,
    };
    let backup = map
        .get("backup")
        .and_then(|field| WrittenModel::nested(&field, d));
    let provider = primary
        .provider
        .as_ref()
        .map_or_else(|| "openai".to_string(), |(p, _)| p.clone());
    let provider_site = primary.provider.as_ref().map_or_else(
        || primary.at.with_field(join(&primary.at.field, "provider")),
        |(_, site)| site.clone(),
    );
    let model = primary.model.clone().map(|(m, _)| m).unwrap_or_default();
    let temperature = map
        .get("temperature")
        .and_then(|f| f.non_negative(d))
        .unwrap_or(DEFAULT_TEMPERATURE);
    let theirs = go_agentic_max_tokens(&mut map, d);
    let max_tokens = map.get("max_tokens").and_then(|f| f.u32(d)).or(theirs);
    let budget = super::costs::read_budget(map.get("budget"), d);
    let (tools, tool_sites) = map
        .get("tools")
        .map(|f| f.strings(d))
        .unwrap_or_default()
        .into_iter()
        .unzip();
    let (handoff_targets, handoff_sites) = map
        .get("handoff_targets")
        .map(|f| f.strings(d))
        .unwrap_or_default()
        .into_iter()
        .unzip();
    let is_terminal = map
        .get("is_terminal")
        .and_then(|f| f.bool(d))
        .unwrap_or(false);
    let system_prompt = map.get("system_prompt").and_then(|f| f.string(d));
    let mut script_tools = Vec::new();
    let script = map
        .get("script")
        .map(|f| f.list(d))
        .unwrap_or_default()
        .iter()
        .filter_map(|step| read_step(step, &mut script_tools, d))
        .collect();
    map.no_effect("agent", go_agentic::AGENT, d);
    map.finish(d);

    let (id, id_site) = id?;
    let agent = Agent {
        name: if name.is_empty() { id.clone() } else { name },
        id,
        role,
        backstory,
        description,
        provider,
        model,
        backup: None,
        temperature,
        max_tokens,
        budget,
        tools,
        handoff_targets,
        is_terminal,
        system_prompt,
        script,
    };
    let sites = AgentSites {
        id: id_site,
        provider: provider_site,
        tools: tool_sites,
        handoff_targets: handoff_sites,
        script_tools,
        primary,
        backup,
    };
    Some((agent, sites))
}

/// go-agentic's per-call token limit: `cost_limits.max_tokens_per_call`, or the older flat
/// `max_tokens_per_call`. The rest of `cost_limits` has no effect here.
fn go_agentic_max_tokens(map: &mut MapReader<'_>, d: &mut Diagnostics) -> Option<u32> {
    let flat = map.get("max_tokens_per_call").and_then(|f| f.u32(d));
    let nested = map.get("cost_limits").and_then(|f| {
        let mut limits = f.map(d)?;
        let max = limits.get("max_tokens_per_call").and_then(|f| f.u32(d));
        limits.no_effect("cost_limits", go_agentic::COST_LIMITS, d);
        limits.finish(d);
        max
    });
    nested.or(flat)
}

/// One scripted reply: `reply`, `reasoning`, `tool_calls: [{tool, arguments}]`.
fn read_step(
    field: &Field<'_>,
    script_tools: &mut Vec<(String, Site)>,
    d: &mut Diagnostics,
) -> Option<ScriptStep> {
    let mut map = field.map(d)?;
    let reply = map
        .get("reply")
        .and_then(|f| f.string(d))
        .unwrap_or_default();
    let reasoning = map
        .get("reasoning")
        .and_then(|f| f.string(d))
        .unwrap_or_default();
    let calls = map.get("tool_calls").map(|f| f.list(d)).unwrap_or_default();
    let mut tool_calls = Vec::new();
    for call in &calls {
        let Some(mut call_map) = call.map(d) else {
            continue;
        };
        let tool = call_map.require("tool", d).and_then(|f| {
            let name = f.required_string(d)?;
            script_tools.push((name.clone(), f.site()));
            Some(name)
        });
        let arguments = match call_map.get("arguments") {
            // Only a mapping makes a JSON object, which is what tools take.
            Some(args) if !matches!(args.node(), Node::Null) => {
                args.map(d).map(|_| args.node().to_json())
            }
            Some(_) | None => Some(serde_json::Value::Object(serde_json::Map::new())),
        };
        call_map.finish(d);
        if let (Some(tool), Some(arguments)) = (tool, arguments) {
            tool_calls.push(ScriptedToolCall { tool, arguments });
        }
    }
    map.finish(d);
    Some(ScriptStep {
        reply,
        reasoning,
        tool_calls,
    })
}
