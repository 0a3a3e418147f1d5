//! Item 8: CPU of a headless run with recording on vs off, and fsyncs.

use super::*;

pub(crate) struct Measured {
    pub(crate) cpu: Duration,
    pub(crate) wall: Duration,
    pub(crate) fsyncs: u64,
    /// `write` calls on the session file.
    pub(crate) writes: u64,
    /// Times the writer's thread woke because something was due.
    pub(crate) takes: u64,
}

/// `crewtui run --headless` without its session file, the baseline: each event printed the
/// way the [`Recorder`] prints it, through a [`Printer`] of its own.
struct PrintOnly {
    printer: Printer,
    line: Vec<u8>,
}

impl EventLog for PrintOnly {
    fn record(&mut self, event: &Event) -> io::Result<()> {
        session::encode(event, &mut self.line)?;
        self.printer.push(&self.line, session::urgency(&event.kind));
        Ok(())
    }
}

/// The log `crewtui run --headless` gives the engine: every event printed as a JSON line (to
/// `stdout`) and, when `dir` is given, recorded in a session file there; with the file's
/// counters.
fn headless_log(
    crew: &Crew,
    session_id: &str,
    dir: Option<&Path>,
    stdout: Box<dyn Write + Send>,
) -> (Box<dyn EventLog>, Option<Arc<Counters>>) {
    let printer = Printer::start(stdout, Clock::system()).expect("the stdout thread");
    match dir {
        Some(dir) => {
            let header = Header::new(session_id, crew, "go", SystemTime::now());
            let mut recorder = Recorder::create(dir, &header).expect("a session file");
            recorder.print_to(printer);
            let counters = recorder.counters();
            (Box::new(recorder), Some(counters))
        }
        None => {
            let log = PrintOnly {
                printer,
                line: Vec::with_capacity(4096),
            };
            (Box::new(log), None)
        }
    }
}

/// Where a headless run's output goes: a pipe to another process, as in `crewtui run
/// --headless | jq`. The reader (`cat > /dev/null`) is started before the CPU clock and its
/// own CPU is its process's, not the run's.
struct Reader(std::process::Child);

impl Reader {
    fn start() -> (Reader, Box<dyn Write + Send>) {
        let mut child = Command::new("cat")
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .expect("cat");
        let stdin = child.stdin.take().expect("a pipe");
        (Reader(child), Box::new(stdin))
    }

    /// Waits for the reader to see the end of the output, once the log has been dropped.
    fn finish(mut self) {
        self.0.wait().expect("cat ends");
    }
}

fn measured(cpu: Duration, wall: Duration, counters: Option<Arc<Counters>>) -> Measured {
    let count = |f: fn(&Counters) -> &AtomicU64| {
        counters
            .as_ref()
            .map_or(0, |c| f(c).load(Ordering::Relaxed))
    };
    Measured {
        cpu,
        wall,
        fsyncs: count(|c| &c.fsyncs),
        writes: count(|c| &c.file_writes),
        takes: count(|c| &c.takes),
    }
}

/// One headless run of `crew`, recorded in `dir` if given.
fn headless_run(rt: &tokio::runtime::Runtime, crew: Crew, dir: Option<&Path>) -> Measured {
    let mut p = parts(&crew);
    let (reader, stdout) = Reader::start();
    // Creating the file (and syncing its header and directory) is part of what recording costs.
    let cpu0 = process_cpu();
    let t = Instant::now();
    let (log, counters) = headless_log(&crew, &p.session_id, dir, stdout);
    p.log = Some(log);
    let (_, _, outcome) = rt.block_on(async { drain(engine::start(crew, "go".into(), p)).await });
    assert!(outcome.is_some());
    let m = measured(process_cpu() - cpu0, t.elapsed(), counters);
    reader.finish();
    m
}

/// The events of one headless run of `crew`, as the engine emitted them.
fn events_of(rt: &tokio::runtime::Runtime, crew: Crew) -> Vec<Event> {
    let p = parts(&crew);
    rt.block_on(async {
        let mut handle = engine::start(crew, "go".into(), p);
        let mut events = vec![];
        while let Some(event) = handle.events.recv().await {
            events.push(event);
        }
        let _ = handle.task.await;
        events
    })
}

