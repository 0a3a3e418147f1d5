//! The `openai` provider against a fake OpenAI-compatible server over real HTTP: framing,
//! deltas, retries, timeouts, cancellation, keys, and a whole headless run of the binary.
//! Where a test is about back-offs or deadlines, the provider runs on a [`TestClock`]: the test
//! sees each wait asked for and moves the clock past a deadline itself.

mod common;
#[path = "common/fake_openai.rs"]
mod fake_openai;
#[path = "common/provider_clock.rs"]
mod provider_clock;

use std::sync::Arc;
use std::time::Duration;

use common::{crew, finish, run_to_end, streamed, types};
use crewtui::config::model::Settings;
use crewtui::engine::{
    self, Command, Event, EventKind, Outcome, SessionHandle, SessionParts, ToolFailureKind,
};
use crewtui::provider::{OpenAiProvider, Provider, Usage};
use fake_openai::{End, FakeServer, Framing, Reply, collect, provider, request};
use provider_clock::TestClock;
use serde_json::{Value, json};

fn chunk(delta: Value) -> String {
    json!({"id": "c1", "object": "chat.completion.chunk", "choices": [{"index": 0, "delta": delta, "finish_reason": null}]})
        .to_string()
}

fn text(t: &str) -> String {
    chunk(json!({"content": t}))
}

fn stop(reason: &str) -> String {
    json!({"choices": [{"index": 0, "delta": {}, "finish_reason": reason}]}).to_string()
}

fn usage(prompt: u64, completion: u64) -> String {
    json!({"choices": [], "usage": {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}})
        .to_string()
}

fn tool_call(id: Option<&str>, index: Option<u64>, name: Option<&str>, args: &str) -> String {
    let mut call = json!({"function": {"arguments": args}});
    if let Some(id) = id {
        call["id"] = id.into();
        call["type"] = "function".into();
    }
    if let Some(index) = index {
        call["index"] = index.into();
    }
    if let Some(name) = name {
        call["function"]["name"] = name.into();
    }
    chunk(json!({"tool_calls": [call]}))
}

/// A plain reply: "Hello, world!" in three deltas, stop, usage, [DONE].
fn hello_events() -> Vec<String> {
    vec![
        chunk(json!({"role": "assistant", "content": ""})),
        text("Hello"),
        text(", wor"),
        text("ld!"),
        stop("stop"),
        usage(9, 3),
        "[DONE]".into(),
    ]
}

fn as_strs(events: &[String]) -> Vec<&str> {
    events.iter().map(String::as_str).collect()
}

/// The hello reply as one SSE body with the given event separator.
fn hello_body(separator: &str) -> Vec<u8> {
    hello_events()
        .iter()
        .map(|e| format!("data: {e}{separator}"))
        .collect::<String>()
        .into_bytes()
}

fn quick() -> Settings {
    Settings {
        max_retries: 2,
        first_token_timeout_seconds: 5,
        stream_idle_timeout_seconds: 5,
        ..Settings::default()
    }
}

/// A keyless provider aimed at `server`, on a clock of the test's own.
fn clocked(server: &FakeServer, settings: &Settings) -> (OpenAiProvider, TestClock) {
    let clock = TestClock::new();
    let p = provider(server, None, settings).with_clock(clock.handle());
    (p, clock)
}

fn assert_hello(got: &fake_openai::Streamed) {
    assert_eq!(got.error, None);
    assert_eq!(got.text, "Hello, world!");
    assert_eq!(
        got.done,
        Some((
            Some("stop".into()),
            Some(Usage {
                prompt_tokens: 9,
                completion_tokens: 3,
                cached_tokens: 0
            }),
            false
        ))
    );
}

#[tokio::test]
async fn plain_stream_and_the_request_it_answers() {
    let server = FakeServer::start(vec![Reply::events(&as_strs(&hello_events()))]).await;
    let p = provider(&server, Some("sk-test-key"), &quick());
    let got = collect(p.stream(request("hi"))).await;
    assert_hello(&got);

    let seen = server.requests();
    assert_eq!(seen.len(), 1);
    assert!(
        seen[0]
            .head
            .starts_with("POST /v1/chat/completions HTTP/1.1"),
        "{}",
        seen[0].head
    );
    assert_eq!(
        seen[0].header("authorization").as_deref(),
        Some("Bearer sk-test-key")
    );
    assert_eq!(
        seen[0].header("content-type").as_deref(),
        Some("application/json")
    );
    assert_eq!(
        seen[0].body,
        json!({
            "model": "test-model",
            "messages": [
                {"role": "system", "content": "You are A."},
                {"role": "user", "content": "hi"},
            ],
            "temperature": 0.25,
            "max_tokens": 64,
            "stream": true,
            "stream_options": {"include_usage": true},
        })
    );
}

