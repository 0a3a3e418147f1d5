//! A fake OpenAI-compatible server: real HTTP/1.1 on 127.0.0.1, each answer scripted byte for
//! byte, so a test decides where the network splits the stream, when the server pauses or
//! stalls, and whether it ends cleanly, resets the connection or waits for the client to leave.
#![allow(dead_code)]

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;
use tokio::time::Instant;

/// How an answer ends once its chunks are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum End {
    /// The body ends properly and the server closes the connection.
    Finish,
    /// The connection is reset (RST) in the middle of the body.
    Reset,
    /// The server sends nothing more and waits until the client goes away.
    Hang,
}

/// How the body is framed on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Framing {
    /// `Transfer-Encoding: chunked`, one HTTP chunk per scripted chunk (as OpenAI sends).
    Chunked,
    /// No length at all: the body ends when the server closes the connection.
    UntilClose,
}

/// One scripted answer.
#[derive(Clone, Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    /// Written one at a time, each flushed.
    pub chunks: Vec<Vec<u8>>,
    /// Pause after each chunk.
    pub gap: Duration,
    pub framing: Framing,
    pub end: End,
}

impl Reply {
    /// A 200 event stream: `body` in one chunk.
    pub fn sse(body: impl Into<Vec<u8>>) -> Self {
        Self {
            status: 200,
            headers: vec![("content-type".into(), "text/event-stream".into())],
            chunks: vec![body.into()],
            gap: Duration::ZERO,
            framing: Framing::Chunked,
            end: End::Finish,
        }
    }

    /// A 200 event stream of `data:` events, each in a chunk of its own.
    pub fn events(data: &[&str]) -> Self {
        let mut reply = Self::sse(Vec::new());
        reply.chunks = data
            .iter()
            .map(|d| format!("data: {d}\n\n").into_bytes())
            .collect();
        reply
    }

    /// A non-streamed answer with a status, e.g. an error.
    pub fn status(status: u16, body: &str) -> Self {
        Self {
            status,
            headers: vec![("content-type".into(), "application/json".into())],
            chunks: vec![body.as_bytes().to_vec()],
            gap: Duration::ZERO,
            framing: Framing::Chunked,
            end: End::Finish,
        }
    }

    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// The same bytes, cut into chunks of the given sizes (repeated; the last takes the rest).
    pub fn cut(mut self, sizes: &[usize]) -> Self {
        let bytes: Vec<u8> = self.chunks.concat();
        let mut chunks = Vec::new();
        let mut rest = &bytes[..];
        let mut sizes = sizes.iter().copied().filter(|&n| n > 0).cycle();
        while !rest.is_empty() {
            let n = sizes.next().unwrap_or(rest.len()).min(rest.len());
            let (head, tail) = rest.split_at(n);
            chunks.push(head.to_vec());
            rest = tail;
        }
        self.chunks = chunks;
        self
    }

    pub fn gap(mut self, gap: Duration) -> Self {
        self.gap = gap;
        self
    }

    pub fn framing(mut self, framing: Framing) -> Self {
        self.framing = framing;
        self
    }

    pub fn end(mut self, end: End) -> Self {
        self.end = end;
        self
    }
}

/// A request as the server received it.
#[derive(Clone, Debug)]
pub struct Seen {
    /// Request line and headers, as sent.
    pub head: String,
    pub body: serde_json::Value,
}

impl Seen {
    pub fn header(&self, name: &str) -> Option<String> {
        self.head.lines().skip(1).find_map(|line| {
            let (n, v) = line.split_once(':')?;
            n.trim()
                .eq_ignore_ascii_case(name)
                .then(|| v.trim().to_string())
        })
    }
}

#[derive(Default)]
struct State {
    replies: VecDeque<Reply>,
    seen: Vec<Seen>,
    /// When the server noticed a client go away in the middle of an answer.
    disconnects: Vec<Instant>,
}

