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
    let dir = scratch(&format!("demo-{tag}"));
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("crews");
    let yaml = std::fs::read_to_string(root.join("demo.yaml")).unwrap();
    let yaml = yaml.replace(
        "scripted_tokens_per_second: 40",
        "scripted_tokens_per_second: 0",
    );
    assert!(yaml.contains("scripted_tokens_per_second: 0"));
    std::fs::write(dir.join("demo.yaml"), yaml).unwrap();
    std::fs::create_dir_all(dir.join("demo-files")).unwrap();
    std::fs::copy(
        root.join("demo-files/checklist.md"),
        dir.join("demo-files/checklist.md"),
    )
    .unwrap();
    dir.join("demo.yaml")
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
    assert_eq!(resumed[0]["type"], "paused", "the resumed run asks again");
    assert_eq!(
        resumed[0]["seq"],
        paused_events.len() as u64,
        "numbering goes on"
    );
    assert_eq!(resumed.last().unwrap()["outcome"], "completed");

    // The file now tells the whole story, the same as a run that was never interrupted, but
    // for the pause that ended the first part and was asked again.
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
    let lead = expected.get_mut("lead").unwrap();
    let at = lead.iter().position(|t| t == "paused").unwrap();
    lead.insert(at + 1, "paused".into());
    expected
        .get_mut("")
        .unwrap()
        .insert(1, "session_finished".into());
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
    use std::process::Stdio;
    use std::time::{Duration, Instant};

    let reply: String = (0..400).map(|i| format!("word{i} ")).collect();
    let crew = write_crew(
        "killed-crew",
        &format!(
            "name: killed\ninput: go\nsettings: {{scripted_tokens_per_second: 50}}\n\
             agents:\n  - {{id: a, provider: scripted, script: [{{reply: \"{reply}\"}}]}}\n"
        ),
    );
    let dir = scratch("killed-sessions");
    let mut child = crewtui_command(&["run", crew.to_str().unwrap(), "--headless"])
        .arg("--sessions-dir")
        .arg(&dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
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
    // What the file holds is what was printed, in order, cut somewhere near the end...
    assert!(recorded.len() <= printed.len());
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
