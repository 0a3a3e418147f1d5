//! Writing a session file as the session runs.
//!
//! Each event is one line, and lines reach the file whole and in order through a
//! [`BatchWriter`]: a boundary — a whole reply, a tool result, a failure — within
//! [`FLUSH_EVERY`] of its event, with everything before it; streamed tokens within
//! [`FILE_FLUSH_EVERY`] if nothing brings them sooner. A few large `write`s rather than one per
//! event is what keeps recording cheap (BENCHMARKS.md, item 8). A crash of the process tears
//! at most the last line and costs at most the last second of tokens; a pause and the end are
//! written and synced before anything else happens, since the process may wait there, or
//! leave. Durability against power loss is paid for at boundaries only: the data is synced
//! after whole replies, tool results, failures, never per token, and at most once per
//! [`SYNC_EVERY`] — sixteen parallel replies ending together share one sync.
//!
//! The file is locked for as long as a recorder has it open (see `lock.rs`). A headless run's
//! stdout gets each line from here too, through a [`Printer`] handed the line after the file's
//! writer: a reader that stops reading never holds up the file.
//!
//! [`FLUSH_EVERY`]: super::FLUSH_EVERY
//! [`FILE_FLUSH_EVERY`]: super::FILE_FLUSH_EVERY
//! [`SYNC_EVERY`]: super::SYNC_EVERY

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::Ordering;

use super::batch::{BatchWriter, Counters, Health, Urgency};
use super::read::{Reader, read_from};
use super::{Clock, Header, Printer, Recording, SessionError, lock, name_for};
use crate::engine::{Event, EventKind, EventLog};
use crate::files;

/// Tries at most this many `-2`, `-3`, ... suffixes when two sessions of one crew start in the
/// same second.
const MAX_NAME_TRIES: u32 = 100;

/// Appends events to one session file, holding its lock, and for a headless run prints them
/// too.
pub struct Recorder {
    path: PathBuf,
    writer: BatchWriter,
    file: Health,
    printer: Option<Printer>,
    /// A torn tail to cut off, through this descriptor, before the first line is appended.
    cut: Option<(File, u64)>,
    /// One line is serialised here, then handed to the writer.
    line: Vec<u8>,
}

impl std::fmt::Debug for Recorder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Recorder")
            .field("path", &self.path)
            .finish()
    }
}

impl Recorder {
    /// Creates `dir` (mode 0700) if needed and a new file in it (mode 0600, never replacing an
    /// existing one), named by [`super::file_name`], and writes the header line.
    pub fn create(dir: &Path, header: &Header) -> Result<Recorder, SessionError> {
        Self::create_timed(dir, header, Clock::system())
    }

    /// [`Recorder::create`], with the writer's thread timed by `clock`.
    pub fn create_timed(
        dir: &Path,
        header: &Header,
        clock: Clock,
    ) -> Result<Recorder, SessionError> {
        files::create_private_dir(dir).map_err(|e| SessionError::io(dir, e))?;
        let base = name_for(&header.started_at, &header.crew_name);
        let stem = base.strip_suffix(".jsonl").unwrap_or(&base);
        let mut attempt = 1;
        let (path, file) = loop {
            let path = if attempt == 1 {
                dir.join(&base)
            } else {
                dir.join(format!("{stem}-{attempt}.jsonl"))
            };
            match files::private_file()
                .write(true)
                .create_new(true)
                .open(&path)
            {
                Ok(file) => break (path, file),
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists && attempt < MAX_NAME_TRIES => {
                    attempt += 1;
                }
                Err(e) => return Err(SessionError::io(&path, e)),
            }
        };
        lock::exclusive(&file, &path)?;
        let mut recorder = Recorder::new(path, file, clock)?;
        let fail = |e| SessionError::io(&recorder.path, e);
        write_json(header, &mut recorder.line).map_err(fail)?;
        recorder.line.push(b'\n');
        // Written now, synced with the first boundary: a header alone is not worth a sync of
        // its own (a new file's first sync is the dearest, it commits the file system's
        // journal).
        recorder.writer.push(&recorder.line, Urgency::Boundary);
        recorder.writer.write_now();
        recorder.check().map_err(fail)?;
        // The new name must survive a crash too, not only the file's contents. Some file
        // systems refuse to sync a directory; the file is still there, only less durably.
        if let Ok(dir) = File::open(dir) {
            let _ = dir.sync_all();
        }
        Ok(recorder)
    }

