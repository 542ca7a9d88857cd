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

use crate::model::config::parse_addr;
use crate::model::name::parse_target;
use crate::model::plan::{Plan, ZoneSpec};
use crate::tui::app::{forward, Effect, Hits, ListId, Setup, SetupRequest, State};
use crate::tui::screens::names;
use crate::tui::theme::{spinner, Level};
use crate::tui::widgets::findings_list::ListHit;
use crate::tui::widgets::key_bar::Hint;
use crate::tui::widgets::secret_field::SecretField;
use crate::tui::widgets::text_field::TextField;
use crate::tui::widgets::{fit, pad};
use crate::zones::kinds::ZoneError;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::layout::{Position, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};
use ratatui::Frame;
use std::fmt;
use std::path::PathBuf;

/// A secret on its way to the key file: never printed, never in `Debug`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Secret {
        Secret(s.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<hidden>)")
    }
}

/// The TSIG key: a key file, or typed in (stored by the setup in a 0600 key file).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeyInput {
    File(PathBuf),
    Inline {
        name: String,
        algorithm: String,
        secret: Secret,
    },
}

/// The zone form, validated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ZoneInput {
    AcmeDns {
        api: String,
        /// false: reuse existing accounts only (fail where none exists).
        register: bool,
        allowfrom: Vec<String>,
        storage: Option<PathBuf>,
    },
    Rfc2136 {
        server: String,
        zone: String,
        key: KeyInput,
    },
    Provider {
        provider: String,
        domain: String,
    },
    Hosted {
        target: String,
    },
}

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

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Field {
    Api,
    AcmeMode,
    AllowFrom,
    Storage,
    Server,
    RfcZone,
    KeyMode,
    KeyFile,
    KeyName,
    KeyAlg,
    Secret,
    Provider,
    ProviderZone,
    Target,
}

impl Field {
    pub fn label(self) -> &'static str {
        match self {
            Field::Api => "API URL",
            Field::AcmeMode => "accounts",
            Field::AllowFrom => "allowfrom",
            Field::Storage => "storage dir",
            Field::Server => "server",
            Field::RfcZone => "zone",
            Field::KeyMode => "TSIG key",
            Field::KeyFile => "key file",
            Field::KeyName => "key name",
            Field::KeyAlg => "algorithm",
            Field::Secret => "secret",
            Field::Provider => "provider",
            Field::ProviderZone => "zone",
            Field::Target => "target",
        }
    }

    pub fn hint(self) -> &'static str {
        match self {
            Field::Api => "the acme-dns base URL, e.g. https://auth.acme-dns.io",
            Field::AcmeMode => "Space switches",
            Field::AllowFrom => "CIDRs that may update, comma separated (optional)",
            Field::Storage => "where account files go (optional; default: user data dir)",
            Field::Server => "the primary's ip:port, e.g. 192.0.2.53:53",
            Field::RfcZone => "the validation zone, e.g. acme.example.net",
            Field::KeyMode => "Space switches",
            Field::KeyFile => "a BIND or knot key file",
            Field::KeyName => "the key's name",
            Field::KeyAlg => "hmac-sha256, hmac-sha512, ...",
            Field::Secret => "base64; stored in a 0600 key file, never shown",
            Field::Provider => "lego's provider code, e.g. cloudflare",
            Field::ProviderZone => "the throwaway zone at the provider",
            Field::Target => "the CNAME target the service gave you",
        }
    }

    fn toggle(self) -> bool {
        matches!(self, Field::AcmeMode | Field::KeyMode)
    }
}

/// Where the keys go.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Focus {
    #[default]
    Kinds,
    Field(usize),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ZoneState {
    pub kind: usize,
    pub focus: Focus,
    pub api: TextField,
    pub acme_register: bool,
    pub allowfrom: TextField,
    pub storage: TextField,
    pub server: TextField,
    pub rfc_zone: TextField,
    pub key_inline: bool,
    pub key_file: TextField,
    pub key_name: TextField,
    pub key_alg: TextField,
    pub secret: SecretField,
    pub provider: TextField,
    pub provider_zone: TextField,
    pub target: TextField,
    /// A field the last submit found wrong, and why.
    pub error: Option<(Field, String)>,
    pub running: bool,
    pub result: Option<Setup>,
    pub failure: Option<ZoneError>,
}

