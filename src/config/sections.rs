//! Reading the crew-wide sections of a crew file: `settings`, `providers`, `tools` (command
//! tools) and `routing`. Checks that need only the section itself happen here (a literal API
//! key, a tool shadowing a built-in, a program that cannot be found); references between
//! sections are checked in `validate.rs`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::diagnostic::{Diagnostics, Site};
use super::go_agentic;
use super::model::{
    AgentBehavior, CommandToolConfig, ParallelGroup, Price, ProviderConfig, Routing, Settings,
    Signal,
};
use super::node::Node;
use super::read::{Field, MapReader, join};

/// Settings that only fill in what the crew's agents and groups leave out, so the crew model
/// keeps them there, not here.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Defaults {
    /// `max_tokens` of an agent that sets none (go-agentic's `max_tokens_per_call`).
    pub max_tokens_per_call: Option<u32>,
    /// `timeout_seconds` of a parallel group that sets none; else the run's timeout.
    pub parallel_timeout_seconds: Option<u64>,
}

pub(crate) fn read_settings(
    field: Option<Field<'_>>,
    base_dir: &Path,
    d: &mut Diagnostics,
) -> (Settings, Defaults) {
    let mut s = Settings {
        files_root: absolute(base_dir),
        ..Settings::default()
    };
    let mut defaults = Defaults::default();
    let Some(mut map) = field.and_then(|f| f.map(d)) else {
        return (s, defaults);
    };
    macro_rules! set {
        ($key:ident, $read:ident) => {
            if let Some(v) = map.get(stringify!($key)).and_then(|f| f.$read(d)) {
                s.$key = v;
            }
        };
    }
    set!(max_handoffs, u32);
    set!(max_rounds, u32);
    set!(timeout_seconds, u64);
    set!(tool_timeout_seconds, u64);
    set!(scripted_tokens_per_second, non_negative);
    set!(tool_output_limit, usize);
    set!(max_tool_calls_per_turn, u32);
    set!(max_retries, u32);
    set!(connect_timeout_seconds, u64);
    set!(first_token_timeout_seconds, u64);
    set!(stream_idle_timeout_seconds, u64);
    if let Some(f) = map.get("approve")
        && let Some(approval) = read_approval(&f, d)
    {
        s.approve = approval;
    }
    if let Some(f) = map.get("approve_tools") {
        for (name, _, value) in f.named_entries(d) {
            if let Some(approval) = read_approval(&value, d) {
                s.approve_tools.insert(name, approval);
            }
        }
    }
    if let Some(model) = map.get("default_model").and_then(|f| f.required_string(d)) {
        s.default_model = model;
    }
    s.max_tokens = map.get("max_tokens").and_then(|f| f.u64(d));
    s.max_cost_usd = map.get("max_cost_usd").and_then(|f| f.non_negative(d));
    s.agent_budget = super::costs::read_budget(map.get("agent_budget"), d);
    defaults.max_tokens_per_call = map.get("max_tokens_per_call").and_then(|f| f.u32(d));
    defaults.parallel_timeout_seconds = map.get("parallel_timeout_seconds").and_then(|f| f.u64(d));
    // go-agentic's names for what crewtui has under its own: used when crewtui's is absent.
    if let Some(v) = alias(
        &mut map,
        "tool_execution_timeout_seconds",
        "tool_timeout_seconds",
        d,
    )
    .and_then(|f| f.u64(d))
    {
        s.tool_timeout_seconds = v;
    }
    // go-agentic's 0 is Go's "not set": no limit, where crewtui's own 0 is a limit of 0.
    if let Some(f) = alias(&mut map, "max_tokens_per_day", "max_tokens", d) {
        s.max_tokens = f.u64(d).filter(|v| *v > 0);
    }
    if let Some(f) = alias(&mut map, "max_cost_per_day", "max_cost_usd", d) {
        s.max_cost_usd = f.non_negative(d).filter(|v| *v > 0.0);
    }
    let root = map.get("files_root");
    if let Some((root, path)) = root.and_then(|f| Some((f.site(), f.required_string(d)?))) {
        s.files_root = absolute(&base_dir.join(path));
        if !s.files_root.is_dir() {
            let message = format!("directory {} does not exist", s.files_root.display());
            d.warning(&root, message);
        }
    }
    map.no_effect("settings", go_agentic::SETTINGS, d);
    map.finish(d);
    (s, defaults)
}

/// go-agentic's key `theirs`, when the mapping has it and not crewtui's `ours` for the same
/// thing (which then wins, with a warning).
fn alias<'a>(
    map: &mut MapReader<'a>,
    theirs: &str,
    ours: &str,
    d: &mut Diagnostics,
) -> Option<Field<'a>> {
    let field = map.get(theirs)?;
    if map.key_site(ours).is_some() {
        let message = format!("ignored: `{ours}` is given too, and crewtui's own key wins");
        d.warning(&field.site(), message);
        return None;
    }
    Some(field)
}

