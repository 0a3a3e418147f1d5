//! Reading what a crew says about money: `prices:` (at the top, and per provider) and budgets
//! (`max_cost_usd` / `max_tokens`, for the run in `settings`, for each agent in
//! `settings.agent_budget` and an agent's own `budget`).

use std::collections::BTreeMap;

use super::diagnostic::Diagnostics;
use super::model::{Budget, Price};
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
