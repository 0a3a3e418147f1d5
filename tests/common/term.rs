//! A TestBackend the TUI's loops can drive: they want a backend whose errors are I/O errors,
//! as the real terminal's are.

use std::convert::Infallible;
use std::io;

use ratatui::backend::{Backend, ClearType, TestBackend, WindowSize};
use ratatui::buffer::Cell;
use ratatui::layout::{Position, Size};

pub struct Screen(pub TestBackend);

fn never(e: Infallible) -> io::Error {
    match e {}
}

impl Backend for Screen {
    type Error = io::Error;

    fn draw<'a, I>(&mut self, content: I) -> io::Result<()>
    where
        I: Iterator<Item = (u16, u16, &'a Cell)>,
    {
        self.0.draw(content).map_err(never)
    }
    fn hide_cursor(&mut self) -> io::Result<()> {
        self.0.hide_cursor().map_err(never)
    }
    fn show_cursor(&mut self) -> io::Result<()> {
        self.0.show_cursor().map_err(never)
    }
    fn get_cursor_position(&mut self) -> io::Result<Position> {
        self.0.get_cursor_position().map_err(never)
    }
    fn set_cursor_position<P: Into<Position>>(&mut self, position: P) -> io::Result<()> {
        self.0.set_cursor_position(position).map_err(never)
    }
    fn clear(&mut self) -> io::Result<()> {
        self.0.clear().map_err(never)
    }
    fn clear_region(&mut self, clear_type: ClearType) -> io::Result<()> {
        self.0.clear_region(clear_type).map_err(never)
    }
    fn size(&self) -> io::Result<Size> {
        self.0.size().map_err(never)
    }
    fn window_size(&mut self) -> io::Result<WindowSize> {
        self.0.window_size().map_err(never)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.0.flush().map_err(never)
    }
}
