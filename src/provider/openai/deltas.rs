//! From `chat.completion.chunk` JSON to [`Delta`]s: text, reasoning, whole tool calls, the
//! finish reason and usage, as the many OpenAI-compatible servers actually send them.
//!
//! Chunks are read as loose JSON rather than typed structs: servers add fields, drop fields and
//! send `null` where others send nothing, and one odd field must not lose a reply. Only choice 0
//! counts (a request with `n > 1` streams the others interleaved). Knows nothing of HTTP.

use serde_json::Value;

use super::error::{Failure, error_object_message};
use crate::provider::{Delta, ToolCallRequest, Usage};

/// What a data event meant for the stream.
#[derive(Debug, PartialEq, Eq)]
pub enum Flow {
    Continue,
    /// `[DONE]`: nothing more will come.
    Done,
}

/// The state of one streamed reply.
#[derive(Debug)]
pub struct Assembler {
    calls: Vec<PartialCall>,
    finish_reason: Option<String>,
    usage: Option<Usage>,
    done: bool,
    think: ThinkSplit,
    /// Prefix of the ids made up for calls the server sent without one.
    id_prefix: String,
}

#[derive(Debug)]
struct PartialCall {
    id: Option<String>,
    index: Option<u64>,
    name: String,
    arguments: String,
    /// Whether `arguments` is whole yet, kept up to date fragment by fragment: parsing the
    /// whole text again at every fragment made assembly quadratic. The arguments are parsed
    /// once, when the call is run.
    shape: JsonShape,
}

/// How far a JSON text has got, learnt from each piece once as it is appended: whether it is
/// one whole object, array or string, followed by nothing but whitespace. Brackets are
/// counted, not matched, and scalars are never whole: this tells a finished call from one
/// still streaming, it does not validate (the tool does, with a real parse).
#[derive(Debug, Default)]
struct JsonShape {
    scan: Scan,
    depth: usize,
    in_string: bool,
    escaped: bool,
}

#[derive(Debug, Default, PartialEq, Eq)]
enum Scan {
    /// Only whitespace so far.
    #[default]
    Empty,
    Open,
    Whole,
    /// Not a container or string, or something after its end.
    Other,
}

impl JsonShape {
    fn push(&mut self, text: &str) {
        for byte in text.bytes() {
            match self.scan {
                Scan::Other => return,
                Scan::Whole => {
                    if !byte.is_ascii_whitespace() {
                        self.scan = Scan::Other;
                    }
                }
                Scan::Empty => match byte {
                    b'{' | b'[' => {
                        self.depth = 1;
                        self.scan = Scan::Open;
                    }
                    b'"' => {
                        self.in_string = true;
                        self.scan = Scan::Open;
                    }
                    _ if byte.is_ascii_whitespace() => {}
                    _ => self.scan = Scan::Other,
                },
                Scan::Open if self.in_string => {
                    if self.escaped {
                        self.escaped = false;
                    } else if byte == b'\\' {
                        self.escaped = true;
                    } else if byte == b'"' {
                        self.in_string = false;
                        if self.depth == 0 {
                            self.scan = Scan::Whole;
                        }
                    }
                }
                Scan::Open => match byte {
                    b'"' => self.in_string = true,
                    b'{' | b'[' => self.depth += 1,
                    b'}' | b']' => {
                        self.depth -= 1;
                        if self.depth == 0 {
                            self.scan = Scan::Whole;
                        }
                    }
                    _ => {}
                },
            }
        }
    }

    fn is_whole(&self) -> bool {
        self.scan == Scan::Whole
    }
}

impl Default for Assembler {
    fn default() -> Self {
        Self {
            calls: Vec::new(),
            finish_reason: None,
            usage: None,
            done: false,
            think: ThinkSplit::Start(String::new()),
            id_prefix: format!("call_{:08x}", fastrand::u32(..)),
        }
    }
}

