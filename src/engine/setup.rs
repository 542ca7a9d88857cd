//! Plan setup, as `plan` and the wizard do it: open the validation zone, check it can be
//! used, compute each name's CNAME target (an acme-dns zone registers accounts), find the
//! zone each CNAME goes in, and save the plan. Also loading a saved plan, and storing a
//! TSIG key given on the command line. File I/O runs off the async workers.

use crate::dns::Name;
use crate::dns::Transport;
use crate::engine::engine::Run;
use crate::engine::events::{CancellationToken, EventSink};
use crate::findings::{Code, Finding};
use crate::model::name::InputName;
use crate::model::plan::{Plan, PlanError, PlannedName, ZoneSpec};
use crate::zones::kinds::{open, ValidationZone, ZoneError};
use crate::zones::rfc2136::{KeyError, TsigKey};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// Why setting up or loading a plan failed. Each says what to do.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    /// The zone's settings are wrong (bad address, unreadable key file, ...): bad input.
    #[error("{0}")]
    Zone(ZoneError),
    /// The zone cannot be written (wrong key, server down, zone not served, ...).
    #[error("{0}")]
    ZoneUnusable(ZoneError),
    /// The zone cannot be used right now (the acme-dns API is down, ...).
    #[error("{} {}: {}\n  fix: {}", .0.severity, .0.code, .0.evidence, .0.fix)]
    Unusable(Box<Finding>),
    /// A name's target could not be had (registration failed, ...).
    #[error("{name}: {error}")]
    Target { name: String, error: ZoneError },
    #[error("--key: {0}")]
    Key(#[from] KeyError),
    #[error("--key: {0}; use --key-file")]
    KeyStore(String),
    #[error("{0}")]
    Plan(#[from] PlanError),
    #[error("no plan: run `acme-delegate plan --zone ... NAME...` first, or give --plan FILE")]
    NoPlan,
    #[error("no config directory for the plan: give --plan FILE")]
    NoPlanDir,
    #[error("a background task failed: {0}")]
    Task(String),
    /// The caller's token stopped it before the plan was computed; nothing was saved.
    #[error("cancelled before the plan was computed")]
    Cancelled,
}

impl SetupError {
    /// Bad input or usage (exit 2), as opposed to a zone that cannot be used (exit 1).
    pub fn is_usage(&self) -> bool {
        !matches!(
            self,
            SetupError::Unusable(_)
                | SetupError::ZoneUnusable(_)
                | SetupError::Target { .. }
                | SetupError::Cancelled
        )
    }
}

/// What to plan: the names, in the validation zone opened from the plan's spec.
#[derive(Clone)]
pub struct PlanRequest {
    /// The validation zone: the engine opens it (key files, account stores).
    pub zone: ZoneSpec,
    pub names: Vec<InputName>,
}

/// A computed plan, what the zone's audit found (e.g. `TSIG_OVERPRIVILEGED`), and the
/// validation zone's name servers (RFC 2136: for the NS-delegation alternative, see
/// [`ns_alternative`]).
#[derive(Debug)]
pub struct PlanOutcome {
    pub plan: Plan,
    pub findings: Vec<Finding>,
    pub validation_ns: Vec<Name>,
}

impl PlanOutcome {
    /// The other way to delegate `challenge` (RFC 2136 only): NS records instead of the
    /// CNAME.
    pub fn ns_alternative(&self, challenge: &Name) -> Option<NsAlternative> {
        ns_alternative(&self.plan.zone, &self.validation_ns, challenge)
    }
}

/// The other way to delegate with an RFC 2136 server: a zone cut at the challenge name.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct NsAlternative {
    pub kind: &'static str,
    /// The zone to create on the validation server.
    pub zone: Name,
    /// The NS records to publish in the production zone instead of the CNAME.
    pub records: Vec<String>,
    pub note: String,
}

