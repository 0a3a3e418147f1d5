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

pub(crate) fn engine_item() {
    let rt = runtime();
    let (mut turn_rates, mut event_rates, mut counts) = (vec![], vec![], (0, 0));
    for _ in 0..runs() {
        let crew = ring_crew(TURNS, TURN_TOKENS);
        let p = parts(&crew);
        let t = Instant::now();
        let (events, turns, outcome) =
            rt.block_on(async { drain(engine::start(crew, "go".into(), p)).await });
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
}
