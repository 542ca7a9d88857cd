//! Popups, drawn over a cleared rectangle: help, quit confirmation, a finding (evidence,
//! observations, fix), resuming a saved plan.
//!
//! ```text
//!        ┌ CNAME_WRONG_TARGET · error ─────────────────────────────┐
//!        │ www.example.com                                         │
//!        │ Evidence: the chain ends at old.example.net., not at... │
//!        │ Seen:                                                   │
//!        │   ns1.example.com. 192.0.2.1:53 TXT ... NOERROR 12 ms   │
//!        │ Fix: point _acme-challenge.www.example.com at ...       │
//!        │ c copy fix · Esc close                                  │
//!        └─────────────────────────────────────────────────────────┘
//! ```

use crate::tui::state::{Overlay, Screen, State, Step};
use crate::tui::theme::Level;
use crate::tui::widgets::key_bar::{self, Hint};
use crate::tui::widgets::pad;
use crate::tui::widgets::text_pane::{self, PaneHit};
use ratatui::crossterm::event::{KeyCode, KeyEvent};
use ratatui::layout::{Constraint, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear};
use ratatui::Frame;

/// Draws the popup; returns its buttons (the clickable key hints) and where its text
/// went (it scrolls with j/k, the arrows, PgUp/PgDn and the wheel).
pub fn render(
    s: &State,
    o: &Overlay,
    f: &mut Frame,
    area: Rect,
) -> (Vec<(Rect, KeyEvent)>, PaneHit) {
    let t = &s.theme;
    let (title, lines, hints, height): (String, Vec<Line>, Vec<Hint>, u16) = match o {
        Overlay::Help => {
            let lines: Vec<Line> = help_lines(s)
                .into_iter()
                .map(|(k, what)| {
                    Line::from(vec![Span::styled(pad(k, 14), t.key()), Span::raw(what)])
                })
                .collect();
            let h = lines.len() as u16 + 3;
            (
                "Keys".into(),
                lines,
                vec![
                    Hint::new("j/k", "scroll", KeyCode::Char('j')),
                    Hint::new("any key", "close", KeyCode::Esc),
                ],
                h,
            )
        }
        Overlay::ConfirmQuit => {
            let why = if s.busy() {
                "Work is running: it is cancelled (a test TXT is removed)."
            } else if s.unsaved {
                "What you typed is not saved yet."
            } else {
                "The work that was running has finished; nothing is lost."
            };
            (
                "Quit?".into(),
                vec![Line::raw(why)],
                vec![
                    Hint::new("y", "quit", KeyCode::Char('y')),
                    Hint::new("n", "stay", KeyCode::Char('n')),
                ],
                4,
            )
        }
        Overlay::Resume => {
            let (n, kind) = s
                .plan
                .as_ref()
                .map(|p| (p.names.len(), p.zone.kind()))
                .unwrap_or((0, "?"));
            let path = s
                .plan_path
                .as_ref()
                .map(|p| p.display().to_string())
                .unwrap_or_default();
            (
                "Resume?".into(),
                vec![
                    Line::raw(format!("A saved plan for {n} name(s), {kind} zone:")),
                    Line::styled(path, t.code()),
                    Line::raw("Resume it at the CNAME step, or start afresh?"),
                ],
                vec![
                    Hint::new("y", "resume", KeyCode::Char('y')),
                    Hint::new("n", "start afresh", KeyCode::Char('n')),
                ],
                6,
            )
        }
        Overlay::Finding(fd) => {
            let lvl = Level::of(fd.severity);
            let mut lines = vec![
                Line::styled(fd.name.clone(), t.heading()),
                Line::from(vec![
                    Span::styled("Evidence: ", t.heading()),
                    Span::raw(fd.evidence.clone()),
                ]),
            ];
            if !fd.observed.is_empty() {
                lines.push(Line::styled("Seen:", t.heading()));
                for ob in fd.observed.iter().take(6) {
                    lines.push(Line::styled(
                        format!(
                            "  {} {} {} → {}{} {} ms",
                            ob.vantage,
                            ob.server,
                            ob.question,
                            ob.outcome,
                            ob.ttl.map(|t| format!(" ttl {t}")).unwrap_or_default(),
                            ob.ms
                        ),
                        t.dim(),
                    ));
                }
            }
            lines.push(Line::from(vec![
                Span::styled("Fix: ", t.heading()),
                Span::styled(fd.fix.clone(), t.code()),
            ]));
            (
                format!("{} {} · {}", lvl.symbol(), fd.code, fd.severity),
                lines,
                vec![
                    Hint::new("c", "copy fix", KeyCode::Char('c')),
                    Hint::new("j/k", "scroll", KeyCode::Char('j')),
                    Hint::new("Esc", "close", KeyCode::Esc),
                ],
                0,
            )
        }
    };
    let width = area.width.saturating_sub(8).min(76);
    // As tall as its wrapped text (borders, the key bar), at most the screen.
    let wrapped = text_pane::wrap(&lines, width.saturating_sub(4) as usize).len() as u16 + 3;
    let height = if height == 0 {
        wrapped
    } else {
        height.max(wrapped)
    };
    let popup = area.centered(
        Constraint::Length(width),
        Constraint::Length(height.min(area.height.saturating_sub(2))),
    );
    f.render_widget(Clear, popup);
    let block = Block::bordered().title(Span::styled(format!(" {title} "), t.title()));
    let inner = block.inner(popup);
    f.render_widget(block, popup);
    let body = Rect::new(
        inner.x + 1,
        inner.y,
        inner.width.saturating_sub(2),
        inner.height.saturating_sub(1),
    );
    let pane = text_pane::draw(f, body, lines, &s.popup_pane, t);
    let bar = Rect::new(
        inner.x + 1,
        inner.y + inner.height.saturating_sub(1),
        inner.width.saturating_sub(2),
        1,
    );
    (key_bar::render(f, bar, &hints, t), pane)
}

