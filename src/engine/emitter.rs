//! Stamps events with their sequence number and time and hands them to the front end.

use std::sync::Arc;
use std::time::Instant;

use tokio::sync::{Mutex, mpsc};
use tokio_util::sync::CancellationToken;

use super::event::{Event, EventKind};

/// The one way a session's tasks report what they do. Cloned into every agent task.
#[derive(Clone)]
pub struct Emitter {
    inner: Arc<Inner>,
}

struct Inner {
    tx: mpsc::Sender<Event>,
    // Held across the send so that seq order is channel order even when parallel agents emit
    // at the same moment.
    next_seq: Mutex<u64>,
    start: Instant,
    session: CancellationToken,
}

impl Emitter {
    /// `session` is cancelled when nobody listens any more: work whose events nobody can see
    /// is work to stop.
    pub fn new(tx: mpsc::Sender<Event>, session: CancellationToken) -> Self {
        Self {
            inner: Arc::new(Inner {
                tx,
                next_seq: Mutex::new(0),
                start: Instant::now(),
                session,
            }),
        }
    }

    /// Milliseconds since the session started.
    pub fn elapsed_ms(&self) -> u64 {
        self.inner.start.elapsed().as_millis() as u64
    }

    pub async fn emit(&self, kind: EventKind) {
        let mut seq = self.inner.next_seq.lock().await;
        let event = Event {
            seq: *seq,
            t_ms: self.elapsed_ms(),
            kind,
        };
        *seq += 1;
        if self.inner.tx.send(event).await.is_err() {
            tracing::debug!("event receiver gone; stopping the session");
            self.inner.session.cancel();
        }
    }
}
