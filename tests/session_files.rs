//! Session files as the recorder writes them and the readers, `crewtui sessions` and
//! `crewtui replay --headless` read them: whole, torn by a crash, damaged in the middle,
//! continued, listed and transcribed.

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crewtui::config::model::Crew;
use crewtui::engine::{
    self, Event, EventKind, HandoffReason, Outcome, SessionParts, ToolFailureKind, Usage,
};
use crewtui::session::{self, Header, ManualClock, Recorder, SessionError};

/// A fresh directory under the target dir for one test.
fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("session_files")
        .join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn crew(yaml: &str) -> Crew {
    let report = crewtui::config::load_crew_str(yaml, Path::new("crew.yaml"), Path::new("."));
    report
        .crew
        .unwrap_or_else(|| panic!("{:?}", report.diagnostics))
}

fn small_crew() -> Crew {
    crew(
        "name: launch plan\ninput: go\nagents:\n  - {id: a, provider: scripted, script: [{reply: one}]}\n",
    )
}

fn at(seconds: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(seconds)
}

fn event(seq: u64, t_ms: u64, kind: EventKind) -> Event {
    Event { seq, t_ms, kind }
}

/// A short run by hand: one agent, a tool call, a reply with usage, the end.
fn small_run(agent: &str, tokens: (u64, u64), outcome: Option<Outcome>) -> Vec<Event> {
    let mut events = vec![
        EventKind::SessionStarted {
            session_id: "s".into(),
            crew: "launch plan".into(),
            input: "go".into(),
        },
        EventKind::AgentStarted {
            agent: agent.into(),
            turn: 1,
            input: "go".into(),
            round: None,
            entry: None,
        },
        EventKind::Token {
            agent: agent.into(),
            text: "on".into(),
            reasoning: false,
        },
        EventKind::Token {
            agent: agent.into(),
            text: "e".into(),
            reasoning: false,
        },
        EventKind::Message {
            agent: agent.into(),
            content: "one".into(),
            usage: Some(Usage {
                prompt_tokens: tokens.0,
                completion_tokens: tokens.1,
                cached_tokens: 0,
            }),
            finish_reason: Some("stop".into()),
            truncated: false,
            tool_calls: Vec::new(),
            text_calls: false,
            entry: None,
        },
    ];
    if let Some(outcome) = outcome {
        events.push(EventKind::SessionFinished {
            outcome,
            reason: String::new(),
        });
    }
    events
        .into_iter()
        .enumerate()
        .map(|(i, kind)| event(i as u64, i as u64 * 100, kind))
        .collect()
}

fn record(dir: &Path, header: &Header, events: &[Event]) -> PathBuf {
    let mut recorder = Recorder::create(dir, header).unwrap();
    for e in events {
        recorder.record(e).unwrap();
    }
    recorder.path().to_path_buf()
}

fn lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
}