/// `auto`, `ask` or `deny`, or an error naming the field.
fn read_approval(field: &Field<'_>, d: &mut Diagnostics) -> Option<super::model::Approval> {
    let text = field.required_string(d)?;
    match text.parse() {
        Ok(approval) => Some(approval),
        Err(message) => {
            d.error(&field.site(), message);
            None
        }
    }
}

/// `providers.<name>: {kind, base_url, api_key_env, prices}`; each provider's `prices` go to
/// `prices`, by provider name.
pub(crate) fn read_providers(
    field: Option<Field<'_>>,
    prices: &mut BTreeMap<String, BTreeMap<String, Price>>,
    d: &mut Diagnostics,
) -> BTreeMap<String, ProviderConfig> {
    let mut providers = BTreeMap::new();
    let entries = field.map(|f| f.named_entries(d)).unwrap_or_default();
    for (name, _, value) in entries {
        let Some(mut map) = value.map(d) else {
            // `local:` alone is an OpenAI-compatible provider with every default.
            if matches!(value.node(), Node::Null) {
                let config = ProviderConfig::OpenAi {
                    base_url: ProviderConfig::OPENAI_BASE_URL.to_string(),
                    api_key_env: None,
                };
                providers.insert(name, config);
            }
            continue;
        };
        let kind = map
            .get("kind")
            .and_then(|f| Some((f.required_string(d)?, f.site())));
        let base_url = map.get("base_url").and_then(|f| http_url(&f, d));
        let api_key_env = map.get("api_key_env").and_then(|f| {
            let name = f.required_string(d)?;
            // A key pasted here by mistake must not be echoed, or kept.
            if !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                let message = "expected the name of an environment variable (like \
                               OPENAI_API_KEY), not the key itself";
                d.error(&f.site(), message);
                return None;
            }
            Some((name, f.site()))
        });
        let own_prices = super::costs::read_prices(map.get("prices"), d);
        if !own_prices.is_empty() {
            prices.insert(name.clone(), own_prices);
        }
        if let Some(site) = map.key_site("api_key") {
            map.get("api_key");
            d.error(
                &site,
                "API keys never live in crew files: put the key in an environment variable \
                 and use `api_key_env` to name it",
            );
        }
        map.finish(d);
        // `kind` may be left out: openai is the kind with the most settings.
        let config = match kind.as_ref().map(|(k, site)| (k.as_str(), site)) {
            None | Some(("openai", _)) => ProviderConfig::OpenAi {
                base_url: base_url.unwrap_or_else(|| ProviderConfig::OPENAI_BASE_URL.to_string()),
                api_key_env: api_key_env.map(|(name, _)| name),
            },
            Some(("ollama", _)) => {
                if let Some((_, site)) = api_key_env {
                    d.warning(&site, "ignored: an Ollama server takes no key");
                }
                ProviderConfig::Ollama { base_url }
            }
            Some(("scripted", _)) => ProviderConfig::Scripted,
            Some((other, site)) => {
                d.error(
                    site,
                    format!(
                        "unknown provider kind `{other}`; expected `openai`, `ollama` or `scripted`"
                    ),
                );
                continue;
            }
        };
        providers.insert(name, config);
    }
    providers
}

/// A URL that must be http:// or https://; a wrong one is reported without the credentials or
/// query it may hold.
pub(crate) fn http_url(field: &Field<'_>, d: &mut Diagnostics) -> Option<String> {
    let url = field.required_string(d)?;
    let http = url.starts_with("http://") || url.starts_with("https://");
    if !http {
        let shown = crate::redact::url(&url);
        let message = format!("`{shown}` is not an http:// or https:// URL");
        d.error(&field.site(), message);
    }
    http.then_some(url)
}

/// Where each name in a command tool's `env` was written, by tool name; parallel to the
/// tool's [`CommandToolConfig::env`].
pub(crate) type ToolEnvSites = BTreeMap<String, Vec<Site>>;

/// `tools.<name>: {command, args, description, parameters, timeout_seconds, env}`.
pub(crate) fn read_tools(
    field: Option<Field<'_>>,
    base_dir: &Path,
    d: &mut Diagnostics,
) -> (BTreeMap<String, CommandToolConfig>, ToolEnvSites) {
    let mut tools = BTreeMap::new();
    let mut env_sites = BTreeMap::new();
    let entries = field.map(|f| f.named_entries(d)).unwrap_or_default();
    for (name, key_site, value) in entries {
        if crate::tools::BUILTIN_TOOLS.contains(&name.as_str()) {
            d.error(
                &key_site,
                format!("`{name}` is a built-in tool; give the command tool another name"),
            );
        }
        let Some(mut map) = value.map(d) else {
            if matches!(value.node(), Node::Null) {
                d.error(&key_site, "missing required key `command`");
            }
            continue;
        };
        let command = read_command_tool(&mut map, base_dir, d);
        map.finish(d);
        if let Some((config, sites)) = command {
            env_sites.insert(name.clone(), sites);
            tools.insert(name, config);
        }
    }
    (tools, env_sites)
}

