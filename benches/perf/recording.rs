//! Item 8: CPU of a headless run with recording on vs off, and fsyncs.

use super::*;

/// The session file, counting its fsyncs where the bench can read them.
pub(crate) struct CountingLog {
    pub(crate) recorder: Recorder,
    pub(crate) fsyncs: Arc<AtomicU64>,
}

impl EventLog for CountingLog {
    fn record(&mut self, event: &Event) -> io::Result<()> {
        let result = self.recorder.record(event);
        self.fsyncs.store(self.recorder.fsyncs(), Ordering::Relaxed);
        result
    }
}

pub(crate) struct Measured {
    pub(crate) cpu: Duration,
    pub(crate) wall: Duration,
    pub(crate) fsyncs: u64,
}

/// One headless run of `crew`, with or without a session file; `jsonl` prints the events as
/// the headless CLI does, else they are only counted.
pub(crate) fn headless_run(
    rt: &tokio::runtime::Runtime,
    crew: Crew,
    dir: Option<&Path>,
    jsonl: bool,
) -> Measured {
    let mut p = parts(&crew);
    let fsyncs = Arc::new(AtomicU64::new(0));
    // Creating the file (and syncing its header and directory) is part of what recording costs.
    let pid = std::process::id().to_string();
    let cpu0 = cpu_ns(&pid);
    if let Some(dir) = dir {
        let header = Header::new(&p.session_id, &crew, "go", SystemTime::now());
        let recorder = Recorder::create(dir, &header).expect("a session file");
        p.log = Some(Box::new(CountingLog {
            recorder,
            fsyncs: Arc::clone(&fsyncs),
        }));
    }
    let t = Instant::now();
    let (_, _, outcome) = rt.block_on(async {
        let handle = engine::start(crew, "go".into(), p);
        if jsonl {
            drain_jsonl(handle).await
        } else {
            drain(handle).await
        }
    });
    let wall = t.elapsed();
    let cpu = Duration::from_nanos(cpu_ns(&pid) - cpu0);
    assert!(outcome.is_some());
    Measured {
        cpu,
        wall,
        fsyncs: fsyncs.load(Ordering::Relaxed),
    }
}

/// Streaming runs of the recording item: 64 agents, so that what recording costs per event
/// stands out of the run-to-run noise of thread wake-ups.
pub(crate) const RECORDING_AGENTS: usize = 64;
pub(crate) const RECORDING_STREAM_SECONDS: f64 = 3.0;

/// Syncs per second of the recorded runs, and per run.
fn fsync_row(recorded: &[Measured]) {
    let rate = median(
        &recorded
            .iter()
            .map(|m| m.fsyncs as f64 / m.wall.as_secs_f64())
            .collect::<Vec<_>>(),
    );
    row(
        "fsyncs per second",
        format!("{rate:.1} ({} per run)", recorded[0].fsyncs),
        "",
        None,
    );
}