#[test]
fn a_recorded_file_is_private_starts_with_its_header_and_reads_back_equal() {
    let dir = scratch("roundtrip").join("new/sessions");
    let header = Header::new("s1", &small_crew(), "go", at(1_795_898_212));
    let events = small_run("a", (10, 3), Some(Outcome::Completed));
    let mut recorder = Recorder::create(&dir, &header).unwrap();
    assert_eq!(
        recorder.fsyncs(),
        0,
        "the header waits for the first boundary's sync"
    );
    for e in &events {
        recorder.record(e).unwrap();
    }
    // The message is a boundary but comes within `SYNC_EVERY` of the start, so it shares the sync
    // of the end, which always syncs; starts and tokens never do.
    assert_eq!(recorder.fsyncs(), 1);
    let path = recorder.path().to_path_buf();
    drop(recorder);
    assert_eq!(path, dir.join("20261128T203652Z-launch-plan.jsonl"));

    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&path), 0o600);
        assert_eq!(mode(&dir), 0o700);
    }

    let lines = lines(&path);
    assert_eq!(lines.len(), 1 + events.len());
    let first: serde_json::Value = serde_json::from_str(&lines[0]).unwrap();
    assert_eq!(first["format"], "crewtui-session");
    assert_eq!(first["version"], 2);
    assert_eq!(first["crewtui_version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(first["crew_name"], "launch plan");
    assert_eq!(first["started_at"], "2026-11-28T20:36:52Z");
    assert_eq!(first["crew"]["agents"][0]["id"], "a");
    // Each event line is the event exactly as the engine serialises it.
    for (line, e) in lines[1..].iter().zip(&events) {
        assert_eq!(*line, serde_json::to_string(e).unwrap());
    }

    let recording = session::read(&path).unwrap();
    assert_eq!(recording.header, header);
    assert_eq!(recording.events, events);
    assert_eq!(recording.warnings, []);
    assert_eq!(recording.valid_len, std::fs::metadata(&path).unwrap().len());

    // A second session of the crew in the same second gets a name of its own.
    let second = record(&dir, &header, &[]);
    assert_eq!(second, dir.join("20261128T203652Z-launch-plan-2.jsonl"));
}

fn token(seq: u64, text: &str) -> Event {
    event(
        seq,
        seq,
        EventKind::Token {
            agent: "a".into(),
            text: text.into(),
            reasoning: false,
        },
    )
}

/// A recorder in a scratch dir `name`, its writer timed by a manual clock.
fn timed_recorder(name: &str) -> (Recorder, std::sync::Arc<ManualClock>) {
    let header = Header::new("s1", &small_crew(), "go", at(1_795_898_212));
    let clock = ManualClock::new();
    let recorder = Recorder::create_timed(&scratch(name), &header, clock.clock()).unwrap();
    (recorder, clock)
}

#[test]
fn tokens_reach_the_file_while_the_session_is_quiet_and_a_pause_at_once() {
    let (mut recorder, clock) = timed_recorder("quiet");
    let path = recorder.path().to_path_buf();
    for seq in 0..3 {
        recorder.record(&token(seq, "word ")).unwrap();
    }
    // Nothing else happens: the writer's own thread still writes the tokens out, for
    // `tail -f` and for a crash, without waiting for the session to move on — once they are
    // `FILE_FLUSH_EVERY` old, and not before.
    clock.advance(session::FLUSH_EVERY);
    assert_eq!(lines(&path).len(), 1, "tokens are held back");
    clock.advance(session::FILE_FLUSH_EVERY - session::FLUSH_EVERY - Duration::from_millis(1));
    assert_eq!(lines(&path).len(), 1, "tokens are held back");
    clock.advance(Duration::from_millis(1));
    assert_eq!(lines(&path).len(), 4, "the tokens are written");
    assert_eq!(recorder.fsyncs(), 0, "tokens are never synced");

    recorder.record(&token(3, "last ")).unwrap();
    let paused = event(
        4,
        4,
        EventKind::Paused {
            agent: "a".into(),
            prompt: "Which launch date?".into(),
        },
    );
    recorder.record(&paused).unwrap();
    // The process may wait for a person here, or be killed: the pause and everything before
    // it are on disk when `record` returns, though no time passed.
    assert_eq!(recorder.fsyncs(), 1);
    let recording = session::read(&path).unwrap();
    assert_eq!(recording.events.len(), 5);
    assert_eq!(recording.events[4], paused);
    assert_eq!(recording.events[3], token(3, "last "));
    drop(recorder);
}

#[test]
fn streamed_tokens_wake_the_writer_once_a_second_not_every_batch() {
    let (mut recorder, clock) = timed_recorder("takes");
    let path = recorder.path().to_path_buf();
    let counters = recorder.counters();
    let takes = || counters.takes.load(std::sync::atomic::Ordering::Relaxed);
    // A token every 100 ms for 0.9 s: the file holds them all that time anyway, so the
    // writer's thread has no reason to wake for them.
    for seq in 0..10 {
        recorder.record(&token(seq, "word ")).unwrap();
        clock.advance(session::FLUSH_EVERY - Duration::from_millis(1));
    }
    assert_eq!(lines(&path).len(), 1, "tokens are held back");
    assert_eq!(takes(), 0, "the writer woke for tokens it would only hold");
    clock.advance(Duration::from_millis(10));
    assert_eq!(lines(&path).len(), 11, "a second on, they are written");
    assert_eq!(takes(), 1);

    // A reply is a boundary: written within FLUSH_EVERY, with the tokens before it.
    recorder.record(&token(10, "last ")).unwrap();
    let reply = event(
        11,
        11,
        EventKind::Message {
            agent: "a".into(),
            content: "word last".into(),
            usage: None,
            finish_reason: Some("stop".into()),
            truncated: false,
            tool_calls: Vec::new(),
            text_calls: false,
            entry: None,
        },
    );
    recorder.record(&reply).unwrap();
    clock.advance(session::FLUSH_EVERY - Duration::from_millis(1));
    assert_eq!(lines(&path).len(), 11, "not before it is due");
    clock.advance(Duration::from_millis(1));
    assert_eq!(
        lines(&path).len(),
        13,
        "the reply is written within FLUSH_EVERY"
    );
    assert_eq!(takes(), 2);
    drop(recorder);
}

#[test]
fn a_gate_is_on_disk_when_the_agent_stops_and_many_gates_share_a_sync() {
    let (mut recorder, clock) = timed_recorder("gates");
    let path = recorder.path().to_path_buf();
    let gate = |seq: u64| {
        event(
            seq,
            seq,
            EventKind::Gate {
                gate: format!("g{seq}").as_str().into(),
                agent: "a".into(),
                kind: crewtui::engine::gate::GateKind::ToolCall,
                reason: "step".into(),
                detail: serde_json::Value::Null,
            },
        )
    };
    recorder.record(&token(0, "word ")).unwrap();
    // A script answers each gate as soon as it reads it: the gate and what came before it are
    // in the file when `record` returns, though no time passed...
    for seq in 1..=50 {
        recorder.record(&gate(seq)).unwrap();
        assert_eq!(
            lines(&path).len(),
            1 + seq as usize + 1,
            "gate {seq} is written"
        );
    }
    // ...and they share a sync, taken within the interval, not one sync a gate.
    assert_eq!(recorder.fsyncs(), 0);
    clock.advance(session::SYNC_EVERY);
    assert_eq!(recorder.fsyncs(), 1);
}

#[test]
fn a_boundary_is_synced_within_the_sync_interval_though_nothing_follows() {
    let (mut recorder, clock) = timed_recorder("boundary-sync");
    let events = small_run("a", (10, 3), None);
    for e in &events {
        recorder.record(e).unwrap();
    }
    // The reply is a boundary: written within `FLUSH_EVERY` with everything before it...
    clock.advance(session::FLUSH_EVERY);
    assert_eq!(
        session::read(recorder.path()).unwrap().events,
        events,
        "written before it is synced"
    );
    // ...and synced once `SYNC_EVERY` has passed since the writer started, by the writer's
    // thread, since nothing else comes.
    assert_eq!(recorder.fsyncs(), 0);
    clock.advance(session::SYNC_EVERY - session::FLUSH_EVERY - Duration::from_millis(1));
    assert_eq!(recorder.fsyncs(), 0, "synced before the interval is over");
    clock.advance(Duration::from_millis(1));
    assert_eq!(recorder.fsyncs(), 1);
}

#[test]
fn a_burst_of_many_batches_reads_back_whole_and_in_order() {
    let dir = scratch("burst");
    let header = Header::new("s1", &small_crew(), "go", at(1_795_898_212));
    let mut recorder = Recorder::create(&dir, &header).unwrap();
    // About 2 MB of tokens, far more than one batch, handed over as fast as they come.
    let mut events: Vec<Event> = (0..20_000)
        .map(|i| token(i, &format!("token {i} {} ", "x".repeat(i as usize % 150))))
        .collect();
    events.push(event(
        20_000,
        20_000,
        EventKind::SessionFinished {
            outcome: Outcome::Completed,
            reason: String::new(),
        },
    ));
    for e in &events {
        recorder.record(e).unwrap();
    }
    let recording = session::read(recorder.path()).unwrap();
    assert_eq!(recording.warnings, []);
    assert!(
        recording.events == events,
        "events differ from what was recorded"
    );
}

#[test]
fn a_file_cut_off_mid_line_reads_up_to_its_last_whole_line() {
    let dir = scratch("torn");
    let header = Header::new("s1", &small_crew(), "go", at(1_795_898_212));
    let events = small_run("a", (10, 3), Some(Outcome::Completed));
    let path = record(&dir, &header, &events);
    let whole = std::fs::read(&path).unwrap();
    // Cut the last event (line 7: header + 6 events) in the middle.
    let cut = whole.len() - 10;
    std::fs::write(&path, &whole[..cut]).unwrap();

    let recording = session::read(&path).unwrap();
    assert_eq!(recording.events, events[..events.len() - 1]);
    assert_eq!(recording.warnings.len(), 1, "{:?}", recording.warnings);
    assert_eq!(recording.warnings[0].line, 7);
    assert!(
        recording.warnings[0]
            .to_string()
            .starts_with("line 7: cut off"),
        "{}",
        recording.warnings[0]
    );
    let last_newline = whole[..cut].iter().rposition(|&b| b == b'\n').unwrap();
    assert_eq!(recording.valid_len, last_newline as u64 + 1);
}

#[test]
fn a_corrupt_line_in_the_middle_is_named_and_skipped_and_the_rest_is_read() {
    let dir = scratch("corrupt");
    let header = Header::new("s1", &small_crew(), "go", at(1_795_898_212));
    let events = small_run("a", (10, 3), Some(Outcome::Completed));
    let path = record(&dir, &header, &events);
    let mut lines = lines(&path);
    lines.insert(3, "{\"seq\": 2, \"t_ms\": 20, \"typ".to_string());
    lines.insert(
        5,
        r#"{"seq":3,"t_ms":1,"type":"no_such_event"}"#.to_string(),
    );
    lines.insert(6, "\u{0}\u{1}garbage".to_string());
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();

    let recording = session::read(&path).unwrap();
    assert_eq!(recording.events, events);
    let named: Vec<usize> = recording.warnings.iter().map(|w| w.line).collect();
    assert_eq!(named, [4, 6, 7], "{:?}", recording.warnings);
    assert!(recording.warnings[0].message.contains("not JSON"));
    assert!(recording.warnings[1].message.contains("not an event"));
    assert!(recording.warnings[1].message.contains("no_such_event"));
}

#[test]
fn a_file_without_a_session_header_is_an_error_naming_it() {
    let dir = scratch("not-a-session");
    let cases: [(&str, &[u8]); 5] = [
        ("empty.jsonl", b""),
        (
            "events.jsonl",
            b"{\"seq\":0,\"t_ms\":0,\"type\":\"agent_cancelled\",\"agent\":\"a\"}\n",
        ),
        (
            "other.jsonl",
            b"{\"format\":\"something-else\",\"version\":1}\n",
        ),
        ("text.jsonl", b"hello\nworld\n"),
        (
            "torn-header.jsonl",
            b"{\"format\":\"crewtui-session\",\"ver",
        ),
    ];
    for (name, content) in cases {
        let path = dir.join(name);
        std::fs::write(&path, content).unwrap();
        let error = session::read(&path).unwrap_err();
        assert!(
            matches!(error, SessionError::NotASession { .. }),
            "{name}: {error:?}"
        );
        let message = error.to_string();
        assert!(
            message.starts_with(&format!("{}:1: not a crewtui session", path.display())),
            "{message}"
        );
    }

    let newer = dir.join("newer.jsonl");
    std::fs::write(&newer, "{\"format\":\"crewtui-session\",\"version\":99}\n").unwrap();
    let error = session::read(&newer).unwrap_err();
    assert!(matches!(
        error,
        SessionError::UnsupportedVersion { version: 99, .. }
    ));

    let missing = dir.join("missing.jsonl");
    let error = session::read(&missing).unwrap_err();
    assert!(matches!(error, SessionError::Io { .. }));
    assert!(error.to_string().contains("missing.jsonl"));
}

#[test]
fn appending_locks_the_file_and_cuts_the_torn_tail_before_the_first_new_line() {
    let dir = scratch("append");
    let header = Header::new("s1", &small_crew(), "go", at(1_795_898_212));
    let events = small_run("a", (10, 3), None);
    let path = record(&dir, &header, &events);
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(&path)
        .unwrap();
    file.write_all(b"{\"seq\":5,\"t_ms\":500,\"type\":\"tok")
        .unwrap();
    drop(file);
    let torn = std::fs::read(&path).unwrap();

    let (mut recorder, recording) = Recorder::append(&path).unwrap();
    assert_eq!(recording.events, events);
    assert_eq!(recording.warnings.len(), 1);
    assert_eq!(recording.warnings[0].line, 7);
    // Nothing is cut until something is appended: a resume refused now (a session that
    // ended) leaves the file as it was.
    assert_eq!(std::fs::read(&path).unwrap(), torn);

    // One process at a time appends: a second is refused, naming the holder, and changes
    // nothing.
    let error = Recorder::append(&path).unwrap_err();
    assert!(matches!(error, SessionError::Locked { .. }), "{error:?}");
    let message = error.to_string();
    assert!(
        message.starts_with(&format!("{}: another process", path.display()))
            && message.contains(&format!("pid {}", std::process::id())),
        "{message}"
    );
    assert_eq!(std::fs::read(&path).unwrap(), torn);

    let more = event(
        5,
        600,
        EventKind::SessionFinished {
            outcome: Outcome::Completed,
            reason: "done".into(),
        },
    );
    recorder.record(&more).unwrap();
    drop(recorder);

    let again = session::read(&path).unwrap();
    assert_eq!(again.warnings, [], "the torn line is gone");
    assert_eq!(again.events.len(), events.len() + 1);
    assert_eq!(again.events.last(), Some(&more));
    // The lock goes with the recorder.
    assert!(Recorder::append(&path).is_ok());
}

/// Three sessions of two crews, a cut-off one among them, and files that are not sessions.
fn sessions_dir(name: &str) -> PathBuf {
    let dir = scratch(name);
    let small = small_crew();
    let other = crew(
        "name: other\ninput: go\nagents:\n  - {id: b, provider: scripted, script: [{reply: one}]}\n",
    );
    let oldest = Header::new("s-old", &small, "go", at(1_700_000_000));
    record(
        &dir,
        &oldest,
        &small_run("a", (10, 3), Some(Outcome::Completed)),
    );
    let middle = Header::new("s-mid", &other, "go", at(1_750_000_000));
    let mut two_agents = small_run("b", (5, 5), None);
    two_agents.push(event(
        6,
        2_500,
        EventKind::AgentStarted {
            agent: "c".into(),
            turn: 1,
            input: "x".into(),
            round: None,
            entry: None,
        },
    ));
    two_agents.push(event(
        7,
        2_600,
        EventKind::AgentStarted {
            agent: "b".into(),
            turn: 2,
            input: "y".into(),
            round: None,
            entry: None,
        },
    ));
    record(&dir, &middle, &two_agents);
    let newest = Header::new("s-new", &small, "go", at(1_800_000_000));
    let paused = small_run("a", (7, 1), Some(Outcome::Paused));
    record(&dir, &newest, &paused);
    std::fs::write(dir.join("notes.jsonl"), "{\"a\":1}\n").unwrap();
    std::fs::write(dir.join("README.txt"), "not a session").unwrap();
    dir
}

#[test]
fn list_gives_the_newest_first_with_its_figures() {
    let dir = sessions_dir("list");
    let (sessions, errors) = session::list(&dir);
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(errors[0].to_string().contains("notes.jsonl"));
    let ids: Vec<&str> = sessions.iter().map(|s| s.session_id.as_str()).collect();
    assert_eq!(ids, ["s-new", "s-mid", "s-old"]);

    let newest = &sessions[0];
    assert_eq!(newest.crew, "launch plan");
    assert_eq!(newest.outcome, Some(Outcome::Paused));
    assert_eq!(newest.agents, 1);
    assert_eq!(newest.tokens, (7, 1));
    assert_eq!(newest.duration_ms, 500);
    assert_eq!(newest.started_at, "2027-01-15T08:00:00Z");

    let middle = &sessions[1];
    assert_eq!(middle.crew, "other");
    assert_eq!(middle.outcome, None, "cut off");
    assert_eq!(middle.agents, 2);
    assert_eq!(middle.tokens, (5, 5));
    assert_eq!(middle.duration_ms, 2_600);
    assert_eq!(sessions[2].outcome, Some(Outcome::Completed));

    let (none, errors) = session::list(&dir.join("does-not-exist"));
    assert!(none.is_empty() && errors.is_empty());
}

/// The demo crew, instant, recorded through the engine's event log as a real run is.
async fn record_demo(dir: &Path) -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("crews");
    let yaml = std::fs::read_to_string(root.join("demo.yaml")).unwrap();
    let yaml = yaml.replace(
        "scripted_tokens_per_second: 40",
        "scripted_tokens_per_second: 0",
    );
    let report = crewtui::config::load_crew_str(&yaml, &root.join("demo.yaml"), &root);
    let crew = report.crew.expect("the demo crew loads");
    let input = crew.input.clone().unwrap();
    let http = crewtui::provider::openai::http_client(Duration::from_secs(5)).unwrap();
    let mut parts = SessionParts::for_crew(&crew, &http);
    let header = Header::new(&parts.session_id, &crew, &input, SystemTime::now());
    let recorder = Recorder::create(dir, &header).unwrap();
    let path = recorder.path().to_path_buf();
    parts.log = Some(Box::new(recorder));
    let mut handle = engine::start(crew, input, parts);
    while let Some(e) = handle.events.recv().await {
        if let EventKind::Paused { .. } = e.kind {
            handle
                .commands
                .send(engine::Command::answer(
                    "Crew authors on Linux; launch next Tuesday.",
                ))
                .await
                .unwrap();
        }
    }
    assert_eq!(handle.task.await.unwrap(), Outcome::Completed);
    path
}

