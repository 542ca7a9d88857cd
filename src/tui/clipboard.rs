//! Copying to the clipboard. Over SSH, or without a display, the text goes to the
//! terminal as OSC 52 (the local terminal puts it in its clipboard); with a display, the
//! system clipboard through arboard, falling back to OSC 52. The caller always says which
//! was used. Only records, commands and fixes are copied: never a secret.

use std::fmt;
use std::io::Write;

/// How the text reached a clipboard.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Via {
    /// `ESC ] 52`: the terminal's clipboard (there is no acknowledgement).
    Osc52,
    /// The X11/Wayland clipboard, through arboard.
    System,
}

impl fmt::Display for Via {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Via::Osc52 => "OSC 52 (the terminal's clipboard)",
            Via::System => "the system clipboard",
        })
    }
}

/// The tmux setting an app's OSC 52 copy needs (tmux drops it by default).
pub const TMUX_SETTING: &str = "set -g set-clipboard on";

/// Above this many bytes some terminals drop an OSC 52 copy.
pub const OSC52_SAFE_BYTES: usize = 1024;

/// What a copy did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CopyReport {
    /// What was copied, in words ("1 record", "the fix").
    pub what: String,
    pub via: Via,
    pub bytes: usize,
    /// Why the system clipboard was not used although a display exists.
    pub fallback: Option<SystemClipboardError>,
    /// Running inside tmux (`$TMUX`), which drops an app's OSC 52 by default.
    pub tmux: bool,
}

impl CopyReport {
    /// The status line after a copy. OSC 52 has no acknowledgement (and tmux drops it
    /// by default): it says "sent", never "copied".
    pub fn line(&self) -> String {
        let mut s = match self.via {
            Via::Osc52 => format!("{} sent to the terminal (OSC 52)", self.what),
            Via::System => format!("copied {} to {}", self.what, self.via),
        };
        if self.via == Via::Osc52 && self.tmux {
            s.push_str(&format!("; tmux passes it on only with: {TMUX_SETTING}"));
        }
        if let Some(why) = &self.fallback {
            s.push_str(&format!(" (system clipboard: {why})"));
        }
        if self.via == Via::Osc52 && self.bytes > OSC52_SAFE_BYTES {
            s.push_str(&format!(
                "; {} bytes: some terminals keep only the first 1 KB, the text is on screen",
                self.bytes
            ));
        }
        s
    }
}

/// The rule: OSC 52 over SSH or when there is no display; else the system clipboard.
pub fn prefer_osc52(var: impl Fn(&str) -> Option<String>) -> bool {
    let set = |k: &str| var(k).is_some_and(|v| !v.is_empty());
    set("SSH_CONNECTION") || set("SSH_TTY") || !(set("DISPLAY") || set("WAYLAND_DISPLAY"))
}

/// The clipboard of the running TUI. The system clipboard, once opened, stays open: on X11
/// the copying process serves the text for as long as it lives.
pub struct Clipboard {
    osc52_only: bool,
    tmux: bool,
    system: Option<arboard::Clipboard>,
    system_error: Option<SystemClipboardError>,
}

/// Why the system clipboard was not used, in arboard's words (its error is neither
/// `Clone` nor comparable, and the report that carries this is both).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SystemClipboardError {
    /// It could not be opened (no X11/Wayland clipboard here); not tried again.
    #[error("{0}")]
    Open(String),
    /// It took no text this time.
    #[error("{0}")]
    SetText(String),
}

impl Clipboard {
    pub fn from_env() -> Clipboard {
        Clipboard {
            osc52_only: prefer_osc52(|k| std::env::var(k).ok()),
            tmux: std::env::var_os("TMUX").is_some_and(|v| !v.is_empty()),
            system: None,
            system_error: None,
        }
    }

