//! The `openai` provider: any OpenAI-compatible `/chat/completions` endpoint (OpenAI, Ollama,
//! vLLM, llama.cpp server, LM Studio, OpenRouter), streamed over SSE.
//!
//! One model call is a small state machine driven by the consumer of its [`DeltaStream`]: send
//! the request (again, after a backoff, while it fails in a retryable way and nothing has been
//! streamed yet), then read chunks through the SSE decoder ([`sse`]) into deltas ([`deltas`]).
//! Everything lives inside the stream, with no task of its own, so dropping the stream drops
//! the connection at once. The HTTP client is the one the process built ([`http_client`]) and
//! shared by every session. The API key lives only in the Authorization header value and is cut
//! out of every message; `Debug` never shows it. The endpoint is shown only without the
//! credentials and query its `base_url` may carry, and those are cut out of messages too.
//! Back-offs and deadlines are reckoned on the provider's [`Clock`].

mod clock;
mod deltas;
mod error;
mod request;
mod sse;

use std::collections::VecDeque;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderValue};
use serde_json::Value;
use tokio::time::Instant;

pub use clock::Clock;
pub use error::BuildError;

use self::clock::TokioClock;
use self::deltas::{Assembler, Flow};
use self::error::Failure;
use self::sse::{SseDecoder, SseEvent};
use super::{ChatRequest, Delta, DeltaStream, Provider, ProviderError};
use crate::config::model::Settings;
use crate::redact::Secrets;

/// The process's HTTP client: built once at start-up and handed to every session, so all of
/// them share its connection pool. A `connect_timeout` of zero means none.
pub fn http_client(connect_timeout: Duration) -> Result<reqwest::Client, reqwest::Error> {
    let mut builder =
        reqwest::Client::builder().user_agent(concat!("crewtui/", env!("CARGO_PKG_VERSION")));
    if !connect_timeout.is_zero() {
        builder = builder.connect_timeout(connect_timeout);
    }
    builder.build()
}

/// An API key. Shown as `[redacted]` by `Debug`; its text leaves only in the request header.
#[derive(Clone)]
pub struct ApiKey {
    header: HeaderValue,
    secret: Arc<str>,
}

impl ApiKey {
    /// `None` when the key holds characters an HTTP header cannot carry.
    pub fn new(secret: &str) -> Option<Self> {
        let mut header = HeaderValue::from_str(&format!("Bearer {secret}")).ok()?;
        header.set_sensitive(true);
        Some(Self {
            header,
            secret: secret.into(),
        })
    }

    /// The key held by environment variable `var`, for provider `provider`.
    pub fn from_env(provider: &str, var: &str) -> Result<Self, BuildError> {
        let named = || (provider.to_string(), var.to_string());
        let secret = std::env::var(var).map_err(|_| {
            let (provider, var) = named();
            BuildError::MissingKey { provider, var }
        })?;
        if secret.trim().is_empty() {
            let (provider, var) = named();
            return Err(BuildError::EmptyKey { provider, var });
        }
        Self::new(secret.trim()).ok_or_else(|| {
            let (provider, var) = named();
            BuildError::UnusableKey { provider, var }
        })
    }

    /// `text` with every occurrence of the key cut out.
    fn redact(&self, text: &str) -> String {
        text.replace(&*self.secret, crate::redact::MARK)
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKey([redacted])")
    }
}

/// A provider of kind `openai`. Cheap to clone.
#[derive(Clone)]
pub struct OpenAiProvider {
    inner: Arc<Inner>,
}

#[derive(Clone)]
struct Inner {
    /// The provider's name in the crew, for messages.
    name: String,
    endpoint: reqwest::Url,
    /// The endpoint as messages show it: no credentials, no query.
    shown_endpoint: String,
    http: reqwest::Client,
    key: Option<ApiKey>,
    /// The password and query values of `base_url`, should anything echo them.
    url_secrets: Secrets,
    max_retries: u32,
    first_byte_timeout: Option<Duration>,
    idle_timeout: Option<Duration>,
    clock: Arc<dyn Clock>,
}

impl fmt::Debug for OpenAiProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let i = &self.inner;
        f.debug_struct("OpenAiProvider")
            .field("name", &i.name)
            .field("endpoint", &i.shown_endpoint)
            .field(
                "authorization",
                &i.key.as_ref().map(|_| "Bearer [redacted]"),
            )
            .field("max_retries", &i.max_retries)
            .field("first_byte_timeout", &i.first_byte_timeout)
            .field("idle_timeout", &i.idle_timeout)
            .finish_non_exhaustive()
    }
}

