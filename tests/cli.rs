//! The `crewtui` binary as users and scripts run it: headless JSONL, exit codes, diagnostics.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

/// Where the binary keeps logs and sessions in these tests, never the developer's own.
fn home() -> PathBuf {
    let home = Path::new(env!("CARGO_TARGET_TMPDIR")).join("cli-home");
    std::fs::create_dir_all(&home).unwrap();
    home
}

/// The binary with `args`, its logs and sessions kept under [`home`].
fn crewtui_command(args: &[&str]) -> Command {
    common::binary(&home(), args)
}

fn crewtui(args: &[&str]) -> Output {
    crewtui_command(args).output().expect("crewtui runs")
}

/// `crewtui run CREW --headless --sessions-dir DIR`, started with stdout and stderr piped.
fn spawn_headless(crew: &Path, dir: &Path) -> std::process::Child {
    use std::process::Stdio;
    crewtui_command(&["run", crew.to_str().unwrap(), "--headless"])
        .arg("--sessions-dir")
        .arg(dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// A fresh directory under the target dir for one test.
fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The demo crew with its files, streaming at rate 0 so a run takes no time; in a directory of
/// the test's own (`tag`), since tests run at once and `scratch` empties what it hands out.
fn instant_demo(tag: &str) -> PathBuf {
    common::instant_demo(&scratch(&format!("demo-{tag}")))
}

fn write_crew(name: &str, yaml: &str) -> PathBuf {
    let path = scratch(name).join("crew.yaml");
    std::fs::write(&path, yaml).unwrap();
    path
}

fn jsonl(output: &Output) -> Vec<Value> {
    String::from_utf8(output.stdout.clone())
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON: {l}: {e}")))
        .collect()
}

/// Events with what legitimately varies between runs taken out: times, the session id, the
/// clock tool's answer, and the interleaving of a parallel group's agents (each agent's own
/// events keep their order).
fn stable(mut events: Vec<Value>) -> String {
    for (i, e) in events.iter().enumerate() {
        assert_eq!(e["seq"], i as u64, "seq is contiguous");
    }
    for e in &mut events {
        e["t_ms"] = 0.into();
        if e.get("session_id").is_some() {
            e["session_id"] = "<session>".into();
        }
        if e.get("elapsed_ms").is_some() {
            e["elapsed_ms"] = 0.into();
        }
        if e["type"] == "tool_result" && e["tool"] == "current_time" {
            e["output"] = "<now>".into();
            e["entry"]["content"] = "<now>".into();
        }
        if let Some(messages) = e.get_mut("messages").and_then(Value::as_array_mut) {
            for m in messages.iter_mut().filter(|m| m["name"] == "current_time") {
                m["content"] = "<now>".into();
            }
        }
    }
    let mut start = None;
    for i in 0..events.len() {
        match events[i]["type"].as_str() {
            Some("parallel_started") => start = Some(i + 1),
            Some("parallel_finished") => {
                if let Some(s) = start.take() {
                    let order: Vec<Value> = events[s - 1]["agents"].as_array().unwrap().clone();
                    let rank = |e: &Value| order.iter().position(|a| *a == e["agent"]);
                    events[s..i].sort_by_key(rank);
                }
            }
            _ => {}
        }
    }
    for (i, e) in events.iter_mut().enumerate() {
        e["seq"] = i.into();
    }
    events
        .iter()
        .map(|e| serde_json::to_string(e).unwrap())
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn demo_crew_headless_jsonl_is_stable() {
    let crew = instant_demo("snapshot");
    let out = crewtui(&[
        "run",
        crew.to_str().unwrap(),
        "--headless",
        "--answer",
        "Crew authors on Linux; launch next Tuesday.",
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let events = jsonl(&out);
    // The things the demo exists to show, checked by meaning before the snapshot pins detail.
    let has = |pred: &dyn Fn(&Value) -> bool| events.iter().any(pred);
    assert!(has(&|e| e["type"] == "paused" && e["agent"] == "lead"));
    assert!(has(&|e| e["type"] == "parallel_started"
        && e["agents"]
            == serde_json::json!(["market", "tech", "risks"])));
    assert!(has(&|e| e["type"] == "tool_failed"
        && e["kind"] == "panic"
        && e["error"].as_str().unwrap().contains("load model crashed")));
    assert!(has(&|e| e["type"] == "tool_result"
        && e["tool"] == "calculator"
        && e["output"] == "2016"));
    assert!(has(&|e| e["type"] == "handoff"
        && e["reason"] == "signal"
        && e["to"] == "editor"));
    assert_eq!(events.last().unwrap()["outcome"], "completed");
    insta::assert_snapshot!("demo_headless", stable(events));
}

#[test]
fn demo_crew_without_an_answer_exits_2_paused() {
    let crew = instant_demo("unanswered");
    let out = crewtui(&[crew.to_str().unwrap(), "--headless"]);
    assert_eq!(out.status.code(), Some(2));
    let events = jsonl(&out);
    assert_eq!(events.last().unwrap()["type"], "session_finished");
    assert_eq!(events.last().unwrap()["outcome"], "paused");
}

#[test]
fn a_failed_run_exits_1_and_stdout_stays_pure_jsonl() {
    let crew = write_crew(
        "exhausted",
        "name: x\ninput: hi\nsettings: {scripted_tokens_per_second: 0}\nagents:\n  - {id: a, provider: scripted, handoff_targets: [a], script: [{reply: one}]}\n",
    );
    let out = crewtui(&["run", crew.to_str().unwrap(), "--headless"]);
    assert_eq!(out.status.code(), Some(1));
    let events = jsonl(&out);
    assert!(events.iter().any(|e| e["type"] == "agent_failed"
        && e["error"].as_str().unwrap().contains("script exhausted")));
    assert_eq!(events.last().unwrap()["outcome"], "failed");
}

#[test]
fn missing_input_is_a_clear_error() {
    let crew = write_crew(
        "no-input",
        "name: x\nagents:\n  - {id: a, provider: scripted, script: [{reply: one}]}\n",
    );
    let out = crewtui(&["run", crew.to_str().unwrap(), "--headless"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("crew.yaml") && stderr.contains("--input"),
        "{stderr}"
    );
}

#[test]
fn a_malformed_crew_is_reported_with_its_location_and_never_run() {
    let crew = write_crew(
        "malformed",
        "name: x\nagents:\n  - id: a\n    temperature: [hot]\n",
    );
    let path = crew.to_str().unwrap();
    let out = crewtui(&["run", path, "--headless", "--input", "hi"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains(&format!("{path}:4:18")), "{stderr}");

    let out = crewtui(&["validate", path]);
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains(&format!("{path}:4:18: error: agents[0].temperature")),
        "{stdout}"
    );
}

#[test]
fn a_command_tool_whose_program_is_missing_is_named() {
    let crew = write_crew(
        "missing-program",
        "name: x\ntools:\n  count:\n    command: no-such-program-crewtui\nagents:\n  - {id: a, provider: scripted, tools: [count], script: [{reply: one}]}\n",
    );
    let out = crewtui(&["validate", crew.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("no-such-program-crewtui") && stdout.contains(":4:14:"),
        "{stdout}"
    );
}

#[test]
fn validate_accepts_the_shipped_crews() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("crews");
    for name in ["demo.yaml", "openai.yaml", "ollama.yaml"] {
        let out = crewtui(&["validate", root.join(name).to_str().unwrap()]);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(0), "{name}: {stdout}");
        assert!(!stdout.contains(": warning:"), "{name}: {stdout}");
    }
}

const ANSWER: &str = "Crew authors on Linux; launch next Tuesday.";

fn only_file(dir: &Path) -> PathBuf {
    let files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    files.into_iter().next().unwrap()
}

/// The event types of a session file (header left out), per agent in order: parallel agents
/// interleave differently from run to run, each agent's own events never do.
fn file_types(path: &Path) -> std::collections::BTreeMap<String, Vec<String>> {
    let mut by_agent = std::collections::BTreeMap::<String, Vec<String>>::new();
    for line in std::fs::read_to_string(path).unwrap().lines().skip(1) {
        let e: Value = serde_json::from_str(line).unwrap();
        let agent = e["agent"].as_str().unwrap_or_default().to_string();
        by_agent
            .entry(agent)
            .or_default()
            .push(e["type"].as_str().unwrap().to_string());
    }
    by_agent
}

#[test]
fn a_paused_run_resumes_from_its_file_and_sessions_lists_it() {
    let crew = instant_demo("resume");
    let crew = crew.to_str().unwrap();
    let paused_dir = scratch("resume-paused");
    let out = crewtui(&[
        "run",
        crew,
        "--headless",
        "--sessions-dir",
        paused_dir.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    let file = only_file(&paused_dir);
    let paused_events = jsonl(&out);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!("session recorded in {}", file.display())),
        "{stderr}"
    );

    let out = crewtui(&[
        "resume",
        file.to_str().unwrap(),
        "--headless",
        "--answer",
        ANSWER,
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let resumed = jsonl(&out);
    assert_eq!(
        resumed[0]["type"], "session_resumed",
        "the resumed run says it goes on, and waits for the answer it stopped at"
    );
    assert_eq!(
        resumed[0]["seq"],
        paused_events.len() as u64,
        "numbering goes on"
    );
    assert_eq!(resumed.last().unwrap()["outcome"], "completed");

    // The file now tells the whole story, the same as a run that was never interrupted, but
    // for the end of the first part and the start of the second.
    let whole_dir = scratch("resume-whole");
    let out = crewtui(&[
        "run",
        crew,
        "--headless",
        "--answer",
        ANSWER,
        "--sessions-dir",
        whole_dir.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0));
    let mut expected = file_types(&only_file(&whole_dir));
    let session = expected.get_mut("").unwrap();
    session.insert(1, "session_finished".into());
    session.insert(2, "session_resumed".into());
    assert_eq!(file_types(&file), expected);

    // Resuming a finished session is refused, naming the file.
    let out = crewtui(&["resume", file.to_str().unwrap(), "--headless"]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(file.to_str().unwrap()) && stderr.contains("already ended"),
        "{stderr}"
    );

    let out = crewtui(&["sessions", "--sessions-dir", paused_dir.to_str().unwrap()]);
    let listing = String::from_utf8_lossy(&out.stdout);
    assert!(
        listing.contains("launch-plan") && listing.contains("completed"),
        "{listing}"
    );
    assert!(listing.contains(file.to_str().unwrap()), "{listing}");
}

#[test]
fn headless_output_is_the_session_file_line_for_line() {
    let crew = instant_demo("same-lines");
    let dir = scratch("same-lines-sessions");
    let out = crewtui(&[
        "run",
        crew.to_str().unwrap(),
        "--headless",
        "--answer",
        ANSWER,
        "--sessions-dir",
        dir.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0));
    let printed = String::from_utf8(out.stdout).unwrap();
    let recorded = std::fs::read_to_string(only_file(&dir)).unwrap();
    let (_header, events) = recorded.split_once('\n').unwrap();
    assert!(printed.lines().count() > 50, "{printed}");
    assert!(printed == events, "stdout and the session file differ");
}

#[test]
fn a_closed_stdout_ends_the_run_with_an_error_and_the_file_stays_whole() {
    use std::io::{BufRead, BufReader};
    use std::process::Stdio;

    // The demo as shipped streams at 40 tokens/s: it is still running when the reader goes.
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("crews/demo.yaml");
    let dir = scratch("closed-stdout-sessions");
    let mut child = Command::new(env!("CARGO_BIN_EXE_crewtui"))
        .args([
            "run",
            root.to_str().unwrap(),
            "--headless",
            "--answer",
            ANSWER,
        ])
        .arg("--sessions-dir")
        .arg(&dir)
        .env("XDG_STATE_HOME", home().join("state"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    assert!(first.contains("\"session_started\""), "{first}");
    // The reader goes away, as `crewtui run --headless ... | head -1` does.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(std::time::Instant::now() < deadline, "crewtui kept running");
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("writing to stdout"), "{stderr}");
    let file = only_file(&dir);
    let recording = crewtui::session::read(&file).unwrap();
    assert_eq!(recording.warnings, [], "no torn line");
    assert!(matches!(
        recording.events[0].kind,
        crewtui::engine::EventKind::SessionStarted { .. }
    ));
}

#[test]
fn a_killed_run_leaves_a_file_that_holds_all_but_its_last_second() {
    use std::io::{BufRead, BufReader};
    use std::time::{Duration, Instant};

    let crew = streaming_crew("killed", 400, 50);
    let dir = scratch("killed-sessions");
    let mut child = spawn_headless(&crew, &dir);
    // Each line headless prints, with when it was read.
    let (tx, rx) = std::sync::mpsc::channel();
    let stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            let _ = tx.send((Instant::now(), line));
        }
    });
    let first = rx.recv_timeout(Duration::from_secs(30)).unwrap();
    std::thread::sleep(Duration::from_secs(4).saturating_sub(first.0.elapsed()));
    child.kill().unwrap(); // SIGKILL: no drop, no last write
    let killed = Instant::now();
    child.wait().unwrap();
    reader.join().unwrap();
    let printed: Vec<(Instant, Value)> = std::iter::once(first)
        .chain(rx.try_iter())
        .map(|(at, line)| (at, serde_json::from_str(&line).unwrap()))
        .collect();
    assert!(printed.len() > 100, "the run streamed for 4 s");

    let recording = crewtui::session::read(&only_file(&dir)).unwrap();
    let recorded: Vec<Value> = recording
        .events
        .iter()
        .map(|e| serde_json::to_value(e).unwrap())
        .collect();
    // What the file holds is what was printed, in order, cut somewhere near the end (either
    // may be a little ahead: the file and stdout have writers of their own)...
    for (recorded, (_, printed)) in recorded.iter().zip(&printed) {
        assert_eq!(recorded, printed);
    }
    // ...and everything printed well over a second before the kill is in it (lines reach the
    // file within `FILE_FLUSH_EVERY`; the margin is for a slow machine, not the design).
    let old = printed
        .iter()
        .filter(|(at, _)| *at + Duration::from_millis(2500) < killed)
        .count();
    assert!(
        recorded.len() >= old,
        "{} events in the file, {old} printed more than 2.5 s before the kill",
        recorded.len()
    );
}

/// Waits for `child` to end, killing it and failing after a generous overall timeout: what is
/// tested is that it ends at all.
fn wait_within(child: &mut std::process::Child, what: &str) -> std::process::ExitStatus {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{what}: crewtui never ended");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// The command's output, once it ended (see [`wait_within`]).
fn output_within(mut command: Command, what: &str) -> Output {
    use std::process::Stdio;
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Read as it comes, so a full pipe never holds the child up.
    let mut stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let out = std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = std::io::Read::read_to_end(&mut stdout, &mut bytes);
        bytes
    });
    let err = std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = std::io::Read::read_to_end(&mut stderr, &mut bytes);
        bytes
    });
    let status = wait_within(&mut child, what);
    Output {
        status,
        stdout: out.join().unwrap(),
        stderr: err.join().unwrap(),
    }
}

/// One agent streaming `words` words at `rate` tokens a second (0: as fast as it can).
fn streaming_crew(name: &str, words: usize, rate: u32) -> PathBuf {
    let reply: String = (0..words).map(|i| format!("word{i} ")).collect();
    write_crew(
        name,
        &format!(
            "name: {name}\ninput: go\nsettings: {{scripted_tokens_per_second: {rate}}}\n\
             agents:\n  - {{id: a, provider: scripted, script: [{{reply: \"{reply}\"}}]}}\n"
        ),
    )
}

fn signal(child: &std::process::Child, name: &str) {
    let status = Command::new("kill")
        .args([&format!("-{name}"), &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

#[test]
fn a_stalled_reader_holds_up_neither_the_file_nor_a_signal() {
    // Far more than a pipe holds, emitted as fast as the engine can.
    let crew = streaming_crew("stalled", 60_000, 0);
    let dir = scratch("stalled-sessions");
    let mut child = spawn_headless(&crew, &dir);
    // The read end stays open and is never read, as with `| sleep 30`.
    let _unread = child.stdout.take().unwrap();
    // The file goes on growing far past what stdout took (a pipe holds 64 KiB): it does not
    // wait for stdout.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let file = loop {
        let grown = std::fs::read_dir(&dir)
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .find(|p| std::fs::metadata(p).is_ok_and(|m| m.len() > 768 * 1024));
        if let Some(file) = grown {
            break file;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the session file stopped growing while stdout was not read"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    // A signal still ends the run, stdout stalled as it is.
    signal(&child, "INT");
    let status = wait_within(&mut child, "SIGINT with stdout stalled");
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("SIGINT: cancelling the run")
            && stderr.contains("the session file has them"),
        "{stderr}"
    );
    let recording = crewtui::session::read(&file).unwrap();
    assert_eq!(recording.warnings, [], "whole lines only");
    for (i, e) in recording.events.iter().enumerate() {
        assert_eq!(e.seq, i as u64, "nothing missing");
    }
    assert!(matches!(
        recording.events.last().unwrap().kind,
        crewtui::engine::EventKind::SessionFinished {
            outcome: crewtui::engine::Outcome::Cancelled,
            ..
        }
    ));
}

#[test]
fn sigterm_and_sighup_end_a_headless_run_with_every_event_printed_and_recorded() {
    use std::io::{BufRead, BufReader};

    let crew = streaming_crew("terminated", 5_000, 400);
    for name in ["TERM", "HUP"] {
        let dir = scratch(&format!("terminated-{name}"));
        let mut child = spawn_headless(&crew, &dir);
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut printed = String::new();
        // Well into the stream.
        while printed.lines().count() < 100 {
            assert!(stdout.read_line(&mut printed).unwrap() > 0, "{printed}");
        }
        signal(&child, name);
        std::io::Read::read_to_string(&mut stdout, &mut printed).unwrap();
        let status = wait_within(&mut child, name);
        assert_eq!(status.code(), Some(1), "SIG{name}: cancelled exits 1");
        let recorded = std::fs::read_to_string(only_file(&dir)).unwrap();
        let (_header, events) = recorded.split_once('\n').unwrap();
        assert!(
            printed == events,
            "SIG{name}: stdout and the session file differ: {} lines printed, {} recorded",
            printed.lines().count(),
            events.lines().count()
        );
        let last: Value = serde_json::from_str(events.lines().last().unwrap()).unwrap();
        assert_eq!(last["type"], "session_finished", "SIG{name}");
        assert_eq!(last["outcome"], "cancelled", "SIG{name}");
    }
}

#[test]
fn a_closed_or_full_stdout_or_stderr_is_an_ordinary_exit_never_a_panic() {
    use std::io::{BufRead, BufReader};
    use std::process::Stdio;

    // Thousands of warnings: far more than one line, so printing goes on after the reader left.
    let agents: String = (0..3000)
        .map(|i| {
            format!("  - {{id: a{i}, provider: scripted, colour: blue, script: [{{reply: x}}]}}\n")
        })
        .collect();
    let crew = write_crew("big-validate", &format!("name: big\nagents:\n{agents}"));
    let crew = crew.to_str().unwrap();

    // `crewtui validate big.yaml | head -1`: the reader takes one line and goes.
    let mut child = crewtui_command(&["validate", crew])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    assert!(first.contains(": warning: "), "{first}");
    let status = wait_within(&mut child, "validate | head -1");
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    assert_eq!(
        status.code(),
        Some(0),
        "a valid crew, whatever the reader took: {stderr}"
    );
    assert_eq!(stderr, "", "quiet");

    let full = || std::fs::File::create("/dev/full").unwrap();
    // A full disk is an error, said on stderr.
    for args in [&["validate", crew][..], &["--help"], &["--version"]] {
        let out = crewtui_command(args).stdout(full()).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {stderr}");
        assert!(
            stderr.contains("writing to stdout") && stderr.contains("No space left"),
            "{args:?}: {stderr}"
        );
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    }

    // A stderr that fails leaves nowhere to say anything; the status says it.
    let out = crewtui_command(&["run", "no-such-crew.yaml", "--headless"])
        .stderr(full())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "an error, not a panic (101)");
    let (read, write) = std::io::pipe().unwrap();
    drop(read);
    let out = crewtui_command(&["validate", crew, "--no-such-flag"])
        .stderr(write)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "a usage error, said or not");
}

/// A crew whose agent pauses for the user, then runs a tool that sleeps for a while: a
/// resumed run of it holds its session file open, writing nothing, while the tool runs.
fn pausing_crew(name: &str) -> PathBuf {
    write_crew(
        name,
        &format!(
            "name: {name}\ninput: go\nsettings: {{scripted_tokens_per_second: 0}}\n\
             tools:\n  nap: {{command: sleep, args: [\"60\"], timeout_seconds: 120}}\n\
             routing:\n  agent_behaviors:\n    a: {{wait_for_signal: true}}\n\
             agents:\n  - id: a\n    provider: scripted\n    tools: [nap]\n    script:\n\
             \x20     - reply: Which day?\n\
             \x20     - tool_calls: [{{tool: nap, arguments: {{}}}}]\n\
             \x20     - reply: done\n"
        ),
    )
}

#[test]
fn two_resumes_of_one_file_never_interleave_and_a_refused_one_changes_nothing() {
    use std::process::Stdio;

    let crew = pausing_crew("locked");
    let dir = scratch("locked-sessions");
    let out = crewtui(&[
        "run",
        crew.to_str().unwrap(),
        "--headless",
        "--sessions-dir",
        dir.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2), "paused");
    let file = only_file(&dir);
    let path = file.to_str().unwrap();
    // A crash left half a line at the end.
    let mut bytes = std::fs::read(&file).unwrap();
    bytes.extend_from_slice(b"{\"seq\":99,\"t_ms\":1,\"ty");
    std::fs::write(&file, &bytes).unwrap();

    let mut first = crewtui_command(&["resume", path, "--headless", "--answer", "Tuesday"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The first resume runs its tool now: it holds the file and writes nothing meanwhile.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while !std::fs::read_to_string(&file)
        .unwrap()
        .contains("\"tool_call\"")
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the first resume never got to its tool"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let before = std::fs::read(&file).unwrap();
    let second = output_within(
        crewtui_command(&["resume", path, "--headless", "--answer", "Wednesday"]),
        "a second resume",
    );
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert_eq!(second.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "{path}: another process is appending to this session"
        )) && stderr.contains(&format!("pid {}", first.id()))
            && stderr.contains("crewtui resume"),
        "the holder is named: {stderr}"
    );
    assert!(second.stdout.is_empty());
    assert!(
        std::fs::read(&file).unwrap() == before,
        "the refused resume changed the file"
    );

    // The first goes on to its end undisturbed (stopped here, with the same graceful end).
    signal(&first, "TERM");
    assert_eq!(wait_within(&mut first, "the first resume").code(), Some(1));
    let recording = crewtui::session::read(&file).unwrap();
    assert_eq!(
        recording.warnings,
        [],
        "the torn line was cut by the first resume"
    );
    let finished = recording
        .events
        .iter()
        .filter(|e| matches!(e.kind, crewtui::engine::EventKind::SessionFinished { .. }))
        .count();
    assert_eq!(
        finished, 2,
        "the first part's end and the resume's, no third"
    );
    for (i, e) in recording.events.iter().enumerate() {
        assert_eq!(e.seq, i as u64, "one numbering, no duplicates");
    }

    // A resume refused for another reason (the session ended) leaves a torn tail alone too.
    let mut bytes = std::fs::read(&file).unwrap();
    bytes.extend_from_slice(b"{\"seq\":99,\"t_ms\":1,\"ty");
    std::fs::write(&file, &bytes).unwrap();
    let out = crewtui(&["resume", path, "--headless"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("already ended"));
    assert!(
        std::fs::read(&file).unwrap() == bytes,
        "the refused resume changed the file"
    );
}

#[test]
fn fifos_and_devices_are_refused_at_once_with_a_clear_error() {
    let dir = scratch("special-files");
    let fifo = dir.join("named.yaml");
    let status = Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(status.success());
    let fifo = fifo.to_str().unwrap();
    let demo = instant_demo("special-files");
    let demo = demo.to_str().unwrap();
    let sessions = dir.join("sessions");
    std::fs::create_dir_all(&sessions).unwrap();
    Command::new("mkfifo")
        .arg(sessions.join("fifo.jsonl"))
        .status()
        .unwrap();
    let sessions = sessions.to_str().unwrap();

    let fifo_is = "a FIFO (named pipe), not a regular file";
    let device_is = "a character device, not a regular file";
    let cases: [(&[&str], &str, &str); 10] = [
        (&["validate", fifo], fifo, fifo_is),
        (&["run", fifo, "--headless"], fifo, fifo_is),
        (&["validate", "/dev/zero"], "/dev/zero", device_is),
        (&["replay", fifo, "--headless"], fifo, fifo_is),
        (
            &["replay", "/dev/zero", "--headless"],
            "/dev/zero",
            device_is,
        ),
        (&["replay", "/dev/zero"], "/dev/zero", device_is),
        (&["resume", fifo, "--headless"], fifo, fifo_is),
        (
            &["resume", "/dev/zero", "--headless"],
            "/dev/zero",
            device_is,
        ),
        (&["run", demo, "--theme", fifo], fifo, fifo_is),
        (
            &["run", demo, "--theme", "/dev/zero"],
            "/dev/zero",
            device_is,
        ),
    ];
    for (args, named, is) in cases {
        let out = output_within(crewtui_command(args), &format!("{args:?}"));
        let stderr = String::from_utf8_lossy(&out.stderr);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {stderr}{stdout}");
        let said = format!("{stderr}{stdout}");
        assert!(
            said.contains(named) && said.contains(is),
            "{args:?} names the file and what it is: {said}"
        );
    }

    // A FIFO among the sessions is no session; the listing goes on without it.
    let out = output_within(
        crewtui_command(&["sessions", "--sessions-dir", sessions]),
        "sessions",
    );
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        format!("no sessions in {sessions}\n")
    );
}

#[test]
fn the_log_is_private_like_the_sessions() {
    use std::os::unix::fs::PermissionsExt;

    let state = scratch("private-log");
    let out = Command::new(env!("CARGO_BIN_EXE_crewtui"))
        .args(["validate", "no-such-crew.yaml"])
        .env("XDG_STATE_HOME", &state)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&state.join("crewtui")), 0o700);
    assert_eq!(mode(&state.join("crewtui/crewtui.log")), 0o600);
}

/// The events of `kind` in a headless run's output.
fn of_type<'a>(events: &'a [Value], kind: &str) -> Vec<&'a Value> {
    events.iter().filter(|e| e["type"] == kind).collect()
}

