//! Styles and status symbols. `NO_COLOR` (set and non-empty) turns colour off; bold,
//! reversed and the symbols still carry every meaning, so no signal relies on colour alone.

use crate::findings::Severity;
use ratatui::style::{Color, Modifier, Style};

/// How good something is: every level has a symbol and a word, colour only adds to them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    /// Nothing known yet, or waiting on something else.
    Waiting,
    Info,
    Ok,
    Warn,
    Bad,
}

impl Level {
    pub fn symbol(self) -> &'static str {
        match self {
            Level::Waiting => "…",
            Level::Info => "i",
            Level::Ok => "✓",
            Level::Warn => "!",
            Level::Bad => "✗",
        }
    }

    pub fn word(self) -> &'static str {
        match self {
            Level::Waiting => "waiting",
            Level::Info => "info",
            Level::Ok => "ok",
            Level::Warn => "warning",
            Level::Bad => "error",
        }
    }

    pub fn of(s: Severity) -> Level {
        match s {
            Severity::Info => Level::Info,
            Severity::Warning => Level::Warn,
            Severity::Error => Level::Bad,
        }
    }
}

/// Spinner frames (ASCII: any terminal font has them).
pub const SPINNER: [&str; 4] = ["|", "/", "-", "\\"];

pub fn spinner(frame: u64) -> &'static str {
    SPINNER[(frame % SPINNER.len() as u64) as usize]
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Theme {
    pub color: bool,
}

impl Default for Theme {
    fn default() -> Self {
        Theme { color: true }
    }
}

impl Theme {
    /// Colour unless `NO_COLOR` is set to a non-empty value (no-color.org).
    pub fn from_env() -> Theme {
        Theme::from_no_color(std::env::var_os("NO_COLOR").as_deref())
    }

    pub fn from_no_color(v: Option<&std::ffi::OsStr>) -> Theme {
        Theme {
            color: v.is_none_or(|v| v.is_empty()),
        }
    }

    fn fg(&self, c: Color) -> Style {
        if self.color {
            Style::new().fg(c)
        } else {
            Style::new()
        }
    }

    pub fn level(&self, l: Level) -> Style {
        match l {
            Level::Waiting => self.fg(Color::DarkGray),
            Level::Info => self.fg(Color::Cyan),
            Level::Ok => self.fg(Color::Green),
            Level::Warn => self.fg(Color::Yellow).add_modifier(Modifier::BOLD),
            Level::Bad => self.fg(Color::Red).add_modifier(Modifier::BOLD),
        }
    }

    pub fn title(&self) -> Style {
        self.fg(Color::Cyan).add_modifier(Modifier::BOLD)
    }

    pub fn heading(&self) -> Style {
        Style::new().add_modifier(Modifier::BOLD)
    }

    pub fn selected(&self) -> Style {
        Style::new().add_modifier(Modifier::REVERSED)
    }

    pub fn key(&self) -> Style {
        self.fg(Color::Yellow).add_modifier(Modifier::BOLD)
    }

    pub fn dim(&self) -> Style {
        if self.color {
            Style::new().fg(Color::DarkGray)
        } else {
            Style::new().add_modifier(Modifier::DIM)
        }
    }

    pub fn focus(&self) -> Style {
        self.fg(Color::Cyan).add_modifier(Modifier::BOLD)
    }

    pub fn code(&self) -> Style {
        self.fg(Color::LightBlue)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::OsStr;

    #[test]
    fn no_color_set_and_non_empty_turns_colour_off() {
        assert!(Theme::from_no_color(None).color);
        assert!(Theme::from_no_color(Some(OsStr::new(""))).color);
        assert!(!Theme::from_no_color(Some(OsStr::new("1"))).color);
        let mono = Theme { color: false };
        assert_eq!(mono.level(Level::Ok), Style::new());
        // Errors stay bold without colour, and every level has its own symbol.
        assert!(mono.level(Level::Bad).add_modifier.contains(Modifier::BOLD));
        let syms: std::collections::HashSet<_> = [
            Level::Waiting,
            Level::Info,
            Level::Ok,
            Level::Warn,
            Level::Bad,
        ]
        .iter()
        .map(|l| l.symbol())
        .collect();
        assert_eq!(syms.len(), 5);
    }
}