pub struct FakeServer {
    pub addr: SocketAddr,
    state: Arc<Mutex<State>>,
    /// Told of every request and every disconnect.
    changed: Arc<Notify>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FakeServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl FakeServer {
    /// Serves `replies` in order, one per request; past the end it answers 500.
    pub async fn start(replies: Vec<Reply>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("local addr");
        let state = Arc::new(Mutex::new(State {
            replies: replies.into(),
            ..State::default()
        }));
        let changed = Arc::new(Notify::new());
        let task = tokio::spawn(accept(listener, Arc::clone(&state), Arc::clone(&changed)));
        Self {
            addr,
            state,
            changed,
            task,
        }
    }

    /// What a crew's `base_url` should be.
    pub fn base_url(&self) -> String {
        format!("http://{}/v1", self.addr)
    }

    pub fn requests(&self) -> Vec<Seen> {
        self.state.lock().unwrap().seen.clone()
    }

    pub fn disconnects(&self) -> Vec<Instant> {
        self.state.lock().unwrap().disconnects.clone()
    }

    /// The first disconnect seen, waiting up to `timeout` for one.
    pub async fn wait_disconnect(&self, timeout: Duration) -> Option<Instant> {
        self.wait_for(timeout, |state| state.disconnects.first().copied())
            .await
    }

    /// Whether `n` requests have arrived, waiting up to `timeout` for them.
    pub async fn wait_requests(&self, n: usize, timeout: Duration) -> bool {
        self.wait_for(timeout, |state| (state.seen.len() >= n).then_some(()))
            .await
            .is_some()
    }

    async fn wait_for<T>(
        &self,
        timeout: Duration,
        found: impl Fn(&State) -> Option<T>,
    ) -> Option<T> {
        let deadline = Instant::now() + timeout;
        loop {
            let notified = self.changed.notified();
            if let Some(found) = found(&self.state.lock().unwrap()) {
                return Some(found);
            }
            tokio::time::timeout_at(deadline, notified).await.ok()?;
        }
    }
}

async fn accept(listener: TcpListener, state: Arc<Mutex<State>>, changed: Arc<Notify>) {
    while let Ok((socket, _)) = listener.accept().await {
        tokio::spawn(serve(socket, Arc::clone(&state), Arc::clone(&changed)));
    }
}

async fn serve(mut socket: TcpStream, state: Arc<Mutex<State>>, changed: Arc<Notify>) {
    let _ = socket.set_nodelay(true);
    let Some((head, body)) = read_request(&mut socket).await else {
        return;
    };
    let reply = {
        let mut state = state.lock().unwrap();
        state.seen.push(Seen {
            head,
            body: serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null),
        });
        state.replies.pop_front()
    };
    changed.notify_waiters();
    let reply = reply.unwrap_or_else(|| {
        Reply::status(
            500,
            r#"{"error":{"message":"the fake server has no reply left"}}"#,
        )
    });
    let gone = |state: &Mutex<State>| {
        state.lock().unwrap().disconnects.push(Instant::now());
        changed.notify_waiters();
    };
    if write_reply(&mut socket, &reply).await.is_err() {
        gone(&state);
        return;
    }
    match reply.end {
        End::Finish => {
            let _ = socket.shutdown().await;
        }
        End::Reset => {
            let _ = socket.set_zero_linger();
            drop(socket);
        }
        End::Hang => {
            // The request was read whole, so the next read ends only when the client leaves.
            let mut buf = [0u8; 256];
            while let Ok(n) = socket.read(&mut buf).await {
                if n == 0 {
                    break;
                }
            }
            gone(&state);
        }
    }
}

async fn write_reply(socket: &mut TcpStream, reply: &Reply) -> std::io::Result<()> {
    let mut head = format!("HTTP/1.1 {} {}\r\n", reply.status, reason(reply.status));
    for (name, value) in &reply.headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    if reply.framing == Framing::Chunked {
        head.push_str("transfer-encoding: chunked\r\n");
    }
    head.push_str("connection: close\r\n\r\n");
    socket.write_all(head.as_bytes()).await?;
    socket.flush().await?;
    // An empty HTTP chunk would end a chunked body: there is nothing to write anyway.
    for chunk in reply.chunks.iter().filter(|c| !c.is_empty()) {
        match reply.framing {
            Framing::Chunked => {
                let mut framed = format!("{:x}\r\n", chunk.len()).into_bytes();
                framed.extend_from_slice(chunk);
                framed.extend_from_slice(b"\r\n");
                socket.write_all(&framed).await?;
            }
            Framing::UntilClose => socket.write_all(chunk).await?,
        }
        socket.flush().await?;
        if !reply.gap.is_zero() {
            tokio::time::sleep(reply.gap).await;
        }
    }
    if reply.end == End::Finish && reply.framing == Framing::Chunked {
        socket.write_all(b"0\r\n\r\n").await?;
        socket.flush().await?;
    }
    Ok(())
}

