//! Entering and leaving the full-screen terminal, on every way out, and what the process is
//! told from outside while the screen is up: stop signals, suspension and continuation.
//!
//! The panic hook restores the terminal before the panic message prints, except for a panic
//! inside a tool call: that one is caught and reported as an event, and the screen stays up.
//!
//! Suspending works as in any full-screen program: Ctrl-Z (a key like any other in raw mode)
//! or SIGTSTP gives the terminal back to the shell as it was — main screen, cooked mode, no
//! mouse tracking, cursor shown — and stops the process; once continued (`fg`), the terminal
//! is set up again and the loop draws everything anew. A SIGCONT after a stop crewtui never
//! saw (SIGSTOP) sets the terminal up again too: the shell had it meanwhile.

use std::io::{self, Stdout};
use std::mem::ManuallyDrop;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};

use crossterm::event::{DisableMouseCapture, EnableMouseCapture, Event as TermEvent, KeyEventKind};
use crossterm::execute;
use crossterm::terminal::{
    EnterAlternateScreen, LeaveAlternateScreen, disable_raw_mode, enable_raw_mode,
};
use futures_util::{Stream, StreamExt};
use ratatui::Terminal;
use ratatui::backend::{Backend, CrosstermBackend};
use ratatui::layout::Rect;
use tokio::signal::unix::{Signal, SignalKind, signal};
use tokio::sync::mpsc;

use super::backend::Bridged;
use super::keys;
use crate::signals::StopSignals;

/// Bridged: a streaming frame costs the terminal fewer bytes (see [`super::backend`]).
pub type Tui = Terminal<Bridged<CrosstermBackend<Stdout>>>;

/// Restores the terminal when dropped, however the TUI ends.
pub struct Guard {
    pub terminal: ManuallyDrop<Tui>,
}

impl Drop for Guard {
    fn drop(&mut self) {
        if let Err(e) = leave() {
            tracing::error!("restoring the terminal: {e}");
        }
        // SAFETY: taken once, here, and never used again.
        let mut terminal = unsafe { ManuallyDrop::take(&mut self.terminal) };
        // A ratatui terminal dropped with its cursor hidden shows it, and says with eprintln!
        // when it cannot — a panic once the terminal, and stderr with it, is gone (a closed
        // pane). `leave` showed the cursor already; if ratatui cannot be told so, its terminal
        // is left undropped: the process is leaving.
        match terminal.show_cursor() {
            Ok(()) => drop(terminal),
            Err(e) => {
                tracing::debug!("the terminal is gone: {e}");
                std::mem::forget(terminal);
            }
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
    Ok(Guard {
        terminal: ManuallyDrop::new(terminal),
    })
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

/// What happens to the process, besides the screen's own input, that the live and replay
/// loops must act on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outside {
    /// A stop signal: end as a quit does — cancel the run, restore the terminal.
    Stop,
    /// The process was stopped and has been continued, and the terminal set up again: the
    /// whole screen must be drawn anew.
    Continued,
}

/// [`Outside`] for the real terminal: stop signals, SIGTSTP and Ctrl-Z (taken out of the input
/// by [`Process::input`]) suspend, SIGCONT continues.
pub struct Process {
    stop: StopSignals,
    tstp: Signal,
    cont: Signal,
    ctrl_z: mpsc::UnboundedReceiver<()>,
    ctrl_z_tx: mpsc::UnboundedSender<()>,
    stopped: bool,
}

impl Process {
    /// Catches SIGTSTP and SIGCONT from now on; `stop` are the stop signals, caught already.
    pub fn new(stop: StopSignals) -> io::Result<Process> {
        let (ctrl_z_tx, ctrl_z) = mpsc::unbounded_channel();
        Ok(Process {
            stop,
            tstp: signal(SignalKind::from_raw(libc::SIGTSTP))?,
            cont: signal(SignalKind::from_raw(libc::SIGCONT))?,
            ctrl_z,
            ctrl_z_tx,
            stopped: false,
        })
    }

    /// The terminal's input without the key that suspends (Ctrl-Z, see [`keys::suspends`]),
    /// which suspends through this [`Process`] instead.
    pub fn input<S>(&self, input: S) -> impl Stream<Item = io::Result<TermEvent>> + Unpin + use<S>
    where
        S: Stream<Item = io::Result<TermEvent>> + Unpin,
    {
        let ctrl_z = self.ctrl_z_tx.clone();
        input.filter(move |event| {
            let suspend = matches!(
                event,
                Ok(TermEvent::Key(key)) if key.kind != KeyEventKind::Release && keys::suspends(key)
            );
            if suspend {
                let _ = ctrl_z.send(());
            }
            std::future::ready(!suspend)
        })
    }

    /// Whether a stop signal came.
    pub fn stopped(&self) -> bool {
        self.stopped
    }
}

impl Stream for Process {
    type Item = Outside;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Outside>> {
        let this = self.get_mut();
        if let Poll::Ready(name) = this.stop.poll_recv(cx) {
            tracing::warn!("{name}: quitting");
            this.stopped = true;
            return Poll::Ready(Some(Outside::Stop));
        }
        // Both polled, so each registers its wake-up.
        let tstp = this.tstp.poll_recv(cx).is_ready();
        let ctrl_z = this.ctrl_z.poll_recv(cx).is_ready();
        if tstp || ctrl_z {
            if let Err(e) = suspend() {
                tracing::error!("suspending: {e}");
            }
            return Poll::Ready(Some(Outside::Continued));
        }
        if this.cont.poll_recv(cx).is_ready() {
            if let Err(e) = reenter() {
                tracing::error!("setting the terminal up again: {e}");
            }
            return Poll::Ready(Some(Outside::Continued));
        }
        Poll::Pending
    }
}

/// Makes the next draw repaint every cell, as after [`Outside::Continued`]. Not
/// `Terminal::clear`: that asks the terminal where its cursor is and waits for the answer,
/// which the input stream, reading at the same time, may take first.
pub fn repaint<B: Backend>(terminal: &mut Terminal<B>) -> Result<(), B::Error> {
    let size = terminal.size()?;
    terminal.resize(Rect::new(0, 0, size.width, size.height))
}

/// Gives the terminal back as the shell left it and stops the process until it is continued,
/// then sets the terminal up again.
fn suspend() -> io::Result<()> {
    leave()?;
    // SIGSTOP, not SIGTSTP: that one is caught here and would only come back.
    // SAFETY: raise has no preconditions; the process stops until SIGCONT.
    if unsafe { libc::raise(libc::SIGSTOP) } != 0 {
        return Err(io::Error::last_os_error());
    }
    reenter()
}

/// Raw mode, the alternate screen and mouse capture again, after the shell had the terminal.
fn reenter() -> io::Result<()> {
    // crossterm skips enabling raw mode while it believes it on, which after a stop it may not
    // be: the shell put the terminal in its own mode. Off first (back to what was saved),
    // then on again.
    disable_raw_mode()?;
    enable_raw_mode()?;
    ACTIVE.store(true, Ordering::Relaxed);
    execute!(io::stdout(), EnterAlternateScreen, EnableMouseCapture)
}
