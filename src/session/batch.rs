//! Whole lines handed over by the engine's tasks and written out in batches, to one output or
//! several (the session file, and stdout for a headless run).
//!
//! A `write` per event costs a system call — several microseconds on a VM, more than
//! everything else the engine does for a streamed token — and a file `write` costs more again
//! (page cache, journal, timestamps). So lines wait in memory, at most [`FLUSH_EVERY`] (a
//! thread of the writer's own takes them then), and go out together in one `write` per output;
//! a line that must not wait — a pause, the end — is written and synced at once by the task
//! that hands it over, together with everything before it, and so is a batch that has grown
//! to `BATCH_BYTES`. Bytes always leave in the order they were handed over, and only ever as
//! whole lines: a crash of the process tears at most the last line and costs at most the last
//! [`FLUSH_EVERY`] of events. Each line is copied once, however many outputs it goes to.
//!
//! Files are synced as [`Urgency`] asks: boundaries share a sync at most every
//! [`SYNC_EVERY`], taken by the writer thread if no later line brings it; a durable line and
//! the drop sync at once. A sync only guards against power loss: whatever was written is the
//! kernel's once `write` returns, whatever becomes of the process.

use std::fs::File;
use std::io::{self, Write};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// The longest a line that may wait stays in memory before it is written.
pub const FLUSH_EVERY: Duration = Duration::from_millis(100);

/// Boundaries closer together than this share one sync: the horizon ext4 itself commits its
/// journal at by default. A sync costs far more than a write (on this VM about as much CPU as
/// a hundred batches, mostly in the I/O it sets off), and guards only against power loss.
pub const SYNC_EVERY: Duration = Duration::from_secs(5);

/// A batch this large is written at once, by the task that fills it: memory stays bounded and
/// the buffers keep one size, however fast lines come.
const BATCH_BYTES: usize = 64 * 1024;

/// The writer thread only moves buffers and calls `write`.
const THREAD_STACK: usize = 64 * 1024;

/// How soon a line must reach the outputs, and the disk.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Urgency {
    /// Written within [`FLUSH_EVERY`], with the lines around it.
    Stream,
    /// Written within [`FLUSH_EVERY`] and synced within [`SYNC_EVERY`]: a crash must not lose
    /// what came before.
    Boundary,
    /// Written and synced now, with everything before it: the process may wait here for a
    /// person, or exit.
    Durable,
}

/// Where lines go. Only files are synced.
pub enum Output {
    File(File),
    Stream(Box<dyn Write + Send>),
}

impl Output {
    fn write_all(&mut self, bytes: &[u8]) -> io::Result<()> {
        match self {
            Output::File(file) => file.write_all(bytes),
            Output::Stream(out) => out.write_all(bytes).and_then(|()| out.flush()),
        }
    }
}

/// Whether one output of a [`BatchWriter`] has failed. An output stops at its first error;
/// the others go on.
#[derive(Clone, Debug, Default)]
pub struct Health(Arc<OnceLock<(io::ErrorKind, String)>>);

impl Health {
    /// The output's first error, if it has failed.
    pub fn error(&self) -> Option<io::Error> {
        self.0
            .get()
            .map(|(kind, message)| io::Error::new(*kind, message.clone()))
    }

    fn failed(&self) -> bool {
        self.0.get().is_some()
    }

    fn fail(&self, e: &io::Error) {
        let _ = self.0.set((e.kind(), e.to_string()));
    }
}

/// What a writer has done so far, readable while it runs (for the benchmarks).
#[derive(Debug, Default)]
pub struct Counters {
    /// `write` calls on files: one per batch.
    pub file_writes: AtomicU64,
    pub fsyncs: AtomicU64,
}

/// Lines in, batches out; see the module docs.
pub struct BatchWriter {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

struct Shared {
    /// Held while a batch is taken and written, so batches reach the outputs in order. Taken
    /// before `pending` wherever both are held.
    out: Mutex<Out>,
    pending: Mutex<Pending>,
    /// Wakes the writer thread: a first line waits, a sync is due, or the writer closes.
    wake: Condvar,
    counters: Arc<Counters>,
}

struct Out {
    targets: Vec<Target>,
    /// The batch being written; swapped with `Pending::lines` so neither is reallocated.
    batch: Vec<u8>,
    sync_due: bool,
    last_sync: Instant,
}

struct Target {
    output: Output,
    health: Health,
    /// Written since its last sync (files only).
    unsynced: bool,
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
    closing: bool,
}

impl BatchWriter {
    /// Starts the writer thread, with no output yet.
    pub fn new() -> io::Result<BatchWriter> {
        let shared = Arc::new(Shared {
            out: Mutex::new(Out {
                targets: Vec::new(),
                batch: Vec::with_capacity(2 * BATCH_BYTES),
                sync_due: false,
                last_sync: Instant::now(),
            }),
            pending: Mutex::new(Pending {
                lines: Vec::with_capacity(2 * BATCH_BYTES),
                ..Pending::default()
            }),
            wake: Condvar::new(),
            counters: Arc::default(),
        });
        let thread = std::thread::Builder::new()
            .name("crewtui-writer".into())
            .stack_size(THREAD_STACK)
            .spawn({
                let shared = Arc::clone(&shared);
                move || shared.run()
            })?;
        Ok(BatchWriter {
            shared,
            thread: Some(thread),
        })
    }

