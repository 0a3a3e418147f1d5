//! Copying to the user's clipboard through the terminal: an OSC 52 sequence, which xterm,
//! kitty, WezTerm, iTerm2, foot, Windows Terminal and tmux (`set-clipboard on`) understand,
//! over SSH too. Written to the terminal the TUI draws on, between frames.

use std::io::{self, Write};

/// Longest text copied, in bytes; terminals refuse (or choke on) much longer sequences.
pub const MAX_COPY: usize = 64 * 1024;

/// The sequence that puts `text` on the clipboard.
pub fn osc52(text: &str) -> String {
    format!("\x1b]52;c;{}\x07", base64(text.as_bytes()))
}

/// Standard base64 with padding, as OSC 52 wants it.
pub fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = match chunk {
            [a, b, c] => u32::from(*a) << 16 | u32::from(*b) << 8 | u32::from(*c),
            [a, b] => u32::from(*a) << 16 | u32::from(*b) << 8,
            [a] => u32::from(*a) << 16,
            _ => 0,
        };
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[(n >> (18 - 6 * i) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// `text` cut to [`MAX_COPY`] bytes at a character boundary, and whether it was cut.
pub fn bounded(text: &str) -> (&str, bool) {
    if text.len() <= MAX_COPY {
        return (text, false);
    }
    let mut end = MAX_COPY;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    (&text[..end], true)
}

/// Where copied text goes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Clipboard {
    /// The terminal the TUI is drawn on, when it is; else nowhere (and said so).
    #[default]
    Terminal,
    /// Kept, for a front end without a terminal of its own to read back.
    Kept(Vec<String>),
}

impl Clipboard {
    /// Puts `text` on the clipboard.
    pub fn copy(&mut self, text: &str) -> io::Result<()> {
        match self {
            Clipboard::Terminal => {
                if !super::terminal::active() {
                    return Err(io::Error::other("no terminal to copy through"));
                }
                let mut out = io::stdout().lock();
                out.write_all(osc52(text).as_bytes())?;
                out.flush()
            }
            Clipboard::Kept(copies) => {
                copies.push(text.to_string());
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_and_the_sequence_are_as_terminals_read_them() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(b"foobar"), "Zm9vYmFy");
        assert_eq!(base64("é\n".as_bytes()), "w6kK");
        assert_eq!(osc52("hi"), "\x1b]52;c;aGk=\x07");
        let long = "é".repeat(MAX_COPY);
        let (cut, was_cut) = bounded(&long);
        assert!(was_cut && cut.len() <= MAX_COPY && cut.len() % 2 == 0);
    }
}
