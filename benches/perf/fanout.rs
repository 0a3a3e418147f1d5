//! Item 5: 64 parallel agents, queue depth and lost events.

use super::*;

pub(crate) fn fanout_item() {
    let rt = runtime();
    let (agents, rate, seconds) = (64, 200.0, 3.0);
    let tokens = (rate * seconds) as usize;
    let (mut depths, mut engine_depths, mut lost, mut kept_pace) = (vec![], vec![], 0, vec![]);
    let mut last = (0, 0);
    for _ in 0..runs() {
        let crew = load_crew(&fan_out_yaml(agents, tokens, rate));
        let run = rt.block_on(live_run(crew, 200, 50, Duration::from_millis(50)));
        assert_eq!(run.outcome, Some(Outcome::Completed));
        depths.push(run.tap.max_tui_depth);
        engine_depths.push(run.tap.max_engine_depth);
        lost += run.tap.produced - run.stats.events;
        last = (run.tap.produced, run.stats.events);
        let (Some(from), Some(to)) = (run.tap.first_token, run.tap.finished) else {
            panic!("nothing streamed");
        };
        kept_pace.push(run.tap.tokens as f64 / (to - from).as_secs_f64());
    }
    note(&format!(
        "{agents} agents in one parallel group, {tokens} tokens each at {rate}/s, the live \
         loop on a 200x50 TestBackend; a tap samples the TUI's queue after every event"
    ));
    let depth = *depths.iter().max().expect("runs");
    row(
        "largest TUI queue depth (max over runs)",
        format!("{depth} / {EVENT_QUEUE}"),
        &format!("< {EVENT_QUEUE}"),
        Some(depth < EVENT_QUEUE),
    );
    row(
        "largest engine queue depth behind the tap",
        format!("{}", engine_depths.iter().max().expect("runs")),
        "",
        None,
    );
    row(
        "tokens per second delivered (median)",
        format!(
            "{:.0} (asked {:.0})",
            median(&kept_pace),
            agents as f64 * rate
        ),
        "",
        None,
    );
    row(
        "events produced / delivered (last run)",
        format!("{} / {}", last.0, last.1),
        "",
        None,
    );
    row(
        "events lost (all runs)",
        lost.to_string(),
        "0",
        Some(lost == 0),
    );
}
