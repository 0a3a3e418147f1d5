//! The terminal front end: a pane per agent, folded from the engine's events.
//!
//! Depends on the engine; the engine never depends on this. The engine's run model
//! ([`crate::engine::Run`]) is the fold of events (shared with replay); [`view::View`] is how
//! the user looks at it (focus, scroll, wrapped lines); [`render`] draws both.

pub mod backend;
pub mod clipboard;
mod finding;
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
use crate::session::Playback;
use live::Launch;
use theme::Theme;

/// Shows a session live in the full-screen TUI on the real terminal, restoring the terminal on
/// the way out.
pub async fn run_live(
    crew_name: &str,
    agents: &[AgentInfo],
    terms: Terms,
    prior: &[Event],
    launch: Launch,
    theme: &Theme,
) -> io::Result<Option<Outcome>> {
    let mut guard = terminal::enter()?;
    let run = live::run(
        &mut guard.terminal,
        EventStream::new(),
        crew_name,
        agents,
        terms,
        prior,
        launch,
        theme,
    );
    tokio::select! {
        done = run => {
            let (outcome, stats) = done?;
            tracing::info!(draws = stats.draws, events = stats.events, "live TUI finished");
            Ok(outcome)
        }
        () = terminal::terminated() => {
            tracing::warn!("terminated by a signal");
            Ok(Some(Outcome::Cancelled))
        }
    }
}

/// Plays a recording in the full-screen TUI. `speed` `None` is as fast as possible.
pub async fn run_replay(replayer: Playback, theme: &Theme, speed: Option<f64>) -> io::Result<()> {
    let mut guard = terminal::enter()?;
    let run = replay::run(
        &mut guard.terminal,
        EventStream::new(),
        replayer,
        theme,
        speed,
    );
    tokio::select! {
        done = run => {
            let stats = done?;
            tracing::info!(draws = stats.draws, events = stats.events, "replay finished");
        }
        () = terminal::terminated() => tracing::warn!("terminated by a signal"),
    }
    Ok(())
}
