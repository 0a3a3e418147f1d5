//! Replay: a recording fed through the same fold as a live run, under a timeline the user can
//! play, step, speed up and seek.
//!
//! The recording is a [`Playback`]: the run model at any position, with checkpoints to seek
//! back to. This module only adds the clock and the keys.

use std::io;
use std::time::Duration;

use crossterm::event::{Event as TermEvent, KeyCode, KeyEvent, KeyEventKind};
use futures_util::{Stream, StreamExt};
use ratatui::Terminal;
use ratatui::backend::Backend;
use tokio::time::Instant;

use super::keys::{self, KeyAction, KeyMode};
use super::live::{FRAME, Stats};
use super::render;
use super::terminal::{self, Outside};
use super::theme::Theme;
use super::view::{Action, Mode, Overlay, Timeline, View};
use crate::session::{Moment, Playback, ReadWarning};
use crate::text::visible_line;

/// Playback speeds `+` and `-` step through; past the last comes "as fast as possible".
pub const SPEEDS: [f64; 9] = [0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0];
/// Events folded per frame when playing as fast as possible.
const MAX_SPEED_BATCH: usize = 20_000;
/// The longest a recorded wait takes to play: one that would take longer at the speed chosen
/// (an agent thinking for 18 s) is played in this time, and the timeline says so.
pub const MAX_WAIT: Duration = Duration::from_secs(2);
/// How often the clock on screen moves through a wait.
const CLOCK_TICK: Duration = Duration::from_millis(100);
/// How often the timeline takes in what the first read of the recording has reached, while a
/// thread is still reading it.
const READING_TICK: Duration = Duration::from_millis(20);

/// How long a recorded gap of `gap_ms` takes to play at `speed`.
pub fn wait(gap_ms: u64, speed: f64) -> Duration {
    Duration::from_secs_f64(gap_ms as f64 / 1000.0 / speed).min(MAX_WAIT)
}

/// The playback clock: session time runs at `speed` from the last event played (or where it
/// was set), each gap between events taking at most [`MAX_WAIT`].
struct Clock {
    base_ms: u64,
    base: Instant,
    speed: Option<f64>,
    playing: bool,
}

impl Clock {
    /// Session time now, going through the wait toward the event at `next_ms`: a compressed
    /// wait runs its clock faster, so the screen never looks frozen.
    fn now_ms(&self, next_ms: Option<u64>) -> u64 {
        let (true, Some(speed), Some(next)) = (self.playing, self.speed, next_ms) else {
            return self.base_ms;
        };
        let gap = next.saturating_sub(self.base_ms);
        let wait = wait(gap, speed).as_secs_f64();
        let done = if wait > 0.0 {
            (self.base.elapsed().as_secs_f64() / wait).min(1.0)
        } else {
            1.0
        };
        self.base_ms + (gap as f64 * done) as u64
    }

    /// When the event at session time `t_ms` comes round.
    fn due(&self, t_ms: u64) -> Instant {
        match self.speed {
            None => self.base,
            Some(speed) => self.base + wait(t_ms.saturating_sub(self.base_ms), speed),
        }
    }

    /// The length of the wait toward `next_ms` when it is played shorter than it was.
    fn skipping(&self, next_ms: Option<u64>) -> Option<u64> {
        let (true, Some(speed), Some(next)) = (self.playing, self.speed, next_ms) else {
            return None;
        };
        let gap = next.saturating_sub(self.base_ms);
        (Duration::from_secs_f64(gap as f64 / 1000.0 / speed) > MAX_WAIT).then_some(gap)
    }

    fn rebase(&mut self, t_ms: u64) {
        self.base_ms = t_ms;
        self.base = Instant::now();
    }
}

fn faster(speed: Option<f64>) -> Option<f64> {
    match speed {
        Some(s) => SPEEDS.iter().copied().find(|&x| x > s + 1e-9),
        None => None,
    }
}

fn slower(speed: Option<f64>) -> Option<f64> {
    match speed {
        Some(s) => Some(
            SPEEDS
                .iter()
                .copied()
                .rev()
                .find(|&x| x < s - 1e-9)
                .unwrap_or(SPEEDS[0]),
        ),
        None => Some(SPEEDS[SPEEDS.len() - 1]),
    }
}

