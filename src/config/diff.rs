//! What differs between two crews, a short line each: how a resumed session tells that the
//! crew it goes on with is not the one it was recorded with. The lines are safe to print:
//! everything taken from the crews goes through [`visible_line`].

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::model::Crew;
use crate::text::visible_line;

/// Longer values are said to have changed rather than shown.
const MAX_SHOWN_CHARS: usize = 40;

/// Every difference from `before` to `after`, in the crew's field order, e.g.
/// `agent writer: model gpt-4o → gpt-4.1`, `tool word_count added`,
/// `settings.files_root: /crew → /`. Where each was loaded from is no difference.
pub fn differences(before: &Crew, after: &Crew) -> Vec<String> {
    let as_map = |crew: &Crew| match serde_json::to_value(crew) {
        Ok(Value::Object(mut map)) => {
            map.remove("source");
            Some(map)
        }
        Ok(_) | Err(_) => None,
    };
    let (Some(before), Some(after)) = (as_map(before), as_map(after)) else {
        // Only a path that is not UTF-8 can make a crew fail to serialise.
        return vec!["the crews cannot be compared".to_string()];
    };
    let mut out = Vec::new();
    for (key, b, a) in pairs(&before, &after) {
        match (key, b, a) {
            ("agents", Some(Value::Array(b)), Some(Value::Array(a))) => {
                named("agent", &by_id(b), &by_id(a), &mut out);
            }
            ("tools" | "providers", Some(Value::Object(b)), Some(Value::Object(a))) => {
                let kind = if key == "tools" { "tool" } else { "provider" };
                named(kind, &entries(b), &entries(a), &mut out);
            }
            (key, b, a) => walk("", key, b, a, &mut out),
        }
    }
    out
}

/// The keys of two mappings, those of `before` first, each with its value on either side.
fn pairs<'a>(
    before: &'a Map<String, Value>,
    after: &'a Map<String, Value>,
) -> Vec<(&'a str, Option<&'a Value>, Option<&'a Value>)> {
    let mut keys: Vec<&str> = before.keys().map(String::as_str).collect();
    keys.extend(
        after
            .keys()
            .map(String::as_str)
            .filter(|k| !before.contains_key(*k)),
    );
    keys.into_iter()
        .map(|k| (k, before.get(k), after.get(k)))
        .collect()
}

fn entries(map: &Map<String, Value>) -> Vec<(&str, &Value)> {
    map.iter().map(|(k, v)| (k.as_str(), v)).collect()
}

/// A crew's agents by id, in file order.
fn by_id(agents: &[Value]) -> Vec<(&str, &Value)> {
    agents
        .iter()
        .map(|agent| (agent["id"].as_str().unwrap_or_default(), agent))
        .collect()
}

/// Entries that have names (agents, tools, providers): added, removed, or changed within.
fn named(kind: &str, before: &[(&str, &Value)], after: &[(&str, &Value)], out: &mut Vec<String>) {
    let label = |name: &str| format!("{kind} {}", visible_line(name));
    // Keyed for lookup, so that a crew of thousands of agents compares in n log n.
    let before_map: BTreeMap<&str, &Value> = before.iter().copied().collect();
    let after_map: BTreeMap<&str, &Value> = after.iter().copied().collect();
    for &(name, b) in before {
        match after_map.get(name) {
            Some(a) => walk(&label(name), "", Some(b), Some(a), out),
            None => out.push(format!("{} removed", label(name))),
        }
    }
    for &(name, _) in after.iter().filter(|(n, _)| !before_map.contains_key(n)) {
        out.push(format!("{} added", label(name)));
    }
}

