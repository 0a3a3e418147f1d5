//! A recording laid out for playing back: the run model at any position, found quickly.
//!
//! Opening a file reads it once (see [`index`]): every event is folded into a [`Run`], and a
//! checkpoint (a clone of the run, cheap since its long parts share storage) is kept every so
//! many events, with the place in the file it stands for. The events themselves are not kept —
//! a long recording would not fit in memory twice — only each event's time and what kind of
//! moment it is, for the timeline and for jumping between moments. Seeking goes to the nearest
//! checkpoint before the target and reads forward from the file; playing reads on from where
//! it is. Nothing is ever run: a recording is data.

mod index;

use std::fs::File;
use std::io::{self, BufReader, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, TryRecvError};

use self::index::{Batch, Checkpoint, Checkpoints, Indexer, READ_FIRST, read_into, read_rest};
use super::read::{LineKind, LineReader, parse_event};
use super::{Header, ReadWarning, Reader, SessionError};
use crate::engine::run::TimelineLimits;
use crate::engine::{Event, EventKind, Run};

/// What kind of moment an event is, for jumping from one to the next.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Moment {
    /// Nothing to stop at (tokens, requests, starts, ...).
    Plain,
    ToolCall,
    Failure,
    Handoff,
    Group,
    Pause,
    /// A gate, a decision, guidance, a re-run: where a person stepped in.
    Intervention,
}

impl Moment {
    /// What kind of moment an event is, and the agent it is about (see [`Mark::agent`]).
    fn of(kind: &EventKind) -> (Moment, Option<&str>) {
        match kind {
            EventKind::ToolCall { agent, .. } => (Moment::ToolCall, Some(agent.as_str())),
            EventKind::ToolFailed { agent, .. }
            | EventKind::AgentFailed { agent, .. }
            | EventKind::FellBack { agent, .. } => (Moment::Failure, Some(agent.as_str())),
            EventKind::Handoff { to, .. } => (Moment::Handoff, Some(to.as_str())),
            EventKind::ParallelStarted { agents, .. } => {
                (Moment::Group, agents.first().map(|a| a.as_str()))
            }
            EventKind::Paused { agent, .. } => (Moment::Pause, Some(agent.as_str())),
            EventKind::Gate { agent, .. }
            | EventKind::Guidance { agent, .. }
            | EventKind::Rerun { agent, .. }
            | EventKind::Kept { agent, .. } => (Moment::Intervention, Some(agent.as_str())),
            // A decision names its gate, whose agent the gate event named.
            EventKind::Decision { .. } => (Moment::Intervention, None),
            EventKind::Breakpoints { .. }
            | EventKind::Hold { .. }
            | EventKind::CommandRejected { .. } => (Moment::Plain, None),
            EventKind::SessionStarted { .. }
            | EventKind::SessionResumed {}
            | EventKind::AgentStarted { .. }
            | EventKind::ModelRequest { .. }
            | EventKind::Token { .. }
            | EventKind::Message { .. }
            | EventKind::ToolResult { .. }
            | EventKind::TurnEnded { .. }
            | EventKind::ParallelFinished { .. }
            | EventKind::Resumed { .. }
            | EventKind::AgentCancelled { .. }
            | EventKind::SessionFinished { .. } => (Moment::Plain, None),
        }
    }
}

/// One event's place on the timeline.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Mark {
    pub t_ms: u64,
    pub moment: Moment,
    /// The agent a moment is about, by its index in the run: who called the tool or failed,
    /// who was handed to, a group's first member, who paused.
    pub agent: Option<u32>,
}

/// Where the events come from.
enum Source {
    Memory(Vec<Event>),
    File {
        path: PathBuf,
        /// Reads on from `Playback::position`; `None` until first needed after a seek.
        lines: Option<LineReader<BufReader<File>>>,
        offset: u64,
    },
}

pub struct Playback {
    source: Source,
    marks: Vec<Mark>,
    checkpoints: Checkpoints,
    run: Run,
    position: usize,
    /// The rest of the first read, while a thread is still at it.
    reading: Option<Receiver<Batch>>,
    /// Lines the reading thread could not read, not yet taken.
    warnings: Vec<ReadWarning>,
    /// Lines of the file the first read has got through, the header included.
    lines_read: usize,
}

