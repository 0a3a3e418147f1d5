//! The scripted provider: offline, deterministic replies from the crew file.
//!
//! Each agent's `script` is a list of steps; model call number `step` of that agent gets step
//! `step` of its script. The reply is streamed word by word at a fixed rate so a demo looks live,
//! or all at once at rate 0 (tests). Running out of script is an error, never a hang.

use std::collections::BTreeMap;
use std::time::Duration;

use futures_util::StreamExt;
use futures_util::stream;

use super::{
    ChatMessage, ChatRequest, Delta, DeltaStream, Provider, ProviderError, ToolCallRequest, Usage,
};
use crate::config::model::{Crew, ScriptStep};

#[derive(Debug)]
pub struct ScriptedProvider {
    scripts: BTreeMap<String, Vec<ScriptStep>>,
    tokens_per_second: f64,
}

impl ScriptedProvider {
    pub fn new(crew: &Crew) -> Self {
        Self {
            scripts: crew
                .agents
                .iter()
                .map(|a| (a.id.clone(), a.script.clone()))
                .collect(),
            tokens_per_second: crew.settings.scripted_tokens_per_second,
        }
    }

    fn deltas(step: &ScriptStep, request: &ChatRequest) -> Vec<Delta> {
        let (agent, index) = (&request.agent, request.step);
        let mut out: Vec<Delta> = split_tokens(&step.reasoning)
            .map(|t| Delta::Reasoning(t.to_string()))
            .collect();
        out.extend(split_tokens(&step.reply).map(|t| Delta::Text(t.to_string())));
        for (n, call) in step.tool_calls.iter().enumerate() {
            out.push(Delta::ToolCall(ToolCallRequest {
                id: format!("call_{agent}_{index}_{n}"),
                name: call.tool.clone(),
                arguments: call.arguments.to_string(),
            }));
        }
        let finish_reason = if step.tool_calls.is_empty() {
            "stop"
        } else {
            "tool_calls"
        };
        out.push(Delta::Done {
            finish_reason: Some(finish_reason.to_string()),
            // Counted the way this provider streams: one token per word.
            usage: Some(Usage {
                prompt_tokens: prompt_tokens(request),
                completion_tokens: split_tokens(&step.reply).count() as u64,
                cached_tokens: 0,
            }),
            truncated: false,
        });
        out
    }
}

/// About four bytes a token, as OpenAI's rule of thumb goes: a scripted model has no
/// tokenizer, and counting words over the whole history on every call would cost a long run
/// the square of its length.
fn prompt_tokens(request: &ChatRequest) -> u64 {
    let bytes: usize = request
        .messages
        .iter()
        .map(|m| match m {
            ChatMessage::User { content }
            | ChatMessage::Assistant { content, .. }
            | ChatMessage::Tool { content, .. } => content.len(),
        })
        .sum::<usize>()
        + request.system_prompt.len();
    bytes.div_ceil(4) as u64
}

/// Splits text into word-sized pieces that concatenate back to the original.
fn split_tokens(text: &str) -> impl Iterator<Item = &str> {
    let mut rest = text;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        // A token is leading whitespace plus one word, like a model's BPE tokens roughly.
        let start = rest.len() - rest.trim_start().len();
        let end = rest[start..]
            .find(char::is_whitespace)
            .map_or(rest.len(), |i| start + i);
        let (token, tail) = rest.split_at(end);
        rest = tail;
        Some(token)
    })
}

impl Provider for ScriptedProvider {
    fn stream(&self, request: ChatRequest) -> DeltaStream {
        let Some(step) = self
            .scripts
            .get(&request.agent)
            .and_then(|s| s.get(request.step))
        else {
            let have = self.scripts.get(&request.agent).map_or(0, Vec::len);
            let error = ProviderError::new(format!(
                "script exhausted: agent `{}` was called {} time(s) but its script has {have} step(s)",
                request.agent,
                request.step + 1
            ));
            return stream::once(async move { Err(error) }).boxed();
        };
        let deltas = Self::deltas(step, &request);
        if self.tokens_per_second <= 0.0 {
            return stream::iter(deltas.into_iter().map(Ok)).boxed();
        }
        let gap = Duration::from_secs_f64(1.0 / self.tokens_per_second);
        // Token n is due n gaps after the start, not a gap after token n-1 arrived: sleeping
        // a gap after each token lets timer rounding and the time spent emitting add up, and
        // 64 agents asked for 200 tokens a second each got four fifths of that.
        let start = tokio::time::Instant::now();
        let mut tokens = 0u32;
        let paced: Vec<(Option<tokio::time::Instant>, Delta)> = deltas
            .into_iter()
            .map(|delta| {
                let due = matches!(delta, Delta::Text(_) | Delta::Reasoning(_)).then(|| {
                    tokens += 1;
                    start + gap * tokens
                });
                (due, delta)
            })
            .collect();
        stream::iter(paced)
            .then(|(due, delta)| async move {
                if let Some(due) = due {
                    tokio::time::sleep_until(due).await;
                }
                Ok(delta)
            })
            .boxed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_concatenate_back_to_the_reply() {
        let text = "  Hello, world!\n\nNext  line ";
        let tokens: Vec<&str> = split_tokens(text).collect();
        assert_eq!(tokens.concat(), text);
        assert_eq!(tokens[0], "  Hello,");
        assert!(split_tokens("").next().is_none());
    }
}
