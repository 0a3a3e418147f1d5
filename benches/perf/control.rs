//! Item 13: a gate reached and left through `--control -`, the real binary headless, timed by
//! the process that answers its gates: from writing `continue` to reading what comes next.

use super::*;

/// Gates per run of the binary.
const GATES: usize = 1_000;

/// What a gate may take, continue to the next event.
const GATE_BUDGET: Duration = Duration::from_millis(1);

/// One agent that calls `calculator` `calls` times, one call per model call, then replies.
fn tool_loop_yaml(calls: usize) -> String {
    let mut yaml = format!(
        "name: gate-loop\nentry_point: solo\ninput: add up\n\
         settings: {{max_rounds: {rounds}, timeout_seconds: 3600, scripted_tokens_per_second: 0, \
         max_tool_calls_per_turn: {calls}}}\n\
         agents:\n  - id: solo\n    provider: scripted\n    tools: [calculator]\n    script:\n",
        // Model calls in one turn count as rounds.
        rounds = calls + 1
    );
    for i in 0..calls {
        yaml.push_str(&format!(
            "      - {{reply: \"adding {i}\", tool_calls: [{{tool: calculator, \
             arguments: {{expression: \"{i}+1\"}}}}]}}\n"
        ));
    }
    yaml.push_str("      - {reply: \"all added\"}\n");
    yaml
}

/// What one run of the binary gave.
struct Driven {
    /// From writing each `continue` to reading the line after it.
    next_line: Vec<Duration>,
    /// From writing each `continue` to reading the next `gate`.
    next_gate: Vec<Duration>,
}

/// Runs the binary on `crew` with a breakpoint on every calculator call and answers each gate
/// with `continue` on its stdin as soon as the gate's line is read.
fn drive(crew: &Path, sessions: &Path) -> Driven {
    let errors = sessions.with_extension("stderr");
    let mut child = Command::new(env!("CARGO_BIN_EXE_crewtui"))
        .arg("run")
        .arg(crew)
        .args(["--headless", "--break", "tool:calculator", "--control", "-"])
        .arg("--sessions-dir")
        .arg(sessions)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&errors).expect("a file for stderr"))
        .env("XDG_STATE_HOME", std::env::temp_dir())
        .spawn()
        .expect("crewtui runs");
    let mut stdin = child.stdin.take().expect("piped");
    let mut out = BufReader::new(child.stdout.take().expect("piped"));
    let (mut next_line, mut next_gate) = (Vec::new(), Vec::new());
    let mut continued: Option<Instant> = None;
    let mut awaiting_line = false;
    let mut line = String::new();
    let mut finished = None;
    loop {
        line.clear();
        if out.read_line(&mut line).expect("crewtui's stdout") == 0 {
            break;
        }
        let now = Instant::now();
        if awaiting_line && let Some(at) = continued {
            next_line.push(now - at);
            awaiting_line = false;
        }
        let event: serde_json::Value = serde_json::from_str(&line).expect("one event a line");
        match event["type"].as_str() {
            Some("gate") => {
                if let Some(at) = continued.take() {
                    next_gate.push(now - at);
                }
                let command = serde_json::json!({"op": "continue", "gate": event["gate"]});
                stdin
                    .write_all(format!("{command}\n").as_bytes())
                    .expect("crewtui reads its control input");
                continued = Some(Instant::now());
                awaiting_line = true;
            }
            Some("session_finished") => finished = event["outcome"].as_str().map(String::from),
            _ => {}
        }
    }
    drop(stdin);
    let status = child.wait().expect("crewtui ends");
    assert!(
        status.success(),
        "the gate loop ended {status}: {}",
        std::fs::read_to_string(&errors).unwrap_or_default()
    );
    assert_eq!(finished.as_deref(), Some("completed"), "the run completed");
    assert_eq!(
        next_line.len(),
        GATES,
        "every gate was reached and continued"
    );
    Driven {
        next_line,
        next_gate,
    }
}

