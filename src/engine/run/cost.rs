//! What a run spends: tokens and US dollars per agent and for the whole run, priced from the
//! crew's `prices:` (its own or its providers') over the embedded table (`prices.yaml`), and
//! the budgets they are held to.
//!
//! A [`Ledger`] is kept as events arrive (the run model keeps one; the engine can keep its
//! own to decide at a gate). Each agent has an account: what its replies cost once they
//! ended (the provider's figures, or an estimate from the text when it gave none), and the
//! reply streaming now, estimated from its text as it comes — about four characters a
//! token — so that the figures move while agents stream and are replaced by the provider's
//! when the reply ends. Every update is a few additions: the cost of a model is looked up
//! once per call, never per token.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, OnceLock};

use serde::Deserialize;

pub use crate::config::model::{Budget, Price, Prices};
use crate::config::model::{Crew, ModelRef};
use crate::engine::event::{AgentId, Usage};

/// Characters per token, to estimate a reply's tokens before the provider says.
const CHARS_PER_TOKEN: u64 = 4;

#[derive(Debug, Deserialize)]
struct Table {
    models: HashMap<String, Price>,
    aliases: HashMap<String, String>,
}

/// The embedded table, read the first time a price is asked for.
fn table() -> &'static Table {
    static TABLE: OnceLock<Table> = OnceLock::new();
    TABLE.get_or_init(|| {
        // Part of the build and covered by a test, so it always parses.
        serde_saphyr::from_str(include_str!("prices.yaml")).unwrap_or_else(|e| {
            tracing::error!("embedded price table: {e}");
            Table {
                models: HashMap::new(),
                aliases: HashMap::new(),
            }
        })
    })
}

/// The embedded table's price of `model`: by its name, then without a leading `vendor/`,
/// then through the table's aliases, then without a trailing date (`-2024-08-06`,
/// `-20250219`).
pub fn table_price(model: &str) -> Option<Price> {
    let t = table();
    let find = |name: &str| {
        t.models.get(name).copied().or_else(|| {
            t.aliases
                .get(name)
                .and_then(|target| t.models.get(target).copied())
        })
    };
    let mut name = model.trim();
    loop {
        if let Some(price) = find(name).or_else(|| find(undated(name))) {
            return Some(price);
        }
        match name.split_once('/') {
            Some((_, rest)) => name = rest,
            None => return None,
        }
    }
}

/// `name` without a trailing release date.
fn undated(name: &str) -> &str {
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    // `-20250219`
    if let Some((head, tail)) = name.rsplit_once('-')
        && tail.len() == 8
        && digits(tail)
    {
        return head;
    }
    // `-2024-08-06`
    let parts: Vec<&str> = name.rsplitn(4, '-').collect();
    if let [day, month, year, head] = parts[..]
        && (year.len(), month.len(), day.len()) == (4, 2, 2)
        && digits(year)
        && digits(month)
        && digits(day)
    {
        return head;
    }
    name
}

/// What one agent of a crew is held to and priced by.
#[derive(Clone, Debug, Default, PartialEq)]
struct AgentTerms {
    provider: String,
    model: String,
    /// What its calls fall back to, whose provider prices the replies the backup gives.
    backup: Option<ModelRef>,
    budget: Budget,
}

/// What a crew says about money: its prices, the run's budget, and per agent its provider,
/// model and budget. Cheap to clone.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Terms {
    prices: Arc<Prices>,
    run_budget: Budget,
    agent_budget: Budget,
    agents: Arc<BTreeMap<String, AgentTerms>>,
}

impl Terms {
    pub fn for_crew(crew: &Crew) -> Self {
        let agents = crew
            .agents
            .iter()
            .map(|a| {
                let terms = AgentTerms {
                    provider: a.provider.clone(),
                    model: a.model.clone(),
                    backup: a.backup.clone(),
                    budget: a.budget.or(crew.settings.agent_budget),
                };
                (a.id.clone(), terms)
            })
            .collect();
        Self {
            prices: Arc::new(crew.prices.clone()),
            run_budget: crew.settings.run_budget(),
            agent_budget: crew.settings.agent_budget,
            agents: Arc::new(agents),
        }
    }

