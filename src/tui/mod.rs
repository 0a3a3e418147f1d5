//! The terminal front end: a pane per agent, folded from the engine's events.
//!
//! Depends on the engine; the engine never depends on this. The engine's run model
//! ([`crate::engine::Run`]) is the fold of events (shared with replay); [`view::View`] is how
//! the user looks at it (focus, scroll, wrapped lines); [`render`] draws both.

pub mod backend;
pub mod clipboard;
mod debugging;
pub mod editor;
mod editor_view;
mod finding;
mod gate_panel;
pub mod header;
pub mod inspector;
pub mod keys;
pub mod layout;
pub mod live;
pub mod pane;
pub mod render;
pub mod replay;
pub mod search;
pub mod terminal;
pub mod theme;
pub mod title;
pub mod view;
pub mod wrap;

use std::io;

use crossterm::event::EventStream;

use crate::engine::run::{AgentInfo, Terms};
use crate::engine::{Event, Outcome};
use crate::session::{Playback, ReadWarning};
use crate::signals::StopSignals;
use live::Launch;
use terminal::Process;
use theme::Theme;

/// Shows a session live in the full-screen TUI on the real terminal, restoring the terminal on
/// the way out. A stop signal cancels the session as quitting does; the run then counts as
/// cancelled unless it had ended already.
pub async fn run_live(
    crew_name: &str,
    agents: &[AgentInfo],
    terms: Terms,
    prior: &[Event],
    launch: Launch,
    theme: &Theme,
    signals: StopSignals,
) -> io::Result<Option<Outcome>> {
    let mut guard = terminal::enter()?;
    let mut process = Process::new(signals)?;
    let input = process.input(EventStream::new());
    let (outcome, stats) = live::run(
        &mut *guard.terminal,
        input,
        &mut process,
        crew_name,
        agents,
        terms,
        prior,
        launch,
        theme,
    )
    .await?;
    tracing::info!(
        draws = stats.draws,
        events = stats.events,
        "live TUI finished"
    );
    Ok(match outcome {
        None if process.stopped() => Some(Outcome::Cancelled),
        outcome => outcome,
    })
}

/// Plays a recording in the full-screen TUI. `speed` `None` is as fast as possible. Returns the
/// lines found unreadable while it played, which the screen could not say.
pub async fn run_replay(
    replayer: Playback,
    theme: &Theme,
    speed: Option<f64>,
    signals: StopSignals,
) -> io::Result<Vec<ReadWarning>> {
    let mut guard = terminal::enter()?;
    let mut process = Process::new(signals)?;
    let input = process.input(EventStream::new());
    let (stats, warnings) = replay::run(
        &mut *guard.terminal,
        input,
        &mut process,
        replayer,
        theme,
        speed,
    )
    .await?;
    tracing::info!(
        draws = stats.draws,
        events = stats.events,
        "replay finished"
    );
    Ok(warnings)
}