/// The help popup's lines for the current screen: (keys, what they do).
pub fn help_lines(s: &State) -> Vec<(&'static str, &'static str)> {
    let mut v: Vec<(&str, &str)> = match s.screen {
        Screen::Wizard(Step::Names) => vec![
            (
                "type / paste",
                "names, separated by commas, spaces or new lines",
            ),
            ("Enter", "go on once every name is valid"),
        ],
        Screen::Wizard(Step::Zone) => vec![
            ("↑ ↓", "pick the kind of validation zone"),
            ("Tab / S-Tab", "next / previous field"),
            ("Space", "switch a choice (register/reuse, key file/key)"),
            ("Enter", "set the zone up (then Enter again: next)"),
            ("Esc", "cancel a running registration or probe"),
        ],
        Screen::Wizard(Step::Cname) => vec![
            ("↑ ↓", "select a record"),
            ("c / C", "copy the selected record / all records"),
            ("Enter", "start polling"),
        ],
        Screen::Wizard(Step::Poll) => vec![
            ("arrows", "move in the grid (← → scroll vantage points)"),
            ("g / G", "first / last name"),
            ("/", "find a name (Enter: the next one)"),
            ("Enter", "open the finding of a red cell"),
            ("n", "go on without waiting for green"),
        ],
        Screen::Wizard(Step::Proof) => vec![
            ("Enter", "publish the test TXT and watch it (then: next)"),
            ("r", "run the proof again"),
            ("Esc", "cancel: the test TXT is removed"),
        ],
        Screen::Wizard(Step::Client) => vec![
            ("↑ ↓  Space", "pick one or more issuing clients"),
            ("Enter", "preview the files, then write them"),
            ("Backspace", "back to the list of clients"),
            ("n", "skip writing files"),
        ],
        Screen::Wizard(Step::Done) => vec![
            ("c", "copy the cron line"),
            ("j/k PgUp/PgDn", "scroll the summary (g/G: top/bottom)"),
            ("q / Enter", "leave"),
        ],
        Screen::Troubleshoot => vec![
            ("↑ ↓", "select a finding (worst first; healthy names last)"),
            ("g / G", "first / last"),
            ("/", "filter by code, name or word (Esc clears)"),
            ("Enter", "evidence and fix"),
            ("r", "run again on fresh answers"),
            ("c", "copy the fix"),
        ],
    };
    if matches!(s.screen, Screen::Wizard(_)) {
        v.push(("^N / ^B", "next / back (b / n outside text fields)"));
    }
    v.extend([
        ("F1 / ?", "this help"),
        (
            "Esc",
            "back one step, close a popup (quits on the first screen)",
        ),
        ("q", "quit (asks when something is unsaved)"),
        ("^C", "quit now (running work is cancelled and cleaned up)"),
        (
            "mouse",
            "click a list row to select it, again to open it; the wheel scrolls",
        ),
    ]);
    v
}
