//! Text from crew files, session files, models and tools made safe to show: control
//! characters are drawn instead of obeyed (DESIGN.md principle 9), by the TUI and by every
//! plain-text output (transcripts, `sessions`, diagnostics, warnings) alike. It knows nothing
//! of either.
//!
//! One rule everywhere: a C0 control shows as its Unicode control picture (ESC as `␛`, BEL as
//! `␇`), DEL as `␡`, and a C1 control (U+0080–U+009F) as `␛` and the character its 7-bit
//! form ends with, since that is what a terminal takes it for: CSI U+009B shows as `␛[`, OSC
//! U+009D as `␛]`. An escape sequence thereby loses its escape and stays readable.

use std::borrow::Cow;

/// `text` ready to draw as lines: newlines kept, a CR that ends a line (`\r\n`) taken for the
/// line end it is, tabs as four spaces (which wrapping can measure), every other control
/// character made visible.
pub fn visible(text: &str) -> String {
    let shown = make_visible(text, true);
    if shown.contains('\t') {
        shown.replace('\t', "    ")
    } else {
        shown.into_owned()
    }
}

/// Appends `text` to `out` as [`visible`] shows it, without a copy in between when there is
/// nothing to change (streamed tokens, nearly always).
pub fn push_visible(out: &mut String, text: &str) {
    match make_visible(text, true) {
        Cow::Borrowed(clean) if !clean.contains('\t') => out.push_str(clean),
        shown => out.push_str(&shown.replace('\t', "    ")),
    }
}

/// `text` with every control character made visible, newlines and tabs too: for what must stay
/// on one line (a name in a table, a field in a diagnostic).
pub fn visible_line(text: &str) -> Cow<'_, str> {
    make_visible(text, false)
}

/// `text` with the control characters made visible; with `lines`, newlines and tabs are kept.
fn make_visible(text: &str, lines: bool) -> Cow<'_, str> {
    let kept = |c: char| !c.is_control() || (lines && matches!(c, '\n' | '\t'));
    let Some(first) = text.find(|c: char| !kept(c)) else {
        return Cow::Borrowed(text);
    };
    let mut out = String::with_capacity(text.len() + 16);
    out.push_str(&text[..first]);
    let mut chars = text[first..].chars().peekable();
    while let Some(c) = chars.next() {
        if kept(c) {
            out.push(c);
        } else if lines && c == '\r' && chars.peek() == Some(&'\n') {
            // The `\n` that follows is pushed as itself.
        } else {
            push_picture(&mut out, c);
        }
    }
    Cow::Owned(out)
}

fn push_picture(out: &mut String, c: char) {
    let code = u32::from(c);
    let picture = match code {
        0x00..=0x1f => char::from_u32(0x2400 + code),
        0x7f => Some('\u{2421}'),
        0x80..=0x9f => {
            out.push('\u{241b}');
            char::from_u32(code - 0x40)
        }
        // `char::is_control` is exactly the three ranges above.
        _ => Some(c),
    };
    out.push(picture.unwrap_or('\u{fffd}'));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_sequences_lose_their_escape_and_stay_readable() {
        assert_eq!(visible("a\x1b[2Jb"), "a␛[2Jb");
        assert_eq!(visible("\x1b]52;c;aGk=\x07"), "␛]52;c;aGk=␇");
        assert_eq!(visible("\u{9b}?1049l\u{9d}0;t\u{9c}"), "␛[?1049l␛]0;t␛\\");
        assert_eq!(visible("del\x7f nul\0"), "del␡ nul␀");
    }

    #[test]
    fn lines_keep_newlines_tabs_become_spaces_and_lone_carriage_returns_show() {
        assert_eq!(visible("a\tb\r\nc\rd\n"), "a    b\nc␍d\n");
        assert_eq!(visible_line("a\tb\r\nc"), "a␉b␍␊c");
    }

    #[test]
    fn clean_text_is_not_copied() {
        let line = "Équipe 日本語 — fine";
        assert!(matches!(visible_line(line), Cow::Borrowed(t) if t == line));
        assert_eq!(visible("two\nlines"), "two\nlines");
    }

    #[test]
    fn no_character_shows_as_a_control() {
        for c in (0..=0x10ffff).filter_map(char::from_u32) {
            let shown = visible_line(&c.to_string()).into_owned();
            assert!(!shown.chars().any(char::is_control), "{:x}", u32::from(c));
        }
    }
}
