//! Step 5: the proof. A test TXT is published at each target; the screen shows, live, each
//! vantage point that sees it through the CNAME (authoritative servers first, then the
//! resolvers), then its removal.
//!
//! ```text
//! ┌ 5 Proof ─────────────────────────────────────────────────────────────────────┐
//! │ Publishes a random TXT at each target and waits until every vantage point    │
//! │ sees it through the CNAME; it is removed afterwards (also on Esc).           │
//! │                                                                              │
//! │ www.example.com   ✓ published at www-example-com-1a2b3c.acme.lab.            │
//! │   ✓ auth ns1.acme.lab.            seen after 40 ms                           │
//! │   ✓ res  cloudflare               seen after 900 ms                          │
//! │   ✓ test TXT removed      (acme-dns: · the test value stays until the next  │
//! │                            two updates replace it)                           │
//! │                                                                              │
//! │ ✓ proof passed: every vantage point saw every test TXT                       │
//! └──────────────────────────────────────────────────────────────────────────────┘
//! ```

use crate::engine::events::Event;
use crate::engine::views::VantageKind;
use crate::tui::state::nav::forward;
use crate::tui::state::proof::{NameProgress, ProofState};
use crate::tui::state::{Effect, Hits, ProofUpdate, State};
use crate::tui::theme::{spinner, Level};
use crate::tui::widgets::key_bar::Hint;
use crate::tui::widgets::pad;
use ratatui::crossterm::event::{KeyCode, KeyEvent};
use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::widgets::{Paragraph, Wrap};
use ratatui::Frame;

fn start(s: &mut State, fx: &mut Vec<Effect>) {
    let names = s.plan_names();
    s.proof = ProofState {
        running: true,
        names: names
            .iter()
            .map(|n| NameProgress {
                name: n.clone(),
                ..Default::default()
            })
            .collect(),
        ..Default::default()
    };
    s.say(
        Level::Info,
        "publishing the test TXT… Esc cancels (and removes it)",
    );
    fx.push(Effect::StartProof { names });
}

pub fn on_update(s: &mut State, u: ProofUpdate) {
    match u {
        ProofUpdate::Event(ev) => match ev {
            Event::Published { name, target } => {
                s.proof.entry(&name).published_at = Some(target.to_string())
            }
            Event::Seen {
                name,
                vantage,
                kind,
                ms,
            } => s.proof.entry(&name).seen.push((vantage, kind, ms)),
            Event::Removed { name } => s.proof.entry(&name).removed = true,
            Event::Left { name, why } => s.proof.entry(&name).left = Some(why.to_string()),
            Event::Failed { name, error } => s.proof.entry(&name).failures.push(error.to_string()),
            Event::Removing { .. } => {}
            Event::LeftBehind { name, command, .. } => s.proof.entry(&name).failures.push(format!(
                "the test TXT may be left behind; remove it with: {command}"
            )),
            _ => {}
        },
        ProofUpdate::Done(report) => {
            s.proof.running = false;
            s.proof.report = Some(report);
            if s.proof.passed() {
                s.say(
                    Level::Ok,
                    "proof passed: every vantage point saw every test TXT; Enter goes on",
                );
            } else {
                s.say(
                    Level::Bad,
                    "proof failed: see the findings below; r runs it again, n goes on anyway",
                );
            }
        }
        ProofUpdate::Unavailable(e) => {
            s.proof.running = false;
            s.say(
                Level::Warn,
                "this kind of zone cannot be proved from here; n goes on",
            );
            s.proof.unavailable = Some(e);
        }
    }
}

pub fn on_key(s: &mut State, k: KeyEvent, fx: &mut Vec<Effect>) -> bool {
    match k.code {
        KeyCode::Enter if s.proof.running => s.say(Level::Info, "the proof runs; Esc cancels it"),
        KeyCode::Enter if s.proof.report.is_some() || s.proof.unavailable.is_some() => {
            forward(s, fx)
        }
        KeyCode::Enter => start(s, fx),
        KeyCode::Char('r') if !s.proof.running => start(s, fx),
        _ => return false,
    }
    true
}

pub fn hints(s: &State) -> Vec<Hint> {
    if s.proof.running {
        vec![]
    } else if s.proof.report.is_some() || s.proof.unavailable.is_some() {
        vec![
            Hint::new("Enter", "next", KeyCode::Enter),
            Hint::new("r", "run again", KeyCode::Char('r')),
        ]
    } else {
        vec![
            Hint::new("Enter", "run the proof", KeyCode::Enter),
            Hint::new("n", "skip", KeyCode::Char('n')),
        ]
    }
}

