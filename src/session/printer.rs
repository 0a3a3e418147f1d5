//! Headless stdout: the very lines the session file gets, written by a thread of their own.
//!
//! A reader that stops reading (`crewtui run --headless | sleep 30`) blocks `write(2)` on a full
//! pipe. Only this thread waits then: the recorder hands each line over without ever waiting,
//! so the session file and the engine's tasks never stall on stdout. Lines wait in memory:
//! written within [`FLUSH_EVERY`] of the first one waiting (one `write` for all of them), at
//! once for a pause or the end. The buffer is bounded by backpressure rather than by dropping
//! lines: past [`PRINT_BUFFER`] bytes, [`Printer::room`] waits, and the headless driver stops
//! taking events until the reader catches up — the engine then waits on its bounded event
//! queue, and everything it emitted is in the file already. What a stalled reader never took
//! is [`Printer::backlog`], left behind when the process exits.

use std::io::{self, Write};
use std::sync::{Arc, Condvar, Mutex, Weak};
use std::time::Instant;

use tokio::sync::Notify;

use super::batch::{BATCH_BYTES, FLUSH_EVERY, Health, THREAD_STACK, Urgency};
use super::clock::{Clock, Settle, lock};

/// Bytes waiting for stdout beyond which [`Printer::room`] waits. On top of this, at most the
/// events of the engine's queue ([`crate::engine::EVENT_QUEUE`]) come in before the engine
/// waits too.
pub const PRINT_BUFFER: usize = 1024 * 1024;

/// Prints lines to one stream on a thread of its own. Clones share the stream; the thread
/// ends once every clone is dropped and what was handed over is written — or, if the stream
/// never takes it, goes down with the process, which is never made to wait for it.
#[derive(Clone)]
pub struct Printer {
    handle: Arc<Handle>,
}

/// Tells the thread to end when the last [`Printer`] goes.
struct Handle {
    shared: Arc<Shared>,
}

struct Shared {
    state: Mutex<State>,
    /// Wakes the thread: lines to write, or the printer closes.
    wake: Condvar,
    /// The thread went to sleep, for [`Settle`].
    asleep: Condvar,
    /// Something async waiters wait for changed: bytes were written, or the stream failed.
    changed: Notify,
    clock: Clock,
    health: Health,
}

#[derive(Default)]
struct State {
    lines: Vec<u8>,
    /// Lines in `lines`.
    count: usize,
    /// When the oldest line in `lines` was handed over.
    since: Option<Instant>,
    /// `lines` holds a pause or the end: write at once.
    urgent: bool,
    /// Bytes and lines the thread is writing now.
    writing: (usize, usize),
    closing: bool,
    asleep_at: Option<Instant>,
    ended: bool,
}

impl Printer {
    /// Starts the thread that prints to `out`, timed by `clock`.
    pub fn start(out: Box<dyn Write + Send>, clock: Clock) -> io::Result<Printer> {
        let shared = Arc::new(Shared {
            state: Mutex::new(State::default()),
            wake: Condvar::new(),
            asleep: Condvar::new(),
            changed: Notify::new(),
            clock,
            health: Health::default(),
        });
        std::thread::Builder::new()
            .name("crewtui-stdout".into())
            .stack_size(THREAD_STACK)
            .spawn({
                let shared = Arc::clone(&shared);
                move || shared.run(out)
            })?;
        let settle: Weak<dyn Settle> = Arc::downgrade(&shared) as Weak<dyn Settle>;
        shared.clock.register(settle);
        Ok(Printer {
            handle: Arc::new(Handle { shared }),
        })
    }

    fn shared(&self) -> &Shared {
        &self.handle.shared
    }

