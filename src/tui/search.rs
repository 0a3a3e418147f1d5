//! Finding text in what a pane or the inspector shows: where a query matches a line, and the
//! line split into plain and highlighted runs for drawing.
//!
//! Matching is smart about case: a query in lower case matches either case, one with a capital
//! matches exactly. Lines are searched as they are drawn (wrapped), so a match is where the
//! eye finds it.

use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};

/// The byte ranges of `line` where `query` matches, left to right, not overlapping.
pub fn matches(line: &str, query: &str) -> Vec<(usize, usize)> {
    if query.is_empty() {
        return Vec::new();
    }
    let exact = query.chars().any(char::is_uppercase);
    let fold = |c: char| {
        if exact {
            c
        } else {
            c.to_lowercase().next().unwrap_or(c)
        }
    };
    let wanted: Vec<char> = query.chars().map(fold).collect();
    let chars: Vec<(usize, char)> = line.char_indices().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i + wanted.len() <= chars.len() {
        let hit = wanted
            .iter()
            .zip(&chars[i..])
            .all(|(w, (_, c))| fold(*c) == *w);
        if hit {
            let start = chars[i].0;
            let end = chars
                .get(i + wanted.len())
                .map_or(line.len(), |(at, _)| *at);
            out.push((start, end));
            i += wanted.len();
        } else {
            i += 1;
        }
    }
    out
}

/// `text` drawn in `style`, its matches of `query` reversed and the one starting at
/// `current` (a byte offset) bold as well.
pub fn highlighted(
    text: String,
    style: Style,
    query: &str,
    current: Option<usize>,
) -> Line<'static> {
    let found = matches(&text, query);
    if found.is_empty() {
        return Line::styled(text, style);
    }
    let mut spans = Vec::with_capacity(found.len() * 2 + 1);
    let mut at = 0;
    for (start, end) in found {
        if start > at {
            spans.push(Span::styled(text[at..start].to_string(), style));
        }
        let mut mark = style.add_modifier(Modifier::REVERSED);
        if current == Some(start) {
            mark = mark.add_modifier(Modifier::BOLD | Modifier::UNDERLINED);
        }
        spans.push(Span::styled(text[start..end].to_string(), mark));
        at = end;
    }
    if at < text.len() {
        spans.push(Span::styled(text[at..].to_string(), style));
    }
    Line::from(spans)
}

/// The match after (or before) `from` — a line and a byte offset in it — among `lines`,
/// wrapping round; with its number among all matches (from 1) and how many there are.
pub fn step<'a>(
    lines: impl Iterator<Item = &'a str>,
    query: &str,
    from: Option<(usize, usize)>,
    forward: bool,
) -> Option<((usize, usize, usize), usize, usize)> {
    let all: Vec<(usize, usize, usize)> = lines
        .enumerate()
        .flat_map(|(n, line)| {
            matches(line, query)
                .into_iter()
                .map(move |(start, end)| (n, start, end))
        })
        .collect();
    if all.is_empty() {
        return None;
    }
    let index = match (from, forward) {
        (None, true) => 0,
        (None, false) => all.len() - 1,
        (Some(at), true) => all.iter().position(|&(n, s, _)| (n, s) > at).unwrap_or(0),
        (Some(at), false) => all
            .iter()
            .rposition(|&(n, s, _)| (n, s) < at)
            .unwrap_or(all.len() - 1),
    };
    Some((all[index], index + 1, all.len()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lower_case_matches_either_case_a_capital_only_itself() {
        assert_eq!(
            matches("Retry, retry, RETRY", "retry"),
            [(0, 5), (7, 12), (14, 19)]
        );
        assert_eq!(matches("Retry, retry, RETRY", "Retry"), [(0, 5)]);
        assert_eq!(matches("aaaa", "aa"), [(0, 2), (2, 4)]);
        assert_eq!(matches("straße ß", "ß"), [(4, 6), (8, 10)]);
        assert!(matches("anything", "").is_empty());
    }

    #[test]
    fn steps_go_round_in_both_directions() {
        let lines = ["one match", "none", "match and match"];
        let first = step(lines.iter().copied(), "match", None, true).unwrap();
        assert_eq!(first, ((0, 4, 9), 1, 3));
        let second = step(lines.iter().copied(), "match", Some((0, 4)), true).unwrap();
        assert_eq!(second, ((2, 0, 5), 2, 3));
        let round = step(lines.iter().copied(), "match", Some((2, 10)), true).unwrap();
        assert_eq!(round.1, 1);
        let back = step(lines.iter().copied(), "match", Some((0, 4)), false).unwrap();
        assert_eq!(back, ((2, 10, 15), 3, 3));
        assert_eq!(step(lines.iter().copied(), "absent", None, true), None);
    }
}
