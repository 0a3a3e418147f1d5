//! Crews written for go-agentic, opened unchanged: the crews of `tests/fixtures/goagentic`
//! (go-agentic's layout, with its `primary` / `backup` models, agent files named unlike their
//! ids, host-program tools, a signal without a target and go-agentic's own settings) run
//! headless end to end, on the scripted provider or against the loopback fake server.

mod common;
#[path = "common/fake_openai.rs"]
mod fake_openai;

use std::path::{Path, PathBuf};
use std::process::Output;

use crewtui::engine::run::{AgentInfo, Item, Note, TimelineLimits};
use crewtui::engine::{Event, Run};
use fake_openai::{FakeServer, Reply};
use serde_json::{Value, json};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/goagentic")
        .join(name)
}

/// A fresh directory under the target dir for one test.
fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("go-agentic")
        .join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The fixture `name` copied into `to` (executables stay executable), each `(from, to)` text
/// replaced in its files, those named in `leave_out` not copied.
fn copy_fixture(name: &str, to: &Path, replace: &[(&str, &str)], leave_out: &[&str]) {
    fn copy(from: &Path, to: &Path, replace: &[(&str, &str)], leave_out: &[&str]) {
        std::fs::create_dir_all(to).unwrap();
        for entry in std::fs::read_dir(from).unwrap() {
            let entry = entry.unwrap();
            let name = entry.file_name();
            if leave_out.iter().any(|l| name == *l) {
                continue;
            }
            let (source, target) = (entry.path(), to.join(&name));
            if source.is_dir() {
                copy(&source, &target, replace, leave_out);
                continue;
            }
            std::fs::copy(&source, &target).unwrap();
            let mut text = std::fs::read_to_string(&source).unwrap();
            for (a, b) in replace {
                text = text.replace(a, b);
            }
            std::fs::write(&target, text).unwrap();
        }
    }
    copy(&fixture(name), to, replace, leave_out);
}

/// The binary with `args`, its logs under `home`, no provider variables of the developer's.
fn crewtui(home: &Path, args: &[&str]) -> tokio::process::Command {
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_crewtui"));
    command
        .args(args)
        .env("XDG_STATE_HOME", home.join("state"))
        .env("XDG_DATA_HOME", home.join("data"));
    for var in ["OPENAI_API_KEY", "OPENAI_BASE_URL", "OLLAMA_HOST"] {
        command.env_remove(var);
    }
    command
}

/// The binary running `crew` headless on `input`, recording in `home/sessions`.
fn headless(home: &Path, crew: &Path, input: &str) -> tokio::process::Command {
    let sessions = home.join("sessions");
    let (crew, sessions) = (crew.to_str().unwrap(), sessions.to_str().unwrap());
    let args = [
        "run",
        crew,
        "--headless",
        "--input",
        input,
        "--sessions-dir",
        sessions,
    ];
    crewtui(home, &args)
}

/// How long a run of the binary may take before the test gives up on it: generous, for a
/// loaded machine; runs here take well under a second.
const PATIENCE: std::time::Duration = std::time::Duration::from_secs(120);

async fn output(command: &mut tokio::process::Command) -> Output {
    let run = command.kill_on_drop(true).output();
    tokio::time::timeout(PATIENCE, run)
        .await
        .expect("crewtui ends in time")
        .expect("crewtui runs")
}

fn stdout(out: &Output) -> String {
    String::from_utf8(out.stdout.clone()).unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn events(out: &Output) -> Vec<Event> {
    stdout(out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not an event: {l}: {e}")))
        .collect()
}

fn values(events: &[Event]) -> Vec<Value> {
    events
        .iter()
        .map(|e| serde_json::to_value(e).unwrap())
        .collect()
}

fn of_type<'a>(events: &'a [Value], kind: &str) -> Vec<&'a Value> {
    events.iter().filter(|e| e["type"] == kind).collect()
}

