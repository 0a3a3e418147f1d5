//! The YAML tree a crew file is parsed into before it is read into the model.
//!
//! Parsing goes through serde-saphyr into a plain tree of [`Node`]s in which every value and
//! every mapping key keeps its line and column, so the reader in `load.rs` can point at the
//! exact place of each problem. Nothing here knows about crews.

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_saphyr::Spanned;
use serde_saphyr::budget::BudgetBreach;

/// A YAML value with the position of every part of it.
#[derive(Clone, Debug, PartialEq)]
pub enum Node {
    Null,
    Bool(bool),
    /// Wide enough for every integer YAML can spell as i64 or u64.
    Int(i128),
    Float(f64),
    Str(String),
    Seq(Vec<Spanned<Node>>),
    /// Entries in file order; the parser has already rejected duplicate keys.
    Map(Vec<(Spanned<Node>, Spanned<Node>)>),
}

impl Node {
    /// What the value is, in the words an error message uses ("expected a list, found ...").
    pub fn kind(&self) -> &'static str {
        match self {
            Node::Null => "nothing (null)",
            Node::Bool(_) => "a boolean",
            Node::Int(_) => "an integer",
            Node::Float(_) => "a decimal number",
            Node::Str(_) => "a string",
            Node::Seq(_) => "a list",
            Node::Map(_) => "a mapping",
        }
    }

    /// The text of a scalar as a string field would take it; `None` for null and collections.
    pub fn scalar_text(&self) -> Option<String> {
        match self {
            Node::Bool(b) => Some(b.to_string()),
            Node::Int(i) => Some(i.to_string()),
            Node::Float(f) => Some(f.to_string()),
            Node::Str(s) => Some(s.clone()),
            Node::Null | Node::Seq(_) | Node::Map(_) => None,
        }
    }

    /// The value as JSON (tool arguments, parameter schemas). Mapping keys become their text.
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value;
        match self {
            Node::Null => Value::Null,
            Node::Bool(b) => Value::Bool(*b),
            Node::Int(i) => {
                if let Ok(v) = i64::try_from(*i) {
                    Value::from(v)
                } else if let Ok(v) = u64::try_from(*i) {
                    Value::from(v)
                } else {
                    // Only reachable for integers outside both ranges; a float keeps the
                    // magnitude.
                    Value::from(*i as f64)
                }
            }
            // Non-finite floats never get here: the parser rejects them in untyped values.
            Node::Float(f) => serde_json::Number::from_f64(*f).map_or(Value::Null, Value::Number),
            Node::Str(s) => Value::String(s.clone()),
            Node::Seq(items) => Value::Array(items.iter().map(|i| i.value.to_json()).collect()),
            Node::Map(entries) => Value::Object(
                entries
                    .iter()
                    .map(|(k, v)| (k.value.scalar_text().unwrap_or_default(), v.value.to_json()))
                    .collect(),
            ),
        }
    }
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(NodeVisitor)
    }
}

struct NodeVisitor;