    /// The price of `model` as `provider` serves it: the provider's own prices (by model, or
    /// `*`), the crew's, then the embedded table's.
    pub fn price(&self, provider: Option<&str>, model: &str) -> Option<Price> {
        let own = provider.and_then(|p| self.prices.providers.get(p));
        own.and_then(|prices| {
            prices
                .get(model)
                .or_else(|| prices.get(Prices::ANY_MODEL))
                .copied()
        })
        .or_else(|| self.prices.models.get(model).copied())
        .or_else(|| table_price(model))
    }

    pub fn run_budget(&self) -> Budget {
        self.run_budget
    }
}

/// Tokens and dollars.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Spend {
    pub prompt_tokens: u64,
    /// Of the prompt tokens, those read from a prompt cache.
    pub cached_tokens: u64,
    pub completion_tokens: u64,
    /// Completion tokens estimated from the text: replies streaming now, and replies that
    /// ended without the provider's figures.
    pub estimated_tokens: u64,
    /// What the priced tokens cost.
    pub cost_usd: f64,
    /// Tokens of models without a price, not in `cost_usd`.
    pub unpriced_tokens: u64,
}

impl Spend {
    /// Prompt and completion tokens, estimates included.
    pub fn tokens(&self) -> u64 {
        self.prompt_tokens.saturating_add(self.output_tokens())
    }

    /// Completion tokens, estimates included.
    pub fn output_tokens(&self) -> u64 {
        self.completion_tokens.saturating_add(self.estimated_tokens)
    }

    /// Whether some of the figures are estimates.
    pub fn estimated(&self) -> bool {
        self.estimated_tokens > 0
    }

    /// Whether any of the tokens had a price (else there is no dollar figure at all).
    pub fn priced(&self) -> bool {
        self.tokens() > self.unpriced_tokens
    }

    /// Whether some tokens had no price, so the dollars are a lower bound.
    pub fn partly_priced(&self) -> bool {
        self.unpriced_tokens > 0 && self.priced()
    }

    pub fn add(&mut self, other: &Spend) {
        self.prompt_tokens = self.prompt_tokens.saturating_add(other.prompt_tokens);
        self.cached_tokens = self.cached_tokens.saturating_add(other.cached_tokens);
        self.completion_tokens = self
            .completion_tokens
            .saturating_add(other.completion_tokens);
        self.estimated_tokens = self.estimated_tokens.saturating_add(other.estimated_tokens);
        self.cost_usd += other.cost_usd;
        self.unpriced_tokens = self.unpriced_tokens.saturating_add(other.unpriced_tokens);
    }

    /// The dollars as shown: `$0.0042`; `~$0.0042` when part of it is estimated; `≥$0.0042`
    /// when some tokens had no price; `None` when none had one.
    pub fn cost_text(&self) -> Option<String> {
        let sum = dollars(self.cost_usd);
        match (self.priced(), self.partly_priced(), self.estimated()) {
            (false, _, _) => None,
            (true, true, _) => Some(format!("≥{sum}")),
            // `<$0.0001` says it is not exact already.
            (true, false, true) if sum.starts_with('<') => Some(sum),
            (true, false, true) => Some(format!("~{sum}")),
            (true, false, false) => Some(sum),
        }
    }

    /// This and `other` together.
    pub fn plus(mut self, other: &Spend) -> Spend {
        self.add(other);
        self
    }

    fn subtract(&mut self, other: &Spend) {
        self.prompt_tokens = self.prompt_tokens.saturating_sub(other.prompt_tokens);
        self.cached_tokens = self.cached_tokens.saturating_sub(other.cached_tokens);
        self.completion_tokens = self
            .completion_tokens
            .saturating_sub(other.completion_tokens);
        self.estimated_tokens = self.estimated_tokens.saturating_sub(other.estimated_tokens);
        self.cost_usd = (self.cost_usd - other.cost_usd).max(0.0);
        self.unpriced_tokens = self.unpriced_tokens.saturating_sub(other.unpriced_tokens);
    }

