//! Whole lines handed over by the engine's tasks and written to the session file in batches.
//!
//! A `write` per event costs a system call — several microseconds on a VM, more than
//! everything else the engine does for a streamed token. So lines wait in memory, a boundary at
//! most [`FLUSH_EVERY`] and streamed lines at most [`FILE_FLUSH_EVERY`] (a thread of the
//! writer's own takes them then: it wakes only when something is due, since a wake-up costs a
//! context switch, and a line that brings nothing forward does not wake it), and go out
//! together in one `write`; a line that must not wait — a pause, the end — is written and
//! synced at once by the task that hands it over, together with everything before it, and so
//! is a batch that has grown to `BATCH_BYTES`. Bytes always leave in the order they were handed
//! over, and only ever as whole lines, so a crash of the process tears at most the last line.
//! The writer knows only its file: headless stdout has a [`super::Printer`] of its own, so a
//! reader that stops reading never holds up the file.
//!
//! A file `write` costs far more again, and mostly per call rather than per byte (page cache
//! pages, delayed allocation, timestamps; on this VM a 25 KB write costs about what a 256 KB one
//! does). So the file holds streamed lines — tokens, starts, requests — back for up to
//! [`FILE_FLUSH_EVERY`] or `FILE_BYTES`, and takes them with the next batch that has a boundary
//! (a reply, a tool result, a failure) in it: a crash costs at most the last
//! [`FILE_FLUSH_EVERY`] of streamed tokens, at most the last [`FLUSH_EVERY`] of anything else.
//!
//! The file is synced as [`Urgency`] asks: boundaries share a sync at most every
//! [`SYNC_EVERY`], taken by the writer thread if no later line brings it; a durable line and
//! the drop sync at once. A sync only guards against power loss: whatever was written is the
//! kernel's once `write` returns, whatever becomes of the process. All these times are read
//! from the [`Clock`] the writer is given.

use std::fs::File;
use std::io::{self, Write};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, OnceLock, Weak};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::clock::{Clock, Settle, lock};

/// The longest a boundary (a reply, a tool result, a failure) waits in memory before it is
/// written to the file, with every line before it.
pub const FLUSH_EVERY: Duration = Duration::from_millis(100);

/// The longest a file holds back streamed lines with no boundary after them.
pub const FILE_FLUSH_EVERY: Duration = Duration::from_secs(1);

/// A file holding this much is written, however young the lines: memory stays bounded, and
/// writes this large cost little more than small ones.
const FILE_BYTES: usize = 256 * 1024;

/// Boundaries closer together than this share one sync: the horizon ext4 itself commits its
/// journal at by default. A sync costs far more than a write (on this VM about as much CPU as
/// a hundred batches, mostly in the I/O it sets off), and guards only against power loss.
pub const SYNC_EVERY: Duration = Duration::from_secs(5);

/// A batch this large is written at once, by the task that fills it: memory stays bounded and
/// the buffers keep one size, however fast lines come.
pub(super) const BATCH_BYTES: usize = 64 * 1024;

/// The writer thread only moves buffers and calls `write`.
pub(super) const THREAD_STACK: usize = 64 * 1024;

/// How soon a line must reach the outputs, and the disk.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Urgency {
    /// Written to streams within [`FLUSH_EVERY`], to files within [`FILE_FLUSH_EVERY`], with
    /// the lines around it.
    Stream,
    /// Written within [`FLUSH_EVERY`], to files too, and synced within [`SYNC_EVERY`]: a crash
    /// must not lose what came before.
    Boundary,
    /// Written now, with everything before it, and synced within [`SYNC_EVERY`]: the process
    /// waits here for a decision (a gate), which a script may give at once, thousands of
    /// times a run. Should the machine lose power meanwhile, the file goes back at most to
    /// before the gate, where a resume stops at it again.
    Now,
    /// Written and synced now, with everything before it: the process may wait here for a
    /// person, or exit.
    Durable,
}

impl Urgency {
    /// Written by the task that hands the line over, not later by the writer's thread.
    pub fn at_once(self) -> bool {
        matches!(self, Urgency::Now | Urgency::Durable)
    }
}

/// Whether an output has failed. An output stops at its first error.
#[derive(Clone, Debug, Default)]
pub struct Health(Arc<OnceLock<(io::ErrorKind, String)>>);

impl Health {
    /// The output's first error, if it has failed.
    pub fn error(&self) -> Option<io::Error> {
        self.0
            .get()
            .map(|(kind, message)| io::Error::new(*kind, message.clone()))
    }

    pub(super) fn failed(&self) -> bool {
        self.0.get().is_some()
    }

    pub(super) fn fail(&self, e: &io::Error) {
        let _ = self.0.set((e.kind(), e.to_string()));
    }
}

