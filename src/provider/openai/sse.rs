//! Server-sent events framing: network chunks in, whole events out.
//!
//! Follows the HTML SSE parsing rules (and openai-python's decoder): a line ends at `\r\n`,
//! `\n` or `\r`; a blank line ends an event; lines starting with `:` are comments; the values of
//! several `data:` lines are joined with `\n`; one space after the colon is dropped. The parser
//! works on bytes and decodes an event's data as UTF-8 only once the event is whole, so a
//! character split across network chunks arrives intact. Knows nothing of JSON or OpenAI.

use std::borrow::Cow;

/// One dispatched event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SseEvent {
    /// The `event:` field, when the server named the event type.
    pub event: Option<String>,
    pub data: String,
}

/// An event, or the bytes of one unterminated line, grew past [`SseDecoder::MAX_EVENT_BYTES`].
#[derive(Debug, thiserror::Error)]
#[error("the server sent an event of more than {limit} bytes without ending it")]
pub struct EventTooLarge {
    pub limit: usize,
}

#[derive(Debug, Default)]
pub struct SseDecoder {
    /// Received bytes not yet split into lines.
    buf: Vec<u8>,
    /// How far `buf` has been searched for a line end: long lines arriving a byte at a time are
    /// scanned once, not once per byte.
    scanned: usize,
    /// Whether the stream's first bytes (where a byte-order mark may sit) have been seen.
    started: bool,
    data: Vec<u8>,
    has_data: bool,
    event: Option<Vec<u8>>,
}

impl SseDecoder {
    /// A server that never ends an event must not make the buffer grow without bound.
    pub const MAX_EVENT_BYTES: usize = 16 * 1024 * 1024;

    /// Adds received bytes; whole events are appended to `out`.
    pub fn feed(&mut self, bytes: &[u8], out: &mut Vec<SseEvent>) -> Result<(), EventTooLarge> {
        self.buf.extend_from_slice(bytes);
        if !self.started {
            // A byte-order mark may only be dropped once there are three bytes to compare.
            if self.buf.len() < 3 && b"\xEF\xBB\xBF".starts_with(&self.buf) {
                return Ok(());
            }
            self.started = true;
            if self.buf.starts_with(b"\xEF\xBB\xBF") {
                self.buf.drain(..3);
            }
        }
        let mut start = 0;
        loop {
            let rest = &self.buf[start..];
            let from = self.scanned.saturating_sub(start);
            let Some(offset) = rest[from..].iter().position(|&b| b == b'\n' || b == b'\r') else {
                self.scanned = self.buf.len();
                break;
            };
            let end = start + from + offset;
            let terminator = match (self.buf[end], self.buf.get(end + 1)) {
                (b'\r', Some(b'\n')) => 2,
                // A `\r` that ends the received bytes may be the first half of `\r\n`: wait.
                (b'\r', None) => {
                    self.scanned = end;
                    break;
                }
                _ => 1,
            };
            let line = self.buf[start..end].to_vec();
            self.line(&line, out);
            start = end + terminator;
            self.scanned = start;
        }
        self.buf.drain(..start);
        self.scanned -= start;
        if self.buf.len() + self.data.len() > Self::MAX_EVENT_BYTES {
            return Err(EventTooLarge {
                limit: Self::MAX_EVENT_BYTES,
            });
        }
        Ok(())
    }

    /// The stream ended. A `\r` held back as a possible half of `\r\n` ends its line; an
    /// event the server never ended with a blank line is dropped, as the SSE rules say.
    pub fn finish(&mut self, out: &mut Vec<SseEvent>) {
        if self.buf.ends_with(b"\r") {
            let line = self.buf[..self.buf.len() - 1].to_vec();
            self.line(&line, out);
        }
        self.buf.clear();
        self.scanned = 0;
    }

