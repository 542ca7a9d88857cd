//! A one-line text field: typing, paste, cursor keys, Ctrl-U to clear. It scrolls
//! horizontally to keep the cursor in view.

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TextField {
    value: String,
    /// The cursor, in characters.
    cursor: usize,
}

impl TextField {
    pub fn new(value: &str) -> TextField {
        TextField {
            value: value.to_string(),
            cursor: value.chars().count(),
        }
    }

    pub fn value(&self) -> &str {
        &self.value
    }

    pub fn cursor(&self) -> usize {
        self.cursor
    }

    fn byte_at(&self, chars: usize) -> usize {
        self.value
            .char_indices()
            .nth(chars)
            .map(|(i, _)| i)
            .unwrap_or(self.value.len())
    }

    /// Inserts text at the cursor; line breaks and tabs become spaces (one-line field).
    pub fn insert_str(&mut self, s: &str) {
        let clean: String = s
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect();
        let at = self.byte_at(self.cursor);
        self.value.insert_str(at, &clean);
        self.cursor += clean.chars().count();
    }

    /// Handles an editing key; false when the key is not one (the caller may use it).
    pub fn handle(&mut self, key: &KeyEvent) -> bool {
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        match key.code {
            KeyCode::Char('u') if ctrl => {
                self.value.clear();
                self.cursor = 0;
            }
            KeyCode::Char('w') if ctrl => {
                let chars: Vec<char> = self.value.chars().collect();
                let mut start = self.cursor;
                while start > 0 && chars[start - 1] == ' ' {
                    start -= 1;
                }
                while start > 0 && chars[start - 1] != ' ' {
                    start -= 1;
                }
                let (a, b) = (self.byte_at(start), self.byte_at(self.cursor));
                self.value.replace_range(a..b, "");
                self.cursor = start;
            }
            KeyCode::Char('a') if ctrl => self.cursor = 0,
            KeyCode::Char('e') if ctrl => self.cursor = self.value.chars().count(),
            KeyCode::Char(_) if ctrl || key.modifiers.contains(KeyModifiers::ALT) => return false,
            KeyCode::Char(c) => {
                let at = self.byte_at(self.cursor);
                self.value.insert(at, c);
                self.cursor += 1;
            }
            KeyCode::Backspace if self.cursor > 0 => {
                let at = self.byte_at(self.cursor - 1);
                self.value.remove(at);
                self.cursor -= 1;
            }
            KeyCode::Backspace => {}
            KeyCode::Delete if self.cursor < self.value.chars().count() => {
                let at = self.byte_at(self.cursor);
                self.value.remove(at);
            }
            KeyCode::Delete => {}
            KeyCode::Left => self.cursor = self.cursor.saturating_sub(1),
            KeyCode::Right => self.cursor = (self.cursor + 1).min(self.value.chars().count()),
            KeyCode::Home => self.cursor = 0,
            KeyCode::End => self.cursor = self.value.chars().count(),
            _ => return false,
        }
        true
    }

    /// The part of `shown` (the value, or its mask) that fits in `width` columns with the
    /// cursor in view, and the cursor's column in it.
    pub fn window(shown: &str, cursor: usize, width: usize) -> (String, usize) {
        let width = width.max(1);
        let start = (cursor + 1).saturating_sub(width);
        let vis: String = shown.chars().skip(start).take(width).collect();
        (vis, cursor - start)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn k(c: KeyCode) -> KeyEvent {
        KeyEvent::new(c, KeyModifiers::NONE)
    }

    #[test]
    fn edits_at_the_cursor() {
        let mut t = TextField::new("ac");
        t.handle(&k(KeyCode::Left));
        t.handle(&k(KeyCode::Char('b')));
        assert_eq!(t.value(), "abc");
        t.handle(&k(KeyCode::Backspace));
        assert_eq!(t.value(), "ac");
        t.insert_str("x\ny");
        assert_eq!(t.value(), "ax yc");
        t.handle(&KeyEvent::new(KeyCode::Char('u'), KeyModifiers::CONTROL));
        assert_eq!((t.value(), t.cursor()), ("", 0));
        assert!(!t.handle(&KeyEvent::new(KeyCode::Char('n'), KeyModifiers::CONTROL)));
    }

    #[test]
    fn the_window_follows_the_cursor() {
        assert_eq!(TextField::window("abcdef", 6, 4), ("def".into(), 3));
        assert_eq!(TextField::window("abcdef", 1, 4), ("abcd".into(), 1));
    }
}
