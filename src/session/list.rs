//! Summaries of the sessions in a directory, for `crewtui sessions`.
//!
//! A summary needs a few figures from the whole file (agents, tokens, the end), but not its
//! events: lines are scanned in one pass and only the few kinds that carry those figures are
//! parsed. Token and model-request lines, nearly all of a long file, are recognised by the
//! start of the line the recorder writes and never parsed.

use std::borrow::Cow;
use std::collections::HashSet;
use std::io::BufReader;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::SessionError;
use super::read::{LineKind, LineReader, read_header};
use crate::engine::{Outcome, Usage};

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
    /// Prompt and completion tokens, summed over every reply that reported usage.
    pub tokens: (u64, u64),
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

/// The summary of one session file. Lines that are not events are passed over, as replay
/// would skip them.
pub fn summarise(path: &Path) -> Result<SessionSummary, SessionError> {
    let file = crate::files::open_regular(path).map_err(|e| SessionError::io(path, e))?;
    let mut lines = LineReader::new(BufReader::with_capacity(1 << 16, file));
    let header = read_header(path, &mut lines)?;
    let mut agents = HashSet::new();
    let mut tokens = (0, 0);
    let mut outcome = None;
    // A resumed session may start its clock again: each run's length is added up.
    let (mut earlier_runs_ms, mut last_t_ms) = (0, 0);
    while let Some(line) = lines.next_line().map_err(|e| SessionError::io(path, e))? {
        if line.kind != LineKind::Whole {
            continue;
        }
        let peek = match quick_peek(line.bytes) {
            Some((t_ms, kind)) if !NEEDED.contains(&kind) => Peek {
                t_ms,
                kind: Cow::Borrowed(""),
                agent: None,
                usage: None,
                outcome: None,
            },
            _ => match serde_json::from_slice::<Peek>(line.bytes) {
                Ok(peek) => peek,
                Err(_) => continue,
            },
        };
        if peek.t_ms < last_t_ms {
            earlier_runs_ms = u64::saturating_add(earlier_runs_ms, last_t_ms);
        }
        last_t_ms = peek.t_ms;
        // Anything after the end means the session went on (it was resumed).
        outcome = None;
        match peek.kind.as_ref() {
            "agent_started" => {
                if let Some(agent) = peek.agent {
                    agents.insert(agent.into_owned());
                }
            }
            "message" => {
                if let Some(usage) = peek.usage {
                    tokens.0 = u64::saturating_add(tokens.0, usage.prompt_tokens);
                    tokens.1 = u64::saturating_add(tokens.1, usage.completion_tokens);
                }
            }
            "session_finished" => outcome = peek.outcome,
            _ => {}
        }
    }
    Ok(SessionSummary {
        path: path.to_path_buf(),
        session_id: header.session_id,
        started_at: header.started_at,
        crew: header.crew_name,
        outcome,
        agents: agents.len(),
        tokens,
        duration_ms: earlier_runs_ms.saturating_add(last_t_ms),
    })
}

/// Kinds whose fields a summary needs; every other kind only counts as an event.
const NEEDED: [&[u8]; 3] = [b"agent_started", b"message", b"session_finished"];

/// The fields of an event a summary reads.
#[derive(Deserialize)]
struct Peek<'a> {
    t_ms: u64,
    #[serde(rename = "type", borrow)]
    kind: Cow<'a, str>,
    #[serde(default, borrow)]
    agent: Option<Cow<'a, str>>,
    #[serde(default)]
    usage: Option<Usage>,
    #[serde(default)]
    outcome: Option<Outcome>,
}

/// `t_ms` and `type` of a line that starts the way the recorder writes every event,
/// `{"seq":N,"t_ms":N,"type":"NAME"`, read without parsing the rest.
fn quick_peek(line: &[u8]) -> Option<(u64, &[u8])> {
    fn number(text: &[u8]) -> Option<(u64, &[u8])> {
        let end = text.iter().position(|b| !b.is_ascii_digit())?;
        let digits = std::str::from_utf8(&text[..end]).ok()?;
        Some((digits.parse().ok()?, &text[end..]))
    }
    let (_, rest) = number(line.strip_prefix(b"{\"seq\":")?)?;
    let (t_ms, rest) = number(rest.strip_prefix(b",\"t_ms\":")?)?;
    let rest = rest.strip_prefix(b",\"type\":\"")?;
    let end = rest.iter().position(|&b| b == b'"')?;
    Some((t_ms, &rest[..end]))
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
