//! Step 4: the live poll. Names × vantage points; every cell has a symbol, a short text
//! and the time since its last answer. The poller asks the authoritative servers first
//! and the resolvers only once those are right; a cell says what it waits on. Once every
//! cell is green the status line reads `works from every vantage point` and the wizard
//! moves on by itself. Enter on a red cell opens its finding.
//!
//! ```text
//! ┌ 4 Live poll ─────────────────────────────────────────────────────────────────┐
//! │ 2 names × 5 vantage points   ✓ 8  … 1  ! 0  ✗ 1                              │
//! │ name                  ns1.example.t ns2.example.t cloudflare    system       │
//! │ www.example.com       ✓ CNAME ok 3s ✓ CNAME ok 3s ✗ NXDOMAIN 3s … waiting    │
//! │ *.example.com         ✓ CNAME ok 3s ✓ CNAME ok 3s ✓ CNAME ok 3s ✓ CNAME ok 3s│
//! │                                                                              │
//! │ ──────────────────────────────────────────────────────────────────────────── │
//! │ www.example.com @ cloudflare (resolver), 3s ago:                             │
//! │ NXDOMAIN cached until 12:03:10; Enter opens the finding                      │
//! └──────────────────────────────────────────────────────────────────────────────┘
//! ```

use crate::engine::poll::AUTHORITATIVE;
use crate::engine::views::VantageKind;
use crate::findings::{Finding, Severity};
use crate::tui::state::nav::{forward, start_poll};
use crate::tui::state::{Effect, Findings, Hits, Overlay, Screen, State, Step};
use crate::tui::theme::Level;
use crate::tui::widgets::key_bar::Hint;
use crate::tui::widgets::poll_grid::{self, age, CellStatus, CellUpdate, Grid, GridView};
use ratatui::crossterm::event::{KeyCode, KeyEvent};
use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::widgets::{Paragraph, Wrap};
use ratatui::Frame;
use std::time::SystemTime;

/// The status line's text once every cell is green. Scripts match it: never change it.
pub const ALL_GREEN: &str = "works from every vantage point";

/// The status line once every cell is green while the user holds the grid (moved the
/// selection, or came back with b): the wizard waits for Enter. It starts with
/// [`ALL_GREEN`], which scripts match.
pub const ALL_GREEN_HELD: &str = "works from every vantage point; all green: Enter to prove";

/// What a cell with no news yet waits on: the authoritative column.
pub const ASKING: &str = "asking every authoritative server of every hop";
/// What a cell with no news yet waits on: a resolver or the system view.
pub const WAITS: &str = "waits for the authoritative servers to be right (asked earlier, it \
                         would cache a negative answer)";

pub fn on_started(s: &mut State, columns: Vec<(String, VantageKind)>) {
    s.poll.grid.set_columns(&columns);
    s.poll.stopped = false;
}

/// A finding explains its name's authoritative cell (the cell came first and cleared the
/// old ones).
pub fn on_finding(s: &mut State, name: String, f: Finding) {
    let all = s.poll.findings.entry(name).or_default();
    if !all.contains(&f) {
        all.push(f);
    }
    s.dirty = false;
}

pub fn on_round(s: &mut State, round: u64, ok: usize, total: usize) {
    s.poll.round = Some((round, ok, total));
}

pub fn on_ended(s: &mut State, end: crate::engine::poll::PollEnd) {
    use crate::engine::poll::PollEnd;
    if s.screen != Screen::Wizard(Step::Poll) {
        return;
    }
    match end {
        PollEnd::TimedOut => {
            s.poll.stopped = true;
            s.say(
                Level::Warn,
                "the poll stopped after its time ran out: r polls again, n goes on anyway",
            );
        }
        PollEnd::Blind => {
            s.poll.stopped = true;
            s.say(
                Level::Warn,
                "this network answers DNS itself or reaches no root server, so the \
                 authoritative servers cannot be read from here: Enter shows the finding; \
                 r polls again (after changing network), n goes on anyway",
            );
        }
        PollEnd::Works | PollEnd::Cancelled => {}
    }
}

pub fn on_cell(s: &mut State, u: CellUpdate) {
    let at = u.at.max(s.now);
    if u.vantage == AUTHORITATIVE {
        // Its findings follow it.
        s.poll.findings.remove(&u.name);
    }
    keep_selection(s, |g| g.apply(u));
    after_change(s, at);
}

/// Changes the grid; the selection stays on its column when a column is added before it.
fn keep_selection(s: &mut State, change: impl FnOnce(&mut Grid)) {
    let selected = s
        .poll
        .grid
        .columns
        .get(s.poll.selected.1)
        .map(|c| c.vantage.clone());
    change(&mut s.poll.grid);
    if let Some(i) = selected.and_then(|v| s.poll.grid.columns.iter().position(|c| c.vantage == v))
    {
        s.poll.selected.1 = i;
    }
}