/// Runs `command`, a headless run that must finish (exit 0); its output and events.
fn finished(command: &mut Command) -> (Output, Vec<Value>) {
    let out = command.output().expect("crewtui runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let events = jsonl(&out);
    (out, events)
}

#[test]
fn command_tools_never_see_provider_keys() {
    const OPENAI_KEY: &str = "sk-test-openai-4d1f9a2b7c";
    const CUSTOM_KEY: &str = "sk-test-custom-8e3c6b0d5a";
    let dir = scratch("tool-env");
    // A tool that comes by a key some other way has it cut out of what it returns.
    let key_file = dir.join("key.txt");
    std::fs::write(&key_file, format!("{OPENAI_KEY}\n")).unwrap();
    let crew = dir.join("crew.yaml");
    let calls = "[{tool: show_env, arguments: {}}, {tool: failing_env, arguments: {}}, \
                 {tool: read_key, arguments: {}}]";
    std::fs::write(
        &crew,
        format!(
            "name: env\ninput: go\nsettings: {{scripted_tokens_per_second: 0}}\n\
             providers:\n  custom: {{base_url: 'http://127.0.0.1:9/v1', api_key_env: CREWTUI_TEST_CUSTOM_KEY}}\n\
             tools:\n  show_env: {{command: env, env: [CREWTUI_TEST_PASSED]}}\n  \
             failing_env: {{command: sh, args: [-c, 'env >&2; exit 3']}}\n  \
             read_key: {{command: cat, args: ['{}']}}\n\
             agents:\n  - id: a\n    provider: scripted\n    tools: [show_env, failing_env, read_key]\n    \
             script: [{{tool_calls: {calls}}}, {{reply: done}}]\n",
            key_file.display()
        ),
    )
    .unwrap();
    let sessions = dir.join("sessions");
    let (out, events) = finished(
        crewtui_command(&["run", crew.to_str().unwrap(), "--headless"])
            .arg("--sessions-dir")
            .arg(&sessions)
            .env("OPENAI_API_KEY", OPENAI_KEY)
            .env("CREWTUI_TEST_CUSTOM_KEY", CUSTOM_KEY)
            .env("CREWTUI_TEST_PASSED", "passed-7f3a")
            .env("CREWTUI_TEST_UNLISTED", "unlisted-9c2b"),
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let recorded = std::fs::read_to_string(only_file(&sessions)).unwrap();
    for (place, text) in [
        ("stdout", &*stdout),
        ("stderr", &*stderr),
        ("the session file", &*recorded),
    ] {
        for key in [OPENAI_KEY, CUSTOM_KEY] {
            assert!(!text.contains(key), "{key} reached {place}: {text}");
        }
        assert!(
            !text.contains("unlisted-9c2b"),
            "an unlisted variable reached {place}"
        );
    }
    let results = of_type(&events, "tool_result");
    let env = results.iter().find(|e| e["tool"] == "show_env").unwrap();
    let env = env["output"].as_str().unwrap();
    assert!(
        env.contains("CREWTUI_TEST_PASSED=passed-7f3a") && env.contains("PATH="),
        "{env}"
    );
    assert!(
        !env.contains("OPENAI_API_KEY") && !env.contains("CREWTUI_TEST_CUSTOM_KEY"),
        "{env}"
    );
    let read = results.iter().find(|e| e["tool"] == "read_key").unwrap();
    assert_eq!(read["output"], "[redacted]\n");
    let failed = of_type(&events, "tool_failed");
    assert_eq!(failed.len(), 1, "{failed:?}");
    assert!(
        failed[0]["error"].as_str().unwrap().contains("PATH="),
        "{failed:?}"
    );
}

#[test]
fn what_a_command_tool_leaves_running_ends_with_its_call() {
    // Durations no other test uses, to tell these sleeps from any other.
    let tag = std::process::id();
    let seconds = [501, 502, 503].map(|s| format!("{s}.{tag}"));
    let [quiet, holding, failing] = &seconds;
    let crew = write_crew(
        "tool-background",
        &format!(
            "name: bg\ninput: go\nsettings: {{scripted_tokens_per_second: 0}}\ntools:\n  \
             quiet: {{command: sh, args: [-c, 'sleep {quiet} >/dev/null 2>&1 & echo started']}}\n  \
             holding: {{command: sh, args: [-c, 'sleep {holding} & echo started'], timeout_seconds: 20}}\n  \
             failing: {{command: sh, args: [-c, 'sleep {failing} >/dev/null 2>&1 & exit 3']}}\n\
             agents:\n  - id: a\n    provider: scripted\n    tools: [quiet, holding, failing]\n    \
             script: [{{tool_calls: [{{tool: quiet, arguments: {{}}}}, {{tool: holding, arguments: {{}}}}, \
             {{tool: failing, arguments: {{}}}}]}}, {{reply: done}}]\n"
        ),
    );
    let run = crewtui_command(&["run", crew.to_str().unwrap(), "--headless"]).output();
    // Killed before each call returned; a killed process may take a moment to be gone.
    let running = || -> Vec<u32> { seconds.iter().flat_map(|s| common::sleeping(s)).collect() };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let mut left = running();
    while !left.is_empty() && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(20));
        left = running();
    }
    // However the test goes, nothing it started stays behind.
    for pid in &left {
        let _ = Command::new("kill")
            .args(["-KILL", &pid.to_string()])
            .status();
    }
    assert!(
        left.is_empty(),
        "still running after crewtui ended: {left:?}"
    );
    let out = run.expect("crewtui runs");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let events = jsonl(&out);
    let results: Vec<_> = of_type(&events, "tool_result")
        .iter()
        .map(|e| (e["tool"].as_str().unwrap().to_string(), e["output"].clone()))
        .collect();
    let started = Value::from("started\n");
    let expected = [
        ("quiet".into(), started.clone()),
        ("holding".into(), started),
    ];
    assert_eq!(results, expected);
    assert_eq!(of_type(&events, "tool_failed")[0]["tool"], "failing");
}

