//! The parts of the view that find and take text: searching the focused pane or the
//! inspector (`/`, `n`, `N`), copying (`y`), and moving the inspector between the agent's
//! model requests.
//!
//! What is searched is what is drawn: a pane's lines wrapped at the width it was last drawn,
//! the inspector's text at its width. Finding the next match reads the whole of it, once per
//! key; drawing highlights only the lines on screen.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::clipboard::bounded;
use super::inspector;
use super::pane::human_bytes;
use super::search;
use super::title::pinned_rows;
use super::view::{Overlay, Scroll, View};
use crate::engine::Run;

impl View {
    /// A key typed into the search query.
    pub(super) fn type_query(&mut self, key: KeyEvent) {
        let Some(search) = &mut self.search else {
            return;
        };
        match key.code {
            KeyCode::Backspace => {
                search.query.pop();
            }
            KeyCode::Char(c)
                if !key
                    .modifiers
                    .intersects(KeyModifiers::CONTROL | KeyModifiers::ALT) =>
            {
                search.query.push(c);
            }
            _ => {}
        }
    }

    /// Stops typing the query and goes to its first match.
    pub(super) fn find(&mut self, run: &Run) {
        let Some(search) = &mut self.search else {
            return;
        };
        search.editing = false;
        if search.query.is_empty() {
            self.search = None;
            return;
        }
        self.step_match(run, true);
    }

    /// The lines searched now (the inspector's while it is open, else the focused pane's),
    /// with the number of the first line on screen and how many are.
    fn searched_lines(&mut self, run: &Run) -> Option<(Vec<String>, usize, usize)> {
        let agent = run.agents().get(self.focus)?;
        if let Overlay::Inspector(top) = self.overlay {
            let width = self.inspector_area.width.max(1) as usize;
            let lines = inspector::lines(agent, self.inspected, width)
                .into_iter()
                .map(|(l, _)| l)
                .collect();
            return Some((lines, top, self.inspector_area.height as usize));
        }
        let &(_, rect) = self.drawn.iter().find(|(i, _)| *i == self.focus)?;
        let width = rect.width.saturating_sub(2) as usize;
        let inner = rect.height.saturating_sub(2);
        let height = inner.saturating_sub(pinned_rows(agent, inner)) as usize;
        let expanded = self.expanded.get(self.focus).copied().unwrap_or(false);
        let view = self.panes.get_mut(self.focus)?;
        let total = view.total_lines(&agent.timeline, width, expanded);
        let lines: Vec<String> = view
            .visible_lines(&agent.timeline, width, total, 0, expanded)
            .into_iter()
            .map(|(l, _)| l)
            .collect();
        let top = match self
            .scroll
            .get(self.focus)
            .copied()
            .unwrap_or(Scroll::Follow)
        {
            Scroll::Follow => total.saturating_sub(height),
            Scroll::Top(t) => t,
        };
        Some((lines, top, height))
    }

    /// Moves to the next (or previous) match and brings it into view.
    pub(super) fn step_match(&mut self, run: &Run, forward: bool) {
        let Some(query) = self.search.as_ref().map(|s| s.query.clone()) else {
            return;
        };
        let Some((lines, top, height)) = self.searched_lines(run) else {
            return;
        };
        let focus = self.focus;
        let from = self
            .search
            .as_ref()
            .and_then(|s| s.at_in(focus))
            .or_else(|| {
                // The first search starts from what is on screen.
                if forward {
                    top.checked_sub(1).map(|line| (line, usize::MAX))
                } else {
                    Some((top + height, 0))
                }
            });
        let Some(((line, start, _), number, all)) =
            search::step(lines.iter().map(String::as_str), &query, from, forward)
        else {
            if let Some(search) = &mut self.search {
                search.at = None;
                search.count = None;
            }
            self.notify(format!("Not found: {}", crate::text::visible_line(&query)));
            return;
        };
        if let Some(search) = &mut self.search {
            search.at = Some((line, start));
            search.agent = focus;
            search.count = Some((number, all));
        }
        // The footer says where the match is; an older notice would hide it.
        self.notice = None;
        // Into view, a few lines from the top, unless it is in view already.
        let shown = top <= line && line < top + height;
        if shown {
            return;
        }
        let wanted = line.saturating_sub(height / 3);
        if let Overlay::Inspector(_) = self.overlay {
            self.overlay = Overlay::Inspector(wanted);
        } else if let Some(scroll) = self.scroll.get_mut(self.focus) {
            let bottom = lines.len().saturating_sub(height);
            *scroll = if wanted >= bottom {
                Scroll::Follow
            } else {
                Scroll::Top(wanted)
            };
        }
    }