impl Assembler {
    /// One SSE event: `event` is its `event:` field, `data` its data.
    pub fn event(
        &mut self,
        event: Option<&str>,
        data: &str,
        out: &mut Vec<Delta>,
    ) -> Result<Flow, Failure> {
        let data = data.trim();
        if data == "[DONE]" {
            self.done = true;
            return Ok(Flow::Done);
        }
        if data.is_empty() {
            return Ok(Flow::Continue);
        }
        let chunk: Value = match serde_json::from_str(data) {
            Ok(chunk) => chunk,
            Err(_) if event == Some("error") => return Err(Failure::stream_error(data, None)),
            Err(e) => {
                return Err(Failure::garbage(format!(
                    "the server sent an event that is not JSON ({e}): {}",
                    super::error::excerpt(data)
                )));
            }
        };
        self.chunk(&chunk, "delta", event == Some("error"), out)?;
        Ok(Flow::Continue)
    }

    /// A whole `chat.completion` object, from a server that answered `stream: true` without
    /// streaming: its `message` is read like one big delta.
    pub fn whole_completion(&mut self, body: &Value, out: &mut Vec<Delta>) -> Result<(), Failure> {
        self.chunk(body, "message", false, out)?;
        self.done = true;
        Ok(())
    }

    fn chunk(
        &mut self,
        chunk: &Value,
        delta_key: &str,
        error_event: bool,
        out: &mut Vec<Delta>,
    ) -> Result<(), Failure> {
        match chunk.get("error") {
            Some(error) if !error.is_null() => {
                let status = error_status(error);
                return Err(Failure::stream_error(&error_object_message(error), status));
            }
            _ if error_event => {
                return Err(Failure::stream_error(&chunk.to_string(), None));
            }
            _ => {}
        }
        // Some servers repeat usage on every chunk, the running figures growing: the last wins.
        if let Some(usage) = chunk.get("usage").and_then(usage) {
            self.usage = Some(usage);
        }
        let choices = chunk.get("choices").and_then(Value::as_array);
        for choice in choices.into_iter().flatten() {
            let index = choice.get("index").and_then(Value::as_u64).unwrap_or(0);
            if index != 0 {
                continue;
            }
            if let Some(delta) = choice.get(delta_key) {
                self.delta(delta, out);
            }
            if let Some(reason) = choice.get("finish_reason").and_then(Value::as_str) {
                self.finish_reason = Some(reason.to_string());
            }
        }
        Ok(())
    }

    fn delta(&mut self, delta: &Value, out: &mut Vec<Delta>) {
        // vLLM sends the same text as both `reasoning_content` and `reasoning`; take one.
        let reasoning = ["reasoning_content", "reasoning"]
            .iter()
            .filter_map(|key| delta.get(key).and_then(Value::as_str))
            .find(|text| !text.is_empty());
        if let Some(text) = reasoning {
            out.push(Delta::Reasoning(text.to_string()));
        }
        match delta.get("content") {
            Some(Value::String(text)) => self.think.push(text, out),
            // Mistral's magistral: a list of parts, `thinking` ones holding reasoning.
            Some(Value::Array(parts)) => {
                for part in parts {
                    match part.get("type").and_then(Value::as_str) {
                        Some("thinking") => {
                            let text = part_text(part.get("thinking"));
                            if !text.is_empty() {
                                out.push(Delta::Reasoning(text));
                            }
                        }
                        Some("text") => {
                            let text = part_text(part.get("text"));
                            self.think.push(&text, out);
                        }
                        _ => {}
                    }
                }
            }
            _ => {}
        }
        // A refusal is the model's answer as far as the user is concerned: show it.
        if let Some(text) = delta.get("refusal").and_then(Value::as_str) {
            self.think.push(text, out);
        }
        if let Some(calls) = delta.get("tool_calls").and_then(Value::as_array) {
            for call in calls {
                self.tool_call_fragment(call);
            }
        }
    }