impl Default for ZoneState {
    fn default() -> Self {
        ZoneState {
            kind: 0,
            focus: Focus::Kinds,
            api: TextField::default(),
            acme_register: true,
            allowfrom: TextField::default(),
            storage: TextField::default(),
            server: TextField::default(),
            rfc_zone: TextField::default(),
            key_inline: false,
            key_file: TextField::default(),
            key_name: TextField::default(),
            key_alg: TextField::new("hmac-sha256"),
            secret: SecretField::default(),
            provider: TextField::default(),
            provider_zone: TextField::default(),
            target: TextField::default(),
            error: None,
            running: false,
            result: None,
            failure: None,
        }
    }
}

impl ZoneState {
    /// The form as a saved plan describes it (a key file, never a secret).
    pub fn from_plan(plan: &Plan) -> ZoneState {
        let mut z = ZoneState::default();
        match &plan.zone {
            ZoneSpec::AcmeDns {
                api,
                storage,
                allowfrom,
            } => {
                z.kind = 0;
                z.api = TextField::new(api);
                z.acme_register = false;
                z.allowfrom = TextField::new(&allowfrom.join(", "));
                z.storage = TextField::new(
                    &storage
                        .as_ref()
                        .map(|p| p.display().to_string())
                        .unwrap_or_default(),
                );
            }
            ZoneSpec::Rfc2136 {
                server,
                zone,
                key_file,
            } => {
                z.kind = 1;
                z.server = TextField::new(server);
                z.rfc_zone = TextField::new(zone.without_dot());
                z.key_file = TextField::new(&key_file.display().to_string());
            }
            ZoneSpec::Provider { provider, domain } => {
                z.kind = 2;
                z.provider = TextField::new(provider);
                z.provider_zone = TextField::new(domain.without_dot());
            }
            ZoneSpec::Hosted { target } => {
                z.kind = 3;
                z.target = TextField::new(target.without_dot());
            }
        }
        z
    }

    /// The fields of the chosen kind, in order.
    pub fn fields(&self) -> Vec<Field> {
        match self.kind {
            0 => vec![
                Field::Api,
                Field::AcmeMode,
                Field::AllowFrom,
                Field::Storage,
            ],
            1 if self.key_inline => vec![
                Field::Server,
                Field::RfcZone,
                Field::KeyMode,
                Field::KeyName,
                Field::KeyAlg,
                Field::Secret,
            ],
            1 => vec![
                Field::Server,
                Field::RfcZone,
                Field::KeyMode,
                Field::KeyFile,
            ],
            2 => vec![Field::Provider, Field::ProviderZone],
            _ => vec![Field::Target],
        }
    }

    pub fn focused(&self) -> Option<Field> {
        match self.focus {
            Focus::Kinds => None,
            Focus::Field(i) => self.fields().get(i).copied(),
        }
    }

    fn text_mut(&mut self, f: Field) -> Option<&mut TextField> {
        Some(match f {
            Field::Api => &mut self.api,
            Field::AllowFrom => &mut self.allowfrom,
            Field::Storage => &mut self.storage,
            Field::Server => &mut self.server,
            Field::RfcZone => &mut self.rfc_zone,
            Field::KeyFile => &mut self.key_file,
            Field::KeyName => &mut self.key_name,
            Field::KeyAlg => &mut self.key_alg,
            Field::Provider => &mut self.provider,
            Field::ProviderZone => &mut self.provider_zone,
            Field::Target => &mut self.target,
            Field::AcmeMode | Field::KeyMode | Field::Secret => return None,
        })
    }