#[tokio::test]
async fn the_transcript_of_a_recorded_run_tells_the_whole_story() {
    let dir = scratch("transcript");
    let path = record_demo(&dir).await;
    let recording = session::read(&path).unwrap();
    assert_eq!(recording.warnings, []);
    let text = session::transcript(&recording);
    let has = |part: &str| assert!(text.contains(part), "missing {part:?} in:\n{text}");
    has(&format!("# Session {}", recording.header.session_id));
    has("- Crew: launch-plan");
    has("## lead, turn 1");
    has("**Input**\n\n> Plan the public launch of our open-source CLI, crewtui.");
    has(
        "**Reasoning** (not part of the reply)\n\n```text\nThe goal names no date or audience. Ask first.\n```",
    );
    has("**Reply**");
    has("> Happy to plan this launch.");
    has("**Paused**");
    has("**Answer** to lead");
    has("> Crew authors on Linux; launch next Tuesday.");
    has("## Parallel group research: market, tech, risks");
    has("### market, turn 1");
    has("**Tool call** `calculator`");
    has("\"expression\": \"48000 * 0.12 * 0.35\"");
    has("**Tool result** `calculator`");
    has("2016");
    has("**Tool failed** `fault`");
    has("panicked");
    has("load model crashed");
    has("**Parallel group research finished**");
    has("**Hand-off** writer → editor (signal [REVIEW], ");
    has("*Usage: ");
    has("## Outcome: completed");
    // Members of a parallel group are shown one after the other, in the group's order.
    let market = text.find("### market, turn 1").unwrap();
    let tech = text.find("### tech, turn 1").unwrap();
    let risks = text.find("### risks, turn 1").unwrap();
    let finished = text.find("**Parallel group research finished**").unwrap();
    assert!(market < tech && tech < risks && risks < finished);
    assert!(!text.contains("## Outcome: cut off"));
}