impl OpenAiProvider {
    /// The provider a crew declares: the key (when `api_key_env` names a variable) is read
    /// from the environment now, so a missing one is reported before any request.
    pub fn from_config(
        name: &str,
        base_url: &str,
        api_key_env: Option<&str>,
        settings: &Settings,
        http: &reqwest::Client,
    ) -> Result<Self, BuildError> {
        let key = api_key_env
            .map(|var| ApiKey::from_env(name, var))
            .transpose()?;
        Self::new(name, base_url, key, settings, http)
    }

    /// Timeouts and retries come from `settings`; a timeout of zero seconds means none.
    pub fn new(
        name: &str,
        base_url: &str,
        key: Option<ApiKey>,
        settings: &Settings,
        http: &reqwest::Client,
    ) -> Result<Self, BuildError> {
        let bad = || BuildError::BadBaseUrl {
            provider: name.to_string(),
            base_url: crate::redact::url(base_url),
        };
        // The path grows by `/chat/completions`; a query (`?api-version=...`) stays a query.
        let mut endpoint = reqwest::Url::parse(base_url).map_err(|_| bad())?;
        if !matches!(endpoint.scheme(), "http" | "https") || endpoint.cannot_be_a_base() {
            return Err(bad());
        }
        let path = format!("{}/chat/completions", endpoint.path().trim_end_matches('/'));
        endpoint.set_path(&path);
        let seconds = |s: u64| (s > 0).then(|| Duration::from_secs(s));
        Ok(Self {
            inner: Arc::new(Inner {
                name: name.to_string(),
                shown_endpoint: crate::redact::url(endpoint.as_str()),
                endpoint,
                http: http.clone(),
                key,
                url_secrets: Secrets::new(crate::redact::url_secrets(base_url)),
                max_retries: settings.max_retries,
                first_byte_timeout: seconds(settings.first_token_timeout_seconds),
                idle_timeout: seconds(settings.stream_idle_timeout_seconds),
                clock: Arc::new(TokioClock),
            }),
        })
    }

    /// The same provider, its back-offs and deadlines reckoned on `clock`.
    pub fn with_clock(self, clock: Arc<dyn Clock>) -> Self {
        let mut inner = Inner::clone(&self.inner);
        inner.clock = clock;
        Self {
            inner: Arc::new(inner),
        }
    }
}

impl Provider for OpenAiProvider {
    fn stream(&self, request: ChatRequest) -> DeltaStream {
        let call = Call {
            inner: Arc::clone(&self.inner),
            body: request::body(&request, true),
            include_usage: true,
            retries: 0,
            reading: None,
            pending: VecDeque::new(),
            error: None,
            output_started: false,
            ended: false,
        };
        futures_util::stream::unfold(call, |mut call| async move {
            let item = call.next().await?;
            Some((item, call))
        })
        .boxed()
    }
}

/// One model call, from the first attempt to the last delta.
struct Call {
    inner: Arc<Inner>,
    body: Value,
    /// Whether `body` still asks for `stream_options.include_usage`.
    include_usage: bool,
    retries: u32,
    reading: Option<Reading>,
    /// Deltas decoded but not yet handed out.
    pending: VecDeque<Delta>,
    /// The failure to hand out once `pending` is empty.
    error: Option<ProviderError>,
    /// Once anything has been streamed, a failure is final: sending again would repeat it.
    output_started: bool,
    ended: bool,
}

/// An answer being read.
struct Reading {
    response: reqwest::Response,
    sse: SseDecoder,
    assembler: Assembler,
    /// Until the first byte of the body arrives; after it, the idle timeout applies.
    first_byte_deadline: Option<Instant>,
    got_byte: bool,
    /// SSE events seen, and the first bytes of the body: a 200 answer that holds no event at
    /// all (a proxy's HTML page, say) is reported with what it said instead.
    events: usize,
    head: Vec<u8>,
}

