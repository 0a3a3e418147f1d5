//! From a path or a text to a crew model: reading files, both layouts (one YAML file with the
//! agents inline, or go-agentic's directory of `crew.yaml` plus the files of `agents/`, known
//! by the ids inside them), the tool bindings file beside the crew, and the top level of a
//! crew document.
//!
//! Loading keeps going past problems, filling in defaults, so that one run reports all of
//! them; the places of all references are kept in [`Sites`] for `validate.rs`.

use std::collections::BTreeSet;
use std::fs;
use std::path::Path;

use serde_saphyr::Spanned;

use super::agent::{AgentSites, read_agent};
use super::agent_files::{AgentFiles, Found, Missing};
use super::diagnostic::{Diagnostics, Site};
use super::fingerprint::Fingerprint;
use super::model::{Crew, Origin, Prices};
use super::node::{Node, parse};
use super::read::Field;
use super::sections::{
    RoutingSites, ToolEnvSites, read_providers, read_routing, read_settings, read_tools,
};
use super::{bindings, go_agentic, models};

/// Bigger files are refused rather than read: no crew needs them, and everything is bounded.
/// Anything but a regular file (a FIFO, a device) is refused before it is opened.
const MAX_FILE_BYTES: u64 = 4 * 1024 * 1024;

/// A crew as read, before cross-references are checked.
pub(crate) struct Loaded {
    pub crew: Crew,
    pub sites: Sites,
}

/// Where the parts of a crew that others refer to were written.
pub(crate) struct Sites {
    /// Where to report a crew without agents: the `agents` value, or the document's start
    /// when there is none. `None` when the emptiness was already reported as a wrong type.
    pub agents: Option<Site>,
    /// Agents listed in `crew.yaml` whose file could not be read; references to them are not
    /// reported again.
    pub unloaded: BTreeSet<String>,
    pub entry_point: Option<Site>,
    /// Parallel to [`Crew::agents`].
    pub agent: Vec<AgentSites>,
    pub routing: RoutingSites,
    pub tool_env: ToolEnvSites,
    /// The tool bindings file read, or where one would be found.
    pub bindings: Option<std::path::PathBuf>,
}

/// Load a crew file, or a go-agentic directory holding `crew.yaml` (or `config/crew.yaml`, as
/// go-agentic's examples keep it), with the tool bindings of `tools`, else of the bindings file
/// beside the crew file when there is one.
pub(crate) fn load_path(path: &Path, tools: Option<&Path>, d: &mut Diagnostics) -> Option<Loaded> {
    let metadata = fs::metadata(path)
        .inspect_err(|err| d.file_error(path, 0, 0, format!("cannot read: {err}")))
        .ok()?;
    let (file, default_name) = if metadata.is_dir() {
        let candidates = [
            "crew.yaml",
            "crew.yml",
            "config/crew.yaml",
            "config/crew.yml",
        ];
        // Whatever is there by that name is taken: reading it says if it is not a file.
        let Some(file) = candidates
            .map(|name| path.join(name))
            .into_iter()
            .find(|file| file.exists())
        else {
            let message = "no crew.yaml in this directory (nor in its config/)".to_string();
            d.file_error(path, 0, 0, message);
            return None;
        };
        (file, name_of(path))
    } else {
        let stem = path.file_stem().map(|s| s.to_string_lossy().into_owned());
        // `dir/crew.yaml` given directly is still named after its directory.
        let name = match stem {
            Some(stem) if stem != "crew" => stem,
            Some(_) | None => path.parent().map(name_of).unwrap_or_default(),
        };
        (path.to_path_buf(), name)
    };
    let base_dir = file.parent().unwrap_or(Path::new("")).to_path_buf();
    let text = read_text(&file, d)?;
    let mut files = Fingerprint::default();
    // Named by no name of its own: a crew file moved or renamed is not edited.
    files.add(String::new(), text.as_bytes());
    let root = parse_into(&text, &file, d)?;
    let agent_dir = base_dir.join("agents");
    let agents = Some((agent_dir.as_path(), &mut files));
    let mut loaded = read_crew(&root, &file, &base_dir, agents, default_name, d);
    let beside = bindings::beside(&file);
    let bindings_file = tools
        .map(Path::to_path_buf)
        .or(beside.filter(|p| p.exists()));
    match &bindings_file {
        Some(bindings_file) => bindings::apply(bindings_file, &mut loaded, &mut files, d),
        None => loaded.sites.bindings = bindings::beside(&file),
    }
    loaded.crew.origin = Some(Origin {
        path: super::sections::absolute(path),
        hash: files.hex(),
    });
    Some(loaded)
}

