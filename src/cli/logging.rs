//! Logs go to a file, never to the terminal: the TUI owns the screen and headless stdout is
//! JSONL. A panic inside a tool call is logged, not printed: it is reported as an event.

use std::path::PathBuf;

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
    std::fs::create_dir_all(&dir).ok()?;
    let appender = tracing_appender::rolling::never(&dir, "crewtui.log");
    let (writer, guard) = tracing_appender::non_blocking(appender);
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