#[test]
fn sigterm_during_a_tool_call_kills_the_tool_and_what_it_started() {
    use std::io::{BufRead, BufReader};

    // Durations no other test uses, to tell these sleeps from any other.
    let tag = std::process::id();
    let (child_sleep, tool_sleep) = (format!("504.{tag}"), format!("505.{tag}"));
    let crew = write_crew(
        "tool-terminated",
        &format!(
            "name: term\ninput: go\nsettings: {{scripted_tokens_per_second: 0}}\ntools:\n  \
             slow: {{command: sh, args: [-c, 'sleep {child_sleep} >/dev/null 2>&1 & sleep {tool_sleep}'], timeout_seconds: 600}}\n\
             agents:\n  - id: a\n    provider: scripted\n    tools: [slow]\n    \
             script: [{{tool_calls: [{{tool: slow, arguments: {{}}}}]}}, {{reply: done}}]\n"
        ),
    );
    let dir = scratch("tool-terminated-sessions");
    let mut child = spawn_headless(&crew, &dir);
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut printed = String::new();
    // The tool has been called, and both of its sleeps are running.
    while !printed.contains("\"tool_call\"") {
        assert!(stdout.read_line(&mut printed).unwrap() > 0, "{printed}");
    }
    let both = || [&child_sleep, &tool_sleep].map(|s| common::sleeping(s).len());
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while both() != [1, 1] && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert_eq!(both(), [1, 1], "the tool's sleeps never started");

    signal(&child, "TERM");
    std::io::Read::read_to_string(&mut stdout, &mut printed).unwrap();
    let status = wait_within(&mut child, "SIGTERM");
    // A killed process may take a moment to be gone.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while both() != [0, 0] && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let left: Vec<u32> = [&child_sleep, &tool_sleep]
        .iter()
        .flat_map(|s| common::sleeping(s))
        .collect();
    for pid in &left {
        let _ = Command::new("kill")
            .args(["-KILL", &pid.to_string()])
            .status();
    }
    assert!(left.is_empty(), "still running after SIGTERM: {left:?}");
    assert_eq!(status.code(), Some(1));
    let last: Value = serde_json::from_str(printed.lines().last().unwrap()).unwrap();
    assert_eq!(last["outcome"], "cancelled", "{printed}");
}

