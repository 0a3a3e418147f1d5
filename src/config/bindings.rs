//! Tool bindings: how a crew's tools that crewtui does not have are run, chosen without
//! editing the crew. A go-agentic crew lists tools that are Go functions of its host program
//! (`GetCPUUsage`); a bindings file maps each such name to a command tool (a program, run as
//! the crew's own command tools are) or to scripted results, with the description and JSON
//! schema the model is shown.
//!
//! ```yaml
//! tools:
//!   GetCPUUsage: {command: ./cpu.sh, description: CPU use in percent, parameters: {type: object}}
//!   GetDiskSpace: {results: ["/ 41% used", "/ 42% used"]}   # one per call, in order
//!   PingHost: {result: "reachable"}                         # every call
//! ```
//!
//! The file is `NAME.tools.yaml` beside the crew file (`crew.tools.yaml` beside `crew.yaml`),
//! or the one `--tools FILE` names. [`skeleton`] writes one for the tools still unbound.

use std::path::{Path, PathBuf};

use super::diagnostic::Diagnostics;
use super::fingerprint::Fingerprint;
use super::load::{Loaded, parse_into, read_text};
use super::model::{ScriptedResults, ScriptedToolConfig};
use super::node::Node;
use super::read::{Field, MapReader};
use super::sections::{read_command_tool, read_tool_spec};

/// A tool the crew's agents list that nothing provides: no built-in, no command tool of the
/// crew, no binding.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnboundTool {
    pub name: String,
    /// The agents that list it, in crew order.
    pub agents: Vec<String>,
}

/// The bindings file that goes with `crew_file`: `crew.tools.yaml` beside `crew.yaml`.
pub(crate) fn beside(crew_file: &Path) -> Option<PathBuf> {
    let stem = crew_file.file_stem()?.to_string_lossy();
    Some(crew_file.with_file_name(format!("{stem}.tools.yaml")))
}

/// Reads the bindings file at `path` into the crew: bound commands join its command tools,
/// scripted results its scripted tools. Relative programs are found from the file's directory.
pub(crate) fn apply(
    path: &Path,
    loaded: &mut Loaded,
    fingerprint: &mut Fingerprint,
    d: &mut Diagnostics,
) {
    loaded.sites.bindings = Some(path.to_path_buf());
    let Some(text) = read_text(path, d) else {
        return;
    };
    fingerprint.add("bindings".to_string(), text.as_bytes());
    let Some(root) = parse_into(&text, path, d) else {
        return;
    };
    let top = Field::root(&root, path, String::new());
    let Some(mut map) = top.map(d) else {
        return;
    };
    let base_dir = path.parent().unwrap_or(Path::new(""));
    let tools = map.require("tools", d);
    map.finish(d);
    let crew = &mut loaded.crew;
    let listed = |name: &str| crew_lists(&crew.agents, name);
    let mut bound = Vec::new();
    for (name, key_site, value) in tools.map(|f| f.named_entries(d)).unwrap_or_default() {
        if crate::tools::BUILTIN_TOOLS.contains(&name.as_str()) {
            let message = format!("`{name}` is a built-in tool; a binding cannot replace it");
            d.error(&key_site, message);
            continue;
        }
        if crew.tools.contains_key(&name) {
            let message = format!(
                "`{name}` is a command tool of the crew's own `tools`; a binding cannot \
                 replace it"
            );
            d.error(&key_site, message);
            continue;
        }
        if !listed(&name) {
            let message = format!("ignored: no agent of the crew lists tool `{name}`");
            d.warning(&key_site, message);
            continue;
        }
        let Some(mut entry) = value.map(d) else {
            if matches!(value.node(), Node::Null) {
                let message = "expected `command`, `results` or `result`";
                d.error(&key_site, message);
            }
            continue;
        };
        let binding = read_binding(&mut entry, base_dir, d);
        entry.finish(d);
        if let Some(binding) = binding {
            bound.push((name, binding));
        }
    }
    for (name, binding) in bound {
        match binding {
            Binding::Command(config, sites) => {
                loaded.sites.tool_env.insert(name.clone(), sites);
                crew.tools.insert(name, config);
            }
            Binding::Scripted(config) => {
                crew.scripted_tools.insert(name, config);
            }
        }
    }
}

fn crew_lists(agents: &[super::model::Agent], name: &str) -> bool {
    agents.iter().any(|a| a.tools.iter().any(|t| t == name))
}

enum Binding {
    Command(
        super::model::CommandToolConfig,
        Vec<super::diagnostic::Site>,
    ),
    Scripted(ScriptedToolConfig),
}