    /// What `usage` cost at `price`; `None` prices nothing.
    pub fn of_usage(usage: &Usage, price: Option<Price>) -> Spend {
        let mut spend = Spend {
            prompt_tokens: usage.prompt_tokens,
            cached_tokens: usage.cached_tokens.min(usage.prompt_tokens),
            completion_tokens: usage.completion_tokens,
            ..Spend::default()
        };
        match price {
            Some(p) => {
                let fresh = spend.prompt_tokens - spend.cached_tokens;
                let cached_rate = p.cached_input.unwrap_or(p.input);
                spend.cost_usd = (fresh as f64 * p.input
                    + spend.cached_tokens as f64 * cached_rate
                    + spend.completion_tokens as f64 * p.output)
                    / 1e6;
            }
            None => spend.unpriced_tokens = spend.tokens(),
        }
        spend
    }

    /// Completion tokens estimated from `chars` characters of text, at `price`.
    fn of_estimate(chars: u64, price: Option<Price>) -> Spend {
        let tokens = chars.div_ceil(CHARS_PER_TOKEN);
        let mut spend = Spend {
            estimated_tokens: tokens,
            ..Spend::default()
        };
        match price {
            Some(p) => spend.cost_usd = tokens as f64 * p.output / 1e6,
            None => spend.unpriced_tokens = tokens,
        }
        spend
    }
}

/// Which budget was passed.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum BudgetScope {
    Run,
    /// The agent at this index of the ledger (the run's order of agents).
    Agent(usize),
}

/// Which limit of a budget was passed, and by how much.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Limit {
    Cost { max_usd: f64, spent_usd: f64 },
    Tokens { max: u64, spent: u64 },
}

/// A budget reached.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BudgetHit {
    pub scope: BudgetScope,
    pub limit: Limit,
}

impl BudgetHit {
    /// `max_cost_usd $2.00 reached: $2.0132 spent`, with `whose` naming the budget's owner
    /// (`the run`, `agent writer`).
    pub fn describe(&self, whose: &str) -> String {
        match self.limit {
            Limit::Cost { max_usd, spent_usd } => format!(
                "{whose} reached its budget of {}: {} spent",
                dollars(max_usd),
                dollars(spent_usd)
            ),
            Limit::Tokens { max, spent } => {
                format!("{whose} reached its budget of {max} tokens: {spent} used")
            }
        }
    }
}

/// A sum in dollars at a precision that shows small sums: `$0.0042`, `$1.27`, `$120`.
pub fn dollars(usd: f64) -> String {
    match usd {
        u if u >= 100.0 => format!("${u:.0}"),
        u if u >= 1.0 => format!("${u:.2}"),
        u if u >= 0.01 => format!("${u:.3}"),
        u if u >= 0.0001 => format!("${u:.4}"),
        u if u > 0.0 => "<$0.0001".to_string(),
        _ => "$0".to_string(),
    }
}

/// Whether `spend` passes `budget`: the first limit it reached, if any. A cost limit is
/// reached only by priced tokens; unpriced ones count against a token limit.
/// Each limit of `budget` that `spend` reached, in dollars first.
fn limits_over(budget: &Budget, spend: Spend) -> impl Iterator<Item = Limit> + use<> {
    let cost = over(
        &Budget {
            max_tokens: None,
            ..*budget
        },
        &spend,
    );
    let tokens = over(
        &Budget {
            max_cost_usd: None,
            ..*budget
        },
        &spend,
    );
    cost.into_iter().chain(tokens)
}

fn over(budget: &Budget, spend: &Spend) -> Option<Limit> {
    if let Some(max_usd) = budget.max_cost_usd
        && spend.cost_usd >= max_usd
        && spend.priced()
    {
        return Some(Limit::Cost {
            max_usd,
            spent_usd: spend.cost_usd,
        });
    }
    if let Some(max) = budget.max_tokens
        && spend.tokens() >= max
    {
        return Some(Limit::Tokens {
            max,
            spent: spend.tokens(),
        });
    }
    None
}

/// One agent's account.
#[derive(Clone, Debug)]
struct Account {
    id: AgentId,
    provider: Option<String>,
    /// The model the crew gives it, for replies whose request is not on record.
    model: String,
    /// The provider of its backup model, which prices a call after it fell back.
    backup_provider: Option<String>,
    budget: Budget,
    /// Replies that ended.
    settled: Spend,
    /// The model call going on: its model's price (looked up once), the characters it has
    /// streamed, and what they are estimated to cost.
    price: Option<Price>,
    chars: u64,
    live: Spend,
}