#[test]
fn tool_calls_past_the_cap_fail_and_the_turn_goes_on() {
    let call = "{tool: calculator, arguments: {expression: '1+1'}}";
    let crew = write_crew(
        "tool-cap",
        &format!(
            "name: cap\ninput: go\nsettings: {{scripted_tokens_per_second: 0, max_tool_calls_per_turn: 3}}\n\
             agents:\n  - id: a\n    provider: scripted\n    tools: [calculator]\n    script:\n      \
             - tool_calls: [{call}, {call}, {call}, {call}, {call}]\n      \
             - tool_calls: [{call}, {call}]\n      - reply: done\n"
        ),
    );
    let (_, events) = finished(&mut crewtui_command(&[
        "run",
        crew.to_str().unwrap(),
        "--headless",
    ]));
    // Three calls run, over both model calls together; the other four fail unrun.
    assert_eq!(of_type(&events, "tool_result").len(), 3);
    let refused = of_type(&events, "tool_failed");
    assert_eq!(refused.len(), 4, "{refused:?}");
    for e in &refused {
        assert_eq!(e["kind"], "error");
        let error = e["error"].as_str().unwrap();
        assert!(
            error.contains("not run") && error.contains("max_tool_calls_per_turn"),
            "{error}"
        );
    }
    // Each refusal went back to the model as that call's result.
    let last_request = of_type(&events, "model_request").last().cloned().unwrap();
    let told = serde_json::to_string(&last_request["messages"]).unwrap();
    assert!(told.contains("error: not run"), "{told}");
    let last = events.last().unwrap();
    assert_eq!(last["outcome"], "completed", "{last}");
}

