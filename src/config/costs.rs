//! Reading what a crew says about money: `prices:` (at the top, and per provider), go-agentic's
//! per-agent token prices, and budgets (`max_cost_usd` / `max_tokens`, for the run in
//! `settings`, for each agent in `settings.agent_budget` and an agent's own `budget`).

use std::collections::BTreeMap;

use super::agent::AgentSites;
use super::diagnostic::Diagnostics;
use super::model::{Agent, Budget, Price, Prices};
use super::node::Node;
use super::read::Field;

/// `prices: {MODEL: {input, cached_input, output}}`, US dollars per million tokens.
pub(crate) fn read_prices(
    field: Option<Field<'_>>,
    d: &mut Diagnostics,
) -> BTreeMap<String, Price> {
    let mut prices = BTreeMap::new();
    let entries = field.map(|f| f.named_entries(d)).unwrap_or_default();
    for (model, _, value) in entries {
        let Some(mut map) = value.map(d) else {
            if matches!(value.node(), Node::Null) {
                d.error(&value.site(), "missing required keys `input` and `output`");
            }
            continue;
        };
        let input = map.require("input", d).and_then(|f| f.non_negative(d));
        let cached_input = map.get("cached_input").and_then(|f| f.non_negative(d));
        let output = map.require("output", d).and_then(|f| f.non_negative(d));
        map.finish(d);
        if let (Some(input), Some(output)) = (input, output) {
            let price = Price {
                input,
                cached_input,
                output,
            };
            prices.insert(model, price);
        }
    }
    prices
}

/// `{max_cost_usd, max_tokens}`.
pub(crate) fn read_budget(field: Option<Field<'_>>, d: &mut Diagnostics) -> Budget {
    let Some(mut map) = field.and_then(|f| f.map(d)) else {
        return Budget::default();
    };
    let budget = Budget {
        max_cost_usd: map.get("max_cost_usd").and_then(|f| f.non_negative(d)),
        max_tokens: map.get("max_tokens").and_then(|f| f.u64(d)),
    };
    map.finish(d);
    budget
}

/// go-agentic's per-agent `cost_limits` prices, as prices of each agent's model as its provider
/// serves it (`prices.providers`), so that every agent calling that model there is priced
/// alike. Prices the crew gives in crewtui's own keys win; of two agents that price one
/// model differently, the first does. A backup model keeps its own price.
pub(crate) fn agent_prices(
    agents: &[Agent],
    sites: &[AgentSites],
    prices: &mut Prices,
    d: &mut Diagnostics,
) {
    let mut given: BTreeMap<(String, String), (Price, String)> = BTreeMap::new();
    for (agent, at) in agents.iter().zip(sites) {
        let Some((price, site)) = &at.price else {
            continue;
        };
        let key = (agent.provider.clone(), agent.model.clone());
        if let Some((first, by)) = given.get(&key) {
            if first != price {
                let message = format!(
                    "ignored: agent `{by}` prices model `{}` otherwise, and its price counts",
                    agent.model
                );
                d.warning(site, message);
            }
            continue;
        }
        let own = prices
            .providers
            .get(&agent.provider)
            .is_some_and(|p| p.contains_key(&agent.model) || p.contains_key(Prices::ANY_MODEL))
            || prices.models.contains_key(&agent.model);
        if own {
            let message = format!(
                "ignored: the crew's `prices` price model `{}` already, and crewtui's own key \
                 wins",
                agent.model
            );
            d.warning(site, message);
            continue;
        }
        given.insert(key, (*price, agent.id.clone()));
    }
    for ((provider, model), (price, _)) in given {
        prices
            .providers
            .entry(provider)
            .or_default()
            .insert(model, price);
    }
}
