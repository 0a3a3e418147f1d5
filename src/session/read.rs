//! Reading session files: line by line, never all at once, and never failing on what a crash
//! or a stray edit can leave behind.
//!
//! A torn last line (no newline at the end) is ignored and a line that is not an event is
//! skipped, each with a warning naming its line; only a missing or foreign header makes a file
//! unreadable. Reading is one pass with one reused line buffer.

use std::fmt;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::{FORMAT, Header, SessionError, VERSION};
use crate::engine::Event;
use crate::text::visible_line;

/// Lines longer than this are skipped without being held in memory: no event comes close
/// (tool output is truncated long before), so such a line is damage, and reading it whole
/// could exhaust memory.
const MAX_LINE: u64 = 64 * 1024 * 1024;

/// A session file as read: everything up to its last whole line.
#[derive(Clone, Debug)]
pub struct Recording {
    pub path: PathBuf,
    pub header: Header,
    pub events: Vec<Event>,
    /// Lines skipped or ignored, in file order.
    pub warnings: Vec<ReadWarning>,
    /// Bytes up to the end of the last whole line: where appending may continue.
    pub valid_len: u64,
}

/// A line of a session file that was skipped or ignored, and why.
#[derive(Clone, Debug, PartialEq)]
pub struct ReadWarning {
    /// 1-based; the header is line 1.
    pub line: usize,
    pub message: String,
}

impl fmt::Display for ReadWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

/// Reads a whole session file. Fails only when the file cannot be read or is not a session;
/// damage after the header becomes [`Recording::warnings`].
pub fn read(path: &Path) -> Result<Recording, SessionError> {
    read_from(Reader::open(path)?)
}

/// The rest of a recording whose header `reader` has read.
pub(super) fn read_from(mut reader: Reader) -> Result<Recording, SessionError> {
    let path = reader.path.clone();
    let mut events = Vec::new();
    let mut warnings = Vec::new();
    while let Some(entry) = reader.next_entry()? {
        match entry {
            Entry::Event(event) => events.push(event),
            Entry::Warning(warning) => warnings.push(warning),
        }
    }
    if reader.header.version < 2 {
        events = super::v1::upgrade(events);
    }
    Ok(Recording {
        path,
        valid_len: reader.valid_len(),
        header: reader.header,
        events,
        warnings,
    })
}

/// What the next line of a session file held.
#[derive(Clone, Debug, PartialEq)]
pub enum Entry {
    Event(Event),
    Warning(ReadWarning),
}

/// A session file read one event at a time, for callers that want to show the start of a long
/// file before the end has been read. Events come as the file holds them: a version 1 file's
/// events lack what version 2 records, which [`read`] adds (see `v1`); streaming readers of
/// version 1 files read them whole with [`read`] instead.
pub struct Reader {
    path: PathBuf,
    header: Header,
    lines: LineReader<BufReader<File>>,
}

impl Reader {
    /// Opens `path` and reads its header line. Anything but a regular file is refused before
    /// it is opened: a FIFO would block, a device never end.
    pub fn open(path: &Path) -> Result<Self, SessionError> {
        let file = crate::files::open_regular(path).map_err(|e| SessionError::io(path, e))?;
        Self::from_file(path, file)
    }

    /// Reads the header line of `file`, opened from `path`, from where the file stands.
    pub(super) fn from_file(path: &Path, file: File) -> Result<Self, SessionError> {
        let mut lines = LineReader::new(BufReader::with_capacity(1 << 16, file));
        let header = read_header(path, &mut lines)?;
        Ok(Self {
            path: path.to_path_buf(),
            header,
            lines,
        })
    }

    pub fn header(&self) -> &Header {
        &self.header
    }

    /// The next event or warning; `None` at the end of the file.
    pub fn next_entry(&mut self) -> Result<Option<Entry>, SessionError> {
        let Some(line) = self
            .lines
            .next_line()
            .map_err(|e| SessionError::io(&self.path, e))?
        else {
            return Ok(None);
        };
        let warning = |message: String| {
            Ok(Some(Entry::Warning(ReadWarning {
                line: line.number,
                message,
            })))
        };
        match line.kind {
            LineKind::Torn => warning(format!(
                "cut off mid-line ({} bytes with no newline at the end of the file); ignored",
                line.len
            )),
            LineKind::TooLong => warning(format!(
                "longer than {} MiB; skipped",
                MAX_LINE / 1024 / 1024
            )),
            LineKind::Whole if line.bytes.trim_ascii().is_empty() => {
                warning("empty line; skipped".to_string())
            }
            LineKind::Whole => match parse_event(line.bytes) {
                Ok(event) => Ok(Some(Entry::Event(event))),
                Err(e) => warning(format!("{}; skipped", describe_json_error(&e, "an event"))),
            },
        }
    }

