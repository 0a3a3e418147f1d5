//! Item 1: streaming render, on TestBackend and in a real pseudo-terminal.

use super::*;

pub(crate) const RENDER_AGENTS: usize = 16;
pub(crate) const RENDER_RATE: f64 = 50.0;
pub(crate) const RENDER_SECONDS: f64 = 4.0;
/// Runs of the crewtui binary in a pseudo-terminal.
pub(crate) const PTY_RUNS: usize = 3;

/// Draw times while a fan-out of `agents` streams (`model` priced, when given), each run's p50,
/// p99 and max, and draws per second.
pub(crate) fn streaming_draws(
    agents: usize,
    model: Option<&str>,
) -> (Vec<Duration>, Vec<Duration>, Vec<Duration>, Vec<f64>) {
    let rt = runtime();
    let tokens = (RENDER_RATE * RENDER_SECONDS) as usize;
    let (mut p50s, mut p99s, mut rates, mut maxes) = (vec![], vec![], vec![], vec![]);
    for _ in 0..runs() {
        let mut yaml = fan_out_yaml(agents, tokens, RENDER_RATE);
        if let Some(model) = model {
            yaml = yaml.replace(
                "provider: scripted,",
                &format!("provider: scripted, model: {model},"),
            );
        }
        let crew = load_crew(&yaml);
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
    (p50s, p99s, maxes, rates)
}

pub(crate) fn render_item() {
    let tokens = (RENDER_RATE * RENDER_SECONDS) as usize;
    let (p50s, p99s, maxes, rates) = streaming_draws(RENDER_AGENTS, None);
    note(&format!(
        "{RENDER_AGENTS} agents in one parallel group, {tokens} tokens each at {RENDER_RATE}/s, \
         TestBackend 200x50 under live::run; draw = Terminal::draw (render + diff + flush)"
    ));
    draw_rows(&p50s, &p99s, Some(&maxes), &rates);
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

/// The draw-time rows and their budgets: p50, p99 (< 4 ms), max when given, draws a second
/// (<= 60).
fn draw_rows(p50s: &[Duration], p99s: &[Duration], maxes: Option<&[Duration]>, rates: &[f64]) {
    row("draw time p50 (median of runs)", ms(median(p50s)), "", None);
    row(
        "draw time p99 (median of runs)",
        ms(median(p99s)),
        "< 4 ms",
        Some(median(p99s) < Duration::from_millis(4)),
    );
    if let Some(maxes) = maxes {
        row(
            "draw time max (median of runs)",
            ms(median(maxes)),
            "",
            None,
        );
    }
    let rate = median(rates);
    row(
        "draws per second while streaming",
        format!("{rate:.1}"),
        "<= 60",
        Some(rate <= 60.0),
    );
}

/// Agents streaming at once in the "watching many" item.
pub(crate) const MANY_AGENTS: usize = 40;

/// Item 10: forty agents streaming, each on a priced model, drawn at 200x50: the grid, the
/// titles fitted, the header's counts and live cost.
pub(crate) fn many_item() {
    let tokens = (RENDER_RATE * RENDER_SECONDS) as usize;
    let (p50s, p99s, _, rates) = streaming_draws(MANY_AGENTS, Some("gpt-4o-mini"));
    note(&format!(
        "{MANY_AGENTS} agents in one parallel group on gpt-4o-mini, {tokens} tokens each at \
         {RENDER_RATE}/s, TestBackend 200x50 under live::run (a grid of 8 x 5 panes)"
    ));
    draw_rows(&p50s, &p99s, None, &rates);
}

/// What the real binary wrote to a real terminal.
pub(crate) struct PtyRun {
    pub(crate) frames: usize,
    pub(crate) first_frame: usize,
    pub(crate) frame_p50: usize,
    pub(crate) frame_p99: usize,
    pub(crate) frame_max: usize,
    pub(crate) draws_per_second: f64,
    pub(crate) idle_draws: usize,
    pub(crate) idle_bytes: usize,
    pub(crate) idle_cpu: Duration,
    pub(crate) idle_window: Duration,
}

/// Every frame ratatui draws ends by hiding the cursor (no input box is open in this run).
pub(crate) const FRAME_END: &[u8] = b"\x1b[?25l";
/// What crossterm asks a terminal to learn where the cursor is.
pub(crate) const CURSOR_QUERY: &[u8] = b"\x1b[6n";
/// The header once the run is over.
pub(crate) const FINISHED: &[u8] = b"group `all` finished";

pub(crate) fn find(hay: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    hay.get(from..)?
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|i| i + from)
}

/// Runs the crewtui binary in a pseudo-terminal (util-linux `script`), 200x50, on a 16-agent
/// fan-out streaming for `seconds`, then watches it `idle` after the run finished, and quits.
pub(crate) fn pty_run(seconds: f64, idle: Duration) -> PtyRun {
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
pub(crate) fn child_of(parent: &str) -> Option<String> {
    std::fs::read_dir("/proc").ok()?.find_map(|entry| {
        let entry = entry.ok()?;
        let pid = entry.file_name().to_string_lossy().into_owned();
        let stat = std::fs::read_to_string(entry.path().join("stat")).ok()?;
        // `pid (comm) state ppid ...`; comm may hold spaces, so split after its `)`.
        let ppid = stat.rsplit_once(')')?.1.split_whitespace().nth(1)?;
        (ppid == parent).then_some(pid)
    })
}
