//! The troubleshooter: names in, `diagnose` runs with live progress, the findings are
//! listed worst first. Enter shows the evidence and the fix, `r` re-runs on fresh
//! answers, `c` copies the fix.
//!
//! ```text
//! ┌ Troubleshoot: 3 names ───────────────────────────────────────────────────────┐
//! │ ✗ 2 errors  ! 1 warning  i 1 info   checked 12:03:04                         │
//! │ ✗ error   CNAME_WRONG_TARGET       www.example.com         the chain ends at │
//! │ ✗ error   NEGATIVE_CACHED          api.example.com         cloudflare serves │
//! │ ! warning TTL_HIGH                 www.example.com         the validation zo │
//! │ i info    CLIENT_WHERE             www.example.com         lego writes the T │
//! │                                                                              │
//! │ ──────────────────────────────────────────────────────────────────────────── │
//! │ fix: point _acme-challenge.www.example.com at www-example-com-1a2b3c.acme.…  │
//! └──────────────────────────────────────────────────────────────────────────────┘
//! ```

use crate::findings::{Finding, Severity};
use crate::tui::state::nav::run_diagnose;
use crate::tui::state::{Effect, Findings, Hits, ListId, Overlay, State};
use crate::tui::theme::{spinner, Level};
use crate::tui::widgets::findings_list::{self, worst_first};
use crate::tui::widgets::key_bar::Hint;
use crate::tui::widgets::text_pane;
use ratatui::crossterm::event::{KeyCode, KeyEvent};
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;
use std::time::SystemTime;

pub fn on_progress(s: &mut State, done: usize, total: usize, last: Option<String>) {
    if !s.trouble.running {
        s.dirty = false;
        return;
    }
    s.trouble.progress = Some((done, total));
    s.trouble.last = last;
}

pub fn on_findings(s: &mut State, f: Findings) {
    if !s.trouble.running {
        s.dirty = false;
        return;
    }
    s.trouble.running = false;
    s.trouble.progress = None;
    s.trouble.checked_at = Some(f.at);
    s.trouble.clean = f
        .by_name
        .iter()
        .filter(|(_, v)| v.is_empty())
        .map(|(n, _)| n.clone())
        .collect();
    let mut healthy: Vec<String> = f
        .by_name
        .iter()
        .filter(|(_, v)| !v.iter().any(|f| f.severity == Severity::Error))
        .map(|(n, _)| n.clone())
        .collect();
    healthy.sort();
    s.trouble.healthy = healthy;
    let mut all: Vec<Finding> = f.by_name.into_iter().flat_map(|(_, v)| v).collect();
    worst_first(&mut all);
    let errors = all.iter().filter(|f| f.severity == Severity::Error).count();
    s.trouble.findings = all;
    s.trouble.selected = 0;
    if errors == 0 {
        s.say(
            Level::Ok,
            "no errors: every name works from every vantage point",
        );
    } else {
        s.say(
            Level::Bad,
            format!(
                "{errors} error{}: Enter shows the evidence and the fix",
                if errors == 1 { "" } else { "s" }
            ),
        );
    }
}

fn copy_fix(s: &State, fx: &mut Vec<Effect>) {
    if let Some(f) = s.trouble.shown_findings().get(s.trouble.selected) {
        fx.push(Effect::Copy {
            what: format!("the fix for {}", f.code),
            text: f.fix.clone(),
        });
    }
}

/// Opens the selected row: a finding's evidence and fix, or says a healthy name works.
fn open(s: &mut State, i: usize) {
    let shown = s.trouble.shown_findings();
    if let Some(f) = shown.get(i) {
        s.overlay = Some(Overlay::Finding(Box::new(f.clone())));
    } else if let Some(n) = s.trouble.shown_healthy().get(i - shown.len()) {
        let n = n.clone();
        s.say(Level::Ok, format!("{n}: {}", findings_list::HEALTHY));
    }
}

pub fn on_key(s: &mut State, k: KeyEvent, fx: &mut Vec<Effect>) -> bool {
    if s.trouble.filtering {
        match k.code {
            KeyCode::Enter => s.trouble.filtering = false,
            KeyCode::Esc => {
                s.trouble.filtering = false;
                s.trouble.filter = Default::default();
            }
            _ => {
                if !s.trouble.filter.handle(&k) {
                    return false;
                }
            }
        }
        s.trouble.selected = 0;
        return true;
    }
    if k.code == KeyCode::Char('/') {
        s.trouble.filtering = true;
        s.say(
            Level::Info,
            "filter: type a code, a name or a word; Enter keeps it, Esc clears it",
        );
        return true;
    }
    let n = s.trouble.shown_findings().len() + s.trouble.shown_healthy().len();
    let page = s.body_rows().saturating_sub(5).max(1);
    let sel = &mut s.trouble.selected;
    match k.code {
        KeyCode::Up | KeyCode::Char('k') => *sel = sel.saturating_sub(1),
        KeyCode::Down | KeyCode::Char('j') => *sel = (*sel + 1).min(n.saturating_sub(1)),
        KeyCode::PageDown => *sel = (*sel + page).min(n.saturating_sub(1)),
        KeyCode::PageUp => *sel = sel.saturating_sub(page),
        KeyCode::Home | KeyCode::Char('g') => *sel = 0,
        KeyCode::End | KeyCode::Char('G') => *sel = n.saturating_sub(1),
        KeyCode::Enter => open(s, s.trouble.selected),
        KeyCode::Char('r') if s.trouble.running => {
            s.say(Level::Info, "already running; Esc cancels")
        }
        KeyCode::Char('r') => run_diagnose(s, fx),
        KeyCode::Char('c') => copy_fix(s, fx),
        _ => return false,
    }
    true
}

