//! Item 2: draw time of a pane holding 1,000,000 lines vs 1,000.

use super::*;

pub(crate) fn history_pane(lines: usize) -> Run {
    let agents = [AgentInfo {
        id: "scribe".into(),
        name: "Scribe".into(),
        role: "writes a lot".into(),
    }];
    let mut app = Run::new("history", &agents, TimelineLimits::unbounded());
    let mut seq = 0;
    let mut apply = |app: &mut Run, kind: EventKind| {
        app.apply(&Event {
            seq,
            t_ms: seq,
            kind,
        });
        seq += 1;
    };
    apply(
        &mut app,
        EventKind::SessionStarted {
            session_id: "s".into(),
            crew: "history".into(),
            input: "go".into(),
        },
    );
    // Turns of 99 reply lines each (plus the turn's own line): many blocks, as a long
    // session has, not one giant one.
    let per_turn = 100;
    for turn in 0..lines / per_turn {
        apply(
            &mut app,
            EventKind::AgentStarted {
                agent: "scribe".into(),
                turn: turn as u32 + 1,
                input: "more".into(),
                round: None,
                entry: None,
            },
        );
        let mut text = String::new();
        for line in 0..per_turn - 1 {
            text.push_str(&format!(
                "turn {turn} line {line}: the reply goes on, as long replies do, for a while\n"
            ));
        }
        text.pop();
        apply(
            &mut app,
            EventKind::Token {
                agent: "scribe".into(),
                text,
                reasoning: false,
            },
        );
        apply(
            &mut app,
            EventKind::Message {
                agent: "scribe".into(),
                content: String::new(),
                usage: None,
                finish_reason: Some("stop".into()),
                truncated: false,
                tool_calls: Vec::new(),
                text_calls: false,
                entry: None,
            },
        );
    }
    // A reply still streaming at the end.
    apply(
        &mut app,
        EventKind::AgentStarted {
            agent: "scribe".into(),
            turn: 0,
            input: "more".into(),
            round: None,
            entry: None,
        },
    );
    app
}

/// Median time of `n` draws of `app` in `scroll`, a token appended before each (as while
/// streaming).
pub(crate) fn time_draws(app: &mut Run, scroll: Scroll, n: usize) -> Duration {
    let mut terminal = Terminal::new(TestBackend::new(200, 50)).expect("term");
    let mut view = View::new(app.agents().len());
    let theme = Theme::default_dark();
    view.scroll[0] = scroll;
    let token = Event {
        seq: 0,
        t_ms: 0,
        kind: EventKind::Token {
            agent: "scribe".into(),
            text: " word".into(),
            reasoning: false,
        },
    };
    // The first draw fills the wrap caches it needs; what is timed is the frames after it.
    terminal
        .draw(|f| render::draw(f, app, &mut view, &theme, 0))
        .expect("draw");
    let mut times = Vec::with_capacity(n);
    for _ in 0..n {
        app.apply(&token);
        let t = Instant::now();
        terminal
            .draw(|f| render::draw(f, app, &mut view, &theme, 0))
            .expect("draw");
        times.push(t.elapsed());
    }
    median(&times)
}

/// Where a mode scrolls a pane of so many lines.
pub(crate) type ScrollAt = fn(usize) -> Scroll;

pub(crate) fn history_item() {
    let t = Instant::now();
    let mut small = history_pane(1_000);
    let mut large = history_pane(1_000_000);
    note(&format!(
        "one pane, 200x50, no history limit; 1,000 vs 1,000,000 lines in turns of 100 \
         (built in {:.1} s); median of 200 draws per run, a token appended before each",
        t.elapsed().as_secs_f64()
    ));
    let modes: [(&str, ScrollAt); 3] = [
        ("following the newest line", |_| Scroll::Follow),
        ("scrolled up 500 lines", |total| Scroll::Top(total - 548)),
        ("scrolled to the top", |_| Scroll::Top(0)),
    ];
    {
        let mut terminal = Terminal::new(TestBackend::new(200, 50)).expect("term");
        let mut view = View::new(1);
        view.scroll[0] = Scroll::Top(0);
        let t = Instant::now();
        terminal
            .draw(|f| render::draw(f, &large, &mut view, &Theme::default_dark(), 0))
            .expect("draw");
        row(
            "first scrolled draw of 1M lines (wraps all once)",
            ms(t.elapsed()),
            "",
            None,
        );
    }
    for (label, scroll) in &modes {
        let (mut a, mut b) = (vec![], vec![]);
        for _ in 0..runs() {
            a.push(time_draws(&mut small, scroll(1_000), 200));
            b.push(time_draws(&mut large, scroll(1_000_000), 200));
        }
        let (a, b) = (median(&a), median(&b));
        let ratio = b.as_secs_f64() / a.as_secs_f64();
        row(
            &format!("{label}: 1k / 1M lines"),
            format!("{} / {}", ms(a), ms(b)),
            "",
            None,
        );
        row(
            &format!("{label}: ratio 1M / 1k"),
            format!("{ratio:.2}x"),
            "<= 1.2x",
            Some(ratio <= 1.2),
        );
    }
}