    /// Adds one fragment to the call it belongs to: the call with the same id; else the latest
    /// call with the same index; else, with neither, the call being streamed. Ollama gives every
    /// call index 0, and Mistral and old Ollama send no index at all, so a fragment that names a
    /// function when its call already has a name and complete JSON arguments starts a new call.
    fn tool_call_fragment(&mut self, fragment: &Value) {
        let id = fragment
            .get("id")
            .and_then(Value::as_str)
            .filter(|id| !id.is_empty());
        let index = fragment.get("index").and_then(Value::as_u64);
        let function = fragment.get("function");
        let name = function
            .and_then(|f| f.get("name"))
            .and_then(Value::as_str)
            .unwrap_or_default();
        let arguments = match function.and_then(|f| f.get("arguments")) {
            Some(Value::String(text)) => text.clone(),
            // Some servers send the arguments as an object instead of its JSON text.
            Some(Value::Null) | None => String::new(),
            Some(other) => other.to_string(),
        };
        let found = match (id, index) {
            (Some(id), _) => self.calls.iter().rposition(|c| c.id.as_deref() == Some(id)),
            (None, Some(index)) => self.calls.iter().rposition(|c| c.index == Some(index)),
            (None, None) => self.calls.len().checked_sub(1),
        };
        let found = found.filter(|&at| {
            let call = &self.calls[at];
            let complete = !call.name.is_empty() && call.shape.is_whole();
            id.is_some() || name.is_empty() || !complete
        });
        let at = match found {
            Some(at) => at,
            None => {
                self.calls.push(PartialCall {
                    id: id.map(str::to_string),
                    index,
                    name: String::new(),
                    arguments: String::new(),
                    shape: JsonShape::default(),
                });
                self.calls.len() - 1
            }
        };
        let call = &mut self.calls[at];
        if call.name.is_empty() {
            call.name = name.to_string();
        }
        call.arguments.push_str(&arguments);
        call.shape.push(&arguments);
    }

    /// The stream ended (`[DONE]`, or the body ended): held-back text, the tool calls, and the
    /// closing [`Delta::Done`].
    pub fn finish(&mut self, out: &mut Vec<Delta>) {
        self.think.finish(out);
        for (n, call) in std::mem::take(&mut self.calls).into_iter().enumerate() {
            out.push(Delta::ToolCall(ToolCallRequest {
                id: call.id.unwrap_or_else(|| format!("{}_{n}", self.id_prefix)),
                name: call.name,
                arguments: call.arguments,
            }));
        }
        out.push(Delta::Done {
            finish_reason: self.finish_reason.clone(),
            usage: self.usage,
            truncated: !self.done && self.finish_reason.is_none(),
        });
    }
}

/// `usage` with both counts, or nothing: figures the server did not send are not made up.
/// Cached prompt tokens are OpenAI's `prompt_tokens_details.cached_tokens` (OpenRouter and
/// Groq say the same) or DeepSeek's `prompt_cache_hit_tokens`.
fn usage(value: &Value) -> Option<Usage> {
    let cached = value
        .pointer("/prompt_tokens_details/cached_tokens")
        .or_else(|| value.get("prompt_cache_hit_tokens"))
        .and_then(Value::as_u64);
    Some(Usage {
        prompt_tokens: value.get("prompt_tokens")?.as_u64()?,
        completion_tokens: value.get("completion_tokens")?.as_u64()?,
        cached_tokens: cached.unwrap_or(0),
    })
}

/// The HTTP status an error object carries (Groq's `status_code`, OpenRouter's numeric `code`).
fn error_status(error: &Value) -> Option<u16> {
    ["status_code", "status", "code"]
        .iter()
        .filter_map(|key| error.get(key).and_then(Value::as_u64))
        .find(|code| (400..600).contains(code))
        .and_then(|code| u16::try_from(code).ok())
}

/// The text of a content part: a string, or a list of `{type: text, text}` parts.
fn part_text(value: Option<&Value>) -> String {
    match value {
        Some(Value::String(text)) => text.clone(),
        Some(Value::Array(parts)) => parts
            .iter()
            .filter_map(|p| p.get("text").and_then(Value::as_str))
            .collect(),
        _ => String::new(),
    }
}