impl Playback {
    /// Reads a session file once and lays it out for playing. Returns its header and the lines
    /// that could not be read, which are skipped.
    pub fn open(
        path: &Path,
        limits: TimelineLimits,
    ) -> Result<(Playback, Header, Vec<ReadWarning>), SessionError> {
        let (mut playback, header, mut warnings) = Playback::open_first(path, limits)?;
        playback.read_all();
        warnings.append(&mut playback.take_warnings());
        Ok((playback, header, warnings))
    }

    /// Opens a session file and reads its first few thousand events, enough to show; a thread
    /// reads the rest while those play, and [`Playback::len`] grows as it does (see
    /// [`Playback::absorb`]). The warnings are the lines found unreadable so far; the rest come
    /// from [`Playback::take_warnings`].
    pub fn open_first(
        path: &Path,
        limits: TimelineLimits,
    ) -> Result<(Playback, Header, Vec<ReadWarning>), SessionError> {
        let mut reader = Reader::open(path)?;
        let header = reader.header().clone();
        let initial = header.run(limits);
        if header.version < 2 {
            // A version 1 file is upgraded whole (see `v1`); such files are short.
            drop(reader);
            let recording = super::read(path)?;
            let playback = Playback::from_events(initial, recording.events);
            return Ok((playback, header, recording.warnings));
        }
        let source = Source::File {
            path: path.to_path_buf(),
            lines: None,
            offset: reader.valid_len(),
        };
        let mut playback = Playback::empty(source, initial.clone(), reader.valid_len());
        let mut indexer = Indexer::new(initial);
        let mut first = Batch::default();
        let done = read_into(&mut reader, &mut indexer, &mut first, READ_FIRST);
        playback.lines_read = first.lines;
        let warnings = first.merge_into(&mut playback.marks, &mut playback.checkpoints);
        if !done {
            let reading = read_rest(reader, indexer).map_err(|e| SessionError::io(path, e))?;
            playback.reading = Some(reading);
        }
        Ok((playback, header, warnings))
    }

    /// A recording already in memory (tests, a live session's events).
    pub fn from_events(initial: Run, events: Vec<Event>) -> Playback {
        let mut playback = Playback::empty(Source::Memory(Vec::new()), initial.clone(), 0);
        let mut indexer = Indexer::new(initial);
        let mut batch = Batch::default();
        for (i, event) in events.iter().enumerate() {
            indexer.take(event, i as u64 + 1, &mut batch);
        }
        batch.merge_into(&mut playback.marks, &mut playback.checkpoints);
        playback.source = Source::Memory(events);
        playback
    }

    fn empty(source: Source, initial: Run, offset: u64) -> Playback {
        Playback {
            source,
            marks: Vec::new(),
            checkpoints: Checkpoints::new(Checkpoint {
                position: 0,
                offset,
                run: initial.clone(),
            }),
            run: initial,
            position: 0,
            reading: None,
            warnings: Vec::new(),
            lines_read: 0,
        }
    }

    /// Takes in one batch of the first read, waiting for it or not; false when none came
    /// (none yet, or the read is done).
    fn receive(&mut self, wait: bool) -> bool {
        let Some(reading) = &self.reading else {
            return false;
        };
        let batch = if wait {
            reading.recv().ok()
        } else {
            match reading.try_recv() {
                Ok(batch) => Some(batch),
                Err(TryRecvError::Empty) => return false,
                Err(TryRecvError::Disconnected) => None,
            }
        };
        let Some(batch) = batch else {
            // The thread is gone before its last batch: it cannot have ended well.
            self.reading = None;
            self.warnings.push(ReadWarning {
                line: self.lines_read + 1,
                message: "the replay stopped reading the recording here; what follows is not \
                          shown"
                    .to_string(),
            });
            return false;
        };
        self.lines_read = batch.lines;
        if batch.last {
            self.reading = None;
        }
        let mut warnings = batch.merge_into(&mut self.marks, &mut self.checkpoints);
        self.warnings.append(&mut warnings);
        true
    }

    /// Takes in what the reading thread has read since last asked, without waiting; true when
    /// there was anything (the timeline grew, or the read finished).
    pub fn absorb(&mut self) -> bool {
        let reading = self.reading.is_some();
        let mut any = false;
        while self.receive(false) {
            any = true;
        }
        any || reading != self.reading.is_some()
    }

    /// Waits for the first read to finish: after it, the whole recording is laid out.
    pub fn read_all(&mut self) {
        while self.receive(true) {}
    }

    /// Whether the first read is done: [`Playback::len`] is every event of the recording.
    pub fn is_read(&self) -> bool {
        self.reading.is_none()
    }

