//! How a call to an OpenAI-compatible server fails: which failures are worth another try, how
//! long the server asked us to wait, and the message an agent reports (HTTP status plus an
//! excerpt of what the server said). Building a provider can fail too ([`BuildError`]).

use std::time::Duration;

use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use serde_json::Value;

/// A provider that cannot be built; agents using it report this when they run.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error(
        "provider `{provider}`: environment variable {var} is not set; it must hold the API key \
         (api_key_env: {var})"
    )]
    MissingKey { provider: String, var: String },
    #[error("provider `{provider}`: environment variable {var} is empty; it must hold the API key")]
    EmptyKey { provider: String, var: String },
    // The value is never shown: it is the key.
    #[error(
        "provider `{provider}`: environment variable {var} holds characters an HTTP header cannot \
         carry"
    )]
    UnusableKey { provider: String, var: String },
    #[error("provider `{provider}`: base_url `{base_url}` is not an http:// or https:// URL")]
    BadBaseUrl { provider: String, base_url: String },
}

/// One failed attempt, before it becomes a [`crate::provider::ProviderError`].
#[derive(Debug)]
pub struct Failure {
    pub message: String,
    pub status: Option<u16>,
    /// Another attempt could succeed (before any output only; see the retry loop).
    pub retryable: bool,
    /// How long the server asked us to wait before trying again.
    pub retry_after: Option<Duration>,
}

/// Longest wait a server's `Retry-After` may impose.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(60);

/// How much of a server's answer an error message quotes.
const EXCERPT_CHARS: usize = 400;

impl Failure {
    /// An error object or `event: error` in the middle of a stream.
    pub fn stream_error(message: &str, status: Option<u16>) -> Self {
        Self {
            message: format!(
                "the server reported an error mid-stream: {}",
                excerpt(message)
            ),
            status,
            retryable: status.is_some_and(retryable_status),
            retry_after: None,
        }
    }

    /// Bytes that make no sense as an OpenAI stream.
    pub fn garbage(message: String) -> Self {
        Self {
            message,
            status: None,
            retryable: false,
            retry_after: None,
        }
    }

    /// A 200 answer that ended without a single SSE event. Empty, it is worth another try (a
    /// proxy dropped it); with content, the server meant to say something else.
    pub fn no_events(head: &[u8]) -> Self {
        let said = String::from_utf8_lossy(head);
        let message = if said.trim().is_empty() {
            "the server ended its answer without sending anything".to_string()
        } else {
            format!(
                "the server's answer is not an event stream: {}",
                excerpt(&said)
            )
        };
        Self {
            message,
            status: None,
            retryable: said.trim().is_empty(),
            retry_after: None,
        }
    }

    /// No answer, or no next chunk, in time.
    pub fn timeout(message: String) -> Self {
        Self {
            message,
            status: None,
            retryable: true,
            retry_after: None,
        }
    }

    /// The connection failed, or broke while reading.
    pub fn transport(error: reqwest::Error) -> Self {
        // reqwest's own message is terse ("error sending request"); the cause is further down.
        let mut message = error.to_string();
        let mut source = std::error::Error::source(&error);
        while let Some(cause) = source {
            let text = cause.to_string();
            if !message.contains(&text) {
                message.push_str(": ");
                message.push_str(&text);
            }
            source = cause.source();
        }
        Self {
            message,
            status: None,
            // A request that could not even be built will not build next time either.
            retryable: !error.is_builder(),
            retry_after: None,
        }
    }

    /// A non-success HTTP answer.
    pub fn http(status: StatusCode, headers: &HeaderMap, body: &[u8]) -> Self {
        let text = String::from_utf8_lossy(body);
        let json: Option<Value> = serde_json::from_str(&text).ok();
        let error = json
            .as_ref()
            .and_then(|j| j.get("error"))
            .filter(|e| !e.is_null());
        let said = match error {
            Some(error) => error_object_message(error),
            None if text.trim().is_empty() => "(empty body)".to_string(),
            None => text.into_owned(),
        };
        // Out of credit is a 429 too, but waiting does not bring credit back.
        let no_quota = error.is_some_and(|e| {
            ["code", "type"]
                .iter()
                .any(|k| e.get(k).and_then(Value::as_str) == Some("insufficient_quota"))
        });
        Self {
            message: format!("HTTP {status}: {}", excerpt(&said)),
            status: Some(status.as_u16()),
            retryable: retryable_status(status.as_u16()) && !no_quota,
            retry_after: retry_after(headers),
        }
    }
}