/// Plays `replayer` on `terminal` until the user quits, or `outside` says stop. `speed` `None`
/// is as fast as possible. The recording may still be being read: the timeline grows as it is.
pub async fn run<B, S, O>(
    terminal: &mut Terminal<B>,
    mut input_events: S,
    mut outside: O,
    mut replayer: Playback,
    theme: &Theme,
    speed: Option<f64>,
) -> io::Result<(Stats, Vec<ReadWarning>)>
where
    B: Backend,
    B::Error: Into<io::Error>,
    S: Stream<Item = io::Result<TermEvent>> + Unpin,
    O: Stream<Item = Outside> + Unpin,
{
    let mut view = View::new(replayer.run().agents().len());
    let mut clock = Clock {
        base_ms: 0,
        base: Instant::now(),
        speed,
        playing: !replayer.is_empty(),
    };
    let mut stats = Stats::default();
    let mut dirty = true;
    let mut last_draw = Instant::now() - FRAME;
    loop {
        if replayer.absorb() {
            dirty = true;
        }
        if dirty && last_draw.elapsed() >= FRAME {
            let next_ms = replayer.next_t_ms();
            let now_ms = clock.now_ms(next_ms).max(replayer.t_ms());
            view.mode = Mode::Replay(Timeline {
                position: replayer.position(),
                total: replayer.len(),
                playing: clock.playing,
                speed: clock.speed,
                t_ms: now_ms,
                total_ms: replayer.total_ms(),
                skipping: clock.skipping(next_ms),
                reading: !replayer.is_read(),
            });
            view.sync(replayer.run());
            terminal
                .draw(|f| render::draw(f, replayer.run(), &mut view, theme, now_ms))
                .map_err(Into::into)?;
            stats.draws += 1;
            dirty = false;
            last_draw = Instant::now();
        }
        let due = replayer
            .next_t_ms()
            .filter(|_| clock.playing)
            .map(|t| clock.due(t));
        let notice_expiry = view.notice_expiry();
        tokio::select! {
            event = input_events.next() => {
                let key = match event {
                    Some(Ok(TermEvent::Key(key))) => key,
                    Some(Ok(TermEvent::Mouse(mouse))) => {
                        view.on_mouse(replayer.run(), mouse);
                        dirty = true;
                        continue;
                    }
                    Some(Ok(_)) => { dirty = true; continue; }
                    Some(Err(e)) => return Err(e),
                    None => break,
                };
                dirty = true;
                if on_key(key, &mut replayer, &mut clock, &mut view) {
                    break;
                }
            }
            () = tokio::time::sleep_until(due.unwrap_or_else(Instant::now)), if due.is_some() => {
                let now = Instant::now();
                let mut applied = 0;
                // Each event is due a gap after the one before: the clock moves on from where
                // that one was due, never from when it happened to be played.
                while let Some(t) = replayer.next_t_ms() {
                    let due = clock.due(t);
                    if due > now || applied >= MAX_SPEED_BATCH || !replayer.forward() {
                        break;
                    }
                    clock.base_ms = t;
                    clock.base = due;
                    applied += 1;
                }
                stats.events += applied as u64;
                if replayer.at_end() {
                    clock.playing = false;
                    clock.rebase(replayer.t_ms());
                }
                dirty = true;
            }
            Some(outside) = outside.next() => match outside {
                Outside::Stop => break,
                Outside::Continued => {
                    terminal::repaint(terminal).map_err(Into::into)?;
                    // Playback goes on from where it stood, not by the time it was stopped.
                    clock.rebase(replayer.t_ms());
                    dirty = true;
                }
            },
            () = tokio::time::sleep_until(last_draw + FRAME), if dirty => {}
            // The clock on screen moves through a long wait.
            () = tokio::time::sleep_until(last_draw + CLOCK_TICK), if clock.playing && !dirty => dirty = true,
            () = tokio::time::sleep_until(notice_expiry.unwrap_or_else(Instant::now)), if notice_expiry.is_some() => {
                view.expire_notice();
                dirty = true;
            }
            // Taken in at the top of the loop.
            () = tokio::time::sleep(READING_TICK), if !replayer.is_read() => {}
        }
    }
    // Lines found unreadable after the screen took over, for saying once it is given back.
    Ok((stats, replayer.take_warnings()))
}

/// Handles a key in replay; true to quit.
fn on_key(key: KeyEvent, replayer: &mut Playback, clock: &mut Clock, view: &mut View) -> bool {
    if key.kind == KeyEventKind::Release {
        return false;
    }
    // Overlays and a search have the keys first; what a search leaves is the replay's.
    let searching = match view.search_mode() {
        Some(KeyMode::Search) => true,
        Some(mode) => keys::action(mode, &key).is_some(),
        None => false,
    };
    if view.overlay != Overlay::None || searching {
        return view.on_key(replayer.run(), key) == Action::Quit;
    }
    let seek = |replayer: &mut Playback, clock: &mut Clock, target: usize| {
        replayer.seek(target);
        clock.rebase(replayer.t_ms());
    };
    let Some(action) = keys::action(KeyMode::Replay, &key) else {
        return false;
    };
    match action {
        KeyAction::Quit => return true,
        KeyAction::PlayPause => {
            if replayer.at_end() {
                seek(replayer, clock, 0);
            }
            clock.playing = !clock.playing;
            clock.rebase(replayer.t_ms());
        }
        KeyAction::StepForward => {
            clock.playing = false;
            let next = replayer.position() + 1;
            seek(replayer, clock, next);
        }
        KeyAction::StepBack => {
            clock.playing = false;
            let back = replayer.position().saturating_sub(1);
            seek(replayer, clock, back);
        }
        KeyAction::Faster => {
            clock.rebase(replayer.t_ms());
            clock.speed = faster(clock.speed);
        }
        KeyAction::Slower => {
            clock.rebase(replayer.t_ms());
            clock.speed = slower(clock.speed);
        }
        KeyAction::Start => seek(replayer, clock, 0),
        KeyAction::End => seek(replayer, clock, usize::MAX),
        KeyAction::Jump => {
            if let KeyCode::Char(d @ '1'..='9') = key.code {
                // Tenths of the whole recording, which needs all of it read.
                replayer.read_all();
                // A tenth of the recording's time, not of its events: a long wait counts for
                // what it lasted.
                let tenths = u64::from(d as u8 - b'0');
                let target = replayer.position_at(replayer.total_ms() * tenths / 10);
                seek(replayer, clock, target);
            }
        }
        KeyAction::NextMoment | KeyAction::PreviousMoment => {
            let forward = action == KeyAction::NextMoment;
            // Which moment of how many needs every moment found.
            replayer.read_all();
            match replayer.marker(forward) {
                Some(target) => {
                    clock.playing = false;
                    seek(replayer, clock, target);
                    land_on_moment(replayer, view);
                }
                None if forward => view.notify("No moment after this one."),
                None => view.notify("No moment before this one."),
            }
        }
        other => {
            view.perform(replayer.run(), other);
        }
    }
    false
}

