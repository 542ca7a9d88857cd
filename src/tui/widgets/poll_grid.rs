//! The live-poll grid: one row per name, one column per vantage point (each authoritative
//! server of each hop, then each resolver, then the system view). A cell shows a symbol,
//! a short text and the time since its last answer. Only the visible rows and columns
//! are drawn, so 1,000 names cost what a screenful costs.

use super::{pad, scroll_to};
use crate::engine::poll::AUTHORITATIVE;
use crate::engine::views::VantageKind;
use crate::tui::theme::{Level, Theme};
use ratatui::layout::{Position, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;
use std::collections::HashMap;
use std::time::SystemTime;

/// One cell of the live-poll grid, as the poller reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CellStatus {
    /// Not asked yet, or waiting on something (the authoritative servers, a TTL).
    Waiting,
    /// Green: this vantage point sees the right CNAME.
    Ok,
    Warn,
    /// Red: wrong target, NXDOMAIN cached, SERVFAIL, timeout, ...
    Bad,
    /// An authoritative server that is not on this name's chain (another name's is).
    Off,
}

impl CellStatus {
    pub fn level(self) -> Level {
        match self {
            CellStatus::Waiting => Level::Waiting,
            CellStatus::Ok => Level::Ok,
            CellStatus::Warn => Level::Warn,
            CellStatus::Bad => Level::Bad,
            CellStatus::Off => Level::Info,
        }
    }
}