/// The keys of one command tool (`command`, `args`, `description`, `parameters`,
/// `timeout_seconds`, `env`), with where each `env` name was written; `None` when its program
/// cannot be found. Relative programs are found from `base_dir`.
pub(crate) fn read_command_tool(
    map: &mut MapReader<'_>,
    base_dir: &Path,
    d: &mut Diagnostics,
) -> Option<(CommandToolConfig, Vec<Site>)> {
    let command = map.require("command", d).and_then(|f| {
        let command = f.required_string(d)?;
        let found = find_program(&command, base_dir);
        if found.is_none() {
            d.error(&f.site(), format!("program `{command}` not found"));
        }
        found
    });
    // Unlike names, an argument may be empty.
    let args = map
        .get("args")
        .map(|f| f.list(d))
        .unwrap_or_default()
        .iter()
        .filter_map(|arg| arg.string(d))
        .collect();
    let (description, parameters) = read_tool_spec(map, d);
    let timeout_seconds = map.get("timeout_seconds").and_then(|f| f.u64(d));
    let approve = map.get("approve").and_then(|f| read_approval(&f, d));
    let (env, sites): (Vec<_>, Vec<_>) = map
        .get("env")
        .map(|f| f.strings(d))
        .unwrap_or_default()
        .into_iter()
        .filter(|(var, site)| {
            let plain = var.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                && !var.starts_with(|c: char| c.is_ascii_digit());
            if !plain {
                let message = format!(
                    "`{var}` is not the name of an environment variable (letters, digits \
                     and `_`, not starting with a digit)"
                );
                d.error(site, message);
            }
            plain
        })
        .unzip();
    let config = CommandToolConfig {
        description,
        command: command?,
        args,
        parameters,
        timeout_seconds,
        env,
        approve,
    };
    Some((config, sites))
}

/// A tool's `description` and `parameters` (a JSON schema; an object of anything when absent).
pub(crate) fn read_tool_spec(
    map: &mut MapReader<'_>,
    d: &mut Diagnostics,
) -> (String, serde_json::Value) {
    let description = map
        .get("description")
        .and_then(|f| f.string(d))
        .unwrap_or_default();
    let parameters = map
        .get("parameters")
        .and_then(|f| f.map(d).map(|_| f.node().to_json()))
        .unwrap_or_else(|| serde_json::json!({"type": "object"}));
    (description, parameters)
}

/// A command with a `/` is a path from the crew file's directory; a bare name is looked up on
/// PATH (and kept bare: the process is started the same way). `None` when there is no such
/// executable.
fn find_program(command: &str, base_dir: &Path) -> Option<PathBuf> {
    if command.contains('/') {
        let path = absolute(&base_dir.join(command));
        return is_executable(&path).then_some(path);
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .any(|dir| is_executable(&dir.join(command)))
        .then(|| PathBuf::from(command))
}

fn is_executable(path: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        path.metadata()
            .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    }
    #[cfg(not(unix))]
    {
        path.is_file()
    }
}

/// Where each reference in `routing` was written. Vectors run parallel to the model's.
#[derive(Clone, Debug, Default)]
pub(crate) struct RoutingSites {
    /// Per agent id: where the id was written and where each signal's target was.
    pub signals: BTreeMap<String, (Site, Vec<Site>)>,
    pub behaviors: BTreeMap<String, Site>,
    pub groups: BTreeMap<String, GroupSites>,
}

#[derive(Clone, Debug)]
pub(crate) struct GroupSites {
    pub name: Site,
    pub agents: Vec<Site>,
    pub next_agent: Option<Site>,
}

