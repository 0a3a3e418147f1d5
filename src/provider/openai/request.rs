//! The JSON body of a `/chat/completions` request, built from a [`ChatRequest`].

use serde_json::{Map, Value, json};

use crate::provider::{ChatMessage, ChatRequest};

/// The request body. `include_usage` asks for the usage chunk (`stream_options`), which a few
/// servers reject; the caller sends the body once more without it then.
pub fn body(request: &ChatRequest, include_usage: bool) -> Value {
    let mut messages = Vec::with_capacity(request.messages.len() + 1);
    if !request.system_prompt.is_empty() {
        messages.push(json!({"role": "system", "content": request.system_prompt}));
    }
    messages.extend(request.messages.iter().map(message));
    let mut body = Map::new();
    body.insert("model".into(), request.model.clone().into());
    body.insert("messages".into(), messages.into());
    body.insert("temperature".into(), request.temperature.into());
    if let Some(max_tokens) = request.max_tokens {
        body.insert("max_tokens".into(), max_tokens.into());
    }
    if !request.tools.is_empty() {
        let tools: Vec<Value> = request
            .tools
            .iter()
            .map(|tool| {
                json!({
                    "type": "function",
                    "function": {
                        "name": tool.name,
                        "description": tool.description,
                        "parameters": tool.parameters,
                    }
                })
            })
            .collect();
        body.insert("tools".into(), tools.into());
    }
    body.insert("stream".into(), true.into());
    if include_usage {
        body.insert("stream_options".into(), json!({"include_usage": true}));
    }
    Value::Object(body)
}

fn message(message: &ChatMessage) -> Value {
    match message {
        ChatMessage::User { content } => json!({"role": "user", "content": content}),
        ChatMessage::Assistant {
            content,
            tool_calls,
        } if tool_calls.is_empty() => json!({"role": "assistant", "content": content}),
        ChatMessage::Assistant {
            content,
            tool_calls,
        } => {
            let calls: Vec<Value> = tool_calls
                .iter()
                .map(|call| {
                    json!({
                        "id": call.id,
                        "type": "function",
                        "function": {"name": call.name, "arguments": past_arguments(&call.arguments)},
                    })
                })
                .collect();
            // A reply that is only tool calls has no content, which the API spells `null`.
            let content = if content.is_empty() {
                Value::Null
            } else {
                content.clone().into()
            };
            json!({"role": "assistant", "content": content, "tool_calls": calls})
        }
        ChatMessage::Tool {
            call_id, content, ..
        } => json!({"role": "tool", "tool_call_id": call_id, "content": content}),
    }
}

/// The arguments of a call already made, as sent back in the history. Ollama, llama.cpp and
/// vLLM parse them and refuse the whole request when they are not a JSON object, so a call whose
/// arguments were broken (the model was told so in the tool's result) goes back as `{}`.
fn past_arguments(arguments: &str) -> String {
    match serde_json::from_str::<Value>(arguments) {
        Ok(Value::Object(_)) => arguments.to_string(),
        _ => "{}".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provider::{ToolCallRequest, ToolSpec};

    #[test]
    fn history_in_the_roles_the_api_expects() {
        let request = ChatRequest {
            agent: "a".into(),
            step: 0,
            model: "m".into(),
            system_prompt: "You are A.".into(),
            messages: std::sync::Arc::new(vec![
                ChatMessage::User {
                    content: "hi".into(),
                },
                ChatMessage::Assistant {
                    content: String::new(),
                    tool_calls: vec![
                        ToolCallRequest {
                            id: "c1".into(),
                            name: "calc".into(),
                            arguments: "{\"e\":\"1+1\"}".into(),
                        },
                        ToolCallRequest {
                            id: "c2".into(),
                            name: "calc".into(),
                            arguments: "{broken".into(),
                        },
                    ],
                },
                ChatMessage::Tool {
                    call_id: "c1".into(),
                    name: "calc".into(),
                    content: "2".into(),
                },
                ChatMessage::Tool {
                    call_id: "c2".into(),
                    name: "calc".into(),
                    content: "error: bad".into(),
                },
                ChatMessage::Assistant {
                    content: "It is 2.".into(),
                    tool_calls: vec![],
                },
            ]),
            tools: vec![ToolSpec {
                name: "calc".into(),
                description: "Adds.".into(),
                parameters: json!({"type": "object"}),
            }],
            temperature: 0.5,
            max_tokens: Some(100),
        };
        let expected = json!({
            "model": "m",
            "messages": [
                {"role": "system", "content": "You are A."},
                {"role": "user", "content": "hi"},
                {"role": "assistant", "content": null, "tool_calls": [
                    {"id": "c1", "type": "function", "function": {"name": "calc", "arguments": "{\"e\":\"1+1\"}"}},
                    {"id": "c2", "type": "function", "function": {"name": "calc", "arguments": "{}"}},
                ]},
                {"role": "tool", "tool_call_id": "c1", "content": "2"},
                {"role": "tool", "tool_call_id": "c2", "content": "error: bad"},
                {"role": "assistant", "content": "It is 2."},
            ],
            "temperature": 0.5,
            "max_tokens": 100,
            "tools": [{"type": "function", "function": {"name": "calc", "description": "Adds.", "parameters": {"type": "object"}}}],
            "stream": true,
            "stream_options": {"include_usage": true},
        });
        assert_eq!(body(&request, true), expected);
        let without = body(
            &ChatRequest {
                max_tokens: None,
                tools: vec![],
                ..request
            },
            false,
        );
        for key in ["stream_options", "max_tokens", "tools"] {
            assert!(without.get(key).is_none(), "{key}");
        }
    }
}