/// The cells of every authoritative server of one name's chain.
pub fn on_servers(s: &mut State, name: String, cells: Vec<CellUpdate>) {
    let at = cells.iter().map(|c| c.at).max().unwrap_or(s.now).max(s.now);
    keep_selection(s, |g| g.apply_servers(&name, cells));
    after_change(s, at);
}

/// Says so when the grid turns all green, and when it stops being so.
fn after_change(s: &mut State, at: SystemTime) {
    let green = s.poll.grid.all_green();
    match (green, s.poll.all_green_at) {
        (true, None) if s.screen == Screen::Wizard(Step::Poll) => {
            s.poll.all_green_at = Some(at);
            s.say(
                Level::Ok,
                if s.poll.held {
                    ALL_GREEN_HELD
                } else {
                    ALL_GREEN
                },
            );
        }
        (false, Some(_)) => {
            s.poll.all_green_at = None;
            s.say(
                Level::Warn,
                "a vantage point changed its answer; still polling",
            );
        }
        _ => {}
    }
}

pub fn on_findings(s: &mut State, f: Findings) {
    s.poll.findings = f.by_name.into_iter().collect();
}

/// The finding behind a cell: one that observed this vantage point, else the name's
/// worst.
pub fn finding_for(s: &State, row: usize, col: usize) -> Option<Finding> {
    let name = &s.poll.grid.rows.get(row)?.name;
    let vantage = &s.poll.grid.columns.get(col)?.vantage;
    let all = s.poll.findings.get(name)?;
    all.iter()
        .find(|f| {
            f.observed.iter().any(|o| {
                &o.vantage == vantage || format!("{} ({})", o.vantage, o.server) == *vantage
            })
        })
        .or_else(|| {
            all.iter()
                .filter(|f| f.severity > Severity::Info)
                .max_by_key(|f| f.severity)
        })
        .cloned()
}

fn open(s: &mut State) {
    let (r, c) = s.poll.selected;
    let Some(cell) = s.poll.grid.cell(r, c) else {
        s.say(Level::Info, "no answer in this cell yet");
        return;
    };
    match cell.status {
        CellStatus::Bad | CellStatus::Warn => match finding_for(s, r, c) {
            Some(f) => s.overlay = Some(Overlay::Finding(Box::new(f))),
            None => {
                let d = cell.detail.clone();
                s.say(
                    Level::Warn,
                    format!("{d}; no finding for it yet, the next round brings one"),
                )
            }
        },
        _ => {
            let d = cell.detail.clone();
            s.say(cell.status.level(), d)
        }
    }
}

pub fn click(s: &mut State, row: usize, col: Option<usize>, _fx: &mut Vec<Effect>) {
    let col = col.unwrap_or(s.poll.selected.1);
    if s.poll.selected == (row, col) {
        open(s);
    } else {
        s.poll.selected = (row, col);
        s.poll.held = true;
    }
}

/// Selects the next name (after the selected one, wrapping) that holds the searched text.
fn find_next(s: &mut State, from: usize) {
    let text = s.poll.find.value().trim().to_lowercase();
    if text.is_empty() {
        return;
    }
    let n = s.poll.grid.rows.len();
    let hit = (0..n)
        .map(|i| (from + i) % n)
        .find(|&i| s.poll.grid.rows[i].name.to_lowercase().contains(&text));
    match hit {
        Some(i) => {
            s.poll.selected.0 = i;
            s.poll.held = true;
        }
        None => s.say(Level::Warn, format!("no name holds {text:?}")),
    }
}

pub fn on_key(s: &mut State, k: KeyEvent, fx: &mut Vec<Effect>) -> bool {
    if s.poll.finding {
        match k.code {
            KeyCode::Enter => {
                s.poll.finding = false;
                let from = s.poll.selected.0;
                find_next(s, from);
            }
            KeyCode::Esc => {
                s.poll.finding = false;
                s.poll.find = Default::default();
            }
            _ => {
                if !s.poll.find.handle(&k) {
                    return false;
                }
                // As typed: the first name from the top that holds it.
                find_next(s, 0);
            }
        }
        return true;
    }
    if k.code == KeyCode::Char('/') {
        s.poll.finding = true;
        s.poll.find = Default::default();
        s.say(
            Level::Info,
            "find a name: type part of it; Enter: the next one, Esc: done",
        );
        return true;
    }
    let rows = s.poll.grid.rows.len().max(1);
    let cols = s.poll.grid.columns.len().max(1);
    let before = s.poll.selected;
    let handled = move_or_act(s, k, rows, cols, fx);
    if s.poll.selected != before {
        s.poll.held = true;
    }
    handled
}

