//! Typed reading of YAML nodes: each reader returns the value when the node has the right
//! type and otherwise reports where and why, so one pass over a file finds every problem.
//!
//! A null value (`key:` with nothing after it) reads as absent, as YAML authors expect. Knows
//! nothing about crews; `load.rs` and `agent.rs` say which fields exist.

use std::path::Path;

use serde_saphyr::Spanned;

use super::diagnostic::{Diagnostics, Site};
use super::node::{Node, position};

/// A node together with the file it came from and its field path in the crew, e.g.
/// `agents[2].tools[0]`.
#[derive(Clone)]
pub(crate) struct Field<'a> {
    spanned: &'a Spanned<Node>,
    file: &'a Path,
    pub path: String,
}

impl<'a> Field<'a> {
    pub fn root(spanned: &'a Spanned<Node>, file: &'a Path, path: String) -> Self {
        Field {
            spanned,
            file,
            path,
        }
    }

    pub fn node(&self) -> &'a Node {
        &self.spanned.value
    }

    pub fn site(&self) -> Site {
        let (line, column) = position(self.spanned);
        Site {
            file: self.file.to_path_buf(),
            line,
            column,
            field: self.path.clone(),
        }
    }

    fn wrong_type(&self, d: &mut Diagnostics, expected: &str) {
        d.error(
            &self.site(),
            format!("expected {expected}, found {}", self.node().kind()),
        );
    }

    /// A string; other scalars are taken as their text (`version: 1.0` is fine).
    pub fn string(&self, d: &mut Diagnostics) -> Option<String> {
        match self.node() {
            Node::Null => None,
            Node::Seq(_) | Node::Map(_) => {
                self.wrong_type(d, "a string");
                None
            }
            Node::Bool(_) | Node::Int(_) | Node::Float(_) | Node::Str(_) => {
                self.node().scalar_text()
            }
        }
    }

    /// A string that must be present and not empty.
    pub fn required_string(&self, d: &mut Diagnostics) -> Option<String> {
        match self.string(d) {
            Some(s) if !s.trim().is_empty() => Some(s),
            Some(_) => {
                d.error(&self.site(), "must not be empty");
                None
            }
            None if matches!(self.node(), Node::Null) => {
                d.error(&self.site(), "missing value (required)");
                None
            }
            None => None,
        }
    }

    pub fn bool(&self, d: &mut Diagnostics) -> Option<bool> {
        match self.node() {
            Node::Null => None,
            Node::Bool(b) => Some(*b),
            // The YAML 1.1 spellings go-agentic's parser accepted for boolean fields.
            Node::Str(s) => match s.to_ascii_lowercase().as_str() {
                "yes" | "on" => Some(true),
                "no" | "off" => Some(false),
                _ => {
                    self.wrong_type(d, "a boolean (true or false)");
                    None
                }
            },
            Node::Int(_) | Node::Float(_) | Node::Seq(_) | Node::Map(_) => {
                self.wrong_type(d, "a boolean (true or false)");
                None
            }
        }
    }

    /// A whole number, zero or more.
    pub fn u64(&self, d: &mut Diagnostics) -> Option<u64> {
        match self.node() {
            Node::Null => None,
            Node::Int(i) if *i < 0 => {
                d.error(&self.site(), format!("must not be negative, found {i}"));
                None
            }
            Node::Int(i) => match u64::try_from(*i) {
                Ok(v) => Some(v),
                Err(_) => {
                    d.error(&self.site(), format!("{i} is too large"));
                    None
                }
            },
            Node::Bool(_) | Node::Float(_) | Node::Str(_) | Node::Seq(_) | Node::Map(_) => {
                self.wrong_type(d, "a whole number");
                None
            }
        }
    }

    pub fn u32(&self, d: &mut Diagnostics) -> Option<u32> {
        let v = self.u64(d)?;
        u32::try_from(v)
            .inspect_err(|_| d.error(&self.site(), format!("{v} is too large")))
            .ok()
    }

    pub fn usize(&self, d: &mut Diagnostics) -> Option<usize> {
        let v = self.u64(d)?;
        usize::try_from(v)
            .inspect_err(|_| d.error(&self.site(), format!("{v} is too large")))
            .ok()
    }

    /// A number, zero or more; integers are fine where a fraction is allowed.
    pub fn non_negative(&self, d: &mut Diagnostics) -> Option<f64> {
        let v = match self.node() {
            Node::Null => return None,
            Node::Int(i) => *i as f64,
            Node::Float(f) => *f,
            Node::Bool(_) | Node::Str(_) | Node::Seq(_) | Node::Map(_) => {
                self.wrong_type(d, "a number");
                return None;
            }
        };
        if v < 0.0 {
            d.error(&self.site(), format!("must not be negative, found {v}"));
            return None;
        }
        Some(v)
    }

    /// The items of a list, each with its index in the path.
    pub fn list(&self, d: &mut Diagnostics) -> Vec<Field<'a>> {
        match self.node() {
            Node::Null => Vec::new(),
            Node::Seq(items) => items
                .iter()
                .enumerate()
                .map(|(i, node)| self.child(node, format!("{}[{i}]", self.path)))
                .collect(),
            Node::Bool(_) | Node::Int(_) | Node::Float(_) | Node::Str(_) | Node::Map(_) => {
                self.wrong_type(d, "a list");
                Vec::new()
            }
        }
    }

    /// A list of strings (ids, tool names, arguments), each with where it was written.
    pub fn strings(&self, d: &mut Diagnostics) -> Vec<(String, Site)> {
        self.list(d)
            .into_iter()
            .filter_map(|item| Some((item.required_string(d)?, item.site())))
            .collect()
    }

    /// A mapping whose keys are read by name; `None` when absent or of another type.
    pub fn map(&self, d: &mut Diagnostics) -> Option<MapReader<'a>> {
        match self.node() {
            Node::Null => None,
            Node::Map(entries) => Some(MapReader {
                at: self.clone(),
                entries,
                used: vec![false; entries.len()],
            }),
            Node::Bool(_) | Node::Int(_) | Node::Float(_) | Node::Str(_) | Node::Seq(_) => {
                self.wrong_type(d, "a mapping");
                None
            }
        }
    }

    /// A mapping keyed by names the crew chooses (agent ids, group and tool names): each
    /// entry's name, where the name was written, and its value.
    pub fn named_entries(&self, d: &mut Diagnostics) -> Vec<(String, Site, Field<'a>)> {
        let Some(reader) = self.map(d) else {
            return Vec::new();
        };
        reader
            .entries
            .iter()
            .filter_map(|(key, node)| {
                let key_field = self.child(key, self.path.clone());
                let Some(name) = key.value.scalar_text() else {
                    key_field.wrong_type(d, "a name");
                    return None;
                };
                let value = self.child(node, join(&self.path, &name));
                let key_site = key_field.site().with_field(value.path.clone());
                Some((name, key_site, value))
            })
            .collect()
    }

    fn child(&self, spanned: &'a Spanned<Node>, path: String) -> Field<'a> {
        Field::root(spanned, self.file, path)
    }
}