/// 408 timeout, 409 conflict (OpenAI's lock contention), 429 rate limit, any 5xx.
pub fn retryable_status(status: u16) -> bool {
    matches!(status, 408 | 409 | 429 | 500..=599)
}

/// `retry-after-ms` (OpenAI's), else `Retry-After` in seconds; an HTTP date is not honoured
/// (the usual backoff applies). Capped at [`MAX_RETRY_AFTER`].
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let number = |name: &str| {
        headers
            .get(name)?
            .to_str()
            .ok()?
            .trim()
            .parse::<f64>()
            .ok()
            .filter(|n| n.is_finite() && *n >= 0.0)
    };
    let wait = number("retry-after-ms")
        .map(|ms| ms / 1000.0)
        .or_else(|| number("retry-after"))?;
    Some(Duration::from_secs_f64(
        wait.min(MAX_RETRY_AFTER.as_secs_f64()),
    ))
}

/// An OpenAI-style error object as one line: its message, then its code or type.
pub fn error_object_message(error: &Value) -> String {
    let Some(message) = error.get("message").and_then(Value::as_str) else {
        return match error {
            Value::String(text) => text.clone(),
            other => other.to_string(),
        };
    };
    let kind = ["code", "type"]
        .iter()
        .filter_map(|k| error.get(k))
        .find_map(|v| match v {
            Value::String(s) if !s.is_empty() => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        });
    match kind {
        Some(kind) => format!("{message} ({kind})"),
        None => message.to_string(),
    }
}

/// The first few hundred characters of a server's text on one line.
pub fn excerpt(text: &str) -> String {
    let flat: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    match flat.char_indices().nth(EXCERPT_CHARS) {
        Some((cut, _)) => format!("{}…", &flat[..cut]),
        None => flat,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, HeaderValue::from_str(value).unwrap());
        }
        map
    }

    #[test]
    fn which_statuses_are_retried() {
        let none = HeaderMap::new();
        for (status, retry) in [
            (400, false),
            (401, false),
            (404, false),
            (408, true),
            (409, true),
            (429, true),
            (500, true),
            (503, true),
        ] {
            let f = Failure::http(StatusCode::from_u16(status).unwrap(), &none, b"{}");
            assert_eq!(f.retryable, retry, "{status}");
            assert_eq!(f.status, Some(status));
        }
        let quota = br#"{"error":{"message":"You exceeded your current quota","type":"insufficient_quota","code":"insufficient_quota"}}"#;
        let f = Failure::http(StatusCode::TOO_MANY_REQUESTS, &none, quota);
        assert!(!f.retryable);
        assert!(
            f.message.contains(
                "HTTP 429 Too Many Requests: You exceeded your current quota (insufficient_quota)"
            ),
            "{}",
            f.message
        );
    }

    #[test]
    fn retry_after_headers() {
        let wait = |pairs: &[(&'static str, &str)]| retry_after(&headers(pairs));
        assert_eq!(
            wait(&[("retry-after-ms", "250")]),
            Some(Duration::from_millis(250))
        );
        assert_eq!(wait(&[("retry-after", "2")]), Some(Duration::from_secs(2)));
        assert_eq!(
            wait(&[("retry-after", "1.5"), ("retry-after-ms", "20")]),
            Some(Duration::from_millis(20))
        );
        assert_eq!(wait(&[("retry-after", "3600")]), Some(MAX_RETRY_AFTER));
        assert_eq!(
            wait(&[("retry-after", "Wed, 21 Oct 2015 07:28:00 GMT")]),
            None
        );
        assert_eq!(wait(&[("retry-after", "-1")]), None);
        assert_eq!(wait(&[]), None);
    }

    #[test]
    fn bodies_become_short_messages() {
        let none = HeaderMap::new();
        let long = "x ".repeat(1000);
        let f = Failure::http(StatusCode::BAD_GATEWAY, &none, long.as_bytes());
        assert!(
            f.message.chars().count() < 450 && f.message.ends_with('…'),
            "{}",
            f.message
        );
        let f = Failure::http(StatusCode::BAD_GATEWAY, &none, b"\xff\xfe garbage");
        assert!(
            f.message
                .starts_with("HTTP 502 Bad Gateway: \u{fffd}\u{fffd} garbage"),
            "{}",
            f.message
        );
        let f = Failure::http(StatusCode::SERVICE_UNAVAILABLE, &none, b"");
        assert_eq!(f.message, "HTTP 503 Service Unavailable: (empty body)");
    }
}