    /// Hands over one whole line (ending in `\n`); never waits. Dropped once the stream has
    /// failed.
    pub fn push(&self, line: &[u8], urgency: Urgency) {
        let shared = self.shared();
        if shared.health.failed() {
            return;
        }
        let mut state = lock(&shared.state);
        let first = state.lines.is_empty();
        if first {
            state.since = Some(shared.clock.now());
        }
        state.lines.extend_from_slice(line);
        state.count += 1;
        let urgent = urgency.at_once();
        state.urgent |= urgent;
        let full = state.lines.len() >= BATCH_BYTES;
        drop(state);
        // The thread sleeps until the first line is due, whatever comes in meanwhile.
        if first || urgent || full {
            shared.wake.notify_one();
        }
    }

    /// Waits until fewer than [`PRINT_BUFFER`] bytes wait for the stream, or it has failed.
    pub async fn room(&self) {
        self.until(|state| state.lines.len() + state.writing.0 < PRINT_BUFFER)
            .await
    }

    /// Waits until everything handed over is written, or the stream has failed.
    pub async fn drained(&self) {
        self.until(|state| state.lines.is_empty() && state.writing.0 == 0)
            .await
    }

    /// Waits until the stream fails (a closed pipe).
    pub async fn failed(&self) {
        self.until(|_| false).await
    }

    /// The stream's first error, if it has failed.
    pub fn error(&self) -> Option<io::Error> {
        self.shared().health.error()
    }

    /// Lines handed over and not written (yet): what a reader who stopped reading never got.
    pub fn backlog(&self) -> usize {
        let state = lock(&self.shared().state);
        state.count + state.writing.1
    }

    /// Resolves once `done` holds, or the stream has failed.
    async fn until(&self, done: impl Fn(&State) -> bool) {
        let shared = self.shared();
        loop {
            let changed = shared.changed.notified();
            let mut changed = std::pin::pin!(changed);
            // Registered before the check, so a change between the two is not missed.
            changed.as_mut().enable();
            if shared.health.failed() || done(&lock(&shared.state)) {
                return;
            }
            changed.await;
        }
    }
}

impl Drop for Handle {
    fn drop(&mut self) {
        lock(&self.shared.state).closing = true;
        self.shared.wake.notify_one();
    }
}

impl Settle for Shared {
    fn settle(&self, now: Instant) {
        let mut state = lock(&self.state);
        self.wake.notify_one();
        // A thread inside a write has taken what was due; a stalled stream keeps it there.
        while !state.ended && state.writing.1 == 0 && state.asleep_at.is_none_or(|at| at < now) {
            state = self
                .asleep
                .wait(state)
                .unwrap_or_else(|poisoned| poisoned.into_inner());
        }
    }
}

impl Shared {
    /// The thread: writes what waits when it is due, until the printer closes and nothing
    /// waits, or the stream fails.
    fn run(&self, mut out: Box<dyn Write + Send>) {
        let mut batch = Vec::new();
        let mut state = lock(&self.state);
        loop {
            let now = self.clock.now();
            let due = match state.since {
                None if state.closing => break,
                None => None,
                Some(_) if state.urgent || state.closing || state.lines.len() >= BATCH_BYTES => {
                    Some(now)
                }
                Some(since) => Some(since + FLUSH_EVERY),
            };
            if due.is_some_and(|due| due <= now) {
                std::mem::swap(&mut state.lines, &mut batch);
                state.writing = (batch.len(), std::mem::take(&mut state.count));
                state.since = None;
                state.urgent = false;
                // A settling clock counts a write under way as done with what was due.
                self.asleep.notify_all();
                drop(state);
                let written = out.write_all(&batch).and_then(|()| out.flush());
                batch.clear();
                state = lock(&self.state);
                let (_, lines) = std::mem::take(&mut state.writing);
                if let Err(e) = written {
                    self.health.fail(&e);
                    // Never delivered, as far as anyone can tell; they are in the session file.
                    state.count += lines;
                    break;
                }
                self.changed.notify_waiters();
                continue;
            }
            state.asleep_at = Some(now);
            self.asleep.notify_all();
            state = self.clock.sleep(&self.wake, state, due);
            state.asleep_at = None;
        }
        state.ended = true;
        drop(state);
        self.asleep.notify_all();
        self.changed.notify_waiters();
    }
}