    /// At the last event, and there is none after it to come.
    pub fn at_end(&self) -> bool {
        self.is_read() && self.position >= self.marks.len()
    }

    /// Lines the reading thread found unreadable since last asked.
    pub fn take_warnings(&mut self) -> Vec<ReadWarning> {
        std::mem::take(&mut self.warnings)
    }

    /// The run model after the first [`Playback::position`] events.
    pub fn run(&self) -> &Run {
        &self.run
    }

    pub fn len(&self) -> usize {
        self.marks.len()
    }

    pub fn is_empty(&self) -> bool {
        self.marks.is_empty()
    }

    /// How many events have been applied.
    pub fn position(&self) -> usize {
        self.position
    }

    pub fn marks(&self) -> &[Mark] {
        &self.marks
    }

    /// Session time at the current position.
    pub fn t_ms(&self) -> u64 {
        self.position
            .checked_sub(1)
            .map_or(0, |i| self.marks[i].t_ms)
    }

    pub fn total_ms(&self) -> u64 {
        self.marks.last().map_or(0, |m| m.t_ms)
    }

    /// The time of the next event to apply.
    pub fn next_t_ms(&self) -> Option<u64> {
        self.marks.get(self.position).map(|m| m.t_ms)
    }

    /// Applies the next event, waiting for the first read to reach it. False at the end (or
    /// when the file can no longer be read, which is logged).
    pub fn forward(&mut self) -> bool {
        while self.position >= self.marks.len() {
            if !self.receive(true) {
                return false;
            }
        }
        match self.next_event() {
            Ok(Some(event)) => {
                self.run.apply(&event);
                self.position += 1;
                true
            }
            Ok(None) => false,
            Err(e) => {
                tracing::error!("replay: reading the recording again: {e}");
                false
            }
        }
    }

    fn next_event(&mut self) -> io::Result<Option<Event>> {
        match &mut self.source {
            Source::Memory(events) => Ok(events.get(self.position).cloned()),
            Source::File {
                path,
                lines,
                offset,
            } => {
                if lines.is_none() {
                    let mut file = crate::files::open_regular(path)?;
                    file.seek(SeekFrom::Start(*offset))?;
                    *lines = Some(LineReader::new(BufReader::with_capacity(1 << 16, file)));
                }
                let Some(reader) = lines.as_mut() else {
                    return Ok(None);
                };
                // The same lines the first read took as events, in the same order.
                while let Some(line) = reader.next_line()? {
                    if line.kind != LineKind::Whole {
                        continue;
                    }
                    if let Ok(event) = parse_event(line.bytes) {
                        return Ok(Some(event));
                    }
                }
                Ok(None)
            }
        }
    }

    /// Puts the run in the state after the first `target` events (or all there are), waiting
    /// for the first read to reach them: `usize::MAX` is the end of the recording.
    pub fn seek(&mut self, target: usize) {
        while target > self.marks.len() && self.receive(true) {}
        let target = target.min(self.marks.len());
        let interval = self.checkpoints.spacing.interval;
        let close_ahead = target >= self.position && target - self.position <= interval;
        if !close_ahead {
            let checkpoint = self.checkpoints.before(target);
            // Going on from here beats going back to an earlier checkpoint.
            if !(checkpoint.position < self.position && self.position <= target) {
                self.run = checkpoint.run.clone();
                self.position = checkpoint.position;
                match &mut self.source {
                    Source::Memory(_) => {}
                    Source::File { lines, offset, .. } => {
                        *lines = None;
                        *offset = checkpoint.offset;
                    }
                }
            }
        }
        while self.position < target && self.forward() {}
    }

    /// The position at session time `t_ms`: every event recorded up to then applied.
    pub fn position_at(&self, t_ms: u64) -> usize {
        self.marks.partition_point(|m| m.t_ms <= t_ms)
    }

    /// The moment the event before the position is, which of all the moments it is (from 1),
    /// and how many there are; `None` when that event is no moment.
    pub fn moment_here(&self) -> Option<(Mark, usize, usize)> {
        let mark = *self.marks.get(self.position.checked_sub(1)?)?;
        if mark.moment == Moment::Plain {
            return None;
        }
        let worth = |m: &&Mark| m.moment != Moment::Plain;
        let number = self.marks[..self.position].iter().filter(worth).count();
        let all = number + self.marks[self.position..].iter().filter(worth).count();
        Some((mark, number, all))
    }

