//! The zone step's state: the form, its validation, and the setup it asks for.

use crate::engine::setup::NsAlternative;
use crate::findings::Finding;
use crate::model::config::parse_addr;
use crate::model::name::{parse_target, Name};
use crate::model::plan::{Plan, ZoneSpec};
use crate::tui::theme::Level;
use crate::tui::widgets::secret_field::SecretField;
use crate::tui::widgets::text_field::TextField;
use crate::zones::kinds::ZoneError;
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

    pub fn toggle(self) -> bool {
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
                ..
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
            ZoneSpec::Provider {
                provider, domain, ..
            } => {
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

    pub fn text_mut(&mut self, f: Field) -> Option<&mut TextField> {
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

    pub fn text(&self, f: Field) -> &str {
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

/// What the zone step asks the engine to set up.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SetupRequest {
    pub names: Vec<String>,
    pub zone: ZoneInput,
}

/// A finished setup: the plan (targets computed, accounts registered), the audit's
/// findings, lines worth showing (the scope probe's verdict, registrations), and the
/// NS-delegation alternative of each name the engine gave one for (RFC 2136, as
/// `plan` prints it; none when the plan was resumed from its file).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Setup {
    pub plan: Plan,
    pub findings: Vec<Finding>,
    pub notes: Vec<(Level, String)>,
    pub ns_alternatives: Vec<NsAlternative>,
}

impl Setup {
    /// The NS-delegation alternative for a challenge name, when the setup gave one.
    pub fn ns_alternative(&self, challenge: &Name) -> Option<&NsAlternative> {
        self.ns_alternatives.iter().find(|a| &a.zone == challenge)
    }
}
