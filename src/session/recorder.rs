//! Writing a session file as the session runs.
//!
//! Each event is one line written with one `write` of one buffer, so a crash tears at most the
//! last line; nothing is buffered across events, so a reader (or a crash of the process) sees
//! every event written. Durability against power loss is paid for at boundaries only: the data
//! is synced after whole replies, tool results, failures, never per token, and at most once per
//! [`SYNC_EVERY`] — sixteen parallel replies ending together share one sync, which comes with
//! the first event after the interval, a pause, the end of the session or the drop. A pause and
//! the end sync at once: the process may wait there, or leave.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::{Header, Recording, SessionError, name_for, read};
use crate::engine::{Event, EventKind, EventLog};

/// Boundaries closer together than this share one sync.
pub const SYNC_EVERY: Duration = Duration::from_secs(1);

/// Tries at most this many `-2`, `-3`, ... suffixes when two sessions of one crew start in the
/// same second.
const MAX_NAME_TRIES: u32 = 100;

/// Appends events to one session file.
#[derive(Debug)]
pub struct Recorder {
    path: PathBuf,
    file: File,
    /// One line is serialised here, then written whole.
    line: Vec<u8>,
    fsyncs: u64,
    /// Written since the last sync.
    unsynced: bool,
    /// A boundary passed since the last sync.
    sync_due: bool,
    last_sync: Instant,
}

impl Recorder {
    /// Creates `dir` (mode 0700) if needed and a new file in it (mode 0600, never replacing an
    /// existing one), named by [`super::file_name`], and writes and syncs the header line.
    pub fn create(dir: &Path, header: &Header) -> Result<Recorder, SessionError> {
        create_dir(dir).map_err(|e| SessionError::io(dir, e))?;
        let base = name_for(&header.started_at, &header.crew_name);
        let stem = base.strip_suffix(".jsonl").unwrap_or(&base);
        let mut attempt = 1;
        let (path, file) = loop {
            let path = if attempt == 1 {
                dir.join(&base)
            } else {
                dir.join(format!("{stem}-{attempt}.jsonl"))
            };
            match create_file(&path) {
                Ok(file) => break (path, file),
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists && attempt < MAX_NAME_TRIES => {
                    attempt += 1;
                }
                Err(e) => return Err(SessionError::io(&path, e)),
            }
        };
        let mut line = Vec::with_capacity(4096);
        let written = serde_json::to_writer(&mut line, header)
            .map_err(io::Error::from)
            .and_then(|()| {
                line.push(b'\n');
                (&file).write_all(&line)
            });
        let mut recorder = Recorder {
            path,
            file,
            line,
            fsyncs: 0,
            unsynced: true,
            sync_due: false,
            last_sync: Instant::now(),
        };
        if let Err(e) = written.and_then(|()| recorder.sync()) {
            return Err(SessionError::io(&recorder.path, e));
        }
        // The new name must survive a crash too, not only the file's contents. Some file
        // systems refuse to sync a directory; the file is still there, only less durably.
        if let Ok(dir) = File::open(dir) {
            let _ = dir.sync_all();
        }
        Ok(recorder)
    }

    /// Opens an existing session file to continue it: reads it, cuts off a torn last line,
    /// and appends from there. Returns the recording as it was read.
    pub fn append(path: &Path) -> Result<(Recorder, Recording), SessionError> {
        let recording = read(path)?;
        let fail = |e| SessionError::io(path, e);
        let file = OpenOptions::new().append(true).open(path).map_err(fail)?;
        let len = file.metadata().map_err(fail)?.len();
        let mut fsyncs = 0;
        if len != recording.valid_len {
            file.set_len(recording.valid_len).map_err(fail)?;
            file.sync_data().map_err(fail)?;
            fsyncs += 1;
        }
        let recorder = Recorder {
            path: path.to_path_buf(),
            file,
            line: Vec::with_capacity(4096),
            fsyncs,
            unsynced: false,
            sync_due: false,
            last_sync: Instant::now(),
        };
        Ok((recorder, recording))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Writes `event` as one line, and syncs it to disk when it ends a reply, a tool call, a
    /// turn or the session.
    pub fn record(&mut self, event: &Event) -> io::Result<()> {
        self.line.clear();
        serde_json::to_writer(&mut self.line, event)?;
        self.line.push(b'\n');
        self.file.write_all(&self.line)?;
        self.unsynced = true;
        self.sync_due |= is_boundary(&event.kind);
        let must = matches!(
            event.kind,
            EventKind::Paused { .. } | EventKind::SessionFinished { .. }
        );
        if must || (self.sync_due && self.last_sync.elapsed() >= SYNC_EVERY) {
            self.sync()?;
        }
        Ok(())
    }

    /// Syncs what was written to disk (data, not metadata); a no-op when nothing was.
    pub fn sync(&mut self) -> io::Result<()> {
        if self.unsynced {
            self.file.sync_data()?;
            self.fsyncs += 1;
            self.unsynced = false;
        }
        self.sync_due = false;
        self.last_sync = Instant::now();
        Ok(())
    }

    /// How many times the file has been synced, for measuring what recording costs.
    pub fn fsyncs(&self) -> u64 {
        self.fsyncs
    }
}

/// The engine writes every event it emits through this, in `seq` order.
impl EventLog for Recorder {
    fn record(&mut self, event: &Event) -> io::Result<()> {
        Recorder::record(self, event)
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        // A session ended some other way than `session_finished` (an error, a panic in the
        // front end) still leaves its last events on disk.
        let _ = self.sync();
    }
}

/// Events after which a crash must not lose what came before.
fn is_boundary(kind: &EventKind) -> bool {
    match kind {
        EventKind::Message { .. }
        | EventKind::ToolResult { .. }
        | EventKind::ToolFailed { .. }
        | EventKind::Paused { .. }
        | EventKind::AgentFailed { .. }
        | EventKind::AgentCancelled { .. }
        | EventKind::ParallelFinished { .. }
        | EventKind::SessionFinished { .. } => true,
        EventKind::SessionStarted { .. }
        | EventKind::AgentStarted { .. }
        | EventKind::ModelRequest { .. }
        | EventKind::Token { .. }
        | EventKind::ToolCall { .. }
        | EventKind::Handoff { .. }
        | EventKind::ParallelStarted { .. }
        | EventKind::Resumed { .. } => false,
    }
}

fn create_dir(dir: &Path) -> io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir)
}

fn create_file(path: &Path) -> io::Result<File> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)
}
