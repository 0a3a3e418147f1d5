//! `crewtui run --headless --control`: the real binary driven as a script drives it. Each `gate`
//! event on stdout is answered by a JSON line on the control input (stdin or a FIFO), and what
//! the run did is read back from stdout, the exit status and the session file.

mod common;

#[path = "common/fake_openai.rs"]
mod fake_openai;

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use serde_json::{Value, json};

/// How long any one wait on the child may take before the test fails with what it saw.
const DEADLINE: Duration = Duration::from_secs(30);

/// A running `crewtui`, its stdout read line by line on a thread of its own.
struct Driver {
    child: Child,
    /// Where control lines go: the child's stdin, or a FIFO once opened.
    input: Option<Box<dyn Write>>,
    lines: mpsc::Receiver<String>,
    stderr: Option<std::thread::JoinHandle<String>>,
    seen: Vec<Value>,
}

impl Driver {
    /// Starts `command` with stdin, stdout and stderr piped.
    fn spawn(mut command: std::process::Command) -> Driver {
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("crewtui starts");
        let input = child
            .stdin
            .take()
            .map(|stdin| Box::new(stdin) as Box<dyn Write>);
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut stderr = child.stderr.take().unwrap();
        let stderr = std::thread::spawn(move || {
            let mut text = String::new();
            let _ = stderr.read_to_string(&mut text);
            text
        });
        Driver {
            child,
            input,
            lines,
            stderr: Some(stderr),
            seen: Vec::new(),
        }
    }