/// What a writer has done so far, readable while it runs (for the benchmarks).
#[derive(Debug, Default)]
pub struct Counters {
    /// `write` calls on files.
    pub file_writes: AtomicU64,
    pub fsyncs: AtomicU64,
    /// Times the writer thread woke because something was due (waiting lines, held lines, a
    /// sync): each costs a context switch, dear on a VM.
    pub takes: AtomicU64,
}

/// Lines in, batches out to one file; see the module docs.
pub struct BatchWriter {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

struct Shared {
    /// Held while a batch is taken and written, so batches reach the file in order. Taken
    /// before `pending` wherever both are held.
    out: Mutex<Out>,
    pending: Mutex<Pending>,
    /// Wakes the writer thread: a first line waits, a sync is due, or the writer closes.
    wake: Condvar,
    /// The writer thread went to sleep, for [`Settle`].
    asleep: Condvar,
    clock: Clock,
    counters: Arc<Counters>,
}

struct Out {
    target: Target,
    /// The batch being written; swapped with `Pending::lines` so neither is reallocated.
    batch: Vec<u8>,
    /// When the oldest line in `batch` was handed over.
    batch_since: Option<Instant>,
    sync_due: bool,
    last_sync: Instant,
}

struct Target {
    file: File,
    health: Health,
    /// Written since its last sync.
    unsynced: bool,
    /// Streamed lines the file holds back, and since when.
    held: Vec<u8>,
    held_since: Option<Instant>,
}

#[derive(Default)]
struct Pending {
    lines: Vec<u8>,
    /// When the oldest line in `lines` was handed over.
    since: Option<Instant>,
    /// `lines` holds a boundary: a sync is due once they are written.
    boundary: bool,
    /// When the writer thread must take a sync nobody else took.
    sync_at: Option<Instant>,
    /// When the writer thread must write what the file has held back for
    /// [`FILE_FLUSH_EVERY`].
    file_at: Option<Instant>,
    /// The clock's time when the writer thread last went to sleep; `None` while it works.
    asleep_at: Option<Instant>,
    /// When the sleeping writer thread wakes by itself; `None`: only when woken.
    wake_at: Option<Instant>,
    closing: bool,
    /// The writer thread has written its last.
    ended: bool,
}

impl BatchWriter {
    /// Starts the writer thread for `file`, timed by `clock`.
    pub fn new(file: File, clock: Clock) -> io::Result<BatchWriter> {
        let shared = Arc::new(Shared {
            out: Mutex::new(Out {
                target: Target::new(file),
                batch: Vec::with_capacity(2 * BATCH_BYTES),
                batch_since: None,
                sync_due: false,
                last_sync: clock.now(),
            }),
            pending: Mutex::new(Pending {
                lines: Vec::with_capacity(2 * BATCH_BYTES),
                ..Pending::default()
            }),
            wake: Condvar::new(),
            asleep: Condvar::new(),
            clock,
            counters: Arc::default(),
        });
        let thread = std::thread::Builder::new()
            .name("crewtui-writer".into())
            .stack_size(THREAD_STACK)
            .spawn({
                let shared = Arc::clone(&shared);
                move || shared.run()
            })?;
        let settle: Weak<dyn Settle> = Arc::downgrade(&shared) as Weak<dyn Settle>;
        shared.clock.register(settle);
        Ok(BatchWriter {
            shared,
            thread: Some(thread),
        })
    }

    /// Whether the file has failed; every line after its first error is lost to it.
    pub fn health(&self) -> Health {
        lock(&self.shared.out).target.health.clone()
    }

    /// Hands over one whole line (ending in `\n`). A failed file says so through its
    /// [`Health`].
    pub fn push(&self, line: &[u8], urgency: Urgency) {
        if !urgency.at_once() {
            let mut pending = lock(&self.shared.pending);
            if pending.lines.len() + line.len() <= BATCH_BYTES {
                let first = pending.lines.is_empty();
                let boundary = !pending.boundary && urgency == Urgency::Boundary;
                pending.lines.extend_from_slice(line);
                if first {
                    pending.since = Some(self.shared.clock.now());
                }
                pending.boundary |= boundary;
                // Only a line that brings the batch's time forward (the first, the first
                // boundary) may need to wake the thread, and only if it would sleep past it.
                if first || boundary {
                    let due = pending.batch_due();
                    self.shared.wake_by(&pending, due);
                }
                return;
            }
        }
        let mut out = lock(&self.shared.out);
        // Wanted at once, or a batch full: written now, by the task that hands the line over.
        self.shared.write(&mut out, Some(line), urgency);
    }

    /// Writes everything handed over so far as a boundary: synced within [`SYNC_EVERY`].
    pub fn write_now(&self) {
        let mut out = lock(&self.shared.out);
        self.shared.write(&mut out, None, Urgency::Boundary);
    }

