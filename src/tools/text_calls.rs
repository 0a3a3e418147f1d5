//! Tool calls written as text, for models without native tool calls: go-agentic's
//! `ToolName(arg, ...)` alone on a line.

use serde_json::{Map, Value};

use crate::provider::{ToolCallRequest, ToolSpec};

/// go-agentic's text form for models without native tool calls: `ToolName(arg, ...)` alone on
/// a line, where ToolName is one of `specs`. Returns calls with ids "text-1", "text-2", ...
/// and JSON-object `arguments` text.
///
/// Positional arguments fill the schema's `required` names in order, then its other
/// `properties` (in the order the schema map yields them, which is alphabetical); `name=value`
/// names one. A tool with one parameter gets the whole text between the parentheses.
pub fn parse_text_calls(reply: &str, specs: &[ToolSpec]) -> Vec<ToolCallRequest> {
    let mut calls = Vec::new();
    for line in reply.lines() {
        let Some((spec, inner)) = match_call(line, specs) else {
            continue;
        };
        let Some(arguments) = arguments(inner, &spec.parameters) else {
            continue;
        };
        calls.push(ToolCallRequest {
            id: format!("text-{}", calls.len() + 1),
            name: spec.name.clone(),
            arguments: Value::Object(arguments).to_string(),
        });
    }
    calls
}

/// The spec named at the start of `line` and the text between its parentheses.
fn match_call<'l, 's>(line: &'l str, specs: &'s [ToolSpec]) -> Option<(&'s ToolSpec, &'l str)> {
    let mut line = line.trim();
    // Models often put the call in inline code.
    if let Some(inner) = line.strip_prefix('`').and_then(|l| l.strip_suffix('`')) {
        line = inner.trim();
    }
    let open = line.find('(')?;
    let inner = line[open + 1..].strip_suffix(')')?;
    let spec = specs.iter().find(|spec| spec.name == line[..open])?;
    Some((spec, inner))
}

/// Names of the schema's parameters in positional order.
fn parameter_names(schema: &Value) -> Vec<&str> {
    let mut names: Vec<&str> = Vec::new();
    let required = schema.get("required").and_then(Value::as_array);
    let required = required.into_iter().flatten().filter_map(Value::as_str);
    let properties = schema.get("properties").and_then(Value::as_object);
    let properties = properties
        .into_iter()
        .flat_map(|p| p.keys().map(String::as_str));
    for name in required.chain(properties) {
        if !names.contains(&name) {
            names.push(name);
        }
    }
    names
}

fn arguments(inner: &str, schema: &Value) -> Option<Map<String, Value>> {
    let text = inner.trim();
    if text.is_empty() {
        return Some(Map::new());
    }
    if text.starts_with('{')
        && let Ok(Value::Object(object)) = serde_json::from_str(text)
    {
        return Some(object);
    }
    let is_string = |name: &str| schema["properties"][name]["type"] == "string";
    let names = parameter_names(schema);
    let mut arguments = Map::new();
    if let [name] = names.as_slice() {
        // The text may itself hold commas and quotes that belong to the one argument, so only
        // check that the parentheses pair up with the call's.
        if split_top_level(text).is_none() && !parentheses_pair_up(text) {
            return None;
        }
        let text = named(text, &names).map_or(text, |(_, value)| value);
        arguments.insert((*name).to_string(), value(text, is_string(name)));
        return Some(arguments);
    }
    let mut position = 0;
    for part in split_top_level(text)? {
        if let Some((name, text)) = named(part, &names) {
            arguments.insert(name.to_string(), value(text, is_string(name)));
            continue;
        }
        while names
            .get(position)
            .is_some_and(|n| arguments.contains_key(*n))
        {
            position += 1;
        }
        // Arguments past the last parameter have nowhere to go.
        let Some(name) = names.get(position) else {
            continue;
        };
        arguments.insert((*name).to_string(), value(part, is_string(name)));
        position += 1;
    }
    Some(arguments)
}

/// `name=value` where name is one of `names`.
fn named<'t, 'n>(part: &'t str, names: &[&'n str]) -> Option<(&'n str, &'t str)> {
    let (key, value) = part.split_once('=')?;
    let name = names.iter().find(|n| **n == key.trim())?;
    Some((name, value))
}

