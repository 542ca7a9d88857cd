//! Step 2: the validation zone: the kind, with its trade-off, and the kind's form. Secret
//! fields are masked. Registration (acme-dns) and the TSIG scope probe (RFC 2136) run as
//! engine tasks behind a spinner; Esc cancels them.
//!
//! ```text
//! ┌ 2 Validation zone ───────────────────────────────────────────────────────────┐
//! │ Kind: the blast radius of the credential against running a service           │
//! │ > acme-dns   one TXT per name is all its credential can write; you run a ... │
//! │   RFC 2136   a TSIG key limited to TXT in your own zone; you run the server  │
//! │   provider   no service to run; the API token often reaches every zone       │
//! │   hosted     nothing to run or hold; the service holds the credential        │
//! │                                                                              │
//! │   API URL      https://auth.acme-dns.io█                                     │
//! │   accounts     (•) register new   ( ) reuse existing                         │
//! │   allowfrom    192.0.2.0/24                                                  │
//! │                                                                              │
//! │ | registering… (Esc cancels)      or   ✓ notes / ✗ error + fix               │
//! └──────────────────────────────────────────────────────────────────────────────┘
//! ```

use crate::tui::state::names;
use crate::tui::state::nav::forward;
use crate::tui::state::zone::{Field, Focus, Setup, SetupRequest, ZoneInput, ZoneState};
use crate::tui::state::{Effect, Hits, ListId, State};
use crate::tui::theme::{spinner, Level};
use crate::tui::widgets::findings_list::ListHit;
use crate::tui::widgets::key_bar::Hint;
use crate::tui::widgets::text_field::TextField;
use crate::tui::widgets::{fit, pad};
use crate::zones::kinds::ZoneError;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::layout::{Position, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};
use ratatui::Frame;

/// The four kinds, each with its trade-off in one line.
pub const KINDS: [(&str, &str); 4] = [
    (
        "acme-dns",
        "its credential writes one TXT per name, nothing else; you run (or trust) a service",
    ),
    (
        "RFC 2136",
        "a TSIG key limited to TXT in your own zone; needs a DNS server you run",
    ),
    (
        "provider",
        "no service to run; the API token often reaches every zone of the account",
    ),
    (
        "hosted",
        "nothing to run or hold; the service holds the credential and writes the TXT",
    ),
];

/// A text field has the keys (so letters are text).
pub fn typing(s: &State) -> bool {
    s.zone.focused().is_some_and(|f| !f.toggle())
}

fn changed(s: &mut State) {
    s.zone.result = None;
    s.zone.failure = None;
    s.zone.error = None;
    s.unsaved = true;
}

/// The codes of the setup's error findings: the plan is not saved while there are any,
/// until Enter saves it anyway (as `plan --force`), naming them.
fn error_codes(setup: &Setup) -> Vec<&'static str> {
    setup
        .findings
        .iter()
        .filter(|f| f.severity == crate::findings::Severity::Error)
        .map(|f| f.code.as_str())
        .collect()
}

fn submit(s: &mut State, fx: &mut Vec<Effect>) {
    if let Some(setup) = &s.zone.result {
        let codes = error_codes(setup);
        let forced = !codes.is_empty() && s.plan.as_ref() != Some(&setup.plan);
        if forced {
            s.plan = Some(setup.plan.clone());
            fx.push(Effect::SaveState {
                plan: Box::new(setup.plan.clone()),
            });
        }
        forward(s, fx);
        if forced {
            s.say(
                Level::Warn,
                format!("plan saved despite the error {}", codes.join(", ")),
            );
        }
        return;
    }
    let names = match names::ready(&s.names) {
        Ok(n) => n,
        Err(e) => {
            s.say(
                Level::Bad,
                format!("the names step is not done: {e} (^B goes back)"),
            );
            return;
        }
    };
    match s.zone.validate() {
        Err((field, why)) => {
            if let Some(i) = s.zone.fields().iter().position(|f| *f == field) {
                s.zone.focus = Focus::Field(i);
            }
            s.say(Level::Bad, why.clone());
            s.zone.error = Some((field, why));
        }
        Ok(zone) => {
            s.zone.error = None;
            s.zone.failure = None;
            s.zone.running = true;
            s.say(
                Level::Info,
                match zone {
                    ZoneInput::AcmeDns { .. } => "registering with acme-dns… Esc cancels",
                    ZoneInput::Rfc2136 { .. } => "probing the key's scope… Esc cancels",
                    _ => "checking the zone… Esc cancels",
                },
            );
            fx.push(Effect::RunSetup(Box::new(SetupRequest {
                names: names.into_iter().map(|n| n.identifier).collect(),
                zone,
            })));
        }
    }
}