    /// The position just after the next (or previous) event worth stopping at: a tool call,
    /// a failure, a hand-off, a parallel group or a pause.
    pub fn marker(&self, forward: bool) -> Option<usize> {
        let worth = |m: &Mark| m.moment != Moment::Plain;
        if forward {
            (self.position..self.marks.len())
                .find(|&i| worth(&self.marks[i]))
                .map(|i| i + 1)
        } else {
            (0..self.position.saturating_sub(1))
                .rev()
                .find(|&i| worth(&self.marks[i]))
                .map(|i| i + 1)
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::index::{FIRST_INTERVAL, MAX_CHECKPOINTS, READ_FIRST};
    use super::*;
    use crate::engine::EventKind;

    fn events(n: usize) -> Vec<Event> {
        let mut list = vec![
            Event {
                seq: 0,
                t_ms: 0,
                kind: EventKind::SessionStarted {
                    session_id: "s".into(),
                    crew: "c".into(),
                    input: "go".into(),
                },
            },
            Event {
                seq: 1,
                t_ms: 0,
                kind: EventKind::AgentStarted {
                    agent: "a".into(),
                    turn: 1,
                    input: "go".into(),
                    round: Some(1),
                    entry: None,
                },
            },
        ];
        for i in 2..n as u64 {
            let kind = if i % 1000 == 0 {
                EventKind::Paused {
                    agent: "a".into(),
                    prompt: format!("stop {i}"),
                }
            } else {
                EventKind::Token {
                    agent: "a".into(),
                    text: format!("t{i} "),
                    reasoning: false,
                }
            };
            list.push(Event {
                seq: i,
                t_ms: i,
                kind,
            });
        }
        list
    }

    fn crew() -> crate::config::model::Crew {
        crate::config::load_crew_str(
            "name: c\nagents:\n  - {id: a, provider: scripted}\n",
            Path::new("c.yaml"),
            Path::new("."),
        )
        .crew
        .expect("the crew loads")
    }

    fn initial() -> Run {
        Run::for_crew(&crew(), TimelineLimits::default())
    }

    /// The state after folding the first `n` events from the start, as plainly as can be.
    fn folded(events: &[Event], n: usize) -> String {
        let mut run = initial();
        events[..n].iter().for_each(|e| run.apply(e));
        format!("{run:?}")
    }

    /// The events as a session file, with a damaged line after the sixth event.
    fn file_of(events: &[Event], name: &str) -> PathBuf {
        file_damaged_after(events, name, &[5])
    }

    fn file_damaged_after(events: &[Event], name: &str, damaged: &[usize]) -> PathBuf {
        let crew = crew();
        let header = Header::new("s", &crew, "go", std::time::SystemTime::now());
        let path = std::env::temp_dir().join(format!(
            "crewtui-playback-{}-{name}.jsonl",
            std::process::id()
        ));
        let mut file = std::fs::File::create(&path).unwrap();
        serde_json::to_writer(&mut file, &header).unwrap();
        file.write_all(b"\n").unwrap();
        for (i, event) in events.iter().enumerate() {
            serde_json::to_writer(&mut file, event).unwrap();
            file.write_all(b"\n").unwrap();
            if damaged.contains(&i) {
                file.write_all(b"a damaged line\n").unwrap();
            }
        }
        path
    }

    #[test]
    fn seeking_anywhere_gives_the_state_of_folding_from_the_start() {
        let list = events(20_000);
        let path = file_of(&list, "seek");
        let (mut from_file, _, warnings) =
            Playback::open(&path, TimelineLimits::default()).unwrap();
        assert_eq!(warnings.len(), 1, "the damaged line is named and skipped");
        let mut in_memory = Playback::from_events(initial(), list.clone());
        assert_eq!(from_file.len(), list.len());
        for target in [
            7_000, 100, 19_999, 2_000, 2_001, 0, 5_432, 20_000, 4_000, 4_001,
        ] {
            let want = folded(&list, target);
            for playback in [&mut from_file, &mut in_memory] {
                playback.seek(target);
                assert_eq!(playback.position(), target);
                assert_eq!(format!("{:?}", playback.run()), want, "at {target}");
            }
        }
        assert!(from_file.checkpoints.list.len() <= MAX_CHECKPOINTS);
        let _ = std::fs::remove_file(path);
    }

    #[test]
    fn a_long_recording_shows_its_start_while_the_rest_is_read() {
        let list = events(20_000);
        // Line 8 is damaged (the header is line 1), and the line after event 12,000.
        let path = file_damaged_after(&list, "first", &[5, 12_000]);
        let (mut playback, _, warnings) =
            Playback::open_first(&path, TimelineLimits::default()).unwrap();
        assert_eq!(playback.len(), READ_FIRST, "only the start was read before");
        assert!(!playback.is_read() && !playback.at_end());
        let lines: Vec<usize> = warnings.iter().map(|w| w.line).collect();
        assert_eq!(lines, [8], "the damage read so far");
        assert_eq!(format!("{:?}", playback.run()), folded(&list, 0));

        // Going past what is read waits for it, and gives the state of folding from the start.
        playback.seek(9_000);
        assert_eq!(playback.position(), 9_000);
        assert_eq!(format!("{:?}", playback.run()), folded(&list, 9_000));
        while playback.forward() && playback.position() < 9_010 {}
        assert_eq!(format!("{:?}", playback.run()), folded(&list, 9_010));

        // The end is the recording's end, once all of it is read.
        playback.seek(usize::MAX);
        assert!(playback.is_read() && playback.at_end());
        assert_eq!(playback.position(), list.len());
        assert_eq!(format!("{:?}", playback.run()), folded(&list, list.len()));
        let late: Vec<usize> = playback.take_warnings().iter().map(|w| w.line).collect();
        assert_eq!(late, [12_000 + 4], "the damage found later, by its line");
        assert!(playback.take_warnings().is_empty(), "each said once");

        // The checkpoints are the ones a whole read in one go keeps.
        let whole = Playback::from_events(initial(), list.clone());
        let positions = |p: &Playback| -> Vec<(usize, String)> {
            let list = &p.checkpoints.list;
            list.iter()
                .map(|c| (c.position, format!("{:?}", c.run)))
                .collect()
        };
        assert_eq!(positions(&playback), positions(&whole));
        assert_eq!(playback.marks(), whole.marks());

        // Back to a checkpoint read by the thread.
        playback.seek(6_001);
        assert_eq!(format!("{:?}", playback.run()), folded(&list, 6_001));
        let _ = std::fs::remove_file(path);
    }

    #[test]
    fn a_read_that_ends_before_its_last_batch_is_named_not_taken_for_the_end() {
        let list = events(10_000);
        let path = file_of(&list, "gone");
        let (mut playback, _, _) = Playback::open_first(&path, TimelineLimits::default()).unwrap();
        // The thread gone without its last batch (as if it had panicked).
        let (sender, receiver) = std::sync::mpsc::sync_channel(1);
        drop(sender);
        playback.reading = Some(receiver);
        playback.read_all();
        assert!(playback.is_read());
        assert_eq!(playback.len(), READ_FIRST);
        let warnings = playback.take_warnings();
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        // The header, 4,096 events and the damaged line are read: the next line is named.
        assert_eq!(warnings[0].line, 1 + READ_FIRST + 1 + 1);
        let _ = std::fs::remove_file(path);
    }

    #[test]
    fn checkpoints_stay_few_however_long_the_recording() {
        let list = events(300_000);
        let playback = Playback::from_events(initial(), list);
        assert!(playback.checkpoints.list.len() <= MAX_CHECKPOINTS);
        assert!(
            playback.checkpoints.spacing.interval > FIRST_INTERVAL,
            "the interval grew"
        );
    }

    #[test]
    fn markers_find_the_moments_worth_stopping_at() {
        let mut playback = Playback::from_events(initial(), events(3_500));
        assert_eq!(playback.marker(true), Some(1_001));
        playback.seek(1_001);
        assert_eq!(playback.marker(true), Some(2_001));
        playback.seek(2_500);
        assert_eq!(playback.marker(false), Some(2_001));
        playback.seek(3_500);
        assert_eq!(playback.marker(true), None);
        assert_eq!(playback.marks()[1_000].moment, Moment::Pause);
        assert_eq!(playback.marks()[1_000].agent, Some(0));
        assert_eq!(playback.marks()[999].moment, Moment::Plain);
        playback.seek(1_001);
        assert_eq!(
            playback.moment_here().map(|(m, n, all)| (m.moment, n, all)),
            Some((Moment::Pause, 1, 3))
        );
        playback.seek(1_002);
        assert_eq!(playback.moment_here(), None);
    }

    /// A real session steered at its gates: a breakpoint on the writer's model call answered
    /// with guidance, then, at the editor's turn, a re-run of the writer as two variants.
    async fn steered_events() -> Vec<Event> {
        use crate::engine::{Command, SessionParts};
        let crew = crate::config::load_crew_str(
            "name: c\nsettings: {scripted_tokens_per_second: 0}\nagents:\n  - {id: writer, \
             provider: scripted, handoff_targets: [editor], script: [{reply: Draft.}]}\n  - \
             {id: editor, provider: scripted, is_terminal: true, script: [{reply: Done.}]}\n",
            Path::new("c.yaml"),
            Path::new("."),
        )
        .crew
        .expect("the crew loads");
        let mut parts = SessionParts::for_crew(&crew, &reqwest::Client::new());
        parts.gates.breakpoints = vec![
            "model:writer".parse().unwrap(),
            "agent:editor".parse().unwrap(),
        ];
        let mut handle = crate::engine::start(crew, "go".into(), parts);
        let mut events = Vec::new();
        let mut rerun = true;
        while let Some(event) = handle.events.recv().await {
            let commands = match &event.kind {
                EventKind::Gate { gate, kind, .. } => {
                    let mut commands = match kind {
                        crate::engine::GateKind::ModelCall => vec![Command::Guide {
                            agent: "writer".into(),
                            text: "Be brief.".into(),
                        }],
                        _ if rerun => vec![Command::Rerun {
                            agent: "writer".into(),
                            variants: Some(2),
                            system_prompt: None,
                            temperature: None,
                        }],
                        _ => Vec::new(),
                    };
                    rerun &= *kind != crate::engine::GateKind::Turn;
                    commands.push(Command::Continue {
                        gate: Some(gate.clone()),
                    });
                    commands
                }
                EventKind::TurnEnded { agent, .. } if agent == "writer~2" => {
                    vec![Command::Keep {
                        agent: "writer".into(),
                        variant: 1,
                    }]
                }
                _ => Vec::new(),
            };
            events.push(event);
            for command in commands {
                handle.commands.send(command).await.unwrap();
            }
        }
        events
    }

    #[tokio::test(start_paused = true)]
    async fn gates_decisions_guidance_and_reruns_are_moments_of_their_agent() {
        let events = steered_events().await;
        let agents: Vec<crate::engine::run::AgentInfo> = ["writer", "editor"]
            .iter()
            .map(|id| crate::engine::run::AgentInfo {
                id: (*id).into(),
                name: (*id).into(),
                role: String::new(),
            })
            .collect();
        let mut playback = Playback::from_events(
            Run::new("c", &agents, TimelineLimits::default()),
            events.clone(),
        );
        playback.seek(playback.len());
        let index = |agent: &str| {
            let i = playback.run().agent_index(agent);
            i.and_then(|i| u32::try_from(i).ok())
        };
        let mut gates = std::collections::BTreeMap::new();
        let mut seen = Vec::new();
        for (event, mark) in events.iter().zip(playback.marks()) {
            let (kind, agent) = match &event.kind {
                EventKind::Gate { gate, agent, .. } => {
                    gates.insert(gate.clone(), agent.clone());
                    ("gate", agent.clone())
                }
                EventKind::Guidance { agent, .. } => ("guidance", agent.clone()),
                EventKind::Rerun { agent, .. } => ("rerun", agent.clone()),
                EventKind::Kept { agent, .. } => ("kept", agent.clone()),
                EventKind::Decision { gate, .. } => ("decision", gates[gate].clone()),
                _ => continue,
            };
            assert_eq!(mark.moment, Moment::Intervention, "{kind}: {event:?}");
            assert_eq!(mark.agent, index(agent.as_str()), "{kind}: {event:?}");
            assert!(mark.agent.is_some(), "{kind}: {event:?}");
            seen.push(kind);
        }
        for kind in ["gate", "decision", "guidance", "rerun", "kept"] {
            assert!(seen.contains(&kind), "no {kind} in {seen:?}");
        }
        // n goes from one to the next: the first gate is the first moment of all.
        let first_gate = events
            .iter()
            .position(|e| matches!(e.kind, EventKind::Gate { .. }))
            .unwrap();
        playback.seek(0);
        assert_eq!(playback.marker(true), Some(first_gate + 1));
    }

    #[test]
    fn positions_are_found_by_time() {
        // Events at t = 0, 0, 2, 3, ... (their seq, from the third on).
        let playback = Playback::from_events(initial(), events(100));
        assert_eq!(playback.position_at(0), 2);
        assert_eq!(playback.position_at(2), 3);
        assert_eq!(playback.position_at(50), 51);
        assert_eq!(playback.position_at(1_000), 100);
    }
}