pub(crate) fn read_routing(
    field: Option<Field<'_>>,
    settings: &Settings,
    defaults: Defaults,
    d: &mut Diagnostics,
) -> (Routing, RoutingSites) {
    let mut routing = Routing::default();
    let mut sites = RoutingSites::default();
    let Some(mut map) = field.and_then(|f| f.map(d)) else {
        return (routing, sites);
    };
    let signals = map
        .get("signals")
        .map(|f| f.named_entries(d))
        .unwrap_or_default();
    for (agent, key_site, value) in signals {
        let mut list = Vec::new();
        let mut targets = Vec::new();
        for item in value.list(d) {
            let Some(mut m) = item.map(d) else {
                continue;
            };
            let signal = m.require("signal", d).and_then(|f| f.required_string(d));
            // go-agentic's `target: ""`, `null` or none at all: the signal ends the run.
            let target = match m.get("target") {
                None => Some((String::new(), m.site().with_field(join(m.path(), "target")))),
                Some(f) => match f.node() {
                    Node::Null => Some((String::new(), f.site())),
                    Node::Bool(_)
                    | Node::Int(_)
                    | Node::Float(_)
                    | Node::Str(_)
                    | Node::Seq(_)
                    | Node::Map(_) => f.string(d).map(|t| {
                        let t = if t.trim().is_empty() {
                            String::new()
                        } else {
                            t
                        };
                        (t, f.site())
                    }),
                },
            };
            let description = m
                .get("description")
                .and_then(|f| f.string(d))
                .unwrap_or_default();
            m.finish(d);
            if let (Some(signal), Some((target, site))) = (signal, target) {
                if target.is_empty() {
                    let message = format!(
                        "signal `{signal}` has no target: a reply of `{agent}` that carries it \
                         ends the run (completed), as in go-agentic the team's part is done"
                    );
                    d.warning(&site, message);
                }
                list.push(Signal {
                    signal,
                    target,
                    description,
                });
                targets.push(site);
            }
        }
        routing.signals.insert(agent.clone(), list);
        sites.signals.insert(agent, (key_site, targets));
    }

    let behaviors = map
        .get("agent_behaviors")
        .map(|f| f.named_entries(d))
        .unwrap_or_default();
    for (agent, key_site, value) in behaviors {
        let mut behavior = AgentBehavior::default();
        if let Some(mut m) = value.map(d) {
            let mut flag = |key: &str, d: &mut Diagnostics| {
                m.get(key).and_then(|f| f.bool(d)).unwrap_or(false)
            };
            behavior.wait_for_signal = flag("wait_for_signal", d);
            behavior.is_terminal = flag("is_terminal", d);
            m.no_effect("agent_behaviors", go_agentic::BEHAVIOR, d);
            m.finish(d);
        }
        routing.behaviors.insert(agent.clone(), behavior);
        sites.behaviors.insert(agent, key_site);
    }

    let groups = map
        .get("parallel_groups")
        .map(|f| f.named_entries(d))
        .unwrap_or_default();
    for (name, key_site, value) in groups {
        let Some(mut m) = value.map(d) else {
            if matches!(value.node(), Node::Null) {
                d.error(&key_site, "missing required key `agents`");
            }
            continue;
        };
        let agents_field = m.require("agents", d);
        let (agents, agent_sites): (Vec<_>, Vec<_>) = agents_field
            .as_ref()
            .map(|f| f.strings(d))
            .unwrap_or_default()
            .into_iter()
            .unzip();
        if let Some(f) = &agents_field {
            // An empty list as written; a list whose items were all wrong is reported already.
            let written_empty = match f.node() {
                Node::Seq(items) => items.is_empty(),
                Node::Null => true,
                Node::Bool(_) | Node::Int(_) | Node::Float(_) | Node::Str(_) | Node::Map(_) => {
                    false
                }
            };
            if agents.is_empty() && written_empty {
                d.error(&f.site(), "a parallel group needs at least one agent");
            }
        }
        let wait_for_all = m
            .get("wait_for_all")
            .and_then(|f| f.bool(d))
            .unwrap_or(true);
        let timeout_seconds = m
            .get("timeout_seconds")
            .and_then(|f| f.u64(d))
            .or(defaults.parallel_timeout_seconds)
            .unwrap_or(settings.timeout_seconds);
        // go-agentic's `next_agent: ""` is no next agent, as absent is.
        let next = m.get("next_agent").and_then(|f| {
            let next = f.string(d).filter(|n| !n.trim().is_empty())?;
            Some((next, f.site()))
        });
        m.no_effect("parallel_groups", go_agentic::GROUP, d);
        m.finish(d);
        let (next_agent, next_site) = next.unzip();
        routing.parallel_groups.insert(
            name.clone(),
            ParallelGroup {
                agents,
                wait_for_all,
                timeout_seconds,
                next_agent,
            },
        );
        sites.groups.insert(
            name,
            GroupSites {
                name: key_site,
                agents: agent_sites,
                next_agent: next_site,
            },
        );
    }
    map.no_effect("routing", go_agentic::ROUTING, d);
    map.finish(d);
    (routing, sites)
}

/// An absolute path without touching the file system beyond the current directory.
pub(crate) fn absolute(path: &Path) -> PathBuf {
    let path = if path.as_os_str().is_empty() {
        Path::new(".")
    } else {
        path
    };
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}