    /// Adds an output: every line handed over from now on goes to it too.
    pub fn add(&self, output: Output) -> Health {
        let mut out = lock(&self.shared.out);
        // What is waiting belongs to the outputs that were there when it was handed over.
        self.shared.write(&mut out, None, Urgency::Stream);
        let health = Health::default();
        out.targets.push(Target {
            output,
            health: health.clone(),
            unsynced: false,
        });
        health
    }

    /// Hands over one whole line (ending in `\n`). An output that fails says so through its
    /// [`Health`]; the line still goes to the others.
    pub fn push(&self, line: &[u8], urgency: Urgency) {
        if urgency != Urgency::Durable {
            let mut pending = lock(&self.shared.pending);
            if pending.lines.len() + line.len() <= BATCH_BYTES {
                let first = pending.lines.is_empty();
                pending.lines.extend_from_slice(line);
                pending.boundary |= urgency == Urgency::Boundary;
                if first {
                    pending.since = Some(Instant::now());
                    drop(pending);
                    // Only the first line of a batch wakes the thread: it then sleeps until
                    // the batch is due, whatever comes in meanwhile.
                    self.shared.wake.notify_one();
                }
                return;
            }
        }
        let mut out = lock(&self.shared.out);
        // Durable, or a batch full: written now, by the task that hands the line over.
        self.shared.write(&mut out, Some(line), urgency);
    }

    /// Writes everything handed over so far; syncs it only if a sync is due.
    pub fn write_now(&self) {
        let mut out = lock(&self.shared.out);
        self.shared.write(&mut out, None, Urgency::Stream);
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

impl Shared {
    /// The writer thread: writes a waiting batch when it is due, takes a sync nobody took, and
    /// on close writes and syncs what is left.
    fn run(&self) {
        let mut pending = lock(&self.pending);
        while !pending.closing {
            let due = [pending.since.map(|t| t + FLUSH_EVERY), pending.sync_at]
                .into_iter()
                .flatten()
                .min();
            let now = Instant::now();
            match due {
                None => {
                    pending = self
                        .wake
                        .wait(pending)
                        .unwrap_or_else(|poisoned| poisoned.into_inner())
                }
                Some(due) if due > now => {
                    pending = match self.wake.wait_timeout(pending, due - now) {
                        Ok((guard, _)) => guard,
                        Err(poisoned) => poisoned.into_inner().0,
                    }
                }
                Some(_) => {
                    drop(pending);
                    let mut out = lock(&self.out);
                    self.write(&mut out, None, Urgency::Stream);
                    drop(out);
                    pending = lock(&self.pending);
                }
            }
        }
        drop(pending);
        let mut out = lock(&self.out);
        self.write(&mut out, None, Urgency::Durable);
    }

    /// Writes the waiting lines, then `line`: see [`Shared::write_batch`].
    fn write(&self, out: &mut Out, line: Option<&[u8]>, urgency: Urgency) {
        self.take(out, line);
        self.write_batch(out, urgency);
    }

    /// Moves the waiting lines, then `line`, into the batch to write.
    fn take(&self, out: &mut Out, line: Option<&[u8]>) {
        let mut pending = lock(&self.pending);
        std::mem::swap(&mut pending.lines, &mut out.batch);
        pending.since = None;
        out.sync_due |= std::mem::take(&mut pending.boundary);
        drop(pending);
        if let Some(line) = line {
            out.batch.extend_from_slice(line);
        }
    }

    /// Writes the batch to every output that has not failed, in one call each, and syncs the
    /// files as `urgency` and the sync interval say.
    fn write_batch(&self, out: &mut Out, urgency: Urgency) {
        let Out {
            targets,
            batch,
            sync_due,
            last_sync,
        } = out;
        if !batch.is_empty() {
            for target in targets.iter_mut().filter(|t| !t.health.failed()) {
                match target.output.write_all(batch) {
                    Ok(()) => {
                        if let Output::File(_) = target.output {
                            target.unsynced = true;
                            self.counters.file_writes.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                    Err(e) => target.health.fail(&e),
                }
            }
            batch.clear();
        }
        *sync_due |= urgency != Urgency::Stream;
        // Only files are synced.
        *sync_due &= targets.iter().any(|t| t.unsynced);
        let interval_over = Instant::now() >= *last_sync + SYNC_EVERY;
        if !(urgency == Urgency::Durable || (*sync_due && interval_over)) {
            if *sync_due {
                lock(&self.pending).sync_at = Some(*last_sync + SYNC_EVERY);
            }
            return;
        }
        for target in targets.iter_mut().filter(|t| t.unsynced) {
            if let Output::File(file) = &target.output
                && !target.health.failed()
            {
                match file.sync_data() {
                    Ok(()) => {
                        self.counters.fsyncs.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(e) => target.health.fail(&e),
                }
            }
            target.unsynced = false;
        }
        *sync_due = false;
        *last_sync = Instant::now();
        lock(&self.pending).sync_at = None;
    }
}

/// A lock whose data stays usable after a panic elsewhere: losing the session file to a
/// poisoned mutex would be worse than the panic.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}