    /// Bytes up to the end of the last whole line read so far.
    pub fn valid_len(&self) -> u64 {
        self.lines.valid_len
    }

    /// Lines read so far, the header included.
    pub fn lines_read(&self) -> usize {
        self.lines.number
    }
}

/// One event line. Token lines, nearly all of a long recording, are read by a shortcut past
/// the generic event type (whose flattened, tagged shape makes serde buffer every field):
/// exactly the shape the recorder writes them in, field by field. Any line the shortcut does
/// not take whole is read the general way, so the shortcut only ever saves time.
pub(crate) fn parse_event(line: &[u8]) -> Result<Event, serde_json::Error> {
    if let Some(event) = token_line(line) {
        return Ok(event);
    }
    serde_json::from_slice::<Event>(line)
}

/// `{"seq":N,"t_ms":N,"type":"token","agent":"ID","text":"...","reasoning":true}`, the way
/// the recorder writes a token (`reasoning` only when true), or `None`.
fn token_line(line: &[u8]) -> Option<Event> {
    let rest = line.strip_prefix(b"{\"seq\":")?;
    let (seq, rest) = number(rest)?;
    let rest = rest.strip_prefix(b",\"t_ms\":")?;
    let (t_ms, rest) = number(rest)?;
    let rest = rest.strip_prefix(b",\"type\":\"token\",\"agent\":")?;
    let (agent, rest) = string(rest)?;
    let rest = rest.strip_prefix(b",\"text\":")?;
    let (text, rest) = string(rest)?;
    let (reasoning, rest) = match rest.strip_prefix(b",\"reasoning\":true") {
        Some(rest) => (true, rest),
        None => (false, rest),
    };
    if rest != b"}" {
        return None;
    }
    Some(Event {
        seq,
        t_ms,
        kind: crate::engine::EventKind::Token {
            agent: crate::engine::AgentId(agent),
            text,
            reasoning,
        },
    })
}

/// A decimal number at the start of `text`, and what follows it.
fn number(text: &[u8]) -> Option<(u64, &[u8])> {
    let end = text.iter().position(|b| !b.is_ascii_digit())?;
    let digits = std::str::from_utf8(&text[..end]).ok()?;
    Some((digits.parse().ok()?, &text[end..]))
}

/// A JSON string at the start of `text` (quotes included), and what follows it. One with
/// escapes in it is handed to serde_json, which knows them all.
fn string(text: &[u8]) -> Option<(String, &[u8])> {
    let body = text.strip_prefix(b"\"")?;
    let end = body.iter().position(|&b| b == b'"' || b == b'\\')?;
    if body[end] == b'"' {
        let s = std::str::from_utf8(&body[..end]).ok()?;
        if s.bytes().any(|b| b < 0x20) {
            return None;
        }
        return Some((s.to_string(), &body[end + 1..]));
    }
    // Escapes: find the closing quote, skipping escaped characters.
    let mut i = end;
    while i < body.len() {
        match body[i] {
            b'\\' => i += 2,
            b'"' => break,
            _ => i += 1,
        }
    }
    let quoted = text.get(..i + 2)?;
    let s: String = serde_json::from_slice(quoted).ok()?;
    Some((s, &text[i + 2..]))
}

/// `t_ms` and `type` of a line that starts the way the recorder writes every event,
/// `{"seq":N,"t_ms":N,"type":"NAME"`, read without parsing the rest.
pub(crate) fn quick_peek(line: &[u8]) -> Option<(u64, &[u8])> {
    let (_, rest) = number(line.strip_prefix(b"{\"seq\":")?)?;
    let (t_ms, rest) = number(rest.strip_prefix(b",\"t_ms\":")?)?;
    let rest = rest.strip_prefix(b",\"type\":\"")?;
    let end = rest.iter().position(|&b| b == b'"')?;
    Some((t_ms, &rest[..end]))
}