/// One argument's value: a quoted string without its quotes; for a parameter that is not a
/// string, JSON if it parses; else the text as it is.
fn value(text: &str, string_parameter: bool) -> Value {
    let text = text.trim();
    if let Some(unquoted) = unquote(text) {
        return Value::String(unquoted);
    }
    if !string_parameter && let Ok(value) = serde_json::from_str::<Value>(text) {
        return value;
    }
    Value::String(text.to_string())
}

/// The contents of `text` if it is exactly one quoted string, escapes applied.
fn unquote(text: &str) -> Option<String> {
    let quote = text.chars().next().filter(|c| *c == '"' || *c == '\'')?;
    if quote == '"'
        && let Ok(s) = serde_json::from_str::<String>(text)
    {
        return Some(s);
    }
    let mut out = String::new();
    let mut chars = text[1..].chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next()? {
                'n' => out.push('\n'),
                't' => out.push('\t'),
                other => out.push(other),
            },
            c if c == quote => return chars.next().is_none().then_some(out),
            c => out.push(c),
        }
    }
    None
}

/// Split on commas outside quotes and brackets; `None` if they do not pair up.
///
/// A quote opens a string only where a value can start, so an apostrophe in a bare word
/// (`it's`) is just a character.
fn split_top_level(text: &str) -> Option<Vec<&str>> {
    let mut parts = Vec::new();
    let mut closers = Vec::new();
    let mut quote: Option<char> = None;
    let mut escaped = false;
    let mut value_can_start = true;
    let mut start = 0;
    for (i, c) in text.char_indices() {
        if let Some(q) = quote {
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == q {
                quote = None;
            }
            continue;
        }
        match c {
            '"' | '\'' if value_can_start => quote = Some(c),
            '(' => closers.push(')'),
            '[' => closers.push(']'),
            '{' => closers.push('}'),
            ')' | ']' | '}' if closers.pop() != Some(c) => return None,
            ',' if closers.is_empty() => {
                parts.push(&text[start..i]);
                start = i + c.len_utf8();
            }
            _ => {}
        }
        if !c.is_whitespace() {
            value_can_start = matches!(c, ',' | '(' | '[' | '{' | ':' | '=');
        }
    }
    if quote.is_some() || !closers.is_empty() {
        return None;
    }
    parts.push(&text[start..]);
    Some(parts)
}

