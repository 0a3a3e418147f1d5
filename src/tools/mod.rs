//! Tools agents can call: the [`Tool`] trait, the per-crew [`ToolRegistry`], the built-in
//! tools, command tools declared in the crew, tools bound to scripted results, and the
//! isolation every call runs under.
//!
//! Every call is isolated: a panic, a timeout, an error or oversized output becomes a
//! [`ToolOutcome`], never a crash. This module knows nothing of sessions or events.

mod beneath;
mod calculator;
mod command;
mod fault;
mod fs;
mod isolation;
mod scripted;
#[cfg(test)]
mod test_support;
mod text_calls;
mod time;

use std::collections::BTreeMap;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;

use crate::config::model::{Crew, Settings};
use crate::provider::{ToolCallRequest, ToolSpec};
use crate::redact::Secrets;

pub use isolation::in_tool_call;
pub use text_calls::parse_text_calls;
pub use time::format_rfc3339_utc;

/// Why a tool call failed, as reported in `tool_failed` events.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ToolFailureKind {
    /// The tool panicked; the error carries the panic message.
    Panic,
    /// The tool ran past its timeout and was stopped.
    Timeout,
    /// The tool ran and reported a failure (for a command tool: non-zero exit and stderr).
    Error,
    /// The model called a tool the agent was not granted, or that does not exist.
    NotFound,
    /// The model's arguments were not valid JSON or not an object.
    BadArguments,
    /// The user denied the call at its gate; it never ran. Not the agent's failure.
    Denied,
}

impl ToolFailureKind {
    /// What happened, in words: `panicked`, `timed out`, ...
    pub fn describe(self) -> &'static str {
        match self {
            ToolFailureKind::Panic => "panicked",
            ToolFailureKind::Timeout => "timed out",
            ToolFailureKind::Error => "failed",
            ToolFailureKind::NotFound => "not found",
            ToolFailureKind::BadArguments => "bad arguments",
            ToolFailureKind::Denied => "denied",
        }
    }
}

pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A tool an agent can call.
pub trait Tool: Send + Sync {
    /// Name, description and JSON schema of the arguments, as offered to the model.
    fn spec(&self) -> &ToolSpec;

    /// Ok(output) or Err(message) for a failure the tool itself reports.
    ///
    /// `args` is always a JSON object. The future runs in a task of its own; it is dropped
    /// when the call times out or is cancelled, so whatever it owns must clean up on drop.
    fn call<'a>(
        &'a self,
        args: serde_json::Value,
        ctx: &'a ToolContext,
    ) -> BoxFuture<'a, Result<String, String>>;

    /// A timeout of the tool's own, overriding [`ToolLimits::timeout`].
    fn timeout(&self) -> Option<Duration> {
        None
    }
}

/// What a running call is given besides its arguments.
#[derive(Clone, Debug)]
pub struct ToolContext {
    /// Fires when the call is cancelled or times out, so a tool can stop on its own.
    pub cancel: CancellationToken,
}

/// Names that always exist without being declared in the crew.
pub const BUILTIN_TOOLS: &[&str] = &[
    "current_time",
    "calculator",
    "read_file",
    "list_dir",
    "fault",
];

/// Bounds every call runs under.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ToolLimits {
    pub timeout: Duration,
    /// Output past this many bytes is cut, with a visible marker.
    pub output_limit: usize,
    /// Calls one agent turn may run; the engine counts them and refuses the rest with
    /// [`ToolLimits::refused`].
    pub max_calls_per_turn: u32,
}

impl ToolLimits {
    pub fn from_settings(settings: &Settings) -> Self {
        Self {
            timeout: settings.tool_timeout(),
            output_limit: settings.tool_output_limit,
            max_calls_per_turn: settings.max_tool_calls_per_turn,
        }
    }