/// Load a crew from text in memory; agents must be inline.
pub(crate) fn load_text(
    text: &str,
    file: &Path,
    base_dir: &Path,
    d: &mut Diagnostics,
) -> Option<Loaded> {
    let root = parse_into(text, file, d)?;
    let name = file
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    Some(read_crew(&root, file, base_dir, None, name, d))
}

fn name_of(dir: &Path) -> String {
    let dir = super::sections::absolute(dir);
    dir.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

pub(super) fn read_text(file: &Path, d: &mut Diagnostics) -> Option<String> {
    let bytes = match crate::files::read_bounded(file, MAX_FILE_BYTES) {
        Ok(bytes) => bytes,
        Err(err) => {
            d.file_error(file, 0, 0, format!("cannot read: {err}"));
            return None;
        }
    };
    match String::from_utf8(bytes) {
        Ok(text) => Some(text),
        Err(err) => {
            let valid = &err.as_bytes()[..err.utf8_error().valid_up_to()];
            // Valid up to here, so the lossy conversion changes nothing.
            let before = String::from_utf8_lossy(valid);
            let line = before.matches('\n').count() + 1;
            let column = before.rsplit('\n').next().unwrap_or("").chars().count() + 1;
            let (line, column) = (clamp(line), clamp(column));
            d.file_error(file, line, column, "not valid UTF-8".to_string());
            None
        }
    }
}

fn clamp(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

pub(super) fn parse_into(text: &str, file: &Path, d: &mut Diagnostics) -> Option<Spanned<Node>> {
    parse(text)
        .inspect_err(|e| d.file_error(file, e.line, e.column, e.message.clone()))
        .ok()
}

/// The top level of a crew document. `agent_dir` is where ids listed in `agents` are looked
/// up, with the fingerprint each file used is added to; without it, agents must be inline.
fn read_crew(
    root: &Spanned<Node>,
    file: &Path,
    base_dir: &Path,
    mut agent_dir: Option<(&Path, &mut Fingerprint)>,
    default_name: String,
    d: &mut Diagnostics,
) -> Loaded {
    let top = Field::root(root, file, String::new());
    let mut map = top.map(d);
    let mut get = |key: &str| map.as_mut().and_then(|m| m.get(key));

    let (settings, defaults) = read_settings(get("settings"), base_dir, d);
    let mut prices = Prices::default();
    let mut providers = read_providers(get("providers"), &mut prices.providers, d);
    prices.models = super::costs::read_prices(get("prices"), d);
    let (tools, tool_env) = read_tools(get("tools"), base_dir, d);

    let agents_field = get("agents");
    // A crew is empty as written; when the document or `agents` has the wrong type, or every
    // agent in it was wrong, that was reported already.
    let written_empty = match agents_field.as_ref().map(Field::node) {
        None | Some(Node::Null) => true,
        Some(Node::Seq(items)) => items.is_empty(),
        Some(Node::Bool(_) | Node::Int(_) | Node::Float(_) | Node::Str(_) | Node::Map(_)) => false,
    };
    let agents_site =
        (written_empty && matches!(top.node(), Node::Map(_) | Node::Null)).then(|| {
            let at_top = || top.site().with_field("agents".into());
            agents_field.as_ref().map_or_else(at_top, Field::site)
        });
    let mut agents = Vec::new();
    let mut agent_sites = Vec::new();
    let mut listed = BTreeSet::new();
    let mut unloaded = BTreeSet::new();
    // Read when the first id needs it.
    let mut agent_files: Option<AgentFiles> = None;
    for item in agents_field.map(|f| f.list(d)).unwrap_or_default() {
        let read = match item.node() {
            Node::Map(_) => read_agent(&item, None, d),
            Node::Str(_) | Node::Int(_) | Node::Float(_) | Node::Bool(_) => {
                let Some((dir, files)) = agent_dir.as_mut() else {
                    let message = "an agent id here needs the directory layout (crew.yaml \
                                   and agents/ID.yaml); write the agent's mapping instead";
                    d.error(&item.site(), message);
                    continue;
                };
                let Some(id) = item.required_string(d) else {
                    continue;
                };
                if !listed.insert(id.clone()) {
                    d.error(&item.site(), format!("duplicate agent id `{id}`"));
                    continue;
                }
                let found = agent_files
                    .get_or_insert_with(|| AgentFiles::scan(dir, read_text, parse_into, d));
                let read = read_agent_file(found, &id, &item, files, d);
                if read.is_none() {
                    unloaded.insert(id);
                }
                read
            }
            Node::Null | Node::Seq(_) => {
                let found = item.node().kind();
                d.error(
                    &item.site(),
                    format!("expected an agent (a mapping, or an id), found {found}"),
                );
                continue;
            }
        };
        if let Some((agent, sites)) = read {
            agents.push(agent);
            agent_sites.push(sites);
        }
    }

    let (routing, routing_sites) = read_routing(get("routing"), &settings, defaults, d);
    models::resolve(
        &mut agents,
        &agent_sites,
        &mut providers,
        &settings,
        defaults,
        d,
    );
    super::costs::agent_prices(&agents, &agent_sites, &mut prices, d);
    let name = get("name")
        .and_then(|f| f.string(d))
        .unwrap_or(default_name);
    let description = get("description")
        .and_then(|f| f.string(d))
        .unwrap_or_default();
    let input = get("input").and_then(|f| f.string(d));
    let entry = get("entry_point").and_then(|f| Some((f.required_string(d)?, f.site())));
    if let Some(mut map) = map {
        map.no_effect("crew", go_agentic::CREW, d);
        map.finish(d);
    }
    let (entry_point, entry_site) = match entry {
        Some((id, site)) => (id, Some(site)),
        None => (
            agents.first().map(|a| a.id.clone()).unwrap_or_default(),
            None,
        ),
    };

    let crew = Crew {
        name,
        description,
        source: file.to_path_buf(),
        entry_point,
        input,
        agents,
        settings,
        routing,
        providers,
        tools,
        scripted_tools: Default::default(),
        prices,
        origin: None,
    };
    let sites = Sites {
        agents: agents_site,
        unloaded,
        entry_point: entry_site,
        agent: agent_sites,
        routing: routing_sites,
        tool_env,
        bindings: None,
    };
    Loaded { crew, sites }
}

/// The go-agentic agent file whose `id` is `id`; problems in it are reported against that
/// file, a missing one at the id in `crew.yaml`.
fn read_agent_file(
    files: &AgentFiles,
    id: &str,
    item: &Field<'_>,
    fingerprint: &mut Fingerprint,
    d: &mut Diagnostics,
) -> Option<(super::model::Agent, AgentSites)> {
    let site = item.site();
    let file = match files.find(id) {
        Found::One(file) => file,
        Found::Many(found) => {
            let names: Vec<String> = found.iter().map(|f| format!("agents/{}", f.name)).collect();
            let message = format!(
                "agent `{id}` is defined by more than one file: {}; keep one",
                names.join(" and ")
            );
            d.error(&site, message);
            return None;
        }
        Found::Missing(missing) => {
            let message = match missing {
                Missing::NoDirectory(err) => {
                    format!("agent `{id}` not found: cannot read agents/ beside crew.yaml: {err}")
                }
                // Its own error says why.
                Missing::Unreadable => return None,
                Missing::Nowhere { named, unreadable } => {
                    let mut message =
                        format!("agent `{id}` not found: no file in agents/ has `id: {id}`");
                    if let Some((name, holds)) = named {
                        message.push_str(&format!(" (agents/{name} has `id: {holds}`)"));
                    }
                    if unreadable > 0 {
                        message.push_str(&format!(
                            "; {unreadable} file(s) there could not be read, see above"
                        ));
                    }
                    message
                }
            };
            d.error(&site, message);
            return None;
        }
    };
    fingerprint.add(format!("agents/{}", file.name), file.text.as_bytes());
    let field = Field::root(&file.root, &file.path, item.path.clone());
    read_agent(&field, Some((id, &site)), d)
}
