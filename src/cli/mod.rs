//! Argument parsing and dispatch to the headless runner and the validator.

mod headless;
mod logging;
mod tui;
mod validate;

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "crewtui",
    version,
    about = "Run multi-agent LLM crews and watch every agent live",
    after_help = logging::HELP_NOTE
)]
struct Cli {
    #[command(subcommand)]
    command: Commands,
}

#[derive(Debug, Subcommand)]
enum Commands {
    /// Run a crew (the default when the first argument is a crew)
    Run(RunArgs),
    /// Check a crew file and report every problem with its file, line and column
    Validate {
        /// A crew YAML file, or a directory holding crew.yaml and agents/
        crew: PathBuf,
    },
}

#[derive(Debug, Args)]
struct RunArgs {
    /// A crew YAML file, or a directory holding crew.yaml and agents/
    crew: PathBuf,
    /// The first input for the entry agent (default: the crew's `input`)
    #[arg(long)]
    input: Option<String>,
    /// Print every event as one JSON line on stdout instead of showing the TUI
    #[arg(long)]
    headless: bool,
    /// An answer for the next pause; repeat for several pauses, used in order
    #[arg(long = "answer", value_name = "TEXT")]
    answers: Vec<String>,
    /// Colours: dark (default), light, high-contrast, or a theme file (NO_COLOR is honoured)
    #[arg(long, value_name = "NAME|PATH")]
    theme: Option<String>,
}

/// The providers and tools of a crew, sharing the process's one HTTP client.
fn session_parts(
    crew: &crewtui::config::model::Crew,
) -> anyhow::Result<crewtui::engine::SessionParts> {
    let http = crewtui::provider::openai::http_client(std::time::Duration::from_secs(
        crew.settings.connect_timeout_seconds,
    ))
    .map_err(|e| anyhow::anyhow!("setting up the HTTP client: {e}"))?;
    Ok(crewtui::engine::SessionParts::for_crew(crew, &http))
}

/// `crewtui CREW ...` means `crewtui run CREW ...`.
fn with_default_subcommand(mut args: Vec<OsString>) -> Vec<OsString> {
    let explicit = ["run", "validate", "help", "-h", "--help", "-V", "--version"];
    if let Some(first) = args.get(1)
        && !explicit.iter().any(|e| first == e)
    {
        args.insert(1, "run".into());
    }
    args
}

pub fn main() -> ExitCode {
    let cli = Cli::parse_from(with_default_subcommand(std::env::args_os().collect()));
    let _log_guard = logging::init();
    let result = match cli.command {
        Commands::Validate { crew } => Ok(validate::run(&crew)),
        Commands::Run(args) if args.headless => headless::run(args),
        Commands::Run(args) => tui::run(args),
    };
    match result {
        Ok(code) => code,
        Err(error) => {
            eprintln!("crewtui: {error:#}");
            ExitCode::FAILURE
        }
    }
}
