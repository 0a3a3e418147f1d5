//! go-agentic's `agents/` directory: every YAML file in it, read once and known by the `id`
//! written inside it, as go-agentic's loader knows them. A file without an `id` is known by its
//! name (`writer.yaml` is agent `writer`), as crewtui always allowed.
//!
//! A file that cannot be read or parsed (a FIFO or a device by such a name included) is
//! reported as it is found; two files with one id are reported by the agent that needs them.
//! The directory is bounded in files and bytes.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use serde_saphyr::Spanned;

use super::diagnostic::Diagnostics;
use super::node::Node;

/// Files past this many (by name) are not read: no crew has that many agents.
const MAX_FILES: usize = 1000;
/// Bytes of agent files read in all; each file is bounded on its own as well.
const MAX_BYTES: u64 = 64 * 1024 * 1024;

/// One parsed file of `agents/`.
pub(crate) struct AgentFile {
    pub path: PathBuf,
    /// The file's name in `agents/`, e.g. `01-triage.yaml`.
    pub name: String,
    pub text: String,
    pub root: Spanned<Node>,
}

/// What became of looking an agent up by its id.
pub(crate) enum Found<'a> {
    One(&'a AgentFile),
    /// Two or more files hold this id: none of them is taken.
    Many(Vec<&'a AgentFile>),
    Missing(Missing),
}

/// Why no file was found, for the message.
pub(crate) enum Missing {
    /// `agents/` itself could not be listed.
    NoDirectory(String),
    /// A file named after the id could not be read; that was reported already.
    Unreadable,
    /// Nothing read holds the id; `named` is a file named after it that holds another id, and
    /// `unreadable` how many files could not be read (one of them may be it).
    Nowhere {
        named: Option<(String, String)>,
        unreadable: usize,
    },
}

pub(crate) struct AgentFiles {
    files: Vec<AgentFile>,
    by_id: BTreeMap<String, Vec<usize>>,
    /// Names of the files that were found but could not be read or parsed.
    unreadable: Vec<String>,
    /// Why the directory could not be listed.
    no_directory: Option<String>,
}

impl AgentFiles {
    /// Reads every `*.yaml` and `*.yml` in `dir` (hidden files aside), in name order.
    pub fn scan(
        dir: &Path,
        read: impl Fn(&Path, &mut Diagnostics) -> Option<String>,
        parse: impl Fn(&str, &Path, &mut Diagnostics) -> Option<Spanned<Node>>,
        d: &mut Diagnostics,
    ) -> Self {
        let mut files = AgentFiles {
            files: Vec::new(),
            by_id: BTreeMap::new(),
            unreadable: Vec::new(),
            no_directory: None,
        };
        let entries = match fs::read_dir(dir) {
            Ok(entries) => entries,
            Err(err) => {
                files.no_directory = Some(err.to_string());
                return files;
            }
        };
        let mut names: Vec<String> = entries
            .filter_map(Result::ok)
            .filter_map(|entry| entry.file_name().into_string().ok())
            // Anything by such a name is read, and reading says if it is not a regular file.
            .filter(|name| {
                !name.starts_with('.') && (name.ends_with(".yaml") || name.ends_with(".yml"))
            })
            .collect();
        names.sort_unstable();
        if names.len() > MAX_FILES {
            let message = format!(
                "agents/ holds {} YAML files; only the first {MAX_FILES} by name are read",
                names.len()
            );
            d.file_error(dir, 0, 0, message);
            names.truncate(MAX_FILES);
        }
        let mut bytes = 0u64;
        for name in names {
            let path = dir.join(&name);
            bytes = bytes.saturating_add(fs::metadata(&path).map_or(0, |m| m.len()));
            if bytes > MAX_BYTES {
                let message = format!(
                    "agents/ holds more than {} MiB of YAML; {name} and the files after it \
                     are not read",
                    MAX_BYTES >> 20
                );
                d.file_error(dir, 0, 0, message);
                break;
            }
            let Some((text, root)) = read(&path, d).and_then(|text| {
                let root = parse(&text, &path, d)?;
                Some((text, root))
            }) else {
                files.unreadable.push(name);
                continue;
            };
            let id = written_id(&root.value).unwrap_or_else(|| stem(&name).to_string());
            files.by_id.entry(id).or_default().push(files.files.len());
            files.files.push(AgentFile {
                path,
                name,
                text,
                root,
            });
        }
        files
    }

    pub fn find(&self, id: &str) -> Found<'_> {
        match self.by_id.get(id).map(Vec::as_slice) {
            Some([one]) => Found::One(&self.files[*one]),
            Some(many @ [_, _, ..]) => Found::Many(many.iter().map(|&i| &self.files[i]).collect()),
            Some([]) | None => Found::Missing(self.missing(id)),
        }
    }

    fn missing(&self, id: &str) -> Missing {
        if let Some(err) = &self.no_directory {
            return Missing::NoDirectory(err.clone());
        }
        if self.unreadable.iter().any(|name| stem(name) == id) {
            return Missing::Unreadable;
        }
        let named = self.files.iter().find(|f| stem(&f.name) == id).map(|f| {
            let holds = written_id(&f.root.value).unwrap_or_default();
            (f.name.clone(), holds)
        });
        Missing::Nowhere {
            named,
            unreadable: self.unreadable.len(),
        }
    }
}

/// The file name without `.yaml` / `.yml`.
fn stem(name: &str) -> &str {
    name.strip_suffix(".yaml")
        .or_else(|| name.strip_suffix(".yml"))
        .unwrap_or(name)
}

/// The `id` a file's top-level mapping names, when it names one.
fn written_id(root: &Node) -> Option<String> {
    let Node::Map(entries) = root else {
        return None;
    };
    entries
        .iter()
        .find(|(key, _)| matches!(&key.value, Node::Str(k) if k == "id"))
        .and_then(|(_, value)| value.value.scalar_text())
        .filter(|id| !id.trim().is_empty())
}