/// The differences under `path` (dotted, within the entry `head` names, if any).
fn walk(
    head: &str,
    path: &str,
    before: Option<&Value>,
    after: Option<&Value>,
    out: &mut Vec<String>,
) {
    if before == after {
        return;
    }
    let what = match (head, path) {
        (head, "") => head.to_string(),
        ("", path) => visible_line(path).into_owned(),
        (head, path) => format!("{head}: {}", visible_line(path)),
    };
    match (before, after) {
        (Some(Value::Object(b)), Some(Value::Object(a))) => {
            for (key, b, a) in pairs(b, a) {
                let path = if path.is_empty() {
                    key.to_string()
                } else {
                    format!("{path}.{key}")
                };
                walk(head, &path, b, a, out);
            }
        }
        (Some(b), Some(a)) => match (shown(b), shown(a)) {
            (Some(b), Some(a)) if head.is_empty() || path.is_empty() => {
                out.push(format!("{what}: {b} → {a}"));
            }
            (Some(b), Some(a)) => out.push(format!("{what} {b} → {a}")),
            (None, _) | (_, None) => out.push(format!("{what} changed")),
        },
        (None, Some(_)) => out.push(format!("{what} added")),
        (Some(_), None) => out.push(format!("{what} removed")),
        (None, None) => {}
    }
}

/// A short value as text (a list of a few scalars included); `None` for anything longer.
fn shown(value: &Value) -> Option<String> {
    let text = match value {
        Value::String(s) if s.is_empty() => "\"\"".to_string(),
        Value::String(s) => s.clone(),
        Value::Null => "none".to_string(),
        Value::Bool(_) | Value::Number(_) => value.to_string(),
        Value::Array(items) => {
            let items: Option<Vec<String>> = items
                .iter()
                .map(|item| match item {
                    Value::Array(_) | Value::Object(_) => None,
                    item => shown(item),
                })
                .collect();
            format!("[{}]", items?.join(", "))
        }
        Value::Object(_) => return None,
    };
    (text.chars().count() <= MAX_SHOWN_CHARS).then(|| visible_line(&text).into_owned())
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    fn crew(yaml: &str) -> Crew {
        let report = super::super::load_crew_str(yaml, Path::new("c.yaml"), Path::new("/"));
        report
            .crew
            .unwrap_or_else(|| panic!("{:?}", report.diagnostics))
    }

    const BASE: &str = "name: x\nsettings: {files_root: /tmp}\n\
        tools:\n  count: {command: /bin/wc, args: [-w]}\n\
        agents:\n  - {id: writer, provider: scripted, model: gpt-4o, tools: [count]}\n  - {id: editor, provider: scripted}\n";

    #[test]
    fn the_same_crew_has_no_differences() {
        assert_eq!(differences(&crew(BASE), &crew(BASE)), Vec::<String>::new());
    }

    #[test]
    fn each_difference_is_a_line_naming_what_changed() {
        let after = BASE
            .replace("gpt-4o", "gpt-4.1")
            .replace("files_root: /tmp", "files_root: /")
            .replace("/bin/wc", "/bin/sh")
            .replace(
                "  - {id: editor, provider: scripted}\n",
                "  - {id: critic, provider: scripted}\n",
            )
            .replace("tools:\n", "tools:\n  pwn: {command: /bin/sh}\n");
        assert_eq!(
            differences(&crew(BASE), &crew(&after)),
            [
                "agent writer: model gpt-4o → gpt-4.1",
                "agent editor removed",
                "agent critic added",
                "settings.files_root: /tmp → /",
                "tool count: command /bin/wc → /bin/sh",
                "tool pwn added",
            ]
        );
    }

    #[test]
    fn long_values_are_not_shown_and_control_characters_never_are() {
        let prompt = "p".repeat(200);
        let after = BASE.replace(
            "model: gpt-4o,",
            &format!("model: \"\\e]0;x\\a\", system_prompt: {prompt},"),
        );
        assert_eq!(
            differences(&crew(BASE), &crew(&after)),
            [
                "agent writer: model gpt-4o → ␛]0;x␇",
                "agent writer: system_prompt changed",
            ]
        );
    }
}