/// What one vantage point said about one name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CellUpdate {
    /// The identifier (`www.example.com`).
    pub name: String,
    /// The vantage point: an authoritative server's name, a resolver's name, `system`.
    pub vantage: String,
    pub kind: VantageKind,
    pub status: CellStatus,
    /// A few words for the cell: `CNAME ok`, `wrong target`, `NXDOMAIN`, `SERVFAIL`.
    pub short: String,
    /// The whole story: `NXDOMAIN cached until 12:03:10`, what it waits on.
    pub detail: String,
    /// When the answer came.
    pub at: SystemTime,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Column {
    pub vantage: String,
    pub kind: VantageKind,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cell {
    pub status: CellStatus,
    pub short: String,
    pub detail: String,
    pub at: SystemTime,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GridRow {
    pub name: String,
    pub cells: Vec<Option<Cell>>,
    /// The servers of its chain are known: a server column without a cell of its own is
    /// off its chain.
    pub servers_known: bool,
}

impl Column {
    /// One authoritative server of one hop (not the column that stands for them all).
    pub fn is_server(&self) -> bool {
        self.kind == VantageKind::Authoritative && self.vantage != AUTHORITATIVE
    }

    /// The header: the server's or resolver's name, without the address and final dot.
    pub fn label(&self) -> &str {
        let name = self.vantage.split(" (").next().unwrap_or(&self.vantage);
        name.strip_suffix('.').unwrap_or(name)
    }
}

/// A server column's cell in a row whose chain does not pass that server.
fn off_chain() -> Cell {
    Cell {
        status: CellStatus::Off,
        short: "off chain".into(),
        detail: "not a server of this name's chain (it serves another name's)".into(),
        at: SystemTime::UNIX_EPOCH,
    }
}

/// Names × vantage points.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Grid {
    pub columns: Vec<Column>,
    pub rows: Vec<GridRow>,
    rows_by_name: HashMap<String, usize>,
}

fn kind_rank(k: VantageKind) -> u8 {
    match k {
        VantageKind::Authoritative => 0,
        VantageKind::Resolver => 1,
        VantageKind::System => 2,
    }
}

impl Grid {
    pub fn with_names<S: AsRef<str>>(names: &[S]) -> Grid {
        let mut g = Grid::default();
        for n in names {
            g.row_of(n.as_ref());
        }
        g
    }

    fn row_of(&mut self, name: &str) -> usize {
        if let Some(i) = self.rows_by_name.get(name) {
            return *i;
        }
        self.rows.push(GridRow {
            name: name.to_string(),
            cells: vec![None; self.columns.len()],
            servers_known: false,
        });
        self.rows_by_name
            .insert(name.to_string(), self.rows.len() - 1);
        self.rows.len() - 1
    }

    /// The column of a vantage point, added in kind order (authoritative, resolver, system).
    fn column_of(&mut self, vantage: &str, kind: VantageKind) -> usize {
        if let Some(i) = self.columns.iter().position(|c| c.vantage == vantage) {
            return i;
        }
        let at = self
            .columns
            .iter()
            .position(|c| kind_rank(c.kind) > kind_rank(kind))
            .unwrap_or(self.columns.len());
        let col = Column {
            vantage: vantage.to_string(),
            kind,
        };
        for r in &mut self.rows {
            let cell = (col.is_server() && r.servers_known).then(off_chain);
            r.cells.insert(at, cell);
        }
        self.columns.insert(at, col);
        at
    }

    /// The columns, known before any answer (every cell then waits).
    pub fn set_columns(&mut self, columns: &[(String, VantageKind)]) {
        for (v, k) in columns {
            self.column_of(v, *k);
        }
    }

    /// Records one cell's news.
    pub fn apply(&mut self, u: CellUpdate) {
        let r = self.row_of(&u.name);
        let c = self.column_of(&u.vantage, u.kind);
        self.rows[r].cells[c] = Some(Cell {
            status: u.status,
            short: u.short,
            detail: u.detail,
            at: u.at,
        });
    }

    /// Records the cells of every authoritative server of a name's chain: the server
    /// columns it has no cell for are off its chain.
    pub fn apply_servers(&mut self, name: &str, cells: Vec<CellUpdate>) {
        let r = self.row_of(name);
        let mine: Vec<usize> = cells
            .iter()
            .map(|u| self.column_of(&u.vantage, u.kind))
            .collect();
        let row = &mut self.rows[r];
        row.servers_known = true;
        for (c, col) in self.columns.iter().enumerate() {
            if col.is_server() && !mine.contains(&c) {
                row.cells[c] = Some(off_chain());
            }
        }
        for (c, u) in mine.into_iter().zip(cells) {
            row.cells[c] = Some(Cell {
                status: u.status,
                short: u.short,
                detail: u.detail,
                at: u.at,
            });
        }
    }

    pub fn cell(&self, row: usize, col: usize) -> Option<&Cell> {
        self.rows.get(row)?.cells.get(col)?.as_ref()
    }

    /// Every cell of every name has an answer, and every answer is green.
    pub fn all_green(&self) -> bool {
        !self.rows.is_empty()
            && !self.columns.is_empty()
            && self.rows.iter().all(|r| {
                r.cells.iter().all(|c| {
                    c.as_ref()
                        .is_some_and(|c| matches!(c.status, CellStatus::Ok | CellStatus::Off))
                })
            })
    }

    /// (green, waiting, warning, red) cells; a cell with no news yet waits.
    pub fn counts(&self) -> [usize; 4] {
        let mut n = [0; 4];
        for c in self.rows.iter().flat_map(|r| r.cells.iter()) {
            n[match c.as_ref().map(|c| c.status) {
                Some(CellStatus::Off) => continue,
                Some(CellStatus::Ok) => 0,
                None | Some(CellStatus::Waiting) => 1,
                Some(CellStatus::Warn) => 2,
                Some(CellStatus::Bad) => 3,
            }] += 1;
        }
        n
    }
}

/// "3s", "4m", "2h", "1day": the time since a cell's last answer, in whole seconds, to its
/// largest unit (humantime's first unit).
pub fn age(now: SystemTime, at: SystemTime) -> String {
    let s = now.duration_since(at).map(|d| d.as_secs()).unwrap_or(0);
    let full = humantime::format_duration(std::time::Duration::from_secs(s)).to_string();
    full.split(' ').next().unwrap_or("0s").to_string()
}

/// The most columns one frame lays out (more scroll sideways).
const MAX_SHOWN: usize = 32;

/// Where the grid was drawn, to map a click to a cell.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GridHit {
    /// The body (below the header row).
    pub body: Rect,
    pub first_row: usize,
    pub first_col: usize,
    pub rows: usize,
    pub cols: usize,
    /// The name column's width.
    pub name_w: u16,
    /// The widths of the columns shown, from `first_col` on (`shown` of them).
    pub widths: [u16; MAX_SHOWN],
    pub shown: usize,
}

impl GridHit {
    /// The (row, column) under a click; column None: the name column.
    pub fn cell_at(&self, x: u16, y: u16) -> Option<(usize, Option<usize>)> {
        if !self.body.contains(Position::new(x, y)) {
            return None;
        }
        let row = self.first_row + (y - self.body.y) as usize;
        if row >= self.rows {
            return None;
        }
        let dx = x - self.body.x;
        if dx < self.name_w {
            return Some((row, None));
        }
        let mut left = self.name_w;
        for (i, w) in self.widths[..self.shown].iter().enumerate() {
            if dx < left + w {
                return Some((row, Some(self.first_col + i)));
            }
            left += w;
        }
        Some((row, None))
    }
}