impl Call {
    async fn next(&mut self) -> Option<Result<Delta, ProviderError>> {
        loop {
            if let Some(delta) = self.pending.pop_front() {
                self.output_started |= !matches!(delta, Delta::Done { .. });
                return Some(Ok(delta));
            }
            if let Some(error) = self.error.take() {
                self.ended = true;
                return Some(Err(error));
            }
            if self.ended {
                return None;
            }
            let mut out = Vec::new();
            let step = match &mut self.reading {
                Some(reading) => reading.advance(&self.inner, &mut out).await,
                None => match self.open(&mut out).await {
                    Ok(Some(reading)) => {
                        self.reading = Some(reading);
                        Ok(false)
                    }
                    Ok(None) => Ok(true),
                    Err(failure) => Err(failure),
                },
            };
            self.pending.extend(out);
            match step {
                Ok(false) => {}
                Ok(true) => {
                    self.reading = None;
                    self.ended = true;
                }
                Err(failure) => {
                    self.reading = None;
                    let quiet = !self.output_started && self.pending.is_empty();
                    if failure.retryable && quiet && self.retries < self.inner.max_retries {
                        let wait = backoff(self.retries, failure.retry_after);
                        self.retries += 1;
                        tracing::warn!(
                            provider = %self.inner.name,
                            "attempt {} failed, trying again in {wait:?}: {}",
                            self.retries,
                            self.redact(&failure.message)
                        );
                        self.inner.clock.back_off(wait).await;
                        continue;
                    }
                    self.error = Some(self.provider_error(failure));
                }
            }
        }
    }

    /// Sends the request. A streamed answer comes back to be read; a whole JSON answer (a
    /// server that ignored `stream: true`) is decoded into `out` at once (`Ok(None)`).
    async fn open(&mut self, out: &mut Vec<Delta>) -> Result<Option<Reading>, Failure> {
        let inner = Arc::clone(&self.inner);
        loop {
            let first_byte_deadline = inner.first_byte_timeout.map(|t| inner.clock.now() + t);
            let body = serde_json::to_vec(&self.body)
                .map_err(|e| Failure::garbage(format!("encoding the request: {e}")))?;
            let mut request = inner
                .http
                .post(inner.endpoint.clone())
                .header(CONTENT_TYPE, "application/json")
                .header(ACCEPT, "text/event-stream")
                .body(body);
            if let Some(key) = &inner.key {
                request = request.header(AUTHORIZATION, key.header.clone());
            }
            let response = within(&*inner.clock, first_byte_deadline, request.send())
                .await
                .ok_or_else(|| first_byte_timeout(&inner))?
                .map_err(|e| Failure::transport(e.without_url()))?;
            let status = response.status();
            if status.is_success() {
                let json = response
                    .headers()
                    .get(CONTENT_TYPE)
                    .and_then(|v| v.to_str().ok())
                    .is_some_and(|v| v.starts_with("application/json"));
                if json {
                    let body =
                        read_body(response, &inner, first_byte_deadline, WHOLE_BODY_LIMIT).await?;
                    let body: Value = serde_json::from_slice(&body).map_err(|e| {
                        Failure::garbage(format!(
                            "the server answered with JSON that does not parse ({e}): {}",
                            error::excerpt(&String::from_utf8_lossy(&body))
                        ))
                    })?;
                    let mut assembler = Assembler::default();
                    assembler.whole_completion(&body, out)?;
                    assembler.finish(out);
                    return Ok(None);
                }
                return Ok(Some(Reading {
                    response,
                    sse: SseDecoder::default(),
                    assembler: Assembler::default(),
                    first_byte_deadline,
                    got_byte: false,
                    events: 0,
                    head: Vec::new(),
                }));
            }
            let headers = response.headers().clone();
            // The answer to a failed request is read only for its message: what arrives in
            // time, up to a limit, is enough.
            let body = read_body(response, &inner, first_byte_deadline, ERROR_BODY_LIMIT)
                .await
                .unwrap_or_default();
            let mentions = String::from_utf8_lossy(&body).contains("stream_options");
            if status == reqwest::StatusCode::BAD_REQUEST && self.include_usage && mentions {
                // Older servers reject the field; without it the reply simply has no usage.
                tracing::info!(provider = %inner.name, "server rejects stream_options; sending without");
                self.include_usage = false;
                if let Some(body) = self.body.as_object_mut() {
                    body.remove("stream_options");
                }
                continue;
            }
            return Err(Failure::http(status, &headers, &body));
        }
    }

    fn redact(&self, text: &str) -> String {
        let text = match &self.inner.key {
            Some(key) => key.redact(text),
            None => text.to_string(),
        };
        self.inner.url_secrets.redact(text)
    }