/// Splits a `<think>…</think>` block at the start of the reply off as reasoning: DeepSeek-R1
/// behind some hosts, and local servers without a reasoning parser, send the thinking inline.
/// A tag may arrive split across deltas, so text that could still turn out to be one is held.
#[derive(Debug)]
enum ThinkSplit {
    /// Nothing but whitespace yet; it is held until the reply shows whether it opens a block.
    Start(String),
    /// Inside the block; holds a tail that may be the start of the closing tag.
    Inside(String),
    /// After the block: whitespace before the reply proper is dropped.
    After,
    Plain,
}

const OPEN: &str = "<think>";
const CLOSE: &str = "</think>";

impl ThinkSplit {
    fn push(&mut self, text: &str, out: &mut Vec<Delta>) {
        if text.is_empty() {
            return;
        }
        match self {
            ThinkSplit::Plain => push_text(out, text),
            ThinkSplit::Start(held) => {
                held.push_str(text);
                let lead = held.trim_start();
                if lead.is_empty() || (lead.len() < OPEN.len() && OPEN.starts_with(lead)) {
                    return;
                }
                if let Some(rest) = lead.strip_prefix(OPEN) {
                    let rest = rest.to_string();
                    *self = ThinkSplit::Inside(String::new());
                    self.push(&rest, out);
                } else {
                    push_text(out, held);
                    *self = ThinkSplit::Plain;
                }
            }
            ThinkSplit::Inside(held) => {
                held.push_str(text);
                if let Some(end) = held.find(CLOSE) {
                    push_reasoning(out, &held[..end]);
                    let rest = held[end + CLOSE.len()..].to_string();
                    *self = ThinkSplit::After;
                    self.push(&rest, out);
                } else {
                    // Keep back the longest tail that is a beginning of the closing tag.
                    let keep = (1..CLOSE.len())
                        .rev()
                        .find(|&n| held.ends_with(&CLOSE[..n]))
                        .unwrap_or(0);
                    let split = held.len() - keep;
                    push_reasoning(out, &held[..split]);
                    held.drain(..split);
                }
            }
            ThinkSplit::After => {
                let rest = text.trim_start();
                if !rest.is_empty() {
                    *self = ThinkSplit::Plain;
                    push_text(out, rest);
                }
            }
        }
    }

    fn finish(&mut self, out: &mut Vec<Delta>) {
        match std::mem::replace(self, ThinkSplit::Plain) {
            ThinkSplit::Start(held) => push_text(out, &held),
            // The reply ended mid-thought (a token limit, say): what there is was reasoning.
            ThinkSplit::Inside(held) => push_reasoning(out, &held),
            ThinkSplit::After | ThinkSplit::Plain => {}
        }
    }
}

fn push_text(out: &mut Vec<Delta>, text: &str) {
    if !text.is_empty() {
        out.push(Delta::Text(text.to_string()));
    }
}

