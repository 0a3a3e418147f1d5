//! Argument parsing and dispatch to the headless runner and the validator.

mod control;
mod headless;
mod logging;
mod output;
mod pick;
mod replay;
mod resume;
mod sessions;
mod setup;
mod stop;
mod tui;
mod validate;

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, CommandFactory, Parser, Subcommand};

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
        /// Tool bindings (default: NAME.tools.yaml beside the crew file, if there is one)
        #[arg(long, value_name = "FILE")]
        tools: Option<PathBuf>,
        /// Print a bindings file for the tools nothing provides on stdout (the rest on stderr)
        #[arg(long)]
        bindings_skeleton: bool,
    },
    /// Watch a recorded session again, or print it as a markdown transcript
    Replay(replay::ReplayArgs),
    /// Go on with a session that paused or was cut off, appending to its file
    Resume(resume::ResumeArgs),
    /// List recorded sessions, newest first
    Sessions {
        /// Where sessions are recorded (default: $XDG_DATA_HOME/crewtui/sessions)
        #[arg(long, value_name = "DIR")]
        sessions_dir: Option<PathBuf>,
    },
}

#[derive(Debug, Args)]
struct RunArgs {
    /// A crew YAML file, or a directory holding crew.yaml and agents/
    crew: PathBuf,
    /// Tool bindings for tools the crew lists that crewtui does not have (default:
    /// NAME.tools.yaml beside the crew file, if there is one)
    #[arg(long, value_name = "FILE")]
    tools: Option<PathBuf>,
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
    /// Where the session is recorded (default: $XDG_DATA_HOME/crewtui/sessions)
    #[arg(long, value_name = "DIR")]
    sessions_dir: Option<PathBuf>,
    #[command(flatten)]
    debug: DebugArgs,
}

/// How a run stops for its author (DESIGN.md "Command line", debugging).
#[derive(Debug, Args, Default)]
pub struct DebugArgs {
    /// Stop at a gate: agent:ID, model:ID, model:*, tool:NAME, tool:*, signal:SIG, failure,
    /// tokens:N, cost:USD; repeat for several
    #[arg(long = "break", value_name = "SPEC")]
    pub breaks: Vec<String>,
    /// Stop before every model call and tool call
    #[arg(long)]
    pub step: bool,
    /// Tool calls: run them (auto), ask at a gate (ask), or refuse them (deny); default: the
    /// crew's settings
    #[arg(long, value_name = "auto|ask|deny")]
    pub approve: Option<String>,
    /// Headless: read commands as JSON lines from FILE (or stdin, `-`), one per gate
    #[arg(long, value_name = "FILE|-")]
    pub control: Option<PathBuf>,
}

impl DebugArgs {
    /// The gates a session starts with, from the flags; a bad spec is an error naming it.
    pub fn gates(&self) -> anyhow::Result<crewtui::engine::gate::GateSettings> {
        let mut settings = crewtui::engine::gate::GateSettings::default();
        for spec in &self.breaks {
            let spec = spec.parse().map_err(|e| {
                anyhow::anyhow!("--break {}: {e}", crewtui::text::visible_line(spec))
            })?;
            settings.breakpoints.push(spec);
        }
        settings.step = self.step;
        if let Some(approve) = &self.approve {
            let approve = approve
                .parse()
                .map_err(|e| anyhow::anyhow!("--approve: {e}"))?;
            settings.approval_override = Some(approve);
        }
        Ok(settings)
    }
}

/// `crewtui CREW ...` means `crewtui run CREW ...`: anything first that is not a subcommand
/// (taken from the parser, so new ones need no change here) or a help or version flag.
fn with_default_subcommand(mut args: Vec<OsString>) -> Vec<OsString> {
    let flags = ["help", "-h", "--help", "-V", "--version"];
    if let Some(first) = args.get(1)
        && !flags.iter().any(|f| first == f)
        && !Cli::command()
            .get_subcommands()
            .any(|c| first == c.get_name())
    {
        args.insert(1, "run".into());
    }
    args
}

pub fn main() -> ExitCode {
    let cli = match Cli::try_parse_from(with_default_subcommand(std::env::args_os().collect())) {
        Ok(cli) => cli,
        Err(error) => return clap_exit(&error),
    };
    let _log_guard = logging::init();
    let result = match cli.command {
        Commands::Validate {
            crew,
            tools,
            bindings_skeleton,
        } => Ok(validate::run(&crew, tools.as_deref(), bindings_skeleton)),
        Commands::Run(args) if args.headless => headless::run(args),
        Commands::Run(args) => tui::run(args),
        Commands::Replay(args) if args.headless => Ok(replay::headless(&args)),
        Commands::Replay(args) => replay::run_tui(args),
        Commands::Resume(args) => resume::run(args),
        Commands::Sessions { sessions_dir } => sessions::run(sessions_dir),
    };
    match result {
        Ok(code) => code,
        Err(error) => {
            // Errors quote what they could not read (a theme's colour, a session's event).
            let message = format!("{error:#}");
            output::warn(format_args!(
                "crewtui: {}",
                crewtui::text::visible_line(&message)
            ));
            ExitCode::FAILURE
        }
    }
}

/// Help, the version and usage errors, printed as everything else is (see [`output`]): clap's
/// own exit would report success though `--help > /dev/full` wrote nothing.
fn clap_exit(error: &clap::Error) -> ExitCode {
    // 0 for help and the version, 2 for a usage error.
    let status = ExitCode::from(u8::try_from(error.exit_code()).unwrap_or(2));
    match error.print() {
        // A usage error goes to stderr: if that fails, there is nowhere to say so.
        Err(_) if error.use_stderr() => status,
        written => output::status(written, status),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expanded(args: &[&str]) -> Vec<String> {
        let args = args.iter().map(OsString::from).collect();
        with_default_subcommand(args)
            .into_iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect()
    }

    #[test]
    fn a_crew_first_means_run_and_subcommands_stay_themselves() {
        assert_eq!(
            expanded(&["crewtui", "crew.yaml"]),
            ["crewtui", "run", "crew.yaml"]
        );
        for sub in [
            "run", "validate", "replay", "resume", "sessions", "help", "--help", "-V",
        ] {
            assert_eq!(expanded(&["crewtui", sub]), ["crewtui", sub]);
        }
        assert_eq!(expanded(&["crewtui"]), ["crewtui"]);
    }
}
