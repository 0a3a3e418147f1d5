//! Entering and leaving the full-screen terminal, on every way out.
//!
//! The panic hook restores the terminal before the panic message prints, except for a panic
//! inside a tool call: that one is caught and reported as an event, and the screen stays up.

use std::io::{self, Stdout};
use std::sync::atomic::{AtomicBool, Ordering};

use crossterm::event::{DisableMouseCapture, EnableMouseCapture};
use crossterm::execute;
use crossterm::terminal::{
    EnterAlternateScreen, LeaveAlternateScreen, disable_raw_mode, enable_raw_mode,
};
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;

use super::backend::Bridged;

/// Bridged: a streaming frame costs the terminal fewer bytes (see [`super::backend`]).
pub type Tui = Terminal<Bridged<CrosstermBackend<Stdout>>>;

/// Restores the terminal when dropped, however the TUI ends.
pub struct Guard {
    pub terminal: Tui,
}

impl Drop for Guard {
    fn drop(&mut self) {
        if let Err(e) = leave() {
            tracing::error!("restoring the terminal: {e}");
        }
    }
}

/// Whether the TUI has the terminal (so a clipboard copy can be written to it).
static ACTIVE: AtomicBool = AtomicBool::new(false);

pub fn active() -> bool {
    ACTIVE.load(Ordering::Relaxed)
}

pub fn enter() -> io::Result<Guard> {
    install_panic_hook();
    enable_raw_mode()?;
    ACTIVE.store(true, Ordering::Relaxed);
    let mut stdout = io::stdout();
    if let Err(e) = execute!(stdout, EnterAlternateScreen, EnableMouseCapture) {
        let _ = leave();
        return Err(e);
    }
    let mut terminal = Terminal::new(Bridged::new(CrosstermBackend::new(stdout)))?;
    terminal.clear()?;
    Ok(Guard { terminal })
}

/// Puts the terminal back as the shell left it. Safe to call more than once.
pub fn leave() -> io::Result<()> {
    ACTIVE.store(false, Ordering::Relaxed);
    disable_raw_mode()?;
    execute!(
        io::stdout(),
        LeaveAlternateScreen,
        DisableMouseCapture,
        crossterm::cursor::Show
    )
}

fn install_panic_hook() {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if !crate::tools::in_tool_call() {
            let _ = leave();
        }
        previous(info);
    }));
}

/// Resolves when the process is asked to end from outside (SIGTERM, SIGHUP): the caller then
/// drops its loop and the [`Guard`] puts the terminal back.
pub async fn terminated() {
    use tokio::signal::unix::{SignalKind, signal};
    match (
        signal(SignalKind::terminate()),
        signal(SignalKind::hangup()),
    ) {
        (Ok(mut term), Ok(mut hup)) => {
            tokio::select! {
                _ = term.recv() => {}
                _ = hup.recv() => {}
            }
        }
        // Without signal handlers there is nothing to wait for.
        _ => std::future::pending().await,
    }
}
