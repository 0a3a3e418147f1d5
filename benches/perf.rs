//! crewtui's performance figures and the budgets they must meet (issue 6).
//!
//! `cargo bench --bench perf` runs every item; `cargo bench --bench perf -- NAME...` runs the
//! named ones (render, history, idle, engine, fanout, memory, replay, recording). Each item
//! runs in a child process of this binary (`perf --child NAME`), so a peak RSS belongs to one
//! scenario and nothing one item allocates slows the next. Timing budgets live here and only
//! here: the test suite checks behaviour, never speed.
//!
//! Timed figures are medians over `PERF_RUNS` runs (default 5). CPU time is the sum of the
//! per-thread `/proc/PID/task/*/schedstat` run times (nanoseconds); peak RSS is `VmHWM` from
//! `/proc/self/status`. `PERF_PTY_DUMP=FILE` keeps what the binary wrote to the pseudo-terminal.

use std::collections::BTreeMap;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use crewtui::config::model::{Crew, ScriptStep};
use crewtui::engine::{
    self, EVENT_QUEUE, Event, EventKind, EventLog, Outcome, SessionHandle, SessionParts, Usage,
};
use crewtui::session::{self, Header, Recorder};
use crewtui::tui::app::{AgentInfo, App};
use crewtui::tui::live::{self, Launch, Stats};
use crewtui::tui::pane::PaneLimits;
use crewtui::tui::render;
use crewtui::tui::replay::Replayer;
use crewtui::tui::theme::Theme;
use crewtui::tui::view::{Mode, Scroll, Timeline, View};
use crossterm::event::{Event as TermEvent, KeyCode, KeyEvent, KeyModifiers};
use futures_util::Stream;
use ratatui::Terminal;
use ratatui::backend::{Backend, ClearType, TestBackend, WindowSize};
use ratatui::buffer::Cell;
use ratatui::layout::{Position, Size};
use tokio::sync::mpsc;

const ITEMS: [(&str, &str); 8] = [
    (
        "render",
        "1. streaming render: 16 agents x 50 tokens/s, 200x50",
    ),
    (
        "history",
        "2. history scaling: a pane of 1,000,000 lines vs 1,000",
    ),
    ("idle", "3. idle: 10 s after a run finished"),
    (
        "engine",
        "4. engine overhead: 1,000 turns, scripted, rate 0, headless",
    ),
    ("fanout", "5. fan-out: 64 parallel agents x 200 tokens/s"),
    (
        "memory",
        "6. memory: 16 agents x 1,000,000 tokens through the TUI",
    ),
    ("replay", "7. replay: a 1,000,000-event session file"),
    (
        "recording",
        "8. recording: headless CPU, recording on vs off",
    ),
];

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let [flag, name, ..] = args.as_slice()
        && flag == "--child"
    {
        child(name);
        return;
    }
    // `cargo bench` passes `--bench`; anything else not starting with `-` names an item.
    let wanted: Vec<&str> = args
        .iter()
        .filter(|a| !a.starts_with('-'))
        .map(String::as_str)
        .collect();
    if let Some(unknown) = wanted.iter().find(|w| !ITEMS.iter().any(|(n, _)| n == *w)) {
        eprintln!(
            "perf: no item `{unknown}`; items: {}",
            ITEMS.map(|(n, _)| n).join(", ")
        );
        std::process::exit(2);
    }
    println!(
        "crewtui perf · {} runs per timed figure · {} cores",
        runs(),
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    let exe = std::env::current_exe().expect("the bench knows its own path");
    let mut summary = Vec::new();
    let started = Instant::now();
    for (name, title) in ITEMS {
        if !wanted.is_empty() && !wanted.contains(&name) {
            continue;
        }
        println!("\n{title}   [cargo bench --bench perf -- {name}]");
        let t = Instant::now();
        let mut child = Command::new(&exe)
            .args(["--child", name])
            .stdout(Stdio::piped())
            .spawn()
            .expect("the bench runs itself");
        let out = BufReader::new(child.stdout.take().expect("piped"));
        for line in out.lines() {
            let line = line.expect("child output is text");
            println!("{line}");
            if line.ends_with(" PASS") || line.ends_with(" MISS") {
                summary.push(format!("{name:<10}{}", line.trim_start()));
            }
        }
        let status = child.wait().expect("child ends");
        if !status.success() {
            summary.push(format!("{name:<10}the item failed: {status}  MISS"));
        }
        println!("   ({:.1} s)", t.elapsed().as_secs_f64());
    }
    println!(
        "\nSummary ({:.0} s in all)",
        started.elapsed().as_secs_f64()
    );
    for line in &summary {
        println!("  {line}");
    }
    let misses = summary.iter().filter(|l| l.ends_with("MISS")).count();
    println!(
        "  {} budget(s) met, {misses} missed",
        summary.len() - misses
    );
}

fn runs() -> usize {
    std::env::var("PERF_RUNS")
        .ok()
        .and_then(|r| r.parse().ok())
        .filter(|&r| r > 0)
        .unwrap_or(5)
}

fn child(name: &str) {
    match name {
        "render" => render_item(),
        "history" => history_item(),
        "idle" => idle_item(),
        "engine" => engine_item(),
        "fanout" => fanout_item(),
        "memory" => memory_item(),
        "replay" => replay_item(),
        "recording" => recording_item(),
        other => panic!("no item {other}"),
    }
    // The scratch files (an 83 MB session among them) go with the child that made them.
    let _ = std::fs::remove_dir_all(
        std::env::temp_dir().join(format!("crewtui-perf-{}", std::process::id())),
    );
}

// ---------------------------------------------------------------------------------------------
// Reporting

/// One figure: what, its value, its budget, and whether it is met (`None`: no budget).
fn row(figure: &str, value: String, budget: &str, met: Option<bool>) {
    let verdict = match met {
        Some(true) => "PASS",
        Some(false) => "MISS",
        None => "",
    };
    let budget = if budget.is_empty() {
        String::new()
    } else {
        format!("budget {budget}")
    };
    println!("   {figure:<46} {value:>22}   {budget:<18} {verdict}");
    let _ = io::stdout().flush();
}

fn note(text: &str) {
    println!("     {text}");
    let _ = io::stdout().flush();
}

fn ms(d: Duration) -> String {
    format!("{:.3} ms", d.as_secs_f64() * 1e3)
}

fn median<T: Copy + PartialOrd>(values: &[T]) -> T {
    let mut v = values.to_vec();
    v.sort_by(|a, b| a.partial_cmp(b).expect("no NaN"));
    v[v.len() / 2]
}

/// The value below which `p` (0..=1) of the values lie, nearest rank.
fn percentile(values: &[Duration], p: f64) -> Duration {
    let mut v = values.to_vec();
    v.sort();
    let rank = ((v.len() as f64 * p).ceil() as usize).clamp(1, v.len());
    v[rank - 1]
}

// ---------------------------------------------------------------------------------------------
// Measuring the process

