//! The `crewtui` command line (DESIGN.md "Command line"): parses arguments and hands off to
//! the front end each subcommand names. Errors reach the user here, through anyhow.

mod cli;

use std::process::ExitCode;

fn main() -> ExitCode {
    cli::main()
}
