//! Item 12: what gates cost a run that stops at none — item 9's ping-pong through the engine at
//! rate 0, with no debugging settings and with breakpoints armed that never match.

use crewtui::engine::AgentId;
use crewtui::engine::gate::{GateSettings, Gatekeeper, Place};

use super::*;

/// Turns per run: enough that a session's start and end are a small share of it, few enough
/// that what a turn costs has grown little with the run (the agents' scripts are cloned, and
/// their history copied, every turn), which would dilute the checks' share.
const GATE_TURNS: usize = 1_000;

/// Breakpoints the ping-pong never reaches. They arm the gatekeeper, so every check takes its
/// lock and looks through them, where an unarmed check is one atomic load.
const NEVER: [&str; 2] = ["agent:nobody", "tool:nonexistent"];

/// The least share of the unarmed run's turns per second the armed run keeps.
const KEEPS: f64 = 0.97;

/// How often a turn of the ping-pong asks the gatekeeper: before the turn, before its model
/// call, for guidance to add to that call, and after the reply (budgets). It has no tools, no
/// signals and no failures, which would each ask once more.
const ASKS_PER_TURN: u32 = 4;

fn never() -> Vec<crewtui::engine::gate::BreakSpec> {
    NEVER
        .iter()
        .map(|spec| spec.parse().expect("a breakpoint"))
        .collect()
}

struct Measured {
    turns_per_second: f64,
    cpu_per_turn: Duration,
}

/// One run of the ping-pong, armed or not, drained by a counting consumer.
fn run_once(rt: &tokio::runtime::Runtime, crew: &Crew, armed: bool) -> Measured {
    let mut p = parts(crew);
    if armed {
        p.gates.breakpoints = never();
    }
    let cpu0 = process_cpu();
    let t = Instant::now();
    let (turns, gates, announced, outcome) = rt.block_on(async {
        let mut handle = engine::start(crew.clone(), "go".into(), p);
        let (mut turns, mut gates, mut announced, mut outcome) = (0usize, 0usize, false, None);
        while let Some(event) = handle.events.recv().await {
            match event.kind {
                EventKind::AgentStarted { .. } => turns += 1,
                EventKind::Gate { .. } => gates += 1,
                EventKind::Breakpoints { .. } => announced = true,
                EventKind::SessionFinished { outcome: o, .. } => outcome = Some(o),
                _ => {}
            }
        }
        let _ = handle.task.await;
        (turns, gates, announced, outcome)
    });
    let (wall, cpu) = (t.elapsed(), process_cpu() - cpu0);
    assert_eq!(
        outcome,
        Some(Outcome::Limit),
        "the ping-pong runs to max_rounds"
    );
    assert_eq!(turns, GATE_TURNS, "every turn ran");
    assert_eq!(gates, 0, "no breakpoint matches");
    assert_eq!(announced, armed, "armed runs announce their breakpoints");
    Measured {
        turns_per_second: turns as f64 / wall.as_secs_f64(),
        cpu_per_turn: cpu / turns as u32,
    }
}

/// The mean of the fastest quarter of `rates`. Whatever else the machine does only ever slows
/// a run, so the fastest runs are the closest to what the work costs, and a few of them
/// together move less between invocations of the bench than the single fastest.
fn fastest_quarter(rates: &[f64]) -> f64 {
    let mut v = rates.to_vec();
    v.sort_by(|a, b| b.partial_cmp(a).expect("no NaN"));
    let quarter = &v[..v.len().div_ceil(4)];
    quarter.iter().sum::<f64>() / quarter.len() as f64
}

/// What one check costs, timed alone over many: the turn's check, which looks through every
/// breakpoint before it finds none.
fn check_ns(crew: &Crew, armed: bool) -> f64 {
    const CHECKS: u32 = 1_000_000;
    let settings = GateSettings {
        breakpoints: if armed { never() } else { Vec::new() },
        ..GateSettings::default()
    };
    let gates = Gatekeeper::new(settings, Ledger::for_crew(crew));
    let agent = AgentId::from("ping");
    let t = Instant::now();
    for _ in 0..CHECKS {
        std::hint::black_box(gates.check(std::hint::black_box(&agent), Place::Turn));
    }
    t.elapsed().as_secs_f64() * 1e9 / f64::from(CHECKS)
}

