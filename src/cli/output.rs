//! Writing to stdout and stderr without ever panicking (`println!` panics on a closed pipe or a
//! full disk).
//!
//! A reader that stops reading (`| head -1`) took what it wanted: the command ends quietly with
//! the status it has anyway. Any other failure of stdout (`> /dev/full`) is said on stderr and
//! the command exits 1. A failing stderr (a closed terminal, a closed pipe) leaves nowhere to
//! say anything: what was to be said is dropped.

use std::fmt::Display;
use std::io::{self, Write};
use std::process::ExitCode;

/// Writes `line` and a newline on stderr; nothing if stderr fails.
pub fn warn(line: impl Display) {
    let _ = writeln!(io::stderr().lock(), "{line}");
}

/// Writes `text` on stdout, whole.
pub fn print(text: &str) -> io::Result<()> {
    let mut stdout = io::stdout().lock();
    stdout.write_all(text.as_bytes())?;
    stdout.flush()
}

/// Writes each of `lines` and a newline on stdout, buffered, stopping at the first error.
pub fn print_lines<I>(lines: I) -> io::Result<()>
where
    I: IntoIterator,
    I::Item: Display,
{
    let mut stdout = io::BufWriter::new(io::stdout().lock());
    for line in lines {
        writeln!(stdout, "{line}")?;
    }
    stdout.flush()
}

/// The exit status of a command that ends with `status` once it wrote its output, as
/// `written` says that went (see the module docs).
pub fn status(written: io::Result<()>, status: ExitCode) -> ExitCode {
    match written {
        Ok(()) => status,
        Err(error) if error.kind() == io::ErrorKind::BrokenPipe => status,
        Err(error) => {
            warn(format_args!("crewtui: writing to stdout: {error}"));
            ExitCode::FAILURE
        }
    }
}