/// For an RFC 2136 plan: the NS records that delegate `_acme-challenge.<name>` itself to
/// the validation zone's name servers, and what else that takes.
fn ns_alternative(spec: &ZoneSpec, ns: &[Name], challenge: &Name) -> Option<NsAlternative> {
    let ZoneSpec::Rfc2136 { server, zone, .. } = spec else {
        return None;
    };
    Some(NsAlternative {
        kind: "ns-delegation",
        zone: challenge.clone(),
        records: ns
            .iter()
            .map(|n| format!("{challenge} 300 IN NS {n}"))
            .collect(),
        note: format!(
            "instead of the CNAME: publish these NS records, create the zone {challenge} on {server} (the server of {zone}) with TXT-only updates for the key, and let the client write the TXT at {challenge} itself; lego and certbot-dns-rfc2136 find that zone by their SOA lookup, cert-manager needs the fix of its issue #3055"
        ),
    })
}

/// Runs blocking file work off the async workers.
async fn blocking<R: Send + 'static>(
    f: impl FnOnce() -> Result<R, SetupError> + Send + 'static,
) -> Result<R, SetupError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| SetupError::Task(e.to_string()))?
}

/// A new plan's spec with the acme-dns account store written down: the directory given
/// (made absolute), else the default one of this user. A hook that later runs with
/// another data directory (certbot as another user, a cron job) still finds the accounts.
fn record_store(spec: ZoneSpec) -> ZoneSpec {
    match spec {
        ZoneSpec::AcmeDns {
            api,
            storage,
            allowfrom,
            domain,
        } => {
            let storage = match storage {
                Some(p) if p.is_absolute() => Some(p),
                Some(p) => Some(std::env::current_dir().map(|d| d.join(&p)).unwrap_or(p)),
                None => crate::zones::acme_dns::default_store_dir().ok(),
            };
            ZoneSpec::AcmeDns {
                api,
                storage,
                allowfrom,
                domain,
            }
        }
        other => other,
    }
}

/// Opens the validation zone a spec describes (reads key files and account stores).
pub(crate) async fn open_zone(
    spec: ZoneSpec,
    timeout: Duration,
) -> Result<Arc<dyn ValidationZone>, SetupError> {
    blocking(move || {
        open(&spec, timeout)
            .map(Arc::from)
            .map_err(SetupError::Zone)
    })
    .await
}

/// The plan at `path`, else the default plan file when it exists. `required`: no plan is
/// an error instead of `None`.
pub async fn load_plan(path: Option<PathBuf>, required: bool) -> Result<Option<Plan>, SetupError> {
    blocking(move || {
        let p = match path {
            Some(p) => p,
            None => match Plan::default_path().filter(|p| p.exists()) {
                Some(p) => p,
                None if required => return Err(SetupError::NoPlan),
                None => return Ok(None),
            },
        };
        Ok(Some(Plan::load(&p)?))
    })
    .await
}

/// Where the plan is saved: `path`, else the default plan file.
pub fn plan_path(path: Option<PathBuf>) -> Result<PathBuf, SetupError> {
    path.or_else(Plan::default_path)
        .ok_or(SetupError::NoPlanDir)
}

/// Saves the plan (0600, atomically).
pub async fn save_plan(plan: Plan, path: PathBuf) -> Result<Plan, SetupError> {
    blocking(move || {
        plan.save(&path)?;
        Ok(plan)
    })
    .await
}

/// Stores a key given as `ALG:NAME:SECRET` in a BIND key file (0600, in a 0700 folder of
/// the user data dir) and returns its path. The secret is validated and never printed.
pub async fn store_key(spec: String) -> Result<PathBuf, SetupError> {
    Ok(store_key_new(spec).await?.path)
}

/// A key file [`store_key_new`] stored or found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredKey {
    pub path: PathBuf,
    /// This call created the file (else an identical one was there already): the caller
    /// removes it again when what needed it is not saved.
    pub created: bool,
}

/// [`store_key`], saying whether the file is new. A key file of the same name whose
/// content differs (another plan's key) is never replaced: the key goes to
/// `<name>-2.key`, `<name>-3.key`, ... (an identical one is reused).
pub async fn store_key_new(spec: String) -> Result<StoredKey, SetupError> {
    blocking(move || {
        let key = TsigKey::parse_kdig(&spec)?;
        let dir = crate::model::config::project_dirs()
            .map(|d| d.data_dir().join("keys"))
            .ok_or_else(|| SetupError::KeyStore("no user data dir to store the key in".into()))?;
        write_key_file(&key, &spec, &dir)
    })
    .await
}