pub fn on_setup_done(s: &mut State, r: Result<Setup, ZoneError>, fx: &mut Vec<Effect>) {
    if !s.zone.running {
        // Cancelled meanwhile: the answer is for a question nobody asks any more.
        s.dirty = false;
        return;
    }
    s.zone.running = false;
    match r {
        Ok(setup) => {
            let codes = error_codes(&setup);
            s.unsaved = true;
            if !codes.is_empty() {
                // An error finding: nothing is saved until Enter overrides it.
                s.say(
                    Level::Warn,
                    format!(
                        "NOT saved: the error {} below; Enter saves the plan anyway and goes on",
                        codes.join(", ")
                    ),
                );
            } else {
                s.say(Level::Ok, "zone set up: Enter shows the CNAME records");
                s.plan = Some(setup.plan.clone());
                fx.push(Effect::SaveState {
                    plan: Box::new(setup.plan.clone()),
                });
            }
            s.zone.result = Some(setup);
        }
        Err(e) => {
            s.say(Level::Bad, e.message.clone());
            s.zone.failure = Some(e);
        }
    }
}

fn move_focus(z: &mut ZoneState, down: bool) {
    let n = z.fields().len();
    z.focus = match (z.focus, down) {
        (Focus::Kinds, true) => Focus::Field(0),
        (Focus::Kinds, false) => Focus::Field(n - 1),
        (Focus::Field(i), true) if i + 1 < n => Focus::Field(i + 1),
        (Focus::Field(_), true) => Focus::Kinds,
        (Focus::Field(0), false) => Focus::Kinds,
        (Focus::Field(i), false) => Focus::Field(i - 1),
    };
}

pub fn on_key(s: &mut State, k: KeyEvent, fx: &mut Vec<Effect>) -> bool {
    if s.zone.running {
        if k.code == KeyCode::Esc {
            return false;
        }
        s.say(Level::Info, "the setup is running; Esc cancels it");
        return true;
    }
    match k.code {
        KeyCode::Enter => {
            if s.zone.focus == Focus::Kinds && s.zone.result.is_none() {
                s.zone.focus = Focus::Field(0);
            } else {
                submit(s, fx);
            }
            return true;
        }
        KeyCode::Tab => {
            move_focus(&mut s.zone, true);
            return true;
        }
        KeyCode::BackTab => {
            move_focus(&mut s.zone, false);
            return true;
        }
        _ => {}
    }
    match s.zone.focus {
        Focus::Kinds => match k.code {
            KeyCode::Up | KeyCode::Char('k') => {
                s.zone.kind = s.zone.kind.saturating_sub(1);
                changed(s);
                true
            }
            KeyCode::Down | KeyCode::Char('j') => {
                s.zone.kind = (s.zone.kind + 1).min(KINDS.len() - 1);
                changed(s);
                true
            }
            KeyCode::Right => {
                s.zone.focus = Focus::Field(0);
                true
            }
            _ => false,
        },
        Focus::Field(_) => {
            let field = s.zone.focused().expect("a field has the focus");
            match k.code {
                KeyCode::Up => {
                    move_focus(&mut s.zone, false);
                    return true;
                }
                KeyCode::Down => {
                    move_focus(&mut s.zone, true);
                    return true;
                }
                _ => {}
            }
            if field.toggle() {
                if matches!(k.code, KeyCode::Char(' ') | KeyCode::Left | KeyCode::Right) {
                    match field {
                        Field::AcmeMode => s.zone.acme_register = !s.zone.acme_register,
                        _ => s.zone.key_inline = !s.zone.key_inline,
                    }
                    changed(s);
                    return true;
                }
                return false;
            }
            let handled = if field == Field::Secret {
                s.zone.secret.handle(&k)
            } else if k.modifiers.contains(KeyModifiers::CONTROL) && k.code == KeyCode::Char('c') {
                false
            } else {
                s.zone
                    .text_mut(field)
                    .map(|t| t.handle(&k))
                    .unwrap_or(false)
            };
            if handled {
                changed(s);
            }
            handled
        }
    }
}

