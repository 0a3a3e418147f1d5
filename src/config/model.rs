//! The crew model: what a crew file means once it has been parsed and checked.
//!
//! Both crew layouts (one file, or the go-agentic directory) load into these types. They hold
//! no runtime state; a running session clones what it needs.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::time::Duration;

use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A whole crew, ready to run.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Crew {
    pub name: String,
    pub description: String,
    /// Where the crew was loaded from (the YAML file, or the directory's `crew.yaml`).
    pub source: PathBuf,
    pub entry_point: String,
    /// The input used when none is given on the command line.
    pub input: Option<String>,
    pub agents: Vec<Agent>,
    pub settings: Settings,
    pub routing: Routing,
    pub providers: BTreeMap<String, ProviderConfig>,
    /// Command tools declared by the crew or bound to a name it lists (a bindings file), by
    /// name.
    pub tools: BTreeMap<String, CommandToolConfig>,
    /// Tools bound to canned results by a bindings file, by name. Absent from the crews
    /// recorded in older session files.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub scripted_tools: BTreeMap<String, ScriptedToolConfig>,
    /// What models cost, where the crew says so (over the embedded price table). Absent from
    /// the crews recorded in older session files.
    #[serde(default, skip_serializing_if = "Prices::is_empty")]
    pub prices: Prices,
    /// The files the crew was read from; `None` for a crew loaded from text. Not part of what
    /// the crew means, so not part of its serialised form either.
    #[serde(skip)]
    pub origin: Option<Origin>,
}

/// Where a crew was loaded from, for a session to name and to notice changes in.
#[derive(Clone, Debug, PartialEq)]
pub struct Origin {
    /// Absolute, as it was given: the YAML file, or the directory of go-agentic's layout.
    pub path: PathBuf,
    /// A hash of the files read (crew file and agent files, with their names), in hex; it
    /// tells that they changed, nothing more.
    pub hash: String,
}

impl Crew {
    pub fn agent(&self, id: &str) -> Option<&Agent> {
        self.agents.iter().find(|a| a.id == id)
    }

    /// Whether the run ends after this agent's turn (agent key or routing behaviour).
    pub fn is_terminal(&self, id: &str) -> bool {
        self.agent(id).is_some_and(|a| a.is_terminal)
            || self
                .routing
                .behaviors
                .get(id)
                .is_some_and(|b| b.is_terminal)
    }

    /// Names of the environment variables holding provider keys: every declared provider's
    /// `api_key_env`, and the implicit `openai` provider's `OPENAI_API_KEY` whether or not an
    /// agent uses it. No tool is given them, and their values are cut out of tool output.
    pub fn key_variables(&self) -> BTreeSet<String> {
        let implicit = ProviderConfig::implicit("openai");
        let declared = self.providers.values().chain(implicit.as_ref());
        declared
            .filter_map(|provider| match provider {
                ProviderConfig::OpenAi { api_key_env, .. } => api_key_env.clone(),
                ProviderConfig::Ollama { .. } | ProviderConfig::Scripted => None,
            })
            .collect()
    }