#[test]
fn the_transcript_shows_failures_cancellations_and_a_cut_off_end() {
    let dir = scratch("transcript-failures");
    let header = Header::new("s1", &small_crew(), "go", at(1_795_898_212));
    let kinds = [
        EventKind::AgentStarted {
            agent: "a".into(),
            turn: 1,
            input: "go".into(),
            round: None,
            entry: None,
        },
        EventKind::Token {
            agent: "a".into(),
            text: "half a rep".into(),
            reasoning: false,
        },
        EventKind::AgentFailed {
            agent: "a".into(),
            error: "HTTP 503: overloaded".into(),
            status: Some(503),
            retryable: true,
        },
        EventKind::Handoff {
            from: "a".into(),
            to: "b".into(),
            reason: HandoffReason::HandoffTarget,
            signal: None,
            handoffs: None,
        },
        EventKind::ToolFailed {
            agent: "b".into(),
            call_id: "c1".into(),
            tool: "slow".into(),
            error: "ran past 10s".into(),
            kind: ToolFailureKind::Timeout,
            entry: None,
        },
        EventKind::AgentCancelled { agent: "b".into() },
    ];
    let events: Vec<Event> = kinds
        .into_iter()
        .enumerate()
        .map(|(i, kind)| event(i as u64, i as u64 * 1_000, kind))
        .collect();
    let path = record(&dir, &header, &events);
    let text = session::transcript(&session::read(&path).unwrap());
    for part in [
        "**Partial reply** (never finished)\n\n> half a rep",
        "**a failed** (HTTP 503, retryable, +2.0s)",
        "HTTP 503: overloaded",
        "**Hand-off** a → b (handoff target, ",
        "**Tool failed** `slow` (c1, +4.0s): timed out",
        "**b cancelled**",
        "## Outcome: cut off",
    ] {
        assert!(text.contains(part), "missing {part:?} in:\n{text}");
    }
}

