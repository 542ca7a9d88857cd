//! One file per screen: its pure key handling and its drawing, each opening with a sketch
//! of its layout (its state lives in `state/`). This file draws the frame around them:
//!
//! ```text
//!  acme-delegate  1 Names › 2 Zone › 3 CNAME › 4 Poll › 5 Proof › 6 Client › 7 Done
//! ┌ 2 Validation zone ───────────────────────────────────────────────────────────┐
//! │                                                                              │
//! │                        the screen's body                                     │
//! │                                                                              │
//! └──────────────────────────────────────────────────────────────────────────────┘
//!  ✓ status line (what just happened, errors with their way forward)
//!  Enter next  ^B back  ? help  Esc quit                       <- key bar (clickable)
//! ```
//!
//! Below 80x24 only `needs 80x24` is drawn. Popups (help, confirm, a finding, resume)
//! are drawn last, over a cleared rectangle.

pub mod client;
pub mod cname;
pub mod done;
pub mod names;
pub mod poll;
pub mod popup;
pub mod proof;
pub mod troubleshoot;
pub mod zone;

use crate::tui::state::{Effect, Hits, ListId, Screen, State, Step, MIN_SIZE};
use crate::tui::widgets::key_bar::{self, Hint};
use ratatui::crossterm::event::{KeyCode, KeyEvent};
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};
use ratatui::Frame;

/// Draws the whole screen; returns where the clickable parts went.
pub fn render(s: &State, f: &mut Frame) -> Hits {
    let area = f.area();
    let mut hits = Hits::default();
    if area.width < MIN_SIZE.0 || area.height < MIN_SIZE.1 {
        let msg = format!(
            "needs {}x{} (now {}x{})",
            MIN_SIZE.0, MIN_SIZE.1, area.width, area.height
        );
        let y = area.y + area.height / 2;
        let w = (msg.chars().count() as u16).min(area.width);
        let x = area.x + (area.width - w) / 2;
        f.render_widget(
            Paragraph::new(msg).style(s.theme.heading()),
            Rect::new(x, y, w, 1),
        );
        return hits;
    }
    let [head, body, status, keys] = area.layout(&Layout::vertical([
        Constraint::Length(1),
        Constraint::Fill(1),
        Constraint::Length(1),
        Constraint::Length(1),
    ]));
    header(s, f, head);
    let block = Block::bordered().title(Span::styled(format!(" {} ", title(s)), s.theme.title()));
    let inner = block.inner(body);
    f.render_widget(block, body);
    match s.screen {
        Screen::Wizard(Step::Names) => names::render(s, f, inner, &mut hits),
        Screen::Wizard(Step::Zone) => zone::render(s, f, inner, &mut hits),
        Screen::Wizard(Step::Cname) => cname::render(s, f, inner, &mut hits),
        Screen::Wizard(Step::Poll) => poll::render(s, f, inner, &mut hits),
        Screen::Wizard(Step::Proof) => proof::render(s, f, inner, &mut hits),
        Screen::Wizard(Step::Client) => client::render(s, f, inner, &mut hits),
        Screen::Wizard(Step::Done) => done::render(s, f, inner, &mut hits),
        Screen::Troubleshoot => troubleshoot::render(s, f, inner, &mut hits),
    }
    if let Some(st) = &s.status {
        f.render_widget(
            Line::from(vec![
                Span::styled(format!(" {} ", st.level.symbol()), s.theme.level(st.level)),
                Span::styled(st.text.clone(), s.theme.level(st.level)),
            ]),
            status,
        );
    }
    hits.keys = key_bar::render(f, keys, &hints(s), &s.theme);
    if let Some(o) = &s.overlay {
        let (keys, pane) = popup::render(s, o, f, area);
        hits.keys = keys;
        hits.popup_pane = Some(pane);
        hits.lists.clear();
        hits.grid = None;
    }
    hits
}

fn title(s: &State) -> String {
    match s.screen {
        Screen::Wizard(step) => format!(
            "{} {}",
            step.index() + 1,
            match step {
                Step::Names => "Names",
                Step::Zone => "Validation zone",
                Step::Cname => "CNAME records to publish",
                Step::Poll => "Live poll",
                Step::Proof => "Proof",
                Step::Client => "Issuing client",
                Step::Done => "Done",
            }
        ),
        Screen::Troubleshoot => format!(
            "Troubleshoot: {} name{}",
            s.trouble.names.len(),
            if s.trouble.names.len() == 1 { "" } else { "s" }
        ),
    }
}

