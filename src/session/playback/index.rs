//! The first read of a recording: one pass that folds every event into a [`Run`] and leaves a
//! mark per event and a checkpoint every so many.
//!
//! A long recording takes most of a second to read, and the first frame needs only its start:
//! [`Playback::open_first`](super::Playback::open_first) reads [`READ_FIRST`] events, then a
//! thread reads the rest and sends what it learns in batches, which the playback takes in as
//! it goes. The thread stops when the playback is dropped (its next send fails).

use std::sync::mpsc::{Receiver, SyncSender, sync_channel};

use super::{Mark, Moment};
use crate::engine::{Event, EventKind, Run};
use crate::session::{Entry, ReadWarning, Reader, SessionError};

/// At most this many checkpoints: when there would be more, every other one goes and the
/// interval doubles, so their memory stays a small multiple of one run model.
pub(super) const MAX_CHECKPOINTS: usize = 64;
/// The first interval between checkpoints, in events.
pub(super) const FIRST_INTERVAL: usize = 2_000;
/// Events read before the playback is handed over: more than the first screen of nearly any
/// recording needs, a few milliseconds to read.
pub(super) const READ_FIRST: usize = 4_096;
/// Events the reading thread sends at a time.
const BATCH: usize = 16_384;
/// Batches the thread may be ahead of the playback taking them in.
const AHEAD: usize = 4;

#[derive(Clone, Debug)]
pub(super) struct Checkpoint {
    /// Events applied.
    pub position: usize,
    /// Where the next event's line starts in the file (or its index in memory).
    pub offset: u64,
    pub run: Run,
}

/// When a checkpoint is due: every `interval` events, the interval doubling when keeping one
/// more would make more than [`MAX_CHECKPOINTS`]. The reading thread and the playback each
/// keep one, fed the same positions, so they agree on the interval without asking.
#[derive(Clone, Copy, Debug)]
pub(super) struct Spacing {
    pub interval: usize,
}

impl Spacing {
    pub fn new() -> Spacing {
        Spacing {
            interval: FIRST_INTERVAL,
        }
    }

    /// Whether a checkpoint is due after `position` events (the interval may double first).
    fn due(&mut self, position: usize) -> bool {
        if !position.is_multiple_of(self.interval) {
            return false;
        }
        // Checkpoints stand at 0, interval, 2 × interval, ... : this one would be number
        // position / interval + 1.
        if position / self.interval >= MAX_CHECKPOINTS {
            self.interval *= 2;
        }
        true
    }
}

/// The checkpoints kept, one every `spacing.interval` events from the start.
#[derive(Debug)]
pub(super) struct Checkpoints {
    pub list: Vec<Checkpoint>,
    pub spacing: Spacing,
}

impl Checkpoints {
    pub fn new(first: Checkpoint) -> Checkpoints {
        Checkpoints {
            list: vec![first],
            spacing: Spacing::new(),
        }
    }

    /// Keeps a checkpoint the indexer made; those no longer on the interval go.
    fn add(&mut self, checkpoint: Checkpoint) {
        let interval = self.spacing.interval;
        let due = self.spacing.due(checkpoint.position);
        debug_assert!(due, "a checkpoint off the interval");
        self.list.push(checkpoint);
        if self.spacing.interval != interval {
            let interval = self.spacing.interval;
            self.list.retain(|c| c.position.is_multiple_of(interval));
        }
    }

    /// The last checkpoint at or before `position`.
    pub fn before(&self, position: usize) -> &Checkpoint {
        let nearest = self
            .list
            .partition_point(|c| c.position <= position)
            .saturating_sub(1);
        &self.list[nearest]
    }
}

/// What some stretch of the first read learned.
#[derive(Debug, Default)]
pub(super) struct Batch {
    pub marks: Vec<Mark>,
    pub checkpoints: Vec<Checkpoint>,
    pub warnings: Vec<ReadWarning>,
    /// Lines of the file read by the end of this batch, the header included.
    pub lines: usize,
    /// The file is read to its end: no batch comes after this one.
    pub last: bool,
}

