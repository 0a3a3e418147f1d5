//! Reading one agent mapping (inline in a crew file, or a go-agentic `agents/ID.yaml`) into an
//! [`Agent`], plus where each of its references was written, for `validate.rs`.
//!
//! The model an agent calls is kept as written ([`WrittenModel`]: go-agentic's `primary` and
//! `backup`, or crewtui's own `provider` and `model`); `models.rs` resolves it once the crew's
//! providers and settings are known.

use super::diagnostic::{Diagnostics, Site};
use super::go_agentic;
use super::model::{Agent, Budget, Price, ScriptStep, ScriptedToolCall};
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
    /// go-agentic's `cost_limits` token prices, for the agent's model as its provider serves
    /// it (see `costs::agent_prices`).
    pub price: Option<(Price, Site)>,
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
    let theirs = GoAgenticCosts::read(&mut map, d);
    let max_tokens = map
        .get("max_tokens")
        .and_then(|f| f.u32(d))
        .or(theirs.max_tokens_per_call);
    let own_budget = super::costs::read_budget(map.get("budget"), d);
    let budget = theirs.budget(own_budget, d);
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
        price: theirs.price,
    };
    Some((agent, sites))
}

/// What go-agentic's per-agent cost keys say: a per-call token limit
/// (`cost_limits.max_tokens_per_call`, or the older flat `max_tokens_per_call`), per-day
/// quotas (`cost_limits.max_tokens_per_day` / `max_cost_per_day_usd`, or the older flat
/// `max_tokens_per_day` / `max_cost_per_day`), which are the agent's budget for the run here,
/// and the agent's token prices. The nested keys win over the flat ones. A 0 is Go's "not
/// set", and go-agentic's "no limit" or "the default price", so it sets nothing.
#[derive(Debug, Default)]
struct GoAgenticCosts {
    max_tokens_per_call: Option<u32>,
    max_tokens: Option<(u64, Site)>,
    max_cost_usd: Option<(f64, Site)>,
    price: Option<(Price, Site)>,
}

impl GoAgenticCosts {
    fn read(map: &mut MapReader<'_>, d: &mut Diagnostics) -> Self {
        let positive_u64 =
            |f: Field<'_>, d: &mut Diagnostics| f.u64(d).filter(|v| *v > 0).map(|v| (v, f.site()));
        let positive_f64 = |f: Field<'_>, d: &mut Diagnostics| {
            f.non_negative(d)
                .filter(|v| *v > 0.0)
                .map(|v| (v, f.site()))
        };
        let flat = GoAgenticCosts {
            max_tokens_per_call: map.get("max_tokens_per_call").and_then(|f| f.u32(d)),
            max_tokens: map
                .get("max_tokens_per_day")
                .and_then(|f| positive_u64(f, d)),
            max_cost_usd: map.get("max_cost_per_day").and_then(|f| positive_f64(f, d)),
            price: None,
        };
        let Some(mut limits) = map.get("cost_limits").and_then(|f| f.map(d)) else {
            return flat;
        };
        let nested_tokens = limits
            .get("max_tokens_per_day")
            .and_then(|f| positive_u64(f, d));
        let nested_cost = limits
            .get("max_cost_per_day_usd")
            .and_then(|f| positive_f64(f, d));
        let input = limits
            .get("input_token_price_per_million")
            .and_then(|f| positive_f64(f, d));
        let output = limits
            .get("output_token_price_per_million")
            .and_then(|f| positive_f64(f, d));
        let nested = GoAgenticCosts {
            max_tokens_per_call: limits.get("max_tokens_per_call").and_then(|f| f.u32(d)),
            max_tokens: nested_tokens,
            max_cost_usd: nested_cost,
            price: match (input, output) {
                (Some((input, site)), Some((output, _))) => {
                    let price = Price {
                        input,
                        cached_input: None,
                        output,
                    };
                    Some((price, site))
                }
                (Some((_, site)), None) | (None, Some((_, site))) => {
                    // go-agentic would price the other side at gpt-4o-mini's rate, whatever
                    // the model: a half price is not one crewtui can use.
                    d.warning(
                        &site,
                        "no effect: crewtui prices a model only with both \
                         `input_token_price_per_million` and `output_token_price_per_million`",
                    );
                    None
                }
                (None, None) => None,
            },
        };
        limits.no_effect("cost_limits", go_agentic::COST_LIMITS, d);
        limits.finish(d);
        let shadowed = |flat: Option<&Site>, key: &str, d: &mut Diagnostics| {
            if let Some(site) = flat {
                let message = format!("ignored: `cost_limits.{key}` is given too, and wins");
                d.warning(site, message);
            }
        };
        if nested.max_tokens.is_some() {
            let flat = flat.max_tokens.as_ref().map(|(_, site)| site);
            shadowed(flat, "max_tokens_per_day", d);
        }
        if nested.max_cost_usd.is_some() {
            let flat = flat.max_cost_usd.as_ref().map(|(_, site)| site);
            shadowed(flat, "max_cost_per_day_usd", d);
        }
        GoAgenticCosts {
            max_tokens_per_call: nested.max_tokens_per_call.or(flat.max_tokens_per_call),
            max_tokens: nested.max_tokens.or(flat.max_tokens),
            max_cost_usd: nested.max_cost_usd.or(flat.max_cost_usd),
            price: nested.price,
        }
    }

    /// `own` (the agent's `budget`), with these quotas where it sets no limit of its own;
    /// crewtui's own key wins, with a warning at go-agentic's.
    fn budget(&self, own: Budget, d: &mut Diagnostics) -> Budget {
        let wins = |key: &str, site: &Site, d: &mut Diagnostics| {
            let message =
                format!("ignored: `budget.{key}` is given too, and crewtui's own key wins");
            d.warning(site, message);
        };
        if let (Some(_), Some((_, site))) = (own.max_tokens, &self.max_tokens) {
            wins("max_tokens", site, d);
        }
        if let (Some(_), Some((_, site))) = (own.max_cost_usd, &self.max_cost_usd) {
            wins("max_cost_usd", site, d);
        }
        Budget {
            max_tokens: own.max_tokens.or(self.max_tokens.as_ref().map(|(v, _)| *v)),
            max_cost_usd: own
                .max_cost_usd
                .or(self.max_cost_usd.as_ref().map(|(v, _)| *v)),
        }
    }
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