    fn line(&mut self, line: &[u8], out: &mut Vec<SseEvent>) {
        if line.is_empty() {
            if self.has_data {
                // The data buffer ends with the `\n` added after its last line.
                self.data.pop();
                out.push(SseEvent {
                    event: self.event.take().map(|e| lossy(&e).into_owned()),
                    data: lossy(&self.data).into_owned(),
                });
            }
            self.data.clear();
            self.has_data = false;
            self.event = None;
            return;
        }
        if line[0] == b':' {
            return;
        }
        let (field, value) = match line.iter().position(|&b| b == b':') {
            Some(colon) => {
                let value = &line[colon + 1..];
                (&line[..colon], value.strip_prefix(b" ").unwrap_or(value))
            }
            None => (line, &[][..]),
        };
        match field {
            b"data" => {
                self.data.extend_from_slice(value);
                self.data.push(b'\n');
                self.has_data = true;
            }
            b"event" => self.event = Some(value.to_vec()),
            // `id` and `retry` serve reconnecting EventSource clients; a chat stream is never
            // resumed, and unknown fields are ignored by the rules.
            _ => {}
        }
    }
}

/// Invalid UTF-8 from a server becomes replacement characters, never a failure.
fn lossy(bytes: &[u8]) -> Cow<'_, str> {
    String::from_utf8_lossy(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn events(chunks: &[&[u8]]) -> Vec<SseEvent> {
        let mut decoder = SseDecoder::default();
        let mut out = Vec::new();
        for chunk in chunks {
            decoder.feed(chunk, &mut out).unwrap();
        }
        decoder.finish(&mut out);
        out
    }

    fn data(event: &SseEvent) -> &str {
        &event.data
    }

    /// Every way of cutting `stream` in two gives the same events as the whole.
    fn same_at_every_split(stream: &[u8]) -> Vec<SseEvent> {
        let whole = events(&[stream]);
        for cut in 0..=stream.len() {
            let (a, b) = stream.split_at(cut);
            assert_eq!(events(&[a, b]), whole, "cut at {cut}");
        }
        let bytes: Vec<&[u8]> = stream.chunks(1).collect();
        assert_eq!(events(&bytes), whole, "one byte at a time");
        whole
    }

    #[test]
    fn every_line_ending_ends_events() {
        for stream in [
            &b"data: a\n\ndata: b\n\n"[..],
            b"data: a\r\n\r\ndata: b\r\n\r\n",
            b"data: a\r\rdata: b\r\r",
            b"data: a\r\n\ndata: b\n\r\n",
        ] {
            let got = same_at_every_split(stream);
            assert_eq!(
                got.iter().map(data).collect::<Vec<_>>(),
                ["a", "b"],
                "{stream:?}"
            );
        }
    }

    #[test]
    fn comments_fields_and_multiline_data() {
        let stream = b": keep-alive\n\n: OPENROUTER PROCESSING\nevent: error\ndata:{\"a\":\ndata:  1}\nid: 7\nretry: 10\nbogus\n\n";
        let got = same_at_every_split(stream);
        assert_eq!(
            got,
            [SseEvent {
                event: Some("error".into()),
                data: "{\"a\":\n 1}".into()
            }]
        );
        // An event with no data is not dispatched, and its type does not leak into the next.
        let got = events(&[b"event: error\n\ndata: x\n\n"]);
        assert_eq!(
            got,
            [SseEvent {
                event: None,
                data: "x".into()
            }]
        );
        // `data` alone is an empty data line.
        assert_eq!(events(&[b"data\n\n"])[0].data, "");
    }

    #[test]
    fn characters_split_across_chunks_stay_whole() {
        let stream = "data: héllo 🌟 wörld\n\n".as_bytes();
        let got = same_at_every_split(stream);
        assert_eq!(got[0].data, "héllo 🌟 wörld");
        // Garbage bytes are replaced, not fatal.
        assert_eq!(events(&[b"data: \xff!\n\n"])[0].data, "\u{fffd}!");
    }

    #[test]
    fn byte_order_mark_and_unterminated_events() {
        let got = same_at_every_split(b"\xEF\xBB\xBFdata: a\n\ndata: cut");
        assert_eq!(got.iter().map(data).collect::<Vec<_>>(), ["a"]);
        // A `\r` at the very end still ends its line.
        assert_eq!(events(&[b"data: a\r\r"]).len(), 1);
    }

    #[test]
    fn an_event_that_never_ends_is_refused() {
        let mut decoder = SseDecoder::default();
        let mut out = Vec::new();
        let line = vec![b'x'; SseDecoder::MAX_EVENT_BYTES / 4];
        decoder.feed(b"data: ", &mut out).unwrap();
        let mut result = Ok(());
        for _ in 0..5 {
            result = decoder.feed(&line, &mut out);
            if result.is_err() {
                break;
            }
        }
        assert!(result.is_err());
    }
}
