//! `--control FILE|-`: commands for a headless run, one JSON line each (DESIGN.md "Commands
//! and gates"), from a file, a FIFO or stdin. A script, an editor plugin or a test answers each
//! `gate` event on stdout with a line here.
//!
//! Lines are bounded: a line past [`MAX_LINE`] is skipped whole and reported, like one that is
//! not a command; neither stops the run.
//!
//! [`Control::next`] is cancel-safe: the driver drops it whenever an event comes first, and a
//! line that arrived in part (a writer's line split over writes, a long `edit_request`) is kept
//! and finished by the next call, never lost or read as two.

use std::path::Path;

use anyhow::Context;
use crewtui::engine::Command;
use crewtui::text::visible_line;
use tokio::io::{AsyncBufRead, AsyncBufReadExt, BufReader};
use tokio::task::JoinHandle;

use super::output;

/// The longest control line read; a command is a few hundred bytes.
const MAX_LINE: usize = 1024 * 1024;

/// Where control lines come from.
pub struct Control {
    input: Input,
    /// The line read so far.
    buf: Vec<u8>,
    /// In a line past [`MAX_LINE`], already reported: the rest of it is dropped.
    skipping: bool,
}

enum Input {
    Ready(Box<dyn AsyncBufRead + Unpin + Send>),
    /// Opening a FIFO waits for its first writer. The run must not wait with it (it would
    /// start only once something writes, and a stop signal would find nobody listening), so
    /// it opens on a thread of its own, and commands are read once it has.
    Opening {
        opening: JoinHandle<anyhow::Result<std::fs::File>>,
        path: std::path::PathBuf,
    },
}

impl Control {
    /// `-` is stdin; anything else a file (a FIFO is fine: it is read as it is written).
    pub async fn open(source: &Path) -> anyhow::Result<Control> {
        let input = if source == Path::new("-") {
            Input::Ready(Box::new(BufReader::new(tokio::io::stdin())))
        } else {
            let shown = visible_line(&source.display().to_string()).into_owned();
            let kind = tokio::fs::metadata(source)
                .await
                .with_context(|| format!("opening the control input {shown}"))?
                .file_type();
            if kind.is_dir() {
                anyhow::bail!("{shown}: the control input is a directory");
            }
            if std::os::unix::fs::FileTypeExt::is_fifo(&kind) {
                let path = source.to_path_buf();
                let opening = {
                    let path = path.clone();
                    tokio::task::spawn_blocking(move || {
                        std::fs::File::open(&path)
                            .with_context(|| format!("opening the control input {shown}"))
                    })
                };
                Input::Opening { opening, path }
            } else {
                let file = tokio::fs::File::open(source)
                    .await
                    .with_context(|| format!("opening the control input {shown}"))?;
                Input::Ready(Box::new(BufReader::new(file)))
            }
        };
        Ok(Control::new(input))
    }

    fn new(input: Input) -> Control {
        Control {
            input,
            buf: Vec::with_capacity(256),
            skipping: false,
        }
    }

    /// The next command, `None` at the end of the input. Blank lines are passed over.
    pub async fn next(&mut self) -> Option<Command> {
        if let Input::Opening { opening, .. } = &mut self.input {
            let opened = opening.await;
            // A finished open is never awaited again; if it failed, the input is over.
            self.input = Input::Ready(Box::new(tokio::io::empty()));
            match opened {
                Ok(Ok(file)) => {
                    self.input =
                        Input::Ready(Box::new(BufReader::new(tokio::fs::File::from_std(file))));
                }
                Ok(Err(error)) => {
                    output::warn(format_args!("crewtui: {error:#}"));
                    return None;
                }
                Err(_) => return None,
            }
        }
        let Control {
            input: Input::Ready(lines),
            buf,
            skipping,
        } = self
        else {
            return None;
        };
        loop {
            let chunk = match lines.fill_buf().await {
                Ok(chunk) => chunk,
                Err(_) => &[],
            };
            if chunk.is_empty() {
                // The end of the input: a last line without its newline still counts.
                let last = (!*skipping).then(|| read_line(buf)).flatten();
                buf.clear();
                *skipping = false;
                return last;
            }
            let (used, ends) = match chunk.iter().position(|&b| b == b'\n') {
                Some(i) => (i + 1, true),
                None => (chunk.len(), false),
            };
            if *skipping {
                lines.consume(used);
                *skipping = !ends;
                continue;
            }
            let taken = used.min(MAX_LINE - buf.len());
            buf.extend_from_slice(&chunk[..taken]);
            lines.consume(taken);
            if ends && taken == used {
                let line = read_line(buf);
                buf.clear();
                match line {
                    Some(command) => return Some(command),
                    None => continue,
                }
            }
            if buf.len() >= MAX_LINE {
                buf.clear();
                *skipping = true;
                return Some(Command::Unreadable {
                    line: "…".to_string(),
                    error: format!("longer than {} KiB", MAX_LINE / 1024),
                });
            }
        }
    }
}

impl Drop for Control {
    fn drop(&mut self) {
        if let Input::Opening { path, .. } = &self.input {
            // No writer ever came: one of our own lets the waiting open return, so the way out
            // does not wait for its thread.
            use std::os::unix::fs::OpenOptionsExt;
            let _ = std::fs::OpenOptions::new()
                .write(true)
                .custom_flags(libc::O_NONBLOCK)
                .open(path);
        }
    }
}

/// The command a whole line holds; `None` for a blank one.
fn read_line(buf: &[u8]) -> Option<Command> {
    let line = String::from_utf8_lossy(buf);
    let line = line.trim();
    (!line.is_empty()).then(|| Command::from_line(line))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn lines_are_read_whole_however_the_input_is_cut() {
        let input = format!(
            "\n  \n{{\"op\":\"continue\"}}\r\n{}\n{}\n{{\"op\":\"detach\"}}",
            "x".repeat(MAX_LINE + 5),
            "y".repeat(MAX_LINE - 1),
        );
        for capacity in [1, 7, 8192] {
            let lines = BufReader::with_capacity(capacity, std::io::Cursor::new(input.clone()));
            let mut control = Control::new(Input::Ready(Box::new(lines)));
            assert_eq!(
                control.next().await,
                Some(Command::Continue { gate: None }),
                "{capacity}"
            );
            let too_long = control.next().await;
            assert!(
                matches!(&too_long, Some(Command::Unreadable { error, .. }) if error == "longer than 1024 KiB"),
                "{capacity}: {too_long:?}"
            );
            // Just within the bound: read, and found not to be a command.
            let within = control.next().await;
            assert!(
                matches!(&within, Some(Command::Unreadable { error, .. }) if error.contains("expected")),
                "{capacity}: {within:?}"
            );
            assert_eq!(control.next().await, Some(Command::Detach {}), "{capacity}");
            assert_eq!(control.next().await, None, "{capacity}");
        }
    }
}