    fn provider_error(&self, failure: Failure) -> ProviderError {
        let attempts = match self.retries {
            0 => String::new(),
            n => format!(" (after {} attempts)", n + 1),
        };
        ProviderError {
            message: self.redact(&format!(
                "provider `{}` ({}): {}{attempts}",
                self.inner.name, self.inner.shown_endpoint, failure.message
            )),
            status: failure.status,
            retryable: failure.retryable,
        }
    }
}

impl Reading {
    /// Reads one network chunk and decodes what it completes. `Ok(true)` once the reply ended.
    async fn advance(&mut self, inner: &Inner, out: &mut Vec<Delta>) -> Result<bool, Failure> {
        let deadline = if self.got_byte {
            inner.idle_timeout.map(|t| inner.clock.now() + t)
        } else {
            self.first_byte_deadline
        };
        let chunk = match within(&*inner.clock, deadline, self.response.chunk()).await {
            Some(chunk) => chunk.map_err(|e| Failure::transport(e.without_url()))?,
            None if self.got_byte => {
                let seconds = inner.idle_timeout.unwrap_or_default().as_secs();
                return Err(Failure::timeout(format!(
                    "the stream stalled: nothing arrived for {seconds} s \
                     (settings.stream_idle_timeout_seconds)"
                )));
            }
            None => return Err(first_byte_timeout(inner)),
        };
        let mut events = Vec::new();
        match &chunk {
            Some(bytes) => {
                self.got_byte = true;
                let room = HEAD_BYTES.saturating_sub(self.head.len());
                self.head.extend_from_slice(&bytes[..room.min(bytes.len())]);
                self.sse
                    .feed(bytes, &mut events)
                    .map_err(|e| Failure::garbage(e.to_string()))?;
            }
            None => self.sse.finish(&mut events),
        }
        self.events += events.len();
        if chunk.is_none() && self.events == 0 {
            return Err(Failure::no_events(&self.head));
        }
        for SseEvent { event, data } in events {
            if self.assembler.event(event.as_deref(), &data, out)? == Flow::Done {
                self.assembler.finish(out);
                return Ok(true);
            }
        }
        if chunk.is_none() {
            self.assembler.finish(out);
            return Ok(true);
        }
        Ok(false)
    }
}

/// How much of a body that holds no event is kept to quote.
const HEAD_BYTES: usize = 512;

/// Bodies of whole (non-streamed) answers may be large; error bodies are only quoted.
const WHOLE_BODY_LIMIT: usize = 16 * 1024 * 1024;
const ERROR_BODY_LIMIT: usize = 64 * 1024;

/// Reads a body up to `limit` bytes, under the first-byte deadline and then the idle timeout.
async fn read_body(
    mut response: reqwest::Response,
    inner: &Inner,
    first_byte_deadline: Option<Instant>,
    limit: usize,
) -> Result<Vec<u8>, Failure> {
    let mut body = Vec::new();
    let mut deadline = first_byte_deadline;
    loop {
        let chunk = within(&*inner.clock, deadline, response.chunk())
            .await
            .ok_or_else(|| Failure::timeout("the server stopped sending its answer".into()))?
            .map_err(|e| Failure::transport(e.without_url()))?;
        let Some(chunk) = chunk else {
            return Ok(body);
        };
        body.extend_from_slice(&chunk);
        if body.len() >= limit {
            body.truncate(limit);
            return Ok(body);
        }
        deadline = inner.idle_timeout.map(|t| inner.clock.now() + t);
    }
}

/// `future`, or `None` if `deadline` passes on `clock` first.
async fn within<F: Future>(
    clock: &dyn Clock,
    deadline: Option<Instant>,
    future: F,
) -> Option<F::Output> {
    let Some(at) = deadline else {
        return Some(future.await);
    };
    // The future first, as `tokio::time::timeout` does: an answer that is ready counts even
    // when the deadline has passed too.
    tokio::select! {
        biased;
        output = future => Some(output),
        () = clock.deadline(at) => None,
    }
}

fn first_byte_timeout(inner: &Inner) -> Failure {
    let seconds = inner.first_byte_timeout.unwrap_or_default().as_secs();
    Failure::timeout(format!(
        "no answer within {seconds} s (settings.first_token_timeout_seconds)"
    ))
}