/// The same crew run with no breakpoint and no control input: its wall time per tool call is
/// what the engine spends between two gates without stopping at them.
fn ungated(crew: &Path, sessions: &Path) -> Duration {
    let t = Instant::now();
    let status = Command::new(env!("CARGO_BIN_EXE_crewtui"))
        .arg("run")
        .arg(crew)
        .arg("--headless")
        .arg("--sessions-dir")
        .arg(sessions)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .env("XDG_STATE_HOME", std::env::temp_dir())
        .status()
        .expect("crewtui runs");
    assert!(status.success(), "the ungated loop finished: {status}");
    t.elapsed() / GATES as u32
}

pub(crate) fn control_item() {
    let dir = scratch("control");
    let crew = dir.join("gate-loop.yaml");
    std::fs::write(&crew, tool_loop_yaml(GATES)).expect("crew file");
    let sessions = dir.join("sessions");
    let (mut next_line, mut next_gate, mut medians) = (Vec::new(), Vec::new(), Vec::new());
    let mut first_last = Vec::new();
    for _ in 0..runs() {
        let _ = std::fs::remove_dir_all(&sessions);
        let run = drive(&crew, &sessions);
        medians.push(ms(percentile(&run.next_line, 0.5)));
        first_last.push(format!(
            "{} / {}",
            ms(percentile(&run.next_line[..100], 0.5)),
            ms(percentile(&run.next_line[GATES - 100..], 0.5))
        ));
        next_line.extend(run.next_line);
        next_gate.extend(run.next_gate);
    }
    note(&format!(
        "`crewtui run --headless --break tool:calculator --control -` on one scripted agent \
         making {GATES} calculator calls at rate 0, each gate answered on stdin as its line is \
         read; {} runs, every gate pooled",
        runs()
    ));
    note(&format!(
        "median of each run: {}; first 100 / last 100 gates of each: {}",
        medians.join(", "),
        first_last.join(", ")
    ));
    let p50 = percentile(&next_line, 0.5);
    row(
        "continue to the next event line, median",
        ms(p50),
        &format!("< {} ms", GATE_BUDGET.as_millis()),
        Some(p50 < GATE_BUDGET),
    );
    row(
        "continue to the next event line, p90",
        ms(percentile(&next_line, 0.9)),
        "",
        None,
    );
    row(
        "continue to the next event line, max",
        ms(*next_line.iter().max().expect("gates")),
        "",
        None,
    );
    row(
        "continue to the next gate, median / p90",
        format!(
            "{} / {}",
            ms(percentile(&next_gate, 0.5)),
            ms(percentile(&next_gate, 0.9))
        ),
        "",
        None,
    );
    let per_call: Vec<Duration> = (0..runs())
        .map(|_| {
            let _ = std::fs::remove_dir_all(&sessions);
            ungated(&crew, &sessions)
        })
        .collect();
    row(
        "same crew, no gates: wall time per tool call",
        ms(median(&per_call)),
        "",
        None,
    );
    // Each gate is durable: the session file is synced before the gate's line is printed.
    // On tmpfs a sync costs nothing, which shows what the syncs add.
    let shm = Path::new("/dev/shm");
    if shm.is_dir() {
        let sessions = shm.join(format!("crewtui-perf-{}", std::process::id()));
        let mut pooled = Vec::new();
        for _ in 0..runs() {
            let _ = std::fs::remove_dir_all(&sessions);
            pooled.extend(drive(&crew, &sessions).next_line);
        }
        let _ = std::fs::remove_dir_all(&sessions);
        let _ = std::fs::remove_file(sessions.with_extension("stderr"));
        row(
            "same, session file on tmpfs: median / p90",
            format!(
                "{} / {}",
                ms(percentile(&pooled, 0.5)),
                ms(percentile(&pooled, 0.9))
            ),
            "",
            None,
        );
    }
}