pub(crate) fn recording_item() {
    let rt = runtime();
    let dir = scratch("recording");
    let tokens = (RENDER_RATE * RECORDING_STREAM_SECONDS) as usize;
    let streaming = || load_crew(&fan_out_yaml(RECORDING_AGENTS, tokens, RENDER_RATE));
    // Warm up: the first run pays for page faults and lazy statics.
    headless_run(&rt, streaming(), Some(dir.as_path()), true);

    // A whole run with recording off and on, pair by pair: a streaming run's CPU varies a lot
    // from run to run (thread wake-ups), so the verdict is on the median of the differences
    // within pairs, which run back to back.
    let pairs = runs() + 2;
    let mut per: BTreeMap<bool, Vec<Measured>> = BTreeMap::new();
    for _ in 0..pairs {
        for on in [false, true] {
            let m = headless_run(&rt, streaming(), on.then_some(dir.as_path()), true);
            per.entry(on).or_default().push(m);
        }
    }
    let cpu = |on: bool| median(&per[&on].iter().map(|m| m.cpu).collect::<Vec<_>>());
    let (off, on) = (cpu(false), cpu(true));
    note(&format!(
        "{RECORDING_AGENTS} agents x {RENDER_RATE} tokens/s for {RECORDING_STREAM_SECONDS} s, \
         events printed as JSONL (to /dev/null) as `crewtui run --headless` does"
    ));
    row(
        &format!("run CPU off / on (median of {pairs} pairs)"),
        format!("{} / {}", ms(off), ms(on)),
        "",
        None,
    );
    let spread = |on: bool| {
        let v: Vec<Duration> = per[&on].iter().map(|m| m.cpu).collect();
        format!(
            "{}..{}",
            ms(*v.iter().min().expect("runs")),
            ms(*v.iter().max().expect("runs"))
        )
    };
    note(&format!(
        "spread of run CPU: off {}, on {}",
        spread(false),
        spread(true)
    ));
    fsync_row(&per[&true]);
    let diffs: Vec<f64> = per[&false]
        .iter()
        .zip(&per[&true])
        .map(|(off, on)| on.cpu.as_secs_f64() - off.cpu.as_secs_f64())
        .collect();
    let extra = median(&diffs) / off.as_secs_f64();
    row(
        "CPU added by recording (median pair difference)",
        format!("{:+.1} %", extra * 100.0),
        "< 5 %",
        Some(extra < 0.05),
    );

    // At rate 0 the run is all CPU and its CPU is steady from run to run: the same fan-out,
    // streamed at once, is where a few per cent can be told apart.
    let mut per: BTreeMap<bool, Vec<Measured>> = BTreeMap::new();
    let instant = || load_crew(&fan_out_yaml(RENDER_AGENTS, 2_000, 0.0));
    for _ in 0..runs() {
        for on in [false, true] {
            let m = headless_run(&rt, instant(), on.then_some(dir.as_path()), true);
            per.entry(on).or_default().push(m);
        }
    }
    let cpu = |on: bool| median(&per[&on].iter().map(|m| m.cpu).collect::<Vec<_>>());
    let (off, on) = (cpu(false), cpu(true));
    note(&format!(
        "{RENDER_AGENTS} agents x 2000 tokens at rate 0, events printed as JSONL; median of {} \
         pairs",
        runs()
    ));
    row(
        "run CPU off / on",
        format!("{} / {}", ms(off), ms(on)),
        "",
        None,
    );
    let extra = on.as_secs_f64() / off.as_secs_f64() - 1.0;
    row(
        "CPU added by recording",
        format!("{:+.1} %", extra * 100.0),
        "< 5 %",
        Some(extra < 0.05),
    );
    row("fsyncs per run", per[&true][0].fsyncs.to_string(), "", None);

    // At rate 0 the run only moves data, and the recorder writes every byte of it once more.
    let mut per: BTreeMap<bool, Vec<Measured>> = BTreeMap::new();
    for _ in 0..runs() {
        for on in [false, true] {
            let m = headless_run(
                &rt,
                ring_crew(TURNS, TURN_TOKENS),
                on.then_some(dir.as_path()),
                true,
            );
            per.entry(on).or_default().push(m);
        }
    }
    let cpu = |on: bool| median(&per[&on].iter().map(|m| m.cpu).collect::<Vec<_>>());
    let (off, on) = (cpu(false), cpu(true));
    note(&format!(
        "{TURNS} turns at rate 0, events printed as JSONL; median of {} pairs",
        runs()
    ));
    row(
        "run CPU off / on",
        format!("{} / {}", ms(off), ms(on)),
        "",
        None,
    );
    row(
        "CPU added by recording",
        format!(
            "{:+.1} %",
            (on.as_secs_f64() / off.as_secs_f64() - 1.0) * 100.0
        ),
        "",
        None,
    );
    fsync_row(&per[&true]);
}
