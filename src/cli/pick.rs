//! Which recorded session a command means: a session file's path, a session id as
//! `crewtui sessions` and the TUI's header show it, the start of one, its last part (what a
//! narrow header shows, `…3fa9c1`), or `--last` for the newest.

use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail};
use clap::Args;
use crewtui::session::Reader;
use crewtui::text::visible_line;

#[derive(Debug, Args)]
pub struct SessionArg {
    /// A session file, a session id, the start of one or its last part (see `crewtui sessions`)
    #[arg(value_name = "SESSION", required_unless_present = "last")]
    pub session: Option<String>,
    /// The newest recorded session
    #[arg(long, conflicts_with = "session")]
    pub last: bool,
    /// Where sessions are recorded, for an id or --last (default: $XDG_DATA_HOME/crewtui/sessions)
    #[arg(long, value_name = "DIR")]
    pub sessions_dir: Option<PathBuf>,
}

/// Sessions named in an error when a part of an id matches several.
const SHOWN: usize = 5;

impl SessionArg {
    /// The session file meant.
    pub fn resolve(&self) -> anyhow::Result<PathBuf> {
        let query = match (&self.session, self.last) {
            (Some(query), _) => query.as_str(),
            (None, true) => "",
            (None, false) => bail!("name a session: a file, an id, or --last"),
        };
        let path = Path::new(query);
        // Anything there by that name, or a name that can only be a path, is a file: opening
        // it says what is wrong with it (missing, a directory, a FIFO), which is more than
        // "no such session".
        let a_path = query.contains('/') || query.ends_with(".jsonl");
        if !self.last && (a_path || std::fs::symlink_metadata(path).is_ok()) {
            return Ok(path.to_path_buf());
        }
        let dir = super::sessions::sessions_dir(self.sessions_dir.clone())?;
        let sessions = headers(&dir);
        if self.last {
            // Start times are to the second: of sessions started in one, the last written.
            let written = |path: &Path| path.metadata().and_then(|m| m.modified()).ok();
            return sessions
                .into_iter()
                .max_by_key(|(path, started, _)| (started.clone(), written(path)))
                .map(|(path, ..)| path)
                .ok_or_else(|| anyhow!("no sessions in {}", dir.display()));
        }
        let wanted = query.trim_start_matches(['…', '.']);
        let exact: Vec<&(PathBuf, String, String)> =
            sessions.iter().filter(|s| s.2 == wanted).collect();
        let found: Vec<&(PathBuf, String, String)> = if exact.is_empty() {
            sessions
                .iter()
                .filter(|s| {
                    !wanted.is_empty() && (s.2.starts_with(wanted) || s.2.ends_with(wanted))
                })
                .collect()
        } else {
            exact
        };
        match found.as_slice() {
            [one] => Ok(one.0.clone()),
            [] => bail!(
                "no session `{}` in {} (`crewtui sessions` lists them)",
                visible_line(query),
                dir.display()
            ),
            many => {
                let ids: Vec<String> = many
                    .iter()
                    .take(SHOWN)
                    .map(|s| visible_line(&s.2).into_owned())
                    .collect();
                let more = many.len().saturating_sub(SHOWN);
                let more = if more > 0 {
                    format!(" and {more} more")
                } else {
                    String::new()
                };
                bail!(
                    "`{}` matches {} sessions: {}{more}; give more of the id",
                    visible_line(query),
                    many.len(),
                    ids.join(", ")
                )
            }
        }
    }
}

/// Each session file in `dir` with its start time and id, read from its header alone.
fn headers(dir: &Path) -> Vec<(PathBuf, String, String)> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "jsonl") && p.is_file())
        .filter_map(|path| {
            let reader = Reader::open(&path).ok()?;
            let header = reader.header();
            let (started, id) = (header.started_at.clone(), header.session_id.clone());
            Some((path, started, id))
        })
        .collect()
}