/// Accounts of a run's agents, in the run's order, and the run's totals; see the module doc.
#[derive(Clone, Debug, Default)]
pub struct Ledger {
    terms: Terms,
    accounts: Vec<Account>,
    settled: Spend,
    live: Spend,
}

impl Ledger {
    pub fn new(terms: Terms) -> Self {
        Self {
            terms,
            ..Self::default()
        }
    }

    /// A ledger with an account for each of the crew's agents, in the crew's order.
    pub fn for_crew(crew: &Crew) -> Self {
        let mut ledger = Ledger::new(Terms::for_crew(crew));
        for agent in &crew.agents {
            ledger.open(&AgentId(agent.id.clone()));
        }
        ledger
    }

    pub fn terms(&self) -> &Terms {
        &self.terms
    }

    /// Opens an account for `id`, which gets the next index; agents the crew does not list
    /// are priced by model alone and held to the crew's default agent budget.
    pub fn open(&mut self, id: &AgentId) -> usize {
        let terms = self.terms.agents.get(id.as_str());
        let account = Account {
            id: id.clone(),
            provider: terms.map(|t| t.provider.clone()),
            model: terms.map(|t| t.model.clone()).unwrap_or_default(),
            backup_provider: terms
                .and_then(|t| t.backup.as_ref())
                .map(|b| b.provider.clone()),
            budget: terms.map_or(self.terms.agent_budget, |t| t.budget),
            settled: Spend::default(),
            price: None,
            chars: 0,
            live: Spend::default(),
        };
        self.accounts.push(account);
        self.accounts.len() - 1
    }

    /// The account of agent `id`.
    pub fn account_of(&self, id: &str) -> Option<usize> {
        self.accounts.iter().position(|a| a.id.as_str() == id)
    }

    /// A model call of agent `i` to `model` begins (an empty model: the crew's). Returns
    /// what a call it left streaming was estimated to cost, now settled.
    pub fn request(&mut self, i: usize, model: &str) -> Spend {
        let left = self.settle_live(i);
        let terms = &self.terms;
        if let Some(a) = self.accounts.get_mut(i) {
            let model = if model.is_empty() { &a.model } else { model };
            a.price = terms.price(a.provider.as_deref(), model);
        }
        left
    }

    /// Agent `i`'s model call failed before any output and was sent to its backup model `to`
    /// (a `fell_back` event): what the call brings from now on is priced at `to` as the
    /// backup's provider serves it, not at the model and provider of the request. Returns
    /// what the failed attempt was estimated to cost, now settled.
    pub fn fell_back(&mut self, i: usize, to: &str) -> Spend {
        let left = self.settle_live(i);
        let terms = &self.terms;
        if let Some(a) = self.accounts.get_mut(i) {
            // A crew that names no backup now (edited since the run) prices `to` as the
            // agent's own provider serves it.
            let provider = a.backup_provider.as_deref().or(a.provider.as_deref());
            a.price = terms.price(provider, to);
        }
        left
    }

    /// Agent `i`'s model streamed `text` (reply or reasoning: both are billed as output).
    pub fn streamed(&mut self, i: usize, text: &str) {
        let Some(a) = self.accounts.get_mut(i) else {
            return;
        };
        // Most tokens are ASCII, whose characters are its bytes.
        let chars = if text.is_ascii() {
            text.len()
        } else {
            text.chars().count()
        };
        a.chars += chars as u64;
        // The estimate moves a token at a time: nothing to do until it does.
        if a.chars.div_ceil(CHARS_PER_TOKEN) == a.live.estimated_tokens {
            return;
        }
        let live = Spend::of_estimate(a.chars, a.price);
        self.live.subtract(&a.live);
        self.live.add(&live);
        a.live = live;
    }