pub fn on_paste(s: &mut State, text: &str) -> bool {
    let Some(field) = s.zone.focused() else {
        return false;
    };
    if field == Field::Secret {
        s.zone.secret.insert_str(text);
    } else if let Some(t) = s.zone.text_mut(field) {
        t.insert_str(text.trim());
    } else {
        return false;
    }
    changed(s);
    true
}

pub fn click(s: &mut State, id: ListId, i: usize) {
    if s.zone.running {
        return;
    }
    match id {
        ListId::Kinds => {
            if s.zone.kind != i {
                s.zone.kind = i;
                changed(s);
            }
            s.zone.focus = Focus::Kinds;
        }
        _ => {
            if s.zone.focus == Focus::Field(i) {
                if let Some(f) = s.zone.fields().get(i).filter(|f| f.toggle()) {
                    match f {
                        Field::AcmeMode => s.zone.acme_register = !s.zone.acme_register,
                        _ => s.zone.key_inline = !s.zone.key_inline,
                    }
                    changed(s);
                }
            }
            s.zone.focus = Focus::Field(i);
        }
    }
}

pub fn hints(s: &State) -> Vec<Hint> {
    let mut h = vec![];
    if s.zone.result.is_some() {
        h.push(Hint::new("Enter", "next", KeyCode::Enter));
    } else if !s.zone.running {
        h.push(Hint::new("Enter", "set up", KeyCode::Enter));
    }
    h.push(Hint::new("Tab", "field", KeyCode::Tab));
    if s.zone.focused().is_some_and(|f| f.toggle()) {
        h.push(Hint::new("Space", "switch", KeyCode::Char(' ')));
    }
    h
}

fn toggle_text(on: bool, a: &str, b: &str) -> String {
    let dot = |x| if x { "(•)" } else { "( )" };
    format!("{} {a}   {} {b}", dot(on), dot(!on))
}

