//! Text from models, tools and files made safe to show: control characters become visible
//! instead of acting on a terminal (DESIGN.md principle 9). Used by the TUI and by every
//! plain-text output; it knows nothing of either.

/// `text` with tabs as spaces, carriage returns dropped, and every other control character
/// (C0, DEL, C1) replaced by a visible mark, so that an escape sequence in a tool's output
/// cannot move the cursor, set a title or write the clipboard.
pub fn visible(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\n' => out.push('\n'),
            '\t' => out.push_str("    "),
            '\r' => {}
            c if c.is_control() => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_never_reach_the_terminal() {
        assert_eq!(visible("a\x1b[2Jb\tc\r\n"), "a\u{fffd}[2Jb    c\n");
        assert_eq!(visible("\u{9b}31m\u{7f}"), "\u{fffd}31m\u{fffd}");
    }
}
