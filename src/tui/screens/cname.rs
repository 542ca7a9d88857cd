//! Step 3: the CNAME records to publish, one row per name, and the selected one in every
//! form a DNS panel or a zone file wants. `c` copies the selected record, `C` all of them.
//!
//! ```text
//! ┌ 3 CNAME records to publish ──────────────────────────────────────────────────┐
//! │ name                  owner in its zone           target                     │
//! │>www.example.com       _acme-challenge.www         www-example-com-1a2b3c.a…  │
//! │ *.example.com         _acme-challenge             example-com-4d5e6f.acme…   │
//! │                                                                              │
//! │ ── www.example.com ── in zone example.com.                                   │
//! │ FQDN       _acme-challenge.www.example.com. CNAME www-example-com-1a2b3c.…   │
//! │ relative   _acme-challenge.www                                               │
//! │ zone file  _acme-challenge.www.example.com. 300 IN CNAME www-example-com-…   │
//! │ in a DNS panel that appends the zone, the name is:  _acme-challenge.www      │
//! │ (pasting the full name there creates _acme-challenge.www.example.com.example │
//! │ .com: the doubled-zone mistake)                                              │
//! │ or delegate the challenge name by NS (a zone cut):   (RFC 2136, as `plan`)   │
//! │ _acme-challenge.www.example.com. 300 IN NS ns1.acme.example.                 │
//! │ (instead of the CNAME: publish these NS records, create the zone ...)        │
//! └──────────────────────────────────────────────────────────────────────────────┘
//! ```

use crate::model::plan::PlannedName;
use crate::tui::state::nav::forward;
use crate::tui::state::{Effect, Hits, ListId, State};
use crate::tui::widgets::findings_list::ListHit;
use crate::tui::widgets::key_bar::Hint;
use crate::tui::widgets::{fit, pad, scroll_to};
use ratatui::crossterm::event::{KeyCode, KeyEvent};
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};
use ratatui::Frame;

fn records(s: &State) -> &[PlannedName] {
    s.plan.as_ref().map(|p| p.names.as_slice()).unwrap_or(&[])
}

/// The advice for a DNS panel, with the doubled-zone trap.
pub fn panel_advice(p: &PlannedName) -> String {
    match p.panel_hint() {
        Some([name, mistake]) => format!("{name} {mistake}"),
        None => format!(
            "Publish it in the zone that holds {} (it could not be found from here).",
            p.challenge
        ),
    }
}

pub fn on_key(s: &mut State, k: KeyEvent, fx: &mut Vec<Effect>) -> bool {
    let n = records(s).len();
    match k.code {
        KeyCode::Up | KeyCode::Char('k') => s.cname.selected = s.cname.selected.saturating_sub(1),
        KeyCode::Down | KeyCode::Char('j') => {
            s.cname.selected = (s.cname.selected + 1).min(n.saturating_sub(1))
        }
        KeyCode::Home => s.cname.selected = 0,
        KeyCode::End => s.cname.selected = n.saturating_sub(1),
        KeyCode::PageDown => {
            s.cname.selected = (s.cname.selected + s.body_rows() / 2).min(n.saturating_sub(1))
        }
        KeyCode::PageUp => s.cname.selected = s.cname.selected.saturating_sub(s.body_rows() / 2),
        KeyCode::Char('c') => {
            if let Some(p) = records(s).get(s.cname.selected) {
                fx.push(Effect::Copy {
                    what: format!("the record for {}", p.name),
                    text: p.zone_line(),
                });
            }
        }
        KeyCode::Char('C') => {
            let all: Vec<String> = records(s).iter().map(|p| p.zone_line()).collect();
            if !all.is_empty() {
                fx.push(Effect::Copy {
                    what: format!(
                        "{} record{}",
                        all.len(),
                        if all.len() == 1 { "" } else { "s" }
                    ),
                    text: all.join("\n") + "\n",
                });
            }
        }
        KeyCode::Enter => forward(s, fx),
        _ => return false,
    }
    true
}

pub fn click(s: &mut State, i: usize) {
    s.cname.selected = i;
}

pub fn hints(_: &State) -> Vec<Hint> {
    vec![
        Hint::new("Enter", "poll", KeyCode::Enter),
        Hint::new("c", "copy", KeyCode::Char('c')),
        Hint::new("C", "copy all", KeyCode::Char('C')),
    ]
}

