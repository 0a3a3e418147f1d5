//! Logs go to a file, never to the terminal: the TUI owns the screen and headless stdout is
//! JSONL. A panic inside a tool call is logged, not printed: it is reported as an event.

use std::fs::File;
use std::path::{Path, PathBuf};

use tracing_appender::non_blocking::WorkerGuard;

pub const HELP_NOTE: &str = "Logs are written to $XDG_STATE_HOME/crewtui/crewtui.log \
(default ~/.local/state/crewtui/crewtui.log); set CREWTUI_LOG=debug for more detail.";

fn log_dir() -> Option<PathBuf> {
    let state = std::env::var_os("XDG_STATE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/state")))?;
    Some(state.join("crewtui"))
}

/// Starts file logging and the panic hook. Keep the guard alive until exit so the last lines
/// are written.
pub fn init() -> Option<WorkerGuard> {
    install_panic_hook();
    let dir = log_dir()?;
    let file = open_log(&dir).ok()?;
    let (writer, guard) = tracing_appender::non_blocking(file);
    let level = match std::env::var("CREWTUI_LOG").as_deref() {
        Ok("trace") => tracing::Level::TRACE,
        Ok("debug") => tracing::Level::DEBUG,
        Ok("warn") => tracing::Level::WARN,
        Ok("error") => tracing::Level::ERROR,
        _ => tracing::Level::INFO,
    };
    tracing_subscriber::fmt()
        .with_writer(writer)
        .with_max_level(level)
        .with_ansi(false)
        .try_init()
        .ok()?;
    Some(guard)
}

/// `crewtui.log` in `dir`, for appending, readable by the user only like the sessions: what
/// it says about runs is theirs. A log left readable by an older crewtui is made private too.
fn open_log(dir: &Path) -> std::io::Result<File> {
    crewtui::files::create_private_dir(dir)?;
    let file = crewtui::files::private_file()
        .create(true)
        .append(true)
        .open(dir.join("crewtui.log"))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    }
    Ok(file)
}

fn install_panic_hook() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if crewtui::tools::in_tool_call() {
            tracing::warn!("tool panicked: {info}");
        } else {
            tracing::error!("panic: {info}");
            default(info);
        }
    }));
}
