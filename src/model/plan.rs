//! The saved plan: which validation zone, and the exact CNAME for every name. `check`,
//! `diagnose`, `prove` and the client writers read it to know the expected targets.

use crate::model::name::{parse_input, InputName, Name};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// The kind of validation zone, with what it needs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum ZoneSpec {
    /// An acme-dns server: one registration per name (apex and wildcard share one).
    AcmeDns {
        api: String,
        /// The account file (lego/cert-manager layout); default in the user data dir.
        #[serde(skip_serializing_if = "Option::is_none")]
        storage: Option<PathBuf>,
        /// CIDRs the accounts may update from.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        allowfrom: Vec<String>,
        /// The acme-dns server's `domain` (`--domain`): a registration whose fulldomain is
        /// not under it is refused (`ACMEDNS_BAD_RESPONSE`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        domain: Option<Name>,
    },
    /// An RFC 2136 zone with a TSIG key scoped to TXT updates.
    Rfc2136 {
        server: String,
        zone: Name,
        key_file: PathBuf,
    },
    /// A throwaway zone at a DNS provider (lego provider code) written by the issuing
    /// client. With `api` and `key_file` (a provider acme-delegate drives, e.g. `pdns`),
    /// acme-delegate writes it too: `plan` checks the key, `prove` and `hook` publish.
    Provider {
        provider: String,
        domain: Name,
        /// The provider's API base URL (`--api`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        api: Option<String>,
        /// The file holding the API key (0600).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        key_file: Option<PathBuf>,
    },
    /// A hosted service that handed out the target.
    Hosted { target: Name },
}

impl ZoneSpec {
    pub fn kind(&self) -> &'static str {
        match self {
            ZoneSpec::AcmeDns { .. } => "acme-dns",
            ZoneSpec::Rfc2136 { .. } => "rfc2136",
            ZoneSpec::Provider { .. } => "provider",
            ZoneSpec::Hosted { .. } => "hosted",
        }
    }
}

/// One name of the plan.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlannedName {
    /// The identifier (`www.example.com`, `*.example.com`).
    pub name: String,
    pub challenge: Name,
    pub target: Name,
    /// The zone that holds the challenge name, when it could be found.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub zone: Option<Name>,
}

impl PlannedName {
    /// The record as an FQDN with trailing dots.
    pub fn fqdn_record(&self) -> String {
        format!("{} CNAME {}", self.challenge, self.target)
    }

    /// The owner as a DNS panel that appends the zone wants it.
    pub fn relative_owner(&self) -> Option<String> {
        self.zone.as_ref().map(|z| self.challenge.relative_to(z))
    }

    /// For a DNS panel that appends the zone: the name to enter there, and the name that
    /// pasting the full name there creates (the doubled-zone mistake).
    pub fn panel_names(&self) -> Option<(String, String)> {
        let z = self.zone.as_ref()?;
        Some((
            self.challenge.relative_to(z),
            format!("{}{}", self.challenge, z.without_dot()),
        ))
    }

    /// The panel hint, as `plan` and the wizard say it.
    pub fn panel_hint(&self) -> Option<[String; 2]> {
        self.panel_names().map(|(rel, doubled)| {
            [
                format!("in a DNS panel that appends the zone, the name is:  {rel}"),
                format!(
                    "(pasting the full name there creates {doubled}: the doubled-zone mistake)"
                ),
            ]
        })
    }

    /// A zone-file line.
    pub fn zone_line(&self) -> String {
        format!("{} 300 IN CNAME {}", self.challenge, self.target)
    }
}

/// The plan file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    pub version: u32,
    pub zone: ZoneSpec,
    pub names: Vec<PlannedName>,
}

/// A plan file problem.
#[derive(Debug, thiserror::Error)]
#[error("plan {}: {message}", file.display())]
pub struct PlanError {
    pub file: PathBuf,
    pub message: String,
}

/// Why no plan could be had from its file: none given and none at the default place, no
/// place for one, or the file's own problem.
#[derive(Debug, thiserror::Error)]
pub enum PlanFileError {
    #[error("no plan: run `acme-delegate plan --zone ... NAME...` first, or give --plan FILE")]
    NoPlan,
    #[error("no config directory for the plan: give --plan FILE")]
    NoPlanDir,
    #[error(transparent)]
    Plan(#[from] PlanError),
    #[error("a background task failed: {0}")]
    Task(String),
}

impl PlanFileError {
    /// Bad input or usage (exit 2): all of them are.
    pub fn is_usage(&self) -> bool {
        true
    }
}

impl Plan {
    /// The plan at `path`, else the default plan file when it exists. `required`: no plan
    /// is an error ([`PlanFileError::NoPlan`]) instead of `None`.
    pub fn find(path: Option<PathBuf>, required: bool) -> Result<Option<Plan>, PlanFileError> {
        let p = match path {
            Some(p) => p,
            None => match Plan::default_path().filter(|p| p.exists()) {
                Some(p) => p,
                None if required => return Err(PlanFileError::NoPlan),
                None => return Ok(None),
            },
        };
        Ok(Some(Plan::load(&p)?))
    }

    /// Where a plan is saved: `path`, else the default plan file.
    pub fn save_path(path: Option<PathBuf>) -> Result<PathBuf, PlanFileError> {
        path.or_else(Plan::default_path)
            .ok_or(PlanFileError::NoPlanDir)
    }

