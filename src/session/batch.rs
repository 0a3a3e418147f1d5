//! Whole lines handed over by the engine's tasks and written out in batches, to one output or
//! several (the session file, and stdout for a headless run).
//!
//! A `write` per event costs a system call — several microseconds on a VM, more than
//! everything else the engine does for a streamed token. So lines wait in memory, at most
//! [`FLUSH_EVERY`] (a thread of the writer's own takes them then), and go out together in one
//! `write` per output; a line that must not wait — a pause, the end — is written and synced at
//! once by the task that hands it over, together with everything before it, and so is a batch
//! that has grown to `BATCH_BYTES`. Bytes always leave in the order they were handed over, and
//! only ever as whole lines, so a crash of the process tears at most the last line.
//!
//! A file `write` costs far more again, and mostly per call rather than per byte (page cache
//! pages, delayed allocation, timestamps; on this VM a 25 KB write costs about what a 256 KB one
//! does). So a file holds streamed lines — tokens, starts, requests — back for up to
//! [`FILE_FLUSH_EVERY`] or `FILE_BYTES`, and takes them with the next batch that has a boundary
//! (a reply, a tool result, a failure) in it: a crash costs at most the last
//! [`FILE_FLUSH_EVERY`] of streamed tokens, at most the last [`FLUSH_EVERY`] of anything else.
//! A stream (headless stdout, read live by a person or a pipe) gets every batch as it comes.
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

/// The longest a line that may wait stays in memory before it is written to a stream, and
/// before a boundary is written to a file.
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
const BATCH_BYTES: usize = 64 * 1024;

/// The writer thread only moves buffers and calls `write`.
const THREAD_STACK: usize = 64 * 1024;

/// How soon a line must reach the outputs, and the disk.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Urgency {
    /// Written to streams within [`FLUSH_EVERY`], to files within [`FILE_FLUSH_EVERY`], with
    /// the lines around it.
    Stream,
    /// Written within [`FLUSH_EVERY`], to files too, and synced within [`SYNC_EVERY`]: a crash
    /// must not lose what came before.
    Boundary,
    /// Written and synced now, with everything before it: the process may wait here for a
    /// person, or exit.
    Durable,
}

/// Where lines go. Only files hold streamed lines back, and only files are synced.
pub enum Output {
    File(File),
    Stream(Box<dyn Write + Send>),
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
    /// `write` calls on files.
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
    /// When the oldest line in `batch` was handed over.
    batch_since: Option<Instant>,
    sync_due: bool,
    last_sync: Instant,
}

struct Target {
    output: Output,
    health: Health,
    /// Written since its last sync (files only).
    unsynced: bool,
    /// Streamed lines a file holds back, and since when (files only).
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
    /// When the writer thread must write what a file has held back for [`FILE_FLUSH_EVERY`].
    file_at: Option<Instant>,
    closing: bool,
}

impl BatchWriter {
    /// Starts the writer thread, with no output yet.
    pub fn new() -> io::Result<BatchWriter> {
        let shared = Arc::new(Shared {
            out: Mutex::new(Out {
                targets: Vec::new(),
                batch: Vec::with_capacity(2 * BATCH_BYTES),
                batch_since: None,
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
        let target = Target::new(output);
        let health = target.health.clone();
        out.targets.push(target);
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

    /// Writes everything handed over so far, to files too, as a boundary: synced within
    /// [`SYNC_EVERY`].
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

impl Shared {
    /// The writer thread: writes a waiting batch when it is due, and what a file held back
    /// when it is due, takes a sync nobody took, and on close writes and syncs what is left.
    fn run(&self) {
        let mut pending = lock(&self.pending);
        while !pending.closing {
            let batch_at = pending.since.map(|t| t + FLUSH_EVERY);
            let due = [batch_at, pending.sync_at, pending.file_at]
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
        let boundary = self.take(out, line);
        // A batch with a boundary in it goes to files at once, like the boundary itself.
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

    /// Writes the batch to every output that has not failed — to a file only if `urgency`
    /// or what it holds says so — and syncs the files as `urgency` and the sync interval say.
    fn write_batch(&self, out: &mut Out, urgency: Urgency) {
        let now = Instant::now();
        let since = out.batch_since.take().unwrap_or(now);
        let mut file_at = None;
        for target in out.targets.iter_mut().filter(|t| !t.health.failed()) {
            match target.write(&out.batch, since, urgency, now) {
                Ok(wrote) => {
                    if wrote && matches!(target.output, Output::File(_)) {
                        self.counters.file_writes.fetch_add(1, Ordering::Relaxed);
                    }
                }
                Err(e) => {
                    target.health.fail(&e);
                    target.held = Vec::new();
                    target.held_since = None;
                }
            }
            let held_until = target.held_since.map(|t| t + FILE_FLUSH_EVERY);
            file_at = file_at.into_iter().chain(held_until).min();
        }
        out.batch.clear();
        self.sync(out, urgency);
        lock(&self.pending).file_at = file_at;
    }

    /// Syncs the files written since their last sync, if `urgency` says so or a boundary's
    /// sync is due and the interval is over; otherwise has the writer thread take it later.
    fn sync(&self, out: &mut Out, urgency: Urgency) {
        let Out {
            targets,
            sync_due,
            last_sync,
            ..
        } = out;
        *sync_due |= urgency != Urgency::Stream;
        // Only what was written is synced, and only files are.
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

impl Target {
    fn new(output: Output) -> Target {
        Target {
            output,
            health: Health::default(),
            unsynced: false,
            held: Vec::new(),
            held_since: None,
        }
    }

    /// Writes `batch`, whose oldest line was handed over at `since`, to a stream. A file
    /// writes what it holds and then `batch`, in one call, only when `urgency` asks for it or
    /// it holds too much or too long; otherwise it holds `batch` back too. Returns whether it
    /// wrote.
    fn write(
        &mut self,
        batch: &[u8],
        since: Instant,
        urgency: Urgency,
        now: Instant,
    ) -> io::Result<bool> {
        let file = match &mut self.output {
            Output::Stream(_) if batch.is_empty() => return Ok(false),
            Output::Stream(stream) => {
                stream.write_all(batch)?;
                stream.flush()?;
                return Ok(true);
            }
            Output::File(file) => file,
        };
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
            file.write_all(batch)?;
        } else {
            self.held.extend_from_slice(batch);
            file.write_all(&self.held)?;
            self.held.clear();
        }
        self.held_since = None;
        self.unsynced = true;
        Ok(true)
    }
}

/// A lock whose data stays usable after a panic elsewhere: losing the session file to a
/// poisoned mutex would be worse than the panic.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file_target(name: &str) -> (Target, std::path::PathBuf) {
        let path =
            std::env::temp_dir().join(format!("crewtui-batch-{}-{name}.jsonl", std::process::id()));
        let file = File::create(&path).unwrap();
        (Target::new(Output::File(file)), path)
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

    #[test]
    fn a_stream_gets_every_batch_as_it_comes() {
        let out = Arc::new(Mutex::new(Vec::new()));
        struct Sink(Arc<Mutex<Vec<u8>>>);
        impl Write for Sink {
            fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
                self.0.lock().unwrap().extend_from_slice(buf);
                Ok(buf.len())
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        let mut stream = Target::new(Output::Stream(Box::new(Sink(Arc::clone(&out)))));
        let t0 = Instant::now();
        assert!(stream.write(b"token\n", t0, Urgency::Stream, t0).unwrap());
        assert_eq!(*out.lock().unwrap(), b"token\n");
        assert!(!stream.unsynced, "streams are never synced");
    }
}