/// The request head (up to the blank line) and its `Content-Length` body.
async fn read_request(socket: &mut TcpStream) -> Option<(String, Vec<u8>)> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let head_end = loop {
        if let Some(at) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break at;
        }
        let n = socket.read(&mut chunk).await.ok()?;
        if n == 0 || buf.len() > 1 << 20 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let length: usize = head
        .lines()
        .find_map(|line| {
            let (name, value) = line.split_once(':')?;
            name.trim()
                .eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse().ok())?
        })
        .unwrap_or(0);
    let mut body = buf[head_end + 4..].to_vec();
    while body.len() < length {
        let n = socket.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    Some((head, body))
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        401 => "Unauthorized",
        408 => "Request Timeout",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        _ => "Whatever",
    }
}

/// An `openai` provider aimed at `server`, with `settings`' retries and timeouts.
pub fn provider(
    server: &FakeServer,
    key: Option<&str>,
    settings: &crewtui::config::model::Settings,
) -> crewtui::provider::OpenAiProvider {
    let key = key.map(|k| crewtui::provider::openai::ApiKey::new(k).expect("usable key"));
    crewtui::provider::OpenAiProvider::new(
        "fake",
        &server.base_url(),
        key,
        settings,
        &reqwest::Client::new(),
    )
    .expect("provider builds")
}

/// A small request: one user message, no tools.
pub fn request(text: &str) -> crewtui::provider::ChatRequest {
    crewtui::provider::ChatRequest {
        agent: "a".into(),
        step: 0,
        model: "test-model".into(),
        system_prompt: "You are A.".into(),
        messages: std::sync::Arc::new(vec![crewtui::provider::ChatMessage::User {
            content: text.into(),
        }]),
        tools: Vec::new(),
        temperature: 0.25,
        max_tokens: Some(64),
    }
}

/// Everything one model call streamed, put together.
#[derive(Debug, Default)]
pub struct Streamed {
    pub text: String,
    pub reasoning: String,
    pub calls: Vec<crewtui::provider::ToolCallRequest>,
    /// `finish_reason`, `usage` and `truncated` of the closing `Done`, if one came.
    pub done: Option<(Option<String>, Option<crewtui::provider::Usage>, bool)>,
    pub error: Option<crewtui::provider::ProviderError>,
    /// How many deltas arrived (Done included).
    pub deltas: usize,
}

impl Streamed {
    /// Tool calls as (name, parsed arguments), for comparing.
    pub fn calls(&self) -> Vec<(String, serde_json::Value)> {
        self.calls
            .iter()
            .map(|c| {
                let args = serde_json::from_str(&c.arguments).unwrap_or_else(|e| {
                    panic!(
                        "arguments of {} are not JSON ({e}): {}",
                        c.name, c.arguments
                    )
                });
                (c.name.clone(), args)
            })
            .collect()
    }
}

/// Reads the stream to its end, asserting that nothing follows `Done` or an error.
pub async fn collect(mut stream: crewtui::provider::DeltaStream) -> Streamed {
    use crewtui::provider::Delta;
    use futures_util::StreamExt;
    let mut out = Streamed::default();
    while let Some(item) = stream.next().await {
        assert!(
            out.done.is_none() && out.error.is_none(),
            "an item after the end: {item:?}"
        );
        out.deltas += 1;
        match item {
            Ok(Delta::Text(t)) => out.text.push_str(&t),
            Ok(Delta::Reasoning(t)) => out.reasoning.push_str(&t),
            Ok(Delta::ToolCall(c)) => out.calls.push(c),
            Ok(Delta::Done {
                finish_reason,
                usage,
                truncated,
            }) => out.done = Some((finish_reason, usage, truncated)),
            Err(e) => out.error = Some(e),
        }
    }
    out
}