impl<'de> Visitor<'de> for NodeVisitor {
    type Value = Node;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any YAML value")
    }

    fn visit_unit<E: de::Error>(self) -> Result<Node, E> {
        Ok(Node::Null)
    }

    fn visit_none<E: de::Error>(self) -> Result<Node, E> {
        Ok(Node::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Node, D::Error> {
        Node::deserialize(deserializer)
    }

    fn visit_newtype_struct<D: Deserializer<'de>>(self, d: D) -> Result<Node, D::Error> {
        Node::deserialize(d)
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Node, E> {
        Ok(Node::Bool(v))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Node, E> {
        Ok(Node::Int(v.into()))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Node, E> {
        Ok(Node::Int(v.into()))
    }

    fn visit_i128<E: de::Error>(self, v: i128) -> Result<Node, E> {
        Ok(Node::Int(v))
    }

    fn visit_u128<E: de::Error>(self, v: u128) -> Result<Node, E> {
        // Past i128 only the magnitude matters to a reader, and every such value is out of
        // range for every field.
        Ok(i128::try_from(v).map_or(Node::Float(v as f64), Node::Int))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Node, E> {
        Ok(Node::Float(v))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Node, E> {
        Ok(Node::Str(v.to_string()))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Node, E> {
        Ok(Node::Str(v))
    }

    fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<Node, E> {
        Ok(Node::Str(String::from_utf8_lossy(v).into_owned()))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Node, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element::<Spanned<Node>>()? {
            items.push(item);
        }
        Ok(Node::Seq(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Node, A::Error> {
        let mut entries = Vec::new();
        while let Some(entry) = map.next_entry::<Spanned<Node>, Spanned<Node>>()? {
            entries.push(entry);
        }
        Ok(Node::Map(entries))
    }
}

/// A YAML syntax error, reduced to one line.
#[derive(Clone, Debug, PartialEq)]
pub struct SyntaxError {
    pub line: u32,
    pub column: u32,
    pub message: String,
}

/// How deep collections may nest. A crew needs about 8 levels plus those of a tool's JSON
/// schema; each level costs tens of KiB of stack in debug builds, and loading must fit in the
/// 2 MiB of a spawned thread.
pub const MAX_DEPTH: usize = 32;
/// The parser's other limits, the library's defaults named so that a message can say them.
const MAX_NODES: usize = 250_000;
const MAX_EVENTS: usize = 1_000_000;
const MAX_ALIASES: usize = 50_000;
const MAX_ANCHORS: usize = 50_000;
const MAX_MERGE_KEYS: usize = 10_000;

/// Parse one YAML document into a tree. Nesting is bounded by [`MAX_DEPTH`] and the parser's
/// budget, so no input can make this, or anything walking the tree, recurse deeply.
pub fn parse(text: &str) -> Result<Spanned<Node>, SyntaxError> {
    let options = serde_saphyr::options! {
        budget: serde_saphyr::budget! {
            max_depth: MAX_DEPTH,
            max_nodes: MAX_NODES,
            max_events: MAX_EVENTS,
            max_aliases: MAX_ALIASES,
            max_anchors: MAX_ANCHORS,
            max_merge_keys: MAX_MERGE_KEYS,
        },
        with_snippet: false,
        // YAML 1.1 would read `y`, `n`, `on`, `off` as booleans, turning an agent named `y`
        // into `true`; boolean fields still accept yes/no/on/off (see `load.rs`).
        strict_booleans: true,
    };
    serde_saphyr::from_str_with_options::<Spanned<Node>>(text, options).map_err(|err| {
        let (line, column) = err.location().map_or((1, 1), |l| {
            (clamp(l.line()).max(1), clamp(l.column()).max(1))
        });
        let message = match breach(&err) {
            Some(breach) => limit_message(breach),
            None => one_line(&err.to_string()),
        };
        SyntaxError {
            line,
            column,
            message,
        }
    })
}

/// The limit of the parser's budget that `err` reports reaching, if it is one.
fn breach(mut err: &serde_saphyr::Error) -> Option<&BudgetBreach> {
    use serde_saphyr::Error;
    loop {
        match err {
            Error::AliasError { error, .. } | Error::WithSnippet { error, .. } => err = error,
            Error::Budget { breach, .. } => return Some(breach),
            _ => return None,
        }
    }
}

/// Which of the parser's limits a crew file reached, in words.
fn limit_message(breach: &BudgetBreach) -> String {
    let too_large = "the crew file is too large: more than";
    match breach {
        BudgetBreach::Nodes { .. } => format!("{too_large} {MAX_NODES} YAML nodes (parser limit)"),
        BudgetBreach::Events { .. } => {
            format!("{too_large} {MAX_EVENTS} YAML parser events (parser limit)")
        }
        BudgetBreach::Aliases { .. } => {
            format!("{too_large} {MAX_ALIASES} aliases (`*name`) (parser limit)")
        }
        BudgetBreach::Anchors { .. } => {
            format!("{too_large} {MAX_ANCHORS} anchors (`&name`) (parser limit)")
        }
        BudgetBreach::MergeKeys { .. } => {
            format!("{too_large} {MAX_MERGE_KEYS} merge keys (`<<`) (parser limit)")
        }
        BudgetBreach::Depth { .. } => format!("nested too deeply (at most {MAX_DEPTH} levels)"),
        BudgetBreach::AliasAnchorRatio { aliases, anchors } => format!(
            "too many aliases for the anchors they repeat ({aliases} aliases of {anchors} \
             anchors): the parser limits how far aliases may multiply a file"
        ),
        BudgetBreach::Documents { .. } => {
            "more than one YAML document; a crew file holds exactly one".to_string()
        }
        // Limits a crew file of at most a few MiB cannot reach, and those added later.
        _ => "the crew file is too large for the YAML parser's limits".to_string(),
    }
}

/// Line and column as the diagnostics carry them.
pub fn position(node: &Spanned<Node>) -> (u32, u32) {
    (
        clamp(node.referenced.line()),
        clamp(node.referenced.column()),
    )
}

fn clamp(n: u64) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// The parser's message as one line, without the position the diagnostic already carries and
/// without advice about the parser's own API.
fn one_line(message: &str) -> String {
    let first = message.lines().next().unwrap_or_default().trim();
    let first = first.strip_prefix("error: ").unwrap_or(first);
    let first = strip_position_prefix(first);
    let first = first
        .rsplit_once(" at line ")
        .filter(|(_, pos)| pos.contains("column"))
        .map_or(first, |(msg, _)| msg);
    if let Some(rest) = first.strip_prefix("duplicate mapping key: ") {
        let key = rest
            .split(", set DuplicateKeyPolicy")
            .next()
            .unwrap_or(rest);
        format!("duplicate key `{key}`")
    } else if first.starts_with("multiple YAML documents") {
        "more than one YAML document; a crew file holds exactly one".to_string()
    } else if let Some(rest) = first.strip_prefix("non-finite float ") {
        let value = rest.split(" rejected").next().unwrap_or(rest);
        format!("{value} is not a finite number")
    } else if first.contains("Depth") || first.starts_with("recursion limit") {
        format!("nested too deeply (at most {MAX_DEPTH} levels)")
    } else if first.is_empty() {
        "invalid YAML".to_string()
    } else {
        first.to_string()
    }
}

/// Drops a leading "line N column M: ".
fn strip_position_prefix(text: &str) -> &str {
    text.strip_prefix("line ")
        .and_then(|r| r.split_once(": "))
        .filter(|(pos, _)| pos.contains("column"))
        .map_or(text, |(_, rest)| rest)
}