fn move_or_act(s: &mut State, k: KeyEvent, rows: usize, cols: usize, fx: &mut Vec<Effect>) -> bool {
    if k.code == KeyCode::Enter && s.poll.all_green_at.is_some() {
        forward(s, fx);
        return true;
    }
    let (r, c) = &mut s.poll.selected;
    match k.code {
        KeyCode::Up | KeyCode::Char('k') => *r = r.saturating_sub(1),
        KeyCode::Down | KeyCode::Char('j') => *r = (*r + 1).min(rows - 1),
        KeyCode::Left | KeyCode::Char('h') => *c = c.saturating_sub(1),
        KeyCode::Right | KeyCode::Char('l') => *c = (*c + 1).min(cols - 1),
        KeyCode::PageDown => *r = (*r + 10).min(rows - 1),
        KeyCode::PageUp => *r = r.saturating_sub(10),
        KeyCode::Home | KeyCode::Char('g') => *r = 0,
        KeyCode::End | KeyCode::Char('G') => *r = rows - 1,
        KeyCode::Enter => open(s),
        KeyCode::Char('r') => {
            if s.poll.stopped {
                start_poll(s, fx);
            } else {
                s.say(Level::Info, "polling already: every round asks afresh");
            }
        }
        _ => return false,
    }
    true
}

pub fn hints(s: &State) -> Vec<Hint> {
    let mut h = vec![
        Hint::new("Enter", "open finding", KeyCode::Enter),
        Hint::new("n", "skip", KeyCode::Char('n')),
    ];
    if s.poll.stopped {
        h.insert(0, Hint::new("r", "poll again", KeyCode::Char('r')));
    }
    h
}

fn kind_word(k: VantageKind) -> &'static str {
    match k {
        VantageKind::Authoritative => "authoritative",
        VantageKind::Resolver => "resolver",
        VantageKind::System => "system resolver",
    }
}

/// `lab-unbound (resolver)`; the column that stands for every authoritative server says so.
fn vantage_words(vantage: &str, kind: VantageKind) -> String {
    if vantage == crate::engine::poll::AUTHORITATIVE {
        "every authoritative server of every hop".into()
    } else {
        format!("{vantage} ({})", kind_word(kind))
    }
}

pub fn render(s: &State, f: &mut Frame, area: Rect, hits: &mut Hits) {
    let t = &s.theme;
    let g = &s.poll.grid;
    let x = area.x + 1;
    let w = area.width.saturating_sub(2);
    let [ok, wait, warn, bad] = g.counts();
    f.render_widget(
        Line::from(vec![
            ratatui::text::Span::styled(
                format!(
                    "{} name{} × {} vantage point{}   ",
                    g.rows.len(),
                    if g.rows.len() == 1 { "" } else { "s" },
                    g.columns.len(),
                    if g.columns.len() == 1 { "" } else { "s" }
                ),
                t.heading(),
            ),
            ratatui::text::Span::styled(format!("✓ {ok}  "), t.level(Level::Ok)),
            ratatui::text::Span::styled(format!("… {wait}  "), t.level(Level::Waiting)),
            ratatui::text::Span::styled(format!("! {warn}  "), t.level(Level::Warn)),
            ratatui::text::Span::styled(format!("✗ {bad}"), t.level(Level::Bad)),
            ratatui::text::Span::styled(
                match s.poll.round {
                    Some((r, ok, n)) => format!("   round {r}: {ok}/{n} work"),
                    None => String::new(),
                },
                t.dim(),
            ),
        ]),
        Rect::new(x, area.y, w, 1),
    );
    let detail_h = 5u16;
    let grid_area = Rect::new(x, area.y + 1, w, area.height.saturating_sub(detail_h + 1));
    let prev = s.hits.grid.unwrap_or_default();
    let view = GridView {
        selected: s.poll.selected,
        row_offset: prev.first_row,
        col_offset: prev.first_col,
        now: s.now,
    };
    hits.grid = Some(poll_grid::render(f, grid_area, g, &view, t));
    let d = Rect::new(x, grid_area.y + grid_area.height, w, detail_h);
    let (r, c) = s.poll.selected;
    let mut lines = vec![Line::styled("─".repeat(w as usize), t.dim())];
    match (g.rows.get(r), g.columns.get(c), g.cell(r, c)) {
        (Some(row), Some(col), Some(cell)) => {
            let lvl = cell.status.level();
            // A cell never asked (off this name's chain) has no age.
            let when = if cell.status == CellStatus::Off {
                String::new()
            } else {
                format!(", {} ago", age(s.now, cell.at))
            };
            lines.push(Line::styled(
                format!(
                    "{} {} @ {}{when}:",
                    lvl.symbol(),
                    row.name,
                    vantage_words(&col.vantage, col.kind),
                ),
                t.level(lvl),
            ));
            let more = if matches!(cell.status, CellStatus::Bad | CellStatus::Warn) {
                "; Enter opens the finding"
            } else {
                ""
            };
            lines.push(Line::raw(format!("{}{more}", cell.detail)));
        }
        (Some(row), Some(col), None) => {
            lines.push(Line::styled(
                format!(
                    "{} {} @ {}:",
                    Level::Waiting.symbol(),
                    row.name,
                    vantage_words(&col.vantage, col.kind)
                ),
                t.level(Level::Waiting),
            ));
            lines.push(Line::raw(if col.kind == VantageKind::Authoritative {
                ASKING
            } else {
                WAITS
            }));
        }
        _ => lines.push(Line::raw("waiting for the first answers…")),
    }
    f.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), d);
}