/// The lines of the NS-delegation alternative of the selected record, as `plan` prints
/// it: only when the zone step gave one (RFC 2136), else none (the screen is unchanged).
fn alternative_lines<'a>(s: &'a State, p: &PlannedName) -> Vec<Line<'a>> {
    let t = &s.theme;
    let Some(alt) = s
        .zone
        .result
        .as_ref()
        .and_then(|r| r.ns_alternative(&p.challenge))
    else {
        return vec![];
    };
    let mut lines = vec![Line::styled(
        "or delegate the challenge name by NS (a zone cut):",
        t.heading(),
    )];
    lines.extend(
        alt.records
            .iter()
            .map(|r| Line::styled(r.clone(), t.code())),
    );
    lines.push(Line::raw(format!("({})", alt.note)));
    lines
}

pub fn render(s: &State, f: &mut Frame, area: Rect, hits: &mut Hits) {
    let t = &s.theme;
    let recs = records(s);
    let x = area.x + 1;
    let w = area.width.saturating_sub(2);
    let alternative = recs
        .get(s.cname.selected)
        .map(|p| alternative_lines(s, p))
        .unwrap_or_default();
    // With an alternative, the detail grows by its wrapped lines (estimated a little
    // high: words wrap before the edge); the list keeps its records (up to 3) in view.
    let wrap_w = usize::from(w.saturating_sub(12).max(1));
    let extra: usize = alternative
        .iter()
        .map(|l| l.width().div_ceil(wrap_w).max(1))
        .sum();
    let detail_h = 12u16.saturating_add(u16::try_from(extra).unwrap_or(u16::MAX));
    let keep = if extra > 0 {
        recs.len().clamp(1, 3) as u16
    } else {
        1
    };
    let list_h = area.height.saturating_sub(detail_h + 1).max(keep);
    let (name_w, owner_w) = (20usize, 20usize);
    let target_w = (w as usize).saturating_sub(name_w + owner_w + 2);
    f.render_widget(
        Line::styled(
            format!(
                "{}{}{}",
                pad("name", name_w + 1),
                pad("owner in its zone", owner_w + 1),
                "target"
            ),
            t.heading(),
        ),
        Rect::new(x, area.y, w, 1),
    );
    let list = Rect::new(x, area.y + 1, w, list_h);
    let first = scroll_to(hits_first(s), s.cname.selected, list_h as usize);
    let lines: Vec<Line> = recs
        .iter()
        .enumerate()
        .skip(first)
        .take(list_h as usize)
        .map(|(i, p)| {
            let l = Line::from(vec![
                Span::raw(pad(&p.name, name_w) + " "),
                Span::styled(
                    pad(
                        &p.relative_owner()
                            .unwrap_or_else(|| p.challenge.to_string()),
                        owner_w,
                    ) + " ",
                    t.code(),
                ),
                Span::raw(fit(p.target.as_str(), target_w)),
            ]);
            if i == s.cname.selected {
                l.style(t.selected())
            } else {
                l
            }
        })
        .collect();
    f.render_widget(Paragraph::new(lines), list);
    hits.lists.push((
        ListId::Records,
        ListHit {
            area: list,
            first,
            len: recs.len(),
        },
    ));
    let Some(p) = recs.get(s.cname.selected) else {
        f.render_widget(
            Line::raw("no records: the zone step has not run"),
            Rect::new(x, list.y, w, 1),
        );
        return;
    };
    let d = Rect::new(
        x,
        area.y + 1 + list_h + 1,
        w,
        detail_h.min(area.height.saturating_sub(list_h + 2)),
    );
    let field = |label: &str, v: String| {
        Line::from(vec![
            Span::styled(pad(label, 11), t.heading()),
            Span::styled(v, t.code()),
        ])
    };
    let lines = vec![
        Line::styled(
            format!(
                "── {} ── publish in zone {}",
                p.name,
                p.zone
                    .as_ref()
                    .map(|z| z.to_string())
                    .unwrap_or_else(|| "(not found from here)".into())
            ),
            t.heading(),
        ),
        field("name", p.challenge.to_string()),
        field(
            "relative",
            p.relative_owner()
                .unwrap_or_else(|| "(the zone is unknown)".into()),
        ),
        field("type", "CNAME".into()),
        field("target", p.target.to_string()),
        Line::styled("zone file:", t.heading()),
        Line::styled(p.zone_line(), t.code()),
        Line::raw(panel_advice(p)),
    ];
    let lines: Vec<Line> = lines.into_iter().chain(alternative).collect();
    f.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), d);
}

fn hits_first(s: &State) -> usize {
    s.hits.first(ListId::Records)
}