#[tokio::test]
async fn framing_variants_give_the_same_reply() {
    let bodies = [
        ("1-byte chunks", Reply::sse(hello_body("\n\n")).cut(&[1])),
        ("CRLF", Reply::sse(hello_body("\r\n\r\n")).cut(&[7, 3, 1])),
        ("CR", Reply::sse(hello_body("\r\r")).cut(&[5])),
        (
            "keep-alive comments",
            Reply::sse(
                hello_events()
                    .iter()
                    .map(|e| format!(": keep-alive\n\n: OPENROUTER PROCESSING\ndata: {e}\n\n"))
                    .collect::<String>(),
            )
            .cut(&[11]),
        ),
        (
            "data split over lines, ended by close",
            Reply::sse(hello_body("\n\n"))
                .framing(Framing::UntilClose)
                .cut(&[64]),
        ),
    ];
    for (name, reply) in bodies {
        let server = FakeServer::start(vec![reply.gap(Duration::from_millis(0))]).await;
        let got = collect(provider(&server, None, &quick()).stream(request("hi"))).await;
        assert_eq!(got.error, None, "{name}");
        assert_eq!(got.text, "Hello, world!", "{name}");
        assert!(
            matches!(got.done, Some((Some(_), Some(_), false))),
            "{name}: {:?}",
            got.done
        );
    }
    // Several data lines make one event, joined with a newline: a JSON value may be split so.
    let multi = "data: {\"choices\":[{\"index\":0,\ndata: \"delta\":{\"content\":\"two lines\"}}]}\n\ndata: [DONE]\n\n";
    let server = FakeServer::start(vec![Reply::sse(multi)]).await;
    let got = collect(provider(&server, None, &quick()).stream(request("hi"))).await;
    assert_eq!(got.text, "two lines");
}

#[tokio::test]
async fn a_character_split_across_network_chunks_arrives_whole() {
    let body = format!(
        "data: {}\n\ndata: {}\n\ndata: [DONE]\n\n",
        text("Grüße 🌍"),
        stop("stop")
    );
    let bytes = body.as_bytes();
    // Cut inside the two-byte ü and inside the four-byte globe, with pauses so that the client
    // really reads the pieces separately.
    let u = body.find('ü').unwrap() + 1;
    let globe = body.find('🌍').unwrap() + 2;
    let sizes = [u, globe - u, bytes.len() - globe];
    let reply = Reply::sse(bytes.to_vec())
        .cut(&sizes)
        .gap(Duration::from_millis(30));
    assert_eq!(reply.chunks.len(), 3);
    let server = FakeServer::start(vec![reply]).await;
    let got = collect(provider(&server, None, &quick()).stream(request("hi"))).await;
    assert_eq!(got.text, "Grüße 🌍");
}

#[tokio::test]
async fn tool_call_arguments_split_across_chunks() {
    let args = |got: &fake_openai::Streamed| got.calls();
    let with_index = vec![
        tool_call(Some("call_a"), Some(0), Some("add"), ""),
        tool_call(None, Some(0), None, "{\"a\":"),
        tool_call(Some("call_b"), Some(1), Some("mul"), "{\"x\""),
        tool_call(None, Some(0), None, " 2}"),
        tool_call(None, Some(1), None, ": 3}"),
        stop("tool_calls"),
        "[DONE]".into(),
    ];
    let without_index = vec![
        tool_call(Some("call_a"), None, Some("add"), "{\"a\""),
        tool_call(None, None, None, ": 2}"),
        tool_call(Some("call_b"), None, Some("mul"), "{\"x\": "),
        tool_call(None, None, None, "3}"),
        stop("tool_calls"),
        "[DONE]".into(),
    ];
    // Ollama: every call at index 0, each whole, with its own id.
    let index_zero = vec![
        tool_call(Some("call_a"), Some(0), Some("add"), "{\"a\": 2}"),
        tool_call(Some("call_b"), Some(0), Some("mul"), "{\"x\": 3}"),
        stop("tool_calls"),
        "[DONE]".into(),
    ];
    let expected = vec![
        ("add".to_string(), json!({"a": 2})),
        ("mul".to_string(), json!({"x": 3})),
    ];
    for (name, events) in [
        ("with index", with_index),
        ("without index", without_index),
        ("index 0", index_zero),
    ] {
        // Cut every 5 bytes as well, so fragments also split mid-event.
        let reply = Reply::events(&as_strs(&events)).cut(&[5]);
        let server = FakeServer::start(vec![reply]).await;
        let got = collect(provider(&server, None, &quick()).stream(request("hi"))).await;
        assert_eq!(got.error, None, "{name}");
        assert_eq!(args(&got), expected, "{name}");
        let ids: Vec<&str> = got.calls.iter().map(|c| c.id.as_str()).collect();
        assert_eq!(ids, ["call_a", "call_b"], "{name}");
        assert_eq!(
            got.done.as_ref().unwrap().0.as_deref(),
            Some("tool_calls"),
            "{name}"
        );
    }
}

#[tokio::test]
async fn usage_stays_unknown_when_the_server_sends_none() {
    let server =
        FakeServer::start(vec![Reply::events(&[&text("hi"), &stop("stop"), "[DONE]"])]).await;
    let got = collect(provider(&server, None, &quick()).stream(request("hi"))).await;
    assert_eq!(got.done, Some((Some("stop".into()), None, false)));
}

#[tokio::test]
async fn a_stream_that_just_ends_is_truncated() {
    let reply = Reply::events(&[&text("half a")]).framing(Framing::UntilClose);
    let server = FakeServer::start(vec![reply]).await;
    let got = collect(provider(&server, None, &quick()).stream(request("hi"))).await;
    assert_eq!(got.text, "half a");
    assert_eq!(got.done, Some((None, None, true)));
}