/// Stores a provider API key given on the command line in `keys/<provider>-<zone>.apikey`
/// (0600, in a 0700 folder of the user data dir) and returns its path. Never printed.
pub async fn store_api_key(
    provider: String,
    zone: Name,
    key: String,
) -> Result<PathBuf, SetupError> {
    Ok(store_api_key_new(provider, zone, key).await?.path)
}

/// [`store_api_key`], saying whether the file is new. As with TSIG keys
/// ([`store_key_new`]), a key file of the same name whose content differs (another plan's
/// key) is never replaced: the key goes to `<provider>-<zone>-2.apikey`, ... (an identical
/// one is reused).
pub async fn store_api_key_new(
    provider: String,
    zone: Name,
    key: String,
) -> Result<StoredKey, SetupError> {
    blocking(move || {
        let key = key.trim().to_string();
        if key.is_empty() || key.contains(['\n', '\r']) {
            return Err(SetupError::KeyStore(
                "the API key is empty or spans lines".into(),
            ));
        }
        let dir = crate::model::config::project_dirs()
            .map(|d| d.data_dir().join("keys"))
            .ok_or_else(|| SetupError::KeyStore("no user data dir to store the key in".into()))?;
        write_api_key_file(&provider, &zone, &key, &dir)
    })
    .await
}

fn write_api_key_file(
    provider: &str,
    zone: &Name,
    key: &str,
    dir: &Path,
) -> Result<StoredKey, SetupError> {
    let stem = format!("{}-{}", file_safe(provider), file_safe(zone.without_dot()));
    store_unique(dir, &stem, "apikey", format!("{key}\n").as_bytes())
}

/// `s` with every character but ASCII letters, digits, `-` and `.` replaced by `_`.
fn file_safe(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

fn write_key_file(key: &TsigKey, spec: &str, dir: &Path) -> Result<StoredKey, SetupError> {
    let secret = spec.trim().rsplit(':').next().unwrap_or_default();
    let text = format!(
        "key \"{}\" {{\n    algorithm {};\n    secret \"{secret}\";\n}};\n",
        key.name.without_dot(),
        key.algorithm.name()
    );
    store_unique(
        dir,
        &file_safe(key.name.without_dot()),
        "key",
        text.as_bytes(),
    )
}

/// Stores `text` as `<stem>.<ext>` in `dir` (0600, in a 0700 folder), never replacing a
/// file whose content differs: then as `<stem>-2.<ext>`, `<stem>-3.<ext>`, ...; a file
/// with the same content is reused (`created` false).
fn store_unique(dir: &Path, stem: &str, ext: &str, text: &[u8]) -> Result<StoredKey, SetupError> {
    use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
    let store =
        |e: std::io::Error| SetupError::KeyStore(format!("cannot write in {}: {e}", dir.display()));
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(store)?;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)).map_err(store)?;
    for n in 1..1000 {
        let path = if n == 1 {
            dir.join(format!("{stem}.{ext}"))
        } else {
            dir.join(format!("{stem}-{n}.{ext}"))
        };
        // Created only if absent (no race with another run storing the same name).
        let new = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path);
        match new {
            Ok(mut f) => {
                use std::io::Write;
                let written = f.write_all(text).and_then(|_| f.sync_all());
                if let Err(e) = written {
                    let _ = std::fs::remove_file(&path);
                    return Err(store(e));
                }
                return Ok(StoredKey {
                    path,
                    created: true,
                });
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                if std::fs::symlink_metadata(&path).is_ok_and(|m| m.file_type().is_symlink()) {
                    return Err(SetupError::KeyStore(format!(
                        "refusing to write through the symlink {}; remove it",
                        path.display()
                    )));
                }
                if std::fs::read(&path).is_ok_and(|old| old == text) {
                    return Ok(StoredKey {
                        path,
                        created: false,
                    });
                }
                // Another key under this name: keep it, try the next name.
            }
            Err(e) => return Err(store(e)),
        }
    }
    Err(SetupError::KeyStore(format!(
        "too many key files named {stem}-N.{ext} in {}",
        dir.display()
    )))
}

