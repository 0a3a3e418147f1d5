//! `crewtui [run] CREW`: the crew in the full-screen TUI.

use std::process::ExitCode;

use anyhow::Context;
use crewtui::tui::theme::Theme;

use super::RunArgs;
use super::headless::load;

pub fn run(args: RunArgs) -> anyhow::Result<ExitCode> {
    let crew = load(&args.crew)?;
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    let theme = Theme::load(args.theme.as_deref(), no_color)?;
    // Without --input the crew's own input is used; with neither, the TUI asks for one.
    let input = args.input.or_else(|| crew.input.clone());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let outcome = runtime.block_on(async {
        let parts = super::session_parts(&crew)?;
        crewtui::tui::run_crew(crew, input, parts, &theme)
            .await
            .context("running the terminal UI")
    })?;
    Ok(match outcome {
        Some(outcome) => ExitCode::from(outcome.exit_code() as u8),
        None => ExitCode::SUCCESS,
    })
}