#[tokio::test]
async fn an_answer_without_events_is_an_error_not_an_empty_reply() {
    let settings = Settings {
        max_retries: 1,
        ..quick()
    };
    let page =
        Reply::sse("<html><body>Please log in</body></html>\n").header("content-type", "text/html");
    let server = FakeServer::start(vec![page, Reply::events(&as_strs(&hello_events()))]).await;
    let (p, clock) = clocked(&server, &settings);
    let got = collect(p.stream(request("hi"))).await;
    let error = got.error.expect("fails");
    assert!(
        error
            .message
            .contains("not an event stream: <html><body>Please log in"),
        "{}",
        error.message
    );
    assert_eq!(server.requests().len(), 1, "a page is not retried");
    assert!(clock.back_offs().is_empty(), "{:?}", clock.back_offs());
    // An empty answer is, once, after a back-off.
    let server = FakeServer::start(vec![
        Reply::sse(Vec::new()),
        Reply::events(&as_strs(&hello_events())),
    ])
    .await;
    let (p, clock) = clocked(&server, &settings);
    let got = collect(p.stream(request("hi"))).await;
    assert_hello(&got);
    assert_eq!(server.requests().len(), 2);
    assert_eq!(clock.back_offs().len(), 1);
}

#[tokio::test]
async fn a_server_that_does_not_stream_is_understood() {
    let whole = json!({
        "id": "x", "object": "chat.completion",
        "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": "All at once."}}],
        "usage": {"prompt_tokens": 4, "completion_tokens": 3},
    });
    let server = FakeServer::start(vec![Reply::status(200, &whole.to_string())]).await;
    let got = collect(provider(&server, None, &quick()).stream(request("hi"))).await;
    assert_eq!(got.text, "All at once.");
    assert_eq!(
        got.done,
        Some((
            Some("stop".into()),
            Some(Usage {
                prompt_tokens: 4,
                completion_tokens: 3,
                cached_tokens: 0
            }),
            false
        ))
    );
}

#[tokio::test]
async fn stream_options_rejected_then_sent_without() {
    let rejected = r#"{"error":{"message":"Unrecognized request argument supplied: stream_options","type":"invalid_request_error"}}"#;
    let server = FakeServer::start(vec![
        Reply::status(400, rejected),
        Reply::events(&[&text("ok"), &stop("stop"), "[DONE]"]),
    ])
    .await;
    let got = collect(provider(&server, None, &quick()).stream(request("hi"))).await;
    assert_eq!(got.error, None);
    assert_eq!(got.text, "ok");
    let seen = server.requests();
    assert_eq!(seen.len(), 2);
    assert!(seen[0].body.get("stream_options").is_some());
    assert!(seen[1].body.get("stream_options").is_none());
    assert_eq!(seen[1].body["stream"], true);
}

#[tokio::test]
async fn rate_limited_then_success_waits_as_asked() {
    let limited = r#"{"error":{"message":"Rate limit reached","type":"requests","code":"rate_limit_exceeded"}}"#;
    let server = FakeServer::start(vec![
        Reply::status(429, limited).header("retry-after-ms", "200"),
        Reply::events(&as_strs(&hello_events())),
    ])
    .await;
    let (p, clock) = clocked(&server, &quick());
    let got = collect(p.stream(request("hi"))).await;
    assert_hello(&got);
    assert_eq!(server.requests().len(), 2, "one retry");
    assert_eq!(clock.back_offs(), [Duration::from_millis(200)]);
}

#[tokio::test]
async fn retry_after_in_seconds_is_honoured() {
    let server = FakeServer::start(vec![
        Reply::status(503, "overloaded").header("retry-after", "1"),
        Reply::events(&as_strs(&hello_events())),
    ])
    .await;
    let (p, clock) = clocked(&server, &quick());
    let got = collect(p.stream(request("hi"))).await;
    assert_hello(&got);
    assert_eq!(server.requests().len(), 2);
    assert_eq!(clock.back_offs(), [Duration::from_secs(1)]);
}

#[tokio::test]
async fn out_of_quota_is_not_retried() {
    let quota = r#"{"error":{"message":"You exceeded your current quota, please check your plan and billing details.","type":"insufficient_quota","param":null,"code":"insufficient_quota"}}"#;
    let server = FakeServer::start(vec![
        Reply::status(429, quota),
        Reply::events(&as_strs(&hello_events())),
    ])
    .await;
    let (p, clock) = clocked(&server, &quick());
    let got = collect(p.stream(request("hi"))).await;
    let error = got.error.expect("fails");
    assert_eq!(error.status, Some(429));
    assert!(!error.retryable);
    assert!(
        error.message.contains("You exceeded your current quota"),
        "{}",
        error.message
    );
    assert!(
        error.message.contains("insufficient_quota"),
        "{}",
        error.message
    );
    assert_eq!(server.requests().len(), 1);
    assert!(clock.back_offs().is_empty(), "{:?}", clock.back_offs());
    assert_eq!(got.deltas, 1, "nothing but the error");
}

