//! `--control FILE|-`: commands for a headless run, one JSON line each (DESIGN.md "Commands
//! and gates"), from a file, a FIFO or stdin. A script, an editor plugin or a test answers each
//! `gate` event on stdout with a line here.
//!
//! Lines are bounded: a line past [`MAX_LINE`] is skipped whole and reported, like one that is
//! not a command; neither stops the run.

use std::path::Path;

use anyhow::Context;
use crewtui::engine::Command;
use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncReadExt, BufReader};

/// The longest control line read; a command is a few hundred bytes.
const MAX_LINE: u64 = 1024 * 1024;

/// Where control lines come from.
pub struct Control {
    lines: Box<dyn AsyncBufRead + Unpin + Send>,
    buf: Vec<u8>,
}

impl Control {
    /// `-` is stdin; anything else a file (a FIFO is fine: it is read as it is written).
    pub async fn open(source: &Path) -> anyhow::Result<Control> {
        let lines: Box<dyn AsyncBufRead + Unpin + Send> = if source == Path::new("-") {
            Box::new(BufReader::new(tokio::io::stdin()))
        } else {
            let file = tokio::fs::File::open(source)
                .await
                .with_context(|| format!("opening the control input {}", source.display()))?;
            let kind = file.metadata().await?.file_type();
            if kind.is_dir() {
                anyhow::bail!("{}: the control input is a directory", source.display());
            }
            Box::new(BufReader::new(file))
        };
        Ok(Control {
            lines,
            buf: Vec::with_capacity(256),
        })
    }

    /// The next command, `None` at the end of the input. Blank lines are passed over.
    pub async fn next(&mut self) -> Option<Command> {
        loop {
            self.buf.clear();
            let read = (&mut self.lines)
                .take(MAX_LINE)
                .read_until(b'\n', &mut self.buf)
                .await;
            match read {
                Ok(0) | Err(_) => return None,
                Ok(_) => {}
            }
            if self.buf.last() != Some(&b'\n') && self.buf.len() as u64 >= MAX_LINE {
                // Skip to the end of the line without keeping it.
                let mut rest = Vec::new();
                loop {
                    rest.clear();
                    match (&mut self.lines)
                        .take(MAX_LINE)
                        .read_until(b'\n', &mut rest)
                        .await
                    {
                        Ok(0) | Err(_) => break,
                        Ok(_) if rest.last() == Some(&b'\n') => break,
                        Ok(_) => {}
                    }
                }
                return Some(Command::Unreadable {
                    line: "…".to_string(),
                    error: format!("longer than {} KiB", MAX_LINE / 1024),
                });
            }
            let line = String::from_utf8_lossy(&self.buf);
            let line = line.trim();
            if line.is_empty() {
                continue;
            }
            return Some(Command::from_line(line));
        }
    }
}