impl<T: Transport> Run<T> {
    /// Computes the plan for the names of `req` in its zone: opens the zone (a zone that
    /// cannot be opened is bad input), audits it (an unusable zone stops here, nothing
    /// registered), then each name's target and the
    /// zone its CNAME goes in, telling `events` each finding of the audit. Nothing is
    /// saved: see [`save_plan`]. `cancel` stops it ([`SetupError::Cancelled`]).
    pub async fn make_plan(
        &self,
        req: &PlanRequest,
        cancel: &CancellationToken,
        events: &EventSink,
    ) -> Result<PlanOutcome, SetupError> {
        tokio::select! {
            biased;
            _ = cancel.cancelled() => Err(SetupError::Cancelled),
            r = self.open_and_plan(req) => {
                if let Ok(out) = &r {
                    events.findings(out.plan.zone.kind(), &out.findings);
                }
                r
            }
        }
    }

    async fn open_and_plan(&self, req: &PlanRequest) -> Result<PlanOutcome, SetupError> {
        let zone = open_zone(record_store(req.zone.clone()), self.config.timeout).await?;
        self.plan_for(zone.as_ref(), &req.names).await
    }

    async fn plan_for(
        &self,
        zone: &dyn ValidationZone,
        names: &[InputName],
    ) -> Result<PlanOutcome, SetupError> {
        zone.usable().await.map_err(|e| match e.code() {
            Some(code) => SetupError::Unusable(Box::new(Finding::new(
                code,
                zone.spec().kind(),
                e.evidence().to_string(),
                e.fix,
            ))),
            None => SetupError::ZoneUnusable(e),
        })?;
        let mut findings = zone.audit().await;
        if let Some(f) = findings.iter().find(|f| f.code == Code::AcmednsUnhealthy) {
            return Err(SetupError::Unusable(Box::new(f.clone())));
        }
        let mut planned = Vec::with_capacity(names.len());
        for n in names {
            planned.push(self.plan_name(zone, n).await?);
        }
        if matches!(zone.spec(), ZoneSpec::Hosted { .. }) {
            if let Some(p) = planned.first() {
                findings.extend(self.target_zone_findings(&p.name, &p.target).await);
            }
        }
        let plan = Plan {
            version: 1,
            zone: zone.spec().clone(),
            names: planned,
        };
        let validation_ns = self.validation_ns(&plan.zone).await;
        Ok(PlanOutcome {
            plan,
            findings,
            validation_ns,
        })
    }

    /// The name servers of the validation zone (for the NS alternative).
    async fn validation_ns(&self, spec: &ZoneSpec) -> Vec<Name> {
        let ZoneSpec::Rfc2136 { zone, .. } = spec else {
            return vec![];
        };
        let walk = self.walker().zone_of(zone.clone()).await;
        let mut out: Vec<Name> = Vec::new();
        if walk.zone.apex == *zone {
            for n in walk
                .zone
                .servers
                .iter()
                .map(|s| &s.name)
                .chain(&walk.zone.unresolved)
            {
                if !out.contains(n) {
                    out.push(n.clone());
                }
            }
        }
        if out.is_empty() {
            out.push(zone.prepend("ns1"));
        }
        out
    }