    /// Copies the line of the current match, or else the focused agent's last reply (the
    /// request shown, in the inspector), and says so.
    pub(super) fn copy(&mut self, run: &Run) {
        let focus = self.focus;
        let matched = self
            .search
            .as_ref()
            .and_then(|s| s.at_in(focus))
            .and_then(|(line, _)| {
                let (lines, _, _) = self.searched_lines(run)?;
                lines.into_iter().nth(line)
            });
        let Some(agent) = run.agents().get(self.focus) else {
            return;
        };
        let name = crate::text::visible_line(&agent.name).into_owned();
        let (what, text) = match matched {
            Some(line) => ("the line of the match".to_string(), line),
            None if matches!(self.overlay, Overlay::Inspector(_)) => {
                let lines = inspector::lines(agent, self.inspected, usize::MAX / 4);
                let text: Vec<String> = lines.into_iter().map(|(l, _)| l).collect();
                (format!("the request of {name} shown"), text.join("\n"))
            }
            None => match agent.last_reply() {
                Some(reply) => (format!("{name}'s last reply"), reply.to_string()),
                None => {
                    self.notify(format!("{name} has said nothing yet."));
                    return;
                }
            },
        };
        let (text, cut) = bounded(&text);
        let size = human_bytes(text.len() as u64);
        let notice = match self.clipboard.copy(text) {
            Ok(()) if cut => format!("Copied the first {size} of {what}."),
            Ok(()) => format!("Copied {what} ({size})."),
            Err(e) => format!("Not copied: {e}."),
        };
        self.notify(notice);
    }

    /// Moves the inspector: its scroll, or to another of the agent's requests.
    pub(super) fn inspector_move(&mut self, run: &Run, to: Move) {
        let Overlay::Inspector(top) = self.overlay else {
            return;
        };
        let page = (self.inspector_area.height as usize).max(5);
        let requests = run.agents().get(self.focus).map_or(0, |a| a.call_count());
        let shown = self.inspected.unwrap_or(requests.saturating_sub(1));
        let top = match to {
            Move::LineUp => top.saturating_sub(1),
            Move::LineDown => top + 1,
            Move::PageUp => top.saturating_sub(page),
            Move::PageDown => top + page,
            Move::Top => 0,
            Move::Bottom => usize::MAX / 2,
            Move::Older | Move::Newer => {
                let next = if to == Move::Older {
                    shown.checked_sub(1)
                } else {
                    Some(shown + 1).filter(|&n| n < requests)
                };
                match next {
                    Some(n) => {
                        self.inspected = (n + 1 < requests).then_some(n);
                        if let Some(search) = &mut self.search {
                            search.at = None;
                            search.count = None;
                        }
                        0
                    }
                    None => {
                        self.notify(if to == Move::Older {
                            "This is the first request."
                        } else {
                            "This is the newest request."
                        });
                        top
                    }
                }
            }
        };
        self.overlay = Overlay::Inspector(top);
    }
}

/// Where the inspector goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Move {
    LineUp,
    LineDown,
    PageUp,
    PageDown,
    Top,
    Bottom,
    /// The agent's previous / next model request.
    Older,
    Newer,
}
