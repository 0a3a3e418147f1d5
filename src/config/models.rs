//! The model each agent calls, resolved from what its file wrote: go-agentic's `primary` and
//! `backup` (`{model, provider, provider_url}`), or crewtui's own `provider` and `model`.
//!
//! A `provider_url` makes a provider of its own, named after the provider it changes and the
//! server it points at (`ollama@gpu-box:11434`), so the rest of crewtui knows providers by
//! name only. An agent without a model gets the crew's `settings.default_model`, with a
//! warning, as go-agentic's loader gave it one. Unknown provider names are left for
//! `validate.rs` to report.

use std::collections::BTreeMap;

use super::agent::{AgentSites, WrittenModel};
use super::diagnostic::Diagnostics;
use super::model::{Agent, ModelRef, ProviderConfig, Settings};
use super::read::join;
use super::sections::Defaults;

/// Fills in each agent's provider, model and backup, adding the providers `provider_url`s
/// make to `providers`.
pub(crate) fn resolve(
    agents: &mut [Agent],
    sites: &[AgentSites],
    providers: &mut BTreeMap<String, ProviderConfig>,
    settings: &Settings,
    defaults: Defaults,
    d: &mut Diagnostics,
) {
    for (agent, at) in agents.iter_mut().zip(sites) {
        agent.max_tokens = agent.max_tokens.or(defaults.max_tokens_per_call);
        let (provider, config) = provider_of(&at.primary, providers, d);
        agent.provider = provider;
        let needs_model = config.as_ref().is_some_and(ProviderConfig::needs_model);
        if agent.model.is_empty() && needs_model {
            let site = at
                .primary
                .at
                .with_field(join(&at.primary.at.field, "model"));
            let message = format!(
                "no model given: using settings.default_model `{}`",
                settings.default_model
            );
            d.warning(&site, message);
            agent.model.clone_from(&settings.default_model);
        }
        let Some(written) = &at.backup else {
            continue;
        };
        let (provider, config) = provider_of(written, providers, d);
        let model = match &written.model {
            Some((model, _)) => model.clone(),
            None if config.as_ref().is_some_and(ProviderConfig::needs_model) => {
                let site = written.at.with_field(join(&written.at.field, "model"));
                d.error(
                    &site,
                    "missing required key `model`: the model to fall back to",
                );
                continue;
            }
            None => String::new(),
        };
        agent.backup = Some(ModelRef { provider, model });
    }
}

/// The name of the provider `written` calls and its configuration (`None` for a name that is
/// neither declared nor implicit).
fn provider_of(
    written: &WrittenModel,
    providers: &mut BTreeMap<String, ProviderConfig>,
    d: &mut Diagnostics,
) -> (String, Option<ProviderConfig>) {
    let name = written
        .provider
        .as_ref()
        .map_or("openai", |(name, _)| name.as_str())
        .to_string();
    let config = providers
        .get(&name)
        .cloned()
        .or_else(|| ProviderConfig::implicit(&name));
    let (Some((url, site)), Some(base)) = (&written.provider_url, &config) else {
        return (name, config);
    };
    let changed = match base {
        ProviderConfig::OpenAi { api_key_env, .. } => {
            let http = url.starts_with("http://") || url.starts_with("https://");
            if !http {
                let shown = crate::redact::url(url);
                d.error(site, format!("`{shown}` is not an http:// or https:// URL"));
                return (name, config);
            }
            ProviderConfig::OpenAi {
                base_url: url.clone(),
                api_key_env: api_key_env.clone(),
            }
        }
        ProviderConfig::Ollama { .. } => {
            // go-agentic takes `localhost:11434` as `http://localhost:11434`.
            let scheme = url.split_once("://").map(|(scheme, _)| scheme);
            if scheme.is_some_and(|s| s != "http" && s != "https") {
                let shown = crate::redact::url(url);
                d.error(site, format!("`{shown}` is not an http:// or https:// URL"));
                return (name, config);
            }
            ProviderConfig::Ollama {
                base_url: Some(url.clone()),
            }
        }
        ProviderConfig::Scripted => {
            let message = format!("ignored: provider `{name}` calls no server");
            d.warning(site, message);
            return (name, config);
        }
    };
    let named = name_for(&name, url, &changed, providers);
    providers.insert(named.clone(), changed.clone());
    (named, Some(changed))
}

/// `ollama@host:port`: what the provider is and where it points, without the credentials or
/// query a URL may hold; numbered when another URL of that host is named so already.
fn name_for(
    provider: &str,
    url: &str,
    config: &ProviderConfig,
    providers: &BTreeMap<String, ProviderConfig>,
) -> String {
    let shown = crate::redact::url(url);
    let after_scheme = shown
        .split_once("://")
        .map_or(shown.as_str(), |(_, rest)| rest);
    let host = after_scheme.split('/').next().unwrap_or_default();
    let base = format!("{provider}@{host}");
    let mut name = base.clone();
    let mut n = 1;
    while providers.get(&name).is_some_and(|taken| taken != config) {
        n += 1;
        name = format!("{base}#{n}");
    }
    name
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_provider_url_names_a_provider_by_host_and_numbers_a_second_url_of_it() {
        let mut providers = BTreeMap::new();
        let ollama = |url: &str| ProviderConfig::Ollama {
            base_url: Some(url.to_string()),
        };
        let first = ollama("http://me:pw@gpu:11434/?token=t");
        let name = name_for(
            "ollama",
            "http://me:pw@gpu:11434/?token=t",
            &first,
            &providers,
        );
        assert_eq!(name, "ollama@gpu:11434");
        providers.insert(name, first.clone());
        // The same URL again is the same provider.
        let again = name_for(
            "ollama",
            "http://me:pw@gpu:11434/?token=t",
            &first,
            &providers,
        );
        assert_eq!(again, "ollama@gpu:11434");
        let other = ollama("http://gpu:11434/other");
        let name = name_for("ollama", "http://gpu:11434/other", &other, &providers);
        assert_eq!(name, "ollama@gpu:11434#2");
    }
}