    pub fn waits_for_signal(&self, id: &str) -> bool {
        self.routing
            .behaviors
            .get(id)
            .is_some_and(|b| b.wait_for_signal)
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Agent {
    pub id: String,
    pub name: String,
    pub role: String,
    pub backstory: String,
    pub description: String,
    /// Name of an entry of [`Crew::providers`], or one of the implicit `openai` / `ollama` /
    /// `scripted` (go-agentic's `primary.provider`).
    pub provider: String,
    /// go-agentic's `primary.model`; the crew's `settings.default_model` when none was given.
    pub model: String,
    /// What a model call falls back to when the primary fails before any output (go-agentic's
    /// `backup`). Absent from the crews recorded in older session files.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backup: Option<ModelRef>,
    pub temperature: f64,
    pub max_tokens: Option<u32>,
    /// What this agent may spend, key by key over `settings.agent_budget`. Absent from the
    /// crews recorded in older session files.
    #[serde(default, skip_serializing_if = "Budget::is_unlimited")]
    pub budget: Budget,
    pub tools: Vec<String>,
    pub handoff_targets: Vec<String>,
    pub is_terminal: bool,
    /// The system prompt template; `{{name}}`, `{{role}}`, `{{backstory}}`, `{{id}}` and
    /// `{{description}}` are filled in by [`Agent::system_prompt`].
    pub system_prompt: Option<String>,
    /// Replies of the scripted provider, consumed one per model call, in order.
    pub script: Vec<ScriptStep>,
}

impl Agent {
    /// The system prompt with go-agentic's template variables filled in.
    pub fn system_prompt(&self) -> String {
        let template = self.system_prompt.clone().unwrap_or_else(|| {
            let mut t = String::from("You are {{name}}");
            if !self.role.is_empty() {
                t.push_str(", {{role}}");
            }
            t.push('.');
            if !self.backstory.is_empty() {
                t.push_str("\n{{backstory}}");
            }
            t
        });
        template
            .replace("{{name}}", &self.name)
            .replace("{{role}}", &self.role)
            .replace("{{backstory}}", &self.backstory)
            .replace("{{description}}", &self.description)
            .replace("{{id}}", &self.id)
    }
}

/// A model and the provider that serves it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ModelRef {
    /// As [`Agent::provider`].
    pub provider: String,
    pub model: String,
}

/// One scripted model reply: optional text streamed first, then optional tool calls.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct ScriptStep {
    pub reply: String,
    pub reasoning: String,
    pub tool_calls: Vec<ScriptedToolCall>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ScriptedToolCall {
    pub tool: String,
    pub arguments: serde_json::Value,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Settings {
    pub max_handoffs: u32,
    pub max_rounds: u32,
    pub timeout_seconds: u64,
    pub tool_timeout_seconds: u64,
    /// 0 streams each scripted reply at once.
    pub scripted_tokens_per_second: f64,
    /// Tool output past this many bytes is cut, with a visible marker.
    pub tool_output_limit: usize,
    /// The directory `read_file` and `list_dir` are confined to.
    pub files_root: PathBuf,
    /// Tool calls one agent turn may run, over all its model calls; later ones fail unrun.
    /// Absent from the crews recorded in older session files.
    #[serde(default = "Settings::default_max_tool_calls_per_turn")]
    pub max_tool_calls_per_turn: u32,
    /// What a tool call needs before it runs, for tools `approve_tools` does not name
    /// (`--approve` overrides both).
    #[serde(default)]
    pub approve: Approval,
    /// Per tool, built-in or command tool.
    #[serde(default)]
    pub approve_tools: BTreeMap<String, Approval>,
    pub max_retries: u32,
    pub connect_timeout_seconds: u64,
    pub first_token_timeout_seconds: u64,
    pub stream_idle_timeout_seconds: u64,
    /// The model of an agent that names none (go-agentic's loader defaulted it too). Absent
    /// from the crews recorded in older session files.
    #[serde(default = "Settings::default_model")]
    pub default_model: String,
    /// The most tokens (prompt and completion, over every agent) the whole run may use;
    /// go-agentic's `max_tokens_per_day` reads into it. Absent from the crews recorded in
    /// older session files.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_tokens: Option<u64>,
    /// The most the whole run may cost, in US dollars; go-agentic's `max_cost_per_day`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_cost_usd: Option<f64>,
    /// What each agent may spend unless it sets its own `budget`.
    #[serde(default, skip_serializing_if = "Budget::is_unlimited")]
    pub agent_budget: Budget,
}

impl Settings {
    pub const DEFAULT_MAX_HANDOFFS: u32 = 5;
    pub const DEFAULT_MAX_ROUNDS: u32 = 10;
    pub const DEFAULT_TIMEOUT_SECONDS: u64 = 300;
    pub const DEFAULT_MAX_TOOL_CALLS_PER_TURN: u32 = 64;
    /// go-agentic's default model, for agents that name none.
    pub const DEFAULT_MODEL: &str = "gpt-4o";

    fn default_max_tool_calls_per_turn() -> u32 {
        Self::DEFAULT_MAX_TOOL_CALLS_PER_TURN
    }

    fn default_model() -> String {
        Self::DEFAULT_MODEL.to_string()
    }

    pub fn session_timeout(&self) -> Duration {
        Duration::from_secs(self.timeout_seconds)
    }

    pub fn tool_timeout(&self) -> Duration {
        Duration::from_secs(self.tool_timeout_seconds)
    }

    /// The run's budget.
    pub fn run_budget(&self) -> Budget {
        Budget {
            max_cost_usd: self.max_cost_usd,
            max_tokens: self.max_tokens,
        }
    }
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            max_handoffs: Self::DEFAULT_MAX_HANDOFFS,
            max_rounds: Self::DEFAULT_MAX_ROUNDS,
            timeout_seconds: Self::DEFAULT_TIMEOUT_SECONDS,
            tool_timeout_seconds: 30,
            scripted_tokens_per_second: 40.0,
            tool_output_limit: 16 * 1024,
            files_root: PathBuf::from("."),
            max_tool_calls_per_turn: Self::DEFAULT_MAX_TOOL_CALLS_PER_TURN,
            approve: Approval::Auto,
            approve_tools: BTreeMap::new(),
            max_retries: 2,
            connect_timeout_seconds: 10,
            first_token_timeout_seconds: 60,
            stream_idle_timeout_seconds: 60,
            default_model: Self::default_model(),
            max_tokens: None,
            max_cost_usd: None,
            agent_budget: Budget::default(),
        }
    }
}

