//! `crewtui sessions`: the recorded sessions, newest first, one per line; and where sessions
//! are recorded.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::anyhow;
use crewtui::engine::Outcome;
use crewtui::session::{self, SessionSummary, format_duration};
use crewtui::text::visible_line;
use unicode_width::UnicodeWidthStr;

use super::output;

/// The sessions directory: `--sessions-dir`, else the platform's data directory.
pub fn sessions_dir(arg: Option<PathBuf>) -> anyhow::Result<PathBuf> {
    arg.or_else(session::default_dir).ok_or_else(|| {
        anyhow!(
            "no sessions directory: neither XDG_DATA_HOME nor HOME is set; pass --sessions-dir DIR"
        )
    })
}

pub fn run(dir: Option<PathBuf>) -> anyhow::Result<ExitCode> {
    let dir = sessions_dir(dir)?;
    let (sessions, errors) = session::list(&dir);
    for error in &errors {
        output::warn(format_args!("crewtui: skipped {error}"));
    }
    let text = if sessions.is_empty() {
        format!("no sessions in {}\n", dir.display())
    } else {
        table(&sessions)
    };
    Ok(output::status(output::print(&text), ExitCode::SUCCESS))
}

fn table(sessions: &[SessionSummary]) -> String {
    let header = [
        "STARTED",
        "CREW",
        "OUTCOME",
        "AGENTS",
        "TOKENS IN/OUT",
        "COST",
        "DURATION",
        "ID",
        "FILE",
    ];
    let rows: Vec<[String; 9]> = sessions
        .iter()
        .map(|s| {
            let outcome = match (s.outcome, s.failures) {
                (None, _) => "cut off".to_string(),
                (Some(Outcome::Completed), 1) => "completed, 1 failure".to_string(),
                (Some(Outcome::Completed), n) if n > 1 => format!("completed, {n} failures"),
                (Some(outcome), _) => outcome.label().to_string(),
            };
            // What a header says, and file names in a directory, are anyone's: a name must
            // neither drive the terminal nor break the table.
            let shown = |text: &str| visible_line(text).into_owned();
            let approx = if s.spend.estimated() { "~" } else { "" };
            [
                shown(&s.started_at),
                shown(&s.crew),
                outcome,
                s.agents.to_string(),
                format!("{}/{approx}{}", s.tokens.0, s.tokens.1),
                s.spend.cost_text().unwrap_or_else(|| "-".to_string()),
                format_duration(s.duration_ms),
                shown(&s.session_id),
                shown(&s.path.display().to_string()),
            ]
        })
        .collect();
    let mut widths = header.map(str::width);
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.width());
        }
    }
    // Counts line up on the right, text on the left; the path is last so it never pads.
    let numeric = [false, false, false, true, true, true, true, false, false];
    let mut out = String::new();
    let header = header.map(str::to_string);
    for row in std::iter::once(&header).chain(&rows) {
        let mut line = String::new();
        for (i, cell) in row.iter().enumerate() {
            let pad = " ".repeat(widths[i] - cell.width());
            match (i + 1 == row.len(), numeric[i]) {
                (true, _) => line.push_str(cell),
                (false, true) => line.push_str(&format!("{pad}{cell}  ")),
                (false, false) => line.push_str(&format!("{cell}{pad}  ")),
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}
