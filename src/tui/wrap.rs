//! Word wrapping by display width.

use unicode_width::UnicodeWidthChar;

/// Appends the byte ranges of `text`'s lines wrapped at `width` columns, offset by `base`.
///
/// Breaks at the last space that fits, or inside a word longer than the line. A line always
/// starts at a point the whole-text wrap would also start one, so wrapping may resume from the
/// start of any line it produced (the streaming pane relies on that).
pub fn wrap_ranges(text: &str, width: usize, base: usize, out: &mut Vec<(usize, usize)>) {
    let width = width.max(1);
    let mut start = 0;
    let mut used = 0;
    // (end of the line if broken here, start of the next line)
    let mut last_space: Option<(usize, usize)> = None;
    for (i, c) in text.char_indices() {
        if c == '\n' {
            out.push((base + start, base + i));
            start = i + 1;
            used = 0;
            last_space = None;
            continue;
        }
        let w = c.width().unwrap_or(0);
        if c == ' ' {
            if used + w > width {
                out.push((base + start, base + i));
                start = i + 1;
                used = 0;
                last_space = None;
                continue;
            }
            last_space = Some((i, i + 1));
        } else if used + w > width {
            match last_space {
                Some((end, next)) if next > start => {
                    out.push((base + start, base + end));
                    start = next;
                    used = text[next..i].chars().map(|c| c.width().unwrap_or(0)).sum();
                }
                _ => {
                    out.push((base + start, base + i));
                    start = i;
                    used = 0;
                }
            }
            last_space = None;
        }
        used += w;
    }
    out.push((base + start, base + text.len()));
}

/// Wrapped lines as owned strings.
pub fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut ranges = Vec::new();
    wrap_ranges(text, width, 0, &mut ranges);
    ranges
        .into_iter()
        .map(|(s, e)| text[s..e].to_string())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wraps_at_spaces_and_breaks_long_words() {
        assert_eq!(wrap("the quick brown fox", 10), ["the quick", "brown fox"]);
        assert_eq!(wrap("abcdefghijkl", 5), ["abcde", "fghij", "kl"]);
        assert_eq!(wrap("a\n\nb", 5), ["a", "", "b"]);
        assert_eq!(wrap("", 5), [""]);
        assert_eq!(wrap("日本語のテキスト", 6), ["日本語", "のテキ", "スト"]);
        assert_eq!(wrap("word ", 4), ["word", ""]);
    }

    #[test]
    fn resuming_from_a_line_start_gives_the_same_lines() {
        let text =
            "Streaming replies arrive a token at a time, and the pane wraps them as they come in.";
        for width in [1, 3, 7, 12, 30] {
            let whole = wrap(text, width);
            let mut ranges = Vec::new();
            wrap_ranges(text, width, 0, &mut ranges);
            let (resume, _) = ranges[ranges.len() / 2];
            let mut again = ranges[..ranges.len() / 2].to_vec();
            wrap_ranges(&text[resume..], width, resume, &mut again);
            let again: Vec<&str> = again.iter().map(|&(s, e)| &text[s..e]).collect();
            assert_eq!(whole, again, "width {width}");
        }
    }
}
