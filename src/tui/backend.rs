//! A backend wrapper that writes fewer bytes: it bridges short gaps in a frame's changes.
//!
//! ratatui sends a backend only the cells that changed, and a backend moves the cursor before
//! every run of them. When a pane's text scrolls, most of its cells change but some happen to
//! stay the same (a space under a space), so a streaming frame is mostly cursor moves of 8 or
//! 9 bytes around runs of a few cells. [`Bridged`] remembers what the screen shows and, where
//! rewriting the unchanged cells between two changed ones on a row costs fewer bytes than the
//! move, sends those cells too. The screen ends up the same; fewer bytes go to the terminal.
//! Depends on ratatui only.

use ratatui::backend::{Backend, ClearType, WindowSize};
use ratatui::buffer::{Buffer, Cell, CellDiffOption};
use ratatui::layout::{Position, Rect, Size};
use unicode_width::UnicodeWidthStr;

/// Wraps the backend the terminal draws on; see the module doc.
pub struct Bridged<B> {
    inner: B,
    /// What the screen shows, as far as this backend wrote it; `None` when that is not known
    /// (before the first full clear, after a partial one), which turns bridging off.
    screen: Option<Buffer>,
}

impl<B: Backend> Bridged<B> {
    pub fn new(inner: B) -> Self {
        Self {
            inner,
            screen: None,
        }
    }

    pub fn inner(&self) -> &B {
        &self.inner
    }

    pub fn inner_mut(&mut self) -> &mut B {
        &mut self.inner
    }

    fn forget_screen(&mut self) {
        self.screen = None;
    }

    fn blank_screen(&mut self) -> Result<(), B::Error> {
        let size = self.inner.size()?;
        self.screen = Some(Buffer::empty(Rect::new(0, 0, size.width, size.height)));
        Ok(())
    }
}

/// Bytes of the escape sequence that moves the cursor to (`x`, `y`): `ESC [ row ; col H`.
fn move_cost(x: u16, y: u16) -> usize {
    let digits = |n: u32| n.to_string().len();
    4 + digits(u32::from(y) + 1) + digits(u32::from(x) + 1)
}

/// Whether `cell` can be written again between two changed cells without a style change:
/// one column wide, drawn normally, and styled as the cell written before it.
fn bridgeable(cell: &Cell, before: &Cell) -> bool {
    cell.diff_option == CellDiffOption::None
        && cell.fg == before.fg
        && cell.bg == before.bg
        && cell.modifier == before.modifier
        && cell.underline_color == before.underline_color
        && cell.symbol().width() == 1
}

impl<B: Backend> Backend for Bridged<B> {
    type Error = B::Error;