/// How long to wait before attempt `retry + 2`: what the server asked for, else exponential
/// backoff from half a second, capped at 8 s, less up to a quarter at random so that many
/// agents hitting the same limit do not all come back at once.
fn backoff(retry: u32, asked: Option<Duration>) -> Duration {
    if let Some(asked) = asked {
        return asked;
    }
    let base = (0.5 * 2f64.powi(retry.min(16) as i32)).min(8.0);
    Duration::from_secs_f64(base * (1.0 - 0.25 * fastrand::f64()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_is_capped_and_honours_the_server() {
        for retry in 0..10 {
            let wait = backoff(retry, None).as_secs_f64();
            let base = (0.5 * 2f64.powi(retry as i32)).min(8.0);
            assert!(wait <= base && wait >= base * 0.75, "{retry}: {wait}");
        }
        let asked = Duration::from_millis(1234);
        assert_eq!(backoff(0, Some(asked)), asked);
    }

    #[test]
    fn garbage_never_panics() {
        // Pieces of real streams, glued at random and cut at random.
        let pieces: &[&[u8]] = &[
            b"data: ",
            b"\n",
            b"\r",
            b"\n\n",
            b":",
            b"event: error\n",
            b"[DONE]",
            b"{",
            b"}",
            b"\"choices\":[{\"index\":0,\"delta\":{",
            b"\"content\":\"h\xc3\xa9\"",
            b"\"content\":[",
            b"{\"type\":\"thinking\",\"thinking\":",
            b"\"tool_calls\":[{\"index\":",
            b"0",
            b"-1",
            b"\"id\":\"\"",
            b"\"function\":{\"name\":\"f\",\"arguments\":",
            b"null",
            b"]",
            b",",
            b"\"usage\":{\"prompt_tokens\":1e99}",
            b"\"error\":",
            b"<think>",
            b"</thi",
            b"\xff\xfe",
            b"\xf0\x9f",
            b"\"finish_reason\":\"stop\"",
        ];
        let mut rng = fastrand::Rng::with_seed(7);
        for _ in 0..2000 {
            let stream: Vec<u8> = (0..rng.usize(1..60))
                .flat_map(|_| pieces[rng.usize(..pieces.len())].iter().copied())
                .collect();
            let mut sse = SseDecoder::default();
            let mut assembler = Assembler::default();
            let mut out = Vec::new();
            let mut events = Vec::new();
            for piece in stream.chunks(rng.usize(1..16)) {
                sse.feed(piece, &mut events).unwrap();
            }
            sse.finish(&mut events);
            for SseEvent { event, data } in events {
                if !matches!(
                    assembler.event(event.as_deref(), &data, &mut out),
                    Ok(Flow::Continue)
                ) {
                    break;
                }
            }
            assembler.finish(&mut out);
            assert!(matches!(out.last(), Some(Delta::Done { .. })));
        }
    }

    #[test]
    fn debug_output_never_shows_the_key() {
        let key = ApiKey::new("sk-secret-123").unwrap();
        let http = reqwest::Client::new();
        let p = OpenAiProvider::new(
            "p",
            "http://x/v1/",
            Some(key.clone()),
            &Settings::default(),
            &http,
        )
        .unwrap();
        let shown = format!("{p:?} {key:?} {:?}", key.header);
        assert!(!shown.contains("sk-secret-123"), "{shown}");
        assert!(shown.contains("http://x/v1/chat/completions"), "{shown}");
        assert_eq!(key.redact("was sk-secret-123!"), "was [redacted]!");
    }

    #[test]
    fn bad_base_urls_and_keys_are_refused() {
        let http = reqwest::Client::new();
        for url in ["ftp://x/v1", "not a url", ""] {
            let err = OpenAiProvider::new("p", url, None, &Settings::default(), &http).unwrap_err();
            assert!(matches!(err, BuildError::BadBaseUrl { .. }), "{url}");
        }
        assert!(ApiKey::new("line\nbreak").is_none());
        let err = ApiKey::from_env("p", "CREWTUI_TEST_SURELY_UNSET_VAR").unwrap_err();
        assert_eq!(
            err.to_string(),
            "provider `p`: environment variable CREWTUI_TEST_SURELY_UNSET_VAR is not set; it must \
             hold the API key (api_key_env: CREWTUI_TEST_SURELY_UNSET_VAR)"
        );
    }
}