pub(crate) fn gates_item() {
    let rt = runtime();
    let crew = load_crew(&ping_pong_yaml(GATE_TURNS));
    // Warm up: the first runs pay for page faults and lazy statics.
    for armed in [false, true] {
        run_once(&rt, &crew, armed);
    }
    let pairs = 20 * runs() + 1;
    let (mut off, mut on) = (Vec::new(), Vec::new());
    for i in 0..pairs {
        // Each goes first in half the pairs, so neither gains from the other's warm caches.
        if i % 2 == 0 {
            off.push(run_once(&rt, &crew, false));
            on.push(run_once(&rt, &crew, true));
        } else {
            on.push(run_once(&rt, &crew, true));
            off.push(run_once(&rt, &crew, false));
        }
    }
    note(&format!(
        "the ping-pong of item 9, {GATE_TURNS} turns at rate 0, no session file, a counting \
         consumer; {pairs} pairs, unarmed and armed (--break {}) back to back",
        NEVER.join(" --break ")
    ));
    let rates =
        |runs: &[Measured]| -> Vec<f64> { runs.iter().map(|m| m.turns_per_second).collect() };
    let spread = |runs: &[Measured]| {
        let v = rates(runs);
        let (lo, hi) = v
            .iter()
            .fold((f64::MAX, f64::MIN), |(lo, hi), &r| (lo.min(r), hi.max(r)));
        format!("{:.0} ({lo:.0}..{hi:.0})", median(&v))
    };
    let cpu = |runs: &[Measured]| {
        let v: Vec<Duration> = runs.iter().map(|m| m.cpu_per_turn).collect();
        median(&v).as_secs_f64() * 1e6
    };
    row(
        "turns/s unarmed, median (least..most)",
        spread(&off),
        "",
        None,
    );
    row("turns/s armed, never stopping", spread(&on), "", None);
    row(
        "CPU per turn, unarmed / armed, medians",
        format!(
            "{:.1} / {:.1} µs ({:+.1} %)",
            cpu(&off),
            cpu(&on),
            (cpu(&on) / cpu(&off) - 1.0) * 100.0
        ),
        "",
        None,
    );
    let (fast_off, fast_on) = (fastest_quarter(&rates(&off)), fastest_quarter(&rates(&on)));
    row(
        "turns/s, fastest quarter, unarmed / armed",
        format!("{fast_off:.0} / {fast_on:.0} ({:.3})", fast_on / fast_off),
        "",
        None,
    );
    // The verdict: within a pair the two runs share the machine's mood, which a run of a
    // thousand turns (tens of ms) evens out; the median of the pairs passes over the pairs a
    // neighbour's burst spoiled.
    let kept = median(
        &off.iter()
            .zip(&on)
            .map(|(off, on)| on.turns_per_second / off.turns_per_second)
            .collect::<Vec<_>>(),
    );
    row(
        "armed / unarmed turns/s, median of pairs",
        format!("{kept:.3}"),
        &format!(">= {KEEPS}"),
        Some(kept >= KEEPS),
    );
    let per_turn = median(&on.iter().map(|m| m.cpu_per_turn).collect::<Vec<_>>());
    let checks: Vec<(f64, f64)> = (0..runs())
        .map(|_| (check_ns(&crew, false), check_ns(&crew, true)))
        .collect();
    let unarmed = median(&checks.iter().map(|c| c.0).collect::<Vec<_>>());
    let armed = median(&checks.iter().map(|c| c.1).collect::<Vec<_>>());
    row(
        "one check alone, unarmed / armed",
        format!("{unarmed:.1} / {armed:.1} ns"),
        "",
        None,
    );
    row(
        &format!("  {ASKS_PER_TURN} armed checks / CPU of an armed turn"),
        format!(
            "{:.3} %",
            armed * f64::from(ASKS_PER_TURN) / (per_turn.as_secs_f64() * 1e9) * 100.0
        ),
        "",
        None,
    );
}