#[cfg(test)]
mod tests {
    use std::sync::mpsc;

    use super::super::ManualClock;
    use super::*;

    /// A stream whose writes go to a channel, each blocking until `gate` lets it through.
    struct Gated {
        gate: mpsc::Receiver<()>,
        written: mpsc::Sender<Vec<u8>>,
    }

    impl Write for Gated {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.gate
                .recv()
                .map_err(|_| io::Error::from(io::ErrorKind::BrokenPipe))?;
            let _ = self.written.send(buf.to_vec());
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[tokio::test]
    async fn lines_wait_for_the_flush_interval_and_a_pause_goes_at_once() {
        let clock = ManualClock::new();
        let (open, gate) = mpsc::channel();
        let (written, seen) = mpsc::channel();
        let printer = Printer::start(Box::new(Gated { gate, written }), clock.clock()).unwrap();
        for _ in 0..8 {
            open.send(()).unwrap();
        }
        printer.push(b"token 1\n", Urgency::Stream);
        printer.push(b"token 2\n", Urgency::Stream);
        clock.advance(FLUSH_EVERY / 2);
        assert!(seen.try_recv().is_err(), "written before it was due");
        clock.advance(FLUSH_EVERY / 2);
        assert_eq!(seen.recv().unwrap(), b"token 1\ntoken 2\n");

        // No time passes: a pause is written with what waits before it.
        printer.push(b"token 3\n", Urgency::Stream);
        printer.push(b"paused\n", Urgency::Durable);
        assert_eq!(seen.recv().unwrap(), b"token 3\npaused\n");
        printer.drained().await;
        assert_eq!(printer.backlog(), 0);
    }

    #[tokio::test]
    async fn a_stalled_stream_holds_lines_back_and_waits_for_room() {
        let clock = ManualClock::new();
        let (open, gate) = mpsc::channel();
        let (written, _seen) = mpsc::channel();
        let printer = Printer::start(Box::new(Gated { gate, written }), clock.clock()).unwrap();
        let line = vec![b'x'; 1023]
            .into_iter()
            .chain([b'\n'])
            .collect::<Vec<u8>>();
        for _ in 0..PRINT_BUFFER / line.len() {
            printer.push(&line, Urgency::Stream);
        }
        // The thread takes everything waiting and blocks in its write: the reader is not
        // reading.
        clock.advance(FLUSH_EVERY);
        assert_eq!(printer.backlog(), PRINT_BUFFER / line.len());
        let room = printer.room();
        let mut room = std::pin::pin!(room);
        assert!(
            futures_util::FutureExt::now_or_never(room.as_mut()).is_none(),
            "room while a full buffer waits"
        );
        // The reader reads again.
        for _ in 0..PRINT_BUFFER / BATCH_BYTES + 2 {
            open.send(()).unwrap();
        }
        room.await;
        printer.drained().await;
        assert_eq!(printer.backlog(), 0);
    }

    #[tokio::test]
    async fn a_failed_stream_is_reported_and_nobody_waits_for_it() {
        struct Closed;
        impl Write for Closed {
            fn write(&mut self, _: &[u8]) -> io::Result<usize> {
                Err(io::Error::from(io::ErrorKind::BrokenPipe))
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        let printer = Printer::start(Box::new(Closed), Clock::system()).unwrap();
        printer.push(b"paused\n", Urgency::Durable);
        printer.failed().await;
        assert_eq!(
            printer.error().map(|e| e.kind()),
            Some(io::ErrorKind::BrokenPipe)
        );
        assert_eq!(printer.backlog(), 1, "the line never got out");
        printer.push(b"more\n", Urgency::Durable);
        assert_eq!(printer.backlog(), 1, "nothing is kept after a failure");
        printer.room().await;
        printer.drained().await;
    }
}