    /// The outcome of a call past `max_calls_per_turn`, which is not run. It goes back to the
    /// model like any failure, so the message says what to do instead.
    pub fn refused(&self) -> ToolOutcome {
        let max = self.max_calls_per_turn;
        ToolOutcome::Failed {
            kind: ToolFailureKind::Error,
            error: format!(
                "not run: this turn already made {max} tool calls, the most one turn may make \
                 (settings.max_tool_calls_per_turn); answer with what you have"
            ),
            elapsed_ms: 0,
        }
    }
}

/// How one call ended.
#[derive(Clone, Debug, PartialEq)]
pub enum ToolOutcome {
    Completed {
        output: String,
        truncated: bool,
        elapsed_ms: u64,
    },
    Failed {
        kind: ToolFailureKind,
        error: String,
        elapsed_ms: u64,
    },
    /// The cancellation token fired before the tool finished (the tool was stopped).
    Cancelled,
}

/// The tools of one crew, by name. Cheap to clone: tools are shared, never mutated.
#[derive(Clone, Default)]
pub struct ToolRegistry {
    tools: BTreeMap<String, Arc<dyn Tool>>,
    /// The values of the crew's key variables: cut out of whatever any tool returns, as a
    /// second line behind the environment command tools get (which holds none of them).
    secrets: Secrets,
    /// The tools bound to scripted results, also in `tools`: what a resumed session tells how
    /// many results its recording used.
    scripted: BTreeMap<String, Arc<scripted::ScriptedTool>>,
}

impl fmt::Debug for ToolRegistry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ToolRegistry")
            .field("tools", &self.tools.keys().collect::<Vec<_>>())
            .field("secrets", &self.secrets)
            .finish()
    }
}

impl ToolRegistry {
    /// The built-ins (read_file/list_dir rooted at crew.settings.files_root, which the loader
    /// has already made absolute) plus crew.tools as command tools. The values of the crew's
    /// [key variables](Crew::key_variables) are read from the environment now.
    ///
    /// A command tool named like a built-in replaces it: what the crew declares wins.
    pub fn for_crew(crew: &Crew) -> Self {
        let root = &crew.settings.files_root;
        let keys = Arc::new(crew.key_variables());
        let mut registry = Self {
            tools: BTreeMap::new(),
            secrets: Secrets::new(keys.iter().filter_map(|var| std::env::var(var).ok())),
            scripted: BTreeMap::new(),
        };
        registry.insert(Arc::new(time::CurrentTime::new()));
        registry.insert(Arc::new(calculator::Calculator::new()));
        registry.insert(Arc::new(fs::ReadFile::new(root.clone())));
        registry.insert(Arc::new(fs::ListDir::new(root.clone())));
        registry.insert(Arc::new(fault::Fault::new()));
        for (name, config) in &crew.tools {
            let tool = command::CommandTool::new(name, config, Arc::clone(&keys));
            registry.insert(Arc::new(tool));
        }
        for (name, config) in &crew.scripted_tools {
            let tool = Arc::new(scripted::ScriptedTool::new(name, config));
            registry.scripted.insert(name.clone(), Arc::clone(&tool));
            registry.insert(tool);
        }
        registry
    }