fn push_reasoning(out: &mut Vec<Delta>, text: &str) {
    if !text.is_empty() {
        out.push(Delta::Reasoning(text.to_string()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Feeds chunks (as JSON values) and returns text, reasoning, calls and the final Done.
    fn run(chunks: &[Value], done: bool) -> (String, String, Vec<ToolCallRequest>, Delta) {
        let mut asm = Assembler::default();
        let mut out = Vec::new();
        for chunk in chunks {
            asm.event(None, &chunk.to_string(), &mut out).unwrap();
        }
        if done {
            assert_eq!(asm.event(None, "[DONE]", &mut out).unwrap(), Flow::Done);
        }
        asm.finish(&mut out);
        let mut text = String::new();
        let mut reasoning = String::new();
        let mut calls = Vec::new();
        let end = out.pop().unwrap();
        for delta in out {
            match delta {
                Delta::Text(t) => text.push_str(&t),
                Delta::Reasoning(t) => reasoning.push_str(&t),
                Delta::ToolCall(c) => calls.push(c),
                Delta::Done { .. } => panic!("Done before the end"),
            }
        }
        (text, reasoning, calls, end)
    }

    fn delta(d: Value) -> Value {
        json!({"choices": [{"index": 0, "delta": d, "finish_reason": null}]})
    }

    fn call(id: Option<&str>, index: Option<u64>, name: Option<&str>, args: &str) -> Value {
        let mut c = json!({"function": {"arguments": args}});
        if let Some(id) = id {
            c["id"] = id.into();
        }
        if let Some(index) = index {
            c["index"] = index.into();
        }
        if let Some(name) = name {
            c["function"]["name"] = name.into();
        }
        delta(json!({"tool_calls": [c]}))
    }

    fn names_and_args(calls: &[ToolCallRequest]) -> Vec<(String, Value)> {
        calls
            .iter()
            .map(|c| (c.name.clone(), serde_json::from_str(&c.arguments).unwrap()))
            .collect()
    }

    #[test]
    fn calls_split_by_index_assemble() {
        let chunks = [
            call(Some("a"), Some(0), Some("add"), ""),
            call(None, Some(0), None, "{\"x\":"),
            call(Some("b"), Some(1), Some("mul"), "{\"y\""),
            call(None, Some(0), None, "1}"),
            call(None, Some(1), None, ":2}"),
        ];
        let (_, _, calls, _) = run(&chunks, true);
        assert_eq!(
            names_and_args(&calls),
            [
                ("add".into(), json!({"x": 1})),
                ("mul".into(), json!({"y": 2}))
            ]
        );
        assert_eq!((calls[0].id.as_str(), calls[1].id.as_str()), ("a", "b"));
    }

    #[test]
    fn calls_without_index_follow_the_current_call() {
        let chunks = [
            call(None, None, Some("add"), "{\"x\""),
            call(None, None, None, ":1}"),
            call(None, None, Some("mul"), "{\"y\":2}"),
        ];
        let (_, _, calls, _) = run(&chunks, true);
        assert_eq!(
            names_and_args(&calls),
            [
                ("add".into(), json!({"x": 1})),
                ("mul".into(), json!({"y": 2}))
            ]
        );
        assert_ne!(calls[0].id, calls[1].id, "made-up ids differ");
    }

    #[test]
    fn index_zero_for_every_call_still_makes_separate_calls() {
        // With ids (Ollama) and without (the worst case).
        for ids in [true, false] {
            let id = |s| if ids { Some(s) } else { None };
            let chunks = [
                call(id("c1"), Some(0), Some("add"), "{\"x\":1}"),
                call(id("c2"), Some(0), Some("add"), "{\"x\":2}"),
            ];
            let (_, _, calls, _) = run(&chunks, false);
            assert_eq!(
                names_and_args(&calls),
                [
                    ("add".into(), json!({"x": 1})),
                    ("add".into(), json!({"x": 2}))
                ],
                "ids: {ids}"
            );
        }
    }

    #[test]
    fn the_shape_of_arguments_agrees_with_a_parse_at_every_cut() {
        let texts = [
            r#" {"a": [1, {"b": "x}]\\\"y"}], "c": null} "#,
            r#"[1, "]", [[]]]"#,
            r#""a \" string""#,
            r#"{"a": 1} {"b": 2}"#,
            "{}\n",
        ];
        for text in texts {
            for cut in 0..=text.len() {
                let prefix = &text[..cut];
                let mut shape = JsonShape::default();
                // In pieces of every size, to show the pieces do not matter.
                for piece in prefix.as_bytes().chunks(cut % 3 + 1) {
                    shape.push(std::str::from_utf8(piece).unwrap());
                }
                let parses = serde_json::from_str::<Value>(prefix).is_ok();
                assert_eq!(shape.is_whole(), parses, "{prefix:?}");
            }
        }
        let mut number = JsonShape::default();
        number.push("42");
        assert!(
            !number.is_whole(),
            "a scalar is never taken as whole arguments"
        );
    }

    /// Bytes this thread allocates while `COUNTING` is set: how much work assembly does,
    /// measured without a clock.
    mod allocations {
        use std::alloc::{GlobalAlloc, Layout, System};
        use std::cell::Cell;

        thread_local! {
            static COUNTING: Cell<bool> = const { Cell::new(false) };
            static BYTES: Cell<usize> = const { Cell::new(0) };
        }

        struct Counting;

        #[global_allocator]
        static ALLOCATOR: Counting = Counting;

        fn count(bytes: usize) {
            let _ = COUNTING.try_with(|on| {
                if on.get() {
                    let _ = BYTES.try_with(|total| total.set(total.get() + bytes));
                }
            });
        }

        // SAFETY: every call is passed on to the system allocator unchanged.
        unsafe impl GlobalAlloc for Counting {
            unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
                count(layout.size());
                // SAFETY: the caller's guarantees hold for System as well.
                unsafe { System.alloc(layout) }
            }

            unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
                count(layout.size());
                // SAFETY: as above.
                unsafe { System.alloc_zeroed(layout) }
            }

            unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
                count(new_size);
                // SAFETY: as above.
                unsafe { System.realloc(ptr, layout, new_size) }
            }

            unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
                // SAFETY: as above.
                unsafe { System.dealloc(ptr, layout) }
            }
        }

        /// The bytes `work` allocates on this thread.
        pub(super) fn during(work: impl FnOnce()) -> usize {
            BYTES.with(|total| total.set(0));
            COUNTING.with(|on| on.set(true));
            work();
            COUNTING.with(|on| on.set(false));
            BYTES.with(Cell::get)
        }
    }

    #[test]
    fn assembling_arguments_costs_in_proportion_to_their_length() {
        // Arguments streamed a few bytes at a time, the way models stream them.
        let assemble = |fragments: usize| {
            let mut events = vec![call(Some("a"), Some(0), Some("sum"), "{\"items\": [")];
            events.extend((0..fragments).map(|_| call(None, Some(0), None, "1, ")));
            events.push(call(None, Some(0), None, "0]}"));
            let events: Vec<String> = events.iter().map(Value::to_string).collect();
            let mut calls = Vec::new();
            let bytes = allocations::during(|| {
                let mut asm = Assembler::default();
                let mut out = Vec::new();
                for event in &events {
                    asm.event(None, event, &mut out).unwrap();
                }
                asm.finish(&mut out);
                calls = out;
            });
            let Some(Delta::ToolCall(call)) = calls.first() else {
                panic!("no call in {calls:?}");
            };
            let args: Value = serde_json::from_str(&call.arguments).unwrap();
            assert_eq!(args["items"].as_array().map(Vec::len), Some(fragments + 1));
            bytes
        };
        let (small, large) = (assemble(2_000), assemble(8_000));
        // Four times the fragments: four times the bytes when linear, sixteen when every
        // fragment has the whole text parsed again.
        let ratio = large as f64 / small as f64;
        assert!(
            ratio < 6.0,
            "{small} bytes, then {large}: {ratio:.1} times as many"
        );
    }

    #[test]
    fn invalid_arguments_are_passed_on_raw() {
        let (_, _, calls, _) = run(&[call(Some("a"), Some(0), Some("add"), "{\"x\": 1,")], true);
        assert_eq!(calls[0].arguments, "{\"x\": 1,");
    }

    #[test]
    fn reasoning_fields_and_think_tags() {
        let chunks = [
            delta(json!({"reasoning_content": "a", "reasoning": "a"})),
            delta(json!({"reasoning": "b"})),
            delta(json!({"content": "done"})),
        ];
        let (text, reasoning, _, _) = run(&chunks, true);
        assert_eq!((text.as_str(), reasoning.as_str()), ("done", "ab"));

        let stream = "\n<think>\nweigh it </thi up</think>\n\nThe answer: <think> stays";
        // Cut the inline block at every place: the split never depends on the cut.
        for cut in 0..=stream.len() {
            if !stream.is_char_boundary(cut) {
                continue;
            }
            let (a, b) = stream.split_at(cut);
            let chunks = [delta(json!({"content": a})), delta(json!({"content": b}))];
            let (text, reasoning, _, _) = run(&chunks, true);
            assert_eq!(text, "The answer: <think> stays", "cut at {cut}");
            assert_eq!(reasoning, "\nweigh it </thi up", "cut at {cut}");
        }
        // Not a think block: the text is kept exactly, leading whitespace included.
        let (text, reasoning, _, _) = run(&[delta(json!({"content": "  <thin"}))], true);
        assert_eq!((text.as_str(), reasoning.as_str()), ("  <thin", ""));
        // A block never closed is reasoning.
        let (text, reasoning, _, _) = run(&[delta(json!({"content": "<think>hmm"}))], false);
        assert_eq!((text.as_str(), reasoning.as_str()), ("", "hmm"));
    }

    #[test]
    fn finish_usage_and_truncation() {
        let stop =
            json!({"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}], "usage": null});
        let usage = json!({"choices": [], "usage": {"prompt_tokens": 3, "completion_tokens": 4}});
        let (_, _, _, end) = run(&[stop.clone(), usage], true);
        assert_eq!(
            end,
            Delta::Done {
                finish_reason: Some("stop".into()),
                usage: Some(Usage {
                    prompt_tokens: 3,
                    completion_tokens: 4,
                    cached_tokens: 0,
                }),
                truncated: false
            }
        );
        // Cached prompt tokens, as OpenAI and DeepSeek report them.
        for cached in [
            json!({"prompt_tokens": 30, "completion_tokens": 4, "prompt_tokens_details": {"cached_tokens": 24}}),
            json!({"prompt_tokens": 30, "completion_tokens": 4, "prompt_cache_hit_tokens": 24}),
        ] {
            let usage = json!({"choices": [], "usage": cached});
            let (_, _, _, end) = run(&[stop.clone(), usage], true);
            let Delta::Done { usage, .. } = end else {
                panic!("not the end: {end:?}");
            };
            assert_eq!(usage.map(|u| u.cached_tokens), Some(24));
        }
        // A finish reason without [DONE] is a whole reply; neither is a truncated one.
        assert!(matches!(
            run(&[stop], false).3,
            Delta::Done {
                truncated: false,
                ..
            }
        ));
        let (text, _, _, end) = run(&[delta(json!({"content": "half"}))], false);
        assert_eq!(text, "half");
        assert_eq!(
            end,
            Delta::Done {
                finish_reason: None,
                usage: None,
                truncated: true
            }
        );
    }

    #[test]
    fn other_choices_and_garbage() {
        let chunk = json!({"choices": [
            {"index": 1, "delta": {"content": "B"}},
            {"index": 0, "delta": {"content": "A", "tool_calls": "nonsense"}},
            {"index": "x"},
            "not an object"
        ], "usage": {"prompt_tokens": "many"}});
        let (text, _, calls, end) = run(&[chunk, json!([1, 2]), json!(null)], true);
        assert_eq!(text, "A");
        assert!(calls.is_empty());
        assert!(matches!(end, Delta::Done { usage: None, .. }));
        let mut asm = Assembler::default();
        let err = asm.event(None, "{not json", &mut Vec::new()).unwrap_err();
        assert!(err.message.contains("not JSON"), "{}", err.message);
    }

    #[test]
    fn error_objects_end_the_stream() {
        let mut asm = Assembler::default();
        let mut out = Vec::new();
        let data = json!({"error": {"code": 400, "message": "Token limit reached"}}).to_string();
        let err = asm.event(None, &data, &mut out).unwrap_err();
        assert!(
            err.message.contains("Token limit reached"),
            "{}",
            err.message
        );
        assert_eq!(err.status, Some(400));
        let err = asm
            .event(Some("error"), "overloaded", &mut out)
            .unwrap_err();
        assert!(err.message.contains("overloaded"), "{}", err.message);
        assert!(out.is_empty());
    }
}