/// Focuses the agent the moment just reached is about and says what it was:
/// `3 of 12 · tool call: Risks calls fault`.
fn land_on_moment(replayer: &Playback, view: &mut View) {
    let Some((mark, number, all)) = replayer.moment_here() else {
        return;
    };
    let run = replayer.run();
    let agent = mark
        .agent
        .and_then(|i| usize::try_from(i).ok())
        .and_then(|i| run.agents().get(i).map(|a| (i, a)));
    if let Some((i, _)) = agent {
        view.focus = i;
    }
    let name = agent.map_or_else(String::new, |(_, a)| visible_line(&a.name).into_owned());
    let what = match mark.moment {
        Moment::ToolCall => {
            let tool = agent
                .and_then(|(_, a)| a.turns().last())
                .and_then(|t| t.tools.last())
                .map_or_else(String::new, |t| visible_line(&t.tool).into_owned());
            format!("tool call: {name} calls {tool}")
        }
        Moment::Failure => {
            let why = agent
                .and_then(|(_, a)| a.last_failure.as_deref())
                .unwrap_or("failed");
            format!("failure: {name}: {}", visible_line(why))
        }
        Moment::Handoff => format!("hand-off to {name}"),
        Moment::Group => match run.groups().last() {
            Some(g) => format!(
                "parallel group {}: {} agents",
                visible_line(g.id.as_str()),
                g.members.len()
            ),
            None => "parallel group".to_string(),
        },
        Moment::Pause => match run.pause() {
            Some(p) => format!("pause: {name} asks {}", visible_line(&p.prompt)),
            None => format!("pause: {name} asks"),
        },
        // What the person did, as the agent's pane noted it.
        Moment::Intervention => {
            let note = agent.and_then(|(_, a)| {
                a.timeline.items().rev().find_map(|item| match item {
                    crate::engine::run::Item::Note(note) => Some(note.text()),
                    _ => None,
                })
            });
            format!("{name}: {}", visible_line(&note.unwrap_or_default()))
        }
        Moment::Plain => return,
    };
    view.notify(format!("{number} of {all} · {what}"));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_long_wait_is_played_in_two_seconds_with_its_clock_running() {
        let mut clock = Clock {
            base_ms: 0,
            base: Instant::now(),
            speed: Some(1.0),
            playing: true,
        };
        clock.rebase(1_000);
        // 500 ms plays as recorded, 18 s in 2 s; four times as fast, 6 s plays in 1.5 s.
        assert_eq!(clock.due(1_500) - clock.base, Duration::from_millis(500));
        assert_eq!(clock.skipping(Some(1_500)), None);
        assert_eq!(clock.due(19_000) - clock.base, MAX_WAIT);
        assert_eq!(clock.skipping(Some(19_000)), Some(18_000));
        tokio::time::advance(Duration::from_secs(1)).await;
        assert_eq!(
            clock.now_ms(Some(19_000)),
            10_000,
            "half way through the wait"
        );
        tokio::time::advance(Duration::from_secs(5)).await;
        assert_eq!(
            clock.now_ms(Some(19_000)),
            19_000,
            "never past the next event"
        );
        clock.speed = Some(4.0);
        clock.rebase(0);
        assert_eq!(clock.due(6_000) - clock.base, Duration::from_millis(1_500));
        clock.playing = false;
        assert_eq!(
            clock.skipping(Some(60_000)),
            None,
            "a paused replay skips nothing"
        );
    }

    #[test]
    fn speeds_step_through_the_list_and_past_it() {
        assert_eq!(faster(Some(1.0)), Some(2.0));
        assert_eq!(faster(Some(64.0)), None);
        assert_eq!(slower(None), Some(64.0));
        assert_eq!(slower(Some(0.25)), Some(0.25));
    }
}
