//! Semantic colours (state colours, error, focus, dim) and the theme files that set them.
//!
//! The dark theme is embedded and is the base of every theme: a theme file lists only the
//! colours it changes. `NO_COLOR` turns every colour off; meaning then rests on bold, reversed
//! and the badges' text and glyphs. Every built-in theme's text colours are readable on its
//! background: a contrast ratio of at least 4.5:1 (7:1 for high-contrast), checked by a test
//! with [`contrast`].

use std::path::Path;

pub use crate::engine::run::AgentState;
use ratatui::style::{Color, Modifier, Style};

use crate::engine::Outcome;

const DARK: &str = include_str!("../../themes/dark.yaml");
const LIGHT: &str = include_str!("../../themes/light.yaml");
const HIGH_CONTRAST: &str = include_str!("../../themes/high-contrast.yaml");
/// A theme file lists a few dozen colours; anything this large is not one.
const MAX_THEME_BYTES: u64 = 1024 * 1024;

/// The names `--theme` accepts without a path.
pub const BUILT_IN: &[&str] = &["dark", "light", "high-contrast"];

#[derive(Clone, Debug, PartialEq)]
pub struct Theme {
    /// What the theme is drawn on: painted behind the whole screen, unless `reset` (the
    /// terminal's own, which a dark theme takes to be black).
    pub background: Color,
    pub text: Color,
    pub dim: Color,
    pub focus: Color,
    pub border: Color,
    pub title: Color,
    pub header: Color,
    pub error: Color,
    pub warning: Color,
    pub success: Color,
    pub reasoning: Color,
    pub tool: Color,
    pub input: Color,
    pub state_idle: Color,
    pub state_waiting: Color,
    pub state_thinking: Color,
    pub state_streaming: Color,
    pub state_tool: Color,
    pub state_paused: Color,
    pub state_done: Color,
    pub state_failed: Color,
    pub state_cancelled: Color,
    /// Set by NO_COLOR: styles carry modifiers only.
    pub monochrome: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum ThemeError {
    // The cause is said in the message, so it is not also a `source` (which would repeat it
    // in an error chain).
    #[error("{file}: {error}")]
    Read { file: String, error: std::io::Error },
    #[error("{file}:{line}:{column}: {message}")]
    Invalid {
        file: String,
        line: u64,
        column: u64,
        message: String,
    },
    #[error("unknown theme `{0}`; built-in themes: dark, light, high-contrast, or give a path")]
    Unknown(String),
}

impl Theme {
    /// The embedded default (dark) theme.
    pub fn default_dark() -> Self {
        let mut theme = Self::blank();
        // The embedded file is part of the build and covered by a test, so it always parses.
        if let Err(e) = theme.patch(DARK, "themes/dark.yaml") {
            tracing::error!("embedded dark theme: {e}");
        }
        theme
    }

    /// A theme by built-in name or file path, over the dark default; NO_COLOR wins over both.
    pub fn load(name_or_path: Option<&str>, no_color: bool) -> Result<Self, ThemeError> {
        let mut theme = Self::default_dark();
        match name_or_path {
            None | Some("dark") => {}
            Some("light") => theme.patch(LIGHT, "themes/light.yaml")?,
            Some("high-contrast") => theme.patch(HIGH_CONTRAST, "themes/high-contrast.yaml")?,
            Some(path)
                if Path::new(path).exists() || path.contains('/') || path.ends_with(".yaml") =>
            {
                let read = |error| ThemeError::Read {
                    file: path.to_string(),
                    error,
                };
                let bytes =
                    crate::files::read_bounded(Path::new(path), MAX_THEME_BYTES).map_err(read)?;
                let text = String::from_utf8(bytes)
                    .map_err(|e| read(std::io::Error::new(std::io::ErrorKind::InvalidData, e)))?;
                theme.patch(&text, path)?;
            }
            Some(other) => return Err(ThemeError::Unknown(other.to_string())),
        }
        theme.monochrome = no_color;
        Ok(theme)
    }

    fn blank() -> Self {
        Self {
            background: Color::Reset,
            text: Color::Reset,
            dim: Color::Reset,
            focus: Color::Reset,
            border: Color::Reset,
            title: Color::Reset,
            header: Color::Reset,
            error: Color::Reset,
            warning: Color::Reset,
            success: Color::Reset,
            reasoning: Color::Reset,
            tool: Color::Reset,
            input: Color::Reset,
            state_idle: Color::Reset,
            state_waiting: Color::Reset,
            state_thinking: Color::Reset,
            state_streaming: Color::Reset,
            state_tool: Color::Reset,
            state_paused: Color::Reset,
            state_done: Color::Reset,
            state_failed: Color::Reset,
            state_cancelled: Color::Reset,
            monochrome: false,
        }
    }