/// What the first line must hold before the rest is worth reading.
#[derive(Deserialize)]
struct Probe {
    format: String,
    version: u32,
}

pub(super) fn read_header<R: BufRead>(
    path: &Path,
    lines: &mut LineReader<R>,
) -> Result<Header, SessionError> {
    let not_a_session = |reason: String| SessionError::NotASession {
        path: path.to_path_buf(),
        reason,
    };
    let line = lines
        .next_line()
        .map_err(|e| SessionError::io(path, e))?
        .ok_or_else(|| not_a_session("the file is empty".to_string()))?;
    match line.kind {
        LineKind::Whole => {}
        LineKind::Torn => {
            return Err(not_a_session(
                "the header line is cut off (no newline after it)".to_string(),
            ));
        }
        LineKind::TooLong => return Err(not_a_session("line 1 is far too long".to_string())),
    }
    let probe: Probe = serde_json::from_slice(line.bytes)
        .map_err(|e| not_a_session(describe_json_error(&e, "a session header")))?;
    if probe.format != FORMAT {
        return Err(not_a_session(format!(
            "its format is `{}`, not `{FORMAT}`",
            visible_line(&probe.format)
        )));
    }
    if probe.version > VERSION {
        return Err(SessionError::UnsupportedVersion {
            path: path.to_path_buf(),
            version: probe.version,
        });
    }
    serde_json::from_slice(line.bytes)
        .map_err(|e| not_a_session(describe_json_error(&e, "a session header")))
}

/// serde_json's message without its "at line 1 column N" (the line is ours to name), and with
/// whether the text was JSON at all. What it quotes from the line (an unknown event type) is
/// made visible: the file may be anyone's.
fn describe_json_error(error: &serde_json::Error, expected: &str) -> String {
    let text = error.to_string();
    let position = format!(" at line {} column {}", error.line(), error.column());
    let message = text.strip_suffix(&position).unwrap_or(&text);
    let message = visible_line(message);
    let column = error.column();
    match error.classify() {
        serde_json::error::Category::Io
        | serde_json::error::Category::Syntax
        | serde_json::error::Category::Eof => {
            format!("not JSON ({message} at column {column})")
        }
        serde_json::error::Category::Data => format!("not {expected} ({message})"),
    }
}

/// How a line ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum LineKind {
    /// Ended by a newline.
    Whole,
    /// The file ended before a newline: a write cut off by a crash.
    Torn,
    /// Over [`MAX_LINE`]; its bytes were not kept.
    TooLong,
}

pub(super) struct Line<'a> {
    /// 1-based.
    pub number: usize,
    /// Without the newline; empty for [`LineKind::TooLong`].
    pub bytes: &'a [u8],
    /// Bytes the line took in the file, newline included.
    pub len: u64,
    pub kind: LineKind,
}

/// Lines of a file, reusing one buffer, keeping count of line numbers and of the bytes that end
/// in a newline.
pub(super) struct LineReader<R> {
    reader: R,
    buf: Vec<u8>,
    number: usize,
    /// Bytes up to the end of the last whole line.
    pub valid_len: u64,
}

impl<R: BufRead> LineReader<R> {
    pub fn new(reader: R) -> Self {
        Self {
            reader,
            buf: Vec::new(),
            number: 0,
            valid_len: 0,
        }
    }