/// Peak resident set of this process so far, in bytes.
fn peak_rss() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .expect("VmHWM in /proc/self/status")
        * 1024
}

/// CPU time of every live thread of `pid`, in nanoseconds.
fn cpu_ns(pid: &str) -> u64 {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return 0;
    };
    tasks
        .filter_map(Result::ok)
        .filter_map(|t| std::fs::read_to_string(t.path().join("schedstat")).ok())
        .filter_map(|s| s.split_whitespace().next()?.parse::<u64>().ok())
        .sum()
}

fn mb(bytes: u64) -> String {
    format!("{:.1} MB", bytes as f64 / 1e6)
}

fn runtime() -> tokio::runtime::Runtime {
    // As the crewtui binary builds it: one worker per core.
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a runtime")
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("crewtui-perf-{}", std::process::id()));
    let dir = dir.join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

// ---------------------------------------------------------------------------------------------
// Crews and text

const WORDS: [&str; 24] = [
    "the",
    "agent",
    "reads",
    "a",
    "plan",
    "and",
    "streams",
    "its",
    "reply",
    "token",
    "by",
    "token,",
    "while",
    "others",
    "wait;",
    "tools",
    "run",
    "in",
    "isolation",
    "so",
    "nothing",
    "breaks.",
    "Results",
    "arrive",
];

/// `n` word tokens of model-like text, a paragraph break now and then.
fn reply_text(n: usize, salt: usize) -> String {
    let mut text = String::new();
    let mut x = salt.wrapping_mul(2_654_435_761) | 1;
    for i in 0..n {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        if i > 0 {
            text.push(if i % 47 == 0 { '\n' } else { ' ' });
        }
        text.push_str(WORDS[x % WORDS.len()]);
    }
    text
}

/// A lead that fans out to `members` agents at once, each replying with `tokens` tokens,
/// streamed at `rate` tokens a second (0: at once).
fn fan_out_yaml(members: usize, tokens: usize, rate: f64) -> String {
    let ids: Vec<String> = (0..members).map(|i| format!("a{i:02}")).collect();
    let mut yaml = format!(
        "name: bench-fan-out\nentry_point: lead\n\
         settings: {{max_handoffs: 5, max_rounds: 10, timeout_seconds: 3600, \
         scripted_tokens_per_second: {rate}}}\n\
         routing:\n  signals:\n    lead: [{{signal: \"[GO]\", target: all}}]\n  \
         parallel_groups:\n    all: {{agents: [{}], wait_for_all: true, timeout_seconds: 3600}}\n\
         agents:\n  - {{id: lead, provider: scripted, script: [{{reply: \"Fan out. [GO]\"}}]}}\n",
        ids.join(", ")
    );
    for (i, id) in ids.iter().enumerate() {
        let reply = serde_json::to_string(&reply_text(tokens, i + 1)).expect("a string");
        yaml.push_str(&format!(
            "  - {{id: {id}, provider: scripted, script: [{{reply: {reply}}}]}}\n"
        ));
    }
    yaml
}

/// `turns` agent turns in a ring of four agents handing off to each other, each reply
/// `tokens` tokens long, streamed at once.
fn ring_crew(turns: usize, tokens: usize) -> Crew {
    let ids = ["north", "east", "south", "west"];
    let mut yaml = format!(
        "name: bench-ring\nentry_point: north\n\
         settings: {{max_handoffs: 1000000, max_rounds: {turns}, timeout_seconds: 3600, \
         scripted_tokens_per_second: 0}}\nagents:\n"
    );
    for (i, id) in ids.iter().enumerate() {
        let next = ids[(i + 1) % ids.len()];
        yaml.push_str(&format!(
            "  - {{id: {id}, provider: scripted, handoff_targets: [{next}]}}\n"
        ));
    }
    let mut crew = load_crew(&yaml);
    for (i, agent) in crew.agents.iter_mut().enumerate() {
        agent.script = (0..turns.div_ceil(ids.len()))
            .map(|step| ScriptStep {
                reply: reply_text(tokens, i * 10_000 + step),
                reasoning: String::new(),
                tool_calls: Vec::new(),
            })
            .collect();
    }
    crew
}

fn load_crew(yaml: &str) -> Crew {
    let report =
        crewtui::config::load_crew_str(yaml, Path::new("bench.yaml"), &std::env::temp_dir());
    match report.crew {
        Some(crew) => crew,
        None => panic!("bench crew: {:?}", report.diagnostics),
    }
}

fn parts(crew: &Crew) -> SessionParts {
    SessionParts::for_crew(crew, &reqwest::Client::new())
}

// ---------------------------------------------------------------------------------------------
// The live loop, observed

/// A backend that times every `Terminal::draw`: from the size query it starts with to the
/// flush it ends with.
struct Timed<B> {
    inner: B,
    start: std::cell::Cell<Option<Instant>>,
    /// When each draw started, and how long it took.
    draws: Vec<(Instant, Duration)>,
}

impl<B> Timed<B> {
    fn new(inner: B) -> Self {
        Self {
            inner,
            start: std::cell::Cell::new(None),
            draws: Vec::new(),
        }
    }
}

fn io_err<E: std::error::Error + Send + Sync + 'static>(e: E) -> io::Error {
    io::Error::other(e)
}

impl<B: Backend> Backend for Timed<B>
where
    B::Error: Send + Sync + 'static,
{
    type Error = io::Error;

    fn draw<'a, I>(&mut self, content: I) -> io::Result<()>
    where
        I: Iterator<Item = (u16, u16, &'a Cell)>,
    {
        self.inner.draw(content).map_err(io_err)
    }
    fn hide_cursor(&mut self) -> io::Result<()> {
        self.inner.hide_cursor().map_err(io_err)
    }
    fn show_cursor(&mut self) -> io::Result<()> {
        self.inner.show_cursor().map_err(io_err)
    }
    fn get_cursor_position(&mut self) -> io::Result<Position> {
        self.inner.get_cursor_position().map_err(io_err)
    }
    fn set_cursor_position<P: Into<Position>>(&mut self, position: P) -> io::Result<()> {
        self.inner.set_cursor_position(position).map_err(io_err)
    }
    fn clear(&mut self) -> io::Result<()> {
        self.inner.clear().map_err(io_err)
    }
    fn clear_region(&mut self, clear_type: ClearType) -> io::Result<()> {
        self.inner.clear_region(clear_type).map_err(io_err)
    }
    fn size(&self) -> io::Result<Size> {
        self.start.set(Some(Instant::now()));
        self.inner.size().map_err(io_err)
    }
    fn window_size(&mut self) -> io::Result<WindowSize> {
        self.inner.window_size().map_err(io_err)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush().map_err(io_err)?;
        if let Some(start) = self.start.take() {
            self.draws.push((start, start.elapsed()));
        }
        Ok(())
    }
}

/// What the tap between the engine and the TUI saw.
#[derive(Debug, Default)]
struct Tapped {
    /// Highest `seq` + 1: events the engine produced.
    produced: u64,
    /// Most events waiting for the TUI at once (its queue holds `EVENT_QUEUE`).
    max_tui_depth: usize,
    /// Most events waiting in the engine's own queue at once, behind the tap.
    max_engine_depth: usize,
    first_token: Option<Instant>,
    finished: Option<Instant>,
    tokens: u64,
}

/// Terminal input that stays silent until `q` is sent through the returned sender.
fn keys() -> (
    mpsc::Sender<io::Result<TermEvent>>,
    impl Stream<Item = io::Result<TermEvent>> + Unpin,
) {
    let (tx, rx) = mpsc::channel(8);
    let stream = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|event| (event, rx))
    });
    (tx, Box::pin(stream))
}

