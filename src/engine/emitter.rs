//! Stamps events with their sequence number and time, writes them to the session's log, and
//! hands them to the front end.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Mutex, mpsc};
// Tokio's clock, which the session's deadlines and tool timeouts run on: a run under a paused
// clock is stamped with the times it would have taken.
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::event::{Event, EventKind};

/// Where a session's events are kept besides the front end: the session file.
pub trait EventLog: Send {
    fn record(&mut self, event: &Event) -> std::io::Result<()>;
}

/// The one way a session's tasks report what they do. Cloned into every agent task.
#[derive(Clone)]
pub struct Emitter {
    inner: Arc<Inner>,
}

struct Inner {
    tx: mpsc::Sender<Event>,
    // Held across the write and the send so that seq order is file order and channel order,
    // even when parallel agents emit at the same moment.
    state: Mutex<State>,
    start: Instant,
    session: CancellationToken,
}

struct State {
    next_seq: u64,
    log: Option<Box<dyn EventLog>>,
}

impl Emitter {
    /// `session` is cancelled when nobody listens any more: work whose events nobody can see
    /// is work to stop. A resumed session goes on from `first_seq` and `first_ms`.
    pub fn new(
        tx: mpsc::Sender<Event>,
        session: CancellationToken,
        log: Option<Box<dyn EventLog>>,
        first_seq: u64,
        first_ms: u64,
    ) -> Self {
        let now = Instant::now();
        Self {
            inner: Arc::new(Inner {
                tx,
                state: Mutex::new(State {
                    next_seq: first_seq,
                    log,
                }),
                start: now
                    .checked_sub(Duration::from_millis(first_ms))
                    .unwrap_or(now),
                session,
            }),
        }
    }

    /// Milliseconds since the session started.
    pub fn elapsed_ms(&self) -> u64 {
        self.inner.start.elapsed().as_millis() as u64
    }

    pub async fn emit(&self, kind: EventKind) {
        let mut state = self.inner.state.lock().await;
        let event = Event {
            seq: state.next_seq,
            t_ms: self.elapsed_ms(),
            kind,
        };
        state.next_seq += 1;
        if let Some(log) = &mut state.log
            && let Err(e) = log.record(&event)
        {
            // The run is worth more than its record: say so once and go on unrecorded.
            tracing::error!("session file: {e}; recording stops here");
            state.log = None;
        }
        if self.inner.tx.send(event).await.is_err() {
            tracing::debug!("event receiver gone; stopping the session");
            self.inner.session.cancel();
        }
    }
}