/// Column headers abbreviated to their unique part: the server names lose the labels
/// they share (`ns1.example.test`, `ns2.example.test`, `ns1.acme.lab` become `ns1.example`,
/// `ns2.example`, `ns1.acme`); the column that stands for every server reads `auth`;
/// resolvers keep their names.
pub fn headers(columns: &[Column]) -> Vec<String> {
    let servers: Vec<Vec<&str>> = columns
        .iter()
        .map(|c| c.label().split('.').collect())
        .collect();
    let longest = servers.iter().map(Vec::len).max().unwrap_or(1);
    // The fewest leading labels that tell every server column apart.
    let mut keep = longest;
    for k in 1..=longest {
        let mut seen = std::collections::HashSet::new();
        let unique = columns
            .iter()
            .zip(&servers)
            .filter(|(c, _)| c.is_server())
            .all(|(_, l)| seen.insert(l[..k.min(l.len())].join(".")));
        if unique {
            keep = k;
            break;
        }
    }
    columns
        .iter()
        .zip(&servers)
        .map(|(c, l)| {
            if c.vantage == AUTHORITATIVE {
                "auth".to_string()
            } else if c.is_server() {
                l[..keep.min(l.len())].join(".")
            } else {
                c.label().to_string()
            }
        })
        .collect()
}

/// What a cell shows: its text and style. `compact` (when every column would not fit
/// otherwise) drops the words a green or off-chain cell does not need: `✓ ok 13s`,
/// `· off`; a red cell keeps its reason.
fn cell_text(
    grid: &Grid,
    row: &GridRow,
    c: usize,
    now: SystemTime,
    theme: &Theme,
    compact: bool,
) -> (String, ratatui::style::Style) {
    match row.cells.get(c).and_then(|c| c.as_ref()) {
        Some(cell) if cell.status == CellStatus::Off => (
            if compact {
                "· off".into()
            } else {
                format!("· {}", cell.short)
            },
            theme.level(crate::tui::theme::Level::Waiting),
        ),
        Some(cell) => {
            let lvl = cell.status.level();
            let short = if compact && cell.status == CellStatus::Ok {
                "ok"
            } else {
                cell.short.as_str()
            };
            (
                format!("{} {short} {}", lvl.symbol(), age(now, cell.at)),
                theme.level(lvl),
            )
        }
        None => {
            let what = if grid.columns[c].kind == VantageKind::Authoritative {
                "asking"
            } else {
                "waits"
            };
            (
                format!("… {what}"),
                theme.level(crate::tui::theme::Level::Waiting),
            )
        }
    }
}

/// The widest a cell gets (its text is cut with … beyond).
pub const CELL_MAX: usize = 18;
/// The name column: as wide as the longest name, within these bounds.
pub const NAME_MIN: usize = 12;
pub const NAME_MAX: usize = 40;

pub struct GridView {
    pub selected: (usize, usize),
    pub row_offset: usize,
    pub col_offset: usize,
    pub now: SystemTime,
}

