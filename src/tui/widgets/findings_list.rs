//! The findings list, worst first: symbol, severity, code, name and the evidence cut to
//! the width. Only the visible slice is drawn.

use super::{fit, pad, scroll_to};
use crate::findings::Finding;
use crate::tui::theme::{Level, Theme};
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

/// Where the list was drawn: a click on row `y` selects `first + (y - area.y)`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ListHit {
    pub area: Rect,
    pub first: usize,
    pub len: usize,
}

impl ListHit {
    pub fn index_at(&self, col: u16, row: u16) -> Option<usize> {
        let inside = self.area.contains(ratatui::layout::Position::new(col, row));
        let i = self.first + row.checked_sub(self.area.y)? as usize;
        (inside && i < self.len).then_some(i)
    }
}

/// Sorts findings worst first (then by name and code, for a stable order).
pub fn worst_first(findings: &mut [Finding]) {
    findings.sort_by(|a, b| {
        b.severity
            .cmp(&a.severity)
            .then_with(|| a.name.cmp(&b.name))
            .then_with(|| a.code.as_str().cmp(b.code.as_str()))
    });
}

/// What a healthy name's row says (after the findings: it was checked too).
pub const HEALTHY: &str = "no error: works from every vantage point";

/// Draws the findings, then the `healthy` names (checked, no error); rows are selected
/// across both.
pub fn render(
    f: &mut Frame,
    area: Rect,
    findings: &[Finding],
    healthy: &[String],
    selected: usize,
    offset: usize,
    theme: &Theme,
) -> ListHit {
    let h = area.height as usize;
    let len = findings.len() + healthy.len();
    let first = scroll_to(offset, selected, h).min(len.saturating_sub(1));
    let name_w = 22usize;
    let code_w = 24usize;
    let ok_rows = healthy.iter().enumerate().map(|(j, n)| {
        let i = findings.len() + j;
        let mut line = Line::from(vec![
            Span::styled(format!("{} ", Level::Ok.symbol()), theme.level(Level::Ok)),
            Span::styled(pad("ok", 8), theme.level(Level::Ok)),
            Span::styled(pad("", code_w), theme.heading()),
            Span::raw(" "),
            Span::raw(pad(n, name_w)),
            Span::raw("  "),
            Span::styled(HEALTHY, theme.dim()),
        ]);
        if i == selected {
            line = line.style(theme.selected());
        }
        line
    });
    let lines: Vec<Line> = findings
        .iter()
        .enumerate()
        .map(|(i, fd)| {
            let level = Level::of(fd.severity);
            let rest = (area.width as usize).saturating_sub(2 + 8 + code_w + name_w + 3);
            let mut line = Line::from(vec![
                Span::styled(format!("{} ", level.symbol()), theme.level(level)),
                Span::styled(pad(&fd.severity.to_string(), 8), theme.level(level)),
                Span::styled(pad(fd.code.as_str(), code_w), theme.heading()),
                Span::raw(" "),
                Span::raw(pad(&fd.name, name_w)),
                Span::raw("  "),
                Span::styled(fit(&fd.evidence, rest), theme.dim()),
            ]);
            if i == selected {
                line = line.style(theme.selected());
            }
            line
        })
        .chain(ok_rows)
        .skip(first)
        .take(h)
        .collect();
    f.render_widget(Paragraph::new(lines), area);
    ListHit { area, first, len }
}