pub fn render(s: &State, f: &mut Frame, area: Rect, hits: &mut Hits) {
    let t = &s.theme;
    let z = &s.zone;
    let x = area.x + 1;
    let w = area.width.saturating_sub(2);
    f.render_widget(
        Line::styled(
            "Kind: the blast radius of the credential against running a service",
            t.heading(),
        ),
        Rect::new(x, area.y, w, 1),
    );
    let kinds_area = Rect::new(x, area.y + 1, w, KINDS.len() as u16);
    let lines: Vec<Line> = KINDS
        .iter()
        .enumerate()
        .map(|(i, (name, why))| {
            let mark = if i == z.kind { "(•)" } else { "( )" };
            let mut l = Line::from(vec![
                Span::raw(format!("{mark} ")),
                Span::styled(pad(name, 10), t.heading()),
                Span::styled(fit(why, w as usize - 14), t.dim()),
            ]);
            if i == z.kind && z.focus == Focus::Kinds {
                l = l.style(t.selected());
            }
            l
        })
        .collect();
    f.render_widget(Paragraph::new(lines), kinds_area);
    hits.lists.push((
        ListId::Kinds,
        ListHit {
            area: kinds_area,
            first: 0,
            len: KINDS.len(),
        },
    ));

    let fields = z.fields();
    let form = Rect::new(x, area.y + 2 + KINDS.len() as u16, w, fields.len() as u16);
    let label_w = 13usize;
    let value_w = (w as usize).saturating_sub(label_w + 2);
    let mut cursor = None;
    let lines: Vec<Line> = fields
        .iter()
        .enumerate()
        .map(|(i, fld)| {
            let focused = z.focus == Focus::Field(i);
            let (shown, cur) = match fld {
                Field::AcmeMode => (
                    toggle_text(z.acme_register, "register new", "reuse existing"),
                    None,
                ),
                Field::KeyMode => (
                    toggle_text(!z.key_inline, "key file", "name + secret"),
                    None,
                ),
                Field::Secret => {
                    let (v, c) = TextField::window(&z.secret.masked(), z.secret.cursor(), value_w);
                    (v, Some(c))
                }
                other => {
                    let tf = match other {
                        Field::Api => &z.api,
                        Field::AllowFrom => &z.allowfrom,
                        Field::Storage => &z.storage,
                        Field::Server => &z.server,
                        Field::RfcZone => &z.rfc_zone,
                        Field::KeyFile => &z.key_file,
                        Field::KeyName => &z.key_name,
                        Field::KeyAlg => &z.key_alg,
                        Field::Provider => &z.provider,
                        Field::ProviderZone => &z.provider_zone,
                        _ => &z.target,
                    };
                    let (v, c) = TextField::window(tf.value(), tf.cursor(), value_w);
                    if v.is_empty() && !focused {
                        (fit(fld.hint(), value_w), None)
                    } else {
                        (v, Some(c))
                    }
                }
            };
            if focused {
                if let Some(c) = cur {
                    cursor = Some(Position::new(
                        form.x + 2 + label_w as u16 + c as u16,
                        form.y + i as u16,
                    ));
                }
            }
            let wrong = z.error.as_ref().is_some_and(|(e, _)| e == fld);
            let label_style = if focused {
                t.focus()
            } else if wrong {
                t.level(Level::Bad)
            } else {
                t.heading()
            };
            let value_style =
                if z.text(*fld).is_empty() && !focused && !fld.toggle() && *fld != Field::Secret {
                    t.dim()
                } else {
                    ratatui::style::Style::new()
                };
            Line::from(vec![
                Span::styled(if focused { "> " } else { "  " }, t.focus()),
                Span::styled(pad(fld.label(), label_w), label_style),
                Span::styled(shown, value_style),
            ])
        })
        .collect();
    f.render_widget(Paragraph::new(lines), form);
    hits.lists.push((
        ListId::Fields,
        ListHit {
            area: form,
            first: 0,
            len: fields.len(),
        },
    ));
    if let (Some(c), None) = (cursor, &s.overlay) {
        if !z.running {
            f.set_cursor_position(c);
        }
    }

    // The outcome: spinner, error with its fix, or the setup's notes and findings.
    let out_y = form.y + form.height + 1;
    let out = Rect::new(x, out_y, w, (area.y + area.height).saturating_sub(out_y));
    let mut lines: Vec<Line> = Vec::new();
    if z.running {
        lines.push(Line::styled(
            format!("{} working… Esc cancels", spinner(s.frame)),
            t.level(Level::Info),
        ));
    } else if let Some((fld, why)) = &z.error {
        lines.push(Line::styled(
            format!("✗ {}: {why}", fld.label()),
            t.level(Level::Bad),
        ));
    } else if let Some(e) = &z.failure {
        lines.push(Line::styled(
            format!("✗ {}", e.message),
            t.level(Level::Bad),
        ));
        lines.push(Line::raw(format!("  fix: {}", e.fix)));
    } else if let Some(r) = &z.result {
        for (lvl, note) in &r.notes {
            lines.push(Line::styled(
                format!("{} {note}", lvl.symbol()),
                t.level(*lvl),
            ));
        }
        for fd in &r.findings {
            let lvl = Level::of(fd.severity);
            lines.push(Line::styled(
                format!("{} {} {}", lvl.symbol(), fd.code, fd.evidence),
                t.level(lvl),
            ));
            lines.push(Line::raw(format!("  fix: {}", fd.fix)));
        }
        lines.push(Line::styled(
            format!(
                "✓ {} CNAME target{} computed",
                r.plan.names.len(),
                if r.plan.names.len() == 1 { "" } else { "s" }
            ),
            t.level(Level::Ok),
        ));
    } else if let Some(fld) = z.focused() {
        lines.push(Line::styled(fld.hint(), t.dim()));
    }
    f.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), out);
}