/// Draws the visible rows and the columns that fit. Columns are as wide as their header
/// and the visible cells need (at most [`CELL_MAX`]); the name column as wide as the
/// longest visible name (within [`NAME_MIN`]..[`NAME_MAX`], and at most a third of the
/// width). Columns that do not fit scroll sideways; the header says `←2-5/7→`.
pub fn render(f: &mut Frame, area: Rect, grid: &Grid, v: &GridView, theme: &Theme) -> GridHit {
    let body_h = area.height.saturating_sub(1) as usize;
    let width = area.width as usize;
    let first_row = scroll_to(v.row_offset, v.selected.0, body_h);
    let visible: Vec<(usize, &GridRow)> = grid
        .rows
        .iter()
        .enumerate()
        .skip(first_row)
        .take(body_h)
        .collect();
    let heads = headers(&grid.columns);
    // Each column's width from its content: the header, the visible cells.
    let widths_of = |compact: bool| -> Vec<usize> {
        (0..grid.columns.len())
            .map(|c| {
                let content = visible
                    .iter()
                    .map(|(_, r)| {
                        cell_text(grid, r, c, v.now, theme, compact)
                            .0
                            .chars()
                            .count()
                    })
                    .max()
                    .unwrap_or(0);
                content.max(heads[c].chars().count()).min(CELL_MAX) + 1
            })
            .collect()
    };
    let marker_w = "name  ←99-99/99→".len();
    let name_w = visible
        .iter()
        .map(|(_, r)| r.name.chars().count())
        .max()
        .unwrap_or(4)
        .clamp(NAME_MIN, NAME_MAX)
        .min(width / 3)
        + 1;
    // The full words when every column fits with them, else the compact cells.
    let full = widths_of(false);
    let compact = name_w + full.iter().sum::<usize>() > width;
    let widths = if compact { widths_of(true) } else { full };
    // The first column shown keeps the selected one in view; as many as fit after it.
    let fits = |from: usize| {
        let mut used = name_w;
        let mut n = 0;
        for w in &widths[from..] {
            if used + w > width || n == MAX_SHOWN {
                break;
            }
            used += w;
            n += 1;
        }
        n.max(1)
    };
    let mut first_col = v.col_offset.min(grid.columns.len().saturating_sub(1));
    if v.selected.1 < first_col {
        first_col = v.selected.1;
    }
    while first_col < v.selected.1 && first_col + fits(first_col) <= v.selected.1 {
        first_col += 1;
    }
    // Scrolled too far right for the width (after a resize): fill the width again.
    while first_col > 0
        && first_col + fits(first_col - 1) >= grid.columns.len()
        && fits(first_col - 1) > fits(first_col)
    {
        first_col -= 1;
    }
    let shown = if grid.columns.is_empty() {
        0
    } else {
        fits(first_col).min(grid.columns.len() - first_col)
    };
    let cols: Vec<usize> = (first_col..first_col + shown).collect();
    let scrolls = shown < grid.columns.len();
    let name_head = if scrolls {
        format!(
            "name  {}{}-{}/{}{}",
            if first_col > 0 { "←" } else { " " },
            first_col + 1,
            first_col + shown,
            grid.columns.len(),
            if first_col + shown < grid.columns.len() {
                "→"
            } else {
                " "
            }
        )
    } else {
        "name".into()
    };
    let name_w = name_w.max(if scrolls { marker_w.min(width / 2) } else { 0 });
    let mut header = vec![Span::styled(pad(&name_head, name_w), theme.heading())];
    for &c in &cols {
        header.push(Span::styled(
            pad(&heads[c], widths[c] - 1) + " ",
            theme.heading(),
        ));
    }
    let mut lines = vec![Line::from(header)];
    for (ri, row) in visible {
        let name_style = if ri == v.selected.0 {
            theme.heading()
        } else {
            ratatui::style::Style::new()
        };
        let mut spans = vec![Span::styled(pad(&row.name, name_w - 1) + " ", name_style)];
        for &c in &cols {
            let (text, mut style) = cell_text(grid, row, c, v.now, theme, compact);
            if ri == v.selected.0 && c == v.selected.1 {
                style = style.patch(theme.selected());
            }
            spans.push(Span::styled(pad(&text, widths[c] - 1), style));
            spans.push(Span::raw(" "));
        }
        lines.push(Line::from(spans));
    }
    f.render_widget(Paragraph::new(lines), area);
    let mut ws = [0u16; MAX_SHOWN];
    for (i, &c) in cols.iter().enumerate() {
        ws[i] = widths[c] as u16;
    }
    GridHit {
        body: Rect::new(
            area.x,
            area.y + 1,
            area.width,
            area.height.saturating_sub(1),
        ),
        first_row,
        first_col,
        rows: grid.rows.len(),
        cols: grid.columns.len(),
        name_w: name_w as u16,
        widths: ws,
        shown,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn ages_keep_their_largest_unit() {
        let t = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        let ago = |s: u64| age(t, t - Duration::from_secs(s));
        assert_eq!(ago(0), "0s");
        assert_eq!(ago(13), "13s");
        assert_eq!(ago(4 * 60 + 10), "4m");
        assert_eq!(ago(2 * 3600 + 59), "2h");
        assert_eq!(ago(86_400 + 3600), "1day");
        // A time in the future (clocks) reads as now.
        assert_eq!(age(t, t + Duration::from_secs(5)), "0s");
    }
}