    /// Agent `i`'s reply ended: the provider's figures replace the estimate; without them the
    /// estimate stays, from the streamed text or else from the reply's `content`. Returns
    /// what the reply cost.
    pub fn replied(&mut self, i: usize, usage: Option<&Usage>, content: &str) -> Spend {
        let Some(a) = self.accounts.get_mut(i) else {
            return Spend::default();
        };
        match usage {
            Some(usage) => {
                let spend = Spend::of_usage(usage, a.price);
                self.live.subtract(&a.live);
                a.live = spend;
            }
            None if a.chars == 0 => {
                a.live = Spend::of_estimate(content.chars().count() as u64, a.price)
            }
            None => self.live.subtract(&a.live),
        }
        let spend = std::mem::take(&mut a.live);
        a.chars = 0;
        a.settled.add(&spend);
        self.settled.add(&spend);
        spend
    }

    /// Agent `i`'s model call ended without a reply (failed, cancelled, asked again): what it
    /// streamed is kept as an estimate, and returned.
    pub fn settle_live(&mut self, i: usize) -> Spend {
        let Some(a) = self.accounts.get_mut(i) else {
            return Spend::default();
        };
        let spend = std::mem::take(&mut a.live);
        a.chars = 0;
        self.live.subtract(&spend);
        a.settled.add(&spend);
        self.settled.add(&spend);
        spend
    }

    /// What agent `i` has spent, its streaming reply's estimate included.
    pub fn agent(&self, i: usize) -> Spend {
        self.accounts
            .get(i)
            .map_or_else(Spend::default, |a| a.settled.plus(&a.live))
    }

    /// What agent `i`'s reply streaming now is estimated to cost.
    pub fn streaming(&self, i: usize) -> Spend {
        self.accounts.get(i).map_or_else(Spend::default, |a| a.live)
    }

    /// What the whole run has spent, streaming replies' estimates included.
    pub fn total(&self) -> Spend {
        self.settled.plus(&self.live)
    }

    /// Agent `i`'s budget.
    pub fn budget(&self, i: usize) -> Budget {
        self.accounts
            .get(i)
            .map_or_else(Budget::default, |a| a.budget)
    }

    /// The id of agent `i`.
    pub fn id_of(&self, i: usize) -> Option<&AgentId> {
        self.accounts.get(i).map(|a| &a.id)
    }

    /// Whether the crew sets any budget, for the run or for an agent.
    pub fn budgeted(&self) -> bool {
        !self.terms.run_budget.is_unlimited()
            || !self.terms.agent_budget.is_unlimited()
            || self.terms.agents.values().any(|a| !a.budget.is_unlimited())
    }

    /// Every budget reached so far: each agent's, then the run's, each of its limits.
    pub fn hits(&self) -> Vec<BudgetHit> {
        let agents = self.accounts.iter().enumerate().flat_map(|(i, a)| {
            limits_over(&a.budget, a.settled.plus(&a.live)).map(move |limit| BudgetHit {
                scope: BudgetScope::Agent(i),
                limit,
            })
        });
        let run = limits_over(&self.terms.run_budget, self.total()).map(|limit| BudgetHit {
            scope: BudgetScope::Run,
            limit,
        });
        agents.chain(run).collect()
    }