    /// What was seen so far, for failure messages.
    fn so_far(&self) -> String {
        self.seen
            .iter()
            .map(|e| e.to_string().chars().take(300).collect::<String>())
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// The next event on stdout; `None` once stdout ends.
    fn next(&mut self) -> Option<Value> {
        match self.lines.recv_timeout(DEADLINE) {
            Ok(line) => {
                let event: Value = serde_json::from_str(&line)
                    .unwrap_or_else(|e| panic!("stdout line is not JSON ({e}): {line}"));
                self.seen.push(event.clone());
                Some(event)
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => None,
            Err(mpsc::RecvTimeoutError::Timeout) => {
                panic!("no event within {DEADLINE:?}; seen:\n{}", self.so_far())
            }
        }
    }

    /// The next event of type `kind`, passing over the others.
    fn next_of(&mut self, kind: &str) -> Value {
        loop {
            match self.next() {
                Some(event) if event["type"] == kind => return event,
                Some(_) => {}
                None => panic!(
                    "stdout ended before a `{kind}` event; seen:\n{}",
                    self.so_far()
                ),
            }
        }
    }

    /// Writes `bytes` and a newline to the control input.
    fn send_bytes(&mut self, bytes: &[u8]) {
        let input = self.input.as_mut().expect("the control input is open");
        input.write_all(bytes).expect("control input written");
        input.write_all(b"\n").expect("control input written");
        input.flush().expect("control input flushed");
    }

    fn send(&mut self, command: Value) {
        self.send_bytes(command.to_string().as_bytes());
    }

    /// Ends the control input, as a script that exits does.
    fn close_input(&mut self) {
        self.input = None;
    }

    /// Closes the control input, reads stdout to its end and waits for the exit: the exit
    /// code, every event seen, and stderr.
    fn finish(mut self) -> (Option<i32>, Vec<Value>, String) {
        self.close_input();
        while self.next().is_some() {}
        let status = self.child.wait().expect("crewtui exits");
        let stderr = self.stderr.take().unwrap().join().unwrap();
        let first = self.seen.first().map_or(0, |e| e["seq"].as_u64().unwrap());
        for (i, e) in self.seen.iter().enumerate() {
            assert_eq!(e["seq"], first + i as u64, "seq is contiguous");
        }
        (status.code(), std::mem::take(&mut self.seen), stderr)
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        // A failed test leaves no process behind.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A fresh directory under the target dir for one test.
fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("control-{name}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// `crewtui ARGS --sessions-dir DIR/sessions`, its logs under `dir`.
fn crewtui(dir: &Path, args: &[&str]) -> std::process::Command {
    let mut command = common::binary(dir, args);
    command.arg("--sessions-dir").arg(dir.join("sessions"));
    command
}

/// The demo crew run headless with its pause answered and `debug` flags.
fn demo_run(dir: &Path, debug: &[&str]) -> std::process::Command {
    let crew = common::instant_demo(dir);
    let mut args = vec![
        "run",
        crew.to_str().unwrap(),
        "--headless",
        "--answer",
        "Crew authors",
    ];
    args.extend_from_slice(debug);
    crewtui(dir, &args)
}

/// The one session file in `dir/sessions`.
fn session_file(dir: &Path) -> PathBuf {
    let files: Vec<PathBuf> = std::fs::read_dir(dir.join("sessions"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    files.into_iter().next().unwrap()
}

/// The events a session file holds (its header left out).
fn recorded(file: &Path) -> Vec<Value> {
    std::fs::read_to_string(file)
        .unwrap()
        .lines()
        .skip(1)
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn of_type<'a>(events: &'a [Value], kind: &str) -> Vec<&'a Value> {
    events.iter().filter(|e| e["type"] == kind).collect()
}

fn outcome(events: &[Value]) -> &str {
    let last = events.last().expect("some events");
    assert_eq!(last["type"], "session_finished", "{last}");
    last["outcome"].as_str().unwrap()
}

#[test]
fn a_denied_tool_call_goes_back_to_the_model_and_the_run_finishes() {
    let dir = scratch("deny");
    let mut run = Driver::spawn(demo_run(&dir, &["--break", "tool:fault", "--control", "-"]));

    let gate = run.next_of("gate");
    assert_eq!(gate["agent"], "risks");
    assert_eq!(gate["kind"], "tool_call");
    assert_eq!(gate["reason"], "tool:fault");
    assert_eq!(gate["detail"]["tool"], "fault");
    let call_id = gate["detail"]["call_id"].clone();
    run.send(json!({"op": "deny", "call_id": call_id, "reason": "not today"}));

    let decision = run.next_of("decision");
    assert_eq!(decision["gate"], gate["gate"]);
    assert_eq!(decision["op"], "deny");
    assert_eq!(decision["reason"], "not today");
    let (code, events, stderr) = run.finish();
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(outcome(&events), "completed");

    // The tool never ran, and the model of risks was told why in the tool's place.
    let after: Vec<&Value> = events
        .iter()
        .skip_while(|e| e["type"] != "decision")
        .collect();
    let failed = after
        .iter()
        .find(|e| e["type"] == "tool_failed" && e["call_id"] == call_id)
        .expect("the denied call is reported");
    assert_eq!(failed["kind"], "denied");
    let request = after
        .iter()
        .find(|e| e["type"] == "model_request" && e["agent"] == "risks")
        .expect("risks asks its model again");
    let told = request["messages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["role"] == "tool" && m["call_id"] == call_id)
        .expect("the request carries the call's result");
    let told = told["content"].as_str().unwrap();
    assert!(
        told.contains("denied") && told.contains("not today"),
        "{told}"
    );

    let file = recorded(&session_file(&dir));
    assert_eq!(of_type(&file, "decision"), vec![&decision]);
}

#[test]
fn a_gate_left_by_the_end_of_control_input_pauses_and_resume_continues_it() {
    let dir = scratch("eof");
    let mut run = Driver::spawn(demo_run(&dir, &["--break", "tool:fault", "--control", "-"]));
    let gate = run.next_of("gate");
    assert_eq!(gate["agent"], "risks");
    run.close_input();
    let (code, events, stderr) = run.finish();
    assert_eq!(code, Some(2), "{stderr}");
    assert_eq!(outcome(&events), "paused");
    assert!(of_type(&events, "decision").is_empty());
    assert!(
        !events
            .iter()
            .any(|e| e["type"] == "tool_call" && e["agent"] == "risks"),
        "the call waiting at the gate did not run"
    );
    let file = session_file(&dir);
    assert_eq!(outcome(&recorded(&file)), "paused");

    // Resume prints only what is new; its numbering goes on from the file's.
    let (code, resumed, stderr) = Driver::spawn(crewtui(
        &dir,
        &["resume", file.to_str().unwrap(), "--headless"],
    ))
    .finish();
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(resumed[0]["seq"], events.len() as u64);
    let decision = of_type(&resumed, "decision");
    assert_eq!(decision.len(), 1, "{decision:?}");
    assert_eq!(decision[0]["gate"], gate["gate"]);
    assert_eq!(decision[0]["op"], "continue");
    assert_eq!(decision[0]["by_resume"], true);
    let call_id = &gate["detail"]["call_id"];
    let ran = resumed
        .iter()
        .find(|e| e["type"] == "tool_failed" && e["call_id"] == *call_id)
        .expect("the call ran");
    assert_eq!(ran["kind"], "panic", "the fault tool itself ran: {ran}");
    assert_eq!(outcome(&resumed), "completed");
    assert_eq!(outcome(&recorded(&file)), "completed");
}

#[test]
fn hostile_control_lines_are_reported_and_skipped_and_a_later_line_decides() {
    let dir = scratch("hostile");
    let mut run = Driver::spawn(demo_run(&dir, &["--break", "tool:fault", "--control", "-"]));
    let gate = run.next_of("gate");
    let call_id = gate["detail"]["call_id"].as_str().unwrap().to_string();

    let long = vec![b'x'; 1024 * 1024 + 10];
    let garbage = b"\xff\xfe\x00\x1b[2J\x07\x80 \x9b31m".to_vec();
    let cases: [(&str, Vec<u8>, &str, &str); 5] = [
        (
            "malformed JSON",
            br#"{"op":"deny","call_id":"#.to_vec(),
            "unreadable",
            "is not a command",
        ),
        (
            "an unknown op",
            br#"{"op":"fly","to":"the moon"}"#.to_vec(),
            "unreadable",
            "unknown variant `fly`",
        ),
        (
            "a line over 1 MiB",
            long,
            "unreadable",
            "longer than 1024 KiB",
        ),
        (
            "a deny for a call not waiting",
            br#"{"op":"deny","call_id":"call_nobody_9","reason":"x"}"#.to_vec(),
            "deny",
            "no tool call call_nobody_9 waits at a gate",
        ),
        ("binary garbage", garbage, "unreadable", "is not a command"),
    ];
    for (what, line, op, error) in cases {
        run.send_bytes(&line);
        let rejected = run.next_of("command_rejected");
        assert_eq!(rejected["op"], op, "{what}: {rejected}");
        let said = rejected["error"].as_str().unwrap();
        assert!(said.contains(error), "{what}: {said}");
        assert!(
            said.len() < 2000,
            "{what}: the error quotes a bounded excerpt"
        );
        assert!(
            !said.chars().any(|c| c.is_control()),
            "{what}: no raw control character reaches the output: {said:?}"
        );
    }
    run.send(json!({"op": "continue", "gate": gate["gate"]}));
    let decision = run.next_of("decision");
    assert_eq!(decision["gate"], gate["gate"]);
    assert_eq!(decision["op"], "continue");

    let (code, events, stderr) = run.finish();
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(outcome(&events), "completed");
    assert_eq!(of_type(&events, "command_rejected").len(), 5);
    assert_eq!(of_type(&events, "decision").len(), 1);
    assert!(
        events
            .iter()
            .any(|e| e["type"] == "tool_failed" && e["call_id"] == call_id && e["kind"] == "panic"),
        "the continued call ran"
    );
}

const STEPPER: &str = r#"
name: stepper
settings: {scripted_tokens_per_second: 0}
agents:
  - id: solo
    provider: scripted
    tools: [calculator]
    is_terminal: true
    script:
      - reply: "Working it out."
        tool_calls: [{tool: calculator, arguments: {expression: "6*7"}}]
      - reply: "It is 42."
"#;

#[test]
fn stepping_walks_a_model_call_then_its_tool_call_then_the_next_model_call() {
    let dir = scratch("step");
    let crew = dir.join("crew.yaml");
    std::fs::write(&crew, STEPPER).unwrap();
    let args = [
        "run",
        crew.to_str().unwrap(),
        "--headless",
        "--input",
        "go",
        "--step",
        "--control",
        "-",
    ];
    let mut run = Driver::spawn(crewtui(&dir, &args));
    loop {
        match run.next() {
            Some(e) if e["type"] == "gate" => run.send(json!({"op": "step", "gate": e["gate"]})),
            Some(e) if e["type"] == "session_finished" => break,
            Some(_) => {}
            None => panic!("stdout ended early:\n{}", run.so_far()),
        }
    }
    let (code, events, stderr) = run.finish();
    assert_eq!(code, Some(0), "{stderr}");

    // Each piece of work happens only once the gate before it is left.
    let walk: Vec<String> = events
        .iter()
        .filter_map(|e| match e["type"].as_str().unwrap() {
            "gate" => Some(format!("gate {}", e["kind"].as_str().unwrap())),
            "decision" => Some(format!("decision {}", e["op"].as_str().unwrap())),
            t @ ("model_request" | "tool_call" | "tool_result") => Some(t.to_string()),
            _ => None,
        })
        .collect();
    assert_eq!(
        walk,
        [
            "gate model_call",
            "decision step",
            "model_request",
            "gate tool_call",
            "decision step",
            "tool_call",
            "tool_result",
            "gate model_call",
            "decision step",
            "model_request",
        ]
    );
    assert_eq!(outcome(&events), "completed");
}

#[test]
fn an_edited_request_is_what_the_server_receives_and_the_file_records_it() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let reply = |text: &str| {
        fake_openai::Reply::events(&[
            &json!({"choices": [{"index": 0, "delta": {"content": text}, "finish_reason": null}]})
                .to_string(),
            &json!({"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}).to_string(),
            "[DONE]",
        ])
    };
    let server = runtime.block_on(fake_openai::FakeServer::start(vec![reply("Fine.")]));
    let dir = scratch("edit-request");
    let crew = dir.join("crew.yaml");
    std::fs::write(
        &crew,
        format!(
            r#"
name: edited
providers:
  fake: {{kind: openai, base_url: "{}", api_key_env: CREWTUI_CONTROL_TEST_KEY}}
agents:
  - {{id: writer, provider: fake, model: test-model, is_terminal: true, system_prompt: "You write long essays."}}
"#,
            server.base_url()
        ),
    )
    .unwrap();
    let args = [
        "run",
        crew.to_str().unwrap(),
        "--headless",
        "--input",
        "Say something.",
        "--break",
        "model:writer",
        "--control",
        "-",
    ];
    let mut command = crewtui(&dir, &args);
    command.env("CREWTUI_CONTROL_TEST_KEY", "sk-control-test");
    let mut run = Driver::spawn(command);
    let gate = run.next_of("gate");
    assert_eq!(gate["kind"], "model_call");
    assert_eq!(gate["detail"]["system_prompt"], "You write long essays.");
    assert!(
        server.requests().is_empty(),
        "nothing is sent before the gate is left"
    );
    let edited = "You answer in one word.";
    run.send(json!({"op": "edit_request", "gate": gate["gate"], "system_prompt": edited}));
    let (code, events, stderr) = run.finish();
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(outcome(&events), "completed");

    let seen = server.requests();
    assert_eq!(seen.len(), 1);
    let messages = seen[0].body["messages"].as_array().unwrap();
    assert_eq!(messages[0], json!({"role": "system", "content": edited}));
    assert!(
        !seen[0].body.to_string().contains("long essays"),
        "the original prompt was not sent"
    );

    let file = recorded(&session_file(&dir));
    let decision = of_type(&file, "decision");
    assert_eq!(decision.len(), 1);
    assert_eq!(decision[0]["gate"], gate["gate"]);
    assert_eq!(decision[0]["op"], "edit_request");
    assert_eq!(decision[0]["system_prompt"], edited);
    let request = of_type(&file, "model_request");
    assert_eq!(
        request[0]["system_prompt"], edited,
        "the file shows what was sent"
    );
}

#[test]
fn a_fifo_written_only_once_a_gate_shows_drives_the_run_like_stdin() {
    let dir = scratch("fifo");
    let fifo = dir.join("control");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    let mut command = demo_run(
        &dir,
        &["--break", "tool:fault", "--control", fifo.to_str().unwrap()],
    );
    command.stdin(Stdio::null());
    let mut run = Driver::spawn(command);
    run.close_input();

    // The run goes on before anything opens the FIFO for writing, as a script that writes
    // only when it has something to say needs.
    let gate = run.next_of("gate");
    run.input = Some(Box::new(
        std::fs::OpenOptions::new().write(true).open(&fifo).unwrap(),
    ));
    run.send(json!({"op": "approve", "call_id": gate["detail"]["call_id"]}));
    let decision = run.next_of("decision");
    assert_eq!(decision["op"], "approve");
    let (code, events, stderr) = run.finish();
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(outcome(&events), "completed");
}

/// `waiter` stops at a tool call while `talker`, beside it in a group, streams a long reply.
const TALKING_GROUP: &str = r#"
name: talking
settings: {scripted_tokens_per_second: 40}
routing:
  signals:
    lead: [{signal: "[GO]", target: pair}]
  parallel_groups:
    pair: {agents: [waiter, talker], wait_for_all: true, timeout_seconds: 600, next_agent: closer}
agents:
  - id: lead
    provider: scripted
    script: [{reply: "[GO]"}]
  - id: waiter
    provider: scripted
    tools: [calculator]
    script:
      - {reply: "Sum.", tool_calls: [{tool: calculator, arguments: {expression: "1+1"}}]}
      - {reply: "Two."}
  - id: talker
    provider: scripted
    script: [{reply: "WORDS"}]
  - id: closer
    provider: scripted
    is_terminal: true
    script: [{reply: "Done."}]
"#;

#[test]
fn a_line_written_in_pieces_while_other_events_come_is_read_whole() {
    let dir = scratch("pieces");
    let crew = dir.join("crew.yaml");
    let words = vec!["word"; 120].join(" ");
    std::fs::write(&crew, TALKING_GROUP.replace("WORDS", &words)).unwrap();
    let args = [
        "run",
        crew.to_str().unwrap(),
        "--headless",
        "--input",
        "go",
        "--break",
        "tool:calculator",
        "--control",
        "-",
    ];
    let mut run = Driver::spawn(crewtui(&dir, &args));
    let gate = run.next_of("gate");
    assert_eq!(gate["agent"], "waiter");
    let line = json!({"op": "approve", "call_id": gate["detail"]["call_id"]}).to_string();
    let (head, tail) = line.split_at(line.len() / 2);
    let input = run.input.as_mut().unwrap();
    input.write_all(head.as_bytes()).unwrap();
    input.flush().unwrap();
    // The talker's tokens come while the line is half written.
    for _ in 0..5 {
        loop {
            let e = run.next().expect("the run goes on");
            if e["type"] == "token" && e["agent"] == "talker" {
                break;
            }
        }
    }
    run.send_bytes(tail.as_bytes());
    let answered = loop {
        let e = run.next().expect("the run goes on");
        if e["type"] == "decision" || e["type"] == "command_rejected" {
            break e;
        }
    };
    assert_eq!(answered["type"], "decision", "{answered}");
    assert_eq!(answered["op"], "approve");
    let (code, events, stderr) = run.finish();
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(outcome(&events), "completed");
}