fn crewtui(args: &[&str]) -> Output {
    // Shared by the tests running at once, so never emptied.
    let home = Path::new(env!("CARGO_TARGET_TMPDIR")).join("session_files/home");
    common::binary(&home, args).output().expect("crewtui runs")
}

#[test]
fn the_sessions_command_lists_newest_first() {
    let dir = sessions_dir("cli-sessions");
    let out = crewtui(&["sessions", "--sessions-dir", dir.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0));
    let stdout = String::from_utf8(out.stdout).unwrap();
    let rows: Vec<&str> = stdout.lines().collect();
    assert_eq!(rows.len(), 4, "{stdout}");
    for column in [
        "STARTED",
        "CREW",
        "OUTCOME",
        "AGENTS",
        "TOKENS IN/OUT",
        "DURATION",
        "FILE",
    ] {
        assert!(rows[0].contains(column), "{stdout}");
    }
    assert!(
        rows[1].starts_with("2027-01-15T08:00:00Z  launch plan  paused"),
        "{stdout}"
    );
    assert!(
        rows[1].contains("7/1") && rows[1].contains("500ms"),
        "{stdout}"
    );
    assert!(
        rows[1].ends_with("20270115T080000Z-launch-plan.jsonl"),
        "{stdout}"
    );
    assert!(
        rows[2].contains("other") && rows[2].contains("cut off"),
        "{stdout}"
    );
    assert!(rows[2].contains("2.6s"), "{stdout}");
    assert!(rows[3].contains("completed"), "{stdout}");
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.contains("notes.jsonl:1: not a crewtui session"),
        "{stderr}"
    );
}

