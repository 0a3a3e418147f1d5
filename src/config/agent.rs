//! Reading one agent mapping (inline in a crew file, or a go-agentic `agents/ID.yaml`) into an
//! [`Agent`], plus where each of its references was written, for `validate.rs`.

use super::diagnostic::{Diagnostics, Site};
use super::model::{Agent, ScriptStep, ScriptedToolCall};
use super::node::Node;
use super::read::Field;

/// Default temperature, as in go-agentic.
const DEFAULT_TEMPERATURE: f64 = 0.7;

/// Where an agent's parts were written. Vectors run parallel to the agent's own.
#[derive(Clone, Debug)]
pub(crate) struct AgentSites {
    /// The agent's mapping, for problems with keys it lacks.
    pub at: Site,
    pub id: Site,
    pub provider: Site,
    pub tools: Vec<Site>,
    pub handoff_targets: Vec<Site>,
    /// Each scripted tool call's tool name and where it was written.
    pub script_tools: Vec<(String, Site)>,
}

/// Read an agent. `listed` is the id and place of a go-agentic `crew.yaml` entry naming this
/// agent's file: the file may then leave `id` out, and must not contradict it. Returns `None`
/// when the agent has no usable id.
pub(crate) fn read_agent(
    field: &Field<'_>,
    listed: Option<(&str, &Site)>,
    d: &mut Diagnostics,
) -> Option<(Agent, AgentSites)> {
    let mut map = field.map(d)?;
    let at = map.site();
    let id = match (map.get("id"), listed) {
        (Some(id), Some((name, _))) => id.required_string(d).map(|found| {
            if found != name {
                d.error(
                    &id.site(),
                    format!("id `{found}` does not match the file name `{name}.yaml`"),
                );
            }
            (found, id.site())
        }),
        (Some(id), None) => id.required_string(d).map(|found| (found, id.site())),
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
    let model = text("model", d);

    let provider_field = map.get("provider");
    let provider = provider_field
        .as_ref()
        .and_then(|f| f.string(d))
        .unwrap_or_else(|| "openai".to_string());
    let provider_site = provider_field.map_or_else(
        || at.with_field(format!("{}.provider", map.path())),
        |f| f.site(),
    );
    let temperature = map
        .get("temperature")
        .and_then(|f| f.non_negative(d))
        .unwrap_or(DEFAULT_TEMPERATURE);
    let max_tokens = map.get("max_tokens").and_then(|f| f.u32(d));
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
        at,
        id: id_site,
        provider: provider_site,
        tools: tool_sites,
        handoff_targets: handoff_sites,
        script_tools,
    };
    Some((agent, sites))
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
