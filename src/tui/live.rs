//! The live loop: one `select!` over terminal input, the engine's events and the frame timer.
//!
//! Events are folded into the run model as they come, all that is queued at once; the screen
//! is drawn only when something changed, at most once per frame interval, never once per
//! token.

use std::io;
use std::time::Duration;

use crossterm::event::Event as TermEvent;
use futures_util::{Stream, StreamExt};
use ratatui::Terminal;
use ratatui::backend::Backend;
use tokio::time::Instant;

use super::render;
use super::terminal::{self, Outside};
use super::theme::Theme;
use super::view::{Action, InputPurpose, View};
use crate::config::model::Crew;
use crate::engine::run::{AgentInfo, Terms, TimelineLimits};
use crate::engine::{self, Command, Event, EventLog, Outcome, Run, SessionHandle, SessionParts};
use crate::signals::STOP_GRACE;

/// At most 60 frames a second: a frame waits this long after the last one ended (16 ms would
/// allow 62.5).
pub const FRAME: Duration = Duration::from_micros(16_667);
/// How often running clocks on screen advance when nothing else happens.
const CLOCK_TICK: Duration = Duration::from_millis(250);
/// Events folded before a frame gets its chance, so a flood cannot starve the screen.
const DRAIN_MAX: usize = 8192;

/// Counters a benchmark or test can read after a run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    pub draws: u64,
    pub events: u64,
}

/// Opens the session file for a run about to start on this input; an error is shown, and the run
/// goes on unrecorded.
pub type OpenLog = Box<dyn FnOnce(&Crew, &str, &str) -> Result<Box<dyn EventLog>, String> + Send>;

/// How the screen gets its session.
pub enum Launch {
    /// Ask for the first input in the input box, then start the crew on it.
    AskFirst {
        crew: Box<Crew>,
        parts: Box<SessionParts>,
        open_log: OpenLog,
    },
    /// A session already running: started on a given input, or resumed from a recording.
    Running(SessionHandle),
}

async fn next_event(session: &mut Option<SessionHandle>) -> Option<Event> {
    match session {
        Some(handle) => handle.events.recv().await,
        None => std::future::pending().await,
    }
}