    /// For a resumed session: the recording's calls of each scripted tool that gave a result
    /// (`used`, by tool name) count as given, so the next call gets the next result.
    pub fn continue_scripted<'a>(&self, used: impl IntoIterator<Item = (&'a str, usize)>) {
        for (name, n) in used {
            if let Some(tool) = self.scripted.get(name) {
                tool.skip(n);
            }
        }
    }

    /// Register another tool (tests use this to add tools of their own); replaces one of the
    /// same name.
    pub fn insert(&mut self, tool: Arc<dyn Tool>) {
        self.tools.insert(tool.spec().name.clone(), tool);
    }

    /// Whether a tool of this name exists, granted to anyone or not.
    pub fn contains(&self, name: &str) -> bool {
        self.tools.contains_key(name)
    }

    /// Specs of the granted tools that exist, in the order granted (each name once).
    pub fn specs(&self, granted: &[String]) -> Vec<ToolSpec> {
        let mut specs: Vec<ToolSpec> = Vec::with_capacity(granted.len());
        for name in granted {
            if specs.iter().any(|s| &s.name == name) {
                continue;
            }
            if let Some(tool) = self.tools.get(name) {
                specs.push(tool.spec().clone());
            }
        }
        specs
    }

    /// Run one call, isolated. Per-tool timeout for command tools (their timeout_seconds)
    /// overrides limits.timeout.
    pub async fn call(
        &self,
        granted: &[String],
        request: &ToolCallRequest,
        limits: &ToolLimits,
        cancel: CancellationToken,
    ) -> ToolOutcome {
        let started = Instant::now();
        // The name and the arguments come from the model and may be of any size.
        let failed = |kind, error| ToolOutcome::Failed {
            kind,
            error: isolation::truncate(self.secrets.redact(error), limits.output_limit).0,
            elapsed_ms: elapsed_ms(started),
        };
        let name = &request.name;
        let tool = match self.tools.get(name) {
            Some(tool) if granted.contains(name) => Arc::clone(tool),
            // The crew lists it, and nothing provides it: a go-agentic tool left unbound.
            None if granted.contains(name) => {
                let error = format!(
                    "tool `{name}` is not bound to anything: crewtui has no tool of this name \
                     (go-agentic's are Go functions of its host program) and no bindings file \
                     binds it; answer without it"
                );
                return failed(ToolFailureKind::NotFound, error);
            }
            found => {
                let why = if found.is_some() {
                    "is not granted to this agent"
                } else {
                    "does not exist"
                };
                let list = if granted.is_empty() {
                    "none".to_string()
                } else {
                    granted.join(", ")
                };
                let error = format!("tool `{name}` {why} (granted: {list})");
                return failed(ToolFailureKind::NotFound, error);
            }
        };
        let args = match parse_arguments(&request.arguments) {
            Ok(args) => args,
            Err(error) => return failed(ToolFailureKind::BadArguments, error),
        };
        let timeout = tool.timeout().unwrap_or(limits.timeout);
        let bounds = isolation::Bounds {
            timeout,
            output_limit: limits.output_limit,
            secrets: &self.secrets,
        };
        isolation::run(tool, args, bounds, cancel, started).await
    }
}

/// The model's raw argument text as a JSON object; empty text means no arguments.
fn parse_arguments(text: &str) -> Result<serde_json::Value, String> {
    if text.trim().is_empty() {
        return Ok(serde_json::Value::Object(serde_json::Map::new()));
    }
    match serde_json::from_str::<serde_json::Value>(text) {
        Ok(value @ serde_json::Value::Object(_)) => Ok(value),
        Ok(other) => Err(format!(
            "arguments must be a JSON object, got {}",
            json_kind(&other)
        )),
        Err(e) => Err(format!("arguments are not valid JSON: {e}")),
    }
}

fn json_kind(value: &serde_json::Value) -> &'static str {
    match value {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}

fn elapsed_ms(started: Instant) -> u64 {
    u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX)
}

/// The string argument `key` of a call, or a message saying it is missing.
fn string_arg<'v>(args: &'v serde_json::Value, key: &str) -> Result<&'v str, String> {
    match args.get(key) {
        Some(serde_json::Value::String(s)) => Ok(s),
        Some(other) => Err(format!(
            "argument `{key}` must be a string, got {}",
            json_kind(other)
        )),
        None => Err(format!("missing string argument `{key}`")),
    }
}

/// A tool's spec as a crew or bindings file describes it; a schema that is not an object (which
/// no model would take) becomes an object of anything.
fn declared_spec(name: &str, description: &str, parameters: &serde_json::Value) -> ToolSpec {
    let parameters = if parameters.is_object() {
        parameters.clone()
    } else {
        serde_json::json!({"type": "object", "properties": {}})
    };
    ToolSpec {
        name: name.to_string(),
        description: description.to_string(),
        parameters,
    }
}