    /// Copies `text`, writing OSC 52 to `term` when that is the way.
    pub fn copy(
        &mut self,
        what: &str,
        text: &str,
        term: &mut impl Write,
    ) -> Result<CopyReport, Osc52Error> {
        let tmux = self.tmux;
        let report = |via, fallback| CopyReport {
            what: what.to_string(),
            via,
            bytes: text.len(),
            fallback,
            tmux,
        };
        if !self.osc52_only {
            match self.system_copy(text) {
                Ok(()) => return Ok(report(Via::System, None)),
                Err(e) => {
                    write_osc52(text, term)?;
                    return Ok(report(Via::Osc52, Some(e)));
                }
            }
        }
        write_osc52(text, term)?;
        Ok(report(Via::Osc52, None))
    }

    fn system_copy(&mut self, text: &str) -> Result<(), SystemClipboardError> {
        if self.system.is_none() {
            if let Some(e) = &self.system_error {
                return Err(e.clone());
            }
            match arboard::Clipboard::new() {
                Ok(c) => self.system = Some(c),
                Err(e) => {
                    let e = SystemClipboardError::Open(e.to_string());
                    self.system_error = Some(e.clone());
                    return Err(e);
                }
            }
        }
        let c = self.system.as_mut().expect("opened above");
        c.set_text(text.to_string())
            .map_err(|e| SystemClipboardError::SetText(e.to_string()))
    }
}

/// The terminal would not take the OSC 52 sequence.
#[derive(Debug, thiserror::Error)]
#[error("cannot write to the terminal: {0}")]
pub struct Osc52Error(#[from] std::io::Error);

/// Writes the OSC 52 sequence (base64 by crossterm) to the terminal.
pub fn write_osc52(text: &str, term: &mut impl Write) -> Result<(), Osc52Error> {
    use ratatui::crossterm::clipboard::CopyToClipboard;
    Ok(ratatui::crossterm::execute!(
        term,
        CopyToClipboard::to_clipboard_from(text)
    )?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let v: Vec<(String, String)> = pairs
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect();
        move |k| v.iter().find(|(a, _)| a == k).map(|(_, b)| b.clone())
    }

    #[test]
    fn osc52_over_ssh_or_without_display() {
        assert!(prefer_osc52(env(&[])));
        assert!(prefer_osc52(env(&[("DISPLAY", "")])));
        assert!(!prefer_osc52(env(&[("DISPLAY", ":0")])));
        assert!(!prefer_osc52(env(&[("WAYLAND_DISPLAY", "wayland-0")])));
        assert!(prefer_osc52(env(&[
            ("DISPLAY", ":0"),
            ("SSH_CONNECTION", "1 2 3 4")
        ])));
        assert!(prefer_osc52(env(&[
            ("DISPLAY", ":0"),
            ("SSH_TTY", "/dev/pts/1")
        ])));
    }

    #[test]
    fn osc52_sequence_is_base64_of_the_text() {
        let mut c = Clipboard {
            osc52_only: true,
            tmux: false,
            system: None,
            system_error: None,
        };
        let mut out = Vec::new();
        let r = c.copy("1 record", "hello", &mut out).unwrap();
        assert_eq!(r.via, Via::Osc52);
        assert_eq!(String::from_utf8(out).unwrap(), "\x1b]52;c;aGVsbG8=\x1b\\");
        assert!(r.line().contains("OSC 52"), "{}", r.line());
    }

    #[test]
    fn a_failing_system_clipboard_falls_back_and_says_why() {
        let mut c = Clipboard {
            osc52_only: false,
            tmux: false,
            system: None,
            system_error: Some(SystemClipboardError::Open(
                "X11 server connection unreachable".into(),
            )),
        };
        let mut out = Vec::new();
        let r = c.copy("the fix", "x", &mut out).unwrap();
        assert_eq!(r.via, Via::Osc52);
        assert!(matches!(r.fallback, Some(SystemClipboardError::Open(_))));
        assert!(r.line().contains("unreachable"), "{}", r.line());
        assert!(!out.is_empty());
        let big = CopyReport {
            what: "all".into(),
            via: Via::Osc52,
            bytes: 5000,
            fallback: None,
            tmux: false,
        };
        assert!(big.line().contains("1 KB"));
    }
}