fn key_q() -> io::Result<TermEvent> {
    Ok(TermEvent::Key(KeyEvent::new(
        KeyCode::Char('q'),
        KeyModifiers::NONE,
    )))
}

/// Puts a tap between a running session and the TUI: a queue of the same size as the engine's,
/// whose depth is sampled after every event, the events counted, and `q` pressed `linger`
/// after the session finished. The TUI sees the same events, in the same order, through a
/// queue of the same bound.
fn tapped(
    handle: SessionHandle,
    keys: mpsc::Sender<io::Result<TermEvent>>,
    linger: Duration,
) -> (SessionHandle, Arc<Mutex<Tapped>>) {
    let SessionHandle {
        session_id,
        mut events,
        commands,
        task,
    } = handle;
    let (tx, rx) = mpsc::channel(EVENT_QUEUE);
    let seen = Arc::new(Mutex::new(Tapped::default()));
    let probe = Arc::clone(&seen);
    tokio::spawn(async move {
        while let Some(event) = events.recv().await {
            let waiting = events.len() + 1;
            let now = Instant::now();
            let finished = matches!(event.kind, EventKind::SessionFinished { .. });
            {
                let mut s = probe.lock().expect("tap lock");
                s.produced = s.produced.max(event.seq + 1);
                s.max_engine_depth = s.max_engine_depth.max(waiting);
                if matches!(event.kind, EventKind::Token { .. }) {
                    s.tokens += 1;
                    s.first_token.get_or_insert(now);
                }
                if finished {
                    s.finished = Some(now);
                }
            }
            if tx.send(event).await.is_err() {
                break;
            }
            let depth = tx.max_capacity() - tx.capacity();
            {
                let mut s = probe.lock().expect("tap lock");
                s.max_tui_depth = s.max_tui_depth.max(depth);
            }
            if finished {
                let keys = keys.clone();
                tokio::spawn(async move {
                    tokio::time::sleep(linger).await;
                    let _ = keys.send(key_q()).await;
                });
            }
        }
    });
    let handle = SessionHandle {
        session_id,
        events: rx,
        commands,
        task,
    };
    (handle, seen)
}

struct LiveRun {
    stats: Stats,
    draws: Vec<(Instant, Duration)>,
    tap: Tapped,
    outcome: Option<Outcome>,
}

/// Runs `crew` on a `width` x `height` TestBackend through the real live loop, quitting
/// `linger` after the session finished.
async fn live_run(crew: Crew, width: u16, height: u16, linger: Duration) -> LiveRun {
    let agents = AgentInfo::from_crew(&crew);
    let name = crew.name.clone();
    let p = parts(&crew);
    let (keys_tx, input) = keys();
    let (handle, tap) = tapped(engine::start(crew, "go".into(), p), keys_tx, linger);
    let mut terminal = Terminal::new(Timed::new(TestBackend::new(width, height))).expect("term");
    let theme = Theme::default_dark();
    let (outcome, stats) = live::run(
        &mut terminal,
        input,
        &name,
        &agents,
        &[],
        Launch::Running(handle),
        &theme,
    )
    .await
    .expect("the live loop runs");
    let draws = std::mem::take(&mut terminal.backend_mut().draws);
    let tap = std::mem::take(&mut *tap.lock().expect("tap lock"));
    LiveRun {
        stats,
        draws,
        tap,
        outcome,
    }
}

// ---------------------------------------------------------------------------------------------
// 1. Streaming render

const RENDER_AGENTS: usize = 16;
const RENDER_RATE: f64 = 50.0;
const RENDER_SECONDS: f64 = 4.0;
/// Runs of the crewtui binary in a pseudo-terminal.
const PTY_RUNS: usize = 3;

fn render_item() {
    let rt = runtime();
    let tokens = (RENDER_RATE * RENDER_SECONDS) as usize;
    let (mut p50s, mut p99s, mut rates, mut maxes) = (vec![], vec![], vec![], vec![]);
    for _ in 0..runs() {
        let crew = load_crew(&fan_out_yaml(RENDER_AGENTS, tokens, RENDER_RATE));
        let run = rt.block_on(live_run(crew, 200, 50, Duration::from_millis(100)));
        let (Some(from), Some(to)) = (run.tap.first_token, run.tap.finished) else {
            panic!("the run streamed nothing: {:?}", run.tap);
        };
        let streaming: Vec<Duration> = run
            .draws
            .iter()
            .filter(|(at, _)| *at >= from && *at <= to)
            .map(|(_, d)| *d)
            .collect();
        p50s.push(percentile(&streaming, 0.50));
        p99s.push(percentile(&streaming, 0.99));
        maxes.push(percentile(&streaming, 1.0));
        rates.push(streaming.len() as f64 / (to - from).as_secs_f64());
        assert_eq!(run.outcome, Some(Outcome::Completed));
    }
    note(&format!(
        "{RENDER_AGENTS} agents in one parallel group, {tokens} tokens each at {RENDER_RATE}/s, \
         TestBackend 200x50 under live::run; draw = Terminal::draw (render + diff + flush)"
    ));
    row(
        "draw time p50 (median of runs)",
        ms(median(&p50s)),
        "",
        None,
    );
    row(
        "draw time p99 (median of runs)",
        ms(median(&p99s)),
        "< 4 ms",
        Some(median(&p99s) < Duration::from_millis(4)),
    );
    row(
        "draw time max (median of runs)",
        ms(median(&maxes)),
        "",
        None,
    );
    let rate = median(&rates);
    row(
        "draws per second while streaming",
        format!("{rate:.1}"),
        "<= 60",
        Some(rate <= 60.0),
    );
    let ptys: Vec<PtyRun> = (0..PTY_RUNS)
        .map(|_| pty_run(RENDER_SECONDS, Duration::ZERO))
        .collect();
    let of = |f: fn(&PtyRun) -> usize| median(&ptys.iter().map(f).collect::<Vec<_>>());
    row(
        "bytes per streaming frame p50 (real pty)",
        format!("{} B", of(|p| p.frame_p50)),
        "",
        None,
    );
    let p99 = of(|p| p.frame_p99);
    row(
        "bytes per streaming frame p99 (real pty)",
        format!("{p99} B"),
        "< 10 KB",
        Some(p99 < 10 * 1024),
    );
    row(
        "bytes per streaming frame max (real pty)",
        format!("{} B", of(|p| p.frame_max)),
        "",
        None,
    );
    let rate = median(&ptys.iter().map(|p| p.draws_per_second).collect::<Vec<_>>());
    row(
        "draws per second while streaming (real pty)",
        format!("{rate:.1}"),
        "<= 60",
        Some(rate <= 60.0),
    );
    note(&format!(
        "pty: the crewtui binary under `script`, 200x50, medians of {PTY_RUNS} runs of {} \
         streaming frames; the first (whole) frame is {} B",
        of(|p| p.frames),
        of(|p| p.first_frame)
    ));
}