/// The session file of a run recorded in `dir`, parsed line by line (the header first).
fn recorded(dir: &Path) -> Vec<Value> {
    let files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    let text = std::fs::read_to_string(&files[0]).unwrap();
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_go_agentic_crew_runs_with_its_tools_bound_one_left_unbound_and_a_signal_ending_it() {
    let home = scratch("helpdesk");
    let sessions = home.join("sessions");
    let crew = fixture("helpdesk");
    let out = output(&mut headless(&home, &crew, "My desk machine is slow")).await;
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(0), "{err}\n{}", stdout(&out));
    let events = values(&events(&out));

    // Agent files named `01-triage.yaml` and `tech-support.yaml` were found by their ids.
    let started: Vec<&Value> = of_type(&events, "agent_started")
        .into_iter()
        .map(|e| &e["agent"])
        .collect();
    assert_eq!(started, [&json!("triage"), &json!("technician")]);

    // The command binding got the call's arguments on stdin; the scripted one gave its
    // results in order; the unbound tool failed as not found and went back to the model.
    let tools: Vec<(String, String)> = events
        .iter()
        .filter_map(|e| match e["type"].as_str() {
            Some("tool_result") => Some((e["tool"].to_string(), e["output"].to_string())),
            Some("tool_failed") => Some((
                e["tool"].to_string(),
                format!("{} {}", e["kind"], e["error"]),
            )),
            _ => None,
        })
        .collect();
    assert_eq!(tools.len(), 4, "{tools:#?}");
    assert_eq!(tools[0].0, "\"GetCPUUsage\"");
    assert_eq!(
        tools[0].1,
        json!("cpu 12% (asked with {\"host\":\"desk-7\"})\n").to_string()
    );
    assert_eq!(
        tools[1],
        ("\"GetDiskSpace\"".into(), "\"/ 41% used\"".into())
    );
    assert_eq!(
        tools[2],
        ("\"GetDiskSpace\"".into(), "\"/ 42% used\"".into())
    );
    assert_eq!(tools[3].0, "\"PingHost\"");
    assert!(
        tools[3]
            .1
            .starts_with("\"not_found\" \"tool `PingHost` is not bound to anything"),
        "{}",
        tools[3].1
    );
    let replies: Vec<&Value> = of_type(&events, "message")
        .into_iter()
        .filter(|m| m["agent"] == "technician")
        .map(|m| &m["content"])
        .collect();
    assert_eq!(
        replies.last().unwrap().as_str().unwrap(),
        "CPU and disk are fine; the ping tool is missing here. [DONE]"
    );

    // `[DONE]` has `target: null`: the run ends there, though the technician has a handoff
    // target it would otherwise go back to.
    assert!(
        of_type(&events, "handoff")
            .iter()
            .all(|h| h["to"] != "triage")
    );
    let finished = events.last().unwrap();
    assert_eq!(finished["type"], "session_finished");
    assert_eq!(finished["outcome"], "completed");
    assert_eq!(
        finished["reason"],
        "signal [DONE] of agent `technician` ends the run"
    );

    // go-agentic's keys: those without effect said once each as such, a key go-agentic never
    // defined an unknown key, the empty target and the unbound tool warned about.
    for line in [
        "info: settings.config_mode: go-agentic key `config_mode`, no effect in crewtui",
        "info: tasks: go-agentic key `tasks`, no effect in crewtui",
        "info: agents[0].memory_limits: go-agentic key `memory_limits`, no effect in crewtui (and in 1 more place)",
        "info: routing.agent_behaviors.triage.auto_route: go-agentic key `auto_route`, no effect in crewtui",
        "warning: agents[0].cost_limits.enforce: unknown key `enforce` (ignored)",
        "warning: routing.signals.technician[0].target: signal `[DONE]` has no target",
        "warning: agents[1].tools[2]: unknown tool `PingHost`",
    ] {
        assert!(err.contains(line), "no `{line}` in:\n{err}");
    }
    assert_eq!(err.matches("`memory_limits`").count(), 1, "{err}");
    assert!(!err.contains("unknown key `config_mode`"), "{err}");
    assert!(!err.contains("`max_cost_per_day_usd`"), "{err}");

    // Those with a meaning took effect, as the session's record of the crew shows.
    let header = &recorded(&sessions)[0];
    let settings = &header["crew"]["settings"];
    assert_eq!(
        settings["tool_timeout_seconds"], 7,
        "tool_execution_timeout_seconds"
    );
    assert_eq!(settings["max_cost_usd"], 5.0, "max_cost_per_day");
    let triage = &header["crew"]["agents"][0];
    assert_eq!(triage["max_tokens"], 200, "cost_limits.max_tokens_per_call");
    assert_eq!(
        triage["budget"]["max_cost_usd"], 1.5,
        "cost_limits.max_cost_per_day_usd"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn validate_lists_the_unbound_tools_and_its_skeleton_binds_every_one() {
    let home = scratch("skeleton");
    // go-agentic's examples keep a crew in `config/`; the crew is named by the directory
    // above it.
    let crew = home.join("helpdesk");
    copy_fixture("helpdesk", &crew.join("config"), &[], &["crew.tools.yaml"]);
    let crew_arg = crew.to_str().unwrap();

    let out = output(&mut crewtui(&home, &["validate", crew_arg])).await;
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    let report = stdout(&out);
    let unbound = format!(
        "{crew_arg}: 3 unbound tool(s), whose calls fail as not found: GetCPUUsage \
         (technician), GetDiskSpace (technician), PingHost (technician)"
    );
    assert!(report.contains(&unbound), "{report}");

    // The skeleton alone is on stdout, ready to save; the report goes to stderr.
    let out = output(&mut crewtui(
        &home,
        &["validate", crew_arg, "--bindings-skeleton"],
    ))
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stderr(&out).contains(&unbound));
    let skeleton = stdout(&out);
    let beside = crew.join("config/crew.tools.yaml");
    assert!(
        skeleton.contains(&format!(
            "# Saved as {} it is used by itself",
            beside.display()
        )),
        "{skeleton}"
    );
    std::fs::write(&beside, &skeleton).unwrap();

    let out = output(&mut crewtui(&home, &["validate", crew_arg])).await;
    let report = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{report}");
    assert!(!report.contains("unbound"), "{report}");
    assert!(!report.contains("unknown tool"), "{report}");

    // The crew runs on the stand-ins, each call answered, none failing.
    let out = output(&mut headless(&home, &crew, "slow")).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let events = values(&events(&out));
    assert!(of_type(&events, "tool_failed").is_empty());
    let results: Vec<&Value> = of_type(&events, "tool_result")
        .into_iter()
        .map(|e| &e["output"])
        .collect();
    assert_eq!(results.len(), 4);
    assert_eq!(
        results[3],
        "PingHost is not bound to anything yet (a stand-in result)"
    );

    // Another bindings file given with --tools takes the place of the one beside the crew.
    let other = home.join("other.tools.yaml");
    std::fs::write(&other, "tools:\n  PingHost: {result: pong}\n").unwrap();
    let other_arg = other.to_str().unwrap();
    let out = output(&mut crewtui(
        &home,
        &["validate", crew_arg, "--tools", other_arg],
    ))
    .await;
    let report = stdout(&out);
    assert!(
        report.contains("2 unbound tool(s), whose calls fail as not found: GetCPUUsage (technician), GetDiskSpace (technician);"),
        "{report}"
    );
}

/// The fallback fixture in `dir`, its backup's Ollama server being `server`.
fn fallback_crew(dir: &Path, server: &FakeServer) -> PathBuf {
    let crew = dir.join("fallback");
    let url = format!("http://{}", server.addr);
    copy_fixture("fallback", &crew, &[("http://127.0.0.1:11434", &url)], &[]);
    crew
}

fn answer(text: &str, prompt: u64, completion: u64) -> Reply {
    let chunk = |delta: Value| json!({"choices": [{"index": 0, "delta": delta}]}).to_string();
    Reply::events(&[
        &chunk(json!({"role": "assistant", "content": text})),
        &json!({"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}).to_string(),
        &json!({"choices": [], "usage": {"prompt_tokens": prompt, "completion_tokens": completion}})
            .to_string(),
        "[DONE]",
    ])
}

const KEY: &str = "sk-go-agentic-test-key-0042";

fn run_fallback(home: &Path, crew: &Path, server: &FakeServer) -> tokio::process::Command {
    let mut command = headless(home, crew, "Write about SSE.");
    command
        .env("OPENAI_BASE_URL", server.base_url())
        .env("OPENAI_API_KEY", KEY);
    command
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_primary_that_fails_falls_back_to_the_backup_which_answers_and_is_counted() {
    let server = FakeServer::start(vec![
        Reply::status(
            400,
            r#"{"error":{"message":"model gpt-4o is not available here"}}"#,
        ),
        answer("SSE streams events over one HTTP response.", 21, 9),
    ])
    .await;
    let home = scratch("fallback");
    let crew = fallback_crew(&home, &server);
    let out = output(&mut run_fallback(&home, &crew, &server)).await;
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}\n{}",
        stderr(&out),
        stdout(&out)
    );
    let events = events(&out);
    let all = values(&events);
    let kinds: Vec<&str> = all.iter().map(|e| e["type"].as_str().unwrap()).collect();
    let at = kinds
        .iter()
        .position(|k| *k == "fell_back")
        .expect("a fell_back event");
    assert_eq!(
        &kinds[at - 1..at + 2],
        ["model_request", "fell_back", "token"]
    );
    let fell = &all[at];
    assert_eq!(
        (
            fell["agent"].as_str(),
            fell["from"].as_str(),
            fell["to"].as_str()
        ),
        (Some("writer"), Some("gpt-4o"), Some("llama3.2"))
    );
    let error = fell["error"].as_str().unwrap();
    assert!(
        error.contains("400") && error.contains("model gpt-4o is not available here"),
        "{error}"
    );
    assert!(of_type(&all, "agent_failed").is_empty());
    assert_eq!(all.last().unwrap()["outcome"], "completed");

    // The primary went to OPENAI_BASE_URL with the key, the backup to provider_url's server
    // under /v1 with none; both with the agent's cost_limits.max_tokens_per_call.
    let seen = server.requests();
    assert_eq!(seen.len(), 2);
    let line = |i: usize| seen[i].head.lines().next().unwrap().to_string();
    assert_eq!(line(0), "POST /v1/chat/completions HTTP/1.1");
    assert_eq!(line(1), "POST /v1/chat/completions HTTP/1.1");
    assert_eq!(seen[0].body["model"], "gpt-4o");
    assert_eq!(seen[1].body["model"], "llama3.2");
    assert_eq!(
        seen[0].header("authorization"),
        Some(format!("Bearer {KEY}"))
    );
    assert_eq!(seen[1].header("authorization"), None);
    assert_eq!(seen[0].body["max_tokens"], 300);
    assert_eq!(seen[1].body["max_tokens"], 300);
    assert_eq!(seen[0].body["messages"], seen[1].body["messages"]);

    // The run model counts the reply and its usage against the model that answered, and the
    // writer's pane says it fell back.
    let agents = [AgentInfo {
        id: "writer".into(),
        name: "Writer".into(),
        role: "Writes one paragraph".into(),
    }];
    let mut run = Run::new("fallback", &agents, TimelineLimits::default());
    for event in &events {
        run.apply(event);
    }
    let writer = run.agent("writer").unwrap();
    let calls: Vec<_> = writer.calls().collect();
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].model, "llama3.2");
    let usage = calls[0].reply.as_ref().unwrap().usage.unwrap();
    assert_eq!((usage.prompt_tokens, usage.completion_tokens), (21, 9));
    let note = writer
        .timeline
        .items()
        .find_map(|item| match item {
            Item::Note(note @ Note::FellBack { .. }) => Some(note.text()),
            _ => None,
        })
        .expect("a fell-back note");
    assert!(note.ends_with("; fell back to llama3.2"), "{note}");
    let mut view = crewtui::tui::view::View::new(run.agents().len());
    let mut terminal = ratatui::Terminal::new(ratatui::backend::TestBackend::new(100, 16)).unwrap();
    view.sync(&run);
    terminal
        .draw(|f| {
            crewtui::tui::render::draw(
                f,
                &run,
                &mut view,
                &crewtui::tui::theme::Theme::default_dark(),
                0,
            )
        })
        .unwrap();
    let screen = terminal.backend().to_string();
    assert!(screen.contains("fell back to llama3.2"), "{screen}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_that_fails_too_fails_the_agent_naming_both_attempts() {
    let server = FakeServer::start(vec![
        Reply::status(400, r#"{"error":{"message":"no such model gpt-4o"}}"#),
        Reply::status(404, r#"{"error":{"message":"model llama3.2 not pulled"}}"#),
    ])
    .await;
    let home = scratch("fallback-fails");
    let crew = fallback_crew(&home, &server);
    let out = output(&mut run_fallback(&home, &crew, &server)).await;
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let all = values(&events(&out));
    assert_eq!(of_type(&all, "fell_back").len(), 1);
    let failed = of_type(&all, "agent_failed");
    assert_eq!(failed.len(), 1);
    let error = failed[0]["error"].as_str().unwrap();
    assert!(
        error.starts_with("gpt-4o failed: ")
            && error.contains("no such model gpt-4o")
            && error.contains("; its backup llama3.2 failed too: ")
            && error.contains("model llama3.2 not pulled"),
        "{error}"
    );
    assert_eq!(failed[0]["status"], 404);
    assert_eq!(server.requests().len(), 2);
    let finished = all.last().unwrap();
    assert_eq!(finished["outcome"], "failed");
    assert!(!stdout(&out).contains(KEY) && !stderr(&out).contains(KEY));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resumed_session_goes_on_with_the_next_scripted_result() {
    let home = scratch("resume-scripted");
    let crew = home.join("dice.yaml");
    std::fs::write(
        &crew,
        r#"settings: {scripted_tokens_per_second: 0}
routing:
  agent_behaviors: {roller: {wait_for_signal: true}}
  signals: {roller: [{signal: "[END]", target: ""}]}
agents:
  - id: roller
    provider: scripted
    tools: [RollDice]
    script:
      - {tool_calls: [{tool: RollDice}]}
      - {reply: rolled once}
      - {tool_calls: [{tool: RollDice}]}
      - {reply: "rolled twice [END]"}
"#,
    )
    .unwrap();
    std::fs::write(
        home.join("dice.tools.yaml"),
        "tools:\n  RollDice: {results: [\"4\", \"2\", \"6\"]}\n",
    )
    .unwrap();
    let sessions = home.join("sessions");
    let out = output(&mut headless(&home, &crew, "roll")).await;
    assert_eq!(out.status.code(), Some(2), "paused: {}", stderr(&out));
    let first = values(&events(&out));
    let results: Vec<&Value> = of_type(&first, "tool_result")
        .iter()
        .map(|e| &e["output"])
        .collect();
    assert_eq!(results, [&json!("4")]);

    let file = std::fs::read_dir(&sessions)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let out = output(&mut crewtui(
        &home,
        &[
            "resume",
            file.to_str().unwrap(),
            "--headless",
            "--answer",
            "again",
        ],
    ))
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let resumed = values(&events(&out));
    let results: Vec<&Value> = of_type(&resumed, "tool_result")
        .iter()
        .map(|e| &e["output"])
        .collect();
    assert_eq!(
        results,
        [&json!("2")],
        "the recording used the first result"
    );
    assert_eq!(resumed.last().unwrap()["outcome"], "completed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_primary_that_cannot_be_used_falls_back_and_one_that_streamed_does_not() {
    // No key in the variable the primary needs: the backup answers, saying why.
    let crew = common::crew(
        "settings: {scripted_tokens_per_second: 0}\n\
         providers:\n  cloud: {kind: openai, api_key_env: CREWTUI_GO_AGENTIC_UNSET_KEY}\n\
         agents:\n  - id: solo\n    primary: {model: gpt-4o, provider: cloud}\n    \
         backup: {model: canned, provider: scripted}\n    script: [{reply: from the backup}]\n",
    );
    let events = values(&common::run_to_end(common::start(crew, "hi"), &[]).await);
    let fell = of_type(&events, "fell_back");
    assert_eq!(fell.len(), 1);
    assert!(
        fell[0]["error"]
            .as_str()
            .unwrap()
            .contains("CREWTUI_GO_AGENTIC_UNSET_KEY"),
        "{}",
        fell[0]
    );
    let replies: Vec<&Value> = of_type(&events, "message")
        .iter()
        .map(|m| &m["content"])
        .collect();
    assert_eq!(replies, [&json!("from the backup")]);
    assert_eq!(events.last().unwrap()["outcome"], "completed");

    // Output streamed before the failure: the call is not sent again, to the backup or at all.
    let server = FakeServer::start(vec![
        Reply::events(&[
            &json!({"choices": [{"index": 0, "delta": {"content": "Half an "}}]}).to_string(),
        ])
        .end(fake_openai::End::Reset),
    ])
    .await;
    let crew = common::crew(&format!(
        "settings: {{max_retries: 0, scripted_tokens_per_second: 0}}\n\
         providers:\n  fake: {{kind: openai, base_url: \"{}\"}}\n\
         agents:\n  - id: solo\n    primary: {{model: m, provider: fake}}\n    \
         backup: {{model: canned, provider: scripted}}\n    script: [{{reply: never}}]\n",
        server.base_url()
    ));
    let events = values(&common::run_to_end(common::start(crew, "hi"), &[]).await);
    assert!(of_type(&events, "fell_back").is_empty());
    assert_eq!(server.requests().len(), 1);
    let failed = of_type(&events, "agent_failed");
    assert_eq!(failed.len(), 1);
    assert!(
        !failed[0]["error"].as_str().unwrap().contains("backup"),
        "{}",
        failed[0]
    );
    assert_eq!(events.last().unwrap()["outcome"], "failed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fifo_among_the_agent_files_or_as_the_bindings_is_refused_at_once() {
    let home = scratch("fifos");
    let crew = home.join("crew");
    copy_fixture("helpdesk", &crew, &[], &["crew.tools.yaml"]);
    for fifo in ["agents/notes.yaml", "crew.tools.yaml"] {
        let status = std::process::Command::new("mkfifo")
            .arg(crew.join(fifo))
            .status()
            .unwrap();
        assert!(status.success());
    }
    // Nothing writes to the FIFOs: a read of either would wait for ever.
    let out = output(&mut crewtui(&home, &["validate", crew.to_str().unwrap()])).await;
    assert_eq!(out.status.code(), Some(1));
    let report = stdout(&out);
    for fifo in ["agents/notes.yaml", "crew.tools.yaml"] {
        let line = format!(
            "{}:0:0: error: cannot read: a FIFO (named pipe), not a regular file",
            crew.join(fifo).display()
        );
        assert!(report.contains(&line), "{report}");
    }
}

/// The only session file in `dir`.
fn session_file(dir: &Path) -> PathBuf {
    let files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    files[0].clone()
}

/// The `detail.budget` of each budget gate of `events`, by agent.
fn budget_gates(events: &[Value]) -> Vec<(String, String)> {
    of_type(events, "gate")
        .into_iter()
        .filter(|g| g["kind"] == "budget")
        .map(|g| {
            let agent = g["agent"].as_str().unwrap().to_string();
            (agent, g["detail"]["budget"].as_str().unwrap().to_string())
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reply_the_backup_gave_is_priced_and_held_to_the_budget_at_the_backup_s_price() {
    let server = FakeServer::start(vec![
        Reply::status(400, r#"{"error":{"message":"no gpt-4o here"}}"#),
        answer("SSE streams events over one HTTP response.", 21, 9),
    ])
    .await;
    let home = scratch("fallback-priced");
    let sessions = home.join("sessions");
    // The primary is nearly free, the backup dear: its 30 tokens cost $0.03, three times the
    // run's budget (go-agentic's per-day quota), where the primary's price would be $0.00003.
    let crew = home.join("fallback");
    let url = format!("http://{}", server.addr);
    let priced = "prices:\n  gpt-4o: {input: 1, output: 1}\n  llama3.2: {input: 1000, output: 1000}\n\
                  settings:\n  max_cost_per_day: 0.01\n";
    copy_fixture(
        "fallback",
        &crew,
        &[("http://127.0.0.1:11434", &url), ("settings:\n", priced)],
        &[],
    );
    let out = output(&mut run_fallback(&home, &crew, &server)).await;
    // Stopped at the budget gate with nobody to decide: resumable, as a pause.
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let all = values(&events(&out));
    assert_eq!(of_type(&all, "fell_back").len(), 1);
    assert_eq!(
        budget_gates(&all),
        [(
            "writer".to_string(),
            "the run reached its budget of $0.010: $0.030 spent".to_string()
        )]
    );

    // What the user is shown afterwards: the sessions list and the transcript.
    let dir = sessions.to_str().unwrap();
    let listed = output(&mut crewtui(&home, &["sessions", "--sessions-dir", dir])).await;
    let listing = stdout(&listed);
    let row = listing.lines().nth(1).expect("a row for the session");
    assert!(
        row.contains(" 21/9 ") && row.contains(" $0.030 "),
        "{listing}"
    );
    let file = session_file(&sessions);
    let replayed = output(&mut crewtui(
        &home,
        &["replay", file.to_str().unwrap(), "--headless"],
    ))
    .await;
    let transcript = stdout(&replayed);
    assert!(
        transcript.contains("*Usage: 21 prompt + 9 completion tokens, $0.030"),
        "{transcript}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_on_another_provider_is_priced_by_that_provider_for_the_same_model() {
    let server = FakeServer::start(vec![
        Reply::status(503, r#"{"error":{"message":"overloaded"}}"#),
        answer("Done.", 21, 9),
    ])
    .await;
    let home = scratch("fallback-provider-priced");
    let sessions = home.join("sessions");
    // One model name on two providers: only the provider tells the prices apart.
    let yaml = format!(
        "name: two-hosts\n\
         settings: {{max_retries: 0}}\n\
         providers:\n  \
           own: {{base_url: \"{url}\", prices: {{\"*\": {{input: 1, output: 1}}}}}}\n  \
           rented: {{base_url: \"{url}\", prices: {{\"*\": {{input: 1000, output: 1000}}}}}}\n\
         agents:\n  - id: solo\n    is_terminal: true\n    budget: {{max_cost_usd: 0.01}}\n    \
         primary: {{model: qwen3, provider: own}}\n    backup: {{model: qwen3, provider: rented}}\n",
        url = server.base_url()
    );
    let crew = home.join("two-hosts.yaml");
    std::fs::write(&crew, yaml).unwrap();
    let out = output(&mut headless(&home, &crew, "go")).await;
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let all = values(&events(&out));
    assert_eq!(of_type(&all, "fell_back").len(), 1);
    assert_eq!(
        budget_gates(&all),
        [(
            "solo".to_string(),
            "agent solo reached its budget of $0.010: $0.030 spent".to_string()
        )]
    );
    let dir = sessions.to_str().unwrap();
    let listed = output(&mut crewtui(&home, &["sessions", "--sessions-dir", dir])).await;
    let listing = stdout(&listed);
    assert!(listing.contains(" $0.030 "), "{listing}");
    let file = session_file(&sessions);
    let replayed = output(&mut crewtui(
        &home,
        &["replay", file.to_str().unwrap(), "--headless"],
    ))
    .await;
    let transcript = stdout(&replayed);
    assert!(
        transcript.contains("*Usage: 21 prompt + 9 completion tokens, $0.030"),
        "{transcript}"
    );
}
