//! Item 10: how soon a cancel takes effect, on the wall clock. The test suite checks the same
//! cancels on a clock it controls (tests/engine.rs, tests/openai.rs), so it proves what stops,
//! never how fast; the time it takes is measured here.

use super::*;

/// Cancels per figure: each is a few milliseconds.
const CANCELS: usize = 30;

/// What the cancel may take, in the front end's sense of "at once".
const PROMPT: Duration = Duration::from_millis(100);

pub(crate) fn cancel_item() {
    let rt = runtime();
    let tool = rt.block_on(async {
        let mut took = Vec::new();
        for _ in 0..CANCELS {
            took.push(cancel_in_a_tool().await);
        }
        took
    });
    let (events, disconnects) = rt.block_on(async {
        let (mut events, mut disconnects) = (Vec::new(), Vec::new());
        for _ in 0..CANCELS {
            let (event, disconnect) = cancel_mid_stream().await;
            events.push(event);
            disconnects.push(disconnect);
        }
        (events, disconnects)
    });
    note(&format!(
        "{CANCELS} cancels each: an agent in a `fault` tool that hangs (tool timeout 30 s); a \
         session streaming from a loopback HTTP server that then stalls (idle timeout 30 s)"
    ));
    for (figure, took) in [
        ("tool: cancel to agent_cancelled", &tool),
        ("stream: cancel to agent_cancelled", &events),
        ("stream: cancel to the connection closed", &disconnects),
    ] {
        let worst = *took.iter().max().expect("cancels");
        row(
            &format!("{figure}, p50"),
            ms(percentile(took, 0.5)),
            "",
            None,
        );
        row(
            &format!("{figure}, max"),
            ms(worst),
            &format!("< {} ms", PROMPT.as_millis()),
            Some(worst < PROMPT),
        );
    }
}

/// From the cancel to `agent_cancelled`, for an agent whose tool never returns.
async fn cancel_in_a_tool() -> Duration {
    let crew = load_crew(
        "name: stuck\nsettings: {scripted_tokens_per_second: 0, tool_timeout_seconds: 30}\n\
         agents:\n  - id: solo\n    provider: scripted\n    tools: [fault]\n    script:\n      \
         - {tool_calls: [{tool: fault, arguments: {mode: hang}}]}\n",
    );
    let p = parts(&crew);
    let mut handle = engine::start(crew, "go".into(), p);
    let mut sent = None;
    let mut took = None;
    while let Some(event) = handle.events.recv().await {
        match event.kind {
            EventKind::ToolCall { .. } => {
                sent = Some(Instant::now());
                handle
                    .commands
                    .send(engine::Command::CancelAgent("solo".into()))
                    .await
                    .expect("the session takes commands");
            }
            EventKind::AgentCancelled { .. } => took = sent.map(|t| t.elapsed()),
            _ => {}
        }
    }
    took.expect("the agent was cancelled")
}

/// From the cancel to `agent_cancelled`, and to the server seeing the connection close, for a
/// session reading a stream the server has stopped sending.
async fn cancel_mid_stream() -> (Duration, Duration) {
    let chunk = r#"{"choices":[{"index":0,"delta":{"content":"Working"},"finish_reason":null}]}"#;
    let reply = fake_openai::Reply::events(&[chunk]).end(fake_openai::End::Hang);
    let server = fake_openai::FakeServer::start(vec![reply]).await;
    let crew = load_crew(&format!(
        "name: stalled\nsettings: {{max_retries: 0, stream_idle_timeout_seconds: 30}}\n\
         providers:\n  fake: {{kind: openai, base_url: \"{}\"}}\n\
         agents:\n  - {{id: solo, provider: fake, model: m, is_terminal: true}}\n",
        server.base_url()
    ));
    let p = parts(&crew);
    let mut handle = engine::start(crew, "go".into(), p);
    let mut sent = None;
    let mut cancelled = None;
    while let Some(event) = handle.events.recv().await {
        match event.kind {
            EventKind::Token { .. } if sent.is_none() => {
                sent = Some(tokio::time::Instant::now());
                handle
                    .commands
                    .send(engine::Command::CancelSession)
                    .await
                    .expect("the session takes commands");
            }
            EventKind::AgentCancelled { .. } => cancelled = sent.map(|t| t.elapsed()),
            _ => {}
        }
    }
    let sent = sent.expect("a token streamed");
    let closed = server
        .wait_disconnect(Duration::from_secs(30))
        .await
        .expect("the server saw the client leave");
    (
        cancelled.expect("the agent was cancelled"),
        closed.saturating_duration_since(sent),
    )
}