impl Batch {
    /// Adds what this batch learned to the marks and checkpoints; returns its warnings.
    pub fn merge_into(
        self,
        marks: &mut Vec<Mark>,
        checkpoints: &mut Checkpoints,
    ) -> Vec<ReadWarning> {
        marks.extend(self.marks);
        for checkpoint in self.checkpoints {
            checkpoints.add(checkpoint);
        }
        self.warnings
    }
}

/// The fold of the first read.
pub(super) struct Indexer {
    run: Run,
    position: usize,
    spacing: Spacing,
}

impl Indexer {
    pub fn new(initial: Run) -> Indexer {
        Indexer {
            run: initial,
            position: 0,
            spacing: Spacing::new(),
        }
    }

    /// Folds one event: its mark, and a checkpoint when one is due. `offset` is where the line
    /// after it starts.
    pub fn take(&mut self, event: &Event, offset: u64, batch: &mut Batch) {
        let run = &mut self.run;
        // A decision is about the agent at its gate, which the decision closes.
        let decided = match &event.kind {
            EventKind::Decision { gate, .. } => run
                .open_gates()
                .iter()
                .find(|g| g.gate == *gate)
                .and_then(|g| run.agent_index(g.agent.as_str())),
            _ => None,
        };
        run.apply(event);
        let (moment, agent) = Moment::of(&event.kind);
        let agent = agent
            .and_then(|id| run.agent_index(id))
            .or(decided)
            .and_then(|i| u32::try_from(i).ok());
        batch.marks.push(Mark {
            t_ms: event.t_ms,
            moment,
            agent,
        });
        self.position += 1;
        if self.spacing.due(self.position) {
            batch.checkpoints.push(Checkpoint {
                position: self.position,
                offset,
                run: run.clone(),
            });
        }
    }
}

/// Reads from `reader` into `batch` until it holds `limit` events; true when the file is done
/// (its end, or a read that failed, which becomes the last warning: what came before plays).
pub(super) fn read_into(
    reader: &mut Reader,
    indexer: &mut Indexer,
    batch: &mut Batch,
    limit: usize,
) -> bool {
    let done = read_entries(reader, indexer, batch, limit);
    batch.lines = reader.lines_read();
    batch.last = done;
    done
}

fn read_entries(
    reader: &mut Reader,
    indexer: &mut Indexer,
    batch: &mut Batch,
    limit: usize,
) -> bool {
    while batch.marks.len() < limit {
        match reader.next_entry() {
            Ok(Some(Entry::Event(event))) => indexer.take(&event, reader.valid_len(), batch),
            Ok(Some(Entry::Warning(warning))) => batch.warnings.push(warning),
            Ok(None) => return true,
            Err(error) => {
                let error = match error {
                    SessionError::Io { error, .. } => error.to_string(),
                    other => other.to_string(),
                };
                batch.warnings.push(ReadWarning {
                    line: reader.lines_read() + 1,
                    message: format!(
                        "could not be read ({error}); the recording stops before this line"
                    ),
                });
                return true;
            }
        }
    }
    false
}

/// Reads the rest of the file on a thread; its batches come on the receiver, which hangs up
/// after the last one.
pub(super) fn read_rest(
    mut reader: Reader,
    mut indexer: Indexer,
) -> std::io::Result<Receiver<Batch>> {
    let (sender, receiver) = sync_channel(AHEAD);
    std::thread::Builder::new()
        .name("crewtui-replay-index".into())
        .spawn(move || send_batches(&mut reader, &mut indexer, &sender))?;
    Ok(receiver)
}

fn send_batches(reader: &mut Reader, indexer: &mut Indexer, sender: &SyncSender<Batch>) {
    loop {
        let mut batch = Batch::default();
        let done = read_into(reader, indexer, &mut batch, BATCH);
        // A send fails when the playback is gone: nobody wants the rest.
        if sender.send(batch).is_err() || done {
            return;
        }
    }
}
