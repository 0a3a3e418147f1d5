//! Item 7: a 1,000,000-event session file: first frame, index, seeks, and the parse baseline.

use super::*;

pub(crate) const REPLAY_EVENTS: usize = 1_000_000;

/// Writes a session of `n` events: rounds of a lead thinking and calling a tool, a parallel
/// group of four streaming interleaved, and a hand-off, until `n` events are written.
pub(crate) fn write_session(path: &Path, n: usize) -> Crew {
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
                round: None,
                entry: None,
            },
        );
        emit(
            &mut out,
            EventKind::ToolCall {
                agent: "lead".into(),
                call_id: format!("c{round}").into(),
                tool: "calculator".into(),
                arguments: serde_json::json!({"expression": "6*7"}),
            },
        );
        emit(
            &mut out,
            EventKind::ToolResult {
                agent: "lead".into(),
                call_id: format!("c{round}").into(),
                tool: "calculator".into(),
                output: "42".into(),
                elapsed_ms: 1,
                truncated: false,
                entry: None,
            },
        );
        emit(
            &mut out,
            EventKind::ParallelStarted {
                group: "team".into(),
                agents: ids[1..].iter().map(|s| (*s).into()).collect(),
                round: None,
                handoffs: None,
            },
        );
        for id in &ids[1..] {
            emit(
                &mut out,
                EventKind::AgentStarted {
                    agent: (*id).into(),
                    turn: round,
                    input: "research".into(),
                    round: None,
                    entry: None,
                },
            );
        }
        for token in &tokens {
            for id in &ids[1..] {
                emit(
                    &mut out,
                    EventKind::Token {
                        agent: (*id).into(),
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
                    agent: (*id).into(),
                    content: words.clone(),
                    usage: Some(Usage {
                        prompt_tokens: 100,
                        completion_tokens: 400,
                        cached_tokens: 0,
                    }),
                    finish_reason: Some("stop".into()),
                    truncated: false,
                    tool_calls: Vec::new(),
                    text_calls: false,
                    entry: None,
                },
            );
        }
        emit(
            &mut out,
            EventKind::ParallelFinished {
                group: "team".into(),
                completed: ids[1..].iter().map(|s| (*s).into()).collect(),
                failed: vec![],
                timed_out: vec![],
                joined: None,
                output: None,
            },
        );
        emit(
            &mut out,
            EventKind::Handoff {
                from: "team".into(),
                to: "lead".into(),
                reason: engine::HandoffReason::ParallelNext,
                signal: None,
                handoffs: None,
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
pub(crate) fn parse_baseline(path: &Path) -> (Duration, Duration) {
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

pub(crate) struct ReplayTimes {
    pub(crate) first_frame: Duration,
    pub(crate) cold_seeks: Duration,
    pub(crate) indexed: Duration,
    pub(crate) seek_half: Duration,
    pub(crate) seek_back: Duration,
}

pub(crate) fn replay_draw(
    terminal: &mut Terminal<TestBackend>,
    replayer: &mut Playback,
    view: &mut View,
    theme: &Theme,
) {
    view.mode = Mode::Replay(Timeline {
        position: replayer.position(),
        total: replayer.len(),
        playing: false,
        speed: Some(1.0),
        t_ms: replayer.t_ms(),
        total_ms: replayer.total_ms(),
        skipping: None,
        reading: !replayer.is_read(),
    });
    view.sync(replayer.run());
    let now_ms = replayer.t_ms();
    terminal
        .draw(|f| render::draw(f, replayer.run(), view, theme, now_ms))
        .expect("draw");
}

/// The replay TUI's steps, timed: open the file and draw the first frame (the rest of the file
/// still being read), wait for the whole index and seek to the end (every event folded once
/// more), seek to 50 % and back to 10 % with a frame after each.
pub(crate) fn replay_once(path: &Path) -> ReplayTimes {
    let theme = Theme::default_dark();
    let mut terminal = Terminal::new(TestBackend::new(200, 50)).expect("term");
    let t = Instant::now();
    let (mut replayer, _, _) =
        Playback::open_first(path, TimelineLimits::default()).expect("the session reads");
    let mut view = View::new(replayer.run().agents().len());
    replay_draw(&mut terminal, &mut replayer, &mut view, &theme);
    let first_frame = t.elapsed();
    replayer.read_all();
    let len = replayer.len();
    assert_eq!(len, REPLAY_EVENTS, "the whole recording is laid out");
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
    // What a user who jumps at once meets: a fresh playback (the file opened again, untimed)
    // that has folded nothing past its checkpoints yet. One playback at a time, as in use.
    drop(replayer);
    let (mut fresh, _, _) =
        Playback::open(path, TimelineLimits::default()).expect("the session reads");
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

pub(crate) fn replay_item() {
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
        "< 0.5 s",
        Some(f < Duration::from_millis(500)),
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
        "< 100 ms",
        Some(s < Duration::from_millis(100)),
    );
    let c = median(&cold);
    row(
        "the same two seeks before any index exists",
        ms(c),
        "< 200 ms",
        Some(c < Duration::from_millis(200)),
    );
    let rss = peak_rss();
    row("peak RSS", mb(rss), "< 150 MB", Some(rss < 150_000_000));
}
