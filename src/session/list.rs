//! Summaries of the sessions in a directory, for `crewtui sessions`.
//!
//! A summary is a projection of the run model, like every other view of a session: the file is
//! scanned in one pass and the events that carry its figures (agents, tokens, failures, the end) are
//! folded by [`Run`]. Token and model-request lines, nearly all of a long file, are recognised
//! by the start of the line the recorder writes and never parsed.

use std::io::BufReader;
use std::path::{Path, PathBuf};

use super::SessionError;
use super::read::{LineKind, LineReader, quick_peek, read_header};
use crate::engine::run::{Spend, TimelineLimits};
use crate::engine::{Event, Outcome};

/// One session file, summarised.
#[derive(Clone, Debug, PartialEq)]
pub struct SessionSummary {
    pub path: PathBuf,
    pub session_id: String,
    /// RFC 3339, UTC.
    pub started_at: String,
    pub crew: String,
    /// How the session ended; `None` when it was cut off, or is still running.
    pub outcome: Option<Outcome>,
    /// Distinct agents that started a turn.
    pub agents: usize,
    /// Prompt and completion tokens, summed over every reply (estimated from the text for a
    /// reply without the provider's figures).
    pub tokens: (u64, u64),
    /// Tokens and dollars, as the run model priced them.
    pub spend: Spend,
    /// Agents with a failure.
    pub failures: usize,
    /// From the start to the last event recorded.
    pub duration_ms: u64,
}

/// Every session file (`*.jsonl`) in `dir`, newest first. Files that cannot be read or are not
/// sessions are left out and their errors returned alongside; a missing `dir` holds no
/// sessions.
pub fn list(dir: &Path) -> (Vec<SessionSummary>, Vec<SessionError>) {
    let mut sessions = Vec::new();
    let mut errors = Vec::new();
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return (sessions, errors),
        Err(e) => return (sessions, vec![SessionError::io(dir, e)]),
    };
    for entry in entries {
        let path = match entry {
            Ok(entry) => entry.path(),
            Err(e) => {
                errors.push(SessionError::io(dir, e));
                continue;
            }
        };
        if path.extension().is_none_or(|e| e != "jsonl") || !path.is_file() {
            continue;
        }
        match summarise(&path) {
            Ok(summary) => sessions.push(summary),
            Err(e) => errors.push(e),
        }
    }
    // RFC 3339 UTC times sort as text; the file name breaks ties within a second.
    sessions.sort_by(|a, b| (&b.started_at, &b.path).cmp(&(&a.started_at, &a.path)));
    (sessions, errors)
}

/// The summary of one session file: a projection of its run model. Lines that are not events
/// are passed over, as replay would skip them.
pub fn summarise(path: &Path) -> Result<SessionSummary, SessionError> {
    let file = crate::files::open_regular(path).map_err(|e| SessionError::io(path, e))?;
    let mut lines = LineReader::new(BufReader::with_capacity(1 << 16, file));
    let header = read_header(path, &mut lines)?;
    let mut run = header.run(TimelineLimits::default());
    let mut last_t_ms = 0;
    while let Some(line) = lines.next_line().map_err(|e| SessionError::io(path, e))? {
        if line.kind != LineKind::Whole {
            continue;
        }
        // Tokens and requests, nearly all of a long file, change none of the figures: they
        // are recognised by how the recorder starts a line and never parsed.
        if let Some((t_ms, kind)) = quick_peek(line.bytes)
            && !NEEDED.contains(&kind)
        {
            last_t_ms = last_t_ms.max(t_ms);
            continue;
        }
        if let Ok(event) = serde_json::from_slice::<Event>(line.bytes) {
            last_t_ms = last_t_ms.max(event.t_ms);
            run.apply(&event);
        }
    }
    let spend = run.spend();
    Ok(SessionSummary {
        path: path.to_path_buf(),
        session_id: header.session_id,
        started_at: header.started_at,
        crew: header.crew_name,
        outcome: run.outcome(),
        agents: run.agents_started(),
        tokens: (spend.prompt_tokens, spend.output_tokens()),
        spend,
        failures: run.agents().iter().filter(|a| a.failed).count(),
        duration_ms: last_t_ms,
    })
}

/// Kinds a summary parses; every other kind only moves the clock.
const NEEDED: [&[u8]; 8] = [
    b"session_started",
    b"session_resumed",
    b"agent_started",
    // Which model answered, and so what its reply cost.
    b"fell_back",
    b"message",
    b"tool_failed",
    b"agent_failed",
    b"session_finished",
];
