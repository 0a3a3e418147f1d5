//! Item 4: engine overhead, 1,000 turns headless.

use super::*;

pub(crate) const TURNS: usize = 1_000;
pub(crate) const TURN_TOKENS: usize = 20;

/// Runs a session to its end, counting events and turns, with nothing but a counter as the
/// front end: (events, turns, outcome).
pub(crate) async fn drain(mut handle: SessionHandle) -> (u64, u64, Option<Outcome>) {
    let (mut events, mut turns, mut outcome) = (0, 0, None);
    while let Some(event) = handle.events.recv().await {
        events += 1;
        match event.kind {
            EventKind::AgentStarted { .. } => turns += 1,
            EventKind::SessionFinished { outcome: o, .. } => outcome = Some(o),
            _ => {}
        }
    }
    let _ = handle.task.await;
    (events, turns, outcome)
}

/// The ring, its agents on a priced model, so that the cost tally prices every reply.
fn priced_ring() -> Crew {
    let mut crew = ring_crew(TURNS, TURN_TOKENS);
    for agent in &mut crew.agents {
        agent.model = "gpt-4o-mini".into();
    }
    crew
}

pub(crate) fn engine_item() {
    let rt = runtime();
    let (mut turn_rates, mut event_rates, mut counts) = (vec![], vec![], (0, 0));
    let mut engine_times = Vec::new();
    for _ in 0..runs() {
        let crew = priced_ring();
        let p = parts(&crew);
        let t = Instant::now();
        let (events, turns, outcome) =
            rt.block_on(async { drain(engine::start(crew, "go".into(), p)).await });
        engine_times.push(t.elapsed());
        let secs = t.elapsed().as_secs_f64();
        assert_eq!(outcome, Some(Outcome::Limit), "the ring runs to max_rounds");
        turn_rates.push(turns as f64 / secs);
        event_rates.push(events as f64 / secs);
        counts = (turns, events);
    }
    note(&format!(
        "a ring of 4 scripted agents, {} turns of {TURN_TOKENS} tokens, {} events per run, \
         no session file, a counting consumer",
        counts.0, counts.1
    ));
    row(
        "turns per second",
        format!("{:.0}", median(&turn_rates)),
        "",
        None,
    );
    row(
        "events per second",
        format!("{:.0}", median(&event_rates)),
        "",
        None,
    );
    row("peak RSS", mb(peak_rss()), "", None);

    // The same run once more, its events kept, then fed to the tally alone, many times.
    let crew = priced_ring();
    let ledger = Ledger::for_crew(&crew);
    let p = parts(&crew);
    let events = rt.block_on(async {
        let mut handle = engine::start(crew, "go".into(), p);
        let mut events = Vec::new();
        while let Some(event) = handle.events.recv().await {
            events.push(event);
        }
        events
    });
    let tally_times: Vec<Duration> = (0..runs() * 4)
        .map(|_| tally(ledger.clone(), &events))
        .collect();
    let (engine_time, tally_time) = (median(&engine_times), median(&tally_times));
    let share = tally_time.as_secs_f64() / engine_time.as_secs_f64() * 100.0;
    note(
        "cost tally: the run's events through a Ledger as the run model feeds it (a price \
         looked up per model call, an estimate per token, the provider's figures per reply, \
         the budgets asked before every model call), timed alone against the engine's whole run",
    );
    row("cost tally over one run's events", ms(tally_time), "", None);
    row(
        "cost tally / engine time",
        format!("{share:.2} %"),
        "< 1 %",
        Some(share < 1.0),
    );
}

/// How long `events` take to go through `ledger` the way the run model feeds it, with the
/// budgets asked before every model call as the engine would. Which account an event is for
/// is found beforehand: the run model has that index already.
fn tally(mut ledger: Ledger, events: &[Event]) -> Duration {
    let account = |agent: &engine::AgentId| ledger.account_of(agent.as_str()).unwrap_or(0);
    let accounts: Vec<usize> = events
        .iter()
        .map(|event| match &event.kind {
            EventKind::ModelRequest { agent, .. }
            | EventKind::Token { agent, .. }
            | EventKind::Message { agent, .. } => account(agent),
            _ => 0,
        })
        .collect();
    let t = Instant::now();
    for (event, &i) in events.iter().zip(&accounts) {
        match &event.kind {
            EventKind::ModelRequest { model, .. } => {
                std::hint::black_box(ledger.passed(Some(i)));
                ledger.request(i, model);
            }
            EventKind::Token { text, .. } => ledger.streamed(i, text),
            EventKind::Message { usage, content, .. } => {
                ledger.replied(i, usage.as_ref(), content);
            }
            _ => {}
        }
    }
    let spent = t.elapsed();
    assert!(ledger.total().cost_usd > 0.0, "every reply was priced");
    spent
}