fn kind_tag(k: VantageKind) -> &'static str {
    match k {
        VantageKind::Authoritative => "auth",
        VantageKind::Resolver => "res ",
        VantageKind::System => "sys ",
    }
}

pub fn render(s: &State, f: &mut Frame, area: Rect, _hits: &mut Hits) {
    let t = &s.theme;
    let p = &s.proof;
    let acme_dns = matches!(
        s.plan.as_ref().map(|p| &p.zone),
        Some(crate::model::plan::ZoneSpec::AcmeDns { .. })
    );
    let mut lines = vec![
        Line::raw(if acme_dns {
            "Publishes a random TXT at each target and waits until every vantage point sees \
             it through the CNAME; acme-dns cannot delete a record, so the test value stays \
             until the next two updates replace it."
        } else {
            "Publishes a random TXT at each target and waits until every vantage point sees \
             it through the CNAME; it is removed afterwards (also on Esc)."
        }),
        Line::raw(""),
    ];
    if let Some(e) = &p.unavailable {
        lines.push(Line::styled(
            format!("! {}", e.message),
            t.level(Level::Warn),
        ));
        lines.push(Line::raw(format!("  instead: {}", e.fix)));
    }
    for n in &p.names {
        match &n.published_at {
            Some(tg) => lines.push(Line::styled(
                format!("{}  ✓ published at {tg}", n.name),
                t.heading(),
            )),
            None if p.running => lines.push(Line::styled(
                format!("{}  {} publishing…", n.name, spinner(s.frame)),
                t.heading(),
            )),
            None => lines.push(Line::styled(n.name.clone(), t.heading())),
        }
        for (v, k, ms) in &n.seen {
            lines.push(Line::styled(
                format!("  ✓ {} {} seen after {ms} ms", kind_tag(*k), pad(v, 28)),
                t.level(Level::Ok),
            ));
        }
        if p.running && n.published_at.is_some() && !n.removed && n.left.is_none() {
            lines.push(Line::styled(
                format!(
                    "  {} waiting for the other vantage points…",
                    spinner(s.frame)
                ),
                t.level(Level::Waiting),
            ));
        }
        for m in &n.failures {
            lines.push(Line::styled(format!("  ✗ {m}"), t.level(Level::Bad)));
        }
        if n.removed {
            lines.push(Line::styled("  ✓ test TXT removed", t.level(Level::Ok)));
        }
        if let Some(why) = &n.left {
            lines.push(Line::styled(format!("  · {why}"), t.level(Level::Info)));
        }
    }
    if let Some(r) = &p.report {
        lines.push(Line::raw(""));
        for n in &r.names {
            for v in n.vantages.iter().filter(|v| v.seen_after_ms.is_none()) {
                lines.push(Line::styled(
                    format!(
                        "✗ {} {} {} never saw it (last: {})",
                        n.name,
                        kind_tag(v.kind),
                        v.vantage,
                        v.last_outcome.clone().unwrap_or_default()
                    ),
                    t.level(Level::Bad),
                ));
            }
            for fd in &n.findings {
                let lvl = Level::of(fd.severity);
                lines.push(Line::styled(
                    format!("{} {} {}: {}", lvl.symbol(), fd.code, n.name, fd.evidence),
                    t.level(lvl),
                ));
                lines.push(Line::raw(format!("  fix: {}", fd.fix)));
            }
            if n.cleanup == crate::engine::prove::Cleanup::NotRemoved {
                lines.push(Line::styled(
                    format!(
                        "✗ {}: the test TXT was NOT removed: delete it by hand",
                        n.name
                    ),
                    t.level(Level::Bad),
                ));
            }
        }
        if p.passed() {
            lines.push(Line::styled(
                "✓ proof passed: every vantage point saw every test TXT",
                t.level(Level::Ok),
            ));
        }
    } else if !p.running && p.unavailable.is_none() {
        lines.push(Line::raw(
            "Enter publishes the test TXT (n skips the proof).",
        ));
    }
    let x = Rect::new(
        area.x + 1,
        area.y,
        area.width.saturating_sub(2),
        area.height,
    );
    let skip = lines.len().saturating_sub(area.height as usize);
    let lines: Vec<Line> = lines.into_iter().skip(skip).collect();
    f.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), x);
}
