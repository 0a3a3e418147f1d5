//! crewtui's performance figures and the budgets they must meet (issue 6).
//!
//! `cargo bench --bench perf` runs every item; `cargo bench --bench perf -- NAME...` runs the
//! named ones (render, history, idle, engine, fanout, memory, replay, recording, linear,
//! cancel, many, gates, control). Each item runs in a child process of this binary
//! (`perf --child NAME`), so a peak RSS belongs to one scenario and nothing one item allocates
//! slows the next. Timing budgets live here and only here: the test suite checks behaviour,
//! never speed.
//!
//! Timed figures are medians over `PERF_RUNS` runs (default 5). CPU time is the sum of the
//! per-thread `/proc/PID/task/*/schedstat` run times (nanoseconds); peak RSS is `VmHWM` from
//! `/proc/self/status`. `PERF_PTY_DUMP=FILE` keeps what the binary wrote to the pseudo-terminal.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use crewtui::config::model::{Crew, ScriptStep};
use crewtui::engine::Run;
use crewtui::engine::run::{AgentInfo, Ledger, Terms, TimelineLimits};
use crewtui::engine::{
    self, EVENT_QUEUE, Event, EventKind, EventLog, Outcome, SessionHandle, SessionParts, Usage,
};
use crewtui::session::Playback;
use crewtui::session::{self, Clock, Counters, Header, Printer, Recorder};
use crewtui::tui::live::{self, Launch, Stats};
use crewtui::tui::render;
use crewtui::tui::theme::Theme;
use crewtui::tui::view::{Mode, Scroll, Timeline, View};
use crossterm::event::{Event as TermEvent, KeyCode, KeyEvent, KeyModifiers};
use futures_util::Stream;
use ratatui::Terminal;
use ratatui::backend::{Backend, ClearType, TestBackend, WindowSize};
use ratatui::buffer::Cell;
use ratatui::layout::{Position, Size};
use tokio::sync::mpsc;

mod cancel;
mod control;
mod crews;
#[path = "../../tests/common/fake_openai.rs"]
mod fake_openai;
mod fanout;
mod gates;
mod harness;
mod history;
mod idle;
mod linear;
mod measure;
mod memory;
mod overhead;
mod recording;
mod replay;
mod report;
mod streaming;

use cancel::*;
use control::*;
use crews::*;
use fanout::*;
use gates::*;
use harness::*;
use history::*;
use idle::*;
use linear::*;
use measure::*;
use memory::*;
use overhead::*;
use recording::*;
use replay::*;
use report::*;
use streaming::*;

const ITEMS: [(&str, &str); 13] = [
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
    (
        "linear",
        "9. linear growth: a two-agent ping-pong, 250 / 1,000 / 2,000 turns, real binary",
    ),
    (
        "cancel",
        "10. cancel: a hanging tool, a stalled stream, on the wall clock",
    ),
    (
        "many",
        "11. watching many: 40 priced agents x 50 tokens/s, 200x50",
    ),
    (
        "gates",
        "12. gates unarmed: the ping-pong at rate 0, no breakpoint vs one that never matches",
    ),
    (
        "control",
        "13. control: 1,000 gates reached and continued through --control -, real binary",
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
        "linear" => linear_item(),
        "cancel" => cancel_item(),
        "many" => many_item(),
        "gates" => gates_item(),
        "control" => control_item(),
        other => panic!("no item {other}"),
    }
    // The scratch files (an 83 MB session among them) go with the child that made them.
    let _ = std::fs::remove_dir_all(
        std::env::temp_dir().join(format!("crewtui-perf-{}", std::process::id())),
    );
}