    /// Whether agent `agent`'s budget (when given) or the run's has been reached, estimates of
    /// streaming replies included: the budget reached first in that order. Costs a few
    /// comparisons and allocates nothing, so the engine can ask before every model call.
    pub fn passed(&self, agent: Option<usize>) -> Option<BudgetHit> {
        if let Some(i) = agent
            && let Some(a) = self.accounts.get(i)
            && let Some(limit) = over(&a.budget, &a.settled.plus(&a.live))
        {
            return Some(BudgetHit {
                scope: BudgetScope::Agent(i),
                limit,
            });
        }
        over(&self.terms.run_budget, &self.total()).map(|limit| BudgetHit {
            scope: BudgetScope::Run,
            limit,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn usage(prompt: u64, completion: u64, cached: u64) -> Usage {
        Usage {
            prompt_tokens: prompt,
            completion_tokens: completion,
            cached_tokens: cached,
        }
    }

    #[test]
    fn the_table_prices_the_models_people_use_by_their_usual_names() {
        let gpt4o = table_price("gpt-4o").expect("gpt-4o is in the table");
        assert_eq!(
            (gpt4o.input, gpt4o.cached_input, gpt4o.output),
            (2.5, Some(1.25), 10.0)
        );
        for (name, same_as) in [
            ("openai/gpt-4o", "gpt-4o"),
            ("gpt-4o-2024-08-06", "gpt-4o"),
            ("anthropic/claude-sonnet-4.5", "claude-sonnet-4-5"),
            ("anthropic/claude-sonnet-4-5-20250929", "claude-sonnet-4-5"),
            ("openrouter/openai/gpt-oss-120b", "openai/gpt-oss-120b"),
            ("gpt-oss-120b", "openai/gpt-oss-120b"),
            ("models/gemini-2.5-flash", "gemini-2.5-flash"),
        ] {
            assert_eq!(table_price(name), table_price(same_as), "{name}");
            assert!(table_price(name).is_some(), "{name}");
        }
        for unknown in [
            "",
            "llama3.2",
            "gpt-4o-mini-tts-nope",
            "local",
            "qwen/qwen-unknown",
        ] {
            assert_eq!(table_price(unknown), None, "{unknown}");
        }
        // Every entry is a real price, and every alias leads somewhere.
        let t = table();
        assert!(
            t.models.len() >= 40,
            "a few dozen models: {}",
            t.models.len()
        );
        for (name, p) in &t.models {
            assert!(p.input >= 0.0 && p.output > 0.0, "{name}: {p:?}");
            assert!(p.cached_input.is_none_or(|c| c <= p.input), "{name}: {p:?}");
        }
        for (alias, target) in &t.aliases {
            assert!(t.models.contains_key(target), "{alias} → {target}");
        }
    }

    #[test]
    fn cached_prompt_tokens_cost_the_cached_rate() {
        let price = table_price("gpt-4o");
        let spend = Spend::of_usage(&usage(1_000_000, 1_000_000, 400_000), price);
        // 600k fresh at $2.50, 400k cached at $1.25, 1M out at $10.
        assert!(
            (spend.cost_usd - (1.5 + 0.5 + 10.0)).abs() < 1e-9,
            "{spend:?}"
        );
        let none = Spend::of_usage(&usage(10, 5, 0), None);
        assert_eq!((none.cost_usd, none.unpriced_tokens), (0.0, 15));
        assert!(!none.priced());
    }

    fn crew(yaml: &str) -> Crew {
        crate::config::load_crew_str(
            yaml,
            std::path::Path::new("c.yaml"),
            std::path::Path::new("."),
        )
        .crew
        .expect("the crew loads")
    }

    #[test]
    fn the_crew_and_its_providers_win_over_the_table() {
        let c = crew(
            "prices:\n  gpt-4o: {input: 1, output: 2}\n  tuned: {input: 3, output: 4}\n\
             providers:\n  local:\n    base_url: http://127.0.0.1:1/v1\n    prices: {\"*\": {input: 0, output: 0}}\n\
             agents:\n  - {id: a, model: gpt-4o, handoff_targets: [b]}\n  - {id: b, provider: local, model: gpt-4o}\n",
        );
        let terms = Terms::for_crew(&c);
        assert_eq!(
            terms.price(Some("openai"), "gpt-4o").map(|p| p.input),
            Some(1.0)
        );
        assert_eq!(
            terms.price(Some("local"), "gpt-4o").map(|p| p.input),
            Some(0.0)
        );
        assert_eq!(terms.price(None, "tuned").map(|p| p.output), Some(4.0));
        assert_eq!(terms.price(None, "gpt-4.1").map(|p| p.input), Some(2.0));
        assert_eq!(terms.price(Some("openai"), "my-own"), None);
    }

    #[test]
    fn estimates_count_up_while_streaming_and_give_way_to_the_providers_figures() {
        let c = crew("agents:\n  - {id: a, model: gpt-4o}\n");
        let mut ledger = Ledger::for_crew(&c);
        ledger.request(0, "");
        ledger.streamed(0, "abcd");
        ledger.streamed(0, "efghi");
        let live = ledger.total();
        assert_eq!((live.estimated_tokens, live.output_tokens()), (3, 3));
        assert!(live.estimated() && live.cost_usd > 0.0);
        ledger.replied(0, Some(&usage(100, 2, 0)), "abcdefghi");
        let done = ledger.total();
        assert_eq!(
            (
                done.estimated_tokens,
                done.completion_tokens,
                done.prompt_tokens
            ),
            (0, 2, 100)
        );
        assert!((done.cost_usd - (100.0 * 2.5 + 2.0 * 10.0) / 1e6).abs() < 1e-12);
        // A reply without figures keeps its estimate, from its text when nothing streamed.
        ledger.request(0, "gpt-4o");
        ledger.replied(0, None, "twelve chars");
        assert_eq!(ledger.agent(0).estimated_tokens, 3);
        // A call that failed mid-reply keeps what it streamed.
        ledger.request(0, "gpt-4o");
        ledger.streamed(0, "12345678");
        ledger.settle_live(0);
        assert_eq!(ledger.agent(0).estimated_tokens, 5);
        assert_eq!(ledger.total(), ledger.agent(0));
        assert_eq!(ledger.streaming(0), Spend::default());
    }

    #[test]
    fn a_call_that_fell_back_is_priced_at_the_backup_as_its_provider_serves_it() {
        let c = crew(
            "providers:\n  own: {base_url: \"http://127.0.0.1:1/v1\", prices: {\"*\": {input: 1, output: 1}}}\n  \
             rented: {base_url: \"http://127.0.0.1:2/v1\", prices: {\"*\": {input: 1000, output: 2000}}}\n\
             agents:\n  - id: a\n    primary: {model: m, provider: own}\n    backup: {model: m, provider: rented}\n",
        );
        let mut ledger = Ledger::for_crew(&c);
        ledger.request(0, "m");
        ledger.fell_back(0, "m");
        // While the backup streams, its estimate is at its price too: 2 tokens at $2000/M.
        ledger.streamed(0, "abcdefgh");
        assert!((ledger.total().cost_usd - 2.0 * 2000.0 / 1e6).abs() < 1e-12);
        let spend = ledger.replied(0, Some(&usage(10, 5, 0)), "abcdefgh");
        assert!(
            (spend.cost_usd - (10.0 * 1000.0 + 5.0 * 2000.0) / 1e6).abs() < 1e-12,
            "{spend:?}"
        );
        // The next call goes to the primary again, at its own price.
        ledger.request(0, "m");
        let again = ledger.replied(0, Some(&usage(10, 5, 0)), "");
        assert!((again.cost_usd - 15.0 / 1e6).abs() < 1e-12, "{again:?}");
    }

    #[test]
    fn budgets_are_passed_by_the_agent_first_then_the_run() {
        let c = crew(
            "settings: {max_tokens: 1000, agent_budget: {max_cost_usd: 0.001}}\n\
             agents:\n  - {id: a, model: gpt-4o, handoff_targets: [b], budget: {max_tokens: 150}}\n  - {id: b, model: unknown-model}\n",
        );
        let mut ledger = Ledger::for_crew(&c);
        assert_eq!(ledger.passed(Some(0)), None);
        ledger.request(0, "");
        ledger.replied(0, Some(&usage(100, 40, 0)), "");
        assert_eq!(ledger.passed(Some(0)), None);
        // Streaming counts: 44 characters are 11 more tokens.
        ledger.request(0, "");
        ledger.streamed(0, &"x".repeat(44));
        let hit = ledger.passed(Some(0)).expect("agent a's 150 tokens");
        assert_eq!(hit.scope, BudgetScope::Agent(0));
        assert_eq!(
            hit.limit,
            Limit::Tokens {
                max: 150,
                spent: 151
            }
        );
        assert_eq!(
            hit.describe("agent a"),
            "agent a reached its budget of 150 tokens: 151 used"
        );
        // b's model has no price: its cost budget is never reached, the run's tokens are.
        assert_eq!(ledger.passed(Some(1)), None);
        ledger.request(1, "");
        ledger.replied(1, Some(&usage(900, 10, 0)), "");
        assert_eq!(
            ledger.passed(Some(1)).map(|h| h.scope),
            Some(BudgetScope::Run)
        );
        assert!(ledger.total().partly_priced());
    }

    #[test]
    fn dollars_show_small_sums() {
        assert_eq!(dollars(0.0), "$0");
        assert_eq!(dollars(0.000_42), "$0.0004");
        assert_eq!(dollars(0.000_004_8), "<$0.0001");
        assert_eq!(dollars(0.0123), "$0.012");
        assert_eq!(dollars(2.5), "$2.50");
        assert_eq!(dollars(1234.4), "$1234");
    }
}