/// Whether every `(` is closed and no `)` closes the call early, quotes ignored.
fn parentheses_pair_up(text: &str) -> bool {
    let mut depth: usize = 0;
    for c in text.chars() {
        match c {
            '(' => depth += 1,
            ')' => match depth.checked_sub(1) {
                Some(d) => depth = d,
                None => return false,
            },
            _ => {}
        }
    }
    depth == 0
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn spec(name: &str, parameters: Value) -> ToolSpec {
        ToolSpec {
            name: name.to_string(),
            description: String::new(),
            parameters,
        }
    }

    fn specs() -> Vec<ToolSpec> {
        vec![
            spec(
                "calculator",
                json!({"type": "object", "properties": {"expression": {"type": "string"}}, "required": ["expression"]}),
            ),
            spec("current_time", json!({"type": "object", "properties": {}})),
            spec(
                "search",
                json!({
                    "type": "object",
                    "properties": {
                        "lang": {"type": "string"},
                        "limit": {"type": "integer"},
                        "query": {"type": "string"},
                    },
                    "required": ["query", "limit"],
                }),
            ),
            spec(
                "flags",
                json!({"type": "object", "properties": {"a": {}, "b": {}, "c": {}}}),
            ),
        ]
    }

    /// The one call parsed from `line`, as (name, arguments).
    fn one(line: &str) -> Option<(String, Value)> {
        let calls = parse_text_calls(line, &specs());
        assert!(calls.len() <= 1, "{line}: {calls:?}");
        let call = calls.into_iter().next()?;
        let arguments = serde_json::from_str(&call.arguments).expect("arguments are JSON");
        Some((call.name, arguments))
    }

    fn args(line: &str) -> Value {
        one(line).unwrap_or_else(|| panic!("no call in {line:?}")).1
    }

    #[test]
    fn one_parameter_gets_the_whole_text() {
        assert_eq!(
            args("calculator(2 + 3 * 4)"),
            json!({"expression": "2 + 3 * 4"})
        );
        assert_eq!(
            args("calculator((1 + 2) * 3)"),
            json!({"expression": "(1 + 2) * 3"})
        );
        assert_eq!(args("calculator(\"2+2\")"), json!({"expression": "2+2"}));
        assert_eq!(args("calculator('2+2')"), json!({"expression": "2+2"}));
        assert_eq!(
            args("calculator(max(1, 2))"),
            json!({"expression": "max(1, 2)"})
        );
        assert_eq!(args("calculator(42)"), json!({"expression": "42"}));
        assert_eq!(
            args("calculator(expression=\"7*6\")"),
            json!({"expression": "7*6"})
        );
    }

    #[test]
    fn empty_and_json_object_arguments() {
        assert_eq!(args("current_time()"), json!({}));
        assert_eq!(args("  `current_time()`  "), json!({}));
        assert_eq!(
            args("calculator({\"expression\": \"1\"})"),
            json!({"expression": "1"})
        );
        assert_eq!(
            args("search({\"query\": \"q\", \"limit\": 2})"),
            json!({"query": "q", "limit": 2})
        );
    }

    #[test]
    fn positional_arguments_follow_required_then_properties() {
        assert_eq!(
            args("search(\"rust async\", 5, 'en')"),
            json!({"query": "rust async", "limit": 5, "lang": "en"})
        );
        assert_eq!(args("search(42, 7)"), json!({"query": "42", "limit": 7}));
        assert_eq!(
            args("search(\"a, b\", 3, \"x(y\")"),
            json!({"query": "a, b", "limit": 3, "lang": "x(y"})
        );
        assert_eq!(
            args("search(it's late, 1)"),
            json!({"query": "it's late", "limit": 1})
        );
        assert_eq!(
            args("search(limit=3, query=\"named\")"),
            json!({"query": "named", "limit": 3})
        );
        assert_eq!(
            args("flags(true, null, [1, \"x,y\"])"),
            json!({"a": true, "b": null, "c": [1, "x,y"]})
        );
        assert_eq!(args("flags(1, 2, 3, 4)"), json!({"a": 1, "b": 2, "c": 3}));
    }

    #[test]
    fn only_whole_lines_naming_a_known_tool_are_calls() {
        assert_eq!(one("I will use calculator(2 + 2) now."), None);
        assert_eq!(one("unknown_tool(1)"), None);
        assert_eq!(one("Calculator(1)"), None);
        assert_eq!(one("calculator(1) + calculator(2)"), None);
        assert_eq!(one("search(\"unclosed, 1)"), None);
        assert_eq!(one("calculator 2 + 2"), None);
    }

    #[test]
    fn random_lines_never_panic_and_give_object_arguments() {
        let alphabet: Vec<char> = "calculator search flags()[]{}\"',=: 1\\é`"
            .chars()
            .collect();
        let mut rng = fastrand::Rng::with_seed(11);
        let specs = specs();
        for _ in 0..5_000 {
            let len = rng.usize(0..30);
            let body: String = (0..len)
                .map(|_| alphabet[rng.usize(..alphabet.len())])
                .collect();
            let name = ["calculator", "search", "flags"][rng.usize(..3)];
            let line = format!("{name}({body})");
            for call in parse_text_calls(&line, &specs) {
                let arguments: Value = serde_json::from_str(&call.arguments).unwrap();
                assert!(arguments.is_object(), "{line}: {arguments}");
            }
        }
    }

    #[test]
    fn several_calls_are_numbered_in_order() {
        let reply = "Let me check.\ncurrent_time()\nsome prose\n  calculator(1 + 1)\n";
        let calls = parse_text_calls(reply, &specs());
        let summary: Vec<_> = calls
            .iter()
            .map(|c| (c.id.as_str(), c.name.as_str(), c.arguments.as_str()))
            .collect();
        assert_eq!(
            summary,
            [
                ("text-1", "current_time", "{}"),
                ("text-2", "calculator", "{\"expression\":\"1 + 1\"}"),
            ]
        );
    }
}
