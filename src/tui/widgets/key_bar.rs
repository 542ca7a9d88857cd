//! The bottom key bar: `Enter next  ^B back  ? help  Esc quit`. Each hint is also a
//! button: a click sends its key.

use crate::tui::theme::Theme;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::Frame;

/// One hint: the key as shown, what it does, and the key a click sends.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hint {
    pub keys: &'static str,
    pub label: &'static str,
    pub sends: KeyEvent,
}

impl Hint {
    pub fn new(keys: &'static str, label: &'static str, code: KeyCode) -> Hint {
        Hint {
            keys,
            label,
            sends: KeyEvent::new(code, KeyModifiers::NONE),
        }
    }

    pub fn ctrl(keys: &'static str, label: &'static str, c: char) -> Hint {
        Hint {
            keys,
            label,
            sends: KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL),
        }
    }
}

/// Draws the hints that fit; returns each drawn hint's rectangle and key.
pub fn render(f: &mut Frame, area: Rect, hints: &[Hint], theme: &Theme) -> Vec<(Rect, KeyEvent)> {
    let mut spans = Vec::new();
    let mut hits = Vec::new();
    let mut x = area.x;
    let end = area.x + area.width;
    for h in hints {
        let w = (h.keys.chars().count() + 1 + h.label.chars().count()) as u16;
        if x + w > end {
            break;
        }
        spans.push(Span::styled(h.keys, theme.key()));
        spans.push(Span::raw(format!(" {}", h.label)));
        hits.push((Rect::new(x, area.y, w, 1), h.sends));
        x += w;
        if x + 2 <= end {
            spans.push(Span::raw("  "));
            x += 2;
        }
    }
    f.render_widget(Line::from(spans), area);
    hits
}