    pub fn counters(&self) -> Arc<Counters> {
        Arc::clone(&self.shared.counters)
    }
}

impl Drop for BatchWriter {
    fn drop(&mut self) {
        lock(&self.shared.pending).closing = true;
        self.shared.wake.notify_one();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Settle for Shared {
    fn settle(&self, now: Instant) {
        let mut pending = lock(&self.pending);
        self.wake.notify_one();
        while !pending.ended && pending.asleep_at.is_none_or(|at| at < now) {
            pending = self
                .asleep
                .wait(pending)
                .unwrap_or_else(|poisoned| poisoned.into_inner());
        }
    }
}

impl Pending {
    /// When the waiting lines are due at the file: a boundary within [`FLUSH_EVERY`], streamed
    /// lines within [`FILE_FLUSH_EVERY`] (the file would hold them that long anyway, so moving
    /// them sooner only costs the thread a wake-up).
    fn batch_due(&self) -> Option<Instant> {
        let wait = if self.boundary {
            FLUSH_EVERY
        } else {
            FILE_FLUSH_EVERY
        };
        self.since.map(|t| t + wait)
    }
}

impl Shared {
    /// Wakes the writer thread if it sleeps and would not wake by itself by `due`.
    fn wake_by(&self, pending: &Pending, due: Option<Instant>) {
        let late = match (pending.wake_at, due) {
            (_, None) => false,
            (None, Some(_)) => true,
            (Some(wake), Some(due)) => wake > due,
        };
        if pending.asleep_at.is_some() && late {
            self.wake.notify_one();
        }
    }

    /// The writer thread: writes a waiting batch when it is due, and what the file held back
    /// when it is due, takes a sync nobody took, and on close writes and syncs what is left.
    fn run(&self) {
        let mut pending = lock(&self.pending);
        while !pending.closing {
            let due = [pending.batch_due(), pending.sync_at, pending.file_at]
                .into_iter()
                .flatten()
                .min();
            let now = self.clock.now();
            if due.is_some_and(|due| due <= now) {
                drop(pending);
                self.counters.takes.fetch_add(1, Ordering::Relaxed);
                let mut out = lock(&self.out);
                self.write(&mut out, None, Urgency::Stream);
                drop(out);
                pending = lock(&self.pending);
                continue;
            }
            pending.asleep_at = Some(now);
            pending.wake_at = due;
            self.asleep.notify_all();
            pending = self.clock.sleep(&self.wake, pending, due);
            pending.asleep_at = None;
        }
        drop(pending);
        let mut out = lock(&self.out);
        self.write(&mut out, None, Urgency::Durable);
        drop(out);
        lock(&self.pending).ended = true;
        self.asleep.notify_all();
    }

    /// Writes the waiting lines, then `line`: see [`Shared::write_batch`].
    fn write(&self, out: &mut Out, line: Option<&[u8]>, urgency: Urgency) {
        let boundary = self.take(out, line);
        // A batch with a boundary in it goes to the file at once, like the boundary itself.
        let urgency = match urgency {
            Urgency::Stream if boundary => Urgency::Boundary,
            urgency => urgency,
        };
        self.write_batch(out, urgency);
    }

    /// Moves the waiting lines, then `line`, into the batch to write. Returns whether the
    /// waiting lines hold a boundary.
    fn take(&self, out: &mut Out, line: Option<&[u8]>) -> bool {
        let mut pending = lock(&self.pending);
        std::mem::swap(&mut pending.lines, &mut out.batch);
        out.batch_since = pending.since.take();
        let boundary = std::mem::take(&mut pending.boundary);
        drop(pending);
        if let Some(line) = line {
            out.batch.extend_from_slice(line);
        }
        boundary
    }

    /// Writes the batch to the file unless it has failed — or holds it, unless `urgency` or
    /// what the file holds says so — and syncs as `urgency` and the sync interval say.
    fn write_batch(&self, out: &mut Out, urgency: Urgency) {
        let now = self.clock.now();
        let since = out.batch_since.take().unwrap_or(now);
        let target = &mut out.target;
        if !target.health.failed() {
            match target.write(&out.batch, since, urgency, now) {
                Ok(true) => {
                    self.counters.file_writes.fetch_add(1, Ordering::Relaxed);
                }
                Ok(false) => {}
                Err(e) => {
                    target.health.fail(&e);
                    target.held = Vec::new();
                    target.held_since = None;
                }
            }
        }
        let file_at = target.held_since.map(|t| t + FILE_FLUSH_EVERY);
        out.batch.clear();
        self.sync(out, urgency);
        let mut pending = lock(&self.pending);
        pending.file_at = file_at;
        self.wake_by(&pending, file_at);
    }

    /// Syncs the file if it was written since its last sync, and `urgency` says so or a
    /// boundary's sync is due and the interval is over; otherwise has the writer thread take
    /// it later.
    fn sync(&self, out: &mut Out, urgency: Urgency) {
        let Out {
            target,
            sync_due,
            last_sync,
            ..
        } = out;
        *sync_due |= urgency != Urgency::Stream;
        // Only what was written is synced.
        *sync_due &= target.unsynced;
        let interval_over = self.clock.now() >= *last_sync + SYNC_EVERY;
        if !(urgency == Urgency::Durable || (*sync_due && interval_over)) {
            if *sync_due {
                let mut pending = lock(&self.pending);
                pending.sync_at = Some(*last_sync + SYNC_EVERY);
                self.wake_by(&pending, pending.sync_at);
            }
            return;
        }
        if target.unsynced && !target.health.failed() {
            match target.file.sync_data() {
                Ok(()) => {
                    self.counters.fsyncs.fetch_add(1, Ordering::Relaxed);
                }
                Err(e) => target.health.fail(&e),
            }
        }
        target.unsynced = false;
        *sync_due = false;
        *last_sync = self.clock.now();
        lock(&self.pending).sync_at = None;
    }
}

impl Target {
    fn new(file: File) -> Target {
        Target {
            file,
            health: Health::default(),
            unsynced: false,
            held: Vec::new(),
            held_since: None,
        }
    }

    /// Writes what the file holds and then `batch`, whose oldest line was handed over at
    /// `since`, in one call — only when `urgency` asks for it or the file holds too much or too
    /// long; otherwise holds `batch` back too. Returns whether it wrote.
    fn write(
        &mut self,
        batch: &[u8],
        since: Instant,
        urgency: Urgency,
        now: Instant,
    ) -> io::Result<bool> {
        let held = self.held.len() + batch.len();
        if held == 0 {
            return Ok(false);
        }
        let oldest = self.held_since.unwrap_or(since);
        let due =
            urgency != Urgency::Stream || held >= FILE_BYTES || now >= oldest + FILE_FLUSH_EVERY;
        if !due {
            self.held_since = Some(oldest);
            self.held.extend_from_slice(batch);
            return Ok(false);
        }
        if self.held.is_empty() {
            self.file.write_all(batch)?;
        } else {
            self.held.extend_from_slice(batch);
            self.file.write_all(&self.held)?;
            self.held.clear();
        }
        self.held_since = None;
        self.unsynced = true;
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file_target(name: &str) -> (Target, std::path::PathBuf) {
        let path =
            std::env::temp_dir().join(format!("crewtui-batch-{}-{name}.jsonl", std::process::id()));
        let file = File::create(&path).unwrap();
        (Target::new(file), path)
    }

    fn on_disk(path: &std::path::Path) -> String {
        std::fs::read_to_string(path).unwrap()
    }

    #[test]
    fn a_file_holds_streamed_lines_until_they_are_a_second_old() {
        let (mut file, path) = file_target("hold");
        let t0 = Instant::now();
        let ms = |n| t0 + Duration::from_millis(n);
        // Two batches of tokens, taken by the writer thread 100 ms apart.
        assert!(!file.write(b"one\n", t0, Urgency::Stream, ms(100)).unwrap());
        assert!(
            !file
                .write(b"two\n", ms(100), Urgency::Stream, ms(200))
                .unwrap()
        );
        assert_eq!(on_disk(&path), "");
        // Nothing more comes; the thread wakes when the oldest line is due.
        assert_eq!(file.held_since, Some(t0));
        assert!(!file.write(b"", ms(900), Urgency::Stream, ms(999)).unwrap());
        assert!(
            file.write(b"", ms(1000), Urgency::Stream, ms(1000))
                .unwrap()
        );
        assert_eq!(on_disk(&path), "one\ntwo\n");
        assert_eq!(file.held_since, None);
        assert!(file.unsynced);
        let _ = std::fs::remove_file(path);
    }

    #[test]
    fn a_boundary_or_a_full_hold_goes_to_the_file_at_once_with_what_was_held() {
        let (mut file, path) = file_target("boundary");
        let t0 = Instant::now();
        assert!(!file.write(b"token\n", t0, Urgency::Stream, t0).unwrap());
        assert!(file.write(b"reply\n", t0, Urgency::Boundary, t0).unwrap());
        assert_eq!(on_disk(&path), "token\nreply\n");

        let big = vec![b'x'; FILE_BYTES - 1];
        assert!(!file.write(&big, t0, Urgency::Stream, t0).unwrap());
        assert!(file.write(b"\n", t0, Urgency::Stream, t0).unwrap());
        assert_eq!(on_disk(&path).len(), "token\nreply\n".len() + FILE_BYTES);
        let _ = std::fs::remove_file(path);
    }
}