#[test]
fn the_sessions_command_on_an_empty_dir_says_so() {
    let dir = scratch("cli-empty");
    let out = crewtui(&["sessions", "--sessions-dir", dir.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        format!("no sessions in {}\n", dir.display())
    );
    // Without --sessions-dir, the data directory.
    let out = crewtui(&["sessions"]);
    assert_eq!(out.status.code(), Some(0));
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(stdout.ends_with("home/data/crewtui/sessions\n"), "{stdout}");
}

#[test]
fn replay_headless_prints_the_transcript_and_warns_about_damage() {
    let dir = scratch("cli-replay");
    let header = Header::new("s1", &small_crew(), "go", at(1_795_898_212));
    let path = record(
        &dir,
        &header,
        &small_run("a", (10, 3), Some(Outcome::Completed)),
    );
    let mut lines = lines(&path);
    lines.insert(2, "not json".to_string());
    let torn = lines.join("\n") + "\n{\"seq\":9";
    std::fs::write(&path, torn).unwrap();
    let file = path.to_str().unwrap();

    let out = crewtui(&["replay", file, "--headless"]);
    assert_eq!(out.status.code(), Some(0));
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(stdout.starts_with("# Session s1\n"), "{stdout}");
    assert!(
        stdout.contains("> one") && stdout.contains("## Outcome: completed"),
        "{stdout}"
    );
    let stderr = String::from_utf8(out.stderr).unwrap();
    let warnings: Vec<&str> = stderr.lines().collect();
    assert_eq!(warnings.len(), 2, "{stderr}");
    assert!(
        warnings[0].starts_with(&format!("{file}:3: warning: not JSON")),
        "{stderr}"
    );
    assert!(
        warnings[1].starts_with(&format!("{file}:9: warning: cut off")),
        "{stderr}"
    );

    let other = dir.join("other.jsonl");
    std::fs::write(&other, "hello\n").unwrap();
    let out = crewtui(&["replay", other.to_str().unwrap(), "--headless"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.contains("other.jsonl:1: not a crewtui session"),
        "{stderr}"
    );

    let out = crewtui(&["replay", file, "--speed", "100"]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "clap rejects a speed out of range"
    );
}
