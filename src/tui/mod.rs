//! The terminal front end: a pane per agent, folded from the engine's events.
//!
//! Depends on the engine; the engine never depends on this. [`app::App`] is the fold of
//! events (shared with replay), [`view::View`] what the user looks at, [`render`] draws both.

pub mod app;
pub mod layout;
pub mod live;
pub mod pane;
pub mod render;
pub mod replay;
pub mod terminal;
pub mod theme;
pub mod view;
pub mod wrap;

use std::io;

use crossterm::event::EventStream;

use crate::config::model::Crew;
use crate::engine::{Outcome, SessionParts};
use theme::Theme;

/// Runs a crew in the full-screen TUI on the real terminal, restoring it on the way out.
pub async fn run_crew(
    crew: Crew,
    input: Option<String>,
    parts: SessionParts,
    theme: &Theme,
) -> io::Result<Option<Outcome>> {
    let mut guard = terminal::enter()?;
    let (outcome, stats) = live::run(
        &mut guard.terminal,
        EventStream::new(),
        crew,
        input,
        parts,
        theme,
    )
    .await?;
    tracing::info!(draws = stats.draws, events = stats.events, "tui finished");
    Ok(outcome)
}