    fn draw<'a, I>(&mut self, mut content: I) -> Result<(), Self::Error>
    where
        I: Iterator<Item = (u16, u16, &'a Cell)>,
    {
        let Some(screen) = &mut self.screen else {
            return self.inner.draw(content);
        };
        let area = screen.area;
        let mut cells: Vec<(u16, u16, Cell)> = Vec::new();
        while let Some((x, y, cell)) = content.next() {
            if !area.contains(Position::new(x, y)) {
                // Off the screen as known: write exactly what was asked, and stop bridging.
                cells.push((x, y, cell.clone()));
                cells.extend(content.map(|(x, y, c)| (x, y, c.clone())));
                self.screen = None;
                return self.inner.draw(cells.iter().map(|(x, y, c)| (*x, *y, c)));
            }
            if let Some((px, py, prev)) = cells.last()
                && *py == y
                && x > px + 1
            {
                let gap = px + 1..x;
                let bytes: usize = gap.clone().map(|g| screen[(g, y)].symbol().len()).sum();
                if bytes <= move_cost(x, y)
                    && gap.clone().all(|g| bridgeable(&screen[(g, y)], prev))
                {
                    let bridge: Vec<_> = gap.map(|g| (g, y, screen[(g, y)].clone())).collect();
                    cells.extend(bridge);
                }
            }
            screen[(x, y)] = cell.clone();
            // The columns a wide character covers must never be bridged with what was there.
            let wide = cell.symbol().width() as u16;
            for cover in x.saturating_add(1)..x.saturating_add(wide).min(area.right()) {
                screen[(cover, y)].set_symbol("");
            }
            cells.push((x, y, cell.clone()));
        }
        self.inner.draw(cells.iter().map(|(x, y, c)| (*x, *y, c)))
    }

    fn append_lines(&mut self, n: u16) -> Result<(), Self::Error> {
        self.forget_screen();
        self.inner.append_lines(n)
    }

    fn hide_cursor(&mut self) -> Result<(), Self::Error> {
        self.inner.hide_cursor()
    }

    fn show_cursor(&mut self) -> Result<(), Self::Error> {
        self.inner.show_cursor()
    }

    fn get_cursor_position(&mut self) -> Result<Position, Self::Error> {
        self.inner.get_cursor_position()
    }

    fn set_cursor_position<P: Into<Position>>(&mut self, position: P) -> Result<(), Self::Error> {
        self.inner.set_cursor_position(position)
    }

    fn clear(&mut self) -> Result<(), Self::Error> {
        self.inner.clear()?;
        self.blank_screen()
    }

    fn clear_region(&mut self, clear_type: ClearType) -> Result<(), Self::Error> {
        self.inner.clear_region(clear_type)?;
        match clear_type {
            ClearType::All => self.blank_screen(),
            ClearType::AfterCursor
            | ClearType::BeforeCursor
            | ClearType::CurrentLine
            | ClearType::UntilNewLine => {
                self.forget_screen();
                Ok(())
            }
        }
    }

    fn size(&self) -> Result<Size, Self::Error> {
        self.inner.size()
    }

    fn window_size(&mut self) -> Result<WindowSize, Self::Error> {
        self.inner.window_size()
    }

    fn flush(&mut self) -> Result<(), Self::Error> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use ratatui::Terminal;
    use ratatui::text::Line;
    use ratatui::widgets::Paragraph;

    use super::*;

    /// Frames of wrapped text that scrolls a line at a time, with wide characters in it.
    fn frames() -> Vec<Vec<String>> {
        let words = [
            "a",
            "tool",
            "日本語",
            "runs",
            "in",
            "its",
            "own",
            "task",
            "ok",
        ];
        let text: Vec<String> = (0..40)
            .map(|i| {
                (0..6)
                    .map(|j| words[(i * 7 + j * 3) % words.len()])
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .collect();
        (0..30).map(|top| text[top..top + 8].to_vec()).collect()
    }

    /// Draws `lines` and returns the buffer ratatui drew.
    fn draw<B: Backend>(terminal: &mut Terminal<B>, lines: &[String]) -> Buffer {
        let lines: Vec<Line> = lines.iter().map(|l| Line::raw(l.clone())).collect();
        let frame = terminal
            .draw(|f| f.render_widget(Paragraph::new(lines), f.area()))
            .map_err(|_| "draw")
            .unwrap();
        frame.buffer.clone()
    }

    /// A terminal as far as these tests need one: a grid of symbols where a wide character
    /// covers the cells after it and writing over either half of one blanks the other, and a
    /// count of the bytes a terminal backend writes (a cursor move before every cell not right
    /// after the last one, then the symbol).
    struct Screen {
        width: u16,
        height: u16,
        rows: Vec<Vec<String>>,
        bytes: usize,
    }

    impl Screen {
        fn new(width: u16, height: u16) -> Self {
            Self {
                width,
                height,
                rows: vec![vec![" ".to_string(); width as usize]; height as usize],
                bytes: 0,
            }
        }

        fn put(&mut self, x: usize, y: usize, symbol: &str) {
            let row = &mut self.rows[y];
            // Writing over the right half of a wide character blanks its left half.
            if row[x].is_empty()
                && let Some(left) = (0..x).rev().find(|&i| !row[i].is_empty())
            {
                row[left] = " ".into();
                (left + 1..x).for_each(|i| row[i] = " ".into());
            }
            // Writing over a wide character blanks the cells it covered.
            let old = row[x].width().max(1);
            (x + 1..(x + old).min(row.len())).for_each(|i| row[i] = " ".into());
            row[x] = symbol.to_string();
            let wide = symbol.width().max(1);
            (x + 1..(x + wide).min(row.len())).for_each(|i| row[i] = String::new());
        }

        fn shown(&self) -> Vec<String> {
            self.rows.iter().map(|r| r.concat()).collect()
        }
    }

    impl Backend for Screen {
        type Error = std::convert::Infallible;

        fn draw<'a, I>(&mut self, content: I) -> Result<(), Self::Error>
        where
            I: Iterator<Item = (u16, u16, &'a Cell)>,
        {
            let mut last: Option<(u16, u16)> = None;
            for (x, y, cell) in content {
                if last != Some((x.wrapping_sub(1), y)) {
                    self.bytes += move_cost(x, y);
                }
                self.bytes += cell.symbol().len();
                last = Some((x, y));
                self.put(x as usize, y as usize, cell.symbol());
            }
            Ok(())
        }
        fn hide_cursor(&mut self) -> Result<(), Self::Error> {
            Ok(())
        }
        fn show_cursor(&mut self) -> Result<(), Self::Error> {
            Ok(())
        }
        fn get_cursor_position(&mut self) -> Result<Position, Self::Error> {
            Ok(Position::ORIGIN)
        }
        fn set_cursor_position<P: Into<Position>>(&mut self, _: P) -> Result<(), Self::Error> {
            Ok(())
        }
        fn clear(&mut self) -> Result<(), Self::Error> {
            *self = Self::new(self.width, self.height);
            Ok(())
        }
        fn clear_region(&mut self, _: ClearType) -> Result<(), Self::Error> {
            self.clear()
        }
        fn size(&self) -> Result<Size, Self::Error> {
            Ok(Size::new(self.width, self.height))
        }
        fn window_size(&mut self) -> Result<WindowSize, Self::Error> {
            Ok(WindowSize {
                columns_rows: Size::new(self.width, self.height),
                pixels: Size::new(0, 0),
            })
        }
        fn flush(&mut self) -> Result<(), Self::Error> {
            Ok(())
        }
    }

    /// Each row of `buffer` as a terminal shows it: the cells a wide character covers unseen.
    fn visible(buffer: &Buffer) -> Vec<String> {
        let area = buffer.area;
        (0..area.height)
            .map(|y| {
                let mut row = String::new();
                let mut x = 0;
                while x < area.width {
                    let cell = &buffer[(x, y)];
                    row.push_str(cell.symbol());
                    x += (cell.symbol().width() as u16).max(1);
                }
                row
            })
            .collect()
    }

    #[test]
    fn the_screen_shows_what_ratatui_drew_in_fewer_bytes() {
        let mut plain = Terminal::new(Screen::new(30, 8)).unwrap();
        let mut bridged = Terminal::new(Bridged::new(Screen::new(30, 8))).unwrap();
        plain.clear().unwrap();
        bridged.clear().unwrap();
        for frame in frames() {
            let drawn = draw(&mut plain, &frame);
            assert_eq!(plain.backend().shown(), visible(&drawn), "{frame:?}");
            draw(&mut bridged, &frame);
            assert_eq!(
                bridged.backend().inner().shown(),
                visible(&drawn),
                "{frame:?}"
            );
        }
        let (plain, bridged) = (plain.backend().bytes, bridged.backend().inner().bytes);
        assert!(
            bridged * 10 < plain * 9,
            "bridged {bridged} vs plain {plain}"
        );
    }
}
