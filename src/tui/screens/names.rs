//! Step 1: the names.
//!
//! ```text
//! ┌ 1 Names ─────────────────────────────────────────────────────────────────────┐
//! │ The names to get certificates for, separated by commas, spaces or new lines; │
//! │ *.example.com for a wildcard. Each is checked as you type.                   │
//! │                                                                              │
//! │ > www.example.com, *.example.com, bad_name█                                  │
//! │                                                                              │
//! │ ✓ www.example.com         _acme-challenge.www.example.com.                   │
//! │ ✓ *.example.com           _acme-challenge.example.com.                       │
//! │ ✗ bad_name                label "bad_name" contains '_'; host names use ...  │
//! │   ↓ 37 more (1 marked ✗)          <- when the list does not fit; it scrolls with │
//! │                                      ↑↓ PgUp/PgDn and jumps to the first ✗ name  │
//! └──────────────────────────────────────────────────────────────────────────────┘
//! ```

use crate::model::name::without_comment;
use crate::tui::state::names::ready;
use crate::tui::state::nav::forward;
use crate::tui::state::{Effect, Hits, State};
use crate::tui::theme::Level;
use crate::tui::widgets::key_bar::Hint;
use crate::tui::widgets::text_field::TextField;
use crate::tui::widgets::{fit, pad};
use ratatui::crossterm::event::{KeyCode, KeyEvent};
use ratatui::layout::{Position, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};
use ratatui::Frame;

fn edited(s: &mut State) {
    s.names.reparse();
    s.unsaved = true;
    // The zone's plan was for the old names.
    s.zone.result = None;
    match ready(&s.names) {
        Ok(v) => s.say(
            Level::Ok,
            format!(
                "{} name{} valid: Enter to go on",
                v.len(),
                if v.len() == 1 { "" } else { "s" }
            ),
        ),
        Err(_) if s.names.parsed.is_empty() => s.status = None,
        Err(e) => {
            jump_to_invalid(s);
            s.say(Level::Bad, e.to_string())
        }
    }
}

/// The list scrolls to the first name marked ✗.
fn jump_to_invalid(s: &mut State) {
    if let Some(i) = s.names.first_invalid() {
        s.names.offset = i;
    }
}

/// Rows the list gets on screen (the intro, the field and their gaps take 5).
fn list_rows(s: &State) -> usize {
    s.body_rows().saturating_sub(5).max(1)
}

pub fn on_key(s: &mut State, k: KeyEvent, fx: &mut Vec<Effect>) -> bool {
    if k.code == KeyCode::Enter {
        forward(s, fx);
        jump_to_invalid(s);
        return true;
    }
    // The list scrolls with the arrows, PgUp/PgDn and the wheel (the field is one line).
    let n = s.names.parsed.len();
    let max = n.saturating_sub(list_rows(s).saturating_sub(2).max(1));
    let page = list_rows(s).saturating_sub(2).max(1);
    let o = &mut s.names.offset;
    match k.code {
        KeyCode::Down => *o = (*o + 1).min(max),
        KeyCode::Up => *o = o.saturating_sub(1),
        KeyCode::PageDown => *o = (*o + page).min(max),
        KeyCode::PageUp => *o = o.saturating_sub(page),
        _ => {}
    }
    if matches!(
        k.code,
        KeyCode::Down | KeyCode::Up | KeyCode::PageDown | KeyCode::PageUp
    ) {
        return true;
    }
    if s.names.input.handle(&k) {
        edited(s);
        return true;
    }
    false
}

pub fn on_paste(s: &mut State, text: &str) -> bool {
    // Line breaks separate names like spaces do; a pasted names file (the format of
    // `--names-from`) loses its `#` comments.
    let lines: Vec<&str> = text
        .split('\n')
        .map(|l| without_comment(l.trim_end_matches('\r')))
        .collect();
    s.names.input.insert_str(&lines.join(" "));
    edited(s);
    true
}

pub fn hints(_: &State) -> Vec<Hint> {
    vec![Hint::new("Enter", "next", KeyCode::Enter)]
}

pub fn render(s: &State, f: &mut Frame, area: Rect, _hits: &mut Hits) {
    let t = &s.theme;
    let intro = Paragraph::new(
        "The names to get certificates for, separated by commas, spaces or new lines; \
         *.example.com for a wildcard. Each is checked as you type.",
    )
    .wrap(Wrap { trim: true });
    f.render_widget(intro, Rect::new(area.x + 1, area.y, area.width - 2, 2));
    let y = area.y + 3;
    let w = area.width.saturating_sub(5) as usize;
    let (vis, cx) = TextField::window(s.names.input.value(), s.names.input.cursor(), w);
    f.render_widget(
        Line::from(vec![Span::styled(" > ", t.focus()), Span::raw(vis)]),
        Rect::new(area.x, y, area.width, 1),
    );
    if s.overlay.is_none() {
        f.set_cursor_position(Position::new(area.x + 3 + cx as u16, y));
    }
    let list = Rect::new(area.x, y + 2, area.width, area.height.saturating_sub(5));
    let name_w = 26usize;
    let rest = (area.width as usize).saturating_sub(name_w + 4);
    let rows = list.height as usize;
    let total = s.names.parsed.len();
    // Room for the markers when the list does not fit.
    let (above, body) = if total > rows {
        let first = s
            .names
            .offset
            .min(total.saturating_sub(rows.saturating_sub(2).max(1)));
        (first, rows.saturating_sub(2).max(1))
    } else {
        (0, rows)
    };
    let row = |p: &crate::tui::state::names::Parsed| {
        let (lvl, text) = match (&p.result, p.repeated) {
            (Ok(_), true) => (Level::Info, "listed twice: kept once".to_string()),
            (Ok(n), false) => (Level::Ok, n.challenge.to_string()),
            (Err(e), _) => (Level::Bad, e.to_string()),
        };
        Line::from(vec![
            Span::styled(format!(" {} ", lvl.symbol()), t.level(lvl)),
            Span::raw(pad(&p.token, name_w)),
            Span::styled(
                fit(&text, rest),
                if lvl == Level::Ok {
                    t.dim()
                } else {
                    t.level(lvl)
                },
            ),
        ])
    };
    let mut lines: Vec<Line> = Vec::new();
    if total > rows {
        lines.push(Line::styled(
            format!("   ↑ {above} above · ↑↓ PgUp/PgDn scroll"),
            t.dim(),
        ));
    }
    lines.extend(s.names.parsed.iter().skip(above).take(body).map(row));
    if total > rows {
        let below = total.saturating_sub(above + body);
        let bad_below = s
            .names
            .parsed
            .iter()
            .skip(above + body)
            .filter(|p| p.result.is_err())
            .count();
        lines.push(Line::styled(
            format!(
                "   ↓ {below} more{}",
                if bad_below > 0 {
                    format!(" ({bad_below} marked ✗)")
                } else {
                    String::new()
                }
            ),
            if bad_below > 0 {
                t.level(Level::Bad)
            } else {
                t.dim()
            },
        ));
    }
    f.render_widget(Paragraph::new(lines), list);
}