/// What the real binary wrote to a real terminal.
struct PtyRun {
    frames: usize,
    first_frame: usize,
    frame_p50: usize,
    frame_p99: usize,
    frame_max: usize,
    draws_per_second: f64,
    idle_draws: usize,
    idle_bytes: usize,
    idle_cpu: Duration,
    idle_window: Duration,
}

/// Every frame ratatui draws ends by hiding the cursor (no input box is open in this run).
const FRAME_END: &[u8] = b"\x1b[?25l";
/// What crossterm asks a terminal to learn where the cursor is.
const CURSOR_QUERY: &[u8] = b"\x1b[6n";
/// The header once the run is over.
const FINISHED: &[u8] = b"group `all` finished";

fn find(hay: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    hay.get(from..)?
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|i| i + from)
}

/// Runs the crewtui binary in a pseudo-terminal (util-linux `script`), 200x50, on a 16-agent
/// fan-out streaming for `seconds`, then watches it `idle` after the run finished, and quits.
fn pty_run(seconds: f64, idle: Duration) -> PtyRun {
    let dir = scratch("pty");
    let tokens = (RENDER_RATE * seconds) as usize;
    let crew_path = dir.join("fan-out.yaml");
    std::fs::write(&crew_path, fan_out_yaml(RENDER_AGENTS, tokens, RENDER_RATE))
        .expect("crew file");
    let bin = env!("CARGO_BIN_EXE_crewtui");
    let command = format!(
        "stty cols 200 rows 50 && exec {bin} run {} --input go --sessions-dir {}",
        crew_path.display(),
        dir.join("sessions").display()
    );
    let mut script = Command::new("script")
        .args(["-q", "-c", &command, "/dev/null"])
        .env("TERM", "xterm-256color")
        .env("XDG_STATE_HOME", dir.join("state"))
        .env_remove("NO_COLOR")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("`script` (util-linux) runs");
    let mut out = script.stdout.take().expect("piped");
    let (tx, rx) = std::sync::mpsc::channel::<(Instant, Vec<u8>)>();
    std::thread::spawn(move || {
        let mut buf = vec![0u8; 1 << 16];
        loop {
            match out.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if tx.send((Instant::now(), buf[..n].to_vec())).is_err() {
                        break;
                    }
                }
            }
        }
    });
    let mut stdin = script.stdin.take().expect("piped");
    let (keys_tx, keys_rx) = std::sync::mpsc::channel::<Vec<u8>>();
    std::thread::spawn(move || {
        for keys in keys_rx {
            if stdin.write_all(&keys).and_then(|()| stdin.flush()).is_err() {
                break;
            }
        }
    });
    let answers = keys_tx.clone();
    let script_pid = script.id().to_string();
    let mut bytes: Vec<u8> = Vec::new();
    // (offset of the frame's end in `bytes`, when it arrived)
    let mut frame_ends: Vec<(usize, Instant)> = Vec::new();
    let mut receive = |bytes: &mut Vec<u8>, until: Instant| -> bool {
        let Ok((at, chunk)) = rx.recv_timeout(until.saturating_duration_since(Instant::now()))
        else {
            return false;
        };
        let from = bytes.len().saturating_sub(FRAME_END.len() - 1);
        bytes.extend_from_slice(&chunk);
        // `script` is no terminal emulator: answer crossterm's cursor position queries as
        // one would, or it gives up.
        let mut q = from;
        while let Some(at) = find(bytes, CURSOR_QUERY, q) {
            let _ = answers.send(b"\x1b[1;1R".to_vec());
            q = at + 1;
        }
        let mut i = from;
        while let Some(end) = find(bytes, FRAME_END, i) {
            frame_ends.push((end + FRAME_END.len(), at));
            i = end + 1;
        }
        true
    };
    let deadline = Instant::now() + Duration::from_secs_f64(seconds + 60.0);
    let mut crewtui_pid = None;
    let finished_at = loop {
        assert!(
            receive(&mut bytes, deadline),
            "the run never finished in the pty"
        );
        if crewtui_pid.is_none() {
            crewtui_pid = child_of(&script_pid);
        }
        if let Some(at) = find(&bytes, FINISHED, bytes.len().saturating_sub(1 << 16)) {
            break at;
        }
    };
    let pid = crewtui_pid
        .or_else(|| child_of(&script_pid))
        .expect("crewtui's pid");
    let idle_start = Instant::now();
    let cpu0 = cpu_ns(&pid);
    let idle_end = idle_start + idle;
    while Instant::now() < idle_end {
        receive(&mut bytes, idle_end);
    }
    let cpu1 = cpu_ns(&pid);
    let idle_window = idle_start.elapsed();
    let _ = keys_tx.send(b"q".to_vec());
    let quit_by = Instant::now() + Duration::from_secs(10);
    while receive(&mut bytes, quit_by) {}
    let _ = script.wait();
    if let Some(path) = std::env::var_os("PERF_PTY_DUMP") {
        let _ = std::fs::write(path, &bytes);
    }

    // The frame that showed the finished run is the last change; frames after it are idle.
    let last_change = frame_ends
        .iter()
        .position(|(end, _)| *end > finished_at)
        .expect("a frame shows the end");
    let idle_frames: Vec<usize> = frame_ends
        .iter()
        .skip(last_change + 1)
        .filter(|(_, at)| *at <= idle_end)
        .map(|(end, _)| *end)
        .collect();
    let idle_bytes = idle_frames
        .last()
        .map_or(0, |end| end - frame_ends[last_change].0);
    // Streaming frames: after the first two (the screen set up, the first paint) and before
    // the one that shows the end.
    let sizes: Vec<usize> = frame_ends
        .windows(2)
        .map(|w| w[1].0 - w[0].0)
        .take(last_change.saturating_sub(1))
        .skip(1)
        .collect();
    let mut sorted = sizes.clone();
    sorted.sort();
    let pick = |p: f64| {
        sorted
            .get(((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1)
            .copied()
            .unwrap_or(0)
    };
    let span = frame_ends[last_change].1 - frame_ends[1].1;
    PtyRun {
        frames: sizes.len(),
        first_frame: frame_ends[0].0,
        frame_p50: pick(0.5),
        frame_p99: pick(0.99),
        frame_max: pick(1.0),
        draws_per_second: sizes.len() as f64 / span.as_secs_f64(),
        idle_draws: idle_frames.len(),
        idle_bytes,
        idle_cpu: Duration::from_nanos(cpu1 - cpu0),
        idle_window,
    }
}

/// The pid of a process whose parent is `parent`.
fn child_of(parent: &str) -> Option<String> {
    std::fs::read_dir("/proc").ok()?.find_map(|entry| {
        let entry = entry.ok()?;
        let pid = entry.file_name().to_string_lossy().into_owned();
        let stat = std::fs::read_to_string(entry.path().join("stat")).ok()?;
        // `pid (comm) state ppid ...`; comm may hold spaces, so split after its `)`.
        let ppid = stat.rsplit_once(')')?.1.split_whitespace().nth(1)?;
        (ppid == parent).then_some(pid)
    })
}

// ---------------------------------------------------------------------------------------------
// 2. History scaling

fn history_pane(lines: usize) -> App {
    let agents = [AgentInfo {
        id: "scribe".into(),
        name: "Scribe".into(),
        role: "writes a lot".into(),
    }];
    let limits = PaneLimits {
        max_bytes: usize::MAX,
        max_lines: usize::MAX,
    };
    let mut app = App::new("history", &agents, limits);
    let mut seq = 0;
    let mut apply = |app: &mut App, kind: EventKind| {
        app.apply(&Event {
            seq,
            t_ms: seq,
            kind,
        });
        seq += 1;
    };
    apply(
        &mut app,
        EventKind::SessionStarted {
            session_id: "s".into(),
            crew: "history".into(),
            input: "go".into(),
        },
    );
    // Turns of 99 reply lines each (plus the turn's own line): many blocks, as a long
    // session has, not one giant one.
    let per_turn = 100;
    for turn in 0..lines / per_turn {
        apply(
            &mut app,
            EventKind::AgentStarted {
                agent: "scribe".into(),
                turn: turn as u32 + 1,
                input: "more".into(),
            },
        );
        let mut text = String::new();
        for line in 0..per_turn - 1 {
            text.push_str(&format!(
                "turn {turn} line {line}: the reply goes on, as long replies do, for a while\n"
            ));
        }
        text.pop();
        apply(
            &mut app,
            EventKind::Token {
                agent: "scribe".into(),
                text,
                reasoning: false,
            },
        );
        apply(
            &mut app,
            EventKind::Message {
                agent: "scribe".into(),
                content: String::new(),
                usage: None,
                finish_reason: Some("stop".into()),
                truncated: false,
            },
        );
    }
    // A reply still streaming at the end.
    apply(
        &mut app,
        EventKind::AgentStarted {
            agent: "scribe".into(),
            turn: 0,
            input: "more".into(),
        },
    );
    app
}

/// Median time of `n` draws of `app` in `scroll`, a token appended before each (as while
/// streaming).
fn time_draws(app: &mut App, scroll: Scroll, n: usize) -> Duration {
    let mut terminal = Terminal::new(TestBackend::new(200, 50)).expect("term");
    let mut view = View::new(app.panes.len());
    let theme = Theme::default_dark();
    view.scroll[0] = scroll;
    let token = Event {
        seq: 0,
        t_ms: 0,
        kind: EventKind::Token {
            agent: "scribe".into(),
            text: " word".into(),
            reasoning: false,
        },
    };
    // The first draw fills the wrap caches it needs; what is timed is the frames after it.
    terminal
        .draw(|f| render::draw(f, app, &mut view, &theme, 0))
        .expect("draw");
    let mut times = Vec::with_capacity(n);
    for _ in 0..n {
        app.apply(&token);
        let t = Instant::now();
        terminal
            .draw(|f| render::draw(f, app, &mut view, &theme, 0))
            .expect("draw");
        times.push(t.elapsed());
    }
    median(&times)
}

/// Where a mode scrolls a pane of so many lines.
type ScrollAt = fn(usize) -> Scroll;

fn history_item() {
    let t = Instant::now();
    let mut small = history_pane(1_000);
    let mut large = history_pane(1_000_000);
    note(&format!(
        "one pane, 200x50, no history limit; 1,000 vs 1,000,000 lines in turns of 100 \
         (built in {:.1} s); median of 200 draws per run, a token appended before each",
        t.elapsed().as_secs_f64()
    ));
    let modes: [(&str, ScrollAt); 3] = [
        ("following the newest line", |_| Scroll::Follow),
        ("scrolled up 500 lines", |total| Scroll::Top(total - 548)),
        ("scrolled to the top", |_| Scroll::Top(0)),
    ];
    {
        let mut terminal = Terminal::new(TestBackend::new(200, 50)).expect("term");
        let mut view = View::new(1);
        view.scroll[0] = Scroll::Top(0);
        let t = Instant::now();
        terminal
            .draw(|f| render::draw(f, &mut large, &mut view, &Theme::default_dark(), 0))
            .expect("draw");
        row(
            "first scrolled draw of 1M lines (wraps all once)",
            ms(t.elapsed()),
            "",
            None,
        );
    }
    for (label, scroll) in &modes {
        let (mut a, mut b) = (vec![], vec![]);
        for _ in 0..runs() {
            a.push(time_draws(&mut small, scroll(1_000), 200));
            b.push(time_draws(&mut large, scroll(1_000_000), 200));
        }
        let (a, b) = (median(&a), median(&b));
        let ratio = b.as_secs_f64() / a.as_secs_f64();
        row(
            &format!("{label}: 1k / 1M lines"),
            format!("{} / {}", ms(a), ms(b)),
            "",
            None,
        );
        row(
            &format!("{label}: ratio 1M / 1k"),
            format!("{ratio:.2}x"),
            "<= 1.2x",
            Some(ratio <= 1.2),
        );
    }
}

// ---------------------------------------------------------------------------------------------
// 3. Idle

const IDLE: Duration = Duration::from_secs(10);

fn idle_item() {
    let pty = pty_run(2.0, IDLE);
    note(&format!(
        "the crewtui binary in a pty (200x50) after a 16-agent run finished, watched for {:.1} s",
        pty.idle_window.as_secs_f64()
    ));
    row(
        "draws after the last change",
        pty.idle_draws.to_string(),
        "0",
        Some(pty.idle_draws == 0),
    );
    row(
        "bytes written after the last change",
        format!("{} B", pty.idle_bytes),
        "",
        None,
    );
    let share = pty.idle_cpu.as_secs_f64() / pty.idle_window.as_secs_f64();
    row(
        "CPU while idle (share of one core)",
        format!("{:.3} % ({})", share * 100.0, ms(pty.idle_cpu)),
        "< 1 %",
        Some(share < 0.01),
    );
}

// ---------------------------------------------------------------------------------------------
// 4. Engine overhead

const TURNS: usize = 1_000;
const TURN_TOKENS: usize = 20;

/// Runs a session to its end, counting events and turns, with nothing but a counter as the
/// front end.
async fn drain(mut handle: SessionHandle) -> (u64, u64, Option<Outcome>) {
    let (mut events, mut turns, mut outcome) = (0, 0, None);
    while let Some(event) = handle.events.recv().await {
        events += 1;
        match event.kind {
            EventKind::AgentStarted { .. } => turns += 1,
            EventKind::SessionFinished { outcome: o, .. } => outcome = Some(o),
            _ => {}
        }
    }
    let _ = handle.task.await;
    (events, turns, outcome)
}

/// Runs a session to its end as `crewtui run --headless` does: every event as a JSON line on
/// stdout (here /dev/null), flushed whenever no more events are waiting.
async fn drain_jsonl(mut handle: SessionHandle) -> (u64, u64, Option<Outcome>) {
    let null = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/null")
        .expect("/dev/null");
    let mut out = io::BufWriter::new(null);
    let (mut events, mut turns, mut outcome) = (0, 0, None);
    while let Some(event) = handle.events.recv().await {
        serde_json::to_writer(&mut out, &event).expect("encode");
        out.write_all(b"\n").expect("write");
        if handle.events.is_empty() {
            out.flush().expect("flush");
        }
        events += 1;
        match event.kind {
            EventKind::AgentStarted { .. } => turns += 1,
            EventKind::SessionFinished { outcome: o, .. } => outcome = Some(o),
            _ => {}
        }
    }
    let _ = handle.task.await;
    (events, turns, outcome)
}

fn engine_item() {
    let rt = runtime();
    let (mut turn_rates, mut event_rates, mut counts) = (vec![], vec![], (0, 0));
    for _ in 0..runs() {
        let crew = ring_crew(TURNS, TURN_TOKENS);
        let p = parts(&crew);
        let t = Instant::now();
        let (events, turns, outcome) =
            rt.block_on(async { drain(engine::start(crew, "go".into(), p)).await });
        let secs = t.elapsed().as_secs_f64();
        assert_eq!(outcome, Some(Outcome::Limit), "the ring runs to max_rounds");
        turn_rates.push(turns as f64 / secs);
        event_rates.push(events as f64 / secs);
        counts = (turns, events);
    }
    note(&format!(
        "a ring of 4 scripted agents, {} turns of {TURN_TOKENS} tokens, {} events per run, \
         no session file, a counting consumer",
        counts.0, counts.1
    ));
    row(
        "turns per second",
        format!("{:.0}", median(&turn_rates)),
        "",
        None,
    );
    row(
        "events per second",
        format!("{:.0}", median(&event_rates)),
        "",
        None,
    );
    row("peak RSS", mb(peak_rss()), "", None);
}

// ---------------------------------------------------------------------------------------------
// 5. Fan-out

fn fanout_item() {
    let rt = runtime();
    let (agents, rate, seconds) = (64, 200.0, 3.0);
    let tokens = (rate * seconds) as usize;
    let (mut depths, mut engine_depths, mut lost, mut kept_pace) = (vec![], vec![], 0, vec![]);
    let mut last = (0, 0);
    for _ in 0..runs() {
        let crew = load_crew(&fan_out_yaml(agents, tokens, rate));
        let run = rt.block_on(live_run(crew, 200, 50, Duration::from_millis(50)));
        assert_eq!(run.outcome, Some(Outcome::Completed));
        depths.push(run.tap.max_tui_depth);
        engine_depths.push(run.tap.max_engine_depth);
        lost += run.tap.produced - run.stats.events;
        last = (run.tap.produced, run.stats.events);
        let (Some(from), Some(to)) = (run.tap.first_token, run.tap.finished) else {
            panic!("nothing streamed");
        };
        kept_pace.push(run.tap.tokens as f64 / (to - from).as_secs_f64());
    }
    note(&format!(
        "{agents} agents in one parallel group, {tokens} tokens each at {rate}/s, the live \
         loop on a 200x50 TestBackend; a tap samples the TUI's queue after every event"
    ));
    let depth = *depths.iter().max().expect("runs");
    row(
        "largest TUI queue depth (max over runs)",
        format!("{depth} / {EVENT_QUEUE}"),
        &format!("< {EVENT_QUEUE}"),
        Some(depth < EVENT_QUEUE),
    );
    row(
        "largest engine queue depth behind the tap",
        format!("{}", engine_depths.iter().max().expect("runs")),
        "",
        None,
    );
    row(
        "tokens per second delivered (median)",
        format!(
            "{:.0} (asked {:.0})",
            median(&kept_pace),
            agents as f64 * rate
        ),
        "",
        None,
    );
    row(
        "events produced / delivered (last run)",
        format!("{} / {}", last.0, last.1),
        "",
        None,
    );
    row(
        "events lost (all runs)",
        lost.to_string(),
        "0",
        Some(lost == 0),
    );
}

// ---------------------------------------------------------------------------------------------
// 6. Memory

const MEMORY_AGENTS: usize = 16;
const MEMORY_TOKENS: usize = 1_000_000;

fn memory_item() {
    let rt = runtime();
    let baseline = peak_rss();
    let t = Instant::now();
    let (stats, draws, events) = rt.block_on(async {
        let ids: Vec<String> = (0..MEMORY_AGENTS).map(|i| format!("a{i:02}")).collect();
        let agents: Vec<AgentInfo> = ids
            .iter()
            .map(|id| AgentInfo {
                id: id.clone(),
                name: id.clone(),
                role: "streams".into(),
            })
            .collect();
        let (tx, rx) = mpsc::channel(EVENT_QUEUE);
        let (commands, _command_rx) = mpsc::channel(64);
        let (keys_tx, input) = keys();
        let producer_ids = ids.clone();
        let task = tokio::spawn(async move {
            let mut seq = 0u64;
            let t0 = Instant::now();
            let mut send = |kind: EventKind| {
                let event = Event {
                    seq,
                    t_ms: t0.elapsed().as_millis() as u64,
                    kind,
                };
                seq += 1;
                event
            };
            let ids = producer_ids;
            let _ = tx
                .send(send(EventKind::SessionStarted {
                    session_id: "memory".into(),
                    crew: "memory".into(),
                    input: "go".into(),
                }))
                .await;
            let _ = tx
                .send(send(EventKind::ParallelStarted {
                    group: "all".into(),
                    agents: ids.clone(),
                }))
                .await;
            for id in &ids {
                let _ = tx
                    .send(send(EventKind::AgentStarted {
                        agent: id.clone(),
                        turn: 1,
                        input: "go".into(),
                    }))
                    .await;
            }
            for i in 0..MEMORY_TOKENS {
                for id in &ids {
                    let sep = if i % 47 == 46 { "\n" } else { " " };
                    let text = format!("{sep}{}", WORDS[(i * 7 + id.len()) % WORDS.len()]);
                    let _ = tx
                        .send(send(EventKind::Token {
                            agent: id.clone(),
                            text,
                            reasoning: false,
                        }))
                        .await;
                }
            }
            for id in &ids {
                let _ = tx
                    .send(send(EventKind::Message {
                        agent: id.clone(),
                        // The TUI shows streamed text, not this: the whole reply would only
                        // measure the producer.
                        content: String::new(),
                        usage: Some(Usage {
                            prompt_tokens: 10,
                            completion_tokens: MEMORY_TOKENS as u64,
                        }),
                        finish_reason: Some("stop".into()),
                        truncated: false,
                    }))
                    .await;
            }
            let _ = tx
                .send(send(EventKind::SessionFinished {
                    outcome: Outcome::Completed,
                    reason: "done".into(),
                }))
                .await;
            tokio::time::sleep(Duration::from_millis(100)).await;
            let _ = keys_tx.send(key_q()).await;
            Outcome::Completed
        });
        let handle = SessionHandle {
            session_id: "memory".into(),
            events: rx,
            commands,
            task,
        };
        let mut terminal = Terminal::new(Timed::new(TestBackend::new(200, 50))).expect("term");
        let theme = Theme::default_dark();
        let (_, stats) = live::run(
            &mut terminal,
            input,
            "memory",
            &agents,
            &[],
            Launch::Running(handle),
            &theme,
        )
        .await
        .expect("live loop");
        let draws = std::mem::take(&mut terminal.backend_mut().draws);
        (stats, draws, MEMORY_AGENTS * MEMORY_TOKENS)
    });
    let peak = peak_rss();
    note(&format!(
        "{MEMORY_AGENTS} panes, {events} token events folded by live::run on a 200x50 \
         TestBackend ({} events, {} draws, {:.1} s), default pane limits (2 MiB / 100k lines)",
        stats.events,
        stats.draws,
        t.elapsed().as_secs_f64()
    ));
    let p99 = percentile(&draws.iter().map(|d| d.1).collect::<Vec<_>>(), 0.99);
    row("draw time p99 during the flood", ms(p99), "", None);
    row(
        "peak RSS (VmHWM)",
        mb(peak),
        "< 200 MB",
        Some(peak < 200_000_000),
    );
    note(&format!("before the run: {}", mb(baseline)));
}

// ---------------------------------------------------------------------------------------------
// 7. Replay

const REPLAY_EVENTS: usize = 1_000_000;

/// Writes a session of `n` events: rounds of a lead thinking and calling a tool, a parallel
/// group of four streaming interleaved, and a hand-off, until `n` events are written.
fn write_session(path: &Path, n: usize) -> Crew {
    let ids = ["lead", "market", "tech", "risks", "legal"];
    let mut yaml = String::from(
        "name: bench-replay\nentry_point: lead\n\
         routing:\n  signals:\n    lead: [{signal: \"[GO]\", target: team}]\n  \
         parallel_groups:\n    team: {agents: [market, tech, risks, legal], next_agent: lead}\n\
         agents:\n",
    );
    for id in ids {
        yaml.push_str(&format!(
            "  - {{id: {id}, provider: scripted, tools: [calculator]}}\n"
        ));
    }
    let crew = load_crew(&yaml);
    let header = Header::new("bench-replay", &crew, "go", SystemTime::now());
    let file = std::fs::File::create(path).expect("session file");
    let mut out = io::BufWriter::new(file);
    serde_json::to_writer(&mut out, &header).expect("header");
    out.write_all(b"\n").expect("write");
    let seq = std::cell::Cell::new(0u64);
    let emit = |out: &mut io::BufWriter<std::fs::File>, kind: EventKind| {
        let n = seq.get();
        let event = Event {
            seq: n,
            t_ms: n * 5,
            kind,
        };
        seq.set(n + 1);
        serde_json::to_writer(&mut *out, &event).expect("event");
        out.write_all(b"\n").expect("write");
    };
    emit(
        &mut out,
        EventKind::SessionStarted {
            session_id: "bench-replay".into(),
            crew: "bench-replay".into(),
            input: "go".into(),
        },
    );
    let mut round = 0u32;
    let mut written = 1;
    let words = reply_text(400, 7);
    let tokens: Vec<&str> = words.split_inclusive(' ').collect();
    while written + 2_000 < n {
        round += 1;
        emit(
            &mut out,
            EventKind::AgentStarted {
                agent: "lead".into(),
                turn: round,
                input: "continue".into(),
            },
        );
        emit(
            &mut out,
            EventKind::ToolCall {
                agent: "lead".into(),
                call_id: format!("c{round}"),
                tool: "calculator".into(),
                arguments: serde_json::json!({"expression": "6*7"}),
            },
        );
        emit(
            &mut out,
            EventKind::ToolResult {
                agent: "lead".into(),
                call_id: format!("c{round}"),
                tool: "calculator".into(),
                output: "42".into(),
                elapsed_ms: 1,
                truncated: false,
            },
        );
        emit(
            &mut out,
            EventKind::ParallelStarted {
                group: "team".into(),
                agents: ids[1..].iter().map(|s| s.to_string()).collect(),
            },
        );
        for id in &ids[1..] {
            emit(
                &mut out,
                EventKind::AgentStarted {
                    agent: id.to_string(),
                    turn: round,
                    input: "research".into(),
                },
            );
        }
        for token in &tokens {
            for id in &ids[1..] {
                emit(
                    &mut out,
                    EventKind::Token {
                        agent: id.to_string(),
                        text: token.to_string(),
                        reasoning: false,
                    },
                );
            }
        }
        for id in &ids[1..] {
            emit(
                &mut out,
                EventKind::Message {
                    agent: id.to_string(),
                    content: words.clone(),
                    usage: Some(Usage {
                        prompt_tokens: 100,
                        completion_tokens: 400,
                    }),
                    finish_reason: Some("stop".into()),
                    truncated: false,
                },
            );
        }
        emit(
            &mut out,
            EventKind::ParallelFinished {
                group: "team".into(),
                completed: ids[1..].iter().map(|s| s.to_string()).collect(),
                failed: vec![],
                timed_out: vec![],
            },
        );
        emit(
            &mut out,
            EventKind::Handoff {
                from: "team".into(),
                to: "lead".into(),
                reason: engine::HandoffReason::ParallelNext,
                signal: None,
            },
        );
        written = seq.get() as usize;
    }
    while (seq.get() as usize) < n - 1 {
        emit(
            &mut out,
            EventKind::Token {
                agent: "lead".into(),
                text: " tail".into(),
                reasoning: false,
            },
        );
    }
    emit(
        &mut out,
        EventKind::SessionFinished {
            outcome: Outcome::Completed,
            reason: "done".into(),
        },
    );
    out.flush().expect("flush");
    crew
}

/// Parses every line after the header as an event, as plainly as serde_json allows.
fn parse_baseline(path: &Path) -> (Duration, Duration) {
    let parse = |typed: bool| {
        let t = Instant::now();
        let mut reader =
            BufReader::with_capacity(1 << 16, std::fs::File::open(path).expect("open"));
        let mut line = Vec::new();
        let mut n = 0usize;
        reader.read_until(b'\n', &mut line).expect("header");
        loop {
            line.clear();
            if reader.read_until(b'\n', &mut line).expect("read") == 0 {
                break;
            }
            if typed {
                let _: Event = serde_json::from_slice(&line).expect("an event");
            } else {
                let _: serde::de::IgnoredAny = serde_json::from_slice(&line).expect("JSON");
            }
            n += 1;
        }
        assert_eq!(n, REPLAY_EVENTS);
        t.elapsed()
    };
    (parse(true), parse(false))
}

struct ReplayTimes {
    first_frame: Duration,
    cold_seeks: Duration,
    indexed: Duration,
    seek_half: Duration,
    seek_back: Duration,
}

fn replay_draw(
    terminal: &mut Terminal<TestBackend>,
    replayer: &mut Replayer,
    view: &mut View,
    theme: &Theme,
) {
    view.mode = Mode::Replay(Timeline {
        position: replayer.position,
        total: replayer.len(),
        playing: false,
        speed: Some(1.0),
        t_ms: replayer.t_ms(),
        total_ms: replayer.total_ms(),
    });
    view.sync(&replayer.app);
    let now_ms = replayer.t_ms();
    terminal
        .draw(|f| render::draw(f, &mut replayer.app, view, theme, now_ms))
        .expect("draw");
}

/// The replay TUI's steps, timed: open the file and draw the first frame, build the whole
/// index, seek to 50 % and back to 10 % with a frame after each.
fn replay_once(path: &Path) -> ReplayTimes {
    let theme = Theme::default_dark();
    let mut terminal = Terminal::new(TestBackend::new(200, 50)).expect("term");
    let t = Instant::now();
    let recording = session::read(path).expect("the session reads");
    let agents = AgentInfo::from_crew(&recording.header.crew);
    let app = App::new(&recording.header.crew_name, &agents, PaneLimits::default());
    let mut replayer = Replayer::new(app, recording.events);
    let mut view = View::new(replayer.app.panes.len());
    replay_draw(&mut terminal, &mut replayer, &mut view, &theme);
    let first_frame = t.elapsed();
    let len = replayer.len();
    replayer.seek(len);
    let indexed = t.elapsed();
    let t = Instant::now();
    replayer.seek(len / 2);
    replay_draw(&mut terminal, &mut replayer, &mut view, &theme);
    let seek_half = t.elapsed();
    let t = Instant::now();
    replayer.seek(len / 10);
    replay_draw(&mut terminal, &mut replayer, &mut view, &theme);
    let seek_back = t.elapsed();
    // What a user who jumps before the index is built meets: a fresh replayer (the file read
    // again, untimed) has no snapshot yet, so the first seek folds from the start.
    let recording = session::read(path).expect("the session reads");
    let app = App::new(&recording.header.crew_name, &agents, PaneLimits::default());
    let mut fresh = Replayer::new(app, recording.events);
    let t = Instant::now();
    fresh.seek(len / 2);
    replay_draw(&mut terminal, &mut fresh, &mut view, &theme);
    fresh.seek(len / 10);
    replay_draw(&mut terminal, &mut fresh, &mut view, &theme);
    let cold_seeks = t.elapsed();
    ReplayTimes {
        first_frame,
        cold_seeks,
        indexed,
        seek_half,
        seek_back,
    }
}

fn replay_item() {
    let dir = scratch("replay");
    let path = dir.join("session.jsonl");
    let t = Instant::now();
    write_session(&path, REPLAY_EVENTS);
    let size = std::fs::metadata(&path).expect("written").len();
    note(&format!(
        "a generated session: {REPLAY_EVENTS} events, {} on disk (written in {:.1} s); frames \
         on a 200x50 TestBackend",
        mb(size),
        t.elapsed().as_secs_f64()
    ));
    let (mut typed, mut ignored, mut first, mut indexed, mut half, mut back, mut both) =
        (vec![], vec![], vec![], vec![], vec![], vec![], vec![]);
    let mut cold = vec![];
    for _ in 0..runs() {
        let (a, b) = parse_baseline(&path);
        typed.push(a);
        ignored.push(b);
        let r = replay_once(&path);
        first.push(r.first_frame);
        indexed.push(r.indexed);
        half.push(r.seek_half);
        back.push(r.seek_back);
        both.push(r.seek_half + r.seek_back);
        cold.push(r.cold_seeks);
    }
    let base = median(&typed);
    let ratio = |d: Duration| format!("{:.2}x", d.as_secs_f64() / base.as_secs_f64());
    row(
        "baseline: serde_json parse, every line an Event",
        ms(base),
        "",
        None,
    );
    row(
        "baseline: serde_json parse, IgnoredAny",
        ms(median(&ignored)),
        "",
        None,
    );
    let f = median(&first);
    row(
        "time to first frame",
        format!("{} ({})", ms(f), ratio(f)),
        "< 1 s",
        Some(f < Duration::from_secs(1)),
    );
    let i = median(&indexed);
    row(
        "time to a full index",
        format!("{} ({})", ms(i), ratio(i)),
        "< 2 s",
        Some(i < Duration::from_secs(2)),
    );
    row("seek to 50 % (+ frame)", ms(median(&half)), "", None);
    row("seek back to 10 % (+ frame)", ms(median(&back)), "", None);
    let s = median(&both);
    row(
        "seek to 50 % and back to 10 %",
        ms(s),
        "< 200 ms",
        Some(s < Duration::from_millis(200)),
    );
    let c = median(&cold);
    row(
        "the same two seeks before any index exists",
        ms(c),
        "< 200 ms",
        Some(c < Duration::from_millis(200)),
    );
    row("peak RSS", mb(peak_rss()), "", None);
}

// ---------------------------------------------------------------------------------------------
// 8. Recording

/// The session file, counting its fsyncs where the bench can read them.
struct CountingLog {
    recorder: Recorder,
    fsyncs: Arc<AtomicU64>,
}

impl EventLog for CountingLog {
    fn record(&mut self, event: &Event) -> io::Result<()> {
        let result = self.recorder.record(event);
        self.fsyncs.store(self.recorder.fsyncs(), Ordering::Relaxed);
        result
    }
}

struct Measured {
    cpu: Duration,
    wall: Duration,
    fsyncs: u64,
}

/// One headless run of `crew`, with or without a session file; `jsonl` prints the events as
/// the headless CLI does, else they are only counted.
fn headless_run(
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
const RECORDING_AGENTS: usize = 64;
const RECORDING_STREAM_SECONDS: f64 = 3.0;

fn recording_item() {
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
    let rate = median(
        &per[&true]
            .iter()
            .map(|m| m.fsyncs as f64 / m.wall.as_secs_f64())
            .collect::<Vec<_>>(),
    );
    row(
        "fsyncs per second",
        format!("{rate:.1} ({} per run)", per[&true][0].fsyncs),
        "",
        None,
    );
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
    let rate = median(
        &per[&true]
            .iter()
            .map(|m| m.fsyncs as f64 / m.wall.as_secs_f64())
            .collect::<Vec<_>>(),
    );
    row(
        "fsyncs per second",
        format!("{rate:.1} ({} per run)", per[&true][0].fsyncs),
        "",
        None,
    );
}
