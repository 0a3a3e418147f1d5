//! Item 9: session files and runs that grow with what happened, not its square — a two-agent
//! ping-pong at rate 0, run and replayed by the real binary.

use std::ffi::OsStr;

use super::*;

/// Two agents handing a ~70-byte reply back and forth for `turns` turns, at rate 0.
pub(crate) fn ping_pong_yaml(turns: usize) -> String {
    let mut yaml = format!(
        "name: ping-pong\nentry_point: ping\ninput: start\n\
         settings: {{max_handoffs: 1000000, max_rounds: {turns}, timeout_seconds: 3600, \
         scripted_tokens_per_second: 0}}\nagents:\n"
    );
    for (id, next) in [("ping", "pong"), ("pong", "ping")] {
        yaml.push_str(&format!(
            "  - id: {id}\n    provider: scripted\n    handoff_targets: [{next}]\n    script:\n"
        ));
        for i in 0..turns.div_ceil(2) {
            yaml.push_str(&format!(
                "      - reply: \"{id} {i:05}: the plan holds, the numbers check out; over to you now.\"\n"
            ));
        }
    }
    yaml
}

/// [`ping_pong_yaml`] as a crew file in `dir`.
fn ping_pong(dir: &Path, turns: usize) -> PathBuf {
    let path = dir.join(format!("ping-pong-{turns}.yaml"));
    std::fs::write(&path, ping_pong_yaml(turns)).expect("crew file");
    path
}

/// Runs `crewtui` with `args`, stdout discarded; returns its wall time and peak RSS.
// The child is reaped by `wait4`, which std's `wait` cannot stand in for: only it reports the
// child's own peak RSS.
#[allow(clippy::zombie_processes)]
fn crewtui(args: &[&OsStr]) -> (Duration, u64) {
    let t = Instant::now();
    let child = Command::new(env!("CARGO_BIN_EXE_crewtui"))
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .env("XDG_STATE_HOME", std::env::temp_dir())
        .spawn()
        .expect("crewtui runs");
    let mut status = 0;
    // SAFETY: `rusage` is plain data for the kernel to fill; the pid is our own child's.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let pid = child.id() as libc::pid_t;
    // SAFETY: as above; wait4 reaps exactly this child and fills `usage`.
    let rc = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    assert_eq!(rc, pid, "wait4");
    (t.elapsed(), usage.ru_maxrss as u64 * 1024)
}

pub(crate) fn linear_item() {
    let dir = scratch("linear");
    let mut per_turn = Vec::new();
    let mut times = Vec::new();
    let mut biggest = PathBuf::new();
    for turns in [250usize, 1_000, 2_000] {
        let crew = ping_pong(&dir, turns);
        let sessions = dir.join(format!("sessions-{turns}"));
        let mut walls = Vec::new();
        for _ in 0..runs() {
            let _ = std::fs::remove_dir_all(&sessions);
            let (wall, _) = crewtui(&[
                OsStr::new("run"),
                crew.as_os_str(),
                OsStr::new("--headless"),
                OsStr::new("--sessions-dir"),
                sessions.as_os_str(),
            ]);
            walls.push(wall);
        }
        let file = std::fs::read_dir(&sessions)
            .expect("recorded")
            .filter_map(Result::ok)
            .map(|e| e.path())
            .find(|p| p.extension().is_some_and(|e| e == "jsonl"))
            .expect("a session file");
        let size = std::fs::metadata(&file).expect("file").len();
        let wall = median(&walls);
        row(
            &format!("{turns} turns: session file"),
            format!("{} ({} B/turn)", mb(size), size / turns as u64),
            if turns == 2_000 { "< 5 MB" } else { "" },
            (turns == 2_000).then_some(size < 5_000_000),
        );
        row(&format!("{turns} turns: headless run"), ms(wall), "", None);
        per_turn.push(size as f64 / turns as f64);
        times.push(wall);
        biggest = file;
    }
    let size_ratio = per_turn[2] / per_turn[0];
    row(
        "file size per turn, 2,000 / 250 turns",
        format!("{size_ratio:.2}x"),
        "<= 1.3x",
        Some(size_ratio <= 1.3),
    );
    let time_ratio = times[2].as_secs_f64() / times[1].as_secs_f64();
    row(
        "headless time, 2,000 / 1,000 turns",
        format!("{time_ratio:.2}x"),
        "<= 2.4x",
        Some(time_ratio <= 2.4),
    );
    let mut rss = Vec::new();
    for _ in 0..runs() {
        let (_, peak) = crewtui(&[
            OsStr::new("replay"),
            biggest.as_os_str(),
            OsStr::new("--headless"),
        ]);
        rss.push(peak);
    }
    let peak = median(&rss);
    row(
        "replay --headless of the 2,000-turn file: peak RSS",
        mb(peak),
        "< 60 MB",
        Some(peak < 60_000_000),
    );
}