    pub fn next_line(&mut self) -> io::Result<Option<Line<'_>>> {
        self.buf.clear();
        let read = (&mut self.reader)
            .take(MAX_LINE)
            .read_until(b'\n', &mut self.buf)?;
        if read == 0 {
            return Ok(None);
        }
        self.number += 1;
        let mut len = read as u64;
        let kind = if self.buf.last() == Some(&b'\n') {
            self.buf.pop();
            LineKind::Whole
        } else if len < MAX_LINE {
            LineKind::Torn
        } else {
            self.buf.clear();
            // Skip to the end of the line without keeping it.
            loop {
                let available = self.reader.fill_buf()?;
                if available.is_empty() {
                    break LineKind::Torn;
                }
                match available.iter().position(|&b| b == b'\n') {
                    Some(i) => {
                        self.reader.consume(i + 1);
                        len += i as u64 + 1;
                        break LineKind::TooLong;
                    }
                    None => {
                        let n = available.len();
                        self.reader.consume(n);
                        len += n as u64;
                    }
                }
            }
        };
        if kind != LineKind::Torn {
            self.valid_len += len;
        }
        Ok(Some(Line {
            number: self.number,
            bytes: &self.buf,
            len,
            kind,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(text: &[u8]) -> (Vec<(usize, String, LineKind)>, u64) {
        let mut reader = LineReader::new(text);
        let mut out = Vec::new();
        while let Some(line) = reader.next_line().unwrap() {
            let bytes = String::from_utf8_lossy(line.bytes).into_owned();
            out.push((line.number, bytes, line.kind));
        }
        (out, reader.valid_len)
    }

    #[test]
    fn lines_are_whole_or_torn_and_the_valid_length_stops_at_the_last_newline() {
        let (got, valid) = lines(b"a\n\nbc\nde");
        assert_eq!(
            got,
            [
                (1, "a".into(), LineKind::Whole),
                (2, "".into(), LineKind::Whole),
                (3, "bc".into(), LineKind::Whole),
                (4, "de".into(), LineKind::Torn),
            ]
        );
        assert_eq!(valid, 6);
        assert_eq!(lines(b"").0, []);
        assert_eq!(lines(b"x\n").1, 2);
    }

    #[test]
    fn the_quick_peek_reads_what_the_recorder_writes_and_nothing_else() {
        assert_eq!(
            quick_peek(br#"{"seq":12,"t_ms":345,"type":"token","agent":"a","text":"x"}"#),
            Some((345, &b"token"[..]))
        );
        assert_eq!(quick_peek(br#"{"t_ms":345,"seq":12,"type":"token"}"#), None);
        assert_eq!(quick_peek(br#"{"seq":,"t_ms":1,"type":"token"}"#), None);
        assert_eq!(
            quick_peek(br#"{"seq":1,"t_ms":99999999999999999999999,"type":"x"}"#),
            None
        );
        assert_eq!(quick_peek(b"{\"seq\":1"), None);
    }

    #[test]
    fn token_lines_read_the_same_by_the_shortcut_and_the_general_way() {
        for line in [
            &br#"{"seq":3,"t_ms":9,"type":"token","agent":"a","text":"hi \"there\"\n"}"#[..],
            br#"{"seq":3,"t_ms":9,"type":"token","agent":"a","text":"x","reasoning":true}"#,
            br#"{"seq":3,"t_ms":9,"type":"token","agent":"a\\b","text":"\u00e9\\"}"#,
            r#"{"seq":3,"t_ms":9,"type":"token","agent":"a","text":"plain é ✓"}"#.as_bytes(),
            br#"{"seq":3,"t_ms":9,"type":"token","agent":"a","text":"","reasoning":false}"#,
        ] {
            let general: Event = serde_json::from_slice(line).unwrap();
            assert_eq!(parse_event(line).unwrap(), general);
        }
        // A raw control character is not JSON: the shortcut must not take it.
        assert!(
            parse_event(
                b"{\"seq\":3,\"t_ms\":9,\"type\":\"token\",\"agent\":\"a\",\"text\":\"\x01\"}"
            )
            .is_err()
        );
        // A token line with something the shortcut does not know is still read whole.
        let odd = br#"{"seq":3,"t_ms":9,"type":"token","agent":"a","text":"x","extra":1}"#;
        assert_eq!(
            parse_event(odd).unwrap(),
            serde_json::from_slice::<Event>(odd).unwrap()
        );
        assert!(parse_event(br#"{"seq":3,"t_ms":9,"type":"token","agent":"a"}"#).is_err());
    }

    #[test]
    fn json_errors_name_the_column_not_a_line() {
        let e = serde_json::from_slice::<Event>(b"{\"seq\": 1,").unwrap_err();
        let text = describe_json_error(&e, "an event");
        assert!(
            text.starts_with("not JSON (") && !text.contains("line"),
            "{text}"
        );
        let e =
            serde_json::from_slice::<Event>(br#"{"seq":1,"t_ms":2,"type":"nope"}"#).unwrap_err();
        let text = describe_json_error(&e, "an event");
        assert!(
            text.starts_with("not an event (unknown variant `nope`"),
            "{text}"
        );
    }
}