/// What a model costs, in US dollars per million tokens.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Price {
    pub input: f64,
    /// A prompt token the provider read from its prompt cache; `None`: as `input`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cached_input: Option<f64>,
    pub output: f64,
}

/// The prices a crew sets: by model, and by provider and model, where `*` stands for every
/// model of that provider (a local server that costs nothing).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Prices {
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub models: BTreeMap<String, Price>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub providers: BTreeMap<String, BTreeMap<String, Price>>,
}

impl Prices {
    /// A model name that stands for every model of a provider.
    pub const ANY_MODEL: &str = "*";

    pub fn is_empty(&self) -> bool {
        self.models.is_empty() && self.providers.is_empty()
    }
}

/// Limits on what a run or an agent may spend; `None` is no limit.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Budget {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_cost_usd: Option<f64>,
    /// Prompt and completion tokens together.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_tokens: Option<u64>,
}

impl Budget {
    pub fn is_unlimited(&self) -> bool {
        self.max_cost_usd.is_none() && self.max_tokens.is_none()
    }

    /// These limits, with `fallback`'s where these set none.
    pub fn or(self, fallback: Budget) -> Budget {
        Budget {
            max_cost_usd: self.max_cost_usd.or(fallback.max_cost_usd),
            max_tokens: self.max_tokens.or(fallback.max_tokens),
        }
    }
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Routing {
    /// Signals each agent may emit, in the order they are tried.
    pub signals: BTreeMap<String, Vec<Signal>>,
    pub behaviors: BTreeMap<String, AgentBehavior>,
    pub parallel_groups: BTreeMap<String, ParallelGroup>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Signal {
    /// The text searched for in the agent's reply, e.g. `[REVIEW]`.
    pub signal: String,
    /// An agent id or a parallel group name; empty (go-agentic's `target: ""` or `null`) for a
    /// signal that ends the run.
    pub target: String,
    pub description: String,
}

impl Signal {
    /// Whether the signal ends the run instead of routing it on.
    pub fn ends_run(&self) -> bool {
        self.target.is_empty()
    }
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct AgentBehavior {
    pub wait_for_signal: bool,
    pub is_terminal: bool,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ParallelGroup {
    pub agents: Vec<String>,
    pub wait_for_all: bool,
    pub timeout_seconds: u64,
    /// Receives the labelled replies; `None` ends the run after the group.
    pub next_agent: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum ProviderConfig {
    OpenAi {
        base_url: String,
        /// Name of the environment variable holding the key; never the key itself.
        api_key_env: Option<String>,
    },
    /// An Ollama server, which speaks the OpenAI protocol under `/v1` and takes no key.
    Ollama {
        /// The server as go-agentic's `provider_url` names it (`http://localhost:11434`);
        /// `None`: `$OLLAMA_HOST`, else the local default, when the session starts.
        base_url: Option<String>,
    },
    Scripted,
}

impl ProviderConfig {
    pub const OPENAI_BASE_URL: &str = "https://api.openai.com/v1";
    /// Where `ollama serve` listens unless told otherwise.
    pub const OLLAMA_BASE_URL: &str = "http://localhost:11434";

    /// The provider an agent gets when its `provider` names one not declared in the crew. The
    /// implicit `openai` takes its base URL from `OPENAI_BASE_URL` when that is set, as the
    /// official clients do; that happens when the session's providers are made.
    pub fn implicit(name: &str) -> Option<Self> {
        match name {
            "openai" => Some(Self::OpenAi {
                base_url: Self::OPENAI_BASE_URL.to_string(),
                api_key_env: Some("OPENAI_API_KEY".to_string()),
            }),
            "ollama" => Some(Self::Ollama { base_url: None }),
            "scripted" => Some(Self::Scripted),
            _ => None,
        }
    }

    /// Names that exist without being declared.
    pub const IMPLICIT: [&str; 3] = ["ollama", "openai", "scripted"];

    /// Whether calls need a model name (every kind but the scripted one).
    pub fn needs_model(&self) -> bool {
        match self {
            ProviderConfig::OpenAi { .. } | ProviderConfig::Ollama { .. } => true,
            ProviderConfig::Scripted => false,
        }
    }
}

/// A tool bound to canned results (a bindings file): a stand-in for a tool crewtui cannot
/// have, such as a Go function of go-agentic's host program.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ScriptedToolConfig {
    pub description: String,
    /// JSON schema of the arguments.
    pub parameters: serde_json::Value,
    pub results: ScriptedResults,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScriptedResults {
    /// One per call, in order; a call past the last fails.
    InOrder(Vec<String>),
    /// The same for every call.
    Fixed(String),
}

/// A tool backed by an external program: the call's JSON arguments on stdin, stdout is the
/// result.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CommandToolConfig {
    pub description: String,
    pub command: PathBuf,
    pub args: Vec<String>,
    /// JSON schema of the arguments.
    pub parameters: serde_json::Value,
    pub timeout_seconds: Option<u64>,
    /// Names of environment variables passed to the program besides the default few (see
    /// `tools::command`); never one that holds a provider's key. Absent from the crews
    /// recorded in older session files.
    #[serde(default)]
    pub env: Vec<String>,
    /// What a call of it needs before it runs (`settings.approve` when absent).
    #[serde(default)]
    pub approve: Option<Approval>,
}

/// What a tool call needs before it runs (per tool in the crew, `settings.approve`, or
/// `--approve`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Approval {
    /// Run it.
    #[default]
    Auto,
    /// Stop at a gate and ask.
    Ask,
    /// Refuse it; the refusal goes back to the model as the tool's failure.
    Deny,
}

impl FromStr for Approval {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        match text {
            "auto" => Ok(Approval::Auto),
            "ask" => Ok(Approval::Ask),
            "deny" => Ok(Approval::Deny),
            other => Err(format!(
                "`{}` is not an approval: give auto, ask or deny",
                crate::text::visible_line(other)
            )),
        }
    }
}