#[tokio::test]
async fn server_error_then_success_backs_off() {
    let server = FakeServer::start(vec![
        Reply::status(500, r#"{"error":{"message":"The server had an error"}}"#),
        Reply::events(&as_strs(&hello_events())),
    ])
    .await;
    let (p, clock) = clocked(&server, &quick());
    let got = collect(p.stream(request("hi"))).await;
    assert_hello(&got);
    assert_eq!(server.requests().len(), 2);
    // Half a second, less up to a quarter of it at random.
    let waited = clock.back_offs();
    assert!(
        matches!(waited[..], [w] if w >= Duration::from_millis(375) && w <= Duration::from_millis(500)),
        "{waited:?}"
    );
}

#[tokio::test]
async fn retries_stop_at_max_retries_and_report_the_last_failure() {
    let settings = Settings {
        max_retries: 1,
        ..quick()
    };
    let server = FakeServer::start(vec![
        Reply::status(502, "<html>bad gateway</html>"),
        Reply::status(502, "<html>still bad</html>"),
        Reply::events(&as_strs(&hello_events())),
    ])
    .await;
    let (p, clock) = clocked(&server, &settings);
    let got = collect(p.stream(request("hi"))).await;
    let error = got.error.expect("fails");
    assert_eq!(error.status, Some(502));
    assert!(error.retryable);
    assert!(
        error
            .message
            .contains("HTTP 502 Bad Gateway: <html>still bad</html>"),
        "{}",
        error.message
    );
    assert!(
        error.message.contains("after 2 attempts"),
        "{}",
        error.message
    );
    assert_eq!(server.requests().len(), 2);
    assert_eq!(clock.back_offs().len(), 1);
}

#[tokio::test]
async fn connection_refused_is_reported() {
    // Bind and drop a listener: its port is then (almost surely) closed.
    let addr = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let settings = Settings {
        max_retries: 0,
        ..quick()
    };
    let p = crewtui::provider::OpenAiProvider::new(
        "local",
        &format!("http://{addr}/v1"),
        None,
        &settings,
        &reqwest::Client::new(),
    )
    .unwrap();
    let got = collect(p.stream(request("hi"))).await;
    let error = got.error.expect("fails");
    println!("connection refused reported as: {}", error.message);
    assert_eq!(error.status, None);
    assert!(error.retryable);
    assert!(
        error.message.starts_with(&format!(
            "provider `local` (http://{addr}/v1/chat/completions): "
        )),
        "{}",
        error.message
    );
}

const SOLO: &str = r#"
name: fake-run
settings: {max_retries: 2, stream_idle_timeout_seconds: 1, first_token_timeout_seconds: 5}
providers:
  fake: {kind: openai, base_url: BASE}
agents:
  - {id: solo, provider: fake, model: test-model, is_terminal: true, tools: [calculator]}
"#;

fn solo_crew(server: &FakeServer) -> crewtui::config::model::Crew {
    crew(&SOLO.replace("BASE", &server.base_url()))
}

/// The solo crew's session, its provider on `clock`.
fn start_solo(server: &FakeServer, clock: &TestClock) -> SessionHandle {
    let crew = solo_crew(server);
    let mut parts = SessionParts::for_crew(&crew, &reqwest::Client::new());
    let p = provider(server, None, &crew.settings).with_clock(clock.handle());
    parts.providers.insert("fake", Arc::new(p));
    engine::start(crew, "go".into(), parts)
}

/// The solo crew run to its end on a clock that never moves: no deadline passes on a slow
/// machine.
async fn run_solo(server: &FakeServer) -> Vec<Event> {
    run_to_end(start_solo(server, &TestClock::new()), &[]).await
}

/// Far longer than a passing test waits on the server or the session, in real time.
const PATIENCE: Duration = Duration::from_secs(10);

/// Reads events into `events` until `agent` has streamed `text`.
async fn until_streamed(
    handle: &mut SessionHandle,
    events: &mut Vec<Event>,
    agent: &str,
    text: &str,
) {
    while streamed(events, agent) != text {
        let event = tokio::time::timeout(PATIENCE, handle.events.recv())
            .await
            .unwrap_or_else(|_| panic!("{agent} did not stream {text:?} in time"))
            .expect("session running");
        events.push(event);
    }
}

/// Reads the rest of the session's events into `events`.
async fn to_the_end(handle: &mut SessionHandle, events: &mut Vec<Event>) {
    while let Some(event) = tokio::time::timeout(PATIENCE, handle.events.recv())
        .await
        .expect("the session ends in time")
    {
        events.push(event);
    }
}

fn agent_failed(events: &[Event]) -> (String, Option<u16>, bool) {
    events
        .iter()
        .find_map(|e| match &e.kind {
            EventKind::AgentFailed {
                error,
                status,
                retryable,
                ..
            } => Some((error.clone(), *status, *retryable)),
            _ => None,
        })
        .expect("an agent_failed event")
}

fn messages(events: &[Event]) -> Vec<(String, bool)> {
    events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::Message {
                content, truncated, ..
            } => Some((content.clone(), *truncated)),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn invalid_tool_arguments_go_back_to_the_model_and_the_run_goes_on() {
    let server = FakeServer::start(vec![
        Reply::events(&[
            &tool_call(
                Some("call_bad"),
                Some(0),
                Some("calculator"),
                "{\"expression\": \"1+",
            ),
            &stop("tool_calls"),
            "[DONE]",
        ]),
        Reply::events(&[&text("Sorry, my call was broken."), &stop("stop"), "[DONE]"]),
    ])
    .await;
    let events = run_solo(&server).await;
    assert_eq!(
        finish(&events).0,
        Outcome::Completed,
        "{:?}",
        types(&events)
    );
    let failed = events
        .iter()
        .find_map(|e| match &e.kind {
            EventKind::ToolFailed {
                call_id,
                tool,
                kind,
                error,
                ..
            } => Some((call_id.clone(), tool.clone(), *kind, error.clone())),
            _ => None,
        })
        .expect("tool_failed");
    assert_eq!(
        (failed.0.as_str(), failed.1.as_str(), failed.2),
        ("call_bad", "calculator", ToolFailureKind::BadArguments)
    );
    assert!(failed.3.contains("not valid JSON"), "{}", failed.3);
    assert_eq!(streamed(&events, "solo"), "Sorry, my call was broken.");

    // The second request carries the call (arguments replaced by `{}`, which local servers
    // require to parse) and the failure as the tool's result.
    let seen = server.requests();
    assert_eq!(seen.len(), 2);
    let messages = seen[1].body["messages"].as_array().unwrap().clone();
    assert_eq!(messages[0]["role"], "system");
    assert_eq!(messages[1], json!({"role": "user", "content": "go"}));
    assert_eq!(
        messages[2],
        json!({"role": "assistant", "content": null, "tool_calls": [
            {"id": "call_bad", "type": "function", "function": {"name": "calculator", "arguments": "{}"}}
        ]})
    );
    assert_eq!(messages[3]["role"], "tool");
    assert_eq!(messages[3]["tool_call_id"], "call_bad");
    assert!(
        messages[3]["content"]
            .as_str()
            .unwrap()
            .contains("not valid JSON")
    );
    let tools = seen[0].body["tools"].as_array().unwrap();
    assert_eq!(tools[0]["type"], "function");
    assert_eq!(tools[0]["function"]["name"], "calculator");
    assert_eq!(tools[0]["function"]["parameters"]["type"], "object");
}

#[tokio::test]
async fn an_error_after_partial_text_keeps_the_text() {
    let error = json!({"error": {"message": "The model is overloaded", "type": "server_error"}})
        .to_string();
    let server = FakeServer::start(vec![Reply::events(&[&text("Hel"), &text("lo"), &error])]).await;
    let events = run_solo(&server).await;
    assert_eq!(finish(&events).0, Outcome::Failed);
    assert_eq!(streamed(&events, "solo"), "Hello");
    assert_eq!(messages(&events), [("Hello".to_string(), true)]);
    let (error, status, _) = agent_failed(&events);
    assert!(
        error.contains("mid-stream: The model is overloaded (server_error)"),
        "{error}"
    );
    assert_eq!(status, None);
    assert_eq!(
        server.requests().len(),
        1,
        "output was streamed: never sent again"
    );

    // `event: error` is an error too.
    let body = format!(
        "data: {}\n\nevent: error\ndata: {{\"error\":{{\"message\":\"tool_use_failed\",\"status_code\":400}}}}\n\n",
        text("Part")
    );
    let server = FakeServer::start(vec![Reply::sse(body)]).await;
    let got = collect(provider(&server, None, &quick()).stream(request("hi"))).await;
    assert_eq!(got.text, "Part");
    let error = got.error.expect("fails");
    assert_eq!(error.status, Some(400));
    assert!(
        error.message.contains("tool_use_failed"),
        "{}",
        error.message
    );
}

#[tokio::test]
async fn a_connection_reset_mid_stream_is_reported_once() {
    let reply = Reply::events(&[&text("Partial "), &text("answer")])
        .gap(Duration::from_millis(20))
        .end(End::Reset);
    let server = FakeServer::start(vec![reply, Reply::events(&as_strs(&hello_events()))]).await;
    let events = run_solo(&server).await;
    assert_eq!(finish(&events).0, Outcome::Failed);
    assert_eq!(server.requests().len(), 1, "never sent again after output");
    assert_eq!(messages(&events), [("Partial answer".to_string(), true)]);
    let (error, status, retryable) = agent_failed(&events);
    println!("reset mid-stream reported as: {error}");
    assert!(error.starts_with("provider `fake`"), "{error}");
    assert_eq!(status, None);
    assert!(retryable);
}

#[tokio::test]
async fn a_stall_past_the_idle_timeout_fails() {
    let reply = Reply::events(&[&text("Thinking about")]).end(End::Hang);
    let server = FakeServer::start(vec![reply]).await;
    let clock = TestClock::new();
    let mut handle = start_solo(&server, &clock);
    let mut events = Vec::new();
    until_streamed(&mut handle, &mut events, "solo", "Thinking about").await;
    // Waiting for more, the stream gives the server the idle timeout (1 s), not a moment less.
    assert_eq!(clock.deadline_ahead().await, Duration::from_secs(1));
    clock.advance(Duration::from_millis(999));
    assert_eq!(clock.deadline_ahead().await, Duration::from_millis(1));
    clock.advance(Duration::from_millis(1));
    to_the_end(&mut handle, &mut events).await;
    assert_eq!(finish(&events).0, Outcome::Failed);
    let (error, _, _) = agent_failed(&events);
    assert!(error.contains("nothing arrived for 1 s"), "{error}");
    assert_eq!(messages(&events), [("Thinking about".to_string(), true)]);
    assert_eq!(server.requests().len(), 1);
    // Giving up closed the connection.
    assert!(server.wait_disconnect(PATIENCE).await.is_some());
}

#[tokio::test]
async fn no_first_byte_in_time_is_retried_then_reported() {
    let settings = Settings {
        max_retries: 1,
        first_token_timeout_seconds: 1,
        ..quick()
    };
    let hang = Reply::sse(Vec::new()).end(End::Hang);
    let server = FakeServer::start(vec![hang.clone(), hang]).await;
    let (p, clock) = clocked(&server, &settings);
    let call = tokio::spawn(collect(p.stream(request("hi"))));
    // Each attempt gives the server the first-token timeout (1 s) for its first byte.
    for attempt in 1..=2 {
        assert!(
            server.wait_requests(attempt, PATIENCE).await,
            "attempt {attempt}"
        );
        let ahead = clock.deadline_ahead().await;
        assert_eq!(ahead, Duration::from_secs(1), "attempt {attempt}");
        clock.advance(ahead);
    }
    let got = call.await.expect("the call ends");
    let error = got.error.expect("fails");
    assert!(
        error.message.contains("no answer within 1 s"),
        "{}",
        error.message
    );
    assert_eq!(
        server.requests().len(),
        2,
        "a timeout before any output is retried"
    );
    assert_eq!(clock.back_offs().len(), 1);
}

#[tokio::test]
async fn cancelling_mid_stream_drops_the_connection_at_once() {
    let reply = Reply::events(&[&text("Working"), &text(" on it")]).end(End::Hang);
    let server = FakeServer::start(vec![reply]).await;
    let clock = TestClock::new();
    let mut handle = start_solo(&server, &clock);
    let mut events = Vec::new();
    until_streamed(&mut handle, &mut events, "solo", "Working on it").await;
    // The stream waits on its idle deadline, which cannot pass: the clock stays where it is.
    // Only the cancel can close the connection now.
    assert_eq!(clock.deadline_ahead().await, Duration::from_secs(1));
    handle
        .commands
        .send(Command::cancel_session())
        .await
        .unwrap();
    assert!(
        server.wait_disconnect(PATIENCE).await.is_some(),
        "the server sees the client leave"
    );
    to_the_end(&mut handle, &mut events).await;
    assert_eq!(finish(&events).0, Outcome::Cancelled);
    let kinds = types(&events);
    assert!(kinds.contains(&"agent_cancelled".to_string()), "{kinds:?}");
    assert!(!kinds.contains(&"agent_failed".to_string()), "{kinds:?}");
}

const SECRET: &str = "sk-test-SECRET-0123456789abcdef";

#[tokio::test]
async fn the_key_never_appears_in_events_or_errors() {
    let echo = format!(
        r#"{{"error":{{"message":"Incorrect API key provided: {SECRET}. You can find your API key at https://platform.openai.com/account/api-keys.","type":"invalid_request_error","code":"invalid_api_key"}}}}"#
    );
    let server = FakeServer::start(vec![
        Reply::events(&[&text("Over to two."), &stop("stop"), "[DONE]"]),
        Reply::status(401, &echo),
    ])
    .await;
    let crew = crew(&format!(
        r#"
name: keys
settings: {{max_retries: 0}}
providers:
  fake: {{kind: openai, base_url: "{}"}}
agents:
  - {{id: one, provider: fake, model: m, handoff_targets: [two]}}
  - {{id: two, provider: fake, model: m, is_terminal: true}}
"#,
        server.base_url()
    ));
    let mut parts = SessionParts::for_crew(&crew, &reqwest::Client::new());
    let p = provider(&server, Some(SECRET), &crew.settings);
    parts
        .providers
        .insert("fake", std::sync::Arc::new(p.clone()));
    let events = run_to_end(engine::start(crew, "go".into(), parts), &[]).await;
    assert_eq!(finish(&events).0, Outcome::Failed);
    let (error, status, retryable) = agent_failed(&events);
    assert_eq!((status, retryable), (Some(401), false));
    assert!(
        error.contains("Incorrect API key provided: [redacted]"),
        "{error}"
    );
    // The key went to the server, and only there.
    for seen in server.requests() {
        assert_eq!(
            seen.header("authorization"),
            Some(format!("Bearer {SECRET}"))
        );
    }
    let json = serde_json::to_string(&events).unwrap();
    assert!(!json.contains(SECRET), "{json}");
    assert!(json.contains("[redacted]"));
    let debug = format!("{p:?}");
    assert!(!debug.contains(SECRET), "{debug}");
    assert!(debug.contains("Bearer [redacted]"), "{debug}");
}

#[tokio::test]
async fn a_missing_key_variable_is_named_before_any_request() {
    let server = FakeServer::start(vec![Reply::events(&as_strs(&hello_events()))]).await;
    let crew = crew(&format!(
        r#"
name: nokey
providers:
  fake: {{kind: openai, base_url: "{}", api_key_env: CREWTUI_TEST_KEY_THAT_IS_NOT_SET}}
agents:
  - {{id: solo, provider: fake, model: m, is_terminal: true}}
"#,
        server.base_url()
    ));
    let parts = SessionParts::for_crew(&crew, &reqwest::Client::new());
    let events = run_to_end(engine::start(crew, "go".into(), parts), &[]).await;
    assert_eq!(finish(&events).0, Outcome::Failed);
    let (error, status, retryable) = agent_failed(&events);
    assert_eq!(
        error,
        "provider `fake`: environment variable CREWTUI_TEST_KEY_THAT_IS_NOT_SET is not set; it \
         must hold the API key (api_key_env: CREWTUI_TEST_KEY_THAT_IS_NOT_SET)"
    );
    assert_eq!((status, retryable), (None, false));
    assert!(server.requests().is_empty());
}

/// The events of the issue's vocabulary, consecutive token events of one agent and kind
/// merged, so that how deltas were grouped into events does not matter. (`model_request`, a
/// newer type that records each request, is another test's business.)
fn merged(events: &[Value]) -> Vec<Value> {
    let mut out: Vec<Value> = Vec::new();
    for e in events.iter().filter(|e| e["type"] != "model_request") {
        let mut e = e.clone();
        for key in ["seq", "t_ms", "elapsed_ms", "session_id"] {
            if let Some(obj) = e.as_object_mut() {
                obj.remove(key);
            }
        }
        if let Some(last) = out.last_mut()
            && e["type"] == "token"
            && last["type"] == "token"
            && last["agent"] == e["agent"]
            && last.get("reasoning") == e.get("reasoning")
        {
            let joined = format!(
                "{}{}",
                last["text"].as_str().unwrap(),
                e["text"].as_str().unwrap()
            );
            last["text"] = joined.into();
            continue;
        }
        out.push(e);
    }
    out
}

/// The binary running `crew_file` headless on `input`, its state under `dir`, its session
/// files in `sessions`.
fn headless(
    crew_file: &std::path::Path,
    input: &str,
    dir: &std::path::Path,
    sessions: &std::path::Path,
) -> tokio::process::Command {
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_crewtui"));
    command
        .args([
            "run",
            crew_file.to_str().unwrap(),
            "--headless",
            "--input",
            input,
        ])
        .arg("--sessions-dir")
        .arg(sessions)
        .env("XDG_STATE_HOME", dir.join("state"));
    command
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_whole_headless_run_through_the_fake_server() {
    let reasoning = |t: &str| chunk(json!({"reasoning_content": t}));
    let server = FakeServer::start(vec![
        // writer, call 1: a tool call with its arguments split, after some text.
        Reply::events(&[
            &text("Let me count."),
            &tool_call(Some("call_1"), Some(0), Some("calculator"), ""),
            &tool_call(None, Some(0), None, "{\"expression\":"),
            &tool_call(None, Some(0), None, " \"6*7\"}"),
            &stop("tool_calls"),
            &usage(20, 8),
            "[DONE]",
        ])
        .cut(&[13, 7]),
        // writer, call 2: the answer, handed to the reviewer by handoff_targets.
        Reply::events(&[&text("It is 42."), &stop("stop"), &usage(30, 4), "[DONE]"]),
        // reviewer: thinks, then approves.
        Reply::events(&[
            &reasoning("Check: 6*7"),
            &reasoning(" = 42."),
            &text("Approved."),
            &stop("stop"),
            &usage(12, 2),
            "[DONE]",
        ])
        .cut(&[1]),
    ])
    .await;
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("openai-headless");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let crew_file = dir.join("crew.yaml");
    std::fs::write(
        &crew_file,
        format!(
            r#"
name: fake-e2e
providers:
  fake: {{kind: openai, base_url: "{}", api_key_env: CREWTUI_E2E_KEY}}
agents:
  - {{id: writer, provider: fake, model: test-model, tools: [calculator], handoff_targets: [reviewer]}}
  - {{id: reviewer, provider: fake, model: test-model, temperature: 0.1, is_terminal: true}}
"#,
            server.base_url()
        ),
    )
    .unwrap();
    let output = headless(&crew_file, "What is 6*7?", &dir, &dir.join("sessions"))
        .env("CREWTUI_E2E_KEY", SECRET)
        .output()
        .await
        .expect("crewtui runs");
    let stdout = String::from_utf8(output.stdout).unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(
        output.status.code(),
        Some(0),
        "stderr: {stderr}\nstdout: {stdout}"
    );
    assert!(!stdout.contains(SECRET) && !stderr.contains(SECRET));
    let events: Vec<Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect();
    for (i, e) in events.iter().enumerate() {
        assert_eq!(e["seq"], i as u64);
    }
    let got = merged(&events);
    let expected = vec![
        json!({"type": "session_started", "crew": "fake-e2e", "input": "What is 6*7?"}),
        json!({"type": "agent_started", "agent": "writer", "turn": 1, "input": "What is 6*7?", "round": 1, "entry": {"role": "user", "content": "What is 6*7?"}}),
        json!({"type": "token", "agent": "writer", "text": "Let me count."}),
        json!({"type": "message", "agent": "writer", "content": "Let me count.", "usage": {"prompt_tokens": 20, "completion_tokens": 8}, "finish_reason": "tool_calls", "truncated": false,
            "tool_calls": [{"id": "call_1", "name": "calculator", "arguments": "{\"expression\": \"6*7\"}"}],
            "entry": {"role": "assistant", "content": "Let me count.", "tool_calls": [{"id": "call_1", "name": "calculator", "arguments": "{\"expression\": \"6*7\"}"}]}}),
        json!({"type": "tool_call", "agent": "writer", "call_id": "call_1", "tool": "calculator", "arguments": {"expression": "6*7"}}),
        json!({"type": "tool_result", "agent": "writer", "call_id": "call_1", "tool": "calculator", "output": "42", "truncated": false,
            "entry": {"role": "tool", "call_id": "call_1", "name": "calculator", "content": "42"}}),
        json!({"type": "token", "agent": "writer", "text": "It is 42."}),
        json!({"type": "message", "agent": "writer", "content": "It is 42.", "usage": {"prompt_tokens": 30, "completion_tokens": 4}, "finish_reason": "stop", "truncated": false,
            "entry": {"role": "assistant", "content": "It is 42."}}),
        json!({"type": "turn_ended", "agent": "writer", "turn": 1, "status": "completed", "reply": "It is 42.", "joined": true}),
        json!({"type": "handoff", "from": "writer", "to": "reviewer", "reason": "handoff_target", "signal": null, "handoffs": 1}),
        json!({"type": "agent_started", "agent": "reviewer", "turn": 1, "input": "It is 42.", "round": 2}),
        json!({"type": "token", "agent": "reviewer", "text": "Check: 6*7 = 42.", "reasoning": true}),
        json!({"type": "token", "agent": "reviewer", "text": "Approved."}),
        json!({"type": "message", "agent": "reviewer", "content": "Approved.", "usage": {"prompt_tokens": 12, "completion_tokens": 2}, "finish_reason": "stop", "truncated": false,
            "entry": {"role": "assistant", "content": "Approved."}}),
        json!({"type": "turn_ended", "agent": "reviewer", "turn": 1, "status": "completed", "reply": "Approved.", "joined": true}),
    ];
    assert_eq!(&got[..got.len() - 1], &expected[..], "{got:#?}");
    let last = got.last().unwrap();
    assert_eq!(last["type"], "session_finished");
    assert_eq!(last["outcome"], "completed");

    // The run was recorded, and the key is nowhere in the session file (nor the log).
    let sessions: Vec<_> = std::fs::read_dir(dir.join("sessions"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(sessions.len(), 1, "{sessions:?}");
    let recorded = std::fs::read_to_string(&sessions[0]).unwrap();
    assert_eq!(
        recorded.lines().count(),
        events.len() + 1,
        "header + every event"
    );
    assert!(
        recorded.contains("CREWTUI_E2E_KEY"),
        "the variable's name is kept"
    );
    assert!(
        !recorded.contains(SECRET),
        "the key leaked into {}",
        sessions[0].display()
    );
    for log in std::fs::read_dir(dir.join("state/crewtui"))
        .into_iter()
        .flatten()
    {
        let log = std::fs::read_to_string(log.unwrap().path()).unwrap_or_default();
        assert!(!log.contains(SECRET), "the key leaked into the log");
    }

    let seen = server.requests();
    assert_eq!(seen.len(), 3);
    for s in &seen {
        assert_eq!(s.header("authorization"), Some(format!("Bearer {SECRET}")));
    }
    // The reviewer sees the writer's answer as a labelled user message, its own temperature,
    // and no tools.
    let reviewer = &seen[2].body;
    assert_eq!(reviewer["temperature"], 0.1);
    assert!(reviewer.get("tools").is_none());
    let last_message = reviewer["messages"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(
        last_message,
        json!({"role": "user", "content": "[writer] It is 42."})
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credentials_in_base_url_are_never_shown_or_recorded() {
    const PASSWORD: &str = "url-pass-51c7e2";
    const TOKEN: &str = "url-token-93ab04";
    // The server echoes the token back, as some do in their error messages.
    let echo = format!(r#"{{"error":{{"message":"token {TOKEN} is not valid here"}}}}"#);
    let server = FakeServer::start(vec![Reply::status(500, &echo)]).await;
    // Bound and dropped: its port is then (almost surely) closed.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("openai-url-secrets");
    let _ = std::fs::remove_dir_all(&dir);
    for (label, host) in [("refused", closed), ("answered", server.addr)] {
        let crew_file = dir.join(format!("{label}.yaml"));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            &crew_file,
            format!(
                "name: url-{label}\nsettings: {{max_retries: 0}}\nproviders:\n  \
                 p: {{base_url: 'http://user:{PASSWORD}@{host}/v1?token={TOKEN}'}}\n\
                 agents:\n  - {{id: solo, provider: p, model: m, is_terminal: true}}\n"
            ),
        )
        .unwrap();
        let sessions = dir.join(format!("{label}-sessions"));
        let output = headless(&crew_file, "hi", &dir, &sessions)
            .output()
            .await
            .expect("crewtui runs");
        let stdout = String::from_utf8_lossy(&output.stdout);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "{label}: {stderr}");
        let file = std::fs::read_dir(&sessions)
            .unwrap()
            .next()
            .unwrap()
            .unwrap();
        let recorded = std::fs::read_to_string(file.path()).unwrap();
        for (place, text) in [
            ("stdout", &*stdout),
            ("stderr", &*stderr),
            ("file", &*recorded),
        ] {
            for secret in [PASSWORD, TOKEN] {
                assert!(
                    !text.contains(secret),
                    "{label}: {secret} in {place}: {text}"
                );
            }
        }
        let failed: Vec<Value> = stdout
            .lines()
            .map(|l| serde_json::from_str::<Value>(l).unwrap())
            .filter(|e| e["type"] == "agent_failed")
            .collect();
        let error = failed[0]["error"].as_str().unwrap();
        let shown = format!("provider `p` (http://{host}/v1/chat/completions): ");
        assert!(error.starts_with(&shown), "{label}: {error}");
        if label == "answered" {
            assert!(
                error.contains("token [redacted] is not valid here"),
                "{error}"
            );
        }
    }
    // They still reach the server, where they belong: the token in the query, the
    // credentials as basic auth.
    let seen = server.requests();
    assert_eq!(seen.len(), 1);
    let line = seen[0].head.lines().next().unwrap();
    assert_eq!(
        line,
        format!("POST /v1/chat/completions?token={TOKEN} HTTP/1.1")
    );
    assert!(
        seen[0]
            .header("authorization")
            .is_some_and(|a| a.starts_with("Basic ")),
        "{}",
        seen[0].head
    );
}
