//! `crewtui replay SESSION`: a recorded session again, in the TUI or as a markdown transcript.
//! SESSION is a file, an id or part of one, or `--last`.

use std::process::ExitCode;

use anyhow::Context;
use clap::Args;
use crewtui::engine::run::TimelineLimits;
use crewtui::session::Playback;
use crewtui::signals::StopSignals;

use super::output;

#[derive(Debug, Args)]
pub struct ReplayArgs {
    #[command(flatten)]
    pub session: super::pick::SessionArg,
    /// Playback speed from 0.25 to 64 times the original timing (default 1), or `max` for as
    /// fast as possible (given as infinity)
    #[arg(long, value_name = "X", value_parser = parse_speed)]
    pub speed: Option<f64>,
    /// Print a markdown transcript on stdout instead of showing the TUI
    #[arg(long)]
    pub headless: bool,
    /// Colours: dark (default), light, high-contrast, or a theme file (NO_COLOR is honoured)
    #[arg(long, value_name = "NAME|PATH")]
    pub theme: Option<String>,
}

fn parse_speed(text: &str) -> Result<f64, String> {
    if text.eq_ignore_ascii_case("max") {
        return Ok(f64::INFINITY);
    }
    match text.parse::<f64>() {
        Ok(speed) if (0.25..=64.0).contains(&speed) => Ok(speed),
        _ => Err(format!(
            "`{text}` is not a speed: give a number from 0.25 to 64, or `max`"
        )),
    }
}

/// The transcript on stdout, lines that could not be read as warnings on stderr.
pub fn headless(args: &ReplayArgs) -> ExitCode {
    let file = match args.session.resolve() {
        Ok(file) => file,
        Err(error) => {
            output::warn(format_args!("crewtui: {error:#}"));
            return ExitCode::FAILURE;
        }
    };
    let transcript = match crewtui::session::transcript_file(&file) {
        Ok((transcript, warnings)) => {
            super::setup::report_read_warnings(&file, &warnings);
            transcript
        }
        Err(error) => {
            output::warn(format_args!("crewtui: {error}"));
            return ExitCode::FAILURE;
        }
    };
    output::status(output::print(&transcript), ExitCode::SUCCESS)
}

/// The recording in the full-screen TUI, under a timeline.
pub fn run_tui(args: ReplayArgs) -> anyhow::Result<ExitCode> {
    let file = args.session.resolve()?;
    // The first events are enough to show; the rest is read while they play.
    let (replayer, _header, warnings) = Playback::open_first(&file, TimelineLimits::default())?;
    let theme = super::setup::theme(args.theme.as_deref())?;
    // Said before the screen takes over.
    super::setup::report_read_warnings(&file, &warnings);
    // Infinity is "max": as fast as possible.
    let speed = match args.speed {
        None => Some(1.0),
        Some(s) if s.is_infinite() => None,
        Some(s) => Some(s),
    };
    let late = super::setup::block_on(async {
        let signals = StopSignals::install().context("catching signals")?;
        crewtui::tui::run_replay(replayer, &theme, speed, signals)
            .await
            .context("running the terminal UI")
    })?;
    super::setup::report_read_warnings(&file, &late);
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn speeds_are_bounded_and_max_is_unbounded() {
        assert_eq!(parse_speed("2"), Ok(2.0));
        assert_eq!(parse_speed("0.25"), Ok(0.25));
        assert_eq!(parse_speed("MAX"), Ok(f64::INFINITY));
        for bad in ["0", "0.1", "65", "-1", "NaN", "inf", "fast", ""] {
            assert!(parse_speed(bad).is_err(), "{bad}");
        }
    }
}
