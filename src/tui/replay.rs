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
use super::theme::Theme;
use super::view::{Action, Mode, Overlay, Timeline, View};
use crate::session::Playback;

/// Playback speeds `+` and `-` step through; past the last comes "as fast as possible".
pub const SPEEDS: [f64; 9] = [0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0];
/// Events folded per frame when playing as fast as possible.
const MAX_SPEED_BATCH: usize = 20_000;

/// The playback clock: session time runs at `speed` from where it was last set.
struct Clock {
    base_ms: u64,
    base: Instant,
    speed: Option<f64>,
    playing: bool,
}

impl Clock {
    fn now_ms(&self) -> u64 {
        match (self.playing, self.speed) {
            (false, _) => self.base_ms,
            (true, None) => u64::MAX,
            (true, Some(speed)) => {
                self.base_ms + (self.base.elapsed().as_secs_f64() * 1000.0 * speed) as u64
            }
        }
    }

    /// When session time `t_ms` comes round.
    fn due(&self, t_ms: u64) -> Instant {
        match self.speed {
            None => self.base,
            Some(speed) => {
                let wait = t_ms.saturating_sub(self.base_ms) as f64 / speed;
                self.base + Duration::from_secs_f64(wait / 1000.0)
            }
        }
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

/// Plays `replayer` on `terminal` until the user quits. `speed` `None` is as fast as possible.
pub async fn run<B, S>(
    terminal: &mut Terminal<B>,
    mut input_events: S,
    mut replayer: Playback,
    theme: &Theme,
    speed: Option<f64>,
) -> io::Result<Stats>
where
    B: Backend,
    B::Error: Into<io::Error>,
    S: Stream<Item = io::Result<TermEvent>> + Unpin,
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
        if dirty && last_draw.elapsed() >= FRAME {
            view.mode = Mode::Replay(Timeline {
                position: replayer.position(),
                total: replayer.len(),
                playing: clock.playing,
                speed: clock.speed,
                t_ms: replayer.t_ms(),
                total_ms: replayer.total_ms(),
            });
            view.sync(replayer.run());
            let now_ms = replayer.t_ms();
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
                let now_ms = clock.now_ms();
                let mut applied = 0;
                while replayer.next_t_ms().is_some_and(|t| t <= now_ms) && applied < MAX_SPEED_BATCH {
                    replayer.forward();
                    applied += 1;
                }
                stats.events += applied as u64;
                if replayer.position() == replayer.len() {
                    clock.playing = false;
                    clock.rebase(replayer.t_ms());
                }
                dirty = true;
            }
            () = tokio::time::sleep_until(last_draw + FRAME), if dirty => {}
            () = tokio::time::sleep_until(notice_expiry.unwrap_or_else(Instant::now)), if notice_expiry.is_some() => {
                view.expire_notice();
                dirty = true;
            }
        }
    }
    Ok(stats)
}

/// Handles a key in replay; true to quit.
fn on_key(key: KeyEvent, replayer: &mut Playback, clock: &mut Clock, view: &mut View) -> bool {
    if key.kind == KeyEventKind::Release {
        return false;
    }
    if view.overlay != Overlay::None {
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
            if replayer.position() == replayer.len() {
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
        KeyAction::End => seek(replayer, clock, replayer.len()),
        KeyAction::Jump => {
            if let KeyCode::Char(d @ '1'..='9') = key.code {
                let tenths = d as usize - '0' as usize;
                let target = replayer.len() * tenths / 10;
                seek(replayer, clock, target);
            }
        }
        KeyAction::NextMoment | KeyAction::PreviousMoment => {
            if let Some(target) = replayer.marker(action == KeyAction::NextMoment) {
                clock.playing = false;
                seek(replayer, clock, target);
            }
        }
        other => {
            view.perform(replayer.run(), other);
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn speeds_step_through_the_list_and_past_it() {
        assert_eq!(faster(Some(1.0)), Some(2.0));
        assert_eq!(faster(Some(64.0)), None);
        assert_eq!(slower(None), Some(64.0));
        assert_eq!(slower(Some(0.25)), Some(0.25));
    }
}
