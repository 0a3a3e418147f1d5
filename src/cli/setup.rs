//! What every way of running a session needs: the async runtime, the HTTP client, the session
//! file and the theme.

use std::path::{Path, PathBuf};

use anyhow::Context;
use crewtui::config::model::Crew;
use crewtui::engine::SessionParts;
use crewtui::session::{Header, Recorder};
use crewtui::text::visible_line;
use crewtui::tui::theme::Theme;

/// Runs `future` on a new async runtime, then shuts the runtime down without waiting on a
/// blocking task that may never end (a tool stuck in a read), once its worker threads have
/// dropped what they ran — the session's recorder among it, which writes its last lines then.
pub fn block_on<T>(future: impl Future<Output = anyhow::Result<T>>) -> anyhow::Result<T> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let result = runtime.block_on(future);
    runtime.shutdown_timeout(RUNTIME_SHUTDOWN);
    result
}

/// The longest the way out waits for the runtime's threads.
const RUNTIME_SHUTDOWN: std::time::Duration = std::time::Duration::from_secs(1);

/// The providers and tools of a crew. The HTTP client is made here, once per process: every
/// session of the process shares its connection pool.
pub fn session_parts(crew: &Crew) -> anyhow::Result<SessionParts> {
    let http = crewtui::provider::openai::http_client(std::time::Duration::from_secs(
        crew.settings.connect_timeout_seconds,
    ))
    .map_err(|e| anyhow::anyhow!("setting up the HTTP client: {e}"))?;
    Ok(SessionParts::for_crew(crew, &http))
}

/// A new session file in `dir` for a run of `crew` on `input`.
pub fn open_recorder(
    dir: &Path,
    crew: &Crew,
    session_id: &str,
    input: &str,
) -> anyhow::Result<Recorder> {
    let header = Header::new(session_id, crew, input, std::time::SystemTime::now());
    Recorder::create(dir, &header).with_context(|| format!("recording in {}", dir.display()))
}

/// `--sessions-dir`, else the platform's data directory.
pub fn sessions_dir(arg: Option<PathBuf>) -> anyhow::Result<PathBuf> {
    super::sessions::sessions_dir(arg)
}

pub fn theme(name: Option<&str>) -> anyhow::Result<Theme> {
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    Ok(Theme::load(name, no_color)?)
}

/// Lines of a session file that could not be read, as `FILE:LINE: warning: ...` on stderr: a
/// damaged line costs that line, not the session.
pub fn report_read_warnings(file: &Path, warnings: &[crewtui::session::ReadWarning]) {
    let file = file.display().to_string();
    let file = visible_line(&file);
    for warning in warnings {
        let message = visible_line(&warning.message);
        super::output::warn(format_args!("{file}:{}: warning: {message}", warning.line));
    }
}