    /// One name: its target, and the zone that holds its `_acme-challenge` name.
    async fn plan_name(
        &self,
        zone: &dyn ValidationZone,
        n: &InputName,
    ) -> Result<PlannedName, SetupError> {
        let target = zone
            .target_for(n)
            .await
            .map_err(|error| match error.code() {
                Some(code) => SetupError::Unusable(Box::new(Finding::new(
                    code,
                    &n.identifier,
                    error.evidence().to_string(),
                    error.fix,
                ))),
                None => SetupError::Target {
                    name: n.identifier.clone(),
                    error,
                },
            })?;
        let walk = self.walker().zone_of(n.challenge.clone()).await;
        let apex: Option<Name> =
            (!walk.unresponsive && !walk.zone.apex.is_root()).then(|| walk.zone.apex.clone());
        Ok(PlannedName {
            name: n.identifier.clone(),
            challenge: n.challenge.clone(),
            target,
            zone: apex,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn a_stored_key_is_0600_in_a_0700_dir_and_reads_back() {
        let dir = std::env::temp_dir().join(format!("ad-setup-{}", std::process::id()));
        let spec = "hmac-sha256:acme-key.:c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0";
        let key = TsigKey::parse_kdig(spec).unwrap();
        let stored = write_key_file(&key, spec, &dir.join("keys")).unwrap();
        let path = stored.path;
        assert!(stored.created);
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&path), 0o600);
        assert_eq!(mode(&dir.join("keys")), 0o700);
        let back = TsigKey::from_file(&path).unwrap();
        assert_eq!(back.name, key.name);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// A key of the same name with another secret never replaces the stored one (main
    /// overwrote it: the earlier plan's prove and hook then failed with BADSIG); the same
    /// key again reuses its file.
    #[test]
    fn a_stored_key_is_never_replaced_by_another() {
        let dir = std::env::temp_dir().join(format!("ad-setup-keep-{}", std::process::id()));
        let keys = dir.join("keys");
        let first = "hmac-sha256:acme-update:c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0";
        let wrong = "hmac-sha256:acme-update:d3JvbmcgIHdyb25nICB3cm9uZyAgd3Jvbmc=";
        let store =
            |spec: &str| write_key_file(&TsigKey::parse_kdig(spec).unwrap(), spec, &keys).unwrap();
        let a = store(first);
        let kept = std::fs::read(&a.path).unwrap();
        let b = store(wrong);
        assert!(b.created);
        assert_ne!(a.path, b.path, "a new name for the other key");
        assert!(b.path.ends_with("acme-update-2.key"), "{:?}", b.path);
        assert_eq!(
            std::fs::read(&a.path).unwrap(),
            kept,
            "the first key is kept"
        );
        let again = store(first);
        assert_eq!((again.path, again.created), (a.path, false));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// The same rule for provider API keys (main replaced `keys/<provider>-<zone>.apikey`
    /// with whatever the last `plan --key` gave): another key gets a new name, 0600; the
    /// same key again reuses its file.
    #[test]
    fn a_stored_api_key_is_never_replaced_by_another() {
        let dir = std::env::temp_dir().join(format!("ad-setup-api-{}", std::process::id()));
        let keys = dir.join("keys");
        let zone = Name::from_ascii("pdns.lab.");
        let store = |key: &str| write_api_key_file("pdns", &zone, key, &keys).unwrap();
        let a = store("the-first-key");
        assert!(
            a.created && a.path.ends_with("pdns-pdns.lab.apikey"),
            "{a:?}"
        );
        let b = store("another-key");
        assert!(b.created);
        assert!(b.path.ends_with("pdns-pdns.lab-2.apikey"), "{:?}", b.path);
        assert_eq!(std::fs::read(&a.path).unwrap(), b"the-first-key\n", "kept");
        assert_eq!(std::fs::read(&b.path).unwrap(), b"another-key\n");
        let mode = std::fs::metadata(&b.path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let again = store("the-first-key");
        assert_eq!((again.path, again.created), (a.path, false));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn usage_errors_are_told_apart_from_unusable_zones() {
        assert!(SetupError::NoPlan.is_usage());
        let f = Finding::new(
            Code::AcmednsUnhealthy,
            "x",
            "down".into(),
            "start it".into(),
        );
        let e = SetupError::Unusable(Box::new(f));
        assert!(!e.is_usage());
        assert!(e.to_string().contains("ACMEDNS_UNHEALTHY"));
    }
}

#[cfg(test)]
mod store_tests {
    use super::*;

    #[test]
    fn a_new_acme_dns_plan_records_where_its_accounts_are() {
        let spec = |storage| ZoneSpec::AcmeDns {
            api: "https://auth.example".into(),
            storage,
            allowfrom: vec![],
            domain: None,
        };
        let ZoneSpec::AcmeDns { storage, .. } = record_store(spec(None)) else {
            panic!()
        };
        let got = storage.expect("the default store, written down");
        assert!(got.is_absolute(), "{}", got.display());
        assert_eq!(Some(got), crate::zones::acme_dns::default_store_dir().ok());
        let ZoneSpec::AcmeDns { storage, .. } = record_store(spec(Some("rel/store".into()))) else {
            panic!()
        };
        assert!(storage.unwrap().is_absolute());
    }
}