    /// Applies the colours a theme file lists; an unknown key or colour is an error with its
    /// location.
    fn patch(&mut self, text: &str, file: &str) -> Result<(), ThemeError> {
        use serde_saphyr::Spanned;
        let entries: std::collections::HashMap<Spanned<String>, Spanned<String>> =
            if text.trim().is_empty() {
                Default::default()
            } else {
                serde_saphyr::from_str(text).map_err(|e| {
                    let (line, column) = e.location().map_or((0, 0), |l| (l.line(), l.column()));
                    ThemeError::Invalid {
                        file: file.to_string(),
                        line,
                        column,
                        message: e.to_string().lines().next().unwrap_or_default().to_string(),
                    }
                })?
            };
        let mut entries: Vec<_> = entries.into_iter().collect();
        // Report the first problem in file order, whatever order the map gives.
        entries.sort_by_key(|(key, _)| (key.referenced.line(), key.referenced.column()));
        for (key, value) in entries {
            let invalid = |message: String, at: &Spanned<String>| ThemeError::Invalid {
                file: file.to_string(),
                line: at.referenced.line(),
                column: at.referenced.column(),
                message,
            };
            let color = parse_color(&value.value)
                .ok_or_else(|| invalid(format!("`{}` is not a colour", value.value), &value))?;
            let slot = self
                .slot(&key.value)
                .ok_or_else(|| invalid(format!("unknown theme colour `{}`", key.value), &key))?;
            *slot = color;
        }
        Ok(())
    }

    fn slot(&mut self, name: &str) -> Option<&mut Color> {
        Some(match name {
            "background" => &mut self.background,
            "text" => &mut self.text,
            "dim" => &mut self.dim,
            "focus" => &mut self.focus,
            "border" => &mut self.border,
            "title" => &mut self.title,
            "header" => &mut self.header,
            "error" => &mut self.error,
            "warning" => &mut self.warning,
            "success" => &mut self.success,
            "reasoning" => &mut self.reasoning,
            "tool" => &mut self.tool,
            "input" => &mut self.input,
            "state_idle" => &mut self.state_idle,
            "state_waiting" => &mut self.state_waiting,
            "state_thinking" => &mut self.state_thinking,
            "state_streaming" => &mut self.state_streaming,
            "state_tool" => &mut self.state_tool,
            "state_paused" => &mut self.state_paused,
            "state_done" => &mut self.state_done,
            "state_failed" => &mut self.state_failed,
            "state_cancelled" => &mut self.state_cancelled,
            _ => return None,
        })
    }

    /// The style of the whole screen: the theme's background, when it paints one.
    pub fn base(&self) -> Style {
        if self.monochrome || self.background == Color::Reset {
            Style::default()
        } else {
            Style::default().bg(self.background)
        }
    }

