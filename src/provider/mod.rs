//! Chat model providers: the conversation types sent to a model and the deltas it streams back.
//!
//! A provider turns one [`ChatRequest`] into a stream of [`Delta`]s. Dropping the stream stops
//! the request (for HTTP providers, the connection is closed). Providers know nothing of
//! sessions or events; the engine turns deltas into events.

pub mod ollama;
pub mod openai;
pub mod scripted;

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use futures_util::stream::BoxStream;
use serde::{Deserialize, Serialize};

pub use openai::OpenAiProvider;
pub use scripted::ScriptedProvider;

use crate::config::model::{Agent, Crew, ProviderConfig};

/// Token counts as the provider reported them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    /// Of the prompt tokens, those the server read from its prompt cache.
    #[serde(default)]
    pub cached_tokens: u64,
}

/// One message of the conversation history, in the roles chat APIs expect.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "role", rename_all = "snake_case")]
pub enum ChatMessage {
    User {
        content: String,
    },
    Assistant {
        content: String,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        tool_calls: Vec<ToolCallRequest>,
    },
    Tool {
        call_id: String,
        name: String,
        content: String,
    },
}

/// A tool call as the model asked for it: `arguments` is the raw text, which may not be JSON.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ToolCallRequest {
    pub id: String,
    pub name: String,
    pub arguments: String,
}

/// A tool as offered to the model.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ToolSpec {
    pub name: String,
    pub description: String,
    /// JSON schema of the arguments object.
    pub parameters: serde_json::Value,
}

/// Everything a provider needs for one model call.
#[derive(Clone, Debug)]
pub struct ChatRequest {
    pub agent: String,
    /// How many model calls this agent has made before this one in the session; the scripted
    /// provider uses it to pick the reply.
    pub step: usize,
    pub model: String,
    pub system_prompt: String,
    /// Shared with the engine's view of the history, which each call only extends.
    pub messages: Arc<Vec<ChatMessage>>,
    pub tools: Vec<ToolSpec>,
    pub temperature: f64,
    pub max_tokens: Option<u32>,
}

/// A piece of a streamed reply.
#[derive(Clone, Debug, PartialEq)]
pub enum Delta {
    Text(String),
    /// Reasoning or "thinking" text, kept apart from the reply.
    Reasoning(String),
    /// A whole tool call, once all its pieces have arrived.
    ToolCall(ToolCallRequest),
    /// The reply is complete.
    Done {
        finish_reason: Option<String>,
        usage: Option<Usage>,
        /// The stream ended without a finish reason or end marker.
        truncated: bool,
    },
}

/// Why a model call failed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ProviderError {
    pub message: String,
    /// The HTTP status, when the server answered with one.
    pub status: Option<u16>,
    /// Whether trying the same request again could succeed.
    pub retryable: bool,
}

impl ProviderError {
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            status: None,
            retryable: false,
        }
    }
}

pub type DeltaStream = BoxStream<'static, Result<Delta, ProviderError>>;

/// A chat model.
pub trait Provider: Send + Sync + fmt::Debug {
    /// Start one model call. The stream ends after a [`Delta::Done`] or an error.
    fn stream(&self, request: ChatRequest) -> DeltaStream;
}

/// The providers of one session, by the names agents use.
#[derive(Clone, Debug, Default)]
pub struct Providers {
    by_name: BTreeMap<String, Result<Arc<dyn Provider>, String>>,
}

/// The model a failed call falls back to, and its provider (or why it cannot be had).
#[derive(Clone, Debug)]
pub struct Fallback {
    pub model: String,
    pub provider: Result<Arc<dyn Provider>, String>,
}

impl Providers {
    /// Builds every provider the crew's agents name, backups included, HTTP ones on the
    /// process's one client (see [`openai::http_client`]). One that cannot be built (a missing
    /// key, say) is kept as its error, which the agents using it report when they run.
    ///
    /// The environment is read now: the implicit `openai` provider's `OPENAI_BASE_URL` (when
    /// the crew declares no `openai` of its own), and `OLLAMA_HOST` for Ollama servers the
    /// crew does not place.
    pub fn for_crew(crew: &Crew, http: &reqwest::Client) -> Self {
        let mut by_name = BTreeMap::new();
        let names = crew.agents.iter().flat_map(|agent| {
            let backup = agent.backup.as_ref().map(|b| &b.provider);
            std::iter::once(&agent.provider).chain(backup)
        });
        for name in names {
            if by_name.contains_key(name) {
                continue;
            }
            let config = match crew.providers.get(name) {
                Some(declared) => Some(declared.clone()),
                None => ProviderConfig::implicit(name).map(|implicit| match implicit {
                    ProviderConfig::OpenAi { api_key_env, .. } => ProviderConfig::OpenAi {
                        base_url: env("OPENAI_BASE_URL")
                            .unwrap_or_else(|| ProviderConfig::OPENAI_BASE_URL.to_string()),
                        api_key_env,
                    },
                    ProviderConfig::Ollama { .. } | ProviderConfig::Scripted => implicit,
                }),
            };
            let http_provider = |base_url: &str, api_key_env: Option<&str>| {
                OpenAiProvider::from_config(name, base_url, api_key_env, &crew.settings, http)
                    .map(|p| Arc::new(p) as Arc<dyn Provider>)
                    .map_err(|e| e.to_string())
            };
            let built: Result<Arc<dyn Provider>, String> = match config {
                Some(ProviderConfig::Scripted) => Ok(Arc::new(ScriptedProvider::new(crew))),
                Some(ProviderConfig::OpenAi {
                    base_url,
                    api_key_env,
                }) => http_provider(&base_url, api_key_env.as_deref()),
                Some(ProviderConfig::Ollama { base_url }) => {
                    let host = env("OLLAMA_HOST");
                    http_provider(
                        &ollama::base_url(base_url.as_deref(), host.as_deref()),
                        None,
                    )
                }
                None => Err(format!("unknown provider `{name}`")),
            };
            by_name.insert(name.clone(), built);
        }
        Self { by_name }
    }

    /// Replace or add a provider (tests use it to bring their own).
    pub fn insert(&mut self, name: impl Into<String>, provider: Arc<dyn Provider>) {
        self.by_name.insert(name.into(), Ok(provider));
    }

    pub fn get(&self, name: &str) -> Result<Arc<dyn Provider>, String> {
        self.by_name
            .get(name)
            .cloned()
            .unwrap_or_else(|| Err(format!("unknown provider `{name}`")))
    }

    /// What `agent`'s calls fall back to, when it names a backup.
    pub fn backup_for(&self, agent: &Agent) -> Option<Fallback> {
        let backup = agent.backup.as_ref()?;
        Some(Fallback {
            model: backup.model.clone(),
            provider: self.get(&backup.provider),
        })
    }
}

/// A variable of the environment that is set and not empty.
fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}
