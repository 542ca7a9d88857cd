//! A text pane that scrolls: long lines wrap (at a space when one is near, else anywhere,
//! so a command or a record is never cut off), j/k, the arrows, PgUp/PgDn, g/G and the
//! mouse wheel move it, and a marker on its last row says that more follows.
//!
//! ```text
//! │ The record, as an FQDN:                       │
//! │   _acme-challenge.www.example.test. CNAME ... │
//! │ or the full name with a trailing dot:         │
//! │ ↓ more: j/k, PgDn (3 more lines)              │   <- only when it does not fit
//! ```

use crate::tui::theme::Theme;
use ratatui::crossterm::event::{KeyCode, KeyEvent};
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

/// How far a pane is scrolled (rows from the top).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PaneState {
    pub offset: usize,
}

/// Where a pane was drawn and how long its text is, to scroll it from `update`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PaneHit {
    pub area: Rect,
    /// Rows of text once wrapped.
    pub total: usize,
    /// Rows on screen.
    pub rows: usize,
}

impl PaneHit {
    pub fn max_offset(&self) -> usize {
        self.total.saturating_sub(self.rows)
    }
}

/// The marker shown on the last row while more text follows.
pub const MORE: &str = "↓ more: j/k, PgDn";
/// The marker shown on the first row once scrolled.
pub const ABOVE: &str = "↑ more above";

/// A scroll key for a pane: the new offset, or None when `k` does not scroll.
pub fn scroll(p: PaneState, hit: Option<PaneHit>, k: &KeyEvent) -> Option<PaneState> {
    let hit = hit.unwrap_or_default();
    let page = hit.rows.saturating_sub(1).max(1);
    let max = hit.max_offset();
    let o = p.offset.min(max);
    let offset = match k.code {
        KeyCode::Down | KeyCode::Char('j') => (o + 1).min(max),
        KeyCode::Up | KeyCode::Char('k') => o.saturating_sub(1),
        KeyCode::PageDown | KeyCode::Char(' ') => (o + page).min(max),
        KeyCode::PageUp => o.saturating_sub(page),
        KeyCode::Home | KeyCode::Char('g') => 0,
        KeyCode::End | KeyCode::Char('G') => max,
        _ => return None,
    };
    Some(PaneState { offset })
}

/// Wraps styled lines to `width` cells: at the last space that fits, else anywhere.
pub fn wrap(lines: &[Line<'_>], width: usize) -> Vec<Line<'static>> {
    let width = width.max(1);
    let mut out = Vec::new();
    for line in lines {
        let base = line.style;
        let cells: Vec<(char, Style)> = line
            .spans
            .iter()
            .flat_map(|s| {
                let st = base.patch(s.style);
                s.content.chars().map(move |c| (c, st))
            })
            .collect();
        if cells.is_empty() {
            out.push(Line::default());
            continue;
        }
        let mut rest: &[(char, Style)] = &cells;
        while !rest.is_empty() {
            let take = if rest.len() <= width {
                rest.len()
            } else {
                // The last space within the row (keep at least a third of the row).
                match rest[..=width].iter().rposition(|(c, _)| *c == ' ') {
                    Some(i) if i >= width / 3 => i + 1,
                    _ => width,
                }
            };
            let (row, tail) = rest.split_at(take.min(rest.len()));
            out.push(to_line(row));
            rest = tail;
        }
    }
    out
}

fn to_line(cells: &[(char, Style)]) -> Line<'static> {
    let mut spans: Vec<Span<'static>> = Vec::new();
    let mut cur = String::new();
    let mut style = cells.first().map(|c| c.1).unwrap_or_default();
    for &(c, st) in cells {
        if st != style && !cur.is_empty() {
            spans.push(Span::styled(std::mem::take(&mut cur), style));
        }
        style = st;
        cur.push(c);
    }
    if !cur.is_empty() {
        spans.push(Span::styled(cur, style));
    }
    Line::from(spans)
}

/// Draws `lines` wrapped into `area`, scrolled by `p`; the markers say what is hidden.
pub fn render(
    f: &mut Frame,
    area: Rect,
    lines: Vec<Line<'_>>,
    p: &PaneState,
    theme: &Theme,
    hits: &mut crate::tui::state::Hits,
) {
    hits.pane = Some(draw(f, area, lines, p, theme));
}

/// Draws the pane; returns where it went (for a pane that is not the screen's main one).
pub fn draw(
    f: &mut Frame,
    area: Rect,
    lines: Vec<Line<'_>>,
    p: &PaneState,
    theme: &Theme,
) -> PaneHit {
    let wrapped = wrap(&lines, area.width as usize);
    let height = area.height as usize;
    // When the text does not fit, the last row says so (and is not text).
    let rows = if wrapped.len() > height {
        height.saturating_sub(1)
    } else {
        height
    };
    let hit = PaneHit {
        area,
        total: wrapped.len(),
        rows,
    };
    let offset = p.offset.min(hit.max_offset());
    let shown: Vec<Line> = wrapped.into_iter().skip(offset).take(rows).collect();
    f.render_widget(
        Paragraph::new(shown),
        Rect::new(area.x, area.y, area.width, rows as u16),
    );
    if rows < height {
        let below = hit.total - offset - rows;
        let text = if below > 0 {
            format!(
                "{MORE} ({below} more line{})",
                if below == 1 { "" } else { "s" }
            )
        } else {
            format!("{ABOVE}: k, PgUp")
        };
        f.render_widget(
            Line::styled(text, theme.dim()),
            Rect::new(area.x, area.y + rows as u16, area.width, 1),
        );
    }
    hit
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(l: &Line) -> String {
        l.spans.iter().map(|s| s.content.as_ref()).collect()
    }

    #[test]
    fn long_lines_wrap_at_a_space_or_anywhere_and_nothing_is_lost() {
        let l = [Line::raw("aaaa bbbb cccccccccccc")];
        let w: Vec<String> = wrap(&l, 10).iter().map(text).collect();
        assert_eq!(w, ["aaaa bbbb ", "cccccccccc", "cc"]);
        assert_eq!(w.concat(), "aaaa bbbb cccccccccccc");
    }

    #[test]
    fn keys_scroll_within_the_text() {
        let hit = Some(PaneHit {
            area: Rect::new(0, 0, 10, 5),
            total: 12,
            rows: 5,
        });
        let k = |c| KeyEvent::from(c);
        let p = PaneState::default();
        let p = scroll(p, hit, &k(KeyCode::Char('j'))).unwrap();
        assert_eq!(p.offset, 1);
        let p = scroll(p, hit, &k(KeyCode::Char('G'))).unwrap();
        assert_eq!(p.offset, 7);
        let p = scroll(p, hit, &k(KeyCode::Down)).unwrap();
        assert_eq!(p.offset, 7, "not past the end");
        let p = scroll(p, hit, &k(KeyCode::PageUp)).unwrap();
        assert_eq!(p.offset, 3);
        assert_eq!(scroll(p, hit, &k(KeyCode::Char('x'))), None);
    }
}
