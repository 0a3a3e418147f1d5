//! How a headless run learns it must end early, and how it ends: the events the driver takes
//! from the session, paced by stdout; stop signals; a stdout that failed; and the last wait
//! for the session and stdout on the way out.
//!
//! A stop (a signal, or nobody reading stdout any more) cancels the session, then waits at most
//! [`STOP_GRACE`] for it to end — its cancellation reaching every agent and tool, and
//! `session_finished` written — and a second signal ends that wait at once. Until then the
//! driver takes events only as fast as stdout takes their lines (the [`Printer`]'s
//! backpressure); once stopping, it takes them regardless, so nothing waits on a reader that
//! stopped reading, and whatever such a reader never took is dropped on the way out (it is in
//! the session file) and said on stderr.

use std::time::Duration;

use anyhow::bail;
use crewtui::engine::{Event, Outcome};
use crewtui::session::Printer;
use crewtui::signals::{STOP_GRACE, StopSignals};
use tokio::sync::mpsc::Receiver;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::output;

/// How long stdout may still take to print the last lines once the run is stopping: a reader
/// that reads takes them in microseconds, one that stopped reading never will.
const DRAIN_GRACE: Duration = Duration::from_millis(250);

/// What the driver does next.
// Returned once per event and matched at once: boxing the event would allocate per token.
#[allow(clippy::large_enum_variant)]
pub enum Next {
    /// The session's next event.
    Event(Event),
    /// The run must end: cancel the session and go on taking its events.
    Stop,
    /// No more events: the session ended, or the stop's grace is over.
    End,
}

/// The driver's view of stdout and the stop signals.
pub struct Stop {
    printer: Printer,
    signals: StopSignals,
    stopping: Option<Stopping>,
}

struct Stopping {
    /// What asked for it, for messages.
    why: String,
    /// The end of the wait for the session.
    deadline: Instant,
}

impl Stop {
    pub fn new(printer: Printer, signals: StopSignals) -> Stop {
        Stop {
            printer,
            signals,
            stopping: None,
        }
    }

    /// Waits for the next thing the driver must see.
    pub async fn next(&mut self, events: &mut Receiver<Event>) -> Next {
        let Stop {
            printer,
            signals,
            stopping,
        } = self;
        let why = match stopping {
            None => tokio::select! {
                event = async {
                    printer.room().await;
                    events.recv().await
                } => return event.map_or(Next::End, Next::Event),
                name = signals.recv() => {
                    output::warn(format_args!("crewtui: {name}: cancelling the run"));
                    name.to_string()
                }
                () = printer.failed() => "stdout failed".to_string(),
            },
            Some(stopping) => tokio::select! {
                event = events.recv() => return event.map_or(Next::End, Next::Event),
                name = signals.recv() => {
                    tracing::warn!("{name} again: not waiting for the session to end");
                    stopping.deadline = Instant::now();
                    return Next::End;
                }
                () = tokio::time::sleep_until(stopping.deadline) => return Next::End,
            },
        };
        tracing::info!("stopping the run: {why}");
        self.stopping = Some(Stopping {
            why,
            deadline: Instant::now() + STOP_GRACE,
        });
        Next::Stop
    }

    /// After the last event: waits for the session's task (until the grace is over, when
    /// stopping) and for stdout to take what was printed (unbounded, as for any filter,
    /// unless stopping or a signal comes). Fails when the session did not end in time, or
    /// stdout failed or was left with lines it never took.
    pub async fn finish(mut self, task: JoinHandle<Outcome>) -> anyhow::Result<()> {
        let ended = match &self.stopping {
            // A session that ended without its `session_finished` is the driver's to report.
            None => {
                let _ = task.await;
                true
            }
            Some(stopping) => matches!(
                tokio::time::timeout_at(stopping.deadline, task).await,
                Ok(Ok(_))
            ),
        };
        let drained = match &self.stopping {
            None => tokio::select! {
                () = self.printer.drained() => true,
                name = self.signals.recv() => {
                    tracing::info!("{name} while stdout was not read");
                    false
                }
            },
            Some(_) => tokio::time::timeout(DRAIN_GRACE, self.printer.drained())
                .await
                .is_ok(),
        };
        if !ended {
            let why = self.stopping.as_ref().map_or("", |s| &s.why);
            bail!(
                "{why}: the session did not end within {} s; its file holds what it recorded",
                STOP_GRACE.as_secs()
            );
        }
        if let Some(error) = self.printer.error() {
            return Err(anyhow::Error::new(error).context("writing to stdout"));
        }
        if !drained {
            bail!(
                "writing to stdout: {} line(s) the reader never took were dropped; the session \
                 file has them",
                self.printer.backlog()
            );
        }
        Ok(())
    }
}