/// Shows a session live on `terminal` until the user quits, or `outside` says stop. `prior` are
/// events recorded before (a resumed session), folded in first; `terms` price the run as its
/// crew says. Returns the run's outcome, if it got that far.
#[allow(clippy::too_many_arguments)]
pub async fn run<B, S, O>(
    terminal: &mut Terminal<B>,
    mut input_events: S,
    mut outside: O,
    crew_name: &str,
    agents: &[AgentInfo],
    terms: Terms,
    prior: &[Event],
    launch: Launch,
    theme: &Theme,
) -> io::Result<(Option<Outcome>, Stats)>
where
    B: Backend,
    B::Error: Into<io::Error>,
    S: Stream<Item = io::Result<TermEvent>> + Unpin,
    O: Stream<Item = Outside> + Unpin,
{
    let mut run = Run::new(crew_name, agents, TimelineLimits::default()).with_terms(terms);
    for event in prior {
        run.apply(event);
    }
    let mut view = View::new(run.agents().len());
    let mut session: Option<SessionHandle> = None;
    let mut pending = None;
    // The clock shows session time: a resumed session goes on from where its recording ended.
    let mut started_at = Instant::now() - Duration::from_millis(run.t_ms());
    let mut stats = Stats::default();
    match launch {
        Launch::Running(handle) => session = Some(handle),
        Launch::AskFirst {
            crew,
            parts,
            open_log,
        } => {
            view.open_input(InputPurpose::FirstInput, "");
            pending = Some((crew, parts, open_log));
        }
    }
    let mut dirty = true;
    let mut last_draw = Instant::now() - FRAME;
    let mut clock = tokio::time::interval(CLOCK_TICK);
    clock.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    // The terminal failed (it went away, as a closed pane does): the run is still ended as a
    // quit ends it, then the error is returned.
    let mut failed: Option<io::Error> = None;
    let mut detach = false;
    loop {
        if dirty && last_draw.elapsed() >= FRAME {
            let now_ms = if run.running() {
                started_at.elapsed().as_millis() as u64
            } else {
                run.t_ms()
            };
            let drawn = terminal.draw(|frame| render::draw(frame, &run, &mut view, theme, now_ms));
            if let Err(e) = drawn {
                failed = Some(e.into());
                break;
            }
            stats.draws += 1;
            dirty = false;
            last_draw = Instant::now();
        }
        let mut action = Action::None;
        let notice_expiry = view.notice_expiry();
        tokio::select! {
            event = input_events.next() => {
                match event {
                    Some(Ok(TermEvent::Key(key))) => action = view.on_key(&run, key),
                    Some(Ok(TermEvent::Mouse(mouse))) => view.on_mouse(&run, mouse),
                    Some(Ok(_)) => {}
                    Some(Err(e)) => {
                        failed = Some(e);
                        break;
                    }
                    // No more input (the terminal went away): nothing left to show it to.
                    None => action = Action::Quit,
                }
                dirty = true;
            }
            event = next_event(&mut session) => match event {
                Some(event) => {
                    run.apply(&event);
                    view.heard(&event);
                    stats.events += 1;
                    if let Some(handle) = &mut session {
                        for _ in 0..DRAIN_MAX {
                            let Ok(event) = handle.events.try_recv() else { break };
                            run.apply(&event);
                            view.heard(&event);
                            stats.events += 1;
                        }
                    }
                    view.sync(&run);
                    dirty = true;
                }
                None => session = None,
            },
            Some(outside) = outside.next() => match outside {
                Outside::Stop => action = Action::Quit,
                Outside::Continued => {
                    if let Err(e) = terminal::repaint(terminal) {
                        failed = Some(e.into());
                        break;
                    }
                    dirty = true;
                }
            },
            () = tokio::time::sleep_until(last_draw + FRAME), if dirty => {}
            _ = clock.tick(), if run.running() => dirty = true,
            () = tokio::time::sleep_until(notice_expiry.unwrap_or_else(Instant::now)), if notice_expiry.is_some() => {
                view.expire_notice();
                dirty = true;
            }
        }
        match action {
            Action::None => {}
            Action::Send(commands) => {
                if let Some(handle) = &session {
                    for command in commands {
                        if handle.commands.send(command).await.is_err() {
                            tracing::debug!("command after the session ended");
                        }
                    }
                }
            }
            Action::Start(text) => {
                if let Some((crew, mut parts, open_log)) = pending.take() {
                    match open_log(&crew, &parts.session_id, &text) {
                        Ok(log) => parts.log = Some(log),
                        Err(e) => view.notify(format!("Not recording: {e}")),
                    }
                    session = Some(engine::start(*crew, text, *parts));
                    started_at = Instant::now();
                }
            }
            Action::Quit => break,
            Action::Detach => {
                detach = true;
                break;
            }
        }
    }
    if let Some(mut handle) = session.take()
        && run.running()
    {
        // Detaching leaves the session where it waits, resumable; quitting cancels it.
        let last = if detach {
            Command::Detach {}
        } else {
            Command::cancel_session()
        };
        let _ = handle.commands.send(last).await;
        if detach {
            // The session's last events say how it stopped, which the caller reports.
            let _ = tokio::time::timeout(STOP_GRACE, async {
                while let Some(event) = handle.events.recv().await {
                    run.apply(&event);
                }
            })
            .await;
        }
        // Nobody reads the events now; they are still recorded, and the session's last ones
        // must not wait for a reader.
        drop(handle.events);
        // Give tools a moment to be stopped cleanly and the end to be recorded; the process
        // is leaving anyway.
        let _ = tokio::time::timeout(STOP_GRACE, handle.task).await;
    }
    match failed {
        Some(e) => Err(e),
        None => Ok((run.outcome(), stats)),
    }
}