/// The replay hands events over in slices of this much of the run's time. Waking for every
/// millisecond a run has events in would cost the replay more CPU than the log does, and the
/// wake-ups' noise would hide what the file costs; a slice a tenth of
/// [`crewtui::session::FLUSH_EVERY`] leaves the batches the writer makes as they were.
const REPLAY_SLICE_MS: u64 = 10;

/// Hands `events` to the headless log at the pace the engine emitted them, from one thread
/// that does nothing else: what the log itself costs, without the engine's noise.
fn replay_into_log(crew: &Crew, events: &[Event], dir: Option<&Path>) -> Measured {
    let (reader, stdout) = Reader::start();
    let cpu0 = process_cpu();
    let start = Instant::now();
    let (mut log, counters) = headless_log(crew, "bench", dir, stdout);
    for event in events {
        let slice = event.t_ms - event.t_ms % REPLAY_SLICE_MS;
        let due = start + Duration::from_millis(slice);
        let now = Instant::now();
        if due > now {
            std::thread::sleep(due - now);
        }
        log.record(event).expect("recorded");
    }
    drop(log);
    let m = measured(process_cpu() - cpu0, start.elapsed(), counters);
    reader.finish();
    m
}

/// Streaming runs of the recording item: 64 agents, so that what recording costs per event
/// stands out of the run-to-run noise of thread wake-ups.
pub(crate) const RECORDING_AGENTS: usize = 64;
pub(crate) const RECORDING_STREAM_SECONDS: f64 = 3.0;

/// Runs with recording off and on, alternating, so that slow spells of the machine fall on
/// both alike.
struct Pairs {
    off: Vec<Measured>,
    on: Vec<Measured>,
}

impl Pairs {
    fn run(n: usize, dir: &Path, mut run: impl FnMut(Option<&Path>) -> Measured) -> Pairs {
        let mut pairs = Pairs {
            off: vec![],
            on: vec![],
        };
        for _ in 0..n {
            pairs.off.push(run(None));
            pairs.on.push(run(Some(dir)));
            empty(dir);
        }
        pairs
    }

    /// The median over pairs of (on - off): within a pair the two runs share the machine's
    /// mood.
    fn added(&self) -> Duration {
        let diffs: Vec<f64> = self
            .off
            .iter()
            .zip(&self.on)
            .map(|(off, on)| on.cpu.as_secs_f64() - off.cpu.as_secs_f64())
            .collect();
        Duration::from_secs_f64(median(&diffs).max(0.0))
    }

    /// The CPU of the cheapest runs with recording off and on: the mean of the least quarter
    /// of them. Whatever else the machine does only ever adds CPU to a run (a wake-up that
    /// comes late, a cache another process emptied, time the hypervisor takes), so the runs
    /// that cost least are the closest to what the work costs; a few of them together move
    /// less from one invocation of the bench to the next than the single least.
    fn low(&self) -> (Duration, Duration) {
        let low = |runs: &[Measured]| {
            let mut v = cpus(runs);
            v.sort();
            let quarter = &v[..v.len().div_ceil(4)];
            quarter.iter().sum::<Duration>() / quarter.len() as u32
        };
        (low(&self.off), low(&self.on))
    }

    fn cpu_row(&self, figure: &str, on: bool) {
        let v = cpus(if on { &self.on } else { &self.off });
        row(
            figure,
            format!(
                "{} ({}..{})",
                ms(median(&v)),
                ms(*v.iter().min().expect("runs")),
                ms(*v.iter().max().expect("runs"))
            ),
            "",
            None,
        );
    }
}

/// Removes the session files a run left in `dir`, once it has been measured. Kept, they grow
/// the page cache by every file (over 1 GB in this item), each run's pages come from memory
/// the page cache has never used, and on this VM that makes writing them several times dearer
/// as the item goes on (50 MB of lines: 40 ms of CPU with the files removed, 150 ms once half
/// a gigabyte is kept) — most likely the host backing the guest's fresh memory, charged to
/// whichever thread touches it. A machine in use recycles its page cache instead.
fn empty(dir: &Path) {
    for entry in std::fs::read_dir(dir).expect("the scratch dir").flatten() {
        let _ = std::fs::remove_file(entry.path());
    }
}

fn cpus(runs: &[Measured]) -> Vec<Duration> {
    runs.iter().map(|m| m.cpu).collect()
}

