//! A secret field: edited like a text field, always shown masked, never in `Debug`, and
//! never offered to the clipboard (nothing copies from it).

use super::text_field::TextField;
use ratatui::crossterm::event::KeyEvent;
use std::fmt;

/// The mask character.
pub const MASK: char = '•';

#[derive(Clone, Default, PartialEq, Eq)]
pub struct SecretField {
    inner: TextField,
}

impl fmt::Debug for SecretField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretField(<{} chars hidden>)", self.len())
    }
}

impl SecretField {
    pub fn handle(&mut self, key: &KeyEvent) -> bool {
        self.inner.handle(key)
    }

    pub fn insert_str(&mut self, s: &str) {
        self.inner.insert_str(s.trim());
    }

    pub fn len(&self) -> usize {
        self.inner.value().chars().count()
    }

    pub fn is_empty(&self) -> bool {
        self.inner.value().is_empty()
    }

    /// What is drawn: one mask character per character.
    pub fn masked(&self) -> String {
        std::iter::repeat_n(MASK, self.len()).collect()
    }

    pub fn cursor(&self) -> usize {
        self.inner.cursor()
    }

    /// The secret itself, for the one place that stores it (the key file).
    pub fn expose(&self) -> &str {
        self.inner.value()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ratatui::crossterm::event::{KeyCode, KeyModifiers};

    #[test]
    fn the_secret_never_shows() {
        let mut s = SecretField::default();
        for c in "hunter2".chars() {
            s.handle(&KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE));
        }
        assert_eq!(s.masked(), "•••••••");
        assert!(!format!("{s:?}").contains("hunter2"));
        assert_eq!(s.expose(), "hunter2");
    }
}