    /// The default location: `plan.toml` in the user config dir.
    pub fn default_path() -> Option<PathBuf> {
        crate::model::config::project_dirs().map(|d| d.config_dir().join("plan.toml"))
    }

    pub fn load(path: &Path) -> Result<Plan, PlanError> {
        let text = crate::model::files::read_text_limited(path).map_err(|e| PlanError {
            file: path.to_path_buf(),
            message: format!(
                "cannot read it ({e}); create one with `acme-delegate plan --zone ... NAME...`"
            ),
        })?;
        Plan::from_toml(&text, path)
    }

    /// A plan from its TOML text; `path` is only named in errors. Never panics.
    pub fn from_toml(text: &str, path: &Path) -> Result<Plan, PlanError> {
        let err = |m: String| PlanError {
            file: path.to_path_buf(),
            message: m,
        };
        let plan: Plan = toml::from_str(text).map_err(|e| {
            let line = e
                .span()
                .map(|s| text[..s.start.min(text.len())].matches('\n').count() + 1);
            err(format!(
                "{}{}; fix the file or make a new plan with `acme-delegate plan`",
                line.map(|l| format!("line {l}: ")).unwrap_or_default(),
                e.message().trim()
            ))
        })?;
        if plan.version != 1 {
            return Err(err(format!(
                "version {} is not supported (expected 1)",
                plan.version
            )));
        }
        Ok(plan)
    }

    pub fn to_toml(&self) -> String {
        format!(
            "# acme-delegate plan: the CNAME to publish for every name. Written by `acme-delegate plan`.\n{}",
            toml::to_string_pretty(self).expect("a plan serialises")
        )
    }

    /// Saves atomically (never half-written), mode 0600 (it names key files and APIs).
    pub fn save(&self, path: &Path) -> Result<(), PlanError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| PlanError {
                file: path.to_path_buf(),
                message: format!("cannot create its directory: {e}"),
            })?;
        }
        crate::model::files::write_atomic(path, self.to_toml().as_bytes(), 0o600).map_err(|e| {
            PlanError {
                file: path.to_path_buf(),
                message: format!("cannot write it: {e}"),
            }
        })
    }

    /// The planned entry for an identifier (a wildcard falls back to its apex and back).
    pub fn target_of(&self, n: &InputName) -> Option<&PlannedName> {
        self.names
            .iter()
            .find(|p| p.name == n.identifier)
            .or_else(|| self.names.iter().find(|p| p.challenge == n.challenge))
    }

    /// The names of the plan, parsed.
    pub fn inputs(&self) -> Vec<InputName> {
        self.names
            .iter()
            .filter_map(|p| parse_input(&p.name).ok())
            .collect()
    }
}

/// A stable, readable label for a host inside a validation zone:
/// `www.example.com` -> `www-example-com-1a2b3c`. The suffix (FNV-1a of the host) keeps
/// `a-b.c` and `a.b-c` apart; the label stays within 63 octets.
pub fn label_for(host: &Name) -> String {
    let mut h: u32 = 0x811c_9dc5;
    for b in host.as_str().bytes() {
        h ^= b as u32;
        h = h.wrapping_mul(0x0100_0193);
    }
    let base: String = host.without_dot().replace('.', "-");
    let base = base.trim_matches('-');
    let base = if base.len() > 55 { &base[..55] } else { base };
    format!("{}-{:06x}", base.trim_end_matches('-'), h & 0xff_ffff)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_stable_distinct_and_short() {
        let a = label_for(&Name::from_ascii("www.example.com"));
        assert!(a.starts_with("www-example-com-"), "{a}");
        assert_eq!(a, label_for(&Name::from_ascii("WWW.example.com.")));
        assert_ne!(
            label_for(&Name::from_ascii("a-b.c")),
            label_for(&Name::from_ascii("a.b-c"))
        );
        let long = Name::from_ascii(&format!("{}.example.com", "x".repeat(63)));
        assert!(label_for(&long).len() <= 63);
    }

    #[test]
    fn plan_round_trips_and_renders_records() {
        let p = Plan {
            version: 1,
            zone: ZoneSpec::Rfc2136 {
                server: "127.0.0.12:53".into(),
                zone: Name::from_ascii("acme.lab"),
                key_file: "/k".into(),
            },
            names: vec![PlannedName {
                name: "www.example.test".into(),
                challenge: Name::from_ascii("_acme-challenge.www.example.test"),
                target: Name::from_ascii("www-example-test-000001.acme.lab"),
                zone: Some(Name::from_ascii("example.test")),
            }],
        };
        let dir = std::env::temp_dir().join(format!("plan-{}", std::process::id()));
        let f = dir.join("plan.toml");
        p.save(&f).unwrap();
        assert_eq!(Plan::load(&f).unwrap(), p);
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&f).unwrap().permissions().mode() & 0o777,
            0o600
        );
        let n = &p.names[0];
        assert_eq!(n.relative_owner().as_deref(), Some("_acme-challenge.www"));
        assert_eq!(
            n.fqdn_record(),
            "_acme-challenge.www.example.test. CNAME www-example-test-000001.acme.lab."
        );
        std::fs::write(&f, "version = 1\nzone = 3\n").unwrap();
        let e = Plan::load(&f).unwrap_err().to_string();
        assert!(e.contains("plan.toml") && e.contains("line"), "{e}");
        std::fs::remove_dir_all(dir).ok();
    }
}