/// A mapping with fixed keys. Keys never asked for are reported as unknown by
/// [`MapReader::finish`]; they are warnings, so files written for go-agentic still load.
pub(crate) struct MapReader<'a> {
    at: Field<'a>,
    entries: &'a [(Spanned<Node>, Spanned<Node>)],
    used: Vec<bool>,
}

impl<'a> MapReader<'a> {
    /// Where the mapping starts, for problems with keys it lacks.
    pub fn site(&self) -> Site {
        self.at.site()
    }

    pub fn path(&self) -> &str {
        &self.at.path
    }

    /// The value of `key`, if the mapping has it.
    pub fn get(&mut self, key: &str) -> Option<Field<'a>> {
        let index = self
            .entries
            .iter()
            .position(|(k, _)| matches!(&k.value, Node::Str(s) if s == key))?;
        self.used[index] = true;
        let (_, node) = &self.entries[index];
        Some(self.at.child(node, join(&self.at.path, key)))
    }

    /// Where `key` itself is written (not its value), if the mapping has it.
    pub fn key_site(&self, key: &str) -> Option<Site> {
        self.entries
            .iter()
            .find(|(k, _)| matches!(&k.value, Node::Str(s) if s == key))
            .map(|(k, _)| self.at.child(k, join(&self.at.path, key)).site())
    }

    /// The value of a key that must be there: a missing key is reported at the mapping.
    pub fn require(&mut self, key: &str, d: &mut Diagnostics) -> Option<Field<'a>> {
        let field = self.get(key);
        if field.is_none() {
            let site = self.site().with_field(join(&self.at.path, key));
            d.error(&site, format!("missing required key `{key}`"));
        }
        field
    }

    /// Takes the go-agentic keys of `section` (see `go_agentic.rs`) that this mapping has, each
    /// said once as having no effect, so that they are not unknown keys.
    pub fn no_effect(&mut self, section: &'static str, keys: &[&str], d: &mut Diagnostics) {
        for key in keys {
            if let Some(site) = self.key_site(key) {
                self.get(key);
                d.no_effect(&site, section, key);
            }
        }
    }

    /// Warn about every key that was never asked for.
    pub fn finish(self, d: &mut Diagnostics) {
        for ((key, _), used) in self.entries.iter().zip(self.used) {
            if used {
                continue;
            }
            let name = key.value.scalar_text().unwrap_or_else(|| "?".to_string());
            let site = self.at.child(key, join(&self.at.path, &name)).site();
            d.warning(&site, format!("unknown key `{name}` (ignored)"));
        }
    }
}

/// `parent.key`, or just `key` at the top level.
pub(crate) fn join(parent: &str, key: &str) -> String {
    if parent.is_empty() {
        key.to_string()
    } else {
        format!("{parent}.{key}")
    }
}