/// A JSON schema for an arguments object whose properties are all strings.
fn string_params(props: &[(&str, &str)], required: &[&str]) -> serde_json::Value {
    let properties: serde_json::Map<String, serde_json::Value> = props
        .iter()
        .map(|(name, description)| {
            let schema = serde_json::json!({"type": "string", "description": description});
            ((*name).to_string(), schema)
        })
        .collect();
    serde_json::json!({
        "type": "object",
        "properties": properties,
        "required": required,
    })
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use serde_json::json;

    use super::*;
    use crate::tools::test_support::{TestDir, crew};

    /// A tool made of a function, for tests that need a tool to misbehave in a given way.
    struct FnTool {
        spec: ToolSpec,
        run: fn(serde_json::Value) -> BoxFuture<'static, Result<String, String>>,
    }

    impl Tool for FnTool {
        fn spec(&self) -> &ToolSpec {
            &self.spec
        }

        fn call<'a>(
            &'a self,
            args: serde_json::Value,
            _ctx: &'a ToolContext,
        ) -> BoxFuture<'a, Result<String, String>> {
            (self.run)(args)
        }
    }

    fn fn_tool(
        name: &str,
        run: fn(serde_json::Value) -> BoxFuture<'static, Result<String, String>>,
    ) -> Arc<dyn Tool> {
        Arc::new(FnTool {
            spec: ToolSpec {
                name: name.to_string(),
                description: String::new(),
                parameters: json!({"type": "object", "properties": {}}),
            },
            run,
        })
    }

    struct Fixture {
        _dir: TestDir,
        registry: ToolRegistry,
        granted: Vec<String>,
    }

    fn fixture() -> Fixture {
        let dir = TestDir::new("registry");
        let mut registry = ToolRegistry::for_crew(&crew(dir.path(), Vec::new()));
        registry.insert(fn_tool("static_panic", |_| {
            Box::pin(async { panic!("static message") })
        }));
        registry.insert(fn_tool("pending", |_| Box::pin(std::future::pending())));
        registry.insert(fn_tool("flag", |_| {
            Box::pin(async { Ok(in_tool_call().to_string()) })
        }));
        registry.insert(fn_tool("big", |args| {
            let n = args["n"].as_u64().unwrap_or(0) as usize;
            Box::pin(async move { Ok("é".repeat(n)) })
        }));
        let granted = BUILTIN_TOOLS
            .iter()
            .chain(&["static_panic", "pending", "flag", "big"])
            .map(|s| s.to_string())
            .collect();
        Fixture {
            _dir: dir,
            registry,
            granted,
        }
    }

    const LIMITS: ToolLimits = ToolLimits {
        timeout: Duration::from_secs(30),
        output_limit: 16 * 1024,
        max_calls_per_turn: 64,
    };

    fn request(name: &str, arguments: &str) -> ToolCallRequest {
        ToolCallRequest {
            id: "call-1".to_string(),
            name: name.to_string(),
            arguments: arguments.to_string(),
        }
    }

    impl Fixture {
        async fn call_with(&self, name: &str, arguments: &str, limits: &ToolLimits) -> ToolOutcome {
            let request = request(name, arguments);
            let cancel = CancellationToken::new();
            self.registry
                .call(&self.granted, &request, limits, cancel)
                .await
        }

        async fn call(&self, name: &str, arguments: &str) -> ToolOutcome {
            self.call_with(name, arguments, &LIMITS).await
        }
    }

    #[track_caller]
    fn assert_failed(outcome: &ToolOutcome, expected: ToolFailureKind, needle: &str) {
        match outcome {
            ToolOutcome::Failed { kind, error, .. } => {
                assert_eq!(*kind, expected, "{error}");
                assert!(
                    error.contains(needle),
                    "{error:?} does not mention {needle:?}"
                );
            }
            other => panic!("expected {expected:?} failure, got {other:?}"),
        }
    }

    fn completed(outcome: ToolOutcome) -> String {
        match outcome {
            ToolOutcome::Completed { output, .. } => output,
            other => panic!("expected completion, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn a_panicking_tool_fails_with_its_message_and_the_process_goes_on() {
        let f = fixture();
        let outcome = f
            .call("fault", r#"{"mode": "panic", "message": "boom 42"}"#)
            .await;
        assert_failed(&outcome, ToolFailureKind::Panic, "boom 42");
        let outcome = f.call("static_panic", "").await;
        assert_failed(&outcome, ToolFailureKind::Panic, "static message");
        let after = f.call("calculator", r#"{"expression": "1 + 1"}"#).await;
        assert_eq!(completed(after), "2");
    }

    #[tokio::test(start_paused = true)]
    async fn a_hanging_tool_times_out() {
        let f = fixture();
        let limits = ToolLimits {
            timeout: Duration::from_millis(200),
            ..LIMITS
        };
        let outcome = f.call_with("fault", r#"{"mode": "hang"}"#, &limits).await;
        assert_failed(&outcome, ToolFailureKind::Timeout, "timed out after 0.2 s");
        // A tool that ignores its cancellation token is stopped all the same.
        let outcome = f.call_with("pending", "{}", &limits).await;
        assert_failed(&outcome, ToolFailureKind::Timeout, "timed out");
    }

    // Paused, the clock moves only to the next timer: to the cancel, and on to the call's
    // timeout (30 s) if the cancel did not stop it.
    #[tokio::test(start_paused = true)]
    async fn cancelling_stops_a_running_call_promptly() {
        let f = fixture();
        let cancel = CancellationToken::new();
        let canceller = {
            let cancel = cancel.clone();
            tokio::spawn(async move {
                tokio::time::sleep(Duration::from_millis(100)).await;
                cancel.cancel();
                tokio::time::Instant::now()
            })
        };
        let hang = request("fault", r#"{"mode": "hang"}"#);
        let outcome = f.registry.call(&f.granted, &hang, &LIMITS, cancel).await;
        let cancelled_at = canceller.await.unwrap();
        assert_eq!(outcome, ToolOutcome::Cancelled);
        // The contract: stopped within 100 ms of the cancel.
        let took = cancelled_at.elapsed();
        assert!(took < Duration::from_millis(100), "{took:?}");

        let already = CancellationToken::new();
        already.cancel();
        let quick = request("calculator", r#"{"expression": "1"}"#);
        let outcome = f.registry.call(&f.granted, &quick, &LIMITS, already).await;
        assert_eq!(outcome, ToolOutcome::Cancelled);
    }

    #[tokio::test]
    async fn long_output_is_cut_at_a_char_boundary_with_a_marker() {
        let f = fixture();
        // 2-byte chars and an odd limit, so the cut falls inside a char.
        let limits = ToolLimits {
            output_limit: 16 * 1024 + 1,
            ..LIMITS
        };
        match f.call_with("big", r#"{"n": 25000}"#, &limits).await {
            ToolOutcome::Completed {
                output, truncated, ..
            } => {
                assert!(truncated);
                let (shown, marker) = output.rsplit_once('\n').unwrap();
                assert_eq!(marker, "… [output truncated: 16384 of 50000 bytes shown]");
                assert_eq!(shown, "é".repeat(8192));
            }
            other => panic!("{other:?}"),
        }
        match f.call_with("big", r#"{"n": 100}"#, &limits).await {
            ToolOutcome::Completed {
                output, truncated, ..
            } => {
                assert!(!truncated);
                assert_eq!(output.len(), 200);
            }
            other => panic!("{other:?}"),
        }
    }

    #[tokio::test]
    async fn arguments_must_be_a_json_object() {
        let f = fixture();
        let outcome = f.call("calculator", "{\"expression\": ").await;
        assert_failed(&outcome, ToolFailureKind::BadArguments, "not valid JSON");
        let outcome = f.call("calculator", "[1, 2]").await;
        assert_failed(
            &outcome,
            ToolFailureKind::BadArguments,
            "must be a JSON object, got an array",
        );
        let outcome = f.call("current_time", "  ").await;
        let time = completed(outcome);
        assert!(time.len() == 20 && time.ends_with('Z'), "{time}");
    }

    #[tokio::test]
    async fn unknown_and_ungranted_tools_are_not_found() {
        let f = fixture();
        let outcome = f.call("web_search", "{}").await;
        assert_failed(
            &outcome,
            ToolFailureKind::NotFound,
            "tool `web_search` does not exist",
        );
        assert_failed(&outcome, ToolFailureKind::NotFound, "calculator, read_file");

        let granted = vec!["current_time".to_string()];
        let calc = request("calculator", r#"{"expression": "1"}"#);
        let outcome = f
            .registry
            .call(&granted, &calc, &LIMITS, CancellationToken::new())
            .await;
        assert_failed(
            &outcome,
            ToolFailureKind::NotFound,
            "tool `calculator` is not granted to this agent (granted: current_time)",
        );
        let outcome = f
            .registry
            .call(&[], &calc, &LIMITS, CancellationToken::new())
            .await;
        assert_failed(&outcome, ToolFailureKind::NotFound, "(granted: none)");
    }

    #[tokio::test]
    async fn errors_the_tool_reports_are_failures() {
        let f = fixture();
        let outcome = f
            .call("fault", r#"{"mode": "error", "message": "disk on fire"}"#)
            .await;
        assert_failed(&outcome, ToolFailureKind::Error, "disk on fire");
        let outcome = f.call("fault", r#"{"mode": "explode"}"#).await;
        assert_failed(&outcome, ToolFailureKind::Error, "unknown mode `explode`");
        let outcome = f.call("calculator", r#"{"expression": "1/0"}"#).await;
        assert_failed(&outcome, ToolFailureKind::Error, "division by zero");
    }

    #[tokio::test]
    async fn in_tool_call_is_true_only_inside_a_tool() {
        let f = fixture();
        assert!(!in_tool_call());
        assert_eq!(completed(f.call("flag", "").await), "true");
        assert!(!in_tool_call());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_panic_hook_sees_the_flag_while_a_tool_panics() {
        static SEEN: std::sync::Mutex<Vec<bool>> = std::sync::Mutex::new(Vec::new());
        const MARK: &str = "flag check 7d1f";
        // Chained, so panics of other tests still reach the default hook.
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if info.payload_as_str().is_some_and(|m| m.contains(MARK)) {
                SEEN.lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .push(in_tool_call());
            } else {
                previous(info);
            }
        }));
        let f = fixture();
        let args = format!(r#"{{"mode": "panic", "message": "{MARK}"}}"#);
        let outcome = f.call("fault", &args).await;
        assert_failed(&outcome, ToolFailureKind::Panic, MARK);
        let seen = SEEN.lock().unwrap_or_else(|e| e.into_inner()).clone();
        assert_eq!(seen, [true]);
    }

    #[test]
    fn specs_follow_the_grant_order() {
        let f = fixture();
        let granted = ["list_dir", "no_such_tool", "calculator", "list_dir"].map(String::from);
        let names: Vec<_> = f
            .registry
            .specs(&granted)
            .into_iter()
            .map(|s| s.name)
            .collect();
        assert_eq!(names, ["list_dir", "calculator"]);
        for name in BUILTIN_TOOLS {
            let spec = &f.registry.specs(&[name.to_string()])[0];
            assert!(!spec.description.is_empty(), "{name}");
            assert_eq!(spec.parameters["type"], "object", "{name}");
        }
    }
}