fn header(s: &State, f: &mut Frame, area: Rect) {
    let mut spans = vec![Span::styled(" acme-delegate ", s.theme.title())];
    match s.screen {
        Screen::Wizard(cur) => {
            for (i, step) in Step::ALL.iter().enumerate() {
                if i > 0 {
                    spans.push(Span::styled(" › ", s.theme.dim()));
                }
                let label = format!("{} {}", i + 1, step.title());
                spans.push(if *step == cur {
                    Span::styled(label, s.theme.selected())
                } else if *step < cur {
                    Span::raw(label)
                } else {
                    Span::styled(label, s.theme.dim())
                });
            }
        }
        Screen::Troubleshoot => spans.push(Span::raw(" troubleshooter")),
    }
    f.render_widget(Line::from(spans), area);
}

/// The key bar of the current screen.
pub fn hints(s: &State) -> Vec<Hint> {
    let mut h = match s.screen {
        Screen::Wizard(Step::Names) => names::hints(s),
        Screen::Wizard(Step::Zone) => zone::hints(s),
        Screen::Wizard(Step::Cname) => cname::hints(s),
        Screen::Wizard(Step::Poll) => poll::hints(s),
        Screen::Wizard(Step::Proof) => proof::hints(s),
        Screen::Wizard(Step::Client) => client::hints(s),
        Screen::Wizard(Step::Done) => done::hints(s),
        Screen::Troubleshoot => troubleshoot::hints(s),
    };
    if matches!(s.screen, Screen::Wizard(st) if st != Step::Names) {
        h.push(Hint::ctrl("^B", "back", 'b'));
    }
    h.push(Hint::new("F1", "help", KeyCode::F(1)));
    h.push(if s.busy() {
        Hint::new("Esc", "cancel", KeyCode::Esc)
    } else if matches!(s.screen, Screen::Wizard(st) if st != Step::Names) {
        Hint::new("Esc", "back", KeyCode::Esc)
    } else {
        Hint::new("Esc", "quit", KeyCode::Esc)
    });
    h
}

/// The screen's own keys; false: not handled (global keys apply).
pub fn on_key(s: &mut State, k: KeyEvent, fx: &mut Vec<Effect>) -> bool {
    match s.screen {
        Screen::Wizard(Step::Names) => names::on_key(s, k, fx),
        Screen::Wizard(Step::Zone) => zone::on_key(s, k, fx),
        Screen::Wizard(Step::Cname) => cname::on_key(s, k, fx),
        Screen::Wizard(Step::Poll) => poll::on_key(s, k, fx),
        Screen::Wizard(Step::Proof) => proof::on_key(s, k, fx),
        Screen::Wizard(Step::Client) => client::on_key(s, k, fx),
        Screen::Wizard(Step::Done) => done::on_key(s, k, fx),
        Screen::Troubleshoot => troubleshoot::on_key(s, k, fx),
    }
}

pub fn on_paste(s: &mut State, text: &str) -> bool {
    match s.screen {
        Screen::Wizard(Step::Names) => names::on_paste(s, text),
        Screen::Wizard(Step::Zone) => zone::on_paste(s, text),
        _ => false,
    }
}

/// A click on a list row.
pub fn click(s: &mut State, id: ListId, i: usize, fx: &mut Vec<Effect>) {
    match id {
        ListId::Kinds | ListId::Fields => zone::click(s, id, i),
        ListId::Records => cname::click(s, i),
        ListId::Clients | ListId::Files => client::click(s, id, i, fx),
        ListId::Findings => troubleshoot::click(s, i),
    }
}

/// Typed characters go to a text field (so q, b, n are letters, not commands).
pub fn typing(s: &State) -> bool {
    match s.screen {
        Screen::Wizard(Step::Names) => true,
        Screen::Wizard(Step::Zone) => zone::typing(s),
        Screen::Wizard(Step::Client) => s.client.field.is_some() && s.client.plan.is_none(),
        Screen::Troubleshoot => s.trouble.filtering,
        Screen::Wizard(Step::Poll) => s.poll.finding,
        _ => false,
    }
}

/// A `?` is text here (a secret or a URL may hold one), not the help key.
pub fn typing_question(s: &State) -> bool {
    (s.screen == Screen::Wizard(Step::Zone) && zone::typing(s))
        || (s.screen == Screen::Wizard(Step::Client) && typing(s))
}