    /// Opens an existing session file to continue it: takes its lock (refused while another
    /// process appends to it), reads it, and appends from its last whole line. A torn last
    /// line is cut off when the first event is recorded, so a resume refused after this (a
    /// session that already ended) leaves the file as it was. Returns the recording as read.
    pub fn append(path: &Path) -> Result<(Recorder, Recording), SessionError> {
        let fail = |e| SessionError::io(path, e);
        let mut options = OpenOptions::new();
        options.read(true).append(true);
        let file = files::open_regular_with(path, options).map_err(fail)?;
        lock::exclusive(&file, path)?;
        // Read through the locked descriptor: the file read is the file appended to.
        let recording = read_from(Reader::from_file(path, file.try_clone().map_err(fail)?)?)?;
        let len = file.metadata().map_err(fail)?.len();
        let cut = if len == recording.valid_len {
            None
        } else {
            Some((file.try_clone().map_err(fail)?, recording.valid_len))
        };
        let mut recorder = Recorder::new(path.to_path_buf(), file, Clock::system())?;
        recorder.cut = cut;
        Ok((recorder, recording))
    }

    fn new(path: PathBuf, file: File, clock: Clock) -> Result<Recorder, SessionError> {
        let writer = BatchWriter::new(file, clock).map_err(|e| SessionError::io(&path, e))?;
        let file = writer.health();
        Ok(Recorder {
            path,
            writer,
            file,
            printer: None,
            cut: None,
            line: Vec::with_capacity(4096),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Prints every event from now on through `printer` as well (`run --headless`), the same
    /// serialised line. The printer never makes the recording wait.
    pub fn print_to(&mut self, printer: Printer) {
        self.printer = Some(printer);
    }

    /// Writes `event` as one line, as soon as [`urgency`] says. Fails once the file has
    /// failed; every event after that is lost to the file.
    pub fn record(&mut self, event: &Event) -> io::Result<()> {
        if let Some((file, len)) = self.cut.take() {
            file.set_len(len)?;
            file.sync_data()?;
        }
        encode(event, &mut self.line)?;
        let urgency = urgency(&event.kind);
        self.writer.push(&self.line, urgency);
        if let Some(printer) = &self.printer {
            printer.push(&self.line, urgency);
        }
        self.check()
    }

    fn check(&self) -> io::Result<()> {
        self.file.error().map_or(Ok(()), Err)
    }

    /// How many times the file has been written and synced, for measuring what recording
    /// costs.
    pub fn counters(&self) -> Arc<Counters> {
        self.writer.counters()
    }

    pub fn fsyncs(&self) -> u64 {
        self.writer.counters().fsyncs.load(Ordering::Relaxed)
    }
}

/// The engine writes every event it emits through this, in `seq` order.
impl EventLog for Recorder {
    fn record(&mut self, event: &Event) -> io::Result<()> {
        Recorder::record(self, event)
    }
}

/// `event` as one line of a session file (and of headless output), replacing `line`.
pub fn encode(event: &Event, line: &mut Vec<u8>) -> io::Result<()> {
    line.clear();
    write_json(event, line)?;
    line.push(b'\n');
    Ok(())
}

/// Compact JSON in which every control character is escaped: serde_json escapes C0 ones, and
/// [`EscapeControls`] DEL and C1 too, so that a session file or headless output shown raw (by
/// `cat`, `tail -f`, a pager) cannot drive the terminal. The text reads back the same.
fn write_json<T: serde::Serialize>(value: &T, out: &mut Vec<u8>) -> io::Result<()> {
    let mut serializer = serde_json::Serializer::with_formatter(out, EscapeControls);
    value.serialize(&mut serializer).map_err(io::Error::from)
}

/// serde_json's compact formatter, with DEL and U+0080–U+009F written as `\u007f`, `\u009b`.
struct EscapeControls;

impl serde_json::ser::Formatter for EscapeControls {
    fn write_string_fragment<W: ?Sized + Write>(
        &mut self,
        writer: &mut W,
        fragment: &str,
    ) -> io::Result<()> {
        let bytes = fragment.as_bytes();
        let (mut start, mut i) = (0, 0);
        while i < bytes.len() {
            // In UTF-8, DEL is the byte 0x7f and U+0080–U+009F are 0xc2 followed by their code.
            let (code, len) = match (bytes[i], bytes.get(i + 1)) {
                (0x7f, _) => (0x7f, 1),
                (0xc2, Some(&next @ 0x80..=0x9f)) => (next, 2),
                _ => {
                    i += 1;
                    continue;
                }
            };
            writer.write_all(&bytes[start..i])?;
            write!(writer, "\\u{code:04x}")?;
            i += len;
            start = i;
        }
        writer.write_all(&bytes[start..])
    }
}

/// How soon an event must reach the disk. A boundary — a reply, a tool result, a failure —
/// reaches the file within [`super::FLUSH_EVERY`] and is synced soon after; other events may
/// wait up to [`super::FILE_FLUSH_EVERY`]; a gate is written before the agent waits at it; a
/// pause or the end is written and synced before the process waits or exits.
pub fn urgency(kind: &EventKind) -> Urgency {
    match kind {
        EventKind::Token { .. }
        | EventKind::SessionStarted { .. }
        | EventKind::SessionResumed {}
        | EventKind::AgentStarted { .. }
        | EventKind::ModelRequest { .. }
        | EventKind::ToolCall { .. }
        | EventKind::Handoff { .. }
        | EventKind::ParallelStarted { .. }
        | EventKind::Resumed { .. } => Urgency::Stream,
        EventKind::Message { .. }
        | EventKind::ToolResult { .. }
        | EventKind::ToolFailed { .. }
        | EventKind::AgentFailed { .. }
        | EventKind::FellBack { .. }
        | EventKind::AgentCancelled { .. }
        | EventKind::TurnEnded { .. }
        | EventKind::ParallelFinished { .. } => Urgency::Boundary,
        EventKind::Decision { .. }
        | EventKind::Guidance { .. }
        | EventKind::Breakpoints { .. }
        | EventKind::Hold { .. }
        | EventKind::CommandRejected { .. }
        | EventKind::Rerun { .. }
        | EventKind::Kept { .. } => Urgency::Boundary,
        // A gate is a wait for a decision, which a script gives at once: see `Urgency::Now`.
        EventKind::Gate { .. } => Urgency::Now,
        EventKind::Paused { .. } | EventKind::SessionFinished { .. } => Urgency::Durable,
    }
}
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_escape_every_control_character_and_read_back_the_same() {
        let text = "osc52 \x1b]52;c;aGk=\x07 title \x1b]0;t\x1b\\ clear \x1b[2J alt \x1b[?1049l \
                    csi \u{9b}31m st \u{9c} del \x7f nbsp \u{a0} é 日本";
        let event = Event {
            seq: 3,
            t_ms: 9,
            kind: EventKind::Token {
                agent: "a\u{85}".into(),
                text: text.to_string(),
                reasoning: false,
            },
        };
        let mut line = Vec::new();
        encode(&event, &mut line).unwrap();
        let shown = std::str::from_utf8(&line).unwrap();
        let raw: Vec<char> = shown
            .trim_end()
            .chars()
            .filter(|c| c.is_control())
            .collect();
        assert_eq!(raw, Vec::<char>::new(), "{shown}");
        assert!(
            shown.contains(r"\u007f") && shown.contains(r"\u009b") && shown.contains(r"\u0085"),
            "{shown}"
        );
        assert!(shown.contains("nbsp \u{a0} é 日本"), "{shown}");
        let back: Event = serde_json::from_slice(&line).unwrap();
        assert_eq!(back, event);
    }
}