/// One scenario: whole headless runs with recording off and on, and the recording's own CPU
/// measured by replaying one run's events into the log with and without the file. A whole
/// run's CPU varies by ±15 % from run to run (the runtime's thread wake-ups, the VM), far more
/// than the few per cent at stake. A replay is one thread handing events to the log at the
/// pace the engine emitted them, so the difference between its low CPU ([`Pairs::low`]) with
/// and without the file is what the file costs; the verdict divides that by the low CPU of a
/// whole run.
fn scenario(
    rt: &tokio::runtime::Runtime,
    dir: &Path,
    what: &str,
    runs: usize,
    crew: impl Fn() -> Crew,
    budget: bool,
) {
    let whole = Pairs::run(runs, dir, |dir| headless_run(rt, crew(), dir));
    let events = events_of(rt, crew());
    // Three times as many replays: the verdict rests on them.
    let replays = Pairs::run(3 * runs, dir, |dir| replay_into_log(&crew(), &events, dir));
    note(&format!(
        "{what}: {} events; {runs} pairs of runs, {} of replays (median, least..most)",
        events.len(),
        3 * runs
    ));
    whole.cpu_row("headless run CPU, recording off", false);
    whole.cpu_row("headless run CPU, recording on", true);
    let (base, _) = whole.low();
    let base = base.as_secs_f64();
    row(
        "  on - off, median of pairs (noisy)",
        format!("{:+.1} %", whole.added().as_secs_f64() / base * 100.0),
        "",
        None,
    );
    replays.cpu_row("same events into the log, printing only", false);
    replays.cpu_row("same events into the log, printing + file", true);
    let (off, on) = replays.low();
    let added = (on.as_secs_f64() - off.as_secs_f64()) / base;
    row(
        "  low quarter of replays, printing only / printing + file",
        format!("{} / {}", ms(off), ms(on)),
        "",
        None,
    );
    row(
        "CPU added by recording (low file cost / low run)",
        format!("{:+.1} %", added * 100.0),
        if budget { "< 5 %" } else { "" },
        budget.then_some(added < 0.05),
    );
    fsync_row(&whole.on);
}

pub(crate) fn recording_item() {
    let rt = runtime();
    let dir = scratch("recording");
    note(
        "headless: events printed as JSON lines into a pipe (read by `cat > /dev/null`) as \
         `crewtui run --headless | ...` does; recording on adds the session file",
    );
    let tokens = (RENDER_RATE * RECORDING_STREAM_SECONDS) as usize;
    let streaming = || load_crew(&fan_out_yaml(RECORDING_AGENTS, tokens, RENDER_RATE));
    // Warm up: the first run pays for page faults and lazy statics.
    headless_run(&rt, streaming(), Some(dir.as_path()));
    scenario(
        &rt,
        &dir,
        &format!(
            "{RECORDING_AGENTS} agents x {RENDER_RATE} tokens/s for {RECORDING_STREAM_SECONDS} s"
        ),
        runs() + 2,
        streaming,
        true,
    );
    // At rate 0 the run is all CPU: the same fan-out streamed at once is where the cost per
    // event shows. Runs are short, so there are many of them.
    scenario(
        &rt,
        &dir,
        &format!("{RENDER_AGENTS} agents x 2000 tokens at rate 0"),
        4 * runs() + 1,
        || load_crew(&fan_out_yaml(RENDER_AGENTS, 2_000, 0.0)),
        true,
    );
    // A long run of whole turns: every request carries the history, so most bytes are in
    // `model_request` lines.
    scenario(
        &rt,
        &dir,
        &format!("{TURNS} turns at rate 0"),
        runs(),
        || ring_crew(TURNS, TURN_TOKENS),
        false,
    );
}

/// Syncs and writes per second of the recorded runs, and per run.
fn fsync_row(recorded: &[Measured]) {
    let per_second = |count: fn(&Measured) -> u64| {
        median(
            &recorded
                .iter()
                .map(|m| count(m) as f64 / m.wall.as_secs_f64())
                .collect::<Vec<_>>(),
        )
    };
    let first = &recorded[0];
    row(
        "fsyncs per second",
        format!("{:.1} ({} per run)", per_second(|m| m.fsyncs), first.fsyncs),
        "",
        None,
    );
    row(
        "writes to the session file per second",
        format!("{:.1} ({} per run)", per_second(|m| m.writes), first.writes),
        "",
        None,
    );
    row(
        "writer thread wake-ups per second",
        format!("{:.1} ({} per run)", per_second(|m| m.takes), first.takes),
        "",
        None,
    );
}
