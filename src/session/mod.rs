//! Session files: every event of a run, one JSON line each, after a header line that says what
//! was run. [`Recorder`] writes them, [`read`] reads them back for replay and resume, [`list`]
//! summarises a directory of them and [`transcript`] turns one into markdown.
//!
//! A file is `<header>\n<event>\n<event>\n...`, each event exactly as [`crate::engine::Event`]
//! serialises (DESIGN.md "Events"). A crash can leave the last line cut off; readers ignore it
//! with a warning and [`Recorder::append`] cuts it before writing more. [`Printer`] prints the
//! same lines on headless stdout. This module depends on the engine's event types and the
//! crew model, never on a front end.

mod batch;
mod clock;
mod header;
mod list;
mod lock;
mod playback;
mod printer;
mod read;
mod recorder;
mod transcript;
mod v1;

use std::path::{Path, PathBuf};
use std::time::SystemTime;

pub use batch::{
    BatchWriter, Counters, FILE_FLUSH_EVERY, FLUSH_EVERY, Health, SYNC_EVERY, Urgency,
};
pub use clock::{Clock, ManualClock};
pub use header::{FORMAT, Header, VERSION};
pub use list::{SessionSummary, list, summarise};
pub use playback::{Mark, Moment, Playback};
pub use printer::{PRINT_BUFFER, Printer};
pub use read::{Entry, ReadWarning, Reader, Recording, read};
pub use recorder::{Recorder, encode, urgency};
pub use transcript::{transcript, transcript_file};

impl Recording {
    /// The events a resumed session goes on from: all of them, but for a version 1 file that
    /// stopped inside a step, which goes on from that step's start (see `v1::resumable`).
    pub fn resumable_events(&self) -> &[crate::engine::Event] {
        if self.header.version < 2 {
            v1::resumable(&self.events)
        } else {
            &self.events
        }
    }
}

/// Why a session file could not be written or read at all. Each says its cause once, in its
/// message (none has a `source`, which would repeat it in an error chain), and names the path,
/// made visible: a path from a directory listing is as untrusted as a file's contents.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    #[error("{}: {error}", shown(path))]
    Io {
        path: PathBuf,
        error: std::io::Error,
    },
    /// The first line is missing, or is not the header of a crewtui session.
    #[error("{}:1: not a crewtui session file: {reason}", shown(path))]
    NotASession { path: PathBuf, reason: String },
    #[error(
        "{}:1: session format version {version} is newer than this crewtui reads ({}); \
         upgrade crewtui",
        shown(path),
        VERSION
    )]
    UnsupportedVersion { path: PathBuf, version: u32 },
    /// Another process is appending to the file: one at a time may.
    #[error(
        "{}: another process is appending to this session ({}); one process at a time may \
         add to a session file",
        shown(path),
        holder.as_deref().unwrap_or("it holds the file's lock")
    )]
    Locked {
        path: PathBuf,
        /// `pid N: COMMAND`, when it could be found out.
        holder: Option<String>,
    },
}

impl SessionError {
    fn io(path: &Path, error: std::io::Error) -> Self {
        Self::Io {
            path: path.to_path_buf(),
            error,
        }
    }
}

fn shown(path: &Path) -> String {
    crate::text::visible_line(&path.display().to_string()).into_owned()
}

/// `$XDG_DATA_HOME/crewtui/sessions`, else `~/.local/share/crewtui/sessions`.
pub fn default_dir() -> Option<PathBuf> {
    // XDG says a relative value is invalid and must be ignored.
    let data = std::env::var_os("XDG_DATA_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| {
            std::env::var_os("HOME")
                .filter(|h| !h.is_empty())
                .map(|h| PathBuf::from(h).join(".local/share"))
        })?;
    Some(data.join("crewtui").join("sessions"))
}

/// `20261128T203652Z-launch-plan.jsonl`: the UTC start to the second, then the crew name made
/// safe for a file name.
pub fn file_name(started: SystemTime, crew: &str) -> String {
    name_for(&crate::tools::format_rfc3339_utc(started), crew)
}

/// [`file_name`] from an RFC 3339 start time as a [`Header`] holds it.
fn name_for(started_at: &str, crew: &str) -> String {
    let stamp: String = started_at
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect();
    format!("{stamp}-{}.jsonl", file_safe(crew))
}

/// A length of time as people read it: `850ms`, `12.3s`, `4m05s`, `2h03m`.
pub fn format_duration(ms: u64) -> String {
    match ms {
        0..1_000 => format!("{ms}ms"),
        1_000..60_000 => format!("{}.{}s", ms / 1000, ms % 1000 / 100),
        60_000..3_600_000 => format!("{}m{:02}s", ms / 60_000, ms % 60_000 / 1000),
        _ => format!("{}h{:02}m", ms / 3_600_000, ms % 3_600_000 / 60_000),
    }
}

/// Letters, digits, `-`, `_` and `.` kept, runs of anything else made one `-`, at most 64
/// characters: no path separators, no leading dot, nothing a shell would need quoted.
fn file_safe(name: &str) -> String {
    let mut safe = String::new();
    for c in name.chars() {
        if c.is_alphanumeric() || matches!(c, '_' | '.') || c == '-' {
            safe.push(c);
        } else if !safe.ends_with('-') {
            safe.push('-');
        }
    }
    let safe: String = safe
        .trim_matches(|c| c == '-' || c == '.')
        .chars()
        .take(64)
        .collect();
    if safe.is_empty() {
        "crew".to_string()
    } else {
        safe
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use super::*;

    #[test]
    fn file_names_sort_by_start_and_carry_a_safe_crew_name() {
        let started = UNIX_EPOCH + Duration::from_secs(1_795_898_212);
        assert_eq!(
            file_name(started, "launch-plan"),
            "20261128T203652Z-launch-plan.jsonl"
        );
        assert_eq!(
            file_name(started, "../etc/pass wd"),
            "20261128T203652Z-etc-pass-wd.jsonl"
        );
        assert_eq!(file_name(started, "..."), "20261128T203652Z-crew.jsonl");
        assert_eq!(
            file_name(started, "Équipe"),
            "20261128T203652Z-Équipe.jsonl"
        );
        let long = "x".repeat(300);
        assert_eq!(
            file_name(started, &long).len(),
            "20261128T203652Z-.jsonl".len() + 64
        );
    }

    #[test]
    fn durations_read_naturally() {
        assert_eq!(format_duration(0), "0ms");
        assert_eq!(format_duration(999), "999ms");
        assert_eq!(format_duration(12_345), "12.3s");
        assert_eq!(format_duration(245_000), "4m05s");
        assert_eq!(format_duration(7_380_000), "2h03m");
        assert!(!format_duration(u64::MAX).is_empty());
    }
}