/// One binding: `command` (with the keys of a command tool), or `results` / `result`.
fn read_binding(
    entry: &mut MapReader<'_>,
    base_dir: &Path,
    d: &mut Diagnostics,
) -> Option<Binding> {
    let kinds = ["command", "results", "result"];
    let given: Vec<&str> = kinds
        .into_iter()
        .filter(|key| entry.key_site(key).is_some())
        .collect();
    match given.as_slice() {
        ["command"] => {
            let (config, sites) = read_command_tool(entry, base_dir, d)?;
            Some(Binding::Command(config, sites))
        }
        [one @ ("results" | "result")] => {
            let field = entry.get(one)?;
            let results = if *one == "results" {
                let items = field.list(d);
                if items.is_empty() && matches!(field.node(), Node::Seq(_) | Node::Null) {
                    d.error(&field.site(), "needs at least one result");
                    return None;
                }
                ScriptedResults::InOrder(items.iter().map(result_text).collect())
            } else {
                ScriptedResults::Fixed(result_text(&field))
            };
            let (description, parameters) = read_tool_spec(entry, d);
            Some(Binding::Scripted(ScriptedToolConfig {
                description,
                parameters,
                results,
            }))
        }
        [] => {
            let message = "expected `command` (a program to run), `results` (one per call, in \
                           order) or `result` (the same for every call)";
            d.error(&entry.site(), message);
            None
        }
        _ => {
            let message = format!(
                "expected one of `command`, `results` and `result`, found {}",
                given.join(" and ")
            );
            d.error(&entry.site(), message);
            for key in given {
                entry.get(key);
            }
            None
        }
    }
}

/// A result as the model gets it: a scalar as its text, a list or mapping as JSON.
fn result_text(field: &Field<'_>) -> String {
    match field.node() {
        Node::Null => String::new(),
        Node::Bool(_) | Node::Int(_) | Node::Float(_) | Node::Str(_) => {
            field.node().scalar_text().unwrap_or_default()
        }
        Node::Seq(_) | Node::Map(_) => field.node().to_json().to_string(),
    }
}

/// A bindings file for `unbound`, ready to edit: each tool bound to a stand-in result, with
/// the other ways to bind it said in comments, so that it loads as it is. `file` is where it
/// would be found without `--tools`.
pub fn skeleton(crew: &str, unbound: &[UnboundTool], file: Option<&Path>) -> String {
    use crate::text::visible_line;
    let mut out = String::new();
    let crew = visible_line(crew);
    out.push_str(&format!(
        "# Tool bindings for crew `{crew}` (crewtui): the tools its agents list that crewtui\n\
         # does not have, each bound to a stand-in result. Bind each one to\n\
         #   command: ./script.sh    a program: the call's JSON arguments on stdin, its stdout\n\
         #   args: [--flag]          the result (it runs like the crew's own command tools)\n\
         #   results: [one, two]     one result per call, in order\n\
         #   result: always this     the same result for every call\n\
         # and describe its arguments as a JSON schema under `parameters`, for the model.\n"
    ));
    match file {
        Some(file) => {
            let shown = file.display().to_string();
            let shown = visible_line(&shown);
            out.push_str(&format!(
                "# Saved as {shown} it is used by itself; elsewhere, pass --tools FILE.\n"
            ));
        }
        None => out.push_str("# Pass it with --tools FILE.\n"),
    }
    out.push_str("tools:\n");
    for tool in unbound {
        let agents: Vec<String> = tool
            .agents
            .iter()
            .map(|a| visible_line(a).into_owned())
            .collect();
        let name = quoted(&tool.name);
        out.push_str(&format!("  {name}:    # listed by {}\n", agents.join(", ")));
        out.push_str(&format!("    description: {}\n", quoted(&tool.name)));
        out.push_str("    parameters: {type: object, properties: {}}\n");
        let stand_in = format!(
            "{} is not bound to anything yet (a stand-in result)",
            tool.name
        );
        out.push_str(&format!("    result: {}\n", quoted(&stand_in)));
    }
    out
}

/// `text` as a YAML double-quoted scalar that reads back as itself, with every control
/// character escaped: the skeleton is printed, and names come from crew files.
fn quoted(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_quoted_name_reads_back_as_itself_with_no_control_character_printed() {
        let name = "Get\u{1b}]0;x\u{7}\u{9b}\"CPU\\\"";
        let text = quoted(name);
        assert!(!text.chars().any(char::is_control), "{text}");
        let back = super::super::node::parse(&text).unwrap();
        assert_eq!(back.value, Node::Str(name.to_string()));
    }
}