pub fn click(s: &mut State, i: usize) {
    if s.trouble.selected == i {
        open(s, i);
    } else {
        s.trouble.selected = i;
    }
}

pub fn hints(s: &State) -> Vec<Hint> {
    if s.trouble.running {
        return vec![];
    }
    vec![
        Hint::new("Enter", "details", KeyCode::Enter),
        Hint::new("r", "re-run", KeyCode::Char('r')),
        Hint::new("c", "copy fix", KeyCode::Char('c')),
        Hint::new("/", "filter", KeyCode::Char('/')),
    ]
}

pub fn render(s: &State, f: &mut Frame, area: Rect, hits: &mut Hits) {
    let t = &s.theme;
    let tr = &s.trouble;
    let x = area.x + 1;
    let w = area.width.saturating_sub(2);
    let count = |sev| tr.findings.iter().filter(|f| f.severity == sev).count();
    let head = if tr.running {
        let (d, n) = tr.progress.unwrap_or((0, tr.names.len()));
        Line::styled(
            format!(
                "{} diagnosing {d}/{n} names on fresh answers…{}",
                spinner(s.frame),
                tr.last
                    .as_ref()
                    .map(|l| format!(" ({l} done)"))
                    .unwrap_or_default()
            ),
            t.level(Level::Info),
        )
    } else {
        let mut spans = vec![
            Span::styled(
                format!("✗ {}  ", plural(count(Severity::Error), "error")),
                t.level(Level::Bad),
            ),
            Span::styled(
                format!("! {}  ", plural(count(Severity::Warning), "warning")),
                t.level(Level::Warn),
            ),
            Span::styled(
                format!("i {} info", count(Severity::Info)),
                t.level(Level::Info),
            ),
        ];
        if let Some(at) = tr.checked_at {
            spans.push(Span::styled(format!("   checked {}", clock(at)), t.dim()));
        }
        Line::from(spans)
    };
    f.render_widget(head, Rect::new(x, area.y, w, 1));
    // The fix pane is as tall as the fix (at most half the body); what does not fit is
    // marked, and Enter shows it all in a popup that scrolls.
    let shown = tr.shown_findings();
    let healthy = tr.shown_healthy();
    let fix = shown.get(tr.selected).map(|fd| {
        vec![Line::from(vec![
            Span::styled("fix: ", t.heading()),
            Span::raw(fd.fix.clone()),
        ])]
    });
    let fix_rows = fix
        .as_ref()
        .map(|l| text_pane::wrap(l, w as usize).len() as u16)
        .unwrap_or(0);
    let detail_h = (fix_rows + 1).clamp(4, (area.height / 2).max(4));
    let list = Rect::new(x, area.y + 1, w, area.height.saturating_sub(detail_h + 1));
    if tr.findings.is_empty() && !tr.running && tr.checked_at.is_some() {
        f.render_widget(
            Line::styled(
                format!("✓ no findings for {}", tr.names.join(", ")),
                t.level(Level::Ok),
            ),
            list,
        );
        return;
    }
    let list = if tr.filtering || !tr.filter.value().is_empty() {
        f.render_widget(
            Line::from(vec![
                Span::styled("/ ", t.focus()),
                Span::raw(tr.filter.value().to_string()),
                Span::styled(
                    format!(
                        "   {} of {} shown",
                        shown.len() + healthy.len(),
                        tr.findings.len() + tr.healthy.len()
                    ),
                    t.dim(),
                ),
            ]),
            Rect::new(list.x, list.y, list.width, 1),
        );
        Rect::new(
            list.x,
            list.y + 1,
            list.width,
            list.height.saturating_sub(1),
        )
    } else {
        list
    };
    let hit = findings_list::render(
        f,
        list,
        &shown,
        &healthy,
        tr.selected,
        s.hits.first(ListId::Findings),
        t,
    );
    hits.lists.push((ListId::Findings, hit));
    if let Some(lines) = fix {
        let d = Rect::new(x, list.y + list.height, w, detail_h);
        f.render_widget(
            Line::styled("─".repeat(w as usize), t.dim()),
            Rect::new(d.x, d.y, d.width, 1),
        );
        let body = Rect::new(d.x, d.y + 1, d.width, d.height.saturating_sub(1));
        let mut lines = text_pane::wrap(&lines, w as usize);
        if lines.len() > body.height as usize {
            lines.truncate(body.height.saturating_sub(1) as usize);
            lines.push(Line::styled("↓ more: Enter shows the whole fix", t.dim()));
        }
        f.render_widget(Paragraph::new(lines), body);
    }
}

fn plural(n: usize, word: &str) -> String {
    format!("{n} {word}{}", if n == 1 { "" } else { "s" })
}

/// HH:MM:SS (UTC) of a time.
pub fn clock(t: SystemTime) -> String {
    let s = t
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
        % 86_400;
    format!("{:02}:{:02}:{:02} UTC", s / 3600, s / 60 % 60, s % 60)
}