    fn text(&self, f: Field) -> &str {
        match f {
            Field::Api => self.api.value(),
            Field::AllowFrom => self.allowfrom.value(),
            Field::Storage => self.storage.value(),
            Field::Server => self.server.value(),
            Field::RfcZone => self.rfc_zone.value(),
            Field::KeyFile => self.key_file.value(),
            Field::KeyName => self.key_name.value(),
            Field::KeyAlg => self.key_alg.value(),
            Field::Provider => self.provider.value(),
            Field::ProviderZone => self.provider_zone.value(),
            Field::Target => self.target.value(),
            Field::AcmeMode | Field::KeyMode | Field::Secret => "",
        }
    }

    /// Checks the form; Err names the field and says what is wrong.
    pub fn validate(&self) -> Result<ZoneInput, (Field, String)> {
        let need = |f: Field| -> Result<String, (Field, String)> {
            let v = self.text(f).trim();
            if v.is_empty() {
                Err((f, format!("{} is needed: {}", f.label(), f.hint())))
            } else {
                Ok(v.to_string())
            }
        };
        let dns = |f: Field| -> Result<String, (Field, String)> {
            let v = need(f)?;
            parse_target(&v).map_err(|e| (f, format!("{}: {}", f.label(), e.reason)))?;
            Ok(v)
        };
        let opt = |f: Field| Some(self.text(f).trim()).filter(|v| !v.is_empty());
        Ok(match self.kind {
            0 => {
                let api = need(Field::Api)?;
                if !(api.starts_with("https://") || api.starts_with("http://")) {
                    return Err((
                        Field::Api,
                        "the API URL starts with https:// (or http:// in a lab)".into(),
                    ));
                }
                ZoneInput::AcmeDns {
                    api,
                    register: self.acme_register,
                    allowfrom: self
                        .allowfrom
                        .value()
                        .split([',', ' '])
                        .map(str::trim)
                        .filter(|c| !c.is_empty())
                        .map(String::from)
                        .collect(),
                    storage: opt(Field::Storage).map(PathBuf::from),
                }
            }
            1 => {
                let server = need(Field::Server)?;
                if parse_addr(&server).is_none() {
                    return Err((
                        Field::Server,
                        format!("{server:?} is not ip:port, e.g. 192.0.2.53:53"),
                    ));
                }
                let zone = dns(Field::RfcZone)?;
                let key = if self.key_inline {
                    let name = need(Field::KeyName)?;
                    let algorithm = need(Field::KeyAlg)?;
                    if self.secret.is_empty() {
                        return Err((Field::Secret, "the secret is needed (base64)".into()));
                    }
                    KeyInput::Inline {
                        name,
                        algorithm,
                        secret: Secret::new(self.secret.expose()),
                    }
                } else {
                    KeyInput::File(PathBuf::from(need(Field::KeyFile)?))
                };
                ZoneInput::Rfc2136 { server, zone, key }
            }
            2 => ZoneInput::Provider {
                provider: need(Field::Provider)?.to_ascii_lowercase(),
                domain: dns(Field::ProviderZone)?,
            },
            _ => ZoneInput::Hosted {
                target: dns(Field::Target)?,
            },
        })
    }
}

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

fn submit(s: &mut State, fx: &mut Vec<Effect>) {
    if s.zone.result.is_some() {
        forward(s, fx);
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
            let errors = setup
                .findings
                .iter()
                .filter(|f| f.severity == crate::findings::Severity::Error)
                .count();
            if errors > 0 {
                s.say(
                    Level::Warn,
                    format!(
                        "zone set up with {errors} problem(s) shown below; Enter goes on anyway"
                    ),
                );
            } else {
                s.say(Level::Ok, "zone set up: Enter shows the CNAME records");
            }
            s.plan = Some(setup.plan.clone());
            s.unsaved = true;
            fx.push(Effect::SaveState {
                plan: Box::new(setup.plan.clone()),
            });
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