    /// Every colour text is drawn in, by its key, with the contrast it needs against the
    /// background: text at least `text`, borders (not text, only lines) at least 3:1.
    pub fn inks(&self) -> [(&'static str, Color, bool); 21] {
        [
            ("text", self.text, true),
            ("dim", self.dim, true),
            ("focus", self.focus, true),
            ("border", self.border, false),
            ("title", self.title, true),
            ("header", self.header, true),
            ("error", self.error, true),
            ("warning", self.warning, true),
            ("success", self.success, true),
            ("reasoning", self.reasoning, true),
            ("tool", self.tool, true),
            ("input", self.input, true),
            ("state_idle", self.state_idle, true),
            ("state_waiting", self.state_waiting, true),
            ("state_thinking", self.state_thinking, true),
            ("state_streaming", self.state_streaming, true),
            ("state_tool", self.state_tool, true),
            ("state_paused", self.state_paused, true),
            ("state_done", self.state_done, true),
            ("state_failed", self.state_failed, true),
            ("state_cancelled", self.state_cancelled, true),
        ]
    }

    fn fg(&self, color: Color) -> Style {
        if self.monochrome {
            Style::default()
        } else {
            Style::default().fg(color)
        }
    }

    pub fn text(&self) -> Style {
        self.fg(self.text)
    }

    pub fn dim(&self) -> Style {
        self.fg(self.dim)
    }

    pub fn title(&self, focused: bool) -> Style {
        let style = self.fg(if focused { self.focus } else { self.title });
        style.add_modifier(Modifier::BOLD)
    }

    /// A pane's border: focus, failure and plain, in that order of precedence.
    pub fn border(&self, focused: bool, failed: bool) -> Style {
        match (focused, failed) {
            (_, true) if !self.monochrome => self.fg(self.error).add_modifier(if focused {
                Modifier::BOLD
            } else {
                Modifier::empty()
            }),
            (true, _) => self.fg(self.focus).add_modifier(Modifier::BOLD),
            (false, _) => self.fg(self.border),
        }
    }

    pub fn error(&self) -> Style {
        self.fg(self.error).add_modifier(Modifier::BOLD)
    }

    pub fn warning(&self) -> Style {
        self.fg(self.warning)
    }

    pub fn success(&self) -> Style {
        self.fg(self.success)
    }

    pub fn reasoning(&self) -> Style {
        self.fg(self.reasoning).add_modifier(Modifier::ITALIC)
    }

    pub fn tool(&self) -> Style {
        self.fg(self.tool)
    }

    pub fn header(&self) -> Style {
        self.fg(self.header).add_modifier(Modifier::BOLD)
    }

    pub fn input(&self) -> Style {
        self.fg(self.input)
    }

    pub fn state(&self, state: AgentState) -> Style {
        let color = match state {
            AgentState::Idle => self.state_idle,
            AgentState::Waiting => self.state_waiting,
            AgentState::Thinking => self.state_thinking,
            AgentState::Streaming => self.state_streaming,
            AgentState::RunningTool => self.state_tool,
            AgentState::Paused | AgentState::Stopped => self.state_paused,
            AgentState::Done => self.state_done,
            AgentState::Failed => self.state_failed,
            AgentState::Cancelled => self.state_cancelled,
        };
        let style = self.fg(color);
        match state {
            AgentState::Failed | AgentState::Paused | AgentState::Stopped => {
                style.add_modifier(Modifier::BOLD)
            }
            _ => style,
        }
    }

    pub fn outcome(&self, outcome: Outcome) -> Style {
        match outcome {
            Outcome::Completed => self.success(),
            Outcome::Paused => self.warning(),
            Outcome::Failed | Outcome::Limit => self.error(),
            Outcome::Cancelled => self.dim(),
        }
    }
}

/// The colour as red, green and blue; a named or indexed colour as xterm draws it by default
/// (terminals differ, xterm's palette is the common reference). `None` for `reset`, which is
/// whatever the terminal has.
pub fn rgb(color: Color) -> Option<(u8, u8, u8)> {
    const ANSI: [(u8, u8, u8); 16] = [
        (0x00, 0x00, 0x00),
        (0xcd, 0x00, 0x00),
        (0x00, 0xcd, 0x00),
        (0xcd, 0xcd, 0x00),
        (0x00, 0x00, 0xee),
        (0xcd, 0x00, 0xcd),
        (0x00, 0xcd, 0xcd),
        (0xe5, 0xe5, 0xe5),
        (0x7f, 0x7f, 0x7f),
        (0xff, 0x00, 0x00),
        (0x00, 0xff, 0x00),
        (0xff, 0xff, 0x00),
        (0x5c, 0x5c, 0xff),
        (0xff, 0x00, 0xff),
        (0x00, 0xff, 0xff),
        (0xff, 0xff, 0xff),
    ];
    let index = match color {
        Color::Reset => return None,
        Color::Rgb(r, g, b) => return Some((r, g, b)),
        Color::Black => 0,
        Color::Red => 1,
        Color::Green => 2,
        Color::Yellow => 3,
        Color::Blue => 4,
        Color::Magenta => 5,
        Color::Cyan => 6,
        Color::Gray => 7,
        Color::DarkGray => 8,
        Color::LightRed => 9,
        Color::LightGreen => 10,
        Color::LightYellow => 11,
        Color::LightBlue => 12,
        Color::LightMagenta => 13,
        Color::LightCyan => 14,
        Color::White => 15,
        Color::Indexed(i) => i,
    };
    Some(match index {
        0..=15 => ANSI[usize::from(index)],
        16..=231 => {
            let level = |n: u8| if n == 0 { 0 } else { 55 + 40 * n };
            let n = index - 16;
            (level(n / 36), level(n / 6 % 6), level(n % 6))
        }
        232..=255 => {
            let grey = 8 + 10 * (index - 232);
            (grey, grey, grey)
        }
    })
}

/// The contrast ratio of two colours, 1 to 21, as WCAG 2 defines it.
pub fn contrast(a: (u8, u8, u8), b: (u8, u8, u8)) -> f64 {
    let luminance = |(r, g, b): (u8, u8, u8)| {
        let linear = |c: u8| {
            let c = f64::from(c) / 255.0;
            if c <= 0.04045 {
                c / 12.92
            } else {
                ((c + 0.055) / 1.055).powf(2.4)
            }
        };
        0.2126 * linear(r) + 0.7152 * linear(g) + 0.0722 * linear(b)
    };
    let (la, lb) = (luminance(a), luminance(b));
    (la.max(lb) + 0.05) / (la.min(lb) + 0.05)
}

fn parse_color(text: &str) -> Option<Color> {
    let text = text.trim();
    if let Some(hex) = text.strip_prefix('#') {
        if hex.len() != 6 {
            return None;
        }
        let n = u32::from_str_radix(hex, 16).ok()?;
        return Some(Color::Rgb((n >> 16) as u8, (n >> 8) as u8, n as u8));
    }
    if let Ok(index) = text.parse::<u8>() {
        return Some(Color::Indexed(index));
    }
    Some(
        match text.to_ascii_lowercase().replace(['-', ' '], "_").as_str() {
            "reset" | "default" => Color::Reset,
            "black" => Color::Black,
            "red" => Color::Red,
            "green" => Color::Green,
            "yellow" => Color::Yellow,
            "blue" => Color::Blue,
            "magenta" => Color::Magenta,
            "cyan" => Color::Cyan,
            "gray" | "grey" => Color::Gray,
            "dark_gray" | "dark_grey" => Color::DarkGray,
            "light_red" => Color::LightRed,
            "light_green" => Color::LightGreen,
            "light_yellow" => Color::LightYellow,
            "light_blue" => Color::LightBlue,
            "light_magenta" => Color::LightMagenta,
            "light_cyan" => Color::LightCyan,
            "white" => Color::White,
            _ => return None,
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_in_themes_parse_and_differ() {
        let dark = Theme::load(None, false).unwrap();
        assert_eq!(dark, Theme::load(Some("dark"), false).unwrap());
        assert_eq!(dark.error, Color::LightRed);
        for name in BUILT_IN {
            Theme::load(Some(name), false).unwrap();
        }
        let light = Theme::load(Some("light"), false).unwrap();
        assert_ne!(light.text, dark.text);
    }

    #[test]
    fn a_theme_file_changes_only_what_it_lists() {
        let dir = std::env::temp_dir().join(format!("crewtui-theme-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("mine.yaml");
        std::fs::write(&path, "error: \"#ff0000\"\nfocus: 208\n").unwrap();
        let theme = Theme::load(path.to_str(), false).unwrap();
        assert_eq!(theme.error, Color::Rgb(255, 0, 0));
        assert_eq!(theme.focus, Color::Indexed(208));
        assert_eq!(theme.success, Theme::default_dark().success);

        std::fs::write(&path, "error: red\nfocsu: blue\n").unwrap();
        let err = Theme::load(path.to_str(), false).unwrap_err().to_string();
        assert!(
            err.ends_with("mine.yaml:2:1: unknown theme colour `focsu`"),
            "{err}"
        );
        std::fs::write(&path, "error: scarlet\n").unwrap();
        let err = Theme::load(path.to_str(), false).unwrap_err().to_string();
        assert!(err.contains(":1:8: `scarlet` is not a colour"), "{err}");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn every_built_in_theme_is_readable_on_its_background() {
        for (name, least) in [("dark", 4.5), ("light", 4.5), ("high-contrast", 7.0)] {
            let theme = Theme::load(Some(name), false).unwrap();
            // A dark theme on the terminal's own background takes it to be black.
            let background = rgb(theme.background).unwrap_or((0, 0, 0));
            for (key, color, is_text) in theme.inks() {
                // `reset` is the terminal's own text colour, made for its own background.
                let Some(ink) = rgb(color) else {
                    assert_eq!(theme.background, Color::Reset, "{name}: {key} is reset");
                    continue;
                };
                let ratio = contrast(ink, background);
                let needed = if is_text { least } else { 3.0 };
                assert!(
                    ratio >= needed,
                    "{name}: {key} {color:?} has {ratio:.2}:1 against {background:?}, needs {needed}:1"
                );
            }
        }
    }

    #[test]
    fn contrast_follows_wcag_and_palettes_follow_xterm() {
        assert!((contrast((0, 0, 0), (255, 255, 255)) - 21.0).abs() < 1e-9);
        assert!((contrast((0x77, 0x77, 0x77), (255, 255, 255)) - 4.48).abs() < 0.01);
        assert_eq!(rgb(Color::Indexed(7)), rgb(Color::Gray));
        assert_eq!(rgb(Color::Indexed(105)), Some((0x87, 0x87, 0xff)));
        assert_eq!(rgb(Color::Indexed(244)), Some((0x80, 0x80, 0x80)));
        assert_eq!(rgb(Color::Reset), None);
    }

    #[test]
    fn no_color_drops_every_colour() {
        let theme = Theme::load(None, true).unwrap();
        assert_eq!(theme.state(AgentState::Streaming).fg, None);
        assert_eq!(theme.error().fg, None);
        assert!(theme.error().add_modifier.contains(Modifier::BOLD));
        assert!(Theme::load(Some("nope"), false).is_err());
    }
}