/// A run of one scripted agent on a priced model, recorded in `dir`; returns its session id.
fn priced_session(dir: &Path, crew: &Path) -> String {
    let out = crewtui(&[
        "run",
        crew.to_str().unwrap(),
        "--headless",
        "--sessions-dir",
        dir.to_str().unwrap(),
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    jsonl(&out)[0]["session_id"].as_str().unwrap().to_string()
}

#[test]
fn replay_finds_a_session_by_id_part_of_it_or_last_and_sessions_lists_ids_and_cost() {
    let dir = scratch("by-id-sessions");
    let crew = write_crew(
        "by-id",
        "name: priced\ninput: go\nsettings: {scripted_tokens_per_second: 0}\nagents:\n  \
         - {id: a, provider: scripted, model: o1, script: [{reply: \"One reply, priced at o1 rates.\"}]}\n",
    );
    let first = priced_session(&dir, &crew);
    let second = priced_session(&dir, &crew);
    assert_ne!(first, second);
    let dir_arg = dir.to_str().unwrap();

    let listing = crewtui(&["sessions", "--sessions-dir", dir_arg]);
    let listing = String::from_utf8_lossy(&listing.stdout).into_owned();
    let head = listing.lines().next().unwrap_or_default();
    assert!(
        head.contains(" ID ") && head.contains(" COST "),
        "{listing}"
    );
    for id in [&first, &second] {
        let row = listing.lines().find(|l| l.contains(id.as_str())).expect(id);
        assert!(row.contains(" $0.0"), "a priced row: {row}");
    }

    let transcript_of = |args: &[&str]| {
        let mut all = vec!["replay"];
        all.extend(args);
        all.extend(["--headless", "--sessions-dir", dir_arg]);
        crewtui(&all)
    };
    let heading = |id: &str| format!("# Session {id}\n");
    // The whole id, its random end as a narrow header shows it, and --last.
    let end = format!("…{}", first.rsplit('-').next().unwrap());
    for (args, id) in [
        (vec![first.as_str()], &first),
        (vec![end.as_str()], &first),
        (vec!["--last"], &second),
    ] {
        let out = transcript_of(&args);
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.starts_with(&heading(id)), "{args:?}: {text}");
        assert!(text.contains("- Cost: $0.0"), "{text}");
    }
    // The start both share names neither; a path still works.
    let shared = &first[..8];
    let out = transcript_of(&[shared]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr.contains("matches 2 sessions") && stderr.contains(&first),
        "{stderr}"
    );
    let out = transcript_of(&["nope"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("no session `nope`"),
        "{out:?}"
    );
}
